/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IPv6 half of the worker (issue 12, docs/IPV6.md): Neighbor
 * Discovery for our addresses, echo, and IPv6 Services with the same
 * rules as IPv4's (fwd.c): Local and Cluster, SNAT66 to the one IPv6 SNAT
 * address with the worker's port slice, reject by RST or ICMPv6 port
 * unreachable, hop limit and packet-too-big errors, flow ownership and
 * handoff over the same rings.
 *
 * IPv6 frames take the stages of the burst (fwd.c ef_fwd_process())
 * beside IPv4's: stage 1 here (ef_fwd6_stage1: ND, echo, errors, the
 * key, handoff), the flow table staged over the burst's IPv6 keys
 * (ef_ct_lookup6_bulk), stage 3 here (ef_fwd6_flow). The flow table is
 * the worker's second conntrack table, w->ct6 (lib/ct, IPv6 keys, the
 * same state machine).
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "ef_fwd.h"
#include "ef_route.h"
#include "fwd_priv.h"
#include "fwd_syn.h"
#include "fwd_proxy.h"

#define ICMP6_DST_UNREACH	1
#define ICMP6_PACKET_TOO_BIG	2
#define ICMP6_TIME_EXCEEDED	3
#define ICMP6_ECHO_REQUEST	128
#define ICMP6_UNREACH_PORT	4

static inline bool
ip6_mcast(const uint8_t a[16])
{
	return a[0] == 0xff;
}

/* ff02::/16: link-local scope (all-nodes, solicited-node, MLD, RA): the
 * node's business, as 224.0.0.0/24 is for IPv4 */
static inline bool
ip6_link_scope_group(const uint8_t a[16])
{
	return a[0] == 0xff && (a[1] & 0x0f) == 0x02;
}

static inline uint32_t
key6_hash(const struct ef_ct_key6 *k)
{
	return rte_hash_crc(k, 37, 0x9e3779b9);
}

