# SPDX-License-Identifier: BSD-3-Clause
"""Network-namespace topology shared by the end-to-end suites and the demo.

                    198.51.100.0/24          10.244.0.0/24
  [cl] client   dtap0 ──┐            ┌── dtap1 ─ br0 ─┬─ pa1  pod-a1 10.244.0.5
  198.51.100.2          │  [lb]      │   [pods]       └─ pa2  pod-a2 10.244.0.6
                        └─ edgefwd ──┤
                           node-a    └── dtap2  [nb] node-b 10.0.0.2
                                      10.0.0.0/24   └─ pb1 10.244.1.1 ─ pod-b1 10.244.1.7

edgefwd runs in namespace <prefix>-lb with three net_tap ports; once it
prints "edgefwd: ready" the kernel sides of its TAPs (dtap0..2) are moved to
the client, pod-network and node-b namespaces. conf/demo.conf describes this
topology to edgefwd. Every name carries a per-run prefix, so parallel runs
and leftovers of a killed run do not clash; everything made here is removed
by Topology.down(), by an atexit hook, or by the next run (stale state files
under /run/ef-dts name what a dead run left behind). EF_DTS_KEEP=1 keeps the
topology for debugging and prints how to remove it.
"""

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dts import telemetry

REPO = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
PEERS = REPO / "dts" / "peers"
EDGEFWD = Path(os.environ.get("EF_EDGEFWD",
                              REPO / "build" / "app" / "edgefwd" / "edgefwd"))
DEMO_CONF = REPO / "conf" / "demo.conf"
DEMO_DUAL_CONF = REPO / "conf" / "demo-dual.conf"
STATE_DIR = Path("/run/ef-dts")
DPDK_RUN_DIR = Path("/var/run/dpdk")
READY_LINE = "edgefwd: ready"
READY_TIMEOUT = float(os.environ.get("EF_DTS_READY_TIMEOUT", "30"))

# Addresses of the topology (conf/demo.conf uses the same ones).
CLIENT_ADDR = "198.51.100.2"
NODE_EXT_ADDR = "198.51.100.1"
NODE_POD_ADDR = "10.244.0.1"
NODE_INT_ADDR = "10.0.0.1"
NODE_B_ADDR = "10.0.0.2"
NODE_B_POD_GW = "10.244.1.1"
REMOTE_POD_NET = "10.244.1.0/24"
SNAT_ADDR = NODE_INT_ADDR
LB_LOCAL = "198.51.100.10"
LB_CLUSTER = "198.51.100.11"
LB_REMOTE_ONLY = "198.51.100.12"
LB_AFFINITY = "198.51.100.13"

# IPv6 twins (Topology(ipv6=True), conf from dts.config.dual_stack()):
# the same links, each with an IPv6 prefix beside its IPv4 one.
CLIENT_ADDR6 = "2001:db8:100::2"
NODE_EXT_ADDR6 = "2001:db8:100::1"
NODE_POD_ADDR6 = "fd00:244::1"
NODE_INT_ADDR6 = "fd00:10::1"
NODE_B_ADDR6 = "fd00:10::2"
NODE_B_POD_GW6 = "fd00:244:1::1"
REMOTE_POD_NET6 = "fd00:244:1::/64"
SNAT_ADDR6 = NODE_INT_ADDR6
LB_LOCAL6 = "2001:db8:100::10"
LB_CLUSTER6 = "2001:db8:100::11"
LB_REMOTE_ONLY6 = "2001:db8:100::12"
LB_AFFINITY6 = "2001:db8:100::13"
LB_EMPTY6 = "2001:db8:100::14"
PODS6 = {"pod-a1": "fd00:244::5", "pod-a2": "fd00:244::6",
         "pod-b1": "fd00:244:1::7"}
TAPS6 = {"dtap0": CLIENT_ADDR6 + "/64", "dtap1": None,
         "dtap2": NODE_B_ADDR6 + "/64"}

# pod name -> (namespace role, address, namespace role of its network)
PODS = {
    "pod-a1": ("pa1", "10.244.0.5", "pods"),
    "pod-a2": ("pa2", "10.244.0.6", "pods"),
    "pod-b1": ("pb1", "10.244.1.7", "nb"),
}
LOCAL_PODS = {"pod-a1", "pod-a2"}
REMOTE_PODS = {"pod-b1"}
ROLES = ("lb", "cl", "pods", "nb", "pa1", "pa2", "pb1")
# TAP kernel side -> (namespace role, address or None for the bridge port)
TAPS = {
    "dtap0": ("cl", CLIENT_ADDR + "/24"),
    "dtap1": ("pods", None),
    "dtap2": ("nb", NODE_B_ADDR + "/24"),
}

