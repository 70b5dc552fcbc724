/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PROXY protocol on TCP flows: the header segment, its retransmission and
 * the sequence shift around it (fwd_proxy.h says how).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "ef_fwd.h"
#include "ef_pkt_proxy.h"
#include "ef_route.h"
#include "fwd_priv.h"
#include "fwd_proxy.h"

#define PROXY_RTO_MS 200u	/* first retransmission timeout */
#define PROXY_RTO_SHIFT_MAX 4u	/* ... doubling up to 3.2 s */
#define PROXY_TRIES 7u		/* timeout retransmissions at most */
#define PROXY_SWEEP 16u		/* pending entries examined per poll */
/* proxy_pend entry: a slot of ct6 (w->proxy6) */
#define EF_FWD_PROXY_PEND6 0x80000000u

int
ef_fwd_proxy_init(struct ef_fwd_worker *w, int socket_id)
{
	uint32_t n = ef_ct_capacity(w->ct);
	uint32_t n6 = w->ct6 != NULL ? ef_ct_capacity(w->ct6) : 0;

	w->proxy = rte_zmalloc_socket("ef_proxy", sizeof(*w->proxy) * n,
				      RTE_CACHE_LINE_SIZE, socket_id);
	if (n6 != 0)
		w->proxy6 = rte_zmalloc_socket("ef_proxy6",
					       sizeof(*w->proxy6) * n6,
					       RTE_CACHE_LINE_SIZE, socket_id);
	/* one entry per slot of either table: never overflows */
	w->proxy_pend = rte_malloc_socket("ef_proxy_pend",
					  sizeof(*w->proxy_pend) * (n + n6),
					  0, socket_id);
	if (w->proxy == NULL || w->proxy_pend == NULL ||
	    (n6 != 0 && w->proxy6 == NULL))
		return -ENOMEM;
	w->proxy_cap = n;
	return 0;
}

void
ef_fwd_proxy_fini(struct ef_fwd_worker *w)
{
	rte_free(w->proxy);
	rte_free(w->proxy6);
	rte_free(w->proxy_pend);
	w->proxy = NULL;
	w->proxy6 = NULL;
	w->proxy_pend = NULL;
}

static inline bool
is_v6(const struct ef_ct_flow *f)
{
	return (f->user[0] & EF_FWD_FLOW_PROXY_V6) != 0;
}

/* f's pending-list entry: its slot, in its table */
static inline uint32_t
entry_of(const struct ef_fwd_worker *w, const struct ef_ct_flow *f)
{
	return is_v6(f) ? ef_ct_flow_index(w->ct6, f) | EF_FWD_PROXY_PEND6 :
		ef_ct_flow_index(w->ct, f);
}

static inline struct ef_fwd_proxy *
state_at(struct ef_fwd_worker *w, uint32_t entry)
{
	return (entry & EF_FWD_PROXY_PEND6) ?
		&w->proxy6[entry & ~EF_FWD_PROXY_PEND6] : &w->proxy[entry];
}

static inline struct ef_fwd_proxy *
state_of(struct ef_fwd_worker *w, const struct ef_ct_flow *f)
{
	return state_at(w, entry_of(w, f));
}

/* The header of f (client -> frontend, as the client addressed it). */
static uint32_t
header_of(const struct ef_fwd_worker *w, const struct ef_ct_flow *f,
	  uint8_t *out)
{
	bool v2 = (f->user[0] & EF_FWD_FLOW_PROXY_V2) != 0;

	if (is_v6(f)) {
		const struct ef_ct_addr6 *a = ef_ct_flow_addr6(w->ct6, f);

		return v2 ? ef_proxy_hdr_v2_6(out, a->client, f->cport,
					      a->frontend, f->fport) :
			ef_proxy_hdr_v1_6(out, a->client, f->cport,
					  a->frontend, f->fport);
	}
	if (v2)
		return ef_proxy_hdr_v2(out, f->client, f->cport, f->frontend,
				       f->fport);
	return ef_proxy_hdr_v1(out, f->client, f->cport, f->frontend,
			       f->fport);
}

