/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_arp.h>
#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include "ef_fwd.h"
#include "ef_route.h"

RTE_LOG_REGISTER(ef_fwd_logtype, user.edgefwd.fwd, INFO);
#define EF_FWD_LOG(level, ...) \
	rte_log(RTE_LOG_##level, ef_fwd_logtype, "fwd: " __VA_ARGS__)

#define AFF_SWEEP 16		/* affinity entries checked per poll */
#define EXPIRE_BUDGET 64	/* flow slots examined per poll */
#define IDLE_POLLS 256		/* empty polls before an idle sleep */
#define ICMP_BURST 100		/* token bucket depth for generated ICMP */
#define SPSC (RING_F_SP_ENQ | RING_F_SC_DEQ)

static const char *const drop_names[] = {
#define EF_FWD_DROP_NAME(e, s) s,
	EF_FWD_FOREACH_DROP(EF_FWD_DROP_NAME)
#undef EF_FWD_DROP_NAME
};

const char *
ef_fwd_drop_name(unsigned int reason)
{
	return reason < EF_FWD_DROP_MAX ? drop_names[reason] : "unknown";
}

struct aff_key {
	uint32_t client;
	uint32_t svc_id;
	uint32_t port_idx;
};

struct ef_fwd_affinity {
	uint32_t ep_addr;
	uint16_t ep_port;
	uint16_t pad;
	uint32_t last_ms;
	uint32_t timeout_ms;
};

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

/* Send a frame back where it came from: MACs swapped. */
static void
bounce(struct ef_fwd_worker *w, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint16_t iface = rx_iface(w, m);

	rte_ether_addr_copy(&eh->src_addr, &eh->dst_addr);
	memcpy(eh->src_addr.addr_bytes, w->sh->ports[iface].mac, 6);
	out_queue(w, iface, m);
}

static void
to_control(struct ef_fwd_worker *w, struct rte_mbuf *m)
{
	if (unlikely(rte_ring_sp_enqueue(w->to_ctrl, m) != 0)) {
		drop(w, m, EF_FWD_DROP_EXCEPTION_FULL);
		return;
	}
	w->c.exception_packets++;
}

/* Token bucket for the ICMP errors we generate (RFC 1812 4.3.2.8). */
static bool
icmp_allowed(struct ef_fwd_worker *w)
{
	uint32_t dt = w->now_ms - w->icmp_last_ms;

	if (dt > 0) {
		w->icmp_tokens += (uint64_t)dt * w->sh->icmp_rate / 1000;
		if (w->icmp_tokens > ICMP_BURST)
			w->icmp_tokens = ICMP_BURST;
		w->icmp_last_ms = w->now_ms;
	}
	if (w->icmp_tokens == 0)
		return false;
	w->icmp_tokens--;
	return true;
}

/*
 * Replace the frame with an ICMP error about its IPv4 packet, sent back to
 * the previous hop, from the receiving interface's address (or 'src').
 * Consumes m. Returns true when an error was sent.
 */
static bool
send_icmp_error(struct ef_fwd_worker *w, struct rte_mbuf *m,
		const struct ef_pkt_meta *pm, uint8_t type, uint8_t code,
		uint16_t mtu, uint32_t src)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	int len;

	if (!icmp_allowed(w)) {
		w->c.drops[EF_FWD_DROP_ICMP_RATELIMIT]++;
		rte_pktmbuf_free(m);
		return false;
	}
	if (src == 0)
		src = w->sh->ports[rx_iface(w, m)].addr;
	len = ef_pkt_build_icmp4_error(w->scratch, sizeof(w->scratch),
				       frame + pm->l3_off, pm->l3_len, type,
				       code, mtu, src);
	if (len < 0 || (uint32_t)len + pm->l3_off >
	    (uint32_t)(m->buf_len - rte_pktmbuf_headroom(m))) {
		/* not an error we may send (error about an error, ...) */
		rte_pktmbuf_free(m);
		return false;
	}
	memcpy(frame + pm->l3_off, w->scratch, (size_t)len);
	m->data_len = (uint16_t)(pm->l3_off + len);
	m->pkt_len = m->data_len;
	w->c.icmp_errors_sent++;
	bounce(w, m);
	return true;
}

static void
reject(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);

	if (pm->proto == IPPROTO_TCP) {
		int len;

		if (!icmp_allowed(w)) {
			w->c.drops[EF_FWD_DROP_ICMP_RATELIMIT]++;
			rte_pktmbuf_free(m);
			return;
		}
		len = ef_pkt_tcp4_rst_reply(frame, pm);
		if (len < 0) {
			rte_pktmbuf_free(m);
			return;
		}
		m->data_len = (uint16_t)(pm->l3_off + len);
		m->pkt_len = m->data_len;
		w->c.rst_sent++;
		bounce(w, m);
		return;
	}
	send_icmp_error(w, m, pm, 3, 3, 0, pm->dst.v4);
}

static void
flow_closed(struct ef_fwd_worker *w, const struct ef_ct_flow *f)
{
	if (f->svc_id < w->n_svc_ids)
		w->svc_flows[f->svc_id]--;
	if (f->snat != 0)
		w->c.snat_flows--;
	w->c.flows_closed++;
}

static void
expire_cb(void *arg, struct ef_ct_flow *f)
{
	flow_closed(arg, f);
}

