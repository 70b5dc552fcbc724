/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_TELE_PRIV_H
#define EF_TELE_PRIV_H

/* Private to lib/tele: the tele log type (lib/common/ef_log.h). */

#include "ef_log.h"

#ifdef __cplusplus
extern "C" {
#endif

EF_LOG_DECLARE(tele);
#define EF_TELE_LOG(level, ...) EF_LOG(tele, level, __VA_ARGS__)

struct rte_tel_data;
struct ef_svc_gen;
struct ef_ctl;

/* tele_edge.c: mode and, for an edge service, its nodes (with the
 * workers' flows / packets per node) into d (the caller holds the read
 * side). */
void ef_tele_add_edge(struct ef_ctl *c, struct rte_tel_data *d,
		      const struct ef_svc_gen *g, uint32_t svc_idx);

/* /edgefwd/nodes: per node, paged by offset. */
int ef_tele_cmd_nodes(struct ef_ctl *c, const char *params,
		      struct rte_tel_data *d);

/* /edgefwd/vips and /edgefwd/drain (tele_vips.c). 0 or -errno. */
int ef_tele_vips_register(struct ef_ctl *c);

#ifdef __cplusplus
}
#endif

#endif /* EF_TELE_PRIV_H */
