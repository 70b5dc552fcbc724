/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * edgefwd: EAL, ports and queues, lcores, signals and the control loop.
 *
 *   edgefwd [EAL options] -- -c FILE [--check] [--idle-sleep US]
 *                            [--drain-seconds N]
 *
 * The EAL main lcore is the control lcore; every other lcore is a worker.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "ef_cfg.h"
#include "ef_ctl.h"
#include "ef_exc.h"
#include "ef_fwd.h"
#include "ef_metrics.h"
#include "ef_nat.h"
#include "ef_neigh.h"
#include "ef_svc.h"
#include "ef_tele.h"

#include "edgefwd_priv.h"

EF_LOG_REGISTER(edgefwd);

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

struct app_opts {
	const char *config;
	int check;
	uint32_t idle_sleep_us;
	uint32_t icmp_rate;
	uint32_t max_services;
	uint32_t drain_seconds;
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: edgefwd [EAL options] -- -c FILE [options]\n"
		"  -c, --config FILE     configuration (CONFIG.md)\n"
		"      --check           validate FILE and exit (no EAL needed)\n"
		"      --idle-sleep US   sleep US microseconds when a worker "
		"is idle (default 0: busy poll)\n"
		"      --icmp-rate N     ICMP errors/RSTs generated per second "
		"per worker (default 1000)\n"
		"      --max-services N  distinct service names over the "
		"process's life (default 65536)\n"
		"      --drain-seconds N SIGTERM/SIGINT while a BGP companion "
		"announces VIPs:\n"
		"                        withdraw them all, forward N more "
		"seconds, then stop\n"
		"                        (default 5; 0: stop at once; a "
		"second signal stops now)\n");
}

