/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ct_figures: memory per flow and ns per key of ef_ct_lookup_bulk() (bursts
 * of 32) for tables filled to max_flows, at each size given (default
 * 65536, 1048576 and 16777216 flows). For the sizes up to 4 M it also runs
 * rte_hash (the previous index: 2 x max_flows 16-byte keys, extendable
 * buckets) on the same keys, as a baseline measured in the same run.
 *
 * Not a meson test: 16 M flows need ~1.8 GB. EAL runs without hugepages
 * (-m from EF_FIG_MB, default 2400) unless EF_FIG_HUGE=1; its anonymous
 * memory is then advised MADV_HUGEPAGE (transparent 2 MB pages, when THP
 * is "madvise" or "always"; EF_FIG_THP=0 keeps 4 KB pages) so that the
 * figures show the table, not 4 KB page walks, as with EAL hugepages.
 *
 *   ct_figures [flows ...]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "ef_ct.h"

namespace {

const uint32_t BURST = 32;
const uint32_t LOOKUPS = 1u << 21;	/* keys per timed pass */
const int RUNS = 5;

uint32_t
mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x;
}

/* Distinct keys per id (mix32 is a bijection); orig and reply differ. */
void
flow_keys(uint32_t id, struct ef_ct_key4 *o, struct ef_ct_key4 *r)
{
	memset(o, 0, sizeof(*o));
	memset(r, 0, sizeof(*r));
	o->src = mix32(id);
	o->dst = htonl(0xc633640a);
	o->sport = (uint16_t)(id * 7);
	o->dport = htons(80);
	o->proto = IPPROTO_TCP;
	r->src = mix32(id ^ 0x5bd1e995u);
	r->dst = htonl(0x0a000001);
	r->sport = htons(8080);
	r->dport = (uint16_t)(id * 13);
	r->proto = IPPROTO_TCP;
}

/* CPU time of this thread: the machine is shared, preemption is not ours. */
double
now_ns()
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct Fig {
	double ns;
	double cycles;
};

/* Median over RUNS of one timed pass over keys, in bursts of BURST. */
template <typename F>
Fig
time_bursts(const std::vector<struct ef_ct_key4> &keys, F lookup)
{
	std::vector<double> ns, cyc;

	for (int run = 0; run < RUNS; run++) {
		double t0 = now_ns();
		uint64_t c0 = rte_rdtsc();
		for (size_t i = 0; i + BURST <= keys.size(); i += BURST)
			lookup(&keys[i]);
		uint64_t c1 = rte_rdtsc();
		double t1 = now_ns();
		ns.push_back((t1 - t0) / keys.size());
		cyc.push_back((double)(c1 - c0) / keys.size());
	}
	std::sort(ns.begin(), ns.end());
	std::sort(cyc.begin(), cyc.end());
	return { ns[RUNS / 2], cyc[RUNS / 2] };
}

/* Lookup keys: hits of random flows in random directions (or misses). */
std::vector<struct ef_ct_key4>
lookup_keys(uint32_t flows, bool misses, std::mt19937 &rng)
{
	std::vector<struct ef_ct_key4> keys(LOOKUPS);
	struct ef_ct_key4 o, r;

	for (auto &k : keys) {
		uint32_t id = rng() % flows;
		if (misses && (rng() & 1))
			id += flows;	/* never inserted */
		flow_keys(id, &o, &r);
		k = (rng() & 1) ? o : r;
	}
	return keys;
}

void
run_ct(uint32_t n, std::mt19937 &rng)
{
	struct ef_ct_params p = {};
	std::string name = "fig" + std::to_string(n);
	struct ef_ct_key4 o, r;
	uint64_t sink = 0;
	int err;

	p.name = name.c_str();
	p.max_flows = n;
	p.timeouts.tcp_syn_timeout = 30;
	p.timeouts.tcp_established_timeout = 7440;
	p.timeouts.tcp_fin_timeout = 30;
	p.timeouts.tcp_close_timeout = 10;
	p.timeouts.udp_timeout = 30;
	p.timeouts.udp_stream_timeout = 120;
	p.timeouts.icmp_timeout = 30;
	p.socket_id = SOCKET_ID_ANY;
	struct ef_ct *ct = ef_ct_create(&p);
	if (ct == nullptr) {
		printf("ct %u: create failed: %s\n", n, rte_strerror(rte_errno));
		return;
	}
	double t0 = now_ns();
	for (uint32_t id = 0; id < n; id++) {
		flow_keys(id, &o, &r);
		if (ef_ct_create_flow(ct, &o, &r, 1, &err) == nullptr) {
			printf("ct %u: create %u failed: %d\n", n, id, err);
			ef_ct_free(ct);
			return;
		}
	}
	double fill = (now_ns() - t0) / n;

	for (bool misses : { false, true }) {
		std::vector<struct ef_ct_key4> keys = lookup_keys(n, misses, rng);
		Fig f = time_bursts(keys, [&](const struct ef_ct_key4 *k) {
			const struct ef_ct_key4 *kp[BURST];
			struct ef_ct_flow *fl[BURST];
			uint8_t d[BURST];
			for (uint32_t i = 0; i < BURST; i++)
				kp[i] = &k[i];
			ef_ct_lookup_bulk(ct, kp, BURST, fl, d);
			for (uint32_t i = 0; i < BURST; i++)
				sink += fl[i] != nullptr ? fl[i]->state + 1u : 0;
		});
		printf("ct      flows %9u %s: %6.1f ns/key (cpu) %6.1f TSC cycles/key (wall)\n",
		       n, misses ? "50% miss" : "all hit ", f.ns, f.cycles);
	}
	printf("ct      flows %9u: %.1f B/flow, create %.0f ns/flow (fill to "
	       "max), hits+1 sum %llu\n", n, (double)ef_ct_memory(ct) / n,
	       fill, (unsigned long long)sink);
	ef_ct_free(ct);
}

