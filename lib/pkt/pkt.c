/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parsing, checksums and rewrites on contiguous frames. Only DPDK headers
 * are used (struct layouts, byte order, the inline rte_raw_cksum family):
 * nothing here needs EAL, so the module fuzzes and unit-tests on plain heap
 * buffers.
 *
 * Bounds discipline: every read is preceded by a length check against the
 * tightest known bound (frame length, then the IP length, then the quoted
 * bytes of an ICMP error), so no function reads or writes outside
 * [frame, frame + len).
 */

#include <errno.h>
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

#define IP4_HDR_MIN	20
#define IP6_HDR_LEN	40
#define ICMP_HDR_LEN	8
#define TCP_HDR_MIN	20
#define UDP_HDR_LEN	8
/* An ICMP error must quote at least the IP header and 8 bytes (RFC 792). */
#define ICMP_QUOTE_L4	8
/* RFC 1812 4.3.2.3: an ICMP error is at most 576 bytes. */
#define ICMP_ERR_MAX	576
/* Longest IPv6 extension chain walked before giving up (bounded work). */
#define IP6_EXT_MAX	8

#define ICMP6_DEST_UNREACH	1
#define ICMP6_PACKET_TOO_BIG	2
#define ICMP6_TIME_EXCEEDED	3
#define ICMP6_PARAM_PROB	4
#define ICMP6_ECHO_REQUEST	128
#define ICMP6_ECHO_REPLY	129

#define ICMP4_DEST_UNREACH	3
#define ICMP4_SOURCE_QUENCH	4
#define ICMP4_REDIRECT		5
#define ICMP4_TIME_EXCEEDED	11
#define ICMP4_PARAM_PROB	12

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

static inline uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
wr16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* IPv4 broadcast or multicast (224.0.0.0/4), network order. */
static inline bool
ip4_is_bcast_mcast(uint32_t a)
{
	return a == UINT32_MAX || (((const uint8_t *)&a)[0] & 0xf0) == 0xe0;
}

static inline bool
icmp4_is_error(uint8_t type)
{
	return type == ICMP4_DEST_UNREACH || type == ICMP4_TIME_EXCEEDED ||
		type == ICMP4_PARAM_PROB;
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
 * header + payload known to be present). Returns 0 with *proto and *l4 (the
 * L4 offset from p), or a negative EF_PKT_ERR_IP6_EXT_* code. *frag gets
 * EF_PKT_F_FRAG / EF_PKT_F_FRAG_FIRST; *l4 is 0 for a non-first fragment.
 */
static int
ip6_walk_ext(const uint8_t *p, uint32_t avail, uint8_t *proto, uint32_t *l4,
	     uint16_t *frag)
{
	uint8_t nh = ((const struct rte_ipv6_hdr *)p)->proto;
	uint32_t pos = IP6_HDR_LEN;
	unsigned int n;

	*frag = 0;
	for (n = 0; ip6_is_ext(nh); n++) {
		uint32_t hlen;

		if (n == IP6_EXT_MAX)
			return EF_PKT_ERR_IP6_EXT_CHAIN;
		if (avail - pos < 8)
			return EF_PKT_ERR_IP6_EXT_TRUNC;
		if (nh == IPPROTO_FRAGMENT) {
			uint16_t off_m = rte_be_to_cpu_16(rd16(p + pos + 2));

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
			hlen = ((uint32_t)p[pos + 1] + 1) * 8;
			if (avail - pos < hlen)
				return EF_PKT_ERR_IP6_EXT_TRUNC;
		}
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
		rc = ip6_walk_ext(q, avail, &proto, &l4, &frag);
		if (rc == EF_PKT_ERR_IP6_EXT_TRUNC)
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

	if (likely(!ip6_is_ext(ip6->proto))) {
		proto = ip6->proto;
		l4 = IP6_HDR_LEN;
	} else {
		m->flags |= EF_PKT_F_IP6_EXT;
		rc = ip6_walk_ext(p, l3_len, &proto, &l4, &frag);
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
	uint16_t etype;

	memset(m, 0, sizeof(*m));
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

/* Offset of the checksum field inside the L4 header. */
static uint32_t
l4_csum_field(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return offsetof(struct rte_tcp_hdr, cksum);
	case IPPROTO_UDP:
		return offsetof(struct rte_udp_hdr, dgram_cksum);
	default:
		return offsetof(struct rte_icmp_hdr, icmp_cksum);
	}
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

/* --- answers --- */

int
ef_pkt_arp_reply(uint8_t *frame, const struct ef_pkt_meta *m,
		 const uint8_t mac[6])
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_arp_hdr *arp;
	struct rte_arp_ipv4 *d;
	uint32_t sip;

	if (m->l3 != EF_PKT_L3_ARP)
		return -EINVAL;
	arp = (struct rte_arp_hdr *)(frame + m->l3_off);
	if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST))
		return -EINVAL;
	d = &arp->arp_data;
	memcpy(&eth->dst_addr, &d->arp_sha, RTE_ETHER_ADDR_LEN);
	memcpy(&eth->src_addr, mac, RTE_ETHER_ADDR_LEN);
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	d->arp_tha = d->arp_sha;
	memcpy(&d->arp_sha, mac, RTE_ETHER_ADDR_LEN);
	sip = d->arp_sip;
	d->arp_sip = d->arp_tip;
	d->arp_tip = sip;
	return 0;
}

