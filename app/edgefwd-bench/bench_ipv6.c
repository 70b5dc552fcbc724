/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv6 beside IPv4 (issue 12): one dual-stack configuration, one worker,
 * n established Cluster (SNAT) flows of each family through the same
 * service, measured in the same loop: cycles per established packet of
 * each family, new flows per second of each, bytes per flow of each
 * table, and the floor. The frames of both families are built once per
 * flow and copied into the burst's mbufs (the same copy for both, unlike
 * the template builder of harness.c), so the ratio IPv6 / IPv4 compares
 * the pipelines alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "ef_ct.h"
#include "ef_fwd.h"
#include "ef_pkt.h"
#include "bench.h"
#include "harness.h"

#define F6_MAX 80	/* 14 + 40 + 20, padded */

static const uint8_t lb_mac[2][6] = {
	{ 0x02, 0xef, 0, 0, 0, 1 }, { 0x02, 0xef, 0, 0, 0, 2 },
};
static const uint8_t peer_mac[2][6] = {
	{ 0x02, 0, 0, 0, 0x00, 0x02 }, { 0x02, 0, 0, 0, 0x01, 0x02 },
};

static char *
dual_conf(uint32_t max_flows)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	fprintf(f,
		"node = { name = \"node-a\";"
		" snat_addresses = [ \"10.0.0.1\", \"fd00:10::1\" ];"
		" snat_port_range = [ 1024, 65535 ]; };\n"
		"interfaces = (\n"
		"  { port = \"bench0\"; addresses = [ \"198.51.100.1/24\","
		" \"2001:db8:100::1/64\" ]; },\n"
		"  { port = \"bench1\"; addresses = [ \"10.0.0.1/24\","
		" \"fd00:10::1/64\" ]; }\n"
		");\n"
		"routes = (\n"
		"  { prefix = \"100.64.0.0/10\"; via = \"198.51.100.2\"; },\n"
		"  { prefix = \"10.128.0.0/9\"; via = \"10.0.0.2\"; },\n"
		"  { prefix = \"2001:db8:200::/48\"; via = \"2001:db8:100::2\"; },\n"
		"  { prefix = \"fd00:128::/32\"; via = \"fd00:10::2\"; }\n"
		");\n"
		"neighbors = (\n"
		"  { address = \"198.51.100.2\"; mac = \"02:00:00:00:00:02\"; },\n"
		"  { address = \"10.0.0.2\"; mac = \"02:00:00:00:01:02\"; },\n"
		"  { address = \"2001:db8:100::2\"; mac = \"02:00:00:00:00:02\"; },\n"
		"  { address = \"fd00:10::2\"; mac = \"02:00:00:00:01:02\"; }\n"
		");\n"
		"dataplane = { rx_descriptors = 128; tx_descriptors = 128;"
		" mbufs = 8191; };\n"
		"conntrack = { max_flows = %u; syn_cookie_threshold = 67108864; };\n"
		"health = { type = \"none\"; };\n"
		"services = (\n"
		"  { name = \"bench/dual\"; type = \"LoadBalancer\";\n"
		"    ip_families = [ \"IPv4\", \"IPv6\" ];\n"
		"    load_balancer_ips = [ \"198.51.100.10\", \"2001:db8:100::10\" ];\n"
		"    ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
		" target_port = 8080; } );\n"
		"    endpoints = (\n", max_flows);
	for (uint32_t e = 1; e <= EF_BENCH_EPS_MAIN; e++)
		fprintf(f, "      { address = \"10.250.0.%u\"; node = \"node-b\"; },\n"
			"      { address = \"fd00:128::%x\"; node = \"node-b\"; }%s\n",
			e, e, e < EF_BENCH_EPS_MAIN ? "," : "");
	fputs("    ); }\n);\n", f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* An Ethernet + IPv4/IPv6 + TCP frame (no payload), checksums filled by
 * DPDK's helpers. Addresses: 4 or 16 bytes, network order. */
static uint16_t
tcp_frame(uint8_t *f, bool v6, const uint8_t *dmac, const uint8_t *smac,
	  const void *src, const void *dst, uint16_t sport, uint16_t dport,
	  uint32_t seq, uint32_t ack, uint8_t flags)
{
	struct rte_tcp_hdr *th;
	uint16_t l3 = v6 ? 40 : 20;

	memset(f, 0, F6_MAX);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	th = (struct rte_tcp_hdr *)(f + 14 + l3);
	th->src_port = sport;
	th->dst_port = dport;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = 5 << 4;
	th->tcp_flags = flags;
	th->rx_win = RTE_BE16(65535);
	if (v6) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(f + 14);

		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = RTE_BE16(20);
		ip->proto = IPPROTO_TCP;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, src, 16);
		memcpy(ip->dst_addr, dst, 16);
		th->cksum = rte_ipv6_udptcp_cksum(ip, th);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);

		ip->version_ihl = 0x45;
		ip->total_length = RTE_BE16(40);
		ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		memcpy(&ip->src_addr, src, 4);
		memcpy(&ip->dst_addr, dst, 4);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	}
	return (uint16_t)(14 + l3 + 20);
}

