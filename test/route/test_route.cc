/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include <vector>

#include <rte_errno.h>
#include <rte_memory.h>

#include <gtest/gtest.h>

#include "ef_route.h"

namespace {

uint32_t
ip(const char *s)
{
	struct ef_addr a;

	EXPECT_EQ(0, ef_addr_parse(s, &a));
	return a.v4;
}

struct ef_cfg_interface
iface(const char *port, const char *cidr, const char *gw = nullptr)
{
	struct ef_cfg_interface f;

	memset(&f, 0, sizeof(f));
	snprintf(f.port, sizeof(f.port), "%s", port);
	EXPECT_EQ(0, ef_prefix_parse(cidr, true, &f.address, &f.prefix_len));
	if (gw != nullptr) {
		EXPECT_EQ(0, ef_addr_parse(gw, &f.gateway));
	}
	return f;
}

struct ef_cfg_route
route(const char *prefix, const char *via)
{
	struct ef_cfg_route r;

	memset(&r, 0, sizeof(r));
	EXPECT_EQ(0, ef_prefix_parse(prefix, false, &r.prefix,
				     &r.prefix_len));
	EXPECT_EQ(0, ef_addr_parse(via, &r.via));
	return r;
}

/* The CONFIG.md example: external net_tap0 with a gateway, internal tap1. */
class RouteTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		ifs = { iface("net_tap0", "198.51.100.1/24", "198.51.100.254"),
			iface("net_tap1", "10.0.0.1/24") };
		routes = { route("10.244.1.0/24", "10.0.0.2"),
			   route("10.244.0.0/16", "10.0.0.3"),
			   route("10.244.1.99/32", "10.0.0.4") };
		t = ef_route_build(ifs.data(), (uint32_t)ifs.size(),
				   routes.data(), (uint32_t)routes.size(),
				   SOCKET_ID_ANY);
		ASSERT_NE(nullptr, t) << rte_strerror(rte_errno);
	}
	void TearDown() override { ef_route_free(t); }

	std::vector<struct ef_cfg_interface> ifs;
	std::vector<struct ef_cfg_route> routes;
	struct ef_route_table *t = nullptr;
};

} /* namespace */

TEST_F(RouteTest, Connected)
{
	struct ef_nexthop nh;

	ASSERT_EQ(0, ef_route_lookup4(t, ip("10.0.0.77"), &nh));
	EXPECT_EQ(1, nh.iface);
	EXPECT_EQ(1, nh.direct);
	EXPECT_EQ(ip("10.0.0.77"), nh.gw);
	ASSERT_EQ(0, ef_route_lookup4(t, ip("198.51.100.9"), &nh));
	EXPECT_EQ(0, nh.iface);
	EXPECT_EQ(1, nh.direct);
	EXPECT_EQ(ip("198.51.100.9"), nh.gw);
	EXPECT_EQ(6u, ef_route_count(t));
}

TEST_F(RouteTest, LongestPrefixWins)
{
	struct ef_nexthop nh;

	ASSERT_EQ(0, ef_route_lookup4(t, ip("10.244.1.7"), &nh));
	EXPECT_EQ(1, nh.iface);
	EXPECT_EQ(0, nh.direct);
	EXPECT_EQ(ip("10.0.0.2"), nh.gw);
	ASSERT_EQ(0, ef_route_lookup4(t, ip("10.244.7.7"), &nh));
	EXPECT_EQ(ip("10.0.0.3"), nh.gw);
}

TEST_F(RouteTest, HostRoute)
{
	struct ef_nexthop nh;

	ASSERT_EQ(0, ef_route_lookup4(t, ip("10.244.1.99"), &nh));
	EXPECT_EQ(ip("10.0.0.4"), nh.gw);
	EXPECT_EQ(0, nh.direct);
	ASSERT_EQ(0, ef_route_lookup4(t, ip("10.244.1.98"), &nh));
	EXPECT_EQ(ip("10.0.0.2"), nh.gw);
	ASSERT_EQ(0, ef_route_lookup4(t, ip("10.244.1.100"), &nh));
	EXPECT_EQ(ip("10.0.0.2"), nh.gw);
}

