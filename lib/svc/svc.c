/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Service generations: the registry of stable service ids, a generation
 * built from a configuration (services, ports, endpoints, frontends,
 * owned addresses, routes) and its lookups. The pools of each port are in
 * svc_pool.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <pthread.h>

#include <rte_malloc.h>

#include "ef_log.h"
#include "ef_svc.h"
#include "svc_priv.h"

EF_LOG_REGISTER(svc);

/*
 * Name -> stable id. Control lcore only, variable-length keys, never
 * shrinks: a plain open-addressing table is all it needs (rte_hash wants
 * fixed-size keys and shared-memory allocations for no benefit here).
 */
struct ef_svc_registry {
	uint32_t capacity;	/* ids 0..capacity-1 */
	uint32_t n;
	uint32_t slots;		/* power of two, >= 2 * capacity */
	int32_t *slot_id;	/* -1 empty */
	char **names;		/* by id */
};

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct ef_svc_registry *
ef_svc_registry_create(uint32_t capacity)
{
	struct ef_svc_registry *r;

	if (capacity == 0 || capacity > (1u << 24)) {
		rte_errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto nomem;
	r->capacity = capacity;
	r->slots = rte_align32pow2(capacity * 2);
	r->slot_id = malloc(sizeof(*r->slot_id) * r->slots);
	r->names = calloc(capacity, sizeof(*r->names));
	if (r->slot_id == NULL || r->names == NULL)
		goto nomem;
	memset(r->slot_id, 0xff, sizeof(*r->slot_id) * r->slots);
	return r;
nomem:
	ef_svc_registry_free(r);
	rte_errno = ENOMEM;
	return NULL;
}

void
ef_svc_registry_free(struct ef_svc_registry *r)
{
	if (r == NULL)
		return;
	for (uint32_t i = 0; i < r->n; i++)
		free(r->names[i]);
	free(r->names);
	free(r->slot_id);
	free(r);
}

uint32_t
ef_svc_registry_capacity(const struct ef_svc_registry *r)
{
	return r->capacity;
}

/* Returns the id of name, adding it when 'add'; -1 if absent/full. */
static int32_t
registry_id(struct ef_svc_registry *r, const char *name, bool add)
{
	uint32_t mask = r->slots - 1;
	uint32_t s = (uint32_t)name_hash(name) & mask;

	for (;; s = (s + 1) & mask) {
		int32_t id = r->slot_id[s];

		if (id < 0)
			break;
		if (strcmp(r->names[id], name) == 0)
			return id;
	}
	if (!add || r->n >= r->capacity)
		return -1;
	r->names[r->n] = strdup(name);
	if (r->names[r->n] == NULL)
		return -1;
	r->slot_id[s] = (int32_t)r->n;
	return (int32_t)r->n++;
}

static uint32_t hash_serial;

/*
 * rte_hash_crc() for keys at any alignment: the DPDK inline reads the key
 * through uint64_t pointers, and IPv6 keys come from packet metadata and
 * config structs where the 16 address bytes sit at offset 4 (struct
 * ef_addr). Same CRC32C steps and result, each word read with memcpy.
 */
static uint32_t
hash_crc_unaligned(const void *key, uint32_t len, uint32_t init)
{
	const uint8_t *p = key;
	uint64_t w8;
	uint32_t w4;
	uint16_t w2;

	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w8, p, 8);
		init = rte_hash_crc_8byte(w8, init);
	}
	if (len & 4) {
		memcpy(&w4, p, 4);
		init = rte_hash_crc_4byte(w4, init);
		p += 4;
	}
	if (len & 2) {
		memcpy(&w2, p, 2);
		init = rte_hash_crc_2byte(w2, init);
		p += 2;
	}
	if (len & 1)
		init = rte_hash_crc_1byte(*p, init);
	return init;
}

static struct rte_hash *
hash_create_fn(const char *what, uint32_t entries, uint32_t key_len,
	       int socket_id, rte_hash_function fn)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.entries = RTE_MAX(entries, 16u),
		.key_len = key_len,
		.hash_func = fn,
		.hash_func_init_val = 0,
		.socket_id = socket_id,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	snprintf(name, sizeof(name), "ef_%s_%u", what,
		 __atomic_fetch_add(&hash_serial, 1, __ATOMIC_RELAXED));
	return rte_hash_create(&p);
}

static struct rte_hash *
hash_create(const char *what, uint32_t entries, uint32_t key_len,
	    int socket_id)
{
	return hash_create_fn(what, entries, key_len, socket_id, rte_hash_crc);
}

/* The IPv6 tables: keys at any alignment (hash_crc_unaligned()). */
static struct rte_hash *
hash6_create(const char *what, uint32_t entries, uint32_t key_len,
	     int socket_id)
{
	return hash_create_fn(what, entries, key_len, socket_id,
			      hash_crc_unaligned);
}

void
ef_svc_gen_free(struct ef_svc_gen *g)
{
	if (g == NULL)
		return;
	for (uint32_t i = 0; g->svcs != NULL && i < g->n_svcs; i++)
		ef_svc_edge_free(g->svcs[i].edge);
	for (uint32_t i = 0; g->sps != NULL && i < g->n_sps; i++) {
		ef_svc_pool_free(g->sps[i].pool);
		rte_free(g->sps[i].eps);
	}
	ef_edge_decap_free(g->decap);
	free(g->node_keys);
	rte_free(g->sps);
	rte_free(g->fes);
	rte_free(g->svcs);
	rte_free(g->health);
	rte_free(g->by_stable);
	rte_free(g->kept_since);
	rte_hash_free(g->fe_hash);
	rte_hash_free(g->ep_hash);
	rte_hash_free(g->owned);
	rte_hash_free(g->fe6_hash);
	rte_hash_free(g->owned6);
	rte_hash_free(g->ep6_hash);
	ef_route_free(g->routes);
	ef_cfg_free(g->cfg);
	rte_free(g);
}

