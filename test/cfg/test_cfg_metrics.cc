/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics = { listen = [ "ADDR:PORT", ... ]; } (lib/cfg/cfg_parse_metrics.c) */
#include <arpa/inet.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ef_cfg.h"

namespace {

const char *const kBase =
	"node = { name = \"node-a\"; };\n"				/* 1 */
	"interfaces = (\n"						/* 2 */
	"  { port = \"net_tap0\"; address = \"198.51.100.1/24\"; },\n"	/* 3 */
	"  { port = \"net_tap1\"; address = \"10.0.0.1/24\"; }\n"	/* 4 */
	");\n";								/* 5 */

struct Result {
	struct ef_cfg *cfg = nullptr;
	std::vector<std::string> errs;

	explicit Result(const std::string &text)
	{
		struct ef_cfg_errors e = {};

		cfg = ef_cfg_parse_string((std::string(kBase) + text).c_str(),
					  "t.conf", &e);
		for (uint32_t i = 0; i < e.n; i++)
			errs.push_back(e.msgs[i]);
		ef_cfg_errors_clear(&e);
	}
	Result(const Result &) = delete;
	Result &operator=(const Result &) = delete;
	~Result() { ef_cfg_free(cfg); }
};

::testing::AssertionResult
one_error(const Result &r, int line, const std::string &what)
{
	std::string prefix = "t.conf:" + std::to_string(line) + ": ";

	if (r.cfg != nullptr)
		return ::testing::AssertionFailure() << "model returned";
	if (r.errs.size() != 1)
		return ::testing::AssertionFailure() << r.errs.size()
						     << " errors";
	if (r.errs[0].compare(0, prefix.size(), prefix) != 0 ||
	    r.errs[0].find(what) == std::string::npos)
		return ::testing::AssertionFailure() << "got " << r.errs[0];
	return ::testing::AssertionSuccess();
}

TEST(CfgMetrics, AbsentMeansNoListener)
{
	Result r("");

	ASSERT_NE(r.cfg, nullptr);
	EXPECT_EQ(r.cfg->n_metrics_listen, 0u);
}

TEST(CfgMetrics, InterfaceAndLoopbackAddresses)
{
	Result r("metrics = { listen = [ \"10.0.0.1:9180\", "
		 "\"198.51.100.1:9180\", \"127.0.0.1:9181\" ]; };\n");

	ASSERT_NE(r.cfg, nullptr) << (r.errs.empty() ? "" : r.errs[0]);
	ASSERT_EQ(r.cfg->n_metrics_listen, 3u);
	EXPECT_EQ(r.cfg->metrics_listen[0].address.v4, inet_addr("10.0.0.1"));
	EXPECT_EQ(r.cfg->metrics_listen[0].port, 9180);
	EXPECT_EQ(r.cfg->metrics_listen[0].line, 6);
	EXPECT_EQ(r.cfg->metrics_listen[2].address.v4, inet_addr("127.0.0.1"));
	EXPECT_EQ(r.cfg->metrics_listen[2].port, 9181);
}

TEST(CfgMetrics, EmptyListIsAllowed)
{
	Result r("metrics = { listen = [ ]; };\n");

	ASSERT_NE(r.cfg, nullptr);
	EXPECT_EQ(r.cfg->n_metrics_listen, 0u);
}

TEST(CfgMetrics, MistakesNameTheElementAndLine)
{
	static const struct {
		const char *value;
		const char *what;
	} cases[] = {
		{ "\"10.0.0.1\"", "metrics.listen[0]: \"10.0.0.1\" is not ADDR:PORT" },
		{ "\"10.0.0.1:\"", "is not ADDR:PORT" },
		{ "\":9180\"", "is not ADDR:PORT" },
		{ "\"10.0.0.300:9180\"", "is not an IP address" },
		{ "\"10.0.0.1:0\"", "port \"0\" is not 1..65535" },
		{ "\"10.0.0.1:65536\"", "port \"65536\" is not 1..65535" },
		{ "\"10.0.0.1:-1\"", "is not 1..65535" },
		{ "\"10.0.0.1:91x\"", "is not 1..65535" },
		{ "\"10.0.0.9:9180\"", "10.0.0.9 is not an interface address" },
		{ "\"0.0.0.0:9180\"", "is not an interface address" },
		{ "9180", "must be a string" },
	};

	for (const auto &c : cases) {
		Result r(std::string("metrics = {\n  listen = [ ") + c.value +
			 " ];\n};\n");

		EXPECT_TRUE(one_error(r, 7, c.what)) << c.value;
	}
}

TEST(CfgMetrics, DuplicateIsReportedWithTheFirstLine)
{
	Result r("metrics = { listen = [\n"
		 "  \"10.0.0.1:9180\",\n"
		 "  \"10.0.0.1:9180\" ]; };\n");

	EXPECT_TRUE(one_error(r, 8, "\"10.0.0.1:9180\" is listed twice "
			      "(first at line 7)"));
}

TEST(CfgMetrics, SameAddressOtherPortIsFine)
{
	Result r("metrics = { listen = [ \"10.0.0.1:9180\", "
		 "\"10.0.0.1:9181\" ]; };\n");

	ASSERT_NE(r.cfg, nullptr);
	EXPECT_EQ(r.cfg->n_metrics_listen, 2u);
}

TEST(CfgMetrics, HealthCheckNodePortClash)
{
	Result r("services = ( { name = \"ns/web\"; type = \"LoadBalancer\";\n"
		 "  load_balancer_ips = [ \"198.51.100.10\" ];\n"
		 "  external_traffic_policy = \"Local\";\n"
		 "  health_check_node_port = 32000;\n"
		 "  ports = ( { protocol = \"TCP\"; port = 80; } ); } );\n"
		 "metrics = { listen = [ \"10.0.0.1:32000\" ]; };\n");

	EXPECT_TRUE(one_error(r, 11, "port 32000 is the health_check_node_port"
			      " of service ns/web"));
}

TEST(CfgMetrics, UnknownKeyAndWrongShape)
{
	Result a("metrics = { listen = [ \"10.0.0.1:9180\" ]; port = 1; };\n");
	Result b("metrics = { listen = \"10.0.0.1:9180\"; };\n");

	EXPECT_EQ(a.cfg, nullptr);
	ASSERT_EQ(a.errs.size(), 1u);
	EXPECT_NE(a.errs[0].find("port"), std::string::npos) << a.errs[0];
	EXPECT_TRUE(one_error(b, 6, "metrics.listen: must be an array"));
}

} // namespace
