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

		/* address6 is unset (family 0) on IPv4-only interfaces */
		if (ef_addr_in_prefix(a, &ifc->address, ifc->prefix_len) ||
		    (a->family == EF_AF_INET6 &&
		     ef_addr_in_prefix(a, &ifc->address6, ifc->prefix_len6)))
			return ifc;
	}
	return NULL;
}

bool
cfg_is_interface_address(const struct ef_cfg *cfg, const struct ef_addr *a)
{
	for (uint32_t i = 0; i < cfg->n_interfaces; i++) {
		if (ef_addr_eq(&cfg->interfaces[i].address, a) ||
		    (a->family == EF_AF_INET6 &&
		     ef_addr_eq(&cfg->interfaces[i].address6, a)))
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
/*
 * The IPv6 address of an interface (issue 12) into address6: a prefix
 * length 1..128, no overlap with another interface's IPv6 subnet.
 */
static bool
interface_address6(struct cfg_ctx *c, const config_setting_t *s,
		   const char *lbl, const char *text,
		   struct ef_cfg_interface *ifc)
{
	const struct ef_cfg *cfg = c->cfg;
	struct ef_addr a;
	uint8_t len;
	int rc = ef_prefix_parse(text, true, &a, &len);

	if (rc == -EINVAL || (rc == 0 && a.family != EF_AF_INET6)) {
		cfg_err_at(c, s, "%s: \"%s\" is not an IPv6 address with a "
			   "prefix length (\"x:y::z/len\")", lbl, text);
		return false;
	}
	if (rc < 0 || len == 0) {
		cfg_err_at(c, s, "%s: \"%s\": prefix length must be 1..128",
			   lbl, text);
		return false;
	}
	for (uint32_t i = 0; i < cfg->n_interfaces; i++) {
		const struct ef_cfg_interface *o = &cfg->interfaces[i];

		if (o->address6.family != EF_AF_INET6 ||
		    (!ef_addr_in_prefix(&a, &o->address6, o->prefix_len6) &&
		     !ef_addr_in_prefix(&o->address6, &a, len)))
			continue;
		cfg_err_at(c, s, "%s: \"%s\" overlaps the IPv6 subnet of the "
			   "interface at line %d", lbl, text, o->line);
		return false;
	}
	ifc->address6 = a;
	ifc->prefix_len6 = len;
	return true;
}

static bool interface_address4(struct cfg_ctx *c, const config_setting_t *s,
			       const char *lbl, const char *text,
			       struct ef_cfg_interface *ifc);

/*
 * addresses = [ "v4/len", "v6/len" ]: the list form of address, one per
 * family. The IPv4 one goes through the checks of 'address' (same
 * messages); an IPv4 address is required until the data plane serves
 * IPv6-only interfaces.
 */
static bool
interface_addresses(struct cfg_ctx *c, const char *path, const config_setting_t *list,
		    int single_rc, struct ef_cfg_interface *ifc)
{
	char lbl[CFG_LABEL_MAX];
	bool have4 = false, have6 = false, ok4 = false;
	int n;

	cfg_label(lbl, path, "addresses");
	if (single_rc != 0) {
		cfg_err_at(c, list, "%s: give \"address\" or \"addresses\", "
			   "not both", lbl);
		return false;
	}
	if (!config_setting_is_array(list) && !config_setting_is_list(list)) {
		cfg_err_at(c, list, "%s: must be a list of \"addr/len\" "
			   "strings", lbl);
		return false;
	}
	n = config_setting_length(list);
	if (n < 1 || n > 2) {
		cfg_err_at(c, list, "%s: one address per family (1 or 2), "
			   "not %d", lbl, n);
		return false;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list,
								(unsigned)i);
		const char *text = config_setting_get_string(e);
		char el[CFG_LABEL_MAX + 8];

		snprintf(el, sizeof(el), "%s[%d]", lbl, i);
		if (text == NULL) {
			cfg_err_at(c, e, "%s: must be a string", el);
			continue;
		}
		if (strchr(text, ':') != NULL) {
			if (have6) {
				cfg_err_at(c, e, "%s: \"%s\": a second IPv6 "
					   "address (one per family)", el, text);
				continue;
			}
			have6 = true;
			interface_address6(c, e, el, text, ifc);
			continue;
		}
		if (have4) {
			cfg_err_at(c, e, "%s: \"%s\": a second IPv4 address "
				   "(one per family)", el, text);
			continue;
		}
		have4 = true;
		ok4 = interface_address4(c, e, el, text, ifc);
	}
	if (!have4 && have6)
		cfg_err_at(c, list, "%s: an IPv6-only interface is not "
			   "supported yet (add an IPv4 address)", lbl);
	return ok4;
}

/* The IPv4 address of an interface: the checks 'address' always had. */
static bool
interface_address4(struct cfg_ctx *c, const config_setting_t *s,
		   const char *lbl, const char *text,
		   struct ef_cfg_interface *ifc)
{
	const struct ef_cfg *cfg = c->cfg;
	int rc = ef_prefix_parse(text, true, &ifc->address, &ifc->prefix_len);

	if (rc == -EINVAL) {
		cfg_err_at(c, s, "%s: \"%s\" is not an address with a prefix "
			   "length (\"a.b.c.d/len\")", lbl, text);
		return false;
	}
	if (rc < 0 || ifc->prefix_len == 0) {
		cfg_err_at(c, s, "%s: \"%s\": prefix length must be 1..32",
			   lbl, text);
		return false;
	}
	if (is_ipv4_network_or_broadcast(&ifc->address, ifc->prefix_len)) {
		cfg_err_at(c, s, "%s: \"%s\" is the network or broadcast "
			   "address of its subnet, not a host address", lbl,
			   text);
		return false;
	}
	for (uint32_t i = 0; i < cfg->n_interfaces; i++) {
		const struct ef_cfg_interface *o = &cfg->interfaces[i];

		if (!ef_addr_in_prefix(&ifc->address, &o->address,
				       o->prefix_len) &&
		    !ef_addr_in_prefix(&o->address, &ifc->address,
				       ifc->prefix_len))
			continue;
		cfg_err_at(c, s, "%s: \"%s\" overlaps the subnet of the "
			   "interface at line %d", lbl, text, o->line);
		break;
	}
	return true;
}

static bool
interface_address(struct cfg_ctx *c, const config_setting_t *g,
		  const char *path, struct ef_cfg_interface *ifc)
{
	const config_setting_t *list = config_setting_get_member(g,
								 "addresses");
	const config_setting_t *s;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	int rc;

	rc = cfg_get_str(c, g, path, "address", &text, &s);
	cfg_label(lbl, path, "address");
	if (list != NULL)
		return interface_addresses(c, path, list, rc, ifc);
	if (rc == 0)
		cfg_err_at(c, g, "%s: missing (\"a.b.c.d/len\")", lbl);
	if (rc != 1)
		return false;
	if (strchr(text, ':') != NULL) {
		/* an IPv6-only interface: the message it always had */
		if (interface_address6(c, s, lbl, text, ifc))
			cfg_err_at(c, s, "%s: \"%s\": IPv6 is not supported "
				   "yet", lbl, text);
		memset(&ifc->address6, 0, sizeof(ifc->address6));
		ifc->prefix_len6 = 0;
		return false;
	}
	return interface_address4(c, s, lbl, text, ifc);
}

/*
 * An IPv6 gateway text: on the interface's IPv6 subnet or link-local
 * (routers are often known by fe80:: addresses), not the interface
 * itself. Into gateway6.
 */
static void
gateway6_value(struct cfg_ctx *c, const config_setting_t *s, const char *lbl,
	       const char *text, struct ef_cfg_interface *ifc)
{
	struct ef_addr a;

	if (ef_addr_parse(text, &a) != 0 || a.family != EF_AF_INET6) {
		cfg_err_at(c, s, "%s: \"%s\" is not an IP address", lbl, text);
		return;
	}
	if (ifc->address6.family != EF_AF_INET6) {
		cfg_err_at(c, s, "%s: %s: the interface has no IPv6 address",
			   lbl, text);
		return;
	}
	if (!(a.v6[0] == 0xfe && (a.v6[1] & 0xc0) == 0x80) &&
	    !ef_addr_in_prefix(&a, &ifc->address6, ifc->prefix_len6)) {
		cfg_err_at(c, s, "%s: %s is not on this interface's IPv6 subnet "
			   "(nor link-local)", lbl, text);
		return;
	}
	if (ef_addr_eq(&a, &ifc->address6)) {
		cfg_err_at(c, s, "%s: %s is the interface's own address", lbl,
			   text);
		return;
	}
	ifc->gateway6 = a;
}

/* true when key (a string) holds an IPv6 address. */
static bool
is_ipv6_text(const config_setting_t *g, const char *key)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char *text = s != NULL ? config_setting_get_string(s) : NULL;

	return text != NULL && strchr(text, ':') != NULL;
}

