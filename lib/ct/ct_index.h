/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_CT_INDEX_H
#define EF_CT_INDEX_H

/*
 * The probes of the conntrack index (layout in ct_index.c): inline, as
 * lookups and flow creation run them per packet from two files.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_hash_crc.h>
#ifdef RTE_ARCH_X86
#include <rte_vect.h>
#endif

#include "ef_ct.h"
#include "ct_priv.h"

/*
 * A key as two words: hashed and compared. The pad bytes are left out, so
 * a caller's non-zero pad does not make a key miss.
 */
static inline void
key_words(const struct ef_ct_key4 *k, uint64_t w[2])
{
	w[0] = (uint64_t)k->src | (uint64_t)k->dst << 32;
	w[1] = (uint64_t)k->sport | (uint64_t)k->dport << 16 |
		(uint64_t)k->proto << 32;
}

/* The words of flow f's key in direction dir (as ef_ct_flow_key4). */
static inline void
flow_words(const struct ef_ct_flow *f, uint8_t dir, uint64_t w[2])
{
	uint32_t dst;
	uint16_t dport;

	if (dir == 0) {
		w[0] = (uint64_t)f->client | (uint64_t)f->frontend << 32;
		w[1] = (uint64_t)f->cport | (uint64_t)f->fport << 16;
	} else {
		dst = f->snat != 0 ? f->snat : f->client;
		dport = f->snat != 0 ? f->sport_snat : f->cport;
		w[0] = (uint64_t)f->endpoint | (uint64_t)dst << 32;
		w[1] = (uint64_t)f->eport | (uint64_t)dport << 16;
	}
	w[1] |= (uint64_t)f->proto << 32;
}

static inline bool
flow_key_eq(const struct ef_ct_flow *f, uint8_t dir, const uint64_t w[2])
{
	uint64_t fw[2];

	flow_words(f, dir, fw);
	return fw[0] == w[0] && fw[1] == w[1];
}

/* Offset from either bucket of a key to the other: odd, within the mask. */
static inline uint32_t
alt_xor(const struct ef_ct *ct, uint16_t sig)
{
	uint64_t x = (uint64_t)sig * 0x9e3779b97f4a7c15ull;

	return ((uint32_t)(x >> 32) & ct->bucket_mask) | 1u;
}

static inline void
key_hash(const struct ef_ct *ct, const uint64_t w[2], struct ef_ct_hpos *p)
{
	uint32_t h1 = rte_hash_crc_8byte(w[1],
					 rte_hash_crc_8byte(w[0], EF_CT_SEED1));
	uint32_t h2 = rte_hash_crc_8byte(w[0],
					 rte_hash_crc_8byte(w[1], EF_CT_SEED2));
	uint16_t sig = (uint16_t)(h2 >> 16);

	sig += sig == 0;	/* 0 marks an empty slot */
	p->sig = sig;
	p->b1 = h1 & ct->bucket_mask;
	p->b2 = p->b1 ^ alt_xor(ct, sig);
}

/*
 * Slots of b whose signature is sig, as bit 2 x slot (the layout of a
 * 16-bit-lane byte mask). sig 0 finds the empty slots.
 */
static inline uint32_t
sig_match(const struct ef_ct_bucket *b, uint16_t sig)
{
#ifdef RTE_ARCH_X86
	__m128i v = _mm_load_si128((const __m128i *)(const void *)b->sig);
	__m128i s = _mm_set1_epi16((short)sig);

	return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi16(v, s)) & 0x5555u;
#else
	uint32_t i, m = 0;

	for (i = 0; i < EF_CT_SLOTS; i++)
		m |= (uint32_t)(b->sig[i] == sig) << (2 * i);
	return m;
#endif
}

static inline unsigned int
match_slot(uint32_t m)
{
	return (unsigned int)__builtin_ctz(m) >> 1;
}

/* The flow among the candidate slots m of b whose key is w, or NULL. */
static inline struct ef_ct_flow *
bucket_find(const struct ef_ct *ct, const struct ef_ct_bucket *b, uint32_t m,
	    const uint64_t w[2], uint8_t *dir)
{
	struct ef_ct_flow *f;
	uint32_t e;

	while (m != 0) {
		e = b->ent[match_slot(m)];
		m &= m - 1;
		f = &ct->flows[e >> 1];
		if (likely(flow_key_eq(f, e & 1, w))) {
			*dir = (uint8_t)(e & 1);
			return f;
		}
	}
	return NULL;
}

static inline struct ef_ct_flow *
stash_find(const struct ef_ct *ct, const struct ef_ct_hpos *p,
	   const uint64_t w[2], uint8_t *dir)
{
	const struct ef_ct_stash *st;
	struct ef_ct_flow *f;
	uint32_t i;

	for (i = 0; i < ct->stash_n; i++) {
		st = &ct->stash[i];
		if (st->b1 != p->b1 || st->sig != p->sig)
			continue;
		f = &ct->flows[st->ent >> 1];
		if (flow_key_eq(f, st->ent & 1, w)) {
			*dir = (uint8_t)(st->ent & 1);
			return f;
		}
	}
	return NULL;
}

static inline struct ef_ct_flow *
idx_find(const struct ef_ct *ct, const uint64_t w[2],
	 const struct ef_ct_hpos *p, uint8_t *dir)
{
	const struct ef_ct_bucket *b1 = &ct->buckets[p->b1];
	const struct ef_ct_bucket *b2 = &ct->buckets[p->b2];
	struct ef_ct_flow *f;

	f = bucket_find(ct, b1, sig_match(b1, p->sig), w, dir);
	if (f != NULL)
		return f;
	f = bucket_find(ct, b2, sig_match(b2, p->sig), w, dir);
	if (f != NULL || likely(b1->stashed == 0))
		return f;
	return stash_find(ct, p, w, dir);
}

#endif /* EF_CT_INDEX_H */