void
ef_fwd_proxy_open(struct ef_fwd_worker *w, struct ef_ct_flow *f, uint8_t ver,
		  const uint8_t *frame, const struct ef_pkt_meta *pm)
{
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)
		(frame + pm->l4_off);
	struct ef_fwd_proxy *p;
	uint8_t hdr[EF_PROXY_HDR_MAX];
	uint8_t pend;

	f->user[0] |= EF_FWD_FLOW_PROXY;
	if (ver == EF_PROXY_V2)
		f->user[0] |= EF_FWD_FLOW_PROXY_V2;
	if (pm->ip_version == 6)
		f->user[0] |= EF_FWD_FLOW_PROXY_V6;
	p = state_of(w, f);
	/* a slot still on the pending list keeps its place there; the SYN
	 * proxy's part is its own */
	pend = p->st & EF_FWD_PROXY_PEND;
	memset(p, 0, offsetof(struct ef_fwd_proxy, syn));
	p->st = pend;
	p->base = rte_be_to_cpu_32(th->sent_seq) + 1;
	p->len = (uint8_t)header_of(w, f, hdr);
}

/*
 * Send the segment [base, base + H) (or, rst, an RST at base) toward the
 * endpoint as the client would: SNAT'd source, the client's latest ACK,
 * window and timestamps.
 */
static void
emit(struct ef_fwd_worker *w, const struct ef_ct_flow *f,
     const struct ef_fwd_proxy *p, bool rst)
{
	const struct ef_ct_addr6 *a6 = NULL;
	uint8_t hdr[EF_PROXY_HDR_MAX];
	struct ef_pkt_tcp4_seg s;
	struct ef_nexthop6 nh6;
	struct ef_nexthop nh;
	struct rte_mbuf *m;
	uint8_t *d;
	uint32_t n;
	int rc;

	if (is_v6(f)) {
		a6 = ef_ct_flow_addr6(w->ct6, f);
		rc = ef_route_lookup6(w->gen->routes, a6->endpoint, &nh6);
		nh.iface = nh6.iface;
	} else {
		rc = ef_route_lookup4(w->gen->routes, f->endpoint, &nh);
	}
	if (unlikely(rc != 0)) {
		w->c.drops[EF_FWD_DROP_NO_ROUTE]++;
		return;
	}
	m = rte_pktmbuf_alloc(w->sh->pool);
	if (unlikely(m == NULL)) {
		w->c.drops[EF_FWD_DROP_NO_MBUF]++;
		return;
	}
	memset(&s, 0, sizeof(s));
	memcpy(s.smac, w->sh->ports[nh.iface].mac, 6);
	if (a6 != NULL) {
		s.src6 = f->snat != 0 ? ef_ct_flow_snat6(w->ct6, f) :
			a6->client;
		s.dst6 = a6->endpoint;
	} else {
		s.src = f->snat != 0 ? f->snat : f->client;
		s.dst = f->endpoint;
	}
	s.sport = f->snat != 0 ? f->sport_snat : f->cport;
	s.dport = f->eport;
	s.seq = p->base;
	s.ack = p->ack;
	s.win = p->win;
	s.has_ts = (p->st & EF_FWD_PROXY_TS) != 0;
	s.tsval = p->tsval;
	s.tsecr = p->tsecr;
	if (rst) {
		s.flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	} else {
		s.flags = RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG;
		s.len = header_of(w, f, hdr);
		s.payload = hdr;
	}
	d = rte_pktmbuf_mtod(m, uint8_t *);
	n = a6 != NULL ? ef_pkt_build_tcp6(d, rte_pktmbuf_tailroom(m), &s) :
		ef_pkt_build_tcp4(d, rte_pktmbuf_tailroom(m), &s);
	if (unlikely(n == 0 || rte_pktmbuf_append(m, (uint16_t)n) == NULL)) {
		drop(w, m, EF_FWD_DROP_NO_MBUF);
		return;
	}
	if (f->svc_id < w->n_svc_ids)
		w->svc[f->svc_id].packets++;
	if (a6 != NULL) {
		if (unlikely(neigh_mac6(w, nh6.iface, nh6.gw, d) != 0)) {
			ef_fwd_hold6(w, m, nh6.iface, nh6.gw);
			return;
		}
	} else if (unlikely(neigh_mac(w, nh.iface, nh.gw, d) != 0)) {
		ef_fwd_hold(w, m, nh.iface, nh.gw);
		return;
	}
	out_queue(w, nh.iface, m);
}

