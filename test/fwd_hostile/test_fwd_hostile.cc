/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile packets through the real pipeline (docs/RELIABILITY.md): every
 * one is a counted drop or a correct answer, nothing leaks an mbuf, and a
 * real flow opened before the attack still carries data after it.
 */
#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ef_pkt.h"
#include "frames.h"
#include "hx.h"

namespace {

const uint8_t CMAC[6] = { 2, 0, 0, 0, 0, 2 };
const uint8_t LBMAC[6] = { 2, 0, 0, 0, 0, 1 };

uint32_t
A(const char *s)
{
	uint32_t a;

	inet_pton(AF_INET, s, &a);
	return a;
}

const uint32_t CLIENT = A("198.51.100.2");
const uint32_t NODE = A("198.51.100.1");
const uint32_t VIP = A("198.51.100.10");	/* Local: pod 10.244.0.5 */
const uint32_t VIP_EMPTY = A("198.51.100.14");	/* no endpoint */
const uint32_t POD = A("10.244.0.5");
const uint32_t SNAT = A("10.0.0.1");

void
put16(Bytes &b, size_t off, uint16_t v)
{
	b[off] = (uint8_t)(v >> 8);
	b[off + 1] = (uint8_t)v;
}

/* The L4 pieces with this suite's defaults (test/shim/frames.h). */
Bytes
tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq = 1000,
    uint32_t ack = 0, const std::string &data = "")
{
	return tcp_segment(sport, dport, flags, seq, ack, 65535,
			   Bytes(data.begin(), data.end()));
}

Bytes
udp(uint16_t sport, uint16_t dport, const std::string &data = "x")
{
	return udp_datagram(sport, dport, Bytes(data.begin(), data.end()));
}

Bytes
icmp(uint8_t type, uint8_t code, const Bytes &rest)
{
	return icmp_message(type, code, 0, rest);
}

struct Ip {
	uint32_t src = CLIENT;
	uint32_t dst = VIP;
	uint8_t proto = IPPROTO_TCP;
	uint8_t ttl = 64;
	uint16_t frag = 0;		/* flags + offset, host order */
	Bytes options;
	const uint8_t *smac = CMAC;
	bool fill_l4 = true;
};

/* An Ethernet + IPv4 frame, checksums right unless the caller spoils them
 * (computed by test/shim, not by lib/pkt). */
Bytes
frame(const Ip &ip, const Bytes &l4)
{
	Mac d, src;

	memcpy(d.b, LBMAC, 6);
	memcpy(src.b, ip.smac, 6);
	Ip4 f = ip4(d, src, ip.src, ip.dst, ip.proto, ip.ttl, 1, ip.frag);
	f.options = ip.options;
	f.l4_csum = ip.fill_l4;
	return ipv4_frame(f, l4);
}

class Hostile : public ::testing::Test {
protected:
	static struct hx *h;

	static void SetUpTestSuite()
	{
		char err[512];

		h = hx_create(nullptr, err, sizeof(err));
		ASSERT_NE(h, nullptr) << err;
	}
	static void TearDownTestSuite()
	{
		hx_free(h);
		h = nullptr;
	}
	void SetUp() override
	{
		ASSERT_NE(h, nullptr);
		hx_flush_flows(h);
	}
	void TearDown() override
	{
		hx_discard_out(h);
		hx_drain_control(h);
		EXPECT_EQ(hx_mbufs_in_use(h), 0u) << "an mbuf leaked";
	}

	uint16_t out_total()
	{
		return (uint16_t)(hx_out_count(h, HX_IF_CLIENT) +
				  hx_out_count(h, HX_IF_PODS) +
				  hx_out_count(h, HX_IF_NODES));
	}

	/* Send b and expect exactly one more drop for reason, no output. */
	void expect_drop(const Bytes &b, const char *reason,
			 uint16_t iface = HX_IF_CLIENT)
	{
		uint64_t r0 = hx_drop(h, reason), t0 = hx_drops_total(h);

		ASSERT_NE(r0, UINT64_MAX) << reason;
		ASSERT_EQ(hx_send(h, iface, b.data(), (uint32_t)b.size()), 0);
		EXPECT_EQ(hx_drop(h, reason) - r0, 1u) << reason;
		EXPECT_EQ(hx_drops_total(h) - t0, 1u) << reason;
		EXPECT_EQ(out_total(), 0u) << reason;
		EXPECT_EQ(hx_drain_control(h), 0u) << reason;
		hx_discard_out(h);
	}