/* Flow i's client address of a family */
static void
client_of(bool v6, uint32_t i, uint8_t *a)
{
	static const uint8_t net6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00 };
	uint32_t be;

	if (v6) {
		memcpy(a, net6, 16);
		be = rte_cpu_to_be_32(i + 1);
		memcpy(a + 12, &be, 4);
	} else {
		be = rte_cpu_to_be_32(0x64400000u + i + 1);	/* 100.64/10 */
		memcpy(a, &be, 4);
	}
}

struct fam {
	bool v6;
	uint32_t n;
	uint8_t (*fr)[2][F6_MAX];	/* per flow: client ACK, reply ACK */
	uint16_t len;
	double est_cpp, new_cpf, bpf;
};

static int
run_one(struct ef_bench_ctx *b, struct rte_mbuf *m, const uint8_t *frame,
	uint16_t len, uint16_t iface, uint8_t *out, uint16_t *out_len)
{
	struct ef_fwd_worker *w = b->w;
	int got = 0;

	m->data_off = RTE_PKTMBUF_HEADROOM;
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), frame, len);
	m->data_len = len;
	m->pkt_len = len;
	m->port = iface;
	m->ol_flags = 0;
	ef_fwd_begin(w);
	ef_fwd_process(w, &m, 1, false);
	for (uint16_t p = 0; p < 2; p++) {
		for (uint16_t j = 0; j < w->n_out[p]; j++) {
			struct rte_mbuf *o = w->out[p][j];

			if (out != NULL && got == 0) {
				*out_len = (uint16_t)o->data_len;
				memcpy(out, rte_pktmbuf_mtod(o, uint8_t *),
				       RTE_MIN(o->data_len, F6_MAX));
			}
			got++;
			rte_pktmbuf_free(o);
		}
		w->n_out[p] = 0;
	}
	return got;
}

/* SYN, the endpoint's SYN-ACK to what it became, the client's ACK, for
 * flows [0, n) of a family; keeps each flow's two measured frames. */
static int
precreate(struct ef_bench_ctx *b, struct fam *fm)
{
	static const uint8_t vip4[4] = { 198, 51, 100, 10 };
	static const uint8_t vip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00,
					  [15] = 0x10 };
	const void *vip = fm->v6 ? (const void *)vip6 : (const void *)vip4;
	uint8_t f[F6_MAX], out[F6_MAX], cl[16];
	uint16_t dport = RTE_BE16(EF_BENCH_SVC_PORT), cport = RTE_BE16(40000);
	struct rte_mbuf *m;

	for (uint32_t i = 0; i < fm->n; i++) {
		struct ef_pkt_meta pm;
		uint16_t len, olen = 0;

		m = rte_pktmbuf_alloc(b->sh->pool);
		if (m == NULL)
			return -1;
		client_of(fm->v6, i, cl);
		len = tcp_frame(f, fm->v6, lb_mac[0], peer_mac[0], cl, vip,
				cport, dport, i, 0, RTE_TCP_SYN_FLAG);
		if (run_one(b, m, f, len, 0, out, &olen) != 1 ||
		    ef_pkt_parse(out, olen, &pm) != 0)
			return -1;
		/* the endpoint answers what it got: SNAT address and port */
		len = tcp_frame(f, fm->v6, lb_mac[1], peer_mac[1],
				fm->v6 ? (const void *)pm.dst.v6 :
				(const void *)&pm.dst.v4,
				fm->v6 ? (const void *)pm.src.v6 :
				(const void *)&pm.src.v4, pm.dport, pm.sport,
				EF_BENCH_SERVER_ISN, i + 1,
				RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
		fm->len = len;
		tcp_frame(fm->fr[i][1], fm->v6, lb_mac[1], peer_mac[1],
			  fm->v6 ? (const void *)pm.dst.v6 :
			  (const void *)&pm.dst.v4,
			  fm->v6 ? (const void *)pm.src.v6 :
			  (const void *)&pm.src.v4, pm.dport, pm.sport,
			  EF_BENCH_SERVER_ISN + 1, i + 1, RTE_TCP_ACK_FLAG);
		m = rte_pktmbuf_alloc(b->sh->pool);
		if (m == NULL || run_one(b, m, f, len, 1, NULL, NULL) != 1)
			return -1;
		len = tcp_frame(fm->fr[i][0], fm->v6, lb_mac[0], peer_mac[0],
				cl, vip, cport, dport, i + 1,
				EF_BENCH_SERVER_ISN + 1, RTE_TCP_ACK_FLAG);
		m = rte_pktmbuf_alloc(b->sh->pool);
		if (m == NULL ||
		    run_one(b, m, fm->fr[i][0], len, 0, NULL, NULL) != 1)
			return -1;
	}
	return 0;
}

