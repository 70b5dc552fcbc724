/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <gtest/gtest.h>

#include "ef_ct.h"
#include "frames.h"

namespace {

/* Client C -> frontend F, DNAT to endpoint E, SNAT to S. Host order here. */
const uint32_t C = 0x0a010001, F = 0xc633640a, E = 0x0af40005, S = 0x0a000001;
const uint16_t CP = 40000, FP = 80, EP = 8080, SP = 1025;

const uint8_t TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_ACK = 0x10;

struct ef_cfg_conntrack
timeouts()
{
	struct ef_cfg_conntrack t = {};

	t.max_flows = 0;
	t.tcp_syn_timeout = 30;
	t.tcp_established_timeout = 7440;
	t.tcp_fin_timeout = 31;
	t.tcp_close_timeout = 10;
	t.udp_timeout = 32;
	t.udp_stream_timeout = 120;
	t.icmp_timeout = 33;
	return t;
}

struct ef_ct_key4
key(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
    uint8_t proto)
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

/* A frame (Ethernet + IPv4 + L4, from test/shim) and its metadata, set by
 * hand. */
struct Pkt {
	uint8_t buf[256];
	struct ef_pkt_meta m;
};

/* The TCP segment's header (plen counts in the metadata only: conntrack
 * reads the header). */
Pkt
tcp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq,
    uint32_t ack, uint8_t flags, uint16_t win, uint32_t plen = 0,
    int wscale = -1)
{
	Pkt p;
	uint32_t hlen = wscale >= 0 ? 24 : 20;
	Bytes f = tcp_frame(Tcp{ .sip = htonl(src), .dip = htonl(dst),
				 .sport = sport, .dport = dport,
				 .flags = flags, .seq = seq, .ack = ack,
				 .win = win, .wscale = wscale });

	memset(&p, 0, sizeof(p));
	memcpy(p.buf, f.data(), f.size());
	p.m.l3 = EF_PKT_L3_IPV4;
	p.m.ip_version = 4;
	p.m.flags = EF_PKT_F_L4;
	p.m.l3_off = 14;
	p.m.l4_off = 34;
	p.m.proto = IPPROTO_TCP;
	p.m.l4_len = (uint16_t)(hlen + plen);
	p.m.l3_len = (uint16_t)(20 + p.m.l4_len);
	p.m.tcp_flags = flags;
	p.m.src = ef_addr_v4(src);
	p.m.dst = ef_addr_v4(dst);
	p.m.sport = htons(sport);
	p.m.dport = htons(dport);
	return p;
}

Pkt
l4(uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	Pkt p;

	memset(&p, 0, sizeof(p));
	p.m.l3 = EF_PKT_L3_IPV4;
	p.m.ip_version = 4;
	p.m.flags = EF_PKT_F_L4;
	p.m.l3_off = 14;
	p.m.l4_off = 34;
	p.m.proto = proto;
	p.m.l4_len = 8;
	p.m.l3_len = 28;
	p.m.src = ef_addr_v4(src);
	p.m.dst = ef_addr_v4(dst);
	p.m.sport = htons(sport);
	p.m.dport = htons(dport);
	return p;
}

std::vector<struct ef_ct_flow *> evicted;

void
record_evict(void *arg, struct ef_ct_flow *f)
{
	(void)arg;
	evicted.push_back(f);
}

class Ct : public ::testing::Test {
protected:
	struct ef_ct *ct = nullptr;
	uint32_t now = 5000;
	/* Client and server ISNs chosen to wrap the 32-bit sequence space. */
	uint32_t cseq = 0xfffffff0, sseq = 0x7ffffff0;

	void make(uint32_t max_flows)
	{
		static int n;
		struct ef_ct_params p = {};

		p.name = nullptr;
		std::string name = "t" + std::to_string(n++);
		p.name = name.c_str();
		p.max_flows = max_flows;
		p.timeouts = timeouts();
		p.socket_id = SOCKET_ID_ANY;
		p.evict_cb = record_evict;
		ct = ef_ct_create(&p);
		ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
		evicted.clear();
	}
	void SetUp() override { make(1024); }
	void TearDown() override { ef_ct_free(ct); }

