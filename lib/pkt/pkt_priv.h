/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_PKT_PRIV_H
#define EF_PKT_PRIV_H

/*
 * Internals of lib/pkt shared by its files: pkt_parse.c (frames into
 * metadata), pkt_rewrite.c (checksums and NAT rewrites), pkt_reply.c (the
 * answers built in place or into a buffer).
 *
 * Only DPDK headers are used (struct layouts, byte order, the inline
 * rte_raw_cksum family): nothing here needs EAL, so the module fuzzes and
 * unit-tests on plain heap buffers.
 *
 * Bounds discipline: every read is preceded by a length check against the
 * tightest known bound (frame length, then the IP length, then the quoted
 * bytes of an ICMP error), so no function reads or writes outside
 * [frame, frame + len).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
/* ... and most bytes of extension headers walked (issue 12). */
#define IP6_EXT_BYTES	256

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

/* Offset of the checksum field inside the L4 header. */
static inline uint32_t
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

#endif /* EF_PKT_PRIV_H */
