/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <rte_lcore.h>

#include <gtest/gtest.h>

#include "ef_cfg.h"
#include "ef_svc.h"

static const char *HEAD = R"(
node = { name = "node-a"; };
interfaces = ( { port = "p0"; address = "198.51.100.1/24"; },
               { port = "p1"; address = "10.244.0.1/24"; } );
services = (
)";

static uint32_t
ip(const char *s)
{
	uint32_t a;

	inet_pton(AF_INET, s, &a);
	return a;
}

class Svc : public ::testing::Test {
protected:
	struct ef_svc_registry *reg = nullptr;
	struct ef_svc_gen *g = nullptr;
	uint64_t number = 0;

	void SetUp() override { reg = ef_svc_registry_create(64); }
	void TearDown() override
	{
		ef_svc_gen_free(g);
		ef_svc_registry_free(reg);
	}

	const char *head = HEAD;

	struct ef_svc_gen *make(const std::string &services,
				const struct ef_svc_gen *prev = nullptr)
	{
		std::string text = std::string(head) + services + ");\n";
		struct ef_cfg_errors errs = {};
		struct ef_cfg *cfg = ef_cfg_parse_string(text.c_str(), "t.conf",
							 &errs);
		for (uint32_t i = 0; i < errs.n; i++)
			ADD_FAILURE() << errs.msgs[i];
		ef_cfg_errors_clear(&errs);
		if (cfg == nullptr)
			return nullptr;
		char err[128];
		struct ef_svc_gen *x = ef_svc_gen_build(cfg, ++number, prev, reg,
							SOCKET_ID_ANY, err,
							sizeof(err));
		EXPECT_NE(nullptr, x) << err;
		return x;
	}

	const struct ef_svc_frontend *fe(const char *addr, uint16_t port,
					 uint8_t proto = IPPROTO_TCP)
	{
		int32_t i = ef_svc_lookup(g, ip(addr), htons(port), proto);
		return i < 0 ? nullptr : &g->fes[i];
	}

	/* endpoint address chosen for hash h, or "" with the verdict */
	std::string pick(const struct ef_svc_frontend *f, uint32_t h,
			 enum ef_svc_pick *v = nullptr)
	{
		uint32_t e;
		enum ef_svc_pick r = ef_svc_pick(g, f, h, &e);
		if (v != nullptr)
			*v = r;
		if (r != EF_SVC_PICK_OK)
			return "";
		char b[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &g->sps[f->sp_idx].eps[e].addr, b, sizeof(b));
		return b;
	}
};

static const char *WEB = R"(
  { name = "ns/web"; type = "LoadBalancer"; cluster_ip = "10.96.0.10";
    load_balancer_ips = [ "198.51.100.10" ]; external_ips = [ "203.0.113.5" ];
    external_traffic_policy = "Local";
    ports = ( { name = "http"; protocol = "TCP"; port = 80; node_port = 30080; target_port = 8080; },
              { name = "dns"; protocol = "UDP"; port = 53; target_port = 5353; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; },
                  { address = "10.244.0.6"; node = "node-a"; },
                  { address = "10.244.1.7"; node = "node-b"; } ); }
)";

TEST_F(Svc, FrontendsCoverEveryAddressAndNodePort)
{
	g = make(WEB);
	ASSERT_NE(nullptr, g);
	const struct ef_svc_frontend *lb = fe("198.51.100.10", 80);
	ASSERT_NE(nullptr, lb);
	EXPECT_TRUE(lb->flags & EF_SVC_FE_EXTERNAL);
	EXPECT_TRUE(lb->flags & EF_SVC_FE_LOCAL);
	EXPECT_FALSE(lb->flags & EF_SVC_FE_SNAT);
	ASSERT_NE(nullptr, fe("203.0.113.5", 80));
	const struct ef_svc_frontend *cip = fe("10.96.0.10", 80);
	ASSERT_NE(nullptr, cip);
	EXPECT_FALSE(cip->flags & EF_SVC_FE_EXTERNAL);
	EXPECT_TRUE(cip->flags & EF_SVC_FE_SNAT_REMOTE);
	const struct ef_svc_frontend *np0 = fe("198.51.100.1", 30080);
	const struct ef_svc_frontend *np1 = fe("10.244.0.1", 30080);
	ASSERT_NE(nullptr, np0);
	ASSERT_NE(nullptr, np1);
	EXPECT_TRUE(np0->flags & EF_SVC_FE_NODEPORT);
	EXPECT_NE(nullptr, fe("198.51.100.10", 53, IPPROTO_UDP));
	/* wrong protocol, wrong port, no node port for the UDP port */
	EXPECT_EQ(nullptr, fe("198.51.100.10", 80, IPPROTO_UDP));
	EXPECT_EQ(nullptr, fe("198.51.100.10", 81));
	EXPECT_EQ(nullptr, fe("198.51.100.1", 53, IPPROTO_UDP));
	/* 2 ports x (cluster ip, LB, external) + node port x 2 interfaces */
	EXPECT_EQ(8u, g->n_fes);
}

TEST_F(Svc, OwnedAddresses)
{
	g = make(WEB);
	EXPECT_EQ((uint32_t)EF_SVC_OWN_IFACE, ef_svc_owned4(g, ip("10.244.0.1")));
	EXPECT_TRUE(ef_svc_owned4(g, ip("198.51.100.10")) & EF_SVC_OWN_VIP);
	EXPECT_TRUE(ef_svc_owned4(g, ip("203.0.113.5")) & EF_SVC_OWN_VIP);
	EXPECT_EQ((uint32_t)EF_SVC_OWN_CLUSTER_IP,
		  ef_svc_owned4(g, ip("10.96.0.10")));
	/* default SNAT address: the first interface without a gateway */
	EXPECT_TRUE(ef_svc_owned4(g, ip("198.51.100.1")) & EF_SVC_OWN_SNAT);
	EXPECT_EQ(0u, ef_svc_owned4(g, ip("10.244.0.5")));
}

TEST_F(Svc, LocalPicksOnlyLocalClusterPicksAllEvenly)
{
	g = make(WEB);
	std::map<std::string, int> local, all;
	const struct ef_svc_frontend *lb = fe("198.51.100.10", 80);
	const struct ef_svc_frontend *cip = fe("10.96.0.10", 80);
	for (uint32_t h = 0; h < 30000; h++) {
		local[pick(lb, h * 2654435761u)]++;
		all[pick(cip, h * 2654435761u)]++;
	}
	EXPECT_EQ(2u, local.size());
	EXPECT_EQ(0, local.count("10.244.1.7"));
	EXPECT_EQ(3u, all.size());
	for (auto &kv : all)
		EXPECT_NEAR(10000, kv.second, 600) << kv.first;
}

TEST_F(Svc, NoLocalEndpointVersusNoEndpoint)
{
	g = make(R"(
  { name = "ns/remote"; type = "LoadBalancer"; cluster_ip = "10.96.0.11";
    load_balancer_ips = [ "198.51.100.11" ]; external_traffic_policy = "Local";
    ports = ( { protocol = "TCP"; port = 80; } );
    endpoints = ( { address = "10.244.1.7"; node = "node-b"; } ); },
  { name = "ns/down"; type = "LoadBalancer"; cluster_ip = "10.96.0.12";
    load_balancer_ips = [ "198.51.100.12" ];
    ports = ( { protocol = "TCP"; port = 80; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; ready = false; } ); }
)");
	enum ef_svc_pick v;
	pick(fe("198.51.100.11", 80), 1, &v);
	EXPECT_EQ(EF_SVC_PICK_NO_LOCAL, v);
	pick(fe("10.96.0.11", 80), 1, &v);	/* internal: Cluster */
	EXPECT_EQ(EF_SVC_PICK_OK, v);
	pick(fe("198.51.100.12", 80), 1, &v);
	EXPECT_EQ(EF_SVC_PICK_NO_ENDPOINT, v);
}

