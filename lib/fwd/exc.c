/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <netinet/in.h>

#include <rte_arp.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "ef_exc.h"
#include "ef_pkt.h"

#include "exc_priv.h"

EF_LOG_REGISTER(exc);

#define EXC_BUDGET 64	/* frames each way per burst */
#define EXC_ROUNDS 8	/* bursts per worker per poll, at most */
/* learn()'s answer for an NS: the worker answered it (our address) */
#define EXC_ND_SOLICIT 0x10000

struct ef_exc {
	uint16_t n;
	int fd[EF_FWD_MAX_PORTS];
	char name[EF_FWD_MAX_PORTS][IFNAMSIZ];
	struct pollfd pfd[EF_FWD_MAX_PORTS];
	struct ef_exc_stats st;
	uint32_t rr;
	int sock6;		/* AF_INET6 socket for address/route ioctls */
};

static int
ifreq_ioctl(int sock, unsigned long req, struct ifreq *ifr, const char *what,
	    char *err, size_t errlen)
{
	if (ioctl(sock, req, ifr) == 0)
		return 0;
	snprintf(err, errlen, "exception path: %s on %s: %s", what,
		 ifr->ifr_name, strerror(errno));
	return -1;
}

static void
sin_set(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = addr;
}

static int
route_add(int sock, const char *dev, uint32_t dst, uint8_t len, uint32_t gw,
	  char *err, size_t errlen)
{
	struct rtentry rt;
	char devbuf[IFNAMSIZ];
	uint32_t mask = len == 0 ? 0 : htonl(~0u << (32 - len));

	memset(&rt, 0, sizeof(rt));
	snprintf(devbuf, sizeof(devbuf), "%s", dev);
	sin_set(&rt.rt_dst, dst & mask);
	sin_set(&rt.rt_genmask, mask);
	sin_set(&rt.rt_gateway, gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = devbuf;
	if (ioctl(sock, SIOCADDRT, &rt) == 0 || errno == EEXIST)
		return 0;
	snprintf(err, errlen, "exception path: route on %s: %s", dev,
		 strerror(errno));
	return -1;
}

/*
 * IPv6 on the exception TAP (issue 12): the interface's IPv6 address, so
 * that the node's own IPv6 traffic (health probes of IPv6 endpoints, the
 * healthCheckNodePort, SSH) works as IPv4's does. Duplicate address
 * detection is off on the TAP first: the worker answers NSs for the
 * address on the wire, and the kernel's probe would hold the address
 * tentative for a second after every start. struct in6_ifreq comes from
 * <linux/ipv6.h>, which clashes with glibc's headers: declared here.
 */
struct exc_in6_ifreq {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static int
sysctl_write(const char *path, const char *val)
{
	FILE *f = fopen(path, "we");
	int rc;

	if (f == NULL)
		return -1;
	rc = fputs(val, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int
tap_addr6(const char *dev, int sock6, const uint8_t a[16], uint8_t len,
	  char *err, size_t errlen)
{
	struct exc_in6_ifreq r;
	char path[96];

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_dad",
		 dev);
	(void)sysctl_write(path, "0");	/* best effort: DAD only delays */
	memset(&r, 0, sizeof(r));
	memcpy(&r.addr, a, 16);
	r.prefixlen = len;
	r.ifindex = (int)if_nametoindex(dev);
	if (r.ifindex == 0 || (ioctl(sock6, SIOCSIFADDR, &r) != 0 &&
			       errno != EEXIST)) {
		snprintf(err, errlen, "exception path: IPv6 address on %s: %s",
			 dev, strerror(errno));
		return -1;
	}
	return 0;
}

static int
route_add6(int sock6, const char *dev, const uint8_t dst[16], uint8_t len,
	   const uint8_t gw[16], char *err, size_t errlen)
{
	struct in6_rtmsg rt;

	memset(&rt, 0, sizeof(rt));
	memcpy(&rt.rtmsg_dst, dst, 16);
	rt.rtmsg_dst_len = len;
	memcpy(&rt.rtmsg_gateway, gw, 16);
	rt.rtmsg_flags = RTF_UP | RTF_GATEWAY;
	rt.rtmsg_metric = 1;
	rt.rtmsg_ifindex = (int)if_nametoindex(dev);
	if (ioctl(sock6, SIOCADDRT, &rt) == 0 || errno == EEXIST)
		return 0;
	snprintf(err, errlen, "exception path: IPv6 route on %s: %s", dev,
		 strerror(errno));
	return -1;
}

static int
tap_open(struct ef_exc *x, uint16_t i, const struct ef_cfg_interface *ci,
	 const struct ef_fwd_port *p, int sock, char *err, size_t errlen)
{
	struct ifreq ifr;
	uint32_t mask = htonl(~0u << (32 - ci->prefix_len));
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "exception path: /dev/net/tun: %s",
			 strerror(errno));
		return -1;
	}
	x->fd[i] = fd;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "efx%u", i);
	if (ifreq_ioctl(fd, TUNSETIFF, &ifr, "TUNSETIFF", err, errlen) != 0)
		return -1;
	memcpy(x->name[i], ifr.ifr_name, IFNAMSIZ);

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, x->name[i], IFNAMSIZ);
	ifr.ifr_hwaddr.sa_family = 1;	/* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, p->mac, 6);
	if (ifreq_ioctl(sock, SIOCSIFHWADDR, &ifr, "set MAC", err, errlen))
		return -1;
	ifr.ifr_mtu = p->mtu;
	if (ifreq_ioctl(sock, SIOCSIFMTU, &ifr, "set MTU", err, errlen))
		return -1;
	sin_set(&ifr.ifr_addr, p->addr);
	if (ifreq_ioctl(sock, SIOCSIFADDR, &ifr, "set address", err, errlen))
		return -1;
	sin_set(&ifr.ifr_netmask, mask);
	if (ifreq_ioctl(sock, SIOCSIFNETMASK, &ifr, "set netmask", err,
			errlen))
		return -1;
	if (ifreq_ioctl(sock, SIOCGIFFLAGS, &ifr, "get flags", err, errlen))
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ifreq_ioctl(sock, SIOCSIFFLAGS, &ifr, "bring up", err, errlen))
		return -1;
	if (p->has_addr6 && tap_addr6(x->name[i], x->sock6, p->addr6,
				      p->prefix_len6, err, errlen) != 0)
		return -1;
	x->pfd[i].fd = fd;
	x->pfd[i].events = POLLIN;
	return 0;
}

/* The kernel's IPv6 routes: cfg routes via a connected IPv6 subnet, and
 * ::/0 via the first interface's IPv6 gateway (lib/route's rules). */
