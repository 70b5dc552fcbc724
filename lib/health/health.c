/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_errno.h>

#include "ef_health.h"

#include "health_priv.h"

EF_LOG_REGISTER(health);

#define MAX_INFLIGHT 512	/* probes in flight (file descriptors) */
#define MAX_STARTS 64		/* probes started per scan */
#define SCAN_MS 10		/* due/timeout scan period */
#define MAX_CONNS 64		/* healthCheckNodePort clients at once */
#define CONN_TIMEOUT_MS 5000	/* a client must send its request in this */
#define MAX_LISTENERS 1024
#define EPOLL_BATCH 64

/* epoll data: kind in the top 32 bits, index below */
enum { EV_PROBE = 1, EV_LISTEN = 2, EV_CONN = 3 };

enum probe_phase { PH_IDLE, PH_CONNECT, PH_READ };

struct target {
	uint32_t stable_id;
	struct ef_addr addr;	/* the endpoint's, IPv4 or IPv6 */
	uint16_t port;		/* host order; 0 = not probed */
	uint32_t health_idx;
	const struct ef_cfg_health *hc;	/* in the adopted generation */
	struct ef_health_sm sm;
	int fd;
	uint8_t phase;
	uint8_t rlen;
	int cerr;		/* connect()'s own immediate error */
	char rbuf[16];
	uint64_t next_ms;
	uint64_t deadline_ms;
};

struct listener {
	uint32_t addr;
	uint8_t v6;		/* 1: on addr6 (an interface IPv6 address) */
	uint8_t addr6[16];
	uint16_t port;		/* host order */
	int fd;
	char service[EF_CFG_NAME_MAX];
};

struct conn {
	int fd;			/* -1: free */
	uint32_t len;
	uint64_t deadline_ms;
	char service[EF_CFG_NAME_MAX];
	char buf[EF_HEALTH_HTTP_MAX_REQUEST];
};

struct ef_health {
	int ep;
	struct target *t;
	uint32_t n_t;
	uint32_t inflight;
	uint64_t last_scan_ms;
	struct listener *l;
	uint32_t n_l;
	struct conn *conns;
	struct ef_svc_gen *gen;	/* adopted: answers read its pools */
	/* what telemetry reads, under lock */
	pthread_mutex_t lock;
	struct ef_health_status *st;
	uint32_t n_st;
	struct ef_health_stats stats;
};

static uint64_t
ev(uint32_t kind, uint32_t idx)
{
	return (uint64_t)kind << 32 | idx;
}

struct ef_health *
ef_health_create(void)
{
	struct ef_health *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	h->ep = -1;
	h->conns = calloc(MAX_CONNS, sizeof(*h->conns));
	if (h->conns == NULL)
		goto fail;
	for (uint32_t i = 0; i < MAX_CONNS; i++)
		h->conns[i].fd = -1;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	if (h->ep < 0)
		goto fail;
	pthread_mutex_init(&h->lock, NULL);
	return h;
fail:
	rte_errno = errno != 0 ? errno : ENOMEM;
	free(h->conns);
	free(h);
	return NULL;
}

