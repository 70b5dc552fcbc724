/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_PKT_PROXY_H
#define EF_PKT_PROXY_H

/*
 * PROXY protocol headers (haproxy.org/download/2.6/doc/proxy-protocol.txt)
 * and the TCP rewrites a stream that carries one needs: the sequence
 * shift toward the endpoint, the acknowledgement (and SACK) shift back,
 * and a segment built from scratch for the header itself.
 *
 * Pure functions of their arguments like the rest of lib/pkt: any thread,
 * no allocation, never outside the frame the metadata describes.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ef_pkt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest v1 line over IPv4 ("PROXY TCP4 " + 2 x 15 + 2 x 5 + 3 spaces +
 * CRLF); the protocol's bound for any family is 107. */
#define EF_PROXY_V1_MAX4 56u
/* v2 over IPv4: 16-byte preamble + 12 bytes of addresses and ports. */
#define EF_PROXY_V2_LEN4 28u
/* v2 over IPv6: 16-byte preamble + 36 bytes of addresses and ports. */
#define EF_PROXY_V2_LEN6 52u
/* Room for any header this module writes (v1 over IPv6: 104 at most). */
#define EF_PROXY_HDR_MAX 108u

/*
 * Write the v1 line "PROXY TCP4 src dst sport dport\r\n" (addresses and
 * ports in network order) into out (>= EF_PROXY_HDR_MAX bytes). Returns
 * its length.
 */
uint32_t ef_proxy_hdr_v1(uint8_t *out, uint32_t src, uint16_t sport,
			 uint32_t dst, uint16_t dport);

/*
 * Write the v2 header (PROXY command, AF_INET, STREAM, no TLVs) into out
 * (>= EF_PROXY_V2_LEN4 bytes). Returns EF_PROXY_V2_LEN4.
 */
uint32_t ef_proxy_hdr_v2(uint8_t *out, uint32_t src, uint16_t sport,
			 uint32_t dst, uint16_t dport);

/* The same over IPv6: "PROXY TCP6 src dst sport dport\r\n", addresses in
 * their RFC 5952 form (ef_addr_fmt); v2 with AF_INET6, EF_PROXY_V2_LEN6
 * bytes. Addresses 16 bytes, ports in network order. */
uint32_t ef_proxy_hdr_v1_6(uint8_t *out, const uint8_t src[16],
			   uint16_t sport, const uint8_t dst[16],
			   uint16_t dport);
uint32_t ef_proxy_hdr_v2_6(uint8_t *out, const uint8_t src[16],
			   uint16_t sport, const uint8_t dst[16],
			   uint16_t dport);

/* A TCP segment to build (addresses, ports, numbers in host order except
 * where said). */
struct ef_pkt_tcp4_seg {
	uint8_t dmac[6];
	uint8_t smac[6];
	uint32_t src;		/* network order */
	uint32_t dst;		/* network order */
	const uint8_t *src6;	/* ef_pkt_build_tcp6: 16 bytes */
	const uint8_t *dst6;
	uint16_t sport;		/* network order */
	uint16_t dport;		/* network order */
	uint32_t seq;
	uint32_t ack;
	uint16_t win;		/* as on the wire (scaled by the peer) */
	uint8_t flags;		/* RTE_TCP_*_FLAG */
	uint16_t mss;		/* add an MSS option (first) unless 0 */
	bool has_ts;		/* add a timestamp option */
	uint32_t tsval;
	uint32_t tsecr;
	const uint8_t *payload;
	uint32_t len;		/* payload bytes */
};

/*
 * Build Ethernet + IPv4 (TTL 64, DF) + TCP (+ MSS) (+ NOP NOP TS) + payload into
 * out (cap bytes) with every checksum. Returns the frame length, 0 when
 * it does not fit.
 */
uint32_t ef_pkt_build_tcp4(uint8_t *out, uint32_t cap,
			   const struct ef_pkt_tcp4_seg *s);

/* The same with an IPv6 header (hop limit 64) from s->src6 to s->dst6
 * (s->src and s->dst unused). */
uint32_t ef_pkt_build_tcp6(uint8_t *out, uint32_t cap,
			   const struct ef_pkt_tcp4_seg *s);

/* Add delta to the sequence number of a parsed TCP segment, checksum
 * updated incrementally. */
void ef_pkt_tcp_seq_add(uint8_t *frame, const struct ef_pkt_meta *m,
			uint32_t delta);

/*
 * Map the acknowledgement number and SACK block edges of a parsed TCP
 * segment from a stream with h extra bytes at base (the header occupies
 * [base, base + h)) to the stream without them: x >= base + h becomes
 * x - h, base < x < base + h becomes base, anything else stays (serial
 * arithmetic). The ACK field is mapped only when the ACK flag is set.
 * Checksum updated incrementally.
 */
void ef_pkt_tcp_ack_unshift(uint8_t *frame, const struct ef_pkt_meta *m,
			    uint32_t base, uint32_t h);

/* Add delta to the acknowledgement number (when the ACK flag is set) and
 * to every SACK block edge of a parsed TCP segment (a peer whose sequence
 * space is delta away: the SYN proxy). Checksum updated incrementally. */
void ef_pkt_tcp_ack_add(uint8_t *frame, const struct ef_pkt_meta *m,
			uint32_t delta);

/* The timestamp option of a parsed TCP segment: true and *tsval, *tsecr
 * (host order) when present. */
bool ef_pkt_tcp_ts(const uint8_t *frame, const struct ef_pkt_meta *m,
		   uint32_t *tsval, uint32_t *tsecr);

#ifdef __cplusplus
}
#endif

#endif /* EF_PKT_PROXY_H */
