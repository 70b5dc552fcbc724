/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "ef_cfg.h"
#include "cfg_priv.h"

void *
cfg_grow(void *arr, uint32_t *cap, uint32_t n, size_t sz)
{
	uint32_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap <= n)
		return NULL;
	p = realloc(arr, (size_t)ncap * sz);
	if (p == NULL)
		return NULL;
	*cap = ncap;
	return p;
}

static void
cfg_err_vadd(struct cfg_ctx *c, const char *file, int line, const char *fmt,
	     va_list ap)
{
	struct cfg_err *e;
	char body[512];
	char *msg;
	int len;

	vsnprintf(body, sizeof(body), fmt, ap);
	if (line > 0)
		len = asprintf(&msg, "%s:%d: %s", file, line, body);
	else
		len = asprintf(&msg, "%s: %s", file, body);
	if (len < 0) {
		c->oom = true;
		return;
	}
	e = cfg_grow(c->errs, &c->cap_errs, c->n_errs, sizeof(*c->errs));
	if (e == NULL) {
		free(msg);
		c->oom = true;
		return;
	}
	c->errs = e;
	c->errs[c->n_errs].line = line;
	c->errs[c->n_errs].seq = c->n_errs;
	c->errs[c->n_errs].msg = msg;
	c->n_errs++;
}

void
cfg_err_line(struct cfg_ctx *c, const char *file, int line, const char *fmt,
	     ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_err_vadd(c, file != NULL ? file : c->file, line, fmt, ap);
	va_end(ap);
}

void
cfg_err_at(struct cfg_ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = config_setting_source_file(s);
	va_list ap;

	va_start(ap, fmt);
	cfg_err_vadd(c, file != NULL ? file : c->file,
		     config_setting_source_line(s), fmt, ap);
	va_end(ap);
}

/*
 * Parse one integer literal as libconfig 1.5 would, but with overflow
 * detection: *v is the true value. Returns false when it exceeds int64.
 */
static bool
literal_value(const char *tok, size_t len, bool hex, bool neg, int64_t *v)
{
	uint64_t acc = 0;
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	unsigned int base = hex ? 16 : 10;

	for (size_t i = 0; i < len; i++) {
		unsigned int d;

		if (isdigit((unsigned char)tok[i]))
			d = (unsigned int)(tok[i] - '0');
		else
			d = (unsigned int)(tolower((unsigned char)tok[i]) -
					   'a' + 10);
		if (acc > (limit - d) / base)
			return false;
		acc = acc * base + d;
	}
	if (neg)
		*v = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
			-(int64_t)acc;
	else
		*v = (int64_t)acc;
	return true;
}

static void
add_overflow(struct cfg_ctx *c, int line, const char *start, size_t len,
	     bool any, int64_t truncated)
{
	struct cfg_overflow *o = cfg_grow(c->overflows, &c->cap_overflows,
					  c->n_overflows,
					  sizeof(*c->overflows));

	if (o == NULL) {
		c->oom = true;
		return;
	}
	c->overflows = o;
	o = &c->overflows[c->n_overflows++];
	o->line = line;
	o->any_value = any;
	o->truncated = truncated;
	if (len >= sizeof(o->text))
		len = sizeof(o->text) - 1;
	memcpy(o->text, start, len);
	o->text[len] = '\0';
}

/*
 * libconfig 1.5 reads an integer literal without the L suffix into 32 bits
 * and drops the high bits without a word, so "max_flows = 4294968320;"
 * would pass as 1024. We find such literals here (skipping comments and
 * strings the way libconfig's scanner does) so that the range checks see
 * the value the operator wrote.
 */
