/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A worker's life: its state and rings, the poll loop (RX, handoff,
 * injected frames, TX, slow work in bounded slices), commands from the
 * control lcore and telemetry, post-reload sweeps, counters.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "ef_fwd.h"
#include "fwd_priv.h"
#include "fwd_proxy.h"
#include "fwd_syn.h"

#define SPSC (RING_F_SP_ENQ | RING_F_SC_DEQ)
/* A post-reload sweep runs for EF_FWD_SWEEP_SLICE_US of TSC per poll,
 * looking at the clock every SWEEP_CHUNK flow slots, at most
 * SWEEP_MAX_SLOTS slots (a TSC that does not move). */
#define SWEEP_CHUNK 32
#define SWEEP_MAX_SLOTS 65536

static const char *const drop_names[] = {
#define EF_FWD_DROP_NAME(e, s) s,
	EF_FWD_FOREACH_DROP(EF_FWD_DROP_NAME)
#undef EF_FWD_DROP_NAME
};

const char *
ef_fwd_drop_name(unsigned int reason)
{
	return reason < EF_FWD_DROP_MAX ? drop_names[reason] : "unknown";
}

static void
expire_cb(void *arg, struct ef_ct_flow *f)
{
	ef_fwd_flow_closed(arg, f);
}

struct sample_ctx {
	struct ef_fwd_cmd *cmd;
	uint32_t now_ms;
	const struct ef_ct *ct6;	/* walking the IPv6 table, or NULL */
};

static int
sample_cb(void *arg, struct ef_ct_flow *f)
{
	struct sample_ctx *s = arg;

	if (s->cmd->n_out < s->cmd->max) {
		struct ef_fwd_flow_info *o = &s->cmd->out[s->cmd->n_out];

		o->flow = *f;
		o->now_ms = s->now_ms;
		o->family = s->ct6 != NULL ? EF_AF_INET6 : EF_AF_INET4;
		if (s->ct6 != NULL) {
			const uint8_t *sn = ef_ct_flow_snat6(s->ct6, f);

			o->a6 = *ef_ct_flow_addr6(s->ct6, f);
			if (sn != NULL)
				memcpy(o->snat6, sn, 16);
		}
		s->cmd->n_out++;
	}
	return 0;
}

static int
flush_cb(void *arg, struct ef_ct_flow *f)
{
	ef_fwd_flow_closed(arg, f);
	return 1;
}

/*
 * One slice of the command in progress: at most EF_FWD_CMD_BUDGET flow
 * slots per poll, so that a flow sample or a flush of a table of millions
 * never keeps RX waiting (a sample also stops as soon as it holds its
 * max). The state counts come from the table's own counters, not a walk.
 */
static void
command_slice(struct ef_fwd_worker *w)
{
	struct ef_fwd_cmd *cmd = w->cmd_cur;
	bool done;

	switch (cmd->type) {
	case EF_FWD_CMD_FLOW_SAMPLE: {
		/* the IPv4 table, then the IPv6 one (cmd_table 1) */
		struct ef_ct *ct = w->cmd_table == 0 ? w->ct : w->ct6;
		struct sample_ctx s = {
			.cmd = cmd, .now_ms = w->now_ms,
			.ct6 = w->cmd_table == 0 ? NULL : w->ct6,
		};

		if (cmd->n_out < cmd->max)
			ef_ct_walk(ct, &w->cmd_cursor, EF_FWD_CMD_BUDGET,
				   sample_cb, &s);
		done = cmd->n_out >= cmd->max || (w->cmd_cursor == 0 &&
			(w->cmd_table == 1 || w->ct6 == NULL));
		if (w->cmd_cursor == 0 && !done)
			w->cmd_table = 1;
		if (done) {
			memcpy(cmd->by_state, ef_ct_stats(w->ct)->by_state,
			       sizeof(cmd->by_state));
			for (unsigned int k = 0; w->ct6 != NULL &&
			     k < EF_CT_STATE_MAX; k++)
				cmd->by_state[k] +=
					ef_ct_stats(w->ct6)->by_state[k];
		}
		break;
	}
	case EF_FWD_CMD_FLUSH_FLOWS:
		/* the IPv4 table, then the IPv6 one (cmd_table 1) */
		ef_ct_walk(w->cmd_table == 0 ? w->ct : w->ct6, &w->cmd_cursor,
			   EF_FWD_CMD_BUDGET, flush_cb, w);
		done = w->cmd_cursor == 0 &&
			(w->cmd_table == 1 || w->ct6 == NULL);
		if (w->cmd_cursor == 0 && !done)
			w->cmd_table = 1;
		break;
	default:
		done = true;
		break;
	}
	if (done) {
		w->cmd_cur = NULL;
		__atomic_store_n(&cmd->done, 1, __ATOMIC_RELEASE);
	}
}

