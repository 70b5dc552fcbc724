/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "ef_cfg.h"
#include "ef_ct.h"
#include "ef_ctl.h"
#include "ef_fwd.h"
#include "hx.h"

struct hx {
	struct ef_ctl *ctl;
	struct ef_fwd_shared *sh;
	struct ef_fwd_worker *w;
};

const char hx_default_conf[] =
	"node = { name = \"node-a\"; snat_addresses = [ \"10.0.0.1\" ]; };\n"
	"interfaces = (\n"
	"  { port = \"net_null0\"; address = \"198.51.100.1/24\"; },\n"
	"  { port = \"net_null1\"; address = \"10.244.0.1/24\"; },\n"
	"  { port = \"net_null2\"; address = \"10.0.0.1/24\"; }\n"
	");\n"
	"routes = ( { prefix = \"10.244.1.0/24\"; via = \"10.0.0.2\"; } );\n"
	"neighbors = (\n"
	"  { address = \"198.51.100.2\"; mac = \"02:00:00:00:00:02\"; },\n"
	"  { address = \"10.244.0.5\"; mac = \"02:00:00:00:00:05\"; },\n"
	"  { address = \"10.244.0.6\"; mac = \"02:00:00:00:00:06\"; },\n"
	"  { address = \"10.0.0.2\"; mac = \"02:00:00:00:00:0b\"; }\n"
	");\n"
	"dataplane = { rx_descriptors = 128; tx_descriptors = 128;"
	" mbufs = 8191; };\n"
	"conntrack = { max_flows = 1024; tcp_syn_timeout = 1; };\n"
	"health = { type = \"none\"; };\n"
	"services = (\n"
	" { name = \"demo/web-local\"; type = \"LoadBalancer\";\n"
	"   cluster_ip = \"10.96.0.10\";\n"
	"   load_balancer_ips = [ \"198.51.100.10\" ];\n"
	"   external_traffic_policy = \"Local\"; health_check_node_port = 32000;\n"
	"   ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	" node_port = 30080; target_port = 8080; },\n"
	"             { name = \"dns\"; protocol = \"UDP\"; port = 5353;"
	" node_port = 30053; target_port = 5353; } );\n"
	"   endpoints = ( { address = \"10.244.0.5\"; node = \"node-a\"; },\n"
	"                 { address = \"10.244.1.7\"; node = \"node-b\"; } ); },\n"
	" { name = \"demo/web-cluster\"; type = \"LoadBalancer\";\n"
	"   cluster_ip = \"10.96.0.11\";\n"
	"   load_balancer_ips = [ \"198.51.100.11\" ];\n"
	"   ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	" target_port = 8080; },\n"
	"             { name = \"dns\"; protocol = \"UDP\"; port = 5353;"
	" target_port = 5353; } );\n"
	"   endpoints = ( { address = \"10.244.0.5\"; node = \"node-a\"; },\n"
	"                 { address = \"10.244.0.6\"; node = \"node-a\"; },\n"
	"                 { address = \"10.244.1.7\"; node = \"node-b\"; } ); },\n"
	" { name = \"demo/remote-only\"; type = \"LoadBalancer\";\n"
	"   cluster_ip = \"10.96.0.12\";\n"
	"   load_balancer_ips = [ \"198.51.100.12\" ];\n"
	"   external_traffic_policy = \"Local\";\n"
	"   ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	" target_port = 8080; } );\n"
	"   endpoints = ( { address = \"10.244.1.7\"; node = \"node-b\"; } ); },\n"
	" { name = \"demo/affinity\"; type = \"LoadBalancer\";\n"
	"   cluster_ip = \"10.96.0.13\";\n"
	"   load_balancer_ips = [ \"198.51.100.13\" ];\n"
	"   session_affinity = \"ClientIP\";\n"
	"   ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	" target_port = 8080; } );\n"
	"   endpoints = ( { address = \"10.244.0.5\"; node = \"node-a\"; },\n"
	"                 { address = \"10.244.0.6\"; node = \"node-a\"; } ); },\n"
	" { name = \"demo/empty\"; type = \"LoadBalancer\";\n"
	"   cluster_ip = \"10.96.0.14\";\n"
	"   load_balancer_ips = [ \"198.51.100.14\" ];\n"
	"   ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	" target_port = 8080; },\n"
	"             { name = \"dns\"; protocol = \"UDP\"; port = 53;"
	" target_port = 53; } );\n"
	"   endpoints = ( ); }\n"
	");\n";

