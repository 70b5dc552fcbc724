/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_CFG_H
#define EF_CFG_H

/*
 * The configuration model: CONFIG.md parsed and validated into plain C.
 * Only lib/cfg includes <libconfig.h>; every other module receives these
 * structs, so tests build models in code without files.
 *
 * Numbers are host byte order; addresses are struct ef_addr (network order).
 * A model is immutable once returned and is freed with ef_cfg_free().
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ef_addr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EF_CFG_NAME_MAX 254	/* namespace/name: 63 + 1 + 253 is more than
				 * any real pair; we cap the whole at 253 */
#define EF_CFG_NODE_MAX 254	/* Kubernetes node names are DNS subdomains */
#define EF_CFG_PORT_NAME_MAX 64
#define EF_CFG_DEV_MAX 128	/* PCI address or vdev name */
#define EF_CFG_PATH_MAX 256	/* http_path */
#define EF_CFG_FILE_MAX 4096

enum ef_svc_type {
	EF_SVC_TYPE_CLUSTER_IP,
	EF_SVC_TYPE_NODE_PORT,
	EF_SVC_TYPE_LOAD_BALANCER,
};

enum ef_policy {
	EF_POLICY_CLUSTER,
	EF_POLICY_LOCAL,
};

/* A service port's PROXY protocol header toward its endpoints (TCP). */
enum ef_proxy_protocol {
	EF_PROXY_NONE,
	EF_PROXY_V1,		/* text line */
	EF_PROXY_V2,		/* binary */
};

enum ef_affinity {
	EF_AFFINITY_NONE,
	EF_AFFINITY_CLIENT_IP,
};

enum ef_health_type {
	EF_HEALTH_TCP,
	EF_HEALTH_HTTP,
	EF_HEALTH_NONE,
};

/* mode of a service: a node's proxy (default) or the LB in front of them */
enum ef_svc_mode {
	EF_SVC_MODE_PROXY,
	EF_SVC_MODE_EDGE,
};

/* Cluster policy, endpoint on another node: SNAT (default) or encap */
enum ef_cluster_fwd {
	EF_CLUSTER_FWD_SNAT,
	EF_CLUSTER_FWD_ENCAP,
};

/* edge.forwarding; the same order as lib/edge's enum ef_edge_fwd */
enum ef_edge_forwarding {
	EF_EDGE_FORWARDING_IPIP,
	EF_EDGE_FORWARDING_GUE,
	EF_EDGE_FORWARDING_L2,
};

/* edge.weights; the same order as lib/edge's enum ef_edge_weights */
enum ef_edge_weighting {
	EF_EDGE_WEIGHTING_ENDPOINTS,
	EF_EDGE_WEIGHTING_HEALTH,
	EF_EDGE_WEIGHTING_EQUAL,
};

struct ef_cfg_health {
	enum ef_health_type type;
	char http_path[EF_CFG_PATH_MAX];
	uint32_t interval_ms;
	uint32_t timeout_ms;
	uint32_t rise;
	uint32_t fall;
};

struct ef_cfg_port {
	char name[EF_CFG_PORT_NAME_MAX];
	uint8_t protocol;		/* IPPROTO_TCP, IPPROTO_UDP */
	uint16_t port;			/* service port (cluster_ip, LB, external) */
	uint16_t node_port;		/* 0 = none */
	uint16_t target_port;		/* endpoint port; defaults to port */
	uint8_t proxy_protocol;		/* enum ef_proxy_protocol, TCP only */
	int line;
};

struct ef_cfg_endpoint {
	struct ef_addr address;
	/* "" = unknown node (never local); never NULL. The cfg's own copy,
	 * one per distinct name (ef_cfg.node_refs): a name inline took 254
	 * of the endpoint's 288 bytes, 254 MB at 1 M endpoints */
	const char *node;
	bool ready;			/* default true */
	bool serving;			/* default = ready */
	bool terminating;		/* default false */
	uint32_t weight;		/* extension, default 1, 1..65535 */
	int line;
};

