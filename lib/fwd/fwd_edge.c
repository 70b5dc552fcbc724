/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The edge paths of a worker (docs/EDGE.md):
 *  - an edge service's packet: steer to a node (flow table + weighted
 *    Maglev), clamp the MSS of SYNs, fit, encapsulate (or fragment), send;
 *  - a proxy-mode node's decapsulation from decap.sources;
 *  - cluster_forwarding = "encap": a Cluster flow whose node is another
 *    one goes there in a tunnel, unchanged, without SNAT.
 * Everything here runs on the worker lcore that owns w.
 */
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "ef_edge.h"
#include "ef_fwd.h"
#include "ef_route.h"
#include "ef_svc.h"
#include "fwd_priv.h"

/* Most fragments of one outer packet (a 9000-byte frame over 1280). */
#define EDGE_FRAGS_MAX 8

/* Bit of m->ol_flags marking a decapsulated frame (served as Local
 * external traffic, no SNAT, never decapsulated again), also across a
 * handoff to another worker. -1 until registered. */
static int decap_flag_bit = -1;

int
ef_fwd_edge_init(void)
{
	static const struct rte_mbuf_dynflag desc = {
		.name = "edgefwd_decapsulated",
	};

	if (decap_flag_bit < 0)
		decap_flag_bit = rte_mbuf_dynflag_register(&desc);
	return decap_flag_bit < 0 ? decap_flag_bit : 0;
}

static inline uint64_t
decap_flag(void)
{
	return decap_flag_bit < 0 ? 0 : RTE_BIT64(decap_flag_bit);
}

bool
ef_fwd_is_decapsulated(const struct rte_mbuf *m)
{
	return (m->ol_flags & decap_flag()) != 0;
}

static const enum ef_fwd_drop decap_drop[EF_EDGE_DECAP_RC_MAX] = {
	[EF_EDGE_DECAP_DENIED] = EF_FWD_DROP_DECAP_DENIED,
	[EF_EDGE_DECAP_FRAGMENT] = EF_FWD_DROP_DECAP_FRAGMENT,
	[EF_EDGE_DECAP_TRUNC] = EF_FWD_DROP_DECAP_TRUNCATED,
	[EF_EDGE_DECAP_BAD_CHECKSUM] = EF_FWD_DROP_DECAP_BAD_CHECKSUM,
	[EF_EDGE_DECAP_GUE_VERSION] = EF_FWD_DROP_DECAP_GUE_VERSION,
	[EF_EDGE_DECAP_GUE_CONTROL] = EF_FWD_DROP_DECAP_GUE_CONTROL,
	[EF_EDGE_DECAP_GUE_OPTIONS] = EF_FWD_DROP_DECAP_GUE_OPTIONS,
	[EF_EDGE_DECAP_INNER_NOT_IPV4] = EF_FWD_DROP_DECAP_INNER_NOT_IPV4,
	[EF_EDGE_DECAP_INNER_LEN] = EF_FWD_DROP_DECAP_INNER_LENGTH,
};

int
ef_fwd_decap(struct ef_fwd_worker *w, struct rte_mbuf *m,
	     struct ef_pkt_meta *pm)
{
	const struct ef_svc_gen *g = w->gen;
	int rc;

	if (likely(g->decap == NULL) || ef_fwd_is_decapsulated(m) ||
	    (pm->proto != IPPROTO_IPIP && pm->proto != IPPROTO_IPV6 &&
	     pm->proto != IPPROTO_UDP))
		return 0;
	if (pm->ip_version == 6) {
		/* an IPv6 underlay (ip6ip6, IPv4-in-IPv6, GUE over IPv6):
		 * only with IPv6 decap.sources, only to the interface's
		 * address, never along a routing header (a waypoint's) */
		if (!ef_edge_decap_has6(g->decap) ||
		    (pm->flags & EF_PKT_F_IP6_ROUTING) ||
		    !(ef_svc_owned6(g, pm->dst.v6) & EF_SVC_OWN_IFACE))
			return 0;
	} else if (!(ef_svc_owned4(g, pm->dst.v4) & EF_SVC_OWN_IFACE)) {
		return 0;
	}
	rc = ef_edge_decap(g->decap, m, pm);
	if (rc == EF_EDGE_DECAP_NOT_ENCAP)
		return 0;
	if (rc != EF_EDGE_DECAP_OK) {
		drop(w, m, decap_drop[rc]);
		return -1;
	}
	w->c.decap_packets++;
	m->ol_flags |= decap_flag();
	/* the inner checksum was not checked by the NIC */
	m->ol_flags &= ~RTE_MBUF_F_RX_IP_CKSUM_MASK;
	return 1;
}

