/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_FWD_H
#define EF_FWD_H

/*
 * The worker: the per-burst pipeline (parse, ownership/handoff, conntrack,
 * service lookup and endpoint choice, NAT, routing, L2, TX), the answers it
 * gives itself (ARP, ICMP echo, TCP RST, ICMP errors) and the rings that
 * join it to the other workers and to the control lcore (exception path,
 * injected frames, commands).
 *
 * Threading: one struct ef_fwd_worker per worker lcore, touched only by
 * that lcore except where a function says otherwise; struct ef_fwd_shared
 * is written by the control lcore before workers start, then read-only
 * except for the generation pointer (release/acquire) and the stop flag.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "ef_ct.h"
#include "ef_nat.h"
#include "ef_neigh.h"
#include "ef_pkt.h"
#include "ef_svc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EF_FWD_MAX_PORTS 8u
#define EF_FWD_MAX_WORKERS 32u
#define EF_FWD_BURST_MAX 64
#define EF_FWD_RING_SIZE 1024

/*
 * Packets to a next hop whose MAC is not known yet wait, as Linux holds up
 * to unres_qlen packets per neighbour while it resolves, instead of being
 * dropped (a client's first SYN-ACK would otherwise cost it a 1 s SYN
 * retransmission): EF_FWD_HOLD_PKTS per next hop, EF_FWD_HOLD_HOPS next
 * hops per worker, for at most EF_FWD_HOLD_MS (the resolver's
 * EF_NEIGH_TRIES requests EF_NEIGH_RETRY_MS apart). Beyond either bound:
 * dropped, counted neigh_hold_full; still unresolved after the wait:
 * dropped, counted no_neighbor.
 */
#define EF_FWD_HOLD_HOPS 16u
#define EF_FWD_HOLD_PKTS 8u
#define EF_FWD_HOLD_MS 3000u

/*
 * Every reason a packet is dropped. One list generates the enum, the
 * counters and the names telemetry prints (the first eleven are the
 * contract's; the rest are ours).
 */
#define EF_FWD_FOREACH_DROP(X) \
	X(PARSE_ERROR, "parse_error") \
	X(NO_SERVICE, "no_service") \
	X(NO_ENDPOINT, "no_endpoint") \
	X(NO_LOCAL_ENDPOINT, "no_local_endpoint") \
	X(CT_FULL, "ct_full") \
	X(SNAT_EXHAUSTED, "snat_exhausted") \
	X(NO_ROUTE, "no_route") \
	X(NO_NEIGHBOR, "no_neighbor") \
	X(TTL_EXCEEDED, "ttl_exceeded") \
	X(BAD_CHECKSUM, "bad_checksum") \
	X(TX_FULL, "tx_full") \
	X(NO_FLOW, "no_flow") \
	X(CT_INVALID, "ct_invalid") \
	X(ENDPOINT_REMOVED, "endpoint_removed") \
	X(FRAGMENT, "fragment") \
	X(MTU_EXCEEDED, "mtu_exceeded") \
	X(UNSUPPORTED, "unsupported") \
	X(NOT_FOR_US, "not_for_us") \
	X(BAD_SOURCE, "bad_source") \
	X(ICMP_UNTRACKED, "icmp_untracked") \
	X(ICMP_RATELIMIT, "icmp_ratelimit") \
	X(MULTI_SEGMENT, "multi_segment") \
	X(HANDOFF_FULL, "handoff_full") \
	X(EXCEPTION_FULL, "exception_full") \
	X(NO_MBUF, "no_mbuf") \
	X(NEIGH_HOLD_FULL, "neigh_hold_full") \
	X(MULTICAST, "multicast") \
	X(IP_SOURCE_ROUTE, "ip_source_route") \
	X(ENCAP_TOO_BIG, "encap_too_big") \
	X(ENCAP_FAILED, "encap_failed") \
	X(DECAP_DENIED, "decap_denied") \
	X(DECAP_FRAGMENT, "decap_fragment") \
	X(DECAP_TRUNCATED, "decap_truncated") \
	X(DECAP_BAD_CHECKSUM, "decap_bad_checksum") \
	X(DECAP_GUE_VERSION, "decap_gue_version") \
	X(DECAP_GUE_CONTROL, "decap_gue_control") \
	X(DECAP_GUE_OPTIONS, "decap_gue_options") \
	X(DECAP_INNER_NOT_IPV4, "decap_inner_not_ipv4") \
	X(DECAP_INNER_LENGTH, "decap_inner_length") \
	X(SVC_QUOTA, "svc_quota") \
	X(SYN_PROXY_WAIT, "syn_proxy_wait")

