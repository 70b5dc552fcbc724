/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_CTL_PRIV_H
#define EF_CTL_PRIV_H

/* Private to lib/ctl: the ctl log type (lib/common/ef_log.h). */

#include "ef_log.h"

#ifdef __cplusplus
extern "C" {
#endif

EF_LOG_DECLARE(ctl);
#define EF_CTL_LOG(level, ...) EF_LOG(ctl, level, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* EF_CTL_PRIV_H */
