/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_NAT_H
#define EF_NAT_H

/*
 * SNAT address/port slices per worker and the DNAT/SNAT rewrites of a flow.
 *
 * Port space: worker w owns the contiguous slice
 *   [port_min + w * S, port_min + (w + 1) * S - 1],
 *   S = (port_max - port_min + 1) / n_workers,
 * on every SNAT address. The remainder ((port_max - port_min + 1) %
 * n_workers ports at the top) is unused, so that the owner of a reply to a
 * SNAT address is pure arithmetic on its destination port. Slices are
 * disjoint, so two workers can never pick the same SNAT tuple. For ICMP
 * echo the "port" is the echo id, with the same slices.
 *
 * IPv4 only, like ct; at most EF_NAT_MAX_ADDRS SNAT addresses.
 *
 * RSS model (optional, docs/RSS.md): when the ports' Toeplitz key, RETA
 * and hash fields are known (ef_nat_map_set_rss()), a pick accepts, inside
 * the worker's own slice, only a port whose reply tuple hashes to a RX
 * queue the worker serves (queue q is served by worker q), so that the
 * reply needs no handoff. Ownership stays the slice arithmetic above: a
 * wrong model costs handoff, never correctness.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ef_addr.h"
#include "ef_ct.h"
#include "ef_pkt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SNAT addresses per node: a linear scan of this many is cheaper than a
 * hash, and a node has a handful. */
#define EF_NAT_MAX_ADDRS 16
/* Candidate ports probed per pick before giving up (snat_exhausted). */
#define EF_NAT_PROBES 64
/* With an RSS model: candidate ports whose reply queue is computed per
 * pick (a table lookup each, no conntrack lookup) before falling back to
 * the plain pick. 256 misses in a row at 16 queues: (15/16)^256 < 1e-7. */
#define EF_NAT_RSS_PROBES 256
/* Toeplitz keys up to 52 bytes (i40e/ice); the standard key is 40. */
#define EF_NAT_RSS_KEY_MAX 52
/* RETA sizes up to RTE_ETH_RSS_RETA_SIZE_512. */
#define EF_NAT_RSS_RETA_MAX 512

/* What the NIC hashes for a protocol's IPv4 packets. */
enum ef_nat_rss_fields {
	EF_NAT_RSS_NONE,	/* not hashed: every packet on queue 0 */
	EF_NAT_RSS_L3,		/* addresses only: the port cannot steer */
	EF_NAT_RSS_L4,		/* addresses and ports */
};

/*
 * The ports' RSS configuration as read back from the NIC (control thread,
 * main.c). key: as the NIC uses it (rte_eth_rss_conf.rss_key); reta[i]:
 * the RX queue of hash % reta_size; fields by protocol.
 */
struct ef_nat_rss {
	uint8_t key[EF_NAT_RSS_KEY_MAX];
	uint32_t key_len;	/* bytes, a multiple of 4, >= 16 */
	uint16_t reta[EF_NAT_RSS_RETA_MAX];
	uint32_t reta_size;	/* a power of two, <= EF_NAT_RSS_RETA_MAX */
	uint8_t tcp;		/* enum ef_nat_rss_fields */
	uint8_t udp;
	uint8_t icmp;
};

/* The model as the pick uses it (built by ef_nat_map_set_rss()). */
struct ef_nat_rss_model {
	uint8_t key_be[EF_NAT_RSS_KEY_MAX];	/* rte_convert_rss_key() */
	uint32_t key_len;
	uint32_t reta_mask;		/* reta_size - 1 */
	uint8_t fields[3];		/* by EF_NAT_RSS_P_* */
	uint8_t pad;
	/* Toeplitz is linear over XOR: the hash of a reply tuple is the hash
	 * with dport = 0 XOR the hash of dport alone (all else zero), and
	 * the latter is dport_hi[dport >> 8] ^ dport_lo[dport & 0xff]. Both
	 * tables are computed with rte_softrss_be(), so a probe is two loads
	 * and the RETA's. */
	uint32_t dport_hi[256];
	uint32_t dport_lo[256];
	uint16_t reta[EF_NAT_RSS_RETA_MAX];
};

