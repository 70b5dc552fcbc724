/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parsing of contiguous frames into struct ef_pkt_meta: Ethernet, one VLAN
 * tag, ARP, IPv4, IPv6 with its extension chain, TCP/UDP/ICMP and the
 * packet an ICMP error quotes. Bounds discipline: see pkt_priv.h.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "ef_pkt.h"
#include "pkt_priv.h"

static const char *const pkt_err_text[] = {
#define EF_PKT_ERR_TEXT(name, text) text,
	EF_PKT_FOREACH_ERR(EF_PKT_ERR_TEXT)
#undef EF_PKT_ERR_TEXT
};

const char *
ef_pkt_strerror(int code)
{
	if (code == EF_PKT_OK)
		return "ok";
	if (code > EF_PKT_ERR_FIRST_ && code < EF_PKT_ERR_END_)
		return pkt_err_text[code - EF_PKT_ERR_FIRST_ - 1];
	return "unknown error";
}

static inline bool
icmp6_is_error(uint8_t type)
{
	return type >= ICMP6_DEST_UNREACH && type <= ICMP6_PARAM_PROB;
}

static inline bool
ip6_is_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
		nh == IPPROTO_FRAGMENT || nh == IPPROTO_DSTOPTS;
}

/*
 * Walk the IPv6 extension chain of the header at p (avail bytes of IPv6
 * header + payload known to be present). Bounded work: at most
 * IP6_EXT_MAX headers and IP6_EXT_BYTES bytes of them.
 */
int
ef_pkt_ip6_upper(const uint8_t *p, uint32_t avail, uint8_t *proto,
		 uint32_t *l4, uint16_t *frag)
{
	uint8_t nh;
	uint32_t pos = IP6_HDR_LEN;
	unsigned int n;

	*frag = 0;
	if (avail < IP6_HDR_LEN)
		return EF_PKT_ERR_IP6_TRUNC;
	nh = ((const struct rte_ipv6_hdr *)p)->proto;
	for (n = 0; ip6_is_ext(nh); n++) {
		uint32_t hlen;

		if (n == IP6_EXT_MAX)
			return EF_PKT_ERR_IP6_EXT_CHAIN;
		/* RFC 8200 4.3: hop-by-hop only right after the header */
		if (nh == IPPROTO_HOPOPTS && n != 0)
			return EF_PKT_ERR_IP6_HBH_POS;
		if (nh == IPPROTO_FRAGMENT) {
			uint16_t off_m;

			if (avail - pos < 8)
				return EF_PKT_ERR_IP6_FRAG_TRUNC;
			off_m = rte_be_to_cpu_16(rd16(p + pos + 2));
			/* offset 0 without M is an atomic fragment: whole */
			if (off_m & 0xfff9) {
				*frag |= EF_PKT_F_FRAG;
				if (off_m & 0xfff8) {
					*proto = p[pos];
					*l4 = 0;
					return 0;
				}
				*frag |= EF_PKT_F_FRAG_FIRST;
			}
			hlen = 8;
		} else {
			if (avail - pos < 8)
				return EF_PKT_ERR_IP6_EXT_TRUNC;
			hlen = ((uint32_t)p[pos + 1] + 1) * 8;
			if (avail - pos < hlen)
				return EF_PKT_ERR_IP6_EXT_TRUNC;
			/* RFC 8200 4.4: segments left, byte 3 */
			if (nh == IPPROTO_ROUTING && p[pos + 3] != 0)
				*frag |= EF_PKT_F_IP6_ROUTING;
		}
		if (pos + hlen - IP6_HDR_LEN > IP6_EXT_BYTES)
			return EF_PKT_ERR_IP6_EXT_LEN;
		nh = p[pos];
		pos += hlen;
	}
	*proto = nh;
	*l4 = pos;
	return 0;
}

/*
 * Ports (or the echo id) of the first 8 bytes of a quoted or real L4
 * header; false for protocols without them.
 */
static inline bool
l4_ports(uint8_t proto, const uint8_t *l4, uint16_t *sport, uint16_t *dport)
{
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		*sport = rd16(l4);
		*dport = rd16(l4 + 2);
		return true;
	case IPPROTO_ICMP:
		if (l4[0] != RTE_IP_ICMP_ECHO_REQUEST &&
		    l4[0] != RTE_IP_ICMP_ECHO_REPLY)
			return false;
		break;
	case IPPROTO_ICMPV6:
		if (l4[0] != ICMP6_ECHO_REQUEST && l4[0] != ICMP6_ECHO_REPLY)
			return false;
		break;
	default:
		return false;
	}
	*sport = rd16(l4 + 4);
	*dport = *sport;
	return true;
}

