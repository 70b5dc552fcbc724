/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PROXY protocol headers and the TCP rewrites of a stream carrying one
 * (ef_pkt_proxy.h).
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "ef_pkt.h"
#include "ef_pkt_proxy.h"

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a,
};

/* Decimal digits of v at p (no terminator); the worker calls this, so no
 * stdio. Returns their count. */
static uint32_t
put_dec(char *p, uint32_t v)
{
	char t[10];
	uint32_t n = 0, k = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n != 0)
		p[k++] = t[--n];
	return k;
}

static uint32_t
put_ip4(char *p, uint32_t a)
{
	const uint8_t *b = (const uint8_t *)&a;
	uint32_t n = 0;

	for (int i = 0; i < 4; i++) {
		if (i != 0)
			p[n++] = '.';
		n += put_dec(p + n, b[i]);
	}
	return n;
}

uint32_t
ef_proxy_hdr_v1(uint8_t *out, uint32_t src, uint16_t sport, uint32_t dst,
		uint16_t dport)
{
	char *p = (char *)out;
	uint32_t n;

	memcpy(p, "PROXY TCP4 ", 11);
	n = 11;
	n += put_ip4(p + n, src);
	p[n++] = ' ';
	n += put_ip4(p + n, dst);
	p[n++] = ' ';
	n += put_dec(p + n, rte_be_to_cpu_16(sport));
	p[n++] = ' ';
	n += put_dec(p + n, rte_be_to_cpu_16(dport));
	p[n++] = '\r';
	p[n++] = '\n';
	return n;
}

uint32_t
ef_proxy_hdr_v2(uint8_t *out, uint32_t src, uint16_t sport, uint32_t dst,
		uint16_t dport)
{
	memcpy(out, v2_sig, sizeof(v2_sig));
	out[12] = 0x21;		/* version 2, PROXY */
	out[13] = 0x11;		/* AF_INET, STREAM */
	out[14] = 0;
	out[15] = 12;		/* address block length */
	memcpy(out + 16, &src, 4);
	memcpy(out + 20, &dst, 4);
	memcpy(out + 24, &sport, 2);
	memcpy(out + 26, &dport, 2);
	return EF_PROXY_V2_LEN4;
}

uint32_t
ef_proxy_hdr_v1_6(uint8_t *out, const uint8_t src[16], uint16_t sport,
		  const uint8_t dst[16], uint16_t dport)
{
	char *p = (char *)out;
	struct ef_addr a = { .family = EF_AF_INET6 };
	char t[EF_ADDR_STRLEN];
	uint32_t n, k;

	memcpy(p, "PROXY TCP6 ", 11);
	n = 11;
	memcpy(a.v6, src, 16);
	ef_addr_fmt(&a, t, sizeof(t));
	k = (uint32_t)strlen(t);
	memcpy(p + n, t, k);
	n += k;
	p[n++] = ' ';
	memcpy(a.v6, dst, 16);
	ef_addr_fmt(&a, t, sizeof(t));
	k = (uint32_t)strlen(t);
	memcpy(p + n, t, k);
	n += k;
	p[n++] = ' ';
	n += put_dec(p + n, rte_be_to_cpu_16(sport));
	p[n++] = ' ';
	n += put_dec(p + n, rte_be_to_cpu_16(dport));
	p[n++] = '\r';
	p[n++] = '\n';
	return n;
}

uint32_t
ef_proxy_hdr_v2_6(uint8_t *out, const uint8_t src[16], uint16_t sport,
		  const uint8_t dst[16], uint16_t dport)
{
	memcpy(out, v2_sig, sizeof(v2_sig));
	out[12] = 0x21;		/* version 2, PROXY */
	out[13] = 0x21;		/* AF_INET6, STREAM */
	out[14] = 0;
	out[15] = 36;		/* address block length */
	memcpy(out + 16, src, 16);
	memcpy(out + 32, dst, 16);
	memcpy(out + 48, &sport, 2);
	memcpy(out + 50, &dport, 2);
	return EF_PROXY_V2_LEN6;
}

