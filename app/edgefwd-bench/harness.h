/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_BENCH_HARNESS_H
#define EF_BENCH_HARNESS_H

/*
 * edgefwd-bench's measurement harness (harness.c) and the benchmark
 * families the runner (main.c) calls: flows (bench_flows.c), services
 * (bench_services.c), control path (bench_control.c), edge director
 * (bench_edge.c), /metrics scrapes (bench_metrics.c, with a second
 * thread). One lcore.
 *
 * Every figure is the TSC over a whole harness loop (build frames from
 * templates, run the burst function, take the forwarded mbufs back) divided
 * by the packets, and is set against the floor: the same loop with a burst
 * function that only swaps MACs, measured in the same run, alternated
 * floor/edgefwd, medians of the repetitions.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "ef_ctl.h"
#include "ef_fwd.h"
#include "bench.h"

#define EF_BENCH_BURST 32

struct ef_bench_opts {
	bool quick;
	bool no_16m;
	bool telemetry_only;	/* --telemetry: that benchmark alone */
	bool edge_only;		/* --edge: the edge family alone */
	bool scrape_only;	/* --scrape: the scrape cost alone */
	bool rss_only;		/* --rss: the RSS family alone */
	bool reload_only;	/* --reload: reloads under load alone */
	bool ipv6_only;		/* --ipv6: the IPv6 family alone */
	bool services_only;	/* --services: the services family alone */
	bool est_only;		/* --established: established runs alone */
	uint32_t reps;
	uint64_t pkts;		/* per measured repetition */
	uint32_t seq_len;
};

/* One control state + one worker, built from a generated config. */
struct ef_bench_ctx {
	struct ef_ctl *ctl;
	struct ef_fwd_shared *sh;
	struct ef_fwd_worker *w;
	size_t worker_bytes;	/* heap growth of ef_fwd_worker_create() */
	/* TSC cycles of ef_bench_ctx_init*(): the config's text, its parse
	 * (ef_cfg_parse_string), the control state and first generation
	 * (ef_ctl_create), the worker and its tables */
	uint64_t tsc_text, tsc_parse, tsc_build, tsc_worker;
	struct ef_bench_tmpl tmpl[2][EF_BENCH_KIND_MAX];  /* by interface */
	uint32_t *fes;		/* frontend addresses (network order) */
	uint32_t n_fes;
	struct ef_bench_rec *rec;	/* reply tuple by flow */
	uint32_t n_flows;
	struct rte_mbuf *pkts[EF_BENCH_BURST];
	uint64_t lost;		/* frames not forwarded */
	uint32_t proxy_h;	/* PROXY header length of the flows, or 0 */
	bool rcu_online;	/* this thread is QSBR id 0: polls report
				 * quiescent states */
	/* ef_bench_run_polls(): after a gap of more than check_tsc (0:
	 * never), preempted[i] tells whether this thread was switched out
	 * involuntarily since the last check (getrusage) */
	uint64_t check_tsc;
	uint8_t *preempted;
	long nivcsw;		/* at the last check */
};

struct ef_bench_result {
	double floor_cpp;
	double cpp;		/* edgefwd cycles per packet */
	uint64_t lost;
};

/* TSC frequency, set by the runner once EAL is up. */
extern double ef_bench_tsc_hz;

/* Median of v[0, n) (sorts v); 0 when n is 0. */
double ef_bench_median(double *v, uint32_t n);

/* Nanoseconds of a TSC cycle count. */
double ef_bench_ns(double cycles);

/* Build the control state from the bench config, two interfaces without
 * ethdevs (ef_fwd_process() needs only their addresses and MACs), and one
 * worker whose table holds max_flows. 0 or -1 (message printed). */
int ef_bench_ctx_init(struct ef_bench_ctx *b, bool vips, uint32_t n_extra,
		      uint32_t eps, uint32_t max_flows);

/* The same from a configuration text of the bench topology's interfaces
 * (ef_bench_edge_conf(): taken and freed; NULL fails), max_services
 * service ids. */
int ef_bench_ctx_init_text(struct ef_bench_ctx *b, char *text,
			   uint32_t max_services, uint32_t max_flows);

