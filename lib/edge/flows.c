/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The edge's per-worker flow table: client tuple -> node, one direction.
 *
 * Why rte_hash (and not lib/ct's hand-written index): an edge entry has
 * one key, not two, and the value is 24 bytes, so the reasons ct gives
 * against rte_hash (a key copy per direction, the 128 B per flow target)
 * weigh little here, while rte_hash brings a tested bulk lookup
 * (rte_hash_lookup_bulk: hashes and prefetches the whole burst), and,
 * with RTE_HASH_EXTRA_FLAGS_EXT_TABLE, a guarantee that exactly
 * `capacity` keys fit (the key store has capacity slots; cuckoo conflicts
 * spill into extendable buckets instead of failing early), so "full" is
 * a plain count. Created without the multi-writer / RW-concurrency
 * flags: the owning worker is the only reader and writer, so no locks and
 * no atomics are taken. The value array is indexed by the key's position
 * (what rte_hash_add_key returns), as fwd's affinity table does; an
 * IN_USE flag in the value lets the expiry slice skip free positions
 * without calling into the hash. Nothing is allocated after creation.
 */
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include "ef_edge.h"

/* Internal: the value at this position holds a live flow. */
#define F_IN_USE 0x80
/* CRC32-C seed of the flow hash; part of the cross-edge contract. */
#define EF_EDGE_HASH_SEED 0x45444745u	/* "EDGE" */

struct ef_edge_flows {
	struct rte_hash *h;
	struct ef_edge_flow *v;		/* by key position */
	uint32_t capacity;
	uint32_t cursor;
	uint32_t timeout_ms;
	uint32_t fin_timeout_ms;
	struct ef_edge_flows_stats st;
	struct ef_edge_node_ctr *ctr;	/* EF_EDGE_CTR_SLOTS */
	bool own_ctr;			/* false: another table's (shared_ctr) */
};

_Static_assert(sizeof(struct ef_edge_flow_key) == 16, "key is 16 bytes");
_Static_assert(sizeof(struct ef_edge_flow_key6) == 40, "key6 is 40 bytes");

uint32_t
ef_edge_flow_hash(const struct ef_edge_flow_key *k)
{
	return rte_hash_crc(k, sizeof(*k), EF_EDGE_HASH_SEED);
}

uint32_t
ef_edge_flow_hash6(const struct ef_edge_flow_key6 *k)
{
	return rte_hash_crc(k, sizeof(*k), EF_EDGE_HASH_SEED);
}

static uint32_t
hash_fn(const void *key, uint32_t len, uint32_t init)
{
	return rte_hash_crc(key, len, init);
}

struct ef_edge_flows *
ef_edge_flows_create(const struct ef_edge_flows_params *p)
{
	struct rte_hash_parameters hp = {
		.hash_func = hash_fn,
		.hash_func_init_val = EF_EDGE_HASH_SEED,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct ef_edge_flows *ft;
	uint32_t fin_s;

	if (p == NULL || p->name == NULL || p->capacity < 8 ||
	    p->timeout_s == 0 || p->timeout_s > 1000000 ||
	    p->fin_timeout_s > 1000000 ||
	    (p->key_len != 0 && p->key_len != EF_EDGE_KEY4_LEN &&
	     p->key_len != EF_EDGE_KEY6_LEN)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (strlen(p->name) > EF_EDGE_NAME_MAX) {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}
	if (rte_hash_find_existing(p->name) != NULL) {
		rte_errno = EEXIST;
		return NULL;
	}
	ft = rte_zmalloc_socket("ef_edge_flows", sizeof(*ft),
				RTE_CACHE_LINE_SIZE, p->socket_id);
	if (ft == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	hp.name = p->name;
	hp.key_len = p->key_len != 0 ? p->key_len : EF_EDGE_KEY4_LEN;
	hp.entries = p->capacity;
	hp.socket_id = p->socket_id;
	ft->h = rte_hash_create(&hp);
	ft->v = rte_zmalloc_socket("ef_edge_flow_v",
				   sizeof(ft->v[0]) * p->capacity,
				   RTE_CACHE_LINE_SIZE, p->socket_id);
	ft->own_ctr = p->shared_ctr == NULL;
	ft->ctr = p->shared_ctr != NULL ? p->shared_ctr :
		rte_zmalloc_socket("ef_edge_ctr",
				   sizeof(ft->ctr[0]) * EF_EDGE_CTR_SLOTS,
				   RTE_CACHE_LINE_SIZE, p->socket_id);
	if (ft->h == NULL || ft->v == NULL || ft->ctr == NULL) {
		ef_edge_flows_free(ft);
		rte_errno = ENOMEM;
		return NULL;
	}
	ft->capacity = p->capacity;
	ft->timeout_ms = p->timeout_s * 1000;
	fin_s = p->fin_timeout_s != 0 ? p->fin_timeout_s :
		EF_EDGE_FLOW_FIN_TIMEOUT_S;
	ft->fin_timeout_ms = fin_s * 1000;
	return ft;
}

void
ef_edge_flows_free(struct ef_edge_flows *ft)
{
	if (ft == NULL)
		return;
	rte_hash_free(ft->h);
	rte_free(ft->v);
	if (ft->own_ctr)
		rte_free(ft->ctr);
	rte_free(ft);
}

void
ef_edge_flows_lookup_bulk(struct ef_edge_flows *ft,
			  const void *keys[], uint32_t n,
			  struct ef_edge_flow *out[])
{
	int32_t pos[EF_EDGE_BULK_MAX];

	if (n > EF_EDGE_BULK_MAX)
		n = EF_EDGE_BULK_MAX;
	if (n == 0)
		return;
	if (rte_hash_lookup_bulk(ft->h, keys, n, pos) != 0) {
		for (uint32_t i = 0; i < n; i++)
			out[i] = NULL;
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		out[i] = pos[i] >= 0 && (uint32_t)pos[i] < ft->capacity ?
			&ft->v[pos[i]] : NULL;
		/* the value line: read when the burst reaches it */
		if (out[i] != NULL)
			rte_prefetch0(out[i]);
	}
}

struct ef_edge_flow *
ef_edge_flows_lookup(struct ef_edge_flows *ft, const void *k)
{
	int32_t pos = rte_hash_lookup(ft->h, k);

	return pos >= 0 && (uint32_t)pos < ft->capacity ? &ft->v[pos] : NULL;
}

/* The flow count of f's slot goes up (d = 1) or down (d = -1). */
static inline void
flow_count(struct ef_edge_flows *ft, const struct ef_edge_flow *f, int d)
{
	if (likely(f->slot < EF_EDGE_CTR_SLOTS))
		ft->ctr[f->slot].flows += d;
}

/* Insert a key known to be absent (one hash probe less than the public
 * insert, which checks). */
static struct ef_edge_flow *
insert_new(struct ef_edge_flows *ft, const void *k,
	   const struct ef_edge_lb *lb, uint32_t node_idx, uint32_t svc,
	   uint32_t now_ms, int *err)
{
	struct ef_edge_flow *f;
	int32_t pos = rte_hash_add_key(ft->h, k);

	if (pos < 0 || (uint32_t)pos >= ft->capacity) {
		if (pos >= 0)
			rte_hash_del_key(ft->h, k);
		ft->st.full++;
		*err = -ENOSPC;
		return NULL;
	}
	f = &ft->v[pos];
	f->node_addr = lb->nodes[node_idx].addr;
	f->node_idx = (uint16_t)node_idx;
	f->lb_gen = lb->gen;
	f->last_ms = now_ms;
	f->flags = F_IN_USE;
	f->svc = svc;
	f->slot = lb->nodes[node_idx].slot;
	flow_count(ft, f, 1);
	ft->st.created++;
	ft->st.active++;
	*err = 0;
	return f;
}

struct ef_edge_flow *
ef_edge_flows_insert(struct ef_edge_flows *ft, const void *k,
		     const struct ef_edge_lb *lb, uint32_t node_idx,
		     uint32_t svc, uint32_t now_ms, int *err)
{
	if (node_idx >= lb->n_nodes) {
		*err = -EINVAL;
		return NULL;
	}
	if (rte_hash_lookup(ft->h, k) >= 0) {
		*err = -EEXIST;
		return NULL;
	}
	return insert_new(ft, k, lb, node_idx, svc, now_ms, err);
}

static void
release(struct ef_edge_flows *ft, struct ef_edge_flow *f)
{
	flow_count(ft, f, -1);
	f->flags = 0;
	ft->st.deleted++;
	ft->st.active--;
}

int
ef_edge_flows_delete(struct ef_edge_flows *ft, const void *k)
{
	int32_t pos = rte_hash_del_key(ft->h, k);

	if (pos < 0 || (uint32_t)pos >= ft->capacity)
		return -ENOENT;
	release(ft, &ft->v[pos]);
	return 0;
}

uint32_t
ef_edge_flows_expire(struct ef_edge_flows *ft, uint32_t now_ms,
		     uint32_t budget, ef_edge_flow_expire_fn cb, void *arg)
{
	uint32_t deleted = 0;

	if (ft->st.active == 0)
		return 0;	/* nothing to scan (no edge traffic yet) */
	if (budget > ft->capacity)
		budget = ft->capacity;
	for (uint32_t i = 0; i < budget; i++) {
		uint32_t pos = ft->cursor;
		struct ef_edge_flow *f = &ft->v[pos];
		uint32_t to;
		void *key;

		ft->cursor = pos + 1 == ft->capacity ? 0 : pos + 1;
		if (!(f->flags & F_IN_USE))
			continue;
		to = (f->flags & EF_EDGE_FLOW_F_CLOSING) ? ft->fin_timeout_ms :
			ft->timeout_ms;
		if ((int32_t)(now_ms - f->last_ms) < (int32_t)to)
			continue;
		if (rte_hash_get_key_with_position(ft->h, (int32_t)pos,
						   &key) != 0)
			continue;	/* cannot happen: IN_USE tracks it */
		if (cb != NULL)
			cb(arg, key, f);
		rte_hash_del_key(ft->h, key);
		release(ft, f);
		ft->st.expired++;
		deleted++;
	}
	return deleted;
}

const struct ef_edge_flows_stats *
ef_edge_flows_stats(const struct ef_edge_flows *ft)
{
	return &ft->st;
}

uint32_t
ef_edge_flows_capacity(const struct ef_edge_flows *ft)
{
	return ft->capacity;
}

struct ef_edge_node_ctr *
ef_edge_flows_ctr(struct ef_edge_flows *ft)
{
	return ft->ctr;
}

void
ef_edge_flows_ctr_read(const struct ef_edge_flows *ft, uint32_t slot,
		       uint64_t *packets, int64_t *flows)
{
	if (ft == NULL || slot >= EF_EDGE_CTR_SLOTS)
		return;
	*packets += __atomic_load_n(&ft->ctr[slot].packets, __ATOMIC_RELAXED);
	*flows += __atomic_load_n(&ft->ctr[slot].flows, __ATOMIC_RELAXED);
}

static inline void
note_flags(struct ef_edge_flow *f, uint8_t tcp_flags, uint32_t now_ms)
{
	if (tcp_flags & (RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG))
		f->flags |= EF_EDGE_FLOW_F_CLOSING;
	f->last_ms = now_ms;
}

int
ef_edge_steer(struct ef_edge_flows *ft, const struct ef_edge_lb *lb,
	      const void *k, uint32_t hash,
	      struct ef_edge_flow *f, uint8_t tcp_flags, uint32_t svc,
	      uint32_t now_ms, uint32_t *node_idx)
{
	uint32_t pick;
	int err;

	if (f != NULL) {
		uint32_t idx = f->node_idx;
		/* tcp_flags is 0 for anything but TCP */
		bool reopen = (f->flags & EF_EDGE_FLOW_F_CLOSING) &&
			(tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) ==
			RTE_TCP_SYN_FLAG;

		if (f->lb_gen != lb->gen || idx >= lb->n_nodes ||
		    lb->nodes[idx].addr != f->node_addr) {
			idx = ef_edge_lb_find(lb, f->node_addr);
			if (idx != EF_EDGE_NO_NODE) {
				f->node_idx = (uint16_t)idx;
				f->lb_gen = lb->gen;
			}
		}
		if (!reopen && idx != EF_EDGE_NO_NODE && lb->nodes[idx].healthy) {
			note_flags(f, tcp_flags, now_ms);
			*node_idx = idx;
			return EF_EDGE_STEER_HIT;
		}
		pick = ef_edge_lb_pick(lb, hash);
		if (pick == EF_EDGE_NO_NODE)
			return EF_EDGE_STEER_NO_NODE;
		flow_count(ft, f, -1);
		f->node_addr = lb->nodes[pick].addr;
		f->node_idx = (uint16_t)pick;
		f->lb_gen = lb->gen;
		f->svc = svc;
		f->slot = lb->nodes[pick].slot;
		flow_count(ft, f, 1);
		if (reopen)
			f->flags &= (uint8_t)~EF_EDGE_FLOW_F_CLOSING;
		else
			ft->st.repicked++;
		note_flags(f, tcp_flags, now_ms);
		*node_idx = pick;
		return reopen ? EF_EDGE_STEER_NEW : EF_EDGE_STEER_REPICK;
	}
	pick = ef_edge_lb_pick(lb, hash);
	if (pick == EF_EDGE_NO_NODE)
		return EF_EDGE_STEER_NO_NODE;
	*node_idx = pick;
	f = insert_new(ft, k, lb, pick, svc, now_ms, &err);
	if (f == NULL)
		return EF_EDGE_STEER_FULL;
	note_flags(f, tcp_flags, now_ms);
	return EF_EDGE_STEER_NEW;
}
