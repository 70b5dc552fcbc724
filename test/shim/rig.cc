/* SPDX-License-Identifier: BSD-3-Clause */
/* The pipeline fixture of the frame suites (rig.h). */
#include "rig.h"

#include <cstdio>
#include <cstring>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "ef_cfg.h"
#include "ef_neigh.h"

Mac
port_mac(int i)
{
	Mac m = { { 0x02, 0x00, 0x00, 0x00, 0x00, (uint8_t)(0x10 + i) } };
	return m;
}

PipeRig::PipeRig()
{
	memset(&sh, 0, sizeof(sh));
	memset(&nat, 0, sizeof(nat));
}

struct ef_svc_gen *
PipeRig::gen_of(const std::string &text, const struct ef_svc_gen *prev)
{
	struct ef_cfg_errors errs = {};
	struct ef_cfg *cfg = ef_cfg_parse_string(text.c_str(), "t.conf",
						 &errs);
	char err[256];

	for (uint32_t i = 0; i < errs.n; i++)
		ADD_FAILURE() << errs.msgs[i];
	ef_cfg_errors_clear(&errs);
	if (cfg == nullptr)
		return nullptr;
	struct ef_svc_gen *g = ef_svc_gen_build(cfg, ++number, prev, reg,
						SOCKET_ID_ANY, err,
						sizeof(err));
	EXPECT_NE(nullptr, g) << err;
	return g;
}

void
PipeRig::rig_up(const std::string &text, const RigOpts &o,
		std::initializer_list<RigNeigh> neigh)
{
	static int serial;
	char name[32];
	uint32_t workers = o.workers;

	rig_down();
	memset(&sh, 0, sizeof(sh));
	reg = ef_svc_registry_create(o.n_svc_ids);
	ASSERT_NE(nullptr, reg);
	sh.gen = gen_of(text, nullptr);
	ASSERT_NE(nullptr, sh.gen);
	const struct ef_cfg *cfg = sh.gen->cfg;
	snprintf(name, sizeof(name), "%s%d", o.pool_prefix, serial++);
	sh.pool = rte_pktmbuf_pool_create(name, o.pool_size, 0, 0,
					  (uint16_t)ef_fwd_mbuf_buf_size(cfg),
					  SOCKET_ID_ANY);
	ASSERT_NE(nullptr, sh.pool);
	size_t qsz = rte_rcu_qsbr_get_memsize(workers);
	sh.qsbr = (struct rte_rcu_qsbr *)rte_zmalloc(NULL, qsz, 64);
	ASSERT_NE(nullptr, sh.qsbr);
	ASSERT_EQ(0, rte_rcu_qsbr_init(sh.qsbr, workers));
	sh.neigh = ef_neigh_create(256, workers, SOCKET_ID_ANY);
	ASSERT_NE(nullptr, sh.neigh);
	for (const RigNeigh &n : neigh)
		ef_neigh_set_static4(sh.neigh, n.iface, n.ip, n.mac.b);
	for (const RigNeigh6 &n : o.neigh6)
		ef_neigh_set_static6(sh.neigh, n.iface, n.ip.b, n.mac.b);
	ASSERT_EQ(0, ef_nat_map_init(&nat, cfg->snat_addresses,
				     cfg->n_snat_addresses,
				     cfg->snat_port_min,
				     cfg->snat_port_max, workers));
	sh.nat_map = &nat;
	sh.n_ports = (uint16_t)cfg->n_interfaces;
	for (int i = 0; i < RTE_MAX_ETHPORTS; i++)
		sh.port_to_if[i] = -1;
	for (uint16_t i = 0; i < sh.n_ports; i++) {
		sh.ports[i].port_id = i;
		sh.ports[i].n_rxq = 1;
		sh.ports[i].addr = cfg->interfaces[i].address.v4;
		sh.ports[i].prefix_len = cfg->interfaces[i].prefix_len;
		if (cfg->interfaces[i].address6.family == EF_AF_INET6) {
			sh.ports[i].has_addr6 = 1;
			sh.ports[i].prefix_len6 = cfg->interfaces[i].prefix_len6;
			memcpy(sh.ports[i].addr6,
			       cfg->interfaces[i].address6.v6, 16);
		}
		memcpy(sh.ports[i].mac, port_mac(i).b, 6);
		sh.ports[i].mtu = cfg->interfaces[i].mtu != 0 ?
			(uint16_t)cfg->interfaces[i].mtu : 1500;
		sh.port_to_if[i] = (int16_t)i;
	}
	sh.n_workers = workers;
	sh.icmp_rate = 1000000;
	for (uint32_t i = 0; i < workers; i++) {
		sh.workers[i] = ef_fwd_worker_create(&sh, i, 0, o.n_svc_ids,
						     SOCKET_ID_ANY);
		ASSERT_NE(nullptr, sh.workers[i]) << rte_strerror(rte_errno);
	}
	if (o.connect) {
		ASSERT_EQ(0, ef_fwd_connect(&sh));
	}
}

