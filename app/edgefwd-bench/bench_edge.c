/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The edge figures (issue 10): an edge appliance (one mode = "edge"
 * service over EF_BENCH_EDGE_NODES nodes, weights from their endpoints)
 * sending client frames to the nodes with edge.forwarding = ipip, gue or
 * l2, through the whole pipeline (parse, conntrack miss, frontend, edge
 * flow table, Maglev, MSS check, encapsulation, next hop):
 *  - established: n edge flow entries (made by one SYN each), then ACKs
 *    of those flows, uniform, against the floor of the same run;
 *  - new flows: SYNs of fresh tuples into an empty table (flow entry
 *    insert + Maglev pick + encapsulation);
 *  - mid-flow, no entry: ACKs of fresh tuples (the Maglev choice,
 *    inserted, as after a restart or an ECMP move);
 *  - table full: ACKs of fresh tuples with every entry taken (the same
 *    choice, stateless, counted edge_flows_full).
 * Every frame must reach a node (encap_packets counts them); any other
 * outcome fails the run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include "ef_edge.h"
#include "ef_fwd.h"
#include "bench.h"
#include "harness.h"

/* An edge appliance forwarding with fwd, conntrack.max_flows (and so the
 * edge flow table) of max_flows, traffic to the edge VIP. */
static int
edge_ctx(struct ef_bench_ctx *b, const char *fwd, uint32_t max_flows)
{
	if (ef_bench_ctx_init_text(b, ef_bench_edge_conf(fwd, max_flows), 64,
				   max_flows) != 0)
		return -1;
	if (ef_edge_flows_capacity(b->w->edge_flows) != max_flows) {
		fprintf(stderr, "edge flow table of %u, not %u\n",
			ef_edge_flows_capacity(b->w->edge_flows), max_flows);
		ef_bench_ctx_free(b);
		return -1;
	}
	b->n_fes = 1;
	b->fes = malloc(sizeof(*b->fes));
	if (b->fes == NULL) {
		ef_bench_ctx_free(b);
		return -1;
	}
	b->fes[0] = rte_cpu_to_be_32(EF_BENCH_VIP_EDGE);
	return 0;
}

static const struct ef_edge_flows_stats *
edge_stats(const struct ef_bench_ctx *b)
{
	return ef_edge_flows_stats(b->w->edge_flows);
}

/* Fresh tuples [first, first + n) of kind: cycles per packet; fails
 * unless every frame was encapsulated to a node and want_created entries
 * and want_full stateless choices were made. */
static int
fresh(struct ef_bench_ctx *b, uint32_t first, uint32_t n,
      enum ef_bench_kind kind, uint64_t want_created, uint64_t want_full,
      double *cpp)
{
	uint64_t enc0 = b->w->c.encap_packets, full0 = b->w->c.edge_flows_full;
	uint64_t lost0 = b->lost, created;

	*cpp = ef_bench_run_fresh(b, first, n, kind, &created);
	if (b->lost != lost0 || b->w->c.encap_packets - enc0 != n ||
	    created != want_created ||
	    b->w->c.edge_flows_full - full0 != want_full) {
		fprintf(stderr, "edge: %u fresh tuples: %" PRIu64 " lost, "
			"%" PRIu64 " sent to a node, %" PRIu64 " entries made "
			"(want %" PRIu64 "), %" PRIu64 " stateless (want %"
			PRIu64 ")\n", n, b->lost - lost0,
			b->w->c.encap_packets - enc0, created, want_created,
			b->w->c.edge_flows_full - full0, want_full);
		return -1;
	}
	return 0;
}

static void
print_fresh(const char *what, double cpp, uint64_t made, uint32_t n)
{
	printf("%-34s %7s %7.1f %6s %7.2f %7.1f  (%" PRIu64 "/%u %s)\n", what,
	       "-", cpp, "-", ef_bench_tsc_hz / cpp / 1e6, ef_bench_ns(cpp),
	       made, n, made == n ? "entries made" : "stateless");
	fflush(stdout);
}

