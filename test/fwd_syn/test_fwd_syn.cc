/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SYN flood defence (issue 16): frames through ef_fwd_process() against
 * expected frames built independently (test/shim/frames.h).
 */
#include <arpa/inet.h>
#include <cstring>
#include <string>
#include <vector>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <gtest/gtest.h>

#include "ef_cfg.h"
#include "ef_fwd.h"
#include "ef_nat.h"
#include "ef_neigh.h"
#include "ef_svc.h"
#include "frames.h"

/* t/a: Cluster (SNAT), a quota of 2 flows; t/b: Local, no quota */
static const char *CONF_BASE = R"(
node = { name = "node-a"; snat_addresses = [ "10.0.0.1" ]; };
interfaces = (
  { port = "p0"; address = "198.51.100.1/24"; },
  { port = "p1"; address = "10.244.0.1/24"; },
  { port = "p2"; address = "10.0.0.1/24"; }
);
services = (
  { name = "t/a"; type = "LoadBalancer"; cluster_ip = "10.96.0.11";
    load_balancer_ips = [ "198.51.100.11" ]; max_flows = 2;
    ports = ( { port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; } ); },
  { name = "t/b"; type = "LoadBalancer"; cluster_ip = "10.96.0.12";
    load_balancer_ips = [ "198.51.100.12" ];
    external_traffic_policy = "Local";
    ports = ( { port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; } ); }
);
)";

static const Mac CLIENT_MAC = mac_of("02:aa:00:00:00:02");
static const Mac POD5_MAC = mac_of("02:bb:00:00:00:05");
static const uint32_t CLIENT = ip_of("198.51.100.2");
static const uint32_t POD5 = ip_of("10.244.0.5");

static Mac
port_mac(int i)
{
	Mac m = { { 0x02, 0x00, 0x00, 0x00, 0x00, (uint8_t)(0x10 + i) } };
	return m;
}

struct Out {
	uint16_t iface;
	Bytes frame;
};

class Syn : public ::testing::Test {
protected:
	struct ef_fwd_shared sh;
	struct ef_nat_map nat;
	struct ef_svc_registry *reg = nullptr;
	uint32_t now_ms = 1000000;
	/* conntrack section of the test's config */
	virtual std::string conntrack() const
	{
		return "conntrack = { max_flows = 1024; };\n";
	}

	void SetUp() override
	{
		memset(&sh, 0, sizeof(sh));
		struct ef_cfg_errors errs = {};
		std::string text = std::string(CONF_BASE) + conntrack();
		struct ef_cfg *cfg = ef_cfg_parse_string(text.c_str(),
							 "t.conf", &errs);
		for (uint32_t i = 0; i < errs.n; i++)
			ADD_FAILURE() << errs.msgs[i];
		ef_cfg_errors_clear(&errs);
		ASSERT_NE(nullptr, cfg);
		static int serial;
		char name[32];
		snprintf(name, sizeof(name), "spool%d", serial++);
		sh.pool = rte_pktmbuf_pool_create(name, 4095, 0, 0,
						  RTE_MBUF_DEFAULT_BUF_SIZE,
						  SOCKET_ID_ANY);
		ASSERT_NE(nullptr, sh.pool);
		size_t qsz = rte_rcu_qsbr_get_memsize(1);
		sh.qsbr = (struct rte_rcu_qsbr *)rte_zmalloc(NULL, qsz, 64);
		ASSERT_EQ(0, rte_rcu_qsbr_init(sh.qsbr, 1));
		sh.neigh = ef_neigh_create(256, 1, SOCKET_ID_ANY);
		ASSERT_NE(nullptr, sh.neigh);
		ef_neigh_set_static4(sh.neigh, 0, CLIENT, CLIENT_MAC.b);
		ef_neigh_set_static4(sh.neigh, 1, POD5, POD5_MAC.b);
		ASSERT_EQ(0, ef_nat_map_init(&nat, cfg->snat_addresses,
					     cfg->n_snat_addresses,
					     cfg->snat_port_min,
					     cfg->snat_port_max, 1));
		sh.nat_map = &nat;
		sh.n_ports = (uint16_t)cfg->n_interfaces;
		for (int i = 0; i < RTE_MAX_ETHPORTS; i++)
			sh.port_to_if[i] = -1;
		for (uint16_t i = 0; i < sh.n_ports; i++) {
			sh.ports[i].port_id = i;
			sh.ports[i].n_rxq = 1;
			sh.ports[i].addr = cfg->interfaces[i].address.v4;
			sh.ports[i].prefix_len = cfg->interfaces[i].prefix_len;
			memcpy(sh.ports[i].mac, port_mac(i).b, 6);
			sh.ports[i].mtu = 1500;
			sh.port_to_if[i] = (int16_t)i;
		}
		reg = ef_svc_registry_create(1024);
		char err[256];
		sh.gen = ef_svc_gen_build(cfg, 1, nullptr, reg, SOCKET_ID_ANY,
					  err, sizeof(err));
		ASSERT_NE(nullptr, sh.gen) << err;
		sh.n_workers = 1;
		sh.icmp_rate = 1000000;
		sh.workers[0] = ef_fwd_worker_create(&sh, 0, 0, 1024,
						     SOCKET_ID_ANY);
		ASSERT_NE(nullptr, sh.workers[0]) << rte_strerror(rte_errno);
	}