static int
owned_add(struct ef_svc_gen *g, uint32_t addr, uint32_t flag)
{
	void *data = NULL;
	uintptr_t v = 0;

	if (rte_hash_lookup_data(g->owned, &addr, &data) >= 0)
		v = (uintptr_t)data;
	v |= flag;
	return rte_hash_add_key_data(g->owned, &addr, (void *)v);
}

static int
fe_add(struct ef_svc_gen *g, uint32_t addr, uint16_t port_host, uint8_t proto,
       uint8_t flags, uint32_t sp_idx, uint32_t aff_ms)
{
	struct ef_svc_fe_key k = {
		.addr = addr,
		.port = rte_cpu_to_be_16(port_host),
		.proto = proto,
	};
	struct ef_svc_frontend *fe = &g->fes[g->n_fes];

	fe->addr = addr;
	fe->family = EF_AF_INET4;
	fe->port = k.port;
	fe->proto = proto;
	fe->flags = flags;
	fe->sp_idx = sp_idx;
	fe->affinity_timeout_ms = aff_ms;
	if (rte_hash_add_key_data(g->fe_hash, &k,
				  (void *)(uintptr_t)g->n_fes) < 0)
		return -ENOSPC;
	g->n_fes++;
	return 0;
}

static int
owned6_add(struct ef_svc_gen *g, const uint8_t addr[16], uint32_t flag)
{
	void *data = NULL;
	uintptr_t v = 0;

	if (rte_hash_lookup_data(g->owned6, addr, &data) >= 0)
		v = (uintptr_t)data;
	v |= flag;
	return rte_hash_add_key_data(g->owned6, addr, (void *)v);
}

static int
fe6_add(struct ef_svc_gen *g, const uint8_t addr[16], uint16_t port_host,
	uint8_t proto, uint8_t flags, uint32_t sp_idx, uint32_t aff_ms)
{
	struct ef_svc_fe6_key k = {
		.port = rte_cpu_to_be_16(port_host),
		.proto = proto,
	};
	struct ef_svc_frontend *fe = &g->fes[g->n_fes];

	memcpy(k.addr, addr, 16);
	memset(fe, 0, sizeof(*fe));
	fe->family = EF_AF_INET6;
	memcpy(fe->addr6, addr, 16);
	fe->port = k.port;
	fe->proto = proto;
	fe->flags = flags;
	fe->sp_idx = sp_idx;
	fe->affinity_timeout_ms = aff_ms;
	if (rte_hash_add_key_data(g->fe6_hash, &k,
				  (void *)(uintptr_t)g->n_fes) < 0)
		return -ENOSPC;
	g->n_fes++;
	return 0;
}

static uint8_t
prev_health(const struct ef_svc_gen *prev, uint32_t stable_id,
	    const struct ef_addr *addr)
{
	const struct ef_svc_service *ps;
	int32_t idx;

	if (prev == NULL || stable_id >= prev->by_stable_n)
		return 1;
	idx = prev->by_stable[stable_id];
	if (idx < 0)
		return 1;
	ps = &prev->svcs[idx];
	for (uint32_t j = 0; j < ps->n_health; j++) {
		const struct ef_svc_health *h = &prev->health[ps->first_health + j];
		const struct ef_cfg_endpoint *ce = h->v6 ?
			&ps->cfg->endpoints6[h->ep_cfg_idx] :
			&ps->cfg->endpoints[h->ep_cfg_idx];

		if (ef_addr_eq(&ce->address, addr))
			return __atomic_load_n(&h->healthy, __ATOMIC_ACQUIRE);
	}
	/* new endpoints start healthy: Kubernetes already probed them ready */
	return 1;
}

/*
 * The arrays and hashes of g, sized from cfg: one frontend per (port,
 * address it answers on), one service port per port, one health entry per
 * endpoint. Returns 0 or -ENOMEM (g->... partly set; ef_svc_gen_free()).
 */
