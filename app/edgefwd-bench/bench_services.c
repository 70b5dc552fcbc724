/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The services figures: established and new-flow cost as the number of
 * services grows.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include "bench.h"
#include "harness.h"

int
ef_bench_services(const struct ef_bench_opts *o, uint32_t n_svc,
		  double *est_cpp, double *new_cpf, double *cfg_s)
{
	uint32_t nf = 1u << 16, nn = o->quick ? 1u << 16 : 1u << 18;
	struct ef_bench_ctx b;
	struct ef_bench_result r;
	uint64_t created;
	uint32_t *seq;
	char what[64];
	double hz = ef_bench_tsc_hz;

	if (ef_bench_ctx_init(&b, false, n_svc, 10, nf + nn) != 0)
		return -1;
	/* target 4's figure is parse + build: the bench writing the text
	 * and the worker's flow tables (sized by flows) are not part of it */
	printf("  (%u services, %u endpoints: config parse + generation "
	       "%.2f s = parse %.2f + build %.2f; text %.2f, worker %.2f)\n",
	       n_svc, n_svc * 10, (double)(b.tsc_parse + b.tsc_build) / hz,
	       (double)b.tsc_parse / hz, (double)b.tsc_build / hz,
	       (double)b.tsc_text / hz, (double)b.tsc_worker / hz);
	if (cfg_s != NULL)
		*cfg_s = (double)(b.tsc_parse + b.tsc_build) / hz;
	b.n_fes = n_svc;
	b.fes = malloc(sizeof(*b.fes) * n_svc);
	b.rec = malloc(sizeof(*b.rec) * nf);
	seq = ef_bench_seq_uniform(nf, o->seq_len, 50, 99);
	if (b.fes == NULL || b.rec == NULL || seq == NULL) {
		free(seq);
		ef_bench_ctx_free(&b);
		return -1;
	}
	for (uint32_t s = 0; s < n_svc; s++)
		b.fes[s] = rte_cpu_to_be_32(EF_BENCH_CLUSTER_IP_NET + s);
	if (ef_bench_precreate(&b, 0, nf) != 0) {
		free(seq);
		ef_bench_ctx_free(&b);
		return -1;
	}
	ef_bench_measure(&b, seq, o, &r);
	free(seq);
	snprintf(what, sizeof(what), "est 64K flows, %u services", n_svc);
	ef_bench_print_row(what, &r);
	*est_cpp = r.cpp;
	if (r.lost != 0) {
		ef_bench_ctx_free(&b);
		return -1;
	}
	*new_cpf = ef_bench_run_syn(&b, nf, nn, &created);
	printf("%-34s %7s %7.1f %6s %7.2f %7.1f  (%" PRIu64 "/%u created)\n",
	       "  new flows, same services", "-", *new_cpf, "-",
	       ef_bench_tsc_hz / *new_cpf / 1e6, ef_bench_ns(*new_cpf), created, nn);
	ef_bench_ctx_free(&b);
	return created == nn ? 0 : -1;
}

