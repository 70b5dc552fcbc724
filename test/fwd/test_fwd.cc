/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pipeline fixtures: frames through the real burst function (ef_fwd_process)
 * with mbufs, against expected output bytes built independently
 * (frames.cc) or decoded fields where the choice is the pipeline's (SNAT
 * port, Maglev endpoint).
 */
#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <gtest/gtest.h>

#include "ef_cfg.h"
#include "ef_fwd.h"
#include "ef_nat.h"
#include "ef_neigh.h"
#include "ef_pkt.h"
#include "ef_svc.h"
#include "frames.h"
#include "rig.h"

static const char *BASE_CONF = R"(
node = { name = "node-a"; snat_addresses = [ "10.0.0.1" ]; %s };
interfaces = (
  { port = "p0"; address = "198.51.100.1/24"; },
  { port = "p1"; address = "10.244.0.1/24"; },
  { port = "p2"; address = "10.0.0.1/24"; mtu = 1400; }
);
routes = ( { prefix = "10.244.1.0/24"; via = "10.0.0.2"; } );
conntrack = { max_flows = 1024; udp_timeout = 30;
  syn_cookie_threshold = 67108864; };  # no SYN cookies (test/fwd_syn)
services = (
  { name = "t/local"; type = "LoadBalancer"; cluster_ip = "10.96.0.10";
    load_balancer_ips = [ "198.51.100.10" ];
    external_traffic_policy = "Local";
    ports = ( { protocol = "TCP"; port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; },
                  { address = "10.244.1.7"; node = "node-b"; } ); },
  { name = "t/cluster"; type = "LoadBalancer"; cluster_ip = "10.96.0.11";
    load_balancer_ips = [ "198.51.100.11" ];
    ports = ( { name = "http"; protocol = "TCP"; port = 80; target_port = 8080; },
              { name = "dns"; protocol = "UDP"; port = 53; target_port = 5353; } );
    endpoints = ( { address = "10.244.1.7"; node = "node-b"; } ); },
  { name = "t/remote"; type = "LoadBalancer"; cluster_ip = "10.96.0.12";
    load_balancer_ips = [ "198.51.100.12" ];
    external_traffic_policy = "Local";
    ports = ( { protocol = "TCP"; port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.1.7"; node = "node-b"; } ); },
  { name = "t/none"; type = "LoadBalancer"; cluster_ip = "10.96.0.13";
    load_balancer_ips = [ "198.51.100.13" ];
    ports = ( { name = "http"; protocol = "TCP"; port = 80; target_port = 8080; },
              { name = "dns"; protocol = "UDP"; port = 53; target_port = 53; } );
    endpoints = ( { address = "10.244.0.6"; node = "node-a"; ready = false; } ); },
  { name = "t/aff"; type = "LoadBalancer"; cluster_ip = "10.96.0.14";
    load_balancer_ips = [ "198.51.100.14" ];
    session_affinity = "ClientIP"; session_affinity_timeout = 60;
    ports = ( { protocol = "TCP"; port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; },
                  { address = "10.244.0.6"; node = "node-a"; },
                  { address = "10.244.1.7"; node = "node-b"; } ); }
);
)";

static const Mac CLIENT_MAC = mac_of("02:aa:00:00:00:02");
static const Mac POD5_MAC = mac_of("02:bb:00:00:00:05");
static const Mac POD6_MAC = mac_of("02:bb:00:00:00:06");
static const Mac NODEB_MAC = mac_of("02:cc:00:00:00:02");
static const uint32_t CLIENT = ip_of("198.51.100.2");

class Pipeline : public PipeRig {
protected:
	void SetUp() override { build(""); }

	void build(const std::string &node_extra, uint32_t workers = 1)
	{
		char text[8192];
		RigOpts o;

		number = 0;	/* every build is generation 1 */
		snprintf(text, sizeof(text), BASE_CONF, node_extra.c_str());
		o.pool_prefix = "tpool";
		o.pool_size = 8191;
		o.workers = workers;
		o.connect = true;
		rig_up(text, o,
		       { { 0, CLIENT, CLIENT_MAC },
			 { 1, ip_of("10.244.0.5"), POD5_MAC },
			 { 1, ip_of("10.244.0.6"), POD6_MAC },
			 { 2, ip_of("10.0.0.2"), NODEB_MAC } });
	}

	uint64_t drops(enum ef_fwd_drop r, uint32_t wi = 0)
	{
		return w(wi)->c.drops[r];
	}

	/* Generation 2 of BASE_CONF: t/cluster's only endpoint 10.244.1.7
	 * replaced by 10.244.0.6; every other service unchanged. */
	struct ef_svc_gen *moved_endpoint_gen()
	{
		std::string text(4096, '\0');
		snprintf(&text[0], text.size(), BASE_CONF, "");
		text.resize(strlen(text.c_str()));
		const char *old_ep =
			"{ address = \"10.244.1.7\"; node = \"node-b\"; }";
		size_t at = text.find(std::string(old_ep) +
				      " ); },\n  { name = \"t/remote\"");
		if (at == std::string::npos)
			return nullptr;
		text.replace(at, strlen(old_ep),
			     "{ address = \"10.244.0.6\"; node = \"node-a\"; }");
		struct ef_cfg_errors errs = {};
		struct ef_cfg *cfg = ef_cfg_parse_string(text.c_str(), "t2.conf",
							 &errs);
		ef_cfg_errors_clear(&errs);
		if (cfg == nullptr)
			return nullptr;
		char err[128];
		return ef_svc_gen_build(cfg, 2, sh.gen, reg, SOCKET_ID_ANY, err,
					sizeof(err));
	}

	/* a DNS-sized datagram from the client to vip:53 */
	Udp udp_to(const char *vip)
	{
		Udp u;
		u.dmac = port_mac(0);
		u.smac = CLIENT_MAC;
		u.sip = CLIENT;
		u.dip = ip_of(vip);
		u.sport = 5555;
		u.dport = 53;
		return u;
	}

	Tcp syn_to(const char *vip, uint16_t sport = 40000,
		   uint32_t src = 0)
	{
		Tcp t;
		t.dmac = port_mac(0);
		t.smac = CLIENT_MAC;
		t.sip = src != 0 ? src : CLIENT;
		t.dip = ip_of(vip);
		t.sport = sport;
		t.dport = 80;
		t.flags = 0x02;
		return t;
	}
};

static struct ef_pkt_meta
parse(const Bytes &f)
{
	struct ef_pkt_meta m;

	EXPECT_EQ(0, ef_pkt_parse(f.data(), (uint32_t)f.size(), &m));
	return m;
}

TEST_F(Pipeline, LocalSynIsDnatedToTheLocalEndpointOnly)
{
	auto out = run(tcp_frame(syn_to("198.51.100.10")), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(1, out[0].iface);
	Tcp e = syn_to("198.51.100.10");
	e.dmac = POD5_MAC;
	e.smac = port_mac(1);
	e.dip = ip_of("10.244.0.5");
	e.dport = 8080;
	e.ttl = 63;
	EXPECT_EQ(hex(tcp_frame(e)), hex(out[0].frame));
	EXPECT_EQ(1u, w()->c.flows_created);
	/* 50 more clients: never the remote endpoint (Local) */
	for (int i = 0; i < 50; i++) {
		auto o = run(tcp_frame(syn_to("198.51.100.10",
					      (uint16_t)(41000 + i))), 0);
		ASSERT_EQ(1u, o.size());
		EXPECT_EQ(ip_of("10.244.0.5"), parse(o[0].frame).dst.v4);
	}
}

TEST_F(Pipeline, LocalReplyIsUnNatedToTheClient)
{
	run(tcp_frame(syn_to("198.51.100.10")), 0);
	Tcp r;
	r.dmac = port_mac(1);
	r.smac = POD5_MAC;
	r.sip = ip_of("10.244.0.5");
	r.dip = CLIENT;
	r.sport = 8080;
	r.dport = 40000;
	r.flags = 0x12;
	r.seq = 5000;
	r.ack = 1001;
	auto out = run(tcp_frame(r), 1);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	Tcp e = r;
	e.dmac = CLIENT_MAC;
	e.smac = port_mac(0);
	e.sip = ip_of("198.51.100.10");
	e.sport = 80;
	e.ttl = 63;
	EXPECT_EQ(hex(tcp_frame(e)), hex(out[0].frame));
}

TEST_F(Pipeline, ClusterSynIsSnatedAndTheReplyComesBack)
{
	auto out = run(tcp_frame(syn_to("198.51.100.11")), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(2, out[0].iface);	/* remote pod: via node-b */
	struct ef_pkt_meta m = parse(out[0].frame);
	uint16_t sport = ntohs(m.sport);
	EXPECT_GE(sport, 1024);
	EXPECT_LE(sport, 29999);
	Tcp e = syn_to("198.51.100.11");
	e.dmac = NODEB_MAC;
	e.smac = port_mac(2);
	e.sip = ip_of("10.0.0.1");
	e.sport = sport;
	e.dip = ip_of("10.244.1.7");
	e.dport = 8080;
	e.ttl = 63;
	EXPECT_EQ(hex(tcp_frame(e)), hex(out[0].frame));

	Tcp r;
	r.dmac = port_mac(2);
	r.smac = NODEB_MAC;
	r.sip = ip_of("10.244.1.7");
	r.dip = ip_of("10.0.0.1");
	r.sport = 8080;
	r.dport = sport;
	r.flags = 0x12;
	r.seq = 7000;
	r.ack = 1001;
	out = run(tcp_frame(r), 2);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	Tcp er = r;
	er.dmac = CLIENT_MAC;
	er.smac = port_mac(0);
	er.sip = ip_of("198.51.100.11");
	er.sport = 80;
	er.dip = CLIENT;
	er.dport = 40000;
	er.ttl = 63;
	EXPECT_EQ(hex(tcp_frame(er)), hex(out[0].frame));
}

TEST_F(Pipeline, NoEndpointTcpGetsRst)
{
	auto out = run(tcp_frame(syn_to("198.51.100.13")), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	Tcp e;
	e.dmac = CLIENT_MAC;
	e.smac = port_mac(0);
	e.sip = ip_of("198.51.100.13");
	e.dip = CLIENT;
	e.sport = 80;
	e.dport = 40000;
	e.flags = 0x14;	/* RST|ACK */
	e.seq = 0;
	e.ack = 1001;
	e.ttl = 64;
	e.id = 0;
	e.win = 0;
	EXPECT_EQ(hex(tcp_frame(e)), hex(out[0].frame));
	EXPECT_EQ(1u, drops(EF_FWD_DROP_NO_ENDPOINT));
	EXPECT_EQ(1u, w()->c.rst_sent);
}

TEST_F(Pipeline, NoEndpointUdpGetsPortUnreachable)
{
	Udp u = udp_to("198.51.100.13");
	auto out = run(udp_frame(u), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_TRUE(checksums_ok(out[0].frame));
	struct ef_pkt_meta m = parse(out[0].frame);
	EXPECT_EQ(3, m.icmp_type);
	EXPECT_EQ(3, m.icmp_code);
	EXPECT_EQ(CLIENT, m.dst.v4);
	EXPECT_EQ(ip_of("198.51.100.13"), m.src.v4);
	EXPECT_EQ(CLIENT, m.inner_src.v4);
	EXPECT_EQ(htons(53), m.inner_dport);
	EXPECT_EQ(1u, drops(EF_FWD_DROP_NO_ENDPOINT));
}

/* The burst's flows are looked up before any of its packets is handled:
 * the second datagram of a new flow in the same burst found nothing, and
 * must follow the flow the first one created all the same. */
TEST_F(Pipeline, DatagramsOfANewFlowInOneBurstAllGetThrough)
{
	Udp u = udp_to("198.51.100.11");
	auto out = run_burst({ udp_frame(u), udp_frame(u), udp_frame(u) }, 0);
	ASSERT_EQ(3u, out.size());
	EXPECT_EQ(hex(out[0].frame), hex(out[1].frame));
	EXPECT_EQ(hex(out[0].frame), hex(out[2].frame));
	EXPECT_EQ(1u, ef_ct_stats(w()->ct)->active);
	EXPECT_EQ(0u, drops(EF_FWD_DROP_CT_INVALID));
}

/* New flows are staged over the burst (fwd.c new_flow_stage(): the
 * frontends in one bulk lookup, the rest prefetched): a burst of every
 * kind of first packet -- Local, Cluster (SNAT), UDP, affinity, no local
 * endpoint, no endpoint (RST), a VIP's closed port, an address not ours,
 * an echo, an ACK and a TTL-1 SYN -- gives exactly the frames and the
 * counters that the same packets give one burst each. */
TEST_F(Pipeline, StagedNewFlowsOfABurstAnswerAsOnePacketAtATime)
{
	Tcp ttl1 = syn_to("198.51.100.11", 40009);
	ttl1.ttl = 1;
	Tcp ack = syn_to("198.51.100.11", 40010);
	ack.flags = 0x10;
	Tcp closed = syn_to("198.51.100.11", 40011);
	closed.dport = 81;
	Bytes q = tcp_frame(syn_to("198.51.100.10"));
	std::vector<Bytes> in = {
		tcp_frame(syn_to("198.51.100.10", 40001)),
		tcp_frame(syn_to("198.51.100.11", 40002)),
		udp_frame(udp_to("198.51.100.11")),
		tcp_frame(syn_to("198.51.100.14", 40003)),
		tcp_frame(syn_to("198.51.100.12", 40004)),
		tcp_frame(syn_to("198.51.100.13", 40005)),
		tcp_frame(syn_to("198.51.100.99", 40006)),
		tcp_frame(syn_to("198.51.100.11", 40007)),
		icmp_error_frame(port_mac(0), CLIENT_MAC, CLIENT,
				 ip_of("198.51.100.10"), 8, 0, 0,
				 Bytes(q.begin() + 14, q.end())),
		tcp_frame(ack),
		tcp_frame(ttl1),
		tcp_frame(closed),
		tcp_frame(syn_to("198.51.100.10", 40008)),
	};
	/* the SNAT port is the pipeline's choice, from a cursor each build
	 * starts anew: masked, with the L4 checksum that covers it */
	auto key = [](const Out &o) {
		Bytes f = o.frame;
		struct ef_pkt_meta m = parse(f);

		if (m.src.v4 == ip_of("10.0.0.1")) {
			f[34] = f[35] = 0;
			if (m.proto == IPPROTO_TCP)
				f[50] = f[51] = 0;
			else
				f[40] = f[41] = 0;
		}
		return std::make_pair(o.iface, hex(f));
	};
	auto outcome = [&](bool one_burst) {
		std::multiset<std::pair<uint16_t, std::string>> frames;
		std::vector<uint64_t> counters;

		build("");
		if (one_burst) {
			for (const Out &o : run_burst(in, 0))
				frames.insert(key(o));
		} else {
			for (const Bytes &f : in)
				for (const Out &o : run(f, 0))
					frames.insert(key(o));
		}
		for (int r = 0; r < EF_FWD_DROP_MAX; r++)
			counters.push_back(w()->c.drops[r]);
		counters.push_back(w()->c.flows_created);
		counters.push_back(ef_ct_stats(w()->ct)->active);
		counters.push_back(drain_ctrl());
		return std::make_pair(frames, counters);
	};
	auto one = outcome(false);
	auto burst = outcome(true);
	EXPECT_EQ(one.first, burst.first);
	EXPECT_EQ(one.second, burst.second);
	/* the burst did all of it: flows, SNAT, rejects and drops */
	EXPECT_EQ(6u, w()->c.flows_created);
	EXPECT_EQ(1u, drops(EF_FWD_DROP_NO_LOCAL_ENDPOINT));
	EXPECT_EQ(1u, drops(EF_FWD_DROP_TTL_EXCEEDED));
	EXPECT_GE(burst.first.size(), 9u);
}

TEST_F(Pipeline, LocalWithOnlyRemoteEndpointsDropsSilently)
{
	auto out = run(tcp_frame(syn_to("198.51.100.12")), 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_NO_LOCAL_ENDPOINT));
	EXPECT_EQ(0u, w()->c.flows_created);
}

TEST_F(Pipeline, ArpRequestForAVipIsAnswered)
{
	auto out = run(arp_request(CLIENT_MAC, CLIENT, ip_of("198.51.100.10")),
		       0);
	ASSERT_EQ(1u, out.size());
	const Bytes &f = out[0].frame;
	EXPECT_EQ(0, memcmp(&f[0], CLIENT_MAC.b, 6));
	EXPECT_EQ(0, memcmp(&f[6], port_mac(0).b, 6));
	EXPECT_EQ(2, f[21]);			/* reply */
	EXPECT_EQ(0, memcmp(&f[22], port_mac(0).b, 6));
	uint32_t sip, tip;
	memcpy(&sip, &f[28], 4);
	memcpy(&tip, &f[38], 4);
	EXPECT_EQ(ip_of("198.51.100.10"), sip);
	EXPECT_EQ(CLIENT, tip);
	/* a copy went to the control lcore to learn the asker */
	EXPECT_EQ(1u, drain_ctrl());
	/* ARP for somebody else: not ours */
	out = run(arp_request(CLIENT_MAC, CLIENT, ip_of("198.51.100.99")), 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_NOT_FOR_US));
	/* cluster IPs are never announced */
	out = run(arp_request(CLIENT_MAC, CLIENT, ip_of("10.96.0.10")), 0);
	EXPECT_TRUE(out.empty());
}

TEST_F(Pipeline, FragNeededFromTheEndpointSideReachesTheClient)
{
	auto out = run(tcp_frame(syn_to("198.51.100.11")), 0);
	ASSERT_EQ(1u, out.size());
	Bytes fwd_ip(out[0].frame.begin() + 14, out[0].frame.end());
	Bytes icmp = icmp_error_frame(port_mac(2), NODEB_MAC, ip_of("10.0.0.2"),
				      ip_of("10.0.0.1"), 3, 4, 1300, fwd_ip);
	out = run(icmp, 2);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	EXPECT_TRUE(checksums_ok(out[0].frame));
	struct ef_pkt_meta m = parse(out[0].frame);
	EXPECT_EQ(3, m.icmp_type);
	EXPECT_EQ(4, m.icmp_code);
	EXPECT_EQ(CLIENT, m.dst.v4);
	EXPECT_EQ(CLIENT, m.inner_src.v4);
	EXPECT_EQ(htons(40000), m.inner_sport);
	EXPECT_EQ(ip_of("198.51.100.11"), m.inner_dst.v4);
	EXPECT_EQ(htons(80), m.inner_dport);
	/* the quoted IP header's checksum holds after translation */
	EXPECT_EQ(0, csum(&out[0].frame[m.inner_l3_off], 20));
	/* MTU field carried through */
	const uint8_t *ic = &out[0].frame[m.l4_off];
	EXPECT_EQ(1300, ic[6] << 8 | ic[7]);
	EXPECT_EQ(1u, w()->c.icmp_errors_translated);
}

TEST_F(Pipeline, ForgedIcmpErrorForNoFlowIsDroppedAndCounted)
{
	Tcp q = syn_to("198.51.100.11");
	q.sip = ip_of("10.0.0.1");
	q.dip = ip_of("10.244.1.7");
	q.sport = 4242;
	q.dport = 8080;
	Bytes f = tcp_frame(q);
	Bytes icmp = icmp_error_frame(port_mac(0), CLIENT_MAC, CLIENT,
				      ip_of("198.51.100.11"), 3, 1, 0,
				      Bytes(f.begin() + 14, f.end()));
	auto out = run(icmp, 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_ICMP_UNTRACKED));
}

TEST_F(Pipeline, ExpiryRemovesIdleUdpFlows)
{
	Udp u = udp_to("198.51.100.11");
	auto out = run(udp_frame(u), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(1u, ef_ct_stats(w()->ct)->active);
	/* 29 s later it is still there */
	w()->now_ms = now_ms + 29000;
	ef_fwd_housekeep(w(), 1u << 20);
	EXPECT_EQ(1u, ef_ct_stats(w()->ct)->active);
	/* past udp_timeout (30 s) it goes, and its service count with it */
	w()->now_ms = now_ms + 31000;
	ef_fwd_housekeep(w(), 1u << 20);
	EXPECT_EQ(0u, ef_ct_stats(w()->ct)->active);
	EXPECT_EQ(1u, w()->c.flows_closed);
	int32_t s = ef_svc_find(sh.gen, "t/cluster");
	ASSERT_GE(s, 0);
	EXPECT_EQ(0, w()->svc[sh.gen->svcs[s].stable_id].flows);
}

TEST_F(Pipeline, MaxFlowsDropsNewFlowsAndKeepsTheOld)
{
	uint32_t cap = 1024;	/* conntrack.max_flows, one worker */
	for (uint32_t i = 0; i < cap; i++) {
		uint32_t src = htonl(0x0b000000u + i);	/* 11.0.x.y */
		auto o = run(tcp_frame(syn_to("198.51.100.11", 40000, src)), 0);
		ASSERT_EQ(1u, o.size()) << i;
	}
	auto out = run(tcp_frame(syn_to("198.51.100.11", 40000,
					htonl(0x0c000001u))), 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_CT_FULL));
	/* an existing flow still forwards */
	out = run(tcp_frame(syn_to("198.51.100.11", 40000, htonl(0x0b000000u))),
		  0);
	EXPECT_EQ(1u, out.size());
	/* once the unanswered SYNs are older than a second, the oldest one
	 * makes room (early drop) */
	now_ms += 2000;
	out = run(tcp_frame(syn_to("198.51.100.11", 40000,
				   htonl(0x0c000002u))), 0);
	EXPECT_EQ(1u, out.size());
	EXPECT_EQ(1u, ef_ct_stats(w()->ct)->early_drops);
}

TEST_F(Pipeline, ClientIpAffinityKeepsTheEndpoint)
{
	std::set<uint32_t> chosen;
	for (int c = 0; c < 40; c++) {
		uint32_t src = htonl(0x0b000100u + (uint32_t)c);
		uint32_t first = 0;
		for (int p = 0; p < 4; p++) {
			auto o = run(tcp_frame(syn_to("198.51.100.14",
						      (uint16_t)(40000 + p), src)),
				     0);
			ASSERT_EQ(1u, o.size());
			uint32_t ep = parse(o[0].frame).dst.v4;
			if (p == 0)
				first = ep;
			EXPECT_EQ(first, ep) << "client " << c << " port " << p;
		}
		chosen.insert(first);
	}
	EXPECT_GE(chosen.size(), 2u);
	EXPECT_GE(w()->c.affinity_hits, 40u * 3u);
}

TEST_F(Pipeline, SnatPortSliceExhaustionIsCounted)
{
	build("snat_port_range = [ 1024, 1031 ];");
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t src = htonl(0x0b000000u + i);
		auto o = run(tcp_frame(syn_to("198.51.100.11", 40000, src)), 0);
		ASSERT_EQ(1u, o.size()) << i;
	}
	auto out = run(tcp_frame(syn_to("198.51.100.11", 40000,
					htonl(0x0b0000ffu))), 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_SNAT_EXHAUSTED));
}

TEST_F(Pipeline, TtlOneGetsTimeExceeded)
{
	Tcp t = syn_to("198.51.100.10");
	t.ttl = 1;
	auto out = run(tcp_frame(t), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_TRUE(checksums_ok(out[0].frame));
	struct ef_pkt_meta m = parse(out[0].frame);
	EXPECT_EQ(11, m.icmp_type);
	EXPECT_EQ(0, m.icmp_code);
	EXPECT_EQ(ip_of("198.51.100.1"), m.src.v4);
	EXPECT_EQ(CLIENT, m.dst.v4);
	EXPECT_EQ(1u, drops(EF_FWD_DROP_TTL_EXCEEDED));
	EXPECT_EQ(0u, w()->c.flows_created);
}

TEST_F(Pipeline, MtuExceededWithDfGetsFragNeeded)
{
	/* interface p2 has mtu 1400: a 1450-byte packet to the remote pod */
	Tcp t = syn_to("198.51.100.11");
	t.payload = 1410;
	auto out = run(tcp_frame(t), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	struct ef_pkt_meta m = parse(out[0].frame);
	EXPECT_EQ(3, m.icmp_type);
	EXPECT_EQ(4, m.icmp_code);
	const uint8_t *ic = &out[0].frame[m.l4_off];
	EXPECT_EQ(1400, ic[6] << 8 | ic[7]);
	EXPECT_EQ(1u, drops(EF_FWD_DROP_MTU_EXCEEDED));
}

TEST_F(Pipeline, NodeTrafficGoesToTheKernel)
{
	Tcp t = syn_to("198.51.100.1");
	t.dport = 22;
	auto out = run(tcp_frame(t), 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, drain_ctrl());
	EXPECT_EQ(1u, w()->c.exception_packets);
	/* a SNAT-range port on the SNAT address that no flow holds: dropped,
	 * never the kernel's */
	t = syn_to("10.0.0.1");
	t.dport = 2000;
	out = run(tcp_frame(t), 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(0u, drain_ctrl());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_NO_FLOW));
}

TEST_F(Pipeline, MidStreamSegmentsWithoutAFlowAreDropped)
{
	Tcp t = syn_to("198.51.100.11");
	t.flags = 0x10;	/* ACK */
	EXPECT_TRUE(run(tcp_frame(t), 0).empty());
	t.flags = 0x03;	/* SYN+FIN */
	EXPECT_TRUE(run(tcp_frame(t), 0).empty());
	t.flags = 0x00;
	EXPECT_TRUE(run(tcp_frame(t), 0).empty());
	EXPECT_EQ(2u, drops(EF_FWD_DROP_NO_FLOW));
	EXPECT_EQ(1u, drops(EF_FWD_DROP_CT_INVALID));
	EXPECT_EQ(0u, w()->c.flows_created);
}

TEST_F(Pipeline, LandAndBadChecksumsAreDropped)
{
	Tcp t = syn_to("198.51.100.11");
	t.sip = t.dip;
	EXPECT_TRUE(run(tcp_frame(t), 0).empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_BAD_SOURCE));
	Bytes f = tcp_frame(syn_to("198.51.100.11"));
	f[14 + 10] ^= 0xff;	/* IPv4 header checksum */
	EXPECT_TRUE(run(f, 0).empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_BAD_CHECKSUM));
	f = tcp_frame(syn_to("198.51.100.11"));
	f.resize(30);	/* truncated inside the IPv4 header */
	EXPECT_TRUE(run(f, 0).empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_PARSE_ERROR));
}

