/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "cfg_priv.h"

#define LABEL_MAX 192
#define SECONDS_30_DAYS (30 * 24 * 3600)

/* A policy word as Kubernetes spells it, and its enum value. */
struct word {
	const char *text;
	int value;
};

static const struct word svc_type_words[] = {
	{ "ClusterIP", EF_SVC_TYPE_CLUSTER_IP },
	{ "NodePort", EF_SVC_TYPE_NODE_PORT },
	{ "LoadBalancer", EF_SVC_TYPE_LOAD_BALANCER },
	{ NULL, 0 },
};

static const struct word policy_words[] = {
	{ "Cluster", EF_POLICY_CLUSTER },
	{ "Local", EF_POLICY_LOCAL },
	{ NULL, 0 },
};

static const struct word affinity_words[] = {
	{ "None", EF_AFFINITY_NONE },
	{ "ClientIP", EF_AFFINITY_CLIENT_IP },
	{ NULL, 0 },
};

static const struct word health_words[] = {
	{ "tcp", EF_HEALTH_TCP },
	{ "http", EF_HEALTH_HTTP },
	{ "none", EF_HEALTH_NONE },
	{ NULL, 0 },
};

static const struct word protocol_words[] = {
	{ "TCP", IPPROTO_TCP },
	{ "UDP", IPPROTO_UDP },
	{ NULL, 0 },
};

static const char *
type_word(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "an unknown type";
}

/*
 * Setting paths for messages. Paths are short in practice; an absurdly
 * long one is cut, which only shortens a message.
 */
static void __attribute__((format(printf, 3, 4)))
path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* "path.key", or "key" at the top level. */
static const char *
label(char *buf, const char *path, const char *key)
{
	if (path[0] == '\0')
		path_fmt(buf, LABEL_MAX, "%s", key);
	else
		path_fmt(buf, LABEL_MAX, "%s.%s", path, key);
	return buf;
}

/* Levenshtein distance, capped: only used to suggest a spelling. */
static unsigned int
edit_distance(const char *a, const char *b)
{
	unsigned int row[64];
	size_t la = strlen(a);
	size_t lb = strlen(b);

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned int diag = row[0];

		row[0] = (unsigned int)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned int up = row[j];
			unsigned int best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * Every member of g must be one of keys: a misspelt optional key would
 * otherwise leave its default in force without a word.
 */
static void
check_keys(struct cfg_ctx *c, const config_setting_t *g, const char *where,
	   const char *const *keys)
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g,
							(unsigned int)i);
		const char *name = config_setting_name(s);
		const char *best = NULL;
		unsigned int best_d = 3;
		bool known = false;

		if (name == NULL)
			continue;
		for (const char *const *k = keys; *k != NULL; k++) {
			unsigned int d;

			if (strcmp(name, *k) == 0) {
				known = true;
				break;
			}
			d = edit_distance(name, *k);
			if (d < best_d) {
				best_d = d;
				best = *k;
			}
		}
		if (known)
			continue;
		if (best != NULL)
			cfg_err_at(c, s, "unknown setting '%s' in %s "
				   "(did you mean '%s'?)", name, where, best);
		else
			cfg_err_at(c, s, "unknown setting '%s' in %s", name,
				   where);
	}
}

static const struct cfg_overflow *
find_overflow(const struct cfg_ctx *c, const config_setting_t *s, int64_t v)
{
	int line = config_setting_source_line(s);

	/* the lexical pass saw only the main text, not @include'd files */
	if (config_setting_source_file(s) != NULL)
		return NULL;
	for (uint32_t i = 0; i < c->n_overflows; i++) {
		const struct cfg_overflow *o = &c->overflows[i];

		if (o->line == line && (o->any_value || o->truncated == v))
			return o;
	}
	return NULL;
}

/* Check an integer setting s against [min, max]. 1 if valid, else -1. */
static int
int_value(struct cfg_ctx *c, const config_setting_t *s, const char *lbl,
	  int64_t min, int64_t max, int64_t *out)
{
	int t = config_setting_type(s);
	const struct cfg_overflow *o;
	int64_t v;

	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		cfg_err_at(c, s, "%s: must be an integer, not %s", lbl,
			   type_word(s));
		return -1;
	}
	v = config_setting_get_int64(s);
	o = t == CONFIG_TYPE_INT ? find_overflow(c, s, v) : NULL;
	if (o != NULL) {
		cfg_err_at(c, s, "%s: %s is out of range (%lld..%lld)", lbl,
			   o->text, (long long)min, (long long)max);
		return -1;
	}
	if (v < min || v > max) {
		cfg_err_at(c, s, "%s: %lld is out of range (%lld..%lld)", lbl,
			   (long long)v, (long long)min, (long long)max);
		return -1;
	}
	*out = v;
	return 1;
}

/* Optional integer member: 0 absent, 1 valid (*out set), -1 reported. */
static int
get_int(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	const char *key, int64_t min, int64_t max, int64_t *out,
	const config_setting_t **where)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char lbl[LABEL_MAX];

	if (where != NULL)
		*where = s;
	if (s == NULL)
		return 0;
	return int_value(c, s, label(lbl, path, key), min, max, out);
}

