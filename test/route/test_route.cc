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

/* ===================== IPv6 (issue 12) ===================== */

namespace {

struct V6 {
	uint8_t b[16];
};

V6
ip6(const char *s)
{
	V6 v;

	EXPECT_EQ(1, inet_pton(AF_INET6, s, v.b)) << s;
	return v;
}

/* A dual-stack interface: IPv4 as today, IPv6 in address6/gateway6. */
struct ef_cfg_interface
iface2(const char *port, const char *cidr4, const char *gw4,
       const char *cidr6, const char *gw6)
{
	struct ef_cfg_interface f = iface(port, cidr4, gw4);

	EXPECT_EQ(0, ef_prefix_parse(cidr6, true, &f.address6,
				     &f.prefix_len6));
	if (gw6 != nullptr) {
		EXPECT_EQ(0, ef_addr_parse(gw6, &f.gateway6));
	}
	return f;
}

class Route6Test : public ::testing::Test {
protected:
	void SetUp() override
	{
		ifs = { iface2("net_tap0", "198.51.100.1/24", "198.51.100.254",
			       "2001:db8:1::1/64", "fe80::1"),
			iface2("net_tap1", "10.0.0.1/24", nullptr,
			       "fd00::1/64", nullptr) };
		routes = { route("10.244.1.0/24", "10.0.0.2"),
			   route("fd00:10:244:1::/64", "fd00::2"),
			   route("fd00:10:244::/48", "fd00::3"),
			   route("fd00:10:244:1::99/128", "fd00::4") };
		t = ef_route_build(ifs.data(), (uint32_t)ifs.size(),
				   routes.data(), (uint32_t)routes.size(),
				   SOCKET_ID_ANY);
		ASSERT_NE(nullptr, t) << rte_strerror(rte_errno);
	}
	void TearDown() override { ef_route_free(t); }

	void expect6(const char *dst, int iface, int direct, const char *gw)
	{
		struct ef_nexthop6 nh;
		V6 d = ip6(dst), g = ip6(gw);

		ASSERT_EQ(0, ef_route_lookup6(t, d.b, &nh)) << dst;
		EXPECT_EQ(iface, nh.iface) << dst;
		EXPECT_EQ(direct, nh.direct) << dst;
		EXPECT_EQ(0, memcmp(g.b, nh.gw, 16)) << dst;
	}

	std::vector<struct ef_cfg_interface> ifs;
	std::vector<struct ef_cfg_route> routes;
	struct ef_route_table *t = nullptr;
};

} /* namespace */

TEST_F(Route6Test, ConnectedRoutesAndLongestPrefix)
{
	expect6("2001:db8:1::77", 0, 1, "2001:db8:1::77");
	expect6("fd00::9", 1, 1, "fd00::9");
	expect6("fd00:10:244:1::5", 1, 0, "fd00::2");
	expect6("fd00:10:244:2::5", 1, 0, "fd00::3");
	expect6("fd00:10:244:1::99", 1, 0, "fd00::4");
	/* 2 connected + 3 routes + the default */
	EXPECT_EQ(6u, ef_route_count6(t));
}

TEST_F(Route6Test, DefaultViaLinkLocalGatewayAndFamiliesApart)
{
	struct ef_nexthop nh;

	expect6("2606:4700::1", 0, 0, "fe80::1");
	/* IPv4 is exactly what it was: 2 connected, 1 route, 1 default */
	EXPECT_EQ(4u, ef_route_count(t));
	ASSERT_EQ(0, ef_route_lookup4(t, ip("8.8.8.8"), &nh));
	EXPECT_EQ(0, nh.iface);
	EXPECT_EQ(ip("198.51.100.254"), nh.gw);
}

TEST_F(Route6Test, BulkEqualsSingle)
{
	const char *d[] = { "2001:db8:1::1", "fd00::1", "fd00:10:244:1::1",
			    "fd00:10:244:7::1", "fd00:10:244:1::99", "::1",
			    "2606:4700::1" };
	const uint32_t n = 70;	/* crosses a 32-entry slice */
	std::vector<V6> dst(n);
	std::vector<struct ef_nexthop6> nh(n);
	std::vector<int> rc(n);

	for (uint32_t i = 0; i < n; i++)
		dst[i] = ip6(d[i % 7]);
	EXPECT_EQ(n, ef_route_lookup6_bulk(t, (uint8_t (*)[16])dst.data(), n,
					   nh.data(), rc.data()));
	for (uint32_t i = 0; i < n; i++) {
		struct ef_nexthop6 one;

		ASSERT_EQ(0, rc[i]);
		ASSERT_EQ(0, ef_route_lookup6(t, dst[i].b, &one));
		EXPECT_EQ(0, memcmp(&one, &nh[i], sizeof(one))) << d[i % 7];
	}
}

