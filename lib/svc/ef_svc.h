/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_SVC_H
#define EF_SVC_H

/*
 * A configuration generation: everything the workers read to answer for a
 * service, built by the control lcore from a config model, immutable once
 * published, freed only after an RCU grace period.
 *
 * Workers hold one pointer to the current generation (loaded once per
 * burst). The only part that changes inside a published generation is each
 * service port's endpoint pool (health changes): a new pool is built aside,
 * published with one release store, and the old one freed after a grace
 * period (ef_svc_pool_republish()).
 *
 * IPv4 only today: frontend and endpoint keys carry a 32-bit address; an
 * IPv6 table sits beside these later (separate hash, same structs with
 * ef_addr), which is why keys are not reused as flow keys.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include "ef_cfg.h"
#include "ef_edge.h"
#include "ef_route.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ef_svc_endpoint.flags */
#define EF_SVC_EP_LOCAL		0x01	/* node == node.name */
#define EF_SVC_EP_READY		0x02
#define EF_SVC_EP_SERVING	0x04
#define EF_SVC_EP_TERMINATING	0x08

/* ef_svc_frontend.flags */
#define EF_SVC_FE_EXTERNAL	0x01	/* LB IP, external IP or NodePort */
#define EF_SVC_FE_LOCAL		0x02	/* the applicable policy is Local */
#define EF_SVC_FE_SNAT		0x04	/* SNAT every flow (external Cluster) */
#define EF_SVC_FE_SNAT_REMOTE	0x08	/* SNAT when the endpoint is remote (internal Cluster) */
#define EF_SVC_FE_AFFINITY	0x10	/* ClientIP session affinity */
#define EF_SVC_FE_NODEPORT	0x20
#define EF_SVC_FE_EDGE		0x40	/* mode "edge": steer to a node */
#define EF_SVC_FE_ENCAP		0x80	/* Cluster, remote endpoint: encap to
					 * its node, no SNAT */

/* Owned-address flags (ef_svc_owned4()) */
#define EF_SVC_OWN_IFACE	0x01	/* an interface address (the node) */
#define EF_SVC_OWN_VIP		0x02	/* LB / external IP: answers ARP */
#define EF_SVC_OWN_CLUSTER_IP	0x04	/* routed to us, no ARP */
#define EF_SVC_OWN_SNAT		0x08	/* a SNAT address */

#define EF_SVC_MAX_SERVICES_DEFAULT 65536

struct ef_svc_endpoint {
	uint32_t addr;		/* network order */
	uint16_t port;		/* target port, network order */
	uint16_t flags;		/* EF_SVC_EP_* */
	uint32_t weight;
	uint32_t health_idx;	/* index into ef_svc_gen.health */
	uint32_t node_addr;	/* its node's address (network order) for
				 * cluster_forwarding = "encap"; 0 = none */
	uint8_t family;		/* EF_AF_INET4, or EF_AF_INET6: addr6 */
	uint8_t addr6[16];	/* IPv6 endpoints (addr is 0) */
};

/*
 * Endpoint choice of one service port at one moment: the eligible sets
 * (ready and healthy, else serving-and-terminating) and their Maglev tables
 * of indexes into the port's endpoint array. Replaced whole.
 */
struct ef_svc_pool {
	uint32_t n_all;		/* eligible endpoints, any node */
	uint32_t n_local;	/* eligible endpoints on this node */
	uint32_t size_all;
	uint32_t size_local;
	uint16_t *tbl_all;
	uint16_t *tbl_local;
	uint8_t *eligible;	/* per endpoint: 1 in the all set, 2 in local */
	uint32_t n_local_ready;	/* local, ready, healthy, not terminating:
				 * what healthCheckNodePort reports */
};

struct ef_svc_port {
	uint32_t svc_idx;
	uint32_t port_idx;	/* index into the service's cfg ports */
	uint8_t proto;
	uint8_t proxy;		/* enum ef_proxy_protocol: header every flow
				 * of this port sends its endpoint first */
	struct ef_svc_endpoint *eps;
	uint32_t n_eps;
	struct ef_svc_pool *pool;	/* atomic: ef_svc_pool_get() */
	uint8_t family;		/* of its endpoints and frontends */
};

struct ef_svc_frontend {
	uint32_t addr;		/* network order */
	uint16_t port;		/* network order */
	uint8_t proto;
	uint8_t flags;		/* EF_SVC_FE_* */
	uint32_t sp_idx;
	uint32_t affinity_timeout_ms;
	uint8_t family;		/* EF_AF_INET4, or EF_AF_INET6: addr6 */
	uint8_t addr6[16];	/* IPv6 frontends (addr is 0) */
};

