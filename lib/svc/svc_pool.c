/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pools of a service port: which endpoints are eligible (ready and
 * healthy, else serving and terminating; apart for the local set) and
 * their Maglev tables, rebuilt and republished when a health check flips.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "ef_addr.h"
#include "ef_maglev.h"
#include "ef_svc.h"
#include "svc_priv.h"

void
ef_svc_pool_free(struct ef_svc_pool *p)
{
	if (p == NULL)
		return;
	rte_free(p->tbl_all);
	rte_free(p->tbl_local);
	rte_free(p->eligible);
	rte_free(p);
}

void
ef_svc_pool_dq_free(void *p, void *e, unsigned int n)
{
	struct ef_svc_pool **pools = e;

	RTE_SET_USED(p);
	for (unsigned int i = 0; i < n; i++)
		ef_svc_pool_free(pools[i]);
}

static bool
ep_healthy(const struct ef_svc_gen *g, const struct ef_svc_endpoint *e)
{
	return __atomic_load_n(&g->health[e->health_idx].healthy,
			       __ATOMIC_ACQUIRE) != 0;
}

/*
 * Fill one Maglev table from the endpoints with mark bit 'bit' set in
 * elig. Returns 0 or -errno.
 */
static int
pool_table(const struct ef_svc_port *sp, uint8_t *elig, uint8_t bit,
	   uint32_t n, uint16_t **tbl, uint32_t *size, int socket_id)
{
	struct ef_maglev_backend *b;
	uint32_t *map;
	uint32_t k = 0;
	int rc;

	*size = ef_maglev_size_for(n == 0 ? 1 : n);
	if (n == 0) {
		*tbl = NULL;
		*size = 0;
		return 0;
	}
	*tbl = rte_malloc_socket("ef_maglev", sizeof(**tbl) * *size, 0,
				 socket_id);
	b = malloc(sizeof(*b) * n);
	map = malloc(sizeof(*map) * n);
	if (*tbl == NULL || b == NULL || map == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < sp->n_eps && k < n; i++) {
		struct ef_addr a = { .family = sp->eps[i].family ==
				     EF_AF_INET6 ? EF_AF_INET6 : EF_AF_INET4 };

		if (!(elig[i] & bit))
			continue;
		if (a.family == EF_AF_INET6)
			memcpy(a.v6, sp->eps[i].addr6, 16);
		else
			a.v4 = sp->eps[i].addr;
		b[k].id = ef_maglev_backend_id(&a, sp->eps[i].port);
		b[k].weight = sp->eps[i].weight;
		map[k] = i;
		k++;
	}
	rc = ef_maglev_build(*tbl, *size, b, k);
	if (rc == 0) {
		/* translate backend positions into endpoint indexes */
		for (uint32_t i = 0; i < *size; i++)
			if ((*tbl)[i] != EF_MAGLEV_NONE)
				(*tbl)[i] = (uint16_t)map[(*tbl)[i]];
	}
out:
	free(b);
	free(map);
	if (rc != 0) {
		rte_free(*tbl);
		*tbl = NULL;
	}
	return rc;
}

/* True when the local pool's endpoints (bit 2) are exactly the pool's
 * (bit 1). */
static bool
same_sets(const uint8_t *elig, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (((elig[i] >> 1) ^ elig[i]) & 1)
			return false;
	return true;
}

