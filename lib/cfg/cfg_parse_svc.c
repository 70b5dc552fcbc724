/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * services ( ... ): each service with its ports, endpoints and health
 * override, and the frontends it claims (checked for clashes in
 * cfg_check.c).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "cfg_priv.h"

static const struct cfg_word svc_type_words[] = {
	{ "ClusterIP", EF_SVC_TYPE_CLUSTER_IP },
	{ "NodePort", EF_SVC_TYPE_NODE_PORT },
	{ "LoadBalancer", EF_SVC_TYPE_LOAD_BALANCER },
	{ NULL, 0 },
};

static const struct cfg_word policy_words[] = {
	{ "Cluster", EF_POLICY_CLUSTER },
	{ "Local", EF_POLICY_LOCAL },
	{ NULL, 0 },
};

static const struct cfg_word affinity_words[] = {
	{ "None", EF_AFFINITY_NONE },
	{ "ClientIP", EF_AFFINITY_CLIENT_IP },
	{ NULL, 0 },
};


static const struct cfg_word protocol_words[] = {
	{ "TCP", IPPROTO_TCP },
	{ "UDP", IPPROTO_UDP },
	{ NULL, 0 },
};


static const struct cfg_word proxy_words[] = {
	{ "none", EF_PROXY_NONE },
	{ "v1", EF_PROXY_V1 },
	{ "v2", EF_PROXY_V2 },
	{ NULL, 0 },
};

static void
add_claim(struct cfg_ctx *c, enum cfg_claim_kind kind, uint8_t proto,
	  const struct ef_addr *addr, uint16_t port, uint32_t svc_idx,
	  uint32_t port_idx, int line)
{
	struct cfg_claim *cl = cfg_grow(c->claims, &c->cap_claims,
					c->n_claims, sizeof(*c->claims));

	if (cl == NULL) {
		c->oom = true;
		return;
	}
	c->claims = cl;
	cl = &c->claims[c->n_claims++];
	memset(cl, 0, sizeof(*cl));
	cl->kind = kind;
	cl->proto = proto;
	if (addr != NULL)
		cl->addr = *addr;
	cl->port = port;
	cl->svc_idx = svc_idx;
	cl->port_idx = port_idx;
	cl->line = line;
}

/*
 * A port on an interface address inside the SNAT range could be handed
 * out as a SNAT source port too; replies and new flows would then mix.
 */
static bool
in_snat_range(const struct ef_cfg *cfg, uint16_t port)
{
	for (uint32_t i = 0; i < cfg->n_snat_addresses; i++) {
		if (cfg_is_interface_address(cfg, &cfg->snat_addresses[i]))
			return port >= cfg->snat_port_min &&
				port <= cfg->snat_port_max;
	}
	return false;
}

struct svc_state {
	struct ef_cfg_service *svc;
	uint32_t idx;
	bool type_ok;
	bool headless;
};

/* The frontends port p of a service answers on, claimed for clashes. */
static void
port_claims(struct cfg_ctx *c, const struct svc_state *st,
	    const struct ef_cfg_port *p, uint32_t port_idx)
{
	const struct ef_cfg_service *svc = st->svc;

	if (svc->cluster_ip.family != 0)
		add_claim(c, CFG_CLAIM_CLUSTER_IP, p->protocol,
			  &svc->cluster_ip, p->port, st->idx, port_idx,
			  p->line);
	if (svc->cluster_ip6.family != 0)
		add_claim(c, CFG_CLAIM_CLUSTER_IP, p->protocol,
			  &svc->cluster_ip6, p->port, st->idx, port_idx,
			  p->line);
	if (svc->type == EF_SVC_TYPE_LOAD_BALANCER) {
		for (uint32_t i = 0; i < svc->n_load_balancer_ips; i++)
			add_claim(c, CFG_CLAIM_LOAD_BALANCER_IP, p->protocol,
				  &svc->load_balancer_ips[i], p->port, st->idx,
				  port_idx, p->line);
		for (uint32_t i = 0; i < svc->n_load_balancer_ips6; i++)
			add_claim(c, CFG_CLAIM_LOAD_BALANCER_IP, p->protocol,
				  &svc->load_balancer_ips6[i], p->port,
				  st->idx, port_idx, p->line);
	}
	for (uint32_t i = 0; i < svc->n_external_ips; i++)
		add_claim(c, CFG_CLAIM_EXTERNAL_IP, p->protocol,
			  &svc->external_ips[i], p->port, st->idx, port_idx,
			  p->line);
	for (uint32_t i = 0; i < svc->n_external_ips6; i++)
		add_claim(c, CFG_CLAIM_EXTERNAL_IP, p->protocol,
			  &svc->external_ips6[i], p->port, st->idx, port_idx,
			  p->line);
	if (p->node_port != 0)
		add_claim(c, CFG_CLAIM_NODE_PORT, p->protocol, NULL,
			  p->node_port, st->idx, port_idx, p->line);
}

