/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The metric families (docs/METRICS.md), each a count of elements and a
 * writer of one element, walked by a cursor that stops at a full buffer
 * and resumes there. Runs on the control lcore, which owns the current
 * generation (no read side needed); the workers' counters are read with
 * relaxed loads and summed, never locked.
 *
 * Per-service families come last and are read from the generation at the
 * moment each piece is written: a reload in the middle of a scrape ends
 * the per-service part there (an index of one generation means nothing in
 * the next), so a scrape never repeats or mixes a series.
 *
 * Edge director: edgefwd_node_healthy (labelled node) and the per
 * (service, node) edgefwd_service_node_* families come just before the
 * per-service ones and stop the same way on a reload; they read what
 * /edgefwd/service and /edgefwd/nodes read (the generation's node views,
 * the workers' per-node counters).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_version.h>

#include "ef_ct.h"
#include "ef_svc.h"

#include "metrics_priv.h"

#ifndef EF_VERSION
#define EF_VERSION "unknown"
#endif

typedef uint32_t (*mx_count_fn)(const struct ef_metrics *m,
				const struct mx_cursor *cur);
typedef int (*mx_emit_fn)(struct ef_metrics *m, const struct mx_cursor *cur,
			  const char *name, uint32_t idx,
			  struct ef_metrics_buf *b);

struct mx_family {
	const char *name;
	const char *type;
	const char *help;
	mx_count_fn count;
	mx_emit_fn emit;
};

static struct ef_fwd_shared *
shared(const struct ef_metrics *m)
{
	return ef_ctl_shared(m->ctl);
}

static uint64_t
ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void
mx_cursor_start(struct ef_metrics *m, struct mx_cursor *cur)
{
	struct ef_fwd_shared *sh = shared(m);
	struct mx_snap *s = &cur->snap;
	struct ef_health *h = ef_ctl_health(m->ctl);

	memset(cur, 0, sizeof(*cur));
	ef_fwd_counters_sum(sh, &s->c);
	for (uint16_t i = 0; i < sh->n_ports; i++)
		s->port_ok[i] = rte_eth_stats_get(sh->ports[i].port_id,
						  &s->port[i]) == 0;
	ef_ctl_stats(m->ctl, &s->ctl);
	s->hs_ok = h != NULL;
	if (h != NULL)
		ef_health_stats(h, &s->hs);
	s->generation = sh->gen->number;
	for (uint32_t w = 0; w < sh->n_workers; w++) {
		const struct ef_fwd_worker *wk = sh->workers[w];
		const struct ef_ct_stats *cs;

		if (wk == NULL)
			continue;
		/* the IPv4 table, and the IPv6 one when there is one */
		for (int t = 0; t < 2; t++) {
			const struct ef_ct *ct = t == 0 ? wk->ct : wk->ct6;

			if (ct == NULL)
				continue;
			cs = ef_ct_stats(ct);
			s->flows_active += __atomic_load_n(&cs->active,
							   __ATOMIC_RELAXED);
			s->ct_capacity += ef_ct_capacity(ct);
			for (unsigned int k = 0; k < EF_CT_STATE_MAX; k++)
				s->by_state[k] += __atomic_load_n(
					&cs->by_state[k], __ATOMIC_RELAXED);
		}
	}
	s->mbufs_in_use = sh->pool != NULL ?
		rte_mempool_in_use_count(sh->pool) : 0;
	s->mbufs_total = sh->pool != NULL ? sh->pool->size : 0;
	s->tsc_hz = (double)rte_get_tsc_hz();
}

/* ---- element counts ---------------------------------------------------- */

static uint32_t
one(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	RTE_SET_USED(m);
	RTE_SET_USED(cur);
	return 1;
}

static uint32_t
n_ports(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	RTE_SET_USED(cur);
	return shared(m)->n_ports;
}

static uint32_t
n_drops(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	RTE_SET_USED(m);
	RTE_SET_USED(cur);
	return EF_FWD_DROP_MAX;
}

static uint32_t
n_cookie_results(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	RTE_SET_USED(m);
	RTE_SET_USED(cur);
	return 3;	/* sent, ok, bad */
}

static uint32_t
n_states(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	RTE_SET_USED(m);
	RTE_SET_USED(cur);
	return EF_CT_STATE_MAX;
}

static uint32_t
n_workers(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	RTE_SET_USED(cur);
	return shared(m)->n_workers;
}

static uint32_t
n_snat(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	const struct ef_nat_map *map = shared(m)->nat_map;

	RTE_SET_USED(cur);
	return map != NULL ? RTE_MIN(map->n_addrs, (uint32_t)EF_NAT_MAX_ADDRS) :
		0;
}

static uint32_t
n_results(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	RTE_SET_USED(m);
	RTE_SET_USED(cur);
	return 2;
}

static uint32_t
n_services(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	const struct ef_svc_gen *g = shared(m)->gen;

	/* a reload since the scrape started: no more per-service series */
	return g->number == cur->snap.generation ? g->cfg->n_services : 0;
}

/* Nodes of the configuration (one series each), 0 after a reload. */
static uint32_t
n_nodes(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	const struct ef_svc_gen *g = shared(m)->gen;

	return g->number == cur->snap.generation ? g->cfg->n_nodes : 0;
}

/* Every (service, node) pair, 0 after a reload; services without a node
 * table (not "edge" nor cluster_forwarding "encap") emit nothing. */
static uint32_t
n_service_nodes(const struct ef_metrics *m, const struct mx_cursor *cur)
{
	const struct ef_svc_gen *g = shared(m)->gen;

	return g->number == cur->snap.generation ?
		g->cfg->n_services * g->cfg->n_nodes : 0;
}

/* ---- emitters ---------------------------------------------------------- */

enum {
	V_BUILD, V_START, V_FLOWS_ACTIVE, V_FLOWS_CREATED, V_FLOWS_CLOSED,
	V_CT_CAPACITY, V_HANDOFF, V_EXCEPTION, V_MBUFS_USED, V_MBUFS_TOTAL,
	V_GENERATION, V_RELOAD_TS, V_RELOAD_FAIL_TS, V_RELOAD_OK,
	V_HC_TRANSITIONS, V_HC_PROBES, V_HC_PROBE_FAILURES, V_UPTIME,
	V_SCRAPES, V_SCRAPE_S, V_SNAT_FLOWS, V_SNAT_RSS_FALLBACK,
	V_RX6, V_ND_ADVERTS,
};

static int
emit_scalar(struct ef_metrics *m, const struct mx_cursor *cur,
	    const char *name, uint32_t which, struct ef_metrics_buf *b)
{
	const struct mx_snap *s = &cur->snap;
	struct ef_metrics_label bl[2] = {
		{ "version", EF_VERSION }, { "dpdk", rte_version() },
	};

	switch (which) {
	case V_BUILD:
		return ef_metrics_sample_u64(b, name, bl, 2, 1);
	case V_START:
		return ef_metrics_sample_f64(b, name, NULL, 0, m->start_unix);
	case V_UPTIME:
		return ef_metrics_sample_u64(b, name, NULL, 0, s->ctl.uptime_s);
	case V_FLOWS_ACTIVE:
		return ef_metrics_sample_u64(b, name, NULL, 0, s->flows_active);
	case V_FLOWS_CREATED:
		return ef_metrics_sample_u64(b, name, NULL, 0,
					     s->c.flows_created);
	case V_FLOWS_CLOSED:
		return ef_metrics_sample_u64(b, name, NULL, 0,
					     s->c.flows_closed);
	case V_CT_CAPACITY:
		return ef_metrics_sample_u64(b, name, NULL, 0, s->ct_capacity);
	case V_HANDOFF:
		return ef_metrics_sample_u64(b, name, NULL, 0,
					     s->c.handoff_packets);
	case V_EXCEPTION:
		return ef_metrics_sample_u64(b, name, NULL, 0,
					     s->c.exception_packets);
	case V_MBUFS_USED:
		return ef_metrics_sample_u64(b, name, NULL, 0, s->mbufs_in_use);
	case V_MBUFS_TOTAL:
		return ef_metrics_sample_u64(b, name, NULL, 0, s->mbufs_total);
	case V_GENERATION:
		return ef_metrics_sample_u64(b, name, NULL, 0, s->generation);
	case V_RELOAD_TS:
		return ef_metrics_sample_f64(b, name, NULL, 0, m->reload_unix);
	case V_RELOAD_FAIL_TS:
		return ef_metrics_sample_f64(b, name, NULL, 0,
					     m->reload_fail_unix);
	case V_RELOAD_OK:
		return ef_metrics_sample_u64(b, name, NULL, 0,
					     m->last_reload_ok ? 1 : 0);
	case V_HC_TRANSITIONS:
		return ef_metrics_sample_u64(b, name, NULL, 0,
					     s->hs.transitions);
	case V_HC_PROBES:
		return ef_metrics_sample_u64(b, name, NULL, 0, s->hs.probes);
	case V_HC_PROBE_FAILURES:
		return ef_metrics_sample_u64(b, name, NULL, 0,
					     s->hs.probe_failures);
	case V_SCRAPES:
		return ef_metrics_sample_u64(b, name, NULL, 0,
					     m->stats.scrapes);
	case V_SCRAPE_S:
		return ef_metrics_sample_f64(b, name, NULL, 0,
					     m->stats.last_scrape_s);
	case V_SNAT_FLOWS:
		return ef_metrics_sample_u64(b, name, NULL, 0, s->c.snat_flows);
	case V_SNAT_RSS_FALLBACK:
		return ef_metrics_sample_u64(b, name, NULL, 0,
					     s->c.snat_rss_fallback);
	case V_RX6:
		return ef_metrics_sample_u64(b, name, NULL, 0, s->c.rx6_packets);
	case V_ND_ADVERTS:
		return ef_metrics_sample_u64(b, name, NULL, 0,
					     s->c.nd_advertisements);
	default:
		return -EINVAL;
	}
}

#define EMIT_SCALAR(fn, which) \
static int \
fn(struct ef_metrics *m, const struct mx_cursor *cur, const char *name, \
   uint32_t idx, struct ef_metrics_buf *b) \
{ \
	RTE_SET_USED(idx); \
	return emit_scalar(m, cur, name, which, b); \
}
EMIT_SCALAR(e_build, V_BUILD)
EMIT_SCALAR(e_start, V_START)
EMIT_SCALAR(e_uptime, V_UPTIME)
EMIT_SCALAR(e_flows_active, V_FLOWS_ACTIVE)
EMIT_SCALAR(e_flows_created, V_FLOWS_CREATED)
EMIT_SCALAR(e_flows_closed, V_FLOWS_CLOSED)
EMIT_SCALAR(e_ct_capacity, V_CT_CAPACITY)
EMIT_SCALAR(e_handoff, V_HANDOFF)
EMIT_SCALAR(e_exception, V_EXCEPTION)
EMIT_SCALAR(e_mbufs_used, V_MBUFS_USED)
EMIT_SCALAR(e_mbufs_total, V_MBUFS_TOTAL)
EMIT_SCALAR(e_generation, V_GENERATION)
EMIT_SCALAR(e_reload_ts, V_RELOAD_TS)
EMIT_SCALAR(e_reload_fail_ts, V_RELOAD_FAIL_TS)
EMIT_SCALAR(e_reload_ok, V_RELOAD_OK)
EMIT_SCALAR(e_hc_transitions, V_HC_TRANSITIONS)
EMIT_SCALAR(e_hc_probes, V_HC_PROBES)
EMIT_SCALAR(e_hc_probe_failures, V_HC_PROBE_FAILURES)
EMIT_SCALAR(e_scrapes, V_SCRAPES)
EMIT_SCALAR(e_scrape_s, V_SCRAPE_S)
EMIT_SCALAR(e_snat_flows, V_SNAT_FLOWS)
EMIT_SCALAR(e_snat_rss_fallback, V_SNAT_RSS_FALLBACK)
EMIT_SCALAR(e_rx6, V_RX6)
EMIT_SCALAR(e_nd_adverts, V_ND_ADVERTS)
#undef EMIT_SCALAR

enum { P_RX_PKTS, P_TX_PKTS, P_RX_BYTES, P_TX_BYTES, P_MISSED, P_RX_ERR,
	P_TX_ERR };

/* Per port: the port's own (ethdev) counters, labelled by the DPDK device
 * name of its interfaces entry. */
static int
emit_port(struct ef_metrics *m, const struct mx_cursor *cur,
	  const char *name, uint32_t idx, uint32_t which,
	  struct ef_metrics_buf *b)
{
	const struct rte_eth_stats *st = &cur->snap.port[idx];
	struct ef_metrics_label l = {
		"port", shared(m)->gen->cfg->interfaces[idx].port,
	};
	uint64_t v;

	switch (which) {
	case P_RX_PKTS:
		v = st->ipackets;
		break;
	case P_TX_PKTS:
		v = st->opackets;
		break;
	case P_RX_BYTES:
		v = st->ibytes;
		break;
	case P_TX_BYTES:
		v = st->obytes;
		break;
	case P_MISSED:
		v = st->imissed;
		break;
	case P_RX_ERR:
		v = st->ierrors + st->rx_nombuf;
		break;
	default:
		v = st->oerrors;
		break;
	}
	return ef_metrics_sample_u64(b, name, &l, 1, cur->snap.port_ok[idx] ?
				     v : 0);
}

#define EMIT_PORT(fn, which) \
static int \
fn(struct ef_metrics *m, const struct mx_cursor *cur, const char *name, \
   uint32_t idx, struct ef_metrics_buf *b) \
{ \
	return emit_port(m, cur, name, idx, which, b); \
}
EMIT_PORT(e_rx_pkts, P_RX_PKTS)
EMIT_PORT(e_tx_pkts, P_TX_PKTS)
EMIT_PORT(e_rx_bytes, P_RX_BYTES)
EMIT_PORT(e_tx_bytes, P_TX_BYTES)
EMIT_PORT(e_missed, P_MISSED)
EMIT_PORT(e_rx_err, P_RX_ERR)
EMIT_PORT(e_tx_err, P_TX_ERR)
#undef EMIT_PORT

static int
e_drops(struct ef_metrics *m, const struct mx_cursor *cur, const char *name,
	uint32_t idx, struct ef_metrics_buf *b)
{
	struct ef_metrics_label l = { "reason", ef_fwd_drop_name(idx) };

	RTE_SET_USED(m);
	return ef_metrics_sample_u64(b, name, &l, 1, cur->snap.c.drops[idx]);
}

/* SYN cookies (lib/fwd/fwd_syn.h) by result */
static int
e_syn_cookies(struct ef_metrics *m, const struct mx_cursor *cur,
	      const char *name, uint32_t idx, struct ef_metrics_buf *b)
{
	static const char *const result[] = { "sent", "ok", "bad" };
	const uint64_t v[] = { cur->snap.c.syn_cookies_sent,
			       cur->snap.c.syn_cookies_ok,
			       cur->snap.c.syn_cookies_bad };
	struct ef_metrics_label l = { "result", result[idx % 3] };

	RTE_SET_USED(m);
	return ef_metrics_sample_u64(b, name, &l, 1, v[idx % 3]);
}

static int
e_states(struct ef_metrics *m, const struct mx_cursor *cur, const char *name,
	 uint32_t idx, struct ef_metrics_buf *b)
{
	struct ef_metrics_label l = { "state", ef_ct_state_name(idx) };

	RTE_SET_USED(m);
	return ef_metrics_sample_u64(b, name, &l, 1, cur->snap.by_state[idx]);
}

static int
emit_snat(struct ef_metrics *m, const struct mx_cursor *cur,
	  const char *name, uint32_t idx, bool capacity,
	  struct ef_metrics_buf *b)
{
	const struct ef_nat_map *map = shared(m)->nat_map;
	struct in_addr a = { .s_addr = map->addrs[idx] };
	char buf[INET_ADDRSTRLEN];
	struct ef_metrics_label l = { "address", buf };

	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	return ef_metrics_sample_u64(b, name, &l, 1, capacity ?
				     (uint64_t)map->slice * map->n_workers :
				     cur->snap.c.snat_by_addr[idx]);
}

static int
e_snat_used(struct ef_metrics *m, const struct mx_cursor *cur,
	    const char *name, uint32_t idx, struct ef_metrics_buf *b)
{
	return emit_snat(m, cur, name, idx, false, b);
}

static int
e_snat_cap(struct ef_metrics *m, const struct mx_cursor *cur,
	   const char *name, uint32_t idx, struct ef_metrics_buf *b)
{
	return emit_snat(m, cur, name, idx, true, b);
}

static int
e_reloads(struct ef_metrics *m, const struct mx_cursor *cur, const char *name,
	  uint32_t idx, struct ef_metrics_buf *b)
{
	struct ef_metrics_label l = { "result", idx == 0 ? "ok" : "failed" };

	RTE_SET_USED(m);
	return ef_metrics_sample_u64(b, name, &l, 1, idx == 0 ?
				     cur->snap.ctl.reloads_ok :
				     cur->snap.ctl.reloads_failed);
}

enum { W_BUSY_RATIO, W_BUSY_S, W_RX, W_TX, W_HIST };

static int
emit_worker(struct ef_metrics *m, const struct mx_cursor *cur,
	    const char *name, uint32_t idx, uint32_t which,
	    struct ef_metrics_buf *b)
{
	const struct ef_fwd_worker *wk = shared(m)->workers[idx];
	double hz = cur->snap.tsc_hz > 0 ? cur->snap.tsc_hz : 1;
	char lc[16];
	struct ef_metrics_label l = { "lcore", lc };

	if (wk == NULL)
		return 0;
	snprintf(lc, sizeof(lc), "%u", wk->lcore_id);
	switch (which) {
	case W_BUSY_RATIO:
		return ef_metrics_sample_f64(b, name, &l, 1,
					     m->busy_ratio[idx]);
	case W_BUSY_S:
		return ef_metrics_sample_f64(b, name, &l, 1,
			(double)ld(&wk->c.busy_cycles) / hz);
	case W_RX:
		return ef_metrics_sample_u64(b, name, &l, 1,
					     ld(&wk->c.rx_packets));
	case W_TX:
		return ef_metrics_sample_u64(b, name, &l, 1,
					     ld(&wk->c.tx_packets));
	default: {
		double le[EF_FWD_BURST_HIST_BUCKETS];
		uint64_t n[EF_FWD_BURST_HIST_BUCKETS];

		for (uint32_t i = 0; i < EF_FWD_BURST_HIST_BUCKETS; i++) {
			le[i] = (double)(1ull << (EF_FWD_BURST_HIST_MIN_BIT +
						  i)) / hz;
			n[i] = ld(&wk->c.burst_hist[i]);
		}
		/* the sum is the busy time: the same iterations */
		return ef_metrics_histogram(b, name, &l, 1, le, n,
			EF_FWD_BURST_HIST_BUCKETS,
			(double)ld(&wk->c.busy_cycles) / hz);
	}
	}
}

#define EMIT_WORKER(fn, which) \
static int \
fn(struct ef_metrics *m, const struct mx_cursor *cur, const char *name, \
   uint32_t idx, struct ef_metrics_buf *b) \
{ \
	return emit_worker(m, cur, name, idx, which, b); \
}
EMIT_WORKER(e_w_busy_ratio, W_BUSY_RATIO)
EMIT_WORKER(e_w_busy_s, W_BUSY_S)
EMIT_WORKER(e_w_rx, W_RX)
EMIT_WORKER(e_w_tx, W_TX)
EMIT_WORKER(e_w_hist, W_HIST)
#undef EMIT_WORKER

enum { S_INFO, S_PACKETS, S_BYTES, S_FLOWS, S_READY, S_HEALTHY, S_LOCAL };

/* Per service, labelled namespace and service (the halves of its name). */
static int
emit_service(struct ef_metrics *m, const char *name, uint32_t idx,
	     uint32_t which, struct ef_metrics_buf *b)
{
	const struct ef_fwd_shared *sh = shared(m);
	const struct ef_svc_gen *g = sh->gen;
	const struct ef_svc_service *sv = &g->svcs[idx];
	const struct ef_cfg_service *cs = sv->cfg;
	const char *slash = strchr(cs->name, '/');
	char ns[EF_CFG_NAME_MAX];
	size_t nl = slash != NULL ? (size_t)(slash - cs->name) : 0;
	struct ef_metrics_label l[4] = {
		{ "namespace", ns },
		{ "service", slash != NULL ? slash + 1 : cs->name },
		{ "type", ef_svc_type_name(cs->type) },
		{ "external_traffic_policy",
		  ef_policy_name(cs->external_traffic_policy) },
	};
	uint64_t v = 0;
	int64_t flows = 0;

	memcpy(ns, cs->name, nl);
	ns[nl] = '\0';
	switch (which) {
	case S_INFO:
		return ef_metrics_sample_u64(b, name, l, 4, 1);
	case S_PACKETS:
	case S_BYTES:
	case S_FLOWS:
		for (uint32_t w = 0; w < sh->n_workers; w++) {
			const struct ef_fwd_worker *wk = sh->workers[w];

			if (wk == NULL || sv->stable_id >= wk->n_svc_ids)
				continue;
			if (which == S_PACKETS)
				v += ld(&wk->svc[sv->stable_id].packets);
			else if (which == S_BYTES)
				v += ld(&wk->svc[sv->stable_id].bytes);
			else
				flows += __atomic_load_n(
					&wk->svc[sv->stable_id].flows,
					__ATOMIC_RELAXED);
		}
		/* per-worker flow counts go up and down on different workers */
		if (which == S_FLOWS)
			v = flows > 0 ? (uint64_t)flows : 0;
		break;
	case S_READY:
	case S_HEALTHY:
		for (uint32_t e = 0; e < cs->n_endpoints; e++) {
			bool ok = cs->endpoints[e].ready;

			if (which == S_HEALTHY)
				ok = ok && __atomic_load_n(
					&g->health[sv->first_health + e].healthy,
					__ATOMIC_ACQUIRE);
			v += ok;
		}
		break;
	default:
		/* what the healthCheckNodePort reports: local, ready,
		 * healthy, not terminating */
		for (uint32_t p = 0; p < sv->n_sp; p++)
			v = RTE_MAX(v, (uint64_t)ef_svc_pool_get(
				&g->sps[sv->first_sp + p])->n_local_ready);
		break;
	}
	return ef_metrics_sample_u64(b, name, l, 2, v);
}

#define EMIT_SERVICE(fn, which) \
static int \
fn(struct ef_metrics *m, const struct mx_cursor *cur, const char *name, \
   uint32_t idx, struct ef_metrics_buf *b) \
{ \
	RTE_SET_USED(cur); \
	return emit_service(m, name, idx, which, b); \
}
EMIT_SERVICE(e_s_info, S_INFO)
EMIT_SERVICE(e_s_packets, S_PACKETS)
EMIT_SERVICE(e_s_bytes, S_BYTES)
EMIT_SERVICE(e_s_flows, S_FLOWS)
EMIT_SERVICE(e_s_ready, S_READY)
EMIT_SERVICE(e_s_healthy, S_HEALTHY)
EMIT_SERVICE(e_s_local, S_LOCAL)
#undef EMIT_SERVICE

/* Node idx healthy for every service probing it (as /edgefwd/nodes). */
static int
e_node_healthy(struct ef_metrics *m, const struct mx_cursor *cur,
	       const char *name, uint32_t idx, struct ef_metrics_buf *b)
{
	const struct ef_svc_gen *g = shared(m)->gen;
	const struct ef_cfg_node *cn = &g->cfg->nodes[idx];
	struct ef_metrics_label l[1] = { { "node", cn->name } };
	bool healthy = true;

	RTE_SET_USED(cur);
	for (uint32_t s = 0; s < g->n_svcs && healthy; s++) {
		const struct ef_svc_edge *e = g->svcs[s].edge;

		if (e != NULL && g->svcs[s].cfg->mode == EF_SVC_MODE_EDGE &&
		    idx < e->n_nodes)
			healthy = e->views[idx].healthy;
	}
	return ef_metrics_sample_u64(b, name, l, 1, healthy ? 1 : 0);
}

enum { N_WEIGHT, N_HEALTHY, N_DRAINING, N_FLOWS, N_PACKETS };

/* Per (service, node), labelled namespace, service and node. */
static int
emit_service_node(struct ef_metrics *m, const char *name, uint32_t idx,
		  uint32_t which, struct ef_metrics_buf *b)
{
	const struct ef_fwd_shared *sh = shared(m);
	const struct ef_svc_gen *g = sh->gen;
	uint32_t nn = g->cfg->n_nodes;
	const struct ef_svc_service *sv = &g->svcs[idx / nn];
	const struct ef_svc_edge *e = sv->edge;
	const struct ef_edge_lb *lb = ef_svc_edge_lb(g, idx / nn);
	uint32_t n = idx % nn;
	const char *slash = strchr(sv->cfg->name, '/');
	size_t nl = slash != NULL ? (size_t)(slash - sv->cfg->name) : 0;
	char ns[EF_CFG_NAME_MAX];
	struct ef_metrics_label l[3] = {
		{ "namespace", ns },
		{ "service", slash != NULL ? slash + 1 : sv->cfg->name },
		{ "node", NULL },
	};
	uint64_t v = 0, packets, flows;
	uint32_t li;

	if (e == NULL || lb == NULL || n >= e->n_nodes)
		return 0;
	memcpy(ns, sv->cfg->name, nl);
	ns[nl] = '\0';
	l[2].value = g->cfg->nodes[n].name;	/* as edgefwd_node_healthy */
	switch (which) {
	case N_WEIGHT:
		li = ef_edge_lb_find(lb, e->nodes[n].addr);
		v = li == EF_EDGE_NO_NODE ? 0 : lb->nodes[li].weight;
		break;
	case N_HEALTHY:
		v = e->views[n].healthy;
		break;
	case N_DRAINING:
		v = e->views[n].draining;
		break;
	default:
		ef_fwd_edge_node_counts(sh, e->nodes[n].slot, &packets,
					&flows);
		v = which == N_FLOWS ? flows : packets;
		break;
	}
	return ef_metrics_sample_u64(b, name, l, 3, v);
}

#define EMIT_SERVICE_NODE(fn, which) \
static int \
fn(struct ef_metrics *m, const struct mx_cursor *cur, const char *name, \
   uint32_t idx, struct ef_metrics_buf *b) \
{ \
	RTE_SET_USED(cur); \
	return emit_service_node(m, name, idx, which, b); \
}
EMIT_SERVICE_NODE(e_sn_weight, N_WEIGHT)
EMIT_SERVICE_NODE(e_sn_healthy, N_HEALTHY)
EMIT_SERVICE_NODE(e_sn_draining, N_DRAINING)
EMIT_SERVICE_NODE(e_sn_flows, N_FLOWS)
EMIT_SERVICE_NODE(e_sn_packets, N_PACKETS)
#undef EMIT_SERVICE_NODE

/* Every family, in output order; docs/METRICS.md documents each. */
static const struct mx_family families[] = {
	{ "edgefwd_build_info", "gauge", "Build of this edgefwd (always 1).",
	  one, e_build },
	{ "edgefwd_start_time_seconds", "gauge",
	  "Unix time edgefwd started serving.", one, e_start },
	{ "edgefwd_uptime_seconds", "gauge", "Seconds since start.",
	  one, e_uptime },
	{ "edgefwd_rx_packets_total", "counter",
	  "Packets received by the port (its own counters).",
	  n_ports, e_rx_pkts },
	{ "edgefwd_tx_packets_total", "counter",
	  "Packets sent by the port.", n_ports, e_tx_pkts },
	{ "edgefwd_rx_bytes_total", "counter", "Bytes received by the port.",
	  n_ports, e_rx_bytes },
	{ "edgefwd_tx_bytes_total", "counter", "Bytes sent by the port.",
	  n_ports, e_tx_bytes },
	{ "edgefwd_rx_missed_packets_total", "counter",
	  "Packets the port dropped because its RX ring was full.",
	  n_ports, e_missed },
	{ "edgefwd_rx_errors_total", "counter",
	  "Receive errors and mbuf allocation failures of the port.",
	  n_ports, e_rx_err },
	{ "edgefwd_tx_errors_total", "counter", "Transmit errors of the port.",
	  n_ports, e_tx_err },
	{ "edgefwd_drops_total", "counter",
	  "Packets dropped by the data path, by reason (telemetry's names).",
	  n_drops, e_drops },
	{ "edgefwd_syn_cookies_total", "counter",
	  "SYN cookies: SYN-ACKs sent, ACKs validated (flows opened), ACKs "
	  "refused.", n_cookie_results, e_syn_cookies },
	{ "edgefwd_handoff_packets_total", "counter",
	  "Packets passed to the worker that owns their flow.",
	  one, e_handoff },
	{ "edgefwd_exception_packets_total", "counter",
	  "Packets passed to the kernel (exception path).",
	  one, e_exception },
	{ "edgefwd_flows_active", "gauge", "Flows in the conntrack tables.",
	  one, e_flows_active },
	{ "edgefwd_flows_created_total", "counter", "Flows created.",
	  one, e_flows_created },
	{ "edgefwd_flows_closed_total", "counter",
	  "Flows closed (ended, expired, evicted, swept).",
	  one, e_flows_closed },
	{ "edgefwd_flows_by_state", "gauge", "Flows by conntrack state.",
	  n_states, e_states },
	{ "edgefwd_conntrack_capacity_flows", "gauge",
	  "Flows the conntrack tables hold at most (all workers).",
	  one, e_ct_capacity },
	{ "edgefwd_snat_flows", "gauge", "Flows holding a SNAT port.",
	  one, e_snat_flows },
	{ "edgefwd_snat_rss_fallback_total", "counter",
	  "SNAT picks whose reply RSS puts on another worker's queue despite "
	  "the RSS model (docs/RSS.md).", one, e_snat_rss_fallback },
	{ "edgefwd_ipv6_packets_total", "counter",
	  "IPv6 frames the workers received and handled (docs/IPV6.md).",
	  one, e_rx6 },
	{ "edgefwd_nd_advertisements_total", "counter",
	  "Neighbor Advertisements sent for our IPv6 addresses.",
	  one, e_nd_adverts },
	{ "edgefwd_snat_ports_in_use", "gauge",
	  "SNAT ports held by live flows, per SNAT address.",
	  n_snat, e_snat_used },
	{ "edgefwd_snat_ports_capacity", "gauge",
	  "SNAT ports available per SNAT address (all workers' slices).",
	  n_snat, e_snat_cap },
	{ "edgefwd_mbufs_in_use", "gauge", "Packet buffers in use.",
	  one, e_mbufs_used },
	{ "edgefwd_mbufs_capacity", "gauge", "Packet buffers in the pool.",
	  one, e_mbufs_total },
	{ "edgefwd_worker_busy_ratio", "gauge",
	  "Share of the last second the worker spent on packets (0..1).",
	  n_workers, e_w_busy_ratio },
	{ "edgefwd_worker_busy_seconds_total", "counter",
	  "Time the worker spent on poll iterations that handled packets.",
	  n_workers, e_w_busy_s },
	{ "edgefwd_worker_rx_packets_total", "counter",
	  "Packets received by the worker from the ports.",
	  n_workers, e_w_rx },
	{ "edgefwd_worker_tx_packets_total", "counter",
	  "Packets sent by the worker.", n_workers, e_w_tx },
	{ "edgefwd_worker_burst_duration_seconds", "histogram",
	  "Duration of the worker's poll iterations that handled packets.",
	  n_workers, e_w_hist },
	{ "edgefwd_config_generation", "gauge",
	  "Configuration generation (+1 per successful reload).",
	  one, e_generation },
	{ "edgefwd_reloads_total", "counter", "Reloads by result.",
	  n_results, e_reloads },
	{ "edgefwd_config_last_reload_timestamp_seconds", "gauge",
	  "Unix time the current generation was published.",
	  one, e_reload_ts },
	{ "edgefwd_config_last_reload_failure_timestamp_seconds", "gauge",
	  "Unix time of the last rejected reload (0: none).",
	  one, e_reload_fail_ts },
	{ "edgefwd_config_last_reload_successful", "gauge",
	  "1 when the last reload (or the start) succeeded, else 0.",
	  one, e_reload_ok },
	{ "edgefwd_health_transitions_total", "counter",
	  "Endpoint health changes (healthy <-> unhealthy).",
	  one, e_hc_transitions },
	{ "edgefwd_health_probes_total", "counter", "Health probes made.",
	  one, e_hc_probes },
	{ "edgefwd_health_probe_failures_total", "counter",
	  "Health probes that failed.", one, e_hc_probe_failures },
	{ "edgefwd_metrics_scrapes_total", "counter",
	  "Scrapes of /metrics answered.", one, e_scrapes },
	{ "edgefwd_metrics_last_scrape_duration_seconds", "gauge",
	  "Time the previous scrape took, request to last byte.",
	  one, e_scrape_s },
	/* edge director (see the top) */
	{ "edgefwd_node_healthy", "gauge",
	  "1 when every edge service's probe finds the node up.",
	  n_nodes, e_node_healthy },
	{ "edgefwd_service_node_weight", "gauge",
	  "Weight of the node in the service's Maglev table (0: no new "
	  "flows).", n_service_nodes, e_sn_weight },
	{ "edgefwd_service_node_healthy", "gauge",
	  "1 while the service's probe of the node succeeds (rise/fall).",
	  n_service_nodes, e_sn_healthy },
	{ "edgefwd_service_node_draining", "gauge",
	  "1 while the node's healthCheckNodePort answers 503.",
	  n_service_nodes, e_sn_draining },
	{ "edgefwd_service_node_flows_active", "gauge",
	  "Edge flow entries of the service pointing at the node.",
	  n_service_nodes, e_sn_flows },
	{ "edgefwd_service_node_packets_total", "counter",
	  "Packets of the service sent to the node.",
	  n_service_nodes, e_sn_packets },
	{ "edgefwd_service_info", "gauge",
	  "One per service: its type and external traffic policy.",
	  n_services, e_s_info },
	{ "edgefwd_service_packets_total", "counter",
	  "Packets forwarded for the service (both directions).",
	  n_services, e_s_packets },
	{ "edgefwd_service_bytes_total", "counter",
	  "Bytes forwarded for the service (both directions).",
	  n_services, e_s_bytes },
	{ "edgefwd_service_flows_active", "gauge",
	  "Live flows of the service.", n_services, e_s_flows },
	{ "edgefwd_service_endpoints_ready", "gauge",
	  "Endpoints the configuration marks ready.",
	  n_services, e_s_ready },
	{ "edgefwd_service_endpoints_healthy", "gauge",
	  "Ready endpoints that pass their health checks.",
	  n_services, e_s_healthy },
	{ "edgefwd_service_endpoints_local", "gauge",
	  "Ready, healthy endpoints on this node (what healthCheckNodePort "
	  "reports).", n_services, e_s_local },
};

int
mx_collect(struct ef_metrics *m, struct mx_cursor *cur,
	   struct ef_metrics_buf *b)
{
	while (!cur->done) {
		const struct mx_family *f;
		size_t len0 = b->len;
		uint32_t n;
		int rc;

		if (cur->fam >= RTE_DIM(families)) {
			cur->done = true;
			break;
		}
		f = &families[cur->fam];
		n = f->count(m, cur);
		if (cur->idx >= n) {
			cur->fam++;
			cur->idx = 0;
			continue;
		}
		/* the family's header goes with its first element */
		rc = cur->idx == 0 ? ef_metrics_family(b, f->name, f->type,
						       f->help) : 0;
		if (rc == 0)
			rc = f->emit(m, cur, f->name, cur->idx, b);
		if (rc != 0) {
			b->len = len0;
			if (len0 == 0) {
				/* cannot fit even an empty buffer */
				cur->done = true;
				return -ENOSPC;
			}
			return 0;
		}
		cur->idx++;
	}
	return 0;
}
