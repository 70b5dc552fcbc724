/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_telemetry.h>

#include "ef_ctl.h"
#include "ef_health.h"
#include "ef_tele.h"

#include "tele_priv.h"

EF_LOG_REGISTER(tele);

#ifndef EF_VERSION
#define EF_VERSION "unknown"
#endif

#define SAMPLE_PER_WORKER 4096	/* flows copied per worker for counts */
#define CMD_TIMEOUT_MS 500
#define NEIGH_PAGE 48		/* neighbours per /edgefwd/neighbors answer */
#define RELOAD_TIMEOUT_MS 30000
#define PIECE 120		/* < RTE_TEL_MAX_STRING_LEN */

/* DPDK 22.11 telemetry callbacks take no argument: one process, one ctl */
static struct ef_ctl *tele_ctl;

int
ef_tele_parse_uint(const char *s, uint32_t dflt, uint32_t max, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (s == NULL || *s == '\0') {
		*out = dflt;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int
ef_tele_parse_service(const char *params, char *name, size_t namelen,
		      uint32_t *offset)
{
	const char *comma;
	size_t n;

	if (params == NULL || *params == '\0')
		return -EINVAL;
	comma = strrchr(params, ',');
	n = comma != NULL ? (size_t)(comma - params) : strlen(params);
	if (n == 0 || n >= namelen || memchr(params, '/', n) == NULL)
		return -EINVAL;
	memcpy(name, params, n);
	name[n] = '\0';
	return ef_tele_parse_uint(comma != NULL ? comma + 1 : NULL, 0,
				  UINT32_MAX, offset) == 0 &&
		(comma == NULL || comma[1] != '\0') ? 0 : -EINVAL;
}

/* An error reply: {"error": text}; handlers return 0 so the client gets
 * the reason instead of a bare null. */
static int
reply_error(struct rte_tel_data *d, const char *fmt, const char *arg)
{
	char msg[RTE_TEL_MAX_STRING_LEN + EF_CFG_NAME_MAX];

	/* the string value keeps what fits (127 characters) */
	snprintf(msg, sizeof(msg), fmt, arg != NULL ? arg : "");
	msg[RTE_TEL_MAX_STRING_LEN - 1] = '\0';
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "error", msg);
	return 0;
}

static void
add_addr(struct rte_tel_data *d, const char *key, uint32_t addr)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = addr };

	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	rte_tel_data_add_dict_string(d, key, buf);
}

static void
add_bool(struct rte_tel_data *d, const char *key, bool v)
{
	/* 22.11 has no boolean value type: JSON true/false is not
	 * expressible; 0/1 is what DPDK's own commands use */
	rte_tel_data_add_dict_int(d, key, v ? 1 : 0);
}

/* Long text: "key" holds the first PIECE characters, "key_pieces" the
 * whole text in order (a string value holds 127 characters at most). */
static void
add_long_string(struct rte_tel_data *d, const char *key, const char *s)
{
	char piece[PIECE + 1], k[64];
	struct rte_tel_data *arr;
	size_t n = strlen(s);

	snprintf(piece, sizeof(piece), "%s", s);
	rte_tel_data_add_dict_string(d, key, piece);
	if (n <= PIECE)
		return;
	arr = rte_tel_data_alloc();
	if (arr == NULL)
		return;
	rte_tel_data_start_array(arr, RTE_TEL_STRING_VAL);
	for (size_t off = 0; off < n && off < PIECE * 64; off += PIECE) {
		snprintf(piece, sizeof(piece), "%.*s", PIECE, s + off);
		rte_tel_data_add_array_string(arr, piece);
	}
	snprintf(k, sizeof(k), "%s_pieces", key);
	rte_tel_data_add_dict_container(d, k, arr, 0);
}

/* Frame sizes: each interface's MTU (in the file's order) and the bytes
 * of frame one mbuf holds (jumbo frames: README). */
static void
add_frames(struct rte_tel_data *d, const struct ef_fwd_shared *sh)
{
	struct rte_tel_data *mtus = rte_tel_data_alloc();

	if (mtus != NULL) {
		rte_tel_data_start_array(mtus, RTE_TEL_U64_VAL);
		for (uint16_t i = 0; i < sh->n_ports; i++)
			rte_tel_data_add_array_u64(mtus, sh->ports[i].mtu);
		rte_tel_data_add_dict_container(d, "mtu", mtus, 0);
	}
	if (sh->pool != NULL)
		rte_tel_data_add_dict_u64(d, "mbuf_frame_bytes",
			rte_pktmbuf_data_room_size(sh->pool) -
			RTE_PKTMBUF_HEADROOM);
}

static int
cmd_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_ctl *c = tele_ctl;
	struct ef_ctl_stats *st = malloc(sizeof(*st));
	const struct ef_svc_gen *g;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	if (st == NULL)
		return -ENOMEM;
	ef_ctl_stats(c, st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", EF_VERSION);
	g = ef_ctl_read_lock(c);
	rte_tel_data_add_dict_string(d, "node", g->cfg->node_name);
	rte_tel_data_add_dict_u64(d, "generation", g->number);
	rte_tel_data_add_dict_u64(d, "services", g->cfg->n_services);
	rte_tel_data_add_dict_u64(d, "endpoints", g->n_health);
	ef_ctl_read_unlock(c);
	add_long_string(d, "config_file", ef_ctl_config_file(c));
	rte_tel_data_add_dict_u64(d, "uptime_s", st->uptime_s);
	rte_tel_data_add_dict_u64(d, "workers", ef_ctl_shared(c)->n_workers);
	add_frames(d, ef_ctl_shared(c));
	rte_tel_data_add_dict_u64(d, "reloads_ok", st->reloads_ok);
	rte_tel_data_add_dict_u64(d, "reloads_failed", st->reloads_failed);
	add_long_string(d, "last_reload_error", st->last_error);
	free(st);
	return 0;
}

