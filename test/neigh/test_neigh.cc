/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <arpa/inet.h>

#include <atomic>
#include <utility>
#include <vector>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_rcu_qsbr.h>

#include <gtest/gtest.h>

#include "ef_addr.h"
#include "ef_neigh.h"

namespace {

const uint8_t MAC_A[6] = { 0x02, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
const uint8_t MAC_B[6] = { 0x02, 0x55, 0x55, 0x55, 0x55, 0x55 };
const uint8_t MAC_C[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

uint32_t
ip(const char *s)
{
	struct ef_addr a;

	EXPECT_EQ(0, ef_addr_parse(s, &a));
	return a.v4;
}

/* What send_fn was asked to do. */
struct Sent {
	std::vector<std::pair<uint16_t, uint32_t>> reqs;
};

void
record(void *arg, uint16_t iface, uint32_t target)
{
	static_cast<Sent *>(arg)->reqs.emplace_back(iface, target);
}

class NeighTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		n = ef_neigh_create(64, 8, SOCKET_ID_ANY);
		ASSERT_NE(nullptr, n) << rte_strerror(rte_errno);
	}
	void TearDown() override { ef_neigh_free(n); }

	uint32_t poll(uint64_t now_ms)
	{
		return ef_neigh_poll(n, now_ms, record, &sent);
	}

	bool lookup_is(uint16_t iface, uint32_t a, const uint8_t *want)
	{
		uint8_t mac[6];

		return ef_neigh_lookup4(n, iface, a, mac) == 0 &&
		       memcmp(mac, want, 6) == 0;
	}

	struct ef_neigh *n = nullptr;
	Sent sent;
};

struct Dumped {
	std::vector<struct ef_neigh_entry> e;
};

int
collect(void *arg, const struct ef_neigh_entry *e)
{
	static_cast<Dumped *>(arg)->e.push_back(*e);
	return 0;
}

} /* namespace */

TEST(Neigh, CreateRejectsZero)
{
	rte_errno = 0;
	EXPECT_EQ(nullptr, ef_neigh_create(0, 1, SOCKET_ID_ANY));
	EXPECT_EQ(EINVAL, rte_errno);
	EXPECT_EQ(nullptr, ef_neigh_create(16, 0, SOCKET_ID_ANY));
}

TEST_F(NeighTest, StaticLookup)
{
	uint8_t mac[6];

	ASSERT_EQ(0, ef_neigh_set_static4(n, 1, ip("10.0.0.2"), MAC_C));
	ASSERT_EQ(0, ef_neigh_lookup4(n, 1, ip("10.0.0.2"), mac));
	EXPECT_EQ(0, memcmp(mac, MAC_C, 6));
	/* the interface is part of the key */
	EXPECT_EQ(-ENOENT, ef_neigh_lookup4(n, 0, ip("10.0.0.2"), mac));
	EXPECT_EQ(-ENOENT, ef_neigh_lookup4(n, 1, ip("10.0.0.3"), mac));

	/* static entries never age */
	EXPECT_EQ(0u, poll(10ull * EF_NEIGH_EXPIRE_MS));
	EXPECT_TRUE(lookup_is(1, ip("10.0.0.2"), MAC_C));

	Dumped d;
	EXPECT_EQ(1, ef_neigh_dump(n, collect, &d));
	ASSERT_EQ(1u, d.e.size());
	EXPECT_TRUE(d.e[0].is_static);
	EXPECT_EQ(EF_NEIGH_STATIC, d.e[0].state);
	EXPECT_EQ(ip("10.0.0.2"), d.e[0].ip);
	EXPECT_EQ(1, d.e[0].iface);
	EXPECT_EQ(0, memcmp(d.e[0].mac, MAC_C, 6));
}

TEST_F(NeighTest, LearnAndLookup)
{
	poll(1000);
	ASSERT_EQ(0, ef_neigh_learn4(n, 0, ip("198.51.100.254"), MAC_A));
	EXPECT_TRUE(lookup_is(0, ip("198.51.100.254"), MAC_A));
	/* a new MAC for the address (the host was replaced) wins */
	ASSERT_EQ(0, ef_neigh_learn4(n, 0, ip("198.51.100.254"), MAC_B));
	EXPECT_TRUE(lookup_is(0, ip("198.51.100.254"), MAC_B));

	poll(4000);
	Dumped d;
	ef_neigh_dump(n, collect, &d);
	ASSERT_EQ(1u, d.e.size());
	EXPECT_FALSE(d.e[0].is_static);
	EXPECT_EQ(EF_NEIGH_REACHABLE, d.e[0].state);
	EXPECT_EQ(3000u, d.e[0].age_ms);
	EXPECT_EQ(0u, sent.reqs.size());
}