static inline void
key6_of(const struct ef_pkt_meta *pm, struct ef_ct_key6 *k)
{
	memcpy(k->src, pm->src.v6, 16);
	memcpy(k->dst, pm->dst.v6, 16);
	k->sport = pm->sport;
	k->dport = pm->dport;
	k->proto = pm->proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

/*
 * An NS for one of our addresses (interface, VIP, SNAT; never a cluster
 * IP, which is routed to us, not resolved): the NA goes back (solicited,
 * override; to all-nodes for a DAD probe from ::), a copy to the control
 * lcore to learn the asker (lib/fwd/exc.c), as ARP requests do.
 */
static void
nd_solicit(struct ef_fwd_worker *w, struct rte_mbuf *m,
	   const struct ef_pkt_meta *pm)
{
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t iface = rx_iface(w, m);
	const struct ef_fwd_port *p = &w->sh->ports[iface];
	struct ef_pkt_ndp nd;
	struct rte_mbuf *learn;
	uint8_t to[16], dmac[6];
	uint32_t len;
	bool dad;
	int own;

	if (ef_pkt_ndp_parse(frame, pm, &nd) != 0) {
		drop(w, m, EF_FWD_DROP_PARSE_ERROR);
		return;
	}
	own = ef_svc_owned6(w->gen, nd.target);
	if ((own & (EF_SVC_OWN_IFACE | EF_SVC_OWN_VIP | EF_SVC_OWN_SNAT)) == 0) {
		drop(w, m, EF_FWD_DROP_NOT_FOR_US);
		return;
	}
	dad = pm->src.v6[0] == 0 && memcmp(pm->src.v6, pm->src.v6 + 1, 15) == 0;
	if (!dad) {
		learn = rte_pktmbuf_copy(m, w->sh->pool, 0, UINT32_MAX);
		if (learn != NULL)
			to_control(w, learn);
		else
			w->c.drops[EF_FWD_DROP_NO_MBUF]++;
	}
	if (dad)	/* RFC 4861 7.2.4: to all-nodes, not solicited */
		memcpy(to, all_nodes, 16);
	else
		memcpy(to, pm->src.v6, 16);
	if (dad)
		memcpy(dmac, all_nodes_mac, 6);
	else if (nd.has_lladdr)
		memcpy(dmac, nd.lladdr, 6);
	else
		memcpy(dmac, frame + 6, 6);	/* the frame's source */
	/* 86 bytes: any mbuf that held an NS holds its NA */
	if (rte_pktmbuf_data_len(m) < 86 && rte_pktmbuf_append(m,
			(uint16_t)(86 - rte_pktmbuf_data_len(m))) == NULL) {
		drop(w, m, EF_FWD_DROP_NO_MBUF);
		return;
	}
	len = ef_pkt_build_ndp_na(frame, p->mac, dmac, nd.target, to,
				  nd.target, dad ? EF_PKT_NA_F_OVERRIDE :
				  EF_PKT_NA_F_SOLICITED | EF_PKT_NA_F_OVERRIDE);
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	w->c.nd_advertisements++;
	out_queue(w, iface, m);
}

/* The ICMPv6 error about m's packet, from src (NULL: the receiving
 * interface's IPv6 address) back where it came from. Consumes m. */
bool
ef_fwd_icmp6_error(struct ef_fwd_worker *w, struct rte_mbuf *m,
		   const struct ef_pkt_meta *pm, uint8_t type, uint8_t code,
		   uint32_t param, const uint8_t *src)
{
	const struct ef_fwd_port *p = &w->sh->ports[rx_iface(w, m)];
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t room = (uint32_t)(m->buf_len - rte_pktmbuf_headroom(m));
	int len;

	if (src == NULL) {
		if (!p->has_addr6) {
			rte_pktmbuf_free(m);
			return false;
		}
		src = p->addr6;
	}
	if (!ef_fwd_icmp_allowed(w)) {
		w->c.drops[EF_FWD_DROP_ICMP_RATELIMIT]++;
		rte_pktmbuf_free(m);
		return false;
	}
	len = ef_pkt_build_icmp6_error(w->scratch, sizeof(w->scratch),
				       frame + pm->l3_off,
				       rte_pktmbuf_data_len(m) - pm->l3_off,
				       type, code, param, src);
	if (len < 0 || (uint32_t)len + pm->l3_off > room) {
		/* RFC 4443 2.4(e): not an error we may send */
		rte_pktmbuf_free(m);
		return false;
	}
	memcpy(frame + pm->l3_off, w->scratch, (size_t)len);
	m->data_len = (uint16_t)(pm->l3_off + len);
	m->pkt_len = m->data_len;
	w->c.icmp_errors_sent++;
	ef_fwd_bounce(w, m);
	return true;
}

/* No endpoint at all: TCP RST, else ICMPv6 port unreachable (RFC 4443
 * 3.1 code 4), from the frontend's address. */
static void
reject6(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t dst[16];
	int len;

	if (pm->proto != IPPROTO_TCP) {
		memcpy(dst, pm->dst.v6, 16);
		ef_fwd_icmp6_error(w, m, pm, ICMP6_DST_UNREACH,
				   ICMP6_UNREACH_PORT, 0, dst);
		return;
	}
	if (!ef_fwd_icmp_allowed(w)) {
		w->c.drops[EF_FWD_DROP_ICMP_RATELIMIT]++;
		rte_pktmbuf_free(m);
		return;
	}
	len = ef_pkt_tcp6_rst_reply(frame, pm);
	if (len < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	m->data_len = (uint16_t)(pm->l3_off + len);
	m->pkt_len = m->data_len;
	w->c.rst_sent++;
	ef_fwd_bounce(w, m);
}

/* Traffic to one of our IPv6 addresses that no flow or frontend claims. */
static void
local_delivery6(struct ef_fwd_worker *w, struct rte_mbuf *m,
		struct ef_pkt_meta *pm, int own)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);

	if (pm->proto == IPPROTO_ICMPV6 && pm->icmp_type == ICMP6_ECHO_REQUEST &&
	    !(pm->flags & EF_PKT_F_FRAG)) {
		if (ef_pkt_icmp6_echo_reply(frame, pm) == 0) {
			w->c.icmp_echo_replies++;
			ef_fwd_bounce(w, m);
		} else {
			drop(w, m, EF_FWD_DROP_PARSE_ERROR);
		}
		return;
	}
	if (own & EF_SVC_OWN_IFACE) {
		to_control(w, m);	/* the node: SSH, BGP, health, ND */
		return;
	}
	drop(w, m, (own & EF_SVC_OWN_SNAT) ? EF_FWD_DROP_NO_FLOW :
	     EF_FWD_DROP_NO_SERVICE);
}

/* Forward a packet of IPv6 flow f in direction dir: route, MTU, rewrite,
 * hop limit, next hop, queue. */
