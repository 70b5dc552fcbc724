/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv6 keys on the conntrack index (issue 12; see ef_ct.h): the same
 * buckets, signatures, stash and displacement as IPv4 (ct_index.c, which
 * needs only hash positions), the same flow lifecycle (ct_flow.c) and
 * state machines (ct_tcp.c). What differs is the key: 37 significant
 * bytes, hashed as five 8-byte words, and confirmed against the flow's
 * ports and its side-array addresses (struct ef_ct_addr6) instead of the
 * flow's own 32-bit fields. The IPv4 functions are untouched, so IPv4
 * lookups pay nothing for this.
 *
 * Memory: the side array adds 48 bytes per flow (client, frontend,
 * endpoint); the SNAT address, one per family on a node, is kept once
 * per table (f->snat = its index + 1), not per flow.
 */

#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>

#include "ef_ct.h"
#include "ct_index.h"
#include "ct_priv.h"

/* A key as five words, pad left out (as key_words() for IPv4). */
static inline void
key6_words(const struct ef_ct_key6 *k, uint64_t w[5])
{
	memcpy(&w[0], k->src, 16);
	memcpy(&w[2], k->dst, 16);
	w[4] = (uint64_t)k->sport | (uint64_t)k->dport << 16 |
		(uint64_t)k->proto << 32;
}

static inline void
flow6_words(const struct ef_ct *ct, const struct ef_ct_flow *f, uint8_t dir,
	    uint64_t w[5])
{
	const struct ef_ct_addr6 *a = &ct->a6[f - ct->flows];

	if (dir == 0) {
		memcpy(&w[0], a->client, 16);
		memcpy(&w[2], a->frontend, 16);
		w[4] = (uint64_t)f->cport | (uint64_t)f->fport << 16;
	} else {
		memcpy(&w[0], a->endpoint, 16);
		if (f->snat != 0) {
			memcpy(&w[2], ct->snat6[f->snat - 1], 16);
			w[4] = (uint64_t)f->eport |
				(uint64_t)f->sport_snat << 16;
		} else {
			memcpy(&w[2], a->client, 16);
			w[4] = (uint64_t)f->eport | (uint64_t)f->cport << 16;
		}
	}
	w[4] |= (uint64_t)f->proto << 32;
}

static inline bool
flow6_key_eq(const struct ef_ct *ct, const struct ef_ct_flow *f, uint8_t dir,
	     const uint64_t w[5])
{
	uint64_t fw[5];

	flow6_words(ct, f, dir, fw);
	return ((fw[0] ^ w[0]) | (fw[1] ^ w[1]) | (fw[2] ^ w[2]) |
		(fw[3] ^ w[3]) | (fw[4] ^ w[4])) == 0;
}

static inline void
key6_hash(const struct ef_ct *ct, const uint64_t w[5], struct ef_ct_hpos *p)
{
	uint32_t h1 = EF_CT_SEED1, h2 = EF_CT_SEED2;
	uint16_t sig;

	for (int i = 0; i < 5; i++) {
		h1 = rte_hash_crc_8byte(w[i], h1);
		h2 = rte_hash_crc_8byte(w[4 - i], h2);
	}
	sig = (uint16_t)(h2 >> 16);
	sig += sig == 0;	/* 0 marks an empty slot */
	p->sig = sig;
	p->b1 = h1 & ct->bucket_mask;
	p->b2 = p->b1 ^ alt_xor(ct, sig);
}

void
ef_ct6_flow_hpos(const struct ef_ct *ct, const struct ef_ct_flow *f,
		 uint8_t dir, struct ef_ct_hpos *p)
{
	uint64_t w[5];

	flow6_words(ct, f, dir, w);
	key6_hash(ct, w, p);
}

static inline struct ef_ct_flow *
bucket_find6(const struct ef_ct *ct, const struct ef_ct_bucket *b, uint32_t m,
	     const uint64_t w[5], uint8_t *dir)
{
	while (m != 0) {
		uint32_t e = b->ent[match_slot(m)];
		struct ef_ct_flow *f = &ct->flows[e >> 1];

		m &= m - 1;
		if (likely(flow6_key_eq(ct, f, (uint8_t)(e & 1), w))) {
			*dir = (uint8_t)(e & 1);
			return f;
		}
	}
	return NULL;
}

