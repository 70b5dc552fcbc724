/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SYN cookies and the SYN proxy behind them (fwd_syn.h says how).
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#include <rte_random.h>
#include <rte_tcp.h>

#include "ef_fwd.h"
#include "ef_pkt_proxy.h"
#include "fwd_priv.h"
#include "fwd_proxy.h"
#include "fwd_syn.h"

/* MSS values a cookie can carry, ascending (Linux's table is similar:
 * 536, 1300, 1440, 1460). */
static const uint16_t mss_table[4] = { 536, 1220, 1440, 1460 };

uint16_t
ef_fwd_syn_mss(uint32_t idx)
{
	return mss_table[idx & 3];
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
	do { \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 of n 64-bit words (an 8n-byte message). Written here: no
 * kept library of the image has SipHash (DPDK's hashes are not keyed
 * PRFs, and a cookie must not be forgeable). */
static uint64_t
siphash24(const uint64_t k[2], const uint64_t *msg, uint32_t n)
{
	uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k[1] ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)(8u * n) << 56;

	for (uint32_t i = 0; i < n; i++) {
		v3 ^= msg[i];
		SIPROUND;
		SIPROUND;
		v0 ^= msg[i];
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint32_t
ef_fwd_syn_cookie(const uint64_t key[2], uint32_t client, uint16_t cport,
		  uint32_t frontend, uint16_t fport, uint32_t isn,
		  uint32_t slot, uint32_t mss_idx)
{
	uint64_t msg[3];
	uint64_t h;

	msg[0] = (uint64_t)client | (uint64_t)frontend << 32;
	msg[1] = (uint64_t)cport | (uint64_t)fport << 16 | (uint64_t)isn << 32;
	msg[2] = (uint64_t)slot | (uint64_t)(mss_idx & 3) << 32;
	h = siphash24(key, msg, 3);
	return (slot & 3) << 30 | (mss_idx & 3) << 28 |
		((uint32_t)h & 0x0fffffffu);
}

uint32_t
ef_fwd_syn_cookie6(const uint64_t key[2], const uint8_t client[16],
		   uint16_t cport, const uint8_t frontend[16], uint16_t fport,
		   uint32_t isn, uint32_t slot, uint32_t mss_idx)
{
	uint64_t msg[6];
	uint64_t h;

	memcpy(&msg[0], client, 16);
	memcpy(&msg[2], frontend, 16);
	msg[4] = (uint64_t)cport | (uint64_t)fport << 16 | (uint64_t)isn << 32;
	msg[5] = (uint64_t)slot | (uint64_t)(mss_idx & 3) << 32;
	h = siphash24(key, msg, 6);
	return (slot & 3) << 30 | (mss_idx & 3) << 28 |
		((uint32_t)h & 0x0fffffffu);
}

/* The cookie of the client -> frontend tuple of parsed packet pm. */
static uint32_t
cookie_of(const struct ef_fwd_worker *w, const struct ef_pkt_meta *pm,
	  uint32_t isn, uint32_t slot, uint32_t idx)
{
	if (pm->ip_version == 6)
		return ef_fwd_syn_cookie6(w->syn_key, pm->src.v6, pm->sport,
					  pm->dst.v6, pm->dport, isn, slot,
					  idx);
	return ef_fwd_syn_cookie(w->syn_key, pm->src.v4, pm->sport,
				 pm->dst.v4, pm->dport, isn, slot, idx);
}

void
ef_fwd_syn_init(struct ef_fwd_worker *w)
{
	w->syn_key[0] = rte_rand();
	w->syn_key[1] = rte_rand();
	w->syn_any = false;
}

bool
ef_fwd_syn_wanted(const struct ef_fwd_worker *w)
{
	const struct ef_ct_stats *st = ef_ct_stats(w->ct);
	uint32_t thr = w->gen->cfg->conntrack.syn_cookie_threshold;
	uint32_t nw = w->sh->n_workers != 0 ? w->sh->n_workers : 1;
	uint64_t half;
	uint32_t per;

	if (thr == 0)
		return true;
	per = thr / nw != 0 ? thr / nw : 1;
	/* the worker's half-open flows of both families: one flood of
	 * either fills the same memory and the same endpoints' backlogs */
	half = st->by_state[EF_CT_SYN_SENT] + st->by_state[EF_CT_SYN_RECV];
	if (w->ct6 != NULL) {
		const struct ef_ct_stats *s6 = ef_ct_stats(w->ct6);

		half += s6->by_state[EF_CT_SYN_SENT] +
			s6->by_state[EF_CT_SYN_RECV];
	}
	return half >= per;
}

/* The MSS option of a parsed SYN, 536 (RFC 9293's default) without. */
static uint16_t
syn_mss(const uint8_t *frame, const struct ef_pkt_meta *pm)
{
	const uint8_t *th = frame + pm->l4_off;
	uint32_t hl = (uint32_t)(th[12] >> 4) * 4;

	for (uint32_t i = 20; i < hl;) {
		uint8_t kind = th[i];

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hl || th[i + 1] < 2 || i + th[i + 1] > hl)
			break;
		if (kind == 2 && th[i + 1] == 4)
			return (uint16_t)(th[i + 2] << 8 | th[i + 3]);
		i += th[i + 1];
	}
	return 536;
}

/* Replace m's frame with the segment s (IPv6 when s->src6 is set; pm
 * parsed again). False when it could not be (m dropped, counted). */
static bool
replace(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm,
	const struct ef_pkt_tcp4_seg *s)
{
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t room = m->data_len + rte_pktmbuf_tailroom(m);
	uint32_t n = s->src6 != NULL ?
		ef_pkt_build_tcp6(w->scratch, sizeof(w->scratch), s) :
		ef_pkt_build_tcp4(w->scratch, sizeof(w->scratch), s);

	if (unlikely(n == 0 || n > room)) {
		drop(w, m, EF_FWD_DROP_NO_MBUF);
		return false;
	}
	memcpy(d, w->scratch, n);
	m->data_len = (uint16_t)n;
	m->pkt_len = n;
	if (unlikely(ef_pkt_parse(d, n, pm) != 0)) {
		drop(w, m, EF_FWD_DROP_PARSE_ERROR);
		return false;
	}
	return true;
}

void
ef_fwd_syn_reply(struct ef_fwd_worker *w, struct rte_mbuf *m,
		 const struct ef_pkt_meta *pm)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)
		(frame + pm->l4_off);
	uint32_t isn = rte_be_to_cpu_32(th->sent_seq);
	uint16_t mss = syn_mss(frame, pm);
	uint32_t idx = 0, slot = w->now_ms >> EF_FWD_SYN_SLOT_SHIFT;
	uint16_t iface = rx_iface(w, m);
	struct ef_pkt_tcp4_seg s;
	struct ef_pkt_meta out;

	for (uint32_t i = 1; i < RTE_DIM(mss_table); i++)
		if (mss_table[i] <= mss)
			idx = i;
	uint8_t a6[2][16];

	memset(&s, 0, sizeof(s));
	memcpy(s.dmac, frame + 6, 6);
	memcpy(s.smac, w->sh->ports[iface].mac, 6);
	if (pm->ip_version == 6) {
		/* copies: replace() writes the frame they come from */
		memcpy(a6[0], pm->dst.v6, 16);
		memcpy(a6[1], pm->src.v6, 16);
		s.src6 = a6[0];
		s.dst6 = a6[1];
	} else {
		s.src = pm->dst.v4;
		s.dst = pm->src.v4;
	}
	s.sport = pm->dport;
	s.dport = pm->sport;
	s.seq = cookie_of(w, pm, isn, slot, idx);
	s.ack = isn + 1;
	s.win = 65535;
	s.flags = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG;
	s.mss = mss_table[idx];
	if (!replace(w, m, &out, &s))
		return;
	w->syn_last_ms = w->now_ms;
	w->syn_any = true;
	w->c.syn_cookies_sent++;
	out_queue(w, iface, m);
}

