/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * edgefwd-bench: the worker's burst function on synthetic frames, no I/O,
 * one lcore, the real configuration model (BENCH.md). This is the runner:
 * options, EAL, the order of the benchmarks (harness.h) and the JSON line
 * of every figure, built as the run goes.
 */
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "harness.h"

/* The figures the JSON line ends with. */
struct figures {
	double cl64k, cl1m, lo1m, cl16m, lo64k, px64k, px1m;
	double floor64k, floor1m, floor16m, nf_cl, nf_lo, bpf, mg;
};

/* The EAL arguments the bench makes when given none (they must outlive
 * rte_eal_init()). */
struct eal_args {
	char lcore[16];
	char mem[16];
	char prefix[48];
	char huge[16];
};

static FILE *json;		/* the JSON line, built as we go */
static char *json_buf;
static size_t json_len;

static void
jnum(const char *key, double v)
{
	fprintf(json, "%s\"%s\": %.6g", ftell(json) > 1 ? ", " : "", key, v);
}

/* Free hugepage memory in MiB, from /proc/meminfo (0 if unknown). */
static uint64_t
free_huge_mb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long n = 0, kb = 0, v;
	char line[128];

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "HugePages_Free: %llu", &v) == 1)
			n = v;
		else if (sscanf(line, "Hugepagesize: %llu kB", &v) == 1)
			kb = v;
	}
	fclose(f);
	return n * kb / 1024;
}

static void
cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown CPU");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *c = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && c != NULL) {
			snprintf(buf, len, "%s", c + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

static void
usage(const char *prog)
{
	printf("usage: %s [EAL options --] [--quick] [--no-16m] [--reps N]\n"
	       "  without EAL options: -l <this cpu> --no-pci --no-shconf, and\n"
	       "  --huge-unlink -m 4608 (--quick or --edge 1024, --no-16m 2048)"
	       " when that\n"
	       "  many MiB of hugepages are free, else --no-huge with twice as "
	       "much\n"
	       "  --quick   reduced run (seconds): 64K flows, no 1M/16M\n"
	       "  --no-16m  skip the 16M-flow run (needs ~4 GB of EAL "
	       "memory)\n"
	       "  --telemetry  only the worker-gap run under telemetry "
	       "commands\n"
	       "            (1M flows; 64K with --quick)\n"
	       "  --edge    only the edge family (ipip, gue, l2), after a "
	       "Local\n"
	       "            proxy-mode reference\n"
	       "  --scrape  only the /metrics scrape cost (10 000 services; "
	       "1 000\n"
	       "            with --quick)\n"
	       "  --rss     only the RSS family: SNAT picks on 2..16 "
	       "simulated queues\n"
	       "            (reply handoff share, cycles per pick)\n"
	       "  --reload  only reloads of 10 000 services x 4 endpoints "
	       "under load\n"
	       "            (1M flows; 64K with --quick): burst gaps\n"
	       "  --ipv6    only the IPv6 family: IPv6 beside IPv4 in one "
	       "dual-stack\n"
	       "            config (1M flows each; 64K with --quick)\n"
	       "  --services  only the services family: 1, 1 000 and 100 000 "
	       "services\n"
	       "            (1 and 1 000 with --quick): config, established, "
	       "new flows\n"
	       "  --established  only the established rows (Cluster, Local,\n"
	       "            PROXY v2, 64K/1M/16M, uniform and Zipf) and floors\n"
	       "  --reps N  repetitions per figure (median; default 5, "
	       "quick 3)\n"
	       "  --pkts N  packets per repetition (default 4M, quick 512K)\n",
	       prog);
}

static int
parse_opts(int argc, char **argv, struct ef_bench_opts *o)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "no-16m", no_argument, NULL, 'n' },
		{ "telemetry", no_argument, NULL, 't' },
		{ "edge", no_argument, NULL, 'e' },
		{ "scrape", no_argument, NULL, 's' },
		{ "rss", no_argument, NULL, 'R' },
		{ "reload", no_argument, NULL, 'L' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "services", no_argument, NULL, 'S' },
		{ "established", no_argument, NULL, 'E' },
		{ "reps", required_argument, NULL, 'r' },
		{ "pkts", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'n':
			o->no_16m = true;
			break;
		case 't':
			o->telemetry_only = true;
			break;
		case 'e':
			o->edge_only = true;
			break;
		case 's':
			o->scrape_only = true;
			break;
		case 'R':
			o->rss_only = true;
			break;
		case 'L':
			o->reload_only = true;
			break;
		case '6':
			o->ipv6_only = true;
			break;
		case 'S':
			o->services_only = true;
			break;
		case 'E':
			o->est_only = true;
			break;
		case 'r':
			o->reps = (uint32_t)atoi(optarg);
			if (o->reps < 1 || o->reps > 15) {
				fprintf(stderr, "--reps: 1..15\n");
				return -1;
			}
			break;
		case 'p':
			o->pkts = strtoull(optarg, NULL, 0) & ~(uint64_t)(EF_BENCH_BURST - 1);
			if (o->pkts == 0) {
				fprintf(stderr, "--pkts: at least %d\n", EF_BENCH_BURST);
				return -1;
			}
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	return 0;
}