struct ef_cfg_service {
	char name[EF_CFG_NAME_MAX];	/* "namespace/name" */
	enum ef_svc_type type;
	struct ef_addr cluster_ip;	/* family 0 = none ("None" headless) */
	struct ef_addr *load_balancer_ips;
	uint32_t n_load_balancer_ips;
	struct ef_addr *external_ips;
	uint32_t n_external_ips;
	enum ef_policy external_traffic_policy;
	enum ef_policy internal_traffic_policy;
	enum ef_affinity session_affinity;
	uint32_t session_affinity_timeout;	/* seconds, default 10800 */
	uint16_t health_check_node_port;	/* 0 = none */
	struct ef_cfg_port *ports;
	uint32_t n_ports;
	struct ef_cfg_endpoint *endpoints;
	uint32_t n_endpoints;
	enum ef_svc_mode mode;			/* default proxy */
	enum ef_cluster_fwd cluster_forwarding;	/* default snat */
	uint32_t max_flows;		/* extension: flow quota of the service
					 * (whole appliance); 0 = none */
	struct ef_cfg_health health;	/* global defaults with the override */
	bool health_overridden;
	int line;
	/*
	 * IPv6 (issue 12): the families served (ip_families, first =
	 * primary; default: those of the addresses given, else IPv4) and
	 * the IPv6 addresses, apart from the IPv4 fields above so that no
	 * IPv4 user sees an IPv6 address: cluster_ips' IPv6 entry (or an
	 * IPv6 cluster_ip), the IPv6 entries of load_balancer_ips and
	 * external_ips, and the IPv6 endpoints.
	 */
	uint8_t n_ip_families;
	uint8_t ip_families[2];		/* EF_AF_INET4 / EF_AF_INET6 */
	struct ef_addr cluster_ip6;	/* family 0 = none */
	struct ef_addr *load_balancer_ips6;
	uint32_t n_load_balancer_ips6;
	struct ef_addr *external_ips6;
	uint32_t n_external_ips6;
	struct ef_cfg_endpoint *endpoints6;
	uint32_t n_endpoints6;
};

/* true when service s serves family (EF_AF_INET4 / EF_AF_INET6). */
static inline bool
ef_cfg_serves(const struct ef_cfg_service *s, uint8_t family)
{
	for (uint8_t i = 0; i < s->n_ip_families; i++)
		if (s->ip_families[i] == family)
			return true;
	return false;
}

struct ef_cfg_interface {
	char port[EF_CFG_DEV_MAX];	/* DPDK device name */
	struct ef_addr address;
	uint8_t prefix_len;
	struct ef_addr gateway;		/* family 0 = none */
	/*
	 * The IPv6 address of a dual-stack interface (issue 12: the
	 * addresses/gateways list forms, one per family); family 0 = none.
	 * An IPv6-only interface may carry its address in 'address' instead.
	 */
	struct ef_addr address6;
	uint8_t prefix_len6;
	struct ef_addr gateway6;	/* family 0 = none; may be link-local */
	uint32_t mtu;			/* extension, 0 = leave the device's */
	int line;
};

struct ef_cfg_route {
	struct ef_addr prefix;
	uint8_t prefix_len;
	struct ef_addr via;
	int line;
};

struct ef_cfg_neighbor {
	struct ef_addr address;
	uint8_t mac[6];
	int line;
};

struct ef_cfg_dataplane {
	uint32_t burst;			/* 1..256, default 32 */
	uint32_t rx_descriptors;	/* default 1024 */
	uint32_t tx_descriptors;	/* default 1024 */
	uint32_t mbufs;			/* default 65535 */
};