/* One packet of service svc_id went to the node of counter slot slot:
 * encap_packets, the service's and the (service, node) counters move
 * together (telemetry's per-node packets sum to encap_packets). */
static inline void
count_sent(struct ef_fwd_worker *w, uint32_t svc_id, uint32_t slot)
{
	w->c.encap_packets++;
	if (likely(svc_id < w->n_svc_ids))
		w->svc[svc_id].packets++;
	if (likely(w->edge_ctr != NULL))
		ef_edge_flows_count(w->edge_ctr, slot);
}

/* Outer IPv4 fragments, or (outer IPv6) inner IPv4 fragments each
 * encapsulated, of m once its fit said FRAGMENT; consumes m. */
static void
to_node_frags(struct ef_fwd_worker *w, struct rte_mbuf *m,
	      const struct ef_edge_tunnel *t, uint32_t hash, uint16_t iface,
	      uint16_t mtu)
{
	struct rte_mbuf *frags[EDGE_FRAGS_MAX];
	int n;

	/* an outer IPv6 header is never fragmented (ef_edge.h): the inner
	 * IPv4 packet is, as any router on its path would, and each
	 * fragment goes in a tunnel packet of its own */
	n = ef_edge_fragment(m, t->outer6 ?
			     (uint16_t)ef_edge_inner_mtu(mtu, t->fwd |
							 EF_EDGE_OUTER6) :
			     mtu, w->sh->pool, frags, EDGE_FRAGS_MAX);
	if (n < 0) {
		drop(w, m, EF_FWD_DROP_ENCAP_TOO_BIG);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (t->outer6 &&
		    unlikely(ef_edge_encap(frags[i], t, hash,
					   &w->edge_ip_id) !=
			     EF_EDGE_ENCAP_OK)) {
			drop(w, frags[i], EF_FWD_DROP_ENCAP_FAILED);
			continue;
		}
		out_queue(w, iface, frags[i]);
	}
}

/*
 * Send m (client -> VIP, unchanged, IPv4 or IPv6) to node nd in a tunnel
 * per the edge settings: MSS clamp, fit (frag-needed / packet-too-big
 * through the rate-limited ICMP path), encapsulation, fragments. The
 * outer header is the node address's family: IPv4 (IPIP / 6in4, GUE) or
 * IPv6 (IPv4-in-IPv6 / ip6ip6, GUE over IPv6), whatever the inner one
 * (docs/EDGE.md "IPv6"). Consumes m.
 */