static void
send_header(struct ef_fwd_worker *w, const struct ef_ct_flow *f,
	    struct ef_fwd_proxy *p)
{
	emit(w, f, p, false);
	p->sent_ms = w->now_ms;
}

/* The client's latest ACK, window and timestamps, for a resend. */
static inline void
remember(struct ef_fwd_proxy *p, const uint8_t *frame,
	 const struct ef_pkt_meta *pm)
{
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)
		(frame + pm->l4_off);

	if (!(pm->tcp_flags & RTE_TCP_ACK_FLAG))
		return;
	p->ack = rte_be_to_cpu_32(th->recv_ack);
	p->win = rte_be_to_cpu_16(th->rx_win);
	if (ef_pkt_tcp_ts(frame, pm, &p->tsval, &p->tsecr))
		p->st |= EF_FWD_PROXY_TS;
}

void
ef_fwd_proxy_pre(struct ef_fwd_worker *w, struct ef_ct_flow *f, uint8_t dir,
		 uint8_t *frame, const struct ef_pkt_meta *pm)
{
	const struct rte_tcp_hdr *th;
	struct ef_fwd_proxy *p;

	if (dir == 0 || pm->proto != IPPROTO_TCP)
		return;
	p = state_of(w, f);
	th = (const struct rte_tcp_hdr *)(frame + pm->l4_off);
	w->proxy_ack_raw = rte_be_to_cpu_32(th->recv_ack);
	if (p->st & EF_FWD_PROXY_SENT)
		ef_pkt_tcp_ack_unshift(frame, pm, p->base, p->len);
}

static inline bool
open_state(uint8_t s)
{
	return s >= EF_CT_ESTABLISHED && s <= EF_CT_LAST_ACK;
}

/* Nothing more to resend: the header is acked, or the flow is closing
 * (RST, both FINs) and the endpoint will not want it any more. */
static inline void
done(struct ef_fwd_proxy *p)
{
	p->st |= EF_FWD_PROXY_DONE;
}

static void
pending_add(struct ef_fwd_worker *w, const struct ef_ct_flow *f,
	    struct ef_fwd_proxy *p)
{
	if (p->st & EF_FWD_PROXY_PEND)
		return;
	/* one entry per slot at most: the list never overflows */
	w->proxy_pend[w->n_proxy_pend++] = entry_of(w, f);
	p->st |= EF_FWD_PROXY_PEND;
}

static void
post_orig(struct ef_fwd_worker *w, struct ef_ct_flow *f, uint8_t *frame,
	  const struct ef_pkt_meta *pm)
{
	struct ef_fwd_proxy *p = state_of(w, f);
	uint8_t fl = pm->tcp_flags;

	if (likely(p->st & EF_FWD_PROXY_DONE)) {
		ef_pkt_tcp_seq_add(frame, pm, p->len);
		return;
	}
	if (!(p->st & EF_FWD_PROXY_SENT)) {
		/* the client's ACK of the SYN-ACK: the header goes first */
		if ((fl & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG)) ||
		    !(fl & RTE_TCP_ACK_FLAG) || !open_state(f->state))
			return;
		remember(p, frame, pm);
		p->st |= EF_FWD_PROXY_SENT;
		send_header(w, f, p);
		w->c.proxy_headers_sent++;
		pending_add(w, f, p);
		ef_pkt_tcp_seq_add(frame, pm, p->len);
		return;
	}
	remember(p, frame, pm);
	ef_pkt_tcp_seq_add(frame, pm, p->len);
	if (fl & RTE_TCP_RST_FLAG) {
		/* the shifted RST is exact if the header arrived; if it did
		 * not, the endpoint waits at base: an RST there is exact */
		emit(w, f, p, true);
		done(p);
	}
}

