/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_TEST_RIG_H
#define EF_TEST_RIG_H

/*
 * The pipeline fixture of the frame suites (test/fwd, test/fwd_edge,
 * test/fwd_proxy, test/fwd_syn): the real ef_fwd workers on a config
 * string, without ports. Frames go in through ef_fwd_process() as mbufs
 * arriving on an interface index; what the pipeline queued for TX is
 * collected as bytes (and freed). Interface i has port id i and MAC
 * port_mac(i). Unlike test/shim/hx.h (null ports, an opaque handle), the
 * suites see the worker and its shared state directly.
 *
 * EAL must be up (test/shim/eal_main.cc). Test code: one thread.
 */

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include <gtest/gtest.h>

#include "ef_fwd.h"
#include "ef_nat.h"
#include "ef_svc.h"
#include "frames.h"

/* Interface i's MAC: 02:00:00:00:00:(0x10 + i) */
Mac port_mac(int i);

/* A frame the pipeline queued for TX on interface iface */
struct Out {
	uint16_t iface;
	Bytes frame;
};

/* A static neighbour: ip (network order) on interface iface is mac */
struct RigNeigh {
	uint16_t iface;
	uint32_t ip;
	Mac mac;
};

/* The same for an IPv6 neighbour */
struct RigNeigh6 {
	uint16_t iface;
	Ip6a ip;
	Mac mac;
};

struct RigOpts {
	std::vector<RigNeigh6> neigh6;	/* static IPv6 neighbours */
	const char *pool_prefix = "rpool";	/* + a serial: the mbuf pool */
	unsigned int pool_size = 4095;
	uint32_t workers = 1;
	uint32_t n_svc_ids = 1024;	/* service registry and workers */
	bool connect = false;		/* ef_fwd_connect() once built */
};

class PipeRig : public ::testing::Test {
protected:
	struct ef_fwd_shared sh;
	struct ef_nat_map nat;
	struct ef_svc_registry *reg = nullptr;
	uint32_t now_ms = 1000000;	/* the workers' clock in run() */
	uint64_t number = 0;		/* the last generation's number */

	PipeRig();
	void TearDown() override { rig_down(); }

	/* Generation ++number of text (after prev, or none); every config
	 * message is a failure; NULL if it does not build. */
	struct ef_svc_gen *gen_of(const std::string &text,
				  const struct ef_svc_gen *prev);

	/* Free what rig_up() built, then build text's generation, the mbuf
	 * pool, QSBR, neighbours, SNAT map, interfaces and workers. A
	 * fatal failure (gtest) if a step fails. */
	void rig_up(const std::string &text, const RigOpts &o,
		    std::initializer_list<RigNeigh> neigh);
	/* Free everything (nothing built is fine). */
	void rig_down();

	struct ef_fwd_worker *w(uint32_t i = 0) { return sh.workers[i]; }

	/* A frame copied into a fresh mbuf arriving on iface */
	struct rte_mbuf *mbuf_of(const Bytes &f, uint16_t iface);
	/* Everything worker wi queued for TX, in interface order; freed */
	std::vector<Out> collect(uint32_t wi = 0);
	/* One frame in on iface at now_ms, everything out */
	std::vector<Out> run(const Bytes &f, uint16_t iface, uint32_t wi = 0,
			     bool handoff = false);
	/* Frames in one burst on iface (worker 0) */
	std::vector<Out> run_burst(const std::vector<Bytes> &fs,
				   uint16_t iface);
	/* Worker 0's housekeeping at now_ms (64 flows), everything out */
	std::vector<Out> housekeep();
	/* Frames worker wi passed to the kernel: count them, free them */
	unsigned int drain_ctrl(uint32_t wi = 0);
};

#endif /* EF_TEST_RIG_H */
