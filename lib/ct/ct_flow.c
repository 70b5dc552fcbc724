/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flow lifecycle of a conntrack table: creation (with the early-drop
 * FIFO when the table is full), deletion, timeouts, the expiry sweep and
 * walks. See ef_ct.h for the semantics.
 */

#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ip.h>

#include "ef_ct.h"
#include "ct_index.h"
#include "ct_priv.h"

static inline bool
unreplied(const struct ef_ct_flow *f)
{
	return f->state == EF_CT_NONE || f->state == EF_CT_SYN_SENT ||
		f->state == EF_CT_UDP_NEW;
}

static void
fifo_push(struct ef_ct *ct, uint32_t idx)
{
	uint32_t pos = ct->fifo_head + ct->fifo_count;

	if (pos >= ct->max_flows)
		pos -= ct->max_flows;
	ct->fifo[pos] = idx;
	ct->fifo_count++;
}

static uint32_t
fifo_pop(struct ef_ct *ct)
{
	uint32_t idx = ct->fifo[ct->fifo_head];

	if (++ct->fifo_head == ct->max_flows)
		ct->fifo_head = 0;
	ct->fifo_count--;
	return idx;
}

/*
 * Free one slot by evicting the oldest flow that never saw a reply, if it
 * is old enough. Examines at most EF_CT_EARLY_DROP_SCAN FIFO entries:
 * stale ones (freed, or replied since) leave the FIFO; a young head stops
 * the scan (everything behind it is younger), unless it is a reused slot
 * holding an older place (EF_CT_F_REQUEUE), which moves to the tail.
 * Returns true when a flow was evicted.
 */
static bool
early_drop(struct ef_ct *ct, uint32_t now_ms)
{
	struct ef_ct_flow *f;
	uint32_t i, idx;

	for (i = 0; i < EF_CT_EARLY_DROP_SCAN && ct->fifo_count > 0; i++) {
		idx = ct->fifo[ct->fifo_head];
		f = &ct->flows[idx];
		if (!(f->flags & EF_CT_F_IN_USE) || !unreplied(f)) {
			fifo_pop(ct);
			f->flags &= ~(EF_CT_F_QUEUED | EF_CT_F_REQUEUE);
			continue;
		}
		if ((int32_t)(now_ms - f->created_ms) <=
		    (int32_t)EF_CT_EARLY_DROP_MS) {
			if (!(f->flags & EF_CT_F_REQUEUE))
				return false;
			fifo_pop(ct);
			fifo_push(ct, idx);
			f->flags &= ~EF_CT_F_REQUEUE;
			continue;
		}
		fifo_pop(ct);
		f->flags &= ~(EF_CT_F_QUEUED | EF_CT_F_REQUEUE);
		if (ct->evict_cb != NULL)
			ct->evict_cb(ct->evict_arg, f);
		ef_ct_delete(ct, f);
		ct->stats.early_drops++;
		return true;
	}
	return false;
}

struct ef_ct_flow *
ef_ct_flow_claim(struct ef_ct *ct, const struct ef_ct_hpos *po,
		 const struct ef_ct_hpos *pr, uint32_t now_ms, int *err)
{
	struct ef_ct_flow *f;
	uint32_t idx;

	if (ct->free_top == 0 && !early_drop(ct, now_ms)) {
		ct->stats.full++;
		*err = -ENOSPC;
		return NULL;
	}
	idx = ct->free_stack[ct->free_top - 1];
	/* The index needs only the hash positions: the flow is filled after. */
	if (ef_ct_idx_insert(ct, po, idx << 1) != 0)
		goto err_full;
	if (ef_ct_idx_insert(ct, pr, idx << 1 | 1) != 0) {
		ef_ct_idx_remove(ct, po, idx << 1);
		goto err_full;
	}
	ct->free_top--;

	f = &ct->flows[idx];
	f->flags &= EF_CT_F_QUEUED;	/* its FIFO entry may remain */
	f->state = EF_CT_NONE;
	f->flags |= EF_CT_F_IN_USE;
	f->wscale = 0xff;
	f->created_ms = now_ms;
	f->last_ms = now_ms;
	f->svc_id = 0;
	f->gen = 0;
	f->seq_end[0] = f->seq_end[1] = 0;
	f->max_win[0] = f->max_win[1] = 0;
	memset(f->user, 0, sizeof(f->user));
	if (!(f->flags & EF_CT_F_QUEUED)) {
		f->flags |= EF_CT_F_QUEUED;
		fifo_push(ct, idx);
	} else {
		/* The slot's old FIFO entry is ahead of its creation time. */
		f->flags |= EF_CT_F_REQUEUE;
	}
	ct->stats.created++;
	ct->stats.active++;
	ct->stats.by_state[EF_CT_NONE]++;
	*err = 0;
	return f;

err_full:
	EF_CT_LOG(WARNING, "%s: index full below max_flows (%u active)",
		  ct->name, ct->stats.active);
	ct->stats.full++;
	*err = -ENOSPC;
	return NULL;
}

