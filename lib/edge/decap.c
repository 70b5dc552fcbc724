/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decapsulation of what an edge or a peer node sends to a proxy-mode node,
 * allowed only from decap.sources: IPv4 or IPv6 outer headers carrying
 * IPv4 (protocol 4: IPIP, IPv4-in-IPv6) or IPv6 (41: 6in4, ip6ip6), each
 * directly or in GUE (proto 4 or 41).
 *
 * The source set is, per family, a sorted array of disjoint [lo, hi]
 * address ranges (host order; IPv6 as 128-bit integers), built by merging
 * the configured prefixes; a lookup is a binary search (8 steps for the
 * 256-prefix maximum, one or two cache lines for the handful of prefixes
 * real clusters list). Not rte_lpm / rte_lpm6: an rte_lpm table always
 * allocates its 2^24-entry tbl24 (64 MiB) plus a named EAL object per
 * table, and both store a next hop per rule that an allow-list does not
 * have; they would also need EAL in cfg --check and the pure tests.
 * Overlapping prefixes cost nothing: merging removes them.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "ef_edge.h"

#define IP4_MIN 20u
#define IP6_LEN 40u
#define UDP_LEN 8u

/* Address ranges, host order; IPv6 as one 128-bit integer (GCC and clang
 * have it on every target DPDK builds for), so both families merge and
 * search alike. */
typedef unsigned __int128 u128;

struct range {
	uint32_t lo;
	uint32_t hi;
};

struct range6 {
	u128 lo;
	u128 hi;
};

struct ef_edge_decap_cfg {
	uint16_t gue_port;	/* network order */
	uint32_t n;		/* IPv4 ranges in r */
	uint32_t n6;		/* IPv6 ranges in r6 */
	struct range6 *r6;	/* after r[]; sorted, disjoint, not adjacent */
	struct range r[];	/* sorted, disjoint, not adjacent */
};

static const char *const decap_rc_names[] = {
#define EF_EDGE_DECAP_NAME(e, s) s,
	EF_EDGE_FOREACH_DECAP_RC(EF_EDGE_DECAP_NAME)
#undef EF_EDGE_DECAP_NAME
};

const char *
ef_edge_decap_rc_name(unsigned int rc)
{
	return rc < EF_EDGE_DECAP_RC_MAX ? decap_rc_names[rc] : "?";
}

static int
range6_cmp(const void *a, const void *b)
{
	const struct range6 *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : (x->hi > y->hi);
}

static u128
u128_of(const uint8_t a[16])
{
	u128 v = 0;

	for (int i = 0; i < 16; i++)
		v = v << 8 | a[i];
	return v;
}

/* Sort r[0..n) and merge overlapping or adjacent ranges; their number. */
static uint32_t
merge(struct range6 *r, uint32_t n, u128 max)
{
	uint32_t k = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(r[0]), range6_cmp);
	for (uint32_t i = 1; i < n; i++) {
		if (r[k].hi == max || r[i].lo <= r[k].hi + 1) {
			if (r[i].hi > r[k].hi)
				r[k].hi = r[i].hi;
		} else {
			r[++k] = r[i];
		}
	}
	return k + 1;
}

