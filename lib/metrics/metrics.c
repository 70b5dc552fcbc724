/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The /metrics HTTP server of the control lcore (ef_metrics.h says why it
 * lives in edgefwd). Like the healthCheckNodePort responder: kernel
 * sockets on the interface addresses, non-blocking, polled from the
 * control loop, reached through the exception path. A response is
 * "HTTP/1.1 200, Connection: close" with the body ending at the close
 * (no Content-Length: its size is known only at the end), produced by the
 * collector into one fixed buffer per connection and sent as the socket
 * takes it, at most POLL_CHUNKS buffers per connection per poll.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_errno.h>

#include "ef_health_http.h"

#include "metrics_priv.h"

EF_LOG_REGISTER(metrics);

#define REQUEST_TIMEOUT_MS 5000u
#define RESPONSE_TIMEOUT_MS 30000u
#define LINGER_MS 1000u
/* buffers produced per connection per poll: one (~1 ms for 10 000
 * services) keeps the control loop draining the exception path, whose
 * ring to the kernel also carries the scrape's own ACKs */
#define POLL_CHUNKS 1u

static const char ok_head[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	"Cache-Control: no-store\r\n"
	"Connection: close\r\n\r\n";

static const char not_found[] =
	"HTTP/1.1 404 Not Found\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Length: 29\r\n"
	"Connection: close\r\n\r\n"
	"edgefwd serves only /metrics\n";

static uint64_t
now_ms(const struct ef_metrics *m)
{
	return rte_rdtsc() / m->tsc_per_ms;
}

static double
unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Open and close listeners to match cfg's metrics.listen; those still
 * wanted stay open (no gap). */
static void
sync_listeners(struct ef_metrics *m, const struct ef_cfg *cfg)
{
	struct mx_listener nl[MX_MAX_LISTEN];
	uint32_t n = RTE_MIN(cfg->n_metrics_listen, MX_MAX_LISTEN), failed = 0;
	char a[INET_ADDRSTRLEN];

	if (cfg->n_metrics_listen > MX_MAX_LISTEN)
		EF_METRICS_LOG(WARNING, "metrics.listen: only the first %u "
			       "addresses are served", MX_MAX_LISTEN);
	for (uint32_t i = 0; i < n; i++) {
		nl[i].addr = cfg->metrics_listen[i].address.v4;
		nl[i].port = cfg->metrics_listen[i].port;
		nl[i].fd = -1;
		for (uint32_t j = 0; j < m->n_listen; j++)
			if (m->l[j].fd >= 0 && m->l[j].addr == nl[i].addr &&
			    m->l[j].port == nl[i].port) {
				nl[i].fd = m->l[j].fd;
				m->l[j].fd = -1;
			}
	}
	for (uint32_t j = 0; j < m->n_listen; j++)
		if (m->l[j].fd >= 0)
			close(m->l[j].fd);
	for (uint32_t i = 0; i < n; i++) {
		struct in_addr ia = { .s_addr = nl[i].addr };

		if (nl[i].fd >= 0)
			continue;
		nl[i].fd = ef_health_http_listen(nl[i].addr, nl[i].port);
		inet_ntop(AF_INET, &ia, a, sizeof(a));
		if (nl[i].fd < 0) {
			failed++;
			EF_METRICS_LOG(ERR, "cannot listen on %s:%u: %s", a,
				       nl[i].port, strerror(-nl[i].fd));
		} else {
			EF_METRICS_LOG(INFO, "serving /metrics on %s:%u", a,
				       nl[i].port);
		}
	}
	memcpy(m->l, nl, sizeof(nl[0]) * n);
	m->n_listen = n;
	m->stats.listeners = n - failed;
	m->stats.listener_errors = failed;
}

struct ef_metrics *
ef_metrics_create(struct ef_ctl *c)
{
	struct ef_metrics *m = calloc(1, sizeof(*m));
	struct ef_fwd_shared *sh = ef_ctl_shared(c);

	if (m == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	m->ctl = c;
	m->tsc_per_ms = RTE_MAX(rte_get_tsc_hz() / 1000, (uint64_t)1);
	for (uint32_t i = 0; i < EF_METRICS_MAX_CONN; i++) {
		m->conn[i].fd = -1;
		m->conn[i].out = malloc(EF_METRICS_CHUNK);
		if (m->conn[i].out == NULL) {
			ef_metrics_free(m);
			rte_errno = ENOMEM;
			return NULL;
		}
	}
	m->start_unix = unix_now();
	m->reload_unix = m->start_unix;
	m->last_reload_ok = true;
	m->seen_gen = sh->gen->number;
	m->window_ms = now_ms(m);
	sync_listeners(m, sh->gen->cfg);
	if (mx_register_telemetry(c) != 0)
		EF_METRICS_LOG(WARNING, "/edgefwd/traffic not registered "
			       "(edgefwdctl top needs it)");
	return m;
}

static void
conn_close(struct mx_conn *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	k->state = MX_FREE;
}

/* A fixed answer (error, 404) queued as the whole output. */
static void
conn_answer(struct ef_metrics *m, struct mx_conn *k, const char *p, size_t n)
{
	n = RTE_MIN(n, (size_t)EF_METRICS_CHUNK);
	memcpy(k->out, p, n);
	k->out_len = n;
	k->out_off = 0;
	k->streaming = false;
	k->state = MX_WRITING;
	k->deadline_ms = now_ms(m) + REQUEST_TIMEOUT_MS;
}

/* The request head is complete: choose the answer. */
static void
conn_request(struct ef_metrics *m, struct mx_conn *k,
	     const struct ef_health_http_req *req)
{
	const char *t = k->rbuf + req->target_off;
	size_t tl = req->target_len;
	bool get = strcmp(req->method, "GET") == 0;	/* else HEAD */

	/* /metrics, with or without a query string */
	if (tl < 8 || memcmp(t, "/metrics", 8) != 0 ||
	    (tl > 8 && t[8] != '?')) {
		conn_answer(m, k, not_found, sizeof(not_found) - 1);
		return;
	}
	memcpy(k->out, ok_head, sizeof(ok_head) - 1);
	k->out_len = sizeof(ok_head) - 1;
	k->out_off = 0;
	k->head_only = !get;
	k->streaming = get;
	k->state = MX_WRITING;
	k->deadline_ms = now_ms(m) + RESPONSE_TIMEOUT_MS;
	if (get)
		mx_cursor_start(m, &k->cur);
}

static void
conn_read(struct ef_metrics *m, struct mx_conn *k)
{
	struct ef_health_http_req req;
	char err[256];
	int rc, n;

	rc = ef_health_http_recv(k->fd, k->rbuf, &k->rlen, sizeof(k->rbuf),
				 &req);
	if (rc == -ECONNRESET) {
		conn_close(k);
		return;
	}
	if (rc == 0) {
		conn_request(m, k, &req);
		return;
	}
	if (rc == -EAGAIN) {
		if (now_ms(m) < k->deadline_ms)
			return;
		rc = 408;
	}
	n = ef_health_http_error(err, sizeof(err), rc);
	conn_answer(m, k, err, n > 0 ? (size_t)n : 0);
}

/* The response is out: shut the write side, read until EOF (closing with
 * unread bytes would reset the connection and could lose the tail). */
static void
conn_finish(struct ef_metrics *m, struct mx_conn *k)
{
	if (k->streaming) {
		m->stats.scrapes++;
		m->stats.last_scrape_s = (double)(rte_rdtsc() - k->t0) /
			(double)rte_get_tsc_hz();
	}
	shutdown(k->fd, SHUT_WR);
	k->state = MX_CLOSING;
	k->deadline_ms = now_ms(m) + LINGER_MS;
}

static void
conn_write(struct ef_metrics *m, struct mx_conn *k)
{
	for (uint32_t chunk = 0; chunk < POLL_CHUNKS;) {
		ssize_t w;

		if (k->out_off == k->out_len) {
			struct ef_metrics_buf b = {
				.p = k->out, .cap = EF_METRICS_CHUNK, .len = 0,
			};

			if (!k->streaming || k->head_only || k->cur.done) {
				conn_finish(m, k);
				return;
			}
			if (mx_collect(m, &k->cur, &b) != 0)
				EF_METRICS_LOG(ERR, "a series did not fit %u "
					       "bytes: scrape cut short",
					       EF_METRICS_CHUNK);
			k->out_len = b.len;
			k->out_off = 0;
			chunk++;
			continue;
		}
		w = send(k->fd, k->out + k->out_off, k->out_len - k->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				conn_close(k);
			return;
		}
		k->out_off += (size_t)w;
	}
}

static void
conn_linger(struct ef_metrics *m, struct mx_conn *k)
{
	char sink[512];
	ssize_t r = recv(k->fd, sink, sizeof(sink), MSG_DONTWAIT);

	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		       errno != EINTR) || now_ms(m) >= k->deadline_ms)
		conn_close(k);
}

