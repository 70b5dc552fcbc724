/* SPDX-License-Identifier: BSD-3-Clause */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>

#include "bench.h"

static const uint8_t tcp_flags[EF_BENCH_KIND_MAX] = {
	[EF_BENCH_SYN] = 0x02,
	[EF_BENCH_SYNACK] = 0x12,
	[EF_BENCH_ACK] = 0x10,
};

static uint64_t
sum_words(const uint8_t *p, size_t len)
{
	uint64_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		uint16_t w;

		memcpy(&w, p + i, 2);
		s += w;
	}
	return s;
}

void
ef_bench_tmpl_init(struct ef_bench_tmpl *t, enum ef_bench_kind kind,
		   const uint8_t dst_mac[6], const uint8_t src_mac[6])
{
	uint8_t *f = t->frame;
	uint8_t *ip = f + 14, *tcp = f + 34;

	memset(t, 0, sizeof(*t));
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	ip[0] = 0x45;
	ip[3] = 40;		/* total length: IP + TCP, no payload */
	ip[6] = 0x40;		/* DF */
	ip[8] = 64;		/* TTL */
	ip[9] = 6;		/* TCP */
	tcp[12] = 5 << 4;	/* data offset */
	tcp[13] = tcp_flags[kind];
	tcp[14] = 0xff;		/* window 65535 */
	tcp[15] = 0xff;
	/* variable fields (addresses, ports, seq/ack, checksums) are zero */
	t->ip_sum = (uint32_t)sum_words(ip, 20);
	t->tcp_sum = (uint32_t)(sum_words(tcp, 20) + rte_cpu_to_be_16(6) +
				rte_cpu_to_be_16(20));
}

/* xorshift64* (Vigna): the generator's only source of randomness, seeded,
 * so that runs are repeatable. */
static inline uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static inline uint32_t
dir_bit(uint64_t r, uint32_t reply_pct)
{
	return (uint32_t)((r >> 40) % 100) < reply_pct ? 1u << 31 : 0;
}

uint32_t *
ef_bench_seq_uniform(uint32_t n, uint32_t len, uint32_t reply_pct,
		     uint64_t seed)
{
	uint32_t *seq = malloc(sizeof(*seq) * len);
	uint64_t s = seed | 1;

	if (seq == NULL)
		return NULL;
	for (uint32_t i = 0; i < len; i++) {
		uint64_t r = rnd(&s);

		seq[i] = (uint32_t)(r & (n - 1)) | dir_bit(r, reply_pct);
	}
	return seq;
}

/*
 * Zipf sampler of Gray et al., "Quickly generating billion-record
 * synthetic databases" (SIGMOD'94), as YCSB uses it: O(n) set-up for
 * zeta(n), O(1) per sample.
 */
uint32_t *
ef_bench_seq_zipf(uint32_t n, uint32_t len, double theta, uint32_t reply_pct,
		  uint64_t seed)
{
	uint32_t *seq = malloc(sizeof(*seq) * len);
	double zetan = 0, zeta2, alpha, eta;
	uint64_t s = seed | 1;

	if (seq == NULL)
		return NULL;
	for (uint32_t i = 1; i <= n; i++)
		zetan += 1.0 / pow((double)i, theta);
	zeta2 = 1.0 + 1.0 / pow(2.0, theta);
	alpha = 1.0 / (1.0 - theta);
	eta = (1.0 - pow(2.0 / n, 1.0 - theta)) / (1.0 - zeta2 / zetan);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t r = rnd(&s);
		double u = (double)(r >> 11) / (double)(1ULL << 53);
		double uz = u * zetan;
		uint64_t rank;

		if (uz < 1.0)
			rank = 0;
		else if (uz < zeta2)
			rank = 1;
		else
			rank = (uint64_t)(n * pow(eta * u - eta + 1.0, alpha));
		if (rank >= n)
			rank = n - 1;
		/* scatter ranks: an odd multiplier is a bijection mod 2^k */
		seq[i] = (uint32_t)((rank * 0x9e3779b1u) & (n - 1)) |
			dir_bit(rnd(&s), reply_pct);
	}
	return seq;
}

static void
ip4(char *buf, size_t len, uint32_t a)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
		 (a >> 8) & 0xff, a & 0xff);
}

