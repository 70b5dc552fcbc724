/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The answers a worker gives itself: frames bounced back where they came
 * from (ARP replies, ICMP echo replies, TCP RSTs and ICMP errors for
 * rejected flows), under one ICMP token bucket, and what to do with
 * traffic to our own addresses that no flow or frontend claims.
 */
#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ip.h>

#include "ef_fwd.h"
#include "fwd_priv.h"

/* Send a frame back where it came from: MACs swapped. */
void
ef_fwd_bounce(struct ef_fwd_worker *w, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint16_t iface = rx_iface(w, m);

	rte_ether_addr_copy(&eh->src_addr, &eh->dst_addr);
	memcpy(eh->src_addr.addr_bytes, w->sh->ports[iface].mac, 6);
	out_queue(w, iface, m);
}

/* Token bucket for the ICMP errors we generate (RFC 1812 4.3.2.8). */
bool
ef_fwd_icmp_allowed(struct ef_fwd_worker *w)
{
	uint32_t dt = w->now_ms - w->icmp_last_ms;

	if (dt > 0) {
		w->icmp_tokens += (uint64_t)dt * w->sh->icmp_rate / 1000;
		if (w->icmp_tokens > ICMP_BURST)
			w->icmp_tokens = ICMP_BURST;
		w->icmp_last_ms = w->now_ms;
	}
	if (w->icmp_tokens == 0)
		return false;
	w->icmp_tokens--;
	return true;
}

/*
 * Replace the frame with an ICMP error about its IPv4 packet, sent back to
 * the previous hop, from the receiving interface's address (or 'src').
 * Consumes m. Returns true when an error was sent.
 */
bool
ef_fwd_icmp_error(struct ef_fwd_worker *w, struct rte_mbuf *m,
		const struct ef_pkt_meta *pm, uint8_t type, uint8_t code,
		uint16_t mtu, uint32_t src)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	int len;

	if (!ef_fwd_icmp_allowed(w)) {
		w->c.drops[EF_FWD_DROP_ICMP_RATELIMIT]++;
		rte_pktmbuf_free(m);
		return false;
	}
	if (src == 0)
		src = w->sh->ports[rx_iface(w, m)].addr;
	len = ef_pkt_build_icmp4_error(w->scratch, sizeof(w->scratch),
				       frame + pm->l3_off, pm->l3_len, type,
				       code, mtu, src);
	if (len < 0 || (uint32_t)len + pm->l3_off >
	    (uint32_t)(m->buf_len - rte_pktmbuf_headroom(m))) {
		/* not an error we may send (error about an error, ...) */
		rte_pktmbuf_free(m);
		return false;
	}
	memcpy(frame + pm->l3_off, w->scratch, (size_t)len);
	m->data_len = (uint16_t)(pm->l3_off + len);
	m->pkt_len = m->data_len;
	w->c.icmp_errors_sent++;
	ef_fwd_bounce(w, m);
	return true;
}

void
ef_fwd_reject(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);

	if (pm->proto == IPPROTO_TCP) {
		int len;

		if (!ef_fwd_icmp_allowed(w)) {
			w->c.drops[EF_FWD_DROP_ICMP_RATELIMIT]++;
			rte_pktmbuf_free(m);
			return;
		}
		len = ef_pkt_tcp4_rst_reply(frame, pm);
		if (len < 0) {
			rte_pktmbuf_free(m);
			return;
		}
		m->data_len = (uint16_t)(pm->l3_off + len);
		m->pkt_len = m->data_len;
		w->c.rst_sent++;
		ef_fwd_bounce(w, m);
		return;
	}
	ef_fwd_icmp_error(w, m, pm, 3, 3, 0, pm->dst.v4);
}

/* Traffic to one of our addresses that no flow and no frontend claims. */
void
ef_fwd_local_delivery(struct ef_fwd_worker *w, struct rte_mbuf *m,
	       struct ef_pkt_meta *pm, uint32_t own)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);

	if (pm->proto == IPPROTO_ICMP && pm->icmp_type == 8 &&
	    !(pm->flags & EF_PKT_F_FRAG)) {
		if (ef_pkt_icmp4_echo_reply(frame, pm) == 0) {
			w->c.icmp_echo_replies++;
			ef_fwd_bounce(w, m);
		} else {
			drop(w, m, EF_FWD_DROP_PARSE_ERROR);
		}
		return;
	}
	if (own & EF_SVC_OWN_IFACE) {
		/* the node itself: SSH, BGP, probes, healthCheckNodePort */
		to_control(w, m);
		return;
	}
	if (own & EF_SVC_OWN_SNAT) {
		drop(w, m, EF_FWD_DROP_NO_FLOW);
		return;
	}
	drop(w, m, EF_FWD_DROP_NO_SERVICE);
}

void
ef_fwd_arp(struct ef_fwd_worker *w, struct rte_mbuf *m, struct ef_pkt_meta *pm)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)
		(frame + pm->l3_off);
	uint16_t iface = rx_iface(w, m);
	struct rte_mbuf *learn;

	if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) {
		uint32_t own = ef_svc_owned4(w->gen, arp->arp_data.arp_tip);

		/* cluster IPs are routed to us, never announced */
		if ((own & (EF_SVC_OWN_IFACE | EF_SVC_OWN_VIP |
			    EF_SVC_OWN_SNAT)) == 0 ||
		    arp->arp_data.arp_tip == arp->arp_data.arp_sip) {
			drop(w, m, EF_FWD_DROP_NOT_FOR_US);
			return;
		}
		/* the asker is about to talk to us: learn it now (as Linux
		 * does) so that our first answer does not wait for ARP */
		learn = rte_pktmbuf_copy(m, w->sh->pool, 0, UINT32_MAX);
		if (learn != NULL)
			to_control(w, learn);
		else	/* the copy is lost, the answer still goes */
			w->c.drops[EF_FWD_DROP_NO_MBUF]++;
		if (ef_pkt_arp_reply(frame, pm, w->sh->ports[iface].mac) != 0) {
			drop(w, m, EF_FWD_DROP_PARSE_ERROR);
			return;
		}
		w->c.arp_replies++;
		out_queue(w, iface, m);
		return;
	}
	/* replies: the control lcore learns them and tells the kernel */
	to_control(w, m);
}