	struct ef_ct_flow *create(uint16_t cport = CP, uint8_t proto = IPPROTO_TCP,
				  bool snat = true, int *err_out = nullptr)
	{
		struct ef_ct_key4 o = key(C, cport, F, FP, proto);
		struct ef_ct_key4 r = snat ? key(E, EP, S, cport, proto) :
			key(E, EP, C, cport, proto);
		int err = 1;
		struct ef_ct_flow *f = ef_ct_create_flow(ct, &o, &r, now, &err);

		if (err_out != nullptr)
			*err_out = err;
		return f;
	}
	/* Segments of the flow in each direction, as they arrive. */
	int c2s(struct ef_ct_flow *f, uint32_t seq, uint32_t ack, uint8_t fl,
		uint32_t plen = 0, uint16_t win = 65535, int ws = -1)
	{
		Pkt p = tcp(C, CP, F, FP, seq, ack, fl, win, plen, ws);
		return ef_ct_update(ct, f, 0, p.buf, &p.m, now);
	}
	int s2c(struct ef_ct_flow *f, uint32_t seq, uint32_t ack, uint8_t fl,
		uint32_t plen = 0, uint16_t win = 65535, int ws = -1)
	{
		Pkt p = tcp(E, EP, S, CP, seq, ack, fl, win, plen, ws);
		return ef_ct_update(ct, f, 1, p.buf, &p.m, now);
	}
	/* Three-way handshake; afterwards cseq/sseq are the next sequences. */
	struct ef_ct_flow *established(uint16_t cport = CP)
	{
		struct ef_ct_flow *f = create(cport);

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
	uint32_t by_state_total()
	{
		uint32_t s = 0;

		for (uint32_t i = 0; i < EF_CT_STATE_MAX; i++)
			s += ef_ct_stats(ct)->by_state[i];
		return s;
	}
};

TEST_F(Ct, CreateLooksUpBothDirections)
{
	struct ef_ct_flow *f = create();
	ASSERT_NE(nullptr, f);

	EXPECT_EQ(htonl(C), f->client);
	EXPECT_EQ(htonl(F), f->frontend);
	EXPECT_EQ(htons(CP), f->cport);
	EXPECT_EQ(htons(FP), f->fport);
	EXPECT_EQ(htonl(E), f->endpoint);
	EXPECT_EQ(htons(EP), f->eport);
	EXPECT_EQ(htonl(S), f->snat);
	EXPECT_EQ(htons(CP), f->sport_snat);
	EXPECT_EQ(EF_CT_NONE, f->state);
	EXPECT_EQ(now, f->created_ms);

	struct ef_ct_key4 o = key(C, CP, F, FP, IPPROTO_TCP);
	struct ef_ct_key4 r = key(E, EP, S, CP, IPPROTO_TCP);
	uint8_t dir = 9;
	EXPECT_EQ(f, ef_ct_lookup(ct, &o, &dir));
	EXPECT_EQ(0, dir);
	EXPECT_EQ(f, ef_ct_lookup(ct, &r, &dir));
	EXPECT_EQ(1, dir);
	/* The flow rebuilds its own keys. */
	struct ef_ct_key4 k;
	ef_ct_flow_key4(f, 0, &k);
	EXPECT_EQ(0, memcmp(&k, &o, sizeof(k)));
	ef_ct_flow_key4(f, 1, &k);
	EXPECT_EQ(0, memcmp(&k, &r, sizeof(k)));

	/* Same tuple again, or a reply tuple already held: -EEXIST. */
	int err = 0;
	EXPECT_EQ(nullptr, create(CP, IPPROTO_TCP, true, &err));
	EXPECT_EQ(-EEXIST, err);
	struct ef_ct_key4 o2 = key(C, CP + 1, F, FP, IPPROTO_TCP);
	EXPECT_EQ(nullptr, ef_ct_create_flow(ct, &o2, &r, now, &err));
	EXPECT_EQ(-EEXIST, err);
	EXPECT_EQ(nullptr, ef_ct_create_flow(ct, &o2, &o2, now, &err));
	EXPECT_EQ(-EINVAL, err);

	/* Other protocol, other port: misses. */
	struct ef_ct_key4 u = key(C, CP, F, FP, IPPROTO_UDP);
	EXPECT_EQ(nullptr, ef_ct_lookup(ct, &u, &dir));
	EXPECT_TRUE(ef_ct_key_in_use(ct, &r));
	EXPECT_FALSE(ef_ct_key_in_use(ct, &u));
	EXPECT_EQ(1u, ef_ct_stats(ct)->active);
	EXPECT_EQ(1u, ef_ct_stats(ct)->by_state[EF_CT_NONE]);
}

TEST_F(Ct, NoSnatFlowDerivesFromKeys)
{
	struct ef_ct_flow *f = create(CP, IPPROTO_UDP, false);
	ASSERT_NE(nullptr, f);
	EXPECT_EQ(0u, f->snat);
	struct ef_ct_key4 r = key(E, EP, C, CP, IPPROTO_UDP), k;
	ef_ct_flow_key4(f, 1, &k);
	EXPECT_EQ(0, memcmp(&k, &r, sizeof(k)));
}

TEST_F(Ct, KeyFromMeta)
{
	Pkt p = tcp(C, CP, F, FP, 1, 0, TH_SYN, 100);
	struct ef_ct_key4 k, want = key(C, CP, F, FP, IPPROTO_TCP);

	memset(&k, 0xaa, sizeof(k));
	ASSERT_EQ(0, ef_ct_key4_from_meta(&p.m, &k));
	EXPECT_EQ(0, memcmp(&k, &want, sizeof(k)));
	p.m.flags = 0;
	EXPECT_EQ(-EINVAL, ef_ct_key4_from_meta(&p.m, &k));
	p.m.flags = EF_PKT_F_L4;
	p.m.ip_version = 6;
	EXPECT_EQ(-EINVAL, ef_ct_key4_from_meta(&p.m, &k));
}

TEST_F(Ct, BulkLookupEqualsSingle)
{
	std::vector<struct ef_ct_key4> keys;

	for (uint16_t i = 0; i < 40; i++)
		ASSERT_NE(nullptr, create((uint16_t)(1000 + i * 2)));
	/* 64 keys: hits in both directions and misses interleaved. */
	for (uint16_t i = 0; i < 64; i++) {
		uint16_t port = (uint16_t)(1000 + i);
		if (i % 3 == 0)
			keys.push_back(key(C, port, F, FP, IPPROTO_TCP));
		else
			keys.push_back(key(E, EP, S, port, IPPROTO_TCP));
	}
	const struct ef_ct_key4 *kp[64];
	struct ef_ct_flow *flows[64];
	uint8_t dirs[64];
	for (int i = 0; i < 64; i++)
		kp[i] = &keys[i];
	ef_ct_lookup_bulk(ct, kp, 64, flows, dirs);
	int hits = 0;
	for (int i = 0; i < 64; i++) {
		uint8_t d = 7;
		struct ef_ct_flow *f = ef_ct_lookup(ct, kp[i], &d);
		EXPECT_EQ(f, flows[i]) << i;
		if (f != nullptr) {
			EXPECT_EQ(d, dirs[i]) << i;
			hits++;
		}
	}
	/* Even ports 1000..1062 exist: 32 hits. */
	EXPECT_EQ(32, hits);
}

TEST_F(Ct, TcpLifecycleAndTimeouts)
{
	const struct ef_cfg_conntrack t = timeouts();
	struct ef_ct_flow *f = create();
	ASSERT_NE(nullptr, f);
	EXPECT_EQ(t.tcp_syn_timeout * 1000, ef_ct_timeout_ms(ct, f));

	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, cseq, 0, TH_SYN));
	EXPECT_EQ(EF_CT_SYN_SENT, f->state);
	EXPECT_EQ(t.tcp_syn_timeout * 1000, ef_ct_timeout_ms(ct, f));
	/* Retransmitted SYN is fine; an ACK before the SYN-ACK is not. */
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, cseq, 0, TH_SYN));
	EXPECT_EQ(EF_CT_VERDICT_INVALID, c2s(f, cseq + 1, 1, TH_ACK));
	/* SYN-ACK acking something else is invalid. */
	EXPECT_EQ(EF_CT_VERDICT_INVALID, s2c(f, sseq, cseq + 5, TH_SYN | TH_ACK));
	EXPECT_EQ(EF_CT_SYN_SENT, f->state);

	now += 10;
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, sseq, cseq + 1, TH_SYN | TH_ACK));
	EXPECT_EQ(EF_CT_SYN_RECV, f->state);
	EXPECT_EQ(t.tcp_syn_timeout * 1000, ef_ct_timeout_ms(ct, f));
	EXPECT_EQ(now, f->last_ms);

	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, cseq + 1, sseq + 1, TH_ACK));
	EXPECT_EQ(EF_CT_ESTABLISHED, f->state);
	EXPECT_EQ(t.tcp_established_timeout * 1000, ef_ct_timeout_ms(ct, f));

	/* Data both ways (the client's sequence wraps past 2^32). */
	uint32_t c = cseq + 1, s = sseq + 1;
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, c, s, TH_ACK, 100));
	c += 100;
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, s, c, TH_ACK, 1000));
	s += 1000;
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, c, s, TH_ACK));
	EXPECT_EQ(EF_CT_ESTABLISHED, f->state);

	/* Client closes first. */
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, c, s, TH_FIN | TH_ACK));
	c += 1;
	EXPECT_EQ(EF_CT_FIN_WAIT, f->state);
	EXPECT_EQ(t.tcp_fin_timeout * 1000, ef_ct_timeout_ms(ct, f));
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, s, c, TH_ACK));
	EXPECT_EQ(EF_CT_CLOSE_WAIT, f->state);
	EXPECT_EQ(t.tcp_fin_timeout * 1000, ef_ct_timeout_ms(ct, f));
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, s, c, TH_FIN | TH_ACK));
	s += 1;
	EXPECT_EQ(EF_CT_LAST_ACK, f->state);
	EXPECT_EQ(t.tcp_fin_timeout * 1000, ef_ct_timeout_ms(ct, f));
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, c, s, TH_ACK));
	EXPECT_EQ(EF_CT_TIME_WAIT, f->state);
	EXPECT_EQ(t.tcp_close_timeout * 1000, ef_ct_timeout_ms(ct, f));

	/* A reply-direction SYN is not a new connection; the client's is. */
	EXPECT_EQ(EF_CT_VERDICT_INVALID, s2c(f, 77, 0, TH_SYN));
	EXPECT_EQ(EF_CT_VERDICT_NEW_AFTER_CLOSE, c2s(f, 12345, 0, TH_SYN));
	EXPECT_EQ(EF_CT_TIME_WAIT, f->state);

	const struct ef_ct_stats *st = ef_ct_stats(ct);
	EXPECT_EQ(1u, st->by_state[EF_CT_TIME_WAIT]);
	EXPECT_EQ(1u, by_state_total());
	EXPECT_EQ(3u, st->invalid);
}

