/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_SVC_PRIV_H
#define EF_SVC_PRIV_H

/* Internals of lib/svc: its log type (user.edgefwd.svc). */

#include "ef_log.h"

EF_LOG_DECLARE(svc);
#define EF_SVC_LOG(level, ...) EF_LOG(svc, level, __VA_ARGS__)

#endif /* EF_SVC_PRIV_H */