static inline struct ef_ct_flow *
stash_find6(const struct ef_ct *ct, const struct ef_ct_hpos *p,
	    const uint64_t w[5], uint8_t *dir)
{
	for (uint32_t i = 0; i < ct->stash_n; i++) {
		const struct ef_ct_stash *st = &ct->stash[i];
		struct ef_ct_flow *f;

		if (st->b1 != p->b1 || st->sig != p->sig)
			continue;
		f = &ct->flows[st->ent >> 1];
		if (flow6_key_eq(ct, f, (uint8_t)(st->ent & 1), w)) {
			*dir = (uint8_t)(st->ent & 1);
			return f;
		}
	}
	return NULL;
}

static inline struct ef_ct_flow *
idx_find6(const struct ef_ct *ct, const uint64_t w[5],
	  const struct ef_ct_hpos *p, uint8_t *dir)
{
	const struct ef_ct_bucket *b1 = &ct->buckets[p->b1];
	const struct ef_ct_bucket *b2 = &ct->buckets[p->b2];
	struct ef_ct_flow *f;

	f = bucket_find6(ct, b1, sig_match(b1, p->sig), w, dir);
	if (f != NULL)
		return f;
	f = bucket_find6(ct, b2, sig_match(b2, p->sig), w, dir);
	if (f != NULL || likely(b1->stashed == 0))
		return f;
	return stash_find6(ct, p, w, dir);
}

void
ef_ct_lookup6_bulk(struct ef_ct *ct, const struct ef_ct_key6 *keys[],
		   uint32_t n, struct ef_ct_flow *flows[], uint8_t dir[])
{
	uint64_t w[EF_CT_BULK_MAX][5];
	struct ef_ct_hpos p[EF_CT_BULK_MAX];
	uint32_t m1[EF_CT_BULK_MAX];
	uint32_t i;

	if (unlikely(ct->a6 == NULL)) {
		for (i = 0; i < n; i++) {
			flows[i] = NULL;
			dir[i] = 0;
		}
		return;
	}
	if (unlikely(n > EF_CT_BULK_MAX))
		n = EF_CT_BULK_MAX;
	/* the passes of ef_ct_lookup_bulk(), the side array prefetched with
	 * the candidate flow */
	for (i = 0; i < n; i++) {
		key6_words(keys[i], w[i]);
		key6_hash(ct, w[i], &p[i]);
		rte_prefetch0(&ct->buckets[p[i].b1]);
	}
	for (i = 0; i < n; i++) {
		const struct ef_ct_bucket *b = &ct->buckets[p[i].b1];

		m1[i] = sig_match(b, p[i].sig);
		if (m1[i] != 0) {
			uint32_t e = b->ent[match_slot(m1[i])] >> 1;

			rte_prefetch0(&ct->flows[e]);
			/* 48 bytes: every other entry spans two lines */
			rte_prefetch0(&ct->a6[e]);
			rte_prefetch0((const uint8_t *)&ct->a6[e + 1] - 1);
		} else {
			rte_prefetch0(&ct->buckets[p[i].b2]);
		}
	}
	for (i = 0; i < n; i++) {
		struct ef_ct_flow *f = NULL;

		if (m1[i] != 0)
			f = bucket_find6(ct, &ct->buckets[p[i].b1], m1[i], w[i],
					 &dir[i]);
		if (f == NULL) {
			const struct ef_ct_bucket *b = &ct->buckets[p[i].b2];

			f = bucket_find6(ct, b, sig_match(b, p[i].sig), w[i],
					 &dir[i]);
			if (f == NULL &&
			    unlikely(ct->buckets[p[i].b1].stashed != 0))
				f = stash_find6(ct, &p[i], w[i], &dir[i]);
			if (f == NULL)
				dir[i] = 0;
		}
		flows[i] = f;
	}
}

struct ef_ct_flow *
ef_ct_lookup6(struct ef_ct *ct, const struct ef_ct_key6 *k, uint8_t *dir)
{
	struct ef_ct_hpos p;
	uint64_t w[5];

	if (unlikely(ct->a6 == NULL))
		return NULL;
	key6_words(k, w);
	key6_hash(ct, w, &p);
	return idx_find6(ct, w, &p, dir);
}

