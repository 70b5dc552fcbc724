/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <rte_errno.h>
#include <rte_memory.h>

#include <gtest/gtest.h>

#include "ef_ct.h"
#include "ef_nat.h"
#include "ef_pkt.h"
#include "frames.h"

namespace {

/* Host order: client, frontend, endpoint, SNAT address, routers. */
const uint32_t C = 0xc0000201, F = 0xc633640a, E = 0x0af40005,
	S = 0x0a000001, S2 = 0x0a000002, R_IN = 0x0a0000fe,
	R_OUT = 0xc63364fe;
const uint16_t CP = 40000, FP = 80, EP = 8080;

struct ef_cfg_conntrack
timeouts()
{
	struct ef_cfg_conntrack t = {};

	t.tcp_syn_timeout = 30;
	t.tcp_established_timeout = 7440;
	t.tcp_fin_timeout = 30;
	t.tcp_close_timeout = 10;
	t.udp_timeout = 30;
	t.udp_stream_timeout = 120;
	t.icmp_timeout = 30;
	return t;
}

struct ef_ct *
make_ct(uint32_t max_flows)
{
	static int n;
	struct ef_ct_params p = {};
	std::string name = "nat" + std::to_string(n++);

	p.name = name.c_str();
	p.max_flows = max_flows;
	p.timeouts = timeouts();
	p.socket_id = SOCKET_ID_ANY;
	return ef_ct_create(&p);
}

struct ef_ct_key4
key(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t proto)
{
	struct ef_ct_key4 k;

	memset(&k, 0, sizeof(k));
	k.src = htonl(src);
	k.dst = htonl(dst);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	return k;
}

/* A parsed frame: Ethernet + IPv4 + L4, every checksum right. */
struct Frame {
	std::vector<uint8_t> b;
	struct ef_pkt_meta m;

	bool parse()
	{
		return ef_pkt_parse(b.data(), (uint32_t)b.size(), &m) == 0;
	}
	const uint8_t *l3() const { return b.data() + m.l3_off; }
	uint32_t l3_len() const { return m.l3_len; }
};

/* A frame from test/shim (every checksum computed there, not by lib/pkt),
 * parsed. */
Frame
parsed(const Bytes &b)
{
	Frame f;

	f.b = b;
	EXPECT_TRUE(f.parse());
	return f;
}

Ip4
ip_hdr(uint8_t proto, uint32_t src, uint32_t dst)
{
	return ip4(Mac{}, Mac{}, htonl(src), htonl(dst), proto, 64, 0x1234);
}

Frame
udp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	const char payload[] = "edgefwd udp payload";

	return parsed(ipv4_frame(ip_hdr(IPPROTO_UDP, src, dst),
				 udp_datagram(sport, dport,
					      Bytes(payload, payload +
						    sizeof(payload)))));
}

Frame
tcp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	const char data[] = "0123456789";

	return parsed(ipv4_frame(ip_hdr(IPPROTO_TCP, src, dst),
				 tcp_segment(sport, dport, 0x18 /* PSH|ACK */,
					     0x01020304, 0x0a0b0c0d, 29200,
					     Bytes(data, data + 10))));
}

Frame
echo(uint8_t type, uint32_t src, uint32_t dst, uint16_t id)
{
	Bytes data;

	for (int k = 0; k < 16; k++)
		data.push_back((uint8_t)k);
	return parsed(ipv4_frame(ip_hdr(IPPROTO_ICMP, src, dst),
				 icmp_message(type, 0, (uint32_t)id << 16 | 7,
					      data)));
}

/* ICMP frag-needed from 'router' about the IPv4 packet of f, quoting as
 * much of it as fits in cap bytes of IP. */
Frame
frag_needed(const Frame &about, uint32_t router, uint32_t cap = 576)
{
	Bytes ip(about.l3(), about.l3() + about.l3_len());
	uint32_t to;

	memcpy(&to, about.l3() + 12, 4);
	Frame f = parsed(icmp_error_frame(Mac{}, Mac{}, htonl(router), to, 3,
					  4, 1400, ip, cap - 28));
	EXPECT_TRUE(f.m.flags & EF_PKT_F_ICMP_ERROR);
	return f;
}

