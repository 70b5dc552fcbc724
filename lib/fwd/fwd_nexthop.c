/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frames waiting for a next hop's MAC (ef_fwd.h, EF_FWD_HOLD_*), as Linux
 * holds unres_qlen packets per neighbour while it resolves.
 */
#include "ef_fwd.h"
#include "ef_neigh.h"
#include "fwd_priv.h"

/*
 * A frame ready to leave on iface but for the next hop's MAC: ask the
 * resolver and keep the frame in that next hop's hold slot (ef_fwd.h,
 * EF_FWD_HOLD_*). Consumes m.
 */
static void
hold_any(struct ef_fwd_worker *w, struct rte_mbuf *m, uint16_t iface,
	 uint32_t gw, const uint8_t *gw6)
{
	struct ef_fwd_hold *free_slot = NULL, *h = NULL;

	for (uint32_t i = 0, seen = 0; i < EF_FWD_HOLD_HOPS &&
	     (seen < w->n_hold || free_slot == NULL); i++) {
		struct ef_fwd_hold *s = &w->hold[i];

		if (s->n == 0) {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		seen++;
		if (s->iface == iface && (gw6 != NULL ?
		    s->v6 && memcmp(s->gw6, gw6, 16) == 0 :
		    !s->v6 && s->gw == gw)) {
			h = s;
			break;
		}
	}
	if (h == NULL) {
		if (free_slot == NULL) {
			drop(w, m, EF_FWD_DROP_NEIGH_HOLD_FULL);
			return;
		}
		h = free_slot;
		h->gw = gw;
		h->v6 = gw6 != NULL;
		if (gw6 != NULL)
			memcpy(h->gw6, gw6, 16);
		h->iface = iface;
		h->since_ms = w->now_ms;
		w->n_hold++;
	} else if (h->n >= EF_FWD_HOLD_PKTS) {
		drop(w, m, EF_FWD_DROP_NEIGH_HOLD_FULL);
		return;
	}
	h->m[h->n++] = m;
	w->c.neigh_held++;
}

void
ef_fwd_hold(struct ef_fwd_worker *w, struct rte_mbuf *m, uint16_t iface, uint32_t gw)
{
	ef_neigh_miss4(w->sh->neigh, w->idx, iface, gw);
	hold_any(w, m, iface, gw, NULL);
}

void
ef_fwd_hold6(struct ef_fwd_worker *w, struct rte_mbuf *m, uint16_t iface,
	     const uint8_t gw[16])
{
	ef_neigh_miss6(w->sh->neigh, w->idx, iface, gw);
	hold_any(w, m, iface, 0, gw);
}

/*
 * Once per poll while anything is held: send what waited for a next hop
 * that is now resolved, drop (no_neighbor) what waited EF_FWD_HOLD_MS in
 * vain. Costs nothing while no slot is in use.
 */
void
ef_fwd_hold_release(struct ef_fwd_worker *w)
{
	for (uint32_t i = 0; i < EF_FWD_HOLD_HOPS && w->n_hold != 0; i++) {
		struct ef_fwd_hold *h = &w->hold[i];
		uint8_t mac[6];
		bool ok;

		if (h->n == 0)
			continue;
		ok = (h->v6 ? ef_neigh_lookup6(w->sh->neigh, h->iface, h->gw6,
					       mac) :
		      ef_neigh_lookup4(w->sh->neigh, h->iface, h->gw, mac)) == 0;
		if (!ok && w->now_ms - h->since_ms < EF_FWD_HOLD_MS)
			continue;
		for (uint16_t j = 0; j < h->n; j++) {
			struct rte_ether_hdr *eh = rte_pktmbuf_mtod(h->m[j],
						struct rte_ether_hdr *);

			if (!ok) {
				drop(w, h->m[j], EF_FWD_DROP_NO_NEIGHBOR);
				continue;
			}
			memcpy(eh->dst_addr.addr_bytes, mac, 6);
			memcpy(eh->src_addr.addr_bytes,
			       w->sh->ports[h->iface].mac, 6);
			w->c.neigh_released++;
			out_queue(w, h->iface, h->m[j]);
		}
		h->n = 0;
		w->n_hold--;
	}
}