TEST_F(Ct, RetransmittedSynAckAfterTheClientsAckPasses)
{
	struct ef_ct_flow *f = established();
	ASSERT_NE(nullptr, f);
	/* the client's request went by; the endpoint, which never took the
	 * handshake's ACK (full accept queue), sends its SYN-ACK again */
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, cseq + 1, sseq + 1, TH_ACK, 66));
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, sseq, cseq + 1, TH_SYN | TH_ACK));
	EXPECT_EQ(EF_CT_ESTABLISHED, f->state);
	/* not the same handshake: another ISN, or an ack of unsent data */
	EXPECT_EQ(EF_CT_VERDICT_INVALID,
		  s2c(f, sseq + 7, cseq + 1, TH_SYN | TH_ACK));
	EXPECT_EQ(EF_CT_VERDICT_INVALID,
		  s2c(f, sseq, cseq + 1 + 67, TH_SYN | TH_ACK));
	/* once the endpoint has sent data, its handshake is over */
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, sseq + 1, cseq + 67, TH_ACK, 100));
	EXPECT_EQ(EF_CT_VERDICT_INVALID,
		  s2c(f, sseq, cseq + 1, TH_SYN | TH_ACK));
	EXPECT_EQ(EF_CT_ESTABLISHED, f->state);
	EXPECT_EQ(3u, ef_ct_stats(ct)->invalid);
}

TEST_F(Ct, SimultaneousCloseReachesTimeWait)
{
	struct ef_ct_flow *f = established();
	ASSERT_NE(nullptr, f);
	uint32_t c = cseq + 1, s = sseq + 1;

	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, c, s, TH_FIN | TH_ACK));
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, s, c, TH_FIN | TH_ACK));
	EXPECT_EQ(EF_CT_LAST_ACK, f->state);
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, c + 1, s + 1, TH_ACK));
	EXPECT_EQ(EF_CT_LAST_ACK, f->state);	/* server FIN acked only */
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, s + 1, c + 1, TH_ACK));
	EXPECT_EQ(EF_CT_TIME_WAIT, f->state);
}

TEST_F(Ct, RstInWindowCloses)
{
	struct ef_ct_flow *f = established();
	ASSERT_NE(nullptr, f);

	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, sseq + 1 + 100, 0, TH_RST));
	EXPECT_EQ(EF_CT_CLOSE, f->state);
	EXPECT_EQ(10000u, ef_ct_timeout_ms(ct, f));
	EXPECT_EQ(EF_CT_VERDICT_NEW_AFTER_CLOSE, c2s(f, 1, 0, TH_SYN));
}

TEST_F(Ct, RstOutOfWindowIsInvalidAndChangesNothing)
{
	struct ef_ct_flow *f = established();
	ASSERT_NE(nullptr, f);
	uint32_t last = f->last_ms;
	uint64_t inv = ef_ct_stats(ct)->invalid;

	now += 100;
	/* Blind RST: sequence far from anything the endpoint sent. */
	EXPECT_EQ(EF_CT_VERDICT_INVALID, s2c(f, sseq + 0x40000000, 0, TH_RST));
	EXPECT_EQ(EF_CT_VERDICT_INVALID, c2s(f, cseq - 0x200000, 0, TH_RST));
	EXPECT_EQ(EF_CT_ESTABLISHED, f->state);
	EXPECT_EQ(last, f->last_ms);
	EXPECT_EQ(inv + 2, ef_ct_stats(ct)->invalid);
}

TEST_F(Ct, RstDuringHandshake)
{
	struct ef_ct_flow *f = create();
	ASSERT_NE(nullptr, f);
	ASSERT_EQ(EF_CT_VERDICT_OK, c2s(f, cseq, 0, TH_SYN));
	/* Refused connection: RST|ACK acking the SYN closes; others do not. */
	EXPECT_EQ(EF_CT_VERDICT_INVALID, s2c(f, 0, cseq + 7, TH_RST | TH_ACK));
	EXPECT_EQ(EF_CT_SYN_SENT, f->state);
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, 0, cseq + 1, TH_RST | TH_ACK));
	EXPECT_EQ(EF_CT_CLOSE, f->state);
}

TEST_F(Ct, OutOfWindowSegmentsDoNotChangeState)
{
	struct ef_ct_flow *f = established();
	ASSERT_NE(nullptr, f);
	uint32_t c = cseq + 1, s = sseq + 1;

	/* A FIN beyond the window must not start the close. */
	EXPECT_EQ(EF_CT_VERDICT_INVALID,
		  c2s(f, c + 0x100000, s, TH_FIN | TH_ACK));
	EXPECT_EQ(EF_CT_ESTABLISHED, f->state);
	/* Acking data never sent. */
	EXPECT_EQ(EF_CT_VERDICT_INVALID, c2s(f, c, s + 5000, TH_ACK));
	/* Old data far behind the window. */
	EXPECT_EQ(EF_CT_VERDICT_INVALID, s2c(f, s - 200000, c, TH_ACK, 10));
	/* No ACK flag after the handshake. */
	EXPECT_EQ(EF_CT_VERDICT_INVALID, c2s(f, c, 0, 0));
	/* SYN|FIN is impossible. */
	EXPECT_EQ(EF_CT_VERDICT_INVALID, c2s(f, c, 0, TH_SYN | TH_FIN));
	/* A retransmission within the window is fine. */
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, c, s, TH_ACK, 500));
	EXPECT_EQ(EF_CT_VERDICT_OK, c2s(f, c, s, TH_ACK, 500));
	EXPECT_EQ(EF_CT_ESTABLISHED, f->state);
	EXPECT_EQ(c + 500, f->seq_end[0]);
}

TEST_F(Ct, WindowScaleWidensTheWindow)
{
	/* Both sides offer scale 7: 65535 << 7 ~ 8 MB in flight is legal. */
	struct ef_ct_flow *f = create();
	ASSERT_NE(nullptr, f);
	uint32_t c = cseq + 1, s = sseq + 1;
	ASSERT_EQ(EF_CT_VERDICT_OK, c2s(f, cseq, 0, TH_SYN, 0, 65535, 7));
	ASSERT_EQ(EF_CT_VERDICT_OK,
		  s2c(f, sseq, c, TH_SYN | TH_ACK, 0, 65535, 7));
	ASSERT_EQ(EF_CT_VERDICT_OK, c2s(f, c, s, TH_ACK, 0, 65535));
	EXPECT_EQ(0x77, f->wscale);
	/* The client's scaled window now allows 4 MB ahead of the server. */
	EXPECT_EQ(65535u << 7, f->max_win[0]);
	EXPECT_EQ(EF_CT_VERDICT_OK, s2c(f, s + 4000000, c, TH_ACK, 1000));

	/* Without the server's option, scaling is off for both. */
	struct ef_ct_flow *g = create(CP + 1);
	ASSERT_NE(nullptr, g);
	Pkt p = tcp(C, CP + 1, F, FP, cseq, 0, TH_SYN, 65535, 0, 7);
	ASSERT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, g, 0, p.buf, &p.m, now));
	p = tcp(E, EP, S, CP + 1, sseq, c, TH_SYN | TH_ACK, 65535);
	ASSERT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, g, 1, p.buf, &p.m, now));
	p = tcp(C, CP + 1, F, FP, c, s, TH_ACK, 65535);
	ASSERT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, g, 0, p.buf, &p.m, now));
	EXPECT_EQ(65535u, g->max_win[0]);
	p = tcp(E, EP, S, CP + 1, s + 4000000, c, TH_ACK, 65535, 1000);
	EXPECT_EQ(EF_CT_VERDICT_INVALID,
		  ef_ct_update(ct, g, 1, p.buf, &p.m, now));
}

