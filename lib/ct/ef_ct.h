/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_CT_H
#define EF_CT_H

/*
 * Per-worker connection tracking.
 *
 * One table per worker lcore, read and written only by that worker: no
 * locks, no atomics. Both directions of a flow index one flow entry: the
 * table's index (a bucketized cuckoo hash, see ct_index.c for why not
 * rte_hash) holds two keys per flow, the original-direction key (client ->
 * frontend, as the client's packet arrives) and the reply-direction key
 * (endpoint -> snat-or-client, as the endpoint's reply arrives). An index
 * slot holds a 16-bit signature and (flow index << 1 | direction), so one
 * lookup yields both; keys are confirmed against the tuple in the flow
 * entry, so the index stores no key copy. About 104 bytes per flow in all.
 *
 * Flow entries live in a preallocated array of max_flows entries with a
 * free-index stack; nothing is allocated after ef_ct_create().
 *
 * IPv6 (issue 12): a table created with family 6 holds IPv6 flows. Its
 * flows are the same struct ef_ct_flow (ports, state, timers, caller
 * fields), with the addresses in a side array by flow index (struct
 * ef_ct_addr6, 48 bytes: client, frontend, endpoint) and the SNAT address
 * in a small table-level list (a node has one per family): f->snat is 0
 * (no SNAT) or that list's index + 1; client, frontend and endpoint are 0.
 * Lookups and creation have IPv6 twins (..._6); update, delete, expiry,
 * walks, stats serve both families. The index is the same cuckoo index,
 * keys confirmed against the flow and its side-array entry.
 *
 * Time is the caller's millisecond clock as a uint32_t: every comparison
 * is (int32_t)(a - b), so the clock may wrap. A flow must be examined by
 * ef_ct_expire() at least once every 2^31 ms (24.8 days); the expiry sweep
 * visits every slot far more often than that.
 *
 * Table full: ef_ct_create_flow() early-drops the OLDEST flow that never
 * saw a reply (state NONE, SYN_SENT or UDP_NEW) if it was created more
 * than EF_CT_EARLY_DROP_MS ago. Flows that saw a reply are never evicted.
 * If nothing can be evicted the create fails with -ENOSPC. Candidates are
 * kept in a FIFO of flow indexes in creation order; a slot is queued at
 * most once (EF_CT_F_QUEUED), so the FIFO holds at most max_flows entries
 * and never overflows. Entries of flows deleted or replied since are
 * skipped when they reach the head. A slot freed and reused while still
 * queued keeps its old place, flagged EF_CT_F_REQUEUE: if it reaches the
 * head before it is EF_CT_EARLY_DROP_MS old it moves to the tail instead
 * of stopping the scan, so it neither blocks older victims nor is evicted
 * young. At most EF_CT_EARLY_DROP_SCAN entries are examined per create.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "ef_pkt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flows younger than this are never early-dropped. */
#define EF_CT_EARLY_DROP_MS 1000u
/* FIFO entries examined per early-drop attempt (bounds a create). */
#define EF_CT_EARLY_DROP_SCAN 16u
/* Most keys for ef_ct_lookup_bulk() (its per-call stack arrays). */
#define EF_CT_BULK_MAX 64u
/* Longest table name: the index memzone prefixes it ("ef_ct_"). */
#define EF_CT_NAME_MAX 20u
/* Largest max_flows: an index slot holds index << 1 | direction. */
#define EF_CT_MAX_FLOWS (1u << 30)
/* Longest timeout, seconds: timeouts in ms must compare as int32_t. */
#define EF_CT_TIMEOUT_MAX_S 1000000u
/* SNAT addresses an IPv6 table knows (CONFIG.md: one per family). */
#define EF_CT_SNAT6_MAX 4u

/* One direction of an IPv6 flow, network order; the index hashes and
 * compares the first 37 bytes (pad ignored). ICMPv6 echo: id in both.
 * 8-byte aligned: rte_hash_crc() reads keys by 64-bit words. */
