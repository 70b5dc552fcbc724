/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /edgefwd/vips and /edgefwd/drain: what a BGP speaker on the exception
 * path should announce (app/edgefwd-bgp reads it every 200 ms and makes
 * BIRD announce exactly that), and the drain of a graceful stop.
 *
 * A VIP is a load_balancer_ips or external_ips address of a service. It is
 * usable while at least one service at that address has a usable backend
 * on one of its ports: external_traffic_policy Local, a local endpoint
 * that is ready, healthy and not terminating (what healthCheckNodePort
 * counts); Cluster, any eligible endpoint (ready and healthy, else
 * serving-and-terminating, as new flows pick them); mode "edge", a node
 * with weight > 0 in the service's node table (healthy, not draining:
 * what the Maglev table steers new flows to). Announce = usable and
 * not draining. A VIP shared by services whose backends differ is
 * announced while any of them can serve: withdrawing it would stop the
 * others too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "ef_cfg.h"
#include "ef_ctl.h"
#include "ef_edge.h"
#include "ef_svc.h"
#include "ef_tele.h"

#include "tele_priv.h"

static struct ef_ctl *vips_ctl;
/* Handlers in flight, and the stop flag (ef_tele_stop()): the companion
 * polls every 200 ms, also while edgefwd frees its control plane. */
static uint32_t vips_inflight;
static uint32_t vips_stopped;

/* Enter a handler: the control plane, or NULL when stopping. */
static struct ef_ctl *
vips_enter(void)
{
	__atomic_fetch_add(&vips_inflight, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&vips_stopped, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_sub(&vips_inflight, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	return vips_ctl;
}

static void
vips_leave(void)
{
	__atomic_fetch_sub(&vips_inflight, 1, __ATOMIC_RELEASE);
}

void
ef_tele_stop(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };

	__atomic_store_n(&vips_stopped, 1, __ATOMIC_SEQ_CST);
	/* a handler answers at once: bounded by one reply */
	for (int i = 0; i < 5000 &&
	     __atomic_load_n(&vips_inflight, __ATOMIC_ACQUIRE) != 0; i++)
		nanosleep(&ts, NULL);
}

static int
reply_stopping(struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "error", "edgefwd is stopping");
	return 0;
}

struct vip {
	uint32_t addr;		/* host order, for sorting */
	uint32_t services;
	uint32_t usable;	/* services with a usable backend */
};

static int
vip_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct vip *)a)->addr;
	uint32_t y = ((const struct vip *)b)->addr;

	return x < y ? -1 : x > y;
}

/* Edge mode: a node of the published table with weight > 0 (healthy, not
 * draining, weighted by its endpoints or its health header): what new
 * flows steer to. Under the read side (the table is freed after a grace
 * period). */
static bool
edge_usable(const struct ef_svc_gen *g, uint32_t svc_idx)
{
	const struct ef_edge_lb *lb = ef_svc_edge_lb(g, svc_idx);

	for (uint32_t i = 0; lb != NULL && i < lb->n_nodes; i++)
		if (lb->nodes[i].weight > 0)
			return true;
	return false;
}

static bool
service_usable(const struct ef_svc_gen *g, uint32_t svc_idx)
{
	const struct ef_svc_service *sv = &g->svcs[svc_idx];
	bool local = sv->cfg->external_traffic_policy == EF_POLICY_LOCAL;

	if (sv->cfg->mode == EF_SVC_MODE_EDGE)
		return edge_usable(g, svc_idx);
	for (uint32_t p = 0; p < sv->n_sp; p++) {
		const struct ef_svc_pool *pool =
			ef_svc_pool_get(&g->sps[sv->first_sp + p]);

		if (local ? pool->n_local_ready > 0 : pool->n_all > 0)
			return true;
	}
	return false;
}

/* Every VIP of g, sorted, merged per address; *n set. NULL: out of memory
 * (or none, with *n = 0). */
