/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Prometheus text exposition format 0.0.4, written by hand (no C
 * client library in Debian): HELP/TYPE lines, samples with escaped label
 * values, histograms as _bucket{le}, _sum, _count. Every call appends
 * whole lines or nothing, so the collector can stop at a full buffer and
 * resume there.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ef_metrics.h"

#define HIST_LABELS_MAX 8

int
ef_metrics_escape(char *dst, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		const char *rep = NULL;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '"')
			rep = "\\\"";
		else if (*s == '\n')
			rep = "\\n";
		if (n + (rep != NULL ? 2 : 1) >= cap)
			return -ENOSPC;
		if (rep != NULL) {
			dst[n++] = rep[0];
			dst[n++] = rep[1];
		} else {
			dst[n++] = *s;
		}
	}
	if (n >= cap)
		return -ENOSPC;
	dst[n] = '\0';
	return (int)n;
}

/* Append formatted text; false (and nothing kept) when it does not fit. */
static bool __attribute__((format(printf, 2, 3)))
put(struct ef_metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->len >= b->cap)
		return false;
	va_start(ap, fmt);
	k = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= b->cap - b->len)
		return false;
	b->len += (size_t)k;
	return true;
}

/* Append s escaped for a label value. */
static bool
put_escaped(struct ef_metrics_buf *b, const char *s)
{
	int k;

	if (b->len >= b->cap)
		return false;
	k = ef_metrics_escape(b->p + b->len, b->cap - b->len, s);
	if (k < 0)
		return false;
	b->len += (size_t)k;
	return true;
}

/* HELP text escapes only backslash and line feed. */
static bool
put_help(struct ef_metrics_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		bool ok = *s == '\\' ? put(b, "\\\\") :
			*s == '\n' ? put(b, "\\n") : put(b, "%c", *s);

		if (!ok)
			return false;
	}
	return true;
}

int
ef_metrics_family(struct ef_metrics_buf *b, const char *name,
		  const char *type, const char *help)
{
	size_t len0 = b->len;

	if (put(b, "# HELP %s ", name) && put_help(b, help) &&
	    put(b, "\n# TYPE %s %s\n", name, type))
		return 0;
	b->len = len0;
	return -ENOSPC;
}

/* name{l1="v1",...} (braces only with labels). */
static bool
put_series(struct ef_metrics_buf *b, const char *name, const char *suffix,
	   const struct ef_metrics_label *labels, uint32_t n)
{
	if (!put(b, "%s%s", name, suffix))
		return false;
	if (n == 0)
		return true;
	for (uint32_t i = 0; i < n; i++)
		if (!put(b, "%c%s=\"", i == 0 ? '{' : ',', labels[i].name) ||
		    !put_escaped(b, labels[i].value) || !put(b, "\""))
			return false;
	return put(b, "}");
}

/* A float as the format spells it (Go's ParseFloat reads it back). */
static bool
put_f64(struct ef_metrics_buf *b, double v)
{
	if (isnan(v))
		return put(b, "NaN");
	if (isinf(v))
		return put(b, v > 0 ? "+Inf" : "-Inf");
	return put(b, "%.17g", v);
}

int
ef_metrics_sample_u64(struct ef_metrics_buf *b, const char *name,
		      const struct ef_metrics_label *labels, uint32_t n,
		      uint64_t v)
{
	size_t len0 = b->len;

	if (put_series(b, name, "", labels, n) &&
	    put(b, " %llu\n", (unsigned long long)v))
		return 0;
	b->len = len0;
	return -ENOSPC;
}

int
ef_metrics_sample_f64(struct ef_metrics_buf *b, const char *name,
		      const struct ef_metrics_label *labels, uint32_t n,
		      double v)
{
	size_t len0 = b->len;

	if (put_series(b, name, "", labels, n) && put(b, " ") &&
	    put_f64(b, v) && put(b, "\n"))
		return 0;
	b->len = len0;
	return -ENOSPC;
}

int
ef_metrics_histogram(struct ef_metrics_buf *b, const char *name,
		     const struct ef_metrics_label *labels, uint32_t n,
		     const double *le, const uint64_t *counts,
		     uint32_t n_buckets, double sum)
{
	struct ef_metrics_label l[HIST_LABELS_MAX];
	size_t len0 = b->len;
	uint64_t cum = 0;
	char bound[32];

	if (n >= HIST_LABELS_MAX || n_buckets == 0)
		return -EINVAL;
	memcpy(l, labels, sizeof(*l) * n);
	l[n].name = "le";
	l[n].value = bound;
	for (uint32_t i = 0; i < n_buckets; i++) {
		cum += counts[i];
		if (i + 1 == n_buckets)
			snprintf(bound, sizeof(bound), "+Inf");
		else
			snprintf(bound, sizeof(bound), "%.9g", le[i]);
		if (!put_series(b, name, "_bucket", l, n + 1) ||
		    !put(b, " %llu\n", (unsigned long long)cum))
			goto full;
	}
	if (put_series(b, name, "_sum", labels, n) && put(b, " ") &&
	    put_f64(b, sum) && put(b, "\n") &&
	    put_series(b, name, "_count", labels, n) &&
	    put(b, " %llu\n", (unsigned long long)cum))
		return 0;
full:
	b->len = len0;
	return -ENOSPC;
}
