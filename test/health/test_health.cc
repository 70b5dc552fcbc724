/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "ef_health_http.h"

namespace {

enum ef_health_http_result
parse(const std::string &s, struct ef_health_http_req *r,
      size_t max = EF_HEALTH_HTTP_MAX_REQUEST)
{
	return ef_health_http_parse(s.data(), s.size(), max, r);
}

TEST(HealthHttp, CompleteGet)
{
	struct ef_health_http_req r;
	std::string s = "GET /healthz HTTP/1.1\r\nHost: x\r\nA-b: c d\r\n\r\n";

	ASSERT_EQ(parse(s, &r), EF_HEALTH_HTTP_COMPLETE);
	EXPECT_STREQ(r.method, "GET");
	EXPECT_EQ(s.substr(r.target_off, r.target_len), "/healthz");
	EXPECT_EQ(r.minor, 1);
	EXPECT_EQ(r.header_len, s.size());
	/* bare LF line ends, no headers */
	ASSERT_EQ(parse("HEAD / HTTP/1.0\n\n", &r), EF_HEALTH_HTTP_COMPLETE);
	EXPECT_STREQ(r.method, "HEAD");
	EXPECT_EQ(r.minor, 0);
	/* a body after the head is not part of it */
	s = "POST / HTTP/1.1\r\n\r\nbody";
	ASSERT_EQ(parse(s, &r), EF_HEALTH_HTTP_COMPLETE);
	EXPECT_EQ(r.header_len, s.size() - 4);
}

TEST(HealthHttp, EveryPrefixIsPartial)
{
	struct ef_health_http_req r;
	std::string s = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

	for (size_t n = 0; n < s.size(); n++)
		EXPECT_EQ(parse(s.substr(0, n), &r), EF_HEALTH_HTTP_PARTIAL)
			<< "prefix " << n;
	EXPECT_EQ(parse(s, &r), EF_HEALTH_HTTP_COMPLETE);
}

TEST(HealthHttp, Oversized)
{
	struct ef_health_http_req r;
	std::string s = "GET / HTTP/1.1\r\nX: " + std::string(200, 'a');

	EXPECT_EQ(parse(s, &r, 64), EF_HEALTH_HTTP_TOO_LARGE);
	EXPECT_EQ(parse(s, &r, 4096), EF_HEALTH_HTTP_PARTIAL);
	/* a complete request longer than the limit is too large too */
	EXPECT_EQ(parse(s + "\r\n\r\n", &r, 64), EF_HEALTH_HTTP_TOO_LARGE);
	/* an endless method token: too large at the limit, bad once it is
	 * longer than any method */
	EXPECT_EQ(parse(std::string(100, 'G'), &r, 64),
		  EF_HEALTH_HTTP_TOO_LARGE);
	EXPECT_EQ(parse(std::string(100, 'G') + " ", &r),
		  EF_HEALTH_HTTP_BAD);
}

TEST(HealthHttp, Garbage)
{
	struct ef_health_http_req r;
	const char *bad[] = {
		"\x16\x03\x01\x02\x00",		/* TLS hello */
		" GET / HTTP/1.1\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET / FTP/1.1\r\n\r\n",
		"GET / HTTP/1.x\r\n\r\n",
		"GET / HTTP/1.1\rX\n\r\n",
		"GET / HTTP/1.1\r\nno colon\r\n\r\n",
		"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n",
		"GET /\x7f HTTP/1.1\r\n\r\n",
	};

	for (const char *b : bad)
		EXPECT_EQ(parse(b, &r), EF_HEALTH_HTTP_BAD) << b;
	std::string nul("GET / HTTP/1.1\r\nX: \0\r\n\r\n", 25);
	EXPECT_EQ(parse(nul, &r), EF_HEALTH_HTTP_BAD);
}

TEST(HealthHttp, Answer)
{
	char buf[1024];
	int n = ef_health_http_answer(buf, sizeof(buf), "demo/web", 2, false);

	ASSERT_GT(n, 0);
	std::string s(buf, (size_t)n);
	EXPECT_EQ(s.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
	EXPECT_NE(s.find("Content-Type: application/json\r\n"),
		  std::string::npos);
	EXPECT_NE(s.find("X-Load-Balancing-Endpoint-Weight: 2\r\n"),
		  std::string::npos);
	std::string body = "{\"service\":{\"namespace\":\"demo\",\"name\":"
		"\"web\"},\"localEndpoints\":2,\"serviceProxyHealthy\":true}";
	EXPECT_EQ(s.substr(s.size() - body.size()), body);
	EXPECT_NE(s.find("Content-Length: " + std::to_string(body.size())),
		  std::string::npos);

	n = ef_health_http_answer(buf, sizeof(buf), "a/b\"c", 0, true);
	ASSERT_GT(n, 0);
	s.assign(buf, (size_t)n);
	EXPECT_EQ(s.rfind("HTTP/1.1 503 ", 0), 0u);
	EXPECT_EQ(s.substr(s.size() - 4), "\r\n\r\n");	/* HEAD: no body */
	EXPECT_EQ(ef_health_http_answer(buf, 40, "demo/web", 1, false),
		  -ENOSPC);
	n = ef_health_http_error(buf, sizeof(buf), 405);
	ASSERT_GT(n, 0);
	EXPECT_EQ(std::string(buf, 30).rfind("HTTP/1.1 405 ", 0), 0u);
	EXPECT_NE(std::string(buf).find("Allow: GET, HEAD"), std::string::npos);
}

TEST(HealthHttp, Status)
{
	EXPECT_EQ(ef_health_http_status("HTTP/1.1 204 No", 15), 204);
	EXPECT_EQ(ef_health_http_status("HTTP/1.0 503", 12), 503);
	EXPECT_EQ(ef_health_http_status("HTTP/1.1 20", 11), -EAGAIN);
	EXPECT_EQ(ef_health_http_status("", 0), -EAGAIN);
	EXPECT_EQ(ef_health_http_status("SSH-2.0-Open", 12), -EINVAL);
	EXPECT_EQ(ef_health_http_status("HTTP/1.1 999", 12), -EINVAL);
	EXPECT_EQ(ef_health_http_status("HTTP/1.1 2x0", 12), -EINVAL);
}

TEST(HealthSm, RiseAndFall)
{
	struct ef_health_sm sm;

	ef_health_sm_init(&sm, true);
	/* fall = 3: two failures, a success resets the run */
	EXPECT_FALSE(ef_health_sm_update(&sm, false, 2, 3));
	EXPECT_FALSE(ef_health_sm_update(&sm, false, 2, 3));
	EXPECT_FALSE(ef_health_sm_update(&sm, true, 2, 3));
	EXPECT_TRUE(sm.healthy);
	EXPECT_FALSE(ef_health_sm_update(&sm, false, 2, 3));
	EXPECT_FALSE(ef_health_sm_update(&sm, false, 2, 3));
	EXPECT_TRUE(ef_health_sm_update(&sm, false, 2, 3));
	EXPECT_FALSE(sm.healthy);
	/* more failures change nothing; rise = 2 */
	EXPECT_FALSE(ef_health_sm_update(&sm, false, 2, 3));
	EXPECT_FALSE(ef_health_sm_update(&sm, true, 2, 3));
	EXPECT_FALSE(ef_health_sm_update(&sm, false, 2, 3));
	EXPECT_FALSE(ef_health_sm_update(&sm, true, 2, 3));
	EXPECT_TRUE(ef_health_sm_update(&sm, true, 2, 3));
	EXPECT_TRUE(sm.healthy);
	/* 0 thresholds act as 1 */
	EXPECT_TRUE(ef_health_sm_update(&sm, false, 0, 0));
	EXPECT_TRUE(ef_health_sm_update(&sm, true, 0, 0));
}

/* ---- the socket half, on loopback ------------------------------------- */

const uint32_t LO = htonl(INADDR_LOOPBACK);
const struct ef_addr LO_A = ef_addr_v4(INADDR_LOOPBACK);

uint16_t
port_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t l = sizeof(sa);

	EXPECT_EQ(getsockname(fd, (struct sockaddr *)&sa, &l), 0);
	return ntohs(sa.sin_port);
}

/* Wait (on the event, bounded at 5 s) until fd is ready for ev. */
bool
ready(int fd, short ev)
{
	struct pollfd p = { fd, ev, 0 };

	return poll(&p, 1, 5000) == 1;
}

/* A listener on an ephemeral loopback port, a client connected to it and
 * the accepted server side. */
struct Pair {
	int l = -1, cli = -1, srv = -1;

