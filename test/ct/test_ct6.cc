/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv6 conntrack tables (ef_ct_params.family 6): the *6 calls, the shared
 * lifecycle, state machine, early drop, expiry and walk on IPv6 flows, an
 * IPv4 and an IPv6 table side by side, and the memory per flow of both.
 * TCP segments are real frames built here byte by byte (not with
 * test/shim's builders) and parsed with ef_pkt_parse().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <array>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <gtest/gtest.h>

#include "ef_ct.h"
#include "ef_pkt.h"

namespace {

using A6 = std::array<uint8_t, 16>;

/* 2001:db8:<net>::<host>, host in the last four bytes. */
A6
a6(uint16_t net, uint32_t host)
{
	A6 a = {};

	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[4] = (uint8_t)(net >> 8);
	a[5] = (uint8_t)net;
	a[12] = (uint8_t)(host >> 24);
	a[13] = (uint8_t)(host >> 16);
	a[14] = (uint8_t)(host >> 8);
	a[15] = (uint8_t)host;
	return a;
}

/* Client C -> frontend F, DNAT to endpoint E, SNAT to S. */
const A6 C = a6(1, 1), F = a6(2, 10), E = a6(3, 5), S = a6(4, 1);
const uint16_t CP = 40000, FP = 443, EP = 8443, SP = 1025;

const uint8_t TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_ACK = 0x10;

struct ef_cfg_conntrack
timeouts6()
{
	struct ef_cfg_conntrack t = {};

	t.tcp_syn_timeout = 30;
	t.tcp_established_timeout = 7440;
	t.tcp_fin_timeout = 31;
	t.tcp_close_timeout = 10;
	t.udp_timeout = 32;
	t.udp_stream_timeout = 120;
	t.icmp_timeout = 33;
	return t;
}

struct ef_ct_key6
key6(const A6 &src, uint16_t sport, const A6 &dst, uint16_t dport,
     uint8_t proto = IPPROTO_TCP)
{
	struct ef_ct_key6 k;

	memset(&k, 0, sizeof(k));
	memcpy(k.src, src.data(), 16);
	memcpy(k.dst, dst.data(), 16);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	return k;
}

bool
key6_eq(const struct ef_ct_key6 &a, const struct ef_ct_key6 &b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

struct ef_ct *
table(const std::string &name, uint32_t max, uint8_t family,
      void (*evict)(void *, struct ef_ct_flow *) = nullptr)
{
	struct ef_ct_params p = {};

	p.name = name.c_str();
	p.max_flows = max;
	p.timeouts = timeouts6();
	p.socket_id = SOCKET_ID_ANY;
	p.evict_cb = evict;
	p.family = family;
	return ef_ct_create(&p);
}

/* --- frames, byte by byte --- */

void
put16(std::vector<uint8_t> &b, uint16_t v)
{
	b.push_back((uint8_t)(v >> 8));
	b.push_back((uint8_t)v);
}

void
put32(std::vector<uint8_t> &b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b, (uint16_t)v);
}

/* RFC 1071 over the IPv6 pseudo-header and the upper-layer bytes. */
uint16_t
csum6(const A6 &src, const A6 &dst, uint8_t nh, const uint8_t *l4,
      size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i < 16; i += 2) {
		s += (uint32_t)src[i] << 8 | src[i + 1];
		s += (uint32_t)dst[i] << 8 | dst[i + 1];
	}
	s += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + nh;
	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)l4[i] << 8 | l4[i + 1];
	if (len & 1)
		s += (uint32_t)l4[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * Ethernet + IPv6 (+ a hop-by-hop header when hbh) + the upper-layer
 * bytes l4 (next header nh), whose checksum at csum_off is filled in.
 */
std::vector<uint8_t>
ip6_frame(const A6 &src, const A6 &dst, uint8_t nh, std::vector<uint8_t> l4,
	  size_t csum_off, bool hbh)
{
	std::vector<uint8_t> b;
	uint16_t c = csum6(src, dst, nh, l4.data(), l4.size());

	l4[csum_off] = (uint8_t)(c >> 8);
	l4[csum_off + 1] = (uint8_t)c;
	/* Ethernet: unicast MACs, IPv6 */
	for (uint8_t x : { 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02 })
		b.push_back(x);
	put16(b, 0x86dd);
	/* IPv6: version 6, no traffic class or flow label */
	put32(b, 0x60000000u);
	put16(b, (uint16_t)(l4.size() + (hbh ? 8 : 0)));
	b.push_back(hbh ? 0 : nh);
	b.push_back(64);
	b.insert(b.end(), src.begin(), src.end());
	b.insert(b.end(), dst.begin(), dst.end());
	if (hbh) {
		/* Hop-by-hop, 8 bytes: next header, length 0, PadN of 4 */
		for (uint8_t x : { nh, (uint8_t)0, (uint8_t)1, (uint8_t)4,
				   (uint8_t)0, (uint8_t)0, (uint8_t)0,
				   (uint8_t)0 })
			b.push_back(x);
	}
	b.insert(b.end(), l4.begin(), l4.end());
	return b;
}

struct Pkt6 {
	std::vector<uint8_t> frame;
	struct ef_pkt_meta m;
};

Pkt6
parsed(std::vector<uint8_t> frame)
{
	Pkt6 p;

	p.frame = std::move(frame);
	memset(&p.m, 0, sizeof(p.m));
	EXPECT_EQ(EF_PKT_OK, ef_pkt_parse(p.frame.data(),
					  (uint32_t)p.frame.size(), &p.m));
	return p;
}

Pkt6
tcp6(const A6 &src, uint16_t sport, const A6 &dst, uint16_t dport,
     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win = 65535,
     uint32_t plen = 0, int wscale = -1, bool hbh = false)
{
	std::vector<uint8_t> t;
	uint32_t hlen = wscale >= 0 ? 24 : 20;

	put16(t, sport);
	put16(t, dport);
	put32(t, seq);
	put32(t, ack);
	t.push_back((uint8_t)(hlen / 4 << 4));
	t.push_back(flags);
	put16(t, win);
	put16(t, 0);		/* checksum, filled by ip6_frame */
	put16(t, 0);		/* urgent pointer */
	if (wscale >= 0) {
		t.push_back(1);	/* NOP */
		t.push_back(3);	/* window scale, length 3 */
		t.push_back(3);
		t.push_back((uint8_t)wscale);
	}
	for (uint32_t i = 0; i < plen; i++)
		t.push_back((uint8_t)('a' + i % 26));
	Pkt6 p = parsed(ip6_frame(src, dst, IPPROTO_TCP, t, 16, hbh));
	EXPECT_EQ(6, p.m.ip_version);
	EXPECT_EQ(IPPROTO_TCP, p.m.proto);
	EXPECT_EQ(14u + 40u + (hbh ? 8u : 0u), p.m.l4_off);
	EXPECT_EQ(hlen + plen, p.m.l4_len);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(p.frame.data(), &p.m));
	return p;
}

Pkt6
udp6(const A6 &src, uint16_t sport, const A6 &dst, uint16_t dport)
{
	std::vector<uint8_t> u;

	put16(u, sport);
	put16(u, dport);
	put16(u, 12);
	put16(u, 0);
	put32(u, 0x64617461);	/* "data" */
	return parsed(ip6_frame(src, dst, IPPROTO_UDP, u, 6, false));
}

Pkt6
echo6(const A6 &src, const A6 &dst, uint8_t type, uint16_t id)
{
	std::vector<uint8_t> e;

	e.push_back(type);	/* 128 request, 129 reply */
	e.push_back(0);
	put16(e, 0);
	put16(e, id);
	put16(e, 1);		/* sequence */
	return parsed(ip6_frame(src, dst, IPPROTO_ICMPV6, e, 2, false));
}

std::vector<struct ef_ct_flow *> evicted6;

void
record_evict6(void *arg, struct ef_ct_flow *f)
{
	(void)arg;
	evicted6.push_back(f);
}

class Ct6 : public ::testing::Test {
protected:
	struct ef_ct *ct = nullptr;
	uint32_t now = 5000;
	uint32_t cseq = 0xfffffff0, sseq = 0x7ffffff0;

	void make(uint32_t max_flows)
	{
		static int n;

		ef_ct_free(ct);
		ct = table("v6_" + std::to_string(n++), max_flows, 6,
			   record_evict6);
		ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
		evicted6.clear();
	}
	void SetUp() override { make(1024); }
	void TearDown() override { ef_ct_free(ct); }

	struct ef_ct_flow *create(uint16_t cport = CP,
				  uint8_t proto = IPPROTO_TCP,
				  bool snat = true, int *err_out = nullptr)
	{
		struct ef_ct_key6 o = key6(C, cport, F, FP, proto);
		struct ef_ct_key6 r = snat ? key6(E, EP, S, cport, proto) :
			key6(E, EP, C, cport, proto);
		int err = 1;
		struct ef_ct_flow *f = ef_ct_create_flow6(ct, &o, &r, now,
							  &err);

		if (err_out != nullptr)
			*err_out = err;
		return f;
	}
	int c2s(struct ef_ct_flow *f, uint32_t seq, uint32_t ack, uint8_t fl,
		uint32_t plen = 0, uint16_t win = 65535, int ws = -1,
		bool hbh = false)
	{
		Pkt6 p = tcp6(C, CP, F, FP, seq, ack, fl, win, plen, ws, hbh);
		struct ef_ct_key6 k;
		uint8_t d = 9;

		/* The frame's key finds f, in its direction. */
		EXPECT_EQ(0, ef_ct_key6_from_meta(&p.m, &k));
		EXPECT_EQ(f, ef_ct_lookup6(ct, &k, &d));
		EXPECT_EQ(0, d);
		return ef_ct_update(ct, f, 0, p.frame.data(), &p.m, now);
	}
	int s2c(struct ef_ct_flow *f, uint32_t seq, uint32_t ack, uint8_t fl,
		uint32_t plen = 0, uint16_t win = 65535, int ws = -1,
		bool hbh = false)
	{
		Pkt6 p = tcp6(E, EP, S, CP, seq, ack, fl, win, plen, ws, hbh);
		struct ef_ct_key6 k;
		uint8_t d = 9;

		EXPECT_EQ(0, ef_ct_key6_from_meta(&p.m, &k));
		EXPECT_EQ(f, ef_ct_lookup6(ct, &k, &d));
		EXPECT_EQ(1, d);
		return ef_ct_update(ct, f, 1, p.frame.data(), &p.m, now);
	}
	struct ef_ct_flow *established()
	{
		struct ef_ct_flow *f = create();

		EXPECT_NE(nullptr, f);
		if (f == nullptr)
			return nullptr;
		EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, cseq, 0, TH_SYN));
		EXPECT_EQ(EF_CT_VERDICT_OK,
			  s2c(f, sseq, cseq + 1, TH_SYN | TH_ACK));
		EXPECT_EQ(EF_CT_VERDICT_OK,
			  c2s(f, cseq + 1, sseq + 1, TH_ACK));
		EXPECT_EQ(EF_CT_ESTABLISHED, f->state);
		return f;
	}
};

