/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv6 beside IPv4: the pseudo-header checksum (RFC 8200 8.1) filled from
 * scratch, the NAT rewrite with RFC 1624 updates (there is no header
 * checksum, so an address change lands only in the L4 sum, ICMPv6's
 * included), the echo reply in place, Neighbor Discovery (RFC 4861) NS and
 * NA built and read, and ICMPv6 errors (RFC 4443) built. Bounds
 * discipline: see pkt_priv.h.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "ef_pkt.h"
#include "pkt_priv.h"

/* RFC 4443 2.4(c): an error fits in the minimum IPv6 MTU. */
#define ICMP6_ERR_MAX		1280
#define NDP_HOP_LIMIT		255	/* RFC 4861 7.1.1: not forwarded */
#define NDP_NS_NA_LEN		24	/* ICMPv6 header + reserved + target */
#define NDP_OPT_LLA_LEN		8	/* type, length (1 = 8 bytes), MAC */
#define NDP_OPT_SLLA		1
#define NDP_OPT_TLLA		2

static inline bool
ip6_is_mcast(const uint8_t a[16])
{
	return a[0] == 0xff;
}

static inline bool
ip6_is_unspec(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

/* Pseudo-header sum (RFC 8200 8.1), not complemented, not folded. */
static uint32_t
phdr6_sum(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
	  uint32_t len)
{
	uint32_t sum = __rte_raw_cksum(src, 16, 0);

	sum = __rte_raw_cksum(dst, 16, sum);
	sum += rte_cpu_to_be_16((uint16_t)(len >> 16));
	sum += rte_cpu_to_be_16((uint16_t)len);
	sum += rte_cpu_to_be_16(proto);
	return sum;
}

static uint16_t
l4_csum6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
	 const uint8_t *l4, uint32_t len)
{
	uint16_t c = (uint16_t)~ef_csum_raw(l4, len,
					    phdr6_sum(src, dst, proto, len));

	/* RFC 8200 8.1: a computed UDP zero is sent as 0xffff */
	return (c == 0 && proto == IPPROTO_UDP) ? 0xffff : c;
}

void
ef_pkt_fill_csums6(uint8_t *frame, const struct ef_pkt_meta *m)
{
	uint8_t *l4, *field;
	uint32_t len;

	if (m->ip_version != 6 || m->l4_off == 0 ||
	    (m->flags & EF_PKT_F_FRAG))
		return;
	if (m->proto != IPPROTO_TCP && m->proto != IPPROTO_UDP &&
	    m->proto != IPPROTO_ICMPV6)
		return;
	l4 = frame + m->l4_off;
	len = m->l4_len;
	if (m->proto == IPPROTO_UDP) {
		uint32_t ulen = rte_be_to_cpu_16(rd16(l4 + 4));

		if (ulen >= UDP_HDR_LEN && ulen <= len)
			len = ulen;
	}
	field = l4 + l4_csum_field(m->proto);
	wr16(field, 0);
	wr16(field, l4_csum6(m->src.v6, m->dst.v6, m->proto, l4, len));
}

