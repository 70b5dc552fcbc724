# SPDX-License-Identifier: BSD-3-Clause
"""Scale-out (issue 13): two edgefwd instances announce the same VIPs over
BGP through BIRD and edgefwd-bgp; an FRR router spreads flows over them by
ECMP, withdraws a VIP whose backends are gone, drops a dead instance by
BFD, and a SIGTERM'd instance withdraws before it stops.

The topology is dts/bgp_topo.py (proxy mode: each instance serves Local
services through its own pods). Every wait polls a condition (the
router's kernel FIB, a telemetry value, a log line) against a deadline.
Measured figures are printed (pytest -s).
"""

import json
import os
import signal
import time

import pytest

from dts import bgp_topo as bt
from dts import topo

UP = {name: i["up"] for name, i in bt.INSTANCES.items()}
HEALTH_S = bt.HEALTH_INTERVAL_MS / 1000.0


def say(msg):
    print("\ntest_bgp: " + msg, flush=True)


@pytest.fixture(scope="module")
def net():
    t = bt.BgpTopology()
    try:
        t.up()
        for name in bt.INSTANCES:
            t.start_instance(name, drain_seconds=3)
        bt.wait_until(t.all_up, 30, "two next hops for %s" % bt.VIP)
        bt.wait_until(lambda: t.all_up(bt.VIP2), 10,
                      "two next hops for %s" % bt.VIP2)
        yield t
    finally:
        t.down()
        assert t.leftovers() == []


@pytest.fixture
def both(net):
    """Both instances running and announced before the test."""
    for name, inst in net.instances.items():
        if inst.dataplane.proc.popen.poll() is not None:
            net.start_instance(name, drain_seconds=3)
    bt.wait_until(net.all_up, 30, "two next hops for %s" % bt.VIP)
    bt.wait_until(lambda: net.all_up(bt.VIP2), 30,
                  "two next hops for %s" % bt.VIP2)
    return net


def gets(t, count, vip=bt.VIP, timeout=120):
    cp = t.exec("cl", [topo.PYTHON, topo.PEERS / "client.py", "get",
                       "http://%s/" % vip, "--count", count,
                       "--connect-timeout", "2"], timeout=timeout)
    return json.loads(cp.stdout)


def instance_of(result):
    return bt.PODS[result["body"]["pod"]][1]


def test_ecmp_two_next_hops_and_spread(both):
    t = both
    route = t.ip("rt", "route", "show", bt.VIP + "/32").stdout
    say("router FIB: " + " ".join(route.split()))
    assert t.next_hops() == set(UP.values())
    # BFD runs on both sessions, at the router and at each BIRD
    def bfd_up():
        peers = json.loads(t.vtysh("show bfd peers json") or "[]")
        return {p["peer"] for p in peers if p.get("status") == "up"} == \
            set(UP.values()) and all(
                " Up " in i.birdc("show", "bfd", "sessions")
                for i in t.instances.values())
    bt.wait_until(bfd_up, 10, "BFD up on both sessions", step=0.1)
    res = gets(t, 500)
    bad = [r for r in res if not r["ok"]]
    assert not bad, bad[:5]
    assert len({r["local_port"] for r in res}) == 500
    per = {name: 0 for name in bt.INSTANCES}
    for r in res:
        per[instance_of(r)] += 1
        # Local: the pod saw the client's own address
        assert r["body"]["client"] == bt.CLIENT_ADDR
    say("500 connections: %s" % ", ".join("%s %d (%.0f%%)" % (
        k, v, 100.0 * v / 500) for k, v in sorted(per.items())))
    for name, n in per.items():
        assert n >= 125, per


def vips_of(inst):
    return {v["vip"]: v for v in inst.vips()["vips"].values()}


