/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_CTL_PRIV_H
#define EF_CTL_PRIV_H

/* Private to lib/ctl: the ctl log type (lib/common/ef_log.h) and the
 * drain state (ctl_drain.c). */

#include <stdint.h>

#include "ef_log.h"

#ifdef __cplusplus
extern "C" {
#endif

EF_LOG_DECLARE(ctl);
#define EF_CTL_LOG(level, ...) EF_LOG(ctl, level, __VA_ARGS__)

struct ef_ctl;

/* Drain state, one per control plane; every field atomic. */
struct ef_ctl_drain {
	uint32_t mode;		/* enum ef_ctl_drain_mode */
	uint32_t seconds;	/* --drain-seconds */
	uint64_t since_ms;	/* monotonic, when the drain began */
	uint64_t deadline_ms;	/* mode STOP: when to stop */
	uint32_t announced;	/* VIPs announced at the last /edgefwd/vips */
	uint64_t announced_ms;	/* when that was (0: never asked) */
};

/* The drain state of c (ctl.c owns it). */
struct ef_ctl_drain *ctl_drain_state(struct ef_ctl *c);
const struct ef_ctl_drain *ctl_drain_state_c(const struct ef_ctl *c);

#ifdef __cplusplus
}
#endif

#endif /* EF_CTL_PRIV_H */
