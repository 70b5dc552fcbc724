/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_PKT_H
#define EF_PKT_H

/*
 * Packet parsing into compact metadata, RFC 1624 incremental checksums and
 * in-place rewrites. Works on a contiguous frame (pointer + length) so that
 * it runs without EAL and fuzzes on plain buffers; the worker passes
 * rte_pktmbuf_mtod()/data_len of single-segment mbufs.
 *
 * Everything here is a pure function of its arguments: any thread, no
 * allocation, never reads or writes outside [frame, frame + len).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ef_addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parse errors: each malformed input has its own code (negative). */
#define EF_PKT_FOREACH_ERR(X) \
	X(ETH_TRUNC, "frame shorter than an Ethernet header") \
	X(VLAN_TRUNC, "frame ends inside the 802.1Q tag") \
	X(VLAN_NESTED, "more than one VLAN tag") \
	X(ARP_TRUNC, "ARP shorter than an IPv4-over-Ethernet ARP") \
	X(ARP_FORMAT, "ARP not Ethernet/IPv4") \
	X(IP4_TRUNC, "frame ends inside the IPv4 header") \
	X(IP4_VERSION, "IPv4 ethertype with version != 4") \
	X(IP4_IHL, "IPv4 IHL < 5 or beyond the frame") \
	X(IP4_TOTLEN, "IPv4 total length < IHL or beyond the frame") \
	X(IP6_TRUNC, "frame ends inside the IPv6 header") \
	X(IP6_VERSION, "IPv6 ethertype with version != 6") \
	X(IP6_PLEN, "IPv6 payload length beyond the frame") \
	X(IP6_EXT_TRUNC, "IPv6 extension header beyond the payload") \
	X(IP6_EXT_CHAIN, "IPv6 extension chain too long") \
	X(TCP_TRUNC, "frame ends inside the TCP header") \
	X(TCP_DOFF, "TCP data offset < 5 or beyond the IP payload") \
	X(UDP_TRUNC, "frame ends inside the UDP header") \
	X(UDP_LEN, "UDP length < 8 or beyond the IP payload") \
	X(ICMP_TRUNC, "frame ends inside the ICMP header") \
	X(ICMP_INNER_TRUNC, "ICMP error quotes less than an IP header + 8 bytes") \
	X(ICMP_INNER_BAD, "ICMP error quotes a malformed IP header") \
	X(IP6_FRAG_TRUNC, "frame ends inside the IPv6 fragment header") \
	X(IP6_EXT_LEN, "IPv6 extension headers longer than 256 bytes") \
	X(IP6_HBH_POS, "IPv6 hop-by-hop header not first")

enum ef_pkt_err {
	EF_PKT_OK = 0,
#define EF_PKT_ERR_ENUM(name, text) EF_PKT_ERR_##name,
	EF_PKT_ERR_FIRST_ = -100,	/* codes are -99, -98, ... */
	EF_PKT_FOREACH_ERR(EF_PKT_ERR_ENUM)
#undef EF_PKT_ERR_ENUM
	EF_PKT_ERR_END_,
};

/* Text for a code from ef_pkt_parse() (0 included). */
const char *ef_pkt_strerror(int code);

/* ef_pkt_meta.flags */
#define EF_PKT_F_VLAN		0x0001
#define EF_PKT_F_IP_OPTIONS	0x0002	/* IPv4 IHL > 5 */
#define EF_PKT_F_FRAG		0x0004	/* any fragment (MF or offset) */
#define EF_PKT_F_FRAG_FIRST	0x0008	/* offset 0 with MF: has L4 header */
#define EF_PKT_F_ICMP_ERROR	0x0010	/* inner_* fields are valid */
#define EF_PKT_F_L4		0x0020	/* sport/dport (or ICMP id) valid */
#define EF_PKT_F_BCAST_SRC	0x0040	/* source MAC or IP source is broadcast/multicast */
#define EF_PKT_F_IP6_EXT	0x0080	/* IPv6 extension headers were walked */
#define EF_PKT_F_IP6_ROUTING	0x0100	/* a routing header with segments
					 * left: the destination is a waypoint */

