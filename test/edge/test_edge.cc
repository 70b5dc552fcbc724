/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/edge: frames in, frames out, compared byte for byte with frames
 * scapy built (edge_fixtures.h, gen_fixtures.py); node weights and
 * Maglev shares; the flow table's stickiness, statelessness, full table
 * and expiry.
 */
#include <algorithm>
#include <arpa/inet.h>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include <gtest/gtest.h>

#include "ef_edge.h"
#include "ef_pkt.h"
#include "edge_fixtures.h"

using Bytes = std::vector<uint8_t>;

#define FIX(a) Bytes((a), (a) + sizeof(a))

static uint32_t
ip_of(const char *s)
{
	uint32_t a = 0;

	inet_pton(AF_INET, s, &a);
	return a;
}

static struct rte_mempool *
pool()
{
	static struct rte_mempool *p;

	if (p == nullptr)
		p = rte_pktmbuf_pool_create("edge_test", 4095, 0, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	return p;
}

static struct rte_mbuf *
mbuf_of(const Bytes &b, uint16_t headroom = RTE_PKTMBUF_HEADROOM)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool());

	if (m == nullptr)
		return nullptr;
	m->data_off = headroom;
	memcpy(rte_pktmbuf_append(m, (uint16_t)b.size()), b.data(), b.size());
	return m;
}

static Bytes
bytes_of(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	return Bytes(p, p + m->data_len);
}

static ef_edge_tunnel
tunnel(uint8_t fwd)
{
	ef_edge_tunnel t;

	memset(&t, 0, sizeof(t));
	t.fwd = fwd;
	t.gue_port = htons(6080);
	t.src = ip_of("10.1.0.1");
	t.dst = ip_of("10.1.0.11");
	memcpy(t.smac, "\x02\xed\x00\x00\x00\x02", 6);
	memcpy(t.dmac, "\x02\x0d\x00\x00\x00\x0b", 6);
	return t;
}

/* The same toward a node reached at fd00:1::11 from fd00:1::1. */
ef_edge_tunnel
tunnel6(uint8_t fwd)
{
	ef_edge_tunnel t = tunnel(fwd);

	t.outer6 = 1;
	inet_pton(AF_INET6, "fd00:1::1", t.src6);
	inet_pton(AF_INET6, "fd00:1::11", t.dst6);
	return t;
}

class EdgeTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_NE(pool(), nullptr) << rte_strerror(rte_errno);
		in_use = rte_mempool_in_use_count(pool());
	}
	void TearDown() override
	{
		/* every test frees what it took */
		EXPECT_EQ(rte_mempool_in_use_count(pool()), in_use);
	}
	unsigned int in_use = 0;
};

/* ---------------------------------------------------------------- */
/* Encapsulation                                                     */
/* ---------------------------------------------------------------- */

struct EncapCase {
	const char *name;
	uint8_t fwd;
	Bytes in;
	Bytes want;
	uint16_t id_after;	/* the counter after the call */
};

TEST_F(EdgeTest, EncapFramesByteForByte)
{
	const EncapCase cases[] = {
		{ "ipip DF", EF_EDGE_FWD_IPIP, FIX(in_syn), FIX(ipip_syn),
		  FIX_IP_ID0 },
		{ "ipip no DF", EF_EDGE_FWD_IPIP, FIX(in_udp), FIX(ipip_udp),
		  FIX_IP_ID0 + 1 },
		{ "ipip trims padding", EF_EDGE_FWD_IPIP, FIX(in_udp_padded),
		  FIX(ipip_udp_padded), FIX_IP_ID0 + 1 },
		{ "gue DF", EF_EDGE_FWD_GUE, FIX(in_syn), FIX(gue_syn),
		  FIX_IP_ID0 },
		{ "gue no DF", EF_EDGE_FWD_GUE, FIX(in_udp), FIX(gue_udp),
		  FIX_IP_ID0 + 1 },
		{ "l2", EF_EDGE_FWD_L2, FIX(in_syn), FIX(l2_syn), FIX_IP_ID0 },
		/* IPv6 inside IPv4: DF set, no ID taken */
		{ "6in4", EF_EDGE_FWD_IPIP, FIX(in6_syn), FIX(ipip6_syn),
		  FIX_IP_ID0 },
		{ "gue, IPv6 inside", EF_EDGE_FWD_GUE, FIX(in6_syn),
		  FIX(gue6_syn), FIX_IP_ID0 },
		{ "l2, IPv6", EF_EDGE_FWD_L2, FIX(in6_syn), FIX(l2_6_syn),
		  FIX_IP_ID0 },
	};

	for (const auto &c : cases) {
		ef_edge_tunnel t = tunnel(c.fwd);
		struct rte_mbuf *m = mbuf_of(c.in);
		uint16_t id = FIX_IP_ID0;

		ASSERT_NE(m, nullptr);
		EXPECT_EQ(ef_edge_encap(m, &t, FIX_GUE_HASH, &id),
			  EF_EDGE_ENCAP_OK) << c.name;
		EXPECT_EQ(bytes_of(m), c.want) << c.name;
		EXPECT_EQ(m->pkt_len, c.want.size()) << c.name;
		EXPECT_EQ(id, c.id_after) << c.name;
		rte_pktmbuf_free(m);
	}
}

/* An IPv6 underlay: the outer header is IPv6 (RFC 2473), the flow label
 * the flow hash's, GUE's UDP checksum computed; no outer ID is taken,
 * whatever the inner DF. */
TEST_F(EdgeTest, EncapOverIpv6FramesByteForByte)
{
	const EncapCase cases[] = {
		{ "4in6 DF", EF_EDGE_FWD_IPIP, FIX(in_syn), FIX(o6_ipip_syn),
		  FIX_IP_ID0 },
		{ "4in6 no DF", EF_EDGE_FWD_IPIP, FIX(in_udp), FIX(o6_ipip_udp),
		  FIX_IP_ID0 },
		{ "ip6ip6", EF_EDGE_FWD_IPIP, FIX(in6_syn), FIX(o6_ip6ip6_syn),
		  FIX_IP_ID0 },
		{ "gue over IPv6", EF_EDGE_FWD_GUE, FIX(in_syn),
		  FIX(o6_gue_syn), FIX_IP_ID0 },
		{ "gue over IPv6, IPv6 inside", EF_EDGE_FWD_GUE, FIX(in6_syn),
		  FIX(o6_gue6_syn), FIX_IP_ID0 },
		/* l2 has no outer header: the same frame either way */
		{ "l2", EF_EDGE_FWD_L2, FIX(in6_syn), FIX(l2_6_syn),
		  FIX_IP_ID0 },
	};

	for (const auto &c : cases) {
		ef_edge_tunnel t = tunnel6(c.fwd);
		struct rte_mbuf *m = mbuf_of(c.in);
		uint16_t id = FIX_IP_ID0;

		ASSERT_NE(m, nullptr);
		t.frag_ok = 1;	/* ignored over IPv6 */
		EXPECT_EQ(ef_edge_encap(m, &t, FIX_GUE_HASH, &id),
			  EF_EDGE_ENCAP_OK) << c.name;
		EXPECT_EQ(bytes_of(m), c.want) << c.name;
		EXPECT_EQ(id, c.id_after) << c.name;
		rte_pktmbuf_free(m);
	}
}

/* What edgefwd's own decap makes of it: the inner packet back, from an
 * allowed IPv6 source (the pair of ends an IPv6 underlay test runs). */
TEST_F(EdgeTest, EncapOverIpv6IsWhatDecapTakes)
{
	struct ef_edge_prefix src = { 0, 64, EF_AF_INET6, { 0 } };
	struct ef_edge_decap_cfg *d;

	inet_pton(AF_INET6, "fd00:1::", src.addr6);
	d = ef_edge_decap_create(&src, 1, 6080);
	ASSERT_NE(d, nullptr);
	for (uint8_t fwd : { (uint8_t)EF_EDGE_FWD_IPIP,
			     (uint8_t)EF_EDGE_FWD_GUE }) {
		for (const Bytes &in : { FIX(in_syn), FIX(in6_syn) }) {
			ef_edge_tunnel t = tunnel6(fwd);
			struct rte_mbuf *m = mbuf_of(in);
			struct ef_pkt_meta pm;
			uint16_t id = 0;

			ASSERT_EQ(ef_edge_encap(m, &t, FIX_GUE_HASH, &id),
				  EF_EDGE_ENCAP_OK);
			ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
					       m->data_len, &pm), 0);
			EXPECT_EQ(ef_edge_decap(d, m, &pm), EF_EDGE_DECAP_OK)
				<< ef_edge_fwd_name(fwd);
			/* the inner frame, after the node's Ethernet header */
			Bytes got = bytes_of(m);
			EXPECT_EQ(Bytes(got.begin() + 14, got.end()),
				  Bytes(in.begin() + 14, in.end()))
				<< ef_edge_fwd_name(fwd);
			rte_pktmbuf_free(m);
		}
	}
	ef_edge_decap_free(d);
}

/* A non-DF IPv4 packet beyond an IPv6 underlay's inner MTU: the inner
 * packet is fragmented, then each piece encapsulated (nothing outer is
 * ever fragmented over IPv6). */
TEST_F(EdgeTest, NonDfTooBigOverIpv6IsFragmentedInner)
{
	ef_edge_tunnel t = tunnel6(EF_EDGE_FWD_IPIP);
	unsigned int fwd = EF_EDGE_FWD_IPIP | EF_EDGE_OUTER6;
	struct rte_mbuf *m = mbuf_of(FIX(in_big));
	struct rte_mbuf *out[8];
	uint16_t id = 0;

	ASSERT_EQ(ef_edge_fit(m->data_len - 14, false, 1500, fwd),
		  EF_EDGE_FIT_FRAGMENT);
	ASSERT_EQ(ef_edge_fragment(m, (uint16_t)ef_edge_inner_mtu(1500, fwd),
				   pool(), out, 8), 2);
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(ef_edge_encap(out[i], &t, FIX_GUE_HASH, &id),
			  EF_EDGE_ENCAP_OK);
	EXPECT_EQ(bytes_of(out[0]), FIX(o6_big_f0));
	EXPECT_EQ(bytes_of(out[1]), FIX(o6_big_f1));
	EXPECT_LE(out[0]->pkt_len, 14u + 1500u);
	rte_pktmbuf_free(out[0]);
	rte_pktmbuf_free(out[1]);
}

TEST_F(EdgeTest, EncapNonDfIdsAreUnique)
{
	ef_edge_tunnel t = tunnel(EF_EDGE_FWD_IPIP);
	std::set<uint16_t> ids;
	uint16_t id = 0xfff0;	/* wraps */

	for (int i = 0; i < 64; i++) {
		struct rte_mbuf *m = mbuf_of(FIX(in_udp));

		ASSERT_EQ(ef_edge_encap(m, &t, 0, &id), EF_EDGE_ENCAP_OK);
		ids.insert(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
						   14)->packet_id);
		rte_pktmbuf_free(m);
	}
	EXPECT_EQ(ids.size(), 64u);
}

