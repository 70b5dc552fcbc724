/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Prints the Maglev figures quoted in reports: disruption when one of N
 * backends leaves, balance (max/min share) and table build time. Not a test:
 * test_maglev asserts the properties, this measures them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ef_maglev.h"

static void
make_backends(struct ef_maglev_backend *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct ef_addr a = ef_addr_v4(0x0af40000u + i + 1);

		b[i].id = ef_maglev_backend_id(&a, __builtin_bswap16(8080));
		b[i].weight = 1;
	}
}

static int
disruption(uint32_t n, uint32_t size, double *total, double *collateral)
{
	struct ef_maglev_backend *b = calloc(n, sizeof(*b));
	uint16_t *t1 = calloc(size, sizeof(*t1));
	uint16_t *t2 = calloc(size, sizeof(*t2));
	uint32_t gone = n / 2, moved = 0, extra = 0;
	int rc = -1;

	if (b == NULL || t1 == NULL || t2 == NULL)
		goto out;
	make_backends(b, n);
	if (ef_maglev_build(t1, size, b, n) != 0)
		goto out;
	/* drop backend 'gone' by moving the last one into its place */
	b[gone] = b[n - 1];
	if (ef_maglev_build(t2, size, b, n - 1) != 0)
		goto out;
	for (uint32_t i = 0; i < size; i++) {
		/* in t2, index 'gone' now names the former last backend */
		uint32_t before = t1[i];
		uint32_t after = t2[i] == gone ? n - 1 : t2[i];

		if (before == after)
			continue;
		moved++;
		if (before != gone)
			extra++;
	}
	*total = (double)moved / size;
	*collateral = (double)extra / size;
	rc = 0;
out:
	free(b);
	free(t1);
	free(t2);
	return rc;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(void)
{
	const uint32_t size = EF_MAGLEV_MAX_SIZE;
	const uint32_t ns[] = { 10, 100, 1000 };
	struct ef_maglev_backend b[100];
	uint16_t *t = calloc(size, sizeof(*t));
	uint32_t count[100] = { 0 };
	uint32_t mn = UINT32_MAX, mx = 0;
	double ms[11];

	if (t == NULL)
		return 1;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		double total, collateral;

		if (disruption(ns[i], size, &total, &collateral) != 0)
			return 1;
		printf("disruption N=%u M=%u: %.3f%% of entries moved "
		       "(ideal %.3f%%), %.3f%% not from the removed backend\n",
		       ns[i], size, total * 100, 100.0 / ns[i],
		       collateral * 100);
	}

	make_backends(b, 100);
	if (ef_maglev_build(t, size, b, 100) != 0)
		return 1;
	for (uint32_t i = 0; i < size; i++)
		count[t[i]]++;
	for (int i = 0; i < 100; i++) {
		mn = count[i] < mn ? count[i] : mn;
		mx = count[i] > mx ? count[i] : mx;
	}
	printf("balance N=100 M=%u: min %u max %u entries, max/min %.4f\n",
	       size, mn, mx, (double)mx / mn);

	for (int r = 0; r < 11; r++) {
		struct timespec a, z;

		clock_gettime(CLOCK_MONOTONIC, &a);
		if (ef_maglev_build(t, size, b, 100) != 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &z);
		ms[r] = (z.tv_sec - a.tv_sec) * 1e3 +
			(z.tv_nsec - a.tv_nsec) / 1e6;
	}
	qsort(ms, 11, sizeof(ms[0]), dbl_cmp);
	printf("build M=%u N=100: median %.3f ms (min %.3f, max %.3f, "
	       "11 runs)\n", size, ms[5], ms[0], ms[10]);
	free(t);
	return 0;
}