static int
gen_alloc(struct ef_svc_gen *g, const struct ef_cfg *cfg,
	  const struct ef_svc_registry *reg, int socket_id)
{
	uint32_t n_fes = 0, n_sps = 0, n_eps = 0, n_eps_cfg6 = 0, n_owned;
	uint32_t n_fes6 = 0, n_eps6 = 0;
	bool any6 = false;

	for (uint32_t s = 0; s < cfg->n_services; s++) {
		const struct ef_cfg_service *cs = &cfg->services[s];
		uint32_t per_port = (cs->cluster_ip.family != 0) +
			cs->n_external_ips +
			(cs->type == EF_SVC_TYPE_LOAD_BALANCER ?
			 cs->n_load_balancer_ips : 0);

		uint32_t per_port6 = (cs->cluster_ip6.family != 0) +
			cs->n_external_ips6 +
			(cs->type == EF_SVC_TYPE_LOAD_BALANCER ?
			 cs->n_load_balancer_ips6 : 0);
		bool v6 = ef_cfg_serves(cs, EF_AF_INET6);

		for (uint32_t p = 0; p < cs->n_ports; p++)
			n_fes += per_port + (cs->ports[p].node_port != 0 ?
					     cfg->n_interfaces : 0);
		for (uint32_t p = 0; v6 && p < cs->n_ports; p++)
			n_fes6 += per_port6 + (cs->ports[p].node_port != 0 ?
					       cfg->n_interfaces : 0);
		n_sps += cs->n_ports * (v6 ? 2 : 1);
		n_eps += cs->n_endpoints;
		n_eps_cfg6 += cs->n_endpoints6;
		n_eps6 += cs->n_endpoints6 * cs->n_ports;
		any6 = any6 || v6;
	}
	for (uint32_t i = 0; i < cfg->n_interfaces; i++)
		any6 = any6 || cfg->interfaces[i].address6.family == EF_AF_INET6;
	n_owned = cfg->n_interfaces + cfg->n_snat_addresses + n_fes;

	g->svcs = rte_zmalloc_socket("ef_svcs",
				     sizeof(*g->svcs) * RTE_MAX(cfg->n_services, 1u),
				     0, socket_id);
	g->sps = rte_zmalloc_socket("ef_sps",
				    sizeof(*g->sps) * RTE_MAX(n_sps, 1u), 0,
				    socket_id);
	g->fes = rte_zmalloc_socket("ef_fes",
				    sizeof(*g->fes) * RTE_MAX(n_fes + n_fes6, 1u),
				    0, socket_id);
	/* one entry per endpoint of either family */
	g->health = rte_zmalloc_socket("ef_health", sizeof(*g->health) *
				       RTE_MAX(n_eps + n_eps_cfg6, 1u), 0,
				       socket_id);
	if (any6) {
		g->fe6_hash = hash6_create("fe6", n_fes6 * 2,
					   sizeof(struct ef_svc_fe6_key),
					   socket_id);
		g->ep6_hash = hash6_create("ep6", n_eps6 * 2,
					   sizeof(struct ef_svc_ep6_key),
					   socket_id);
		g->owned6 = hash6_create("own6", (cfg->n_interfaces + 1 +
						  n_fes6) * 2, 16, socket_id);
		if (g->fe6_hash == NULL || g->ep6_hash == NULL ||
		    g->owned6 == NULL)
			return -ENOMEM;
	}
	g->by_stable_n = ef_svc_registry_capacity(reg);
	g->by_stable = rte_malloc_socket("ef_by_stable",
					 sizeof(int32_t) * g->by_stable_n, 0,
					 socket_id);
	g->kept_since = rte_malloc_socket("ef_kept_since",
					  sizeof(uint32_t) * g->by_stable_n, 0,
					  socket_id);
	g->fe_hash = hash_create("fe", n_fes * 2, sizeof(struct ef_svc_fe_key),
				 socket_id);
	g->ep_hash = hash_create("ep", n_eps * 2, sizeof(struct ef_svc_ep_key),
				 socket_id);
	g->owned = hash_create("own", n_owned * 2, sizeof(uint32_t),
			       socket_id);
	if (g->svcs == NULL || g->sps == NULL || g->fes == NULL ||
	    g->health == NULL || g->by_stable == NULL ||
	    g->kept_since == NULL || g->fe_hash == NULL ||
	    g->ep_hash == NULL || g->owned == NULL)
		return -ENOMEM;
	memset(g->by_stable, 0xff, sizeof(int32_t) * g->by_stable_n);
	memset(g->kept_since, 0xff, sizeof(uint32_t) * g->by_stable_n);
	return 0;
}

/* The node's own addresses: interfaces and SNAT sources. 0 or < 0. */
static int
own_node_addresses(struct ef_svc_gen *g, const struct ef_cfg *cfg)
{
	for (uint32_t i = 0; i < cfg->n_interfaces; i++)
		if (owned_add(g, cfg->interfaces[i].address.v4,
			      EF_SVC_OWN_IFACE) < 0)
			return -ENOSPC;
	for (uint32_t i = 0; i < cfg->n_snat_addresses; i++)
		if (owned_add(g, cfg->snat_addresses[i].v4, EF_SVC_OWN_SNAT) < 0)
			return -ENOSPC;
	if (g->owned6 == NULL)
		return 0;
	for (uint32_t i = 0; i < cfg->n_interfaces; i++)
		if (cfg->interfaces[i].address6.family == EF_AF_INET6 &&
		    owned6_add(g, cfg->interfaces[i].address6.v6,
			       EF_SVC_OWN_IFACE) < 0)
			return -ENOSPC;
	if (cfg->snat_address6.family == EF_AF_INET6 &&
	    owned6_add(g, cfg->snat_address6.v6, EF_SVC_OWN_SNAT) < 0)
		return -ENOSPC;
	return 0;
}

/* How the frontends of one service treat a packet (EF_SVC_FE_*). */
struct fe_flags {
	uint8_t ext;		/* load balancer, external IPs, node ports */
	uint8_t in;		/* the cluster IP */
	uint32_t aff_ms;	/* ClientIP affinity timeout, 0 without */
};

