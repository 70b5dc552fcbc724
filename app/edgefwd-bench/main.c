/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * edgefwd-bench: the worker's burst function on synthetic frames, no I/O,
 * one lcore, the real configuration model (BENCH.md).
 *
 * Every figure is the TSC over a whole harness loop (build frames from
 * templates, run the burst function, take the forwarded mbufs back) divided
 * by the packets, and is set against the floor: the same loop with a burst
 * function that only swaps MACs, measured in the same run, alternated
 * floor/edgefwd, medians of the repetitions.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "ef_cfg.h"
#include "ef_ct.h"
#include "ef_ctl.h"
#include "ef_fwd.h"
#include "ef_maglev.h"
#include "ef_svc.h"
#include "bench.h"

#define BURST 32
#define MAX_FES (1u << 17)

struct opts {
	bool quick;
	bool no_16m;
	uint32_t reps;
	uint64_t pkts;		/* per measured repetition */
	uint32_t seq_len;
};

/* One control state + one worker, built from a generated config. */
struct bctx {
	struct ef_ctl *ctl;
	struct ef_fwd_shared *sh;
	struct ef_fwd_worker *w;
	size_t worker_bytes;	/* heap growth of ef_fwd_worker_create() */
	struct ef_bench_tmpl tmpl[2][EF_BENCH_KIND_MAX];  /* by interface */
	uint32_t *fes;		/* frontend addresses (network order) */
	uint32_t n_fes;
	struct ef_bench_rec *rec;	/* reply tuple by flow */
	uint32_t n_flows;
	struct rte_mbuf *pkts[BURST];
	uint64_t lost;		/* frames not forwarded */
};

struct result {
	double floor_cpp;
	double cpp;		/* edgefwd cycles per packet */
	uint64_t lost;
};

static double tsc_hz;
static FILE *json;		/* the JSON line, built as we go */
static char *json_buf;
static size_t json_len;

static void
jnum(const char *key, double v)
{
	fprintf(json, "%s\"%s\": %.6g", ftell(json) > 1 ? ", " : "", key, v);
}