static void
probe_close(struct ef_health *h, struct target *t)
{
	if (t->fd >= 0) {
		close(t->fd);	/* also leaves the epoll set */
		t->fd = -1;
		h->inflight--;
	}
	t->phase = PH_IDLE;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

void
ef_health_free(struct ef_health *h)
{
	if (h == NULL)
		return;
	for (uint32_t i = 0; i < h->n_t; i++)
		probe_close(h, &h->t[i]);
	for (uint32_t i = 0; i < h->n_l; i++)
		if (h->l[i].fd >= 0)
			close(h->l[i].fd);
	for (uint32_t i = 0; i < MAX_CONNS; i++)
		conn_close(&h->conns[i]);
	if (h->ep >= 0)
		close(h->ep);
	pthread_mutex_destroy(&h->lock);
	free(h->t);
	free(h->l);
	free(h->st);
	free(h->conns);
	free(h);
}

int
ef_health_fd(const struct ef_health *h)
{
	return h->ep;
}

static int
target_cmp(const void *a, const void *b)
{
	const struct target *x = a, *y = b;

	if (x->stable_id != y->stable_id)
		return x->stable_id < y->stable_id ? -1 : 1;
	return ef_addr_cmp(&x->addr, &y->addr);
}

/* The port probes go to: the first TCP port's target port, or 0. */
static uint16_t
probe_port(const struct ef_cfg_service *cs)
{
	if (cs->health.type == EF_HEALTH_NONE)
		return 0;
	for (uint32_t p = 0; p < cs->n_ports; p++)
		if (cs->ports[p].protocol == IPPROTO_TCP)
			return cs->ports[p].target_port;
	return 0;
}

/* Listeners wanted by g: one per (interface address, Local service's
 * health_check_node_port). Returns the count (at most cap). */
static uint32_t
wanted_listeners(const struct ef_svc_gen *g, struct listener *out,
		 uint32_t cap)
{
	const struct ef_cfg *cfg = g->cfg;
	uint32_t n = 0;

	for (uint32_t s = 0; s < cfg->n_services; s++) {
		const struct ef_cfg_service *cs = &cfg->services[s];

		if (cs->external_traffic_policy != EF_POLICY_LOCAL ||
		    cs->health_check_node_port == 0)
			continue;
		/* every interface address, of each family (issue 12) */
		for (uint32_t i = 0; i < 2 * cfg->n_interfaces && n < cap;
		     i++) {
			const struct ef_cfg_interface *ci =
				&cfg->interfaces[i / 2];

			if ((i & 1) && ci->address6.family != EF_AF_INET6)
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			out[n].v6 = (uint8_t)(i & 1);
			if (i & 1)
				memcpy(out[n].addr6, ci->address6.v6, 16);
			else
				out[n].addr = ci->address.v4;
			out[n].port = cs->health_check_node_port;
			out[n].fd = -1;
			snprintf(out[n].service, sizeof(out[n].service), "%s",
				 cs->name);
			n++;
		}
	}
	return n;
}

static int
sync_listeners(struct ef_health *h, const struct ef_svc_gen *g)
{
	struct listener *nl = calloc(MAX_LISTENERS, sizeof(*nl));
	uint32_t n, failed = 0;
	char a[EF_ADDR_STRLEN];

	if (nl == NULL)
		return -ENOMEM;
	n = wanted_listeners(g, nl, MAX_LISTENERS);
	/* keep sockets that are still wanted (no gap in answering) */
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < h->n_l; j++)
			if (h->l[j].fd >= 0 && h->l[j].addr == nl[i].addr &&
			    h->l[j].v6 == nl[i].v6 &&
			    memcmp(h->l[j].addr6, nl[i].addr6, 16) == 0 &&
			    h->l[j].port == nl[i].port) {
				nl[i].fd = h->l[j].fd;
				h->l[j].fd = -1;
				break;
			}
	for (uint32_t j = 0; j < h->n_l; j++)
		if (h->l[j].fd >= 0)
			close(h->l[j].fd);
	for (uint32_t i = 0; i < n; i++) {
		struct epoll_event e = { .events = EPOLLIN };

		if (nl[i].fd < 0) {
			int fd = nl[i].v6 ?
				ef_health_http_listen6(nl[i].addr6,
						       nl[i].port) :
				ef_health_http_listen(nl[i].addr,
						      nl[i].port);

			if (fd < 0) {
				struct ef_addr x = { .family = nl[i].v6 ?
					EF_AF_INET6 : EF_AF_INET4 };

				if (nl[i].v6)
					memcpy(x.v6, nl[i].addr6, 16);
				else
					x.v4 = nl[i].addr;
				failed++;
				EF_HEALTH_LOG(ERR, "%s: healthCheckNodePort "
					"%s%s%s:%u: %s", nl[i].service,
					nl[i].v6 ? "[" : "",
					ef_addr_fmt(&x, a, sizeof(a)),
					nl[i].v6 ? "]" : "",
					nl[i].port, strerror(-fd));
				continue;
			}
			nl[i].fd = fd;
			e.data.u64 = ev(EV_LISTEN, i);
			epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &e);
		} else {
			/* the index changed: re-register */
			e.data.u64 = ev(EV_LISTEN, i);
			epoll_ctl(h->ep, EPOLL_CTL_MOD, nl[i].fd, &e);
		}
	}
	free(h->l);
	h->l = nl;
	h->n_l = n;
	h->stats.listeners = n - failed;
	h->stats.listener_errors = failed;
	return (int)failed;
}

