/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cost of a /metrics scrape (issue 15), in one run: n_svc ClusterIP
 * services of 10 endpoints, 64 K established flows spread over all of
 * them forwarding on this lcore, and ef_metrics_render() -- the whole
 * exposition a scrape sends, built by lib/metrics' cursor exactly as the
 * server builds it, minus the socket's send() -- on another CPU, the
 * control lcore's part.
 *
 * Printed: the exposition's size and the time of one scrape with the
 * worker idle (median of SCRAPES_ALONE); then the worker's cycles per
 * packet (and the floor's) while the other thread sleeps, spins in
 * registers (what any busy neighbour CPU costs on this machine) or
 * renders back to back, alternated, medians of the repetitions, and the
 * scrape time while the worker forwards. Figures, never asserted.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_pause.h>

#include "ef_fwd.h"
#include "ef_metrics.h"
#include "bench.h"
#include "harness.h"

#define SCRAPES_ALONE 5u
#define SCRAPES_MAX 4096u	/* durations kept while forwarding */

/* What the other thread does while the worker is measured. */
enum other {
	OTHER_IDLE,		/* sleeps: the CPU is left alone */
	OTHER_SPIN,		/* a busy loop in registers: any busy CPU */
	OTHER_SCRAPE,		/* scrapes back to back */
	OTHER_MAX,
};

struct scraper {
	struct ef_metrics *m;
	int run;		/* acquire: enum other */
	int quit;
	uint64_t scrapes;	/* release: scrapes finished */
	uint64_t spins;		/* release: busy-loop rounds */
	int failed;		/* a render returned an error */
	uint64_t sink;		/* bytes seen (keeps the sink honest) */
	double ms[SCRAPES_MAX];
	uint32_t n_ms;
};

/* What a scrape's socket would get: only counted (the render is the
 * control lcore's cost; send() is the kernel's). */
static int
count_sink(void *arg, const char *p, size_t n)
{
	struct scraper *s = arg;

	s->sink += n + (uint8_t)p[n - 1];
	return 0;
}

/* One scrape: its body length, *ms its duration. */
static int64_t
scrape(struct scraper *s, double *ms)
{
	uint64_t t0 = rte_rdtsc();
	int64_t len = ef_metrics_render(s->m, count_sink, s);

	*ms = (double)(rte_rdtsc() - t0) * 1e3 / ef_bench_tsc_hz;
	return len;
}

static void *
scrape_loop(void *arg)
{
	struct scraper *s = arg;
	const struct timespec nap = { .tv_sec = 0, .tv_nsec = 200000 };

	uint64_t x = 88172645463325252ull;

	while (!__atomic_load_n(&s->quit, __ATOMIC_ACQUIRE)) {
		int run = __atomic_load_n(&s->run, __ATOMIC_ACQUIRE);
		double ms;

		if (run == OTHER_IDLE) {
			/* no scrape: this CPU is left alone */
			nanosleep(&nap, NULL);
			continue;
		}
		if (run == OTHER_SPIN) {
			/* xorshift in registers: no memory traffic, only a
			 * busy CPU next to the worker's */
			for (uint32_t i = 0; i < 100000; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
			}
			s->sink += x & 1;
			__atomic_fetch_add(&s->spins, 1, __ATOMIC_RELEASE);
			continue;
		}
		if (scrape(s, &ms) < 0) {
			__atomic_store_n(&s->failed, 1, __ATOMIC_RELEASE);
			break;
		}
		if (s->n_ms < SCRAPES_MAX)
			s->ms[s->n_ms++] = ms;
		__atomic_fetch_add(&s->scrapes, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* The scraper on another CPU than this one when there is one. */
static int
start_scraper(pthread_t *th, struct scraper *s)
{
	return ef_bench_thread_elsewhere(th, scrape_loop, s) == 0 ? 0 : -1;
}

/* Switch the other thread to what (once it has done one round of it, so
 * that the measurement that follows overlaps it from its start). */
static int
set_other(struct scraper *s, int what)
{
	uint64_t *ctr = what == OTHER_SPIN ? &s->spins : &s->scrapes;
	uint64_t n0 = __atomic_load_n(ctr, __ATOMIC_ACQUIRE);

	__atomic_store_n(&s->run, what, __ATOMIC_RELEASE);
	while (what != OTHER_IDLE &&
	       __atomic_load_n(ctr, __ATOMIC_ACQUIRE) < n0 + 1) {
		if (__atomic_load_n(&s->failed, __ATOMIC_ACQUIRE))
			return -1;
		rte_pause();
	}
	return 0;
}

int
ef_bench_scrape(const struct ef_bench_opts *o, uint32_t n_svc,
		struct ef_bench_scrape_fig *f)
{
	const uint32_t nf = 1u << 16;
	struct ef_bench_opts o1 = *o;
	double fl[OTHER_MAX][16], ed[OTHER_MAX][16], alone[SCRAPES_ALONE];
	struct scraper *s = calloc(1, sizeof(*s));
	struct ef_bench_ctx b;
	struct ef_bench_result r;
	uint64_t t0 = rte_rdtsc(), lost = 0;
	uint32_t *seq = NULL;
	pthread_t th;
	bool started = false;
	int ret = -1;

	memset(f, 0, sizeof(*f));
	if (s == NULL || ef_bench_ctx_init(&b, false, n_svc, 10, nf) != 0) {
		free(s);
		return -1;
	}
	printf("  (%u services, %u endpoints: config + generation %.1f s)\n",
	       n_svc, n_svc * 10, (double)(rte_rdtsc() - t0) / ef_bench_tsc_hz);
	b.n_fes = n_svc;
	b.fes = malloc(sizeof(*b.fes) * n_svc);
	b.rec = malloc(sizeof(*b.rec) * nf);
	seq = ef_bench_seq_uniform(nf, o->seq_len, 50, 23);
	if (b.fes == NULL || b.rec == NULL || seq == NULL)
		goto out;
	for (uint32_t i = 0; i < n_svc; i++)
		b.fes[i] = rte_cpu_to_be_32(EF_BENCH_CLUSTER_IP_NET + i);
	if (ef_bench_precreate(&b, 0, nf) != 0)
		goto out;
	/* the bench's interfaces have no ethdev behind them: a scrape's
	 * port statistics fail (left out of the exposition, as for a port
	 * that does not answer), and ethdev's line about it is not a
	 * figure */
	rte_log_set_level_pattern("lib.ethdev", RTE_LOG_CRIT);
	s->m = ef_metrics_create(b.ctl);
	if (s->m == NULL) {
		fprintf(stderr, "metrics state: %s\n", rte_strerror(rte_errno));
		goto out;
	}
	/* one scrape, the worker idle */
	for (uint32_t i = 0; i < SCRAPES_ALONE; i++) {
		int64_t len = scrape(s, &alone[i]);

		if (len < 0) {
			fprintf(stderr, "render: %s\n", strerror((int)-len));
			goto out;
		}
		f->bytes = (double)len;
	}
	f->alone_ms = ef_bench_median(alone, SCRAPES_ALONE);
	printf("scrape, %u services: %.2f MB, %.1f ms alone (median of %u)\n",
	       n_svc, f->bytes / 1e6, f->alone_ms, SCRAPES_ALONE);
	if (start_scraper(&th, s) != 0)
		goto out;
	started = true;
	/* idle, spin, scrape, idle, spin, scrape, ...: one repetition each
	 * time */
	o1.reps = 1;
	for (uint32_t i = 0; i < o->reps; i++)
		for (int k = 0; k < OTHER_MAX; k++) {
			if (set_other(s, k) != 0) {
				fprintf(stderr, "render failed while "
					"forwarding\n");
				goto out;
			}
			ef_bench_measure(&b, seq, &o1, &r);
			fl[k][i] = r.floor_cpp;
			ed[k][i] = r.cpp;
			lost += r.lost;
		}
	set_other(s, OTHER_IDLE);
	for (int k = 0; k < OTHER_MAX; k++) {
		static const char *const what[OTHER_MAX] = {
			"est 64K flows, other CPU idle",
			"est 64K flows, other CPU spins",
			"est 64K flows, other CPU scrapes",
		};

		r.floor_cpp = ef_bench_median(fl[k], o->reps);
		r.cpp = ef_bench_median(ed[k], o->reps);
		r.lost = lost;
		ef_bench_print_row(what[k], &r);
		f->floor[k] = r.floor_cpp;
		f->cpp[k] = r.cpp;
	}
	f->busy_ms = ef_bench_median(s->ms, s->n_ms);
	printf("scrape while forwarding: %.1f ms (median of %u scrapes); "
	       "worker cycles/pkt x%.3f with scrapes, x%.3f with a busy "
	       "loop (floor x%.3f, x%.3f)\n", f->busy_ms, s->n_ms,
	       f->cpp[2] / f->cpp[0], f->cpp[1] / f->cpp[0],
	       f->floor[2] / f->floor[0], f->floor[1] / f->floor[0]);
	fflush(stdout);
	ret = lost == 0 ? 0 : -1;
out:
	if (started) {
		__atomic_store_n(&s->quit, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
	}
	ef_metrics_free(s->m);
	free(s);
	free(seq);
	ef_bench_ctx_free(&b);
	return ret;
}