/*
 * Next-hop MACs, one per interface, remembered for the rest of the burst:
 * otherwise every packet pays an rte_hash probe of the neighbour table for
 * the same gateway or two. ef_fwd_process() forgets them when it starts
 * and ends, so a neighbour change is seen from the next burst on, as by a
 * lookup that raced it.
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

	if (likely(iface < EF_FWD_MAX_PORTS && (c->valid & (1u << iface)) &&
		   c->gw[iface] == gw)) {
		memcpy(mac, c->mac[iface], 6);
		return 0;
	}
	if (ef_neigh_lookup4(w->sh->neigh, iface, gw, mac) != 0)
		return -ENOENT;
	if (iface < EF_FWD_MAX_PORTS) {
		c->gw[iface] = gw;
		memcpy(c->mac[iface], mac, 6);
		c->valid |= 1u << iface;
	}
	return 0;
}

/*
 * A frame ready to leave on iface but for the next hop's MAC: ask the
 * resolver and keep the frame in that next hop's hold slot (ef_fwd.h,
 * EF_FWD_HOLD_*). Consumes m.
 */
static void
hold(struct ef_fwd_worker *w, struct rte_mbuf *m, uint16_t iface, uint32_t gw)
{
	struct ef_fwd_hold *free_slot = NULL, *h = NULL;

	ef_neigh_miss4(w->sh->neigh, w->idx, iface, gw);
	for (uint32_t i = 0, seen = 0; i < EF_FWD_HOLD_HOPS &&
	     (seen < w->n_hold || free_slot == NULL); i++) {
		struct ef_fwd_hold *s = &w->hold[i];

		if (s->n == 0) {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		seen++;
		if (s->gw == gw && s->iface == iface) {
			h = s;
			break;
		}
	}
	if (h == NULL) {
		if (free_slot == NULL) {
			drop(w, m, EF_FWD_DROP_NEIGH_HOLD_FULL);
			return;
		}
		h = free_slot;
		h->gw = gw;
		h->iface = iface;
		h->since_ms = w->now_ms;
		w->n_hold++;
	} else if (h->n >= EF_FWD_HOLD_PKTS) {
		drop(w, m, EF_FWD_DROP_NEIGH_HOLD_FULL);
		return;
	}
	h->m[h->n++] = m;
	w->c.neigh_held++;
}

/*
 * Once per poll while anything is held: send what waited for a next hop
 * that is now resolved, drop (no_neighbor) what waited EF_FWD_HOLD_MS in
 * vain. Costs nothing while no slot is in use.
 */
void
ef_fwd_hold_release(struct ef_fwd_worker *w)
{
	for (uint32_t i = 0; i < EF_FWD_HOLD_HOPS && w->n_hold != 0; i++) {
		struct ef_fwd_hold *h = &w->hold[i];
		uint8_t mac[6];
		bool ok;

		if (h->n == 0)
			continue;
		ok = ef_neigh_lookup4(w->sh->neigh, h->iface, h->gw, mac) == 0;
		if (!ok && w->now_ms - h->since_ms < EF_FWD_HOLD_MS)
			continue;
		for (uint16_t j = 0; j < h->n; j++) {
			struct rte_ether_hdr *eh = rte_pktmbuf_mtod(h->m[j],
						struct rte_ether_hdr *);

			if (!ok) {
				drop(w, h->m[j], EF_FWD_DROP_NO_NEIGHBOR);
				continue;
			}
			memcpy(eh->dst_addr.addr_bytes, mac, 6);
			memcpy(eh->src_addr.addr_bytes,
			       w->sh->ports[h->iface].mac, 6);
			w->c.neigh_released++;
			out_queue(w, h->iface, h->m[j]);
		}
		h->n = 0;
		w->n_hold--;
	}
}

/*
 * Forward a packet of flow f in direction dir: route the new destination,
 * check the MTU, rewrite, decrement TTL, resolve the next hop, queue.
 */
static void
forward(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm,
	struct ef_ct_flow *f, uint8_t dir)
{
	const struct ef_svc_gen *g = w->gen;
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)frame;
	const struct ef_fwd_port *op;
	struct ef_nexthop nh;
	uint32_t dst = dir == 0 ? f->endpoint : f->client;

	if (unlikely(pm->ttl <= 1)) {
		w->c.drops[EF_FWD_DROP_TTL_EXCEEDED]++;
		send_icmp_error(w, m, pm, 11, 0, 0, 0);
		return;
	}
	if (unlikely(ef_route_lookup4(g->routes, dst, &nh) != 0)) {
		drop(w, m, EF_FWD_DROP_NO_ROUTE);
		return;
	}
	op = &w->sh->ports[nh.iface];
	if (unlikely(pm->l3_len > op->mtu)) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)
			(frame + pm->l3_off);

		w->c.drops[EF_FWD_DROP_MTU_EXCEEDED]++;
		if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG))
			send_icmp_error(w, m, pm, 3, 4, op->mtu, 0);
		else
			rte_pktmbuf_free(m);
		return;
	}
	ef_nat_apply(frame, pm, f, dir);
	ef_pkt_ttl_dec4(frame, pm);
	if (likely(f->svc_id < w->n_svc_ids))
		w->svc_packets[f->svc_id]++;
	if (unlikely(neigh_mac(w, nh.iface, nh.gw,
			       eh->dst_addr.addr_bytes) != 0)) {
		hold(w, m, nh.iface, nh.gw);
		return;
	}
	memcpy(eh->src_addr.addr_bytes, op->mac, 6);
	out_queue(w, nh.iface, m);
}

/* Translate an ICMP error about a tracked flow and send it on. */
static void
forward_icmp_error(struct ef_fwd_worker *w, struct rte_mbuf *m,
		   struct ef_pkt_meta *pm, struct ef_ct_flow *f, uint8_t dir)
{
	const struct ef_svc_gen *g = w->gen;
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)frame;
	struct ef_nexthop nh;

	if (unlikely(pm->ttl <= 1)) {
		drop(w, m, EF_FWD_DROP_TTL_EXCEEDED);
		return;
	}
	ef_nat_apply_icmp_error(frame, pm, f, dir);
	if (unlikely(ef_route_lookup4(g->routes, pm->dst.v4, &nh) != 0)) {
		drop(w, m, EF_FWD_DROP_NO_ROUTE);
		return;
	}
	ef_pkt_ttl_dec4(frame, pm);
	w->c.icmp_errors_translated++;
	if (unlikely(neigh_mac(w, nh.iface, nh.gw,
			       eh->dst_addr.addr_bytes) != 0)) {
		hold(w, m, nh.iface, nh.gw);
		return;
	}
	memcpy(eh->src_addr.addr_bytes, w->sh->ports[nh.iface].mac, 6);
	out_queue(w, nh.iface, m);
}

