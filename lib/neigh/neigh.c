/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "ef_addr.h"
#include "ef_neigh.h"

#include "neigh_priv.h"

EF_LOG_REGISTER(neigh);

/* The value published to readers (see ef_neigh.h). */
#define NEIGH_VAL_VALID		(1ULL << 63)
#define NEIGH_VAL_STATIC	(1ULL << 62)
#define NEIGH_VAL_MAC_MASK	((1ULL << 48) - 1)

/* Meta state of a key kept without RCU after expiry: no entry. */
#define NEIGH_ST_NONE		0xff

#define NEIGH_CACHE_SLOTS	64

_Static_assert(sizeof(void *) == 8, "neighbour values need 64-bit data");

/*
 * Hash key, also the miss-ring message: family, interface and address
 * (an IPv4 one in the first 4 bytes of addr, the rest zero). Every byte
 * is set (memset), so keys compare and hash as memory.
 */
struct neigh_key {
	/* 8-byte aligned: rte_hash_crc() reads the key in 64-bit words,
	 * also from arrays of keys (the ring drain) */
	_Alignas(8) uint16_t iface;
	uint8_t family;		/* EF_AF_INET4 / EF_AF_INET6 */
	uint8_t pad;
	uint8_t addr[16];
	uint8_t pad2[4];	/* zero: explicit, so no padding is hashed */
};

_Static_assert(sizeof(struct neigh_key) == 24,
	       "ring elements: a 4-byte multiple, no implicit padding");

/* Control-side state of one key, indexed by its rte_hash position. */
struct neigh_meta {
	struct neigh_key key;
	uint8_t in_use;		/* key present in the hash */
	uint8_t state;		/* enum ef_neigh_state or NEIGH_ST_NONE */
	uint8_t tries;		/* requests in the current round */
	uint64_t mac;		/* 48-bit MAC as in the published value */
	uint64_t confirmed_ms;	/* learnt / set / created */
	uint64_t last_req_ms;
	uint64_t since_ms;	/* entered the current state */
};

struct neigh_cache_slot {
	struct neigh_key key;
	uint32_t used;
	uint64_t tsc;
};

/* One per worker, on its own cache lines: only that worker writes it. */
struct neigh_worker {
	struct rte_ring *ring;
	uint64_t queued;
	uint64_t suppressed;
	uint64_t dropped;
	struct neigh_cache_slot cache[NEIGH_CACHE_SLOTS];
} __rte_cache_aligned;

struct ef_neigh {
	struct rte_hash *h;
	struct neigh_meta *meta;
	uint32_t n_meta;
	uint32_t n_workers;
	uint32_t scan_pos;
	uint32_t live;
	bool rcu;
	uint64_t now_ms;
	uint64_t hold_tsc;
	uint64_t sent;
	uint64_t table_full;
	uint64_t expired;
	ef_neigh_send6_fn send6;	/* NULL: IPv6 requests only counted */
	void *send6_arg;
	struct neigh_worker *w;
};

/* Hash, ring and defer-queue names are global to the process. */
static uint32_t neigh_seq;

