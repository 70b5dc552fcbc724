/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_EDGE_H
#define EF_EDGE_H

/*
 * Edge director: the pieces an edge edgefwd (mode = "edge", CONFIG.md
 * "Additions (second wave)") needs to send each client flow, unchanged, to
 * one Kubernetes node, and that a node-mode edgefwd needs to take such
 * traffic back out of its tunnel.
 *
 *   encapsulation   ef_edge_encap(): IPIP, GUE (RFC-draft GUE v0 over
 *                   UDP) or l2 (MAC rewrite only, IPVS DR style)
 *   decapsulation   ef_edge_decap(): IPIP / GUE addressed to us, only from
 *                   the decap.sources prefixes
 *   MTU             ef_edge_mss_clamp(), ef_edge_fit(), ef_edge_fragment()
 *   node choice     ef_edge_node_weight(), ef_edge_lb_build() (weighted
 *                   Maglev over nodes), ef_edge_lb_pick()
 *   flow table      ef_edge_flows_*(): one direction, client tuple -> node,
 *                   per worker, and ef_edge_steer() which ties it to the
 *                   Maglev table
 *
 * Thread safety, per call (STYLE.md):
 *  - encap, decap, MSS clamp, fit, flow key/hash, weight: pure functions of
 *    their arguments and the mbuf they are given; any thread. The decap
 *    source set (struct ef_edge_decap_cfg) and the node table (struct
 *    ef_edge_lb) are immutable once built: built by the control lcore,
 *    published with a release store, read by any number of workers, freed
 *    after an RCU grace period (the caller's rte_rcu_qsbr).
 *  - ef_edge_fragment() allocates from the caller's mempool (lockless per
 *    lcore cache): worker lcore, on the slow branch only.
 *  - struct ef_edge_flows: one per worker lcore, created and freed by the
 *    control lcore while that worker is not running; every other call on
 *    it is the owning worker's alone (no locks, no atomics). Statistics
 *    may be read by other threads tolerating torn 64-bit values.
 *
 * Byte order: addresses and ports are network order, as in the packet,
 * unless a parameter says "host order".
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "ef_pkt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Forwarding methods and their overhead                               */
/* ------------------------------------------------------------------ */

#define EF_EDGE_FOREACH_FWD(X) \
	X(IPIP, "ipip") \
	X(GUE, "gue") \
	X(L2, "l2")

enum ef_edge_fwd {
#define EF_EDGE_FWD_ENUM(e, s) EF_EDGE_FWD_##e,
	EF_EDGE_FOREACH_FWD(EF_EDGE_FWD_ENUM)
#undef EF_EDGE_FWD_ENUM
	EF_EDGE_FWD_MAX
};

/* Bytes each method adds in front of the inner packet, outer IPv4. */
#define EF_EDGE_IPIP_OVERHEAD 20u	/* outer IPv4 */
#define EF_EDGE_GUE_HDR_LEN 4u		/* GUE v0 base header, no options */
#define EF_EDGE_GUE_OVERHEAD (20u + 8u + EF_EDGE_GUE_HDR_LEN)	/* 32 */
/* The same with an outer IPv6 header (a node reached at an IPv6
 * address): ip6ip6 / IPv4-in-IPv6 (RFC 2473) and GUE over IPv6. */
#define EF_EDGE_IPIP6_OVERHEAD 40u	/* outer IPv6 */
#define EF_EDGE_GUE6_OVERHEAD (40u + 8u + EF_EDGE_GUE_HDR_LEN)	/* 52 */
/*
 * The `fwd` argument of the MTU helpers below is a method, or'ed with
 * EF_EDGE_OUTER6 when the outer header is IPv6 (the node's address is
 * IPv6): the overhead, and so the inner MTU, MSS and fit, follow.
 */
#define EF_EDGE_OUTER6 0x100u
#define EF_EDGE_FWD_OF(fwd) ((fwd) & 0xffu)
/* Outer UDP source ports of GUE: the RFC 6335 dynamic range 49152-65535,
 * 14 bits of the flow hash (NIC RSS at the node spreads on them). */
#define EF_EDGE_GUE_SPORT_BASE 0xc000u
#define EF_EDGE_GUE_SPORT_MASK 0x3fffu
/* Outer TTL, as Linux tunnels without "ttl inherit" use by default. */
#define EF_EDGE_OUTER_TTL 64u
/* IPv4 TCP MSS when a SYN carries no option (RFC 879, RFC 1122 4.2.2.6). */
#define EF_EDGE_DEFAULT_MSS 536u

/* "ipip", "gue", "l2" -> enum; -EINVAL for anything else. Any thread. */
int ef_edge_fwd_parse(const char *text);

/* Name of a method ("ipip", ...), "?" when out of range. Any thread. */
const char *ef_edge_fwd_name(unsigned int fwd);

/* Overhead in bytes of a method (20, 32, 0; with EF_EDGE_OUTER6: 40,
 * 52, 0); 0 when out of range. Any thread. (The MTU helpers are inline:
 * the edge's per-packet path calls them on every packet.) */
static inline uint32_t
ef_edge_overhead(unsigned int fwd)
{
	unsigned int f = EF_EDGE_FWD_OF(fwd);

	if (fwd & EF_EDGE_OUTER6)
		return f == EF_EDGE_FWD_IPIP ? EF_EDGE_IPIP6_OVERHEAD :
			f == EF_EDGE_FWD_GUE ? EF_EDGE_GUE6_OVERHEAD : 0;
	return f == EF_EDGE_FWD_IPIP ? EF_EDGE_IPIP_OVERHEAD :
		f == EF_EDGE_FWD_GUE ? EF_EDGE_GUE_OVERHEAD : 0;
}

