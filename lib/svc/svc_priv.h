/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_SVC_PRIV_H
#define EF_SVC_PRIV_H

/*
 * Internals of lib/svc: its log type (user.edgefwd.svc) and what the
 * generation (svc.c) uses of the pools (svc_pool.c).
 */

#include "ef_log.h"
#include "ef_svc.h"

EF_LOG_DECLARE(svc);
#define EF_SVC_LOG(level, ...) EF_LOG(svc, level, __VA_ARGS__)

/*
 * The pool of service port sp, from the endpoint sets of CONFIG.md: ready
 * (and healthy); if none, the serving-and-terminating ones; computed
 * separately for the local set, as kube-proxy does. Maglev skips
 * endpoints of weight 0, so a set whose members all weigh 0 is empty.
 * NULL when out of memory. Control lcore.
 */
struct ef_svc_pool *ef_svc_pool_build(const struct ef_svc_gen *g,
				      const struct ef_svc_port *sp,
				      int socket_id);

/*
 * A copy of the pool of prev's port pp when sp (of g, endpoints and health
 * set) has the same endpoints, in the same order, with the same flags,
 * weights and health: what ef_svc_pool_build(g, sp) would return, without
 * the Maglev work. NULL when anything differs or out of memory (build it
 * then). Control lcore.
 */
struct ef_svc_pool *ef_svc_pool_reuse(const struct ef_svc_gen *g,
				      const struct ef_svc_port *sp,
				      const struct ef_svc_gen *prev,
				      const struct ef_svc_port *pp,
				      int socket_id);

/*
 * The node table of edge service s (svc_edge.c): views from the ready
 * endpoints per node, health carried over from prev's table of the same
 * service (stable id) when there is one, weights, Maglev. 0 or -ENOMEM.
 * Control lcore.
 */
int ef_svc_edge_build(struct ef_svc_gen *g, uint32_t s,
		      const struct ef_svc_gen *prev, int socket_id);

/* Free what ef_svc_edge_build() made (NULL is fine). Control lcore. */
void ef_svc_edge_free(struct ef_svc_edge *e);

#endif /* EF_SVC_PRIV_H */