def test_vip_without_backends_is_withdrawn_and_comes_back(both):
    t = both
    for pod in bt.PODS:
        t.stop_pod_server(pod, bt.TARGET_PORT2)
    t0 = time.monotonic()     # the last backend is gone
    bt.wait_until(lambda: not t.next_hops(bt.VIP2), 10,
                  "withdrawal of %s" % bt.VIP2)
    gone = time.monotonic() - t0
    # the other VIP is untouched, and both instances say why
    assert t.next_hops(bt.VIP) == set(UP.values())
    for inst in t.instances.values():
        v = vips_of(inst)
        assert v[bt.VIP2]["usable"] == 0 and v[bt.VIP2]["announce"] == 0
        assert v[bt.VIP]["announce"] == 1
        assert "203.0.113.11" not in inst.include.read_text()
    servers = [t.start_pod_server(pod, bt.TARGET_PORT2) for pod in bt.PODS]
    for proc in servers:
        proc.wait_for("podserver: ready", 10)
    t1 = time.monotonic()     # the backends are back (listening)
    bt.wait_until(lambda: t.all_up(bt.VIP2), 10,
                  "re-announcement of %s" % bt.VIP2)
    back = time.monotonic() - t1
    say("backends gone -> route withdrawn in %.2f s, back -> announced "
        "by both in %.2f s (health interval %.1f s, fall 1, rise 1)"
        % (gone, back, HEALTH_S))
    assert gone <= 2 * HEALTH_S
    assert back <= 2 * HEALTH_S
    res = gets(t, 20, bt.VIP2)
    assert all(r["ok"] for r in res)


def start_streams(t, count, seconds):
    """dts/peers/streams.py in the client namespace, in the background;
    returns (proc, ready file) once every connection is open."""
    ready = t.workdir / ("streams-%d.ready" % time.monotonic_ns())
    proc = t.spawn("streams", "cl", [
        topo.PYTHON, topo.PEERS / "streams.py", "http://%s/upload" % bt.VIP,
        "--count", count, "--seconds", seconds, "--interval", "0.2",
        "--ready", ready])
    bt.wait_until(ready.exists, 30, "open streams", proc)
    proc.ports = json.loads(ready.read_text())
    return proc


def ports_by_instance(t):
    """Client port -> instance of the established connections the pods
    hold (proxy mode: a pod is its instance's)."""
    out = {}
    for pod, (addr, node) in bt.PODS.items():
        cp = t.exec(pod, ["ss", "-Htn", "state", "established",
                          "( sport = :%d )" % bt.TARGET_PORT])
        for line in cp.stdout.splitlines():
            peer = line.split()[-1]
            if peer.startswith(bt.CLIENT_ADDR + ":"):
                out[int(peer.rsplit(":", 1)[1])] = node
    return out


def streams_result(proc, timeout=60):
    proc.popen.wait(timeout)
    assert proc.popen.returncode == 0, proc.output()[-2000:]
    out = proc.output().strip().splitlines()
    return json.loads(out[-1])


def split_streams(flows, where):
    """Results per instance, and the error kinds of the failed ones."""
    by = {name: [] for name in bt.INSTANCES}
    errs = {}
    for r in flows:
        by[where[r["local_port"]]].append(r)
        if not r["ok"]:
            e = "%s: %s" % (where[r["local_port"]],
                            r.get("error", "?").split(" (")[0])
            errs[e] = errs.get(e, 0) + 1
    ok = {name: sum(r["ok"] for r in v) for name, v in by.items()}
    return by, ok, errs


def open_streams(t, count, seconds):
    streams = start_streams(t, count, seconds)
    assert len(streams.ports) == count

    def seen():
        m = ports_by_instance(t)
        return m if all(p in m for p in streams.ports) else None
    where = bt.wait_until(seen, 10, "%d connections at the pods" % count)
    return streams, where


