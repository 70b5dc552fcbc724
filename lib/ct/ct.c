/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker connection tracking: rte_hash for the two keys of a flow,
 * a preallocated flow array, a free-index stack and an early-drop FIFO.
 * See ef_ct.h for the semantics.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_prefetch.h>

#include "ef_ct.h"

RTE_LOG_REGISTER(ef_ct_logtype, user.edgefwd.ct, INFO);
#define EF_CT_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, ef_ct_logtype, "ct: " fmt "\n", ##__VA_ARGS__)

_Static_assert(sizeof(struct ef_ct_flow) <= 64, "ef_ct_flow exceeds a cache line");
_Static_assert(sizeof(struct ef_ct_key4) == 16, "ef_ct_key4 must be 16 bytes");

/* Linux's MAXACKWINDOW floor: acks may lag this far behind seq_end. */
#define EF_CT_MIN_ACKWIN 66000u
/* RFC 7323: a shift above 14 is treated as 14. */
#define EF_CT_WSCALE_MAX 14u

#define TCP_F_FIN 0x01
#define TCP_F_SYN 0x02
#define TCP_F_RST 0x04
#define TCP_F_ACK 0x10

struct ef_ct {
	struct rte_hash *hash;
	struct ef_ct_flow *flows;
	uint32_t *free_stack;	/* free slot indexes; top is free_top - 1 */
	uint32_t *fifo;		/* early-drop candidates, creation order */
	uint32_t max_flows;
	uint32_t free_top;
	uint32_t fifo_head;
	uint32_t fifo_count;
	uint32_t expire_cursor;
	uint32_t timeout_ms[EF_CT_STATE_MAX];
	uint32_t timeout_none_ms[3];	/* NONE by proto: TCP, UDP/other, ICMP */
	void (*evict_cb)(void *arg, struct ef_ct_flow *f);
	void *evict_arg;
	size_t hash_bytes;
	size_t own_bytes;
	struct ef_ct_stats stats;
	char name[EF_CT_NAME_MAX + 1];
};

