/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The burst pipeline: classify each frame, hand it to its owner or look
 * its flow up (staged over the burst), then a tracked packet is rewritten
 * and routed, a new one finds its service, endpoint and SNAT port.
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include "ef_fwd.h"
#include "ef_route.h"
#include "fwd_priv.h"
#include "fwd_proxy.h"
#include "fwd_syn.h"

EF_LOG_REGISTER(fwd);

/* Live SNAT flows per address (edgefwd_snat_ports_in_use{address}): at
 * most EF_NAT_MAX_ADDRS compares, once per SNAT'd flow created or closed. */
static inline void
snat_addr_count(struct ef_fwd_worker *w, uint32_t snat, int d)
{
	const struct ef_nat_map *m = w->sh->nat_map;

	for (uint32_t i = 0; m != NULL && i < m->n_addrs &&
	     i < RTE_DIM(w->c.snat_by_addr); i++)
		if (m->addrs[i] == snat) {
			w->c.snat_by_addr[i] += (uint64_t)(int64_t)d;
			return;
		}
}

void
ef_fwd_flow_closed(struct ef_fwd_worker *w, const struct ef_ct_flow *f)
{
	if (f->svc_id < w->n_svc_ids)
		w->svc[f->svc_id].flows--;
	if (f->snat != 0) {
		w->c.snat_flows--;
		snat_addr_count(w, f->snat, -1);
	}
	w->c.flows_closed++;
}

/*
 * IPv4 options on service traffic (docs/RELIABILITY.md): source routes
 * are dropped on arrival (has_source_route, as RFC 7126 advises and as
 * Linux does by default); every other option is overwritten with NOPs in
 * both directions before the rewrite, length unchanged. Record Route and
 * Timestamp would otherwise carry the endpoint's or the SNAT address's
 * recordings out to the client (a pod echoes the client's Record Route in
 * its SYN-ACK), and a balancer that hides its backends must not hand out
 * their addresses; a router would add its own address, we add none.
 */
static bool
has_source_route(const uint8_t *frame, const struct ef_pkt_meta *pm)
{
	const uint8_t *o = frame + pm->l3_off + 20;
	uint32_t n = (uint32_t)(frame[pm->l3_off] & 0x0f) * 4 - 20;

	for (uint32_t i = 0; i < n;) {
		uint8_t type = o[i];

		if (type == 0)		/* end of list */
			break;
		if (type == 1) {	/* NOP */
			i++;
			continue;
		}
		if (type == 0x83 || type == 0x89)	/* LSRR, SSRR */
			return true;
		if (i + 1 >= n || o[i + 1] < 2)
			break;		/* malformed: cleared anyway */
		i += o[i + 1];
	}
	return false;
}