/*
 * gateways = [ "v4", "v6" ] (the list form of gateway, one per family),
 * or a gateway that is IPv6. The IPv4 one gets the checks of 'gateway'.
 */
static void
interface_gateways(struct cfg_ctx *c, const config_setting_t *g,
		   const char *path, struct ef_cfg_interface *ifc, bool addr_ok)
{
	const config_setting_t *list = config_setting_get_member(g, "gateways");
	const config_setting_t *one = config_setting_get_member(g, "gateway");
	char lbl[CFG_LABEL_MAX];
	bool have4 = false, have6 = false;
	int n;

	if (list == NULL) {
		cfg_label(lbl, path, "gateway");
		gateway6_value(c, one, lbl, config_setting_get_string(one), ifc);
		return;
	}
	cfg_label(lbl, path, "gateways");
	if (one != NULL) {
		cfg_err_at(c, list, "%s: give \"gateway\" or \"gateways\", "
			   "not both", lbl);
		return;
	}
	if (!config_setting_is_array(list) && !config_setting_is_list(list)) {
		cfg_err_at(c, list, "%s: must be a list of address strings", lbl);
		return;
	}
	n = config_setting_length(list);
	if (n < 1 || n > 2) {
		cfg_err_at(c, list, "%s: one gateway per family (1 or 2), not "
			   "%d", lbl, n);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list,
								(unsigned)i);
		const char *text = config_setting_get_string(e);
		char el[CFG_LABEL_MAX + 8];
		struct ef_addr a;

		snprintf(el, sizeof(el), "%s[%d]", lbl, i);
		if (text == NULL) {
			cfg_err_at(c, e, "%s: must be a string", el);
			continue;
		}
		if (strchr(text, ':') != NULL) {
			if (have6)
				cfg_err_at(c, e, "%s: \"%s\": a second IPv6 "
					   "gateway (one per family)", el, text);
			else
				gateway6_value(c, e, el, text, ifc);
			have6 = true;
			continue;
		}
		if (have4) {
			cfg_err_at(c, e, "%s: \"%s\": a second IPv4 gateway "
				   "(one per family)", el, text);
			continue;
		}
		have4 = true;
		if (!cfg_addr_value(c, e, el, text, &a))
			continue;
		if (addr_ok &&
		    (!ef_addr_in_prefix(&a, &ifc->address, ifc->prefix_len) ||
		     is_ipv4_network_or_broadcast(&a, ifc->prefix_len)))
			cfg_err_at(c, e, "%s: %s is not a host of this "
				   "interface's subnet", el, text);
		else if (addr_ok && ef_addr_eq(&a, &ifc->address))
			cfg_err_at(c, e, "%s: %s is the interface's own address",
				   el, text);
		else
			ifc->gateway = a;
	}
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

	if (config_setting_get_member(g, "gateways") != NULL ||
	    is_ipv6_text(g, "gateway")) {
		interface_gateways(c, g, path, ifc, addr_ok);
		rc = 0;
	} else {
		rc = cfg_get_addr(c, g, path, "gateway", &ifc->gateway, &s);
	}
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
		"port", "address", "addresses", "gateway", "gateways", "mtu",
		NULL,
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