TEST_F(Ct6, CreateLooksUpBothDirections)
{
	int err = 1;
	struct ef_ct_flow *f = create(CP, IPPROTO_TCP, true, &err);

	ASSERT_NE(nullptr, f);
	EXPECT_EQ(0, err);
	/* The 32-bit address fields are not addresses; snat = the SNAT
	 * address's index in the table's list + 1 (the first here). */
	EXPECT_EQ(0u, f->client);
	EXPECT_EQ(0u, f->frontend);
	EXPECT_EQ(0u, f->endpoint);
	EXPECT_EQ(1u, f->snat);
	EXPECT_EQ(htons(CP), f->cport);
	EXPECT_EQ(htons(FP), f->fport);
	EXPECT_EQ(htons(EP), f->eport);
	EXPECT_EQ(htons(CP), f->sport_snat);
	EXPECT_EQ(IPPROTO_TCP, f->proto);
	EXPECT_EQ(EF_CT_NONE, f->state);
	EXPECT_EQ(now, f->created_ms);

	const struct ef_ct_addr6 *a = ef_ct_flow_addr6(ct, f);
	ASSERT_NE(nullptr, a);
	EXPECT_EQ(0, memcmp(a->client, C.data(), 16));
	EXPECT_EQ(0, memcmp(a->frontend, F.data(), 16));
	EXPECT_EQ(0, memcmp(a->endpoint, E.data(), 16));
	ASSERT_NE(nullptr, ef_ct_flow_snat6(ct, f));
	EXPECT_EQ(0, memcmp(ef_ct_flow_snat6(ct, f), S.data(), 16));

	struct ef_ct_key6 o = key6(C, CP, F, FP), r = key6(E, EP, S, CP), k;
	uint8_t d = 9;
	EXPECT_EQ(f, ef_ct_lookup6(ct, &o, &d));
	EXPECT_EQ(0, d);
	EXPECT_EQ(f, ef_ct_lookup6(ct, &r, &d));
	EXPECT_EQ(1, d);
	EXPECT_TRUE(ef_ct_key6_in_use(ct, &o));
	EXPECT_TRUE(ef_ct_key6_in_use(ct, &r));
	ef_ct_flow_key6(ct, f, 0, &k);
	EXPECT_TRUE(key6_eq(o, k));
	ef_ct_flow_key6(ct, f, 1, &k);
	EXPECT_TRUE(key6_eq(r, k));

	/* One byte off anywhere in the key misses. */
	for (size_t i = 0; i < 37; i++) {
		struct ef_ct_key6 x = o;

		((uint8_t *)&x)[i] ^= 0x40;
		EXPECT_EQ(nullptr, ef_ct_lookup6(ct, &x, &d)) << i;
		EXPECT_FALSE(ef_ct_key6_in_use(ct, &x)) << i;
	}
	/* Pad is ignored. */
	memset(o.pad, 0xee, sizeof(o.pad));
	EXPECT_EQ(f, ef_ct_lookup6(ct, &o, &d));

	EXPECT_EQ(1u, ef_ct_stats(ct)->created);
	EXPECT_EQ(1u, ef_ct_stats(ct)->active);
	EXPECT_EQ(f, ef_ct_flow_at(ct, ef_ct_flow_index(ct, f)));
	EXPECT_EQ(1024u, ef_ct_capacity(ct));
}