TEST_F(Ct, NonSynFirstPacketIsInvalid)
{
	struct ef_ct_flow *f = create();
	ASSERT_NE(nullptr, f);
	EXPECT_EQ(EF_CT_VERDICT_INVALID, c2s(f, 100, 200, TH_ACK));
	EXPECT_EQ(EF_CT_VERDICT_INVALID, s2c(f, 100, 0, TH_SYN));
	EXPECT_EQ(EF_CT_NONE, f->state);
}

TEST_F(Ct, UdpNewThenReplied)
{
	const struct ef_cfg_conntrack t = timeouts();
	struct ef_ct_flow *f = create(CP, IPPROTO_UDP);
	ASSERT_NE(nullptr, f);
	EXPECT_EQ(t.udp_timeout * 1000, ef_ct_timeout_ms(ct, f));
	Pkt q = l4(IPPROTO_UDP, C, CP, F, FP);
	Pkt r = l4(IPPROTO_UDP, E, EP, S, CP);

	EXPECT_EQ(EF_CT_VERDICT_INVALID, ef_ct_update(ct, f, 1, r.buf, &r.m, now));
	EXPECT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, f, 0, q.buf, &q.m, now));
	EXPECT_EQ(EF_CT_UDP_NEW, f->state);
	EXPECT_EQ(t.udp_timeout * 1000, ef_ct_timeout_ms(ct, f));
	EXPECT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, f, 0, q.buf, &q.m, now));
	EXPECT_EQ(EF_CT_UDP_NEW, f->state);
	now += 7;
	EXPECT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, f, 1, r.buf, &r.m, now));
	EXPECT_EQ(EF_CT_UDP_REPLIED, f->state);
	EXPECT_EQ(now, f->last_ms);
	EXPECT_EQ(t.udp_stream_timeout * 1000, ef_ct_timeout_ms(ct, f));
	EXPECT_STREQ("udp_replied", ef_ct_state_name(f->state));
}

TEST_F(Ct, IcmpEchoFlow)
{
	const uint16_t id = 0x1234, snat_id = 0x0420;
	struct ef_ct_key4 o = key(C, id, F, id, IPPROTO_ICMP);
	struct ef_ct_key4 r = key(E, snat_id, S, snat_id, IPPROTO_ICMP);
	int err;
	struct ef_ct_flow *f = ef_ct_create_flow(ct, &o, &r, now, &err);
	ASSERT_NE(nullptr, f);
	EXPECT_EQ(htonl(S), f->snat);
	EXPECT_EQ(htons(snat_id), f->sport_snat);
	EXPECT_EQ(htons(snat_id), f->eport);
	EXPECT_EQ(33000u, ef_ct_timeout_ms(ct, f));

	Pkt q = l4(IPPROTO_ICMP, C, id, F, id);
	Pkt a = l4(IPPROTO_ICMP, E, snat_id, S, snat_id);
	EXPECT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, f, 0, q.buf, &q.m, now));
	EXPECT_EQ(EF_CT_ICMP, f->state);
	struct ef_ct_key4 k;
	ASSERT_EQ(0, ef_ct_key4_from_meta(&a.m, &k));
	uint8_t dir = 0;
	EXPECT_EQ(f, ef_ct_lookup(ct, &k, &dir));
	EXPECT_EQ(1, dir);
	EXPECT_EQ(EF_CT_VERDICT_OK, ef_ct_update(ct, f, 1, a.buf, &a.m, now));
	EXPECT_EQ(EF_CT_ICMP, f->state);
	EXPECT_EQ(33000u, ef_ct_timeout_ms(ct, f));
}

TEST_F(Ct, DeleteFreesBothKeys)
{
	struct ef_ct_flow *f = create();
	ASSERT_NE(nullptr, f);
	uint32_t idx = ef_ct_flow_index(ct, f);
	EXPECT_EQ(f, ef_ct_flow_at(ct, idx));
	ef_ct_delete(ct, f);
	struct ef_ct_key4 o = key(C, CP, F, FP, IPPROTO_TCP);
	struct ef_ct_key4 r = key(E, EP, S, CP, IPPROTO_TCP);
	uint8_t dir;
	EXPECT_EQ(nullptr, ef_ct_lookup(ct, &o, &dir));
	EXPECT_FALSE(ef_ct_key_in_use(ct, &r));
	EXPECT_EQ(nullptr, ef_ct_flow_at(ct, idx));
	EXPECT_EQ(0u, ef_ct_stats(ct)->active);
	EXPECT_EQ(1u, ef_ct_stats(ct)->deleted);
	EXPECT_EQ(0u, by_state_total());
	/* The same tuple can be created again. */
	EXPECT_NE(nullptr, create());
}

TEST_F(Ct, ExpiryIsBoundedAndWrapSafe)
{
	ef_ct_free(ct);
	make(16384);
	const uint32_t n = 10000, budget = 100;
	/* The clock wraps 5000 ms after the first flow. */
	const uint32_t base = UINT32_MAX - 5000;
	for (uint32_t i = 0; i < n; i++) {
		now = base + i;
		struct ef_ct_flow *f = create((uint16_t)(1 + i), IPPROTO_UDP);
		ASSERT_NE(nullptr, f);
		Pkt q = l4(IPPROTO_UDP, C, (uint16_t)(1 + i), F, FP);
		ASSERT_EQ(EF_CT_VERDICT_OK,
			  ef_ct_update(ct, f, 0, q.buf, &q.m, now));
	}
	const uint32_t to = 32000;	/* udp_timeout */
	struct Seen {
		uint32_t now, to, bad, n;
	} seen = { 0, to, 0, 0 };
	auto cb = [](void *arg, struct ef_ct_flow *f) {
		Seen *s = (Seen *)arg;
		if ((int32_t)(s->now - f->last_ms) < (int32_t)s->to)
			s->bad++;
		s->n++;
	};
	const uint32_t sweep = (16384 + budget - 1) / budget;

	/* Just before the first timeout: nothing goes. */
	seen.now = base + to - 1;
	for (uint32_t i = 0; i < 2 * sweep; i++)
		EXPECT_EQ(0u, ef_ct_expire(ct, seen.now, budget, cb, &seen));
	EXPECT_EQ(n, ef_ct_stats(ct)->active);

	/* Flows 0..4999 are due (their last_ms straddles the wrap). */
	seen.now = base + to + 4999;
	uint32_t del = 0;
	for (uint32_t i = 0; i < sweep; i++) {
		uint32_t d = ef_ct_expire(ct, seen.now, budget, cb, &seen);
		EXPECT_LE(d, budget);
		del += d;
	}
	EXPECT_EQ(5000u, del);
	EXPECT_EQ(0u, seen.bad);
	/* Flow i uses client port i + 1: 4999 went, 5000 stays. */
	struct ef_ct_key4 k = key(C, 5000, F, FP, IPPROTO_UDP);
	EXPECT_FALSE(ef_ct_key_in_use(ct, &k));
	k = key(C, 5001, F, FP, IPPROTO_UDP);
	EXPECT_TRUE(ef_ct_key_in_use(ct, &k));
	k = key(E, EP, S, 5000, IPPROTO_UDP);
	EXPECT_FALSE(ef_ct_key_in_use(ct, &k));
	k = key(E, EP, S, 5001, IPPROTO_UDP);
	EXPECT_TRUE(ef_ct_key_in_use(ct, &k));

	/* Later: all go, none early. */
	seen.now = base + to + n;
	for (uint32_t i = 0; i < sweep; i++)
		del += ef_ct_expire(ct, seen.now, budget, cb, &seen);
	EXPECT_EQ(n, del);
	EXPECT_EQ(n, seen.n);
	EXPECT_EQ(0u, seen.bad);
	EXPECT_EQ(0u, ef_ct_stats(ct)->active);
	EXPECT_EQ((uint64_t)n, ef_ct_stats(ct)->expired);
	EXPECT_EQ(0u, by_state_total());
}