TEST_F(Svc, TerminatingEndpointsServeOnlyWhenNoneIsReady)
{
	g = make(R"(
  { name = "ns/t"; type = "LoadBalancer"; cluster_ip = "10.96.0.13";
    load_balancer_ips = [ "198.51.100.13" ];
    ports = ( { protocol = "TCP"; port = 80; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; ready = false; serving = true; terminating = true; },
                  { address = "10.244.0.6"; node = "node-a"; ready = false; serving = false; terminating = true; } ); }
)");
	const struct ef_svc_frontend *f = fe("198.51.100.13", 80);
	for (uint32_t h = 0; h < 1000; h++)
		EXPECT_EQ("10.244.0.5", pick(f, h * 7919u));
	/* a terminating endpoint does not make the HC node port healthy */
	EXPECT_EQ(0u, ef_svc_pool_get(&g->sps[f->sp_idx])->n_local_ready);
	ef_svc_gen_free(g);
	g = make(R"(
  { name = "ns/t"; type = "LoadBalancer"; cluster_ip = "10.96.0.13";
    load_balancer_ips = [ "198.51.100.13" ];
    ports = ( { protocol = "TCP"; port = 80; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; ready = false; serving = true; terminating = true; },
                  { address = "10.244.0.7"; node = "node-a"; } ); }
)");
	f = fe("198.51.100.13", 80);
	for (uint32_t h = 0; h < 1000; h++)
		EXPECT_EQ("10.244.0.7", pick(f, h * 7919u));
	EXPECT_EQ(1u, ef_svc_pool_get(&g->sps[f->sp_idx])->n_local_ready);
}

TEST_F(Svc, WeightsShareTheTable)
{
	g = make(R"(
  { name = "ns/w"; type = "ClusterIP"; cluster_ip = "10.96.0.14";
    ports = ( { protocol = "TCP"; port = 80; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; weight = 1; },
                  { address = "10.244.0.6"; node = "node-a"; weight = 3; } ); }
)");
	std::map<std::string, int> n;
	const struct ef_svc_frontend *f = fe("10.96.0.14", 80);
	for (uint32_t h = 0; h < 40000; h++)
		n[pick(f, h * 2654435761u)]++;
	EXPECT_NEAR(10000, n["10.244.0.5"], 800);
	EXPECT_NEAR(30000, n["10.244.0.6"], 800);
}

TEST_F(Svc, HealthRepublishesThePoolAndCarriesOverReloads)
{
	g = make(WEB);
	const struct ef_svc_frontend *lb = fe("198.51.100.10", 80);
	const struct ef_svc_port *sp = &g->sps[lb->sp_idx];
	const struct ef_svc_pool *before = ef_svc_pool_get(sp);
	EXPECT_EQ(2u, before->n_local_ready);
	int32_t s = ef_svc_find(g, "ns/web");
	ASSERT_GE(s, 0);
	uint32_t h = g->svcs[s].first_health;	/* 10.244.0.5 */
	EXPECT_EQ(1, ef_svc_set_health(g, h, false, nullptr, nullptr));
	EXPECT_EQ(0, ef_svc_set_health(g, h, false, nullptr, nullptr));
	const struct ef_svc_pool *after = ef_svc_pool_get(sp);
	EXPECT_NE(before, after);
	EXPECT_EQ(1u, after->n_local_ready);
	for (uint32_t x = 0; x < 2000; x++)
		EXPECT_EQ("10.244.0.6", pick(lb, x * 2654435761u));
	/* both ports of the service changed */
	const struct ef_svc_frontend *dns = fe("198.51.100.10", 53, IPPROTO_UDP);
	EXPECT_EQ(1u, ef_svc_pool_get(&g->sps[dns->sp_idx])->n_local);

	/* a reload keeps the health of endpoints that stay, and the
	 * service's stable id */
	struct ef_svc_gen *g2 = make(WEB, g);
	ASSERT_NE(nullptr, g2);
	int32_t s2 = ef_svc_find(g2, "ns/web");
	EXPECT_EQ(g->svcs[s].stable_id, g2->svcs[s2].stable_id);
	EXPECT_EQ(0, g2->health[g2->svcs[s2].first_health].healthy);
	EXPECT_EQ(1, g2->health[g2->svcs[s2].first_health + 1].healthy);
	ef_svc_gen_free(g);
	g = g2;
}

TEST_F(Svc, EndpointExistsIsPerServiceAndPort)
{
	g = make(WEB);
	uint32_t id = g->svcs[ef_svc_find(g, "ns/web")].stable_id;
	EXPECT_TRUE(ef_svc_endpoint_exists(g, id, ip("10.244.0.5"), htons(8080),
					   IPPROTO_TCP));
	EXPECT_TRUE(ef_svc_endpoint_exists(g, id, ip("10.244.0.5"), htons(5353),
					   IPPROTO_UDP));
	EXPECT_FALSE(ef_svc_endpoint_exists(g, id, ip("10.244.0.5"), htons(80),
					    IPPROTO_TCP));
	EXPECT_FALSE(ef_svc_endpoint_exists(g, id + 1, ip("10.244.0.5"),
					    htons(8080), IPPROTO_TCP));
	EXPECT_EQ(-1, ef_svc_find(g, "ns/nope"));
}

TEST_F(Svc, MaglevTablesAreTheSameWhateverTheOrder)
{
	g = make(WEB);
	struct ef_svc_gen *g2 = make(R"(
  { name = "ns/web"; type = "LoadBalancer"; cluster_ip = "10.96.0.10";
    load_balancer_ips = [ "198.51.100.10" ]; external_ips = [ "203.0.113.5" ];
    external_traffic_policy = "Local";
    ports = ( { name = "http"; protocol = "TCP"; port = 80; node_port = 30080; target_port = 8080; },
              { name = "dns"; protocol = "UDP"; port = 53; target_port = 5353; } );
    endpoints = ( { address = "10.244.1.7"; node = "node-b"; },
                  { address = "10.244.0.6"; node = "node-a"; },
                  { address = "10.244.0.5"; node = "node-a"; } ); }
)");
	ASSERT_NE(nullptr, g2);
	const struct ef_svc_frontend *a = fe("10.96.0.10", 80);
	struct ef_svc_gen *keep = g;
	for (uint32_t h = 0; h < 5000; h++) {
		g = keep;
		std::string x = pick(a, h * 2654435761u);
		g = g2;
		std::string y = pick(fe("10.96.0.10", 80), h * 2654435761u);
		EXPECT_EQ(x, y);
	}
	g = keep;
	ef_svc_gen_free(g2);
}

/* ---- edge services: the node table in the generation ---- */

static const char *EDGE_HEAD = R"(
node = { name = "edge-1"; };
interfaces = ( { port = "p0"; address = "198.51.100.1/24"; },
               { port = "p1"; address = "10.1.0.1/24"; } );
nodes = ( { name = "node-1"; address = "10.1.0.11"; },
          { name = "node-2"; address = "10.1.0.12"; } );
)";