static void
parse_port(struct cfg_ctx *c, const struct svc_state *st,
	   const config_setting_t *g, const char *path, uint32_t port_idx)
{
	static const char *const keys[] = {
		"name", "protocol", "port", "node_port", "target_port",
		"proxy_protocol", NULL,
	};
	struct ef_cfg_service *svc = st->svc;
	struct ef_cfg_port p;
	const config_setting_t *s;
	const config_setting_t *snp;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	bool ok = true;
	int proto = IPPROTO_TCP;
	int word = EF_PROXY_NONE;
	int64_t v;
	int rc;

	memset(&p, 0, sizeof(p));
	p.line = config_setting_source_line(g);
	cfg_check_keys(c, g, path, keys);

	rc = cfg_get_str(c, g, path, "name", &text, &s);
	cfg_label(lbl, path, "name");
	if (rc == 1 && text[0] != '\0' && !cfg_is_dns_label(text, strlen(text))) {
		cfg_err_at(c, s, "%s: \"%s\" is not a valid port name "
			   "(lower-case DNS label)", lbl, text);
		ok = false;
	} else if (rc == 1 && cfg_copy_text(c, s, lbl, text, p.name,
					    sizeof(p.name))) {
		for (uint32_t i = 0; i < svc->n_ports && p.name[0] != '\0';
		     i++) {
			if (strcmp(svc->ports[i].name, p.name) == 0) {
				cfg_err_at(c, s, "%s: \"%s\" is already used "
					   "by the port at line %d", lbl,
					   text, svc->ports[i].line);
				ok = false;
			}
		}
	} else if (rc != 0) {
		ok = false;
	}

	s = config_setting_get_member(g, "protocol");
	if (s != NULL && config_setting_type(s) == CONFIG_TYPE_STRING &&
	    strcmp(config_setting_get_string(s), "SCTP") == 0) {
		cfg_err_at(c, s, "%s: SCTP is not supported yet",
			   cfg_label(lbl, path, "protocol"));
		ok = false;
	} else if (cfg_get_word(c, g, path, "protocol", protocol_words, &proto,
				NULL) < 0) {
		ok = false;
	}
	p.protocol = (uint8_t)proto;

	/* a header in the byte stream: TCP only (UDP has no stream) */
	if (cfg_get_word(c, g, path, "proxy_protocol", proxy_words, &word,
			 &s) < 0) {
		ok = false;
	} else if (word != EF_PROXY_NONE && proto != IPPROTO_TCP) {
		cfg_err_at(c, s, "%s: PROXY protocol needs a TCP port",
			   cfg_label(lbl, path, "proxy_protocol"));
		ok = false;
	} else {
		p.proxy_protocol = (uint8_t)word;
	}

	rc = cfg_get_int(c, g, path, "port", 1, 65535, &v, NULL);
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing", cfg_label(lbl, path, "port"));
		ok = false;
	} else if (rc == 1) {
		p.port = (uint16_t)v;
	} else {
		ok = false;
	}
	rc = cfg_get_int(c, g, path, "target_port", 1, 65535, &v, NULL);
	if (rc == 1)
		p.target_port = (uint16_t)v;
	else if (rc == 0)
		p.target_port = p.port;
	else
		ok = false;

	rc = cfg_get_int(c, g, path, "node_port", 1, 65535, &v, &snp);
	cfg_label(lbl, path, "node_port");
	if (rc == 1 && st->type_ok && svc->type == EF_SVC_TYPE_CLUSTER_IP) {
		cfg_err_at(c, snp, "%s: a ClusterIP service has no node "
			   "port (type NodePort or LoadBalancer has)", lbl);
		ok = false;
	} else if (rc == 1 && in_snat_range(c->cfg, (uint16_t)v)) {
		cfg_err_at(c, snp, "%s: %lld lies in node.snat_port_range "
			   "%u..%u", lbl, (long long)v,
			   c->cfg->snat_port_min, c->cfg->snat_port_max);
		ok = false;
	} else if (rc == 1) {
		p.node_port = (uint16_t)v;
	} else if (rc < 0) {
		ok = false;
	}
	if (!ok)
		return;
	port_claims(c, st, &p, port_idx);
	svc->ports[svc->n_ports++] = p;
}