/* The TCP header (+ options) and payload of s at th; its length. */
static uint32_t
tcp_part(struct rte_tcp_hdr *th, const struct ef_pkt_tcp4_seg *s)
{
	uint32_t mlen = s->mss != 0 ? 4 : 0;
	uint32_t optlen = mlen + (s->has_ts ? 12 : 0);
	uint8_t *o = (uint8_t *)(th + 1);

	th->src_port = s->sport;
	th->dst_port = s->dport;
	th->sent_seq = rte_cpu_to_be_32(s->seq);
	th->recv_ack = rte_cpu_to_be_32(s->ack);
	th->data_off = (uint8_t)(((20 + optlen) / 4) << 4);
	th->tcp_flags = s->flags;
	th->rx_win = rte_cpu_to_be_16(s->win);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (s->mss != 0) {
		o[0] = 2;
		o[1] = 4;
		o[2] = (uint8_t)(s->mss >> 8);
		o[3] = (uint8_t)s->mss;
		o += 4;
	}
	if (s->has_ts) {
		uint32_t v = rte_cpu_to_be_32(s->tsval);
		uint32_t e = rte_cpu_to_be_32(s->tsecr);

		o[0] = 1;
		o[1] = 1;
		o[2] = 8;
		o[3] = 10;
		memcpy(o + 4, &v, 4);
		memcpy(o + 8, &e, 4);
	}
	if (s->len != 0)
		memcpy((uint8_t *)(th + 1) + optlen, s->payload, s->len);
	return 20 + optlen + s->len;
}

static inline uint32_t
tcp_len(const struct ef_pkt_tcp4_seg *s)
{
	return 20 + (s->mss != 0 ? 4 : 0) + (s->has_ts ? 12 : 0) + s->len;
}

uint32_t
ef_pkt_build_tcp6(uint8_t *out, uint32_t cap, const struct ef_pkt_tcp4_seg *s)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)out;
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eh + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint32_t l4 = tcp_len(s);

	if (14 + 40 + l4 > cap)
		return 0;
	memcpy(eh->dst_addr.addr_bytes, s->dmac, 6);
	memcpy(eh->src_addr.addr_bytes, s->smac, 6);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)l4);
	ip->proto = IPPROTO_TCP;
	ip->hop_limits = 64;
	memcpy(ip->src_addr, s->src6, 16);
	memcpy(ip->dst_addr, s->dst6, 16);
	tcp_part(th, s);
	th->cksum = rte_ipv6_udptcp_cksum(ip, th);
	return 14 + 40 + l4;
}

uint32_t
ef_pkt_build_tcp4(uint8_t *out, uint32_t cap, const struct ef_pkt_tcp4_seg *s)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)out;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint32_t l3 = 20 + tcp_len(s);

	if (14 + l3 > cap)
		return 0;
	memcpy(eh->dst_addr.addr_bytes, s->dmac, 6);
	memcpy(eh->src_addr.addr_bytes, s->smac, 6);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)l3);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = s->src;
	ip->dst_addr = s->dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp_part(th, s);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return 14 + l3;
}

/* Replace bytes [off, off + n) of the TCP header at th with nw, updating
 * its checksum over the 16-bit words they touch (any alignment). */
static void
tcp_replace(uint8_t *th, uint32_t off, const void *nw, uint32_t n)
{
	uint32_t s = off & ~1u, e = (off + n + 1) & ~1u;
	uint16_t old_sum, new_sum, c;

	old_sum = ef_csum_raw(th + s, e - s, 0);
	memcpy(th + off, nw, n);
	new_sum = ef_csum_raw(th + s, e - s, 0);
	memcpy(&c, th + 16, 2);
	c = ef_csum_update16(c, old_sum, new_sum);
	memcpy(th + 16, &c, 2);
}

