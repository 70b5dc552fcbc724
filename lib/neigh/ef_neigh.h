/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_NEIGH_H
#define EF_NEIGH_H

/*
 * IPv4 neighbour (ARP) table: read by every worker without locks, written
 * by the control lcore alone.
 *
 * Storage: an rte_hash with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF, key
 * (iface, 0, ipv4) of 8 bytes, and as data not a pointer but a 64-bit value
 * that carries the answer itself:
 *   bits  0..47  MAC address, mac[0] in bits 40..47 ... mac[5] in bits 0..7
 *   bit   62     static entry
 *   bit   63     MAC valid (0 while resolving or after a failure)
 * rte_hash stores and loads that value with one atomic access, so a reader
 * sees either the old or the new MAC, never a mix, and there is nothing to
 * free when an entry changes. (Needs 64-bit pointers, as DPDK on x86_64 and
 * arm64.)
 *
 * Misses: a worker that finds no MAC calls ef_neigh_miss4(); the request
 * travels on that worker's own single-producer/single-consumer ring to the
 * control lcore, which sends the ARP requests from ef_neigh_poll(). A small
 * per-worker cache keeps a flood of packets to one unresolved host down to
 * about one ring message per 100 ms.
 *
 * Time: the control side works in milliseconds given by the caller of
 * ef_neigh_poll() (now_ms); learn and set use the now_ms of the last poll.
 *
 * Deletion: an expired or failed entry is deleted from the hash only when an
 * RCU QSBR variable is attached (ef_neigh_rcu_attach), because with lock-free
 * readers a key slot may be reused only after every worker has passed a
 * quiescent state (rte_hash_rcu_qsbr_add does this). Without one, the key
 * stays with "MAC invalid" and is reused when that address comes back, so
 * max_entries bounds the distinct neighbours ever seen.
 */

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ef_neigh;
struct rte_rcu_qsbr;

/* Resolution timing (milliseconds) and tries, from the ARP RFC habits. */
#define EF_NEIGH_RETRY_MS	1000	/* between requests for one address */
#define EF_NEIGH_TRIES		3	/* requests before failing */
#define EF_NEIGH_FAILED_MS	5000	/* misses ignored after a failure */
#define EF_NEIGH_REFRESH_MS	60000	/* re-ARP a dynamic entry this old */
#define EF_NEIGH_EXPIRE_MS	300000	/* drop a dynamic entry not confirmed */
#define EF_NEIGH_MISS_HOLD_MS	100	/* per-worker miss suppression */
/* Work bounds of one ef_neigh_poll() call. */
#define EF_NEIGH_POLL_MISSES	64	/* ring messages per worker */
#define EF_NEIGH_POLL_SCAN	1024	/* table slots visited for timers */
/* Per-worker miss ring size (messages). */
#define EF_NEIGH_RING_SIZE	256

enum ef_neigh_state {
	EF_NEIGH_INCOMPLETE,	/* requests sent, no answer yet */
	EF_NEIGH_REACHABLE,	/* dynamic, MAC valid */
	EF_NEIGH_FAILED,	/* no answer to EF_NEIGH_TRIES requests */
	EF_NEIGH_STATIC,	/* configured, never expires */
};

/* One entry as ef_neigh_dump() reports it. */
struct ef_neigh_entry {
	uint16_t iface;
	uint32_t ip;		/* network order */
	uint8_t mac[6];		/* zero unless REACHABLE or STATIC */
	enum ef_neigh_state state;
	bool is_static;
	uint64_t age_ms;	/* since last confirmed (or since set/created) */
	uint8_t family;		/* EF_AF_INET4 (ip) or EF_AF_INET6 (ip6) */
	uint8_t ip6[16];	/* ef_neigh_dump6() entries */
};

