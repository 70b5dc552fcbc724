/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * node { ... } and interfaces ( ... ): this host's name, SNAT addresses
 * and ports, and the interfaces every other section is checked against.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "cfg_priv.h"

static bool
is_ipv4_network_or_broadcast(const struct ef_addr *a, uint8_t len)
{
	uint32_t host_mask;
	uint32_t h;

	if (len >= 31)
		return false;
	host_mask = ~0u >> len;
	h = ntohl(a->v4) & host_mask;
	return h == 0 || h == host_mask;
}

/* The first interface whose connected subnet holds a, or NULL. */
const struct ef_cfg_interface *
cfg_connected(const struct ef_cfg *cfg, const struct ef_addr *a)
{
	for (uint32_t i = 0; i < cfg->n_interfaces; i++) {
		const struct ef_cfg_interface *ifc = &cfg->interfaces[i];

		if (ef_addr_in_prefix(a, &ifc->address, ifc->prefix_len))
			return ifc;
	}
	return NULL;
}

bool
cfg_is_interface_address(const struct ef_cfg *cfg, const struct ef_addr *a)
{
	for (uint32_t i = 0; i < cfg->n_interfaces; i++) {
		if (ef_addr_eq(&cfg->interfaces[i].address, a))
			return true;
	}
	return false;
}

/* port: the DPDK device name, once per file. */
static void
interface_port(struct cfg_ctx *c, const config_setting_t *g,
	       const char *path, struct ef_cfg_interface *ifc)
{
	const config_setting_t *s;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	int rc;

	rc = cfg_get_str(c, g, path, "port", &text, &s);
	cfg_label(lbl, path, "port");
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing (the DPDK device name)", lbl);
	} else if (rc == 1 && text[0] == '\0') {
		cfg_err_at(c, s, "%s: must not be empty", lbl);
	} else if (rc == 1 && cfg_copy_text(c, s, lbl, text, ifc->port,
					    sizeof(ifc->port))) {
		for (uint32_t i = 0; i < c->n_if_ports; i++) {
			if (strcmp(c->if_ports[i].name, ifc->port) == 0) {
				cfg_err_at(c, s, "%s: \"%s\" is already used "
					   "by the interface at line %d", lbl,
					   text, c->if_ports[i].line);
				break;
			}
		}
		c->if_ports[c->n_if_ports].name = text;
		c->if_ports[c->n_if_ports++].line = ifc->line;
	}
}

/*
 * address: a host address with its prefix, on a subnet of its own.
 * Returns true when it is usable.
 */
static bool
interface_address(struct cfg_ctx *c, const config_setting_t *g,
		  const char *path, struct ef_cfg_interface *ifc)
{
	const struct ef_cfg *cfg = c->cfg;
	const config_setting_t *s;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	bool addr_ok = false;
	int rc;

	rc = cfg_get_str(c, g, path, "address", &text, &s);
	cfg_label(lbl, path, "address");
	if (rc == 0)
		cfg_err_at(c, g, "%s: missing (\"a.b.c.d/len\")", lbl);
	if (rc == 1)
		rc = ef_prefix_parse(text, true, &ifc->address,
				     &ifc->prefix_len);
	else
		rc = 1;
	if (rc == -EINVAL) {
		cfg_err_at(c, s, "%s: \"%s\" is not an address with a prefix "
			   "length (\"a.b.c.d/len\")", lbl, text);
	} else if (rc == 0 && ifc->address.family != EF_AF_INET4) {
		cfg_err_at(c, s, "%s: \"%s\": IPv6 is not supported yet", lbl,
			   text);
	} else if (rc < 0 || (rc == 0 && ifc->prefix_len == 0)) {
		cfg_err_at(c, s, "%s: \"%s\": prefix length must be 1..32",
			   lbl, text);
	} else if (rc == 0 && is_ipv4_network_or_broadcast(&ifc->address,
							   ifc->prefix_len)) {
		cfg_err_at(c, s, "%s: \"%s\" is the network or broadcast "
			   "address of its subnet, not a host address", lbl,
			   text);
	} else if (rc == 0) {
		addr_ok = true;
		for (uint32_t i = 0; i < cfg->n_interfaces; i++) {
			const struct ef_cfg_interface *o = &cfg->interfaces[i];

			if (!ef_addr_in_prefix(&ifc->address, &o->address,
					       o->prefix_len) &&
			    !ef_addr_in_prefix(&o->address, &ifc->address,
					       ifc->prefix_len))
				continue;
			cfg_err_at(c, s, "%s: \"%s\" overlaps the subnet of "
				   "the interface at line %d", lbl, text,
				   o->line);
			break;
		}
	}
	return addr_ok;
}

/* gateway (on the subnet, not the interface itself) and mtu. */
static void
interface_gateway_mtu(struct cfg_ctx *c, const config_setting_t *g,
		      const char *path, struct ef_cfg_interface *ifc,
		      bool addr_ok)
{
	const config_setting_t *s;
	char lbl[CFG_LABEL_MAX];
	int rc;

	rc = cfg_get_addr(c, g, path, "gateway", &ifc->gateway, &s);
	cfg_label(lbl, path, "gateway");
	if (rc == 1 && addr_ok &&
	    (!ef_addr_in_prefix(&ifc->gateway, &ifc->address,
				ifc->prefix_len) ||
	     is_ipv4_network_or_broadcast(&ifc->gateway, ifc->prefix_len)))
		cfg_err_at(c, s, "%s: %s is not a host of this interface's "
			   "subnet", lbl, config_setting_get_string(s));
	else if (rc == 1 && addr_ok &&
		 ef_addr_eq(&ifc->gateway, &ifc->address))
		cfg_err_at(c, s, "%s: %s is the interface's own address", lbl,
			   config_setting_get_string(s));

	rc = cfg_get_u32(c, g, path, "mtu", 0, 9600, &ifc->mtu, &s);
	if (rc == 1 && ifc->mtu != 0 && ifc->mtu < 68)
		cfg_err_at(c, s, "%s: %u is out of range (0 to leave the "
			   "device's, or 68..9600)",
			   cfg_label(lbl, path, "mtu"), ifc->mtu);
}