enum ef_fwd_drop {
#define EF_FWD_DROP_ENUM(e, s) EF_FWD_DROP_##e,
	EF_FWD_FOREACH_DROP(EF_FWD_DROP_ENUM)
#undef EF_FWD_DROP_ENUM
	EF_FWD_DROP_MAX,
};

/* Name of a drop reason as telemetry prints it. */
const char *ef_fwd_drop_name(unsigned int reason);

/*
 * Histogram of the worker's busy poll iterations (lib/metrics exports it
 * as edgefwd_worker_burst_duration_seconds): bucket b counts iterations
 * of fewer than 2^(EF_FWD_BURST_HIST_MIN_BIT + b) TSC cycles, the last
 * one the rest. The worker loop already takes one rdtsc pair per
 * iteration; the bucket is one bit scan and a plain +=.
 */
#define EF_FWD_BURST_HIST_MIN_BIT 10u
#define EF_FWD_BURST_HIST_BUCKETS 17u

static inline uint32_t
ef_fwd_burst_bucket(uint64_t cycles)
{
	uint32_t bits = 64u - (uint32_t)__builtin_clzll(cycles | 1u);

	if (bits <= EF_FWD_BURST_HIST_MIN_BIT)
		return 0;
	bits -= EF_FWD_BURST_HIST_MIN_BIT;
	return bits < EF_FWD_BURST_HIST_BUCKETS - 1 ? bits :
		EF_FWD_BURST_HIST_BUCKETS - 1;
}

/* Per-worker counters: plain increments by the owner, summed by readers. */
struct ef_fwd_counters {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t flows_created;
	uint64_t flows_closed;
	uint64_t snat_flows;		/* live flows holding a SNAT port */
	uint64_t flows_swept;		/* closed by a post-reload sweep */
	uint64_t handoff_packets;	/* sent to the owning worker */
	uint64_t exception_packets;	/* to the kernel */
	uint64_t injected_packets;	/* from the kernel / control */
	uint64_t arp_replies;
	uint64_t icmp_echo_replies;
	uint64_t rst_sent;
	uint64_t icmp_errors_sent;
	uint64_t icmp_errors_translated;
	uint64_t affinity_hits;
	uint64_t ip_options_cleared;	/* service packets whose IPv4 options
					 * were overwritten with NOPs */
	uint64_t neigh_held;		/* packets that waited for ARP */
	uint64_t neigh_released;	/* ... and were sent once resolved */
	uint64_t proxy_headers_sent;	/* PROXY protocol headers, first send */
	uint64_t proxy_header_retransmits; /* ... resent (timeout, dup ACK) */
	uint64_t encap_packets;		/* sent to a node in a tunnel (edge,
					 * cluster_forwarding = "encap") */
	uint64_t decap_packets;		/* taken out of a tunnel (decap) */
	uint64_t mss_clamped;		/* SYNs whose MSS was lowered */
	uint64_t edge_flows_full;	/* edge flows steered stateless */
	uint64_t syn_cookies_sent;	/* SYN-ACKs with a cookie (fwd_syn.h) */
	uint64_t syn_cookies_ok;	/* ACKs that validated: flows opened */
	uint64_t syn_cookies_bad;	/* ACKs that did not (dropped no_flow) */
	uint64_t syn_proxy_held;	/* client segments held for the
					 * endpoint's SYN-ACK (fwd_syn.h) */
	uint64_t snat_rss_fallback;	/* SNAT picks whose reply RSS puts
					 * on another worker's queue, with
					 * an RSS model (docs/RSS.md) */
	uint64_t rx6_packets;		/* IPv6 frames taken by fwd6.c */
	uint64_t flows6_created;	/* IPv6 flows (also in flows_created) */
	uint64_t nd_advertisements;	/* NAs answering NSs for our
					 * addresses */
	uint64_t busy_cycles;
	uint64_t total_cycles;
	uint64_t drops[EF_FWD_DROP_MAX];
	uint64_t burst_hist[EF_FWD_BURST_HIST_BUCKETS];	/* busy iterations */
	uint64_t snat_by_addr[EF_NAT_MAX_ADDRS]; /* live SNAT flows per
						  * nat_map address */
} __rte_cache_aligned;

struct ef_fwd_port {
	uint16_t port_id;	/* DPDK port */
	uint16_t n_rxq;		/* RX queues actually configured */
	uint32_t addr;		/* interface address, network order */
	uint8_t prefix_len;
	uint8_t mac[6];
	uint16_t mtu;		/* IP MTU of the port */
	uint8_t has_addr6;	/* 1: addr6/prefix_len6 are set */
	uint8_t prefix_len6;
	uint8_t addr6[16];	/* interface IPv6 address (issue 12) */
};

