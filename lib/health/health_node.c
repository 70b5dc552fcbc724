/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The node prober of edge services (ef_health_node.h): one HTTP GET per
 * (edge service, node) and interval, answers read into a small buffer
 * until the head is complete, state changes published through
 * ef_svc_edge_set_view().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_errno.h>

#include "ef_cfg.h"
#include "ef_edge.h"
#include "ef_health_http.h"
#include "ef_health_node.h"
#include "ef_svc.h"
#include "health_priv.h"

#define NODE_MAX_INFLIGHT 256
#define NODE_EPOLL_BATCH 64
#define NODE_SCAN_MS 10
#define NODE_RBUF 1024		/* an answer head beyond this: its status */

enum { NPH_IDLE, NPH_CONNECT, NPH_READ };

struct ntarget {
	uint32_t stable_id;
	uint32_t svc_idx;
	uint32_t node_idx;
	uint32_t addr;		/* the node's key (ef_edge.h) */
	struct ef_addr ip;	/* the node's address, IPv4 or IPv6 */
	uint16_t port;		/* host order */
	const char *path;	/* "/" or "/healthz" */
	struct ef_health_sm sm;
	bool draining;
	int64_t weight;
	int fd;
	uint8_t phase;
	int cerr;
	uint32_t rlen;
	uint64_t next_ms;
	uint64_t deadline_ms;
	char rbuf[NODE_RBUF];
};

struct ef_health_nodes {
	int ep;
	struct ntarget *t;
	uint32_t n_t;
	uint32_t inflight;
	uint64_t last_scan_ms;
	struct ef_svc_gen *gen;
	pthread_mutex_t lock;
	struct ef_health_node_status *st;
	uint32_t n_st;
};