/* The hint a flow keeps: set by the first lookup, then the same answer
 * without rte_lpm6 (a direct route's gateway is still the destination);
 * a hint past the table's rules is looked up again, never read past it. */
TEST_F(Route6Test, HintGivesTheLookupsAnswer)
{
	const char *d[] = { "2001:db8:1::77", "fd00::9", "fd00:10:244:1::5",
			    "fd00:10:244:2::5", "fd00:10:244:1::99",
			    "2606:4700::1" };

	for (const char *s : d) {
		V6 a = ip6(s);
		struct ef_nexthop6 want, got;
		uint8_t hint = 0;

		ASSERT_EQ(0, ef_route_lookup6(t, a.b, &want));
		ASSERT_EQ(0, ef_route_lookup6_hint(t, a.b, &hint, &got)) << s;
		EXPECT_NE(0, hint) << s;
		EXPECT_EQ(0, memcmp(&want, &got, sizeof(got))) << s;
		memset(&got, 0xa5, sizeof(got));
		ASSERT_EQ(0, ef_route_lookup6_hint(t, a.b, &hint, &got)) << s;
		EXPECT_EQ(0, memcmp(&want, &got, sizeof(got))) << s;
		hint = 200;	/* from a bigger table */
		ASSERT_EQ(0, ef_route_lookup6_hint(t, a.b, &hint, &got)) << s;
		EXPECT_EQ(0, memcmp(&want, &got, sizeof(got))) << s;
		EXPECT_LE(hint, ef_route_count6(t)) << s;
	}
}

TEST(Route6, Ipv4OnlyTableHasNoIpv6Part)
{
	struct ef_cfg_interface f = iface("net_tap0", "10.0.0.1/24",
					  "10.0.0.254");
	struct ef_route_table *t = ef_route_build(&f, 1, nullptr, 0,
						  SOCKET_ID_ANY);
	struct ef_nexthop6 nh;
	V6 d = ip6("2001:db8::1");
	int rc;

	ASSERT_NE(nullptr, t);
	EXPECT_EQ(0u, ef_route_count6(t));
	EXPECT_EQ(-ENOENT, ef_route_lookup6(t, d.b, &nh));
	EXPECT_EQ(0u, ef_route_lookup6_bulk(t, &d.b, 1, &nh, &rc));
	EXPECT_EQ(-ENOENT, rc);
	ef_route_free(t);
}

TEST(Route6, Ipv6OnlyInterfaceAndMissWithoutDefault)
{
	struct ef_cfg_interface f = iface("net_tap0", "2001:db8::1/64");
	struct ef_route_table *t = ef_route_build(&f, 1, nullptr, 0,
						  SOCKET_ID_ANY);
	struct ef_nexthop6 nh;

	ASSERT_NE(nullptr, t);
	EXPECT_EQ(0u, ef_route_count(t));
	EXPECT_EQ(1u, ef_route_count6(t));
	EXPECT_EQ(0, ef_route_lookup6(t, ip6("2001:db8::9").b, &nh));
	EXPECT_EQ(-ENOENT, ef_route_lookup6(t, ip6("2001:db9::9").b, &nh));
	uint8_t hint = 0;
	EXPECT_EQ(-ENOENT, ef_route_lookup6_hint(t, ip6("2001:db9::9").b,
						 &hint, &nh));
	EXPECT_EQ(0, hint);	/* a miss leaves no hint */
	ef_route_free(t);
}

TEST(Route6, UnreachableViaAndOffLinkGatewayAreRejected)
{
	std::vector<struct ef_cfg_interface> ifs = {
		iface2("net_tap0", "10.0.0.1/24", nullptr, "fd00::1/64",
		       nullptr),
	};
	std::vector<struct ef_cfg_route> r = {
		route("fd00:10:244::/48", "fd01::2"),
	};

	EXPECT_EQ(nullptr, ef_route_build(ifs.data(), 1, r.data(), 1,
					  SOCKET_ID_ANY));
	EXPECT_EQ(EINVAL, rte_errno);
	ASSERT_EQ(0, ef_addr_parse("fd01::1", &ifs[0].gateway6));
	EXPECT_EQ(nullptr, ef_route_build(ifs.data(), 1, nullptr, 0,
					  SOCKET_ID_ANY));
	EXPECT_EQ(EINVAL, rte_errno);
	/* an IPv4 via for an IPv6 prefix has no subnet to lie in */
	ASSERT_EQ(0, ef_addr_parse("fd00::fe", &ifs[0].gateway6));
	r[0].via = ef_addr_v4(0x0a000002);
	EXPECT_EQ(nullptr, ef_route_build(ifs.data(), 1, r.data(), 1,
					  SOCKET_ID_ANY));
}