/*
 * The packet quoted by an ICMP error: q points at it, avail bytes of it are
 * inside the outer IP payload. The quoted total length may exceed avail
 * (routers quote a prefix); only the header and 8 L4 bytes must be there.
 */
static int
parse_icmp_inner(const uint8_t *frame, uint32_t q_off, uint32_t avail,
		 uint8_t version, struct ef_pkt_meta *m)
{
	const uint8_t *q = frame + q_off;
	uint32_t l4;
	uint8_t proto;
	bool ports_ok = true;

	if (version == 4) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)q;
		uint32_t ihl;

		if (avail < IP4_HDR_MIN)
			return EF_PKT_ERR_ICMP_INNER_TRUNC;
		ihl = (uint32_t)(ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
		if ((ip->version_ihl >> 4) != 4 || ihl < IP4_HDR_MIN)
			return EF_PKT_ERR_ICMP_INNER_BAD;
		if (avail < ihl + ICMP_QUOTE_L4)
			return EF_PKT_ERR_ICMP_INNER_TRUNC;
		proto = ip->next_proto_id;
		m->inner_src.family = EF_AF_INET4;
		m->inner_src.v4 = ip->src_addr;
		m->inner_dst.family = EF_AF_INET4;
		m->inner_dst.v4 = ip->dst_addr;
		l4 = ihl;
		/* a quoted non-first fragment starts with payload, not ports */
		if (rte_be_to_cpu_16(ip->fragment_offset) &
		    RTE_IPV4_HDR_OFFSET_MASK)
			ports_ok = false;
	} else {
		const struct rte_ipv6_hdr *ip6 = (const struct rte_ipv6_hdr *)q;
		uint16_t frag;
		int rc;

		if (avail < IP6_HDR_LEN)
			return EF_PKT_ERR_ICMP_INNER_TRUNC;
		if ((q[0] >> 4) != 6)
			return EF_PKT_ERR_ICMP_INNER_BAD;
		rc = ef_pkt_ip6_upper(q, avail, &proto, &l4, &frag);
		if (rc == EF_PKT_ERR_IP6_EXT_TRUNC ||
		    rc == EF_PKT_ERR_IP6_FRAG_TRUNC)
			return EF_PKT_ERR_ICMP_INNER_TRUNC;
		if (rc < 0)
			return EF_PKT_ERR_ICMP_INNER_BAD;
		if (l4 == 0)
			ports_ok = false;
		else if (avail - l4 < ICMP_QUOTE_L4)
			return EF_PKT_ERR_ICMP_INNER_TRUNC;
		m->inner_src.family = EF_AF_INET6;
		memcpy(m->inner_src.v6, ip6->src_addr, 16);
		m->inner_dst.family = EF_AF_INET6;
		memcpy(m->inner_dst.v6, ip6->dst_addr, 16);
	}
	m->inner_proto = proto;
	m->inner_l3_off = (uint16_t)q_off;
	if (ports_ok) {
		m->inner_l4_off = (uint16_t)(q_off + l4);
		l4_ports(proto, q + l4, &m->inner_sport, &m->inner_dport);
	}
	m->flags |= EF_PKT_F_ICMP_ERROR;
	return EF_PKT_OK;
}

/*
 * L4 header at m->l4_off with m->l4_len bytes (the IP payload, already
 * known to be inside the frame). is_frag: first fragment, whose UDP length
 * describes the whole datagram rather than this fragment.
 */