void
cfg_scan_overflows(struct cfg_ctx *c, const char *text)
{
	const char *p = text;
	int line = 1;

	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			p += 2;
			while (*p != '\0' && !(p[0] == '*' && p[1] == '/')) {
				if (*p == '\n')
					line++;
				p++;
			}
			if (*p != '\0')
				p += 2;
		} else if (*p == '"') {
			/* strings are most of a big file: skip to the next
			 * byte that matters with strcspn (vectorised) */
			p++;
			for (;;) {
				p += strcspn(p, "\"\\\n");
				if (*p == '\n') {
					line++;
					p++;
				} else if (*p == '\\' && p[1] != '\0') {
					if (p[1] == '\n')
						line++;
					p += 2;
				} else {
					break;
				}
			}
			if (*p != '\0')
				p++;
		} else if (isalpha((unsigned char)*p) || *p == '_' ||
			   *p == '@') {
			while (isalnum((unsigned char)*p) || *p == '_' ||
			       *p == '-' || *p == '*' || *p == '@')
				p++;
		} else if (isdigit((unsigned char)*p) ||
			   ((*p == '-' || *p == '+') &&
			    isdigit((unsigned char)p[1]))) {
			const char *start = p;
			const char *digits;
			bool neg = *p == '-';
			bool hex = false;
			bool is_float = false;
			bool is_long = false;
			size_t ndig;
			int64_t v;

			if (*p == '-' || *p == '+')
				p++;
			if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
				hex = true;
				p += 2;
			}
			digits = p;
			while (hex ? isxdigit((unsigned char)*p) :
			       isdigit((unsigned char)*p))
				p++;
			ndig = (size_t)(p - digits);
			if (!hex && (*p == '.' || *p == 'e' || *p == 'E'))
				is_float = true;
			if (*p == 'L') {
				is_long = true;
				p++;
				if (*p == 'L')
					p++;
			}
			/* finish whatever token this is, float or not */
			while (isalnum((unsigned char)*p) || *p == '.' ||
			       ((*p == '-' || *p == '+') &&
				(p[-1] == 'e' || p[-1] == 'E')))
				p++;
			if (is_float || ndig == 0)
				continue;
			if (!literal_value(digits, ndig, hex, neg, &v)) {
				add_overflow(c, line, start,
					     (size_t)(p - start), true, 0);
			} else if (!is_long && (v > INT32_MAX ||
						v < INT32_MIN)) {
				add_overflow(c, line, start,
					     (size_t)(p - start), false,
					     (int64_t)(int32_t)(uint32_t)
					     (uint64_t)v);
			}
		} else {
			p++;
		}
	}
}