static void
parse_endpoint(struct cfg_ctx *c, struct ef_cfg_service *svc,
	       const config_setting_t *g, const char *path)
{
	static const char *const keys[] = {
		"address", "node", "ready", "serving", "terminating", "weight",
		NULL,
	};
	struct ef_cfg_endpoint ep;
	const config_setting_t *s;
	char lbl[CFG_LABEL_MAX];
	bool ok = true;
	int rc;

	memset(&ep, 0, sizeof(ep));
	ep.node = "";
	ep.line = config_setting_source_line(g);
	ep.ready = true;
	ep.weight = 1;
	cfg_check_keys(c, g, path, keys);

	rc = cfg_get_addr46(c, g, path, "address", &ep.address, &s);
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing",
			   cfg_label(lbl, path, "address"));
		ok = false;
	} else if (rc == 1) {
		/* IPv6 endpoints apart (issue 12): IPv4 users see no change */
		const struct ef_cfg_endpoint *same =
			ep.address.family == EF_AF_INET6 ? svc->endpoints6 :
			svc->endpoints;
		uint32_t n_same = ep.address.family == EF_AF_INET6 ?
			svc->n_endpoints6 : svc->n_endpoints;

		for (uint32_t i = 0; i < n_same; i++) {
			if (ef_addr_eq(&same[i].address, &ep.address)) {
				cfg_err_at(c, s, "%s: %s is already an "
					   "endpoint at line %d",
					   cfg_label(lbl, path, "address"),
					   config_setting_get_string(s),
					   same[i].line);
				ok = false;
			}
		}
	} else {
		ok = false;
	}

	rc = cfg_get_node_ref(c, g, path, "node", &ep.node, &s);
	if (rc == 0)
		cfg_err_at(c, g, "%s: missing (the endpoint's node name)",
			   cfg_label(lbl, path, "node"));
	if (rc != 1)
		ok = false;

	if (cfg_get_bool(c, g, path, "ready", &ep.ready, NULL) < 0)
		ok = false;
	ep.serving = ep.ready;
	if (cfg_get_bool(c, g, path, "serving", &ep.serving, NULL) < 0)
		ok = false;
	rc = cfg_get_bool(c, g, path, "terminating", &ep.terminating, &s);
	if (rc == 1 && ep.ready && ep.terminating) {
		cfg_err_at(c, s, "%s: a ready endpoint is never terminating "
			   "(set ready = false)",
			   cfg_label(lbl, path, "terminating"));
		ok = false;
	} else if (rc < 0) {
		ok = false;
	}
	if (cfg_get_u32(c, g, path, "weight", 1, 65535, &ep.weight, NULL) < 0)
		ok = false;
	if (ok && ep.address.family == EF_AF_INET6)
		svc->endpoints6[svc->n_endpoints6++] = ep;
	else if (ok)
		svc->endpoints[svc->n_endpoints++] = ep;
}

/* "namespace/name": two DNS labels around one slash. */
static bool
is_service_name(const char *text)
{
	const char *slash = strchr(text, '/');

	if (slash == NULL || strchr(slash + 1, '/') != NULL)
		return false;
	return cfg_is_dns_label(text, (size_t)(slash - text)) &&
		cfg_is_dns_label(slash + 1, strlen(slash + 1));
}

/* Room for n names at most half full (name_slots stays NULL when out of
 * memory: the duplicate check then scans). */
static void
name_slots_create(struct cfg_ctx *c, uint32_t n)
{
	uint32_t slots = 16;

	while (slots < n * 2u && slots < (1u << 30))
		slots <<= 1;
	c->name_slots = malloc(sizeof(*c->name_slots) * slots);
	if (c->name_slots == NULL)
		return;
	memset(c->name_slots, 0xff, sizeof(*c->name_slots) * slots);
	c->name_mask = slots - 1;
}