void
ef_pkt_nat6(uint8_t *frame, struct ef_pkt_meta *m, const uint8_t src[16],
	    uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
	struct rte_ipv6_hdr *ip6;
	uint8_t *l4;
	uint16_t c, nc;
	uint32_t coff;

	if (m->ip_version != 6)
		return;
	ip6 = (struct rte_ipv6_hdr *)(frame + m->l3_off);
	c = 0;
	l4 = NULL;
	if ((m->flags & EF_PKT_F_L4) && m->l4_off != 0) {
		l4 = frame + m->l4_off;
		coff = l4_csum_field(m->proto);
		c = rd16(l4 + coff);
	}
	if (l4 == NULL) {
		/* non-first fragment or no ports: addresses only */
		memcpy(ip6->src_addr, src, 16);
		memcpy(ip6->dst_addr, dst, 16);
		memcpy(m->src.v6, src, 16);
		memcpy(m->dst.v6, dst, 16);
		return;
	}
	nc = ef_csum_update_addr6(c, ip6->src_addr, src);
	nc = ef_csum_update_addr6(nc, ip6->dst_addr, dst);
	memcpy(ip6->src_addr, src, 16);
	memcpy(ip6->dst_addr, dst, 16);
	memcpy(m->src.v6, src, 16);
	memcpy(m->dst.v6, dst, 16);
	if (m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP) {
		nc = ef_csum_update16(nc, rd16(l4), sport);
		nc = ef_csum_update16(nc, rd16(l4 + 2), dport);
		wr16(l4, sport);
		wr16(l4 + 2, dport);
		m->sport = sport;
		m->dport = dport;
		/* zero: the sender gave none (illegal over IPv6); do not invent one */
		if (m->proto == IPPROTO_UDP) {
			if (c == 0)
				return;
			nc = nc == 0 ? 0xffff : nc;
		}
	} else {
		/* ICMPv6 echo: the id follows ef_pkt_nat4's rule */
		uint16_t nid = l4[0] == ICMP6_ECHO_REQUEST ? sport : dport;

		nc = ef_csum_update16(nc, rd16(l4 + 4), nid);
		wr16(l4 + 4, nid);
		m->sport = nid;
		m->dport = nid;
	}
	wr16(l4 + coff, nc);
}

int
ef_pkt_icmp6_echo_reply(uint8_t *frame, struct ef_pkt_meta *m)
{
	struct rte_ipv6_hdr *ip6;
	uint8_t *ih, a[16];

	if (m->ip_version != 6 || m->proto != IPPROTO_ICMPV6 ||
	    !(m->flags & EF_PKT_F_L4) || (m->flags & EF_PKT_F_FRAG) ||
	    m->icmp_type != ICMP6_ECHO_REQUEST)
		return -EINVAL;
	ip6 = (struct rte_ipv6_hdr *)(frame + m->l3_off);
	ih = frame + m->l4_off;
	/* answer from the address asked; a multicast one is not ours to use */
	if (ip6_is_mcast(ip6->dst_addr))
		return -EINVAL;
	memcpy(a, ip6->src_addr, 16);
	memcpy(ip6->src_addr, ip6->dst_addr, 16);
	memcpy(ip6->dst_addr, a, 16);
	ip6->hop_limits = 64;
	/* full sum, as for IPv4: an update can land on 0x0000 */
	ih[0] = ICMP6_ECHO_REPLY;
	wr16(ih + 2, 0);
	memcpy(m->dst.v6, m->src.v6, 16);
	memcpy(m->src.v6, ip6->src_addr, 16);
	wr16(ih + 2, l4_csum6(m->src.v6, m->dst.v6, IPPROTO_ICMPV6, ih,
			      m->l4_len));
	m->ttl = 64;
	m->icmp_type = ICMP6_ECHO_REPLY;
	return 0;
}

void
ef_addr6_solicited_node(const uint8_t target[16], uint8_t out[16])
{
	static const uint8_t pfx[13] = {
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff
	};

	memcpy(out, pfx, sizeof(pfx));
	memcpy(out + 13, target + 13, 3);
}

/* Ethernet + IPv6 header of an NDP message; returns the ICMPv6 header. */
static uint8_t *
ndp_headers(uint8_t *out, const uint8_t smac[6], const uint8_t dmac[6],
	    const uint8_t src[16], const uint8_t dst[16], uint16_t plen)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)out;
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);

	memcpy(&eth->dst_addr, dmac, RTE_ETHER_ADDR_LEN);
	memcpy(&eth->src_addr, smac, RTE_ETHER_ADDR_LEN);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip6->vtc_flow = RTE_BE32(6u << 28);
	ip6->payload_len = rte_cpu_to_be_16(plen);
	ip6->proto = IPPROTO_ICMPV6;
	ip6->hop_limits = NDP_HOP_LIMIT;
	memcpy(ip6->src_addr, src, 16);
	memcpy(ip6->dst_addr, dst, 16);
	return (uint8_t *)(ip6 + 1);
}