static std::string
edge_svc(const char *weights, const char *policy)
{
	return std::string(EDGE_HEAD) + "edge = { weights = \"" + weights +
	       "\"; };\n" + R"(services = ( {
  name = "default/web"; type = "LoadBalancer"; mode = "edge";
  cluster_ip = "10.96.0.10"; load_balancer_ips = [ "203.0.113.10" ];
  external_traffic_policy = ")" + policy + R"(";
  )" + (std::string(policy) == "Local" ?
	"health_check_node_port = 32000;" : "") + R"(
  ports = ( { port = 80; node_port = 30080; target_port = 8080; } );
  endpoints = ( { address = "10.244.1.5"; node = "node-1"; },
                { address = "10.244.2.5"; node = "node-2"; },
                { address = "10.244.2.6"; node = "node-2"; },
                { address = "10.244.2.7"; node = "node-2"; },
                { address = "10.244.2.8"; node = "node-2"; ready = false; } );
} );
)";
}

static struct ef_svc_gen *
build_text(struct ef_svc_registry *reg, const std::string &text, uint64_t n,
	   const struct ef_svc_gen *prev = nullptr)
{
	struct ef_cfg_errors errs = {};
	struct ef_cfg *cfg = ef_cfg_parse_string(text.c_str(), "t.conf", &errs);
	char err[128];

	for (uint32_t i = 0; i < errs.n; i++)
		ADD_FAILURE() << errs.msgs[i];
	ef_cfg_errors_clear(&errs);
	if (cfg == nullptr)
		return nullptr;
	return ef_svc_gen_build(cfg, n, prev, reg, SOCKET_ID_ANY, err,
				sizeof(err));
}

/* Node address -> share of the Maglev table. */
static std::map<uint32_t, uint32_t>
table_share(const struct ef_edge_lb *lb)
{
	std::map<uint32_t, uint32_t> m;

	for (uint32_t i = 0; i < lb->size; i++)
		if (lb->table[i] != EF_EDGE_NO_NODE)
			m[lb->nodes[lb->table[i]].addr]++;
	return m;
}

TEST_F(Svc, EdgeServiceOwnsItsVipAndWeighsNodesByReadyEndpoints)
{
	g = build_text(reg, edge_svc("endpoints", "Local"), 1);
	ASSERT_NE(nullptr, g);
	const struct ef_svc_frontend *f = fe("203.0.113.10", 80);
	ASSERT_NE(nullptr, f);
	EXPECT_EQ(EF_SVC_FE_EXTERNAL | EF_SVC_FE_EDGE, f->flags);
	EXPECT_EQ(nullptr, fe("10.96.0.10", 80));	/* outside the cluster */
	EXPECT_EQ(nullptr, fe("198.51.100.1", 30080));
	EXPECT_TRUE(ef_svc_owned4(g, ip("203.0.113.10")) & EF_SVC_OWN_VIP);
	const struct ef_edge_lb *lb = ef_svc_edge_lb(g, 0);
	ASSERT_NE(nullptr, lb);
	ASSERT_EQ(2u, lb->n_nodes);
	uint32_t i1 = ef_edge_lb_find(lb, ip("10.1.0.11"));
	uint32_t i2 = ef_edge_lb_find(lb, ip("10.1.0.12"));
	EXPECT_EQ(1u, lb->nodes[i1].weight);
	EXPECT_EQ(3u, lb->nodes[i2].weight);	/* the unready one not */
	auto m = table_share(lb);
	double s2 = (double)m[ip("10.1.0.12")] / lb->size;
	EXPECT_NEAR(0.75, s2, 0.02);
	EXPECT_EQ(-1, g->svcs[0].edge->views[0].header_weight);
}

TEST_F(Svc, EdgeEqualAndClusterWeights)
{
	g = build_text(reg, edge_svc("equal", "Local"), 1);
	ASSERT_NE(nullptr, g);
	const struct ef_edge_lb *lb = ef_svc_edge_lb(g, 0);
	for (uint32_t i = 0; i < lb->n_nodes; i++)
		EXPECT_EQ(1u, lb->nodes[i].weight);
	struct ef_svc_gen *c = build_text(reg, edge_svc("endpoints", "Cluster"),
					  2);
	ASSERT_NE(nullptr, c);
	lb = ef_svc_edge_lb(c, 0);
	for (uint32_t i = 0; i < lb->n_nodes; i++)
		EXPECT_EQ(1u, lb->nodes[i].weight);
	ef_svc_gen_free(c);
}

TEST_F(Svc, EdgeDrainAndDownRebuildAndCarryOver)
{
	g = build_text(reg, edge_svc("endpoints", "Local"), 1);
	ASSERT_NE(nullptr, g);
	const struct ef_edge_lb *before = ef_svc_edge_lb(g, 0);
	uint32_t gen0 = before->gen;
	struct ef_edge_node_view v = g->svcs[0].edge->views[1];

	v.draining = true;	/* 503 from node-2 */
	EXPECT_EQ(1, ef_svc_edge_set_view(g, 0, 1, &v, nullptr));
	EXPECT_EQ(0, ef_svc_edge_set_view(g, 0, 1, &v, nullptr));
	const struct ef_edge_lb *lb = ef_svc_edge_lb(g, 0);
	EXPECT_NE(gen0, lb->gen);
	uint32_t i2 = ef_edge_lb_find(lb, ip("10.1.0.12"));
	EXPECT_EQ(0u, lb->nodes[i2].weight);
	EXPECT_TRUE(lb->nodes[i2].draining);
	auto m = table_share(lb);
	EXPECT_EQ(lb->size, m[ip("10.1.0.11")]);

	/* a reload keeps the prober's state of the same node */
	struct ef_svc_gen *g2 = build_text(reg, edge_svc("endpoints", "Local"),
					   2, g);
	ASSERT_NE(nullptr, g2);
	EXPECT_TRUE(g2->svcs[0].edge->views[1].draining);
	EXPECT_EQ(0u, ef_svc_edge_lb(g2, 0)->nodes[i2].weight);
	ef_svc_gen_free(g2);

	/* a node answering again with a weight header under "health" */
	ef_svc_gen_free(g);
	g = build_text(reg, edge_svc("health", "Local"), 3);
	v = g->svcs[0].edge->views[0];
	v.header_weight = 7;
	EXPECT_EQ(1, ef_svc_edge_set_view(g, 0, 0, &v, nullptr));
	lb = ef_svc_edge_lb(g, 0);
	EXPECT_EQ(7u, lb->nodes[ef_edge_lb_find(lb, ip("10.1.0.11"))].weight);
	EXPECT_EQ(-EINVAL, ef_svc_edge_set_view(g, 0, 9, &v, nullptr));
}

TEST_F(Svc, ClusterForwardingEncapKeepsTheNodeOfEachEndpoint)
{
	std::string t = std::string(EDGE_HEAD) + R"(services = ( {
  name = "default/c"; type = "LoadBalancer";
  load_balancer_ips = [ "203.0.113.20" ]; cluster_ip = "10.96.0.20";
  cluster_forwarding = "encap";
  ports = ( { port = 80; } );
  endpoints = ( { address = "10.244.1.5"; node = "node-1"; },
                { address = "10.244.2.5"; node = "node-2"; } );
} );
)";
	g = build_text(reg, t, 1);
	ASSERT_NE(nullptr, g);
	const struct ef_svc_frontend *f = fe("203.0.113.20", 80);
	ASSERT_NE(nullptr, f);
	EXPECT_TRUE(f->flags & EF_SVC_FE_ENCAP);
	EXPECT_FALSE(f->flags & EF_SVC_FE_SNAT);
	const struct ef_svc_port *sp = &g->sps[f->sp_idx];
	EXPECT_EQ(ip("10.1.0.11"), sp->eps[0].node_addr);
	EXPECT_EQ(ip("10.1.0.12"), sp->eps[1].node_addr);
	/* its nodes weighted by their ready endpoints (one each) */
	const struct ef_edge_lb *lb = ef_svc_edge_lb(g, 0);
	ASSERT_NE(nullptr, lb);
	ASSERT_EQ(2u, lb->n_nodes);
	EXPECT_EQ(1u, lb->nodes[0].weight);
	EXPECT_EQ(1u, lb->nodes[1].weight);
	/* the cluster IP (internal traffic) keeps SNAT for remote picks */
	EXPECT_TRUE(fe("10.96.0.20", 80)->flags & EF_SVC_FE_SNAT_REMOTE);
}