	void TearDown() override
	{
		ef_fwd_worker_free(sh.workers[0]);
		ef_svc_gen_free(sh.gen);
		ef_svc_registry_free(reg);
		ef_neigh_free(sh.neigh);
		rte_free(sh.qsbr);
		rte_mempool_free(sh.pool);
	}

	struct ef_fwd_worker *w() { return sh.workers[0]; }

	std::vector<Out> collect()
	{
		std::vector<Out> out;

		for (uint16_t p = 0; p < sh.n_ports; p++) {
			for (uint16_t j = 0; j < w()->n_out[p]; j++) {
				struct rte_mbuf *m = w()->out[p][j];
				const uint8_t *d =
					rte_pktmbuf_mtod(m, const uint8_t *);
				out.push_back({ p, Bytes(d, d + m->data_len) });
				rte_pktmbuf_free(m);
			}
			w()->n_out[p] = 0;
		}
		return out;
	}

	std::vector<Out> run(const Bytes &f, uint16_t iface)
	{
		struct rte_mbuf *m = rte_pktmbuf_alloc(sh.pool);
		char *d = rte_pktmbuf_append(m, (uint16_t)f.size());
		memcpy(d, f.data(), f.size());
		m->port = iface;
		ef_fwd_begin(w());
		w()->now_ms = now_ms;
		ef_fwd_process(w(), &m, 1, false);
		return collect();
	}

	Tcp from_client(const char *vip, uint8_t flags, uint32_t seq,
			uint32_t ack, uint16_t cport = 40000)
	{
		Tcp t;
		t.dmac = port_mac(0);
		t.smac = CLIENT_MAC;
		t.sip = CLIENT;
		t.dip = ip_of(vip);
		t.sport = cport;
		t.dport = 80;
		t.flags = flags;
		t.seq = seq;
		t.ack = ack;
		return t;
	}

	uint64_t dropped(enum ef_fwd_drop r) const
	{
		return sh.workers[0]->c.drops[r];
	}
};

/* Past its quota a service's new flows are dropped (svc_quota); another
 * service, and the service's own established flows, are untouched. */
TEST_F(Syn, ServiceQuotaDropsNewFlowsOfThatServiceOnly)
{
	for (uint16_t p = 0; p < 2; p++) {
		auto o = run(tcp_frame(from_client("198.51.100.11", 0x02, 1000,
						   0, (uint16_t)(40000 + p))), 0);
		ASSERT_EQ(1u, o.size());
		EXPECT_EQ(1, o[0].iface);
	}
	auto o = run(tcp_frame(from_client("198.51.100.11", 0x02, 1000, 0,
					   40002)), 0);
	EXPECT_EQ(0u, o.size());
	EXPECT_EQ(1u, dropped(EF_FWD_DROP_SVC_QUOTA));
	EXPECT_EQ(2u, w()->c.flows_created);
	/* the other VIP is not affected */
	for (uint16_t p = 0; p < 4; p++) {
		o = run(tcp_frame(from_client("198.51.100.12", 0x02, 1000, 0,
					      (uint16_t)(41000 + p))), 0);
		ASSERT_EQ(1u, o.size());
	}
	EXPECT_EQ(1u, dropped(EF_FWD_DROP_SVC_QUOTA));
	/* an existing flow of the full service still passes */
	o = run(tcp_frame(from_client("198.51.100.11", 0x02, 1000, 0, 40000)),
		0);
	EXPECT_EQ(1u, o.size());
	EXPECT_EQ(1u, dropped(EF_FWD_DROP_SVC_QUOTA));
}

/* A closed flow gives its place back. */
TEST_F(Syn, ServiceQuotaFollowsClosedFlows)
{
	for (uint16_t p = 0; p < 2; p++)
		ASSERT_EQ(1u, run(tcp_frame(from_client("198.51.100.11", 0x02,
				1000, 0, (uint16_t)(40000 + p))), 0).size());
	/* the client resets its first flow */
	ASSERT_EQ(1u, run(tcp_frame(from_client("198.51.100.11", 0x04, 1001,
						0, 40000)), 0).size());
	EXPECT_EQ(0u, run(tcp_frame(from_client("198.51.100.11", 0x02, 1000, 0,
						40004)), 0).size());
	EXPECT_EQ(1u, dropped(EF_FWD_DROP_SVC_QUOTA));
	/* the RST'd flow stays in CLOSE for its timeout; past it, expiry
	 * frees the slot and the quota */
	now_ms += 11000;
	ef_fwd_begin(w());
	w()->now_ms = now_ms;
	for (int i = 0; i < 64; i++)
		ef_fwd_housekeep(w(), 64);
	collect();
	EXPECT_EQ(1u, run(tcp_frame(from_client("198.51.100.11", 0x02, 1000, 0,
						40005)), 0).size());
	EXPECT_EQ(1u, dropped(EF_FWD_DROP_SVC_QUOTA));
}