struct ef_svc_pool *
ef_svc_pool_build(const struct ef_svc_gen *g, const struct ef_svc_port *sp,
	   int socket_id)
{
	struct ef_svc_pool *p;
	uint32_t n_ready = 0, n_lready = 0, n_term = 0, n_lterm = 0;

	p = rte_zmalloc_socket("ef_pool", sizeof(*p), 0, socket_id);
	if (p == NULL)
		return NULL;
	p->eligible = rte_zmalloc_socket("ef_pool_elig",
					 RTE_MAX(sp->n_eps, 1u), 0, socket_id);
	if (p->eligible == NULL)
		goto fail;
	for (uint32_t i = 0; i < sp->n_eps; i++) {
		const struct ef_svc_endpoint *e = &sp->eps[i];
		bool local = e->flags & EF_SVC_EP_LOCAL;

		if (!ep_healthy(g, e) || e->weight == 0)
			continue;
		if (e->flags & EF_SVC_EP_READY) {
			n_ready++;
			n_lready += local;
			if (local && !(e->flags & EF_SVC_EP_TERMINATING))
				p->n_local_ready++;
		} else if ((e->flags & EF_SVC_EP_SERVING) &&
			   (e->flags & EF_SVC_EP_TERMINATING)) {
			n_term++;
			n_lterm += local;
		}
	}
	for (uint32_t i = 0; i < sp->n_eps; i++) {
		const struct ef_svc_endpoint *e = &sp->eps[i];
		bool local = e->flags & EF_SVC_EP_LOCAL;
		bool ready = e->flags & EF_SVC_EP_READY;
		bool term = (e->flags & EF_SVC_EP_SERVING) &&
			(e->flags & EF_SVC_EP_TERMINATING) && !ready;

		if (!ep_healthy(g, e) || e->weight == 0)
			continue;
		if (n_ready > 0 ? ready : term) {
			p->eligible[i] |= 1;
			p->n_all++;
		}
		if (local && (n_lready > 0 ? ready : term)) {
			p->eligible[i] |= 2;
			p->n_local++;
		}
	}
	if (pool_table(sp, p->eligible, 1, p->n_all, &p->tbl_all,
		       &p->size_all, socket_id) != 0)
		goto fail;
	if (same_sets(p->eligible, sp->n_eps) && p->n_local == p->n_all &&
	    p->tbl_all != NULL) {
		/* every eligible endpoint is local: the same backends in the
		 * same order give the same table (ef_maglev_build is a
		 * function of them); a copy instead of a second build, which
		 * was 40 % of the start with 100 000 such services */
		p->size_local = p->size_all;
		p->tbl_local = rte_malloc_socket("ef_maglev",
			sizeof(*p->tbl_local) * p->size_all, 0, socket_id);
		if (p->tbl_local == NULL)
			goto fail;
		memcpy(p->tbl_local, p->tbl_all,
		       sizeof(*p->tbl_local) * p->size_all);
	} else if (pool_table(sp, p->eligible, 2, p->n_local, &p->tbl_local,
			      &p->size_local, socket_id) != 0) {
		goto fail;
	}
	return p;
fail:
	ef_svc_pool_free(p);
	return NULL;
}


/* A copy of p for a port of n_eps endpoints, or NULL (out of memory). */
static struct ef_svc_pool *
pool_copy(const struct ef_svc_pool *p, uint32_t n_eps, int socket_id)
{
	struct ef_svc_pool *c;

	c = rte_malloc_socket("ef_pool", sizeof(*c), 0, socket_id);
	if (c == NULL)
		return NULL;
	*c = *p;
	c->tbl_all = c->tbl_local = NULL;
	c->eligible = rte_malloc_socket("ef_pool_elig", RTE_MAX(n_eps, 1u), 0,
					socket_id);
	if (c->eligible == NULL)
		goto fail;
	memcpy(c->eligible, p->eligible, RTE_MAX(n_eps, 1u));
	if (p->tbl_all != NULL) {
		c->tbl_all = rte_malloc_socket("ef_maglev",
			sizeof(*c->tbl_all) * p->size_all, 0, socket_id);
		if (c->tbl_all == NULL)
			goto fail;
		memcpy(c->tbl_all, p->tbl_all,
		       sizeof(*c->tbl_all) * p->size_all);
	}
	if (p->tbl_local != NULL) {
		c->tbl_local = rte_malloc_socket("ef_maglev",
			sizeof(*c->tbl_local) * p->size_local, 0, socket_id);
		if (c->tbl_local == NULL)
			goto fail;
		memcpy(c->tbl_local, p->tbl_local,
		       sizeof(*c->tbl_local) * p->size_local);
	}
	return c;
fail:
	ef_svc_pool_free(c);
	return NULL;
}

