/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-packet state tracking of a conntrack flow: the TCP state machine
 * with its light window check, and the UDP and ICMP states. See
 * ef_ct_update() in ef_ct.h for the semantics.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ip.h>

#include "ef_ct.h"
#include "ct_priv.h"

/* Linux's MAXACKWINDOW floor: acks may lag this far behind seq_end. */
#define EF_CT_MIN_ACKWIN 66000u
/* RFC 7323: a shift above 14 is treated as 14. */
#define EF_CT_WSCALE_MAX 14u

#define TCP_F_FIN 0x01
#define TCP_F_SYN 0x02
#define TCP_F_RST 0x04
#define TCP_F_ACK 0x10

static inline void
set_state(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t state)
{
	ct->stats.by_state[f->state]--;
	ct->stats.by_state[state]++;
	f->state = state;
}

static inline uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_32(v);
}

static inline uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_16(v);
}

/* Window scale option of a SYN segment, or EF_CT_WSCALE_NONE. */
static uint8_t
tcp_wscale_opt(const uint8_t *th, uint32_t hlen)
{
	uint32_t off = 20, len;

	while (off < hlen) {
		switch (th[off]) {
		case 0:		/* end of options */
			return EF_CT_WSCALE_NONE;
		case 1:		/* NOP */
			off++;
			continue;
		default:
			break;
		}
		if (off + 1 >= hlen)
			return EF_CT_WSCALE_NONE;
		len = th[off + 1];
		if (len < 2 || off + len > hlen)
			return EF_CT_WSCALE_NONE;
		if (th[off] == 3 && len == 3)
			return (uint8_t)RTE_MIN((uint32_t)th[off + 2],
						EF_CT_WSCALE_MAX);
		off += len;
	}
	return EF_CT_WSCALE_NONE;
}

/* Scale in force for windows sent by direction dir (0 unless both offered). */
static inline uint32_t
wscale_of(const struct ef_ct_flow *f, uint8_t dir)
{
	uint8_t w0 = f->wscale & 0xf, w1 = f->wscale >> 4;

	if (w0 == EF_CT_WSCALE_NONE || w1 == EF_CT_WSCALE_NONE)
		return 0;
	return dir == 0 ? w0 : w1;
}

static inline void
set_wscale(struct ef_ct_flow *f, uint8_t dir, uint8_t ws)
{
	if (dir == 0)
		f->wscale = (uint8_t)((f->wscale & 0xf0) | ws);
	else
		f->wscale = (uint8_t)((f->wscale & 0x0f) | (ws << 4));
}

/* The light tcp_in_window() documented at ef_ct_update(). */
static bool
tcp_in_window(const struct ef_ct_flow *f, uint8_t d, uint32_t seq,
	      uint32_t end, bool has_ack, uint32_t ack)
{
	uint8_t o = d ^ 1;
	uint32_t rwin = f->max_win[o];
	uint32_t ackwin = RTE_MAX(f->max_win[d], EF_CT_MIN_ACKWIN);

	if ((int32_t)(seq - (f->seq_end[d] + rwin)) > 0)
		return false;
	if ((int32_t)(end - (f->seq_end[d] - rwin)) < 0)
		return false;
	if (has_ack) {
		if ((int32_t)(ack - f->seq_end[o]) > 0)
			return false;
		if ((int32_t)(ack - (f->seq_end[o] - ackwin)) < 0)
			return false;
	}
	return true;
}

/* State from the FIN bits, for a synchronised flow not in CLOSE. */
static uint8_t
tcp_closing_state(const struct ef_ct_flow *f)
{
	uint8_t fl = f->flags;
	bool fin0 = fl & EF_CT_F_FIN0, fin1 = fl & EF_CT_F_FIN1;

	if ((fl & EF_CT_F_FINACK0) && (fl & EF_CT_F_FINACK1))
		return EF_CT_TIME_WAIT;
	if (fin0 && fin1)
		return EF_CT_LAST_ACK;
	if ((fin0 && (fl & EF_CT_F_FINACK0)) || (fin1 && (fl & EF_CT_F_FINACK1)))
		return EF_CT_CLOSE_WAIT;
	return EF_CT_FIN_WAIT;
}