static void
clear_ip_options(struct ef_fwd_worker *w, uint8_t *frame,
		 const struct ef_pkt_meta *pm)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + pm->l3_off);
	uint32_t n = (uint32_t)(ip->version_ihl & 0x0f) * 4 - 20;

	memset(frame + pm->l3_off + 20, 1, n);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	w->c.ip_options_cleared++;
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
		ef_fwd_icmp_error(w, m, pm, 11, 0, 0, 0);
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
			ef_fwd_icmp_error(w, m, pm, 3, 4, op->mtu, 0);
		else
			rte_pktmbuf_free(m);
		return;
	}
	if (unlikely(pm->flags & EF_PKT_F_IP_OPTIONS))
		clear_ip_options(w, frame, pm);
	ef_nat_apply(frame, pm, f, dir);
	ef_pkt_ttl_dec4(frame, pm);
	if (likely(f->svc_id < w->n_svc_ids)) {
		w->svc[f->svc_id].packets++;
		w->svc[f->svc_id].bytes += m->pkt_len;
	}
	if (unlikely(neigh_mac(w, nh.iface, nh.gw,
			       eh->dst_addr.addr_bytes) != 0)) {
		ef_fwd_hold(w, m, nh.iface, nh.gw);
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
	if (unlikely(pm->flags & EF_PKT_F_IP_OPTIONS))
		clear_ip_options(w, frame, pm);
	ef_nat_apply_icmp_error(frame, pm, f, dir);
	if (unlikely(ef_route_lookup4(g->routes, pm->dst.v4, &nh) != 0)) {
		drop(w, m, EF_FWD_DROP_NO_ROUTE);
		return;
	}
	ef_pkt_ttl_dec4(frame, pm);
	w->c.icmp_errors_translated++;
	if (unlikely(neigh_mac(w, nh.iface, nh.gw,
			       eh->dst_addr.addr_bytes) != 0)) {
		ef_fwd_hold(w, m, nh.iface, nh.gw);
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

/* The Maglev hash of a new flow k of fe: the client address alone under
 * ClientIP affinity, else the 5-tuple. */
static inline uint32_t
pick_hash(const struct ef_svc_frontend *fe, const struct ef_ct_key4 *k)
{
	return ef_fwd_pick_hash((fe->flags & EF_SVC_FE_AFFINITY) ?
				rte_hash_crc_4byte(k->src, 0x9e3779b9) :
				flow_hash(k));
}

/* This node's key in cfg->nodes (ef_edge.h: its IPv4 address, or its
 * IPv6 address's key), EF_EDGE_NO_KEY when not listed. Linear in the
 * nodes, only for a new flow of an "encap" frontend. */
uint32_t
ef_fwd_self_addr(const struct ef_fwd_worker *w)
{
	const struct ef_cfg *cfg = w->gen->cfg;
	const struct ef_cfg_node *n = ef_cfg_node_find(cfg, cfg->node_name);

	return n != NULL ? w->gen->node_keys[n - cfg->nodes] : EF_EDGE_NO_KEY;
}

/*
 * The frontend a first packet is for, or -1 once m has been dealt with:
 * ICMP and traffic to our addresses that no frontend claims are the
 * node's (echo, exception path) or dropped; a TCP segment other than a
 * plain SYN opens nothing (a load balancer must not pick up mid-stream
 * segments: the endpoint would RST), except the ACK answering a SYN
 * cookie (*cookie set to its MSS index; else -1).
 */
/* fi argument of new_flow_fi(): the frontend not looked up yet. */
#define FI_UNKNOWN INT32_MIN

static int32_t
new_flow_frontend(struct ef_fwd_worker *w, struct rte_mbuf *m,
		  struct ef_pkt_meta *pm, const struct ef_ct_key4 *k,
		  int32_t fi_known, int *cookie)
{
	const struct ef_svc_gen *g = w->gen;
	uint32_t own;
	int32_t fi;

	if (pm->proto == IPPROTO_ICMP) {
		own = ef_svc_owned4(g, k->dst);
		if (own != 0)
			ef_fwd_local_delivery(w, m, pm, own);
		else
			drop(w, m, EF_FWD_DROP_NO_FLOW);
		return -1;
	}
	fi = fi_known != FI_UNKNOWN ? fi_known :
		ef_svc_lookup(g, k->dst, k->dport, k->proto);
	if (fi < 0) {
		own = ef_svc_owned4(g, k->dst);
		/* not ours, or a SNAT port nobody holds (never the kernel's) */
		if (own == 0 || ((own & EF_SVC_OWN_SNAT) &&
				 ef_nat_port_owner(w->sh->nat_map,
						   rte_be_to_cpu_16(k->dport)) !=
				 UINT32_MAX))
			drop(w, m, EF_FWD_DROP_NO_FLOW);
		else
			ef_fwd_local_delivery(w, m, pm, own);
		return -1;
	}
	if (g->fes[fi].flags & EF_SVC_FE_EDGE) {
		/* any segment: a mid-flow one takes the Maglev choice */
		ef_fwd_edge(w, m, pm, &g->fes[fi]);
		return -1;
	}
	if (pm->proto == IPPROTO_TCP) {
		uint8_t fl = pm->tcp_flags;

		if ((fl & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG |
			   RTE_TCP_FIN_FLAG)) != RTE_TCP_SYN_FLAG &&
		    (g->fes[fi].flags & EF_SVC_FE_ENCAP) &&
		    !ef_fwd_is_decapsulated(m) &&
		    ef_fwd_encap_remote(w, m, pm, &g->fes[fi],
					ef_fwd_self_addr(w)) != 0)
			return -1;	/* a flow sent to another node */
		if ((fl & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG |
			   RTE_TCP_FIN_FLAG)) == RTE_TCP_ACK_FLAG &&
		    !(g->fes[fi].flags & EF_SVC_FE_ENCAP) &&
		    !ef_fwd_is_decapsulated(m)) {
			*cookie = ef_fwd_syn_check(w, rte_pktmbuf_mtod(m,
						const uint8_t *), pm);
			if (*cookie >= 0)
				return fi;
		}
		if ((fl & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG |
			   RTE_TCP_FIN_FLAG)) != RTE_TCP_SYN_FLAG) {
			drop(w, m, (fl & RTE_TCP_SYN_FLAG) ?
			     EF_FWD_DROP_CT_INVALID : EF_FWD_DROP_NO_FLOW);
			return -1;
		}
	}
	return fi;
}

/*
 * The endpoint of a new flow of frontend fe: the client's remembered one
 * (ClientIP affinity, *from_affinity set), else the Maglev choice. False
 * once m has been dealt with (no local endpoint: dropped; none at all:
 * rejected).
 */
static bool
new_flow_endpoint(struct ef_fwd_worker *w, struct rte_mbuf *m,
		  struct ef_pkt_meta *pm, const struct ef_ct_key4 *k,
		  const struct ef_svc_frontend *fe, uint32_t svc_id,
		  uint32_t *epi, bool *from_affinity)
{
	const struct ef_svc_port *sp = &w->gen->sps[fe->sp_idx];
	int32_t ai = -1;
	uint32_t h;

	if (fe->flags & EF_SVC_FE_AFFINITY)
		ai = ef_fwd_affinity_get(w, fe, sp, svc_id, k->src);
	*from_affinity = ai >= 0;
	if (ai >= 0) {
		*epi = (uint32_t)ai;
		return true;
	}
	h = pick_hash(fe, k);
	switch (ef_svc_pick(w->gen, fe, h, epi)) {
	case EF_SVC_PICK_OK:
		return true;
	case EF_SVC_PICK_NO_LOCAL:
		drop(w, m, EF_FWD_DROP_NO_LOCAL_ENDPOINT);
		return false;
	default:
		w->c.drops[EF_FWD_DROP_NO_ENDPOINT]++;
		ef_fwd_reject(w, m, pm);
		return false;
	}
}