static void
fe_flags_of(const struct ef_cfg_service *cs, struct fe_flags *ff)
{
	uint8_t aff = cs->session_affinity == EF_AFFINITY_CLIENT_IP ?
		EF_SVC_FE_AFFINITY : 0;

	ff->aff_ms = cs->session_affinity == EF_AFFINITY_CLIENT_IP ?
		cs->session_affinity_timeout * 1000u : 0;
	ff->ext = EF_SVC_FE_EXTERNAL | aff |
		(cs->external_traffic_policy == EF_POLICY_LOCAL ?
		 EF_SVC_FE_LOCAL : EF_SVC_FE_SNAT);
	if (cs->mode == EF_SVC_MODE_EDGE)
		ff->ext = EF_SVC_FE_EXTERNAL | EF_SVC_FE_EDGE;
	else if (cs->cluster_forwarding == EF_CLUSTER_FWD_ENCAP &&
		 cs->external_traffic_policy == EF_POLICY_CLUSTER)
		/* remote picks go to their node unchanged; local ones
		 * are served here, neither SNATs */
		ff->ext = (uint8_t)((ff->ext & ~EF_SVC_FE_SNAT) |
				    EF_SVC_FE_ENCAP);
	ff->in = aff |
		(cs->internal_traffic_policy == EF_POLICY_LOCAL ?
		 EF_SVC_FE_LOCAL : EF_SVC_FE_SNAT_REMOTE);
}

/* The endpoints of service port sp (port cp of service sv). 0 or < 0. */
static int
port_endpoints(struct ef_svc_gen *g, const struct ef_svc_service *sv,
	       const struct ef_cfg_port *cp, struct ef_svc_port *sp,
	       int socket_id)
{
	const struct ef_cfg_service *cs = sv->cfg;

	sp->eps = rte_zmalloc_socket("ef_eps",
		sizeof(*sp->eps) * RTE_MAX(sp->n_eps, 1u), 0, socket_id);
	if (sp->eps == NULL)
		return -ENOMEM;
	for (uint32_t e = 0; e < cs->n_endpoints; e++) {
		const struct ef_cfg_endpoint *ce = &cs->endpoints[e];
		struct ef_svc_endpoint *ep = &sp->eps[e];
		struct ef_svc_ep_key k = {
			.svc_id = sv->stable_id,
			.addr = ce->address.v4,
			.port = rte_cpu_to_be_16(cp->target_port),
			.proto = cp->protocol,
		};

		ep->addr = ce->address.v4;
		ep->family = EF_AF_INET4;
		ep->port = k.port;
		ep->weight = ce->weight;
		ep->health_idx = sv->first_health + e;
		ep->flags = (ce->ready ? EF_SVC_EP_READY : 0) |
			(ce->serving ? EF_SVC_EP_SERVING : 0) |
			(ce->terminating ? EF_SVC_EP_TERMINATING : 0) |
			(strcmp(ce->node, g->cfg->node_name) == 0 ?
			 EF_SVC_EP_LOCAL : 0);
		if (cs->cluster_forwarding == EF_CLUSTER_FWD_ENCAP &&
		    cs->mode == EF_SVC_MODE_PROXY) {
			const struct ef_cfg_node *n =
				ef_cfg_node_find(g->cfg, ce->node);

			ep->node_addr = n != NULL ? n->address.v4 : 0;
		}
		if (rte_hash_add_key(g->ep_hash, &k) < 0)
			return -ENOSPC;
	}
	return 0;
}

/* The frontends of port cp (service port spi): every address it answers. */
static int
port_frontends(struct ef_svc_gen *g, const struct ef_cfg_service *cs,
	       const struct ef_cfg_port *cp, uint32_t spi,
	       const struct fe_flags *ff)
{
	const struct ef_cfg *cfg = g->cfg;
	/* the edge sits outside the cluster: no cluster IP, no node ports,
	 * only the LB and external addresses */
	bool cs_edge_only = cs->mode == EF_SVC_MODE_EDGE;
	int rc;

	if (!cs_edge_only && cs->cluster_ip.family == EF_AF_INET4) {
		rc = fe_add(g, cs->cluster_ip.v4, cp->port, cp->protocol,
			    ff->in, spi, ff->aff_ms);
		if (rc < 0 || owned_add(g, cs->cluster_ip.v4,
					EF_SVC_OWN_CLUSTER_IP) < 0)
			return -ENOSPC;
	}
	for (uint32_t i = 0; cs->type == EF_SVC_TYPE_LOAD_BALANCER &&
	     i < cs->n_load_balancer_ips; i++) {
		uint32_t a = cs->load_balancer_ips[i].v4;

		if (fe_add(g, a, cp->port, cp->protocol, ff->ext, spi,
			   ff->aff_ms) < 0 ||
		    owned_add(g, a, EF_SVC_OWN_VIP) < 0)
			return -ENOSPC;
	}
	for (uint32_t i = 0; i < cs->n_external_ips; i++) {
		uint32_t a = cs->external_ips[i].v4;

		if (fe_add(g, a, cp->port, cp->protocol, ff->ext, spi,
			   ff->aff_ms) < 0 ||
		    owned_add(g, a, EF_SVC_OWN_VIP) < 0)
			return -ENOSPC;
	}
	for (uint32_t i = 0; !cs_edge_only && cp->node_port != 0 &&
	     i < cfg->n_interfaces; i++)
		if (fe_add(g, cfg->interfaces[i].address.v4, cp->node_port,
			   cp->protocol, ff->ext | EF_SVC_FE_NODEPORT, spi,
			   ff->aff_ms) < 0)
			return -ENOSPC;
	return 0;
}

