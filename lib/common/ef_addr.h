/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_ADDR_H
#define EF_ADDR_H

/*
 * Addresses as every module sees them: one type for IPv4 and IPv6 so that
 * dual-stack lands without changing interfaces. Bytes are in network order.
 * Pure C, no DPDK: cfg and the tests use it without EAL.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EF_AF_INET4 4
#define EF_AF_INET6 6

/* Longest text form of an address ("ffff:...:255.255.255.255") plus NUL. */
#define EF_ADDR_STRLEN 46
/* Longest text form of "addr:port/proto" or "[v6]:port/proto" plus NUL. */
#define EF_ENDPOINT_STRLEN (EF_ADDR_STRLEN + 16)

struct ef_addr {
	uint8_t family;		/* EF_AF_INET4 or EF_AF_INET6; 0 = unset */
	uint8_t pad[3];
	union {
		uint32_t v4;	/* network byte order */
		uint8_t v6[16];
	};
};

/*
 * Parse a dotted-quad or IPv6 text address. Returns 0, or -EINVAL.
 * Any thread.
 */
int ef_addr_parse(const char *text, struct ef_addr *out);

/*
 * Parse "addr/len". Host bits set beyond len are allowed only when
 * allow_host_bits (interface addresses carry them, route prefixes must not).
 * Returns 0, -EINVAL (syntax) or -ERANGE (length, or host bits set).
 * Any thread.
 */
int ef_prefix_parse(const char *text, bool allow_host_bits,
		    struct ef_addr *addr, uint8_t *len);

/* Format into buf (at least EF_ADDR_STRLEN). Returns buf. Any thread. */
char *ef_addr_fmt(const struct ef_addr *a, char *buf, size_t size);

/* true when both are the same family and address. Any thread. */
bool ef_addr_eq(const struct ef_addr *a, const struct ef_addr *b);

/* Total order (family first, then bytes); for sorting. Any thread. */
int ef_addr_cmp(const struct ef_addr *a, const struct ef_addr *b);

/* Make an IPv4 address from a host-order value. Any thread. */
static inline struct ef_addr
ef_addr_v4(uint32_t host_order)
{
	struct ef_addr a = { .family = EF_AF_INET4 };

	a.v4 = __builtin_bswap32(host_order);
	return a;
}

/* true when a lies in prefix p/len (same family). Any thread. */
bool ef_addr_in_prefix(const struct ef_addr *a, const struct ef_addr *p,
		       uint8_t len);

#ifdef __cplusplus
}
#endif

#endif /* EF_ADDR_H */
