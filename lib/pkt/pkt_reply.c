/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The answers edgefwd builds itself: ARP replies and requests, ICMP echo
 * replies, TCP resets and ICMP errors (RFC 792, 1122, 1812 rules on when
 * not to send one).
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "ef_pkt.h"
#include "pkt_priv.h"

/* --- answers --- */

int
ef_pkt_arp_reply(uint8_t *frame, const struct ef_pkt_meta *m,
		 const uint8_t mac[6])
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_arp_hdr *arp;
	struct rte_arp_ipv4 *d;
	uint32_t sip;

	if (m->l3 != EF_PKT_L3_ARP)
		return -EINVAL;
	arp = (struct rte_arp_hdr *)(frame + m->l3_off);
	if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST))
		return -EINVAL;
	d = &arp->arp_data;
	memcpy(&eth->dst_addr, &d->arp_sha, RTE_ETHER_ADDR_LEN);
	memcpy(&eth->src_addr, mac, RTE_ETHER_ADDR_LEN);
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	d->arp_tha = d->arp_sha;
	memcpy(&d->arp_sha, mac, RTE_ETHER_ADDR_LEN);
	sip = d->arp_sip;
	d->arp_sip = d->arp_tip;
	d->arp_tip = sip;
	return 0;
}

uint32_t
ef_pkt_build_arp_request(uint8_t *out, const uint8_t smac[6],
			 uint32_t sip, uint32_t tip)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)out;
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	memcpy(&eth->src_addr, smac, RTE_ETHER_ADDR_LEN);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	memcpy(&arp->arp_data.arp_sha, smac, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_sip = sip;
	memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_tip = tip;
	return RTE_ETHER_HDR_LEN + sizeof(*arp);
}

int
ef_pkt_icmp4_echo_reply(uint8_t *frame, struct ef_pkt_meta *m)
{
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *ih;
	uint16_t ow;
	uint32_t a;
	uint8_t *w;

	if (m->ip_version != 4 || m->proto != IPPROTO_ICMP ||
	    !(m->flags & EF_PKT_F_L4) || (m->flags & EF_PKT_F_FRAG) ||
	    m->icmp_type != RTE_IP_ICMP_ECHO_REQUEST)
		return -EINVAL;
	ip = (struct rte_ipv4_hdr *)(frame + m->l3_off);
	ih = (struct rte_icmp_hdr *)(frame + m->l4_off);

	/* swapping the addresses leaves every sum unchanged */
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	w = (uint8_t *)&ip->time_to_live;
	ow = rd16(w);
	ip->time_to_live = 64;
	ip->hdr_checksum = ef_csum_update16(ip->hdr_checksum, ow, rd16(w));

	/*
	 * Full recomputation, not RFC 1624: an all-zero reply must carry
	 * 0xffff, and eqn. 3 yields 0x0000 there, which receivers reject.
	 * Echo replies are control-rate; the cost does not matter.
	 */
	ih->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ih->icmp_cksum = 0;
	ih->icmp_cksum = (uint16_t)~rte_raw_cksum(ih, m->l4_len);

	a = m->src.v4;
	m->src.v4 = m->dst.v4;
	m->dst.v4 = a;
	m->ttl = 64;
	m->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	return 0;
}