struct ef_cfg_conntrack {
	uint32_t max_flows;		/* default 1048576, whole appliance */
	uint32_t tcp_syn_timeout;	/* seconds, default 30 */
	uint32_t tcp_established_timeout; /* default 7440 */
	uint32_t tcp_fin_timeout;	/* default 30 */
	uint32_t tcp_close_timeout;	/* default 10 */
	uint32_t udp_timeout;		/* default 30 */
	uint32_t udp_stream_timeout;	/* default 120 */
	uint32_t icmp_timeout;		/* default 30 */
	uint32_t syn_cookie_threshold;	/* extension: half-open TCP flows
					 * (whole appliance) from which SYNs
					 * are answered by SYN cookies; 0 =
					 * always; default max_flows / 8 */
};

/* metrics.listen: one ADDR:PORT the Prometheus /metrics server binds
 * (lib/metrics), through the exception path. */
struct ef_cfg_listen {
	struct ef_addr address;		/* an interface address or 127/8 */
	uint16_t port;			/* host order, 1..65535 */
	int line;
};

/* One Kubernetes Node: its name and the address the edge reaches it at. */
struct ef_cfg_node {
	char name[EF_CFG_NODE_MAX];
	struct ef_addr address;
	int line;
};

/* edge { ... }: settings shared by every mode = "edge" service. */
struct ef_cfg_edge {
	enum ef_edge_forwarding forwarding;	/* default ipip */
	uint16_t gue_port;		/* default 6080 */
	enum ef_edge_weighting weights;	/* default endpoints */
	bool health_check;		/* default true */
	uint16_t node_health_port;	/* default 10256 (kube-proxy /healthz) */
	uint32_t interval_ms;		/* default 1000 */
	uint32_t timeout_ms;		/* default 500 */
	uint32_t rise;			/* default 2 */
	uint32_t fall;			/* default 2 */
	uint32_t flow_timeout;		/* seconds, default 300 */
	int line;			/* 0 = the group is absent */
};

/* A prefix of decap.sources (host bits clear). */
struct ef_cfg_prefix {
	struct ef_addr addr;
	uint8_t len;
};

/* decap { ... }: absent = no decapsulation at all. */
struct ef_cfg_decap {
	bool enabled;			/* the group is present */
	struct ef_cfg_prefix *sources;	/* never empty when enabled */
	uint32_t n_sources;
	uint16_t gue_port;		/* default 6080 */
	int line;
};

struct ef_cfg {
	char file[EF_CFG_FILE_MAX];	/* as given to the loader */
	char node_name[EF_CFG_NODE_MAX];
	struct ef_addr *snat_addresses;	/* defaulted, never empty after load */
	uint32_t n_snat_addresses;
	/* the IPv6 SNAT address (one per family; issue 12), family 0 = none:
	 * given in snat_addresses, else the IPv6 address of the interface
	 * the IPv4 default comes from */
	struct ef_addr snat_address6;
	uint16_t snat_port_min;		/* extension, default 1024 */
	uint16_t snat_port_max;		/* extension, default 29999 */
	struct ef_cfg_interface *interfaces;
	uint32_t n_interfaces;
	struct ef_cfg_route *routes;
	uint32_t n_routes;
	struct ef_cfg_neighbor *neighbors;
	uint32_t n_neighbors;
	struct ef_cfg_dataplane dataplane;
	struct ef_cfg_conntrack conntrack;
	struct ef_cfg_health health;	/* global defaults */
	struct ef_cfg_service *services;
	uint32_t n_services;
	struct ef_cfg_listen *metrics_listen;	/* metrics.listen, may be 0 */
	uint32_t n_metrics_listen;
	struct ef_cfg_node *nodes;	/* the cluster's nodes, names unique */
	uint32_t n_nodes;
	struct ef_cfg_edge edge;	/* defaults when absent */
	struct ef_cfg_decap decap;
	/* the distinct endpoint node names, each once (ef_cfg_endpoint.node
	 * points here); freed with the cfg */
	char **node_refs;
	uint32_t n_node_refs;
	void *parse_tree;	/* libconfig's tree, kept by
				 * ef_cfg_load_keep_tree() until
				 * ef_cfg_release_tree(); else NULL */
};