static void
forward6(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm,
	 struct ef_ct_flow *f, uint8_t dir)
{
	const struct ef_ct_addr6 *a = ef_ct_flow_addr6(w->ct6, f);
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)frame;
	const struct ef_fwd_port *op;
	struct ef_nexthop6 nh;
	uint8_t mac[6];

	if (unlikely(pm->ttl <= 1)) {
		w->c.drops[EF_FWD_DROP_TTL_EXCEEDED]++;
		ef_fwd_icmp6_error(w, m, pm, ICMP6_TIME_EXCEEDED, 0, 0, NULL);
		return;
	}
	/* the flow keeps its route per direction (f->user[1 + dir]: lib/
	 * route's hint, zeroed with each new generation, revalidate6()) */
	if (unlikely(ef_route_lookup6_hint(w->gen->routes,
					   dir == 0 ? a->endpoint : a->client,
					   &f->user[1 + dir], &nh) != 0)) {
		drop(w, m, EF_FWD_DROP_NO_ROUTE);
		return;
	}
	op = &w->sh->ports[nh.iface];
	if (unlikely(pm->l3_len > op->mtu)) {
		/* IPv6 routers never fragment: packet too big, always */
		w->c.drops[EF_FWD_DROP_MTU_EXCEEDED]++;
		ef_fwd_icmp6_error(w, m, pm, ICMP6_PACKET_TOO_BIG, 0, op->mtu,
				   NULL);
		return;
	}
	if (dir == 0)
		ef_pkt_nat6(frame, pm, f->snat != 0 ?
			    ef_ct_flow_snat6(w->ct6, f) : a->client,
			    f->snat != 0 ? f->sport_snat : f->cport,
			    a->endpoint, f->eport);
	else
		ef_pkt_nat6(frame, pm, a->frontend, f->fport, a->client,
			    f->cport);
	ef_pkt_hop_dec6(frame, pm);
	if (likely(f->svc_id < w->n_svc_ids)) {
		w->svc[f->svc_id].packets++;
		w->svc[f->svc_id].bytes += m->pkt_len;
	}
	if (unlikely(neigh_mac6(w, nh.iface, nh.gw, mac) != 0)) {
		ef_fwd_hold6(w, m, nh.iface, nh.gw);
		return;
	}
	memcpy(eh->dst_addr.addr_bytes, mac, 6);
	memcpy(eh->src_addr.addr_bytes, op->mac, 6);
	out_queue(w, nh.iface, m);
}

/*
 * A SNAT66 port for the flow k -> ep: the worker's slice of
 * snat_port_range on the IPv6 SNAT address, as lib/nat slices IPv4's
 * (so that a reply's owner is arithmetic on its port, ef_fwd_owner6()),
 * probing from a cursor until a reply tuple is free. 0 or -ENOSPC.
 */
static int
snat6_pick(struct ef_fwd_worker *w, const struct ef_ct_key6 *k,
	   const struct ef_svc_endpoint *ep, const uint8_t snat[16],
	   uint16_t *port)
{
	const struct ef_nat_map *map = w->sh->nat_map;
	struct ef_ct_key6 rk;
	uint16_t lo, hi;

	if (map == NULL)
		return -ENOSPC;
	ef_nat_slice(map, w->idx, &lo, &hi);
	memcpy(rk.src, ep->addr6, 16);
	memcpy(rk.dst, snat, 16);
	rk.sport = ep->port;
	rk.proto = k->proto;
	rk.pad[0] = rk.pad[1] = rk.pad[2] = 0;
	for (uint32_t i = 0; i < EF_NAT_PROBES; i++) {
		uint32_t span = (uint32_t)(hi - lo) + 1;
		uint16_t p = (uint16_t)(lo + w->snat6_cursor % span);

		w->snat6_cursor++;
		rk.dport = rte_cpu_to_be_16(p);
		if (!ef_ct_key6_in_use(w->ct6, &rk)) {
			*port = rk.dport;
			return 0;
		}
	}
	return -ENOSPC;
}

static void tracked6(struct ef_fwd_worker *w, struct rte_mbuf *m,
		     struct ef_pkt_meta *pm, struct ef_ct_flow *f, uint8_t dir,
		     const struct ef_ct_key6 *k);

