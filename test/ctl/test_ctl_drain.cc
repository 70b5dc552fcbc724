/* SPDX-License-Identifier: BSD-3-Clause */
/* The drain of a graceful stop (lib/ctl/ctl_drain.c): when a signal
 * drains, when it stops at once, hold and resume. */
#include <cstdio>
#include <cstring>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

#include "ef_cfg.h"
#include "ef_ctl.h"

namespace {

const char *CONF = R"(
node = { name = "node-a"; };
interfaces = (
  { port = "net_null0"; address = "198.51.100.1/24"; },
  { port = "net_null1"; address = "10.0.0.1/24"; }
);
dataplane = { rx_descriptors = 64; tx_descriptors = 64; mbufs = 4095; };
conntrack = { max_flows = 4096; };
services = (
  { name = "ns/web"; type = "LoadBalancer"; load_balancer_ips = [ "198.51.100.10" ];
    ports = ( { protocol = "TCP"; port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.0.0.5"; node = "node-a"; } ); }
);
)";

struct Ctl {
	std::string path;
	struct ef_ctl *c = nullptr;

	Ctl()
	{
		char p[] = "/tmp/ef_drain_testXXXXXX";
		int fd = mkstemp(p);
		struct ef_cfg_errors errs = {};
		char err[512];

		if (write(fd, CONF, strlen(CONF)) < 0)
			perror("write");
		close(fd);
		path = p;
		struct ef_cfg *cfg = ef_cfg_load(p, &errs);
		if (cfg == nullptr) {
			ef_cfg_errors_print(&errs, stderr);
			ef_cfg_errors_clear(&errs);
			return;
		}
		c = ef_ctl_create(cfg, p, 1, 64, err, sizeof(err));
		if (c == nullptr)
			fprintf(stderr, "ef_ctl_create: %s\n", err);
	}
	~Ctl()
	{
		ef_ctl_free(c);
		unlink(path.c_str());
	}
};

TEST(Drain, NobodyAnnouncingStopsAtOnce)
{
	Ctl x;
	ASSERT_NE(x.c, nullptr);
	ef_ctl_drain_init(x.c, 5);
	EXPECT_EQ(ef_ctl_drain_on_signal(x.c), EF_CTL_STOP_NOW);
	/* a companion that announces nothing: nothing to withdraw either */
	ef_ctl_drain_note_announced(x.c, 0);
	EXPECT_EQ(ef_ctl_drain_on_signal(x.c), EF_CTL_STOP_NOW);
}

TEST(Drain, AnnouncedDrainsThenASecondSignalStops)
{
	Ctl x;
	struct ef_ctl_drain_info di;

	ASSERT_NE(x.c, nullptr);
	ef_ctl_drain_init(x.c, 5);
	ef_ctl_drain_note_announced(x.c, 1);
	EXPECT_EQ(ef_ctl_drain_on_signal(x.c), EF_CTL_STOP_DRAINING);
	ef_ctl_drain_get(x.c, &di);
	EXPECT_EQ(di.mode, EF_CTL_DRAIN_STOP);
	EXPECT_GT(di.remaining_ms, 4000u);
	EXPECT_LE(di.remaining_ms, 5000u);
	EXPECT_FALSE(ef_ctl_drain_over(x.c));
	/* a stop cannot be taken back */
	EXPECT_FALSE(ef_ctl_drain_begin(x.c, EF_CTL_DRAIN_NONE));
	EXPECT_FALSE(ef_ctl_drain_begin(x.c, EF_CTL_DRAIN_HOLD));
	EXPECT_EQ(ef_ctl_drain_on_signal(x.c), EF_CTL_STOP_NOW);
}

TEST(Drain, ZeroSecondsNeverDrains)
{
	Ctl x;

	ASSERT_NE(x.c, nullptr);
	ef_ctl_drain_init(x.c, 0);
	ef_ctl_drain_note_announced(x.c, 3);
	EXPECT_EQ(ef_ctl_drain_on_signal(x.c), EF_CTL_STOP_NOW);
	/* an asked drain with 0 s is over at once */
	EXPECT_TRUE(ef_ctl_drain_begin(x.c, EF_CTL_DRAIN_STOP));
	EXPECT_TRUE(ef_ctl_drain_over(x.c));
}

TEST(Drain, HoldAndResume)
{
	Ctl x;
	struct ef_ctl_drain_info di;

	ASSERT_NE(x.c, nullptr);
	ef_ctl_drain_init(x.c, 5);
	EXPECT_TRUE(ef_ctl_drain_begin(x.c, EF_CTL_DRAIN_HOLD));
	ef_ctl_drain_get(x.c, &di);
	EXPECT_EQ(di.mode, EF_CTL_DRAIN_HOLD);
	EXPECT_EQ(di.remaining_ms, 0u);
	EXPECT_FALSE(ef_ctl_drain_over(x.c));
	/* held: already withdrawn, a signal stops now */
	ef_ctl_drain_note_announced(x.c, 0);
	EXPECT_EQ(ef_ctl_drain_on_signal(x.c), EF_CTL_STOP_NOW);
	EXPECT_TRUE(ef_ctl_drain_begin(x.c, EF_CTL_DRAIN_NONE));
	ef_ctl_drain_get(x.c, &di);
	EXPECT_EQ(di.mode, EF_CTL_DRAIN_NONE);
	EXPECT_STREQ(ef_ctl_drain_mode_name(EF_CTL_DRAIN_HOLD), "hold");
}

} /* namespace */
