/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PROXY protocol fixtures (issue 14): frames through ef_fwd_process()
 * against expected frames built independently (test/shim/frames.h); the
 * header bytes are spelled out here, not taken from lib/pkt.
 */
#include <arpa/inet.h>
#include <cstring>
#include <string>

#include <rte_mbuf.h>

#include <gtest/gtest.h>

#include "ef_cfg.h"
#include "ef_fwd.h"
#include "ef_nat.h"
#include "ef_neigh.h"
#include "ef_svc.h"
#include "frames.h"
#include "rig.h"

static const char *CONF = R"(
node = { name = "node-a"; snat_addresses = [ "10.0.0.1" ]; };
interfaces = (
  { port = "p0"; address = "198.51.100.1/24"; },
  { port = "p1"; address = "10.244.0.1/24"; },
  { port = "p2"; address = "10.0.0.1/24"; }
);
conntrack = { max_flows = 1024; };
services = (
  { name = "t/v1"; type = "LoadBalancer"; cluster_ip = "10.96.0.11";
    load_balancer_ips = [ "198.51.100.11" ];
    ports = ( { name = "http"; port = 80; target_port = 8080;
                proxy_protocol = "v1"; },
              { name = "plain"; port = 81; target_port = 8081; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; } ); },
  { name = "t/v2"; type = "LoadBalancer"; cluster_ip = "10.96.0.10";
    load_balancer_ips = [ "198.51.100.10" ];
    external_traffic_policy = "Local";
    ports = ( { port = 80; target_port = 8080; proxy_protocol = "v2"; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; } ); }
);
)";

static const Mac CLIENT_MAC = mac_of("02:aa:00:00:00:02");
static const Mac POD5_MAC = mac_of("02:bb:00:00:00:05");
static const uint32_t CLIENT = ip_of("198.51.100.2");
static const uint32_t POD5 = ip_of("10.244.0.5");
static const uint32_t SNAT = ip_of("10.0.0.1");

static const std::string V1_LINE =
	"PROXY TCP4 198.51.100.2 198.51.100.11 40000 80\r\n";

static Bytes
v1_bytes()
{
	return Bytes(V1_LINE.begin(), V1_LINE.end());
}

/* v2: signature, 0x21 (v2 PROXY), 0x11 (TCP4), length 12, addresses,
 * ports: client 198.51.100.2:40000 -> frontend 198.51.100.10:80 */
static Bytes
v2_bytes()
{
	return Bytes{ 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55,
		      0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
		      198, 51, 100, 2, 198, 51, 100, 10,
		      0x9c, 0x40, 0x00, 0x50 };
}

class Proxy : public PipeRig {
protected:
	uint16_t snat_port = 0;	/* the flow's, learnt from its SYN */

	void SetUp() override
	{
		RigOpts o;
		o.pool_prefix = "ppool";
		rig_up(CONF, o,
		       { { 0, CLIENT, CLIENT_MAC }, { 1, POD5, POD5_MAC } });
	}

	/* client -> vip:port */
	Tcp from_client(const char *vip, uint8_t flags, uint32_t seq,
			uint32_t ack, uint16_t dport = 80)
	{
		Tcp t;
		t.dmac = port_mac(0);
		t.smac = CLIENT_MAC;
		t.sip = CLIENT;
		t.dip = ip_of(vip);
		t.sport = 40000;
		t.dport = dport;
		t.flags = flags;
		t.seq = seq;
		t.ack = ack;
		return t;
	}

	/* the same, as the endpoint gets it (snat: Cluster) */
	Tcp to_pod(const Tcp &c, bool snat, uint16_t eport = 8080)
	{
		Tcp e = c;
		e.dmac = POD5_MAC;
		e.smac = port_mac(1);
		e.sip = snat ? SNAT : CLIENT;
		e.sport = snat ? snat_port : c.sport;
		e.dip = POD5;
		e.dport = eport;
		e.ttl = 63;
		return e;
	}

	/* endpoint -> client side of the flow */
	Tcp from_pod(bool snat, uint8_t flags, uint32_t seq, uint32_t ack,
		     uint16_t eport = 8080)
	{
		Tcp t;
		t.dmac = port_mac(1);
		t.smac = POD5_MAC;
		t.sip = POD5;
		t.dip = snat ? SNAT : CLIENT;
		t.sport = eport;
		t.dport = snat ? snat_port : 40000;
		t.flags = flags;
		t.seq = seq;
		t.ack = ack;
		t.id = 0x5555;
		return t;
	}