	/* The single frame queued on iface, parsed; fails the test if not. */
	Bytes take_out(uint16_t iface, struct ef_pkt_meta *m)
	{
		uint32_t len = 0;
		const uint8_t *p = hx_out_frame(h, iface, 0, &len);
		Bytes b;

		EXPECT_EQ(hx_out_count(h, iface), 1u);
		if (p == nullptr)
			return b;
		b.assign(p, p + len);
		hx_discard_out(h);
		EXPECT_EQ(ef_pkt_parse(b.data(), len, m), 0);
		return b;
	}

	/* Open client:40000 -> VIP:80 (pod 10.244.0.5:8080) to ESTABLISHED. */
	void open_flow()
	{
		struct ef_pkt_meta m;
		Bytes b;

		b = frame(Ip{}, tcp(40000, 80, 0x02, 1000));
		hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
		b = take_out(HX_IF_PODS, &m);
		ASSERT_EQ(m.dst.v4, POD);
		ASSERT_EQ(ntohs(m.dport), 8080);
		Ip r;
		r.src = POD;
		r.dst = CLIENT;
		b = frame(r, tcp(8080, 40000, 0x12, 5000, 1001));
		hx_send(h, HX_IF_PODS, b.data(), (uint32_t)b.size());
		b = take_out(HX_IF_CLIENT, &m);
		ASSERT_EQ(m.src.v4, VIP);
		ASSERT_EQ(ntohs(m.sport), 80);
		b = frame(Ip{}, tcp(40000, 80, 0x10, 1001, 5001));
		hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
		take_out(HX_IF_PODS, &m);
	}

	/* Data on the open flow still reaches the pod, checksums intact. */
	void expect_flow_alive(uint32_t seq)
	{
		struct ef_pkt_meta m;
		Bytes b = frame(Ip{}, tcp(40000, 80, 0x18, seq, 5001, "data"));

		hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
		b = take_out(HX_IF_PODS, &m);
		ASSERT_FALSE(b.empty()) << "the real flow died";
		EXPECT_EQ(m.dst.v4, POD);
		EXPECT_TRUE(ef_pkt_ip4_csum_ok(b.data(), &m));
		EXPECT_TRUE(ef_pkt_l4_csum_ok(b.data(), &m));
	}
};

struct hx *Hostile::h;

TEST_F(Hostile, TruncatedAtEveryLayerIsParseError)
{
	Bytes syn = frame(Ip{}, tcp(40001, 80, 0x02));
	Bytes u = frame(Ip{ .proto = IPPROTO_UDP }, udp(5000, 5353));

	for (size_t n = 0; n < syn.size(); n++)
		expect_drop(Bytes(syn.begin(), syn.begin() + (long)n),
			    "parse_error");
	for (size_t n = 34; n < u.size(); n++)
		expect_drop(Bytes(u.begin(), u.begin() + (long)n),
			    "parse_error");
	EXPECT_EQ(hx_flows_active(h), 0u);
}

TEST_F(Hostile, BadLengthsAreParseErrors)
{
	Bytes b = frame(Ip{}, tcp(40002, 80, 0x02));

	Bytes ihl = b;
	ihl[14] = 0x44;			/* IHL 4 */
	expect_drop(ihl, "parse_error");
	Bytes ihl_long = b;
	ihl_long[14] = 0x4f;		/* 60-byte header in a 40-byte packet */
	expect_drop(ihl_long, "parse_error");
	Bytes tl = b;
	put16(tl, 16, 1500);		/* longer than the frame */
	expect_drop(tl, "parse_error");
	put16(tl, 16, 19);		/* shorter than the header */
	expect_drop(tl, "parse_error");
	Bytes doff = b;
	doff[14 + 20 + 12] = 2 << 4;	/* TCP data offset 2 */
	expect_drop(doff, "parse_error");

	/* IPv6 with a payload length beyond the frame */
	Bytes v6(14 + 40 + 8, 0);
	put16(v6, 12, 0x86dd);
	v6[14] = 0x60;
	put16(v6, 18, 4000);
	v6[20] = IPPROTO_UDP;
	expect_drop(v6, "parse_error");
}