struct ef_ct_key6 {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
	uint8_t pad[3];
} __attribute__((aligned(8)));

/* The addresses of an IPv6 flow (side array of a family-6 table). */
struct ef_ct_addr6 {
	uint8_t client[16];
	uint8_t frontend[16];
	uint8_t endpoint[16];
};

/*
 * One direction of a flow, as on the wire (network order). For ICMP echo
 * sport = dport = echo id. pad should be zero; the index ignores it (it
 * hashes and compares the 13 other bytes).
 */
struct ef_ct_key4 {
	uint32_t src;
	uint32_t dst;
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
	uint8_t pad[3];
};

#define EF_CT_FOREACH_STATE(X) \
	X(NONE, "none") \
	X(SYN_SENT, "syn_sent") \
	X(SYN_RECV, "syn_recv") \
	X(ESTABLISHED, "established") \
	X(FIN_WAIT, "fin_wait") \
	X(CLOSE_WAIT, "close_wait") \
	X(LAST_ACK, "last_ack") \
	X(TIME_WAIT, "time_wait") \
	X(CLOSE, "close") \
	X(UDP_NEW, "udp_new") \
	X(UDP_REPLIED, "udp_replied") \
	X(ICMP, "icmp")

enum ef_ct_state {
#define EF_CT_STATE_ENUM(name, text) EF_CT_##name,
	EF_CT_FOREACH_STATE(EF_CT_STATE_ENUM)
#undef EF_CT_STATE_ENUM
	EF_CT_STATE_MAX
};

/* ef_ct_update() verdicts */
enum ef_ct_verdict {
	EF_CT_VERDICT_OK = 0,		/* forward */
	EF_CT_VERDICT_INVALID,		/* drop, count ct_invalid */
	EF_CT_VERDICT_NEW_AFTER_CLOSE,	/* delete the flow, create anew */
};

/* ef_ct_flow.flags (owned by ct; the caller reads them only) */
#define EF_CT_F_IN_USE	0x01	/* slot holds a live flow */
#define EF_CT_F_QUEUED	0x02	/* slot has an entry in the early-drop FIFO */
#define EF_CT_F_FIN0	0x04	/* original direction sent FIN */
#define EF_CT_F_FIN1	0x08	/* reply direction sent FIN */
#define EF_CT_F_FINACK0	0x10	/* original direction's FIN was acked */
#define EF_CT_F_FINACK1	0x20	/* reply direction's FIN was acked */
#define EF_CT_F_REQUEUE	0x40	/* reused slot: its FIFO entry is too early */

/* ef_ct_flow.wscale nibble meaning "no window scale option seen" */
#define EF_CT_WSCALE_NONE 0xf

/*
 * A flow: one cache line. The original tuple is client:cport ->
 * frontend:fport; the endpoint sees snat:sport_snat (or client:cport when
 * snat == 0) -> endpoint:eport. Addresses and ports in network order.
 */
struct ef_ct_flow {
	uint32_t client;
	uint32_t frontend;
	uint16_t cport;
	uint16_t fport;
	uint32_t endpoint;
	uint16_t eport;
	uint16_t sport_snat;
	uint32_t snat;		/* 0: no SNAT */
	uint8_t proto;
	uint8_t state;		/* enum ef_ct_state */
	uint8_t flags;		/* EF_CT_F_* */
	uint8_t wscale;		/* TCP window scale: low nibble original
				 * direction, high nibble reply;
				 * EF_CT_WSCALE_NONE when not offered */
	uint32_t created_ms;
	uint32_t last_ms;	/* last packet accepted by ef_ct_update() */
	uint32_t svc_id;	/* caller's: frontend/service index */
	uint32_t gen;		/* caller's: config generation validated */
	uint32_t seq_end[2];	/* TCP: highest seq + len sent, per direction */
	uint32_t max_win[2];	/* TCP: largest (scaled) window advertised */
	uint8_t user[4];	/* caller's cache (e.g. next hop); zeroed */
};

