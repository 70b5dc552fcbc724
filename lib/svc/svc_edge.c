/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The node table of each edge service (mode = "edge"): per node of
 * cfg->nodes, the control lcore's view (ready endpoints there, probe
 * state), the weight ef_edge_node_weight() gives it, and the weighted
 * Maglev table (ef_edge_lb) the workers steer new flows with.
 * docs/EDGE.md "Control lcore".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "ef_cfg.h"
#include "ef_edge.h"
#include "ef_svc.h"
#include "svc_priv.h"

/* Each build of a node table gets its own number (ef_edge_steer()'s
 * index cache); the control lcore is the only builder. */
static uint32_t lb_builds;
/* "out of counter slots" is said once */
static bool slots_warned;

void
ef_svc_edge_free(struct ef_svc_edge *e)
{
	if (e == NULL)
		return;
	ef_edge_lb_free(e->lb);
	free(e->nodes);
	free(e->views);
	free(e);
}

/* The previous generation's state of the node of key addr for the same
 * service. */
static const struct ef_edge_node_view *
prev_view(const struct ef_svc_gen *prev, uint32_t stable_id, uint32_t addr)
{
	const struct ef_svc_edge *pe;
	int32_t idx;

	if (prev == NULL || stable_id >= prev->by_stable_n)
		return NULL;
	idx = prev->by_stable[stable_id];
	if (idx < 0 || prev->svcs[idx].edge == NULL)
		return NULL;
	pe = prev->svcs[idx].edge;
	for (uint32_t i = 0; i < pe->n_nodes; i++)
		if (pe->nodes[i].addr == addr)
			return &pe->views[i];
	return NULL;
}

/* Weights from the views, then a new table. NULL + rte_errno. */
static struct ef_edge_lb *
edge_table(struct ef_svc_edge *e)
{
	for (uint32_t i = 0; i < e->n_nodes; i++) {
		const struct ef_edge_node_view *v = &e->views[i];

		e->nodes[i].weight = ef_edge_node_weight(e->weights,
							 e->cluster != 0, v);
		e->nodes[i].healthy = v->healthy;
		e->nodes[i].draining = v->draining;
	}
	return ef_edge_lb_build(e->nodes, e->n_nodes, ++lb_builds);
}