/* First range of r[0..n) with lo > a, minus one: the candidate. */
static bool
in_ranges6(const struct range6 *r, uint32_t n, u128 a)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (r[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && a <= r[lo - 1].hi;
}

struct ef_edge_decap_cfg *
ef_edge_decap_create(const struct ef_edge_prefix *src, uint32_t n,
		     uint16_t gue_port)
{
	struct ef_edge_decap_cfg *d;
	struct range6 *v4, *v6;
	uint32_t n4 = 0, n6 = 0;
	size_t off6;

	if (src == NULL || n == 0 || n > EF_EDGE_DECAP_MAX_SOURCES ||
	    gue_port == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		bool is6 = src[i].family == EF_AF_INET6;

		if ((!is6 && src[i].family != 0 &&
		     src[i].family != EF_AF_INET4) ||
		    src[i].len > (is6 ? 128 : 32)) {
			rte_errno = EINVAL;
			return NULL;
		}
	}
	/* merge work in 128-bit ranges, then IPv4's narrowed back */
	v4 = calloc(2 * (size_t)n, sizeof(*v4));
	if (v4 == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	v6 = v4 + n;
	for (uint32_t i = 0; i < n; i++) {
		bool is6 = src[i].family == EF_AF_INET6;
		uint32_t bits = is6 ? 128 : 32;
		u128 all = is6 ? ~(u128)0 : UINT32_MAX;
		u128 a = is6 ? u128_of(src[i].addr6) :
			rte_be_to_cpu_32(src[i].addr);
		u128 host = src[i].len == 0 ? all :
			(src[i].len == bits ? 0 :
			 (all >> src[i].len));
		struct range6 *r = is6 ? &v6[n6++] : &v4[n4++];

		r->lo = a & ~host & all;
		r->hi = r->lo | host;
	}
	n4 = merge(v4, n4, UINT32_MAX);
	n6 = merge(v6, n6, ~(u128)0);
	off6 = RTE_ALIGN_CEIL(sizeof(*d) + n4 * sizeof(d->r[0]),
			      alignof(struct range6));
	d = rte_zmalloc("ef_edge_decap", off6 + n6 * sizeof(*v6), 0);
	if (d == NULL) {
		free(v4);
		rte_errno = ENOMEM;
		return NULL;
	}
	d->gue_port = rte_cpu_to_be_16(gue_port);
	d->n = n4;
	for (uint32_t i = 0; i < n4; i++) {
		d->r[i].lo = (uint32_t)v4[i].lo;
		d->r[i].hi = (uint32_t)v4[i].hi;
	}
	d->n6 = n6;
	d->r6 = (struct range6 *)((uint8_t *)d + off6);
	memcpy(d->r6, v6, n6 * sizeof(*v6));
	free(v4);
	return d;
}

void
ef_edge_decap_free(struct ef_edge_decap_cfg *d)
{
	rte_free(d);
}

bool
ef_edge_decap_allowed(const struct ef_edge_decap_cfg *d, uint32_t addr)
{
	uint32_t a = rte_be_to_cpu_32(addr);
	uint32_t lo = 0, hi = d->n;

	/* first range with lo > a, then look at the one before it (the
	 * per-packet IPv4 search stays on 32-bit ranges) */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (d->r[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && a <= d->r[lo - 1].hi;
}

bool
ef_edge_decap_allowed6(const struct ef_edge_decap_cfg *d,
		       const uint8_t addr[16])
{
	return in_ranges6(d->r6, d->n6, u128_of(addr));
}

bool
ef_edge_decap_has6(const struct ef_edge_decap_cfg *d)
{
	return d != NULL && d->n6 != 0;
}

int
ef_edge_decap(const struct ef_edge_decap_cfg *d, struct rte_mbuf *m,
	      const struct ef_pkt_meta *outer)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	const uint8_t *pay;	/* the outer header's payload */
	uint32_t avail, strip, in_tot;
	uint8_t inner;		/* IPPROTO_IPIP or IPPROTO_IPV6 */
	bool gue, v6 = outer->ip_version == 6;

	if (d == NULL || (outer->ip_version != 4 && !v6) ||
	    m->nb_segs != 1 || (v6 && d->n6 == 0))
		return EF_EDGE_DECAP_NOT_ENCAP;
	if (outer->proto == IPPROTO_IPIP || outer->proto == IPPROTO_IPV6)
		gue = false;
	else if (outer->proto == IPPROTO_UDP &&
		 (outer->flags & EF_PKT_F_L4) && outer->dport == d->gue_port)
		gue = true;
	else
		return EF_EDGE_DECAP_NOT_ENCAP;
	/* before reading anything the sender controls beyond the header */
	if (v6 ? !ef_edge_decap_allowed6(d, outer->src.v6) :
	    !ef_edge_decap_allowed(d, outer->src.v4))
		return EF_EDGE_DECAP_DENIED;
	if (v6) {
		/* a fragment header (first fragment or not) */
		if (outer->flags & EF_PKT_F_FRAG)
			return EF_EDGE_DECAP_FRAGMENT;
	} else {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)
			(frame + outer->l3_off);

		if (rte_be_to_cpu_16(ip->fragment_offset) &
		    (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
			return EF_EDGE_DECAP_FRAGMENT;
	}
	/* ef_pkt_parse put the payload (after IPv4 options / IPv6
	 * extension headers) at l4_off, l4_len bytes inside the frame */
	if (outer->l4_off == 0)
		return EF_EDGE_DECAP_TRUNC;
	pay = frame + outer->l4_off;
	avail = outer->l4_len;
	strip = (uint32_t)(outer->l4_off - outer->l3_off);
	inner = outer->proto;
	if (gue) {
		const struct rte_udp_hdr *uh = (const struct rte_udp_hdr *)pay;
		const uint8_t *g = (const uint8_t *)(uh + 1);
		uint32_t ulen = rte_be_to_cpu_16(uh->dgram_len);

		if (avail < UDP_LEN + EF_EDGE_GUE_HDR_LEN ||
		    ulen < UDP_LEN + EF_EDGE_GUE_HDR_LEN)
			return EF_EDGE_DECAP_TRUNC;
		if (ulen != avail)
			return EF_EDGE_DECAP_INNER_LEN;
		/* IPv6: zero is no checksum, refused (RFC 8200 8.1) */
		if ((uh->dgram_cksum != 0 || v6) &&
		    !ef_pkt_l4_csum_ok(frame, outer))
			return EF_EDGE_DECAP_BAD_CHECKSUM;
		if ((g[0] >> 6) != 0)
			return EF_EDGE_DECAP_GUE_VERSION;
		if (g[0] & 0x20)
			return EF_EDGE_DECAP_GUE_CONTROL;
		if ((g[0] & 0x1f) != 0 || g[2] != 0 || g[3] != 0)
			return EF_EDGE_DECAP_GUE_OPTIONS;
		if (g[1] != IPPROTO_IPIP && g[1] != IPPROTO_IPV6)
			return EF_EDGE_DECAP_INNER_NOT_IPV4;
		inner = g[1];
		avail -= UDP_LEN + EF_EDGE_GUE_HDR_LEN;
		strip += UDP_LEN + EF_EDGE_GUE_HDR_LEN;
		pay += UDP_LEN + EF_EDGE_GUE_HDR_LEN;
	}
	if (inner == IPPROTO_IPIP) {
		const struct rte_ipv4_hdr *in =
			(const struct rte_ipv4_hdr *)pay;
		uint32_t in_ihl;

		if (avail < IP4_MIN)
			return EF_EDGE_DECAP_TRUNC;
		if ((in->version_ihl >> 4) != 4)
			return EF_EDGE_DECAP_INNER_NOT_IPV4;
		in_ihl = (uint32_t)(in->version_ihl & RTE_IPV4_HDR_IHL_MASK) *
			4;
		in_tot = rte_be_to_cpu_16(in->total_length);
		if (in_ihl < IP4_MIN || in_ihl > avail || in_tot != avail)
			return EF_EDGE_DECAP_INNER_LEN;
	} else {
		const struct rte_ipv6_hdr *in6 =
			(const struct rte_ipv6_hdr *)pay;

		if (avail < IP6_LEN)
			return EF_EDGE_DECAP_TRUNC;
		if ((rte_be_to_cpu_32(in6->vtc_flow) >> 28) != 6)
			return EF_EDGE_DECAP_INNER_NOT_IPV4;
		/* a jumbogram (payload length 0) never fits a frame */
		in_tot = IP6_LEN + rte_be_to_cpu_16(in6->payload_len);
		if (in6->payload_len == 0 || in_tot != avail)
			return EF_EDGE_DECAP_INNER_LEN;
	}

	/* the L2 header (Ethernet, VLAN tag if any) moves up to the inner
	 * packet, its ethertype the inner family's; the outer frame's
	 * padding goes */
	if ((inner == IPPROTO_IPV6) != v6) {
		uint16_t et = rte_cpu_to_be_16(inner == IPPROTO_IPV6 ?
					       RTE_ETHER_TYPE_IPV6 :
					       RTE_ETHER_TYPE_IPV4);

		memcpy(frame + outer->l3_off - 2, &et, sizeof(et));
	}
	memmove(frame + strip, frame, outer->l3_off);
	rte_pktmbuf_adj(m, (uint16_t)strip);
	if (m->pkt_len > outer->l3_off + in_tot)
		rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - outer->l3_off -
					       in_tot));
	return EF_EDGE_DECAP_OK;
}