TEST_F(EdgeTest, EncapWithoutHeadroomIsCountedNotCrashed)
{
	for (uint8_t fwd : { EF_EDGE_FWD_IPIP, EF_EDGE_FWD_GUE }) {
		ef_edge_tunnel t = tunnel(fwd);
		/* 18 bytes (2-byte aligned, as rte_ether_hdr wants): less
		 * than either overhead */
		struct rte_mbuf *m = mbuf_of(FIX(in_syn), 18);
		uint16_t id = 1;

		ASSERT_NE(m, nullptr);
		EXPECT_EQ(ef_edge_encap(m, &t, 0, &id),
			  EF_EDGE_ENCAP_NO_HEADROOM);
		EXPECT_EQ(bytes_of(m), FIX(in_syn));	/* untouched */
		EXPECT_EQ(m->data_off, 18);
		EXPECT_EQ(id, 1);
		rte_pktmbuf_free(m);
	}
	EXPECT_STREQ(ef_edge_encap_rc_name(EF_EDGE_ENCAP_NO_HEADROOM),
		     "encap_no_headroom");
}

/* An inner MTU below 1280 (RFC 4213 3.2): the outer packet may be
 * fragmented, so it carries no DF and a fresh ID. */
TEST_F(EdgeTest, Encap6WithFragOkClearsDfAndTakesAnId)
{
	ef_edge_tunnel t = tunnel(EF_EDGE_FWD_IPIP);
	struct rte_mbuf *m = mbuf_of(FIX(in6_udp));
	uint16_t id = FIX_IP_ID0;

	t.frag_ok = 1;
	ASSERT_NE(m, nullptr);
	EXPECT_EQ(ef_edge_encap(m, &t, 0, &id), EF_EDGE_ENCAP_OK);
	EXPECT_EQ(bytes_of(m), FIX(ipip6_udp_nodf));
	EXPECT_EQ(id, FIX_IP_ID0 + 1);
	rte_pktmbuf_free(m);
	/* frag_ok means nothing for an IPv4 packet: its own DF decides */
	m = mbuf_of(FIX(in_syn));
	id = FIX_IP_ID0;
	EXPECT_EQ(ef_edge_encap(m, &t, 0, &id), EF_EDGE_ENCAP_OK);
	EXPECT_EQ(bytes_of(m), FIX(ipip_syn));
	rte_pktmbuf_free(m);
}

TEST_F(EdgeTest, Encap6RejectsCutAndLyingHeaders)
{
	ef_edge_tunnel t = tunnel(EF_EDGE_FWD_GUE);
	uint16_t id = 0;
	Bytes cut(in6_syn, in6_syn + 14 + 39);
	Bytes longlen = FIX(in6_syn);
	Bytes v4 = FIX(in6_syn);

	longlen[18] = 0x05;	/* payload length 1280 + ... beyond the frame */
	v4[14] = 0x45;		/* IPv6 ethertype, version 4 */
	for (const Bytes *b : { &cut, &longlen, &v4 }) {
		struct rte_mbuf *m = mbuf_of(*b);

		EXPECT_EQ(ef_edge_encap(m, &t, 0, &id), EF_EDGE_ENCAP_NOT_IPV4);
		EXPECT_EQ(bytes_of(m), *b);
		rte_pktmbuf_free(m);
	}
}

TEST_F(EdgeTest, EncapRejectsWhatIsNotIpv4)
{
	ef_edge_tunnel t = tunnel(EF_EDGE_FWD_IPIP);
	uint16_t id = 0;
	Bytes shortf(in_syn, in_syn + 30);
	Bytes arp = FIX(in_syn);
	Bytes longlen = FIX(in_syn);
	Bytes v6 = FIX(in_syn);

	arp[12] = 0x08;
	arp[13] = 0x06;
	longlen[16] = 0x05;	/* total length 1280 + ... beyond the frame */
	v6[14] = 0x65;
	for (const Bytes *b : { &shortf, &arp, &longlen, &v6 }) {
		struct rte_mbuf *m = mbuf_of(*b);

		EXPECT_EQ(ef_edge_encap(m, &t, 0, &id), EF_EDGE_ENCAP_NOT_IPV4);
		EXPECT_EQ(bytes_of(m), *b);
		rte_pktmbuf_free(m);
	}
	t.fwd = EF_EDGE_FWD_MAX;
	struct rte_mbuf *m = mbuf_of(FIX(in_syn));
	EXPECT_EQ(ef_edge_encap(m, &t, 0, &id), EF_EDGE_ENCAP_BAD_METHOD);
	rte_pktmbuf_free(m);
}

TEST(EdgeGue, SourcePortSpreadsInTheDynamicRange)
{
	std::mt19937 rng(7);
	std::set<uint16_t> ports;

	for (int i = 0; i < 200000; i++) {
		uint16_t p = ntohs(ef_edge_gue_sport(rng()));

		ASSERT_GE(p, 49152);
		ports.insert(p);
	}
	/* 16384 possible: a uniform hash hits nearly all of them */
	EXPECT_GT(ports.size(), 16300u);
	/* the high half of the hash alone moves it too */
	EXPECT_NE(ef_edge_gue_sport(0x00010000), ef_edge_gue_sport(0));
}

TEST(EdgeNames, ParseAndPrint)
{
	EXPECT_EQ(ef_edge_fwd_parse("ipip"), EF_EDGE_FWD_IPIP);
	EXPECT_EQ(ef_edge_fwd_parse("gue"), EF_EDGE_FWD_GUE);
	EXPECT_EQ(ef_edge_fwd_parse("l2"), EF_EDGE_FWD_L2);
	EXPECT_EQ(ef_edge_fwd_parse("vxlan"), -EINVAL);
	EXPECT_EQ(ef_edge_fwd_parse(nullptr), -EINVAL);
	EXPECT_STREQ(ef_edge_fwd_name(EF_EDGE_FWD_GUE), "gue");
	EXPECT_STREQ(ef_edge_fwd_name(9), "?");
	EXPECT_EQ(ef_edge_weights_parse("endpoints"), EF_EDGE_WEIGHTS_ENDPOINTS);
	EXPECT_EQ(ef_edge_weights_parse("health"), EF_EDGE_WEIGHTS_HEALTH);
	EXPECT_EQ(ef_edge_weights_parse("equal"), EF_EDGE_WEIGHTS_EQUAL);
	EXPECT_EQ(ef_edge_weights_parse("Equal"), -EINVAL);
	EXPECT_STREQ(ef_edge_weights_name(EF_EDGE_WEIGHTS_HEALTH), "health");
	EXPECT_STREQ(ef_edge_decap_rc_name(EF_EDGE_DECAP_DENIED),
		     "decap_denied");
	EXPECT_STREQ(ef_edge_decap_rc_name(EF_EDGE_DECAP_RC_MAX), "?");
}

/* ---------------------------------------------------------------- */
/* Too big                                                           */
/* ---------------------------------------------------------------- */

TEST(EdgeMtu, OverheadAndLimits)
{
	EXPECT_EQ(ef_edge_overhead(EF_EDGE_FWD_IPIP), 20u);
	EXPECT_EQ(ef_edge_overhead(EF_EDGE_FWD_GUE), 32u);
	EXPECT_EQ(ef_edge_overhead(EF_EDGE_FWD_L2), 0u);
	EXPECT_EQ(ef_edge_inner_mtu(1500, EF_EDGE_FWD_IPIP), 1480u);
	EXPECT_EQ(ef_edge_inner_mtu(1500, EF_EDGE_FWD_GUE), 1468u);
	EXPECT_EQ(ef_edge_inner_mtu(1500, EF_EDGE_FWD_L2), 1500u);
	EXPECT_EQ(ef_edge_inner_mtu(20, EF_EDGE_FWD_GUE), 0u);
	EXPECT_EQ(ef_edge_max_mss(1500, EF_EDGE_FWD_IPIP), 1440u);
	EXPECT_EQ(ef_edge_max_mss(1500, EF_EDGE_FWD_GUE), 1428u);
	EXPECT_EQ(ef_edge_max_mss(9000, EF_EDGE_FWD_L2), 8960u);
	EXPECT_EQ(ef_edge_max_mss(60, EF_EDGE_FWD_IPIP), 0u);
	/* IPv6 inside: 40 more bytes of IP header, the same overhead */
	EXPECT_EQ(ef_edge_max_mss6(1500, EF_EDGE_FWD_IPIP), 1420u);
	EXPECT_EQ(ef_edge_max_mss6(1500, EF_EDGE_FWD_GUE), 1408u);
	EXPECT_EQ(ef_edge_max_mss6(9000, EF_EDGE_FWD_L2), 8940u);
	EXPECT_EQ(ef_edge_max_mss6(80, EF_EDGE_FWD_IPIP), 0u);
	/* an IPv6 outer header: 40 bytes (ip6ip6, 4in6), 52 with GUE */
	const unsigned int o6 = EF_EDGE_OUTER6;
	EXPECT_EQ(ef_edge_overhead(EF_EDGE_FWD_IPIP | o6), 40u);
	EXPECT_EQ(ef_edge_overhead(EF_EDGE_FWD_GUE | o6), 52u);
	EXPECT_EQ(ef_edge_overhead(EF_EDGE_FWD_L2 | o6), 0u);
	EXPECT_EQ(ef_edge_inner_mtu(1500, EF_EDGE_FWD_IPIP | o6), 1460u);
	EXPECT_EQ(ef_edge_inner_mtu(1500, EF_EDGE_FWD_GUE | o6), 1448u);
	EXPECT_EQ(ef_edge_max_mss(1500, EF_EDGE_FWD_IPIP | o6), 1420u);
	EXPECT_EQ(ef_edge_max_mss(1500, EF_EDGE_FWD_GUE | o6), 1408u);
	EXPECT_EQ(ef_edge_max_mss6(1500, EF_EDGE_FWD_IPIP | o6), 1400u);
	EXPECT_EQ(ef_edge_max_mss6(1500, EF_EDGE_FWD_GUE | o6), 1388u);
	EXPECT_EQ(ef_edge_max_mss6(9000, EF_EDGE_FWD_L2 | o6), 8940u);
}

TEST(EdgeMtu, Fit6Decisions)
{
	struct {
		uint32_t len;
		uint32_t mtu;
		uint8_t fwd;
		enum ef_edge_fit want;
	} cases[] = {
		{ 1480, 1500, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_OK },
		/* IPv6 has no DF: always packet-too-big ... */
		{ 1481, 1500, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_FRAG_NEEDED },
		{ 1469, 1500, EF_EDGE_FWD_GUE, EF_EDGE_FIT_FRAG_NEEDED },
		{ 1312, 1312, EF_EDGE_FWD_GUE, EF_EDGE_FIT_FRAG_NEEDED },
		{ 1501, 1500, EF_EDGE_FWD_L2, EF_EDGE_FIT_FRAG_NEEDED },
		/* ... unless the inner MTU is below 1280: the outer packet is
		 * fragmented (RFC 4213 3.2) */
		{ 1280, 1299, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_FRAGMENT },
		{ 1280, 1311, EF_EDGE_FWD_GUE, EF_EDGE_FIT_FRAGMENT },
		{ 1280, 1279, EF_EDGE_FWD_L2, EF_EDGE_FIT_DROP },
		{ 1280, 60, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_DROP },
		{ 1280, 1300, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_OK },
	};
	/* outer IPv6: 40 / 52 bytes, and never an outer fragment */
	struct {
		uint32_t len;
		uint32_t mtu;
		unsigned int fwd;
		enum ef_edge_fit want;
	} cases6[] = {
		{ 1460, 1500, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_OK },
		{ 1461, 1500, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_FRAG_NEEDED },
		{ 1449, 1500, EF_EDGE_FWD_GUE, EF_EDGE_FIT_FRAG_NEEDED },
		{ 1280, 1320, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_OK },
		{ 1281, 1320, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_FRAG_NEEDED },
		/* an inner MTU below 1280 cannot carry IPv6 here */
		{ 1280, 1319, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_DROP },
		{ 1280, 1331, EF_EDGE_FWD_GUE, EF_EDGE_FIT_DROP },
	};

	for (const auto &c : cases6)
		EXPECT_EQ(ef_edge_fit6(c.len, c.mtu, c.fwd | EF_EDGE_OUTER6),
			  c.want) << c.len << " mtu " << c.mtu << " outer6 "
			<< ef_edge_fwd_name(c.fwd);
	for (const auto &c : cases)
		EXPECT_EQ(ef_edge_fit6(c.len, c.mtu, c.fwd), c.want)
			<< c.len << " mtu " << c.mtu << " "
			<< ef_edge_fwd_name(c.fwd);
}

