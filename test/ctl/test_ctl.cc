/* SPDX-License-Identifier: BSD-3-Clause */
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <gtest/gtest.h>

#include "ef_cfg.h"
#include "ef_ctl.h"
#include "ef_fwd.h"
#include "ef_svc.h"

namespace {

const char *HEAD = R"(
node = { name = "node-a"; };
interfaces = (
  { port = "net_null0"; address = "198.51.100.1/24"; },
  { port = "net_null1"; address = "10.0.0.1/24"; }
);
dataplane = { rx_descriptors = 64; tx_descriptors = 64; mbufs = 4095; };
conntrack = { max_flows = 4096; };
)";

/* n services; endpoint set 'alt' picks 10.0.0.5+6 or 10.0.0.5+7 (one in
 * common, as the reload suite does) */
std::string
config(unsigned n, int alt, const char *head = HEAD)
{
	std::string s = std::string(head) + "services = (\n";

	for (unsigned i = 0; i < n; i++) {
		char buf[512];

		snprintf(buf, sizeof(buf),
			 "%s{ name = \"ns/s%u\"; cluster_ip = \"10.96.%u.%u\";"
			 " ports = ( { protocol = \"TCP\"; port = 80; "
			 "target_port = 8080; } ); endpoints = ( "
			 "{ address = \"10.0.0.5\"; node = \"node-a\"; }, "
			 "{ address = \"10.0.0.%d\"; node = \"node-b\"; } ); }\n",
			 i == 0 ? "" : ",", i, i / 250, i % 250 + 1,
			 alt ? 7 : 6);
		s += buf;
	}
	return s + ");\n";
}

struct TmpFile {
	std::string path;
	TmpFile()
	{
		char p[] = "/tmp/ef_ctl_testXXXXXX";
		int fd = mkstemp(p);

		close(fd);
		path = p;
	}
	~TmpFile() { unlink(path.c_str()); }
	void write(const std::string &s)
	{
		FILE *f = fopen(path.c_str(), "w");

		fputs(s.c_str(), f);
		fclose(f);
	}
};

struct ef_ctl *
make(TmpFile &f, uint32_t workers, uint32_t max_services = 1024)
{
	struct ef_cfg_errors errs = {};
	struct ef_cfg *cfg = ef_cfg_load(f.path.c_str(), &errs);
	char err[512];

	if (cfg == nullptr) {
		ef_cfg_errors_print(&errs, stderr);
		ef_cfg_errors_clear(&errs);
		return nullptr;
	}
	struct ef_ctl *c = ef_ctl_create(cfg, f.path.c_str(), workers,
					 max_services, err, sizeof(err));
	if (c == nullptr)
		fprintf(stderr, "ef_ctl_create: %s\n", err);
	return c;
}

TEST(Ctl, RejectedReloadKeepsGeneration)
{
	TmpFile f;
	char err[EF_CTL_ERR_MAX];

	f.write(config(2, 0));
	struct ef_ctl *c = make(f, 1);
	ASSERT_NE(c, nullptr);
	const struct ef_svc_gen *g1 = ef_ctl_shared(c)->gen;
	EXPECT_EQ(ef_ctl_generation(c), 1u);

	/* a syntax error, and a validation error: rejected whole */
	f.write(config(2, 1) + "services = oops\n");
	EXPECT_EQ(ef_ctl_reload(c, err, sizeof(err)), -1);
	EXPECT_NE(std::string(err).find(f.path + ":"), std::string::npos)
		<< err;
	f.write(config(2, 1) + std::string("health = { rise = 0; };\n"));
	EXPECT_EQ(ef_ctl_reload(c, err, sizeof(err)), -1);
	EXPECT_NE(std::string(err).find(f.path + ":"), std::string::npos)
		<< err;
	EXPECT_EQ(ef_ctl_shared(c)->gen, g1);
	EXPECT_EQ(ef_ctl_generation(c), 1u);

	/* a restart-only change is reported, not ignored */
	std::string head(HEAD);
	head.replace(head.find("10.0.0.1/24"), 11, "10.0.0.9/24");
	f.write(config(2, 1, head.c_str()));
	EXPECT_EQ(ef_ctl_reload(c, err, sizeof(err)), -1);
	EXPECT_NE(std::string(err).find("interfaces cannot change"),
		  std::string::npos) << err;
	EXPECT_EQ(ef_ctl_generation(c), 1u);

	struct ef_ctl_stats st;
	ef_ctl_stats(c, &st);
	EXPECT_EQ(st.reloads_failed, 3u);
	EXPECT_EQ(st.reloads_ok, 0u);
	EXPECT_NE(std::string(st.last_error).find("interfaces"),
		  std::string::npos);

	/* a good file then goes through, and only then the number moves */
	f.write(config(3, 1));
	ASSERT_EQ(ef_ctl_reload(c, err, sizeof(err)), 0) << err;
	EXPECT_EQ(ef_ctl_generation(c), 2u);
	EXPECT_EQ(ef_ctl_shared(c)->gen->cfg->n_services, 3u);
	ef_ctl_free(c);
}

