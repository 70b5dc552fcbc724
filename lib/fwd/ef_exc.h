/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_EXC_H
#define EF_EXC_H

/*
 * The exception path: one kernel TAP interface per configured interface
 * (named efx<N>), carrying the interface address, its MAC, connected
 * subnet, the configured routes and the default gateway, so that SSH, BGP
 * daemons, probes and the healthCheckNodePort server use ordinary sockets.
 *
 * Only the control lcore touches the TAP file descriptors: workers pass
 * frames for the kernel on their to_ctrl ring and the control lcore writes
 * them; frames the kernel sends are read here and injected through a
 * worker's from_ctrl ring, so a worker never makes a system call for the
 * kernel's traffic. (virtio-user/vhost-net would let workers write the
 * kernel's queue directly, but needs /dev/vhost-net, which is not on every
 * host; the kernel's own traffic is control-plane sized.)
 */

#include <stdint.h>

#include "ef_cfg.h"
#include "ef_fwd.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ef_exc;

struct ef_exc_stats {
	uint64_t to_kernel;
	uint64_t from_kernel;
	uint64_t write_errors;
	uint64_t inject_drops;
	uint64_t arp_learned;
	uint64_t arp_requests_seen;
	uint64_t nd_learned;		/* IPv6 neighbours learned (NS/NA) */
	uint64_t nd_solicits_seen;	/* NSs the worker answered */
};

/*
 * Create the TAP interfaces for sh's ports as cfg describes them. Returns
 * NULL and a message in err on failure (no TAP left behind). Control lcore.
 */
struct ef_exc *ef_exc_create(const struct ef_cfg *cfg,
			     const struct ef_fwd_shared *sh,
			     char *err, size_t errlen);

/* Remove the interfaces. */
void ef_exc_free(struct ef_exc *x);

/*
 * Move frames both ways (bounded work per call) and learn neighbours from
 * the ARP frames workers pass up. Returns frames moved. Control lcore.
 */
uint32_t ef_exc_poll(struct ef_exc *x, struct ef_fwd_shared *sh);

/* Wait up to timeout_ms for a frame from the kernel (poll(2)). */
void ef_exc_wait(struct ef_exc *x, int timeout_ms);

/*
 * Send a frame built by the control lcore out of interface iface (through
 * worker 0's inject ring). Takes the mbuf. 0 or -ENOBUFS (freed).
 */
int ef_exc_inject(struct ef_fwd_shared *sh, uint16_t iface,
		  struct rte_mbuf *m);

/* ARP request (or gratuitous ARP when tip == the interface address). */
int ef_exc_send_arp(struct ef_fwd_shared *sh, uint16_t iface, uint32_t tip);

/*
 * IPv6 (issue 12): a Neighbor Solicitation for target from the
 * interface's IPv6 address; an unsolicited NA (to ff02::1, override, not
 * solicited) announcing one of our addresses. 0, -ENOENT (the interface
 * has no IPv6 address) or -ENOMEM / -ENOBUFS.
 */
int ef_exc_send_ns(struct ef_fwd_shared *sh, uint16_t iface,
		   const uint8_t target[16]);
int ef_exc_send_una(struct ef_fwd_shared *sh, uint16_t iface,
		    const uint8_t addr[16]);

/* Counters. */
void ef_exc_stats(const struct ef_exc *x, struct ef_exc_stats *out);

/* Kernel name of interface i ("efx0"...). */
const char *ef_exc_ifname(const struct ef_exc *x, uint16_t i);

#ifdef __cplusplus
}
#endif

#endif /* EF_EXC_H */
