/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The edge sections (CONFIG.md "Additions (second wave)"): nodes ( ... ),
 * edge { ... }, decap { ... }, and a service's mode / cluster_forwarding
 * with the checks that tie them together.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "cfg_priv.h"

#define SECONDS_30_DAYS (30 * 24 * 3600)
#define DEFAULT_GUE_PORT 6080

static const struct cfg_word mode_words[] = {
	{ "proxy", EF_SVC_MODE_PROXY },
	{ "edge", EF_SVC_MODE_EDGE },
	{ NULL, 0 },
};

static const struct cfg_word cluster_fwd_words[] = {
	{ "snat", EF_CLUSTER_FWD_SNAT },
	{ "encap", EF_CLUSTER_FWD_ENCAP },
	{ NULL, 0 },
};

static const struct cfg_word forwarding_words[] = {
	{ "ipip", EF_EDGE_FORWARDING_IPIP },
	{ "gue", EF_EDGE_FORWARDING_GUE },
	{ "l2", EF_EDGE_FORWARDING_L2 },
	{ NULL, 0 },
};

static const struct cfg_word weighting_words[] = {
	{ "endpoints", EF_EDGE_WEIGHTING_ENDPOINTS },
	{ "health", EF_EDGE_WEIGHTING_HEALTH },
	{ "equal", EF_EDGE_WEIGHTING_EQUAL },
	{ NULL, 0 },
};

static const char *
word_name(const struct cfg_word *words, int v)
{
	for (const struct cfg_word *w = words; w->text != NULL; w++)
		if (w->value == v)
			return w->text;
	return "?";
}

const char *
ef_svc_mode_name(enum ef_svc_mode m)
{
	return word_name(mode_words, (int)m);
}

const char *
ef_cluster_fwd_name(enum ef_cluster_fwd f)
{
	return word_name(cluster_fwd_words, (int)f);
}

const char *
ef_edge_forwarding_name(enum ef_edge_forwarding f)
{
	return word_name(forwarding_words, (int)f);
}

const char *
ef_edge_weighting_name(enum ef_edge_weighting w)
{
	return word_name(weighting_words, (int)w);
}

const struct ef_cfg_node *
ef_cfg_node_find(const struct ef_cfg *cfg, const char *name)
{
	for (uint32_t i = 0; i < cfg->n_nodes; i++)
		if (strcmp(cfg->nodes[i].name, name) == 0)
			return &cfg->nodes[i];
	return NULL;
}

/*
 * Why a is not a node address (a tunnel endpoint or l2 next hop: one
 * unicast host the edge routes to), or NULL. IPv4 0.0.0.0/8 also holds
 * the keys of IPv6 nodes (ef_edge.h). IPv6 link-local addresses need a
 * zone, which nodes do not carry.
 */
static bool
any_addr6(const struct ef_cfg *cfg)
{
	for (uint32_t i = 0; i < cfg->n_interfaces; i++)
		if (cfg->interfaces[i].address6.family == EF_AF_INET6)
			return true;
	return false;
}

static const char *
node_address_refused(const struct ef_addr *a)
{
	if (a->family == EF_AF_INET4) {
		uint8_t b0 = (uint8_t)(ntohl(a->v4) >> 24);

		if (b0 == 0)
			return "in 0.0.0.0/8 (\"this network\")";
		if (b0 == 127)
			return "a loopback address";
		if (b0 >= 224)
			return "a multicast or reserved address";
		return NULL;
	}
	if (a->v6[0] == 0xff)
		return "a multicast address";
	if (a->v6[0] == 0xfe && (a->v6[1] & 0xc0) == 0x80)
		return "link-local (give the node's global or ULA address)";
	{
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
		uint8_t zero[16] = { 0 };

		if (memcmp(a->v6, zero, 15) == 0 &&
		    (a->v6[15] == 0 || a->v6[15] == 1))
			return "the unspecified or loopback address";
		if (memcmp(a->v6, mapped, 12) == 0)
			return "IPv4-mapped (give the IPv4 address itself)";
	}
	return NULL;
}

