/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "frames.h"

Mac
mac_of(const char *text)
{
	Mac m;
	unsigned int v[6];

	sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
	       &v[5]);
	for (int i = 0; i < 6; i++)
		m.b[i] = (uint8_t)v[i];
	return m;
}

uint32_t
ip_of(const char *text)
{
	uint32_t a = 0;

	inet_pton(AF_INET, text, &a);
	return a;
}

uint16_t
csum(const uint8_t *p, size_t n, uint32_t init)
{
	uint32_t s = init;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t
pseudo(uint32_t sip, uint32_t dip, uint8_t proto, size_t len)
{
	const uint8_t *s = (const uint8_t *)&sip, *d = (const uint8_t *)&dip;
	uint32_t sum = 0;

	sum += (uint32_t)(s[0] << 8 | s[1]) + (uint32_t)(s[2] << 8 | s[3]);
	sum += (uint32_t)(d[0] << 8 | d[1]) + (uint32_t)(d[2] << 8 | d[3]);
	sum += proto;
	sum += (uint32_t)len;
	return sum;
}

Bytes
tcp_segment(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
	    uint32_t ack, uint16_t win, const Bytes &data, int wscale)
{
	size_t hlen = wscale >= 0 ? 24 : 20;
	Bytes b(hlen);

	put16(&b[0], sport);
	put16(&b[2], dport);
	put32(&b[4], seq);
	put32(&b[8], ack);
	b[12] = (uint8_t)((hlen / 4) << 4);
	b[13] = flags;
	put16(&b[14], win);
	if (wscale >= 0) {
		b[20] = 1;	/* NOP */
		b[21] = 3;	/* window scale */
		b[22] = 3;
		b[23] = (uint8_t)wscale;
	}
	b.insert(b.end(), data.begin(), data.end());
	return b;
}

Bytes
udp_datagram(uint16_t sport, uint16_t dport, const Bytes &data)
{
	/* sized once: GCC 12 at -O3 warns (-Warray-bounds, a false
	 * positive) on insert() after an 8-byte constructor */
	Bytes b(8 + data.size());

	put16(&b[0], sport);
	put16(&b[2], dport);
	put16(&b[4], (uint16_t)(8 + data.size()));
	std::copy(data.begin(), data.end(), b.begin() + 8);
	return b;
}

Bytes
icmp_message(uint8_t type, uint8_t code, uint32_t rest, const Bytes &data)
{
	Bytes b(8 + data.size());	/* as udp_datagram() */

	b[0] = type;
	b[1] = code;
	put32(&b[4], rest);
	std::copy(data.begin(), data.end(), b.begin() + 8);
	return b;
}

/* The L4 checksum of an unfragmented packet whose L4 header is whole. */
static void
fill_l4_csum(uint8_t *l4, size_t len, const Ip4 &ip)
{
	uint16_t c;

	switch (ip.proto) {
	case 6:
		if (len < 20)
			return;
		put16(l4 + 16, csum(l4, len, pseudo(ip.src, ip.dst, 6, len)));
		break;
	case 17:
		if (len < 8)
			return;
		c = csum(l4, len, pseudo(ip.src, ip.dst, 17, len));
		put16(l4 + 6, c == 0 ? 0xffff : c);	/* RFC 768 */
		break;
	case 1:
		if (len < 8)
			return;
		put16(l4 + 2, csum(l4, len));
		break;
	}
}

Ip4
ip4(const Mac &dmac, const Mac &smac, uint32_t src, uint32_t dst,
    uint8_t proto, uint8_t ttl, uint16_t id, uint16_t frag)
{
	Ip4 ip;

	ip.dmac = dmac;
	ip.smac = smac;
	ip.src = src;
	ip.dst = dst;
	ip.proto = proto;
	ip.ttl = ttl;
	ip.id = id;
	ip.frag = frag;
	return ip;
}

Bytes
ipv4_frame(const Ip4 &ip, const Bytes &l4)
{
	size_t ihl = 20 + ip.options.size();
	Bytes f(14 + ihl);
	uint8_t *h = &f[14];

	memcpy(&f[0], ip.dmac.b, 6);
	memcpy(&f[6], ip.smac.b, 6);
	put16(&f[12], 0x0800);
	h[0] = (uint8_t)(0x40 | (ihl / 4));
	put16(h + 2, (uint16_t)(ihl + l4.size()));
	put16(h + 4, ip.id);
	put16(h + 6, ip.frag);
	h[8] = ip.ttl;
	h[9] = ip.proto;
	memcpy(h + 12, &ip.src, 4);
	memcpy(h + 16, &ip.dst, 4);
	if (!ip.options.empty())	/* data() of an empty vector may be NULL */
		memcpy(h + 20, ip.options.data(), ip.options.size());
	put16(h + 10, csum(h, ihl));
	f.insert(f.end(), l4.begin(), l4.end());
	if (ip.l4_csum && (ip.frag & 0x3fff) == 0 && !l4.empty())
		fill_l4_csum(&f[14 + ihl], l4.size(), ip);
	return f;
}

static Bytes
payload_or(const Bytes &data, size_t n, uint8_t (*byte)(size_t))
{
	Bytes b = data;

	if (b.empty())
		for (size_t i = 0; i < n; i++)
			b.push_back(byte(i));
	return b;
}

static uint8_t
counting(size_t i)
{
	return (uint8_t)i;
}

static uint8_t
letters(size_t i)
{
	return (uint8_t)('a' + i % 26);
}

Bytes
tcp_frame(const Tcp &t)
{
	return ipv4_frame(ip4(t.dmac, t.smac, t.sip, t.dip, 6, t.ttl, t.id,
			      t.df ? 0x4000 : 0),
			  tcp_segment(t.sport, t.dport, t.flags, t.seq, t.ack,
				      t.win,
				      payload_or(t.data, t.payload, counting),
				      t.wscale));
}

Bytes
tcp_opts_frame(const Tcp &t, const Bytes &opts)
{
	Bytes l4 = tcp_segment(t.sport, t.dport, t.flags, t.seq, t.ack, t.win,
			       t.data);
	l4.insert(l4.begin() + 20, opts.begin(), opts.end());
	l4[12] = (uint8_t)(((20 + opts.size()) / 4) << 4);
	return ipv4_frame(ip4(t.dmac, t.smac, t.sip, t.dip, 6, t.ttl, t.id,
			      t.df ? 0x4000 : 0), l4);
}

void
put32(Bytes &b, uint32_t v)
{
	b.push_back((uint8_t)(v >> 24));
	b.push_back((uint8_t)(v >> 16));
	b.push_back((uint8_t)(v >> 8));
	b.push_back((uint8_t)v);
}

Bytes
sack_opt(uint32_t l, uint32_t r)
{
	Bytes o = { 1, 1, 5, 10 };
	put32(o, l);
	put32(o, r);
	return o;
}

Bytes
udp_frame(const Udp &u)
{
	return ipv4_frame(ip4(u.dmac, u.smac, u.sip, u.dip, 17, u.ttl, u.id,
			      u.df ? 0x4000 : 0),
			  udp_datagram(u.sport, u.dport,
				       payload_or(u.data, u.payload, letters)));
}

Bytes
arp_request(const Mac &smac, uint32_t sip, uint32_t tip)
{
	static const uint8_t hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	Bytes f(60, 0);	/* padded to the Ethernet minimum */
	uint8_t *a = &f[14];

	memset(&f[0], 0xff, 6);
	memcpy(&f[6], smac.b, 6);
	put16(&f[12], 0x0806);
	memcpy(a, hdr, sizeof(hdr));
	memcpy(a + 8, smac.b, 6);
	memcpy(a + 14, &sip, 4);
	memcpy(a + 24, &tip, 4);
	return f;
}

static Bytes
icmp_frame(const Mac &dmac, const Mac &smac, uint32_t sip, uint32_t dip,
	   uint16_t ip_id, const Bytes &icmp)
{
	return ipv4_frame(ip4(dmac, smac, sip, dip, 1, 64, ip_id), icmp);
}

Bytes
icmp_echo_frame(const Mac &dmac, const Mac &smac, uint32_t sip, uint32_t dip,
		uint8_t type, uint16_t id, uint16_t seq, const Bytes &data,
		uint16_t ip_id)
{
	return icmp_frame(dmac, smac, sip, dip, ip_id,
			  icmp_message(type, 0, (uint32_t)id << 16 | seq,
				       data));
}

Bytes
icmp_error_frame(const Mac &dmac, const Mac &smac, uint32_t sip, uint32_t dip,
		 uint8_t type, uint8_t code, uint16_t mtu, const Bytes &quoted,
		 size_t quote)
{
	size_t q = quoted.size() < quote ? quoted.size() : quote;

	return icmp_frame(dmac, smac, sip, dip, 0x7777,
			  icmp_message(type, code, mtu,
				       Bytes(quoted.begin(),
					     quoted.begin() + (long)q)));
}

bool
checksums_ok(const Bytes &f)
{
	if (f.size() < 34 || f[12] != 0x08 || f[13] != 0x00)
		return false;
	const uint8_t *ip = &f[14];
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	size_t tot = (size_t)(ip[2] << 8 | ip[3]);
	if (14 + tot > f.size() || csum(ip, ihl) != 0)
		return false;
	const uint8_t *l4 = ip + ihl;
	size_t l4len = tot - ihl;
	uint32_t sip, dip;
	memcpy(&sip, ip + 12, 4);
	memcpy(&dip, ip + 16, 4);
	switch (ip[9]) {
	case 6:
		return csum(l4, l4len, pseudo(sip, dip, 6, l4len)) == 0;
	case 17:
		if (l4[6] == 0 && l4[7] == 0)
			return true;
		return csum(l4, l4len, pseudo(sip, dip, 17, l4len)) == 0;
	case 1:
		return csum(l4, l4len) == 0;
	}
	return true;
}

std::string
hex(const Bytes &b)
{
	std::string s;
	char buf[4];

	for (size_t i = 0; i < b.size(); i++) {
		snprintf(buf, sizeof(buf), "%02x", b[i]);
		s += buf;
		if (i % 16 == 15)
			s += "\n";
		else
			s += " ";
	}
	return s;
}

/* ---- IPv6 (issue 12) ---------------------------------------------------- */

Ip6a
ip6_of(const char *text)
{
	Ip6a a = {};

	inet_pton(AF_INET6, text, a.b);
	return a;
}

Bytes
ipv6_frame(const Mac &dmac, const Mac &smac, const Ip6a &src, const Ip6a &dst,
	   uint8_t proto, const Bytes &l4, uint8_t hlim)
{
	Bytes f(14 + 40, 0);
	uint32_t sum = 0;
	size_t off = proto == 6 ? 16 : proto == 17 ? 6 : 2;

	memcpy(&f[0], dmac.b, 6);
	memcpy(&f[6], smac.b, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	put16(&f[18], (uint16_t)l4.size());
	f[20] = proto;
	f[21] = hlim;
	memcpy(&f[22], src.b, 16);
	memcpy(&f[38], dst.b, 16);
	f.insert(f.end(), l4.begin(), l4.end());
	/* RFC 8200 8.1 pseudo-header: addresses, length, next header */
	for (int i = 0; i < 32; i += 2)
		sum += (uint32_t)(f[22 + i] << 8 | f[22 + i + 1]);
	sum += (uint32_t)l4.size() + proto;
	/* other protocols (4, 41: a tunnel's inner packet) have none */
	if ((proto == 6 || proto == 17 || proto == 58) &&
	    l4.size() >= off + 2) {
		f[54 + off] = f[54 + off + 1] = 0;
		uint16_t c = csum(&f[54], l4.size(), sum);

		if (c == 0 && proto == 17)
			c = 0xffff;
		put16(&f[54 + off], c);
	}
	return f;
}

Bytes
tcp6_frame(const Tcp6 &t)
{
	Bytes data(t.data.empty() ? t.payload : 0);

	for (size_t i = 0; i < data.size(); i++)
		data[i] = (uint8_t)i;
	if (!t.data.empty())
		data = t.data;
	return ipv6_frame(t.dmac, t.smac, t.sip, t.dip, 6,
			  tcp_segment(t.sport, t.dport, t.flags, t.seq, t.ack,
				      65535, data), t.hlim);
}

Bytes
udp6_frame(const Mac &dmac, const Mac &smac, const Ip6a &src, const Ip6a &dst,
	   uint16_t sport, uint16_t dport, const Bytes &data, uint8_t hlim)
{
	return ipv6_frame(dmac, smac, src, dst, 17,
			  udp_datagram(sport, dport, data), hlim);
}

Bytes
ns_frame(const Mac &smac, const Ip6a &src, const Ip6a &target)
{
	static const Ip6a unspec = {};
	Mac dmac = { { 0x33, 0x33, 0xff, target.b[13], target.b[14],
		       target.b[15] } };
	Ip6a group = ip6_of("ff02::1:ff00:0");
	Bytes l4(24, 0);

	memcpy(&group.b[13], &target.b[13], 3);
	l4[0] = 135;
	memcpy(&l4[8], target.b, 16);
	if (memcmp(src.b, unspec.b, 16) != 0) {
		l4.push_back(1);	/* source link-layer address, 8 bytes */
		l4.push_back(1);
		l4.insert(l4.end(), smac.b, smac.b + 6);
	}
	return ipv6_frame(dmac, smac, src, group, 58, l4, 255);
}

Bytes
echo6_frame(const Mac &dmac, const Mac &smac, const Ip6a &src, const Ip6a &dst,
	    uint16_t id, uint16_t seq)
{
	Bytes l4(8, 0);

	l4[0] = 128;
	put16(&l4[4], id);
	put16(&l4[6], seq);
	l4.insert(l4.end(), { 'p', 'i', 'n', 'g' });
	return ipv6_frame(dmac, smac, src, dst, 58, l4);
}
