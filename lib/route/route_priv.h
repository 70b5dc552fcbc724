/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_ROUTE_PRIV_H
#define EF_ROUTE_PRIV_H

/* Private to lib/route: the route log type (lib/common/ef_log.h). */

#include "ef_log.h"

#ifdef __cplusplus
extern "C" {
#endif

EF_LOG_DECLARE(route);
#define EF_ROUTE_LOG(level, ...) EF_LOG(route, level, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* EF_ROUTE_PRIV_H */
