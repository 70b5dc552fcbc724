# SPDX-License-Identifier: BSD-3-Clause
"""Network-namespace topology of the edge director suites (issue 10).

  [cl] client              [rt] router                    [edge] edge edgefwd
  198.51.100.2 ── eth0 ─── rcl 198.51.100.1
                           etap0 192.0.2.1 ──────────── net_tap0 192.0.2.2
                           rfab 10.1.0.254 ─┐           net_tap1 10.1.0.1 ─┐
                                            │                              │
                    [fab] fabric bridge br0 10.1.0.0/24 ───────────────────┘
                      │            │             │
           [n1] node-1 10.1.0.11   [n2] node-2 10.1.0.12   [tst] 10.1.0.100
             pbr 10.244.1.1          pbr 10.244.2.1         (a test host on
             └ pod-1a 10.244.1.5     ├ pod-2a 10.244.2.5     the fabric)
                                     ├ pod-2b 10.244.2.6
                                     └ pod-2c 10.244.2.7

The router announces nothing: it routes the VIP 203.0.113.10/32 to the
edge (192.0.2.2), and every node's default route is the router's fabric
leg 10.1.0.254, so a node answers the client straight through the router
(direct server return), never through the edge. The router and the nodes
run with rp_filter off: the router sees VIP-sourced replies arrive on its
fabric leg while its route to the VIP points at the edge.

The edge runs in <prefix>-edge with two net_tap ports; once it prints
"edgefwd: ready" the kernel sides etap0 / etap1 move to the router
(addressed 192.0.2.1/24) and to the fabric bridge. start_kernel_edge()
puts the kernel in its place instead (veth pairs named like the TAPs, the
VIP routed over both nodes with an L4-hashed multipath route: an l2
director without health or weights), so that the topology is tested
without edgefwd.

Linux nodes (kind="linux") are nodes as kube-proxy's nftables mode leaves
them for the Local LoadBalancer service edge/web (VIP 203.0.113.10, TCP 80
-> target port 8080 on each pod, healthCheckNodePort 32000): the table
`ip kube-proxy` with the services verdict map (daddr . proto . port ->
goto external chain), the service's external chain (Local: a numgen
random mod N vmap over this node's endpoints only), one endpoint chain
per pod (dnat to pod:8080), and the masquerade mark chains kube-proxy
always writes. dts/peers/healthserver.py answers on 32000 as kube-proxy's
service health server (200/503, X-Load-Balancing-Endpoint-Weight, JSON
body) and on 10256 as its /healthz; set_node_health() changes what it
says, read by the next request.

How a Linux node takes each edge.forwarding (README, phase 2):

  l2     nothing more: the edge rewrites only the MACs, the frame arrives
         with destination VIP:80, prerouting DNAT picks a local pod, the
         reply is un-DNATed by conntrack and routed to the client.
  ipip   an IPIP device decapsulates, and the inner packet re-enters
         prerouting, where the same DNAT rules match it:
             modprobe ipip                      # creates tunl0 (catch-all)
             ip link set tunl0 up
             sysctl -w net.ipv4.conf.tunl0.rp_filter=0
             sysctl -w net.ipv4.conf.all.rp_filter=0
         tunl0 takes IPIP from any source; a node restricts it with
         `ip link add edge0 type ipip local 10.1.0.11 remote <edge>` per
         edge instead, or an nftables rule on `ip protocol 4`.
  gue    the same, with fou receiving GUE on the edge's port (the GUE
         header edgefwd sends, version 0, proto 4):
             modprobe fou
             ip fou add port 6080 gue
             ip link set tunl0 up                # GUE-decapped IPIP lands on it
         (`ip fou add port 6080 ipproto 4` is plain FOU: UDP followed
         directly by the IPv4 header, no GUE header; it does not match
         what edgefwd sends.)
  In every case the reply leaves with source VIP by the node's routing
  table: the node's upstream must not drop it by reverse-path filtering.

This machine's kernel has no ipip, gre, fou or vxlan
(`ip link add x type ipip` answers "Unknown device type"), so Linux nodes
are tested with l2 here, and ipip / gue end to end against the other
variant: kind="edgefwd", where each node is an edgefwd in proxy mode
(decap from decap.sources) owning two TAPs: n<k>f0 on the fabric (node
address) and n<k>p0 toward its pod network, a bridge in <prefix>-n<k>p
holding the pods, as dts/topo.py's node-a. node_proxy_config() renders
such a node's configuration; start_node_edgefwd() runs it.

IPv6 (ipv6=True, kind="edgefwd" only): every link but the edge's fabric
leg gets an IPv6 prefix beside its IPv4 one, as dts/topo.py's
Topology(ipv6=True) does (static addresses with nodad, no DAD, no router
discovery, Neighbor Discovery for every neighbour: no static entries):

  [cl] 2001:db8:100::2/64 ── rcl 2001:db8:100::1            [rt]
                             etap0 2001:db8:2::1/64 ── net_tap0 2001:db8:2::2
                             rfab fd00:10:1::fe/64             [edge]
  fabric fd00:10:1::/64: node-1 ::11, node-2 ::12, tst ::100
  node-k's pods fd00:244:k::/64 (pod-2a fd00:244:2::5 ...), gateway
  fd00:244:k::1: the node's pod TAP

The edge serves VIP6 2001:db8:113::10 beside VIP on the same edge service
(dual-stack, every pod an endpoint of both families). With the nodes at
their IPv4 addresses (edge_config(ipv6=True)) the edge sends an IPv6
packet to its node inside IPv4 (protocol 41, or GUE proto 41); with
underlay6=True they are listed at their IPv6 fabric addresses and every
packet goes inside IPv6 (IPv4-in-IPv6, ip6ip6, GUE over IPv6), the
probes too. The edge's fabric leg is dual-stack either way
(EDGE_INT_ADDR6: interfaces need a restart, the underlay a reload). The
router routes VIP6 to the edge; the nodes'
IPv6 gateway is the router's fd00:10:1::fe, so IPv6 replies too go
straight to the client. The namespaces that only bridge (fab, n<k>p)
keep IPv6 disabled, as every namespace of the IPv4-only topology does.

Every name carries the per-run prefix; down() (also from dts/topo.py's
atexit hook and stale-run reaping, which this module reuses) removes every
namespace, process and DPDK runtime directory, even after a failure.
"""