void
PipeRig::rig_down()
{
	for (uint32_t i = 0; i < EF_FWD_MAX_WORKERS; i++) {
		ef_fwd_worker_free(sh.workers[i]);
		sh.workers[i] = nullptr;
	}
	ef_svc_gen_free(sh.gen);
	sh.gen = nullptr;
	ef_svc_registry_free(reg);
	reg = nullptr;
	ef_neigh_free(sh.neigh);
	sh.neigh = nullptr;
	rte_free(sh.qsbr);
	sh.qsbr = nullptr;
	rte_mempool_free(sh.pool);
	sh.pool = nullptr;
}

struct rte_mbuf *
PipeRig::mbuf_of(const Bytes &f, uint16_t iface)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(sh.pool);

	EXPECT_NE(nullptr, m);
	if (m == nullptr)
		return nullptr;
	char *d = rte_pktmbuf_append(m, (uint16_t)f.size());
	EXPECT_NE(nullptr, d);
	if (d != nullptr)
		memcpy(d, f.data(), f.size());
	m->port = iface;
	return m;
}

std::vector<Out>
PipeRig::collect(uint32_t wi)
{
	std::vector<Out> out;
	struct ef_fwd_worker *x = w(wi);

	for (uint16_t p = 0; p < sh.n_ports; p++) {
		for (uint16_t j = 0; j < x->n_out[p]; j++) {
			struct rte_mbuf *m = x->out[p][j];
			const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

			out.push_back({ p, Bytes(d, d + m->data_len) });
			rte_pktmbuf_free(m);
		}
		x->n_out[p] = 0;
	}
	return out;
}

std::vector<Out>
PipeRig::run(const Bytes &f, uint16_t iface, uint32_t wi, bool handoff)
{
	struct rte_mbuf *m = mbuf_of(f, iface);

	ef_fwd_begin(w(wi));
	w(wi)->now_ms = now_ms;
	if (m != nullptr)
		ef_fwd_process(w(wi), &m, 1, handoff);
	return collect(wi);
}

std::vector<Out>
PipeRig::run_burst(const std::vector<Bytes> &fs, uint16_t iface)
{
	std::vector<struct rte_mbuf *> ms;

	for (const auto &f : fs) {
		struct rte_mbuf *m = mbuf_of(f, iface);

		if (m != nullptr)
			ms.push_back(m);
	}
	ef_fwd_begin(w());
	w()->now_ms = now_ms;
	ef_fwd_process(w(), ms.data(), (uint16_t)ms.size(), false);
	return collect();
}

std::vector<Out>
PipeRig::housekeep()
{
	ef_fwd_begin(w());
	w()->now_ms = now_ms;
	ef_fwd_housekeep(w(), 64);
	return collect();
}

unsigned int
PipeRig::drain_ctrl(uint32_t wi)
{
	void *m;
	unsigned int n = 0;

	while (rte_ring_dequeue(w(wi)->to_ctrl, &m) == 0) {
		rte_pktmbuf_free((struct rte_mbuf *)m);
		n++;
	}
	return n;
}