TEST_F(NeighTest, StaticNotOverwrittenByLearning)
{
	ASSERT_EQ(0, ef_neigh_set_static4(n, 1, ip("10.0.0.2"), MAC_C));
	EXPECT_EQ(-EEXIST, ef_neigh_learn4(n, 1, ip("10.0.0.2"), MAC_A));
	EXPECT_TRUE(lookup_is(1, ip("10.0.0.2"), MAC_C));
	/* but configuration may replace a learnt entry */
	ASSERT_EQ(0, ef_neigh_learn4(n, 1, ip("10.0.0.3"), MAC_A));
	ASSERT_EQ(0, ef_neigh_set_static4(n, 1, ip("10.0.0.3"), MAC_B));
	EXPECT_TRUE(lookup_is(1, ip("10.0.0.3"), MAC_B));
	EXPECT_EQ(-EEXIST, ef_neigh_learn4(n, 1, ip("10.0.0.3"), MAC_A));
}

TEST_F(NeighTest, MissFloodSendsOneRequest)
{
	struct ef_neigh_stats st;
	uint8_t mac[6];

	for (int i = 0; i < 1000; i++)
		ef_neigh_miss4(n, 0, 1, ip("10.0.0.9"));
	/* other workers ask too: the control side still asks once */
	ef_neigh_miss4(n, 3, 1, ip("10.0.0.9"));
	ef_neigh_miss4(n, 7, 1, ip("10.0.0.9"));
	EXPECT_EQ(1u, poll(1000));
	ASSERT_EQ(1u, sent.reqs.size());
	EXPECT_EQ(1, sent.reqs[0].first);
	EXPECT_EQ(ip("10.0.0.9"), sent.reqs[0].second);
	EXPECT_EQ(0u, poll(1001));
	EXPECT_EQ(-ENOENT, ef_neigh_lookup4(n, 1, ip("10.0.0.9"), mac));

	ef_neigh_stats_get(n, &st);
	EXPECT_EQ(1002u, st.misses_queued + st.misses_suppressed);
	/* the worker cache holds a miss for 100 ms of TSC time: the loop
	 * above takes microseconds, so nearly all were absorbed */
	EXPECT_GE(st.misses_queued, 3u);
	EXPECT_LE(st.misses_queued, 12u);
	EXPECT_EQ(0u, st.misses_dropped);
	EXPECT_EQ(1u, st.requests_sent);
	EXPECT_EQ(1u, st.entries);

	/* the answer arrives: usable at once, no more requests */
	ef_neigh_learn4(n, 1, ip("10.0.0.9"), MAC_A);
	EXPECT_TRUE(lookup_is(1, ip("10.0.0.9"), MAC_A));
	EXPECT_EQ(0u, poll(5000));
}

TEST_F(NeighTest, RetriesEverySecondThenBacksOff)
{
	const uint32_t a = ip("10.0.0.9");

	/* each miss from another worker: worker caches run on real time */
	ef_neigh_miss4(n, 0, 1, a);
	EXPECT_EQ(1u, poll(10000));
	EXPECT_EQ(0u, poll(10999));
	EXPECT_EQ(1u, poll(11000));
	EXPECT_EQ(0u, poll(11500));
	EXPECT_EQ(1u, poll(12000));
	/* EF_NEIGH_TRIES requests went unanswered: failed */
	EXPECT_EQ(0u, poll(13000));
	EXPECT_EQ(3u, sent.reqs.size());

	Dumped d;
	ef_neigh_dump(n, collect, &d);
	ASSERT_EQ(1u, d.e.size());
	EXPECT_EQ(EF_NEIGH_FAILED, d.e[0].state);

	/* misses during the failure hold are ignored */
	ef_neigh_miss4(n, 1, 1, a);
	EXPECT_EQ(0u, poll(14000));
	ef_neigh_miss4(n, 2, 1, a);
	EXPECT_EQ(0u, poll(17999));
	/* after it, a new miss starts a new resolution */
	ef_neigh_miss4(n, 3, 1, a);
	EXPECT_EQ(1u, poll(18000));
	EXPECT_EQ(1u, poll(19000));
	EXPECT_EQ(4u + 1u, sent.reqs.size());
	for (auto &r : sent.reqs)
		EXPECT_EQ(a, r.second);
}