static inline uint32_t
flow_hash(const struct ef_ct_key4 *k)
{
	return rte_hash_crc(k, sizeof(*k), 0x9e3779b9);
}

/* ClientIP affinity: a remembered endpoint still eligible, or -1. */
static int32_t
affinity_get(struct ef_fwd_worker *w, const struct ef_svc_frontend *fe,
	     const struct ef_svc_port *sp, uint32_t svc_id, uint32_t client)
{
	struct aff_key k = {
		.client = client, .svc_id = svc_id, .port_idx = sp->port_idx,
	};
	struct ef_fwd_affinity *a;
	int32_t pos = rte_hash_lookup(w->affinity, &k);

	if (pos < 0)
		return -1;
	a = &w->aff[pos];
	if ((int32_t)(w->now_ms - a->last_ms) >= (int32_t)a->timeout_ms)
		return -1;
	for (uint32_t i = 0; i < sp->n_eps; i++) {
		if (sp->eps[i].addr == a->ep_addr &&
		    sp->eps[i].port == a->ep_port) {
			if (!ef_svc_eligible(w->gen, fe, i))
				return -1;
			a->last_ms = w->now_ms;
			w->c.affinity_hits++;
			return (int32_t)i;
		}
	}
	return -1;
}

static void
affinity_put(struct ef_fwd_worker *w, const struct ef_svc_frontend *fe,
	     const struct ef_svc_port *sp, uint32_t svc_id, uint32_t client,
	     const struct ef_svc_endpoint *ep)
{
	struct aff_key k = {
		.client = client, .svc_id = svc_id, .port_idx = sp->port_idx,
	};
	int32_t pos = rte_hash_add_key(w->affinity, &k);

	/* a full table only loses stickiness across endpoint changes: the
	 * Maglev choice on the client address already keeps the client */
	if (pos < 0)
		return;
	w->aff[pos].ep_addr = ep->addr;
	w->aff[pos].ep_port = ep->port;
	w->aff[pos].last_ms = w->now_ms;
	w->aff[pos].timeout_ms = fe->affinity_timeout_ms;
}

static void
affinity_sweep(struct ef_fwd_worker *w)
{
	uint32_t n = rte_hash_max_key_id(w->affinity) + 1;

	for (uint32_t i = 0; i < AFF_SWEEP; i++) {
		struct aff_key *k;
		uint32_t pos = w->aff_cursor++ % n;
		struct ef_fwd_affinity *a = &w->aff[pos];

		if (rte_hash_get_key_with_position(w->affinity, (int32_t)pos,
						   (void **)&k) != 0)
			continue;
		if ((int32_t)(w->now_ms - a->last_ms) >= (int32_t)a->timeout_ms)
			rte_hash_del_key(w->affinity, k);
	}
}

/* Traffic to one of our addresses that no flow and no frontend claims. */
static void
local_delivery(struct ef_fwd_worker *w, struct rte_mbuf *m,
	       struct ef_pkt_meta *pm, uint32_t own)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);

	if (pm->proto == IPPROTO_ICMP && pm->icmp_type == 8 &&
	    !(pm->flags & EF_PKT_F_FRAG)) {
		if (ef_pkt_icmp4_echo_reply(frame, pm) == 0) {
			w->c.icmp_echo_replies++;
			bounce(w, m);
		} else {
			drop(w, m, EF_FWD_DROP_PARSE_ERROR);
		}
		return;
	}
	if (own & EF_SVC_OWN_IFACE) {
		/* the node itself: SSH, BGP, probes, healthCheckNodePort */
		to_control(w, m);
		return;
	}
	if (own & EF_SVC_OWN_SNAT) {
		drop(w, m, EF_FWD_DROP_NO_FLOW);
		return;
	}
	drop(w, m, EF_FWD_DROP_NO_SERVICE);
}