struct ef_health_nodes *
ef_health_nodes_create(void)
{
	struct ef_health_nodes *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	if (h->ep < 0) {
		rte_errno = errno;
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

static void
nprobe_close(struct ef_health_nodes *h, struct ntarget *t)
{
	if (t->fd >= 0) {
		epoll_ctl(h->ep, EPOLL_CTL_DEL, t->fd, NULL);
		close(t->fd);
		t->fd = -1;
		h->inflight--;
	}
	t->phase = NPH_IDLE;
}

void
ef_health_nodes_free(struct ef_health_nodes *h)
{
	if (h == NULL)
		return;
	for (uint32_t i = 0; i < h->n_t; i++)
		nprobe_close(h, &h->t[i]);
	close(h->ep);
	pthread_mutex_destroy(&h->lock);
	free(h->t);
	free(h->st);
	free(h);
}

int
ef_health_node_parse(const char *buf, size_t len, int64_t *weight)
{
	static const char hdr[] = "x-load-balancing-endpoint-weight:";
	const char *end;
	const char *p;
	int status;

	*weight = -1;
	status = ef_health_http_status(buf, len);
	if (status < 0)
		return status;
	end = memmem(buf, len, "\r\n\r\n", 4);
	if (end == NULL)
		return -EAGAIN;
	/* header lines after the status line, up to the blank one */
	p = memchr(buf, '\n', (size_t)(end - buf));
	while (p != NULL && p < end) {
		const char *line = p + 1;
		const char *eol = memchr(line, '\n', (size_t)(end + 2 - line));
		char v[32];
		size_t n;

		if (eol == NULL)
			break;
		if ((size_t)(eol - line) > sizeof(hdr) - 1 &&
		    strncasecmp(line, hdr, sizeof(hdr) - 1) == 0) {
			n = (size_t)(eol - line) - (sizeof(hdr) - 1);
			if (n >= sizeof(v))
				n = sizeof(v) - 1;
			memcpy(v, line + sizeof(hdr) - 1, n);
			v[n] = '\0';
			if (n > 0 && v[n - 1] == '\r')
				v[n - 1] = '\0';
			*weight = ef_edge_parse_weight_header(v);
		}
		p = eol;
	}
	return status;
}

static int
ntarget_cmp(const void *a, const void *b)
{
	const struct ntarget *x = a;
	const struct ntarget *y = b;

	if (x->stable_id != y->stable_id)
		return x->stable_id < y->stable_id ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return 0;
}

int
ef_health_nodes_sync(struct ef_health_nodes *h, struct ef_svc_gen *g,
		     uint64_t now_ms)
{
	const struct ef_cfg *cfg = g->cfg;
	const struct ef_cfg_edge *ec = &cfg->edge;
	struct ef_health_node_status *st;
	struct ntarget *nt;
	struct ntarget *sorted;
	uint32_t n = 0, cap = 0;

	for (uint32_t s = 0; s < g->n_svcs && ec->health_check; s++)
		if (g->svcs[s].edge != NULL &&
		    g->svcs[s].cfg->mode == EF_SVC_MODE_EDGE)
			cap += g->svcs[s].edge->n_nodes;
	nt = calloc(RTE_MAX(cap, 1u), sizeof(*nt));
	st = calloc(RTE_MAX(cap, 1u), sizeof(*st));
	sorted = calloc(RTE_MAX(h->n_t, 1u), sizeof(*sorted));
	if (nt == NULL || st == NULL || sorted == NULL) {
		free(nt);
		free(st);
		free(sorted);
		return -ENOMEM;
	}
	/* the old targets by (service, node), for their run counters */
	for (uint32_t i = 0; i < h->n_t; i++) {
		nprobe_close(h, &h->t[i]);
		sorted[i] = h->t[i];
	}
	qsort(sorted, h->n_t, sizeof(*sorted), ntarget_cmp);
	for (uint32_t s = 0; s < g->n_svcs && cap > 0; s++) {
		const struct ef_svc_service *sv = &g->svcs[s];
		const struct ef_cfg_service *cs = sv->cfg;
		bool local = cs->external_traffic_policy == EF_POLICY_LOCAL;

		if (sv->edge == NULL || cs->mode != EF_SVC_MODE_EDGE)
			continue;
		for (uint32_t k = 0; k < sv->edge->n_nodes; k++) {
			struct ntarget *t = &nt[n];
			const struct ef_edge_node_view *v = &sv->edge->views[k];
			const struct ntarget *o;

			t->stable_id = sv->stable_id;
			t->svc_idx = s;
			t->node_idx = k;
			t->addr = sv->edge->nodes[k].addr;
			t->ip = cfg->nodes[k].address;
			t->port = local ? cs->health_check_node_port :
				ec->node_health_port;
			t->path = local ? "/" : "/healthz";
			t->fd = -1;
			ef_health_sm_init(&t->sm, v->healthy);
			t->draining = v->draining;
			t->weight = v->header_weight;
			t->next_ms = now_ms + (ec->interval_ms * (uint64_t)k) /
				RTE_MAX(sv->edge->n_nodes, 1u);
			o = h->n_t != 0 ? bsearch(t, sorted, h->n_t,
						  sizeof(*sorted),
						  ntarget_cmp) : NULL;
			if (o != NULL) {
				t->sm.ok_run = o->sm.ok_run;
				t->sm.fail_run = o->sm.fail_run;
				t->next_ms = RTE_MIN(o->next_ms,
						     now_ms + ec->interval_ms);
			}
			snprintf(st[n].service, sizeof(st[n].service), "%s",
				 cs->name);
			snprintf(st[n].node, sizeof(st[n].node), "%s",
				 cfg->nodes[k].name);
			st[n].addr = t->addr;
			st[n].port = t->port;
			st[n].healthy = t->sm.healthy;
			st[n].draining = t->draining;
			st[n].header_weight = t->weight;
			pthread_mutex_lock(&h->lock);
			for (uint32_t j = 0; j < h->n_st; j++) {
				if (h->st[j].addr == t->addr &&
				    strcmp(h->st[j].service, cs->name) == 0) {
					st[n].last_change_ms =
						h->st[j].last_change_ms;
					memcpy(st[n].last_error,
					       h->st[j].last_error,
					       sizeof(st[n].last_error));
					break;
				}
			}
			pthread_mutex_unlock(&h->lock);
			n++;
		}
	}
	free(sorted);
	free(h->t);
	h->t = nt;
	h->n_t = n;
	h->gen = g;
	pthread_mutex_lock(&h->lock);
	free(h->st);
	h->st = st;
	h->n_st = n;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* "a.b.c.d:port" or "[v6]:port" */
static const char *
fmt_ep(const struct ef_addr *a, uint16_t port, char *buf, size_t n)
{
	char t[EF_ADDR_STRLEN];
	bool v6 = a->family == EF_AF_INET6;

	snprintf(buf, n, "%s%s%s:%u", v6 ? "[" : "",
		 ef_addr_fmt(a, t, sizeof(t)), v6 ? "]" : "", port);
	return buf;
}

static void
nset_error(struct ef_health_nodes *h, uint32_t i, const char *msg)
{
	pthread_mutex_lock(&h->lock);
	if (i < h->n_st)
		snprintf(h->st[i].last_error, sizeof(h->st[i].last_error),
			 "%s", msg);
	pthread_mutex_unlock(&h->lock);
}

/*
 * One probe result of target i: answered (status, weight) or not (why).
 * Returns 1 when the node table changed.
 */
static uint32_t
nprobe_done(struct ef_health_nodes *h, uint32_t i, int status,
	    int64_t weight, const char *why, uint64_t now_ms,
	    struct rte_rcu_qsbr *v)
{
	struct ntarget *t = &h->t[i];
	struct ef_svc_gen *g = h->gen;
	const struct ef_cfg_edge *ec = &g->cfg->edge;
	struct ef_edge_node_view view;
	bool answered = status == 200 || status == 503;
	bool was_healthy = t->sm.healthy, was_draining = t->draining;
	char a[EF_ENDPOINT_STRLEN];
	char err[64];
	int rc;

	nprobe_close(h, t);
	t->next_ms = now_ms + ec->interval_ms;
	if (!answered) {
		if (status > 0)
			snprintf(err, sizeof(err), "HTTP status %d", status);
		else
			snprintf(err, sizeof(err), "%s", why);
		nset_error(h, i, err);
	}
	ef_health_sm_update(&t->sm, answered, ec->rise, ec->fall);
	if (answered) {
		t->draining = status == 503;
		t->weight = weight;
	}
	view = g->svcs[t->svc_idx].edge->views[t->node_idx];
	view.healthy = t->sm.healthy;
	view.draining = t->draining;
	view.header_weight = t->weight;
	rc = ef_svc_edge_set_view(g, t->svc_idx, t->node_idx, &view, v);
	if (rc < 0) {
		EF_HEALTH_LOG(ERR, "cannot republish a node table: %s",
			      strerror(-rc));
		t->sm.healthy = was_healthy;
		t->draining = was_draining;
		return 0;
	}
	if (was_healthy != t->sm.healthy || was_draining != t->draining) {
		pthread_mutex_lock(&h->lock);
		if (i < h->n_st) {
			h->st[i].healthy = t->sm.healthy;
			h->st[i].draining = t->draining;
			h->st[i].last_change_ms = now_ms;
		}
		pthread_mutex_unlock(&h->lock);
		EF_HEALTH_LOG(WARNING, "%s node %s (%s) is now %s (%s)",
			      g->svcs[t->svc_idx].cfg->name,
			      g->cfg->nodes[t->node_idx].name,
			      fmt_ep(&t->ip, t->port, a, sizeof(a)),
			      !t->sm.healthy ? "DOWN" : t->draining ?
			      "draining" : "up",
			      answered ? (status == 503 ? "answered 503" :
					  "answered 200") : err);
	}
	pthread_mutex_lock(&h->lock);
	if (i < h->n_st)
		h->st[i].header_weight = t->weight;
	pthread_mutex_unlock(&h->lock);
	return rc > 0 ? 1 : 0;
}

static void
nprobe_start(struct ef_health_nodes *h, uint32_t i, uint64_t now_ms)
{
	struct ntarget *t = &h->t[i];
	struct epoll_event e = { .events = EPOLLOUT, .data.u32 = i };
	int fd;

	fd = ef_health_http_probe_connect(&t->ip, t->port, &t->cerr);
	if (fd < 0) {
		t->next_ms = now_ms + h->gen->cfg->edge.interval_ms;
		return;
	}
	t->fd = fd;
	h->inflight++;
	t->phase = NPH_CONNECT;
	t->rlen = 0;
	t->deadline_ms = now_ms + h->gen->cfg->edge.timeout_ms;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &e) != 0)
		nprobe_close(h, t);
}

static uint32_t
nprobe_event(struct ef_health_nodes *h, uint32_t i, uint32_t events,
	     uint64_t now_ms, struct rte_rcu_qsbr *v)
{
	struct ntarget *t = &h->t[i];
	struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };
	int64_t weight;
	int err, k;
	ssize_t r;

	if (t->fd < 0)
		return 0;
	if (t->phase == NPH_CONNECT) {
		err = ef_health_http_probe_connected(t->fd, t->cerr,
				(events & (EPOLLERR | EPOLLHUP)) != 0);
		if (err != 0)
			return nprobe_done(h, i, -1, -1, strerror(err), now_ms,
					   v);
		if (ef_health_http_probe_send(t->fd, t->path, &t->ip,
					      t->port, "edgefwd-edge") != 0)
			return nprobe_done(h, i, -1, -1, "send failed", now_ms,
					   v);
		epoll_ctl(h->ep, EPOLL_CTL_MOD, t->fd, &e);
		t->phase = NPH_READ;
		return 0;
	}
	r = recv(t->fd, t->rbuf + t->rlen, sizeof(t->rbuf) - t->rlen, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r > 0)
		t->rlen += (uint32_t)r;
	k = ef_health_node_parse(t->rbuf, t->rlen, &weight);
	if (k == -EAGAIN && r > 0 && t->rlen < sizeof(t->rbuf))
		return 0;
	if (k == -EAGAIN)	/* closed or full: the status is enough */
		k = ef_health_http_status(t->rbuf, t->rlen);
	if (k < 0)
		return nprobe_done(h, i, -1, -1, r == 0 ?
				   "closed before the status line" :
				   "not an HTTP answer", now_ms, v);
	return nprobe_done(h, i, k, weight, "", now_ms, v);
}

