/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_FWD_PRIV_H
#define EF_FWD_PRIV_H

/*
 * What the worker's files share (fwd.c: the burst pipeline; fwd_reply.c:
 * the answers a worker gives itself; fwd_affinity.c: ClientIP affinity;
 * fwd_nexthop.c: frames waiting for ARP; fwd_worker.c: worker lifecycle,
 * the poll loop, commands and sweeps). Everything here runs on the
 * worker lcore that owns w unless it says otherwise.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "ef_edge.h"
#include "ef_fwd.h"
#include "ef_log.h"

EF_LOG_DECLARE(fwd);
#define EF_FWD_LOG(level, ...) EF_LOG(fwd, level, __VA_ARGS__)

#define AFF_SWEEP 16		/* affinity entries checked per poll */
#define EXPIRE_BUDGET 64	/* flow slots examined per poll */
#define IDLE_POLLS 256		/* empty polls before an idle sleep */
#define ICMP_BURST 100		/* token bucket depth for generated ICMP */

static inline void
drop(struct ef_fwd_worker *w, struct rte_mbuf *m, enum ef_fwd_drop r)
{
	w->c.drops[r]++;
	rte_pktmbuf_free(m);
}

static inline void
out_queue(struct ef_fwd_worker *w, uint16_t iface, struct rte_mbuf *m)
{
	if (unlikely(w->n_out[iface] >= RTE_DIM(w->out[iface]))) {
		drop(w, m, EF_FWD_DROP_TX_FULL);
		return;
	}
	w->out[iface][w->n_out[iface]++] = m;
}

static inline uint16_t
rx_iface(const struct ef_fwd_worker *w, const struct rte_mbuf *m)
{
	int16_t i = w->sh->port_to_if[m->port];

	return i < 0 ? 0 : (uint16_t)i;
}

static inline void
to_control(struct ef_fwd_worker *w, struct rte_mbuf *m)
{
	if (unlikely(rte_ring_sp_enqueue(w->to_ctrl, m) != 0)) {
		drop(w, m, EF_FWD_DROP_EXCEPTION_FULL);
		return;
	}
	w->c.exception_packets++;
}

/*
 * Next-hop MACs remembered for the rest of the burst (EF_FWD_NH_MEMO of
 * them, any interfaces): otherwise every packet pays an rte_hash probe of
 * the neighbour table for the same few next hops (a gateway, an edge's
 * nodes). ef_fwd_process() forgets them when it starts and ends, so a
 * neighbour change is seen from the next burst on, as by a lookup that
 * raced it.
 */
static inline struct ef_fwd_nh_memo *
memo_of(struct ef_fwd_worker *w)
{
	return &w->nh_memo;
}

static inline int
neigh_mac(struct ef_fwd_worker *w, uint16_t iface, uint32_t gw,
	  uint8_t mac[6])
{
	struct ef_fwd_nh_memo *c = memo_of(w);
	uint32_t i;

	for (i = 0; i < c->valid; i++)
		if (c->gw[i] == gw && c->iface[i] == iface) {
			memcpy(mac, c->mac[i], 6);
			return 0;
		}
	if (ef_neigh_lookup4(w->sh->neigh, iface, gw, mac) != 0)
		return -ENOENT;
	if (c->valid < EF_FWD_NH_MEMO) {
		i = c->valid++;
	} else {
		i = c->next;
		c->next = (c->next + 1) % EF_FWD_NH_MEMO;
	}
	c->gw[i] = gw;
	c->iface[i] = iface;
	memcpy(c->mac[i], mac, 6);
	return 0;
}

/*
 * The hash ef_svc_pick() takes for a new flow: murmur3's 32-bit finalizer
 * over the flow key's CRC. An edge in front of this node (lib/edge,
 * ef_edge_flow_hash) takes the CRC of the same 16 key bytes with another
 * seed, and the CRCs of one input under two seeds differ by a constant:
 * unmixed, the pick among this node's pods was a function of the very
 * bits that had chosen the node, and their shares were skewed by points
 * (dts test_edge, edgefwd nodes behind an edgefwd edge: 23.4 / 27.2 /
 * 24.5 % for three equal pods). The finalizer is a bijection with full
 * avalanche, so the two choices are independent.
 */