TEST_F(Ct6, NoSnatAndPortOnlySnat)
{
	struct ef_ct_flow *f = create(CP, IPPROTO_TCP, false);

	ASSERT_NE(nullptr, f);
	EXPECT_EQ(0u, f->snat);
	EXPECT_EQ(0u, f->sport_snat);
	EXPECT_EQ(nullptr, ef_ct_flow_snat6(ct, f));
	struct ef_ct_key6 k, r = key6(E, EP, C, CP);
	uint8_t d;
	ef_ct_flow_key6(ct, f, 1, &k);
	EXPECT_TRUE(key6_eq(r, k));
	EXPECT_EQ(f, ef_ct_lookup6(ct, &r, &d));
	EXPECT_EQ(1, d);

	/* Same address, another port: SNAT'd, to the client's address. */
	struct ef_ct_key6 o2 = key6(C, CP + 1, F, FP);
	struct ef_ct_key6 r2 = key6(E, EP, C, SP);
	int err;
	struct ef_ct_flow *g = ef_ct_create_flow6(ct, &o2, &r2, now, &err);
	ASSERT_NE(nullptr, g);
	EXPECT_NE(0u, g->snat);
	EXPECT_EQ(htons(SP), g->sport_snat);
	ASSERT_NE(nullptr, ef_ct_flow_snat6(ct, g));
	EXPECT_EQ(0, memcmp(ef_ct_flow_snat6(ct, g), C.data(), 16));
	ef_ct_flow_key6(ct, g, 1, &k);
	EXPECT_TRUE(key6_eq(r2, k));
	EXPECT_EQ(g, ef_ct_lookup6(ct, &r2, &d));
	EXPECT_EQ(1, d);
}

TEST_F(Ct6, CreateErrors)
{
	int err = 0;
	struct ef_ct_key6 o = key6(C, CP, F, FP), r = key6(E, EP, S, CP);

	ASSERT_NE(nullptr, ef_ct_create_flow6(ct, &o, &r, now, &err));
	/* Either key already in the table */
	struct ef_ct_key6 r2 = key6(E, EP, S, CP + 7);
	EXPECT_EQ(nullptr, ef_ct_create_flow6(ct, &o, &r2, now, &err));
	EXPECT_EQ(-EEXIST, err);
	struct ef_ct_key6 o2 = key6(C, CP + 7, F, FP);
	EXPECT_EQ(nullptr, ef_ct_create_flow6(ct, &o2, &r, now, &err));
	EXPECT_EQ(-EEXIST, err);
	/* Pad aside, the same key */
	struct ef_ct_key6 op = o;
	memset(op.pad, 0x5a, sizeof(op.pad));
	EXPECT_EQ(nullptr, ef_ct_create_flow6(ct, &op, &r2, now, &err));
	EXPECT_EQ(-EEXIST, err);
	/* Both keys equal, protocols differ, SNAT to :: */
	EXPECT_EQ(nullptr, ef_ct_create_flow6(ct, &o2, &o2, now, &err));
	EXPECT_EQ(-EINVAL, err);
	struct ef_ct_key6 ru = key6(E, EP, S, CP + 7, IPPROTO_UDP);
	EXPECT_EQ(nullptr, ef_ct_create_flow6(ct, &o2, &ru, now, &err));
	EXPECT_EQ(-EINVAL, err);
	const A6 any = {};
	struct ef_ct_key6 rz = key6(E, EP, any, CP + 7);
	EXPECT_EQ(nullptr, ef_ct_create_flow6(ct, &o2, &rz, now, &err));
	EXPECT_EQ(-EINVAL, err);
	EXPECT_EQ(1u, ef_ct_stats(ct)->created);
	EXPECT_EQ(1u, ef_ct_stats(ct)->active);
}