TEST_F(Ct, WalkVisitsAndDeletes)
{
	for (uint16_t i = 0; i < 100; i++)
		ASSERT_NE(nullptr, create((uint16_t)(2000 + i), IPPROTO_UDP));
	uint32_t cursor = 0, visited = 0, calls = 0;
	auto odd = [](void *arg, struct ef_ct_flow *f) -> int {
		(void)arg;
		return ntohs(f->cport) % 2;
	};
	do {
		visited += ef_ct_walk(ct, &cursor, 64, odd, nullptr);
		calls++;
	} while (cursor != 0);
	EXPECT_EQ(100u, visited);
	EXPECT_EQ(1024u / 64, calls);
	EXPECT_EQ(50u, ef_ct_stats(ct)->active);
	struct ef_ct_key4 k = key(C, 2001, F, FP, IPPROTO_UDP);
	EXPECT_FALSE(ef_ct_key_in_use(ct, &k));
	k = key(C, 2002, F, FP, IPPROTO_UDP);
	EXPECT_TRUE(ef_ct_key_in_use(ct, &k));
}

TEST_F(Ct, FullOfEstablishedFlowsRefuses)
{
	ef_ct_free(ct);
	make(64);
	for (uint16_t i = 0; i < 64; i++)
		ASSERT_NE(nullptr, established((uint16_t)(3000 + i)));
	now += 100000;
	int err = 0;
	EXPECT_EQ(nullptr, create(9, IPPROTO_TCP, true, &err));
	EXPECT_EQ(-ENOSPC, err);
	EXPECT_EQ(1u, ef_ct_stats(ct)->full);
	EXPECT_EQ(0u, ef_ct_stats(ct)->early_drops);
	EXPECT_TRUE(evicted.empty());
	EXPECT_EQ(64u, ef_ct_stats(ct)->by_state[EF_CT_ESTABLISHED]);
}

TEST_F(Ct, EarlyDropEvictsOldestUnreplied)
{
	ef_ct_free(ct);
	make(8);
	/* Slot filler: 2 replied UDP flows (never evicted), 6 SYN_SENT. */
	now = 100;
	for (uint16_t i = 0; i < 2; i++) {
		struct ef_ct_flow *f = create((uint16_t)(10 + i), IPPROTO_UDP);
		ASSERT_NE(nullptr, f);
		Pkt q = l4(IPPROTO_UDP, C, (uint16_t)(10 + i), F, FP);
		Pkt r = l4(IPPROTO_UDP, E, EP, S, (uint16_t)(10 + i));
		ef_ct_update(ct, f, 0, q.buf, &q.m, now);
		ef_ct_update(ct, f, 1, r.buf, &r.m, now);
		ASSERT_EQ(EF_CT_UDP_REPLIED, f->state);
	}
	for (uint16_t i = 0; i < 6; i++) {
		now = 200 + i * 10;
		struct ef_ct_flow *f = create((uint16_t)(20 + i));
		ASSERT_NE(nullptr, f);
		ASSERT_EQ(EF_CT_VERDICT_OK, c2s(f, 1, 0, TH_SYN));
	}
	/* Nothing is a second old yet. */
	now = 1100;
	int err = 0;
	EXPECT_EQ(nullptr, create(99, IPPROTO_TCP, true, &err));
	EXPECT_EQ(-ENOSPC, err);
	EXPECT_EQ(0u, ef_ct_stats(ct)->early_drops);

	/* Port 20 (created at 200) is now 1001 ms old: it goes, not 21. */
	now = 1201;
	struct ef_ct_flow *n = create(99, IPPROTO_TCP, true, &err);
	ASSERT_NE(nullptr, n);
	EXPECT_EQ(0, err);
	ASSERT_EQ(1u, evicted.size());
	EXPECT_EQ(1u, ef_ct_stats(ct)->early_drops);
	struct ef_ct_key4 k = key(C, 20, F, FP, IPPROTO_TCP);
	EXPECT_FALSE(ef_ct_key_in_use(ct, &k));
	k = key(C, 21, F, FP, IPPROTO_TCP);
	EXPECT_TRUE(ef_ct_key_in_use(ct, &k));
	/* The victim's slot was reused, so the callback saw that slot. */
	EXPECT_EQ(n, evicted[0]);

	/* Port 21 (created at 210) is 991 ms old: refused. */
	EXPECT_EQ(nullptr, create(98, IPPROTO_TCP, true, &err));
	EXPECT_EQ(-ENOSPC, err);
	/* Later, 21..25 and then the new 99 go in creation order. */
	now = 5000;
	for (uint16_t i = 0; i < 6; i++)
		ASSERT_NE(nullptr, create((uint16_t)(200 + i), IPPROTO_TCP));
	k = key(C, 25, F, FP, IPPROTO_TCP);
	EXPECT_FALSE(ef_ct_key_in_use(ct, &k));
	k = key(C, 99, F, FP, IPPROTO_TCP);
	EXPECT_FALSE(ef_ct_key_in_use(ct, &k));
	EXPECT_EQ(7u, ef_ct_stats(ct)->early_drops);
	/* The replied UDP flows survived. */
	EXPECT_EQ(2u, ef_ct_stats(ct)->by_state[EF_CT_UDP_REPLIED]);
	EXPECT_EQ(8u, ef_ct_stats(ct)->active);
}

TEST_F(Ct, EarlyDropSkipsFlowsThatGotAReply)
{
	ef_ct_free(ct);
	make(4);
	now = 0;
	std::vector<struct ef_ct_flow *> fl;
	for (uint16_t i = 0; i < 4; i++) {
		fl.push_back(create((uint16_t)(40 + i), IPPROTO_UDP));
		ASSERT_NE(nullptr, fl.back());
		Pkt q = l4(IPPROTO_UDP, C, (uint16_t)(40 + i), F, FP);
		ef_ct_update(ct, fl.back(), 0, q.buf, &q.m, now);
	}
	/* The two oldest get replies: the third oldest is the victim. */
	for (int i = 0; i < 2; i++) {
		Pkt r = l4(IPPROTO_UDP, E, EP, S, (uint16_t)(40 + i));
		ef_ct_update(ct, fl[i], 1, r.buf, &r.m, now);
	}
	now = 2000;
	ASSERT_NE(nullptr, create(50, IPPROTO_UDP));
	struct ef_ct_key4 k = key(C, 42, F, FP, IPPROTO_UDP);
	EXPECT_FALSE(ef_ct_key_in_use(ct, &k));
	for (uint16_t p : { 40, 41, 43 }) {
		k = key(C, p, F, FP, IPPROTO_UDP);
		EXPECT_TRUE(ef_ct_key_in_use(ct, &k)) << p;
	}
}

