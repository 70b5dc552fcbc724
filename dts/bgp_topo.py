# SPDX-License-Identifier: BSD-3-Clause
"""Network-namespace topology of the scale-out suite (issue 13): an
upstream router running FRR (zebra, bgpd, bfdd), two edgefwd instances,
each with its BIRD and edgefwd-bgp, announcing the same VIPs; the router
spreads the client's flows over them by ECMP.

  [cl] client 198.51.100.2 ── eth0 ── rcl 198.51.100.1  [rt] router (FRR)
                                      up0 192.0.2.1/24 (bridge) ─┬─ i1t0
                                                                 └─ i2t0
  [i1] edgefwd "edge-1": net_tap0 192.0.2.11 (i1t0), net_tap1 10.1.0.1 (i1t1)
       BIRD (AS 4200000001) on efx0, edgefwd-bgp
  [i2] edgefwd "edge-2": net_tap0 192.0.2.12 (i2t0), net_tap1 10.1.0.2 (i2t1)
  [fab] bridge br0 10.1.0.0/24: i1t1, i2t1, the router's rfab 10.1.0.254,
       pods p11 10.1.0.21, p12 10.1.0.22 (node edge-1, gateway 10.1.0.1),
            p21 10.1.0.31, p22 10.1.0.32 (node edge-2, gateway 10.1.0.2)

Proxy mode: each instance is the node of its pods, and the Local services
web (VIP 203.0.113.10:80 -> 8080) and web2 (203.0.113.11:80 -> 8081, the
pods' second server) list every pod, so each instance serves through its
own. The router: AS 4200000100, `maximum-paths`, BFD 100 ms x 3, BGP
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
import tempfile
import time
from pathlib import Path

from dts import config, telemetry, topo

CLIENT_ADDR = "198.51.100.2"
ROUTER_CLIENT_ADDR = "198.51.100.1"
ROUTER_UP_ADDR = "192.0.2.1"
ROUTER_FABRIC_ADDR = "10.1.0.254"
ROUTER_AS = 4200000100
EDGE_AS = 4200000001
VIP = "203.0.113.10"
VIP2 = "203.0.113.11"
PORT = 80
TARGET_PORT = 8080
TARGET_PORT2 = 8081
BIRD_CONF_IN = topo.REPO / "conf" / "bird" / "bird.conf.in"
COMPANION = topo.REPO / "app" / "edgefwd-bgp" / "edgefwd-bgp"
FRR_DIR = Path("/usr/lib/frr")
FRR_RUN = Path("/var/run/frr")
HEALTH_INTERVAL_MS = 1500

INSTANCES = {
    "edge-1": {"role": "i1", "up": "192.0.2.11", "fab": "10.1.0.1",
               "pods": {"p11": "10.1.0.21", "p12": "10.1.0.22"}},
    "edge-2": {"role": "i2", "up": "192.0.2.12", "fab": "10.1.0.2",
               "pods": {"p21": "10.1.0.31", "p22": "10.1.0.32"}},
}
PODS = {pod: (addr, name) for name, i in INSTANCES.items()
        for pod, addr in i["pods"].items()}
ROLES = ("cl", "rt", "fab") + tuple(i["role"] for i in INSTANCES.values()) \
    + tuple(PODS)


def instance_config(name):
    """edgefwd configuration dict of instance name (dts/config.py)."""
    inst = INSTANCES[name]
    eps = [{"address": addr, "node": node, "ready": True}
           for pod, (addr, node) in sorted(PODS.items())]

    def svc(sname, vip, target, **extra):
        s = {"name": sname, "type": "LoadBalancer",
             "load_balancer_ips": [vip],
             "external_traffic_policy": "Local",
             "ports": [{"name": "http", "protocol": "TCP", "port": PORT,
                        "target_port": target}],
             "endpoints": eps}
        s.update(extra)
        return s
    return {
        "node": {"name": name},
        "interfaces": [
            {"port": "net_tap0", "address": inst["up"] + "/24",
             "gateway": ROUTER_UP_ADDR},
            {"port": "net_tap1", "address": inst["fab"] + "/24"},
        ],
        "health": {"type": "tcp", "interval_ms": HEALTH_INTERVAL_MS,
                   "timeout_ms": 500, "rise": 1, "fall": 1},
        "services": [svc("bgp/web", VIP, TARGET_PORT),
                     svc("bgp/web2", VIP2, TARGET_PORT2)],
    }


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
    return ("hostname rt\nlog stdout informational\nbfd\n profile fast\n"
            "  receive-interval 100\n  transmit-interval 100\n"
            "  detect-multiplier 3\n"
            " exit\n")


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
        argv = topo.edgefwd_argv(self.conf, self.file_prefix)
        cut = argv.index("--")
        argv = [a for a in argv[:cut] if not str(a).startswith("--vdev=")] \
            + ["--vdev=net_tap%d,iface=%s" % (i, tap)
               for i, tap in enumerate(taps)] + argv[cut:]
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



class BgpTopology:
    """up() builds the namespaces, the router's FRR and the pods;
    start_instance() starts an instance; down() removes everything."""

    def __init__(self, prefix=None):
        self.prefix = prefix or "ef%db" % (os.getpid() % 1000)
        self.ns = {r: "%s-%s" % (self.prefix, r) for r in ROLES}
        self.workdir = Path(tempfile.mkdtemp(prefix=self.prefix + "-"))
        self.procs = []
        self.pods = {}
        self.instances = {}
        self.frr = {}
        self.frr_dir = self.workdir / "frr"
        self.is_up = False

    def ip(self, role, *args, check=True):
        return topo.run(["ip", "-n", self.ns[role]] + list(args), check=check)

    def sysctl(self, role, key, value):
        topo.run(["sysctl", "-q", "-w", "%s=%s" % (key, value)],
                 ns=self.ns[role])

    def exec(self, role, argv, check=True, timeout=30):
        return topo.run(argv, check=check, timeout=timeout, ns=self.ns[role])

    def spawn(self, name, role, argv):
        proc = topo.Proc(name, self.ns[role], argv, self.workdir)
        self.procs.append(proc)
        return proc

    def veth(self, role_a, name_a, role_b, name_b):
        self.ip(role_a, "link", "add", name_a, "type", "veth", "peer",
                "name", name_b, "netns", self.ns[role_b])

    def up(self):
        topo.reap_stale()
        # FRR pathspaces of runs that died (reap_stale removed their
        # namespaces and state files)
        if FRR_RUN.is_dir():
            for d in FRR_RUN.glob("ef*"):
                if not (topo.STATE_DIR / (d.name + ".json")).exists():
                    shutil.rmtree(d, ignore_errors=True)
        topo.cleanup_prefix(self.prefix)
        topo.STATE_DIR.mkdir(parents=True, exist_ok=True)
        (topo.STATE_DIR / (self.prefix + ".json")).write_text(json.dumps(
            {"pid": os.getpid(), "prefix": self.prefix}))
        topo._LIVE.append(self)
        self.is_up = True
        for role in ROLES:
            topo.run(["ip", "netns", "add", self.ns[role]])
            self.ip(role, "link", "set", "lo", "up")
            for key in ("all", "default"):
                self.sysctl(role, "net.ipv6.conf.%s.disable_ipv6" % key, 1)
        self.veth("cl", "eth0", "rt", "rcl")
        self.ip("cl", "addr", "add", CLIENT_ADDR + "/24", "dev", "eth0")
        self.ip("rt", "addr", "add", ROUTER_CLIENT_ADDR + "/24", "dev", "rcl")
        self.ip("rt", "link", "add", "up0", "type", "bridge")
        self.ip("rt", "addr", "add", ROUTER_UP_ADDR + "/24", "dev", "up0")
        # a bridge takes the lowest MAC of its ports unless given one: an
        # instance's TAP leaving it would change the router's MAC under
        # the other instance's ARP entry
        self.ip("rt", "link", "set", "up0", "address", "02:eb:00:00:00:01")
        self.ip("fab", "link", "add", "br0", "type", "bridge")
        self.veth("rt", "rfab", "fab", "f-rt")
        self.ip("rt", "addr", "add", ROUTER_FABRIC_ADDR + "/24", "dev", "rfab")
        for role, dev in (("cl", "eth0"), ("rt", "rcl"), ("rt", "up0"),
                          ("rt", "rfab"), ("fab", "br0")):
            self.ip(role, "link", "set", dev, "up")
        self.ip("fab", "link", "set", "f-rt", "master", "br0")
        self.ip("fab", "link", "set", "f-rt", "up")
        self.ip("cl", "route", "add", "default", "via", ROUTER_CLIENT_ADDR)
        self.sysctl("rt", "net.ipv4.ip_forward", 1)
        self.sysctl("rt", "net.ipv4.fib_multipath_hash_policy", 1)
        for pod, (addr, node) in PODS.items():
            self.veth("fab", "f-" + pod, pod, "eth0")
            self.ip("fab", "link", "set", "f-" + pod, "master", "br0")
            self.ip("fab", "link", "set", "f-" + pod, "up")
            self.ip(pod, "addr", "add", addr + "/24", "dev", "eth0")
            self.ip(pod, "link", "set", "eth0", "up")
            self.ip(pod, "route", "add", "default", "via",
                    INSTANCES[node]["fab"])
            self.start_pod_server(pod, TARGET_PORT)
            self.start_pod_server(pod, TARGET_PORT2)
        for proc in self.pods.values():
            proc.wait_for("podserver: ready", 10)
        self.start_frr()
        return self

    def start_pod_server(self, pod, port):
        proc = self.spawn("%s-%d" % (pod, port), pod, [
            topo.PYTHON, topo.PEERS / "podserver.py", "--name", pod,
            "--tcp-port", port, "--udp-port", port])
        self.pods[(pod, port)] = proc
        return proc

    def stop_pod_server(self, pod, port):
        self.pods.pop((pod, port)).stop(timeout=3)

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

    def down(self):
        if not self.is_up:
            return
        if os.environ.get("EF_DTS_KEEP") == "1":
            topo.log("EF_DTS_KEEP=1: kept namespaces %s-*, logs in %s"
                     % (self.prefix, self.workdir))
            self.is_up = False
            return
        try:
            for inst in self.instances.values():
                if inst.dataplane is not None:
                    inst.dataplane.proc.stop(signal.SIGKILL, timeout=3)
        finally:
            for proc in reversed(self.procs):
                proc.stop(timeout=3)
            topo.cleanup_prefix(self.prefix)
            shutil.rmtree(FRR_RUN / self.prefix, ignore_errors=True)
            shutil.rmtree(self.workdir, ignore_errors=True)
            for inst in self.instances.values():
                shutil.rmtree(topo.DPDK_RUN_DIR / inst.file_prefix,
                              ignore_errors=True)
            self.is_up = False
            if self in topo._LIVE:
                topo._LIVE.remove(self)

    def leftovers(self):
        left = [n for n in topo.netns_list()
                if n.startswith(self.prefix + "-")]
        if topo.DPDK_RUN_DIR.is_dir():
            left += [str(p) for p in
                     topo.DPDK_RUN_DIR.glob(self.prefix + "-*")]
        if (FRR_RUN / self.prefix).exists():
            left.append(str(FRR_RUN / self.prefix))
        left += ["pid %d (%s)" % (p.popen.pid, p.name) for p in self.procs
                 if p.popen.poll() is None]
        return left

