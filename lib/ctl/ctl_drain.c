/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Drain: the graceful stop of a scaled-out instance (README "Scale-out").
 * While draining, /edgefwd/vips announces nothing, so the BGP companion
 * (app/edgefwd-bgp) withdraws every VIP at once, and the data plane keeps
 * forwarding until the deadline, so that the routers move new flows to
 * the other instances and packets already on their way still arrive.
 *
 * Any thread: the signal path of app/edgefwd (through its loop), the
 * telemetry threads (/edgefwd/drain, /edgefwd/vips) and the control
 * lcore. Every field is an atomic; no lock.
 */
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ef_ctl.h"

#include "ctl_priv.h"

/* A companion that read the VIP set this recently is announcing it. */
#define ANNOUNCE_FRESH_MS 10000

uint64_t
ef_ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
ef_ctl_drain_init(struct ef_ctl *c, uint32_t seconds)
{
	struct ef_ctl_drain *d = ctl_drain_state(c);

	__atomic_store_n(&d->seconds, seconds, __ATOMIC_RELAXED);
}

bool
ef_ctl_drain_begin(struct ef_ctl *c, enum ef_ctl_drain_mode mode)
{
	struct ef_ctl_drain *d = ctl_drain_state(c);
	uint64_t now = ef_ctl_now_ms();
	uint32_t secs = __atomic_load_n(&d->seconds, __ATOMIC_RELAXED);
	uint32_t was = __atomic_load_n(&d->mode, __ATOMIC_ACQUIRE);

	if (mode == EF_CTL_DRAIN_NONE) {
		/* resume: only a hold can be taken back; a stop is a stop */
		if (was == EF_CTL_DRAIN_HOLD)
			__atomic_store_n(&d->mode, EF_CTL_DRAIN_NONE,
					 __ATOMIC_RELEASE);
		return was != EF_CTL_DRAIN_STOP;
	}
	if (was == EF_CTL_DRAIN_STOP)
		return false;	/* already on its way out */
	__atomic_store_n(&d->since_ms, now, __ATOMIC_RELAXED);
	__atomic_store_n(&d->deadline_ms, mode == EF_CTL_DRAIN_STOP ?
			 now + (uint64_t)secs * 1000 : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&d->mode, mode, __ATOMIC_RELEASE);
	EF_CTL_LOG(NOTICE, "draining: every VIP withdrawn%s", mode ==
		   EF_CTL_DRAIN_STOP ? ", stopping when the drain time is over"
		   : " until resumed");
	return true;
}

enum ef_ctl_stop
ef_ctl_drain_on_signal(struct ef_ctl *c)
{
	struct ef_ctl_drain *d = ctl_drain_state(c);
	uint64_t seen = __atomic_load_n(&d->announced_ms, __ATOMIC_RELAXED);
	uint32_t n = __atomic_load_n(&d->announced, __ATOMIC_RELAXED);

	if (__atomic_load_n(&d->mode, __ATOMIC_ACQUIRE) == EF_CTL_DRAIN_STOP)
		return EF_CTL_STOP_NOW;	/* a second signal: now */
	if (__atomic_load_n(&d->seconds, __ATOMIC_RELAXED) == 0)
		return EF_CTL_STOP_NOW;
	/* nobody announces us: no router to move away, nothing to wait for */
	if (n == 0 || seen == 0 || ef_ctl_now_ms() - seen > ANNOUNCE_FRESH_MS)
		return EF_CTL_STOP_NOW;
	ef_ctl_drain_begin(c, EF_CTL_DRAIN_STOP);
	return EF_CTL_STOP_DRAINING;
}

bool
ef_ctl_drain_over(const struct ef_ctl *c)
{
	const struct ef_ctl_drain *d = ctl_drain_state_c(c);

	return __atomic_load_n(&d->mode, __ATOMIC_ACQUIRE) ==
		EF_CTL_DRAIN_STOP && ef_ctl_now_ms() >=
		__atomic_load_n(&d->deadline_ms, __ATOMIC_RELAXED);
}

void
ef_ctl_drain_get(const struct ef_ctl *c, struct ef_ctl_drain_info *out)
{
	const struct ef_ctl_drain *d = ctl_drain_state_c(c);
	uint64_t now = ef_ctl_now_ms(), dl;

	out->mode = (enum ef_ctl_drain_mode)__atomic_load_n(&d->mode,
							    __ATOMIC_ACQUIRE);
	out->seconds = __atomic_load_n(&d->seconds, __ATOMIC_RELAXED);
	dl = __atomic_load_n(&d->deadline_ms, __ATOMIC_RELAXED);
	out->remaining_ms = out->mode == EF_CTL_DRAIN_STOP && dl > now ?
		dl - now : 0;
	out->since_ms = out->mode == EF_CTL_DRAIN_NONE ? 0 :
		now - __atomic_load_n(&d->since_ms, __ATOMIC_RELAXED);
}

void
ef_ctl_drain_note_announced(struct ef_ctl *c, uint32_t n)
{
	struct ef_ctl_drain *d = ctl_drain_state(c);

	__atomic_store_n(&d->announced, n, __ATOMIC_RELAXED);
	__atomic_store_n(&d->announced_ms, ef_ctl_now_ms(), __ATOMIC_RELAXED);
}

const char *
ef_ctl_drain_mode_name(enum ef_ctl_drain_mode m)
{
	switch (m) {
	case EF_CTL_DRAIN_NONE:
		return "none";
	case EF_CTL_DRAIN_STOP:
		return "stop";
	case EF_CTL_DRAIN_HOLD:
		return "hold";
	}
	return "?";
}