int
ef_health_sync(struct ef_health *h, struct ef_svc_gen *g, uint64_t now_ms)
{
	struct target *nt;
	struct ef_health_status *st;
	uint32_t n = 0;

	nt = calloc(RTE_MAX(g->n_health, 1u), sizeof(*nt));
	st = calloc(RTE_MAX(g->n_health, 1u), sizeof(*st));
	if (nt == NULL || st == NULL) {
		free(nt);
		free(st);
		return -ENOMEM;
	}
	for (uint32_t s = 0; s < g->cfg->n_services; s++) {
		const struct ef_svc_service *sv = &g->svcs[s];
		const struct ef_cfg_service *cs = sv->cfg;
		uint16_t port = probe_port(cs);

		for (uint32_t e = 0; e < sv->n_health; e++) {
			struct target *t = &nt[n++];
			uint32_t hi = sv->first_health + e;

			t->stable_id = sv->stable_id;
			t->addr = g->health[hi].v6 ?
				cs->endpoints6[g->health[hi].ep_cfg_idx].address :
				cs->endpoints[g->health[hi].ep_cfg_idx].address;
			t->port = port;
			t->health_idx = hi;
			t->hc = &cs->health;
			t->fd = -1;
			ef_health_sm_init(&t->sm, __atomic_load_n(
				&g->health[hi].healthy, __ATOMIC_ACQUIRE));
			/* spread first probes over one interval */
			t->next_ms = now_ms + (cs->health.interval_ms *
				(uint64_t)e) / RTE_MAX(sv->n_health, 1u);
		}
	}
	qsort(nt, n, sizeof(*nt), target_cmp);
	/* carry the run counters over, and abort probes in flight: their
	 * indexes are about to change (the result is probed again now) */
	for (uint32_t i = 0; i < h->n_t; i++) {
		struct target *o = &h->t[i];
		struct target *m = bsearch(o, nt, n, sizeof(*nt), target_cmp);

		if (m != NULL) {
			m->sm.ok_run = o->sm.ok_run;
			m->sm.fail_run = o->sm.fail_run;
			m->next_ms = o->phase != PH_IDLE ? now_ms :
				RTE_MIN(o->next_ms, now_ms +
					m->hc->interval_ms);
		}
		probe_close(h, o);
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct target *t = &nt[i];
		const struct target *o;
		const struct ef_svc_health *sh = &g->health[t->health_idx];
		const struct ef_cfg_service *cs = g->svcs[sh->svc_idx].cfg;

		snprintf(st[i].service, sizeof(st[i].service), "%s", cs->name);
		st[i].addr = t->addr;
		st[i].port = t->port;
		st[i].healthy = t->sm.healthy;
		st[i].probed = t->port != 0;
		/* h->st[j] describes h->t[j] (both in target_cmp order):
		 * a binary search, not a scan per target, so a sync stays
		 * O(n log n) with 100 000 services */
		o = h->n_t != 0 ? bsearch(t, h->t, h->n_t, sizeof(*h->t),
					  target_cmp) : NULL;
		if (o != NULL && (size_t)(o - h->t) < h->n_st) {
			size_t j = (size_t)(o - h->t);

			st[i].last_change_ms = h->st[j].last_change_ms;
			memcpy(st[i].last_error, h->st[j].last_error,
			       sizeof(st[i].last_error));
		}
	}
	free(h->t);
	h->t = nt;
	h->n_t = n;
	h->gen = g;
	pthread_mutex_lock(&h->lock);
	free(h->st);
	h->st = st;
	h->n_st = n;
	pthread_mutex_unlock(&h->lock);
	return sync_listeners(h, g);
}

