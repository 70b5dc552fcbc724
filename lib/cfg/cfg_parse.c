/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The top level of a configuration: its sections in dependency order, and
 * the sections of plain settings (dataplane, conntrack, health).
 */
#include <stddef.h>
#include <string.h>

#include <libconfig.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "cfg_priv.h"

#define SECONDS_30_DAYS (30 * 24 * 3600)

static const struct cfg_word health_words[] = {
	{ "tcp", EF_HEALTH_TCP },
	{ "http", EF_HEALTH_HTTP },
	{ "none", EF_HEALTH_NONE },
	{ NULL, 0 },
};

/* A field of a plain section, named as its member of the struct. */
/* NOLINTNEXTLINE(bugprone-macro-parentheses): a type and a member name */
#define U32_FIELD(type, name, def, min, max) \
	{ #name, offsetof(type, name), def, min, max }

static void
parse_dataplane(struct cfg_ctx *c, const config_setting_t *root)
{
	static const struct cfg_u32_field fields[] = {
		U32_FIELD(struct ef_cfg_dataplane, burst, 32, 1, 256),
		U32_FIELD(struct ef_cfg_dataplane, rx_descriptors, 1024, 64,
			  16384),
		U32_FIELD(struct ef_cfg_dataplane, tx_descriptors, 1024, 64,
			  16384),
		U32_FIELD(struct ef_cfg_dataplane, mbufs, 65535, 1023,
			  UINT32_MAX),
	};

	cfg_get_u32s(c, root, "dataplane", fields,
		     sizeof(fields) / sizeof(fields[0]), &c->cfg->dataplane);
}

static void
parse_conntrack(struct cfg_ctx *c, const config_setting_t *root)
{
	static const struct cfg_u32_field fields[] = {
		U32_FIELD(struct ef_cfg_conntrack, max_flows, 1048576, 1024,
			  1 << 26),
		U32_FIELD(struct ef_cfg_conntrack, tcp_syn_timeout, 30, 1,
			  SECONDS_30_DAYS),
		U32_FIELD(struct ef_cfg_conntrack, tcp_established_timeout,
			  7440, 1, SECONDS_30_DAYS),
		U32_FIELD(struct ef_cfg_conntrack, tcp_fin_timeout, 30, 1,
			  SECONDS_30_DAYS),
		U32_FIELD(struct ef_cfg_conntrack, tcp_close_timeout, 10, 1,
			  SECONDS_30_DAYS),
		U32_FIELD(struct ef_cfg_conntrack, udp_timeout, 30, 1,
			  SECONDS_30_DAYS),
		U32_FIELD(struct ef_cfg_conntrack, udp_stream_timeout, 120, 1,
			  SECONDS_30_DAYS),
		U32_FIELD(struct ef_cfg_conntrack, icmp_timeout, 30, 1,
			  SECONDS_30_DAYS),
		/* UINT32_MAX: absent, then max_flows / 8 */
		U32_FIELD(struct ef_cfg_conntrack, syn_cookie_threshold,
			  UINT32_MAX, 0, 1 << 26),
	};
	struct ef_cfg_conntrack *ct = &c->cfg->conntrack;

	cfg_get_u32s(c, root, "conntrack", fields,
		     sizeof(fields) / sizeof(fields[0]), ct);
	if (ct->syn_cookie_threshold == UINT32_MAX)
		ct->syn_cookie_threshold = ct->max_flows / 8;
}

void
cfg_parse_health(struct cfg_ctx *c, const config_setting_t *g, const char *path,
		 const struct ef_cfg_health *base, struct ef_cfg_health *out)
{
	static const char *const keys[] = {
		"type", "http_path", "interval_ms", "timeout_ms", "rise",
		"fall", NULL,
	};
	const config_setting_t *s;
	const config_setting_t *si;
	const config_setting_t *st;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	int type;
	int ri;
	int rt;

	*out = *base;
	cfg_check_keys(c, g, path, keys);
	if (cfg_get_word(c, g, path, "type", health_words, &type, NULL) == 1)
		out->type = (enum ef_health_type)type;
	if (cfg_get_str(c, g, path, "http_path", &text, &s) == 1) {
		cfg_label(lbl, path, "http_path");
		if (text[0] != '/') {
			cfg_err_at(c, s, "%s: \"%s\" must start with '/'", lbl,
				   text);
		} else if (strpbrk(text, " \t\r\n") != NULL) {
			/* it is sent verbatim in the request line */
			cfg_err_at(c, s, "%s: \"%s\" must not contain "
				   "white space", lbl, text);
		} else {
			cfg_copy_text(c, s, lbl, text, out->http_path,
				      sizeof(out->http_path));
		}
	}
	ri = cfg_get_u32(c, g, path, "interval_ms", 100, 3600000,
			 &out->interval_ms, &si);
	rt = cfg_get_u32(c, g, path, "timeout_ms", 10, 3600000, &out->timeout_ms,
			 &st);
	cfg_get_u32(c, g, path, "rise", 1, 100, &out->rise, NULL);
	cfg_get_u32(c, g, path, "fall", 1, 100, &out->fall, NULL);
	if (ri >= 0 && rt >= 0 && out->timeout_ms > out->interval_ms) {
		/* blame the setting the operator wrote, the timeout first */
		const config_setting_t *at = st != NULL ? st :
			si != NULL ? si : g;

		cfg_err_at(c, at, "%s: timeout_ms %u is longer than "
			   "interval_ms %u", path, out->timeout_ms,
			   out->interval_ms);
	}
}

static void
parse_global_health(struct cfg_ctx *c, const config_setting_t *root)
{
	static const struct ef_cfg_health defaults = {
		.type = EF_HEALTH_TCP,
		.http_path = "/healthz",
		.interval_ms = 2000,
		.timeout_ms = 1000,
		.rise = 2,
		.fall = 3,
	};
	const config_setting_t *g;

	c->cfg->health = defaults;
	if (cfg_get_group(c, root, "", "health", &g) == 1)
		cfg_parse_health(c, g, "health", &defaults, &c->cfg->health);
}

void
cfg_parse_root(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {
		"node", "interfaces", "routes", "neighbors", "dataplane",
		"conntrack", "health", "services", "metrics", "nodes", "edge",
		"decap", NULL,
	};

	cfg_check_keys(c, root, "the top level", keys);
	/* interfaces first: the SNAT default, routes and node ports use them */
	cfg_parse_interfaces(c, root);
	cfg_parse_node(c, root);
	if (cfg_parse_routes(c, root) != 0 ||
	    cfg_parse_neighbors(c, root) != 0)
		return;
	parse_dataplane(c, root);
	parse_conntrack(c, root);
	parse_global_health(c, root);
	cfg_parse_edge_sections(c, root);
	cfg_parse_services(c, root);
	cfg_parse_metrics(c, root);
}