/* Index of a protocol in ef_nat_rss_model.fields. */
enum {
	EF_NAT_RSS_P_TCP,
	EF_NAT_RSS_P_UDP,
	EF_NAT_RSS_P_ICMP,
};

/* Immutable after ef_nat_map_init(); shared read-only by every worker. */
struct ef_nat_map {
	uint32_t addrs[EF_NAT_MAX_ADDRS];	/* network order */
	uint32_t n_addrs;
	uint32_t n_workers;
	uint32_t slice;		/* S, ports per worker */
	uint16_t port_min;	/* host order */
	uint16_t port_max;	/* host order, as configured */
	bool rss_on;		/* rss holds the ports' model */
	struct ef_nat_rss_model rss;
};

/* Per-worker picking state (in the worker's own memory). */
struct ef_nat_worker {
	const struct ef_nat_map *map;
	uint32_t worker;
	uint16_t lo;		/* first port of the slice, host order */
	uint16_t pad;
	uint32_t cursor[EF_NAT_MAX_ADDRS];	/* next offset in the slice */
	uint64_t picks;
	uint64_t exhausted;
	uint64_t rss_picks;	/* picks whose reply lands on our queue */
	uint64_t rss_fallback;	/* picks whose reply will need handoff */
};

/*
 * Build the map from n IPv4 SNAT addresses and the port range. Returns 0,
 * or -EINVAL (n == 0 or > EF_NAT_MAX_ADDRS, a zero or duplicate address,
 * port_min == 0, port_min > port_max, n_workers == 0, fewer ports than
 * workers), -EAFNOSUPPORT (an IPv6 address). Control thread.
 */
int ef_nat_map_init(struct ef_nat_map *m, const struct ef_addr *addrs,
		    uint32_t n, uint16_t port_min, uint16_t port_max,
		    uint32_t n_workers);

/*
 * Give the map the ports' RSS model (NULL: none, the plain pick). Returns
 * 0, or -EINVAL (key_len not a multiple of 4 or outside 16..
 * EF_NAT_RSS_KEY_MAX, reta_size not a power of two or above
 * EF_NAT_RSS_RETA_MAX, a field value out of range). Control thread, before
 * any worker picks (the map is read without synchronisation).
 */
int ef_nat_map_set_rss(struct ef_nat_map *m, const struct ef_nat_rss *r);

/*
 * RX queue the NIC puts a packet src:sport -> dst:dport (network order) of
 * proto on under the map's model; UINT32_MAX without a model. Any thread.
 */
uint32_t ef_nat_rss_queue(const struct ef_nat_map *m, uint32_t src,
			  uint16_t sport, uint32_t dst, uint16_t dport,
			  uint8_t proto);

/* First and last port (host order) of worker w's slice. Any thread. */
void ef_nat_slice(const struct ef_nat_map *m, uint32_t w, uint16_t *lo,
		  uint16_t *hi);

/*
 * Worker owning a SNAT port (host order), or UINT32_MAX when the port is in
 * no slice. Pure arithmetic. Any thread.
 */
static inline uint32_t
ef_nat_port_owner(const struct ef_nat_map *m, uint16_t port_host)
{
	uint32_t off;

	if (port_host < m->port_min)
		return UINT32_MAX;
	off = (uint32_t)(port_host - m->port_min) / m->slice;
	return off < m->n_workers ? off : UINT32_MAX;
}

/* true when addr (network order) is one of the SNAT addresses. Any thread. */
static inline bool
ef_nat_is_snat_addr(const struct ef_nat_map *m, uint32_t addr)
{
	uint32_t i;

	for (i = 0; i < m->n_addrs; i++) {
		if (m->addrs[i] == addr)
			return true;
	}
	return false;
}

/*
 * Initialise worker w's state. seed varies the starting cursor per address
 * (pseudo-random), so restarts do not reuse the same ports first.
 * Returns 0 or -EINVAL (w out of range). Control thread, before the worker
 * runs.
 */
int ef_nat_worker_init(struct ef_nat_worker *w, const struct ef_nat_map *m,
		       uint32_t worker, uint32_t seed);

