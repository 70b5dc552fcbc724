/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "ef_ctl.h"
#include "ef_exc.h"
#include "ef_health.h"
#include "ef_health_node.h"
#include "ef_nat.h"
#include "ef_neigh.h"
#include "ef_route.h"
#include "ef_svc.h"

#include "ctl_priv.h"

EF_LOG_REGISTER(ctl);

#define NEIGH_ENTRIES 4096
#define POOL_DQ_SIZE 4096	/* pools waiting for a grace period */
/* Generations a reload retired (past their grace period) that wait to be
 * freed: at most this many, else the oldest is freed by the reload. */
#define CTL_RETIRED_MAX 2

/*
 * Telemetry: DPDK runs its handlers on its own threads (one per client
 * connection), not on the control lcore. Reads of the generation from
 * there are protected by RCU: the QSBR variable has n_workers + 1
 * threads, id n_workers being "the telemetry reader", online only inside
 * ef_ctl_read_lock()/ef_ctl_read_unlock() (a mutex makes the id one
 * thread's at a time; that thread is not the fast path). Anything that
 * mutates (reload) is posted to the control lcore and waited for
 * (ef_ctl_reload_wait()): a reload never runs on a telemetry thread.
 */
struct ef_ctl {
	struct ef_fwd_shared sh;
	struct ef_svc_registry *reg;
	struct ef_exc *exc;
	struct ef_health *health;
	struct ef_health_nodes *nodes;	/* edge services' node prober */
	struct rte_rcu_qsbr_dq *dq;	/* old pools after health flips */
	struct ef_nat_map nat_map;
	char file[EF_CFG_FILE_MAX];
	int reload_requested;	/* atomic */
	uint64_t reloads_ok;	/* atomic (relaxed): telemetry reads */
	uint64_t reloads_failed;
	uint64_t tsc_per_ms;
	uint64_t started_ms;	/* announce clock */
	uint64_t born_ms;	/* for uptime */
	uint32_t announces;	/* repeats done after start or reload */
	uint32_t reader_id;	/* QSBR id of the telemetry reader */
	pthread_mutex_t reader_lock;
	/* telemetry reload requests: req_seq posted, done_seq answered */
	pthread_mutex_t req_lock;
	uint64_t req_seq;	/* atomic */
	uint64_t done_seq;	/* atomic */
	int req_rc;
	uint64_t req_gen;
	char req_err[EF_CTL_ERR_MAX];
	pthread_mutex_t err_lock;
	char last_err[EF_CTL_ERR_MAX];	/* of the last failed reload */
	double last_reload_ms;
	double parse_ms;	/* of the file being reloaded (log line) */
	/* Freeing a generation of 10 000 services and libconfig's tree of
	 * its file costs as much as building it (0.15-0.45 s, measured at
	 * 10 000 x 10): a reload answers once the new generation is
	 * published and the old one past its grace period, and the frees
	 * run later, one per control loop iteration while no reload is
	 * waiting (ef_ctl_reclaim()), so that a burst of changes is not
	 * paid twice on the way to the data plane. Oldest first. */
	struct ef_svc_gen *retired[CTL_RETIRED_MAX];
	uint32_t n_retired;
	struct ef_ctl_drain drain;	/* ctl_drain.c */
};

/* The oldest retired generation, taken off the list (n_retired > 0). */
static struct ef_svc_gen *
ctl_retired_pop(struct ef_ctl *c)
{
	struct ef_svc_gen *g = c->retired[0];

	for (uint32_t i = 1; i < c->n_retired; i++)
		c->retired[i - 1] = c->retired[i];
	c->retired[--c->n_retired] = NULL;
	return g;
}

struct ef_ctl_drain *
ctl_drain_state(struct ef_ctl *c)
{
	return &c->drain;
}

const struct ef_ctl_drain *
ctl_drain_state_c(const struct ef_ctl *c)
{
	return &c->drain;
}

struct ef_fwd_shared *
ef_ctl_shared(struct ef_ctl *c)
{
	return &c->sh;
}

int
ef_ctl_nat_rss_set(struct ef_ctl *c, const struct ef_nat_rss *r)
{
	return ef_nat_map_set_rss(&c->nat_map, r);
}

uint64_t
ef_ctl_generation(const struct ef_ctl *c)
{
	return __atomic_load_n(&c->sh.gen, __ATOMIC_ACQUIRE)->number;
}

const char *
ef_ctl_config_file(const struct ef_ctl *c)
{
	return c->file;
}

