/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/pkt fixtures: input frame -> expected metadata / error / output bytes.
 * Expected frames come from scapy (pkt_fixtures.h, gen_fixtures.py), and
 * checksums are also checked with the reference RFC 1071 code below, which
 * shares nothing with lib/pkt. Every parse runs on an exactly-sized heap
 * copy so that the sanitizer build catches any read past the frame.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ef_pkt.h"
#include "pkt_fixtures.h"

namespace {

using Bytes = std::vector<uint8_t>;

template <size_t N> Bytes
vec(const uint8_t (&a)[N])
{
	return Bytes(a, a + N);
}

/* Exactly-sized malloc copy: one byte of over-read trips ASan. */
class Heap {
public:
	explicit Heap(const Bytes &b) : n_(b.size())
	{
		p_ = static_cast<uint8_t *>(malloc(n_ ? n_ : 1));
		if (n_)
			memcpy(p_, b.data(), n_);
	}
	Heap(const uint8_t *b, size_t n) : n_(n)
	{
		p_ = static_cast<uint8_t *>(malloc(n_ ? n_ : 1));
		if (n_)
			memcpy(p_, b, n_);
	}
	~Heap() { free(p_); }
	Heap(const Heap &) = delete;
	Heap &operator=(const Heap &) = delete;
	uint8_t *data() { return p_; }
	uint32_t size() const { return (uint32_t)n_; }
	Bytes bytes() const { return Bytes(p_, p_ + n_); }

private:
	uint8_t *p_;
	size_t n_;
};

int
parse(const Bytes &b, struct ef_pkt_meta *m)
{
	Heap h(b);

	return ef_pkt_parse(h.data(), h.size(), m);
}

uint32_t
ip4(const char *s)
{
	uint32_t a;

	EXPECT_EQ(1, inet_pton(AF_INET, s, &a)) << s;
	return a;
}

bool
ip6_eq(const struct ef_addr &a, const char *s)
{
	uint8_t b[16];

	EXPECT_EQ(1, inet_pton(AF_INET6, s, b)) << s;
	return a.family == EF_AF_INET6 && memcmp(a.v6, b, 16) == 0;
}

void
put16(Bytes &b, size_t off, uint16_t host)
{
	b[off] = (uint8_t)(host >> 8);
	b[off + 1] = (uint8_t)host;
}

uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* --- reference checksums (RFC 1071, big-endian words, byte by byte) --- */

uint32_t
ref_add(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
	return s;
}

uint16_t
ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

bool
ref_ip4_ok(const uint8_t *ip)
{
	return ref_fold(ref_add(ip, (ip[0] & 0xf) * 4u, 0)) == 0xffff;
}

/* Pseudo-header sum of the IPv4 header at ip for proto over len bytes. */
uint32_t
ref_phdr4(const uint8_t *ip, uint8_t proto, uint32_t len)
{
	return ref_add(ip + 12, 8, 0) + proto + len;
}

uint32_t
ref_phdr6(const uint8_t *ip6, uint8_t proto, uint32_t len)
{
	return ref_add(ip6 + 8, 32, 0) + proto + (len >> 16) + (len & 0xffff);
}

/* TCP/UDP/ICMP checksum check of an IPv4 packet at ip (no options). */
bool
ref_l4_ok4(const uint8_t *ip)
{
	uint32_t ihl = (ip[0] & 0xf) * 4u;
	uint32_t len = get16(ip + 2) - ihl;
	const uint8_t *l4 = ip + ihl;
	uint8_t proto = ip[9];

	if (proto == 17) {
		if (get16(l4 + 6) == 0)
			return true;
		len = get16(l4 + 4);
	}
	uint32_t s = proto == 1 ? 0 : ref_phdr4(ip, proto, len);
	return ref_fold(ref_add(l4, len, s)) == 0xffff;
}

/* Recompute IPv4 header + L4 checksum from scratch. */
void
ref_fix4(uint8_t *ip)
{
	uint32_t ihl = (ip[0] & 0xf) * 4u;
	uint32_t len = get16(ip + 2) - ihl;
	uint8_t *l4 = ip + ihl;
	uint8_t proto = ip[9];
	uint32_t coff;
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = (uint16_t)~ref_fold(ref_add(ip, ihl, 0));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	if (proto == 6)
		coff = 16;
	else if (proto == 17)
		coff = 6;
	else if (proto == 1)
		coff = 2;
	else
		return;
	if (proto == 17 && get16(l4 + 6) == 0)
		return;
	l4[coff] = l4[coff + 1] = 0;
	c = (uint16_t)~ref_fold(ref_add(l4, len,
				       proto == 1 ? 0 : ref_phdr4(ip, proto, len)));
	if (proto == 17 && c == 0)
		c = 0xffff;
	l4[coff] = (uint8_t)(c >> 8);
	l4[coff + 1] = (uint8_t)c;
}

void
expect_bytes(const Bytes &want, const uint8_t *got, size_t n)
{
	ASSERT_EQ(want.size(), n);
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(want[i], got[i]) << "first difference at byte " << i;
}

/* Parse a fixture; assert OK. */
#define PARSE_OK(frame, m) ASSERT_EQ(EF_PKT_OK, parse((frame), &(m)))

/* ===================== parse: good frames ===================== */

TEST(Parse, TcpSyn)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(tcp_syn), m);
	EXPECT_EQ(EF_PKT_L3_IPV4, m.l3);
	EXPECT_EQ(EF_PKT_F_L4, m.flags);
	EXPECT_EQ(14, m.l3_off);
	EXPECT_EQ(34, m.l4_off);
	EXPECT_EQ(44, m.l3_len);
	EXPECT_EQ(24, m.l4_len);
	EXPECT_EQ(4, m.ip_version);
	EXPECT_EQ(6, m.proto);
	EXPECT_EQ(64, m.ttl);
	EXPECT_EQ(0x02, m.tcp_flags);
	EXPECT_EQ(htons(40000), m.sport);
	EXPECT_EQ(htons(80), m.dport);
	EXPECT_EQ(EF_AF_INET4, m.src.family);
	EXPECT_EQ(ip4("10.0.0.1"), m.src.v4);
	EXPECT_EQ(ip4("10.96.0.10"), m.dst.v4);
	EXPECT_TRUE(ef_pkt_has_ports(&m));
	Bytes b = vec(tcp_syn);
	EXPECT_EQ(b.data() + 34, ef_pkt_l4_hdr(b.data(), &m));
}

TEST(Parse, Udp)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(udp), m);
	EXPECT_EQ(17, m.proto);
	EXPECT_EQ(EF_PKT_F_L4, m.flags);
	EXPECT_EQ(htons(40001), m.sport);
	EXPECT_EQ(htons(53), m.dport);
	EXPECT_EQ(8 + 13, m.l4_len);
}

TEST(Parse, IcmpEchoIdIsBothPorts)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(echo_req), m);
	EXPECT_EQ(1, m.proto);
	EXPECT_EQ(8, m.icmp_type);
	EXPECT_EQ(0, m.icmp_code);
	EXPECT_EQ(htons(0x1234), m.sport);
	EXPECT_EQ(htons(0x1234), m.dport);
	EXPECT_EQ(EF_PKT_F_L4, m.flags);
	PARSE_OK(vec(echo_rep), m);
	EXPECT_EQ(0, m.icmp_type);
	EXPECT_EQ(htons(1027), m.sport);
}

TEST(Parse, Vlan8021Q)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(vlan_tcp), m);
	EXPECT_EQ(EF_PKT_F_VLAN | EF_PKT_F_L4, m.flags);
	EXPECT_EQ((3 << 13) | 100, m.vlan_tci);
	EXPECT_EQ(18, m.l3_off);
	EXPECT_EQ(38, m.l4_off);
	EXPECT_EQ(htons(80), m.dport);
}

TEST(Parse, Vlan8021ad)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(qinq_udp), m);
	EXPECT_TRUE(m.flags & EF_PKT_F_VLAN);
	EXPECT_EQ(200, m.vlan_tci);
	EXPECT_EQ(htons(53), m.dport);
}

TEST(Parse, SecondVlanTagRejected)
{
	struct ef_pkt_meta m;

	EXPECT_EQ(EF_PKT_ERR_VLAN_NESTED, parse(vec(vlan_nested), &m));
}

TEST(Parse, Ip4Options)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(ip_opts_tcp), m);
	EXPECT_EQ(EF_PKT_F_IP_OPTIONS | EF_PKT_F_L4, m.flags);
	EXPECT_EQ(14 + 28, m.l4_off);
	EXPECT_EQ(20 + 2, m.l4_len);
	EXPECT_TRUE(ef_pkt_ip4_csum_ok(ip_opts_tcp, &m));
	EXPECT_TRUE(ef_pkt_l4_csum_ok(ip_opts_tcp, &m));
}

TEST(Parse, FragmentFirstHasL4)
{
	struct ef_pkt_meta m;

	/* UDP length 108 describes the datagram, not this 48-byte fragment */
	PARSE_OK(vec(frag_first), m);
	EXPECT_EQ(EF_PKT_F_FRAG | EF_PKT_F_FRAG_FIRST | EF_PKT_F_L4, m.flags);
	EXPECT_EQ(34, m.l4_off);
	EXPECT_EQ(48, m.l4_len);
	EXPECT_EQ(htons(5000), m.sport);
	EXPECT_EQ(htons(6000), m.dport);
	EXPECT_FALSE(ef_pkt_l4_csum_ok(frag_first, &m));
}