void
expect_csums(const Frame &f)
{
	EXPECT_TRUE(ef_pkt_ip4_csum_ok(f.b.data(), &f.m));
	EXPECT_TRUE(ef_pkt_l4_csum_ok(f.b.data(), &f.m));
}

/* Re-parse after a rewrite: the meta must describe the bytes. */
void
reparse_same(Frame &f)
{
	struct ef_pkt_meta m = f.m;
	ASSERT_TRUE(f.parse());
	EXPECT_EQ(m.src.v4, f.m.src.v4);
	EXPECT_EQ(m.dst.v4, f.m.dst.v4);
	EXPECT_EQ(m.sport, f.m.sport);
	EXPECT_EQ(m.dport, f.m.dport);
}

struct ef_addr
addr(uint32_t host)
{
	return ef_addr_v4(host);
}

TEST(NatMap, SlicesAreDisjointAndCover)
{
	struct ef_addr a[1] = { addr(S) };
	struct ef_nat_map m;

	for (uint32_t nw : { 1u, 2u, 3u, 5u, 7u, 64u }) {
		ASSERT_EQ(0, ef_nat_map_init(&m, a, 1, 1024, 65535, nw));
		const uint32_t ports = 65535 - 1024 + 1;
		EXPECT_EQ(ports / nw, m.slice);
		std::vector<int> owner(65536, -1);
		uint32_t covered = 0;
		for (uint32_t w = 0; w < nw; w++) {
			uint16_t lo, hi;
			ef_nat_slice(&m, w, &lo, &hi);
			EXPECT_EQ(m.slice, (uint32_t)(hi - lo + 1));
			for (uint32_t p = lo; p <= hi; p++) {
				EXPECT_EQ(-1, owner[p]) << "overlap " << p;
				owner[p] = (int)w;
				covered++;
			}
		}
		/* Everything but the documented remainder at the top. */
		EXPECT_EQ(ports - ports % nw, covered);
		for (uint32_t p = 0; p < 65536; p++) {
			uint32_t o = ef_nat_port_owner(&m, (uint16_t)p);
			if (owner[p] < 0)
				ASSERT_EQ(UINT32_MAX, o) << p;
			else
				ASSERT_EQ((uint32_t)owner[p], o) << p;
		}
		for (uint32_t p = 65536 - ports % nw; p < 65536; p++)
			EXPECT_EQ(UINT32_MAX, ef_nat_port_owner(&m, (uint16_t)p));
	}
}

TEST(NatMap, ValidatesInput)
{
	struct ef_addr a[EF_NAT_MAX_ADDRS + 1];
	struct ef_nat_map m;

	for (uint32_t i = 0; i <= EF_NAT_MAX_ADDRS; i++)
		a[i] = addr(S + i);
	EXPECT_EQ(0, ef_nat_map_init(&m, a, EF_NAT_MAX_ADDRS, 1024, 65535, 2));
	EXPECT_EQ(-EINVAL, ef_nat_map_init(&m, a, EF_NAT_MAX_ADDRS + 1, 1024,
					   65535, 2));
	EXPECT_EQ(-EINVAL, ef_nat_map_init(&m, a, 0, 1024, 65535, 2));
	EXPECT_EQ(-EINVAL, ef_nat_map_init(&m, a, 1, 2000, 1000, 2));
	EXPECT_EQ(-EINVAL, ef_nat_map_init(&m, a, 1, 0, 1000, 2));
	EXPECT_EQ(-EINVAL, ef_nat_map_init(&m, a, 1, 1000, 1002, 4));
	EXPECT_EQ(-EINVAL, ef_nat_map_init(&m, a, 1, 1000, 2000, 0));
	struct ef_addr dup[2] = { addr(S), addr(S) };
	EXPECT_EQ(-EINVAL, ef_nat_map_init(&m, dup, 2, 1000, 2000, 1));
	struct ef_addr zero[1] = { addr(0) };
	EXPECT_EQ(-EINVAL, ef_nat_map_init(&m, zero, 1, 1000, 2000, 1));
	struct ef_addr v6[1];
	ASSERT_EQ(0, ef_addr_parse("2001:db8::1", &v6[0]));
	EXPECT_EQ(-EAFNOSUPPORT, ef_nat_map_init(&m, v6, 1, 1000, 2000, 1));

	ASSERT_EQ(0, ef_nat_map_init(&m, a, 3, 1000, 2000, 1));
	EXPECT_TRUE(ef_nat_is_snat_addr(&m, htonl(S + 2)));
	EXPECT_FALSE(ef_nat_is_snat_addr(&m, htonl(S + 3)));
	struct ef_nat_worker w;
	EXPECT_EQ(-EINVAL, ef_nat_worker_init(&w, &m, 1, 0));
}