int
ef_pkt_tcp4_rst_reply(uint8_t *frame, struct ef_pkt_meta *m)
{
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint32_t seq, ack, seglen, src, dst;
	uint16_t sport, dport;
	uint8_t fl;

	if (m->ip_version != 4 || m->proto != IPPROTO_TCP ||
	    !(m->flags & EF_PKT_F_L4) || (m->flags & EF_PKT_F_FRAG))
		return -EINVAL;
	ip = (struct rte_ipv4_hdr *)(frame + m->l3_off);
	th = (struct rte_tcp_hdr *)(frame + m->l4_off);
	fl = th->tcp_flags;
	if (fl & RTE_TCP_RST_FLAG)
		return -EINVAL;	/* RFC 793: never answer a reset */

	/* read everything first: the TCP header moves if IP had options */
	seglen = m->l4_len - (uint32_t)(th->data_off >> 4) * 4;
	if (fl & RTE_TCP_SYN_FLAG)
		seglen++;
	if (fl & RTE_TCP_FIN_FLAG)
		seglen++;
	seq = rte_be_to_cpu_32(th->sent_seq);
	ack = rte_be_to_cpu_32(th->recv_ack);
	sport = th->src_port;
	dport = th->dst_port;
	src = ip->src_addr;
	dst = ip->dst_addr;

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = RTE_BE16(IP4_HDR_MIN + TCP_HDR_MIN);
	ip->packet_id = 0;
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = dst;
	ip->dst_addr = src;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	th = (struct rte_tcp_hdr *)(ip + 1);
	th->src_port = dport;
	th->dst_port = sport;
	if (fl & RTE_TCP_ACK_FLAG) {
		th->sent_seq = rte_cpu_to_be_32(ack);
		th->recv_ack = 0;
		th->tcp_flags = RTE_TCP_RST_FLAG;
	} else {
		th->sent_seq = 0;
		th->recv_ack = rte_cpu_to_be_32(seq + seglen);
		th->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	}
	th->data_off = (TCP_HDR_MIN / 4) << 4;
	th->rx_win = 0;
	th->tcp_urp = 0;
	th->cksum = 0;
	/* fits DPDK's helper now: no options, length from the IP header */
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);

	m->flags &= (uint16_t)~EF_PKT_F_IP_OPTIONS;
	m->l3_len = IP4_HDR_MIN + TCP_HDR_MIN;
	m->l4_off = (uint16_t)(m->l3_off + IP4_HDR_MIN);
	m->l4_len = TCP_HDR_MIN;
	m->ttl = 64;
	m->tcp_flags = th->tcp_flags;
	m->sport = dport;
	m->dport = sport;
	m->src.v4 = dst;
	m->dst.v4 = src;
	return IP4_HDR_MIN + TCP_HDR_MIN;
}

int
ef_pkt_build_icmp4_error(uint8_t *out, uint32_t cap,
			 const uint8_t *orig_l3, uint32_t orig_len,
			 uint8_t type, uint8_t code, uint16_t mtu,
			 uint32_t src)
{
	const struct rte_ipv4_hdr *oip = (const struct rte_ipv4_hdr *)orig_l3;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)out;
	struct rte_icmp_hdr *ih;
	uint32_t ihl, olen, quote, total;
	uint16_t frag;

	if (!icmp4_is_error(type) || orig_len < IP4_HDR_MIN ||
	    (oip->version_ihl >> 4) != 4)
		return -EINVAL;
	ihl = (uint32_t)(oip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
	olen = rte_be_to_cpu_16(oip->total_length);
	if (ihl < IP4_HDR_MIN || ihl > orig_len || olen < ihl)
		return -EINVAL;
	if (olen > orig_len)
		olen = orig_len;	/* quote only what we have */

	/* RFC 1122 3.2.2 / RFC 1812 4.3.2.7: when not to send an error */
	frag = rte_be_to_cpu_16(oip->fragment_offset);
	if ((frag & RTE_IPV4_HDR_OFFSET_MASK) ||
	    ip4_is_bcast_mcast(oip->dst_addr) ||
	    ip4_is_bcast_mcast(oip->src_addr) || oip->src_addr == 0)
		return -EINVAL;
	if (oip->next_proto_id == IPPROTO_ICMP) {
		uint8_t ot;

		if (olen < ihl + 1)
			return -EINVAL;
		ot = orig_l3[ihl];
		if (icmp4_is_error(ot) || ot == ICMP4_SOURCE_QUENCH ||
		    ot == ICMP4_REDIRECT)
			return -EINVAL;
	}

	quote = RTE_MIN(olen, (uint32_t)(ICMP_ERR_MAX - IP4_HDR_MIN -
					 ICMP_HDR_LEN));
	if (cap < IP4_HDR_MIN + ICMP_HDR_LEN)
		return -ENOSPC;
	quote = RTE_MIN(quote, cap - IP4_HDR_MIN - ICMP_HDR_LEN);
	if (quote < RTE_MIN(olen, ihl + ICMP_QUOTE_L4))
		return -ENOSPC;
	total = IP4_HDR_MIN + ICMP_HDR_LEN + quote;

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0xc0;	/* internetwork control, as Linux */
	ip->total_length = rte_cpu_to_be_16((uint16_t)total);
	ip->packet_id = 0;
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = src;
	ip->dst_addr = oip->src_addr;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	ih = (struct rte_icmp_hdr *)(ip + 1);
	ih->icmp_type = type;
	ih->icmp_code = code;
	ih->icmp_ident = 0;
	/* RFC 1191: next-hop MTU in the low half of the unused word */
	ih->icmp_seq_nb = (type == ICMP4_DEST_UNREACH && code == 4) ?
		rte_cpu_to_be_16(mtu) : 0;
	ih->icmp_cksum = 0;
	memcpy(ih + 1, orig_l3, quote);
	ih->icmp_cksum = (uint16_t)~ef_csum_raw(ih, ICMP_HDR_LEN + quote, 0);
	return (int)total;
}
