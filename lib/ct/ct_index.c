/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The conntrack index: a compact cuckoo hash for the two keys of a flow.
 * See ef_ct.h for the semantics.
 *
 * Why a hand-written index and not rte_hash:
 *
 * - Memory per flow. rte_hash (with the extendable bucket table that
 *   guarantees 2 x max_flows keys fit) measured 186 B per flow at 2^18
 *   flows, 114 B of it the hash: its key store holds a copy of every key
 *   (16 B key + 8 B data pointer, rounded to a 32 B slot, times two keys),
 *   then main buckets, as many extendable buckets again and a free-slot
 *   ring of 2 x max_flows entries. The target is <= 128 B per IPv4 flow
 *   including the index; the flow entry (64 B), the free stack (4 B) and
 *   the FIFO (4 B) leave 56 B, 28 B per key.
 * - A key is a deterministic function of the flow entry (ef_ct_flow_key4),
 *   so the index needs no key copy: a slot is a 16-bit signature and a
 *   32-bit (flow index << 1 | direction); a candidate is confirmed by
 *   comparing the looked-up key with the tuple stored in the flow itself.
 *   That is 6 B per slot, 8 slots per 64-byte bucket; at the load this
 *   table is sized for (0.425 .. 0.85 when full) the index costs 19 .. 38 B
 *   per flow: about 104 B per flow in total (measured in test/ct).
 * - The table is single-writer, single-reader (the owning worker): none of
 *   rte_hash's lock-free reader machinery (key-store indirection, change
 *   counters, free-slot ring, reader-writer locks) is needed.
 *
 * Layout. A bucket is one cache line: sig[8] (uint16, 0 = empty slot),
 * ent[8] (uint32 flow index << 1 | dir) and a count of stash entries whose
 * primary bucket it is. A key hashes (two CRC32-C over its 13 significant
 * bytes, in two word orders, so the bits are independent) to a primary
 * bucket b1 (low bits of the first) and a nonzero 16-bit signature (the
 * second); its alternate bucket is b2 = b1 ^ f(sig), f odd-valued, so the
 * alternate of any resident entry is computable from its signature alone
 * and cuckoo displacement never reads a flow. Inserts go to b1, else b2,
 * else a breadth-first search (EF_CT_BFS_NODES buckets, paths without a
 * repeated bucket) for the shortest displacement path; should that fail,
 * the key goes to a small stash, searched only when the primary bucket's
 * stash count is nonzero. Deleting a slot pulls back a stashed key that
 * may live in that bucket. The bucket count is the power of two >=
 * 2 x max_flows / (8 x 0.85): a full table is at most 85 % loaded, where
 * 8-way two-choice cuckoo hashing with displacement has a wide margin
 * (its load threshold is above 98 %); the tests fill tables to max_flows
 * at that worst case with random and with sequential-port keys.
 *
 * Lookup of a burst runs in passes so that the memory accesses of all its
 * keys overlap: hash every key and prefetch its primary bucket; compare
 * signatures and prefetch the candidate flow (or the alternate bucket
 * when the primary has no candidate); then confirm against the flows.
 *
 * The buckets are one memzone named after the table ("ef_ct_<name>"),
 * which also makes the name unique in the process (EEXIST). Everything is
 * allocated at creation, hugepage-backed when EAL has hugepages.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_memzone.h>
#include <rte_prefetch.h>

#include "ef_ct.h"
#include "ct_index.h"
#include "ct_priv.h"

/* Buckets for max_flows: two keys per flow, <= 85 % load when full. */
static uint64_t
bucket_count(uint32_t max_flows)
{
	uint64_t keys = 2ull * max_flows;
	uint64_t need = (keys * EF_CT_LOAD_NUM + EF_CT_LOAD_DEN - 1) /
		EF_CT_LOAD_DEN;

	return RTE_MAX(rte_align64pow2(need), 2ull);
}

int
ef_ct_idx_create(struct ef_ct *ct, int socket_id)
{
	char mzname[RTE_MEMZONE_NAMESIZE];
	size_t idx_sz;
	uint64_t nb;

	nb = bucket_count(ct->max_flows);
	ct->bucket_mask = (uint32_t)(nb - 1);
	idx_sz = (size_t)nb * sizeof(struct ef_ct_bucket);
	snprintf(mzname, sizeof(mzname), "ef_ct_%s", ct->name);
	ct->mz = rte_memzone_reserve_aligned(mzname, idx_sz, socket_id, 0,
					     RTE_CACHE_LINE_SIZE);
	if (ct->mz == NULL)
		return rte_errno == EEXIST ? -EEXIST : -ENOMEM;
	ct->buckets = ct->mz->addr;
	/* Memzones are not guaranteed zeroed; empty slots are sig 0. */
	memset(ct->buckets, 0, idx_sz);
	ct->idx_bytes = idx_sz;
	return 0;
}

