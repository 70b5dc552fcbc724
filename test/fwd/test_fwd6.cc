/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv6 pipeline fixtures (issue 12, lib/fwd/fwd6.c): frames through the
 * real burst function against expected frames built by test/shim/frames
 * (its own IPv6 header and pseudo-header checksums, no lib/pkt code), as
 * test_fwd.cc does for IPv4.
 */
#include <arpa/inet.h>
#include <cstring>
#include <set>

#include <rte_ring.h>

#include <gtest/gtest.h>

#include "ef_cfg.h"
#include "ef_fwd.h"
#include "ef_nat.h"
#include "ef_neigh.h"
#include "ef_pkt.h"
#include "ef_svc.h"
#include "frames.h"
#include "rig.h"

static const char *DUAL_CONF = R"(
node = { name = "node-a"; snat_addresses = [ "10.0.0.1", "fd00:10::1" ]; };
interfaces = (
  { port = "p0"; addresses = [ "198.51.100.1/24", "2001:db8:100::1/64" ]; },
  { port = "p1"; addresses = [ "10.244.0.1/24", "fd00:244::1/64" ]; },
  { port = "p2"; addresses = [ "10.0.0.1/24", "fd00:10::1/64" ]; mtu = 1400; }
);
routes = ( { prefix = "10.244.1.0/24"; via = "10.0.0.2"; },
           { prefix = "fd00:244:1::/64"; via = "fd00:10::2"; } );
conntrack = { max_flows = 1024; udp_timeout = 30;
  syn_cookie_threshold = 67108864; };
services = (
  { name = "t/local"; type = "LoadBalancer"; ip_families = [ "IPv4", "IPv6" ];
    load_balancer_ips = [ "198.51.100.10", "2001:db8:100::10" ];
    external_traffic_policy = "Local";
    ports = ( { protocol = "TCP"; port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; },
                  { address = "fd00:244::5"; node = "node-a"; },
                  { address = "fd00:244:1::7"; node = "node-b"; } ); },
  { name = "t/cluster"; type = "LoadBalancer"; ip_families = [ "IPv6" ];
    load_balancer_ips = [ "2001:db8:100::11" ];
    ports = ( { name = "http"; protocol = "TCP"; port = 80; target_port = 8080; },
              { name = "dns"; protocol = "UDP"; port = 53; target_port = 5353; } );
    endpoints = ( { address = "fd00:244:1::7"; node = "node-b"; } ); },
  { name = "t/none"; type = "LoadBalancer"; ip_families = [ "IPv6" ];
    load_balancer_ips = [ "2001:db8:100::13" ];
    ports = ( { name = "http"; protocol = "TCP"; port = 80; target_port = 8080; },
              { name = "dns"; protocol = "UDP"; port = 53; target_port = 53; } );
    endpoints = ( ); },
  { name = "t/aff6"; type = "LoadBalancer"; ip_families = [ "IPv6" ];
    load_balancer_ips = [ "2001:db8:100::14" ];
    session_affinity = "ClientIP"; session_affinity_timeout = 60;
    ports = ( { protocol = "TCP"; port = 80; target_port = 8080; } );
    endpoints = ( { address = "fd00:244:1::7"; node = "node-b"; },
                  { address = "fd00:244:1::8"; node = "node-b"; },
                  { address = "fd00:244:1::9"; node = "node-b"; } ); }
);
)";

static const Mac CLIENT_MAC = mac_of("02:aa:00:00:00:02");
static const Mac POD5_MAC = mac_of("02:bb:00:00:00:05");
static const Mac NODEB_MAC = mac_of("02:cc:00:00:00:02");
static const Ip6a CLIENT6 = ip6_of("2001:db8:100::2");
static const Ip6a VIP_LOCAL = ip6_of("2001:db8:100::10");
static const Ip6a VIP_CLUSTER = ip6_of("2001:db8:100::11");
static const Ip6a VIP_NONE = ip6_of("2001:db8:100::13");
static const Ip6a POD5 = ip6_of("fd00:244::5");
static const Ip6a PODB = ip6_of("fd00:244:1::7");
static const Ip6a SNAT6 = ip6_of("fd00:10::1");

class Pipeline6 : public PipeRig {
protected:
	void SetUp() override { build(1); }

	void build(uint32_t workers, bool neighbours = true)
	{
		RigOpts o;

		number = 0;
		o.pool_prefix = "t6pool";
		o.pool_size = 4095;
		o.workers = workers;
		o.connect = true;
		if (neighbours)
			o.neigh6 = { { 0, CLIENT6, CLIENT_MAC },
				     { 1, POD5, POD5_MAC },
				     { 2, ip6_of("fd00:10::2"), NODEB_MAC } };
		if (neighbours)
			rig_up(DUAL_CONF, o,
			       { { 1, htonl(0x0af40005), POD5_MAC } });
		else
			rig_up(DUAL_CONF, o, {});
	}

