/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker connection tracking: a compact cuckoo index for the two keys
 * of a flow, a preallocated flow array, a free-index stack and an
 * early-drop FIFO. See ef_ct.h for the semantics.
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
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <rte_prefetch.h>
#ifdef RTE_ARCH_X86
#include <rte_vect.h>
#endif

#include "ef_ct.h"

RTE_LOG_REGISTER(ef_ct_logtype, user.edgefwd.ct, INFO);
#define EF_CT_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, ef_ct_logtype, "ct: " fmt "\n", ##__VA_ARGS__)

_Static_assert(sizeof(struct ef_ct_flow) <= 64, "ef_ct_flow exceeds a cache line");
_Static_assert(sizeof(struct ef_ct_key4) == 16, "ef_ct_key4 must be 16 bytes");

/* Linux's MAXACKWINDOW floor: acks may lag this far behind seq_end. */
#define EF_CT_MIN_ACKWIN 66000u
/* RFC 7323: a shift above 14 is treated as 14. */
#define EF_CT_WSCALE_MAX 14u

#define TCP_F_FIN 0x01
#define TCP_F_SYN 0x02
#define TCP_F_RST 0x04
#define TCP_F_ACK 0x10

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
};

static const char *const ef_ct_state_names[] = {
/* NOLINTNEXTLINE(bugprone-macro-parentheses): a designator, not an expression */
#define EF_CT_STATE_NAME(name, text) [EF_CT_##name] = text,
	EF_CT_FOREACH_STATE(EF_CT_STATE_NAME)
#undef EF_CT_STATE_NAME
};

const char *
ef_ct_state_name(unsigned int state)
{
	if (state >= EF_CT_STATE_MAX)
		return "?";
	return ef_ct_state_names[state];
}

void
ef_ct_flow_key4(const struct ef_ct_flow *f, uint8_t dir, struct ef_ct_key4 *k)
{
	memset(k, 0, sizeof(*k));
	k->proto = f->proto;
	if (dir == 0) {
		k->src = f->client;
		k->dst = f->frontend;
		k->sport = f->cport;
		k->dport = f->fport;
	} else {
		k->src = f->endpoint;
		k->sport = f->eport;
		k->dst = f->snat != 0 ? f->snat : f->client;
		k->dport = f->snat != 0 ? f->sport_snat : f->cport;
	}
}

/* --- index --- */

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

static struct ef_ct_flow *
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

/* Add a key known to be absent. Returns 0 or -ENOSPC. */
static int
idx_insert(struct ef_ct *ct, const struct ef_ct_hpos *p, uint32_t ent)
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

/* Remove the key at p whose entry is ent (present by construction). */
static void
idx_remove(struct ef_ct *ct, const struct ef_ct_hpos *p, uint32_t ent)
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

/* --- table --- */

static uint32_t
timeout_ms(uint32_t seconds)
{
	return seconds * 1000u;
}

static int
check_timeouts(const struct ef_cfg_conntrack *t)
{
	const uint32_t v[] = {
		t->tcp_syn_timeout, t->tcp_established_timeout,
		t->tcp_fin_timeout, t->tcp_close_timeout, t->udp_timeout,
		t->udp_stream_timeout, t->icmp_timeout,
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(v); i++) {
		if (v[i] == 0 || v[i] > EF_CT_TIMEOUT_MAX_S)
			return -EINVAL;
	}
	return 0;
}

/* Buckets for max_flows: two keys per flow, <= 85 % load when full. */
static uint64_t
bucket_count(uint32_t max_flows)
{
	uint64_t keys = 2ull * max_flows;
	uint64_t need = (keys * EF_CT_LOAD_NUM + EF_CT_LOAD_DEN - 1) /
		EF_CT_LOAD_DEN;

	return RTE_MAX(rte_align64pow2(need), 2ull);
}