	Pair()
	{
		l = ef_health_http_listen(LO, 0);
		EXPECT_GE(l, 0);
		struct sockaddr_in sa = {};
		sa.sin_family = AF_INET;
		sa.sin_port = htons(port_of(l));
		sa.sin_addr.s_addr = LO;
		cli = socket(AF_INET, SOCK_STREAM, 0);
		EXPECT_EQ(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), 0);
		EXPECT_TRUE(ready(l, POLLIN));
		srv = accept4(l, NULL, NULL, SOCK_NONBLOCK);
		EXPECT_GE(srv, 0);
	}
	~Pair()
	{
		for (int fd : { l, cli, srv })
			if (fd >= 0)
				close(fd);
	}
	void say(const std::string &s)
	{
		ASSERT_EQ(send(cli, s.data(), s.size(), MSG_NOSIGNAL),
			  (ssize_t)s.size());
		ASSERT_TRUE(ready(srv, POLLIN));
	}
};

TEST(HealthHttpSock, ListenTwiceOnOnePortFails)
{
	int a = ef_health_http_listen(LO, 0);

	ASSERT_GE(a, 0);
	EXPECT_EQ(ef_health_http_listen(LO, port_of(a)), -EADDRINUSE);
	close(a);
}

TEST(HealthHttpSock, RecvRequestInPieces)
{
	Pair p;
	char buf[EF_HEALTH_HTTP_MAX_REQUEST];
	uint32_t len = 0;
	struct ef_health_http_req req;

	/* nothing sent yet */
	EXPECT_EQ(ef_health_http_recv(p.srv, buf, &len, sizeof(buf), &req),
		  -EAGAIN);
	p.say("HEAD /x HTTP/1.1\r\nHo");
	EXPECT_EQ(ef_health_http_recv(p.srv, buf, &len, sizeof(buf), &req),
		  -EAGAIN);
	EXPECT_EQ(len, 20u);
	p.say("st: a\r\n\r\n");
	ASSERT_EQ(ef_health_http_recv(p.srv, buf, &len, sizeof(buf), &req), 0);
	EXPECT_STREQ(req.method, "HEAD");
	EXPECT_EQ(std::string(buf + req.target_off, req.target_len), "/x");
	/* the client goes: the connection is to be closed */
	close(p.cli);
	p.cli = -1;
	ASSERT_TRUE(ready(p.srv, POLLIN));
	EXPECT_EQ(ef_health_http_recv(p.srv, buf, &len, sizeof(buf), &req),
		  -ECONNRESET);
}