TEST(Parse, FragmentMiddleAndLastHaveNoL4)
{
	struct ef_pkt_meta m;

	for (const Bytes &f : { vec(frag_middle), vec(frag_last) }) {
		PARSE_OK(f, m);
		EXPECT_EQ(EF_PKT_F_FRAG, m.flags);
		EXPECT_EQ(0, m.l4_off);
		EXPECT_EQ(17, m.proto);
		EXPECT_EQ(0, m.sport);
		EXPECT_FALSE(ef_pkt_has_ports(&m));
		EXPECT_TRUE(ef_pkt_ip4_csum_ok(f.data(), &m));
	}
}

TEST(Parse, Ip6Tcp)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(ip6_tcp), m);
	EXPECT_EQ(EF_PKT_L3_IPV6, m.l3);
	EXPECT_EQ(6, m.ip_version);
	EXPECT_EQ(EF_PKT_F_L4, m.flags);
	EXPECT_EQ(54, m.l4_off);
	EXPECT_EQ(60, m.l3_len);
	EXPECT_EQ(64, m.ttl);
	EXPECT_TRUE(ip6_eq(m.src, "2001:db8::1"));
	EXPECT_TRUE(ip6_eq(m.dst, "2001:db8::10"));
	EXPECT_EQ(htons(443), m.dport);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(ip6_tcp, &m));
	EXPECT_FALSE(ef_pkt_ip4_csum_ok(ip6_tcp, &m));
}

TEST(Parse, Ip6ExtensionChain)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(ip6_ext_udp), m);
	EXPECT_EQ(EF_PKT_F_IP6_EXT | EF_PKT_F_L4, m.flags);
	EXPECT_EQ(17, m.proto);
	EXPECT_EQ(sizeof(ip6_ext_udp) - 8 - 3, m.l4_off);
	EXPECT_EQ(11, m.l4_len);
	EXPECT_EQ(htons(2000), m.dport);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(ip6_ext_udp, &m));
}

TEST(Parse, Ip6FragmentHeader)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(ip6_frag_first), m);
	EXPECT_EQ(EF_PKT_F_IP6_EXT | EF_PKT_F_FRAG | EF_PKT_F_FRAG_FIRST |
		  EF_PKT_F_L4, m.flags);
	EXPECT_EQ(14 + 48, m.l4_off);
	EXPECT_EQ(htons(1000), m.sport);

	PARSE_OK(vec(ip6_frag_last), m);
	EXPECT_EQ(EF_PKT_F_IP6_EXT | EF_PKT_F_FRAG, m.flags);
	EXPECT_EQ(0, m.l4_off);
	EXPECT_EQ(17, m.proto);
}

TEST(Parse, Ip6ChainBound)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(ip6_chain8), m);
	EXPECT_EQ(17, m.proto);
	EXPECT_EQ(EF_PKT_ERR_IP6_EXT_CHAIN, parse(vec(ip6_chain9), &m));
}

TEST(Parse, Icmp6Echo)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(ip6_echo), m);
	EXPECT_EQ(58, m.proto);
	EXPECT_EQ(128, m.icmp_type);
	EXPECT_EQ(htons(0x4321), m.sport);
	EXPECT_EQ(htons(0x4321), m.dport);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(ip6_echo, &m));
}

TEST(Parse, IcmpErrorQuotingUdp)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(icmp_unreach_udp), m);
	EXPECT_EQ(EF_PKT_F_ICMP_ERROR, m.flags);
	EXPECT_EQ(3, m.icmp_type);
	EXPECT_EQ(3, m.icmp_code);
	EXPECT_EQ(42, m.inner_l3_off);
	EXPECT_EQ(62, m.inner_l4_off);
	EXPECT_EQ(17, m.inner_proto);
	EXPECT_EQ(ip4("192.168.0.1"), m.inner_src.v4);
	EXPECT_EQ(ip4("10.244.1.5"), m.inner_dst.v4);
	EXPECT_EQ(htons(1026), m.inner_sport);
	EXPECT_EQ(htons(5353), m.inner_dport);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(icmp_unreach_udp, &m));
}

TEST(Parse, IcmpErrorQuotingEightBytesOfTcp)
{
	struct ef_pkt_meta m;

	/* quoted total length (44) exceeds the 28 quoted bytes: normal */
	PARSE_OK(vec(icmp_ttl_tcp8), m);
	EXPECT_EQ(EF_PKT_F_ICMP_ERROR, m.flags);
	EXPECT_EQ(11, m.icmp_type);
	EXPECT_EQ(6, m.inner_proto);
	EXPECT_EQ(htons(1025), m.inner_sport);
	EXPECT_EQ(htons(8080), m.inner_dport);
}

TEST(Parse, IcmpErrorQuotingEcho)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(icmp_unreach_echo), m);
	EXPECT_EQ(1, m.inner_proto);
	EXPECT_EQ(htons(1027), m.inner_sport);
	EXPECT_EQ(htons(1027), m.inner_dport);
}

TEST(Parse, Icmp6Errors)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(icmp6_unreach_udp), m);
	EXPECT_EQ(EF_PKT_F_ICMP_ERROR, m.flags);
	EXPECT_EQ(1, m.icmp_type);
	EXPECT_EQ(4, m.icmp_code);
	EXPECT_EQ(17, m.inner_proto);
	EXPECT_EQ(14 + 40 + 8, m.inner_l3_off);
	EXPECT_EQ(14 + 40 + 8 + 40, m.inner_l4_off);
	EXPECT_TRUE(ip6_eq(m.inner_src, "2001:db8::1"));
	EXPECT_TRUE(ip6_eq(m.inner_dst, "2001:db8::10"));
	EXPECT_EQ(htons(1000), m.inner_sport);
	EXPECT_EQ(htons(2000), m.inner_dport);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(icmp6_unreach_udp, &m));

	PARSE_OK(vec(icmp6_ptb_tcp), m);
	EXPECT_EQ(2, m.icmp_type);
	EXPECT_EQ(6, m.inner_proto);
	EXPECT_EQ(htons(40000), m.inner_sport);
	EXPECT_EQ(htons(443), m.inner_dport);
}

TEST(Parse, Arp)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(arp_req), m);
	EXPECT_EQ(EF_PKT_L3_ARP, m.l3);
	EXPECT_EQ(28, m.l3_len);
	EXPECT_EQ(ip4("10.0.0.1"), m.src.v4);
	EXPECT_EQ(ip4("10.0.0.254"), m.dst.v4);
	EXPECT_EQ(0, m.l4_off);
}

TEST(Parse, EthernetPaddingIgnored)
{
	struct ef_pkt_meta m;
	Bytes b = vec(udp);

	b.resize(64, 0);
	PARSE_OK(b, m);
	EXPECT_EQ(41, m.l3_len);
	EXPECT_EQ(21, m.l4_len);
	EXPECT_TRUE(ef_pkt_ip4_csum_ok(b.data(), &m));
	EXPECT_TRUE(ef_pkt_l4_csum_ok(b.data(), &m));
}

TEST(Parse, OtherEthertype)
{
	struct ef_pkt_meta m;
	Bytes b = vec(tcp_syn);

	put16(b, 12, 0x88cc);	/* LLDP */
	PARSE_OK(b, m);
	EXPECT_EQ(EF_PKT_L3_OTHER, m.l3);
	EXPECT_EQ(0, m.ip_version);
}

TEST(Parse, BroadcastOrMulticastSource)
{
	struct ef_pkt_meta m;
	Bytes b = vec(udp);

	PARSE_OK(b, m);
	EXPECT_FALSE(m.flags & EF_PKT_F_BCAST_SRC);
	b[6] |= 0x01;	/* multicast source MAC */
	PARSE_OK(b, m);
	EXPECT_TRUE(m.flags & EF_PKT_F_BCAST_SRC);
	b = vec(udp);
	memset(&b[26], 0xff, 4);
	PARSE_OK(b, m);
	EXPECT_TRUE(m.flags & EF_PKT_F_BCAST_SRC);
	b = vec(udp);
	b[26] = 224;
	PARSE_OK(b, m);
	EXPECT_TRUE(m.flags & EF_PKT_F_BCAST_SRC);
	b[26] = 223;
	PARSE_OK(b, m);
	EXPECT_FALSE(m.flags & EF_PKT_F_BCAST_SRC);
}

/* ===================== parse: every error code ===================== */

struct BadCase {
	const char *what;
	Bytes frame;
	int want;
};