uint32_t
ef_fwd_poll(struct ef_fwd_worker *w)
{
	struct ef_fwd_shared *sh = w->sh;
	struct rte_mbuf *pkts[EF_FWD_BURST_MAX];
	uint32_t total = 0;
	uint16_t n;

	ef_fwd_begin(w);
	for (uint16_t p = 0; p < sh->n_ports; p++) {
		if (w->idx >= sh->ports[p].n_rxq)
			continue;
		n = rte_eth_rx_burst(sh->ports[p].port_id, (uint16_t)w->idx,
				     pkts, 32);
		if (n == 0)
			continue;
		ef_fwd_process(w, pkts, n, false);
		total += n;
	}
	for (uint32_t o = 0; o < sh->n_workers; o++) {
		if (w->handoff_in[o] == NULL)
			continue;
		n = (uint16_t)rte_ring_sc_dequeue_burst(w->handoff_in[o],
							(void **)pkts, 32, NULL);
		if (n == 0)
			continue;
		ef_fwd_process(w, pkts, n, true);
		total += n;
	}
	n = (uint16_t)rte_ring_sc_dequeue_burst(w->from_ctrl, (void **)pkts,
						32, NULL);
	for (uint16_t i = 0; i < n; i++) {
		int16_t iface = sh->port_to_if[pkts[i]->port]; /* NOLINT(clang-analyzer-core.NullDereference): filled by the dequeue */

		if (iface < 0) {
			drop(w, pkts[i], EF_FWD_DROP_UNSUPPORTED);
			continue;
		}
		w->c.injected_packets++;
		out_queue(w, (uint16_t)iface, pkts[i]);
	}
	total += n;
	if (unlikely(w->n_hold != 0))
		ef_fwd_hold_release(w);
	ef_fwd_tx(w);
	ef_fwd_housekeep(w, EXPIRE_BUDGET);
	return total;
}

static int
sweep_cb(void *arg, struct ef_ct_flow *f)
{
	struct ef_fwd_worker *w = arg;

	if (f->gen == (uint32_t)w->gen->number)
		return 0;
	/* a service the reloads left whole: no lookup */
	if (ef_svc_endpoint_kept(w->gen, f->svc_id, f->gen) ||
	    ef_svc_endpoint_exists(w->gen, f->svc_id, f->endpoint, f->eport,
				   f->proto)) {
		f->gen = (uint32_t)w->gen->number;
		return 0;
	}
	ef_fwd_flow_closed(w, f);
	w->c.flows_swept++;
	return 1;
}

void
ef_fwd_request_sweep(struct ef_fwd_shared *sh, uint64_t generation)
{
	for (uint32_t i = 0; i < sh->n_workers; i++)
		if (sh->workers[i] != NULL)
			__atomic_store_n(&sh->workers[i]->sweep_request,
					 generation, __ATOMIC_RELEASE);
}

/* One slice of the post-reload sweep: sweep_slice_tsc of TSC at most
 * (checked every SWEEP_CHUNK slots), so that the gap between two bursts
 * does not grow with the table or with the cost of each flow. True once
 * both tables have been walked. */
static bool
sweep_slice(struct ef_fwd_worker *w)
{
	uint64_t t0 = rte_rdtsc();
	uint32_t slots = 0;

	/* the IPv4 table, then the IPv6 one (w->sweep_table) */
	for (;;) {
		bool v6 = w->sweep_table != 0;

		ef_ct_walk(v6 ? w->ct6 : w->ct, &w->sweep_cursor, SWEEP_CHUNK,
			   v6 ? ef_fwd6_sweep_cb : sweep_cb, w);
		slots += SWEEP_CHUNK;
		if (w->sweep_cursor == 0) {
			if (v6 || w->ct6 == NULL) {
				w->sweep_table = 0;
				return true;
			}
			w->sweep_table = 1;
		}
		if (slots >= SWEEP_MAX_SLOTS ||
		    rte_rdtsc() - t0 >= w->sweep_slice_tsc)
			return false;
	}
}