/*
 * Parse our options and start EAL: with the EAL options before "--" when
 * given, else our own (ea), sized by the run. Returns 0, or 2 on bad
 * options; *own_eal tells which. Exits when EAL fails.
 */
static int
start(int argc, char **argv, struct ef_bench_opts *o, struct eal_args *ea,
      bool *own_eal)
{
	char *eal_def[] = { argv[0], (char *)"-l", ea->lcore, ea->huge,
			    (char *)"-m", ea->mem, (char *)"--no-pci",
			    (char *)"--no-shconf", ea->prefix,
			    (char *)"--no-telemetry",
			    (char *)"--log-level=lib.*:error", NULL };
	uint32_t need_mb;
	int sep = -1, ret;

	snprintf(ea->huge, sizeof(ea->huge), "--no-huge");
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	*own_eal = sep < 0;
	if (sep >= 0) {
		argv[sep] = argv[0];
		if (parse_opts(argc - sep, argv + sep, o) != 0)
			return 2;
		ret = rte_eal_init(sep, argv);
	} else {
		if (parse_opts(argc, argv, o) != 0)
			return 2;
		snprintf(ea->lcore, sizeof(ea->lcore), "%d", sched_getcpu());
		/* --edge: one edge appliance at a time, 2 M entries at most */
		need_mb = o->quick || o->edge_only || o->scrape_only ||
			o->rss_only ? 1024 :
			o->no_16m || o->reload_only || o->ipv6_only ||
			o->services_only ? 2048 :
			4608;
		/* 2 MiB pages when enough are free (figures without 4 KiB
		 * TLB misses), else anonymous memory */
		if (free_huge_mb() >= need_mb)
			snprintf(ea->huge, sizeof(ea->huge), "--huge-unlink");
		else
			need_mb *= 2;
		snprintf(ea->mem, sizeof(ea->mem), "%u", need_mb);
		/* a prefix of our own: other DPDK processes may be running */
		snprintf(ea->prefix, sizeof(ea->prefix),
			 "--file-prefix=efbench%d", (int)getpid());
		ret = rte_eal_init((int)RTE_DIM(eal_def) - 1, eal_def);
	}
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "EAL: %s\n", rte_strerror(rte_errno));
	return 0;
}

/* Defaults that depend on --quick, the TSC, the JSON line, the header. */
static void
prepare(struct ef_bench_opts *o)
{
	char cpu[128];

	if (o->reps == 0)
		o->reps = o->quick ? 3 : 5;
	if (o->pkts == 0)
		o->pkts = o->quick ? 1u << 19 : 1u << 22;
	o->seq_len = o->quick ? 1u << 20 : 1u << 22;
	ef_bench_tsc_hz = (double)rte_get_tsc_hz();
	json = open_memstream(&json_buf, &json_len);
	if (json == NULL)
		rte_exit(EXIT_FAILURE, "out of memory\n");
	fputc('{', json);
	cpu_model(cpu, sizeof(cpu));
	printf("edgefwd-bench%s: %s, TSC %.0f MHz, one lcore, no I/O, "
	       "64-byte TCP, medians of %u, %s pages\n\n",
	       o->quick ? " --quick" : "", cpu, ef_bench_tsc_hz / 1e6, o->reps,
	       rte_eal_has_hugepages() ? "huge" : "4 KiB (--no-huge)");
	printf("%-34s %7s %7s %6s %7s %7s\n", "run", "floor", "cyc/pkt",
	       "x fl", "Mpps", "ns/pkt");
}

/* Worker polls under telemetry commands (bench_telemetry.c). */
static int
telemetry(const struct ef_bench_opts *o)
{
	double gap = 0;
	uint64_t lost = 0;
	int ret = ef_bench_telemetry(o, o->quick ? 1u << 16 : 1u << 20, &gap,
				     &lost);

	jnum("telemetry_max_poll_gap_us", gap);
	jnum("telemetry_lost_pkts", (double)lost);
	return ret;
}