TEST_F(Pipeline, EchoToAVipIsAnswered)
{
	Bytes f;
	Tcp base = syn_to("198.51.100.10");
	Bytes q = tcp_frame(base);
	/* an echo request built from the ICMP builder with type 8 */
	Bytes e = icmp_error_frame(port_mac(0), CLIENT_MAC, CLIENT,
				   ip_of("198.51.100.10"), 8, 0, 0,
				   Bytes(q.begin() + 14, q.end()));
	auto out = run(e, 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_TRUE(checksums_ok(out[0].frame));
	struct ef_pkt_meta m = parse(out[0].frame);
	EXPECT_EQ(0, m.icmp_type);
	EXPECT_EQ(CLIENT, m.dst.v4);
	EXPECT_EQ(ip_of("198.51.100.10"), m.src.v4);
}

TEST_F(Pipeline, ReloadClosesFlowsToRemovedEndpoints)
{
	/* a UDP flow and a TCP flow to t/cluster's only endpoint 10.244.1.7 */
	Udp u = udp_to("198.51.100.11");
	ASSERT_EQ(1u, run(udp_frame(u), 0).size());
	ASSERT_EQ(1u, run(tcp_frame(syn_to("198.51.100.11")), 0).size());

	/* generation 2: t/cluster's endpoint moved to 10.244.0.6 */
	struct ef_svc_gen *g2 = moved_endpoint_gen();
	ASSERT_NE(nullptr, g2);
	struct ef_svc_gen *old = sh.gen;
	sh.gen = g2;

	/* UDP: the old entry goes, the datagram picks the new endpoint */
	auto out = run(udp_frame(u), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(ip_of("10.244.0.6"), parse(out[0].frame).dst.v4);
	/* TCP: the connection is closed, its segment dropped */
	Tcp t = syn_to("198.51.100.11");
	t.flags = 0x10;
	t.seq = 1001;
	out = run(tcp_frame(t), 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_ENDPOINT_REMOVED));
	ef_svc_gen_free(old);
}

TEST_F(Pipeline, SweepAfterReloadClosesIdleFlowsToRemovedEndpoints)
{
	Udp u = udp_to("198.51.100.11");
	ASSERT_EQ(1u, run(udp_frame(u), 0).size());	/* to 10.244.1.7 */
	ASSERT_EQ(1u, run(tcp_frame(syn_to("198.51.100.10")), 0).size());
	ASSERT_EQ(1u, w()->c.snat_flows);
	EXPECT_EQ(2u, ef_ct_stats(w()->ct)->active);

	/* generation 2 without 10.244.1.7 in t/cluster; t/local unchanged */
	struct ef_svc_gen *g2 = moved_endpoint_gen();
	ASSERT_NE(nullptr, g2);
	struct ef_svc_gen *old = sh.gen;
	sh.gen = g2;
	ef_fwd_request_sweep(&sh, 2);
	/* no packet: the sweep alone closes the UDP flow, keeps the other */
	for (int i = 0; i < 4; i++) {
		ef_fwd_begin(w());
		ef_fwd_housekeep(w(), 0);
	}
	EXPECT_EQ(1u, ef_ct_stats(w()->ct)->active);
	EXPECT_EQ(1u, w()->c.flows_swept);
	EXPECT_EQ(0u, w()->c.snat_flows);
	EXPECT_EQ(2u, w()->sweep_done);
	ef_svc_gen_free(old);
}

TEST_F(Pipeline, CappedSweepKeepsSurvivorsAndClosesTheRestAcrossSlices)
{
	/* 40 TCP flows to t/local (10.244.0.5, unchanged by the reload)
	 * and 40 UDP flows to t/cluster's 10.244.1.7 (gone), interleaved */
	const uint32_t n = 40;
	for (uint32_t i = 0; i < n; i++) {
		Tcp t = syn_to("198.51.100.10");
		t.sport = (uint16_t)(40000 + i);
		ASSERT_EQ(1u, run(tcp_frame(t), 0).size());
		Udp u = udp_to("198.51.100.11");
		u.sport = (uint16_t)(50000 + i);
		ASSERT_EQ(1u, run(udp_frame(u), 0).size());
	}
	ASSERT_EQ(2 * n, ef_ct_stats(w()->ct)->active);

	struct ef_svc_gen *g2 = moved_endpoint_gen();
	ASSERT_NE(nullptr, g2);
	/* t/local lost nothing: its flows are kept without a lookup */
	uint32_t local = g2->svcs[ef_svc_find(g2, "t/local")].stable_id;
	uint32_t cluster = g2->svcs[ef_svc_find(g2, "t/cluster")].stable_id;
	EXPECT_TRUE(ef_svc_endpoint_kept(g2, local, 1));
	EXPECT_FALSE(ef_svc_endpoint_kept(g2, cluster, 1));
	struct ef_svc_gen *old = sh.gen;
	sh.gen = g2;
	ef_fwd_request_sweep(&sh, 2);
	/* the shortest slice: one look at the clock, SWEEP_CHUNK slots */
	w()->sweep_slice_tsc = 1;
	ef_fwd_begin(w());
	ef_fwd_housekeep(w(), 0);
	EXPECT_NE(2u, w()->sweep_done);
	EXPECT_GT(ef_ct_stats(w()->ct)->active, n);
	uint32_t polls = 1;
	while (w()->sweep_done != 2 && polls < 10000) {
		ef_fwd_begin(w());
		ef_fwd_housekeep(w(), 0);
		polls++;
	}
	EXPECT_EQ(2u, w()->sweep_done);
	EXPECT_GE(polls, ef_ct_capacity(w()->ct) / 64);
	EXPECT_EQ(n, ef_ct_stats(w()->ct)->active);
	EXPECT_EQ(n, w()->c.flows_swept);
	/* a kept flow forwards on (its SYN retransmitted): no new flow */
	Tcp t = syn_to("198.51.100.10");
	t.sport = 40007;
	uint64_t created = w()->c.flows_created;
	EXPECT_EQ(1u, run(tcp_frame(t), 0).size());
	EXPECT_EQ(created, w()->c.flows_created);
	EXPECT_EQ(0u, drops(EF_FWD_DROP_ENDPOINT_REMOVED));
	ef_svc_gen_free(old);
}

TEST_F(Pipeline, TwoWorkersHandOffToTheOwner)
{
	build("", 2);
	/* find a client whose owner is worker 1 and send it to worker 0 */
	uint32_t src = 0;
	struct ef_ct_key4 k = {};
	for (uint32_t i = 1; i < 1000 && src == 0; i++) {
		k.src = htonl(0x0b000000u + i);
		k.dst = ip_of("198.51.100.11");
		k.proto = 6;
		if (ef_fwd_owner(&sh, sh.gen, &k) == 1)
			src = k.src;
	}
	ASSERT_NE(0u, src);
	auto out = run(tcp_frame(syn_to("198.51.100.11", 40000, src)), 0, 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, w(0)->c.handoff_packets);
	struct rte_mbuf *m;
	ASSERT_EQ(0, rte_ring_dequeue(w(1)->handoff_in[0], (void **)&m));
	ef_fwd_begin(w(1));
	w(1)->now_ms = now_ms;
	ef_fwd_process(w(1), &m, 1, true);
	out = collect(1);
	ASSERT_EQ(1u, out.size());
	struct ef_pkt_meta pm = parse(out[0].frame);
	/* the SNAT port comes from worker 1's slice, so replies meet it */
	EXPECT_EQ(1u, ef_nat_port_owner(&nat, ntohs(pm.sport)));
	k.src = pm.dst.v4;
	k.dst = pm.src.v4;
	k.sport = pm.dport;
	k.dport = pm.sport;
	EXPECT_EQ(1u, ef_fwd_owner(&sh, sh.gen, &k));
}

/* -- frames to a next hop not yet resolved wait for it (EF_FWD_HOLD_*) -- */

TEST_F(Pipeline, FramesToAnUnresolvedNextHopWaitAndLeaveOnceResolved)
{
	ASSERT_EQ(0, ef_neigh_del4(sh.neigh, 1, ip_of("10.244.0.5")));
	EXPECT_TRUE(run(tcp_frame(syn_to("198.51.100.10")), 0).empty());
	EXPECT_TRUE(run(tcp_frame(syn_to("198.51.100.10", 40001)), 0).empty());
	EXPECT_EQ(1u, w()->n_hold);
	EXPECT_EQ(2u, w()->c.neigh_held);
	EXPECT_EQ(0u, drops(EF_FWD_DROP_NO_NEIGHBOR));
	/* still unresolved: they keep waiting */
	w()->now_ms = now_ms + EF_FWD_HOLD_MS - 1;
	ef_fwd_hold_release(w());
	EXPECT_TRUE(collect().empty());
	/* the answer comes: both leave, in order, as if never held */
	ASSERT_EQ(0, ef_neigh_learn4(sh.neigh, 1, ip_of("10.244.0.5"),
				     POD5_MAC.b));
	ef_fwd_hold_release(w());
	auto out = collect();
	ASSERT_EQ(2u, out.size());
	Tcp e = syn_to("198.51.100.10");
	e.dmac = POD5_MAC;
	e.smac = port_mac(1);
	e.dip = ip_of("10.244.0.5");
	e.dport = 8080;
	e.ttl = 63;
	EXPECT_EQ(1, out[0].iface);
	EXPECT_EQ(hex(tcp_frame(e)), hex(out[0].frame));
	e.sport = 40001;
	EXPECT_EQ(hex(tcp_frame(e)), hex(out[1].frame));
	EXPECT_EQ(0u, w()->n_hold);
	EXPECT_EQ(2u, w()->c.neigh_released);
	/* resolved now: the next frame goes straight out */
	EXPECT_EQ(1u, run(tcp_frame(syn_to("198.51.100.10", 40002)), 0).size());
}

TEST_F(Pipeline, HeldFramesAreBoundedAndDroppedWhenResolutionFails)
{
	ASSERT_EQ(0, ef_neigh_del4(sh.neigh, 1, ip_of("10.244.0.5")));
	for (uint16_t i = 0; i < EF_FWD_HOLD_PKTS + 2; i++)
		EXPECT_TRUE(run(tcp_frame(syn_to("198.51.100.10",
						 (uint16_t)(41000 + i))),
				0).empty());
	EXPECT_EQ(EF_FWD_HOLD_PKTS, w()->c.neigh_held);
	EXPECT_EQ(2u, drops(EF_FWD_DROP_NEIGH_HOLD_FULL));
	w()->now_ms = now_ms + EF_FWD_HOLD_MS;
	ef_fwd_hold_release(w());
	EXPECT_TRUE(collect().empty());
	EXPECT_EQ(EF_FWD_HOLD_PKTS, drops(EF_FWD_DROP_NO_NEIGHBOR));
	EXPECT_EQ(0u, w()->n_hold);

	/* more unresolved next hops than slots: replies of a Local flow to
	 * EF_FWD_HOLD_HOPS + 1 clients whose MACs nobody knows */
	for (uint32_t i = 0; i <= EF_FWD_HOLD_HOPS; i++) {
		uint32_t client = htonl(ntohl(ip_of("198.51.100.100")) + i);
		ASSERT_EQ(0, ef_neigh_learn4(sh.neigh, 1, ip_of("10.244.0.5"),
					     POD5_MAC.b));
		ASSERT_EQ(1u, run(tcp_frame(syn_to("198.51.100.10", 40000,
						   client)), 0).size());
		Tcp r;
		r.dmac = port_mac(1);
		r.smac = POD5_MAC;
		r.sip = ip_of("10.244.0.5");
		r.dip = client;
		r.sport = 8080;
		r.dport = 40000;
		r.flags = 0x12;
		r.seq = 5000;
		r.ack = 1001;
		EXPECT_TRUE(run(tcp_frame(r), 1).empty());
	}
	EXPECT_EQ(EF_FWD_HOLD_HOPS, w()->n_hold);
	EXPECT_EQ(3u, drops(EF_FWD_DROP_NEIGH_HOLD_FULL));
	/* stopping the worker frees what it holds (the pool checks it) */
}

/* Ethernet + IPv4 with the Router Alert option + IGMPv3 report, as the
 * Linux bridge sends when a port comes up (224.0.0.22, source 0.0.0.0). */
static Bytes
igmp_report(const Mac &smac)
{
	Bytes f = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x16 };
	f.insert(f.end(), smac.b, smac.b + 6);
	f.insert(f.end(), { 0x08, 0x00 });
	Bytes ip = { 0x46, 0xc0, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00,
		     0x01, 0x02, 0x00, 0x00, 0, 0, 0, 0, 224, 0, 0, 22,
		     0x94, 0x04, 0x00, 0x00 };
	uint16_t c = csum(ip.data(), ip.size());
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	Bytes igmp = { 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		       0x04, 0x00, 0x00, 0x00, 224, 0, 0, 106 };
	c = csum(igmp.data(), igmp.size());
	igmp[2] = (uint8_t)(c >> 8);
	igmp[3] = (uint8_t)c;
	f.insert(f.end(), ip.begin(), ip.end());
	f.insert(f.end(), igmp.begin(), igmp.end());
	return f;
}