/*
 * Commands from the control lcore or the telemetry thread to a worker (on
 * its command ring). A worker runs one at a time, resumably: each poll
 * visits at most EF_FWD_CMD_BUDGET flow slots of it, so no command stalls
 * RX (1 M flows: a flush takes ~4 000 polls, a sample stops when full).
 */
#define EF_FWD_CMD_BUDGET 256u

/* Microseconds a post-reload sweep runs per poll at most: flows whose
 * service lost no endpoint cost an array load (ef_svc_endpoint_kept()),
 * the others a hash lookup; a time, not a slot count, bounds both. */
#define EF_FWD_SWEEP_SLICE_US 15u

enum ef_fwd_cmd_type {
	EF_FWD_CMD_FLOW_SAMPLE,		/* copy up to max flows into out */
	EF_FWD_CMD_FLUSH_FLOWS,		/* delete every flow */
};

struct ef_fwd_flow_info {
	struct ef_ct_flow flow;
	uint32_t now_ms;
	uint8_t family;			/* EF_AF_INET4 or EF_AF_INET6 */
	struct ef_ct_addr6 a6;		/* IPv6 flows: their addresses */
	uint8_t snat6[16];		/* ... and SNAT address (f.snat != 0) */
};

struct ef_fwd_cmd {
	enum ef_fwd_cmd_type type;
	uint32_t max;			/* FLOW_SAMPLE: capacity of out */
	struct ef_fwd_flow_info *out;	/* FLOW_SAMPLE */
	uint32_t n_out;			/* written by the worker */
	uint32_t by_state[EF_CT_STATE_MAX]; /* FLOW_SAMPLE: whole table, from
					     * the table's counters */
	int done;			/* set (release) by the worker */
};

struct ef_fwd_worker;
struct ef_fwd_proxy;

/* A client segment of a SYN proxy flow held until the endpoint's SYN-ACK
 * (fwd_syn.h); m == NULL: free. */
#define EF_FWD_SYN_HOLD 32u
struct ef_fwd_syn_held {
	struct rte_mbuf *m;
	uint32_t slot;			/* flow slot, in ct6 when v6 */
	uint32_t client;		/* the flow's client, network order (an
					 * IPv6 one: its CRC32-C) */
	uint16_t cport;
	uint8_t v6;
	uint32_t since_ms;
};

/* Packets waiting for one unresolved next hop (n == 0: slot free). */
struct ef_fwd_hold {
	uint32_t gw;			/* next hop, network order */
	uint16_t iface;
	uint16_t n;
	uint8_t v6;			/* 1: the next hop is gw6 */
	uint8_t gw6[16];
	uint32_t since_ms;		/* first packet held */
	struct rte_mbuf *m[EF_FWD_HOLD_PKTS];
};

/* Next-hop MACs of the current burst (fwd_priv.h neigh_mac()): a few per
 * interface, so that an edge's nodes on one link (or a node's gateway and
 * its pods) all hit; replaced round-robin when full. */
#define EF_FWD_NH_MEMO 8
struct ef_fwd_nh_memo {
	uint32_t valid;			/* entries in use, from 0 */
	uint32_t next;			/* entry replaced when full */
	uint32_t gw[EF_FWD_NH_MEMO];
	uint16_t iface[EF_FWD_NH_MEMO];
	uint8_t mac[EF_FWD_NH_MEMO][6];
};

/* The same for IPv6 next hops (fwd6.c), reset with nh_memo. */
#define EF_FWD_NH6_MEMO 4
struct ef_fwd_nh6_memo {
	uint32_t valid;
	uint32_t next;
	uint8_t gw[EF_FWD_NH6_MEMO][16];
	uint16_t iface[EF_FWD_NH6_MEMO];
	uint8_t mac[EF_FWD_NH6_MEMO][6];
};

struct ef_fwd_shared {
	struct ef_svc_gen *gen;		/* current generation: acquire */
	struct rte_rcu_qsbr *qsbr;
	struct ef_neigh *neigh;
	const struct ef_nat_map *nat_map;
	struct rte_mempool *pool;
	uint16_t n_ports;
	struct ef_fwd_port ports[EF_FWD_MAX_PORTS];
	int16_t port_to_if[RTE_MAX_ETHPORTS];	/* DPDK port id -> index */
	uint32_t n_workers;
	struct ef_fwd_worker *workers[EF_FWD_MAX_WORKERS];
	uint32_t idle_sleep_us;		/* 0: busy poll */
	uint32_t icmp_rate;		/* ICMP errors per second per worker */
	int stop;			/* atomic */
};