static void tracked(struct ef_fwd_worker *w, struct rte_mbuf *m,
		    struct ef_pkt_meta *pm, struct ef_ct_flow *f, uint8_t dir,
		    const struct ef_ct_key4 *k);

/*
 * Enter the flow k -> ep (SNAT'd to snat:sport when snat != 0) in the
 * table, both directions, with the counters that follow it. NULL once m
 * has been dealt with: dropped (table full, or the reply tuple taken), or
 * sent along the flow an earlier packet of its burst opened.
 */
static struct ef_ct_flow *
new_flow_install(struct ef_fwd_worker *w, struct rte_mbuf *m,
		 struct ef_pkt_meta *pm, const struct ef_ct_key4 *k,
		 const struct ef_svc_endpoint *ep, uint32_t snat,
		 uint16_t sport, uint32_t svc_id)
{
	struct ef_ct_key4 rk;
	struct ef_ct_flow *f;
	int err;

	memset(&rk, 0, sizeof(rk));
	rk.src = ep->addr;
	rk.sport = ep->port;
	rk.dst = snat != 0 ? snat : k->src;
	rk.dport = snat != 0 ? sport : k->sport;
	rk.proto = k->proto;
	f = ef_ct_create_flow(w->ct, k, &rk, w->now_ms, &err);
	if (f == NULL) {
		uint8_t dir;

		/* an earlier packet of this burst (looked up together, before
		 * it created the flow: a client's datagrams back to back, a
		 * retransmitted SYN) opened it: this one follows */
		if (err == -EEXIST &&
		    (f = ef_ct_lookup(w->ct, k, &dir)) != NULL) {
			tracked(w, m, pm, f, dir, k);
			return NULL;
		}
		drop(w, m, err == -ENOSPC ? EF_FWD_DROP_CT_FULL :
		     EF_FWD_DROP_CT_INVALID);
		return NULL;
	}
	f->client = k->src;
	f->cport = k->sport;
	f->frontend = k->dst;
	f->fport = k->dport;
	f->endpoint = ep->addr;
	f->eport = ep->port;
	f->snat = snat;
	f->sport_snat = sport;
	f->svc_id = svc_id;
	f->gen = (uint32_t)w->gen->number;
	w->c.flows_created++;
	if (snat != 0) {
		w->c.snat_flows++;
		snat_addr_count(w, snat, 1);
	}
	if (svc_id < w->n_svc_ids)
		w->svc[svc_id].flows++;
	return f;
}

/*
 * A cookie ACK and the client's first data often share a burst: both were
 * looked up before the ACK opened the flow. True when an earlier packet of
 * the burst created k's flow (m went its way).
 */
static bool
opened_in_burst(struct ef_fwd_worker *w, struct rte_mbuf *m,
		struct ef_pkt_meta *pm, const struct ef_ct_key4 *k)
{
	struct ef_ct_flow *f;
	uint8_t dir;

	if (likely(!w->syn_any) || pm->proto != IPPROTO_TCP ||
	    (pm->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) !=
	    RTE_TCP_ACK_FLAG)
		return false;
	f = ef_ct_lookup(w->ct, k, &dir);
	if (f == NULL)
		return false;
	tracked(w, m, pm, f, dir, k);
	return true;
}

/* A packet no flow claims: frontend (fi: ef_svc_lookup()'s answer for k,
 * or FI_UNKNOWN), endpoint, SNAT port, flow, forward. */
static void
new_flow_fi(struct ef_fwd_worker *w, struct rte_mbuf *m,
	    struct ef_pkt_meta *pm, const struct ef_ct_key4 *k, int32_t fi)
{
	const struct ef_svc_gen *g = w->gen;
	const struct ef_svc_frontend *fe;
	struct ef_svc_frontend fe_local;
	const struct ef_svc_port *sp;
	const struct ef_svc_endpoint *ep;
	uint32_t snat = 0, epi, svc_id;
	struct ef_ct_flow *f;
	uint16_t sport = 0;
	bool from_affinity;
	int cookie = -1;