/* ---- reload: pools of unchanged ports are copied from the previous
 * generation, not built again ---- */

static const char *DB = R"(,
  { name = "ns/db"; cluster_ip = "10.96.0.20";
    ports = ( { protocol = "TCP"; port = 5432; } );
    endpoints = ( { address = "10.244.0.8"; node = "node-a"; weight = 2; },
                  { address = "10.244.1.8"; node = "node-b"; },
                  { address = "10.244.1.9"; node = "node-b"; ready = false; serving = true; terminating = true; } ); }
)";

/* WEB with 10.244.0.6 no longer ready */
static const char *WEB_CHANGED = R"(
  { name = "ns/web"; type = "LoadBalancer"; cluster_ip = "10.96.0.10";
    load_balancer_ips = [ "198.51.100.10" ]; external_ips = [ "203.0.113.5" ];
    external_traffic_policy = "Local";
    ports = ( { name = "http"; protocol = "TCP"; port = 80; node_port = 30080; target_port = 8080; },
              { name = "dns"; protocol = "UDP"; port = 53; target_port = 5353; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; },
                  { address = "10.244.0.6"; node = "node-a"; ready = false; },
                  { address = "10.244.1.7"; node = "node-b"; } ); }
)";

/* Two pools are equal: the same sets, sizes and table entries. */
static ::testing::AssertionResult
pool_eq(const struct ef_svc_port *a, const struct ef_svc_port *b)
{
	const struct ef_svc_pool *x = ef_svc_pool_get(a), *y = ef_svc_pool_get(b);

	if (a->n_eps != b->n_eps)
		return ::testing::AssertionFailure() << "n_eps " << a->n_eps
			<< " vs " << b->n_eps;
	if (x->n_all != y->n_all || x->n_local != y->n_local ||
	    x->size_all != y->size_all || x->size_local != y->size_local ||
	    x->n_local_ready != y->n_local_ready)
		return ::testing::AssertionFailure() << "counts differ: all "
			<< x->n_all << "/" << y->n_all << " local "
			<< x->n_local << "/" << y->n_local << " local ready "
			<< x->n_local_ready << "/" << y->n_local_ready;
	if (memcmp(x->eligible, y->eligible, a->n_eps) != 0)
		return ::testing::AssertionFailure() << "eligible differs";
	if ((x->tbl_all == nullptr) != (y->tbl_all == nullptr) ||
	    (x->tbl_all != nullptr &&
	     memcmp(x->tbl_all, y->tbl_all, 2 * x->size_all) != 0))
		return ::testing::AssertionFailure() << "tbl_all differs";
	if ((x->tbl_local == nullptr) != (y->tbl_local == nullptr) ||
	    (x->tbl_local != nullptr &&
	     memcmp(x->tbl_local, y->tbl_local, 2 * x->size_local) != 0))
		return ::testing::AssertionFailure() << "tbl_local differs";
	return ::testing::AssertionSuccess();
}

/* The port of service name, port index p, in x. */
static const struct ef_svc_port *
port_of(const struct ef_svc_gen *x, const char *name, uint32_t p)
{
	int32_t s = ef_svc_find(x, name);

	if (s < 0 || p >= x->svcs[s].n_sp)
		return nullptr;
	return &x->sps[x->svcs[s].first_sp + p];
}

/* All eligible endpoints local: the local table is a copy of the
 * cluster-wide one (built once), in its own memory; with a remote
 * endpoint it is built from the local ones alone. */
TEST_F(Svc, LocalTableIsACopyWhenEveryEndpointIsLocal)
{
	g = make(R"(
  { name = "ns/all-local"; type = "ClusterIP"; cluster_ip = "10.96.0.40";
    ports = ( { name = "http"; protocol = "TCP"; port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; },
                  { address = "10.244.0.6"; node = "node-a"; },
                  { address = "10.244.0.7"; node = "node-a"; } ); },
  { name = "ns/mixed"; type = "ClusterIP"; cluster_ip = "10.96.0.41";
    ports = ( { name = "http"; protocol = "TCP"; port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; },
                  { address = "10.244.1.7"; node = "node-b"; } ); }
)");
	ASSERT_NE(nullptr, g);
	const struct ef_svc_pool *p = ef_svc_pool_get(port_of(g, "ns/all-local", 0));
	ASSERT_NE(nullptr, p->tbl_local);
	EXPECT_NE(p->tbl_all, p->tbl_local);
	EXPECT_EQ(p->size_all, p->size_local);
	EXPECT_EQ(0, memcmp(p->tbl_all, p->tbl_local, 2 * p->size_all));
	const struct ef_svc_pool *q = ef_svc_pool_get(port_of(g, "ns/mixed", 0));
	ASSERT_NE(nullptr, q->tbl_local);
	EXPECT_EQ(1u, q->n_local);
	for (uint32_t i = 0; i < q->size_local; i++)
		ASSERT_EQ(0, q->tbl_local[i]) << i;	/* 10.244.0.5 only */
}

TEST_F(Svc, ReloadCopiesUnchangedPoolsEqualToFreshOnes)
{
	std::string both = std::string(WEB) + DB;
	g = make(both);
	ASSERT_NE(nullptr, g);
	EXPECT_EQ(0u, g->n_pools_reused);
	struct ef_svc_gen *g2 = make(both, g);
	struct ef_svc_gen *fresh = make(both);
	ASSERT_NE(nullptr, g2);
	ASSERT_NE(nullptr, fresh);
	EXPECT_EQ(3u, g2->n_sps);
	EXPECT_EQ(3u, g2->n_pools_reused);
	EXPECT_EQ(0u, fresh->n_pools_reused);
	const char *names[] = { "ns/web", "ns/web", "ns/db" };
	const uint32_t ports[] = { 0, 1, 0 };
	for (int i = 0; i < 3; i++) {
		const struct ef_svc_port *a = port_of(g2, names[i], ports[i]);
		const struct ef_svc_port *b = port_of(fresh, names[i], ports[i]);
		const struct ef_svc_port *o = port_of(g, names[i], ports[i]);
		ASSERT_NE(nullptr, a);
		EXPECT_TRUE(pool_eq(a, b)) << names[i] << " port " << ports[i];
		/* a copy: the old generation frees its own */
		EXPECT_NE(ef_svc_pool_get(a), ef_svc_pool_get(o));
		EXPECT_NE(ef_svc_pool_get(a)->tbl_all,
			  ef_svc_pool_get(o)->tbl_all);
	}
	/* the old generation goes; the copies stay whole (ASan: no use
	 * after free) and pick as the fresh build does */
	ef_svc_gen_free(g);
	g = g2;
	const struct ef_svc_frontend *f = fe("10.96.0.20", 5432);
	ASSERT_NE(nullptr, f);
	std::string x[64];
	for (uint32_t h = 0; h < 64; h++)
		x[h] = pick(f, h * 2654435761u);
	g = fresh;
	for (uint32_t h = 0; h < 64; h++)
		EXPECT_EQ(x[h], pick(fe("10.96.0.20", 5432), h * 2654435761u));
	ef_svc_gen_free(fresh);
	g = g2;
}