int
ef_fwd_syn_check(struct ef_fwd_worker *w, const uint8_t *frame,
		 const struct ef_pkt_meta *pm)
{
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)
		(frame + pm->l4_off);
	uint32_t c = rte_be_to_cpu_32(th->recv_ack) - 1;
	uint32_t isn = rte_be_to_cpu_32(th->sent_seq) - 1;
	uint32_t cur = w->now_ms >> EF_FWD_SYN_SLOT_SHIFT;

	if (!w->syn_any || (int32_t)(w->now_ms - w->syn_last_ms) >=
	    (int32_t)(2u << EF_FWD_SYN_SLOT_SHIFT))
		return -1;
	for (uint32_t d = 0; d < 2; d++) {
		uint32_t slot = cur - d;
		uint32_t idx = (c >> 28) & 3;

		if ((slot & 3) != c >> 30)
			continue;
		if (cookie_of(w, pm, isn, slot, idx) == c) {
			w->c.syn_cookies_ok++;
			return (int)idx;
		}
	}
	w->c.syn_cookies_bad++;
	return -2;
}

/* f is a flow of the IPv6 table (w->ct6) */
static inline bool
flow_v6(const struct ef_ct_flow *f)
{
	return (f->user[0] & EF_FWD_FLOW_PROXY_V6) != 0;
}