static size_t
heap_bytes(void)
{
	struct rte_malloc_socket_stats st;

	if (rte_malloc_get_socket_stats((int)rte_socket_id(), &st) != 0)
		return 0;
	return st.heap_allocsz_bytes;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, uint32_t n)
{
	if (n == 0)
		return 0.0;	/* callers always measure at least once */
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
ns_of(double cycles)
{
	return cycles * 1e9 / tsc_hz;
}

static void
bctx_free(struct bctx *b)
{
	if (b->w != NULL) {
		void *m;

		while (rte_ring_dequeue(b->w->to_ctrl, &m) == 0)
			rte_pktmbuf_free(m);
	}
	for (uint32_t i = 0; i < BURST; i++)
		rte_pktmbuf_free(b->pkts[i]);
	ef_ctl_free(b->ctl);
	free(b->fes);
	free(b->rec);
	memset(b, 0, sizeof(*b));
}

/* Build the control state from the bench config, two interfaces without
 * ethdevs (ef_fwd_process() needs only their addresses and MACs), and one
 * worker whose table holds max_flows. 0 or -1 (message printed). */
static int
bctx_init(struct bctx *b, bool vips, uint32_t n_extra, uint32_t eps,
	  uint32_t max_flows)
{
	static const uint8_t peer[2][6] = {
		{ 0x02, 0, 0, 0, 0x00, 0x02 }, { 0x02, 0, 0, 0, 0x01, 0x02 },
	};
	struct ef_cfg_errors errs = { 0 };
	struct ef_cfg *cfg;
	char err[512];
	char *text;
	size_t h0;

	memset(b, 0, sizeof(*b));
	text = ef_bench_conf(vips, n_extra, eps, max_flows);
	if (text == NULL)
		return -1;
	cfg = ef_cfg_parse_string(text, "bench.conf", &errs);
	free(text);
	if (cfg == NULL) {
		fprintf(stderr, "bench config: %s\n",
			errs.n > 0 ? errs.msgs[0] : "rejected");
		ef_cfg_errors_clear(&errs);
		return -1;
	}
	b->ctl = ef_ctl_create(cfg, "bench.conf", 1, n_extra + 64, err,
			       sizeof(err));
	if (b->ctl == NULL) {
		fprintf(stderr, "control state: %s\n", err);
		return -1;
	}
	b->sh = ef_ctl_shared(b->ctl);
	for (uint16_t i = 0; i < 2; i++) {
		const struct ef_cfg_interface *ci = &b->sh->gen->cfg->interfaces[i];
		struct ef_fwd_port *p = &b->sh->ports[i];
		uint8_t mac[6] = { 0x02, 0xef, 0, 0, 0, (uint8_t)(i + 1) };

		p->port_id = i;
		p->n_rxq = 1;
		p->addr = ci->address.v4;
		p->prefix_len = ci->prefix_len;
		p->mtu = RTE_ETHER_MTU;
		memcpy(p->mac, mac, 6);
		b->sh->port_to_if[i] = (int16_t)i;
		for (int k = 0; k < EF_BENCH_KIND_MAX; k++)
			ef_bench_tmpl_init(&b->tmpl[i][k], k, mac, peer[i]);
	}
	h0 = heap_bytes();
	b->w = ef_fwd_worker_create(b->sh, 0, rte_lcore_id(), n_extra + 64,
				    (int)rte_socket_id());
	if (b->w == NULL) {
		fprintf(stderr, "worker (%u flows): %s; give EAL more memory "
			"(-m)\n", max_flows, rte_strerror(rte_errno));
		bctx_free(b);
		return -1;
	}
	b->worker_bytes = heap_bytes() - h0;
	b->sh->workers[0] = b->w;
	if (rte_pktmbuf_alloc_bulk(b->sh->pool, b->pkts, BURST) != 0) {
		fprintf(stderr, "no mbufs\n");
		bctx_free(b);
		return -1;
	}
	return 0;
}

static inline void
frame_reset(struct rte_mbuf *m, uint16_t port)
{
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = EF_BENCH_FRAME_LEN;
	m->pkt_len = EF_BENCH_FRAME_LEN;
	m->port = port;
	m->ol_flags = 0;
}

/* Frontend of flow i: multiplicative scatter over the frontend list. */
static inline uint32_t
fe_of(const struct bctx *b, uint32_t i)
{
	return b->fes[((uint64_t)(i * 2654435761u) * b->n_fes) >> 32];
}

static inline void
build_fwd(struct bctx *b, struct rte_mbuf *m, enum ef_bench_kind k,
	  uint32_t i)
{
	uint32_t seq = k == EF_BENCH_SYN ? i : i + 1;
	uint32_t ack = k == EF_BENCH_SYN ? 0 : EF_BENCH_SERVER_ISN + 1;

	frame_reset(m, EF_BENCH_IF_CLIENT);
	ef_bench_build(rte_pktmbuf_mtod(m, uint8_t *),
		       &b->tmpl[EF_BENCH_IF_CLIENT][k], ef_bench_client(i),
		       fe_of(b, i), ef_bench_cport(i),
		       rte_cpu_to_be_16(EF_BENCH_SVC_PORT), seq, ack);
}

static inline void
build_reply(struct bctx *b, struct rte_mbuf *m, enum ef_bench_kind k,
	    uint32_t i)
{
	const struct ef_bench_rec *r = &b->rec[i];
	uint32_t seq = k == EF_BENCH_SYNACK ? EF_BENCH_SERVER_ISN :
		EF_BENCH_SERVER_ISN + 1;

	frame_reset(m, EF_BENCH_IF_NODES);
	ef_bench_build(rte_pktmbuf_mtod(m, uint8_t *),
		       &b->tmpl[EF_BENCH_IF_NODES][k], r->ep, r->dst, r->eport,
		       r->dport, seq, i + 1);
}

/* Take the forwarded frames back for the next burst, keep the mbufs that
 * were not passed in (nin < BURST), replace lost ones. Returns the frames
 * that were forwarded. */
static inline uint16_t
collect(struct bctx *b, uint16_t nin)
{
	struct ef_fwd_worker *w = b->w;
	struct rte_mbuf *spare[BURST];
	uint16_t k = 0, fwd, ns = (uint16_t)(BURST - nin);

	memcpy(spare, &b->pkts[nin], ns * sizeof(struct rte_mbuf *));
	for (uint16_t p = 0; p < 2; p++) {
		uint16_t n = w->n_out[p];

		if (n > nin - k)
			n = (uint16_t)(nin - k);	/* never: 1 out per in */
		memcpy(&b->pkts[k], w->out[p], n * sizeof(struct rte_mbuf *));
		k = (uint16_t)(k + n);
		w->n_out[p] = 0;
	}
	fwd = k;
	memcpy(&b->pkts[k], spare, ns * sizeof(struct rte_mbuf *));
	k = (uint16_t)(k + ns);
	if (k < BURST) {
		b->lost += (uint64_t)(BURST - k);
		while (rte_pktmbuf_alloc_bulk(b->sh->pool, &b->pkts[k],
					      BURST - k) != 0) {
			void *m;

			/* frames for the kernel: free them, retry */
			if (rte_ring_dequeue(w->to_ctrl, &m) != 0)
				rte_exit(EXIT_FAILURE, "mbuf pool empty\n");
			rte_pktmbuf_free(m);
		}
	}
	return fwd;
}

/* The floor: what any forwarder does at least (swap MACs, queue out on the
 * receiving interface). noinline, like the real burst function is. */
static __rte_noinline void
floor_burst(struct ef_fwd_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m,
							    struct rte_ether_hdr *);
		struct rte_ether_addr t = eh->dst_addr;
		int16_t iface = w->sh->port_to_if[m->port];

		eh->dst_addr = eh->src_addr;
		eh->src_addr = t;
		w->out[iface][w->n_out[iface]++] = m;
	}
}

