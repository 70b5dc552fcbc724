/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control-path figures: a Maglev table build, and a reload without
 * the parser (generation build, publish, grace period, free) with the
 * parse timed apart.
 */
#include <stdio.h>
#include <stdlib.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "ef_maglev.h"
#include "ef_svc.h"
#include "bench.h"
#include "harness.h"

int
ef_bench_maglev(const struct ef_bench_opts *o, double *ms)
{
	struct ef_maglev_backend be[100];
	uint16_t *tbl = malloc(sizeof(*tbl) * EF_MAGLEV_MAX_SIZE);
	double t[16];
	uint32_t reps = o->quick ? 3 : 9;

	if (tbl == NULL)
		return -1;
	for (uint32_t i = 0; i < 100; i++) {
		struct ef_addr a = { .family = EF_AF_INET4 };

		a.v4 = rte_cpu_to_be_32(0x0a800001u + i);
		be[i].id = ef_maglev_backend_id(&a, rte_cpu_to_be_16(8080));
		be[i].weight = 1;
	}
	for (uint32_t i = 0; i < reps; i++) {
		uint64_t t0 = rte_rdtsc();

		if (ef_maglev_build(tbl, EF_MAGLEV_MAX_SIZE, be, 100) != 0) {
			free(tbl);
			return -1;
		}
		t[i] = (double)(rte_rdtsc() - t0) * 1e3 / ef_bench_tsc_hz;
	}
	free(tbl);
	*ms = ef_bench_median(t, reps);
	printf("maglev build 65537 x 100 endpoints: %.2f ms\n", *ms);
	return 0;
}

/*
 * Reload cost without the parser: build a generation from a parsed model,
 * publish it (release store), wait for a grace period, free the old one.
 * No reader is online in this process, so the grace period is the
 * bookkeeping only (a worker adds at most one poll loop).
 */
int
ef_bench_generation(uint32_t n_svc, uint32_t reps, double *build_ms,
		    double *parse_ms)
{
	struct ef_svc_registry *reg = ef_svc_registry_create(n_svc + 64);
	size_t qsz = rte_rcu_qsbr_get_memsize(1);
	struct rte_rcu_qsbr *q = rte_zmalloc("bench_qsbr", qsz,
					     RTE_CACHE_LINE_SIZE);
	struct ef_svc_gen *cur = NULL;
	double tb[16], tp[16];
	char *text = ef_bench_conf(false, n_svc, 10, 65536);
	char err[256];
	int ret = -1;

	if (reg == NULL || q == NULL || text == NULL ||
	    rte_rcu_qsbr_init(q, 1) != 0)
		goto out;
	for (uint32_t i = 0; i < reps; i++) {
		struct ef_cfg_errors errs = { 0 };
		uint64_t t0 = rte_rdtsc();
		struct ef_cfg *cfg = ef_cfg_parse_string(text, "bench.conf",
							 &errs);
		struct ef_svc_gen *g, *old = cur;

		tp[i] = (double)(rte_rdtsc() - t0) * 1e3 / ef_bench_tsc_hz;
		if (cfg == NULL) {
			ef_cfg_errors_clear(&errs);
			goto out;
		}
		t0 = rte_rdtsc();
		g = ef_svc_gen_build(cfg, i + 1, old, reg, (int)rte_socket_id(),
				     err, sizeof(err));
		if (g == NULL) {
			fprintf(stderr, "generation: %s\n", err);
			goto out;
		}
		__atomic_store_n(&cur, g, __ATOMIC_RELEASE);
		rte_rcu_qsbr_synchronize(q, RTE_QSBR_THRID_INVALID);
		ef_svc_gen_free(old);
		tb[i] = (double)(rte_rdtsc() - t0) * 1e3 / ef_bench_tsc_hz;
	}
	*build_ms = ef_bench_median(tb, reps);
	*parse_ms = ef_bench_median(tp, reps);
	printf("generation, %6u services x 10 endpoints: build+publish+free "
	       "%8.2f ms (parse %8.2f ms)\n", n_svc, *build_ms, *parse_ms);
	fflush(stdout);
	ret = 0;
out:
	ef_svc_gen_free(cur);
	ef_svc_registry_free(reg);
	rte_free(q);
	free(text);
	return ret;
}