TEST(EdgeMtu, FitDecisions)
{
	struct {
		uint32_t len;
		bool df;
		uint32_t mtu;
		uint8_t fwd;
		enum ef_edge_fit want;
	} cases[] = {
		{ 1480, true, 1500, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_OK },
		{ 1481, true, 1500, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_FRAG_NEEDED },
		{ 1481, false, 1500, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_FRAGMENT },
		{ 1468, true, 1500, EF_EDGE_FWD_GUE, EF_EDGE_FIT_OK },
		{ 1469, true, 1500, EF_EDGE_FWD_GUE, EF_EDGE_FIT_FRAG_NEEDED },
		{ 1500, false, 1500, EF_EDGE_FWD_GUE, EF_EDGE_FIT_FRAGMENT },
		{ 1500, true, 1500, EF_EDGE_FWD_L2, EF_EDGE_FIT_OK },
		{ 1501, true, 1500, EF_EDGE_FWD_L2, EF_EDGE_FIT_FRAG_NEEDED },
		/* an ICMP MTU below 68 is never sent */
		{ 100, true, 80, EF_EDGE_FWD_GUE, EF_EDGE_FIT_DROP },
		{ 100, false, 60, EF_EDGE_FWD_IPIP, EF_EDGE_FIT_DROP },
		{ 100, false, 80, EF_EDGE_FWD_GUE, EF_EDGE_FIT_FRAGMENT },
	};

	for (const auto &c : cases)
		EXPECT_EQ(ef_edge_fit(c.len, c.df, c.mtu, c.fwd), c.want)
			<< c.len << " df " << c.df << " mtu " << c.mtu << " "
			<< ef_edge_fwd_name(c.fwd);
}

TEST(EdgeMtu, FragNeededForDfPacketOverTheLimit)
{
	Bytes in = FIX(in_big_df);
	struct ef_pkt_meta pm;
	uint8_t out[600];
	uint32_t mtu = ef_edge_inner_mtu(1500, EF_EDGE_FWD_IPIP);

	ASSERT_EQ(ef_pkt_parse(in.data(), (uint32_t)in.size(), &pm), 0);
	ASSERT_EQ(pm.l3_len, 1500);
	ASSERT_EQ(ef_edge_fit(pm.l3_len, true, 1500, EF_EDGE_FWD_IPIP),
		  EF_EDGE_FIT_FRAG_NEEDED);
	int n = ef_pkt_build_icmp4_error(out, sizeof(out), in.data() + 14,
					 pm.l3_len, 3, 4, (uint16_t)mtu,
					 ip_of("198.51.100.1"));
	ASSERT_EQ(n, (int)sizeof(err_frag_needed));
	EXPECT_EQ(Bytes(out, out + n), FIX(err_frag_needed));
}

TEST_F(EdgeTest, NonDfTooBigIsFragmentedOuter)
{
	ef_edge_tunnel t = tunnel(EF_EDGE_FWD_IPIP);
	struct rte_mbuf *m = mbuf_of(FIX(in_big));
	struct rte_mbuf *out[8];
	uint16_t id = FIX_IP_ID0;

	ASSERT_EQ(ef_edge_fit(m->data_len - 14, false, 1500, EF_EDGE_FWD_IPIP),
		  EF_EDGE_FIT_FRAGMENT);
	ASSERT_EQ(ef_edge_encap(m, &t, 0, &id), EF_EDGE_ENCAP_OK);
	ASSERT_EQ(bytes_of(m), FIX(ipip_big));
	/* too few output slots: refused, m intact */
	EXPECT_EQ(ef_edge_fragment(m, 1500, pool(), out, 1), -ENOSPC);
	EXPECT_EQ(bytes_of(m), FIX(ipip_big));
	ASSERT_EQ(ef_edge_fragment(m, 1500, pool(), out, 8), 2);
	EXPECT_EQ(bytes_of(out[0]), FIX(ipip_big_f0));
	EXPECT_EQ(bytes_of(out[1]), FIX(ipip_big_f1));
	rte_pktmbuf_free(out[0]);
	rte_pktmbuf_free(out[1]);
}

TEST_F(EdgeTest, FragmentRefusesDfAndPacketsThatFit)
{
	struct rte_mbuf *out[8];
	struct rte_mbuf *m = mbuf_of(FIX(ipip_syn));	/* DF */

	EXPECT_EQ(ef_edge_fragment(m, 60, pool(), out, 8), -EINVAL);
	EXPECT_EQ(bytes_of(m), FIX(ipip_syn));
	rte_pktmbuf_free(m);
	m = mbuf_of(FIX(ipip_udp));	/* fits */
	EXPECT_EQ(ef_edge_fragment(m, 1500, pool(), out, 8), -EINVAL);
	EXPECT_EQ(bytes_of(m), FIX(ipip_udp));
	rte_pktmbuf_free(m);
}

/* ---------------------------------------------------------------- */
/* MSS clamp                                                         */
/* ---------------------------------------------------------------- */

struct MssCase {
	const char *name;
	Bytes in;
	uint16_t max;
	enum ef_edge_mss want;
	Bytes out;	/* empty: unchanged */
};

TEST(EdgeMss, Clamp)
{
	const MssCase cases[] = {
		{ "syn 1460 -> 1440", FIX(in_syn), 1440, EF_EDGE_MSS_CLAMPED,
		  FIX(syn_1440) },
		{ "odd offset 9000 -> 1428", FIX(syn_odd), 1428,
		  EF_EDGE_MSS_CLAMPED, FIX(syn_odd_1428) },
		{ "syn-ack", FIX(synack), 1440, EF_EDGE_MSS_CLAMPED,
		  FIX(synack_1440) },
		{ "below the limit", FIX(syn_1200), 1440, EF_EDGE_MSS_UNCHANGED,
		  {} },
		{ "equal to the limit", FIX(syn_1440), 1440,
		  EF_EDGE_MSS_UNCHANGED, {} },
		{ "no option", FIX(syn_nomss), 1440, EF_EDGE_MSS_NO_OPTION, {} },
		{ "option length 0", FIX(syn_badlen), 1440,
		  EF_EDGE_MSS_MALFORMED, {} },
		{ "option past the header", FIX(syn_mss_past), 1440,
		  EF_EDGE_MSS_MALFORMED, {} },
		{ "MSS of length 3 ignored", FIX(syn_mss_len3), 1,
		  EF_EDGE_MSS_NO_OPTION, {} },
		{ "not a SYN", FIX(ack_data), 1440, EF_EDGE_MSS_NOT_SYN, {} },
		{ "UDP", FIX(in_udp), 1440, EF_EDGE_MSS_NOT_SYN, {} },
		{ "IPv6 syn 1460 -> 1420", FIX(in6_syn), 1420,
		  EF_EDGE_MSS_CLAMPED, FIX(syn6_1420) },
		{ "IPv6 below the limit", FIX(syn6_1420), 1440,
		  EF_EDGE_MSS_UNCHANGED, {} },
		{ "IPv6 UDP", FIX(in6_udp), 1420, EF_EDGE_MSS_NOT_SYN, {} },
	};

	for (const auto &c : cases) {
		Bytes f = c.in;
		struct ef_pkt_meta pm;

		ASSERT_EQ(ef_pkt_parse(f.data(), (uint32_t)f.size(), &pm), 0)
			<< c.name;
		EXPECT_EQ(ef_edge_mss_clamp(f.data(), &pm, c.max), c.want)
			<< c.name;
		EXPECT_EQ(f, c.out.empty() ? c.in : c.out) << c.name;
		EXPECT_TRUE(ef_pkt_l4_csum_ok(f.data(), &pm)) << c.name;
	}
}

TEST(EdgeMss, HostileOptionsNeverBreakTheSegment)
{
	/* every value in every option byte: no crash, no write outside the
	 * header, and a clamped segment always has a right checksum */
	const Bytes base = FIX(syn_odd);
	uint32_t clamped = 0;

	for (size_t off = 14 + 20 + 20; off < base.size(); off++) {
		for (int v = 0; v < 256; v++) {
			Bytes f = base;
			struct ef_pkt_meta pm;

			f[off] = (uint8_t)v;
			if (ef_pkt_parse(f.data(), (uint32_t)f.size(), &pm) != 0)
				continue;
			ef_pkt_fill_csums4(f.data(), &pm);
			Bytes before = f;
			int rc = ef_edge_mss_clamp(f.data(), &pm, 536);

			if (rc == EF_EDGE_MSS_CLAMPED) {
				clamped++;
				EXPECT_TRUE(ef_pkt_l4_csum_ok(f.data(), &pm));
				EXPECT_TRUE(std::equal(f.begin(), f.begin() + 14 + 20 + 16,
						       before.begin()));
			} else {
				EXPECT_EQ(f, before) << off << " " << v;
			}
		}
	}
	EXPECT_GT(clamped, 100u);
}

/* ---------------------------------------------------------------- */
/* Decapsulation                                                     */
/* ---------------------------------------------------------------- */

static ef_edge_decap_cfg *
decap_10_1_0_0()
{
	ef_edge_prefix p = { ip_of("10.1.0.0"), 24 };

	return ef_edge_decap_create(&p, 1, 6080);
}

TEST(EdgeDecap, SourcePrefixesMerge)
{
	const ef_edge_prefix p[] = {
		{ ip_of("192.168.1.0"), 24 },
		{ ip_of("10.1.2.0"), 16 },	/* host bits ignored */
		{ ip_of("10.0.0.0"), 8 },	/* covers the one above */
		{ ip_of("192.168.0.0"), 24 },	/* adjacent to the first */
		{ ip_of("255.255.255.255"), 32 },
		{ ip_of("172.16.0.7"), 32 },
	};
	ef_edge_decap_cfg *d = ef_edge_decap_create(p, RTE_DIM(p), 6080);

	ASSERT_NE(d, nullptr);
	for (const char *a : { "10.0.0.0", "10.255.255.255", "10.1.0.5",
			       "192.168.0.0", "192.168.1.255",
			       "255.255.255.255", "172.16.0.7" })
		EXPECT_TRUE(ef_edge_decap_allowed(d, ip_of(a))) << a;
	for (const char *a : { "9.255.255.255", "11.0.0.0", "192.167.255.255",
			       "192.168.2.0", "255.255.255.254", "172.16.0.6",
			       "172.16.0.8", "0.0.0.0" })
		EXPECT_FALSE(ef_edge_decap_allowed(d, ip_of(a))) << a;
	ef_edge_decap_free(d);

	ef_edge_prefix all = { 0, 0 };
	d = ef_edge_decap_create(&all, 1, 6080);
	ASSERT_NE(d, nullptr);
	EXPECT_TRUE(ef_edge_decap_allowed(d, ip_of("0.0.0.0")));
	EXPECT_TRUE(ef_edge_decap_allowed(d, ip_of("255.255.255.255")));
	ef_edge_decap_free(d);

	ef_edge_prefix bad = { 0, 33 };
	EXPECT_EQ(ef_edge_decap_create(&bad, 1, 6080), nullptr);
	EXPECT_EQ(rte_errno, EINVAL);
	EXPECT_EQ(ef_edge_decap_create(p, 0, 6080), nullptr);
	EXPECT_EQ(ef_edge_decap_create(p, 1, 0), nullptr);
}