std::vector<BadCase>
bad_cases()
{
	std::vector<BadCase> v;
	Bytes b;

	v.push_back({ "13 bytes", Bytes(tcp_syn, tcp_syn + 13),
		      EF_PKT_ERR_ETH_TRUNC });
	v.push_back({ "empty", Bytes(), EF_PKT_ERR_ETH_TRUNC });
	v.push_back({ "vlan cut", Bytes(vlan_tcp, vlan_tcp + 17),
		      EF_PKT_ERR_VLAN_TRUNC });
	v.push_back({ "two tags", vec(vlan_nested), EF_PKT_ERR_VLAN_NESTED });
	v.push_back({ "arp cut", Bytes(arp_req, arp_req + 41),
		      EF_PKT_ERR_ARP_TRUNC });
	b = vec(arp_req);
	put16(b, 14, 6);	/* IEEE 802 hardware type */
	v.push_back({ "arp hw 6", b, EF_PKT_ERR_ARP_FORMAT });
	b = vec(arp_req);
	b[19] = 16;	/* plen */
	v.push_back({ "arp plen 16", b, EF_PKT_ERR_ARP_FORMAT });
	v.push_back({ "ip4 cut", Bytes(tcp_syn, tcp_syn + 33),
		      EF_PKT_ERR_IP4_TRUNC });
	b = vec(tcp_syn);
	b[14] = 0x65;
	v.push_back({ "ip4 version 6", b, EF_PKT_ERR_IP4_VERSION });
	b = vec(tcp_syn);
	b[14] = 0x44;
	v.push_back({ "ihl 4", b, EF_PKT_ERR_IP4_IHL });
	b = vec(tcp_syn);
	b[14] = 0x4f;	/* 60 bytes > 44 present */
	v.push_back({ "ihl 15", b, EF_PKT_ERR_IP4_IHL });
	b = vec(tcp_syn);
	put16(b, 16, 19);
	v.push_back({ "totlen < ihl", b, EF_PKT_ERR_IP4_TOTLEN });
	b = vec(tcp_syn);
	put16(b, 16, 45);
	v.push_back({ "totlen > frame", b, EF_PKT_ERR_IP4_TOTLEN });
	v.push_back({ "ip6 cut", Bytes(ip6_tcp, ip6_tcp + 53),
		      EF_PKT_ERR_IP6_TRUNC });
	b = vec(ip6_tcp);
	b[14] = 0x40;
	v.push_back({ "ip6 version 4", b, EF_PKT_ERR_IP6_VERSION });
	b = vec(ip6_tcp);
	put16(b, 18, 21);
	v.push_back({ "ip6 plen > frame", b, EF_PKT_ERR_IP6_PLEN });
	b = vec(ip6_ext_udp);
	put16(b, 18, 20);	/* third extension header is cut */
	v.push_back({ "ext past plen", b, EF_PKT_ERR_IP6_EXT_TRUNC });
	b = vec(ip6_ext_udp);
	b[14 + 40 + 1] = 10;	/* hop-by-hop claims 88 bytes */
	v.push_back({ "ext hdr len", b, EF_PKT_ERR_IP6_EXT_TRUNC });
	v.push_back({ "ext chain 9", vec(ip6_chain9),
		      EF_PKT_ERR_IP6_EXT_CHAIN });
	b = vec(ip6_frag_first);
	put16(b, 18, 4);	/* 4 of the 8 fragment header bytes */
	b.resize(14 + 40 + 4);
	v.push_back({ "frag hdr cut", b, EF_PKT_ERR_IP6_FRAG_TRUNC });
	/* two destination options headers of 136 bytes each, then UDP */
	b = Bytes(ip6_chain8, ip6_chain8 + 14 + 40);
	b.resize(14 + 40 + 2 * 136 + 8, 0);
	b[14 + 40] = 60;
	b[14 + 40 + 1] = 16;
	b[14 + 40 + 136] = 17;
	b[14 + 40 + 136 + 1] = 16;
	put16(b, 18, (uint16_t)(b.size() - 14 - 40));
	v.push_back({ "ext > 256 bytes", b, EF_PKT_ERR_IP6_EXT_LEN });
	b = vec(ip6_ext_udp);
	b[14 + 40] = 0;	/* routing header says: hop-by-hop next */
	b[14 + 48] = 0;
	v.push_back({ "hop-by-hop second", b, EF_PKT_ERR_IP6_HBH_POS });
	b = vec(tcp_syn);
	put16(b, 16, 20 + 12);
	v.push_back({ "tcp cut by IP length", b, EF_PKT_ERR_TCP_TRUNC });
	b = vec(tcp_syn);
	b[46] = 0x40;
	v.push_back({ "doff 4", b, EF_PKT_ERR_TCP_DOFF });
	b = vec(tcp_syn);
	b[46] = 0xf0;
	v.push_back({ "doff 15", b, EF_PKT_ERR_TCP_DOFF });
	b = vec(ip6_tcp);
	b[14 + 40 + 12] = 0x60;	/* 24 > 20 present */
	v.push_back({ "ip6 doff 6", b, EF_PKT_ERR_TCP_DOFF });
	b = vec(udp);
	put16(b, 16, 20 + 4);
	v.push_back({ "udp cut", b, EF_PKT_ERR_UDP_TRUNC });
	b = vec(udp);
	put16(b, 38, 7);
	v.push_back({ "udp len 7", b, EF_PKT_ERR_UDP_LEN });
	b = vec(udp);
	put16(b, 38, 22);
	v.push_back({ "udp len > payload", b, EF_PKT_ERR_UDP_LEN });
	b = vec(echo_req);
	put16(b, 16, 20 + 6);
	v.push_back({ "icmp cut", b, EF_PKT_ERR_ICMP_TRUNC });
	b = vec(ip6_echo);
	put16(b, 18, 6);
	v.push_back({ "icmp6 cut", b, EF_PKT_ERR_ICMP_TRUNC });
	b = vec(icmp_ttl_tcp8);
	put16(b, 16, 20 + 8 + 27);	/* quotes IP header + 7 bytes */
	v.push_back({ "quote 27", b, EF_PKT_ERR_ICMP_INNER_TRUNC });
	b = vec(icmp_ttl_tcp8);
	put16(b, 16, 20 + 8 + 19);
	v.push_back({ "quote 19", b, EF_PKT_ERR_ICMP_INNER_TRUNC });
	b = vec(icmp6_unreach_udp);
	put16(b, 18, 8 + 40 + 7);
	v.push_back({ "quote6 47", b, EF_PKT_ERR_ICMP_INNER_TRUNC });
	b = vec(icmp_unreach_udp);
	b[42] = 0x43;
	v.push_back({ "quoted ihl 3", b, EF_PKT_ERR_ICMP_INNER_BAD });
	b = vec(icmp_unreach_udp);
	b[42] = 0x65;
	v.push_back({ "quoted version 6", b, EF_PKT_ERR_ICMP_INNER_BAD });
	b = vec(icmp6_unreach_udp);
	b[14 + 48] = 0x45;
	v.push_back({ "quoted6 version 4", b, EF_PKT_ERR_ICMP_INNER_BAD });
	return v;
}

TEST(ParseErrors, EachCaseGivesItsCode)
{
	for (const BadCase &c : bad_cases()) {
		struct ef_pkt_meta m;

		EXPECT_EQ(c.want, parse(c.frame, &m))
			<< c.what << ": " << ef_pkt_strerror(parse(c.frame, &m));
	}
}

TEST(ParseErrors, EveryCodeIsExercised)
{
	std::set<int> seen;

	for (const BadCase &c : bad_cases())
		seen.insert(c.want);
	for (int code = EF_PKT_ERR_FIRST_ + 1; code < EF_PKT_ERR_END_; code++)
		EXPECT_TRUE(seen.count(code)) << ef_pkt_strerror(code);
}

TEST(ParseErrors, Strerror)
{
	std::set<std::string> texts;

	EXPECT_STREQ("ok", ef_pkt_strerror(EF_PKT_OK));
	EXPECT_EQ(-99, EF_PKT_ERR_ETH_TRUNC);
	for (int code = EF_PKT_ERR_FIRST_ + 1; code < EF_PKT_ERR_END_; code++)
		texts.insert(ef_pkt_strerror(code));
	EXPECT_EQ((size_t)(EF_PKT_ERR_END_ - EF_PKT_ERR_FIRST_ - 1),
		  texts.size());
	EXPECT_STREQ("IPv6 extension chain too long",
		     ef_pkt_strerror(EF_PKT_ERR_IP6_EXT_CHAIN));
	EXPECT_STREQ("unknown error", ef_pkt_strerror(EF_PKT_ERR_END_));
	EXPECT_STREQ("unknown error", ef_pkt_strerror(-EINVAL));
	EXPECT_STREQ("unknown error", ef_pkt_strerror(1));
}

/* ===================== checksums ===================== */

