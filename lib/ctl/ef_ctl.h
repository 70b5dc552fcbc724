/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_CTL_H
#define EF_CTL_H

/*
 * The control plane: owns the configuration generations (build aside,
 * publish with one release store, free after an RCU grace period), the
 * worker states and the rings between them, the neighbour resolver and the
 * exception path, and runs the control lcore's loop. Health checks and
 * telemetry hang off it.
 *
 * Every function here runs on the control lcore unless it says otherwise.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ef_cfg.h"
#include "ef_fwd.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ef_ctl;
struct ef_health;
struct ef_health_nodes;

/* Longest reload error message kept and returned. */
#define EF_CTL_ERR_MAX 2048

/*
 * Build generation 1 from cfg (ownership passes), the mbuf pool, RCU
 * state, neighbour table and SNAT map for n_workers workers. Ports are
 * the caller's (app); call ef_ctl_start() once they are up. NULL and a
 * message in err on failure.
 */
struct ef_ctl *ef_ctl_create(struct ef_cfg *cfg, const char *file,
			     uint32_t n_workers, uint32_t max_services,
			     char *err, size_t errlen);

/* The state shared with the workers. */
struct ef_fwd_shared *ef_ctl_shared(struct ef_ctl *c);

/* Give the SNAT map the ports' RSS model (NULL: none, replies to SNAT
 * ports are handed off as before; docs/RSS.md), before ef_ctl_start().
 * 0 or -EINVAL (ef_nat_map_set_rss()). Control lcore. */
int ef_ctl_nat_rss_set(struct ef_ctl *c, const struct ef_nat_rss *r);

/* Create worker states, rings and the exception path (ports must be set
 * in the shared state: port_id, mac, mtu, n_rxq). 0 or -1 with err. */
int ef_ctl_start(struct ef_ctl *c, char *err, size_t errlen);

/* Gratuitous ARP for our addresses, ARP for known next hops. */
void ef_ctl_announce(struct ef_ctl *c);

/* One iteration of the control loop (waits at most ~1 ms). */
void ef_ctl_poll(struct ef_ctl *c);

/* Ask for a reload at the next ef_ctl_poll() (signal-safe flag). Any
 * thread. */
void ef_ctl_request_reload(struct ef_ctl *c);

/*
 * Reload the config file now: parse, validate, build, publish, retire the
 * old generation after a grace period (freed by ef_ctl_reclaim()). On failure the running generation
 * stays and err holds every error (FILE:LINE: message; ...). Returns 0 or
 * -1. Control lcore.
 */
int ef_ctl_reload(struct ef_ctl *c, char *err, size_t errlen);

/*
 * The second half of a reload, from a model already loaded (ownership of
 * cfg passes): reject restart-only changes, build the next generation
 * aside, publish it with one release store, move the health engine to it,
 * wait for a grace period and retire the old one (ef_ctl_reclaim() frees
 * it). Returns 0, or -1 with the reason in err (the running generation
 * stays). Control lcore; also what
 * the reload-cost benchmark times.
 */
int ef_ctl_reload_cfg(struct ef_ctl *c, struct ef_cfg *cfg, char *err,
		      size_t errlen);

/*
 * Ask the control lcore to reload and wait up to timeout_ms for the
 * outcome: 0 (and *gen, the new generation) or -1 with the error in err,
 * or -ETIMEDOUT. Never call it from the control lcore (it would wait for
 * itself); the telemetry thread's /edgefwd/reload does. Any other thread.
 */
int ef_ctl_reload_wait(struct ef_ctl *c, uint32_t timeout_ms, uint64_t *gen,
		       char *err, size_t errlen);

/*
 * Read side for threads that are not workers (telemetry): returns the
 * current generation, valid until ef_ctl_read_unlock(). Do not wait for
 * the control lcore in between (it may be waiting for this reader's
 * grace period). Any non-worker thread except the control lcore.
 */
const struct ef_svc_gen *ef_ctl_read_lock(struct ef_ctl *c);
void ef_ctl_read_unlock(struct ef_ctl *c);