	Tcp to_client(const Tcp &e, const char *vip, uint16_t fport = 80)
	{
		Tcp c = e;
		c.dmac = CLIENT_MAC;
		c.smac = port_mac(0);
		c.sip = ip_of(vip);
		c.sport = fport;
		c.dip = CLIENT;
		c.dport = 40000;
		c.ttl = 63;
		return c;
	}

	/* The header segment edgefwd sends: its own frame (TTL 64, id 0) */
	Bytes header_frame(bool snat, const Bytes &hdr, uint32_t ack,
			   uint16_t win = 65535)
	{
		Tcp h = to_pod(from_client("198.51.100.11", 0x18, 1001, ack),
			       snat);
		h.ttl = 64;
		h.id = 0;
		h.win = win;
		h.data = hdr;
		return tcp_frame(h);
	}

	/* SYN, SYN-ACK, ACK on vip; returns what the ACK produced. */
	std::vector<Out> handshake(const char *vip, bool snat)
	{
		auto o = run(tcp_frame(from_client(vip, 0x02, 1000, 0)), 0);
		EXPECT_EQ(1u, o.size());
		if (o.size() != 1)
			return {};
		if (snat)
			snat_port = (uint16_t)(o[0].frame[34] << 8 |
					       o[0].frame[35]);
		/* the SYN goes unchanged (only NAT) */
		EXPECT_EQ(hex(tcp_frame(to_pod(from_client(vip, 0x02, 1000, 0),
					       snat))), hex(o[0].frame));
		o = run(tcp_frame(from_pod(snat, 0x12, 5000, 1001)), 1);
		EXPECT_EQ(1u, o.size());
		if (o.size() == 1) {
			EXPECT_EQ(hex(tcp_frame(to_client(from_pod(snat, 0x12,
					5000, 1001), vip))), hex(o[0].frame));
		}
		return run(tcp_frame(from_client(vip, 0x10, 1001, 5001)), 0);
	}
};

static const uint32_t H1 = 48;	/* V1_LINE.size() */
static const uint32_t H2 = 28;

TEST_F(Proxy, V1HeaderFollowsTheHandshakeThroughSnat)
{
	ASSERT_EQ(H1, V1_LINE.size());
	auto o = handshake("198.51.100.11", true);
	ASSERT_EQ(2u, o.size());
	EXPECT_EQ(1, o[0].iface);
	EXPECT_EQ(hex(header_frame(true, v1_bytes(), 5001)), hex(o[0].frame));
	EXPECT_TRUE(checksums_ok(o[0].frame));
	/* the ACK itself, shifted past the header */
	EXPECT_EQ(hex(tcp_frame(to_pod(from_client("198.51.100.11", 0x10,
						   1001 + H1, 5001), true))),
		  hex(o[1].frame));
	EXPECT_EQ(1u, w()->c.proxy_headers_sent);
}

TEST_F(Proxy, V2HeaderUnderLocal)
{
	auto o = handshake("198.51.100.10", false);
	ASSERT_EQ(2u, o.size());
	Tcp h = to_pod(from_client("198.51.100.10", 0x18, 1001, 5001), false);
	h.ttl = 64;
	h.id = 0;
	h.data = v2_bytes();
	EXPECT_EQ(hex(tcp_frame(h)), hex(o[0].frame));
	EXPECT_EQ(hex(tcp_frame(to_pod(from_client("198.51.100.10", 0x10,
						   1001 + H2, 5001), false))),
		  hex(o[1].frame));
}