struct ef_ct *
ef_ct_create(const struct ef_ct_params *p)
{
	char mzname[RTE_MEMZONE_NAMESIZE];
	struct ef_ct *ct;
	const struct ef_cfg_conntrack *t;
	size_t flows_sz, idx_sz;
	uint64_t nb;
	uint32_t i;

	if (p == NULL || p->name == NULL || p->max_flows < 4 ||
	    p->max_flows > EF_CT_MAX_FLOWS || check_timeouts(&p->timeouts)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (strlen(p->name) > EF_CT_NAME_MAX || p->name[0] == '\0') {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}
	t = &p->timeouts;

	ct = rte_zmalloc_socket("ef_ct", sizeof(*ct), RTE_CACHE_LINE_SIZE,
				p->socket_id);
	if (ct == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(ct->name, sizeof(ct->name), "%s", p->name);
	ct->max_flows = p->max_flows;
	ct->evict_cb = p->evict_cb;
	ct->evict_arg = p->evict_arg;

	ct->timeout_ms[EF_CT_NONE] = timeout_ms(t->tcp_syn_timeout);
	ct->timeout_ms[EF_CT_SYN_SENT] = timeout_ms(t->tcp_syn_timeout);
	ct->timeout_ms[EF_CT_SYN_RECV] = timeout_ms(t->tcp_syn_timeout);
	ct->timeout_ms[EF_CT_ESTABLISHED] =
		timeout_ms(t->tcp_established_timeout);
	ct->timeout_ms[EF_CT_FIN_WAIT] = timeout_ms(t->tcp_fin_timeout);
	ct->timeout_ms[EF_CT_CLOSE_WAIT] = timeout_ms(t->tcp_fin_timeout);
	ct->timeout_ms[EF_CT_LAST_ACK] = timeout_ms(t->tcp_fin_timeout);
	ct->timeout_ms[EF_CT_TIME_WAIT] = timeout_ms(t->tcp_close_timeout);
	ct->timeout_ms[EF_CT_CLOSE] = timeout_ms(t->tcp_close_timeout);
	ct->timeout_ms[EF_CT_UDP_NEW] = timeout_ms(t->udp_timeout);
	ct->timeout_ms[EF_CT_UDP_REPLIED] = timeout_ms(t->udp_stream_timeout);
	ct->timeout_ms[EF_CT_ICMP] = timeout_ms(t->icmp_timeout);
	ct->timeout_none_ms[0] = timeout_ms(t->tcp_syn_timeout);
	ct->timeout_none_ms[1] = timeout_ms(t->udp_timeout);
	ct->timeout_none_ms[2] = timeout_ms(t->icmp_timeout);

	nb = bucket_count(p->max_flows);
	ct->bucket_mask = (uint32_t)(nb - 1);
	idx_sz = (size_t)nb * sizeof(struct ef_ct_bucket);
	snprintf(mzname, sizeof(mzname), "ef_ct_%s", p->name);
	ct->mz = rte_memzone_reserve_aligned(mzname, idx_sz, p->socket_id, 0,
					     RTE_CACHE_LINE_SIZE);
	if (ct->mz == NULL) {
		if (rte_errno == EEXIST) {
			rte_free(ct);
			rte_errno = EEXIST;
			return NULL;
		}
		goto err_nomem;
	}
	ct->buckets = ct->mz->addr;
	/* Memzones are not guaranteed zeroed; empty slots are sig 0. */
	memset(ct->buckets, 0, idx_sz);
	ct->idx_bytes = idx_sz;

	flows_sz = (size_t)p->max_flows * sizeof(struct ef_ct_flow);
	ct->flows = rte_zmalloc_socket("ef_ct_flows", flows_sz,
				       RTE_CACHE_LINE_SIZE, p->socket_id);
	if (ct->flows == NULL)
		goto err_nomem;
	ct->free_stack = rte_malloc_socket("ef_ct_free",
					   (size_t)p->max_flows * sizeof(uint32_t),
					   RTE_CACHE_LINE_SIZE, p->socket_id);
	if (ct->free_stack == NULL)
		goto err_nomem;
	ct->fifo = rte_malloc_socket("ef_ct_fifo",
				     (size_t)p->max_flows * sizeof(uint32_t),
				     RTE_CACHE_LINE_SIZE, p->socket_id);
	if (ct->fifo == NULL)
		goto err_nomem;
	ct->own_bytes = sizeof(*ct) + flows_sz +
		2 * (size_t)p->max_flows * sizeof(uint32_t);

	/* Low indexes first: fresh tables touch the array front to back. */
	for (i = 0; i < p->max_flows; i++)
		ct->free_stack[i] = p->max_flows - 1 - i;
	ct->free_top = p->max_flows;
	return ct;

err_nomem:
	EF_CT_LOG(ERR, "%s: no memory for %u flows", p->name, p->max_flows);
	rte_free(ct->fifo);
	rte_free(ct->free_stack);
	rte_free(ct->flows);
	rte_memzone_free(ct->mz);
	rte_free(ct);
	rte_errno = ENOMEM;
	return NULL;
}

void
ef_ct_free(struct ef_ct *ct)
{
	if (ct == NULL)
		return;
	rte_memzone_free(ct->mz);
	rte_free(ct->fifo);
	rte_free(ct->free_stack);
	rte_free(ct->flows);
	rte_free(ct);
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

static inline void
set_state(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t state)
{
	ct->stats.by_state[f->state]--;
	ct->stats.by_state[state]++;
	f->state = state;
}

static inline bool
unreplied(const struct ef_ct_flow *f)
{
	return f->state == EF_CT_NONE || f->state == EF_CT_SYN_SENT ||
		f->state == EF_CT_UDP_NEW;
}

static void
fifo_push(struct ef_ct *ct, uint32_t idx)
{
	uint32_t pos = ct->fifo_head + ct->fifo_count;

	if (pos >= ct->max_flows)
		pos -= ct->max_flows;
	ct->fifo[pos] = idx;
	ct->fifo_count++;
}

static uint32_t
fifo_pop(struct ef_ct *ct)
{
	uint32_t idx = ct->fifo[ct->fifo_head];

	if (++ct->fifo_head == ct->max_flows)
		ct->fifo_head = 0;
	ct->fifo_count--;
	return idx;
}

/*
 * Free one slot by evicting the oldest flow that never saw a reply, if it
 * is old enough. Examines at most EF_CT_EARLY_DROP_SCAN FIFO entries:
 * stale ones (freed, or replied since) leave the FIFO; a young head stops
 * the scan (everything behind it is younger), unless it is a reused slot
 * holding an older place (EF_CT_F_REQUEUE), which moves to the tail.
 * Returns true when a flow was evicted.
 */
static bool
early_drop(struct ef_ct *ct, uint32_t now_ms)
{
	struct ef_ct_flow *f;
	uint32_t i, idx;

	for (i = 0; i < EF_CT_EARLY_DROP_SCAN && ct->fifo_count > 0; i++) {
		idx = ct->fifo[ct->fifo_head];
		f = &ct->flows[idx];
		if (!(f->flags & EF_CT_F_IN_USE) || !unreplied(f)) {
			fifo_pop(ct);
			f->flags &= ~(EF_CT_F_QUEUED | EF_CT_F_REQUEUE);
			continue;
		}
		if ((int32_t)(now_ms - f->created_ms) <=
		    (int32_t)EF_CT_EARLY_DROP_MS) {
			if (!(f->flags & EF_CT_F_REQUEUE))
				return false;
			fifo_pop(ct);
			fifo_push(ct, idx);
			f->flags &= ~EF_CT_F_REQUEUE;
			continue;
		}
		fifo_pop(ct);
		f->flags &= ~(EF_CT_F_QUEUED | EF_CT_F_REQUEUE);
		if (ct->evict_cb != NULL)
			ct->evict_cb(ct->evict_arg, f);
		ef_ct_delete(ct, f);
		ct->stats.early_drops++;
		return true;
	}
	return false;
}

struct ef_ct_flow *
ef_ct_create_flow(struct ef_ct *ct, const struct ef_ct_key4 *orig,
		  const struct ef_ct_key4 *reply, uint32_t now_ms, int *err)
{
	struct ef_ct_key4 ko = *orig, kr = *reply;
	struct ef_ct_hpos po, pr;
	struct ef_ct_flow *f;
	uint64_t wo[2], wr[2];
	uint32_t idx;
	uint8_t dir;

	memset(ko.pad, 0, sizeof(ko.pad));
	memset(kr.pad, 0, sizeof(kr.pad));
	/*
	 * The reply key's destination must be rebuildable from the flow
	 * (ef_ct_flow_key4): an address of 0 cannot mean SNAT.
	 */
	if (memcmp(&ko, &kr, sizeof(ko)) == 0 || ko.proto != kr.proto ||
	    ((kr.dst != ko.src || kr.dport != ko.sport) && kr.dst == 0)) {
		*err = -EINVAL;
		return NULL;
	}
	key_words(&ko, wo);
	key_words(&kr, wr);
	key_hash(ct, wo, &po);
	key_hash(ct, wr, &pr);
	if (idx_find(ct, wo, &po, &dir) != NULL ||
	    idx_find(ct, wr, &pr, &dir) != NULL) {
		*err = -EEXIST;
		return NULL;
	}
	if (ct->free_top == 0 && !early_drop(ct, now_ms)) {
		ct->stats.full++;
		*err = -ENOSPC;
		return NULL;
	}
	idx = ct->free_stack[ct->free_top - 1];
	/* The index needs only the hash positions: the flow is filled after. */
	if (idx_insert(ct, &po, idx << 1) != 0)
		goto err_full;
	if (idx_insert(ct, &pr, idx << 1 | 1) != 0) {
		idx_remove(ct, &po, idx << 1);
		goto err_full;
	}
	ct->free_top--;

	f = &ct->flows[idx];
	f->flags &= EF_CT_F_QUEUED;	/* its FIFO entry may remain */
	f->client = ko.src;
	f->frontend = ko.dst;
	f->cport = ko.sport;
	f->fport = ko.dport;
	f->endpoint = kr.src;
	f->eport = kr.sport;
	if (kr.dst != ko.src || kr.dport != ko.sport) {
		f->snat = kr.dst;
		f->sport_snat = kr.dport;
	} else {
		f->snat = 0;
		f->sport_snat = 0;
	}
	f->proto = ko.proto;
	f->state = EF_CT_NONE;
	f->flags |= EF_CT_F_IN_USE;
	f->wscale = 0xff;
	f->created_ms = now_ms;
	f->last_ms = now_ms;
	f->svc_id = 0;
	f->gen = 0;
	f->seq_end[0] = f->seq_end[1] = 0;
	f->max_win[0] = f->max_win[1] = 0;
	memset(f->user, 0, sizeof(f->user));
	if (!(f->flags & EF_CT_F_QUEUED)) {
		f->flags |= EF_CT_F_QUEUED;
		fifo_push(ct, idx);
	} else {
		/* The slot's old FIFO entry is ahead of its creation time. */
		f->flags |= EF_CT_F_REQUEUE;
	}
	ct->stats.created++;
	ct->stats.active++;
	ct->stats.by_state[EF_CT_NONE]++;
	*err = 0;
	return f;

err_full:
	EF_CT_LOG(WARNING, "%s: index full below max_flows (%u active)",
		  ct->name, ct->stats.active);
	ct->stats.full++;
	*err = -ENOSPC;
	return NULL;
}

void
ef_ct_delete(struct ef_ct *ct, struct ef_ct_flow *f)
{
	struct ef_ct_hpos p;
	uint32_t idx = (uint32_t)(f - ct->flows);
	uint64_t w[2];
	uint8_t dir;

	if (!(f->flags & EF_CT_F_IN_USE))
		return;
	for (dir = 0; dir < 2; dir++) {
		flow_words(f, dir, w);
		key_hash(ct, w, &p);
		idx_remove(ct, &p, idx << 1 | dir);
	}
	ct->stats.by_state[f->state]--;
	ct->stats.active--;
	ct->stats.deleted++;
	f->state = EF_CT_NONE;
	f->flags &= EF_CT_F_QUEUED;
	ct->free_stack[ct->free_top++] = idx;
}

uint32_t
ef_ct_timeout_ms(const struct ef_ct *ct, const struct ef_ct_flow *f)
{
	if (f->state == EF_CT_NONE) {
		if (f->proto == IPPROTO_TCP)
			return ct->timeout_none_ms[0];
		if (f->proto == IPPROTO_ICMP)
			return ct->timeout_none_ms[2];
		return ct->timeout_none_ms[1];
	}
	return ct->timeout_ms[f->state < EF_CT_STATE_MAX ? f->state : 0];
}

/* --- TCP --- */

static inline uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_32(v);
}

static inline uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_16(v);
}

/* Window scale option of a SYN segment, or EF_CT_WSCALE_NONE. */
static uint8_t
tcp_wscale_opt(const uint8_t *th, uint32_t hlen)
{
	uint32_t off = 20, len;

	while (off < hlen) {
		switch (th[off]) {
		case 0:		/* end of options */
			return EF_CT_WSCALE_NONE;
		case 1:		/* NOP */
			off++;
			continue;
		default:
			break;
		}
		if (off + 1 >= hlen)
			return EF_CT_WSCALE_NONE;
		len = th[off + 1];
		if (len < 2 || off + len > hlen)
			return EF_CT_WSCALE_NONE;
		if (th[off] == 3 && len == 3)
			return (uint8_t)RTE_MIN((uint32_t)th[off + 2],
						EF_CT_WSCALE_MAX);
		off += len;
	}
	return EF_CT_WSCALE_NONE;
}

/* Scale in force for windows sent by direction dir (0 unless both offered). */
static inline uint32_t
wscale_of(const struct ef_ct_flow *f, uint8_t dir)
{
	uint8_t w0 = f->wscale & 0xf, w1 = f->wscale >> 4;

	if (w0 == EF_CT_WSCALE_NONE || w1 == EF_CT_WSCALE_NONE)
		return 0;
	return dir == 0 ? w0 : w1;
}

static inline void
set_wscale(struct ef_ct_flow *f, uint8_t dir, uint8_t ws)
{
	if (dir == 0)
		f->wscale = (uint8_t)((f->wscale & 0xf0) | ws);
	else
		f->wscale = (uint8_t)((f->wscale & 0x0f) | (ws << 4));
}

/* The light tcp_in_window() documented at ef_ct_update(). */
static bool
tcp_in_window(const struct ef_ct_flow *f, uint8_t d, uint32_t seq,
	      uint32_t end, bool has_ack, uint32_t ack)
{
	uint8_t o = d ^ 1;
	uint32_t rwin = f->max_win[o];
	uint32_t ackwin = RTE_MAX(f->max_win[d], EF_CT_MIN_ACKWIN);

	if ((int32_t)(seq - (f->seq_end[d] + rwin)) > 0)
		return false;
	if ((int32_t)(end - (f->seq_end[d] - rwin)) < 0)
		return false;
	if (has_ack) {
		if ((int32_t)(ack - f->seq_end[o]) > 0)
			return false;
		if ((int32_t)(ack - (f->seq_end[o] - ackwin)) < 0)
			return false;
	}
	return true;
}

/* State from the FIN bits, for a synchronised flow not in CLOSE. */
static uint8_t
tcp_closing_state(const struct ef_ct_flow *f)
{
	uint8_t fl = f->flags;
	bool fin0 = fl & EF_CT_F_FIN0, fin1 = fl & EF_CT_F_FIN1;

	if ((fl & EF_CT_F_FINACK0) && (fl & EF_CT_F_FINACK1))
		return EF_CT_TIME_WAIT;
	if (fin0 && fin1)
		return EF_CT_LAST_ACK;
	if ((fin0 && (fl & EF_CT_F_FINACK0)) || (fin1 && (fl & EF_CT_F_FINACK1)))
		return EF_CT_CLOSE_WAIT;
	return EF_CT_FIN_WAIT;
}

static int
tcp_update(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t d,
	   const uint8_t *frame, const struct ef_pkt_meta *m)
{
	const uint8_t *th;
	uint32_t seq, ack, hlen, win, end;
	uint8_t fl, o = d ^ 1, ws;
	bool syn, has_ack, rst, fin;

	if (m->proto != IPPROTO_TCP || m->l4_off == 0 || m->l4_len < 20)
		return EF_CT_VERDICT_INVALID;
	th = frame + m->l4_off;
	hlen = (uint32_t)(th[12] >> 4) * 4;
	if (hlen < 20 || hlen > m->l4_len)
		return EF_CT_VERDICT_INVALID;
	seq = rd32(th + 4);
	ack = rd32(th + 8);
	fl = th[13];
	win = rd16(th + 14);
	syn = fl & TCP_F_SYN;
	has_ack = fl & TCP_F_ACK;
	rst = fl & TCP_F_RST;
	fin = fl & TCP_F_FIN;
	end = seq + (m->l4_len - hlen) + (syn ? 1 : 0) + (fin ? 1 : 0);

	if (syn && (rst || fin))
		return EF_CT_VERDICT_INVALID;

	switch (f->state) {
	case EF_CT_NONE:
		if (d != 0 || !syn || has_ack)
			return EF_CT_VERDICT_INVALID;
		/* fall through - initialise the client side */
	case EF_CT_SYN_SENT:
		if (d == 0 && syn && !has_ack) {
			/* First SYN, retransmission, or a new ISN. */
			f->seq_end[0] = end;
			f->max_win[0] = RTE_MAX(win, 1u);
			set_wscale(f, 0, tcp_wscale_opt(th, hlen));
			set_wscale(f, 1, EF_CT_WSCALE_NONE);
			if (f->state == EF_CT_NONE)
				set_state(ct, f, EF_CT_SYN_SENT);
			return EF_CT_VERDICT_OK;
		}
		if (d == 0) {
			/* Client abort of its own SYN. */
			if (rst && seq == f->seq_end[0]) {
				set_state(ct, f, EF_CT_CLOSE);
				return EF_CT_VERDICT_OK;
			}
			return EF_CT_VERDICT_INVALID;
		}
		if (syn && has_ack) {
			if (ack != f->seq_end[0])
				return EF_CT_VERDICT_INVALID;
			f->seq_end[1] = end;
			/* The window of a SYN is never scaled (RFC 7323). */
			f->max_win[1] = RTE_MAX(win, 1u);
			ws = tcp_wscale_opt(th, hlen);
			set_wscale(f, 1, ws);
			set_state(ct, f, EF_CT_SYN_RECV);
			return EF_CT_VERDICT_OK;
		}
		/* RFC 793: in SYN-SENT an RST is acceptable if it acks the SYN. */
		if (rst && has_ack && ack == f->seq_end[0]) {
			set_state(ct, f, EF_CT_CLOSE);
			return EF_CT_VERDICT_OK;
		}
		return EF_CT_VERDICT_INVALID;
	default:
		break;
	}

	if (syn) {
		if (d == 0 && !has_ack && (f->state == EF_CT_TIME_WAIT ||
					   f->state == EF_CT_CLOSE))
			return EF_CT_VERDICT_NEW_AFTER_CLOSE;
		/* Retransmitted SYN or SYN-ACK of the same handshake. */
		if (f->state == EF_CT_SYN_RECV && end == f->seq_end[d] &&
		    (d == 0 ? !has_ack : (has_ack && ack == f->seq_end[0])))
			return EF_CT_VERDICT_OK;
		/*
		 * The endpoint's SYN-ACK again after the client's ACK (and
		 * data) went by: the endpoint did not take that ACK (a full
		 * accept queue drops it) and retransmits. The client must see
		 * it to ACK again, so pass it on, changing nothing, as Linux
		 * conntrack ignores it: same ISN (the endpoint has sent
		 * nothing since) and an ack the client's data covers.
		 */
		if (d == 1 && has_ack && end == f->seq_end[1] &&
		    f->state == EF_CT_ESTABLISHED &&
		    (int32_t)(ack - f->seq_end[0]) <= 0)
			return EF_CT_VERDICT_OK;
		return EF_CT_VERDICT_INVALID;
	}
	if (!tcp_in_window(f, d, seq, end, has_ack, ack))
		return EF_CT_VERDICT_INVALID;
	if (rst) {
		if (f->state != EF_CT_CLOSE)
			set_state(ct, f, EF_CT_CLOSE);
		return EF_CT_VERDICT_OK;
	}
	if (!has_ack)
		return EF_CT_VERDICT_INVALID;

	if ((int32_t)(end - f->seq_end[d]) > 0)
		f->seq_end[d] = end;
	f->max_win[d] = RTE_MAX(f->max_win[d],
				RTE_MAX(win << wscale_of(f, d), 1u));
	if (f->state == EF_CT_CLOSE)
		return EF_CT_VERDICT_OK;
	if (fin)
		f->flags |= d == 0 ? EF_CT_F_FIN0 : EF_CT_F_FIN1;
	/* Does this segment ack the peer's FIN (seq_end includes it)? */
	if ((f->flags & (o == 0 ? EF_CT_F_FIN0 : EF_CT_F_FIN1)) &&
	    (int32_t)(ack - f->seq_end[o]) >= 0)
		f->flags |= o == 0 ? EF_CT_F_FINACK0 : EF_CT_F_FINACK1;

	if (f->flags & (EF_CT_F_FIN0 | EF_CT_F_FIN1)) {
		uint8_t s = tcp_closing_state(f);

		if (s != f->state)
			set_state(ct, f, s);
	} else if (f->state == EF_CT_SYN_RECV && d == 0 &&
		   ack == f->seq_end[1]) {
		set_state(ct, f, EF_CT_ESTABLISHED);
	}
	return EF_CT_VERDICT_OK;
}

int
ef_ct_update(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t dir,
	     const uint8_t *frame, const struct ef_pkt_meta *m,
	     uint32_t now_ms)
{
	int v = EF_CT_VERDICT_OK;

	dir &= 1;
	switch (f->proto) {
	case IPPROTO_TCP:
		v = tcp_update(ct, f, dir, frame, m);
		break;
	case IPPROTO_ICMP:
		if (f->state == EF_CT_NONE) {
			if (dir != 0)
				v = EF_CT_VERDICT_INVALID;
			else
				set_state(ct, f, EF_CT_ICMP);
		}
		break;
	default:
		if (f->state == EF_CT_NONE) {
			if (dir != 0)
				v = EF_CT_VERDICT_INVALID;
			else
				set_state(ct, f, EF_CT_UDP_NEW);
		} else if (f->state == EF_CT_UDP_NEW && dir == 1) {
			set_state(ct, f, EF_CT_UDP_REPLIED);
		}
		break;
	}
	if (v == EF_CT_VERDICT_OK)
		f->last_ms = now_ms;
	else if (v == EF_CT_VERDICT_INVALID)
		ct->stats.invalid++;
	return v;
}

uint32_t
ef_ct_expire(struct ef_ct *ct, uint32_t now_ms, uint32_t budget,
	     ef_ct_expire_fn cb, void *arg)
{
	struct ef_ct_flow *f;
	uint32_t i, idx = ct->expire_cursor, n = 0;

	budget = RTE_MIN(budget, ct->max_flows);
	for (i = 0; i < budget; i++) {
		f = &ct->flows[idx];
		if ((f->flags & EF_CT_F_IN_USE) &&
		    (int32_t)(now_ms - f->last_ms) >=
		    (int32_t)ef_ct_timeout_ms(ct, f)) {
			if (cb != NULL)
				cb(arg, f);
			ef_ct_delete(ct, f);
			ct->stats.expired++;
			n++;
		}
		if (++idx == ct->max_flows)
			idx = 0;
	}
	ct->expire_cursor = idx;
	return n;
}

uint32_t
ef_ct_walk(struct ef_ct *ct, uint32_t *cursor, uint32_t budget,
	   ef_ct_walk_fn cb, void *arg)
{
	struct ef_ct_flow *f;
	uint32_t idx = *cursor, stop, n = 0;

	if (idx >= ct->max_flows)
		idx = 0;
	stop = idx + RTE_MIN(budget, ct->max_flows - idx);
	for (; idx < stop; idx++) {
		f = &ct->flows[idx];
		if (!(f->flags & EF_CT_F_IN_USE))
			continue;
		n++;
		if (cb(arg, f) == 1)
			ef_ct_delete(ct, f);
	}
	*cursor = idx == ct->max_flows ? 0 : idx;
	return n;
}

const struct ef_ct_stats *
ef_ct_stats(const struct ef_ct *ct)
{
	return &ct->stats;
}

uint32_t
ef_ct_flow_index(const struct ef_ct *ct, const struct ef_ct_flow *f)
{
	return (uint32_t)(f - ct->flows);
}

struct ef_ct_flow *
ef_ct_flow_at(struct ef_ct *ct, uint32_t idx)
{
	if (idx >= ct->max_flows || !(ct->flows[idx].flags & EF_CT_F_IN_USE))
		return NULL;
	return &ct->flows[idx];
}

uint32_t
ef_ct_capacity(const struct ef_ct *ct)
{
	return ct->max_flows;
}

size_t
ef_ct_memory(const struct ef_ct *ct)
{
	return ct->idx_bytes + ct->own_bytes;
}

size_t
ef_ct_hash_memory(const struct ef_ct *ct)
{
	return ct->idx_bytes + sizeof(ct->stash);
}