TEST_F(NeighTest, FailedEntryGoesAwayWithoutNewMiss)
{
	ef_neigh_miss4(n, 0, 2, ip("10.0.0.10"));
	poll(0);
	poll(1000);
	poll(2000);
	poll(3000);	/* failed */
	poll(7999);
	Dumped d;
	EXPECT_EQ(1, ef_neigh_dump(n, collect, &d));
	poll(8000);	/* EF_NEIGH_FAILED_MS after the failure */
	EXPECT_EQ(0, ef_neigh_dump(n, collect, &d));
}

TEST_F(NeighTest, RefreshThenExpiry)
{
	const uint32_t a = ip("10.0.0.20");

	poll(1000);
	ASSERT_EQ(0, ef_neigh_learn4(n, 0, a, MAC_A));
	EXPECT_EQ(0u, poll(1000 + EF_NEIGH_REFRESH_MS - 1));
	/* old: re-ARP, still usable meanwhile */
	EXPECT_EQ(1u, poll(1000 + EF_NEIGH_REFRESH_MS));
	EXPECT_TRUE(lookup_is(0, a, MAC_A));
	EXPECT_EQ(0u, poll(1500 + EF_NEIGH_REFRESH_MS));
	EXPECT_EQ(1u, poll(2000 + EF_NEIGH_REFRESH_MS));
	EXPECT_EQ(1u, poll(3000 + EF_NEIGH_REFRESH_MS));
	EXPECT_EQ(0u, poll(4000 + EF_NEIGH_REFRESH_MS));
	EXPECT_EQ(0u, poll(30000 + EF_NEIGH_REFRESH_MS));
	EXPECT_TRUE(lookup_is(0, a, MAC_A));

	/* a reply confirms: the clock restarts */
	ASSERT_EQ(0, ef_neigh_learn4(n, 0, a, MAC_A));
	const uint64_t t0 = 30000 + EF_NEIGH_REFRESH_MS;
	EXPECT_EQ(0u, poll(t0 + EF_NEIGH_REFRESH_MS - 1));
	EXPECT_EQ(1u, poll(t0 + EF_NEIGH_REFRESH_MS));
	EXPECT_TRUE(lookup_is(0, a, MAC_A));
	/* never confirmed again: gone after EF_NEIGH_EXPIRE_MS */
	poll(t0 + EF_NEIGH_EXPIRE_MS - 1);
	EXPECT_TRUE(lookup_is(0, a, MAC_A));
	poll(t0 + EF_NEIGH_EXPIRE_MS);
	uint8_t mac[6];
	EXPECT_EQ(-ENOENT, ef_neigh_lookup4(n, 0, a, mac));

	struct ef_neigh_stats st;
	ef_neigh_stats_get(n, &st);
	EXPECT_EQ(1u, st.expired);
	EXPECT_EQ(0u, st.entries);
	/* the address can be learnt again (its key is reused) */
	ASSERT_EQ(0, ef_neigh_learn4(n, 0, a, MAC_B));
	EXPECT_TRUE(lookup_is(0, a, MAC_B));
}

TEST_F(NeighTest, FlushDynamicKeepsStatic)
{
	uint8_t mac[6];

	ASSERT_EQ(0, ef_neigh_set_static4(n, 1, ip("10.0.0.2"), MAC_C));
	ASSERT_EQ(0, ef_neigh_learn4(n, 1, ip("10.0.0.3"), MAC_A));
	ef_neigh_miss4(n, 0, 1, ip("10.0.0.4"));
	EXPECT_EQ(1u, poll(0));
	ef_neigh_flush_dynamic(n);
	EXPECT_TRUE(lookup_is(1, ip("10.0.0.2"), MAC_C));
	EXPECT_EQ(-ENOENT, ef_neigh_lookup4(n, 1, ip("10.0.0.3"), mac));
	Dumped d;
	EXPECT_EQ(1, ef_neigh_dump(n, collect, &d));
	/* the flushed resolution does not retry */
	EXPECT_EQ(0u, poll(5000));

	EXPECT_EQ(0, ef_neigh_del4(n, 1, ip("10.0.0.2")));
	EXPECT_EQ(-ENOENT, ef_neigh_del4(n, 1, ip("10.0.0.2")));
	EXPECT_EQ(-ENOENT, ef_neigh_lookup4(n, 1, ip("10.0.0.2"), mac));
}