import base64
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from dts import config, topo

CLIENT_ADDR = "198.51.100.2"
ROUTER_CLIENT_ADDR = "198.51.100.1"
ROUTER_EDGE_ADDR = "192.0.2.1"
EDGE_EXT_ADDR = "192.0.2.2"
ROUTER_FABRIC_ADDR = "10.1.0.254"
EDGE_INT_ADDR = "10.1.0.1"
FABRIC_NET = "10.1.0.0/24"
TEST_ADDR = "10.1.0.100"
VIP = "203.0.113.10"
SERVICE = "edge/web"
PORT = 80
TARGET_PORT = 8080
HEALTH_CHECK_NODE_PORT = 32000
PROXY_HEALTH_PORT = 10256
GUE_PORT = 6080

# IPv6 (EdgeTopology(ipv6=True)): documentation and ULA prefixes
CLIENT_ADDR6 = "2001:db8:100::2"
ROUTER_CLIENT_ADDR6 = "2001:db8:100::1"
ROUTER_EDGE_ADDR6 = "2001:db8:2::1"
EDGE_EXT_ADDR6 = "2001:db8:2::2"
ROUTER_FABRIC_ADDR6 = "fd00:10:1::fe"
FABRIC_NET6 = "fd00:10:1::/64"
TEST_ADDR6 = "fd00:10:1::100"
# the edge's fabric leg with an IPv6 underlay (underlay6=True)
EDGE_INT_ADDR6 = "fd00:10:1::1"
VIP6 = "2001:db8:113::10"

# node name -> role, fabric address, pod gateway, pods {name: address}
NODES = {
    "node-1": {"role": "n1", "addr": "10.1.0.11", "pod_gw": "10.244.1.1",
               "pods": {"pod-1a": "10.244.1.5"}},
    "node-2": {"role": "n2", "addr": "10.1.0.12", "pod_gw": "10.244.2.1",
               "pods": {"pod-2a": "10.244.2.5", "pod-2b": "10.244.2.6",
                        "pod-2c": "10.244.2.7"}},
}
# their IPv6 twins: node name -> fabric address, pod gateway, pods
NODES6 = {
    "node-1": {"addr": "fd00:10:1::11", "pod_gw": "fd00:244:1::1",
               "pods": {"pod-1a": "fd00:244:1::5"}},
    "node-2": {"addr": "fd00:10:1::12", "pod_gw": "fd00:244:2::1",
               "pods": {"pod-2a": "fd00:244:2::5", "pod-2b": "fd00:244:2::6",
                        "pod-2c": "fd00:244:2::7"}},
}
# pod name -> (namespace role, address, node name)
PODS = {pod: ("p" + pod[4:], addr, node)
        for node, n in NODES.items() for pod, addr in n["pods"].items()}
# pod name -> IPv6 address
PODS6 = {pod: addr for n in NODES6.values()
         for pod, addr in n["pods"].items()}
# the edge's TAPs: kernel side -> (role it moves to, address or None: bridge)
EDGE_TAPS = {
    "etap0": ("rt", ROUTER_EDGE_ADDR + "/24"),
    "etap1": ("fab", None),
}
# ... and their IPv6 addresses (ipv6=True)
EDGE_TAPS6 = {"etap0": ROUTER_EDGE_ADDR6 + "/64", "etap1": None}
BASE_ROLES = ("cl", "rt", "edge", "fab", "tst")
# dts/topo.py's dual-stack settings: static addresses only, no DAD wait,
# no router discovery
IPV6_SYSCTLS = (("disable_ipv6", 0), ("accept_dad", 0), ("dad_transmits", 0),
                ("accept_ra", 0), ("router_solicitations", 0))