static int
parse_l4(const uint8_t *frame, struct ef_pkt_meta *m, bool is_frag)
{
	const uint8_t *l4 = frame + m->l4_off;
	uint32_t avail = m->l4_len;

	if (likely(m->proto == IPPROTO_TCP)) {
		const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)l4;
		uint32_t doff;

		if (unlikely(avail < TCP_HDR_MIN))
			return EF_PKT_ERR_TCP_TRUNC;
		doff = (uint32_t)(th->data_off >> 4) * 4;
		if (unlikely(doff < TCP_HDR_MIN || doff > avail))
			return EF_PKT_ERR_TCP_DOFF;
		m->sport = th->src_port;
		m->dport = th->dst_port;
		m->tcp_flags = th->tcp_flags;
		m->flags |= EF_PKT_F_L4;
		return EF_PKT_OK;
	}
	if (likely(m->proto == IPPROTO_UDP)) {
		const struct rte_udp_hdr *uh = (const struct rte_udp_hdr *)l4;
		uint32_t ulen;

		if (unlikely(avail < UDP_HDR_LEN))
			return EF_PKT_ERR_UDP_TRUNC;
		ulen = rte_be_to_cpu_16(uh->dgram_len);
		if (unlikely(ulen < UDP_HDR_LEN || (ulen > avail && !is_frag)))
			return EF_PKT_ERR_UDP_LEN;
		m->sport = uh->src_port;
		m->dport = uh->dst_port;
		m->flags |= EF_PKT_F_L4;
		return EF_PKT_OK;
	}
	if (m->proto == IPPROTO_ICMP || m->proto == IPPROTO_ICMPV6) {
		bool v4 = m->proto == IPPROTO_ICMP;

		/* ICMP in IPv6 / ICMPv6 in IPv4 are not ICMP for this host */
		if (unlikely(v4 != (m->ip_version == 4)))
			return EF_PKT_OK;
		if (unlikely(avail < ICMP_HDR_LEN))
			return EF_PKT_ERR_ICMP_TRUNC;
		m->icmp_type = l4[0];
		m->icmp_code = l4[1];
		if (l4_ports(m->proto, l4, &m->sport, &m->dport)) {
			m->flags |= EF_PKT_F_L4;
			return EF_PKT_OK;
		}
		if (v4 ? icmp4_is_error(l4[0]) : icmp6_is_error(l4[0]))
			return parse_icmp_inner(frame, m->l4_off + ICMP_HDR_LEN,
						avail - ICMP_HDR_LEN,
						m->ip_version, m);
	}
	return EF_PKT_OK;
}

