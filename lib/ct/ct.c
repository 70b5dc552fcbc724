/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker connection tracking: a compact cuckoo index for the two keys
 * of a flow (ct_index.c), a preallocated flow array, a free-index stack
 * and an early-drop FIFO (ct_flow.c), the per-packet state machines
 * (ct_tcp.c). This file creates and frees a table. See ef_ct.h for the
 * semantics.
 *
 * Everything is allocated at creation, hugepage-backed when EAL has
 * hugepages.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memzone.h>

#include "ef_ct.h"
#include "ef_log.h"
#include "ct_priv.h"

EF_LOG_REGISTER(ct);

_Static_assert(sizeof(struct ef_ct_flow) <= 64, "ef_ct_flow exceeds a cache line");
_Static_assert(sizeof(struct ef_ct_key4) == 16, "ef_ct_key4 must be 16 bytes");

static const char *const ef_ct_state_names[] = {
/* NOLINTNEXTLINE(bugprone-macro-parentheses): a designator, not an expression */
#define EF_CT_STATE_NAME(name, text) [EF_CT_##name] = text,
	EF_CT_FOREACH_STATE(EF_CT_STATE_NAME)
#undef EF_CT_STATE_NAME
};

const char *
ef_ct_state_name(unsigned int state)
{
	if (state >= EF_CT_STATE_MAX)
		return "?";
	return ef_ct_state_names[state];
}

void
ef_ct_flow_key4(const struct ef_ct_flow *f, uint8_t dir, struct ef_ct_key4 *k)
{
	memset(k, 0, sizeof(*k));
	k->proto = f->proto;
	if (dir == 0) {
		k->src = f->client;
		k->dst = f->frontend;
		k->sport = f->cport;
		k->dport = f->fport;
	} else {
		k->src = f->endpoint;
		k->sport = f->eport;
		k->dst = f->snat != 0 ? f->snat : f->client;
		k->dport = f->snat != 0 ? f->sport_snat : f->cport;
	}
}

static uint32_t
timeout_ms(uint32_t seconds)
{
	return seconds * 1000u;
}

static int
check_timeouts(const struct ef_cfg_conntrack *t)
{
	const uint32_t v[] = {
		t->tcp_syn_timeout, t->tcp_established_timeout,
		t->tcp_fin_timeout, t->tcp_close_timeout, t->udp_timeout,
		t->udp_stream_timeout, t->icmp_timeout,
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(v); i++) {
		if (v[i] == 0 || v[i] > EF_CT_TIMEOUT_MAX_S)
			return -EINVAL;
	}
	return 0;
}

/* Milliseconds per state from the configuration's seconds. */
static void
set_timeouts(struct ef_ct *ct, const struct ef_cfg_conntrack *t)
{
	ct->timeout_ms[EF_CT_NONE] = timeout_ms(t->tcp_syn_timeout);
	ct->timeout_ms[EF_CT_SYN_SENT] = timeout_ms(t->tcp_syn_timeout);
	ct->timeout_ms[EF_CT_SYN_RECV] = timeout_ms(t->tcp_syn_timeout);
	ct->timeout_ms[EF_CT_ESTABLISHED] =
		timeout_ms(t->tcp_established_timeout);
	ct->timeout_ms[EF_CT_FIN_WAIT] = timeout_ms(t->tcp_fin_timeout);
	ct->timeout_ms[EF_CT_CLOSE_WAIT] = timeout_ms(t->tcp_fin_timeout);
	ct->timeout_ms[EF_CT_LAST_ACK] = timeout_ms(t->tcp_fin_timeout);
	ct->timeout_ms[EF_CT_TIME_WAIT] = timeout_ms(t->tcp_close_timeout);
	ct->timeout_ms[EF_CT_CLOSE] = timeout_ms(t->tcp_close_timeout);
	ct->timeout_ms[EF_CT_UDP_NEW] = timeout_ms(t->udp_timeout);
	ct->timeout_ms[EF_CT_UDP_REPLIED] = timeout_ms(t->udp_stream_timeout);
	ct->timeout_ms[EF_CT_ICMP] = timeout_ms(t->icmp_timeout);
	ct->timeout_none_ms[0] = timeout_ms(t->tcp_syn_timeout);
	ct->timeout_none_ms[1] = timeout_ms(t->udp_timeout);
	ct->timeout_none_ms[2] = timeout_ms(t->icmp_timeout);
}

/*
 * The flow array, the free-index stack (every slot free) and the FIFO.
 * Returns 0 or -ENOMEM (the caller frees what was allocated).
 */