static inline void
edgefwd_burst(struct ef_fwd_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	ef_fwd_begin(w);
	ef_fwd_process(w, pkts, n, false);
}

/*
 * Pre-create flows [first, first + n): SYN, the endpoint's SYN-ACK to what
 * the SYN became, the client's ACK: ESTABLISHED. Records each flow's reply
 * tuple. 0, or -1 if any frame was not forwarded.
 */
static int
precreate(struct bctx *b, uint32_t first, uint32_t n)
{
	uint64_t lost0 = b->lost;

	for (uint32_t i0 = first; i0 < first + n; i0 += BURST) {
		uint16_t nb = (uint16_t)RTE_MIN((uint32_t)BURST, first + n - i0);
		struct ef_fwd_worker *w = b->w;

		for (uint16_t k = 0; k < nb; k++)
			build_fwd(b, b->pkts[k], EF_BENCH_SYN, i0 + k);
		edgefwd_burst(w, b->pkts, nb);
		/* what the endpoint sees: its reply goes to that tuple */
		for (uint16_t j = 0; j < w->n_out[EF_BENCH_IF_NODES]; j++) {
			const uint8_t *f = rte_pktmbuf_mtod(
				w->out[EF_BENCH_IF_NODES][j], const uint8_t *);
			struct ef_bench_rec r;
			uint32_t seq;

			memcpy(&r.dst, f + 26, 4);
			memcpy(&r.ep, f + 30, 4);
			memcpy(&r.dport, f + 34, 2);
			memcpy(&r.eport, f + 36, 2);
			memcpy(&seq, f + 38, 4);
			seq = rte_be_to_cpu_32(seq);
			if (seq >= first && seq < first + n)
				b->rec[seq] = r;
		}
		collect(b, nb);
		for (uint16_t k = 0; k < nb; k++)
			build_reply(b, b->pkts[k], EF_BENCH_SYNACK, i0 + k);
		edgefwd_burst(w, b->pkts, nb);
		collect(b, nb);
		for (uint16_t k = 0; k < nb; k++)
			build_fwd(b, b->pkts[k], EF_BENCH_ACK, i0 + k);
		edgefwd_burst(w, b->pkts, nb);
		collect(b, nb);
	}
	if (b->lost != lost0) {
		fprintf(stderr, "pre-creating flows: %" PRIu64 " frames not "
			"forwarded\n", b->lost - lost0);
		return -1;
	}
	return 0;
}

