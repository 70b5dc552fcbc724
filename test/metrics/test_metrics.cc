/* SPDX-License-Identifier: BSD-3-Clause */
/* The text exposition writer of lib/metrics (format 0.0.4). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "ef_metrics.h"

namespace {

struct Out {
	char mem[8192];
	struct ef_metrics_buf b = { mem, sizeof(mem), 0 };

	std::string str() const { return std::string(mem, b.len); }
};

TEST(MetricsEscape, LabelValues)
{
	char d[64];

	EXPECT_EQ(ef_metrics_escape(d, sizeof(d), "plain"), 5);
	EXPECT_STREQ(d, "plain");
	EXPECT_EQ(ef_metrics_escape(d, sizeof(d), "a\\b\"c\nd"), 10);
	EXPECT_STREQ(d, "a\\\\b\\\"c\\nd");
	/* other control characters and UTF-8 pass as they are */
	EXPECT_GT(ef_metrics_escape(d, sizeof(d), "t\tx\xc3\xa9"), 0);
	EXPECT_STREQ(d, "t\tx\xc3\xa9");
	EXPECT_EQ(ef_metrics_escape(d, sizeof(d), ""), 0);
	EXPECT_STREQ(d, "");
}

TEST(MetricsEscape, NoRoom)
{
	char d[4];

	EXPECT_EQ(ef_metrics_escape(d, sizeof(d), "abc"), 3);
	EXPECT_EQ(ef_metrics_escape(d, sizeof(d), "abcd"), -ENOSPC);
	/* an escape pair must fit whole */
	EXPECT_EQ(ef_metrics_escape(d, sizeof(d), "ab\""), -ENOSPC);
}

TEST(MetricsWriter, FamilyAndCounter)
{
	Out o;
	struct ef_metrics_label l[] = { { "reason", "tx_full" } };

	ASSERT_EQ(ef_metrics_family(&o.b, "edgefwd_drops_total", "counter",
				    "Drops by reason.\nSecond \\ line"), 0);
	ASSERT_EQ(ef_metrics_sample_u64(&o.b, "edgefwd_drops_total", l, 1,
					18446744073709551615ull), 0);
	EXPECT_EQ(o.str(),
		  "# HELP edgefwd_drops_total Drops by reason.\\nSecond \\\\ line\n"
		  "# TYPE edgefwd_drops_total counter\n"
		  "edgefwd_drops_total{reason=\"tx_full\"} 18446744073709551615\n");
}

TEST(MetricsWriter, LabelsAreEscapedAndOrdered)
{
	Out o;
	struct ef_metrics_label l[] = {
		{ "namespace", "n\"s" }, { "service", "a\\b\nc" },
	};

	ASSERT_EQ(ef_metrics_sample_u64(&o.b, "edgefwd_service_packets_total",
					l, 2, 7), 0);
	EXPECT_EQ(o.str(), "edgefwd_service_packets_total{namespace=\"n\\\"s\","
		  "service=\"a\\\\b\\nc\"} 7\n");
}

TEST(MetricsWriter, GaugesWithoutLabelsAndSpecialFloats)
{
	Out o;

	ASSERT_EQ(ef_metrics_sample_f64(&o.b, "g", nullptr, 0, 0.25), 0);
	ASSERT_EQ(ef_metrics_sample_f64(&o.b, "g", nullptr, 0, INFINITY), 0);
	ASSERT_EQ(ef_metrics_sample_f64(&o.b, "g", nullptr, 0, -INFINITY), 0);
	ASSERT_EQ(ef_metrics_sample_f64(&o.b, "g", nullptr, 0, NAN), 0);
	ASSERT_EQ(ef_metrics_sample_u64(&o.b, "c", nullptr, 0, 0), 0);
	EXPECT_EQ(o.str(), "g 0.25\ng +Inf\ng -Inf\ng NaN\nc 0\n");
}

TEST(MetricsWriter, HistogramIsCumulativeWithInf)
{
	Out o;
	struct ef_metrics_label l[] = { { "lcore", "1" } };
	const double le[] = { 0.001, 0.01, 0.1 };
	const uint64_t n[] = { 3, 0, 2 };

	ASSERT_EQ(ef_metrics_histogram(&o.b, "h_seconds", l, 1, le, n, 3,
				       1.5), 0);
	EXPECT_EQ(o.str(),
		  "h_seconds_bucket{lcore=\"1\",le=\"0.001\"} 3\n"
		  "h_seconds_bucket{lcore=\"1\",le=\"0.01\"} 3\n"
		  "h_seconds_bucket{lcore=\"1\",le=\"+Inf\"} 5\n"
		  "h_seconds_sum{lcore=\"1\"} 1.5\n"
		  "h_seconds_count{lcore=\"1\"} 5\n");
}

TEST(MetricsWriter, AWriteThatDoesNotFitLeavesNothing)
{
	char mem[48];
	struct ef_metrics_buf b = { mem, sizeof(mem), 0 };
	struct ef_metrics_label l[] = { { "port", "net_tap0" } };
	const double le[] = { 1, 2 };
	const uint64_t n[] = { 1, 1 };
	size_t len;

	ASSERT_EQ(ef_metrics_sample_u64(&b, "edgefwd_rx_packets_total", l, 1,
					1), 0);
	len = b.len;
	EXPECT_EQ(ef_metrics_sample_u64(&b, "edgefwd_rx_packets_total", l, 1,
					2), -ENOSPC);
	EXPECT_EQ(b.len, len);
	EXPECT_EQ(ef_metrics_family(&b, "x", "gauge", "a long help text that "
				    "cannot fit"), -ENOSPC);
	EXPECT_EQ(b.len, len);
	EXPECT_EQ(ef_metrics_histogram(&b, "h", nullptr, 0, le, n, 2, 1),
		  -ENOSPC);
	EXPECT_EQ(b.len, len);
	EXPECT_EQ(std::string(mem, b.len),
		  "edgefwd_rx_packets_total{port=\"net_tap0\"} 1\n");
}

/* What the writer produces passes Prometheus's own linter, when the
 * Debian prometheus package is there (the dts checks a real scrape). */
TEST(MetricsWriter, PromtoolAcceptsTheOutput)
{
	Out o;
	struct ef_metrics_label l[] = { { "reason", "a\"b" } };
	const double le[] = { 0.5 };
	const uint64_t n[] = { 1, 1 };
	char path[] = "/tmp/ef_metrics_XXXXXX";
	std::string cmd;
	FILE *f;
	int fd;

	if (access("/usr/bin/promtool", X_OK) != 0)
		GTEST_SKIP() << "no /usr/bin/promtool";
	ASSERT_EQ(ef_metrics_family(&o.b, "edgefwd_drops_total", "counter",
				    "Drops."), 0);
	ASSERT_EQ(ef_metrics_sample_u64(&o.b, "edgefwd_drops_total", l, 1, 3),
		  0);
	ASSERT_EQ(ef_metrics_family(&o.b, "edgefwd_burst_duration_seconds",
				    "histogram", "Bursts."), 0);
	ASSERT_EQ(ef_metrics_histogram(&o.b, "edgefwd_burst_duration_seconds",
				       nullptr, 0, le, n, 2, 0.7), 0);
	fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	f = fdopen(fd, "w");
	ASSERT_NE(f, nullptr);
	fwrite(o.mem, 1, o.b.len, f);
	fclose(f);
	cmd = std::string("/usr/bin/promtool check metrics < ") + path +
		" >/dev/null 2>&1";
	EXPECT_EQ(system(cmd.c_str()), 0) << o.str();
	unlink(path);
}

} // namespace