/*
 * The pool that ef_svc_pool_build(g, sp) would make, copied from prev's
 * port pp when everything the pool is computed from is the same: the
 * endpoint array (address, target port, flags, weight, in order) and each
 * endpoint's health. NULL when it differs (or out of memory): build it.
 */
struct ef_svc_pool *
ef_svc_pool_reuse(const struct ef_svc_gen *g, const struct ef_svc_port *sp,
		  const struct ef_svc_gen *prev, const struct ef_svc_port *pp,
		  int socket_id)
{
	const struct ef_svc_pool *p = ef_svc_pool_get(pp);

	if (p == NULL || pp->n_eps != sp->n_eps || pp->proto != sp->proto)
		return NULL;
	for (uint32_t i = 0; i < sp->n_eps; i++) {
		const struct ef_svc_endpoint *a = &sp->eps[i], *b = &pp->eps[i];

		if (a->addr != b->addr || a->port != b->port ||
		    a->family != b->family ||
		    memcmp(a->addr6, b->addr6, 16) != 0 ||
		    a->flags != b->flags || a->weight != b->weight ||
		    ep_healthy(g, a) != ep_healthy(prev, b))
			return NULL;
	}
	return pool_copy(p, sp->n_eps, socket_id);
}

/* Index in g->sps of sv's i-th port: its IPv4 ports, then its IPv6 ones. */
static inline uint32_t
sp_of(const struct ef_svc_service *sv, uint32_t i)
{
	return i < sv->n_sp ? sv->first_sp + i : sv->first_sp6 + i - sv->n_sp;
}

int
ef_svc_set_health(struct ef_svc_gen *g, uint32_t h, bool healthy,
		  struct rte_rcu_qsbr_dq *dq, struct rte_rcu_qsbr *v)
{
	const struct ef_svc_service *sv;
	uint32_t n;
	struct ef_svc_pool *fresh[64];
	struct ef_svc_pool **np = fresh;
	uint8_t old;
	int rc = 1;

	if (h >= g->n_health)
		return -EINVAL;
	old = __atomic_load_n(&g->health[h].healthy, __ATOMIC_RELAXED);
	if ((old != 0) == healthy)
		return 0;
	sv = &g->svcs[g->health[h].svc_idx];
	n = sv->n_sp + sv->n_sp6;	/* every port of both families */
	if (n > RTE_DIM(fresh)) {
		/* an array of pool pointers */
		np = malloc(sizeof(struct ef_svc_pool *) * n);
		if (np == NULL)
			return -ENOMEM;
	}
	__atomic_store_n(&g->health[h].healthy, healthy, __ATOMIC_RELEASE);
	/* build every new pool first: publish all or nothing */
	for (uint32_t i = 0; i < n; i++) {
		np[i] = ef_svc_pool_build(g, &g->sps[sp_of(sv, i)],
					  SOCKET_ID_ANY);
		if (np[i] == NULL) {
			for (uint32_t j = 0; j < i; j++)
				ef_svc_pool_free(np[j]);
			__atomic_store_n(&g->health[h].healthy, old,
					 __ATOMIC_RELEASE);
			rc = -ENOMEM;
			goto out;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		struct ef_svc_port *sp = &g->sps[sp_of(sv, i)];
		struct ef_svc_pool *op = sp->pool;

		__atomic_store_n(&sp->pool, np[i], __ATOMIC_RELEASE);
		if (dq != NULL && rte_rcu_qsbr_dq_enqueue(dq, &op) == 0)
			continue;
		if (v != NULL)
			rte_rcu_qsbr_synchronize(v, RTE_QSBR_THRID_INVALID);
		ef_svc_pool_free(op);
	}
out:
	if (np != fresh)
		free(np);
	return rc;
}