uint32_t
ef_health_nodes_poll(struct ef_health_nodes *h, struct ef_svc_gen *g,
		     uint64_t now_ms, struct rte_rcu_qsbr *v)
{
	struct epoll_event evs[NODE_EPOLL_BATCH];
	uint32_t changes = 0;
	int n;

	if (h->gen != g || h->n_t == 0)
		return 0;
	n = epoll_wait(h->ep, evs, NODE_EPOLL_BATCH, 0);
	for (int k = 0; k < n; k++)
		if (evs[k].data.u32 < h->n_t)
			changes += nprobe_event(h, evs[k].data.u32,
						evs[k].events, now_ms, v);
	if (now_ms - h->last_scan_ms < NODE_SCAN_MS)
		return changes;
	h->last_scan_ms = now_ms;
	for (uint32_t i = 0; i < h->n_t; i++) {
		struct ntarget *t = &h->t[i];

		if (t->port == 0)
			continue;
		if (t->phase != NPH_IDLE) {
			if (now_ms >= t->deadline_ms)
				changes += nprobe_done(h, i, -1, -1, "timeout",
						       now_ms, v);
			continue;
		}
		if (now_ms >= t->next_ms && h->inflight < NODE_MAX_INFLIGHT)
			nprobe_start(h, i, now_ms);
	}
	return changes;
}

uint32_t
ef_health_nodes_snapshot(struct ef_health_nodes *h, uint32_t offset,
			 uint32_t max, struct ef_health_node_status *out,
			 uint32_t *total)
{
	uint32_t n = 0;

	pthread_mutex_lock(&h->lock);
	*total = h->n_st;
	for (uint32_t i = offset; i < h->n_st && n < max; i++)
		out[n++] = h->st[i];
	pthread_mutex_unlock(&h->lock);
	return n;
}