TEST_F(RouteTest, DefaultGateway)
{
	struct ef_nexthop nh;

	ASSERT_EQ(0, ef_route_lookup4(t, ip("8.8.8.8"), &nh));
	EXPECT_EQ(0, nh.iface);
	EXPECT_EQ(0, nh.direct);
	EXPECT_EQ(ip("198.51.100.254"), nh.gw);
}

TEST_F(RouteTest, BulkEqualsSingle)
{
	const char *names[] = {
		"10.0.0.1", "10.0.0.255", "10.244.1.99", "10.244.1.7",
		"10.244.200.1", "198.51.100.254", "1.2.3.4", "0.0.0.0",
		"255.255.255.255", "10.245.0.1", "10.0.1.1", "198.51.101.1",
	};
	std::vector<uint32_t> dst;

	/* more than one internal slice of 32, and an odd tail */
	for (int r = 0; r < 6; r++)
		for (const char *n : names)
			dst.push_back(ip(n) ^ (r == 0 ? 0 : htonl((uint32_t)r)));
	std::vector<struct ef_nexthop> nh(dst.size());
	std::vector<int> rc(dst.size(), 1);
	uint32_t found = ef_route_lookup4_bulk(t, dst.data(),
					       (uint32_t)dst.size(),
					       nh.data(), rc.data());
	uint32_t want_found = 0;

	for (size_t i = 0; i < dst.size(); i++) {
		struct ef_nexthop one;
		int r1 = ef_route_lookup4(t, dst[i], &one);

		ASSERT_EQ(r1, rc[i]) << i;
		if (r1 != 0)
			continue;
		want_found++;
		EXPECT_EQ(one.iface, nh[i].iface) << i;
		EXPECT_EQ(one.direct, nh[i].direct) << i;
		EXPECT_EQ(one.gw, nh[i].gw) << i;
	}
	EXPECT_EQ(want_found, found);
	EXPECT_EQ(dst.size(), (size_t)found); /* the default route catches all */
}

TEST(Route, MissWithoutDefault)
{
	std::vector<struct ef_cfg_interface> ifs = {
		iface("p0", "10.0.0.1/24"),
	};
	std::vector<struct ef_cfg_route> routes = {
		route("192.168.0.0/16", "10.0.0.9"),
	};
	struct ef_route_table *t = ef_route_build(ifs.data(), 1, routes.data(),
						  1, SOCKET_ID_ANY);
	struct ef_nexthop nh;
	uint32_t dst[2] = { ip("8.8.8.8"), ip("192.168.3.3") };
	int rc[2];
	struct ef_nexthop bulk[2];

	ASSERT_NE(nullptr, t);
	EXPECT_EQ(-ENOENT, ef_route_lookup4(t, ip("8.8.8.8"), &nh));
	EXPECT_EQ(-ENOENT, ef_route_lookup4(t, ip("10.0.1.1"), &nh));
	EXPECT_EQ(1u, ef_route_lookup4_bulk(t, dst, 2, bulk, rc));
	EXPECT_EQ(-ENOENT, rc[0]);
	EXPECT_EQ(0, rc[1]);
	EXPECT_EQ(ip("10.0.0.9"), bulk[1].gw);
	ef_route_free(t);
}

