/* SPDX-License-Identifier: BSD-3-Clause */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ef_addr.h"
#include "ef_cfg.h"
#include "cfg_priv.h"

/* Two claims on one frontend: reported at the later line. */
struct clash {
	const struct cfg_claim *at;
	const struct cfg_claim *first;
};

static int
claim_cmp(const void *a, const void *b)
{
	const struct cfg_claim *x = a;
	const struct cfg_claim *y = b;
	int r;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	/* node-wide claims (family 0) sort first in their (proto, port) */
	r = ef_addr_cmp(&x->addr, &y->addr);
	if (r != 0)
		return r;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->svc_idx != y->svc_idx)
		return x->svc_idx < y->svc_idx ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

static int
clash_cmp(const void *a, const void *b)
{
	const struct clash *x = a;
	const struct clash *y = b;

	if (x->at->line != y->at->line)
		return x->at->line < y->at->line ? -1 : 1;
	if (x->first->line != y->first->line)
		return x->first->line < y->first->line ? -1 : 1;
	/* stable among equals: claims are one array */
	return x->at < y->at ? -1 : x->at > y->at;
}

static const char *
kind_name(enum cfg_claim_kind k)
{
	switch (k) {
	case CFG_CLAIM_CLUSTER_IP:
		return "cluster_ip";
	case CFG_CLAIM_LOAD_BALANCER_IP:
		return "load_balancer_ips";
	case CFG_CLAIM_EXTERNAL_IP:
		return "external_ips";
	case CFG_CLAIM_NODE_PORT:
		return "node_port";
	case CFG_CLAIM_HEALTH_CHECK_NODE_PORT:
		return "health_check_node_port";
	}
	return "?";
}

static const char *
svc_name(const struct cfg_ctx *c, uint32_t idx, char *buf, size_t size)
{
	if (idx < c->n_svc_names && c->svc_names[idx].name != NULL)
		snprintf(buf, size, "\"%s\"", c->svc_names[idx].name);
	else
		snprintf(buf, size, "services[%u]", idx);
	return buf;
}

static void
report(struct cfg_ctx *c, const struct clash *k)
{
	const struct cfg_claim *at = k->at;
	const struct cfg_claim *first = k->first;
	const struct ef_addr *addr = at->addr.family != 0 ? &at->addr :
		&first->addr;
	char path[96];
	char abuf[EF_ADDR_STRLEN];
	char n1[EF_CFG_NAME_MAX + 16];
	char n2[EF_CFG_NAME_MAX + 16];

	if (at->kind == CFG_CLAIM_HEALTH_CHECK_NODE_PORT)
		snprintf(path, sizeof(path),
			 "services[%u].health_check_node_port", at->svc_idx);
	else
		snprintf(path, sizeof(path), "services[%u].ports[%u]",
			 at->svc_idx, at->port_idx);
	if (addr->family != 0)
		ef_addr_fmt(addr, abuf, sizeof(abuf));
	else
		snprintf(abuf, sizeof(abuf), "<every interface address>");
	cfg_err_line(c, NULL, at->line, "%s: duplicate frontend %s %s:%u "
		     "(%s of %s), already claimed at line %d (%s of %s)",
		     path, at->proto == IPPROTO_TCP ? "TCP" : "UDP", abuf,
		     at->port, kind_name(at->kind),
		     svc_name(c, at->svc_idx, n1, sizeof(n1)), first->line,
		     kind_name(first->kind),
		     svc_name(c, first->svc_idx, n2, sizeof(n2)));
}

static void
add_clash(struct clash *list, uint32_t *n, const struct cfg_claim *x,
	  const struct cfg_claim *y)
{
	/* blame the later line; the earlier one is named in the text */
	if (x->line < y->line) {
		list[*n].at = y;
		list[*n].first = x;
	} else {
		list[*n].at = x;
		list[*n].first = y;
	}
	(*n)++;
}

/*
 * Each (protocol, address, port) may be claimed once. Node-wide claims
 * (node ports, health check node ports) hold every interface address, so
 * they clash with each other on equal ports and with any address claim on
 * an interface address. One mistake is reported once: several frontends
 * of one port entry clashing with the same other line give one message.
 */
void
cfg_check_claims(struct cfg_ctx *c)
{
	struct cfg_claim *cl = c->claims;
	struct clash *list;
	uint32_t n = c->n_claims;
	uint32_t n_list = 0;
	uint32_t i = 0;

	if (n < 2)
		return;
	qsort(cl, n, sizeof(*cl), claim_cmp);
	/* each claim clashes with at most one earlier one: n is enough */
	list = calloc(n, sizeof(*list));
	if (list == NULL) {
		c->oom = true;
		return;
	}
	while (i < n) {
		uint32_t end = i;
		const struct cfg_claim *wild = NULL;
		const struct cfg_claim *run = NULL;

		while (end < n && cl[end].proto == cl[i].proto &&
		       cl[end].port == cl[i].port)
			end++;
		for (uint32_t j = i; j < end; j++) {
			const struct cfg_claim *x = &cl[j];

			if (x->addr.family == 0) {
				if (wild != NULL)
					add_clash(list, &n_list, x, wild);
				else
					wild = x;
				continue;
			}
			if (run != NULL && ef_addr_eq(&run->addr, &x->addr)) {
				add_clash(list, &n_list, x, run);
				continue;
			}
			run = x;
			if (wild != NULL && cfg_is_interface_address(c->cfg, &x->addr))
				add_clash(list, &n_list, x, wild);
		}
		i = end;
	}
	qsort(list, n_list, sizeof(*list), clash_cmp);
	for (i = 0; i < n_list; i++) {
		if (i > 0 && list[i].at->line == list[i - 1].at->line &&
		    list[i].first->line == list[i - 1].first->line)
			continue;
		report(c, &list[i]);
	}
	free(list);
}