TEST(Csum, RawRfc1071Example)
{
	/* RFC 1071 section 3 numerical example: sum ddf2 */
	const uint8_t d[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	EXPECT_EQ(0xddf2, ntohs(ef_csum_raw(d, sizeof(d), 0)));
}

TEST(Csum, RawOddLengthAndInitialValue)
{
	std::mt19937 rng(7);

	for (int i = 0; i < 200; i++) {
		Bytes b(rng() % 300);
		uint16_t init = (uint16_t)rng();

		for (auto &x : b)
			x = (uint8_t)rng();
		Heap h(b);
		uint16_t want = ref_fold(ref_add(b.data(), b.size(), init));
		/* initial is in memory order, like the result */
		EXPECT_EQ(want, ntohs(ef_csum_raw(h.data(), h.size(),
						  htons(init))));
	}
}

TEST(Csum, IncrementalUpdateMatchesRecompute)
{
	std::mt19937 rng(11);

	for (int i = 0; i < 2000; i++) {
		uint8_t b[20];

		for (auto &x : b)
			x = (uint8_t)rng();
		b[10] = b[11] = 0;
		uint16_t c = htons((uint16_t)~ref_fold(ref_add(b, 20, 0)));
		uint16_t ow, nw = (uint16_t)rng();
		uint32_t o32, n32 = (uint32_t)rng();

		memcpy(&ow, b + 4, 2);
		memcpy(&o32, b + 12, 4);
		memcpy(b + 4, &nw, 2);
		memcpy(b + 12, &n32, 4);
		c = ef_csum_update16(c, ow, nw);
		c = ef_csum_update32(c, o32, n32);
		memcpy(b + 10, &c, 2);
		EXPECT_EQ(0xffff, ref_fold(ref_add(b, 20, 0)));
	}
}

TEST(Csum, VerifyAcceptsScapyAndDetectsCorruption)
{
	const Bytes frames[] = { vec(tcp_syn), vec(udp), vec(echo_req),
				 vec(ip_opts_tcp), vec(ip6_tcp), vec(ip6_echo),
				 vec(ip6_ext_udp), vec(icmp_unreach_udp),
				 vec(icmp6_unreach_udp) };

	for (const Bytes &f : frames) {
		struct ef_pkt_meta m;
		Bytes b = f;

		PARSE_OK(b, m);
		EXPECT_TRUE(ef_pkt_l4_csum_ok(b.data(), &m));
		if (m.ip_version == 4) {
			EXPECT_TRUE(ef_pkt_ip4_csum_ok(b.data(), &m));
			EXPECT_TRUE(ref_l4_ok4(b.data() + m.l3_off));
		} else {
			/* the reference agrees, with the post-chain protocol */
			EXPECT_EQ(0xffff, ref_fold(ref_add(b.data() + m.l4_off,
				  m.l4_len, ref_phdr6(b.data() + m.l3_off,
						      m.proto, m.l4_len))));
		}
		b[b.size() - 1] ^= 0x10;	/* last payload byte */
		EXPECT_FALSE(ef_pkt_l4_csum_ok(b.data(), &m));
		if (m.ip_version == 4) {
			b[m.l3_off + 8] ^= 0x01;	/* TTL */
			EXPECT_FALSE(ef_pkt_ip4_csum_ok(b.data(), &m));
		}
	}
}

TEST(Csum, UdpZeroChecksumOnlyValidOverIpv4)
{
	struct ef_pkt_meta m;
	Bytes b = vec(ip6_ext_udp);

	PARSE_OK(vec(udp0), m);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(udp0, &m));
	PARSE_OK(b, m);
	b[m.l4_off + 6] = b[m.l4_off + 7] = 0;
	EXPECT_FALSE(ef_pkt_l4_csum_ok(b.data(), &m));
}

TEST(Csum, FillCsums4ReproducesScapy)
{
	const Bytes frames[] = { vec(tcp_syn), vec(udp), vec(echo_req),
				 vec(ip_opts_tcp), vec(icmp_unreach_udp),
				 vec(vlan_tcp) };

	for (const Bytes &f : frames) {
		struct ef_pkt_meta m;

		PARSE_OK(f, m);
		Heap h(f);
		h.data()[m.l3_off + 10] ^= 0x5a;
		h.data()[m.l4_off + (m.proto == 6 ? 16 : m.proto == 17 ? 6 : 2)]
			^= 0xa5;
		ef_pkt_fill_csums4(h.data(), &m);
		expect_bytes(f, h.data(), h.size());
	}
}

/* ===================== NAT ===================== */

/* NAT of client 10.0.0.1 -> VIP 10.96.0.10 to 192.168.0.1 -> backend */
void
nat_fixture(const Bytes &in, const Bytes &want, uint16_t sport,
	    uint16_t dport)
{
	struct ef_pkt_meta m;
	Heap h(in);

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ef_pkt_nat4(h.data(), &m, ip4("192.168.0.1"), htons(sport),
		    ip4("10.244.1.5"), htons(dport));
	expect_bytes(want, h.data(), h.size());
	EXPECT_EQ(ip4("192.168.0.1"), m.src.v4);
	EXPECT_EQ(ip4("10.244.1.5"), m.dst.v4);
	/* m must describe the rewritten frame */
	struct ef_pkt_meta m2;
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m2));
	EXPECT_EQ(0, memcmp(&m, &m2, sizeof(m)));
}

TEST(Nat, TcpSynMatchesScapy)
{
	nat_fixture(vec(tcp_syn), vec(tcp_syn_nat), 1025, 8080);
}

TEST(Nat, UdpMatchesScapy)
{
	nat_fixture(vec(udp), vec(udp_nat), 1026, 5353);
}

TEST(Nat, UdpZeroChecksumStaysZero)
{
	nat_fixture(vec(udp0), vec(udp0_nat), 1026, 5353);
}

TEST(Nat, TcpWithIpOptionsMatchesScapy)
{
	nat_fixture(vec(ip_opts_tcp), vec(ip_opts_tcp_nat), 1025, 8080);
}

TEST(Nat, EchoRequestTakesSportAsId)
{
	/* dport is ignored for a request */
	nat_fixture(vec(echo_req), vec(echo_req_nat), 1027, 999);
}

TEST(Nat, EchoReplyTakesDportAsId)
{
	struct ef_pkt_meta m;
	Heap h(vec(echo_rep));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ef_pkt_nat4(h.data(), &m, ip4("10.96.0.10"), htons(999),
		    ip4("10.0.0.1"), htons(0x1234));
	expect_bytes(vec(echo_rep_nat), h.data(), h.size());
	EXPECT_EQ(htons(0x1234), m.sport);
	EXPECT_EQ(htons(0x1234), m.dport);
}

TEST(Nat, FragmentsReassembleWithValidChecksum)
{
	const uint8_t *frags[] = { frag_first, frag_middle, frag_last };
	const size_t lens[] = { sizeof(frag_first), sizeof(frag_middle),
				sizeof(frag_last) };
	Bytes ip_hdr, dgram;

	for (int i = 0; i < 3; i++) {
		struct ef_pkt_meta m;
		Heap h(frags[i], lens[i]);

		ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
		ef_pkt_nat4(h.data(), &m, ip4("192.168.0.1"), htons(1111),
			    ip4("10.244.1.5"), htons(2222));
		EXPECT_TRUE(ref_ip4_ok(h.data() + 14));
		EXPECT_TRUE(ef_pkt_ip4_csum_ok(h.data(), &m));
		if (i == 0)
			ip_hdr.assign(h.data() + 14, h.data() + 34);
		dgram.insert(dgram.end(), h.data() + 34, h.data() + h.size());
	}
	ASSERT_EQ(108u, dgram.size());
	EXPECT_EQ(1111, get16(&dgram[0]));
	EXPECT_EQ(2222, get16(&dgram[2]));
	EXPECT_EQ(0xffff, ref_fold(ref_add(dgram.data(), dgram.size(),
					   ref_phdr4(ip_hdr.data(), 17, 108))));
}

/*
 * Random IPv4 TCP/UDP/ICMP-echo frames (random VLAN, IP options, TCP
 * options, payload, UDP zero checksum), random NAT: the incremental result
 * must equal a from-scratch recomputation byte for byte.
 */
TEST(Nat, RandomIncrementalEqualsFullRecompute)
{
	std::mt19937 rng(20240601);

	for (int it = 0; it < 10000; it++) {
		Bytes b;
		bool vlan = rng() % 4 == 0;
		uint32_t ihl = 20 + 4 * (rng() % 4 == 0 ? rng() % 11 : 0);
		int kind = rng() % 3;	/* tcp, udp, icmp echo */
		uint32_t l4h = kind == 0 ? 20 + 4 * (rng() % 11) : 8;
		uint32_t pay = rng() % 64 == 0 ? 1400 : rng() % 200;
		uint32_t l3 = (vlan ? 18 : 14);

		b.resize(l3 + ihl + l4h + pay);
		for (auto &x : b)
			x = (uint8_t)rng();
		b[0] &= 0xfe;
		b[6] &= 0xfe;
		if (vlan) {
			put16(b, 12, 0x8100);
			put16(b, 16, 0x0800);
		} else {
			put16(b, 12, 0x0800);
		}
		uint8_t *ip = &b[l3];
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		memset(ip + 20, 1, ihl - 20);	/* NOP options */
		put16(b, l3 + 2, (uint16_t)(ihl + l4h + pay));
		put16(b, l3 + 6, 0);	/* not a fragment */
		ip[9] = kind == 0 ? 6 : kind == 1 ? 17 : 1;
		ip[12] &= 0xdf;	/* keep sources out of 224/4 */
		uint8_t *l4 = ip + ihl;
		if (kind == 0)
			l4[12] = (uint8_t)((l4h / 4) << 4);
		else if (kind == 1)
			put16(b, l3 + ihl + 4, (uint16_t)(l4h + pay));
		else
			l4[0] = rng() % 2 ? 8 : 0;
		ref_fix4(ip);
		if (kind == 1 && rng() % 10 == 0)
			l4[6] = l4[7] = 0;

		struct ef_pkt_meta m;
		Heap h(b);
		ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m))
			<< "iteration " << it;
		ASSERT_TRUE(ef_pkt_ip4_csum_ok(h.data(), &m));
		ASSERT_TRUE(ef_pkt_l4_csum_ok(h.data(), &m));

		uint32_t ns = (uint32_t)rng(), nd = (uint32_t)rng();
		uint16_t np = (uint16_t)rng(), ndp = (uint16_t)rng();
		ef_pkt_nat4(h.data(), &m, ns, np, nd, ndp);

		Bytes full = h.bytes();
		ref_fix4(&full[l3]);
		ASSERT_EQ(full, h.bytes()) << "iteration " << it;
		ASSERT_EQ(ns, m.src.v4);
		if (kind != 2) {
			ASSERT_EQ(ntohs(np), get16(&full[l3 + ihl]));
			ASSERT_EQ(np, m.sport);
			ASSERT_EQ(ndp, m.dport);
		} else {
			uint16_t id = l4[0] == 8 ? np : ndp;

			ASSERT_EQ(ntohs(id), get16(&full[l3 + ihl + 4]));
		}
	}
}