static void
new_flow(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm,
	 const struct ef_ct_key4 *k)
{
	struct ef_svc_gen *g = w->gen;
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	const struct ef_svc_frontend *fe;
	const struct ef_svc_port *sp;
	const struct ef_svc_endpoint *ep;
	const struct ef_svc_service *sv;
	struct ef_ct_key4 rk;
	struct ef_ct_flow *f;
	uint32_t snat = 0, epi;
	uint16_t sport = 0;
	int32_t fi, ai = -1;
	int err;

	if (pm->proto == IPPROTO_ICMP) {
		uint32_t own = ef_svc_owned4(g, k->dst);

		if (own != 0)
			local_delivery(w, m, pm, own);
		else
			drop(w, m, EF_FWD_DROP_NO_FLOW);
		return;
	}
	fi = ef_svc_lookup(g, k->dst, k->dport, k->proto);
	if (fi < 0) {
		uint32_t own = ef_svc_owned4(g, k->dst);

		/* not ours, or a SNAT port nobody holds (never the kernel's) */
		if (own == 0 || ((own & EF_SVC_OWN_SNAT) &&
				 ef_nat_port_owner(w->sh->nat_map,
						   rte_be_to_cpu_16(k->dport)) !=
				 UINT32_MAX))
			drop(w, m, EF_FWD_DROP_NO_FLOW);
		else
			local_delivery(w, m, pm, own);
		return;
	}
	if (pm->proto == IPPROTO_TCP) {
		uint8_t fl = pm->tcp_flags;

		/* only a plain SYN opens a flow (a load balancer must not
		 * pick up mid-stream segments: the endpoint would RST) */
		if ((fl & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG |
			   RTE_TCP_FIN_FLAG)) != RTE_TCP_SYN_FLAG) {
			drop(w, m, (fl & RTE_TCP_SYN_FLAG) ?
			     EF_FWD_DROP_CT_INVALID : EF_FWD_DROP_NO_FLOW);
			return;
		}
	}
	fe = &g->fes[fi];
	sp = &g->sps[fe->sp_idx];
	sv = &g->svcs[sp->svc_idx];
	if (unlikely(pm->ttl <= 1)) {
		w->c.drops[EF_FWD_DROP_TTL_EXCEEDED]++;
		send_icmp_error(w, m, pm, 11, 0, 0, 0);
		return;
	}
	if (fe->flags & EF_SVC_FE_AFFINITY)
		ai = affinity_get(w, fe, sp, sv->stable_id, k->src);
	if (ai >= 0) {
		epi = (uint32_t)ai;
	} else {
		uint32_t h = (fe->flags & EF_SVC_FE_AFFINITY) ?
			rte_hash_crc_4byte(k->src, 0x9e3779b9) : flow_hash(k);

		switch (ef_svc_pick(g, fe, h, &epi)) {
		case EF_SVC_PICK_OK:
			break;
		case EF_SVC_PICK_NO_LOCAL:
			drop(w, m, EF_FWD_DROP_NO_LOCAL_ENDPOINT);
			return;
		default:
			w->c.drops[EF_FWD_DROP_NO_ENDPOINT]++;
			reject(w, m, pm);
			return;
		}
	}
	ep = &sp->eps[epi];
	if ((fe->flags & EF_SVC_FE_SNAT) ||
	    ((fe->flags & EF_SVC_FE_SNAT_REMOTE) &&
	     !(ep->flags & EF_SVC_EP_LOCAL))) {
		if (ef_nat_snat_pick(&w->nat, w->ct, k->src, k->sport, ep->addr,
				     ep->port, k->proto, &snat, &sport) != 0) {
			drop(w, m, EF_FWD_DROP_SNAT_EXHAUSTED);
			return;
		}
	}
	memset(&rk, 0, sizeof(rk));
	rk.src = ep->addr;
	rk.sport = ep->port;
	rk.dst = snat != 0 ? snat : k->src;
	rk.dport = snat != 0 ? sport : k->sport;
	rk.proto = k->proto;
	f = ef_ct_create_flow(w->ct, k, &rk, w->now_ms, &err);
	if (f == NULL) {
		drop(w, m, err == -ENOSPC ? EF_FWD_DROP_CT_FULL :
		     EF_FWD_DROP_CT_INVALID);
		return;
	}
	f->client = k->src;
	f->cport = k->sport;
	f->frontend = k->dst;
	f->fport = k->dport;
	f->endpoint = ep->addr;
	f->eport = ep->port;
	f->snat = snat;
	f->sport_snat = sport;
	f->svc_id = sv->stable_id;
	f->gen = (uint32_t)g->number;
	ef_ct_update(w->ct, f, 0, frame, pm, w->now_ms);
	w->c.flows_created++;
	if (snat != 0)
		w->c.snat_flows++;
	if (sv->stable_id < w->n_svc_ids)
		w->svc_flows[sv->stable_id]++;
	if ((fe->flags & EF_SVC_FE_AFFINITY) && ai < 0)
		affinity_put(w, fe, sp, sv->stable_id, k->src, ep);
	forward(w, m, pm, f, 0);
}

/*
 * A flow created under an older generation: keep it if its endpoint still
 * exists for its service, else close it (ARCHITECTURE.md "reload").
 * Returns false when the flow was deleted.
 */
static bool
revalidate(struct ef_fwd_worker *w, struct ef_ct_flow *f)
{
	const struct ef_svc_gen *g = w->gen;

	if (ef_svc_endpoint_exists(g, f->svc_id, f->endpoint, f->eport,
				   f->proto)) {
		f->gen = (uint32_t)g->number;
		return true;
	}
	flow_closed(w, f);
	ef_ct_delete(w->ct, f);
	return false;
}

static void
tracked(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm,
	struct ef_ct_flow *f, uint8_t dir, const struct ef_ct_key4 *k)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	int v;

	if (unlikely(f->gen != (uint32_t)w->gen->number) &&
	    !revalidate(w, f)) {
		if (pm->proto == IPPROTO_UDP && dir == 0) {
			/* no black hole outlives the endpoint: re-pick */
			new_flow(w, m, pm, k);
			return;
		}
		drop(w, m, EF_FWD_DROP_ENDPOINT_REMOVED);
		return;
	}
	v = ef_ct_update(w->ct, f, dir, frame, pm, w->now_ms);
	if (unlikely(v != EF_CT_VERDICT_OK)) {
		if (v == EF_CT_VERDICT_NEW_AFTER_CLOSE && dir == 0) {
			flow_closed(w, f);
			ef_ct_delete(w->ct, f);
			new_flow(w, m, pm, k);
			return;
		}
		drop(w, m, EF_FWD_DROP_CT_INVALID);
		return;
	}
	forward(w, m, pm, f, dir);
}

