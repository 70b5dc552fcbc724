/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_LOG_H
#define EF_LOG_H

/*
 * The one logging shape of every module: a log type per module
 * (user.edgefwd.<mod>, level chosen at run time with --log-level), each
 * line prefixed "<mod>: " and ended by the macro, never by the caller.
 *
 * In one .c file of module <mod>:    EF_LOG_REGISTER(<mod>);
 * In the module's private header:   EF_LOG_DECLARE(<mod>);
 *                                   #define EF_<MOD>_LOG(level, ...) \
 *                                           EF_LOG(<mod>, level, __VA_ARGS__)
 * Data-path (worker) logging:       EF_LOG_DP(<mod>, level, ...), compiled
 *                                   out above RTE_LOG_DP_LEVEL.
 */

#include <rte_log.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EF_LOG_REGISTER(mod) \
	RTE_LOG_REGISTER(ef_##mod##_logtype, user.edgefwd.mod, INFO)

#define EF_LOG_DECLARE(mod) extern int ef_##mod##_logtype

#define EF_LOG(mod, level, fmt, ...) \
	rte_log(RTE_LOG_##level, ef_##mod##_logtype, #mod ": " fmt "\n", \
		##__VA_ARGS__)

#define EF_LOG_DP(mod, level, fmt, ...) \
	(void)((RTE_LOG_##level <= RTE_LOG_DP_LEVEL) ? \
	       EF_LOG(mod, level, fmt, ##__VA_ARGS__) : 0)

#ifdef __cplusplus
}
#endif

#endif /* EF_LOG_H */
