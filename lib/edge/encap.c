/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Encapsulation toward a node (IPIP, GUE, l2), the too-big decision and
 * outer fragmentation, and the TCP MSS clamp. See ef_edge.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "ef_edge.h"
#include "edge_priv.h"

EF_LOG_REGISTER(edge);

#define ETH_LEN ((uint32_t)sizeof(struct rte_ether_hdr))
#define IP4_MIN 20u
#define IP6_LEN 40u
#define UDP_LEN 8u
#define TCP_MIN 20u

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOLEN_MSS 4

static const char *const fwd_names[] = {
#define EF_EDGE_FWD_NAME(e, s) s,
	EF_EDGE_FOREACH_FWD(EF_EDGE_FWD_NAME)
#undef EF_EDGE_FWD_NAME
};

static const char *const encap_rc_names[] = {
#define EF_EDGE_ENCAP_NAME(e, s) s,
	EF_EDGE_FOREACH_ENCAP_RC(EF_EDGE_ENCAP_NAME)
#undef EF_EDGE_ENCAP_NAME
};

int
ef_edge_fwd_parse(const char *text)
{
	if (text == NULL)
		return -EINVAL;
	for (unsigned int i = 0; i < EF_EDGE_FWD_MAX; i++)
		if (strcmp(text, fwd_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

const char *
ef_edge_fwd_name(unsigned int fwd)
{
	return fwd < EF_EDGE_FWD_MAX ? fwd_names[fwd] : "?";
}

const char *
ef_edge_encap_rc_name(unsigned int rc)
{
	return rc < EF_EDGE_ENCAP_RC_MAX ? encap_rc_names[rc] : "?";
}

uint16_t
ef_edge_gue_sport(uint32_t flow_hash)
{
	/* fold so that every bit of the hash moves the port */
	uint32_t h = flow_hash ^ (flow_hash >> 16);

	return rte_cpu_to_be_16((uint16_t)(EF_EDGE_GUE_SPORT_BASE |
					   (h & EF_EDGE_GUE_SPORT_MASK)));
}

/* The inner packet at the front of m: its length (IPv4 total length,
 * IPv6 40 + payload length), outer TOS and protocol, the DF of an IPv4
 * one. false when m does not hold a whole one after Ethernet. */
static bool
inner_of(const struct rte_mbuf *m, uint32_t *tot, uint8_t *tos,
	 uint8_t *proto, bool *df)
{
	const struct rte_ether_hdr *eh =
		rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		const struct rte_ipv4_hdr *in =
			(const struct rte_ipv4_hdr *)(eh + 1);
		uint32_t ihl = (uint32_t)(in->version_ihl &
					  RTE_IPV4_HDR_IHL_MASK) * 4;

		*tot = rte_be_to_cpu_16(in->total_length);
		*tos = in->type_of_service;
		*proto = IPPROTO_IPIP;
		*df = (in->fragment_offset &
		       rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) != 0;
		return (in->version_ihl >> 4) == 4 && ihl >= IP4_MIN &&
			ETH_LEN + ihl <= m->data_len && *tot >= ihl &&
			ETH_LEN + *tot <= m->pkt_len;
	}
	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		const struct rte_ipv6_hdr *in6 =
			(const struct rte_ipv6_hdr *)(eh + 1);
		uint32_t vtc = rte_be_to_cpu_32(in6->vtc_flow);

		if (ETH_LEN + IP6_LEN > m->data_len)
			return false;
		*tot = IP6_LEN + rte_be_to_cpu_16(in6->payload_len);
		*tos = (uint8_t)(vtc >> 20);	/* traffic class */
		*proto = IPPROTO_IPV6;
		*df = false;	/* the caller's t->frag_ok decides */
		return (vtc >> 28) == 6 && ETH_LEN + *tot <= m->pkt_len;
	}
	return false;
}

/* The Ethernet header at the new front of a tunnel frame. */
static inline void
put_eth(uint8_t *p, const struct ef_edge_tunnel *t, uint16_t type)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;

	memcpy(eh->dst_addr.addr_bytes, t->dmac, 6);
	memcpy(eh->src_addr.addr_bytes, t->smac, 6);
	eh->ether_type = rte_cpu_to_be_16(type);
}

/* UDP (checksum 0: the caller's) and the GUE v0 header {0, proto, 0, 0}
 * (C 0, hlen 0, flags 0) in front of an inner packet of tot bytes. */
static inline void
put_gue(struct rte_udp_hdr *uh, const struct ef_edge_tunnel *t,
	uint32_t flow_hash, uint32_t tot, uint8_t proto)
{
	uint8_t *gue = (uint8_t *)(uh + 1);

	uh->src_port = ef_edge_gue_sport(flow_hash);
	uh->dst_port = t->gue_port;
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(tot + UDP_LEN +
						    EF_EDGE_GUE_HDR_LEN));
	uh->dgram_cksum = 0;
	gue[0] = 0;
	gue[1] = proto;
	gue[2] = 0;
	gue[3] = 0;
}