static int
exc_routes6(struct ef_exc *x, const struct ef_cfg *cfg,
	    const struct ef_fwd_shared *sh, char *err, size_t errlen)
{
	static const uint8_t any[16];

	if (x->sock6 < 0)
		return 0;
	for (uint32_t r = 0; r < cfg->n_routes; r++) {
		const struct ef_cfg_route *cr = &cfg->routes[r];

		if (cr->prefix.family != EF_AF_INET6)
			continue;
		for (uint16_t i = 0; i < sh->n_ports; i++) {
			const struct ef_cfg_interface *ci = &cfg->interfaces[i];

			if (ci->address6.family != EF_AF_INET6 ||
			    !ef_addr_in_prefix(&cr->via, &ci->address6,
					       ci->prefix_len6))
				continue;
			if (route_add6(x->sock6, x->name[i], cr->prefix.v6,
				       cr->prefix_len, cr->via.v6, err,
				       errlen) != 0)
				return -1;
			break;
		}
	}
	for (uint16_t i = 0; i < sh->n_ports; i++) {
		const struct ef_cfg_interface *ci = &cfg->interfaces[i];

		if (ci->gateway6.family != EF_AF_INET6 ||
		    ci->address6.family != EF_AF_INET6)
			continue;
		return route_add6(x->sock6, x->name[i], any, 0,
				  ci->gateway6.v6, err, errlen);
	}
	return 0;
}