struct ef_ct_params {
	const char *name;	/* unique per process, <= EF_CT_NAME_MAX */
	uint32_t max_flows;	/* this table's limit, 4 .. EF_CT_MAX_FLOWS */
	struct ef_cfg_conntrack timeouts; /* seconds; max_flows there unused */
	int socket_id;		/* NUMA socket of the worker, or SOCKET_ID_ANY */
	uint8_t family;		/* 0 or 4: IPv4 keys; 6: IPv6 keys */
	/* Called with the victim before an early drop deletes it (may be NULL) */
	void (*evict_cb)(void *arg, struct ef_ct_flow *f);
	void *evict_arg;
};

/*
 * Per-table counters, plain (only the owning worker writes them); the
 * caller copies them out for telemetry. deleted counts every removal
 * (ef_ct_delete, expiry, walk, early drop).
 */
struct ef_ct_stats {
	uint64_t created;
	uint64_t deleted;
	uint64_t expired;
	uint64_t early_drops;
	uint64_t full;		/* creates refused: nothing evictable */
	uint64_t invalid;	/* EF_CT_VERDICT_INVALID returned */
	uint32_t active;
	uint32_t by_state[EF_CT_STATE_MAX];
};

struct ef_ct;

/* Expiry/eviction callback: the flow is still intact when it is called. */
typedef void (*ef_ct_expire_fn)(void *arg, struct ef_ct_flow *f);
/* Walk callback: return 1 to delete the flow, 0 to keep it. */
typedef int (*ef_ct_walk_fn)(void *arg, struct ef_ct_flow *f);

/* Name of a state ("established", ...), "?" when out of range. Any thread. */
const char *ef_ct_state_name(unsigned int state);

/*
 * Key of a parsed IPv4 packet as it travels (src -> dst). Returns 0, or
 * -EINVAL when the packet is not IPv4 with an L4 tuple. Any thread.
 */
static inline int
ef_ct_key4_from_meta(const struct ef_pkt_meta *m, struct ef_ct_key4 *k)
{
	if (m->ip_version != 4 || !(m->flags & EF_PKT_F_L4))
		return -EINVAL;
	k->src = m->src.v4;
	k->dst = m->dst.v4;
	k->sport = m->sport;
	k->dport = m->dport;
	k->proto = m->proto;
	memset(k->pad, 0, sizeof(k->pad));
	return 0;
}

/* ef_ct_key4_from_meta for IPv6. */
static inline int
ef_ct_key6_from_meta(const struct ef_pkt_meta *m, struct ef_ct_key6 *k)
{
	if (m->ip_version != 6 || !(m->flags & EF_PKT_F_L4))
		return -EINVAL;
	memcpy(k->src, m->src.v6, 16);
	memcpy(k->dst, m->dst.v6, 16);
	k->sport = m->sport;
	k->dport = m->dport;
	k->proto = m->proto;
	memset(k->pad, 0, sizeof(k->pad));
	return 0;
}

/*
 * The key a packet of flow f carries in direction dir (0: client ->
 * frontend, 1: endpoint -> snat-or-client). Any thread.
 */
void ef_ct_flow_key4(const struct ef_ct_flow *f, uint8_t dir,
		     struct ef_ct_key4 *k);

/*
 * Create a table. Returns NULL and sets rte_errno: EINVAL (bad params),
 * ENAMETOOLONG, ENOMEM, EEXIST (name in use). Control thread, before the
 * worker uses it.
 */
struct ef_ct *ef_ct_create(const struct ef_ct_params *p);

/* Free a table (NULL is fine). Control thread, after the worker stopped. */
void ef_ct_free(struct ef_ct *ct);

/*
 * Look up n (<= EF_CT_BULK_MAX) keys: flows[i] is the flow or NULL, dir[i]
 * its direction (0 original, 1 reply). Hashes the whole burst, then
 * prefetches buckets and candidate flows so that their cache misses
 * overlap. Owning worker only.
 */