/* The slot holding name, or the empty one where it goes. */
static int32_t *
name_slot(const struct cfg_ctx *c, const char *name)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	uint32_t i;

	for (const char *p = name; *p != '\0'; p++) {
		h ^= (uint8_t)*p;
		h *= 1099511628211ULL;
	}
	for (i = (uint32_t)(h ^ (h >> 32)) & c->name_mask;;
	     i = (i + 1) & c->name_mask) {
		int32_t id = c->name_slots[i];

		if (id < 0 || strcmp(c->svc_names[id].name, name) == 0)
			return &c->name_slots[i];
	}
}

static void
parse_service_name(struct cfg_ctx *c, struct svc_state *st,
		   const config_setting_t *g, const char *path)
{
	const config_setting_t *s;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	int rc = cfg_get_str(c, g, path, "name", &text, &s);

	cfg_label(lbl, path, "name");
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing (\"namespace/name\")", lbl);
		return;
	}
	if (rc != 1)
		return;
	if (!is_service_name(text)) {
		cfg_err_at(c, s, "%s: \"%s\" is not \"namespace/name\" (two "
			   "lower-case DNS labels)", lbl, text);
		return;
	}
	if (!cfg_copy_text(c, s, lbl, text, st->svc->name, EF_CFG_NAME_MAX))
		return;
	if (c->name_slots != NULL) {
		int32_t *slot = name_slot(c, text);

		if (*slot >= 0) {
			cfg_err_at(c, s, "%s: service \"%s\" is already "
				   "defined at line %d", lbl, text,
				   c->svc_names[*slot].line);
			return;
		}
		*slot = (int32_t)st->idx;
	} else {
		/* no table (out of memory): the plain scan still works */
		for (uint32_t i = 0; i < st->idx; i++) {
			const struct cfg_svc_name *o = &c->svc_names[i];

			if (o->name != NULL && strcmp(o->name, text) == 0) {
				cfg_err_at(c, s, "%s: service \"%s\" is "
					   "already defined at line %d", lbl,
					   text, o->line);
				return;
			}
		}
	}
	c->svc_names[st->idx].name = text;
	c->svc_names[st->idx].line = config_setting_source_line(s);
}

/*
 * cluster_ips (Service.spec.clusterIPs, issue 12): at most one address per
 * family, agreeing with cluster_ip when both are given.
 */
static void
service_cluster_ips(struct cfg_ctx *c, struct svc_state *st,
		    const config_setting_t *g, const char *path)
{
	struct ef_cfg_service *svc = st->svc;
	struct ef_addr *a4 = NULL, *a6 = NULL;
	uint32_t n4 = 0, n6 = 0;
	const config_setting_t *s;
	char lbl[CFG_LABEL_MAX];
	int rc;

	rc = cfg_get_addr_array2(c, g, path, "cluster_ips", &a4, &n4, &a6,
				 &n6, &s);
	cfg_label(lbl, path, "cluster_ips");
	if (rc == 1 && (n4 > 1 || n6 > 1)) {
		cfg_err_at(c, s, "%s: at most one address per family", lbl);
	} else if (rc == 1) {
		if (n4 == 1 && svc->cluster_ip.family != 0 &&
		    !ef_addr_eq(&svc->cluster_ip, &a4[0]))
			cfg_err_at(c, s, "%s: its IPv4 address differs from "
				   "cluster_ip", lbl);
		else if (n4 == 1)
			svc->cluster_ip = a4[0];
		if (n6 == 1 && svc->cluster_ip6.family != 0 &&
		    !ef_addr_eq(&svc->cluster_ip6, &a6[0]))
			cfg_err_at(c, s, "%s: its IPv6 address differs from "
				   "cluster_ip", lbl);
		else if (n6 == 1)
			svc->cluster_ip6 = a6[0];
		if (st->headless && n4 + n6 > 0)
			cfg_err_at(c, s, "%s: a headless service (cluster_ip "
				   "\"None\") has no cluster IPs", lbl);
	}
	free(a4);
	free(a6);
}

/*
 * ip_families (Service.spec.ipFamilies): "IPv4" / "IPv6", each once, the
 * first the primary; default the families of the addresses given (after
 * every address is parsed), else IPv4. Every address must be of a family
 * served.
 */
