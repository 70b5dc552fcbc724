/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The measurement loop of edgefwd-bench: one control state and one worker
 * built from a generated configuration, frames built from templates, the
 * floor and edgefwd burst functions, pre-creation of established flows and
 * the timed runs (harness.h).
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "ef_cfg.h"
#include "ef_ctl.h"
#include "ef_edge.h"
#include "ef_fwd.h"
#include "bench.h"
#include "harness.h"

double ef_bench_tsc_hz;

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

double
ef_bench_median(double *v, uint32_t n)
{
	if (n == 0)
		return 0.0;	/* callers always measure at least once */
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double
ef_bench_ns(double cycles)
{
	return cycles * 1e9 / ef_bench_tsc_hz;
}

void
ef_bench_ctx_free(struct ef_bench_ctx *b)
{
	if (b->w != NULL) {
		void *m;

		while (rte_ring_dequeue(b->w->to_ctrl, &m) == 0)
			rte_pktmbuf_free(m);
	}
	for (uint32_t i = 0; i < EF_BENCH_BURST; i++)
		rte_pktmbuf_free(b->pkts[i]);
	ef_ctl_free(b->ctl);
	free(b->fes);
	free(b->rec);
	memset(b, 0, sizeof(*b));
}

int
ef_bench_ctx_init(struct ef_bench_ctx *b, bool vips, uint32_t n_extra,
		  uint32_t eps, uint32_t max_flows)
{
	uint64_t t0 = rte_rdtsc();
	char *text = ef_bench_conf(vips, n_extra, eps, max_flows);
	uint64_t t1 = rte_rdtsc();
	int rc = ef_bench_ctx_init_text(b, text, n_extra + 64, max_flows);

	b->tsc_text = t1 - t0;
	return rc;
}

int
ef_bench_ctx_init_text(struct ef_bench_ctx *b, char *text,
		       uint32_t max_services, uint32_t max_flows)
{
	static const uint8_t peer[2][6] = {
		{ 0x02, 0, 0, 0, 0x00, 0x02 }, { 0x02, 0, 0, 0, 0x01, 0x02 },
	};
	struct ef_cfg_errors errs = { 0 };
	struct ef_cfg *cfg;
	char err[512];
	size_t h0;
	uint64_t t0 = rte_rdtsc();

	memset(b, 0, sizeof(*b));
	if (text == NULL)
		return -1;
	cfg = ef_cfg_parse_string(text, "bench.conf", &errs);
	free(text);
	b->tsc_parse = rte_rdtsc() - t0;
	if (cfg == NULL) {
		fprintf(stderr, "bench config: %s\n",
			errs.n > 0 ? errs.msgs[0] : "rejected");
		ef_cfg_errors_clear(&errs);
		return -1;
	}
	t0 = rte_rdtsc();
	b->ctl = ef_ctl_create(cfg, "bench.conf", 1, max_services, err,
			       sizeof(err));
	b->tsc_build = rte_rdtsc() - t0;
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
		if (ci->address6.family == EF_AF_INET6) {
			p->has_addr6 = 1;
			p->prefix_len6 = ci->prefix_len6;
			memcpy(p->addr6, ci->address6.v6, 16);
		}
		p->mtu = RTE_ETHER_MTU;
		memcpy(p->mac, mac, 6);
		b->sh->port_to_if[i] = (int16_t)i;
		for (int k = 0; k < EF_BENCH_KIND_MAX; k++)
			ef_bench_tmpl_init(&b->tmpl[i][k], k, mac, peer[i]);
	}
	h0 = heap_bytes();
	t0 = rte_rdtsc();
	b->w = ef_fwd_worker_create(b->sh, 0, rte_lcore_id(), max_services,
				    (int)rte_socket_id());
	b->tsc_worker = rte_rdtsc() - t0;
	if (b->w == NULL) {
		fprintf(stderr, "worker (%u flows): %s; give EAL more memory "
			"(-m)\n", max_flows, rte_strerror(rte_errno));
		ef_bench_ctx_free(b);
		return -1;
	}
	b->worker_bytes = heap_bytes() - h0;
	b->sh->workers[0] = b->w;
	if (rte_pktmbuf_alloc_bulk(b->sh->pool, b->pkts, EF_BENCH_BURST) != 0) {
		fprintf(stderr, "no mbufs\n");
		ef_bench_ctx_free(b);
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
fe_of(const struct ef_bench_ctx *b, uint32_t i)
{
	return b->fes[((uint64_t)(i * 2654435761u) * b->n_fes) >> 32];
}

static inline void
build_fwd(struct ef_bench_ctx *b, struct rte_mbuf *m, enum ef_bench_kind k,
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
build_reply(struct ef_bench_ctx *b, struct rte_mbuf *m, enum ef_bench_kind k,
	    uint32_t i)
{
	const struct ef_bench_rec *r = &b->rec[i];
	uint32_t seq = k == EF_BENCH_SYNACK ? EF_BENCH_SERVER_ISN :
		EF_BENCH_SERVER_ISN + 1;

	frame_reset(m, EF_BENCH_IF_NODES);
	ef_bench_build(rte_pktmbuf_mtod(m, uint8_t *),
		       &b->tmpl[EF_BENCH_IF_NODES][k], r->ep, r->dst, r->eport,
		       r->dport, seq,
		       i + 1 + (k == EF_BENCH_SYNACK ? 0 : b->proxy_h));
}

/* Take the forwarded frames back for the next burst, keep the mbufs that
 * were not passed in (nin < EF_BENCH_BURST), replace lost ones. Returns
 * the frames that were forwarded. */
static inline uint16_t
collect(struct ef_bench_ctx *b, uint16_t nin)
{
	struct ef_fwd_worker *w = b->w;
	struct rte_mbuf *spare[EF_BENCH_BURST];
	uint16_t k = 0, fwd, ns = (uint16_t)(EF_BENCH_BURST - nin);

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
	if (k < EF_BENCH_BURST) {
		b->lost += (uint64_t)(EF_BENCH_BURST - k);
		while (rte_pktmbuf_alloc_bulk(b->sh->pool, &b->pkts[k],
					      EF_BENCH_BURST - k) != 0) {
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

int
ef_bench_precreate(struct ef_bench_ctx *b, uint32_t first, uint32_t n)
{
	uint64_t lost0 = b->lost;

	for (uint32_t i0 = first; i0 < first + n; i0 += EF_BENCH_BURST) {
		uint16_t nb = (uint16_t)RTE_MIN((uint32_t)EF_BENCH_BURST, first + n - i0);
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
		if (b->proxy_h != 0) {
			/* each ACK came out behind its header segment: free
			 * the extra frames, then the endpoint acks the
			 * headers, so that the flows are in their steady
			 * state */
			struct rte_mbuf **o = w->out[EF_BENCH_IF_NODES];

			for (uint16_t j = nb; j < w->n_out[EF_BENCH_IF_NODES]; j++)
				rte_pktmbuf_free(o[j]);
			w->n_out[EF_BENCH_IF_NODES] = nb;
			collect(b, nb);
			for (uint16_t k = 0; k < nb; k++)
				build_reply(b, b->pkts[k], EF_BENCH_ACK, i0 + k);
			edgefwd_burst(w, b->pkts, nb);
		}
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
run_est(struct ef_bench_ctx *b, const uint32_t *seq, uint32_t len,
	uint32_t *pos, uint64_t n_pkts, burst_fn fn)
{
	uint32_t mask = len - 1, p = *pos;
	uint64_t t0 = rte_rdtsc();

	for (uint64_t done = 0; done < n_pkts; done += EF_BENCH_BURST) {
		/* the generator's own misses (reply tuples of random flows)
		 * are hidden one burst ahead, as a NIC's DMA would be */
		for (uint32_t k = 0; k < EF_BENCH_BURST; k++) {
			uint32_t e = seq[(p + EF_BENCH_BURST + k) & mask];

			if (e >> 31)
				rte_prefetch0(&b->rec[e & 0x7fffffff]);
		}
		for (uint32_t k = 0; k < EF_BENCH_BURST; k++) {
			uint32_t e = seq[p++ & mask];

			if (e >> 31)
				build_reply(b, b->pkts[k], EF_BENCH_ACK,
					    e & 0x7fffffff);
			else
				build_fwd(b, b->pkts[k], EF_BENCH_ACK, e);
		}
		fn(b->w, b->pkts, EF_BENCH_BURST);
		collect(b, EF_BENCH_BURST);
	}
	*pos = p;
	return rte_rdtsc() - t0;
}

void
ef_bench_measure(struct ef_bench_ctx *b, const uint32_t *seq,
		 const struct ef_bench_opts *o, struct ef_bench_result *r)
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
	r->floor_cpp = ef_bench_median(fl, o->reps);
	r->cpp = ef_bench_median(ed, o->reps);
	r->lost = b->lost - lost0;
}

void
ef_bench_print_row(const char *what, const struct ef_bench_result *r)
{
	printf("%-34s %7.1f %7.1f %6.2f %7.2f %7.1f%s\n", what, r->floor_cpp,
	       r->cpp, r->cpp / r->floor_cpp, 1e3 / ef_bench_ns(r->cpp),
	       ef_bench_ns(r->cpp), r->lost ? "  LOST FRAMES" : "");
	fflush(stdout);
}

/* Flows the worker made: conntrack's and the edge flow table's. */
static uint64_t
flows_created(const struct ef_bench_ctx *b)
{
	return b->w->c.flows_created +
		(b->w->edge_flows != NULL ?
		 ef_edge_flows_stats(b->w->edge_flows)->created : 0);
}

double
ef_bench_run_fresh(struct ef_bench_ctx *b, uint32_t first, uint32_t n,
		   enum ef_bench_kind kind, uint64_t *created)
{
	uint64_t c0 = flows_created(b), t0 = rte_rdtsc(), t;

	for (uint32_t i0 = first; i0 < first + n; i0 += EF_BENCH_BURST) {
		for (uint16_t k = 0; k < EF_BENCH_BURST; k++)
			build_fwd(b, b->pkts[k], kind, i0 + k);
		edgefwd_burst(b->w, b->pkts, EF_BENCH_BURST);
		collect(b, EF_BENCH_BURST);
	}
	t = rte_rdtsc() - t0;
	*created = flows_created(b) - c0;
	return (double)t / n;
}

double
ef_bench_run_syn(struct ef_bench_ctx *b, uint32_t first, uint32_t n,
		 uint64_t *created)
{
	return ef_bench_run_fresh(b, first, n, EF_BENCH_SYN, created);
}

/* Involuntary context switches of this thread. */
static long
nivcsw(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : -1;
}

uint64_t
ef_bench_run_polls(struct ef_bench_ctx *b, const uint32_t *seq, uint32_t len,
		   const int *stop, uint64_t *gaps, uint64_t n_gaps)
{
	uint32_t mask = len - 1, p = 0;
	uint64_t n = 0, prev = rte_rdtsc();

	if (b->check_tsc != 0)
		b->nivcsw = nivcsw();

	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE) && n < n_gaps) {
		uint64_t now;

		for (uint32_t k = 0; k < EF_BENCH_BURST; k++) {
			uint32_t e = seq[p++ & mask];

			if (e >> 31)
				build_reply(b, b->pkts[k], EF_BENCH_ACK,
					    e & 0x7fffffff);
			else
				build_fwd(b, b->pkts[k], EF_BENCH_ACK, e);
		}
		edgefwd_burst(b->w, b->pkts, EF_BENCH_BURST);
		collect(b, EF_BENCH_BURST);
		/* what ef_fwd_poll() does after its bursts: one command
		 * slice (EF_FWD_CMD_BUDGET slots), expiry */
		ef_fwd_housekeep(b->w, 64);
		if (b->rcu_online)
			rte_rcu_qsbr_quiescent(b->sh->qsbr, 0);
		now = rte_rdtsc();
		gaps[n] = now - prev;
		if (b->check_tsc != 0 && gaps[n] > b->check_tsc) {
			long c = nivcsw();

			b->preempted[n] = c != b->nivcsw;
			b->nivcsw = c;
			now = rte_rdtsc();	/* the syscall is not the worker's */
		}
		n++;
		prev = now;
	}
	return n;
}

int
ef_bench_thread_elsewhere(pthread_t *th, void *(*fn)(void *), void *arg)
{
	pthread_attr_t at;
	cpu_set_t cs;
	int me = sched_getcpu(), rc;

	pthread_attr_init(&at);
	CPU_ZERO(&cs);
	for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN); c++)
		if (c != me)
			CPU_SET((int)c, &cs);
	if (CPU_COUNT(&cs) > 0)
		pthread_attr_setaffinity_np(&at, sizeof(cs), &cs);
	rc = pthread_create(th, &at, fn, arg);
	pthread_attr_destroy(&at);
	return rc;
}
