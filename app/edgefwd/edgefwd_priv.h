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

#include "ef_log.h"

#ifdef __cplusplus
extern "C" {
#endif

EF_LOG_DECLARE(edgefwd);
#define EF_EDGEFWD_LOG(level, ...) EF_LOG(edgefwd, level, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* EF_EDGEFWD_PRIV_H */
