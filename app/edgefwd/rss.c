/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RSS on the ports and the model the SNAT pick steers by (docs/RSS.md):
 * ask for L4 hashing with the standard key, read back what the port
 * really does, and hand the model to the NAT map only when every port
 * read back the same one.
 */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ethdev.h>

#include "ef_ctl.h"
#include "ef_nat.h"

#include "edgefwd_priv.h"

/* The standard 40-byte Toeplitz key (Microsoft's RSS verification key,
 * the default of most drivers): asked for explicitly, so that ports of
 * different drivers agree. */
static const uint8_t std_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

void
edgefwd_rss_conf(const struct rte_eth_dev_info *info,
		 struct rte_eth_rss_conf *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_NONFRAG_IPV4_TCP |
		      RTE_ETH_RSS_NONFRAG_IPV4_UDP |
		      RTE_ETH_RSS_NONFRAG_IPV6_TCP |
		      RTE_ETH_RSS_NONFRAG_IPV6_UDP) &
		info->flow_type_rss_offloads;
	if (info->hash_key_size == sizeof(std_key)) {
		rc->rss_key = (uint8_t *)(uintptr_t)std_key;
		rc->rss_key_len = sizeof(std_key);
	}
}

static uint8_t
fields(uint64_t hf, uint64_t l4)
{
	if (hf & l4)
		return EF_NAT_RSS_L4;
	if (hf & (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 |
		  RTE_ETH_RSS_NONFRAG_IPV4_OTHER))
		return EF_NAT_RSS_L3;
	return EF_NAT_RSS_NONE;
}

int
edgefwd_rss_read(uint16_t port_id, uint16_t n_rxq, struct ef_nat_rss *r,
		 const char **why)
{
	struct rte_eth_rss_reta_entry64 reta[EF_NAT_RSS_RETA_MAX /
					     RTE_ETH_RETA_GROUP_SIZE];
	struct rte_eth_dev_info info;
	struct rte_eth_rss_conf rc;
	uint32_t i, key_len;
	int ret;

	memset(r, 0, sizeof(*r));
	*why = "";
	if (n_rxq < 2) {
		*why = "one RX queue";
		return -ENOTSUP;
	}
	ret = rte_eth_dev_info_get(port_id, &info);
	if (ret != 0) {
		*why = "no device info";
		return ret;
	}
	if (info.flow_type_rss_offloads == 0) {
		*why = "no RSS";
		return -ENOTSUP;
	}
	/* a driver that does not report the size (net_null) holds the
	 * standard 40 bytes */
	key_len = info.hash_key_size != 0 ? info.hash_key_size : 40;
	if (key_len < 16 || key_len > EF_NAT_RSS_KEY_MAX || key_len % 4 != 0 ||
	    info.reta_size == 0 || info.reta_size > EF_NAT_RSS_RETA_MAX ||
	    (info.reta_size & (info.reta_size - 1)) != 0) {
		EF_EDGEFWD_LOG(DEBUG, "port %u: key %u bytes, RETA %u "
			"entries", port_id, info.hash_key_size,
			info.reta_size);
		*why = "key or RETA size not modelled";
		return -ENOTSUP;
	}
	memset(&rc, 0, sizeof(rc));
	rc.rss_key = r->key;
	rc.rss_key_len = (uint8_t)key_len;
	ret = rte_eth_dev_rss_hash_conf_get(port_id, &rc);
	if (ret != 0) {
		*why = "hash configuration not readable";
		return ret;
	}
	/* one-sided hashing (*_SRC_ONLY, *_DST_ONLY) is not modelled */
	if (rc.rss_hf & (RTE_ETH_RSS_L3_SRC_ONLY | RTE_ETH_RSS_L3_DST_ONLY |
			 RTE_ETH_RSS_L4_SRC_ONLY | RTE_ETH_RSS_L4_DST_ONLY)) {
		*why = "one-sided hash fields";
		return -ENOTSUP;
	}
	memset(reta, 0, sizeof(reta));
	for (i = 0; i < info.reta_size / RTE_ETH_RETA_GROUP_SIZE; i++)
		reta[i].mask = UINT64_MAX;
	if (info.reta_size < RTE_ETH_RETA_GROUP_SIZE)
		reta[0].mask = (UINT64_C(1) << info.reta_size) - 1;
	ret = rte_eth_dev_rss_reta_query(port_id, reta, info.reta_size);
	if (ret != 0) {
		*why = "RETA not readable";
		return ret;
	}
	r->key_len = key_len;
	r->reta_size = info.reta_size;
	for (i = 0; i < info.reta_size; i++) {
		r->reta[i] = reta[i / RTE_ETH_RETA_GROUP_SIZE]
			.reta[i % RTE_ETH_RETA_GROUP_SIZE];
		if (r->reta[i] >= n_rxq) {
			*why = "RETA names a queue not set up";
			return -ENOTSUP;
		}
	}
	r->tcp = fields(rc.rss_hf, RTE_ETH_RSS_NONFRAG_IPV4_TCP);
	r->udp = fields(rc.rss_hf, RTE_ETH_RSS_NONFRAG_IPV4_UDP);
	r->icmp = fields(rc.rss_hf, 0);
	return 0;
}

