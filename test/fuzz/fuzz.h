/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_FUZZ_H
#define EF_FUZZ_H

/* What every libFuzzer target of test/fuzz shares. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* an invariant broke: say which, then crash so the fuzzer keeps it */
#define CHECK(c) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
			__LINE__, #c); \
		abort(); \
	} \
} while (0)

/* The input as a C string, as libconfig and DPDK telemetry parameters
 * read it (the text ends at the first NUL). NULL if out of memory; the
 * caller frees it. */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#ifdef __cplusplus
}
#endif

#endif /* EF_FUZZ_H */