static void
accept_all(struct ef_metrics *m)
{
	for (uint32_t i = 0; i < m->n_listen; i++) {
		if (m->l[i].fd < 0)
			continue;
		for (uint32_t s = 0; s < EF_METRICS_MAX_CONN; s++) {
			struct mx_conn *k = &m->conn[s];
			int fd;

			if (k->state != MX_FREE)
				continue;
			fd = accept4(m->l[i].fd, NULL, NULL,
				     SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0)
				break;	/* nothing waiting (or a transient error) */
			k->fd = fd;
			k->state = MX_READING;
			k->rlen = 0;
			k->out_len = 0;
			k->out_off = 0;
			k->streaming = false;
			k->head_only = false;
			k->t0 = rte_rdtsc();
			k->deadline_ms = now_ms(m) + REQUEST_TIMEOUT_MS;
		}
	}
}

/* Reloads seen from here: the time the generation moved (what
 * edgefwd_config_last_reload_timestamp_seconds shows) and a changed
 * metrics.listen applied. */
static void
follow_reloads(struct ef_metrics *m)
{
	struct ef_fwd_shared *sh = ef_ctl_shared(m->ctl);
	struct ef_ctl_stats *st;

	if (sh->gen->number != m->seen_gen) {
		m->seen_gen = sh->gen->number;
		m->reload_unix = unix_now();
		m->last_reload_ok = true;
		sync_listeners(m, sh->gen->cfg);
	}
	/* a rejected reload leaves the generation: count it from ctl */
	st = malloc(sizeof(*st));
	if (st == NULL)
		return;
	ef_ctl_stats(m->ctl, st);
	if (st->reloads_failed != m->seen_failed) {
		m->seen_failed = st->reloads_failed;
		m->reload_fail_unix = unix_now();
		m->last_reload_ok = false;
	}
	free(st);
}

