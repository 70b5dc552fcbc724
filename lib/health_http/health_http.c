/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP pieces of the health module, written by hand: the responder only
 * needs a request line and the end of the headers, and the probe only a
 * status line; no HTTP library DPDK or libc offers does this without
 * allocating or blocking, and these must take any bytes (fuzzed).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ef_health_http.h"

/* RFC 9110 tchar */
static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A visible character of a request target (no space, no control). */
static int
is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/*
 * Check the line buf[0..n) (without its line end) as a header line:
 * token ':' any visible text, or an obs-fold continuation (rejected:
 * RFC 9112 lets a server reject it, and nobody sends it).
 */
static int
header_line_ok(const char *buf, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar((unsigned char)buf[i]))
		i++;
	if (i == 0 || i >= n || buf[i] != ':')
		return 0;
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 0x20 && c != '\t')
			return 0;
		if (c == 0x7f)
			return 0;
	}
	return 1;
}

enum ef_health_http_result
ef_health_http_parse(const char *buf, size_t len, size_t max,
		     struct ef_health_http_req *req)
{
	size_t i = 0, m, t0, t1, line;
	size_t lim = len < max ? len : max;
	static const char ver[] = "HTTP/1.";

	/* method */
	while (i < lim && is_tchar((unsigned char)buf[i]))
		i++;
	m = i;
	if (i == lim)
		goto more;
	if (m == 0 || m >= EF_HEALTH_HTTP_METHOD_MAX || buf[i] != ' ')
		return EF_HEALTH_HTTP_BAD;
	/* target */
	t0 = ++i;
	while (i < lim && is_vchar((unsigned char)buf[i]))
		i++;
	t1 = i;
	if (i == lim)
		goto more;
	if (t1 == t0 || buf[i] != ' ')
		return EF_HEALTH_HTTP_BAD;
	/* version: "HTTP/1." DIGIT */
	i++;
	for (size_t k = 0; k < sizeof(ver) - 1; k++, i++) {
		if (i == lim)
			goto more;
		if (buf[i] != ver[k])
			return EF_HEALTH_HTTP_BAD;
	}
	if (i == lim)
		goto more;
	if (buf[i] < '0' || buf[i] > '9')
		return EF_HEALTH_HTTP_BAD;
	req->minor = (uint8_t)(buf[i] - '0');
	i++;
	if (i < lim && buf[i] == '\r')
		i++;
	if (i == lim)
		goto more;
	if (buf[i] != '\n')
		return EF_HEALTH_HTTP_BAD;
	i++;
	/* header lines up to an empty one */
	for (;;) {
		size_t end;

		line = i;
		while (i < lim && buf[i] != '\n')
			i++;
		if (i == lim)
			goto more;
		end = i;
		if (end > line && buf[end - 1] == '\r')
			end--;
		i++;
		if (end == line)
			break;
		if (!header_line_ok(buf + line, end - line))
			return EF_HEALTH_HTTP_BAD;
	}
	memcpy(req->method, buf, m);
	req->method[m] = '\0';
	req->target_off = (uint32_t)t0;
	req->target_len = (uint32_t)(t1 - t0);
	req->header_len = (uint32_t)i;
	return EF_HEALTH_HTTP_COMPLETE;
more:
	return len >= max ? EF_HEALTH_HTTP_TOO_LARGE : EF_HEALTH_HTTP_PARTIAL;
}

/* Append s JSON-escaped to out (cap bytes): returns the new length, or
 * cap when it did not fit. */
static size_t
json_escape(char *out, size_t off, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n && off < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			if (off + 2 > cap)
				return cap;
			out[off++] = '\\';
			out[off++] = (char)c;
		} else if (c < 0x20) {
			if (off + 6 > cap)
				return cap;
			memcpy(out + off, "\\u00", 4);
			out[off + 4] = hex[c >> 4];
			out[off + 5] = hex[c & 15];
			off += 6;
		} else {
			out[off++] = (char)c;
		}
	}
	return off;
}