static uint32_t
ndp_finish(uint8_t *ih, const uint8_t src[16], const uint8_t dst[16],
	   uint8_t opt_type, const uint8_t mac[6])
{
	uint8_t *opt = ih + NDP_NS_NA_LEN;
	uint32_t len = NDP_NS_NA_LEN + NDP_OPT_LLA_LEN;

	opt[0] = opt_type;
	opt[1] = 1;
	memcpy(opt + 2, mac, RTE_ETHER_ADDR_LEN);
	wr16(ih + 2, 0);
	wr16(ih + 2, l4_csum6(src, dst, IPPROTO_ICMPV6, ih, len));
	return RTE_ETHER_HDR_LEN + IP6_HDR_LEN + len;
}

uint32_t
ef_pkt_build_ndp_ns(uint8_t *out, const uint8_t smac[6],
		    const uint8_t src[16], const uint8_t target[16])
{
	uint8_t dst[16], dmac[6];
	uint8_t *ih;

	ef_addr6_solicited_node(target, dst);
	/* RFC 2464 7: 33:33 and the low 32 bits of the group */
	dmac[0] = 0x33;
	dmac[1] = 0x33;
	memcpy(dmac + 2, dst + 12, 4);
	ih = ndp_headers(out, smac, dmac, src, dst,
			 NDP_NS_NA_LEN + NDP_OPT_LLA_LEN);
	memset(ih, 0, NDP_NS_NA_LEN);
	ih[0] = EF_PKT_ND_NS;
	memcpy(ih + 8, target, 16);
	return ndp_finish(ih, src, dst, NDP_OPT_SLLA, smac);
}

uint32_t
ef_pkt_build_ndp_na(uint8_t *out, const uint8_t smac[6],
		    const uint8_t dmac[6], const uint8_t src[16],
		    const uint8_t dst[16], const uint8_t target[16],
		    uint8_t flags)
{
	uint8_t *ih = ndp_headers(out, smac, dmac, src, dst,
				  NDP_NS_NA_LEN + NDP_OPT_LLA_LEN);

	memset(ih, 0, NDP_NS_NA_LEN);
	ih[0] = EF_PKT_ND_NA;
	ih[4] = flags & (EF_PKT_NA_F_ROUTER | EF_PKT_NA_F_SOLICITED |
			 EF_PKT_NA_F_OVERRIDE);
	memcpy(ih + 8, target, 16);
	return ndp_finish(ih, src, dst, NDP_OPT_TLLA, smac);
}

int
ef_pkt_ndp_parse(const uint8_t *frame, const struct ef_pkt_meta *m,
		 struct ef_pkt_ndp *nd)
{
	const uint8_t *ih, *opt;
	uint32_t left;

