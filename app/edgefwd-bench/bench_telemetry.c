/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry never stalls a worker (issue 16, item 2): n established flows
 * forward on this lcore (bursts of 32, the worker's housekeeping after each,
 * as ef_fwd_poll() does) while another thread posts 100 flow-sample
 * commands through ef_fwd_command(), as the telemetry thread does: 50 of
 * /edgefwd/flows' default size (16) and 50 of /edgefwd/service's
 * (SAMPLE_PER_WORKER, 4096, which walks slots until it holds 4096 flows),
 * plus 10 whole-table samples (max = n: a walk of every slot, the worst
 * case). The worker runs each command in slices of EF_FWD_CMD_BUDGET slots
 * per poll. Printed: the longest poll-to-poll gap, its distribution, and
 * the packets lost (must be 0). Figures, never asserted.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>

#include "ef_fwd.h"
#include "bench.h"
#include "harness.h"

struct poster {
	struct ef_fwd_shared *sh;
	uint32_t n_flows;
	int stop;		/* set (release) when every command is done */
	uint32_t done, failed;
	uint64_t sampled;
};

static void *
post_commands(void *arg)
{
	struct poster *ps = arg;
	struct ef_fwd_cmd cmd;
	uint32_t cap = ps->n_flows;
	struct ef_fwd_flow_info *out = calloc(cap, sizeof(*out));

	for (uint32_t i = 0; out != NULL && i < 110; i++) {
		memset(&cmd, 0, sizeof(cmd));
		cmd.type = EF_FWD_CMD_FLOW_SAMPLE;
		cmd.max = i >= 100 ? cap : (i % 2 ? 16u : 4096u);
		cmd.out = out;
		/* generous: a whole-table walk is ~n / 256 polls */
		if (ef_fwd_command(ps->sh, 0, &cmd, 20000) == 0) {
			ps->done++;
			ps->sampled += cmd.n_out;
		} else {
			ps->failed++;
			break;	/* the worker may still write cmd: stop */
		}
	}
	__atomic_store_n(&ps->stop, 1, __ATOMIC_RELEASE);
	if (ps->failed == 0)
		free(out);
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Index of the p/10000 quantile of n sorted values. */
static uint64_t
pct(uint64_t n, uint64_t p)
{
	return n * p / 10000;
}

/* Sorts gaps; prints the distribution; returns the longest (us). */
static double
print_gaps(const char *what, uint64_t *gaps, uint64_t ran)
{
	static const double lim_us[4] = { 10, 50, 100, 1000 };
	uint64_t over[4] = { 0 };
	double us = 1e6 / ef_bench_tsc_hz;

	if (ran == 0)
		return 0;
	qsort(gaps, ran, sizeof(*gaps), cmp_u64);
	for (uint64_t i = 0; i < ran; i++)
		for (int k = 0; k < 4; k++)
			if ((double)gaps[i] * us > lim_us[k])
				over[k]++;
	printf("  poll gap us, %s: median %.2f p99 %.2f p99.9 %.2f "
	       "p99.99 %.2f max %.2f; polls > 10 us %" PRIu64 ", > 50 us %"
	       PRIu64 ", > 100 us %" PRIu64 ", > 1 ms %" PRIu64 "\n", what,
	       (double)gaps[pct(ran, 5000)] * us,
	       (double)gaps[pct(ran, 9900)] * us,
	       (double)gaps[pct(ran, 9990)] * us,
	       (double)gaps[pct(ran, 9999)] * us,
	       (double)gaps[ran - 1] * us, over[0], over[1], over[2], over[3]);
	return (double)gaps[ran - 1] * us;
}

int
ef_bench_telemetry(const struct ef_bench_opts *o, uint32_t n,
		   double *max_gap_us, uint64_t *lost)
{
	const uint64_t n_gaps = 4u << 20;
	struct ef_bench_ctx b;
	struct poster ps = { 0 };
	pthread_t th;
	uint64_t *gaps, ran, lost0;
	uint32_t *seq;
	double us;

	if (ef_bench_ctx_init(&b, true, 0, 0, n) != 0)
		return -1;
	b.n_fes = 1;
	b.fes = malloc(sizeof(*b.fes));
	b.rec = malloc(sizeof(*b.rec) * n);
	gaps = malloc(sizeof(*gaps) * n_gaps);
	seq = ef_bench_seq_uniform(n, o->seq_len, 50, 11 + n);
	if (b.fes == NULL || b.rec == NULL || gaps == NULL || seq == NULL)
		goto fail;
	b.fes[0] = rte_cpu_to_be_32(EF_BENCH_VIP_CLUSTER);
	if (ef_bench_precreate(&b, 0, n) != 0)
		goto fail;
	ps.sh = b.sh;
	ps.n_flows = n;
	lost0 = b.lost;
	/* the poster runs on another CPU when there is one (EAL pinned this
	 * thread, and a new thread inherits that): the gaps are the worker's,
	 * not the scheduler's */
	{
		pthread_attr_t at;
		cpu_set_t cs;
		int me = sched_getcpu();

		pthread_attr_init(&at);
		CPU_ZERO(&cs);
		for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN); c++)
			if (c != me)
				CPU_SET((int)c, &cs);
		if (CPU_COUNT(&cs) > 0)
			pthread_attr_setaffinity_np(&at, sizeof(cs), &cs);
		if (pthread_create(&th, &at, post_commands, &ps) != 0) {
			pthread_attr_destroy(&at);
			goto fail;
		}
		pthread_attr_destroy(&at);
	}
	ran = ef_bench_run_polls(&b, seq, o->seq_len, &ps.stop, gaps, n_gaps);
	pthread_join(th, NULL);
	*lost = b.lost - lost0;
	us = 1e6 / ef_bench_tsc_hz;
	*max_gap_us = print_gaps("with commands", gaps, ran);
	printf("telemetry under load, %u flows: %u/%u samples answered "
	       "(%" PRIu64 " flows copied), %" PRIu64 " polls of 32 pkts, "
	       "lost %" PRIu64 "\n", n, ps.done, ps.done + ps.failed,
	       ps.sampled, ran, *lost);
	/* the same number of polls without commands: what the machine
	 * (preemption, other load) adds by itself */
	{
		int no_stop = 0;
		uint64_t base = ef_bench_run_polls(&b, seq, o->seq_len,
						   &no_stop, gaps, ran);

		(void)us;
		print_gaps("no command   ", gaps, base);
	}
	fflush(stdout);
	free(seq);
	free(gaps);
	ef_bench_ctx_free(&b);
	/* a sample that timed out is printed above, not a failure: figures */
	return *lost == 0 ? 0 : -1;
fail:
	free(seq);
	free(gaps);
	ef_bench_ctx_free(&b);
	return -1;
}