static inline uint32_t
ef_fwd_pick_hash(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* 16 bytes equal: two 8-byte compares, no libc call (GCC calls
 * memcmp() for these) */
static inline bool
ef_ip6_eq(const uint8_t a[16], const uint8_t b[16])
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* neigh_mac() for an IPv6 next hop (fwd6.c). */
static inline int
neigh_mac6(struct ef_fwd_worker *w, uint16_t iface, const uint8_t gw[16],
	   uint8_t mac[6])
{
	struct ef_fwd_nh6_memo *c = &w->nh6_memo;
	uint32_t i;

	for (i = 0; i < c->valid; i++)
		if (c->iface[i] == iface && ef_ip6_eq(c->gw[i], gw)) {
			memcpy(mac, c->mac[i], 6);
			return 0;
		}
	if (ef_neigh_lookup6(w->sh->neigh, iface, gw, mac) != 0)
		return -ENOENT;
	if (c->valid < EF_FWD_NH6_MEMO) {
		i = c->valid++;
	} else {
		i = c->next;
		c->next = (c->next + 1) % EF_FWD_NH6_MEMO;
	}
	memcpy(c->gw[i], gw, 16);
	c->iface[i] = iface;
	memcpy(c->mac[i], mac, 6);
	return 0;
}

/*
 * The service's flow quota (max_flows, extension): each worker holds at
 * most its share, ceil(max_flows / workers), of the service's live flows
 * (the per-worker count ef_fwd_flow_closed() keeps). True when a new flow
 * of svc_id may not be created: m dropped, counted svc_quota.
 */
static inline bool
ef_fwd_over_quota(struct ef_fwd_worker *w, struct rte_mbuf *m,
	   const struct ef_svc_service *sv, uint32_t svc_id)
{
	uint32_t max = sv->max_flows;
	uint32_t nw = w->sh->n_workers != 0 ? w->sh->n_workers : 1;

	if (likely(max == 0) || svc_id >= w->n_svc_ids ||
	    w->svc[svc_id].flows < (int64_t)((max + nw - 1) / nw))
		return false;
	drop(w, m, EF_FWD_DROP_SVC_QUOTA);
	return true;
}

/* fwd_reply.c: one token of the ICMP error bucket (RFC 1812 4.3.2.8,
 * RFC 4443 2.4(f)); false when none is left. */
bool ef_fwd_icmp_allowed(struct ef_fwd_worker *w);

/*
 * fwd6.c: the IPv6 path (docs/IPV6.md), in the burst's stages.
 * ef_fwd6_stage1: a parsed IPv6 frame; true when it needs the flow table
 * (TCP, UDP: its key in *k), false
 * once m has been consumed (answered, handed off when may_hand_off, to
 * the control lcore, or dropped). ef_fwd6_flow: stage 3, with the flow
 * the table found for k (NULL: none); consumes m. ef_fwd_icmp6_error: an
 * ICMPv6 error about m's packet from src (NULL: the receiving
 * interface's address); consumes m.
 */
bool ef_fwd6_stage1(struct ef_fwd_worker *w, struct rte_mbuf *m,
		    struct ef_pkt_meta *pm, bool may_hand_off,
		    struct ef_ct_key6 *k);
void ef_fwd6_flow(struct ef_fwd_worker *w, struct rte_mbuf *m,
		  struct ef_pkt_meta *pm, struct ef_ct_flow *f, uint8_t dir,
		  const struct ef_ct_key6 *k);
/* fwd6.c: the post-reload sweep's ef_ct_walk() callback for w->ct6 (arg:
 * the worker): 1 (delete) for a flow whose endpoint the current
 * generation no longer has, counted as fwd_worker.c's IPv4 one. */
int ef_fwd6_sweep_cb(void *arg, struct ef_ct_flow *f);
bool ef_fwd_icmp6_error(struct ef_fwd_worker *w, struct rte_mbuf *m,
			const struct ef_pkt_meta *pm, uint8_t type,
			uint8_t code, uint32_t param, const uint8_t *src);
/* fwd_nexthop.c: ef_fwd_hold for an IPv6 next hop. */
void ef_fwd_hold6(struct ef_fwd_worker *w, struct rte_mbuf *m, uint16_t iface,
		  const uint8_t gw[16]);

/* fwd_reply.c: answers of the worker itself. Each consumes m. */
void ef_fwd_bounce(struct ef_fwd_worker *w, struct rte_mbuf *m);
bool ef_fwd_icmp_error(struct ef_fwd_worker *w, struct rte_mbuf *m,
		       const struct ef_pkt_meta *pm, uint8_t type,
		       uint8_t code, uint16_t mtu, uint32_t src);
void ef_fwd_reject(struct ef_fwd_worker *w, struct rte_mbuf *m,
		   struct ef_pkt_meta *pm);
void ef_fwd_local_delivery(struct ef_fwd_worker *w, struct rte_mbuf *m,
			   struct ef_pkt_meta *pm, uint32_t own);
void ef_fwd_arp(struct ef_fwd_worker *w, struct rte_mbuf *m,
		struct ef_pkt_meta *pm);

/* fwd_affinity.c: ClientIP affinity, a per-worker table. */
int ef_fwd_affinity_init(struct ef_fwd_worker *w, uint32_t entries,
			 int socket_id);
void ef_fwd_affinity_fini(struct ef_fwd_worker *w);
int32_t ef_fwd_affinity_get(struct ef_fwd_worker *w,
			    const struct ef_svc_frontend *fe,
			    const struct ef_svc_port *sp, uint32_t svc_id,
			    uint32_t client);
void ef_fwd_affinity_put(struct ef_fwd_worker *w,
			 const struct ef_svc_frontend *fe,
			 const struct ef_svc_port *sp, uint32_t svc_id,
			 uint32_t client, const struct ef_svc_endpoint *ep);
/* The same for an IPv6 client and sp's IPv6 endpoints (fwd6.c). */
int32_t ef_fwd_affinity_get6(struct ef_fwd_worker *w,
			     const struct ef_svc_frontend *fe,
			     const struct ef_svc_port *sp, uint32_t svc_id,
			     const uint8_t client[16]);
void ef_fwd_affinity_put6(struct ef_fwd_worker *w,
			  const struct ef_svc_frontend *fe,
			  const struct ef_svc_port *sp, uint32_t svc_id,
			  const uint8_t client[16],
			  const struct ef_svc_endpoint *ep);
void ef_fwd_affinity_sweep(struct ef_fwd_worker *w);

/* fwd_nexthop.c: keep m until (iface, gw) resolves (EF_FWD_HOLD_*). */
void ef_fwd_hold(struct ef_fwd_worker *w, struct rte_mbuf *m, uint16_t iface,
		 uint32_t gw);

/*
 * fwd_edge.c: the edge paths (docs/EDGE.md).
 * ef_fwd_edge_init: register the "decapsulated" mbuf flag (any thread,
 * before workers run; 0 or -errno).
 * ef_fwd_decap: a classified frame to an interface address from a tunnel:
 * 0 not encapsulated (m untouched), 1 decapsulated (m holds the inner
 * frame: parse it again), -1 dropped and counted.
 * ef_fwd_edge: a packet of an edge frontend; consumes m.
 * ef_fwd_encap_remote: a new Cluster flow of an "encap" frontend: -1 when
 * m went to another node (or was dropped), 0 when self (the node's own
 * key, ef_edge.h) serves it here.
 */
int ef_fwd_edge_init(void);
/* This node's key in nodes (ef_edge.h), EF_EDGE_NO_KEY when not listed:
 * what ef_fwd_encap_remote() compares the chosen node with. */
uint32_t ef_fwd_self_addr(const struct ef_fwd_worker *w);
bool ef_fwd_is_decapsulated(const struct rte_mbuf *m);
int ef_fwd_decap(struct ef_fwd_worker *w, struct rte_mbuf *m,
		 struct ef_pkt_meta *pm);
void ef_fwd_edge(struct ef_fwd_worker *w, struct rte_mbuf *m,
		 struct ef_pkt_meta *pm, const struct ef_svc_frontend *fe);
int ef_fwd_encap_remote(struct ef_fwd_worker *w, struct rte_mbuf *m,
			struct ef_pkt_meta *pm,
			const struct ef_svc_frontend *fe, uint32_t self);
/*
 * A burst's edge packets looked up together: ef_fwd_edge_lookup_bulk()
 * fills f (NULL: no entry) for n keys (staged and prefetched, as
 * conntrack's lookup), ef_fwd_edge_staged() is ef_fwd_edge() with that
 * result (looked up again when an earlier packet of the burst inserted
 * into the table since: the same tuple twice in one burst).
 */
struct ef_fwd_edge_pre {
	struct ef_edge_flow_key key;
	struct ef_edge_flow *f;
	uint64_t created;	/* the table's inserts when f was looked up */
};
void ef_fwd_edge_lookup_bulk(struct ef_fwd_worker *w,
			     struct ef_fwd_edge_pre *pre, uint32_t n);
void ef_fwd_edge_staged(struct ef_fwd_worker *w, struct rte_mbuf *m,
			struct ef_pkt_meta *pm,
			const struct ef_svc_frontend *fe,
			const struct ef_fwd_edge_pre *pre);
/* The worker's edge flow table (control lcore, at creation) and its
 * expiry slice (housekeeping). */
int ef_fwd_edge_flows_create(struct ef_fwd_worker *w, const struct ef_cfg *cfg,
			     uint32_t per_worker, int socket_id);
void ef_fwd_edge_expire(struct ef_fwd_worker *w, uint32_t budget);

/* fwd.c: a flow leaves the table: counters follow. */
void ef_fwd_flow_closed(struct ef_fwd_worker *w, const struct ef_ct_flow *f);

#endif /* EF_FWD_PRIV_H */