/* The IPv6 endpoints of IPv6 service port sp (issue 12), as IPv4's;
 * their health entries follow the service's IPv4 ones. 0 or < 0. */
static int
port_endpoints6(struct ef_svc_gen *g, const struct ef_svc_service *sv,
		const struct ef_cfg_port *cp, struct ef_svc_port *sp,
		int socket_id)
{
	const struct ef_cfg_service *cs = sv->cfg;

	sp->eps = rte_zmalloc_socket("ef_eps6",
		sizeof(*sp->eps) * RTE_MAX(sp->n_eps, 1u), 0, socket_id);
	if (sp->eps == NULL)
		return -ENOMEM;
	for (uint32_t e = 0; e < cs->n_endpoints6; e++) {
		const struct ef_cfg_endpoint *ce = &cs->endpoints6[e];
		struct ef_svc_endpoint *ep = &sp->eps[e];
		struct ef_svc_ep6_key k = {
			.svc_id = sv->stable_id,
			.port = rte_cpu_to_be_16(cp->target_port),
			.proto = cp->protocol,
		};

		memcpy(k.addr, ce->address.v6, 16);
		ep->family = EF_AF_INET6;
		memcpy(ep->addr6, ce->address.v6, 16);
		ep->port = k.port;
		ep->weight = ce->weight;
		ep->health_idx = sv->first_health + cs->n_endpoints + e;
		ep->flags = (ce->ready ? EF_SVC_EP_READY : 0) |
			(ce->serving ? EF_SVC_EP_SERVING : 0) |
			(ce->terminating ? EF_SVC_EP_TERMINATING : 0) |
			(strcmp(ce->node, g->cfg->node_name) == 0 ?
			 EF_SVC_EP_LOCAL : 0);
		if (rte_hash_add_key(g->ep6_hash, &k) < 0)
			return -ENOSPC;
	}
	return 0;
}

/* The IPv6 frontends of port cp (IPv6 service port spi). */
static int
port_frontends6(struct ef_svc_gen *g, const struct ef_cfg_service *cs,
		const struct ef_cfg_port *cp, uint32_t spi,
		const struct fe_flags *ff)
{
	const struct ef_cfg *cfg = g->cfg;
	/* an edge answers on its LB and external addresses only, as for
	 * IPv4 (port_frontends) */
	bool cs_edge_only = cs->mode == EF_SVC_MODE_EDGE;

	if (!cs_edge_only && cs->cluster_ip6.family == EF_AF_INET6 &&
	    (fe6_add(g, cs->cluster_ip6.v6, cp->port, cp->protocol, ff->in,
		     spi, ff->aff_ms) < 0 ||
	     owned6_add(g, cs->cluster_ip6.v6, EF_SVC_OWN_CLUSTER_IP) < 0))
		return -ENOSPC;
	for (uint32_t i = 0; cs->type == EF_SVC_TYPE_LOAD_BALANCER &&
	     i < cs->n_load_balancer_ips6; i++) {
		const uint8_t *a = cs->load_balancer_ips6[i].v6;

		if (fe6_add(g, a, cp->port, cp->protocol, ff->ext, spi,
			    ff->aff_ms) < 0 ||
		    owned6_add(g, a, EF_SVC_OWN_VIP) < 0)
			return -ENOSPC;
	}
	for (uint32_t i = 0; i < cs->n_external_ips6; i++) {
		const uint8_t *a = cs->external_ips6[i].v6;

		if (fe6_add(g, a, cp->port, cp->protocol, ff->ext, spi,
			    ff->aff_ms) < 0 ||
		    owned6_add(g, a, EF_SVC_OWN_VIP) < 0)
			return -ENOSPC;
	}
	for (uint32_t i = 0; !cs_edge_only && cp->node_port != 0 &&
	     i < cfg->n_interfaces; i++)
		if (cfg->interfaces[i].address6.family == EF_AF_INET6 &&
		    fe6_add(g, cfg->interfaces[i].address6.v6, cp->node_port,
			    cp->protocol, ff->ext | EF_SVC_FE_NODEPORT, spi,
			    ff->aff_ms) < 0)
			return -ENOSPC;
	return 0;
}

/*
 * kept_since of service sv (pv: the same service in prev, or NULL), once
 * its ports are in g->ep_hash: prev's value when every endpoint key prev
 * had for it is still there, else this generation (ef_svc_endpoint_kept()
 * must never say "kept" for an endpoint that is gone).
 */
static uint32_t
kept_since_of(const struct ef_svc_gen *g, const struct ef_svc_service *sv,
	      const struct ef_svc_gen *prev, const struct ef_svc_service *pv)
{
	if (pv == NULL || prev->kept_since == NULL ||
	    sv->stable_id >= prev->by_stable_n)
		return (uint32_t)g->number;
	for (uint32_t p = 0; p < pv->n_sp; p++) {
		const struct ef_svc_port *sp = &prev->sps[pv->first_sp + p];

		for (uint32_t e = 0; e < sp->n_eps; e++) {
			struct ef_svc_ep_key k = {
				.svc_id = sv->stable_id,
				.addr = sp->eps[e].addr,
				.port = sp->eps[e].port,
				.proto = sp->proto,
			};

			if (rte_hash_lookup(g->ep_hash, &k) < 0)
				return (uint32_t)g->number;
		}
	}
	for (uint32_t p = 0; p < pv->n_sp6; p++) {
		const struct ef_svc_port *sp = &prev->sps[pv->first_sp6 + p];

		for (uint32_t e = 0; e < sp->n_eps; e++)
			if (!ef_svc_endpoint_exists6(g, sv->stable_id,
						     sp->eps[e].addr6,
						     sp->eps[e].port,
						     sp->proto))
				return (uint32_t)g->number;
	}
	return prev->kept_since[sv->stable_id];
}