_LIVE = []


def log(msg):
    print("dts: " + msg, file=sys.stderr, flush=True)


def run(argv, check=True, timeout=30, ns=None, input=None):
    """Run a command (inside namespace ns when given); returns CompletedProcess."""
    argv = [str(a) for a in argv]
    if ns is not None:
        argv = ["ip", "netns", "exec", ns] + argv
    cp = subprocess.run(argv, capture_output=True, text=True,
                        timeout=timeout, input=input,
                        stdin=None if input is not None else subprocess.DEVNULL)
    if check and cp.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), cp.returncode,
                                                (cp.stderr or cp.stdout).strip()))
    return cp


def netns_list():
    cp = run(["ip", "-j", "netns", "list"], check=False)
    try:
        return [n["name"] for n in json.loads(cp.stdout or "[]")]
    except ValueError:
        return []


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_netns_pids(name):
    """SIGKILL whatever still runs in namespace name."""
    cp = run(["ip", "netns", "pids", name], check=False)
    for tok in cp.stdout.split():
        try:
            os.kill(int(tok), signal.SIGKILL)
        except (ValueError, ProcessLookupError):
            pass


def cleanup_prefix(prefix):
    """Remove every namespace, process and DPDK runtime dir named prefix-*."""
    names = [n for n in netns_list() if n.startswith(prefix + "-")]
    for name in names:
        kill_netns_pids(name)
    # Give the killed processes a moment to release their namespaces.
    deadline = time.monotonic() + 3
    for name in names:
        while True:
            cp = run(["ip", "netns", "pids", name], check=False)
            if not cp.stdout.split() or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        run(["ip", "netns", "del", name], check=False)
    if DPDK_RUN_DIR.is_dir():
        for d in DPDK_RUN_DIR.glob(prefix + "-*"):
            shutil.rmtree(d, ignore_errors=True)
    (STATE_DIR / (prefix + ".json")).unlink(missing_ok=True)


def kernel_drops(t, roles=ROLES, detail=False):
    """Packets the peers' kernels dropped, which edgefwd cannot see: the
    per-CPU input backlog (softnet: the whole machine's, as veth and TAP
    receive through it), every interface's rx/tx drops and UDP socket
    errors (InErrors: receive buffer full) in the given namespaces of
    topology t (default: all of them). The total, or with detail a dict
    {"softnet": n, "<role>:<ifname>": n, "<role>:udp": n} of the non-zero
    counts."""
    counts = {"softnet": 0}
    with open("/proc/net/softnet_stat") as f:
        for line in f:
            counts["softnet"] += int(line.split()[1], 16)
    for role in roles:
        ns = t.ns[role]
        out = subprocess.run(["ip", "-n", ns, "-s", "-j", "link"],
                             capture_output=True, text=True).stdout
        for link in json.loads(out or "[]"):
            st = link.get("stats64", {})
            counts["%s:%s" % (role, link.get("ifname"))] = (
                st.get("rx", {}).get("dropped", 0) +
                st.get("tx", {}).get("dropped", 0))
        snmp = subprocess.run(["ip", "netns", "exec", ns, "cat",
                               "/proc/net/snmp"], capture_output=True,
                              text=True).stdout.splitlines()
        udp = [line.split() for line in snmp if line.startswith("Udp:")]
        if len(udp) == 2:
            row = dict(zip(udp[0][1:], udp[1][1:]))
            counts["%s:udp" % role] = int(row.get("InErrors", 0))
    if detail:
        return {k: v for k, v in counts.items() if v}
    return sum(counts.values())


def reap_stale():
    """Clean up after runs whose owner process is gone."""
    if not STATE_DIR.is_dir():
        return
    for f in STATE_DIR.glob("*.json"):
        try:
            state = json.loads(f.read_text())
        except (OSError, ValueError):
            f.unlink(missing_ok=True)
            continue
        if not pid_alive(int(state.get("pid", 0))):
            log("removing leftovers of dead run %s" % state.get("prefix"))
            cleanup_prefix(state.get("prefix", f.stem))


