/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_EDGEFWD_PRIV_H
#define EF_EDGEFWD_PRIV_H

/*
 * Private to app/edgefwd: the program's log type (lib/common/ef_log.h),
 * user.edgefwd.edgefwd, for its diagnostics ("edgefwd: ..." on stderr, as
 * EAL's log stream is). What the program reports on stdout (the ready
 * line, the counters at exit, --check's summary, usage) is its output,
 * not a log, and stays printf: scripts and suites read it there.
 */

#include <stdint.h>

#include <rte_ethdev.h>

#include "ef_ctl.h"
#include "ef_log.h"
#include "ef_nat.h"

#ifdef __cplusplus
extern "C" {
#endif

EF_LOG_DECLARE(edgefwd);
#define EF_EDGEFWD_LOG(level, ...) EF_LOG(edgefwd, level, __VA_ARGS__)

/* rss.c (docs/RSS.md). The RSS configuration port_init asks for: IP and
 * TCP/UDP fields where offered, the standard key when the port's key is
 * 40 bytes. Control lcore. */
void edgefwd_rss_conf(const struct rte_eth_dev_info *info,
		      struct rte_eth_rss_conf *rc);

/* Read back a started port's key, RETA and fields into r. 0, or a
 * negative errno with *why saying why there is no model. Control lcore. */
int edgefwd_rss_read(uint16_t port_id, uint16_t n_rxq, struct ef_nat_rss *r,
		     const char **why);

/* Read back every port (logging which applies) and give the NAT map the
 * model when all agree; else keep the slices-only pick. Control lcore,
 * before ef_ctl_start(). */
void edgefwd_rss_model(struct ef_ctl *ctl, const char *const *names,
		       const uint16_t *port_ids, const uint16_t *n_rxq,
		       uint16_t n_ports, uint32_t n_workers);

#ifdef __cplusplus
}
#endif

#endif /* EF_EDGEFWD_PRIV_H */