class Nat : public ::testing::Test {
protected:
	struct ef_ct *ct = nullptr;
	struct ef_nat_map map;
	struct ef_nat_worker w;

	void SetUp() override
	{
		ct = make_ct(4096);
		ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
	}
	void TearDown() override { ef_ct_free(ct); }
	/* Hold reply tuple endpoint:eport -> snat:port in ct. */
	struct ef_ct_flow *hold(uint32_t snat, uint16_t port, uint16_t cport,
				uint8_t proto = IPPROTO_TCP)
	{
		struct ef_ct_key4 o = key(C, cport, F, FP, proto);
		struct ef_ct_key4 r = key(E, EP, snat, port, proto);
		int err;
		return ef_ct_create_flow(ct, &o, &r, 0, &err);
	}
};

TEST_F(Nat, PickAvoidsPortsInUseAndReusesFreedOnes)
{
	struct ef_addr a[1] = { addr(S) };
	ASSERT_EQ(0, ef_nat_map_init(&map, a, 1, 1000, 1009, 1));
	ASSERT_EQ(0, ef_nat_worker_init(&w, &map, 0, 42));
	/* Every port but 1007 is held by a live flow. */
	for (uint16_t p = 1000; p <= 1009; p++) {
		if (p != 1007) {
			ASSERT_NE(nullptr, hold(S, p, (uint16_t)(p + 30000)));
		}
	}
	uint32_t snat;
	uint16_t sport;
	ASSERT_EQ(0, ef_nat_snat_pick(&w, ct, htonl(C), htons(CP), htonl(E),
				      htons(EP), IPPROTO_TCP, &snat, &sport));
	EXPECT_EQ(htonl(S), snat);
	EXPECT_EQ(1007, ntohs(sport));
	/* Once taken, the slice is exhausted. */
	struct ef_ct_flow *f = hold(S, 1007, 1);
	ASSERT_NE(nullptr, f);
	EXPECT_EQ(-ENOSPC, ef_nat_snat_pick(&w, ct, htonl(C), htons(CP),
					     htonl(E), htons(EP), IPPROTO_TCP,
					     &snat, &sport));
	EXPECT_EQ(1u, w.exhausted);
	/* The same ports to another endpoint port are free tuples. */
	EXPECT_EQ(0, ef_nat_snat_pick(&w, ct, htonl(C), htons(CP), htonl(E),
				      htons(EP + 1), IPPROTO_TCP, &snat,
				      &sport));
	/* And UDP tuples are separate from TCP ones. */
	EXPECT_EQ(0, ef_nat_snat_pick(&w, ct, htonl(C), htons(CP), htonl(E),
				      htons(EP), IPPROTO_UDP, &snat, &sport));
	/* The flow on 1004 ends: 1004 is the only candidate again. */
	struct ef_ct_key4 r = key(E, EP, S, 1004, IPPROTO_TCP);
	uint8_t dir;
	struct ef_ct_flow *g = ef_ct_lookup(ct, &r, &dir);
	ASSERT_NE(nullptr, g);
	ef_ct_delete(ct, g);
	ASSERT_EQ(0, ef_nat_snat_pick(&w, ct, htonl(C), htons(CP), htonl(E),
				      htons(EP), IPPROTO_TCP, &snat, &sport));
	EXPECT_EQ(1004, ntohs(sport));
}

/* The staged new flows' hint (ef_nat_snat_first_probe) names the reply
 * key the pick then takes when it is free: for clients on either SNAT
 * address, with earlier picks of the burst counted per address, and
 * across the end of the slice; none for ICMP. ef_ct_prefetch_key and
 * ef_ct_prefetch_free are hints only: the table is unchanged, also full. */
