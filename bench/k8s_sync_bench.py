#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""edgefwd-k8s at scale: sync from nothing, and event -> data plane.

  sudo /usr/bin/python3 bench/k8s_sync_bench.py [--services 10000]
      [--endpoints 10] [--changes 100] [--build build]

A stand-in API server (dts/k8s/apiserver.py, in this process) holds a
cluster of N LoadBalancer services with M endpoints each (one
EndpointSlice per service); an edgefwd runs with two net_null ports and
the operator's part only (no services). Printed:

  1. sync from nothing: edgefwd-k8s started -> edgefwd runs the whole
     cluster (list, render, write, /edgefwd/reload: parse + generation),
     with edgefwd's own share (the reload round trip, and --check alone);
  2. event -> data plane: K endpoint changes, one at a time, each timed
     from the API server's write to edgefwd's telemetry showing it;
     median and max.

Figures are printed, never judged. Root (DPDK), no hugepages, no network.
"""

import argparse
import gc
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dts import telemetry  # noqa: E402
from dts.k8s import apiserver, fixtures  # noqa: E402

PROGRAM = REPO / "app" / "edgefwd-k8s" / "edgefwd-k8s"
BASE = """node = { name = "node-a"; snat_addresses = [ "10.0.0.1" ]; };
interfaces = (
  { port = "net_null0"; address = "198.51.100.1/24"; },
  { port = "net_null1"; address = "10.0.0.1/24"; }
);
routes = ( { prefix = "10.128.0.0/9"; via = "10.0.0.2"; } );
health = { type = "none"; };
"""


def wait(fn, timeout, step=0.005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--endpoints", type=int, default=10)
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--build", default=str(REPO / "build"))
    args = ap.parse_args()
    edgefwd = Path(args.build) / "app" / "edgefwd" / "edgefwd"
    work = Path(tempfile.mkdtemp(prefix="k8s-bench-"))
    prefix = "k8sbench-%d" % os.getpid()
    procs = []

    def cleanup():
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    try:
        t0 = time.monotonic()
        s = apiserver.StandIn(bookmark_interval=5.0).start()
        objs = fixtures.cluster(args.services, args.endpoints)
        for o in objs:
            s.state.apply(o)
        del objs
        # the stand-in's million objects out of this process's cyclic
        # collector: its full collections stalled the stand-in's watch
        # streams and this loop's polling (the stand-in is not what is
        # measured)
        gc.freeze()
        print("cluster: %d services x %d endpoints in the stand-in (%.1f s "
              "to load, not timed)" % (args.services, args.endpoints,
                                       time.monotonic() - t0), flush=True)
        (work / "kubeconfig").write_text(s.kubeconfig())
        (work / "base.conf").write_text(BASE)
        conf = work / "edgefwd.conf"
        conf.write_text(BASE)
        eflog = open(work / "edgefwd.log", "w")
        ef = subprocess.Popen([str(edgefwd), "-l", "0,1", "--no-huge", "-m",
                               "2048", "--no-pci", "--file-prefix=" + prefix,
                               "--vdev=net_null0", "--vdev=net_null1", "--",
                               "-c", str(conf), "--idle-sleep", "100"],
                              stdout=eflog, stderr=subprocess.STDOUT)
        procs.append(ef)
        if not wait(lambda: "edgefwd: ready" in
                    (work / "edgefwd.log").read_text(), 30, 0.05):
            raise SystemExit("edgefwd did not start:\n" +
                             (work / "edgefwd.log").read_text()[-2000:])
        status = work / "status.json"

        def st():
            try:
                return json.loads(status.read_text())
            except (OSError, ValueError):
                return {}

        # 1. from nothing
        klog = open(work / "edgefwd-k8s.log", "w")
        t_start = time.monotonic()
        k = subprocess.Popen([sys.executable, str(PROGRAM), "--node",
                              "node-a", "--kubeconfig",
                              str(work / "kubeconfig"), "--base",
                              str(work / "base.conf"), "--out", str(conf),
                              "--file-prefix", prefix, "--status",
                              str(status)], stdout=klog,
                             stderr=subprocess.STDOUT)
        procs.append(k)
        ok = wait(lambda: st().get("counters", {}).get("reloads_ok"), 120)
        t_done = time.monotonic()
        if not ok:
            raise SystemExit("no sync:\n" +
                             (work / "edgefwd-k8s.log").read_text()[-3000:])
        info = telemetry.query(prefix, "/edgefwd/info")
        d = st()
        total = t_done - t_start
        print("\n1. sync from nothing: %d services, %d endpoints running in "
              "edgefwd (generation %d) %.2f s after edgefwd-k8s started"
              % (info["services"], info["endpoints"], info["generation"],
                 total))
        print("   of which edgefwd's /edgefwd/reload (parse + generation "
              "build + publish): %.2f s" % d.get("last_reload_s", 0))
        size = conf.stat().st_size
        reloads = []
        with telemetry.Client(prefix, 60) as c:
            for _ in range(3):
                a = time.monotonic()
                r = c.query("/edgefwd/reload")
                reloads.append(time.monotonic() - a)
                assert r["ok"], r
        a = time.monotonic()
        subprocess.run([str(edgefwd), "--", "-c", str(conf), "--check"],
                       check=True, capture_output=True)
        check = time.monotonic() - a
        print("   the rendered file: %.1f MB; edgefwd reload of it again: "
              "median %.2f s of 3; edgefwd --check (parse + validate only): "
              "%.2f s" % (size / 1e6, statistics.median(reloads), check))
        print("   SYNC_FROM_NOTHING_S=%.2f" % total, flush=True)

        # 2. event -> data plane
        rnd = random.Random(7)
        lat = []
        cur = {}
        tc = telemetry.Client(prefix, 60)
        for i in range(args.changes):
            n = rnd.randrange(args.services)
            key = "ns%d/svc-%d" % (n // 1000, n)
            sl = json.loads(json.dumps(
                s.state.objs["endpointslices"][key + "-x7k2p"]))
            # flip the readiness of the first endpoint
            c0 = sl["endpoints"][0]["conditions"]
            ready = not c0["ready"]
            c0["ready"] = c0["serving"] = ready
            addr = sl["endpoints"][0]["addresses"][0]
            ta = time.monotonic()
            s.state.apply(sl)

            def seen():
                v = tc.query("/edgefwd/service," + key)
                for e in (v.get("endpoints") or {}).values():
                    if e["address"] == addr:
                        return bool(e["ready"]) == ready
                return False
            if not wait(seen, 30, 0.01):
                raise SystemExit("change %d never reached edgefwd" % i)
            lat.append(time.monotonic() - ta)
            cur[key] = ready
        tc.close()
        lat.sort()
        print("\n2. event -> data plane, %d endpoint changes one at a time "
              "(%d services): median %.0f ms, max %.0f ms, p90 %.0f ms"
              % (len(lat), args.services, statistics.median(lat) * 1e3,
                 lat[-1] * 1e3, lat[int(len(lat) * 0.9) - 1] * 1e3))
        d = st()
        print("   edgefwd-k8s: %s" % json.dumps(d.get("counters")))
        print("   last change inside edgefwd-k8s: snapshot + render %.0f ms, "
              "write %.0f ms; edgefwd reload %.0f ms" % (
                  d.get("last_render_s", 0) * 1e3,
                  d.get("last_write_s", 0) * 1e3,
                  d.get("last_reload_s", 0) * 1e3))
        # edgefwd's own share of each change, from its reload log lines
        parse, publish = [], []
        for m in re.finditer(r"parsed in ([0-9.]+) ms, built and published "
                             r"in ([0-9.]+) ms",
                             (work / "edgefwd.log").read_text(
                                 errors="replace")):
            parse.append(float(m.group(1)))
            publish.append(float(m.group(2)))
        parse, publish = parse[-len(lat):], publish[-len(lat):]
        if parse:
            print("   edgefwd per change (its log): parse median %.0f ms "
                  "(max %.0f), then build + publish median %.0f ms (max "
                  "%.0f)" % (statistics.median(parse), max(parse),
                             statistics.median(publish), max(publish)))
        print("   EVENT_TO_DATAPLANE_MEDIAN_MS=%.0f EVENT_TO_DATAPLANE_MAX_MS"
              "=%.0f" % (statistics.median(lat) * 1e3, lat[-1] * 1e3))
        rej = s.stats()["rejected"]
        if rej:
            print("stand-in rejected requests: %s" % rej[:5])
        s.down()
    finally:
        cleanup()
        import shutil
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
        if os.environ.get("EF_BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept %s" % work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
