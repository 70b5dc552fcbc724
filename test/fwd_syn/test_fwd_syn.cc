/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SYN flood defence (issue 16): frames through ef_fwd_process() against
 * expected frames built independently (test/shim/frames.h).
 */
#include <arpa/inet.h>
#include <cstring>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include <gtest/gtest.h>

#include "ef_cfg.h"
#include "ef_fwd.h"
#include "ef_nat.h"
#include "ef_neigh.h"
#include "ef_svc.h"
#include "frames.h"
extern "C" {
#include "fwd_syn.h"	/* the cookie functions (worker-private) */
}
#include "rig.h"

#define EF_FWD_SYN_SLOT_SHIFT_T 16	/* lib/fwd/fwd_syn.h: now_ms >> 16 */

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
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; } ); },
  { name = "t/p"; type = "LoadBalancer"; cluster_ip = "10.96.0.13";
    load_balancer_ips = [ "198.51.100.13" ];
    external_traffic_policy = "Local";
    ports = ( { port = 80; target_port = 8080; proxy_protocol = "v1"; } );
    endpoints = ( { address = "10.244.0.5"; node = "node-a"; } ); }
);
)";

static const Mac CLIENT_MAC = mac_of("02:aa:00:00:00:02");
static const Mac POD5_MAC = mac_of("02:bb:00:00:00:05");
static const uint32_t CLIENT = ip_of("198.51.100.2");
static const uint32_t POD5 = ip_of("10.244.0.5");

class Syn : public PipeRig {
protected:
	/* conntrack section of the test's config */
	virtual std::string conntrack() const
	{
		return "conntrack = { max_flows = 1024; };\n";
	}

