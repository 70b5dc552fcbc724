/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SNAT pick steered by an RSS model (docs/RSS.md): the reply tuple of
 * every port picked is hashed here independently, with rte_softrss() on
 * the key as the NIC holds it, and must land on a queue of the picking
 * worker.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <random>
#include <string>
#include <vector>

#include <rte_errno.h>
#include <rte_memory.h>
#include <rte_thash.h>

#include <gtest/gtest.h>

#include "ef_ct.h"
#include "ef_nat.h"

namespace {

const uint32_t C = 0xc0000201, F = 0xc633640a, E = 0x0af40005,
	S = 0x0a000001, S2 = 0x0a000002;
const uint16_t FP = 80, EP = 8080;

const uint8_t std_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

struct ef_ct *
make_ct(uint32_t max_flows)
{
	static int n;
	struct ef_ct_params p = {};
	std::string name = "natrss" + std::to_string(n++);

	p.name = name.c_str();
	p.max_flows = max_flows;
	p.timeouts.tcp_syn_timeout = 30;
	p.timeouts.tcp_established_timeout = 7440;
	p.timeouts.tcp_fin_timeout = 30;
	p.timeouts.tcp_close_timeout = 10;
	p.timeouts.udp_timeout = 30;
	p.timeouts.udp_stream_timeout = 120;
	p.timeouts.icmp_timeout = 30;
	p.socket_id = SOCKET_ID_ANY;
	return ef_ct_create(&p);
}

struct ef_addr
addr(uint32_t host)
{
	return ef_addr_v4(host);
}

/* Key 0: the standard one; key 1: symmetric (0x6d5a repeated); key 2:
 * random, 52 bytes. */
struct ef_nat_rss
model(int key, uint32_t n_queues, uint32_t reta_size, bool shuffle,
      uint8_t tcp = EF_NAT_RSS_L4, uint8_t udp = EF_NAT_RSS_L4)
{
	struct ef_nat_rss r = {};
	std::mt19937 g(1234 + key);

	if (key == 0) {
		memcpy(r.key, std_key, sizeof(std_key));
		r.key_len = 40;
	} else if (key == 1) {
		for (uint32_t i = 0; i < 40; i += 2) {
			r.key[i] = 0x6d;
			r.key[i + 1] = 0x5a;
		}
		r.key_len = 40;
	} else {
		for (uint32_t i = 0; i < 52; i++)
			r.key[i] = (uint8_t)g();
		r.key_len = 52;
	}
	r.reta_size = reta_size;
	for (uint32_t i = 0; i < reta_size; i++)
		r.reta[i] = (uint16_t)(shuffle ? g() % n_queues : i % n_queues);
	r.tcp = tcp;
	r.udp = udp;
	r.icmp = EF_NAT_RSS_L3;
	return r;
}

/* The queue of src:sport -> dst:dport (host order), computed apart from
 * lib/nat: rte_softrss() on the unconverted key. */
uint32_t
queue_of(const struct ef_nat_rss &r, uint32_t src, uint16_t sport,
	 uint32_t dst, uint16_t dport, bool l4)
{
	struct rte_ipv4_tuple t;

	memset(&t, 0, sizeof(t));
	t.src_addr = src;
	t.dst_addr = dst;
	t.sport = sport;
	t.dport = dport;
	uint32_t h = rte_softrss((uint32_t *)&t,
				 l4 ? RTE_THASH_V4_L4_LEN : RTE_THASH_V4_L3_LEN,
				 r.key);
	return r.reta[h % r.reta_size];
}

class NatRss : public ::testing::Test {
protected:
	struct ef_ct *ct = nullptr;
	struct ef_nat_map map;

