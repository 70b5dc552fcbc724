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

from dts import topo

PREFIX = "efdemo"
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
    url = "http://%s:%d/" % (addr, port) if port != 80 else \
        "http://%s/" % addr
    failed = 0
    for r in t.client("cl", "get", url, "--count", str(count),
                      "--connect-timeout", "2"):
        where = "%-8s(%s)" % (label, addr if port == 80 else
                              "%s:%d" % (addr, port))
        if r["ok"] and r["status"] == 200:
            b = r["body"]
            note = " (SNAT)" if snat and b["client"] == topo.SNAT_ADDR else ""
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


def main():
    ap = argparse.ArgumentParser(description="edgefwd demo")
    ap.add_argument("--once", action="store_true",
                    help="exit after the requests instead of waiting for "
                    "Ctrl-C")
    ap.add_argument("--workers", type=int, default=1, choices=(1, 2))
    ap.add_argument("--conf", type=Path, default=topo.DEMO_CONF)
    ap.add_argument("--requests", type=int, default=4,
                    help="requests per service")
    ap.add_argument("--cleanup", action="store_true",
                    help="only remove what a previous demo left behind")
    args = ap.parse_args()

    if args.cleanup:
        topo.cleanup_prefix(PREFIX)
        return 0
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(143))

    t = topo.Topology(PREFIX)
    try:
        say("==> building the topology (namespaces %s-*)" % PREFIX)
        t.up()
        say("==> starting edgefwd (%d worker%s) with %s"
            % (args.workers, "s" if args.workers > 1 else "", args.conf))
        dp = t.start_edgefwd(args.conf, args.workers)
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