TEST_F(Ct, EarlyDropNeverEvictsAReusedYoungSlot)
{
	ef_ct_free(ct);
	make(4);
	now = 0;
	std::vector<struct ef_ct_flow *> fl;
	for (uint16_t i = 0; i < 4; i++) {
		fl.push_back(create((uint16_t)(60 + i)));
		ASSERT_NE(nullptr, fl.back());
		ASSERT_EQ(EF_CT_VERDICT_OK, c2s(fl.back(), 1, 0, TH_SYN));
	}
	/* Slot of port 60 is reused at t=100 while its FIFO entry remains. */
	now = 100;
	ef_ct_delete(ct, fl[0]);
	struct ef_ct_flow *a = create(70);
	ASSERT_EQ(fl[0], a);
	ASSERT_EQ(EF_CT_VERDICT_OK, c2s(a, 1, 0, TH_SYN));
	/* At 1050 the head is port 70 (950 ms old): port 61 goes instead. */
	now = 1050;
	ASSERT_NE(nullptr, create(80));
	struct ef_ct_key4 k = key(C, 70, F, FP, IPPROTO_TCP);
	EXPECT_TRUE(ef_ct_key_in_use(ct, &k));
	k = key(C, 61, F, FP, IPPROTO_TCP);
	EXPECT_FALSE(ef_ct_key_in_use(ct, &k));
	/* Then 62, 63, and only then 70 (requeued behind them). */
	now = 1200;
	ASSERT_NE(nullptr, create(81));
	ASSERT_NE(nullptr, create(82));
	ASSERT_NE(nullptr, create(83));
	k = key(C, 70, F, FP, IPPROTO_TCP);
	EXPECT_FALSE(ef_ct_key_in_use(ct, &k));
	EXPECT_EQ(4u, ef_ct_stats(ct)->early_drops);
	/* 80..83 are young: the next create is refused. */
	int err = 0;
	EXPECT_EQ(nullptr, create(84, IPPROTO_TCP, true, &err));
	EXPECT_EQ(-ENOSPC, err);
}

TEST(CtCreate, RejectsBadParams)
{
	struct ef_ct_params p = {};

	p.name = "bad";
	p.max_flows = 2;
	p.timeouts = timeouts();
	p.socket_id = SOCKET_ID_ANY;
	EXPECT_EQ(nullptr, ef_ct_create(&p));
	EXPECT_EQ(EINVAL, rte_errno);
	p.max_flows = 64;
	p.timeouts.udp_timeout = 0;
	EXPECT_EQ(nullptr, ef_ct_create(&p));
	EXPECT_EQ(EINVAL, rte_errno);
	p.timeouts = timeouts();
	p.name = "a-name-that-is-far-too-long";
	EXPECT_EQ(nullptr, ef_ct_create(&p));
	EXPECT_EQ(ENAMETOOLONG, rte_errno);
	p.name = "dup";
	struct ef_ct *a = ef_ct_create(&p);
	ASSERT_NE(nullptr, a);
	EXPECT_EQ(nullptr, ef_ct_create(&p));
	EXPECT_EQ(EEXIST, rte_errno);
	ef_ct_free(a);
	EXPECT_STREQ("established", ef_ct_state_name(EF_CT_ESTABLISHED));
	EXPECT_STREQ("?", ef_ct_state_name(EF_CT_STATE_MAX));
}

size_t
heap_now()
{
	struct rte_malloc_socket_stats st;
	size_t sum = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

/*
 * Bytes per flow, measured from the heap: the index (64-byte buckets of 8
 * slots, sized for <= 85 % load with 2 keys per flow) plus the 64-byte
 * flow, the free stack and the FIFO. The target is 128 B per IPv4 flow.
 */
TEST(CtMemory, BytesPerFlow)
{
	for (uint32_t max : { 1u << 20, 1u << 18, 200000u, 891289u }) {
		struct ef_ct_params p = {};
		std::string name = "mem" + std::to_string(max);

		p.name = name.c_str();
		p.max_flows = max;
		p.timeouts = timeouts();
		p.socket_id = SOCKET_ID_ANY;
		size_t before = heap_now();
		struct ef_ct *ct = ef_ct_create(&p);
		ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
		size_t measured = heap_now() - before;
		size_t mem = ef_ct_memory(ct);
		double per_flow = (double)measured / max;
		double idx_per_flow = (double)ef_ct_hash_memory(ct) / max;

		printf("ct memory: max_flows %u: %zu bytes measured, %.1f B/flow "
		       "(index %.1f B/flow, flow entry %zu B)\n", max,
		       measured, per_flow, idx_per_flow,
		       sizeof(struct ef_ct_flow));
		::testing::Test::RecordProperty(
			"bytes_per_flow_" + std::to_string(max),
			std::to_string(per_flow));
		/* The library's own account agrees with the heap. */
		EXPECT_GE(measured, mem);
		EXPECT_LE(measured - mem, 64u * 1024);
		EXPECT_LE(per_flow, 128.0) << max;
		/* Flow 64 + free stack 4 + FIFO 4 + index: no key copies. */
		EXPECT_LE(idx_per_flow, 40.0) << max;
		ef_ct_free(ct);
		EXPECT_EQ(before, heap_now());
	}
}

/* --- index --- */

/* A bijection of 32-bit values (murmur3's finaliser), for distinct keys. */
uint32_t
mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x;
}

/*
 * Key pairs of flow id: random-looking (addresses through mix32) or
 * structured (one client address per 65536 sequential ports, SNAT ports
 * sequential per SNAT address, 8 endpoints): the shapes a CRC, being
 * linear, spreads least well. Orig and reply keys never collide (their
 * destinations F and S differ).
 */
void
flow_keys(uint32_t id, bool structured, struct ef_ct_key4 *o,
	  struct ef_ct_key4 *r)
{
	if (structured) {
		*o = key(C + (id >> 16), (uint16_t)id, F, FP, IPPROTO_TCP);
		*r = key(E + (id & 7), EP, S + (id >> 16), (uint16_t)id,
			 IPPROTO_TCP);
	} else {
		*o = key(mix32(id), (uint16_t)(id * 7), F, FP, IPPROTO_UDP);
		*r = key(mix32(id ^ 0x5bd1e995u), EP, S, (uint16_t)(id * 13),
			 IPPROTO_UDP);
	}
}

struct ef_ct *
make_table(const char *name, uint32_t max)
{
	struct ef_ct_params p = {};

	p.name = name;
	p.max_flows = max;
	p.timeouts = timeouts();
	p.socket_id = SOCKET_ID_ANY;
	return ef_ct_create(&p);
}