/* f's slot in its table */
static inline uint32_t
slot_of(const struct ef_fwd_worker *w, const struct ef_ct_flow *f)
{
	return flow_v6(f) ? ef_ct_flow_index(w->ct6, f) :
		ef_ct_flow_index(w->ct, f);
}

static inline struct ef_fwd_synp *
synp_of(struct ef_fwd_worker *w, const struct ef_ct_flow *f)
{
	return flow_v6(f) ? &w->proxy6[slot_of(w, f)].syn :
		&w->proxy[slot_of(w, f)].syn;
}

/* The identity a held segment keeps of its flow: the client's port and
 * address (an IPv6 one folded to 32 bits: the slot and family already
 * match, this only tells a reused slot apart). */
static inline uint32_t
client_id(const struct ef_fwd_worker *w, const struct ef_ct_flow *f)
{
	if (flow_v6(f)) {
		uint64_t wd[2];

		/* a copy: 8-byte loads of an address of any alignment */
		memcpy(wd, ef_ct_flow_addr6(w->ct6, f)->client, 16);
		return rte_hash_crc_8byte(wd[1], rte_hash_crc_8byte(wd[0], 0));
	}
	return f->client;
}

/* m becomes a segment of flags from the client to the frontend, as the
 * client would send it (forward() NATs it toward the endpoint). */
static bool
as_client(struct ef_fwd_worker *w, const struct ef_ct_flow *f,
	  struct rte_mbuf *m, struct ef_pkt_meta *pm, uint8_t flags,
	  uint32_t seq, uint32_t ack)
{
	const struct ef_fwd_synp *p = synp_of(w, f);
	struct ef_pkt_tcp4_seg s;

	memset(&s, 0, sizeof(s));
	if (flow_v6(f)) {
		const struct ef_ct_addr6 *a = ef_ct_flow_addr6(w->ct6, f);

		s.src6 = a->client;
		s.dst6 = a->frontend;
	} else {
		s.src = f->client;
		s.dst = f->frontend;
	}
	s.sport = f->cport;
	s.dport = f->fport;
	s.seq = seq;
	s.ack = ack;
	s.win = p->win;
	s.flags = flags;
	if (flags & RTE_TCP_SYN_FLAG)
		s.mss = ef_fwd_syn_mss(p->mss_idx);
	return replace(w, m, pm, &s);
}