/* The same into a uint32_t, leaving the default when absent. */
static int
get_u32(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	const char *key, int64_t min, int64_t max, uint32_t *out,
	const config_setting_t **where)
{
	int64_t v;
	int rc = get_int(c, g, path, key, min, max, &v, where);

	if (rc == 1)
		*out = (uint32_t)v;
	return rc;
}

static int
get_str(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	const char *key, const char **out, const config_setting_t **where)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char lbl[LABEL_MAX];

	if (where != NULL)
		*where = s;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_err_at(c, s, "%s: must be a string, not %s",
			   label(lbl, path, key), type_word(s));
		return -1;
	}
	*out = config_setting_get_string(s);
	return 1;
}

static int
get_bool(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	 const char *key, bool *out, const config_setting_t **where)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char lbl[LABEL_MAX];

	if (where != NULL)
		*where = s;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfg_err_at(c, s, "%s: must be true or false, not %s",
			   label(lbl, path, key), type_word(s));
		return -1;
	}
	*out = config_setting_get_bool(s) != 0;
	return 1;
}

static int
get_group(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	  const char *key, const config_setting_t **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char lbl[LABEL_MAX];

	*out = s;
	if (s == NULL)
		return 0;
	if (!config_setting_is_group(s)) {
		cfg_err_at(c, s, "%s: must be a group { ... }, not %s",
			   label(lbl, path, key), type_word(s));
		return -1;
	}
	return 1;
}

/* A list ( ... ); an empty array [ ] is accepted as an empty list. */
static int
get_list(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	 const char *key, const config_setting_t **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char lbl[LABEL_MAX];

	*out = s;
	if (s == NULL)
		return 0;
	if (!config_setting_is_list(s) &&
	    !(config_setting_is_array(s) && config_setting_length(s) == 0)) {
		cfg_err_at(c, s, "%s: must be a list ( ... ), not %s",
			   label(lbl, path, key), type_word(s));
		return -1;
	}
	return 1;
}

/* Element i of a list must be a group. */
static const config_setting_t *
list_group(struct cfg_ctx *c, const config_setting_t *l, unsigned int i,
	   const char *path)
{
	const config_setting_t *e = config_setting_get_elem(l, i);

	if (!config_setting_is_group(e)) {
		cfg_err_at(c, e, "%s: must be a group { ... }, not %s", path,
			   type_word(e));
		return NULL;
	}
	return e;
}

/* Copy a string into a fixed field; an over-long one is an error. */
static bool
copy_text(struct cfg_ctx *c, const config_setting_t *s, const char *lbl,
	  const char *text, char *dst, size_t size)
{
	if (strlen(text) >= size) {
		cfg_err_at(c, s, "%s: too long (at most %zu characters)", lbl,
			   size - 1);
		return false;
	}
	strcpy(dst, text);
	return true;
}

/* Match a word exactly; a case-only difference gets a hint. */
static int
get_word(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	 const char *key, const struct word *words, int *out,
	 const config_setting_t **where)
{
	const config_setting_t *s;
	const char *text;
	char lbl[LABEL_MAX];
	char expect[128];
	size_t len = 0;
	int rc = get_str(c, g, path, key, &text, &s);

	if (where != NULL)
		*where = s;
	if (rc != 1)
		return rc;
	for (const struct word *w = words; w->text != NULL; w++) {
		if (strcmp(text, w->text) == 0) {
			*out = w->value;
			return 1;
		}
	}
	label(lbl, path, key);
	for (const struct word *w = words; w->text != NULL; w++) {
		if (strcasecmp(text, w->text) == 0) {
			cfg_err_at(c, s, "%s: \"%s\" is not valid: words are "
				   "case-sensitive, did you mean \"%s\"?",
				   lbl, text, w->text);
			return -1;
		}
	}
	expect[0] = '\0';
	for (const struct word *w = words; w->text != NULL; w++) {
		int k = snprintf(expect + len, sizeof(expect) - len, "%s\"%s\"",
				 len == 0 ? "" : (w[1].text == NULL ? " or " :
						  ", "), w->text);

		if (k > 0 && (size_t)k < sizeof(expect) - len)
			len += (size_t)k;
	}
	cfg_err_at(c, s, "%s: \"%s\" is not valid (expected %s)", lbl, text,
		   expect);
	return -1;
}

/* Parse an IPv4 address text; an IPv6 one is refused, never ignored. */
static bool
addr_value(struct cfg_ctx *c, const config_setting_t *s, const char *lbl,
	   const char *text, struct ef_addr *out)
{
	if (ef_addr_parse(text, out) != 0) {
		cfg_err_at(c, s, "%s: \"%s\" is not an IP address", lbl, text);
		return false;
	}
	if (out->family != EF_AF_INET4) {
		cfg_err_at(c, s, "%s: \"%s\": IPv6 is not supported yet", lbl,
			   text);
		return false;
	}
	return true;
}

static int
get_addr(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	 const char *key, struct ef_addr *out, const config_setting_t **where)
{
	const config_setting_t *s;
	const char *text;
	char lbl[LABEL_MAX];
	int rc = get_str(c, g, path, key, &text, &s);

	if (where != NULL)
		*where = s;
	if (rc != 1)
		return rc;
	return addr_value(c, s, label(lbl, path, key), text, out) ? 1 : -1;
}