static int
parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_app_args(int argc, char **argv, struct app_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "idle-sleep", required_argument, NULL, 'i' },
		{ "icmp-rate", required_argument, NULL, 'r' },
		{ "max-services", required_argument, NULL, 's' },
		{ "drain-seconds", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->icmp_rate = 1000;
	o->max_services = EF_SVC_MAX_SERVICES_DEFAULT;
	o->drain_seconds = 5;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'k':
			o->check = 1;
			break;
		case 'i':
			if (parse_u32(optarg, &o->idle_sleep_us) != 0 ||
			    o->idle_sleep_us > 100000) {
				EF_EDGEFWD_LOG(ERR, "--idle-sleep: 0..100000");
				return -1;
			}
			break;
		case 'r':
			if (parse_u32(optarg, &o->icmp_rate) != 0) {
				EF_EDGEFWD_LOG(ERR, "--icmp-rate: a number");
				return -1;
			}
			break;
		case 's':
			if (parse_u32(optarg, &o->max_services) != 0 ||
			    o->max_services == 0 ||
			    o->max_services > (1u << 24)) {
				EF_EDGEFWD_LOG(ERR,
					"--max-services: 1..16777216");
				return -1;
			}
			break;
		case 'd':
			if (parse_u32(optarg, &o->drain_seconds) != 0 ||
			    o->drain_seconds > 3600) {
				EF_EDGEFWD_LOG(ERR, "--drain-seconds: 0..3600");
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		EF_EDGEFWD_LOG(ERR, "unexpected argument '%s'",
			argv[optind]);
		return -1;
	}
	if (o->config == NULL) {
		EF_EDGEFWD_LOG(ERR, "-c FILE is required");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* --check: parse and validate only; no EAL, no hugepages, no root. */
static int
run_check(const char *file)
{
	struct ef_cfg_errors errs = { 0 };
	struct ef_cfg_summary s;
	struct ef_cfg *cfg = ef_cfg_load(file, &errs);

	if (cfg == NULL) {
		ef_cfg_errors_print(&errs, stderr);
		fprintf(stderr, "%s: %u error%s\n", file, errs.n,
			errs.n == 1 ? "" : "s");
		ef_cfg_errors_clear(&errs);
		return 1;
	}
	ef_cfg_summarize(cfg, &s);
	printf("%s: OK: %u services, %u frontends, %u endpoints\n", file,
	       s.services, s.frontends, s.endpoints);
	ef_cfg_free(cfg);
	return 0;
}

/* Split argv at "--": the part after it is ours. */
static int
find_app_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return -1;
}

/*
 * Whether interface ci's mtu is more than its port can receive, or than
 * one mbuf of pool holds (printed). The port's limit is ethdev's
 * (max_mtu, and max_rx_pktlen less the L2 overhead): net_tap and
 * net_af_packet take 1500 (1522- and 1518-byte frames), NICs and virtio
 * 9000 or more. net_af_xdp reports 3560-byte frames but its umem is the
 * pool's memory: what one object holds past the mbuf and XDP's headroom
 * (XDP_PACKET_HEADROOM, 256) counts, 3442 with the page-sized objects of
 * ef_fwd_mbuf_buf_size().
 */
#define EF_XDP_HEADROOM 256u
static bool
port_mtu_over(const struct ef_cfg *cfg, const struct ef_cfg_interface *ci,
	      const struct rte_eth_dev_info *info, struct rte_mempool *pool)
{
	uint32_t overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	uint32_t max = info->max_mtu, room;

	if (info->max_mtu != UINT16_MAX &&
	    info->max_rx_pktlen > info->max_mtu)
		overhead = info->max_rx_pktlen - info->max_mtu;
	if (info->max_rx_pktlen > overhead)
		max = RTE_MIN(max, info->max_rx_pktlen - overhead);
	if (ci->mtu > max) {
		EF_EDGEFWD_LOG(ERR, "interface '%s' (%s:%d): mtu %u is more "
			"than this port can receive: at most %u (driver %s, "
			"frames of %u bytes)", ci->port, cfg->file, ci->line,
			ci->mtu, max, info->driver_name, info->max_rx_pktlen);
		return true;
	}
	if (strcmp(info->driver_name, "net_af_xdp") == 0) {
		/* its umem is the pool's memory: a chunk is one object,
		 * less the mbuf before the data and XDP's headroom (the
		 * kernel drops a longer frame, as rx_dropped of the veth) */
		uint32_t obj = pool->header_size + pool->elt_size +
			       pool->trailer_size;
		uint32_t before = pool->header_size +
				  (uint32_t)sizeof(struct rte_mbuf) +
				  rte_pktmbuf_priv_size(pool) +
				  RTE_PKTMBUF_HEADROOM + EF_XDP_HEADROOM;
		uint32_t frame = RTE_MIN(obj, 4096u) - before;

		if (ci->mtu + RTE_ETHER_HDR_LEN > frame) {
			EF_EDGEFWD_LOG(ERR, "interface '%s' (%s:%d): mtu %u "
				"is more than net_af_xdp can receive into one "
				"umem chunk: at most %u", ci->port, cfg->file,
				ci->line, ci->mtu,
				frame - RTE_ETHER_HDR_LEN);
			return true;
		}
	}
	room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
	if (ci->mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN > room) {
		EF_EDGEFWD_LOG(ERR, "interface '%s': mtu %u does not fit "
			"the %u-byte mbufs", ci->port, ci->mtu, room);
		return true;
	}
	return false;
}

static int
port_init(struct ef_fwd_shared *sh, const struct ef_cfg *cfg, uint16_t i,
	  uint32_t n_workers)
{
	const struct ef_cfg_interface *ci = &cfg->interfaces[i];
	struct ef_fwd_port *p = &sh->ports[i];
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	uint16_t nrx = (uint16_t)cfg->dataplane.rx_descriptors;
	uint16_t ntx = (uint16_t)cfg->dataplane.tx_descriptors;
	uint16_t port_id, mtu;
	int rc;

	if (rte_eth_dev_get_port_by_name(ci->port, &port_id) != 0) {
		EF_EDGEFWD_LOG(ERR, "interface '%s' (%s:%d): no DPDK port "
			"of that name (give it to EAL: a PCI address bound to a "
			"DPDK driver, or --vdev=%s,...)", ci->port, cfg->file,
			ci->line, ci->port);
		return -1;
	}
	rc = rte_eth_dev_info_get(port_id, &info);
	if (rc != 0) {
		EF_EDGEFWD_LOG(ERR, "port %s: info: %s", ci->port,
			rte_strerror(-rc));
		return -1;
	}
	if (info.max_tx_queues < n_workers) {
		EF_EDGEFWD_LOG(ERR, "port %s has %u TX queues; %u workers "
			"need one each", ci->port, info.max_tx_queues,
			n_workers);
		return -1;
	}
	if (ci->mtu != 0 && port_mtu_over(cfg, ci, &info, sh->pool))
		return -1;
	p->port_id = port_id;
	p->n_rxq = (uint16_t)RTE_MIN(n_workers, (uint32_t)info.max_rx_queues);
	p->addr = ci->address.v4;
	p->prefix_len = ci->prefix_len;
	if (ci->address6.family == EF_AF_INET6) {
		p->has_addr6 = 1;
		p->prefix_len6 = ci->prefix_len6;
		memcpy(p->addr6, ci->address6.v6, 16);
	}
	memset(&conf, 0, sizeof(conf));
	if (p->n_rxq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		edgefwd_rss_conf(&info, &conf.rx_adv_conf.rss_conf);
	}
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	rc = rte_eth_dev_configure(port_id, p->n_rxq, (uint16_t)n_workers,
				   &conf);
	if (rc != 0) {
		EF_EDGEFWD_LOG(ERR, "port %s: configure: %s", ci->port,
			rte_strerror(-rc));
		return -1;
	}
	rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nrx, &ntx);
	for (uint16_t q = 0; q < p->n_rxq; q++) {
		rc = rte_eth_rx_queue_setup(port_id, q, nrx,
					    rte_eth_dev_socket_id(port_id),
					    NULL, sh->pool);
		if (rc != 0) {
			EF_EDGEFWD_LOG(ERR, "port %s: rx queue %u: %s",
				ci->port, q, rte_strerror(-rc));
			return -1;
		}
	}
	for (uint32_t q = 0; q < n_workers; q++) {
		rc = rte_eth_tx_queue_setup(port_id, (uint16_t)q, ntx,
					    rte_eth_dev_socket_id(port_id),
					    NULL);
		if (rc != 0) {
			EF_EDGEFWD_LOG(ERR, "port %s: tx queue %u: %s",
				ci->port, q, rte_strerror(-rc));
			return -1;
		}
	}
	if (ci->mtu != 0) {
		rc = rte_eth_dev_set_mtu(port_id, (uint16_t)ci->mtu);
		/* ring, pcap and memif ports have no MTU: keep our own */
		if (rc != 0 && rc != -ENOTSUP) {
			EF_EDGEFWD_LOG(ERR, "port %s: mtu %u: %s",
				ci->port, ci->mtu, rte_strerror(-rc));
			return -1;
		}
	}
	if (ci->mtu != 0)
		mtu = (uint16_t)ci->mtu;
	else if (rte_eth_dev_get_mtu(port_id, &mtu) != 0 || mtu == 0)
		mtu = RTE_ETHER_MTU;
	p->mtu = mtu;
	rc = rte_eth_dev_start(port_id);
	if (rc != 0) {
		EF_EDGEFWD_LOG(ERR, "port %s: start: %s", ci->port,
			rte_strerror(-rc));
		return -1;
	}
	rte_eth_macaddr_get(port_id, &mac);
	if (!rte_is_valid_assigned_ether_addr(&mac)) {
		/* ring/null ports have none: make one, tell the port if it
		 * listens (it need not: we write every source MAC ourselves) */
		rte_eth_random_addr(mac.addr_bytes);
		rte_eth_dev_default_mac_addr_set(port_id, &mac);
	}
	memcpy(p->mac, mac.addr_bytes, 6);
	sh->port_to_if[port_id] = (int16_t)i;
	return 0;
}