TEST_F(Proxy, DataAndAcksShiftBothWaysWithConntrackInStep)
{
	handshake("198.51.100.11", true);
	/* client data: +H, and a retransmission of it the same */
	Tcp d = from_client("198.51.100.11", 0x18, 1001, 5001);
	d.payload = 100;
	Tcp de = to_pod(d, true);
	de.seq = 1001 + H1;
	for (int i = 0; i < 2; i++) {
		auto o = run(tcp_frame(d), 0);
		ASSERT_EQ(1u, o.size());
		EXPECT_EQ(hex(tcp_frame(de)), hex(o[0].frame));
	}
	/* endpoint acks header + data: the client sees its own numbers */
	Tcp a = from_pod(true, 0x18, 5001, 1001 + H1 + 100);
	a.payload = 30;
	auto o = run(tcp_frame(a), 1);
	ASSERT_EQ(1u, o.size());
	Tcp ac = to_client(a, "198.51.100.11");
	ac.ack = 1101;
	EXPECT_EQ(hex(tcp_frame(ac)), hex(o[0].frame));
	/* the client acks the reply: endpoint numbers, not shifted */
	o = run(tcp_frame(from_client("198.51.100.11", 0x10, 1101, 5031)), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(tcp_frame(to_pod(from_client("198.51.100.11", 0x10,
						   1101 + H1, 5031), true))),
		  hex(o[0].frame));
	EXPECT_EQ(0u, w()->c.drops[EF_FWD_DROP_CT_INVALID]);
	/* the header was acked: nothing is ever resent */
	now_ms += 60000;
	EXPECT_EQ(0u, housekeep().size());
	EXPECT_EQ(0u, w()->c.proxy_header_retransmits);
	EXPECT_EQ(0u, w()->n_proxy_pend);
}

TEST_F(Proxy, LostHeaderIsResentOnTheDupAckAndSackIsMapped)
{
	handshake("198.51.100.11", true);
	Tcp d = from_client("198.51.100.11", 0x18, 1001, 5001);
	d.payload = 100;
	run(tcp_frame(d), 0);
	/* the header was lost: the endpoint acks base, SACKs the data */
	Tcp a = from_pod(true, 0x10, 5001, 1001);
	auto o = run(tcp_opts_frame(a, sack_opt(1001 + H1, 1101 + H1)), 1);
	ASSERT_EQ(2u, o.size());	/* collected by port: client's first */
	EXPECT_EQ(1, o[1].iface);
	EXPECT_EQ(hex(header_frame(true, v1_bytes(), 5001)), hex(o[1].frame));
	EXPECT_EQ(0, o[0].iface);
	EXPECT_EQ(hex(tcp_opts_frame(to_client(a, "198.51.100.11"),
				     sack_opt(1001, 1101))), hex(o[0].frame));
	EXPECT_TRUE(checksums_ok(o[0].frame));
	EXPECT_EQ(1u, w()->c.proxy_header_retransmits);
	/* the next dup ACK of the same train: no second resend */
	o = run(tcp_opts_frame(a, sack_opt(1001 + H1, 1101 + H1)), 1);
	EXPECT_EQ(1u, o.size());
	EXPECT_EQ(1u, w()->c.proxy_header_retransmits);
	/* a SACK edge inside the header maps to base */
	o = run(tcp_opts_frame(a, sack_opt(1001 + 10, 1101 + H1)), 1);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(tcp_opts_frame(to_client(a, "198.51.100.11"),
				     sack_opt(1001, 1101))), hex(o[0].frame));
}

TEST_F(Proxy, LostHeaderIsResentOnATimeoutWithBackoff)
{
	handshake("198.51.100.11", true);
	EXPECT_EQ(1u, w()->n_proxy_pend);
	now_ms += 100;
	EXPECT_EQ(0u, housekeep().size());
	now_ms += 100;	/* 200 ms */
	auto o = housekeep();
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(header_frame(true, v1_bytes(), 5001)), hex(o[0].frame));
	now_ms += 200;	/* the next one waits 400 ms */
	EXPECT_EQ(0u, housekeep().size());
	now_ms += 200;
	EXPECT_EQ(1u, housekeep().size());
	EXPECT_EQ(2u, w()->c.proxy_header_retransmits);
	/* acked at last: off the pending list */
	run(tcp_frame(from_pod(true, 0x10, 5001, 1001 + H1)), 1);
	now_ms += 10000;
	EXPECT_EQ(0u, housekeep().size());
	EXPECT_EQ(0u, w()->n_proxy_pend);
}

TEST_F(Proxy, ServerSpeaksFirstAfterTheHeader)
{
	auto o = handshake("198.51.100.11", true);
	ASSERT_EQ(2u, o.size());	/* header sent without client data */
	Tcp b = from_pod(true, 0x18, 5001, 1001 + H1);
	b.data = Bytes{ '2', '2', '0', ' ', 'h', 'i', '\r', '\n' };
	o = run(tcp_frame(b), 1);
	ASSERT_EQ(1u, o.size());
	Tcp bc = to_client(b, "198.51.100.11");
	bc.ack = 1001;
	EXPECT_EQ(hex(tcp_frame(bc)), hex(o[0].frame));
}