/*
 * Largest inner IPv4 packet that leaves an interface of IP MTU egress_mtu
 * unfragmented when sent with fwd: egress_mtu - overhead (0 when the
 * overhead does not fit). Any thread.
 */
static inline uint32_t
ef_edge_inner_mtu(uint32_t egress_mtu, unsigned int fwd)
{
	uint32_t o = ef_edge_overhead(fwd);

	return egress_mtu > o ? egress_mtu - o : 0;
}

/* TCP MSS that fits: inner MTU - 40 (IPv4 + TCP headers, no options);
 * 0 when nothing fits. Any thread. */
static inline uint32_t
ef_edge_max_mss(uint32_t egress_mtu, unsigned int fwd)
{
	uint32_t mtu = ef_edge_inner_mtu(egress_mtu, fwd);

	return mtu > 20u + 20u ? mtu - 20u - 20u : 0;	/* IPv4 + TCP */
}

/* The same for an inner IPv6 packet: inner MTU - 60 (IPv6 + TCP
 * headers); 0 when nothing fits. The outer family (EF_EDGE_OUTER6) is
 * the node address's whatever the inner one (docs/EDGE.md "IPv6").
 * Any thread. */
static inline uint32_t
ef_edge_max_mss6(uint32_t egress_mtu, unsigned int fwd)
{
	uint32_t mtu = ef_edge_inner_mtu(egress_mtu, fwd);

	return mtu > 40u + 20u ? mtu - 40u - 20u : 0;	/* IPv6 + TCP */
}

/* ------------------------------------------------------------------ */
/* Encapsulation                                                       */
/* ------------------------------------------------------------------ */

#define EF_EDGE_FOREACH_ENCAP_RC(X) \
	X(OK, "ok") \
	X(NOT_IPV4, "encap_not_ipv4") \
	X(NO_HEADROOM, "encap_no_headroom") \
	X(BAD_METHOD, "encap_bad_method")

enum ef_edge_encap_rc {
#define EF_EDGE_ENCAP_ENUM(e, s) EF_EDGE_ENCAP_##e,
	EF_EDGE_FOREACH_ENCAP_RC(EF_EDGE_ENCAP_ENUM)
#undef EF_EDGE_ENCAP_ENUM
	EF_EDGE_ENCAP_RC_MAX
};

/* Counter name of an encap result. Any thread. */
const char *ef_edge_encap_rc_name(unsigned int rc);

/* Where and how to send: one per (service, node) or per packet. */
struct ef_edge_tunnel {
	uint8_t fwd;		/* enum ef_edge_fwd */
	uint8_t frag_ok;	/* IPv6 inner only: outer DF clear (see below) */
	uint16_t gue_port;	/* GUE destination port, network order */
	uint32_t src;		/* outer source: our egress interface address */
	uint32_t dst;		/* outer destination: the node address */
	uint8_t smac[6];	/* our egress MAC */
	uint8_t dmac[6];	/* next hop's MAC (the node's, for l2) */
	uint8_t outer6;		/* 1: outer IPv6 from src6 to dst6 instead */
	uint8_t src6[16];
	uint8_t dst6[16];
};

/*
 * Encapsulate the frame in m (Ethernet without VLAN + IPv4 or IPv6; the
 * IP header in the first segment) toward t->dst and write the Ethernet
 * addresses t->smac / t->dmac. The inner packet is not modified (DSR: the
 * node sees client -> VIP); Ethernet padding after the inner packet is
 * trimmed.
 *
 * IPIP: outer IPv4, protocol 4. GUE: outer IPv4 + UDP (source port
 * EF_EDGE_GUE_SPORT_BASE | (folded flow_hash & EF_EDGE_GUE_SPORT_MASK),
 * destination t->gue_port, checksum 0 (RFC 768 allows it over IPv4; the
 * inner packet carries its own checksums, as Linux fou and Katran do)) +
 * GUE v0 header {0, 4, 0, 0} (C = 0, hlen = 0, proto 4). Outer header:
 * TOS copied from the inner packet, DF copied, TTL EF_EDGE_OUTER_TTL,
 * ID per RFC 6864: 0 when DF is set (atomic datagram), otherwise the next
 * value of *ip_id (the worker's counter, post-incremented), so that a
 * non-DF outer packet, which may be fragmented, has a unique ID; header
 * checksum computed. l2: only the MACs change.
 *
 * An IPv6 inner packet (40-byte header + payload length; extension
 * headers are payload) goes in the same IPv4 outer header: IPIP becomes
 * IPv6-in-IPv4 (protocol 41, RFC 4213 "6in4", what Linux sit takes), GUE
 * carries proto 41. The outer TOS is the inner traffic class; the outer
 * DF is set (IPv6 routers never fragment, so neither does the tunnel:
 * a packet beyond the inner MTU is answered with packet-too-big,
 * ef_edge_fit6) unless t->frag_ok, which the caller sets when the inner
 * MTU is below IPv6's 1280 and the outer packet must be fragmented
 * instead (RFC 4213 3.2); then the ID is the next *ip_id.
 *
 * With t->outer6 the outer header is IPv6 from t->src6 to t->dst6
 * (RFC 2473): next header 4 (IPv4 inner) or 41 (ip6ip6), or UDP for GUE;
 * traffic class the inner TOS / traffic class, flow label 20 bits of the
 * flow hash (RFC 6438: routers between spread on it, never 0), hop limit
 * EF_EDGE_OUTER_TTL, no extension header. GUE over IPv6 carries a full
 * UDP checksum (RFC 8200 8.1: zero is refused by receivers, Linux and
 * edgefwd's decap alike). Never fragmented: t->frag_ok is ignored, the
 * caller fits the inner packet first (docs/EDGE.md "IPv6").
 *
 * Returns EF_EDGE_ENCAP_OK, or NOT_IPV4 (not Ethernet + a whole IPv4 or
 * IPv6 header / inner length beyond the frame), NO_HEADROOM (prepend
 * failed: the mbuf is unchanged), BAD_METHOD. The mbuf is never freed.
 * Any thread (the caller's own ip_id counter).
 */