TEST_F(NeighTest, FullRingDropsAndCounts)
{
	struct ef_neigh_stats st;
	uint32_t total = 0;

	/* distinct addresses: the cache lets each through */
	for (uint32_t i = 0; i < 300; i++)
		ef_neigh_miss4(n, 5, 0, htonl(0x0a010000u + i));
	ef_neigh_miss4(n, 99, 0, ip("10.0.0.1"));	/* no such worker */
	ef_neigh_stats_get(n, &st);
	EXPECT_EQ(300u, st.misses_queued + st.misses_dropped);
	EXPECT_EQ(EF_NEIGH_RING_SIZE - 1u, st.misses_queued);

	/* bounded work: one ring gives EF_NEIGH_POLL_MISSES per call, and
	 * the table (64 entries) takes what fits */
	EXPECT_EQ((uint32_t)EF_NEIGH_POLL_MISSES, poll(0));
	for (int i = 0; i < 8; i++)
		total += poll(0);
	ef_neigh_stats_get(n, &st);
	EXPECT_EQ(0u, total);
	EXPECT_EQ(64u, st.entries);
	EXPECT_GT(st.table_full, 0u);
}

TEST(Neigh, RcuLetsSlotsBeReused)
{
	size_t sz = rte_rcu_qsbr_get_memsize(1);
	struct rte_rcu_qsbr *v = (struct rte_rcu_qsbr *)rte_zmalloc(
		"test_qsbr", sz, RTE_CACHE_LINE_SIZE);
	struct ef_neigh *n = ef_neigh_create(16, 1, SOCKET_ID_ANY);
	struct ef_neigh *plain = ef_neigh_create(16, 1, SOCKET_ID_ANY);
	int plain_full = 0;

	ASSERT_NE(nullptr, v);
	ASSERT_NE(nullptr, n);
	ASSERT_NE(nullptr, plain);
	ASSERT_EQ(0, rte_rcu_qsbr_init(v, 1));
	ASSERT_EQ(0, rte_rcu_qsbr_thread_register(v, 0));
	rte_rcu_qsbr_thread_online(v, 0);
	ASSERT_EQ(0, ef_neigh_rcu_attach(n, v));
	EXPECT_EQ(-EEXIST, ef_neigh_rcu_attach(n, v));

	/* ten times more distinct neighbours than slots, one at a time */
	for (uint32_t i = 0; i < 160; i++) {
		uint32_t a = htonl(0x0a000000u + i);

		ASSERT_EQ(0, ef_neigh_learn4(n, 0, a, MAC_A)) << i;
		ASSERT_EQ(0, ef_neigh_del4(n, 0, a));
		/* the reader (this thread) passes a quiescent state */
		rte_rcu_qsbr_quiescent(v, 0);
		if (ef_neigh_learn4(plain, 0, a, MAC_A) == -ENOSPC)
			plain_full++;
		else
			ef_neigh_del4(plain, 0, a);
	}
	/* without RCU, deleted keys keep their slots */
	EXPECT_GT(plain_full, 100);

	ef_neigh_free(n);
	ef_neigh_free(plain);
	rte_rcu_qsbr_thread_offline(v, 0);
	rte_free(v);
}

namespace {

struct ReaderArgs {
	struct ef_neigh *n;
	uint32_t ip;
	std::atomic<bool> stop{ false };
	uint64_t hits = 0;
	uint64_t misses = 0;
	uint64_t torn = 0;
};

void *
reader(void *p)
{
	ReaderArgs *r = static_cast<ReaderArgs *>(p);
	uint8_t mac[6];

	while (!r->stop.load(std::memory_order_relaxed)) {
		if (ef_neigh_lookup4(r->n, 0, r->ip, mac) != 0) {
			r->misses++;
			continue;
		}
		r->hits++;
		if (memcmp(mac, MAC_A, 6) != 0 && memcmp(mac, MAC_B, 6) != 0)
			r->torn++;
	}
	return nullptr;
}

} /* namespace */