/*
 * An array (or list) of address strings, each valid and unique. Returns
 * 0 absent, 1 valid, -1 reported; *arr is allocated even when empty so
 * that a present empty array differs from none only by *n.
 */
static int
get_addr_array(struct cfg_ctx *c, const config_setting_t *g,
	       const char *path, const char *key, struct ef_addr **arr,
	       uint32_t *n, const config_setting_t **where)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char lbl[LABEL_MAX];
	char elbl[LABEL_MAX];
	int len;
	int rc = 1;

	*where = s;
	if (s == NULL)
		return 0;
	label(lbl, path, key);
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		cfg_err_at(c, s, "%s: must be an array [ \"a.b.c.d\", ... ], "
			   "not %s", lbl, type_word(s));
		return -1;
	}
	len = config_setting_length(s);
	*arr = calloc((size_t)len + 1, sizeof(**arr));
	if (*arr == NULL) {
		c->oom = true;
		return -1;
	}
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
							(unsigned int)i);
		struct ef_addr a;

		path_fmt(elbl, sizeof(elbl), "%s[%d]", lbl, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			cfg_err_at(c, e, "%s: must be a string, not %s", elbl,
				   type_word(e));
			rc = -1;
			continue;
		}
		if (!addr_value(c, e, elbl, config_setting_get_string(e),
				&a)) {
			rc = -1;
			continue;
		}
		for (uint32_t j = 0; j < *n; j++) {
			if (ef_addr_eq(&(*arr)[j], &a)) {
				cfg_err_at(c, e, "%s: \"%s\" is listed twice",
					   elbl, config_setting_get_string(e));
				rc = -1;
				goto next;
			}
		}
		(*arr)[(*n)++] = a;
next:
		;
	}
	return rc;
}

/* RFC 1123 label: 1..63 of [a-z0-9-], starting and ending alphanumeric. */
static bool
is_dns_label(const char *s, size_t len)
{
	if (len == 0 || len > 63)
		return false;
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!(islower((unsigned char)s[i]) ||
		      isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	}
	return true;
}

/* RFC 1123 subdomain (what Kubernetes allows as a node name). */
static bool
is_dns_subdomain(const char *s)
{
	size_t len = strlen(s);
	const char *p = s;

	if (len == 0 || len > 253)
		return false;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t l = dot != NULL ? (size_t)(dot - p) : strlen(p);

		if (!is_dns_label(p, l))
			return false;
		if (dot == NULL)
			return true;
		p = dot + 1;
	}
}

static int
get_node_name(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	      const char *key, char *dst, const config_setting_t **where)
{
	const char *text;
	char lbl[LABEL_MAX];
	int rc = get_str(c, g, path, key, &text, where);

	if (rc != 1)
		return rc;
	label(lbl, path, key);
	if (text[0] == '\0') {
		cfg_err_at(c, *where, "%s: must not be empty", lbl);
		return -1;
	}
	if (!is_dns_subdomain(text)) {
		cfg_err_at(c, *where, "%s: \"%s\" is not a valid Kubernetes "
			   "node name (lower-case DNS subdomain)", lbl, text);
		return -1;
	}
	return copy_text(c, *where, lbl, text, dst, EF_CFG_NODE_MAX) ? 1 : -1;
}

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
static const struct ef_cfg_interface *
connected(const struct ef_cfg *cfg, const struct ef_addr *a)
{
	for (uint32_t i = 0; i < cfg->n_interfaces; i++) {
		const struct ef_cfg_interface *ifc = &cfg->interfaces[i];

		if (ef_addr_in_prefix(a, &ifc->address, ifc->prefix_len))
			return ifc;
	}
	return NULL;
}