int ef_edge_encap(struct rte_mbuf *m, const struct ef_edge_tunnel *t,
		  uint32_t flow_hash, uint16_t *ip_id);

/* GUE outer source port (network order) for a flow hash. Any thread. */
uint16_t ef_edge_gue_sport(uint32_t flow_hash);

/* ------------------------------------------------------------------ */
/* Too big                                                             */
/* ------------------------------------------------------------------ */

enum ef_edge_fit {
	EF_EDGE_FIT_OK = 0,	/* send as is */
	EF_EDGE_FIT_FRAG_NEEDED,	/* DF: answer ICMP 3/4, mtu = inner MTU */
	EF_EDGE_FIT_FRAGMENT,	/* no DF: encapsulate, then ef_edge_fragment() */
	EF_EDGE_FIT_DROP,	/* nothing fits (MTU below overhead + 68) */
};

/*
 * With an IPv6 outer header (EF_EDGE_OUTER6) nothing is fragmented after
 * encapsulation: a non-DF inner IPv4 packet that does not fit gets
 * FRAGMENT as with IPv4, and the caller splits the INNER packet
 * (ef_edge_fragment() of the frame before ef_edge_encap(), as any IPv4
 * router on the path would), then encapsulates each piece; an inner IPv6
 * packet that does not fit in an inner MTU below 1280 is DROP (an
 * underlay MTU below 1320, 1332 with GUE, cannot carry IPv6 without
 * outer IPv6 fragments, which edgefwd's decap refuses).
 */

/*
 * Decision for an inner IPv4 packet of inner_len bytes (its total length)
 * with DF df, sent with fwd on an interface of IP MTU egress_mtu.
 *
 * Non-DF packets that do not fit: the OUTER packet is fragmented
 * (ef_edge_fragment), as Linux ip_tunnel does (it clears the outer DF of
 * a non-DF inner packet and lets ip_fragment split the tunnel packet).
 * The sender said fragmenting is fine and will never learn a smaller
 * MTU, so dropping (counted encap_too_big) would black-hole exactly the
 * traffic that asked not to be: large non-DF UDP (DNS over UDP, many
 * games, IPsec NAT-T) from clients on 1500-byte paths. The node
 * reassembles the outer packet (Linux does so before ipip/fou decap; a
 * proxy-mode edgefwd node does not reassemble: its decap counts the
 * fragments malformed). The inner MTU returned for FRAG_NEEDED is
 * ef_edge_inner_mtu(). DROP, and a FRAGMENT whose ef_edge_fragment()
 * fails, are what the caller counts as encap_too_big. Any thread.
 */
static inline enum ef_edge_fit
ef_edge_fit(uint32_t inner_len, bool df, uint32_t egress_mtu, unsigned int fwd)
{
	uint32_t mtu = ef_edge_inner_mtu(egress_mtu, fwd);

	if (inner_len <= mtu)
		return EF_EDGE_FIT_OK;
	if (df)
		/* an ICMP MTU below 68 would be ignored (RFC 1191) */
		return mtu >= 68u ? EF_EDGE_FIT_FRAG_NEEDED : EF_EDGE_FIT_DROP;
	return egress_mtu >= 68u ? EF_EDGE_FIT_FRAGMENT : EF_EDGE_FIT_DROP;
}

/* Minimum IPv6 link MTU (RFC 8200 5). */
#define EF_EDGE_IPV6_MIN_MTU 1280u

/*
 * The same decision for an inner IPv6 packet of inner_len bytes (40 +
 * payload length). IPv6 has no DF: every packet beyond the inner MTU is
 * answered with ICMPv6 packet-too-big (FRAG_NEEDED) carrying the inner
 * MTU, as long as that is at least 1280; below 1280 no IPv6 sender can
 * go smaller, so the tunnel fragments the outer IPv4 packet
 * (FRAGMENT, RFC 4213 3.2: encapsulate with t.frag_ok, then
 * ef_edge_fragment). DROP when not even that fits. Any thread.
 */
static inline enum ef_edge_fit
ef_edge_fit6(uint32_t inner_len, uint32_t egress_mtu, unsigned int fwd)
{
	uint32_t mtu = ef_edge_inner_mtu(egress_mtu, fwd);

	if (inner_len <= mtu)
		return EF_EDGE_FIT_OK;
	if (mtu >= EF_EDGE_IPV6_MIN_MTU)
		return EF_EDGE_FIT_FRAG_NEEDED;
	/* l2 has no outer header to fragment, an outer IPv6 one is not */
	return EF_EDGE_FWD_OF(fwd) != EF_EDGE_FWD_L2 &&
		!(fwd & EF_EDGE_OUTER6) && egress_mtu >= 68u ?
		EF_EDGE_FIT_FRAGMENT : EF_EDGE_FIT_DROP;
}

