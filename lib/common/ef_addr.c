/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ef_addr.h"

int
ef_addr_parse(const char *text, struct ef_addr *out)
{
	struct ef_addr a;

	memset(&a, 0, sizeof(a));
	if (text == NULL)
		return -EINVAL;
	if (inet_pton(AF_INET, text, &a.v4) == 1) {
		a.family = EF_AF_INET4;
	} else if (inet_pton(AF_INET6, text, a.v6) == 1) {
		a.family = EF_AF_INET6;
	} else {
		return -EINVAL;
	}
	*out = a;
	return 0;
}

int
ef_prefix_parse(const char *text, bool allow_host_bits, struct ef_addr *addr,
		uint8_t *len)
{
	char buf[EF_ADDR_STRLEN + 8];
	const char *slash;
	char *end;
	unsigned long l;
	size_t alen;
	struct ef_addr a;

	if (text == NULL)
		return -EINVAL;
	slash = strchr(text, '/');
	if (slash == NULL)
		return -EINVAL;
	alen = (size_t)(slash - text);
	if (alen == 0 || alen >= EF_ADDR_STRLEN)
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (ef_addr_parse(buf, &a) != 0)
		return -EINVAL;
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	l = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	if (l > (a.family == EF_AF_INET4 ? 32u : 128u))
		return -ERANGE;
	if (!allow_host_bits) {
		/* a route prefix must equal its network address */
		if (a.family == EF_AF_INET4) {
			uint32_t mask = l == 0 ? 0 : htonl(~0u << (32 - l));

			if ((a.v4 & ~mask) != 0)
				return -ERANGE;
		} else {
			for (unsigned int i = 0; i < 16; i++) {
				unsigned long bits = l > i * 8 ? l - i * 8 : 0;
				uint8_t m = bits >= 8 ? 0xff : bits == 0 ? 0 :
					(uint8_t)(0xff << (8 - bits));

				if ((a.v6[i] & (uint8_t)~m) != 0)
					return -ERANGE;
			}
		}
	}
	*addr = a;
	*len = (uint8_t)l;
	return 0;
}

/*
 * RFC 5952 section 4: the longest run of two or more zero groups becomes
 * "::" (the first one on a tie), lowercase hex without leading zeros, and
 * dotted-quad tails only for IPv4-mapped addresses (::ffff:0:0/96, section
 * 5). Written out rather than left to inet_ntop(), whose output differs
 * between C libraries (glibc prints "::1.2.3.4" for the deprecated
 * IPv4-compatible form; TELEMETRY.md wants one text per address).
 */
static void
addr6_fmt(const uint8_t v6[16], char *buf, size_t size)
{
	static const uint8_t mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	char tmp[EF_ADDR_STRLEN];
	unsigned int best = 8, best_len = 0, run = 0;
	size_t n = 0;

	if (memcmp(v6, mapped, sizeof(mapped)) == 0) {
		snprintf(buf, size, "::ffff:%u.%u.%u.%u",
			 v6[12], v6[13], v6[14], v6[15]);
		return;
	}
	for (unsigned int i = 0; i < 8; i++) {
		if (v6[2 * i] == 0 && v6[2 * i + 1] == 0) {
			run++;
			if (run > best_len) {
				best_len = run;
				best = i + 1 - run;
			}
		} else {
			run = 0;
		}
	}
	if (best_len < 2)
		best = 8;
	for (unsigned int i = 0; i < 8; i++) {
		if (i == best) {
			n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "::");
			i += best_len - 1;
			continue;
		}
		n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%s%x",
				      i == 0 || i == best + best_len ? "" : ":",
				      (unsigned int)v6[2 * i] << 8 | v6[2 * i + 1]);
	}
	snprintf(buf, size, "%s", tmp);
}

char *
ef_addr_fmt(const struct ef_addr *a, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	if (a->family == EF_AF_INET4) {
		if (inet_ntop(AF_INET, &a->v4, buf, (socklen_t)size) == NULL)
			buf[0] = '\0';
	} else if (a->family == EF_AF_INET6) {
		addr6_fmt(a->v6, buf, size);
	} else {
		snprintf(buf, size, "-");
	}
	return buf;
}

bool
ef_addr_eq(const struct ef_addr *a, const struct ef_addr *b)
{
	return ef_addr_cmp(a, b) == 0;
}

int
ef_addr_cmp(const struct ef_addr *a, const struct ef_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->family == EF_AF_INET4)
		return memcmp(&a->v4, &b->v4, 4);
	if (a->family == EF_AF_INET6)
		return memcmp(a->v6, b->v6, 16);
	return 0;
}

bool
ef_addr_in_prefix(const struct ef_addr *a, const struct ef_addr *p,
		  uint8_t len)
{
	if (a->family != p->family)
		return false;
	if (a->family == EF_AF_INET4) {
		uint32_t mask;

		if (len > 32)
			return false;
		mask = len == 0 ? 0 : htonl(~0u << (32 - len));
		return (a->v4 & mask) == (p->v4 & mask);
	}
	if (len > 128)
		return false;
	for (unsigned int i = 0; i < 16 && len > 0; i++) {
		uint8_t m = len >= 8 ? 0xff : (uint8_t)(0xff << (8 - len));

		if ((a->v6[i] & m) != (p->v6[i] & m))
			return false;
		len = len >= 8 ? (uint8_t)(len - 8) : 0;
	}
	return true;
}
