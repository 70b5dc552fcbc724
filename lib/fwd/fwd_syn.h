/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_FWD_SYN_H
#define EF_FWD_SYN_H

/*
 * SYN flood defence (fwd_syn.c, docs/RELIABILITY.md "SYN flood defence"):
 * SYN cookies and the SYN proxy that completes a cookie's handshake with
 * the endpoint.
 *
 * When a worker's half-open TCP flows (syn_sent + syn_recv, from the
 * table's counters) reach its share of conntrack.syn_cookie_threshold, a
 * plain SYN to a proxy-mode TCP frontend (an endpoint chosen, quota
 * passed) is answered by the worker itself: a SYN-ACK from the frontend
 * whose ISN is the cookie, MSS option only (no window scale, no
 * SACK-permitted, no timestamps: the connection goes without them, as a
 * Linux cookie without timestamps does). Nothing is stored.
 *
 * Cookie (32 bits): slot (2 bits: now_ms >> 16, 65.5 s slots) | MSS index
 * (2 bits: 536, 1220, 1440, 1460, the largest not above the client's) |
 * 28 bits of SipHash-2-4 (per-worker random key) of client address and
 * port, frontend address and port, client ISN, slot and MSS index.
 * IPv6 flows (w->ct6) get the same: a 48-byte SipHash message with the
 * 16-byte addresses, the MSS table as IPv4's (an IPv6 client's MSS is 20
 * bytes smaller for the same path: 1440 for 1500, 1220 for 1280), the
 * threshold counting the half-open flows of both tables, the state in
 * w->proxy6. An
 * ACK no flow claims, while cookies were sent in the last two slots, is a
 * cookie answer when ack - 1 validates for the current or the previous
 * slot (syn_cookies_ok), else it is dropped no_flow (syn_cookies_bad).
 *
 * A valid ACK opens the flow as a SYN would (quota, endpoint, SNAT), then
 * the worker sends the endpoint a SYN in the client's name (client ISN,
 * the cookie's MSS, the client's window). While the endpoint has not
 * answered, the client's first segment is held (one per flow,
 * EF_FWD_SYN_HOLD per worker, syn_proxy_held) and sent after the ACK;
 * the others are dropped (syn_proxy_wait) and retransmitted by the client
 * (one arriving 1 s after the SYN makes the worker resend the SYN). The
 * endpoint's SYN-ACK is answered by an ACK from the worker and not
 * forwarded; from then on, for the life of the
 * flow, delta = endpoint ISN - cookie: endpoint -> client sequence
 * numbers move by -delta (after ef_ct_update), client -> endpoint
 * acknowledgements and SACK edges by +delta (before it): conntrack sees
 * the endpoint's numbers. An RST answering the SYN goes to the client at
 * the sequence it expects. The state is the slot's struct ef_fwd_synp in
 * the PROXY protocol side table (fwd_proxy.h), with which it composes.
 * Worker lcore only.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "ef_ct.h"
#include "ef_fwd.h"
#include "ef_pkt.h"

#define EF_FWD_SYN_SLOT_SHIFT 16	/* cookie time slot: now_ms >> 16 */
#define EF_FWD_SYN_RESEND_MS 1000u	/* SYN to the endpoint resent */
#define EF_FWD_SYN_HOLD_MS 3000u	/* a held client segment at most */

/* ef_fwd_synp.st */
#define EF_FWD_SYNP_WAIT 0x01	/* SYN sent, endpoint's SYN-ACK awaited */
#define EF_FWD_SYNP_DONE 0x02	/* delta known: translating */

/* The MSS a cookie's index stands for (idx & 3). */
uint16_t ef_fwd_syn_mss(uint32_t idx);

/* The cookie of a client's SYN (addresses, ports network order; isn,
 * slot host order). */
uint32_t ef_fwd_syn_cookie(const uint64_t key[2], uint32_t client,
			   uint16_t cport, uint32_t frontend, uint16_t fport,
			   uint32_t isn, uint32_t slot, uint32_t mss_idx);

/* The same for an IPv6 client and frontend (16-byte addresses): SipHash
 * over 48 bytes. */
uint32_t ef_fwd_syn_cookie6(const uint64_t key[2], const uint8_t client[16],
			    uint16_t cport, const uint8_t frontend[16],
			    uint16_t fport, uint32_t isn, uint32_t slot,
			    uint32_t mss_idx);

/* Random key; control lcore, at worker creation. */
void ef_fwd_syn_init(struct ef_fwd_worker *w);

/* true when a new SYN is to be answered by a cookie. */
bool ef_fwd_syn_wanted(const struct ef_fwd_worker *w);

/* Answer the SYN in m (parsed in pm) with a cookie SYN-ACK. Consumes m. */
void ef_fwd_syn_reply(struct ef_fwd_worker *w, struct rte_mbuf *m,
		      const struct ef_pkt_meta *pm);

/* An ACK no flow claims: -1 when cookies are not in use (not a cookie
 * answer), -2 when it does not validate (counted syn_cookies_bad), else
 * the cookie's MSS index (counted syn_cookies_ok). */
int ef_fwd_syn_check(struct ef_fwd_worker *w, const uint8_t *frame,
		     const struct ef_pkt_meta *pm);

/* Flow f was opened by a valid cookie ACK in m: m becomes the SYN the
 * client would have sent the frontend (pm parsed again). False when m
 * was dropped instead (the SYN then goes on the client's next segment). */
bool ef_fwd_syn_open(struct ef_fwd_worker *w, struct ef_ct_flow *f,
		     struct rte_mbuf *m, struct ef_pkt_meta *pm,
		     uint32_t mss_idx);

/* Before ef_ct_update() on a SYN proxy flow: true when m was consumed (a
 * client segment while the endpoint has not answered, a stray endpoint
 * segment); else client -> endpoint ACK and SACK shifted by +delta. */
bool ef_fwd_syn_pre(struct ef_fwd_worker *w, struct ef_ct_flow *f,
		    uint8_t dir, struct rte_mbuf *m, struct ef_pkt_meta *pm);

/* The client segment held for f (EF_FWD_SYN_HOLD), now that its
 * endpoint answered, or NULL. */
struct rte_mbuf *ef_fwd_syn_release(struct ef_fwd_worker *w,
				    const struct ef_ct_flow *f);

/* Housekeeping: held segments whose flow is gone, no longer waiting, or
 * waited EF_FWD_SYN_HOLD_MS are dropped (syn_proxy_wait). */
void ef_fwd_syn_sweep(struct ef_fwd_worker *w);
void ef_fwd_syn_fini(struct ef_fwd_worker *w);

/* After an OK verdict: 1 when m, the endpoint's SYN-ACK, became the ACK
 * toward the endpoint (as from the client, pm parsed again: the caller
 * updates ct and forwards it in direction 0); -1 when m was dropped
 * instead; 0: endpoint -> client sequence shifted by -delta, forward. */
int ef_fwd_syn_post(struct ef_fwd_worker *w, struct ef_ct_flow *f,
		     uint8_t dir, struct rte_mbuf *m, struct ef_pkt_meta *pm);

#endif /* EF_FWD_SYN_H */