TEST_F(Proxy, RstBeforeTheHeaderIsAckedResetsBothWaysAndStopsResends)
{
	handshake("198.51.100.11", true);
	auto o = run(tcp_frame(from_client("198.51.100.11", 0x14, 1001, 5001)),
		     0);
	ASSERT_EQ(2u, o.size());
	/* an RST at base, for an endpoint that never got the header ... */
	Tcp r0 = to_pod(from_client("198.51.100.11", 0x14, 1001, 5001), true);
	r0.ttl = 64;
	r0.id = 0;
	EXPECT_EQ(hex(tcp_frame(r0)), hex(o[0].frame));
	/* ... and the client's, shifted, for one that did */
	EXPECT_EQ(hex(tcp_frame(to_pod(from_client("198.51.100.11", 0x14,
						   1001 + H1, 5001), true))),
		  hex(o[1].frame));
	now_ms += 60000;
	EXPECT_EQ(0u, housekeep().size());
	EXPECT_EQ(0u, w()->n_proxy_pend);
	EXPECT_EQ(0u, w()->c.proxy_header_retransmits);
}

TEST_F(Proxy, FinBeforeTheHeaderIsAckedIsShiftedAndTheHeaderStillResent)
{
	handshake("198.51.100.11", true);
	auto o = run(tcp_frame(from_client("198.51.100.11", 0x11, 1001, 5001)),
		     0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(tcp_frame(to_pod(from_client("198.51.100.11", 0x11,
						   1001 + H1, 5001), true))),
		  hex(o[0].frame));
	/* the header was lost: the endpoint still waits at base */
	now_ms += 200;
	ASSERT_EQ(1u, housekeep().size());
	/* both sides close: nothing left to resend, nothing held */
	run(tcp_frame(from_pod(true, 0x11, 5001, 1001 + H1 + 1)), 1);
	o = run(tcp_frame(from_client("198.51.100.11", 0x10, 1002, 5002)), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(tcp_frame(to_pod(from_client("198.51.100.11", 0x10,
						   1002 + H1, 5002), true))),
		  hex(o[0].frame));
	now_ms += 60000;
	EXPECT_EQ(0u, housekeep().size());
	EXPECT_EQ(0u, w()->n_proxy_pend);
	EXPECT_EQ(0u, w()->c.drops[EF_FWD_DROP_CT_INVALID]);
}

TEST_F(Proxy, PortWithoutTheSettingIsUnchanged)
{
	auto o = run(tcp_frame(from_client("198.51.100.11", 0x02, 1000, 0,
					   81)), 0);
	ASSERT_EQ(1u, o.size());
	snat_port = (uint16_t)(o[0].frame[34] << 8 | o[0].frame[35]);
	run(tcp_frame(from_pod(true, 0x12, 5000, 1001, 8081)), 1);
	Tcp a = from_client("198.51.100.11", 0x18, 1001, 5001, 81);
	a.payload = 10;
	o = run(tcp_frame(a), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(tcp_frame(to_pod(a, true, 8081))), hex(o[0].frame));
	EXPECT_EQ(0u, w()->c.proxy_headers_sent);
}

/* ===================== over IPv6 (issue 12) ===================== */

static const char *CONF6 = R"(
node = { name = "node-a"; snat_addresses = [ "10.0.0.1", "fd00:10::1" ]; };
interfaces = (
  { port = "p0"; addresses = [ "198.51.100.1/24", "2001:db8:100::1/64" ]; },
  { port = "p1"; addresses = [ "10.244.0.1/24", "fd00:244::1/64" ]; },
  { port = "p2"; addresses = [ "10.0.0.1/24", "fd00:10::1/64" ]; }
);
conntrack = { max_flows = 1024; };
services = (
  { name = "t/v1"; type = "LoadBalancer"; ip_families = [ "IPv4", "IPv6" ];
    load_balancer_ips = [ "198.51.100.11", "2001:db8:100::11" ];
    ports = ( { port = 80; target_port = 8080; proxy_protocol = "v1"; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; },
                  { address = "fd00:244::5"; node = "node-a"; } ); },
  { name = "t/v2"; type = "LoadBalancer"; ip_families = [ "IPv6" ];
    load_balancer_ips = [ "2001:db8:100::10" ];
    external_traffic_policy = "Local";
    ports = ( { port = 80; target_port = 8080; proxy_protocol = "v2"; } );
    endpoints = ( { address = "fd00:244::5"; node = "node-a"; } ); }
);
)";

