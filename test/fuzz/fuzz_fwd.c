/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the whole per-packet pipeline (ef_fwd_process) of one
 * worker with a small fixed dual-stack configuration (test/shim/hx.c
 * hx_dual_conf), on null
 * ports. One input is a sequence of frames, so the fuzzer can open a flow
 * and then attack it:
 *
 *   record := ctl:u8 len:u16be frame[len]   (the last frame takes the rest)
 *   ctl bits 0-1: arrival interface (mod 3)
 *   ctl bit 5:    the NIC claims a good IPv4 checksum
 *   ctl bit 6:    split the frame into two segments
 *   ctl bit 7:    same burst as the previous record
 *
 * Invariants checked after every input: every mbuf is back in the pool
 * (nothing leaked or double-freed), and every received frame is accounted
 * for: sent, counted as a drop, passed to the kernel, or held for a next
 * hop's MAC (then dropped, no_neighbor, when the hold expires). Inputs do
 * not depend on each other: flows of both families are flushed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "fuzz.h"
#include "hx.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_RECORDS 32
#define FRAME_MAX 2048

static struct hx *hx;

/* The configuration hx keeps is reached only through DPDK memory, which
 * LeakSanitizer does not scan: free everything before its exit check
 * (atexit runs this before the sanitizer's own, registered earlier). */
static void
teardown(void)
{
	hx_free(hx);
	hx = NULL;
	rte_eal_cleanup();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64];
	char *args[] = {
		(*argv)[0], "--no-huge", "--no-pci", "-m", "256", prefix,
		"--no-shconf", "--no-telemetry", "-l", "0",
		"--log-level=*:error",
		"--vdev=net_null0", "--vdev=net_null1", "--vdev=net_null2",
	};
	char err[512];

	(void)argc;
	/* --no-shconf: no runtime files; a prefix of our own all the same,
	 * so that parallel jobs (-fork, -jobs) never meet */
	snprintf(prefix, sizeof(prefix), "--file-prefix=effuzz%d",
		 (int)getpid());
	if (rte_eal_init((int)RTE_DIM(args), args) < 0)
		abort();
	/* EAL made /var/run/dpdk/effuzz<pid>/ all the same, empty: remove
	 * it now, so that neither an exit nor a crash leaves it behind */
	rmdir(rte_eal_get_runtime_dir());
	hx = hx_create(hx_dual_conf, err, sizeof(err));
	if (hx == NULL) {
		fprintf(stderr, "fuzz_fwd: set-up failed: %s\n", err);
		abort();
	}
	atexit(teardown);
	return 0;
}

static struct rte_mbuf *
make(const uint8_t *frame, uint32_t len, uint8_t ctl)
{
	struct rte_mbuf *m, *m2;
	uint32_t cut;

	if (!(ctl & 0x40) || len < 2)
		m = hx_mbuf(hx, ctl & 3, frame, len);
	else {
		cut = len / 2;
		m = hx_mbuf(hx, ctl & 3, frame, cut);
		m2 = hx_mbuf(hx, ctl & 3, frame + cut, len - cut);
		if (m == NULL || m2 == NULL || rte_pktmbuf_chain(m, m2) != 0) {
			rte_pktmbuf_free(m);
			rte_pktmbuf_free(m2);
			return NULL;
		}
	}
	if (m != NULL && (ctl & 0x20))
		m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	return m;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *burst[MAX_RECORDS];
	uint64_t rx0 = hx_counter(hx, "rx_packets");
	uint64_t tx0 = hx_counter(hx, "tx_packets");
	uint64_t exc0 = hx_counter(hx, "exception_packets");
	uint64_t drops0 = hx_drops_total(hx);
	uint64_t held0 = hx_counter(hx, "neigh_held");
	uint64_t kernel, rx, tx, held;
	uint16_t n = 0;
	size_t off = 0;

	for (int r = 0; r < MAX_RECORDS && off < size; r++) {
		uint8_t ctl = data[off++];
		uint32_t len;
		struct rte_mbuf *m;

		if (size - off >= 2) {
			len = (uint32_t)data[off] << 8 | data[off + 1];
			off += 2;
		} else {
			len = 0;
		}
		if (len > size - off)
			len = (uint32_t)(size - off);
		if (len > FRAME_MAX)
			len = FRAME_MAX;
		if (!(ctl & 0x80) && n != 0) {
			hx_process(hx, burst, n, 0);
			hx_tx(hx);
			n = 0;
		}
		m = make(data + off, len, ctl);
		off += len;
		if (m != NULL)
			burst[n++] = m;
	}
	if (n != 0) {
		hx_process(hx, burst, n, 0);
		hx_tx(hx);
	}
	kernel = hx_drain_control(hx);
	CHECK(kernel == hx_counter(hx, "exception_packets") - exc0);
	rx = hx_counter(hx, "rx_packets") - rx0;
	tx = hx_counter(hx, "tx_packets") - tx0;
	held = hx_counter(hx, "neigh_held") - held0;
	/* no frame vanishes: a drop and a reply may both count (an ICMP
	 * error answers a dropped frame), so this is an inequality; a frame
	 * waiting for a next hop's MAC (no resolver runs here) is held */
	CHECK(rx <= tx + (hx_drops_total(hx) - drops0) + kernel + held);
	/* what waits must go in the end, counted no_neighbor */
	CHECK(hx_expire_holds(hx) <= held);
	hx_flush_flows(hx);
	CHECK(hx_mbufs_in_use(hx) == 0);
	return 0;
}
