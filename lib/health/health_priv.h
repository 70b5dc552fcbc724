/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_HEALTH_PRIV_H
#define EF_HEALTH_PRIV_H

/* Private to lib/health: the health log type (lib/common/ef_log.h). */

#include "ef_log.h"

#ifdef __cplusplus
extern "C" {
#endif

EF_LOG_DECLARE(health);
#define EF_HEALTH_LOG(level, ...) EF_LOG(health, level, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* EF_HEALTH_PRIV_H */
