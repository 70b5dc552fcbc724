/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checksums (RFC 1071 sums, verification, fill from scratch) and the
 * in-place IPv4 rewrites with RFC 1624 incremental updates: NAT of a
 * packet, NAT of an ICMP error and the packet it quotes, TTL decrement.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "ef_pkt.h"
#include "pkt_priv.h"

/* --- checksums --- */

uint16_t
ef_csum_raw(const void *buf, size_t len, uint32_t initial)
{
	/* chunks keep DPDK's 32-bit accumulator from overflowing */
	const size_t chunk = 1 << 16;
	const uint8_t *p = buf;
	uint32_t sum = (initial & 0xffff) + (initial >> 16);

	while (len > chunk) {
		sum = __rte_raw_cksum_reduce(__rte_raw_cksum(p, chunk, sum));
		p += chunk;
		len -= chunk;
	}
	return __rte_raw_cksum_reduce(__rte_raw_cksum(p, len, sum));
}

/*
 * Pseudo-header sum (not complemented). DPDK's rte_ipv4_phdr_cksum() takes
 * the length from the IP header and rte_ipv6_phdr_cksum() the protocol from
 * the first next-header field; UDP wants its own length (RFC 768) and IPv6
 * the protocol after the extension chain, so this takes both explicitly.
 */
static uint32_t
phdr_sum(const struct ef_pkt_meta *m, uint8_t proto, uint32_t l4len)
{
	uint32_t sum;

	if (m->ip_version == 4) {
		sum = __rte_raw_cksum(&m->src.v4, 4, 0);
		sum = __rte_raw_cksum(&m->dst.v4, 4, sum);
	} else {
		sum = __rte_raw_cksum(m->src.v6, 16, 0);
		sum = __rte_raw_cksum(m->dst.v6, 16, sum);
		sum += rte_cpu_to_be_16((uint16_t)(l4len >> 16));
	}
	sum += rte_cpu_to_be_16(proto);
	sum += rte_cpu_to_be_16((uint16_t)l4len);
	return sum;
}

/* Length the L4 checksum covers: the UDP length for UDP, else l4_len. */
static uint32_t
l4_csum_len(const uint8_t *frame, const struct ef_pkt_meta *m)
{
	if (m->proto == IPPROTO_UDP) {
		uint32_t ulen = rte_be_to_cpu_16(rd16(frame + m->l4_off + 4));

		if (ulen >= UDP_HDR_LEN && ulen <= m->l4_len)
			return ulen;
	}
	return m->l4_len;
}

/* Folded sum over the L4 segment (+ pseudo-header where one applies). */
static uint16_t
l4_sum(const uint8_t *frame, const struct ef_pkt_meta *m)
{
	uint32_t len = l4_csum_len(frame, m);
	uint32_t sum = 0;

	if (m->proto != IPPROTO_ICMP)
		sum = phdr_sum(m, m->proto, len);
	return ef_csum_raw(frame + m->l4_off, len, sum);
}

static bool
l4_csum_applies(const struct ef_pkt_meta *m)
{
	if (m->l4_off == 0 || (m->flags & EF_PKT_F_FRAG))
		return false;
	switch (m->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		return true;
	case IPPROTO_ICMP:
		return m->ip_version == 4;
	case IPPROTO_ICMPV6:
		return m->ip_version == 6;
	default:
		return false;
	}
}

bool
ef_pkt_ip4_csum_ok(const uint8_t *frame, const struct ef_pkt_meta *m)
{
	const struct rte_ipv4_hdr *ip;

	if (m->ip_version != 4)
		return false;
	ip = (const struct rte_ipv4_hdr *)(frame + m->l3_off);
	if (likely(ip->version_ihl == 0x45)) {
		/*
		 * The usual 20-byte header: five 32-bit words summed in 64
		 * bits and folded once (rte_raw_cksum() loops over 16-bit
		 * words). 2^16 = 1 mod 0xffff, so this is the same ones'
		 * complement sum, and it folds to 0 only when all is 0.
		 */
		uint32_t w[5];
		uint64_t s;

		memcpy(w, ip, sizeof(w));
		s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
		s = (s & 0xffffffff) + (s >> 32);
		s = (s & 0xffff) + (s >> 16);
		s = (s & 0xffff) + (s >> 16);
		s = (s & 0xffff) + (s >> 16);
		return s == 0xffff;
	}
	return rte_raw_cksum(ip, rte_ipv4_hdr_len(ip)) == 0xffff;
}

