# SPDX-License-Identifier: BSD-3-Clause
"""Network-namespace topology of the scale-out suite (issue 13): an
upstream router running FRR (zebra, bgpd, bfdd), two edgefwd instances in
edge mode (mode = "edge", forwarding = "l2"), each with its BIRD and
edgefwd-bgp, announcing the same VIP in front of the same two Linux nodes;
the router spreads the client's flows over the instances by ECMP and the
nodes answer the client straight through the router (direct server
return).

  [cl] client 198.51.100.2 ── eth0 ── rcl 198.51.100.1  [rt] router (FRR)
                                      up0 192.0.2.1/24 (bridge) ─┬─ i1t0
                                                                 └─ i2t0
                                      rfab 10.1.0.254 (fabric)
  [i1] edgefwd "edge-1": net_tap0 192.0.2.11 (i1t0), net_tap1 10.1.0.1 (i1t1)
       BIRD (AS 4200000001) on efx0, edgefwd-bgp
  [i2] edgefwd "edge-2": net_tap0 192.0.2.12 (i2t0), net_tap1 10.1.0.2 (i2t1)
  [fab] bridge br0 10.1.0.0/24: i1t1, i2t1, the router's rfab, the test
       host, and dts/edge_topo.py's Linux nodes node-1 10.1.0.11 (pod-1a)
       and node-2 10.1.0.12 (pod-2a, 2b, 2c): kube-proxy's nftables rules
       for edge/web (VIP 203.0.113.10:80 -> 8080), its health server on
       healthCheckNodePort 32000, default route via the router.

BgpTopology is dts/edge_topo.py's EdgeTopology (kind "linux": the nodes,
pods, health servers, client and router legs, every namespace with
rp_filter off) without its single edge, plus the router's bridge toward
the instances, FRR and the instances. The instances run edge_topo's
edge_config() with their own node name and addresses: the same nodes,
weights and Maglev table, so a flow's node does not depend on the
instance. The router: AS 4200000100, `maximum-paths`, BFD BFD_MS x 3, BGP
keepalive 1 / hold 3, fib_multipath_hash_policy=1 (L4 hashing). Every
daemon runs in the foreground as a child of this process (never the
system services), with its configuration, sockets and pid files in the
work directory; FRR's -N pathspace is the run's prefix. down() removes
every process, namespace, DPDK runtime directory and FRR pathspace, also
after a failure (dts/topo.py's atexit hook and stale-run reaping).
"""

import json
import os
import shutil
import signal
import time
from pathlib import Path

from dts import config, edge_topo, telemetry, topo

CLIENT_ADDR = edge_topo.CLIENT_ADDR
ROUTER_CLIENT_ADDR = edge_topo.ROUTER_CLIENT_ADDR
ROUTER_UP_ADDR = "192.0.2.1"
ROUTER_FABRIC_ADDR = edge_topo.ROUTER_FABRIC_ADDR
ROUTER_AS = 4200000100
EDGE_AS = 4200000001
VIP = edge_topo.VIP
SERVICE = edge_topo.SERVICE
PORT = edge_topo.PORT
TARGET_PORT = edge_topo.TARGET_PORT
NODES = edge_topo.NODES
# pod name -> (namespace role, address, node name)
PODS = edge_topo.PODS
BIRD_CONF_IN = topo.REPO / "conf" / "bird" / "bird.conf.in"
COMPANION = topo.REPO / "app" / "edgefwd-bgp" / "edgefwd-bgp"
FRR_DIR = Path("/usr/lib/frr")
FRR_RUN = Path("/var/run/frr")
# The router's BFD interval. 100 ms x 3 (the template's, and what a router
# with CPUs of its own runs) flapped here: on the shared 2-vCPU machine at
# load 8-9 the BFD packets through edgefwd's exception path, BIRD and
# bfdd were late by more than 300 ms, and BFD took both sessions down
# (seen at the router and at both BIRDs). 500 ms x 3 detects a dead
# instance in 1.5 s, within the 3 s the suite asserts.
BFD_MS = 500
# the instances' node probes (edge.interval_ms; a 503 drains at once). A
# VIP's withdrawal after its last node's 503 is up to one interval (the
# next probe) plus the companion's poll, BIRD's reconfigure, the BGP
# update and zebra: at 1 s it took up to 1.82 s at load 13, against the
# 2 intervals the suite asserts; 2 s leaves room.
HEALTH_INTERVAL_MS = 2000

INSTANCES = {
    "edge-1": {"role": "i1", "up": "192.0.2.11", "fab": "10.1.0.1"},
    "edge-2": {"role": "i2", "up": "192.0.2.12", "fab": "10.1.0.2"},
}