def _kp_hash(name):
    """kube-proxy's chain-name hash: base32 of SHA-256, 8 characters."""
    return base64.b32encode(hashlib.sha256(name.encode()).digest())[:8] \
        .decode()


def kube_proxy_ruleset(node):
    """nft -f input: what kube-proxy's nftables mode writes on node for the
    Local LoadBalancer service SERVICE (endpoints: the node's pods)."""
    port_name = "%s/tcp/http" % SERVICE
    svc_chain = "service-%s-%s" % (_kp_hash(port_name), port_name)
    ext_chain = "external-%s-%s" % (_kp_hash(port_name), port_name)
    pods = NODES[node]["pods"]
    ep_chains = []
    lines = [
        "table ip kube-proxy {",
        '\tcomment "rules for kube-proxy"',
        "\tchain mark-for-masquerade {",
        "\t\tmeta mark set meta mark or 0x4000",
        "\t}",
        "\tchain masquerading {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        "\t\tmeta mark & 0x4000 == 0 return",
        "\t\tmeta mark set meta mark xor 0x4000",
        "\t\tmasquerade fully-random",
        "\t}",
        "\tmap service-ips {",
        "\t\ttype ipv4_addr . inet_proto . inet_service : verdict",
        '\t\tcomment "ClusterIP, ExternalIP and LoadBalancer IP traffic"',
        "\t}",
        "\tchain services {",
        "\t\tip daddr . meta l4proto . th dport vmap @service-ips",
        "\t}",
        "\tchain nat-prerouting {",
        "\t\ttype nat hook prerouting priority dstnat; policy accept;",
        "\t\tjump services",
        "\t}",
        "\tchain nat-output {",
        "\t\ttype nat hook output priority -100; policy accept;",
        "\t\tjump services",
        "\t}",
    ]
    for pod, addr in sorted(pods.items()):
        ep = "%s__%s/%d" % (port_name, addr, TARGET_PORT)
        chain = "endpoint-%s-%s" % (_kp_hash(ep), ep)
        ep_chains.append(chain)
        lines += [
            "\tchain %s {" % chain,
            "\t\tip saddr %s jump mark-for-masquerade" % addr,
            "\t\tmeta l4proto tcp dnat to %s:%d" % (addr, TARGET_PORT),
            "\t}",
        ]
    vmap = ", ".join("%d : goto %s" % (i, c) for i, c in enumerate(ep_chains))
    lines += [
        # the service chain (Cluster view: every endpoint; here only this
        # node's, the ones the sync would list for other nodes omitted)
        "\tchain %s {" % svc_chain,
        "\t\tnumgen random mod %d vmap { %s }" % (len(ep_chains), vmap),
        "\t}",
        # Local external traffic: pods' own traffic takes the cluster-wide
        # chain, the node's own gets masqueraded, the rest goes to the
        # local endpoints without SNAT
        "\tchain %s {" % ext_chain,
        "\t\tip saddr 10.244.0.0/16 goto %s" % svc_chain,
        "\t\tfib saddr type local jump mark-for-masquerade",
        "\t\tfib saddr type local goto %s" % svc_chain,
        "\t\tnumgen random mod %d vmap { %s }" % (len(ep_chains), vmap),
        "\t}",
        "}",
        "add element ip kube-proxy service-ips { %s . tcp . %d : goto %s }"
        % (VIP, PORT, ext_chain),
    ]
    return "\n".join(lines) + "\n"


def edge_argv(conf, file_prefix, workers=1, binary=None, taps=EDGE_TAPS):
    """dts/topo.py's edgefwd command line with this topology's TAPs."""
    argv = topo.edgefwd_argv(conf, file_prefix, workers, binary)
    cut = argv.index("--")
    head = [a for a in argv[:cut] if not str(a).startswith("--vdev=")]
    vdevs = ["--vdev=net_tap%d,iface=%s" % (i, tap)
             for i, tap in enumerate(taps)]
    return head + vdevs + argv[cut:]


def _endpoints(ipv6):
    """Every pod as a ready endpoint on its node (IPv6 too: a dual-stack
    Service's second EndpointSlice)."""
    eps = [{"address": addr, "node": node, "ready": True}
           for pod, (role, addr, node) in sorted(PODS.items())]
    if ipv6:
        eps += [{"address": PODS6[pod], "node": node, "ready": True}
                for pod, (role, addr, node) in sorted(PODS.items())]
    return eps


def _dual_stack(svc, ipv6):
    """svc serving VIP6 too when ipv6."""
    if ipv6:
        svc["ip_families"] = ["IPv4", "IPv6"]
        svc["load_balancer_ips"] = [VIP, VIP6]
    return svc


