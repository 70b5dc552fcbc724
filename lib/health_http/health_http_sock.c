/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The socket half of the HTTP pieces (ef_health_http.h): what the
 * healthCheckNodePort responder and the /metrics server (lib/health,
 * lib/metrics) do alike with a listener and a client, and what the
 * endpoint and node probers (lib/health) do alike with a probe. Plain
 * non-blocking kernel sockets; no DPDK, no state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ef_health_http.h"

int
ef_health_http_listen(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = addr,
	};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the exception TAP may still be coming up: bind anyway */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 64) != 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int
ef_health_http_listen6(const uint8_t addr[16], uint16_t port)
{
	struct sockaddr_in6 sa = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(port),
	};
	int one = 1;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);

	if (fd < 0)
		return -errno;
	memcpy(&sa.sin6_addr, addr, 16);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* as IPv4: the exception TAP's address may not be there yet */
	setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 64) != 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int
ef_health_http_recv(int fd, char *buf, uint32_t *len, size_t cap,
		    struct ef_health_http_req *req)
{
	ssize_t r = recv(fd, buf + *len, cap - *len, MSG_DONTWAIT);

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return -EAGAIN;
	if (r <= 0)
		return -ECONNRESET;	/* half a request, then gone */
	*len += (uint32_t)r;
	switch (ef_health_http_parse(buf, *len, cap, req)) {
	case EF_HEALTH_HTTP_COMPLETE:
		if (strcmp(req->method, "GET") == 0 ||
		    strcmp(req->method, "HEAD") == 0)
			return 0;
		return 405;
	case EF_HEALTH_HTTP_PARTIAL:
		return -EAGAIN;
	case EF_HEALTH_HTTP_TOO_LARGE:
		return 431;
	default:
		return 400;
	}
}

int
ef_health_http_probe_connect(const struct ef_addr *addr, uint16_t port,
			     int *cerr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)&ss;
	bool v6 = addr->family == EF_AF_INET6;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		sa6->sin6_family = AF_INET6;
		sa6->sin6_port = htons(port);
		memcpy(&sa6->sin6_addr, addr->v6, 16);
		len = sizeof(*sa6);
	} else {
		sa->sin_family = AF_INET;
		sa->sin_port = htons(port);
		sa->sin_addr.s_addr = addr->v4;
		len = sizeof(*sa);
	}
	fd = socket(v6 ? AF_INET6 : AF_INET,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* an immediate failure (ENETUNREACH...) is kept in cerr and
	 * reported when the socket's event comes (EPOLLHUP): one path for
	 * every outcome */
	*cerr = 0;
	if (connect(fd, (struct sockaddr *)&ss, len) != 0 &&
	    errno != EINPROGRESS)
		*cerr = errno;
	return fd;
}

int
ef_health_http_probe_connected(int fd, int cerr, bool hup)
{
	socklen_t el = sizeof(int);
	int err = 0;

	if (cerr != 0)
		err = cerr;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
		err = errno;
	if (err == 0 && hup)
		err = ECONNRESET;
	return err;
}

int
ef_health_http_probe_send(int fd, const char *path,
			  const struct ef_addr *addr, uint16_t port,
			  const char *agent)
{
	char req[EF_HEALTH_HTTP_PROBE_PATH_MAX + 256], a[EF_ADDR_STRLEN];
	bool v6 = addr->family == EF_AF_INET6;
	int k;

	if (strlen(path) > EF_HEALTH_HTTP_PROBE_PATH_MAX)
		return -ENAMETOOLONG;
	ef_addr_fmt(addr, a, sizeof(a));
	/* RFC 7230 5.4 / RFC 3986 3.2.2: an IPv6 host in brackets */
	k = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s%s%s:%u"
		     "\r\nUser-Agent: %s\r\nAccept: */*"
		     "\r\nConnection: close\r\n\r\n", path, v6 ? "[" : "", a,
		     v6 ? "]" : "", port, agent);
	if (k < 0 || (size_t)k >= sizeof(req))
		return -ENOSPC;
	/* a fresh socket's buffer takes a request this small */
	if (send(fd, req, (size_t)k, MSG_NOSIGNAL) != k)
		return -EIO;
	return 0;
}