static uint32_t
worker_flows(const struct ef_fwd_worker *w)
{
	return __atomic_load_n(&ef_ct_stats(w->ct)->active, __ATOMIC_RELAXED) +
		(w->ct6 == NULL ? 0 : __atomic_load_n(
			&ef_ct_stats(w->ct6)->active, __ATOMIC_RELAXED));
}

/*
 * Copy up to max flows of worker w (and its whole-table state counts).
 * Returns the number copied, or -errno. On a timeout the buffer may still
 * be written by the worker: it is leaked on purpose (ef_fwd_command()).
 */
static int
sample_worker(struct ef_fwd_shared *sh, uint32_t w, uint32_t max,
	      struct ef_fwd_cmd **out)
{
	struct ef_fwd_cmd *cmd = calloc(1, sizeof(*cmd));
	int rc;

	*out = NULL;
	if (cmd == NULL)
		return -ENOMEM;
	cmd->type = EF_FWD_CMD_FLOW_SAMPLE;
	cmd->max = max;
	cmd->out = calloc(RTE_MAX(max, 1u), sizeof(*cmd->out));
	if (cmd->out == NULL) {
		free(cmd);
		return -ENOMEM;
	}
	rc = ef_fwd_command(sh, w, cmd, CMD_TIMEOUT_MS);
	if (rc == -ETIMEDOUT) {
		EF_TELE_LOG(WARNING, "worker %u did not answer a flow sample "
			    "in %u ms", w, CMD_TIMEOUT_MS);
		return rc;
	}
	if (rc != 0) {
		free(cmd->out);
		free(cmd);
		return rc;
	}
	*out = cmd;
	return (int)cmd->n_out;
}

static void
sample_free(struct ef_fwd_cmd *cmd)
{
	if (cmd != NULL) {
		free(cmd->out);
		free(cmd);
	}
}