/*
 * Service s of the configuration: its stable id, health entries (state
 * carried over from prev), ports with their endpoints, pools and
 * frontends. 0, or < 0 with *what set when it is not out of memory.
 */
static int
service_build(struct ef_svc_gen *g, uint32_t s, const struct ef_svc_gen *prev,
	      struct ef_svc_registry *reg, int socket_id, const char **what)
{
	const struct ef_cfg_service *cs = &g->cfg->services[s];
	struct ef_svc_service *sv = &g->svcs[s];
	int32_t id = registry_id(reg, cs->name, true);
	const struct ef_svc_service *pv = NULL;	/* the same service in prev */
	struct fe_flags ff;

	if (id < 0) {
		*what = "too many distinct service names over this "
			"process's life (restart to grow)";
		return -ENOSPC;
	}
	if (prev != NULL && (uint32_t)id < prev->by_stable_n &&
	    prev->by_stable[id] >= 0)
		pv = &prev->svcs[prev->by_stable[id]];
	fe_flags_of(cs, &ff);
	sv->cfg = cs;
	sv->stable_id = (uint32_t)id;
	sv->max_flows = cs->max_flows;
	sv->first_sp = g->n_sps;
	sv->n_sp = cs->n_ports;
	sv->first_health = g->n_health;
	sv->n_health = cs->n_endpoints + cs->n_endpoints6;
	g->by_stable[id] = (int32_t)s;
	g->n_svcs = s + 1;

	for (uint32_t e = 0; e < cs->n_endpoints; e++) {
		struct ef_svc_health *h = &g->health[g->n_health++];

		h->svc_idx = s;
		h->ep_cfg_idx = e;
		h->healthy = prev_health(prev, sv->stable_id,
					 &cs->endpoints[e].address);
	}
	for (uint32_t e = 0; e < cs->n_endpoints6; e++) {
		struct ef_svc_health *h = &g->health[g->n_health++];

		h->svc_idx = s;
		h->v6 = 1;
		h->ep_cfg_idx = e;
		h->healthy = prev_health(prev, sv->stable_id,
					 &cs->endpoints6[e].address);
	}

	for (uint32_t p = 0; p < cs->n_ports; p++) {
		const struct ef_cfg_port *cp = &cs->ports[p];
		struct ef_svc_port *sp = &g->sps[g->n_sps];
		uint32_t spi = g->n_sps++;

		sp->svc_idx = s;
		sp->port_idx = p;
		sp->proto = cp->protocol;
		sp->proxy = cp->proxy_protocol;
		sp->family = EF_AF_INET4;
		sp->n_eps = cs->n_endpoints;
		if (port_endpoints(g, sv, cp, sp, socket_id) != 0)
			return -ENOMEM;
		if (pv != NULL && p < pv->n_sp)
			sp->pool = ef_svc_pool_reuse(g, sp, prev,
				&prev->sps[pv->first_sp + p], socket_id);
		if (sp->pool != NULL)
			g->n_pools_reused++;
		else if (g->pools_deferred)
			sp->pool = NULL;	/* pools_build() */
		else if ((sp->pool = ef_svc_pool_build(g, sp,
						       socket_id)) == NULL)
			return -ENOMEM;
		if (port_frontends(g, cs, cp, spi, &ff) != 0)
			return -ENOSPC;
	}
	/* IPv6 (issue 12): a second set of ports with the IPv6 endpoints,
	 * reached by the IPv6 frontends only (no NAT46) */
	sv->first_sp6 = g->n_sps;
	sv->n_sp6 = g->owned6 != NULL && ef_cfg_serves(cs, EF_AF_INET6) ?
		cs->n_ports : 0;
	for (uint32_t p = 0; p < sv->n_sp6; p++) {
		const struct ef_cfg_port *cp = &cs->ports[p];
		struct ef_svc_port *sp = &g->sps[g->n_sps];
		uint32_t spi = g->n_sps++;

		sp->svc_idx = s;
		sp->port_idx = p;
		sp->proto = cp->protocol;
		sp->proxy = cp->proxy_protocol;
		sp->family = EF_AF_INET6;
		sp->n_eps = cs->n_endpoints6;
		if (port_endpoints6(g, sv, cp, sp, socket_id) != 0)
			return -ENOMEM;
		if (!g->pools_deferred &&
		    (sp->pool = ef_svc_pool_build(g, sp, socket_id)) == NULL)
			return -ENOMEM;
		if (port_frontends6(g, cs, cp, spi, &ff) != 0)
			return -ENOSPC;
	}
	g->kept_since[id] = kept_since_of(g, sv, prev, pv);
	if ((cs->mode == EF_SVC_MODE_EDGE ||
	     cs->cluster_forwarding == EF_CLUSTER_FWD_ENCAP) &&
	    ef_svc_edge_build(g, s, prev, socket_id) != 0)
		return -ENOMEM;
	return 0;
}

/* decap.sources as lib/edge takes them. 0 or -errno. */
/* The key of each of cfg->nodes (ef_edge.h "A node's key"): its IPv4
 * address, or the registry's key of its IPv6 one. */