bool
ef_pkt_l4_csum_ok(const uint8_t *frame, const struct ef_pkt_meta *m)
{
	if (!l4_csum_applies(m))
		return false;
	if (m->proto == IPPROTO_UDP && rd16(frame + m->l4_off + 6) == 0)
		return m->ip_version == 4;	/* RFC 8200 8.1: v6 must sum */
	return l4_sum(frame, m) == 0xffff;
}


void
ef_pkt_fill_csums4(uint8_t *frame, const struct ef_pkt_meta *m)
{
	struct rte_ipv4_hdr *ip;
	uint8_t *field;
	uint16_t c;

	if (m->ip_version != 4)
		return;
	ip = (struct rte_ipv4_hdr *)(frame + m->l3_off);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (!l4_csum_applies(m))
		return;
	field = frame + m->l4_off + l4_csum_field(m->proto);
	wr16(field, 0);
	c = (uint16_t)~l4_sum(frame, m);
	if (c == 0 && m->proto == IPPROTO_UDP)
		c = 0xffff;	/* RFC 768: zero means "no checksum" */
	wr16(field, c);
}

/* --- rewrites --- */

/*
 * RFC 1624 eqn. 3 for several changed words at once: HC' = ~(~HC + sum of
 * (~m + m')), folded once instead of once per word (the per-word chain is
 * a long dependency on the fast path). Ones' complement addition is
 * associative and every term is non-negative, so the result is bit for bit
 * the chained ef_csum_update16()s'.
 */
static inline uint64_t
csum_d16(uint16_t old_w, uint16_t new_w)
{
	return (uint64_t)(uint16_t)~old_w + new_w;
}

static inline uint64_t
csum_d32(uint32_t old_v, uint32_t new_v)
{
	return csum_d16((uint16_t)old_v, (uint16_t)new_v) +
		csum_d16((uint16_t)(old_v >> 16), (uint16_t)(new_v >> 16));
}

static inline uint16_t
csum_apply(uint16_t csum, uint64_t delta)
{
	uint64_t s = (uint64_t)(uint16_t)~csum + delta;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static inline uint16_t
csum_udp_fix(uint16_t c)
{
	/* an update landing on 0 must read as "checksum present" */
	return c == 0 ? 0xffff : c;
}

/*
 * 16-bit words an L4 rewrite changed, old and new: an ICMP error carrying
 * the header folds them into its own checksum. TCP/UDP: sport, dport and
 * (when present and quoted) the checksum; ICMP echo: id and checksum.
 */
struct l4_change {
	uint16_t w_old[3];
	uint16_t w_new[3];
	unsigned int n;
};

/*
 * Rewrite the ports (or echo id) of the L4 header at l4 (avail bytes of it
 * present) and fold the address and port changes into its checksum.
 */
static void
l4_rewrite(uint8_t *l4, uint8_t proto, uint32_t avail,
	   uint32_t osrc, uint32_t nsrc, uint32_t odst, uint32_t ndst,
	   uint16_t sport, uint16_t dport, struct l4_change *ch)
{
	ch->n = 0;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		uint32_t coff = l4_csum_field(proto);
		uint16_t os = rd16(l4), od = rd16(l4 + 2);

		wr16(l4, sport);
		wr16(l4 + 2, dport);
		ch->w_old[0] = os;
		ch->w_new[0] = sport;
		ch->w_old[1] = od;
		ch->w_new[1] = dport;
		ch->n = 2;
		/* a quoted TCP header may stop before its checksum */
		if (coff + 2 > avail)
			return;
		{
			uint16_t c = rd16(l4 + coff), nc;

			if (proto == IPPROTO_UDP && c == 0)
				return;
			nc = csum_apply(c, csum_d32(osrc, nsrc) +
					csum_d32(odst, ndst) +
					csum_d16(os, sport) + csum_d16(od, dport));
			if (proto == IPPROTO_UDP)
				nc = csum_udp_fix(nc);
			wr16(l4 + coff, nc);
			ch->w_old[2] = c;
			ch->w_new[2] = nc;
			ch->n = 3;
		}
	} else if (proto == IPPROTO_ICMP) {
		struct rte_icmp_hdr *ih = (struct rte_icmp_hdr *)l4;
		uint16_t oid = ih->icmp_ident, nid, c;

		if (ih->icmp_type == RTE_IP_ICMP_ECHO_REQUEST)
			nid = sport;
		else if (ih->icmp_type == RTE_IP_ICMP_ECHO_REPLY)
			nid = dport;
		else
			return;
		c = ih->icmp_cksum;
		ih->icmp_ident = nid;
		ih->icmp_cksum = ef_csum_update16(c, oid, nid);
		ch->w_old[0] = oid;
		ch->w_new[0] = nid;
		ch->w_old[1] = c;
		ch->w_new[1] = ih->icmp_cksum;
		ch->n = 2;
	}
}