/*
 * Readers (as workers: QSBR ids 0..1, plus the telemetry read side) walk
 * the current generation while the control thread reloads 60 times; the
 * old generations are freed after the grace periods, so ASan reports any
 * reader that could still see freed memory.
 */
/* One mbuf holds one frame of the largest interface mtu, a VLAN tag and
 * 128 bytes beyond (a PROXY header); 1500 keeps DPDK's default, up to a
 * object within a 4 KiB page (AF_XDP's umem chunk), then 1 KiB steps. */
TEST(Ctl, MbufsHoldAFrameOfTheLargestMtu)
{
	const struct {
		unsigned mtu0, mtu1;
	} cases[] = { { 0, 0 }, { 1500, 0 }, { 0, 3500 }, { 1600, 1500 },
		      { 3550, 0 }, { 3600, 0 }, { 9000, 1500 }, { 9600, 9000 } };
	const uint32_t page = 4032 - 64 - sizeof(struct rte_mbuf);

	for (const auto &k : cases) {
		std::string head(HEAD);
		char m[64];

		if (k.mtu0 != 0) {
			snprintf(m, sizeof(m), "198.51.100.1/24\"; mtu = %u; ",
				 k.mtu0);
			head.replace(head.find("198.51.100.1/24\";"), 17, m);
		}
		if (k.mtu1 != 0) {
			snprintf(m, sizeof(m), "10.0.0.1/24\"; mtu = %u; ",
				 k.mtu1);
			head.replace(head.find("10.0.0.1/24\";"), 13, m);
		}
		TmpFile f;
		f.write(config(1, 0, head.c_str()));
		struct ef_ctl *c = make(f, 1);
		ASSERT_NE(c, nullptr) << head;
		unsigned mtu = std::max({ 1500u, k.mtu0, k.mtu1 });
		uint32_t room = rte_pktmbuf_data_room_size(
			ef_ctl_shared(c)->pool);
		const struct ef_cfg *cfg = ef_ctl_shared(c)->gen->cfg;
		uint32_t need = RTE_PKTMBUF_HEADROOM + mtu + 18 + 128;

		EXPECT_EQ(room, ef_fwd_mbuf_buf_size(cfg)) << mtu;
		EXPECT_EQ(cfg->interfaces[0].mtu, k.mtu0);
		EXPECT_GE(room, need) << mtu;
		if (need <= RTE_MBUF_DEFAULT_BUF_SIZE) {
			EXPECT_EQ(room, (uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE);
		} else if (need <= page) {
			EXPECT_EQ(room, page) << mtu;
			EXPECT_LE(ef_ctl_shared(c)->pool->elt_size +
				  ef_ctl_shared(c)->pool->header_size +
				  ef_ctl_shared(c)->pool->trailer_size, 4096u);
		} else {
			EXPECT_EQ(room % 1024, 0u) << mtu;
			EXPECT_LT(room, need + 1024) << mtu;
		}
		ef_ctl_free(c);
	}
}

TEST(Ctl, PublishUnderRcuWithConcurrentReaders)
{
	TmpFile f;
	char err[EF_CTL_ERR_MAX];
	const uint32_t workers = 2;

	f.write(config(8, 0));
	struct ef_ctl *c = make(f, workers);
	ASSERT_NE(c, nullptr);
	struct ef_fwd_shared *sh = ef_ctl_shared(c);
	std::atomic<bool> stop{false};
	std::atomic<uint64_t> reads{0}, bad{0};
	std::vector<std::thread> th;

	for (uint32_t id = 0; id < workers; id++)
		th.emplace_back([&, id] {
			uint64_t last = 0;

			rte_rcu_qsbr_thread_register(sh->qsbr, id);
			rte_rcu_qsbr_thread_online(sh->qsbr, id);
			while (!stop.load()) {
				const struct ef_svc_gen *g = __atomic_load_n(
					&sh->gen, __ATOMIC_ACQUIRE);
				uint32_t sum = 0;

				if (g->number < last)
					bad++;
				last = g->number;
				for (uint32_t s = 0; s < g->n_sps; s++) {
					const struct ef_svc_pool *p =
						ef_svc_pool_get(&g->sps[s]);

					sum += p->n_all + g->sps[s].eps[1].addr;
				}
				if (g->cfg->n_services != 8 || sum == 0)
					bad++;
				reads++;
				rte_rcu_qsbr_quiescent(sh->qsbr, id);
			}
			rte_rcu_qsbr_thread_offline(sh->qsbr, id);
			rte_rcu_qsbr_thread_unregister(sh->qsbr, id);
		});
	th.emplace_back([&] {
		while (!stop.load()) {
			const struct ef_svc_gen *g = ef_ctl_read_lock(c);

			if (ef_svc_find(g, "ns/s7") != 7)
				bad++;
			ef_ctl_read_unlock(c);
		}
	});
	for (int i = 1; i <= 60; i++) {
		f.write(config(8, i & 1));
		ASSERT_EQ(ef_ctl_reload(c, err, sizeof(err)), 0) << err;
		ASSERT_EQ(ef_ctl_generation(c), (uint64_t)i + 1);
		const struct ef_svc_gen *g = sh->gen;
		EXPECT_TRUE(ef_svc_endpoint_exists(g, g->svcs[0].stable_id,
			g->sps[0].eps[0].addr, g->sps[0].eps[0].port,
			g->sps[0].proto));
	}
	stop = true;
	for (auto &t : th)
		t.join();
	EXPECT_EQ(bad.load(), 0u);
	EXPECT_GT(reads.load(), 0u);
	ef_ctl_free(c);
}

/* Posted reloads (the telemetry path) are served by the control loop's
 * side; here the test plays the control lcore. */
TEST(Ctl, ReloadWaitTimesOutWithoutControlLoop)
{
	TmpFile f;
	char err[256];
	uint64_t gen = 0;

	f.write(config(1, 0));
	struct ef_ctl *c = make(f, 1);
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(ef_ctl_reload_wait(c, 20, &gen, err, sizeof(err)),
		  -ETIMEDOUT);
	EXPECT_EQ(gen, 1u);
	EXPECT_EQ(ef_ctl_generation(c), 1u);
	ef_ctl_free(c);
}

/* A reload answers before it frees: the old generation is retired and
 * the new one's parser tree kept until ef_ctl_reclaim(), which frees one
 * thing per call, never while a reload waits; at most two generations
 * wait, and ef_ctl_free() frees what is left (ASan/LSan would see a
 * leak). */
TEST(Ctl, ReloadDefersFreesToReclaim)
{
	TmpFile f;
	char err[EF_CTL_ERR_MAX];
	uint64_t gen = 0;

	f.write(config(20, 0));
	struct ef_ctl *c = make(f, 1);
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(ef_ctl_retired(c), 0u);
	EXPECT_FALSE(ef_ctl_reclaim(c));
	for (unsigned i = 1; i <= 3; i++) {
		f.write(config(20, (int)(i % 2)));
		ASSERT_EQ(ef_ctl_reload(c, err, sizeof(err)), 0) << err;
		EXPECT_EQ(ef_ctl_retired(c), i < 2 ? i : 2u);
		EXPECT_NE(ef_ctl_shared(c)->gen->cfg->parse_tree, nullptr);
	}
	EXPECT_EQ(ef_ctl_generation(c), 4u);
	/* the running generation's parser tree first, then the retired
	 * generations, oldest first, one per call */
	EXPECT_TRUE(ef_ctl_reclaim(c));
	EXPECT_EQ(ef_ctl_shared(c)->gen->cfg->parse_tree, nullptr);
	EXPECT_EQ(ef_ctl_retired(c), 2u);
	EXPECT_TRUE(ef_ctl_reclaim(c));
	EXPECT_EQ(ef_ctl_retired(c), 1u);
	/* a reload posted and not yet served (nobody runs the control
	 * loop here: it stays posted): nothing more is freed meanwhile */
	std::thread waiter([&] {
		EXPECT_EQ(ef_ctl_reload_wait(c, 20, &gen, err, sizeof(err)),
			  -ETIMEDOUT);
	});
	waiter.join();
	EXPECT_FALSE(ef_ctl_reclaim(c));
	EXPECT_EQ(ef_ctl_retired(c), 1u);
	/* the generation that runs is whole */
	EXPECT_EQ(ef_ctl_shared(c)->gen->cfg->n_services, 20u);
	/* what is left is ef_ctl_free()'s (LeakSanitizer checks) */
	ef_ctl_free(c);
}

/* Reload cost: build + publish (+ grace period, no readers) of a
 * generation with 1, 100 and 10 000 services; printed for the notes. */
TEST(Ctl, ReloadCost)
{
	for (unsigned n : { 1u, 100u, 10000u }) {
		TmpFile f;
		char err[EF_CTL_ERR_MAX];
		std::string text = config(n, 0), text2 = config(n, 1);

		f.write(text);
		struct ef_ctl *c = make(f, 1, 2 * n + 16);
		ASSERT_NE(c, nullptr);
		struct ef_cfg_errors errs = {};
		auto t0 = std::chrono::steady_clock::now();
		struct ef_cfg *cfg = ef_cfg_parse_string(text2.c_str(),
			f.path.c_str(), &errs);
		auto t1 = std::chrono::steady_clock::now();
		ASSERT_NE(cfg, nullptr);
		ASSERT_EQ(ef_ctl_reload_cfg(c, cfg, err, sizeof(err)), 0)
			<< err;
		auto t2 = std::chrono::steady_clock::now();
		EXPECT_EQ(ef_ctl_generation(c), 2u);
		EXPECT_EQ(ef_ctl_shared(c)->gen->cfg->n_services, n);
		printf("reload cost, %5u services: parse %.2f ms, build + "
		       "publish %.2f ms (frees deferred)\n", n,
		       std::chrono::duration<double, std::milli>(t1 - t0)
		       .count(),
		       std::chrono::duration<double, std::milli>(t2 - t1)
		       .count());
		ef_ctl_free(c);
	}
}

} // namespace