/* What ef_health_http_recv() says of request s read into cap bytes. */
int
recv_one(const std::string &s, size_t cap, uint32_t *len_out = NULL)
{
	Pair p;
	char buf[EF_HEALTH_HTTP_MAX_REQUEST];
	uint32_t len = 0;
	struct ef_health_http_req req;
	int rc;

	p.say(s);
	rc = ef_health_http_recv(p.srv, buf, &len, cap, &req);
	if (len_out != NULL)
		*len_out = len;
	return rc;
}

TEST(HealthHttpSock, RecvErrors)
{
	uint32_t len;

	EXPECT_EQ(recv_one("POST / HTTP/1.1\r\n\r\n", 256), 405);
	EXPECT_EQ(recv_one("SSH-2.0-OpenSSH\r\n", 256), 400);
	EXPECT_EQ(recv_one("GET / HTTP/1.1\r\nX: " + std::string(40, 'a'), 32,
			   &len), 431);
	EXPECT_EQ(len, 32u);
}

TEST(HealthHttpSock, ProbeConnectsAndSends)
{
	int l = ef_health_http_listen(LO, 0);
	int cerr = -1, fd, srv;
	char buf[512];
	ssize_t r;
	std::string want;

	ASSERT_GE(l, 0);
	fd = ef_health_http_probe_connect(&LO_A, port_of(l), &cerr);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(cerr, 0);
	ASSERT_TRUE(ready(fd, POLLOUT));
	EXPECT_EQ(ef_health_http_probe_connected(fd, cerr, false), 0);
	/* a hang-up without an error is a reset */
	EXPECT_EQ(ef_health_http_probe_connected(fd, cerr, true), ECONNRESET);
	/* an immediate error is what is reported */
	EXPECT_EQ(ef_health_http_probe_connected(fd, ENETUNREACH, false),
		  ENETUNREACH);
	EXPECT_EQ(ef_health_http_probe_send(fd, "/healthz", &LO_A, 8080,
					    "edgefwd-test"), 0);
	ASSERT_TRUE(ready(l, POLLIN));
	srv = accept(l, NULL, NULL);
	ASSERT_GE(srv, 0);
	want = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:8080\r\n"
	       "User-Agent: edgefwd-test\r\nAccept: */*\r\n"
	       "Connection: close\r\n\r\n";
	ASSERT_TRUE(ready(srv, POLLIN));
	r = recv(srv, buf, sizeof(buf), MSG_WAITALL | MSG_DONTWAIT);
	ASSERT_EQ(r, (ssize_t)want.size());
	EXPECT_EQ(std::string(buf, (size_t)r), want);
	/* a path longer than the limit is refused, not cut */
	EXPECT_EQ(ef_health_http_probe_send(fd, std::string(
		EF_HEALTH_HTTP_PROBE_PATH_MAX + 1, 'a').c_str(), &LO_A, 1, "x"),
		-ENAMETOOLONG);
	close(srv);
	close(fd);
	close(l);
}