/* Established: n entries, then ACKs of them (uniform). */
static int
established(const struct ef_bench_opts *o, const char *fwd, uint32_t n,
	    double *cpp, double *floor_cpp)
{
	struct ef_bench_ctx b;
	struct ef_bench_result r;
	uint64_t t0 = rte_rdtsc(), enc0, created0;
	uint32_t *seq;
	char what[64];
	double pre;

	if (edge_ctx(&b, fwd, n) != 0)
		return -1;
	if (fresh(&b, 0, n, EF_BENCH_SYN, n, 0, &pre) != 0) {
		ef_bench_ctx_free(&b);
		return -1;
	}
	printf("  (%u edge flows pre-created in %.1f s; worker tables %.1f "
	       "MiB)\n", n, (double)(rte_rdtsc() - t0) / ef_bench_tsc_hz,
	       (double)b.worker_bytes / (1 << 20));
	/* the client's direction only: the nodes answer the clients
	 * directly (DSR), the edge never sees a reply */
	seq = ef_bench_seq_uniform(n, o->seq_len, 0, 11 + n);
	if (seq == NULL) {
		ef_bench_ctx_free(&b);
		return -1;
	}
	enc0 = b.w->c.encap_packets;
	created0 = edge_stats(&b)->created;
	ef_bench_measure(&b, seq, o, &r);
	free(seq);
	snprintf(what, sizeof(what), "est edge %-4s %5u%s flows uniform", fwd,
		 n >= (1u << 20) ? n >> 20 : n >> 10,
		 n >= (1u << 20) ? "M" : "K");
	ef_bench_print_row(what, &r);
	*cpp = r.cpp;
	*floor_cpp = r.floor_cpp;
	/* every measured frame went to a node by its entry (the warm-up's
	 * o->pkts / 4 and the repetitions'), none made a new one */
	if (r.lost != 0 ||
	    b.w->c.encap_packets - enc0 != o->pkts / 4 + o->reps * o->pkts ||
	    edge_stats(&b)->created != created0) {
		fprintf(stderr, "edge %s: %" PRIu64 " lost, %" PRIu64
			" encapsulated, %" PRIu64 " new entries\n", fwd,
			r.lost, b.w->c.encap_packets - enc0,
			edge_stats(&b)->created - created0);
		ef_bench_ctx_free(&b);
		return -1;
	}
	ef_bench_ctx_free(&b);
	return 0;
}

int
ef_bench_edge(const struct ef_bench_opts *o, const char *fwd,
	      struct ef_bench_edge_fig *f)
{
	uint32_t nn = o->quick ? 1u << 18 : 1u << 20;
	uint32_t nfull = o->quick ? 1u << 16 : 1u << 20;
	struct ef_bench_ctx b;
	char what[64];
	double cpp;

	memset(f, 0, sizeof(*f));
	if (established(o, fwd, 1u << 16, &f->est64k, &f->floor64k) != 0)
		return -1;
	if (!o->quick &&
	    established(o, fwd, 1u << 20, &f->est1m, &f->floor1m) != 0)
		return -1;

	/* new flows: SYNs into an empty table with room for all of them */
	if (edge_ctx(&b, fwd, 2 * nn) != 0)
		return -1;
	if (fresh(&b, 0, nn, EF_BENCH_SYN, nn, 0, &cpp) != 0) {
		ef_bench_ctx_free(&b);
		return -1;
	}
	f->new_per_s = ef_bench_tsc_hz / cpp;
	snprintf(what, sizeof(what), "new flows edge %s (SYN)", fwd);
	print_fresh(what, cpp, nn, nn);
	ef_bench_ctx_free(&b);

	/* mid-flow segments of tuples never seen: the same choice, inserted */
	if (edge_ctx(&b, fwd, 2 * nn) != 0)
		return -1;
	if (fresh(&b, 0, nn, EF_BENCH_ACK, nn, 0, &cpp) != 0) {
		ef_bench_ctx_free(&b);
		return -1;
	}
	f->mid_per_s = ef_bench_tsc_hz / cpp;
	snprintf(what, sizeof(what), "mid-flow edge %s, no entry", fwd);
	print_fresh(what, cpp, nn, nn);
	ef_bench_ctx_free(&b);

	/* the table full: every further tuple steered statelessly */
	if (edge_ctx(&b, fwd, nfull) != 0)
		return -1;
	if (fresh(&b, 0, nfull, EF_BENCH_SYN, nfull, 0, &cpp) != 0 ||
	    fresh(&b, nfull, nfull, EF_BENCH_ACK, 0, nfull, &cpp) != 0) {
		ef_bench_ctx_free(&b);
		return -1;
	}
	f->full_cpp = cpp;
	snprintf(what, sizeof(what), "mid-flow edge %s, table full", fwd);
	print_fresh(what, cpp, 0, nfull);
	ef_bench_ctx_free(&b);
	return 0;
}
