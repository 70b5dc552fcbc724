/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SNAT port slices, port picking against the worker's conntrack, and the
 * flow rewrites (through lib/pkt's incremental-checksum rewrites).
 */

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_thash.h>

#include "ef_nat.h"

int
ef_nat_map_init(struct ef_nat_map *m, const struct ef_addr *addrs,
		uint32_t n, uint16_t port_min, uint16_t port_max,
		uint32_t n_workers)
{
	uint32_t i, j, ports;

	if (m == NULL || addrs == NULL || n == 0 || n > EF_NAT_MAX_ADDRS ||
	    n_workers == 0 || port_min == 0 || port_min > port_max)
		return -EINVAL;
	ports = (uint32_t)port_max - port_min + 1;
	if (ports < n_workers)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	for (i = 0; i < n; i++) {
		if (addrs[i].family != EF_AF_INET4)
			return -EAFNOSUPPORT;
		if (addrs[i].v4 == 0)
			return -EINVAL;
		for (j = 0; j < i; j++) {
			if (m->addrs[j] == addrs[i].v4)
				return -EINVAL;
		}
		m->addrs[i] = addrs[i].v4;
	}
	m->n_addrs = n;
	m->n_workers = n_workers;
	m->slice = ports / n_workers;
	m->port_min = port_min;
	m->port_max = port_max;
	return 0;
}

static int
rss_proto(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return EF_NAT_RSS_P_TCP;
	case IPPROTO_UDP:
		return EF_NAT_RSS_P_UDP;
	case IPPROTO_ICMP:
		return EF_NAT_RSS_P_ICMP;
	default:
		return -1;
	}
}

int
ef_nat_map_set_rss(struct ef_nat_map *m, const struct ef_nat_rss *r)
{
	struct ef_nat_rss_model *md = &m->rss;
	uint32_t t[3] = { 0, 0, 0 }, i;

	if (r == NULL) {
		m->rss_on = false;
		return 0;
	}
	if (r->key_len < 16 || r->key_len > EF_NAT_RSS_KEY_MAX ||
	    r->key_len % 4 != 0 || r->reta_size == 0 ||
	    r->reta_size > EF_NAT_RSS_RETA_MAX ||
	    (r->reta_size & (r->reta_size - 1)) != 0 ||
	    r->tcp > EF_NAT_RSS_L4 || r->udp > EF_NAT_RSS_L4 ||
	    r->icmp > EF_NAT_RSS_L3)
		return -EINVAL;
	m->rss_on = false;
	memset(md, 0, sizeof(*md));
	/* rte_softrss_be() wants the key with its 32-bit words swapped */
	rte_convert_rss_key((const uint32_t *)(const void *)r->key,
			    (uint32_t *)(void *)md->key_be, (int)r->key_len);
	md->key_len = r->key_len;
	md->reta_mask = r->reta_size - 1;
	md->fields[EF_NAT_RSS_P_TCP] = r->tcp;
	md->fields[EF_NAT_RSS_P_UDP] = r->udp;
	md->fields[EF_NAT_RSS_P_ICMP] = r->icmp;
	memcpy(md->reta, r->reta, sizeof(md->reta[0]) * r->reta_size);
	/* the third tuple word is sport << 16 | dport (struct
	 * rte_ipv4_tuple, host order): dport's bytes alone */
	for (i = 0; i < 256; i++) {
		t[2] = i << 8;
		md->dport_hi[i] = rte_softrss_be(t, RTE_THASH_V4_L4_LEN,
						 md->key_be);
		t[2] = i;
		md->dport_lo[i] = rte_softrss_be(t, RTE_THASH_V4_L4_LEN,
						 md->key_be);
	}
	m->rss_on = true;
	return 0;
}

/* Hash of src:sport -> dst:dport over fields (network order in). */
static uint32_t
rss_hash(const struct ef_nat_rss_model *md, uint8_t fields, uint32_t src,
	 uint16_t sport, uint32_t dst, uint16_t dport)
{
	uint32_t t[3];

	t[0] = rte_be_to_cpu_32(src);
	t[1] = rte_be_to_cpu_32(dst);
	t[2] = (uint32_t)rte_be_to_cpu_16(sport) << 16 |
		rte_be_to_cpu_16(dport);
	return rte_softrss_be(t, fields == EF_NAT_RSS_L4 ?
			      RTE_THASH_V4_L4_LEN : RTE_THASH_V4_L3_LEN,
			      md->key_be);
}