struct ef_exc *
ef_exc_create(const struct ef_cfg *cfg, const struct ef_fwd_shared *sh,
	      char *err, size_t errlen)
{
	struct ef_exc *x;
	int sock;
	bool have_default = false;

	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		snprintf(err, errlen, "exception path: out of memory");
		return NULL;
	}
	for (uint16_t i = 0; i < EF_FWD_MAX_PORTS; i++)
		x->fd[i] = -1;
	x->sock6 = -1;
	for (uint16_t i = 0; i < sh->n_ports; i++)
		if (sh->ports[i].has_addr6 && x->sock6 < 0) {
			x->sock6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC,
					  0);
			if (x->sock6 < 0) {
				snprintf(err, errlen, "exception path: IPv6 "
					 "socket: %s", strerror(errno));
				free(x);
				return NULL;
			}
		}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		snprintf(err, errlen, "exception path: socket: %s",
			 strerror(errno));
		if (x->sock6 >= 0)
			close(x->sock6);
		free(x);
		return NULL;
	}
	for (uint16_t i = 0; i < sh->n_ports; i++) {
		if (tap_open(x, i, &cfg->interfaces[i], &sh->ports[i], sock,
			     err, errlen) != 0)
			goto fail;
		x->n++;
	}
	for (uint32_t r = 0; r < cfg->n_routes; r++) {
		const struct ef_cfg_route *cr = &cfg->routes[r];

		for (uint16_t i = 0; i < sh->n_ports; i++) {
			const struct ef_cfg_interface *ci = &cfg->interfaces[i];

			if (!ef_addr_in_prefix(&cr->via, &ci->address,
					       ci->prefix_len))
				continue;
			if (route_add(sock, x->name[i], cr->prefix.v4,
				      cr->prefix_len, cr->via.v4, err,
				      errlen) != 0)
				goto fail;
			break;
		}
	}
	for (uint16_t i = 0; i < sh->n_ports && !have_default; i++) {
		const struct ef_cfg_interface *ci = &cfg->interfaces[i];

		if (ci->gateway.family != EF_AF_INET4)
			continue;
		if (route_add(sock, x->name[i], 0, 0, ci->gateway.v4, err,
			      errlen) != 0)
			goto fail;
		have_default = true;
	}
	if (exc_routes6(x, cfg, sh, err, errlen) != 0)
		goto fail;
	close(sock);
	return x;
fail:
	close(sock);
	ef_exc_free(x);
	return NULL;
}

void
ef_exc_free(struct ef_exc *x)
{
	if (x == NULL)
		return;
	for (uint16_t i = 0; i < EF_FWD_MAX_PORTS; i++)
		if (x->fd[i] >= 0)
			close(x->fd[i]);
	if (x->sock6 >= 0)
		close(x->sock6);
	free(x);
}

int
ef_exc_inject(struct ef_fwd_shared *sh, uint16_t iface, struct rte_mbuf *m)
{
	struct ef_fwd_worker *w = sh->workers[0];

	m->port = sh->ports[iface].port_id;
	if (rte_ring_sp_enqueue(w->from_ctrl, m) != 0) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	return 0;
}

int
ef_exc_send_arp(struct ef_fwd_shared *sh, uint16_t iface, uint32_t tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(sh->pool);
	uint8_t *d;
	uint32_t len;

	if (m == NULL)
		return -ENOMEM;
	d = (uint8_t *)rte_pktmbuf_append(m, 64);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return -ENOMEM;
	}
	len = ef_pkt_build_arp_request(d, sh->ports[iface].mac,
				       sh->ports[iface].addr, tip);
	/* pad to the Ethernet minimum */
	memset(d + len, 0, 64 - len);
	m->data_len = 60;
	m->pkt_len = 60;
	return ef_exc_inject(sh, iface, m);
}

static int
send_built(struct ef_fwd_shared *sh, uint16_t iface,
	   uint32_t (*build)(uint8_t *, const struct ef_fwd_port *,
			     const uint8_t *),
	   const uint8_t *a)
{
	const struct ef_fwd_port *p = &sh->ports[iface];
	struct rte_mbuf *m;
	uint8_t *d;
	uint32_t len;

	if (!p->has_addr6)
		return -ENOENT;
	m = rte_pktmbuf_alloc(sh->pool);
	if (m == NULL)
		return -ENOMEM;
	d = (uint8_t *)rte_pktmbuf_append(m, 128);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return -ENOMEM;
	}
	len = build(d, p, a);
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	return ef_exc_inject(sh, iface, m);
}