static void
handle_arp(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)
		(frame + pm->l3_off);
	uint16_t iface = rx_iface(w, m);
	struct rte_mbuf *learn;

	if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) {
		uint32_t own = ef_svc_owned4(w->gen, arp->arp_data.arp_tip);

		/* cluster IPs are routed to us, never announced */
		if ((own & (EF_SVC_OWN_IFACE | EF_SVC_OWN_VIP |
			    EF_SVC_OWN_SNAT)) == 0 ||
		    arp->arp_data.arp_tip == arp->arp_data.arp_sip) {
			drop(w, m, EF_FWD_DROP_NOT_FOR_US);
			return;
		}
		/* the asker is about to talk to us: learn it now (as Linux
		 * does) so that our first answer does not wait for ARP */
		learn = rte_pktmbuf_copy(m, w->sh->pool, 0, UINT32_MAX);
		if (learn != NULL)
			to_control(w, learn);
		if (ef_pkt_arp_reply(frame, pm, w->sh->ports[iface].mac) != 0) {
			drop(w, m, EF_FWD_DROP_PARSE_ERROR);
			return;
		}
		w->c.arp_replies++;
		out_queue(w, iface, m);
		return;
	}
	/* replies: the control lcore learns them and tells the kernel */
	to_control(w, m);
}

/* Multicast (224.0.0.0/4) or limited broadcast; network order. */
static inline bool
ip4_group(uint32_t a)
{
	return a == UINT32_MAX || (((const uint8_t *)&a)[0] & 0xf0) == 0xe0;
}

/* 224.0.0.0/24 (RFC 5771 local network control block) or 255.255.255.255:
 * never forwarded by a router, always for the hosts of the link. */
static inline bool
ip4_link_local_group(uint32_t a)
{
	const uint8_t *b = (const uint8_t *)&a;

	return a == UINT32_MAX || (b[0] == 224 && b[1] == 0 && b[2] == 0);
}

/* Pre-NAT key of a packet as it arrives. */
static inline void
key_of(const struct ef_pkt_meta *pm, struct ef_ct_key4 *k)
{
	k->src = pm->src.v4;
	k->dst = pm->dst.v4;
	k->sport = pm->sport;
	k->dport = pm->dport;
	k->proto = pm->proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

uint32_t
ef_fwd_owner(const struct ef_fwd_shared *sh, const struct ef_svc_gen *g,
	     const struct ef_ct_key4 *k)
{
	uint32_t own;

	if (sh->n_workers <= 1)
		return 0;
	own = ef_svc_owned4(g, k->dst);
	if (own & EF_SVC_OWN_SNAT) {
		uint32_t o = ef_nat_port_owner(sh->nat_map,
					       rte_be_to_cpu_16(k->dport));

		if (o != UINT32_MAX)
			return o;
	}
	/* by client address only, so that ClientIP affinity state is
	 * per-worker consistent: every flow of a client meets one worker */
	if (own != 0)
		return rte_hash_crc_4byte(k->src, 0) % sh->n_workers;
	return rte_hash_crc_4byte(k->dst, 0) % sh->n_workers;
}

void
ef_fwd_begin(struct ef_fwd_worker *w)
{
	w->gen = __atomic_load_n(&w->sh->gen, __ATOMIC_ACQUIRE);
	w->now_ms = (uint32_t)(rte_rdtsc() / w->tsc_per_ms);
}

void
ef_fwd_process(struct ef_fwd_worker *w, struct rte_mbuf **pkts, uint16_t n,
	       bool handoff)
{
	struct ef_pkt_meta meta[EF_FWD_BURST_MAX];
	struct ef_ct_key4 keys[EF_FWD_BURST_MAX];
	const struct ef_ct_key4 *kp[EF_FWD_BURST_MAX];
	struct ef_ct_flow *flows[EF_FWD_BURST_MAX];
	uint8_t dirs[EF_FWD_BURST_MAX];
	uint16_t idx[EF_FWD_BURST_MAX];
	bool is_err[EF_FWD_BURST_MAX];
	uint16_t nk = 0;

	memo_of(w)->valid = 0;
	/* pkts[0..n) are filled by the caller's burst (the analyzer cannot
	 * see through rte_eth_rx_burst / rte_ring dequeues) */
	for (uint16_t i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *)); /* NOLINT(clang-analyzer-core.NullDereference) */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct ef_pkt_meta *pm = &meta[i];
		const uint8_t *frame;
		int rc;

		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		if (!handoff) {
			w->c.rx_packets++;
			w->c.rx_bytes += m->pkt_len;
		}
		if (unlikely(m->nb_segs != 1)) {
			drop(w, m, EF_FWD_DROP_MULTI_SEGMENT);
			continue;
		}
		frame = rte_pktmbuf_mtod(m, const uint8_t *);
		rc = ef_pkt_parse(frame, m->data_len, pm);
		if (unlikely(rc != 0)) {
			drop(w, m, EF_FWD_DROP_PARSE_ERROR);
			continue;
		}
		if (unlikely(pm->l3 != EF_PKT_L3_IPV4)) {
			if (pm->l3 == EF_PKT_L3_ARP && !(pm->flags & EF_PKT_F_VLAN))
				handle_arp(w, m, pm);
			else if (pm->l3 == EF_PKT_L3_IPV6 &&
				 !(pm->flags & EF_PKT_F_VLAN))
				to_control(w, m);	/* ND, v6 to the node */
			else
				drop(w, m, EF_FWD_DROP_UNSUPPORTED);
			continue;
		}
		if (unlikely(pm->flags & (EF_PKT_F_VLAN | EF_PKT_F_BCAST_SRC))) {
			drop(w, m, (pm->flags & EF_PKT_F_VLAN) ?
			     EF_FWD_DROP_UNSUPPORTED : EF_FWD_DROP_BAD_SOURCE);
			continue;
		}
		if (unlikely(ip4_group(pm->dst.v4))) {
			/* link-local multicast (224.0.0.0/24: IGMP reports a
			 * bridge sends when a port comes up, mDNS, VRRP, OSPF)
			 * and limited broadcast are the node's business, as ND
			 * is for IPv6: its kernel; other groups are not routed
			 * here */
			if (ip4_link_local_group(pm->dst.v4))
				to_control(w, m);
			else
				drop(w, m, EF_FWD_DROP_MULTICAST);
			continue;
		}
		if (unlikely(pm->src.v4 == pm->dst.v4)) {
			drop(w, m, EF_FWD_DROP_BAD_SOURCE);	/* LAND */
			continue;
		}
		if (!(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_GOOD) &&
		    unlikely(!ef_pkt_ip4_csum_ok(frame, pm))) {
			drop(w, m, EF_FWD_DROP_BAD_CHECKSUM);
			continue;
		}
		if (unlikely((pm->flags & EF_PKT_F_FRAG) ||
			     !(pm->flags & (EF_PKT_F_L4 | EF_PKT_F_ICMP_ERROR)))) {
			uint32_t own = ef_svc_owned4(w->gen, pm->dst.v4);

			/* the node's own fragments and protocols go to the
			 * kernel; we do not reassemble transit fragments */
			if (own & EF_SVC_OWN_IFACE)
				to_control(w, m);
			else
				drop(w, m, (pm->flags & EF_PKT_F_FRAG) ?
				     EF_FWD_DROP_FRAGMENT :
				     EF_FWD_DROP_UNSUPPORTED);
			continue;
		}
		is_err[nk] = (pm->flags & EF_PKT_F_ICMP_ERROR) != 0;
		if (!is_err[nk]) {
			key_of(pm, &keys[nk]);
		} else if (ef_nat_icmp_key(pm, &keys[nk]) != 0) {
			/* an error quoting no ports cannot be ours */
			if (ef_svc_owned4(w->gen, pm->dst.v4) &
			    EF_SVC_OWN_IFACE)
				to_control(w, m);
			else
				drop(w, m, EF_FWD_DROP_ICMP_UNTRACKED);
			continue;
		}
		if (!handoff && w->sh->n_workers > 1) {
			uint32_t o = ef_fwd_owner(w->sh, w->gen, &keys[nk]);

			if (o != w->idx) {
				struct rte_ring *r =
					w->sh->workers[o]->handoff_in[w->idx];

				if (rte_ring_sp_enqueue(r, m) != 0)
					drop(w, m, EF_FWD_DROP_HANDOFF_FULL);
				else
					w->c.handoff_packets++;
				continue;
			}
		}
		kp[nk] = &keys[nk];
		idx[nk] = i;
		nk++;
	}
	if (nk == 0)
		return;
	ef_ct_lookup_bulk(w->ct, kp, nk, flows, dirs);
	for (uint16_t j = 0; j < nk; j++) {
		struct rte_mbuf *m = pkts[idx[j]];
		struct ef_pkt_meta *pm = &meta[idx[j]];

		if (is_err[j]) {
			if (flows[j] != NULL) {
				forward_icmp_error(w, m, pm, flows[j], dirs[j]);
			} else {
				uint32_t own = ef_svc_owned4(w->gen, pm->dst.v4);

				if (own & EF_SVC_OWN_IFACE)
					to_control(w, m);
				else
					drop(w, m, EF_FWD_DROP_ICMP_UNTRACKED);
			}
			continue;
		}
		if (flows[j] != NULL)
			tracked(w, m, pm, flows[j], dirs[j], &keys[j]);
		else
			new_flow(w, m, pm, &keys[j]);
	}
	memo_of(w)->valid = 0;
}