uint32_t
ef_nat_rss_queue(const struct ef_nat_map *m, uint32_t src, uint16_t sport,
		 uint32_t dst, uint16_t dport, uint8_t proto)
{
	const struct ef_nat_rss_model *md = &m->rss;
	int p = rss_proto(proto);
	uint8_t f;

	if (!m->rss_on || p < 0)
		return UINT32_MAX;
	f = md->fields[p];
	if (f == EF_NAT_RSS_NONE)
		return 0;
	return md->reta[rss_hash(md, f, src, sport, dst, dport) &
			md->reta_mask];
}

void
ef_nat_slice(const struct ef_nat_map *m, uint32_t w, uint16_t *lo,
	     uint16_t *hi)
{
	*lo = (uint16_t)(m->port_min + w * m->slice);
	*hi = (uint16_t)(m->port_min + (w + 1) * m->slice - 1);
}

int
ef_nat_worker_init(struct ef_nat_worker *w, const struct ef_nat_map *m,
		   uint32_t worker, uint32_t seed)
{
	uint16_t hi;
	uint32_t a;

	if (w == NULL || m == NULL || worker >= m->n_workers)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->map = m;
	w->worker = worker;
	ef_nat_slice(m, worker, &w->lo, &hi);
	for (a = 0; a < m->n_addrs; a++)
		w->cursor[a] = rte_hash_crc_4byte(a ^ (worker << 8), seed) %
			m->slice;
	return 0;
}

/*
 * The RSS walk: from the cursor, up to EF_NAT_RSS_PROBES candidates of the
 * slice whose reply queue is ours, the first not in ct taken (at most
 * EF_NAT_PROBES conntrack lookups). The reply's hash is base (dport = 0)
 * XOR dport's part, from the map's tables. 0 with k->dport set, or
 * -ENOENT.
 */
static int
rss_walk(struct ef_nat_worker *w, const struct ef_ct *ct, uint32_t a,
	 struct ef_ct_key4 *k)
{
	const struct ef_nat_map *m = w->map;
	const struct ef_nat_rss_model *md = &m->rss;
	uint32_t base, h, i, off, n, looked = 0;
	uint16_t port;

	base = rss_hash(md, EF_NAT_RSS_L4, k->src, k->sport, k->dst, 0);
	n = RTE_MIN((uint32_t)EF_NAT_RSS_PROBES, m->slice);
	off = w->cursor[a];
	for (i = 0; i < n && looked < EF_NAT_PROBES; i++) {
		port = (uint16_t)(w->lo + off);
		if (++off == m->slice)
			off = 0;
		h = base ^ md->dport_hi[port >> 8] ^ md->dport_lo[port & 0xff];
		if (md->reta[h & md->reta_mask] != w->worker)
			continue;
		looked++;
		k->dport = rte_cpu_to_be_16(port);
		if (!ef_ct_key_in_use(ct, k)) {
			w->cursor[a] = off;
			return 0;
		}
	}
	w->cursor[a] = off;
	return -ENOENT;
}

bool
ef_nat_snat_first_probe(const struct ef_nat_worker *w, uint32_t client,
			uint32_t endpoint, uint16_t eport, uint8_t proto,
			uint16_t ahead[EF_NAT_MAX_ADDRS], struct ef_ct_key4 *k)
{
	const struct ef_nat_map *m = w->map;
	uint32_t a, off;
	int p = rss_proto(proto);

	if (proto == IPPROTO_ICMP || m->n_addrs == 0 || m->slice == 0 ||
	    (m->rss_on && p >= 0 && m->rss.fields[p] == EF_NAT_RSS_L4))
		return false;
	/* as ef_nat_snat_pick() */
	a = rte_hash_crc_4byte(client, 0) % m->n_addrs;
	off = (w->cursor[a] + ahead[a]++) % m->slice;
	memset(k, 0, sizeof(*k));
	k->src = endpoint;
	k->dst = m->addrs[a];
	k->sport = eport;
	k->dport = rte_cpu_to_be_16((uint16_t)(w->lo + off));
	k->proto = proto;
	return true;
}