/* l3 values (host-order ethertypes we handle; anything else is OTHER) */
#define EF_PKT_L3_OTHER 0
#define EF_PKT_L3_ARP 0x0806
#define EF_PKT_L3_IPV4 0x0800
#define EF_PKT_L3_IPV6 0x86dd

/*
 * Metadata of one frame. Offsets are from the start of the frame. Ports
 * and the ICMP id are in network byte order, as in the packet, so keys and
 * rewrites need no swaps. For ICMP echo request/reply, sport = dport = id.
 */
struct ef_pkt_meta {
	uint16_t l3;		/* EF_PKT_L3_* */
	uint16_t flags;		/* EF_PKT_F_* */
	uint16_t l3_off;
	uint16_t l4_off;	/* 0 when there is no L4 header */
	uint16_t l3_len;	/* IPv4 total length, IPv6 40 + payload length */
	uint16_t l4_len;	/* L4 header + payload per the IP length */
	uint16_t vlan_tci;	/* host order, valid with EF_PKT_F_VLAN */
	uint8_t ip_version;	/* 4, 6, 0 */
	uint8_t proto;		/* L4 protocol (after IPv6 extensions) */
	uint8_t ttl;		/* IPv4 TTL / IPv6 hop limit */
	uint8_t tcp_flags;	/* TCP only */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint16_t sport;
	uint16_t dport;
	struct ef_addr src;
	struct ef_addr dst;
	/* The packet quoted by an ICMP/ICMPv6 error (EF_PKT_F_ICMP_ERROR) */
	uint16_t inner_l3_off;
	uint16_t inner_l4_off;
	uint8_t inner_proto;
	uint16_t inner_sport;
	uint16_t inner_dport;
	struct ef_addr inner_src;
	struct ef_addr inner_dst;
};

/*
 * Parse frame[0, len). Returns EF_PKT_OK (0) and fills *m, or a negative
 * EF_PKT_ERR_* code (m is then partly filled and must not be used).
 * Non-IP, non-ARP ethertypes parse OK with l3 = EF_PKT_L3_OTHER.
 */
int ef_pkt_parse(const uint8_t *frame, uint32_t len, struct ef_pkt_meta *m);

/*
 * true when m has the ports (or ICMP echo id) of a complete L4 header: the
 * case the worker's flow lookup handles. Any thread.
 */
static inline bool
ef_pkt_has_ports(const struct ef_pkt_meta *m)
{
	return (m->flags & EF_PKT_F_L4) != 0;
}

/* Pointer to the L4 header of a parsed frame, NULL without one. Any thread. */
static inline uint8_t *
ef_pkt_l4_hdr(uint8_t *frame, const struct ef_pkt_meta *m)
{
	return m->l4_off != 0 ? frame + m->l4_off : NULL;
}

/* --- checksums (RFC 1071 sums, RFC 1624 incremental updates) --- */

/* Ones'-complement sum of buf, folded to 16 bits, not complemented. */
uint16_t ef_csum_raw(const void *buf, size_t len, uint32_t initial);

/*
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). 'csum' is the checksum field as
 * stored (network order), old/new the changed 16-bit word (network order).
 */
