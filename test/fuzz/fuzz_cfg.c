/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the configuration parser and validator (lib/cfg) on
 * arbitrary text. A model that loads must summarise; a rejected one must
 * carry at least one error message; every message must name the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ef_cfg.h"
#include "fuzz.h"


#define NAME "fuzz.conf"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ef_cfg_errors errs = { 0 };
	struct ef_cfg_summary sum;
	struct ef_cfg *cfg;
	char *text;
	uint32_t i;

	/* libconfig reads a C string: the text ends at the first NUL */
	text = fuzz_cstring(data, size);
	if (text == NULL)
		return 0;
	cfg = ef_cfg_parse_string(text, NAME, &errs);
	if (cfg != NULL) {
		CHECK(errs.n == 0);
		CHECK(cfg->n_snat_addresses > 0);
		ef_cfg_summarize(cfg, &sum);
		CHECK(sum.services == cfg->n_services);
		ef_cfg_free(cfg);
	} else {
		CHECK(errs.n > 0);
		for (i = 0; i < errs.n; i++)
			CHECK(strncmp(errs.msgs[i], NAME,
				      strlen(NAME)) == 0);
	}
	ef_cfg_errors_clear(&errs);
	free(text);
	return 0;
}