/* The outer IPv6 header (and UDP + GUE) of a tunnel packet to
 * t->dst6: ef_edge_encap() with t->outer6, after the common checks. */
static int
encap6(struct rte_mbuf *m, const struct ef_edge_tunnel *t,
       uint32_t flow_hash, uint32_t tot, uint8_t tos, uint8_t proto)
{
	uint32_t overhead = ef_edge_overhead(t->fwd | EF_EDGE_OUTER6);
	/* RFC 6438: 20 bits of the inner flow's hash, never 0 */
	uint32_t label = (flow_hash ^ (flow_hash >> 20)) & 0xfffffu;
	struct rte_ipv6_hdr *out;
	uint8_t *p;

	if (tot + overhead - IP6_LEN > UINT16_MAX)
		return EF_EDGE_ENCAP_NOT_IPV4;
	p = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)overhead);
	if (p == NULL)
		return EF_EDGE_ENCAP_NO_HEADROOM;
	put_eth(p, t, RTE_ETHER_TYPE_IPV6);
	out = (struct rte_ipv6_hdr *)(p + ETH_LEN);
	out->vtc_flow = rte_cpu_to_be_32((6u << 28) | ((uint32_t)tos << 20) |
					 (label != 0 ? label : 1u));
	out->payload_len = rte_cpu_to_be_16((uint16_t)(tot + overhead -
						       IP6_LEN));
	out->hop_limits = EF_EDGE_OUTER_TTL;
	memcpy(out->src_addr, t->src6, 16);
	memcpy(out->dst_addr, t->dst6, 16);
	if (t->fwd == EF_EDGE_FWD_IPIP) {
		out->proto = proto;
	} else {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(out + 1);

		out->proto = IPPROTO_UDP;
		put_gue(uh, t, flow_hash, tot, proto);
		/* over IPv6 the UDP checksum is not optional (RFC 8200
		 * 8.1): DPDK's mbuf walk, which also covers a chained
		 * inner packet */
		uh->dgram_cksum = rte_ipv6_udptcp_cksum_mbuf(m, out,
			(uint16_t)(ETH_LEN + IP6_LEN));
	}
	return EF_EDGE_ENCAP_OK;
}

int
ef_edge_encap(struct rte_mbuf *m, const struct ef_edge_tunnel *t,
	      uint32_t flow_hash, uint16_t *ip_id)
{
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *out;
	uint32_t tot, overhead;
	uint8_t tos, proto;
	bool df;
	uint8_t *p;

	if (t->fwd >= EF_EDGE_FWD_MAX)
		return EF_EDGE_ENCAP_BAD_METHOD;
	if (m->data_len < ETH_LEN + IP4_MIN ||
	    !inner_of(m, &tot, &tos, &proto, &df))
		return EF_EDGE_ENCAP_NOT_IPV4;
	if (proto == IPPROTO_IPV6)
		df = !t->frag_ok;
	overhead = ef_edge_overhead(t->fwd);
	if (tot + overhead > UINT16_MAX)
		return EF_EDGE_ENCAP_NOT_IPV4;
	/* Ethernet padding of a short frame must not become inner bytes */
	if (m->pkt_len > ETH_LEN + tot &&
	    rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - ETH_LEN - tot)) != 0)
		return EF_EDGE_ENCAP_NOT_IPV4;
	if (t->fwd == EF_EDGE_FWD_L2) {
		eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		memcpy(eh->dst_addr.addr_bytes, t->dmac, 6);
		memcpy(eh->src_addr.addr_bytes, t->smac, 6);
		return EF_EDGE_ENCAP_OK;
	}
	if (t->outer6)
		return encap6(m, t, flow_hash, tot, tos, proto);

	p = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)overhead);
	if (p == NULL)
		return EF_EDGE_ENCAP_NO_HEADROOM;
	/* the Ethernet header moves to the new front; the inner header
	 * stays where it was */
	put_eth(p, t, RTE_ETHER_TYPE_IPV4);
	out = (struct rte_ipv4_hdr *)(p + ETH_LEN);
	out->version_ihl = RTE_IPV4_VHL_DEF;
	/* DSCP and ECN as the inner packet's (RFC 6040 normal mode) */
	out->type_of_service = tos;
	out->total_length = rte_cpu_to_be_16((uint16_t)(tot + overhead));
	if (df) {
		/* RFC 6864 4.1: an atomic datagram's ID has no meaning */
		out->packet_id = 0;
		out->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	} else {
		out->packet_id = rte_cpu_to_be_16((*ip_id)++);
		out->fragment_offset = 0;
	}
	out->time_to_live = EF_EDGE_OUTER_TTL;
	out->src_addr = t->src;
	out->dst_addr = t->dst;
	if (t->fwd == EF_EDGE_FWD_IPIP) {
		out->next_proto_id = proto;
	} else {
		out->next_proto_id = IPPROTO_UDP;
		put_gue((struct rte_udp_hdr *)(out + 1), t, flow_hash, tot,
			proto);
	}
	out->hdr_checksum = 0;
	out->hdr_checksum = rte_ipv4_cksum(out);
	return EF_EDGE_ENCAP_OK;
}

