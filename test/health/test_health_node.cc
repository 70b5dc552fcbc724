/* SPDX-License-Identifier: BSD-3-Clause */
/* The answer heads the node prober reads (ef_health_node_parse). */
#include <cerrno>
#include <string>

#include <gtest/gtest.h>

#include "ef_health_node.h"

namespace {

int
parse(const std::string &s, int64_t *w)
{
	return ef_health_node_parse(s.data(), s.size(), w);
}

TEST(HealthNode, StatusAndWeightHeader)
{
	int64_t w;

	EXPECT_EQ(200, parse("HTTP/1.1 200 OK\r\nContent-Type: application/"
			     "json\r\nX-Load-Balancing-Endpoint-Weight: 3\r\n"
			     "\r\n{\"localEndpoints\": 3}", &w));
	EXPECT_EQ(3, w);
	EXPECT_EQ(503, parse("HTTP/1.1 503 Service Unavailable\r\n"
			     "x-load-balancing-endpoint-weight:  0 \r\n\r\n",
			     &w));
	EXPECT_EQ(0, w);
	EXPECT_EQ(200, parse("HTTP/1.0 200 OK\r\nServer: x\r\n\r\n", &w));
	EXPECT_EQ(-1, w);	/* kube-proxy before the header */
	EXPECT_EQ(200, parse("HTTP/1.1 200 OK\r\nX-Load-Balancing-Endpoint-"
			     "Weight: lots\r\n\r\n", &w));
	EXPECT_EQ(-1, w);
}

TEST(HealthNode, IncompleteAndGarbage)
{
	int64_t w;

	EXPECT_EQ(-EAGAIN, parse("HTTP/1.1 200 OK\r\nX-Load-Bal", &w));
	EXPECT_EQ(-EAGAIN, parse("HTTP/1.", &w));
	EXPECT_LT(parse("SSH-2.0-OpenSSH\r\n\r\n", &w), 0);
	EXPECT_NE(-EAGAIN, parse("SSH-2.0-OpenSSH\r\n\r\n", &w));
}

} /* namespace */