typedef void (*burst_fn)(struct ef_fwd_worker *w, struct rte_mbuf **pkts,
			 uint16_t n);

/* Established traffic from seq (len a power of two) starting at *pos:
 * n_pkts frames, returns TSC cycles of the whole loop. */
static uint64_t
run_est(struct bctx *b, const uint32_t *seq, uint32_t len, uint32_t *pos,
	uint64_t n_pkts, burst_fn fn)
{
	uint32_t mask = len - 1, p = *pos;
	uint64_t t0 = rte_rdtsc();

	for (uint64_t done = 0; done < n_pkts; done += BURST) {
		/* the generator's own misses (reply tuples of random flows)
		 * are hidden one burst ahead, as a NIC's DMA would be */
		for (uint32_t k = 0; k < BURST; k++) {
			uint32_t e = seq[(p + BURST + k) & mask];

			if (e >> 31)
				rte_prefetch0(&b->rec[e & 0x7fffffff]);
		}
		for (uint32_t k = 0; k < BURST; k++) {
			uint32_t e = seq[p++ & mask];

			if (e >> 31)
				build_reply(b, b->pkts[k], EF_BENCH_ACK,
					    e & 0x7fffffff);
			else
				build_fwd(b, b->pkts[k], EF_BENCH_ACK, e);
		}
		fn(b->w, b->pkts, BURST);
		collect(b, BURST);
	}
	*pos = p;
	return rte_rdtsc() - t0;
}

/* Floor and edgefwd alternated, reps times each: medians, cycles/pkt. */
static void
measure(struct bctx *b, const uint32_t *seq, const struct opts *o,
	struct result *r)
{
	double fl[16] = { 0 }, ed[16] = { 0 };
	uint32_t pos = 0;
	uint64_t lost0;

	run_est(b, seq, o->seq_len, &pos, o->pkts / 4, edgefwd_burst);
	lost0 = b->lost;
	for (uint32_t i = 0; i < o->reps; i++) {
		fl[i] = (double)run_est(b, seq, o->seq_len, &pos, o->pkts,
					floor_burst) / (double)o->pkts;
		ed[i] = (double)run_est(b, seq, o->seq_len, &pos, o->pkts,
					edgefwd_burst) / (double)o->pkts;
	}
	r->floor_cpp = median(fl, o->reps);
	r->cpp = median(ed, o->reps);
	r->lost = b->lost - lost0;
}

static void
print_row(const char *what, const struct result *r)
{
	printf("%-34s %7.1f %7.1f %6.2f %7.2f %7.1f%s\n", what, r->floor_cpp,
	       r->cpp, r->cpp / r->floor_cpp, 1e3 / ns_of(r->cpp),
	       ns_of(r->cpp), r->lost ? "  LOST FRAMES" : "");
	fflush(stdout);
}