static int
err_cmp(const void *a, const void *b)
{
	const struct cfg_err *x = a;
	const struct cfg_err *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand collected errors to the caller, in line order; frees them. */
static void
move_errors(struct cfg_ctx *c, struct ef_cfg_errors *out)
{
	uint32_t i;

	if (c->oom)
		cfg_err_line(c, c->file, 0, "out of memory");
	qsort(c->errs, c->n_errs, sizeof(*c->errs), err_cmp);
	for (i = 0; i < c->n_errs; i++) {
		char **m = out == NULL ? NULL :
			cfg_grow(out->msgs, &out->cap, out->n,
				 sizeof(*out->msgs));

		if (m != NULL) {
			out->msgs = m;
			out->msgs[out->n++] = c->errs[i].msg;
			continue;
		}
		free(c->errs[i].msg);
	}
	free(c->errs);
	c->errs = NULL;
	c->n_errs = 0;
}

static struct ef_cfg *
parse_text(const char *text, const char *name, const char *include_dir,
	   bool keep_tree, struct ef_cfg_errors *errs)
{
	struct cfg_ctx c;
	struct ef_cfg *cfg;
	config_t stack_lc = { 0 };
	/* the tree outlives this call when asked (and memory allows) */
	config_t *kept = keep_tree ? malloc(sizeof(*kept)) : NULL;
	config_t *lc = kept != NULL ? kept : &stack_lc;

	memset(&c, 0, sizeof(c));
	c.file = name != NULL ? name : "<string>";
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		free(kept);
		cfg_err_line(&c, c.file, 0, "out of memory");
		move_errors(&c, errs);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(cfg->file, sizeof(cfg->file), "%s", c.file);
	c.cfg = cfg;

	config_init(lc);
	if (include_dir != NULL)
		config_set_include_dir(lc, include_dir);
	if (config_read_string(lc, text) != CONFIG_TRUE) {
		/* libconfig stops at the first syntax error: it is alone */
		cfg_err_line(&c, config_error_file(lc), config_error_line(lc),
			     "syntax error: %s", config_error_text(lc));
	} else {
		cfg_scan_overflows(&c, text);
		cfg_parse_root(&c, config_root_setting(lc));
		cfg_check_claims(&c);
	}
	if (kept != NULL && c.n_errs == 0 && !c.oom) {
		cfg->parse_tree = kept;		/* ef_cfg_release_tree() */
	} else {
		config_destroy(lc);
		free(kept);
	}
	free(c.overflows);
	free(c.claims);
	free(c.svc_names);
	free(c.name_slots);
	free(c.node_slots);
	free(c.if_ports);

	if (c.n_errs > 0 || c.oom) {
		move_errors(&c, errs);
		ef_cfg_free(cfg);
		errno = EINVAL;
		return NULL;
	}
	free(c.errs);
	return cfg;
}

struct ef_cfg *
ef_cfg_parse_string(const char *text, const char *name,
		    struct ef_cfg_errors *errs)
{
	if (text == NULL) {
		errno = EINVAL;
		return NULL;
	}
	return parse_text(text, name, NULL, false, errs);
}

/* Read a whole file; NULL with errno on failure. */
static char *
slurp(const char *file)
{
	FILE *f = fopen(file, "r");
	char *buf = NULL;
	size_t len = 0;
	size_t cap = 0;
	size_t got;
	int err;

	if (f == NULL)
		return NULL;
	errno = 0;
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (nb == NULL) {
				err = ENOMEM;
				goto fail;
			}
			buf = nb;
			cap += 65536;
		}
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
	} while (got > 0);
	if (ferror(f)) {
		err = errno != 0 ? errno : EIO;
		goto fail;
	}
	fclose(f);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		/* libconfig would stop at the NUL and accept a prefix */
		free(buf);
		errno = EILSEQ;
		return NULL;
	}
	return buf;
fail:
	free(buf);
	fclose(f);
	errno = err;
	return NULL;
}

static struct ef_cfg *
load(const char *file, bool keep_tree, struct ef_cfg_errors *errs)
{
	struct ef_cfg *cfg;
	char *text;
	char *dir;
	char *slash;

	if (file == NULL) {
		errno = EINVAL;
		return NULL;
	}
	text = slurp(file);
	if (text == NULL) {
		struct cfg_ctx c;
		int err = errno;

		memset(&c, 0, sizeof(c));
		c.file = file;
		cfg_err_line(&c, file, 0, "cannot open: %s", strerror(err));
		move_errors(&c, errs);
		errno = err;
		return NULL;
	}
	/* @include paths are relative to the including file's folder */
	dir = strdup(file);
	if (dir != NULL) {
		slash = strrchr(dir, '/');
		if (slash != NULL)
			*slash = '\0';
		else
			strcpy(dir, ".");
	}
	cfg = parse_text(text, file, dir, keep_tree, errs);
	free(dir);
	free(text);
	return cfg;
}

struct ef_cfg *
ef_cfg_load(const char *file, struct ef_cfg_errors *errs)
{
	return load(file, false, errs);
}

struct ef_cfg *
ef_cfg_load_keep_tree(const char *file, struct ef_cfg_errors *errs)
{
	return load(file, true, errs);
}

void
ef_cfg_release_tree(struct ef_cfg *cfg)
{
	if (cfg == NULL || cfg->parse_tree == NULL)
		return;
	config_destroy(cfg->parse_tree);
	free(cfg->parse_tree);
	cfg->parse_tree = NULL;
}

