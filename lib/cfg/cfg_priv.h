/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_CFG_PRIV_H
#define EF_CFG_PRIV_H

/*
 * Internals of lib/cfg. The only header of the project that includes
 * <libconfig.h>: everything libconfig-shaped stays behind ef_cfg.h.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "ef_addr.h"
#include "ef_cfg.h"

/* One collected error; sorted by line before it reaches the caller. */
struct cfg_err {
	int line;
	uint32_t seq;
	char *msg;
};

/*
 * An integer literal that libconfig 1.5 silently truncated to 32 bits
 * (it reads 4294968320 as 1024). Found by a lexical pass over the text,
 * matched to settings by line and truncated value.
 */
struct cfg_overflow {
	int line;
	int64_t truncated;
	bool any_value;		/* beyond int64: match on the line alone */
	char text[32];
};

enum cfg_claim_kind {
	CFG_CLAIM_CLUSTER_IP,
	CFG_CLAIM_LOAD_BALANCER_IP,
	CFG_CLAIM_EXTERNAL_IP,
	CFG_CLAIM_NODE_PORT,
	CFG_CLAIM_HEALTH_CHECK_NODE_PORT,
};

/*
 * A (protocol, address, port) a service asks the data path to answer.
 * Node ports are claimed on every interface address at once: their
 * address has family 0, so one clash is reported once, not per interface.
 */
struct cfg_claim {
	uint8_t proto;
	uint16_t port;
	struct ef_addr addr;
	enum cfg_claim_kind kind;
	uint32_t svc_idx;	/* index in the file's services list */
	uint32_t port_idx;	/* index in that service's ports list */
	int line;
};

struct cfg_svc_name {
	const char *name;	/* NULL when missing or invalid */
	int line;
};

struct cfg_ctx {
	const char *file;	/* name for messages */
	struct ef_cfg *cfg;
	struct cfg_err *errs;
	uint32_t n_errs;
	uint32_t cap_errs;
	bool oom;
	struct cfg_overflow *overflows;
	uint32_t n_overflows;
	uint32_t cap_overflows;
	struct cfg_claim *claims;
	uint32_t n_claims;
	uint32_t cap_claims;
	/* interface device names seen so far, valid interface or not */
	struct cfg_svc_name *if_ports;
	uint32_t n_if_ports;
	/* service names by index in the file, for duplicates and claims */
	struct cfg_svc_name *svc_names;
	uint32_t n_svc_names;
	/* the same names hashed (open addressing, FNV-1a; slot = index in
	 * svc_names or -1): duplicate detection in O(1) per service, not a
	 * scan (100 000 services took minutes). glibc's hsearch_r hashes
	 * little more than a name's first 8 characters, so "ns0/svc-..."
	 * names all collided. NULL when out of memory. */
	int32_t *name_slots;
	uint32_t name_mask;
	/* cfg->node_refs hashed the same way (slot = index or -1), grown
	 * at half full: cfg_get_node_ref() */
	int32_t *node_slots;
	uint32_t node_mask;
	uint32_t cap_node_refs;
};

/*
 * A node name at key, as cfg_get_node_name(), but *dst points to the cfg's
 * one copy of that name (cfg->node_refs, shared by every endpoint on the
 * node); *dst is left as it was unless 1 is returned. 1 / 0 absent / -1.
 */
int cfg_get_node_ref(struct cfg_ctx *c, const config_setting_t *g,
		     const char *path, const char *key, const char **dst,
		     const config_setting_t **where);