void ef_ct_lookup_bulk(struct ef_ct *ct, const struct ef_ct_key4 *keys[],
		       uint32_t n, struct ef_ct_flow *flows[], uint8_t dir[]);

/* Look up one key. Returns the flow (and *dir) or NULL. Owning worker. */
struct ef_ct_flow *ef_ct_lookup(struct ef_ct *ct, const struct ef_ct_key4 *k,
				uint8_t *dir);

/* true when a live flow holds key k (SNAT port probing). Owning worker. */
bool ef_ct_key_in_use(const struct ef_ct *ct, const struct ef_ct_key4 *k);

/*
 * Hints for a burst's new flows (no effect but on the cache): start
 * loading both index buckets of key k (what ef_ct_key_in_use() and
 * ef_ct_create_flow() will read for it), or the entries of the next n
 * flows ef_ct_create_flow() will hand out. Owning worker.
 */
void ef_ct_prefetch_key(const struct ef_ct *ct, const struct ef_ct_key4 *k);
void ef_ct_prefetch_free(const struct ef_ct *ct, uint32_t n);

/*
 * Create a flow with both keys, state NONE: the caller then calls
 * ef_ct_update() with the first packet (direction 0), which sets the state.
 * The flow's tuple fields are derived from the keys: the reply key's
 * destination differing from the client's address or port means SNAT.
 * When the table is full, early-drops as described at the top.
 * Returns the flow, or NULL with *err = -ENOSPC (full, nothing evictable:
 * the caller counts ct_full), -EEXIST (a key is already in the table) or
 * -EINVAL (both keys equal). Owning worker.
 */
struct ef_ct_flow *ef_ct_create_flow(struct ef_ct *ct,
				     const struct ef_ct_key4 *orig,
				     const struct ef_ct_key4 *reply,
				     uint32_t now_ms, int *err);

/*
 * Run the state machine for a packet of f travelling in direction dir.
 * frame/m: the parsed packet (TCP header read at m->l4_off).
 *
 * TCP: the first packet (state NONE) must be a SYN from the client, else
 * INVALID (a load balancer does not pick up mid-stream flows: the caller
 * creates flows only for SYNs and deletes a flow whose first update fails).
 * Every later segment is checked against a light version of Linux's
 * tcp_in_window(): from direction d, with end = seq + payload (+SYN +FIN),
 *   seq <= seq_end[d] + max_win[!d]    (not beyond what the peer allows)
 *   end >= seq_end[d] - max_win[!d]    (retransmissions within a window)
 *   ack <= seq_end[!d] and ack >= seq_end[!d] - max(max_win[d], 66000)
 * This is liberal enough for retransmission and reordering. A segment
 * outside it is INVALID and changes nothing (Linux with
 * nf_conntrack_tcp_be_liberal=0 marks it INVALID; we drop and count); an
 * RST must pass it to close the flow. Window scale options of SYN and
 * SYN-ACK are parsed; scaling applies only when both sides offered it.
 * States: SYN_SENT (client SYN), SYN_RECV (endpoint SYN-ACK acking it),
 * ESTABLISHED (client ACK), FIN_WAIT (one FIN), CLOSE_WAIT (that FIN
 * acked), LAST_ACK (both FINs), TIME_WAIT (both FINs acked), CLOSE (RST).
 * A SYN from the client on a TIME_WAIT or CLOSE flow returns
 * NEW_AFTER_CLOSE: the caller deletes the flow and creates a new one.
 * UDP (and any other protocol): UDP_NEW, UDP_REPLIED after a reply.
 * ICMP: ICMP.
 * Returns an enum ef_ct_verdict; last_ms is updated on OK. Owning worker.
 */
int ef_ct_update(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t dir,
		 const uint8_t *frame, const struct ef_pkt_meta *m,
		 uint32_t now_ms);