/* The first packet of an IPv6 flow: frontend, endpoint, SNAT, flow. */
static void
new_flow6(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm,
	  const struct ef_ct_key6 *k, int own)
{
	const struct ef_svc_gen *g = w->gen;
	const struct ef_svc_frontend *fe;
	struct ef_svc_frontend fe_local;
	const struct ef_svc_port *sp;
	const struct ef_svc_endpoint *ep;
	const struct ef_cfg *cfg = g->cfg;
	struct ef_ct_key6 rk;
	struct ef_ct_flow *f;
	uint32_t epi = 0, svc_id;
	int32_t ai;
	uint16_t sport = 0;
	uint8_t fe_flags;
	int cookie = -1;
	bool snat;
	int err;

	/* a cookie's ACK and the client's data share a burst: both missed
	 * the burst's lookup, the ACK made the flow (fwd.c
	 * opened_in_burst()) */
	if (unlikely(w->syn_any) && pm->proto == IPPROTO_TCP &&
	    (pm->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) ==
	    RTE_TCP_ACK_FLAG) {
		uint8_t dir;

		f = ef_ct_lookup6(w->ct6, k, &dir);
		if (f != NULL) {
			tracked6(w, m, pm, f, dir, k);
			return;
		}
	}
	fe = pm->proto == IPPROTO_ICMPV6 ? NULL :
		ef_svc_lookup6(g, k->dst, k->dport, k->proto);
	if (fe == NULL) {
		if (own == 0 || ((own & EF_SVC_OWN_SNAT) &&
				 w->sh->nat_map != NULL &&
				 ef_nat_port_owner(w->sh->nat_map,
					rte_be_to_cpu_16(k->dport)) !=
				 UINT32_MAX && pm->proto != IPPROTO_ICMPV6))
			drop(w, m, EF_FWD_DROP_NO_FLOW);
		else
			local_delivery6(w, m, pm, own);
		return;
	}
	if (unlikely(fe->flags & EF_SVC_FE_EDGE)) {
		/* any segment: a mid-flow one takes the Maglev choice; the
		 * node in IPv6-in-IPv4 or GUE (docs/EDGE.md "IPv6") */
		ef_fwd_edge(w, m, pm, fe);
		return;
	}
	fe_flags = fe->flags;	/* before a Local copy below */
	if (unlikely(ef_fwd_is_decapsulated(m))) {
		/* from an edge or a peer's "encap": served here, Local, the
		 * client address kept (docs/EDGE.md) */
		fe_local = *fe;
		fe_local.flags = (uint8_t)((fe->flags | EF_SVC_FE_LOCAL) &
			~(EF_SVC_FE_SNAT | EF_SVC_FE_SNAT_REMOTE |
			  EF_SVC_FE_ENCAP));
		fe = &fe_local;
	} else if (unlikely(fe->flags & EF_SVC_FE_ENCAP)) {
		/* a flow whose node is another goes there unchanged, SYN or
		 * mid-flow; our own node's share is Local, no SNAT */
		if (ef_fwd_encap_remote(w, m, pm, fe, ef_fwd_self_addr(w)) != 0)
			return;
		fe_local = *fe;
		fe_local.flags = (uint8_t)((fe->flags | EF_SVC_FE_LOCAL) &
					   ~EF_SVC_FE_ENCAP);
		fe = &fe_local;
	}
	if (pm->proto == IPPROTO_TCP &&
	    (pm->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG |
			      RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG)) !=
	    RTE_TCP_SYN_FLAG) {
		/* the ACK answering a SYN cookie opens the flow (fwd_syn.h) */
		if ((pm->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG |
				      RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG)) ==
		    RTE_TCP_ACK_FLAG && !(fe_flags & EF_SVC_FE_ENCAP) &&
		    !ef_fwd_is_decapsulated(m))
			cookie = ef_fwd_syn_check(w, rte_pktmbuf_mtod(m,
						const uint8_t *), pm);
		if (cookie < 0) {
			drop(w, m, (pm->tcp_flags & RTE_TCP_SYN_FLAG) ?
			     EF_FWD_DROP_CT_INVALID : EF_FWD_DROP_NO_FLOW);
			return;
		}
	}
	sp = &g->sps[fe->sp_idx];
	svc_id = g->svcs[sp->svc_idx].stable_id;
	if (unlikely(pm->ttl <= 1)) {
		w->c.drops[EF_FWD_DROP_TTL_EXCEEDED]++;
		ef_fwd_icmp6_error(w, m, pm, ICMP6_TIME_EXCEEDED, 0, 0, NULL);
		return;
	}
	if (ef_fwd_over_quota(w, m, &g->svcs[sp->svc_idx], svc_id))
		return;
	/* ClientIP affinity: the endpoint this worker remembers for the
	 * client (fwd_affinity.c, across endpoint changes), else Maglev on
	 * the client address alone */
	ai = (fe->flags & EF_SVC_FE_AFFINITY) ?
		ef_fwd_affinity_get6(w, fe, sp, svc_id, k->src) : -1;
	switch (ai >= 0 ? EF_SVC_PICK_OK :
		ef_svc_pick(g, fe, ef_fwd_pick_hash(
				(fe->flags & EF_SVC_FE_AFFINITY) ?
				rte_hash_crc(k->src, 16, 0x9e3779b9) :
				key6_hash(k)), &epi)) {
	case EF_SVC_PICK_OK:
		if (ai >= 0)
			epi = (uint32_t)ai;
		break;
	case EF_SVC_PICK_NO_LOCAL:
		drop(w, m, EF_FWD_DROP_NO_LOCAL_ENDPOINT);
		return;
	default:
		w->c.drops[EF_FWD_DROP_NO_ENDPOINT]++;
		reject6(w, m, pm);
		return;
	}
	if (cookie < 0 && pm->proto == IPPROTO_TCP &&
	    !(fe_flags & EF_SVC_FE_ENCAP) && !ef_fwd_is_decapsulated(m) &&
	    unlikely(ef_fwd_syn_wanted(w))) {
		/* SYN flood defence: no state until the client answers */
		ef_fwd_syn_reply(w, m, pm);
		return;
	}
	ep = &sp->eps[epi];
	snat = (fe->flags & EF_SVC_FE_SNAT) ||
		((fe->flags & (EF_SVC_FE_SNAT_REMOTE | EF_SVC_FE_ENCAP)) &&
		 !(ep->flags & EF_SVC_EP_LOCAL));
	memcpy(rk.src, ep->addr6, 16);
	rk.sport = ep->port;
	rk.proto = k->proto;
	rk.pad[0] = rk.pad[1] = rk.pad[2] = 0;
	if (snat) {
		if (cfg->snat_address6.family != EF_AF_INET6 ||
		    snat6_pick(w, k, ep, cfg->snat_address6.v6, &sport) != 0) {
			drop(w, m, EF_FWD_DROP_SNAT_EXHAUSTED);
			return;
		}
		memcpy(rk.dst, cfg->snat_address6.v6, 16);
		rk.dport = sport;
	} else {
		memcpy(rk.dst, k->src, 16);
		rk.dport = k->sport;
	}
	f = ef_ct_create_flow6(w->ct6, k, &rk, w->now_ms, &err);
	if (f == NULL) {
		uint8_t dir;

		/* opened by an earlier packet of this burst, as IPv4's
		 * (fwd.c new_flow_install()) */
		if (err == -EEXIST &&
		    (f = ef_ct_lookup6(w->ct6, k, &dir)) != NULL) {
			tracked6(w, m, pm, f, dir, k);
			return;
		}
		drop(w, m, err == -ENOSPC ? EF_FWD_DROP_CT_FULL :
		     EF_FWD_DROP_CT_INVALID);
		return;
	}
	f->svc_id = svc_id;
	f->gen = (uint32_t)g->number;
	w->c.flows_created++;
	w->c.flows6_created++;
	if (snat)
		w->c.snat_flows++;
	if (svc_id < w->n_svc_ids)
		w->svc[svc_id].flows++;
	/* a cookie's ACK: the endpoint gets the client's SYN (fwd_syn.h) */
	if (unlikely(cookie >= 0) &&
	    !ef_fwd_syn_open(w, f, m, pm, (uint32_t)cookie))
		return;
	if (unlikely(sp->proxy != EF_PROXY_NONE) && k->proto == IPPROTO_TCP)
		ef_fwd_proxy_open(w, f, sp->proxy,
				  rte_pktmbuf_mtod(m, uint8_t *), pm);
	ef_ct_update(w->ct6, f, 0, rte_pktmbuf_mtod(m, uint8_t *), pm,
		     w->now_ms);
	if ((fe->flags & EF_SVC_FE_AFFINITY) && ai < 0)
		ef_fwd_affinity_put6(w, fe, sp, svc_id, k->src, ep);
	forward6(w, m, pm, f, 0);
}

