/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * routes ( ... ) and neighbors ( ... ): static routes through a connected
 * next hop and static ARP entries.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "cfg_priv.h"

/*
 * A required address that must be a neighbour: on a connected subnet and
 * not an interface's own, so that ARP reaches it. Returns true when it is
 * (*s its setting); otherwise the mistake is recorded (missing: what the
 * message adds when it is absent).
 */
static bool
neighbour_address(struct cfg_ctx *c, const config_setting_t *g,
		  const char *path, const char *key, const char *missing,
		  struct ef_addr *out, const config_setting_t **s)
{
	char lbl[CFG_LABEL_MAX];
	int rc = cfg_get_addr46(c, g, path, key, out, s);

	cfg_label(lbl, path, key);
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing%s", lbl, missing);
		return false;
	}
	if (rc < 0)
		return false;
	if (cfg_connected(c->cfg, out) == NULL ||
	    cfg_is_interface_address(c->cfg, out)) {
		/* a next hop must be reachable by ARP on an interface */
		cfg_err_at(c, *s, "%s: %s is not a neighbour on a connected "
			   "subnet of any interface", lbl,
			   config_setting_get_string(*s));
		return false;
	}
	return true;
}

/*
 * An IPv6 route prefix (issue 12): no host bits, not routed twice; its via
 * must be IPv6 too (no IPv4 next hop for an IPv6 prefix).
 */
static bool
route_prefix6(struct cfg_ctx *c, const config_setting_t *s, const char *lbl,
	      const char *text, const struct ef_cfg_route *r)
{
	const struct ef_cfg *cfg = c->cfg;
	struct ef_addr p;
	uint8_t len;

	if (ef_prefix_parse(text, false, &p, &len) != 0) {
		cfg_err_at(c, s, "%s: \"%s\" has host bits set", lbl, text);
		return false;
	}
	for (uint32_t i = 0; i < cfg->n_routes; i++) {
		if (cfg->routes[i].prefix_len == r->prefix_len &&
		    ef_addr_eq(&cfg->routes[i].prefix, &r->prefix)) {
			cfg_err_at(c, s, "%s: \"%s\" is already routed at "
				   "line %d", lbl, text, cfg->routes[i].line);
			return false;
		}
	}
	return true;
}

static void
parse_route(struct cfg_ctx *c, const config_setting_t *g, const char *path)
{
	static const char *const keys[] = { "prefix", "via", NULL };
	struct ef_cfg *cfg = c->cfg;
	struct ef_cfg_route r;
	const config_setting_t *s;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	bool ok = true;
	int rc;

	memset(&r, 0, sizeof(r));
	r.line = config_setting_source_line(g);
	cfg_check_keys(c, g, path, keys);

	rc = cfg_get_str(c, g, path, "prefix", &text, &s);
	cfg_label(lbl, path, "prefix");
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing (\"a.b.c.d/len\")", lbl);
		ok = false;
	} else if (rc == 1) {
		rc = ef_prefix_parse(text, true, &r.prefix, &r.prefix_len);
		if (rc == -EINVAL) {
			cfg_err_at(c, s, "%s: \"%s\" is not a prefix "
				   "(\"a.b.c.d/len\")", lbl, text);
			ok = false;
		} else if (rc != 0) {
			cfg_err_at(c, s, "%s: \"%s\": prefix length must be "
				   "%s", lbl, text, strchr(text, ':') != NULL ?
				   "0..128" : "0..32");
			ok = false;
		} else if (r.prefix.family == EF_AF_INET6) {
			ok = route_prefix6(c, s, lbl, text, &r);
		} else if (ef_prefix_parse(text, false, &r.prefix,
					   &r.prefix_len) != 0) {
			struct ef_addr net = r.prefix;
			char buf[EF_ADDR_STRLEN];

			net.v4 &= r.prefix_len == 0 ? 0 :
				htonl(~0u << (32 - r.prefix_len));
			cfg_err_at(c, s, "%s: \"%s\" has host bits set (the "
				   "network is %s/%u)", lbl, text,
				   ef_addr_fmt(&net, buf, sizeof(buf)),
				   r.prefix_len);
			ok = false;
		} else {
			for (uint32_t i = 0; i < cfg->n_routes; i++) {
				if (cfg->routes[i].prefix_len ==
				    r.prefix_len &&
				    ef_addr_eq(&cfg->routes[i].prefix,
					       &r.prefix)) {
					cfg_err_at(c, s, "%s: \"%s\" is "
						   "already routed at line "
						   "%d", lbl, text,
						   cfg->routes[i].line);
					ok = false;
				}
			}
		}
	} else {
		ok = false;
	}

	if (!neighbour_address(c, g, path, "via", " (the next hop)", &r.via,
			       &s))
		ok = false;
	else if (ok && r.via.family != r.prefix.family) {
		cfg_err_at(c, s, "%s: %s is not of the prefix's family",
			   cfg_label(lbl, path, "via"),
			   config_setting_get_string(s));
		ok = false;
	}
	if (ok)
		cfg->routes[cfg->n_routes++] = r;
}