/*
 * Fragment an encapsulated frame m (Ethernet + outer IPv4, single
 * segment, as ef_edge_encap() leaves it; outer DF clear) into frames whose
 * IPv4 packets are at most mtu bytes: each fragment is a new single-segment
 * mbuf from pool (rte_ipv4_fragment_copy_nonseg_packet) with m's Ethernet
 * header, the outer header's ID, and a correct header checksum. On success
 * m is freed, out[0..n) hold the fragments and n is returned; on failure
 * (-ENOMEM: pool empty, -EINVAL: m is not such a frame or DF is set,
 * -ENOSPC: more than max_out fragments) m is left to the caller and out is
 * empty. Worker lcore (mempool cache).
 */
int ef_edge_fragment(struct rte_mbuf *m, uint16_t mtu,
		     struct rte_mempool *pool, struct rte_mbuf **out,
		     uint16_t max_out);

/* ------------------------------------------------------------------ */
/* MSS clamp                                                           */
/* ------------------------------------------------------------------ */

enum ef_edge_mss {
	EF_EDGE_MSS_NOT_SYN = 0,	/* not a TCP SYN / SYN-ACK: untouched */
	EF_EDGE_MSS_NO_OPTION,	/* SYN without MSS option: untouched */
	EF_EDGE_MSS_UNCHANGED,	/* MSS already <= the limit */
	EF_EDGE_MSS_CLAMPED,	/* lowered: count mss_clamped */
	EF_EDGE_MSS_MALFORMED,	/* options unparseable before an MSS: untouched */
};

/*
 * Lower the MSS option of a TCP SYN or SYN-ACK (parsed frame, IPv4 or
 * IPv6, unfragmented; the checksum update does not involve the
 * pseudo-header, so it is the same for both) to max_mss when it is larger, updating the TCP checksum
 * incrementally (RFC 1624; an option at an odd offset is handled). The
 * option walk is bounded by the data offset and by the IP payload: an
 * option whose length is < 2 or runs past the header ends the walk
 * (MALFORMED, nothing written); a malformed MSS option (length != 4) is
 * ignored. A SYN without the option is left alone: its peer then assumes
 * EF_EDGE_DEFAULT_MSS (536), which fits any egress MTU of 608 bytes and
 * more even with GUE, and inserting an option would shift the payload of
 * a SYN that carries data (TFO). Any thread.
 */
enum ef_edge_mss ef_edge_mss_clamp(uint8_t *frame, const struct ef_pkt_meta *m,
				   uint16_t max_mss);

/* ------------------------------------------------------------------ */
/* Decapsulation (proxy-mode nodes)                                    */
/* ------------------------------------------------------------------ */

#define EF_EDGE_FOREACH_DECAP_RC(X) \
	X(OK, "ok") \
	X(NOT_ENCAP, "not_encap") \
	X(DENIED, "decap_denied") \
	X(FRAGMENT, "decap_fragment") \
	X(TRUNC, "decap_truncated") \
	X(BAD_CHECKSUM, "decap_bad_checksum") \
	X(GUE_VERSION, "decap_gue_version") \
	X(GUE_CONTROL, "decap_gue_control") \
	X(GUE_OPTIONS, "decap_gue_options") \
	X(INNER_NOT_IPV4, "decap_inner_not_ipv4") \
	X(INNER_LEN, "decap_inner_length")

enum ef_edge_decap_rc {
#define EF_EDGE_DECAP_ENUM(e, s) EF_EDGE_DECAP_##e,
	EF_EDGE_FOREACH_DECAP_RC(EF_EDGE_DECAP_ENUM)
#undef EF_EDGE_DECAP_ENUM
	EF_EDGE_DECAP_RC_MAX
};

/* Counter name of a decap result ("decap_denied", ...). Any thread. */
const char *ef_edge_decap_rc_name(unsigned int rc);

/* Most decap.sources prefixes. */
#define EF_EDGE_DECAP_MAX_SOURCES 256u

struct ef_edge_prefix {
	uint32_t addr;		/* IPv4, network order; host bits ignored */
	uint8_t len;		/* 0 .. 32 (IPv6: 0 .. 128) */
	uint8_t family;		/* 0 or EF_AF_INET4: addr; EF_AF_INET6: addr6 */
	uint8_t addr6[16];	/* IPv6; host bits ignored */
};

struct ef_edge_decap_cfg;

/*
 * Build the decap settings: the allowed outer sources, IPv4 and IPv6
 * (each family merged into disjoint sorted address ranges, see decap.c
 * for why not rte_lpm / rte_lpm6) and the GUE port (host order). Returns
 * NULL and sets rte_errno (EINVAL: a length > 32 (IPv6: 128), an unknown
 * family, n > EF_EDGE_DECAP_MAX_SOURCES, n == 0 or gue_port 0; ENOMEM).
 * Control lcore.
 */
struct ef_edge_decap_cfg *
ef_edge_decap_create(const struct ef_edge_prefix *src, uint32_t n,
		     uint16_t gue_port);

/* Free (NULL is fine). Control lcore, after a grace period. */
void ef_edge_decap_free(struct ef_edge_decap_cfg *d);

/* true when outer source addr (network order) is in decap.sources.
 * Any thread. */
bool ef_edge_decap_allowed(const struct ef_edge_decap_cfg *d, uint32_t addr);