/*
 * 891289 flows: the largest max_flows with 2^18 buckets, so the full table
 * is at the index's highest load (2 x 891289 keys in 2^21 slots = 85 %).
 * Every create must succeed and every key must be found, in its direction.
 */
class CtFill : public ::testing::TestWithParam<bool> {};

TEST_P(CtFill, EveryInsertSucceedsUpToMaxFlows)
{
	const bool structured = GetParam();
	const uint32_t max = 891289;
	struct ef_ct *ct = make_table(structured ? "fill_s" : "fill_r", max);
	ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
	struct ef_ct_key4 o, r;
	uint32_t failed = 0, wrong = 0;
	int err;

	for (uint32_t id = 0; id < max; id++) {
		flow_keys(id, structured, &o, &r);
		struct ef_ct_flow *f = ef_ct_create_flow(ct, &o, &r, 1, &err);
		if (f == nullptr)
			failed++;
		else if (ef_ct_flow_index(ct, f) != id)
			wrong++;	/* the free stack hands out 0, 1, 2... */
	}
	EXPECT_EQ(0u, failed);
	EXPECT_EQ(0u, wrong);
	EXPECT_EQ(max, ef_ct_stats(ct)->active);
	EXPECT_EQ(0u, ef_ct_stats(ct)->full);

	uint32_t missing = 0, found_absent = 0;
	for (uint32_t id = 0; id < max; id++) {
		flow_keys(id, structured, &o, &r);
		uint8_t d0 = 9, d1 = 9;
		struct ef_ct_flow *f0 = ef_ct_lookup(ct, &o, &d0);
		struct ef_ct_flow *f1 = ef_ct_lookup(ct, &r, &d1);
		if (f0 == nullptr || f1 != f0 || d0 != 0 || d1 != 1 ||
		    ef_ct_flow_index(ct, f0) != id)
			missing++;
	}
	/* Ids beyond max were never inserted. */
	for (uint32_t id = max; id < max + 100000; id++) {
		flow_keys(id, structured, &o, &r);
		if (ef_ct_key_in_use(ct, &o) || ef_ct_key_in_use(ct, &r))
			found_absent++;
	}
	EXPECT_EQ(0u, missing);
	EXPECT_EQ(0u, found_absent);

	/* Full: the next create is refused, and costs nothing in the index. */
	flow_keys(max, structured, &o, &r);
	EXPECT_EQ(nullptr, ef_ct_create_flow(ct, &o, &r, 2, &err));
	EXPECT_EQ(-ENOSPC, err);
	EXPECT_FALSE(ef_ct_key_in_use(ct, &o));
	EXPECT_FALSE(ef_ct_key_in_use(ct, &r));

	/* Delete every other flow; the rest are still found, the others not. */
	for (uint32_t id = 0; id < max; id += 2)
		ef_ct_delete(ct, ef_ct_flow_at(ct, id));
	missing = found_absent = 0;
	for (uint32_t id = 0; id < max; id++) {
		flow_keys(id, structured, &o, &r);
		bool in = ef_ct_key_in_use(ct, &o) && ef_ct_key_in_use(ct, &r);
		bool out = !ef_ct_key_in_use(ct, &o) &&
			!ef_ct_key_in_use(ct, &r);
		if (id % 2 == 0 && !out)
			found_absent++;
		if (id % 2 == 1 && !in)
			missing++;
	}
	EXPECT_EQ(0u, missing);
	EXPECT_EQ(0u, found_absent);
	EXPECT_EQ(max / 2, ef_ct_stats(ct)->active);
	ef_ct_free(ct);
}

INSTANTIATE_TEST_SUITE_P(Keys, CtFill, ::testing::Values(false, true),
	[](const ::testing::TestParamInfo<bool> &i) {
		return std::string(i.param ? "Structured" : "Random");
	});

/*
 * 1M random creates and deletes on a table kept near full at the index's
 * highest load (55705 flows = 3.4 x 2^14 buckets), checked after every
 * operation against a std::unordered_map and swept whole every 2^16
 * operations. Ids come from a space about twice the table, so creates of
 * live keys (-EEXIST) happen too.
 */
TEST(CtIndex, ChurnMatchesReference)
{
	const uint32_t max = 55705, ids = 1u << 17, ops = 1000000;
	struct ef_ct *ct = make_table("churn", max);
	ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
	std::unordered_map<uint32_t, struct ef_ct_flow *> ref;
	std::vector<uint32_t> live;
	std::mt19937 rng(12345);
	struct ef_ct_key4 o, r;
	uint32_t bad = 0, eexist = 0, sweeps = 0;
	int err;

	auto check = [&](uint32_t id) {
		flow_keys(id, false, &o, &r);
		uint8_t d0 = 9, d1 = 9;
		struct ef_ct_flow *f0 = ef_ct_lookup(ct, &o, &d0);
		struct ef_ct_flow *f1 = ef_ct_lookup(ct, &r, &d1);
		auto it = ref.find(id);
		if (it == ref.end())
			return f0 == nullptr && f1 == nullptr;
		return f0 == it->second && f1 == it->second && d0 == 0 &&
			d1 == 1;
	};
	for (uint32_t op = 0; op < ops; op++) {
		/* Fill first, then a random walk held below max. */
		bool create = live.size() < max && (op < max || (rng() & 1));
		if (create) {
			/* Random ids until a free one: live ones must clash. */
			uint32_t id;
			struct ef_ct_flow *f;
			for (;;) {
				id = rng() % ids;
				flow_keys(id, false, &o, &r);
				f = ef_ct_create_flow(ct, &o, &r, 1, &err);
				if (ref.count(id) == 0)
					break;
				eexist++;
				if (f != nullptr || err != -EEXIST)
					bad++;
			}
			if (f == nullptr) {
				bad++;
			} else {
				ref[id] = f;
				live.push_back(id);
			}
			if (!check(id))
				bad++;
		} else {
			size_t i = rng() % live.size();
			uint32_t id = live[i];
			ef_ct_delete(ct, ref[id]);
			ref.erase(id);
			live[i] = live.back();
			live.pop_back();
			if (!check(id))
				bad++;
		}
		if ((op & 0xffff) == 0xffff) {
			for (uint32_t id = 0; id < ids; id++)
				if (!check(id))
					bad++;
			sweeps++;
		}
		if (bad != 0)
			break;
	}
	EXPECT_EQ(0u, bad);
	EXPECT_EQ(15u, sweeps);
	EXPECT_GT(eexist, 1000u);
	EXPECT_EQ(live.size(), ef_ct_stats(ct)->active);
	EXPECT_EQ(0u, ef_ct_stats(ct)->full);
	/* It ran near full: the index was loaded close to its limit. */
	EXPECT_GT(live.size(), max - 5000);
	ef_ct_free(ct);
}