static void
free_service(struct ef_cfg_service *s)
{
	free(s->load_balancer_ips);
	free(s->external_ips);
	free(s->ports);
	free(s->endpoints);
	free(s->load_balancer_ips6);
	free(s->external_ips6);
	free(s->endpoints6);
}

void
ef_cfg_free(struct ef_cfg *cfg)
{
	uint32_t i;

	if (cfg == NULL)
		return;
	ef_cfg_release_tree(cfg);
	for (i = 0; i < cfg->n_services; i++)
		free_service(&cfg->services[i]);
	free(cfg->services);
	free(cfg->snat_addresses);
	free(cfg->interfaces);
	free(cfg->routes);
	free(cfg->neighbors);
	free(cfg->metrics_listen);
	free(cfg->nodes);
	free(cfg->decap.sources);
	for (i = 0; i < cfg->n_node_refs; i++)
		free(cfg->node_refs[i]);
	free(cfg->node_refs);
	free(cfg);
}

void
ef_cfg_errors_clear(struct ef_cfg_errors *errs)
{
	uint32_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
	errs->cap = 0;
}

void
ef_cfg_errors_print(const struct ef_cfg_errors *errs, FILE *out)
{
	uint32_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		fprintf(out, "%s\n", errs->msgs[i]);
}

void
ef_cfg_summarize(const struct ef_cfg *cfg, struct ef_cfg_summary *out)
{
	uint32_t i;
	uint32_t j;

	memset(out, 0, sizeof(*out));
	if (cfg == NULL)
		return;
	out->services = cfg->n_services;
	for (i = 0; i < cfg->n_services; i++) {
		const struct ef_cfg_service *s = &cfg->services[i];
		uint32_t per_port = s->n_external_ips + s->n_external_ips6;

		if (s->cluster_ip.family != 0)
			per_port++;
		if (s->cluster_ip6.family != 0)
			per_port++;
		if (s->type == EF_SVC_TYPE_LOAD_BALANCER)
			per_port += s->n_load_balancer_ips +
				s->n_load_balancer_ips6;
		for (j = 0; j < s->n_ports; j++) {
			out->frontends += per_port;
			/* a node port is answered on every interface address */
			if (s->ports[j].node_port != 0)
				out->frontends += cfg->n_interfaces;
		}
		out->endpoints += s->n_endpoints + s->n_endpoints6;
	}
}

const char *
ef_svc_type_name(enum ef_svc_type t)
{
	switch (t) {
	case EF_SVC_TYPE_CLUSTER_IP:
		return "ClusterIP";
	case EF_SVC_TYPE_NODE_PORT:
		return "NodePort";
	case EF_SVC_TYPE_LOAD_BALANCER:
		return "LoadBalancer";
	}
	return "?";
}

const char *
ef_policy_name(enum ef_policy p)
{
	switch (p) {
	case EF_POLICY_CLUSTER:
		return "Cluster";
	case EF_POLICY_LOCAL:
		return "Local";
	}
	return "?";
}

const char *
ef_proxy_protocol_name(unsigned int p)
{
	switch (p) {
	case EF_PROXY_NONE:
		return "none";
	case EF_PROXY_V1:
		return "v1";
	case EF_PROXY_V2:
		return "v2";
	default:
		return "?";
	}
}

const char *
ef_affinity_name(enum ef_affinity a)
{
	switch (a) {
	case EF_AFFINITY_NONE:
		return "None";
	case EF_AFFINITY_CLIENT_IP:
		return "ClientIP";
	}
	return "?";
}

const char *
ef_health_type_name(enum ef_health_type t)
{
	switch (t) {
	case EF_HEALTH_TCP:
		return "tcp";
	case EF_HEALTH_HTTP:
		return "http";
	case EF_HEALTH_NONE:
		return "none";
	}
	return "?";
}
