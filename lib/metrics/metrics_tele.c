/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /edgefwd/traffic[,offset]: the raw counters a live view differentiates
 * (edgefwdctl top), cheaply: per worker its busy and total cycles and
 * packets, per service a page of names with packets, bytes and live
 * flows, as parallel arrays (22.11 telemetry has no list of objects).
 * No worker command, no flow sample: one read side, relaxed loads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "ef_svc.h"

#include "metrics_priv.h"

/* names of at most 127 characters, 4 arrays: well inside 16 KiB */
#define TRAFFIC_PAGE 48u

static struct ef_ctl *traffic_ctl;	/* callbacks carry no argument */

static struct rte_tel_data *
u64_array(void)
{
	struct rte_tel_data *a = rte_tel_data_alloc();

	if (a != NULL)
		rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
	return a;
}

static void
add_lcores(struct rte_tel_data *d, const struct ef_fwd_shared *sh)
{
	struct rte_tel_data *a[5];
	static const char *const keys[5] = {
		"lcore", "busy_cycles", "total_cycles", "rx_packets",
		"tx_packets",
	};

	for (int i = 0; i < 5; i++)
		a[i] = u64_array();
	for (uint32_t w = 0; w < sh->n_workers; w++) {
		const struct ef_fwd_worker *wk = sh->workers[w];

		if (wk == NULL)
			continue;
		if (a[0] != NULL)
			rte_tel_data_add_array_u64(a[0], wk->lcore_id);
#define LD(f) __atomic_load_n(&wk->c.f, __ATOMIC_RELAXED)
		if (a[1] != NULL)
			rte_tel_data_add_array_u64(a[1], LD(busy_cycles));
		if (a[2] != NULL)
			rte_tel_data_add_array_u64(a[2], LD(total_cycles));
		if (a[3] != NULL)
			rte_tel_data_add_array_u64(a[3], LD(rx_packets));
		if (a[4] != NULL)
			rte_tel_data_add_array_u64(a[4], LD(tx_packets));
#undef LD
	}
	for (int i = 0; i < 5; i++)
		if (a[i] != NULL)
			rte_tel_data_add_dict_container(d, keys[i], a[i], 0);
}

static int
cmd_traffic(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ef_ctl *c = traffic_ctl;
	const struct ef_fwd_shared *sh = ef_ctl_shared(c);
	struct rte_tel_data *names, *pk, *by, *fl;
	const struct ef_svc_gen *g;
	uint32_t off = 0, i;
	char name[RTE_TEL_MAX_STRING_LEN];

	RTE_SET_USED(cmd);
	if (params != NULL && *params != '\0') {
		char *end;
		unsigned long v = strtoul(params, &end, 10);

		if (*end != '\0' || params[0] < '0' || params[0] > '9') {
			rte_tel_data_start_dict(d);
			rte_tel_data_add_dict_string(d, "error",
						     "bad offset (a number)");
			return 0;
		}
		off = (uint32_t)RTE_MIN(v, (unsigned long)UINT32_MAX);
	}
	names = rte_tel_data_alloc();
	pk = u64_array();
	by = u64_array();
	fl = u64_array();
	if (names == NULL || pk == NULL || by == NULL || fl == NULL) {
		rte_tel_data_free(names);
		rte_tel_data_free(pk);
		rte_tel_data_free(by);
		rte_tel_data_free(fl);
		return -ENOMEM;
	}
	rte_tel_data_start_array(names, RTE_TEL_STRING_VAL);
	rte_tel_data_start_dict(d);
	add_lcores(d, sh);
	g = ef_ctl_read_lock(c);
	for (i = off; i < g->cfg->n_services && i - off < TRAFFIC_PAGE; i++) {
		const struct ef_svc_service *sv = &g->svcs[i];
		uint64_t p = 0, b = 0;
		int64_t f = 0;

		for (uint32_t w = 0; w < sh->n_workers; w++) {
			const struct ef_fwd_worker *wk = sh->workers[w];

			if (wk == NULL || sv->stable_id >= wk->n_svc_ids)
				continue;
			p += __atomic_load_n(&wk->svc[sv->stable_id].packets,
					     __ATOMIC_RELAXED);
			b += __atomic_load_n(&wk->svc[sv->stable_id].bytes,
					     __ATOMIC_RELAXED);
			f += __atomic_load_n(&wk->svc[sv->stable_id].flows,
					     __ATOMIC_RELAXED);
		}
		/* a name longer than a telemetry string keeps its head */
		memcpy(name, sv->cfg->name, sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		rte_tel_data_add_array_string(names, name);
		rte_tel_data_add_array_u64(pk, p);
		rte_tel_data_add_array_u64(by, b);
		rte_tel_data_add_array_u64(fl, f > 0 ? (uint64_t)f : 0);
	}
	rte_tel_data_add_dict_u64(d, "total", g->cfg->n_services);
	rte_tel_data_add_dict_u64(d, "generation", g->number);
	if (i < g->cfg->n_services)
		rte_tel_data_add_dict_u64(d, "next_offset", i);
	ef_ctl_read_unlock(c);
	rte_tel_data_add_dict_container(d, "names", names, 0);
	rte_tel_data_add_dict_container(d, "packets", pk, 0);
	rte_tel_data_add_dict_container(d, "bytes", by, 0);
	rte_tel_data_add_dict_container(d, "flows", fl, 0);
	return 0;
}

int
mx_register_telemetry(struct ef_ctl *c)
{
	int rc;

	traffic_ctl = c;
	rc = rte_telemetry_register_cmd("/edgefwd/traffic", cmd_traffic,
		"Per-worker cycles and packets, per-service packets, bytes "
		"and flows (a page). Parameter: offset");
	/* -EINVAL: registered already (a second metrics state) */
	return rc == -EINVAL ? 0 : rc;
}