TEST_F(Ct6, KeyFromMeta)
{
	Pkt6 p = tcp6(C, CP, F, FP, 1, 0, TH_SYN, 65535, 0, -1, true);
	struct ef_ct_key6 k;
	struct ef_ct_key4 k4;

	memset(&k, 0xff, sizeof(k));
	ASSERT_EQ(0, ef_ct_key6_from_meta(&p.m, &k));
	EXPECT_TRUE(key6_eq(key6(C, CP, F, FP), k));
	EXPECT_EQ(-EINVAL, ef_ct_key4_from_meta(&p.m, &k4));
	Pkt6 e = echo6(C, F, 128, 0x1234);
	ASSERT_EQ(0, ef_ct_key6_from_meta(&e.m, &k));
	EXPECT_TRUE(key6_eq(key6(C, 0x1234, F, 0x1234, IPPROTO_ICMPV6), k));
	struct ef_pkt_meta m4 = {};
	m4.ip_version = 4;
	m4.flags = EF_PKT_F_L4;
	EXPECT_EQ(-EINVAL, ef_ct_key6_from_meta(&m4, &k));
	p.m.flags &= (uint16_t)~EF_PKT_F_L4;
	EXPECT_EQ(-EINVAL, ef_ct_key6_from_meta(&p.m, &k));
}

TEST_F(Ct6, BulkLookupEqualsSingle)
{
	std::vector<struct ef_ct_key6> keys;
	std::vector<struct ef_ct_flow *> made;

	for (uint16_t i = 0; i < 40; i++) {
		struct ef_ct_flow *f = create((uint16_t)(1000 + i),
					      IPPROTO_TCP, i % 3 != 0);
		ASSERT_NE(nullptr, f);
		made.push_back(f);
		keys.push_back(key6(C, (uint16_t)(1000 + i), F, FP));
		keys.push_back(i % 3 != 0 ?
			       key6(E, EP, S, (uint16_t)(1000 + i)) :
			       key6(E, EP, C, (uint16_t)(1000 + i)));
	}
	/* Deleted entries and plain misses */
	for (int i = 0; i < 40; i += 4)
		ef_ct_delete(ct, made[i]);
	for (uint16_t i = 0; i < 20; i++)
		keys.push_back(key6(a6(9, i), 1, F, FP));
	ASSERT_GT(keys.size(), EF_CT_BULK_MAX);

	for (size_t start = 0; start < keys.size(); start += EF_CT_BULK_MAX) {
		uint32_t n = (uint32_t)std::min<size_t>(EF_CT_BULK_MAX,
							keys.size() - start);
		const struct ef_ct_key6 *kp[EF_CT_BULK_MAX];
		struct ef_ct_flow *fl[EF_CT_BULK_MAX];
		uint8_t dir[EF_CT_BULK_MAX];

		for (uint32_t i = 0; i < n; i++)
			kp[i] = &keys[start + i];
		memset(dir, 9, sizeof(dir));
		ef_ct_lookup6_bulk(ct, kp, n, fl, dir);
		for (uint32_t i = 0; i < n; i++) {
			uint8_t d = 9;
			struct ef_ct_flow *one = ef_ct_lookup6(ct, kp[i], &d);

			EXPECT_EQ(one, fl[i]) << start + i;
			EXPECT_EQ(one != nullptr ? d : 0, dir[i])
				<< start + i;
		}
	}
	uint32_t hits = 0;
	for (const auto &k : keys)
		hits += ef_ct_key6_in_use(ct, &k);
	EXPECT_EQ(2u * 30u, hits);
}

TEST_F(Ct6, TcpLifecycleOnRealFrames)
{
	struct ef_ct_flow *f = create();

	ASSERT_NE(nullptr, f);
	EXPECT_EQ(30000u, ef_ct_timeout_ms(ct, f));
	/* SYN with window scale, behind a hop-by-hop header */
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, cseq, 0, TH_SYN, 0, 65535, 7, true));
	EXPECT_EQ(EF_CT_SYN_SENT, f->state);
	/* The endpoint's reply must be from direction 1 and ack the SYN */
	EXPECT_EQ(EF_CT_VERDICT_INVALID,
		  s2c(f, sseq, cseq + 5, TH_SYN | TH_ACK, 0, 65535, 7));
	EXPECT_EQ(EF_CT_SYN_SENT, f->state);
	EXPECT_EQ(EF_CT_VERDICT_OK,
		  s2c(f, sseq, cseq + 1, TH_SYN | TH_ACK, 0, 65535, 7));
	EXPECT_EQ(EF_CT_SYN_RECV, f->state);
	EXPECT_EQ(0x77, f->wscale);
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, cseq + 1, sseq + 1, TH_ACK));
	EXPECT_EQ(EF_CT_ESTABLISHED, f->state);
	EXPECT_EQ(7440000u, ef_ct_timeout_ms(ct, f));
	/* Data both ways, one segment behind a hop-by-hop header */
	EXPECT_EQ(EF_CT_VERDICT_OK,
		  c2s(f, cseq + 1, sseq + 1, TH_ACK, 100, 512, -1, true));
	EXPECT_EQ(EF_CT_VERDICT_OK,
		  s2c(f, sseq + 1, cseq + 101, TH_ACK, 1000, 512));
	/* Far outside the window: INVALID, nothing changes */
	uint32_t last = f->last_ms;
	now += 10;
	EXPECT_EQ(EF_CT_VERDICT_INVALID,
		  c2s(f, cseq + 0x40000000, sseq + 1001, TH_ACK));
	EXPECT_EQ(EF_CT_VERDICT_INVALID,
		  s2c(f, sseq + 0x40000000, cseq + 101, TH_RST | TH_ACK));
	EXPECT_EQ(EF_CT_ESTABLISHED, f->state);
	EXPECT_EQ(last, f->last_ms);
	EXPECT_EQ(3u, ef_ct_stats(ct)->invalid);
	/* Close: client FIN, endpoint ACK + FIN, client ACK */
	EXPECT_EQ(EF_CT_VERDICT_OK,
		  c2s(f, cseq + 101, sseq + 1001, TH_FIN | TH_ACK));
	EXPECT_EQ(EF_CT_FIN_WAIT, f->state);
	EXPECT_EQ(31000u, ef_ct_timeout_ms(ct, f));
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, sseq + 1001, cseq + 102, TH_ACK));
	EXPECT_EQ(EF_CT_CLOSE_WAIT, f->state);
	EXPECT_EQ(EF_CT_VERDICT_OK,
		  s2c(f, sseq + 1001, cseq + 102, TH_FIN | TH_ACK));
	EXPECT_EQ(EF_CT_LAST_ACK, f->state);
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, cseq + 102, sseq + 1002, TH_ACK));
	EXPECT_EQ(EF_CT_TIME_WAIT, f->state);
	EXPECT_EQ(10000u, ef_ct_timeout_ms(ct, f));
	EXPECT_EQ(now, f->last_ms);
	/* A new SYN from the client on TIME_WAIT: delete and create anew */
	EXPECT_EQ(EF_CT_VERDICT_NEW_AFTER_CLOSE,
		  c2s(f, cseq + 5000, 0, TH_SYN));
	ef_ct_delete(ct, f);
	struct ef_ct_flow *g = create();
	ASSERT_NE(nullptr, g);
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(g, cseq + 5000, 0, TH_SYN));
	EXPECT_EQ(EF_CT_SYN_SENT, g->state);
	uint32_t total = 0;
	for (uint32_t i = 0; i < EF_CT_STATE_MAX; i++)
		total += ef_ct_stats(ct)->by_state[i];
	EXPECT_EQ(1u, total);
	EXPECT_EQ(1u, ef_ct_stats(ct)->by_state[EF_CT_SYN_SENT]);
}