static void
service_families(struct cfg_ctx *c, struct svc_state *st,
		 const config_setting_t *g, const char *path)
{
	struct ef_cfg_service *svc = st->svc;
	const config_setting_t *s = config_setting_get_member(g, "ip_families");
	char lbl[CFG_LABEL_MAX];
	bool has4, has6;

	cfg_label(lbl, path, "ip_families");
	has4 = svc->cluster_ip.family != 0 || svc->n_load_balancer_ips != 0 ||
		svc->n_external_ips != 0 || svc->n_endpoints != 0;
	has6 = svc->cluster_ip6.family != 0 ||
		svc->n_load_balancer_ips6 != 0 || svc->n_external_ips6 != 0 ||
		svc->n_endpoints6 != 0;
	if (s == NULL) {
		if (has4 || !has6)
			svc->ip_families[svc->n_ip_families++] = EF_AF_INET4;
		if (has6)
			svc->ip_families[svc->n_ip_families++] = EF_AF_INET6;
		return;
	}
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		cfg_err_at(c, s, "%s: must be an array of \"IPv4\" and/or "
			   "\"IPv6\"", lbl);
		return;
	}
	if (config_setting_length(s) < 1 || config_setting_length(s) > 2)
		cfg_err_at(c, s, "%s: one or two families", lbl);
	for (int i = 0; i < config_setting_length(s) && i < 2; i++) {
		const config_setting_t *e =
			config_setting_get_elem(s, (unsigned int)i);
		const char *t = config_setting_get_string(e);
		uint8_t fam = t == NULL ? 0 : strcmp(t, "IPv4") == 0 ?
			EF_AF_INET4 : strcmp(t, "IPv6") == 0 ? EF_AF_INET6 : 0;

		if (fam == 0) {
			cfg_err_at(c, e, "%s[%d]: \"%s\" is not a family "
				   "(expected \"IPv4\" or \"IPv6\")", lbl, i,
				   t != NULL ? t : "?");
			continue;
		}
		if (ef_cfg_serves(svc, fam)) {
			cfg_err_at(c, e, "%s[%d]: \"%s\" is listed twice", lbl,
				   i, t);
			continue;
		}
		svc->ip_families[svc->n_ip_families++] = fam;
	}
	if (svc->n_ip_families == 0)
		return;
	if (has4 && !ef_cfg_serves(svc, EF_AF_INET4))
		cfg_err_at(c, s, "%s: the service has IPv4 addresses or "
			   "endpoints but does not serve IPv4", lbl);
	if (has6 && !ef_cfg_serves(svc, EF_AF_INET6))
		cfg_err_at(c, s, "%s: the service has IPv6 addresses or "
			   "endpoints but does not serve IPv6", lbl);
}

/* type, and cluster_ip with the headless case. */
static void
service_type(struct cfg_ctx *c, struct svc_state *st,
	     const config_setting_t *g, const char *path)
{
	struct ef_cfg_service *svc = st->svc;
	const config_setting_t *s;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	int word;
	int rc;

	rc = cfg_get_word(c, g, path, "type", svc_type_words, &word, NULL);
	st->type_ok = rc >= 0;
	if (rc == 1)
		svc->type = (enum ef_svc_type)word;

	rc = cfg_get_str(c, g, path, "cluster_ip", &text, &s);
	cfg_label(lbl, path, "cluster_ip");
	if (rc == 1 && strcmp(text, "None") == 0) {
		/* headless: DNS-only, nothing for the data path to answer */
		st->headless = true;
		if (st->type_ok && svc->type != EF_SVC_TYPE_CLUSTER_IP)
			cfg_err_at(c, s, "%s: \"None\" (headless) needs type "
				   "ClusterIP, not %s", lbl,
				   ef_svc_type_name(svc->type));
	} else if (rc == 1 && strchr(text, ':') != NULL) {
		if (ef_addr_parse(text, &svc->cluster_ip6) != 0) {
			cfg_err_at(c, s, "%s: \"%s\" is not an IP address",
				   lbl, text);
			memset(&svc->cluster_ip6, 0, sizeof(svc->cluster_ip6));
		}
	} else if (rc == 1) {
		cfg_addr_value(c, s, lbl, text, &svc->cluster_ip);
	}
	service_cluster_ips(c, st, g, path);
}