static void
post_reply(struct ef_fwd_worker *w, struct ef_ct_flow *f,
	   const struct ef_pkt_meta *pm)
{
	struct ef_fwd_proxy *p = state_of(w, f);
	uint32_t ack = w->proxy_ack_raw;

	if (likely(p->st & EF_FWD_PROXY_DONE) ||
	    !(p->st & EF_FWD_PROXY_SENT))
		return;
	if (pm->tcp_flags & RTE_TCP_RST_FLAG) {
		done(p);
		return;
	}
	if (!(pm->tcp_flags & RTE_TCP_ACK_FLAG))
		return;
	if ((int32_t)(ack - (p->base + p->len)) >= 0) {
		done(p);
		return;
	}
	/* ack == base: the endpoint still waits for the header (a dup ACK
	 * behind later data, or a SYN-ACK resent because nothing came) */
	if (ack == p->base && !(p->st & EF_FWD_PROXY_FAST)) {
		p->st |= EF_FWD_PROXY_FAST;
		send_header(w, f, p);
		w->c.proxy_header_retransmits++;
	}
}

void
ef_fwd_proxy_post(struct ef_fwd_worker *w, struct ef_ct_flow *f, uint8_t dir,
		  uint8_t *frame, const struct ef_pkt_meta *pm)
{
	if (pm->proto != IPPROTO_TCP)
		return;
	if (dir == 0)
		post_orig(w, f, frame, pm);
	else
		post_reply(w, f, pm);
}

/* true when pending-list entry e still needs its header resent later. */
static bool
pending_visit(struct ef_fwd_worker *w, uint32_t e)
{
	bool v6 = (e & EF_FWD_PROXY_PEND6) != 0;
	struct ef_ct_flow *f = ef_ct_flow_at(v6 ? w->ct6 : w->ct,
					     e & ~EF_FWD_PROXY_PEND6);
	struct ef_fwd_proxy *p = state_at(w, e);
	uint32_t tries, rto;

	/* the slot may hold another flow by now (closed, reused): of the
	 * same table, and a PROXY flow, or nothing to resend */
	if (f == NULL || !(f->user[0] & EF_FWD_FLOW_PROXY) ||
	    is_v6(f) != v6 ||
	    (p->st & EF_FWD_PROXY_DONE) || !(p->st & EF_FWD_PROXY_SENT) ||
	    !open_state(f->state))
		return false;
	tries = p->st >> EF_FWD_PROXY_TRY_SHIFT;
	rto = PROXY_RTO_MS << RTE_MIN(tries, PROXY_RTO_SHIFT_MAX);
	if ((int32_t)(w->now_ms - p->sent_ms) < (int32_t)rto)
		return true;
	if (tries >= PROXY_TRIES) {
		done(p);	/* the endpoint's own timers take over */
		return false;
	}
	p->st = (uint8_t)((p->st & ~EF_FWD_PROXY_FAST &
			   ((1u << EF_FWD_PROXY_TRY_SHIFT) - 1)) |
			  ((tries + 1) << EF_FWD_PROXY_TRY_SHIFT));
	send_header(w, f, p);
	w->c.proxy_header_retransmits++;
	return true;
}

void
ef_fwd_proxy_sweep(struct ef_fwd_worker *w)
{
	for (uint32_t k = 0; k < PROXY_SWEEP && w->n_proxy_pend != 0; k++) {
		uint32_t i, idx;

		if (w->proxy_cursor >= w->n_proxy_pend)
			w->proxy_cursor = 0;
		i = w->proxy_cursor;
		idx = w->proxy_pend[i];
		if (pending_visit(w, idx)) {
			w->proxy_cursor++;
			continue;
		}
		state_at(w, idx)->st &= (uint8_t)~EF_FWD_PROXY_PEND;
		w->proxy_pend[i] = w->proxy_pend[--w->n_proxy_pend];
	}
}