static void
to_node(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm,
	const struct ef_edge_lb_node *nd, uint32_t hash, uint32_t svc_id)
{
	const struct ef_cfg_edge *ec = &w->gen->cfg->edge;
	unsigned int fwd = (unsigned int)ec->forwarding;
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	bool v6 = pm->ip_version == 6;
	const struct ef_fwd_port *op;
	struct ef_edge_tunnel t;
	uint32_t slot = nd->slot;
	enum ef_edge_fit fit;
	uint8_t gw6[16];
	uint32_t gw = 0;
	uint16_t iface;
	bool df;
	bool have_mac;

	memset(&t, 0, sizeof(t));
	if (nd->v6) {
		struct ef_nexthop6 nh6;

		if (unlikely(ef_route_lookup6(w->gen->routes, nd->addr6,
					      &nh6) != 0)) {
			drop(w, m, EF_FWD_DROP_NO_ROUTE);
			return;
		}
		iface = nh6.iface;
		op = &w->sh->ports[iface];
		if (unlikely(!op->has_addr6)) {
			drop(w, m, EF_FWD_DROP_NO_ROUTE);
			return;
		}
		fwd |= EF_EDGE_OUTER6;
		t.outer6 = 1;
		memcpy(t.src6, op->addr6, 16);
		memcpy(t.dst6, nd->addr6, 16);
		memcpy(t.smac, op->mac, 6);
		memcpy(gw6, nh6.gw, 16);
		have_mac = neigh_mac6(w, iface, nh6.gw, t.dmac) == 0;
	} else {
		struct ef_nexthop nh;

		if (unlikely(ef_route_lookup4(w->gen->routes, nd->addr,
					      &nh) != 0)) {
			drop(w, m, EF_FWD_DROP_NO_ROUTE);
			return;
		}
		iface = nh.iface;
		op = &w->sh->ports[iface];
		t.src = op->addr;
		t.dst = nd->addr;
		memcpy(t.smac, op->mac, 6);
		gw = nh.gw;
		have_mac = neigh_mac(w, iface, nh.gw, t.dmac) == 0;
	}
	if (pm->proto == IPPROTO_TCP &&
	    ef_edge_mss_clamp(frame, pm, (uint16_t)(v6 ?
				ef_edge_max_mss6(op->mtu, fwd) :
				ef_edge_max_mss(op->mtu, fwd))) ==
	    EF_EDGE_MSS_CLAMPED)
		w->c.mss_clamped++;
	if (v6) {
		fit = ef_edge_fit6(pm->l3_len, op->mtu, fwd);
	} else {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)
			(frame + pm->l3_off);

		df = (ip->fragment_offset &
		      rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) != 0;
		fit = ef_edge_fit(pm->l3_len, df, op->mtu, fwd);
	}
	if (unlikely(fit == EF_EDGE_FIT_FRAG_NEEDED)) {
		w->c.drops[EF_FWD_DROP_MTU_EXCEEDED]++;
		if (v6)
			ef_fwd_icmp6_error(w, m, pm, ICMP6_PACKET_TOO_BIG, 0,
					   ef_edge_inner_mtu(op->mtu, fwd),
					   NULL);
		else
			ef_fwd_icmp_error(w, m, pm, 3, 4, (uint16_t)
					  ef_edge_inner_mtu(op->mtu, fwd), 0);
		return;
	}
	if (unlikely(fit == EF_EDGE_FIT_DROP)) {
		drop(w, m, EF_FWD_DROP_ENCAP_TOO_BIG);
		return;
	}
	t.fwd = (uint8_t)EF_EDGE_FWD_OF(fwd);
	/* IPv6 below 1280 inside (outer IPv4): the outer packet is
	 * fragmented */
	t.frag_ok = fit == EF_EDGE_FIT_FRAGMENT;
	t.gue_port = rte_cpu_to_be_16(ec->gue_port);
	if (unlikely(fit == EF_EDGE_FIT_FRAGMENT) && !have_mac) {
		/* fragments are not held (one hold slot per frame) */
		drop(w, m, EF_FWD_DROP_NO_NEIGHBOR);
		if (t.outer6)
			ef_neigh_miss6(w->sh->neigh, w->idx, iface, gw6);
		else
			ef_neigh_miss4(w->sh->neigh, w->idx, iface, gw);
		return;
	}
	if (unlikely(fit == EF_EDGE_FIT_FRAGMENT) && t.outer6) {
		/* FRAGMENT: the sender allowed it (no DF); docs/EDGE.md */
		count_sent(w, svc_id, slot);
		to_node_frags(w, m, &t, hash, iface, op->mtu);
		return;
	}
	if (unlikely(ef_edge_encap(m, &t, hash, &w->edge_ip_id) !=
		     EF_EDGE_ENCAP_OK)) {
		drop(w, m, EF_FWD_DROP_ENCAP_FAILED);
		return;
	}
	count_sent(w, svc_id, slot);
	if (likely(fit == EF_EDGE_FIT_OK)) {
		/* held encapsulated: the release writes the next hop's MAC */
		if (unlikely(!have_mac)) {
			if (t.outer6)
				ef_fwd_hold6(w, m, iface, gw6);
			else
				ef_fwd_hold(w, m, iface, gw);
		} else {
			out_queue(w, iface, m);
		}
		return;
	}
	/* FRAGMENT: the sender allowed it (no DF); docs/EDGE.md */
	to_node_frags(w, m, &t, hash, iface, op->mtu);
}

/* The node of one packet from table ft (NULL: stateless Maglev) given
 * key kp, its hash, and f (the lookup's answer, when known); false once
 * m has been dropped (no node). */