/* nodes[i]: a valid name and an IPv4 or IPv6 address, both unique. */
static void
parse_one_node(struct cfg_ctx *c, const config_setting_t *g, const char *path)
{
	static const char *const keys[] = { "name", "address", NULL };
	struct ef_cfg *cfg = c->cfg;
	struct ef_cfg_node n;
	const config_setting_t *s;
	char lbl[CFG_LABEL_MAX];
	bool ok = true;
	int rc;

	memset(&n, 0, sizeof(n));
	n.line = config_setting_source_line(g);
	cfg_check_keys(c, g, path, keys);
	rc = cfg_get_node_name(c, g, path, "name", n.name, &s);
	cfg_label(lbl, path, "name");
	if (rc == 0)
		cfg_err_at(c, g, "%s: missing (the Kubernetes Node name)", lbl);
	if (rc != 1) {
		ok = false;
	} else {
		const struct ef_cfg_node *d = ef_cfg_node_find(cfg, n.name);

		if (d != NULL) {
			cfg_err_at(c, s, "%s: \"%s\" is already the node at "
				   "line %d", lbl, n.name, d->line);
			ok = false;
		}
	}
	rc = cfg_get_addr46(c, g, path, "address", &n.address, &s);
	cfg_label(lbl, path, "address");
	if (rc == 0)
		cfg_err_at(c, g, "%s: missing (the address the node is "
			   "reached at)", lbl);
	if (rc == 1 && node_address_refused(&n.address) != NULL) {
		cfg_err_at(c, s, "%s: \"%s\" is %s, not a node's address",
			   lbl, config_setting_get_string(s),
			   node_address_refused(&n.address));
		rc = -1;
	}
	if (rc == 1 && n.address.family == EF_AF_INET6 && !any_addr6(cfg)) {
		/* the outer IPv6 header's source is the egress interface's
		 * IPv6 address (docs/EDGE.md "IPv6") */
		cfg_err_at(c, s, "%s: \"%s\" is IPv6, but no interface has "
			   "an IPv6 address to reach it from", lbl,
			   config_setting_get_string(s));
		rc = -1;
	}
	if (rc != 1) {
		ok = false;
	} else {
		for (uint32_t i = 0; i < cfg->n_nodes; i++) {
			if (ef_addr_eq(&cfg->nodes[i].address, &n.address)) {
				cfg_err_at(c, s, "%s: %s is already the "
					   "address of node \"%s\" at line %d",
					   lbl, config_setting_get_string(s),
					   cfg->nodes[i].name,
					   cfg->nodes[i].line);
				ok = false;
				break;
			}
		}
	}
	if (ok)
		cfg->nodes[cfg->n_nodes++] = n;
}

static void
parse_nodes(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *l;
	char path[CFG_LABEL_MAX];
	int n;

	if (cfg_get_list(c, root, "", "nodes", &l) != 1)
		return;
	n = config_setting_length(l);
	if (n == 0)
		return;
	c->cfg->nodes = calloc((size_t)n, sizeof(*c->cfg->nodes));
	if (c->cfg->nodes == NULL) {
		c->oom = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *g;

		cfg_path_fmt(path, sizeof(path), "nodes[%d]", i);
		g = cfg_list_group(c, l, (unsigned int)i, path);
		if (g != NULL)
			parse_one_node(c, g, path);
	}
}

static void
parse_edge(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {
		"forwarding", "gue_port", "weights", "health_check",
		"node_health_port", "interval_ms", "timeout_ms", "rise",
		"fall", "flow_timeout", NULL,
	};
	struct ef_cfg_edge *e = &c->cfg->edge;
	const config_setting_t *g;
	const config_setting_t *si;
	const config_setting_t *st;
	int64_t v;
	int word;
	int ri;
	int rt;

	e->forwarding = EF_EDGE_FORWARDING_IPIP;
	e->gue_port = DEFAULT_GUE_PORT;
	e->weights = EF_EDGE_WEIGHTING_ENDPOINTS;
	e->health_check = true;
	e->node_health_port = 10256;
	e->interval_ms = 1000;
	e->timeout_ms = 500;
	e->rise = 2;
	e->fall = 2;
	e->flow_timeout = 300;
	if (cfg_get_group(c, root, "", "edge", &g) != 1)
		return;
	e->line = config_setting_source_line(g);
	cfg_check_keys(c, g, "edge", keys);
	if (cfg_get_word(c, g, "edge", "forwarding", forwarding_words, &word,
			 NULL) == 1)
		e->forwarding = (enum ef_edge_forwarding)word;
	if (cfg_get_word(c, g, "edge", "weights", weighting_words, &word,
			 NULL) == 1)
		e->weights = (enum ef_edge_weighting)word;
	if (cfg_get_int(c, g, "edge", "gue_port", 1, 65535, &v, NULL) == 1)
		e->gue_port = (uint16_t)v;
	if (cfg_get_int(c, g, "edge", "node_health_port", 1, 65535, &v,
			NULL) == 1)
		e->node_health_port = (uint16_t)v;
	cfg_get_bool(c, g, "edge", "health_check", &e->health_check, NULL);
	ri = cfg_get_u32(c, g, "edge", "interval_ms", 100, 3600000,
			 &e->interval_ms, &si);
	rt = cfg_get_u32(c, g, "edge", "timeout_ms", 10, 3600000,
			 &e->timeout_ms, &st);
	cfg_get_u32(c, g, "edge", "rise", 1, 100, &e->rise, NULL);
	cfg_get_u32(c, g, "edge", "fall", 1, 100, &e->fall, NULL);
	cfg_get_u32(c, g, "edge", "flow_timeout", 1, SECONDS_30_DAYS,
		    &e->flow_timeout, NULL);
	if (ri >= 0 && rt >= 0 && e->timeout_ms > e->interval_ms) {
		const config_setting_t *at = st != NULL ? st :
			si != NULL ? si : g;

		cfg_err_at(c, at, "edge: timeout_ms %u is longer than "
			   "interval_ms %u", e->timeout_ms, e->interval_ms);
	}
}

