/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_HEALTH_HTTP_H
#define EF_HEALTH_HTTP_H

/*
 * The HTTP pieces shared by the health checks (lib/health, ef_health.h)
 * and the /metrics server (lib/metrics): the pure half (the
 * healthCheckNodePort request parser and answer builder, the probe's
 * status-line parser and the rise/fall state machine) and the socket half
 * their responders and probers have in common (health_http_sock.c: plain
 * non-blocking kernel sockets). No DPDK, no global state, so fuzz targets
 * and tests link health_http_dep alone.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ef_addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- pure: HTTP request parsing (healthCheckNodePort) ---------------- */

/* Largest request the responder buffers (request line + headers). */
#define EF_HEALTH_HTTP_MAX_REQUEST 4096
#define EF_HEALTH_HTTP_METHOD_MAX 16

enum ef_health_http_result {
	EF_HEALTH_HTTP_COMPLETE,	/* request line + headers complete */
	EF_HEALTH_HTTP_PARTIAL,		/* valid so far: read more */
	EF_HEALTH_HTTP_BAD,		/* not HTTP/1.x: answer 400 */
	EF_HEALTH_HTTP_TOO_LARGE,	/* no end of headers in the limit */
};

struct ef_health_http_req {
	char method[EF_HEALTH_HTTP_METHOD_MAX];	/* NUL-terminated */
	uint32_t target_off;	/* request target: buf[off .. off + len) */
	uint32_t target_len;
	uint8_t minor;		/* HTTP/1.<minor> */
	uint32_t header_len;	/* bytes up to and including the blank line */
};

/*
 * Parse an HTTP/1.x request head from buf[0..len) (not NUL-terminated;
 * any bytes). Accepts CRLF or bare LF line ends. A request is COMPLETE at
 * its blank line; a prefix of a valid request is PARTIAL unless it is
 * already longer than max (then TOO_LARGE); anything that cannot become a
 * request is BAD. Never reads past len. Fills *req on COMPLETE only.
 * Any thread.
 */
enum ef_health_http_result ef_health_http_parse(const char *buf, size_t len,
						size_t max,
						struct ef_health_http_req *req);

/*
 * Write the healthCheckNodePort answer for service "ns/name" with n_local
 * local ready endpoints: 200 when n_local > 0, else 503, JSON body and
 * X-Load-Balancing-Endpoint-Weight as TELEMETRY.md says; no body when
 * head_only. Returns the length written (excluding the NUL), or -ENOSPC.
 * Any thread.
 */
int ef_health_http_answer(char *buf, size_t cap, const char *service,
			  uint32_t n_local, bool head_only);

/* A short error answer (400, 405, 408, 431...) that closes the
 * connection. Returns the length or -ENOSPC. Any thread. */
int ef_health_http_error(char *buf, size_t cap, int status);

/*
 * Status code of an HTTP response whose first bytes are buf[0..len):
 * 100..599, or -EAGAIN when more bytes are needed, or -EINVAL when it is
 * not an HTTP/1.x status line. Any thread.
 */
int ef_health_http_status(const char *buf, size_t len);

/* ---- pure: rise/fall state machine ------------------------------------ */

struct ef_health_sm {
	bool healthy;
	uint32_t ok_run;	/* consecutive successes while unhealthy */
	uint32_t fail_run;	/* consecutive failures while healthy */
};

/* Start in state 'healthy' with empty runs. Any thread. */
void ef_health_sm_init(struct ef_health_sm *sm, bool healthy);

/*
 * Account one probe result. A healthy target turns unhealthy after 'fall'
 * consecutive failures, an unhealthy one healthy after 'rise' consecutive
 * successes (0 counts as 1). Returns true when the state changed.
 * Any thread (the caller owns sm).
 */
bool ef_health_sm_update(struct ef_health_sm *sm, bool success,
			 uint32_t rise, uint32_t fall);

/* ---- sockets: responders (healthCheckNodePort, /metrics) ------------- */

/*
 * Open a non-blocking listening TCP socket on addr (network order):port
 * (host order), with SO_REUSEADDR and IP_FREEBIND (the exception TAP may
 * not be up yet). Returns the fd or -errno. Any thread.
 */
int ef_health_http_listen(uint32_t addr, uint16_t port);
/* The same on an IPv6 address (IPV6_V6ONLY). */
int ef_health_http_listen6(const uint8_t addr[16], uint16_t port);

/*
 * Read what a client's non-blocking socket fd has into buf[*len .. cap)
 * (advancing *len) and parse the request head in buf[0 .. *len). Returns
 * 0 for a complete GET or HEAD request (*req filled), an HTTP status to
 * answer with ef_health_http_error() (400 bad request, 405 other method,
 * 431 head larger than cap), -EAGAIN when the head is not complete yet
 * (read again on the next event; the caller owns the timeout: 408), or
 * -ECONNRESET when the client closed or the socket failed (close it).
 * Any thread.
 */
int ef_health_http_recv(int fd, char *buf, uint32_t *len, size_t cap,
			struct ef_health_http_req *req);

/* ---- sockets: probes (endpoint and node probers) ---------------------- */

/* Longest path ef_health_http_probe_send() sends. */
#define EF_HEALTH_HTTP_PROBE_PATH_MAX 1024

/*
 * Start a non-blocking TCP connect to addr (IPv4 or IPv6):port (host
 * order). Returns the fd, or -errno when no socket could be made. An
 * immediate connect failure is kept in *cerr (0 otherwise) for
 * ef_health_http_probe_connected(), so that every outcome is reported
 * by the socket's event. Any thread.
 */
int ef_health_http_probe_connect(const struct ef_addr *addr, uint16_t port,
				 int *cerr);

/*
 * The connect started by ef_health_http_probe_connect() became writable
 * or hung up (hup: EPOLLERR or EPOLLHUP was reported): 0 when connected,
 * else the errno of the failure (cerr, SO_ERROR, or ECONNRESET for a hang
 * up without one). Any thread.
 */
int ef_health_http_probe_connected(int fd, int cerr, bool hup);

/*
 * Send "GET path HTTP/1.0" with Host addr:port ([addr]:port for IPv6), User-Agent agent and
 * Connection: close on the connected socket fd, in one send (a fresh
 * socket's buffer takes it). Returns 0, or -ENAMETOOLONG (path longer
 * than EF_HEALTH_HTTP_PROBE_PATH_MAX), -ENOSPC, -EIO (not all sent).
 * Any thread.
 */
int ef_health_http_probe_send(int fd, const char *path,
			      const struct ef_addr *addr, uint16_t port,
			      const char *agent);

#ifdef __cplusplus
}
#endif

#endif /* EF_HEALTH_HTTP_H */