struct DecapCase {
	const char *name;
	Bytes in;
	int want;
};

TEST_F(EdgeTest, DecapAcceptsAllowedSources)
{
	ef_edge_decap_cfg *d = decap_10_1_0_0();

	ASSERT_NE(d, nullptr);
	for (const Bytes &in : { FIX(dec_ipip), FIX(dec_gue),
				 FIX(dec_gue_csum) }) {
		struct rte_mbuf *m = mbuf_of(in);
		struct ef_pkt_meta pm;

		ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
				       m->data_len, &pm), 0);
		EXPECT_EQ(ef_edge_decap(d, m, &pm), EF_EDGE_DECAP_OK);
		EXPECT_EQ(bytes_of(m), FIX(dec_inner));
		EXPECT_EQ(m->pkt_len, sizeof(dec_inner));
		/* the inner packet parses as the client's */
		ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
				       m->data_len, &pm), 0);
		EXPECT_EQ(pm.src.v4, ip_of("198.51.100.2"));
		EXPECT_EQ(pm.dst.v4, ip_of("203.0.113.10"));
		rte_pktmbuf_free(m);
	}
	ef_edge_decap_free(d);
}

TEST_F(EdgeTest, Decap6in4AndGueProto41)
{
	ef_edge_decap_cfg *d = decap_10_1_0_0();
	const struct {
		const char *name;
		Bytes in;
		Bytes want;
	} cases[] = {
		{ "6in4", FIX(dec6_ipip), FIX(dec6_inner) },
		{ "gue proto 41", FIX(dec6_gue), FIX(dec6_inner) },
		{ "gue proto 41, no options", FIX(dec_gue_v6),
		  FIX(dec_gue_v6_inner) },
	};

	ASSERT_NE(d, nullptr);
	for (const auto &c : cases) {
		struct rte_mbuf *m = mbuf_of(c.in);
		struct ef_pkt_meta pm;

		ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
				       m->data_len, &pm), 0) << c.name;
		EXPECT_EQ(ef_edge_decap(d, m, &pm), EF_EDGE_DECAP_OK) << c.name;
		/* the ethertype is IPv6's now */
		EXPECT_EQ(bytes_of(m), c.want) << c.name;
		ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
				       m->data_len, &pm), 0) << c.name;
		EXPECT_EQ(pm.l3, EF_PKT_L3_IPV6) << c.name;
		EXPECT_EQ(pm.proto, IPPROTO_TCP) << c.name;
		EXPECT_EQ(pm.dport, htons(80)) << c.name;
		rte_pktmbuf_free(m);
	}
	ef_edge_decap_free(d);
}

TEST_F(EdgeTest, DecapDeniesMalformedAndForged)
{
	const DecapCase cases[] = {
		{ "ipip from outside", FIX(dec_denied_ipip),
		  EF_EDGE_DECAP_DENIED },
		{ "gue from outside", FIX(dec_denied_gue), EF_EDGE_DECAP_DENIED },
		{ "gue version 1", FIX(dec_gue_v1), EF_EDGE_DECAP_GUE_VERSION },
		{ "gue control", FIX(dec_gue_ctrl), EF_EDGE_DECAP_GUE_CONTROL },
		{ "gue options", FIX(dec_gue_hlen), EF_EDGE_DECAP_GUE_OPTIONS },
		/* protocol 4 carrying IPv6, 41 carrying IPv4 */
		{ "ipip inner IPv6", FIX(dec_ipip_v6),
		  EF_EDGE_DECAP_INNER_NOT_IPV4 },
		{ "6in4 inner IPv4", FIX(dec6_v4_inside),
		  EF_EDGE_DECAP_INNER_NOT_IPV4 },
		{ "6in4 from outside", FIX(dec6_denied), EF_EDGE_DECAP_DENIED },
		{ "6in4 truncated", FIX(dec6_trunc), EF_EDGE_DECAP_TRUNC },
		{ "6in4 payload length lies", FIX(dec6_len),
		  EF_EDGE_DECAP_INNER_LEN },
		{ "6in4 jumbogram", FIX(dec6_jumbo), EF_EDGE_DECAP_INNER_LEN },
		{ "ipip truncated", FIX(dec_ipip_trunc), EF_EDGE_DECAP_TRUNC },
		{ "gue truncated", FIX(dec_gue_trunc), EF_EDGE_DECAP_TRUNC },
		{ "gue bad UDP checksum", FIX(dec_gue_badcsum),
		  EF_EDGE_DECAP_BAD_CHECKSUM },
		{ "inner longer than carried", FIX(dec_inner_short),
		  EF_EDGE_DECAP_INNER_LEN },
		{ "inner shorter than carried", FIX(dec_inner_long),
		  EF_EDGE_DECAP_INNER_LEN },
		{ "outer fragment", FIX(dec_frag), EF_EDGE_DECAP_FRAGMENT },
		{ "other UDP port", FIX(dec_udp_other), EF_EDGE_DECAP_NOT_ENCAP },
		{ "plain TCP", FIX(in_syn), EF_EDGE_DECAP_NOT_ENCAP },
	};
	ef_edge_decap_cfg *d = decap_10_1_0_0();

	ASSERT_NE(d, nullptr);
	for (const auto &c : cases) {
		struct rte_mbuf *m = mbuf_of(c.in);
		struct ef_pkt_meta pm;

		ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
				       m->data_len, &pm), 0) << c.name;
		int rc = ef_edge_decap(d, m, &pm);

		EXPECT_EQ(rc, c.want) << c.name << ": "
			<< ef_edge_decap_rc_name((unsigned)rc);
		EXPECT_EQ(bytes_of(m), c.in) << c.name;
		rte_pktmbuf_free(m);
	}
	/* no decap configured: nothing is decapsulated */
	struct rte_mbuf *m = mbuf_of(FIX(dec_ipip));
	struct ef_pkt_meta pm;
	ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *), m->data_len,
			       &pm), 0);
	EXPECT_EQ(ef_edge_decap(nullptr, m, &pm), EF_EDGE_DECAP_NOT_ENCAP);
	rte_pktmbuf_free(m);
	ef_edge_decap_free(d);
}

TEST_F(EdgeTest, DecapHostileBytesNeverCrash)
{
	/* every value in every byte of the UDP, GUE and inner IPv4 headers:
	 * whatever is accepted is a whole inner IPv4 packet */
	ef_edge_decap_cfg *d = decap_10_1_0_0();
	const Bytes base = FIX(dec_gue);
	uint32_t ok = 0, bad = 0;

	ASSERT_NE(d, nullptr);
	for (size_t off = 14 + 20; off < 14 + 20 + 12 + 20; off++) {
		for (int v = 0; v < 256; v += 3) {
			Bytes f = base;
			struct ef_pkt_meta pm;

			f[off] = (uint8_t)v;
			if (ef_pkt_parse(f.data(), (uint32_t)f.size(), &pm) != 0)
				continue;
			struct rte_mbuf *m = mbuf_of(f);
			int rc = ef_edge_decap(d, m, &pm);

			if (rc == EF_EDGE_DECAP_OK) {
				/* the inner L4 header is the normal path's to
				 * judge: its parse counts it */
				const uint8_t *in = rte_pktmbuf_mtod(m,
					const uint8_t *) + 14;
				uint32_t tot = (uint32_t)(in[2] << 8 | in[3]);

				ok++;
				EXPECT_EQ(in[0] >> 4, 4);
				EXPECT_GE(tot, (in[0] & 0xfu) * 4u);
				EXPECT_GE((in[0] & 0xfu) * 4u, 20u);
				EXPECT_EQ(tot + 14u, m->data_len);
				EXPECT_EQ(m->pkt_len, m->data_len);
			} else {
				bad++;
				EXPECT_EQ(bytes_of(m), f);
			}
			rte_pktmbuf_free(m);
		}
	}
	EXPECT_GT(ok, 0u);
	EXPECT_GT(bad, 0u);
	ef_edge_decap_free(d);
}

TEST_F(EdgeTest, Decap6HostileBytesNeverCrash)
{
	/* the same over GUE proto 41 and the inner IPv6 header: whatever is
	 * accepted is a whole IPv6 packet behind an IPv6 ethertype */
	ef_edge_decap_cfg *d = decap_10_1_0_0();
	const Bytes base = FIX(dec6_gue);
	uint32_t ok = 0, bad = 0;

	ASSERT_NE(d, nullptr);
	for (size_t off = 14 + 20; off < 14 + 20 + 12 + 40; off++) {
		for (int v = 0; v < 256; v += 5) {
			Bytes f = base;
			struct ef_pkt_meta pm;

			f[off] = (uint8_t)v;
			if (ef_pkt_parse(f.data(), (uint32_t)f.size(), &pm) != 0)
				continue;
			struct rte_mbuf *m = mbuf_of(f);
			int rc = ef_edge_decap(d, m, &pm);

			if (rc == EF_EDGE_DECAP_OK) {
				const uint8_t *fr = rte_pktmbuf_mtod(m,
					const uint8_t *);
				uint32_t plen = (uint32_t)(fr[18] << 8 | fr[19]);

				ok++;
				EXPECT_EQ(fr[12], 0x86);
				EXPECT_EQ(fr[13], 0xdd);
				EXPECT_EQ(fr[14] >> 4, 6);
				EXPECT_EQ(14u + 40u + plen, m->data_len);
				EXPECT_EQ(m->pkt_len, m->data_len);
			} else {
				bad++;
				EXPECT_EQ(bytes_of(m), f);
			}
			rte_pktmbuf_free(m);
		}
	}
	EXPECT_GT(ok, 0u);
	EXPECT_GT(bad, 0u);
	ef_edge_decap_free(d);
}

/* ---------------------------------------------------------------- */
/* An IPv6 underlay: IPv6 outer headers (docs/EDGE.md)               */
/* ---------------------------------------------------------------- */

static ef_edge_prefix
prefix6(const char *text, uint8_t len)
{
	ef_edge_prefix p = {};

	p.family = EF_AF_INET6;
	p.len = len;
	EXPECT_EQ(1, inet_pton(AF_INET6, text, p.addr6)) << text;
	return p;
}

static bool
allowed6(const ef_edge_decap_cfg *d, const char *text)
{
	uint8_t a[16];

	EXPECT_EQ(1, inet_pton(AF_INET6, text, a)) << text;
	return ef_edge_decap_allowed6(d, a);
}

/* 10.1.0.0/24 and fd00:1::/64, as a dual-stack node lists them */
static ef_edge_decap_cfg *
decap_both()
{
	ef_edge_prefix p[2] = { { ip_of("10.1.0.0"), 24, 0, {} },
				prefix6("fd00:1::", 64) };

	return ef_edge_decap_create(p, 2, 6080);
}

