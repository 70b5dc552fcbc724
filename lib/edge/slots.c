/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two process-wide registries of the control lcore.
 *
 * The keys of IPv6 node addresses (ef_edge_node_key6()): an
 * open-addressing table of twice EF_EDGE_CTR_SLOTS entries; keys are
 * 0.0.0.1, 0.0.0.2, ... (network order) in the order addresses are first
 * seen, never given back (a flow entry may still hold the key of a
 * removed node; reusing it would steer that flow to another node).
 *
 * The registry of (service, node) counter slots
 * (ef_edge_ctr_slot()): an open-addressing table of twice
 * EF_EDGE_CTR_SLOTS entries, allocated on first use, never shrunk. A slot
 * is never given back: a worker's counters for it may still be counting
 * flows of a removed service or node until they expire, and reusing the
 * slot would credit them to another pair. The control lcore is the only
 * caller, so there is no lock.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>

#include "ef_edge.h"

#define SLOT_TABLE (2u * EF_EDGE_CTR_SLOTS)	/* a power of two */

struct slot_entry {
	uint32_t svc;
	uint32_t addr;
	uint32_t slot;		/* EF_EDGE_NO_SLOT: empty */
};

static struct slot_entry *slots;
static uint32_t n_slots;

uint32_t
ef_edge_ctr_slot(uint32_t svc, uint32_t addr)
{
	uint32_t i;

	if (slots == NULL) {
		slots = malloc(sizeof(*slots) * SLOT_TABLE);
		if (slots == NULL)
			return EF_EDGE_NO_SLOT;
		for (i = 0; i < SLOT_TABLE; i++)
			slots[i].slot = EF_EDGE_NO_SLOT;
	}
	i = rte_hash_crc_4byte(addr, svc) & (SLOT_TABLE - 1);
	/* at most half full: a free entry is always found */
	for (;; i = (i + 1) & (SLOT_TABLE - 1)) {
		struct slot_entry *e = &slots[i];

		if (e->slot == EF_EDGE_NO_SLOT)
			break;
		if (e->svc == svc && e->addr == addr)
			return e->slot;
	}
	if (n_slots >= EF_EDGE_CTR_SLOTS)
		return EF_EDGE_NO_SLOT;
	slots[i].svc = svc;
	slots[i].addr = addr;
	slots[i].slot = n_slots++;
	return slots[i].slot;
}

struct key6_entry {
	uint8_t a[16];
	uint32_t key;		/* EF_EDGE_NO_KEY: empty */
};

static struct key6_entry *keys6;
static uint32_t n_keys6;

uint32_t
ef_edge_node_key6(const uint8_t a[16])
{
	uint64_t wd[2];
	uint32_t i;

	if (keys6 == NULL) {
		/* calloc: every key EF_EDGE_NO_KEY (0) */
		keys6 = calloc(SLOT_TABLE, sizeof(*keys6));
		if (keys6 == NULL)
			return EF_EDGE_NO_KEY;
	}
	/* a copy: a need not be 8-byte aligned (rte_hash_crc loads
	 * 64-bit words) */
	memcpy(wd, a, 16);
	i = rte_hash_crc_8byte(wd[1], rte_hash_crc_8byte(wd[0], 0)) &
		(SLOT_TABLE - 1);
	/* at most half full: a free entry is always found */
	for (;; i = (i + 1) & (SLOT_TABLE - 1)) {
		struct key6_entry *e = &keys6[i];

		if (e->key == EF_EDGE_NO_KEY)
			break;
		if (memcmp(e->a, a, 16) == 0)
			return e->key;
	}
	if (n_keys6 >= EF_EDGE_CTR_SLOTS)
		return EF_EDGE_NO_KEY;
	memcpy(keys6[i].a, a, 16);
	/* 0.0.0.1 onwards: inside 0.0.0.0/8, never a node's IPv4 address */
	keys6[i].key = rte_cpu_to_be_32(++n_keys6);
	return keys6[i].key;
}