static int
alloc_flows(struct ef_ct *ct, int socket_id)
{
	uint32_t max_flows = ct->max_flows;
	size_t flows_sz;
	uint32_t i;

	flows_sz = (size_t)max_flows * sizeof(struct ef_ct_flow);
	ct->flows = rte_zmalloc_socket("ef_ct_flows", flows_sz,
				       RTE_CACHE_LINE_SIZE, socket_id);
	if (ct->flows == NULL)
		return -ENOMEM;
	ct->free_stack = rte_malloc_socket("ef_ct_free",
					   (size_t)max_flows * sizeof(uint32_t),
					   RTE_CACHE_LINE_SIZE, socket_id);
	if (ct->free_stack == NULL)
		return -ENOMEM;
	ct->fifo = rte_malloc_socket("ef_ct_fifo",
				     (size_t)max_flows * sizeof(uint32_t),
				     RTE_CACHE_LINE_SIZE, socket_id);
	if (ct->fifo == NULL)
		return -ENOMEM;
	ct->own_bytes = sizeof(*ct) + flows_sz +
		2 * (size_t)max_flows * sizeof(uint32_t);
	if (ct->family == 6) {
		size_t a6_sz = (size_t)max_flows * sizeof(struct ef_ct_addr6);

		ct->a6 = rte_zmalloc_socket("ef_ct_a6", a6_sz,
					    RTE_CACHE_LINE_SIZE, socket_id);
		if (ct->a6 == NULL)
			return -ENOMEM;
		ct->own_bytes += a6_sz;
	}

	/* Low indexes first: fresh tables touch the array front to back. */
	for (i = 0; i < max_flows; i++)
		ct->free_stack[i] = max_flows - 1 - i;
	ct->free_top = max_flows;
	return 0;
}

struct ef_ct *
ef_ct_create(const struct ef_ct_params *p)
{
	struct ef_ct *ct;
	int rc;

	if (p == NULL || p->name == NULL || p->max_flows < 4 ||
	    p->max_flows > EF_CT_MAX_FLOWS || check_timeouts(&p->timeouts) ||
	    (p->family != 0 && p->family != 4 && p->family != 6)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (strlen(p->name) > EF_CT_NAME_MAX || p->name[0] == '\0') {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}

	ct = rte_zmalloc_socket("ef_ct", sizeof(*ct), RTE_CACHE_LINE_SIZE,
				p->socket_id);
	if (ct == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(ct->name, sizeof(ct->name), "%s", p->name);
	ct->max_flows = p->max_flows;
	ct->family = p->family == 6 ? 6 : 4;
	ct->evict_cb = p->evict_cb;
	ct->evict_arg = p->evict_arg;
	set_timeouts(ct, &p->timeouts);

	rc = ef_ct_idx_create(ct, p->socket_id);
	if (rc == -EEXIST) {
		rte_free(ct);
		rte_errno = EEXIST;
		return NULL;
	}
	if (rc != 0 || alloc_flows(ct, p->socket_id) != 0)
		goto err_nomem;
	return ct;

err_nomem:
	EF_CT_LOG(ERR, "%s: no memory for %u flows", p->name, p->max_flows);
	rte_free(ct->a6);
	rte_free(ct->fifo);
	rte_free(ct->free_stack);
	rte_free(ct->flows);
	rte_memzone_free(ct->mz);
	rte_free(ct);
	rte_errno = ENOMEM;
	return NULL;
}

void
ef_ct_free(struct ef_ct *ct)
{
	if (ct == NULL)
		return;
	rte_memzone_free(ct->mz);
	rte_free(ct->a6);
	rte_free(ct->fifo);
	rte_free(ct->free_stack);
	rte_free(ct->flows);
	rte_free(ct);
}

const struct ef_ct_stats *
ef_ct_stats(const struct ef_ct *ct)
{
	return &ct->stats;
}

uint32_t
ef_ct_flow_index(const struct ef_ct *ct, const struct ef_ct_flow *f)
{
	return (uint32_t)(f - ct->flows);
}

struct ef_ct_flow *
ef_ct_flow_at(struct ef_ct *ct, uint32_t idx)
{
	if (idx >= ct->max_flows || !(ct->flows[idx].flags & EF_CT_F_IN_USE))
		return NULL;
	return &ct->flows[idx];
}

uint32_t
ef_ct_capacity(const struct ef_ct *ct)
{
	return ct->max_flows;
}

size_t
ef_ct_memory(const struct ef_ct *ct)
{
	return ct->idx_bytes + ct->own_bytes;
}

size_t
ef_ct_hash_memory(const struct ef_ct *ct)
{
	return ct->idx_bytes + sizeof(ct->stash);
}