static struct vip *
collect(const struct ef_svc_gen *g, uint32_t *n)
{
	uint32_t cap = 0, k = 0, out = 0;
	struct vip *v;

	for (uint32_t s = 0; s < g->n_svcs; s++)
		cap += g->svcs[s].cfg->n_load_balancer_ips +
			g->svcs[s].cfg->n_external_ips;
	*n = 0;
	if (cap == 0)
		return NULL;
	v = calloc(cap, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (uint32_t s = 0; s < g->n_svcs; s++) {
		const struct ef_svc_service *sv = &g->svcs[s];
		const struct ef_cfg_service *cs = sv->cfg;
		uint32_t first = k;
		bool ok = service_usable(g, s);

		for (uint32_t i = 0; i < cs->n_load_balancer_ips +
		     cs->n_external_ips; i++) {
			const struct ef_addr *a = i < cs->n_load_balancer_ips ?
				&cs->load_balancer_ips[i] :
				&cs->external_ips[i - cs->n_load_balancer_ips];
			bool dup = false;

			if (a->family != EF_AF_INET4)
				continue;
			/* one service naming an address twice counts once */
			for (uint32_t j = first; j < k && !dup; j++)
				dup = v[j].addr == ntohl(a->v4);
			if (dup)
				continue;
			v[k].addr = ntohl(a->v4);
			v[k].services = 1;
			v[k].usable = ok ? 1 : 0;
			k++;
		}
	}
	qsort(v, k, sizeof(*v), vip_cmp);
	for (uint32_t i = 0; i < k; i++) {
		if (out > 0 && v[out - 1].addr == v[i].addr) {
			v[out - 1].services += v[i].services;
			v[out - 1].usable += v[i].usable;
		} else {
			v[out++] = v[i];
		}
	}
	*n = out;
	return v;
}

static void
add_vip(struct rte_tel_data *d, uint32_t pos, const struct vip *v,
	bool draining)
{
	struct rte_tel_data *o = rte_tel_data_alloc();
	struct in_addr a = { .s_addr = htonl(v->addr) };
	char buf[INET_ADDRSTRLEN], key[16];

	if (o == NULL)
		return;
	rte_tel_data_start_dict(o);
	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	rte_tel_data_add_dict_string(o, "vip", buf);
	rte_tel_data_add_dict_u64(o, "services", v->services);
	rte_tel_data_add_dict_u64(o, "usable_services", v->usable);
	rte_tel_data_add_dict_int(o, "usable", v->usable > 0);
	rte_tel_data_add_dict_int(o, "announce", v->usable > 0 && !draining);
	snprintf(key, sizeof(key), "%u", pos);
	rte_tel_data_add_dict_container(d, key, o, 0);
}

static void
add_drain(struct rte_tel_data *d, const struct ef_ctl_drain_info *di)
{
	rte_tel_data_add_dict_int(d, "draining", di->mode != EF_CTL_DRAIN_NONE);
	rte_tel_data_add_dict_string(d, "drain_mode",
				     ef_ctl_drain_mode_name(di->mode));
	rte_tel_data_add_dict_u64(d, "drain_seconds", di->seconds);
	rte_tel_data_add_dict_u64(d, "drain_remaining_ms", di->remaining_ms);
	rte_tel_data_add_dict_u64(d, "draining_for_ms", di->since_ms);
}

static int
vips_reply(struct ef_ctl *c, const char *params, struct rte_tel_data *d)
{
	struct ef_ctl_drain_info di;
	const struct ef_svc_gen *g;
	struct rte_tel_data *arr;
	struct vip *v;
	uint32_t off, n, i, usable = 0, gen_services;
	uint64_t gen;
	bool draining;

	if (ef_tele_parse_uint(params, 0, UINT32_MAX, &off) != 0) {
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_string(d, "error",
					     "bad offset (a number)");
		return 0;
	}
	arr = rte_tel_data_alloc();
	if (arr == NULL)
		return -ENOMEM;
	g = ef_ctl_read_lock(c);
	v = collect(g, &n);
	gen = g->number;
	gen_services = g->n_svcs;
	ef_ctl_read_unlock(c);
	if (v == NULL && n > 0) {
		rte_tel_data_free(arr);
		return -ENOMEM;
	}
	ef_ctl_drain_get(c, &di);
	draining = di.mode != EF_CTL_DRAIN_NONE;
	for (i = 0; i < n; i++)
		usable += v[i].usable > 0;
	ef_ctl_drain_note_announced(c, draining ? 0 : usable);
	rte_tel_data_start_dict(d);
	rte_tel_data_start_dict(arr);
	for (i = off; i < n && i - off < EF_TELE_VIPS_PAGE; i++)
		add_vip(arr, i, &v[i], draining);
	rte_tel_data_add_dict_u64(d, "total", n);
	rte_tel_data_add_dict_u64(d, "usable", usable);
	rte_tel_data_add_dict_u64(d, "announced", draining ? 0 : usable);
	rte_tel_data_add_dict_u64(d, "generation", gen);
	rte_tel_data_add_dict_u64(d, "services", gen_services);
	add_drain(d, &di);
	if (i < n)
		rte_tel_data_add_dict_u64(d, "next_offset", i);
	rte_tel_data_add_dict_container(d, "vips", arr, 0);
	free(v);
	return 0;
}

static int
cmd_vips(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_ctl *c = vips_enter();
	int rc;

	RTE_SET_USED(cmd);
	if (c == NULL)
		return reply_stopping(d);
	rc = vips_reply(c, params, d);
	vips_leave();
	return rc;
}

static int
drain_reply(struct ef_ctl *c, const char *params, struct rte_tel_data *d)
{
	struct ef_ctl_drain_info di;
	enum ef_ctl_drain_mode mode;
	bool changed;

	if (params == NULL || *params == '\0' || strcmp(params, "stop") == 0)
		mode = EF_CTL_DRAIN_STOP;
	else if (strcmp(params, "hold") == 0)
		mode = EF_CTL_DRAIN_HOLD;
	else if (strcmp(params, "resume") == 0)
		mode = EF_CTL_DRAIN_NONE;
	else if (strcmp(params, "status") == 0)
		mode = (enum ef_ctl_drain_mode)-1;
	else {
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_string(d, "error", "usage: /edgefwd/drain"
					     "[,stop|hold|resume|status]");
		return 0;
	}
	changed = (int)mode >= 0 ? ef_ctl_drain_begin(c, mode) : false;
	ef_ctl_drain_get(c, &di);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "ok", (int)mode < 0 || changed);
	add_drain(d, &di);
	return 0;
}

static int
cmd_drain(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_ctl *c = vips_enter();
	int rc;

	RTE_SET_USED(cmd);
	if (c == NULL)
		return reply_stopping(d);
	rc = drain_reply(c, params, d);
	vips_leave();
	return rc;
}

int
ef_tele_vips_register(struct ef_ctl *c)
{
	int rc;

	vips_ctl = c;
	rc = rte_telemetry_register_cmd("/edgefwd/vips", cmd_vips,
		"VIPs to announce (BGP): vip, services, usable, announce; "
		"drain state. Parameter: offset");
	if (rc != 0 && rc != -EINVAL)
		return rc;
	rc = rte_telemetry_register_cmd("/edgefwd/drain", cmd_drain,
		"Withdraw every VIP. Parameter: stop (default: then stop after "
		"--drain-seconds), hold (until resume), resume, status");
	return rc != 0 && rc != -EINVAL ? rc : 0;
}