/* A flow of an older generation: kept (brought to this one) while its
 * endpoint exists. */
static bool
keep6(struct ef_fwd_worker *w, struct ef_ct_flow *f)
{
	const struct ef_svc_gen *g = w->gen;
	const struct ef_ct_addr6 *a = ef_ct_flow_addr6(w->ct6, f);

	if (ef_svc_endpoint_kept(g, f->svc_id, f->gen) ||
	    ef_svc_endpoint_exists6(g, f->svc_id, a->endpoint, f->eport,
				    f->proto)) {
		f->gen = (uint32_t)g->number;
		f->user[1] = f->user[2] = 0;	/* routes of the old one */
		return true;
	}
	return false;
}

static bool
revalidate6(struct ef_fwd_worker *w, struct ef_ct_flow *f)
{
	if (keep6(w, f))
		return true;
	ef_fwd_flow_closed(w, f);
	ef_ct_delete(w->ct6, f);
	return false;
}

/* revalidate6() without a packet: the sweep after a reload (fwd_worker.c),
 * which deletes what this returns 1 for. */
int
ef_fwd6_sweep_cb(void *arg, struct ef_ct_flow *f)
{
	struct ef_fwd_worker *w = arg;

	if (f->gen == (uint32_t)w->gen->number || keep6(w, f))
		return 0;
	ef_fwd_flow_closed(w, f);
	w->c.flows_swept++;
	return 1;
}