static bool
is_interface_address(const struct ef_cfg *cfg, const struct ef_addr *a)
{
	for (uint32_t i = 0; i < cfg->n_interfaces; i++) {
		if (ef_addr_eq(&cfg->interfaces[i].address, a))
			return true;
	}
	return false;
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
	const config_setting_t *s;
	const char *text;
	char lbl[LABEL_MAX];
	bool addr_ok = false;
	int rc;

	memset(&ifc, 0, sizeof(ifc));
	ifc.line = config_setting_source_line(g);
	check_keys(c, g, path, keys);

	rc = get_str(c, g, path, "port", &text, &s);
	label(lbl, path, "port");
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing (the DPDK device name)", lbl);
	} else if (rc == 1 && text[0] == '\0') {
		cfg_err_at(c, s, "%s: must not be empty", lbl);
	} else if (rc == 1 && copy_text(c, s, lbl, text, ifc.port,
					sizeof(ifc.port))) {
		for (uint32_t i = 0; i < c->n_if_ports; i++) {
			if (strcmp(c->if_ports[i].name, ifc.port) == 0) {
				cfg_err_at(c, s, "%s: \"%s\" is already used "
					   "by the interface at line %d", lbl,
					   text, c->if_ports[i].line);
				break;
			}
		}
		c->if_ports[c->n_if_ports].name = text;
		c->if_ports[c->n_if_ports++].line = ifc.line;
	}

	rc = get_str(c, g, path, "address", &text, &s);
	label(lbl, path, "address");
	if (rc == 0)
		cfg_err_at(c, g, "%s: missing (\"a.b.c.d/len\")", lbl);
	if (rc == 1)
		rc = ef_prefix_parse(text, true, &ifc.address,
				     &ifc.prefix_len);
	else
		rc = 1;
	if (rc == -EINVAL) {
		cfg_err_at(c, s, "%s: \"%s\" is not an address with a prefix "
			   "length (\"a.b.c.d/len\")", lbl, text);
	} else if (rc == 0 && ifc.address.family != EF_AF_INET4) {
		cfg_err_at(c, s, "%s: \"%s\": IPv6 is not supported yet", lbl,
			   text);
	} else if (rc < 0 || (rc == 0 && ifc.prefix_len == 0)) {
		cfg_err_at(c, s, "%s: \"%s\": prefix length must be 1..32",
			   lbl, text);
	} else if (rc == 0 && is_ipv4_network_or_broadcast(&ifc.address,
							   ifc.prefix_len)) {
		cfg_err_at(c, s, "%s: \"%s\" is the network or broadcast "
			   "address of its subnet, not a host address", lbl,
			   text);
	} else if (rc == 0) {
		addr_ok = true;
		for (uint32_t i = 0; i < cfg->n_interfaces; i++) {
			const struct ef_cfg_interface *o = &cfg->interfaces[i];

			if (!ef_addr_in_prefix(&ifc.address, &o->address,
					       o->prefix_len) &&
			    !ef_addr_in_prefix(&o->address, &ifc.address,
					       ifc.prefix_len))
				continue;
			cfg_err_at(c, s, "%s: \"%s\" overlaps the subnet of "
				   "the interface at line %d", lbl, text,
				   o->line);
			break;
		}
	}

	rc = get_addr(c, g, path, "gateway", &ifc.gateway, &s);
	label(lbl, path, "gateway");
	if (rc == 1 && addr_ok &&
	    (!ef_addr_in_prefix(&ifc.gateway, &ifc.address, ifc.prefix_len) ||
	     is_ipv4_network_or_broadcast(&ifc.gateway, ifc.prefix_len)))
		cfg_err_at(c, s, "%s: %s is not a host of this interface's "
			   "subnet", lbl, config_setting_get_string(s));
	else if (rc == 1 && addr_ok && ef_addr_eq(&ifc.gateway, &ifc.address))
		cfg_err_at(c, s, "%s: %s is the interface's own address", lbl,
			   config_setting_get_string(s));

	rc = get_u32(c, g, path, "mtu", 0, 9600, &ifc.mtu, &s);
	if (rc == 1 && ifc.mtu != 0 && ifc.mtu < 68)
		cfg_err_at(c, s, "%s: %u is out of range (0 to leave the "
			   "device's, or 68..9600)", label(lbl, path, "mtu"),
			   ifc.mtu);

	/*
	 * Kept whenever its address is usable, even with other mistakes, so
	 * that routes and node ports are not blamed for them as well.
	 */
	if (addr_ok)
		cfg->interfaces[cfg->n_interfaces++] = ifc;
}

static void
parse_interfaces(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *l;
	char path[LABEL_MAX];
	int n;
	int rc = get_list(c, root, "", "interfaces", &l);

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

		path_fmt(path, sizeof(path), "interfaces[%d]", i);
		g = list_group(c, l, (unsigned int)i, path);
		if (g != NULL)
			parse_interface(c, g, path);
	}
}

