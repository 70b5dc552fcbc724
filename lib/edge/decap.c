/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decapsulation of IPIP, IPv6-in-IPv4 (protocol 41) and GUE (proto 4 or
 * 41) addressed to a proxy-mode node, allowed only from decap.sources.
 *
 * The source set is a sorted array of disjoint [lo, hi] address ranges
 * (host order), built by merging the configured prefixes; a lookup is a
 * binary search (8 steps for the 256-prefix maximum, one or two cache
 * lines for the handful of prefixes real clusters list). Not rte_lpm:
 * an rte_lpm table always allocates its 2^24-entry tbl24 (64 MiB) plus a
 * named EAL object per table, and stores a next hop per rule that an
 * allow-list does not have; it would also need EAL in cfg --check and
 * the pure tests. Overlapping prefixes cost nothing: merging removes them.
 */
#include <errno.h>
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

struct range {
	uint32_t lo;
	uint32_t hi;
};

struct ef_edge_decap_cfg {
	uint16_t gue_port;	/* network order */
	uint32_t n;
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
range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : (x->hi > y->hi);
}

struct ef_edge_decap_cfg *
ef_edge_decap_create(const struct ef_edge_prefix *src, uint32_t n,
		     uint16_t gue_port)
{
	struct ef_edge_decap_cfg *d;
	uint32_t k = 0;

	if (src == NULL || n == 0 || n > EF_EDGE_DECAP_MAX_SOURCES ||
	    gue_port == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (src[i].len > 32) {
			rte_errno = EINVAL;
			return NULL;
		}
	}
	d = rte_zmalloc("ef_edge_decap", sizeof(*d) + n * sizeof(d->r[0]), 0);
	if (d == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	d->gue_port = rte_cpu_to_be_16(gue_port);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t a = rte_be_to_cpu_32(src[i].addr);
		uint32_t mask = src[i].len == 0 ? 0 :
			~0u << (32 - src[i].len);

		d->r[i].lo = a & mask;
		d->r[i].hi = (a & mask) | ~mask;
	}
	qsort(d->r, n, sizeof(d->r[0]), range_cmp);
	for (uint32_t i = 1; i < n; i++) {
		/* overlapping or adjacent: extend the current range */
		if (d->r[k].hi == UINT32_MAX || d->r[i].lo <= d->r[k].hi + 1) {
			if (d->r[i].hi > d->r[k].hi)
				d->r[k].hi = d->r[i].hi;
		} else {
			d->r[++k] = d->r[i];
		}
	}
	d->n = k + 1;
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

	/* first range with lo > a, then look at the one before it */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (d->r[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && a <= d->r[lo - 1].hi;
}

int
ef_edge_decap(const struct ef_edge_decap_cfg *d, struct rte_mbuf *m,
	      const struct ef_pkt_meta *outer)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	const struct rte_ipv4_hdr *ip;
	uint32_t ihl, avail, strip, in_tot;
	uint8_t inner;		/* IPPROTO_IPIP or IPPROTO_IPV6 */
	uint16_t frag;
	bool gue;

	if (d == NULL || outer->ip_version != 4 || m->nb_segs != 1)
		return EF_EDGE_DECAP_NOT_ENCAP;
	ip = (const struct rte_ipv4_hdr *)(frame + outer->l3_off);
	if (outer->proto == IPPROTO_IPIP || outer->proto == IPPROTO_IPV6)
		gue = false;
	else if (outer->proto == IPPROTO_UDP &&
		 (outer->flags & EF_PKT_F_L4) && outer->dport == d->gue_port)
		gue = true;
	else
		return EF_EDGE_DECAP_NOT_ENCAP;
	/* before reading anything the sender controls beyond the header */
	if (!ef_edge_decap_allowed(d, ip->src_addr))
		return EF_EDGE_DECAP_DENIED;
	frag = rte_be_to_cpu_16(ip->fragment_offset);
	if (frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
		return EF_EDGE_DECAP_FRAGMENT;
	ihl = (uint32_t)(ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
	/* ef_pkt_parse checked ihl <= total length <= the frame */
	avail = outer->l3_len - ihl;
	strip = ihl;
	inner = outer->proto;
	if (gue) {
		const struct rte_udp_hdr *uh = (const struct rte_udp_hdr *)
			((const uint8_t *)ip + ihl);
		const uint8_t *g = (const uint8_t *)(uh + 1);
		uint32_t ulen = rte_be_to_cpu_16(uh->dgram_len);

		if (avail < UDP_LEN + EF_EDGE_GUE_HDR_LEN ||
		    ulen < UDP_LEN + EF_EDGE_GUE_HDR_LEN)
			return EF_EDGE_DECAP_TRUNC;
		if (ulen != avail)
			return EF_EDGE_DECAP_INNER_LEN;
		if (uh->dgram_cksum != 0 && !ef_pkt_l4_csum_ok(frame, outer))
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
	}
	if (inner == IPPROTO_IPIP) {
		const struct rte_ipv4_hdr *in = (const struct rte_ipv4_hdr *)
			((const uint8_t *)ip + strip);
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
		const struct rte_ipv6_hdr *in6 = (const struct rte_ipv6_hdr *)
			((const uint8_t *)ip + strip);

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
	if (inner == IPPROTO_IPV6) {
		uint16_t et = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);

		memcpy(frame + outer->l3_off - 2, &et, sizeof(et));
	}
	memmove(frame + strip, frame, outer->l3_off);
	rte_pktmbuf_adj(m, (uint16_t)strip);
	if (m->pkt_len > outer->l3_off + in_tot)
		rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - outer->l3_off -
					       in_tot));
	return EF_EDGE_DECAP_OK;
}