/* The fields of a segment that the state machine reads. */
struct tcp_seg {
	const uint8_t *th;
	uint32_t hlen;
	uint32_t seq;
	uint32_t ack;
	uint32_t win;
	uint32_t end;		/* seq + payload (+1 for SYN, +1 for FIN) */
	bool syn;
	bool has_ack;
	bool rst;
	bool fin;
};

/* Read the TCP header of m into s; false when it is not a valid segment. */
static inline bool
tcp_seg_read(const uint8_t *frame, const struct ef_pkt_meta *m,
	     struct tcp_seg *s)
{
	const uint8_t *th;
	uint8_t fl;

	if (m->proto != IPPROTO_TCP || m->l4_off == 0 || m->l4_len < 20)
		return false;
	th = frame + m->l4_off;
	s->th = th;
	s->hlen = (uint32_t)(th[12] >> 4) * 4;
	if (s->hlen < 20 || s->hlen > m->l4_len)
		return false;
	s->seq = rd32(th + 4);
	s->ack = rd32(th + 8);
	fl = th[13];
	s->win = rd16(th + 14);
	s->syn = fl & TCP_F_SYN;
	s->has_ack = fl & TCP_F_ACK;
	s->rst = fl & TCP_F_RST;
	s->fin = fl & TCP_F_FIN;
	s->end = s->seq + (m->l4_len - s->hlen) + (s->syn ? 1 : 0) +
		(s->fin ? 1 : 0);
	return !(s->syn && (s->rst || s->fin));
}

/* A segment of a flow in NONE or SYN_SENT: the handshake's first half. */
static inline int
tcp_handshake(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t d,
	      const struct tcp_seg *s)
{
	uint8_t ws;

	if (f->state == EF_CT_NONE && (d != 0 || !s->syn || s->has_ack))
		return EF_CT_VERDICT_INVALID;
	if (d == 0 && s->syn && !s->has_ack) {
		/* First SYN, retransmission, or a new ISN. */
		f->seq_end[0] = s->end;
		f->max_win[0] = RTE_MAX(s->win, 1u);
		set_wscale(f, 0, tcp_wscale_opt(s->th, s->hlen));
		set_wscale(f, 1, EF_CT_WSCALE_NONE);
		if (f->state == EF_CT_NONE)
			set_state(ct, f, EF_CT_SYN_SENT);
		return EF_CT_VERDICT_OK;
	}
	if (d == 0) {
		/* Client abort of its own SYN. */
		if (s->rst && s->seq == f->seq_end[0]) {
			set_state(ct, f, EF_CT_CLOSE);
			return EF_CT_VERDICT_OK;
		}
		return EF_CT_VERDICT_INVALID;
	}
	if (s->syn && s->has_ack) {
		if (s->ack != f->seq_end[0])
			return EF_CT_VERDICT_INVALID;
		f->seq_end[1] = s->end;
		/* The window of a SYN is never scaled (RFC 7323). */
		f->max_win[1] = RTE_MAX(s->win, 1u);
		ws = tcp_wscale_opt(s->th, s->hlen);
		set_wscale(f, 1, ws);
		set_state(ct, f, EF_CT_SYN_RECV);
		return EF_CT_VERDICT_OK;
	}
	/* RFC 793: in SYN-SENT an RST is acceptable if it acks the SYN. */
	if (s->rst && s->has_ack && s->ack == f->seq_end[0]) {
		set_state(ct, f, EF_CT_CLOSE);
		return EF_CT_VERDICT_OK;
	}
	return EF_CT_VERDICT_INVALID;
}