/* hx_default_conf's topology dual-stack (issue 12): what fuzz_fwd runs,
 * so that the IPv6 path (lib/fwd/fwd6.c) is fuzzed beside IPv4's. */
const char hx_dual_conf[] =
	"node = { name = \"node-a\";"
	" snat_addresses = [ \"10.0.0.1\", \"fd00:10::1\" ]; };\n"
	"interfaces = (\n"
	"  { port = \"net_null0\";"
	" addresses = [ \"198.51.100.1/24\", \"2001:db8:100::1/64\" ]; },\n"
	"  { port = \"net_null1\";"
	" addresses = [ \"10.244.0.1/24\", \"fd00:244::1/64\" ]; },\n"
	"  { port = \"net_null2\";"
	" addresses = [ \"10.0.0.1/24\", \"fd00:10::1/64\" ]; }\n"
	");\n"
	"routes = ( { prefix = \"10.244.1.0/24\"; via = \"10.0.0.2\"; },\n"
	"           { prefix = \"fd00:244:1::/64\"; via = \"fd00:10::2\"; } );\n"
	"neighbors = (\n"
	"  { address = \"198.51.100.2\"; mac = \"02:00:00:00:00:02\"; },\n"
	"  { address = \"10.244.0.5\"; mac = \"02:00:00:00:00:05\"; },\n"
	"  { address = \"10.0.0.2\"; mac = \"02:00:00:00:00:0b\"; },\n"
	"  { address = \"2001:db8:100::2\"; mac = \"02:00:00:00:00:02\"; },\n"
	"  { address = \"fd00:244::5\"; mac = \"02:00:00:00:00:05\"; },\n"
	"  { address = \"fd00:10::2\"; mac = \"02:00:00:00:00:0b\"; }\n"
	");\n"
	"dataplane = { rx_descriptors = 128; tx_descriptors = 128;"
	" mbufs = 8191; };\n"
	"conntrack = { max_flows = 1024; tcp_syn_timeout = 1; };\n"
	"health = { type = \"none\"; };\n"
	"services = (\n"
	" { name = \"demo/web-local\"; type = \"LoadBalancer\";\n"
	"   ip_families = [ \"IPv4\", \"IPv6\" ];\n"
	"   load_balancer_ips = [ \"198.51.100.10\", \"2001:db8:100::10\" ];\n"
	"   external_traffic_policy = \"Local\";\n"
	"   ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	" node_port = 30080; target_port = 8080; },\n"
	"             { name = \"dns\"; protocol = \"UDP\"; port = 5353;"
	" target_port = 5353; } );\n"
	"   endpoints = ( { address = \"10.244.0.5\"; node = \"node-a\"; },\n"
	"                 { address = \"fd00:244::5\"; node = \"node-a\"; },\n"
	"                 { address = \"fd00:244:1::7\"; node = \"node-b\"; } ); },\n"
	" { name = \"demo/web-cluster\"; type = \"LoadBalancer\";\n"
	"   ip_families = [ \"IPv4\", \"IPv6\" ];\n"
	"   load_balancer_ips = [ \"198.51.100.11\", \"2001:db8:100::11\" ];\n"
	"   ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	" target_port = 8080; },\n"
	"             { name = \"pp\"; protocol = \"TCP\"; port = 81;"
	" target_port = 8081; proxy_protocol = \"v2\"; },\n"
	"             { name = \"dns\"; protocol = \"UDP\"; port = 5353;"
	" target_port = 5353; } );\n"
	"   endpoints = ( { address = \"10.244.0.5\"; node = \"node-a\"; },\n"
	"                 { address = \"fd00:244::5\"; node = \"node-a\"; },\n"
	"                 { address = \"fd00:244:1::7\"; node = \"node-b\"; } ); },\n"
	" { name = \"demo/empty6\"; type = \"LoadBalancer\";\n"
	"   ip_families = [ \"IPv6\" ];\n"
	"   load_balancer_ips = [ \"2001:db8:100::14\" ];\n"
	"   ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	" target_port = 8080; } );\n"
	"   endpoints = ( ); }\n"
	");\n";

