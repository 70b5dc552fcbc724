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
	X(ICMP_INNER_BAD, "ICMP error quotes a malformed IP header")

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
#define EF_PKT_F_BCAST_SRC	0x0040	/* source MAC or IPv4 source is broadcast/multicast */
#define EF_PKT_F_IP6_EXT	0x0080	/* IPv6 extension headers were walked */

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

#ifdef __cplusplus
}
#endif

#endif /* EF_PKT_H */