/* load_balancer_ips and external_ips. */
static void
service_addresses(struct cfg_ctx *c, const struct svc_state *st,
		  const config_setting_t *g, const char *path)
{
	struct ef_cfg_service *svc = st->svc;
	const config_setting_t *s;
	const config_setting_t *slb;
	char lbl[CFG_LABEL_MAX];
	int rc;

	rc = cfg_get_addr_array2(c, g, path, "load_balancer_ips",
				 &svc->load_balancer_ips,
				 &svc->n_load_balancer_ips,
				 &svc->load_balancer_ips6,
				 &svc->n_load_balancer_ips6, &slb);
	if (rc != 0 && st->type_ok && svc->type != EF_SVC_TYPE_LOAD_BALANCER &&
	    config_setting_length(slb) > 0)
		cfg_err_at(c, slb, "%s: only a LoadBalancer service has "
			   "load balancer IPs, not %s",
			   cfg_label(lbl, path, "load_balancer_ips"),
			   ef_svc_type_name(svc->type));
	cfg_get_addr_array2(c, g, path, "external_ips", &svc->external_ips,
			    &svc->n_external_ips, &svc->external_ips6,
			    &svc->n_external_ips6, &s);
}

/*
 * The traffic policies and session affinity. Returns whether
 * external_traffic_policy was valid (or absent).
 */
static bool
service_policies(struct cfg_ctx *c, const struct svc_state *st,
		 const config_setting_t *g, const char *path)
{
	struct ef_cfg_service *svc = st->svc;
	int word;
	int rc;

	rc = cfg_get_word(c, g, path, "external_traffic_policy", policy_words,
			  &word, NULL);
	if (rc == 1)
		svc->external_traffic_policy = (enum ef_policy)word;
	if (cfg_get_word(c, g, path, "internal_traffic_policy", policy_words,
			 &word, NULL) == 1)
		svc->internal_traffic_policy = (enum ef_policy)word;
	if (cfg_get_word(c, g, path, "session_affinity", affinity_words, &word,
			 NULL) == 1)
		svc->session_affinity = (enum ef_affinity)word;
	cfg_get_u32(c, g, path, "session_affinity_timeout", 1, 86400,
		    &svc->session_affinity_timeout, NULL);
	return rc >= 0;
}

static void
service_hc_node_port(struct cfg_ctx *c, const struct svc_state *st,
		     const config_setting_t *g, const char *path, bool etp_ok)
{
	struct ef_cfg_service *svc = st->svc;
	const config_setting_t *s;
	char lbl[CFG_LABEL_MAX];
	int64_t v;
	int rc;

	rc = cfg_get_int(c, g, path, "health_check_node_port", 1, 65535, &v,
			 &s);
	cfg_label(lbl, path, "health_check_node_port");
	if (rc == 1 && st->type_ok && etp_ok &&
	    (svc->external_traffic_policy != EF_POLICY_LOCAL ||
	     svc->type == EF_SVC_TYPE_CLUSTER_IP)) {
		cfg_err_at(c, s, "%s: needs external_traffic_policy Local and "
			   "type LoadBalancer or NodePort", lbl);
	} else if (rc == 1 && in_snat_range(c->cfg, (uint16_t)v)) {
		cfg_err_at(c, s, "%s: %lld lies in node.snat_port_range "
			   "%u..%u", lbl, (long long)v,
			   c->cfg->snat_port_min, c->cfg->snat_port_max);
	} else if (rc == 1) {
		svc->health_check_node_port = (uint16_t)v;
		/* kube-proxy serves it over TCP on every node address */
		add_claim(c, CFG_CLAIM_HEALTH_CHECK_NODE_PORT, IPPROTO_TCP,
			  NULL, svc->health_check_node_port, st->idx, 0,
			  config_setting_source_line(s));
	}
}

/* ports ( ... ). Returns 0 or -ENOMEM (c->oom set). */
static int
service_ports(struct cfg_ctx *c, const struct svc_state *st,
	      const config_setting_t *g, const char *path)
{
	struct ef_cfg_service *svc = st->svc;
	const config_setting_t *l;
	char lbl[CFG_LABEL_MAX];
	char sub[CFG_LABEL_MAX];
	int rc;
	int n;

	rc = cfg_get_list(c, g, path, "ports", &l);
	n = rc == 1 ? config_setting_length(l) : 0;
	cfg_label(lbl, path, "ports");
	if (rc >= 0 && n == 0 && !st->headless) {
		/* a headless service may have none; others answer nothing */
		cfg_err_at(c, rc == 1 ? l : g, "%s: at least one port is "
			   "required", lbl);
	}
	if (n > 0) {
		svc->ports = calloc((size_t)n, sizeof(*svc->ports));
		if (svc->ports == NULL) {
			c->oom = true;
			return -ENOMEM;
		}
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e;

		cfg_path_index(sub, sizeof(sub), path, "ports", i);
		e = cfg_list_group(c, l, (unsigned int)i, sub);
		if (e == NULL)
			continue;
		if (n > 1 && config_setting_get_member(e, "name") == NULL)
			/* kube's rule: with several ports each is named */
			cfg_err_at(c, e, "%s.name: missing (a service with "
				   "several ports names each)", sub);
		parse_port(c, st, e, sub, (uint32_t)i);
	}
	return 0;
}