int
ef_health_http_answer(char *buf, size_t cap, const char *service,
		      uint32_t n_local, bool head_only)
{
	char body[1024];
	const char *slash = strchr(service, '/');
	size_t nsl = slash != NULL ? (size_t)(slash - service) : 0;
	const char *name = slash != NULL ? slash + 1 : service;
	size_t off;
	int k;

	off = (size_t)snprintf(body, sizeof(body),
			       "{\"service\":{\"namespace\":\"");
	off = json_escape(body, off, sizeof(body), service, nsl);
	if (off + 12 >= sizeof(body))
		return -ENOSPC;
	memcpy(body + off, "\",\"name\":\"", 10);
	off += 10;
	off = json_escape(body, off, sizeof(body), name, strlen(name));
	if (off >= sizeof(body))
		return -ENOSPC;
	k = snprintf(body + off, sizeof(body) - off,
		     "\"},\"localEndpoints\":%u,\"serviceProxyHealthy\":true}",
		     n_local);
	if (k < 0 || (size_t)k >= sizeof(body) - off)
		return -ENOSPC;
	off += (size_t)k;
	k = snprintf(buf, cap,
		     "HTTP/1.1 %s\r\n"
		     "Content-Type: application/json\r\n"
		     "X-Content-Type-Options: nosniff\r\n"
		     "X-Load-Balancing-Endpoint-Weight: %u\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: close\r\n"
		     "\r\n%s",
		     n_local > 0 ? "200 OK" : "503 Service Unavailable",
		     n_local, off, head_only ? "" : body);
	if (k < 0 || (size_t)k >= cap)
		return -ENOSPC;
	return k;
}

int
ef_health_http_error(char *buf, size_t cap, int status)
{
	const char *reason;
	int k;

	switch (status) {
	case 400:
		reason = "Bad Request";
		break;
	case 405:
		reason = "Method Not Allowed";
		break;
	case 408:
		reason = "Request Timeout";
		break;
	case 431:
		reason = "Request Header Fields Too Large";
		break;
	default:
		status = 500;
		reason = "Internal Server Error";
		break;
	}
	k = snprintf(buf, cap,
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %zu\r\n"
		     "%s"
		     "Connection: close\r\n"
		     "\r\n%s\n", status, reason, strlen(reason) + 1,
		     status == 405 ? "Allow: GET, HEAD\r\n" : "", reason);
	if (k < 0 || (size_t)k >= cap)
		return -ENOSPC;
	return k;
}

int
ef_health_http_status(const char *buf, size_t len)
{
	static const char ver[] = "HTTP/1.";
	size_t i;
	int code = 0;

	for (i = 0; i < sizeof(ver) - 1; i++) {
		if (i == len)
			return -EAGAIN;
		if (buf[i] != ver[i])
			return -EINVAL;
	}
	if (i == len)
		return -EAGAIN;
	if (buf[i] < '0' || buf[i] > '9')
		return -EINVAL;
	if (++i == len)
		return -EAGAIN;
	if (buf[i++] != ' ')
		return -EINVAL;
	for (int d = 0; d < 3; d++, i++) {
		if (i == len)
			return -EAGAIN;
		if (buf[i] < '0' || buf[i] > '9')
			return -EINVAL;
		code = code * 10 + (buf[i] - '0');
	}
	if (code < 100 || code > 599)
		return -EINVAL;
	return code;
}

void
ef_health_sm_init(struct ef_health_sm *sm, bool healthy)
{
	sm->healthy = healthy;
	sm->ok_run = 0;
	sm->fail_run = 0;
}

bool
ef_health_sm_update(struct ef_health_sm *sm, bool success, uint32_t rise,
		    uint32_t fall)
{
	if (rise == 0)
		rise = 1;
	if (fall == 0)
		fall = 1;
	if (sm->healthy) {
		sm->ok_run = 0;
		sm->fail_run = success ? 0 : sm->fail_run + 1;
		if (sm->fail_run >= fall) {
			sm->healthy = false;
			sm->fail_run = 0;
			return true;
		}
		return false;
	}
	sm->fail_run = 0;
	sm->ok_run = success ? sm->ok_run + 1 : 0;
	if (sm->ok_run >= rise) {
		sm->healthy = true;
		sm->ok_run = 0;
		return true;
	}
	return false;
}