struct ef_ct_flow *
ef_ct_create_flow(struct ef_ct *ct, const struct ef_ct_key4 *orig,
		  const struct ef_ct_key4 *reply, uint32_t now_ms, int *err)
{
	struct ef_ct_key4 ko = *orig, kr = *reply;
	struct ef_ct_hpos po, pr;
	struct ef_ct_flow *f;
	uint64_t wo[2], wr[2];
	uint8_t dir;

	memset(ko.pad, 0, sizeof(ko.pad));
	memset(kr.pad, 0, sizeof(kr.pad));
	/*
	 * The reply key's destination must be rebuildable from the flow
	 * (ef_ct_flow_key4): an address of 0 cannot mean SNAT.
	 */
	if (memcmp(&ko, &kr, sizeof(ko)) == 0 || ko.proto != kr.proto ||
	    ((kr.dst != ko.src || kr.dport != ko.sport) && kr.dst == 0)) {
		*err = -EINVAL;
		return NULL;
	}
	key_words(&ko, wo);
	key_words(&kr, wr);
	key_hash(ct, wo, &po);
	key_hash(ct, wr, &pr);
	if (idx_find(ct, wo, &po, &dir) != NULL ||
	    idx_find(ct, wr, &pr, &dir) != NULL) {
		*err = -EEXIST;
		return NULL;
	}
	f = ef_ct_flow_claim(ct, &po, &pr, now_ms, err);
	if (f == NULL)
		return NULL;
	f->client = ko.src;
	f->frontend = ko.dst;
	f->cport = ko.sport;
	f->fport = ko.dport;
	f->endpoint = kr.src;
	f->eport = kr.sport;
	if (kr.dst != ko.src || kr.dport != ko.sport) {
		f->snat = kr.dst;
		f->sport_snat = kr.dport;
	} else {
		f->snat = 0;
		f->sport_snat = 0;
	}
	f->proto = ko.proto;
	return f;
}

void
ef_ct_delete(struct ef_ct *ct, struct ef_ct_flow *f)
{
	struct ef_ct_hpos p;
	uint32_t idx = (uint32_t)(f - ct->flows);
	uint64_t w[2];
	uint8_t dir;

	if (!(f->flags & EF_CT_F_IN_USE))
		return;
	for (dir = 0; dir < 2; dir++) {
		if (unlikely(ct->a6 != NULL)) {
			ef_ct6_flow_hpos(ct, f, dir, &p);
		} else {
			flow_words(f, dir, w);
			key_hash(ct, w, &p);
		}
		ef_ct_idx_remove(ct, &p, idx << 1 | dir);
	}
	ct->stats.by_state[f->state]--;
	ct->stats.active--;
	ct->stats.deleted++;
	f->state = EF_CT_NONE;
	f->flags &= EF_CT_F_QUEUED;
	ct->free_stack[ct->free_top++] = idx;
}

uint32_t
ef_ct_timeout_ms(const struct ef_ct *ct, const struct ef_ct_flow *f)
{
	if (f->state == EF_CT_NONE) {
		if (f->proto == IPPROTO_TCP)
			return ct->timeout_none_ms[0];
		if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)
			return ct->timeout_none_ms[2];
		return ct->timeout_none_ms[1];
	}
	return ct->timeout_ms[f->state < EF_CT_STATE_MAX ? f->state : 0];
}

uint32_t
ef_ct_expire(struct ef_ct *ct, uint32_t now_ms, uint32_t budget,
	     ef_ct_expire_fn cb, void *arg)
{
	struct ef_ct_flow *f;
	uint32_t i, idx = ct->expire_cursor, n = 0;

	/* an empty table (the IPv6 one of a node without IPv6 traffic):
	 * nothing to scan, every poll */
	if (ct->stats.active == 0)
		return 0;
	budget = RTE_MIN(budget, ct->max_flows);
	for (i = 0; i < budget; i++) {
		f = &ct->flows[idx];
		if ((f->flags & EF_CT_F_IN_USE) &&
		    (int32_t)(now_ms - f->last_ms) >=
		    (int32_t)ef_ct_timeout_ms(ct, f)) {
			if (cb != NULL)
				cb(arg, f);
			ef_ct_delete(ct, f);
			ct->stats.expired++;
			n++;
		}
		if (++idx == ct->max_flows)
			idx = 0;
	}
	ct->expire_cursor = idx;
	return n;
}

uint32_t
ef_ct_walk(struct ef_ct *ct, uint32_t *cursor, uint32_t budget,
	   ef_ct_walk_fn cb, void *arg)
{
	struct ef_ct_flow *f;
	uint32_t idx = *cursor, stop, n = 0;

	if (idx >= ct->max_flows)
		idx = 0;
	stop = idx + RTE_MIN(budget, ct->max_flows - idx);
	for (; idx < stop; idx++) {
		f = &ct->flows[idx];
		if (!(f->flags & EF_CT_F_IN_USE))
			continue;
		n++;
		if (cb(arg, f) == 1)
			ef_ct_delete(ct, f);
	}
	*cursor = idx == ct->max_flows ? 0 : idx;
	return n;
}
