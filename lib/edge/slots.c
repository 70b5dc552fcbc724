/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The process-wide registry of (service, node) counter slots
 * (ef_edge_ctr_slot()): an open-addressing table of twice
 * EF_EDGE_CTR_SLOTS entries, allocated on first use, never shrunk. A slot
 * is never given back: a worker's counters for it may still be counting
 * flows of a removed service or node until they expire, and reusing the
 * slot would credit them to another pair. The control lcore is the only
 * caller, so there is no lock.
 */
#include <stdlib.h>

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