	if (unlikely(opened_in_burst(w, m, pm, k)))
		return;
	fi = new_flow_frontend(w, m, pm, k, fi, &cookie);
	if (fi < 0)
		return;
	fe = &g->fes[fi];
	if (unlikely(ef_fwd_is_decapsulated(m))) {
		/* from an edge or a peer's "encap": served here, Local, the
		 * client address kept (docs/EDGE.md) */
		fe_local = *fe;
		fe_local.flags = (uint8_t)((fe->flags | EF_SVC_FE_LOCAL) &
			~(EF_SVC_FE_SNAT | EF_SVC_FE_SNAT_REMOTE |
			  EF_SVC_FE_ENCAP));
		fe = &fe_local;
	} else if (unlikely(fe->flags & EF_SVC_FE_ENCAP) &&
		   ef_fwd_encap_remote(w, m, pm, fe, ef_fwd_self_addr(w)) != 0) {
		return;
	} else if (fe->flags & EF_SVC_FE_ENCAP) {
		/* our own node's share: Local, no SNAT */
		fe_local = *fe;
		fe_local.flags = (uint8_t)((fe->flags | EF_SVC_FE_LOCAL) &
					   ~EF_SVC_FE_ENCAP);
		fe = &fe_local;
	}
	sp = &g->sps[fe->sp_idx];
	svc_id = g->svcs[sp->svc_idx].stable_id;
	if (unlikely(pm->ttl <= 1)) {
		w->c.drops[EF_FWD_DROP_TTL_EXCEEDED]++;
		ef_fwd_icmp_error(w, m, pm, 11, 0, 0, 0);
		return;
	}
	if (ef_fwd_over_quota(w, m, &g->svcs[sp->svc_idx], svc_id))
		return;
	if (!new_flow_endpoint(w, m, pm, k, fe, svc_id, &epi, &from_affinity))
		return;
	if (cookie < 0 && pm->proto == IPPROTO_TCP &&
	    !(g->fes[fi].flags & EF_SVC_FE_ENCAP) &&
	    !ef_fwd_is_decapsulated(m) && unlikely(ef_fwd_syn_wanted(w))) {
		/* SYN flood defence: no state until the client answers */
		ef_fwd_syn_reply(w, m, pm);
		return;
	}
	ep = &sp->eps[epi];
	if (((fe->flags & EF_SVC_FE_SNAT) ||
	     ((fe->flags & EF_SVC_FE_SNAT_REMOTE) &&
	      !(ep->flags & EF_SVC_EP_LOCAL))) &&
	    ef_nat_snat_pick(&w->nat, w->ct, k->src, k->sport, ep->addr,
			     ep->port, k->proto, &snat, &sport) != 0) {
		drop(w, m, EF_FWD_DROP_SNAT_EXHAUSTED);
		return;
	}
	/* lib/nat counts; the worker's counters mirror it for readers */
	w->c.snat_rss_fallback = w->nat.rss_fallback;
	f = new_flow_install(w, m, pm, k, ep, snat, sport, svc_id);
	if (f == NULL)
		return;
	/* a cookie's ACK: the endpoint gets the client's SYN (fwd_syn.h) */
	if (unlikely(cookie >= 0) &&
	    !ef_fwd_syn_open(w, f, m, pm, (uint32_t)cookie))
		return;
	if (unlikely(sp->proxy != EF_PROXY_NONE) && k->proto == IPPROTO_TCP)
		ef_fwd_proxy_open(w, f, sp->proxy, rte_pktmbuf_mtod(m, uint8_t *),
				  pm);
	ef_ct_update(w->ct, f, 0, rte_pktmbuf_mtod(m, uint8_t *), pm,
		     w->now_ms);
	if ((fe->flags & EF_SVC_FE_AFFINITY) && !from_affinity)
		ef_fwd_affinity_put(w, fe, sp, svc_id, k->src, ep);
	forward(w, m, pm, f, 0);
}

static void
new_flow(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm,
	 const struct ef_ct_key4 *k)
{
	new_flow_fi(w, m, pm, k, FI_UNKNOWN);
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

	if (ef_svc_endpoint_kept(g, f->svc_id, f->gen) ||
	    ef_svc_endpoint_exists(g, f->svc_id, f->endpoint, f->eport,
				   f->proto)) {
		f->gen = (uint32_t)g->number;
		return true;
	}
	ef_fwd_flow_closed(w, f);
	ef_ct_delete(w->ct, f);
	return false;
}

static inline void key_of(const struct ef_pkt_meta *pm, struct ef_ct_key4 *k);

/* The client segment held while f's endpoint had not answered, on its
 * way now that it has (fwd_syn.h). */