int
ef_svc_edge_build(struct ef_svc_gen *g, uint32_t s,
		  const struct ef_svc_gen *prev, int socket_id)
{
	const struct ef_cfg *cfg = g->cfg;
	const struct ef_cfg_service *cs = &cfg->services[s];
	struct ef_svc_edge *e;

	RTE_SET_USED(socket_id);
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->n_nodes = cfg->n_nodes;
	e->weights = (uint8_t)cfg->edge.weights;
	/* an "encap" proxy service weighs nodes by endpoints whatever its
	 * policy: the spread of today's Cluster pick over all endpoints */
	e->cluster = cs->mode == EF_SVC_MODE_EDGE &&
		cs->external_traffic_policy == EF_POLICY_CLUSTER;
	if (cs->mode != EF_SVC_MODE_EDGE)
		e->weights = EF_EDGE_WEIGHTS_ENDPOINTS;
	e->nodes = calloc(RTE_MAX(e->n_nodes, 1u), sizeof(*e->nodes));
	e->views = calloc(RTE_MAX(e->n_nodes, 1u), sizeof(*e->views));
	if (e->nodes == NULL || e->views == NULL) {
		ef_svc_edge_free(e);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < e->n_nodes; i++) {
		const struct ef_cfg_node *cn = &cfg->nodes[i];
		const struct ef_edge_node_view *pv;
		struct ef_edge_node_view *v = &e->views[i];
		uint32_t r4 = 0, r6 = 0;

		/* a display name: longer ones are cut */
		memcpy(e->nodes[i].name, cn->name,
		       strnlen(cn->name, sizeof(e->nodes[i].name) - 1));
		e->nodes[i].addr = g->node_keys[i];
		if (cn->address.family == EF_AF_INET6) {
			e->nodes[i].v6 = 1;
			memcpy(e->nodes[i].addr6, cn->address.v6, 16);
		}
		e->nodes[i].slot = ef_edge_ctr_slot(g->svcs[s].stable_id,
						    g->node_keys[i]);
		if (e->nodes[i].slot == EF_EDGE_NO_SLOT && !slots_warned) {
			slots_warned = true;
			EF_SVC_LOG(WARNING, "%s: more than %u (service, node) "
				   "pairs over this process's life: the flows "
				   "and packets of the new ones read 0 "
				   "(restart to count them)", cs->name,
				   EF_EDGE_CTR_SLOTS);
		}
		v->header_weight = -1;
		v->healthy = true;	/* until the prober says otherwise */
		pv = prev_view(prev, g->svcs[s].stable_id, g->node_keys[i]);
		if (pv != NULL) {
			v->header_weight = pv->header_weight;
			v->healthy = pv->healthy;
			v->draining = pv->draining;
		}
		/* the larger of the two families' counts: a dual-stack pod
		 * is listed once per family, so this counts pods, and an
		 * IPv6-only service weighs its nodes too */
		for (uint32_t k = 0; k < cs->n_endpoints; k++) {
			const struct ef_cfg_endpoint *ep = &cs->endpoints[k];

			if (ep->ready && strcmp(ep->node, cn->name) == 0)
				r4++;
		}
		for (uint32_t k = 0; k < cs->n_endpoints6; k++) {
			const struct ef_cfg_endpoint *ep = &cs->endpoints6[k];

			if (ep->ready && strcmp(ep->node, cn->name) == 0)
				r6++;
		}
		v->ready_endpoints = RTE_MAX(r4, r6);
	}
	e->lb = edge_table(e);
	if (e->lb == NULL) {
		ef_svc_edge_free(e);
		return -ENOMEM;
	}
	g->svcs[s].edge = e;
	return 0;
}

int
ef_svc_edge_set_view(struct ef_svc_gen *g, uint32_t s, uint32_t n,
		     const struct ef_edge_node_view *view,
		     struct rte_rcu_qsbr *v)
{
	struct ef_svc_edge *e;
	struct ef_edge_node_view keep;
	struct ef_edge_lb *nl;
	struct ef_edge_lb *old;

	if (s >= g->n_svcs || g->svcs[s].edge == NULL)
		return -EINVAL;
	e = g->svcs[s].edge;
	if (n >= e->n_nodes)
		return -EINVAL;
	keep = e->views[n];
	/* ready_endpoints comes from the configuration, not the prober */
	e->views[n].header_weight = view->header_weight;
	e->views[n].healthy = view->healthy;
	e->views[n].draining = view->draining;
	if (keep.header_weight == e->views[n].header_weight &&
	    keep.healthy == e->views[n].healthy &&
	    keep.draining == e->views[n].draining)
		return 0;
	if (ef_edge_node_weight(e->weights, e->cluster != 0, &keep) ==
	    ef_edge_node_weight(e->weights, e->cluster != 0, &e->views[n]) &&
	    keep.healthy == e->views[n].healthy &&
	    keep.draining == e->views[n].draining)
		return 0;
	nl = edge_table(e);
	if (nl == NULL) {
		e->views[n] = keep;
		for (uint32_t i = 0; i < e->n_nodes; i++)
			e->nodes[i].weight = ef_edge_node_weight(e->weights,
					e->cluster != 0, &e->views[i]);
		return -rte_errno;
	}
	old = e->lb;
	/* one release store: a worker sees the old table or the new one */
	__atomic_store_n(&e->lb, nl, __ATOMIC_RELEASE);
	if (v != NULL)
		rte_rcu_qsbr_synchronize(v, RTE_QSBR_THRID_INVALID);
	ef_edge_lb_free(old);
	return 1;
}