def instance_config(name):
    """edgefwd configuration dict of instance name (dts/config.py): the
    edge director of dts/edge_topo.py with this instance's name and
    addresses, l2 forwarding, probes every HEALTH_INTERVAL_MS."""
    inst = INSTANCES[name]
    cfg = edge_topo.edge_config("endpoints", "l2", HEALTH_INTERVAL_MS)
    cfg["node"] = {"name": name}
    # a probe that times out is a slow Python health server on a busy
    # machine, not a dead node: give it half the interval and three
    # chances (a 503, what the suite uses to drain, counts at once)
    cfg["edge"].update({"timeout_ms": HEALTH_INTERVAL_MS // 2, "fall": 3})
    cfg["interfaces"] = [
        {"port": "net_tap0", "address": inst["up"] + "/24",
         "gateway": ROUTER_UP_ADDR},
        {"port": "net_tap1", "address": inst["fab"] + "/24"},
    ]
    return cfg


def bird_config(name, include):
    """conf/bird/bird.conf.in filled in for instance name."""
    inst = INSTANCES[name]
    text = BIRD_CONF_IN.read_text()
    for k, v in (("ROUTER_ID", inst["up"]), ("LOCAL_ADDR", inst["up"]),
                 ("LOCAL_AS", EDGE_AS), ("PEER_ADDR", ROUTER_UP_ADDR),
                 ("PEER_AS", ROUTER_AS), ("INCLUDE", include)):
        text = text.replace("@%s@" % k, str(v))
    left = [ln for ln in text.splitlines()
            if "@" in ln and not ln.lstrip().startswith("#")]
    assert not left, "unfilled template lines: %r" % left
    return text


def frr_bgpd_config():
    """The router's bgpd: the instances as one peer group, multipath,
    BFD, keepalive 1 / hold 3, only /32s accepted."""
    lines = [
        "frr defaults datacenter",
        "hostname rt",
        "log stdout informational",
        "ip prefix-list vips seq 10 permit 203.0.113.0/24 ge 32",
        "route-map from-edge permit 10",
        " match ip address prefix-list vips",
        "router bgp %d" % ROUTER_AS,
        " bgp router-id %s" % ROUTER_UP_ADDR,
        " no bgp ebgp-requires-policy",
        " timers bgp 1 3",
        " neighbor edge peer-group",
        " neighbor edge remote-as %d" % EDGE_AS,
        " neighbor edge bfd",
        " neighbor edge bfd profile fast",
        " neighbor edge timers 1 3",
        " neighbor edge timers connect 1",
        " neighbor edge advertisement-interval 0",
    ]
    for inst in INSTANCES.values():
        lines.append(" neighbor %s peer-group edge" % inst["up"])
    lines += [
        " address-family ipv4 unicast",
        "  maximum-paths 16",
        "  neighbor edge route-map from-edge in",
        "  neighbor edge route-map deny-all out",
        " exit-address-family",
        "route-map deny-all deny 10",
    ]
    return "\n".join(lines) + "\n"


def frr_bfdd_config():
    """The router's BFD profile: BFD_MS x 3 (the slower side's interval is
    what a session runs at, so BIRD's 100 ms follow it)."""
    return ("hostname rt\nlog stdout informational\nbfd\n profile fast\n"
            "  receive-interval %d\n  transmit-interval %d\n"
            "  detect-multiplier 3\n"
            " exit\n" % (BFD_MS, BFD_MS))


class Instance:
    """One edgefwd instance with its BIRD and companion."""

    def __init__(self, t, name):
        self.t = t
        self.name = name
        self.role = INSTANCES[name]["role"]
        self.ns = t.ns[self.role]
        self.dir = t.workdir / self.role
        self.dir.mkdir(exist_ok=True)
        self.include = self.dir / "vips.conf"
        self.bird_sock = self.dir / "bird.ctl"
        self.conf = config.write(instance_config(name),
                                 self.dir / "edgefwd.conf")
        self.file_prefix = "%s-%s" % (t.prefix, self.role)
        self.dataplane = None
        self.bird = None
        self.companion = None
        self.starts = 0

    def start_edgefwd(self, drain_seconds=None):
        taps = {self.role + "t0": ("rt", "up0"),
                self.role + "t1": ("fab", "br0")}
        argv = edge_topo.edge_argv(self.conf, self.file_prefix, taps=taps)
        if drain_seconds is not None:
            argv += ["--drain-seconds", str(drain_seconds)]
        self.starts += 1
        proc = self.t.spawn("edgefwd-%s-%d" % (self.role, self.starts),
                            self.role, argv)
        self.dataplane = topo.Dataplane(proc, self.file_prefix, 1)
        proc.wait_for(topo.READY_LINE, topo.READY_TIMEOUT)
        for i, (tap, (role, bridge)) in enumerate(taps.items()):
            self.t.ip(self.role, "link", "set", tap, "netns", self.t.ns[role])
            self.t.ip(role, "link", "set", tap, "address",
                      "02:eb:%02x:%02x:%02x:%02x" % (
                          os.getpid() % 256, int(self.role[1:]),
                          self.starts % 256, i + 1))
            self.t.ip(role, "link", "set", tap, "master", bridge)
            self.t.ip(role, "link", "set", tap, "up")
        return self.dataplane

    def start_companion(self):
        self.companion = self.t.spawn(
            "edgefwd-bgp-" + self.role, self.role,
            [topo.PYTHON, COMPANION, "-f", self.file_prefix,
             "--include", self.include, "--birdc-socket", self.bird_sock])
        self.companion.wait_for("edgefwd-bgp: ready", 15)

    def start_bird(self):
        conf = self.dir / "bird.conf"
        conf.write_text(bird_config(self.name, self.include))
        self.bird = self.t.spawn(
            "bird-" + self.role, self.role,
            ["bird", "-f", "-c", conf, "-s", self.bird_sock,
             "-P", self.dir / "bird.pid"])
        wait_until(lambda: self.bird_sock.exists(), 10,
                   "BIRD's socket of %s" % self.name, self.bird)

    def birdc(self, *args):
        return topo.run(["birdc", "-s", self.bird_sock] + list(args),
                        check=False).stdout

    def vips(self):
        return telemetry.query(self.file_prefix, "/edgefwd/vips")


def wait_until(cond, timeout, what, proc=None, step=0.02):
    """Poll cond() until it is true (returns its value) or raise after
    timeout seconds, with proc's log when given."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError("no %s within %.1f s%s" % (
                what, timeout, ":\n" + proc.output()[-3000:] if proc else ""))
        time.sleep(step)


class BgpTopology(edge_topo.EdgeTopology):
    """up() builds the namespaces, the nodes and pods (EdgeTopology), the
    router's leg toward the instances and its FRR; start_instance()
    starts an instance; down() removes everything."""

    def __init__(self, prefix=None):
        super().__init__(prefix or "ef%db" % (os.getpid() % 1000), "linux")
        # no single edge: the instances take its place
        self.roles = tuple(r for r in self.roles if r != "edge") + \
            tuple(i["role"] for i in INSTANCES.values())
        self.ns = {r: "%s-%s" % (self.prefix, r) for r in self.roles}
        self.instances = {}
        self.frr = {}
        self.frr_dir = self.workdir / "frr"

    def up(self):
        topo.reap_stale()
        # FRR pathspaces of runs that died (reap_stale removed their
        # namespaces and state files)
        if FRR_RUN.is_dir():
            for d in FRR_RUN.glob("ef*"):
                if not (topo.STATE_DIR / (d.name + ".json")).exists():
                    shutil.rmtree(d, ignore_errors=True)
        super().up()
        self.ip("rt", "link", "add", "up0", "type", "bridge")
        self.ip("rt", "addr", "add", ROUTER_UP_ADDR + "/24", "dev", "up0")
        # a bridge takes the lowest MAC of its ports unless given one: an
        # instance's TAP leaving it would change the router's MAC under
        # the other instance's ARP entry
        self.ip("rt", "link", "set", "up0", "address", "02:eb:00:00:00:01")
        self.ip("rt", "link", "set", "up0", "up")
        self.sysctl("rt", "net.ipv4.fib_multipath_hash_policy", 1)
        self.watch_router()
        self.start_frr()
        return self

    def pods_by_port(self):
        """Client port -> pod of the client's established connections to
        the pods (each pod's own view, ss)."""
        out = {}
        for pod, (role, addr, node) in PODS.items():
            cp = self.exec(role, ["ss", "-Htn", "state", "established",
                                  "( sport = :%d )" % TARGET_PORT])
            for line in cp.stdout.splitlines():
                peer = line.split()[-1]
                if peer.startswith(CLIENT_ADDR + ":"):
                    out[int(peer.rsplit(":", 1)[1])] = pod
        return out

    def watch_router(self):
        """nftables in the router's forward hook: per instance, the set of
        client ports whose packets to the VIP the router forwarded to
        that instance (`rt ip nexthop`: the next hop its ECMP route chose
        for the packet), so that a connection's instance is the router's
        own record, before and after a failover."""
        lines = ["table ip bgpwatch {"]
        for inst in INSTANCES.values():
            lines.append("\tset via_%s { type inet_service; flags dynamic; "
                         "size 65535; }" % inst["role"])
        lines.append("\tchain forward {")
        lines.append("\t\ttype filter hook forward priority -300; "
                     "policy accept;")
        for inst in INSTANCES.values():
            lines.append("\t\tip daddr %s tcp dport %d rt ip nexthop %s "
                         "update @via_%s { tcp sport }"
                         % (VIP, PORT, inst["up"], inst["role"]))
        lines += ["\t}", "}"]
        self.exec("rt", ["nft", "-f", "-"], input="\n".join(lines) + "\n")

    def router_ports(self):
        """Instance name -> set of client ports the router forwarded to it
        since the last forget_router_ports()."""
        out = {}
        for name, inst in INSTANCES.items():
            cp = self.exec("rt", ["nft", "-j", "list", "set", "ip",
                                  "bgpwatch", "via_" + inst["role"]])
            ports = set()
            for obj in json.loads(cp.stdout)["nftables"]:
                for e in obj.get("set", {}).get("elem", []):
                    ports.add(e["elem"]["val"] if isinstance(e, dict)
                              else e)
            out[name] = ports
        return out

    def forget_router_ports(self):
        for inst in INSTANCES.values():
            self.exec("rt", ["nft", "flush", "set", "ip", "bgpwatch",
                             "via_" + inst["role"]])

    def start_frr(self):
        d = self.frr_dir
        d.mkdir()
        # FRR drops to user frr (its vty group): it must reach its folder
        os.chmod(self.workdir, 0o711)
        (d / "zebra.conf").write_text("hostname rt\nlog stdout "
                                      "informational\n")
        (d / "bgpd.conf").write_text(frr_bgpd_config())
        (d / "bfdd.conf").write_text(frr_bfdd_config())
        shutil.chown(d, "frr", "frr")
        for f in d.iterdir():
            shutil.chown(f, "frr", "frr")
        for daemon in ("zebra", "bfdd", "bgpd"):
            argv = [FRR_DIR / daemon, "-f", d / (daemon + ".conf"),
                    "-i", d / (daemon + ".pid"), "-z", d / "zserv.api",
                    "--vty_socket", d, "-u", "frr", "-g", "frr",
                    "-N", self.prefix, "-P", "0", "--log", "stdout"]
            if daemon == "bgpd":
                argv += ["-l", ROUTER_UP_ADDR]
            if daemon == "bfdd":
                argv += ["--bfdctl", d / "bfdd.sock"]
            self.frr[daemon] = self.spawn("frr-" + daemon, "rt", argv)
            sock = d / ("zserv.api" if daemon == "zebra" else
                        daemon + ".vty")
            wait_until(sock.exists, 10, "%s's socket" % daemon,
                       self.frr[daemon])

    def vtysh(self, *cmds):
        argv = ["vtysh", "--vty_socket", self.frr_dir]
        for c in cmds:
            argv += ["-c", c]
        return topo.run(argv, check=False).stdout

    def start_instance(self, name, drain_seconds=None):
        inst = self.instances.get(name) or Instance(self, name)
        self.instances[name] = inst
        inst.start_edgefwd(drain_seconds)
        if inst.companion is None:
            inst.start_companion()
        if inst.bird is None:
            inst.start_bird()
        return inst

    def next_hops(self, vip=VIP):
        """The router's kernel FIB for vip/32: the set of gateways (empty
        when there is no route)."""
        cp = self.ip("rt", "-j", "route", "show", vip + "/32", check=False)
        hops = set()
        for r in json.loads(cp.stdout or "[]"):
            if r.get("dst") != vip:
                continue
            if "gateway" in r:
                hops.add(r["gateway"])
            for nh in r.get("nexthops", []):
                hops.add(nh["gateway"])
        return hops

    def all_up(self, vip=VIP):
        return self.next_hops(vip) == {i["up"] for i in INSTANCES.values()}

    def stop_dataplanes(self):
        """Every instance's edgefwd killed first (its BIRD and companion
        follow with the other processes)."""
        codes = {}
        for name, inst in self.instances.items():
            if inst.dataplane is not None:
                codes[name] = inst.dataplane.proc.stop(signal.SIGKILL,
                                                       timeout=3)
        return codes

    def down(self):
        if not self.is_up:
            return
        if os.environ.get("EF_DTS_KEEP") == "1":
            return super().down()
        try:
            super().down()
        finally:
            shutil.rmtree(FRR_RUN / self.prefix, ignore_errors=True)
            for inst in self.instances.values():
                shutil.rmtree(topo.DPDK_RUN_DIR / inst.file_prefix,
                              ignore_errors=True)

    def leftovers(self):
        left = super().leftovers()
        if (FRR_RUN / self.prefix).exists():
            left.append(str(FRR_RUN / self.prefix))
        return left