/* Busy ratio of each worker over the last whole second. */
static void
busy_window(struct ef_metrics *m)
{
	struct ef_fwd_shared *sh = ef_ctl_shared(m->ctl);
	uint64_t t = now_ms(m);

	if (t - m->window_ms < 1000)
		return;
	m->window_ms = t;
	for (uint32_t w = 0; w < sh->n_workers && w < EF_FWD_MAX_WORKERS; w++) {
		const struct ef_fwd_worker *wk = sh->workers[w];
		uint64_t b, tot;

		if (wk == NULL)
			continue;
		b = __atomic_load_n(&wk->c.busy_cycles, __ATOMIC_RELAXED);
		tot = __atomic_load_n(&wk->c.total_cycles, __ATOMIC_RELAXED);
		m->busy_ratio[w] = tot > m->prev_total[w] ?
			(double)(b - m->prev_busy[w]) /
			(double)(tot - m->prev_total[w]) : 0.0;
		if (m->busy_ratio[w] > 1.0)
			m->busy_ratio[w] = 1.0;
		m->prev_busy[w] = b;
		m->prev_total[w] = tot;
	}
}

void
ef_metrics_poll(struct ef_metrics *m)
{
	uint64_t t;

	if (m == NULL)
		return;
	t = now_ms(m);
	if (t - m->window_ms >= 1000) {
		/* once a second is enough to notice a reload */
		follow_reloads(m);
		busy_window(m);
	} else if (ef_ctl_shared(m->ctl)->gen->number != m->seen_gen) {
		follow_reloads(m);
	}
	accept_all(m);
	for (uint32_t s = 0; s < EF_METRICS_MAX_CONN; s++) {
		struct mx_conn *k = &m->conn[s];

		switch (k->state) {
		case MX_READING:
			conn_read(m, k);
			break;
		case MX_WRITING:
			/* a scrape's own deadline, or an answer the
			 * client never reads (the request's deadline) */
			if (now_ms(m) >= k->deadline_ms) {
				if (k->streaming)
					EF_METRICS_LOG(WARNING, "a scrape took "
						       "over %u ms: closed",
						       RESPONSE_TIMEOUT_MS);
				conn_close(k);
				break;
			}
			conn_write(m, k);
			break;
		case MX_CLOSING:
			conn_linger(m, k);
			break;
		default:
			break;
		}
	}
}

int64_t
ef_metrics_render(struct ef_metrics *m, ef_metrics_sink_fn fn, void *arg)
{
	struct mx_cursor *cur = malloc(sizeof(*cur));
	char *buf = malloc(EF_METRICS_CHUNK);
	int64_t total = 0;

	if (cur == NULL || buf == NULL) {
		free(cur);
		free(buf);
		return -ENOMEM;
	}
	mx_cursor_start(m, cur);
	while (!cur->done) {
		struct ef_metrics_buf b = {
			.p = buf, .cap = EF_METRICS_CHUNK, .len = 0,
		};

		if (mx_collect(m, cur, &b) != 0) {
			total = -ENOSPC;
			break;
		}
		if (b.len > 0 && fn(arg, buf, b.len) != 0) {
			total = -ECANCELED;
			break;
		}
		total += (int64_t)b.len;
	}
	free(cur);
	free(buf);
	return total;
}

void
ef_metrics_stats(const struct ef_metrics *m, struct ef_metrics_stats *out)
{
	*out = m->stats;
}

void
ef_metrics_free(struct ef_metrics *m)
{
	if (m == NULL)
		return;
	for (uint32_t i = 0; i < m->n_listen; i++)
		if (m->l[i].fd >= 0)
			close(m->l[i].fd);
	for (uint32_t s = 0; s < EF_METRICS_MAX_CONN; s++) {
		conn_close(&m->conn[s]);
		free(m->conn[s].out);
	}
	free(m);
}