bool
ef_fwd_syn_open(struct ef_fwd_worker *w, struct ef_ct_flow *f,
		struct rte_mbuf *m, struct ef_pkt_meta *pm, uint32_t mss_idx)
{
	const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m,
		const struct rte_tcp_hdr *, pm->l4_off);
	struct ef_fwd_synp *p;

	if (pm->ip_version == 6)
		f->user[0] |= EF_FWD_FLOW_PROXY_V6;	/* its state: proxy6 */
	p = synp_of(w, f);
	p->isn = rte_be_to_cpu_32(th->sent_seq) - 1;
	p->cookie = rte_be_to_cpu_32(th->recv_ack) - 1;
	p->win = rte_be_to_cpu_16(th->rx_win);
	p->mss_idx = (uint8_t)(mss_idx & 3);
	p->st = EF_FWD_SYNP_WAIT;
	f->user[0] |= EF_FWD_FLOW_SYNPROXY;
	/* if m is dropped, the SYN goes on the client's next segment */
	p->sent_ms = w->now_ms - EF_FWD_SYN_RESEND_MS;
	if (!as_client(w, f, m, pm, RTE_TCP_SYN_FLAG, p->isn, 0))
		return false;
	p->sent_ms = w->now_ms;
	return true;
}

/* Keep m for f until its endpoint answers: false when f already has a
 * segment held or every entry is taken. */
static bool
hold(struct ef_fwd_worker *w, const struct ef_ct_flow *f, struct rte_mbuf *m)
{
	uint32_t slot = slot_of(w, f);
	uint8_t v6 = flow_v6(f);
	struct ef_fwd_syn_held *free_e = NULL;

	for (uint32_t i = 0; i < EF_FWD_SYN_HOLD; i++) {
		struct ef_fwd_syn_held *e = &w->syn_held[i];

		if (e->m == NULL) {
			if (free_e == NULL)
				free_e = e;
		} else if (e->slot == slot && e->v6 == v6) {
			return false;
		}
	}
	if (free_e == NULL)
		return false;
	free_e->m = m;
	free_e->slot = slot;
	free_e->v6 = v6;
	free_e->client = client_id(w, f);
	free_e->cport = f->cport;
	free_e->since_ms = w->now_ms;
	w->n_syn_held++;
	w->c.syn_proxy_held++;
	return true;
}

struct rte_mbuf *
ef_fwd_syn_release(struct ef_fwd_worker *w, const struct ef_ct_flow *f)
{
	uint32_t slot;
	uint8_t v6;

	if (likely(w->n_syn_held == 0))
		return NULL;
	slot = slot_of(w, f);
	v6 = flow_v6(f);
	for (uint32_t i = 0; i < EF_FWD_SYN_HOLD; i++) {
		struct ef_fwd_syn_held *e = &w->syn_held[i];
		struct rte_mbuf *m = e->m;

		if (m == NULL || e->slot != slot || e->v6 != v6)
			continue;
		e->m = NULL;
		w->n_syn_held--;
		if (e->client == client_id(w, f) && e->cport == f->cport)
			return m;
		drop(w, m, EF_FWD_DROP_SYN_PROXY_WAIT);	/* another flow's */
		return NULL;
	}
	return NULL;
}

void
ef_fwd_syn_sweep(struct ef_fwd_worker *w)
{
	for (uint32_t i = 0; i < EF_FWD_SYN_HOLD && w->n_syn_held != 0; i++) {
		struct ef_fwd_syn_held *e = &w->syn_held[i];
		const struct ef_ct_flow *f;

		if (e->m == NULL)
			continue;
		f = ef_ct_flow_at(e->v6 ? w->ct6 : w->ct, e->slot);
		if (f != NULL && (f->user[0] & EF_FWD_FLOW_SYNPROXY) &&
		    flow_v6(f) == (e->v6 != 0) &&
		    client_id(w, f) == e->client && f->cport == e->cport &&
		    (synp_of(w, f)->st & EF_FWD_SYNP_WAIT) &&
		    (int32_t)(w->now_ms - e->since_ms) <
		    (int32_t)EF_FWD_SYN_HOLD_MS)
			continue;
		drop(w, e->m, EF_FWD_DROP_SYN_PROXY_WAIT);
		e->m = NULL;
		w->n_syn_held--;
	}
}

