/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flow-table figures: established traffic at n flows (uniform and
 * Zipf, Cluster and Local policy), new flows per second, bytes per flow.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include "ef_ct.h"
#include "ef_fwd.h"
#include "bench.h"
#include "harness.h"

int
ef_bench_established(const struct ef_bench_opts *o, uint32_t n,
		     enum ef_bench_svc svc, double *uniform_cpp,
		     double *floor_cpp)
{
	static const uint32_t vip[] = {
		[EF_BENCH_SVC_CLUSTER] = EF_BENCH_VIP_CLUSTER,
		[EF_BENCH_SVC_LOCAL] = EF_BENCH_VIP_LOCAL,
		[EF_BENCH_SVC_PROXY] = EF_BENCH_VIP_PROXY,
	};
	static const char *const name[] = {
		[EF_BENCH_SVC_CLUSTER] = "Cluster",
		[EF_BENCH_SVC_LOCAL] = "Local",
		[EF_BENCH_SVC_PROXY] = "PROXYv2",
	};
	struct ef_bench_ctx b;
	struct ef_bench_result r;
	uint32_t *seq;
	uint64_t t0;
	char what[64];

	if (ef_bench_ctx_init(&b, true, 0, 0, n) != 0)
		return -1;
	b.n_fes = 1;
	b.fes = malloc(sizeof(*b.fes));
	b.rec = malloc(sizeof(*b.rec) * n);
	if (b.fes == NULL || b.rec == NULL) {
		ef_bench_ctx_free(&b);
		return -1;
	}
	b.fes[0] = rte_cpu_to_be_32(vip[svc]);
	b.proxy_h = svc == EF_BENCH_SVC_PROXY ? EF_BENCH_PROXY_LEN : 0;
	t0 = rte_rdtsc();
	if (ef_bench_precreate(&b, 0, n) != 0) {
		ef_bench_ctx_free(&b);
		return -1;
	}
	printf("  (%u flows pre-created in %.1f s; worker tables %.1f MiB)\n",
	       n, (double)(rte_rdtsc() - t0) / ef_bench_tsc_hz,
	       (double)b.worker_bytes / (1 << 20));
	for (int z = 0; z < 2; z++) {
		seq = z ? ef_bench_seq_zipf(n, o->seq_len, 0.99, 50, 42 + n) :
			ef_bench_seq_uniform(n, o->seq_len, 50, 7 + n);
		if (seq == NULL) {
			ef_bench_ctx_free(&b);
			return -1;
		}
		ef_bench_measure(&b, seq, o, &r);
		free(seq);
		snprintf(what, sizeof(what), "est %-7s %5u%s flows %-7s",
			 name[svc],
			 n >= (1u << 20) ? n >> 20 : n >> 10,
			 n >= (1u << 20) ? "M" : "K", z ? "zipf" : "uniform");
		ef_bench_print_row(what, &r);
		if (z == 0) {
			*uniform_cpp = r.cpp;
			*floor_cpp = r.floor_cpp;
		}
		if (r.lost != 0) {
			/* established flows must all be forwarded */
			ef_bench_ctx_free(&b);
			return -1;
		}
	}
	ef_bench_ctx_free(&b);
	return 0;
}

int
ef_bench_new_flows(const struct ef_bench_opts *o, bool local, double *per_s)
{
	uint32_t n = o->quick ? 1u << 18 : 1u << 20;
	struct ef_bench_ctx b;
	uint64_t created;
	double cpf;

	/* room for every SYN: no early drop, no full table */
	if (ef_bench_ctx_init(&b, true, 0, 0, 2 * n) != 0)
		return -1;
	b.n_fes = 1;
	b.fes = malloc(sizeof(*b.fes));
	if (b.fes == NULL) {
		ef_bench_ctx_free(&b);
		return -1;
	}
	b.fes[0] = rte_cpu_to_be_32(local ? EF_BENCH_VIP_LOCAL :
				    EF_BENCH_VIP_CLUSTER);
	cpf = ef_bench_run_syn(&b, 0, n, &created);
	*per_s = ef_bench_tsc_hz / cpf;
	printf("%-34s %7s %7.1f %6s %7.2f %7.1f  (%" PRIu64 "/%u created)\n",
	       local ? "new flows Local (SYN only)" :
	       "new flows Cluster (SYN only)", "-", cpf, "-", *per_s / 1e6,
	       ef_bench_ns(cpf), created, n);
	fflush(stdout);
	ef_bench_ctx_free(&b);
	return created == n ? 0 : -1;
}

/* SYNs of fresh tuples through ctx b from tuple first on: cycles per
 * SYN, with how many made a flow, were dropped ct_full and were
 * answered by a cookie. */
struct flood_run {
	double cps;
	uint64_t created, ct_full, cookies;
};

static void
flood_syns(struct ef_bench_ctx *b, uint32_t first, uint32_t n,
	   struct flood_run *r)
{
	uint64_t full0 = b->w->c.drops[EF_FWD_DROP_CT_FULL];
	uint64_t ck0 = b->w->c.syn_cookies_sent;

	r->cps = ef_bench_run_fresh(b, first, n, EF_BENCH_SYN, &r->created);
	r->ct_full = b->w->c.drops[EF_FWD_DROP_CT_FULL] - full0;
	r->cookies = b->w->c.syn_cookies_sent - ck0;
}