static const Ip6a CLIENT6 = ip6_of("2001:db8:100::2");
static const Ip6a POD6 = ip6_of("fd00:244::5");
static const Ip6a SNAT6 = ip6_of("fd00:10::1");

class Proxy6 : public PipeRig {
protected:
	uint16_t snat_port = 0;

	void SetUp() override
	{
		RigOpts o;
		o.pool_prefix = "p6pool";
		o.neigh6 = { { 0, CLIENT6, CLIENT_MAC }, { 1, POD6, POD5_MAC } };
		rig_up(CONF6, o, {});
	}

	Tcp6 from_client(const char *vip, uint8_t flags, uint32_t seq,
			 uint32_t ack)
	{
		Tcp6 t;
		t.dmac = port_mac(0);
		t.smac = CLIENT_MAC;
		t.sip = CLIENT6;
		t.dip = ip6_of(vip);
		t.sport = 40000;
		t.dport = 80;
		t.flags = flags;
		t.seq = seq;
		t.ack = ack;
		return t;
	}

	Tcp6 to_pod(const Tcp6 &c, bool snat)
	{
		Tcp6 e = c;
		e.dmac = POD5_MAC;
		e.smac = port_mac(1);
		e.sip = snat ? SNAT6 : CLIENT6;
		e.sport = snat ? snat_port : c.sport;
		e.dip = POD6;
		e.dport = 8080;
		e.hlim = 63;
		return e;
	}

	Tcp6 from_pod(bool snat, uint8_t flags, uint32_t seq, uint32_t ack)
	{
		Tcp6 t;
		t.dmac = port_mac(1);
		t.smac = POD5_MAC;
		t.sip = POD6;
		t.dip = snat ? SNAT6 : CLIENT6;
		t.sport = 8080;
		t.dport = snat ? snat_port : 40000;
		t.flags = flags;
		t.seq = seq;
		t.ack = ack;
		return t;
	}

	Tcp6 to_client(const Tcp6 &e, const char *vip)
	{
		Tcp6 c = e;
		c.dmac = CLIENT_MAC;
		c.smac = port_mac(0);
		c.sip = ip6_of(vip);
		c.sport = 80;
		c.dip = CLIENT6;
		c.dport = 40000;
		c.hlim = 63;
		return c;
	}

	/* edgefwd's own header segment: hop limit 64, PSH|ACK at 1001 */
	Bytes header_frame(const char *vip, bool snat, const Bytes &hdr)
	{
		Tcp6 h = to_pod(from_client(vip, 0x18, 1001, 5001), snat);
		h.hlim = 64;
		h.data = hdr;
		return tcp6_frame(h);
	}

	std::vector<Out> handshake(const char *vip, bool snat)
	{
		auto o = run(tcp6_frame(from_client(vip, 0x02, 1000, 0)), 0);
		EXPECT_EQ(1u, o.size());
		if (o.size() != 1)
			return {};
		if (snat)
			snat_port = (uint16_t)(o[0].frame[54] << 8 |
					       o[0].frame[55]);
		EXPECT_EQ(hex(tcp6_frame(to_pod(from_client(vip, 0x02, 1000,
							    0), snat))),
			  hex(o[0].frame));
		o = run(tcp6_frame(from_pod(snat, 0x12, 5000, 1001)), 1);
		EXPECT_EQ(1u, o.size());
		if (o.size() == 1) {
			EXPECT_EQ(hex(tcp6_frame(to_client(from_pod(snat, 0x12,
					5000, 1001), vip))), hex(o[0].frame));
		}
		return run(tcp6_frame(from_client(vip, 0x10, 1001, 5001)), 0);
	}
};

static const std::string V1_LINE6 =
	"PROXY TCP6 2001:db8:100::2 2001:db8:100::11 40000 80\r\n";

/* v2: signature, 0x21 (v2 PROXY), 0x21 (TCP6), length 36, addresses,
 * ports: client [2001:db8:100::2]:40000 -> [2001:db8:100::10]:80 */
static Bytes
v2_bytes6()
{
	Bytes b{ 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55,
		 0x49, 0x54, 0x0a, 0x21, 0x21, 0x00, 0x24 };
	Ip6a vip = ip6_of("2001:db8:100::10");

	b.insert(b.end(), CLIENT6.b, CLIENT6.b + 16);
	b.insert(b.end(), vip.b, vip.b + 16);
	b.insert(b.end(), { 0x9c, 0x40, 0x00, 0x50 });
	return b;
}