TEST_F(Nat, FirstProbeHintIsTheKeyThePickTakes)
{
	struct ef_addr a[2] = { addr(S), addr(S2) };
	ASSERT_EQ(0, ef_nat_map_init(&map, a, 2, 1000, 1009, 1));
	ASSERT_EQ(0, ef_nat_worker_init(&w, &map, 0, 7));
	uint16_t ahead[EF_NAT_MAX_ADDRS] = { 0 };
	std::vector<struct ef_ct_key4> hints;
	/* a burst of 24 new flows from 8 clients: hints first, as the stage */
	for (uint32_t i = 0; i < 24; i++) {
		struct ef_ct_key4 k;
		ASSERT_TRUE(ef_nat_snat_first_probe(&w, htonl(C + i % 8),
						    htonl(E), htons(EP),
						    IPPROTO_TCP, ahead, &k));
		ef_ct_prefetch_key(ct, &k);
		hints.push_back(k);
	}
	ef_ct_prefetch_free(ct, 24);
	uint32_t taken = 0;
	for (uint32_t i = 0; i < 24; i++) {
		uint32_t snat;
		uint16_t sport;
		if (ef_nat_snat_pick(&w, ct, htonl(C + i % 8), htons(CP),
				     htonl(E), htons(EP), IPPROTO_TCP, &snat,
				     &sport) != 0)
			break;	/* 10 ports per address: the slice ends */
		EXPECT_EQ(hints[i].dst, snat) << i;
		EXPECT_EQ(hints[i].dport, sport) << i;
		EXPECT_EQ(htonl(E), hints[i].src);
		EXPECT_EQ(htons(EP), hints[i].sport);
		/* the port stays taken, as the flow the worker creates */
		ASSERT_NE(nullptr, hold(ntohl(snat), ntohs(sport),
				       (uint16_t)(2000 + i)));
		taken++;
	}
	EXPECT_GE(taken, 10u);
	struct ef_ct_key4 k;
	EXPECT_FALSE(ef_nat_snat_first_probe(&w, htonl(C), htonl(E), htons(EP),
					     IPPROTO_ICMP, ahead, &k));
	uint32_t active = ef_ct_stats(ct)->active;
	ef_ct_prefetch_free(ct, 1u << 20);	/* more than are free */
	EXPECT_EQ(active, ef_ct_stats(ct)->active);
}

TEST_F(Nat, PickGivesUpAfterBoundedProbes)
{
	struct ef_addr a[1] = { addr(S) };
	ASSERT_EQ(0, ef_nat_map_init(&map, a, 1, 1024, 65535, 1));
	ASSERT_EQ(0, ef_nat_worker_init(&w, &map, 0, 7));
	uint32_t snat;
	uint16_t first, sport;
	ASSERT_EQ(0, ef_nat_snat_pick(&w, ct, htonl(C), htons(CP), htonl(E),
				      htons(EP), IPPROTO_TCP, &snat, &first));
	/* Hold the next EF_NAT_PROBES ports after the one picked. */
	for (uint32_t i = 1; i <= EF_NAT_PROBES; i++) {
		uint32_t p = ntohs(first) + i;
		if (p > 65535)
			p -= 65535 - 1024 + 1;
		ASSERT_NE(nullptr, hold(S, (uint16_t)p, (uint16_t)(1000 + i)));
	}
	EXPECT_EQ(-ENOSPC, ef_nat_snat_pick(&w, ct, htonl(C), htons(CP),
					     htonl(E), htons(EP), IPPROTO_TCP,
					     &snat, &sport));
	/* The cursor moved past them: the next pick succeeds. */
	ASSERT_EQ(0, ef_nat_snat_pick(&w, ct, htonl(C), htons(CP), htonl(E),
				      htons(EP), IPPROTO_TCP, &snat, &sport));
	EXPECT_NE(first, sport);
}

TEST_F(Nat, AddressIsStablePerClient)
{
	struct ef_addr a[2] = { addr(S), addr(S2) };
	ASSERT_EQ(0, ef_nat_map_init(&map, a, 2, 1024, 65535, 4));
	std::set<uint32_t> used;
	for (uint32_t c = 0; c < 64; c++) {
		uint32_t first = 0;
		for (uint32_t wk = 0; wk < 4; wk++) {
			struct ef_nat_worker ww;
			uint32_t snat;
			uint16_t sport;
			ASSERT_EQ(0, ef_nat_worker_init(&ww, &map, wk, c));
			ASSERT_EQ(0, ef_nat_snat_pick(&ww, ct, htonl(C + c),
						      htons(CP), htonl(E),
						      htons(EP), IPPROTO_UDP,
						      &snat, &sport));
			if (wk == 0)
				first = snat;
			EXPECT_EQ(first, snat);
			EXPECT_EQ(wk, ef_nat_port_owner(&map, ntohs(sport)));
		}
		used.insert(first);
	}
	EXPECT_EQ(2u, used.size());
}