static int
port_start(struct hx *h, const struct ef_cfg *cfg, uint16_t i, char *err,
	   size_t errlen)
{
	const struct ef_cfg_interface *ci = &cfg->interfaces[i];
	struct ef_fwd_port *p = &h->sh->ports[i];
	struct rte_eth_conf conf;
	struct rte_ether_addr mac;
	uint16_t pid;
	int sock = (int)rte_socket_id();

	if (rte_eth_dev_get_port_by_name(ci->port, &pid) != 0) {
		snprintf(err, errlen, "no port %s (EAL needs --vdev=%s)",
			 ci->port, ci->port);
		return -1;
	}
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(pid, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(pid, 0, 128, sock, NULL,
				   h->sh->pool) != 0 ||
	    rte_eth_tx_queue_setup(pid, 0, 128, sock, NULL) != 0 ||
	    rte_eth_dev_start(pid) != 0) {
		snprintf(err, errlen, "port %s: cannot start", ci->port);
		return -1;
	}
	rte_eth_macaddr_get(pid, &mac);
	p->port_id = pid;
	p->n_rxq = 1;
	p->addr = ci->address.v4;
	p->prefix_len = ci->prefix_len;
	if (ci->address6.family == EF_AF_INET6) {
		p->has_addr6 = 1;
		p->prefix_len6 = ci->prefix_len6;
		memcpy(p->addr6, ci->address6.v6, 16);
	}
	p->mtu = RTE_ETHER_MTU;
	memcpy(p->mac, mac.addr_bytes, 6);
	h->sh->port_to_if[pid] = (int16_t)i;
	return 0;
}

struct hx *
hx_create(const char *text, char *err, size_t errlen)
{
	struct ef_cfg_errors errs = { 0 };
	struct ef_cfg *cfg;
	struct hx *h;

	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cfg = ef_cfg_parse_string(text != NULL ? text : hx_default_conf,
				  "hx.conf", &errs);
	if (cfg == NULL) {
		snprintf(err, errlen, "%s", errs.n > 0 ? errs.msgs[0] :
			 "config rejected");
		ef_cfg_errors_clear(&errs);
		goto fail;
	}
	h->ctl = ef_ctl_create(cfg, "hx.conf", 1, 64, err, errlen);
	if (h->ctl == NULL)
		goto fail;
	h->sh = ef_ctl_shared(h->ctl);
	for (uint16_t i = 0; i < h->sh->n_ports; i++)
		if (port_start(h, h->sh->gen->cfg, i, err, errlen) != 0)
			goto fail;
	/* ef_ctl_start() would also create the kernel TAPs: not here */
	h->w = ef_fwd_worker_create(h->sh, 0, rte_lcore_id(), 64,
				    (int)rte_socket_id());
	if (h->w == NULL) {
		snprintf(err, errlen, "worker: %s", rte_strerror(rte_errno));
		goto fail;
	}
	h->sh->workers[0] = h->w;
	if (ef_fwd_connect(h->sh) != 0) {
		snprintf(err, errlen, "rings: out of memory");
		goto fail;
	}
	return h;
fail:
	hx_free(h);
	return NULL;
}

void
hx_free(struct hx *h)
{
	if (h == NULL)
		return;
	if (h->sh != NULL) {
		for (uint16_t i = 0; i < h->sh->n_ports; i++) {
			if (h->sh->ports[i].n_rxq == 0)
				continue;
			rte_eth_dev_stop(h->sh->ports[i].port_id);
		}
	}
	if (h->w != NULL) {
		hx_discard_out(h);
		hx_drain_control(h);
	}
	/* ef_ctl_free() frees the workers it finds in the shared state */
	ef_ctl_free(h->ctl);
	free(h);
}