/* One validation or parse error, already formatted "FILE:LINE: message". */
struct ef_cfg_errors {
	char **msgs;
	uint32_t n;
	uint32_t cap;
};

/*
 * Load, apply defaults and validate FILE. On success returns the model and
 * leaves errs empty. On any error returns NULL and errs holds every error
 * found (all of them, not just the first, where libconfig allows: a syntax
 * error stops parsing, so it is alone). errs may be NULL.
 * Messages are "FILE:LINE: setting.path: text", in line order, appended to
 * errs (which should start empty); an error about the whole file has no
 * line ("FILE: cannot open: No such file or directory"). errno is EINVAL
 * after a validation error, or the open/read errno.
 * Control thread (or any thread: no global state).
 */
struct ef_cfg *ef_cfg_load(const char *file, struct ef_cfg_errors *errs);

/*
 * Same, but the parser's own tree (as big as the model, and as slow to
 * free as to build) is freed later, by ef_cfg_release_tree() or
 * ef_cfg_free(): a reload frees it once the new generation is published,
 * off the path from the file to the data plane. Control thread.
 */
struct ef_cfg *ef_cfg_load_keep_tree(const char *file,
				     struct ef_cfg_errors *errs);

/* Free what ef_cfg_load_keep_tree() kept (nothing else changes; the
 * workers never read it). The thread that owns the model. */
void ef_cfg_release_tree(struct ef_cfg *cfg);

/*
 * Same as ef_cfg_load, from text in memory; name stands for the file in
 * messages.
 * Any thread.
 */
struct ef_cfg *ef_cfg_parse_string(const char *text, const char *name,
				   struct ef_cfg_errors *errs);

/* Free a model (NULL is fine). The thread that owns the model. */
void ef_cfg_free(struct ef_cfg *cfg);

/* Release the messages of errs (keeps the struct itself). Any thread. */
void ef_cfg_errors_clear(struct ef_cfg_errors *errs);

/* Print every message, one per line. Any thread. */
void ef_cfg_errors_print(const struct ef_cfg_errors *errs, FILE *out);

/* Counts for the --check summary line. */
struct ef_cfg_summary {
	uint32_t services;
	uint32_t frontends;	/* (proto, addr, port) triples the data path answers */
	uint32_t endpoints;
};

/*
 * Fill out for a loaded model: frontends are, per service port, the
 * cluster_ip (unless headless), each load_balancer_ip (LoadBalancer only),
 * each external_ip, and the node_port once per interface address; health
 * check node ports are not counted. endpoints is the sum over services.
 * Any thread.
 */
void ef_cfg_summarize(const struct ef_cfg *cfg, struct ef_cfg_summary *out);

/* Names for telemetry and messages, spelt as Kubernetes does. Any thread. */
const char *ef_svc_type_name(enum ef_svc_type t);
const char *ef_policy_name(enum ef_policy p);
const char *ef_affinity_name(enum ef_affinity a);
/* "none", "v1", "v2". Any thread. */
const char *ef_proxy_protocol_name(unsigned int p);
const char *ef_health_type_name(enum ef_health_type t);
const char *ef_svc_mode_name(enum ef_svc_mode m);
const char *ef_cluster_fwd_name(enum ef_cluster_fwd f);
const char *ef_edge_forwarding_name(enum ef_edge_forwarding f);
const char *ef_edge_weighting_name(enum ef_edge_weighting w);

/*
 * The node of cfg named name, or NULL. Linear: called by the control
 * lcore when it builds a generation, never per packet. Any thread.
 */
const struct ef_cfg_node *ef_cfg_node_find(const struct ef_cfg *cfg,
					   const char *name);

#ifdef __cplusplus
}
#endif

#endif /* EF_CFG_H */