/* Established-flow runs at n flows for one policy. */
static int
bench_established(const struct opts *o, uint32_t n, bool local,
		  double *uniform_cpp, double *floor_cpp)
{
	struct bctx b;
	struct result r;
	uint32_t *seq;
	uint64_t t0;
	char what[64];

	if (bctx_init(&b, true, 0, 0, n) != 0)
		return -1;
	b.n_fes = 1;
	b.fes = malloc(sizeof(*b.fes));
	b.rec = malloc(sizeof(*b.rec) * n);
	if (b.fes == NULL || b.rec == NULL) {
		bctx_free(&b);
		return -1;
	}
	b.fes[0] = rte_cpu_to_be_32(local ? EF_BENCH_VIP_LOCAL :
				    EF_BENCH_VIP_CLUSTER);
	t0 = rte_rdtsc();
	if (precreate(&b, 0, n) != 0) {
		bctx_free(&b);
		return -1;
	}
	printf("  (%u flows pre-created in %.1f s; worker tables %.1f MiB)\n",
	       n, (double)(rte_rdtsc() - t0) / tsc_hz,
	       (double)b.worker_bytes / (1 << 20));
	for (int z = 0; z < 2; z++) {
		seq = z ? ef_bench_seq_zipf(n, o->seq_len, 0.99, 50, 42 + n) :
			ef_bench_seq_uniform(n, o->seq_len, 50, 7 + n);
		if (seq == NULL) {
			bctx_free(&b);
			return -1;
		}
		measure(&b, seq, o, &r);
		free(seq);
		snprintf(what, sizeof(what), "est %-7s %5u%s flows %-7s",
			 local ? "Local" : "Cluster",
			 n >= (1u << 20) ? n >> 20 : n >> 10,
			 n >= (1u << 20) ? "M" : "K", z ? "zipf" : "uniform");
		print_row(what, &r);
		if (z == 0) {
			*uniform_cpp = r.cpp;
			*floor_cpp = r.floor_cpp;
		}
		if (r.lost != 0) {
			/* established flows must all be forwarded */
			bctx_free(&b);
			return -1;
		}
	}
	bctx_free(&b);
	return 0;
}

/* SYN-only traffic: n new flows into an empty table. Returns cycles per
 * new flow (whole loop), 0 on failure. */
static double
run_syn(struct bctx *b, uint32_t first, uint32_t n, uint64_t *created)
{
	uint64_t c0 = b->w->c.flows_created, t0 = rte_rdtsc(), t;

	for (uint32_t i0 = first; i0 < first + n; i0 += BURST) {
		for (uint16_t k = 0; k < BURST; k++)
			build_fwd(b, b->pkts[k], EF_BENCH_SYN, i0 + k);
		edgefwd_burst(b->w, b->pkts, BURST);
		collect(b, BURST);
	}
	t = rte_rdtsc() - t0;
	*created = b->w->c.flows_created - c0;
	return (double)t / n;
}

static int
bench_new_flows(const struct opts *o, bool local, double *per_s)
{
	uint32_t n = o->quick ? 1u << 18 : 1u << 20;
	struct bctx b;
	uint64_t created;
	double cpf;

	/* room for every SYN: no early drop, no full table */
	if (bctx_init(&b, true, 0, 0, 2 * n) != 0)
		return -1;
	b.n_fes = 1;
	b.fes = malloc(sizeof(*b.fes));
	if (b.fes == NULL) {
		bctx_free(&b);
		return -1;
	}
	b.fes[0] = rte_cpu_to_be_32(local ? EF_BENCH_VIP_LOCAL :
				    EF_BENCH_VIP_CLUSTER);
	cpf = run_syn(&b, 0, n, &created);
	*per_s = tsc_hz / cpf;
	printf("%-34s %7s %7.1f %6s %7.2f %7.1f  (%" PRIu64 "/%u created)\n",
	       local ? "new flows Local (SYN only)" :
	       "new flows Cluster (SYN only)", "-", cpf, "-", *per_s / 1e6,
	       ns_of(cpf), created, n);
	fflush(stdout);
	bctx_free(&b);
	return created == n ? 0 : -1;
}

/* Per-flow memory: the conntrack table (what it allocated, measured by
 * ct from the heap) and the whole worker (heap growth around its
 * creation: ct + ClientIP affinity table + rings). */
static int
bench_memory(uint32_t n, double *bpf)
{
	struct bctx b;
	size_t ct;

	if (bctx_init(&b, true, 0, 0, n) != 0)
		return -1;
	ct = ef_ct_memory(b.w->ct);
	*bpf = (double)ct / ef_ct_capacity(b.w->ct);
	printf("memory at %u flows: conntrack %.1f B/flow (%.0f flows/GB), "
	       "whole worker %.1f B/flow (incl. ClientIP affinity table)\n",
	       ef_ct_capacity(b.w->ct), *bpf, (double)(1u << 30) / *bpf,
	       (double)b.worker_bytes / ef_ct_capacity(b.w->ct));
	bctx_free(&b);
	return 0;
}