static uint32_t
mbufs_needed(const struct ef_cfg *cfg, uint32_t n_workers)
{
	uint32_t per_port = n_workers * (cfg->dataplane.rx_descriptors +
					 cfg->dataplane.tx_descriptors);

	/* rings between workers and the control lcore, bursts in flight */
	return cfg->n_interfaces * per_port +
		n_workers * (n_workers + 2) * EF_FWD_RING_SIZE / 4 + 1024;
}

/* The control state with nothing allocated yet but itself (NULL: out of
 * memory). */
static struct ef_ctl *
ctl_alloc(const char *file, uint32_t n_workers, uint16_t n_ports)
{
	struct ef_ctl *c = calloc(1, sizeof(*c));
	struct ef_fwd_shared *sh;

	if (c == NULL)
		return NULL;
	pthread_mutex_init(&c->reader_lock, NULL);
	pthread_mutex_init(&c->req_lock, NULL);
	pthread_mutex_init(&c->err_lock, NULL);
	sh = &c->sh;
	snprintf(c->file, sizeof(c->file), "%s", file);
	c->tsc_per_ms = RTE_MAX(rte_get_tsc_hz() / 1000, (uint64_t)1);
	c->born_ms = rte_rdtsc() / c->tsc_per_ms;
	c->reader_id = n_workers;
	sh->n_workers = n_workers;
	sh->n_ports = n_ports;
	for (uint32_t i = 0; i < RTE_MAX_ETHPORTS; i++)
		sh->port_to_if[i] = -1;
	return c;
}

static int
pool_create(struct ef_ctl *c, const struct ef_cfg *cfg, char *err,
	    size_t errlen)
{
	uint32_t n_workers = c->sh.n_workers;
	uint32_t need = mbufs_needed(cfg, n_workers);
	uint32_t room;

	if (cfg->dataplane.mbufs < need) {
		snprintf(err, errlen, "%s: dataplane.mbufs = %u is too small "
			 "for %u interfaces x %u workers with %u/%u descriptors:"
			 " need at least %u", cfg->file, cfg->dataplane.mbufs,
			 cfg->n_interfaces, n_workers,
			 cfg->dataplane.rx_descriptors,
			 cfg->dataplane.tx_descriptors, need);
		return -1;
	}
	room = ef_fwd_mbuf_buf_size(cfg);
	c->sh.pool = rte_pktmbuf_pool_create("ef_mbufs", cfg->dataplane.mbufs,
					     256, 0, (uint16_t)room,
					     (int)rte_socket_id());
	if (c->sh.pool == NULL) {
		snprintf(err, errlen, "cannot allocate %u mbufs of %u bytes: "
			 "%s (more hugepages, or a smaller dataplane.mbufs%s)",
			 cfg->dataplane.mbufs, room, rte_strerror(rte_errno),
			 room > RTE_MBUF_DEFAULT_BUF_SIZE ?
			 " or interface mtu" : "");
		return -1;
	}
	if (room > RTE_MBUF_DEFAULT_BUF_SIZE)
		EF_CTL_LOG(INFO, "jumbo frames: %u mbufs of %u bytes (%u MiB)",
			   cfg->dataplane.mbufs, room, (uint32_t)(
			   (uint64_t)cfg->dataplane.mbufs *
			   (room + sizeof(struct rte_mbuf)) >> 20));
	return 0;
}

/* The QSBR variable (workers 0..n-1 and the telemetry reader, id
 * n_workers) and the defer queue of old pools. */