/* Free what ef_bench_ctx_init() and the benchmark allocated. */
void ef_bench_ctx_free(struct ef_bench_ctx *b);

/*
 * Pre-create flows [first, first + n): SYN, the endpoint's SYN-ACK to what
 * the SYN became, the client's ACK: ESTABLISHED. Records each flow's reply
 * tuple. 0, or -1 if any frame was not forwarded.
 */
int ef_bench_precreate(struct ef_bench_ctx *b, uint32_t first, uint32_t n);

/* Floor and edgefwd alternated over seq, o->reps times each: medians,
 * cycles/pkt. */
void ef_bench_measure(struct ef_bench_ctx *b, const uint32_t *seq,
		      const struct ef_bench_opts *o, struct ef_bench_result *r);

/* SYN-only traffic: n new flows from first. Returns cycles per new flow
 * (whole loop); *created counts the flows the worker made (conntrack's
 * and the edge flow table's). */
double ef_bench_run_syn(struct ef_bench_ctx *b, uint32_t first, uint32_t n,
			uint64_t *created);

/* The same with frames of kind (an ACK: mid-flow packets of tuples the
 * worker has never seen). */
double ef_bench_run_fresh(struct ef_bench_ctx *b, uint32_t first, uint32_t n,
			  enum ef_bench_kind kind, uint64_t *created);

/* Established traffic from seq (len a power of two), each burst followed
 * by the worker's housekeeping (the command slice of ef_fwd_poll()), until
 * *stop is set or n_gaps bursts ran; gaps[i]: TSC from the end of burst i-1
 * to the end of burst i (one poll). Returns the bursts run. */
uint64_t ef_bench_run_polls(struct ef_bench_ctx *b, const uint32_t *seq,
			   uint32_t len, const int *stop, uint64_t *gaps,
			   uint64_t n_gaps);

/* Worker polls under telemetry: n established flows forwarding while a
 * thread posts 100 flow-sample commands (/edgefwd/flows and
 * /edgefwd/service sizes); longest poll (us) and packets lost. */
int ef_bench_telemetry(const struct ef_bench_opts *o, uint32_t n,
		       double *max_gap_us, uint64_t *lost);

/* The reload family's figures (bench_reload.c), burst gaps in us. */
struct ef_bench_reload_fig {
	double max_us, p999_us;		/* during reloads */
	double base_max_us, base_p999_us;	/* the same bursts, no reload */
	uint64_t lost;
};

/* n_svc ClusterIP services x eps endpoints, n established flows over
 * them forwarding while another thread reloads the configuration through
 * ef_ctl (with the post-reload sweep); the gaps between bursts with and
 * without reloads. -1 when a reload failed or a packet was lost. */
int ef_bench_reload(const struct ef_bench_opts *o, uint32_t n_svc,
		    uint32_t eps, uint32_t n, struct ef_bench_reload_fig *f);

/* The IPv6 family's figures (bench_ipv6.c): one dual-stack config,
 * Cluster (SNAT) flows of each family, the same copy loop. */
struct ef_bench_ipv6_fig {
	double floor_cpp, est4_cpp, est6_cpp;	/* established, cycles/pkt */
	double new4_cpf, new6_cpf;		/* SYNs of fresh flows */
	double bpf4, bpf6;			/* conntrack bytes per flow */
	uint64_t lost;
};

/* n established flows per family, then new flows of each; -1 when a
 * frame was not forwarded. */
int ef_bench_ipv6(const struct ef_bench_opts *o, uint32_t n,
		  struct ef_bench_ipv6_fig *fig);

/* One line of the results table. */
void ef_bench_print_row(const char *what, const struct ef_bench_result *r);

/* Established-flows runs to EF_BENCH_VIP_* */
enum ef_bench_svc {
	EF_BENCH_SVC_CLUSTER,
	EF_BENCH_SVC_LOCAL,
	EF_BENCH_SVC_PROXY,	/* Cluster with PROXY protocol v2 */
};

/* Established-flow runs at n flows to one service (uniform, then Zipf). */
int ef_bench_established(const struct ef_bench_opts *o, uint32_t n,
			 enum ef_bench_svc svc, double *uniform_cpp,
			 double *floor_cpp);

