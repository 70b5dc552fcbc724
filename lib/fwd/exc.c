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

struct ef_exc {
	uint16_t n;
	int fd[EF_FWD_MAX_PORTS];
	char name[EF_FWD_MAX_PORTS][IFNAMSIZ];
	struct pollfd pfd[EF_FWD_MAX_PORTS];
	struct ef_exc_stats st;
	uint32_t rr;
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
	x->pfd[i].fd = fd;
	x->pfd[i].events = POLLIN;
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
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		snprintf(err, errlen, "exception path: socket: %s",
			 strerror(errno));
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

/*
 * Learn the sender of an ARP frame when it sits in the interface's subnet.
 * Returns the ARP opcode (host order), or 0 when the frame is not ARP.
 */
static int
learn(struct ef_exc *x, struct ef_fwd_shared *sh, uint16_t iface,
      const uint8_t *frame, uint32_t len)
{
	struct ef_pkt_meta pm;
	const struct rte_arp_hdr *a;
	const struct ef_fwd_port *p = &sh->ports[iface];
	uint32_t mask = htonl(~0u << (32 - p->prefix_len));

	if (ef_pkt_parse(frame, len, &pm) != 0 || pm.l3 != EF_PKT_L3_ARP)
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
				if (learn(x, sh, (uint16_t)iface, d,
					  m->data_len) == RTE_ARP_OP_REQUEST)
					x->st.arp_requests_seen++;
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
