/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ClientIP session affinity: per worker, (client, service, port) -> the
 * endpoint last chosen, in an rte_hash with a value array by key position.
 * Ownership by client address (ef_fwd_owner) brings every flow of a client
 * to one worker, so the table needs no sharing.
 */
#include <stdio.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "ef_fwd.h"
#include "fwd_priv.h"

struct aff_key {
	uint32_t client;
	uint32_t svc_id;
	uint32_t port_idx;
};

struct ef_fwd_affinity {
	uint32_t ep_addr;
	uint16_t ep_port;
	uint16_t pad;
	uint32_t last_ms;
	uint32_t timeout_ms;
};

int
ef_fwd_affinity_init(struct ef_fwd_worker *w, uint32_t entries, int socket_id)
{
	char name[64];
	struct rte_hash_parameters hp = {
		.name = name,
		.key_len = sizeof(struct aff_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket_id,
		.entries = entries,
	};

	snprintf(name, sizeof(name), "ef_aff_w%u", w->idx);
	w->affinity = rte_hash_create(&hp);
	if (w->affinity == NULL)
		return -rte_errno;
	w->aff = rte_zmalloc_socket("ef_aff", sizeof(*w->aff) *
				    (rte_hash_max_key_id(w->affinity) + 1), 0,
				    socket_id);
	return w->aff == NULL ? -ENOMEM : 0;
}

void
ef_fwd_affinity_fini(struct ef_fwd_worker *w)
{
	rte_free(w->aff);
	w->aff = NULL;
	rte_hash_free(w->affinity);
	w->affinity = NULL;
}

/* ClientIP affinity: a remembered endpoint still eligible, or -1. */
int32_t
ef_fwd_affinity_get(struct ef_fwd_worker *w, const struct ef_svc_frontend *fe,
	     const struct ef_svc_port *sp, uint32_t svc_id, uint32_t client)
{
	struct aff_key k = {
		.client = client, .svc_id = svc_id, .port_idx = sp->port_idx,
	};
	struct ef_fwd_affinity *a;
	int32_t pos = rte_hash_lookup(w->affinity, &k);

	if (pos < 0)
		return -1;
	a = &w->aff[pos];
	if ((int32_t)(w->now_ms - a->last_ms) >= (int32_t)a->timeout_ms)
		return -1;
	for (uint32_t i = 0; i < sp->n_eps; i++) {
		if (sp->eps[i].addr == a->ep_addr &&
		    sp->eps[i].port == a->ep_port) {
			if (!ef_svc_eligible(w->gen, fe, i))
				return -1;
			a->last_ms = w->now_ms;
			w->c.affinity_hits++;
			return (int32_t)i;
		}
	}
	return -1;
}

void
ef_fwd_affinity_put(struct ef_fwd_worker *w, const struct ef_svc_frontend *fe,
	     const struct ef_svc_port *sp, uint32_t svc_id, uint32_t client,
	     const struct ef_svc_endpoint *ep)
{
	struct aff_key k = {
		.client = client, .svc_id = svc_id, .port_idx = sp->port_idx,
	};
	int32_t pos = rte_hash_add_key(w->affinity, &k);

	/* a full table only loses stickiness across endpoint changes: the
	 * Maglev choice on the client address already keeps the client */
	if (pos < 0)
		return;
	w->aff[pos].ep_addr = ep->addr;
	w->aff[pos].ep_port = ep->port;
	w->aff[pos].last_ms = w->now_ms;
	w->aff[pos].timeout_ms = fe->affinity_timeout_ms;
}

void
ef_fwd_affinity_sweep(struct ef_fwd_worker *w)
{
	uint32_t n = rte_hash_max_key_id(w->affinity) + 1;

	for (uint32_t i = 0; i < AFF_SWEEP; i++) {
		struct aff_key *k;
		uint32_t pos = w->aff_cursor++ % n;
		struct ef_fwd_affinity *a = &w->aff[pos];

		if (rte_hash_get_key_with_position(w->affinity, (int32_t)pos,
						   (void **)&k) != 0)
			continue;
		if ((int32_t)(w->now_ms - a->last_ms) >= (int32_t)a->timeout_ms)
			rte_hash_del_key(w->affinity, k);
	}
}
