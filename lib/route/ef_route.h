/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_ROUTE_H
#define EF_ROUTE_H

/*
 * IPv4 (rte_lpm) and IPv6 (rte_lpm6) next-hop tables built from the configuration model:
 * connected subnets of the interfaces, the configured routes, and a default
 * route from an interface gateway. A table is immutable once built: it
 * belongs to one configuration generation and a reload builds a new one, so
 * workers read it without any synchronisation beyond the generation's RCU.
 * Memory: rte_lpm's tbl24 is 2^24 4-byte entries, so each table takes about
 * 64 MiB of DPDK memory (two while a reload overlaps generations).
 */

#include <stdint.h>

#include "ef_cfg.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ef_route_table;

struct ef_nexthop {
	uint16_t iface;		/* index into the interfaces[] of the build */
	uint8_t direct;		/* 1: destination is on the link (connected) */
	uint8_t pad;
	uint32_t gw;		/* network order; the destination itself when
				 * direct, so callers always ARP for gw */
};

/* IPv6 next hop: as ef_nexthop, the gateway (or destination) 16 bytes. */
struct ef_nexthop6 {
	uint16_t iface;
	uint8_t direct;
	uint8_t pad;
	uint8_t gw[16];
};

/*
 * Build a table. Rules, in this order of precedence (a prefix already
 * present is not replaced by a later rule; within one class the first entry
 * wins):
 *  1. connected: each interface's subnet (address/prefix_len), next hop
 *     direct on that interface;
 *  2. routes[]: prefix via 'via'; via must lie in a connected subnet (the
 *     longest one containing it, first interface on a tie) which gives the
 *     interface; host bits of the prefix are ignored;
 *  3. default route 0.0.0.0/0 via the gateway of the first interface that
 *     has one (later gateways are ignored); the gateway must lie in that
 *     interface's subnet. An explicit 0.0.0.0/0 in routes[] takes precedence.
 * The same three classes for IPv6, in a separate rte_lpm6 created only
 * when some interface has an IPv6 address (its address6, or an IPv6
 * 'address'): connected IPv6 subnets, IPv6 routes[] whose via lies in one,
 * and ::/0 via the first interface's IPv6 gateway (gateway6, or an IPv6
 * 'gateway'), which must lie in its IPv6 subnet or be link-local. Each
 * family has its own default route (a gateway per interface per family).
 *
 * Returns the table, or NULL with rte_errno = EINVAL (a via or gateway not
 * reachable through a connected subnet, more than 65535 interfaces, a
 * NULL array with a non-zero count) or ENOMEM.
 * Control thread; needs EAL (the rte_lpm lives in DPDK memory on socket_id).
 */
struct ef_route_table *ef_route_build(const struct ef_cfg_interface *ifs,
				      uint32_t n_ifs,
				      const struct ef_cfg_route *routes,
				      uint32_t n_routes, int socket_id);

/*
 * Free a table (NULL is fine). Control thread, only after every worker
 * stopped using it (RCU grace period of its generation).
 */
void ef_route_free(struct ef_route_table *t);

/*
 * Next hop for dst (network order). Returns 0 and fills *nh, or -ENOENT
 * when no rule matches. Any thread (the table is immutable).
 */
int ef_route_lookup4(const struct ef_route_table *t, uint32_t dst_net_order,
		     struct ef_nexthop *nh);

/*
 * Same for n destinations through rte_lpm_lookup_bulk: rc[i] is 0 (nh[i]
 * filled) or -ENOENT (nh[i] untouched). Returns how many were found.
 * Any thread.
 */
uint32_t ef_route_lookup4_bulk(const struct ef_route_table *t,
			       const uint32_t *dst, uint32_t n,
			       struct ef_nexthop *nh, int *rc);

/* Number of IPv4 rules in the table (connected + routes + default). Any thread. */
uint32_t ef_route_count(const struct ef_route_table *t);

/*
 * IPv6 next hop for dst (16 bytes): 0 and *nh, or -ENOENT (also when the
 * table has no IPv6 part). Any thread.
 */
int ef_route_lookup6(const struct ef_route_table *t, const uint8_t dst[16],
		     struct ef_nexthop6 *nh);

/*
 * ef_route_lookup6 with a caller's one-byte memo of the answer (0: none):
 * *hint names the rule that matched dst in this table, so that a flow
 * that keeps it pays an array read instead of rte_lpm6's walk of up to
 * 13 levels on its next packets. A hint belongs to one table and one
 * destination: the caller keeps it per flow direction and zeroes it when
 * the table (its configuration generation) changes. Any thread.
 */
int ef_route_lookup6_hint(const struct ef_route_table *t,
			  const uint8_t dst[16], uint8_t *hint,
			  struct ef_nexthop6 *nh);

/*
 * Same for n destinations through rte_lpm6_lookup_bulk_func, as
 * ef_route_lookup4_bulk. Returns how many were found. Any thread.
 */
uint32_t ef_route_lookup6_bulk(const struct ef_route_table *t,
			       uint8_t (*dst)[16], uint32_t n,
			       struct ef_nexthop6 *nh, int *rc);

/* Number of IPv6 rules (0 without an IPv6 part). Any thread. */
uint32_t ef_route_count6(const struct ef_route_table *t);

#ifdef __cplusplus
}
#endif

#endif /* EF_ROUTE_H */
