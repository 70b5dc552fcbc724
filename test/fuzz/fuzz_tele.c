/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the parameter parsing of the /edgefwd/ telemetry
 * commands (lib/tele: ef_tele_parse_uint, ef_tele_parse_service) on
 * arbitrary text, each checked against an independent model of its
 * contract (ef_tele.h): a parameter is accepted exactly when the model
 * accepts it, with the same value.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ef_cfg.h"
#include "ef_tele.h"
#include "fuzz.h"


#define DFLT 7u

/* The model: "" or NULL gives dflt; otherwise only decimal digits, value
 * at most max. Returns true when accepted, the value in *v. */
static bool
model_uint(const char *s, uint32_t dflt, uint32_t max, uint32_t *v)
{
	uint64_t acc = 0;

	if (s == NULL || *s == '\0') {
		*v = dflt;
		return true;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		acc = acc * 10 + (uint64_t)(*s - '0');
		if (acc > max)
			return false;
	}
	*v = (uint32_t)acc;
	return true;
}

static void
check_uint(const char *s, uint32_t max)
{
	uint32_t got = 0xdeadbeef, want = 0;
	bool ok = model_uint(s, DFLT, max, &want);
	int rc = ef_tele_parse_uint(s, DFLT, max, &got);

	CHECK(rc == 0 || rc == -EINVAL);
	CHECK((rc == 0) == ok);
	if (ok)
		CHECK(got == want);
}

/* The model of "ns/name[,offset]": the last comma separates the offset,
 * which must then be non-empty; the name must be non-empty, contain a
 * '/' and fit in namelen with its NUL. */
static void
check_service(const char *p, size_t namelen)
{
	char name[300];
	uint32_t off = 0xdeadbeef, want_off = 0;
	const char *comma = strrchr(p, ',');
	size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
	bool ok = *p != '\0' && n > 0 && n < namelen &&
		memchr(p, '/', n) != NULL &&
		(comma == NULL ? (want_off = 0, true) :
		 comma[1] != '\0' &&
		 model_uint(comma + 1, 0, UINT32_MAX, &want_off));
	int rc;

	memset(name, 'x', sizeof(name));
	rc = ef_tele_parse_service(p, name, namelen, &off);
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK((rc == 0) == ok);
	/* never writes past namelen, accepted or not */
	for (size_t i = namelen; i < sizeof(name); i++)
		CHECK(name[i] == 'x');
	if (ok) {
		CHECK(strlen(name) == n && memcmp(name, p, n) == 0);
		CHECK(off == want_off);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	uint32_t max;

	/* DPDK hands a command's parameter over as a C string */
	s = fuzz_cstring(data, size);
	if (s == NULL)
		return 0;
	check_uint(s, UINT32_MAX);
	check_uint(s, EF_TELE_FLOWS_MAX);
	/* a limit taken from the input reaches every boundary */
	max = size >= 4 ? (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
		(uint32_t)data[2] << 8 | data[3] : 0;
	check_uint(s, max);
	check_service(s, EF_CFG_NAME_MAX);	/* what tele.c passes */
	check_service(s, 1 + size % 200);
	free(s);
	return 0;
}