static int
node_keys(struct ef_svc_gen *g, const struct ef_cfg *cfg)
{
	g->node_keys = calloc(RTE_MAX(cfg->n_nodes, 1u),
			      sizeof(*g->node_keys));
	if (g->node_keys == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < cfg->n_nodes; i++) {
		const struct ef_addr *a = &cfg->nodes[i].address;

		g->node_keys[i] = a->family == EF_AF_INET6 ?
			ef_edge_node_key6(a->v6) : a->v4;
		if (g->node_keys[i] == EF_EDGE_NO_KEY)
			return -ENOSPC;
	}
	return 0;
}

static int
decap_build(struct ef_svc_gen *g, const struct ef_cfg *cfg)
{
	struct ef_edge_prefix p[EF_EDGE_DECAP_MAX_SOURCES];
	uint32_t n = RTE_MIN(cfg->decap.n_sources, EF_EDGE_DECAP_MAX_SOURCES);

	memset(p, 0, sizeof(p[0]) * n);
	for (uint32_t i = 0; i < n; i++) {
		const struct ef_cfg_prefix *c = &cfg->decap.sources[i];

		p[i].family = c->addr.family;
		if (c->addr.family == EF_AF_INET6)
			memcpy(p[i].addr6, c->addr.v6, 16);
		else
			p[i].addr = c->addr.v4;
		p[i].len = c->len;
	}
	g->decap = ef_edge_decap_create(p, n, cfg->decap.gue_port);
	return g->decap == NULL ? -rte_errno : 0;
}

/* Threads of the next ef_svc_gen_build() without prev (1: this one). */
static unsigned int build_threads = 1;
static rte_cpuset_t build_cpus;
static bool build_cpus_set;

void
ef_svc_set_build_threads(unsigned int n, const rte_cpuset_t *cpus)
{
	build_threads = RTE_MAX(RTE_MIN(n, (unsigned int)EF_SVC_BUILD_THREADS_MAX),
				1u);
	build_cpus_set = cpus != NULL;
	if (cpus != NULL)
		build_cpus = *cpus;
}

struct pools_job {
	struct ef_svc_gen *g;
	uint32_t from, to;	/* sps[from, to) */
	int socket_id;
	int rc;
	pthread_t tid;
};

static void *
pools_range(void *arg)
{
	struct pools_job *j = arg;

	j->rc = 0;
	for (uint32_t i = j->from; i < j->to; i++) {
		struct ef_svc_port *sp = &j->g->sps[i];

		if (sp->pool != NULL)
			continue;
		sp->pool = ef_svc_pool_build(j->g, sp, j->socket_id);
		if (sp->pool == NULL) {
			j->rc = -ENOMEM;
			break;
		}
	}
	return NULL;
}

/*
 * The pools service_build() left to build: their Maglev tables are half a
 * first generation's build with 100 000 services, and each is a pure
 * function of its port (ef_svc_pool_build reads the port and the health
 * entries, writes sp->pool; rte_malloc is thread-safe), so n threads
 * build contiguous ranges of ports. Only for a generation no worker reads
 * yet, when nothing else runs (ef_svc_set_build_threads). 0 or -ENOMEM.
 */
static int
pools_build(struct ef_svc_gen *g, unsigned int n, int socket_id)
{
	struct pools_job jobs[EF_SVC_BUILD_THREADS_MAX];
	uint32_t per = (g->n_sps + n - 1) / n;
	unsigned int started = 1;
	int rc = 0;

	for (unsigned int t = 0; t < n; t++) {
		jobs[t].g = g;
		jobs[t].from = RTE_MIN(t * per, g->n_sps);
		jobs[t].to = RTE_MIN(jobs[t].from + per, g->n_sps);
		jobs[t].socket_id = socket_id;
		jobs[t].rc = 0;
	}
	pthread_attr_t attr;
	bool attr_ok = pthread_attr_init(&attr) == 0;

	/* not this thread's one CPU: the CPUs the caller named */
	if (attr_ok && build_cpus_set)
		pthread_attr_setaffinity_np(&attr, sizeof(build_cpus),
					    &build_cpus);
	/* threads 1..n-1 each take a range; this one takes range 0 */
	for (unsigned int t = 1; t < n; t++) {
		if (pthread_create(&jobs[t].tid, attr_ok ? &attr : NULL,
				   pools_range, &jobs[t]) != 0)
			break;	/* the rest is built below, here */
		started++;
	}
	if (attr_ok)
		pthread_attr_destroy(&attr);
	pools_range(&jobs[0]);
	for (unsigned int t = 1; t < started; t++)
		pthread_join(jobs[t].tid, NULL);
	for (unsigned int t = started; t < n; t++)
		pools_range(&jobs[t]);
	for (unsigned int t = 0; t < n; t++)
		if (jobs[t].rc != 0)
			rc = jobs[t].rc;
	return rc;
}