TEST(NatProperty, WorkersNeverCollide)
{
	const uint32_t nw = 4;
	struct ef_addr a[2] = { addr(S), addr(S2) };
	struct ef_nat_map map;
	/* A small range so that ports are reused within each slice. */
	ASSERT_EQ(0, ef_nat_map_init(&map, a, 2, 2000, 2400, nw));
	std::vector<struct ef_ct *> cts;
	std::vector<struct ef_nat_worker> ws(nw);
	for (uint32_t i = 0; i < nw; i++) {
		cts.push_back(make_ct(1024));
		ASSERT_NE(nullptr, cts.back());
		ASSERT_EQ(0, ef_nat_worker_init(&ws[i], &map, i, 99));
	}
	std::mt19937 rng(12345);
	/* Live (snat, port, endpoint port) tuples over all workers. */
	std::map<std::tuple<uint32_t, uint16_t, uint16_t>, uint32_t> live;
	uint32_t exhausted = 0;
	for (uint32_t n = 0; n < 3000; n++) {
		uint32_t wk = rng() % nw;
		uint32_t client = htonl(0xc0000000 | (rng() & 0xffff));
		uint16_t cport = htons((uint16_t)(1024 + rng() % 60000));
		uint16_t eport = htons((uint16_t)(8080 + rng() % 2));
		uint32_t snat;
		uint16_t sport;
		int rc = ef_nat_snat_pick(&ws[wk], cts[wk], client, cport,
					  htonl(E), eport, IPPROTO_TCP, &snat,
					  &sport);
		if (rc == -ENOSPC) {
			exhausted++;
		} else {
			ASSERT_EQ(0, rc);
			ASSERT_EQ(wk, ef_nat_port_owner(&map, ntohs(sport)));
			auto t = std::make_tuple(snat, sport, eport);
			ASSERT_EQ(0u, live.count(t)) << "collision";
			struct ef_ct_key4 o, r;
			memset(&o, 0, sizeof(o));
			memset(&r, 0, sizeof(r));
			o.src = client;
			o.sport = cport;
			o.dst = htonl(F);
			o.dport = htons(FP);
			o.proto = IPPROTO_TCP;
			r.src = htonl(E);
			r.sport = eport;
			r.dst = snat;
			r.dport = sport;
			r.proto = IPPROTO_TCP;
			int err;
			if (ef_ct_create_flow(cts[wk], &o, &r, n, &err) != nullptr)
				live[t] = wk;
		}
		/* Flows end at random: their tuples become free again. */
		if (rng() % 3 == 0 && !live.empty()) {
			auto it = live.begin();
			std::advance(it, rng() % live.size());
			struct ef_ct_key4 r = key(E, 0, 0, 0, IPPROTO_TCP);
			r.dst = std::get<0>(it->first);
			r.dport = std::get<1>(it->first);
			r.sport = std::get<2>(it->first);
			uint8_t dir;
			struct ef_ct_flow *f = ef_ct_lookup(cts[it->second], &r,
							    &dir);
			ASSERT_NE(nullptr, f);
			ef_ct_delete(cts[it->second], f);
			live.erase(it);
		}
	}
	EXPECT_GT(live.size(), 500u);
	for (auto *c : cts)
		ef_ct_free(c);
}

/* Flow C:CP -> F:FP, DNAT to E:EP, SNAT to S:sport (or none). */
struct ef_ct_flow *
nat_flow(struct ef_ct *ct, uint8_t proto, bool snat, uint16_t sport,
	 uint16_t cport = CP, uint16_t fport = FP, uint16_t eport = EP)
{
	struct ef_ct_key4 o = key(C, cport, F, fport, proto);
	struct ef_ct_key4 r = snat ? key(E, eport, S, sport, proto) :
		key(E, eport, C, cport, proto);
	int err;
	return ef_ct_create_flow(ct, &o, &r, 0, &err);
}