/* n endpoints from first on, then one at extra when not 0 */
static void
endpoints_more(FILE *f, uint32_t first, uint32_t n, uint32_t extra,
	       const char *node)
{
	uint32_t all = n + (extra != 0);
	char a[16];

	fputs("    endpoints = (\n", f);
	for (uint32_t e = 0; e < all; e++) {
		ip4(a, sizeof(a), e < n ? first + e : extra);
		fprintf(f, "      { address = \"%s\"; node = \"%s\"; }%s\n", a,
			node, e + 1 < all ? "," : "");
	}
	fputs("    );\n", f);
}

static void
endpoints(FILE *f, uint32_t first, uint32_t n, const char *node)
{
	endpoints_more(f, first, n, 0, node);
}

/* The two VIP services of the established-flow and new-flow runs. */
static void
main_services(FILE *f)
{
	fputs("  { name = \"bench/cluster\"; type = \"LoadBalancer\";\n"
	      "    cluster_ip = \"10.95.0.10\";\n"
	      "    load_balancer_ips = [ \"198.51.100.10\" ];\n"
	      "    ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	      " target_port = 8080; } );\n", f);
	endpoints(f, 0x0afa0001u, EF_BENCH_EPS_MAIN, "node-b");	/* 10.250.0.1 */
	fputs("  },\n"
	      "  { name = \"bench/local\"; type = \"LoadBalancer\";\n"
	      "    cluster_ip = \"10.95.0.11\";\n"
	      "    load_balancer_ips = [ \"198.51.100.11\" ];\n"
	      "    external_traffic_policy = \"Local\";\n"
	      "    ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	      " target_port = 8080; } );\n", f);
	endpoints(f, 0x0afa0101u, EF_BENCH_EPS_MAIN, "node-a");	/* 10.250.1.1 */
	fputs("  },\n"
	      "  { name = \"bench/proxy\"; type = \"LoadBalancer\";\n"
	      "    cluster_ip = \"10.95.0.12\";\n"
	      "    load_balancer_ips = [ \"198.51.100.12\" ];\n"
	      "    ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
	      " target_port = 8080; proxy_protocol = \"v2\"; } );\n", f);
	endpoints(f, 0x0afa0201u, EF_BENCH_EPS_MAIN, "node-b");	/* 10.250.2.1 */
	fputs("  }", f);
}

char *
ef_bench_conf(bool vips, uint32_t n_extra, uint32_t eps, uint32_t max_flows)
{
	return ef_bench_conf_more(vips, n_extra, eps, max_flows, 0);
}