TEST_F(Ct6, RstClosesAndNonSynFirstIsInvalid)
{
	struct ef_ct_flow *f = established();

	ASSERT_NE(nullptr, f);
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, sseq + 1, cseq + 1, TH_RST));
	EXPECT_EQ(EF_CT_CLOSE, f->state);

	struct ef_ct_flow *g = create(CP + 1);
	ASSERT_NE(nullptr, g);
	Pkt6 p = tcp6(C, CP + 1, F, FP, 1, 1, TH_ACK);
	EXPECT_EQ(EF_CT_VERDICT_INVALID,
		  ef_ct_update(ct, g, 0, p.frame.data(), &p.m, now));
	EXPECT_EQ(EF_CT_NONE, g->state);
}

TEST_F(Ct6, UdpAndIcmpv6)
{
	struct ef_ct_flow *u = create(CP, IPPROTO_UDP);

	ASSERT_NE(nullptr, u);
	EXPECT_EQ(32000u, ef_ct_timeout_ms(ct, u));
	Pkt6 q = udp6(C, CP, F, FP);
	EXPECT_EQ(EF_CT_VERDICT_OK,
		  ef_ct_update(ct, u, 0, q.frame.data(), &q.m, now));
	EXPECT_EQ(EF_CT_UDP_NEW, u->state);
	Pkt6 a = udp6(E, EP, S, CP);
	EXPECT_EQ(EF_CT_VERDICT_OK,
		  ef_ct_update(ct, u, 1, a.frame.data(), &a.m, now));
	EXPECT_EQ(EF_CT_UDP_REPLIED, u->state);
	EXPECT_EQ(120000u, ef_ct_timeout_ms(ct, u));

	/* ICMPv6 echo: sport = dport = id; the ICMP state and timeout */
	const uint16_t id = 0x4242, sid = 0x0777;
	struct ef_ct_key6 o = key6(C, id, F, id, IPPROTO_ICMPV6);
	struct ef_ct_key6 r = key6(E, sid, S, sid, IPPROTO_ICMPV6);
	int err;
	struct ef_ct_flow *e = ef_ct_create_flow6(ct, &o, &r, now, &err);
	ASSERT_NE(nullptr, e) << err;
	EXPECT_EQ(33000u, ef_ct_timeout_ms(ct, e));
	Pkt6 req = echo6(C, F, 128, id);
	struct ef_ct_key6 k;
	uint8_t d;
	ASSERT_EQ(0, ef_ct_key6_from_meta(&req.m, &k));
	EXPECT_EQ(e, ef_ct_lookup6(ct, &k, &d));
	EXPECT_EQ(EF_CT_VERDICT_OK,
		  ef_ct_update(ct, e, 0, req.frame.data(), &req.m, now));
	EXPECT_EQ(EF_CT_ICMP, e->state);
	Pkt6 rep = echo6(E, S, 129, sid);
	ASSERT_EQ(0, ef_ct_key6_from_meta(&rep.m, &k));
	EXPECT_EQ(e, ef_ct_lookup6(ct, &k, &d));
	EXPECT_EQ(1, d);
	EXPECT_EQ(EF_CT_VERDICT_OK,
		  ef_ct_update(ct, e, 1, rep.frame.data(), &rep.m, now));
	EXPECT_EQ(EF_CT_ICMP, e->state);
	EXPECT_EQ(33000u, ef_ct_timeout_ms(ct, e));
	/* A reply first is INVALID, as for IPv4 */
	struct ef_ct_key6 o2 = key6(C, id + 1, F, id + 1, IPPROTO_ICMPV6);
	struct ef_ct_key6 r2 = key6(E, sid + 1, S, sid + 1, IPPROTO_ICMPV6);
	struct ef_ct_flow *e2 = ef_ct_create_flow6(ct, &o2, &r2, now, &err);
	ASSERT_NE(nullptr, e2);
	EXPECT_EQ(EF_CT_VERDICT_INVALID,
		  ef_ct_update(ct, e2, 1, rep.frame.data(), &rep.m, now));
}

uint32_t
count_cb(void *arg, struct ef_ct_flow *f)
{
	(void)f;
	return ++*(uint32_t *)arg;
}

void
expire_cb(void *arg, struct ef_ct_flow *f)
{
	count_cb(arg, f);
}