TEST_F(Nat, ApplyForwardAndReverseTcpUdp)
{
	for (uint8_t proto : { (uint8_t)IPPROTO_TCP, (uint8_t)IPPROTO_UDP }) {
		for (bool snat : { true, false }) {
			struct ef_ct_flow *f = nat_flow(ct, proto, snat, 31000,
				(uint16_t)(CP + proto + snat));
			ASSERT_NE(nullptr, f);
			uint16_t cport = (uint16_t)(CP + proto + snat);
			Frame q = proto == IPPROTO_TCP ? tcp(C, cport, F, FP) :
				udp(C, cport, F, FP);
			struct ef_ct_key4 k;
			uint8_t dir = 9;
			ASSERT_EQ(0, ef_ct_key4_from_meta(&q.m, &k));
			ASSERT_EQ(f, ef_ct_lookup(ct, &k, &dir));
			ASSERT_EQ(0, dir);
			ef_nat_apply(q.b.data(), &q.m, f, 0);
			reparse_same(q);
			expect_csums(q);
			EXPECT_EQ(htonl(snat ? S : C), q.m.src.v4);
			EXPECT_EQ(htons(snat ? 31000 : cport), q.m.sport);
			EXPECT_EQ(htonl(E), q.m.dst.v4);
			EXPECT_EQ(htons(EP), q.m.dport);

			/* The endpoint's reply maps back to the client. */
			Frame r = proto == IPPROTO_TCP ?
				tcp(E, EP, snat ? S : C, snat ? 31000 : cport) :
				udp(E, EP, snat ? S : C, snat ? 31000 : cport);
			ASSERT_EQ(0, ef_ct_key4_from_meta(&r.m, &k));
			ASSERT_EQ(f, ef_ct_lookup(ct, &k, &dir));
			ASSERT_EQ(1, dir);
			ef_nat_apply(r.b.data(), &r.m, f, 1);
			reparse_same(r);
			expect_csums(r);
			/* Byte for byte what the frontend would have sent. */
			Frame want = proto == IPPROTO_TCP ? tcp(F, FP, C, cport) :
				udp(F, FP, C, cport);
			EXPECT_EQ(want.b, r.b);
		}
	}
}

TEST_F(Nat, ApplyIcmpEchoTranslatesId)
{
	const uint16_t id = 0x5151, sid = 0x0777;
	struct ef_ct_key4 o = key(C, id, F, id, IPPROTO_ICMP);
	struct ef_ct_key4 r = key(E, sid, S, sid, IPPROTO_ICMP);
	int err;
	struct ef_ct_flow *f = ef_ct_create_flow(ct, &o, &r, 0, &err);
	ASSERT_NE(nullptr, f);

	Frame q = echo(8, C, F, id);
	ef_nat_apply(q.b.data(), &q.m, f, 0);
	expect_csums(q);
	EXPECT_EQ(echo(8, S, E, sid).b, q.b);

	Frame a = echo(0, E, S, sid);
	struct ef_ct_key4 k;
	uint8_t dir;
	ASSERT_EQ(0, ef_ct_key4_from_meta(&a.m, &k));
	ASSERT_EQ(f, ef_ct_lookup(ct, &k, &dir));
	ASSERT_EQ(1, dir);
	ef_nat_apply(a.b.data(), &a.m, f, 1);
	expect_csums(a);
	EXPECT_EQ(echo(0, F, C, id).b, a.b);
}

/* Bytes of the quoted packet in an ICMP error frame, up to len. */
std::vector<uint8_t>
quoted(const Frame &e, size_t len)
{
	const uint8_t *q = e.b.data() + e.m.inner_l3_off;
	return std::vector<uint8_t>(q, q + len);
}

std::vector<uint8_t>
l3_bytes(const Frame &f, size_t len)
{
	return std::vector<uint8_t>(f.l3(), f.l3() + len);
}

