/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_BENCH_H
#define EF_BENCH_H

/*
 * edgefwd-bench: traffic generation (frame templates, flow sequences,
 * Zipf) and the bench topology's configuration text. Everything here runs
 * on the bench's single lcore.
 */

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bench topology (host order): clients behind 198.51.100.2 on interface
 * 0, every endpoint behind node-b 10.0.0.2 on interface 1. */
#define EF_BENCH_IF_CLIENT 0
#define EF_BENCH_IF_NODES 1
#define EF_BENCH_CLIENT_NET 0x64400000u	/* 100.64.0.0/10 */
#define EF_BENCH_VIP_CLUSTER 0xc633640au	/* 198.51.100.10 */
#define EF_BENCH_VIP_LOCAL 0xc633640bu	/* 198.51.100.11 */
#define EF_BENCH_VIP_PROXY 0xc633640cu	/* 198.51.100.12: PROXY v2 */
#define EF_BENCH_VIP_EDGE 0xc6336414u	/* 198.51.100.20: mode = "edge" */
#define EF_BENCH_EDGE_NODES 4		/* node-N (10.0.0.10 + N) runs N pods */
#define EF_BENCH_PROXY_LEN 28		/* its header, H */
#define EF_BENCH_CLUSTER_IP_NET 0x0a600000u	/* 10.96.0.0/12 */
#define EF_BENCH_MORE_NET 0x0ac80000u	/* 10.200.0.0/16: extra endpoints */
#define EF_BENCH_MOVED_NET 0x0ac90000u	/* 10.201.0.0/16: moved endpoints */
#define EF_BENCH_SVC_PORT 80
#define EF_BENCH_TARGET_PORT 8080
#define EF_BENCH_EPS_MAIN 64		/* endpoints of the two VIP services */
#define EF_BENCH_SERVER_ISN 7777u
#define EF_BENCH_FRAME_LEN 60		/* 64 bytes on the wire with FCS */

/* TCP flag sets of the templates */
enum ef_bench_kind {
	EF_BENCH_SYN,
	EF_BENCH_SYNACK,
	EF_BENCH_ACK,
	EF_BENCH_KIND_MAX,
};

/*
 * A frame template: Ethernet + IPv4 + TCP with the variable fields zero,
 * and the ones' complement sums of its fixed words, so that a frame is a
 * copy plus a few stores and two folds (RFC 1071/1624 arithmetic).
 */
struct ef_bench_tmpl {
	uint8_t frame[64];
	uint32_t ip_sum;
	uint32_t tcp_sum;
};

/* Reply tuple of a flow as the endpoint sends it (network order). */
struct ef_bench_rec {
	uint32_t ep;
	uint32_t dst;		/* SNAT address, or the client */
	uint16_t eport;
	uint16_t dport;		/* SNAT port, or the client's port */
};

/* Fill t for flags kind arriving from src_mac to dst_mac. */
void ef_bench_tmpl_init(struct ef_bench_tmpl *t, enum ef_bench_kind kind,
			const uint8_t dst_mac[6], const uint8_t src_mac[6]);

/* Ones' complement fold of a 64-bit sum of 16-bit words, inverted. */
static inline uint16_t
ef_bench_fold(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The two 16-bit words of a 32-bit value, summed. */
static inline uint64_t
ef_bench_sum32(uint32_t v)
{
	return (v & 0xffff) + (v >> 16);
}

/* Write a frame from t with the given tuple (network order) and TCP
 * sequence numbers (host order) into f (EF_BENCH_FRAME_LEN bytes). */
static inline void
ef_bench_build(uint8_t *f, const struct ef_bench_tmpl *t, uint32_t src,
	       uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq,
	       uint32_t ack)
{
	uint64_t addrs = ef_bench_sum32(src) + ef_bench_sum32(dst);
	uint32_t nseq = __builtin_bswap32(seq), nack = __builtin_bswap32(ack);
	uint16_t ipc, tcpc;

	__builtin_memcpy(f, t->frame, 64);
	ipc = ef_bench_fold(t->ip_sum + addrs);
	tcpc = ef_bench_fold(t->tcp_sum + addrs + sport + dport +
			     ef_bench_sum32(nseq) + ef_bench_sum32(nack));
	__builtin_memcpy(f + 14 + 10, &ipc, 2);
	__builtin_memcpy(f + 14 + 12, &src, 4);
	__builtin_memcpy(f + 14 + 16, &dst, 4);
	__builtin_memcpy(f + 34 + 0, &sport, 2);
	__builtin_memcpy(f + 34 + 2, &dport, 2);
	__builtin_memcpy(f + 34 + 4, &nseq, 4);
	__builtin_memcpy(f + 34 + 8, &nack, 4);
	__builtin_memcpy(f + 34 + 16, &tcpc, 2);
}

/* Client address and port of flow i (network order). */
static inline uint32_t
ef_bench_client(uint32_t i)
{
	return __builtin_bswap32(EF_BENCH_CLIENT_NET + (i >> 4));
}

static inline uint16_t
ef_bench_cport(uint32_t i)
{
	return __builtin_bswap16((uint16_t)(20000 + (i & 15)));
}

/*
 * Flow sequences: len (a power of two) entries of flow index | direction
 * << 31, uniform over n flows or Zipf(theta) with ranks scattered over the
 * flows by an odd multiplier (n a power of two). reply_pct: percent of
 * entries in the reply direction. NULL on allocation failure.
 */
uint32_t *ef_bench_seq_uniform(uint32_t n, uint32_t len, uint32_t reply_pct,
			       uint64_t seed);
uint32_t *ef_bench_seq_zipf(uint32_t n, uint32_t len, double theta,
			    uint32_t reply_pct, uint64_t seed);

/*
 * Configuration text of the bench topology: when vips, the two VIP
 * services (bench/cluster: Cluster policy, SNAT; bench/local: Local
 * policy) with EF_BENCH_EPS_MAIN endpoints each; then n_extra ClusterIP services
 * (bench/sN, cluster IP EF_BENCH_CLUSTER_IP_NET + N, port 80) of eps
 * remote endpoints each; conntrack.max_flows = max_flows. malloc'd
 * string, NULL on failure.
 */
char *ef_bench_conf(bool vips, uint32_t n_extra, uint32_t eps, uint32_t max_flows);

/* The same, or when more_every is not 0 the reload family's other
 * configuration: every more_every-th ClusterIP service N but the first
 * has one endpoint more, at EF_BENCH_MORE_NET + N, and service 0's
 * endpoints move to EF_BENCH_MOVED_NET + i (its flows go). */
char *ef_bench_conf_more(bool vips, uint32_t n_extra, uint32_t eps,
			 uint32_t max_flows, uint32_t more_every);

/*
 * Configuration text of an edge appliance: one edge service (bench/edge,
 * mode = "edge", Local policy, LB IP EF_BENCH_VIP_EDGE) over
 * EF_BENCH_EDGE_NODES nodes on interface 1's subnet, node-N with N ready
 * endpoints (edge.weights = "endpoints": weights 1..4), edge.forwarding =
 * forwarding ("ipip", "gue", "l2"), no node probes, conntrack.max_flows =
 * max_flows (the edge flow table's size too). malloc'd string, NULL on
 * failure.
 */
char *ef_bench_edge_conf(const char *forwarding, uint32_t max_flows);

#ifdef __cplusplus
}
#endif

#endif /* EF_BENCH_H */
