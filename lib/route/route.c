/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>

#include "ef_route.h"

#include "route_priv.h"

EF_LOG_REGISTER(route);

/* Lookups go to rte_lpm in slices of this many (stack arrays). */
#define EF_ROUTE_BULK 32

struct ef_route_table {
	struct rte_lpm *lpm;
	/* rte_lpm takes depths 1..32 only: the /0 rule lives here */
	uint32_t has_default;
	uint32_t default_nh;
	uint32_t n_nh;
	/* IPv6: NULL lpm6 when the configuration has no IPv6 rule */
	struct rte_lpm6 *lpm6;
	uint32_t has_default6;
	uint32_t default_nh6;
	uint32_t n_nh6;
	struct ef_nexthop6 *nh6;
	struct ef_nexthop nh[];	/* indexed by the rte_lpm next hop value */
};

/* rte_lpm names are global to the process (a tailq in DPDK memory). */
static uint32_t route_seq;

static uint32_t
mask_of(uint8_t len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

/*
 * Interface whose subnet holds a (host order): the longest prefix, the
 * first interface on a tie. Returns its index or -1.
 */
static int
connected_iface(const struct ef_cfg_interface *ifs, uint32_t n_ifs,
		uint32_t a)
{
	int best = -1;

	for (uint32_t i = 0; i < n_ifs; i++) {
		uint32_t m;

		if (ifs[i].address.family != EF_AF_INET4 ||
		    ifs[i].prefix_len > 32)
			continue;
		m = mask_of(ifs[i].prefix_len);
		if ((rte_be_to_cpu_32(ifs[i].address.v4) & m) != (a & m))
			continue;
		if (best < 0 || ifs[i].prefix_len > ifs[best].prefix_len)
			best = (int)i;
	}
	return best;
}

/* Add prefix/len unless a rule for it exists (earlier rules win). */
static int
add_rule(struct ef_route_table *t, uint32_t prefix, uint8_t len,
	 uint16_t iface, uint8_t direct, uint32_t gw_net)
{
	uint32_t old;
	int rc;

	prefix &= mask_of(len);
	if (len == 0 ? t->has_default != 0 :
	    rte_lpm_is_rule_present(t->lpm, prefix, len, &old) == 1)
		return 0;
	t->nh[t->n_nh] = (struct ef_nexthop){
		.iface = iface, .direct = direct, .gw = gw_net,
	};
	if (len == 0) {
		t->has_default = 1;
		t->default_nh = t->n_nh;
	} else {
		rc = rte_lpm_add(t->lpm, prefix, len, t->n_nh);
		if (rc < 0)
			return rc;
	}
	t->n_nh++;
	return 0;
}

/* --- IPv6 --- */

/* The IPv6 address of interface f (dual-stack field, else 'address'). */
static bool
iface_addr6(const struct ef_cfg_interface *f, const struct ef_addr **a,
	    uint8_t *len, const struct ef_addr **gw)
{
	if (f->address6.family == EF_AF_INET6) {
		*a = &f->address6;
		*len = f->prefix_len6;
		*gw = &f->gateway6;
		return true;
	}
	if (f->address.family == EF_AF_INET6) {
		*a = &f->address;
		*len = f->prefix_len;
		*gw = &f->gateway;
		return true;
	}
	return false;
}

static bool
is_link_local6(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* Interface whose IPv6 subnet holds a: longest, first on a tie; or -1. */
static int
connected_iface6(const struct ef_cfg_interface *ifs, uint32_t n_ifs,
		 const struct ef_addr *a)
{
	int best = -1;
	uint8_t best_len = 0;

	for (uint32_t i = 0; i < n_ifs; i++) {
		const struct ef_addr *ia, *gw;
		uint8_t len;

		if (!iface_addr6(&ifs[i], &ia, &len, &gw) || len > 128 ||
		    !ef_addr_in_prefix(a, ia, len))
			continue;
		if (best < 0 || len > best_len) {
			best = (int)i;
			best_len = len;
		}
	}
	return best;
}

static void
mask6(uint8_t a[16], uint8_t len)
{
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bits = len > i * 8 ? len - i * 8 : 0;

		a[i] &= bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
	}
}

static int
add_rule6(struct ef_route_table *t, const uint8_t prefix[16], uint8_t len,
	  uint16_t iface, uint8_t direct, const uint8_t *gw)
{
	uint8_t p[16];
	uint32_t old;
	int rc;

	memcpy(p, prefix, 16);
	mask6(p, len);
	if (len == 0 ? t->has_default6 != 0 :
	    rte_lpm6_is_rule_present(t->lpm6, p, len, &old) == 1)
		return 0;
	t->nh6[t->n_nh6] = (struct ef_nexthop6){
		.iface = iface, .direct = direct,
	};
	if (gw != NULL)
		memcpy(t->nh6[t->n_nh6].gw, gw, 16);
	if (len == 0) {
		t->has_default6 = 1;
		t->default_nh6 = t->n_nh6;
	} else {
		rc = rte_lpm6_add(t->lpm6, p, len, t->n_nh6);
		if (rc < 0)
			return rc;
	}
	t->n_nh6++;
	return 0;
}

/* tbl8 groups a prefix needs below rte_lpm6's 24-bit first level. */
static uint32_t
tbl8s_of(uint8_t len)
{
	return len > 24 ? (uint32_t)(len - 24 + 7) / 8 : 0;
}

/*
 * The IPv6 half of ef_route_build(): the same three rule classes. Only
 * built when some interface has an IPv6 address (rte_lpm6's first level
 * is 2^24 entries too: IPv4-only configurations do not pay for it). A
 * gateway may be link-local (routers advertise those, RFC 4861 4.2).
 */
static int
build6(struct ef_route_table *t, const struct ef_cfg_interface *ifs,
       uint32_t n_ifs, const struct ef_cfg_route *routes, uint32_t n_routes,
       int socket_id)
{
	struct rte_lpm6_config conf = { 0 };
	char name[RTE_LPM6_NAMESIZE];
	uint32_t n6 = 0, max_rules = 1, tbl8s = 1;
	int rc = 0;

	for (uint32_t i = 0; i < n_ifs; i++) {
		const struct ef_addr *a, *gw;
		uint8_t len;

		if (iface_addr6(&ifs[i], &a, &len, &gw)) {
			n6++;
			max_rules++;
			tbl8s += tbl8s_of(len);
		}
	}
	if (n6 == 0)
		return 0;
	for (uint32_t i = 0; i < n_routes; i++) {
		if (routes[i].prefix.family == EF_AF_INET6) {
			max_rules++;
			tbl8s += tbl8s_of(routes[i].prefix_len);
		}
	}
	t->nh6 = rte_zmalloc_socket("ef_route6", sizeof(t->nh6[0]) * max_rules,
				    0, socket_id);
	if (t->nh6 == NULL)
		return -ENOMEM;
	conf.max_rules = max_rules;
	conf.number_tbl8s = tbl8s;
	snprintf(name, sizeof(name), "ef_route6_%u",
		 __atomic_fetch_add(&route_seq, 1, __ATOMIC_RELAXED));
	t->lpm6 = rte_lpm6_create(name, socket_id, &conf);
	if (t->lpm6 == NULL)
		return -rte_errno;

	for (uint32_t i = 0; i < n_ifs && rc == 0; i++) {
		const struct ef_addr *a, *gw;
		uint8_t len;

		if (!iface_addr6(&ifs[i], &a, &len, &gw))
			continue;
		if (len > 128) {
			EF_ROUTE_LOG(ERR, "interface %s: prefix length %u",
				     ifs[i].port, len);
			return -EINVAL;
		}
		rc = add_rule6(t, a->v6, len, (uint16_t)i, 1, NULL);
	}
	for (uint32_t i = 0; i < n_routes && rc == 0; i++) {
		const struct ef_cfg_route *r = &routes[i];
		int via_if;

		if (r->prefix.family != EF_AF_INET6)
			continue;
		via_if = r->via.family == EF_AF_INET6 ?
			connected_iface6(ifs, n_ifs, &r->via) : -1;
		if (via_if < 0 || r->prefix_len > 128) {
			char p[EF_ADDR_STRLEN], v[EF_ADDR_STRLEN];

			EF_ROUTE_LOG(ERR, "line %d: route %s/%u: via %s is not "
				     "in a connected subnet", r->line,
				     ef_addr_fmt(&r->prefix, p, sizeof(p)),
				     r->prefix_len,
				     ef_addr_fmt(&r->via, v, sizeof(v)));
			return -EINVAL;
		}
		rc = add_rule6(t, r->prefix.v6, r->prefix_len,
			       (uint16_t)via_if, 0, r->via.v6);
	}
	for (uint32_t i = 0; i < n_ifs && rc == 0; i++) {
		const struct ef_addr *a, *gw;
		uint8_t len;

		if (!iface_addr6(&ifs[i], &a, &len, &gw) ||
		    gw->family != EF_AF_INET6)
			continue;
		if (!is_link_local6(gw->v6) && !ef_addr_in_prefix(gw, a, len)) {
			char g[EF_ADDR_STRLEN];

			EF_ROUTE_LOG(ERR, "line %d: interface %s: gateway %s is "
				     "not in its subnet", ifs[i].line,
				     ifs[i].port,
				     ef_addr_fmt(gw, g, sizeof(g)));
			return -EINVAL;
		}
		{
			static const uint8_t zero[16];

			rc = add_rule6(t, zero, 0, (uint16_t)i, 0, gw->v6);
		}
		break;	/* the first IPv6 gateway is the IPv6 default */
	}
	if (rc == 0)
		EF_ROUTE_LOG(INFO, "IPv6: %u rules", t->n_nh6);
	return rc;
}

struct ef_route_table *
ef_route_build(const struct ef_cfg_interface *ifs, uint32_t n_ifs,
	       const struct ef_cfg_route *routes, uint32_t n_routes,
	       int socket_id)
{
	struct rte_lpm_config conf = { 0 };
	struct ef_route_table *t;
	char name[RTE_LPM_NAMESIZE];
	uint32_t max_rules = n_ifs + n_routes + 1;
	uint32_t deep = 0;
	int rc = 0;

	if ((n_ifs > 0 && ifs == NULL) || (n_routes > 0 && routes == NULL) ||
	    n_ifs > UINT16_MAX || n_routes > UINT16_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = rte_zmalloc_socket("ef_route", sizeof(*t) +
			       sizeof(t->nh[0]) * max_rules, 0, socket_id);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}

	/* each prefix longer than /24 needs its own tbl8 group */
	for (uint32_t i = 0; i < n_ifs; i++)
		deep += ifs[i].prefix_len > 24;
	for (uint32_t i = 0; i < n_routes; i++)
		deep += routes[i].prefix_len > 24;
	conf.max_rules = max_rules;
	conf.number_tbl8s = deep + 1;
	snprintf(name, sizeof(name), "ef_route_%u",
		 __atomic_fetch_add(&route_seq, 1, __ATOMIC_RELAXED));
	t->lpm = rte_lpm_create(name, socket_id, &conf);
	if (t->lpm == NULL) {
		rc = -rte_errno;
		goto fail;
	}

	for (uint32_t i = 0; i < n_ifs && rc == 0; i++) {
		if (ifs[i].address.family != EF_AF_INET4)
			continue;
		if (ifs[i].prefix_len > 32) {
			EF_ROUTE_LOG(ERR, "interface %s: prefix length %u",
				     ifs[i].port, ifs[i].prefix_len);
			rc = -EINVAL;
			break;
		}
		rc = add_rule(t, rte_be_to_cpu_32(ifs[i].address.v4),
			      ifs[i].prefix_len, (uint16_t)i, 1, 0);
	}

	for (uint32_t i = 0; i < n_routes && rc == 0; i++) {
		const struct ef_cfg_route *r = &routes[i];
		int via_if;

		if (r->prefix.family != EF_AF_INET4)
			continue;
		via_if = r->via.family == EF_AF_INET4 ?
			connected_iface(ifs, n_ifs,
					rte_be_to_cpu_32(r->via.v4)) : -1;
		if (via_if < 0 || r->prefix_len > 32) {
			char p[EF_ADDR_STRLEN], v[EF_ADDR_STRLEN];

			EF_ROUTE_LOG(ERR, "line %d: route %s/%u: via %s is not "
				     "in a connected subnet", r->line,
				     ef_addr_fmt(&r->prefix, p, sizeof(p)),
				     r->prefix_len,
				     ef_addr_fmt(&r->via, v, sizeof(v)));
			rc = -EINVAL;
			break;
		}
		rc = add_rule(t, rte_be_to_cpu_32(r->prefix.v4), r->prefix_len,
			      (uint16_t)via_if, 0, r->via.v4);
	}

	for (uint32_t i = 0; i < n_ifs && rc == 0; i++) {
		const struct ef_cfg_interface *f = &ifs[i];
		uint32_t m;

		if (f->gateway.family != EF_AF_INET4 ||
		    f->address.family != EF_AF_INET4)
			continue;
		m = mask_of(f->prefix_len);
		if ((rte_be_to_cpu_32(f->gateway.v4) & m) !=
		    (rte_be_to_cpu_32(f->address.v4) & m)) {
			char g[EF_ADDR_STRLEN];

			EF_ROUTE_LOG(ERR, "line %d: interface %s: gateway %s is "
				     "not in its subnet", f->line, f->port,
				     ef_addr_fmt(&f->gateway, g, sizeof(g)));
			rc = -EINVAL;
			break;
		}
		rc = add_rule(t, 0, 0, (uint16_t)i, 0, f->gateway.v4);
		break;	/* the first gateway is the default route */
	}
	if (rc == 0)
		rc = build6(t, ifs, n_ifs, routes, n_routes, socket_id);
	if (rc != 0)
		goto fail;
	return t;

fail:
	rte_lpm6_free(t->lpm6);
	rte_free(t->nh6);
	rte_lpm_free(t->lpm);
	rte_free(t);
	rte_errno = -rc;
	return NULL;
}

void
ef_route_free(struct ef_route_table *t)
{
	if (t == NULL)
		return;
	rte_lpm6_free(t->lpm6);
	rte_free(t->nh6);
	rte_lpm_free(t->lpm);
	rte_free(t);
}

int
ef_route_lookup4(const struct ef_route_table *t, uint32_t dst_net_order,
		 struct ef_nexthop *nh)
{
	uint32_t idx;

	if (rte_lpm_lookup(t->lpm, rte_be_to_cpu_32(dst_net_order), &idx) != 0) {
		if (!t->has_default)
			return -ENOENT;
		idx = t->default_nh;
	}
	*nh = t->nh[idx];
	if (nh->direct)
		nh->gw = dst_net_order;
	return 0;
}

uint32_t
ef_route_lookup4_bulk(const struct ef_route_table *t, const uint32_t *dst,
		      uint32_t n, struct ef_nexthop *nh, int *rc)
{
	uint32_t ips[EF_ROUTE_BULK];
	uint32_t hops[EF_ROUTE_BULK];
	uint32_t found = 0;

	for (uint32_t base = 0; base < n; base += EF_ROUTE_BULK) {
		uint32_t k = RTE_MIN(n - base, (uint32_t)EF_ROUTE_BULK);

		for (uint32_t i = 0; i < k; i++)
			ips[i] = rte_be_to_cpu_32(dst[base + i]);
		rte_lpm_lookup_bulk(t->lpm, ips, hops, k);
		for (uint32_t i = 0; i < k; i++) {
			uint32_t j = base + i;
			uint32_t idx = hops[i] & 0x00ffffff;

			if (!(hops[i] & RTE_LPM_LOOKUP_SUCCESS)) {
				if (!t->has_default) {
					rc[j] = -ENOENT;
					continue;
				}
				idx = t->default_nh;
			}
			nh[j] = t->nh[idx];
			if (nh[j].direct)
				nh[j].gw = dst[j];
			rc[j] = 0;
			found++;
		}
	}
	return found;
}

uint32_t
ef_route_count(const struct ef_route_table *t)
{
	return t->n_nh;
}

int
ef_route_lookup6_hint(const struct ef_route_table *t, const uint8_t dst[16],
		      uint8_t *hint, struct ef_nexthop6 *nh)
{
	uint32_t idx;

	if (likely(*hint != 0 && *hint <= t->n_nh6)) {
		idx = (uint32_t)*hint - 1;
	} else {
		if (t->lpm6 == NULL)
			return -ENOENT;
		if (rte_lpm6_lookup(t->lpm6, dst, &idx) != 0) {
			if (!t->has_default6)
				return -ENOENT;
			idx = t->default_nh6;
		}
		/* rules past 254 are looked up every time */
		if (idx < UINT8_MAX)
			*hint = (uint8_t)(idx + 1);
	}
	*nh = t->nh6[idx];
	if (nh->direct)
		memcpy(nh->gw, dst, 16);
	return 0;
}

int
ef_route_lookup6(const struct ef_route_table *t, const uint8_t dst[16],
		 struct ef_nexthop6 *nh)
{
	uint8_t none = 0;

	return ef_route_lookup6_hint(t, dst, &none, nh);
}

uint32_t
ef_route_lookup6_bulk(const struct ef_route_table *t, uint8_t (*dst)[16],
		      uint32_t n, struct ef_nexthop6 *nh, int *rc)
{
	int32_t hops[EF_ROUTE_BULK];
	uint32_t found = 0;

	if (t->lpm6 == NULL) {
		for (uint32_t i = 0; i < n; i++)
			rc[i] = -ENOENT;
		return 0;
	}
	for (uint32_t base = 0; base < n; base += EF_ROUTE_BULK) {
		uint32_t k = RTE_MIN(n - base, (uint32_t)EF_ROUTE_BULK);

		rte_lpm6_lookup_bulk_func(t->lpm6, dst + base, hops, k);
		for (uint32_t i = 0; i < k; i++) {
			uint32_t j = base + i;
			uint32_t idx = (uint32_t)hops[i];

			if (hops[i] < 0) {
				if (!t->has_default6) {
					rc[j] = -ENOENT;
					continue;
				}
				idx = t->default_nh6;
			}
			nh[j] = t->nh6[idx];
			if (nh[j].direct)
				memcpy(nh[j].gw, dst[j], 16);
			rc[j] = 0;
			found++;
		}
	}
	return found;
}

uint32_t
ef_route_count6(const struct ef_route_table *t)
{
	return t->n_nh6;
}