static int
rcu_create(struct ef_ctl *c, char *err, size_t errlen)
{
	struct ef_fwd_shared *sh = &c->sh;
	size_t qsz = rte_rcu_qsbr_get_memsize(sh->n_workers + 1);
	char dqn[RTE_RING_NAMESIZE];
	struct rte_rcu_qsbr_dq_parameters dp = {
		.name = dqn,
		.size = POOL_DQ_SIZE,
		.esize = sizeof(void *),
		.trigger_reclaim_limit = 64,
		.max_reclaim_size = 256,
		.free_fn = ef_svc_pool_dq_free,
	};
	static uint32_t serial;

	sh->qsbr = rte_zmalloc("ef_qsbr", qsz, RTE_CACHE_LINE_SIZE);
	if (sh->qsbr == NULL ||
	    rte_rcu_qsbr_init(sh->qsbr, sh->n_workers + 1) != 0 ||
	    rte_rcu_qsbr_thread_register(sh->qsbr, c->reader_id) != 0) {
		snprintf(err, errlen, "RCU state: out of memory");
		return -1;
	}
	dp.v = sh->qsbr;
	/* unique per process: tests create several controls */
	snprintf(dqn, sizeof(dqn), "efpool%u", __atomic_fetch_add(
		&serial, 1, __ATOMIC_RELAXED));
	c->dq = rte_rcu_qsbr_dq_create(&dp);
	if (c->dq == NULL) {
		snprintf(err, errlen, "RCU defer queue: %s",
			 rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* The neighbour table, with the configured static entries on the
 * interfaces whose prefix holds them. */
static int
neigh_create(struct ef_ctl *c, const struct ef_cfg *cfg, char *err,
	     size_t errlen)
{
	struct ef_fwd_shared *sh = &c->sh;

	sh->neigh = ef_neigh_create(NEIGH_ENTRIES, sh->n_workers,
				    (int)rte_socket_id());
	if (sh->neigh == NULL || ef_neigh_rcu_attach(sh->neigh, sh->qsbr) != 0) {
		snprintf(err, errlen, "neighbour table: %s",
			 rte_strerror(rte_errno));
		return -1;
	}
	for (uint32_t i = 0; i < cfg->n_neighbors; i++) {
		const struct ef_cfg_neighbor *n = &cfg->neighbors[i];

		for (uint32_t k = 0; k < cfg->n_interfaces; k++) {
			const struct ef_cfg_interface *ci = &cfg->interfaces[k];

			if (ef_addr_in_prefix(&n->address, &ci->address,
					      ci->prefix_len))
				ef_neigh_set_static4(sh->neigh, (uint16_t)k,
						     n->address.v4, n->mac);
			else if (ci->address6.family == EF_AF_INET6 &&
				 ef_addr_in_prefix(&n->address, &ci->address6,
						   ci->prefix_len6))
				ef_neigh_set_static6(sh->neigh, (uint16_t)k,
						     n->address.v6, n->mac);
		}
	}
	return 0;
}

static int
snat_init(struct ef_ctl *c, const struct ef_cfg *cfg, char *err,
	  size_t errlen)
{
	int ret = ef_nat_map_init(&c->nat_map, cfg->snat_addresses,
				  cfg->n_snat_addresses, cfg->snat_port_min,
				  cfg->snat_port_max, c->sh.n_workers);

	if (ret != 0) {
		snprintf(err, errlen, "node.snat_addresses/snat_port_range: "
			 "%s (at most %u addresses, at least one port per "
			 "worker)", strerror(-ret),
			 (unsigned int)EF_NAT_MAX_ADDRS);
		return -1;
	}
	c->sh.nat_map = &c->nat_map;
	return 0;
}

static int
registry_create(struct ef_ctl *c, uint32_t max_services, char *err,
		size_t errlen)
{
	c->reg = ef_svc_registry_create(max_services);
	if (c->reg == NULL) {
		snprintf(err, errlen, "service registry: out of memory");
		return -1;
	}
	return 0;
}

/* The first generation's pools in one thread per CPU of EAL's lcores
 * (ef_svc_set_build_threads), before the workers take them. */
static void
build_threads_on_lcores(void)
{
	rte_cpuset_t cpus;
	unsigned int lcore;

	CPU_ZERO(&cpus);
	RTE_LCORE_FOREACH(lcore) {
		rte_cpuset_t one = rte_lcore_cpuset(lcore);

		CPU_OR(&cpus, &cpus, &one);
	}
	ef_svc_set_build_threads((unsigned int)CPU_COUNT(&cpus), &cpus);
}

struct ef_ctl *
ef_ctl_create(struct ef_cfg *cfg, const char *file, uint32_t n_workers,
	      uint32_t max_services, char *err, size_t errlen)
{
	struct ef_ctl *c = ctl_alloc(file, n_workers,
				     (uint16_t)cfg->n_interfaces);

	if (c == NULL) {
		ef_cfg_free(cfg);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (pool_create(c, cfg, err, errlen) != 0 ||
	    rcu_create(c, err, errlen) != 0 ||
	    neigh_create(c, cfg, err, errlen) != 0 ||
	    snat_init(c, cfg, err, errlen) != 0 ||
	    registry_create(c, max_services, err, errlen) != 0) {
		ef_cfg_free(cfg);
		goto fail;
	}
	/* the first generation owns cfg from here, also when it fails; no
	 * worker runs yet, so its pools are built on every lcore's CPU */
	build_threads_on_lcores();
	c->sh.gen = ef_svc_gen_build(cfg, 1, NULL, c->reg, (int)rte_socket_id(),
				     err, errlen);
	ef_svc_set_build_threads(1, NULL);
	if (c->sh.gen == NULL)
		goto fail;
	return c;
fail:
	ef_ctl_free(c);
	return NULL;
}

static void send_ns_cb(void *arg, uint16_t iface, const uint8_t target[16]);

int
ef_ctl_start(struct ef_ctl *c, char *err, size_t errlen)
{
	struct ef_fwd_shared *sh = &c->sh;

	for (uint32_t w = 0; w < sh->n_workers; w++) {
		sh->workers[w] = ef_fwd_worker_create(sh, w, 0,
			ef_svc_registry_capacity(c->reg), (int)rte_socket_id());
		if (sh->workers[w] == NULL) {
			snprintf(err, errlen, "worker %u: %s (conntrack.max_flows"
				 " needs memory: lower it or add hugepages)", w,
				 rte_strerror(rte_errno));
			return -1;
		}
	}
	if (ef_fwd_connect(sh) != 0) {
		snprintf(err, errlen, "handoff rings: out of memory");
		return -1;
	}
	c->exc = ef_exc_create(sh->gen->cfg, sh, err, errlen);
	if (c->exc == NULL)
		return -1;
	ef_neigh_set_send6(sh->neigh, send_ns_cb, c);
	c->started_ms = rte_rdtsc() / c->tsc_per_ms;
	/* probes and healthCheckNodePort use the exception path's
	 * addresses: after the TAPs exist */
	c->health = ef_health_create();
	if (c->health == NULL) {
		snprintf(err, errlen, "health checks: %s",
			 rte_strerror(rte_errno));
		return -1;
	}
	if (ef_health_sync(c->health, sh->gen, c->started_ms) < 0) {
		snprintf(err, errlen, "health checks: out of memory");
		return -1;
	}
	c->nodes = ef_health_nodes_create();
	if (c->nodes == NULL ||
	    ef_health_nodes_sync(c->nodes, sh->gen, c->started_ms) < 0) {
		snprintf(err, errlen, "node health checks: %s",
			 rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

static void
send_arp_cb(void *arg, uint16_t iface, uint32_t ip)
{
	struct ef_ctl *c = arg;

	ef_exc_send_arp(&c->sh, iface, ip);
}

static void
send_ns_cb(void *arg, uint16_t iface, const uint8_t target[16])
{
	struct ef_ctl *c = arg;

	ef_exc_send_ns(&c->sh, iface, target);
}

/*
 * IPv6 (issue 12): unsolicited NAs (RFC 4861 7.2.6: to ff02::1, override)
 * for the interfaces' IPv6 addresses and the IPv6 VIPs on their subnets,
 * with the same repeats as the gratuitous ARPs; an NS for each IPv6
 * gateway not resolved yet.
 */
static void
announce6(struct ef_ctl *c)
{
	struct ef_fwd_shared *sh = &c->sh;
	const struct ef_cfg *cfg = sh->gen->cfg;
	uint8_t mac[6];

	for (uint16_t i = 0; i < sh->n_ports; i++) {
		const struct ef_cfg_interface *ci = &cfg->interfaces[i];

		if (!sh->ports[i].has_addr6)
			continue;
		ef_exc_send_una(sh, i, sh->ports[i].addr6);
		if (ci->gateway6.family == EF_AF_INET6 &&
		    ef_neigh_lookup6(sh->neigh, i, ci->gateway6.v6, mac) != 0)
			ef_exc_send_ns(sh, i, ci->gateway6.v6);
	}
	for (uint32_t s = 0; s < cfg->n_services; s++) {
		const struct ef_cfg_service *cs = &cfg->services[s];

		for (uint32_t k = 0; k < cs->n_load_balancer_ips6 +
		     cs->n_external_ips6; k++) {
			const uint8_t *a = k < cs->n_load_balancer_ips6 ?
				cs->load_balancer_ips6[k].v6 :
				cs->external_ips6[k - cs->n_load_balancer_ips6].v6;
			struct ef_addr x = { .family = EF_AF_INET6 };

			memcpy(x.v6, a, 16);
			for (uint16_t i = 0; i < sh->n_ports; i++) {
				const struct ef_cfg_interface *ci =
					&cfg->interfaces[i];

				if (sh->ports[i].has_addr6 &&
				    ef_addr_in_prefix(&x, &ci->address6,
						      ci->prefix_len6))
					ef_exc_send_una(sh, i, a);
			}
		}
	}
}

/*
 * ARP once for every next hop the generation can use and we have no entry
 * for, so the first packets of a flow do not wait for resolution (the
 * resolver's retries start from the workers' misses). Many endpoints share
 * a next hop: a small set keeps this to one request per hop.
 */
static void
resolve_next_hops(struct ef_ctl *c)
{
	const struct ef_svc_gen *g = c->sh.gen;
	const struct ef_cfg *cfg = g->cfg;
	uint32_t nset = 1024, sent = 0;
	uint64_t *set;
	struct ef_nexthop nh;
	uint8_t mac[6];

	if (c->exc == NULL)
		return;	/* not started (tests, benchmarks): no way out */
	set = calloc(nset, sizeof(*set));
	if (set == NULL)
		return;
	for (uint32_t s = 0; s < cfg->n_services + cfg->n_interfaces; s++) {
		uint32_t n = s < cfg->n_services ?
			cfg->services[s].n_endpoints : 1;

		for (uint32_t e = 0; e < n; e++) {
			uint64_t key;
			uint32_t h;

			if (s < cfg->n_services) {
				if (ef_route_lookup4(g->routes,
					cfg->services[s].endpoints[e].address.v4,
					&nh) != 0)
					continue;
			} else {
				const struct ef_cfg_interface *ci =
					&cfg->interfaces[s - cfg->n_services];

				if (ci->gateway.family != EF_AF_INET4)
					continue;
				nh.iface = (uint16_t)(s - cfg->n_services);
				nh.gw = ci->gateway.v4;
			}
			key = ((uint64_t)nh.iface << 32 | nh.gw) + 1;
			for (h = (uint32_t)(key * 0x9e3779b97f4a7c15ULL >> 40) %
			     nset; set[h] != 0 && set[h] != key;
			     h = (h + 1) % nset)
				;
			if (set[h] == key)
				continue;
			if (sent >= nset / 2)
				goto out;	/* bounded: misses do the rest */
			set[h] = key;
			sent++;
			if (ef_neigh_lookup4(c->sh.neigh, nh.iface, nh.gw,
					     mac) != 0)
				ef_exc_send_arp(&c->sh, nh.iface, nh.gw);
		}
	}
out:
	free(set);
}

/*
 * Peers may come up after us (a cable plugged, a namespace attached): the
 * announcement and next-hop ARP are repeated ANNOUNCE_REPEATS times,
 * ANNOUNCE_GAP_MS apart, after start and after each reload, as
 * MetalLB-style speakers do with gratuitous ARP.
 */
#define ANNOUNCE_REPEATS 3
#define ANNOUNCE_GAP_MS 1000

void
ef_ctl_announce(struct ef_ctl *c)
{
	struct ef_fwd_shared *sh = &c->sh;
	const struct ef_cfg *cfg = sh->gen->cfg;

	for (uint16_t i = 0; i < sh->n_ports; i++)
		ef_exc_send_arp(sh, i, sh->ports[i].addr);
	/* VIPs: announce on the interface whose subnet holds them */
	for (uint32_t s = 0; s < cfg->n_services; s++) {
		const struct ef_cfg_service *cs = &cfg->services[s];

		for (uint32_t k = 0; k < cs->n_load_balancer_ips +
		     cs->n_external_ips; k++) {
			const struct ef_addr *a = k < cs->n_load_balancer_ips ?
				&cs->load_balancer_ips[k] :
				&cs->external_ips[k - cs->n_load_balancer_ips];

			for (uint16_t i = 0; i < sh->n_ports; i++) {
				const struct ef_cfg_interface *ci =
					&cfg->interfaces[i];

				if (ef_addr_in_prefix(a, &ci->address,
						      ci->prefix_len)) {
					struct rte_mbuf *m;
					uint8_t *d;

					m = rte_pktmbuf_alloc(sh->pool);
					if (m == NULL)
						continue;
					d = (uint8_t *)rte_pktmbuf_append(m, 60);
					if (d == NULL) {
						rte_pktmbuf_free(m);
						continue;
					}
					memset(d, 0, 60);
					ef_pkt_build_arp_request(d,
						sh->ports[i].mac, a->v4, a->v4);
					ef_exc_inject(sh, i, m);
				}
			}
		}
	}
	announce6(c);
	resolve_next_hops(c);
}

void
ef_ctl_request_reload(struct ef_ctl *c)
{
	__atomic_store_n(&c->reload_requested, 1, __ATOMIC_RELEASE);
}

/* Settings that need a restart: what they are, or NULL if none changed. */
static const char *
restart_only_change(const struct ef_cfg *a, const struct ef_cfg *b)
{
	if (a->n_interfaces != b->n_interfaces)
		return "interfaces";
	for (uint32_t i = 0; i < a->n_interfaces; i++) {
		const struct ef_cfg_interface *x = &a->interfaces[i];
		const struct ef_cfg_interface *y = &b->interfaces[i];

		if (strcmp(x->port, y->port) != 0 ||
		    !ef_addr_eq(&x->address, &y->address) ||
		    x->prefix_len != y->prefix_len || x->mtu != y->mtu ||
		    x->address6.family != y->address6.family ||
		    (x->address6.family == EF_AF_INET6 &&
		     (!ef_addr_eq(&x->address6, &y->address6) ||
		      x->prefix_len6 != y->prefix_len6)))
			return "interfaces";
	}
	if (a->n_snat_addresses != b->n_snat_addresses ||
	    a->snat_port_min != b->snat_port_min ||
	    a->snat_port_max != b->snat_port_max)
		return "node.snat_addresses/snat_port_range";
	for (uint32_t i = 0; i < a->n_snat_addresses; i++)
		if (!ef_addr_eq(&a->snat_addresses[i], &b->snat_addresses[i]))
			return "node.snat_addresses";
	return NULL;
}

static void
reload_failed(struct ef_ctl *c, const char *err)
{
	__atomic_fetch_add(&c->reloads_failed, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&c->err_lock);
	snprintf(c->last_err, sizeof(c->last_err), "%s", err);
	pthread_mutex_unlock(&c->err_lock);
	EF_CTL_LOG(ERR, "reload of %s rejected, generation %" PRIu64
		   " stays: %s", c->file, c->sh.gen->number, err);
}

int
ef_ctl_reload_cfg(struct ef_ctl *c, struct ef_cfg *cfg, char *err,
		  size_t errlen)
{
	struct ef_fwd_shared *sh = &c->sh;
	struct ef_svc_gen *old = sh->gen, *g;
	const char *what;
	uint64_t t0 = rte_rdtsc();
	double parse_ms = c->parse_ms, published_ms;

	c->parse_ms = 0;	/* a model handed in directly: not parsed here */

	what = restart_only_change(old->cfg, cfg);
	if (what != NULL) {
		snprintf(err, errlen, "%s: %s cannot change at run time "
			 "(restart edgefwd); the running configuration stays",
			 cfg->file, what);
		ef_cfg_free(cfg);
		reload_failed(c, err);
		return -1;
	}
	if (memcmp(&old->cfg->dataplane, &cfg->dataplane,
		   sizeof(cfg->dataplane)) != 0 ||
	    old->cfg->conntrack.max_flows != cfg->conntrack.max_flows)
		EF_CTL_LOG(WARNING, "%s: dataplane.* and conntrack.max_flows "
			   "changes take effect at restart only (ports, "
			   "queues and tables are sized at start); the rest "
			   "of the file is applied\n", cfg->file);
	if (old->cfg->edge.flow_timeout != cfg->edge.flow_timeout ||
	    (old->cfg->n_nodes == 0) != (cfg->n_nodes == 0))
		EF_CTL_LOG(WARNING, "%s: edge.flow_timeout and the size of the "
			   "edge flow tables (nodes present or not) take "
			   "effect at restart only; the rest of the edge "
			   "settings, nodes, weights and decap are applied\n",
			   cfg->file);
	g = ef_svc_gen_build(cfg, old->number + 1, old, c->reg,
			     (int)rte_socket_id(), err, errlen);
	if (g == NULL) {
		reload_failed(c, err);
		return -1;
	}
	/* one release store: a worker sees the old or the new one whole */
	__atomic_store_n(&sh->gen, g, __ATOMIC_RELEASE);
	published_ms = (double)(rte_rdtsc() - t0) / (double)c->tsc_per_ms;
	/* g's parser tree is freed by ef_ctl_reclaim(), old's (if the
	 * reclaimer had not got to it) with old */
	/* the health engine moves to g before old goes away */
	if (c->health != NULL &&
	    ef_health_sync(c->health, g, rte_rdtsc() / c->tsc_per_ms) < 0)
		EF_CTL_LOG(ERR, "health checks: out of memory while adopting "
			   "generation %" PRIu64, g->number);
	if (c->nodes != NULL &&
	    ef_health_nodes_sync(c->nodes, g, rte_rdtsc() / c->tsc_per_ms) < 0)
		EF_CTL_LOG(ERR, "node health checks: out of memory while adopting "
			   "generation %" PRIu64, g->number);
	rte_rcu_qsbr_synchronize(sh->qsbr, RTE_QSBR_THRID_INVALID);
	/* nothing reads old any more: freed later (ef_ctl_reclaim()) */
	if (c->n_retired == CTL_RETIRED_MAX)
		ef_svc_gen_free(ctl_retired_pop(c));
	c->retired[c->n_retired++] = old;
	/* idle flows to removed endpoints go now, not at their timeout */
	ef_fwd_request_sweep(sh, g->number);
	__atomic_fetch_add(&c->reloads_ok, 1, __ATOMIC_RELAXED);
	c->last_reload_ms = (double)(rte_rdtsc() - t0) /
		(double)c->tsc_per_ms;
	EF_CTL_LOG(INFO, "reloaded %s: generation %" PRIu64 ", %u services, "
		   "%u endpoints, parsed in %.1f ms, built and published in "
		   "%.1f ms (%u of %u endpoint pools unchanged, copied), "
		   "%.3f ms in all after the parse (frees deferred)",
		   cfg->file, g->number,
		   g->cfg->n_services, g->n_health, parse_ms, published_ms,
		   g->n_pools_reused, g->n_sps, c->last_reload_ms);
	resolve_next_hops(c);
	c->announces = 0;
	c->started_ms = rte_rdtsc() / c->tsc_per_ms;
	err[0] = '\0';
	return 0;
}

int
ef_ctl_reload(struct ef_ctl *c, char *err, size_t errlen)
{
	struct ef_cfg_errors errs = { 0 };
	struct ef_cfg *cfg;
	uint64_t t0 = rte_rdtsc();

	cfg = ef_cfg_load_keep_tree(c->file, &errs);
	c->parse_ms = (double)(rte_rdtsc() - t0) / (double)c->tsc_per_ms;
	if (cfg == NULL) {
		size_t off = 0;

		err[0] = '\0';
		for (uint32_t i = 0; i < errs.n && off + 1 < errlen; i++) {
			int k = snprintf(err + off, errlen - off, "%s%s",
					 i == 0 ? "" : "; ", errs.msgs[i]);

			if (k < 0)
				break;
			off += (size_t)k;
		}
		ef_cfg_errors_clear(&errs);
		reload_failed(c, err);
		return -1;
	}
	return ef_ctl_reload_cfg(c, cfg, err, errlen);
}

int
ef_ctl_reload_wait(struct ef_ctl *c, uint32_t timeout_ms, uint64_t *gen,
		   char *err, size_t errlen)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };
	uint64_t seq;
	int rc = -ETIMEDOUT;

	pthread_mutex_lock(&c->req_lock);
	seq = __atomic_load_n(&c->req_seq, __ATOMIC_RELAXED) + 1;
	__atomic_store_n(&c->req_seq, seq, __ATOMIC_RELEASE);
	for (uint32_t t = 0; t < timeout_ms; t++) {
		if (__atomic_load_n(&c->done_seq, __ATOMIC_ACQUIRE) >= seq) {
			rc = c->req_rc;
			*gen = c->req_gen;
			snprintf(err, errlen, "%s", c->req_err);
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (rc == -ETIMEDOUT) {
		*gen = ef_ctl_generation(c);
		snprintf(err, errlen, "the control lcore did not answer in %u "
			 "ms; the reload may still happen", timeout_ms);
	}
	pthread_mutex_unlock(&c->req_lock);
	return rc;
}

static bool
reload_waiting(struct ef_ctl *c)
{
	return __atomic_load_n(&c->reload_requested, __ATOMIC_ACQUIRE) != 0 ||
		__atomic_load_n(&c->req_seq, __ATOMIC_ACQUIRE) !=
		__atomic_load_n(&c->done_seq, __ATOMIC_RELAXED);
}

bool
ef_ctl_reclaim(struct ef_ctl *c)
{
	struct ef_svc_gen *g = c->sh.gen;
	uint64_t t0 = rte_rdtsc();

	if (reload_waiting(c))
		return false;
	if (g->cfg->parse_tree != NULL) {
		ef_cfg_release_tree(g->cfg);
		EF_CTL_LOG(DEBUG, "generation %" PRIu64 ": parser tree freed in "
			   "%.1f ms", g->number, (double)(rte_rdtsc() - t0) /
			   (double)c->tsc_per_ms);
		return true;
	}
	if (c->n_retired == 0)
		return false;
	g = ctl_retired_pop(c);
	EF_CTL_LOG(DEBUG, "generation %" PRIu64 " freed", g->number);
	ef_svc_gen_free(g);
	return true;
}

uint32_t
ef_ctl_retired(const struct ef_ctl *c)
{
	return c->n_retired;
}

/* Answer a reload posted by ef_ctl_reload_wait() (control lcore). */
static void
serve_reload_request(struct ef_ctl *c)
{
	uint64_t seq = __atomic_load_n(&c->req_seq, __ATOMIC_ACQUIRE);

	if (seq == __atomic_load_n(&c->done_seq, __ATOMIC_RELAXED))
		return;
	EF_CTL_LOG(INFO, "reload requested through telemetry");
	c->req_rc = ef_ctl_reload(c, c->req_err, sizeof(c->req_err));
	c->req_gen = ef_ctl_generation(c);
	__atomic_store_n(&c->done_seq, seq, __ATOMIC_RELEASE);
}

void
ef_ctl_poll(struct ef_ctl *c)
{
	struct ef_fwd_shared *sh = &c->sh;
	uint64_t now_ms;

	ef_exc_wait(c->exc, 1);
	ef_exc_poll(c->exc, sh);
	now_ms = rte_rdtsc() / c->tsc_per_ms;
	ef_neigh_poll(sh->neigh, now_ms, send_arp_cb, c);
	if (c->announces < ANNOUNCE_REPEATS &&
	    now_ms - c->started_ms >= (c->announces + 1) * ANNOUNCE_GAP_MS) {
		c->announces++;
		ef_ctl_announce(c);
	}
	if (c->health != NULL)
		ef_health_poll(c->health, sh->gen, now_ms, c->dq, sh->qsbr);
	if (c->nodes != NULL)
		ef_health_nodes_poll(c->nodes, sh->gen, now_ms, sh->qsbr);
	/* old pools whose grace period is over (bounded per iteration) */
	rte_rcu_qsbr_dq_reclaim(c->dq, 64, NULL, NULL, NULL);
	if (__atomic_exchange_n(&c->reload_requested, 0, __ATOMIC_ACQ_REL)) {
		char err[EF_CTL_ERR_MAX];

		EF_CTL_LOG(INFO, "reload requested (SIGHUP)");
		ef_ctl_reload(c, err, sizeof(err));
	}
	serve_reload_request(c);
	/* what the last reload left to free, one item at a time */
	ef_ctl_reclaim(c);
}

const struct ef_svc_gen *
ef_ctl_read_lock(struct ef_ctl *c)
{
	pthread_mutex_lock(&c->reader_lock);
	rte_rcu_qsbr_thread_online(c->sh.qsbr, c->reader_id);
	return __atomic_load_n(&c->sh.gen, __ATOMIC_ACQUIRE);
}

void
ef_ctl_read_unlock(struct ef_ctl *c)
{
	rte_rcu_qsbr_thread_offline(c->sh.qsbr, c->reader_id);
	pthread_mutex_unlock(&c->reader_lock);
}

struct ef_health *
ef_ctl_health(struct ef_ctl *c)
{
	return c->health;
}

struct ef_health_nodes *
ef_ctl_health_nodes(struct ef_ctl *c)
{
	return c->nodes;
}

void
ef_ctl_stats(struct ef_ctl *c, struct ef_ctl_stats *out)
{
	out->reloads_ok = __atomic_load_n(&c->reloads_ok, __ATOMIC_RELAXED);
	out->reloads_failed = __atomic_load_n(&c->reloads_failed,
					      __ATOMIC_RELAXED);
	out->uptime_s = (rte_rdtsc() / c->tsc_per_ms - c->born_ms) / 1000;
	pthread_mutex_lock(&c->err_lock);
	snprintf(out->last_error, sizeof(out->last_error), "%s", c->last_err);
	pthread_mutex_unlock(&c->err_lock);
}

void
ef_ctl_free(struct ef_ctl *c)
{
	struct ef_fwd_shared *sh;

	if (c == NULL)
		return;
	sh = &c->sh;
	ef_health_nodes_free(c->nodes);
	ef_health_free(c->health);
	ef_exc_free(c->exc);
	for (uint32_t w = 0; w < sh->n_workers; w++)
		ef_fwd_worker_free(sh->workers[w]);
	/* workers are stopped (offline): every deferred pool goes now */
	if (c->dq != NULL)
		rte_rcu_qsbr_dq_delete(c->dq);
	for (uint32_t i = 0; i < c->n_retired; i++)
		ef_svc_gen_free(c->retired[i]);
	ef_svc_gen_free(sh->gen);
	ef_svc_registry_free(c->reg);
	ef_neigh_free(sh->neigh);
	rte_free(sh->qsbr);
	rte_mempool_free(sh->pool);
	pthread_mutex_destroy(&c->reader_lock);
	pthread_mutex_destroy(&c->req_lock);
	pthread_mutex_destroy(&c->err_lock);
	free(c);
}
