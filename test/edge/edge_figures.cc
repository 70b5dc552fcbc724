/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * edge_figures: cycles of the edge's per-packet work, measured on this
 * machine: ef_edge_steer() for new flows (Maglev pick + insert) and for
 * established ones (bulk lookup of 32 + steer), ef_edge_encap() for IPIP
 * and GUE, ef_edge_mss_clamp() on a SYN and ef_edge_decap() of GUE.
 * Medians of 5 runs. Not a meson test (timing); run by hand:
 *
 *   edge_figures [flows]     (default 262144)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "ef_edge.h"
#include "ef_pkt.h"
#include "edge_fixtures.h"

namespace {

const int RUNS = 5;
const uint32_t BURST = 32;

double
median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v[v.size() / 2];
}

ef_edge_flow_key
key(uint32_t i)
{
	ef_edge_flow_key k;

	memset(&k, 0, sizeof(k));
	k.src = htonl(0xc6000000u + (i >> 8));
	k.dst = htonl(0xcb00710au);
	k.sport = htons((uint16_t)(1024 + (i & 0xff) * 200));
	k.dport = htons(80);
	k.proto = IPPROTO_TCP;
	return k;
}

struct rte_mbuf *
mbuf_of(struct rte_mempool *mp, const uint8_t *b, size_t n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	memcpy(rte_pktmbuf_append(m, (uint16_t)n), b, n);
	return m;
}

} /* namespace */