/*
 * snat_addresses: the IPv4 pool as always, plus at most one IPv6 address,
 * which needs an interface with an IPv6 address to be reached through.
 */
static void
node_snat_addresses(struct cfg_ctx *c, const config_setting_t *g)
{
	struct ef_cfg *cfg = c->cfg;
	const config_setting_t *s;
	struct ef_addr *v6 = NULL;
	uint32_t n6 = 0;
	bool any6 = false;

	cfg_get_addr_array2(c, g, "node", "snat_addresses",
			    &cfg->snat_addresses, &cfg->n_snat_addresses,
			    &v6, &n6, &s);
	for (uint32_t i = 0; i < cfg->n_interfaces; i++)
		any6 |= cfg->interfaces[i].address6.family == EF_AF_INET6;
	if (n6 > 1)
		cfg_err_at(c, s, "node.snat_addresses: %u IPv6 addresses (one "
			   "per family)", n6);
	else if (n6 == 1 && !any6)
		cfg_err_at(c, s, "node.snat_addresses: an IPv6 address, but no "
			   "interface has one");
	else if (n6 == 1)
		cfg->snat_address6 = v6[0];
	if (n6 > 0 && cfg->n_snat_addresses == 0)
		cfg_err_at(c, s, "node.snat_addresses: an IPv4 address is "
			   "required too (the data plane is IPv4 for now)");
	free(v6);
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
		node_snat_addresses(c, g);
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
		if (cfg->snat_address6.family == 0)
			cfg->snat_address6 = pick->address6;
	}
}