TEST_F(Hostile, IpOptionsAreForwardedWithTheFlow)
{
	struct ef_pkt_meta m;
	Ip ip;

	ip.options = { 0x07, 0x07, 0x04, 0, 0, 0, 0, 0 };	/* RR */
	Bytes b = frame(ip, tcp(40003, 80, 0x02));
	hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
	b = take_out(HX_IF_PODS, &m);
	ASSERT_FALSE(b.empty());
	EXPECT_TRUE(m.flags & EF_PKT_F_IP_OPTIONS);
	EXPECT_EQ(m.dst.v4, POD);
	EXPECT_TRUE(ef_pkt_ip4_csum_ok(b.data(), &m));
	EXPECT_TRUE(ef_pkt_l4_csum_ok(b.data(), &m));
}

TEST_F(Hostile, FragmentsPolicy)
{
	Ip first, middle, overlap, node;
	Bytes pay(64, 'A');

	first.proto = middle.proto = overlap.proto = IPPROTO_UDP;
	first.frag = 0x2000;			/* MF, offset 0 */
	expect_drop(frame(first, udp(5000, 5353, std::string(64, 'A'))),
		    "fragment");
	middle.frag = 0x2000 | 8;		/* MF, offset 64 */
	expect_drop(frame(middle, pay), "fragment");
	overlap.frag = 0x2000 | 1;		/* overlaps the first */
	expect_drop(frame(overlap, pay), "fragment");

	/* the node's own fragments go to its kernel, which reassembles */
	node.proto = IPPROTO_UDP;
	node.dst = NODE;
	node.frag = 0x2000 | 8;
	Bytes b = frame(node, pay);
	uint64_t e0 = hx_counter(h, "exception_packets");
	hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
	EXPECT_EQ(hx_counter(h, "exception_packets") - e0, 1u);
	EXPECT_EQ(hx_drain_control(h), 1u);
}

TEST_F(Hostile, TtlZeroAndOneGetTimeExceeded)
{
	for (uint8_t ttl : { 0, 1 }) {
		struct ef_pkt_meta m;
		uint64_t d0 = hx_drop(h, "ttl_exceeded");
		Ip ip;

		ip.ttl = ttl;
		Bytes b = frame(ip, tcp(40004, 80, 0x02));
		hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
		EXPECT_EQ(hx_drop(h, "ttl_exceeded") - d0, 1u);
		b = take_out(HX_IF_CLIENT, &m);
		ASSERT_FALSE(b.empty());
		EXPECT_EQ(m.proto, IPPROTO_ICMP);
		EXPECT_EQ(m.icmp_type, 11);
		EXPECT_EQ(m.dst.v4, CLIENT);
		EXPECT_TRUE(ef_pkt_ip4_csum_ok(b.data(), &m));
		EXPECT_EQ(hx_flows_active(h), 0u);
	}
}

TEST_F(Hostile, ChecksumPolicy)
{
	struct ef_pkt_meta m;

	/* IPv4 header checksum: verified, counted */
	Bytes b = frame(Ip{}, tcp(40005, 80, 0x02));
	b[24] ^= 0x5a;
	expect_drop(b, "bad_checksum");

	/* L4 checksum: not verified here; the rewrite keeps it wrong so
	 * that the endpoint drops it */
	b = frame(Ip{}, tcp(40006, 80, 0x02));
	b[14 + 20 + 16] ^= 0x5a;
	hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
	b = take_out(HX_IF_PODS, &m);
	ASSERT_FALSE(b.empty());
	EXPECT_TRUE(ef_pkt_ip4_csum_ok(b.data(), &m));
	EXPECT_FALSE(ef_pkt_l4_csum_ok(b.data(), &m));
}