static inline void
slot_move(struct ef_ct *ct, uint32_t from, unsigned int fs, uint32_t to,
	  unsigned int ts)
{
	struct ef_ct_bucket *a = &ct->buckets[from], *b = &ct->buckets[to];

	b->sig[ts] = a->sig[fs];
	b->ent[ts] = a->ent[fs];
	a->sig[fs] = 0;
	a->ent[fs] = 0;
}

static inline void
slot_set(struct ef_ct *ct, uint32_t bi, unsigned int s, uint16_t sig,
	 uint32_t ent)
{
	ct->buckets[bi].sig[s] = sig;
	ct->buckets[bi].ent[s] = ent;
}

struct ef_ct_bfs_node {
	uint32_t bucket;
	int32_t parent;		/* node index, -1 for the key's own buckets */
	uint32_t pslot;		/* slot of the parent whose entry moves here */
};

/* true when bucket bi is on the path from node n up to its root. */
static bool
bfs_on_path(const struct ef_ct_bfs_node *q, int32_t n, uint32_t bi)
{
	for (; n >= 0; n = q[n].parent) {
		if (q[n].bucket == bi)
			return true;
	}
	return false;
}

/*
 * Breadth-first search for the shortest chain of displacements that frees
 * a slot in b1 or b2 (both full), then apply it from the far end and put
 * the key in the freed slot. Paths never repeat a bucket, so every entry
 * moved is the one the search saw there. Returns true when the key is in.
 */
static bool
bfs_insert(struct ef_ct *ct, const struct ef_ct_hpos *p, uint32_t ent)
{
	struct ef_ct_bfs_node q[EF_CT_BFS_NODES];
	const struct ef_ct_bucket *b;
	uint32_t n = 0, head, ob, fm;
	unsigned int s, fs;
	int32_t cur;

	q[n++] = (struct ef_ct_bfs_node){ p->b1, -1, 0 };
	q[n++] = (struct ef_ct_bfs_node){ p->b2, -1, 0 };
	for (head = 0; head < n; head++) {
		b = &ct->buckets[q[head].bucket];
		for (s = 0; s < EF_CT_SLOTS; s++) {
			ob = q[head].bucket ^ alt_xor(ct, b->sig[s]);
			fm = sig_match(&ct->buckets[ob], 0);
			if (fm != 0) {
				slot_move(ct, q[head].bucket, s, ob,
					  match_slot(fm));
				cur = (int32_t)head;
				fs = s;
				while (q[cur].parent >= 0) {
					slot_move(ct, q[q[cur].parent].bucket,
						  q[cur].pslot, q[cur].bucket,
						  fs);
					fs = q[cur].pslot;
					cur = q[cur].parent;
				}
				slot_set(ct, q[cur].bucket, fs, p->sig, ent);
				return true;
			}
			if (n < EF_CT_BFS_NODES &&
			    !bfs_on_path(q, (int32_t)head, ob))
				q[n++] = (struct ef_ct_bfs_node){
					ob, (int32_t)head, s };
		}
	}
	return false;
}

int
ef_ct_idx_insert(struct ef_ct *ct, const struct ef_ct_hpos *p, uint32_t ent)
{
	struct ef_ct_stash *st;
	uint32_t m;

	m = sig_match(&ct->buckets[p->b1], 0);
	if (likely(m != 0)) {
		slot_set(ct, p->b1, match_slot(m), p->sig, ent);
		return 0;
	}
	m = sig_match(&ct->buckets[p->b2], 0);
	if (m != 0) {
		slot_set(ct, p->b2, match_slot(m), p->sig, ent);
		return 0;
	}
	if (bfs_insert(ct, p, ent))
		return 0;
	if (ct->stash_n == EF_CT_STASH_MAX)
		return -ENOSPC;
	st = &ct->stash[ct->stash_n++];
	st->ent = ent;
	st->b1 = p->b1;
	st->sig = p->sig;
	ct->buckets[p->b1].stashed++;
	EF_CT_LOG(DEBUG, "%s: key stashed (%u in stash)", ct->name,
		  ct->stash_n);
	return 0;
}

static void
stash_remove(struct ef_ct *ct, uint32_t i)
{
	ct->buckets[ct->stash[i].b1].stashed--;
	ct->stash[i] = ct->stash[--ct->stash_n];
}

/* Slot s of bucket bi was freed: move back a stashed key that fits it. */
static void
stash_refill(struct ef_ct *ct, uint32_t bi, unsigned int s)
{
	const struct ef_ct_stash *st;
	uint32_t i;

	for (i = 0; i < ct->stash_n; i++) {
		st = &ct->stash[i];
		if (st->b1 == bi || (st->b1 ^ alt_xor(ct, st->sig)) == bi) {
			slot_set(ct, bi, s, st->sig, st->ent);
			stash_remove(ct, i);
			return;
		}
	}
}