	void SetUp() override
	{
		RigOpts o;
		o.pool_prefix = "spool";
		rig_up(std::string(CONF_BASE) + conntrack(), o,
		       { { 0, CLIENT, CLIENT_MAC }, { 1, POD5, POD5_MAC } });
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

static Bytes
mss_opt(uint16_t mss)
{
	return Bytes{ 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss };
}

static uint32_t
seq_of(const Bytes &f)
{
	return (uint32_t)f[38] << 24 | (uint32_t)f[39] << 16 |
		(uint32_t)f[40] << 8 | f[41];
}

/* Every SYN answered by a cookie (threshold 0), a fixed key. */
class Cookie : public Syn {
protected:
	std::string conntrack() const override
	{
		return "conntrack = { max_flows = 1024; "
		       "syn_cookie_threshold = 0; };\n";
	}

	void SetUp() override
	{
		Syn::SetUp();
		if (sh.workers[0] != nullptr) {
			w()->syn_key[0] = 0x0706050403020100ULL;
			w()->syn_key[1] = 0x0f0e0d0c0b0a0908ULL;
		}
	}

	uint16_t snat_port = 0;

	/* the cookie SYN-ACK the client gets for its SYN (seq isn, MSS) */
	uint32_t cookie_for(const char *vip, uint32_t isn, uint16_t mss,
			    uint16_t cport = 40000)
	{
		auto o = run(tcp_opts_frame(from_client(vip, 0x02, isn, 0,
							cport),
					    mss_opt(mss)), 0);
		EXPECT_EQ(1u, o.size());
		if (o.size() != 1)
			return 0;
		EXPECT_EQ(0, o[0].iface);
		return seq_of(o[0].frame);
	}

	/* the endpoint's view of a client segment */
	Tcp to_pod(const Tcp &c, bool snat)
	{
		Tcp e = c;
		e.dmac = POD5_MAC;
		e.smac = port_mac(1);
		e.sip = snat ? ip_of("10.0.0.1") : CLIENT;
		e.sport = snat ? snat_port : c.sport;
		e.dip = POD5;
		e.dport = 8080;
		e.ttl = 63;
		return e;
	}

	Tcp from_pod(bool snat, uint8_t flags, uint32_t seq, uint32_t ack)
	{
		Tcp t;
		t.dmac = port_mac(1);
		t.smac = POD5_MAC;
		t.sip = POD5;
		t.dip = snat ? ip_of("10.0.0.1") : CLIENT;
		t.sport = 8080;
		t.dport = snat ? snat_port : 40000;
		t.flags = flags;
		t.seq = seq;
		t.ack = ack;
		t.id = 0x5555;
		return t;
	}

	Tcp to_client(const Tcp &e, const char *vip)
	{
		Tcp c = e;
		c.dmac = CLIENT_MAC;
		c.smac = port_mac(0);
		c.sip = ip_of(vip);
		c.sport = 80;
		c.dip = CLIENT;
		c.dport = 40000;
		c.ttl = 63;
		return c;
	}

	/* SYN (isn 1000), cookie SYN-ACK, ACK, the endpoint's SYN (checked),
	 * its SYN-ACK (isn 5000) answered by our ACK (checked). Returns the
	 * cookie. */
	uint32_t proxied_handshake(const char *vip, bool snat)
	{
		uint32_t c = cookie_for(vip, 1000, 1460);
		auto o = run(tcp_frame(from_client(vip, 0x10, 1001, c + 1)), 0);
		EXPECT_EQ(1u, o.size());
		if (o.size() != 1)
			return c;
		EXPECT_EQ(1, o[0].iface);
		if (snat)
			snat_port = (uint16_t)(o[0].frame[34] << 8 |
					       o[0].frame[35]);
		/* the client's SYN as the endpoint would have had it: its
		 * ISN, the cookie's MSS, edgefwd's frame (id 0) */
		Tcp syn = to_pod(from_client(vip, 0x02, 1000, 0), snat);
		syn.id = 0;
		EXPECT_EQ(hex(tcp_opts_frame(syn, mss_opt(1460))),
			  hex(o[0].frame));
		EXPECT_TRUE(checksums_ok(o[0].frame));
		o = run(tcp_frame(from_pod(snat, 0x12, 5000, 1001)), 1);
		EXPECT_EQ(1u, o.size());
		if (o.size() != 1)
			return c;
		Tcp ack = to_pod(from_client(vip, 0x10, 1001, 5001), snat);
		ack.id = 0;
		EXPECT_EQ(1, o[0].iface);
		EXPECT_EQ(hex(tcp_frame(ack)), hex(o[0].frame));
		return c;
	}
};

/* The cookie SYN-ACK, byte for byte: from the VIP, TTL 64, id 0, DF,
 * MSS option only, window 65535; no flow created. */
TEST_F(Cookie, SynAckFrame)
{
	auto o = run(tcp_opts_frame(from_client("198.51.100.12", 0x02, 1000, 0),
				    mss_opt(1400)), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(0, o[0].iface);
	uint32_t c = seq_of(o[0].frame);
	uint32_t slot = now_ms >> EF_FWD_SYN_SLOT_SHIFT_T;
	/* 1400: the largest table MSS not above it is 1220 (index 1) */
	EXPECT_EQ(slot & 3, c >> 30);
	EXPECT_EQ(1u, (c >> 28) & 3);
	Tcp t = from_client("198.51.100.12", 0x12, c, 1001);
	t.dmac = CLIENT_MAC;
	t.smac = port_mac(0);
	t.sip = ip_of("198.51.100.12");
	t.dip = CLIENT;
	t.sport = 80;
	t.dport = 40000;
	t.id = 0;
	t.ttl = 64;
	t.win = 65535;
	EXPECT_EQ(hex(tcp_opts_frame(t, mss_opt(1220))), hex(o[0].frame));
	EXPECT_TRUE(checksums_ok(o[0].frame));
	EXPECT_EQ(1u, w()->c.syn_cookies_sent);
	EXPECT_EQ(0u, w()->c.flows_created);
	EXPECT_EQ(0u, ef_ct_stats(w()->ct)->active);
	/* another ISN, another cookie; no MSS option: 536 (index 0) */
	o = run(tcp_frame(from_client("198.51.100.12", 0x02, 7000, 0)), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_NE(c, seq_of(o[0].frame));
	EXPECT_EQ(0u, (seq_of(o[0].frame) >> 28) & 3);
}

TEST_F(Cookie, GoodCookieOpensTheFlow)
{
	proxied_handshake("198.51.100.12", false);
	EXPECT_EQ(1u, w()->c.syn_cookies_ok);
	EXPECT_EQ(0u, w()->c.syn_cookies_bad);
	EXPECT_EQ(1u, w()->c.flows_created);
}

/* A cookie two slots old, a forged one, one for another ISN: dropped,
 * counted, no flow. */
TEST_F(Cookie, StaleAndForgedCookiesAreRefused)
{
	const char *vip = "198.51.100.12";
	uint32_t c = cookie_for(vip, 1000, 1460);

	/* forged: one bit off, or the right cookie for another ISN */
	EXPECT_EQ(0u, run(tcp_frame(from_client(vip, 0x10, 1001,
						(c ^ 0x10) + 1)), 0).size());
	EXPECT_EQ(0u, run(tcp_frame(from_client(vip, 0x10, 2001, c + 1)),
			  0).size());
	/* another client port, same numbers */
	EXPECT_EQ(0u, run(tcp_frame(from_client(vip, 0x10, 1001, c + 1,
						40001)), 0).size());
	EXPECT_EQ(3u, w()->c.syn_cookies_bad);
	/* the previous slot still validates */
	now_ms += 1u << 16;
	uint32_t c2 = cookie_for(vip, 3000, 1460, 40002);
	EXPECT_EQ(1u, run(tcp_frame(from_client(vip, 0x10, 3001, c2 + 1,
						40002)), 0).size());
	EXPECT_EQ(1u, w()->c.syn_cookies_ok);
	/* two slots later it is stale (cookies still being sent) */
	now_ms += 1u << 16;
	cookie_for(vip, 4000, 1460, 40003);
	EXPECT_EQ(0u, run(tcp_frame(from_client(vip, 0x10, 1001, c + 1)),
			  0).size());
	EXPECT_EQ(4u, w()->c.syn_cookies_bad);
	EXPECT_EQ(1u, w()->c.flows_created);
	EXPECT_EQ(4u, dropped(EF_FWD_DROP_NO_FLOW));
}

/* After the proxied handshake: client -> endpoint acks (and SACK edges)
 * move into the endpoint's sequence space, endpoint -> client sequence
 * numbers into the cookie's. Local (client address kept). */
TEST_F(Cookie, TranslationBothWaysLocal)
{
	const char *vip = "198.51.100.12";
	uint32_t c = proxied_handshake(vip, false);

	/* client data: ack c + 1 is the endpoint's 5001 */
	Tcp d = from_client(vip, 0x18, 1001, c + 1);
	d.payload = 10;
	auto o = run(tcp_frame(d), 0);
	ASSERT_EQ(1u, o.size());
	Tcp e = to_pod(from_client(vip, 0x18, 1001, 5001), false);
	e.payload = 10;
	EXPECT_EQ(hex(tcp_frame(e)), hex(o[0].frame));
	/* the endpoint's answer: seq 5001 is the client's c + 1 */
	Tcp r = from_pod(false, 0x18, 5001, 1011);
	r.payload = 20;
	o = run(tcp_frame(r), 1);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(0, o[0].iface);
	Tcp rc = to_client(from_pod(false, 0x18, c + 1, 1011), vip);
	rc.payload = 20;
	EXPECT_EQ(hex(tcp_frame(rc)), hex(o[0].frame));
	EXPECT_TRUE(checksums_ok(o[0].frame));
	/* a SACK from the client: its edges too */
	o = run(tcp_opts_frame(from_client(vip, 0x10, 1011, c + 21),
			       sack_opt(c + 100, c + 200)), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(tcp_opts_frame(to_pod(from_client(vip, 0x10, 1011,
							5021), false),
				     sack_opt(5099 + 1, 5199 + 1))),
		  hex(o[0].frame));
	EXPECT_TRUE(checksums_ok(o[0].frame));
	EXPECT_EQ(0u, dropped(EF_FWD_DROP_CT_INVALID));
}

/* The same through SNAT (Cluster). */
TEST_F(Cookie, TranslationBothWaysCluster)
{
	const char *vip = "198.51.100.11";
	uint32_t c = proxied_handshake(vip, true);

	ASSERT_NE(0, snat_port);
	auto o = run(tcp_frame(from_client(vip, 0x10, 1001, c + 1)), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(tcp_frame(to_pod(from_client(vip, 0x10, 1001, 5001),
				       true))), hex(o[0].frame));
	Tcp r = from_pod(true, 0x18, 5001, 1001);
	r.payload = 5;
	o = run(tcp_frame(r), 1);
	ASSERT_EQ(1u, o.size());
	Tcp rc = to_client(from_pod(true, 0x18, c + 1, 1001), vip);
	rc.payload = 5;
	EXPECT_EQ(hex(tcp_frame(rc)), hex(o[0].frame));
	EXPECT_EQ(0u, dropped(EF_FWD_DROP_CT_INVALID));
}

/* Before the endpoint answers: the client's first segment is held and
 * follows the worker's ACK, translated. */
TEST_F(Cookie, HeldDataFollowsTheAck)
{
	const char *vip = "198.51.100.11";
	uint32_t c = cookie_for(vip, 1000, 1460);

	auto o = run(tcp_frame(from_client(vip, 0x10, 1001, c + 1)), 0);
	ASSERT_EQ(1u, o.size());
	snat_port = (uint16_t)(o[0].frame[34] << 8 | o[0].frame[35]);
	Tcp d = from_client(vip, 0x18, 1001, c + 1);
	d.payload = 10;
	EXPECT_EQ(0u, run(tcp_frame(d), 0).size());
	EXPECT_EQ(1u, w()->c.syn_proxy_held);
	o = run(tcp_frame(from_pod(true, 0x12, 5000, 1001)), 1);
	ASSERT_EQ(2u, o.size());
	Tcp ack = to_pod(from_client(vip, 0x10, 1001, 5001), true);
	ack.id = 0;
	EXPECT_EQ(hex(tcp_frame(ack)), hex(o[0].frame));
	Tcp e = to_pod(from_client(vip, 0x18, 1001, 5001), true);
	e.payload = 10;
	EXPECT_EQ(hex(tcp_frame(e)), hex(o[1].frame));
	EXPECT_EQ(0u, w()->n_syn_held);
	EXPECT_EQ(0u, dropped(EF_FWD_DROP_SYN_PROXY_WAIT));
}

/* One segment held per flow, later ones dropped for the client to
 * resend; 1 s after the SYN the next one makes way for the SYN again; an
 * endpoint that refuses: the client gets its RST at c + 1, and the held
 * segment is dropped by housekeeping. */
TEST_F(Cookie, ClientDataBeforeTheEndpointAnswers)
{
	const char *vip = "198.51.100.12";
	uint32_t c = cookie_for(vip, 1000, 1460);

	ASSERT_EQ(1u, run(tcp_frame(from_client(vip, 0x10, 1001, c + 1)),
			  0).size());
	Tcp d = from_client(vip, 0x18, 1001, c + 1);
	d.payload = 10;
	EXPECT_EQ(0u, run(tcp_frame(d), 0).size());
	EXPECT_EQ(1u, w()->c.syn_proxy_held);
	EXPECT_EQ(0u, run(tcp_frame(d), 0).size());
	EXPECT_EQ(1u, dropped(EF_FWD_DROP_SYN_PROXY_WAIT));
	now_ms += 1000;
	auto o = run(tcp_frame(d), 0);
	ASSERT_EQ(1u, o.size());
	Tcp syn = to_pod(from_client(vip, 0x02, 1000, 0), false);
	syn.id = 0;
	EXPECT_EQ(hex(tcp_opts_frame(syn, mss_opt(1460))), hex(o[0].frame));
	EXPECT_EQ(2u, dropped(EF_FWD_DROP_SYN_PROXY_WAIT));
	o = run(tcp_frame(from_pod(false, 0x14, 0, 1001)), 1);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(tcp_frame(to_client(from_pod(false, 0x14, c + 1, 1001),
					  vip))), hex(o[0].frame));
	ef_fwd_begin(w());
	w()->now_ms = now_ms;
	ef_fwd_housekeep(w(), 64);
	collect();
	EXPECT_EQ(0u, w()->n_syn_held);
	EXPECT_EQ(3u, dropped(EF_FWD_DROP_SYN_PROXY_WAIT));
}

/* A held segment whose endpoint never answers is dropped after
 * EF_FWD_SYN_HOLD_MS; the mbuf goes back to the pool. */
TEST_F(Cookie, HeldSegmentTimesOut)
{
	const char *vip = "198.51.100.12";
	uint32_t c = cookie_for(vip, 1000, 1460);
	unsigned int before;

	ASSERT_EQ(1u, run(tcp_frame(from_client(vip, 0x10, 1001, c + 1)),
			  0).size());
	before = rte_mempool_in_use_count(sh.pool);
	EXPECT_EQ(0u, run(tcp_frame(from_client(vip, 0x18, 1001, c + 1)),
			  0).size());
	EXPECT_EQ(before + 1, rte_mempool_in_use_count(sh.pool));
	now_ms += 3000;
	ef_fwd_begin(w());
	w()->now_ms = now_ms;
	ef_fwd_housekeep(w(), 64);
	collect();
	EXPECT_EQ(before, rte_mempool_in_use_count(sh.pool));
	EXPECT_EQ(1u, dropped(EF_FWD_DROP_SYN_PROXY_WAIT));
}

/* The cookie ACK and the client's first data in one burst (both looked
 * up before the ACK opened the flow): the data finds the new flow, no
 * second validation, no ct_invalid. */
TEST_F(Cookie, AckAndDataInOneBurst)
{
	const char *vip = "198.51.100.11";
	uint32_t c = cookie_for(vip, 1000, 1460);
	Tcp d = from_client(vip, 0x18, 1001, c + 1);
	d.payload = 10;

	auto o = run_burst({ tcp_frame(from_client(vip, 0x10, 1001, c + 1)),
			     tcp_frame(d) }, 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(1, o[0].iface);
	EXPECT_EQ(1u, w()->c.syn_cookies_ok);
	EXPECT_EQ(1u, w()->c.flows_created);
	EXPECT_EQ(1u, w()->c.syn_proxy_held);
	EXPECT_EQ(0u, dropped(EF_FWD_DROP_SYN_PROXY_WAIT));
	EXPECT_EQ(0u, dropped(EF_FWD_DROP_CT_INVALID));
}

/* A PROXY protocol port behind a cookie: the header goes with the
 * handshake's last ACK (before it), then both shifts compose: client ->
 * endpoint seq +H and ack +delta, endpoint -> client ack -H and seq
 * -delta. */
TEST_F(Cookie, ProxyProtocolComposes)
{
	const char *vip = "198.51.100.13";
	const std::string line =
		"PROXY TCP4 198.51.100.2 198.51.100.13 40000 80\r\n";
	const uint32_t H = (uint32_t)line.size();
	uint32_t c = cookie_for(vip, 1000, 1460);

	auto o = run(tcp_frame(from_client(vip, 0x10, 1001, c + 1)), 0);
	ASSERT_EQ(1u, o.size());
	o = run(tcp_frame(from_pod(false, 0x12, 5000, 1001)), 1);
	ASSERT_EQ(2u, o.size());
	/* the header segment (edgefwd's, TTL 64), then the ACK after it */
	Tcp h = to_pod(from_client(vip, 0x18, 1001, 5001), false);
	h.ttl = 64;
	h.id = 0;
	h.data = Bytes(line.begin(), line.end());
	EXPECT_EQ(hex(tcp_frame(h)), hex(o[0].frame));
	Tcp a = to_pod(from_client(vip, 0x10, 1001 + H, 5001), false);
	a.id = 0;
	EXPECT_EQ(hex(tcp_frame(a)), hex(o[1].frame));
	EXPECT_EQ(1u, w()->c.proxy_headers_sent);
	/* client data */
	Tcp d = from_client(vip, 0x18, 1001, c + 1);
	d.payload = 10;
	o = run(tcp_frame(d), 0);
	ASSERT_EQ(1u, o.size());
	Tcp e = to_pod(from_client(vip, 0x18, 1001 + H, 5001), false);
	e.payload = 10;
	EXPECT_EQ(hex(tcp_frame(e)), hex(o[0].frame));
	/* the endpoint acks header and data, sends 7 bytes */
	Tcp r = from_pod(false, 0x18, 5001, 1011 + H);
	r.payload = 7;
	o = run(tcp_frame(r), 1);
	ASSERT_EQ(1u, o.size());
	Tcp rc = to_client(from_pod(false, 0x18, c + 1, 1011), vip);
	rc.payload = 7;
	EXPECT_EQ(hex(tcp_frame(rc)), hex(o[0].frame));
	EXPECT_EQ(0u, dropped(EF_FWD_DROP_CT_INVALID));
}

/* Below the threshold SYNs open flows as before. */
TEST_F(Syn, NoCookiesBelowTheThreshold)
{
	/* max_flows 1024 / 8 = 128 half-open flows */
	for (uint16_t p = 0; p < 128; p++)
		ASSERT_EQ(1, run(tcp_frame(from_client("198.51.100.12", 0x02,
				1000, 0, (uint16_t)(42000 + p))), 0)[0].iface);
	auto o = run(tcp_frame(from_client("198.51.100.12", 0x02, 1000, 0,
					   43000)), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(0, o[0].iface);	/* a cookie */
	EXPECT_EQ(1u, w()->c.syn_cookies_sent);
	EXPECT_EQ(128u, w()->c.flows_created);
}

/* ---- IPv6 (issue 12): the same defence for IPv6 flows ---------------- */

/* 6/l: Local, 6/c: Cluster (SNAT66); dual-stack interfaces */
static const char *CONF6 = R"(
node = { name = "node-a"; snat_addresses = [ "10.0.0.1", "fd00:10::1" ]; };
interfaces = (
  { port = "p0"; addresses = [ "198.51.100.1/24", "2001:db8:100::1/64" ]; },
  { port = "p1"; addresses = [ "10.244.0.1/24", "fd00:244::1/64" ]; },
  { port = "p2"; addresses = [ "10.0.0.1/24", "fd00:10::1/64" ]; }
);
services = (
  { name = "6/l"; type = "LoadBalancer"; ip_families = [ "IPv6", "IPv4" ];
    load_balancer_ips = [ "2001:db8:100::12", "198.51.100.12" ];
    external_traffic_policy = "Local";
    ports = ( { port = 80; target_port = 8080; } );
    endpoints = ( { address = "fd00:244::5"; node = "node-a"; },
                  { address = "10.244.0.5"; node = "node-a"; } ); },
  { name = "6/c"; type = "LoadBalancer"; ip_families = [ "IPv6" ];
    load_balancer_ips = [ "2001:db8:100::11" ];
    ports = ( { port = 80; target_port = 8080; } );
    endpoints = ( { address = "fd00:244::5"; node = "node-a"; } ); }
);
)";

static const Ip6a CLIENT6 = ip6_of("2001:db8:100::2");
static const Ip6a POD6 = ip6_of("fd00:244::5");
static const Ip6a SNAT6 = ip6_of("fd00:10::1");

/* An IPv6 TCP frame with options opts after the 20-byte header (its
 * checksum computed by frames.cc: the byte-for-byte comparisons below
 * check edgefwd's; checksums_ok() reads IPv4 only). */
static Bytes
tcp6_opts(const Mac &dmac, const Mac &smac, const Ip6a &src, const Ip6a &dst,
	  uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
	  uint32_t ack, const Bytes &opts, uint8_t hlim, const Bytes &data = {})
{
	Bytes l4 = tcp_segment(sport, dport, flags, seq, ack, 65535, data);

	l4.insert(l4.begin() + 20, opts.begin(), opts.end());
	l4[12] = (uint8_t)(((20 + opts.size()) / 4) << 4);
	return ipv6_frame(dmac, smac, src, dst, 6, l4, hlim);
}

static uint32_t
seq6_of(const Bytes &f)
{
	return (uint32_t)f[58] << 24 | (uint32_t)f[59] << 16 |
		(uint32_t)f[60] << 8 | f[61];
}

/* Every SYN answered by a cookie (threshold 0), a fixed key. */
class Cookie6 : public PipeRig {
protected:
	void SetUp() override
	{
		RigOpts o;

		o.pool_prefix = "s6pool";
		o.neigh6 = { { 0, CLIENT6, CLIENT_MAC }, { 1, POD6, POD5_MAC } };
		rig_up(std::string(CONF6) + conntrack, o,
		       { { 0, CLIENT, CLIENT_MAC }, { 1, POD5, POD5_MAC } });
		if (sh.workers[0] != nullptr) {
			w()->syn_key[0] = 0x0706050403020100ULL;
			w()->syn_key[1] = 0x0f0e0d0c0b0a0908ULL;
		}
	}
	std::string conntrack = "conntrack = { max_flows = 1024; "
				"syn_cookie_threshold = 0; };\n";

	Bytes client(const char *vip, uint8_t flags, uint32_t seq, uint32_t ack,
		     const Bytes &opts = {}, const Bytes &data = {},
		     uint16_t cport = 40000)
	{
		return tcp6_opts(port_mac(0), CLIENT_MAC, CLIENT6, ip6_of(vip),
				 cport, 80, flags, seq, ack, opts, 64, data);
	}
	/* what the endpoint gets from the client (hop limit 63) */
	Bytes to_pod(bool snat, uint8_t flags, uint32_t seq, uint32_t ack,
		     const Bytes &opts = {}, const Bytes &data = {})
	{
		return tcp6_opts(POD5_MAC, port_mac(1), snat ? SNAT6 : CLIENT6,
				 POD6, snat ? snat_port : 40000, 8080, flags,
				 seq, ack, opts, 63, data);
	}
	Bytes from_pod(bool snat, uint8_t flags, uint32_t seq, uint32_t ack,
		       const Bytes &data = {})
	{
		return tcp6_opts(port_mac(1), POD5_MAC, POD6,
				 snat ? SNAT6 : CLIENT6, 8080,
				 snat ? snat_port : 40000, flags, seq, ack, {},
				 64, data);
	}
	Bytes to_client(const char *vip, uint8_t flags, uint32_t seq,
			uint32_t ack, const Bytes &data = {})
	{
		return tcp6_opts(CLIENT_MAC, port_mac(0), ip6_of(vip), CLIENT6,
				 80, 40000, flags, seq, ack, {}, 63, data);
	}
	uint32_t cookie_for(const char *vip, uint32_t isn, uint16_t mss)
	{
		auto o = run(client(vip, 0x02, isn, 0, mss_opt(mss)), 0);

		EXPECT_EQ(1u, o.size());
		if (o.size() != 1)
			return 0;
		EXPECT_EQ(0, o[0].iface);
		return seq6_of(o[0].frame);
	}
	uint64_t dropped(enum ef_fwd_drop r) const
	{
		return sh.workers[0]->c.drops[r];
	}
	uint16_t snat_port = 0;
};

/* The cookie SYN-ACK, byte for byte: from the IPv6 VIP, hop limit 64,
 * MSS option only, window 65535; no flow in either table. */
TEST_F(Cookie6, SynAckFrame)
{
	const char *vip = "2001:db8:100::12";
	auto o = run(client(vip, 0x02, 1000, 0, mss_opt(1440)), 0);

	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(0, o[0].iface);
	uint32_t c = seq6_of(o[0].frame);
	EXPECT_EQ(((now_ms >> EF_FWD_SYN_SLOT_SHIFT_T) & 3), c >> 30);
	EXPECT_EQ(2u, (c >> 28) & 3);	/* 1440 */
	EXPECT_EQ(hex(tcp6_opts(CLIENT_MAC, port_mac(0), ip6_of(vip), CLIENT6,
				80, 40000, 0x12, c, 1001, mss_opt(1440), 64)),
		  hex(o[0].frame));
	EXPECT_EQ(1u, w()->c.syn_cookies_sent);
	EXPECT_EQ(0u, w()->c.flows_created);
	ASSERT_NE(nullptr, w()->ct6);
	EXPECT_EQ(0u, ef_ct_stats(w()->ct6)->active);
	/* the IPv6 cookie is not the IPv4 one of the same numbers */
	EXPECT_NE(c, ef_fwd_syn_cookie(w()->syn_key, CLIENT, htons(40000),
				       ip_of("198.51.100.12"), htons(80), 1000,
				       now_ms >> EF_FWD_SYN_SLOT_SHIFT_T, 2));
}

/* The proxied handshake, then translation both ways, Local (client
 * address kept): the endpoint gets the client's SYN (its ISN, the
 * cookie's MSS), its SYN-ACK is answered by edgefwd, the client's data
 * and the endpoint's answer move between the two sequence spaces. */
TEST_F(Cookie6, HandshakeAndTranslationLocal)
{
	const char *vip = "2001:db8:100::12";
	uint32_t c = cookie_for(vip, 1000, 1460);
	auto o = run(client(vip, 0x10, 1001, c + 1), 0);

	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(1, o[0].iface);
	EXPECT_EQ(hex(to_pod(false, 0x02, 1000, 0, mss_opt(1460))),
		  hex(o[0].frame));
	EXPECT_EQ(1u, w()->c.syn_cookies_ok);
	EXPECT_EQ(1u, w()->c.flows6_created);
	o = run(from_pod(false, 0x12, 5000, 1001), 1);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(1, o[0].iface);
	EXPECT_EQ(hex(to_pod(false, 0x10, 1001, 5001)), hex(o[0].frame));
	/* client data: ack c + 1 is the endpoint's 5001 */
	Bytes ten(10, 0x61);
	o = run(client(vip, 0x18, 1001, c + 1, {}, ten), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(to_pod(false, 0x18, 1001, 5001, {}, ten)),
		  hex(o[0].frame));
	/* the endpoint's answer: seq 5001 is the client's c + 1 */
	Bytes twenty(20, 0x62);
	o = run(from_pod(false, 0x18, 5001, 1011, twenty), 1);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(0, o[0].iface);
	EXPECT_EQ(hex(to_client(vip, 0x18, c + 1, 1011, twenty)),
		  hex(o[0].frame));
	/* a SACK from the client: its edges too */
	o = run(client(vip, 0x10, 1011, c + 21, sack_opt(c + 100, c + 200)),
		0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(hex(to_pod(false, 0x10, 1011, 5021,
			     sack_opt(5099 + 1, 5199 + 1))), hex(o[0].frame));
	EXPECT_EQ(0u, dropped(EF_FWD_DROP_CT_INVALID));
}

/* Through SNAT66 (Cluster): the client's first data waits for the
 * endpoint's SYN-ACK and follows edgefwd's ACK, translated. */
TEST_F(Cookie6, HeldDataFollowsTheAckThroughSnat66)
{
	const char *vip = "2001:db8:100::11";
	uint32_t c = cookie_for(vip, 1000, 1460);
	auto o = run(client(vip, 0x10, 1001, c + 1), 0);

	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(0, memcmp(&o[0].frame[14 + 8], SNAT6.b, 16));
	snat_port = (uint16_t)(o[0].frame[54] << 8 | o[0].frame[55]);
	Bytes ten(10, 0x63);
	EXPECT_EQ(0u, run(client(vip, 0x18, 1001, c + 1, {}, ten), 0).size());
	EXPECT_EQ(1u, w()->c.syn_proxy_held);
	o = run(from_pod(true, 0x12, 5000, 1001), 1);
	ASSERT_EQ(2u, o.size());
	EXPECT_EQ(hex(to_pod(true, 0x10, 1001, 5001)), hex(o[0].frame));
	EXPECT_EQ(hex(to_pod(true, 0x18, 1001, 5001, {}, ten)),
		  hex(o[1].frame));
	EXPECT_EQ(0u, w()->n_syn_held);
	EXPECT_EQ(0u, dropped(EF_FWD_DROP_SYN_PROXY_WAIT));
}

/* The cookie ACK and the client's first data in one burst: the data
 * finds the new flow (no second validation) and waits for the endpoint. */
TEST_F(Cookie6, AckAndDataInOneBurst)
{
	const char *vip = "2001:db8:100::11";
	uint32_t c = cookie_for(vip, 1000, 1460);
	Bytes ten(10, 0x64);

	auto o = run_burst({ client(vip, 0x10, 1001, c + 1),
			     client(vip, 0x18, 1001, c + 1, {}, ten) }, 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(1, o[0].iface);
	EXPECT_EQ(1u, w()->c.syn_cookies_ok);
	EXPECT_EQ(1u, w()->c.flows_created);
	EXPECT_EQ(1u, w()->c.syn_proxy_held);
	EXPECT_EQ(0u, dropped(EF_FWD_DROP_SYN_PROXY_WAIT));
	EXPECT_EQ(0u, dropped(EF_FWD_DROP_CT_INVALID));
}

/* Forged answers: one bit off, another ISN, another port; no flow. */
TEST_F(Cookie6, ForgedCookiesAreRefused)
{
	const char *vip = "2001:db8:100::12";
	uint32_t c = cookie_for(vip, 1000, 1460);

	EXPECT_EQ(0u, run(client(vip, 0x10, 1001, (c ^ 0x10) + 1), 0).size());
	EXPECT_EQ(0u, run(client(vip, 0x10, 2001, c + 1), 0).size());
	EXPECT_EQ(0u, run(client(vip, 0x10, 1001, c + 1, {}, {}, 40001),
			  0).size());
	EXPECT_EQ(3u, w()->c.syn_cookies_bad);
	EXPECT_EQ(0u, w()->c.flows_created);
	EXPECT_EQ(3u, dropped(EF_FWD_DROP_NO_FLOW));
}

/* The threshold counts both tables' half-open flows: two IPv6 SYNs fill
 * it (threshold 2), then an IPv6 SYN and an IPv4 one both get cookies. */
TEST_F(Cookie6, ThresholdCountsBothFamilies)
{
	conntrack = "conntrack = { max_flows = 1024; "
		    "syn_cookie_threshold = 2; };\n";
	TearDown();
	SetUp();
	const char *vip = "2001:db8:100::12";
	for (uint16_t p = 0; p < 2; p++) {
		auto o = run(client(vip, 0x02, 1000, 0, {}, {},
				    (uint16_t)(41000 + p)), 0);
		ASSERT_EQ(1u, o.size());
		EXPECT_EQ(1, o[0].iface);	/* to the pod */
	}
	auto o = run(client(vip, 0x02, 1000, 0, {}, {}, 41002), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(0, o[0].iface);	/* a cookie */
	Tcp t;
	t.dmac = port_mac(0);
	t.smac = CLIENT_MAC;
	t.sip = CLIENT;
	t.dip = ip_of("198.51.100.12");
	t.sport = 41003;
	t.dport = 80;
	t.flags = 0x02;
	o = run(tcp_frame(t), 0);
	ASSERT_EQ(1u, o.size());
	EXPECT_EQ(0, o[0].iface);
	EXPECT_EQ(2u, w()->c.syn_cookies_sent);
	EXPECT_EQ(2u, w()->c.flows_created);
}