static void
set_error(struct ef_health *h, uint32_t i, const char *msg)
{
	pthread_mutex_lock(&h->lock);
	if (i < h->n_st)
		snprintf(h->st[i].last_error, sizeof(h->st[i].last_error),
			 "%s", msg);
	pthread_mutex_unlock(&h->lock);
}

/* Account one probe result of target i. Returns 1 on a transition. */
static uint32_t
probe_done(struct ef_health *h, uint32_t i, bool ok, const char *why,
	   uint64_t now_ms, struct rte_rcu_qsbr_dq *dq, struct rte_rcu_qsbr *v)
{
	struct target *t = &h->t[i];
	struct ef_svc_gen *g = h->gen;
	char a[EF_ADDR_STRLEN];
	int rc;

	probe_close(h, t);
	t->next_ms = now_ms + t->hc->interval_ms;
	__atomic_fetch_add(&h->stats.probes, 1, __ATOMIC_RELAXED);
	if (!ok) {
		__atomic_fetch_add(&h->stats.probe_failures, 1,
				   __ATOMIC_RELAXED);
		set_error(h, i, why);
	}
	if (!ef_health_sm_update(&t->sm, ok, t->hc->rise, t->hc->fall))
		return 0;
	rc = ef_svc_set_health(g, t->health_idx, t->sm.healthy, dq, v);
	if (rc < 0) {
		/* the pools stay as they were: try the flip again later */
		t->sm.healthy = !t->sm.healthy;
		EF_HEALTH_LOG(ERR, "cannot republish pools: %s",
			      strerror(-rc));
		return 0;
	}
	pthread_mutex_lock(&h->lock);
	if (i < h->n_st) {
		h->st[i].healthy = t->sm.healthy;
		h->st[i].last_change_ms = now_ms;
	}
	pthread_mutex_unlock(&h->lock);
	__atomic_fetch_add(&h->stats.transitions, 1, __ATOMIC_RELAXED);
	EF_HEALTH_LOG(WARNING, "%s endpoint %s%s%s:%u is now %s (%s %s; %s)",
		      g->svcs[g->health[t->health_idx].svc_idx].cfg->name,
		      t->addr.family == EF_AF_INET6 ? "[" : "",
		      ef_addr_fmt(&t->addr, a, sizeof(a)),
		      t->addr.family == EF_AF_INET6 ? "]" : "", t->port,
		      t->sm.healthy ? "healthy" : "UNHEALTHY",
		      t->hc->type == EF_HEALTH_HTTP ? "http" : "tcp",
		      t->sm.healthy ? "rise" : "fall",
		      ok ? "probe succeeded" : why);
	return 1;
}

static void
probe_start(struct ef_health *h, uint32_t i, uint64_t now_ms)
{
	struct target *t = &h->t[i];
	struct epoll_event e = { .events = EPOLLOUT,
				 .data.u64 = ev(EV_PROBE, i) };
	int fd;

	fd = ef_health_http_probe_connect(&t->addr, t->port, &t->cerr);
	if (fd < 0) {
		t->next_ms = now_ms + t->hc->interval_ms;
		return;
	}
	t->fd = fd;
	h->inflight++;
	t->phase = PH_CONNECT;
	t->rlen = 0;
	t->deadline_ms = now_ms + t->hc->timeout_ms;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &e) != 0)
		probe_close(h, t);
}