class Proc:
    """A process started in a namespace, in its own process group, with its
    output in a log file (so that a chatty process never blocks on a pipe)."""

    def __init__(self, name, ns, argv, logdir):
        self.name = name
        self.logpath = Path(logdir) / (name + ".log")
        self.logfile = open(self.logpath, "w+b")
        self.argv = ["ip", "netns", "exec", ns] + [str(a) for a in argv]
        self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                      stdout=self.logfile,
                                      stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def output(self):
        try:
            return self.logpath.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for(self, line, timeout):
        """Wait until line appears in the output; raises with the log if the
        process exits first or the timeout passes."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.output()
            if line in out:
                return
            if self.popen.poll() is not None:
                raise RuntimeError("%s exited with %d before '%s':\n%s" % (
                    self.name, self.popen.returncode, line, out[-4000:]))
            if time.monotonic() > deadline:
                raise RuntimeError("%s: no '%s' within %.0f s:\n%s" % (
                    self.name, line, timeout, out[-4000:]))
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signal the process group, wait, then SIGKILL it; returns the exit
        code of the process (negative: killed by that signal)."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(5)
        else:
            # Children the process left in its group.
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.logfile.close()
        return self.popen.returncode


class Dataplane:
    """A running edgefwd (or a stand-in DPDK program) in the lb namespace."""

    def __init__(self, proc, file_prefix, workers):
        self.proc = proc
        self.file_prefix = file_prefix
        self.workers = workers
        self.exit_code = None

    def telemetry(self, command):
        """Value of one telemetry command (see dts/telemetry.py)."""
        return telemetry.query(self.file_prefix, command)

    def stop(self):
        """SIGTERM; returns the exit code (edgefwd must exit 0)."""
        if self.exit_code is None:
            self.exit_code = self.proc.stop(signal.SIGTERM, timeout=15)
            shutil.rmtree(DPDK_RUN_DIR / self.file_prefix, ignore_errors=True)
        return self.exit_code

    def output(self):
        return self.proc.output()


def edgefwd_argv(conf, file_prefix, workers=1, binary=None):
    """The EAL + application command line the suites and the demo use."""
    if workers == 1:
        lcores = ["-l", "0,1"]
    else:
        # lcore 0 controls; workers 1..N share the second CPU if need be.
        maps = ["0@0"] + ["%d@%d" % (w, min(w, 1)) for w in range(1, workers + 1)]
        lcores = ["--lcores=" + ",".join(maps)]
    argv = [binary or EDGEFWD] + lcores + [
        "--no-huge", "-m", "1024", "--no-pci",
        "--file-prefix=" + file_prefix]
    argv += ["--vdev=net_tap%d,iface=dtap%d" % (i, i) for i in range(len(TAPS))]
    # 2-vCPU machines: idle workers sleep instead of spinning on the CPU
    # the peers need
    return argv + ["--", "-c", str(conf), "--idle-sleep", "100"]


class Topology:
    """Build with up(), start the data plane with start_edgefwd() (or
    start_kernel_router() to test the topology alone), remove with down()."""

    def __init__(self, prefix=None, ipv6=False):
        self.ipv6 = ipv6
        self.prefix = prefix or "ef%d" % (os.getpid() % 1000)
        self.ns = {role: "%s-%s" % (self.prefix, role) for role in ROLES}
        self.workdir = Path(tempfile.mkdtemp(prefix=self.prefix + "-"))
        self.procs = []
        self.pods = {}
        self.dataplane = None
        self.is_up = False

    # -- building -------------------------------------------------------

    def up(self):
        """Create namespaces, the pod network and node-b, start pod servers."""
        reap_stale()
        cleanup_prefix(self.prefix)
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        (STATE_DIR / (self.prefix + ".json")).write_text(json.dumps(
            {"pid": os.getpid(), "prefix": self.prefix}))
        _LIVE.append(self)
        self.is_up = True
        for role in ROLES:
            name = self.ns[role]
            run(["ip", "netns", "add", name])
            self.ip(role, "link", "set", "lo", "up")
            for key in ("all", "default"):
                if not self.ipv6:
                    # No IPv6: router solicitations and DAD would only
                    # be noise on the data plane's ports.
                    self.sysctl(role,
                                "net.ipv6.conf.%s.disable_ipv6" % key, 1)
                    continue
                # Dual stack: static addresses only, no DAD wait, no
                # router discovery (edgefwd sends no RAs, docs/IPV6.md)
                for opt, val in (("accept_dad", 0), ("dad_transmits", 0),
                                 ("accept_ra", 0),
                                 ("router_solicitations", 0)):
                    self.sysctl(role, "net.ipv6.conf.%s.%s" % (key, opt),
                                val)
        # Pod network of node-a: a bridge that the TAP dtap1 joins later.
        self.ip("pods", "link", "add", "br0", "type", "bridge")
        self.ip("pods", "link", "set", "br0", "up")
        for pod, (role, addr, net) in PODS.items():
            self.ip(net, "link", "add", role, "type", "veth",
                    "peer", "name", "eth0", "netns", self.ns[role])
            self.ip(role, "addr", "add", addr + "/24", "dev", "eth0")
            self.ip(role, "link", "set", "eth0", "up")
            if net == "pods":
                self.ip("pods", "link", "set", role, "master", "br0")
                gw = NODE_POD_ADDR
            else:
                self.ip(net, "addr", "add", NODE_B_POD_GW + "/24", "dev", role)
                gw = NODE_B_POD_GW
            self.ip(net, "link", "set", role, "up")
            self.ip(role, "route", "add", "default", "via", gw)
            if self.ipv6:
                self.ip(role, "addr", "add", PODS6[pod] + "/64", "dev",
                        "eth0", "nodad")
                if net == "pods":
                    gw6 = NODE_POD_ADDR6
                else:
                    self.ip(net, "addr", "add", NODE_B_POD_GW6 + "/64",
                            "dev", role, "nodad")
                    gw6 = NODE_B_POD_GW6
                self.ip(role, "-6", "route", "add", "default", "via", gw6)
        self.sysctl("nb", "net.ipv4.ip_forward", 1)
        if self.ipv6:
            self.sysctl("nb", "net.ipv6.conf.all.forwarding", 1)
        for pod, (role, addr, net) in PODS.items():
            extra = ["--bind6", "::"] if self.ipv6 else []
            proc = self.spawn(pod, role, [PYTHON, PEERS / "podserver.py",
                                          "--name", pod] + extra)
            self.pods[pod] = proc
        for proc in self.pods.values():
            proc.wait_for("podserver: ready", 10)
        return self

    def move_taps(self):
        """Move the kernel sides dtap0..2 from the lb namespace to their peers
        and address them.

        net_tap gives its kernel netdev the DPDK port's own MAC; a peer (or
        a bridge) that owns that MAC takes frames addressed to the port for
        itself. Each kernel side gets a MAC of its own, as the far end of
        a real cable would have."""
        for i, (tap, (role, addr)) in enumerate(TAPS.items()):
            self.ip("lb", "link", "set", tap, "netns", self.ns[role])
            self.ip(role, "link", "set", tap, "address",
                    "02:ef:%02x:00:00:%02x" % (os.getpid() % 256, i + 1))
            if addr is None:
                self.ip(role, "link", "set", tap, "master", "br0")
            else:
                self.ip(role, "addr", "add", addr, "dev", tap)
                if self.ipv6:
                    self.ip(role, "addr", "add", TAPS6[tap], "dev", tap,
                            "nodad")
            self.ip(role, "link", "set", tap, "up")
        self.ip("cl", "route", "add", "default", "via", NODE_EXT_ADDR)
        self.ip("nb", "route", "add", "default", "via", NODE_INT_ADDR)
        if self.ipv6:
            self.ip("cl", "-6", "route", "add", "default", "via",
                    NODE_EXT_ADDR6)
            self.ip("nb", "-6", "route", "add", "default", "via",
                    NODE_INT_ADDR6)

    def start_edgefwd(self, conf=DEMO_CONF, workers=1, binary=None):
        """Start edgefwd in the lb namespace, wait for its ready line, then
        move the TAPs; returns the Dataplane."""
        binary = Path(binary or EDGEFWD)
        if not os.access(binary, os.X_OK):
            raise RuntimeError("%s is not built (ninja -C build)" % binary)
        file_prefix = "%s-w%d" % (self.prefix, workers)
        argv = edgefwd_argv(conf, file_prefix, workers, binary)
        return self.start_dataplane(argv, READY_LINE, file_prefix, workers)

    def start_dataplane(self, argv, ready_line, file_prefix, workers):
        """Start a DPDK program owning the TAPs; see start_edgefwd()."""
        proc = self.spawn("dataplane-" + file_prefix, "lb", argv)
        self.dataplane = Dataplane(proc, file_prefix, workers)
        proc.wait_for(ready_line, READY_TIMEOUT)
        self.move_taps()
        return self.dataplane

    def start_kernel_router(self):
        """Stand-in for edgefwd: veth pairs named like the TAPs and the lb
        namespace's kernel routing between them (no service handling), so
        that the topology and the peers can be tested without the binary."""
        addrs = {"dtap0": NODE_EXT_ADDR, "dtap1": NODE_POD_ADDR,
                 "dtap2": NODE_INT_ADDR}
        for i, tap in enumerate(TAPS):
            self.ip("lb", "link", "add", "lbk%d" % i, "type", "veth",
                    "peer", "name", tap)
            self.ip("lb", "addr", "add", addrs[tap] + "/24", "dev", "lbk%d" % i)
            self.ip("lb", "link", "set", "lbk%d" % i, "up")
        self.sysctl("lb", "net.ipv4.ip_forward", 1)
        self.ip("lb", "route", "add", REMOTE_POD_NET, "via", NODE_B_ADDR)
        self.move_taps()

    # -- using ----------------------------------------------------------

    def ip(self, role, *args, check=True):
        return run(["ip", "-n", self.ns[role]] + list(args), check=check)

    def sysctl(self, role, key, value):
        run(["sysctl", "-q", "-w", "%s=%s" % (key, value)], ns=self.ns[role])

    def exec(self, role, argv, check=True, timeout=30):
        """Run a command in namespace role; returns CompletedProcess."""
        return run(argv, check=check, timeout=timeout, ns=self.ns[role])

    def spawn(self, name, role, argv):
        """Start a long-running process in namespace role (stopped by down())."""
        proc = Proc(name, self.ns[role], argv, self.workdir)
        self.procs.append(proc)
        return proc

    def client(self, role, *args, timeout=60):
        """Run dts/peers/client.py in namespace role; returns its JSON."""
        cp = self.exec(role, [PYTHON, PEERS / "client.py"] + list(args),
                       timeout=timeout)
        return json.loads(cp.stdout)

    def ping(self, role, addr, count=2):
        """True when addr answers ICMP echo from namespace role."""
        cp = self.exec(role, ["ping", "-n", "-q", "-c", count, "-i", "0.2",
                              "-W", "1"] + (["-6"] if ":" in addr else []) +
                       [addr], check=False, timeout=15)
        return cp.returncode == 0

    def link_stats(self, role, ifname):
        """The kernel's counters of one interface (ip -s -j link)."""
        cp = self.ip(role, "-s", "-j", "link", "show", "dev", ifname)
        return json.loads(cp.stdout)[0]["stats64"]

    # -- tearing down ---------------------------------------------------

    def stop_dataplane(self):
        """Stop the data plane; returns its exit code (None if none ran)."""
        if self.dataplane is None:
            return None
        return self.dataplane.stop()

    def down(self):
        """Stop every process and delete every namespace and runtime dir."""
        if not self.is_up:
            return
        if os.environ.get("EF_DTS_KEEP") == "1":
            log("EF_DTS_KEEP=1: kept namespaces %s-*, logs in %s; remove with: "
                "/usr/bin/python3 -m dts.topo --cleanup %s"
                % (self.prefix, self.workdir, self.prefix))
            self.is_up = False
            return
        self.stop_dataplane()
        for proc in reversed(self.procs):
            proc.stop(timeout=3)
        cleanup_prefix(self.prefix)
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.is_up = False
        if self in _LIVE:
            _LIVE.remove(self)

    def leftovers(self):
        """What of this topology still exists (empty after down())."""
        left = [n for n in netns_list() if n.startswith(self.prefix + "-")]
        if DPDK_RUN_DIR.is_dir():
            left += [str(d) for d in DPDK_RUN_DIR.glob(self.prefix + "-*")]
        left += ["pid %d" % p.popen.pid for p in self.procs
                 if p.popen.poll() is None]
        return left


@atexit.register
def _down_all():
    for topo in list(_LIVE):
        try:
            topo.down()
        except Exception as exc:  # noqa: BLE001 - best effort at exit
            log("cleanup of %s failed: %s" % (topo.prefix, exc))


def main():
    import argparse
    ap = argparse.ArgumentParser(description="dts topology maintenance")
    ap.add_argument("--cleanup", metavar="PREFIX",
                    help="remove namespaces, processes and DPDK dirs PREFIX-*")
    ap.add_argument("--reap", action="store_true",
                    help="remove what runs that died left behind")
    args = ap.parse_args()
    if args.cleanup:
        cleanup_prefix(args.cleanup)
    if args.reap:
        reap_stale()
    return 0


if __name__ == "__main__":
    sys.exit(main())