typedef void (*burst6_fn)(struct ef_fwd_worker *w, struct rte_mbuf **pkts,
			  uint16_t n);

static __rte_noinline void
floor6(struct ef_fwd_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *f = rte_pktmbuf_mtod(pkts[i], uint8_t *), t[6];
		int16_t iface = w->sh->port_to_if[pkts[i]->port];

		memcpy(t, f, 6);
		memcpy(f, f + 6, 6);
		memcpy(f + 6, t, 6);
		w->out[iface][w->n_out[iface]++] = pkts[i];
	}
}

static void
pipeline6(struct ef_fwd_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	ef_fwd_begin(w);
	ef_fwd_process(w, pkts, n, false);
}

/* n_pkts established frames of family fm from seq; TSC of the loop, the
 * frames not forwarded in *lost. */
static uint64_t
run_est6(struct ef_bench_ctx *b, const struct fam *fm, const uint32_t *seq,
	 uint32_t mask, uint32_t *pos, uint64_t n_pkts, burst6_fn fn,
	 uint64_t *lost)
{
	struct ef_fwd_worker *w = b->w;
	struct rte_mbuf **pk = b->pkts;
	uint32_t p = *pos;
	uint64_t t0 = rte_rdtsc();

	for (uint64_t done = 0; done < n_pkts; done += EF_BENCH_BURST) {
		uint16_t k = 0;

		for (uint32_t j = 0; j < EF_BENCH_BURST; j++) {
			uint32_t e = seq[p++ & mask];
			uint32_t i = (e & 0x7fffffff) % fm->n, d = e >> 31;
			struct rte_mbuf *m = pk[j];

			m->data_off = RTE_PKTMBUF_HEADROOM;
			memcpy(rte_pktmbuf_mtod(m, uint8_t *), fm->fr[i][d],
			       fm->len);
			m->data_len = fm->len;
			m->pkt_len = fm->len;
			m->port = (uint16_t)d;
			m->ol_flags = 0;
		}
		fn(w, pk, EF_BENCH_BURST);
		for (uint16_t q = 0; q < 2; q++) {
			memcpy(&pk[k], w->out[q], (size_t)w->n_out[q] *
			       sizeof(struct rte_mbuf *));
			k = (uint16_t)(k + w->n_out[q]);
			w->n_out[q] = 0;
		}
		if (k < EF_BENCH_BURST) {
			*lost += EF_BENCH_BURST - k;
			if (rte_pktmbuf_alloc_bulk(b->sh->pool, &pk[k],
						   EF_BENCH_BURST - k) != 0)
				return 0;
		}
	}
	*pos = p;
	return rte_rdtsc() - t0;
}

/* SYNs of fresh flows [from, from + n) of a family: cycles per SYN. */
static double
new_flows6(struct ef_bench_ctx *b, bool v6, uint32_t from, uint32_t n)
{
	static const uint8_t vip4[4] = { 198, 51, 100, 10 };
	static const uint8_t vip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00,
					  [15] = 0x10 };
	uint8_t cl[16];
	uint16_t len = 0;
	uint64_t t0, t, lost = 0;
	struct fam fm = { .v6 = v6, .n = n };
	uint32_t *seq = malloc(sizeof(*seq) * n);
	uint32_t pos = 0;

	if (seq == NULL)
		return 0;
	/* run_est6 wants [flow][dir] frames: the SYN as dir 0 */
	fm.fr = malloc(sizeof(*fm.fr) * n);
	if (fm.fr == NULL) {
		free(seq);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		client_of(v6, from + i, cl);
		len = tcp_frame(fm.fr[i][0], v6, lb_mac[0], peer_mac[0], cl,
				v6 ? (const void *)vip6 : (const void *)vip4,
				RTE_BE16(40000), RTE_BE16(EF_BENCH_SVC_PORT),
				i, 0, RTE_TCP_SYN_FLAG);
		seq[i] = i;
	}
	fm.len = len;
	t0 = rte_rdtsc();
	run_est6(b, &fm, seq, UINT32_MAX, &pos, n, pipeline6, &lost);
	t = rte_rdtsc() - t0;
	free(fm.fr);
	free(seq);
	return lost == 0 ? (double)t / n : 0;
}