/* ===================== ICMP error translation ===================== */

void
nat_icmp_error_fixture(const Bytes &in, const Bytes &want, uint16_t isport,
		       uint16_t idport, bool inner_full)
{
	struct ef_pkt_meta m;
	Heap h(in);

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ASSERT_TRUE(m.flags & EF_PKT_F_ICMP_ERROR);
	ef_pkt_nat4_icmp_error(h.data(), &m, ip4("10.96.0.10"),
			       ip4("10.0.0.1"), ip4("10.0.0.1"), htons(isport),
			       ip4("10.96.0.10"), htons(idport));
	expect_bytes(want, h.data(), h.size());

	/* full recomputation of every checksum, independent of scapy */
	const uint8_t *ip = h.data() + m.l3_off;
	EXPECT_TRUE(ref_ip4_ok(ip));
	EXPECT_EQ(0xffff, ref_fold(ref_add(h.data() + m.l4_off, m.l4_len, 0)));
	EXPECT_TRUE(ref_ip4_ok(h.data() + m.inner_l3_off));
	if (inner_full) {
		EXPECT_TRUE(ref_l4_ok4(h.data() + m.inner_l3_off));
	}
	EXPECT_EQ(ip4("10.0.0.1"), m.inner_src.v4);
	EXPECT_EQ(htons(isport), m.inner_sport);
	struct ef_pkt_meta m2;
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m2));
	EXPECT_EQ(0, memcmp(&m, &m2, sizeof(m)));
}

TEST(NatIcmpError, QuotedUdpAllChecksums)
{
	nat_icmp_error_fixture(vec(icmp_unreach_udp), vec(icmp_unreach_udp_nat),
			       40001, 53, true);
}

TEST(NatIcmpError, EightBytesOfTcp)
{
	nat_icmp_error_fixture(vec(icmp_ttl_tcp8), vec(icmp_ttl_tcp8_nat),
			       40000, 80, false);
}

TEST(NatIcmpError, FullyQuotedTcpChecksumUpdated)
{
	nat_icmp_error_fixture(vec(icmp_ttl_tcpfull), vec(icmp_ttl_tcpfull_nat),
			       40000, 80, true);
}

TEST(NatIcmpError, QuotedEchoId)
{
	nat_icmp_error_fixture(vec(icmp_unreach_echo),
			       vec(icmp_unreach_echo_nat), 0x1234, 0, true);
}

TEST(NatIcmpError, NotAnErrorIsLeftAlone)
{
	struct ef_pkt_meta m;
	Heap h(vec(udp));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ef_pkt_nat4_icmp_error(h.data(), &m, 1, 2, 3, 4, 5, 6);
	expect_bytes(vec(udp), h.data(), h.size());
}

/* ===================== TTL, ARP, echo, RST ===================== */

TEST(Ttl, DecrementMatchesScapy)
{
	struct ef_pkt_meta m;
	Heap h(vec(tcp_syn));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ef_pkt_ttl_dec4(h.data(), &m);
	expect_bytes(vec(tcp_syn_ttl63), h.data(), h.size());
	EXPECT_EQ(63, m.ttl);
}

TEST(Ttl, ZeroIsNotWrapped)
{
	struct ef_pkt_meta m;
	Bytes b = vec(tcp_syn);

	b[22] = 0;
	ref_fix4(&b[14]);
	Heap h(b);
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ef_pkt_ttl_dec4(h.data(), &m);
	expect_bytes(b, h.data(), h.size());
}

TEST(Arp, ReplyMatchesScapy)
{
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
	struct ef_pkt_meta m;
	Heap h(vec(arp_req));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ASSERT_EQ(0, ef_pkt_arp_reply(h.data(), &m, mac));
	expect_bytes(vec(arp_rep), h.data(), h.size());
}

TEST(Arp, ReplyRefusesNonRequests)
{
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
	struct ef_pkt_meta m;
	Heap h(vec(arp_rep)), t(vec(tcp_syn));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	EXPECT_EQ(-EINVAL, ef_pkt_arp_reply(h.data(), &m, mac));
	expect_bytes(vec(arp_rep), h.data(), h.size());
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(t.data(), t.size(), &m));
	EXPECT_EQ(-EINVAL, ef_pkt_arp_reply(t.data(), &m, mac));
}

TEST(Arp, BuildRequestMatchesScapy)
{
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
	uint8_t out[42];

	ASSERT_EQ(42u, ef_pkt_build_arp_request(out, mac, ip4("10.0.0.254"),
						ip4("10.0.0.1")));
	expect_bytes(vec(arp_built), out, sizeof(out));
	/* gratuitous: target = sender, still a parseable request */
	struct ef_pkt_meta m;
	ef_pkt_build_arp_request(out, mac, ip4("10.0.0.254"), ip4("10.0.0.254"));
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(out, sizeof(out), &m));
	EXPECT_EQ(m.src.v4, m.dst.v4);
}

TEST(Echo, ReplyMatchesScapy)
{
	struct ef_pkt_meta m;
	Heap h(vec(echo_req));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ASSERT_EQ(0, ef_pkt_icmp4_echo_reply(h.data(), &m));
	expect_bytes(vec(echo_req_answer), h.data(), h.size());
	EXPECT_EQ(0, m.icmp_type);
	EXPECT_EQ(ip4("10.96.0.10"), m.src.v4);
}

TEST(Echo, ReplyRefusesOthers)
{
	struct ef_pkt_meta m;
	Heap r(vec(echo_rep)), t(vec(udp));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(r.data(), r.size(), &m));
	EXPECT_EQ(-EINVAL, ef_pkt_icmp4_echo_reply(r.data(), &m));
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(t.data(), t.size(), &m));
	EXPECT_EQ(-EINVAL, ef_pkt_icmp4_echo_reply(t.data(), &m));
}

void
rst_fixture(const Bytes &in, const Bytes &want)
{
	struct ef_pkt_meta m;
	Heap h(in);

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	int n = ef_pkt_tcp4_rst_reply(h.data(), &m);
	ASSERT_EQ(40, n);
	expect_bytes(want, h.data(), (size_t)(m.l3_off + n));
	struct ef_pkt_meta m2;
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), m.l3_off + n, &m2));
	EXPECT_EQ(0, memcmp(&m, &m2, sizeof(m)));
}

TEST(Rst, AnswersSynWithRstAck)
{
	rst_fixture(vec(tcp_syn), vec(rst_to_syn));
}

TEST(Rst, AnswersAckWithRstAtTheirAck)
{
	rst_fixture(vec(tcp_ack_data), vec(rst_to_ack));
}

TEST(Rst, FinCountsInAckNumber)
{
	rst_fixture(vec(tcp_fin_noack), vec(rst_to_fin_noack));
}

TEST(Rst, DropsIpOptions)
{
	rst_fixture(vec(ip_opts_tcp), vec(rst_to_opts));
}

TEST(Rst, NeverAnswersRstOrNonTcp)
{
	struct ef_pkt_meta m;
	Heap h(vec(rst_to_ack)), u(vec(udp));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	EXPECT_GT(0, ef_pkt_tcp4_rst_reply(h.data(), &m));
	expect_bytes(vec(rst_to_ack), h.data(), h.size());
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(u.data(), u.size(), &m));
	EXPECT_GT(0, ef_pkt_tcp4_rst_reply(u.data(), &m));
}

void
rst6_fixture(const Bytes &in, const Bytes &want)
{
	struct ef_pkt_meta m;
	Heap h(in);

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	int n = ef_pkt_tcp6_rst_reply(h.data(), &m);
	ASSERT_EQ(60, n);
	expect_bytes(want, h.data(), (size_t)(m.l3_off + n));
	struct ef_pkt_meta m2;
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), m.l3_off + n, &m2));
	EXPECT_EQ(0, memcmp(&m, &m2, sizeof(m)));
	EXPECT_TRUE(ef_pkt_l4_csum_ok(h.data(), &m2));
}

