/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_CT_PRIV_H
#define EF_CT_PRIV_H

/*
 * Internals of lib/ct shared by its files: the table and the layout of its
 * index. ct.c creates and frees a table, ct_index.c is the cuckoo index
 * (ct_index.h its inline probes), ct_flow.c the flow lifecycle with the
 * early-drop FIFO and expiry, ct_tcp.c the per-packet state tracking.
 */

#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_memzone.h>

#include "ef_ct.h"
#include "ef_log.h"

EF_LOG_DECLARE(ct);
#define EF_CT_LOG(level, ...) EF_LOG(ct, level, __VA_ARGS__)

/* Slots per bucket: 8 signatures fill one 16-byte vector compare. */
#define EF_CT_SLOTS 8u
/* Highest load of a full table, as keys / slots = 20 / 136 x 8 (0.85). */
#define EF_CT_LOAD_NUM 20u
#define EF_CT_LOAD_DEN 136u
/* Buckets a displacement search examines (depth 3 and part of 4). */
#define EF_CT_BFS_NODES 512u
/* Keys that found no bucket; at <= 85 % load this stays empty. */
#define EF_CT_STASH_MAX 64u
/* CRC32-C seeds of the two hashes. */
#define EF_CT_SEED1 0x6a09e667u
#define EF_CT_SEED2 0xbb67ae85u

struct ef_ct_bucket {
	uint16_t sig[EF_CT_SLOTS];	/* 0: empty slot */
	uint32_t ent[EF_CT_SLOTS];	/* flow index << 1 | dir */
	uint16_t stashed;		/* stash keys with this primary bucket */
	uint8_t pad[14];
} __rte_cache_aligned;

_Static_assert(sizeof(struct ef_ct_bucket) == RTE_CACHE_LINE_SIZE,
	       "a bucket is one cache line");

struct ef_ct_stash {
	uint32_t ent;
	uint32_t b1;
	uint16_t sig;
};

/* Where a key may live: both buckets and its signature. */
struct ef_ct_hpos {
	uint32_t b1;
	uint32_t b2;
	uint16_t sig;
};

struct ef_ct {
	struct ef_ct_bucket *buckets;
	struct ef_ct_flow *flows;
	uint32_t bucket_mask;
	uint32_t stash_n;
	uint32_t *free_stack;	/* free slot indexes; top is free_top - 1 */
	uint32_t *fifo;		/* early-drop candidates, creation order */
	uint32_t max_flows;
	uint32_t free_top;
	uint32_t fifo_head;
	uint32_t fifo_count;
	uint32_t expire_cursor;
	uint32_t timeout_ms[EF_CT_STATE_MAX];
	uint32_t timeout_none_ms[3];	/* NONE by proto: TCP, UDP/other, ICMP */
	void (*evict_cb)(void *arg, struct ef_ct_flow *f);
	void *evict_arg;
	const struct rte_memzone *mz;
	size_t idx_bytes;
	size_t own_bytes;
	struct ef_ct_stats stats;
	struct ef_ct_stash stash[EF_CT_STASH_MAX];
	char name[EF_CT_NAME_MAX + 1];
	/* IPv6 tables (family 6): addresses by flow index, SNAT addresses
	 * by f->snat - 1; a6 == NULL for an IPv4 table */
	struct ef_ct_addr6 *a6;
	uint8_t family;		/* 4 or 6 */
	uint32_t n_snat6;
	uint8_t snat6[EF_CT_SNAT6_MAX][16];
};

/*
 * ct_flow.c: take a free slot (early-dropping when full) and enter its
 * two keys at po / pr; the flow's common fields are initialised, its
 * tuple is the caller's to fill. NULL with *err -ENOSPC. (Shared by the
 * IPv4 and IPv6 creates.)
 */
struct ef_ct_flow *ef_ct_flow_claim(struct ef_ct *ct,
				    const struct ef_ct_hpos *po,
				    const struct ef_ct_hpos *pr,
				    uint32_t now_ms, int *err);
/* ct6.c: the hash positions of IPv6 flow f's key in direction dir. */
void ef_ct6_flow_hpos(const struct ef_ct *ct, const struct ef_ct_flow *f,
		      uint8_t dir, struct ef_ct_hpos *p);

/*
 * Reserve and clear the index of ct (ct->name and ct->max_flows set):
 * ct->buckets, ct->bucket_mask, ct->mz and ct->idx_bytes. Returns 0,
 * -EEXIST when a table of that name exists, or -ENOMEM.
 */
int ef_ct_idx_create(struct ef_ct *ct, int socket_id);

/* Add a key known to be absent at p. Returns 0 or -ENOSPC. */
int ef_ct_idx_insert(struct ef_ct *ct, const struct ef_ct_hpos *p,
		     uint32_t ent);

/* Remove the key at p whose entry is ent (present by construction). */
void ef_ct_idx_remove(struct ef_ct *ct, const struct ef_ct_hpos *p,
		      uint32_t ent);

#endif /* EF_CT_PRIV_H */