static void
parse_node(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {
		"name", "snat_addresses", "snat_port_range", NULL,
	};
	struct ef_cfg *cfg = c->cfg;
	const config_setting_t *g;
	const config_setting_t *s;
	int rc = get_group(c, root, "", "node", &g);

	cfg->snat_port_min = 1024;
	cfg->snat_port_max = 29999;
	if (rc == 0)
		cfg_err_line(c, NULL, 0, "node: missing (node.name is "
			     "required)");
	if (rc == 1) {
		check_keys(c, g, "node", keys);
		rc = get_node_name(c, g, "node", "name", cfg->node_name, &s);
		if (rc == 0)
			cfg_err_at(c, g, "node.name: missing (this node's "
				   "Kubernetes name is required)");
		get_addr_array(c, g, "node", "snat_addresses",
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
			int a = int_value(c, config_setting_get_elem(s, 0),
					  "node.snat_port_range[0]", 1024,
					  65535, &lo);
			int b = int_value(c, config_setting_get_elem(s, 1),
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

static void
parse_route(struct cfg_ctx *c, const config_setting_t *g, const char *path)
{
	static const char *const keys[] = { "prefix", "via", NULL };
	struct ef_cfg *cfg = c->cfg;
	struct ef_cfg_route r;
	const config_setting_t *s;
	const char *text;
	char lbl[LABEL_MAX];
	bool ok = true;
	int rc;

	memset(&r, 0, sizeof(r));
	r.line = config_setting_source_line(g);
	check_keys(c, g, path, keys);

	rc = get_str(c, g, path, "prefix", &text, &s);
	label(lbl, path, "prefix");
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
				   "0..32", lbl, text);
			ok = false;
		} else if (r.prefix.family != EF_AF_INET4) {
			cfg_err_at(c, s, "%s: \"%s\": IPv6 is not supported "
				   "yet", lbl, text);
			ok = false;
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

	rc = get_addr(c, g, path, "via", &r.via, &s);
	label(lbl, path, "via");
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing (the next hop)", lbl);
		ok = false;
	} else if (rc == 1 && (connected(cfg, &r.via) == NULL ||
			       is_interface_address(cfg, &r.via))) {
		/* a next hop must be reachable by ARP on an interface */
		cfg_err_at(c, s, "%s: %s is not a neighbour on a connected "
			   "subnet of any interface", lbl,
			   config_setting_get_string(s));
		ok = false;
	} else if (rc < 0) {
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
	char lbl[LABEL_MAX];
	bool ok = true;
	int rc;

	memset(&nb, 0, sizeof(nb));
	nb.line = config_setting_source_line(g);
	check_keys(c, g, path, keys);

	rc = get_addr(c, g, path, "address", &nb.address, &s);
	label(lbl, path, "address");
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing", lbl);
		ok = false;
	} else if (rc == 1 && (connected(cfg, &nb.address) == NULL ||
			       is_interface_address(cfg, &nb.address))) {
		cfg_err_at(c, s, "%s: %s is not a neighbour on a connected "
			   "subnet of any interface", lbl,
			   config_setting_get_string(s));
		ok = false;
	} else if (rc == 1) {
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
	} else {
		ok = false;
	}

	rc = get_str(c, g, path, "mac", &text, &s);
	label(lbl, path, "mac");
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

/*
 * Routes or neighbors: a list of groups. Returns the list's length (0 when
 * absent or wrong) so that the caller sizes its array before parsing.
 */
static int
group_list(struct cfg_ctx *c, const config_setting_t *root, const char *key,
	   const config_setting_t **l)
{
	if (get_list(c, root, "", key, l) != 1)
		return 0;
	return config_setting_length(*l);
}

static void
each_group(struct cfg_ctx *c, const config_setting_t *l, const char *key,
	   void (*parse)(struct cfg_ctx *, const config_setting_t *,
			 const char *))
{
	char path[LABEL_MAX];
	int n = config_setting_length(l);

	for (int i = 0; i < n; i++) {
		const config_setting_t *g;

		path_fmt(path, sizeof(path), "%s[%d]", key, i);
		g = list_group(c, l, (unsigned int)i, path);
		if (g != NULL)
			parse(c, g, path);
	}
}

static void
parse_dataplane(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {
		"burst", "rx_descriptors", "tx_descriptors", "mbufs", NULL,
	};
	struct ef_cfg_dataplane *d = &c->cfg->dataplane;
	const config_setting_t *g;

	d->burst = 32;
	d->rx_descriptors = 1024;
	d->tx_descriptors = 1024;
	d->mbufs = 65535;
	if (get_group(c, root, "", "dataplane", &g) != 1)
		return;
	check_keys(c, g, "dataplane", keys);
	get_u32(c, g, "dataplane", "burst", 1, 256, &d->burst, NULL);
	get_u32(c, g, "dataplane", "rx_descriptors", 64, 16384,
		&d->rx_descriptors, NULL);
	get_u32(c, g, "dataplane", "tx_descriptors", 64, 16384,
		&d->tx_descriptors, NULL);
	get_u32(c, g, "dataplane", "mbufs", 1023, UINT32_MAX, &d->mbufs,
		NULL);
}

static void
parse_conntrack(struct cfg_ctx *c, const config_setting_t *root)
{
	static const struct {
		const char *key;
		size_t off;
		uint32_t def;
	} timeouts[] = {
		{ "tcp_syn_timeout",
		  offsetof(struct ef_cfg_conntrack, tcp_syn_timeout), 30 },
		{ "tcp_established_timeout",
		  offsetof(struct ef_cfg_conntrack, tcp_established_timeout),
		  7440 },
		{ "tcp_fin_timeout",
		  offsetof(struct ef_cfg_conntrack, tcp_fin_timeout), 30 },
		{ "tcp_close_timeout",
		  offsetof(struct ef_cfg_conntrack, tcp_close_timeout), 10 },
		{ "udp_timeout",
		  offsetof(struct ef_cfg_conntrack, udp_timeout), 30 },
		{ "udp_stream_timeout",
		  offsetof(struct ef_cfg_conntrack, udp_stream_timeout), 120 },
		{ "icmp_timeout",
		  offsetof(struct ef_cfg_conntrack, icmp_timeout), 30 },
	};
	static const char *const keys[] = {
		"max_flows", "tcp_syn_timeout", "tcp_established_timeout",
		"tcp_fin_timeout", "tcp_close_timeout", "udp_timeout",
		"udp_stream_timeout", "icmp_timeout", NULL,
	};
	struct ef_cfg_conntrack *ct = &c->cfg->conntrack;
	const config_setting_t *g;
	size_t i;

	ct->max_flows = 1048576;
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++)
		*(uint32_t *)((char *)ct + timeouts[i].off) = timeouts[i].def;
	if (get_group(c, root, "", "conntrack", &g) != 1)
		return;
	check_keys(c, g, "conntrack", keys);
	get_u32(c, g, "conntrack", "max_flows", 1024, 1 << 26,
		&ct->max_flows, NULL);
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++)
		get_u32(c, g, "conntrack", timeouts[i].key, 1,
			SECONDS_30_DAYS,
			(uint32_t *)((char *)ct + timeouts[i].off), NULL);
}

/*
 * Health settings: the global group, or a service's override applied on
 * top of the (already resolved) global values.
 */
static void
parse_health(struct cfg_ctx *c, const config_setting_t *g, const char *path,
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
	char lbl[LABEL_MAX];
	int type;
	int ri;
	int rt;

	*out = *base;
	check_keys(c, g, path, keys);
	if (get_word(c, g, path, "type", health_words, &type, NULL) == 1)
		out->type = (enum ef_health_type)type;
	if (get_str(c, g, path, "http_path", &text, &s) == 1) {
		label(lbl, path, "http_path");
		if (text[0] != '/') {
			cfg_err_at(c, s, "%s: \"%s\" must start with '/'", lbl,
				   text);
		} else if (strpbrk(text, " \t\r\n") != NULL) {
			/* it is sent verbatim in the request line */
			cfg_err_at(c, s, "%s: \"%s\" must not contain "
				   "white space", lbl, text);
		} else {
			copy_text(c, s, lbl, text, out->http_path,
				  sizeof(out->http_path));
		}
	}
	ri = get_u32(c, g, path, "interval_ms", 100, 3600000,
		     &out->interval_ms, &si);
	rt = get_u32(c, g, path, "timeout_ms", 10, 3600000, &out->timeout_ms,
		     &st);
	get_u32(c, g, path, "rise", 1, 100, &out->rise, NULL);
	get_u32(c, g, path, "fall", 1, 100, &out->fall, NULL);
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
	if (get_group(c, root, "", "health", &g) == 1)
		parse_health(c, g, "health", &defaults, &c->cfg->health);
}

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
		if (is_interface_address(cfg, &cfg->snat_addresses[i]))
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

static void
parse_port(struct cfg_ctx *c, const struct svc_state *st,
	   const config_setting_t *g, const char *path, uint32_t port_idx)
{
	static const char *const keys[] = {
		"name", "protocol", "port", "node_port", "target_port", NULL,
	};
	struct ef_cfg_service *svc = st->svc;
	struct ef_cfg_port p;
	const config_setting_t *s;
	const config_setting_t *snp;
	const char *text;
	char lbl[LABEL_MAX];
	bool ok = true;
	int proto = IPPROTO_TCP;
	int64_t v;
	int rc;

	memset(&p, 0, sizeof(p));
	p.line = config_setting_source_line(g);
	check_keys(c, g, path, keys);

	rc = get_str(c, g, path, "name", &text, &s);
	label(lbl, path, "name");
	if (rc == 1 && text[0] != '\0' && !is_dns_label(text, strlen(text))) {
		cfg_err_at(c, s, "%s: \"%s\" is not a valid port name "
			   "(lower-case DNS label)", lbl, text);
		ok = false;
	} else if (rc == 1 && copy_text(c, s, lbl, text, p.name,
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
			   label(lbl, path, "protocol"));
		ok = false;
	} else if (get_word(c, g, path, "protocol", protocol_words, &proto,
			    NULL) < 0) {
		ok = false;
	}
	p.protocol = (uint8_t)proto;

	rc = get_int(c, g, path, "port", 1, 65535, &v, NULL);
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing", label(lbl, path, "port"));
		ok = false;
	} else if (rc == 1) {
		p.port = (uint16_t)v;
	} else {
		ok = false;
	}
	rc = get_int(c, g, path, "target_port", 1, 65535, &v, NULL);
	if (rc == 1)
		p.target_port = (uint16_t)v;
	else if (rc == 0)
		p.target_port = p.port;
	else
		ok = false;

	rc = get_int(c, g, path, "node_port", 1, 65535, &v, &snp);
	label(lbl, path, "node_port");
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

	if (svc->cluster_ip.family != 0)
		add_claim(c, CFG_CLAIM_CLUSTER_IP, p.protocol, &svc->cluster_ip,
			  p.port, st->idx, port_idx, p.line);
	if (svc->type == EF_SVC_TYPE_LOAD_BALANCER) {
		for (uint32_t i = 0; i < svc->n_load_balancer_ips; i++)
			add_claim(c, CFG_CLAIM_LOAD_BALANCER_IP, p.protocol,
				  &svc->load_balancer_ips[i], p.port, st->idx,
				  port_idx, p.line);
	}
	for (uint32_t i = 0; i < svc->n_external_ips; i++)
		add_claim(c, CFG_CLAIM_EXTERNAL_IP, p.protocol,
			  &svc->external_ips[i], p.port, st->idx, port_idx,
			  p.line);
	if (p.node_port != 0)
		add_claim(c, CFG_CLAIM_NODE_PORT, p.protocol, NULL,
			  p.node_port, st->idx, port_idx, p.line);
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
	char lbl[LABEL_MAX];
	bool ok = true;
	int rc;

	memset(&ep, 0, sizeof(ep));
	ep.line = config_setting_source_line(g);
	ep.ready = true;
	ep.weight = 1;
	check_keys(c, g, path, keys);

	rc = get_addr(c, g, path, "address", &ep.address, &s);
	label(lbl, path, "address");
	if (rc == 0) {
		cfg_err_at(c, g, "%s: missing", lbl);
		ok = false;
	} else if (rc == 1) {
		for (uint32_t i = 0; i < svc->n_endpoints; i++) {
			if (ef_addr_eq(&svc->endpoints[i].address,
				       &ep.address)) {
				cfg_err_at(c, s, "%s: %s is already an "
					   "endpoint at line %d", lbl,
					   config_setting_get_string(s),
					   svc->endpoints[i].line);
				ok = false;
			}
		}
	} else {
		ok = false;
	}

	rc = get_node_name(c, g, path, "node", ep.node, &s);
	if (rc == 0)
		cfg_err_at(c, g, "%s: missing (the endpoint's node name)",
			   label(lbl, path, "node"));
	if (rc != 1)
		ok = false;

	if (get_bool(c, g, path, "ready", &ep.ready, NULL) < 0)
		ok = false;
	ep.serving = ep.ready;
	if (get_bool(c, g, path, "serving", &ep.serving, NULL) < 0)
		ok = false;
	rc = get_bool(c, g, path, "terminating", &ep.terminating, &s);
	if (rc == 1 && ep.ready && ep.terminating) {
		cfg_err_at(c, s, "%s: a ready endpoint is never terminating "
			   "(set ready = false)",
			   label(lbl, path, "terminating"));
		ok = false;
	} else if (rc < 0) {
		ok = false;
	}
	if (get_u32(c, g, path, "weight", 1, 65535, &ep.weight, NULL) < 0)
		ok = false;
	if (ok)
		svc->endpoints[svc->n_endpoints++] = ep;
}