void
ef_ct_idx_remove(struct ef_ct *ct, const struct ef_ct_hpos *p, uint32_t ent)
{
	const uint32_t bis[2] = { p->b1, p->b2 };
	struct ef_ct_bucket *b;
	unsigned int s;
	uint32_t i, m;

	for (i = 0; i < 2; i++) {
		b = &ct->buckets[bis[i]];
		for (m = sig_match(b, p->sig); m != 0; m &= m - 1) {
			s = match_slot(m);
			if (b->ent[s] != ent)
				continue;
			b->sig[s] = 0;
			b->ent[s] = 0;
			if (unlikely(ct->stash_n != 0))
				stash_refill(ct, bis[i], s);
			return;
		}
	}
	for (i = 0; i < ct->stash_n; i++) {
		if (ct->stash[i].ent == ent) {
			stash_remove(ct, i);
			return;
		}
	}
}

void
ef_ct_lookup_bulk(struct ef_ct *ct, const struct ef_ct_key4 *keys[],
		  uint32_t n, struct ef_ct_flow *flows[], uint8_t dir[])
{
	uint64_t w[EF_CT_BULK_MAX][2];
	struct ef_ct_hpos p[EF_CT_BULK_MAX];
	uint32_t m1[EF_CT_BULK_MAX];
	const struct ef_ct_bucket *b;
	struct ef_ct_flow *f;
	uint32_t i;

	if (unlikely(n > EF_CT_BULK_MAX))
		n = EF_CT_BULK_MAX;
	/* Pass 1: hashes; the primary buckets start loading. */
	for (i = 0; i < n; i++) {
		key_words(keys[i], w[i]);
		key_hash(ct, w[i], &p[i]);
		rte_prefetch0(&ct->buckets[p[i].b1]);
	}
	/*
	 * Pass 2: signatures of the primary bucket; the candidate flow starts
	 * loading, or the alternate bucket when there is no candidate (most
	 * keys live in their primary bucket: inserts try it first and the
	 * table is at most 85 % full).
	 */
	for (i = 0; i < n; i++) {
		b = &ct->buckets[p[i].b1];
		m1[i] = sig_match(b, p[i].sig);
		if (m1[i] != 0)
			rte_prefetch0(&ct->flows[b->ent[match_slot(m1[i])] >> 1]);
		else
			rte_prefetch0(&ct->buckets[p[i].b2]);
	}
	/* Pass 3: confirm against the flows; the rest by the full search. */
	for (i = 0; i < n; i++) {
		f = NULL;
		if (m1[i] != 0)
			f = bucket_find(ct, &ct->buckets[p[i].b1], m1[i], w[i],
					&dir[i]);
		if (f == NULL) {
			b = &ct->buckets[p[i].b2];
			f = bucket_find(ct, b, sig_match(b, p[i].sig), w[i],
					&dir[i]);
			if (f == NULL &&
			    unlikely(ct->buckets[p[i].b1].stashed != 0))
				f = stash_find(ct, &p[i], w[i], &dir[i]);
			if (f == NULL)
				dir[i] = 0;
		}
		flows[i] = f;
	}
}

struct ef_ct_flow *
ef_ct_lookup(struct ef_ct *ct, const struct ef_ct_key4 *k, uint8_t *dir)
{
	struct ef_ct_hpos p;
	uint64_t w[2];

	key_words(k, w);
	key_hash(ct, w, &p);
	return idx_find(ct, w, &p, dir);
}

void
ef_ct_prefetch_key(const struct ef_ct *ct, const struct ef_ct_key4 *k)
{
	struct ef_ct_key4 kz = *k;
	struct ef_ct_hpos p;
	uint64_t w[2];

	memset(kz.pad, 0, sizeof(kz.pad));
	key_words(&kz, w);
	key_hash(ct, w, &p);
	rte_prefetch0(&ct->buckets[p.b1]);
	rte_prefetch0(&ct->buckets[p.b2]);
}

void
ef_ct_prefetch_free(const struct ef_ct *ct, uint32_t n)
{
	for (uint32_t i = 0; i < n && i < ct->free_top; i++)
		rte_prefetch0(&ct->flows[ct->free_stack[ct->free_top - 1 - i]]);
}

bool
ef_ct_key_in_use(const struct ef_ct *ct, const struct ef_ct_key4 *k)
{
	struct ef_ct_hpos p;
	uint64_t w[2];
	uint8_t dir;

	key_words(k, w);
	key_hash(ct, w, &p);
	return idx_find(ct, w, &p, &dir) != NULL;
}