int
main(int argc, char **argv)
{
	const char *eal[] = { "edge_figures", "--no-huge", "--no-pci", "-m",
			      "1024", "--no-telemetry", "--no-shconf",
			      "--log-level=lib.*:error", "-l", "0" };
	uint32_t flows = argc > 1 ? (uint32_t)atoi(argv[1]) : 262144;
	double hz;

	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])),
			 (char **)eal) < 0) {
		fprintf(stderr, "EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	hz = (double)rte_get_tsc_hz();
	struct rte_mempool *mp = rte_pktmbuf_pool_create("fig", 1023, 0, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	std::vector<ef_edge_node> nodes(16);
	for (uint32_t i = 0; i < nodes.size(); i++) {
		memset(&nodes[i], 0, sizeof(nodes[i]));
		snprintf(nodes[i].name, sizeof(nodes[i].name), "node-%u", i);
		nodes[i].addr = htonl(0x0a010000u + 11 + i);
		nodes[i].weight = 1 + i % 4;
		nodes[i].healthy = true;
	}
	ef_edge_lb *lb = ef_edge_lb_build(nodes.data(), (uint32_t)nodes.size(),
					  1);
	if (mp == nullptr || lb == nullptr) {
		fprintf(stderr, "setup: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	std::vector<ef_edge_flow_key> keys(flows);
	std::vector<uint32_t> hashes(flows);
	for (uint32_t i = 0; i < flows; i++) {
		keys[i] = key(i);
		hashes[i] = ef_edge_flow_hash(&keys[i]);
	}

	std::vector<double> c_new, c_hit;
	for (int r = 0; r < RUNS; r++) {
		std::string name = "fig" + std::to_string(r);
		ef_edge_flows_params p = { name.c_str(), flows, 300, 0,
					   SOCKET_ID_ANY };
		ef_edge_flows *ft = ef_edge_flows_create(&p);
		uint32_t idx;

		if (ft == nullptr) {
			fprintf(stderr, "flows: %s\n", rte_strerror(rte_errno));
			return 1;
		}
		uint64_t t0 = rte_rdtsc();
		for (uint32_t i = 0; i < flows; i++) {
			ef_edge_flow_key *k = &keys[i];
			uint32_t h = ef_edge_flow_hash(k);

			ef_edge_steer(ft, lb, k, h, ef_edge_flows_lookup(ft, k),
				      RTE_TCP_SYN_FLAG, 0, 0, &idx);
		}
		uint64_t t1 = rte_rdtsc();
		c_new.push_back((double)(t1 - t0) / flows);
		t0 = rte_rdtsc();
		for (uint32_t i = 0; i + BURST <= flows; i += BURST) {
			const void *kp[BURST];
			ef_edge_flow *f[BURST];

			for (uint32_t j = 0; j < BURST; j++)
				kp[j] = &keys[i + j];
			ef_edge_flows_lookup_bulk(ft, kp, BURST, f);
			for (uint32_t j = 0; j < BURST; j++)
				ef_edge_steer(ft, lb, kp[j],
					      ef_edge_flow_hash(&keys[i + j]), f[j],
					      RTE_TCP_ACK_FLAG, 0, 1, &idx);
		}
		t1 = rte_rdtsc();
		c_hit.push_back((double)(t1 - t0) / (flows / BURST * BURST));
		ef_edge_flows_free(ft);
	}

	/* encap: encapsulate, then undo it (adj + Ethernet back) */
	const uint32_t N = 1u << 20;
	double c_encap[2];
	for (int fwd = 0; fwd < 2; fwd++) {
		ef_edge_tunnel t;
		std::vector<double> v;
		struct rte_mbuf *m = mbuf_of(mp, in_syn, sizeof(in_syn));
		uint16_t id = 0;
		uint32_t o = ef_edge_overhead((unsigned)fwd);

		memset(&t, 0, sizeof(t));
		t.fwd = (uint8_t)fwd;
		t.gue_port = htons(6080);
		t.src = htonl(0x0a010001u);
		t.dst = htonl(0x0a01000bu);
		for (int r = 0; r < RUNS; r++) {
			uint64_t t0 = rte_rdtsc();

			for (uint32_t i = 0; i < N; i++) {
				ef_edge_encap(m, &t, i, &id);
				uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
				memmove(p + o, p, 14);
				rte_pktmbuf_adj(m, (uint16_t)o);
			}
			v.push_back((double)(rte_rdtsc() - t0) / N);
		}
		c_encap[fwd] = median(v);
		rte_pktmbuf_free(m);
	}

	/* MSS clamp on a SYN (restored each time) */
	std::vector<double> v_mss;
	{
		uint8_t f[sizeof(in_syn)];
		struct ef_pkt_meta pm;

		memcpy(f, in_syn, sizeof(f));
		ef_pkt_parse(f, sizeof(f), &pm);
		for (int r = 0; r < RUNS; r++) {
			uint64_t t0 = rte_rdtsc();

			for (uint32_t i = 0; i < N; i++) {
				ef_edge_mss_clamp(f, &pm, 1440);
				memcpy(f, in_syn, sizeof(f));
			}
			v_mss.push_back((double)(rte_rdtsc() - t0) / N);
		}
	}

	/* GUE decap: classify + source check + strip, then put it back */
	std::vector<double> v_dec;
	{
		ef_edge_prefix pf = { htonl(0x0a010000u), 24 };
		ef_edge_decap_cfg *d = ef_edge_decap_create(&pf, 1, 6080);
		struct rte_mbuf *m = mbuf_of(mp, dec_gue, sizeof(dec_gue));
		struct ef_pkt_meta pm;

		ef_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, &pm);
		for (int r = 0; r < RUNS; r++) {
			uint64_t t0 = rte_rdtsc();

			for (uint32_t i = 0; i < N; i++) {
				ef_edge_decap(d, m, &pm);
				rte_pktmbuf_prepend(m, 32);
				memcpy(rte_pktmbuf_mtod(m, uint8_t *), dec_gue,
				       14 + 32);
			}
			v_dec.push_back((double)(rte_rdtsc() - t0) / N);
		}
		rte_pktmbuf_free(m);
		ef_edge_decap_free(d);
	}

	printf("edge_figures: %u flows, 16 nodes, TSC %.2f GHz, medians of %d\n",
	       flows, hz / 1e9, RUNS);
	printf("  steer, new flow (Maglev + insert)  %7.1f cycles  %6.2f M flows/s\n",
	       median(c_new), hz / median(c_new) / 1e6);
	printf("  steer, established (bulk 32 + hit) %7.1f cycles/packet\n",
	       median(c_hit));
	printf("  encap ipip                          %7.1f cycles/packet\n",
	       c_encap[0]);
	printf("  encap gue                           %7.1f cycles/packet\n",
	       c_encap[1]);
	printf("  mss clamp, SYN (+ restore)          %7.1f cycles/packet\n",
	       median(v_mss));
	printf("  decap gue (+ restore)               %7.1f cycles/packet\n",
	       median(v_dec));
	ef_edge_lb_free(lb);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}