TEST_F(NeighTest, ConcurrentReaderNeverSeesATornMac)
{
	ReaderArgs r;
	pthread_t th;

	r.n = n;
	r.ip = ip("10.0.0.50");
	ASSERT_EQ(0, ef_neigh_learn4(n, 0, r.ip, MAC_A));
	ASSERT_EQ(0, pthread_create(&th, nullptr, reader, &r));
	for (int i = 0; i < 200000; i++) {
		/* now and then the entry goes away and comes back */
		if (i % 1000 == 999)
			ef_neigh_del4(n, 0, r.ip);
		ef_neigh_learn4(n, 0, r.ip, (i & 1) ? MAC_B : MAC_A);
		if (i % 4096 == 0)
			poll((uint64_t)i);	/* the writer's other work */
	}
	r.stop.store(true);
	pthread_join(th, nullptr);
	EXPECT_EQ(0u, r.torn);
	EXPECT_GT(r.hits, 0u);
}

/* ===================== IPv6 (issue 12) ===================== */

namespace {

struct A6 {
	uint8_t b[16];
};

A6
ip6(const char *s)
{
	A6 a;

	EXPECT_EQ(1, inet_pton(AF_INET6, s, a.b)) << s;
	return a;
}

struct Sent6 {
	std::vector<std::pair<uint16_t, A6>> reqs;
};

void
record6(void *arg, uint16_t iface, const uint8_t target[16])
{
	A6 a;

	memcpy(a.b, target, 16);
	static_cast<Sent6 *>(arg)->reqs.emplace_back(iface, a);
}

class Neigh6Test : public NeighTest {
protected:
	void SetUp() override
	{
		NeighTest::SetUp();
		ef_neigh_set_send6(n, record6, &sent6);
	}
	bool lookup6_is(uint16_t iface, const char *a, const uint8_t *want)
	{
		uint8_t mac[6];

		return ef_neigh_lookup6(n, iface, ip6(a).b, mac) == 0 &&
		       memcmp(mac, want, 6) == 0;
	}
	Sent6 sent6;
};

} /* namespace */

TEST_F(Neigh6Test, StaticLearnLookupDelete)
{
	uint8_t mac[6];

	EXPECT_EQ(-ENOENT, ef_neigh_lookup6(n, 0, ip6("fd00::2").b, mac));
	ASSERT_EQ(0, ef_neigh_set_static6(n, 0, ip6("fd00::2").b, MAC_A));
	EXPECT_TRUE(lookup6_is(0, "fd00::2", MAC_A));
	/* per interface */
	EXPECT_EQ(-ENOENT, ef_neigh_lookup6(n, 1, ip6("fd00::2").b, mac));
	EXPECT_EQ(-EEXIST, ef_neigh_learn6(n, 0, ip6("fd00::2").b, MAC_B));
	ASSERT_EQ(0, ef_neigh_learn6(n, 1, ip6("fe80::2").b, MAC_B));
	EXPECT_TRUE(lookup6_is(1, "fe80::2", MAC_B));
	ASSERT_EQ(0, ef_neigh_del6(n, 0, ip6("fd00::2").b));
	EXPECT_EQ(-ENOENT, ef_neigh_lookup6(n, 0, ip6("fd00::2").b, mac));
	EXPECT_EQ(-ENOENT, ef_neigh_del6(n, 0, ip6("fd00::2").b));
}

TEST_F(Neigh6Test, FamiliesAreApart)
{
	uint8_t mac[6];
	/* ::a00:2 has the bytes of 10.0.0.2 at its end, not its start; and
	 * 0a00:0002:: has them at its start: neither is the IPv4 entry */
	A6 head = ip6("a00:2::");

	ASSERT_EQ(0, ef_neigh_learn4(n, 0, ip("10.0.0.2"), MAC_A));
	EXPECT_EQ(-ENOENT, ef_neigh_lookup6(n, 0, head.b, mac));
	ASSERT_EQ(0, ef_neigh_learn6(n, 0, head.b, MAC_B));
	EXPECT_TRUE(lookup_is(0, ip("10.0.0.2"), MAC_A));
	EXPECT_TRUE(lookup6_is(0, "a00:2::", MAC_B));

	Dumped d4, d6;
	EXPECT_EQ(1, ef_neigh_dump(n, collect, &d4));
	EXPECT_EQ(1, ef_neigh_dump6(n, collect, &d6));
	EXPECT_EQ(EF_AF_INET4, d4.e[0].family);
	EXPECT_EQ(ip("10.0.0.2"), d4.e[0].ip);
	EXPECT_EQ(EF_AF_INET6, d6.e[0].family);
	EXPECT_EQ(0, memcmp(head.b, d6.e[0].ip6, 16));
	EXPECT_EQ(0, memcmp(MAC_B, d6.e[0].mac, 6));
	struct ef_neigh_stats st;
	ef_neigh_stats_get(n, &st);
	EXPECT_EQ(2u, st.entries);
}