/*
 * A worker's counters of one service, together in 32 bytes (two per cache
 * line, never straddling one): with many services a packet's service is a
 * cache miss, and one line instead of one per counter makes it one miss
 * (issue 17: 100 000 services). Written by the worker only; readers load
 * each field with __atomic_load_n.
 */
struct ef_fwd_svc_ctr {
	uint64_t packets;
	uint64_t bytes;
	int64_t flows;		/* open flows (the max_flows quota) */
	uint64_t pad;
} __rte_aligned(32);

struct ef_fwd_worker {
	uint32_t idx;
	unsigned int lcore_id;
	struct ef_fwd_shared *sh;
	struct ef_ct *ct;
	struct ef_ct *ct6;		/* IPv6 flows; NULL without IPv6 */
	uint32_t snat6_cursor;		/* next SNAT66 port offset */
	struct ef_nat_worker nat;
	struct rte_hash *affinity;
	struct ef_fwd_affinity *aff;	/* by affinity hash position */
	uint32_t aff_cursor;
	struct rte_ring *handoff_in[EF_FWD_MAX_WORKERS];   /* from w: SP/SC */
	struct rte_ring *to_ctrl;	/* exception path: SP/SC */
	struct rte_ring *from_ctrl;	/* frames to send: SP/SC */
	struct rte_ring *cmd;		/* struct ef_fwd_cmd *: MP/SC */
	struct ef_fwd_svc_ctr *svc;	/* by stable service id */
	uint32_t n_svc_ids;
	uint64_t tsc_per_ms;
	uint64_t icmp_tokens;
	uint32_t icmp_last_ms;
	uint32_t now_ms;
	struct ef_edge_flows *edge_flows; /* client tuple -> node (edge) */
	struct ef_edge_flows *edge_flows6; /* the same for IPv6, or NULL */
	struct ef_edge_node_ctr *edge_ctr; /* per (service, node), both */
	uint16_t edge_ip_id;		/* outer IPv4 ID of non-DF tunnels */
	struct ef_fwd_cmd *cmd_cur;	/* command in progress, or NULL */
	uint32_t cmd_cursor;		/* its next flow slot */
	uint32_t cmd_table;		/* 0: in ct, 1: in ct6 */
	/* PROXY protocol (fwd_proxy.h): by flow slot, ct capacity each */
	struct ef_fwd_proxy *proxy;
	struct ef_fwd_proxy *proxy6;	/* the same for ct6 (NULL without) */
	uint32_t *proxy_pend;		/* slots whose header may need a resend
					 * (EF_FWD_PROXY_PEND6: of ct6) */
	uint32_t n_proxy_pend;
	uint32_t proxy_cursor;
	uint32_t proxy_cap;
	uint32_t proxy_ack_raw;		/* endpoint's ACK before the unshift */
	/* SYN cookies (fwd_syn.h) */
	uint64_t syn_key[2];		/* SipHash key, random per worker */
	uint32_t syn_last_ms;		/* last cookie sent */
	bool syn_any;			/* a cookie was ever sent */
	uint32_t n_syn_held;		/* entries of syn_held in use */
	struct ef_fwd_syn_held syn_held[EF_FWD_SYN_HOLD];
	/* written by the control lcore, read by every poll: a line of its
	 * own, apart from what the bursts write */
	uint64_t sweep_request __rte_cache_aligned; /* atomic: generation to
						      * sweep for */
	uint64_t sweep_done __rte_cache_aligned; /* generation last swept */
	uint32_t sweep_cursor;
	uint32_t sweep_table;		/* 0: in ct, 1: in ct6 */
	uint64_t sweep_slice_tsc;	/* TSC a sweep runs per poll at most
					 * (EF_FWD_SWEEP_SLICE_US; tests set
					 * it lower) */
	struct ef_svc_gen *gen;		/* generation of this burst */
	/* output of ef_fwd_process(): frames per port, sent by ef_fwd_tx() */
	uint16_t n_out[EF_FWD_MAX_PORTS];
	struct rte_mbuf *out[EF_FWD_MAX_PORTS][EF_FWD_BURST_MAX * 2];
	struct ef_fwd_nh_memo nh_memo;
	struct ef_fwd_nh6_memo nh6_memo;
	uint32_t n_hold;		/* slots of hold[] in use */
	struct ef_fwd_hold hold[EF_FWD_HOLD_HOPS];
	uint8_t scratch[1600];
	struct ef_fwd_counters c;
} __rte_cache_aligned;

/* Buffer size (headroom included) of the mbufs of the pool for cfg: one
 * segment holds a frame of the largest interface mtu (the fast path takes
 * single-segment mbufs only). */