/* Rewrite IPv4 addresses with the header checksum; returns old values. */
static void
ip4_rewrite(struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst,
	    uint32_t *osrc, uint32_t *odst)
{
	uint16_t c = ip->hdr_checksum;

	*osrc = ip->src_addr;
	*odst = ip->dst_addr;
	ip->hdr_checksum = csum_apply(c, csum_d32(*osrc, src) +
				      csum_d32(*odst, dst));
	ip->src_addr = src;
	ip->dst_addr = dst;
}

void
ef_pkt_nat4(uint8_t *frame, struct ef_pkt_meta *m,
	    uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct rte_ipv4_hdr *ip;
	struct l4_change ch;
	uint32_t osrc, odst;

	if (m->ip_version != 4)
		return;
	ip = (struct rte_ipv4_hdr *)(frame + m->l3_off);
	ip4_rewrite(ip, src, dst, &osrc, &odst);
	m->src.v4 = src;
	m->dst.v4 = dst;
	if (!(m->flags & EF_PKT_F_L4))
		return;
	l4_rewrite(frame + m->l4_off, m->proto, m->l4_len, osrc, src, odst,
		   dst, sport, dport, &ch);
	if (m->proto == IPPROTO_ICMP) {
		/* not an echo: l4_rewrite changed no id */
		if (ch.n != 0) {
			m->sport = ch.w_new[0];
			m->dport = ch.w_new[0];
		}
	} else {
		m->sport = sport;
		m->dport = dport;
	}
}

void
ef_pkt_nat4_icmp_error(uint8_t *frame, struct ef_pkt_meta *m,
		       uint32_t outer_src, uint32_t outer_dst,
		       uint32_t inner_src, uint16_t inner_sport,
		       uint32_t inner_dst, uint16_t inner_dport)
{
	struct rte_ipv4_hdr *ip, *iip;
	struct rte_icmp_hdr *ih;
	struct l4_change ch;
	uint32_t osrc, odst, iosrc, iodst, end;
	uint16_t c, oic;
	unsigned int i;

	if (m->ip_version != 4 || !(m->flags & EF_PKT_F_ICMP_ERROR))
		return;
	ip = (struct rte_ipv4_hdr *)(frame + m->l3_off);
	ip4_rewrite(ip, outer_src, outer_dst, &osrc, &odst);
	m->src.v4 = outer_src;
	m->dst.v4 = outer_dst;

	/* ICMP has no pseudo-header: only the quoted bytes move its sum */
	ih = (struct rte_icmp_hdr *)(frame + m->l4_off);
	c = ih->icmp_cksum;
	iip = (struct rte_ipv4_hdr *)(frame + m->inner_l3_off);
	oic = iip->hdr_checksum;
	ip4_rewrite(iip, inner_src, inner_dst, &iosrc, &iodst);
	c = ef_csum_update32(c, iosrc, inner_src);
	c = ef_csum_update32(c, iodst, inner_dst);
	c = ef_csum_update16(c, oic, iip->hdr_checksum);
	m->inner_src.v4 = inner_src;
	m->inner_dst.v4 = inner_dst;

	if (m->inner_l4_off != 0) {
		end = (uint32_t)m->l3_off + m->l3_len;
		l4_rewrite(frame + m->inner_l4_off, m->inner_proto,
			   end - m->inner_l4_off, iosrc, inner_src, iodst,
			   inner_dst, inner_sport, inner_dport, &ch);
		for (i = 0; i < ch.n; i++)
			c = ef_csum_update16(c, ch.w_old[i], ch.w_new[i]);
		if (ch.n != 0) {
			if (m->inner_proto == IPPROTO_ICMP) {
				m->inner_sport = ch.w_new[0];
				m->inner_dport = ch.w_new[0];
			} else {
				m->inner_sport = inner_sport;
				m->inner_dport = inner_dport;
			}
		}
	}
	ih->icmp_cksum = c;
}

void
ef_pkt_ttl_dec4(uint8_t *frame, struct ef_pkt_meta *m)
{
	struct rte_ipv4_hdr *ip;
	uint8_t *w;
	uint16_t ow;

	if (m->ip_version != 4)
		return;
	ip = (struct rte_ipv4_hdr *)(frame + m->l3_off);
	if (ip->time_to_live == 0)
		return;	/* the caller drops it; never wrap to 255 */
	/* TTL shares a checksum word with the protocol */
	w = (uint8_t *)&ip->time_to_live;
	ow = rd16(w);
	ip->time_to_live--;
	ip->hdr_checksum = ef_csum_update16(ip->hdr_checksum, ow, rd16(w));
	m->ttl = ip->time_to_live;
}