int
ef_bench_ipv6(const struct ef_bench_opts *o, uint32_t n,
	      struct ef_bench_ipv6_fig *fig)
{
	struct ef_bench_ctx b;
	struct fam fm[2] = { { .v6 = false, .n = n }, { .v6 = true, .n = n } };
	double fl[16], ed[2][16];
	uint32_t *seq = NULL;
	uint32_t mask = o->seq_len - 1, pos = 0;
	uint64_t lost = 0;
	int ret = -1;
	uint32_t n_new = o->quick ? 1u << 16 : 1u << 18;

	/* room for the established flows and the new ones, per family */
	if (ef_bench_ctx_init_text(&b, dual_conf(n + n_new + 64), 64,
				   n + n_new + 64) != 0)
		return -1;
	if (b.w->ct6 == NULL) {
		fprintf(stderr, "ipv6 bench: no IPv6 table\n");
		goto out;
	}
	for (int k = 0; k < 2; k++) {
		fm[k].fr = malloc(sizeof(*fm[k].fr) * n);
		if (fm[k].fr == NULL || precreate(&b, &fm[k]) != 0) {
			fprintf(stderr, "ipv6 bench: pre-creating %s flows "
				"failed\n", k ? "IPv6" : "IPv4");
			goto out;
		}
	}
	seq = ef_bench_seq_uniform(n, o->seq_len, 50, 99 + n);
	if (seq == NULL)
		goto out;
	/* warm, then floor / IPv4 / IPv6 alternated, medians */
	run_est6(&b, &fm[0], seq, mask, &pos, o->pkts / 4, pipeline6, &lost);
	run_est6(&b, &fm[1], seq, mask, &pos, o->pkts / 4, pipeline6, &lost);
	lost = 0;
	for (uint32_t r = 0; r < o->reps; r++) {
		fl[r] = (double)run_est6(&b, &fm[0], seq, mask, &pos, o->pkts,
					 floor6, &lost) / (double)o->pkts;
		for (int k = 0; k < 2; k++)
			ed[k][r] = (double)run_est6(&b, &fm[k], seq, mask, &pos,
						    o->pkts, pipeline6, &lost) /
				(double)o->pkts;
	}
	fig->floor_cpp = ef_bench_median(fl, o->reps);
	fig->est4_cpp = ef_bench_median(ed[0], o->reps);
	fig->est6_cpp = ef_bench_median(ed[1], o->reps);
	fig->lost = lost;
	fig->new4_cpf = new_flows6(&b, false, n, n_new);
	fig->new6_cpf = new_flows6(&b, true, n, n_new);
	fig->bpf4 = (double)ef_ct_memory(b.w->ct) / ef_ct_capacity(b.w->ct);
	fig->bpf6 = (double)ef_ct_memory(b.w->ct6) / ef_ct_capacity(b.w->ct6);
	printf("%-34s %7.1f %7.1f %6.2f %7.2f %7.1f%s\n", "est Cluster IPv4 (dual cfg)",
	       fig->floor_cpp, fig->est4_cpp, fig->est4_cpp / fig->floor_cpp,
	       1e3 / ef_bench_ns(fig->est4_cpp), ef_bench_ns(fig->est4_cpp),
	       lost ? "  LOST FRAMES" : "");
	printf("%-34s %7.1f %7.1f %6.2f %7.2f %7.1f  (x%.2f IPv4)\n",
	       "est Cluster IPv6 (dual cfg)", fig->floor_cpp, fig->est6_cpp,
	       fig->est6_cpp / fig->floor_cpp, 1e3 / ef_bench_ns(fig->est6_cpp),
	       ef_bench_ns(fig->est6_cpp), fig->est6_cpp / fig->est4_cpp);
	printf("%-34s %7s %7.1f %6s %7.2f  (IPv6 x%.2f IPv4's %.1f cycles)\n",
	       "new flows Cluster IPv6 (SYN only)", "-", fig->new6_cpf, "-",
	       fig->new6_cpf > 0 ? ef_bench_tsc_hz / fig->new6_cpf / 1e6 : 0,
	       fig->new4_cpf > 0 ? fig->new6_cpf / fig->new4_cpf : 0,
	       fig->new4_cpf);
	printf("  (bytes per flow, conntrack: IPv4 %.1f, IPv6 %.1f)\n",
	       fig->bpf4, fig->bpf6);
	fflush(stdout);
	ret = lost == 0 && fig->new4_cpf > 0 && fig->new6_cpf > 0 ? 0 : -1;
out:
	free(seq);
	free(fm[0].fr);
	free(fm[1].fr);
	ef_bench_ctx_free(&b);
	return ret;
}