TEST_F(Svc, ReloadRebuildsChangedPoolsAndDropsRemovedServices)
{
	g = make(std::string(WEB) + DB);
	ASSERT_NE(nullptr, g);
	/* one endpoint of web changes: both of web's ports are rebuilt,
	 * db's is copied */
	struct ef_svc_gen *g2 = make(std::string(WEB_CHANGED) + DB, g);
	struct ef_svc_gen *fresh = make(std::string(WEB_CHANGED) + DB);
	ASSERT_NE(nullptr, g2);
	ASSERT_NE(nullptr, fresh);
	EXPECT_EQ(1u, g2->n_pools_reused);
	for (uint32_t p = 0; p < 2; p++) {
		EXPECT_TRUE(pool_eq(port_of(g2, "ns/web", p),
				    port_of(fresh, "ns/web", p)));
		EXPECT_FALSE(pool_eq(port_of(g2, "ns/web", p),
				     port_of(g, "ns/web", p)));
	}
	EXPECT_EQ(1u, ef_svc_pool_get(port_of(g2, "ns/web", 0))->n_local);
	EXPECT_TRUE(pool_eq(port_of(g2, "ns/db", 0), port_of(fresh, "ns/db", 0)));
	ef_svc_gen_free(fresh);

	/* db removed: nothing of it in g3 (its pools go with g2, ASan
	 * checks the leak); web unchanged from g2: copied */
	struct ef_svc_gen *g3 = make(WEB_CHANGED, g2);
	ASSERT_NE(nullptr, g3);
	EXPECT_EQ(-1, ef_svc_find(g3, "ns/db"));
	EXPECT_EQ(2u, g3->n_sps);
	EXPECT_EQ(2u, g3->n_pools_reused);
	ef_svc_gen_free(g);
	ef_svc_gen_free(g2);

	/* db back (the same stable id) with nothing to copy from: built */
	struct ef_svc_gen *g4 = make(std::string(WEB_CHANGED) + DB, g3);
	ASSERT_NE(nullptr, g4);
	EXPECT_EQ(2u, g4->n_pools_reused);
	ef_svc_gen_free(g3);
	g = g4;
}

/* ef_svc_lookup_bulk answers what ef_svc_lookup answers, key for key:
 * hits, misses (wrong port, protocol, address), more keys than one bulk
 * call takes, and services a reload removed (db in g2). */
TEST_F(Svc, BulkLookupAnswersAsTheSingleLookup)
{
	g = make(std::string(WEB) + DB);
	ASSERT_NE(nullptr, g);
	struct ef_svc_gen *g2 = make(WEB, g);
	ASSERT_NE(nullptr, g2);
	const char *addrs[] = { "198.51.100.10", "203.0.113.5", "10.96.0.10",
				"10.96.0.20", "198.51.100.1", "10.244.0.1",
				"10.96.0.99" };
	const uint16_t ports[] = { 80, 53, 5432, 30080, 81 };
	const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	std::vector<struct ef_svc_fe_key> keys;
	/* 7 x 5 x 2 = 70 keys: two bulk calls; then again, shuffled */
	for (const char *a : addrs)
		for (uint16_t p : ports)
			for (uint8_t pr : protos)
				keys.push_back({ ip(a), htons(p), pr, 0 });
	for (size_t i = 0; i < keys.size(); i += 3)
		keys.push_back(keys[(i * 7) % keys.size()]);
	ASSERT_GT(keys.size(), (size_t)EF_SVC_LOOKUP_BULK_MAX);
	for (const struct ef_svc_gen *x : { (const struct ef_svc_gen *)g,
					    (const struct ef_svc_gen *)g2 }) {
		std::vector<int32_t> fi(keys.size(), INT32_MIN);
		uint32_t hits = 0, misses = 0;

		ef_svc_lookup_bulk(x, keys.data(), (uint32_t)keys.size(),
				   fi.data());
		for (size_t i = 0; i < keys.size(); i++) {
			int32_t one = ef_svc_lookup(x, keys[i].addr,
						    keys[i].port, keys[i].proto);
			EXPECT_EQ(one, fi[i]) << "key " << i;
			(one >= 0 ? hits : misses)++;
		}
		EXPECT_GT(hits, 10u);
		EXPECT_GT(misses, 10u);
	}
	/* db's cluster IP: a frontend in g, none in g2 */
	struct ef_svc_fe_key db = { ip("10.96.0.20"), htons(5432), IPPROTO_TCP, 0 };
	int32_t f1 = -1, f2 = 0;
	ef_svc_lookup_bulk(g, &db, 1, &f1);
	ef_svc_lookup_bulk(g2, &db, 1, &f2);
	EXPECT_GE(f1, 0);
	EXPECT_EQ(-1, f2);
	/* none at all: nothing written */
	f1 = 12345;
	ef_svc_lookup_bulk(g, &db, 0, &f1);
	EXPECT_EQ(12345, f1);
	ef_svc_gen_free(g);
	g = g2;
}

/* A first generation of many services builds its pools in threads
 * (ef_svc_set_build_threads): every pool equals the one-thread build's,
 * Local and Cluster, mixed nodes and weights, IPv6 ports too; a reload
 * (prev given) builds on the caller's thread whatever the setting. */
TEST_F(Svc, PoolsBuiltInThreadsEqualOneThreadsBuild)
{
	ef_svc_registry_free(reg);
	reg = ef_svc_registry_create(4096);
	ASSERT_NE(nullptr, reg);
	std::string text;
	const uint32_t n = 1200;
	for (uint32_t i = 0; i < n; i++) {
		char b[1024];
		snprintf(b, sizeof(b),
			 "%s  { name = \"ns/s%u\"; type = \"LoadBalancer\";"
			 " cluster_ip = \"10.96.%u.%u\";"
			 " load_balancer_ips = [ \"172.16.%u.%u\" ];%s\n"
			 "    ports = ( { name = \"a\"; protocol = \"TCP\"; port = 80; },"
			 " { name = \"b\"; protocol = \"UDP\"; port = 53; } );\n"
			 "    endpoints = ( { address = \"10.%u.%u.1\"; node = \"node-a\"; },"
			 " { address = \"10.%u.%u.2\"; node = \"node-b\"; weight = %u; },"
			 " { address = \"10.%u.%u.3\"; node = \"node-%c\"; ready = %s; } ); }",
			 i ? ",\n" : "", i, 100 + i / 250, i % 250,
			 100 + i / 250, i % 250,
			 i % 3 == 0 ? " external_traffic_policy = \"Local\";" : "",
			 200 + i / 250, i % 250, 200 + i / 250, i % 250, 1 + i % 4,
			 200 + i / 250, i % 250, i % 2 ? 'a' : 'b',
			 i % 5 ? "true" : "false");
		text += b;
	}
	text += "\n";
	g = make(text);
	ASSERT_NE(nullptr, g);
	ef_svc_set_build_threads(4, nullptr);
	struct ef_svc_gen *t = make(text);
	/* a reload: one thread, and every pool copied */
	struct ef_svc_gen *r = make(text, t);
	ef_svc_set_build_threads(1, nullptr);
	ASSERT_NE(nullptr, t);
	ASSERT_NE(nullptr, r);
	ASSERT_EQ(g->n_sps, t->n_sps);
	EXPECT_EQ(2u * n, t->n_sps);
	for (uint32_t i = 0; i < g->n_sps; i++) {
		ASSERT_NE(nullptr, ef_svc_pool_get(&t->sps[i])) << i;
		EXPECT_TRUE(pool_eq(&g->sps[i], &t->sps[i])) << "port " << i;
		EXPECT_TRUE(pool_eq(&g->sps[i], &r->sps[i])) << "port " << i;
	}
	EXPECT_EQ(0u, t->n_pools_reused);
	EXPECT_EQ(2u * n, r->n_pools_reused);
	EXPECT_FALSE(t->pools_deferred);
	ef_svc_gen_free(r);
	ef_svc_gen_free(t);
}

