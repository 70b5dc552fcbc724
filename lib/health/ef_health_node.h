/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_HEALTH_NODE_H
#define EF_HEALTH_NODE_H

/*
 * Node health of edge services (docs/EDGE.md "Control lcore"): the
 * control lcore probes, per edge service and node, the node's
 * healthCheckNodePort (Local: HTTP GET / on the service's
 * health_check_node_port) or its proxy's /healthz (Cluster: GET /healthz
 * on edge.node_health_port), every edge.interval_ms with
 * edge.timeout_ms, and reads the status and the
 * X-Load-Balancing-Endpoint-Weight header.
 *
 *   200            an answer: healthy after `rise` answers; not draining
 *   503            an answer, draining: weight 0 at once (no new flows,
 *                  established ones stay)
 *   anything else  (no answer, timeout, other status): a failure; `fall`
 *                  of them in a row and the node is down (its flows
 *                  re-pick)
 *
 * A change republishes the service's node table through
 * ef_svc_edge_set_view() (RCU). Kernel sockets, non-blocking, one epoll
 * set, as lib/health's endpoint probes.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>

#include "ef_cfg.h"
#include "ef_svc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ef_health_nodes;

/* What telemetry shows of one (edge service, node) (a copy). */
struct ef_health_node_status {
	char service[EF_CFG_NAME_MAX];
	char node[EF_CFG_NODE_MAX];
	uint32_t addr;		/* the node's key (ef_edge.h) */
	uint16_t port;		/* probed port, host order; 0 = not probed */
	bool healthy;
	bool draining;
	int64_t header_weight;	/* -1: none */
	uint64_t last_change_ms;	/* engine clock; 0 = never changed */
	char last_error[64];
};

/* Create the prober. NULL + rte_errno. Control lcore. */
struct ef_health_nodes *ef_health_nodes_create(void);

/* Close every socket and free (NULL is fine). Control lcore. */
void ef_health_nodes_free(struct ef_health_nodes *h);

/*
 * Adopt generation g (at start and after each reload, before the old one
 * is freed): one target per (edge service, node) when edge.health_check
 * is on; run counters kept per (service, node address). 0 or -ENOMEM
 * (the previous targets stay). Control lcore.
 */
int ef_health_nodes_sync(struct ef_health_nodes *h, struct ef_svc_gen *g,
			 uint64_t now_ms);

/*
 * One slice, never blocking: start due probes, read answers, time out
 * late ones, publish changed node tables (old tables freed after
 * rte_rcu_qsbr_synchronize(v); v NULL: at once). Returns the number of
 * node-table changes. Control lcore.
 */
uint32_t ef_health_nodes_poll(struct ef_health_nodes *h, struct ef_svc_gen *g,
			      uint64_t now_ms, struct rte_rcu_qsbr *v);

/*
 * Copy up to max statuses from position offset (service order, then
 * node order); *total gets their number. Returns the number copied. Any
 * thread (takes the prober's status lock).
 */
uint32_t ef_health_nodes_snapshot(struct ef_health_nodes *h, uint32_t offset,
				  uint32_t max,
				  struct ef_health_node_status *out,
				  uint32_t *total);

/*
 * Parse an HTTP/1.x answer head (buf, len bytes, maybe partial): the
 * status (or -EAGAIN while the head is incomplete, -EINVAL) and in
 * *weight the X-Load-Balancing-Endpoint-Weight value (-1 when absent or
 * unparseable). Any thread.
 */
int ef_health_node_parse(const char *buf, size_t len, int64_t *weight);

#ifdef __cplusplus
}
#endif

#endif /* EF_HEALTH_NODE_H */