	if (m->ip_version != 6 || m->proto != IPPROTO_ICMPV6 ||
	    m->l4_off == 0 || (m->flags & EF_PKT_F_FRAG) ||
	    (m->icmp_type != EF_PKT_ND_NS && m->icmp_type != EF_PKT_ND_NA))
		return -EINVAL;
	/* RFC 4861 7.1: hop limit 255, code 0, >= 24 bytes, sum right */
	if (m->ttl != NDP_HOP_LIMIT || m->icmp_code != 0 ||
	    m->l4_len < NDP_NS_NA_LEN || !ef_pkt_l4_csum_ok(frame, m))
		return -EINVAL;
	ih = frame + m->l4_off;
	memset(nd, 0, sizeof(*nd));
	nd->type = ih[0];
	nd->flags = nd->type == EF_PKT_ND_NA ? ih[4] & 0xe0 : 0;
	memcpy(nd->target, ih + 8, 16);
	if (ip6_is_mcast(nd->target))
		return -EINVAL;
	/* an NA answering a multicast NS must not be solicited (7.1.2) */
	if (nd->type == EF_PKT_ND_NA && ip6_is_mcast(m->dst.v6) &&
	    (nd->flags & EF_PKT_NA_F_SOLICITED))
		return -EINVAL;
	opt = ih + NDP_NS_NA_LEN;
	left = m->l4_len - NDP_NS_NA_LEN;
	while (left > 0) {
		uint32_t olen;

		if (left < 2 || opt[1] == 0)
			return -EINVAL;	/* 7.1: a zero length is invalid */
		olen = (uint32_t)opt[1] * 8;
		if (olen > left)
			return -EINVAL;
		if (((nd->type == EF_PKT_ND_NS && opt[0] == NDP_OPT_SLLA) ||
		     (nd->type == EF_PKT_ND_NA && opt[0] == NDP_OPT_TLLA)) &&
		    olen == NDP_OPT_LLA_LEN) {
			memcpy(nd->lladdr, opt + 2, RTE_ETHER_ADDR_LEN);
			nd->has_lladdr = true;
		}
		opt += olen;
		left -= olen;
	}
	/* an NS from :: (duplicate address detection) carries no SLLA */
	if (nd->type == EF_PKT_ND_NS && ip6_is_unspec(m->src.v6) &&
	    (nd->has_lladdr || !ip6_is_mcast(m->dst.v6)))
		return -EINVAL;
	return 0;
}

int
ef_pkt_build_icmp6_error(uint8_t *out, uint32_t cap,
			 const uint8_t *orig_l3, uint32_t orig_len,
			 uint8_t type, uint8_t code, uint32_t param,
			 const uint8_t src[16])
{
	const struct rte_ipv6_hdr *oip = (const struct rte_ipv6_hdr *)orig_l3;
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)out;
	uint8_t *ih = (uint8_t *)(ip6 + 1);
	uint32_t olen, quote, plen;
	uint8_t proto;
	uint32_t l4;
	uint16_t frag;

	if (type < ICMP6_DEST_UNREACH || type > ICMP6_PARAM_PROB ||
	    orig_len < IP6_HDR_LEN || (orig_l3[0] >> 4) != 6)
		return -EINVAL;
	olen = IP6_HDR_LEN + (uint32_t)rte_be_to_cpu_16(oip->payload_len);
	if (olen > orig_len)
		olen = orig_len;	/* quote only what we have */

	/*
	 * RFC 4443 2.4(e): never about an ICMPv6 error, nor a packet sent to
	 * a multicast group (except packet too big, and parameter problem
	 * code 2), nor one whose source is not a single node.
	 */
	if (ip6_is_mcast(oip->src_addr) || ip6_is_unspec(oip->src_addr))
		return -EINVAL;
	if (ip6_is_mcast(oip->dst_addr) && type != ICMP6_PACKET_TOO_BIG &&
	    !(type == ICMP6_PARAM_PROB && code == 2))
		return -EINVAL;
	if (ef_pkt_ip6_upper(orig_l3, olen, &proto, &l4, &frag) == 0 &&
	    proto == IPPROTO_ICMPV6 && l4 != 0 && l4 < olen &&
	    orig_l3[l4] < 128)
		return -EINVAL;

	quote = RTE_MIN(olen, (uint32_t)(ICMP6_ERR_MAX - IP6_HDR_LEN -
					 ICMP_HDR_LEN));
	if (cap < IP6_HDR_LEN + ICMP_HDR_LEN)
		return -ENOSPC;
	quote = RTE_MIN(quote, cap - IP6_HDR_LEN - ICMP_HDR_LEN);
	if (quote < RTE_MIN(olen, (uint32_t)IP6_HDR_LEN + ICMP_QUOTE_L4))
		return -ENOSPC;
	plen = ICMP_HDR_LEN + quote;

	ip6->vtc_flow = RTE_BE32(6u << 28 | 0xc0u << 20);	/* as IPv4 */
	ip6->payload_len = rte_cpu_to_be_16((uint16_t)plen);
	ip6->proto = IPPROTO_ICMPV6;
	ip6->hop_limits = 64;
	memcpy(ip6->src_addr, src, 16);
	memcpy(ip6->dst_addr, oip->src_addr, 16);
	ih[0] = type;
	ih[1] = code;
	wr16(ih + 2, 0);
	/* the MTU (packet too big) or pointer (parameter problem), else 0 */
	param = (type == ICMP6_PACKET_TOO_BIG || type == ICMP6_PARAM_PROB) ?
		param : 0;
	param = rte_cpu_to_be_32(param);
	memcpy(ih + 4, &param, 4);
	memcpy(ih + ICMP_HDR_LEN, orig_l3, quote);
	wr16(ih + 2, l4_csum6(src, ip6->dst_addr, IPPROTO_ICMPV6, ih, plen));
	return (int)(IP6_HDR_LEN + plen);
}