def node_proxy_config(node, decap_sources=(FABRIC_NET,), with_nodes=True,
                      ipv6=False, underlay6=False, **extra):
    """Configuration dict of node as an edgefwd in proxy mode: fabric TAP
    (port 0, gateway: the router), pod TAP (port 1), the Local service
    SERVICE with every pod of the cluster as an endpoint (so Local picks
    this node's), decap from decap_sources (none when empty), the
    cluster's `nodes` list when with_nodes. Without decap and nodes it is
    a configuration today's (first wave) edgefwd accepts. ipv6: both
    interfaces dual-stack (the router's fd00:10:1::fe the IPv6 gateway),
    the service dual-stack (VIP6, the pods' IPv6 endpoints); node
    addresses stay IPv4 unless underlay6 (then `nodes` lists the nodes'
    IPv6 fabric addresses; decap_sources are the caller's)."""
    n = NODES[node]
    cfg = {
        "node": {"name": node},
        "interfaces": [
            {"port": "net_tap0", "address": n["addr"] + "/24",
             "gateway": ROUTER_FABRIC_ADDR},
            {"port": "net_tap1", "address": n["pod_gw"] + "/24"},
        ],
        "services": [_dual_stack({
            "name": SERVICE,
            "type": "LoadBalancer",
            "load_balancer_ips": [VIP],
            "external_traffic_policy": "Local",
            "health_check_node_port": HEALTH_CHECK_NODE_PORT,
            "ports": [{"name": "http", "protocol": "TCP", "port": PORT,
                       "target_port": TARGET_PORT}],
            "endpoints": _endpoints(ipv6),
        }, ipv6)],
    }
    if ipv6:
        n6 = NODES6[node]
        cfg["interfaces"] = [
            {"port": "net_tap0",
             "addresses": [n["addr"] + "/24", n6["addr"] + "/64"],
             "gateways": [ROUTER_FABRIC_ADDR, ROUTER_FABRIC_ADDR6]},
            {"port": "net_tap1",
             "addresses": [n["pod_gw"] + "/24", n6["pod_gw"] + "/64"]},
        ]
    if with_nodes:
        cfg["nodes"] = [{"name": k, "address": v["addr"]}
                        for k, v in (NODES6 if underlay6 else NODES).items()]
    if decap_sources:
        cfg["decap"] = {"sources": list(decap_sources),
                        "gue_port": GUE_PORT}
    cfg.update(extra)
    return cfg


def edge_config(weights="endpoints", forwarding="l2", interval_ms=200,
                ipv6=False, underlay6=False):
    """Configuration dict of the edge edgefwd: SERVICE as a Local edge
    service over both nodes (every pod an endpoint on its node), probes
    every interval_ms, each given as long to answer (rise 1, fall 2: on
    a loaded 2-CPU machine a node's answer can take over 100 ms, and two
    such in a row would take a healthy node down). ipv6: the service
    dual-stack
    (VIP6 beside VIP, the pods' IPv6 endpoints), the external interface
    dual-stack (IPv6 gateway: the router), the fabric leg too
    (EDGE_INT_ADDR6); the node addresses and the probes stay IPv4, unless
    underlay6 (with ipv6): the nodes at their IPv6 fabric addresses, so
    that every packet reaches its node in IPv6 (IPv4-in-IPv6, ip6ip6,
    GUE over IPv6) and the probes go over IPv6."""
    ext = {"port": "net_tap0", "address": EDGE_EXT_ADDR + "/24",
           "gateway": ROUTER_EDGE_ADDR}
    if ipv6:
        ext = {"port": "net_tap0",
               "addresses": [EDGE_EXT_ADDR + "/24", EDGE_EXT_ADDR6 + "/64"],
               "gateways": [ROUTER_EDGE_ADDR, ROUTER_EDGE_ADDR6]}
    fab = {"port": "net_tap1", "address": EDGE_INT_ADDR + "/24"}
    if ipv6:
        # dual-stack whichever underlay: a reload may switch the nodes
        # to their IPv6 addresses (interfaces need a restart)
        fab = {"port": "net_tap1",
               "addresses": [EDGE_INT_ADDR + "/24", EDGE_INT_ADDR6 + "/64"]}
    return {
        "node": {"name": "edge-1"},
        "interfaces": [ext, fab],
        "conntrack": {"max_flows": 65536},
        "nodes": [{"name": k, "address": v["addr"]}
                  for k, v in (NODES6 if underlay6 else NODES).items()],
        "edge": {"forwarding": forwarding, "weights": weights,
                 "interval_ms": interval_ms, "timeout_ms": interval_ms,
                 "rise": 1, "fall": 2, "flow_timeout": 60},
        "services": [_dual_stack({
            "name": SERVICE,
            "type": "LoadBalancer",
            "mode": "edge",
            "load_balancer_ips": [VIP],
            "external_traffic_policy": "Local",
            "health_check_node_port": HEALTH_CHECK_NODE_PORT,
            "ports": [{"name": "http", "protocol": "TCP", "port": PORT,
                       "target_port": TARGET_PORT}],
            "endpoints": _endpoints(ipv6),
        }, ipv6)],
    }