uint32_t
ef_pkt_build_arp_request(uint8_t *out, const uint8_t smac[6],
			 uint32_t sip, uint32_t tip)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)out;
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	memcpy(&eth->src_addr, smac, RTE_ETHER_ADDR_LEN);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	memcpy(&arp->arp_data.arp_sha, smac, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_sip = sip;
	memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_tip = tip;
	return RTE_ETHER_HDR_LEN + sizeof(*arp);
}

int
ef_pkt_icmp4_echo_reply(uint8_t *frame, struct ef_pkt_meta *m)
{
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *ih;
	uint16_t ow;
	uint32_t a;
	uint8_t *w;

	if (m->ip_version != 4 || m->proto != IPPROTO_ICMP ||
	    !(m->flags & EF_PKT_F_L4) || (m->flags & EF_PKT_F_FRAG) ||
	    m->icmp_type != RTE_IP_ICMP_ECHO_REQUEST)
		return -EINVAL;
	ip = (struct rte_ipv4_hdr *)(frame + m->l3_off);
	ih = (struct rte_icmp_hdr *)(frame + m->l4_off);

	/* swapping the addresses leaves every sum unchanged */
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	w = (uint8_t *)&ip->time_to_live;
	ow = rd16(w);
	ip->time_to_live = 64;
	ip->hdr_checksum = ef_csum_update16(ip->hdr_checksum, ow, rd16(w));

	/*
	 * Full recomputation, not RFC 1624: an all-zero reply must carry
	 * 0xffff, and eqn. 3 yields 0x0000 there, which receivers reject.
	 * Echo replies are control-rate; the cost does not matter.
	 */
	ih->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ih->icmp_cksum = 0;
	ih->icmp_cksum = (uint16_t)~rte_raw_cksum(ih, m->l4_len);

	a = m->src.v4;
	m->src.v4 = m->dst.v4;
	m->dst.v4 = a;
	m->ttl = 64;
	m->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	return 0;
}

int
ef_pkt_tcp4_rst_reply(uint8_t *frame, struct ef_pkt_meta *m)
{
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint32_t seq, ack, seglen, src, dst;
	uint16_t sport, dport;
	uint8_t fl;

	if (m->ip_version != 4 || m->proto != IPPROTO_TCP ||
	    !(m->flags & EF_PKT_F_L4) || (m->flags & EF_PKT_F_FRAG))
		return -EINVAL;
	ip = (struct rte_ipv4_hdr *)(frame + m->l3_off);
	th = (struct rte_tcp_hdr *)(frame + m->l4_off);
	fl = th->tcp_flags;
	if (fl & RTE_TCP_RST_FLAG)
		return -EINVAL;	/* RFC 793: never answer a reset */

	/* read everything first: the TCP header moves if IP had options */
	seglen = m->l4_len - (uint32_t)(th->data_off >> 4) * 4;
	if (fl & RTE_TCP_SYN_FLAG)
		seglen++;
	if (fl & RTE_TCP_FIN_FLAG)
		seglen++;
	seq = rte_be_to_cpu_32(th->sent_seq);
	ack = rte_be_to_cpu_32(th->recv_ack);
	sport = th->src_port;
	dport = th->dst_port;
	src = ip->src_addr;
	dst = ip->dst_addr;

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = RTE_BE16(IP4_HDR_MIN + TCP_HDR_MIN);
	ip->packet_id = 0;
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = dst;
	ip->dst_addr = src;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	th = (struct rte_tcp_hdr *)(ip + 1);
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
	th->data_off = (TCP_HDR_MIN / 4) << 4;
	th->rx_win = 0;
	th->tcp_urp = 0;
	th->cksum = 0;
	/* fits DPDK's helper now: no options, length from the IP header */
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);

	m->flags &= (uint16_t)~EF_PKT_F_IP_OPTIONS;
	m->l3_len = IP4_HDR_MIN + TCP_HDR_MIN;
	m->l4_off = (uint16_t)(m->l3_off + IP4_HDR_MIN);
	m->l4_len = TCP_HDR_MIN;
	m->ttl = 64;
	m->tcp_flags = th->tcp_flags;
	m->sport = dport;
	m->dport = sport;
	m->src.v4 = dst;
	m->dst.v4 = src;
	return IP4_HDR_MIN + TCP_HDR_MIN;
}