int
ef_pkt_tcp6_rst_reply(uint8_t *frame, struct ef_pkt_meta *m)
{
	struct rte_ipv6_hdr *ip6;
	struct rte_tcp_hdr *th;
	uint32_t seq, ack, seglen;
	uint16_t sport, dport;
	uint8_t src[16], dst[16], fl;

	if (m->ip_version != 6 || m->proto != IPPROTO_TCP ||
	    !(m->flags & EF_PKT_F_L4) || (m->flags & EF_PKT_F_FRAG))
		return -EINVAL;
	ip6 = (struct rte_ipv6_hdr *)(frame + m->l3_off);
	th = (struct rte_tcp_hdr *)(frame + m->l4_off);
	fl = th->tcp_flags;
	if ((fl & RTE_TCP_RST_FLAG) || ip6_is_mcast(ip6->dst_addr))
		return -EINVAL;	/* never answer a reset, nor for a group */
	/* read everything first: the TCP header moves up over the
	 * extension chain, which the answer does not carry */
	seglen = m->l4_len - (uint32_t)(th->data_off >> 4) * 4;
	if (fl & RTE_TCP_SYN_FLAG)
		seglen++;
	if (fl & RTE_TCP_FIN_FLAG)
		seglen++;
	seq = rte_be_to_cpu_32(th->sent_seq);
	ack = rte_be_to_cpu_32(th->recv_ack);
	sport = th->src_port;
	dport = th->dst_port;
	memcpy(src, ip6->src_addr, 16);
	memcpy(dst, ip6->dst_addr, 16);

	ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip6->payload_len = RTE_BE16(sizeof(struct rte_tcp_hdr));
	ip6->proto = IPPROTO_TCP;
	ip6->hop_limits = 64;
	memcpy(ip6->src_addr, dst, 16);
	memcpy(ip6->dst_addr, src, 16);
	th = (struct rte_tcp_hdr *)(ip6 + 1);
	th->src_port = dport;
	th->dst_port = sport;
	if (fl & RTE_TCP_ACK_FLAG) {
		th->sent_seq = rte_cpu_to_be_32(ack);
		th->recv_ack = 0;
		th->tcp_flags = RTE_TCP_RST_FLAG;
	} else {
		th->sent_seq = 0;
		th->recv_ack = rte_cpu_to_be_32(seq + seglen);
		th->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	}
	th->data_off = (sizeof(struct rte_tcp_hdr) / 4) << 4;
	th->rx_win = 0;
	th->tcp_urp = 0;
	th->cksum = 0;
	th->cksum = l4_csum6(ip6->src_addr, ip6->dst_addr, IPPROTO_TCP,
			     (const uint8_t *)th, sizeof(*th));

	m->flags &= (uint16_t)~EF_PKT_F_IP6_EXT;
	m->l3_len = (uint16_t)(sizeof(*ip6) + sizeof(*th));
	m->l4_off = (uint16_t)(m->l3_off + sizeof(*ip6));
	m->l4_len = sizeof(*th);
	m->ttl = 64;
	m->tcp_flags = th->tcp_flags;
	m->sport = dport;
	m->dport = sport;
	memcpy(m->src.v6, dst, 16);
	memcpy(m->dst.v6, src, 16);
	return (int)m->l3_len;
}