void
ef_fwd_syn_fini(struct ef_fwd_worker *w)
{
	for (uint32_t i = 0; i < EF_FWD_SYN_HOLD; i++) {
		rte_pktmbuf_free(w->syn_held[i].m);
		w->syn_held[i].m = NULL;
	}
	w->n_syn_held = 0;
}

bool
ef_fwd_syn_pre(struct ef_fwd_worker *w, struct ef_ct_flow *f, uint8_t dir,
	       struct rte_mbuf *m, struct ef_pkt_meta *pm)
{
	struct ef_fwd_synp *p;
	uint8_t fl = pm->tcp_flags;

	if (pm->proto != IPPROTO_TCP)
		return false;
	p = synp_of(w, f);
	if (likely(p->st & EF_FWD_SYNP_DONE)) {
		if (dir == 0)
			ef_pkt_tcp_ack_add(rte_pktmbuf_mtod(m, uint8_t *), pm,
					   p->cookie);
		return false;
	}
	if (dir == 0) {
		/* the endpoint has not answered: the first segment waits,
		 * later ones the client resends */
		if ((int32_t)(w->now_ms - p->sent_ms) <
		    (int32_t)EF_FWD_SYN_RESEND_MS) {
			if (!hold(w, f, m))
				drop(w, m, EF_FWD_DROP_SYN_PROXY_WAIT);
			return true;
		}
		p->sent_ms = w->now_ms;
		/* this segment makes way for the SYN again */
		w->c.drops[EF_FWD_DROP_SYN_PROXY_WAIT]++;
		return !as_client(w, f, m, pm, RTE_TCP_SYN_FLAG, p->isn, 0);
	}
	if (fl & RTE_TCP_RST_FLAG)
		return false;
	if ((fl & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) ==
	    (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG) &&
	    rte_be_to_cpu_32(rte_pktmbuf_mtod_offset(m,
		const struct rte_tcp_hdr *, pm->l4_off)->recv_ack) ==
	    p->isn + 1)
		return false;
	drop(w, m, EF_FWD_DROP_CT_INVALID);
	return true;
}

int
ef_fwd_syn_post(struct ef_fwd_worker *w, struct ef_ct_flow *f, uint8_t dir,
		struct rte_mbuf *m, struct ef_pkt_meta *pm)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)
		(frame + pm->l4_off);
	struct ef_fwd_synp *p;
	uint32_t seq;

	if (pm->proto != IPPROTO_TCP || dir == 0)
		return 0;
	p = synp_of(w, f);
	seq = rte_be_to_cpu_32(th->sent_seq);
	if (likely(p->st & EF_FWD_SYNP_DONE)) {
		ef_pkt_tcp_seq_add(frame, pm, 0u - p->cookie);
		return 0;
	}
	if (pm->tcp_flags & RTE_TCP_RST_FLAG) {
		/* refused: the client hears it where it expects it */
		p->cookie = seq - (p->cookie + 1);
		p->st = EF_FWD_SYNP_DONE;
		ef_pkt_tcp_seq_add(frame, pm, 0u - p->cookie);
		return 0;
	}
	/* the endpoint's SYN-ACK (ef_fwd_syn_pre let nothing else by) */
	p->cookie = seq - p->cookie;
	p->st = EF_FWD_SYNP_DONE;
	return as_client(w, f, m, pm, RTE_TCP_ACK_FLAG, p->isn + 1, seq + 1) ?
		1 : -1;
}