void
ef_pkt_tcp_seq_add(uint8_t *frame, const struct ef_pkt_meta *m, uint32_t delta)
{
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(frame + m->l4_off);
	uint32_t o = th->sent_seq;
	uint32_t n = rte_cpu_to_be_32(rte_be_to_cpu_32(o) + delta);

	th->sent_seq = n;
	th->cksum = ef_csum_update32(th->cksum, o, n);
}

static inline uint32_t
unshift(uint32_t x, uint32_t base, uint32_t h)
{
	if ((int32_t)(x - (base + h)) >= 0)
		return x - h;
	if ((int32_t)(x - base) > 0)
		return base;
	return x;
}

/* One way to map an acknowledgement-space number (ack, SACK edge). */
struct ack_map {
	uint32_t base;		/* unshift: [base, base + h) removed */
	uint32_t h;
	uint32_t delta;		/* else: add delta */
	bool add;
};

static inline uint32_t
map_one(const struct ack_map *am, uint32_t x)
{
	return am->add ? x + am->delta : unshift(x, am->base, am->h);
}

static void
map_acks(uint8_t *frame, const struct ef_pkt_meta *m, const struct ack_map *am)
{
	uint8_t *th = frame + m->l4_off;
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)th;
	uint32_t hl = (uint32_t)(t->data_off >> 4) * 4;

	if (m->tcp_flags & RTE_TCP_ACK_FLAG) {
		uint32_t o = t->recv_ack;
		uint32_t n = rte_cpu_to_be_32(map_one(am,
						      rte_be_to_cpu_32(o)));

		if (n != o) {
			t->recv_ack = n;
			t->cksum = ef_csum_update32(t->cksum, o, n);
		}
	}
	/* SACK blocks (kind 5): each edge in the other peer's view of the
	 * sender's stream */
	for (uint32_t i = 20; i < hl;) {
		uint8_t kind = th[i];
		uint32_t len;

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hl)
			break;
		len = th[i + 1];
		if (len < 2 || i + len > hl)
			break;
		if (kind == 5) {
			for (uint32_t b = i + 2; b + 4 <= i + len; b += 4) {
				uint32_t v, nv;

				memcpy(&v, th + b, 4);
				nv = rte_cpu_to_be_32(map_one(am,
					rte_be_to_cpu_32(v)));
				if (nv != v)
					tcp_replace(th, b, &nv, 4);
			}
		}
		i += len;
	}
}

void
ef_pkt_tcp_ack_unshift(uint8_t *frame, const struct ef_pkt_meta *m,
		       uint32_t base, uint32_t h)
{
	const struct ack_map am = { .base = base, .h = h, .add = false };

	map_acks(frame, m, &am);
}

void
ef_pkt_tcp_ack_add(uint8_t *frame, const struct ef_pkt_meta *m,
		   uint32_t delta)
{
	const struct ack_map am = { .delta = delta, .add = true };

	map_acks(frame, m, &am);
}

bool
ef_pkt_tcp_ts(const uint8_t *frame, const struct ef_pkt_meta *m,
	      uint32_t *tsval, uint32_t *tsecr)
{
	const uint8_t *th = frame + m->l4_off;
	uint32_t hl = (uint32_t)(th[12] >> 4) * 4;

	for (uint32_t i = 20; i < hl;) {
		uint8_t kind = th[i];
		uint32_t len;

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hl)
			break;
		len = th[i + 1];
		if (len < 2 || i + len > hl)
			break;
		if (kind == 8 && len == 10) {
			uint32_t v, e;

			memcpy(&v, th + i + 2, 4);
			memcpy(&e, th + i + 6, 4);
			*tsval = rte_be_to_cpu_32(v);
			*tsecr = rte_be_to_cpu_32(e);
			return true;
		}
		i += len;
	}
	return false;
}