	void SetUp() override
	{
		ct = make_ct(1u << 16);
		ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
	}
	void TearDown() override { ef_ct_free(ct); }
	/* Hold the flow of a pick (so the next pick must move on). */
	void hold(uint32_t client, uint16_t cport, uint32_t ep, uint16_t eport,
		  uint32_t snat, uint16_t sport, uint8_t proto)
	{
		struct ef_ct_key4 o = {}, r = {};
		int err;

		o.src = client;
		o.dst = htonl(F);
		o.sport = cport;
		o.dport = htons(FP);
		o.proto = proto;
		r.src = ep;
		r.dst = snat;
		r.sport = eport;
		r.dport = sport;
		r.proto = proto;
		ASSERT_NE(nullptr, ef_ct_create_flow(ct, &o, &r, 0, &err))
			<< err;
	}
};

TEST_F(NatRss, ReplyLandsOnThePickingWorkersQueue)
{
	struct ef_addr a[2] = { addr(S), addr(S2) };
	const struct {
		int key;
		uint32_t queues, reta;
		bool shuffle;
	} cases[] = {
		{ 0, 2, 128, false }, { 0, 4, 128, false },
		{ 1, 8, 512, true }, { 2, 16, 512, true }, { 0, 3, 64, true },
	};

	for (const auto &c : cases) {
		struct ef_nat_rss r = model(c.key, c.queues, c.reta, c.shuffle);

		ASSERT_EQ(0, ef_nat_map_init(&map, a, 2, 1024, 65535,
					     c.queues));
		ASSERT_EQ(0, ef_nat_map_set_rss(&map, &r));
		for (uint32_t wk = 0; wk < c.queues; wk++) {
			struct ef_nat_worker w;
			uint16_t lo, hi;

			ef_nat_slice(&map, wk, &lo, &hi);
			ASSERT_EQ(0, ef_nat_worker_init(&w, &map, wk, 9));
			for (uint32_t i = 0; i < 300; i++) {
				uint32_t client = htonl(C + i), snat;
				uint32_t ep = htonl(E + (i % 7));
				uint16_t cport = htons((uint16_t)(10000 + wk * 300 + i));
				uint16_t eport = htons((uint16_t)(EP + i % 3));
				uint8_t proto = i % 2 ? IPPROTO_UDP :
					IPPROTO_TCP;
				uint16_t sport;

				ASSERT_EQ(0, ef_nat_snat_pick(&w, ct, client,
					cport, ep, eport, proto, &snat,
					&sport));
				uint16_t p = ntohs(sport);
				EXPECT_GE(p, lo);
				EXPECT_LE(p, hi);
				EXPECT_EQ(wk, ef_nat_port_owner(&map, p));
				EXPECT_EQ(wk, queue_of(r, ntohl(ep),
						       ntohs(eport),
						       ntohl(snat), p, true))
					<< "key " << c.key << " queues "
					<< c.queues << " port " << p;
				EXPECT_EQ(wk, ef_nat_rss_queue(&map, ep, eport,
							       snat, sport,
							       proto));
				hold(client, cport, ep, eport, snat, sport,
				     proto);
			}
			EXPECT_EQ(300u, w.rss_picks);
			EXPECT_EQ(0u, w.rss_fallback);
		}
		ef_ct_free(ct);
		ct = make_ct(1u << 16);
		ASSERT_NE(nullptr, ct);
	}
}

TEST_F(NatRss, AddressOnlyHashingFallsBackAndCounts)
{
	struct ef_addr a[1] = { addr(S) };
	struct ef_nat_rss r = model(0, 4, 128, false, EF_NAT_RSS_L3,
				    EF_NAT_RSS_L3);

	ASSERT_EQ(0, ef_nat_map_init(&map, a, 1, 1024, 65535, 4));
	ASSERT_EQ(0, ef_nat_map_set_rss(&map, &r));
	for (uint32_t wk = 0; wk < 4; wk++) {
		struct ef_nat_worker w;
		uint64_t off_queue = 0;
		uint16_t lo, hi;

		ef_nat_slice(&map, wk, &lo, &hi);
		ASSERT_EQ(0, ef_nat_worker_init(&w, &map, wk, 3));
		for (uint32_t i = 0; i < 64; i++) {
			uint32_t ep = htonl(E + i), snat;
			uint16_t sport;

			ASSERT_EQ(0, ef_nat_snat_pick(&w, ct, htonl(C),
				htons(40000), ep, htons(EP), IPPROTO_TCP,
				&snat, &sport));
			EXPECT_GE(ntohs(sport), lo);
			EXPECT_LE(ntohs(sport), hi);
			/* the port cannot steer: the addresses decide */
			if (queue_of(r, ntohl(ep), 0, ntohl(snat), 0, false) !=
			    wk)
				off_queue++;
		}
		EXPECT_EQ(off_queue, w.rss_fallback);
		EXPECT_EQ(64u - off_queue, w.rss_picks);
		EXPECT_GT(off_queue, 0u);
	}
}

TEST_F(NatRss, WorkerWithoutQueueFallsBack)
{
	struct ef_addr a[1] = { addr(S) };
	/* 4 workers, the RETA spreads over queues 0 and 1 only */
	struct ef_nat_rss r = model(0, 2, 128, false);
	struct ef_nat_worker w;
	uint32_t snat;
	uint16_t sport;

	ASSERT_EQ(0, ef_nat_map_init(&map, a, 1, 1024, 65535, 4));
	ASSERT_EQ(0, ef_nat_map_set_rss(&map, &r));
	ASSERT_EQ(0, ef_nat_worker_init(&w, &map, 3, 3));
	ASSERT_EQ(0, ef_nat_snat_pick(&w, ct, htonl(C), htons(40000),
				      htonl(E), htons(EP), IPPROTO_TCP, &snat,
				      &sport));
	EXPECT_EQ(3u, ef_nat_port_owner(&map, ntohs(sport)));
	EXPECT_EQ(1u, w.rss_fallback);
	EXPECT_EQ(0u, w.rss_picks);
}

TEST_F(NatRss, ExhaustionStillReported)
{
	struct ef_addr a[1] = { addr(S) };
	struct ef_nat_rss r = model(0, 2, 128, false);
	struct ef_nat_worker w;
	uint32_t snat;
	uint16_t sport, lo, hi;

	/* 2 workers of 16 ports each: hold worker 0's whole slice */
	ASSERT_EQ(0, ef_nat_map_init(&map, a, 1, 1000, 1031, 2));
	ASSERT_EQ(0, ef_nat_map_set_rss(&map, &r));
	ASSERT_EQ(0, ef_nat_worker_init(&w, &map, 0, 5));
	ef_nat_slice(&map, 0, &lo, &hi);
	for (uint32_t p = lo; p <= hi; p++)
		hold(htonl(C), htons((uint16_t)(20000 + p)), htonl(E),
		     htons(EP), htonl(S), htons((uint16_t)p), IPPROTO_TCP);
	EXPECT_EQ(-ENOSPC, ef_nat_snat_pick(&w, ct, htonl(C), htons(40000),
					     htonl(E), htons(EP), IPPROTO_TCP,
					     &snat, &sport));
	EXPECT_EQ(1u, w.exhausted);
	EXPECT_EQ(0u, w.rss_fallback);
}

TEST_F(NatRss, OnlyOffQueuePortsFreeFallsBackToThem)
{
	struct ef_addr a[1] = { addr(S) };
	struct ef_nat_rss r = model(0, 2, 128, false);
	struct ef_nat_worker w;
	uint32_t snat;
	uint16_t sport, lo, hi;

	ASSERT_EQ(0, ef_nat_map_init(&map, a, 1, 1024, 1055, 2));
	ASSERT_EQ(0, ef_nat_map_set_rss(&map, &r));
	ASSERT_EQ(0, ef_nat_worker_init(&w, &map, 0, 5));
	ef_nat_slice(&map, 0, &lo, &hi);
	/* hold every port of the slice whose reply lands on queue 0 */
	uint32_t held = 0;
	for (uint32_t p = lo; p <= hi; p++)
		if (queue_of(r, E, EP, S, (uint16_t)p, true) == 0) {
			hold(htonl(C), htons((uint16_t)(20000 + p)), htonl(E),
			     htons(EP), htonl(S), htons((uint16_t)p),
			     IPPROTO_TCP);
			held++;
		}
	ASSERT_GT(held, 0u);
	ASSERT_LT(held, 16u);
	ASSERT_EQ(0, ef_nat_snat_pick(&w, ct, htonl(C), htons(40000),
				      htonl(E), htons(EP), IPPROTO_TCP, &snat,
				      &sport));
	EXPECT_EQ(0u, ef_nat_port_owner(&map, ntohs(sport)));
	EXPECT_EQ(1u, queue_of(r, E, EP, S, ntohs(sport), true));
	EXPECT_EQ(1u, w.rss_fallback);
}

TEST(NatRssModel, ValidatesInput)
{
	struct ef_addr a[1] = { addr(S) };
	struct ef_nat_map m;
	struct ef_nat_rss r = model(0, 2, 128, false);

	ASSERT_EQ(0, ef_nat_map_init(&m, a, 1, 1024, 65535, 2));
	r.reta_size = 100;
	EXPECT_EQ(-EINVAL, ef_nat_map_set_rss(&m, &r));
	r.reta_size = 128;
	r.key_len = 42;
	EXPECT_EQ(-EINVAL, ef_nat_map_set_rss(&m, &r));
	r.key_len = 40;
	r.icmp = EF_NAT_RSS_L4;
	EXPECT_EQ(-EINVAL, ef_nat_map_set_rss(&m, &r));
	r.icmp = EF_NAT_RSS_L3;
	EXPECT_EQ(0, ef_nat_map_set_rss(&m, &r));
	EXPECT_TRUE(m.rss_on);
	EXPECT_EQ(0, ef_nat_map_set_rss(&m, nullptr));
	EXPECT_FALSE(m.rss_on);
	EXPECT_EQ(UINT32_MAX, ef_nat_rss_queue(&m, htonl(E), htons(EP),
					       htonl(S), htons(2000),
					       IPPROTO_TCP));
}

} /* namespace */