TEST(EdgeDecap, Ipv6SourcePrefixesMergeApartFromIpv4)
{
	const ef_edge_prefix p[] = {
		prefix6("fd00:1::", 64),
		prefix6("fd00:1:0:1::", 64),	/* adjacent to the first */
		prefix6("fd00:1::abcd", 48),	/* host bits ignored, covers */
		prefix6("2001:db8::7", 128),
		prefix6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128),
		{ ip_of("10.1.0.0"), 24, EF_AF_INET4, {} },
	};
	ef_edge_decap_cfg *d = ef_edge_decap_create(p, RTE_DIM(p), 6080);

	ASSERT_NE(d, nullptr);
	EXPECT_TRUE(ef_edge_decap_has6(d));
	for (const char *a : { "fd00:1::", "fd00:1:0:1::5",
			       "fd00:1:0:ffff:ffff:ffff:ffff:ffff",
			       "2001:db8::7",
			       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" })
		EXPECT_TRUE(allowed6(d, a)) << a;
	for (const char *a : { "fd00:0:ffff:ffff:ffff:ffff:ffff:ffff",
			       "fd00:1:1::", "fd00:2::", "2001:db8::6",
			       "2001:db8::8", "::",
			       /* 10.1.0.5 as a v4-mapped address: IPv6's
				* ranges do not hold IPv4's */
			       "::ffff:10.1.0.5" })
		EXPECT_FALSE(allowed6(d, a)) << a;
	/* and IPv4's are not IPv6's */
	EXPECT_TRUE(ef_edge_decap_allowed(d, ip_of("10.1.0.5")));
	EXPECT_FALSE(ef_edge_decap_allowed(d, ip_of("253.0.0.1")));
	ef_edge_decap_free(d);

	ef_edge_prefix all = prefix6("::", 0);
	d = ef_edge_decap_create(&all, 1, 6080);
	ASSERT_NE(d, nullptr);
	EXPECT_TRUE(allowed6(d, "::"));
	EXPECT_TRUE(allowed6(d, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	/* no IPv4 prefix: no IPv4 source */
	EXPECT_FALSE(ef_edge_decap_allowed(d, ip_of("10.1.0.5")));
	ef_edge_decap_free(d);

	ef_edge_prefix bad = prefix6("fd00::", 129);
	EXPECT_EQ(ef_edge_decap_create(&bad, 1, 6080), nullptr);
	EXPECT_EQ(rte_errno, EINVAL);
	ef_edge_prefix fam = { 0, 8, 5, {} };
	EXPECT_EQ(ef_edge_decap_create(&fam, 1, 6080), nullptr);
	/* an IPv4-only set takes no IPv6 outer header */
	d = decap_10_1_0_0();
	ASSERT_NE(d, nullptr);
	EXPECT_FALSE(ef_edge_decap_has6(d));
	ef_edge_decap_free(d);
}

TEST_F(EdgeTest, DecapIpv6UnderlayIp6ip6Ipv4InIpv6AndGue)
{
	ef_edge_decap_cfg *d = decap_both();
	const struct {
		const char *name;
		Bytes in;
		Bytes want;
		uint16_t l3;
	} cases[] = {
		{ "ip6ip6", FIX(dec66_ipip), FIX(dec6_inner), EF_PKT_L3_IPV6 },
		{ "IPv4 in IPv6", FIX(dec46_ipip), FIX(l2_syn), EF_PKT_L3_IPV4 },
		{ "GUE over IPv6, proto 41", FIX(dec66_gue), FIX(dec6_inner),
		  EF_PKT_L3_IPV6 },
		{ "GUE over IPv6, proto 4", FIX(dec46_gue), FIX(l2_syn),
		  EF_PKT_L3_IPV4 },
		{ "destination options first", FIX(dec66_dstopt),
		  FIX(dec6_inner), EF_PKT_L3_IPV6 },
	};

	ASSERT_NE(d, nullptr);
	for (const auto &c : cases) {
		struct rte_mbuf *m = mbuf_of(c.in);
		struct ef_pkt_meta pm;

		ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
				       m->data_len, &pm), 0) << c.name;
		int rc = ef_edge_decap(d, m, &pm);

		EXPECT_EQ(rc, EF_EDGE_DECAP_OK) << c.name << ": "
			<< ef_edge_decap_rc_name((unsigned)rc);
		/* the ethertype is the inner family's */
		EXPECT_EQ(bytes_of(m), c.want) << c.name;
		ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
				       m->data_len, &pm), 0) << c.name;
		EXPECT_EQ(pm.l3, c.l3) << c.name;
		EXPECT_EQ(pm.proto, IPPROTO_TCP) << c.name;
		EXPECT_EQ(pm.dport, htons(80)) << c.name;
		rte_pktmbuf_free(m);
	}
	ef_edge_decap_free(d);
}

TEST_F(EdgeTest, DecapIpv6UnderlayDeniesMalformedAndForged)
{
	const DecapCase cases[] = {
		{ "ip6ip6 from outside", FIX(dec66_denied),
		  EF_EDGE_DECAP_DENIED },
		{ "GUE over IPv6 without a checksum", FIX(dec66_gue_nocsum),
		  EF_EDGE_DECAP_BAD_CHECKSUM },
		{ "GUE over IPv6, wrong checksum", FIX(dec66_gue_badcsum),
		  EF_EDGE_DECAP_BAD_CHECKSUM },
		{ "outer fragment header", FIX(dec66_frag),
		  EF_EDGE_DECAP_FRAGMENT },
		{ "protocol 4 carrying IPv6", FIX(dec46_v6_inside),
		  EF_EDGE_DECAP_INNER_NOT_IPV4 },
		{ "ip6ip6 truncated", FIX(dec66_trunc), EF_EDGE_DECAP_TRUNC },
		{ "inner payload length lies", FIX(dec66_len),
		  EF_EDGE_DECAP_INNER_LEN },
	};
	ef_edge_decap_cfg *d = decap_both();
	ef_edge_decap_cfg *d4 = decap_10_1_0_0();

	ASSERT_NE(d, nullptr);
	ASSERT_NE(d4, nullptr);
	for (const auto &c : cases) {
		struct rte_mbuf *m = mbuf_of(c.in);
		struct ef_pkt_meta pm;

		ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
				       m->data_len, &pm), 0) << c.name;
		int rc = ef_edge_decap(d, m, &pm);

		EXPECT_EQ(rc, c.want) << c.name << ": "
			<< ef_edge_decap_rc_name((unsigned)rc);
		EXPECT_EQ(bytes_of(m), c.in) << c.name;
		rte_pktmbuf_free(m);
	}
	/* no IPv6 prefix listed: an IPv6 outer header is not a tunnel's */
	for (const Bytes &in : { FIX(dec66_ipip), FIX(dec46_gue) }) {
		struct rte_mbuf *m = mbuf_of(in);
		struct ef_pkt_meta pm;

		ASSERT_EQ(ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *),
				       m->data_len, &pm), 0);
		EXPECT_EQ(ef_edge_decap(d4, m, &pm), EF_EDGE_DECAP_NOT_ENCAP);
		EXPECT_EQ(bytes_of(m), in);
		rte_pktmbuf_free(m);
	}
	ef_edge_decap_free(d4);
	ef_edge_decap_free(d);
}

TEST_F(EdgeTest, DecapIpv6UnderlayHostileBytesNeverCrash)
{
	/* every fifth value in every byte of the outer UDP, GUE and inner
	 * IPv4 headers of GUE over IPv6: whatever is accepted is a whole
	 * IPv4 packet behind an IPv4 ethertype; and of the outer IPv6
	 * header's next header, which may make it anything */
	ef_edge_decap_cfg *d = decap_both();
	const Bytes base = FIX(dec46_gue);
	uint32_t ok = 0, bad = 0;

	ASSERT_NE(d, nullptr);
	std::vector<size_t> offs = { 14 + 6 };
	for (size_t off = 14 + 40; off < 14 + 40 + 12 + 20; off++)
		offs.push_back(off);
	for (size_t off : offs) {
		for (int v = 0; v < 256; v += 5) {
			Bytes f = base;
			struct ef_pkt_meta pm;

			f[off] = (uint8_t)v;
			if (ef_pkt_parse(f.data(), (uint32_t)f.size(), &pm) != 0)
				continue;
			struct rte_mbuf *m = mbuf_of(f);
			int rc = ef_edge_decap(d, m, &pm);

			if (rc == EF_EDGE_DECAP_OK) {
				const uint8_t *fr = rte_pktmbuf_mtod(m,
					const uint8_t *);

				ok++;
				if (fr[12] == 0x08) {
					EXPECT_EQ(fr[14] >> 4, 4);
					EXPECT_EQ(14u + (uint32_t)(fr[16] << 8 |
							 fr[17]),
						  m->data_len);
				} else {
					EXPECT_EQ(fr[12], 0x86);
					EXPECT_EQ(fr[14] >> 4, 6);
				}
				EXPECT_EQ(m->pkt_len, m->data_len);
			} else {
				bad++;
				EXPECT_EQ(bytes_of(m), f);
			}
			rte_pktmbuf_free(m);
		}
	}
	EXPECT_GT(ok, 0u);
	EXPECT_GT(bad, 0u);
	ef_edge_decap_free(d);
}

/* ---------------------------------------------------------------- */
/* Weights and Maglev                                                */
/* ---------------------------------------------------------------- */

TEST(EdgeWeights, PerMode)
{
	ef_edge_node_view v = { 3, 5, true, false };

	EXPECT_EQ(ef_edge_node_weight(EF_EDGE_WEIGHTS_ENDPOINTS, false, &v), 3u);
	EXPECT_EQ(ef_edge_node_weight(EF_EDGE_WEIGHTS_HEALTH, false, &v), 5u);
	EXPECT_EQ(ef_edge_node_weight(EF_EDGE_WEIGHTS_EQUAL, false, &v), 1u);
	/* Cluster policy: every healthy node equal, whatever the mode */
	EXPECT_EQ(ef_edge_node_weight(EF_EDGE_WEIGHTS_ENDPOINTS, true, &v), 1u);
	EXPECT_EQ(ef_edge_node_weight(EF_EDGE_WEIGHTS_HEALTH, true, &v), 1u);
	/* no header: the endpoint count */
	v.header_weight = -1;
	EXPECT_EQ(ef_edge_node_weight(EF_EDGE_WEIGHTS_HEALTH, false, &v), 3u);
	v.header_weight = 1 << 20;
	EXPECT_EQ(ef_edge_node_weight(EF_EDGE_WEIGHTS_HEALTH, false, &v),
		  EF_EDGE_MAX_WEIGHT);
	v.draining = true;
	for (unsigned w = 0; w < EF_EDGE_WEIGHTS_MAX; w++) {
		EXPECT_EQ(ef_edge_node_weight(w, false, &v), 0u);
		EXPECT_EQ(ef_edge_node_weight(w, true, &v), 0u);
	}
	v.draining = false;
	v.healthy = false;
	for (unsigned w = 0; w < EF_EDGE_WEIGHTS_MAX; w++)
		EXPECT_EQ(ef_edge_node_weight(w, true, &v), 0u);
	v.healthy = true;
	v.ready_endpoints = 0;
	EXPECT_EQ(ef_edge_node_weight(EF_EDGE_WEIGHTS_ENDPOINTS, false, &v), 0u);
}

TEST(EdgeWeights, HeaderValue)
{
	EXPECT_EQ(ef_edge_parse_weight_header("3"), 3);
	EXPECT_EQ(ef_edge_parse_weight_header(" 12\t"), 12);
	EXPECT_EQ(ef_edge_parse_weight_header("0"), 0);
	EXPECT_EQ(ef_edge_parse_weight_header("99999999999999999999"),
		  (int64_t)EF_EDGE_MAX_WEIGHT);
	for (const char *bad : { "", " ", "-1", "1 2", "x", "3x", "0x10" })
		EXPECT_EQ(ef_edge_parse_weight_header(bad), -1) << bad;
	EXPECT_EQ(ef_edge_parse_weight_header(nullptr), -1);
}