void
ef_fwd_tx(struct ef_fwd_worker *w)
{
	for (uint16_t i = 0; i < w->sh->n_ports; i++) {
		uint16_t n = w->n_out[i], sent;

		if (n == 0)
			continue;
		for (uint16_t j = 0; j < n; j++)
			w->c.tx_bytes += w->out[i][j]->pkt_len;
		sent = rte_eth_tx_burst(w->sh->ports[i].port_id,
					(uint16_t)w->idx, w->out[i], n);
		w->c.tx_packets += sent;
		for (uint16_t j = sent; j < n; j++) {
			w->c.tx_bytes -= w->out[i][j]->pkt_len;
			drop(w, w->out[i][j], EF_FWD_DROP_TX_FULL);
		}
		w->n_out[i] = 0;
	}
}

struct sample_ctx {
	struct ef_fwd_cmd *cmd;
	uint32_t now_ms;
};

static int
sample_cb(void *arg, struct ef_ct_flow *f)
{
	struct sample_ctx *s = arg;

	if (f->state < EF_CT_STATE_MAX)
		s->cmd->by_state[f->state]++;
	if (s->cmd->n_out < s->cmd->max) {
		s->cmd->out[s->cmd->n_out].flow = *f;
		s->cmd->out[s->cmd->n_out].now_ms = s->now_ms;
		s->cmd->n_out++;
	}
	return 0;
}

static int
flush_cb(void *arg, struct ef_ct_flow *f)
{
	flow_closed(arg, f);
	return 1;
}

static void
run_command(struct ef_fwd_worker *w, struct ef_fwd_cmd *cmd)
{
	uint32_t cursor = 0;

	switch (cmd->type) {
	case EF_FWD_CMD_FLOW_SAMPLE: {
		struct sample_ctx s = { .cmd = cmd, .now_ms = w->now_ms };

		cmd->n_out = 0;
		memset(cmd->by_state, 0, sizeof(cmd->by_state));
		ef_ct_walk(w->ct, &cursor, UINT32_MAX, sample_cb, &s);
		break;
	}
	case EF_FWD_CMD_FLUSH_FLOWS:
		ef_ct_walk(w->ct, &cursor, UINT32_MAX, flush_cb, w);
		break;
	}
	__atomic_store_n(&cmd->done, 1, __ATOMIC_RELEASE);
}