TEST_F(Ct6, ExpiryAndWalk)
{
	make(64);
	std::vector<struct ef_ct_flow *> fl;

	for (uint16_t i = 0; i < 20; i++) {
		struct ef_ct_flow *f = create((uint16_t)(2000 + i),
					      IPPROTO_UDP);
		ASSERT_NE(nullptr, f);
		Pkt6 q = udp6(C, (uint16_t)(2000 + i), F, FP);
		ASSERT_EQ(EF_CT_VERDICT_OK,
			  ef_ct_update(ct, f, 0, q.frame.data(), &q.m, now));
		fl.push_back(f);
	}
	/* Ten of them see traffic later: they outlive the others */
	now += 20000;
	for (uint16_t i = 0; i < 10; i++) {
		Pkt6 q = udp6(C, (uint16_t)(2000 + i), F, FP);
		ASSERT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, fl[i], 0,
							 q.frame.data(), &q.m,
							 now));
	}
	now += 12000;	/* 32 s after the first packets */
	uint32_t seen = 0;
	/* Bounded: 16 slots per call */
	uint32_t n = ef_ct_expire(ct, now, 16, expire_cb, &seen);
	EXPECT_LE(n, 16u);
	n += ef_ct_expire(ct, now, 64, expire_cb, &seen);
	EXPECT_EQ(10u, n);
	EXPECT_EQ(10u, seen);
	EXPECT_EQ(10u, ef_ct_stats(ct)->expired);
	EXPECT_EQ(10u, ef_ct_stats(ct)->active);
	for (uint16_t i = 0; i < 20; i++) {
		struct ef_ct_key6 o = key6(C, (uint16_t)(2000 + i), F, FP,
					   IPPROTO_UDP);
		struct ef_ct_key6 r = key6(E, EP, S, (uint16_t)(2000 + i),
					   IPPROTO_UDP);
		EXPECT_EQ(i < 10, ef_ct_key6_in_use(ct, &o)) << i;
		EXPECT_EQ(i < 10, ef_ct_key6_in_use(ct, &r)) << i;
	}

	/* Walk: delete the flows with an even client port, in two calls */
	uint32_t cursor = 0, visited = 0;
	auto even = [](void *arg, struct ef_ct_flow *f) -> int {
		(void)arg;
		return ntohs(f->cport) % 2 == 0 ? 1 : 0;
	};
	visited += ef_ct_walk(ct, &cursor, 32, even, nullptr);
	EXPECT_EQ(32u, cursor);
	visited += ef_ct_walk(ct, &cursor, 32, even, nullptr);
	EXPECT_EQ(0u, cursor);
	EXPECT_EQ(10u, visited);
	EXPECT_EQ(5u, ef_ct_stats(ct)->active);
	for (uint16_t i = 0; i < 10; i++) {
		struct ef_ct_key6 o = key6(C, (uint16_t)(2000 + i), F, FP,
					   IPPROTO_UDP);
		uint8_t d;
		EXPECT_EQ(i % 2 == 1, ef_ct_lookup6(ct, &o, &d) != nullptr);
	}
}

TEST_F(Ct6, EarlyDropAndFull)
{
	make(8);
	int err;
	std::vector<struct ef_ct_flow *> fl;

	for (uint16_t i = 0; i < 8; i++) {
		fl.push_back(create((uint16_t)(3000 + i), IPPROTO_TCP, true,
				    &err));
		ASSERT_NE(nullptr, fl.back());
		now += 10;
	}
	/* Full, and every flow younger than EF_CT_EARLY_DROP_MS */
	EXPECT_EQ(nullptr, create(4000, IPPROTO_TCP, true, &err));
	EXPECT_EQ(-ENOSPC, err);
	EXPECT_EQ(1u, ef_ct_stats(ct)->full);
	/* Old enough: the oldest goes, with the callback first */
	now += EF_CT_EARLY_DROP_MS;
	struct ef_ct_flow *f = create(4000, IPPROTO_TCP, true, &err);
	ASSERT_NE(nullptr, f);
	ASSERT_EQ(1u, evicted6.size());
	EXPECT_EQ(fl[0], evicted6[0]);
	EXPECT_EQ(fl[0], f);	/* its slot, reused */
	EXPECT_EQ(1u, ef_ct_stats(ct)->early_drops);
	struct ef_ct_key6 gone = key6(C, 3000, F, FP);
	EXPECT_FALSE(ef_ct_key6_in_use(ct, &gone));
	struct ef_ct_key6 gone_r = key6(E, EP, S, 3000);
	EXPECT_FALSE(ef_ct_key6_in_use(ct, &gone_r));
	struct ef_ct_key6 k = key6(C, 4000, F, FP);
	uint8_t d;
	EXPECT_EQ(f, ef_ct_lookup6(ct, &k, &d));
	EXPECT_EQ(0, memcmp(ef_ct_flow_addr6(ct, f)->client, C.data(), 16));

	/* Flows that saw a reply are never evicted: table of established */
	make(4);
	for (int i = 0; i < 4; i++) {
		cseq += 1000;
		sseq += 1000;
		struct ef_ct_flow *g = create((uint16_t)(CP + i));
		ASSERT_NE(nullptr, g);
		Pkt6 syn = tcp6(C, (uint16_t)(CP + i), F, FP, cseq, 0, TH_SYN);
		ASSERT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, g, 0,
							 syn.frame.data(),
							 &syn.m, now));
		Pkt6 sa = tcp6(E, EP, S, (uint16_t)(CP + i), sseq, cseq + 1,
			       TH_SYN | TH_ACK);
		ASSERT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, g, 1,
							 sa.frame.data(),
							 &sa.m, now));
	}
	now += 10 * EF_CT_EARLY_DROP_MS;
	EXPECT_EQ(nullptr, create(5000, IPPROTO_TCP, true, &err));
	EXPECT_EQ(-ENOSPC, err);
	EXPECT_EQ(1u, ef_ct_stats(ct)->full);
	EXPECT_EQ(0u, ef_ct_stats(ct)->early_drops);
	EXPECT_EQ(4u, ef_ct_stats(ct)->active);
}