struct ef_svc_edge;

struct ef_svc_service {
	const struct ef_cfg_service *cfg;
	struct ef_svc_edge *edge;	/* mode "edge" only, else NULL */
	uint32_t stable_id;	/* same across reloads for the same name */
	uint32_t max_flows;	/* cfg's (0: no quota), here so that a new
				 * flow's quota check reads no cfg line */
	uint32_t first_sp;
	uint32_t n_sp;
	uint32_t first_health;
	uint32_t n_health;
	/* IPv6 (issue 12): the service's IPv6 ports, one per cfg port when
	 * it serves IPv6, right after its IPv4 ones (first_sp + n_sp) */
	uint32_t first_sp6;
	uint32_t n_sp6;
};

/* Health of one (service, endpoint address): written by the control lcore
 * only, read by anyone. */
struct ef_svc_health {
	uint8_t healthy;	/* accessed with __atomic builtins only */
	uint8_t v6;		/* 1: an IPv6 endpoint (cfg endpoints6) */
	uint8_t pad[2];
	uint32_t svc_idx;
	uint32_t ep_cfg_idx;	/* index in the service's cfg endpoints, or
				 * endpoints6 when v6 */
};

/* Maps service names to stable ids across generations (control lcore). */
struct ef_svc_registry;

struct ef_svc_gen {
	uint64_t number;
	struct ef_cfg *cfg;		/* owned */
	struct rte_hash *fe_hash;	/* ef_svc_fe_key -> frontend index */
	struct ef_svc_frontend *fes;
	uint32_t n_fes;
	struct ef_svc_port *sps;
	uint32_t n_sps;
	struct ef_svc_service *svcs;
	uint32_t n_svcs;
	struct ef_svc_health *health;
	uint32_t n_health;
	struct rte_hash *ep_hash;	/* ef_svc_ep_key -> present */
	struct rte_hash *owned;		/* IPv4 address -> EF_SVC_OWN_* */
	struct ef_route_table *routes;
	struct ef_svc_registry *reg;	/* not owned */
	int32_t *by_stable;		/* stable id -> service index or -1 */
	uint32_t by_stable_n;
	uint32_t snat_port_min;
	uint32_t snat_port_max;
	struct ef_edge_decap_cfg *decap;	/* decap.sources, NULL = none */
	uint32_t *node_keys;	/* per cfg->nodes[i]: its key (ef_edge.h) */
	bool pools_deferred;	/* during the build: pools_build() makes them */
	uint32_t n_pools_reused;	/* pools copied from prev's same port
					 * (same endpoints and health), not
					 * built again */
	/* By stable id: the (32-bit) generation since which the service has
	 * lost no endpoint, each generation up to this one holding every
	 * (endpoint, port, proto) of the one before; UINT32_MAX when the
	 * service is not in this generation. ef_svc_endpoint_kept(). */
	uint32_t *kept_since;
	/* IPv6 (issue 12), NULL when the configuration has no IPv6 at all:
	 * frontends (ef_svc_fe6_key -> index into fes), owned addresses
	 * (16 bytes -> EF_SVC_OWN_*), endpoints (ef_svc_ep6_key). IPv6
	 * endpoints are probed as IPv4's: a service's health entries are
	 * its IPv4 endpoints', then its IPv6 endpoints'. */
	struct rte_hash *fe6_hash;
	struct rte_hash *owned6;
	struct rte_hash *ep6_hash;
};

/* IPv6 frontend key: 20 bytes, network order, pad zero. */
struct ef_svc_fe6_key {
	uint8_t addr[16];
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};

/* IPv6 endpoint key (reload validation). */
struct ef_svc_ep6_key {
	uint32_t svc_id;
	uint8_t addr[16];
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};

/* Frontend key: 8 bytes, network order, pad zero. */
struct ef_svc_fe_key {
	uint32_t addr;
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};

/* Endpoint key for reload validation of existing flows. */
struct ef_svc_ep_key {
	uint32_t svc_id;	/* stable id */
	uint32_t addr;
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};

/*
 * Create the name -> stable id registry with room for 'capacity' distinct
 * service names over the process's life. NULL + rte_errno on failure.
 */
struct ef_svc_registry *ef_svc_registry_create(uint32_t capacity);
void ef_svc_registry_free(struct ef_svc_registry *r);
uint32_t ef_svc_registry_capacity(const struct ef_svc_registry *r);