/* Record "FILE:LINE: message"; line 0 leaves the line out. */
void cfg_err_line(struct cfg_ctx *c, const char *file, int line,
		  const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record an error located at setting s (its own file and line). */
void cfg_err_at(struct cfg_ctx *c, const config_setting_t *s,
		const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Make arr (*cap elements of sz bytes) hold at least n + 1. Returns the
 * array, maybe moved, or NULL on ENOMEM (arr is then left as it was).
 */
void *cfg_grow(void *arr, uint32_t *cap, uint32_t n, size_t sz);

/* Scan text for integer literals libconfig would truncate. */
void cfg_scan_overflows(struct cfg_ctx *c, const char *text);

/* Build the model from a parsed tree, recording every error. */
void cfg_parse_root(struct cfg_ctx *c, const config_setting_t *root);

/*
 * The field reader (cfg_field.c). A getter looks up member key of group g
 * (whose path, "" at the top level, names it in messages as "path.key")
 * and returns 0 when it is absent, 1 when it is valid (*out set), -1 when
 * a mistake was recorded. *where, when given, gets the member itself.
 */

/* Longest setting path in a message; a longer one is cut. */
#define CFG_LABEL_MAX 192

/* A policy word as Kubernetes spells it, and its enum value. */
struct cfg_word {
	const char *text;
	int value;
};

/* A uint32_t setting of a group: its key, place, default and range. */
struct cfg_u32_field {
	const char *key;
	size_t off;		/* offset in the struct it is read into */
	uint32_t def;
	int64_t min;
	int64_t max;
};

/* Most fields of one cfg_get_u32s() group. */
#define CFG_FIELDS_MAX 16

/* Setting paths for messages: snprintf into buf. */
void cfg_path_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "path.key", or "key" at the top level, into buf (CFG_LABEL_MAX). */
const char *cfg_label(char *buf, const char *path, const char *key);

/* "path.key[i]", or "key[i]" at the top level, into buf[size] (cut when
 * too long, as cfg_path_fmt), without printf: one per list element. */
void cfg_path_index(char *buf, size_t size, const char *path,
		    const char *key, int i);

/*
 * Every member of g must be one of keys (NULL-terminated): a misspelt
 * optional key would otherwise leave its default in force without a word.
 */
void cfg_check_keys(struct cfg_ctx *c, const config_setting_t *g,
		    const char *where, const char *const *keys);

/* Check an integer setting s against [min, max]. 1 if valid, else -1. */
int cfg_int_value(struct cfg_ctx *c, const config_setting_t *s,
		  const char *lbl, int64_t min, int64_t max, int64_t *out);

/* Optional integer member in [min, max]. */
int cfg_get_int(struct cfg_ctx *c, const config_setting_t *g,
		const char *path, const char *key, int64_t min, int64_t max,
		int64_t *out, const config_setting_t **where);

/* The same into a uint32_t, leaving the default when absent. */
int cfg_get_u32(struct cfg_ctx *c, const config_setting_t *g,
		const char *path, const char *key, int64_t min, int64_t max,
		uint32_t *out, const config_setting_t **where);

/*
 * A group of plain numbers, fields[0, n) of the struct at base: the
 * defaults first; then, when root has the group key, its members checked
 * against the fields' keys and each read.
 */
void cfg_get_u32s(struct cfg_ctx *c, const config_setting_t *root,
		  const char *key, const struct cfg_u32_field *fields,
		  size_t n, void *base);

int cfg_get_str(struct cfg_ctx *c, const config_setting_t *g,
		const char *path, const char *key, const char **out,
		const config_setting_t **where);

int cfg_get_bool(struct cfg_ctx *c, const config_setting_t *g,
		 const char *path, const char *key, bool *out,
		 const config_setting_t **where);

/* *out gets the member whatever its type (NULL when absent). */
int cfg_get_group(struct cfg_ctx *c, const config_setting_t *g,
		  const char *path, const char *key,
		  const config_setting_t **out);

/* A list ( ... ); an empty array [ ] is accepted as an empty list. */
int cfg_get_list(struct cfg_ctx *c, const config_setting_t *g,
		 const char *path, const char *key,
		 const config_setting_t **out);

/* Element i of list l, which must be a group; NULL when it is not. */
const config_setting_t *cfg_list_group(struct cfg_ctx *c,
				       const config_setting_t *l,
				       unsigned int i, const char *path);

/* Copy a string into a fixed field; an over-long one is an error. */
bool cfg_copy_text(struct cfg_ctx *c, const config_setting_t *s,
		   const char *lbl, const char *text, char *dst, size_t size);

/* One of words (NULL-terminated), exactly; a case-only difference gets a
 * hint. */
int cfg_get_word(struct cfg_ctx *c, const config_setting_t *g,
		 const char *path, const char *key,
		 const struct cfg_word *words, int *out,
		 const config_setting_t **where);

/* Parse an IPv4 address text; an IPv6 one is refused, never ignored. */
bool cfg_addr_value(struct cfg_ctx *c, const config_setting_t *s,
		    const char *lbl, const char *text, struct ef_addr *out);

int cfg_get_addr(struct cfg_ctx *c, const config_setting_t *g,
		 const char *path, const char *key, struct ef_addr *out,
		 const config_setting_t **where);
/* Same, IPv6 accepted too (settings whose users handle both families). */
int cfg_get_addr46(struct cfg_ctx *c, const config_setting_t *g,
		   const char *path, const char *key, struct ef_addr *out,
		   const config_setting_t **where);

/*
 * An array (or list) of address strings, each valid and unique; *arr is
 * allocated even when empty so that a present empty array differs from
 * none only by *n.
 */
int cfg_get_addr_array(struct cfg_ctx *c, const config_setting_t *g,
		       const char *path, const char *key, struct ef_addr **arr,
		       uint32_t *n, const config_setting_t **where);
/*
 * Same, with the IPv6 elements into *arr6 / *n6 (allocated like *arr)
 * instead of refused: IPv4 users of *arr see exactly what they did.
 */
int cfg_get_addr_array2(struct cfg_ctx *c, const config_setting_t *g,
			const char *path, const char *key,
			struct ef_addr **arr, uint32_t *n,
			struct ef_addr **arr6, uint32_t *n6,
			const config_setting_t **where);

/* RFC 1123 label: 1..63 of [a-z0-9-], starting and ending alphanumeric. */
bool cfg_is_dns_label(const char *s, size_t len);

/* A Kubernetes node name (RFC 1123 subdomain) into dst (EF_CFG_NODE_MAX). */
int cfg_get_node_name(struct cfg_ctx *c, const config_setting_t *g,
		      const char *path, const char *key, char *dst,
		      const config_setting_t **where);

/*
 * A top-level list of groups (routes, neighbors), in two steps so that the
 * caller keeps its array typed: cfg_list_alloc() returns room for every
 * element (sz bytes each), NULL when the list is absent, empty or wrong
 * (*l NULL) or out of memory (c->oom set); then cfg_list_parse() runs
 * parse(c, group, "key[i]") for each group of l into that array. It
 * returns 0, or -ENOMEM when the array could not be had.
 */
void *cfg_list_alloc(struct cfg_ctx *c, const config_setting_t *root,
		     const char *key, size_t sz, const config_setting_t **l);
int cfg_list_parse(struct cfg_ctx *c, const void *arr,
		   const config_setting_t *l, const char *key,
		   void (*parse)(struct cfg_ctx *, const config_setting_t *,
				 const char *));

/*
 * The section parsers (cfg_parse_*.c), called by cfg_parse_root() in
 * dependency order: interfaces first (the SNAT default, routes and node
 * ports use them).
 */

void cfg_parse_interfaces(struct cfg_ctx *c, const config_setting_t *root);
void cfg_parse_node(struct cfg_ctx *c, const config_setting_t *root);

/* routes and neighbors; -ENOMEM stops the parse (c->oom set). */
int cfg_parse_routes(struct cfg_ctx *c, const config_setting_t *root);
int cfg_parse_neighbors(struct cfg_ctx *c, const config_setting_t *root);

/*
 * Health settings: the global group, or a service's override applied on
 * top of the (already resolved) global values.
 */
void cfg_parse_health(struct cfg_ctx *c, const config_setting_t *g,
		      const char *path, const struct ef_cfg_health *base,
		      struct ef_cfg_health *out);

void cfg_parse_services(struct cfg_ctx *c, const config_setting_t *root);

/* metrics = { listen = [ "ADDR:PORT", ... ]; } (cfg_parse_metrics.c),
 * after the services (a listener must not take a healthCheckNodePort). */
void cfg_parse_metrics(struct cfg_ctx *c, const config_setting_t *root);

/* nodes, edge and decap (cfg_parse_edge.c): before the services. */
void cfg_parse_edge_sections(struct cfg_ctx *c, const config_setting_t *root);

/*
 * A service's mode and cluster_forwarding, and the checks that tie them
 * to nodes / edge: after its ports, addresses and endpoints are parsed.
 */
void cfg_parse_service_edge(struct cfg_ctx *c, struct ef_cfg_service *svc,
			    const config_setting_t *g, const char *path);

/* The first interface whose connected subnet holds a, or NULL. */
const struct ef_cfg_interface *cfg_connected(const struct ef_cfg *cfg,
					     const struct ef_addr *a);

/* true when a is the address of one of the interfaces. */
bool cfg_is_interface_address(const struct ef_cfg *cfg,
			      const struct ef_addr *a);

/* Report every frontend claimed twice. */
void cfg_check_claims(struct cfg_ctx *c);

#endif /* EF_CFG_PRIV_H */
