/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the HTTP pieces of lib/health on arbitrary bytes
 * (ef_health_http.h, pure: no DPDK, no sockets):
 *
 *  - the healthCheckNodePort request parser, checked against its contract
 *    (what it reports lies inside the request head; a complete head's
 *    prefixes are PARTIAL; TOO_LARGE only past the limit), with the
 *    responder's limit and with a small one;
 *  - the probe's status-line parser (a result in 100..599, -EAGAIN or
 *    -EINVAL; more bytes never turn a status into -EAGAIN);
 *  - the answer builder with the input as the service name: the answer
 *    parses back as the right status, its body is JSON-escaped (no control
 *    byte) and Content-Length is the body's length.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ef_health_http.h"
#include "fuzz.h"


/* the service name the answer builder gets: names are short (CONFIG.md),
 * the builder must still refuse, not overflow, a long one */
#define NAME_MAX_FUZZ 600

static void
check_request(const char *buf, size_t len, size_t max)
{
	struct ef_health_http_req req;
	enum ef_health_http_result r, r2;
	size_t k;

	memset(&req, 0xa5, sizeof(req));
	r = ef_health_http_parse(buf, len, max, &req);
	switch (r) {
	case EF_HEALTH_HTTP_COMPLETE:
		CHECK(req.header_len > 0 && req.header_len <= len);
		CHECK(req.header_len <= max);
		CHECK(buf[req.header_len - 1] == '\n');
		k = strnlen(req.method, sizeof(req.method));
		CHECK(k > 0 && k < sizeof(req.method));
		CHECK(memcmp(req.method, buf, k) == 0 && buf[k] == ' ');
		CHECK(req.target_len > 0);
		CHECK((size_t)req.target_off + req.target_len <
		      req.header_len);
		for (k = 0; k < req.target_len; k++) {
			unsigned char c =
				(unsigned char)buf[req.target_off + k];
			CHECK(c > 0x20 && c < 0x7f);
		}
		CHECK(req.minor <= 9);
		/* the head alone is the same request; one byte less is not
		 * yet one (the responder reads more, it does not answer 400) */
		CHECK(ef_health_http_parse(buf, req.header_len, max, &req) ==
		      EF_HEALTH_HTTP_COMPLETE);
		r2 = ef_health_http_parse(buf, req.header_len - 1, max, &req);
		CHECK(r2 == EF_HEALTH_HTTP_PARTIAL ||
		      r2 == EF_HEALTH_HTTP_TOO_LARGE);
		break;
	case EF_HEALTH_HTTP_PARTIAL:
		CHECK(len < max);
		break;
	case EF_HEALTH_HTTP_TOO_LARGE:
		CHECK(len >= max);
		break;
	case EF_HEALTH_HTTP_BAD:
		/* bad stays bad: more bytes cannot repair it */
		if (len > 0)
			CHECK(ef_health_http_parse(buf, len, max + 1, &req) ==
			      EF_HEALTH_HTTP_BAD);
		break;
	default:
		CHECK(0);
	}
}

static void
check_status(const char *buf, size_t len)
{
	int s = ef_health_http_status(buf, len);

	CHECK((s >= 100 && s <= 599) || s == -EAGAIN || s == -EINVAL);
	/* a status read from a prefix is the status of the whole */
	if (s >= 100 && len > 0) {
		size_t k;

		for (k = len; k > 0; k--) {
			int p = ef_health_http_status(buf, k - 1);

			if (p != s) {
				CHECK(p == -EAGAIN);
				break;
			}
		}
	}
}

static void
check_answer(const uint8_t *data, size_t size)
{
	char name[NAME_MAX_FUZZ + 1];
	char out[2048];
	uint32_t n_local = size % 3;
	bool head = size & 1;
	const char *body;
	size_t n = size < NAME_MAX_FUZZ ? size : NAME_MAX_FUZZ;
	unsigned long clen;
	int k, st;

	memcpy(name, data, n);
	name[n] = '\0';
	k = ef_health_http_answer(out, sizeof(out), name, n_local, head);
	if (k == -ENOSPC)
		return;
	CHECK(k > 0 && (size_t)k < sizeof(out) && out[k] == '\0');
	st = ef_health_http_status(out, (size_t)k);
	CHECK(st == (n_local > 0 ? 200 : 503));
	body = strstr(out, "\r\n\r\n");
	CHECK(body != NULL);
	body += 4;
	CHECK(sscanf(strstr(out, "Content-Length: ") + 16, "%lu",
		     &clen) == 1);
	if (head) {
		CHECK(*body == '\0');
		return;
	}
	CHECK(clen == strlen(body));
	for (const char *p = body; *p != '\0'; p++)
		CHECK((unsigned char)*p >= 0x20);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes: ASan sees any read past the end */
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	check_request(buf, size, EF_HEALTH_HTTP_MAX_REQUEST);
	/* a small limit reaches TOO_LARGE with short inputs */
	check_request(buf, size, 1 + size / 2);
	check_status(buf, size);
	check_answer(data, size);
	free(buf);
	return 0;
}