TEST_F(Hostile, TcpFlagCombinations)
{
	expect_drop(frame(Ip{}, tcp(40007, 80, 0x03)), "ct_invalid");	/* SYN+FIN */
	expect_drop(frame(Ip{}, tcp(40008, 80, 0x06)), "ct_invalid");	/* SYN+RST */
	expect_drop(frame(Ip{}, tcp(40009, 80, 0x00)), "no_flow");	/* none */
	expect_drop(frame(Ip{}, tcp(40010, 80, 0x04)), "no_flow");	/* RST */
	expect_drop(frame(Ip{}, tcp(40011, 80, 0x10)), "no_flow");	/* ACK */
	expect_drop(frame(Ip{}, tcp(40012, 80, 0x29)), "no_flow");	/* xmas */
	EXPECT_EQ(hx_flows_active(h), 0u);
}

TEST_F(Hostile, RstStormWithWrongSequenceDoesNotKillAFlow)
{
	open_flow();
	for (uint32_t i = 0; i < 200; i++) {
		Bytes b = frame(Ip{}, tcp(40000, 80, 0x04,
					  0x80000000u + i * 7919));
		uint64_t t0 = hx_drops_total(h);

		hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
		EXPECT_EQ(hx_drops_total(h) - t0, 1u);
		EXPECT_EQ(out_total(), 0u);
	}
	expect_flow_alive(1001);
}

TEST_F(Hostile, IcmpErrorsQuotingUntrackedOrForgedFlows)
{
	open_flow();
	/* quotes a flow nobody has */
	Bytes q = frame(Ip{ .src = VIP, .dst = A("203.0.113.9"),
			    .proto = IPPROTO_UDP }, udp(53, 9));
	Bytes inner(q.begin() + 14, q.end());
	Ip e;
	e.src = A("203.0.113.1");
	e.proto = IPPROTO_ICMP;
	expect_drop(frame(e, icmp(3, 3, inner)), "icmp_untracked");

	/* the real flow's addresses, forged ports */
	q = frame(Ip{ .src = VIP, .dst = CLIENT }, tcp(80, 40999, 0x10));
	inner.assign(q.begin() + 14, q.begin() + 14 + 28);
	expect_drop(frame(e, icmp(3, 4, inner)), "icmp_untracked");

	/* an error quoting less than 8 bytes of L4 */
	inner.assign(q.begin() + 14, q.begin() + 14 + 24);
	expect_drop(frame(e, icmp(3, 4, inner)), "parse_error");

	expect_flow_alive(1001);
}

TEST_F(Hostile, SnatAddressPortsNoFlowOwns)
{
	Ip ip;

	ip.src = POD;
	ip.dst = SNAT;
	expect_drop(frame(ip, tcp(8080, 1024, 0x12)), "no_flow", HX_IF_NODES);
	ip.proto = IPPROTO_UDP;
	expect_drop(frame(ip, udp(5353, 29999)), "no_flow", HX_IF_NODES);
}

TEST_F(Hostile, LandAndBroadcastOrMulticastSources)
{
	expect_drop(frame(Ip{ .src = VIP, .dst = VIP }, tcp(80, 80, 0x02)),
		    "bad_source");
	expect_drop(frame(Ip{ .src = A("255.255.255.255") },
			  tcp(1, 80, 0x02)), "bad_source");
	expect_drop(frame(Ip{ .src = A("224.0.0.1") }, tcp(1, 80, 0x02)),
		    "bad_source");
	static const uint8_t bmac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	Ip ip;
	ip.smac = bmac;
	expect_drop(frame(ip, tcp(40013, 80, 0x02)), "bad_source");
	static const uint8_t mmac[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
	ip.smac = mmac;
	expect_drop(frame(ip, tcp(40014, 80, 0x02)), "bad_source");
}

TEST_F(Hostile, NoEndpointIsAnsweredWithRst)
{
	struct ef_pkt_meta m;
	uint64_t d0 = hx_drop(h, "no_endpoint");
	Bytes b = frame(Ip{ .dst = VIP_EMPTY }, tcp(40015, 80, 0x02, 77));

	hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
	EXPECT_EQ(hx_drop(h, "no_endpoint") - d0, 1u);
	b = take_out(HX_IF_CLIENT, &m);
	ASSERT_FALSE(b.empty());
	EXPECT_EQ(m.tcp_flags, 0x14);			/* RST+ACK */
	EXPECT_EQ(m.src.v4, VIP_EMPTY);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(b.data(), &m));
}