TEST(Rst6, AnswersSynWithRstAck)
{
	rst6_fixture(vec(ip6_syn), vec(rst6_to_syn));
}

TEST(Rst6, AnswersAckAndDropsTheExtensionChain)
{
	rst6_fixture(vec(ip6_ext_ack_data), vec(rst6_to_ack));
}

TEST(Rst6, NeverAnswersRstNonTcpOrIpv4)
{
	struct ef_pkt_meta m;
	Heap h(vec(rst6_to_ack)), u(vec(ip6_udp)), v4(vec(tcp_syn));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	EXPECT_EQ(-EINVAL, ef_pkt_tcp6_rst_reply(h.data(), &m));
	expect_bytes(vec(rst6_to_ack), h.data(), h.size());
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(u.data(), u.size(), &m));
	EXPECT_EQ(-EINVAL, ef_pkt_tcp6_rst_reply(u.data(), &m));
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(v4.data(), v4.size(), &m));
	EXPECT_EQ(-EINVAL, ef_pkt_tcp6_rst_reply(v4.data(), &m));
}

TEST(NatIcmp6Error, PacketTooBigAboutSnatIsTranslatedForTheClient)
{
	struct ef_pkt_meta m;
	Heap h(vec(ptb6_in));
	uint8_t vip[16], client[16];

	inet_pton(AF_INET6, "2001:db8:100::11", vip);
	inet_pton(AF_INET6, "2001:db8:100::2", client);
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ASSERT_TRUE(m.flags & EF_PKT_F_ICMP_ERROR);
	ef_pkt_nat6_icmp_error(h.data(), &m, vip, client, client, htons(40000),
			       vip, htons(80));
	expect_bytes(vec(ptb6_out), h.data(), h.size());
	EXPECT_TRUE(ef_pkt_l4_csum_ok(h.data(), &m));
	EXPECT_EQ(htons(40000), m.inner_sport);
	EXPECT_EQ(0, memcmp(client, m.inner_src.v6, 16));
}

TEST(HopLimit6, DecrementsWithoutChecksumChange)
{
	struct ef_pkt_meta m;
	Heap h(vec(ip6_syn));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ef_pkt_hop_dec6(h.data(), &m);
	EXPECT_EQ(59, m.ttl);
	EXPECT_EQ(59, h.data()[14 + 7]);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(h.data(), &m));
}

/* ===================== ICMP error builder ===================== */

TEST(IcmpErrorBuild, FragNeededCarriesMtuAndQuotes576)
{
	uint8_t out[1500];
	Heap orig(vec(big_tcp_l3));

	int n = ef_pkt_build_icmp4_error(out, sizeof(out), orig.data(),
					 orig.size(), 3, 4, 1400,
					 ip4("10.0.0.254"));
	ASSERT_EQ(576, n);
	expect_bytes(vec(err_frag_needed), out, (size_t)n);
}

TEST(IcmpErrorBuild, TimeExceededQuotesWholeSmallPacket)
{
	uint8_t out[600];
	Bytes o = vec(small_udp_l3);

	o.resize(o.size() + 6, 0);	/* link padding is not quoted */
	Heap orig(o);
	int n = ef_pkt_build_icmp4_error(out, sizeof(out), orig.data(),
					 orig.size(), 11, 0, 0,
					 ip4("10.0.0.254"));
	ASSERT_EQ((int)sizeof(err_ttl_small), n);
	expect_bytes(vec(err_ttl_small), out, (size_t)n);
}

TEST(IcmpErrorBuild, QuoteShrinksToCapacity)
{
	uint8_t out[100];
	Heap orig(vec(big_tcp_l3));

	int n = ef_pkt_build_icmp4_error(out, sizeof(out), orig.data(),
					 orig.size(), 3, 4, 1400, 1);
	ASSERT_EQ(100, n);
	EXPECT_TRUE(ref_ip4_ok(out));
	EXPECT_EQ(0xffff, ref_fold(ref_add(out + 20, 80, 0)));
	EXPECT_EQ(-ENOSPC, ef_pkt_build_icmp4_error(out, 20 + 8 + 27,
						    orig.data(), orig.size(),
						    3, 4, 1400, 1));
}

TEST(IcmpErrorBuild, RefusesWhatRfc1122Forbids)
{
	uint8_t out[600];
	struct {
		const char *what;
		Bytes l3;
		uint8_t type;
	} cases[] = {
		{ "error about an error",
		  Bytes(icmp_unreach_udp + 14, icmp_unreach_udp +
			sizeof(icmp_unreach_udp)), 3 },
		{ "non-first fragment",
		  Bytes(frag_middle + 14, frag_middle + sizeof(frag_middle)),
		  11 },
		{ "multicast destination", vec(small_udp_l3), 3 },
		{ "broadcast source", vec(small_udp_l3), 3 },
		{ "not an error type", vec(small_udp_l3), 8 },
		{ "too short", Bytes(small_udp_l3, small_udp_l3 + 19), 3 },
		{ "bad ihl", vec(small_udp_l3), 3 },
	};

	cases[2].l3[16] = 224;
	cases[3].l3[12] = 255;
	cases[3].l3[13] = 255;
	cases[3].l3[14] = 255;
	cases[3].l3[15] = 255;
	cases[6].l3[0] = 0x44;
	for (auto &c : cases) {
		Heap h(c.l3);

		EXPECT_EQ(-EINVAL, ef_pkt_build_icmp4_error(out, sizeof(out),
			  h.data(), h.size(), c.type, 0, 0, 1)) << c.what;
	}
	/* an echo request is not an error: it may be answered with one */
	Heap e(Bytes(echo_req + 14, echo_req + sizeof(echo_req)));
	EXPECT_LT(0, ef_pkt_build_icmp4_error(out, sizeof(out), e.data(),
					      e.size(), 3, 3, 0, 1));
}

/* ===================== IPv6 (issue 12) ===================== */

void
addr6(const char *s, uint8_t out[16])
{
	ASSERT_EQ(1, inet_pton(AF_INET6, s, out)) << s;
}

/* nat6 of in must give want byte for byte (scapy computed its sums). */
void
expect_nat6(const Bytes &in, const Bytes &want, const char *src,
	    uint16_t sport, const char *dst, uint16_t dport)
{
	struct ef_pkt_meta m, mw;
	uint8_t s6[16], d6[16];
	Heap h(in);

	addr6(src, s6);
	addr6(dst, d6);
	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ef_pkt_nat6(h.data(), &m, s6, htons(sport), d6, htons(dport));
	expect_bytes(want, h.data(), h.size());
	ASSERT_EQ(EF_PKT_OK, parse(want, &mw));
	EXPECT_TRUE(ef_addr_eq(&mw.src, &m.src));
	EXPECT_TRUE(ef_addr_eq(&mw.dst, &m.dst));
	EXPECT_EQ(mw.sport, m.sport);
	EXPECT_EQ(mw.dport, m.dport);
}

TEST(Ip6, ExtensionChainUpperLayer)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(ip6_ext_tcp), m);
	EXPECT_EQ(EF_PKT_F_IP6_EXT | EF_PKT_F_L4, m.flags);
	EXPECT_EQ(6, m.proto);
	EXPECT_EQ(14 + 40 + 24, m.l4_off);
	EXPECT_EQ(20 + 6, m.l4_len);
	EXPECT_EQ(0x18, m.tcp_flags);
	EXPECT_TRUE(ef_pkt_l4_csum_ok(ip6_ext_tcp, &m));

	uint8_t proto;
	uint32_t l4;
	uint16_t frag;

	EXPECT_EQ(0, ef_pkt_ip6_upper(ip6_ext_tcp + 14, sizeof(ip6_ext_tcp) - 14,
				      &proto, &l4, &frag));
	EXPECT_EQ(6, proto);
	EXPECT_EQ(64u, l4);
	EXPECT_EQ(0, frag);
	EXPECT_EQ(EF_PKT_ERR_IP6_TRUNC,
		  ef_pkt_ip6_upper(ip6_ext_tcp + 14, 39, &proto, &l4, &frag));
}

/* A routing header with segments left is flagged (the fwd drops it as a
 * source route); one at its end (ip6_ext_tcp's, segleft 0) is not. */
TEST(Ip6, ActiveRoutingHeaderIsFlagged)
{
	struct ef_pkt_meta m;

	PARSE_OK(vec(ip6_rh_active), m);
	EXPECT_TRUE(m.flags & EF_PKT_F_IP6_ROUTING);
	EXPECT_TRUE(m.flags & EF_PKT_F_L4);
	EXPECT_EQ(6, m.proto);
	PARSE_OK(vec(ip6_ext_tcp), m);
	EXPECT_FALSE(m.flags & EF_PKT_F_IP6_ROUTING);
}

TEST(Ip6, ExtensionBytesBoundIs256)
{
	struct ef_pkt_meta m;
	/* two destination options headers of 128 bytes: exactly 256 */
	Bytes b(ip6_chain8, ip6_chain8 + 14 + 40);

	b.resize(14 + 40 + 2 * 128 + 8, 0);
	b[14 + 40] = 60;
	b[14 + 40 + 1] = 15;
	b[14 + 40 + 128] = 17;
	b[14 + 40 + 128 + 1] = 15;
	put16(b, 18, (uint16_t)(b.size() - 14 - 40));
	put16(b, b.size() - 4, 8);	/* UDP length */
	PARSE_OK(b, m);
	EXPECT_EQ(17, m.proto);
	EXPECT_EQ(14 + 40 + 256, m.l4_off);
}

