# SPDX-License-Identifier: BSD-3-Clause
"""The demo: edgefwd in the dts topology (dts/topo.py) with conf/demo.conf,
real HTTP requests through the Local and the Cluster service, showing which
pod answered and which client address it saw. Uses the same topology code
as the end-to-end suites, so the two cannot drift.

  /usr/bin/python3 -m dts.demo [--once] [--workers N] [--conf FILE]
  /usr/bin/python3 -m dts.demo --cleanup     remove what a killed demo left

Names are fixed (efdemo-*): one demo at a time per machine.
"""

import argparse
import signal
import subprocess
import sys
from pathlib import Path

from dts import edge_topo, topo

PREFIX = "efdemo"
EDGE_PREFIX = "efdemoe"
DIAGRAM = """
 efdemo-cl                efdemo-lb                   efdemo-pods
 client 198.51.100.2 ─dtap0─ edgefwd "node-a" ─dtap1─ br0 ─┬─ pod-a1 10.244.0.5
                            198.51.100.1                   └─ pod-a2 10.244.0.6
                            10.244.0.1, 10.0.0.1
                                    │ dtap2
                              efdemo-nb: node-b 10.0.0.2 ── pod-b1 10.244.1.7
"""


def say(msg=""):
    print(msg, flush=True)


def show(t, label, addr, port, count, snat):
    """count GETs to addr:port from the client; one line each. Returns the
    number that failed."""
    host = "[%s]" % addr if ":" in addr else addr
    url = "http://%s:%d/" % (host, port) if port != 80 else \
        "http://%s/" % host
    failed = 0
    for r in t.client("cl", "get", url, "--count", str(count),
                      "--connect-timeout", "2"):
        where = "%-8s(%s)" % (label, addr if port == 80 else
                              "%s:%d" % (host, port))
        if r["ok"] and r["status"] == 200:
            b = r["body"]
            note = " (SNAT)" if snat and b["client"] in (
                topo.SNAT_ADDR, topo.SNAT_ADDR6) else ""
            say("%s: %s answered, saw client %s%s"
                % (where, b["pod"], b["client"], note))
        else:
            failed += 1
            say("%s: no answer (%s)" % (where, r.get("error", r.get("status"))))
    return failed


def show_udp(t, label, addr, count):
    failed = 0
    for r in t.client("cl", "udp", addr, "5353", "--count", str(count)):
        where = "%-8s(%s:5353/udp)" % (label, addr)
        if r["ok"]:
            b = r["body"]
            say("%s: %s answered, saw client %s" % (where, b["pod"],
                                                    b["client"]))
        else:
            failed += 1
            say("%s: no answer (%s)" % (where, r.get("error")))
    return failed


EDGE_DIAGRAM = """
 client (64 addresses) ─ router ─ edge edgefwd ─ fabric ─┬─ node-1: pod-1a
                  ^                 (mode edge, l2)      └─ node-2: pod-2a, pod-2b, pod-2c
                  └────────── replies from the nodes, not through the edge
"""


def edge_shares(t, n, sources):
    rs = t.client("cl", "get", "http://%s/" % edge_topo.VIP, "--count",
                  str(n), "--sources", ",".join(sources), timeout=600)
    ok = [r for r in rs if r["ok"] and r["status"] == 200]
    count = {p: 0 for p in edge_topo.PODS}
    real = all(r["body"]["client"] == r["source"] for r in ok)
    for r in ok:
        count[r["body"]["pod"]] += 1
    return {p: c / max(len(ok), 1) for p, c in count.items()}, \
        len(rs) - len(ok), real


def edge_demo(args):
    """The seed's problem and its answer side by side: weights "equal"
    (what a node-blind balancer does) and "endpoints"."""
    sources = ["198.51.100.%d" % (10 + i) for i in range(64)]
    t = edge_topo.EdgeTopology(EDGE_PREFIX)
    try:
        say("==> building the edge topology (namespaces %s-*)" % EDGE_PREFIX)
        t.up()
        for a in sources:
            t.ip("cl", "addr", "add", a + "/24", "dev", "eth0")
        conf = t.write_config("edge.conf", edge_topo.edge_config("equal"))
        say("==> starting the edge edgefwd (weights = \"equal\")")
        dp = t.start_edgefwd(conf)
        say(EDGE_DIAGRAM)
        n = max(args.requests, 400)
        equal, f1, real1 = edge_shares(t, n, sources)
        t.write_config("edge.conf", edge_topo.edge_config("endpoints"))
        r = dp.telemetry("/edgefwd/reload")
        if not r or not r.get("ok"):
            raise RuntimeError("reload failed: %s" % r)
        say("==> reloaded with weights = \"endpoints\"")
        ends, f2, real2 = edge_shares(t, n, sources)
        say("\n%d requests each, from %d client addresses:\n" %
            (n, len(sources)))
        say("%-8s %-7s %10s %10s" % ("pod", "node", "equal", "endpoints"))
        for p in sorted(edge_topo.PODS):
            say("%-8s %-7s %9.1f%% %9.1f%%" % (p, edge_topo.PODS[p][2],
                                               100 * equal[p],
                                               100 * ends[p]))
        say("\nevery pod saw the real client address: %s"
            % ("yes" if real1 and real2 else "NO"))
        failed = f1 + f2 + (0 if real1 and real2 else 1)
        if args.once:
            say("==> done (%d request%s failed)"
                % (failed, "" if failed == 1 else "s"))
            return 1 if failed else 0
        say("""
==> the edge is running; Ctrl-C stops it and removes everything. Try:
  ip netns exec %(p)s-cl curl http://%(vip)s/
  edgefwdctl -f %(fp)s nodes
""" % {"p": EDGE_PREFIX, "vip": edge_topo.VIP, "fp": dp.file_prefix})
        while dp.proc.popen.poll() is None:
            try:
                dp.proc.popen.wait(1)
            except subprocess.TimeoutExpired:
                pass
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        say("demo failed: %s" % exc)
        return 1
    finally:
        say("==> stopping edgefwd and removing the topology")
        t.down()