/* The edge family, one forwarding method after the other; JSON keys
 * edge_<method>_*. */
static int
edge(const struct ef_bench_opts *o)
{
	static const char *const fwd[] = { "ipip", "gue", "l2" };
	double cpp, fl;
	int ret = 0;

	if (o->edge_only) {
		/* alone: the proxy-mode reference of the same run (Local, DNAT
		 * only: what a node does with the flow the edge sends it) */
		ret |= ef_bench_established(o, 1u << 16, EF_BENCH_SVC_LOCAL,
					    &cpp, &fl);
		jnum("ref_local_64k_cycles_per_pkt", cpp);
		jnum("ref_local_64k_floor_ratio", cpp / fl);
		if (!o->quick) {
			ret |= ef_bench_established(o, 1u << 20,
						    EF_BENCH_SVC_LOCAL, &cpp,
						    &fl);
			jnum("ref_local_1m_cycles_per_pkt", cpp);
			jnum("ref_local_1m_floor_ratio", cpp / fl);
		}
	}
	for (uint32_t i = 0; i < RTE_DIM(fwd); i++) {
		struct ef_bench_edge_fig e;
		char key[64];

		ret |= ef_bench_edge(o, fwd[i], &e);
#define EDGE_KEY(name, v) \
		do { \
			snprintf(key, sizeof(key), "edge_%s_%s", fwd[i], name); \
			jnum(key, v); \
		} while (0)
		EDGE_KEY("64k_cycles_per_pkt", e.est64k);
		EDGE_KEY("64k_floor_ratio", e.est64k / e.floor64k);
		if (!o->quick) {
			EDGE_KEY("1m_cycles_per_pkt", e.est1m);
			EDGE_KEY("1m_floor_ratio", e.est1m / e.floor1m);
		}
		EDGE_KEY("new_flows_per_s", e.new_per_s);
		EDGE_KEY("midflow_new_per_s", e.mid_per_s);
		EDGE_KEY("full_cycles_per_pkt", e.full_cpp);
#undef EDGE_KEY
	}
	return ret;
}

/* The cost of a /metrics scrape (bench_metrics.c); JSON keys scrape_*. */
static int
scrape(const struct ef_bench_opts *o)
{
	struct ef_bench_scrape_fig s;
	uint32_t n = o->quick ? 1000 : 10000;
	int ret = ef_bench_scrape(o, n, &s);

	jnum("scrape_services", n);
	jnum("scrape_bytes", s.bytes);
	jnum("scrape_ms", s.alone_ms);
	jnum("scrape_busy_ms", s.busy_ms);
	jnum("scrape_off_cycles_per_pkt", s.cpp[0]);
	jnum("scrape_spin_cycles_per_pkt", s.cpp[1]);
	jnum("scrape_on_cycles_per_pkt", s.cpp[2]);
	jnum("scrape_on_over_off", s.cpp[0] > 0 ? s.cpp[2] / s.cpp[0] : 0);
	jnum("scrape_spin_over_off", s.cpp[0] > 0 ? s.cpp[1] / s.cpp[0] : 0);
	jnum("scrape_floor_on_over_off",
	     s.floor[0] > 0 ? s.floor[2] / s.floor[0] : 0);
	jnum("scrape_floor_spin_over_off",
	     s.floor[0] > 0 ? s.floor[1] / s.floor[0] : 0);
	return ret;
}

/* The RSS family (bench_rss.c); JSON keys rss_<N>q_*. */
static int
rss(const struct ef_bench_opts *o)
{
	struct ef_bench_rss_fig r;
	int ret = ef_bench_rss(o, &r);
	char key[64];

	if (ret != 0)
		return ret;
	for (uint32_t i = 0; i < EF_BENCH_RSS_QUEUES; i++) {
#define RSS_KEY(name, v) \
		do { \
			snprintf(key, sizeof(key), "rss_%uq_%s", r.queues[i], \
				 name); \
			jnum(key, v); \
		} while (0)
		RSS_KEY("handoff_old", r.handoff_old[i]);
		RSS_KEY("handoff_new", r.handoff_new[i]);
		RSS_KEY("pick_cycles_old", r.cycles_old[i]);
		RSS_KEY("pick_cycles_new", r.cycles_new[i]);
		RSS_KEY("fallback_new", r.fallback_new[i]);
#undef RSS_KEY
	}
	return 0;
}