static bool
parse_mac(const char *text, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		const char *p = text + i * 3;

		if (!isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]))
			return false;
		if (p[2] != (i == 5 ? '\0' : ':'))
			return false;
		mac[i] = (uint8_t)strtoul((char[]){ p[0], p[1], '\0' }, NULL,
					  16);
	}
	return true;
}

static void
parse_neighbor(struct cfg_ctx *c, const config_setting_t *g,
	       const char *path)
{
	static const char *const keys[] = { "address", "mac", NULL };
	static const uint8_t zero[6];
	struct ef_cfg *cfg = c->cfg;
	struct ef_cfg_neighbor nb;
	const config_setting_t *s;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	bool ok = true;
	int rc;

	memset(&nb, 0, sizeof(nb));
	nb.line = config_setting_source_line(g);
	cfg_check_keys(c, g, path, keys);

	if (!neighbour_address(c, g, path, "address", "", &nb.address, &s)) {
		ok = false;
	} else {
		cfg_label(lbl, path, "address");
		for (uint32_t i = 0; i < cfg->n_neighbors; i++) {
			if (ef_addr_eq(&cfg->neighbors[i].address,
				       &nb.address)) {
				cfg_err_at(c, s, "%s: %s is already listed "
					   "at line %d", lbl,
					   config_setting_get_string(s),
					   cfg->neighbors[i].line);
				ok = false;
			}
		}
	}

	rc = cfg_get_str(c, g, path, "mac", &text, &s);
	cfg_label(lbl, path, "mac");
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing (\"xx:xx:xx:xx:xx:xx\")", lbl);
		ok = false;
	} else if (rc == 1 && !parse_mac(text, nb.mac)) {
		cfg_err_at(c, s, "%s: \"%s\" is not a MAC address "
			   "(\"xx:xx:xx:xx:xx:xx\")", lbl, text);
		ok = false;
	} else if (rc == 1 && ((nb.mac[0] & 1) != 0 ||
			       memcmp(nb.mac, zero, 6) == 0)) {
		cfg_err_at(c, s, "%s: \"%s\" is not a unicast MAC address",
			   lbl, text);
		ok = false;
	} else if (rc < 0) {
		ok = false;
	}
	if (ok)
		cfg->neighbors[cfg->n_neighbors++] = nb;
}

int
cfg_parse_routes(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *l;

	c->cfg->routes = cfg_list_alloc(c, root, "routes",
					sizeof(*c->cfg->routes), &l);
	return cfg_list_parse(c, c->cfg->routes, l, "routes", parse_route);
}

int
cfg_parse_neighbors(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *l;

	c->cfg->neighbors = cfg_list_alloc(c, root, "neighbors",
					   sizeof(*c->cfg->neighbors), &l);
	return cfg_list_parse(c, c->cfg->neighbors, l, "neighbors",
			      parse_neighbor);
}