static int
cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_fwd_shared *sh = ef_ctl_shared(tele_ctl);
	struct ef_fwd_counters c;
	struct rte_tel_data *drops;
	uint64_t active = 0;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	ef_fwd_counters_sum(sh, &c);
	for (uint32_t w = 0; w < sh->n_workers; w++)
		if (sh->workers[w] != NULL)
			active += worker_flows(sh->workers[w]);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "rx_packets", c.rx_packets);
	rte_tel_data_add_dict_u64(d, "tx_packets", c.tx_packets);
	rte_tel_data_add_dict_u64(d, "rx_bytes", c.rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_bytes", c.tx_bytes);
	rte_tel_data_add_dict_u64(d, "flows_active", active);
	rte_tel_data_add_dict_u64(d, "flows_created", c.flows_created);
	rte_tel_data_add_dict_u64(d, "flows_closed", c.flows_closed);
	/* every SNAT'd flow holds one port (counted by its worker) */
	rte_tel_data_add_dict_u64(d, "snat_ports_in_use", c.snat_flows);
	add_bool(d, "snat_ports_exact", true);
	rte_tel_data_add_dict_u64(d, "flows_swept", c.flows_swept);
	/* leaks and pile-ups show here first (per-lcore caches included) */
	rte_tel_data_add_dict_u64(d, "mbufs_in_use",
				  rte_mempool_in_use_count(sh->pool));
	rte_tel_data_add_dict_u64(d, "mbufs_total", sh->pool->size);
	rte_tel_data_add_dict_u64(d, "handoff_packets", c.handoff_packets);
	rte_tel_data_add_dict_u64(d, "exception_packets", c.exception_packets);
	rte_tel_data_add_dict_u64(d, "injected_packets", c.injected_packets);
	rte_tel_data_add_dict_u64(d, "arp_replies", c.arp_replies);
	rte_tel_data_add_dict_u64(d, "icmp_echo_replies", c.icmp_echo_replies);
	rte_tel_data_add_dict_u64(d, "rst_sent", c.rst_sent);
	rte_tel_data_add_dict_u64(d, "icmp_errors_sent", c.icmp_errors_sent);
	rte_tel_data_add_dict_u64(d, "affinity_hits", c.affinity_hits);
	rte_tel_data_add_dict_u64(d, "ip_options_cleared", c.ip_options_cleared);
	rte_tel_data_add_dict_u64(d, "neigh_held", c.neigh_held);
	rte_tel_data_add_dict_u64(d, "neigh_released", c.neigh_released);
	rte_tel_data_add_dict_u64(d, "proxy_headers_sent",
				  c.proxy_headers_sent);
	rte_tel_data_add_dict_u64(d, "proxy_header_retransmits",
				  c.proxy_header_retransmits);
	rte_tel_data_add_dict_u64(d, "encap_packets", c.encap_packets);
	rte_tel_data_add_dict_u64(d, "decap_packets", c.decap_packets);
	rte_tel_data_add_dict_u64(d, "mss_clamped", c.mss_clamped);
	rte_tel_data_add_dict_u64(d, "edge_flows_full", c.edge_flows_full);
	rte_tel_data_add_dict_u64(d, "syn_cookies_sent", c.syn_cookies_sent);
	rte_tel_data_add_dict_u64(d, "syn_cookies_ok", c.syn_cookies_ok);
	rte_tel_data_add_dict_u64(d, "syn_cookies_bad", c.syn_cookies_bad);
	rte_tel_data_add_dict_u64(d, "syn_proxy_held", c.syn_proxy_held);
	rte_tel_data_add_dict_u64(d, "snat_rss_fallback",
				  c.snat_rss_fallback);
	rte_tel_data_add_dict_u64(d, "icmp_errors_translated",
				  c.icmp_errors_translated);
	rte_tel_data_add_dict_u64(d, "rx6_packets", c.rx6_packets);
	rte_tel_data_add_dict_u64(d, "flows6_created", c.flows6_created);
	rte_tel_data_add_dict_u64(d, "nd_advertisements",
				  c.nd_advertisements);
	drops = rte_tel_data_alloc();
	if (drops == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(drops);
	for (unsigned int r = 0; r < EF_FWD_DROP_MAX; r++)
		rte_tel_data_add_dict_u64(drops, ef_fwd_drop_name(r),
					  c.drops[r]);
	rte_tel_data_add_dict_container(d, "drops", drops, 0);
	return 0;
}

static int
cmd_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_fwd_shared *sh = ef_ctl_shared(tele_ctl);

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	for (uint32_t w = 0; w < sh->n_workers; w++) {
		const struct ef_fwd_worker *wk = sh->workers[w];
		struct rte_tel_data *o;
		uint64_t busy, total;
		char key[16];

		if (wk == NULL)
			continue;
		o = rte_tel_data_alloc();
		if (o == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(o);
		busy = __atomic_load_n(&wk->c.busy_cycles, __ATOMIC_RELAXED);
		total = __atomic_load_n(&wk->c.total_cycles, __ATOMIC_RELAXED);
		rte_tel_data_add_dict_u64(o, "worker", w);
		rte_tel_data_add_dict_u64(o, "lcore", wk->lcore_id);
		rte_tel_data_add_dict_u64(o, "rx_packets", __atomic_load_n(
			&wk->c.rx_packets, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(o, "tx_packets", __atomic_load_n(
			&wk->c.tx_packets, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(o, "flows_active", worker_flows(wk));
		rte_tel_data_add_dict_u64(o, "handoff_packets", __atomic_load_n(
			&wk->c.handoff_packets, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_int(o, "busy_percent", total == 0 ? 0 :
					  (int)(busy * 100 / total));
		/* extension: the raw TSC cycles behind busy_percent, for the
		 * busy share of an interval by difference */
		rte_tel_data_add_dict_u64(o, "busy_cycles", busy);
		rte_tel_data_add_dict_u64(o, "total_cycles", total);
		snprintf(key, sizeof(key), "%u", w);
		rte_tel_data_add_dict_container(d, key, o, 0);
	}
	return 0;
}

static int
cmd_services(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_ctl *c = tele_ctl;
	const struct ef_svc_gen *g;
	struct rte_tel_data *arr;
	uint32_t off, i;

	RTE_SET_USED(cmd);
	if (ef_tele_parse_uint(params, 0, UINT32_MAX, &off) != 0)
		return reply_error(d, "bad offset '%s' (a number)", params);
	arr = rte_tel_data_alloc();
	if (arr == NULL)
		return -ENOMEM;
	rte_tel_data_start_array(arr, RTE_TEL_STRING_VAL);
	rte_tel_data_start_dict(d);
	g = ef_ctl_read_lock(c);
	for (i = off; i < g->cfg->n_services && i - off < EF_TELE_SERVICES_PAGE; i++)
		rte_tel_data_add_array_string(arr, g->svcs[i].cfg->name);
	rte_tel_data_add_dict_u64(d, "total", g->cfg->n_services);
	rte_tel_data_add_dict_u64(d, "generation", g->number);
	if (i < g->cfg->n_services)
		rte_tel_data_add_dict_u64(d, "next_offset", i);
	ef_ctl_read_unlock(c);
	rte_tel_data_add_dict_container(d, "services", arr, 0);
	return 0;
}

/* Per-endpoint flow counts of service stable id sid from a sample of
 * every worker's table; *exact is false when a table was larger. */
static void
endpoint_flows(struct ef_fwd_shared *sh, uint32_t sid,
	       const struct ef_svc_port *sps, uint32_t n_sp, uint32_t first,
	       uint32_t n, uint64_t *counts, bool *exact)
{
	*exact = true;
	for (uint32_t w = 0; w < sh->n_workers; w++) {
		struct ef_fwd_cmd *s;
		int k;

		if (sh->workers[w] == NULL)
			continue;
		k = sample_worker(sh, w, RTE_MIN(worker_flows(sh->workers[w]) +
						 64u, (uint32_t)SAMPLE_PER_WORKER), &s);
		if (k < 0) {
			*exact = false;
			continue;
		}
		if ((uint32_t)k < worker_flows(sh->workers[w]))
			*exact = false;
		for (int i = 0; i < k; i++) {
			const struct ef_ct_flow *f = &s->out[i].flow;

			if (f->svc_id != sid)
				continue;
			for (uint32_t e = 0; e < n; e++) {
				bool hit = false;

				for (uint32_t p = 0; p < n_sp && !hit; p++)
					hit = sps[p].eps[first + e].addr ==
						f->endpoint &&
						sps[p].eps[first + e].port ==
						f->eport &&
						sps[p].proto == f->proto;
				if (hit) {
					counts[e]++;
					break;
				}
			}
		}
		sample_free(s);
	}
}

/* A copy of service sv's port pools with their endpoint arrays (NULL if
 * out of memory; an entry's eps may be NULL), for use after the read side. */
static struct ef_svc_port *
pools_copy(const struct ef_svc_gen *g, const struct ef_svc_service *sv)
{
	uint32_t n_eps = sv->cfg->n_endpoints;
	struct ef_svc_port *sps = calloc(RTE_MAX(sv->n_sp, 1u), sizeof(*sps));

	for (uint32_t p = 0; sps != NULL && p < sv->n_sp; p++) {
		sps[p] = g->sps[sv->first_sp + p];
		sps[p].eps = calloc(RTE_MAX(n_eps, 1u), sizeof(*sps[p].eps));
		if (sps[p].eps == NULL)
			continue;
		memcpy(sps[p].eps, g->sps[sv->first_sp + p].eps,
		       sizeof(*sps[p].eps) * n_eps);
	}
	return sps;
}

static void
pools_free(struct ef_svc_port *sps, uint32_t n_sp)
{
	if (sps == NULL)
		return;
	for (uint32_t p = 0; p < n_sp; p++)
		free(sps[p].eps);
	free(sps);
}

/*
 * Flow counts of the endpoint page [off, off + *n) of service name. The
 * flow sample waits for workers: it is taken outside the read side (a
 * reload may be waiting for this reader), on a copy of the service's
 * pools. -ENOENT if there is no such service.
 */
static int
service_page_flows(struct ef_ctl *c, const char *name, uint32_t off,
		   uint32_t *n, uint64_t *counts, bool *exact)
{
	const struct ef_svc_gen *g = ef_ctl_read_lock(c);
	int32_t idx = ef_svc_find(g, name);
	const struct ef_svc_service *sv;
	struct ef_svc_port *sps;
	uint32_t n_eps, n_sp, sid;
	bool ok;

	if (idx < 0) {
		ef_ctl_read_unlock(c);
		return -ENOENT;
	}
	sv = &g->svcs[idx];
	n_eps = sv->cfg->n_endpoints;
	*n = off < n_eps ?
		RTE_MIN(n_eps - off, (uint32_t)EF_TELE_ENDPOINTS_PAGE) : 0;
	sps = pools_copy(g, sv);
	/* sv lives in the generation: nothing of it after the unlock */
	n_sp = sv->n_sp;
	sid = sv->stable_id;
	ef_ctl_read_unlock(c);
	*exact = false;
	ok = sps != NULL;
	for (uint32_t p = 0; ok && p < n_sp; p++)
		ok = sps[p].eps != NULL;
	if (ok)
		endpoint_flows(ef_ctl_shared(c), sid, sps, n_sp, off, *n,
			       counts, exact);
	pools_free(sps, n_sp);
	return 0;
}

/* Per service port "PORT/PROTO": its PROXY protocol ("none", "v1", "v2"). */
static void
add_proxy_protocol(struct rte_tel_data *d, const struct ef_cfg_service *cs)
{
	struct rte_tel_data *pp = rte_tel_data_alloc();
	char key[32];

	if (pp == NULL)
		return;
	rte_tel_data_start_dict(pp);
	for (uint32_t i = 0; i < cs->n_ports; i++) {
		const struct ef_cfg_port *p = &cs->ports[i];

		snprintf(key, sizeof(key), "%u/%s", p->port,
			 p->protocol == IPPROTO_UDP ? "UDP" : "TCP");
		rte_tel_data_add_dict_string(pp, key,
			ef_proxy_protocol_name(p->proxy_protocol));
	}
	rte_tel_data_add_dict_container(d, "proxy_protocol", pp, 0);
}

static void
add_service_config(struct rte_tel_data *d, const struct ef_cfg_service *cs)
{
	rte_tel_data_add_dict_string(d, "name", cs->name);
	rte_tel_data_add_dict_string(d, "type", ef_svc_type_name(cs->type));
	rte_tel_data_add_dict_string(d, "external_traffic_policy",
				     ef_policy_name(cs->external_traffic_policy));
	rte_tel_data_add_dict_string(d, "internal_traffic_policy",
				     ef_policy_name(cs->internal_traffic_policy));
	rte_tel_data_add_dict_string(d, "session_affinity",
				     ef_affinity_name(cs->session_affinity));
	rte_tel_data_add_dict_string(d, "health_check",
				     ef_health_type_name(cs->health.type));
	rte_tel_data_add_dict_u64(d, "health_check_node_port",
				  cs->health_check_node_port);
	add_proxy_protocol(d, cs);
}

/* "ADDR:PORT/PROTO" of every frontend of service idx, into array fes. */
static void
add_frontends(struct rte_tel_data *fes, const struct ef_svc_gen *g,
	      int32_t idx)
{
	char buf[EF_ENDPOINT_STRLEN], a[EF_ADDR_STRLEN];

	for (uint32_t f = 0; f < g->n_fes; f++) {
		const struct ef_svc_frontend *fe = &g->fes[f];
		struct ef_addr x = { .family = fe->family == EF_AF_INET6 ?
				     EF_AF_INET6 : EF_AF_INET4 };

		if (g->sps[fe->sp_idx].svc_idx != (uint32_t)idx)
			continue;
		if (x.family == EF_AF_INET6)
			memcpy(x.v6, fe->addr6, 16);
		else
			x.v4 = fe->addr;
		/* RFC 5952, bracketed before a port (TELEMETRY.md) */
		snprintf(buf, sizeof(buf), x.family == EF_AF_INET6 ?
			 "[%s]:%u/%s" : "%s:%u/%s", ef_addr_fmt(&x, a, sizeof(a)),
			 rte_be_to_cpu_16(fe->port),
			 fe->proto == IPPROTO_TCP ? "TCP" : "UDP");
		rte_tel_data_add_array_string(fes, buf);
	}
}

/* The IPv6 endpoints of sv (issue 12), the first NEIGH_PAGE of them:
 * address, target port, node, readiness, probe state; a dict keyed by
 * index, as
 * "endpoints" (DPDK 22.11 telemetry holds no dict inside an array). */
static void
add_endpoints6(struct rte_tel_data *d, const struct ef_svc_gen *g,
	       const struct ef_svc_service *sv)
{
	const struct ef_cfg_service *cs = sv->cfg;
	struct rte_tel_data *l;

	if (cs->n_endpoints6 == 0)
		return;
	l = rte_tel_data_alloc();
	if (l == NULL)
		return;
	rte_tel_data_start_dict(l);
	for (uint32_t e = 0; e < cs->n_endpoints6 && e < NEIGH_PAGE; e++) {
		const struct ef_cfg_endpoint *ce = &cs->endpoints6[e];
		const struct ef_svc_endpoint *se = sv->n_sp6 > 0 ?
			&g->sps[sv->first_sp6].eps[e] : NULL;
		struct rte_tel_data *o = rte_tel_data_alloc();
		char a[EF_ADDR_STRLEN], key[16];

		if (o == NULL)
			break;
		rte_tel_data_start_dict(o);
		rte_tel_data_add_dict_string(o, "address",
					     ef_addr_fmt(&ce->address, a,
							 sizeof(a)));
		rte_tel_data_add_dict_u64(o, "port", se != NULL ?
					  rte_be_to_cpu_16(se->port) : 0);
		rte_tel_data_add_dict_string(o, "node", ce->node);
		add_bool(o, "local", strcmp(ce->node, g->cfg->node_name) == 0);
		add_bool(o, "ready", ce->ready);
		add_bool(o, "serving", ce->serving);
		add_bool(o, "terminating", ce->terminating);
		add_bool(o, "healthy", __atomic_load_n(
			&g->health[sv->first_health + cs->n_endpoints + e]
			.healthy, __ATOMIC_ACQUIRE));
		rte_tel_data_add_dict_u64(o, "weight", ce->weight);
		snprintf(key, sizeof(key), "%u", e);
		rte_tel_data_add_dict_container(l, key, o, 0);
	}
	rte_tel_data_add_dict_u64(d, "total_endpoints6", cs->n_endpoints6);
	rte_tel_data_add_dict_container(d, "endpoints6", l, 0);
}

/* The endpoint page [off, off + n) of sv into dict eps, keyed by index. */
static void
add_endpoints(struct rte_tel_data *eps, const struct ef_svc_gen *g,
	      const struct ef_svc_service *sv, uint32_t off, uint32_t n,
	      const uint64_t *counts)
{
	const struct ef_cfg_service *cs = sv->cfg;

	for (uint32_t e = 0; e < n && off + e < cs->n_endpoints; e++) {
		const struct ef_cfg_endpoint *ce = &cs->endpoints[off + e];
		const struct ef_svc_endpoint *se = sv->n_sp > 0 ?
			&g->sps[sv->first_sp].eps[off + e] : NULL;
		struct rte_tel_data *o = rte_tel_data_alloc();
		char key[16];

		if (o == NULL)
			break;
		rte_tel_data_start_dict(o);
		add_addr(o, "address", ce->address.v4);
		rte_tel_data_add_dict_u64(o, "port", se != NULL ?
					  rte_be_to_cpu_16(se->port) : 0);
		rte_tel_data_add_dict_string(o, "node", ce->node);
		add_bool(o, "local", strcmp(ce->node, g->cfg->node_name) == 0);
		add_bool(o, "ready", ce->ready);
		add_bool(o, "serving", ce->serving);
		add_bool(o, "terminating", ce->terminating);
		add_bool(o, "healthy", __atomic_load_n(
			&g->health[sv->first_health + off + e].healthy,
			__ATOMIC_ACQUIRE));
		rte_tel_data_add_dict_u64(o, "weight", ce->weight);
		rte_tel_data_add_dict_u64(o, "flows", counts[e]);
		snprintf(key, sizeof(key), "%u", off + e);
		rte_tel_data_add_dict_container(eps, key, o, 0);
	}
}

/* packets and flows_active of service stable id sid, summed over the
 * workers. */
static void
add_service_traffic(struct rte_tel_data *d, const struct ef_fwd_shared *sh,
		    uint32_t sid)
{
	uint64_t pkts = 0;
	int64_t flows = 0;

	for (uint32_t w = 0; w < sh->n_workers; w++) {
		const struct ef_fwd_worker *wk = sh->workers[w];

		if (wk == NULL || sid >= wk->n_svc_ids)
			continue;
		pkts += __atomic_load_n(&wk->svc[sid].packets,
					__ATOMIC_RELAXED);
		flows += __atomic_load_n(&wk->svc[sid].flows,
					 __ATOMIC_RELAXED);
	}
	rte_tel_data_add_dict_u64(d, "packets", pkts);
	/* per-worker counts go up and down on different workers */
	rte_tel_data_add_dict_u64(d, "flows_active", flows > 0 ?
				  (uint64_t)flows : 0);
}

static int
cmd_service(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_ctl *c = tele_ctl;
	const struct ef_svc_gen *g;
	const struct ef_svc_service *sv;
	struct rte_tel_data *fes, *eps;
	char name[EF_CFG_NAME_MAX];
	uint64_t counts[EF_TELE_ENDPOINTS_PAGE] = { 0 };
	uint32_t off, n = 0, local = 0, sid, total;
	int32_t idx;
	bool exact;
	int rc;

	RTE_SET_USED(cmd);
	if (ef_tele_parse_service(params, name, sizeof(name), &off) != 0)
		return reply_error(d, "usage: /edgefwd/service,NAMESPACE/NAME"
				   "[,OFFSET] (got '%s')", params);
	fes = rte_tel_data_alloc();
	eps = rte_tel_data_alloc();
	if (fes == NULL || eps == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rte_tel_data_start_array(fes, RTE_TEL_STRING_VAL);
	rte_tel_data_start_dict(eps);
	rte_tel_data_start_dict(d);
	if (service_page_flows(c, name, off, &n, counts, &exact) != 0) {
		rc = reply_error(d, "unknown service '%s'", name);
		goto out;
	}

	g = ef_ctl_read_lock(c);
	idx = ef_svc_find(g, name);
	if (idx < 0) {
		ef_ctl_read_unlock(c);
		rc = reply_error(d, "service '%s' was removed meanwhile", name);
		goto out;
	}
	sv = &g->svcs[idx];
	add_service_config(d, sv->cfg);
	ef_tele_add_edge(c, d, g, (uint32_t)idx);
	add_frontends(fes, g, idx);
	for (uint32_t p = 0; p < sv->n_sp; p++)
		local = RTE_MAX(local, ef_svc_pool_get(&g->sps[sv->first_sp +
					p])->n_local_ready);
	add_endpoints(eps, g, sv, off, n, counts);
	add_endpoints6(d, g, sv);
	total = sv->cfg->n_endpoints;
	rte_tel_data_add_dict_u64(d, "total_endpoints", total);
	if (off + n < total)
		rte_tel_data_add_dict_u64(d, "next_offset", off + n);
	rte_tel_data_add_dict_u64(d, "local_endpoints", local);
	sid = sv->stable_id;
	ef_ctl_read_unlock(c);
	add_service_traffic(d, ef_ctl_shared(c), sid);
	add_bool(d, "endpoint_flows_exact", exact);
	rte_tel_data_add_dict_container(d, "frontends", fes, 0);
	rte_tel_data_add_dict_container(d, "endpoints", eps, 0);
	return 0;
out:
	rte_tel_data_free(fes);
	rte_tel_data_free(eps);
	return rc;
}

/* "a.b.c.d:port" or "[v6]:port" (RFC 5952, ef_addr_fmt()) */
static void
add_addr_port(struct rte_tel_data *o, const char *key, bool v6, uint32_t a4,
	      const uint8_t a6[16], uint16_t port_be)
{
	struct ef_addr a = { .family = v6 ? EF_AF_INET6 : EF_AF_INET4 };
	char t[EF_ADDR_STRLEN], buf[EF_ENDPOINT_STRLEN];

	if (v6)
		memcpy(a.v6, a6, 16);
	else
		a.v4 = a4;
	ef_addr_fmt(&a, t, sizeof(t));
	snprintf(buf, sizeof(buf), v6 ? "[%s]:%u" : "%s:%u", t,
		 rte_be_to_cpu_16(port_be));
	rte_tel_data_add_dict_string(o, key, buf);
}

static void
add_flow(struct rte_tel_data *d, const char *key,
	 const struct ef_fwd_flow_info *fi, unsigned int lcore)
{
	const struct ef_ct_flow *f = &fi->flow;
	struct rte_tel_data *o = rte_tel_data_alloc();
	bool v6 = fi->family == EF_AF_INET6;

	if (o == NULL)
		return;
	rte_tel_data_start_dict(o);
	rte_tel_data_add_dict_string(o, "family", v6 ? "IPv6" : "IPv4");
	rte_tel_data_add_dict_string(o, "proto", f->proto == IPPROTO_TCP ?
				     "TCP" : f->proto == IPPROTO_UDP ? "UDP" :
				     v6 ? "ICMPv6" : "ICMP");
	add_addr_port(o, "client", v6, f->client, fi->a6.client, f->cport);
	add_addr_port(o, "frontend", v6, f->frontend, fi->a6.frontend,
		      f->fport);
	add_addr_port(o, "endpoint", v6, f->endpoint, fi->a6.endpoint,
		      f->eport);
	if (f->snat != 0)
		add_addr_port(o, "snat", v6, f->snat, fi->snat6,
			      f->sport_snat);
	else
		rte_tel_data_add_dict_string(o, "snat", "");
	rte_tel_data_add_dict_string(o, "state", ef_ct_state_name(f->state));
	rte_tel_data_add_dict_u64(o, "age_s",
				  (uint32_t)(fi->now_ms - f->created_ms) / 1000);
	rte_tel_data_add_dict_u64(o, "idle_s",
				  (uint32_t)(fi->now_ms - f->last_ms) / 1000);
	rte_tel_data_add_dict_u64(o, "lcore", lcore);
	rte_tel_data_add_dict_container(d, key, o, 0);
}

static int
cmd_flows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_fwd_shared *sh = ef_ctl_shared(tele_ctl);
	uint32_t by_state[EF_CT_STATE_MAX] = { 0 };
	struct rte_tel_data *bs, *sample;
	uint32_t limit, got = 0;
	uint64_t count = 0;

	RTE_SET_USED(cmd);
	if (ef_tele_parse_uint(params, EF_TELE_FLOWS_DEFAULT,
			       EF_TELE_FLOWS_MAX, &limit) != 0) {
		char msg[64];

		snprintf(msg, sizeof(msg), "%u", (unsigned int)EF_TELE_FLOWS_MAX);
		return reply_error(d, "bad limit: a number 0..%s", msg);
	}
	bs = rte_tel_data_alloc();
	sample = rte_tel_data_alloc();
	if (bs == NULL || sample == NULL) {
		rte_tel_data_free(bs);
		rte_tel_data_free(sample);
		return -ENOMEM;
	}
	rte_tel_data_start_dict(bs);
	rte_tel_data_start_dict(sample);
	rte_tel_data_start_dict(d);
	for (uint32_t w = 0; w < sh->n_workers; w++) {
		struct ef_fwd_cmd *s;
		int n;

		if (sh->workers[w] == NULL)
			continue;
		n = sample_worker(sh, w, limit - got, &s);
		if (n < 0)
			continue;
		for (unsigned int k = 0; k < EF_CT_STATE_MAX; k++) {
			by_state[k] += s->by_state[k]; /* NOLINT(clang-analyzer-core.NullDereference): s is set when n >= 0 */
			count += s->by_state[k];
		}
		for (int i = 0; i < n && got < limit; i++, got++) {
			char key[16];

			snprintf(key, sizeof(key), "%u", got);
			add_flow(sample, key, &s->out[i],
				 sh->workers[w]->lcore_id);
		}
		sample_free(s);
	}
	for (unsigned int k = 0; k < EF_CT_STATE_MAX; k++)
		if (by_state[k] != 0)
			rte_tel_data_add_dict_u64(bs, ef_ct_state_name(k),
						  by_state[k]);
	rte_tel_data_add_dict_u64(d, "count", count);
	rte_tel_data_add_dict_container(d, "by_state", bs, 0);
	rte_tel_data_add_dict_container(d, "sample", sample, 0);
	return 0;
}

static int
cmd_reload(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char *err = malloc(EF_CTL_ERR_MAX);
	uint64_t gen = 0;
	int rc;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	if (err == NULL)
		return -ENOMEM;
	/* never under the read side: the control lcore's reload waits for
	 * this thread's grace period */
	rc = ef_ctl_reload_wait(tele_ctl, RELOAD_TIMEOUT_MS, &gen, err,
				EF_CTL_ERR_MAX);
	rte_tel_data_start_dict(d);
	add_bool(d, "ok", rc == 0);
	rte_tel_data_add_dict_u64(d, "generation", gen);
	add_long_string(d, "error", rc == 0 ? "" : err);
	free(err);
	return 0;
}

static int
cmd_health(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_health *h = ef_ctl_health(tele_ctl);
	struct ef_health_status *st;
	struct ef_health_stats hs;
	struct rte_tel_data *eps;
	char abuf[EF_ADDR_STRLEN];
	uint32_t off, total = 0, n;
	uint64_t now_ms = rte_rdtsc() / RTE_MAX(rte_get_tsc_hz() / 1000,
					       (uint64_t)1);

	RTE_SET_USED(cmd);
	if (ef_tele_parse_uint(params, 0, UINT32_MAX, &off) != 0)
		return reply_error(d, "bad offset '%s' (a number)", params);
	if (h == NULL)
		return reply_error(d, "health checks are not running%s", "");
	st = calloc(EF_TELE_HEALTH_PAGE, sizeof(*st));
	eps = rte_tel_data_alloc();
	if (st == NULL || eps == NULL) {
		free(st);
		rte_tel_data_free(eps);
		return -ENOMEM;
	}
	n = ef_health_snapshot(h, off, EF_TELE_HEALTH_PAGE, st, &total);
	rte_tel_data_start_dict(eps);
	for (uint32_t i = 0; i < n; i++) {
		struct rte_tel_data *o = rte_tel_data_alloc();
		char key[16];

		if (o == NULL)
			break;
		rte_tel_data_start_dict(o);
		rte_tel_data_add_dict_string(o, "service", st[i].service);
		rte_tel_data_add_dict_string(o, "address",
			ef_addr_fmt(&st[i].addr, abuf, sizeof(abuf)));
		rte_tel_data_add_dict_u64(o, "port", st[i].port);
		add_bool(o, "probed", st[i].probed);
		add_bool(o, "healthy", st[i].healthy);
		/* seconds since the last transition; -1: never changed */
		rte_tel_data_add_dict_int(o, "last_change_s",
			st[i].last_change_ms == 0 ? -1 :
			(int)((now_ms - st[i].last_change_ms) / 1000));
		rte_tel_data_add_dict_string(o, "last_error",
					     st[i].last_error);
		snprintf(key, sizeof(key), "%u", off + i);
		rte_tel_data_add_dict_container(eps, key, o, 0);
	}
	free(st);
	ef_health_stats(h, &hs);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "total", total);
	if (off + n < total)
		rte_tel_data_add_dict_u64(d, "next_offset", off + n);
	rte_tel_data_add_dict_u64(d, "probes", hs.probes);
	rte_tel_data_add_dict_u64(d, "probe_failures", hs.probe_failures);
	rte_tel_data_add_dict_u64(d, "transitions", hs.transitions);
	rte_tel_data_add_dict_u64(d, "hc_requests", hs.hc_requests);
	rte_tel_data_add_dict_u64(d, "hc_errors", hs.hc_errors);
	rte_tel_data_add_dict_u64(d, "hc_listeners", hs.listeners);
	rte_tel_data_add_dict_u64(d, "hc_listener_errors", hs.listener_errors);
	rte_tel_data_add_dict_container(d, "endpoints", eps, 0);
	return 0;
}

static int
cmd_nodes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	return ef_tele_cmd_nodes(tele_ctl, params, d);
}

struct neigh_ctx {
	struct rte_tel_data *list;
	uint32_t off, seen, n;
	bool more;
};

static int
neigh_add(void *arg, const struct ef_neigh_entry *e)
{
	static const char *const states[] = {
		"incomplete", "reachable", "failed", "static",
	};
	struct neigh_ctx *c = arg;
	struct ef_addr a = { .family = e->family };
	struct rte_tel_data *o;
	char t[EF_ADDR_STRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE], key[16];

	if (c->seen++ < c->off)
		return 0;
	if (c->n >= NEIGH_PAGE) {
		c->more = true;
		return 1;
	}
	o = rte_tel_data_alloc();
	if (o == NULL)
		return 1;
	if (e->family == EF_AF_INET6)
		memcpy(a.v6, e->ip6, 16);
	else
		a.v4 = e->ip;
	rte_tel_data_start_dict(o);
	rte_tel_data_add_dict_string(o, "address", ef_addr_fmt(&a, t,
							       sizeof(t)));
	rte_tel_data_add_dict_u64(o, "iface", e->iface);
	rte_ether_format_addr(mac, sizeof(mac),
			      (const struct rte_ether_addr *)e->mac);
	rte_tel_data_add_dict_string(o, "mac", mac);
	rte_tel_data_add_dict_string(o, "state",
		(unsigned int)e->state < RTE_DIM(states) ?
		states[e->state] : "?");
	add_bool(o, "static", e->is_static);
	rte_tel_data_add_dict_u64(o, "age_s", e->age_ms / 1000);
	snprintf(key, sizeof(key), "%u", c->off + c->n);
	rte_tel_data_add_dict_container(c->list, key, o, 0);
	c->n++;
	return 0;
}

/* /edgefwd/neighbors[,offset] (extension): the neighbour table, IPv4 and
 * IPv6 entries, NEIGH_PAGE per answer, keyed by their position. */
static int
cmd_neighbors(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_fwd_shared *sh = ef_ctl_shared(tele_ctl);
	struct neigh_ctx c = { 0 };

	RTE_SET_USED(cmd);
	if (ef_tele_parse_uint(params, 0, UINT32_MAX, &c.off) != 0)
		return reply_error(d, "bad offset '%s' (a number)", params);
	c.list = rte_tel_data_alloc();
	if (c.list == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(c.list);
	ef_neigh_dump(sh->neigh, neigh_add, &c);
	if (!c.more)
		ef_neigh_dump6(sh->neigh, neigh_add, &c);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_container(d, "neighbors", c.list, 0);
	if (c.more)	/* absent when done, as the other lists */
		rte_tel_data_add_dict_u64(d, "next_offset", c.off + c.n);
	return 0;
}

int
ef_tele_register(struct ef_ctl *c)
{
	static const struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
		{ "/edgefwd/info", cmd_info, "Version, node, config file, "
		  "generation, uptime, workers. No parameters" },
		{ "/edgefwd/stats", cmd_stats, "Packet, flow and drop counters"
		  " summed over workers. No parameters" },
		{ "/edgefwd/lcores", cmd_lcores, "Per-worker counters. No "
		  "parameters" },
		{ "/edgefwd/services", cmd_services, "Service names. "
		  "Parameter: offset" },
		{ "/edgefwd/service", cmd_service, "One service. Parameters: "
		  "ns/name[,offset]" },
		{ "/edgefwd/flows", cmd_flows, "Flow counts and a sample. "
		  "Parameter: limit (default 16, max 64)" },
		{ "/edgefwd/reload", cmd_reload, "Reload the config file. No "
		  "parameters" },
		{ "/edgefwd/health", cmd_health, "Endpoint health. Parameter: "
		  "offset" },
		{ "/edgefwd/nodes", cmd_nodes, "Nodes of edge services: "
		  "health and per-service weights. Parameter: offset" },
		{ "/edgefwd/neighbors", cmd_neighbors, "ARP and NDP "
		  "neighbours. Parameter: offset" },
	};

	if (tele_ctl != NULL && tele_ctl != c)
		return -EEXIST;
	tele_ctl = c;
	for (size_t i = 0; i < RTE_DIM(cmds); i++) {
		int rc = rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn,
						    cmds[i].help);

		/* already there: a second registration of the same ctl */
		if (rc != 0 && rc != -EINVAL)
			return rc;
	}
	return ef_tele_vips_register(c);
}