/* New flows per second into an empty table (SYN only). */
int ef_bench_new_flows(const struct ef_bench_opts *o, bool local,
		       double *per_s);

/* A SYN flood of fresh tuples, cycles per SYN (the column "x floor" of
 * its rows is the ratio to the first): new flows into an empty table,
 * the same SYNs at a full table (ct_full, cookies off), and answered by
 * SYN cookies (no state). Fails when a run did not do what it measures. */
int ef_bench_flood(const struct ef_bench_opts *o, double *new_cps,
		   double *full_cps, double *cookie_cps);

/* Per-flow memory of a table of n flows. */
int ef_bench_memory(uint32_t n, double *bpf);

/* Established and new-flow cost with n_svc ClusterIP services of 10
 * endpoints each (flows spread over all of them). */
int ef_bench_services(const struct ef_bench_opts *o, uint32_t n_svc,
		      double *est_cpp, double *new_cpf, double *cfg_s);

/* The edge family's figures for one edge.forwarding (bench_edge.c). */
struct ef_bench_edge_fig {
	double est64k, floor64k;	/* established, cycles/pkt */
	double est1m, floor1m;		/* 0 with --quick */
	double new_per_s;		/* SYNs of fresh tuples */
	double mid_per_s;		/* ACKs of fresh tuples, inserted */
	double full_cpp;		/* ACKs of fresh tuples, table full */
};

/* Edge service over EF_BENCH_EDGE_NODES nodes with edge.forwarding = fwd
 * ("ipip", "gue", "l2"): established (64 K, and 1 M unless quick), new
 * flows, mid-flow without an entry, table full. */
int ef_bench_edge(const struct ef_bench_opts *o, const char *fwd,
		  struct ef_bench_edge_fig *f);

/* The scrape-cost figures (bench_metrics.c); [0] the other CPU idle,
 * [1] busy in a register loop, [2] scraping back to back. */
struct ef_bench_scrape_fig {
	double bytes;		/* the exposition's body */
	double alone_ms;	/* one scrape, worker idle (median) */
	double busy_ms;		/* one scrape while the worker forwards */
	double floor[3], cpp[3];	/* cycles/pkt, medians */
};

/* /metrics with n_svc ClusterIP services of 10 endpoints (64 K flows over
 * all of them): one scrape's time and size, and the worker's cycles per
 * packet without and with a scraper on another CPU, alternated. */
int ef_bench_scrape(const struct ef_bench_opts *o, uint32_t n_svc,
		    struct ef_bench_scrape_fig *f);

/* The RSS family (bench_rss.c): SNAT picks on 2, 4, 8, 16 simulated
 * queues, by index: handoff shares of the replies (0..1), cycles per
 * pick, the RSS pick's fallback share. */
#define EF_BENCH_RSS_QUEUES 4
struct ef_bench_rss_fig {
	uint32_t queues[EF_BENCH_RSS_QUEUES];
	double handoff_old[EF_BENCH_RSS_QUEUES];
	double handoff_new[EF_BENCH_RSS_QUEUES];
	double cycles_old[EF_BENCH_RSS_QUEUES];
	double cycles_new[EF_BENCH_RSS_QUEUES];
	double fallback_new[EF_BENCH_RSS_QUEUES];
};

int ef_bench_rss(const struct ef_bench_opts *o, struct ef_bench_rss_fig *f);

/* Maglev table build, 65537 entries x 100 endpoints (median, ms). */
int ef_bench_maglev(const struct ef_bench_opts *o, double *ms);

/* Reload cost: generation build + publish + free, and the parse (ms). */
int ef_bench_generation(uint32_t n_svc, uint32_t reps, double *build_ms,
			double *parse_ms);

/* Start fn(arg) on the CPUs other than the caller's, when there are
 * others (EAL pinned the caller, and a new thread inherits that): the
 * scraper and the reloader beside a worker. pthread_create()'s result. */
int ef_bench_thread_elsewhere(pthread_t *th, void *(*fn)(void *),
			      void *arg);

#endif /* EF_BENCH_HARNESS_H */