/* Established and new-flow cost with n_svc ClusterIP services of 10
 * endpoints each (flows spread over all of them). */
static int
bench_services(const struct opts *o, uint32_t n_svc, double *est_cpp,
	       double *new_cpf)
{
	uint32_t nf = 1u << 16, nn = o->quick ? 1u << 16 : 1u << 18;
	struct bctx b;
	struct result r;
	uint64_t created, t0 = rte_rdtsc();
	uint32_t *seq;
	char what[64];

	if (bctx_init(&b, false, n_svc, 10, nf + nn) != 0)
		return -1;
	printf("  (%u services, %u endpoints: config + generation %.1f s)\n",
	       n_svc, n_svc * 10, (double)(rte_rdtsc() - t0) / tsc_hz);
	b.n_fes = n_svc;
	b.fes = malloc(sizeof(*b.fes) * n_svc);
	b.rec = malloc(sizeof(*b.rec) * nf);
	seq = ef_bench_seq_uniform(nf, o->seq_len, 50, 99);
	if (b.fes == NULL || b.rec == NULL || seq == NULL) {
		free(seq);
		bctx_free(&b);
		return -1;
	}
	for (uint32_t s = 0; s < n_svc; s++)
		b.fes[s] = rte_cpu_to_be_32(EF_BENCH_CLUSTER_IP_NET + s);
	if (precreate(&b, 0, nf) != 0) {
		free(seq);
		bctx_free(&b);
		return -1;
	}
	measure(&b, seq, o, &r);
	free(seq);
	snprintf(what, sizeof(what), "est 64K flows, %u services", n_svc);
	print_row(what, &r);
	*est_cpp = r.cpp;
	if (r.lost != 0) {
		bctx_free(&b);
		return -1;
	}
	*new_cpf = run_syn(&b, nf, nn, &created);
	printf("%-34s %7s %7.1f %6s %7.2f %7.1f  (%" PRIu64 "/%u created)\n",
	       "  new flows, same services", "-", *new_cpf, "-",
	       tsc_hz / *new_cpf / 1e6, ns_of(*new_cpf), created, nn);
	bctx_free(&b);
	return created == nn ? 0 : -1;
}

static int
bench_maglev(const struct opts *o, double *ms)
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
		t[i] = (double)(rte_rdtsc() - t0) * 1e3 / tsc_hz;
	}
	free(tbl);
	*ms = median(t, reps);
	printf("maglev build 65537 x 100 endpoints: %.2f ms\n", *ms);
	return 0;
}

/*
 * Reload cost without the parser: build a generation from a parsed model,
 * publish it (release store), wait for a grace period, free the old one.
 * No reader is online in this process, so the grace period is the
 * bookkeeping only (a worker adds at most one poll loop).
 */
static int
bench_generation(uint32_t n_svc, uint32_t reps, double *build_ms,
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

		tp[i] = (double)(rte_rdtsc() - t0) * 1e3 / tsc_hz;
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
		tb[i] = (double)(rte_rdtsc() - t0) * 1e3 / tsc_hz;
	}
	*build_ms = median(tb, reps);
	*parse_ms = median(tp, reps);
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

/* Free hugepage memory in MiB, from /proc/meminfo (0 if unknown). */
static uint64_t
free_huge_mb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long n = 0, kb = 0, v;
	char line[128];

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "HugePages_Free: %llu", &v) == 1)
			n = v;
		else if (sscanf(line, "Hugepagesize: %llu kB", &v) == 1)
			kb = v;
	}
	fclose(f);
	return n * kb / 1024;
}