struct ef_svc_gen *
ef_svc_gen_build(struct ef_cfg *cfg, uint64_t number,
		 const struct ef_svc_gen *prev, struct ef_svc_registry *reg,
		 int socket_id, char *err, size_t errlen)
{
	struct ef_svc_gen *g;
	const char *what = "out of memory";

	g = rte_zmalloc_socket("ef_gen", sizeof(*g), 0, socket_id);
	if (g == NULL) {
		ef_cfg_free(cfg);
		snprintf(err, errlen, "%s", what);
		rte_errno = ENOMEM;
		return NULL;
	}
	g->cfg = cfg;
	g->number = number;
	g->reg = reg;
	g->snat_port_min = cfg->snat_port_min;
	g->snat_port_max = cfg->snat_port_max;

	if (gen_alloc(g, cfg, reg, socket_id) != 0)
		goto fail;
	g->routes = ef_route_build(cfg->interfaces, cfg->n_interfaces,
				   cfg->routes, cfg->n_routes, socket_id);
	if (g->routes == NULL) {
		what = "routes: cannot build the route table";
		goto fail;
	}
	if (own_node_addresses(g, cfg) != 0)
		goto fail;
	if (node_keys(g, cfg) != 0) {
		what = "nodes: more IPv6 node addresses than one process "
			"keys (restart edgefwd)";
		goto fail;
	}
	if (cfg->decap.enabled && decap_build(g, cfg) != 0) {
		what = "decap: cannot build the source set";
		goto fail;
	}
	/* a first generation of many ports: its pools in build_threads */
	g->pools_deferred = prev == NULL && build_threads > 1 &&
		cfg->n_services >= EF_SVC_BUILD_THREADS_MIN;
	for (uint32_t s = 0; s < cfg->n_services; s++)
		if (service_build(g, s, prev, reg, socket_id, &what) != 0)
			goto fail;
	if (g->pools_deferred && pools_build(g, build_threads, socket_id) != 0)
		goto fail;
	g->pools_deferred = false;
	return g;
fail:
	snprintf(err, errlen, "%s", what);
	ef_svc_gen_free(g);
	rte_errno = ENOMEM;
	return NULL;
}

int32_t
ef_svc_lookup(const struct ef_svc_gen *g, uint32_t addr, uint16_t port,
	      uint8_t proto)
{
	struct ef_svc_fe_key k = { .addr = addr, .port = port, .proto = proto };
	void *data;

	if (rte_hash_lookup_data(g->fe_hash, &k, &data) < 0)
		return -1;
	return (int32_t)(uintptr_t)data;
}

void
ef_svc_lookup_bulk(const struct ef_svc_gen *g, const struct ef_svc_fe_key *keys,
		   uint32_t n, int32_t *fi)
{
	const void *kp[EF_SVC_LOOKUP_BULK_MAX];
	void *data[EF_SVC_LOOKUP_BULK_MAX];

	RTE_BUILD_BUG_ON(EF_SVC_LOOKUP_BULK_MAX > RTE_HASH_LOOKUP_BULK_MAX);
	/* chunks of what one rte_hash bulk call takes */
	for (uint32_t at = 0; at < n; at += EF_SVC_LOOKUP_BULK_MAX) {
		uint32_t c = RTE_MIN(n - at, (uint32_t)EF_SVC_LOOKUP_BULK_MAX);
		uint64_t hits = 0;

		for (uint32_t i = 0; i < c; i++)
			kp[i] = &keys[at + i];
		if (rte_hash_lookup_bulk_data(g->fe_hash, kp, c, &hits,
					      data) < 0)
			hits = 0;
		for (uint32_t i = 0; i < c; i++)
			fi[at + i] = (hits >> i) & 1 ?
				(int32_t)(uintptr_t)data[i] : -1;
	}
}

uint32_t
ef_svc_owned4(const struct ef_svc_gen *g, uint32_t addr)
{
	void *data;

	if (rte_hash_lookup_data(g->owned, &addr, &data) < 0)
		return 0;
	return (uint32_t)(uintptr_t)data;
}

bool
ef_svc_endpoint_exists(const struct ef_svc_gen *g, uint32_t svc_id,
		       uint32_t addr, uint16_t port, uint8_t proto)
{
	struct ef_svc_ep_key k = {
		.svc_id = svc_id, .addr = addr, .port = port, .proto = proto,
	};

	return rte_hash_lookup(g->ep_hash, &k) >= 0;
}


int32_t
ef_svc_find(const struct ef_svc_gen *g, const char *name)
{
	int32_t id = registry_id(g->reg, name, false);

	if (id < 0 || (uint32_t)id >= g->by_stable_n)
		return -1;
	return g->by_stable[id];
}

const struct ef_svc_frontend *
ef_svc_lookup6(const struct ef_svc_gen *g, const uint8_t addr[16],
	       uint16_t port, uint8_t proto)
{
	struct ef_svc_fe6_key k = { .port = port, .proto = proto };
	void *data;

	if (g->fe6_hash == NULL)
		return NULL;
	memcpy(k.addr, addr, 16);
	if (rte_hash_lookup_data(g->fe6_hash, &k, &data) < 0)
		return NULL;
	return &g->fes[(uintptr_t)data];
}

int
ef_svc_owned6(const struct ef_svc_gen *g, const uint8_t addr[16])
{
	void *data;

	if (g->owned6 == NULL ||
	    rte_hash_lookup_data(g->owned6, addr, &data) < 0)
		return 0;
	return (int)(uintptr_t)data;
}

bool
ef_svc_endpoint_exists6(const struct ef_svc_gen *g, uint32_t svc_id,
			const uint8_t addr[16], uint16_t port, uint8_t proto)
{
	struct ef_svc_ep6_key k = {
		.svc_id = svc_id, .port = port, .proto = proto,
	};

	if (g->ep6_hash == NULL)
		return false;
	memcpy(k.addr, addr, 16);
	return rte_hash_lookup(g->ep6_hash, &k) >= 0;
}
