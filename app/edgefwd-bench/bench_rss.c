/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RSS family (docs/RSS.md): SNAT picks on N simulated RX queues, one
 * worker per queue, the standard 40-byte key and a 128-entry RETA
 * spreading the queues round robin, the NIC's hash computed in software
 * (ef_nat_rss_queue(): rte_softrss_be). For each N: the share of SNAT
 * replies that land on another worker's queue (handoff) with the plain
 * pick and with the RSS-steered one, and the cycles of a pick, into an
 * empty conntrack table (every probe a lookup miss).
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "ef_ct.h"
#include "ef_nat.h"

#include "bench.h"
#include "harness.h"

/* The bench topology's SNAT addresses (10.0.0.1..16) and ports. */
#define RSS_SNAT_ADDRS 16
#define RSS_PORT_MIN 1024
#define RSS_PORT_MAX 65535

static const uint8_t std_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

struct rss_pick {
	uint32_t ep, snat;
	uint16_t eport, sport;
};

struct rss_worker {
	struct ef_nat_worker nat;
} __rte_cache_aligned;

static struct ef_ct *
rss_ct(void)
{
	struct ef_ct_params p;

	memset(&p, 0, sizeof(p));
	p.name = "bench_rss";
	p.max_flows = 1u << 16;
	p.timeouts.tcp_syn_timeout = 30;
	p.timeouts.tcp_established_timeout = 7440;
	p.timeouts.tcp_fin_timeout = 30;
	p.timeouts.tcp_close_timeout = 10;
	p.timeouts.udp_timeout = 30;
	p.timeouts.udp_stream_timeout = 120;
	p.timeouts.icmp_timeout = 30;
	p.socket_id = SOCKET_ID_ANY;
	return ef_ct_create(&p);
}

/*
 * n picks, flow i on worker i % n_q (the forward packet's owner), the
 * cycles of the whole loop over n (median of reps), the picks in out.
 * Returns how many picks failed.
 */
static uint32_t
run_picks(const struct ef_nat_map *m, const struct ef_ct *ct, uint32_t n_q,
	  uint32_t n, uint32_t reps, struct rss_pick *out, double *cpp,
	  uint64_t *fallback)
{
	/* one cache-aligned state per worker, as inside ef_fwd_worker */
	struct rss_worker *w = rte_zmalloc("bench_rss", sizeof(*w) * n_q,
					   RTE_CACHE_LINE_SIZE);
	double cyc[16];
	uint32_t failed = 0;

	*fallback = 0;
	*cpp = 0;
	if (w == NULL || n_q == 0 || n == 0) {
		rte_free(w);
		return n;
	}
	for (uint32_t r = 0; r < reps && r < RTE_DIM(cyc); r++) {
		uint64_t t0;

		for (uint32_t q = 0; q < n_q; q++)
			ef_nat_worker_init(&w[q].nat, m, q, 17);
		failed = 0;
		t0 = rte_rdtsc_precise();
		for (uint32_t i = 0; i < n; i++) {
			struct rss_pick *p = &out[i];

			p->ep = rte_cpu_to_be_32(0x0afa0001u + (i * 7) % 64);
			p->eport = rte_cpu_to_be_16(EF_BENCH_TARGET_PORT);
			if (ef_nat_snat_pick(&w[i % n_q].nat, ct,
					     ef_bench_client(i),
					     ef_bench_cport(i), p->ep,
					     p->eport, IPPROTO_TCP, &p->snat,
					     &p->sport) != 0)
				failed++;
		}
		cyc[r] = (double)(rte_rdtsc_precise() - t0) / n;
	}
	for (uint32_t q = 0; q < n_q; q++)
		*fallback += w[q].nat.rss_fallback;
	rte_free(w);
	*cpp = ef_bench_median(cyc, RTE_MIN(reps, (uint32_t)RTE_DIM(cyc)));
	return failed;
}

/* Share of the picks whose reply the NIC puts on a queue other than the
 * owner's (the slice arithmetic): m must hold the model. */
static double
handoff_share(const struct ef_nat_map *m, const struct rss_pick *p,
	      uint32_t n)
{
	uint32_t h = 0;

	if (n == 0)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (ef_nat_rss_queue(m, p[i].ep, p[i].eport, p[i].snat,
				     p[i].sport, IPPROTO_TCP) !=
		    ef_nat_port_owner(m, rte_be_to_cpu_16(p[i].sport)))
			h++;
	return (double)h / n;
}