static uint64_t
mac_pack(const uint8_t mac[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = (v << 8) | mac[i];
	return v;
}

static void
mac_unpack(uint64_t v, uint8_t mac[6])
{
	for (int i = 5; i >= 0; i--) {
		mac[i] = (uint8_t)v;
		v >>= 8;
	}
}

static struct neigh_key
key4(uint16_t iface, uint32_t ip)
{
	struct neigh_key k;

	memset(&k, 0, sizeof(k));
	k.iface = iface;
	k.family = EF_AF_INET4;
	memcpy(k.addr, &ip, 4);
	return k;
}

static struct neigh_key
key6(uint16_t iface, const uint8_t ip6[16])
{
	struct neigh_key k;

	memset(&k, 0, sizeof(k));
	k.iface = iface;
	k.family = EF_AF_INET6;
	memcpy(k.addr, ip6, 16);
	return k;
}

static uint32_t
key_ip4(const struct neigh_key *k)
{
	uint32_t ip;

	memcpy(&ip, k->addr, 4);
	return ip;
}

struct ef_neigh *
ef_neigh_create(uint32_t max_entries, uint32_t n_workers, int socket_id)
{
	struct rte_hash_parameters hp = { 0 };
	struct ef_neigh *n;
	char name[RTE_HASH_NAMESIZE];
	uint32_t seq = __atomic_fetch_add(&neigh_seq, 1, __ATOMIC_RELAXED);
	int err = ENOMEM;
	int32_t max_id;

	if (max_entries == 0 || n_workers == 0 ||
	    max_entries > RTE_HASH_ENTRIES_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	n = rte_zmalloc_socket("ef_neigh", sizeof(*n), 0, socket_id);
	if (n == NULL)
		goto fail;
	n->n_workers = n_workers;
	n->hold_tsc = rte_get_tsc_hz() / 1000 * EF_NEIGH_MISS_HOLD_MS;

	snprintf(name, sizeof(name), "ef_neigh_%u", seq);
	hp.name = name;
	hp.entries = RTE_MAX(max_entries, 8u);	/* rte_hash minimum */
	hp.key_len = sizeof(struct neigh_key);
	hp.hash_func = rte_hash_crc;
	hp.socket_id = socket_id;
	/* EXT_TABLE: max_entries keys always fit, whatever the collisions */
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	n->h = rte_hash_create(&hp);
	if (n->h == NULL) {
		err = rte_errno;
		goto fail;
	}
	max_id = rte_hash_max_key_id(n->h);
	if (max_id <= 0) {
		err = EINVAL;
		goto fail;
	}
	n->n_meta = (uint32_t)max_id;
	n->meta = rte_zmalloc_socket("ef_neigh_meta",
				     sizeof(n->meta[0]) * n->n_meta, 0,
				     socket_id);
	n->w = rte_zmalloc_socket("ef_neigh_workers",
				  sizeof(n->w[0]) * n_workers,
				  RTE_CACHE_LINE_SIZE, socket_id);
	if (n->meta == NULL || n->w == NULL)
		goto fail;
	for (uint32_t i = 0; i < n_workers; i++) {
		char rname[RTE_RING_NAMESIZE];

		snprintf(rname, sizeof(rname), "efn%u_w%u", seq, i);
		n->w[i].ring = rte_ring_create_elem(rname,
				sizeof(struct neigh_key), EF_NEIGH_RING_SIZE,
				socket_id, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (n->w[i].ring == NULL) {
			err = rte_errno;
			goto fail;
		}
	}
	return n;

fail:
	ef_neigh_free(n);
	rte_errno = err;
	return NULL;
}

void
ef_neigh_free(struct ef_neigh *n)
{
	if (n == NULL)
		return;
	if (n->w != NULL)
		for (uint32_t i = 0; i < n->n_workers; i++)
			rte_ring_free(n->w[i].ring);
	rte_free(n->w);
	rte_free(n->meta);
	rte_hash_free(n->h);
	rte_free(n);
}

int
ef_neigh_rcu_attach(struct ef_neigh *n, struct rte_rcu_qsbr *v)
{
	struct rte_hash_rcu_config rc = { 0 };

	if (n == NULL || v == NULL)
		return -EINVAL;
	if (n->rcu)
		return -EEXIST;
	rc.v = v;
	rc.mode = RTE_HASH_QSBR_MODE_DQ;
	/* rte_hash_rcu_qsbr_add returns 1 (not -errno) on failure */
	if (rte_hash_rcu_qsbr_add(n->h, &rc) != 0)
		return rte_errno == EINVAL ? -EINVAL : -ENOMEM;
	n->rcu = true;
	return 0;
}

static int
lookup_key(const struct ef_neigh *n, const struct neigh_key *k,
	   uint8_t mac[6])
{
	void *data;
	uint64_t v;

	if (rte_hash_lookup_data(n->h, k, &data) < 0)
		return -ENOENT;
	v = (uint64_t)(uintptr_t)data;
	if (!(v & NEIGH_VAL_VALID))
		return -ENOENT;
	mac_unpack(v & NEIGH_VAL_MAC_MASK, mac);
	return 0;
}

int
ef_neigh_lookup4(const struct ef_neigh *n, uint16_t iface, uint32_t ip,
		 uint8_t mac[6])
{
	struct neigh_key k = key4(iface, ip);

	return lookup_key(n, &k, mac);
}

int
ef_neigh_lookup6(const struct ef_neigh *n, uint16_t iface,
		 const uint8_t ip6[16], uint8_t mac[6])
{
	struct neigh_key k = key6(iface, ip6);

	return lookup_key(n, &k, mac);
}

static void
miss_key(struct ef_neigh *n, uint32_t worker, const struct neigh_key *kp,
	 uint32_t h)
{
	struct neigh_key k = *kp;
	struct neigh_worker *w;
	struct neigh_cache_slot *c;
	uint64_t now;

	if (unlikely(worker >= n->n_workers))
		return;
	w = &n->w[worker];
	/* Fibonacci hashing onto the 64 slots */
	c = &w->cache[((h ^ ((uint32_t)k.iface << 16)) * 0x9e3779b1u) >> 26];
	now = rte_rdtsc();
	if (c->used && memcmp(&c->key, &k, sizeof(k)) == 0 &&
	    now - c->tsc < n->hold_tsc) {
		__atomic_store_n(&w->suppressed, w->suppressed + 1,
				 __ATOMIC_RELAXED);
		return;
	}
	c->key = k;
	c->used = 1;
	c->tsc = now;
	if (rte_ring_sp_enqueue_elem(w->ring, &k, sizeof(k)) != 0)
		__atomic_store_n(&w->dropped, w->dropped + 1,
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&w->queued, w->queued + 1, __ATOMIC_RELAXED);
}

void
ef_neigh_miss4(struct ef_neigh *n, uint32_t worker, uint16_t iface,
	       uint32_t ip)
{
	struct neigh_key k = key4(iface, ip);

	miss_key(n, worker, &k, ip);
}

void
ef_neigh_miss6(struct ef_neigh *n, uint32_t worker, uint16_t iface,
	       const uint8_t ip6[16])
{
	struct neigh_key k = key6(iface, ip6);
	uint32_t a, b;

	memcpy(&a, ip6 + 8, 4);
	memcpy(&b, ip6 + 12, 4);
	miss_key(n, worker, &k, a ^ b);
}

/* Position of a key present in the hash, or -1. */
static int32_t
find_pos(const struct ef_neigh *n, const struct neigh_key *k)
{
	int32_t pos = rte_hash_lookup(n->h, k);

	return pos >= 0 && (uint32_t)pos < n->n_meta ? pos : -1;
}

/*
 * Position of (iface, ip), adding the key (data: MAC invalid) if needed.
 * Returns the position or -ENOSPC.
 */
static int32_t
get_pos(struct ef_neigh *n, const struct neigh_key *k)
{
	int32_t pos = find_pos(n, k);
	struct neigh_meta *m;

	if (pos < 0) {
		/* rte_hash_add_key stores data 0: "MAC invalid" */
		pos = rte_hash_add_key(n->h, k);
		if (pos < 0 || (uint32_t)pos >= n->n_meta) {
			if (n->table_full++ == 0)
				EF_NEIGH_LOG(WARNING, "table full (%u slots): "
					     "new neighbours are not resolved",
					     n->n_meta);
			return -ENOSPC;
		}
		m = &n->meta[pos];
		memset(m, 0, sizeof(*m));
		m->in_use = 1;
		m->state = NEIGH_ST_NONE;
		m->key = *k;
	}
	m = &n->meta[pos];
	if (m->state == NEIGH_ST_NONE) {
		n->live++;
		m->confirmed_ms = n->now_ms;
		m->since_ms = n->now_ms;
		m->tries = 0;
	}
	return pos;
}

/* Make the reader-visible value match meta[pos]. */
static void
publish(struct ef_neigh *n, int32_t pos)
{
	const struct neigh_meta *m = &n->meta[pos];
	struct neigh_key k = m->key;
	uint64_t v = 0;

	if (m->state == EF_NEIGH_REACHABLE)
		v = NEIGH_VAL_VALID | m->mac;
	else if (m->state == EF_NEIGH_STATIC)
		v = NEIGH_VAL_VALID | NEIGH_VAL_STATIC | m->mac;
	/* an existing key: rte_hash only swaps the data, atomically */
	rte_hash_add_key_data(n->h, &k, (void *)(uintptr_t)v);
}

static void
remove_pos(struct ef_neigh *n, int32_t pos)
{
	struct neigh_meta *m = &n->meta[pos];
	struct neigh_key k = m->key;

	if (m->state != NEIGH_ST_NONE)
		n->live--;
	if (n->rcu) {
		/* the slot returns to rte_hash after a grace period */
		rte_hash_del_key(n->h, &k);
		memset(m, 0, sizeof(*m));
		return;
	}
	m->state = NEIGH_ST_NONE;
	publish(n, pos);
}

static int
set_static_key(struct ef_neigh *n, const struct neigh_key *k,
	       const uint8_t mac[6])
{
	int32_t pos;

	if (n == NULL || mac == NULL)
		return -EINVAL;
	pos = get_pos(n, k);
	if (pos < 0)
		return pos;
	n->meta[pos].state = EF_NEIGH_STATIC;
	n->meta[pos].mac = mac_pack(mac);
	n->meta[pos].confirmed_ms = n->now_ms;
	n->meta[pos].since_ms = n->now_ms;
	n->meta[pos].tries = 0;
	publish(n, pos);
	return 0;
}

/* create: false only updates an entry that exists (RFC 4861 7.2.5). */
static int
learn_key(struct ef_neigh *n, const struct neigh_key *k,
	  const uint8_t mac[6], bool create)
{
	int32_t pos;
	struct neigh_meta *m;
	uint64_t v;
	bool same;

	if (n == NULL || mac == NULL)
		return -EINVAL;
	pos = find_pos(n, k);
	if (pos >= 0 && n->meta[pos].state == EF_NEIGH_STATIC)
		return -EEXIST;
	if (!create && (pos < 0 || n->meta[pos].state == NEIGH_ST_NONE))
		return -ENOENT;
	pos = get_pos(n, k);
	if (pos < 0)
		return pos;
	m = &n->meta[pos];
	v = mac_pack(mac);
	/* a confirmation with the same MAC needs no store readers see */
	same = m->state == EF_NEIGH_REACHABLE && m->mac == v;
	if (m->state != EF_NEIGH_REACHABLE)
		m->since_ms = n->now_ms;
	m->state = EF_NEIGH_REACHABLE;
	m->mac = v;
	m->confirmed_ms = n->now_ms;
	m->tries = 0;
	if (!same)
		publish(n, pos);
	return 0;
}

static int
del_key(struct ef_neigh *n, const struct neigh_key *k)
{
	int32_t pos = find_pos(n, k);

	if (pos < 0 || n->meta[pos].state == NEIGH_ST_NONE)
		return -ENOENT;
	remove_pos(n, pos);
	return 0;
}

int
ef_neigh_set_static4(struct ef_neigh *n, uint16_t iface, uint32_t ip,
		     const uint8_t mac[6])
{
	struct neigh_key k = key4(iface, ip);

	return set_static_key(n, &k, mac);
}

int
ef_neigh_learn4(struct ef_neigh *n, uint16_t iface, uint32_t ip,
		const uint8_t mac[6])
{
	struct neigh_key k = key4(iface, ip);

	return learn_key(n, &k, mac, true);
}

int
ef_neigh_del4(struct ef_neigh *n, uint16_t iface, uint32_t ip)
{
	struct neigh_key k = key4(iface, ip);

	return del_key(n, &k);
}

int
ef_neigh_set_static6(struct ef_neigh *n, uint16_t iface,
		     const uint8_t ip6[16], const uint8_t mac[6])
{
	struct neigh_key k = key6(iface, ip6);

	return set_static_key(n, &k, mac);
}

int
ef_neigh_learn6(struct ef_neigh *n, uint16_t iface, const uint8_t ip6[16],
		const uint8_t mac[6])
{
	struct neigh_key k = key6(iface, ip6);

	return learn_key(n, &k, mac, true);
}

int
ef_neigh_update6(struct ef_neigh *n, uint16_t iface, const uint8_t ip6[16],
		 const uint8_t mac[6])
{
	struct neigh_key k = key6(iface, ip6);

	return learn_key(n, &k, mac, false);
}

int
ef_neigh_del6(struct ef_neigh *n, uint16_t iface, const uint8_t ip6[16])
{
	struct neigh_key k = key6(iface, ip6);

	return del_key(n, &k);
}

void
ef_neigh_set_send6(struct ef_neigh *n, ef_neigh_send6_fn send6, void *arg)
{
	n->send6 = send6;
	n->send6_arg = arg;
}

static void
send_req(struct ef_neigh *n, struct neigh_meta *m, ef_neigh_send_fn send,
	 void *arg, uint32_t *sent)
{
	m->tries++;
	m->last_req_ms = n->now_ms;
	if (m->key.family == EF_AF_INET4)
		send(arg, m->key.iface, key_ip4(&m->key));
	else if (n->send6 != NULL)
		n->send6(n->send6_arg, m->key.iface, m->key.addr);
	n->sent++;
	(*sent)++;
}

static void
start_resolve(struct ef_neigh *n, int32_t pos, ef_neigh_send_fn send,
	      void *arg, uint32_t *sent)
{
	struct neigh_meta *m = &n->meta[pos];

	m->state = EF_NEIGH_INCOMPLETE;
	m->since_ms = n->now_ms;
	m->confirmed_ms = n->now_ms;
	m->mac = 0;
	m->tries = 0;
	publish(n, pos);
	send_req(n, m, send, arg, sent);
}

static void
handle_miss(struct ef_neigh *n, const struct neigh_key *k,
	    ef_neigh_send_fn send, void *arg, uint32_t *sent)
{
	/* k was filled by the ring dequeue the analyzer cannot follow */
	int32_t pos = find_pos(n, k); /* NOLINT(clang-analyzer-core.CallAndMessage) */
	struct neigh_meta *m;

	if (pos >= 0) {
		m = &n->meta[pos];
		/*
		 * Resolving, failed recently, or resolved since the worker
		 * asked (its message was in flight): nothing to do.
		 */
		if (m->state != NEIGH_ST_NONE &&
		    !(m->state == EF_NEIGH_FAILED &&
		      n->now_ms - m->since_ms >= EF_NEIGH_FAILED_MS))
			return;
	}
	pos = get_pos(n, k);
	if (pos < 0)
		return;
	start_resolve(n, pos, send, arg, sent);
}

/* Timers of one slot. */
static void
tick(struct ef_neigh *n, int32_t pos, ef_neigh_send_fn send, void *arg,
     uint32_t *sent)
{
	struct neigh_meta *m = &n->meta[pos];
	uint64_t now = n->now_ms;

	switch (m->state) {
	case EF_NEIGH_INCOMPLETE:
		if (now - m->last_req_ms < EF_NEIGH_RETRY_MS)
			return;
		if (m->tries < EF_NEIGH_TRIES) {
			send_req(n, m, send, arg, sent);
			return;
		}
		m->state = EF_NEIGH_FAILED;
		m->since_ms = now;
		return;
	case EF_NEIGH_FAILED:
		if (now - m->since_ms >= EF_NEIGH_FAILED_MS)
			remove_pos(n, pos);
		return;
	case EF_NEIGH_REACHABLE:
		if (now - m->confirmed_ms >= EF_NEIGH_EXPIRE_MS) {
			n->expired++;
			remove_pos(n, pos);
			return;
		}
		if (now - m->confirmed_ms < EF_NEIGH_REFRESH_MS)
			return;
		/* a new round of re-ARP every EF_NEIGH_REFRESH_MS */
		if (m->tries >= EF_NEIGH_TRIES &&
		    now - m->last_req_ms >= EF_NEIGH_REFRESH_MS)
			m->tries = 0;
		if (m->tries == 0 ||
		    (m->tries < EF_NEIGH_TRIES &&
		     now - m->last_req_ms >= EF_NEIGH_RETRY_MS))
			send_req(n, m, send, arg, sent);
		return;
	default:
		return;
	}
}

uint32_t
ef_neigh_poll(struct ef_neigh *n, uint64_t now_ms, ef_neigh_send_fn send,
	      void *arg)
{
	struct neigh_key msgs[EF_NEIGH_POLL_MISSES];
	uint32_t sent = 0;
	uint32_t scan;

	if (now_ms > n->now_ms)
		n->now_ms = now_ms;
	for (uint32_t i = 0; i < n->n_workers; i++) {
		unsigned int k = rte_ring_sc_dequeue_burst_elem(n->w[i].ring,
				msgs, sizeof(msgs[0]), EF_NEIGH_POLL_MISSES,
				NULL);

		for (unsigned int j = 0; j < k; j++)
			handle_miss(n, &msgs[j], send, arg, &sent);
	}
	scan = RTE_MIN(n->n_meta, (uint32_t)EF_NEIGH_POLL_SCAN);
	for (uint32_t i = 0; i < scan; i++) {
		uint32_t pos = n->scan_pos;

		n->scan_pos = pos + 1 == n->n_meta ? 0 : pos + 1;
		if (n->meta[pos].in_use)
			tick(n, (int32_t)pos, send, arg, &sent);
	}
	return sent;
}

void
ef_neigh_flush_dynamic(struct ef_neigh *n)
{
	for (uint32_t pos = 0; pos < n->n_meta; pos++) {
		struct neigh_meta *m = &n->meta[pos];

		if (m->in_use && m->state != NEIGH_ST_NONE &&
		    m->state != EF_NEIGH_STATIC)
			remove_pos(n, (int32_t)pos);
	}
}

static int
dump_family(const struct ef_neigh *n, uint8_t family, ef_neigh_dump_fn cb,
	    void *arg)
{
	int count = 0;

	for (uint32_t pos = 0; pos < n->n_meta; pos++) {
		const struct neigh_meta *m = &n->meta[pos];
		struct ef_neigh_entry e;

		if (!m->in_use || m->state == NEIGH_ST_NONE ||
		    m->key.family != family)
			continue;
		memset(&e, 0, sizeof(e));
		e.iface = m->key.iface;
		e.family = family;
		if (family == EF_AF_INET4)
			e.ip = key_ip4(&m->key);
		else
			memcpy(e.ip6, m->key.addr, 16);
		e.state = (enum ef_neigh_state)m->state;
		e.is_static = m->state == EF_NEIGH_STATIC;
		if (m->state == EF_NEIGH_REACHABLE ||
		    m->state == EF_NEIGH_STATIC)
			mac_unpack(m->mac, e.mac);
		e.age_ms = n->now_ms - m->confirmed_ms;
		count++;
		if (cb(arg, &e) != 0)
			break;
	}
	return count;
}

int
ef_neigh_dump(const struct ef_neigh *n, ef_neigh_dump_fn cb, void *arg)
{
	return dump_family(n, EF_AF_INET4, cb, arg);
}

int
ef_neigh_dump6(const struct ef_neigh *n, ef_neigh_dump_fn cb, void *arg)
{
	return dump_family(n, EF_AF_INET6, cb, arg);
}

void
ef_neigh_stats_get(const struct ef_neigh *n, struct ef_neigh_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->entries = n->live;
	s->requests_sent = n->sent;
	s->table_full = n->table_full;
	s->expired = n->expired;
	for (uint32_t i = 0; i < n->n_workers; i++) {
		const struct neigh_worker *w = &n->w[i];

		s->misses_queued += __atomic_load_n(&w->queued,
						    __ATOMIC_RELAXED);
		s->misses_suppressed += __atomic_load_n(&w->suppressed,
							__ATOMIC_RELAXED);
		s->misses_dropped += __atomic_load_n(&w->dropped,
						     __ATOMIC_RELAXED);
	}
}