	/* The next generation: DUAL_CONF with its first "was" (of which the
	 * first n bytes, all when n is 0) replaced by "now"; NULL when was is
	 * not there or the generation fails */
	struct ef_svc_gen *edited_gen(const char *was, const char *now,
				      size_t n = 0)
	{
		std::string text(DUAL_CONF);
		size_t at = text.find(was);

		if (at == std::string::npos)
			return nullptr;
		text.replace(at, n != 0 ? n : strlen(was), now);
		return gen_of(text, sh.gen);
	}

	/* t/cluster's endpoint moved to fd00:244:1::8, the rest unchanged */
	struct ef_svc_gen *moved_endpoint_gen()
	{
		return edited_gen("{ address = \"fd00:244:1::7\"; node = "
				  "\"node-b\"; } ); },\n  { name = \"t/none\"",
				  "{ address = \"fd00:244:1::8\"",
				  strlen("{ address = \"fd00:244:1::7\""));
	}

	uint64_t drops(enum ef_fwd_drop r, uint32_t wi = 0)
	{
		return w(wi)->c.drops[r];
	}

	Tcp6 syn_to(const Ip6a &vip, uint16_t sport = 40000)
	{
		Tcp6 t;
		t.dmac = port_mac(0);
		t.smac = CLIENT_MAC;
		t.sip = CLIENT6;
		t.dip = vip;
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

TEST_F(Pipeline6, LocalSynIsDnatedToTheLocalIpv6EndpointOnly)
{
	auto out = run(tcp6_frame(syn_to(VIP_LOCAL)), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(1, out[0].iface);
	Tcp6 e = syn_to(VIP_LOCAL);
	e.dmac = POD5_MAC;
	e.smac = port_mac(1);
	e.dip = POD5;
	e.dport = 8080;
	e.hlim = 63;
	EXPECT_EQ(hex(tcp6_frame(e)), hex(out[0].frame));
	EXPECT_EQ(1u, w()->c.flows6_created);
	EXPECT_EQ(1u, ef_ct_stats(w()->ct6)->active);
	EXPECT_EQ(0u, ef_ct_stats(w()->ct)->active);
	/* never the remote one (Local), never the IPv4 endpoint (family) */
	for (int i = 0; i < 40; i++) {
		auto o = run(tcp6_frame(syn_to(VIP_LOCAL, (uint16_t)(41000 + i))),
			     0);
		ASSERT_EQ(1u, o.size());
		EXPECT_EQ(0, memcmp(POD5.b, parse(o[0].frame).dst.v6, 16));
	}
}

TEST_F(Pipeline6, LocalReplyIsUnNatedToTheClient)
{
	run(tcp6_frame(syn_to(VIP_LOCAL)), 0);
	Tcp6 r;
	r.dmac = port_mac(1);
	r.smac = POD5_MAC;
	r.sip = POD5;
	r.dip = CLIENT6;
	r.sport = 8080;
	r.dport = 40000;
	r.flags = 0x12;
	r.seq = 5000;
	r.ack = 1001;
	auto out = run(tcp6_frame(r), 1);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	Tcp6 e = r;
	e.dmac = CLIENT_MAC;
	e.smac = port_mac(0);
	e.sip = VIP_LOCAL;
	e.sport = 80;
	e.hlim = 63;
	EXPECT_EQ(hex(tcp6_frame(e)), hex(out[0].frame));
}

TEST_F(Pipeline6, ClusterSynIsSnat66dAndTheReplyComesBack)
{
	auto out = run(tcp6_frame(syn_to(VIP_CLUSTER)), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(2, out[0].iface);
	struct ef_pkt_meta m = parse(out[0].frame);
	uint16_t sport = ntohs(m.sport);
	uint16_t lo, hi;
	ef_nat_slice(&nat, 0, &lo, &hi);
	EXPECT_GE(sport, lo);
	EXPECT_LE(sport, hi);
	Tcp6 e = syn_to(VIP_CLUSTER);
	e.dmac = NODEB_MAC;
	e.smac = port_mac(2);
	e.sip = SNAT6;
	e.sport = sport;
	e.dip = PODB;
	e.dport = 8080;
	e.hlim = 63;
	EXPECT_EQ(hex(tcp6_frame(e)), hex(out[0].frame));
	EXPECT_EQ(1u, w()->c.snat_flows);

	Tcp6 r;
	r.dmac = port_mac(2);
	r.smac = NODEB_MAC;
	r.sip = PODB;
	r.dip = SNAT6;
	r.sport = 8080;
	r.dport = sport;
	r.flags = 0x12;
	r.seq = 7000;
	r.ack = 1001;
	out = run(tcp6_frame(r), 2);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	Tcp6 er = r;
	er.dmac = CLIENT_MAC;
	er.smac = port_mac(0);
	er.sip = VIP_CLUSTER;
	er.sport = 80;
	er.dip = CLIENT6;
	er.dport = 40000;
	er.hlim = 63;
	EXPECT_EQ(hex(tcp6_frame(er)), hex(out[0].frame));
}

TEST_F(Pipeline6, UdpFlowsGetDistinctSnatPorts)
{
	std::set<uint16_t> ports;

	for (uint16_t i = 0; i < 20; i++) {
		auto out = run(udp6_frame(port_mac(0), CLIENT_MAC, CLIENT6,
					  VIP_CLUSTER, (uint16_t)(5000 + i), 53,
					  Bytes(12, 'q')), 0);
		ASSERT_EQ(1u, out.size());
		struct ef_pkt_meta m = parse(out[0].frame);
		EXPECT_EQ(0, memcmp(SNAT6.b, m.src.v6, 16));
		EXPECT_EQ(5353, ntohs(m.dport));
		EXPECT_TRUE(ef_pkt_l4_csum_ok(out[0].frame.data(), &m));
		ports.insert(m.sport);
	}
	EXPECT_EQ(20u, ports.size());
	EXPECT_EQ(20u, ef_ct_stats(w()->ct6)->active);
}

/* The IPv6 frames of a burst are staged as IPv4's (one bulk lookup):
 * the second datagram of a new flow in the same burst was looked up
 * before the first created the flow, and must follow it all the same. */
TEST_F(Pipeline6, DatagramsOfANewFlowInOneBurstAllGetThrough)
{
	std::vector<Bytes> in;

	for (int i = 0; i < 3; i++)
		in.push_back(udp6_frame(port_mac(0), CLIENT_MAC, CLIENT6,
					VIP_CLUSTER, 5000, 53, Bytes(12, 'q')));
	auto out = run_burst(in, 0);
	ASSERT_EQ(3u, out.size());
	EXPECT_EQ(hex(out[0].frame), hex(out[1].frame));
	EXPECT_EQ(hex(out[0].frame), hex(out[2].frame));
	EXPECT_EQ(1u, ef_ct_stats(w()->ct6)->active);
	EXPECT_EQ(0u, drops(EF_FWD_DROP_CT_INVALID));
}

/* Both families in one burst, interleaved: each frame its own way. */
TEST_F(Pipeline6, MixedFamiliesInOneBurstEachGoTheirWay)
{
	std::vector<Bytes> in;

	for (uint16_t i = 0; i < 8; i++) {
		Tcp t;

		t.dmac = port_mac(0);
		t.smac = CLIENT_MAC;
		t.sip = htonl(0xc6336402);	/* 198.51.100.2 */
		t.dip = htonl(0xc633640a);	/* 198.51.100.10, Local */
		t.sport = (uint16_t)(6000 + i);
		t.dport = 80;
		t.flags = 0x02;
		in.push_back(tcp_frame(t));
		in.push_back(udp6_frame(port_mac(0), CLIENT_MAC, CLIENT6,
					VIP_CLUSTER, (uint16_t)(6000 + i), 53,
					Bytes(12, 'q')));
	}
	auto out = run_burst(in, 0);
	ASSERT_EQ(16u, out.size());
	unsigned int v4 = 0, v6 = 0;
	for (const auto &o : out) {
		struct ef_pkt_meta m = parse(o.frame);

		EXPECT_TRUE(ef_pkt_l4_csum_ok(o.frame.data(), &m));
		if (m.l3 == EF_PKT_L3_IPV6)
			v6++;
		else
			v4++;
	}
	EXPECT_EQ(8u, v4);
	EXPECT_EQ(8u, v6);
	EXPECT_EQ(8u, ef_ct_stats(w()->ct6)->active);
	EXPECT_EQ(8u, ef_ct_stats(w()->ct)->active);
}

TEST_F(Pipeline6, NoEndpointTcpGetsRstUdpGetsPortUnreachable)
{
	auto out = run(tcp6_frame(syn_to(VIP_NONE)), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	/* RST|ACK, seq 0, ack = SYN + 1, window 0, from the VIP */
	Bytes want = ipv6_frame(CLIENT_MAC, port_mac(0), VIP_NONE, CLIENT6, 6,
				tcp_segment(80, 40000, 0x14, 0, 1001, 0, {}),
				64);
	EXPECT_EQ(hex(want), hex(out[0].frame));
	EXPECT_EQ(1u, w()->c.rst_sent);
	EXPECT_EQ(1u, drops(EF_FWD_DROP_NO_ENDPOINT));

	out = run(udp6_frame(port_mac(0), CLIENT_MAC, CLIENT6, VIP_NONE, 5000,
			     53, Bytes(8, 'x')), 0);
	ASSERT_EQ(1u, out.size());
	struct ef_pkt_meta m = parse(out[0].frame);
	EXPECT_EQ(IPPROTO_ICMPV6, m.proto);
	EXPECT_EQ(1, m.icmp_type);
	EXPECT_EQ(4, m.icmp_code);
	EXPECT_EQ(0, memcmp(VIP_NONE.b, m.src.v6, 16));
	EXPECT_EQ(0, memcmp(CLIENT6.b, m.dst.v6, 16));
	EXPECT_TRUE(ef_pkt_l4_csum_ok(out[0].frame.data(), &m));
}

TEST_F(Pipeline6, NeighborSolicitationsForOurAddressesAreAnswered)
{
	for (const Ip6a &target : { VIP_LOCAL, ip6_of("2001:db8:100::1") }) {
		auto out = run(ns_frame(CLIENT_MAC, CLIENT6, target), 0);
		ASSERT_EQ(1u, out.size());
		EXPECT_EQ(0, out[0].iface);
		const Bytes &f = out[0].frame;
		struct ef_pkt_meta m = parse(f);
		struct ef_pkt_ndp nd;
		ASSERT_EQ(0, ef_pkt_ndp_parse(f.data(), &m, &nd));
		EXPECT_EQ(EF_PKT_ND_NA, nd.type);
		EXPECT_EQ(EF_PKT_NA_F_SOLICITED | EF_PKT_NA_F_OVERRIDE, nd.flags);
		EXPECT_EQ(0, memcmp(target.b, nd.target, 16));
		ASSERT_TRUE(nd.has_lladdr);
		EXPECT_EQ(0, memcmp(port_mac(0).b, nd.lladdr, 6));
		EXPECT_EQ(0, memcmp(CLIENT_MAC.b, f.data(), 6));
		EXPECT_EQ(0, memcmp(CLIENT6.b, m.dst.v6, 16));
		EXPECT_EQ(0, memcmp(target.b, m.src.v6, 16));
	}
	EXPECT_EQ(2u, w()->c.nd_advertisements);
	/* each asker also went to the control lcore (to be learned) */
	EXPECT_EQ(2u, drain_ctrl());
	/* an address that is not ours: dropped, counted */
	EXPECT_TRUE(run(ns_frame(CLIENT_MAC, CLIENT6,
				 ip6_of("2001:db8:100::99")), 0).empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_NOT_FOR_US));
	/* duplicate address detection (from ::): the NA goes to all-nodes */
	auto out = run(ns_frame(CLIENT_MAC, ip6_of("::"), VIP_LOCAL), 0);
	ASSERT_EQ(1u, out.size());
	struct ef_pkt_meta m = parse(out[0].frame);
	EXPECT_EQ(0, memcmp(ip6_of("ff02::1").b, m.dst.v6, 16));
	EXPECT_EQ(0u, drain_ctrl());
}

TEST_F(Pipeline6, EchoToAVipIsAnsweredOtherNodeTrafficGoesToTheKernel)
{
	auto out = run(echo6_frame(port_mac(0), CLIENT_MAC, CLIENT6, VIP_LOCAL,
				   7, 1), 0);
	ASSERT_EQ(1u, out.size());
	struct ef_pkt_meta m = parse(out[0].frame);
	EXPECT_EQ(129, m.icmp_type);
	EXPECT_EQ(0, memcmp(VIP_LOCAL.b, m.src.v6, 16));
	EXPECT_TRUE(ef_pkt_l4_csum_ok(out[0].frame.data(), &m));
	/* SSH to the node's IPv6 address: the kernel's */
	Tcp6 t = syn_to(ip6_of("2001:db8:100::1"));
	t.dport = 22;
	EXPECT_TRUE(run(tcp6_frame(t), 0).empty());
	EXPECT_EQ(1u, drain_ctrl());
	/* MLD and other link-scope groups: the kernel's too; global groups
	 * are not routed */
	Bytes mld(8, 0);
	mld[0] = 143;
	EXPECT_TRUE(run(ipv6_frame(mac_of("33:33:00:00:00:16"), CLIENT_MAC,
				   CLIENT6, ip6_of("ff02::16"), 58, mld, 1),
			0).empty());
	EXPECT_EQ(1u, drain_ctrl());
	EXPECT_TRUE(run(udp6_frame(mac_of("33:33:00:00:00:01"), CLIENT_MAC,
				   CLIENT6, ip6_of("ff0e::1"), 1, 2, Bytes(4)),
			0).empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_MULTICAST));
}

TEST_F(Pipeline6, HopLimitOneGetsTimeExceeded)
{
	Tcp6 t = syn_to(VIP_CLUSTER);
	t.hlim = 1;
	auto out = run(tcp6_frame(t), 0);
	ASSERT_EQ(1u, out.size());
	struct ef_pkt_meta m = parse(out[0].frame);
	EXPECT_EQ(3, m.icmp_type);
	EXPECT_EQ(0, memcmp(ip6_of("2001:db8:100::1").b, m.src.v6, 16));
	EXPECT_EQ(1u, drops(EF_FWD_DROP_TTL_EXCEEDED));
	EXPECT_EQ(0u, ef_ct_stats(w()->ct6)->active);
}

TEST_F(Pipeline6, TooBigForTheNextLinkGetsPacketTooBig)
{
	/* a SYN with data (the state machine drops an ACK with no SYN-ACK
	 * seen), 40 + 20 + 1400 bytes, to the pod behind p2 (MTU 1400) */
	Tcp6 t = syn_to(VIP_CLUSTER);
	t.payload = 1400;
	auto out = run(tcp6_frame(t), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	struct ef_pkt_meta m = parse(out[0].frame);
	EXPECT_EQ(2, m.icmp_type);
	const uint8_t *mtu = out[0].frame.data() + m.l4_off + 4;
	EXPECT_EQ(1400u, (uint32_t)mtu[0] << 24 | mtu[1] << 16 | mtu[2] << 8 |
		  mtu[3]);
	EXPECT_EQ(1u, drops(EF_FWD_DROP_MTU_EXCEEDED));
}

TEST_F(Pipeline6, PacketTooBigFromThePathIsTranslatedBackToTheClient)
{
	auto out = run(tcp6_frame(syn_to(VIP_CLUSTER)), 0);
	ASSERT_EQ(1u, out.size());
	/* node-b: the SNAT'd segment does not fit its next link */
	Bytes quoted(out[0].frame.begin() + 14, out[0].frame.end());
	Bytes icmp = { 2, 0, 0, 0, 0, 0, 0x05, 0x14 };	/* MTU 1300 */
	icmp.insert(icmp.end(), quoted.begin(), quoted.end());
	Bytes err = ipv6_frame(port_mac(2), NODEB_MAC, ip6_of("fd00:10::2"),
			       SNAT6, 58, icmp);
	auto back = run(err, 2);
	ASSERT_EQ(1u, back.size());
	EXPECT_EQ(0, back[0].iface);
	/* what the client must see: from the VIP, quoting its own SYN */
	Tcp6 q = syn_to(VIP_CLUSTER);
	q.hlim = 63;
	Bytes qf = tcp6_frame(q);
	Bytes want_icmp = { 2, 0, 0, 0, 0, 0, 0x05, 0x14 };
	want_icmp.insert(want_icmp.end(), qf.begin() + 14, qf.end());
	Bytes want = ipv6_frame(CLIENT_MAC, port_mac(0), VIP_CLUSTER, CLIENT6,
				58, want_icmp, 63);
	EXPECT_EQ(hex(want), hex(back[0].frame));
	EXPECT_EQ(1u, w()->c.icmp_errors_translated);
	/* an error quoting no flow of ours: counted, not forwarded */
	Bytes stray_q = quoted;
	stray_q[40 + 1] ^= 0x55;	/* another SNAT port */
	Bytes stray_icmp = { 2, 0, 0, 0, 0, 0, 0x05, 0x14 };
	stray_icmp.insert(stray_icmp.end(), stray_q.begin(), stray_q.end());
	EXPECT_TRUE(run(ipv6_frame(port_mac(2), NODEB_MAC, ip6_of("fd00:10::2"),
				   ip6_of("fd00:10::99"), 58, stray_icmp), 2)
		    .empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_ICMP_UNTRACKED));
}

TEST_F(Pipeline6, TwoWorkersHandOffToTheOwner)
{
	build(2);
	Tcp6 t = syn_to(VIP_CLUSTER);
	struct ef_ct_key6 k = {};
	bool found = false;
	for (uint32_t i = 1; i < 1000 && !found; i++) {
		t.sip = ip6_of("2001:db8:100::");
		t.sip.b[14] = (uint8_t)(i >> 8);
		t.sip.b[15] = (uint8_t)i;
		memcpy(k.src, t.sip.b, 16);
		memcpy(k.dst, VIP_CLUSTER.b, 16);
		k.proto = 6;
		found = ef_fwd_owner6(&sh, sh.gen, &k) == 1;
	}
	ASSERT_TRUE(found);
	EXPECT_TRUE(run(tcp6_frame(t), 0, 0).empty());
	EXPECT_EQ(1u, w(0)->c.handoff_packets);
	struct rte_mbuf *m;
	ASSERT_EQ(0, rte_ring_dequeue(w(1)->handoff_in[0], (void **)&m));
	ef_fwd_begin(w(1));
	w(1)->now_ms = now_ms;
	ef_fwd_process(w(1), &m, 1, true);
	auto out = collect(1);
	ASSERT_EQ(1u, out.size());
	struct ef_pkt_meta pm = parse(out[0].frame);
	/* the SNAT port comes from worker 1's slice: the reply meets it */
	EXPECT_EQ(1u, ef_nat_port_owner(&nat, ntohs(pm.sport)));
	memcpy(k.src, pm.dst.v6, 16);
	memcpy(k.dst, pm.src.v6, 16);
	k.sport = pm.dport;
	k.dport = pm.sport;
	EXPECT_EQ(1u, ef_fwd_owner6(&sh, sh.gen, &k));
}

TEST_F(Pipeline6, FramesToAnUnresolvedIpv6NextHopWaitForTheAnswer)
{
	build(1, false);
	ASSERT_EQ(0, ef_neigh_set_static6(sh.neigh, 0, CLIENT6.b,
					  CLIENT_MAC.b));
	EXPECT_TRUE(run(tcp6_frame(syn_to(VIP_LOCAL)), 0).empty());
	EXPECT_EQ(1u, w()->n_hold);
	EXPECT_EQ(1u, w()->c.neigh_held);
	ASSERT_EQ(0, ef_neigh_learn6(sh.neigh, 1, POD5.b, POD5_MAC.b));
	ef_fwd_hold_release(w());
	auto out = collect();
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, memcmp(POD5_MAC.b, out[0].frame.data(), 6));
	EXPECT_EQ(1u, w()->c.neigh_released);
}

TEST_F(Pipeline6, SampleCarriesIpv6FlowsAndFlushClearsThem)
{
	run(tcp6_frame(syn_to(VIP_LOCAL)), 0);
	run(udp6_frame(port_mac(0), CLIENT_MAC, CLIENT6, VIP_CLUSTER, 5000, 53,
		       Bytes(4, 'x')), 0);
	std::vector<struct ef_fwd_flow_info> buf(8);
	struct ef_fwd_cmd cmd = {};
	cmd.type = EF_FWD_CMD_FLOW_SAMPLE;
	cmd.max = (uint32_t)buf.size();
	cmd.out = buf.data();
	ASSERT_EQ(0, rte_ring_mp_enqueue(w()->cmd, &cmd));
	for (int i = 0; i < 1000 && !cmd.done; i++)
		ef_fwd_housekeep(w(), 0);
	ASSERT_EQ(1, cmd.done);
	ASSERT_EQ(2u, cmd.n_out);
	for (uint32_t i = 0; i < 2; i++) {
		EXPECT_EQ(EF_AF_INET6, buf[i].family);
		EXPECT_EQ(0, memcmp(CLIENT6.b, buf[i].a6.client, 16));
	}
	EXPECT_EQ(1u, cmd.by_state[EF_CT_SYN_SENT]);
	EXPECT_EQ(1u, cmd.by_state[EF_CT_UDP_NEW]);
	struct ef_fwd_cmd flush = {};
	flush.type = EF_FWD_CMD_FLUSH_FLOWS;
	ASSERT_EQ(0, rte_ring_mp_enqueue(w()->cmd, &flush));
	for (int i = 0; i < 1000 && !flush.done; i++)
		ef_fwd_housekeep(w(), 0);
	ASSERT_EQ(1, flush.done);
	EXPECT_EQ(0u, ef_ct_stats(w()->ct6)->active);
	EXPECT_EQ(2u, w()->c.flows_closed);
	EXPECT_EQ(0u, w()->c.snat_flows);
}

/* An established flow keeps its route (a hint in the flow) only within
 * its generation: a reload that reroutes its endpoint moves it. */
TEST_F(Pipeline6, ReloadThatReroutesAnEndpointMovesItsFlows)
{
	Bytes u = udp6_frame(port_mac(0), CLIENT_MAC, CLIENT6, VIP_CLUSTER,
			     5000, 53, Bytes(12, 'q'));
	auto out = run(u, 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(2, out[0].iface);
	out = run(u, 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(2, out[0].iface);
	/* generation 2: fd00:244:1::/64 via a pod-side router, its rule one
	 * place later (a hint kept from generation 1 would name the new
	 * rule before it, still via fd00:10::2) */
	struct ef_svc_gen *g2 = edited_gen(
		"{ prefix = \"fd00:244:1::/64\"; via = \"fd00:10::2\"; }",
		"{ prefix = \"fd00:99::/64\"; via = \"fd00:10::2\"; },\n"
		"{ prefix = \"fd00:244:1::/64\"; via = \"fd00:244::5\"; }");
	ASSERT_NE(nullptr, g2);
	struct ef_svc_gen *old = sh.gen;
	__atomic_store_n(&sh.gen, g2, __ATOMIC_RELEASE);
	out = run(u, 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(1, out[0].iface);
	EXPECT_EQ(0, memcmp(POD5_MAC.b, out[0].frame.data(), 6));
	EXPECT_EQ(1u, ef_ct_stats(w()->ct6)->active);
	ef_svc_gen_free(old);
}

/* The sweep after a reload walks the IPv6 table too: an idle flow to a
 * removed endpoint closes without a packet, the others stay (and come to
 * the new generation), in slices of any size. */
TEST_F(Pipeline6, SweepAfterReloadClosesIdleIpv6FlowsToRemovedEndpoints)
{
	ASSERT_EQ(1u, run(udp6_frame(port_mac(0), CLIENT_MAC, CLIENT6,
				     VIP_CLUSTER, 5000, 53, Bytes(12, 'q')),
			  0).size());			/* to fd00:244:1::7 */
	ASSERT_EQ(1u, run(tcp6_frame(syn_to(VIP_LOCAL)), 0).size());
	EXPECT_EQ(2u, ef_ct_stats(w()->ct6)->active);
	/* generation 2: t/cluster's endpoint moved; t/local unchanged */
	struct ef_svc_gen *g2 = moved_endpoint_gen();
	ASSERT_NE(nullptr, g2);
	struct ef_svc_gen *old = sh.gen;
	__atomic_store_n(&sh.gen, g2, __ATOMIC_RELEASE);
	ef_fwd_request_sweep(&sh, 2);
	w()->sweep_slice_tsc = 1;	/* one chunk per poll */
	int polls = 0;
	while (w()->sweep_done != 2 && polls < 10000) {
		ef_fwd_begin(w());
		ef_fwd_housekeep(w(), 0);
		polls++;
	}
	EXPECT_EQ(2u, w()->sweep_done);
	EXPECT_GT(polls, 1);
	EXPECT_EQ(1u, ef_ct_stats(w()->ct6)->active);
	EXPECT_EQ(1u, w()->c.flows_swept);
	EXPECT_EQ(0u, w()->c.snat_flows);
	/* the survivor is of generation 2 now: its next packet goes on */
	Tcp6 t = syn_to(VIP_LOCAL);
	EXPECT_EQ(1u, run(tcp6_frame(t), 0).size());
	EXPECT_EQ(0u, drops(EF_FWD_DROP_ENDPOINT_REMOVED));
	ef_svc_gen_free(old);
}

/* ClientIP affinity for IPv6 clients: each keeps its endpoint across an
 * endpoint change that moves most of Maglev's choices (3 endpoints to 6),
 * from the worker's affinity table, as IPv4's clients do. */
TEST_F(Pipeline6, ClientIpAffinityKeepsIpv6ClientsAcrossEndpointChanges)
{
	const Ip6a vip = ip6_of("2001:db8:100::14");
	std::vector<std::string> first;
	std::set<std::string> chosen;

	auto endpoint_of = [&](int c, uint16_t sport) -> std::string {
		Tcp6 t = syn_to(vip, sport);
		t.sip.b[14] = 0x10;
		t.sip.b[15] = (uint8_t)c;
		auto o = run(tcp6_frame(t), 0);
		if (o.size() != 1)
			return "none";
		struct ef_pkt_meta m = parse(o[0].frame);
		return hex(Bytes(m.dst.v6, m.dst.v6 + 16));
	};
	for (int c = 0; c < 24; c++) {
		first.push_back(endpoint_of(c, 40000));
		chosen.insert(first.back());
		EXPECT_EQ(first.back(), endpoint_of(c, 40001)) << c;
	}
	EXPECT_GE(chosen.size(), 2u);
	EXPECT_EQ(0u, chosen.count("none"));
	/* generation 2: three endpoints more */
	struct ef_svc_gen *g2 = edited_gen(
		"{ address = \"fd00:244:1::9\"; node = \"node-b\"; }",
		"{ address = \"fd00:244:1::9\"; node = \"node-b\"; },\n"
		"{ address = \"fd00:244:1::a\"; node = \"node-b\"; },\n"
		"{ address = \"fd00:244:1::b\"; node = \"node-b\"; },\n"
		"{ address = \"fd00:244:1::c\"; node = \"node-b\"; }");
	ASSERT_NE(nullptr, g2);
	struct ef_svc_gen *old = sh.gen;
	__atomic_store_n(&sh.gen, g2, __ATOMIC_RELEASE);
	uint64_t hits = w()->c.affinity_hits;
	for (int c = 0; c < 24; c++)
		EXPECT_EQ(first[(size_t)c], endpoint_of(c, 40002)) << c;
	EXPECT_EQ(hits + 24u, w()->c.affinity_hits);
	ef_svc_gen_free(old);
}

/* A routing header with segments left names a waypoint, not the VIP's
 * final destination: dropped as IPv4's source routes are, no flow. One
 * whose segments are used up is ordinary traffic. */
TEST_F(Pipeline6, ActiveRoutingHeaderIsDroppedAsASourceRoute)
{
	auto with_rh = [](Bytes f, uint8_t segleft) {
		/* after the 40-byte header: next header 6, 2 x 8 + 8 bytes,
		 * type 0, segments left, reserved, one address */
		Bytes rh = { 6, 2, 0, segleft, 0, 0, 0, 0 };
		Ip6a way = ip6_of("2001:db8:ff::1");
		rh.insert(rh.end(), way.b, way.b + 16);
		f.insert(f.begin() + 14 + 40, rh.begin(), rh.end());
		uint16_t plen = (uint16_t)((f[18] << 8 | f[19]) + rh.size());
		f[18] = (uint8_t)(plen >> 8);
		f[19] = (uint8_t)plen;
		f[20] = 43;	/* routing */
		return f;
	};
	EXPECT_TRUE(run(with_rh(tcp6_frame(syn_to(VIP_CLUSTER)), 1), 0).empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_IP_SOURCE_ROUTE));
	EXPECT_EQ(0u, ef_ct_stats(w()->ct6)->active);
	EXPECT_EQ(1u, run(with_rh(tcp6_frame(syn_to(VIP_CLUSTER)), 0), 0).size());
	EXPECT_EQ(1u, ef_ct_stats(w()->ct6)->active);
}

TEST_F(Pipeline6, ReloadClosesIpv6FlowsToRemovedEndpoints)
{
	run(tcp6_frame(syn_to(VIP_CLUSTER)), 0);
	ASSERT_EQ(1u, ef_ct_stats(w()->ct6)->active);
	/* generation 2: t/cluster's endpoint moved to another address */
	struct ef_svc_gen *g2 = moved_endpoint_gen();
	ASSERT_NE(nullptr, g2);
	struct ef_svc_gen *old = sh.gen;
	__atomic_store_n(&sh.gen, g2, __ATOMIC_RELEASE);
	Tcp6 t = syn_to(VIP_CLUSTER);
	t.flags = 0x10;
	t.seq = 1001;
	EXPECT_TRUE(run(tcp6_frame(t), 0).empty());
	EXPECT_EQ(1u, drops(EF_FWD_DROP_ENDPOINT_REMOVED));
	EXPECT_EQ(0u, ef_ct_stats(w()->ct6)->active);
	ef_svc_gen_free(old);
}

/* An IPv4-only configuration has no IPv6 table: IPv6 goes to the kernel,
 * as before issue 12. */
class Pipeline6Off : public PipeRig {
};

TEST_F(Pipeline6Off, Ipv4OnlyConfigSendsIpv6ToTheKernel)
{
	RigOpts o;
	o.pool_prefix = "t6off";
	rig_up(R"(
node = { name = "n"; snat_addresses = [ "10.0.0.1" ]; };
interfaces = ( { port = "p0"; address = "10.0.0.1/24"; } );
)", o, {});
	ASSERT_EQ(nullptr, w()->ct6);
	Tcp6 t;
	t.dmac = port_mac(0);
	t.smac = CLIENT_MAC;
	t.sip = CLIENT6;
	t.dip = VIP_LOCAL;
	t.sport = 1;
	t.dport = 80;
	t.flags = 2;
	EXPECT_TRUE(run(tcp6_frame(t), 0).empty());
	EXPECT_EQ(1u, drain_ctrl());
	EXPECT_EQ(0u, w()->c.rx6_packets);
}
