#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""SYN flood from random sources at the generator's maximum rate: what a
transfer and real clients keep (issue 16's flood figures).

  sudo /usr/bin/python3 bench/synflood_bench.py [--workers 1] [--rounds 3]
      [--rate PPS] [--build build] [--gen-sched idle|normal]
      [--txqueuelen N]

--gen-sched idle (default) runs trafgen under SCHED_IDLE (chrt -i 0):
on this shared machine it then takes only the CPU that the pods, the
client and the kernel leave, as a generator on another machine would;
normal lets it compete. --txqueuelen sets the client TAP's queue.

The demo topology (dts/topo.py: TAP ports, network namespaces, real
pods); edgefwd with conntrack max_flows 4096 and SYN cookies from 64
half-open flows (dts/tests/test_synflood.py's cookie_config). Each round
alternates, in the same run:

  1. a 100 MiB download through the Cluster VIP alone;
  2. the same download while trafgen (netsniff-ng; C, PF_PACKET TX ring,
     pinned to CPU 0) sends SYNs from 65 536 random sources in
     172.16.0.0/16 at the Cluster and the Local VIP as fast as it can
     (or at --rate), and the client opens 200 real connections (100 to
     each VIP; connect timeout 3 s, the client's kernel retransmits its
     SYN after 1 s).

Printed per round and as medians: download MB/s alone and flooded and
the ratio; connections ok; the flood's offered rate (the client TAP's
transmit counter), what the kernel's TAP queue dropped before edgefwd
read it, what edgefwd answered with cookies per second, cookies
validated and bad, ct_full, svc_quota, the workers' busy share
during the flood (/edgefwd/lcores busy_cycles / total_cycles); a JSON
line last. Figures are
printed, never judged. Root; no hugepages.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dts import config, topo  # noqa: E402
from dts.tests import test_synflood as sf  # noqa: E402
from dts.tests.test_hostile import flow_port, lb_mac  # noqa: E402


def trafgen_conf(src_mac, dst_mac, dsts):
    """One 54-byte SYN per VIP, trafgen's low-level syntax: random
    source 172.16.x.y, source port, IP id and sequence number; trafgen
    computes both checksums per packet. No padding: csumtcp() takes the
    TCP length from the end of the frame."""
    def mac(m):
        return ", ".join("0x" + b for b in m.split(":"))
    out = []
    for d in dsts:
        out.append("{\n  %s,  %s,  0x08, 0x00,\n"
                   "  0x45, 0x00, c16(40), drnd(2), c16(0), 64, 6, "
                   "csumip(14, 33),\n"
                   "  172, 16, drnd(), drnd(),\n"
                   "  %s,\n"
                   "  drnd(2), c16(80), drnd(4), c32(0), 0x50, 0x02, "
                   "c16(64240), csumtcp(14, 34), c16(0)\n}\n"
                   % (mac(dst_mac), mac(src_mac), ", ".join(d.split("."))))
    return "".join(out)


def tap_tx(t):
    s = t.link_stats("cl", "dtap0")
    return s["tx"]["packets"], s["tx"]["dropped"]


def busy(t):
    """(busy, total) TSC cycles summed over the workers."""
    lc = t.dataplane.telemetry("/edgefwd/lcores")
    return (sum(w["busy_cycles"] for w in lc.values()),
            sum(w["total_cycles"] for w in lc.values()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=0,
                    help="flood rate in SYN/s (0: trafgen's maximum)")
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--gen-sched", choices=("idle", "normal"),
                    default="idle",
                    help="trafgen's scheduling class (idle: chrt -i 0)")
    ap.add_argument("--txqueuelen", type=int, default=0,
                    help="the client TAP's queue length (0: as created)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (namespaces, DPDK)")
    t = topo.Topology("efsfb%d" % (os.getpid() % 1000))
    work = Path(tempfile.mkdtemp(prefix="synflood-bench-"))
    rows = []
    try:
        t.up()
        conf = config.write(sf.cookie_config(), work / "edgefwd.conf")
        t.start_edgefwd(conf, args.workers,
                        binary=Path(args.build) / "app" / "edgefwd" / "edgefwd")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            [r] = t.client("cl", "get", "http://%s/" % topo.LB_CLUSTER,
                           "--connect-timeout", "1")
            if r["ok"]:
                break
        if args.txqueuelen:
            t.exec("cl", ["ip", "link", "set", "dtap0", "txqueuelen",
                          str(args.txqueuelen)])
        cfgfile = work / "syn.trafgen"
        cfgfile.write_text(trafgen_conf(
            t.exec("cl", ["cat", "/sys/class/net/dtap0/address"])
            .stdout.strip(), lb_mac(t), [topo.LB_CLUSTER, topo.LB_LOCAL]))
        for rnd in range(args.rounds):
            base = sf.blob_result(sf.blob(t))
            s0 = sf.stats(t)
            x = sf.blob(t)
            gen = None
            try:
                flow_port(t)
                tx0, drop0 = tap_tx(t)
                b0 = busy(t)
                g0 = time.monotonic()
                argv = ["setsid", "ip", "netns", "exec", t.ns["cl"],
                        "taskset", "-c", "0"] + (
                            ["chrt", "-i", "0"] if args.gen_sched == "idle"
                            else []) + ["trafgen", "-i", str(cfgfile),
                        "-o", "dtap0", "-P", "1", "-q"]
                if args.rate:
                    argv += ["-b", "%dpps" % args.rate]
                gen = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
                sf.wait_stat(t, "syn_cookies_sent",
                             s0["syn_cookies_sent"] + 1000)
                s1 = sf.stats(t)
                rs = []
                for vip in (topo.LB_CLUSTER, topo.LB_LOCAL):
                    rs += t.client("cl", "get", "http://%s/" % vip,
                                   "--count", "100", "--connect-timeout",
                                   "3", "--timeout", "5", timeout=900)
                s2 = sf.stats(t)
                flooded = sf.blob_result(x)
                s3 = sf.stats(t)
                tx1, drop1 = tap_tx(t)
                b1 = busy(t)
                g1 = time.monotonic()
            finally:
                if gen is not None and gen.poll() is None:
                    os.killpg(gen.pid, signal.SIGINT)
                    try:
                        gen.communicate(timeout=15)
                    except subprocess.TimeoutExpired:
                        os.killpg(gen.pid, signal.SIGKILL)
                        gen.communicate()
                if x.poll() is None:
                    x.kill()
            secs = g1 - g0
            d, dc = sf.delta(s0, s3), sf.delta(s1, s2)
            row = {
                "round": rnd + 1,
                "alone_mb_s": round(base["mb_per_s"], 1),
                "flooded_mb_s": round(flooded["mb_per_s"], 1),
                "kept": round(flooded["mb_per_s"] / base["mb_per_s"], 3),
                "connections_ok": sum(1 for c in rs if c["ok"]),
                "connections": len(rs),
                "offered_pps": round((tx1 - tx0) / secs),
                "tap_dropped_pps": round((drop1 - drop0) / secs),
                "cookies_pps": round(d["syn_cookies_sent"] / secs),
                "cookies_sent": d["syn_cookies_sent"],
                "cookies_ok": dc["syn_cookies_ok"],
                "cookies_bad": d["syn_cookies_bad"],
                "ct_full": d["ct_full"],
                "svc_quota": d["svc_quota"],
                "worker_busy": round((b1[0] - b0[0]) /
                                     max(1, b1[1] - b0[1]), 3),
            }
            rows.append(row)
            print("round %d: download %.1f MB/s alone, %.1f flooded (%.0f%% "
                  "kept); connections %d/%d; flood offered %d SYN/s, TAP "
                  "queue dropped %d/s, cookies answered %d/s (sent %d, "
                  "validated %d, bad %d); ct_full %d, svc_quota %d; "
                  "workers busy %.0f%%" % (
                      row["round"], row["alone_mb_s"], row["flooded_mb_s"],
                      100 * row["kept"], row["connections_ok"],
                      row["connections"], row["offered_pps"],
                      row["tap_dropped_pps"], row["cookies_pps"],
                      row["cookies_sent"], row["cookies_ok"],
                      row["cookies_bad"], row["ct_full"], row["svc_quota"],
                      100 * row["worker_busy"]),
                  flush=True)
        med = {k: statistics.median(r[k] for r in rows)
               for k in ("kept", "offered_pps", "cookies_pps",
                         "tap_dropped_pps", "worker_busy")}
        print("\nmedians over %d rounds (%d worker%s, rate %s): download "
              "kept %.0f%%; flood offered %.0f SYN/s, cookies answered %.0f/s,"
              " TAP queue dropped %.0f/s, workers busy %.0f%%; connections "
              "ok %d of %d in all"
              % (len(rows), args.workers, "s" if args.workers > 1 else "",
                 args.rate or "maximum", 100 * med["kept"],
                 med["offered_pps"], med["cookies_pps"],
                 med["tap_dropped_pps"], 100 * med["worker_busy"],
                 sum(r["connections_ok"] for r in rows),
                 sum(r["connections"] for r in rows)))
        print(json.dumps({"synflood_bench": rows, "medians": med}))
        rc = t.stop_dataplane()
        if rc != 0:
            print("edgefwd exit %s:\n%s" % (rc, t.dataplane.output()[-3000:]))
            return 1
    finally:
        t.down()
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