int
ef_bench_rss(const struct ef_bench_opts *o, struct ef_bench_rss_fig *f)
{
	struct ef_addr addrs[RSS_SNAT_ADDRS];
	uint32_t n = o->quick ? 1u << 16 : 1u << 18;
	struct ef_nat_map *m = calloc(1, sizeof(*m));
	struct rss_pick *picks = calloc(n, sizeof(*picks));
	struct ef_ct *ct = rss_ct();
	struct ef_nat_rss r;
	int ret = 0;

	if (m == NULL || picks == NULL || ct == NULL) {
		fprintf(stderr, "rss: %s\n", ct == NULL ?
			rte_strerror(rte_errno) : "out of memory");
		ret = -1;
		goto out;
	}
	for (uint32_t a = 0; a < RSS_SNAT_ADDRS; a++)
		addrs[a] = ef_addr_v4(0x0a000001u + a);
	/* warm-up, not measured: the first runs of a process paid twice
	 * (conntrack's buckets and the picks array first touched) */
	if (ef_nat_map_init(m, addrs, RSS_SNAT_ADDRS, RSS_PORT_MIN,
			    RSS_PORT_MAX, 2) == 0) {
		double c;
		uint64_t fb;

		(void)run_picks(m, ct, 2, n, 1, picks, &c, &fb);
	}
	for (uint32_t k = 0; k < EF_BENCH_RSS_QUEUES; k++) {
		uint32_t n_q = 2u << k, fo, fn;
		uint64_t fb_old, fb_new;
		char what[64];

		memset(&r, 0, sizeof(r));
		memcpy(r.key, std_key, sizeof(std_key));
		r.key_len = sizeof(std_key);
		r.reta_size = 128;
		for (uint32_t i = 0; i < r.reta_size; i++)
			r.reta[i] = (uint16_t)(i % n_q);
		r.tcp = EF_NAT_RSS_L4;
		r.udp = EF_NAT_RSS_L4;
		r.icmp = EF_NAT_RSS_L3;
		if (ef_nat_map_init(m, addrs, RSS_SNAT_ADDRS, RSS_PORT_MIN,
				    RSS_PORT_MAX, n_q) != 0) {
			ret = -1;
			break;
		}
		/* the plain pick: no model in the map */
		fo = run_picks(m, ct, n_q, n, o->reps, picks,
			       &f->cycles_old[k], &fb_old);
		ef_nat_map_set_rss(m, &r);
		f->handoff_old[k] = handoff_share(m, picks, n);
		fn = run_picks(m, ct, n_q, n, o->reps, picks,
			       &f->cycles_new[k], &fb_new);
		f->handoff_new[k] = handoff_share(m, picks, n);
		f->fallback_new[k] = (double)fb_new / n;
		f->queues[k] = n_q;
		snprintf(what, sizeof(what), "SNAT pick, %u queues: slices",
			 n_q);
		printf("%-34s %7s %7.1f %6s %7.2f %7.1f  (handoff %.4f)\n",
		       what, "-", f->cycles_old[k], "-",
		       ef_bench_tsc_hz / f->cycles_old[k] / 1e6,
		       ef_bench_ns(f->cycles_old[k]), f->handoff_old[k]);
		snprintf(what, sizeof(what), "SNAT pick, %u queues: RSS", n_q);
		printf("%-34s %7s %7.1f %6.2f %7.2f %7.1f  (handoff %.4f, "
		       "fallback %" PRIu64 ")\n", what, "-",
		       f->cycles_new[k], f->cycles_new[k] / f->cycles_old[k],
		       ef_bench_tsc_hz / f->cycles_new[k] / 1e6,
		       ef_bench_ns(f->cycles_new[k]), f->handoff_new[k],
		       fb_new);
		if (fo != 0 || fn != 0) {
			fprintf(stderr, "rss: %u/%u picks failed (%u queues)\n",
				fo + fn, 2 * n, n_q);
			ret = -1;
		}
	}
	fflush(stdout);
out:
	ef_ct_free(ct);
	free(picks);
	free(m);
	return ret;
}