static void
print_counters(const struct ef_fwd_shared *sh)
{
	struct ef_fwd_counters c;

	ef_fwd_counters_sum(sh, &c);
	printf("edgefwd: rx %" PRIu64 " pkts %" PRIu64 " bytes, tx %" PRIu64
	       " pkts %" PRIu64 " bytes, flows created %" PRIu64
	       ", handoff %" PRIu64 ", exception %" PRIu64 "\n",
	       c.rx_packets, c.rx_bytes, c.tx_packets, c.tx_bytes,
	       c.flows_created, c.handoff_packets, c.exception_packets);
	for (unsigned int r = 0; r < EF_FWD_DROP_MAX; r++)
		if (c.drops[r] != 0)
			printf("edgefwd: drop %s %" PRIu64 "\n",
			       ef_fwd_drop_name(r), c.drops[r]);
	fflush(stdout);
}

/* Validate the file before EAL, so that a broken one costs no hugepages. */
static struct ef_cfg *
load_config(const char *file)
{
	struct ef_cfg_errors errs = { 0 };
	struct ef_cfg *cfg = ef_cfg_load(file, &errs);

	if (cfg == NULL) {
		ef_cfg_errors_print(&errs, stderr);
		ef_cfg_errors_clear(&errs);
	}
	return cfg;
}

