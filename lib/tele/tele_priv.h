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

struct ef_ctl;

/* /edgefwd/vips and /edgefwd/drain (tele_vips.c). 0 or -errno. */
int ef_tele_vips_register(struct ef_ctl *c);

#ifdef __cplusplus
}
#endif

#endif /* EF_TELE_PRIV_H */