TEST_F(Pipeline, LinkLocalMulticastGoesToTheKernelOtherGroupsAreDropped)
{
	auto out = run(igmp_report(POD5_MAC), 1);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, drain_ctrl());
	/* mDNS (224.0.0.251) and limited broadcast: the link's hosts too */
	Udp u = udp_to("224.0.0.251");
	u.dport = 5353;
	EXPECT_TRUE(run(udp_frame(u), 0).empty());
	u = udp_to("255.255.255.255");
	u.dport = 67;
	EXPECT_TRUE(run(udp_frame(u), 0).empty());
	EXPECT_EQ(2u, drain_ctrl());
	EXPECT_EQ(3u, w()->c.exception_packets);
	/* SSDP (239.255.255.250): not routed, counted as what it is */
	u = udp_to("239.255.255.250");
	u.dport = 1900;
	EXPECT_TRUE(run(udp_frame(u), 0).empty());
	EXPECT_EQ(0u, drain_ctrl());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_MULTICAST));
	for (unsigned int r = 0; r < EF_FWD_DROP_MAX; r++) {
		if (r != EF_FWD_DROP_MULTICAST) {
			EXPECT_EQ(0u, drops((enum ef_fwd_drop)r))
				<< ef_fwd_drop_name(r);
		}
	}
}