/* The endpoint and node probers reach IPv6 endpoints and nodes: the
 * connect is IPv6 and the Host header brackets the address. */
TEST(HealthHttpSock, ProbeConnectsAndSendsOverIpv6)
{
	struct ef_addr lo6;
	int l, cerr = -1, fd, srv;
	char buf[512];
	ssize_t r;
	std::string want;

	ASSERT_EQ(ef_addr_parse("::1", &lo6), 0);
	l = ef_health_http_listen6(lo6.v6, 0);
	ASSERT_GE(l, 0) << "no IPv6 loopback: " << strerror(-l);
	fd = ef_health_http_probe_connect(&lo6, port_of(l), &cerr);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(cerr, 0);
	ASSERT_TRUE(ready(fd, POLLOUT));
	EXPECT_EQ(ef_health_http_probe_connected(fd, cerr, false), 0);
	EXPECT_EQ(ef_health_http_probe_send(fd, "/", &lo6, 32000,
					    "edgefwd-test"), 0);
	ASSERT_TRUE(ready(l, POLLIN));
	srv = accept(l, NULL, NULL);
	ASSERT_GE(srv, 0);
	want = "GET / HTTP/1.0\r\nHost: [::1]:32000\r\n"
	       "User-Agent: edgefwd-test\r\nAccept: */*\r\n"
	       "Connection: close\r\n\r\n";
	ASSERT_TRUE(ready(srv, POLLIN));
	r = recv(srv, buf, sizeof(buf), MSG_WAITALL | MSG_DONTWAIT);
	ASSERT_EQ(r, (ssize_t)want.size());
	EXPECT_EQ(std::string(buf, (size_t)r), want);
	close(srv);
	close(fd);
	close(l);
}

TEST(HealthHttpSock, ProbeRefused)
{
	int l = ef_health_http_listen(LO, 0);
	uint16_t port;
	int cerr = -1, fd;

	/* a port nobody listens on: take one, then close it */
	ASSERT_GE(l, 0);
	port = port_of(l);
	close(l);
	fd = ef_health_http_probe_connect(&LO_A, port, &cerr);
	ASSERT_GE(fd, 0);
	ASSERT_TRUE(ready(fd, POLLOUT));
	EXPECT_EQ(ef_health_http_probe_connected(fd, cerr, false),
		  ECONNREFUSED);
	close(fd);
}

} // namespace
