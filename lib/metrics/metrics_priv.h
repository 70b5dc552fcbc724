/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_METRICS_PRIV_H
#define EF_METRICS_PRIV_H

/*
 * Private to lib/metrics: the server state (metrics.c) and the collector
 * that walks the metric families with a resumable cursor
 * (metrics_collect.c).
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>

#include "ef_ctl.h"
#include "ef_fwd.h"
#include "ef_health.h"
#include "ef_log.h"
#include "ef_metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

EF_LOG_DECLARE(metrics);
#define EF_METRICS_LOG(level, ...) EF_LOG(metrics, level, __VA_ARGS__)

#define MX_MAX_LISTEN 16u

/* Values read once when a scrape starts, so that the families of one
 * scrape agree (per-service series are read as they are written). */
struct mx_snap {
	struct ef_fwd_counters c;
	struct rte_eth_stats port[EF_FWD_MAX_PORTS];
	bool port_ok[EF_FWD_MAX_PORTS];
	struct ef_ctl_stats ctl;
	struct ef_health_stats hs;
	bool hs_ok;
	uint64_t generation;
	uint64_t flows_active;
	uint64_t ct_capacity;
	uint64_t by_state[EF_CT_STATE_MAX];
	uint64_t mbufs_in_use;
	uint64_t mbufs_total;
	double tsc_hz;
};

/* Where a response stands: family fam, element idx of it. */
struct mx_cursor {
	uint32_t fam;
	uint32_t idx;
	bool done;
	struct mx_snap snap;
};

struct mx_listener {
	int fd;			/* -1: failed to open */
	uint32_t addr;		/* network order */
	uint16_t port;		/* host order */
};

enum mx_conn_state {
	MX_FREE,
	MX_READING,
	MX_WRITING,
	MX_CLOSING,		/* all sent, write side shut: wait for EOF */
};

struct mx_conn {
	enum mx_conn_state state;
	int fd;
	bool head_only;
	bool streaming;		/* the body is produced by the cursor */
	uint64_t deadline_ms;
	uint64_t t0;		/* tsc at the request */
	uint32_t rlen;
	char rbuf[EF_HEALTH_HTTP_MAX_REQUEST];
	char *out;		/* EF_METRICS_CHUNK bytes, allocated once */
	size_t out_len;
	size_t out_off;
	struct mx_cursor cur;
};

struct ef_metrics {
	struct ef_ctl *ctl;
	uint64_t tsc_per_ms;
	uint32_t n_listen;
	struct mx_listener l[MX_MAX_LISTEN];
	struct mx_conn conn[EF_METRICS_MAX_CONN];
	/* reloads as this module saw them, on the control lcore */
	uint64_t seen_gen;
	uint64_t seen_failed;
	double start_unix;
	double reload_unix;	/* current generation published */
	double reload_fail_unix;
	bool last_reload_ok;
	/* busy ratio over the last whole second, per worker */
	uint64_t window_ms;
	uint64_t prev_busy[EF_FWD_MAX_WORKERS];
	uint64_t prev_total[EF_FWD_MAX_WORKERS];
	double busy_ratio[EF_FWD_MAX_WORKERS];
	struct ef_metrics_stats stats;
};

/* Start cursor cur on a new scrape (takes the snapshot). */
void mx_cursor_start(struct ef_metrics *m, struct mx_cursor *cur);

/*
 * Append to b from cur until b is full or the exposition ends
 * (cur->done). Returns 0, or -ENOSPC when a single item cannot fit an
 * empty buffer (then cur->done is set: the scrape ends there).
 */
int mx_collect(struct ef_metrics *m, struct mx_cursor *cur,
	       struct ef_metrics_buf *b);

/* Register /edgefwd/traffic (metrics_tele.c) for c. 0 or -errno. */
int mx_register_telemetry(struct ef_ctl *c);

#ifdef __cplusplus
}
#endif

#endif /* EF_METRICS_PRIV_H */