struct rte_mbuf *
hx_mbuf(struct hx *h, uint16_t iface, const void *frame, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(h->sh->pool);
	char *d;

	if (m == NULL)
		return NULL;
	d = rte_pktmbuf_append(m, (uint16_t)len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	if (len != 0)
		memcpy(d, frame, len);
	m->port = h->sh->ports[iface % h->sh->n_ports].port_id;
	return m;
}

void
hx_process(struct hx *h, struct rte_mbuf **pkts, uint16_t n, uint32_t now_ms)
{
	ef_fwd_begin(h->w);
	if (now_ms != 0)
		h->w->now_ms = now_ms;
	ef_fwd_process(h->w, pkts, n, false);
}

int
hx_send(struct hx *h, uint16_t iface, const void *frame, uint32_t len)
{
	struct rte_mbuf *m = hx_mbuf(h, iface, frame, len);

	if (m == NULL)
		return -ENOMEM;
	hx_process(h, &m, 1, 0);
	return 0;
}

void
hx_tx(struct hx *h)
{
	ef_fwd_tx(h->w);
}

uint16_t
hx_out_count(const struct hx *h, uint16_t iface)
{
	return iface < EF_FWD_MAX_PORTS ? h->w->n_out[iface] : 0;
}

const uint8_t *
hx_out_frame(const struct hx *h, uint16_t iface, uint16_t idx, uint32_t *len)
{
	const struct rte_mbuf *m;

	if (idx >= hx_out_count(h, iface))
		return NULL;
	m = h->w->out[iface][idx];
	*len = m->data_len;
	return rte_pktmbuf_mtod(m, const uint8_t *);
}

void
hx_discard_out(struct hx *h)
{
	for (uint16_t p = 0; p < EF_FWD_MAX_PORTS; p++) {
		for (uint16_t j = 0; j < h->w->n_out[p]; j++)
			rte_pktmbuf_free(h->w->out[p][j]);
		h->w->n_out[p] = 0;
	}
}

uint32_t
hx_drain_control(struct hx *h)
{
	void *m;
	uint32_t n = 0;

	while (rte_ring_dequeue(h->w->to_ctrl, &m) == 0) {
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

static int
flush_cb(void *arg, struct ef_ct_flow *f)
{
	(void)arg;
	(void)f;
	return 1;
}

void
hx_flush_flows(struct hx *h)
{
	uint32_t cursor = 0;

	ef_ct_walk(h->w->ct, &cursor, UINT32_MAX, flush_cb, NULL);
	if (h->w->ct6 != NULL) {
		cursor = 0;
		ef_ct_walk(h->w->ct6, &cursor, UINT32_MAX, flush_cb, NULL);
	}
}

uint32_t
hx_expire_holds(struct hx *h)
{
	uint64_t before = h->w->c.drops[EF_FWD_DROP_NO_NEIGHBOR];
	uint64_t now = h->w->now_ms;

	/* as if the resolver had waited EF_FWD_HOLD_MS in vain */
	h->w->now_ms = now + EF_FWD_HOLD_MS;
	ef_fwd_hold_release(h->w);
	h->w->now_ms = now;
	return (uint32_t)(h->w->c.drops[EF_FWD_DROP_NO_NEIGHBOR] - before);
}

uint64_t
hx_drop(const struct hx *h, const char *reason)
{
	for (unsigned int r = 0; r < EF_FWD_DROP_MAX; r++)
		if (strcmp(ef_fwd_drop_name(r), reason) == 0)
			return h->w->c.drops[r];
	return UINT64_MAX;
}

uint64_t
hx_drops_total(const struct hx *h)
{
	uint64_t s = 0;

	for (unsigned int r = 0; r < EF_FWD_DROP_MAX; r++)
		s += h->w->c.drops[r];
	return s;
}

uint64_t
hx_counter(const struct hx *h, const char *name)
{
	const struct ef_fwd_counters *c = &h->w->c;
	static const struct {
		const char *name;
		size_t off;
	} map[] = {
#define HX_C(f) { #f, offsetof(struct ef_fwd_counters, f) }
		HX_C(rx_packets), HX_C(tx_packets), HX_C(exception_packets),
		HX_C(flows_created), HX_C(flows_closed), HX_C(rst_sent),
		HX_C(icmp_errors_sent), HX_C(icmp_errors_translated),
		HX_C(arp_replies), HX_C(icmp_echo_replies),
		HX_C(syn_cookies_sent), HX_C(syn_cookies_ok),
		HX_C(syn_cookies_bad), HX_C(syn_proxy_held),
		HX_C(neigh_held), HX_C(neigh_released),
#undef HX_C
	};

	for (size_t i = 0; i < RTE_DIM(map); i++)
		if (strcmp(map[i].name, name) == 0)
			return *(const uint64_t *)((const char *)c +
						   map[i].off);
	return UINT64_MAX;
}

uint32_t
hx_flows_active(const struct hx *h)
{
	return ef_ct_stats(h->w->ct)->active;
}

uint32_t
hx_mbufs_in_use(const struct hx *h)
{
	return rte_mempool_in_use_count(h->sh->pool);
}