/* The client segment held while f's endpoint had not answered, on its
 * way now that it has (fwd_syn.h). */
static void
syn_held_send6(struct ef_fwd_worker *w, struct ef_ct_flow *f)
{
	struct rte_mbuf *h = ef_fwd_syn_release(w, f);
	struct ef_pkt_meta hm;
	struct ef_ct_key6 k0;

	if (h == NULL)
		return;
	if (ef_pkt_parse(rte_pktmbuf_mtod(h, const uint8_t *), h->data_len,
			 &hm) != 0 || hm.ip_version != 6) {
		drop(w, h, EF_FWD_DROP_PARSE_ERROR);
		return;
	}
	key6_of(&hm, &k0);
	tracked6(w, h, &hm, f, 0, &k0);
}

static void
tracked6(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm,
	 struct ef_ct_flow *f, uint8_t dir, const struct ef_ct_key6 *k)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	int v;

	if (unlikely(f->gen != (uint32_t)w->gen->number) &&
	    !revalidate6(w, f)) {
		if (pm->proto == IPPROTO_UDP && dir == 0) {
			new_flow6(w, m, pm, k, ef_svc_owned6(w->gen, k->dst));
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
	v = ef_ct_update(w->ct6, f, dir, frame, pm, w->now_ms);
	if (unlikely(v != EF_CT_VERDICT_OK)) {
		if (v == EF_CT_VERDICT_NEW_AFTER_CLOSE && dir == 0) {
			ef_fwd_flow_closed(w, f);
			ef_ct_delete(w->ct6, f);
			new_flow6(w, m, pm, k, ef_svc_owned6(w->gen, k->dst));
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
			if (ef_ct_update(w->ct6, f, 0, frame, pm,
					 w->now_ms) != EF_CT_VERDICT_OK) {
				drop(w, m, EF_FWD_DROP_CT_INVALID);
				return;
			}
			/* a PROXY header goes before the handshake's last
			 * ACK (a server that speaks first waits) */
			if (f->user[0] & EF_FWD_FLOW_PROXY)
				ef_fwd_proxy_post(w, f, 0, frame, pm);
			forward6(w, m, pm, f, 0);
			syn_held_send6(w, f);
			return;
		}
	}
	forward6(w, m, pm, f, dir);
}

/* The key of the flow an ICMPv6 error quotes (the quoted packet
 * reversed: the direction the error travels). False when it quotes no
 * ports (a non-first fragment): no flow can claim it. */
static bool
icmp6_error_key(const struct ef_pkt_meta *pm, struct ef_ct_key6 *k)
{
	if (pm->inner_l4_off == 0 || pm->inner_src.family != EF_AF_INET6)
		return false;
	memcpy(k->src, pm->inner_dst.v6, 16);
	memcpy(k->dst, pm->inner_src.v6, 16);
	k->sport = pm->inner_dport;
	k->dport = pm->inner_sport;
	k->proto = pm->inner_proto;
	if (k->proto == IPPROTO_ICMPV6)
		k->sport = k->dport;	/* echo: both carry the id */
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	return true;
}

/*
 * An ICMPv6 error about a packet of flow f (packet too big, unreachable,
 * time exceeded from a router on the way), translated as the flow's
 * packets are so that path-MTU discovery works across SNAT and DNAT:
 * dir 1 goes to the client (from the frontend, quoting client ->
 * frontend), dir 0 to the endpoint (quoting endpoint -> SNAT or client).
 */
static void
forward_icmp6_error(struct ef_fwd_worker *w, struct rte_mbuf *m,
		    struct ef_pkt_meta *pm, struct ef_ct_flow *f, uint8_t dir)
{
	const struct ef_ct_addr6 *a = ef_ct_flow_addr6(w->ct6, f);
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)frame;
	bool echo = f->proto == IPPROTO_ICMPV6;
	struct ef_nexthop6 nh;
	uint8_t mac[6];

	if (unlikely(pm->ttl <= 1)) {
		drop(w, m, EF_FWD_DROP_TTL_EXCEEDED);
		return;
	}
	if (dir == 1) {
		ef_pkt_nat6_icmp_error(frame, pm, a->frontend, a->client,
				       a->client, f->cport, a->frontend,
				       echo ? f->cport : f->fport);
	} else {
		const uint8_t *to = f->snat != 0 ?
			ef_ct_flow_snat6(w->ct6, f) : a->client;
		uint16_t port = f->snat != 0 ? f->sport_snat : f->cport;

		ef_pkt_nat6_icmp_error(frame, pm,
				       f->snat != 0 ? to : pm->src.v6,
				       a->endpoint, a->endpoint,
				       echo ? port : f->eport, to, port);
	}
	if (unlikely(ef_route_lookup6(w->gen->routes, pm->dst.v6, &nh) != 0)) {
		drop(w, m, EF_FWD_DROP_NO_ROUTE);
		return;
	}
	ef_pkt_hop_dec6(frame, pm);
	w->c.icmp_errors_translated++;
	if (unlikely(neigh_mac6(w, nh.iface, nh.gw, mac) != 0)) {
		ef_fwd_hold6(w, m, nh.iface, nh.gw);
		return;
	}
	memcpy(eh->dst_addr.addr_bytes, mac, 6);
	memcpy(eh->src_addr.addr_bytes, w->sh->ports[nh.iface].mac, 6);
	out_queue(w, nh.iface, m);
}