uint32_t ef_fwd_mbuf_buf_size(const struct ef_cfg *cfg);

/* Create worker idx's state (tables sized from the generation's config:
 * conntrack.max_flows / n_workers). Control lcore, before workers run.
 * NULL + rte_errno on failure. */
struct ef_fwd_worker *ef_fwd_worker_create(struct ef_fwd_shared *sh,
					   uint32_t idx, unsigned int lcore_id,
					   uint32_t n_svc_ids, int socket_id);

/*
 * Counters of (service, node) counter slot (ef_edge_node.slot) summed over
 * the workers: packets sent to the node for the service, and its active
 * edge flow entries (never negative). Zeros for EF_EDGE_NO_SLOT. Control
 * lcore (relaxed loads; the workers keep counting).
 */
void ef_fwd_edge_node_counts(const struct ef_fwd_shared *sh, uint32_t slot,
			     uint64_t *packets, uint64_t *flows);

/* Create the rings between workers once all workers exist. 0 / -errno. */
int ef_fwd_connect(struct ef_fwd_shared *sh);

void ef_fwd_worker_free(struct ef_fwd_worker *w);

/*
 * Run the pipeline on n received frames (n <= EF_FWD_BURST_MAX). Frames
 * are consumed: forwarded ones land in w->out[port][] (sent by
 * ef_fwd_tx()), others are handed off, passed to the control lcore or
 * dropped (counted). 'handoff' is true for frames that came from another
 * worker's handoff ring (they are ours; never handed off again).
 * Time is w->now_ms, set by ef_fwd_begin(). Worker lcore.
 */
void ef_fwd_process(struct ef_fwd_worker *w, struct rte_mbuf **pkts,
		    uint16_t n, bool handoff);

/* Send what ef_fwd_process() queued (TX queue = worker index); frees and
 * counts what the NIC did not take. Worker lcore. */
void ef_fwd_tx(struct ef_fwd_worker *w);

/*
 * Send the held frames (EF_FWD_HOLD_*) whose next hop is now resolved into
 * w->out[], drop (no_neighbor) those that waited EF_FWD_HOLD_MS. Called by
 * ef_fwd_poll() while anything is held; tests call it directly. Worker
 * lcore.
 */
void ef_fwd_hold_release(struct ef_fwd_worker *w);

/* One iteration of the worker loop: RX on every port, handoff rings,
 * injected frames, commands, expiry slice. Returns packets handled. */
uint32_t ef_fwd_poll(struct ef_fwd_worker *w);

/*
 * After a reload: ask every worker to sweep its flow table in bounded
 * slices and close the flows whose endpoint the current generation no
 * longer has (UDP included, so no idle entry keeps a black hole alive).
 * Fire and forget. Control lcore.
 */
void ef_fwd_request_sweep(struct ef_fwd_shared *sh, uint64_t generation);

/* Slow work of one poll, bounded: a pending command, an expiry slice of
 * 'budget' flow slots, an affinity sweep slice. Worker lcore. */
void ef_fwd_housekeep(struct ef_fwd_worker *w, uint32_t budget);

/* Start the generation/clock of a burst (called by ef_fwd_poll; tests and
 * the benchmark call it before ef_fwd_process). Worker lcore. */
void ef_fwd_begin(struct ef_fwd_worker *w);

/* Worker lcore main: loops ef_fwd_poll until sh->stop. arg = worker. */
int ef_fwd_worker_main(void *arg);

/* Sum of every worker's counters (readers: control, telemetry). */
void ef_fwd_counters_sum(const struct ef_fwd_shared *sh,
			 struct ef_fwd_counters *out);

/* Post a command to worker w and wait (up to timeout_ms) for it.
 * Control lcore or telemetry thread. 0 or -ETIMEDOUT / -ENOBUFS. */
int ef_fwd_command(struct ef_fwd_shared *sh, uint32_t w,
		   struct ef_fwd_cmd *cmd, uint32_t timeout_ms);

/* Owner worker of an IPv4 flow key as it arrives (see ARCHITECTURE.md,
 * "Flow ownership"). Any thread. */
uint32_t ef_fwd_owner(const struct ef_fwd_shared *sh,
		      const struct ef_svc_gen *g, const struct ef_ct_key4 *k);
/* The worker that owns an IPv6 tuple (fwd6.c), as ef_fwd_owner(). */
uint32_t ef_fwd_owner6(const struct ef_fwd_shared *sh,
		       const struct ef_svc_gen *g, const struct ef_ct_key6 *k);

#ifdef __cplusplus
}
#endif

#endif /* EF_FWD_H */