/*
 * Pick a SNAT address and port for a new flow client:cport ->
 * endpoint:eport (network order). The address is hash(client) % n_addrs
 * (stable per client); ports are tried in the worker's slice from that
 * address's cursor, one by one, and a port is taken when the reply key
 * (endpoint:eport -> snat:port, proto) is not in ct: a port is reused only
 * after the flow holding that tuple is gone. ICMP echo: the port is the
 * echo id, and the probed key has sport = dport = id. Returns 0 with *snat,
 * *sport (network order), or -ENOSPC after EF_NAT_PROBES taken ports (or
 * the whole slice, if smaller): the caller counts snat_exhausted.
 * With an RSS model whose fields for proto include ports, only ports whose
 * reply lands on queue w->worker are taken (up to EF_NAT_RSS_PROBES
 * candidates); when none is free, or the fields do not include ports and
 * the addresses alone hash elsewhere, the plain pick runs and
 * rss_fallback counts a reply that will need handoff. Owning worker.
 */
int ef_nat_snat_pick(struct ef_nat_worker *w, const struct ef_ct *ct,
		     uint32_t client, uint16_t cport, uint32_t endpoint,
		     uint16_t eport, uint8_t proto, uint32_t *snat,
		     uint16_t *sport);

/*
 * The reply key ef_nat_snat_pick() will probe first for this flow once
 * ahead[a] picks from its SNAT address a have come before it (the earlier
 * new flows of a burst; ahead[a] is then counted up): a prefetch hint for
 * the worker's staged new flows (ef_ct_prefetch_key()). false when the
 * pick would not start there (an RSS model with ports, ICMP). Owning
 * worker.
 */
bool ef_nat_snat_first_probe(const struct ef_nat_worker *w, uint32_t client,
			     uint32_t endpoint, uint16_t eport, uint8_t proto,
			     uint16_t ahead[EF_NAT_MAX_ADDRS],
			     struct ef_ct_key4 *k);

/*
 * Rewrite a packet of flow f travelling in direction dir, fixing
 * checksums incrementally (ef_pkt_nat4):
 *   dir 0 (client -> frontend): src -> snat:sport_snat (unchanged without
 *          SNAT), dst -> endpoint:eport;
 *   dir 1 (endpoint -> snat or client): src -> frontend:fport,
 *          dst -> client:cport.
 * ICMP echo: the id becomes the flow's id for that side. Owning worker.
 */
void ef_nat_apply(uint8_t *frame, struct ef_pkt_meta *m,
		  const struct ef_ct_flow *f, uint8_t dir);

/*
 * Key to look up the flow an ICMP error is about: the quoted packet's
 * tuple reversed, i.e. the key of a packet travelling the same way as the
 * error. The direction found is the direction the error travels: 1 for an
 * error from the endpoint side about a packet we sent towards the endpoint
 * (quoted snat-or-client:port -> endpoint:eport), 0 for an error from the
 * client side about a reply we sent (quoted frontend:fport ->
 * client:cport). Returns 0, or -EINVAL when m is not an IPv4 ICMP error
 * quoting ports. Any thread.
 */
int ef_nat_icmp_key(const struct ef_pkt_meta *m, struct ef_ct_key4 *k);

/*
 * Translate an ICMP error travelling in direction dir of flow f (as found
 * with ef_nat_icmp_key):
 *   dir 1 (towards the client): outer src -> frontend, outer dst ->
 *          client; quoted packet -> client:cport -> frontend:fport, the
 *          packet the client sent.
 *   dir 0 (towards the endpoint): outer src -> snat (unchanged without
 *          SNAT, so for Local the endpoint sees the reporting router or
 *          client), outer dst -> endpoint; quoted packet ->
 *          endpoint:eport -> snat-or-client:port, the packet the endpoint
 *          sent.
 * The quoted IPv4 checksum, quoted ports (and the quoted UDP checksum when
 * present) and the ICMP checksum are fixed. Owning worker.
 */
void ef_nat_apply_icmp_error(uint8_t *frame, struct ef_pkt_meta *m,
			     const struct ef_ct_flow *f, uint8_t dir);

#ifdef __cplusplus
}
#endif

#endif /* EF_NAT_H */
