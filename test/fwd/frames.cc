/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
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
eth(Bytes &f, const Mac &d, const Mac &s, uint16_t type)
{
	f.insert(f.end(), d.b, d.b + 6);
	f.insert(f.end(), s.b, s.b + 6);
	f.push_back((uint8_t)(type >> 8));
	f.push_back((uint8_t)type);
}

static void
ip4(Bytes &f, uint32_t sip, uint32_t dip, uint8_t proto, size_t l4len,
    uint8_t ttl, uint16_t id, bool df)
{
	size_t o = f.size();

	f.resize(o + 20);
	uint8_t *h = &f[o];
	h[0] = 0x45;
	put16(h + 2, (uint16_t)(20 + l4len));
	put16(h + 4, id);
	put16(h + 6, df ? 0x4000 : 0);
	h[8] = ttl;
	h[9] = proto;
	memcpy(h + 12, &sip, 4);
	memcpy(h + 16, &dip, 4);
	put16(h + 10, csum(h, 20));
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
tcp_frame(const Tcp &t)
{
	Bytes f;
	size_t l4 = 20 + t.payload;

	eth(f, t.dmac, t.smac, 0x0800);
	ip4(f, t.sip, t.dip, 6, l4, t.ttl, t.id, t.df);
	size_t o = f.size();
	f.resize(o + l4);
	uint8_t *h = &f[o];
	put16(h, t.sport);
	put16(h + 2, t.dport);
	uint32_t seq = htonl(t.seq), ack = htonl(t.ack);
	memcpy(h + 4, &seq, 4);
	memcpy(h + 8, &ack, 4);
	h[12] = 5 << 4;
	h[13] = t.flags;
	put16(h + 14, t.win);
	for (size_t i = 0; i < t.payload; i++)
		h[20 + i] = (uint8_t)i;
	put16(h + 16, csum(h, l4, pseudo(t.sip, t.dip, 6, l4)));
	return f;
}

Bytes
udp_frame(const Udp &u)
{
	Bytes f;
	size_t l4 = 8 + u.payload;

	eth(f, u.dmac, u.smac, 0x0800);
	ip4(f, u.sip, u.dip, 17, l4, u.ttl, u.id, false);
	size_t o = f.size();
	f.resize(o + l4);
	uint8_t *h = &f[o];
	put16(h, u.sport);
	put16(h + 2, u.dport);
	put16(h + 4, (uint16_t)l4);
	for (size_t i = 0; i < u.payload; i++)
		h[8 + i] = (uint8_t)('a' + i % 26);
	uint16_t c = csum(h, l4, pseudo(u.sip, u.dip, 17, l4));
	put16(h + 6, c == 0 ? 0xffff : c);
	return f;
}

Bytes
arp_request(const Mac &smac, uint32_t sip, uint32_t tip)
{
	Bytes f;
	Mac bc = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

	eth(f, bc, smac, 0x0806);
	uint8_t a[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memcpy(a + 8, smac.b, 6);
	memcpy(a + 14, &sip, 4);
	memcpy(a + 24, &tip, 4);
	f.insert(f.end(), a, a + 28);
	f.resize(60, 0);
	return f;
}

Bytes
icmp_error_frame(const Mac &dmac, const Mac &smac, uint32_t sip, uint32_t dip,
		 uint8_t type, uint8_t code, uint16_t mtu, const Bytes &quoted)
{
	Bytes f;
	size_t q = quoted.size() < 28 ? quoted.size() : 28;
	size_t l4 = 8 + q;

	eth(f, dmac, smac, 0x0800);
	ip4(f, sip, dip, 1, l4, 64, 0x7777, false);
	size_t o = f.size();
	f.resize(o + l4);
	uint8_t *h = &f[o];
	h[0] = type;
	h[1] = code;
	put16(h + 6, mtu);
	memcpy(h + 8, quoted.data(), q);
	put16(h + 2, csum(h, l4));
	return f;
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