def main():
    ap = argparse.ArgumentParser(description="edgefwd demo")
    ap.add_argument("--once", action="store_true",
                    help="exit after the requests instead of waiting for "
                    "Ctrl-C")
    ap.add_argument("--workers", type=int, default=1, choices=(1, 2))
    ap.add_argument("--conf", type=Path, default=None,
                    help="an IPv4-only config for the demo topology "
                    "(default: conf/demo-dual.conf, dual-stack)")
    ap.add_argument("--requests", type=int, default=4,
                    help="requests per service")
    ap.add_argument("--cleanup", action="store_true",
                    help="only remove what a previous demo left behind")
    ap.add_argument("--edge", action="store_true",
                    help="the edge director demo: two nodes with 1 and 3 "
                    "pods, weights equal vs endpoints")
    args = ap.parse_args()

    if args.cleanup:
        topo.cleanup_prefix(PREFIX)
        topo.cleanup_prefix(EDGE_PREFIX)
        return 0
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(143))
    if args.edge:
        return edge_demo(args)

    # the default demo is dual-stack (conf/demo-dual.conf); --conf FILE
    # runs FILE on the IPv4-only topology
    dual = args.conf is None
    conf = topo.DEMO_DUAL_CONF if dual else args.conf
    t = topo.Topology(PREFIX, ipv6=dual)
    try:
        say("==> building the topology (namespaces %s-*)" % PREFIX)
        t.up()
        say("==> starting edgefwd (%d worker%s) with %s"
            % (args.workers, "s" if args.workers > 1 else "", conf))
        dp = t.start_edgefwd(conf, args.workers)
        say(DIAGRAM)
        n = args.requests
        failed = 0
        say("==> Local: the pod sees the real client")
        failed += show(t, "Local", topo.LB_LOCAL, 80, n, False)
        failed += show(t, "NodePort", topo.NODE_EXT_ADDR, 30080, 2, False)
        failed += show_udp(t, "Local", topo.LB_LOCAL, 2)
        say("==> Cluster: any pod on any node, source NAT'd to the node")
        failed += show(t, "Cluster", topo.LB_CLUSTER, 80, 2 * n, True)
        failed += show_udp(t, "Cluster", topo.LB_CLUSTER, 2)
        say("==> Local with no local endpoint: dropped (expect no answer)")
        show(t, "Local", topo.LB_REMOTE_ONLY, 80, 1, False)
        if dual:
            say("==> IPv6 (the same services, dual-stack): Local keeps the "
                "client, Cluster SNATs to %s" % topo.SNAT_ADDR6)
            failed += show(t, "Local", topo.LB_LOCAL6, 80, 2, False)
            failed += show(t, "NodePort", topo.NODE_EXT_ADDR6, 30080, 1,
                           False)
            failed += show_udp(t, "Local", topo.LB_LOCAL6, 1)
            failed += show(t, "Cluster", topo.LB_CLUSTER6, 80, 3, True)
            failed += show_udp(t, "Cluster", topo.LB_CLUSTER6, 1)
        if args.once:
            say("==> done (%d request%s failed)"
                % (failed, "" if failed == 1 else "s"))
            return 1 if failed else 0
        say("""
==> edgefwd is running; Ctrl-C stops it and removes everything. Try:
  ip netns exec %(p)s-cl curl http://%(local)s/
  ip netns exec %(p)s-cl curl http://%(cluster)s/
  dpdk-telemetry.py -f %(fp)s      then: /edgefwd/stats
""" % {"p": PREFIX, "local": topo.LB_LOCAL, "cluster": topo.LB_CLUSTER,
            "fp": dp.file_prefix})
        while dp.proc.popen.poll() is None:
            try:
                dp.proc.popen.wait(1)
            except subprocess.TimeoutExpired:
                pass
        say("==> edgefwd exited with %d:\n%s" % (dp.proc.popen.returncode,
                                                 dp.output()[-2000:]))
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        say("demo failed: %s" % exc)
        return 1
    finally:
        say("==> stopping edgefwd and removing the topology")
        rc = t.stop_dataplane()
        if rc is not None:
            tail = [ln for ln in t.dataplane.output().splitlines() if ln][-15:]
            say("edgefwd exit %d; last lines:\n  %s" % (rc, "\n  ".join(tail)))
        t.down()


if __name__ == "__main__":
    sys.exit(main())