/* Reloads under load (bench_reload.c); JSON keys reload_*. */
static int
reload(const struct ef_bench_opts *o)
{
	struct ef_bench_reload_fig r;
	int ret = ef_bench_reload(o, 10000, 4, o->quick ? 1u << 16 : 1u << 20,
				  &r);

	jnum("reload_max_gap_us", r.max_us);
	jnum("reload_p999_gap_us", r.p999_us);
	jnum("reload_base_max_gap_us", r.base_max_us);
	jnum("reload_base_p999_gap_us", r.base_p999_us);
	jnum("reload_lost_pkts", (double)r.lost);
	return ret;
}

/* SYN flood costs: the ratios are the figures (issue 17, target 3) */
static int
flood(const struct ef_bench_opts *o)
{
	double nw = 0, full = 0, ck = 0;
	int ret = ef_bench_flood(o, &nw, &full, &ck);

	jnum("flood_new_flow_cycles", nw);
	jnum("flood_full_table_cycles_per_syn", full);
	jnum("flood_cookie_cycles_per_syn", ck);
	if (nw > 0) {
		jnum("flood_full_table_vs_new_flow", full / nw);
		jnum("flood_cookie_vs_new_flow", ck / nw);
	}
	return ret;
}

/* IPv6 beside IPv4 (issue 12): the ratio is the figure (target: IPv6
 * established <= 1.25x IPv4's) */
static int
ipv6(const struct ef_bench_opts *o)
{
	struct ef_bench_ipv6_fig f = { 0 };
	int ret = ef_bench_ipv6(o, o->quick ? 1u << 16 : 1u << 20, &f);

	jnum("ipv6_floor_cycles_per_pkt", f.floor_cpp);
	jnum("ipv6_est_ipv4_cycles_per_pkt", f.est4_cpp);
	jnum("ipv6_est_cycles_per_pkt", f.est6_cpp);
	if (f.est4_cpp > 0)
		jnum("ipv6_est_over_ipv4", f.est6_cpp / f.est4_cpp);
	jnum("ipv6_new_flow_cycles", f.new6_cpf);
	jnum("ipv6_new_flow_ipv4_cycles", f.new4_cpf);
	jnum("ipv6_bytes_per_flow", f.bpf6);
	jnum("ipv6_ipv4_bytes_per_flow", f.bpf4);
	return ret;
}

/* Established and new-flow cost as the number of services grows (issue
 * 17, target 4); JSON keys svc_*. */
static int
services(const struct ef_bench_opts *o)
{
	static const uint32_t svc_full[] = { 1, 1000, 100000 };
	int ret = 0;

	for (uint32_t i = 0; i < (o->quick ? 2u : 3u); i++) {
		double e = 0, n = 0, c = 0;
		char key[64];

		ret |= ef_bench_services(o, svc_full[i], &e, &n, &c);
		snprintf(key, sizeof(key), "svc_%u_config_s", svc_full[i]);
		jnum(key, c);
		snprintf(key, sizeof(key), "svc_%u_est_cycles_per_pkt",
			 svc_full[i]);
		jnum(key, e);
		snprintf(key, sizeof(key), "svc_%u_new_flow_cycles",
			 svc_full[i]);
		jnum(key, n);
	}
	return ret;
}

/* Every benchmark in order; the scaling ones write their JSON keys as
 * they go. Returns 0 when all succeeded. */