static void
syn_held_send(struct ef_fwd_worker *w, struct ef_ct_flow *f)
{
	struct rte_mbuf *h = ef_fwd_syn_release(w, f);
	struct ef_pkt_meta hm;
	struct ef_ct_key4 k0;

	if (h == NULL)
		return;
	if (ef_pkt_parse(rte_pktmbuf_mtod(h, const uint8_t *), h->data_len,
			 &hm) != 0) {
		drop(w, h, EF_FWD_DROP_PARSE_ERROR);
		return;
	}
	key_of(&hm, &k0);
	tracked(w, h, &hm, f, 0, &k0);
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
	/* SYN proxy: ct sees the endpoint's numbers (fwd_syn.h) */
	if (unlikely(f->user[0] & EF_FWD_FLOW_SYNPROXY) &&
	    ef_fwd_syn_pre(w, f, dir, m, pm))
		return;
	/* PROXY protocol: ct sees the client's numbers (fwd_proxy.h) */
	if (unlikely(f->user[0] & EF_FWD_FLOW_PROXY))
		ef_fwd_proxy_pre(w, f, dir, frame, pm);
	v = ef_ct_update(w->ct, f, dir, frame, pm, w->now_ms);
	if (unlikely(v != EF_CT_VERDICT_OK)) {
		if (v == EF_CT_VERDICT_NEW_AFTER_CLOSE && dir == 0) {
			ef_fwd_flow_closed(w, f);
			ef_ct_delete(w->ct, f);
			new_flow(w, m, pm, k);
			return;
		}
		drop(w, m, EF_FWD_DROP_CT_INVALID);
		return;
	}
	if (unlikely(f->user[0] & EF_FWD_FLOW_PROXY))
		ef_fwd_proxy_post(w, f, dir, frame, pm);
	if (unlikely(f->user[0] & EF_FWD_FLOW_SYNPROXY)) {
		v = ef_fwd_syn_post(w, f, dir, m, pm);
		if (v < 0)
			return;
		if (v > 0) {
			/* the endpoint's SYN-ACK became the client's ACK */
			if (ef_ct_update(w->ct, f, 0, frame, pm, w->now_ms) !=
			    EF_CT_VERDICT_OK) {
				drop(w, m, EF_FWD_DROP_CT_INVALID);
				return;
			}
			/* the handshake's last ACK: a PROXY header goes now,
			 * before it (a server that speaks first waits) */
			if (f->user[0] & EF_FWD_FLOW_PROXY)
				ef_fwd_proxy_post(w, f, 0, frame, pm);
			forward(w, m, pm, f, 0);
			syn_held_send(w, f);
			return;
		}
	}
	forward(w, m, pm, f, dir);
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

/* classify()'s answers */
enum {
	CL_DONE,	/* m has been dealt with */
	CL_IPV4,	/* IPv4 TCP/UDP/ICMP for the flow table */
	CL_IPV6,	/* IPv6: fwd6.c's stage 1 next */
};

static int classify(struct ef_fwd_worker *w, struct rte_mbuf *m,
		    struct ef_pkt_meta *pm);

/* An IPv6 frame on a node with decap: the inner frame's class when it was
 * an IPv6 underlay's tunnel packet to us (docs/EDGE.md), CL_DONE when it
 * was refused (counted), else CL_IPV6. */
static int
classify_decap6(struct ef_fwd_worker *w, struct rte_mbuf *m,
		struct ef_pkt_meta *pm)
{
	int rc = ef_fwd_decap(w, m, pm);

	if (rc < 0)
		return CL_DONE;
	return rc > 0 ? classify(w, m, pm) : CL_IPV6;
}

/*
 * First look at a received frame (pm parsed): CL_IPV4 or CL_IPV6, else
 * CL_DONE once m has been dealt with (ARP, the node's own traffic,
 * link-local groups, or a counted drop).
 */
static inline int
classify(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm)
{
	const uint8_t *frame;

	if (unlikely(m->nb_segs != 1)) {
		drop(w, m, EF_FWD_DROP_MULTI_SEGMENT);
		return CL_DONE;
	}
	frame = rte_pktmbuf_mtod(m, const uint8_t *);
	if (unlikely(ef_pkt_parse(frame, m->data_len, pm) != 0)) {
		drop(w, m, EF_FWD_DROP_PARSE_ERROR);
		return CL_DONE;
	}
	if (unlikely(pm->l3 != EF_PKT_L3_IPV4)) {
		if (pm->l3 == EF_PKT_L3_ARP && !(pm->flags & EF_PKT_F_VLAN))
			ef_fwd_arp(w, m, pm);
		else if (pm->l3 == EF_PKT_L3_IPV6 &&
			 !(pm->flags & EF_PKT_F_VLAN) && w->ct6 != NULL)
			return unlikely(w->gen->decap != NULL) ?
				classify_decap6(w, m, pm) : CL_IPV6;
		else if (pm->l3 == EF_PKT_L3_IPV6 &&
			 !(pm->flags & EF_PKT_F_VLAN))
			to_control(w, m);	/* no IPv6 configured: the node's */
		else
			drop(w, m, EF_FWD_DROP_UNSUPPORTED);
		return CL_DONE;
	}
	if (unlikely(pm->flags & (EF_PKT_F_VLAN | EF_PKT_F_BCAST_SRC))) {
		drop(w, m, (pm->flags & EF_PKT_F_VLAN) ?
		     EF_FWD_DROP_UNSUPPORTED : EF_FWD_DROP_BAD_SOURCE);
		return CL_DONE;
	}
	if (unlikely(ip4_group(pm->dst.v4))) {
		/* link-local multicast (224.0.0.0/24: IGMP reports a bridge
		 * sends when a port comes up, mDNS, VRRP, OSPF) and limited
		 * broadcast are the node's business, as ND is for IPv6: its
		 * kernel; other groups are not routed here */
		if (ip4_link_local_group(pm->dst.v4))
			to_control(w, m);
		else
			drop(w, m, EF_FWD_DROP_MULTICAST);
		return CL_DONE;
	}
	if (unlikely(pm->src.v4 == pm->dst.v4)) {
		drop(w, m, EF_FWD_DROP_BAD_SOURCE);	/* LAND */
		return CL_DONE;
	}
	if (unlikely(pm->flags & EF_PKT_F_IP_OPTIONS) &&
	    has_source_route(frame, pm)) {
		drop(w, m, EF_FWD_DROP_IP_SOURCE_ROUTE);
		return CL_DONE;
	}
	if (!(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_GOOD) &&
	    unlikely(!ef_pkt_ip4_csum_ok(frame, pm))) {
		drop(w, m, EF_FWD_DROP_BAD_CHECKSUM);
		return CL_DONE;
	}
	if (unlikely(w->gen->decap != NULL)) {
		int rc = ef_fwd_decap(w, m, pm);

		if (rc < 0)
			return CL_DONE;
		if (rc > 0)	/* the inner frame, once (flagged) */
			return classify(w, m, pm);
	}
	if (unlikely((pm->flags & EF_PKT_F_FRAG) ||
		     !(pm->flags & (EF_PKT_F_L4 | EF_PKT_F_ICMP_ERROR)))) {
		/* the node's own fragments and protocols go to the kernel; we
		 * do not reassemble transit fragments */
		if (ef_svc_owned4(w->gen, pm->dst.v4) & EF_SVC_OWN_IFACE)
			to_control(w, m);
		else
			drop(w, m, (pm->flags & EF_PKT_F_FRAG) ?
			     EF_FWD_DROP_FRAGMENT : EF_FWD_DROP_UNSUPPORTED);
		return CL_DONE;
	}
	return CL_IPV4;
}

/* An ICMP error that no flow claims: the node's, or dropped. */
static void
untracked_icmp_error(struct ef_fwd_worker *w, struct rte_mbuf *m,
		     const struct ef_pkt_meta *pm)
{
	if (ef_svc_owned4(w->gen, pm->dst.v4) & EF_SVC_OWN_IFACE)
		to_control(w, m);
	else
		drop(w, m, EF_FWD_DROP_ICMP_UNTRACKED);
}

/*
 * The flow key of a classified frame (for an ICMP error: the key of the
 * flow it quotes, *is_err set). False once m has been dealt with.
 */
static inline bool
flow_key(struct ef_fwd_worker *w, struct rte_mbuf *m,
	 const struct ef_pkt_meta *pm, struct ef_ct_key4 *k, bool *is_err)
{
	*is_err = (pm->flags & EF_PKT_F_ICMP_ERROR) != 0;
	if (!*is_err) {
		key_of(pm, k);
		return true;
	}
	if (ef_nat_icmp_key(pm, k) == 0)
		return true;
	/* an error quoting no ports cannot be ours */
	untracked_icmp_error(w, m, pm);
	return false;
}

/* True when another worker owns k: m went to it (or was dropped). */
static inline bool
handed_off(struct ef_fwd_worker *w, struct rte_mbuf *m,
	   const struct ef_ct_key4 *k)
{
	uint32_t o = ef_fwd_owner(w->sh, w->gen, k);
	struct rte_ring *r;

	if (o == w->idx)
		return false;
	r = w->sh->workers[o]->handoff_in[w->idx];
	if (rte_ring_sp_enqueue(r, m) != 0)
		drop(w, m, EF_FWD_DROP_HANDOFF_FULL);
	else
		w->c.handoff_packets++;
	return true;
}

/*
 * Stage 2b, where the configuration has nodes: the frontend of each
 * packet conntrack does not know (fi[j], -1 none; FI_UNKNOWN for ICMP
 * errors and ICMP, which new_flow() sorts out before any frontend), and
 * for an edge frontend's (which keep no conntrack entry) the edge flow
 * table, staged over the burst: pre[pj[j]]. The lookups are those
 * new_flow() would make, in the same generation, so nothing changes but
 * their order (ef_fwd_edge_staged() looks up again what an earlier
 * packet of the burst may have inserted).
 */
static void
edge_stage(struct ef_fwd_worker *w, const struct ef_ct_key4 *keys,
	   struct ef_ct_flow *const *flows, const bool *is_err, uint16_t nk,
	   int32_t *fi, uint8_t *pj, struct ef_fwd_edge_pre *pre)
{
	const struct ef_svc_gen *g = w->gen;
	uint32_t ne = 0;

	for (uint16_t j = 0; j < nk; j++) {
		const struct ef_ct_key4 *k = &keys[j];
		int32_t f;

		fi[j] = FI_UNKNOWN;
		pj[j] = 0;
		if (flows[j] != NULL || is_err[j] || k->proto == IPPROTO_ICMP)
			continue;
		f = ef_svc_lookup(g, k->dst, k->dport, k->proto);
		fi[j] = f;
		if (f < 0 || !(g->fes[f].flags & EF_SVC_FE_EDGE))
			continue;
		pre[ne].key.src = k->src;
		pre[ne].key.dst = k->dst;
		pre[ne].key.sport = k->sport;
		pre[ne].key.dport = k->dport;
		pre[ne].key.proto = k->proto;
		memset(pre[ne].key.pad, 0, sizeof(pre[ne].key.pad));
		pj[j] = (uint8_t)ne++;
	}
	ef_fwd_edge_lookup_bulk(w, pre, ne);
}

/* Prefetch an object of size bytes (<= 64) at p: its one cache line, or
 * both when it straddles two (the 36- to 56-byte records of a generation
 * are packed, not line-aligned). */
static inline void
prefetch_obj(const void *p, size_t size)
{
	uintptr_t a = (uintptr_t)p;

	rte_prefetch0(p);
	if (((a ^ (a + size - 1)) & ~(uintptr_t)(RTE_CACHE_LINE_SIZE - 1)) != 0)
		rte_prefetch0((const void *)(a + size - 1));
}

/*
 * The last stage of new_flow_stage(): the conntrack buckets of each new
 * flow's reply key -- for a flow SNAT'd to its endpoint the one the SNAT
 * pick will probe first (ef_ct_key_in_use(), then ef_ct_create_flow()
 * inserts it), else endpoint -> client -- and the flow entries the
 * burst's new flows will take: at 1 M flows those are DRAM misses that
 * one new flow after another paid in turn.
 */
static void
snat_stage(struct ef_fwd_worker *w, const struct ef_ct_key4 *keys,
		const uint16_t *at, const int32_t *res,
		const struct ef_svc_port *const *sp, const uint16_t *const *slot,
		uint16_t n)
{
	const struct ef_svc_gen *g = w->gen;
	uint16_t ahead[EF_NAT_MAX_ADDRS] = { 0 };

	ef_ct_prefetch_free(w->ct, n);
	for (uint16_t i = 0; i < n; i++) {
		const struct ef_ct_key4 *k = &keys[at[i]];
		const struct ef_svc_endpoint *ep;
		struct ef_ct_key4 rk;
		uint8_t fl;

		if (slot[i] == NULL || *slot[i] >= sp[i]->n_eps)
			continue;
		ep = &sp[i]->eps[*slot[i]];
		fl = g->fes[res[i]].flags;
		if (!((fl & EF_SVC_FE_SNAT) || ((fl & EF_SVC_FE_SNAT_REMOTE) &&
						!(ep->flags & EF_SVC_EP_LOCAL)))) {
			/* no SNAT: the reply key is endpoint -> client,
			 * which ef_ct_create_flow() looks up and inserts */
			memset(&rk, 0, sizeof(rk));
			rk.src = ep->addr;
			rk.sport = ep->port;
			rk.dst = k->src;
			rk.dport = k->sport;
			rk.proto = k->proto;
			ef_ct_prefetch_key(w->ct, &rk);
			continue;
		}
		if (ef_nat_snat_first_probe(&w->nat, k->src, ep->addr,
					    ep->port, k->proto, ahead, &rk))
			ef_ct_prefetch_key(w->ct, &rk);
	}
}

/*
 * Stage 2c, for the packets conntrack does not know (new flows): their
 * frontends in one bulk lookup (fi[j]; -1 none; FI_UNKNOWN for ICMP and
 * ICMP errors, as edge_stage()), then, a stage ahead of their reads, what
 * new_flow_fi() will read of each: the frontend, its service port, the
 * port's pool, service and counters, the Maglev entry, the endpoint.
 * With many services each of these is a cache miss, and one after another
 * they cost a new flow ~4x what one service costs (edgefwd-bench
 * --services); staged over the burst, the misses of all its new flows
 * overlap (as rte_hash_lookup_bulk stages its own, and VPP's nodes their
 * quads). The prefetches are hints: new_flow_fi() decides everything
 * again, on the same generation.
 */
static void
new_flow_stage(struct ef_fwd_worker *w, const struct ef_ct_key4 *keys,
	       struct ef_ct_flow *const *flows, const bool *is_err, uint16_t nk,
	       int32_t *fi)
{
	const struct ef_svc_gen *g = w->gen;
	struct ef_svc_fe_key fk[EF_FWD_BURST_MAX];
	int32_t res[EF_FWD_BURST_MAX];
	const struct ef_svc_port *sp[EF_FWD_BURST_MAX];
	const uint16_t *slot[EF_FWD_BURST_MAX];
	uint16_t at[EF_FWD_BURST_MAX];
	uint16_t n = 0;

	for (uint16_t j = 0; j < nk; j++) {
		const struct ef_ct_key4 *k = &keys[j];

		fi[j] = FI_UNKNOWN;
		if (flows[j] != NULL || is_err[j] || k->proto == IPPROTO_ICMP)
			continue;
		fk[n].addr = k->dst;
		fk[n].port = k->dport;
		fk[n].proto = k->proto;
		fk[n].pad = 0;
		at[n++] = j;
	}
	if (n == 0)
		return;
	ef_svc_lookup_bulk(g, fk, n, res);
	for (uint16_t i = 0; i < n; i++) {
		fi[at[i]] = res[i];
		if (res[i] >= 0)
			prefetch_obj(&g->fes[res[i]], sizeof(g->fes[0]));
	}
	for (uint16_t i = 0; i < n; i++) {
		sp[i] = res[i] >= 0 ? &g->sps[g->fes[res[i]].sp_idx] : NULL;
		if (sp[i] != NULL)
			prefetch_obj(sp[i], sizeof(*sp[i]));
	}
	for (uint16_t i = 0; i < n; i++) {
		if (sp[i] == NULL)
			continue;
		prefetch_obj(ef_svc_pool_get(sp[i]), sizeof(struct ef_svc_pool));
		prefetch_obj(&g->svcs[sp[i]->svc_idx], sizeof(g->svcs[0]));
	}
	for (uint16_t i = 0; i < n; i++) {
		const struct ef_svc_frontend *fe;
		const struct ef_svc_pool *p;
		const uint16_t *tbl;
		uint32_t size, stable;

		slot[i] = NULL;
		if (sp[i] == NULL)
			continue;
		stable = g->svcs[sp[i]->svc_idx].stable_id;
		if (stable < w->n_svc_ids)
			rte_prefetch0(&w->svc[stable]);
		fe = &g->fes[res[i]];
		p = ef_svc_pool_get(sp[i]);
		tbl = (fe->flags & EF_SVC_FE_LOCAL) ? p->tbl_local : p->tbl_all;
		size = (fe->flags & EF_SVC_FE_LOCAL) ? p->size_local :
			p->size_all;
		if (tbl == NULL || size == 0)
			continue;
		slot[i] = &tbl[((uint64_t)pick_hash(fe, &keys[at[i]]) *
				size) >> 32];
		rte_prefetch0(slot[i]);
	}
	for (uint16_t i = 0; i < n; i++)
		if (slot[i] != NULL && *slot[i] < sp[i]->n_eps)
			prefetch_obj(&sp[i]->eps[*slot[i]],
				     sizeof(struct ef_svc_endpoint));
	snat_stage(w, keys, at, res, sp, slot, n);
}

/* Stages 2 and 3 of the burst's IPv6 flow-table frames (fwd6.c). */
static __rte_noinline void
process6(struct ef_fwd_worker *w, struct rte_mbuf **pkts,
	 struct ef_pkt_meta *meta, const struct ef_ct_key6 **kp6,
	 const uint16_t *idx6, uint16_t n6)
{
	struct ef_ct_flow *flows6[EF_FWD_BURST_MAX];
	uint8_t dirs6[EF_FWD_BURST_MAX];

	if (likely(ef_ct_stats(w->ct6)->active != 0))
		ef_ct_lookup6_bulk(w->ct6, kp6, n6, flows6, dirs6);
	else
		for (uint16_t j = 0; j < n6; j++)
			flows6[j] = NULL;
	for (uint16_t j = 0; j < n6; j++)
		ef_fwd6_flow(w, pkts[idx6[j]], &meta[idx6[j]], flows6[j],
			     flows6[j] != NULL ? dirs6[j] : 0, kp6[j]);
}

void
ef_fwd_process(struct ef_fwd_worker *w, struct rte_mbuf **pkts, uint16_t n,
	       bool handoff)
{
	struct ef_fwd_edge_pre pre[EF_FWD_BURST_MAX];
	int32_t fis[EF_FWD_BURST_MAX];
	uint8_t pj[EF_FWD_BURST_MAX];
	bool staged;
	struct ef_pkt_meta meta[EF_FWD_BURST_MAX];
	struct ef_ct_key4 keys[EF_FWD_BURST_MAX];
	const struct ef_ct_key4 *kp[EF_FWD_BURST_MAX];
	struct ef_ct_flow *flows[EF_FWD_BURST_MAX];
	uint8_t dirs[EF_FWD_BURST_MAX];
	uint16_t idx[EF_FWD_BURST_MAX];
	bool is_err[EF_FWD_BURST_MAX];
	/* the IPv6 frames of the burst (fwd6.c), staged as IPv4's */
	struct ef_ct_key6 keys6[EF_FWD_BURST_MAX];
	const struct ef_ct_key6 *kp6[EF_FWD_BURST_MAX];
	uint16_t idx6[EF_FWD_BURST_MAX];
	bool may_hand_off = !handoff && w->sh->n_workers > 1;
	uint16_t nk = 0, n6 = 0;

	memo_of(w)->valid = 0;
	w->nh6_memo.valid = 0;
	/* pkts[0..n) are filled by the caller's burst (the analyzer cannot
	 * see through rte_eth_rx_burst / rte_ring dequeues) */
	for (uint16_t i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *)); /* NOLINT(clang-analyzer-core.NullDereference) */
	/* stage 1: classify, key, hand off what another worker owns */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		if (!handoff) {
			w->c.rx_packets++;
			w->c.rx_bytes += m->pkt_len;
		}
		switch (classify(w, m, &meta[i])) {
		case CL_IPV4:
			if (!flow_key(w, m, &meta[i], &keys[nk], &is_err[nk]) ||
			    (may_hand_off && handed_off(w, m, &keys[nk])))
				break;
			kp[nk] = &keys[nk];
			idx[nk] = i;
			nk++;
			break;
		case CL_IPV6:
			if (!ef_fwd6_stage1(w, m, &meta[i], may_hand_off,
					    &keys6[n6]))
				break;
			kp6[n6] = &keys6[n6];
			idx6[n6] = i;
			n6++;
			break;
		default:
			break;
		}
	}
	if (unlikely(n6 != 0))
		process6(w, pkts, meta, kp6, idx6, n6);
	if (nk == 0)
		return;
	/* stage 2: the flow table, staged over the burst; an empty table
	 * (an edge appliance keeps no conntrack entry) answers no to all */
	if (likely(ef_ct_stats(w->ct)->active != 0))
		ef_ct_lookup_bulk(w->ct, kp, nk, flows, dirs);
	else
		for (uint16_t j = 0; j < nk; j++)
			flows[j] = NULL;
	staged = w->edge_flows != NULL && w->gen->cfg->n_nodes > 0;
	if (staged) {
		edge_stage(w, keys, flows, is_err, nk, fis, pj, pre);
	} else {
		new_flow_stage(w, keys, flows, is_err, nk, fis);
		/* the service counters of the known flows, read in stage 3 */
		for (uint16_t j = 0; j < nk; j++)
			if (flows[j] != NULL && flows[j]->svc_id < w->n_svc_ids)
				rte_prefetch0(&w->svc[flows[j]->svc_id]);
	}
	/* stage 3: each packet on its way */
	for (uint16_t j = 0; j < nk; j++) {
		struct rte_mbuf *m = pkts[idx[j]];
		struct ef_pkt_meta *pm = &meta[idx[j]];
		int32_t fi = fis[j];

		if (is_err[j] && flows[j] != NULL)
			forward_icmp_error(w, m, pm, flows[j], dirs[j]);
		else if (is_err[j])
			untracked_icmp_error(w, m, pm);
		else if (flows[j] != NULL)
			tracked(w, m, pm, flows[j], dirs[j], &keys[j]);
		else if (staged && fi >= 0 &&
			 (w->gen->fes[fi].flags & EF_SVC_FE_EDGE))
			ef_fwd_edge_staged(w, m, pm, &w->gen->fes[fi],
					   &pre[pj[j]]);
		else
			new_flow_fi(w, m, pm, &keys[j], fi);
	}
	memo_of(w)->valid = 0;
	w->nh6_memo.valid = 0;
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