/* -- worker commands run in bounded slices (EF_FWD_CMD_BUDGET) -- */

TEST_F(Pipeline, FlowSampleAndFlushRunInBoundedSlices)
{
	const uint32_t n_flows = 600;

	for (uint32_t i = 0; i < n_flows; i++)
		ASSERT_EQ(1u, run(udp_frame([&] {
			Udp u = udp_to("198.51.100.11");
			u.sport = (uint16_t)(10000 + i);
			return u;
		}()), 0).size());
	ASSERT_EQ(n_flows, ef_ct_stats(w()->ct)->active);

	/* a sample asking for more than there is walks the whole table, a
	 * budget of slots per poll, and counts states from the counters */
	std::vector<struct ef_fwd_flow_info> buf(n_flows + 10);
	struct ef_fwd_cmd cmd = {};
	cmd.type = EF_FWD_CMD_FLOW_SAMPLE;
	cmd.max = (uint32_t)buf.size();
	cmd.out = buf.data();
	ASSERT_EQ(0, rte_ring_mp_enqueue(w()->cmd, &cmd));
	uint32_t polls = 0;
	while (!__atomic_load_n(&cmd.done, __ATOMIC_ACQUIRE) && polls < 100000) {
		ef_fwd_housekeep(w(), 0);
		polls++;
	}
	ASSERT_EQ(1, cmd.done);
	EXPECT_GE(polls, (n_flows + EF_FWD_CMD_BUDGET - 1) / EF_FWD_CMD_BUDGET);
	EXPECT_EQ(n_flows, cmd.n_out);
	EXPECT_EQ(n_flows, cmd.by_state[EF_CT_UDP_NEW]);
	EXPECT_EQ(nullptr, w()->cmd_cur);

	/* a sample of 8 is done in the first slice */
	struct ef_fwd_cmd small = {};
	small.type = EF_FWD_CMD_FLOW_SAMPLE;
	small.max = 8;
	small.out = buf.data();
	ASSERT_EQ(0, rte_ring_mp_enqueue(w()->cmd, &small));
	ef_fwd_housekeep(w(), 0);
	EXPECT_EQ(1, small.done);
	EXPECT_EQ(8u, small.n_out);
	EXPECT_EQ(n_flows, small.by_state[EF_CT_UDP_NEW]);

	/* a flush takes several polls, never the whole table in one */
	struct ef_fwd_cmd flush = {};
	flush.type = EF_FWD_CMD_FLUSH_FLOWS;
	ASSERT_EQ(0, rte_ring_mp_enqueue(w()->cmd, &flush));
	ef_fwd_housekeep(w(), 0);
	EXPECT_EQ(0, flush.done);
	EXPECT_LT(ef_ct_stats(w()->ct)->active, n_flows);
	EXPECT_GT(ef_ct_stats(w()->ct)->active, 0u);
	for (polls = 0; !flush.done && polls < 100000; polls++)
		ef_fwd_housekeep(w(), 0);
	EXPECT_EQ(1, flush.done);
	EXPECT_EQ(0u, ef_ct_stats(w()->ct)->active);
	EXPECT_EQ(n_flows, w()->c.flows_closed);
}