TEST(Route, UnreachableViaIsRejected)
{
	std::vector<struct ef_cfg_interface> ifs = {
		iface("p0", "10.0.0.1/24"),
	};
	std::vector<struct ef_cfg_route> routes = {
		route("192.168.0.0/16", "10.0.1.9"),
	};

	rte_errno = 0;
	EXPECT_EQ(nullptr, ef_route_build(ifs.data(), 1, routes.data(), 1,
					  SOCKET_ID_ANY));
	EXPECT_EQ(EINVAL, rte_errno);

	/* a gateway outside its interface's subnet is rejected too */
	ifs[0] = iface("p0", "10.0.0.1/24", "10.9.9.9");
	rte_errno = 0;
	EXPECT_EQ(nullptr, ef_route_build(ifs.data(), 1, nullptr, 0,
					  SOCKET_ID_ANY));
	EXPECT_EQ(EINVAL, rte_errno);
}

TEST(Route, FirstGatewayWinsAndExplicitDefaultOverrides)
{
	std::vector<struct ef_cfg_interface> ifs = {
		iface("p0", "10.0.0.1/24"),
		iface("p1", "10.1.0.1/24", "10.1.0.254"),
		iface("p2", "10.2.0.1/24", "10.2.0.254"),
	};
	struct ef_nexthop nh;
	struct ef_route_table *t = ef_route_build(ifs.data(), 3, nullptr, 0,
						  SOCKET_ID_ANY);

	ASSERT_NE(nullptr, t);
	ASSERT_EQ(0, ef_route_lookup4(t, ip("1.1.1.1"), &nh));
	EXPECT_EQ(1, nh.iface);
	EXPECT_EQ(ip("10.1.0.254"), nh.gw);
	ef_route_free(t);

	std::vector<struct ef_cfg_route> routes = {
		route("0.0.0.0/0", "10.2.0.7"),
	};
	t = ef_route_build(ifs.data(), 3, routes.data(), 1, SOCKET_ID_ANY);
	ASSERT_NE(nullptr, t);
	ASSERT_EQ(0, ef_route_lookup4(t, ip("1.1.1.1"), &nh));
	EXPECT_EQ(2, nh.iface);
	EXPECT_EQ(ip("10.2.0.7"), nh.gw);
	ef_route_free(t);
}

TEST(Route, ViaUsesLongestConnectedSubnet)
{
	std::vector<struct ef_cfg_interface> ifs = {
		iface("wide", "10.0.0.1/16"),
		iface("narrow", "10.0.5.1/24"),
	};
	std::vector<struct ef_cfg_route> routes = {
		route("172.16.0.0/12", "10.0.5.9"),
		route("172.32.0.0/12", "10.0.6.9"),
	};
	struct ef_nexthop nh;
	struct ef_route_table *t = ef_route_build(ifs.data(), 2, routes.data(),
						  2, SOCKET_ID_ANY);

	ASSERT_NE(nullptr, t);
	ASSERT_EQ(0, ef_route_lookup4(t, ip("172.16.1.1"), &nh));
	EXPECT_EQ(1, nh.iface);
	ASSERT_EQ(0, ef_route_lookup4(t, ip("172.32.1.1"), &nh));
	EXPECT_EQ(0, nh.iface);
	/* connected: the /24 inside the /16 wins for its own addresses */
	ASSERT_EQ(0, ef_route_lookup4(t, ip("10.0.5.200"), &nh));
	EXPECT_EQ(1, nh.iface);
	ASSERT_EQ(0, ef_route_lookup4(t, ip("10.0.6.200"), &nh));
	EXPECT_EQ(0, nh.iface);
	ef_route_free(t);
}

TEST(Route, ManyTablesGetUniqueNames)
{
	std::vector<struct ef_cfg_interface> ifs = {
		iface("p0", "10.0.0.1/24"),
	};
	struct ef_route_table *a = ef_route_build(ifs.data(), 1, nullptr, 0,
						  SOCKET_ID_ANY);
	struct ef_route_table *b = ef_route_build(ifs.data(), 1, nullptr, 0,
						  SOCKET_ID_ANY);

	EXPECT_NE(nullptr, a);
	EXPECT_NE(nullptr, b);
	ef_route_free(a);
	ef_route_free(b);
}