int
ef_pkt_build_icmp4_error(uint8_t *out, uint32_t cap,
			 const uint8_t *orig_l3, uint32_t orig_len,
			 uint8_t type, uint8_t code, uint16_t mtu,
			 uint32_t src)
{
	const struct rte_ipv4_hdr *oip = (const struct rte_ipv4_hdr *)orig_l3;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)out;
	struct rte_icmp_hdr *ih;
	uint32_t ihl, olen, quote, total;
	uint16_t frag;

	if (!icmp4_is_error(type) || orig_len < IP4_HDR_MIN ||
	    (oip->version_ihl >> 4) != 4)
		return -EINVAL;
	ihl = (uint32_t)(oip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
	olen = rte_be_to_cpu_16(oip->total_length);
	if (ihl < IP4_HDR_MIN || ihl > orig_len || olen < ihl)
		return -EINVAL;
	if (olen > orig_len)
		olen = orig_len;	/* quote only what we have */

	/* RFC 1122 3.2.2 / RFC 1812 4.3.2.7: when not to send an error */
	frag = rte_be_to_cpu_16(oip->fragment_offset);
	if ((frag & RTE_IPV4_HDR_OFFSET_MASK) ||
	    ip4_is_bcast_mcast(oip->dst_addr) ||
	    ip4_is_bcast_mcast(oip->src_addr) || oip->src_addr == 0)
		return -EINVAL;
	if (oip->next_proto_id == IPPROTO_ICMP) {
		uint8_t ot;

		if (olen < ihl + 1)
			return -EINVAL;
		ot = orig_l3[ihl];
		if (icmp4_is_error(ot) || ot == ICMP4_SOURCE_QUENCH ||
		    ot == ICMP4_REDIRECT)
			return -EINVAL;
	}

	quote = RTE_MIN(olen, (uint32_t)(ICMP_ERR_MAX - IP4_HDR_MIN -
					 ICMP_HDR_LEN));
	if (cap < IP4_HDR_MIN + ICMP_HDR_LEN)
		return -ENOSPC;
	quote = RTE_MIN(quote, cap - IP4_HDR_MIN - ICMP_HDR_LEN);
	if (quote < RTE_MIN(olen, ihl + ICMP_QUOTE_L4))
		return -ENOSPC;
	total = IP4_HDR_MIN + ICMP_HDR_LEN + quote;

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0xc0;	/* internetwork control, as Linux */
	ip->total_length = rte_cpu_to_be_16((uint16_t)total);
	ip->packet_id = 0;
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = src;
	ip->dst_addr = oip->src_addr;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	ih = (struct rte_icmp_hdr *)(ip + 1);
	ih->icmp_type = type;
	ih->icmp_code = code;
	ih->icmp_ident = 0;
	/* RFC 1191: next-hop MTU in the low half of the unused word */
	ih->icmp_seq_nb = (type == ICMP4_DEST_UNREACH && code == 4) ?
		rte_cpu_to_be_16(mtu) : 0;
	ih->icmp_cksum = 0;
	memcpy(ih + 1, orig_l3, quote);
	ih->icmp_cksum = (uint16_t)~ef_csum_raw(ih, ICMP_HDR_LEN + quote, 0);
	return (int)total;
}