/* -- IPv4 options on service traffic: source routes dropped, the rest
 * overwritten with NOPs both ways (docs/RELIABILITY.md) -- */

/* f with IPv4 options opts (a multiple of 4) inserted after the header */
static Bytes
with_ip_options(const Bytes &f, const Bytes &opts)
{
	Bytes b(f.begin(), f.begin() + 34);
	b.insert(b.end(), opts.begin(), opts.end());
	b.insert(b.end(), f.begin() + 34, f.end());
	b[14] = (uint8_t)(0x40 | (20 + opts.size()) / 4);
	uint16_t tot = (uint16_t)(b.size() - 14);
	b[16] = (uint8_t)(tot >> 8);
	b[17] = (uint8_t)tot;
	b[24] = b[25] = 0;
	uint16_t c = csum(&b[14], 20 + opts.size());
	b[24] = (uint8_t)(c >> 8);
	b[25] = (uint8_t)c;
	return b;
}

TEST_F(Pipeline, IpOptionsAreClearedBothWaysSoNoInternalAddressLeaks)
{
	/* the client's SYN with an empty Record Route (room for 2) */
	const Bytes rr = { 0x07, 0x0b, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0x00 };
	auto out = run(with_ip_options(tcp_frame(syn_to("198.51.100.11")), rr),
		       0);
	ASSERT_EQ(1u, out.size());
	const Bytes &o = out[0].frame;
	ASSERT_EQ(0x48, o[14]);		/* IHL kept: 12 option bytes */
	EXPECT_EQ(Bytes(12, 0x01), Bytes(o.begin() + 34, o.begin() + 46));
	EXPECT_TRUE(checksums_ok(o));
	struct ef_pkt_meta m = parse(o);
	EXPECT_EQ(ip_of("10.244.1.7"), m.dst.v4);

	/* the pod's SYN-ACK echoes a Record Route holding its own address:
	 * the client gets NOPs, and no 10.x byte pattern of the pod */
	Tcp r;
	r.dmac = port_mac(2);
	r.smac = NODEB_MAC;
	r.sip = ip_of("10.244.1.7");
	r.dip = m.src.v4;
	r.sport = 8080;
	r.dport = ntohs(m.sport);
	r.flags = 0x12;
	r.seq = 7000;
	r.ack = 1001;
	const Bytes rr_pod = { 0x07, 0x0b, 0x08, 10, 244, 1, 7, 0, 0, 0, 0, 0 };
	out = run(with_ip_options(tcp_frame(r), rr_pod), 2);
	ASSERT_EQ(1u, out.size());
	const Bytes &back = out[0].frame;
	EXPECT_EQ(0, out[0].iface);
	EXPECT_EQ(Bytes(12, 0x01), Bytes(back.begin() + 34, back.begin() + 46));
	EXPECT_TRUE(checksums_ok(back));
	const uint8_t pod[4] = { 10, 244, 1, 7 };
	EXPECT_EQ(back.end(), std::search(back.begin(), back.end(), pod, pod + 4));
	EXPECT_EQ(2u, w()->c.ip_options_cleared);

	/* without options nothing is touched (and nothing counted) */
	ASSERT_EQ(1u, run(tcp_frame(syn_to("198.51.100.11", 40100)), 0).size());
	EXPECT_EQ(2u, w()->c.ip_options_cleared);
}

TEST_F(Pipeline, SourceRoutedPacketsAreDropped)
{
	/* loose source route via 10.244.0.5, then strict: never followed */
	const Bytes lsrr = { 0x01, 0x83, 0x07, 0x04, 10, 244, 0, 5 };
	const Bytes ssrr = { 0x89, 0x07, 0x04, 10, 244, 0, 5, 0x00 };
	EXPECT_TRUE(run(with_ip_options(tcp_frame(syn_to("198.51.100.11")),
					lsrr), 0).empty());
	EXPECT_TRUE(run(with_ip_options(tcp_frame(syn_to("198.51.100.1")),
					ssrr), 0).empty());
	EXPECT_EQ(2u, drops(EF_FWD_DROP_IP_SOURCE_ROUTE));
	EXPECT_EQ(0u, w()->c.flows_created);
	EXPECT_EQ(0u, drain_ctrl());
}
