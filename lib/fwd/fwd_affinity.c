/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ClientIP session affinity: per worker, (client, service, port) -> the
 * endpoint last chosen, in an rte_hash with a value array by key position,
 * for IPv4 and IPv6 clients alike.
 * Ownership by client address (ef_fwd_owner) brings every flow of a client
 * to one worker, so the table needs no sharing.
 */
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "ef_fwd.h"
#include "fwd_priv.h"

/* Both families in one table: an IPv4 client as its IPv4-mapped IPv6
 * address (::ffff:a.b.c.d, RFC 4291 2.5.5.2), which no IPv6 endpoint list
 * matches. Aligned for rte_hash_crc's 8-byte reads. */
struct aff_key {
	uint8_t client[16];
	uint32_t svc_id;
	uint32_t port_idx;
} __rte_aligned(8);

struct ef_fwd_affinity {
	uint8_t ep_addr[16];	/* the same form as the key's client */
	uint16_t ep_port;
	uint16_t pad;
	uint32_t last_ms;
	uint32_t timeout_ms;
};

static inline void
mapped4(uint8_t a[16], uint32_t v4)
{
	memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	memcpy(a + 12, &v4, 4);
}

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

/* The remembered endpoint of k, still eligible, or -1. v6: sp's
 * endpoints are IPv6 ones (addr6). */
static int32_t
get_key(struct ef_fwd_worker *w, const struct ef_svc_frontend *fe,
	const struct ef_svc_port *sp, const struct aff_key *k, bool v6)
{
	struct ef_fwd_affinity *a;
	int32_t pos = rte_hash_lookup(w->affinity, k);
	uint32_t ep4;

	if (pos < 0)
		return -1;
	a = &w->aff[pos];
	if ((int32_t)(w->now_ms - a->last_ms) >= (int32_t)a->timeout_ms)
		return -1;
	memcpy(&ep4, a->ep_addr + 12, 4);
	for (uint32_t i = 0; i < sp->n_eps; i++) {
		const struct ef_svc_endpoint *ep = &sp->eps[i];

		if (ep->port != a->ep_port ||
		    (v6 ? memcmp(ep->addr6, a->ep_addr, 16) != 0 :
		     ep->addr != ep4))
			continue;
		if (!ef_svc_eligible(w->gen, fe, i))
			return -1;
		a->last_ms = w->now_ms;
		w->c.affinity_hits++;
		return (int32_t)i;
	}
	return -1;
}

int32_t
ef_fwd_affinity_get(struct ef_fwd_worker *w, const struct ef_svc_frontend *fe,
	     const struct ef_svc_port *sp, uint32_t svc_id, uint32_t client)
{
	struct aff_key k = { .svc_id = svc_id, .port_idx = sp->port_idx };

	mapped4(k.client, client);
	return get_key(w, fe, sp, &k, false);
}

int32_t
ef_fwd_affinity_get6(struct ef_fwd_worker *w,
		     const struct ef_svc_frontend *fe,
		     const struct ef_svc_port *sp, uint32_t svc_id,
		     const uint8_t client[16])
{
	struct aff_key k = { .svc_id = svc_id, .port_idx = sp->port_idx };

	memcpy(k.client, client, 16);
	return get_key(w, fe, sp, &k, true);
}

static void
put_key(struct ef_fwd_worker *w, const struct ef_svc_frontend *fe,
	const struct aff_key *k, const uint8_t ep_addr[16], uint16_t ep_port)
{
	int32_t pos = rte_hash_add_key(w->affinity, k);

	/* a full table only loses stickiness across endpoint changes: the
	 * Maglev choice on the client address already keeps the client */
	if (pos < 0)
		return;
	memcpy(w->aff[pos].ep_addr, ep_addr, 16);
	w->aff[pos].ep_port = ep_port;
	w->aff[pos].last_ms = w->now_ms;
	w->aff[pos].timeout_ms = fe->affinity_timeout_ms;
}

void
ef_fwd_affinity_put(struct ef_fwd_worker *w, const struct ef_svc_frontend *fe,
	     const struct ef_svc_port *sp, uint32_t svc_id, uint32_t client,
	     const struct ef_svc_endpoint *ep)
{
	struct aff_key k = { .svc_id = svc_id, .port_idx = sp->port_idx };
	uint8_t ep_addr[16];

	mapped4(k.client, client);
	mapped4(ep_addr, ep->addr);
	put_key(w, fe, &k, ep_addr, ep->port);
}

void
ef_fwd_affinity_put6(struct ef_fwd_worker *w,
		     const struct ef_svc_frontend *fe,
		     const struct ef_svc_port *sp, uint32_t svc_id,
		     const uint8_t client[16], const struct ef_svc_endpoint *ep)
{
	struct aff_key k = { .svc_id = svc_id, .port_idx = sp->port_idx };

	memcpy(k.client, client, 16);
	put_key(w, fe, &k, ep->addr6, ep->port);
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