uint32_t
ef_fwd_poll(struct ef_fwd_worker *w)
{
	struct ef_fwd_shared *sh = w->sh;
	struct rte_mbuf *pkts[EF_FWD_BURST_MAX];
	uint32_t total = 0;
	uint16_t n;

	ef_fwd_begin(w);
	for (uint16_t p = 0; p < sh->n_ports; p++) {
		if (w->idx >= sh->ports[p].n_rxq)
			continue;
		n = rte_eth_rx_burst(sh->ports[p].port_id, (uint16_t)w->idx,
				     pkts, 32);
		if (n == 0)
			continue;
		ef_fwd_process(w, pkts, n, false);
		total += n;
	}
	for (uint32_t o = 0; o < sh->n_workers; o++) {
		if (w->handoff_in[o] == NULL)
			continue;
		n = (uint16_t)rte_ring_sc_dequeue_burst(w->handoff_in[o],
							(void **)pkts, 32, NULL);
		if (n == 0)
			continue;
		ef_fwd_process(w, pkts, n, true);
		total += n;
	}
	n = (uint16_t)rte_ring_sc_dequeue_burst(w->from_ctrl, (void **)pkts,
						32, NULL);
	for (uint16_t i = 0; i < n; i++) {
		int16_t iface = sh->port_to_if[pkts[i]->port]; /* NOLINT(clang-analyzer-core.NullDereference): filled by the dequeue */

		if (iface < 0) {
			drop(w, pkts[i], EF_FWD_DROP_UNSUPPORTED);
			continue;
		}
		w->c.injected_packets++;
		out_queue(w, (uint16_t)iface, pkts[i]);
	}
	total += n;
	if (unlikely(w->n_hold != 0))
		ef_fwd_hold_release(w);
	ef_fwd_tx(w);
	ef_fwd_housekeep(w, EXPIRE_BUDGET);
	return total;
}

#define SWEEP_BUDGET 1024	/* flow slots a sweep visits per poll */

static int
sweep_cb(void *arg, struct ef_ct_flow *f)
{
	struct ef_fwd_worker *w = arg;

	if (f->gen == (uint32_t)w->gen->number)
		return 0;
	if (ef_svc_endpoint_exists(w->gen, f->svc_id, f->endpoint, f->eport,
				   f->proto)) {
		f->gen = (uint32_t)w->gen->number;
		return 0;
	}
	flow_closed(w, f);
	w->c.flows_swept++;
	return 1;
}

void
ef_fwd_request_sweep(struct ef_fwd_shared *sh, uint64_t generation)
{
	for (uint32_t i = 0; i < sh->n_workers; i++)
		if (sh->workers[i] != NULL)
			__atomic_store_n(&sh->workers[i]->sweep_request,
					 generation, __ATOMIC_RELEASE);
}

void
ef_fwd_housekeep(struct ef_fwd_worker *w, uint32_t budget)
{
	uint64_t req = __atomic_load_n(&w->sweep_request, __ATOMIC_ACQUIRE);
	void *cmd;

	if (rte_ring_sc_dequeue(w->cmd, &cmd) == 0)
		run_command(w, cmd);
	/* a sweep asked for a generation this burst already sees */
	if (req != w->sweep_done && req <= w->gen->number) {
		ef_ct_walk(w->ct, &w->sweep_cursor, SWEEP_BUDGET, sweep_cb, w);
		if (w->sweep_cursor == 0)
			w->sweep_done = req;
	}
	ef_ct_expire(w->ct, w->now_ms, budget, expire_cb, w);
	affinity_sweep(w);
}

int
ef_fwd_worker_main(void *arg)
{
	struct ef_fwd_worker *w = arg;
	struct ef_fwd_shared *sh = w->sh;
	uint32_t idle = 0;

	rte_rcu_qsbr_thread_register(sh->qsbr, w->idx);
	rte_rcu_qsbr_thread_online(sh->qsbr, w->idx);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		uint64_t t0 = rte_rdtsc(), t1;
		uint32_t n = ef_fwd_poll(w);

		rte_rcu_qsbr_quiescent(sh->qsbr, w->idx);
		t1 = rte_rdtsc();
		w->c.total_cycles += t1 - t0;
		if (n != 0) {
			w->c.busy_cycles += t1 - t0;
			idle = 0;
		} else if (sh->idle_sleep_us != 0 && ++idle >= IDLE_POLLS) {
			/* shared machines: give the core back when idle;
			 * offline so the control lcore never waits for us */
			rte_rcu_qsbr_thread_offline(sh->qsbr, w->idx);
			rte_delay_us_sleep(sh->idle_sleep_us);
			rte_rcu_qsbr_thread_online(sh->qsbr, w->idx);
			w->c.total_cycles += rte_rdtsc() - t1;
		}
	}
	rte_rcu_qsbr_thread_offline(sh->qsbr, w->idx);
	rte_rcu_qsbr_thread_unregister(sh->qsbr, w->idx);
	return 0;
}

