/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_EDGE_PRIV_H
#define EF_EDGE_PRIV_H

#include "ef_log.h"

EF_LOG_DECLARE(edge);
#define EF_EDGE_LOG(level, ...) EF_LOG(edge, level, __VA_ARGS__)

#endif /* EF_EDGE_PRIV_H */
