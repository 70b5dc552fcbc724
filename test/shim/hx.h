/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_HX_H
#define EF_HX_H

/*
 * A single-worker pipeline on null ports for hostile-packet fixtures and
 * the pipeline fuzz target: the real ef_ctl/ef_fwd code with a small fixed
 * configuration (hx_default_conf: conf/demo.conf's addresses), without TAP
 * interfaces (frames for the kernel stay on the worker's exception ring,
 * where hx_drain_control() counts and frees them). EAL must be up with
 * vdevs net_null0..net_null2.
 *
 * The handle is opaque and the header includes only rte_mbuf.h, so C++
 * suites need none of the data path's headers. Test code: one thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The fixed config's interfaces (indexes of hx_mbuf's iface) */
#define HX_IF_CLIENT 0	/* 198.51.100.1/24: clients, VIPs */
#define HX_IF_PODS 1	/* 10.244.0.1/24: local pods */
#define HX_IF_NODES 2	/* 10.0.0.1/24: SNAT address, node-b */

extern const char hx_default_conf[];
/* The same topology dual-stack (IPv6 addresses, frontends, endpoints,
 * static IPv6 neighbours): fuzz_fwd's configuration. */
extern const char hx_dual_conf[];

struct hx;

/*
 * Parse text (NULL: hx_default_conf), build the control state, start the
 * null ports and one worker. Returns the handle, or NULL with a message in
 * err.
 */
struct hx *hx_create(const char *text, char *err, size_t errlen);

/* Stop the ports and free everything. NULL is fine. */
void hx_free(struct hx *h);

/* A frame copied into a fresh mbuf arriving on interface iface, or NULL. */
struct rte_mbuf *hx_mbuf(struct hx *h, uint16_t iface, const void *frame,
			 uint32_t len);

/* Run the pipeline on n mbufs (one burst). now_ms == 0: the worker's own
 * clock; otherwise that time (fixtures that need timeouts to pass). */
void hx_process(struct hx *h, struct rte_mbuf **pkts, uint16_t n,
		uint32_t now_ms);

/* One frame through the pipeline at the worker's clock. -ENOMEM if no
 * mbuf. */
int hx_send(struct hx *h, uint16_t iface, const void *frame, uint32_t len);

/* Transmit what the pipeline queued (null ports swallow it). */
void hx_tx(struct hx *h);

/* Frames queued for TX on iface, and the idx-th of them (NULL past). */
uint16_t hx_out_count(const struct hx *h, uint16_t iface);
const uint8_t *hx_out_frame(const struct hx *h, uint16_t iface, uint16_t idx,
			    uint32_t *len);

/* Free every frame queued for TX without sending it. */
void hx_discard_out(struct hx *h);

/* Frames the worker passed to the kernel: count them, free them. */
uint32_t hx_drain_control(struct hx *h);

/* Delete every flow (so that inputs do not depend on each other). */
void hx_flush_flows(struct hx *h);
/* Drop (no_neighbor) every frame still waiting for a next hop's MAC, as
 * EF_FWD_HOLD_MS later; returns how many. */
uint32_t hx_expire_holds(struct hx *h);

/* A drop counter by its telemetry name ("ct_full"...); UINT64_MAX if no
 * such reason. Sum of all drop counters. */
uint64_t hx_drop(const struct hx *h, const char *reason);
uint64_t hx_drops_total(const struct hx *h);

/* A worker counter by name: rx_packets, tx_packets, exception_packets,
 * flows_created, flows_closed, rst_sent, icmp_errors_sent,
 * icmp_errors_translated, arp_replies, icmp_echo_replies,
 * syn_cookies_sent, syn_cookies_ok, syn_cookies_bad, syn_proxy_held;
 * UINT64_MAX if
 * unknown. */
uint64_t hx_counter(const struct hx *h, const char *name);

/* Live flows in the worker's table; mbufs not back in the pool. */
uint32_t hx_flows_active(const struct hx *h);
uint32_t hx_mbufs_in_use(const struct hx *h);

#ifdef __cplusplus
}
#endif

#endif /* EF_HX_H */
