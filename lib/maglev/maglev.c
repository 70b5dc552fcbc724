/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Weighted Maglev table build. Written by hand: DPDK has no consistent
 * hashing, and this module is pure (no EAL) so that cfg --check and the
 * unit tests run it without DPDK. The identity hash is written out as well,
 * because it must never change with a library version (rte_jhash and
 * rte_hash_crc give no such promise, and CRC depends on the CPU path).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ef_maglev.h"

static const uint32_t maglev_sizes[] = {
	251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65537,
};

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3) sipround(&(v0), &(v1), &(v2), &(v3))

static inline void
sipround(uint64_t *v0, uint64_t *v1, uint64_t *v2, uint64_t *v3)
{
	*v0 += *v1; *v1 = ROTL64(*v1, 13); *v1 ^= *v0; *v0 = ROTL64(*v0, 32);
	*v2 += *v3; *v3 = ROTL64(*v3, 16); *v3 ^= *v2;
	*v0 += *v3; *v3 = ROTL64(*v3, 21); *v3 ^= *v0;
	*v2 += *v1; *v1 = ROTL64(*v1, 17); *v1 ^= *v2; *v2 = ROTL64(*v2, 32);
}

/* Little-endian load of 8 bytes whatever the host order. */
static uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* SipHash-2-4 with the reference key 00 01 .. 0f. */
static uint64_t
siphash24(const uint8_t *in, size_t len)
{
	const uint64_t k0 = 0x0706050403020100ULL;
	const uint64_t k1 = 0x0f0e0d0c0b0a0908ULL;
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56;
	size_t tail = len & 7;
	const uint8_t *end = in + len - tail;

	for (; in != end; in += 8) {
		uint64_t m = load_le64(in);

		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t i = 0; i < tail; i++)
		b |= (uint64_t)in[i] << (8 * i);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
ef_maglev_backend_id(const struct ef_addr *addr, uint16_t port_net_order)
{
	uint8_t buf[1 + 16 + 2];
	size_t alen = addr->family == EF_AF_INET4 ? 4 : 16;
	const uint8_t *abytes = addr->family == EF_AF_INET4 ?
		(const uint8_t *)&addr->v4 : addr->v6;

	buf[0] = addr->family;
	memcpy(&buf[1], abytes, alen);
	/* the port is already in network order in memory: copy its bytes */
	memcpy(&buf[1 + alen], &port_net_order, 2);
	return siphash24(buf, 1 + alen + 2);
}

uint32_t
ef_maglev_size_for(uint32_t n_backends)
{
	uint64_t want = (uint64_t)n_backends * 100;
	size_t n = sizeof(maglev_sizes) / sizeof(maglev_sizes[0]);

	for (size_t i = 0; i < n; i++)
		if (maglev_sizes[i] >= want)
			return maglev_sizes[i];
	return EF_MAGLEV_MAX_SIZE;
}

static int
is_prime(uint32_t v)
{
	if (v < 2)
		return 0;
	for (uint32_t d = 2; d * d <= v; d++)
		if (v % d == 0)
			return 0;
	return 1;
}

/* murmur3 fmix64: spreads the id into two independent permutation seeds */
static uint64_t
fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

struct maglev_slot {
	uint64_t id;
	uint32_t weight;
	uint32_t orig;		/* index in the caller's array */
	uint32_t pos;		/* next candidate entry in the permutation */
	uint32_t skip;
	uint64_t credit;	/* accumulated weight this round */
};

static int
slot_cmp(const void *a, const void *b)
{
	const struct maglev_slot *x = a;
	const struct maglev_slot *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight < y->weight ? -1 : 1;
	/* keeps qsort's result stable for true duplicates */
	return x->orig < y->orig ? -1 : (x->orig > y->orig);
}

int
ef_maglev_build(uint16_t *table, uint32_t size,
		const struct ef_maglev_backend *b, uint32_t n)
{
	struct maglev_slot *s;
	uint32_t live = 0;
	uint32_t max_w = 0;
	uint32_t filled = 0;

	if (table == NULL || size > EF_MAGLEV_MAX_SIZE || !is_prime(size) ||
	    n > EF_MAGLEV_MAX_BACKENDS || n > size || (n > 0 && b == NULL))
		return -EINVAL;

	for (uint32_t i = 0; i < n; i++) {
		if (b[i].weight == 0)
			continue;
		live++;
		if (b[i].weight > max_w)
			max_w = b[i].weight;
	}
	if (live == 0) {
		for (uint32_t i = 0; i < size; i++)
			table[i] = EF_MAGLEV_NONE;
		return 0;
	}

	s = malloc(sizeof(*s) * live);
	if (s == NULL)
		return -ENOMEM;
	live = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (b[i].weight == 0)
			continue;
		s[live].id = b[i].id;
		s[live].weight = b[i].weight;
		s[live].orig = i;
		s[live].credit = 0;
		live++;
	}
	qsort(s, live, sizeof(*s), slot_cmp);
	for (uint32_t i = 0; i < live; i++) {
		s[i].pos = (uint32_t)(fmix64(s[i].id ^ 0x9e3779b97f4a7c15ULL) %
				      size);
		s[i].skip = (uint32_t)(fmix64(s[i].id ^ 0xc2b2ae3d27d4eb4fULL) %
				       (size - 1)) + 1;
	}

	for (uint32_t i = 0; i < size; i++)
		table[i] = EF_MAGLEV_NONE;

	/*
	 * Each backend's permutation (offset + j * skip) % M visits every
	 * entry because M is prime and 0 < skip < M, so a backend always finds
	 * a free entry while the table is not full: the loop ends after
	 * exactly M placements.
	 */
	while (filled < size) {
		for (uint32_t i = 0; i < live && filled < size; i++) {
			struct maglev_slot *x = &s[i];

			x->credit += x->weight;
			if (x->credit < max_w)
				continue;
			x->credit -= max_w;
			while (table[x->pos] != EF_MAGLEV_NONE) {
				x->pos += x->skip;
				if (x->pos >= size)
					x->pos -= size;
			}
			table[x->pos] = (uint16_t)x->orig;
			filled++;
		}
	}
	free(s);
	return 0;
}