static uint32_t
probe_event(struct ef_health *h, uint32_t i, uint32_t events,
	    uint64_t now_ms, struct rte_rcu_qsbr_dq *dq, struct rte_rcu_qsbr *v)
{
	struct target *t = &h->t[i];
	char req[64];
	struct epoll_event e = { .events = EPOLLIN,
				 .data.u64 = ev(EV_PROBE, i) };
	int err, k;
	ssize_t r;

	if (t->fd < 0)
		return 0;
	if (t->phase == PH_CONNECT) {
		err = ef_health_http_probe_connected(t->fd, t->cerr,
				(events & (EPOLLERR | EPOLLHUP)) != 0);
		if (err != 0)
			return probe_done(h, i, false, strerror(err), now_ms,
					  dq, v);
		if (t->hc->type != EF_HEALTH_HTTP)
			return probe_done(h, i, true, "", now_ms, dq, v);
		if (ef_health_http_probe_send(t->fd, t->hc->http_path,
					      &t->addr, t->port,
					      "edgefwd-health") != 0)
			return probe_done(h, i, false, "send failed", now_ms,
					  dq, v);
		epoll_ctl(h->ep, EPOLL_CTL_MOD, t->fd, &e);
		t->phase = PH_READ;
		return 0;
	}
	r = recv(t->fd, t->rbuf + t->rlen, sizeof(t->rbuf) - t->rlen, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0)
		return probe_done(h, i, false, r == 0 ?
				  "closed before the status line" :
				  strerror(errno), now_ms, dq, v);
	t->rlen = (uint8_t)(t->rlen + r);
	k = ef_health_http_status(t->rbuf, t->rlen);
	if (k == -EAGAIN && t->rlen < sizeof(t->rbuf))
		return 0;
	if (k < 0)
		return probe_done(h, i, false, "not an HTTP answer", now_ms,
				  dq, v);
	if (k >= 200 && k < 400)
		return probe_done(h, i, true, "", now_ms, dq, v);
	snprintf(req, sizeof(req), "HTTP status %d", k);
	return probe_done(h, i, false, req, now_ms, dq, v);
}

/* Number of local ready endpoints of a service in the adopted
 * generation (what healthCheckNodePort reports). */
static uint32_t
local_ready(const struct ef_svc_gen *g, const char *service)
{
	int32_t s = ef_svc_find(g, service);
	const struct ef_svc_service *sv;
	uint32_t n = 0;

	if (s < 0)
		return 0;
	sv = &g->svcs[s];
	/* every port has the same endpoints: the largest is the answer */
	for (uint32_t p = 0; p < sv->n_sp; p++)
		n = RTE_MAX(n, ef_svc_pool_get(&g->sps[sv->first_sp + p])
			    ->n_local_ready);
	return n;
}

static void
conn_answer(struct ef_health *h, struct conn *c, int status,
	    const struct ef_health_http_req *req)
{
	char out[2048];
	int k;

	if (status == 0) {
		bool head = strcmp(req->method, "HEAD") == 0;

		k = ef_health_http_answer(out, sizeof(out), c->service,
					  local_ready(h->gen, c->service),
					  head);
		__atomic_fetch_add(&h->stats.hc_requests, 1, __ATOMIC_RELAXED);
	} else {
		k = ef_health_http_error(out, sizeof(out), status);
		__atomic_fetch_add(&h->stats.hc_errors, 1, __ATOMIC_RELAXED);
	}
	/* one small answer into an empty socket buffer: a short write means
	 * the client is gone, and the connection closes either way */
	if (k > 0 && send(c->fd, out, (size_t)k, MSG_NOSIGNAL) < 0)
		__atomic_fetch_add(&h->stats.hc_errors, 1, __ATOMIC_RELAXED);
	conn_close(c);
}

static void
conn_event(struct ef_health *h, struct conn *c)
{
	struct ef_health_http_req req;
	int rc;

	if (c->fd < 0)
		return;
	rc = ef_health_http_recv(c->fd, c->buf, &c->len, sizeof(c->buf),
				 &req);
	if (rc == -EAGAIN)
		return;
	if (rc < 0) {
		conn_close(c);	/* half a request, then gone */
		return;
	}
	conn_answer(h, c, rc, &req);
}

static void
listener_event(struct ef_health *h, uint32_t i, uint64_t now_ms)
{
	struct listener *l = &h->l[i];

	/* bounded: a flood of connects cannot hold the control loop */
	for (int n = 0; n < 16; n++) {
		int fd = accept4(l->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c = NULL;
		struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP };

		if (fd < 0)
			return;
		for (uint32_t k = 0; k < MAX_CONNS; k++)
			if (h->conns[k].fd < 0) {
				c = &h->conns[k];
				e.data.u64 = ev(EV_CONN, k);
				break;
			}
		if (c == NULL) {
			/* full: the oldest clients are slow ones */
			__atomic_fetch_add(&h->stats.hc_errors, 1,
					   __ATOMIC_RELAXED);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = 0;
		c->deadline_ms = now_ms + CONN_TIMEOUT_MS;
		memcpy(c->service, l->service, sizeof(c->service));
		if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &e) != 0)
			conn_close(c);
	}
}