/* WEB with 10.244.1.7 gone */
static const char *WEB_SHRUNK = R"(
  { name = "ns/web"; type = "LoadBalancer"; cluster_ip = "10.96.0.10";
    load_balancer_ips = [ "198.51.100.10" ]; external_ips = [ "203.0.113.5" ];
    external_traffic_policy = "Local";
    ports = ( { name = "http"; protocol = "TCP"; port = 80; node_port = 30080; target_port = 8080; },
              { name = "dns"; protocol = "UDP"; port = 53; target_port = 5353; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; },
                  { address = "10.244.0.6"; node = "node-a"; } ); }
)";

/* DB with one endpoint more */
static const char *DB_GROWN = R"(,
  { name = "ns/db"; cluster_ip = "10.96.0.20";
    ports = ( { protocol = "TCP"; port = 5432; } );
    endpoints = ( { address = "10.244.0.8"; node = "node-a"; weight = 2; },
                  { address = "10.244.1.8"; node = "node-b"; },
                  { address = "10.244.1.9"; node = "node-b"; ready = false; serving = true; terminating = true; },
                  { address = "10.244.1.10"; node = "node-b"; } ); }
)";

TEST_F(Svc, KeptSinceIsTheGenerationSinceWhichNoEndpointWent)
{
	g = make(std::string(WEB) + DB);			/* 1 */
	ASSERT_NE(nullptr, g);
	uint32_t web = g->svcs[ef_svc_find(g, "ns/web")].stable_id;
	uint32_t db = g->svcs[ef_svc_find(g, "ns/db")].stable_id;
	EXPECT_TRUE(ef_svc_endpoint_kept(g, web, 1));
	EXPECT_FALSE(ef_svc_endpoint_kept(g, web, 0));
	EXPECT_FALSE(ef_svc_endpoint_kept(g, web, 2));	/* not yet */
	EXPECT_FALSE(ef_svc_endpoint_kept(g, 63, 1));	/* no such service */

	/* web loses an endpoint, db gains one */
	struct ef_svc_gen *g2 = make(std::string(WEB_SHRUNK) + DB_GROWN, g);
	ASSERT_NE(nullptr, g2);
	EXPECT_FALSE(ef_svc_endpoint_kept(g2, web, 1));
	EXPECT_TRUE(ef_svc_endpoint_kept(g2, web, 2));
	EXPECT_TRUE(ef_svc_endpoint_kept(g2, db, 1));

	/* the same again: what was true stays true */
	struct ef_svc_gen *g3 = make(std::string(WEB_SHRUNK) + DB_GROWN, g2);
	ASSERT_NE(nullptr, g3);
	EXPECT_FALSE(ef_svc_endpoint_kept(g3, web, 1));
	EXPECT_TRUE(ef_svc_endpoint_kept(g3, web, 2));
	EXPECT_TRUE(ef_svc_endpoint_kept(g3, db, 1));

	/* db loses the endpoint it gained: a flow of 1..3 may be on it */
	struct ef_svc_gen *g4 = make(std::string(WEB_SHRUNK) + DB, g3);
	ASSERT_NE(nullptr, g4);
	EXPECT_FALSE(ef_svc_endpoint_kept(g4, db, 3));
	EXPECT_TRUE(ef_svc_endpoint_kept(g4, db, 4));
	EXPECT_TRUE(ef_svc_endpoint_kept(g4, web, 2));

	/* db removed, then back under the same stable id: never "kept"
	 * from before it came back */
	struct ef_svc_gen *g5 = make(WEB_SHRUNK, g4);
	ASSERT_NE(nullptr, g5);
	EXPECT_FALSE(ef_svc_endpoint_kept(g5, db, 4));
	EXPECT_FALSE(ef_svc_endpoint_kept(g5, db, 5));
	struct ef_svc_gen *g6 = make(std::string(WEB_SHRUNK) + DB, g5);
	ASSERT_NE(nullptr, g6);
	EXPECT_FALSE(ef_svc_endpoint_kept(g6, db, 4));
	EXPECT_TRUE(ef_svc_endpoint_kept(g6, db, 6));
	EXPECT_TRUE(ef_svc_endpoint_kept(g6, web, 2));
	ef_svc_gen_free(g);
	ef_svc_gen_free(g2);
	ef_svc_gen_free(g3);
	ef_svc_gen_free(g4);
	ef_svc_gen_free(g5);
	g = g6;
}

TEST_F(Svc, ReloadCopiesThePoolAsHealthLeftIt)
{
	g = make(std::string(WEB) + DB);
	ASSERT_NE(nullptr, g);
	int32_t s = ef_svc_find(g, "ns/web");
	ASSERT_GE(s, 0);
	/* 10.244.0.5 fails its health check: web's pools are rebuilt in g */
	ASSERT_EQ(1, ef_svc_set_health(g, g->svcs[s].first_health, false,
				       nullptr, nullptr));
	struct ef_svc_gen *g2 = make(std::string(WEB) + DB, g);
	ASSERT_NE(nullptr, g2);
	/* the health carries over, so every pool is what g publishes now */
	EXPECT_EQ(3u, g2->n_pools_reused);
	EXPECT_TRUE(pool_eq(port_of(g2, "ns/web", 0), port_of(g, "ns/web", 0)));
	EXPECT_EQ(1u, ef_svc_pool_get(port_of(g2, "ns/web", 0))->n_local_ready);
	/* and it goes on following health in the new generation */
	int32_t s2 = ef_svc_find(g2, "ns/web");
	EXPECT_EQ(1, ef_svc_set_health(g2, g2->svcs[s2].first_health, true,
				       nullptr, nullptr));
	EXPECT_EQ(2u, ef_svc_pool_get(port_of(g2, "ns/web", 0))->n_local_ready);

	/* endpoints in another order: built again (indexes moved), and the
	 * picks stay the same */
	struct ef_svc_gen *g3 = make(R"(
  { name = "ns/web"; type = "LoadBalancer"; cluster_ip = "10.96.0.10";
    load_balancer_ips = [ "198.51.100.10" ]; external_ips = [ "203.0.113.5" ];
    external_traffic_policy = "Local";
    ports = ( { name = "http"; protocol = "TCP"; port = 80; node_port = 30080; target_port = 8080; },
              { name = "dns"; protocol = "UDP"; port = 53; target_port = 5353; } );
    endpoints = ( { address = "10.244.1.7"; node = "node-b"; },
                  { address = "10.244.0.6"; node = "node-a"; },
                  { address = "10.244.0.5"; node = "node-a"; } ); }
)", g2);
	ASSERT_NE(nullptr, g3);
	EXPECT_EQ(0u, g3->n_pools_reused);
	ef_svc_gen_free(g);
	ef_svc_gen_free(g2);
	g = g3;
}

/* ===================== IPv6 (issue 12) ===================== */

static const char *HEAD6 = R"(
node = { name = "node-a"; };
interfaces = ( { port = "p0"; addresses = [ "198.51.100.1/24", "2001:db8:1::1/64" ]; },
               { port = "p1"; addresses = [ "10.244.0.1/24", "fd00:244::1/64" ]; } );
services = (
)";

static const char *WEB6 = R"(
  { name = "ns/web"; type = "LoadBalancer"; ip_families = [ "IPv4", "IPv6" ];
    cluster_ips = [ "10.96.0.10", "fd00:96::10" ];
    load_balancer_ips = [ "198.51.100.10", "2001:db8:1::10" ];
    external_ips = [ "2001:db8:1::11" ];
    external_traffic_policy = "Local";
    ports = ( { name = "http"; protocol = "TCP"; port = 80; node_port = 30080; target_port = 8080; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; },
                  { address = "fd00:244::5"; node = "node-a"; },
                  { address = "fd00:244::6"; node = "node-a"; },
                  { address = "fd00:244:1::7"; node = "node-b"; } ); }
)";