TEST_F(Nat, FragNeededFromEndpointSideReachesClient)
{
	for (bool snat : { true, false }) {
		uint16_t cport = (uint16_t)(CP + snat);
		struct ef_ct_flow *f = nat_flow(ct, IPPROTO_UDP, snat, 32000,
						cport);
		ASSERT_NE(nullptr, f);
		Frame client = udp(C, cport, F, FP);
		Frame fwd = client;
		ef_nat_apply(fwd.b.data(), &fwd.m, f, 0);

		/* A router towards the endpoint quotes the whole datagram. */
		Frame e = frag_needed(fwd, R_IN);
		struct ef_ct_key4 k;
		uint8_t dir = 9;
		ASSERT_EQ(0, ef_nat_icmp_key(&e.m, &k));
		ASSERT_EQ(f, ef_ct_lookup(ct, &k, &dir));
		EXPECT_EQ(1, dir);
		ef_nat_apply_icmp_error(e.b.data(), &e.m, f, dir);
		expect_csums(e);
		EXPECT_EQ(htonl(F), e.m.src.v4);
		EXPECT_EQ(htonl(C), e.m.dst.v4);
		/* The quote is exactly the datagram the client sent. */
		EXPECT_EQ(l3_bytes(client, client.l3_len()),
			  quoted(e, client.l3_len()));
		Frame again = e;
		ASSERT_TRUE(again.parse());
		EXPECT_EQ(htons(cport), again.m.inner_sport);
		EXPECT_EQ(htons(FP), again.m.inner_dport);
	}
}

TEST_F(Nat, FragNeededFromClientSideReachesEndpoint)
{
	for (bool snat : { true, false }) {
		uint16_t cport = (uint16_t)(CP + 10 + snat);
		struct ef_ct_flow *f = nat_flow(ct, IPPROTO_TCP, snat, 33000,
						cport);
		ASSERT_NE(nullptr, f);
		Frame ep = tcp(E, EP, snat ? S : C, snat ? 33000 : cport);
		Frame rep = ep;
		ef_nat_apply(rep.b.data(), &rep.m, f, 1);

		/* A router towards the client quotes only 8 bytes of TCP. */
		Frame e = frag_needed(rep, R_OUT, 20 + 8 + 20 + 8);
		EXPECT_EQ(htonl(F), e.m.dst.v4);
		struct ef_ct_key4 k;
		uint8_t dir = 9;
		ASSERT_EQ(0, ef_nat_icmp_key(&e.m, &k));
		ASSERT_EQ(f, ef_ct_lookup(ct, &k, &dir));
		EXPECT_EQ(0, dir);
		ef_nat_apply_icmp_error(e.b.data(), &e.m, f, dir);
		expect_csums(e);
		EXPECT_EQ(htonl(snat ? S : R_OUT), e.m.src.v4);
		EXPECT_EQ(htonl(E), e.m.dst.v4);
		/* The quote is the endpoint's own segment: header + 8 bytes. */
		EXPECT_EQ(l3_bytes(ep, 28), quoted(e, 28));
	}
}

TEST_F(Nat, IcmpErrorAboutEcho)
{
	const uint16_t id = 0x2222, sid = 0x0101;
	struct ef_ct_key4 o = key(C, id, F, id, IPPROTO_ICMP);
	struct ef_ct_key4 r = key(E, sid, S, sid, IPPROTO_ICMP);
	int err;
	struct ef_ct_flow *f = ef_ct_create_flow(ct, &o, &r, 0, &err);
	ASSERT_NE(nullptr, f);
	Frame client = echo(8, C, F, id);
	Frame fwd = client;
	ef_nat_apply(fwd.b.data(), &fwd.m, f, 0);
	Frame e = frag_needed(fwd, R_IN);
	struct ef_ct_key4 k;
	uint8_t dir = 9;
	ASSERT_EQ(0, ef_nat_icmp_key(&e.m, &k));
	ASSERT_EQ(f, ef_ct_lookup(ct, &k, &dir));
	EXPECT_EQ(1, dir);
	ef_nat_apply_icmp_error(e.b.data(), &e.m, f, dir);
	expect_csums(e);
	EXPECT_EQ(l3_bytes(client, client.l3_len()),
		  quoted(e, client.l3_len()));
}

TEST(NatIcmpKey, RejectsNonErrors)
{
	Frame q = udp(C, CP, F, FP);
	struct ef_ct_key4 k;
	EXPECT_EQ(-EINVAL, ef_nat_icmp_key(&q.m, &k));
}

} /* namespace */