/* One decap.sources element: an IPv4 or IPv6 prefix ("a.b.c.d/len",
 * "x:y::/len"), or an address (a /32, a /128). */
static bool
decap_prefix(struct cfg_ctx *c, const config_setting_t *s, const char *lbl,
	     struct ef_cfg_prefix *out)
{
	const char *text;
	char buf[EF_ADDR_STRLEN];
	struct ef_addr host;
	uint8_t len;
	int rc;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_err_at(c, s, "%s: must be a string \"a.b.c.d/len\" or "
			   "\"x:y::/len\"", lbl);
		return false;
	}
	text = config_setting_get_string(s);
	if (strchr(text, '/') == NULL) {
		if (ef_addr_parse(text, &out->addr) != 0) {
			cfg_err_at(c, s, "%s: \"%s\" is not an IP address",
				   lbl, text);
			return false;
		}
		out->len = out->addr.family == EF_AF_INET6 ? 128 : 32;
		return true;
	}
	rc = ef_prefix_parse(text, true, &host, &len);
	if (rc != 0) {
		cfg_err_at(c, s, "%s: \"%s\" is not a prefix (\"a.b.c.d/len\", "
			   "len 0..32, or \"x:y::/len\", len 0..128)", lbl,
			   text);
		return false;
	}
	out->addr = host;
	out->len = len;
	if (host.family == EF_AF_INET6) {
		/* clear the host bits, byte by byte */
		for (uint32_t i = 0; i < 16; i++) {
			uint32_t keep = len >= 8 * (i + 1) ? 8 :
				len > 8 * i ? len - 8 * i : 0;

			out->addr.v6[i] &= (uint8_t)(0xff00u >> keep);
		}
	} else if (len == 0) {
		out->addr.v4 = 0;	/* no shift by 32 */
	} else if (len < 32) {
		out->addr.v4 &= htonl(~0u << (32 - len));
	}
	if (!ef_addr_eq(&out->addr, &host)) {
		cfg_err_at(c, s, "%s: \"%s\" has host bits set (did you mean "
			   "\"%s/%u\"?)", lbl, text,
			   ef_addr_fmt(&out->addr, buf, sizeof(buf)), len);
		return false;
	}
	return true;
}

static void
parse_decap(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = { "sources", "gue_port", NULL };
	struct ef_cfg_decap *d = &c->cfg->decap;
	const config_setting_t *g;
	const config_setting_t *l;
	char lbl[CFG_LABEL_MAX];
	int64_t v;
	int n;

	d->gue_port = DEFAULT_GUE_PORT;
	if (cfg_get_group(c, root, "", "decap", &g) != 1)
		return;
	d->line = config_setting_source_line(g);
	cfg_check_keys(c, g, "decap", keys);
	if (cfg_get_int(c, g, "decap", "gue_port", 1, 65535, &v, NULL) == 1)
		d->gue_port = (uint16_t)v;
	l = config_setting_get_member(g, "sources");
	if (l == NULL) {
		cfg_err_at(c, g, "decap.sources: missing (without an "
			   "allow-list anyone could inject packets with "
			   "forged client addresses)");
		return;
	}
	if (!config_setting_is_array(l) && !config_setting_is_list(l)) {
		cfg_err_at(c, l, "decap.sources: must be an array "
			   "[ \"a.b.c.d/len\", ... ]");
		return;
	}
	n = config_setting_length(l);
	if (n == 0) {
		cfg_err_at(c, l, "decap.sources: must not be empty (remove "
			   "decap to accept no encapsulated traffic)");
		return;
	}
	if (n > 256) {
		/* lib/edge's EF_EDGE_DECAP_MAX_SOURCES */
		cfg_err_at(c, l, "decap.sources: %d prefixes, at most 256",
			   n);
		return;
	}
	d->sources = calloc((size_t)n, sizeof(*d->sources));
	if (d->sources == NULL) {
		c->oom = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l,
							(unsigned int)i);
		struct ef_cfg_prefix p;
		bool dup = false;

		cfg_path_fmt(lbl, sizeof(lbl), "decap.sources[%d]", i);
		if (!decap_prefix(c, e, lbl, &p))
			continue;
		for (uint32_t j = 0; j < d->n_sources; j++) {
			if (d->sources[j].len == p.len &&
			    ef_addr_eq(&d->sources[j].addr, &p.addr)) {
				cfg_err_at(c, e, "%s: \"%s\" is listed twice",
					   lbl, config_setting_get_string(e));
				dup = true;
				break;
			}
		}
		if (!dup)
			d->sources[d->n_sources++] = p;
	}
	d->enabled = true;
}

