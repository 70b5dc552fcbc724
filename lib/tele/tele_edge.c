/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The edge telemetry (TELEMETRY.md "Additions (second wave)"): the edge
 * form of /edgefwd/service (mode, nodes) and /edgefwd/nodes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "ef_cfg.h"
#include "ef_ctl.h"
#include "ef_edge.h"
#include "ef_fwd.h"
#include "ef_health_node.h"
#include "ef_svc.h"
#include "ef_tele.h"

#include "tele_priv.h"

/* Nodes per /edgefwd/nodes answer; each carries a weights dict. */
#define NODES_PAGE 32
/* Statuses read per node page (services x nodes) */
#define STATUS_MAX 4096


void
ef_tele_add_edge(struct ef_ctl *c, struct rte_tel_data *d,
		 const struct ef_svc_gen *g, uint32_t svc_idx)
{
	const struct ef_fwd_shared *sh = ef_ctl_shared(c);
	const struct ef_cfg_service *cs = g->svcs[svc_idx].cfg;
	const struct ef_svc_edge *e = g->svcs[svc_idx].edge;
	const struct ef_edge_lb *lb = ef_svc_edge_lb(g, svc_idx);
	struct rte_tel_data *nodes;

	rte_tel_data_add_dict_string(d, "mode", ef_svc_mode_name(cs->mode));
	rte_tel_data_add_dict_string(d, "cluster_forwarding",
				     ef_cluster_fwd_name(cs->cluster_forwarding));
	if (e == NULL || lb == NULL || cs->mode != EF_SVC_MODE_EDGE)
		return;
	rte_tel_data_add_dict_string(d, "forwarding",
		ef_edge_forwarding_name(g->cfg->edge.forwarding));
	rte_tel_data_add_dict_string(d, "weights",
		ef_edge_weighting_name(g->cfg->edge.weights));
	nodes = rte_tel_data_alloc();
	if (nodes == NULL)
		return;
	/* 22.11 telemetry has no list of objects: keyed "0", "1", ... as
	 * every other list here (edgefwdctl turns them back) */
	rte_tel_data_start_dict(nodes);
	for (uint32_t i = 0; i < e->n_nodes; i++) {
		struct rte_tel_data *o = rte_tel_data_alloc();
		uint32_t li = ef_edge_lb_find(lb, e->nodes[i].addr);
		uint64_t packets, flows;
		char a[EF_ADDR_STRLEN];
		char key[16];

		if (o == NULL)
			break;
		rte_tel_data_start_dict(o);
		rte_tel_data_add_dict_string(o, "name", e->nodes[i].name);
		rte_tel_data_add_dict_string(o, "address", ef_addr_fmt(
			&g->cfg->nodes[i].address, a, sizeof(a)));
		rte_tel_data_add_dict_u64(o, "weight", li == EF_EDGE_NO_NODE ?
					  0 : lb->nodes[li].weight);
		rte_tel_data_add_dict_int(o, "healthy",
					  e->views[i].healthy ? 1 : 0);
		rte_tel_data_add_dict_int(o, "draining",
					  e->views[i].draining ? 1 : 0);
		rte_tel_data_add_dict_u64(o, "ready_endpoints",
					  e->views[i].ready_endpoints);
		/* active edge flow entries to the node, packets sent to it */
		ef_fwd_edge_node_counts(sh, e->nodes[i].slot, &packets, &flows);
		rte_tel_data_add_dict_u64(o, "flows", flows);
		rte_tel_data_add_dict_u64(o, "packets", packets);
		snprintf(key, sizeof(key), "%u", i);
		rte_tel_data_add_dict_container(nodes, key, o, 0);
	}
	rte_tel_data_add_dict_container(d, "nodes", nodes, 0);
}

int
ef_tele_cmd_nodes(struct ef_ctl *c, const char *params,
		  struct rte_tel_data *d)
{
	struct ef_health_nodes *hn = ef_ctl_health_nodes(c);
	struct ef_health_node_status *st;
	const struct ef_svc_gen *g;
	struct rte_tel_data *arr;
	uint32_t off, n_st = 0, total_st = 0, n_nodes, i;
	uint64_t now_ms = rte_rdtsc() / RTE_MAX(rte_get_tsc_hz() / 1000,
					       (uint64_t)1);

	if (ef_tele_parse_uint(params, 0, UINT32_MAX, &off) != 0) {
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_string(d, "error",
					     "bad offset (a number)");
		return 0;
	}
	st = calloc(STATUS_MAX, sizeof(*st));
	arr = rte_tel_data_alloc();
	if (st == NULL || arr == NULL) {
		free(st);
		rte_tel_data_free(arr);
		return -ENOMEM;
	}
	if (hn != NULL)
		n_st = ef_health_nodes_snapshot(hn, 0, STATUS_MAX, st,
						&total_st);
	rte_tel_data_start_dict(arr);
	g = ef_ctl_read_lock(c);
	n_nodes = g->cfg->n_nodes;
	for (i = off; i < n_nodes && i - off < NODES_PAGE; i++) {
		const struct ef_cfg_node *cn = &g->cfg->nodes[i];
		struct rte_tel_data *o = rte_tel_data_alloc();
		struct rte_tel_data *w = rte_tel_data_alloc();
		uint64_t last = 0;
		const char *err = "";
		bool healthy = true;
		char a[EF_ADDR_STRLEN];
		char key[16];

		if (o == NULL || w == NULL) {
			rte_tel_data_free(o);
			rte_tel_data_free(w);
			break;
		}
		rte_tel_data_start_dict(o);
		rte_tel_data_start_dict(w);
		rte_tel_data_add_dict_string(o, "name", cn->name);
		rte_tel_data_add_dict_string(o, "address",
			ef_addr_fmt(&cn->address, a, sizeof(a)));
		/* the node as every edge service's probe sees it */
		for (uint32_t k = 0; k < n_st; k++) {
			if (st[k].addr != g->node_keys[i])
				continue;
			healthy = healthy && st[k].healthy;
			if (st[k].last_change_ms > last)
				last = st[k].last_change_ms;
			if (st[k].last_error[0] != '\0')
				err = st[k].last_error;
		}
		for (uint32_t s = 0; s < g->n_svcs; s++) {
			const struct ef_edge_lb *lb = ef_svc_edge_lb(g, s);
			uint32_t li;

			if (lb == NULL || g->svcs[s].cfg->mode !=
			    EF_SVC_MODE_EDGE)
				continue;
			li = ef_edge_lb_find(lb, g->node_keys[i]);
			rte_tel_data_add_dict_u64(w, g->svcs[s].cfg->name,
				li == EF_EDGE_NO_NODE ? 0 :
				lb->nodes[li].weight);
		}
		rte_tel_data_add_dict_int(o, "healthy", healthy ? 1 : 0);
		rte_tel_data_add_dict_int(o, "last_change_s", last == 0 ? -1 :
					  (int)((now_ms - last) / 1000));
		rte_tel_data_add_dict_string(o, "last_error", err);
		rte_tel_data_add_dict_container(o, "weights", w, 0);
		snprintf(key, sizeof(key), "%u", i);
		rte_tel_data_add_dict_container(arr, key, o, 0);
	}
	ef_ctl_read_unlock(c);
	free(st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "total", n_nodes);
	if (i < n_nodes)
		rte_tel_data_add_dict_u64(d, "next_offset", i);
	rte_tel_data_add_dict_container(d, "nodes", arr, 0);
	return 0;
}