TEST(Ip6, MulticastSourceFlagged)
{
	struct ef_pkt_meta m;
	Bytes b = vec(ip6_udp);

	PARSE_OK(b, m);
	EXPECT_FALSE(m.flags & EF_PKT_F_BCAST_SRC);
	b[14 + 8] = 0xff;
	PARSE_OK(b, m);
	EXPECT_TRUE(m.flags & EF_PKT_F_BCAST_SRC);
}

TEST(Ip6, IncrementalAddr6MatchesRecompute)
{
	std::mt19937 rng(6);

	for (int it = 0; it < 2000; it++) {
		uint8_t buf[16 + 16 + 10], n[16];
		for (auto &x : buf)
			x = (uint8_t)rng();
		for (auto &x : n)
			x = (uint8_t)rng();
		uint16_t c = (uint16_t)~ef_csum_raw(buf, sizeof(buf), 0);
		uint16_t c2 = ef_csum_update_addr6(c, buf, n);

		memcpy(buf, n, 16);
		uint16_t want = (uint16_t)~ef_csum_raw(buf, sizeof(buf), 0);
		/* equal, or the two ones'-complement zeros */
		EXPECT_TRUE(c2 == want || (c2 == 0xffff && want == 0) ||
			    (c2 == 0 && want == 0xffff));
	}
}

TEST(Ip6, NatTcpThroughExtensionChain)
{
	expect_nat6(vec(ip6_ext_tcp), vec(ip6_ext_tcp_nat), "2001:db8:ff::1",
		    1025, "fd00:10:244::5", 8443);
}

TEST(Ip6, NatUdp)
{
	expect_nat6(vec(ip6_udp), vec(ip6_udp_nat), "2001:db8:ff::1", 1026,
		    "fd00:10:244::5", 5353);
}

TEST(Ip6, NatEchoRequestTakesSportAsIdAndSumsPseudoHeader)
{
	expect_nat6(vec(ip6_echo), vec(ip6_echo_nat), "2001:db8:ff::1", 1027,
		    "fd00:10:244::5", 9);
}

TEST(Ip6, NatFragments)
{
	/* first: L4 sum moves as the whole datagram's; last: addresses only */
	expect_nat6(vec(ip6_frag_first), vec(ip6_frag_first_nat),
		    "2001:db8:ff::1", 1026, "fd00:10:244::5", 5353);
	expect_nat6(vec(ip6_frag_last), vec(ip6_frag_last_nat),
		    "2001:db8:ff::1", 1026, "fd00:10:244::5", 5353);
}

TEST(Ip6, FillCsums6ReproducesScapy)
{
	for (const Bytes &f : { vec(ip6_ext_tcp), vec(ip6_udp), vec(ip6_echo),
				vec(nd_na_peer), vec(icmp6_unreach_udp) }) {
		struct ef_pkt_meta m;
		Heap h(f);

		ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
		h.data()[m.l4_off + (m.proto == 6 ? 16 : m.proto == 17 ? 6 : 2)] ^= 0x5a;
		EXPECT_FALSE(ef_pkt_l4_csum_ok(h.data(), &m));
		ef_pkt_fill_csums6(h.data(), &m);
		expect_bytes(f, h.data(), h.size());
	}
}

TEST(Ip6, EchoReplyMatchesScapy)
{
	struct ef_pkt_meta m;
	Heap h(vec(ip6_echo_data));

	ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
	ASSERT_EQ(0, ef_pkt_icmp6_echo_reply(h.data(), &m));
	expect_bytes(vec(ip6_echo_answer), h.data(), h.size());
	EXPECT_TRUE(ip6_eq(m.src, "2001:db8::10"));
	EXPECT_EQ(129, m.icmp_type);
	/* a reply, or a request to a group, is not answered */
	EXPECT_EQ(-EINVAL, ef_pkt_icmp6_echo_reply(h.data(), &m));
	Bytes b = vec(ip6_echo_data);
	b[14 + 24] = 0xff;
	ASSERT_EQ(EF_PKT_OK, parse(b, &m));
	EXPECT_EQ(-EINVAL, ef_pkt_icmp6_echo_reply(b.data(), &m));
}

TEST(Ip6, SolicitedNodeGroup)
{
	uint8_t t[16], g[16], want[16];

	addr6("2001:db8::abcd:1234:5678", t);
	ef_addr6_solicited_node(t, g);
	addr6("ff02::1:ff34:5678", want);
	EXPECT_EQ(0, memcmp(g, want, 16));
}

TEST(Ndp, BuildNsMatchesScapy)
{
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
	uint8_t out[128], src[16], tgt[16];

	addr6("2001:db8::10", src);
	addr6("2001:db8::1", tgt);
	uint32_t n = ef_pkt_build_ndp_ns(out, mac, src, tgt);
	expect_bytes(vec(nd_ns_built), out, n);
}

TEST(Ndp, BuildNaMatchesScapy)
{
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
	const uint8_t peer[6] = { 2, 0, 0, 0, 0, 1 };
	uint8_t out[128], src[16], dst[16];

	addr6("2001:db8::10", src);
	addr6("2001:db8::1", dst);
	uint32_t n = ef_pkt_build_ndp_na(out, mac, peer, src, dst, src,
					 EF_PKT_NA_F_SOLICITED |
					 EF_PKT_NA_F_OVERRIDE);
	expect_bytes(vec(nd_na_built), out, n);
}

TEST(Ndp, ParseNsAndNaFromPeers)
{
	struct ef_pkt_meta m;
	struct ef_pkt_ndp nd;
	const uint8_t peer[6] = { 2, 0, 0, 0, 0, 1 };
	uint8_t t[16];

	PARSE_OK(vec(nd_ns_peer), m);
	ASSERT_EQ(0, ef_pkt_ndp_parse(nd_ns_peer, &m, &nd));
	EXPECT_EQ(EF_PKT_ND_NS, nd.type);
	addr6("2001:db8::10", t);
	EXPECT_EQ(0, memcmp(t, nd.target, 16));
	ASSERT_TRUE(nd.has_lladdr);
	EXPECT_EQ(0, memcmp(peer, nd.lladdr, 6));

	PARSE_OK(vec(nd_na_peer), m);
	ASSERT_EQ(0, ef_pkt_ndp_parse(nd_na_peer, &m, &nd));
	EXPECT_EQ(EF_PKT_ND_NA, nd.type);
	EXPECT_EQ(EF_PKT_NA_F_ROUTER | EF_PKT_NA_F_SOLICITED, nd.flags);
	ASSERT_TRUE(nd.has_lladdr);
	EXPECT_EQ(0, memcmp(peer, nd.lladdr, 6));

	/* duplicate address detection: from ::, no option */
	PARSE_OK(vec(nd_ns_dad), m);
	ASSERT_EQ(0, ef_pkt_ndp_parse(nd_ns_dad, &m, &nd));
	EXPECT_FALSE(nd.has_lladdr);
}

TEST(Ndp, ParseRejectsWhatRfc4861Forbids)
{
	struct ef_pkt_meta m;
	struct ef_pkt_ndp nd;
	Bytes b;

	b = vec(nd_ns_peer);
	b[14 + 7] = 254;	/* forwarded: hop limit not 255 */
	ASSERT_EQ(EF_PKT_OK, parse(b, &m));
	EXPECT_EQ(-EINVAL, ef_pkt_ndp_parse(b.data(), &m, &nd));
	b = vec(nd_ns_peer);
	b[14 + 40 + 4] ^= 1;	/* checksum */
	ASSERT_EQ(EF_PKT_OK, parse(b, &m));
	EXPECT_EQ(-EINVAL, ef_pkt_ndp_parse(b.data(), &m, &nd));
	b = vec(nd_ns_peer);
	b[14 + 40 + 24 + 1] = 0;	/* zero-length option */
	{
		Heap h(b);
		ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
		ef_pkt_fill_csums6(h.data(), &m);
		EXPECT_EQ(-EINVAL, ef_pkt_ndp_parse(h.data(), &m, &nd));
	}
	b = vec(nd_ns_peer);
	b[14 + 40 + 8] = 0xff;	/* multicast target */
	{
		Heap h(b);
		ASSERT_EQ(EF_PKT_OK, ef_pkt_parse(h.data(), h.size(), &m));
		ef_pkt_fill_csums6(h.data(), &m);
		EXPECT_EQ(-EINVAL, ef_pkt_ndp_parse(h.data(), &m, &nd));
	}
	PARSE_OK(vec(ip6_echo), m);
	EXPECT_EQ(-EINVAL, ef_pkt_ndp_parse(ip6_echo, &m, &nd));
}

TEST(Icmp6ErrorBuild, PacketTooBigQuotes1232)
{
	uint8_t out[1500], src[16];

	addr6("2001:db8::fe", src);
	int n = ef_pkt_build_icmp6_error(out, sizeof(out), big6_tcp_l3,
					 sizeof(big6_tcp_l3), 2, 0, 1280, src);
	ASSERT_EQ(1280, n);
	expect_bytes(vec(err6_ptb), out, (size_t)n);
}

