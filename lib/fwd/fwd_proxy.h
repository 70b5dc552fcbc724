/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_FWD_PROXY_H
#define EF_FWD_PROXY_H

/*
 * PROXY protocol on TCP flows (fwd_proxy.c): the header edgefwd writes
 * into the stream toward the endpoint, and the sequence space around it.
 *
 * The stream the endpoint reads is the client's with H header bytes in
 * front, at [base, base + H) where base = client ISN + 1. So, for the
 * whole life of the flow, client -> endpoint sequence numbers move by +H
 * and endpoint -> client acknowledgement numbers and SACK edges by -H.
 * Conntrack sees the client's numbers on both sides: the endpoint's
 * acknowledgements are mapped back before ef_ct_update(), the client's
 * sequence numbers shifted after it; the header is edgefwd's own and ct
 * never sees it.
 *
 * The header is sent in its own segment (at most 56 bytes over IPv4:
 * below any MSS) as soon as the client's ACK of the SYN-ACK passes, so a
 * server that speaks first gets it too. It is rebuilt from the flow and
 * this state whenever it is resent: on a duplicate ACK of base from the
 * endpoint (once per transmission) or on a timeout (PROXY_RTO_MS,
 * doubling, PROXY_TRIES at most), found by a bounded slice of the pending
 * list in housekeeping.
 *
 * State: a flow of such a port has EF_FWD_FLOW_PROXY in f->user[0] (the
 * only test other flows pay) and its entry, by flow slot, in a side table
 * of ct capacity entries (struct ef_fwd_proxy; w->proxy6 for the IPv6
 * table, EF_FWD_FLOW_PROXY_V6) plus one pending-list slot. Over IPv6 the
 * header is "PROXY TCP6 ..." (at most 104 bytes) or v2 with AF_INET6 (52),
 * in its own segment as over IPv4. Worker lcore only.
 */

#include <stdint.h>

#include <rte_mbuf.h>

#include "ef_ct.h"
#include "ef_fwd.h"
#include "ef_pkt.h"

/* f->user[0]: flow of a PROXY protocol port */
#define EF_FWD_FLOW_PROXY 0x01
/* f->user[0]: flow opened by a SYN cookie, sequence translated (fwd_syn.h) */
#define EF_FWD_FLOW_SYNPROXY 0x02
/* f->user[0]: a PROXY flow's header is v2 (else v1) */
#define EF_FWD_FLOW_PROXY_V2 0x04
/* f->user[0]: a PROXY or SYN proxy flow of the IPv6 table (w->ct6: its
 * state is in w->proxy6) */
#define EF_FWD_FLOW_PROXY_V6 0x08

/* ef_fwd_proxy.st */
#define EF_FWD_PROXY_SENT	0x01	/* header sent: the shift applies */
#define EF_FWD_PROXY_DONE	0x02	/* acked, or no longer to be resent */
#define EF_FWD_PROXY_TS		0x04	/* client uses timestamps */
#define EF_FWD_PROXY_PEND	0x08	/* slot is on the pending list */
#define EF_FWD_PROXY_FAST	0x10	/* resent on a dup ACK since last send */
#define EF_FWD_PROXY_TRY_SHIFT	5	/* timeout retransmissions, 0..7 */

/* The SYN proxy's part of a flow slot (fwd_syn.h), apart from what
 * ef_fwd_proxy_open() clears: 16 bytes. */
struct ef_fwd_synp {
	uint32_t isn;		/* client ISN */
	uint32_t cookie;	/* edgefwd's ISN toward the client (the cookie);
				 * once the endpoint answered: delta, the
				 * endpoint's ISN - cookie */
	uint32_t sent_ms;	/* SYN to the endpoint last sent */
	uint16_t win;		/* client's window, as on the wire */
	uint8_t mss_idx;	/* the cookie's MSS */
	uint8_t st;		/* EF_FWD_SYNP_* */
};

/* Per flow slot: 40 bytes (+ 4 of pending list). */
struct ef_fwd_proxy {
	uint32_t base;		/* client ISN + 1: the header's sequence */
	uint32_t ack;		/* client's latest ACK, while not DONE */
	uint32_t tsval;		/* client's latest timestamps, while not DONE */
	uint32_t tsecr;
	uint32_t sent_ms;	/* last (re)transmission */
	uint16_t win;		/* client's latest window, as on the wire */
	uint8_t len;		/* H */
	uint8_t st;		/* EF_FWD_PROXY_*; len 28 is v2, v1 is longer */
	struct ef_fwd_synp syn;	/* SYN proxy (EF_FWD_FLOW_SYNPROXY) */
};

/* Side table and pending list for ct capacity flows. 0 or -ENOMEM.
 * Control lcore, at worker creation. */
int ef_fwd_proxy_init(struct ef_fwd_worker *w, int socket_id);
void ef_fwd_proxy_fini(struct ef_fwd_worker *w);

/* A new flow of a port with PROXY protocol version ver (its SYN in
 * frame/pm; an IPv6 SYN: f is of w->ct6). */
void ef_fwd_proxy_open(struct ef_fwd_worker *w, struct ef_ct_flow *f,
		       uint8_t ver, const uint8_t *frame,
		       const struct ef_pkt_meta *pm);

/* Before ef_ct_update(): an endpoint -> client segment of a PROXY flow
 * gets its ACK and SACK mapped to the client's numbers. */
void ef_fwd_proxy_pre(struct ef_fwd_worker *w, struct ef_ct_flow *f,
		      uint8_t dir, uint8_t *frame,
		      const struct ef_pkt_meta *pm);

/* After an OK verdict, before forward(): client -> endpoint: header sent
 * on the handshake's last ACK, sequence shifted; endpoint -> client:
 * header acknowledged, or missing (dup ACK: resent). */
void ef_fwd_proxy_post(struct ef_fwd_worker *w, struct ef_ct_flow *f,
		       uint8_t dir, uint8_t *frame,
		       const struct ef_pkt_meta *pm);

/* Housekeeping: one bounded slice of the pending list (timeouts). */
void ef_fwd_proxy_sweep(struct ef_fwd_worker *w);

#endif /* EF_FWD_PROXY_H */