/* The same for an IPv6 outer source (16 bytes, network order). */
bool ef_edge_decap_allowed6(const struct ef_edge_decap_cfg *d,
			    const uint8_t addr[16]);

/* true when d lists an IPv6 prefix (an IPv6 outer header may be taken
 * off). Any thread. */
bool ef_edge_decap_has6(const struct ef_edge_decap_cfg *d);

/*
 * Classify and strip a packet addressed to one of our interface addresses
 * (m parsed into outer; the caller has checked the outer IPv4 checksum).
 * The outer header is IPv4 or IPv6 (its extension headers, bounded by
 * ef_pkt_parse, go with it); either carries IPv4 (protocol 4: IPIP,
 * IPv4-in-IPv6) or IPv6 (41: 6in4, ip6ip6), directly or in GUE:
 *
 *   NOT_ENCAP       neither protocol 4, 41 nor UDP to the GUE port, or
 *                   d == NULL (no decap configured), or an IPv6 outer
 *                   header when d lists no IPv6 prefix: not touched,
 *                   serve it as usual
 *   DENIED          encapsulated, outer source not in decap.sources
 *                   (checked before anything of the inner packet is read):
 *                   drop, count decap_denied
 *   FRAGMENT        the outer packet is a fragment, IPv6 fragment header
 *                   included (we do not reassemble)
 *   TRUNC           UDP/GUE header, or inner IPv4 header, beyond the packet
 *   BAD_CHECKSUM    GUE with a nonzero outer UDP checksum that is wrong
 *                   (zero: none, as edgefwd sends; Linux fou checks it too);
 *                   over IPv6 a zero checksum too (RFC 8200 8.1; Linux
 *                   takes none either without udp6zerocsumrx)
 *   GUE_VERSION     GUE version != 0 (version 1, direct IP, included)
 *   GUE_CONTROL     GUE control message (C bit)
 *   GUE_OPTIONS     GUE hlen or flags != 0 (we send none, accept none)
 *   INNER_NOT_IPV4  inner packet not of the family the outer protocol
 *                   (4 or 41, GUE's proto field alike) says: GUE proto
 *                   neither 4 nor 41, inner version != 4 / IHL < 5 under
 *                   4, inner version != 6 under 41 (the counter name is
 *                   IPv4's, kept: it means "inner not the IP promised")
 *   INNER_LEN       inner total length (IPv6: 40 + payload length; a
 *                   jumbogram's 0 included) != what the outer header
 *                   carries
 *   OK              m now holds Ethernet (the outer MACs, the
 *                   ethertype of the inner family) + the inner packet, to be parsed again and served as external
 *                   traffic arriving on the same interface; the caller
 *                   must not decapsulate it a second time.
 *
 * Nothing is freed; only OK modifies m. Any thread.
 */
int ef_edge_decap(const struct ef_edge_decap_cfg *d, struct rte_mbuf *m,
		  const struct ef_pkt_meta *outer);

/* ------------------------------------------------------------------ */
/* Nodes and weighted Maglev                                           */
/* ------------------------------------------------------------------ */

#define EF_EDGE_FOREACH_WEIGHTS(X) \
	X(ENDPOINTS, "endpoints") \
	X(HEALTH, "health") \
	X(EQUAL, "equal")

enum ef_edge_weights {
#define EF_EDGE_WEIGHTS_ENUM(e, s) EF_EDGE_WEIGHTS_##e,
	EF_EDGE_FOREACH_WEIGHTS(EF_EDGE_WEIGHTS_ENUM)
#undef EF_EDGE_WEIGHTS_ENUM
	EF_EDGE_WEIGHTS_MAX
};

/* "endpoints", "health", "equal" -> enum; -EINVAL otherwise. Any thread. */
int ef_edge_weights_parse(const char *text);

/* Name of a weights mode, "?" when out of range. Any thread. */
const char *ef_edge_weights_name(unsigned int w);

#define EF_EDGE_NODE_NAME_MAX 64u
/* Most nodes of one edge service (Maglev entries are 16-bit). */
#define EF_EDGE_MAX_NODES 4096u
/* Largest weight taken from a health header (kube-proxy sends counts). */
#define EF_EDGE_MAX_WEIGHT 65535u
/* "no node" from ef_edge_lb_pick() */
#define EF_EDGE_NO_NODE 0xffffu

/*
 * A node's key (ef_edge_node.addr, ef_edge_lb_node.addr,
 * ef_edge_flow.node_addr, the counter slots' registry): its IPv4 address
 * (network order), or, for a node reached at an IPv6 address, the key
 * ef_edge_node_key6() gave that address: a value in 0.0.0.0/8, which no
 * node address can be (the configuration refuses it), the same for the
 * life of the process (a reload keeps the node's flows and counters).
 */
#define EF_EDGE_NO_KEY 0u

/* Key of IPv6 node address a: the one given before, else the next free
 * one (network order); EF_EDGE_NO_KEY once EF_EDGE_CTR_SLOTS distinct
 * addresses have been given (or out of memory). Process-wide registry,
 * never shrunk (a flow may still name a removed node). Control lcore. */
uint32_t ef_edge_node_key6(const uint8_t a[16]);

/* One node of an edge service as the control lcore sees it. */
struct ef_edge_node {
	char name[EF_EDGE_NODE_NAME_MAX];	/* Kubernetes Node name */
	uint32_t addr;		/* key: the IPv4 address, network order, or
				 * ef_edge_node_key6(addr6) */
	uint8_t v6;		/* 1: reached at addr6 (outer IPv6) */
	uint8_t addr6[16];
	uint32_t weight;	/* ef_edge_node_weight(); 0 = no new flows */
	bool healthy;		/* false: down, its flows re-pick */
	bool draining;		/* healthCheckNodePort said 503 */
	uint32_t slot;		/* ef_edge_ctr_slot(): its counters */
};