/* Delete a flow: both keys go, the slot is free. Owning worker. */
void ef_ct_delete(struct ef_ct *ct, struct ef_ct_flow *f);

/* Idle timeout of f in its current state, ms. Owning worker. */
uint32_t ef_ct_timeout_ms(const struct ef_ct *ct, const struct ef_ct_flow *f);

/*
 * Incremental expiry: examines at most budget slots from an internal
 * cursor (wrapping), deletes flows idle for >= their timeout, calling
 * cb(arg, flow) (if not NULL) before each delete. Returns the number
 * deleted. Bounded work. Owning worker.
 */
uint32_t ef_ct_expire(struct ef_ct *ct, uint32_t now_ms, uint32_t budget,
		      ef_ct_expire_fn cb, void *arg);

/*
 * Visit live flows in slots [*cursor, *cursor + budget) (stopping at the
 * table end), deleting those for which cb returns 1. *cursor becomes the
 * next slot, or 0 after the last one (a sweep is done when it returns to
 * 0). Returns the number of live flows visited. Owning worker.
 */
uint32_t ef_ct_walk(struct ef_ct *ct, uint32_t *cursor, uint32_t budget,
		    ef_ct_walk_fn cb, void *arg);

/*
 * IPv6 twins (a family-6 table only; calling them on an IPv4 table, or the
 * IPv4 functions on an IPv6 table, is a caller error). Same semantics as
 * the IPv4 functions; ef_ct_create_flow6 also returns -ENOSPC when the
 * reply key names a fifth SNAT address (EF_CT_SNAT6_MAX). Owning worker.
 */
void ef_ct_lookup6_bulk(struct ef_ct *ct, const struct ef_ct_key6 *keys[],
			uint32_t n, struct ef_ct_flow *flows[], uint8_t dir[]);
struct ef_ct_flow *ef_ct_lookup6(struct ef_ct *ct, const struct ef_ct_key6 *k,
				 uint8_t *dir);
bool ef_ct_key6_in_use(const struct ef_ct *ct, const struct ef_ct_key6 *k);
struct ef_ct_flow *ef_ct_create_flow6(struct ef_ct *ct,
				      const struct ef_ct_key6 *orig,
				      const struct ef_ct_key6 *reply,
				      uint32_t now_ms, int *err);
void ef_ct_flow_key6(const struct ef_ct *ct, const struct ef_ct_flow *f,
		     uint8_t dir, struct ef_ct_key6 *k);
/* The addresses of IPv6 flow f (NULL for an IPv4 table), and its SNAT
 * address (NULL when the flow is not SNAT'd). Any thread that may read
 * the flow. */
const struct ef_ct_addr6 *ef_ct_flow_addr6(const struct ef_ct *ct,
					   const struct ef_ct_flow *f);
const uint8_t *ef_ct_flow_snat6(const struct ef_ct *ct,
				const struct ef_ct_flow *f);

/* Counters of the table. Owning worker (or a reader tolerating tears). */
const struct ef_ct_stats *ef_ct_stats(const struct ef_ct *ct);

/* Slot index of a flow (stable while it lives), and back. Owning worker. */
uint32_t ef_ct_flow_index(const struct ef_ct *ct, const struct ef_ct_flow *f);

/* The live flow in slot idx, or NULL when free/out of range. Owning worker. */
struct ef_ct_flow *ef_ct_flow_at(struct ef_ct *ct, uint32_t idx);

/* max_flows of the table. Any thread. */
uint32_t ef_ct_capacity(const struct ef_ct *ct);

/*
 * Bytes allocated for the table (sizes requested from the DPDK heap):
 * index buckets + flow array + free stack + FIFO + the table struct.
 * Any thread.
 */
size_t ef_ct_memory(const struct ef_ct *ct);

/* Bytes of the index alone (buckets and stash). Any thread. */
size_t ef_ct_hash_memory(const struct ef_ct *ct);

#ifdef __cplusplus
}
#endif

#endif /* EF_CT_H */