void
ef_fwd_housekeep(struct ef_fwd_worker *w, uint32_t budget)
{
	uint64_t req = __atomic_load_n(&w->sweep_request, __ATOMIC_ACQUIRE);
	void *cmd;

	if (w->cmd_cur == NULL && rte_ring_sc_dequeue(w->cmd, &cmd) == 0) {
		w->cmd_cur = cmd;
		w->cmd_cursor = 0;
		w->cmd_table = 0;
		w->cmd_cur->n_out = 0;
	}
	if (w->cmd_cur != NULL)
		command_slice(w);
	/* a sweep asked for a generation this burst already sees */
	if (req != w->sweep_done && req <= w->gen->number && sweep_slice(w))
		w->sweep_done = req;
	ef_ct_expire(w->ct, w->now_ms, budget, expire_cb, w);
	if (w->ct6 != NULL)
		ef_ct_expire(w->ct6, w->now_ms, budget, expire_cb, w);
	ef_fwd_edge_expire(w, budget);
	ef_fwd_affinity_sweep(w);
	if (w->n_proxy_pend != 0)
		ef_fwd_proxy_sweep(w);
	if (unlikely(w->n_syn_held != 0))
		ef_fwd_syn_sweep(w);
}

int
ef_fwd_worker_main(void *arg)
{
	struct ef_fwd_worker *w = arg;
	struct ef_fwd_shared *sh = w->sh;
	uint32_t idle = 0;

	rte_rcu_qsbr_thread_register(sh->qsbr, w->idx);
	rte_rcu_qsbr_thread_online(sh->qsbr, w->idx);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		uint64_t t0 = rte_rdtsc(), t1;
		uint32_t n = ef_fwd_poll(w);

		rte_rcu_qsbr_quiescent(sh->qsbr, w->idx);
		t1 = rte_rdtsc();
		w->c.total_cycles += t1 - t0;
		if (n != 0) {
			w->c.busy_cycles += t1 - t0;
			w->c.burst_hist[ef_fwd_burst_bucket(t1 - t0)]++;
			idle = 0;
		} else if (sh->idle_sleep_us != 0 && ++idle >= IDLE_POLLS &&
			   w->cmd_cur == NULL) {
			/* shared machines: give the core back when idle;
			 * offline so the control lcore never waits for us */
			rte_rcu_qsbr_thread_offline(sh->qsbr, w->idx);
			rte_delay_us_sleep(sh->idle_sleep_us);
			rte_rcu_qsbr_thread_online(sh->qsbr, w->idx);
			w->c.total_cycles += rte_rdtsc() - t1;
		}
	}
	rte_rcu_qsbr_thread_offline(sh->qsbr, w->idx);
	rte_rcu_qsbr_thread_unregister(sh->qsbr, w->idx);
	return 0;
}