/* Bulk lookups of every size and mix of hits/misses equal single ones. */
TEST(CtIndex, BulkMixedEqualsSingle)
{
	const uint32_t max = 50000;
	struct ef_ct *ct = make_table("bulk", max);
	ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
	struct ef_ct_key4 o, r;
	int err;

	/* Even ids present. */
	for (uint32_t id = 0; id < 2 * max; id += 2) {
		flow_keys(id, false, &o, &r);
		ASSERT_NE(nullptr, ef_ct_create_flow(ct, &o, &r, 1, &err));
	}
	std::mt19937 rng(7);
	uint32_t hits = 0, misses = 0, mismatch = 0;
	for (uint32_t round = 0; round < 2000; round++) {
		uint32_t n = round % (EF_CT_BULK_MAX + 1);
		struct ef_ct_key4 keys[EF_CT_BULK_MAX];
		const struct ef_ct_key4 *kp[EF_CT_BULK_MAX];
		struct ef_ct_flow *flows[EF_CT_BULK_MAX];
		uint8_t dirs[EF_CT_BULK_MAX];

		for (uint32_t i = 0; i < n; i++) {
			uint32_t id = rng() % (2 * max);
			flow_keys(id, false, &o, &r);
			keys[i] = (rng() & 1) ? o : r;
			kp[i] = &keys[i];
			flows[i] = (struct ef_ct_flow *)&keys[i];
			dirs[i] = 7;
		}
		ef_ct_lookup_bulk(ct, kp, n, flows, dirs);
		for (uint32_t i = 0; i < n; i++) {
			uint8_t d = 9;
			struct ef_ct_flow *f = ef_ct_lookup(ct, kp[i], &d);
			if (f != flows[i] || (f != nullptr && d != dirs[i]))
				mismatch++;
			if (f != nullptr)
				hits++;
			else
				misses++;
		}
	}
	EXPECT_EQ(0u, mismatch);
	EXPECT_GT(hits, 20000u);
	EXPECT_GT(misses, 20000u);
	ef_ct_free(ct);
}

/*
 * White-box: the bucket pair and signature of a key, as ct.c's key_hash()
 * and alt_xor() compute them (keep in step with them), for a table of
 * nb buckets. Returns a class id: keys of one class share both buckets
 * and the signature, so no displacement can separate them.
 */
uint32_t
index_class(const struct ef_ct_key4 *k, uint32_t nb)
{
	uint64_t w0 = (uint64_t)k->src | (uint64_t)k->dst << 32;
	uint64_t w1 = (uint64_t)k->sport | (uint64_t)k->dport << 16 |
		(uint64_t)k->proto << 32;
	uint32_t h1 = rte_hash_crc_8byte(w1, rte_hash_crc_8byte(w0, 0x6a09e667u));
	uint32_t h2 = rte_hash_crc_8byte(w0, rte_hash_crc_8byte(w1, 0xbb67ae85u));
	uint16_t sig = (uint16_t)(h2 >> 16);

	sig += sig == 0;
	uint32_t b1 = h1 & (nb - 1);
	uint32_t b2 = b1 ^ ((((uint32_t)(((uint64_t)sig *
		0x9e3779b97f4a7c15ull) >> 32)) & (nb - 1)) | 1u);
	return std::min(b1, b2) << 16 | sig;
}

/*
 * 20 keys of one class: their two buckets hold 16 slots, so at least 4
 * overflow to the stash. Every key is found while stashed; deleting bucket
 * residents pulls stashed keys back, deleting stashed keys removes them;
 * lookups stay right after every step.
 */
TEST(CtIndex, StashHoldsKeysNoDisplacementCanPlace)
{
	const uint32_t max = 64, nb = 32, want = 20;	/* 64 flows: 32 buckets */
	struct ef_ct *ct = make_table("stash", max);
	ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
	ASSERT_EQ((size_t)nb * 64 + 64 * 12, ef_ct_hash_memory(ct));
	struct ef_ct_key4 o, r;
	std::vector<uint8_t> count((size_t)nb << 16);
	uint32_t best = 0, id;
	const uint32_t tries = 6u << 20;

	for (id = 0; id < tries; id++) {
		flow_keys(id, false, &o, &r);
		uint32_t c = index_class(&o, nb);
		if (count[c] < 255 && ++count[c] > count[best])
			best = c;
	}
	ASSERT_GE(count[best], want);
	std::vector<uint32_t> ids;
	for (id = 0; ids.size() < want; id++) {
		flow_keys(id, false, &o, &r);
		if (index_class(&o, nb) == best)
			ids.push_back(id);
	}

	std::vector<struct ef_ct_flow *> fl(want, nullptr);
	int err;
	auto verify = [&]() {
		uint32_t bad = 0;
		for (uint32_t i = 0; i < want; i++) {
			flow_keys(ids[i], false, &o, &r);
			uint8_t d0 = 9, d1 = 9;
			struct ef_ct_flow *f0 = ef_ct_lookup(ct, &o, &d0);
			struct ef_ct_flow *f1 = ef_ct_lookup(ct, &r, &d1);
			const struct ef_ct_key4 *kp[2] = { &o, &r };
			struct ef_ct_flow *bf[2];
			uint8_t bd[2];
			ef_ct_lookup_bulk(ct, kp, 2, bf, bd);
			if (f0 != fl[i] || f1 != fl[i] || bf[0] != fl[i] ||
			    bf[1] != fl[i])
				bad++;
			if (fl[i] != nullptr &&
			    (d0 != 0 || d1 != 1 || bd[0] != 0 || bd[1] != 1))
				bad++;
		}
		return bad;
	};
	for (int round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < want; i++) {
			flow_keys(ids[i], false, &o, &r);
			fl[i] = ef_ct_create_flow(ct, &o, &r, 1, &err);
			ASSERT_NE(nullptr, fl[i]) << i << " err " << err;
			ASSERT_EQ(0u, verify()) << "after create " << i;
		}
		/* Same keys again: found, even in the stash, so -EEXIST. */
		flow_keys(ids[want - 1], false, &o, &r);
		EXPECT_EQ(nullptr, ef_ct_create_flow(ct, &o, &r, 1, &err));
		EXPECT_EQ(-EEXIST, err);
		/* Round 0 deletes the oldest (bucket residents) first. */
		std::vector<uint32_t> order(want);
		for (uint32_t i = 0; i < want; i++)
			order[i] = round == 0 ? i : want - 1 - i;
		for (uint32_t i : order) {
			ef_ct_delete(ct, fl[i]);
			fl[i] = nullptr;
			ASSERT_EQ(0u, verify()) << "after delete " << i;
		}
		EXPECT_EQ(0u, ef_ct_stats(ct)->active);
	}
	ef_ct_free(ct);
}

/* The index ignores the pad bytes: a caller's garbage there still hits. */
TEST(CtIndex, PadBytesAreIgnored)
{
	struct ef_ct *ct = make_table("pad", 16);
	ASSERT_NE(nullptr, ct) << rte_strerror(rte_errno);
	struct ef_ct_key4 o, r;
	int err;

	flow_keys(3, false, &o, &r);
	memset(o.pad, 0xee, sizeof(o.pad));
	struct ef_ct_flow *f = ef_ct_create_flow(ct, &o, &r, 1, &err);
	ASSERT_NE(nullptr, f);
	uint8_t d = 9;
	EXPECT_EQ(f, ef_ct_lookup(ct, &o, &d));
	memset(o.pad, 0, sizeof(o.pad));
	EXPECT_EQ(f, ef_ct_lookup(ct, &o, &d));
	EXPECT_EQ(0, d);
	memset(r.pad, 0x11, sizeof(r.pad));
	EXPECT_EQ(f, ef_ct_lookup(ct, &r, &d));
	EXPECT_EQ(1, d);
	/* Pad aside, the same key: -EEXIST. */
	EXPECT_EQ(nullptr, ef_ct_create_flow(ct, &o, &r, 1, &err));
	EXPECT_EQ(-EEXIST, err);
	ef_ct_free(ct);
}

} /* namespace */