/* endpoints ( ... ). */
static void
service_endpoints(struct cfg_ctx *c, const struct svc_state *st,
		  const config_setting_t *g, const char *path)
{
	struct ef_cfg_service *svc = st->svc;
	const config_setting_t *l;
	char sub[CFG_LABEL_MAX];
	int n;

	if (cfg_get_list(c, g, path, "endpoints", &l) != 1)
		return;
	n = config_setting_length(l);
	if (n == 0)
		return;
	svc->endpoints = calloc((size_t)n, sizeof(*svc->endpoints));
	svc->endpoints6 = calloc((size_t)n, sizeof(*svc->endpoints6));
	if (svc->endpoints == NULL || svc->endpoints6 == NULL) {
		c->oom = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e;

		cfg_path_index(sub, sizeof(sub), path, "endpoints", i);
		e = cfg_list_group(c, l, (unsigned int)i, sub);
		if (e != NULL)
			parse_endpoint(c, svc, e, sub);
	}
}

static void
parse_service(struct cfg_ctx *c, struct svc_state *st,
	      const config_setting_t *g, const char *path)
{
	static const char *const keys[] = {
		"name", "type", "cluster_ip", "load_balancer_ips",
		"external_ips", "external_traffic_policy",
		"internal_traffic_policy", "session_affinity",
		"session_affinity_timeout", "health_check_node_port", "ports",
		"endpoints", "health", "mode", "cluster_forwarding",
		"max_flows", "ip_families", "cluster_ips", NULL,
	};
	struct ef_cfg_service *svc = st->svc;
	const config_setting_t *s;
	char sub[CFG_LABEL_MAX];
	bool etp_ok;

	svc->line = config_setting_source_line(g);
	svc->session_affinity_timeout = 10800;
	svc->health = c->cfg->health;
	cfg_check_keys(c, g, path, keys);
	parse_service_name(c, st, g, path);
	service_type(c, st, g, path);
	service_addresses(c, st, g, path);
	etp_ok = service_policies(c, st, g, path);
	service_hc_node_port(c, st, g, path, etp_ok);
	/* extension: the service's share of the flow table */
	cfg_get_u32(c, g, path, "max_flows", 1, 1 << 26, &svc->max_flows,
		    NULL);
	if (cfg_get_group(c, g, path, "health", &s) == 1) {
		cfg_path_fmt(sub, sizeof(sub), "%s.health", path);
		cfg_parse_health(c, s, sub, &c->cfg->health, &svc->health);
		svc->health_overridden = true;
	}
	if (service_ports(c, st, g, path) != 0)
		return;
	service_endpoints(c, st, g, path);
	service_families(c, st, g, path);
	cfg_parse_service_edge(c, svc, g, path);	/* after the families */
}

void
cfg_parse_services(struct cfg_ctx *c, const config_setting_t *root)
{
	struct ef_cfg *cfg = c->cfg;
	const config_setting_t *l;
	char path[CFG_LABEL_MAX];
	int n;

	if (cfg_get_list(c, root, "", "services", &l) != 1)
		return;
	n = config_setting_length(l);
	if (n == 0)
		return;
	cfg->services = calloc((size_t)n, sizeof(*cfg->services));
	c->svc_names = calloc((size_t)n, sizeof(*c->svc_names));
	if (cfg->services == NULL || c->svc_names == NULL) {
		c->oom = true;
		return;
	}
	c->n_svc_names = (uint32_t)n;
	name_slots_create(c, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g;
		struct svc_state st;

		cfg_path_index(path, sizeof(path), "", "services", i);
		g = cfg_list_group(c, l, (unsigned int)i, path);
		if (g == NULL)
			continue;
		/* counted at once so that ef_cfg_free sees its arrays */
		st.svc = &cfg->services[cfg->n_services++];
		st.idx = (uint32_t)i;
		st.type_ok = true;
		st.headless = false;
		parse_service(c, &st, g, path);
	}
}
