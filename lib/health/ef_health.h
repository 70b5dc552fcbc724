/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_HEALTH_H
#define EF_HEALTH_H

/*
 * The health engine of the control lcore: active probes (TCP connect,
 * HTTP GET) of every endpoint of services whose health type is not
 * "none", and the healthCheckNodePort responder of Local services
 * (TELEMETRY.md). Kernel sockets, non-blocking, in one epoll set; they
 * reach the world through the exception path (lib/fwd/exc.c).
 *
 * Health state: every endpoint starts healthy, because Kubernetes already
 * probed it ready before it reached the config; probes take it out after
 * 'fall' consecutive failures and bring it back after 'rise' consecutive
 * successes. The flag itself lives in the generation (ef_svc_health,
 * carried across reloads); a change republishes that service's pools
 * through ef_svc_set_health(). The probed port is the first TCP port's
 * target_port; a service without a TCP port is not probed.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>

#include "ef_cfg.h"
#include "ef_health_http.h"
#include "ef_svc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ef_health;

struct ef_health;

/* What telemetry shows of one probed endpoint (a copy). */
struct ef_health_status {
	char service[EF_CFG_NAME_MAX];
	struct ef_addr addr;	/* the endpoint's, IPv4 or IPv6 */
	uint16_t port;		/* probed port, host order */
	bool healthy;
	bool probed;		/* false: type "none" or no TCP port */
	uint64_t last_change_ms;	/* engine clock; 0 = never changed */
	char last_error[64];
};

/* Create the engine (an epoll set). NULL + rte_errno. Control lcore. */
struct ef_health *ef_health_create(void);

/* Close every socket and free. Control lcore. */
void ef_health_free(struct ef_health *h);

/*
 * Adopt generation g (after start and after each successful reload,
 * before the old generation is freed): rebuild the probe list (state is
 * kept per (service, endpoint address)), open healthCheckNodePort
 * listeners on every interface address for each Local service with one
 * and close those no longer configured. Listener errors are logged and
 * counted, not fatal (a port in use must not block a reload). Returns
 * the number of listeners that failed to open, or -ENOMEM (the previous
 * state stays). Control lcore.
 */
int ef_health_sync(struct ef_health *h, struct ef_svc_gen *g,
		   uint64_t now_ms);

/*
 * One slice of work, never blocking: start due probes, complete those
 * whose sockets are ready, time out the late ones, accept and answer
 * healthCheckNodePort clients. Health transitions go to g through
 * ef_svc_set_health() with dq (old pools freed after a grace period; v is
 * the fallback when dq is full). Returns the number of transitions.
 * Control lcore.
 */
uint32_t ef_health_poll(struct ef_health *h, struct ef_svc_gen *g,
			uint64_t now_ms, struct rte_rcu_qsbr_dq *dq,
			struct rte_rcu_qsbr *v);

/* The epoll fd (readable when a socket needs attention), for callers
 * that wait on several sources. Control lcore. */
int ef_health_fd(const struct ef_health *h);

/*
 * Copy up to max endpoint statuses from position offset into out;
 * *total is the number of endpoints. Returns the number copied. Any
 * thread (takes the engine's status lock).
 */
uint32_t ef_health_snapshot(struct ef_health *h, uint32_t offset,
			    uint32_t max, struct ef_health_status *out,
			    uint32_t *total);

/* Counters for telemetry. Any thread (relaxed reads). */
struct ef_health_stats {
	uint64_t probes;
	uint64_t probe_failures;
	uint64_t transitions;
	uint64_t hc_requests;
	uint64_t hc_errors;	/* 400/405/408/431 answers, resets */
	uint32_t listeners;
	uint32_t listener_errors;
};
void ef_health_stats(const struct ef_health *h, struct ef_health_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* EF_HEALTH_H */