/*
 * Build a generation from cfg (ownership of cfg passes to the generation,
 * also on failure). 'prev' (may be NULL) supplies health state to carry
 * over for endpoints that still exist, and the pools of service ports
 * whose endpoints and health did not change (copied, not shared: each
 * generation owns and frees its own; n_pools_reused counts them), and
 * kept_since (prev must be the generation g replaces). Returns NULL with rte_errno set and
 * a message in err (size errlen) on failure. Control lcore.
 */
struct ef_svc_gen *ef_svc_gen_build(struct ef_cfg *cfg, uint64_t number,
				    const struct ef_svc_gen *prev,
				    struct ef_svc_registry *reg,
				    int socket_id, char *err, size_t errlen);

/*
 * Threads the next first generations (ef_svc_gen_build() without prev) of
 * at least EF_SVC_BUILD_THREADS_MIN services build their endpoint pools
 * (the Maglev tables) in, 1 .. EF_SVC_BUILD_THREADS_MAX (default 1: the
 * caller's), on the CPUs of cpus (NULL: the caller's affinity, which EAL
 * pins to one CPU). For a start, before any worker runs: a reload's build
 * stays on the control lcore, whose neighbours are busy workers. The
 * tables are the same whatever the number. Control lcore.
 */
#define EF_SVC_BUILD_THREADS_MAX 8
#define EF_SVC_BUILD_THREADS_MIN 1000
void ef_svc_set_build_threads(unsigned int n, const rte_cpuset_t *cpus);

/* Free a generation that no reader can see any more. Control lcore. */
void ef_svc_gen_free(struct ef_svc_gen *g);

/* Single lookup: frontend index or -1. Any thread. */
int32_t ef_svc_lookup(const struct ef_svc_gen *g, uint32_t addr,
		      uint16_t port, uint8_t proto);

/*
 * ef_svc_lookup() of n keys at once (pad zero): fi[i] is the frontend
 * index of keys[i], or -1. Bulk hash lookups (rte_hash_lookup_bulk_data,
 * EF_SVC_LOOKUP_BULK_MAX keys a call), whose stages overlap the keys'
 * cache misses: the worker's new flows of a burst. Any thread.
 */
#define EF_SVC_LOOKUP_BULK_MAX 64
void ef_svc_lookup_bulk(const struct ef_svc_gen *g,
			const struct ef_svc_fe_key *keys, uint32_t n,
			int32_t *fi);

/* EF_SVC_OWN_* flags of an IPv4 address, 0 if not ours. Any thread. */
uint32_t ef_svc_owned4(const struct ef_svc_gen *g, uint32_t addr);

/* true when (svc stable id, endpoint addr, port, proto) exists in g. */
bool ef_svc_endpoint_exists(const struct ef_svc_gen *g, uint32_t svc_id,
			    uint32_t addr, uint16_t port, uint8_t proto);

/*
 * IPv6 twins (issue 12): the frontend of (addr, port, proto) or NULL;
 * the EF_SVC_OWN_* flags of an address, 0 if not ours; whether an IPv6
 * endpoint exists. NULL / 0 / false when g has no IPv6. Any thread.
 */
const struct ef_svc_frontend *ef_svc_lookup6(const struct ef_svc_gen *g,
					     const uint8_t addr[16],
					     uint16_t port, uint8_t proto);
int ef_svc_owned6(const struct ef_svc_gen *g, const uint8_t addr[16]);
bool ef_svc_endpoint_exists6(const struct ef_svc_gen *g, uint32_t svc_id,
			     const uint8_t addr[16], uint16_t port,
			     uint8_t proto);

/*
 * true when a flow whose endpoint existed for service svc_id in
 * generation flow_gen (32 bits, as flows keep it) still has it in g: the
 * service has lost no endpoint since flow_gen. An array load, no lookup:
 * the post-reload sweep and the revalidation of a flow skip the services
 * a reload left whole. false means "look it up"
 * (ef_svc_endpoint_exists()), not "gone". Any thread.
 */
static inline bool
ef_svc_endpoint_kept(const struct ef_svc_gen *g, uint32_t svc_id,
		     uint32_t flow_gen)
{
	return svc_id < g->by_stable_n && flow_gen <= (uint32_t)g->number &&
		flow_gen >= g->kept_since[svc_id];
}

/* Current pool of a service port (acquire load). Any thread. */
static inline const struct ef_svc_pool *
ef_svc_pool_get(const struct ef_svc_port *sp)
{
	return __atomic_load_n(&sp->pool, __ATOMIC_ACQUIRE);
}

/* Verdict of endpoint choice */
enum ef_svc_pick {
	EF_SVC_PICK_OK,
	EF_SVC_PICK_NO_ENDPOINT,	/* reject: RST / port unreachable */
	EF_SVC_PICK_NO_LOCAL,		/* Local with none here: drop */
};