static std::array<uint8_t, 16>
ip6(const char *s)
{
	std::array<uint8_t, 16> a;

	EXPECT_EQ(1, inet_pton(AF_INET6, s, a.data())) << s;
	return a;
}

class Svc6 : public Svc {
protected:
	void SetUp() override
	{
		Svc::SetUp();
		head = HEAD6;
	}

	const struct ef_svc_frontend *fe6(const char *addr, uint16_t port,
					  uint8_t proto = IPPROTO_TCP)
	{
		return ef_svc_lookup6(g, ip6(addr).data(), htons(port), proto);
	}

	std::string pick6(const struct ef_svc_frontend *f, uint32_t h,
			  enum ef_svc_pick *v = nullptr)
	{
		uint32_t e;
		enum ef_svc_pick r = ef_svc_pick(g, f, h, &e);
		if (v != nullptr)
			*v = r;
		if (r != EF_SVC_PICK_OK)
			return "";
		char b[INET6_ADDRSTRLEN];
		const struct ef_svc_endpoint *ep = &g->sps[f->sp_idx].eps[e];
		EXPECT_EQ(EF_AF_INET6, ep->family);
		inet_ntop(AF_INET6, ep->addr6, b, sizeof(b));
		return b;
	}
};

TEST_F(Svc6, EachFamilysFrontendsReachOnlyItsEndpoints)
{
	g = make(WEB6);
	ASSERT_NE(nullptr, g);
	/* IPv4 is as before: its frontend picks the IPv4 endpoint only */
	const struct ef_svc_frontend *lb4 = fe("198.51.100.10", 80);
	ASSERT_NE(nullptr, lb4);
	for (uint32_t h = 0; h < 64; h++)
		EXPECT_EQ("10.244.0.5", pick(lb4, h * 2654435761u));
	/* IPv6: LB, external, cluster IP and node port on each interface */
	const struct ef_svc_frontend *lb6 = fe6("2001:db8:1::10", 80);
	ASSERT_NE(nullptr, lb6);
	EXPECT_EQ(EF_AF_INET6, lb6->family);
	EXPECT_TRUE(lb6->flags & EF_SVC_FE_LOCAL);
	EXPECT_TRUE(lb6->flags & EF_SVC_FE_EXTERNAL);
	ASSERT_NE(nullptr, fe6("2001:db8:1::11", 80));
	const struct ef_svc_frontend *cip6 = fe6("fd00:96::10", 80);
	ASSERT_NE(nullptr, cip6);
	EXPECT_FALSE(cip6->flags & EF_SVC_FE_EXTERNAL);
	const struct ef_svc_frontend *np6 = fe6("2001:db8:1::1", 30080);
	ASSERT_NE(nullptr, np6);
	EXPECT_TRUE(np6->flags & EF_SVC_FE_NODEPORT);
	ASSERT_NE(nullptr, fe6("fd00:244::1", 30080));
	EXPECT_EQ(nullptr, fe6("2001:db8:1::10", 81));
	EXPECT_EQ(nullptr, fe6("2001:db8:1::10", 80, IPPROTO_UDP));
	/* an IPv4 frontend never matches IPv6 bytes, nor the reverse */
	EXPECT_EQ(nullptr, fe6("::ffff:198.51.100.10", 80));
	EXPECT_NE(lb4->sp_idx, lb6->sp_idx);
	EXPECT_EQ(EF_AF_INET6, g->sps[lb6->sp_idx].family);
	EXPECT_EQ(3u, g->sps[lb6->sp_idx].n_eps);
	/* Local (external): the two local IPv6 pods, evenly; the cluster IP
	 * (internal, Cluster) reaches all three */
	std::map<std::string, int> local, all;
	for (uint32_t h = 0; h < 3000; h++) {
		local[pick6(lb6, h * 2654435761u)]++;
		all[pick6(cip6, h * 2654435761u)]++;
	}
	EXPECT_EQ(2u, local.size());
	EXPECT_EQ(0u, local.count("fd00:244:1::7"));
	EXPECT_GT(local["fd00:244::5"], 1200);
	EXPECT_GT(local["fd00:244::6"], 1200);
	EXPECT_EQ(3u, all.size());
	EXPECT_EQ(1u, all.count("fd00:244:1::7"));
	/* the service's ports: IPv4 first, then IPv6 */
	const struct ef_svc_service *sv = &g->svcs[g->sps[lb6->sp_idx].svc_idx];
	EXPECT_EQ(1u, sv->n_sp6);
	EXPECT_EQ(lb6->sp_idx, sv->first_sp6);
	EXPECT_EQ(lb4->sp_idx, sv->first_sp);
}

/* IPv6 endpoints are probed as IPv4's: each has a health entry after
 * the service's IPv4 ones, a flip republishes the IPv6 pool (the IPv4
 * one keeps its endpoint), and a reload keeps the state by address. */
TEST_F(Svc6, Ipv6EndpointHealthIsItsOwnAndCarriesOverReloads)
{
	g = make(WEB6);
	ASSERT_NE(nullptr, g);
	int32_t s = ef_svc_find(g, "ns/web");
	ASSERT_GE(s, 0);
	const struct ef_svc_service *sv = &g->svcs[s];
	ASSERT_EQ(4u, sv->n_health);	/* 1 IPv4 + 3 IPv6 endpoints */
	const struct ef_svc_health *h6 = &g->health[sv->first_health + 1];
	EXPECT_EQ(0, g->health[sv->first_health].v6);
	EXPECT_EQ(1, h6->v6);
	EXPECT_EQ(0u, h6->ep_cfg_idx);	/* fd00:244::5 */
	const struct ef_svc_frontend *lb6 = fe6("2001:db8:1::10", 80);
	ASSERT_NE(nullptr, lb6);
	EXPECT_EQ(sv->first_health + 1,
		  g->sps[lb6->sp_idx].eps[0].health_idx);
	EXPECT_EQ(2u, ef_svc_pool_get(&g->sps[lb6->sp_idx])->n_local_ready);
	EXPECT_EQ(1, ef_svc_set_health(g, sv->first_health + 1, false,
				       nullptr, nullptr));
	EXPECT_EQ(1u, ef_svc_pool_get(&g->sps[lb6->sp_idx])->n_local_ready);
	for (uint32_t h = 0; h < 2000; h++)
		EXPECT_EQ("fd00:244::6", pick6(lb6, h * 2654435761u));
	/* the IPv4 frontend still reaches its endpoint */
	EXPECT_EQ("10.244.0.5", pick(fe("198.51.100.10", 80), 12345));

	struct ef_svc_gen *g2 = make(WEB6, g);
	ASSERT_NE(nullptr, g2);
	const struct ef_svc_service *sv2 = &g2->svcs[ef_svc_find(g2, "ns/web")];
	EXPECT_EQ(1, g2->health[sv2->first_health].healthy);
	EXPECT_EQ(0, g2->health[sv2->first_health + 1].healthy);
	EXPECT_EQ(1, g2->health[sv2->first_health + 2].healthy);
	ef_svc_gen_free(g);
	g = g2;
}