static struct rte_ring *
ring_create(const char *what, int socket_id, unsigned int flags)
{
	char name[RTE_RING_NAMESIZE];
	static uint32_t serial;

	/* ring names are global to the process and short */
	snprintf(name, sizeof(name), "ef%.4s%u", what,
		 __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
	return rte_ring_create(name, EF_FWD_RING_SIZE, socket_id, flags);
}

struct ef_fwd_worker *
ef_fwd_worker_create(struct ef_fwd_shared *sh, uint32_t idx,
		     unsigned int lcore_id, uint32_t n_svc_ids, int socket_id)
{
	const struct ef_cfg *cfg = sh->gen->cfg;
	struct ef_fwd_worker *w;
	struct ef_ct_params ctp;
	char name[64];
	uint32_t per_worker;
	struct rte_hash_parameters hp = {
		.name = name,
		.key_len = sizeof(struct aff_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket_id,
	};

	w = rte_zmalloc_socket("ef_worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
			       socket_id);
	if (w == NULL)
		goto nomem;
	w->idx = idx;
	w->lcore_id = lcore_id;
	w->sh = sh;
	w->tsc_per_ms = rte_get_tsc_hz() / 1000;
	if (w->tsc_per_ms == 0)
		w->tsc_per_ms = 1;
	w->icmp_tokens = ICMP_BURST;
	per_worker = cfg->conntrack.max_flows / sh->n_workers;
	if (per_worker < 1024)
		per_worker = 1024;

	snprintf(name, sizeof(name), "ef_ct_w%u", idx);
	memset(&ctp, 0, sizeof(ctp));
	ctp.name = name;
	ctp.max_flows = per_worker;
	ctp.timeouts = cfg->conntrack;
	ctp.socket_id = socket_id;
	ctp.evict_cb = expire_cb;
	ctp.evict_arg = w;
	w->ct = ef_ct_create(&ctp);
	if (w->ct == NULL)
		goto fail;
	if (ef_nat_worker_init(&w->nat, sh->nat_map, idx,
			       (uint32_t)rte_rdtsc()) != 0)
		goto fail;
	snprintf(name, sizeof(name), "ef_aff_w%u", idx);
	hp.entries = RTE_MIN(per_worker, 1u << 20);
	w->affinity = rte_hash_create(&hp);
	if (w->affinity == NULL)
		goto fail;
	w->aff = rte_zmalloc_socket("ef_aff", sizeof(*w->aff) *
				    (rte_hash_max_key_id(w->affinity) + 1), 0,
				    socket_id);
	w->n_svc_ids = n_svc_ids;
	w->svc_packets = rte_zmalloc_socket("ef_svc_pkts",
					    sizeof(uint64_t) * n_svc_ids,
					    RTE_CACHE_LINE_SIZE, socket_id);
	w->svc_flows = rte_zmalloc_socket("ef_svc_flows",
					  sizeof(int64_t) * n_svc_ids,
					  RTE_CACHE_LINE_SIZE, socket_id);
	w->to_ctrl = ring_create("exc", socket_id, SPSC);
	w->from_ctrl = ring_create("inj", socket_id, SPSC);
	w->cmd = ring_create("cmd", socket_id, RING_F_SC_DEQ);
	if (w->aff == NULL || w->svc_packets == NULL || w->svc_flows == NULL ||
	    w->to_ctrl == NULL || w->from_ctrl == NULL || w->cmd == NULL)
		goto fail;
	return w;
nomem:
	rte_errno = ENOMEM;
	return NULL;
fail:
	ef_fwd_worker_free(w);
	rte_errno = ENOMEM;
	return NULL;
}

int
ef_fwd_connect(struct ef_fwd_shared *sh)
{
	for (uint32_t to = 0; to < sh->n_workers; to++) {
		for (uint32_t from = 0; from < sh->n_workers; from++) {
			struct ef_fwd_worker *w = sh->workers[to];

			if (from == to || w->handoff_in[from] != NULL)
				continue;
			w->handoff_in[from] = ring_create("ho",
							  (int)rte_socket_id(), SPSC);
			if (w->handoff_in[from] == NULL)
				return -ENOMEM;
		}
	}
	return 0;
}

static void
ring_drain_free(struct rte_ring *r)
{
	void *m;

	if (r == NULL)
		return;
	while (rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

void
ef_fwd_worker_free(struct ef_fwd_worker *w)
{
	if (w == NULL)
		return;
	for (uint32_t i = 0; i < EF_FWD_MAX_WORKERS; i++)
		ring_drain_free(w->handoff_in[i]);
	ring_drain_free(w->to_ctrl);
	ring_drain_free(w->from_ctrl);
	rte_ring_free(w->cmd);
	for (uint16_t p = 0; p < EF_FWD_MAX_PORTS; p++)
		for (uint16_t j = 0; j < w->n_out[p]; j++)
			rte_pktmbuf_free(w->out[p][j]);
	for (uint32_t i = 0; i < EF_FWD_HOLD_HOPS; i++)
		for (uint16_t j = 0; j < w->hold[i].n; j++)
			rte_pktmbuf_free(w->hold[i].m[j]);
	rte_free(w->svc_packets);
	rte_free(w->svc_flows);
	rte_free(w->aff);
	rte_hash_free(w->affinity);
	ef_ct_free(w->ct);
	rte_free(w);
}

void
ef_fwd_counters_sum(const struct ef_fwd_shared *sh,
		    struct ef_fwd_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < sh->n_workers; i++) {
		const uint64_t *src;
		uint64_t *dst = (uint64_t *)out;

		if (sh->workers[i] == NULL)
			continue;
		src = (const uint64_t *)&sh->workers[i]->c;
		for (size_t j = 0; j < sizeof(*out) / sizeof(uint64_t); j++)
			dst[j] += __atomic_load_n(&src[j], __ATOMIC_RELAXED);
	}
}

/*
 * Commands come from the control lcore and the telemetry thread, hence a
 * multi-producer ring. A worker answers within one poll; a timeout means a
 * stuck worker, and then the caller must not free cmd (the worker may
 * still write it): callers leak it deliberately and say so.
 */
int
ef_fwd_command(struct ef_fwd_shared *sh, uint32_t w, struct ef_fwd_cmd *cmd,
	       uint32_t timeout_ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000 };

	if (w >= sh->n_workers)
		return -EINVAL;
	cmd->done = 0;
	if (rte_ring_mp_enqueue(sh->workers[w]->cmd, cmd) != 0)
		return -ENOBUFS;
	for (uint32_t waited = 0; waited < timeout_ms * 5; waited++) {
		if (__atomic_load_n(&cmd->done, __ATOMIC_ACQUIRE))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}