uint32_t
ef_fwd_owner6(const struct ef_fwd_shared *sh, const struct ef_svc_gen *g,
	      const struct ef_ct_key6 *k)
{
	int own;

	if (sh->n_workers <= 1)
		return 0;
	own = ef_svc_owned6(g, k->dst);
	if ((own & EF_SVC_OWN_SNAT) && sh->nat_map != NULL) {
		uint32_t o = ef_nat_port_owner(sh->nat_map,
					       rte_be_to_cpu_16(k->dport));

		if (o != UINT32_MAX)
			return o;
	}
	/* by client address, as IPv4: every flow of a client meets one
	 * worker */
	return rte_hash_crc(own != 0 ? k->src : k->dst, 16, 0) %
		sh->n_workers;
}

/* True when another worker owns k: m went to it (or was dropped). */
static bool
handed_off6(struct ef_fwd_worker *w, struct rte_mbuf *m,
	    const struct ef_ct_key6 *k)
{
	uint32_t o = ef_fwd_owner6(w->sh, w->gen, k);

	if (o == w->idx)
		return false;
	if (rte_ring_sp_enqueue(w->sh->workers[o]->handoff_in[w->idx], m) != 0)
		drop(w, m, EF_FWD_DROP_HANDOFF_FULL);
	else
		w->c.handoff_packets++;
	return true;
}

/* An ICMPv6 error: translated for the flow it quotes, else the node's
 * (to its kernel) or dropped, counted icmp_untracked. */
static void
icmp6_error(struct ef_fwd_worker *w, struct rte_mbuf *m,
	    struct ef_pkt_meta *pm, int own, bool may_hand_off)
{
	struct ef_ct_key6 k;
	struct ef_ct_flow *f = NULL;
	uint8_t dir;

