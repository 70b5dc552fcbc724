/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node weights and the per-service weighted Maglev table over nodes.
 * The table itself is lib/maglev's: this file maps nodes to backends
 * (identity = the node address, so the table depends on the set of nodes
 * and weights only) and keeps the node array sorted by address so that a
 * flow remembers its node across rebuilds by address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "ef_edge.h"
#include "ef_maglev.h"

_Static_assert(EF_EDGE_NO_NODE == EF_MAGLEV_NONE,
	       "an empty Maglev entry reads as no node");

static const char *const weights_names[] = {
#define EF_EDGE_WEIGHTS_NAME(e, s) s,
	EF_EDGE_FOREACH_WEIGHTS(EF_EDGE_WEIGHTS_NAME)
#undef EF_EDGE_WEIGHTS_NAME
};

int
ef_edge_weights_parse(const char *text)
{
	if (text == NULL)
		return -EINVAL;
	for (unsigned int i = 0; i < EF_EDGE_WEIGHTS_MAX; i++)
		if (strcmp(text, weights_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

const char *
ef_edge_weights_name(unsigned int w)
{
	return w < EF_EDGE_WEIGHTS_MAX ? weights_names[w] : "?";
}

uint32_t
ef_edge_node_weight(unsigned int weights, bool cluster,
		    const struct ef_edge_node_view *v)
{
	if (!v->healthy || v->draining)
		return 0;
	if (cluster)
		return 1;
	switch (weights) {
	case EF_EDGE_WEIGHTS_ENDPOINTS:
		return v->ready_endpoints;
	case EF_EDGE_WEIGHTS_HEALTH:
		if (v->header_weight < 0)
			return v->ready_endpoints;
		return v->header_weight > EF_EDGE_MAX_WEIGHT ?
			EF_EDGE_MAX_WEIGHT : (uint32_t)v->header_weight;
	case EF_EDGE_WEIGHTS_EQUAL:
		return 1;
	default:
		return 0;
	}
}

int64_t
ef_edge_parse_weight_header(const char *v)
{
	int64_t w = 0;
	bool digits = false;

	if (v == NULL)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v >= '0' && *v <= '9'; v++) {
		digits = true;
		if (w <= EF_EDGE_MAX_WEIGHT)
			w = w * 10 + (*v - '0');
	}
	while (*v == ' ' || *v == '\t')
		v++;
	if (!digits || *v != '\0')
		return -1;
	return w > EF_EDGE_MAX_WEIGHT ? EF_EDGE_MAX_WEIGHT : w;
}

static int
node_cmp(const void *a, const void *b)
{
	uint32_t x = rte_be_to_cpu_32(((const struct ef_edge_lb_node *)a)->addr);
	uint32_t y = rte_be_to_cpu_32(((const struct ef_edge_lb_node *)b)->addr);

	return x < y ? -1 : (x > y);
}

/* The address order Maglev sees the nodes in: IPv4 ones first, each
 * family by address (an IPv6 node's key depends on this process's
 * history, its address does not). */
static const struct ef_edge_lb_node *addr_order_base;

static int
addr_order_cmp(const void *a, const void *b)
{
	const struct ef_edge_lb_node *x =
		&addr_order_base[*(const uint32_t *)a];
	const struct ef_edge_lb_node *y =
		&addr_order_base[*(const uint32_t *)b];

	if (x->v6 != y->v6)
		return x->v6 ? 1 : -1;
	if (x->v6)
		return memcmp(x->addr6, y->addr6, 16);
	return node_cmp(x, y);
}

struct ef_edge_lb *
ef_edge_lb_build(const struct ef_edge_node *nodes, uint32_t n, uint32_t gen)
{
	struct ef_maglev_backend *b = NULL;
	uint32_t *order = NULL;
	struct ef_edge_lb *lb;
	int rc;

	if (n > EF_EDGE_MAX_NODES || (n > 0 && nodes == NULL)) {
		rte_errno = EINVAL;
		return NULL;
	}
	lb = rte_zmalloc("ef_edge_lb", sizeof(*lb), 0);
	if (lb == NULL)
		goto nomem;
	lb->gen = gen;
	lb->n_nodes = n;
	lb->size = ef_maglev_size_for(n);
	lb->table = rte_malloc("ef_edge_lb_table",
			       sizeof(lb->table[0]) * lb->size, 0);
	lb->nodes = rte_zmalloc("ef_edge_lb_nodes",
				sizeof(lb->nodes[0]) * (n > 0 ? n : 1), 0);
	b = calloc(n > 0 ? n : 1, sizeof(*b));
	order = calloc(n > 0 ? n : 1, sizeof(*order));
	if (lb->table == NULL || lb->nodes == NULL || b == NULL ||
	    order == NULL)
		goto nomem;
	for (uint32_t i = 0; i < n; i++) {
		lb->nodes[i].addr = nodes[i].addr;
		lb->nodes[i].weight = nodes[i].weight;
		lb->nodes[i].healthy = nodes[i].healthy;
		lb->nodes[i].draining = nodes[i].draining;
		lb->nodes[i].slot = nodes[i].slot;
		lb->nodes[i].v6 = nodes[i].v6 != 0;
		if (nodes[i].v6)
			memcpy(lb->nodes[i].addr6, nodes[i].addr6, 16);
		order[i] = i;
	}
	qsort(lb->nodes, n, sizeof(lb->nodes[0]), node_cmp);
	for (uint32_t i = 0; i < n; i++) {
		if ((i > 0 && lb->nodes[i].addr == lb->nodes[i - 1].addr) ||
		    (lb->nodes[i].v6 && lb->nodes[i].addr == EF_EDGE_NO_KEY)) {
			rte_errno = EINVAL;
			goto fail;
		}
	}
	/* Maglev's backend i is node order[i] (control lcore only: the
	 * static base of the comparison is not shared) */
	addr_order_base = lb->nodes;
	qsort(order, n, sizeof(order[0]), addr_order_cmp);
	addr_order_base = NULL;
	for (uint32_t i = 0; i < n; i++) {
		const struct ef_edge_lb_node *nd = &lb->nodes[order[i]];
		struct ef_addr a = { .family = EF_AF_INET4 };

		if (nd->v6) {
			a.family = EF_AF_INET6;
			memcpy(a.v6, nd->addr6, 16);
		} else {
			a.v4 = nd->addr;
		}
		b[i].id = ef_maglev_backend_id(&a, 0);
		/* a down node takes no entries whatever its weight says */
		b[i].weight = nd->healthy ? nd->weight : 0;
	}
	rc = ef_maglev_build(lb->table, lb->size, b, n);
	if (rc != 0) {
		rte_errno = -rc;
		goto fail;
	}
	for (uint32_t j = 0; j < lb->size; j++)
		if (lb->table[j] != EF_EDGE_NO_NODE)
			lb->table[j] = (uint16_t)order[lb->table[j]];
	free(order);
	free(b);
	return lb;
nomem:
	rte_errno = ENOMEM;
fail:
	free(order);
	free(b);
	ef_edge_lb_free(lb);
	return NULL;
}

void
ef_edge_lb_free(struct ef_edge_lb *lb)
{
	if (lb == NULL)
		return;
	rte_free(lb->table);
	rte_free(lb->nodes);
	rte_free(lb);
}

uint32_t
ef_edge_lb_find(const struct ef_edge_lb *lb, uint32_t addr)
{
	uint32_t a = rte_be_to_cpu_32(addr);
	uint32_t lo = 0, hi = lb->n_nodes;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t v = rte_be_to_cpu_32(lb->nodes[mid].addr);

		if (v == a)
			return mid;
		if (v < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return EF_EDGE_NO_NODE;
}