static ef_edge_node
node(const char *name, const char *addr, uint32_t weight, bool healthy = true,
     bool draining = false)
{
	ef_edge_node n;

	memset(&n, 0, sizeof(n));
	snprintf(n.name, sizeof(n.name), "%s", name);
	n.addr = ip_of(addr);
	n.weight = weight;
	n.healthy = healthy;
	n.draining = draining;
	return n;
}

static std::map<uint32_t, uint32_t>
table_share(const ef_edge_lb *lb)
{
	std::map<uint32_t, uint32_t> s;

	for (uint32_t i = 0; i < lb->size; i++)
		if (lb->table[i] != EF_EDGE_NO_NODE)
			s[lb->nodes[lb->table[i]].addr]++;
	return s;
}

static ef_edge_flow_key
key(uint32_t i)
{
	ef_edge_flow_key k;

	memset(&k, 0, sizeof(k));
	k.src = htonl(0xc6336400u + (i % 200));		/* 198.51.100.x */
	k.dst = ip_of("203.0.113.10");
	k.sport = htons((uint16_t)(1024 + i / 200));
	k.dport = htons(80);
	k.proto = IPPROTO_TCP;
	return k;
}

TEST(EdgeLb, WeightsOneAndThreeGiveQuarterAndThreeQuarters)
{
	ef_edge_node nodes[] = { node("node-1", "10.1.0.11", 1),
				 node("node-2", "10.1.0.12", 3) };
	ef_edge_lb *lb = ef_edge_lb_build(nodes, 2, 1);

	ASSERT_NE(lb, nullptr);
	auto s = table_share(lb);
	double f1 = (double)s[ip_of("10.1.0.11")] / lb->size;
	double f2 = (double)s[ip_of("10.1.0.12")] / lb->size;
	EXPECT_NEAR(f1, 0.25, 0.01) << lb->size;
	EXPECT_NEAR(f2, 0.75, 0.01);
	EXPECT_EQ(s[ip_of("10.1.0.11")] + s[ip_of("10.1.0.12")], lb->size);

	/* and so do flows */
	uint32_t n1 = 0, total = 100000;
	for (uint32_t i = 0; i < total; i++) {
		ef_edge_flow_key k = key(i);
		uint32_t idx = ef_edge_lb_pick(lb, ef_edge_flow_hash(&k));

		ASSERT_LT(idx, 2u);
		n1 += lb->nodes[idx].addr == ip_of("10.1.0.11");
	}
	EXPECT_NEAR((double)n1 / total, 0.25, 0.015);
	ef_edge_lb_free(lb);
}

TEST(EdgeLb, EndpointWeightsGiveEveryPodAnEqualShare)
{
	/* the topology: 1 pod on node-1, 3 on node-2, 4 nodes with
	 * 1..4 pods: each node's share is its pods' share */
	ef_edge_node nodes[] = { node("a", "10.1.0.11", 1),
				 node("b", "10.1.0.12", 2),
				 node("c", "10.1.0.13", 3),
				 node("d", "10.1.0.14", 4) };
	ef_edge_lb *lb = ef_edge_lb_build(nodes, 4, 1);

	ASSERT_NE(lb, nullptr);
	auto s = table_share(lb);
	for (const auto &n : nodes)
		EXPECT_NEAR((double)s[n.addr] / lb->size, n.weight / 10.0, 0.01)
			<< n.name;
	ef_edge_lb_free(lb);
}

TEST(EdgeLb, OrderIndependentAndDeterministic)
{
	ef_edge_node a[] = { node("n1", "10.1.0.11", 1),
			     node("n2", "10.1.0.12", 3),
			     node("n3", "10.1.0.13", 2) };
	ef_edge_node b[] = { a[2], a[0], a[1] };
	ef_edge_lb *x = ef_edge_lb_build(a, 3, 1);
	ef_edge_lb *y = ef_edge_lb_build(b, 3, 7);

	ASSERT_NE(x, nullptr);
	ASSERT_NE(y, nullptr);
	ASSERT_EQ(x->size, y->size);
	for (uint32_t i = 0; i < x->size; i++)
		ASSERT_EQ(x->nodes[x->table[i]].addr, y->nodes[y->table[i]].addr);
	EXPECT_EQ(ef_edge_lb_find(x, ip_of("10.1.0.13")), 2u);
	EXPECT_EQ(ef_edge_lb_find(x, ip_of("10.1.0.14")), EF_EDGE_NO_NODE);
	ef_edge_lb_free(x);
	ef_edge_lb_free(y);
}

TEST(EdgeLb, ZeroWeightDownAndDuplicates)
{
	ef_edge_node a[] = { node("n1", "10.1.0.11", 0, true, true),
			     node("n2", "10.1.0.12", 4, false),
			     node("n3", "10.1.0.13", 2) };
	ef_edge_lb *lb = ef_edge_lb_build(a, 3, 1);

	ASSERT_NE(lb, nullptr);
	auto s = table_share(lb);
	EXPECT_EQ(s.size(), 1u);
	EXPECT_EQ(s[ip_of("10.1.0.13")], lb->size);
	ef_edge_lb_free(lb);

	ef_edge_node z[] = { node("n1", "10.1.0.11", 0) };
	lb = ef_edge_lb_build(z, 1, 1);
	ASSERT_NE(lb, nullptr);
	EXPECT_EQ(ef_edge_lb_pick(lb, 12345), EF_EDGE_NO_NODE);
	ef_edge_lb_free(lb);
	lb = ef_edge_lb_build(nullptr, 0, 1);
	ASSERT_NE(lb, nullptr);
	EXPECT_EQ(ef_edge_lb_pick(lb, 0), EF_EDGE_NO_NODE);
	EXPECT_EQ(ef_edge_lb_find(lb, ip_of("10.1.0.11")), EF_EDGE_NO_NODE);
	ef_edge_lb_free(lb);

	ef_edge_node d[] = { node("n1", "10.1.0.11", 1),
			     node("n1b", "10.1.0.11", 1) };
	EXPECT_EQ(ef_edge_lb_build(d, 2, 1), nullptr);
	EXPECT_EQ(rte_errno, EINVAL);
}

/* ---------------------------------------------------------------- */
/* Flow table and steering                                           */
/* ---------------------------------------------------------------- */

class EdgeFlows : public ::testing::Test {
protected:
	ef_edge_flows *make(const char *name, uint32_t cap, uint32_t to = 300,
			    uint32_t fin = 0)
	{
		ef_edge_flows_params p = { name, cap, to, fin, SOCKET_ID_ANY };
		ef_edge_flows *ft = ef_edge_flows_create(&p);

		EXPECT_NE(ft, nullptr) << name << ": " << rte_strerror(rte_errno);
		tables.push_back(ft);
		return ft;
	}
	void TearDown() override
	{
		for (auto *t : tables)
			ef_edge_flows_free(t);
		for (auto *l : lbs)
			ef_edge_lb_free(l);
	}
	ef_edge_lb *lb(std::vector<ef_edge_node> n, uint32_t gen)
	{
		ef_edge_lb *l = ef_edge_lb_build(n.data(), (uint32_t)n.size(),
						 gen);

		EXPECT_NE(l, nullptr);
		lbs.push_back(l);
		return l;
	}
	/* steer one packet through a table */
	int steer(ef_edge_flows *ft, const ef_edge_lb *l, uint32_t i,
		  uint8_t flags, uint32_t now, uint32_t *addr)
	{
		ef_edge_flow_key k = key(i);
		uint32_t idx = EF_EDGE_NO_NODE;
		int rc = ef_edge_steer(ft, l, &k, ef_edge_flow_hash(&k),
				       ef_edge_flows_lookup(ft, &k), flags, 9,
				       now, &idx);

		*addr = idx < l->n_nodes ? l->nodes[idx].addr : 0;
		return rc;
	}
	std::vector<ef_edge_flows *> tables;
	std::vector<ef_edge_lb *> lbs;
};

static const uint8_t SYN = RTE_TCP_SYN_FLAG;
static const uint8_t ACK = RTE_TCP_ACK_FLAG;

TEST_F(EdgeFlows, CreateErrors)
{
	ef_edge_flows_params p = { "edge_err", 4, 300, 0, SOCKET_ID_ANY };

	EXPECT_EQ(ef_edge_flows_create(&p), nullptr);
	EXPECT_EQ(rte_errno, EINVAL);
	p.capacity = 64;
	p.timeout_s = 0;
	EXPECT_EQ(ef_edge_flows_create(&p), nullptr);
	p.timeout_s = 300;
	p.name = "edge_name_far_too_long_for_rte";
	EXPECT_EQ(ef_edge_flows_create(&p), nullptr);
	EXPECT_EQ(rte_errno, ENAMETOOLONG);
	ASSERT_NE(make("edge_dup", 64), nullptr);
	p.name = "edge_dup";
	EXPECT_EQ(ef_edge_flows_create(&p), nullptr);
	EXPECT_EQ(rte_errno, EEXIST);
}

/* IPv6 client i: keys that differ only in the bytes an IPv4 key has no
 * room for (the top of the source address), so a table that looked at
 * 16 bytes would confuse them all. */
static ef_edge_flow_key6
key6(uint32_t i)
{
	ef_edge_flow_key6 k;

	memset(&k, 0, sizeof(k));
	k.src[0] = 0x20;
	k.src[1] = 0x01;
	k.src[2] = (uint8_t)(i >> 8);
	k.src[3] = (uint8_t)i;
	k.dst[0] = 0x20;
	k.dst[15] = 0x10;
	k.sport = htons(40000);
	k.dport = htons(80);
	k.proto = IPPROTO_TCP;
	return k;
}

