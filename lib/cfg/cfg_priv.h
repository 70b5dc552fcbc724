/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_CFG_PRIV_H
#define EF_CFG_PRIV_H

/*
 * Internals of lib/cfg. The only header of the project that includes
 * <libconfig.h>: everything libconfig-shaped stays behind ef_cfg.h.
 */

#include <search.h>
#include <stdbool.h>
#include <stdbool.h>
#include <stdint.h>

#include <libconfig.h>

#include "ef_cfg.h"

/* One collected error; sorted by line before it reaches the caller. */
struct cfg_err {
	int line;
	uint32_t seq;
	char *msg;
};

/*
 * An integer literal that libconfig 1.5 silently truncated to 32 bits
 * (it reads 4294968320 as 1024). Found by a lexical pass over the text,
 * matched to settings by line and truncated value.
 */
struct cfg_overflow {
	int line;
	int64_t truncated;
	bool any_value;		/* beyond int64: match on the line alone */
	char text[32];
};

enum cfg_claim_kind {
	CFG_CLAIM_CLUSTER_IP,
	CFG_CLAIM_LOAD_BALANCER_IP,
	CFG_CLAIM_EXTERNAL_IP,
	CFG_CLAIM_NODE_PORT,
	CFG_CLAIM_HEALTH_CHECK_NODE_PORT,
};

/*
 * A (protocol, address, port) a service asks the data path to answer.
 * Node ports are claimed on every interface address at once: their
 * address has family 0, so one clash is reported once, not per interface.
 */
struct cfg_claim {
	uint8_t proto;
	uint16_t port;
	struct ef_addr addr;
	enum cfg_claim_kind kind;
	uint32_t svc_idx;	/* index in the file's services list */
	uint32_t port_idx;	/* index in that service's ports list */
	int line;
};

struct cfg_svc_name {
	const char *name;	/* NULL when missing or invalid */
	int line;
};

struct cfg_ctx {
	const char *file;	/* name for messages */
	struct ef_cfg *cfg;
	struct cfg_err *errs;
	uint32_t n_errs;
	uint32_t cap_errs;
	bool oom;
	struct cfg_overflow *overflows;
	uint32_t n_overflows;
	uint32_t cap_overflows;
	struct cfg_claim *claims;
	uint32_t n_claims;
	uint32_t cap_claims;
	/* interface device names seen so far, valid interface or not */
	struct cfg_svc_name *if_ports;
	uint32_t n_if_ports;
	/* service names by index in the file, for duplicates and claims */
	struct cfg_svc_name *svc_names;
	uint32_t n_svc_names;
	/* the same names hashed (glibc hsearch_r): duplicate detection in
	 * O(1) per service, not a scan (100 000 services took minutes) */
	struct hsearch_data name_tab;
	bool name_tab_ok;
};

/* Record "FILE:LINE: message"; line 0 leaves the line out. */
void cfg_err_line(struct cfg_ctx *c, const char *file, int line,
		  const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record an error located at setting s (its own file and line). */
void cfg_err_at(struct cfg_ctx *c, const config_setting_t *s,
		const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Make arr (*cap elements of sz bytes) hold at least n + 1. Returns the
 * array, maybe moved, or NULL on ENOMEM (arr is then left as it was).
 */
void *cfg_grow(void *arr, uint32_t *cap, uint32_t n, size_t sz);

/* Scan text for integer literals libconfig would truncate. */
void cfg_scan_overflows(struct cfg_ctx *c, const char *text);

/* Build the model from a parsed tree, recording every error. */
void cfg_parse_root(struct cfg_ctx *c, const config_setting_t *root);

/* Report every frontend claimed twice. */
void cfg_check_claims(struct cfg_ctx *c);

#endif /* EF_CFG_PRIV_H */