class EdgeTopology:
    """Build with up(), put a director in place with start_edgefwd() or
    start_kernel_edge(), remove with down(). ipv6 (kind="edgefwd"): the
    topology dual-stack (module docstring)."""

    def __init__(self, prefix=None, kind="linux", ipv6=False):
        if kind not in ("linux", "edgefwd"):
            raise ValueError("kind is 'linux' or 'edgefwd'")
        if ipv6 and kind != "edgefwd":
            raise ValueError("ipv6 needs kind='edgefwd' (the Linux nodes' "
                             "kube-proxy ruleset is IPv4 only)")
        self.kind = kind
        self.ipv6 = ipv6
        self.prefix = prefix or "ef%de" % (os.getpid() % 1000)
        roles = list(BASE_ROLES)
        for n in NODES.values():
            roles.append(n["role"])
            if kind == "edgefwd":
                roles.append(n["role"] + "p")
        roles += [r for r, _, _ in PODS.values()]
        self.roles = tuple(roles)
        # IPv6 on everywhere but in the namespaces that only bridge: the
        # edgefwd ones too (their exception TAPs carry IPv6 addresses)
        bridges = {"fab"} | {n["role"] + "p" for n in NODES.values()}
        self.roles6 = tuple(r for r in roles if r not in bridges) \
            if ipv6 else ()
        self.ns = {r: "%s-%s" % (self.prefix, r) for r in self.roles}
        self.workdir = Path(tempfile.mkdtemp(prefix=self.prefix + "-"))
        self.procs = []
        self.pods = {}
        self.health = {}
        self.dataplane = None
        self.node_dataplanes = {}
        self.mac_seq = 0
        self.is_up = False

    # -- helpers, as dts/topo.py's Topology ---------------------------

    def ip(self, role, *args, check=True):
        return topo.run(["ip", "-n", self.ns[role]] + list(args), check=check)

    def sysctl(self, role, key, value):
        topo.run(["sysctl", "-q", "-w", "%s=%s" % (key, value)],
                 ns=self.ns[role])

    def exec(self, role, argv, check=True, timeout=30, input=None):
        return topo.run(argv, check=check, timeout=timeout,
                        ns=self.ns[role], input=input)

    def spawn(self, name, role, argv):
        proc = topo.Proc(name, self.ns[role], argv, self.workdir)
        self.procs.append(proc)
        return proc

    def client(self, role, *args, timeout=60):
        cp = self.exec(role, [topo.PYTHON, topo.PEERS / "client.py"] +
                       list(args), timeout=timeout)
        return json.loads(cp.stdout)

    def link_stats(self, role, ifname):
        cp = self.ip(role, "-s", "-j", "link", "show", "dev", ifname)
        return json.loads(cp.stdout)[0]["stats64"]

    def addr6(self, role, dev, prefix):
        """An IPv6 address, usable at once (nodad, as dts/topo.py)."""
        self.ip(role, "addr", "add", prefix, "dev", dev, "nodad")

    def add_addrs(self, role, dev, addrs):
        """Many addresses (each address/len; IPv6 ones nodad) in one
        `ip -batch`."""
        topo.run(["ip", "-n", self.ns[role], "-batch", "-"], input="".join(
            "addr add %s dev %s%s\n" % (a, dev, " nodad" if ":" in a else "")
            for a in addrs))

    def ping(self, role, addr, count=2):
        """True when addr answers ICMP echo (ICMPv6 for an IPv6 addr)
        from namespace role, as dts/topo.py's Topology.ping()."""
        return topo.Topology.ping(self, role, addr, count)

    def veth(self, role_a, name_a, role_b, name_b):
        self.ip(role_a, "link", "add", name_a, "type", "veth", "peer",
                "name", name_b, "netns", self.ns[role_b])

    # -- building -------------------------------------------------------

    def up(self):
        topo.reap_stale()
        topo.cleanup_prefix(self.prefix)
        topo.STATE_DIR.mkdir(parents=True, exist_ok=True)
        (topo.STATE_DIR / (self.prefix + ".json")).write_text(json.dumps(
            {"pid": os.getpid(), "prefix": self.prefix}))
        topo._LIVE.append(self)
        self.is_up = True
        for role in self.roles:
            topo.run(["ip", "netns", "add", self.ns[role]])
            self.ip(role, "link", "set", "lo", "up")
            for key in ("all", "default"):
                if role in self.roles6:
                    for opt, val in IPV6_SYSCTLS:
                        self.sysctl(role, "net.ipv6.conf.%s.%s" % (key, opt),
                                    val)
                else:
                    self.sysctl(role, "net.ipv6.conf.%s.disable_ipv6" % key,
                                1)
                self.sysctl(role, "net.ipv4.conf.%s.rp_filter" % key, 0)
        # client and router
        self.veth("cl", "eth0", "rt", "rcl")
        self.ip("cl", "addr", "add", CLIENT_ADDR + "/24", "dev", "eth0")
        self.ip("rt", "addr", "add", ROUTER_CLIENT_ADDR + "/24", "dev", "rcl")
        # the fabric: a bridge with the router, the test host, the nodes
        self.ip("fab", "link", "add", "br0", "type", "bridge")
        self.ip("fab", "link", "set", "br0", "up")
        self.veth("rt", "rfab", "fab", "f-rt")
        self.ip("rt", "addr", "add", ROUTER_FABRIC_ADDR + "/24", "dev", "rfab")
        self.veth("tst", "eth0", "fab", "f-tst")
        self.ip("tst", "addr", "add", TEST_ADDR + "/24", "dev", "eth0")
        for role, dev in (("cl", "eth0"), ("rt", "rcl"), ("rt", "rfab"),
                          ("tst", "eth0")):
            self.ip(role, "link", "set", dev, "up")
        for dev in ("f-rt", "f-tst"):
            self.ip("fab", "link", "set", dev, "master", "br0")
            self.ip("fab", "link", "set", dev, "up")
        self.ip("cl", "route", "add", "default", "via", ROUTER_CLIENT_ADDR)
        self.sysctl("rt", "net.ipv4.ip_forward", 1)
        if self.ipv6:
            self.addr6("cl", "eth0", CLIENT_ADDR6 + "/64")
            self.addr6("rt", "rcl", ROUTER_CLIENT_ADDR6 + "/64")
            self.addr6("rt", "rfab", ROUTER_FABRIC_ADDR6 + "/64")
            self.addr6("tst", "eth0", TEST_ADDR6 + "/64")
            self.ip("cl", "-6", "route", "add", "default", "via",
                    ROUTER_CLIENT_ADDR6)
            self.sysctl("rt", "net.ipv6.conf.all.forwarding", 1)
            # no MLD snooping: the edgefwd TAPs send no reports, so no
            # snooping state may ever keep Neighbor Discovery's
            # multicast from them
            self.ip("fab", "link", "set", "br0", "type", "bridge",
                    "mcast_snooping", 0)
        for node in NODES:
            if self.kind == "linux":
                self._linux_node(node)
            else:
                self._proxy_node_pods(node)
        for pod, (role, addr, node) in PODS.items():
            self.pods[pod] = self.spawn(pod, role, [
                topo.PYTHON, topo.PEERS / "podserver.py", "--name", pod] +
                (["--bind6", "::"] if self.ipv6 else []))
            self.pods[pod].ready = "podserver: ready"
        for proc in list(self.pods.values()) + list(self.health.values()):
            proc.wait_for(proc.ready, 10)
        return self

    def _pods_behind(self, node, role):
        """The node's pods on a bridge pbr (gateway pod_gw) in role."""
        n = NODES[node]
        self.ip(role, "link", "add", "pbr", "type", "bridge")
        self.ip(role, "addr", "add", n["pod_gw"] + "/24", "dev", "pbr")
        self.ip(role, "link", "set", "pbr", "up")
        for pod, addr in n["pods"].items():
            prole = PODS[pod][0]
            self.veth(role, "v" + prole, prole, "eth0")
            self.ip(role, "link", "set", "v" + prole, "master", "pbr")
            self.ip(role, "link", "set", "v" + prole, "up")
            self.ip(prole, "addr", "add", addr + "/24", "dev", "eth0")
            self.ip(prole, "link", "set", "eth0", "up")
            self.ip(prole, "route", "add", "default", "via", n["pod_gw"])
            if self.ipv6:
                self.addr6(prole, "eth0", NODES6[node]["pods"][pod] + "/64")
                self.ip(prole, "-6", "route", "add", "default", "via",
                        NODES6[node]["pod_gw"])
        if self.ipv6:
            self.ip(role, "link", "set", "pbr", "type", "bridge",
                    "mcast_snooping", 0)

    def _linux_node(self, node):
        n = NODES[node]
        role = n["role"]
        self.veth(role, "eth0", "fab", "f-" + role)
        self.ip("fab", "link", "set", "f-" + role, "master", "br0")
        self.ip("fab", "link", "set", "f-" + role, "up")
        self.ip(role, "addr", "add", n["addr"] + "/24", "dev", "eth0")
        self.ip(role, "link", "set", "eth0", "up")
        # replies go to the client through the router, not the edge
        self.ip(role, "route", "add", "default", "via", ROUTER_FABRIC_ADDR)
        self.sysctl(role, "net.ipv4.ip_forward", 1)
        self._pods_behind(node, role)
        self.exec(role, ["nft", "-f", "-"], input=kube_proxy_ruleset(node))
        self.health[node] = None
        self._write_health(node, len(n["pods"]), True)
        self._spawn_health(node, "health-" + node)

    def _spawn_health(self, node, name):
        state = self.workdir / ("health-%s.json" % node)
        proc = self.spawn(name, NODES[node]["role"], [
            topo.PYTHON, topo.PEERS / "healthserver.py",
            "--service", SERVICE, "--port", HEALTH_CHECK_NODE_PORT,
            "--proxy-port", PROXY_HEALTH_PORT, "--state", state])
        proc.ready = "healthserver: ready"
        self.health[node] = proc
        return proc

    def kill_health(self, node):
        """Linux nodes: node's health servers stop answering at all (the
        process is gone: probes are refused), as when the node dies."""
        self.health[node].stop(timeout=5)

    def restart_health(self, node):
        """Linux nodes: start node's health servers again (after
        kill_health()) and wait for them."""
        if self.health[node].popen.poll() is None:
            return
        self.mac_seq += 1
        proc = self._spawn_health(node, "health-%s-%d" % (node, self.mac_seq))
        proc.wait_for(proc.ready, 10)

    def _proxy_node_pods(self, node):
        """kind="edgefwd": the node's namespace is left to its edgefwd;
        its pods sit behind a bridge in <prefix>-n<k>p that the pod TAP
        joins once the node's edgefwd is ready."""
        self._pods_behind(node, NODES[node]["role"] + "p")
        # the bridge is the TAP's peer: no address of its own
        self.ip(NODES[node]["role"] + "p", "addr", "flush", "dev", "pbr")

    def _write_health(self, node, endpoints, proxy_healthy):
        path = self.workdir / ("health-%s.json" % node)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"endpoints": endpoints,
                                   "proxy_healthy": proxy_healthy}))
        os.replace(tmp, path)

    def set_node_health(self, node, endpoints=None, proxy_healthy=True):
        """What node's health servers answer from the next request on:
        endpoints local endpoints ready (default: its pod count; 0 -> 503),
        and whether kube-proxy itself is healthy (False: 503 on both)."""
        if endpoints is None:
            endpoints = len(NODES[node]["pods"])
        self._write_health(node, endpoints, proxy_healthy)

    # -- the director ---------------------------------------------------

    def _move_taps(self, taps, src_role, bridge_role="fab"):
        self.mac_seq += 1
        for i, (tap, (role, addr)) in enumerate(taps.items()):
            self.ip(src_role, "link", "set", tap, "netns", self.ns[role])
            # net_tap gives its kernel side the port's own MAC: give the
            # far end one of its own, as a real cable's peer has
            self.ip(role, "link", "set", tap, "address",
                    "02:ee:%02x:%02x:00:%02x" % (os.getpid() % 256,
                                                 self.mac_seq, i + 1))
            if addr is None:
                self.ip(role, "link", "set", tap, "master",
                        "br0" if role == bridge_role else "pbr")
            else:
                self.ip(role, "addr", "add", addr, "dev", tap)
                if self.ipv6 and EDGE_TAPS6.get(tap):
                    self.addr6(role, tap, EDGE_TAPS6[tap])
            self.ip(role, "link", "set", tap, "up")

    def _router_to_edge(self):
        self.ip("rt", "route", "add", VIP + "/32", "via", EDGE_EXT_ADDR)
        if self.ipv6:
            self.ip("rt", "-6", "route", "add", VIP6 + "/128", "via",
                    EDGE_EXT_ADDR6)

    def start_edgefwd(self, conf, workers=1, binary=None):
        """Start the edge edgefwd in <prefix>-edge, wait for its ready
        line, move its TAPs to the router and the fabric; returns the
        dts/topo.py Dataplane."""
        binary = Path(binary or topo.EDGEFWD)
        if not os.access(binary, os.X_OK):
            raise RuntimeError("%s is not built (ninja -C build)" % binary)
        file_prefix = "%s-edge-w%d" % (self.prefix, workers)
        proc = self.spawn("edgefwd-edge", "edge",
                          edge_argv(conf, file_prefix, workers, binary))
        self.dataplane = topo.Dataplane(proc, file_prefix, workers)
        proc.wait_for(topo.READY_LINE, topo.READY_TIMEOUT)
        self._move_taps(EDGE_TAPS, "edge")
        self._router_to_edge()
        return self.dataplane

    def start_kernel_edge(self, weights=(1, 1)):
        """The kernel in the edge's place: veths named like the TAPs, the
        VIP routed over the nodes by an L4-hashed multipath route with
        the given per-node weights (no flow table, no health)."""
        self.ip("edge", "link", "add", "ek0", "type", "veth", "peer",
                "name", "etap0")
        self.ip("edge", "link", "add", "ek1", "type", "veth", "peer",
                "name", "etap1")
        self.ip("edge", "addr", "add", EDGE_EXT_ADDR + "/24", "dev", "ek0")
        self.ip("edge", "addr", "add", EDGE_INT_ADDR + "/24", "dev", "ek1")
        for dev in ("ek0", "ek1"):
            self.ip("edge", "link", "set", dev, "up")
        self.sysctl("edge", "net.ipv4.ip_forward", 1)
        self.sysctl("edge", "net.ipv4.fib_multipath_hash_policy", 1)
        # forwarding between different interfaces: no redirects to send,
        # but say so (a redirect would route around the edge)
        self.sysctl("edge", "net.ipv4.conf.all.send_redirects", 0)
        route = ["route", "add", VIP + "/32"]
        for (name, n), w in zip(NODES.items(), weights):
            route += ["nexthop", "via", n["addr"], "weight", w]
        self._move_taps(EDGE_TAPS, "edge")
        self.ip("edge", *route)
        # as the edge edgefwd's gateway: the way back to clients exists,
        # so a reply sent to the edge would be forwarded (and counted)
        self.ip("edge", "route", "add", "default", "via", ROUTER_EDGE_ADDR)
        # count any reply (source VIP) that would reach the edge
        self.exec("edge", ["nft", "-f", "-"], input=(
            "table ip edgewatch {\n"
            "\tcounter replies { }\n"
            "\tcounter toward_client { }\n"
            "\tchain in {\n"
            "\t\ttype filter hook prerouting priority -300; policy accept;\n"
            "\t\tip saddr %s counter name replies\n"
            "\t}\n"
            "\tchain out {\n"
            "\t\ttype filter hook postrouting priority 300; policy accept;\n"
            "\t\tip daddr %s counter name toward_client\n"
            "\t}\n"
            "}\n" % (VIP, CLIENT_ADDR)))
        self._router_to_edge()

    def kernel_edge_replies(self, counter="replies"):
        """Packets with source VIP the kernel edge has received so far
        ("replies"), or IPv4 packets it sent toward the client
        ("toward_client"); direct server return: both stay 0."""
        cp = self.exec("edge", ["nft", "-j", "list", "counter", "ip",
                                "edgewatch", counter])
        for obj in json.loads(cp.stdout)["nftables"]:
            if "counter" in obj:
                return obj["counter"]["packets"]
        raise RuntimeError("no edgewatch counter")

    def start_node_edgefwd(self, node, conf, binary=None):
        """kind="edgefwd": start node's edgefwd (proxy mode) in its
        namespace, then move its fabric TAP to the fabric bridge and its
        pod TAP to the pod bridge. Returns its Dataplane."""
        if self.kind != "edgefwd":
            raise RuntimeError("Linux nodes run no edgefwd")
        role = NODES[node]["role"]
        taps = {role + "f0": ("fab", None), role + "p0": (role + "p", None)}
        binary = Path(binary or topo.EDGEFWD)
        file_prefix = "%s-%s-w1" % (self.prefix, role)
        proc = self.spawn("edgefwd-" + node, role,
                          edge_argv(conf, file_prefix, 1, binary, taps))
        dp = topo.Dataplane(proc, file_prefix, 1)
        self.node_dataplanes[node] = dp
        proc.wait_for(topo.READY_LINE, topo.READY_TIMEOUT)
        self._move_taps(taps, role)
        return dp

    def write_config(self, name, cfg):
        """Render cfg (dts/config.py) into the work directory."""
        return config.write(cfg, self.workdir / name)

    # -- tearing down ---------------------------------------------------

    def stop_dataplanes(self):
        """Stop every edgefwd; returns {name: exit code}."""
        codes = {}
        for node, dp in self.node_dataplanes.items():
            codes[node] = dp.stop()
        if self.dataplane is not None:
            codes["edge"] = self.dataplane.stop()
        return codes

    def down(self):
        if not self.is_up:
            return
        if os.environ.get("EF_DTS_KEEP") == "1":
            topo.log("EF_DTS_KEEP=1: kept namespaces %s-*, logs in %s; "
                     "remove with: /usr/bin/python3 -m dts.topo --cleanup %s"
                     % (self.prefix, self.workdir, self.prefix))
            self.is_up = False
            return
        try:
            self.stop_dataplanes()
        finally:
            for proc in reversed(self.procs):
                proc.stop(timeout=3)
            topo.cleanup_prefix(self.prefix)
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.is_up = False
            if self in topo._LIVE:
                topo._LIVE.remove(self)

    def leftovers(self):
        """What of this topology still exists (empty after down())."""
        left = [n for n in topo.netns_list()
                if n.startswith(self.prefix + "-")]
        if topo.DPDK_RUN_DIR.is_dir():
            left += [str(d) for d in
                     topo.DPDK_RUN_DIR.glob(self.prefix + "-*")]
        left += ["pid %d" % p.popen.pid for p in self.procs
                 if p.popen.poll() is None]
        return left