char *
ef_bench_conf_more(bool vips, uint32_t n_extra, uint32_t eps,
		   uint32_t max_flows, uint32_t more_every)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char a[16];

	if (f == NULL)
		return NULL;
	fputs("node = { name = \"node-a\";\n"
	      "  snat_addresses = [ \"10.0.0.1\"", f);
	/* 16 SNAT addresses x 64512 ports x 64 endpoints: room for 16 M
	 * SNAT'd flows at a quarter of the tuple space */
	for (uint32_t i = 101; i < 116; i++)
		fprintf(f, ", \"10.0.0.%u\"", i);
	fputs(" ];\n  snat_port_range = [ 1024, 65535 ]; };\n"
	      "interfaces = (\n"
	      "  { port = \"bench0\"; address = \"198.51.100.1/24\"; },\n"
	      "  { port = \"bench1\"; address = \"10.0.0.1/24\"; }\n"
	      ");\n"
	      "routes = (\n"
	      "  { prefix = \"100.64.0.0/10\"; via = \"198.51.100.2\"; },\n"
	      "  { prefix = \"10.128.0.0/9\"; via = \"10.0.0.2\"; }\n"
	      ");\n"
	      "neighbors = (\n"
	      "  { address = \"198.51.100.2\"; mac = \"02:00:00:00:00:02\"; },\n"
	      "  { address = \"10.0.0.2\"; mac = \"02:00:00:00:01:02\"; }\n"
	      ");\n"
	      "dataplane = { rx_descriptors = 128; tx_descriptors = 128;"
	      " mbufs = 8191; };\n", f);
	/* SYN cookies off (a threshold above any table): "new flows" is the
	 * cost of creating them */
	fprintf(f, "conntrack = { max_flows = %u; "
		"syn_cookie_threshold = 67108864; };\n", max_flows);
	fputs("health = { type = \"none\"; };\n"
	      "services = (\n", f);
	if (vips)
		main_services(f);
	for (uint32_t s = 0; s < n_extra; s++) {
		ip4(a, sizeof(a), EF_BENCH_CLUSTER_IP_NET + s);
		fprintf(f, "%s\n  { name = \"bench/s%u\"; type = \"ClusterIP\";"
			" cluster_ip = \"%s\";\n"
			"    ports = ( { name = \"http\"; protocol = \"TCP\";"
			" port = 80; target_port = 8080; } );\n",
			vips || s > 0 ? "," : "", s, a);
		/* 10.128.0.1 + s * eps: distinct addresses, >= 1 M in all */
		bool other = more_every != 0;

		/* the other configuration: service 0's endpoints moved, one
		 * more in every more_every-th service */
		endpoints_more(f, other && s == 0 ? EF_BENCH_MOVED_NET :
			       0x0a800001u + s * eps, eps,
			       other && s != 0 && s % more_every == 0 ?
			       EF_BENCH_MORE_NET + s : 0, "node-b");
		fputs("  }", f);
	}
	fputs("\n);\n", f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

char *
ef_bench_edge_conf(const char *forwarding, uint32_t max_flows)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	uint32_t ep = 0x0af40001u;	/* 10.244.0.1 */

	if (f == NULL)
		return NULL;
	/* the edge appliance: clients on interface 0 (replies go from the
	 * nodes straight to them, DSR), the nodes on interface 1's subnet */
	fputs("node = { name = \"edge-1\"; };\n"
	      "interfaces = (\n"
	      "  { port = \"bench0\"; address = \"198.51.100.1/24\"; },\n"
	      "  { port = \"bench1\"; address = \"10.0.0.1/24\"; }\n"
	      ");\n"
	      "routes = (\n"
	      "  { prefix = \"100.64.0.0/10\"; via = \"198.51.100.2\"; }\n"
	      ");\n"
	      "neighbors = (\n"
	      "  { address = \"198.51.100.2\"; mac = \"02:00:00:00:00:02\"; }", f);
	for (uint32_t n = 1; n <= EF_BENCH_EDGE_NODES; n++)
		fprintf(f, ",\n  { address = \"10.0.0.%u\";"
			" mac = \"02:00:00:00:01:%02x\"; }", 10 + n, 0x10 + n);
	fputs("\n);\nnodes = (\n", f);
	for (uint32_t n = 1; n <= EF_BENCH_EDGE_NODES; n++)
		fprintf(f, "  { name = \"node-%u\"; address = \"10.0.0.%u\"; }%s\n",
			n, 10 + n, n < EF_BENCH_EDGE_NODES ? "," : "");
	fprintf(f, ");\n"
		"edge = { forwarding = \"%s\"; weights = \"endpoints\";"
		" health_check = false; flow_timeout = 300; };\n"
		"dataplane = { rx_descriptors = 128; tx_descriptors = 128;"
		" mbufs = 8191; };\n"
		"conntrack = { max_flows = %u; };\n"
		"health = { type = \"none\"; };\n"
		"services = (\n"
		"  { name = \"bench/edge\"; type = \"LoadBalancer\";"
		" mode = \"edge\";\n"
		"    load_balancer_ips = [ \"198.51.100.20\" ];\n"
		"    external_traffic_policy = \"Local\";"
		" health_check_node_port = 32000;\n"
		"    ports = ( { name = \"http\"; protocol = \"TCP\"; port = 80;"
		" target_port = 8080; } );\n"
		"    endpoints = (\n", forwarding, max_flows);
	/* node-N runs N pods: weights 1, 2, 3, 4 (edge.weights = endpoints) */
	for (uint32_t n = 1; n <= EF_BENCH_EDGE_NODES; n++)
		for (uint32_t k = 0; k < n; k++) {
			char a[16];

			ip4(a, sizeof(a), ep++);
			fprintf(f, "      { address = \"%s\"; node = \"node-%u\"; }%s\n",
				a, n, n == EF_BENCH_EDGE_NODES && k + 1 == n ?
				"" : ",");
		}
	fputs("    ); }\n);\n", f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
