/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: lib/pkt on arbitrary frames. Parses, then drives every
 * rewrite and answer builder the worker uses on the parsed frame, and
 * checks the invariants the data path relies on (a rewrite keeps a good
 * checksum good, a built answer parses). An invariant that breaks aborts,
 * so the fuzzer reports it as a crash with the input that broke it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "ef_pkt.h"
#include "fuzz.h"


#define FRAME_MAX 9216

/* Fixed addresses for the rewrites: RFC 5737 / private ranges. */
#define NAT_SRC 0x0100000aU	/* 10.0.0.1 */
#define NAT_DST 0x0500f40aU	/* 10.244.0.5 */

static void
fuzz_rewrites(const uint8_t *data, uint32_t len, const struct ef_pkt_meta *m0)
{
	static uint8_t f[FRAME_MAX];
	static uint8_t out[FRAME_MAX];
	struct ef_pkt_meta m, m2;
	bool ip_ok, l4_ok;
	int rc;

	/* NAT rewrite: good checksums stay good (RFC 1624 arithmetic) */
	memcpy(f, data, len);
	m = *m0;
	ip_ok = ef_pkt_ip4_csum_ok(f, &m);
	l4_ok = !(m.flags & EF_PKT_F_FRAG) && ef_pkt_has_ports(&m) &&
		ef_pkt_l4_csum_ok(f, &m);
	ef_pkt_nat4(f, &m, NAT_SRC, htons(40000), NAT_DST, htons(8080));
	CHECK(ef_pkt_parse(f, len, &m2) == EF_PKT_OK);
	if (ip_ok)
		CHECK(ef_pkt_ip4_csum_ok(f, &m2));
	if (l4_ok)
		CHECK(ef_pkt_l4_csum_ok(f, &m2));
	ef_pkt_ttl_dec4(f, &m2);
	if (ip_ok)
		CHECK(ef_pkt_ip4_csum_ok(f, &m2));

	/* ICMP error translation of the quoted flow */
	if (m0->flags & EF_PKT_F_ICMP_ERROR) {
		memcpy(f, data, len);
		m = *m0;
		ip_ok = ef_pkt_ip4_csum_ok(f, &m);
		ef_pkt_nat4_icmp_error(f, &m, NAT_SRC, NAT_DST, NAT_DST,
				       htons(8080), NAT_SRC, htons(40000));
		rc = ef_pkt_parse(f, len, &m2);
		CHECK(rc == EF_PKT_OK);
		if (ip_ok)
			CHECK(ef_pkt_ip4_csum_ok(f, &m2));
	}

	/* TCP RST answer: a fresh, checksummed 40-byte segment */
	memcpy(f, data, len);
	m = *m0;
	rc = ef_pkt_tcp4_rst_reply(f, &m);
	if (rc > 0) {
		CHECK(ef_pkt_parse(f, (uint32_t)m.l3_off + (uint32_t)rc,
				   &m2) == EF_PKT_OK);
		CHECK(ef_pkt_ip4_csum_ok(f, &m2));
		CHECK(ef_pkt_l4_csum_ok(f, &m2));
	}

	/* ICMP echo answer keeps both sums */
	memcpy(f, data, len);
	m = *m0;
	ip_ok = ef_pkt_ip4_csum_ok(f, &m);
	l4_ok = ef_pkt_has_ports(&m) && !(m.flags & EF_PKT_F_FRAG) &&
		ef_pkt_l4_csum_ok(f, &m);
	if (ef_pkt_icmp4_echo_reply(f, &m) == 0) {
		CHECK(ef_pkt_parse(f, len, &m2) == EF_PKT_OK);
		if (ip_ok)
			CHECK(ef_pkt_ip4_csum_ok(f, &m2));
		if (l4_ok)
			CHECK(ef_pkt_l4_csum_ok(f, &m2));
	}

	/* ARP answer in place */
	memcpy(f, data, len);
	if (ef_pkt_arp_reply(f, m0, (const uint8_t *)"\x02\0\0\0\0\x01") == 0)
		CHECK(ef_pkt_parse(f, len, &m2) == EF_PKT_OK);

	/* ICMP error about this packet: the outer header is well formed */
	if (m0->ip_version == 4) {
		memset(out, 0, 14);
		out[12] = 0x08;
		rc = ef_pkt_build_icmp4_error(out + 14, sizeof(out) - 14,
					      data + m0->l3_off,
					      len - m0->l3_off, 3, 4, 1400,
					      NAT_SRC);
		if (rc > 0) {
			rc = ef_pkt_parse(out, 14 + (uint32_t)rc, &m2);
			/* the quote may be a malformed header: that is the
			 * receiver's parse error, never ours to crash on */
			if (rc == EF_PKT_OK)
				CHECK(ef_pkt_ip4_csum_ok(out, &m2));
		}
	}
}

