/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_TELE_H
#define EF_TELE_H

/*
 * The /edgefwd/ commands of TELEMETRY.md on DPDK's telemetry socket, so
 * that dpdk-telemetry.py and edgefwdctl work unchanged.
 *
 * DPDK 22.11 limits shape the replies: a list of objects cannot be
 * expressed (arrays hold only numbers and strings), so lists of objects
 * (lcores, service endpoints, flow sample, health endpoints) are objects
 * keyed by the element's absolute position ("0", "1", ...), in order; a
 * string value holds at most 127 characters, so long texts (reload
 * errors) also come split in an array of pieces; there is no null, so
 * next_offset is absent when a list is complete.
 */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ef_ctl;

/* Largest page of each list command (fits the 16 KiB reply). */
#define EF_TELE_SERVICES_PAGE 64
#define EF_TELE_ENDPOINTS_PAGE 32
#define EF_TELE_HEALTH_PAGE 32
#define EF_TELE_FLOWS_DEFAULT 16
#define EF_TELE_FLOWS_MAX 64
#define EF_TELE_VIPS_PAGE 64

/*
 * Register every /edgefwd/ command for control plane c (one per process:
 * DPDK's callbacks carry no argument). Returns 0 or -errno. Main thread,
 * after ef_ctl_start().
 */
int ef_tele_register(struct ef_ctl *c);

/*
 * Before the control plane is freed: /edgefwd/vips and /edgefwd/drain
 * answer {"error": "edgefwd is stopping"} from now on, and the handlers
 * in flight are waited for (DPDK 22.11 cannot unregister a command, and
 * the BGP companion polls every 200 ms). Main thread.
 */
void ef_tele_stop(void);

/*
 * Parse a command parameter that must be an unsigned decimal <= max
 * (NULL or "" gives dflt). Returns 0 or -EINVAL. Any thread.
 */
int ef_tele_parse_uint(const char *s, uint32_t dflt, uint32_t max,
		       uint32_t *out);

/*
 * Split "ns/name[,offset]" into name (size namelen) and offset. Returns 0
 * or -EINVAL (empty name, no '/', too long, bad offset). Any thread.
 */
int ef_tele_parse_service(const char *params, char *name, size_t namelen,
			  uint32_t *offset);

#ifdef __cplusplus
}
#endif

#endif /* EF_TELE_H */