/* A segment of a flow past SYN_SENT: window check, FIN/RST tracking. */
static inline int
tcp_synchronised(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t d,
		 const struct tcp_seg *s)
{
	uint8_t o = d ^ 1;

	if (s->syn) {
		if (d == 0 && !s->has_ack && (f->state == EF_CT_TIME_WAIT ||
					      f->state == EF_CT_CLOSE))
			return EF_CT_VERDICT_NEW_AFTER_CLOSE;
		/* Retransmitted SYN or SYN-ACK of the same handshake. */
		if (f->state == EF_CT_SYN_RECV && s->end == f->seq_end[d] &&
		    (d == 0 ? !s->has_ack :
		     (s->has_ack && s->ack == f->seq_end[0])))
			return EF_CT_VERDICT_OK;
		/*
		 * The endpoint's SYN-ACK again after the client's ACK (and
		 * data) went by: the endpoint did not take that ACK (a full
		 * accept queue drops it) and retransmits. The client must see
		 * it to ACK again, so pass it on, changing nothing, as Linux
		 * conntrack ignores it: same ISN (the endpoint has sent
		 * nothing since) and an ack the client's data covers.
		 */
		if (d == 1 && s->has_ack && s->end == f->seq_end[1] &&
		    f->state == EF_CT_ESTABLISHED &&
		    (int32_t)(s->ack - f->seq_end[0]) <= 0)
			return EF_CT_VERDICT_OK;
		return EF_CT_VERDICT_INVALID;
	}
	if (!tcp_in_window(f, d, s->seq, s->end, s->has_ack, s->ack))
		return EF_CT_VERDICT_INVALID;
	if (s->rst) {
		if (f->state != EF_CT_CLOSE)
			set_state(ct, f, EF_CT_CLOSE);
		return EF_CT_VERDICT_OK;
	}
	if (!s->has_ack)
		return EF_CT_VERDICT_INVALID;

	if ((int32_t)(s->end - f->seq_end[d]) > 0)
		f->seq_end[d] = s->end;
	f->max_win[d] = RTE_MAX(f->max_win[d],
				RTE_MAX(s->win << wscale_of(f, d), 1u));
	if (f->state == EF_CT_CLOSE)
		return EF_CT_VERDICT_OK;
	if (s->fin)
		f->flags |= d == 0 ? EF_CT_F_FIN0 : EF_CT_F_FIN1;
	/* Does this segment ack the peer's FIN (seq_end includes it)? */
	if ((f->flags & (o == 0 ? EF_CT_F_FIN0 : EF_CT_F_FIN1)) &&
	    (int32_t)(s->ack - f->seq_end[o]) >= 0)
		f->flags |= o == 0 ? EF_CT_F_FINACK0 : EF_CT_F_FINACK1;

	if (f->flags & (EF_CT_F_FIN0 | EF_CT_F_FIN1)) {
		uint8_t st = tcp_closing_state(f);

		if (st != f->state)
			set_state(ct, f, st);
	} else if (f->state == EF_CT_SYN_RECV && d == 0 &&
		   s->ack == f->seq_end[1]) {
		set_state(ct, f, EF_CT_ESTABLISHED);
	}
	return EF_CT_VERDICT_OK;
}

static int
tcp_update(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t d,
	   const uint8_t *frame, const struct ef_pkt_meta *m)
{
	struct tcp_seg s;

	if (!tcp_seg_read(frame, m, &s))
		return EF_CT_VERDICT_INVALID;
	if (f->state == EF_CT_NONE || f->state == EF_CT_SYN_SENT)
		return tcp_handshake(ct, f, d, &s);
	return tcp_synchronised(ct, f, d, &s);
}

int
ef_ct_update(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t dir,
	     const uint8_t *frame, const struct ef_pkt_meta *m,
	     uint32_t now_ms)
{
	int v = EF_CT_VERDICT_OK;

	dir &= 1;
	switch (f->proto) {
	case IPPROTO_TCP:
		v = tcp_update(ct, f, dir, frame, m);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (f->state == EF_CT_NONE) {
			if (dir != 0)
				v = EF_CT_VERDICT_INVALID;
			else
				set_state(ct, f, EF_CT_ICMP);
		}
		break;
	default:
		if (f->state == EF_CT_NONE) {
			if (dir != 0)
				v = EF_CT_VERDICT_INVALID;
			else
				set_state(ct, f, EF_CT_UDP_NEW);
		} else if (f->state == EF_CT_UDP_NEW && dir == 1) {
			set_state(ct, f, EF_CT_UDP_REPLIED);
		}
		break;
	}
	if (v == EF_CT_VERDICT_OK)
		f->last_ms = now_ms;
	else if (v == EF_CT_VERDICT_INVALID)
		ct->stats.invalid++;
	return v;
}