	if (icmp6_error_key(pm, &k)) {
		if (may_hand_off && handed_off6(w, m, &k))
			return;
		if (ef_ct_stats(w->ct6)->active != 0)
			f = ef_ct_lookup6(w->ct6, &k, &dir);
	}
	if (f != NULL)
		forward_icmp6_error(w, m, pm, f, dir);
	else if (own & EF_SVC_OWN_IFACE)
		to_control(w, m);
	else
		drop(w, m, EF_FWD_DROP_ICMP_UNTRACKED);
}

bool
ef_fwd6_stage1(struct ef_fwd_worker *w, struct rte_mbuf *m,
	       struct ef_pkt_meta *pm, bool may_hand_off,
	       struct ef_ct_key6 *k)
{
	int own;

	w->c.rx6_packets++;
	if (unlikely(pm->flags & EF_PKT_F_BCAST_SRC)) {
		drop(w, m, EF_FWD_DROP_BAD_SOURCE);
		return false;
	}
	/* ICMPv6 other than echo carries no EF_PKT_F_L4 (no ports); the
	 * parser set icmp_type for any ICMPv6 header it saw whole */
	if (unlikely(pm->proto == IPPROTO_ICMPV6) &&
	    !(pm->flags & EF_PKT_F_FRAG) && pm->icmp_type == EF_PKT_ND_NS) {
		nd_solicit(w, m, pm);
		return false;
	}
	if (unlikely(ip6_mcast(pm->dst.v6))) {
		if (ip6_link_scope_group(pm->dst.v6))
			to_control(w, m);	/* NA, RA, MLD: the node's */
		else
			drop(w, m, EF_FWD_DROP_MULTICAST);
		return false;
	}
	if (unlikely(ef_ip6_eq(pm->src.v6, pm->dst.v6))) {
		drop(w, m, EF_FWD_DROP_BAD_SOURCE);
		return false;
	}
	if (unlikely(pm->flags & EF_PKT_F_IP6_ROUTING) &&
	    !(pm->flags & EF_PKT_F_ICMP_ERROR)) {
		/* a routing header not yet at its end names the next
		 * waypoint as destination: rewritten to an endpoint it would
		 * send the pod on a route we never saw. Dropped, counted as
		 * IPv4's source routes are (Linux drops type 0, RFC 5095) */
		drop(w, m, EF_FWD_DROP_IP_SOURCE_ROUTE);
		return false;
	}
	if (likely(!(pm->flags & (EF_PKT_F_ICMP_ERROR | EF_PKT_F_FRAG)) &&
		   (pm->flags & EF_PKT_F_L4) && pm->proto != IPPROTO_ICMPV6)) {
		/* TCP, UDP: the flow table's. The L4 checksum is the
		 * endpoint's to check, as for IPv4: the incremental rewrite
		 * keeps a bad one bad */
		key6_of(pm, k);
		return !(may_hand_off && handed_off6(w, m, k));
	}
	/* what the node owns of the destination: only off the flow path
	 * (a hash lookup; new_flow6() makes its own) */
	own = ef_svc_owned6(w->gen, pm->dst.v6);
	if (unlikely(pm->flags & EF_PKT_F_ICMP_ERROR)) {
		icmp6_error(w, m, pm, own, may_hand_off);
		return false;
	}
	if ((pm->flags & EF_PKT_F_FRAG) || !(pm->flags & EF_PKT_F_L4) ||
	    pm->icmp_type != ICMP6_ECHO_REQUEST) {
		/* the node's own fragments and ND go to its kernel; transit
		 * fragments are not reassembled (as IPv4) */
		if (own & EF_SVC_OWN_IFACE)
			to_control(w, m);
		else
			drop(w, m, (pm->flags & EF_PKT_F_FRAG) ?
			     EF_FWD_DROP_FRAGMENT : EF_FWD_DROP_UNSUPPORTED);
		return false;
	}
	/* echo request */
	if (own != 0)
		local_delivery6(w, m, pm, own);
	else
		drop(w, m, EF_FWD_DROP_NO_FLOW);
	return false;
}

void
ef_fwd6_flow(struct ef_fwd_worker *w, struct rte_mbuf *m,
	     struct ef_pkt_meta *pm, struct ef_ct_flow *f, uint8_t dir,
	     const struct ef_ct_key6 *k)
{
	if (f != NULL)
		tracked6(w, m, pm, f, dir, k);
	else
		new_flow6(w, m, pm, k, ef_svc_owned6(w->gen, k->dst));
}