TEST(Icmp6ErrorBuild, TimeExceededAndPortUnreachQuoteWholeSmallPacket)
{
	uint8_t out[1500], src[16];

	addr6("2001:db8::fe", src);
	int n = ef_pkt_build_icmp6_error(out, sizeof(out), small6_udp_l3,
					 sizeof(small6_udp_l3), 3, 0, 0, src);
	ASSERT_GT(n, 0);
	expect_bytes(vec(err6_ttl_small), out, (size_t)n);
	n = ef_pkt_build_icmp6_error(out, sizeof(out), small6_udp_l3,
				     sizeof(small6_udp_l3), 1, 4, 0, src);
	ASSERT_GT(n, 0);
	expect_bytes(vec(err6_port_unreach), out, (size_t)n);
}

TEST(Icmp6ErrorBuild, RefusesWhatRfc4443Forbids)
{
	uint8_t out[1500], src[16];
	Bytes b;

	addr6("2001:db8::fe", src);
	/* about an ICMPv6 error (the quoted one of icmp6_unreach_udp) */
	b = Bytes(icmp6_unreach_udp + 14, icmp6_unreach_udp +
		  sizeof(icmp6_unreach_udp));
	EXPECT_EQ(-EINVAL, ef_pkt_build_icmp6_error(out, sizeof(out), b.data(),
						    b.size(), 3, 0, 0, src));
	/* an echo request is fine to complain about */
	b = Bytes(ip6_echo + 14, ip6_echo + sizeof(ip6_echo));
	EXPECT_GT(ef_pkt_build_icmp6_error(out, sizeof(out), b.data(),
					   b.size(), 3, 0, 0, src), 0);
	/* to a group: only packet too big */
	b = Bytes(small6_udp_l3, small6_udp_l3 + sizeof(small6_udp_l3));
	b[24] = 0xff;
	EXPECT_EQ(-EINVAL, ef_pkt_build_icmp6_error(out, sizeof(out), b.data(),
						    b.size(), 1, 4, 0, src));
	EXPECT_GT(ef_pkt_build_icmp6_error(out, sizeof(out), b.data(),
					   b.size(), 2, 0, 1280, src), 0);
	/* from a group or :: */
	b = Bytes(small6_udp_l3, small6_udp_l3 + sizeof(small6_udp_l3));
	b[8] = 0xff;
	EXPECT_EQ(-EINVAL, ef_pkt_build_icmp6_error(out, sizeof(out), b.data(),
						    b.size(), 2, 0, 1280, src));
	memset(&b[8], 0, 16);
	EXPECT_EQ(-EINVAL, ef_pkt_build_icmp6_error(out, sizeof(out), b.data(),
						    b.size(), 2, 0, 1280, src));
	/* not an error type; no room */
	b = Bytes(small6_udp_l3, small6_udp_l3 + sizeof(small6_udp_l3));
	EXPECT_EQ(-EINVAL, ef_pkt_build_icmp6_error(out, sizeof(out), b.data(),
						    b.size(), 128, 0, 0, src));
	EXPECT_EQ(-ENOSPC, ef_pkt_build_icmp6_error(out, 40 + 8 + 40, b.data(),
						    b.size(), 3, 0, 0, src));
}

/* ===================== robustness under ASan ===================== */

const std::vector<Bytes> &
all_frames()
{
	static const std::vector<Bytes> v = {
		vec(tcp_syn), vec(udp), vec(udp0), vec(echo_req), vec(echo_rep),
		vec(vlan_tcp), vec(qinq_udp), vec(vlan_nested),
		vec(ip_opts_tcp), vec(frag_first), vec(frag_middle),
		vec(frag_last), vec(ip6_tcp), vec(ip6_ext_udp),
		vec(ip6_frag_first), vec(ip6_frag_last), vec(ip6_chain8),
		vec(ip6_chain9), vec(ip6_echo), vec(icmp_unreach_udp),
		vec(icmp_ttl_tcp8), vec(icmp_ttl_tcpfull),
		vec(icmp_unreach_echo), vec(icmp6_unreach_udp),
		vec(icmp6_ptb_tcp), vec(arp_req), vec(tcp_ack_data),
		vec(ip6_ext_tcp), vec(ip6_udp), vec(ip6_echo_data),
		vec(nd_ns_peer), vec(nd_na_peer), vec(nd_ns_dad),
	};
	return v;
}

/* Run every reader and rewriter that m allows on an exact-size copy. */
void
exercise(const uint8_t *frame, uint32_t len, const struct ef_pkt_meta &m0)
{
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };
	struct ef_pkt_meta m;
	uint8_t out[600];

	{
		Heap h(frame, len);
		m = m0;
		(void)ef_pkt_ip4_csum_ok(h.data(), &m);
		(void)ef_pkt_l4_csum_ok(h.data(), &m);
		ef_pkt_nat4(h.data(), &m, 1, 2, 3, 4);
		ef_pkt_ttl_dec4(h.data(), &m);
		ef_pkt_fill_csums4(h.data(), &m);
		ef_pkt_nat4_icmp_error(h.data(), &m, 1, 2, 3, 4, 5, 6);
	}
	{
		Heap h(frame, len);
		m = m0;
		(void)ef_pkt_arp_reply(h.data(), &m, mac);
	}
	{
		Heap h(frame, len);
		m = m0;
		(void)ef_pkt_icmp4_echo_reply(h.data(), &m);
	}
	{
		Heap h(frame, len);
		m = m0;
		int n = ef_pkt_tcp4_rst_reply(h.data(), &m);
		if (n > 0) {
			EXPECT_LE((uint32_t)(m.l3_off + n), len);
		}
	}
	if (m0.l3_off != 0 && len > m0.l3_off) {
		Heap h(frame + m0.l3_off, len - m0.l3_off);
		int n = ef_pkt_build_icmp4_error(out, sizeof(out), h.data(),
						 h.size(), 3, 4, 1280, 1);
		EXPECT_LE(n, 576);
	}
	{
		static const uint8_t a6[16] = { 0x20, 0x01, 0xd, 0xb8, 1 };
		struct ef_pkt_ndp nd;
		uint8_t out6[1400];
		Heap h(frame, len);

		m = m0;
		(void)ef_pkt_ndp_parse(h.data(), &m, &nd);
		ef_pkt_nat6(h.data(), &m, a6, 2, a6, 4);
		ef_pkt_fill_csums6(h.data(), &m);
		(void)ef_pkt_icmp6_echo_reply(h.data(), &m);
		if (m0.l3_off != 0 && len > m0.l3_off) {
			Heap q(frame + m0.l3_off, len - m0.l3_off);
			int n = ef_pkt_build_icmp6_error(out6, sizeof(out6),
							 q.data(), q.size(),
							 2, 0, 1280, a6);
			EXPECT_LE(n, 1280);
		}
	}
}

TEST(Robust, EveryPrefixOfEveryFrame)
{
	for (const Bytes &f : all_frames()) {
		for (size_t len = 0; len <= f.size(); len++) {
			struct ef_pkt_meta m;
			Heap h(f.data(), len);
			int rc = ef_pkt_parse(h.data(), h.size(), &m);

			ASSERT_TRUE(rc == EF_PKT_OK ||
				    (rc > EF_PKT_ERR_FIRST_ &&
				     rc < EF_PKT_ERR_END_)) << rc;
			if (rc != EF_PKT_OK)
				continue;
			ASSERT_LE((uint32_t)m.l3_off + m.l3_len, len);
			exercise(h.data(), h.size(), m);
		}
	}
}

TEST(Robust, RandomByteMutations)
{
	std::mt19937 rng(99);
	int ok = 0;

	for (int it = 0; it < 20000; it++) {
		const Bytes &f = all_frames()[rng() % all_frames().size()];
		Bytes b = f;
		int flips = 1 + rng() % 4;

		for (int i = 0; i < flips; i++) {
			size_t at = rng() % b.size();
			/* header bytes mostly: that is where the checks are */
			if (rng() % 4)
				at %= std::min<size_t>(b.size(), 80);
			b[at] = (uint8_t)rng();
		}
		if (rng() % 3 == 0) {
			size_t cut = rng() % b.size();

			b.resize(b.size() - cut / 4);
		}
		struct ef_pkt_meta m;
		Heap h(b);
		int rc = ef_pkt_parse(h.data(), h.size(), &m);

		ASSERT_TRUE(rc == EF_PKT_OK ||
			    (rc > EF_PKT_ERR_FIRST_ && rc < EF_PKT_ERR_END_));
		if (rc == EF_PKT_OK) {
			ok++;
			ASSERT_LE((uint32_t)m.l3_off + m.l3_len, h.size());
			if (m.l4_off) {
				ASSERT_LE((uint32_t)m.l4_off + m.l4_len,
					  (uint32_t)m.l3_off + m.l3_len);
			}
			exercise(h.data(), h.size(), m);
		}
	}
	/* both outcomes must be reached for the test to mean anything */
	EXPECT_GT(ok, 1000);
	EXPECT_LT(ok, 19000);
}

} /* namespace */