static uint32_t
scan(struct ef_health *h, uint64_t now_ms, struct rte_rcu_qsbr_dq *dq,
     struct rte_rcu_qsbr *v)
{
	uint32_t starts = 0, flips = 0;

	for (uint32_t i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &h->conns[i];

		if (c->fd >= 0 && now_ms >= c->deadline_ms) {
			struct ef_health_http_req req = { 0 };

			conn_answer(h, c, 408, &req);
		}
	}
	for (uint32_t i = 0; i < h->n_t; i++) {
		struct target *t = &h->t[i];

		if (t->port == 0 || t->hc->type == EF_HEALTH_NONE)
			continue;
		if (t->phase != PH_IDLE) {
			if (now_ms >= t->deadline_ms)
				flips += probe_done(h, i, false, "timeout",
						    now_ms, dq, v);
			continue;
		}
		if (now_ms >= t->next_ms && starts < MAX_STARTS &&
		    h->inflight < MAX_INFLIGHT) {
			probe_start(h, i, now_ms);
			starts++;
		}
	}
	return flips;
}

uint32_t
ef_health_poll(struct ef_health *h, struct ef_svc_gen *g, uint64_t now_ms,
	       struct rte_rcu_qsbr_dq *dq, struct rte_rcu_qsbr *v)
{
	struct epoll_event evs[EPOLL_BATCH];
	uint32_t flips = 0;
	int n;

	if (h->gen != g)
		return 0;	/* not adopted yet: ef_health_sync() first */
	n = epoll_wait(h->ep, evs, EPOLL_BATCH, 0);
	for (int k = 0; k < n; k++) {
		uint32_t kind = (uint32_t)(evs[k].data.u64 >> 32);
		uint32_t idx = (uint32_t)evs[k].data.u64;

		if (kind == EV_PROBE && idx < h->n_t)
			flips += probe_event(h, idx, evs[k].events, now_ms,
					     dq, v);
		else if (kind == EV_LISTEN && idx < h->n_l)
			listener_event(h, idx, now_ms);
		else if (kind == EV_CONN && idx < MAX_CONNS)
			conn_event(h, &h->conns[idx]);
	}
	if (now_ms - h->last_scan_ms >= SCAN_MS) {
		h->last_scan_ms = now_ms;
		flips += scan(h, now_ms, dq, v);
	}
	return flips;
}

uint32_t
ef_health_snapshot(struct ef_health *h, uint32_t offset, uint32_t max,
		   struct ef_health_status *out, uint32_t *total)
{
	uint32_t n = 0;

	pthread_mutex_lock(&h->lock);
	*total = h->n_st;
	for (uint32_t i = offset; i < h->n_st && n < max; i++)
		out[n++] = h->st[i];
	pthread_mutex_unlock(&h->lock);
	return n;
}

void
ef_health_stats(const struct ef_health *h, struct ef_health_stats *out)
{
	out->probes = __atomic_load_n(&h->stats.probes, __ATOMIC_RELAXED);
	out->probe_failures = __atomic_load_n(&h->stats.probe_failures,
					      __ATOMIC_RELAXED);
	out->transitions = __atomic_load_n(&h->stats.transitions,
					   __ATOMIC_RELAXED);
	out->hc_requests = __atomic_load_n(&h->stats.hc_requests,
					   __ATOMIC_RELAXED);
	out->hc_errors = __atomic_load_n(&h->stats.hc_errors,
					 __ATOMIC_RELAXED);
	out->listeners = __atomic_load_n(&h->stats.listeners,
					 __ATOMIC_RELAXED);
	out->listener_errors = __atomic_load_n(&h->stats.listener_errors,
					       __ATOMIC_RELAXED);
}