void
run_rte_hash(uint32_t n, std::mt19937 &rng)
{
	struct rte_hash_parameters hp = {};
	std::string name = "rh" + std::to_string(n);
	struct ef_ct_key4 o, r;
	uint64_t sink = 0;

	hp.name = name.c_str();
	hp.entries = 2 * n;
	hp.key_len = sizeof(struct ef_ct_key4);
	hp.hash_func = rte_hash_crc;
	hp.socket_id = SOCKET_ID_ANY;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	struct rte_hash *h = rte_hash_create(&hp);
	if (h == nullptr) {
		printf("rte_hash %u: create failed\n", n);
		return;
	}
	for (uint32_t id = 0; id < n; id++) {
		flow_keys(id, &o, &r);
		rte_hash_add_key_data(h, &o, (void *)(uintptr_t)(id << 1));
		rte_hash_add_key_data(h, &r, (void *)(uintptr_t)(id << 1 | 1));
	}
	std::vector<struct ef_ct_key4> keys = lookup_keys(n, false, rng);
	Fig f = time_bursts(keys, [&](const struct ef_ct_key4 *k) {
		const void *kp[BURST];
		void *data[BURST];
		uint64_t hits = 0;
		for (uint32_t i = 0; i < BURST; i++)
			kp[i] = &k[i];
		rte_hash_lookup_bulk_data(h, kp, BURST, &hits, data);
		sink += hits;
	});
	printf("rte_hash flows %9u all hit : %6.1f ns/key (cpu) %6.1f TSC "
	       "cycles/key (wall) "
	       "(hash only, flow not read; %llu)\n", n, f.ns, f.cycles,
	       (unsigned long long)(sink != 0));
	rte_hash_free(h);
}

/* Ask for transparent huge pages on EAL's --no-huge memory. */
int
advise_thp(const struct rte_memseg_list *msl, void *arg)
{
	(void)arg;
	if (msl->base_va != nullptr && msl->len != 0)
		madvise(msl->base_va, msl->len, MADV_HUGEPAGE);
	return 0;
}

} /* namespace */

int
main(int argc, char **argv)
{
	const char *mb = getenv("EF_FIG_MB");
	const char *huge = getenv("EF_FIG_HUGE");
	std::string prefix = "ctfig" + std::to_string(getpid());
	std::vector<std::string> args = {
		"ct_figures", "--no-pci", "--no-telemetry", "--no-shconf",
		"-l", "0", "--log-level=lib.*:error", "--file-prefix=" + prefix,
	};
	std::vector<uint32_t> sizes;

	if (huge != nullptr && strcmp(huge, "1") == 0) {
		args.push_back("--huge-unlink");
	} else {
		args.push_back("--no-huge");
		args.push_back("-m");
		args.push_back(mb != nullptr ? mb : "2400");
	}
	for (int i = 1; i < argc; i++)
		sizes.push_back((uint32_t)strtoul(argv[i], nullptr, 0));
	if (sizes.empty())
		sizes = { 1u << 16, 1u << 20, 1u << 24 };

	std::vector<char *> av;
	for (auto &a : args)
		av.push_back(&a[0]);
	if (rte_eal_init((int)av.size(), av.data()) < 0) {
		fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	const char *thp = getenv("EF_FIG_THP");
	if ((huge == nullptr || strcmp(huge, "1") != 0) &&
	    (thp == nullptr || strcmp(thp, "0") != 0))
		rte_memseg_list_walk(advise_thp, nullptr);
	std::mt19937 rng(1);
	for (uint32_t n : sizes) {
		run_ct(n, rng);
		if (n <= (4u << 20))
			run_rte_hash(n, rng);
	}
	rte_eal_cleanup();
	return 0;
}