struct ef_neigh_stats {
	uint64_t entries;		/* keys in use (any state) */
	uint64_t requests_sent;		/* ARP requests asked of send_fn */
	uint64_t misses_queued;		/* miss messages put on rings */
	uint64_t misses_suppressed;	/* misses absorbed by worker caches */
	uint64_t misses_dropped;	/* ring full */
	uint64_t table_full;		/* learn/miss without a free slot */
	uint64_t expired;		/* dynamic entries expired */
};

/* Asks the control lcore's ARP sender for a request to target_ip (net). */
typedef void (*ef_neigh_send_fn)(void *arg, uint16_t iface,
				 uint32_t target_ip);

/*
 * Asks the control lcore's NDP sender for a Neighbor Solicitation for
 * target (16 bytes) to its solicited-node group (ef_pkt_build_ndp_ns).
 */
typedef void (*ef_neigh_send6_fn)(void *arg, uint16_t iface,
				  const uint8_t target[16]);

/* Called per entry by ef_neigh_dump(); non-zero stops the walk. */
typedef int (*ef_neigh_dump_fn)(void *arg, const struct ef_neigh_entry *e);

/*
 * Create a table of max_entries neighbours and one miss ring per worker
 * (workers are numbered 0..n_workers-1 by the caller).
 * Returns the table, or NULL with rte_errno set (EINVAL: max_entries or
 * n_workers is 0; ENOMEM). Control thread, after EAL init.
 */
struct ef_neigh *ef_neigh_create(uint32_t max_entries, uint32_t n_workers,
				 int socket_id);

/* Free (NULL is fine). Control thread, after the workers stopped. */
void ef_neigh_free(struct ef_neigh *n);

/*
 * Let expiry delete keys: attach the RCU QSBR variable every worker reports
 * its quiescent state to (the generation's), through
 * rte_hash_rcu_qsbr_add() in defer-queue mode. Returns 0, -EINVAL, -EEXIST
 * (already attached) or -ENOMEM. Control thread, before workers start.
 */
int ef_neigh_rcu_attach(struct ef_neigh *n, struct rte_rcu_qsbr *v);

/*
 * MAC of (iface, ip) (ip in network order) into mac. Returns 0, or -ENOENT
 * when unknown, still resolving, or failed. Any thread, lock-free.
 */
int ef_neigh_lookup4(const struct ef_neigh *n, uint16_t iface, uint32_t ip,
		     uint8_t mac[6]);

/*
 * Ask the control lcore to resolve (iface, ip). Cheap enough to call per
 * packet: repeated calls within EF_NEIGH_MISS_HOLD_MS (TSC time) for the
 * same address are absorbed by a 64-slot per-worker cache; a full ring
 * drops the message and counts it. No effect for worker >= n_workers.
 * Worker 'worker' only (its ring is single-producer).
 */
void ef_neigh_miss4(struct ef_neigh *n, uint32_t worker, uint16_t iface,
		    uint32_t ip);

/*
 * Install a static entry (replaces any entry for the address; never
 * expires, not flushed). Returns 0, -ENOSPC (table full) or -EINVAL.
 * Control thread.
 */
int ef_neigh_set_static4(struct ef_neigh *n, uint16_t iface, uint32_t ip,
			 const uint8_t mac[6]);

/*
 * Record a MAC seen in an ARP reply or request: creates or confirms a
 * dynamic entry (age restarts). Returns 0, -EEXIST when a static entry holds
 * the address (left unchanged), -ENOSPC (table full) or -EINVAL.
 * Control thread.
 */
int ef_neigh_learn4(struct ef_neigh *n, uint16_t iface, uint32_t ip,
		    const uint8_t mac[6]);

/*
 * Remove the entry of (iface, ip), static or not (config reload). Returns 0
 * or -ENOENT. Control thread.
 */
int ef_neigh_del4(struct ef_neigh *n, uint16_t iface, uint32_t ip);