/* An IPv4 and an IPv6 table in one process, keys of the same ports. */
TEST(Ct6Both, SideBySide)
{
	struct ef_ct *t4 = table("both4", 256, 0);
	struct ef_ct *t6 = table("both6", 256, 6);
	ASSERT_NE(nullptr, t4);
	ASSERT_NE(nullptr, t6);
	int err;

	struct ef_ct_key4 o4 = {}, r4 = {};
	o4.src = htonl(0x0a000001);
	o4.dst = htonl(0x0a000002);
	o4.sport = htons(CP);
	o4.dport = htons(FP);
	o4.proto = IPPROTO_TCP;
	r4 = o4;
	r4.src = htonl(0x0a000003);
	r4.dst = htonl(0x0a000004);
	r4.sport = htons(EP);
	r4.dport = htons(SP);
	struct ef_ct_flow *f4 = ef_ct_create_flow(t4, &o4, &r4, 1, &err);
	ASSERT_NE(nullptr, f4);
	struct ef_ct_key6 o6 = key6(C, CP, F, FP), r6 = key6(E, EP, S, SP);
	struct ef_ct_flow *f6 = ef_ct_create_flow6(t6, &o6, &r6, 1, &err);
	ASSERT_NE(nullptr, f6);
	/* The same slot index in each table, different flows */
	EXPECT_EQ(0u, ef_ct_flow_index(t4, f4));
	EXPECT_EQ(0u, ef_ct_flow_index(t6, f6));
	EXPECT_NE(f4, f6);
	EXPECT_EQ(htonl(0x0a000004), f4->snat);
	EXPECT_NE(0u, f6->snat);

	uint8_t d;
	EXPECT_EQ(f4, ef_ct_lookup(t4, &o4, &d));
	EXPECT_EQ(f6, ef_ct_lookup6(t6, &o6, &d));
	/* The v6 calls on the IPv4 table find nothing and create nothing */
	EXPECT_EQ(nullptr, ef_ct_lookup6(t4, &o6, &d));
	EXPECT_FALSE(ef_ct_key6_in_use(t4, &o6));
	EXPECT_EQ(nullptr, ef_ct_flow_addr6(t4, f4));
	EXPECT_EQ(nullptr, ef_ct_create_flow6(t4, &o6, &r6, 1, &err));
	EXPECT_EQ(-EINVAL, err);
	const struct ef_ct_key6 *kp[1] = { &o6 };
	struct ef_ct_flow *fl[1] = { f4 };
	uint8_t dir[1] = { 7 };
	ef_ct_lookup6_bulk(t4, kp, 1, fl, dir);
	EXPECT_EQ(nullptr, fl[0]);
	EXPECT_EQ(0, dir[0]);
	EXPECT_EQ(1u, ef_ct_stats(t4)->active);

	/* Deleting in one leaves the other alone */
	ef_ct_delete(t6, f6);
	EXPECT_EQ(f4, ef_ct_lookup(t4, &r4, &d));
	EXPECT_EQ(1, d);
	EXPECT_EQ(nullptr, ef_ct_lookup6(t6, &r6, &d));
	EXPECT_EQ(0u, ef_ct_stats(t6)->active);
	EXPECT_EQ(1u, ef_ct_stats(t4)->active);
	EXPECT_GT(ef_ct_memory(t6), ef_ct_memory(t4));
	ef_ct_free(t4);
	ef_ct_free(t6);
}

TEST(Ct6Create, FamilyParam)
{
	struct ef_ct *t = table("fam5", 16, 5);

	EXPECT_EQ(nullptr, t);
	EXPECT_EQ(EINVAL, rte_errno);
	t = table("fam4", 16, 4);
	ASSERT_NE(nullptr, t);
	EXPECT_EQ(nullptr, ef_ct_flow_addr6(t, ef_ct_flow_at(t, 0)));
	ef_ct_free(t);
}

/* Distinct keys of flow id, random-looking addresses. */
void
rand_keys(uint32_t id, struct ef_ct_key6 *o, struct ef_ct_key6 *r,
	  uint8_t proto = IPPROTO_UDP)
{
	std::mt19937 g(id * 2654435761u + 1);
	A6 c, e;

	for (auto &x : c)
		x = (uint8_t)g();
	for (auto &x : e)
		x = (uint8_t)g();
	/* Client addresses distinct by id (bytes 8..11), ports random */
	c[8] = (uint8_t)(id >> 24);
	c[9] = (uint8_t)(id >> 16);
	c[10] = (uint8_t)(id >> 8);
	c[11] = (uint8_t)id;
	*o = key6(c, (uint16_t)g(), F, FP, proto);
	*r = key6(e, EP, S, (uint16_t)(id & 0xffff), proto);
	/* S + ports: reply keys distinct by id too (id < 2^16 per S) */
	r->dst[0] = (uint8_t)(id >> 16);
}

/*
 * The largest max_flows with 2^14 buckets, so a full table is at the
 * index's highest load (85 %): every create succeeds, every key is found.
 */
TEST(Ct6Index, FillToMaxFlows)
{
	const uint32_t max = 55705;
	struct ef_ct *ct = table("fill6", max, 6);
	ASSERT_NE(nullptr, ct);
	ASSERT_EQ((size_t)16384 * 64 + 64 * 12, ef_ct_hash_memory(ct));
	struct ef_ct_key6 o, r;
	int err;

	for (uint32_t i = 0; i < max; i++) {
		rand_keys(i, &o, &r);
		ASSERT_NE(nullptr, ef_ct_create_flow6(ct, &o, &r, 1, &err))
			<< i << " " << err;
	}
	rand_keys(max, &o, &r);
	EXPECT_EQ(nullptr, ef_ct_create_flow6(ct, &o, &r, 1, &err));
	EXPECT_EQ(-ENOSPC, err);
	for (uint32_t i = 0; i < max; i++) {
		uint8_t d = 9;

		rand_keys(i, &o, &r);
		struct ef_ct_flow *f = ef_ct_lookup6(ct, &o, &d);
		ASSERT_NE(nullptr, f) << i;
		ASSERT_EQ(0, d);
		ASSERT_EQ(f, ef_ct_lookup6(ct, &r, &d)) << i;
		ASSERT_EQ(1, d);
	}
	EXPECT_EQ(max, ef_ct_stats(ct)->active);
	ef_ct_free(ct);
}

/*
 * A candidate is confirmed against all 37 bytes: in a table of two
 * buckets, 2^20 variants of each part of a live key (so about eight per
 * part share its bucket and signature) must all miss.
 */
