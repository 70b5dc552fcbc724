/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_METRICS_H
#define EF_METRICS_H

/*
 * Prometheus metrics: GET /metrics in the text exposition format 0.0.4 on
 * every metrics.listen address (CONFIG.md), served by edgefwd itself on
 * the control lcore; docs/METRICS.md lists every metric.
 *
 * Why in-process, not an exporter reading the telemetry socket: the
 * operator supervises no second process; the control lcore already reads
 * every counter (per-worker copies summed with relaxed loads, so a scrape
 * never stalls a worker); and 10 000 services come out in one pass
 * instead of hundreds of 16 KiB telemetry pages. Debian has no C
 * Prometheus client (prometheus-cpp is C++ and runs its own server
 * thread), so the format is written here by one small writer (the pure
 * half below, unit-tested).
 *
 * The server is a non-blocking kernel socket per listen address, reached
 * through the exception path like the healthCheckNodePort responder
 * (lib/health). A response is produced incrementally into a fixed buffer
 * per connection and sent as the socket takes it, so a scrape costs no
 * allocation proportional to the number of services and no poll of the
 * control loop does more than a bounded amount of it.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- pure: the text exposition writer --------------------------------- */

/* Output of the writer: text appended at p[len], never past cap. */
struct ef_metrics_buf {
	char *p;
	size_t cap;
	size_t len;
};

struct ef_metrics_label {
	const char *name;
	const char *value;
};

/*
 * Escape s as a label value (backslash, double quote and line feed become
 * \\, \" and \n) into dst, NUL-terminated. Returns the length, or -ENOSPC
 * (dst holds nothing useful). Any thread.
 */
int ef_metrics_escape(char *dst, size_t cap, const char *s);

/*
 * The "# HELP" and "# TYPE" lines of a metric family (type: "counter",
 * "gauge", "histogram"; help escaped as the format says: \\ and \n).
 * Every write below appends whole lines or nothing: 0, or -ENOSPC with
 * b->len unchanged. Any thread (the caller owns b).
 */
int ef_metrics_family(struct ef_metrics_buf *b, const char *name,
		      const char *type, const char *help);

/* One sample line: name{labels} value, with n labels (values escaped). */
int ef_metrics_sample_u64(struct ef_metrics_buf *b, const char *name,
			  const struct ef_metrics_label *labels, uint32_t n,
			  uint64_t v);
int ef_metrics_sample_f64(struct ef_metrics_buf *b, const char *name,
			  const struct ef_metrics_label *labels, uint32_t n,
			  double v);

/*
 * One histogram series: name_bucket{labels,le="..."} for each of the
 * n_buckets upper bounds le[] (ascending; the last bucket is le="+Inf"
 * whatever le[n_buckets - 1] says), cumulative from the per-bucket counts
 * given, then name_sum and name_count. n <= 7 labels. Any thread.
 */
int ef_metrics_histogram(struct ef_metrics_buf *b, const char *name,
			 const struct ef_metrics_label *labels, uint32_t n,
			 const double *le, const uint64_t *counts,
			 uint32_t n_buckets, double sum);

/* ---- the server (control lcore) ---------------------------------------- */

struct ef_ctl;
struct ef_metrics;

/* Bytes of one connection's output buffer (a scrape goes out in pieces
 * of at most this much). */
#define EF_METRICS_CHUNK 65536u
/* Connections served at once; more wait in the listen backlog. */
#define EF_METRICS_MAX_CONN 8u

/*
 * The metrics state of control plane c, with listeners on the current
 * generation's metrics.listen (a failed bind is logged and counted, not
 * fatal). NULL + rte_errno. Control lcore, after ef_ctl_start().
 */
struct ef_metrics *ef_metrics_create(struct ef_ctl *c);

/*
 * One slice of work, never blocking: follow a reload (listeners opened
 * and closed to match metrics.listen; the reload's time recorded), the
 * busy ratio's one-second window, accept, read requests, write what the
 * sockets take of the responses in progress. Control lcore.
 */
void ef_metrics_poll(struct ef_metrics *m);

/* Sink of ef_metrics_render(): returns 0, or non-zero to stop. */
typedef int (*ef_metrics_sink_fn)(void *arg, const char *p, size_t n);

/*
 * The whole exposition, handed to fn in pieces of at most
 * EF_METRICS_CHUNK bytes (what a scrape sends, without the socket).
 * Returns the body's length, or -ENOSPC if one item did not fit a chunk,
 * or -ECANCELED if fn stopped it. Control lcore (tests, the benchmark).
 */
int64_t ef_metrics_render(struct ef_metrics *m, ef_metrics_sink_fn fn,
			  void *arg);

/* Listeners open and failed, scrapes answered. Control lcore. */
struct ef_metrics_stats {
	uint32_t listeners;
	uint32_t listener_errors;
	uint64_t scrapes;
	double last_scrape_s;	/* first byte read to last byte sent */
};
void ef_metrics_stats(const struct ef_metrics *m, struct ef_metrics_stats *out);

/* Close every socket and free (NULL is fine). Control lcore. */
void ef_metrics_free(struct ef_metrics *m);

#ifdef __cplusplus
}
#endif

#endif /* EF_METRICS_H */