static void
cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown CPU");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *c = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && c != NULL) {
			snprintf(buf, len, "%s", c + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

static void
usage(const char *prog)
{
	printf("usage: %s [EAL options --] [--quick] [--no-16m] [--reps N]\n"
	       "  without EAL options: -l <this cpu> --no-pci --no-shconf, and\n"
	       "  --huge-unlink -m 4608 (--quick 1024, --no-16m 2048) when that\n"
	       "  many MiB of hugepages are free, else --no-huge with twice as "
	       "much\n"
	       "  --quick   reduced run (seconds): 64K flows, no 1M/16M\n"
	       "  --no-16m  skip the 16M-flow run (needs ~4 GB of EAL "
	       "memory)\n"
	       "  --reps N  repetitions per figure (median; default 5, "
	       "quick 3)\n"
	       "  --pkts N  packets per repetition (default 4M, quick 512K)\n",
	       prog);
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "no-16m", no_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ "pkts", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'n':
			o->no_16m = true;
			break;
		case 'r':
			o->reps = (uint32_t)atoi(optarg);
			if (o->reps < 1 || o->reps > 15) {
				fprintf(stderr, "--reps: 1..15\n");
				return -1;
			}
			break;
		case 'p':
			o->pkts = strtoull(optarg, NULL, 0) & ~(uint64_t)(BURST - 1);
			if (o->pkts == 0) {
				fprintf(stderr, "--pkts: at least %d\n", BURST);
				return -1;
			}
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	char cpu[128], lcore[16], mem[16], prefix[48];
	char huge[16] = "--no-huge";
	char *eal_def[] = { argv[0], (char *)"-l", lcore, huge,
			    (char *)"-m", mem, (char *)"--no-pci",
			    (char *)"--no-shconf", prefix,
			    (char *)"--no-telemetry",
			    (char *)"--log-level=lib.*:error", NULL };
	uint32_t need_mb;
	int sep = -1, ret;
	double cl64k = 0, cl1m = 0, lo1m = 0, cl16m = 0, lo64k = 0;
	double floor64k = 0, floor1m = 0, floor16m = 0, fl, nf_cl = 0;
	double nf_lo = 0, bpf = 0, mg = 0, gb = 0, gp = 0;
	static const uint32_t svc_full[] = { 1, 1000, 100000 };
	static const uint32_t gen_full[] = { 1, 100, 10000 };

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	if (sep >= 0) {
		argv[sep] = argv[0];
		if (parse_opts(argc - sep, argv + sep, &o) != 0)
			return 2;
		ret = rte_eal_init(sep, argv);
	} else {
		if (parse_opts(argc, argv, &o) != 0)
			return 2;
		snprintf(lcore, sizeof(lcore), "%d", sched_getcpu());
		need_mb = o.quick ? 1024 : o.no_16m ? 2048 : 4608;
		/* 2 MiB pages when enough are free (figures without 4 KiB
		 * TLB misses), else anonymous memory */
		if (free_huge_mb() >= need_mb)
			snprintf(huge, sizeof(huge), "--huge-unlink");
		else
			need_mb *= 2;
		snprintf(mem, sizeof(mem), "%u", need_mb);
		/* a prefix of our own: other DPDK processes may be running */
		snprintf(prefix, sizeof(prefix), "--file-prefix=efbench%d",
			 (int)getpid());
		ret = rte_eal_init((int)RTE_DIM(eal_def) - 1, eal_def);
	}
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "EAL: %s\n", rte_strerror(rte_errno));
	if (o.reps == 0)
		o.reps = o.quick ? 3 : 5;
	if (o.pkts == 0)
		o.pkts = o.quick ? 1u << 19 : 1u << 22;
	o.seq_len = o.quick ? 1u << 20 : 1u << 22;
	tsc_hz = (double)rte_get_tsc_hz();
	json = open_memstream(&json_buf, &json_len);
	if (json == NULL)
		rte_exit(EXIT_FAILURE, "out of memory\n");
	fputc('{', json);
	cpu_model(cpu, sizeof(cpu));
	printf("edgefwd-bench%s: %s, TSC %.0f MHz, one lcore, no I/O, "
	       "64-byte TCP, medians of %u, %s pages\n\n",
	       o.quick ? " --quick" : "", cpu, tsc_hz / 1e6, o.reps,
	       rte_eal_has_hugepages() ? "huge" : "4 KiB (--no-huge)");
	printf("%-34s %7s %7s %6s %7s %7s\n", "run", "floor", "cyc/pkt",
	       "x fl", "Mpps", "ns/pkt");

	ret = 0;
	ret |= bench_established(&o, 1u << 16, false, &cl64k, &floor64k);
	ret |= bench_established(&o, 1u << 16, true, &lo64k, &fl);
	if (!o.quick) {
		ret |= bench_established(&o, 1u << 20, false, &cl1m, &floor1m);
		ret |= bench_established(&o, 1u << 20, true, &lo1m, &fl);
		if (!o.no_16m)
			ret |= bench_established(&o, 1u << 24, false, &cl16m,
						 &floor16m);
	}
	ret |= bench_new_flows(&o, false, &nf_cl);
	ret |= bench_new_flows(&o, true, &nf_lo);
	ret |= bench_memory(o.quick ? 1u << 16 : 1u << 20, &bpf);
	for (uint32_t i = 0; i < (o.quick ? 2u : 3u); i++) {
		double e = 0, n = 0;
		char key[64];

		ret |= bench_services(&o, svc_full[i], &e, &n);
		snprintf(key, sizeof(key), "svc_%u_est_cycles_per_pkt",
			 svc_full[i]);
		jnum(key, e);
		snprintf(key, sizeof(key), "svc_%u_new_flow_cycles",
			 svc_full[i]);
		jnum(key, n);
	}
	ret |= bench_maglev(&o, &mg);
	for (uint32_t i = 0; i < (o.quick ? 2u : 3u); i++) {
		char key[64];

		ret |= bench_generation(gen_full[i], gen_full[i] > 1000 ? 3 : 5,
					&gb, &gp);
		snprintf(key, sizeof(key), "gen_%u_build_publish_ms",
			 gen_full[i]);
		jnum(key, gb);
		snprintf(key, sizeof(key), "gen_%u_parse_ms", gen_full[i]);
		jnum(key, gp);
	}

	/* the headline floor is the 1 M run's (the targets' reference) */
	jnum("floor_cycles_per_pkt", o.quick ? floor64k : floor1m);
	jnum("floor_64k_cycles_per_pkt", floor64k);
	jnum("est_cluster_64k_cycles_per_pkt", cl64k);
	jnum("est_local_64k_cycles_per_pkt", lo64k);
	if (!o.quick) {
		jnum("est_cluster_1m_cycles_per_pkt", cl1m);
		jnum("est_local_1m_cycles_per_pkt", lo1m);
		jnum("est_cluster_1m_floor_ratio", cl1m / floor1m);
		if (!o.no_16m) {
			jnum("est_cluster_16m_cycles_per_pkt", cl16m);
			jnum("est_16m_over_64k", cl16m / cl64k);
			jnum("floor_16m_cycles_per_pkt", floor16m);
		}
	}
	jnum("est_cluster_64k_floor_ratio", cl64k / floor64k);
	jnum("new_flows_per_s", nf_cl);
	jnum("new_flows_local_per_s", nf_lo);
	jnum("bytes_per_flow", bpf);
	jnum("flows_per_gb", (double)(1u << 30) / bpf);
	jnum("maglev_build_ms", mg);
	jnum("cpu_mhz", tsc_hz / 1e6);
	jnum("hugepages", rte_eal_has_hugepages());
	jnum("quick", o.quick);
	jnum("ok", ret == 0);
	fputc('}', json);
	fclose(json);
	printf("\n%s\n", json_buf);
	free(json_buf);
	rte_eal_cleanup();
	if (sep < 0) {
		char dir[96];

		/* --no-shconf still makes the runtime directory */
		snprintf(dir, sizeof(dir), "/var/run/dpdk/%s", prefix + 14);
		rmdir(dir);
	}
	return ret == 0 ? 0 : 1;
}
