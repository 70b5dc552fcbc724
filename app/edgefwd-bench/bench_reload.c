/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reloads under load (issue 17, target 5): n_svc ClusterIP services of eps
 * endpoints (Cluster), n established flows spread over them, forwarding on
 * this lcore (bursts of 32, the worker's housekeeping after each and a
 * quiescent state, as ef_fwd_worker_main() does) while a control thread on
 * another CPU reloads the whole configuration through ef_ctl_reload_cfg():
 * generation build, publish, grace period, the post-reload sweep of the
 * worker's table, the deferred frees (ef_ctl_reclaim()). The reloads
 * alternate between the configuration and another (one endpoint more in
 * every 100th service, service 0's endpoints moved), so that each reload
 * changes services and no flow of the traffic loses its endpoint; service
 * 0 holds IDLE_FLOWS idle flows that the first sweep closes. Printed: the TSC gap between
 * consecutive bursts (distribution and histogram) with reloads and, for
 * the same number of bursts, without; packets offered and forwarded.
 * Figures, never asserted.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>

#include "ef_cfg.h"
#include "ef_ctl.h"
#include "ef_fwd.h"
#include "bench.h"
#include "harness.h"

#define MORE_EVERY 100u	/* the other config: one endpoint more per 100 */
#define IDLE_FLOWS 4096u	/* to service 0, no traffic: swept */

struct reloader {
	struct ef_bench_ctx *b;
	char *text[2];		/* [0] the configuration, [1] its superset */
	uint32_t n_reloads;
	int stop;		/* set (release) when the last sweep is done */
	uint32_t ok, failed;
	double reload_ms[16], sweep_ms[16];
};

static void *
reload_loop(void *arg)
{
	struct reloader *r = arg;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000 };
	struct ef_fwd_worker *w = r->b->w;
	char err[512];

	for (uint32_t i = 0; i < r->n_reloads; i++) {
		struct ef_cfg_errors errs = { 0 };
		struct ef_cfg *cfg = ef_cfg_parse_string(r->text[(i + 1) % 2],
							 "bench.conf", &errs);
		uint64_t t0, t1, g;

		if (cfg == NULL) {
			ef_cfg_errors_clear(&errs);
			r->failed++;
			break;
		}
		t0 = rte_rdtsc();
		if (ef_ctl_reload_cfg(r->b->ctl, cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "reload: %s\n", err);
			r->failed++;
			break;
		}
		t1 = rte_rdtsc();
		r->reload_ms[i] = (double)(t1 - t0) * 1e3 / ef_bench_tsc_hz;
		g = ef_ctl_generation(r->b->ctl);
		/* the sweep of g over the whole table, then what the reload
		 * left to free, as the control loop does between reloads */
		while (__atomic_load_n(&w->sweep_done, __ATOMIC_ACQUIRE) < g)
			nanosleep(&ts, NULL);
		r->sweep_ms[i] = (double)(rte_rdtsc() - t1) * 1e3 /
			ef_bench_tsc_hz;
		while (ef_ctl_reclaim(r->b->ctl))
			;
		r->ok++;
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Involuntary context switches of this thread so far: the gaps the
 * scheduler makes (other processes on this CPU), not the worker. */
static long
preempted(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : -1;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Before the sort: the gaps over 50 us, how many of them the scheduler
 * made (this thread switched out), and the longest of the others (us). */
static void
print_attribution(const struct ef_bench_ctx *b, const uint64_t *gaps,
		  uint64_t n)
{
	double us = 1e6 / ef_bench_tsc_hz, own = 0;
	uint64_t over = 0, pre = 0;

	for (uint64_t i = 0; i < n; i++) {
		if (gaps[i] <= b->check_tsc)
			continue;
		over++;
		if (b->preempted[i])
			pre++;
		else if ((double)gaps[i] * us > own)
			own = (double)gaps[i] * us;
	}
	printf("    gaps > 50 us: %" PRIu64 ", %" PRIu64 " with the worker "
	       "thread preempted; longest without: %.2f us\n", over, pre,
	       own);
}

/* The p/10000 quantile of n sorted values. */
static uint64_t
quantile(const uint64_t *v, uint64_t n, uint64_t p)
{
	return v[n * p / 10000];
}

/* Sorts gaps, prints their distribution and histogram; *p999 and the
 * return value: p99.9 and the longest gap (us). */
static double
print_dist(const char *what, uint64_t *gaps, uint64_t n, double *p999)
{
	static const double lim[] = { 2, 5, 10, 15, 20, 30, 50, 100, 1000 };
	uint64_t cnt[RTE_DIM(lim) + 1] = { 0 };
	double us = 1e6 / ef_bench_tsc_hz;
	uint32_t k = 0;

	if (n == 0)
		return 0;
	qsort(gaps, n, sizeof(*gaps), cmp_u64);
	for (uint64_t i = 0; i < n; i++) {
		while (k < RTE_DIM(lim) && (double)gaps[i] * us >= lim[k])
			k++;
		cnt[k]++;
	}
	*p999 = (double)quantile(gaps, n, 9990) * us;
	printf("  burst gap us, %s (%" PRIu64 " bursts): p50 %.2f p99 %.2f "
	       "p99.9 %.2f p99.99 %.2f max %.2f\n    histogram:", what, n,
	       (double)quantile(gaps, n, 5000) * us,
	       (double)quantile(gaps, n, 9900) * us, *p999,
	       (double)quantile(gaps, n, 9999) * us,
	       (double)gaps[n - 1] * us);
	for (k = 0; k <= RTE_DIM(lim); k++) {
		if (k < RTE_DIM(lim))
			printf(" <%g:%" PRIu64, lim[k], cnt[k]);
		else
			printf(" >=%g:%" PRIu64, lim[k - 1], cnt[k]);
	}
	printf("\n");
	return (double)gaps[n - 1] * us;
}

int
ef_bench_reload(const struct ef_bench_opts *o, uint32_t n_svc, uint32_t eps,
		uint32_t n, struct ef_bench_reload_fig *f)
{
	const uint64_t n_gaps = 16u << 20;
	struct ef_bench_ctx b;
	struct reloader r = { .b = &b, .n_reloads = o->quick ? 2 : 6 };
	uint64_t *gaps = NULL, ran, lost0, sw0, rm0;
	long cs0, cs1;
	uint32_t *seq = NULL;
	pthread_t th;
	int ret = -1;

	memset(f, 0, sizeof(*f));
	r.text[0] = ef_bench_conf_more(false, n_svc, eps, n + IDLE_FLOWS, 0);
	r.text[1] = ef_bench_conf_more(false, n_svc, eps, n + IDLE_FLOWS,
				       MORE_EVERY);
	if (r.text[0] == NULL || r.text[1] == NULL)
		goto out_text;
	if (ef_bench_ctx_init_text(&b, strdup(r.text[0]), n_svc + 64,
				   n + IDLE_FLOWS) != 0)
		goto out_text;
	b.fes = malloc(sizeof(*b.fes) * n_svc);
	b.rec = malloc(sizeof(*b.rec) * (n + IDLE_FLOWS));
	gaps = malloc(sizeof(*gaps) * n_gaps);
	b.preempted = calloc(n_gaps, 1);
	b.check_tsc = (uint64_t)(ef_bench_tsc_hz * 50e-6);
	seq = ef_bench_seq_uniform(n, o->seq_len, 50, 13 + n);
	if (b.fes == NULL || b.rec == NULL || gaps == NULL ||
	    b.preempted == NULL || seq == NULL)
		goto out;
	/* the idle flows to service 0, then the traffic's to the others */
	b.n_fes = 1;
	b.fes[0] = rte_cpu_to_be_32(EF_BENCH_CLUSTER_IP_NET);
	if (ef_bench_precreate(&b, n, IDLE_FLOWS) != 0)
		goto out;
	b.n_fes = n_svc - 1;
	for (uint32_t s = 1; s < n_svc; s++)
		b.fes[s - 1] = rte_cpu_to_be_32(EF_BENCH_CLUSTER_IP_NET + s);
	if (ef_bench_precreate(&b, 0, n) != 0)
		goto out;
	/* fault the gap buffer in now: a page fault in the run waits for the
	 * address-space lock that the reloader's mmap/munmap hold */
	memset(gaps, 0, sizeof(*gaps) * n_gaps);
	memset(b.preempted, 0, n_gaps);
	/* this thread is the worker: the reload's grace period waits for it */
	rte_rcu_qsbr_thread_register(b.sh->qsbr, 0);
	rte_rcu_qsbr_thread_online(b.sh->qsbr, 0);
	b.rcu_online = true;
	lost0 = b.lost;
	sw0 = b.w->c.flows_swept;
	rm0 = b.w->c.drops[EF_FWD_DROP_ENDPOINT_REMOVED];
	if (ef_bench_thread_elsewhere(&th, reload_loop, &r) != 0)
		goto offline;
	cs0 = preempted();
	ran = ef_bench_run_polls(&b, seq, o->seq_len, &r.stop, gaps, n_gaps);
	cs1 = preempted() - cs0;
	/* the buffer is full: keep polling (no packets) until the reloads
	 * are done, so that their grace periods and sweeps end */
	while (!__atomic_load_n(&r.stop, __ATOMIC_ACQUIRE)) {
		ef_fwd_begin(b.w);
		ef_fwd_housekeep(b.w, 64);
		rte_rcu_qsbr_quiescent(b.sh->qsbr, 0);
	}
	pthread_join(th, NULL);
	f->lost = b.lost - lost0;
	printf("reload under load: %u services x %u endpoints, %u flows "
	       "forwarding + %u idle, %u/%u reloads (config <-> +1 endpoint "
	       "in every %uth service, service 0's moved)%s\n", n_svc, eps,
	       n, IDLE_FLOWS, r.ok, r.n_reloads, MORE_EVERY,
	       ran == n_gaps ? " (gap buffer full)" : "");
	for (uint32_t i = 0; i < r.ok; i++)
		printf("  reload %u: build+publish+grace %.1f ms, then sweep "
		       "of the table %.1f ms\n", i + 1, r.reload_ms[i],
		       r.sweep_ms[i]);
	printf("  packets offered %" PRIu64 ", forwarded %" PRIu64 ", lost %"
	       PRIu64 "; flows swept %" PRIu64 ", endpoint_removed drops %"
	       PRIu64 "\n", ran * EF_BENCH_BURST,
	       ran * EF_BENCH_BURST - f->lost, f->lost,
	       b.w->c.flows_swept - sw0,
	       b.w->c.drops[EF_FWD_DROP_ENDPOINT_REMOVED] - rm0);
	print_attribution(&b, gaps, ran);
	f->max_us = print_dist("with reloads", gaps, ran, &f->p999_us);
	printf("    the worker thread was preempted %ld times\n", cs1);
	/* the same number of bursts without reloads: what the machine adds
	 * by itself */
	{
		int no_stop = 0;
		uint64_t base;

		memset(b.preempted, 0, ran);
		cs0 = preempted();
		base = ef_bench_run_polls(&b, seq, o->seq_len, &no_stop, gaps,
					  ran);
		cs1 = preempted() - cs0;
		print_attribution(&b, gaps, base);
		f->base_max_us = print_dist("no reload   ", gaps, base,
					    &f->base_p999_us);
		printf("    the worker thread was preempted %ld times\n", cs1);
	}
	fflush(stdout);
	ret = r.ok == r.n_reloads && f->lost == 0 ? 0 : -1;
offline:
	b.rcu_online = false;
	rte_rcu_qsbr_thread_offline(b.sh->qsbr, 0);
	rte_rcu_qsbr_thread_unregister(b.sh->qsbr, 0);
out:
	free(seq);
	free(gaps);
	free(b.preempted);
	b.preempted = NULL;
	ef_bench_ctx_free(&b);
out_text:
	free(r.text[0]);
	free(r.text[1]);
	return ret;
}