static inline uint16_t
ef_csum_update16(uint16_t csum, uint16_t old_w, uint16_t new_w)
{
	uint32_t s = (uint16_t)~csum;

	s += (uint16_t)~old_w;
	s += new_w;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Same for a changed 32-bit field (an IPv4 address), network order. */
static inline uint16_t
ef_csum_update32(uint16_t csum, uint32_t old_v, uint32_t new_v)
{
	csum = ef_csum_update16(csum, (uint16_t)old_v, (uint16_t)new_v);
	return ef_csum_update16(csum, (uint16_t)(old_v >> 16),
				(uint16_t)(new_v >> 16));
}

/* true when the IPv4 header checksum of a parsed frame is right. */
bool ef_pkt_ip4_csum_ok(const uint8_t *frame, const struct ef_pkt_meta *m);

/*
 * true when the TCP/UDP/ICMP checksum of a parsed, unfragmented frame is
 * right (UDP zero checksum over IPv4 counts as right).
 */
bool ef_pkt_l4_csum_ok(const uint8_t *frame, const struct ef_pkt_meta *m);

/* Recompute IPv4 header and L4 checksums from scratch (builders use it). */
void ef_pkt_fill_csums4(uint8_t *frame, const struct ef_pkt_meta *m);

/* --- rewrites (IPv4; the frame must have parsed with m) --- */

/*
 * Replace source address/port and destination address/port (network order)
 * and fix the IPv4 header checksum and the TCP/UDP/ICMP checksum
 * incrementally. A UDP checksum of zero stays zero. Non-first fragments get
 * only the L3 rewrite; a first fragment's L4 checksum is still updated (the
 * sum over the whole datagram moves by the same amount).
 *
 * ICMP echo: the id is the flow's "port" on the side that owns it, the way
 * ef_pkt_parse() keys it (sport = dport = id): a request (type 8) takes
 * sport as its new id, a reply (type 0) takes dport; the other port is
 * ignored. So a request C->VIP id X SNAT'd to id P comes back as a reply
 * with id P, and the reverse rewrite passes dport = X.
 *
 * Updates m. Any thread (pure function of its arguments).
 */
void ef_pkt_nat4(uint8_t *frame, struct ef_pkt_meta *m,
		 uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport);

/*
 * Translate an ICMP error (EF_PKT_F_ICMP_ERROR) for a NAT'd flow: set the
 * outer source/destination, and the quoted packet's source/destination
 * address and ports, fixing the quoted IPv4 checksum, the quoted UDP checksum
 * when it is quoted, and the ICMP checksum. Updates m.
 */
void ef_pkt_nat4_icmp_error(uint8_t *frame, struct ef_pkt_meta *m,
			    uint32_t outer_src, uint32_t outer_dst,
			    uint32_t inner_src, uint16_t inner_sport,
			    uint32_t inner_dst, uint16_t inner_dport);

/* Decrement the IPv4 TTL with an incremental checksum update. */
void ef_pkt_ttl_dec4(uint8_t *frame, struct ef_pkt_meta *m);

/* --- answers built in place or into a buffer --- */

/*
 * Turn an ARP request for 'mac' into the reply in place (swap, opcode 2,
 * our MAC as sender). Returns 0, or -EINVAL if the frame is not a request.
 */
int ef_pkt_arp_reply(uint8_t *frame, const struct ef_pkt_meta *m,
		     const uint8_t mac[6]);

/*
 * Build an Ethernet ARP request (or gratuitous ARP when target == sender)
 * into out (>= 42 bytes, no VLAN). Returns the length.
 */
uint32_t ef_pkt_build_arp_request(uint8_t *out, const uint8_t smac[6],
				  uint32_t sip, uint32_t tip);

/* Turn an ICMP echo request into the reply in place (swap IPs, type 0,
 * checksum updated, TTL reset to 64). Returns 0 or -EINVAL. MACs are the
 * caller's. */
int ef_pkt_icmp4_echo_reply(uint8_t *frame, struct ef_pkt_meta *m);

/*
 * Turn a TCP segment into the RST that answers it in place (RFC 793: ACK of
 * a segment without ACK gets RST|ACK seq 0 ack = seq + len (+SYN,+FIN);
 * otherwise RST seq = their ack), addresses and ports swapped, payload
 * and options dropped; 'len' of the new L3 packet is returned (the caller
 * trims the mbuf to l3_off + return value). Returns < 0 on error.
 */
int ef_pkt_tcp4_rst_reply(uint8_t *frame, struct ef_pkt_meta *m);

/*
 * Build the IPv4 packet (no Ethernet header) of an ICMP error about the
 * packet at orig_l3 (orig_len bytes): quotes its IP header + up to 'quote'
 * bytes (RFC 1812: as much as fits in 576 total), type/code, and for
 * type 3 code 4 the next-hop MTU. src is the error's source address. The
 * destination is the original source. Returns the length written into
 * out (cap bytes), or < 0.
 */
int ef_pkt_build_icmp4_error(uint8_t *out, uint32_t cap,
			     const uint8_t *orig_l3, uint32_t orig_len,
			     uint8_t type, uint8_t code, uint16_t mtu,
			     uint32_t src);

/* --- IPv6 (pkt_ip6.c) --- */

/*
 * Walk the extension chain (hop-by-hop first only, routing, destination
 * options, fragment; at most 8 headers and 256 bytes of them) of the IPv6
 * packet at ip6, of which avail bytes are present. Returns 0 with the
 * upper-layer protocol, its offset from ip6 (0 for a non-first fragment:
 * no L4 header) and EF_PKT_F_FRAG / EF_PKT_F_FRAG_FIRST /
 * EF_PKT_F_IP6_ROUTING in *frag, or a
 * negative EF_PKT_ERR_IP6_* code. Any thread.
 */
int ef_pkt_ip6_upper(const uint8_t *ip6, uint32_t avail, uint8_t *proto,
		     uint32_t *l4_off, uint16_t *frag);

/* Same as ef_csum_update32 for a changed IPv6 address (16 bytes). */
static inline uint16_t
ef_csum_update_addr6(uint16_t csum, const uint8_t old_a[16],
		     const uint8_t new_a[16])
{
	uint64_t s = (uint16_t)~csum;

	/* 32-bit words: 2^16 = 1 modulo 0xffff, so a word's two halves
	 * fold into the 16-bit sum as if added apart (RFC 1071 2(B)) */
	for (unsigned int i = 0; i < 16; i += 4) {
		uint32_t o, n;

		__builtin_memcpy(&o, old_a + i, 4);
		__builtin_memcpy(&n, new_a + i, 4);
		s += (uint32_t)~o;
		s += n;
	}
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * Recompute the TCP/UDP/ICMPv6 checksum (pseudo-header with the protocol
 * after the extension chain) of a parsed, unfragmented IPv6 frame from
 * scratch (builders and tests use it). ef_pkt_l4_csum_ok() verifies.
 */
void ef_pkt_fill_csums6(uint8_t *frame, const struct ef_pkt_meta *m);

/*
 * ef_pkt_nat4 for IPv6: new addresses and ports (or ICMPv6 echo id, same
 * rule as ef_pkt_nat4), the L4 checksum updated incrementally for all of
 * them (IPv6 has no header checksum; ICMPv6 sums the pseudo-header, unlike
 * ICMP). A UDP checksum of zero (invalid over IPv6) stays zero. Non-first
 * fragments get only the address rewrite. Updates m. Any thread.
 */
void ef_pkt_nat6(uint8_t *frame, struct ef_pkt_meta *m, const uint8_t src[16],
		 uint16_t sport, const uint8_t dst[16], uint16_t dport);

/*
 * Turn an ICMPv6 echo request to a unicast address into the reply in
 * place (addresses swapped, type 129, hop limit 64, checksum recomputed).
 * Returns 0 or -EINVAL. MACs are the caller's.
 */
int ef_pkt_icmp6_echo_reply(uint8_t *frame, struct ef_pkt_meta *m);

/*
 * ef_pkt_tcp4_rst_reply for IPv6: the RST answering a TCP segment, in
 * place, without the extension chain the segment had (40-byte header, hop
 * limit 64). Returns the new L3 length (the caller trims the mbuf to
 * l3_off + it) or -EINVAL (not TCP, an RST, a fragment, to a group).
 */
int ef_pkt_tcp6_rst_reply(uint8_t *frame, struct ef_pkt_meta *m);

/*
 * ef_pkt_nat4_icmp_error for IPv6: an ICMPv6 error quoting a NAT'd flow's
 * packet gets the outer addresses, the quoted addresses and ports (echo:
 * the id) given, the quoted TCP/UDP/ICMPv6 checksum updated when it is
 * quoted (a zero UDP one stays zero) and the error's checksum summed
 * again over its pseudo-header. Updates m. Any thread.
 */
void ef_pkt_nat6_icmp_error(uint8_t *frame, struct ef_pkt_meta *m,
			    const uint8_t outer_src[16],
			    const uint8_t outer_dst[16],
			    const uint8_t inner_src[16], uint16_t inner_sport,
			    const uint8_t inner_dst[16], uint16_t inner_dport);

/* Decrement the hop limit of a parsed IPv6 frame (the caller checked it
 * is above 1). No checksum changes. Any thread. */
void ef_pkt_hop_dec6(uint8_t *frame, struct ef_pkt_meta *m);

/* ICMPv6 types of Neighbor Discovery (RFC 4861 4.3, 4.4) */
#define EF_PKT_ND_NS 135
#define EF_PKT_ND_NA 136
/* NA flags (the first byte after the checksum) */
#define EF_PKT_NA_F_ROUTER	0x80
#define EF_PKT_NA_F_SOLICITED	0x40
#define EF_PKT_NA_F_OVERRIDE	0x20

/* The solicited-node group of target: ff02::1:ff00:0/104 with the
 * target's low 24 bits (RFC 4291 2.7.1). Any thread. */
void ef_addr6_solicited_node(const uint8_t target[16], uint8_t out[16]);

/*
 * Build an Ethernet NS for target from src (an address of ours on the
 * link) to its solicited-node group (MAC 33:33:ff:..), hop limit 255, with
 * the source link-layer option: 86 bytes into out, returned. Any thread.
 */
uint32_t ef_pkt_build_ndp_ns(uint8_t *out, const uint8_t smac[6],
			     const uint8_t src[16], const uint8_t target[16]);

/*
 * Build an Ethernet NA (86 bytes, returned) for target with the target
 * link-layer option (smac), flags EF_PKT_NA_F_*: solicited answers an NS
 * (dst = its source; ff02::1 when that was ::), override for our own
 * addresses, router never (edgefwd sends no RAs). Any thread.
 */
uint32_t ef_pkt_build_ndp_na(uint8_t *out, const uint8_t smac[6],
			     const uint8_t dmac[6], const uint8_t src[16],
			     const uint8_t dst[16], const uint8_t target[16],
			     uint8_t flags);

/* What ef_pkt_ndp_parse() reads from an NS or NA. */
struct ef_pkt_ndp {
	uint8_t type;		/* EF_PKT_ND_NS or EF_PKT_ND_NA */
	uint8_t flags;		/* NA: EF_PKT_NA_F_* */
	bool has_lladdr;	/* NS: source, NA: target link-layer option */
	uint8_t lladdr[6];
	uint8_t target[16];
};

/*
 * Validate an NS or NA per RFC 4861 7.1.1/7.1.2 (hop limit 255, code 0,
 * checksum, length, non-multicast target, options of non-zero length, no
 * SLLA from ::, no solicited NA to a group) and read it. Returns 0 or
 * -EINVAL. Any thread.
 */
int ef_pkt_ndp_parse(const uint8_t *frame, const struct ef_pkt_meta *m,
		     struct ef_pkt_ndp *nd);

/*
 * Build the IPv6 packet (no Ethernet header) of an ICMPv6 error (types
 * 1..4) about the packet at orig_l3 (orig_len bytes, not overlapping out):
 * quotes as much of it as fits in 1280 bytes (RFC 4443 2.4(c)), and param
 * as the MTU (type 2) or pointer (type 4). Refuses (-EINVAL) what RFC 4443
 * 2.4(e) forbids: errors about ICMPv6 errors, about packets to a group
 * (but packet too big), from a group or ::. Returns the length written
 * into out (cap bytes), -EINVAL or -ENOSPC. Any thread.
 */
int ef_pkt_build_icmp6_error(uint8_t *out, uint32_t cap,
			     const uint8_t *orig_l3, uint32_t orig_len,
			     uint8_t type, uint8_t code, uint32_t param,
			     const uint8_t src[16]);

#ifdef __cplusplus
}
#endif

#endif /* EF_PKT_H */