/*
 * IPv6: NAT keeps a right L4 sum right (incremental = recomputed), the
 * echo answer and the errors parse, NDP reads stay inside the frame.
 */
static void
fuzz_rewrites6(const uint8_t *data, uint32_t len, const struct ef_pkt_meta *m0)
{
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0xff,
					0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static uint8_t f[FRAME_MAX];
	static uint8_t out[FRAME_MAX];
	struct ef_pkt_meta m, m2;
	struct ef_pkt_ndp nd;
	bool l4_ok;
	int rc;

	memcpy(f, data, len);
	m = *m0;
	l4_ok = ef_pkt_has_ports(&m) && ef_pkt_l4_csum_ok(f, &m);
	ef_pkt_nat6(f, &m, a6, 0x0104, a6, 0x0204);
	CHECK(ef_pkt_parse(f, len, &m2) == EF_PKT_OK);
	if (l4_ok && !(m.proto == IPPROTO_UDP &&
		       f[m.l4_off + 6] == 0 && f[m.l4_off + 7] == 0))
		CHECK(ef_pkt_l4_csum_ok(f, &m2));

	memcpy(f, data, len);
	m = *m0;
	if (ef_pkt_icmp6_echo_reply(f, &m) == 0) {
		CHECK(ef_pkt_parse(f, len, &m2) == EF_PKT_OK);
		CHECK(ef_pkt_l4_csum_ok(f, &m2));
	}
	(void)ef_pkt_ndp_parse(data, m0, &nd);

	memset(out, 0, 14);
	out[12] = 0x86;
	out[13] = 0xdd;
	rc = ef_pkt_build_icmp6_error(out + 14, sizeof(out) - 14,
				      data + m0->l3_off, len - m0->l3_off,
				      2, 0, 1280, a6);
	if (rc > 0) {
		CHECK(rc <= 1280);
		if (ef_pkt_parse(out, 14 + (uint32_t)rc, &m2) == EF_PKT_OK)
			CHECK(ef_pkt_l4_csum_ok(out, &m2));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ef_pkt_meta m;
	uint8_t *f;
	int rc;

	if (size > FRAME_MAX)
		return 0;
	/* an exact-size heap copy, so ASan sees any read past the frame */
	f = malloc(size != 0 ? size : 1);
	if (f == NULL)
		return 0;
	memcpy(f, data, size);
	rc = ef_pkt_parse(f, (uint32_t)size, &m);
	CHECK(rc <= 0 && ef_pkt_strerror(rc) != NULL);
	if (rc == EF_PKT_OK) {
		CHECK(m.l4_off == 0 || m.l4_off <= size);
		CHECK((uint32_t)m.l3_off + m.l3_len <= size ||
		      m.l3 == EF_PKT_L3_OTHER || m.l3 == EF_PKT_L3_ARP);
		if (m.ip_version == 4)
			fuzz_rewrites(f, (uint32_t)size, &m);
		else if (m.ip_version == 6)
			fuzz_rewrites6(f, (uint32_t)size, &m);
	}
	free(f);
	return 0;
}