void
ef_pkt_hop_dec6(uint8_t *frame, struct ef_pkt_meta *m)
{
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(frame + m->l3_off);

	/* no header checksum to fix (RFC 8200) */
	ip6->hop_limits--;
	m->ttl--;
}

void
ef_pkt_nat6_icmp_error(uint8_t *frame, struct ef_pkt_meta *m,
		       const uint8_t outer_src[16], const uint8_t outer_dst[16],
		       const uint8_t inner_src[16], uint16_t inner_sport,
		       const uint8_t inner_dst[16], uint16_t inner_dport)
{
	struct rte_ipv6_hdr *o = (struct rte_ipv6_hdr *)(frame + m->l3_off);
	struct rte_ipv6_hdr *q = (struct rte_ipv6_hdr *)
		(frame + m->inner_l3_off);
	uint8_t *ih = frame + m->l4_off;
	uint32_t end = (uint32_t)m->l4_off + m->l4_len;

	if (m->ip_version != 6 || !(m->flags & EF_PKT_F_ICMP_ERROR) ||
	    m->inner_src.family != EF_AF_INET6)
		return;
	/* the quoted L4 checksum, when it is quoted: its pseudo-header
	 * changes with the addresses, its header with the ports (echo: the
	 * id, in both "ports") */
	if (m->inner_l4_off != 0) {
		uint8_t *l4 = frame + m->inner_l4_off;
		uint32_t coff = m->inner_proto == IPPROTO_TCP ? 16 :
			m->inner_proto == IPPROTO_UDP ? 6 : 2;
		bool echo = m->inner_proto == IPPROTO_ICMPV6;

		if (m->inner_l4_off + coff + 2 <= end &&
		    !(m->inner_proto == IPPROTO_UDP && rd16(l4 + coff) == 0)) {
			uint16_t c = rd16(l4 + coff);

			c = ef_csum_update_addr6(c, q->src_addr, inner_src);
			c = ef_csum_update_addr6(c, q->dst_addr, inner_dst);
			if (echo) {
				c = ef_csum_update16(c, rd16(l4 + 4),
						     inner_sport);
			} else {
				c = ef_csum_update16(c, rd16(l4), inner_sport);
				c = ef_csum_update16(c, rd16(l4 + 2),
						     inner_dport);
			}
			wr16(l4 + coff, c);
		}
		if (echo && m->inner_l4_off + 6u <= end) {
			wr16(l4 + 4, inner_sport);
		} else if (!echo && m->inner_l4_off + 4u <= end) {
			wr16(l4, inner_sport);
			wr16(l4 + 2, inner_dport);
		}
		m->inner_sport = inner_sport;
		m->inner_dport = echo ? inner_sport : inner_dport;
	}
	memcpy(q->src_addr, inner_src, 16);
	memcpy(q->dst_addr, inner_dst, 16);
	memcpy(o->src_addr, outer_src, 16);
	memcpy(o->dst_addr, outer_dst, 16);
	memcpy(m->inner_src.v6, inner_src, 16);
	memcpy(m->inner_dst.v6, inner_dst, 16);
	memcpy(m->src.v6, outer_src, 16);
	memcpy(m->dst.v6, outer_dst, 16);
	/* the error itself: at most 1280 bytes, summed again (RFC 4443 2.3) */
	wr16(ih + 2, 0);
	wr16(ih + 2, l4_csum6(m->src.v6, m->dst.v6, IPPROTO_ICMPV6, ih,
			      m->l4_len));
}
