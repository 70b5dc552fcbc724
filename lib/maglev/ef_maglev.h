/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_MAGLEV_H
#define EF_MAGLEV_H

/*
 * Weighted Maglev consistent hashing (Eisenbud et al., NSDI'16, section
 * 3.4), as Katran's MaglevV2 and Cilium's pkg/maglev implement it.
 *
 * A table of prime size M maps a flow hash to a backend index. Every
 * appliance and every worker that builds a table from the same SET of
 * backends gets the same table (the input order does not matter), so a flow
 * rehashed to another appliance by ECMP still reaches the same endpoint.
 * Removing one of N backends moves about 1/N of the entries.
 *
 * Pure C, no DPDK: the build runs on the control lcore (malloc is fine
 * there); the lookup is a load and a multiply on the fast path.
 */

#include <stdint.h>

#include "ef_addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Table entry of an empty table (no backend, or every weight 0). */
#define EF_MAGLEV_NONE 0xffff
/* Largest table: 65537 is prime and keeps entries 16-bit indexes. */
#define EF_MAGLEV_MAX_SIZE 65537
/* Most backends one table can index (0xffff is EF_MAGLEV_NONE). */
#define EF_MAGLEV_MAX_BACKENDS 65535

struct ef_maglev_backend {
	uint64_t id;		/* stable identity, ef_maglev_backend_id() */
	uint32_t weight;	/* relative share; 0 = no entries */
};

/*
 * Stable 64-bit identity of an endpoint: SipHash-2-4 (Aumasson and
 * Bernstein) with the fixed key 0x0706050403020100 / 0x0f0e0d0c0b0a0908 (the
 * reference test key) over the bytes
 *   family (1 byte), address (4 bytes for IPv4, 16 for IPv6), port (2 bytes,
 *   network order as given).
 * Only bytes are hashed, and SipHash reads them little-endian by definition,
 * so the value is the same on every machine and every release: it is what
 * keeps tables identical across appliances. Never change it.
 * Any thread.
 */
uint64_t ef_maglev_backend_id(const struct ef_addr *addr,
			      uint16_t port_net_order);

/*
 * Table size for n backends: the smallest prime of the fixed list
 *   251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65537
 * that is >= 100 * n (the paper's M >= 100 N keeps every share within about
 * 1% of fair). Beyond 655 backends the answer stays 65537 and the balance
 * degrades slowly (about 100 entries per backend at 655, 50 at 1310); the
 * list may be extended with larger primes if entries become 32-bit.
 * Crossing a size boundary changes M, which reshuffles the whole table: the
 * list is coarse (about x2 per step) so that this is rare.
 * Any thread.
 */
uint32_t ef_maglev_size_for(uint32_t n_backends);

/*
 * Fill table[0..size) with indexes into b[] (the caller's order).
 * size must be prime (-EINVAL otherwise, and when size > EF_MAGLEV_MAX_SIZE,
 * n > EF_MAGLEV_MAX_BACKENDS or n > size). n == 0, or every weight 0, fills
 * EF_MAGLEV_NONE and returns 0.
 *
 * Determinism: a private copy of b is sorted by (id, weight) before filling,
 * so the table depends on the set of backends, not on their order. Two
 * backends with equal id and weight are interchangeable; their entries
 * follow input order (callers should not pass duplicates).
 *
 * Weights (Katran MaglevV2): each round, every backend adds its weight to a
 * counter; when the counter reaches the largest weight, the backend takes
 * one entry (its next free slot in its permutation) and the counter drops by
 * the largest weight. Shares are proportional to weights; the heaviest
 * backend takes an entry every round. Permutation of backend i:
 * offset = h1(id) % M, skip = h2(id) % (M - 1) + 1.
 *
 * Returns 0, -EINVAL or -ENOMEM (table untouched on error).
 * Control thread (any thread: no shared state).
 */
int ef_maglev_build(uint16_t *table, uint32_t size,
		    const struct ef_maglev_backend *b, uint32_t n);

/*
 * Backend index for a flow hash: entry ((uint64_t)hash * size) >> 32, which
 * maps the 32-bit hash uniformly onto [0, size) with a multiply and a shift
 * instead of a division (Lemire's "fast alternative to modulo"). The hash
 * must be uniform over 32 bits (rte_hash_crc / rte_jhash of the 5-tuple).
 * Returns the entry: a backend index or EF_MAGLEV_NONE. Any thread.
 */
static inline uint16_t
ef_maglev_lookup(const uint16_t *table, uint32_t size, uint32_t hash)
{
	return table[((uint64_t)hash * size) >> 32];
}

#ifdef __cplusplus
}
#endif

#endif /* EF_MAGLEV_H */