TEST_F(EdgeFlows, Ipv6TableKeysAll40BytesAndSharesTheCounters)
{
	ef_edge_flows *ft4 = make("edge_v4", 1024);
	ef_edge_flows_params p = { "edge_v6", 1024, 300, 0, SOCKET_ID_ANY };
	ef_edge_node n1 = node("n1", "10.1.0.11", 1);
	ef_edge_node n2 = node("n2", "10.1.0.12", 3);
	n1.slot = 101;
	n2.slot = 102;
	ef_edge_lb *l = lb({ n1, n2 }, 1);
	std::map<uint32_t, uint32_t> by_node;

	p.key_len = 17;
	EXPECT_EQ(ef_edge_flows_create(&p), nullptr);
	EXPECT_EQ(rte_errno, EINVAL);
	p.key_len = EF_EDGE_KEY6_LEN;
	p.shared_ctr = ef_edge_flows_ctr(ft4);
	ef_edge_flows *ft6 = ef_edge_flows_create(&p);
	ASSERT_NE(ft6, nullptr);
	/* freed before ft4 (TearDown frees in order): it borrows its
	 * counters */
	tables.insert(tables.begin(), ft6);
	for (uint32_t i = 0; i < 400; i++) {
		ef_edge_flow_key6 k = key6(i);
		uint32_t idx = EF_EDGE_NO_NODE;

		EXPECT_EQ(ef_edge_flows_lookup(ft6, &k), nullptr) << i;
		ASSERT_EQ(ef_edge_steer(ft6, l, &k, ef_edge_flow_hash6(&k),
					nullptr, SYN, 9, 0, &idx),
			  EF_EDGE_STEER_NEW) << i;
		by_node[l->nodes[idx].addr]++;
	}
	EXPECT_EQ(ef_edge_flows_stats(ft6)->active, 400u);
	EXPECT_EQ(ef_edge_flows_stats(ft4)->active, 0u);
	/* 1:3 over 400 flows */
	EXPECT_NEAR(by_node[ip_of("10.1.0.11")], 100, 35);
	/* every flow found again, on its node, whatever the weights */
	n1.weight = 3;
	n2.weight = 1;
	ef_edge_lb *l2 = lb({ n1, n2 }, 2);
	for (uint32_t i = 0; i < 400; i++) {
		ef_edge_flow_key6 k = key6(i);
		ef_edge_flow *f = ef_edge_flows_lookup(ft6, &k);
		uint32_t idx = EF_EDGE_NO_NODE, again = EF_EDGE_NO_NODE;

		ASSERT_NE(f, nullptr) << i;
		uint32_t addr = f->node_addr;
		ASSERT_EQ(ef_edge_steer(ft6, l2, &k, ef_edge_flow_hash6(&k), f,
					ACK, 9, 1, &idx), EF_EDGE_STEER_HIT);
		EXPECT_EQ(l2->nodes[idx].addr, addr);
		/* the hash is a function of the key alone: an edge with
		 * the same nodes makes the same first choice */
		again = ef_edge_lb_pick(l, ef_edge_flow_hash6(&k));
		EXPECT_EQ(l->nodes[again].addr, addr);
	}
	/* the flows count where the IPv4 table's counters are read */
	uint64_t packets = 0;
	int64_t flows = 0;
	for (uint32_t n = 0; n < l->n_nodes; n++)
		ef_edge_flows_ctr_read(ft4, l->nodes[n].slot, &packets, &flows);
	EXPECT_EQ(flows, 400);
	ef_edge_flow_key6 k = key6(7);
	EXPECT_EQ(ef_edge_flows_delete(ft6, &k), 0);
	flows = 0;
	for (uint32_t n = 0; n < l->n_nodes; n++)
		ef_edge_flows_ctr_read(ft4, l->nodes[n].slot, &packets, &flows);
	EXPECT_EQ(flows, 399);
}

TEST_F(EdgeFlows, WeightChangeMovesNoEstablishedFlow)
{
	ef_edge_flows *ft = make("edge_sticky", 4096);
	ef_edge_lb *l1 = lb({ node("n1", "10.1.0.11", 1),
			      node("n2", "10.1.0.12", 3) }, 1);
	/* weights swapped and a third node: a rebuilt table */
	ef_edge_lb *l2 = lb({ node("n1", "10.1.0.11", 3),
			      node("n2", "10.1.0.12", 1),
			      node("n3", "10.1.0.13", 4) }, 2);
	std::map<uint32_t, uint32_t> first;
	uint32_t moved_by_table = 0;

	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t a;

		ASSERT_EQ(steer(ft, l1, i, SYN, 0, &a), EF_EDGE_STEER_NEW);
		first[i] = a;
	}
	EXPECT_EQ(ef_edge_flows_stats(ft)->active, 2000u);
	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t a;
		ef_edge_flow_key k = key(i);

		ASSERT_EQ(steer(ft, l2, i, ACK, 10, &a), EF_EDGE_STEER_HIT);
		EXPECT_EQ(a, first[i]);
		moved_by_table += l2->nodes[ef_edge_lb_pick(l2,
			ef_edge_flow_hash(&k))].addr != first[i];
	}
	/* the new table would have moved many of them */
	EXPECT_GT(moved_by_table, 500u);
	/* new flows follow the new table */
	for (uint32_t i = 5000; i < 5100; i++) {
		uint32_t a;
		ef_edge_flow_key k = key(i);

		ASSERT_EQ(steer(ft, l2, i, SYN, 10, &a), EF_EDGE_STEER_NEW);
		EXPECT_EQ(a, l2->nodes[ef_edge_lb_pick(l2,
			ef_edge_flow_hash(&k))].addr);
	}
}

static ef_edge_node
node6(const char *name, const char *addr, uint32_t weight)
{
	ef_edge_node n = node(name, "10.1.0.1", weight);

	n.v6 = 1;
	inet_pton(AF_INET6, addr, n.addr6);
	n.addr = ef_edge_node_key6(n.addr6);
	return n;
}

/* IPv6 node addresses get keys in 0.0.0.0/8, one per address, kept. */
TEST(EdgeNodeKeys, StableDistinctAndOutsideNodeAddresses)
{
	uint8_t a[16], b[16];

	inet_pton(AF_INET6, "fd00:1::11", a);
	inet_pton(AF_INET6, "fd00:1::12", b);
	uint32_t ka = ef_edge_node_key6(a), kb = ef_edge_node_key6(b);

	EXPECT_NE(ka, EF_EDGE_NO_KEY);
	EXPECT_NE(kb, EF_EDGE_NO_KEY);
	EXPECT_NE(ka, kb);
	EXPECT_EQ(ka, ef_edge_node_key6(a));
	EXPECT_EQ(ntohl(ka) >> 24, 0u);
	EXPECT_EQ(ntohl(kb) >> 24, 0u);
}

/* A table over IPv4 and IPv6 nodes: found by key, weighted, and the
 * same Maglev table whatever keys the IPv6 nodes got (two edges with
 * other histories): Maglev sees the addresses. */
TEST(EdgeLb, Ipv6NodesSpreadByAddressNotByKey)
{
	ef_edge_node a[] = { node6("n6a", "fd00:1::11", 1),
			     node("n4", "10.1.0.12", 1),
			     node6("n6b", "fd00:1::13", 2) };
	ef_edge_node b[] = { a[2], a[1], a[0] };
	/* another edge's keys for the same two IPv6 nodes: swapped */
	std::swap(b[0].addr, b[2].addr);
	ef_edge_lb *x = ef_edge_lb_build(a, 3, 1);
	ef_edge_lb *y = ef_edge_lb_build(b, 3, 2);

	ASSERT_NE(x, nullptr);
	ASSERT_NE(y, nullptr);
	ASSERT_EQ(x->size, y->size);
	uint32_t per[3] = { 0, 0, 0 };
	for (uint32_t i = 0; i < x->size; i++) {
		const ef_edge_lb_node *nx = &x->nodes[x->table[i]];
		const ef_edge_lb_node *ny = &y->nodes[y->table[i]];

		ASSERT_EQ(nx->v6, ny->v6);
		ASSERT_EQ(memcmp(nx->addr6, ny->addr6, 16), 0);
		if (!nx->v6) {
			ASSERT_EQ(nx->addr, ny->addr);
		}
		per[nx->v6 ? (nx->addr6[15] == 0x11 ? 0 : 2) : 1]++;
	}
	EXPECT_NEAR((double)per[0] / x->size, 0.25, 0.01);
	EXPECT_NEAR((double)per[1] / x->size, 0.25, 0.01);
	EXPECT_NEAR((double)per[2] / x->size, 0.5, 0.01);
	uint32_t i6 = ef_edge_lb_find(x, a[2].addr);
	ASSERT_NE(i6, EF_EDGE_NO_NODE);
	EXPECT_EQ(x->nodes[i6].v6, 1);
	EXPECT_EQ(memcmp(x->nodes[i6].addr6, a[2].addr6, 16), 0);
	EXPECT_EQ(x->nodes[i6].weight, 2u);
	ef_edge_lb_free(x);
	ef_edge_lb_free(y);
	/* an IPv6 node without a key (the registry was full) is refused */
	a[0].addr = EF_EDGE_NO_KEY;
	EXPECT_EQ(ef_edge_lb_build(a, 3, 3), nullptr);
}

/* this executable's own registry: the slot tests below share it */
TEST(EdgeSlots, StableDistinctAndBounded)
{
	uint32_t a = ef_edge_ctr_slot(1, ip_of("10.1.0.11"));
	uint32_t b = ef_edge_ctr_slot(1, ip_of("10.1.0.12"));
	uint32_t c = ef_edge_ctr_slot(2, ip_of("10.1.0.11"));

	ASSERT_LT(a, EF_EDGE_CTR_SLOTS);
	EXPECT_NE(a, b);
	EXPECT_NE(a, c);
	EXPECT_NE(b, c);
	EXPECT_EQ(a, ef_edge_ctr_slot(1, ip_of("10.1.0.11")));
	EXPECT_EQ(c, ef_edge_ctr_slot(2, ip_of("10.1.0.11")));
	/* fill the registry (this test runs after EdgeFlows, which needs
	 * slots): then new pairs get none, known ones keep theirs */
	uint32_t given = 0;
	for (uint32_t i = 0; i < EF_EDGE_CTR_SLOTS + 1; i++)
		given += ef_edge_ctr_slot(1000 + i, 1) != EF_EDGE_NO_SLOT;
	EXPECT_LT(given, EF_EDGE_CTR_SLOTS);
	EXPECT_EQ(EF_EDGE_NO_SLOT, ef_edge_ctr_slot(7, 7));
	EXPECT_EQ(a, ef_edge_ctr_slot(1, ip_of("10.1.0.11")));
	EXPECT_EQ(b, ef_edge_ctr_slot(1, ip_of("10.1.0.12")));
}

TEST_F(EdgeFlows, CountersFollowTheEntries)
{
	ef_edge_flows *ft = make("edge_ctr", 4096, 300, 5);
	ef_edge_node n1 = node("n1", "10.1.0.11", 1);
	ef_edge_node n2 = node("n2", "10.1.0.12", 3);
	ef_edge_node_ctr *ctr = ef_edge_flows_ctr(ft);
	uint64_t pk[2] = { 0, 0 };
	int64_t fl[2] = { 0, 0 };

	n1.slot = ef_edge_ctr_slot(9, n1.addr);
	n2.slot = ef_edge_ctr_slot(9, n2.addr);
	ASSERT_NE(n1.slot, EF_EDGE_NO_SLOT);
	ASSERT_NE(n2.slot, EF_EDGE_NO_SLOT);
	ef_edge_lb *l1 = lb({ n1, n2 }, 1);
	n2.healthy = false;
	ef_edge_lb *l2 = lb({ n1, n2 }, 2);
	std::map<uint32_t, int> on;

	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t a;

		ASSERT_EQ(steer(ft, l1, i, SYN, 0, &a), EF_EDGE_STEER_NEW);
		ef_edge_flows_count(ctr, a == n1.addr ? n1.slot : n2.slot);
		on[a]++;
	}
	ef_edge_flows_ctr_read(ft, n1.slot, &pk[0], &fl[0]);
	ef_edge_flows_ctr_read(ft, n2.slot, &pk[1], &fl[1]);
	EXPECT_EQ(fl[0], on[n1.addr]);
	EXPECT_EQ(fl[1], on[n2.addr]);
	EXPECT_EQ(pk[0], (uint64_t)on[n1.addr]);
	EXPECT_EQ(pk[0] + pk[1], 1000u);
	/* n2 down: its entries re-pick to n1 and their counts move */
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t a;

		steer(ft, l2, i, ACK, 10, &a);
		EXPECT_EQ(a, n1.addr);
	}
	fl[0] = fl[1] = 0;
	ef_edge_flows_ctr_read(ft, n1.slot, &pk[0], &fl[0]);
	ef_edge_flows_ctr_read(ft, n2.slot, &pk[1], &fl[1]);
	EXPECT_EQ(fl[0], 1000);
	EXPECT_EQ(fl[1], 0);
	/* deletion and expiry take them off */
	ef_edge_flow_key k = key(0);
	ASSERT_EQ(ef_edge_flows_delete(ft, &k), 0);
	fl[0] = 0;
	ef_edge_flows_ctr_read(ft, n1.slot, &pk[0], &fl[0]);
	EXPECT_EQ(fl[0], 999);
	EXPECT_EQ(ef_edge_flows_expire(ft, 400000, 4096, nullptr, nullptr),
		  999u);
	fl[0] = 0;
	ef_edge_flows_ctr_read(ft, n1.slot, &pk[0], &fl[0]);
	EXPECT_EQ(fl[0], 0);
	/* out-of-range slots count nothing and read nothing */
	ef_edge_flows_count(ctr, EF_EDGE_NO_SLOT);
	ef_edge_flows_ctr_read(ft, EF_EDGE_NO_SLOT, &pk[0], &fl[0]);
	EXPECT_EQ(fl[0], 0);
}

