/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_NEIGH_PRIV_H
#define EF_NEIGH_PRIV_H

/* Private to lib/neigh: the neigh log type (lib/common/ef_log.h). */

#include "ef_log.h"

#ifdef __cplusplus
extern "C" {
#endif

EF_LOG_DECLARE(neigh);
#define EF_NEIGH_LOG(level, ...) EF_LOG(neigh, level, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* EF_NEIGH_PRIV_H */