TEST(Ct6Index, SignatureMatchesAreConfirmed)
{
	struct ef_ct *ct = table("confirm6", 4, 6);
	ASSERT_NE(nullptr, ct);
	ASSERT_EQ((size_t)2 * 64 + 64 * 12, ef_ct_hash_memory(ct));
	struct ef_ct_key6 o = key6(C, CP, F, FP), r = key6(E, EP, S, SP);
	int err;
	struct ef_ct_flow *f = ef_ct_create_flow6(ct, &o, &r, 1, &err);
	ASSERT_NE(nullptr, f);
	/* Byte offsets of three bytes in each 8-byte part of the key */
	const size_t parts[][3] = {
		{ 0, 3, 7 }, { 8, 11, 15 }, { 16, 19, 23 }, { 24, 27, 31 },
		{ 32, 34, 35 },
	};
	uint32_t found = 0;

	for (const auto &pt : parts) {
		for (uint32_t v = 1; v < (1u << 20); v++) {
			struct ef_ct_key6 x = (v & 1) ? o : r;
			uint8_t *b = (uint8_t *)&x;
			uint8_t d;

			b[pt[0]] ^= (uint8_t)(v >> 1);
			b[pt[1]] ^= (uint8_t)(v >> 9);
			b[pt[2]] ^= (uint8_t)(v >> 17 | 0x80);
			found += ef_ct_lookup6(ct, &x, &d) != nullptr;
		}
	}
	EXPECT_EQ(0u, found);
	ef_ct_free(ct);
}

/* 10 000 random flows created, looked up and deleted against a model. */
TEST(Ct6Index, RandomAgainstModel)
{
	const uint32_t max = 4096, ids = 10000;
	struct ef_ct *ct = table("model6", max, 6);
	ASSERT_NE(nullptr, ct);
	std::map<uint32_t, struct ef_ct_flow *> model;	/* id -> flow */
	std::mt19937 g(12345);
	struct ef_ct_key6 o, r;
	int err;

	for (uint32_t step = 0; step < 60000; step++) {
		uint32_t id = g() % ids;
		uint32_t op = g() % 4;
		auto it = model.find(id);

		rand_keys(id, &o, &r, IPPROTO_TCP);
		if (op < 2) {
			struct ef_ct_flow *f =
				ef_ct_create_flow6(ct, &o, &r, step, &err);
			if (it != model.end()) {
				ASSERT_EQ(nullptr, f);
				ASSERT_EQ(-EEXIST, err);
			} else if (model.size() == max) {
				/* TCP NONE flows, the early drop may run */
				if (f == nullptr) {
					ASSERT_EQ(-ENOSPC, err);
					continue;
				}
			} else {
				ASSERT_NE(nullptr, f) << step;
			}
			if (f != nullptr && it == model.end()) {
				/* An early drop deleted some model flow */
				for (auto m = model.begin(); m != model.end();
				     m++) {
					if (m->second == f) {
						model.erase(m);
						break;
					}
				}
				model[id] = f;
			}
		} else if (op == 2) {
			if (it != model.end()) {
				ef_ct_delete(ct, it->second);
				model.erase(it);
			}
		}
		/* Lookups: this id, and one random id */
		for (uint32_t q : { id, (uint32_t)(g() % ids) }) {
			uint8_t d = 9;
			auto m = model.find(q);
			struct ef_ct_flow *want =
				m == model.end() ? nullptr : m->second;

			rand_keys(q, &o, &r, IPPROTO_TCP);
			ASSERT_EQ(want, ef_ct_lookup6(ct, &o, &d)) << step;
			if (want != nullptr) {
				ASSERT_EQ(0, d);
			}
			ASSERT_EQ(want, ef_ct_lookup6(ct, &r, &d)) << step;
			if (want != nullptr) {
				struct ef_ct_key6 k;

				ASSERT_EQ(1, d);
				ef_ct_flow_key6(ct, want, 0, &k);
				ASSERT_TRUE(key6_eq(o, k));
				ef_ct_flow_key6(ct, want, 1, &k);
				ASSERT_TRUE(key6_eq(r, k));
			}
		}
		ASSERT_EQ(model.size(), ef_ct_stats(ct)->active);
	}
	/* Every model flow is live; a full walk sees exactly them */
	uint32_t cursor = 0, seen = 0;
	do {
		seen += ef_ct_walk(ct, &cursor, 1000,
				   [](void *, struct ef_ct_flow *) { return 0; },
				   nullptr);
	} while (cursor != 0);
	EXPECT_EQ(model.size(), seen);
	ef_ct_free(ct);
}

size_t
heap_bytes()
{
	struct rte_malloc_socket_stats st;
	size_t sum = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i),
						&st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

/*
 * Bytes per flow at 1 M flows, both families: the IPv4 figure is today's
 * (104 B: flow 64, free stack 4, FIFO 4, index 32 at 2^19 buckets); IPv6
 * adds its 48-byte address entry (152 B; the SNAT address is kept once
 * per table, not per flow).
 */
TEST(Ct6Memory, BytesPerFlowBothFamilies)
{
	const uint32_t max = 1u << 20;
	double per[2];

	for (int i = 0; i < 2; i++) {
		uint8_t fam = i == 0 ? 4 : 6;
		size_t before = heap_bytes();
		struct ef_ct *ct = table("mem6_" + std::to_string(fam), max,
					 fam);
		ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
		size_t measured = heap_bytes() - before;
		size_t mem = ef_ct_memory(ct);

		per[i] = (double)mem / ef_ct_capacity(ct);
		printf("ct memory: IPv%u, max_flows %u: %zu bytes "
		       "(heap %zu), %.2f B/flow (index %.1f B/flow)\n", fam,
		       max, mem, measured, per[i],
		       (double)ef_ct_hash_memory(ct) / max);
		::testing::Test::RecordProperty(
			"bytes_per_flow_v" + std::to_string(fam),
			std::to_string(per[i]));
		EXPECT_GE(measured, mem);
		EXPECT_LE(measured - mem, 64u * 1024);
		ef_ct_free(ct);
		EXPECT_EQ(before, heap_bytes());
	}
	EXPECT_LT(per[0], 104.01);
	EXPECT_GT(per[0], 103.99);
	EXPECT_LT(per[1], 152.01);
	EXPECT_GT(per[1], 151.99);
}

} /* namespace */