static uint32_t
build_ns(uint8_t *d, const struct ef_fwd_port *p, const uint8_t *target)
{
	return ef_pkt_build_ndp_ns(d, p->mac, p->addr6, target);
}

static uint32_t
build_una(uint8_t *d, const struct ef_fwd_port *p, const uint8_t *addr)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };

	return ef_pkt_build_ndp_na(d, p->mac, all_nodes_mac, addr, all_nodes,
				   addr, EF_PKT_NA_F_OVERRIDE);
}

int
ef_exc_send_ns(struct ef_fwd_shared *sh, uint16_t iface,
	       const uint8_t target[16])
{
	return send_built(sh, iface, build_ns, target);
}

int
ef_exc_send_una(struct ef_fwd_shared *sh, uint16_t iface,
		const uint8_t addr[16])
{
	return send_built(sh, iface, build_una, addr);
}

/* fe80::/10, or inside the interface's IPv6 prefix: a neighbour's. */
static bool
on_link6(const struct ef_fwd_port *p, const uint8_t a[16])
{
	struct ef_addr x = { .family = EF_AF_INET6 }, y = x;

	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return true;
	memcpy(x.v6, a, 16);
	memcpy(y.v6, p->addr6, 16);
	return ef_addr_in_prefix(&x, &y, p->prefix_len6) &&
		memcmp(a, p->addr6, 16) != 0;
}

/*
 * Learn from an NS (its source and source link-layer option, RFC 4861
 * 7.2.3) or an NA (its target and target link-layer option: solicited
 * creates or confirms, unsolicited only updates, 7.2.5). Returns the ND
 * type (EF_PKT_ND_NS / _NA), or 0 when the frame is neither.
 */
static int
learn6(struct ef_exc *x, struct ef_fwd_shared *sh, uint16_t iface,
       const uint8_t *frame, const struct ef_pkt_meta *pm)
{
	const struct ef_fwd_port *p = &sh->ports[iface];
	struct ef_pkt_ndp nd;
	int rc = -1;

	if (pm->proto != IPPROTO_ICMPV6 ||
	    (pm->icmp_type != EF_PKT_ND_NS && pm->icmp_type != EF_PKT_ND_NA) ||
	    ef_pkt_ndp_parse(frame, pm, &nd) != 0)
		return 0;
	if (!p->has_addr6 || !nd.has_lladdr)
		return nd.type;
	if (nd.type == EF_PKT_ND_NS && on_link6(p, pm->src.v6))
		rc = ef_neigh_learn6(sh->neigh, iface, pm->src.v6, nd.lladdr);
	else if (nd.type == EF_PKT_ND_NA && on_link6(p, nd.target))
		rc = (nd.flags & EF_PKT_NA_F_SOLICITED) ?
			ef_neigh_learn6(sh->neigh, iface, nd.target,
					nd.lladdr) :
			ef_neigh_update6(sh->neigh, iface, nd.target,
					 nd.lladdr);
	if (rc == 0)
		x->st.nd_learned++;
	return nd.type;
}

/*
 * Learn the sender of an ARP frame when it sits in the interface's subnet,
 * or the neighbour an NS or NA names. Returns the ARP opcode (host order),
 * EXC_ND_SOLICIT for an NS (the worker answered it: the kernel must not a
 * second time), or 0 for anything else.
 */