TEST_F(Neigh6Test, MissSendsOneNsThenRetriesAndFails)
{
	const A6 a = ip6("2001:db8::9");

	for (int i = 0; i < 100; i++)
		ef_neigh_miss6(n, 0, 1, a.b);
	ef_neigh_miss6(n, 5, 1, a.b);
	EXPECT_EQ(1u, poll(10000));
	ASSERT_EQ(1u, sent6.reqs.size());
	EXPECT_EQ(1, sent6.reqs[0].first);
	EXPECT_EQ(0, memcmp(a.b, sent6.reqs[0].second.b, 16));
	EXPECT_TRUE(sent.reqs.empty());	/* no ARP for an IPv6 entry */
	/* the same timers as IPv4 */
	EXPECT_EQ(0u, poll(10999));
	EXPECT_EQ(1u, poll(11000));
	EXPECT_EQ(1u, poll(12000));
	EXPECT_EQ(0u, poll(13000));
	EXPECT_EQ(3u, sent6.reqs.size());
	Dumped d;
	ef_neigh_dump6(n, collect, &d);
	ASSERT_EQ(1u, d.e.size());
	EXPECT_EQ(EF_NEIGH_FAILED, d.e[0].state);
	poll(13000 + EF_NEIGH_FAILED_MS);
	Dumped after;
	EXPECT_EQ(0, ef_neigh_dump6(n, collect, &after));
}

TEST_F(Neigh6Test, NaAnswersTheMissAndRefreshExpiryAsIpv4)
{
	const A6 a = ip6("2001:db8::9");

	ef_neigh_miss6(n, 0, 1, a.b);
	EXPECT_EQ(1u, poll(1000));
	/* the solicited NA */
	ASSERT_EQ(0, ef_neigh_learn6(n, 1, a.b, MAC_C));
	EXPECT_TRUE(lookup6_is(1, "2001:db8::9", MAC_C));
	EXPECT_EQ(0u, poll(1000 + EF_NEIGH_REFRESH_MS - 1));
	EXPECT_EQ(1u, poll(1000 + EF_NEIGH_REFRESH_MS));	/* re-NS */
	EXPECT_TRUE(lookup6_is(1, "2001:db8::9", MAC_C));
	poll(1000 + EF_NEIGH_EXPIRE_MS);
	uint8_t mac[6];
	EXPECT_EQ(-ENOENT, ef_neigh_lookup6(n, 1, a.b, mac));
}

TEST_F(Neigh6Test, UnsolicitedNaUpdatesButNeverCreates)
{
	const A6 a = ip6("2001:db8::7");

	EXPECT_EQ(-ENOENT, ef_neigh_update6(n, 0, a.b, MAC_A));
	uint8_t mac[6];
	EXPECT_EQ(-ENOENT, ef_neigh_lookup6(n, 0, a.b, mac));
	ASSERT_EQ(0, ef_neigh_learn6(n, 0, a.b, MAC_A));
	ASSERT_EQ(0, ef_neigh_update6(n, 0, a.b, MAC_B));
	EXPECT_TRUE(lookup6_is(0, "2001:db8::7", MAC_B));
	ASSERT_EQ(0, ef_neigh_set_static6(n, 0, a.b, MAC_C));
	EXPECT_EQ(-EEXIST, ef_neigh_update6(n, 0, a.b, MAC_A));
	EXPECT_TRUE(lookup6_is(0, "2001:db8::7", MAC_C));
}

TEST_F(NeighTest, Ipv6WithoutSenderIsCountedNotSent)
{
	ef_neigh_miss6(n, 0, 0, ip6("2001:db8::5").b);
	EXPECT_EQ(1u, poll(100));
	EXPECT_TRUE(sent.reqs.empty());
}