bool
ef_ct_key6_in_use(const struct ef_ct *ct, const struct ef_ct_key6 *k)
{
	struct ef_ct_hpos p;
	uint64_t w[5];
	uint8_t dir;

	if (unlikely(ct->a6 == NULL))
		return false;
	key6_words(k, w);
	key6_hash(ct, w, &p);
	return idx_find6(ct, w, &p, &dir) != NULL;
}

/* The index + 1 of SNAT address a in the table's list (added if new), or
 * 0 when the list is full. */
static uint32_t
snat6_slot(struct ef_ct *ct, const uint8_t a[16])
{
	for (uint32_t i = 0; i < ct->n_snat6; i++)
		if (memcmp(ct->snat6[i], a, 16) == 0)
			return i + 1;
	if (ct->n_snat6 >= EF_CT_SNAT6_MAX)
		return 0;
	memcpy(ct->snat6[ct->n_snat6], a, 16);
	return ++ct->n_snat6;
}

struct ef_ct_flow *
ef_ct_create_flow6(struct ef_ct *ct, const struct ef_ct_key6 *orig,
		   const struct ef_ct_key6 *reply, uint32_t now_ms, int *err)
{
	static const uint8_t zero[16];
	struct ef_ct_hpos po, pr;
	struct ef_ct_flow *f;
	uint64_t wo[5], wr[5];
	uint32_t snat = 0;
	uint8_t dir;
	bool nat;

	if (ct->a6 == NULL || orig->proto != reply->proto ||
	    memcmp(orig, reply, 37) == 0) {
		*err = -EINVAL;
		return NULL;
	}
	nat = memcmp(reply->dst, orig->src, 16) != 0 ||
		reply->dport != orig->sport;
	if (nat && memcmp(reply->dst, zero, 16) == 0) {
		*err = -EINVAL;		/* :: cannot be a SNAT address */
		return NULL;
	}
	key6_words(orig, wo);
	key6_words(reply, wr);
	key6_hash(ct, wo, &po);
	key6_hash(ct, wr, &pr);
	if (idx_find6(ct, wo, &po, &dir) != NULL ||
	    idx_find6(ct, wr, &pr, &dir) != NULL) {
		*err = -EEXIST;
		return NULL;
	}
	if (nat) {
		snat = snat6_slot(ct, reply->dst);
		if (snat == 0) {
			*err = -ENOSPC;
			return NULL;
		}
	}
	f = ef_ct_flow_claim(ct, &po, &pr, now_ms, err);
	if (f == NULL)
		return NULL;
	memcpy(ct->a6[f - ct->flows].client, orig->src, 16);
	memcpy(ct->a6[f - ct->flows].frontend, orig->dst, 16);
	memcpy(ct->a6[f - ct->flows].endpoint, reply->src, 16);
	f->client = f->frontend = f->endpoint = 0;
	f->cport = orig->sport;
	f->fport = orig->dport;
	f->eport = reply->sport;
	f->snat = snat;
	f->sport_snat = nat ? reply->dport : 0;
	f->proto = orig->proto;
	return f;
}

void
ef_ct_flow_key6(const struct ef_ct *ct, const struct ef_ct_flow *f,
		uint8_t dir, struct ef_ct_key6 *k)
{
	uint64_t w[5];

	memset(k, 0, sizeof(*k));
	if (ct->a6 == NULL)
		return;
	flow6_words(ct, f, dir, w);
	memcpy(k->src, &w[0], 16);
	memcpy(k->dst, &w[2], 16);
	k->sport = (uint16_t)w[4];
	k->dport = (uint16_t)(w[4] >> 16);
	k->proto = (uint8_t)(w[4] >> 32);
}

const struct ef_ct_addr6 *
ef_ct_flow_addr6(const struct ef_ct *ct, const struct ef_ct_flow *f)
{
	return ct->a6 != NULL ? &ct->a6[f - ct->flows] : NULL;
}

const uint8_t *
ef_ct_flow_snat6(const struct ef_ct *ct, const struct ef_ct_flow *f)
{
	return ct->a6 != NULL && f->snat != 0 && f->snat <= ct->n_snat6 ?
		ct->snat6[f->snat - 1] : NULL;
}
