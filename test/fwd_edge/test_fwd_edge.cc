/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The edge paths through the real pipeline (ef_fwd_process): an edge
 * edgefwd steering to nodes (IPIP, GUE, l2 frames byte for byte, MSS
 * clamp, frag-needed, stickiness across a new generation, the stateless
 * choice of a mid-flow packet) and a proxy-mode node decapsulating from
 * decap.sources. Expected frames come from test/shim/frames.h, which
 * shares no code with lib/edge.
 */
#include <arpa/inet.h>
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <gtest/gtest.h>

#include "ef_cfg.h"
#include "ef_edge.h"
#include "ef_fwd.h"
#include "ef_nat.h"
#include "ef_neigh.h"
#include "ef_svc.h"
#include "frames.h"
#include "rig.h"

namespace {

/* %s: forwarding; %s: decap group or ""; %s: node-1's extra endpoints */
const char *const EDGE_CONF = R"(
node = { name = "edge-1"; };
interfaces = (
  { port = "p0"; address = "198.51.100.1/24"; },
  { port = "p1"; address = "10.1.0.1/24"; mtu = 1500; }
);
conntrack = { max_flows = 4096; };
nodes = ( { name = "node-1"; address = "10.1.0.11"; },
          { name = "node-2"; address = "10.1.0.12"; } );
edge = { forwarding = "%s"; };
%s
services = (
  { name = "default/web"; type = "LoadBalancer"; mode = "edge";
    load_balancer_ips = [ "203.0.113.10" ];
    external_traffic_policy = "Local"; health_check_node_port = 32000;
    ports = ( { port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.1.5"; node = "node-1"; }, %s
                  { address = "10.244.2.5"; node = "node-2"; },
                  { address = "10.244.2.6"; node = "node-2"; },
                  { address = "10.244.2.7"; node = "node-2"; } ); }
);
)";

/* A proxy-mode node (node-1) that decapsulates from 10.1.0.0/24. */
const char *const NODE_CONF = R"(
node = { name = "node-1"; };
interfaces = (
  { port = "p0"; address = "10.1.0.11/24"; gateway = "10.1.0.254"; },
  { port = "p1"; address = "10.244.1.1/24"; }
);
nodes = ( { name = "node-1"; address = "10.1.0.11"; } );
decap = { sources = [ "10.1.0.0/24" ]; };
services = (
  { name = "default/web"; type = "LoadBalancer";
    load_balancer_ips = [ "203.0.113.10" ];
    external_traffic_policy = "Local"; health_check_node_port = 32000;
    ports = ( { port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.1.5"; node = "node-1"; } ); }
);
)";

const Mac CLIENT_MAC = mac_of("02:aa:00:00:00:02");
const Mac ROUTER_MAC = mac_of("02:aa:00:00:00:fe");
const Mac NODE1_MAC = mac_of("02:cc:00:00:00:11");
const Mac NODE2_MAC = mac_of("02:cc:00:00:00:12");
const Mac POD_MAC = mac_of("02:bb:00:00:01:05");
const uint32_t CLIENT = ip_of("192.0.2.7");
const uint32_t VIP = ip_of("203.0.113.10");

class Edge : public PipeRig {
protected:
	static std::string edge_text(const char *fwd, const char *decap = "",
				     const char *extra = "")
	{
		char t[8192];

		snprintf(t, sizeof(t), EDGE_CONF, fwd, decap, extra);
		return t;
	}

	void build(const std::string &text)
	{
		RigOpts o;

		o.pool_prefix = "epool";
		o.pool_size = 2047;
		o.n_svc_ids = 64;
		o.connect = true;
		rig_up(text, o,
		       { { 0, CLIENT, CLIENT_MAC },
			 { 0, ip_of("10.1.0.254"), ROUTER_MAC },
			 { 1, ip_of("10.1.0.11"), NODE1_MAC },
			 { 1, ip_of("10.1.0.12"), NODE2_MAC },
			 { 1, ip_of("10.244.1.5"), POD_MAC } });
	}

	static Tcp tcp(uint32_t src, uint16_t sport, uint8_t flags)
	{
		Tcp t;

		t.dmac = port_mac(0);
		t.smac = ROUTER_MAC;
		t.sip = src;
		t.dip = VIP;
		t.sport = sport;
		t.dport = 80;
		t.flags = flags;
		return t;
	}

	/* node address (network order) an encapsulated frame goes to */
	static uint32_t outer_dst(const Bytes &f)
	{
		uint32_t a;

		memcpy(&a, &f[14 + 16], 4);
		return a;
	}
};

/* The inner packet of a frame: everything after Ethernet. */
Bytes
l3_of(const Bytes &f)
{
	return Bytes(f.begin() + 14, f.end());
}

/* A TCP SYN carrying one option, MSS mss (hand-built: frames.h has none). */
Bytes
syn_with_mss(uint32_t src, uint16_t sport, uint16_t mss, size_t payload = 0)
{
	Bytes seg = tcp_segment(sport, 80, 0x02, 1000, 0, 65535,
				Bytes(payload, 0x5a));
	const uint8_t opt[4] = { 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss };

	seg.insert(seg.begin() + 20, opt, opt + 4);
	seg[12] = 6 << 4;	/* data offset: 24 bytes */
	return ipv4_frame(ip4(port_mac(0), ROUTER_MAC, src, VIP, 6, 64, 0x1234,
			      0x4000), seg);
}

TEST_F(Edge, IpipFrameByteForByte)
{
	build(edge_text("ipip"));
	Bytes in = tcp_frame(tcp(CLIENT, 40000, 0x02));
	auto out = run(in, 0);

	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(1, out[0].iface);
	uint32_t node = outer_dst(out[0].frame);
	Mac nmac = node == ip_of("10.1.0.11") ? NODE1_MAC : NODE2_MAC;
	/* outer: our address -> the node, protocol 4, TTL 64, DF copied and
	 * ID 0 (RFC 6864 atomic datagram), TOS copied (0) */
	Bytes want = ipv4_frame(ip4(nmac, port_mac(1), ip_of("10.1.0.1"), node,
				    4, 64, 0, 0x4000), l3_of(in));
	EXPECT_EQ(hex(want), hex(out[0].frame));
	EXPECT_EQ(1u, w()->c.encap_packets);
	EXPECT_EQ(0u, w()->c.flows_created);	/* no conntrack at the edge */
}

TEST_F(Edge, GueFrameByteForByte)
{
	build(edge_text("gue"));
	Bytes in = tcp_frame(tcp(CLIENT, 40001, 0x02));
	auto out = run(in, 0);

	ASSERT_EQ(1u, out.size());
	const Bytes &f = out[0].frame;
	uint32_t node = outer_dst(f);
	Mac nmac = node == ip_of("10.1.0.11") ? NODE1_MAC : NODE2_MAC;
	uint16_t sport = (uint16_t)(f[34] << 8 | f[35]);
	EXPECT_EQ(0xc000, sport & 0xc000);	/* RFC 6335 dynamic range */
	Bytes gue = { 0, 4, 0, 0 };	/* v0, hlen 0, proto 4, flags 0 */
	Bytes inner = l3_of(in);
	gue.insert(gue.end(), inner.begin(), inner.end());
	Ip4 ip = ip4(nmac, port_mac(1), ip_of("10.1.0.1"), node, 17, 64, 0,
		     0x4000);
	ip.l4_csum = false;	/* GUE over IPv4: UDP checksum 0 */
	Bytes want = ipv4_frame(ip, udp_datagram(sport, 6080, gue));
	EXPECT_EQ(hex(want), hex(f));
}

TEST_F(Edge, L2OnlyRewritesTheMacs)
{
	build(edge_text("l2"));
	Bytes in = tcp_frame(tcp(CLIENT, 40002, 0x02));
	auto out = run(in, 0);

	ASSERT_EQ(1u, out.size());
	Bytes want = in;
	/* which node: the one whose MAC it carries */
	bool n1 = memcmp(&out[0].frame[0], NODE1_MAC.b, 6) == 0;
	memcpy(&want[0], (n1 ? NODE1_MAC : NODE2_MAC).b, 6);
	memcpy(&want[6], port_mac(1).b, 6);
	EXPECT_EQ(hex(want), hex(out[0].frame));
}

TEST_F(Edge, MssClampedToTheTunnel)
{
	build(edge_text("ipip"));
	auto out = run(syn_with_mss(CLIENT, 40003, 1460), 0);

	ASSERT_EQ(1u, out.size());
	/* 1500 - 20 (IPIP) - 40 = 1440 */
	Bytes want_inner = l3_of(syn_with_mss(CLIENT, 40003, 1440));
	EXPECT_EQ(hex(want_inner), hex(Bytes(out[0].frame.begin() + 34,
					     out[0].frame.end())));
	EXPECT_EQ(1u, w()->c.mss_clamped);
	/* the inner segment's checksum holds after the clamp */
	/* sized once: GCC 12 at -O3 warns (-Warray-bounds, a false
	 * positive) on insert() after a 14-byte constructor */
	Bytes as_frame(out[0].frame.size() - 20);
	std::copy(out[0].frame.begin(), out[0].frame.begin() + 14,
		  as_frame.begin());
	std::copy(out[0].frame.begin() + 34, out[0].frame.end(),
		  as_frame.begin() + 14);
	as_frame[12] = 0x08;
	as_frame[13] = 0x00;
	EXPECT_TRUE(checksums_ok(as_frame));
	/* already small enough: untouched */
	out = run(syn_with_mss(CLIENT, 40004, 1200), 0);
	EXPECT_EQ(1u, w()->c.mss_clamped);
}

TEST_F(Edge, DfOverTheLimitGetsFragNeededWithTheInnerMtu)
{
	build(edge_text("ipip"));
	Tcp t = tcp(CLIENT, 40005, 0x10);
	t.payload = 1500 - 40;	/* a full 1500-byte DF packet */
	auto out = run(tcp_frame(t), 0);

	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);	/* back to the client's side */
	const Bytes &f = out[0].frame;
	EXPECT_EQ(1, f[14 + 9]);	/* ICMP */
	EXPECT_EQ(3, f[34]);
	EXPECT_EQ(4, f[35]);
	EXPECT_EQ(1480, f[34 + 6] << 8 | f[34 + 7]);
	EXPECT_EQ(1u, w()->c.icmp_errors_sent);
	EXPECT_EQ(0u, w()->c.encap_packets);
	/* without DF: the outer packet is fragmented (docs/EDGE.md) */
	t.df = false;
	out = run(tcp_frame(t), 0);
	ASSERT_EQ(2u, out.size());
	EXPECT_EQ(1, out[0].iface);
	EXPECT_TRUE(checksums_ok(out[0].frame));
	EXPECT_EQ(0u, w()->c.drops[EF_FWD_DROP_ENCAP_TOO_BIG]);
}

/* A jumbo fabric (mtu 9000 towards the nodes) and jumbo clients: a
 * client's full 1500-byte packet and its SYN's MSS go through whole; a
 * jumbo packet fits up to the fabric's MTU less the tunnel; each is one
 * single-segment mbuf end to end (the pool is sized from the mtu). */
TEST_F(Edge, JumboFabricCarriesFullSizePacketsWhole)
{
	std::string text = edge_text("ipip");
	size_t at = text.find("mtu = 1500;");

	ASSERT_NE(std::string::npos, at);
	text.replace(at, 11, "mtu = 9000;");
	at = text.find("address = \"198.51.100.1/24\";");
	ASSERT_NE(std::string::npos, at);
	text.insert(at, "mtu = 9000; ");
	build(text);
	ASSERT_GE(rte_pktmbuf_data_room_size(sh.pool),
		  RTE_PKTMBUF_HEADROOM + 9000 + 18);

	/* the SYN's MSS fits the tunnel: not clamped */
	Bytes syn = syn_with_mss(CLIENT, 40100, 1460);
	auto out = run(syn, 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(hex(l3_of(syn)), hex(Bytes(out[0].frame.begin() + 34,
					     out[0].frame.end())));
	EXPECT_EQ(0u, w()->c.mss_clamped);

	/* a full 1500-byte DF packet and a jumbo one of 9000 - 20: whole,
	 * in one outer packet each */
	for (size_t l3 : { (size_t)1500, (size_t)(9000 - 20) }) {
		Tcp t = tcp(CLIENT, 40100, 0x10);
		t.payload = l3 - 40;
		Bytes in = tcp_frame(t);
		out = run(in, 0);
		ASSERT_EQ(1u, out.size()) << l3;
		EXPECT_EQ(1, out[0].iface);
		ASSERT_EQ(14 + 20 + l3, out[0].frame.size());
		EXPECT_EQ(hex(l3_of(in)), hex(Bytes(out[0].frame.begin() + 34,
						    out[0].frame.end())));
		EXPECT_EQ(4, out[0].frame[14 + 9]);	/* IPIP */
		EXPECT_EQ(0x4000, out[0].frame[14 + 6] << 8 |
			  out[0].frame[14 + 7]);	/* DF, no fragment */
		uint32_t sum = 0;	/* the outer header's checksum */
		for (size_t i = 14; i < 34; i += 2)
			sum += (uint32_t)(out[0].frame[i] << 8 |
					  out[0].frame[i + 1]);
		sum = (sum & 0xffff) + (sum >> 16);
		EXPECT_EQ(0xffffu, (sum & 0xffff) + (sum >> 16));
		EXPECT_EQ(20 + l3, (size_t)(out[0].frame[16] << 8 |
					    out[0].frame[17]));
	}
	EXPECT_EQ(0u, w()->c.icmp_errors_sent);
	EXPECT_EQ(3u, w()->c.encap_packets);

	/* one byte more than the tunnel takes: frag-needed with 8980 */
	Tcp t = tcp(CLIENT, 40100, 0x10);
	t.payload = 9000 - 40;
	out = run(tcp_frame(t), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	EXPECT_EQ(3, out[0].frame[34]);
	EXPECT_EQ(4, out[0].frame[35]);
	EXPECT_EQ(8980, out[0].frame[34 + 6] << 8 | out[0].frame[34 + 7]);
	EXPECT_EQ(1u, w()->c.icmp_errors_sent);
	EXPECT_EQ(0u, w()->c.drops[EF_FWD_DROP_MULTI_SEGMENT]);
}

TEST_F(Edge, EndpointsWeightsShareAndStickinessAcrossANewGeneration)
{
	build(edge_text("ipip"));
	std::map<uint32_t, uint32_t> first;	/* client port -> node */
	std::map<uint32_t, int> share;

	for (uint16_t p = 0; p < 2000; p++) {
		auto out = run(tcp_frame(tcp(CLIENT, (uint16_t)(20000 + p),
					     0x02)), 0);
		ASSERT_EQ(1u, out.size());
		first[p] = outer_dst(out[0].frame);
		share[first[p]]++;
	}
	/* node-2 has 3 of the 4 pods */
	EXPECT_NEAR(0.75, share[ip_of("10.1.0.12")] / 2000.0, 0.04);
	/* a new generation: node-1 gets 5 more pods (weights 6 : 3) */
	struct ef_svc_gen *g2 = gen_of(edge_text("ipip", "",
		"{ address = \"10.244.1.6\"; node = \"node-1\"; },"
		"{ address = \"10.244.1.7\"; node = \"node-1\"; },"
		"{ address = \"10.244.1.8\"; node = \"node-1\"; },"
		"{ address = \"10.244.1.9\"; node = \"node-1\"; },"
		"{ address = \"10.244.1.10\"; node = \"node-1\"; },"), sh.gen);
	ASSERT_NE(nullptr, g2);
	struct ef_svc_gen *old = sh.gen;
	sh.gen = g2;
	ef_svc_gen_free(old);
	uint32_t moved = 0;
	for (uint16_t p = 0; p < 2000; p++) {
		auto out = run(tcp_frame(tcp(CLIENT, (uint16_t)(20000 + p),
					     0x10)), 0);
		ASSERT_EQ(1u, out.size());
		moved += outer_dst(out[0].frame) != first[p];
	}
	EXPECT_EQ(0u, moved);	/* no established flow moved */
	share.clear();
	for (uint16_t p = 0; p < 2000; p++) {
		auto out = run(tcp_frame(tcp(CLIENT, (uint16_t)(30000 + p),
					     0x02)), 0);
		share[outer_dst(out[0].frame)]++;
	}
	EXPECT_NEAR(6.0 / 9.0, share[ip_of("10.1.0.11")] / 2000.0, 0.04);
}

TEST_F(Edge, MidFlowPacketWithoutEntryTakesTheMaglevChoice)
{
	build(edge_text("ipip"));
	const struct ef_edge_lb *lb = ef_svc_edge_lb(sh.gen, 0);
	for (uint16_t p = 0; p < 200; p++) {
		Tcp t = tcp(ip_of("192.0.2.99"), (uint16_t)(50000 + p), 0x10);
		auto out = run(tcp_frame(t), 0);
		ASSERT_EQ(1u, out.size());
		struct ef_edge_flow_key k = {};
		k.src = t.sip;
		k.dst = VIP;
		k.sport = htons(t.sport);
		k.dport = htons(80);
		k.proto = 6;
		uint32_t ni = ef_edge_lb_pick(lb, ef_edge_flow_hash(&k));
		ASSERT_NE(EF_EDGE_NO_NODE, ni);
		EXPECT_EQ(lb->nodes[ni].addr, outer_dst(out[0].frame));
	}
	EXPECT_EQ(200u, ef_edge_flows_stats(w()->edge_flows)->created);
}

/* The burst's edge flows are looked up together before any packet of it
 * is sent: a tuple whose first packet inserts its entry in a burst and
 * comes again later in the same burst must meet that entry (one entry,
 * one node), as packet-by-packet processing would. */
TEST_F(Edge, SameTupleTwiceInOneBurstMakesOneEntry)
{
	build(edge_text("ipip"));
	/* 8 tuples established beforehand, 8 new ones seen twice (SYN then
	 * ACK, or two mid-flow ACKs), interleaved in one burst of 32 */
	for (uint16_t p = 0; p < 8; p++)
		ASSERT_EQ(1u, run(tcp_frame(tcp(CLIENT, (uint16_t)(40000 + p),
						0x02)), 0).size());
	ASSERT_EQ(8u, ef_edge_flows_stats(w()->edge_flows)->created);
	std::vector<Bytes> v;
	std::vector<uint16_t> port;
	for (uint16_t p = 0; p < 8; p++) {
		uint8_t first = (p & 1) ? 0x10 : 0x02;
		v.push_back(tcp_frame(tcp(CLIENT, (uint16_t)(41000 + p), first)));
		port.push_back((uint16_t)(41000 + p));
		v.push_back(tcp_frame(tcp(CLIENT, (uint16_t)(40000 + p), 0x10)));
		port.push_back((uint16_t)(40000 + p));
		v.push_back(tcp_frame(tcp(CLIENT, (uint16_t)(41000 + p), 0x10)));
		port.push_back((uint16_t)(41000 + p));
		v.push_back(tcp_frame(tcp(CLIENT, (uint16_t)(40000 + p), 0x10)));
		port.push_back((uint16_t)(40000 + p));
	}
	struct rte_mbuf *m[32];
	for (uint32_t j = 0; j < 32; j++) {
		m[j] = rte_pktmbuf_alloc(sh.pool);
		ASSERT_NE(nullptr, m[j]);
		memcpy(rte_pktmbuf_append(m[j], (uint16_t)v[j].size()),
		       v[j].data(), v[j].size());
		m[j]->port = 0;
	}
	ef_fwd_begin(w());
	w()->now_ms = now_ms;
	ef_fwd_process(w(), m, 32, false);
	ASSERT_EQ(32u, w()->n_out[1]);
	std::map<uint16_t, uint32_t> node_of;
	for (uint16_t j = 0; j < 32; j++) {
		struct rte_mbuf *o = w()->out[1][j];
		const uint8_t *d = rte_pktmbuf_mtod(o, const uint8_t *);
		uint32_t dst = outer_dst(Bytes(d, d + o->data_len));
		/* frames leave in burst order */
		auto it = node_of.find(port[j]);
		if (it == node_of.end())
			node_of[port[j]] = dst;
		else
			EXPECT_EQ(it->second, dst) << "port " << port[j];
		rte_pktmbuf_free(o);
	}
	w()->n_out[1] = 0;
	EXPECT_EQ(16u, node_of.size());
	EXPECT_EQ(16u, ef_edge_flows_stats(w()->edge_flows)->created);
	EXPECT_EQ(16u, ef_edge_flows_stats(w()->edge_flows)->active);
	EXPECT_EQ(8u + 32u, w()->c.encap_packets);
}

TEST_F(Edge, DrainKeepsEstablishedDownRepicks)
{
	build(edge_text("ipip"));
	std::map<uint16_t, uint32_t> node;
	for (uint16_t p = 0; p < 400; p++)
		node[p] = outer_dst(run(tcp_frame(tcp(CLIENT, (uint16_t)
			(10000 + p), 0x02)), 0)[0].frame);
	/* node-2 (index 1 of nodes) answers 503: draining */
	struct ef_edge_node_view v = sh.gen->svcs[0].edge->views[1];
	v.draining = true;
	ASSERT_EQ(1, ef_svc_edge_set_view(sh.gen, 0, 1, &v, nullptr));
	for (uint16_t p = 0; p < 400; p++)
		EXPECT_EQ(node[p], outer_dst(run(tcp_frame(tcp(CLIENT,
			(uint16_t)(10000 + p), 0x10)), 0)[0].frame));
	for (uint16_t p = 0; p < 100; p++)
		EXPECT_EQ(ip_of("10.1.0.11"), outer_dst(run(tcp_frame(tcp(
			CLIENT, (uint16_t)(60000 + p), 0x02)), 0)[0].frame));
	/* node-2 down: its flows re-pick to node-1 */
	v.draining = false;
	v.healthy = false;
	ASSERT_EQ(1, ef_svc_edge_set_view(sh.gen, 0, 1, &v, nullptr));
	for (uint16_t p = 0; p < 400; p++)
		EXPECT_EQ(ip_of("10.1.0.11"), outer_dst(run(tcp_frame(tcp(
			CLIENT, (uint16_t)(10000 + p), 0x10)), 0)[0].frame));
}

/* flows / packets of node n (cfg->nodes order) of service 0, summed over
 * the workers as telemetry and /metrics read them */
static void
node_counts(const struct ef_fwd_shared *sh, uint32_t n, uint64_t *packets,
	    uint64_t *flows)
{
	ef_fwd_edge_node_counts(sh, sh->gen->svcs[0].edge->nodes[n].slot,
				packets, flows);
}

TEST_F(Edge, PerNodeFlowsAndPacketsFollowTheEntries)
{
	build(edge_text("ipip"));
	std::map<uint32_t, uint64_t> sent;	/* node address -> frames */
	uint64_t p0, f0, p1, f1;

	ASSERT_NE(EF_EDGE_NO_SLOT, sh.gen->svcs[0].edge->nodes[0].slot);
	ASSERT_NE(sh.gen->svcs[0].edge->nodes[0].slot,
		  sh.gen->svcs[0].edge->nodes[1].slot);
	/* 300 flows, three packets each */
	for (int r = 0; r < 3; r++)
		for (uint16_t p = 0; p < 300; p++) {
			auto out = run(tcp_frame(tcp(CLIENT, (uint16_t)
				(40000 + p), r == 0 ? 0x02 : 0x10)), 0);
			ASSERT_EQ(1u, out.size());
			sent[outer_dst(out[0].frame)]++;
		}
	node_counts(&sh, 0, &p0, &f0);
	node_counts(&sh, 1, &p1, &f1);
	EXPECT_EQ(sent[ip_of("10.1.0.11")], p0);
	EXPECT_EQ(sent[ip_of("10.1.0.12")], p1);
	EXPECT_EQ(300u, f0 + f1);
	EXPECT_EQ(p0, 3 * f0);
	EXPECT_GT(f0, 0u);
	EXPECT_GT(f1, f0);	/* node-2 has 3 of the 4 pods */
	/* a new generation (same nodes) keeps the slots and the counts */
	struct ef_svc_gen *g2 = gen_of(edge_text("ipip"), sh.gen);
	ASSERT_NE(nullptr, g2);
	EXPECT_EQ(sh.gen->svcs[0].edge->nodes[1].slot,
		  g2->svcs[0].edge->nodes[1].slot);
	struct ef_svc_gen *old = sh.gen;
	sh.gen = g2;
	ef_svc_gen_free(old);
	uint64_t p1b, f1b;
	node_counts(&sh, 1, &p1b, &f1b);
	EXPECT_EQ(p1, p1b);
	EXPECT_EQ(f1, f1b);
	/* node-2 down: the next packet of each of its flows re-picks, and
	 * the flow counts move with the entries */
	struct ef_edge_node_view v = sh.gen->svcs[0].edge->views[1];
	v.healthy = false;
	ASSERT_EQ(1, ef_svc_edge_set_view(sh.gen, 0, 1, &v, nullptr));
	for (uint16_t p = 0; p < 300; p++)
		EXPECT_EQ(ip_of("10.1.0.11"), outer_dst(run(tcp_frame(tcp(
			CLIENT, (uint16_t)(40000 + p), 0x10)), 0)[0].frame));
	uint64_t p0c, f0c, p1c, f1c;
	node_counts(&sh, 0, &p0c, &f0c);
	node_counts(&sh, 1, &p1c, &f1c);
	EXPECT_EQ(300u, f0c);
	EXPECT_EQ(0u, f1c);
	EXPECT_EQ(p0 + 300, p0c);
	EXPECT_EQ(p1, p1c);	/* packets stay where they went */
	/* expired entries leave the count */
	EXPECT_EQ(300u, ef_edge_flows_expire(w()->edge_flows,
		now_ms + 3600u * 1000u, ef_edge_flows_capacity(
		w()->edge_flows), nullptr, nullptr));
	node_counts(&sh, 0, &p0c, &f0c);
	EXPECT_EQ(0u, f0c);
}

/* IPIP from src to node-1 around inner */
Bytes
ipip_to_node(uint32_t src, const Bytes &inner_frame)
{
	return ipv4_frame(ip4(port_mac(0), ROUTER_MAC, src, ip_of("10.1.0.11"),
			      4, 64, 0, 0x4000), l3_of(inner_frame));
}

TEST_F(Edge, DecapFromAllowedSourceServedLocalWithoutSnat)
{
	build(NODE_CONF);
	Bytes inner = tcp_frame(tcp(CLIENT, 41000, 0x02));
	auto out = run(ipip_to_node(ip_of("10.1.0.1"), inner), 0);

	ASSERT_EQ(1u, out.size()) << w()->c.drops[EF_FWD_DROP_NO_FLOW];
	EXPECT_EQ(1, out[0].iface);
	const Bytes &f = out[0].frame;
	uint32_t s, d;
	memcpy(&s, &f[26], 4);
	memcpy(&d, &f[30], 4);
	EXPECT_EQ(CLIENT, s);			/* the client, no SNAT */
	EXPECT_EQ(ip_of("10.244.1.5"), d);	/* the local pod */
	EXPECT_EQ(1u, w()->c.decap_packets);
	EXPECT_TRUE(checksums_ok(f));
}

TEST_F(Edge, DecapFromOtherSourcesDeniedAndCounted)
{
	build(NODE_CONF);
	Bytes inner = tcp_frame(tcp(CLIENT, 41001, 0x02));
	auto out = run(ipip_to_node(ip_of("198.18.0.1"), inner), 0);

	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, w()->c.drops[EF_FWD_DROP_DECAP_DENIED]);
	EXPECT_EQ(0u, w()->c.decap_packets);
	EXPECT_STREQ("decap_denied",
		     ef_fwd_drop_name(EF_FWD_DROP_DECAP_DENIED));
	EXPECT_STREQ("encap_too_big",
		     ef_fwd_drop_name(EF_FWD_DROP_ENCAP_TOO_BIG));
}

/* ---- IPv6 VIPs over the IPv4 underlay (docs/EDGE.md "IPv6") ------- */

/* %s: forwarding */
const char *const EDGE6_CONF = R"(
node = { name = "edge-1"; };
interfaces = (
  { port = "p0"; addresses = [ "198.51.100.1/24", "2001:db8:c::1/64" ]; },
  { port = "p1"; address = "10.1.0.1/24"; mtu = 1500; }
);
conntrack = { max_flows = 4096; };
nodes = ( { name = "node-1"; address = "10.1.0.11"; },
          { name = "node-2"; address = "10.1.0.12"; } );
edge = { forwarding = "%s"; };
services = (
  { name = "default/web"; type = "LoadBalancer"; mode = "edge";
    ip_families = [ "IPv4", "IPv6" ];
    load_balancer_ips = [ "203.0.113.10", "2001:db8:10::10" ];
    external_traffic_policy = "Local"; health_check_node_port = 32000;
    ports = ( { port = 80; target_port = 8080; } );
    endpoints = ( { address = "fd00:244:1::5"; node = "node-1"; },
                  { address = "fd00:244:2::5"; node = "node-2"; },
                  { address = "fd00:244:2::6"; node = "node-2"; },
                  { address = "fd00:244:2::7"; node = "node-2"; } ); }
);
)";

/* node-1 in proxy mode, dual-stack, decapsulating from 10.1.0.0/24;
 * %s: the policy and cluster_forwarding; %s: more endpoints */
const char *const NODE6_CONF = R"(
node = { name = "node-1"; snat_addresses = [ "10.1.0.11", "2001:db8:f::11" ]; };
interfaces = (
  { port = "p0"; addresses = [ "10.1.0.11/24", "2001:db8:f::11/64" ];
    gateways = [ "10.1.0.254", "2001:db8:f::fe" ]; },
  { port = "p1"; addresses = [ "10.244.1.1/24", "fd00:244:1::1/64" ]; }
);
conntrack = { max_flows = 4096; };
nodes = ( { name = "node-1"; address = "10.1.0.11"; },
          { name = "node-2"; address = "10.1.0.12"; } );
decap = { sources = [ "10.1.0.0/24" ]; };
services = (
  { name = "default/web"; type = "LoadBalancer";
    ip_families = [ "IPv6" ];
    load_balancer_ips = [ "2001:db8:10::10" ];
    %s
    ports = ( { port = 80; target_port = 8080; } );
    endpoints = ( { address = "fd00:244:1::5"; node = "node-1"; } %s ); }
);
)";

const Ip6a CLIENT6 = ip6_of("2001:db8:c::7");
const Ip6a VIP6 = ip6_of("2001:db8:10::10");
const Ip6a POD6 = ip6_of("fd00:244:1::5");

class Edge6 : public Edge {
protected:
	void build6(const std::string &text)
	{
		RigOpts o;

		o.pool_prefix = "e6pool";
		o.pool_size = 2047;
		o.n_svc_ids = 64;
		o.connect = true;
		o.neigh6 = { { 0, CLIENT6, CLIENT_MAC },
			     { 0, ip6_of("2001:db8:c::fe"), ROUTER_MAC },
			     { 0, ip6_of("2001:db8:f::fe"), ROUTER_MAC },
			     { 1, POD6, POD_MAC } };
		rig_up(text, o,
		       { { 0, ip_of("10.1.0.254"), ROUTER_MAC },
			 { 1, ip_of("10.1.0.11"), NODE1_MAC },
			 { 1, ip_of("10.1.0.12"), NODE2_MAC },
			 { 0, ip_of("10.1.0.1"), ROUTER_MAC },
			 { 0, ip_of("10.1.0.12"), NODE2_MAC },
			 { 1, ip_of("10.244.1.5"), POD_MAC } });
	}
	static std::string edge6(const char *fwd)
	{
		char t[8192];

		snprintf(t, sizeof(t), EDGE6_CONF, fwd);
		return t;
	}
	static std::string node6(const char *policy, const char *extra = "")
	{
		char t[8192];

		snprintf(t, sizeof(t), NODE6_CONF, policy, extra);
		return t;
	}
	static Tcp6 tcp6(const Ip6a &src, uint16_t sport, uint8_t flags)
	{
		Tcp6 t;

		t.dmac = port_mac(0);
		t.smac = ROUTER_MAC;
		t.sip = src;
		t.dip = VIP6;
		t.sport = sport;
		t.dport = 80;
		t.flags = flags;
		return t;
	}
	static Mac node_mac(uint32_t node)
	{
		return node == ip_of("10.1.0.11") ? NODE1_MAC : NODE2_MAC;
	}
};

/* client i of 2001:db8:c::/64 */
Ip6a
client6(uint32_t i)
{
	Ip6a a = CLIENT6;

	a.b[13] = (uint8_t)(i >> 16);
	a.b[14] = (uint8_t)(i >> 8);
	a.b[15] = (uint8_t)i;
	return a;
}

/* An IPv6 SYN with one option, MSS mss (hand-built, as syn_with_mss). */
Bytes
syn6_with_mss(uint16_t sport, uint16_t mss)
{
	Bytes seg = tcp_segment(sport, 80, 0x02, 1000, 0, 65535, Bytes());
	const uint8_t opt[4] = { 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss };

	seg.insert(seg.begin() + 20, opt, opt + 4);
	seg[12] = 6 << 4;
	return ipv6_frame(port_mac(0), ROUTER_MAC, CLIENT6, VIP6, 6, seg, 61);
}

TEST_F(Edge6, SixInFourFrameByteForByte)
{
	build6(edge6("ipip"));
	Bytes in = tcp6_frame(tcp6(CLIENT6, 40000, 0x02));
	auto out = run(in, 0);

	std::string why;
	for (unsigned int d = 0; d < EF_FWD_DROP_MAX; d++)
		if (w()->c.drops[d] != 0)
			why += std::string(ef_fwd_drop_name(d)) + " ";
	ASSERT_EQ(1u, out.size()) << why;
	EXPECT_EQ(1, out[0].iface);
	uint32_t node = outer_dst(out[0].frame);
	/* outer IPv4, protocol 41, DF, ID 0, TTL 64; the inner packet
	 * exactly as it came (hop limit untouched: DSR) */
	Bytes want = ipv4_frame(ip4(node_mac(node), port_mac(1),
				    ip_of("10.1.0.1"), node, 41, 64, 0, 0x4000),
				l3_of(in));
	EXPECT_EQ(hex(want), hex(out[0].frame));
	EXPECT_EQ(1u, w()->c.encap_packets);
	EXPECT_EQ(0u, w()->c.flows_created);
	ASSERT_NE(nullptr, w()->edge_flows6);
	EXPECT_EQ(1u, ef_edge_flows_stats(w()->edge_flows6)->active);
	EXPECT_EQ(0u, ef_edge_flows_stats(w()->edge_flows)->active);
}

TEST_F(Edge6, GueProto41FrameByteForByte)
{
	build6(edge6("gue"));
	Bytes in = tcp6_frame(tcp6(CLIENT6, 40001, 0x02));
	auto out = run(in, 0);

	ASSERT_EQ(1u, out.size());
	const Bytes &f = out[0].frame;
	uint32_t node = outer_dst(f);
	uint16_t sport = (uint16_t)(f[34] << 8 | f[35]);
	EXPECT_EQ(0xc000, sport & 0xc000);
	Bytes gue = { 0, 41, 0, 0 };	/* v0, hlen 0, proto 41, flags 0 */
	Bytes inner = l3_of(in);
	gue.insert(gue.end(), inner.begin(), inner.end());
	Ip4 ip = ip4(node_mac(node), port_mac(1), ip_of("10.1.0.1"), node, 17,
		     64, 0, 0x4000);
	ip.l4_csum = false;
	EXPECT_EQ(hex(ipv4_frame(ip, udp_datagram(sport, 6080, gue))), hex(f));
}

TEST_F(Edge6, L2RewritesTheMacsOfAnIpv6Frame)
{
	build6(edge6("l2"));
	Bytes in = tcp6_frame(tcp6(CLIENT6, 40002, 0x02));
	auto out = run(in, 0);

	ASSERT_EQ(1u, out.size());
	Bytes want = in;
	bool n1 = memcmp(&out[0].frame[0], NODE1_MAC.b, 6) == 0;
	memcpy(&want[0], (n1 ? NODE1_MAC : NODE2_MAC).b, 6);
	memcpy(&want[6], port_mac(1).b, 6);
	EXPECT_EQ(hex(want), hex(out[0].frame));
}

TEST_F(Edge6, MssClampedBy60AndTheTunnel)
{
	build6(edge6("ipip"));
	auto out = run(syn6_with_mss(40003, 1460), 0);

	ASSERT_EQ(1u, out.size());
	/* 1500 - 20 (IPv4 outer) - 40 (IPv6) - 20 (TCP) = 1420 */
	EXPECT_EQ(hex(l3_of(syn6_with_mss(40003, 1420))),
		  hex(Bytes(out[0].frame.begin() + 34, out[0].frame.end())));
	EXPECT_EQ(1u, w()->c.mss_clamped);
	out = run(syn6_with_mss(40004, 1400), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(1u, w()->c.mss_clamped);
}

TEST_F(Edge6, OverTheInnerMtuGetsPacketTooBig)
{
	build6(edge6("ipip"));
	Tcp6 t = tcp6(CLIENT6, 40005, 0x10);
	t.payload = 1500 - 60;	/* a full 1500-byte IPv6 packet */
	Bytes in = tcp6_frame(t);
	auto out = run(in, 0);

	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	const Bytes &f = out[0].frame;
	ASSERT_GE(f.size(), 62u + 40u);
	EXPECT_EQ(0x86, f[12]);
	EXPECT_EQ(0xdd, f[13]);
	EXPECT_EQ(58, f[14 + 6]);		/* ICMPv6 */
	EXPECT_EQ(0, memcmp(&f[14 + 8], ip6_of("2001:db8:c::1").b, 16));
	EXPECT_EQ(0, memcmp(&f[14 + 24], CLIENT6.b, 16));
	EXPECT_EQ(2, f[54]);			/* packet too big */
	EXPECT_EQ(0, f[55]);
	EXPECT_EQ(1480u, (uint32_t)f[58] << 24 | f[59] << 16 | f[60] << 8 |
		  f[61]);
	/* the quote starts with the offending packet's header */
	EXPECT_EQ(0, memcmp(&f[62], &in[14], 40));
	EXPECT_EQ(1u, w()->c.drops[EF_FWD_DROP_MTU_EXCEEDED]);
	EXPECT_EQ(0u, w()->c.encap_packets);
	/* one byte less fits */
	t.payload = 1480 - 60;
	out = run(tcp6_frame(t), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(1, out[0].iface);
	EXPECT_EQ(1u, w()->c.encap_packets);
}

TEST_F(Edge6, EndpointWeightsShareAndEveryFlowSticks)
{
	build6(edge6("ipip"));
	std::map<uint32_t, uint32_t> first;
	uint32_t n1 = 0;
	const uint32_t n = 2000;

	for (uint32_t i = 0; i < n; i++) {
		auto out = run(tcp6_frame(tcp6(client6(i), 30000, 0x02)), 0);

		ASSERT_EQ(1u, out.size()) << i;
		first[i] = outer_dst(out[0].frame);
		n1 += first[i] == ip_of("10.1.0.11");
	}
	/* node-1 has 1 of the 4 IPv6 endpoints: a quarter of the flows */
	EXPECT_NEAR((double)n1 / n, 0.25, 0.04);
	EXPECT_EQ(n, ef_edge_flows_stats(w()->edge_flows6)->active);
	/* mid-flow segments follow their entry */
	for (uint32_t i = 0; i < n; i += 7) {
		auto out = run(tcp6_frame(tcp6(client6(i), 30000, 0x10)), 0);

		ASSERT_EQ(1u, out.size()) << i;
		EXPECT_EQ(first[i], outer_dst(out[0].frame)) << i;
	}
	/* the per-node counters are the IPv4 table's, both families */
	uint64_t packets = 0;
	int64_t flows = 0;
	const struct ef_edge_lb *lb = ef_svc_edge_lb(w()->gen, 0);
	ASSERT_NE(nullptr, lb);
	for (uint32_t k = 0; k < lb->n_nodes; k++)
		ef_edge_flows_ctr_read(w()->edge_flows, lb->nodes[k].slot,
				       &packets, &flows);
	EXPECT_EQ((int64_t)n, flows);
	EXPECT_EQ(n + (n + 6) / 7, packets);
}

/* 6in4 from src to node-1 around an IPv6 frame */
Bytes
sit_to_node(uint32_t src, const Bytes &inner6)
{
	return ipv4_frame(ip4(port_mac(0), ROUTER_MAC, src, ip_of("10.1.0.11"),
			      41, 64, 0, 0x4000), l3_of(inner6));
}

TEST_F(Edge6, DecapOf6in4ServedLocalWithTheClientAddress)
{
	build6(node6("external_traffic_policy = \"Local\"; "
		     "health_check_node_port = 32000;"));
	Tcp6 t = tcp6(CLIENT6, 41000, 0x02);
	t.dmac = port_mac(0);
	auto out = run(sit_to_node(ip_of("10.1.0.1"), tcp6_frame(t)), 0);

	ASSERT_EQ(1u, out.size()) << w()->c.drops[EF_FWD_DROP_NO_FLOW];
	EXPECT_EQ(1, out[0].iface);
	const Bytes &f = out[0].frame;
	ASSERT_GE(f.size(), 54u);
	EXPECT_EQ(0x86, f[12]);
	EXPECT_EQ(0, memcmp(&f[14 + 8], CLIENT6.b, 16));	/* no SNAT */
	EXPECT_EQ(0, memcmp(&f[14 + 24], POD6.b, 16));
	EXPECT_EQ(8080, f[54 + 2] << 8 | f[54 + 3]);
	EXPECT_EQ(1u, w()->c.decap_packets);
	EXPECT_EQ(1u, w()->c.flows_created);
	/* from outside decap.sources: denied, counted */
	out = run(sit_to_node(ip_of("198.18.0.1"),
			      tcp6_frame(tcp6(CLIENT6, 41001, 0x02))), 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, w()->c.drops[EF_FWD_DROP_DECAP_DENIED]);
	EXPECT_EQ(1u, w()->c.decap_packets);
}

/* node-1 (t: a NODE6_CONF text) on an IPv6 underlay: decap.sources lists
 * its fabric's IPv6 subnet, the service is dual-stack (docs/EDGE.md
 * "IPv6 underlay") */
static std::string
node6_underlay(std::string t)
{
	auto sub = [&t](const std::string &from, const std::string &to) {
		size_t at = t.find(from);

		EXPECT_NE(std::string::npos, at) << from;
		t.replace(at, from.size(), to);
	};
	sub("sources = [ \"10.1.0.0/24\" ]",
	    "sources = [ \"10.1.0.0/24\", \"2001:db8:f::/64\" ]");
	sub("ip_families = [ \"IPv6\" ];\n"
	    "    load_balancer_ips = [ \"2001:db8:10::10\" ];",
	    "ip_families = [ \"IPv6\", \"IPv4\" ];\n"
	    "    load_balancer_ips = [ \"2001:db8:10::10\", \"203.0.113.10\" ];");
	return t;
}

/* "name=count" of every nonzero drop counter of w */
static std::string
drops_of(const struct ef_fwd_worker *w)
{
	std::string r;

	for (unsigned int i = 0; i < EF_FWD_DROP_MAX; i++)
		if (w->c.drops[i] != 0)
			r += std::string(ef_fwd_drop_name(i)) + "=" +
				std::to_string(w->c.drops[i]) + " ";
	return r;
}

const Ip6a PEER6 = ip6_of("2001:db8:f::1");	/* an edge on the fabric */
const Ip6a NODE1_6 = ip6_of("2001:db8:f::11");

TEST_F(Edge6, DecapOfIpv6UnderlayServedLocalWithTheClientAddress)
{
	build6(node6_underlay(node6("external_traffic_policy = \"Local\"; "
				    "health_check_node_port = 32000;",
				    ", { address = \"10.244.1.5\"; "
				    "node = \"node-1\"; }")));
	/* ip6ip6: an IPv6 client, kept */
	Tcp6 t = tcp6(CLIENT6, 42000, 0x02);
	t.dmac = port_mac(0);
	auto out = run(ipv6_frame(port_mac(0), ROUTER_MAC, PEER6, NODE1_6, 41,
				  l3_of(tcp6_frame(t))), 0);

	ASSERT_EQ(1u, out.size()) << w()->c.drops[EF_FWD_DROP_DECAP_DENIED];
	EXPECT_EQ(1, out[0].iface);
	const Bytes &f = out[0].frame;
	ASSERT_GE(f.size(), 58u);
	EXPECT_EQ(0x86, f[12]);
	EXPECT_EQ(0, memcmp(&f[14 + 8], CLIENT6.b, 16));	/* no SNAT */
	EXPECT_EQ(0, memcmp(&f[14 + 24], POD6.b, 16));
	EXPECT_EQ(8080, f[54 + 2] << 8 | f[54 + 3]);
	/* IPv4 in IPv6: an IPv4 client, kept, to the IPv4 pod */
	Tcp t4;
	t4.dmac = port_mac(0);
	t4.smac = ROUTER_MAC;
	t4.sip = ip_of("192.0.2.7");
	t4.dip = VIP;
	t4.sport = 42001;
	t4.dport = 80;
	t4.flags = 0x02;
	Bytes in4 = l3_of(tcp_frame(t4));
	/* the inner packet, not the frame's padding */
	in4.resize((size_t)(in4[2] << 8 | in4[3]));
	out = run(ipv6_frame(port_mac(0), ROUTER_MAC, PEER6, NODE1_6, 4, in4),
		  0);
	ASSERT_EQ(1u, out.size()) << drops_of(w());
	const Bytes &g = out[0].frame;
	ASSERT_GE(g.size(), 54u);
	EXPECT_EQ(0x08, g[12]);
	uint32_t s4, d4;
	memcpy(&s4, &g[26], 4);
	memcpy(&d4, &g[30], 4);
	EXPECT_EQ(ip_of("192.0.2.7"), s4);
	EXPECT_EQ(ip_of("10.244.1.5"), d4);
	EXPECT_TRUE(checksums_ok(g));
	/* GUE over IPv6 (proto 41), its UDP checksum summed */
	Bytes gue = { 0, 41, 0, 0 };
	Bytes in6 = l3_of(tcp6_frame(tcp6(CLIENT6, 42002, 0x02)));
	gue.insert(gue.end(), in6.begin(), in6.end());
	out = run(udp6_frame(port_mac(0), ROUTER_MAC, PEER6, NODE1_6, 50000,
			     6080, gue), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, memcmp(&out[0].frame[14 + 8], CLIENT6.b, 16));
	EXPECT_EQ(3u, w()->c.decap_packets);
	EXPECT_EQ(3u, w()->c.flows_created);
	/* from outside decap.sources: denied, counted; and an IPv6 packet
	 * to an address not the interface's is no tunnel of ours */
	out = run(ipv6_frame(port_mac(0), ROUTER_MAC, ip6_of("2001:db8:99::1"),
			     NODE1_6, 41,
			     l3_of(tcp6_frame(tcp6(CLIENT6, 42003, 0x02)))), 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(1u, w()->c.drops[EF_FWD_DROP_DECAP_DENIED]);
	out = run(ipv6_frame(port_mac(0), ROUTER_MAC, PEER6, VIP6, 41,
			     l3_of(tcp6_frame(tcp6(CLIENT6, 42004, 0x02)))), 0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(3u, w()->c.decap_packets);
	EXPECT_EQ(1u, w()->c.drops[EF_FWD_DROP_DECAP_DENIED]);
}

TEST_F(Edge6, Ipv6UnderlayNotTakenWithoutIpv6Sources)
{
	/* decap.sources IPv4 only: ip6ip6 to the node is the node's own
	 * protocol 41 (its kernel's), never decapsulated */
	build6(node6("external_traffic_policy = \"Local\"; "
		     "health_check_node_port = 32000;"));
	auto out = run(ipv6_frame(port_mac(0), ROUTER_MAC, PEER6, NODE1_6, 41,
				  l3_of(tcp6_frame(tcp6(CLIENT6, 42010, 0x02)))),
		       0);
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(0u, w()->c.decap_packets);
	EXPECT_EQ(0u, w()->c.drops[EF_FWD_DROP_DECAP_DENIED]);
	EXPECT_EQ(0u, w()->c.flows_created);
}

TEST_F(Edge6, ClusterEncapSendsRemotePicksIn6in4WithoutSnat)
{
	build6(node6("external_traffic_policy = \"Cluster\"; "
		     "cluster_forwarding = \"encap\";",
		     ", { address = \"fd00:244:2::5\"; node = \"node-2\"; },"
		     "  { address = \"fd00:244:2::6\"; node = \"node-2\"; },"
		     "  { address = \"fd00:244:2::7\"; node = \"node-2\"; }"));
	uint32_t remote = 0, local = 0;

	for (uint32_t i = 0; i < 400; i++) {
		auto out = run(tcp6_frame(tcp6(client6(i), 31000, 0x02)), 0);

		ASSERT_EQ(1u, out.size()) << i;
		const Bytes &f = out[0].frame;
		if (f[12] == 0x08) {
			/* to node-2, unchanged inside */
			EXPECT_EQ(41, f[14 + 9]) << i;
			EXPECT_EQ(ip_of("10.1.0.12"), outer_dst(f)) << i;
			EXPECT_EQ(0, memcmp(&f[34 + 8], client6(i).b, 16)) << i;
			EXPECT_EQ(0, memcmp(&f[34 + 24], VIP6.b, 16)) << i;
			remote++;
		} else {
			/* ours: the local pod, the client's address kept */
			EXPECT_EQ(0, memcmp(&f[14 + 8], client6(i).b, 16)) << i;
			EXPECT_EQ(0, memcmp(&f[14 + 24], POD6.b, 16)) << i;
			local++;
		}
	}
	/* 3 of 4 endpoints on node-2 */
	EXPECT_NEAR(remote / 400.0, 0.75, 0.07);
	EXPECT_EQ(400u, remote + local);
	EXPECT_EQ(remote, w()->c.encap_packets);
	EXPECT_EQ(0u, w()->c.drops[EF_FWD_DROP_SNAT_EXHAUSTED]);
}

/* ---- an IPv6 underlay: nodes reached at IPv6 addresses ----------- */

/* %s: forwarding; %s: p1's MTU */
const char *const EDGE_U6_CONF = R"(
node = { name = "edge-1"; };
interfaces = (
  { port = "p0"; addresses = [ "198.51.100.1/24", "2001:db8:c::1/64" ]; },
  { port = "p1"; addresses = [ "10.1.0.1/24", "fd00:1::1/64" ]; mtu = %s; }
);
conntrack = { max_flows = 4096; };
nodes = ( { name = "node-1"; address = "fd00:1::11"; },
          { name = "node-2"; address = "fd00:1::12"; } );
edge = { forwarding = "%s"; };
services = (
  { name = "default/web"; type = "LoadBalancer"; mode = "edge";
    ip_families = [ "IPv4", "IPv6" ];
    load_balancer_ips = [ "203.0.113.10", "2001:db8:10::10" ];
    external_traffic_policy = "Local"; health_check_node_port = 32000;
    ports = ( { port = 80; target_port = 8080; } );
    endpoints = ( { address = "10.244.1.5"; node = "node-1"; },
                  { address = "10.244.2.5"; node = "node-2"; },
                  { address = "fd00:244:1::5"; node = "node-1"; },
                  { address = "fd00:244:2::5"; node = "node-2"; } ); }
);
)";

const Ip6a U6_SELF = ip6_of("fd00:1::1");
const Ip6a U6_NODE1 = ip6_of("fd00:1::11");
const Ip6a U6_NODE2 = ip6_of("fd00:1::12");

class EdgeU6 : public Edge6 {
protected:
	void build_u6(const char *fwd, const char *mtu = "1500",
		      bool node_neigh = true)
	{
		RigOpts o;
		char t[8192];

		snprintf(t, sizeof(t), EDGE_U6_CONF, mtu, fwd);
		o.pool_prefix = "eu6pool";
		o.pool_size = 2047;
		o.n_svc_ids = 64;
		o.connect = true;
		o.neigh6 = { { 0, CLIENT6, CLIENT_MAC },
			     { 0, ip6_of("2001:db8:c::fe"), ROUTER_MAC } };
		if (node_neigh) {
			o.neigh6.push_back({ 1, U6_NODE1, NODE1_MAC });
			o.neigh6.push_back({ 1, U6_NODE2, NODE2_MAC });
		}
		rig_up(t, o, { { 0, ip_of("198.51.100.2"), CLIENT_MAC } });
	}
	/* the node a frame went to (outer IPv6 destination) */
	static Ip6a outer_dst6(const Bytes &f)
	{
		Ip6a a;

		memcpy(a.b, &f[14 + 24], 16);
		return a;
	}
	/* the frame the node must get: outer IPv6 (next header nh, hop
	 * limit 64, traffic class tc, the flow label the edge chose, which
	 * must not be 0) around the inner packet as it came */
	static Bytes want_u6(const Bytes &got, const Bytes &in, uint8_t nh,
			     uint8_t tc)
	{
		Ip6a node = outer_dst6(got);
		Mac nm = memcmp(node.b, U6_NODE1.b, 16) == 0 ? NODE1_MAC :
			NODE2_MAC;
		Bytes w = ipv6_frame(nm, port_mac(1), U6_SELF, node, nh,
				     l3_of(in), 64);
		uint32_t label = ((uint32_t)(got[15] & 0x0f) << 16) |
			(uint32_t)got[16] << 8 | got[17];

		EXPECT_NE(0u, label);
		w[14] = (uint8_t)(0x60 | tc >> 4);
		w[15] = (uint8_t)((tc & 0x0f) << 4 | (label >> 16));
		w[16] = (uint8_t)(label >> 8);
		w[17] = (uint8_t)label;
		return w;
	}
};

/* An IPv6 VIP to an IPv6 node: ip6ip6 (RFC 2473), the inner packet as
 * it came. */
TEST_F(EdgeU6, Ip6ip6FrameByteForByte)
{
	build_u6("ipip");
	Bytes in = tcp6_frame(tcp6(CLIENT6, 41000, 0x02));
	auto out = run(in, 0);

	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(1, out[0].iface);
	EXPECT_EQ(hex(want_u6(out[0].frame, in, 41, 0)), hex(out[0].frame));
	EXPECT_EQ(1u, w()->c.encap_packets);
}

/* An IPv4 VIP to an IPv6 node: IPv4-in-IPv6, the TOS as traffic class;
 * the same flow keeps its node and its flow label. */
TEST_F(EdgeU6, Ipv4InIpv6FrameByteForByteAndSticky)
{
	build_u6("ipip");
	Tcp t = tcp(ip_of("198.51.100.2"), 41001, 0x02);
	Bytes in = tcp_frame(t);
	auto out = run(in, 0);

	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(hex(want_u6(out[0].frame, in, 4, 0)), hex(out[0].frame));
	t.flags = 0x10;
	auto again = run(tcp_frame(t), 0);
	ASSERT_EQ(1u, again.size());
	EXPECT_EQ(0, memcmp(&out[0].frame[14], &again[0].frame[14], 4 + 4));
	EXPECT_EQ(0, memcmp(&out[0].frame[14 + 24], &again[0].frame[14 + 24],
			    16));
	EXPECT_EQ(2u, w()->c.encap_packets);
}

/* Both nodes get flows, by their IPv6 addresses. */
TEST_F(EdgeU6, FlowsSpreadOverIpv6Nodes)
{
	build_u6("gue");
	uint32_t n1 = 0, n2 = 0;

	for (uint32_t i = 0; i < 200; i++) {
		auto out = run(tcp6_frame(tcp6(client6(i), 32000, 0x02)), 0);

		ASSERT_EQ(1u, out.size()) << i;
		const Bytes &f = out[0].frame;
		ASSERT_EQ(0x86, f[12]);
		ASSERT_EQ(17, f[14 + 6]);	/* GUE over IPv6 */
		EXPECT_NE(0, f[54 + 6] | f[54 + 7]) << "UDP checksum";
		EXPECT_EQ(41, f[54 + 8 + 1]);	/* GUE proto 41 */
		Ip6a d = outer_dst6(f);
		n1 += memcmp(d.b, U6_NODE1.b, 16) == 0;
		n2 += memcmp(d.b, U6_NODE2.b, 16) == 0;
	}
	EXPECT_EQ(200u, n1 + n2);
	EXPECT_NEAR(n1 / 200.0, 0.5, 0.15);
}

/* The IPv6 outer header's 40 bytes come off the MSS and the MTU. */
TEST_F(EdgeU6, MssAndFragNeededCountTheIpv6Overhead)
{
	build_u6("ipip");
	auto out = run(syn_with_mss(ip_of("198.51.100.2"), 41002, 1460), 0);

	ASSERT_EQ(1u, out.size());
	/* 1500 - 40 (outer IPv6) - 20 - 20 = 1420 */
	EXPECT_EQ(hex(l3_of(syn_with_mss(ip_of("198.51.100.2"), 41002,
					 1420))),
		  hex(Bytes(out[0].frame.begin() + 54, out[0].frame.end())));
	EXPECT_EQ(1u, w()->c.mss_clamped);
	/* a DF packet of 1461 bytes: frag-needed with MTU 1460 */
	Tcp t = tcp(ip_of("198.51.100.2"), 41003, 0x10);
	t.payload = 1461 - 40;
	t.df = true;
	out = run(tcp_frame(t), 0);
	ASSERT_EQ(1u, out.size());
	EXPECT_EQ(0, out[0].iface);
	const Bytes &f = out[0].frame;
	EXPECT_EQ(1, f[14 + 9]);		/* ICMP */
	EXPECT_EQ(3, f[34]);
	EXPECT_EQ(4, f[35]);
	EXPECT_EQ(1460, f[40] << 8 | f[41]);
	EXPECT_EQ(1u, w()->c.drops[EF_FWD_DROP_MTU_EXCEEDED]);
}

/* A non-DF IPv4 packet beyond the inner MTU: the inner packet is cut in
 * two, each piece in its own IPv6 tunnel packet, none beyond the MTU. */
TEST_F(EdgeU6, NonDfTooBigGoesAsInnerFragments)
{
	build_u6("ipip");
	Tcp t = tcp(ip_of("198.51.100.2"), 41004, 0x10);
	t.payload = 1500 - 40;
	t.df = false;
	auto out = run(tcp_frame(t), 0);

	ASSERT_EQ(2u, out.size());
	for (const auto &o : out) {
		EXPECT_EQ(1, o.iface);
		EXPECT_LE(o.frame.size(), 14u + 1500u);
		EXPECT_EQ(0x86, o.frame[12]);
		EXPECT_EQ(4, o.frame[14 + 6]);
	}
	/* inner: the first fragment has MF, the second an offset */
	EXPECT_EQ(0x20, out[0].frame[54 + 6] & 0x20);
	EXPECT_NE(0, (out[1].frame[54 + 6] & 0x1f) | out[1].frame[54 + 7]);
	EXPECT_EQ(1u, w()->c.encap_packets);
}

/* An IPv6 inner packet where the underlay's inner MTU is below 1280:
 * dropped and counted (no outer IPv6 fragments). */
TEST_F(EdgeU6, Ipv6BelowTheMinimumMtuIsCountedTooBig)
{
	build_u6("ipip", "1300");
	Tcp6 t = tcp6(CLIENT6, 41005, 0x10);
	t.payload = 1280 - 60;
	auto out = run(tcp6_frame(t), 0);

	EXPECT_EQ(0u, out.size());
	EXPECT_EQ(1u, w()->c.drops[EF_FWD_DROP_ENCAP_TOO_BIG]);
	t.payload = 1260 - 60;	/* 1260 fits 1300 - 40 */
	out = run(tcp6_frame(t), 0);
	EXPECT_EQ(1u, out.size());
}

/* A node whose IPv6 neighbour is not known yet: the tunnel packet waits
 * for neighbour discovery (an NS goes out), nothing is sent in clear. */
TEST_F(EdgeU6, UnresolvedIpv6NodeIsHeldEncapsulated)
{
	build_u6("ipip", "1500", false);
	auto out = run(tcp6_frame(tcp6(CLIENT6, 41006, 0x02)), 0);

	for (const auto &o : out)
		EXPECT_NE(0, memcmp(&o.frame[14 + 8], CLIENT6.b, 16))
			<< "sent before its node was resolved";
	EXPECT_EQ(1u, w()->c.neigh_held);
	EXPECT_EQ(1u, w()->c.encap_packets);
}

/* Not a check: cycles per packet through ef_fwd_process for the edge path
 * (printed; BENCH.md quotes a quiet run). Bursts of 32. */
TEST_F(Edge, FiguresThroughThePipeline)
{
	for (const char *fwd : { "ipip", "gue" }) {
		build(edge_text(fwd));
		const uint32_t n = 4096, rounds = 8;
		std::vector<Bytes> syn, ack;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t src = htonl(0x64400000u + i);
			syn.push_back(tcp_frame(tcp(src, 1000, 0x02)));
			ack.push_back(tcp_frame(tcp(src, 1000, 0x10)));
		}
		auto burst = [&](std::vector<Bytes> &v, uint32_t at) {
			struct rte_mbuf *m[32];
			for (uint32_t j = 0; j < 32; j++) {
				m[j] = rte_pktmbuf_alloc(sh.pool);
				memcpy(rte_pktmbuf_append(m[j], (uint16_t)
					v[at + j].size()), v[at + j].data(),
				       v[at + j].size());
				m[j]->port = 0;
			}
			uint64_t t0 = rte_rdtsc();
			ef_fwd_process(w(), m, 32, false);
			uint64_t dt = rte_rdtsc() - t0;
			for (uint16_t p = 0; p < sh.n_ports; p++) {
				for (uint16_t j = 0; j < w()->n_out[p]; j++)
					rte_pktmbuf_free(w()->out[p][j]);
				w()->n_out[p] = 0;
			}
			return dt;
		};
		ef_fwd_begin(w());
		uint64_t c_new = 0, c_est = 0;
		for (uint32_t i = 0; i < n; i += 32)
			c_new += burst(syn, i);
		for (uint32_t r = 0; r < rounds; r++)
			for (uint32_t i = 0; i < n; i += 32)
				c_est += burst(ack, i);
		double cn = (double)c_new / n, ce = (double)c_est / (n * rounds);
		printf("edge %s: new flow %.0f cycles (%.2f M/s), established "
		       "%.0f cycles/packet (TSC %.2f GHz)\n", fwd, cn,
		       rte_get_tsc_hz() / cn / 1e6, ce, rte_get_tsc_hz() / 1e9);
		EXPECT_EQ((uint64_t)n * (rounds + 1), w()->c.encap_packets);
	}
}

} /* namespace */