int
ef_nat_snat_pick(struct ef_nat_worker *w, const struct ef_ct *ct,
		 uint32_t client, uint16_t cport, uint32_t endpoint,
		 uint16_t eport, uint8_t proto, uint32_t *snat,
		 uint16_t *sport)
{
	const struct ef_nat_map *m = w->map;
	struct ef_ct_key4 k;
	uint32_t a, i, off, probes, q;
	uint16_t port;
	int p;

	(void)cport;
	/* Same address for a client on every worker: stable per client. */
	a = rte_hash_crc_4byte(client, 0) % m->n_addrs;
	memset(&k, 0, sizeof(k));
	k.src = endpoint;
	k.dst = m->addrs[a];
	k.sport = eport;
	k.proto = proto;
	p = rss_proto(proto);
	if (m->rss_on && p >= 0 && m->rss.fields[p] == EF_NAT_RSS_L4 &&
	    rss_walk(w, ct, a, &k) == 0) {
		w->picks++;
		w->rss_picks++;
		*snat = m->addrs[a];
		*sport = k.dport;
		return 0;
	}
	probes = RTE_MIN((uint32_t)EF_NAT_PROBES, m->slice);
	off = w->cursor[a];
	for (i = 0; i < probes; i++) {
		port = rte_cpu_to_be_16((uint16_t)(w->lo + off));
		if (++off == m->slice)
			off = 0;
		k.dport = port;
		if (proto == IPPROTO_ICMP)
			k.sport = port;	/* echo keys: sport = dport = id */
		if (!ef_ct_key_in_use(ct, &k)) {
			w->cursor[a] = off;
			w->picks++;
			if (m->rss_on && p >= 0) {
				/* L3 hashing: the addresses decide, any
				 * port does; L4: the walk found none */
				q = ef_nat_rss_queue(m, k.src, k.sport,
						     k.dst, port, proto);
				if (q == w->worker)
					w->rss_picks++;
				else
					w->rss_fallback++;
			}
			*snat = m->addrs[a];
			*sport = port;
			return 0;
		}
	}
	w->cursor[a] = off;
	w->exhausted++;
	return -ENOSPC;
}

void
ef_nat_apply(uint8_t *frame, struct ef_pkt_meta *m,
	     const struct ef_ct_flow *f, uint8_t dir)
{
	uint32_t src;
	uint16_t sport, id;

	if (dir == 0) {
		src = f->snat != 0 ? f->snat : m->src.v4;
		sport = f->snat != 0 ? f->sport_snat : m->sport;
		/* Echo: one id per side, passed as both ports. */
		if (f->proto == IPPROTO_ICMP) {
			id = f->snat != 0 ? f->sport_snat : f->cport;
			ef_pkt_nat4(frame, m, src, id, f->endpoint, id);
		} else {
			ef_pkt_nat4(frame, m, src, sport, f->endpoint,
				    f->eport);
		}
	} else {
		if (f->proto == IPPROTO_ICMP)
			ef_pkt_nat4(frame, m, f->frontend, f->cport,
				    f->client, f->cport);
		else
			ef_pkt_nat4(frame, m, f->frontend, f->fport,
				    f->client, f->cport);
	}
}

int
ef_nat_icmp_key(const struct ef_pkt_meta *m, struct ef_ct_key4 *k)
{
	if (m->ip_version != 4 || !(m->flags & EF_PKT_F_ICMP_ERROR) ||
	    m->inner_src.family != EF_AF_INET4)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->src = m->inner_dst.v4;
	k->dst = m->inner_src.v4;
	k->sport = m->inner_dport;
	k->dport = m->inner_sport;
	k->proto = m->inner_proto;
	if (m->inner_proto == IPPROTO_ICMP)
		k->sport = k->dport;	/* echo: both carry the id */
	return 0;
}

void
ef_nat_apply_icmp_error(uint8_t *frame, struct ef_pkt_meta *m,
			const struct ef_ct_flow *f, uint8_t dir)
{
	uint32_t rdst;
	uint16_t rport;
	bool echo = f->proto == IPPROTO_ICMP;

	if (dir == 1) {
		/* Quoted: what the client sent, client:cport -> frontend:fport. */
		ef_pkt_nat4_icmp_error(frame, m, f->frontend, f->client,
				       f->client, f->cport, f->frontend,
				       echo ? f->cport : f->fport);
	} else {
		/* Quoted: what the endpoint sent, endpoint:eport -> us. */
		rdst = f->snat != 0 ? f->snat : f->client;
		rport = f->snat != 0 ? f->sport_snat : f->cport;
		ef_pkt_nat4_icmp_error(frame, m,
				       f->snat != 0 ? f->snat : m->src.v4,
				       f->endpoint, f->endpoint,
				       echo ? rport : f->eport, rdst, rport);
	}
}