/*
 * Choose an endpoint for a new flow of frontend fe with flow hash 'hash'
 * (Maglev on the table of the applicable set). Returns the verdict and the
 * endpoint index into the service port's eps in *ep. Worker lcores.
 */
static inline enum ef_svc_pick
ef_svc_pick(const struct ef_svc_gen *g, const struct ef_svc_frontend *fe,
	    uint32_t hash, uint32_t *ep)
{
	const struct ef_svc_pool *p = ef_svc_pool_get(&g->sps[fe->sp_idx]);
	const uint16_t *tbl;
	uint32_t size;

	if (fe->flags & EF_SVC_FE_LOCAL) {
		if (p->n_local == 0)
			return p->n_all != 0 ? EF_SVC_PICK_NO_LOCAL :
				EF_SVC_PICK_NO_ENDPOINT;
		tbl = p->tbl_local;
		size = p->size_local;
	} else {
		if (p->n_all == 0)
			return EF_SVC_PICK_NO_ENDPOINT;
		tbl = p->tbl_all;
		size = p->size_all;
	}
	*ep = tbl[((uint64_t)hash * size) >> 32];
	return EF_SVC_PICK_OK;
}

/* true when endpoint index i of the port is still eligible for new flows
 * of fe (affinity re-check). Worker lcores. */
static inline bool
ef_svc_eligible(const struct ef_svc_gen *g, const struct ef_svc_frontend *fe,
		uint32_t i)
{
	const struct ef_svc_pool *p = ef_svc_pool_get(&g->sps[fe->sp_idx]);
	uint8_t need = (fe->flags & EF_SVC_FE_LOCAL) ? 2 : 1;

	return i < g->sps[fe->sp_idx].n_eps && (p->eligible[i] & need) != 0;
}

/*
 * Set the health of g->health[h]; when it changes, rebuild the pools of
 * the service's ports and publish them; old pools go to the defer queue dq
 * (freed after a grace period) or, if dq is NULL, are freed after
 * rte_rcu_qsbr_synchronize(v) when v is not NULL, or at once when both are
 * NULL (single-threaded tests). Returns 1 if changed, 0 if not, < 0 on
 * error (the old pools stay). Control lcore.
 */
int ef_svc_set_health(struct ef_svc_gen *g, uint32_t h, bool healthy,
		      struct rte_rcu_qsbr_dq *dq, struct rte_rcu_qsbr *v);

/* Defer-queue entry type for pools (for rte_rcu_qsbr_dq_create's
 * esize = sizeof(void *), free_fn = ef_svc_pool_dq_free). */
void ef_svc_pool_dq_free(void *p, void *e, unsigned int n);

/* Frees a pool (not published anywhere). */
void ef_svc_pool_free(struct ef_svc_pool *p);

/*
 * Edge services (svc_edge.c). The node table of an edge service: the
 * control lcore's view of each node of cfg->nodes and the published
 * weighted Maglev table over them.
 */
struct ef_svc_edge {
	struct ef_edge_lb *lb;		/* atomic: ef_svc_edge_lb() */
	struct ef_edge_node *nodes;	/* n_nodes, cfg->nodes order */
	struct ef_edge_node_view *views;
	uint32_t n_nodes;
	uint8_t weights;		/* enum ef_edge_weights */
	uint8_t cluster;		/* Cluster policy: equal weights */
};

/* The node table of edge service svc_idx (acquire load), or of a
 * cluster_forwarding = "encap" service (nodes weighted by their ready
 * endpoints), NULL for any other service. Any thread. */
static inline const struct ef_edge_lb *
ef_svc_edge_lb(const struct ef_svc_gen *g, uint32_t svc_idx)
{
	const struct ef_svc_edge *e = g->svcs[svc_idx].edge;

	return e == NULL ? NULL : __atomic_load_n(&e->lb, __ATOMIC_ACQUIRE);
}

/*
 * Set node n's view of edge service s (health prober results), recompute
 * the weights and publish a new node table when any weight or state
 * changed; the old table is freed after rte_rcu_qsbr_synchronize(v)
 * (at once when v is NULL: single-threaded tests). Returns 1 if a new
 * table was published, 0 if nothing changed, < 0 on error (the old table
 * stays). Control lcore.
 */
int ef_svc_edge_set_view(struct ef_svc_gen *g, uint32_t s, uint32_t n,
			 const struct ef_edge_node_view *view,
			 struct rte_rcu_qsbr *v);

/* Find a service by "ns/name": index or -1. */
int32_t ef_svc_find(const struct ef_svc_gen *g, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* EF_SVC_H */
