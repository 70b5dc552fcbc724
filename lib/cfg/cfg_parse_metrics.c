/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics = { listen = [ "ADDR:PORT", ... ]; } (CONFIG.md, second wave):
 * where the Prometheus /metrics server (lib/metrics) listens.
 *
 * The server is a kernel socket on the control lcore, reached through the
 * exception path like the healthCheckNodePort responder, so ADDR must be
 * an address the kernel side holds: an interface address (what the TAPs
 * carry), or a loopback address for a scraper in edgefwd's own network
 * namespace. Anything else could never be reached and is refused here
 * rather than failing at bind time. A port a Local service's
 * health_check_node_port already takes on the interface addresses would
 * fail to bind as well: refused too. A reload applies a changed list
 * (lib/metrics opens and closes listeners); no restart needed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "cfg_priv.h"

/* Loopback: 127.0.0.0/8 (addresses are kept in network order). */
static bool
is_loopback(const struct ef_addr *a)
{
	const uint8_t *b = (const uint8_t *)&a->v4;

	return a->family == EF_AF_INET4 && b[0] == 127;
}

/* "ADDR:PORT" into *out; every mistake reported at e. */
static bool
parse_listen(struct cfg_ctx *c, const config_setting_t *e, const char *lbl,
	     const char *text, struct ef_cfg_listen *out)
{
	const char *colon = strrchr(text, ':');
	char addr[64];
	char *end;
	long port;
	size_t n;

	if (colon == NULL || colon == text || colon[1] == '\0') {
		cfg_err_at(c, e, "%s: \"%s\" is not ADDR:PORT", lbl, text);
		return false;
	}
	n = (size_t)(colon - text);
	if (n >= sizeof(addr)) {
		cfg_err_at(c, e, "%s: \"%s\" is not ADDR:PORT", lbl, text);
		return false;
	}
	memcpy(addr, text, n);
	addr[n] = '\0';
	if (!cfg_addr_value(c, e, lbl, addr, &out->address))
		return false;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    port < 1 || port > 65535) {
		cfg_err_at(c, e, "%s: port \"%s\" is not 1..65535", lbl,
			   colon + 1);
		return false;
	}
	out->port = (uint16_t)port;
	out->line = config_setting_source_line(e);
	if (!is_loopback(&out->address) &&
	    !cfg_is_interface_address(c->cfg, &out->address)) {
		cfg_err_at(c, e, "%s: %s is not an interface address (nor "
			   "loopback): the exception path only reaches the "
			   "interfaces' own addresses", lbl, addr);
		return false;
	}
	return true;
}

/* The healthCheckNodePort listeners take their port on every interface
 * address (lib/health): the same port there cannot serve /metrics. */
static const struct ef_cfg_service *
hcnp_clash(const struct ef_cfg *cfg, const struct ef_cfg_listen *l)
{
	if (is_loopback(&l->address))
		return NULL;
	for (uint32_t s = 0; s < cfg->n_services; s++) {
		const struct ef_cfg_service *cs = &cfg->services[s];

		if (cs->external_traffic_policy == EF_POLICY_LOCAL &&
		    cs->health_check_node_port == l->port)
			return cs;
	}
	return NULL;
}

void
cfg_parse_metrics(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = { "listen", NULL };
	const config_setting_t *g;
	const config_setting_t *l;
	struct ef_cfg *cfg = c->cfg;
	char lbl[CFG_LABEL_MAX];
	int len;

	if (cfg_get_group(c, root, "", "metrics", &g) != 1)
		return;
	cfg_check_keys(c, g, "metrics", keys);
	/* an array or a list of strings: each element is checked below */
	l = config_setting_get_member(g, "listen");
	if (l == NULL)
		return;
	if (!config_setting_is_array(l) && !config_setting_is_list(l)) {
		cfg_err_at(c, l, "metrics.listen: must be an array of "
			   "\"ADDR:PORT\" strings");
		return;
	}
	len = config_setting_length(l);
	cfg->metrics_listen = calloc((size_t)len + 1,
				     sizeof(*cfg->metrics_listen));
	if (cfg->metrics_listen == NULL) {
		c->oom = true;
		return;
	}
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(l,
							(unsigned int)i);
		const struct ef_cfg_service *cs;
		struct ef_cfg_listen x;
		const char *text;
		bool dup = false;

		cfg_path_fmt(lbl, sizeof(lbl), "metrics.listen[%d]", i);
		text = config_setting_get_string(e);
		if (text == NULL) {
			cfg_err_at(c, e, "%s: must be a string \"ADDR:PORT\"",
				   lbl);
			continue;
		}
		if (!parse_listen(c, e, lbl, text, &x))
			continue;
		for (uint32_t j = 0; j < cfg->n_metrics_listen && !dup; j++) {
			const struct ef_cfg_listen *y = &cfg->metrics_listen[j];

			dup = y->port == x.port &&
				ef_addr_eq(&y->address, &x.address);
			if (dup)
				cfg_err_at(c, e, "%s: \"%s\" is listed twice "
					   "(first at line %d)", lbl, text,
					   y->line);
		}
		if (dup)
			continue;
		cs = hcnp_clash(cfg, &x);
		if (cs != NULL) {
			cfg_err_at(c, e, "%s: port %u is the "
				   "health_check_node_port of service %s "
				   "(line %d)", lbl, x.port, cs->name,
				   cs->line);
			continue;
		}
		cfg->metrics_listen[cfg->n_metrics_listen++] = x;
	}
}