TEST_F(Proxy6, V1HeaderOverIpv6ThroughSnat66)
{
	uint32_t h = (uint32_t)V1_LINE6.size();
	auto o = handshake("2001:db8:100::11", true);
	ASSERT_EQ(2u, o.size());
	EXPECT_EQ(1, o[0].iface);
	EXPECT_EQ(hex(header_frame("2001:db8:100::11", true,
				   Bytes(V1_LINE6.begin(), V1_LINE6.end()))),
		  hex(o[0].frame));
	EXPECT_EQ(hex(tcp6_frame(to_pod(from_client("2001:db8:100::11", 0x10,
						    1001 + h, 5001), true))),
		  hex(o[1].frame));
	EXPECT_EQ(1u, w()->c.proxy_headers_sent);
}

TEST_F(Proxy6, V2HeaderOverIpv6UnderLocalAndTheShiftBothWays)
{
	const char *vip = "2001:db8:100::10";
	auto o = handshake(vip, false);
	ASSERT_EQ(2u, o.size());
	EXPECT_EQ(hex(header_frame(vip, false, v2_bytes6())), hex(o[0].frame));
	/* client data: shifted by the 52 header bytes */
	Tcp6 d = from_client(vip, 0x18, 1001, 5001);
	d.payload = 10;
	o = run(tcp6_frame(d), 0);
	ASSERT_EQ(1u, o.size());
	Tcp6 de = to_pod(d, false);
	de.seq = 1001 + 52;
	EXPECT_EQ(hex(tcp6_frame(de)), hex(o[0].frame));
	/* the pod acks header and data: the client sees its own numbers */
	o = run(tcp6_frame(from_pod(false, 0x10, 5001, 1001 + 52 + 10)), 1);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(tcp6_frame(to_client(from_pod(false, 0x10, 5001,
						    1001 + 10), vip))),
		  hex(o[0].frame));
	EXPECT_EQ(0u, w()->c.proxy_header_retransmits);
}

/* The pending list holds IPv6 slots too: a lost header is resent on the
 * timeout, then on the pod's duplicate ACK of its base. */
TEST_F(Proxy6, LostHeaderOverIpv6IsResentOnTimeoutAndDupAck)
{
	const char *vip = "2001:db8:100::10";
	ASSERT_EQ(2u, handshake(vip, false).size());
	now_ms += 250;		/* past the first 200 ms timeout */
	auto o = housekeep();
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(header_frame(vip, false, v2_bytes6())), hex(o[0].frame));
	EXPECT_EQ(1u, w()->c.proxy_header_retransmits);
	/* the pod still waits at the base: resent once more */
	o = run(tcp6_frame(from_pod(false, 0x10, 5001, 1001)), 1);
	EXPECT_EQ(2u, w()->c.proxy_header_retransmits);
	/* now acked: nothing pending any more */
	run(tcp6_frame(from_pod(false, 0x10, 5001, 1001 + 52)), 1);
	now_ms += 10000;
	EXPECT_TRUE(housekeep().empty());
	EXPECT_EQ(2u, w()->c.proxy_header_retransmits);
}

TEST(ProxyConfig, OnlyTcpPortsAndKnownWords)
{
	const char *bad[] = {
		"protocol = \"UDP\"; proxy_protocol = \"v1\";",
		"proxy_protocol = \"v3\";",
		"proxy_protocol = \"V1\";",
	};
	for (const char *b : bad) {
		std::string t = R"(node = { name = "n"; };
interfaces = ( { port = "p0"; address = "198.51.100.1/24"; } );
services = ( { name = "a/b"; cluster_ip = "10.96.0.1";
  ports = ( { port = 80; )";
		t += b;
		t += " } ); } );\n";
		struct ef_cfg_errors errs = {};
		struct ef_cfg *cfg = ef_cfg_parse_string(t.c_str(), "x.conf",
							 &errs);
		EXPECT_EQ(nullptr, cfg) << b;
		ASSERT_GE(errs.n, 1u) << b;
		EXPECT_NE(nullptr, strstr(errs.msgs[0], "x.conf:4"))
			<< errs.msgs[0];
		EXPECT_NE(nullptr, strstr(errs.msgs[0], "proxy_protocol"))
			<< errs.msgs[0];
		ef_cfg_errors_clear(&errs);
		ef_cfg_free(cfg);
	}
}