static void
parse_interface(struct cfg_ctx *c, const config_setting_t *g,
		const char *path)
{
	static const char *const keys[] = {
		"port", "address", "gateway", "mtu", NULL,
	};
	struct ef_cfg *cfg = c->cfg;
	struct ef_cfg_interface ifc;
	bool addr_ok;

	memset(&ifc, 0, sizeof(ifc));
	ifc.line = config_setting_source_line(g);
	cfg_check_keys(c, g, path, keys);
	interface_port(c, g, path, &ifc);
	addr_ok = interface_address(c, g, path, &ifc);
	interface_gateway_mtu(c, g, path, &ifc, addr_ok);

	/*
	 * Kept whenever its address is usable, even with other mistakes, so
	 * that routes and node ports are not blamed for them as well.
	 */
	if (addr_ok)
		cfg->interfaces[cfg->n_interfaces++] = ifc;
}

void
cfg_parse_interfaces(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *l;
	char path[CFG_LABEL_MAX];
	int n;
	int rc = cfg_get_list(c, root, "", "interfaces", &l);

	if (rc == 0)
		cfg_err_line(c, NULL, 0, "interfaces: missing (at least one "
			     "interface is required)");
	if (rc != 1)
		return;
	n = config_setting_length(l);
	if (n == 0) {
		cfg_err_at(c, l, "interfaces: at least one interface is "
			   "required");
		return;
	}
	c->cfg->interfaces = calloc((size_t)n, sizeof(*c->cfg->interfaces));
	c->if_ports = calloc((size_t)n, sizeof(*c->if_ports));
	if (c->cfg->interfaces == NULL || c->if_ports == NULL) {
		c->oom = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *g;

		cfg_path_fmt(path, sizeof(path), "interfaces[%d]", i);
		g = cfg_list_group(c, l, (unsigned int)i, path);
		if (g != NULL)
			parse_interface(c, g, path);
	}
}

void
cfg_parse_node(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {
		"name", "snat_addresses", "snat_port_range", NULL,
	};
	struct ef_cfg *cfg = c->cfg;
	const config_setting_t *g;
	const config_setting_t *s;
	int rc = cfg_get_group(c, root, "", "node", &g);

	cfg->snat_port_min = 1024;
	cfg->snat_port_max = 29999;
	if (rc == 0)
		cfg_err_line(c, NULL, 0, "node: missing (node.name is "
			     "required)");
	if (rc == 1) {
		cfg_check_keys(c, g, "node", keys);
		rc = cfg_get_node_name(c, g, "node", "name", cfg->node_name, &s);
		if (rc == 0)
			cfg_err_at(c, g, "node.name: missing (this node's "
				   "Kubernetes name is required)");
		cfg_get_addr_array(c, g, "node", "snat_addresses",
				   &cfg->snat_addresses, &cfg->n_snat_addresses,
				   &s);
		s = config_setting_get_member(g, "snat_port_range");
		if (s != NULL && (!config_setting_is_aggregate(s) ||
				  config_setting_is_group(s) ||
				  config_setting_length(s) != 2)) {
			cfg_err_at(c, s, "node.snat_port_range: must be "
				   "[ min, max ]");
		} else if (s != NULL) {
			int64_t lo;
			int64_t hi;
			int a = cfg_int_value(c, config_setting_get_elem(s, 0),
					      "node.snat_port_range[0]", 1024,
					      65535, &lo);
			int b = cfg_int_value(c, config_setting_get_elem(s, 1),
					      "node.snat_port_range[1]", 1024,
					      65535, &hi);

			if (a == 1 && b == 1 && lo > hi) {
				cfg_err_at(c, s, "node.snat_port_range: min "
					   "%lld is above max %lld",
					   (long long)lo, (long long)hi);
			} else if (a == 1 && b == 1) {
				cfg->snat_port_min = (uint16_t)lo;
				cfg->snat_port_max = (uint16_t)hi;
			}
		}
	}
	if (cfg->n_snat_addresses == 0 && cfg->n_interfaces > 0) {
		/*
		 * Default: the internal interface's address, the one that
		 * reaches the endpoints: the first interface without a
		 * gateway (external ones have one), else the first.
		 */
		const struct ef_cfg_interface *pick = &cfg->interfaces[0];

		for (uint32_t i = 0; i < cfg->n_interfaces; i++) {
			if (cfg->interfaces[i].gateway.family == 0) {
				pick = &cfg->interfaces[i];
				break;
			}
		}
		free(cfg->snat_addresses);
		cfg->snat_addresses = calloc(1, sizeof(*cfg->snat_addresses));
		if (cfg->snat_addresses == NULL) {
			c->oom = true;
			return;
		}
		cfg->snat_addresses[0] = pick->address;
		cfg->n_snat_addresses = 1;
	}
}