TEST_F(Svc6, OwnedAddressesAndEndpointsPerFamily)
{
	g = make(WEB6);
	ASSERT_NE(nullptr, g);
	EXPECT_TRUE(ef_svc_owned6(g, ip6("2001:db8:1::1").data()) &
		    EF_SVC_OWN_IFACE);
	EXPECT_TRUE(ef_svc_owned6(g, ip6("2001:db8:1::10").data()) &
		    EF_SVC_OWN_VIP);
	EXPECT_TRUE(ef_svc_owned6(g, ip6("2001:db8:1::11").data()) &
		    EF_SVC_OWN_VIP);
	EXPECT_EQ(EF_SVC_OWN_CLUSTER_IP,
		  ef_svc_owned6(g, ip6("fd00:96::10").data()));
	EXPECT_EQ(0, ef_svc_owned6(g, ip6("fd00:244::5").data()));
	EXPECT_EQ(0, ef_svc_owned6(g, ip6("::").data()));
	/* the IPv4 view is unchanged by the IPv6 addresses */
	EXPECT_TRUE(ef_svc_owned4(g, ip("198.51.100.10")) & EF_SVC_OWN_VIP);
	const struct ef_svc_frontend *lb6 = fe6("2001:db8:1::10", 80);
	ASSERT_NE(nullptr, lb6);
	uint32_t id = g->svcs[g->sps[lb6->sp_idx].svc_idx].stable_id;
	EXPECT_TRUE(ef_svc_endpoint_exists6(g, id, ip6("fd00:244::6").data(),
					    htons(8080), IPPROTO_TCP));
	EXPECT_FALSE(ef_svc_endpoint_exists6(g, id, ip6("fd00:244::9").data(),
					     htons(8080), IPPROTO_TCP));
	EXPECT_FALSE(ef_svc_endpoint_exists6(g, id, ip6("fd00:244::6").data(),
					     htons(8081), IPPROTO_TCP));
	EXPECT_TRUE(ef_svc_endpoint_exists(g, id, ip("10.244.0.5"),
					   htons(8080), IPPROTO_TCP));
}

TEST_F(Svc6, AnIpv4OnlyGenerationHasNoIpv6)
{
	head = HEAD;
	g = make(WEB);
	ASSERT_NE(nullptr, g);
	EXPECT_EQ(nullptr, fe6("2001:db8:1::10", 80));
	EXPECT_EQ(0, ef_svc_owned6(g, ip6("2001:db8:1::1").data()));
	EXPECT_EQ(0u, g->svcs[0].n_sp6);
}

TEST_F(Svc6, NoLocalIpv6EndpointIsNotNoEndpoint)
{
	g = make(R"(
  { name = "ns/r"; type = "LoadBalancer"; ip_families = [ "IPv6" ];
    load_balancer_ips = [ "2001:db8:1::20" ]; external_traffic_policy = "Local";
    ports = ( { protocol = "TCP"; port = 80; } );
    endpoints = ( { address = "fd00:244:1::7"; node = "node-b"; } ); },
  { name = "ns/e"; type = "LoadBalancer"; ip_families = [ "IPv6" ];
    load_balancer_ips = [ "2001:db8:1::21" ];
    ports = ( { protocol = "TCP"; port = 80; } ); endpoints = ( ); }
)");
	ASSERT_NE(nullptr, g);
	enum ef_svc_pick v;
	const struct ef_svc_frontend *r = fe6("2001:db8:1::20", 80);
	ASSERT_NE(nullptr, r);
	EXPECT_EQ("", pick6(r, 1, &v));
	EXPECT_EQ(EF_SVC_PICK_NO_LOCAL, v);
	const struct ef_svc_frontend *e = fe6("2001:db8:1::21", 80);
	ASSERT_NE(nullptr, e);
	EXPECT_EQ("", pick6(e, 1, &v));
	EXPECT_EQ(EF_SVC_PICK_NO_ENDPOINT, v);
}

TEST_F(Svc6, ReloadKeepsIpv6PoolsAndSeesRemovedIpv6Endpoints)
{
	g = make(WEB6);
	ASSERT_NE(nullptr, g);
	const struct ef_svc_frontend *lb6 = fe6("2001:db8:1::10", 80);
	ASSERT_NE(nullptr, lb6);
	uint32_t id = g->svcs[0].stable_id;
	std::string gone = WEB6;
	gone.replace(gone.find("{ address = \"fd00:244::6\"; node = \"node-a\"; },"),
		     strlen("{ address = \"fd00:244::6\"; node = \"node-a\"; },"), "");
	struct ef_svc_gen *n = make(gone, g);
	ASSERT_NE(nullptr, n);
	EXPECT_TRUE(ef_svc_endpoint_exists6(n, id, ip6("fd00:244::5").data(),
					    htons(8080), IPPROTO_TCP));
	EXPECT_FALSE(ef_svc_endpoint_exists6(n, id, ip6("fd00:244::6").data(),
					     htons(8080), IPPROTO_TCP));
	ef_svc_gen_free(g);
	g = n;
	lb6 = fe6("2001:db8:1::10", 80);
	ASSERT_NE(nullptr, lb6);
	std::set<std::string> seen;
	for (uint32_t h = 0; h < 500; h++)
		seen.insert(pick6(lb6, h * 2654435761u));
	EXPECT_EQ(std::set<std::string>{ "fd00:244::5" }, seen);
}

/* An edge service over both families: the IPv6 VIP is an edge frontend
 * (no cluster IP, no node port over IPv6 either), and a node weighs its
 * pods, not its endpoint entries: the larger family's count. */
TEST_F(Svc6, EdgeDualStackWeighsPodsOnceAndAnswersOnItsVipsOnly)
{
	g = build_text(reg, std::string(R"(
node = { name = "edge-1"; };
interfaces = ( { port = "p0"; addresses = [ "198.51.100.1/24", "2001:db8:c::1/64" ]; },
               { port = "p1"; address = "10.1.0.1/24"; } );
nodes = ( { name = "node-1"; address = "10.1.0.11"; },
          { name = "node-2"; address = "10.1.0.12"; } );
services = ( {
  name = "default/web"; type = "LoadBalancer"; mode = "edge";
  ip_families = [ "IPv6", "IPv4" ];
  cluster_ips = [ "fd00:96::10", "10.96.0.10" ];
  load_balancer_ips = [ "2001:db8:10::10", "203.0.113.10" ];
  external_traffic_policy = "Local"; health_check_node_port = 32000;
  ports = ( { port = 80; node_port = 30080; target_port = 8080; } );
  endpoints = ( { address = "10.244.1.5"; node = "node-1"; },
                { address = "fd00:244:1::5"; node = "node-1"; },
                { address = "10.244.2.5"; node = "node-2"; },
                { address = "fd00:244:2::5"; node = "node-2"; },
                { address = "fd00:244:2::6"; node = "node-2"; },
                { address = "fd00:244:2::7"; node = "node-2"; } );
} );
)"), 1);
	ASSERT_NE(nullptr, g);
	const struct ef_svc_frontend *f = fe6("2001:db8:10::10", 80);
	ASSERT_NE(nullptr, f);
	EXPECT_EQ(EF_SVC_FE_EXTERNAL | EF_SVC_FE_EDGE, f->flags);
	EXPECT_EQ(nullptr, fe6("fd00:96::10", 80));
	EXPECT_EQ(nullptr, fe6("2001:db8:c::1", 30080));
	const struct ef_edge_lb *lb = ef_svc_edge_lb(g, 0);
	ASSERT_NE(nullptr, lb);
	/* node-1: one pod in each family; node-2: 1 IPv4, 3 IPv6 entries */
	EXPECT_EQ(1u, lb->nodes[ef_edge_lb_find(lb, ip("10.1.0.11"))].weight);
	EXPECT_EQ(3u, lb->nodes[ef_edge_lb_find(lb, ip("10.1.0.12"))].weight);
}