/* "namespace/name": two DNS labels around one slash. */
static bool
is_service_name(const char *text)
{
	const char *slash = strchr(text, '/');

	if (slash == NULL || strchr(slash + 1, '/') != NULL)
		return false;
	return is_dns_label(text, (size_t)(slash - text)) &&
		is_dns_label(slash + 1, strlen(slash + 1));
}

static void
parse_service_name(struct cfg_ctx *c, struct svc_state *st,
		   const config_setting_t *g, const char *path)
{
	const config_setting_t *s;
	const char *text;
	char lbl[LABEL_MAX];
	int rc = get_str(c, g, path, "name", &text, &s);

	label(lbl, path, "name");
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
	if (!copy_text(c, s, lbl, text, st->svc->name, EF_CFG_NAME_MAX))
		return;
	if (c->name_tab_ok) {
		ENTRY e = { .key = (char *)(uintptr_t)text, .data = NULL };
		ENTRY *found = NULL;

		if (hsearch_r(e, FIND, &found, &c->name_tab) != 0 &&
		    found != NULL) {
			const struct cfg_svc_name *o =
				&c->svc_names[(uintptr_t)found->data];

			cfg_err_at(c, s, "%s: service \"%s\" is already "
				   "defined at line %d", lbl, text, o->line);
			return;
		}
		e.data = (void *)(uintptr_t)st->idx;
		if (hsearch_r(e, ENTER, &found, &c->name_tab) == 0)
			c->name_tab_ok = false;
	}
	if (!c->name_tab_ok) {
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

static void
parse_service(struct cfg_ctx *c, struct svc_state *st,
	      const config_setting_t *g, const char *path)
{
	static const char *const keys[] = {
		"name", "type", "cluster_ip", "load_balancer_ips",
		"external_ips", "external_traffic_policy",
		"internal_traffic_policy", "session_affinity",
		"session_affinity_timeout", "health_check_node_port", "ports",
		"endpoints", "health", NULL,
	};
	struct ef_cfg_service *svc = st->svc;
	const config_setting_t *s;
	const config_setting_t *slb;
	const config_setting_t *l;
	const char *text;
	char lbl[LABEL_MAX];
	char sub[LABEL_MAX];
	bool etp_ok;
	int64_t v;
	int word;
	int rc;
	int n;

	svc->line = config_setting_source_line(g);
	svc->session_affinity_timeout = 10800;
	svc->health = c->cfg->health;
	check_keys(c, g, path, keys);
	parse_service_name(c, st, g, path);

	rc = get_word(c, g, path, "type", svc_type_words, &word, NULL);
	st->type_ok = rc >= 0;
	if (rc == 1)
		svc->type = (enum ef_svc_type)word;

	rc = get_str(c, g, path, "cluster_ip", &text, &s);
	label(lbl, path, "cluster_ip");
	if (rc == 1 && strcmp(text, "None") == 0) {
		/* headless: DNS-only, nothing for the data path to answer */
		st->headless = true;
		if (st->type_ok && svc->type != EF_SVC_TYPE_CLUSTER_IP)
			cfg_err_at(c, s, "%s: \"None\" (headless) needs type "
				   "ClusterIP, not %s", lbl,
				   ef_svc_type_name(svc->type));
	} else if (rc == 1) {
		addr_value(c, s, lbl, text, &svc->cluster_ip);
	}

	rc = get_addr_array(c, g, path, "load_balancer_ips",
			    &svc->load_balancer_ips, &svc->n_load_balancer_ips,
			    &slb);
	if (rc != 0 && st->type_ok && svc->type != EF_SVC_TYPE_LOAD_BALANCER &&
	    config_setting_length(slb) > 0)
		cfg_err_at(c, slb, "%s: only a LoadBalancer service has "
			   "load balancer IPs, not %s",
			   label(lbl, path, "load_balancer_ips"),
			   ef_svc_type_name(svc->type));
	get_addr_array(c, g, path, "external_ips", &svc->external_ips,
		       &svc->n_external_ips, &s);

	rc = get_word(c, g, path, "external_traffic_policy", policy_words,
		      &word, NULL);
	etp_ok = rc >= 0;
	if (rc == 1)
		svc->external_traffic_policy = (enum ef_policy)word;
	if (get_word(c, g, path, "internal_traffic_policy", policy_words,
		     &word, NULL) == 1)
		svc->internal_traffic_policy = (enum ef_policy)word;
	if (get_word(c, g, path, "session_affinity", affinity_words, &word,
		     NULL) == 1)
		svc->session_affinity = (enum ef_affinity)word;
	get_u32(c, g, path, "session_affinity_timeout", 1, 86400,
		&svc->session_affinity_timeout, NULL);

	rc = get_int(c, g, path, "health_check_node_port", 1, 65535, &v, &s);
	label(lbl, path, "health_check_node_port");
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

	if (get_group(c, g, path, "health", &s) == 1) {
		path_fmt(sub, sizeof(sub), "%s.health", path);
		parse_health(c, s, sub, &c->cfg->health, &svc->health);
		svc->health_overridden = true;
	}

	rc = get_list(c, g, path, "ports", &l);
	n = rc == 1 ? config_setting_length(l) : 0;
	label(lbl, path, "ports");
	if (rc >= 0 && n == 0 && !st->headless) {
		/* a headless service may have none; others answer nothing */
		cfg_err_at(c, rc == 1 ? l : g, "%s: at least one port is "
			   "required", lbl);
	}
	if (n > 0) {
		svc->ports = calloc((size_t)n, sizeof(*svc->ports));
		if (svc->ports == NULL) {
			c->oom = true;
			return;
		}
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e;

		path_fmt(sub, sizeof(sub), "%s.ports[%d]", path, i);
		e = list_group(c, l, (unsigned int)i, sub);
		if (e == NULL)
			continue;
		if (n > 1 && config_setting_get_member(e, "name") == NULL)
			/* kube's rule: with several ports each is named */
			cfg_err_at(c, e, "%s.name: missing (a service with "
				   "several ports names each)", sub);
		parse_port(c, st, e, sub, (uint32_t)i);
	}

	if (get_list(c, g, path, "endpoints", &l) != 1)
		return;
	n = config_setting_length(l);
	if (n == 0)
		return;
	svc->endpoints = calloc((size_t)n, sizeof(*svc->endpoints));
	if (svc->endpoints == NULL) {
		c->oom = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e;

		path_fmt(sub, sizeof(sub), "%s.endpoints[%d]", path, i);
		e = list_group(c, l, (unsigned int)i, sub);
		if (e != NULL)
			parse_endpoint(c, svc, e, sub);
	}
}

static void
parse_services(struct cfg_ctx *c, const config_setting_t *root)
{
	struct ef_cfg *cfg = c->cfg;
	const config_setting_t *l;
	char path[LABEL_MAX];
	int n;

	if (get_list(c, root, "", "services", &l) != 1)
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
	memset(&c->name_tab, 0, sizeof(c->name_tab));
	c->name_tab_ok = hcreate_r((size_t)n * 2 + 16, &c->name_tab) != 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *g;
		struct svc_state st;

		path_fmt(path, sizeof(path), "services[%d]", i);
		g = list_group(c, l, (unsigned int)i, path);
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

void
cfg_parse_root(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {
		"node", "interfaces", "routes", "neighbors", "dataplane",
		"conntrack", "health", "services", NULL,
	};
	struct ef_cfg *cfg = c->cfg;
	const config_setting_t *l;
	int n;

	check_keys(c, root, "the top level", keys);
	/* interfaces first: the SNAT default, routes and node ports use them */
	parse_interfaces(c, root);
	parse_node(c, root);
	n = group_list(c, root, "routes", &l);
	if (n > 0) {
		cfg->routes = calloc((size_t)n, sizeof(*cfg->routes));
		if (cfg->routes == NULL) {
			c->oom = true;
			return;
		}
		each_group(c, l, "routes", parse_route);
	}
	n = group_list(c, root, "neighbors", &l);
	if (n > 0) {
		cfg->neighbors = calloc((size_t)n, sizeof(*cfg->neighbors));
		if (cfg->neighbors == NULL) {
			c->oom = true;
			return;
		}
		each_group(c, l, "neighbors", parse_neighbor);
	}
	parse_dataplane(c, root);
	parse_conntrack(c, root);
	parse_global_health(c, root);
	parse_services(c, root);
}