TEST_F(EdgeFlows, MidFlowWithoutEntryTakesTheMaglevChoice)
{
	/* two edges, same nodes and weights given in another order: the
	 * second sees only the middle of the flows (ECMP moved them) */
	ef_edge_flows *a = make("edge_a", 4096);
	ef_edge_flows *b = make("edge_b", 4096);
	ef_edge_lb *la = lb({ node("n1", "10.1.0.11", 1),
			      node("n2", "10.1.0.12", 3) }, 1);
	ef_edge_lb *lb2 = lb({ node("n2", "10.1.0.12", 3),
			       node("n1", "10.1.0.11", 1) }, 5);

	for (uint32_t i = 0; i < 3000; i++) {
		uint32_t x, y;

		ASSERT_EQ(steer(a, la, i, SYN, 0, &x), EF_EDGE_STEER_NEW);
		ASSERT_EQ(steer(b, lb2, i, ACK, 0, &y), EF_EDGE_STEER_NEW);
		ASSERT_EQ(x, y) << i;
		/* and b now holds it */
		ASSERT_EQ(steer(b, lb2, i, ACK, 1, &y), EF_EDGE_STEER_HIT);
		ASSERT_EQ(x, y);
	}
}

TEST_F(EdgeFlows, FullTableStillForwardsStatelessly)
{
	ef_edge_flows *ft = make("edge_full", 8);
	ef_edge_lb *l = lb({ node("n1", "10.1.0.11", 1),
			     node("n2", "10.1.0.12", 1) }, 1);
	uint32_t a;

	ASSERT_EQ(ef_edge_flows_capacity(ft), 8u);
	for (uint32_t i = 0; i < 8; i++)
		ASSERT_EQ(steer(ft, l, i, SYN, 0, &a), EF_EDGE_STEER_NEW) << i;
	for (uint32_t i = 8; i < 20; i++) {
		ef_edge_flow_key k = key(i);

		ASSERT_EQ(steer(ft, l, i, SYN, 0, &a), EF_EDGE_STEER_FULL);
		EXPECT_EQ(a, l->nodes[ef_edge_lb_pick(l,
			ef_edge_flow_hash(&k))].addr);
	}
	EXPECT_EQ(ef_edge_flows_stats(ft)->full, 12u);
	EXPECT_EQ(ef_edge_flows_stats(ft)->active, 8u);
	/* the ones in the table are still hits */
	for (uint32_t i = 0; i < 8; i++)
		EXPECT_EQ(steer(ft, l, i, ACK, 1, &a), EF_EDGE_STEER_HIT);
	/* one deleted: room for one more */
	ef_edge_flow_key k0 = key(0);
	EXPECT_EQ(ef_edge_flows_delete(ft, &k0), 0);
	EXPECT_EQ(ef_edge_flows_delete(ft, &k0), -ENOENT);
	EXPECT_EQ(steer(ft, l, 8, SYN, 2, &a), EF_EDGE_STEER_NEW);
	EXPECT_EQ(steer(ft, l, 9, SYN, 2, &a), EF_EDGE_STEER_FULL);
	int err = 0;
	ef_edge_flow_key k9 = key(9);
	EXPECT_EQ(ef_edge_flows_insert(ft, &k9, l, 0, 0, 2, &err), nullptr);
	EXPECT_EQ(err, -ENOSPC);
	ef_edge_flow_key k1 = key(1);
	EXPECT_EQ(ef_edge_flows_insert(ft, &k1, l, 0, 0, 2, &err), nullptr);
	EXPECT_EQ(err, -EEXIST);
}

TEST_F(EdgeFlows, ExpiryInBoundedSlicesAndSoonerAfterFin)
{
	ef_edge_flows *ft = make("edge_exp", 64, 300, 10);
	ef_edge_lb *l = lb({ node("n1", "10.1.0.11", 1) }, 1);
	uint32_t a, seen = 0;
	auto count = [](void *arg, const void *, ef_edge_flow *) {
		(*(uint32_t *)arg)++;
	};

	for (uint32_t i = 0; i < 40; i++)
		ASSERT_EQ(steer(ft, l, i, SYN, 1000, &a), EF_EDGE_STEER_NEW);
	/* flow 0 closes (FIN), flow 1 is reset */
	EXPECT_EQ(steer(ft, l, 0, ACK | RTE_TCP_FIN_FLAG, 2000, &a),
		  EF_EDGE_STEER_HIT);
	EXPECT_EQ(steer(ft, l, 1, RTE_TCP_RST_FLAG, 2000, &a),
		  EF_EDGE_STEER_HIT);
	/* a full sweep before any timeout removes nothing */
	EXPECT_EQ(ef_edge_flows_expire(ft, 11999, 64, count, &seen), 0u);
	/* 10 s after the FIN / RST: those two */
	EXPECT_EQ(ef_edge_flows_expire(ft, 12000, 64, count, &seen), 2u);
	EXPECT_EQ(seen, 2u);
	EXPECT_EQ(ef_edge_flows_stats(ft)->active, 38u);
	/* idle timeout: at most `budget` positions per call */
	uint32_t total = 0, calls = 0, n;
	do {
		n = ef_edge_flows_expire(ft, 301000, 5, count, &seen);
		EXPECT_LE(n, 5u);
		total += n;
		calls++;
	} while (total < 38 && calls < 100);
	EXPECT_EQ(total, 38u);
	EXPECT_GE(calls, 8u);
	EXPECT_EQ(ef_edge_flows_stats(ft)->active, 0u);
	EXPECT_EQ(ef_edge_flows_stats(ft)->expired, 40u);
	/* a refreshed flow lives on */
	ASSERT_EQ(steer(ft, l, 50, SYN, 400000, &a), EF_EDGE_STEER_NEW);
	ASSERT_EQ(steer(ft, l, 50, ACK, 600000, &a), EF_EDGE_STEER_HIT);
	EXPECT_EQ(ef_edge_flows_expire(ft, 800000, 64, nullptr, nullptr), 0u);
	EXPECT_EQ(ef_edge_flows_expire(ft, 900000, 64, nullptr, nullptr), 1u);
}

TEST_F(EdgeFlows, DrainKeepsFlowsDownRepicksSynReopens)
{
	ef_edge_flows *ft = make("edge_drain", 4096);
	ef_edge_lb *l1 = lb({ node("n1", "10.1.0.11", 1),
			      node("n2", "10.1.0.12", 1) }, 1);
	/* n1 answers 503: weight 0, still healthy */
	ef_edge_lb *l2 = lb({ node("n1", "10.1.0.11", 0, true, true),
			      node("n2", "10.1.0.12", 1) }, 2);
	/* n1 stopped answering */
	ef_edge_lb *l3 = lb({ node("n1", "10.1.0.11", 0, false),
			      node("n2", "10.1.0.12", 1) }, 3);
	std::vector<uint32_t> on_n1;
	uint32_t a;

	for (uint32_t i = 0; i < 400; i++) {
		ASSERT_EQ(steer(ft, l1, i, SYN, 0, &a), EF_EDGE_STEER_NEW);
		if (a == ip_of("10.1.0.11"))
			on_n1.push_back(i);
	}
	ASSERT_GT(on_n1.size(), 100u);
	for (uint32_t i : on_n1) {
		EXPECT_EQ(steer(ft, l2, i, ACK, 1, &a), EF_EDGE_STEER_HIT);
		EXPECT_EQ(a, ip_of("10.1.0.11"));
	}
	for (uint32_t i = 1000; i < 1200; i++) {
		ASSERT_EQ(steer(ft, l2, i, SYN, 1, &a), EF_EDGE_STEER_NEW);
		EXPECT_EQ(a, ip_of("10.1.0.12"));
	}
	for (uint32_t i : on_n1) {
		EXPECT_EQ(steer(ft, l3, i, ACK, 2, &a), EF_EDGE_STEER_REPICK);
		EXPECT_EQ(a, ip_of("10.1.0.12"));
		EXPECT_EQ(steer(ft, l3, i, ACK, 3, &a), EF_EDGE_STEER_HIT);
	}
	EXPECT_EQ(ef_edge_flows_stats(ft)->repicked, on_n1.size());
	/* a node removed from the service: its flows re-pick as well */
	ef_edge_lb *l4 = lb({ node("n3", "10.1.0.13", 1) }, 4);
	EXPECT_EQ(steer(ft, l4, on_n1[0], ACK, 4, &a), EF_EDGE_STEER_REPICK);
	EXPECT_EQ(a, ip_of("10.1.0.13"));

	/* a SYN on a tuple whose connection ended starts afresh: it follows
	 * the table of now, not the old entry */
	uint32_t i = on_n1[1];
	EXPECT_EQ(steer(ft, l1, i, ACK | RTE_TCP_FIN_FLAG, 5, &a),
		  EF_EDGE_STEER_HIT);
	EXPECT_EQ(steer(ft, l2, i, SYN, 6, &a), EF_EDGE_STEER_NEW);
	EXPECT_EQ(a, ip_of("10.1.0.12"));
	ef_edge_flow_key ki = key(i);
	EXPECT_FALSE(ef_edge_flows_lookup(ft, &ki)->flags &
		     EF_EDGE_FLOW_F_CLOSING);
	/* no node left at all */
	ef_edge_lb *l5 = lb({ node("n1", "10.1.0.11", 0, false) }, 5);
	EXPECT_EQ(steer(ft, l5, 7777, SYN, 7, &a), EF_EDGE_STEER_NO_NODE);
	EXPECT_EQ(steer(ft, l5, i, ACK, 7, &a), EF_EDGE_STEER_NO_NODE);
}

TEST_F(EdgeFlows, BulkLookupAgreesWithSingle)
{
	ef_edge_flows *ft = make("edge_bulk", 1024);
	ef_edge_lb *l = lb({ node("n1", "10.1.0.11", 1),
			     node("n2", "10.1.0.12", 1) }, 1);
	ef_edge_flow_key keys[EF_EDGE_BULK_MAX];
	const void *kp[EF_EDGE_BULK_MAX];
	ef_edge_flow *out[EF_EDGE_BULK_MAX];
	uint32_t a;

	for (uint32_t i = 0; i < EF_EDGE_BULK_MAX; i += 2)
		ASSERT_EQ(steer(ft, l, i, SYN, 0, &a), EF_EDGE_STEER_NEW);
	for (uint32_t i = 0; i < EF_EDGE_BULK_MAX; i++) {
		keys[i] = key(i);
		kp[i] = &keys[i];
	}
	ef_edge_flows_lookup_bulk(ft, kp, EF_EDGE_BULK_MAX, out);
	for (uint32_t i = 0; i < EF_EDGE_BULK_MAX; i++) {
		EXPECT_EQ(out[i], ef_edge_flows_lookup(ft, &keys[i])) << i;
		EXPECT_EQ(out[i] != nullptr, i % 2 == 0) << i;
	}
}