static int
parse_ip4(const uint8_t *frame, uint32_t len, struct ef_pkt_meta *m)
{
	const struct rte_ipv4_hdr *ip =
		(const struct rte_ipv4_hdr *)(frame + m->l3_off);
	uint32_t avail = len - m->l3_off;
	uint32_t ihl, totlen;
	uint16_t frag;

	if (unlikely(avail < IP4_HDR_MIN))
		return EF_PKT_ERR_IP4_TRUNC;
	if (unlikely((ip->version_ihl >> 4) != 4))
		return EF_PKT_ERR_IP4_VERSION;
	ihl = (uint32_t)(ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
	if (unlikely(ihl < IP4_HDR_MIN || ihl > avail))
		return EF_PKT_ERR_IP4_IHL;
	totlen = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(totlen < ihl || totlen > avail))
		return EF_PKT_ERR_IP4_TOTLEN;

	m->ip_version = 4;
	m->proto = ip->next_proto_id;
	m->ttl = ip->time_to_live;
	m->src.family = EF_AF_INET4;
	m->src.v4 = ip->src_addr;
	m->dst.family = EF_AF_INET4;
	m->dst.v4 = ip->dst_addr;
	m->l3_len = (uint16_t)totlen;
	if (unlikely(ihl > IP4_HDR_MIN))
		m->flags |= EF_PKT_F_IP_OPTIONS;
	if (unlikely(ip4_is_bcast_mcast(ip->src_addr)))
		m->flags |= EF_PKT_F_BCAST_SRC;

	frag = rte_be_to_cpu_16(ip->fragment_offset);
	if (unlikely(frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
		m->flags |= EF_PKT_F_FRAG;
		if (frag & RTE_IPV4_HDR_OFFSET_MASK)
			return EF_PKT_OK;	/* no L4 header in this one */
		m->flags |= EF_PKT_F_FRAG_FIRST;
	}
	m->l4_off = (uint16_t)(m->l3_off + ihl);
	m->l4_len = (uint16_t)(totlen - ihl);
	return parse_l4(frame, m, (m->flags & EF_PKT_F_FRAG) != 0);
}

static int
parse_ip6(const uint8_t *frame, uint32_t len, struct ef_pkt_meta *m)
{
	const uint8_t *p = frame + m->l3_off;
	const struct rte_ipv6_hdr *ip6 = (const struct rte_ipv6_hdr *)p;
	uint32_t avail = len - m->l3_off;
	uint32_t l3_len, l4;
	uint16_t frag;
	uint8_t proto;
	int rc;

	if (avail < IP6_HDR_LEN)
		return EF_PKT_ERR_IP6_TRUNC;
	if ((p[0] >> 4) != 6)
		return EF_PKT_ERR_IP6_VERSION;
	l3_len = IP6_HDR_LEN + (uint32_t)rte_be_to_cpu_16(ip6->payload_len);
	if (l3_len > avail)
		return EF_PKT_ERR_IP6_PLEN;

	m->ip_version = 6;
	m->ttl = ip6->hop_limits;
	m->src.family = EF_AF_INET6;
	memcpy(m->src.v6, ip6->src_addr, 16);
	m->dst.family = EF_AF_INET6;
	memcpy(m->dst.v6, ip6->dst_addr, 16);
	m->l3_len = (uint16_t)l3_len;
	if (unlikely(ip6->src_addr[0] == 0xff))
		m->flags |= EF_PKT_F_BCAST_SRC;	/* RFC 4291 2.7 */

	if (likely(!ip6_is_ext(ip6->proto))) {
		proto = ip6->proto;
		l4 = IP6_HDR_LEN;
	} else {
		m->flags |= EF_PKT_F_IP6_EXT;
		rc = ef_pkt_ip6_upper(p, l3_len, &proto, &l4, &frag);
		if (rc < 0)
			return rc;
		m->flags |= frag;
	}
	m->proto = proto;
	if (l4 == 0)
		return EF_PKT_OK;	/* non-first fragment */
	m->l4_off = (uint16_t)(m->l3_off + l4);
	m->l4_len = (uint16_t)(l3_len - l4);
	return parse_l4(frame, m, (m->flags & EF_PKT_F_FRAG) != 0);
}

static int
parse_arp(const uint8_t *frame, uint32_t len, struct ef_pkt_meta *m)
{
	const struct rte_arp_hdr *arp =
		(const struct rte_arp_hdr *)(frame + m->l3_off);

	if (len - m->l3_off < sizeof(*arp))
		return EF_PKT_ERR_ARP_TRUNC;
	if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return EF_PKT_ERR_ARP_FORMAT;
	m->l3_len = sizeof(*arp);
	m->src.family = EF_AF_INET4;
	m->src.v4 = arp->arp_data.arp_sip;
	m->dst.family = EF_AF_INET4;
	m->dst.v4 = arp->arp_data.arp_tip;
	return EF_PKT_OK;
}

int
ef_pkt_parse(const uint8_t *frame, uint32_t len, struct ef_pkt_meta *m)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	/* a copy of zeros, not memset(): GCC makes memset of these 116
	 * bytes a rep stosq, whose start-up was half the parse; a constant
	 * copy is vector moves (the template stays in L1) */
	static const struct ef_pkt_meta zero;
	uint16_t etype;

	memcpy(m, &zero, sizeof(*m));
	if (unlikely(len < RTE_ETHER_HDR_LEN))
		return EF_PKT_ERR_ETH_TRUNC;
	if (unlikely(eth->src_addr.addr_bytes[0] & 0x01))
		m->flags |= EF_PKT_F_BCAST_SRC;
	etype = eth->ether_type;
	m->l3_off = RTE_ETHER_HDR_LEN;
	if (unlikely(etype == RTE_BE16(RTE_ETHER_TYPE_VLAN) ||
		     etype == RTE_BE16(RTE_ETHER_TYPE_QINQ))) {
		const struct rte_vlan_hdr *vh;

		if (len < RTE_ETHER_HDR_LEN + sizeof(*vh))
			return EF_PKT_ERR_VLAN_TRUNC;
		vh = (const struct rte_vlan_hdr *)(frame + RTE_ETHER_HDR_LEN);
		etype = vh->eth_proto;
		if (etype == RTE_BE16(RTE_ETHER_TYPE_VLAN) ||
		    etype == RTE_BE16(RTE_ETHER_TYPE_QINQ))
			return EF_PKT_ERR_VLAN_NESTED;
		m->vlan_tci = rte_be_to_cpu_16(vh->vlan_tci);
		m->flags |= EF_PKT_F_VLAN;
		m->l3_off += sizeof(*vh);
	}
	if (likely(etype == RTE_BE16(RTE_ETHER_TYPE_IPV4))) {
		m->l3 = EF_PKT_L3_IPV4;
		return parse_ip4(frame, len, m);
	}
	if (etype == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
		m->l3 = EF_PKT_L3_IPV6;
		return parse_ip6(frame, len, m);
	}
	if (etype == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
		m->l3 = EF_PKT_L3_ARP;
		return parse_arp(frame, len, m);
	}
	m->l3 = EF_PKT_L3_OTHER;
	return EF_PKT_OK;
}