static int
learn(struct ef_exc *x, struct ef_fwd_shared *sh, uint16_t iface,
      const uint8_t *frame, uint32_t len)
{
	struct ef_pkt_meta pm;
	const struct rte_arp_hdr *a;
	const struct ef_fwd_port *p = &sh->ports[iface];
	uint32_t mask = htonl(~0u << (32 - p->prefix_len));

	if (ef_pkt_parse(frame, len, &pm) != 0)
		return 0;
	if (pm.l3 == EF_PKT_L3_IPV6)
		return learn6(x, sh, iface, frame, &pm) == EF_PKT_ND_NS ?
			EXC_ND_SOLICIT : 0;
	if (pm.l3 != EF_PKT_L3_ARP)
		return 0;
	a = (const struct rte_arp_hdr *)(frame + pm.l3_off);
	if ((a->arp_data.arp_sip & mask) == (p->addr & mask) &&
	    a->arp_data.arp_sip != p->addr &&
	    ef_neigh_learn4(sh->neigh, iface, a->arp_data.arp_sip,
			    a->arp_data.arp_sha.addr_bytes) == 0)
		x->st.arp_learned++;
	return rte_be_to_cpu_16(a->arp_opcode);
}

uint32_t
ef_exc_poll(struct ef_exc *x, struct ef_fwd_shared *sh)
{
	struct rte_mbuf *pkts[EXC_BUDGET];
	uint32_t moved = 0;

	/* a full burst: go on, up to EXC_ROUNDS bursts per worker, so that a
	 * fast TCP exchange with the node (a large /metrics answer's ACKs)
	 * does not overflow the ring while the control loop does other work */
	for (uint32_t w = 0, round = 0; w < sh->n_workers;
	     w = round == 0 ? w + 1 : w) {
		unsigned int n = rte_ring_sc_dequeue_burst(
			sh->workers[w]->to_ctrl, (void **)pkts, EXC_BUDGET,
			NULL);

		round = (n == EXC_BUDGET && round + 1 < EXC_ROUNDS) ?
			round + 1 : 0;
		for (unsigned int i = 0; i < n; i++) {
			struct rte_mbuf *m = pkts[i]; /* NOLINT(clang-analyzer-core.uninitialized.Assign): filled by the dequeue */
			int16_t iface = sh->port_to_if[m->port];
			const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

			if (iface >= 0 && iface < x->n) {
				/* requests for our addresses were answered by
				 * the worker: learn only, or the kernel would
				 * answer them a second time */
				int op = learn(x, sh, (uint16_t)iface, d,
					       m->data_len);

				if (op == RTE_ARP_OP_REQUEST)
					x->st.arp_requests_seen++;
				else if (op == EXC_ND_SOLICIT)
					x->st.nd_solicits_seen++;
				else if (write(x->fd[iface], d, m->data_len) < 0)
					x->st.write_errors++;
				else
					x->st.to_kernel++;
			}
			rte_pktmbuf_free(m);
		}
		moved += n;
	}
	for (uint16_t i = 0; i < x->n; i++) {
		for (uint32_t k = 0; k < EXC_BUDGET; k++) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(sh->pool);
			uint16_t room;
			ssize_t r;

			if (m == NULL) {
				x->st.inject_drops++;
				break;
			}
			room = rte_pktmbuf_tailroom(m);
			r = read(x->fd[i], rte_pktmbuf_mtod(m, void *), room);
			if (r <= 0) {
				rte_pktmbuf_free(m);
				break;
			}
			if (r < RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN) {
				/* the wire wants 60 bytes; the kernel's
				 * ARP and friends are shorter */
				memset(rte_pktmbuf_mtod_offset(m, uint8_t *, r),
				       0, (size_t)(60 - r));
				r = 60;
			}
			m->data_len = (uint16_t)r;
			m->pkt_len = (uint32_t)r;
			if (ef_exc_inject(sh, i, m) != 0)
				x->st.inject_drops++;
			else
				x->st.from_kernel++;
			moved++;
		}
	}
	return moved;
}

void
ef_exc_wait(struct ef_exc *x, int timeout_ms)
{
	if (poll(x->pfd, x->n, timeout_ms) < 0 && errno != EINTR)
		EF_EXC_LOG(DEBUG, "poll: %s", strerror(errno));
}

void
ef_exc_stats(const struct ef_exc *x, struct ef_exc_stats *out)
{
	*out = x->st;
}

const char *
ef_exc_ifname(const struct ef_exc *x, uint16_t i)
{
	return i < x->n ? x->name[i] : "";
}