/* Workers are the EAL lcores besides the main one. Returns how many, or 0
 * when EAL's lcores or the file's interfaces do not fit. */
static uint32_t
count_workers(const struct ef_cfg *cfg)
{
	uint32_t n_workers = rte_lcore_count() - 1;

	if (n_workers == 0 || n_workers > EF_FWD_MAX_WORKERS) {
		EF_EDGEFWD_LOG(ERR, "need 1..%u worker lcores besides the "
			"main lcore (EAL -l/--lcores gave %u lcores)",
			EF_FWD_MAX_WORKERS, rte_lcore_count());
		return 0;
	}
	if (cfg->n_interfaces > EF_FWD_MAX_PORTS) {
		EF_EDGEFWD_LOG(ERR, "at most %u interfaces",
			EF_FWD_MAX_PORTS);
		return 0;
	}
	return n_workers;
}

/* The SNAT pick's RSS model from the started ports (rss.c). */
static void
rss_model(struct ef_ctl *ctl, const struct ef_fwd_shared *sh,
	  uint32_t n_workers)
{
	const char *names[EF_FWD_MAX_PORTS];
	uint16_t ids[EF_FWD_MAX_PORTS], nrxq[EF_FWD_MAX_PORTS];

	for (uint16_t i = 0; i < sh->n_ports; i++) {
		names[i] = sh->gen->cfg->interfaces[i].port;
		ids[i] = sh->ports[i].port_id;
		nrxq[i] = sh->ports[i].n_rxq;
	}
	edgefwd_rss_model(ctl, names, ids, nrxq, sh->n_ports, n_workers);
}

/* Ports up, the control lcore's services started, telemetry commands
 * registered. *n_started: the ports started (stop_dataplane stops them). */
static int
start_dataplane(struct ef_ctl *ctl, const struct app_opts *o,
		uint32_t n_workers, uint16_t *n_started)
{
	struct ef_fwd_shared *sh = ef_ctl_shared(ctl);
	char err[512];
	int ret;

	sh->idle_sleep_us = o->idle_sleep_us;
	ef_ctl_drain_init(ctl, o->drain_seconds);
	sh->icmp_rate = o->icmp_rate;
	for (*n_started = 0; *n_started < sh->n_ports; (*n_started)++)
		if (port_init(sh, sh->gen->cfg, *n_started, n_workers) != 0)
			return -1;
	rss_model(ctl, sh, n_workers);
	if (ef_ctl_start(ctl, err, sizeof(err)) != 0) {
		EF_EDGEFWD_LOG(ERR, "%s", err);
		return -1;
	}
	ret = ef_tele_register(ctl);
	if (ret != 0)
		EF_EDGEFWD_LOG(WARNING, "telemetry commands: %s (the data "
			"plane runs without them)", strerror(-ret));
	return 0;
}

/* SIGTERM/SIGINT (got_stop) or the drain's end: true when the loop ends.
 * A signal while a BGP companion announces us begins a drain (every VIP
 * withdrawn, forwarding goes on for --drain-seconds); a second one, or
 * the drain's end, stops. */