/*
 * Control work, bounded per call: drain at most EF_NEIGH_POLL_MISSES miss
 * messages per worker (a new address: one request at once; an address being
 * resolved or failed within EF_NEIGH_FAILED_MS: nothing), then visit at most
 * EF_NEIGH_POLL_SCAN slots for timers:
 *  - resolving: a request every EF_NEIGH_RETRY_MS, EF_NEIGH_TRIES in all,
 *    then FAILED for EF_NEIGH_FAILED_MS, after which the entry goes and a
 *    new miss starts again;
 *  - dynamic older than EF_NEIGH_REFRESH_MS: re-ARP (EF_NEIGH_TRIES
 *    requests EF_NEIGH_RETRY_MS apart, a new round every
 *    EF_NEIGH_REFRESH_MS), MAC still used meanwhile;
 *  - dynamic not confirmed for EF_NEIGH_EXPIRE_MS: removed.
 * Requests go out through send(arg, iface, ip). now_ms must not go back.
 * Returns the number of requests sent. Control thread.
 */
uint32_t ef_neigh_poll(struct ef_neigh *n, uint64_t now_ms,
		       ef_neigh_send_fn send, void *arg);

/* Remove every non-static entry. Control thread. */
void ef_neigh_flush_dynamic(struct ef_neigh *n);

/*
 * Call cb for each entry (any state). Returns the number of entries
 * reported. Control thread only: it reads control-side state without locks,
 * so a DPDK telemetry callback (which runs on the telemetry thread) must
 * not call it while the control lcore may write the table.
 */
int ef_neigh_dump(const struct ef_neigh *n, ef_neigh_dump_fn cb, void *arg);

/*
 * IPv6 neighbours (issue 12), in the same table and with the same design:
 * the key holds family, interface and address, the value the MAC, so a
 * worker's lookup6 is one lock-free rte_hash read; misses travel on the
 * same rings; the same timers resolve, refresh and expire them, the
 * requests being NSs sent through the send6 callback. Each call behaves
 * as its IPv4 twin above, with the same thread rules.
 */
int ef_neigh_lookup6(const struct ef_neigh *n, uint16_t iface,
		     const uint8_t ip6[16], uint8_t mac[6]);
void ef_neigh_miss6(struct ef_neigh *n, uint32_t worker, uint16_t iface,
		    const uint8_t ip6[16]);
int ef_neigh_set_static6(struct ef_neigh *n, uint16_t iface,
			 const uint8_t ip6[16], const uint8_t mac[6]);
/*
 * learn6: from a solicited NA's target link-layer option, or the source
 * link-layer option of an NS (RFC 4861 7.2.3): creates or confirms.
 */
int ef_neigh_learn6(struct ef_neigh *n, uint16_t iface, const uint8_t ip6[16],
		    const uint8_t mac[6]);
/*
 * update6: an unsolicited NA (RFC 4861 7.2.5) updates an entry that exists
 * and creates none: 0, -ENOENT, -EEXIST (static). Control thread.
 */
int ef_neigh_update6(struct ef_neigh *n, uint16_t iface,
		     const uint8_t ip6[16], const uint8_t mac[6]);
int ef_neigh_del6(struct ef_neigh *n, uint16_t iface, const uint8_t ip6[16]);
/*
 * Where ef_neigh_poll() sends the NSs of IPv6 entries (without one they
 * are counted in requests_sent and not sent). Control thread, before poll.
 */
void ef_neigh_set_send6(struct ef_neigh *n, ef_neigh_send6_fn send6,
			void *arg);
/* ef_neigh_dump() reports IPv4 entries only; this the IPv6 ones. */
int ef_neigh_dump6(const struct ef_neigh *n, ef_neigh_dump_fn cb, void *arg);

/* Counters (workers' and control's, summed). Control thread. */
void ef_neigh_stats_get(const struct ef_neigh *n, struct ef_neigh_stats *s);

#ifdef __cplusplus
}
#endif

#endif /* EF_NEIGH_H */
