/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The field reader every section parser uses: a member of a group looked
 * up, checked against the kind it must be (one table says the kinds and
 * their words), converted, range-checked, and any mistake recorded with
 * the file:line of the setting and its path.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "cfg_priv.h"

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
void
cfg_path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* s appended at buf[off] (cut at size - 1); the new length. */
static size_t
path_put(char *buf, size_t off, size_t size, const char *s)
{
	while (*s != '\0' && off + 1 < size)
		buf[off++] = *s++;
	return off;
}

/*
 * "path.key", or "key" at the top level, into buf[size]; the length.
 * Without printf: every setting read makes one (100 000 endpoints make
 * half a million), and vsnprintf was a tenth of a reload.
 */
static size_t
path_join(char *buf, size_t size, const char *path, const char *key)
{
	size_t off = 0;

	if (path[0] != '\0') {
		off = path_put(buf, off, size, path);
		off = path_put(buf, off, size, ".");
	}
	off = path_put(buf, off, size, key);
	buf[off] = '\0';
	return off;
}

/* "path.key", or "key" at the top level. */
const char *
cfg_label(char *buf, const char *path, const char *key)
{
	path_join(buf, CFG_LABEL_MAX, path, key);
	return buf;
}

void
cfg_path_index(char *buf, size_t size, const char *path, const char *key,
	       int i)
{
	char num[16];
	size_t off = path_join(buf, size, path, key);
	unsigned int v = (unsigned int)i, n = 0;

	if (i < 0) {	/* not from a list index; keep printf's answer */
		cfg_path_fmt(buf, size, "%s%s%s[%d]", path,
			     path[0] != '\0' ? "." : "", key, i);
		return;
	}
	do {
		num[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && n < sizeof(num));
	off = path_put(buf, off, size, "[");
	while (n > 0 && off + 1 < size)
		buf[off++] = num[--n];
	off = path_put(buf, off, size, "]");
	buf[off] = '\0';
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
void
cfg_check_keys(struct cfg_ctx *c, const config_setting_t *g, const char *where,
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
		for (const char *const *k = keys; *k != NULL && !known; k++)
			known = strcmp(name, *k) == 0;
		if (known)
			continue;
		/* the hint's edit distances only for a key that is unknown:
		 * a 10 000-service file has 100 000 known keys */
		for (const char *const *k = keys; *k != NULL; k++) {
			unsigned int d = edit_distance(name, *k);

			if (d < best_d) {
				best_d = d;
				best = *k;
			}
		}
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

static bool
is_int(const config_setting_t *s)
{
	int t = config_setting_type(s);

	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static bool
is_string(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_STRING;
}

static bool
is_bool(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_BOOL;
}

static bool
is_group(const config_setting_t *s)
{
	return config_setting_is_group(s) != 0;
}

/* A list ( ... ); an empty array [ ] is accepted as an empty list. */
static bool
is_list(const config_setting_t *s)
{
	return config_setting_is_list(s) ||
		(config_setting_is_array(s) && config_setting_length(s) == 0);
}

static bool
is_array_or_list(const config_setting_t *s)
{
	return config_setting_is_array(s) || config_setting_is_list(s);
}

/* What a setting must be, and the words of the message when it is not. */
enum cfg_kind {
	CFG_KIND_INT,
	CFG_KIND_STRING,
	CFG_KIND_BOOL,
	CFG_KIND_GROUP,
	CFG_KIND_LIST,
	CFG_KIND_ADDR_ARRAY,
};

static void
read_string(const config_setting_t *s, void *out)
{
	*(const char **)out = config_setting_get_string(s);
}

static void
read_bool(const config_setting_t *s, void *out)
{
	*(bool *)out = config_setting_get_bool(s) != 0;
}

static const struct {
	bool (*is)(const config_setting_t *s);
	const char *must;	/* "<label>: must be <must>, not <its type>" */
	void (*read)(const config_setting_t *s, void *out);	/* scalars */
} kinds[] = {
	[CFG_KIND_INT] = { is_int, "an integer", NULL },
	[CFG_KIND_STRING] = { is_string, "a string", read_string },
	[CFG_KIND_BOOL] = { is_bool, "true or false", read_bool },
	[CFG_KIND_GROUP] = { is_group, "a group { ... }", NULL },
	[CFG_KIND_LIST] = { is_list, "a list ( ... )", NULL },
	[CFG_KIND_ADDR_ARRAY] = {
		is_array_or_list, "an array [ \"a.b.c.d\", ... ]", NULL,
	},
};

/* true when s is of kind k; otherwise reported at s under lbl. */
static bool
kind_ok(struct cfg_ctx *c, const config_setting_t *s, const char *lbl,
	enum cfg_kind k)
{
	if (kinds[k].is(s))
		return true;
	cfg_err_at(c, s, "%s: must be %s, not %s", lbl, kinds[k].must,
		   type_word(s));
	return false;
}

/*
 * Member key of g, which must be of kind k: 0 absent, 1 present and of
 * that kind, -1 reported. *where gets the member, whatever its kind (NULL
 * when absent).
 */
static int
member(struct cfg_ctx *c, const config_setting_t *g, const char *path,
       const char *key, enum cfg_kind k, const config_setting_t **where)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char lbl[CFG_LABEL_MAX];

	*where = s;
	if (s == NULL)
		return 0;
	/* the label only for a message: a million endpoints' fields built
	 * it for nothing (6 % of a 100 000-service parse) */
	if (kinds[k].is(s))
		return 1;
	return kind_ok(c, s, cfg_label(lbl, path, key), k) ? 1 : -1;
}

int
cfg_int_value(struct cfg_ctx *c, const config_setting_t *s, const char *lbl,
	      int64_t min, int64_t max, int64_t *out)
{
	const struct cfg_overflow *o;
	int64_t v;

	if (!kind_ok(c, s, lbl, CFG_KIND_INT))
		return -1;
	v = config_setting_get_int64(s);
	o = config_setting_type(s) == CONFIG_TYPE_INT ?
		find_overflow(c, s, v) : NULL;
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

int
cfg_get_int(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	    const char *key, int64_t min, int64_t max, int64_t *out,
	    const config_setting_t **where)
{
	const config_setting_t *s;
	char lbl[CFG_LABEL_MAX];
	int rc = member(c, g, path, key, CFG_KIND_INT, &s);

	if (where != NULL)
		*where = s;
	if (rc != 1)
		return rc;
	return cfg_int_value(c, s, cfg_label(lbl, path, key), min, max, out);
}

int
cfg_get_u32(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	    const char *key, int64_t min, int64_t max, uint32_t *out,
	    const config_setting_t **where)
{
	int64_t v;
	int rc = cfg_get_int(c, g, path, key, min, max, &v, where);

	if (rc == 1)
		*out = (uint32_t)v;
	return rc;
}

void
cfg_get_u32s(struct cfg_ctx *c, const config_setting_t *root,
	     const char *key, const struct cfg_u32_field *fields, size_t n,
	     void *base)
{
	const char *keys[CFG_FIELDS_MAX + 1];
	const config_setting_t *g;
	size_t i;

	for (i = 0; i < n; i++)
		*(uint32_t *)((char *)base + fields[i].off) = fields[i].def;
	if (cfg_get_group(c, root, "", key, &g) != 1)
		return;
	for (i = 0; i < n && i < CFG_FIELDS_MAX; i++)
		keys[i] = fields[i].key;
	keys[i] = NULL;
	cfg_check_keys(c, g, key, keys);
	for (i = 0; i < n; i++)
		cfg_get_u32(c, g, key, fields[i].key, fields[i].min,
			    fields[i].max,
			    (uint32_t *)((char *)base + fields[i].off), NULL);
}

/* A member of scalar kind k read into out (as kinds[k].read). */
static int
scalar(struct cfg_ctx *c, const config_setting_t *g, const char *path,
       const char *key, enum cfg_kind k, void *out,
       const config_setting_t **where)
{
	const config_setting_t *s;
	int rc = member(c, g, path, key, k, &s);

	if (where != NULL)
		*where = s;
	if (rc == 1)
		kinds[k].read(s, out);
	return rc;
}

int
cfg_get_str(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	    const char *key, const char **out, const config_setting_t **where)
{
	return scalar(c, g, path, key, CFG_KIND_STRING, out, where);
}

int
cfg_get_bool(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	     const char *key, bool *out, const config_setting_t **where)
{
	return scalar(c, g, path, key, CFG_KIND_BOOL, out, where);
}

int
cfg_get_group(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	      const char *key, const config_setting_t **out)
{
	return member(c, g, path, key, CFG_KIND_GROUP, out);
}

int
cfg_get_list(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	     const char *key, const config_setting_t **out)
{
	return member(c, g, path, key, CFG_KIND_LIST, out);
}

const config_setting_t *
cfg_list_group(struct cfg_ctx *c, const config_setting_t *l, unsigned int i,
	       const char *path)
{
	const config_setting_t *e = config_setting_get_elem(l, i);

	return kind_ok(c, e, path, CFG_KIND_GROUP) ? e : NULL;
}

/* Copy a string into a fixed field; an over-long one is an error. */
bool
cfg_copy_text(struct cfg_ctx *c, const config_setting_t *s, const char *lbl,
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
int
cfg_get_word(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	     const char *key, const struct cfg_word *words, int *out,
	     const config_setting_t **where)
{
	const config_setting_t *s;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	char expect[128];
	size_t len = 0;
	int rc = cfg_get_str(c, g, path, key, &text, &s);

	if (where != NULL)
		*where = s;
	if (rc != 1)
		return rc;
	for (const struct cfg_word *w = words; w->text != NULL; w++) {
		if (strcmp(text, w->text) == 0) {
			*out = w->value;
			return 1;
		}
	}
	cfg_label(lbl, path, key);
	for (const struct cfg_word *w = words; w->text != NULL; w++) {
		if (strcasecmp(text, w->text) == 0) {
			cfg_err_at(c, s, "%s: \"%s\" is not valid: words are "
				   "case-sensitive, did you mean \"%s\"?",
				   lbl, text, w->text);
			return -1;
		}
	}
	expect[0] = '\0';
	for (const struct cfg_word *w = words; w->text != NULL; w++) {
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
bool
cfg_addr_value(struct cfg_ctx *c, const config_setting_t *s, const char *lbl,
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

int
cfg_get_addr(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	     const char *key, struct ef_addr *out, const config_setting_t **where)
{
	const config_setting_t *s;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	int rc = cfg_get_str(c, g, path, key, &text, &s);

	if (where != NULL)
		*where = s;
	if (rc != 1)
		return rc;
	return cfg_addr_value(c, s, cfg_label(lbl, path, key), text, out) ? 1 : -1;
}

int
cfg_get_addr46(struct cfg_ctx *c, const config_setting_t *g, const char *path,
	       const char *key, struct ef_addr *out,
	       const config_setting_t **where)
{
	const config_setting_t *s;
	const char *text;
	char lbl[CFG_LABEL_MAX];
	int rc = cfg_get_str(c, g, path, key, &text, &s);

	if (where != NULL)
		*where = s;
	if (rc != 1)
		return rc;
	if (strchr(text, ':') == NULL)
		return cfg_addr_value(c, s, cfg_label(lbl, path, key), text,
				      out) ? 1 : -1;
	if (ef_addr_parse(text, out) != 0) {
		cfg_err_at(c, s, "%s: \"%s\" is not an IP address",
			   cfg_label(lbl, path, key), text);
		return -1;
	}
	return 1;
}

/*
 * An array (or list) of address strings, each valid and unique. Returns
 * 0 absent, 1 valid, -1 reported; *arr is allocated even when empty so
 * that a present empty array differs from none only by *n.
 */
int
cfg_get_addr_array(struct cfg_ctx *c, const config_setting_t *g,
		   const char *path, const char *key, struct ef_addr **arr,
		   uint32_t *n, const config_setting_t **where)
{
	return cfg_get_addr_array2(c, g, path, key, arr, n, NULL, NULL,
				   where);
}

int
cfg_get_addr_array2(struct cfg_ctx *c, const config_setting_t *g,
		    const char *path, const char *key, struct ef_addr **arr,
		    uint32_t *n, struct ef_addr **arr6, uint32_t *n6,
		    const config_setting_t **where)
{
	const config_setting_t *s;
	char lbl[CFG_LABEL_MAX];
	char elbl[CFG_LABEL_MAX];
	int len;
	int rc = member(c, g, path, key, CFG_KIND_ADDR_ARRAY, where);

	if (rc != 1)
		return rc;
	s = *where;
	cfg_label(lbl, path, key);
	len = config_setting_length(s);
	*arr = calloc((size_t)len + 1, sizeof(**arr));
	if (*arr == NULL) {
		c->oom = true;
		return -1;
	}
	if (arr6 != NULL) {
		*arr6 = calloc((size_t)len + 1, sizeof(**arr6));
		if (*arr6 == NULL) {
			c->oom = true;
			return -1;
		}
	}
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
							(unsigned int)i);
		struct ef_addr a;

		cfg_path_index(elbl, sizeof(elbl), "", lbl, i);
		if (!kind_ok(c, e, elbl, CFG_KIND_STRING)) {
			rc = -1;
			continue;
		}
		if (arr6 != NULL &&
		    ef_addr_parse(config_setting_get_string(e), &a) == 0 &&
		    a.family == EF_AF_INET6) {
			/* the IPv6 ones apart: IPv4 users see no change */
			for (uint32_t j = 0; j < *n6; j++) {
				if (ef_addr_eq(&(*arr6)[j], &a)) {
					cfg_err_at(c, e, "%s: \"%s\" is listed "
						   "twice", elbl,
						   config_setting_get_string(e));
					rc = -1;
					goto next;
				}
			}
			(*arr6)[(*n6)++] = a;
			continue;
		}
		if (!cfg_addr_value(c, e, elbl, config_setting_get_string(e),
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
bool
cfg_is_dns_label(const char *s, size_t len)
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

		if (!cfg_is_dns_label(p, l))
			return false;
		if (dot == NULL)
			return true;
		p = dot + 1;
	}
}

int
cfg_get_node_name(struct cfg_ctx *c, const config_setting_t *g,
		  const char *path, const char *key, char *dst,
		  const config_setting_t **where)
{
	const char *text;
	char lbl[CFG_LABEL_MAX];
	int rc = cfg_get_str(c, g, path, key, &text, where);

	if (rc != 1)
		return rc;
	cfg_label(lbl, path, key);
	if (text[0] == '\0') {
		cfg_err_at(c, *where, "%s: must not be empty", lbl);
		return -1;
	}
	if (!is_dns_subdomain(text)) {
		cfg_err_at(c, *where, "%s: \"%s\" is not a valid Kubernetes "
			   "node name (lower-case DNS subdomain)", lbl, text);
		return -1;
	}
	return cfg_copy_text(c, *where, lbl, text, dst, EF_CFG_NODE_MAX) ? 1 : -1;
}

static uint32_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ULL;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* Slots for at least twice cap names; false when out of memory. */
static bool
node_slots_grow(struct cfg_ctx *c, uint32_t cap)
{
	uint32_t n = 16;
	int32_t *sl;

	while (n < cap * 2u)
		n <<= 1;
	sl = malloc(sizeof(*sl) * n);
	if (sl == NULL)
		return false;
	memset(sl, 0xff, sizeof(*sl) * n);
	for (uint32_t i = 0; i < c->cfg->n_node_refs; i++) {
		uint32_t k = fnv1a(c->cfg->node_refs[i]) & (n - 1);

		while (sl[k] >= 0)
			k = (k + 1) & (n - 1);
		sl[k] = (int32_t)i;
	}
	free(c->node_slots);
	c->node_slots = sl;
	c->node_mask = n - 1;
	return true;
}

/* The slot of name in the intern table: its index, or the empty slot
 * where it goes (the table is never full: grown at half). */
static uint32_t
node_slot(const struct cfg_ctx *c, const char *name)
{
	uint32_t k;

	for (k = fnv1a(name) & c->node_mask; c->node_slots[k] >= 0;
	     k = (k + 1) & c->node_mask)
		if (strcmp(c->cfg->node_refs[c->node_slots[k]], name) == 0)
			break;
	return k;
}

/* The cfg's copy of name, made on first sight; NULL when out of memory. */
static const char *
node_intern(struct cfg_ctx *c, const char *name)
{
	struct ef_cfg *cfg = c->cfg;
	uint32_t k;
	char *copy;

	if (c->node_slots == NULL && !node_slots_grow(c, 16))
		return NULL;
	k = node_slot(c, name);
	if (c->node_slots[k] >= 0)
		return cfg->node_refs[c->node_slots[k]];
	if (cfg->n_node_refs == c->cap_node_refs) {
		uint32_t cap = c->cap_node_refs != 0 ? c->cap_node_refs * 2 : 16;
		char **r = realloc(cfg->node_refs, sizeof(*r) * cap);

		if (r == NULL)
			return NULL;
		cfg->node_refs = r;
		c->cap_node_refs = cap;
		if (!node_slots_grow(c, cap))
			return NULL;
		k = node_slot(c, name);
	}
	copy = strdup(name);
	if (copy == NULL)
		return NULL;
	c->node_slots[k] = (int32_t)cfg->n_node_refs;
	cfg->node_refs[cfg->n_node_refs++] = copy;
	return copy;
}

int
cfg_get_node_ref(struct cfg_ctx *c, const config_setting_t *g,
		 const char *path, const char *key, const char **dst,
		 const config_setting_t **where)
{
	char name[EF_CFG_NODE_MAX];
	const char *ref, *text;
	uint32_t k;
	int rc;

	/* a name seen before was checked then: 10 endpoints a node and
	 * more, so most lookups end here */
	if (c->node_slots != NULL) {
		rc = cfg_get_str(c, g, path, key, &text, where);
		if (rc != 1)
			return rc;
		k = node_slot(c, text);
		if (c->node_slots[k] >= 0) {
			*dst = c->cfg->node_refs[c->node_slots[k]];
			return 1;
		}
	}
	rc = cfg_get_node_name(c, g, path, key, name, where);
	if (rc != 1)
		return rc;
	ref = node_intern(c, name);
	if (ref == NULL) {
		c->oom = true;
		return -1;
	}
	*dst = ref;
	return 1;
}

void *
cfg_list_alloc(struct cfg_ctx *c, const config_setting_t *root,
	       const char *key, size_t sz, const config_setting_t **l)
{
	void *arr;
	int n;

	if (cfg_get_list(c, root, "", key, l) != 1 ||
	    (n = config_setting_length(*l)) == 0) {
		*l = NULL;
		return NULL;
	}
	arr = calloc((size_t)n, sz);
	if (arr == NULL)
		c->oom = true;
	return arr;
}

int
cfg_list_parse(struct cfg_ctx *c, const void *arr,
	       const config_setting_t *l, const char *key,
	       void (*parse)(struct cfg_ctx *, const config_setting_t *,
			     const char *))
{
	char path[CFG_LABEL_MAX];
	int n;

	if (l == NULL)
		return 0;
	if (arr == NULL)
		return -ENOMEM;
	n = config_setting_length(l);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g;

		cfg_path_index(path, sizeof(path), "", key, i);
		g = cfg_list_group(c, l, (unsigned int)i, path);
		if (g != NULL)
			parse(c, g, path);
	}
	return 0;
}