def test_sigterm_withdraws_first_then_stops(both):
    t = both
    inst = t.instances["edge-1"]
    proc = inst.dataplane.proc
    streams, where = open_streams(t, 100, 8)
    t0 = time.monotonic()
    os.kill(proc.popen.pid, signal.SIGTERM)
    bt.wait_until(lambda: t.next_hops() == {UP["edge-2"]}, 10,
                  "withdrawal of edge-1")
    withdrawn = time.monotonic() - t0
    # withdrawn first: edge-1 still runs and forwards
    assert proc.popen.poll() is None, proc.output()[-2000:]
    assert "edgefwd: draining" in proc.output()
    assert t.next_hops(bt.VIP2) == {UP["edge-2"]}
    v = inst.vips()
    assert v["draining"] == 1 and v["announced"] == 0
    # new connections during the drain: every one served, by edge-2
    res = gets(t, 100)
    assert all(r["ok"] for r in res), [r for r in res if not r["ok"]][:5]
    assert {instance_of(r) for r in res} == {"edge-2"}
    rc = proc.popen.wait(15)
    stopped = time.monotonic() - t0
    by, ok, errs = split_streams(streams_result(streams), where)
    say("SIGTERM: routes withdrawn in %.2f s, edgefwd stopped after "
        "%.2f s (--drain-seconds 3), exit %d; 100 long-lived uploads: "
        "through edge-2 %d/%d intact, through edge-1 %d/%d (proxy mode: "
        "their state was there)%s" % (
            withdrawn, stopped, rc, ok["edge-2"], len(by["edge-2"]),
            ok["edge-1"], len(by["edge-1"]),
            "; " + ", ".join("%s %d" % kv for kv in sorted(errs.items()))
            if errs else ""))
    assert ok["edge-2"] == len(by["edge-2"]) >= 25
    assert rc == 0
    assert withdrawn < stopped
    assert stopped >= 3.0
    # the companion noticed edgefwd is gone: nothing announced
    bt.wait_until(lambda: "route " not in inst.include.read_text(), 5,
                  "empty include after the stop")
    # a rolling upgrade's second half: the instance comes back
    t1 = time.monotonic()
    t.start_instance("edge-1", drain_seconds=3)
    bt.wait_until(t.all_up, 30, "re-announcement after a restart")
    say("restarted edge-1 announced again in %.2f s" % (
        time.monotonic() - t1))


def test_kill9_router_drops_the_instance_by_bfd(both):
    t = both
    inst = t.instances["edge-1"]
    streams, where = open_streams(t, 100, 8)
    t0 = time.monotonic()
    os.kill(inst.dataplane.proc.popen.pid, signal.SIGKILL)
    bt.wait_until(lambda: t.next_hops() == {UP["edge-2"]}, 10,
                  "removal of edge-1 after kill -9", t.frr["bgpd"])
    gone = time.monotonic() - t0
    res = gets(t, 100)
    assert all(r["ok"] for r in res), [r for r in res if not r["ok"]][:5]
    assert {instance_of(r) for r in res} == {"edge-2"}
    by, ok, errs = split_streams(streams_result(streams), where)
    ok1, ok2 = ok["edge-1"], ok["edge-2"]
    say("kill -9: the router removed edge-1 in %.2f s (BFD); 100 long-lived "
        "uploads: through edge-2 %d/%d intact, through edge-1 %d/%d "
        "(proxy mode: their state was there; %s)"
        % (gone, ok2, len(by["edge-2"]), ok1, len(by["edge-1"]),
           ", ".join("%s %d" % kv for kv in sorted(errs.items()))))
    assert gone <= 3.0
    # the survivor's connections never noticed
    assert len(by["edge-1"]) >= 25 and len(by["edge-2"]) >= 25, \
        {k: len(v) for k, v in by.items()}
    assert ok2 == len(by["edge-2"]), [r for r in by["edge-2"]
                                      if not r["ok"]][:3]


EDGE_MODE_MISSING = ("needs edge mode (issue 10: services with mode = "
                     "\"edge\", stateless Maglev over nodes), not on main "
                     "yet; in proxy mode the dead instance's connections "
                     "reset (measured above)")


@pytest.mark.skip(reason=EDGE_MODE_MISSING)
def test_kill9_long_lived_connections_survive_on_the_other_instance():
    """Edge mode: >= 99 % of the connections through the killed instance
    continue through the other (streams.py, payload checked end to end),
    new connections all succeed."""


@pytest.mark.skip(reason=EDGE_MODE_MISSING)
def test_sigterm_resets_no_connection():
    """Edge mode: SIGTERM of one instance, 0 of the long-lived
    connections through either instance reset."""


def test_cleanup_after_a_failure():
    """A topology whose test fails half-way leaves nothing behind."""
    t = bt.BgpTopology(prefix="ef%dc" % (os.getpid() % 1000))
    try:
        with pytest.raises(RuntimeError):
            try:
                t.up()
                t.start_instance("edge-1", drain_seconds=0)
                raise RuntimeError("the test failed here")
            finally:
                t.down()
    finally:
        t.down()
    assert t.leftovers() == []
    names = ("bird", "bgpd", "bfdd", "zebra", "edgefwd-bgp", "edgefwd")
    left = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
        except OSError:
            continue
        text = b" ".join(cmd).decode(errors="replace")
        if str(t.workdir) in text or t.prefix + "-" in text:
            left.append(text)
    assert not left, left
    assert not any(os.path.basename(str(p)) in names for p in left)
