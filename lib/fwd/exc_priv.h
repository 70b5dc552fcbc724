/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_EXC_PRIV_H
#define EF_EXC_PRIV_H

/* Private to lib/fwd: the exc log type (lib/common/ef_log.h). */

#include "ef_log.h"

#ifdef __cplusplus
extern "C" {
#endif

EF_LOG_DECLARE(exc);
#define EF_EXC_LOG(level, ...) EF_LOG(exc, level, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* EF_EXC_PRIV_H */