void
cfg_parse_edge_sections(struct cfg_ctx *c, const config_setting_t *root)
{
	parse_nodes(c, root);
	parse_edge(c, root);
	parse_decap(c, root);
}

/* Each endpoint of svc must sit on a node of nodes: the edge (or the
 * encapsulating proxy) reaches it only through its node's address. */
static void
endpoints_on_nodes(struct cfg_ctx *c, const struct ef_cfg_service *svc,
		   const char *path, const char *why)
{
	for (uint32_t i = 0; i < svc->n_endpoints; i++) {
		const struct ef_cfg_endpoint *ep = &svc->endpoints[i];

		if (ep->node[0] == '\0' ||
		    ef_cfg_node_find(c->cfg, ep->node) != NULL)
			continue;
		cfg_err_line(c, c->file, ep->line, "%s.endpoints: node \"%s\" "
			     "matches no entry of nodes (%s)", path, ep->node,
			     why);
	}
}

void
cfg_parse_service_edge(struct cfg_ctx *c, struct ef_cfg_service *svc,
		       const config_setting_t *g, const char *path)
{
	const struct ef_cfg *cfg = c->cfg;
	const config_setting_t *sm;
	const config_setting_t *sf;
	char lbl[CFG_LABEL_MAX];
	int word;
	int rm;
	int rf;

	rm = cfg_get_word(c, g, path, "mode", mode_words, &word, &sm);
	if (rm == 1)
		svc->mode = (enum ef_svc_mode)word;
	rf = cfg_get_word(c, g, path, "cluster_forwarding", cluster_fwd_words,
			  &word, &sf);
	if (rf == 1)
		svc->cluster_forwarding = (enum ef_cluster_fwd)word;

	if (svc->mode == EF_SVC_MODE_EDGE) {
		cfg_label(lbl, path, "mode");
		if (cfg->n_nodes == 0)
			cfg_err_at(c, sm, "%s: an edge service needs the "
				   "top-level nodes list (its backends are "
				   "nodes)", lbl);
		if (svc->n_load_balancer_ips == 0 && svc->n_external_ips == 0 &&
		    svc->n_load_balancer_ips6 == 0 &&
		    svc->n_external_ips6 == 0)
			cfg_err_at(c, sm, "%s: an edge service answers on its "
				   "load_balancer_ips and external_ips: it has "
				   "none", lbl);
		if (cfg->edge.health_check &&
		    svc->external_traffic_policy == EF_POLICY_LOCAL &&
		    svc->health_check_node_port == 0)
			cfg_err_at(c, sm, "%s: a Local edge service is probed "
				   "on its health_check_node_port: set it (or "
				   "edge.health_check = false)", lbl);
		if (rf == 1 && svc->cluster_forwarding == EF_CLUSTER_FWD_ENCAP)
			cfg_err_at(c, sf, "%s: \"encap\" applies to proxy-mode "
				   "services (an edge service always "
				   "encapsulates to the node)",
				   cfg_label(lbl, path, "cluster_forwarding"));
		if (cfg->n_nodes > 0)
			endpoints_on_nodes(c, svc, path, "an edge service "
					   "weighs nodes by their endpoints");
	} else if (svc->cluster_forwarding == EF_CLUSTER_FWD_ENCAP) {
		cfg_label(lbl, path, "cluster_forwarding");
		if (cfg->n_nodes == 0)
			cfg_err_at(c, sf, "%s: \"encap\" sends to the "
				   "endpoint's node: it needs the top-level "
				   "nodes list", lbl);
		else
			endpoints_on_nodes(c, svc, path, "cluster_forwarding "
					   "= \"encap\" sends to the "
					   "endpoint's node");
	}
}