static int
run_all(const struct ef_bench_opts *o, struct figures *f)
{
	static const uint32_t gen_full[] = { 1, 100, 10000 };
	double fl, gb = 0, gp = 0;
	int ret = 0;

	if (o->telemetry_only)
		return telemetry(o);
	if (o->edge_only)
		return edge(o);
	if (o->scrape_only)
		return scrape(o);
	if (o->rss_only)
		return rss(o);
	if (o->reload_only)
		return reload(o);
	if (o->ipv6_only)
		return ipv6(o);
	if (o->services_only)
		return services(o);
	ret |= ef_bench_established(o, 1u << 16, EF_BENCH_SVC_CLUSTER, &f->cl64k,
				    &f->floor64k);
	ret |= ef_bench_established(o, 1u << 16, EF_BENCH_SVC_LOCAL, &f->lo64k,
				    &fl);
	ret |= ef_bench_established(o, 1u << 16, EF_BENCH_SVC_PROXY, &f->px64k,
				    &fl);
	if (!o->quick) {
		ret |= ef_bench_established(o, 1u << 20, EF_BENCH_SVC_CLUSTER,
					    &f->cl1m,
					    &f->floor1m);
		ret |= ef_bench_established(o, 1u << 20, EF_BENCH_SVC_LOCAL,
					    &f->lo1m, &fl);
		ret |= ef_bench_established(o, 1u << 20, EF_BENCH_SVC_PROXY,
					    &f->px1m, &fl);
		if (!o->no_16m)
			ret |= ef_bench_established(o, 1u << 24,
						    EF_BENCH_SVC_CLUSTER,
						    &f->cl16m, &f->floor16m);
	}
	if (o->est_only)
		return ret;
	ret |= ef_bench_new_flows(o, false, &f->nf_cl);
	ret |= ef_bench_new_flows(o, true, &f->nf_lo);
	ret |= flood(o);
	ret |= edge(o);
	ret |= ef_bench_memory(o->quick ? 1u << 16 : 1u << 20, &f->bpf);
	ret |= ipv6(o);
	ret |= telemetry(o);
	ret |= reload(o);
	ret |= services(o);
	ret |= scrape(o);
	ret |= rss(o);
	ret |= ef_bench_maglev(o, &f->mg);
	for (uint32_t i = 0; i < (o->quick ? 2u : 3u); i++) {
		char key[64];

		ret |= ef_bench_generation(gen_full[i],
					   gen_full[i] > 1000 ? 3 : 5, &gb,
					   &gp);
		snprintf(key, sizeof(key), "gen_%u_build_publish_ms",
			 gen_full[i]);
		jnum(key, gb);
		snprintf(key, sizeof(key), "gen_%u_parse_ms", gen_full[i]);
		jnum(key, gp);
	}
	return ret;
}

/* The rest of the JSON line, printed after the table. */
static void
print_json(const struct ef_bench_opts *o, const struct figures *f, int ret)
{
	/* --telemetry / --edge / --scrape / --rss: that family's keys alone (the others were
	 * not measured: no zeros, no NaN ratios) */
	if (o->telemetry_only || o->edge_only || o->scrape_only ||
	    o->rss_only || o->reload_only || o->ipv6_only ||
	    o->services_only)
		goto tail;
	/* the headline floor is the 1 M run's (the targets' reference) */
	jnum("floor_cycles_per_pkt", o->quick ? f->floor64k : f->floor1m);
	jnum("floor_64k_cycles_per_pkt", f->floor64k);
	jnum("est_cluster_64k_cycles_per_pkt", f->cl64k);
	jnum("est_local_64k_cycles_per_pkt", f->lo64k);
	jnum("est_proxy_64k_cycles_per_pkt", f->px64k);
	if (!o->quick) {
		jnum("est_cluster_1m_cycles_per_pkt", f->cl1m);
		jnum("est_local_1m_cycles_per_pkt", f->lo1m);
		jnum("est_proxy_1m_cycles_per_pkt", f->px1m);
		jnum("est_cluster_1m_floor_ratio", f->cl1m / f->floor1m);
		if (!o->no_16m) {
			jnum("est_cluster_16m_cycles_per_pkt", f->cl16m);
			jnum("est_16m_over_64k", f->cl16m / f->cl64k);
			jnum("floor_16m_cycles_per_pkt", f->floor16m);
		}
	}
	jnum("est_cluster_64k_floor_ratio", f->cl64k / f->floor64k);
	if (o->est_only)
		goto tail;
	jnum("new_flows_per_s", f->nf_cl);
	jnum("new_flows_local_per_s", f->nf_lo);
	jnum("bytes_per_flow", f->bpf);
	jnum("flows_per_gb", (double)(1u << 30) / f->bpf);
	jnum("maglev_build_ms", f->mg);
tail:
	jnum("cpu_mhz", ef_bench_tsc_hz / 1e6);
	jnum("hugepages", rte_eal_has_hugepages());
	jnum("quick", o->quick);
	jnum("ok", ret == 0);
	fputc('}', json);
	fclose(json);
	printf("\n%s\n", json_buf);
	free(json_buf);
}

int
main(int argc, char **argv)
{
	struct ef_bench_opts o = { 0 };
	struct figures f = { 0 };
	struct eal_args ea;
	bool own_eal;
	int ret;

	ret = start(argc, argv, &o, &ea, &own_eal);
	if (ret != 0)
		return ret;
	prepare(&o);
	ret = run_all(&o, &f);
	print_json(&o, &f, ret);
	rte_eal_cleanup();
	if (own_eal) {
		char dir[96];

		/* --no-shconf still makes the runtime directory */
		snprintf(dir, sizeof(dir), "/var/run/dpdk/%s", ea.prefix + 14);
		rmdir(dir);
	}
	return ret == 0 ? 0 : 1;
}