static bool
steer_key(struct ef_fwd_worker *w, struct ef_edge_flows *ft,
	  struct rte_mbuf *m, const struct ef_pkt_meta *pm,
	  const struct ef_edge_lb *lb, uint32_t svc_id, const void *kp,
	  uint32_t hash, struct ef_edge_flow *f,
	  const struct ef_edge_lb_node **node)
{
	uint32_t ni;
	int rc;

	if (likely(ft != NULL)) {
		rc = ef_edge_steer(ft, lb, kp, hash, f,
				   pm->proto == IPPROTO_TCP ? pm->tcp_flags : 0,
				   svc_id, w->now_ms, &ni);
	} else {
		ni = ef_edge_lb_pick(lb, hash);
		rc = ni == EF_EDGE_NO_NODE ? EF_EDGE_STEER_NO_NODE :
			EF_EDGE_STEER_FULL;
	}
	if (unlikely(rc == EF_EDGE_STEER_NO_NODE)) {
		drop(w, m, EF_FWD_DROP_NO_ENDPOINT);
		return false;
	}
	if (unlikely(rc == EF_EDGE_STEER_FULL))
		w->c.edge_flows_full++;
	if (rc == EF_EDGE_STEER_NEW && likely(svc_id < w->n_svc_ids))
		w->svc[svc_id].flows++;
	*node = &lb->nodes[ni];
	return true;
}

/* Node of a packet of (edge or encap) service svc_idx: the flow table's
 * or Maglev's, and its counter slot; false once m has been dropped (no
 * node). IPv6 packets use the worker's IPv6 table (never staged). */
static bool
steer(struct ef_fwd_worker *w, struct rte_mbuf *m, const struct ef_pkt_meta *pm,
      const struct ef_edge_lb *lb, uint32_t svc_id,
      const struct ef_fwd_edge_pre *pre, const struct ef_edge_lb_node **node,
      uint32_t *hash)
{
	struct ef_edge_flow_key kl;
	struct ef_edge_flow_key6 k6;
	const struct ef_edge_flow_key *kp = &kl;
	struct ef_edge_flow *f = NULL;

	if (pm->ip_version == 6) {
		ef_edge_flow_key6_of(pm, &k6);
		*hash = ef_edge_flow_hash6(&k6);
		if (likely(w->edge_flows6 != NULL))
			f = ef_edge_flows_lookup(w->edge_flows6, &k6);
		return steer_key(w, w->edge_flows6, m, pm, lb, svc_id, &k6,
				 *hash, f, node);
	}
	if (pre != NULL)
		kp = &pre->key;
	else
		ef_edge_flow_key_of(pm, &kl);
	*hash = ef_edge_flow_hash(kp);
	/* staged: the bulk lookup's answer, unless an entry was made since
	 * (the same tuple earlier in this burst) */
	if (likely(w->edge_flows != NULL) &&
	    (pre == NULL ||
	     ((f = pre->f) == NULL &&
	      unlikely(ef_edge_flows_stats(w->edge_flows)->created !=
		       pre->created))))
		f = ef_edge_flows_lookup(w->edge_flows, kp);
	return steer_key(w, w->edge_flows, m, pm, lb, svc_id, kp, *hash, f,
			 node);
}

void
ef_fwd_edge_lookup_bulk(struct ef_fwd_worker *w, struct ef_fwd_edge_pre *pre,
			uint32_t n)
{
	const void *kp[EF_EDGE_BULK_MAX];
	struct ef_edge_flow *out[EF_EDGE_BULK_MAX];
	uint64_t created;

	RTE_BUILD_BUG_ON(EF_FWD_BURST_MAX > EF_EDGE_BULK_MAX);
	if (n == 0 || w->edge_flows == NULL)
		return;
	created = ef_edge_flows_stats(w->edge_flows)->created;
	for (uint32_t i = 0; i < n; i++)
		kp[i] = &pre[i].key;
	ef_edge_flows_lookup_bulk(w->edge_flows, kp, n, out);
	for (uint32_t i = 0; i < n; i++) {
		pre[i].f = out[i];
		pre[i].created = created;
	}
}

static void
edge_packet(struct ef_fwd_worker *w, struct rte_mbuf *m,
	    struct ef_pkt_meta *pm, const struct ef_svc_frontend *fe,
	    const struct ef_fwd_edge_pre *pre)
{
	const struct ef_svc_gen *g = w->gen;
	uint32_t svc_idx = g->sps[fe->sp_idx].svc_idx;
	uint32_t svc_id = g->svcs[svc_idx].stable_id;
	const struct ef_edge_lb *lb = ef_svc_edge_lb(g, svc_idx);
	const struct ef_edge_lb_node *node;
	uint32_t hash;

	if (unlikely(lb == NULL)) {
		drop(w, m, EF_FWD_DROP_NO_ENDPOINT);
		return;
	}
	if (!steer(w, m, pm, lb, svc_id, pre, &node, &hash))
		return;
	to_node(w, m, pm, node, hash, svc_id);
}