/* b sends to the Cluster VIP alone; -1 (b freed) when out of memory */
static int
one_cluster_fe(struct ef_bench_ctx *b)
{
	b->n_fes = 1;
	b->fes = malloc(sizeof(*b->fes));
	if (b->fes == NULL) {
		ef_bench_ctx_free(b);
		return -1;
	}
	b->fes[0] = rte_cpu_to_be_32(EF_BENCH_VIP_CLUSTER);
	return 0;
}

int
ef_bench_flood(const struct ef_bench_opts *o, double *new_cps,
	       double *full_cps, double *cookie_cps)
{
	static const char off[] = "syn_cookie_threshold = 67108864;";
	static const char on[] = "syn_cookie_threshold = 0;";
	uint32_t m = o->quick ? 1u << 14 : 1u << 16;	/* the full table */
	uint32_t n = o->quick ? 1u << 17 : 1u << 19;	/* flood SYNs */
	struct flood_run fresh, full, ck;
	struct ef_bench_ctx b;
	char *text, *at;
	int ret = 0;

	/* 1. the reference of the same run: new flows into an empty table */
	if (ef_bench_ctx_init(&b, true, 0, 0, 2 * n) != 0 ||
	    one_cluster_fe(&b) != 0)
		return -1;
	flood_syns(&b, 0, n, &fresh);
	ef_bench_ctx_free(&b);

	/* 2. a table of m established flows, cookies off: every SYN of the
	 * flood is ct_full */
	if (ef_bench_ctx_init(&b, true, 0, 0, m) != 0 ||
	    one_cluster_fe(&b) != 0)
		return -1;
	b.rec = malloc(sizeof(*b.rec) * m);
	if (b.rec == NULL || ef_bench_precreate(&b, 0, m) != 0) {
		ef_bench_ctx_free(&b);
		return -1;
	}
	flood_syns(&b, m, n, &full);
	ef_bench_ctx_free(&b);

	/* 3. the same table size with cookies from the first half-open flow
	 * (threshold 0): every SYN is answered statelessly */
	text = ef_bench_conf(true, 0, 0, m);
	at = text != NULL ? strstr(text, off) : NULL;
	if (at == NULL) {
		fprintf(stderr, "flood: the bench config has no '%s'\n", off);
		free(text);
		return -1;
	}
	memcpy(at, on, sizeof(on) - 1);
	memset(at + sizeof(on) - 1, ' ', sizeof(off) - sizeof(on));
	if (ef_bench_ctx_init_text(&b, text, 64, m) != 0 ||
	    one_cluster_fe(&b) != 0)
		return -1;
	flood_syns(&b, 0, n, &ck);
	ef_bench_ctx_free(&b);

	*new_cps = fresh.cps;
	*full_cps = full.cps;
	*cookie_cps = ck.cps;
	printf("%-34s %7s %7.1f %6s %7.2f %7.1f  (%" PRIu64 "/%u created)\n",
	       "SYN flood: new flows (reference)", "-", fresh.cps, "-",
	       ef_bench_tsc_hz / fresh.cps / 1e6, ef_bench_ns(fresh.cps),
	       fresh.created, n);
	printf("%-34s %7s %7.1f %6.2f %7.2f %7.1f  (%" PRIu64 "/%u ct_full)\n",
	       "SYN flood: full table, no cookies", "-", full.cps,
	       full.cps / fresh.cps, ef_bench_tsc_hz / full.cps / 1e6,
	       ef_bench_ns(full.cps), full.ct_full, n);
	printf("%-34s %7s %7.1f %6.2f %7.2f %7.1f  (%" PRIu64 "/%u cookies)\n",
	       "SYN flood: answered by cookies", "-", ck.cps,
	       ck.cps / fresh.cps, ef_bench_tsc_hz / ck.cps / 1e6,
	       ef_bench_ns(ck.cps), ck.cookies, n);
	fflush(stdout);
	/* what each run must have done, else its figure means nothing */
	if (fresh.created != n || full.created != 0 || full.ct_full != n ||
	    ck.created != 0 || ck.cookies != n) {
		fprintf(stderr, "flood: unexpected outcome: new %" PRIu64
			"/%u created; full %" PRIu64 " created %" PRIu64
			" ct_full; cookies %" PRIu64 " created %" PRIu64
			" sent\n", fresh.created, n, full.created, full.ct_full,
			ck.created, ck.cookies);
		ret = -1;
	}
	return ret;
}

int
ef_bench_memory(uint32_t n, double *bpf)
{
	struct ef_bench_ctx b;
	size_t ct;

	if (ef_bench_ctx_init(&b, true, 0, 0, n) != 0)
		return -1;
	ct = ef_ct_memory(b.w->ct);
	*bpf = (double)ct / ef_ct_capacity(b.w->ct);
	printf("memory at %u flows: conntrack %.1f B/flow (%.0f flows/GB), "
	       "whole worker %.1f B/flow (incl. ClientIP affinity table)\n",
	       ef_ct_capacity(b.w->ct), *bpf, (double)(1u << 30) / *bpf,
	       (double)b.worker_bytes / ef_ct_capacity(b.w->ct));
	ef_bench_ctx_free(&b);
	return 0;
}