TEST_F(Hostile, SynFloodIsAnsweredByCookies)
{
	/* max_flows 1024 (hx_default_conf): SYN cookies from 1024 / 8 = 128
	 * half-open flows (docs/RELIABILITY.md, "SYN flood defence"); the
	 * full-table policy behind them is Pipeline.MaxFlows* (test/fwd) */
	const uint32_t t0 = 1000000;
	uint64_t full0 = hx_drop(h, "ct_full");
	uint64_t sent0 = hx_counter(h, "syn_cookies_sent");
	uint32_t flood = 1500, created = 0, cookies = 0;
	struct ef_pkt_meta pm;
	struct rte_mbuf *m;

	open_flow();
	for (uint32_t i = 0; i < flood; i++) {
		/* random-looking sources in 100.64.0.0/10 */
		uint32_t src = htonl(0x64400000u | ((i * 2654435761u) >> 10));
		Bytes b = frame(Ip{ .src = src }, tcp((uint16_t)(1024 + i), 80,
						       0x02));

		m = hx_mbuf(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
		ASSERT_NE(m, nullptr);
		hx_process(h, &m, 1, t0);
		created += hx_out_count(h, HX_IF_PODS);
		cookies += hx_out_count(h, HX_IF_CLIENT);
		hx_discard_out(h);
		hx_drain_control(h);
	}
	/* 128 half-open flows, then every SYN got a cookie: no table
	 * exhaustion */
	EXPECT_EQ(created, 128u);
	EXPECT_EQ(cookies, flood - created);
	EXPECT_EQ(hx_counter(h, "syn_cookies_sent") - sent0, cookies);
	EXPECT_EQ(hx_flows_active(h), 129u);
	EXPECT_EQ(hx_drop(h, "ct_full"), full0);

	/* the established flow keeps flowing through the flood */
	expect_flow_alive(1001);

	/* a new client in the flood: cookie SYN-ACK, its ACK opens the flow
	 * and the pod gets the client's SYN */
	Bytes b = frame(Ip{ .src = A("198.51.100.3") }, tcp(41000, 80, 0x02,
							     5000));
	hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
	Bytes sa = take_out(HX_IF_CLIENT, &pm);
	ASSERT_FALSE(sa.empty());
	EXPECT_EQ(pm.tcp_flags, 0x12);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(sa.data(), &pm));
	uint32_t cookie;
	memcpy(&cookie, sa.data() + pm.l4_off + 4, 4);
	cookie = ntohl(cookie);
	b = frame(Ip{ .src = A("198.51.100.3") }, tcp(41000, 80, 0x10, 5001,
						       cookie + 1));
	hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
	Bytes syn = take_out(HX_IF_PODS, &pm);
	ASSERT_FALSE(syn.empty());
	EXPECT_EQ(pm.tcp_flags, 0x02);
	EXPECT_EQ(pm.dst.v4, POD);
	EXPECT_EQ(hx_counter(h, "syn_cookies_ok"), 1u);
	EXPECT_EQ(hx_drop(h, "ct_full"), full0);
	expect_flow_alive(1005);
}

/*
 * Found by fuzz_pkt (test/fuzz/corpus/pkt/crash_icmp_echo_zero_csum): an
 * echo request whose ICMP message is all zeros but the type (id 0, seq 0,
 * no data) must be answered with checksum 0xffff: the reply is all zeros,
 * and an incremental update (RFC 1624 eqn. 3) yields 0x0000 there, which
 * receivers reject.
 */
TEST_F(Hostile, EchoReplyToAllZeroRequestHasValidChecksum)
{
	struct ef_pkt_meta m;
	Bytes b = frame(Ip{ .dst = NODE, .proto = IPPROTO_ICMP },
			icmp(8, 0, Bytes(0)));

	hx_send(h, HX_IF_CLIENT, b.data(), (uint32_t)b.size());
	b = take_out(HX_IF_CLIENT, &m);
	ASSERT_FALSE(b.empty());
	EXPECT_EQ(m.icmp_type, 0);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(b.data(), &m));
}

} /* namespace */