/* What the control lcore knows of a node for one service. */
struct ef_edge_node_view {
	uint32_t ready_endpoints;	/* the service's ready endpoints there */
	int64_t header_weight;		/* X-Load-Balancing-Endpoint-Weight,
					 * -1 when absent or unparseable */
	bool healthy;			/* probe state after rise/fall */
	bool draining;			/* last answer was 503 */
};

/*
 * Weight of a node for an edge service:
 *  - down (!healthy) or draining: 0 (no new flows; a draining node keeps
 *    its established flows, a down one loses them: ef_edge_steer());
 *  - Cluster policy (cluster = true): 1 (every healthy node equal, as the
 *    contract says, whatever `weights`);
 *  - "endpoints": ready_endpoints (so every pod gets one share);
 *  - "health": header_weight clamped to EF_EDGE_MAX_WEIGHT, or
 *    ready_endpoints when the node sent no usable header (kube-proxy
 *    before 1.28 sends none);
 *  - "equal": 1.
 * Any thread.
 */
uint32_t ef_edge_node_weight(unsigned int weights, bool cluster,
			     const struct ef_edge_node_view *v);

/*
 * Parse an X-Load-Balancing-Endpoint-Weight value: decimal digits with
 * optional surrounding blanks (spaces, tabs); values above
 * EF_EDGE_MAX_WEIGHT are clamped to it. Returns the weight, or -1 when v
 * is NULL, empty or not a number.
 * Any thread.
 */
int64_t ef_edge_parse_weight_header(const char *v);

/* A node in a built table (read by workers). */
struct ef_edge_lb_node {
	uint32_t addr;		/* key (above): IPv4 address or IPv6 key */
	uint32_t weight;
	uint8_t healthy;
	uint8_t draining;
	uint8_t v6;		/* 1: the node is reached at addr6 */
	uint8_t pad;
	uint32_t slot;		/* counters of (service, node), see below */
	uint8_t addr6[16];
};

struct ef_edge_lb {
	uint32_t gen;		/* caller's build number: flows cache indexes */
	uint32_t size;		/* Maglev table size (prime) */
	uint32_t n_nodes;
	uint16_t *table;	/* size entries: index into nodes or NO_NODE */
	struct ef_edge_lb_node *nodes;	/* sorted by addr (unique) */
};

/*
 * Build the node table of an edge service from n nodes (any order,
 * keys unique): nodes sorted by key (ef_edge_lb_find), Maglev table
 * (ef_maglev_build over the nodes in address order, IPv4 ones first,
 * backend id = ef_maglev_backend_id(address, 0): two edges with the same
 * nodes and weights build the same table, whatever keys their IPv6 nodes
 * got) of size
 * ef_maglev_size_for(n) over the nodes whose weight is above 0.
 * gen is stored for ef_edge_steer()'s index cache: give each build of a
 * service a new value. Returns NULL and sets rte_errno (EINVAL: n >
 * EF_EDGE_MAX_NODES or a duplicate address; ENOMEM). Control lcore.
 */
struct ef_edge_lb *ef_edge_lb_build(const struct ef_edge_node *nodes,
				    uint32_t n, uint32_t gen);

/* Free (NULL is fine). Control lcore, after a grace period. */
void ef_edge_lb_free(struct ef_edge_lb *lb);

/* Node index for a flow hash, EF_EDGE_NO_NODE when every weight is 0.
 * Any thread. */
static inline uint32_t
ef_edge_lb_pick(const struct ef_edge_lb *lb, uint32_t hash)
{
	return lb->table[((uint64_t)hash * lb->size) >> 32];
}

/* Index of the node with key addr, or EF_EDGE_NO_NODE (binary
 * search). Any thread. */
uint32_t ef_edge_lb_find(const struct ef_edge_lb *lb, uint32_t addr);

/* ------------------------------------------------------------------ */
/* Per (service, node) counters                                        */
/* ------------------------------------------------------------------ */

/*
 * Each (service, node) pair of an edge service has a counter slot, the
 * same for the life of the process (a reload or a new node table keeps
 * it), stored in ef_edge_node.slot / ef_edge_lb_node.slot. Every worker's
 * flow table holds EF_EDGE_CTR_SLOTS counters of its own, written only by
 * that worker (no atomics), summed by the control lcore on read.
 * Distinct pairs beyond EF_EDGE_CTR_SLOTS get EF_EDGE_NO_SLOT: they are
 * steered as usual, their counters read 0 (logged once).
 */
#define EF_EDGE_CTR_SLOTS 16384u
#define EF_EDGE_NO_SLOT UINT32_MAX

struct ef_edge_node_ctr {
	uint64_t packets;	/* sent to the node (ef_edge_flows_count()) */
	int64_t flows;		/* active flow entries pointing at the node */
};

/*
 * Slot of (svc: the caller's stable service id, addr: node key,
 * above): the one given before, or the next free one, or
 * EF_EDGE_NO_SLOT when EF_EDGE_CTR_SLOTS pairs have been given (or out of
 * memory). Process-wide registry. Control lcore only.
 */
uint32_t ef_edge_ctr_slot(uint32_t svc, uint32_t addr);

/* ------------------------------------------------------------------ */
/* Flow table                                                          */
/* ------------------------------------------------------------------ */

