/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <netinet/in.h>
#include <string.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ef_addr.h"
#include "ef_cfg.h"

#ifndef EF_CONF_DIR
#error "EF_CONF_DIR must name the conf/ folder"
#endif

namespace {

/* Two interfaces: an external one with a gateway, an internal one. */
const char *const kBase =
	"node = { name = \"node-a\"; };\n"				/* 1 */
	"interfaces = (\n"						/* 2 */
	"  { port = \"net_tap0\"; address = \"198.51.100.1/24\";"
	" gateway = \"198.51.100.254\"; },\n"				/* 3 */
	"  { port = \"net_tap1\"; address = \"10.0.0.1/24\"; }\n"	/* 4 */
	");\n";								/* 5 */

struct Parsed {
	struct ef_cfg *cfg = nullptr;
	std::vector<std::string> errs;

	Parsed() = default;
	Parsed(const Parsed &) = delete;
	Parsed &operator=(const Parsed &) = delete;
	~Parsed() { ef_cfg_free(cfg); }

	std::string all() const
	{
		std::string s;

		for (const auto &e : errs)
			s += e + "\n";
		return s;
	}
};

void
collect(Parsed *p, struct ef_cfg_errors *errs)
{
	for (uint32_t i = 0; i < errs->n; i++)
		p->errs.push_back(errs->msgs[i]);
	ef_cfg_errors_clear(errs);
}

void
parse(Parsed *p, const std::string &text)
{
	struct ef_cfg_errors errs = {};

	p->cfg = ef_cfg_parse_string(text.c_str(), "t.conf", &errs);
	collect(p, &errs);
}

void
load(Parsed *p, const std::string &file)
{
	struct ef_cfg_errors errs = {};

	p->cfg = ef_cfg_load(file.c_str(), &errs);
	collect(p, &errs);
}

/* 1-based line of the first line of text containing needle. */
int
line_of(const std::string &text, const std::string &needle)
{
	size_t pos = text.find(needle);
	int line = 1;

	if (pos == std::string::npos)
		return -1;
	for (size_t i = 0; i < pos; i++)
		line += text[i] == '\n';
	return line;
}

/* The base, then text; services wrap one service group's body. */
std::string
with(const std::string &text)
{
	return std::string(kBase) + text;
}

std::string
service(const std::string &body)
{
	return with("services = (\n  {\n" + body + "  }\n);\n");
}

std::string
conf_path(const std::string &name)
{
	return std::string(EF_CONF_DIR) + "/" + name;
}

/*
 * Exactly one error, at line, naming what. The "FILE:LINE: " prefix is
 * checked whole so that a neighbouring line does not pass.
 */
::testing::AssertionResult
one_error(const Parsed &p, int line, const std::string &what)
{
	std::string prefix = "t.conf:" + std::to_string(line) + ": ";

	if (p.cfg != nullptr)
		return ::testing::AssertionFailure() << "model returned";
	if (p.errs.size() != 1)
		return ::testing::AssertionFailure()
			<< p.errs.size() << " errors:\n" << p.all();
	if (p.errs[0].compare(0, prefix.size(), prefix) != 0 ||
	    p.errs[0].find(what) == std::string::npos)
		return ::testing::AssertionFailure()
			<< "want " << prefix << "..." << what << "\ngot "
			<< p.errs[0];
	return ::testing::AssertionSuccess();
}

/* Some error (among several) at line, containing what. */
::testing::AssertionResult
has_error(const Parsed &p, int line, const std::string &what)
{
	std::string prefix = "t.conf:" + std::to_string(line) + ": ";

	for (const auto &e : p.errs) {
		if (e.compare(0, prefix.size(), prefix) == 0 &&
		    e.find(what) != std::string::npos)
			return ::testing::AssertionSuccess();
	}
	return ::testing::AssertionFailure()
		<< "no " << prefix << "..." << what << " in:\n" << p.all();
}

std::string
addr_str(const struct ef_addr &a)
{
	char buf[EF_ADDR_STRLEN];

	return ef_addr_fmt(&a, buf, sizeof(buf));
}

TEST(CfgDefaults, MinimalFileGetsEveryDefault)
{
	Parsed p;

	parse(&p, service("    name = \"ns/web\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( { port = 80; } );\n"
			  "    endpoints = ( { address = \"10.0.0.9\";"
			  " node = \"node-b\"; } );\n"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	const struct ef_cfg *c = p.cfg;

	EXPECT_STREQ("t.conf", c->file);
	EXPECT_STREQ("node-a", c->node_name);
	EXPECT_EQ(1024, c->snat_port_min);
	EXPECT_EQ(29999, c->snat_port_max);
	EXPECT_EQ(32u, c->dataplane.burst);
	EXPECT_EQ(1024u, c->dataplane.rx_descriptors);
	EXPECT_EQ(1024u, c->dataplane.tx_descriptors);
	EXPECT_EQ(65535u, c->dataplane.mbufs);
	EXPECT_EQ(1048576u, c->conntrack.max_flows);
	EXPECT_EQ(30u, c->conntrack.tcp_syn_timeout);
	EXPECT_EQ(7440u, c->conntrack.tcp_established_timeout);
	EXPECT_EQ(30u, c->conntrack.tcp_fin_timeout);
	EXPECT_EQ(10u, c->conntrack.tcp_close_timeout);
	EXPECT_EQ(30u, c->conntrack.udp_timeout);
	EXPECT_EQ(120u, c->conntrack.udp_stream_timeout);
	EXPECT_EQ(30u, c->conntrack.icmp_timeout);
	/* absent: max_flows / 8 */
	EXPECT_EQ(131072u, c->conntrack.syn_cookie_threshold);
	EXPECT_EQ(EF_HEALTH_TCP, c->health.type);
	EXPECT_STREQ("/healthz", c->health.http_path);
	EXPECT_EQ(2000u, c->health.interval_ms);
	EXPECT_EQ(1000u, c->health.timeout_ms);
	EXPECT_EQ(2u, c->health.rise);
	EXPECT_EQ(3u, c->health.fall);
	EXPECT_EQ(0u, c->n_routes);
	EXPECT_EQ(0u, c->n_neighbors);
	ASSERT_EQ(2u, c->n_interfaces);
	EXPECT_EQ(0u, c->interfaces[1].mtu);
	EXPECT_EQ(0, c->interfaces[1].gateway.family);
	EXPECT_EQ(24, c->interfaces[1].prefix_len);

	ASSERT_EQ(1u, c->n_services);
	const struct ef_cfg_service *s = &c->services[0];
	EXPECT_EQ(EF_SVC_TYPE_CLUSTER_IP, s->type);
	EXPECT_EQ(EF_POLICY_CLUSTER, s->external_traffic_policy);
	EXPECT_EQ(EF_POLICY_CLUSTER, s->internal_traffic_policy);
	EXPECT_EQ(EF_AFFINITY_NONE, s->session_affinity);
	EXPECT_EQ(10800u, s->session_affinity_timeout);
	EXPECT_EQ(0, s->health_check_node_port);
	EXPECT_FALSE(s->health_overridden);
	EXPECT_EQ(0, memcmp(&c->health, &s->health, sizeof(s->health)));
	EXPECT_EQ(0u, s->n_load_balancer_ips);
	EXPECT_EQ(0u, s->n_external_ips);
	ASSERT_EQ(1u, s->n_ports);
	EXPECT_EQ(IPPROTO_TCP, s->ports[0].protocol);
	EXPECT_EQ(80, s->ports[0].port);
	EXPECT_EQ(80, s->ports[0].target_port);
	EXPECT_EQ(0, s->ports[0].node_port);
	ASSERT_EQ(1u, s->n_endpoints);
	EXPECT_TRUE(s->endpoints[0].ready);
	EXPECT_TRUE(s->endpoints[0].serving);
	EXPECT_FALSE(s->endpoints[0].terminating);
	EXPECT_EQ(1u, s->endpoints[0].weight);
	EXPECT_STREQ("node-b", s->endpoints[0].node);
}

/* An endpoint's node name is the cfg's one copy of that name: endpoints
 * on one node share it, across services and families; 40 distinct nodes
 * (the intern table grows twice) each keep their own, and a service's
 * endpoints read back in order. */
TEST(CfgDefaults, EndpointNodeNamesAreOneCopyPerNode)
{
	std::string svcs = "services = (\n";
	for (int s = 0; s < 3; s++) {
		svcs += std::string(s ? ",\n" : "") + "  { name = \"ns/s" +
			std::to_string(s) + "\"; cluster_ip = \"10.96.0." +
			std::to_string(10 + s) + "\";\n    ports = ( { protocol = \"TCP\"; "
			"port = 80; } );\n    endpoints = (\n";
		for (int e = 0; e < 40; e++)
			svcs += std::string(e ? ",\n" : "") +
				"      { address = \"10.244." + std::to_string(s) +
				"." + std::to_string(e + 1) + "\"; node = \"n-" +
				std::to_string((e + s) % 40) + "\"; }";
		svcs += " ); }";
	}
	svcs += "\n);\n";
	Parsed p;

	parse(&p, with(svcs));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	ASSERT_EQ(3u, p.cfg->n_services);
	EXPECT_EQ(40u, p.cfg->n_node_refs);
	for (int s = 0; s < 3; s++) {
		const struct ef_cfg_service *sv = &p.cfg->services[s];

		ASSERT_EQ(40u, sv->n_endpoints);
		for (int e = 0; e < 40; e++)
			EXPECT_EQ("n-" + std::to_string((e + s) % 40),
				  std::string(sv->endpoints[e].node));
	}
	/* the same node in two services: the same pointer */
	EXPECT_EQ(p.cfg->services[0].endpoints[1].node,
		  p.cfg->services[1].endpoints[0].node);
	EXPECT_NE(p.cfg->services[0].endpoints[1].node,
		  p.cfg->services[0].endpoints[2].node);
}

TEST(CfgDefaults, SnatDefaultsToFirstInterfaceWithoutGateway)
{
	Parsed p;

	parse(&p, with(""));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	ASSERT_EQ(1u, p.cfg->n_snat_addresses);
	EXPECT_EQ("10.0.0.1", addr_str(p.cfg->snat_addresses[0]));
}

TEST(CfgDefaults, SnatDefaultsToFirstInterfaceWhenAllHaveGateways)
{
	Parsed p;

	parse(&p, "node = { name = \"n1\"; snat_addresses = [ ]; };\n"
		  "interfaces = (\n"
		  "  { port = \"a\"; address = \"192.0.2.5/24\";"
		  " gateway = \"192.0.2.1\"; },\n"
		  "  { port = \"b\"; address = \"10.1.0.5/16\";"
		  " gateway = \"10.1.0.1\"; }\n);\n");
	ASSERT_NE(nullptr, p.cfg) << p.all();
	ASSERT_EQ(1u, p.cfg->n_snat_addresses);
	EXPECT_EQ("192.0.2.5", addr_str(p.cfg->snat_addresses[0]));
}

TEST(CfgDefaults, ServingFollowsReadyAndTargetPortFollowsPort)
{
	Parsed p;

	parse(&p, service("    name = \"ns/web\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( { protocol = \"UDP\"; port = 53; } );\n"
			  "    endpoints = (\n"
			  "      { address = \"10.0.0.9\"; node = \"n\";"
			  " ready = false; },\n"
			  "      { address = \"10.0.0.8\"; node = \"n\";"
			  " ready = false; serving = true;"
			  " terminating = true; weight = 7; }\n"
			  "    );\n"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	const struct ef_cfg_service *s = &p.cfg->services[0];
	EXPECT_EQ(IPPROTO_UDP, s->ports[0].protocol);
	EXPECT_EQ(53, s->ports[0].target_port);
	ASSERT_EQ(2u, s->n_endpoints);
	EXPECT_FALSE(s->endpoints[0].serving);
	EXPECT_TRUE(s->endpoints[1].serving);
	EXPECT_TRUE(s->endpoints[1].terminating);
	EXPECT_EQ(7u, s->endpoints[1].weight);
}

TEST(CfgDefaults, ServiceHealthOverrideInheritsTheRest)
{
	std::string t = with("health = { interval_ms = 5000; fall = 4; };\n") +
		"services = ( { name = \"ns/a\"; cluster_ip = \"10.96.0.1\";\n"
		"  ports = ( { port = 80; } );\n"
		"  health = { type = \"http\"; http_path = \"/ready\"; }; } );\n";
	Parsed p;

	parse(&p, t);
	ASSERT_NE(nullptr, p.cfg) << p.all();
	const struct ef_cfg_health *h = &p.cfg->services[0].health;
	EXPECT_TRUE(p.cfg->services[0].health_overridden);
	EXPECT_EQ(EF_HEALTH_HTTP, h->type);
	EXPECT_STREQ("/ready", h->http_path);
	EXPECT_EQ(5000u, h->interval_ms);
	EXPECT_EQ(1000u, h->timeout_ms);
	EXPECT_EQ(2u, h->rise);
	EXPECT_EQ(4u, h->fall);
	EXPECT_EQ(EF_HEALTH_TCP, p.cfg->health.type);
}

TEST(CfgDefaults, Int64AndHexIntegersAreAccepted)
{
	Parsed p;

	parse(&p, with("conntrack = { max_flows = 65536L; };\n"
		       "dataplane = { burst = 0x20; };\n"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	EXPECT_EQ(65536u, p.cfg->conntrack.max_flows);
	EXPECT_EQ(32u, p.cfg->dataplane.burst);
}

TEST(CfgDefaults, SynCookieThresholdAndServiceQuota)
{
	Parsed d, p;

	parse(&d, with("conntrack = { max_flows = 4096; };\n"));
	ASSERT_NE(nullptr, d.cfg) << d.all();
	EXPECT_EQ(512u, d.cfg->conntrack.syn_cookie_threshold);
	parse(&p, with("conntrack = { syn_cookie_threshold = 0; };\n"
		       "services = ( { name = \"a/b\"; type = \"ClusterIP\";"
		       " cluster_ip = \"10.96.0.1\"; max_flows = 100;"
		       " ports = ( { port = 80; } ); } );\n"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	EXPECT_EQ(0u, p.cfg->conntrack.syn_cookie_threshold);
	EXPECT_EQ(100u, p.cfg->services[0].max_flows);
}

TEST(CfgFiles, DemoSummaryAndTopology)
{
	Parsed p;
	struct ef_cfg_summary sum;

	load(&p, conf_path("demo.conf"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	ef_cfg_summarize(p.cfg, &sum);
	EXPECT_EQ(4u, sum.services);
	/*
	 * Per port: cluster IP + LB IP + node port on 3 interfaces = 5;
	 * web-local and web-cluster have 2 ports, the others 1: 6 x 5.
	 */
	EXPECT_EQ(30u, sum.frontends);
	EXPECT_EQ(10u, sum.endpoints);
	EXPECT_STREQ("node-a", p.cfg->node_name);
	ASSERT_EQ(3u, p.cfg->n_interfaces);
	ASSERT_EQ(1u, p.cfg->n_routes);
	EXPECT_EQ("10.0.0.2", addr_str(p.cfg->routes[0].via));
	EXPECT_EQ(512u, p.cfg->dataplane.rx_descriptors);
	EXPECT_EQ(16383u, p.cfg->dataplane.mbufs);
	EXPECT_EQ(65536u, p.cfg->conntrack.max_flows);
	EXPECT_EQ(2u, p.cfg->health.fall);
	EXPECT_EQ(500u, p.cfg->health.timeout_ms);
	EXPECT_EQ(32000, p.cfg->services[0].health_check_node_port);
	EXPECT_EQ(EF_POLICY_LOCAL, p.cfg->services[2].external_traffic_policy);
	EXPECT_EQ(EF_AFFINITY_CLIENT_IP, p.cfg->services[3].session_affinity);
	EXPECT_EQ(60u, p.cfg->services[3].session_affinity_timeout);
	EXPECT_EQ(IPPROTO_UDP, p.cfg->services[1].ports[1].protocol);
	EXPECT_EQ(30054, p.cfg->services[1].ports[1].node_port);
}

TEST(CfgFiles, EveryShippedConfValidates)
{
	DIR *d = opendir(EF_CONF_DIR);
	struct dirent *e;
	int n = 0;

	ASSERT_NE(nullptr, d);
	while ((e = readdir(d)) != nullptr) {
		std::string name = e->d_name;
		Parsed p;

		if (name.size() < 5 ||
		    name.compare(name.size() - 5, 5, ".conf") != 0)
			continue;
		load(&p, conf_path(name));
		EXPECT_NE(nullptr, p.cfg) << name << ":\n" << p.all();
		n++;
	}
	closedir(d);
	EXPECT_GE(n, 2);
}

TEST(CfgFiles, EveryBadExampleFails)
{
	DIR *d = opendir(EF_CONF_DIR "/bad");
	struct dirent *e;
	int n = 0;

	ASSERT_NE(nullptr, d);
	while ((e = readdir(d)) != nullptr) {
		std::string name = e->d_name;
		Parsed p;

		if (name.size() < 5 ||
		    name.compare(name.size() - 5, 5, ".conf") != 0)
			continue;
		load(&p, conf_path("bad/" + name));
		EXPECT_EQ(nullptr, p.cfg) << name;
		EXPECT_FALSE(p.errs.empty()) << name;
		n++;
	}
	closedir(d);
	EXPECT_GE(n, 2);
}

TEST(CfgFiles, ReferenceConfCarriesTheExtensions)
{
	Parsed p;

	load(&p, conf_path("edgefwd.conf"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	EXPECT_EQ(1500u, p.cfg->interfaces[0].mtu);
	EXPECT_EQ(29999, p.cfg->snat_port_max);
	ASSERT_EQ(1u, p.cfg->n_neighbors);
	EXPECT_EQ(0x02, p.cfg->neighbors[0].mac[5]);
	ASSERT_EQ(2u, p.cfg->n_services);
	EXPECT_TRUE(p.cfg->services[0].health_overridden);
	EXPECT_STREQ("/ready", p.cfg->services[0].health.http_path);
	EXPECT_EQ(2u, p.cfg->services[1].endpoints[0].weight);
	EXPECT_EQ(1u, p.cfg->services[1].n_external_ips);
	EXPECT_EQ(2u, p.cfg->n_nodes);
	EXPECT_TRUE(p.cfg->decap.enabled);
	EXPECT_EQ(1u, p.cfg->decap.n_sources);
	EXPECT_EQ(EF_EDGE_FORWARDING_IPIP, p.cfg->edge.forwarding);
	EXPECT_EQ(EF_SVC_MODE_PROXY, p.cfg->services[0].mode);
	EXPECT_EQ(100000u, p.cfg->services[0].max_flows);
	EXPECT_EQ(0u, p.cfg->services[1].max_flows);
	EXPECT_EQ(131072u, p.cfg->conntrack.syn_cookie_threshold);
}

TEST(CfgFiles, FourMistakesAreAllReportedWithTheirLines)
{
	Parsed p;
	std::string f = conf_path("bad/four-errors.conf");

	load(&p, f);
	EXPECT_EQ(nullptr, p.cfg);
	ASSERT_EQ(4u, p.errs.size()) << p.all();
	EXPECT_EQ(0u, p.errs[0].find(f + ":12: unknown setting "
				     "'rx_descriptor' in dataplane"))
		<< p.errs[0];
	EXPECT_EQ(0u, p.errs[1].find(f + ":17: services[0].cluster_ip: "
				     "\"10.96.0.300\" is not an IP address"))
		<< p.errs[1];
	EXPECT_EQ(0u, p.errs[2].find(f + ":27: services[1].ports[1]: "
				     "duplicate frontend TCP"))
		<< p.errs[2];
	EXPECT_NE(std::string::npos, p.errs[2].find("at line 26"));
	EXPECT_EQ(0u, p.errs[3].find(f + ":32: services[2]."
				     "external_traffic_policy: \"local\""))
		<< p.errs[3];
}

TEST(CfgFiles, SyntaxErrorStopsWithItsLine)
{
	Parsed p;
	std::string f = conf_path("bad/syntax.conf");

	load(&p, f);
	EXPECT_EQ(nullptr, p.cfg);
	ASSERT_EQ(1u, p.errs.size()) << p.all();
	EXPECT_EQ(f + ":6: syntax error: syntax error", p.errs[0]);
}

TEST(CfgFiles, MissingFileSaysCannotOpen)
{
	Parsed p;

	load(&p, "/nonexistent/edgefwd.conf");
	EXPECT_EQ(nullptr, p.cfg);
	ASSERT_EQ(1u, p.errs.size());
	EXPECT_EQ("/nonexistent/edgefwd.conf: cannot open: "
		  "No such file or directory", p.errs[0]);
}

TEST(CfgErrors, SyntaxErrorInString)
{
	Parsed p;

	parse(&p, with("dataplane = { burst = ; };\n"));
	EXPECT_TRUE(one_error(p, 6, "syntax error"));
}

TEST(CfgErrors, DuplicateSettingIsASyntaxError)
{
	Parsed p;

	parse(&p, with("dataplane = { burst = 8;\n burst = 16; };\n"));
	EXPECT_TRUE(one_error(p, 7, "duplicate setting name"));
}

TEST(CfgErrors, NullErrsAndNullModelAreSafe)
{
	std::string t = with("dataplane = { burst = 0; };\n");

	EXPECT_EQ(nullptr, ef_cfg_parse_string(t.c_str(), "x", nullptr));
	ef_cfg_free(nullptr);
	ef_cfg_errors_clear(nullptr);
}

TEST(CfgErrors, PrintWritesOneLinePerError)
{
	struct ef_cfg_errors errs = {};
	std::string t = with("dataplane = { burst = 0; mbufs = 5; };\n");
	char buf[1024] = {};
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	ASSERT_NE(nullptr, f);
	EXPECT_EQ(nullptr, ef_cfg_parse_string(t.c_str(), "t.conf", &errs));
	ASSERT_EQ(2u, errs.n);
	ef_cfg_errors_print(&errs, f);
	fclose(f);
	EXPECT_EQ(std::string(errs.msgs[0]) + "\n" + errs.msgs[1] + "\n",
		  std::string(buf));
	ef_cfg_errors_clear(&errs);
	EXPECT_EQ(0u, errs.n);
}

TEST(CfgUnknownKeys, ReportedAtEveryLevelWithTheirLine)
{
	struct Case {
		const char *where;
		std::string text;
	};
	const std::string svc_head =
		"services = ( { name = \"ns/a\"; cluster_ip = \"10.96.0.1\";\n";
	const std::vector<Case> cases = {
		{ "the top level", with("bogus = 1;\n") },
		{ "node", "node = { name = \"n\";\n bogus = 1; };\n"
			  "interfaces = ( { port = \"p\";"
			  " address = \"10.0.0.1/24\"; } );\n" },
		{ "interfaces[1]", with("").replace(
			  with("").find("\"10.0.0.1/24\";") + 14, 0,
			  "\n bogus = 1;") },
		{ "routes[0]", with("routes = ( { prefix = \"10.9.0.0/16\";"
				    " via = \"10.0.0.2\";\n bogus = 1; } );\n") },
		{ "neighbors[0]", with("neighbors = ( { address = \"10.0.0.2\";"
				       " mac = \"02:00:00:00:00:01\";\n"
				       " bogus = 1; } );\n") },
		{ "dataplane", with("dataplane = {\n bogus = 1; };\n") },
		{ "conntrack", with("conntrack = {\n bogus = 1; };\n") },
		{ "health", with("health = {\n bogus = 1; };\n") },
		{ "services[0]", with(svc_head + " bogus = 1;\n"
				      " ports = ( { port = 80; } ); } );\n") },
		{ "services[0].ports[0]",
		  with(svc_head + " ports = ( { port = 80;\n bogus = 1; } );"
			 " } );\n") },
		{ "services[0].endpoints[0]",
		  with(svc_head + " ports = ( { port = 80; } );\n"
			 " endpoints = ( { address = \"10.0.0.5\";"
			 " node = \"n\";\n bogus = 1; } ); } );\n") },
		{ "services[0].health",
		  with(svc_head + " ports = ( { port = 80; } );\n"
			 " health = {\n bogus = 1; }; } );\n") },
	};

	for (const auto &k : cases) {
		Parsed p;

		SCOPED_TRACE(k.where);
		parse(&p, k.text);
		EXPECT_TRUE(one_error(p, line_of(k.text, "bogus"),
				      std::string("unknown setting 'bogus' in ") +
				      k.where));
	}
}

TEST(CfgUnknownKeys, TypoGetsASuggestion)
{
	std::string t = with("conntrack = { max_flow = 4096; };\n");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(one_error(p, 6, "unknown setting 'max_flow' in conntrack "
			      "(did you mean 'max_flows'?)"));
}

TEST(CfgTypes, NumberWhereStringExpectedAndBack)
{
	Parsed a;
	Parsed b;
	Parsed c;

	parse(&a, service("    name = 42;\n"
			  "    ports = ( { port = 80; } );\n"));
	EXPECT_TRUE(one_error(a, 8, "services[0].name: must be a string, "
			      "not an integer"));
	parse(&b, service("    name = \"ns/a\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( { port = \"80\"; } );\n"));
	EXPECT_TRUE(one_error(b, 10, "services[0].ports[0].port: must be an "
			      "integer, not a string"));
	parse(&c, with("dataplane = { burst = 32.0; };\n"));
	EXPECT_TRUE(one_error(c, 6, "dataplane.burst: must be an integer, "
			      "not a float"));
}

TEST(CfgTypes, BooleansMustBeTrueOrFalse)
{
	Parsed p;

	parse(&p, service("    name = \"ns/a\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( { port = 80; } );\n"
			  "    endpoints = ( { address = \"10.0.0.5\";"
			  " node = \"n\"; ready = 1; } );\n"));
	EXPECT_TRUE(one_error(p, 11, "services[0].endpoints[0].ready: must "
			      "be true or false, not an integer"));
}

TEST(CfgTypes, ListsAndGroupsMustHaveTheirShape)
{
	Parsed a;
	Parsed b;

	parse(&a, with("dataplane = ( );\n"));
	EXPECT_TRUE(one_error(a, 6, "dataplane: must be a group"));
	parse(&b, with("routes = ( \"10.9.0.0/16\" );\n"));
	EXPECT_TRUE(one_error(b, 6, "routes[0]: must be a group"));
}

TEST(CfgRanges, OutOfRangeValuesNameTheSettingAndLine)
{
	struct Case {
		std::string text;
		const char *what;
	};
	const std::string svc =
		"services = ( { name = \"ns/a\"; cluster_ip = \"10.96.0.1\";\n";
	const std::vector<Case> cases = {
		{ "dataplane = {\n burst = 0; };\n", "dataplane.burst: 0" },
		{ "dataplane = {\n burst = 257; };\n", "dataplane.burst: 257" },
		{ "dataplane = {\n rx_descriptors = 63; };\n",
		  "dataplane.rx_descriptors: 63" },
		{ "dataplane = {\n tx_descriptors = 16385; };\n",
		  "dataplane.tx_descriptors: 16385" },
		{ "dataplane = {\n mbufs = 1022; };\n", "dataplane.mbufs: 1022" },
		{ "conntrack = {\n max_flows = 1023; };\n",
		  "conntrack.max_flows: 1023" },
		{ "conntrack = {\n max_flows = 67108865; };\n",
		  "conntrack.max_flows: 67108865" },
		{ "conntrack = {\n udp_timeout = 0; };\n",
		  "conntrack.udp_timeout: 0" },
		{ "conntrack = {\n tcp_established_timeout = 2592001; };\n",
		  "conntrack.tcp_established_timeout: 2592001" },
		{ "health = {\n interval_ms = 99; timeout_ms = 50; };\n",
		  "health.interval_ms: 99" },
		{ "health = {\n timeout_ms = 9; };\n", "health.timeout_ms: 9" },
		{ "health = {\n rise = 0; };\n", "health.rise: 0" },
		{ "health = {\n fall = 101; };\n", "health.fall: 101" },
		{ svc + " session_affinity_timeout = 86401;\n"
			" ports = ( { port = 80; } ); } );\n",
		  "services[0].session_affinity_timeout: 86401" },
		{ svc + " ports = ( { port = 0; } ); } );\n",
		  "services[0].ports[0].port: 0" },
		{ svc + " ports = ( { port = 80; target_port = 65536; } );"
			" } );\n",
		  "services[0].ports[0].target_port: 65536" },
		{ svc + " ports = ( { port = 80; } ); endpoints = ( {"
			" address = \"10.0.0.5\"; node = \"n\"; weight = 0;"
			" } ); } );\n",
		  "services[0].endpoints[0].weight: 0" },
		{ svc + " max_flows = 0; ports = ( { port = 80; } ); } );\n",
		  "services[0].max_flows: 0" },
		{ "conntrack = {\n syn_cookie_threshold = 67108865; };\n",
		  "conntrack.syn_cookie_threshold: 67108865" },
	};

	for (const auto &k : cases) {
		std::string t = with(k.text);
		Parsed p;

		SCOPED_TRACE(k.text);
		parse(&p, t);
		EXPECT_TRUE(one_error(p, 7, std::string(k.what) +
				      " is out of range"));
	}
}

TEST(CfgRanges, BoundariesAreAccepted)
{
	Parsed p;

	parse(&p, with("dataplane = { burst = 256; rx_descriptors = 64;"
		       " tx_descriptors = 16384; mbufs = 1023; };\n"
		       "conntrack = { max_flows = 67108864;"
		       " icmp_timeout = 2592000; };\n"
		       "health = { interval_ms = 100; timeout_ms = 100;"
		       " rise = 100; fall = 1; };\n"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	EXPECT_EQ(256u, p.cfg->dataplane.burst);
	EXPECT_EQ(67108864u, p.cfg->conntrack.max_flows);
	EXPECT_EQ(2592000u, p.cfg->conntrack.icmp_timeout);
	EXPECT_EQ(100u, p.cfg->health.timeout_ms);
}

TEST(CfgRanges, LiteralsLibconfigWouldTruncateAreOutOfRange)
{
	Parsed a;
	Parsed b;

	/* 4294968320 is 2^32 + 1024: libconfig 1.5 alone reads 1024 */
	parse(&a, with("conntrack = {\n max_flows = 4294968320; };\n"));
	EXPECT_TRUE(one_error(a, 7, "conntrack.max_flows: 4294968320 is out "
			      "of range"));
	parse(&b, with("dataplane = {\n burst = 4294967328; };\n"));
	EXPECT_TRUE(one_error(b, 7, "dataplane.burst: 4294967328 is out of "
			      "range"));
}

/* The literal scan skips strings (escaped quotes and all) and keeps the
 * line count through them: the number in the string is not a literal,
 * the one after it is, on its own line. */
TEST(CfgRanges, LiteralScanSkipsStringsAndCountsTheirLines)
{
	Parsed p;

	parse(&p, with("health = { type = \"http\";\n"
		       " http_path = \"/a\\\"4294968320\\\"b\"; };\n"
		       "conntrack = {\n max_flows = 4294968320; };\n"));
	EXPECT_TRUE(one_error(p, 9, "conntrack.max_flows: 4294968320 is out "
			      "of range")) << p.all();
}

TEST(CfgRanges, HealthTimeoutMustNotExceedInterval)
{
	Parsed p;

	parse(&p, with("health = { interval_ms = 1000;\n"
		       " timeout_ms = 1500; };\n"));
	EXPECT_TRUE(one_error(p, 7, "health: timeout_ms 1500 is longer than "
			      "interval_ms 1000"));
}

TEST(CfgRanges, OverrideCheckedAgainstInheritedInterval)
{
	Parsed p;

	parse(&p, service("    name = \"ns/a\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( { port = 80; } );\n"
			  "    health = { timeout_ms = 2500; };\n"));
	EXPECT_TRUE(one_error(p, 11, "services[0].health: timeout_ms 2500"));
}

TEST(CfgRanges, HttpPathMustStartWithSlash)
{
	Parsed p;

	parse(&p, with("health = { type = \"http\";\n"
		       " http_path = \"healthz\"; };\n"));
	EXPECT_TRUE(one_error(p, 7, "health.http_path: \"healthz\" must start "
			      "with '/'"));
}

TEST(CfgRanges, MtuZeroOrSixtyEightAndUp)
{
	std::string t = with("").replace(with("").find("\"10.0.0.1/24\";") + 14,
					 0, "\n mtu = 67;");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(one_error(p, 5, "interfaces[1].mtu: 67 is out of range"));
}

TEST(CfgWords, PolicyWordsAreExactAndCaseSensitive)
{
	struct Case {
		const char *line;
		const char *what;
	};
	const std::vector<Case> cases = {
		{ "external_traffic_policy = \"local\";",
		  "\"local\" is not valid: words are case-sensitive, did you "
		  "mean \"Local\"?" },
		{ "internal_traffic_policy = \"Clustr\";",
		  "\"Clustr\" is not valid (expected \"Cluster\" or "
		  "\"Local\")" },
		{ "session_affinity = \"clientip\";", "did you mean "
		  "\"ClientIP\"?" },
		{ "type = \"Loadbalancer\";", "did you mean \"LoadBalancer\"?" },
		{ "type = \"External\";", "(expected \"ClusterIP\", "
		  "\"NodePort\" or \"LoadBalancer\")" },
		{ "health = { type = \"TCP\"; };", "did you mean \"tcp\"?" },
	};

	for (const auto &k : cases) {
		std::string t = service(std::string("    name = \"ns/a\";\n"
						    "    cluster_ip = "
						    "\"10.96.0.1\";\n    ") +
					k.line + "\n    ports = ( { port = 80; "
					"} );\n");
		Parsed p;

		SCOPED_TRACE(k.line);
		parse(&p, t);
		EXPECT_TRUE(one_error(p, 10, k.what));
	}
}

TEST(CfgWords, ProtocolTypoAndSctp)
{
	Parsed a;
	Parsed b;

	parse(&a, service("    name = \"ns/a\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( { protocol = \"TPC\"; port = 80; } );\n"));
	EXPECT_TRUE(one_error(a, 10, "services[0].ports[0].protocol: \"TPC\" "
			      "is not valid (expected \"TCP\" or \"UDP\")"));
	parse(&b, service("    name = \"ns/a\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( { protocol = \"SCTP\"; port = 80; } );\n"));
	EXPECT_TRUE(one_error(b, 10, "services[0].ports[0].protocol: SCTP is "
			      "not supported yet"));
}

TEST(CfgWords, NamesUseKubernetesSpelling)
{
	EXPECT_STREQ("ClusterIP", ef_svc_type_name(EF_SVC_TYPE_CLUSTER_IP));
	EXPECT_STREQ("NodePort", ef_svc_type_name(EF_SVC_TYPE_NODE_PORT));
	EXPECT_STREQ("LoadBalancer",
		     ef_svc_type_name(EF_SVC_TYPE_LOAD_BALANCER));
	EXPECT_STREQ("Cluster", ef_policy_name(EF_POLICY_CLUSTER));
	EXPECT_STREQ("Local", ef_policy_name(EF_POLICY_LOCAL));
	EXPECT_STREQ("None", ef_affinity_name(EF_AFFINITY_NONE));
	EXPECT_STREQ("ClientIP", ef_affinity_name(EF_AFFINITY_CLIENT_IP));
	EXPECT_STREQ("tcp", ef_health_type_name(EF_HEALTH_TCP));
	EXPECT_STREQ("http", ef_health_type_name(EF_HEALTH_HTTP));
	EXPECT_STREQ("none", ef_health_type_name(EF_HEALTH_NONE));
}

TEST(CfgServices, NameMustBeNamespaceSlashName)
{
	const char *const bad[] = {
		"web", "a/b/c", "/web", "ns/", "Default/web", "ns/web_1",
		"-ns/web",
	};

	for (const char *name : bad) {
		std::string t = service(std::string("    name = \"") + name +
					"\";\n    cluster_ip = \"10.96.0.1\";\n"
					"    ports = ( { port = 80; } );\n");
		Parsed p;

		SCOPED_TRACE(name);
		parse(&p, t);
		EXPECT_TRUE(one_error(p, 8, "services[0].name: \"" +
				      std::string(name) + "\" is not "
				      "\"namespace/name\""));
	}
}

TEST(CfgServices, DuplicateNameReportsBothLines)
{
	std::string t = with("services = (\n"
			     " { name = \"ns/a\"; cluster_ip = \"10.96.0.1\";"
			     " ports = ( { port = 80; } ); },\n"
			     " { name = \"ns/a\"; cluster_ip = \"10.96.0.2\";"
			     " ports = ( { port = 80; } ); }\n);\n");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(one_error(p, 8, "services[1].name: service \"ns/a\" is "
			      "already defined at line 7"));
}

TEST(CfgServices, LoadBalancerIpsOnlyOnLoadBalancer)
{
	Parsed p;

	parse(&p, service("    name = \"ns/a\";\n"
			  "    type = \"NodePort\";\n"
			  "    load_balancer_ips = [ \"198.51.100.9\" ];\n"
			  "    ports = ( { port = 80; node_port = 30080; } );\n"));
	EXPECT_TRUE(one_error(p, 10, "services[0].load_balancer_ips: only a "
			      "LoadBalancer service has load balancer IPs"));
}

TEST(CfgServices, NodePortOnClusterIpIsAnError)
{
	Parsed p;

	parse(&p, service("    name = \"ns/a\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( { port = 80;\n"
			  "      node_port = 30080; } );\n"));
	EXPECT_TRUE(one_error(p, 11, "services[0].ports[0].node_port: a "
			      "ClusterIP service has no node port"));
}

TEST(CfgServices, HealthCheckNodePortNeedsLocalPolicy)
{
	Parsed p;

	parse(&p, service("    name = \"ns/a\";\n"
			  "    type = \"LoadBalancer\";\n"
			  "    health_check_node_port = 32000;\n"
			  "    ports = ( { port = 80; node_port = 30080; } );\n"));
	EXPECT_TRUE(one_error(p, 10, "services[0].health_check_node_port: "
			      "needs external_traffic_policy Local"));
}

TEST(CfgServices, HeadlessHasNoFrontendAndNeedsClusterIpType)
{
	Parsed a;
	Parsed b;
	struct ef_cfg_summary sum;

	parse(&a, service("    name = \"ns/a\";\n"
			  "    cluster_ip = \"None\";\n"
			  "    ports = ( { port = 80; } );\n"
			  "    endpoints = ( { address = \"10.0.0.5\";"
			  " node = \"n\"; } );\n"));
	ASSERT_NE(nullptr, a.cfg) << a.all();
	EXPECT_EQ(0, a.cfg->services[0].cluster_ip.family);
	ef_cfg_summarize(a.cfg, &sum);
	EXPECT_EQ(1u, sum.services);
	EXPECT_EQ(0u, sum.frontends);
	EXPECT_EQ(1u, sum.endpoints);

	parse(&b, service("    name = \"ns/a\";\n"
			  "    type = \"NodePort\";\n"
			  "    cluster_ip = \"None\";\n"
			  "    ports = ( { port = 80; } );\n"));
	EXPECT_TRUE(one_error(b, 10, "services[0].cluster_ip: \"None\" "
			      "(headless) needs type ClusterIP"));
}

TEST(CfgServices, PortsRequiredAndNamedWhenSeveral)
{
	Parsed a;
	Parsed b;

	parse(&a, service("    name = \"ns/a\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( );\n"));
	EXPECT_TRUE(one_error(a, 10, "services[0].ports: at least one port"));
	parse(&b, service("    name = \"ns/a\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( { name = \"a\"; port = 80; },\n"
			  "      { port = 81; } );\n"));
	EXPECT_TRUE(one_error(b, 11, "services[0].ports[1].name: missing"));
}

TEST(CfgFrontends, SameLoadBalancerIpAndPortInTwoServices)
{
	std::string t = with(
		"services = (\n"
		" { name = \"ns/a\"; type = \"LoadBalancer\";\n"
		"   load_balancer_ips = [ \"198.51.100.9\" ];\n"
		"   ports = ( { port = 443; } ); },\n"
		" { name = \"ns/b\"; type = \"LoadBalancer\";\n"
		"   load_balancer_ips = [ \"198.51.100.9\" ];\n"
		"   ports = ( { name = \"u\"; protocol = \"UDP\"; port = 443; },\n"
		"             { name = \"t\"; port = 443; } ); }\n);\n");
	Parsed p;

	parse(&p, t);
	/* UDP 443 on the same IP is a different frontend: only line 13 */
	EXPECT_TRUE(one_error(p, 13, "services[1].ports[1]: duplicate "
			      "frontend TCP 198.51.100.9:443 "
			      "(load_balancer_ips of \"ns/b\"), already "
			      "claimed at line 9 (load_balancer_ips of "
			      "\"ns/a\")"));
}

TEST(CfgFrontends, SamePortTwiceInOneServiceIsReportedOnce)
{
	Parsed p;

	parse(&p, service("    name = \"ns/a\";\n"
			  "    type = \"LoadBalancer\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    load_balancer_ips = [ \"198.51.100.9\" ];\n"
			  "    ports = ( { name = \"a\"; port = 80; },\n"
			  "      { name = \"b\"; port = 80; } );\n"));
	EXPECT_TRUE(one_error(p, 13, "already claimed at line 12"));
}

TEST(CfgFrontends, NodePortClashesWithLoadBalancerIpOnInterface)
{
	/* the LB IP is the node's own address: its port 30080 is taken */
	std::string t = with(
		"services = (\n"
		" { name = \"ns/a\"; type = \"LoadBalancer\";\n"
		"   load_balancer_ips = [ \"10.0.0.1\" ];\n"
		"   ports = ( { port = 30080; } ); },\n"
		" { name = \"ns/b\"; type = \"NodePort\";"
		" cluster_ip = \"10.96.0.2\";\n"
		"   ports = ( { port = 80; node_port = 30080; } ); }\n);\n");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(one_error(p, 11, "services[1].ports[0]: duplicate frontend "
			      "TCP 10.0.0.1:30080 (node_port of \"ns/b\"), "
			      "already claimed at line 9 (load_balancer_ips "
			      "of \"ns/a\")"));
}

TEST(CfgFrontends, SameNodePortTwiceOnceNotPerInterface)
{
	std::string t = with(
		"services = (\n"
		" { name = \"ns/a\"; type = \"NodePort\";"
		" cluster_ip = \"10.96.0.1\";\n"
		"   ports = ( { port = 80; node_port = 30080; } ); },\n"
		" { name = \"ns/b\"; type = \"NodePort\";"
		" cluster_ip = \"10.96.0.2\";\n"
		"   ports = ( { name = \"t\"; port = 80; node_port = 30080; },\n"
		"     { name = \"u\"; protocol = \"UDP\"; port = 81;"
		" node_port = 30080; } ); }\n);\n");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(one_error(p, 10, "TCP <every interface address>:30080 "
			      "(node_port of \"ns/b\"), already claimed at "
			      "line 8 (node_port of \"ns/a\")"));
}

TEST(CfgFrontends, HealthCheckNodePortClashesWithNodePort)
{
	std::string t = with(
		"services = (\n"
		" { name = \"ns/a\"; type = \"NodePort\";"
		" cluster_ip = \"10.96.0.1\";\n"
		"   ports = ( { port = 80; node_port = 32000; } ); },\n"
		" { name = \"ns/b\"; type = \"LoadBalancer\";"
		" cluster_ip = \"10.96.0.2\";\n"
		"   external_traffic_policy = \"Local\";\n"
		"   health_check_node_port = 32000;\n"
		"   ports = ( { port = 80; node_port = 30001; } ); }\n);\n");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(one_error(p, 11, "services[1].health_check_node_port: "
			      "duplicate frontend TCP <every interface "
			      "address>:32000"));
}

TEST(CfgFrontends, ExternalIpCountsForEveryType)
{
	Parsed p;
	struct ef_cfg_summary sum;

	parse(&p, service("    name = \"ns/a\";\n"
			  "    type = \"NodePort\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    external_ips = [ \"192.0.2.1\", \"192.0.2.2\" ];\n"
			  "    ports = ( { name = \"a\"; port = 80;"
			  " node_port = 30080; },\n"
			  "      { name = \"b\"; port = 443; } );\n"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	ef_cfg_summarize(p.cfg, &sum);
	/* per port 1 cluster + 2 external; port a adds 2 interfaces */
	EXPECT_EQ(8u, sum.frontends);
}

TEST(CfgFrontends, NodePortInsideSnatRangeIsRefused)
{
	Parsed p;

	parse(&p, service("    name = \"ns/a\";\n"
			  "    type = \"NodePort\";\n"
			  "    cluster_ip = \"10.96.0.1\";\n"
			  "    ports = ( { port = 80; node_port = 20000; } );\n"));
	EXPECT_TRUE(one_error(p, 11, "services[0].ports[0].node_port: 20000 "
			      "lies in node.snat_port_range 1024..29999"));
}

TEST(CfgEndpoints, DuplicateAddressReadyTerminatingAndNode)
{
	std::string t = service(
		"    name = \"ns/a\";\n"
		"    cluster_ip = \"10.96.0.1\";\n"
		"    ports = ( { port = 80; } );\n"
		"    endpoints = (\n"
		"      { address = \"10.0.0.5\"; node = \"n\"; },\n"
		"      { address = \"10.0.0.5\"; node = \"n\"; },\n"
		"      { address = \"10.0.0.6\"; node = \"n\";"
		" terminating = true; },\n"
		"      { address = \"10.0.0.7\"; },\n"
		"      { address = \"10.0.0.8\"; node = \"\"; },\n"
		"      { address = \"10.0.0.9\"; node = \"Node_B\"; }\n"
		"    );\n");
	Parsed p;

	parse(&p, t);
	EXPECT_EQ(nullptr, p.cfg);
	EXPECT_EQ(5u, p.errs.size()) << p.all();
	EXPECT_TRUE(has_error(p, 13, "services[0].endpoints[1].address: "
			      "10.0.0.5 is already an endpoint at line 12"));
	EXPECT_TRUE(has_error(p, 14, "services[0].endpoints[2].terminating: "
			      "a ready endpoint is never terminating"));
	EXPECT_TRUE(has_error(p, 15, "services[0].endpoints[3].node: "
			      "missing"));
	EXPECT_TRUE(has_error(p, 16, "services[0].endpoints[4].node: must "
			      "not be empty"));
	EXPECT_TRUE(has_error(p, 17, "\"Node_B\" is not a valid Kubernetes "
			      "node name"));
}

TEST(CfgAddresses, InterfaceAddressRules)
{
	struct Case {
		const char *address;
		const char *what;
	};
	const std::vector<Case> cases = {
		{ "10.0.0.1", " is not an address with a prefix length" },
		{ "10.0.0.0/24", " is the network or broadcast address" },
		{ "10.0.0.255/24", " is the network or broadcast address" },
		{ "10.0.0.1/33", ": prefix length must be 1..32" },
		{ "10.0.0.1/0", ": prefix length must be 1..32" },
		{ "10.0.0.1/x", " is not an address with a prefix length" },
		{ "2001:db8::1/64", ": IPv6 is not supported yet" },
		{ "198.51.100.7/25", " overlaps the subnet of the interface at "
		  "line 3" },
	};

	for (const auto &k : cases) {
		std::string t = std::string("node = { name = \"n\"; };\n"
					    "interfaces = (\n") +
			"  { port = \"a\"; address = \"198.51.100.1/24\"; },\n"
			"  { port = \"b\";\n address = \"" + k.address +
			"\"; }\n);\n";
		Parsed p;

		SCOPED_TRACE(k.address);
		parse(&p, t);
		EXPECT_TRUE(one_error(p, 5, std::string("interfaces[1].address:"
							" \"") + k.address +
				      "\"" + k.what));
	}
}

TEST(CfgAddresses, SlashThirtyOneAndThirtyTwoAreHostAddresses)
{
	Parsed p;

	parse(&p, "node = { name = \"n\"; };\ninterfaces = (\n"
		  "  { port = \"a\"; address = \"192.0.2.0/31\"; },\n"
		  "  { port = \"b\"; address = \"192.0.2.9/32\"; }\n);\n");
	ASSERT_NE(nullptr, p.cfg) << p.all();
	EXPECT_EQ(31, p.cfg->interfaces[0].prefix_len);
}

TEST(CfgAddresses, GatewayAndPortNameOfInterface)
{
	Parsed p;

	parse(&p, "node = { name = \"n\"; };\ninterfaces = (\n"
		  "  { port = \"a\"; address = \"192.0.2.5/24\";\n"
		  "    gateway = \"192.0.3.1\"; },\n"
		  "  { port = \"a\"; address = \"10.0.0.1/24\"; }\n);\n");
	EXPECT_EQ(2u, p.errs.size()) << p.all();
	EXPECT_TRUE(has_error(p, 4, "interfaces[0].gateway: 192.0.3.1 is not "
			      "a host of this interface's subnet"));
	EXPECT_TRUE(has_error(p, 5, "interfaces[1].port: \"a\" is already "
			      "used by the interface at line 3"));
}

TEST(CfgAddresses, OneMistakeInAnInterfaceDoesNotCascade)
{
	/* the interface lacks its port, but its subnet still routes */
	Parsed p;

	parse(&p, "node = { name = \"n\"; };\ninterfaces = (\n"
		  "  { address = \"10.0.0.1/24\"; }\n);\n"
		  "routes = ( { prefix = \"10.9.0.0/16\"; via = \"10.0.0.2\"; } );\n");
	EXPECT_TRUE(one_error(p, 3, "interfaces[0].port: missing"));
}

TEST(CfgAddresses, NodeAndInterfacesAreRequired)
{
	Parsed a;
	Parsed b;
	Parsed c;

	parse(&a, "interfaces = ( { port = \"a\";"
		  " address = \"10.0.0.1/24\"; } );\n");
	ASSERT_EQ(1u, a.errs.size()) << a.all();
	EXPECT_EQ("t.conf: node: missing (node.name is required)", a.errs[0]);
	parse(&b, "node = { name = \"n\"; };\ninterfaces = ( );\n");
	EXPECT_TRUE(one_error(b, 2, "interfaces: at least one interface"));
	parse(&c, "node = {\n snat_addresses = [ ]; };\ninterfaces = ("
		  " { port = \"a\"; address = \"10.0.0.1/24\"; } );\n");
	EXPECT_TRUE(one_error(c, 1, "node.name: missing"));
}

TEST(CfgAddresses, RoutePrefixHostBitsAndNextHop)
{
	Parsed p;
	std::string t = with("routes = (\n"
			     "  { prefix = \"10.244.1.7/24\";"
			     " via = \"10.0.0.2\"; },\n"
			     "  { prefix = \"10.245.0.0/16\";"
			     " via = \"172.16.0.1\"; },\n"
			     "  { prefix = \"0.0.0.0/0\"; via = \"10.0.0.3\"; }\n"
			     ");\n");

	parse(&p, t);
	EXPECT_EQ(2u, p.errs.size()) << p.all();
	EXPECT_TRUE(has_error(p, 7, "routes[0].prefix: \"10.244.1.7/24\" has "
			      "host bits set (the network is 10.244.1.0/24)"));
	EXPECT_TRUE(has_error(p, 8, "routes[1].via: 172.16.0.1 is not a "
			      "neighbour on a connected subnet"));
}

TEST(CfgAddresses, NeighborMacs)
{
	Parsed p;
	std::string t = with("neighbors = (\n"
			     "  { address = \"10.0.0.2\"; mac = \"02:00:00:00:00\"; },\n"
			     "  { address = \"10.0.0.3\"; mac = \"01:00:5e:00:00:01\"; },\n"
			     "  { address = \"10.0.0.4\"; mac = \"02:00:00:00:00:04\"; }\n"
			     ");\n");

	parse(&p, t);
	EXPECT_EQ(2u, p.errs.size()) << p.all();
	EXPECT_TRUE(has_error(p, 7, "neighbors[0].mac: \"02:00:00:00:00\" is "
			      "not a MAC address"));
	EXPECT_TRUE(has_error(p, 8, "is not a unicast MAC address"));
}

TEST(CfgAddresses, SnatAddressesAndPortRange)
{
	Parsed a;
	Parsed b;

	parse(&a, "node = { name = \"n\";\n"
		  " snat_addresses = [ \"10.0.0.1\", \"10.0.0.1\" ];\n"
		  " snat_port_range = [ 5000, 4000 ]; };\n"
		  "interfaces = ( { port = \"a\";"
		  " address = \"10.0.0.1/24\"; } );\n");
	EXPECT_EQ(2u, a.errs.size()) << a.all();
	EXPECT_TRUE(has_error(a, 2, "node.snat_addresses[1]: \"10.0.0.1\" is "
			      "listed twice"));
	EXPECT_TRUE(has_error(a, 3, "node.snat_port_range: min 5000 is above "
			      "max 4000"));
	parse(&b, "node = { name = \"n\";\n snat_port_range = [ 1023,\n"
		  " 2000 ]; };\ninterfaces = ( { port = \"a\";"
		  " address = \"10.0.0.1/24\"; } );\n");
	EXPECT_TRUE(one_error(b, 2, "node.snat_port_range[0]: 1023 is out of "
			      "range (1024..65535)"));
}

TEST(CfgAll, EveryErrorReportedInLineOrder)
{
	std::string t = with("dataplane = { burst = 0; };\n"
			     "conntrack = { max_flows = 1; };\n"
			     "health = { type = \"ping\"; };\n"
			     "services = ( { name = \"bad\"; cluster_ip ="
			     " \"10.96.0.1\"; ports = ( { port = 80; } ); } );\n");
	Parsed p;

	parse(&p, t);
	ASSERT_EQ(4u, p.errs.size()) << p.all();
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(0u, p.errs[(size_t)i].find("t.conf:" +
						     std::to_string(6 + i) +
						     ": "))
			<< p.errs[(size_t)i];
}

/* ---- edge mode: nodes, edge, decap, mode, cluster_forwarding ---- */

const char *const kNodes =
	"nodes = (\n"
	"  { name = \"node-1\"; address = \"10.0.0.11\"; },\n"
	"  { name = \"node-2\"; address = \"10.0.0.12\"; }\n"
	");\n";

/* An edge service body: a LoadBalancer with two endpoints on two nodes. */
std::string
edge_service(const std::string &extra)
{
	return "    name = \"default/web\"; type = \"LoadBalancer\";\n"
	       "    mode = \"edge\"; cluster_ip = \"10.96.0.10\";\n"
	       "    load_balancer_ips = [ \"203.0.113.10\" ];\n"
	       "    external_traffic_policy = \"Local\";\n"
	       "    health_check_node_port = 32000;\n"
	       "    ports = ( { port = 80; target_port = 8080; } );\n"
	       "    endpoints = ( { address = \"10.244.1.5\"; node = \"node-1\"; },\n"
	       "                  { address = \"10.244.2.5\"; node = \"node-2\"; } );\n" +
	       extra;
}

std::string
edge_conf(const std::string &top, const std::string &extra = "")
{
	return with(top + "services = (\n  {\n" + edge_service(extra) +
		    "  }\n);\n");
}

TEST(CfgEdge, DefaultsWithoutTheSections)
{
	Parsed p;

	parse(&p, with(""));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	EXPECT_EQ(0u, p.cfg->n_nodes);
	EXPECT_FALSE(p.cfg->decap.enabled);
	EXPECT_EQ(EF_EDGE_FORWARDING_IPIP, p.cfg->edge.forwarding);
	EXPECT_EQ(6080, p.cfg->edge.gue_port);
	EXPECT_EQ(EF_EDGE_WEIGHTING_ENDPOINTS, p.cfg->edge.weights);
	EXPECT_TRUE(p.cfg->edge.health_check);
	EXPECT_EQ(10256, p.cfg->edge.node_health_port);
	EXPECT_EQ(1000u, p.cfg->edge.interval_ms);
	EXPECT_EQ(500u, p.cfg->edge.timeout_ms);
	EXPECT_EQ(2u, p.cfg->edge.rise);
	EXPECT_EQ(2u, p.cfg->edge.fall);
	EXPECT_EQ(300u, p.cfg->edge.flow_timeout);
}

TEST(CfgEdge, EveryKeyParsed)
{
	Parsed p;

	parse(&p, edge_conf(std::string(kNodes) +
			    "edge = { forwarding = \"gue\"; gue_port = 7000;"
			    " weights = \"equal\"; health_check = true;"
			    " node_health_port = 10257; interval_ms = 200;"
			    " timeout_ms = 100; rise = 3; fall = 4;"
			    " flow_timeout = 60; };\n"
			    "decap = { sources = [ \"10.1.0.0/24\","
			    " \"192.0.2.7\" ]; gue_port = 7001; };\n"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	ASSERT_EQ(2u, p.cfg->n_nodes);
	EXPECT_STREQ("node-2", p.cfg->nodes[1].name);
	EXPECT_EQ("10.0.0.12", addr_str(p.cfg->nodes[1].address));
	EXPECT_EQ(EF_EDGE_FORWARDING_GUE, p.cfg->edge.forwarding);
	EXPECT_EQ(7000, p.cfg->edge.gue_port);
	EXPECT_EQ(EF_EDGE_WEIGHTING_EQUAL, p.cfg->edge.weights);
	EXPECT_EQ(10257, p.cfg->edge.node_health_port);
	EXPECT_EQ(200u, p.cfg->edge.interval_ms);
	EXPECT_EQ(100u, p.cfg->edge.timeout_ms);
	EXPECT_EQ(3u, p.cfg->edge.rise);
	EXPECT_EQ(4u, p.cfg->edge.fall);
	EXPECT_EQ(60u, p.cfg->edge.flow_timeout);
	ASSERT_TRUE(p.cfg->decap.enabled);
	ASSERT_EQ(2u, p.cfg->decap.n_sources);
	EXPECT_EQ("10.1.0.0", addr_str(p.cfg->decap.sources[0].addr));
	EXPECT_EQ(24, p.cfg->decap.sources[0].len);
	EXPECT_EQ(32, p.cfg->decap.sources[1].len);
	EXPECT_EQ(7001, p.cfg->decap.gue_port);
	ASSERT_EQ(1u, p.cfg->n_services);
	EXPECT_EQ(EF_SVC_MODE_EDGE, p.cfg->services[0].mode);
	EXPECT_EQ(EF_CLUSTER_FWD_SNAT, p.cfg->services[0].cluster_forwarding);
	EXPECT_STREQ("edge", ef_svc_mode_name(EF_SVC_MODE_EDGE));
	EXPECT_STREQ("gue", ef_edge_forwarding_name(EF_EDGE_FORWARDING_GUE));
	EXPECT_STREQ("endpoints",
		     ef_edge_weighting_name(EF_EDGE_WEIGHTING_ENDPOINTS));
	EXPECT_STREQ("encap", ef_cluster_fwd_name(EF_CLUSTER_FWD_ENCAP));
	EXPECT_EQ(&p.cfg->nodes[0], ef_cfg_node_find(p.cfg, "node-1"));
	EXPECT_EQ(nullptr, ef_cfg_node_find(p.cfg, "node-9"));
}

TEST(CfgEdge, EdgeServiceWithoutNodes)
{
	std::string t = edge_conf("");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(has_error(p, line_of(t, "mode = \"edge\""),
			      "needs the top-level nodes list")) << p.all();
}

TEST(CfgEdge, EndpointOnANodeNotListed)
{
	std::string t = with(std::string("nodes = ( { name = \"node-1\";"
					 " address = \"10.0.0.11\"; } );\n") +
			     "services = (\n  {\n" + edge_service("") +
			     "  }\n);\n");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(one_error(p, line_of(t, "10.244.2.5"),
			      "node \"node-2\" matches no entry of nodes"));
}

TEST(CfgEdge, EdgeServiceNeedsAnLbAddressAndAProbePort)
{
	std::string t = with(std::string(kNodes) +
			     "services = ( { name = \"default/a\";"
			     " mode = \"edge\"; cluster_ip = \"10.96.0.1\";"
			     " ports = ( { port = 80; } ); } );\n");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(one_error(p, line_of(t, "default/a"),
			      "answers on its load_balancer_ips"));

	std::string u = with(std::string(kNodes) +
			     "services = ( { name = \"default/a\";"
			     " type = \"LoadBalancer\"; mode = \"edge\";"
			     " load_balancer_ips = [ \"203.0.113.1\" ];"
			     " external_traffic_policy = \"Local\";"
			     " ports = ( { port = 80; } ); } );\n");
	Parsed q;

	parse(&q, u);
	EXPECT_TRUE(one_error(q, line_of(u, "default/a"),
			      "health_check_node_port"));
}

TEST(CfgEdge, UnknownWords)
{
	std::string t = edge_conf(std::string(kNodes) +
				  "edge = { forwarding = \"vxlan\";\n"
				  " weights = \"pods\"; };\n",
				  "    cluster_forwarding = \"dnat\";\n");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(has_error(p, line_of(t, "vxlan"),
			      "edge.forwarding: \"vxlan\" is not valid"));
	EXPECT_TRUE(has_error(p, line_of(t, "pods"),
			      "edge.weights: \"pods\" is not valid"));
	EXPECT_TRUE(has_error(p, line_of(t, "dnat"),
			      "cluster_forwarding: \"dnat\" is not valid"));
	EXPECT_EQ(3u, p.errs.size()) << p.all();

	std::string u = edge_conf(kNodes);
	u.replace(u.find("\"edge\""), 6, "\"Edge\"");
	Parsed q;

	parse(&q, u);
	EXPECT_TRUE(one_error(q, line_of(u, "\"Edge\""), "did you mean"));
}

TEST(CfgEdge, DuplicateNodes)
{
	std::string t = with("nodes = (\n"
			     "  { name = \"node-1\"; address = \"10.0.0.11\"; },\n"
			     "  { name = \"node-1\"; address = \"10.0.0.12\"; },\n"
			     "  { name = \"node-3\"; address = \"10.0.0.11\"; },\n"
			     "  { name = \"Node_4\"; address = \"10.0.0.14\"; },\n"
			     "  { name = \"node-5\"; }\n"
			     ");\n");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(has_error(p, 8, "\"node-1\" is already the node at line 7"))
		<< p.all();
	EXPECT_TRUE(has_error(p, 9, "already the address of node \"node-1\""));
	EXPECT_TRUE(has_error(p, 10, "not a valid Kubernetes node name"));
	EXPECT_TRUE(has_error(p, 11, "nodes[4].address: missing"));
	EXPECT_EQ(4u, p.errs.size()) << p.all();
}

TEST(CfgEdge, DecapSources)
{
	Parsed a;

	parse(&a, with("decap = { gue_port = 6080; };\n"));
	EXPECT_TRUE(one_error(a, 6, "decap.sources: missing"));

	Parsed b;

	parse(&b, with("decap = { sources = [ ]; };\n"));
	EXPECT_TRUE(one_error(b, 6, "decap.sources: must not be empty"));

	Parsed c;

	parse(&c, with("decap = { sources = [ \"10.1.0.1/24\" ]; };\n"));
	EXPECT_TRUE(one_error(c, 6, "has host bits set (did you mean "
			      "\"10.1.0.0/24\"?)"));

	Parsed d;

	parse(&d, with("decap = { sources = [ \"10.1.0.0/33\", \"x\","
		       " \"10.2.0.0/16\", \"10.2.0.0/16\" ]; };\n"));
	EXPECT_TRUE(has_error(d, 6, "decap.sources[0]: \"10.1.0.0/33\" is "
			      "not a prefix"));
	EXPECT_TRUE(has_error(d, 6, "decap.sources[1]"));
	EXPECT_TRUE(has_error(d, 6, "decap.sources[3]: \"10.2.0.0/16\" is "
			      "listed twice"));
	EXPECT_EQ(3u, d.errs.size()) << d.all();

	Parsed e;

	parse(&e, with("decap = { sources = [ \"0.0.0.0/0\" ]; };\n"));
	ASSERT_NE(nullptr, e.cfg) << e.all();
	EXPECT_EQ(0, e.cfg->decap.sources[0].len);
}

/* An IPv6 underlay's sources: ip6ip6 / IPv4-in-IPv6 / GUE over IPv6 from
 * IPv6 peers (docs/EDGE.md "IPv6 underlay"). */
TEST(CfgEdge, DecapSourcesIpv6)
{
	Parsed a;

	parse(&a, with("decap = { sources = [ \"10.1.0.0/24\","
		       " \"fd00:1::/64\", \"2001:db8::7\", \"::/0\" ]; };\n"));
	ASSERT_NE(nullptr, a.cfg) << a.all();
	ASSERT_EQ(4u, a.cfg->decap.n_sources);
	EXPECT_EQ("fd00:1::", addr_str(a.cfg->decap.sources[1].addr));
	EXPECT_EQ(64, a.cfg->decap.sources[1].len);
	EXPECT_EQ("2001:db8::7", addr_str(a.cfg->decap.sources[2].addr));
	EXPECT_EQ(128, a.cfg->decap.sources[2].len);
	EXPECT_EQ(0, a.cfg->decap.sources[3].len);

	Parsed b;

	parse(&b, with("decap = { sources = [ \"fd00:1::1/64\","
		       " \"fd00:1::/129\", \"fd00:2::/63\", \"fd00:2::/63\","
		       " \"fd00:3::8/125\", \"fd00::zz\" ]; };\n"));
	EXPECT_TRUE(has_error(b, 6, "decap.sources[0]: \"fd00:1::1/64\" has "
			      "host bits set (did you mean \"fd00:1::/64\"?)"))
		<< b.all();
	EXPECT_TRUE(has_error(b, 6, "decap.sources[1]: \"fd00:1::/129\" is "
			      "not a prefix"));
	EXPECT_TRUE(has_error(b, 6, "decap.sources[3]: \"fd00:2::/63\" is "
			      "listed twice"));
	EXPECT_TRUE(has_error(b, 6, "decap.sources[5]: \"fd00::zz\" is not "
			      "an IP address"));
	EXPECT_EQ(4u, b.errs.size()) << b.all();
}

TEST(CfgEdge, EdgeNumbers)
{
	std::string t = with("edge = { gue_port = 0; node_health_port = 70000;\n"
			     " interval_ms = 200; timeout_ms = 300;\n"
			     " flow_timeout = 0; rise = 0; colour = 1; };\n");
	Parsed p;

	parse(&p, t);
	EXPECT_TRUE(has_error(p, 6, "edge.gue_port: 0 is out of range"))
		<< p.all();
	EXPECT_TRUE(has_error(p, 6, "edge.node_health_port: 70000"));
	EXPECT_TRUE(has_error(p, 7, "timeout_ms 300 is longer than "
			      "interval_ms 200"));
	EXPECT_TRUE(has_error(p, 8, "edge.flow_timeout"));
	EXPECT_TRUE(has_error(p, 8, "edge.rise"));
	EXPECT_TRUE(has_error(p, 8, "colour"));
}

TEST(CfgEdge, ClusterForwardingEncap)
{
	std::string body =
		"    name = \"default/c\"; type = \"LoadBalancer\";\n"
		"    load_balancer_ips = [ \"203.0.113.20\" ];\n"
		"    cluster_forwarding = \"encap\";\n"
		"    ports = ( { port = 80; } );\n"
		"    endpoints = ( { address = \"10.244.1.5\"; node = \"node-1\"; } );\n";
	Parsed p;

	parse(&p, with(std::string(kNodes) + "services = (\n  {\n" + body +
		       "  }\n);\n"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	EXPECT_EQ(EF_SVC_MODE_PROXY, p.cfg->services[0].mode);
	EXPECT_EQ(EF_CLUSTER_FWD_ENCAP, p.cfg->services[0].cluster_forwarding);

	std::string t = service(body);
	Parsed q;

	parse(&q, t);
	EXPECT_TRUE(one_error(q, line_of(t, "\"encap\""),
			      "needs the top-level nodes list"));

	std::string u = edge_conf(kNodes, "    cluster_forwarding = \"encap\";\n");
	Parsed r;

	parse(&r, u);
	EXPECT_TRUE(one_error(r, line_of(u, "\"encap\""),
			      "applies to proxy-mode services"));
}

} /* namespace */

/* ===================== IPv6 (issue 12): interfaces, routes, SNAT ===================== */

namespace {

const char *const kDual =
	"node = { name = \"node-a\"; };\n"					/* 1 */
	"interfaces = (\n"							/* 2 */
	"  { port = \"net_tap0\";\n"						/* 3 */
	"    addresses = [ \"198.51.100.1/24\", \"2001:db8:1::1/64\" ];\n"	/* 4 */
	"    gateways = [ \"198.51.100.254\", \"fe80::1\" ]; },\n"		/* 5 */
	"  { port = \"net_tap1\";\n"						/* 6 */
	"    addresses = [ \"fd00::1/64\", \"10.0.0.1/24\" ]; }\n"		/* 7 */
	");\n";									/* 8 */

} /* namespace */

TEST(Cfg6, DualStackInterfacesAndDefaults)
{
	Parsed p;
	char b[EF_ADDR_STRLEN];

	parse(&p, kDual);
	ASSERT_NE(nullptr, p.cfg) << p.all();
	const struct ef_cfg_interface *i0 = &p.cfg->interfaces[0];
	const struct ef_cfg_interface *i1 = &p.cfg->interfaces[1];
	/* the IPv4 half is what address/gateway gave before */
	EXPECT_STREQ("198.51.100.1", ef_addr_fmt(&i0->address, b, sizeof(b)));
	EXPECT_EQ(24, i0->prefix_len);
	EXPECT_STREQ("198.51.100.254", ef_addr_fmt(&i0->gateway, b, sizeof(b)));
	EXPECT_STREQ("2001:db8:1::1", ef_addr_fmt(&i0->address6, b, sizeof(b)));
	EXPECT_EQ(64, i0->prefix_len6);
	EXPECT_STREQ("fe80::1", ef_addr_fmt(&i0->gateway6, b, sizeof(b)));
	EXPECT_STREQ("10.0.0.1", ef_addr_fmt(&i1->address, b, sizeof(b)));
	EXPECT_STREQ("fd00::1", ef_addr_fmt(&i1->address6, b, sizeof(b)));
	EXPECT_EQ(0, i1->gateway6.family);
	/* SNAT: the internal interface's address in each family */
	ASSERT_EQ(1u, p.cfg->n_snat_addresses);
	EXPECT_STREQ("10.0.0.1",
		     ef_addr_fmt(&p.cfg->snat_addresses[0], b, sizeof(b)));
	EXPECT_STREQ("fd00::1", ef_addr_fmt(&p.cfg->snat_address6, b, sizeof(b)));
}

TEST(Cfg6, Ipv4OnlyModelHasNoIpv6)
{
	Parsed p;

	parse(&p, kBase);
	ASSERT_NE(nullptr, p.cfg) << p.all();
	for (uint32_t i = 0; i < p.cfg->n_interfaces; i++) {
		EXPECT_EQ(0, p.cfg->interfaces[i].address6.family);
		EXPECT_EQ(0, p.cfg->interfaces[i].prefix_len6);
		EXPECT_EQ(0, p.cfg->interfaces[i].gateway6.family);
	}
	EXPECT_EQ(0, p.cfg->snat_address6.family);
}

TEST(Cfg6, InterfaceListFormMistakes)
{
	struct {
		const char *iface;
		const char *what;
	} cases[] = {
		{ "addresses = [ \"10.0.0.1/24\", \"10.0.1.1/24\" ];",
		  "interfaces[0].addresses[1]: \"10.0.1.1/24\": a second IPv4 "
		  "address (one per family)" },
		{ "addresses = [ \"10.0.0.1/24\", \"fd00::1/64\", \"fd01::1/64\" ];",
		  "interfaces[0].addresses: one address per family (1 or 2), "
		  "not 3" },
		{ "addresses = [ \"10.0.0.1/24\", \"fd00::1/129\" ];",
		  "interfaces[0].addresses[1]: \"fd00::1/129\": prefix length "
		  "must be 1..128" },
		{ "addresses = [ \"10.0.0.1/24\", \"fd00::1/0\" ];",
		  "interfaces[0].addresses[1]: \"fd00::1/0\": prefix length "
		  "must be 1..128" },
		{ "addresses = [ \"fd00::1/64\" ];",
		  "interfaces[0].addresses: an IPv6-only interface is not "
		  "supported yet" },
		{ "address = \"10.0.0.1/24\"; addresses = [ \"fd00::1/64\" ];",
		  "interfaces[0].addresses: give \"address\" or \"addresses\", "
		  "not both" },
		{ "addresses = [ \"10.0.0.1/24\", \"fd00::1/64\" ]; "
		  "gateways = [ \"fd01::1\" ];",
		  "interfaces[0].gateways[0]: fd01::1 is not on this "
		  "interface's IPv6 subnet (nor link-local)" },
		{ "addresses = [ \"10.0.0.1/24\", \"fd00::1/64\" ]; "
		  "gateways = [ \"fd00::1\" ];",
		  "interfaces[0].gateways[0]: fd00::1 is the interface's own "
		  "address" },
		{ "address = \"10.0.0.1/24\"; gateway = \"fd00::9\";",
		  "interfaces[0].gateway: fd00::9: the interface has no IPv6 "
		  "address" },
		{ "addresses = [ \"10.0.0.1/24\", \"fd00::1/64\" ]; "
		  "gateways = [ \"10.0.0.9\", \"10.0.0.8\" ];",
		  "interfaces[0].gateways[1]: \"10.0.0.8\": a second IPv4 "
		  "gateway (one per family)" },
		{ "addresses = [ \"10.0.0.1/24\", \"fd00::1/64\" ]; "
		  "gateways = [ \"10.1.0.9\" ];",
		  "interfaces[0].gateways[0]: 10.1.0.9 is not a host of this "
		  "interface's subnet" },
		{ "address = \"10.0.0.1/24\"; gateway = \"10.0.0.9\"; "
		  "gateways = [ \"10.0.0.8\" ];",
		  "interfaces[0].gateways: give \"gateway\" or \"gateways\", "
		  "not both" },
	};

	for (const auto &k : cases) {
		Parsed p;

		parse(&p, std::string("node = { name = \"n\"; };\n"
				      "interfaces = (\n  { port = \"a\"; ") +
			  k.iface + " }\n);\n");
		EXPECT_TRUE(one_error(p, 3, k.what)) << k.iface;
	}
}

TEST(Cfg6, Ipv6SubnetsMustNotOverlap)
{
	Parsed p;

	parse(&p, "node = { name = \"n\"; };\ninterfaces = (\n"
		  "  { port = \"a\"; addresses = [ \"10.0.0.1/24\", "
		  "\"fd00::1/48\" ]; },\n"
		  "  { port = \"b\"; addresses = [ \"10.0.1.1/24\", "
		  "\"fd00:0:0:1::1/64\" ]; }\n);\n");
	EXPECT_TRUE(one_error(p, 4, "interfaces[1].addresses[1]: "
			      "\"fd00:0:0:1::1/64\" overlaps the IPv6 subnet "
			      "of the interface at line 3"));
}

TEST(Cfg6, RoutesAndNeighborsPerFamily)
{
	Parsed p;

	parse(&p, std::string(kDual) +
		  "routes = (\n"						/* 9 */
		  "  { prefix = \"fd00:10:244::/48\"; via = \"fd00::2\"; },\n"	/* 10 */
		  "  { prefix = \"10.244.0.0/16\"; via = \"10.0.0.2\"; }\n"	/* 11 */
		  ");\n"							/* 12 */
		  "neighbors = ( { address = \"fd00::2\"; "
		  "mac = \"02:00:00:00:00:02\"; } );\n");			/* 13 */
	ASSERT_NE(nullptr, p.cfg) << p.all();
	ASSERT_EQ(2u, p.cfg->n_routes);
	EXPECT_EQ(EF_AF_INET6, p.cfg->routes[0].prefix.family);
	EXPECT_EQ(48, p.cfg->routes[0].prefix_len);
	EXPECT_EQ(EF_AF_INET6, p.cfg->routes[0].via.family);
	EXPECT_EQ(EF_AF_INET4, p.cfg->routes[1].prefix.family);
	ASSERT_EQ(1u, p.cfg->n_neighbors);
	EXPECT_EQ(EF_AF_INET6, p.cfg->neighbors[0].address.family);

	struct {
		const char *route;
		const char *what;
	} cases[] = {
		{ "prefix = \"fd00:10:244::/129\"; via = \"fd00::2\";",
		  "routes[0].prefix: \"fd00:10:244::/129\": prefix length must "
		  "be 0..128" },
		{ "prefix = \"fd00:10:244::1/48\"; via = \"fd00::2\";",
		  "routes[0].prefix: \"fd00:10:244::1/48\" has host bits set" },
		{ "prefix = \"fd00:10:244::/48\"; via = \"10.0.0.2\";",
		  "routes[0].via: 10.0.0.2 is not of the prefix's family" },
		{ "prefix = \"10.244.0.0/16\"; via = \"fd00::2\";",
		  "routes[0].via: fd00::2 is not of the prefix's family" },
		{ "prefix = \"fd00:10:244::/48\"; via = \"fd09::2\";",
		  "routes[0].via: fd09::2 is not a neighbour on a connected "
		  "subnet" },
		{ "prefix = \"::/0\"; via = \"fd00::1\";",
		  "routes[0].via: fd00::1 is not a neighbour on a connected "
		  "subnet" },
	};
	for (const auto &k : cases) {
		Parsed q;

		parse(&q, std::string(kDual) + "routes = ( { " + k.route +
			  " } );\n");
		EXPECT_TRUE(one_error(q, 9, k.what)) << k.route;
	}
}

TEST(Cfg6, SnatOnePerFamily)
{
	struct {
		const char *snat;
		const char *what;
	} bad[] = {
		{ "\"10.0.0.1\", \"fd00::1\", \"fd00::2\"",
		  "node.snat_addresses: 2 IPv6 addresses (one per family)" },
		{ "\"fd00::1\"",
		  "node.snat_addresses: an IPv4 address is required too" },
	};
	for (const auto &k : bad) {
		Parsed p;
		std::string text = kDual;

		text.replace(text.find("node = { name = \"node-a\"; };"),
			     strlen("node = { name = \"node-a\"; };"),
			     std::string("node = { name = \"node-a\"; "
					 "snat_addresses = [ ") + k.snat +
			     " ]; };");
		parse(&p, text);
		EXPECT_TRUE(one_error(p, 1, k.what)) << k.snat;
	}
	Parsed p;
	parse(&p, "node = { name = \"n\"; snat_addresses = [ \"10.0.0.1\", "
		  "\"fd00::5\" ]; };\n"
		  "interfaces = ( { port = \"a\"; address = \"10.0.0.1/24\"; } );\n");
	EXPECT_TRUE(one_error(p, 1, "node.snat_addresses: an IPv6 address, but "
			      "no interface has one"));
	Parsed q;
	char b[EF_ADDR_STRLEN];
	std::string text = kDual;
	text.replace(0, strlen("node = { name = \"node-a\"; };"),
		     "node = { name = \"node-a\"; snat_addresses = "
		     "[ \"10.0.0.1\", \"10.0.0.7\", \"fd00::7\" ]; };");
	parse(&q, text);
	ASSERT_NE(nullptr, q.cfg) << q.all();
	EXPECT_EQ(2u, q.cfg->n_snat_addresses);
	EXPECT_STREQ("fd00::7", ef_addr_fmt(&q.cfg->snat_address6, b, sizeof(b)));
}

/* Services per family: ip_families, cluster_ips, *6 arrays (issue 12). */
namespace {

std::string
dual_service(const std::string &body)
{
	return std::string(kDual) + "services = (\n  {\n" + body +	/* 9, 10 */
		"  }\n);\n";
}

} /* namespace */

TEST(Cfg6, DualStackServiceKeepsEachFamilyApart)
{
	Parsed p;
	char b[EF_ADDR_STRLEN];

	parse(&p, dual_service(
		"    name = \"ns/a\"; type = \"LoadBalancer\";\n"		/* 11 */
		"    ip_families = [ \"IPv6\", \"IPv4\" ];\n"			/* 12 */
		"    cluster_ips = [ \"10.96.0.10\", \"fd00:96::10\" ];\n"	/* 13 */
		"    load_balancer_ips = [ \"2001:db8:1::10\", \"198.51.100.10\" ];\n"
		"    external_ips = [ \"2001:db8:1::11\" ];\n"
		"    ports = ( { port = 80; } );\n"
		"    endpoints = ( { address = \"10.244.0.5\"; node = \"node-a\"; },\n"
		"                  { address = \"fd00:244::5\"; node = \"node-a\"; },\n"
		"                  { address = \"fd00:244::6\"; node = \"node-b\"; } );\n"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	const struct ef_cfg_service *s = &p.cfg->services[0];
	ASSERT_EQ(2u, s->n_ip_families);
	EXPECT_EQ(EF_AF_INET6, s->ip_families[0]);	/* the primary first */
	EXPECT_EQ(EF_AF_INET4, s->ip_families[1]);
	EXPECT_STREQ("10.96.0.10", ef_addr_fmt(&s->cluster_ip, b, sizeof(b)));
	EXPECT_STREQ("fd00:96::10", ef_addr_fmt(&s->cluster_ip6, b, sizeof(b)));
	ASSERT_EQ(1u, s->n_load_balancer_ips);
	EXPECT_STREQ("198.51.100.10",
		     ef_addr_fmt(&s->load_balancer_ips[0], b, sizeof(b)));
	ASSERT_EQ(1u, s->n_load_balancer_ips6);
	EXPECT_STREQ("2001:db8:1::10",
		     ef_addr_fmt(&s->load_balancer_ips6[0], b, sizeof(b)));
	EXPECT_EQ(0u, s->n_external_ips);
	ASSERT_EQ(1u, s->n_external_ips6);
	/* an IPv4 user sees only IPv4 endpoints where it always did */
	ASSERT_EQ(1u, s->n_endpoints);
	EXPECT_STREQ("10.244.0.5",
		     ef_addr_fmt(&s->endpoints[0].address, b, sizeof(b)));
	ASSERT_EQ(2u, s->n_endpoints6);
	EXPECT_STREQ("fd00:244::6",
		     ef_addr_fmt(&s->endpoints6[1].address, b, sizeof(b)));
	EXPECT_STREQ("node-b", s->endpoints6[1].node);
}

TEST(Cfg6, FamiliesDefaultFromTheAddressesGiven)
{
	struct {
		const char *body;
		std::vector<uint8_t> want;
	} cases[] = {
		{ "cluster_ip = \"10.96.0.1\";", { EF_AF_INET4 } },
		{ "cluster_ip = \"fd00:96::1\";", { EF_AF_INET6 } },
		{ "cluster_ips = [ \"fd00:96::1\", \"10.96.0.1\" ];",
		  { EF_AF_INET4, EF_AF_INET6 } },
		{ "endpoints = ( { address = \"fd00::5\"; node = \"node-a\"; } );",
		  { EF_AF_INET6 } },
		{ "", { EF_AF_INET4 } },	/* nothing given: IPv4, as before */
	};
	for (const auto &k : cases) {
		Parsed p;

		parse(&p, dual_service(std::string("    name = \"ns/a\";\n"
						   "    ports = ( { port = 80; } );\n    ") +
				       k.body + "\n"));
		ASSERT_NE(nullptr, p.cfg) << k.body << "\n" << p.all();
		const struct ef_cfg_service *s = &p.cfg->services[0];
		ASSERT_EQ(k.want.size(), s->n_ip_families) << k.body;
		for (size_t i = 0; i < k.want.size(); i++)
			EXPECT_EQ(k.want[i], s->ip_families[i]) << k.body;
		EXPECT_EQ(k.want.size() == 2 || k.want[0] == EF_AF_INET6,
			  ef_cfg_serves(s, EF_AF_INET6)) << k.body;
	}
}

TEST(Cfg6, FamilyMistakesAreErrors)
{
	struct {
		const char *body;	/* line 12 */
		const char *what;
	} cases[] = {
		{ "ip_families = [ \"IPv4\" ]; endpoints = ( { address = "
		  "\"fd00::5\"; node = \"node-a\"; } );",
		  "services[0].ip_families: the service has IPv6 addresses or "
		  "endpoints but does not serve IPv6" },
		{ "ip_families = [ \"IPv6\" ]; cluster_ip = \"10.96.0.1\";",
		  "services[0].ip_families: the service has IPv4 addresses or "
		  "endpoints but does not serve IPv4" },
		{ "ip_families = [ \"IPv6\", \"IPv6\" ];",
		  "services[0].ip_families[1]: \"IPv6\" is listed twice" },
		{ "ip_families = [ \"inet6\" ];",
		  "services[0].ip_families[0]: \"inet6\" is not a family "
		  "(expected \"IPv4\" or \"IPv6\")" },
		{ "ip_families = [ ];",
		  "services[0].ip_families: one or two families" },
		{ "ip_families = \"IPv6\";",
		  "services[0].ip_families: must be an array of \"IPv4\" and/or "
		  "\"IPv6\"" },
		{ "cluster_ips = [ \"fd00::1\", \"fd00::2\" ];",
		  "services[0].cluster_ips: at most one address per family" },
		{ "cluster_ip = \"10.96.0.1\"; cluster_ips = [ \"10.96.0.2\" ];",
		  "services[0].cluster_ips: its IPv4 address differs from "
		  "cluster_ip" },
		{ "cluster_ip = \"fd00:96::zz\";",
		  "services[0].cluster_ip: \"fd00:96::zz\" is not an IP address" },
		{ "endpoints = ( { address = \"fd00::5\"; node = \"node-a\"; },\n"
		  "{ address = \"fd00:0::5\"; node = \"node-a\"; } );",
		  "is already an endpoint at line 12" },
	};
	for (const auto &k : cases) {
		Parsed p;
		std::string body = std::string("    name = \"ns/a\";\n") +	/* 10 */
			"    " + k.body + "\n    ports = ( { port = 80; } );\n";

		parse(&p, dual_service(body));
		int line = strstr(k.what, "already an endpoint") != nullptr ?
			13 : 12;
		EXPECT_TRUE(one_error(p, line, k.what)) << k.body;
	}
}

TEST(Cfg6, ProxyProtocolOnADualStackService)
{
	Parsed p;

	parse(&p, dual_service(
		"    name = \"ns/a\"; cluster_ips = [ \"10.96.0.1\", \"fd00:96::1\" ];\n"
		"    ports = ( { port = 80; proxy_protocol = \"v2\"; } );\n"));
	ASSERT_NE(nullptr, p.cfg) << p.all();
	EXPECT_EQ(EF_PROXY_V2, p.cfg->services[0].ports[0].proxy_protocol);
}

TEST(Cfg6, EdgeModeServesIpv6OverIpv4Nodes)
{
	Parsed p;

	parse(&p, std::string(kDual) +
	      "nodes = ( { name = \"node-a\"; address = \"10.0.0.2\"; } );\n"	/* 9 */
	      "services = (\n"							/* 10 */
	      "  { name = \"ns/e\"; type = \"LoadBalancer\"; mode = \"edge\";\n"	/* 11 */
	      "    ip_families = [ \"IPv4\", \"IPv6\" ];\n"
	      "    load_balancer_ips = [ \"203.0.113.10\", \"2001:db8:1::10\" ];\n"
	      "    external_traffic_policy = \"Local\"; health_check_node_port = 32000;\n"
	      "    ports = ( { port = 80; } );\n"
	      "    endpoints = ( { address = \"10.244.1.5\"; node = \"node-a\"; },\n"
	      "                  { address = \"fd00:244:1::5\"; node = \"node-a\"; } ); }\n);\n");
	ASSERT_NE(nullptr, p.cfg) << p.all();
	EXPECT_EQ(EF_SVC_MODE_EDGE, p.cfg->services[0].mode);
	EXPECT_EQ(1u, p.cfg->services[0].n_load_balancer_ips6);
}

/* A node may be reached at an IPv6 address (ip6ip6, IPv4-in-IPv6, GUE
 * over IPv6 from the edge), beside IPv4 ones; RFC 5952 is how it is
 * kept, and an IPv4 node and an IPv6 one are different addresses. */
TEST(Cfg6, EdgeNodesMayBeIpv6)
{
	Parsed p;
	char b[EF_ADDR_STRLEN];

	parse(&p, std::string(kDual) +
	      "nodes = ( { name = \"node-a\"; address = \"fd00:0:0::2\"; },\n"
	      "          { name = \"node-b\"; address = \"10.0.0.2\"; } );\n");
	ASSERT_NE(nullptr, p.cfg) << p.all();
	ASSERT_EQ(2u, p.cfg->n_nodes);
	EXPECT_EQ(EF_AF_INET6, p.cfg->nodes[0].address.family);
	EXPECT_STREQ("fd00::2", ef_addr_fmt(&p.cfg->nodes[0].address, b,
					    sizeof(b)));
	EXPECT_EQ(EF_AF_INET4, p.cfg->nodes[1].address.family);
}

/* What is no node's address: each refusal names why, on its line. */
TEST(Cfg6, EdgeNodeAddressesRefused)
{
	static const struct {
		const char *addr;
		const char *why;
	} cases[] = {
		{ "0.0.0.7", "in 0.0.0.0/8" },
		{ "127.0.0.2", "a loopback address" },
		{ "224.0.0.5", "a multicast or reserved address" },
		{ "255.255.255.255", "a multicast or reserved address" },
		{ "ff02::1", "a multicast address" },
		{ "fe80::2", "link-local" },
		{ "::", "the unspecified or loopback address" },
		{ "::1", "the unspecified or loopback address" },
		{ "::ffff:10.0.0.2", "IPv4-mapped" },
	};

	for (const auto &c : cases) {
		Parsed p;

		parse(&p, std::string(kDual) + "nodes = ( { name = \"n\"; "
		      "address = \"" + c.addr + "\"; } );\n");	/* 9 */
		EXPECT_TRUE(one_error(p, 9, std::string("nodes[0].address: \"") +
				      c.addr + "\" is " + c.why)) << p.all();
	}
	/* the same address twice is refused in either family */
	{
		Parsed p;

		parse(&p, std::string(kDual) +
		      "nodes = ( { name = \"a\"; address = \"fd00::2\"; },\n"
		      "  { name = \"b\"; address = \"fd00:0::2\"; } );\n");
		EXPECT_TRUE(one_error(p, 10, "nodes[1].address: fd00:0::2 is "
				      "already the address of node \"a\""))
			<< p.all();
	}
}

/* An IPv6 node needs an IPv6 interface address to send from. */
TEST(Cfg6, Ipv6NodeNeedsAnIpv6Interface)
{
	Parsed p;

	parse(&p, with("nodes = ( { name = \"a\"; address = "
			    "\"fd00::2\"; } );\n"));		/* 6 */
	EXPECT_TRUE(one_error(p, 6, "nodes[0].address: \"fd00::2\" is IPv6, "
			      "but no interface has an IPv6 address"))
		<< p.all();
}

/* A reload keeps libconfig's tree until the new generation runs. */
TEST(CfgKeepTree, KeptUntilReleasedThenTheModelIsUnchanged)
{
	struct ef_cfg_errors errs = {};
	struct ef_cfg *a = ef_cfg_load(conf_path("edgefwd.conf").c_str(), &errs);
	struct ef_cfg *b = ef_cfg_load_keep_tree(conf_path("edgefwd.conf").c_str(),
						 &errs);

	ASSERT_EQ(0u, errs.n);
	ASSERT_NE(nullptr, a);
	ASSERT_NE(nullptr, b);
	EXPECT_EQ(nullptr, a->parse_tree);
	EXPECT_NE(nullptr, b->parse_tree);
	ef_cfg_release_tree(b);
	EXPECT_EQ(nullptr, b->parse_tree);
	ef_cfg_release_tree(b);		/* twice is fine */
	ef_cfg_release_tree(nullptr);
	/* the model does not depend on the tree */
	ASSERT_EQ(a->n_services, b->n_services);
	for (uint32_t i = 0; i < a->n_services; i++) {
		EXPECT_STREQ(a->services[i].name, b->services[i].name);
		EXPECT_EQ(a->services[i].n_endpoints,
			  b->services[i].n_endpoints);
	}
	ef_cfg_free(a);
	ef_cfg_free(b);
	/* freed with the model when never released (ASan: no leak) */
	b = ef_cfg_load_keep_tree(conf_path("edgefwd.conf").c_str(), &errs);
	ASSERT_NE(nullptr, b);
	EXPECT_NE(nullptr, b->parse_tree);
	ef_cfg_free(b);
	/* a file with errors: NULL, nothing kept */
	EXPECT_EQ(nullptr, ef_cfg_load_keep_tree(
		conf_path("bad/syntax.conf").c_str(), &errs));
	EXPECT_GT(errs.n, 0u);
	ef_cfg_errors_clear(&errs);
}

/* Thousands of names alike but for their tail (as a cluster's are): the
 * duplicate is still found, with the line of the first one. */
TEST(CfgNames, DuplicateAmongManySimilarNames)
{
	std::string s = "services = (\n";	/* line 6 */
	const int n = 3000;

	for (int i = 0; i < n; i++)
		s += "  { name = \"ns0/svc-" + std::to_string(i) +
		     "\"; cluster_ip = \"10.96." + std::to_string(i / 250) +
		     "." + std::to_string(i % 250 + 1) +
		     "\"; ports = ( { port = 80; } ); },\n";
	s += "  { name = \"ns0/svc-1234\"; cluster_ip = \"10.97.0.1\"; "
	     "ports = ( { port = 80; } ); }\n);\n";
	Parsed p;
	parse(&p, with(s));
	ASSERT_EQ(nullptr, p.cfg);
	ASSERT_EQ(1u, p.errs.size()) << p.all();
	EXPECT_NE(std::string::npos,
		  p.errs[0].find("t.conf:" + std::to_string(6 + n + 1) +
				 ": services[3000].name: service "
				 "\"ns0/svc-1234\" is already defined at line " +
				 std::to_string(6 + 1234 + 1)))
		<< p.all();
}