static bool
same(const struct ef_nat_rss *a, const struct ef_nat_rss *b)
{
	return a->key_len == b->key_len && a->reta_size == b->reta_size &&
		a->tcp == b->tcp && a->udp == b->udp && a->icmp == b->icmp &&
		memcmp(a->key, b->key, a->key_len) == 0 &&
		memcmp(a->reta, b->reta,
		       sizeof(a->reta[0]) * a->reta_size) == 0;
}

static const char *
field_name(uint8_t f)
{
	return f == EF_NAT_RSS_L4 ? "addresses+ports" :
		f == EF_NAT_RSS_L3 ? "addresses only" : "not hashed";
}

void
edgefwd_rss_model(struct ef_ctl *ctl, const char *const *names,
		  const uint16_t *port_ids, const uint16_t *n_rxq,
		  uint16_t n_ports, uint32_t n_workers)
{
	struct ef_nat_rss cur, first;
	const char *why;
	bool ok = n_workers > 1 && n_ports > 0;
	int ret;

	memset(&first, 0, sizeof(first));
	for (uint16_t i = 0; i < n_ports; i++) {
		ret = edgefwd_rss_read(port_ids[i], n_rxq[i], &cur, &why);
		if (ret != 0) {
			EF_EDGEFWD_LOG(INFO, "port %s: RSS not modelled (%s): "
				"replies to SNAT ports arriving there go "
				"through handoff", names[i], why);
			ok = false;
			continue;
		}
		EF_EDGEFWD_LOG(INFO, "port %s: RSS read back: key %u bytes, "
			"RETA %u entries over %u queues; tcp %s, udp %s, "
			"icmp %s", names[i], cur.key_len, cur.reta_size,
			n_rxq[i], field_name(cur.tcp), field_name(cur.udp),
			field_name(cur.icmp));
		if (i == 0 || !ok) {
			if (i == 0)
				first = cur;
			continue;
		}
		if (!same(&first, &cur)) {
			EF_EDGEFWD_LOG(INFO, "port %s: RSS differs from port "
				"%s's: no model, SNAT replies go through "
				"handoff", names[i], names[0]);
			ok = false;
		}
	}
	if (!ok || n_ports == 0) {
		EF_EDGEFWD_LOG(INFO, "SNAT port pick: slices only (replies "
			"to a SNAT port reach its owner by handoff when RSS "
			"puts them elsewhere)");
		return;
	}
	ret = ef_ctl_nat_rss_set(ctl, &first);
	if (ret != 0) {
		EF_EDGEFWD_LOG(WARNING, "SNAT RSS model refused: %s",
			strerror(-ret));
		return;
	}
	EF_EDGEFWD_LOG(INFO, "SNAT port pick: steered by RSS (replies land "
		"on the owner's queue%s)", first.tcp == EF_NAT_RSS_L4 &&
		first.udp == EF_NAT_RSS_L4 ? "" :
		"; protocols hashed on addresses only still need handoff");
}