/*
 * Free one thing a reload left behind, if no reload is waiting: the
 * running generation's parser tree, else the oldest generation retired
 * (past its grace period; at most 2 wait, a reload frees beyond that).
 * Returns true when it freed something. ef_ctl_poll() calls it once per
 * iteration. Control lcore.
 */
bool ef_ctl_reclaim(struct ef_ctl *c);

/* Retired generations waiting for ef_ctl_reclaim(). Control lcore. */
uint32_t ef_ctl_retired(const struct ef_ctl *c);

/* Generation number (any thread) and config file path. */
uint64_t ef_ctl_generation(const struct ef_ctl *c);
const char *ef_ctl_config_file(const struct ef_ctl *c);

/* Health engine (NULL before ef_ctl_start()). */
struct ef_health *ef_ctl_health(struct ef_ctl *c);

/* The node prober of edge services (telemetry reads its snapshot). */
struct ef_health_nodes *ef_ctl_health_nodes(struct ef_ctl *c);

struct ef_ctl_stats {
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	uint64_t uptime_s;
	char last_error[EF_CTL_ERR_MAX];	/* of the last failed reload */
};

/* Reload counters, uptime, last reload error. Any thread. */
void ef_ctl_stats(struct ef_ctl *c, struct ef_ctl_stats *out);

void ef_ctl_free(struct ef_ctl *c);

/*
 * Drain (ctl_drain.c; README "Scale-out"): while draining, /edgefwd/vips
 * announces no VIP, so the BGP companion withdraws them all, and the data
 * plane keeps forwarding. Every call: any thread.
 */
enum ef_ctl_drain_mode {
	EF_CTL_DRAIN_NONE,	/* announcing what is usable */
	EF_CTL_DRAIN_STOP,	/* withdrawn; stop at the deadline */
	EF_CTL_DRAIN_HOLD,	/* withdrawn until resumed (maintenance) */
};

enum ef_ctl_stop {
	EF_CTL_STOP_NOW,
	EF_CTL_STOP_DRAINING,	/* stop when ef_ctl_drain_over() says so */
};

struct ef_ctl_drain_info {
	enum ef_ctl_drain_mode mode;
	uint32_t seconds;	/* the drain time of a stop */
	uint64_t remaining_ms;	/* of a STOP drain */
	uint64_t since_ms;	/* draining for this long (0: not draining) */
};

/* Monotonic milliseconds (CLOCK_MONOTONIC), the drain clock. */
uint64_t ef_ctl_now_ms(void);

/* The drain time of a stop (--drain-seconds); before the loop starts. */
void ef_ctl_drain_init(struct ef_ctl *c, uint32_t seconds);

/*
 * Begin a drain: STOP (withdraw, stop after the drain time), HOLD
 * (withdraw until resumed), or NONE (resume a HOLD). Returns false when
 * nothing changed because a STOP is under way (it cannot be taken back).
 */
bool ef_ctl_drain_begin(struct ef_ctl *c, enum ef_ctl_drain_mode mode);

/*
 * SIGTERM/SIGINT: begin a STOP drain when it can matter (a drain time
 * above 0 and a BGP companion read a non-empty VIP set within the last
 * 10 s), else, or when a STOP drain is already under way (a second
 * signal), stop now.
 */
enum ef_ctl_stop ef_ctl_drain_on_signal(struct ef_ctl *c);

/* true when a STOP drain's time is over. */
bool ef_ctl_drain_over(const struct ef_ctl *c);

void ef_ctl_drain_get(const struct ef_ctl *c, struct ef_ctl_drain_info *out);

/* /edgefwd/vips answered with n VIPs announced (the signal's test). */
void ef_ctl_drain_note_announced(struct ef_ctl *c, uint32_t n);

const char *ef_ctl_drain_mode_name(enum ef_ctl_drain_mode m);

#ifdef __cplusplus
}
#endif

#endif /* EF_CTL_H */