int
ef_edge_fragment(struct rte_mbuf *m, uint16_t mtu, struct rte_mempool *pool,
		 struct rte_mbuf **out, uint16_t max_out)
{
	struct rte_ether_hdr eh;
	const struct rte_ipv4_hdr *ip;
	uint32_t ihl, tot, frag_size, need;
	int32_t n;

	if (m->nb_segs != 1 || m->data_len < ETH_LEN + IP4_MIN)
		return -EINVAL;
	memcpy(&eh, rte_pktmbuf_mtod(m, void *), sizeof(eh));
	if (eh.ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return -EINVAL;
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, ETH_LEN);
	ihl = (uint32_t)(ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
	tot = rte_be_to_cpu_16(ip->total_length);
	if ((ip->version_ihl >> 4) != 4 || ihl < IP4_MIN ||
	    tot < ihl || ETH_LEN + tot != m->data_len ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) ||
	    mtu < ihl + 8)
		return -EINVAL;
	if (tot <= mtu)
		return -EINVAL;		/* nothing to do: the caller's bug */
	frag_size = (mtu - ihl) & ~7u;
	need = (tot - ihl + frag_size - 1) / frag_size;
	if (need > max_out)
		return -ENOSPC;

	rte_pktmbuf_adj(m, (uint16_t)ETH_LEN);
	n = rte_ipv4_fragment_copy_nonseg_packet(m, out, max_out, mtu, pool);
	if (n < 0) {
		rte_pktmbuf_prepend(m, (uint16_t)ETH_LEN);
		return n == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	for (int32_t i = 0; i < n; i++) {
		struct rte_ether_hdr *feh = (struct rte_ether_hdr *)
			rte_pktmbuf_prepend(out[i], (uint16_t)ETH_LEN);
		struct rte_ipv4_hdr *fip;

		if (feh == NULL) {
			for (int32_t j = 0; j < n; j++)
				rte_pktmbuf_free(out[j]);
			rte_pktmbuf_prepend(m, (uint16_t)ETH_LEN);
			return -ENOMEM;
		}
		memcpy(feh, &eh, sizeof(eh));
		fip = (struct rte_ipv4_hdr *)(feh + 1);
		fip->hdr_checksum = 0;
		fip->hdr_checksum = rte_ipv4_cksum(fip);
	}
	rte_pktmbuf_free(m);
	return n;
}

static inline uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
wr16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

enum ef_edge_mss
ef_edge_mss_clamp(uint8_t *frame, const struct ef_pkt_meta *m, uint16_t max_mss)
{
	uint8_t *th;
	uint32_t doff, i;

	if ((m->ip_version != 4 && m->ip_version != 6) ||
	    m->proto != IPPROTO_TCP || m->l4_off == 0 ||
	    (m->flags & EF_PKT_F_FRAG) || !(m->tcp_flags & RTE_TCP_SYN_FLAG) ||
	    m->l4_len < TCP_MIN)
		return EF_EDGE_MSS_NOT_SYN;
	th = frame + m->l4_off;
	doff = (uint32_t)(th[12] >> 4) * 4;
	if (doff < TCP_MIN || doff > m->l4_len)
		return EF_EDGE_MSS_MALFORMED;
	/* every step advances i by >= 1: at most 40 iterations */
	for (i = TCP_MIN; i < doff;) {
		uint8_t kind = th[i];
		uint32_t olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= doff)
			return EF_EDGE_MSS_MALFORMED;
		olen = th[i + 1];
		if (olen < 2 || i + olen > doff)
			return EF_EDGE_MSS_MALFORMED;
		if (kind == TCPOPT_MSS && olen == TCPOLEN_MSS) {
			uint8_t *p = th + i + 2;
			uint16_t mss = (uint16_t)((p[0] << 8) | p[1]);
			uint16_t old_w, new_w, csum;

			if (max_mss == 0 || mss <= max_mss)
				return EF_EDGE_MSS_UNCHANGED;
			old_w = rd16(p);
			p[0] = (uint8_t)(max_mss >> 8);
			p[1] = (uint8_t)max_mss;
			new_w = rd16(p);
			csum = rd16(th + 16);
			/* the checksum sums 16-bit words from the TCP header
			 * start: a field at an odd offset straddles two words
			 * and contributes byte-swapped */
			if ((i + 2) & 1) {
				old_w = (uint16_t)((old_w << 8) | (old_w >> 8));
				new_w = (uint16_t)((new_w << 8) | (new_w >> 8));
			}
			wr16(th + 16, ef_csum_update16(csum, old_w, new_w));
			return EF_EDGE_MSS_CLAMPED;
		}
		i += olen;	/* other options, and a malformed MSS: skip */
	}
	return EF_EDGE_MSS_NO_OPTION;
}