static bool
should_stop(struct ef_ctl *ctl)
{
	static bool said;
	struct ef_ctl_drain_info di;

	if (got_stop) {
		got_stop = 0;
		if (ef_ctl_drain_on_signal(ctl) == EF_CTL_STOP_NOW)
			return true;
	}
	if (!ef_ctl_drain_over(ctl)) {
		/* a stop drain, begun by the signal or by /edgefwd/drain */
		if (!said) {
			ef_ctl_drain_get(ctl, &di);
			if (di.mode == EF_CTL_DRAIN_STOP) {
				printf("edgefwd: draining: every VIP withdrawn, "
				       "forwarding %u s more (a second signal "
				       "stops now)\n", di.seconds);
				fflush(stdout);
				said = true;
			}
		}
		return false;
	}
	return true;
}

/* Workers on every worker lcore; the control loop on this one until
 * SIGTERM/SIGINT (SIGHUP: reload) and the drain they may begin, or a drain
 * asked through telemetry; then the workers stop and the counters are
 * printed. */
static void
serve(struct ef_ctl *ctl, const char *config, uint32_t n_workers)
{
	struct ef_fwd_shared *sh = ef_ctl_shared(ctl);
	struct ef_metrics *metrics;
	unsigned int lcore;
	uint32_t w = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		sh->workers[w]->lcore_id = lcore;
		rte_eal_remote_launch(ef_fwd_worker_main, sh->workers[w], lcore);
		w++;
	}
	/* /metrics on metrics.listen, served by this control loop */
	metrics = ef_metrics_create(ctl);
	if (metrics == NULL)
		EF_EDGEFWD_LOG(WARNING, "metrics: %s (the data plane runs "
			"without /metrics)", rte_strerror(rte_errno));
	ef_ctl_announce(ctl);
	printf("edgefwd: ready: %u workers, %u ports, generation %" PRIu64
	       ", config %s\n", n_workers, sh->n_ports, sh->gen->number,
	       config);
	fflush(stdout);

	while (!should_stop(ctl)) {
		if (got_hup) {
			got_hup = 0;
			ef_ctl_request_reload(ctl);
		}
		ef_ctl_poll(ctl);
		ef_metrics_poll(metrics);
	}
	ef_metrics_free(metrics);
	printf("edgefwd: stopping\n");
	fflush(stdout);
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	rte_eal_mp_wait_lcore();
	print_counters(sh);
}

/* Workers told to stop (a failed start launched none), the started ports
 * stopped and closed, the control state freed. */
static void
stop_dataplane(struct ef_ctl *ctl, uint16_t n_started)
{
	struct ef_fwd_shared *sh = ef_ctl_shared(ctl);

	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	for (uint16_t i = 0; i < n_started; i++) {
		rte_eth_dev_stop(sh->ports[i].port_id);
		rte_eth_dev_close(sh->ports[i].port_id);
	}
	ef_tele_stop();
	ef_ctl_free(ctl);
}

int
main(int argc, char **argv)
{
	struct app_opts opts = { 0 };
	struct ef_ctl *ctl;
	struct ef_cfg *cfg;
	uint32_t n_workers;
	uint16_t n_started = 0;
	int sep, rc = 1;
	char err[512];

	sep = find_app_args(argc, argv);
	if (sep < 0) {
		usage(stderr);
		return 1;
	}
	if (parse_app_args(argc - sep, argv + sep, &opts) != 0)
		return 1;
	if (opts.check)
		return run_check(opts.config);
	cfg = load_config(opts.config);
	if (cfg == NULL)
		return 1;
	if (rte_eal_init(sep, argv) < 0) {
		EF_EDGEFWD_LOG(ERR, "EAL init failed: %s",
			rte_strerror(rte_errno));
		ef_cfg_free(cfg);
		return 1;
	}
	n_workers = count_workers(cfg);
	if (n_workers == 0) {
		ef_cfg_free(cfg);
		goto out_eal;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	/* cfg is the control plane's from here, also when this fails */
	ctl = ef_ctl_create(cfg, opts.config, n_workers, opts.max_services,
			    err, sizeof(err));
	if (ctl == NULL) {
		EF_EDGEFWD_LOG(ERR, "%s", err);
		goto out_eal;
	}
	if (start_dataplane(ctl, &opts, n_workers, &n_started) == 0) {
		serve(ctl, opts.config, n_workers);
		rc = 0;
	}
	stop_dataplane(ctl, n_started);
out_eal:
	rte_eal_cleanup();
	return rc;
}