void
ef_fwd_edge(struct ef_fwd_worker *w, struct rte_mbuf *m,
	    struct ef_pkt_meta *pm, const struct ef_svc_frontend *fe)
{
	edge_packet(w, m, pm, fe, NULL);
}

void
ef_fwd_edge_staged(struct ef_fwd_worker *w, struct rte_mbuf *m,
		   struct ef_pkt_meta *pm, const struct ef_svc_frontend *fe,
		   const struct ef_fwd_edge_pre *pre)
{
	edge_packet(w, m, pm, fe, pre);
}

int
ef_fwd_encap_remote(struct ef_fwd_worker *w, struct rte_mbuf *m,
		    struct ef_pkt_meta *pm, const struct ef_svc_frontend *fe,
		    uint32_t self)
{
	const struct ef_svc_gen *g = w->gen;
	uint32_t svc_idx = g->sps[fe->sp_idx].svc_idx;
	uint32_t svc_id = g->svcs[svc_idx].stable_id;
	const struct ef_edge_lb *lb = ef_svc_edge_lb(g, svc_idx);
	const struct ef_edge_lb_node *node;
	uint32_t hash;

	if (lb == NULL)
		return 0;
	if (!steer(w, m, pm, lb, svc_id, NULL, &node, &hash))
		return -1;
	if (node->addr == self)
		return 0;
	to_node(w, m, pm, node, hash, svc_id);
	return -1;
}

int
ef_fwd_edge_flows_create(struct ef_fwd_worker *w, const struct ef_cfg *cfg,
			 uint32_t per_worker, int socket_id)
{
	struct ef_edge_flows_params p;
	char name[EF_EDGE_NAME_MAX];

	snprintf(name, sizeof(name), "ef_edge_w%u", w->idx);
	memset(&p, 0, sizeof(p));
	p.name = name;
	/* an appliance without nodes has no edge or "encap" service yet: a
	 * small table (a reload adding them steers statelessly when full) */
	p.capacity = cfg->n_nodes > 0 ? per_worker : 1024;
	p.timeout_s = cfg->edge.flow_timeout;
	p.socket_id = socket_id;
	w->edge_flows = ef_edge_flows_create(&p);
	if (w->edge_flows == NULL)
		return -rte_errno;
	w->edge_ctr = ef_edge_flows_ctr(w->edge_flows);
	if (w->ct6 == NULL)
		return 0;	/* no IPv6 on this appliance */
	/* IPv6 flows: a table of their own (40-byte keys), the same
	 * per (service, node) counters */
	snprintf(name, sizeof(name), "ef_edge6_w%u", w->idx);
	p.key_len = EF_EDGE_KEY6_LEN;
	p.shared_ctr = w->edge_ctr;
	w->edge_flows6 = ef_edge_flows_create(&p);
	return w->edge_flows6 == NULL ? -rte_errno : 0;
}

void
ef_fwd_edge_node_counts(const struct ef_fwd_shared *sh, uint32_t slot,
			uint64_t *packets, uint64_t *flows)
{
	int64_t f = 0;

	*packets = 0;
	for (uint32_t i = 0; i < sh->n_workers; i++)
		if (sh->workers[i] != NULL)
			ef_edge_flows_ctr_read(sh->workers[i]->edge_flows,
					       slot, packets, &f);
	*flows = f > 0 ? (uint64_t)f : 0;
}

static void
edge_expired(void *arg, const void *k, struct ef_edge_flow *f)
{
	struct ef_fwd_worker *w = arg;

	RTE_SET_USED(k);
	if (f->svc < w->n_svc_ids)
		w->svc[f->svc].flows--;
}

void
ef_fwd_edge_expire(struct ef_fwd_worker *w, uint32_t budget)
{
	if (w->edge_flows != NULL)
		ef_edge_flows_expire(w->edge_flows, w->now_ms, budget,
				     edge_expired, w);
	if (w->edge_flows6 != NULL)
		ef_edge_flows_expire(w->edge_flows6, w->now_ms, budget,
				     edge_expired, w);
}