static struct rte_ring *
ring_create(const char *what, int socket_id, unsigned int flags)
{
	char name[RTE_RING_NAMESIZE];
	static uint32_t serial;

	/* ring names are global to the process and short */
	snprintf(name, sizeof(name), "ef%.4s%u", what,
		 __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
	return rte_ring_create(name, EF_FWD_RING_SIZE, socket_id, flags);
}

/* The flow table of worker w: conntrack.max_flows split over the
 * workers, at least 1024. 0 or -errno. */
static int
worker_ct_create(struct ef_fwd_worker *w, const struct ef_cfg *cfg,
		 uint32_t per_worker, int socket_id)
{
	struct ef_ct_params ctp;
	char name[64];

	snprintf(name, sizeof(name), "ef_ct_w%u", w->idx);
	memset(&ctp, 0, sizeof(ctp));
	ctp.name = name;
	ctp.max_flows = per_worker;
	ctp.timeouts = cfg->conntrack;
	ctp.socket_id = socket_id;
	ctp.evict_cb = expire_cb;
	ctp.evict_arg = w;
	w->ct = ef_ct_create(&ctp);
	if (w->ct == NULL)
		return -rte_errno;
	/* IPv6 (issue 12): a second table of the same size when some
	 * interface has an IPv6 address; IPv4-only nodes pay nothing */
	for (uint16_t i = 0; i < w->sh->n_ports; i++) {
		if (!w->sh->ports[i].has_addr6)
			continue;
		snprintf(name, sizeof(name), "ef_ct6_w%u", w->idx);
		ctp.family = 6;
		w->ct6 = ef_ct_create(&ctp);
		return w->ct6 == NULL ? -rte_errno : 0;
	}
	return 0;
}

/* Per-service counters and the rings to the control lcore. 0 or -ENOMEM. */
static int
worker_rings_create(struct ef_fwd_worker *w, uint32_t n_svc_ids,
		    int socket_id)
{
	w->n_svc_ids = n_svc_ids;
	w->svc = rte_zmalloc_socket("ef_svc_ctr", sizeof(*w->svc) * n_svc_ids,
				    RTE_CACHE_LINE_SIZE, socket_id);
	w->to_ctrl = ring_create("exc", socket_id, SPSC);
	w->from_ctrl = ring_create("inj", socket_id, SPSC);
	/* commands come from the control lcore and the telemetry thread */
	w->cmd = ring_create("cmd", socket_id, RING_F_SC_DEQ);
	if (w->svc == NULL || w->to_ctrl == NULL || w->from_ctrl == NULL || w->cmd == NULL)
		return -ENOMEM;
	return 0;
}

/*
 * Buffer size of the pool's mbufs (headroom included). One mbuf holds
 * one frame: a frame of the largest interface mtu (and a VLAN tag) fits
 * in one segment, with EF_MBUF_TAILROOM beyond it for what the fast path
 * appends (a PROXY header). Sizes: DPDK's default up to mtu 1902; an
 * object within a 4 KiB page (mempool header, mbuf and buffer: the chunk
 * an AF_XDP umem takes, net_af_xdp fails to create one from larger
 * objects) up to mtu 3566; beyond, the frame rounded up to 1 KiB.
 * The fast path stays single-segment (no RX scatter; a chained mbuf is
 * dropped as multi_segment), as DPDK's l3fwd sizes its pool for
 * --max-pkt-len.
 */
#define EF_MBUF_TAILROOM 128u
/* 63 cache lines with the mempool's 64-byte header: an odd count, which
 * the mempool's spread over memory channels leaves unpadded (64 lines
 * would be padded to 65, past the page) */
#define EF_MBUF_PAGE_BUF (4032u - 64u - (uint32_t)sizeof(struct rte_mbuf))

uint32_t
ef_fwd_mbuf_buf_size(const struct ef_cfg *cfg)
{
	uint32_t mtu = RTE_ETHER_MTU, need;

	for (uint32_t i = 0; i < cfg->n_interfaces; i++)
		mtu = RTE_MAX(mtu, cfg->interfaces[i].mtu);
	need = RTE_PKTMBUF_HEADROOM + mtu + RTE_ETHER_HDR_LEN +
	       RTE_VLAN_HLEN + EF_MBUF_TAILROOM;
	if (need <= RTE_MBUF_DEFAULT_BUF_SIZE)
		return RTE_MBUF_DEFAULT_BUF_SIZE;
	if (need <= EF_MBUF_PAGE_BUF)
		return EF_MBUF_PAGE_BUF;
	return RTE_ALIGN_CEIL(need, 1024);
}

struct ef_fwd_worker *
ef_fwd_worker_create(struct ef_fwd_shared *sh, uint32_t idx,
		     unsigned int lcore_id, uint32_t n_svc_ids, int socket_id)
{
	const struct ef_cfg *cfg = sh->gen->cfg;
	struct ef_fwd_worker *w;
	uint32_t per_worker;
	int rc;

	w = rte_zmalloc_socket("ef_worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
			       socket_id);
	if (w == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	w->idx = idx;
	w->lcore_id = lcore_id;
	w->sh = sh;
	w->tsc_per_ms = rte_get_tsc_hz() / 1000;
	if (w->tsc_per_ms == 0)
		w->tsc_per_ms = 1;
	w->sweep_slice_tsc = RTE_MAX(rte_get_tsc_hz() / 1000000 *
				     EF_FWD_SWEEP_SLICE_US, (uint64_t)1);
	w->icmp_tokens = ICMP_BURST;
	per_worker = RTE_MAX(cfg->conntrack.max_flows / sh->n_workers, 1024u);
	rc = worker_ct_create(w, cfg, per_worker, socket_id);
	if (rc == 0)
		rc = ef_nat_worker_init(&w->nat, sh->nat_map, idx,
					(uint32_t)rte_rdtsc());
	if (rc == 0)
		rc = ef_fwd_affinity_init(w, RTE_MIN(per_worker, 1u << 20),
					  socket_id);
	if (rc == 0)
		rc = ef_fwd_proxy_init(w, socket_id);
	if (rc == 0)
		ef_fwd_syn_init(w);
	if (rc == 0)
		rc = worker_rings_create(w, n_svc_ids, socket_id);
	if (rc == 0)
		rc = ef_fwd_edge_init();
	if (rc == 0)
		rc = ef_fwd_edge_flows_create(w, cfg, per_worker, socket_id);
	if (rc != 0) {
		EF_FWD_LOG(ERR, "worker %u: %s", idx, rte_strerror(-rc));
		ef_fwd_worker_free(w);
		/* the cause, not always ENOMEM (EEXIST: a name in use,
		 * EINVAL: bad sizes) */
		rte_errno = -rc;
		return NULL;
	}
	return w;
}

int
ef_fwd_connect(struct ef_fwd_shared *sh)
{
	for (uint32_t to = 0; to < sh->n_workers; to++) {
		for (uint32_t from = 0; from < sh->n_workers; from++) {
			struct ef_fwd_worker *w = sh->workers[to];

			if (from == to || w->handoff_in[from] != NULL)
				continue;
			w->handoff_in[from] = ring_create("ho",
							  (int)rte_socket_id(), SPSC);
			if (w->handoff_in[from] == NULL)
				return -ENOMEM;
		}
	}
	return 0;
}

static void
ring_drain_free(struct rte_ring *r)
{
	void *m;

	if (r == NULL)
		return;
	while (rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

void
ef_fwd_worker_free(struct ef_fwd_worker *w)
{
	if (w == NULL)
		return;
	for (uint32_t i = 0; i < EF_FWD_MAX_WORKERS; i++)
		ring_drain_free(w->handoff_in[i]);
	ring_drain_free(w->to_ctrl);
	ring_drain_free(w->from_ctrl);
	rte_ring_free(w->cmd);
	for (uint16_t p = 0; p < EF_FWD_MAX_PORTS; p++)
		for (uint16_t j = 0; j < w->n_out[p]; j++)
			rte_pktmbuf_free(w->out[p][j]);
	for (uint32_t i = 0; i < EF_FWD_HOLD_HOPS; i++)
		for (uint16_t j = 0; j < w->hold[i].n; j++)
			rte_pktmbuf_free(w->hold[i].m[j]);
	rte_free(w->svc);
	ef_edge_flows_free(w->edge_flows6);	/* first: it shares the
						 * IPv4 table's counters */
	ef_edge_flows_free(w->edge_flows);
	ef_fwd_affinity_fini(w);
	ef_fwd_syn_fini(w);
	ef_fwd_proxy_fini(w);
	ef_ct_free(w->ct);
	ef_ct_free(w->ct6);
	rte_free(w);
}

void
ef_fwd_counters_sum(const struct ef_fwd_shared *sh,
		    struct ef_fwd_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < sh->n_workers; i++) {
		const uint64_t *src;
		uint64_t *dst = (uint64_t *)out;

		if (sh->workers[i] == NULL)
			continue;
		src = (const uint64_t *)&sh->workers[i]->c;
		for (size_t j = 0; j < sizeof(*out) / sizeof(uint64_t); j++)
			dst[j] += __atomic_load_n(&src[j], __ATOMIC_RELAXED);
	}
}

/*
 * Commands come from the control lcore and the telemetry thread, hence a
 * multi-producer ring. A worker answers within one poll; a timeout means a
 * stuck worker, and then the caller must not free cmd (the worker may
 * still write it): callers leak it deliberately and say so.
 */
int
ef_fwd_command(struct ef_fwd_shared *sh, uint32_t w, struct ef_fwd_cmd *cmd,
	       uint32_t timeout_ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000 };

	if (w >= sh->n_workers)
		return -EINVAL;
	cmd->done = 0;
	if (rte_ring_mp_enqueue(sh->workers[w]->cmd, cmd) != 0)
		return -ENOBUFS;
	for (uint32_t waited = 0; waited < timeout_ms * 5; waited++) {
		if (__atomic_load_n(&cmd->done, __ATOMIC_ACQUIRE))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}