/* The client tuple as it arrives (client -> VIP). pad must be zero. */
struct ef_edge_flow_key {
	uint32_t src;
	uint32_t dst;
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
	uint8_t pad[3];
};

/* Key of a parsed IPv4 packet with ports. Any thread. */
static inline void
ef_edge_flow_key_of(const struct ef_pkt_meta *m, struct ef_edge_flow_key *k)
{
	k->src = m->src.v4;
	k->dst = m->dst.v4;
	k->sport = m->sport;
	k->dport = m->dport;
	k->proto = m->proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

/* The IPv6 client tuple (client -> VIP). pad must be zero. */
struct ef_edge_flow_key6 {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
	uint8_t pad[3];
};

/* Key of a parsed IPv6 packet with ports. Any thread. */
static inline void
ef_edge_flow_key6_of(const struct ef_pkt_meta *m, struct ef_edge_flow_key6 *k)
{
	memcpy(k->src, m->src.v6, 16);
	memcpy(k->dst, m->dst.v6, 16);
	k->sport = m->sport;
	k->dport = m->dport;
	k->proto = m->proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

/* Key lengths of a flow table (ef_edge_flows_params.key_len). */
#define EF_EDGE_KEY4_LEN ((uint32_t)sizeof(struct ef_edge_flow_key))
#define EF_EDGE_KEY6_LEN ((uint32_t)sizeof(struct ef_edge_flow_key6))

/*
 * The flow hash Maglev and the GUE source port use: CRC32-C of the 16
 * key bytes with a fixed seed. rte_hash_crc gives the same value with the
 * SSE4.2 instruction and with its table fallback, so edges on different
 * CPUs agree. Any thread.
 */
uint32_t ef_edge_flow_hash(const struct ef_edge_flow_key *k);

/* The same over the 40 bytes of an IPv6 key (same seed, same node table:
 * edges with the same configuration agree for IPv6 flows too).
 * Any thread. */
uint32_t ef_edge_flow_hash6(const struct ef_edge_flow_key6 *k);

/* ef_edge_flow.flags */
#define EF_EDGE_FLOW_F_CLOSING 0x01	/* FIN or RST seen: short timeout */

/* A flow: value of the table, by the key's position. */
struct ef_edge_flow {
	uint32_t node_addr;	/* the node (stable across builds) */
	uint32_t last_ms;	/* last packet, caller's ms clock */
	uint32_t lb_gen;	/* ef_edge_lb.gen node_idx was valid for */
	uint16_t node_idx;	/* cached index into that lb's nodes */
	uint8_t flags;		/* EF_EDGE_FLOW_F_* */
	uint8_t pad;
	uint32_t svc;		/* caller's: service id (telemetry) */
	uint32_t slot;		/* counter slot its node had when chosen */
};

/* Default timeout after a FIN or RST, seconds: long enough for the last
 * ACKs and retransmissions, short enough that a closed tuple re-picks. */
#define EF_EDGE_FLOW_FIN_TIMEOUT_S 10u
/* Most keys per ef_edge_flows_lookup_bulk(). */
#define EF_EDGE_BULK_MAX 64u
/* Longest table name: rte_hash names its extendable-bucket ring
 * "HT_EXT_<name>" within RTE_RING_NAMESIZE. */
#define EF_EDGE_NAME_MAX 20u

struct ef_edge_flows_params {
	const char *name;	/* unique per process, <= EF_EDGE_NAME_MAX */
	uint32_t capacity;	/* flows, >= 8 */
	uint32_t timeout_s;	/* edge.flow_timeout, idle seconds, >= 1 */
	uint32_t fin_timeout_s;	/* after FIN/RST; 0: EF_EDGE_FLOW_FIN_TIMEOUT_S */
	int socket_id;		/* the worker's NUMA socket, or SOCKET_ID_ANY */
	/* EF_EDGE_KEY4_LEN (0 means it) or EF_EDGE_KEY6_LEN: every key
	 * given to the table is a struct ef_edge_flow_key or _key6 */
	uint32_t key_len;
	/* NULL: the table has its own per (service, node) counters; else
	 * those of another table of the same worker (its IPv4 one), which
	 * must outlive this one: one set of counters per worker for both
	 * families */
	struct ef_edge_node_ctr *shared_ctr;
};

struct ef_edge_flows_stats {
	uint64_t created;
	uint64_t deleted;	/* every removal, expiry included */
	uint64_t expired;
	uint64_t full;		/* inserts refused: the table is full */
	uint64_t repicked;	/* entries whose node was down or gone */
	uint32_t active;
};

struct ef_edge_flows;

/* Expiry callback: the flow is intact when it is called; k is the
 * table's key type (struct ef_edge_flow_key or _key6, per key_len). */
typedef void (*ef_edge_flow_expire_fn)(void *arg, const void *k,
				       struct ef_edge_flow *f);

/*
 * Create a table: an rte_hash (single writer, no locks, extendable
 * buckets so that exactly `capacity` keys always fit) indexing a value
 * array by key position. Returns NULL and sets rte_errno (EINVAL,
 * ENAMETOOLONG, EEXIST, ENOMEM). Control lcore, before the worker uses it.
 */
struct ef_edge_flows *
ef_edge_flows_create(const struct ef_edge_flows_params *p);

/* Free (NULL is fine). Control lcore, after the worker stopped. */
void ef_edge_flows_free(struct ef_edge_flows *ft);

/* Look up n (<= EF_EDGE_BULK_MAX) keys at once (rte_hash_lookup_bulk):
 * out[i] is the flow or NULL. Owning worker. */
void ef_edge_flows_lookup_bulk(struct ef_edge_flows *ft,
			       const void *keys[],
			       uint32_t n, struct ef_edge_flow *out[]);

/* Look up one key: the flow or NULL. Owning worker. */
struct ef_edge_flow *ef_edge_flows_lookup(struct ef_edge_flows *ft,
					  const void *k);

/*
 * Insert k -> node (index node_idx of lb, whose gen is recorded), flags
 * clear, last_ms = now_ms. Returns the flow, or NULL with *err = -ENOSPC
 * (full: counted in stats.full), -EEXIST or -EINVAL (node_idx out of
 * range). Owning worker.
 */
struct ef_edge_flow *ef_edge_flows_insert(struct ef_edge_flows *ft,
					  const void *k,
					  const struct ef_edge_lb *lb,
					  uint32_t node_idx, uint32_t svc,
					  uint32_t now_ms, int *err);

/* Delete k's flow. Returns 0 or -ENOENT. Owning worker. */
int ef_edge_flows_delete(struct ef_edge_flows *ft, const void *k);

/*
 * Examine at most budget positions from an internal cursor (wrapping) and
 * delete flows idle >= their timeout (timeout_s, or fin_timeout_s once
 * CLOSING), calling cb first when not NULL. Returns the number deleted.
 * Bounded work: the caller gives a budget per poll. Owning worker.
 */
uint32_t ef_edge_flows_expire(struct ef_edge_flows *ft, uint32_t now_ms,
			      uint32_t budget, ef_edge_flow_expire_fn cb,
			      void *arg);

/* Counters. Owning worker (or a reader tolerating tears). */
const struct ef_edge_flows_stats *
ef_edge_flows_stats(const struct ef_edge_flows *ft);

/* Capacity of the table. Any thread. */
uint32_t ef_edge_flows_capacity(const struct ef_edge_flows *ft);

/*
 * The table's EF_EDGE_CTR_SLOTS per (service, node) counters. Flows are
 * maintained by the table itself (an entry counts for the slot of the
 * node it points at: insert, re-pick, delete, expiry); packets by the
 * caller once a packet is sent, ef_edge_flows_count(). Owning worker
 * writes; other threads may read (relaxed loads, ef_edge_flows_ctr_read).
 */
struct ef_edge_node_ctr *ef_edge_flows_ctr(struct ef_edge_flows *ft);

/* Count one packet sent to the node of slot (EF_EDGE_NO_SLOT or out of
 * range: nothing). Owning worker; ctr from ef_edge_flows_ctr(). */
static inline void
ef_edge_flows_count(struct ef_edge_node_ctr *ctr, uint32_t slot)
{
	if (likely(slot < EF_EDGE_CTR_SLOTS))
		ctr[slot].packets++;
}

/* Add slot's counters of table ft to *packets and *flows (relaxed
 * loads). Any thread. */
void ef_edge_flows_ctr_read(const struct ef_edge_flows *ft, uint32_t slot,
			    uint64_t *packets, int64_t *flows);

/* ------------------------------------------------------------------ */
/* Steering: flow table + Maglev                                       */
/* ------------------------------------------------------------------ */

enum ef_edge_steer {
	EF_EDGE_STEER_HIT = 0,	/* established: the entry's node */
	EF_EDGE_STEER_NEW,	/* no entry (SYN or mid-flow): Maglev, inserted */
	EF_EDGE_STEER_REPICK,	/* entry's node down or gone: Maglev, updated */
	EF_EDGE_STEER_FULL,	/* table full: Maglev, stateless (count it) */
	EF_EDGE_STEER_NO_NODE,	/* no node with weight > 0: drop (no_endpoint) */
};

/*
 * Choose the node of one packet of an edge service. f is the result of
 * ef_edge_flows_lookup[_bulk]() for k (may be NULL), hash is
 * ef_edge_flow_hash(k) (or _hash6), tcp_flags the packet's (0 for
 * non-TCP: only TCP flags make a closing entry re-pick).
 *
 *  - An entry whose node is still in lb and healthy keeps it, draining
 *    (weight 0) or not, whatever the weights now say: HIT. A TCP SYN
 *    without ACK on a CLOSING entry is a new connection on a reused
 *    tuple: it re-picks (NEW) rather than inherit the old choice.
 *  - An entry whose node is down or no longer in lb re-picks: REPICK.
 *  - No entry: the Maglev choice, SYN or not (a mid-flow packet after a
 *    restart, or moved here by ECMP, lands where any edge with the same
 *    nodes and weights sends it), inserted: NEW; if the table is full the
 *    same choice is used without an entry: FULL.
 *
 * FIN or RST marks the entry CLOSING (short timeout). last_ms = now_ms.
 * The table's per-slot flow counts follow the entries (an insert counts
 * for the node's slot, a re-pick moves the count to the new node's);
 * packets are the caller's to count (ef_edge_flows_count()).
 * *node_idx is an index into lb->nodes (not NO_NODE) unless NO_NODE is
 * returned. Owning worker.
 */
int ef_edge_steer(struct ef_edge_flows *ft, const struct ef_edge_lb *lb,
		  const void *k, uint32_t hash,
		  struct ef_edge_flow *f, uint8_t tcp_flags, uint32_t svc,
		  uint32_t now_ms, uint32_t *node_idx);

#ifdef __cplusplus
}
#endif

#endif /* EF_EDGE_H */