static const char *const ef_ct_state_names[] = {
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

/* Sum of allocated heap bytes over the NUMA sockets EAL knows. */
static size_t
heap_allocated(void)
{
	struct rte_malloc_socket_stats st;
	unsigned int i;
	size_t sum = 0;

	for (i = 0; i < rte_socket_count(); i++) {
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			sum += st.heap_allocsz_bytes;
	}
	return sum;
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

struct ef_ct *
ef_ct_create(const struct ef_ct_params *p)
{
	struct rte_hash_parameters hp;
	struct ef_ct *ct;
	char hname[RTE_HASH_NAMESIZE];
	const struct ef_cfg_conntrack *t;
	size_t before, flows_sz, idx_sz;
	uint32_t i;

	if (p == NULL || p->name == NULL || p->max_flows < 4 ||
	    p->max_flows > EF_CT_MAX_FLOWS || check_timeouts(&p->timeouts)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (strlen(p->name) > EF_CT_NAME_MAX || p->name[0] == '\0') {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}
	t = &p->timeouts;

	ct = rte_zmalloc_socket("ef_ct", sizeof(*ct), RTE_CACHE_LINE_SIZE,
				p->socket_id);
	if (ct == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(ct->name, sizeof(ct->name), "%s", p->name);
	ct->max_flows = p->max_flows;
	ct->evict_cb = p->evict_cb;
	ct->evict_arg = p->evict_arg;

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

	/*
	 * Two keys per flow. The extendable bucket table guarantees that all
	 * 2 * max_flows keys fit: without it cuckoo insertion can fail well
	 * before the table is full (a power-of-two max_flows fills every
	 * bucket slot), and established flows would then be refused below
	 * the configured limit.
	 */
	snprintf(hname, sizeof(hname), "ct_%s", p->name);
	memset(&hp, 0, sizeof(hp));
	hp.name = hname;
	hp.entries = 2 * p->max_flows;
	hp.key_len = sizeof(struct ef_ct_key4);
	hp.hash_func = rte_hash_crc;
	hp.hash_func_init_val = 0;
	hp.socket_id = p->socket_id;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	before = heap_allocated();
	ct->hash = rte_hash_create(&hp);
	if (ct->hash == NULL) {
		EF_CT_LOG(ERR, "%s: rte_hash_create(%u entries): %s", p->name,
			  hp.entries, rte_strerror(rte_errno));
		if (rte_errno != EEXIST)
			rte_errno = ENOMEM;
		goto err_ct;
	}
	ct->hash_bytes = heap_allocated() - before;

	flows_sz = (size_t)p->max_flows * sizeof(struct ef_ct_flow);
	idx_sz = (size_t)p->max_flows * sizeof(uint32_t);
	ct->flows = rte_zmalloc_socket("ef_ct_flows", flows_sz,
				       RTE_CACHE_LINE_SIZE, p->socket_id);
	if (ct->flows == NULL)
		goto err_nomem;
	ct->free_stack = rte_malloc_socket("ef_ct_free", idx_sz,
					   RTE_CACHE_LINE_SIZE, p->socket_id);
	if (ct->free_stack == NULL)
		goto err_nomem;
	ct->fifo = rte_malloc_socket("ef_ct_fifo", idx_sz,
				     RTE_CACHE_LINE_SIZE, p->socket_id);
	if (ct->fifo == NULL)
		goto err_nomem;
	ct->own_bytes = sizeof(*ct) + flows_sz + 2 * idx_sz;

	/* Low indexes first: fresh tables touch the array front to back. */
	for (i = 0; i < p->max_flows; i++)
		ct->free_stack[i] = p->max_flows - 1 - i;
	ct->free_top = p->max_flows;
	return ct;

err_nomem:
	EF_CT_LOG(ERR, "%s: no memory for %u flows", p->name, p->max_flows);
	rte_errno = ENOMEM;
	rte_free(ct->fifo);
	rte_free(ct->free_stack);
	rte_free(ct->flows);
	rte_hash_free(ct->hash);
err_ct:
	rte_free(ct);
	return NULL;
}

void
ef_ct_free(struct ef_ct *ct)
{
	if (ct == NULL)
		return;
	rte_hash_free(ct->hash);
	rte_free(ct->fifo);
	rte_free(ct->free_stack);
	rte_free(ct->flows);
	rte_free(ct);
}

static inline struct ef_ct_flow *
data_to_flow(struct ef_ct *ct, void *data, uint8_t *dir)
{
	uintptr_t v = (uintptr_t)data;

	*dir = (uint8_t)(v & 1);
	return &ct->flows[v >> 1];
}

static inline void *
flow_to_data(uint32_t idx, uint8_t dir)
{
	return (void *)(((uintptr_t)idx << 1) | dir);
}

void
ef_ct_lookup_bulk(struct ef_ct *ct, const struct ef_ct_key4 *keys[],
		  uint32_t n, struct ef_ct_flow *flows[], uint8_t dir[])
{
	void *data[EF_CT_BULK_MAX];
	uint64_t hits = 0;
	uint32_t i;

	if (unlikely(n > EF_CT_BULK_MAX))
		n = EF_CT_BULK_MAX;
	if (n == 0)
		return;
	if (rte_hash_lookup_bulk_data(ct->hash, (const void **)keys, n, &hits,
				      data) < 0)
		hits = 0;
	for (i = 0; i < n; i++) {
		if (hits & (1ull << i)) {
			flows[i] = data_to_flow(ct, data[i], &dir[i]);
			rte_prefetch0(flows[i]);
		} else {
			flows[i] = NULL;
			dir[i] = 0;
		}
	}
}

struct ef_ct_flow *
ef_ct_lookup(struct ef_ct *ct, const struct ef_ct_key4 *k, uint8_t *dir)
{
	void *data;

	if (rte_hash_lookup_data(ct->hash, k, &data) < 0)
		return NULL;
	return data_to_flow(ct, data, dir);
}

bool
ef_ct_key_in_use(const struct ef_ct *ct, const struct ef_ct_key4 *k)
{
	return rte_hash_lookup(ct->hash, k) >= 0;
}

static inline void
set_state(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t state)
{
	ct->stats.by_state[f->state]--;
	ct->stats.by_state[state]++;
	f->state = state;
}

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
ef_ct_create_flow(struct ef_ct *ct, const struct ef_ct_key4 *orig,
		  const struct ef_ct_key4 *reply, uint32_t now_ms, int *err)
{
	struct ef_ct_key4 ko = *orig, kr = *reply;
	struct ef_ct_flow *f;
	hash_sig_t ho, hr;
	uint32_t idx;
	int ret;

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
	ho = rte_hash_hash(ct->hash, &ko);
	hr = rte_hash_hash(ct->hash, &kr);
	if (rte_hash_lookup_with_hash(ct->hash, &ko, ho) >= 0 ||
	    rte_hash_lookup_with_hash(ct->hash, &kr, hr) >= 0) {
		*err = -EEXIST;
		return NULL;
	}
	if (ct->free_top == 0 && !early_drop(ct, now_ms)) {
		ct->stats.full++;
		*err = -ENOSPC;
		return NULL;
	}
	idx = ct->free_stack[--ct->free_top];
	ret = rte_hash_add_key_with_hash_data(ct->hash, &ko, ho,
					      flow_to_data(idx, 0));
	if (ret < 0)
		goto err_slot;
	ret = rte_hash_add_key_with_hash_data(ct->hash, &kr, hr,
					      flow_to_data(idx, 1));
	if (ret < 0) {
		rte_hash_del_key_with_hash(ct->hash, &ko, ho);
		goto err_slot;
	}

	f = &ct->flows[idx];
	f->flags &= EF_CT_F_QUEUED;	/* its FIFO entry may remain */
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

err_slot:
	ct->free_top++;
	ct->stats.full++;
	*err = ret == -EINVAL ? -EINVAL : -ENOSPC;
	return NULL;
}

void
ef_ct_delete(struct ef_ct *ct, struct ef_ct_flow *f)
{
	struct ef_ct_key4 k;

	if (!(f->flags & EF_CT_F_IN_USE))
		return;
	ef_ct_flow_key4(f, 0, &k);
	rte_hash_del_key(ct->hash, &k);
	ef_ct_flow_key4(f, 1, &k);
	rte_hash_del_key(ct->hash, &k);
	ct->stats.by_state[f->state]--;
	ct->stats.active--;
	ct->stats.deleted++;
	f->state = EF_CT_NONE;
	f->flags &= EF_CT_F_QUEUED;
	ct->free_stack[ct->free_top++] = (uint32_t)(f - ct->flows);
}

uint32_t
ef_ct_timeout_ms(const struct ef_ct *ct, const struct ef_ct_flow *f)
{
	if (f->state == EF_CT_NONE) {
		if (f->proto == IPPROTO_TCP)
			return ct->timeout_none_ms[0];
		if (f->proto == IPPROTO_ICMP)
			return ct->timeout_none_ms[2];
		return ct->timeout_none_ms[1];
	}
	return ct->timeout_ms[f->state < EF_CT_STATE_MAX ? f->state : 0];
}

/* --- TCP --- */

static inline uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_32(v);
}

static inline uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_16(v);
}

/* Window scale option of a SYN segment, or EF_CT_WSCALE_NONE. */
static uint8_t
tcp_wscale_opt(const uint8_t *th, uint32_t hlen)
{
	uint32_t off = 20, len;

	while (off < hlen) {
		switch (th[off]) {
		case 0:		/* end of options */
			return EF_CT_WSCALE_NONE;
		case 1:		/* NOP */
			off++;
			continue;
		default:
			break;
		}
		if (off + 1 >= hlen)
			return EF_CT_WSCALE_NONE;
		len = th[off + 1];
		if (len < 2 || off + len > hlen)
			return EF_CT_WSCALE_NONE;
		if (th[off] == 3 && len == 3)
			return (uint8_t)RTE_MIN((uint32_t)th[off + 2],
						EF_CT_WSCALE_MAX);
		off += len;
	}
	return EF_CT_WSCALE_NONE;
}

/* Scale in force for windows sent by direction dir (0 unless both offered). */
static inline uint32_t
wscale_of(const struct ef_ct_flow *f, uint8_t dir)
{
	uint8_t w0 = f->wscale & 0xf, w1 = f->wscale >> 4;

	if (w0 == EF_CT_WSCALE_NONE || w1 == EF_CT_WSCALE_NONE)
		return 0;
	return dir == 0 ? w0 : w1;
}

static inline void
set_wscale(struct ef_ct_flow *f, uint8_t dir, uint8_t ws)
{
	if (dir == 0)
		f->wscale = (uint8_t)((f->wscale & 0xf0) | ws);
	else
		f->wscale = (uint8_t)((f->wscale & 0x0f) | (ws << 4));
}

/* The light tcp_in_window() documented at ef_ct_update(). */
static bool
tcp_in_window(const struct ef_ct_flow *f, uint8_t d, uint32_t seq,
	      uint32_t end, bool has_ack, uint32_t ack)
{
	uint8_t o = d ^ 1;
	uint32_t rwin = f->max_win[o];
	uint32_t ackwin = RTE_MAX(f->max_win[d], EF_CT_MIN_ACKWIN);

	if ((int32_t)(seq - (f->seq_end[d] + rwin)) > 0)
		return false;
	if ((int32_t)(end - (f->seq_end[d] - rwin)) < 0)
		return false;
	if (has_ack) {
		if ((int32_t)(ack - f->seq_end[o]) > 0)
			return false;
		if ((int32_t)(ack - (f->seq_end[o] - ackwin)) < 0)
			return false;
	}
	return true;
}

/* State from the FIN bits, for a synchronised flow not in CLOSE. */
static uint8_t
tcp_closing_state(const struct ef_ct_flow *f)
{
	uint8_t fl = f->flags;
	bool fin0 = fl & EF_CT_F_FIN0, fin1 = fl & EF_CT_F_FIN1;

	if ((fl & EF_CT_F_FINACK0) && (fl & EF_CT_F_FINACK1))
		return EF_CT_TIME_WAIT;
	if (fin0 && fin1)
		return EF_CT_LAST_ACK;
	if ((fin0 && (fl & EF_CT_F_FINACK0)) || (fin1 && (fl & EF_CT_F_FINACK1)))
		return EF_CT_CLOSE_WAIT;
	return EF_CT_FIN_WAIT;
}

static int
tcp_update(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t d,
	   const uint8_t *frame, const struct ef_pkt_meta *m)
{
	const uint8_t *th;
	uint32_t seq, ack, hlen, win, end;
	uint8_t fl, o = d ^ 1, ws;
	bool syn, has_ack, rst, fin;

	if (m->proto != IPPROTO_TCP || m->l4_off == 0 || m->l4_len < 20)
		return EF_CT_VERDICT_INVALID;
	th = frame + m->l4_off;
	hlen = (uint32_t)(th[12] >> 4) * 4;
	if (hlen < 20 || hlen > m->l4_len)
		return EF_CT_VERDICT_INVALID;
	seq = rd32(th + 4);
	ack = rd32(th + 8);
	fl = th[13];
	win = rd16(th + 14);
	syn = fl & TCP_F_SYN;
	has_ack = fl & TCP_F_ACK;
	rst = fl & TCP_F_RST;
	fin = fl & TCP_F_FIN;
	end = seq + (m->l4_len - hlen) + (syn ? 1 : 0) + (fin ? 1 : 0);

	if (syn && (rst || fin))
		return EF_CT_VERDICT_INVALID;

	switch (f->state) {
	case EF_CT_NONE:
		if (d != 0 || !syn || has_ack)
			return EF_CT_VERDICT_INVALID;
		/* fall through - initialise the client side */
	case EF_CT_SYN_SENT:
		if (d == 0 && syn && !has_ack) {
			/* First SYN, retransmission, or a new ISN. */
			f->seq_end[0] = end;
			f->max_win[0] = RTE_MAX(win, 1u);
			set_wscale(f, 0, tcp_wscale_opt(th, hlen));
			set_wscale(f, 1, EF_CT_WSCALE_NONE);
			if (f->state == EF_CT_NONE)
				set_state(ct, f, EF_CT_SYN_SENT);
			return EF_CT_VERDICT_OK;
		}
		if (d == 0) {
			/* Client abort of its own SYN. */
			if (rst && seq == f->seq_end[0]) {
				set_state(ct, f, EF_CT_CLOSE);
				return EF_CT_VERDICT_OK;
			}
			return EF_CT_VERDICT_INVALID;
		}
		if (syn && has_ack) {
			if (ack != f->seq_end[0])
				return EF_CT_VERDICT_INVALID;
			f->seq_end[1] = end;
			/* The window of a SYN is never scaled (RFC 7323). */
			f->max_win[1] = RTE_MAX(win, 1u);
			ws = tcp_wscale_opt(th, hlen);
			set_wscale(f, 1, ws);
			set_state(ct, f, EF_CT_SYN_RECV);
			return EF_CT_VERDICT_OK;
		}
		/* RFC 793: in SYN-SENT an RST is acceptable if it acks the SYN. */
		if (rst && has_ack && ack == f->seq_end[0]) {
			set_state(ct, f, EF_CT_CLOSE);
			return EF_CT_VERDICT_OK;
		}
		return EF_CT_VERDICT_INVALID;
	default:
		break;
	}

	if (syn) {
		if (d == 0 && !has_ack && (f->state == EF_CT_TIME_WAIT ||
					   f->state == EF_CT_CLOSE))
			return EF_CT_VERDICT_NEW_AFTER_CLOSE;
		/* Retransmitted SYN or SYN-ACK of the same handshake. */
		if (f->state == EF_CT_SYN_RECV && end == f->seq_end[d] &&
		    (d == 0 ? !has_ack : (has_ack && ack == f->seq_end[0])))
			return EF_CT_VERDICT_OK;
		return EF_CT_VERDICT_INVALID;
	}
	if (!tcp_in_window(f, d, seq, end, has_ack, ack))
		return EF_CT_VERDICT_INVALID;
	if (rst) {
		if (f->state != EF_CT_CLOSE)
			set_state(ct, f, EF_CT_CLOSE);
		return EF_CT_VERDICT_OK;
	}
	if (!has_ack)
		return EF_CT_VERDICT_INVALID;

	if ((int32_t)(end - f->seq_end[d]) > 0)
		f->seq_end[d] = end;
	f->max_win[d] = RTE_MAX(f->max_win[d],
				RTE_MAX(win << wscale_of(f, d), 1u));
	if (f->state == EF_CT_CLOSE)
		return EF_CT_VERDICT_OK;
	if (fin)
		f->flags |= d == 0 ? EF_CT_F_FIN0 : EF_CT_F_FIN1;
	/* Does this segment ack the peer's FIN (seq_end includes it)? */
	if ((f->flags & (o == 0 ? EF_CT_F_FIN0 : EF_CT_F_FIN1)) &&
	    (int32_t)(ack - f->seq_end[o]) >= 0)
		f->flags |= o == 0 ? EF_CT_F_FINACK0 : EF_CT_F_FINACK1;

	if (f->flags & (EF_CT_F_FIN0 | EF_CT_F_FIN1)) {
		uint8_t s = tcp_closing_state(f);

		if (s != f->state)
			set_state(ct, f, s);
	} else if (f->state == EF_CT_SYN_RECV && d == 0 &&
		   ack == f->seq_end[1]) {
		set_state(ct, f, EF_CT_ESTABLISHED);
	}
	return EF_CT_VERDICT_OK;
}

int
ef_ct_update(struct ef_ct *ct, struct ef_ct_flow *f, uint8_t dir,
	     const uint8_t *frame, const struct ef_pkt_meta *m,
	     uint32_t now_ms)
{
	int v = EF_CT_VERDICT_OK;

	dir &= 1;
	switch (f->proto) {
	case IPPROTO_TCP:
		v = tcp_update(ct, f, dir, frame, m);
		break;
	case IPPROTO_ICMP:
		if (f->state == EF_CT_NONE) {
			if (dir != 0)
				v = EF_CT_VERDICT_INVALID;
			else
				set_state(ct, f, EF_CT_ICMP);
		}
		break;
	default:
		if (f->state == EF_CT_NONE) {
			if (dir != 0)
				v = EF_CT_VERDICT_INVALID;
			else
				set_state(ct, f, EF_CT_UDP_NEW);
		} else if (f->state == EF_CT_UDP_NEW && dir == 1) {
			set_state(ct, f, EF_CT_UDP_REPLIED);
		}
		break;
	}
	if (v == EF_CT_VERDICT_OK)
		f->last_ms = now_ms;
	else if (v == EF_CT_VERDICT_INVALID)
		ct->stats.invalid++;
	return v;
}

uint32_t
ef_ct_expire(struct ef_ct *ct, uint32_t now_ms, uint32_t budget,
	     ef_ct_expire_fn cb, void *arg)
{
	struct ef_ct_flow *f;
	uint32_t i, idx = ct->expire_cursor, n = 0;

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
	return ct->hash_bytes + ct->own_bytes;
}

size_t
ef_ct_hash_memory(const struct ef_ct *ct)
{
	return ct->hash_bytes;
}
