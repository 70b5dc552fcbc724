# SPDX-License-Identifier: BSD-3-Clause
"""Faults survived (issue 16, item 4): each case injects one fault while
traffic runs and asserts what edgefwd must keep doing.

One edgefwd (1 worker) on the demo topology, with a copy of
conf/demo.conf; the kill -9 and tiny-pool cases restart it. Every wait
polls a condition with a deadline (a counter, a file, an answer).
"""

import json
import os
import signal
import socket
import threading
import time

import pytest

from dts import telemetry, topo

LOCAL_URL = "http://%s/" % topo.LB_LOCAL
CLUSTER_URL = "http://%s/" % topo.LB_CLUSTER
HC_PORT = 32000

# A download that reads slowly (4 MiB/s) until the file argv[3] exists,
# then as fast as it can; it writes argv[2] once 1 MiB has arrived, so
# that the test injects its fault while the transfer is running.
SLOW_BLOB = r"""
import hashlib, json, os, socket, struct, sys, time
sys.path.insert(0, sys.argv[5])
import payload
url_host, size, started, go = sys.argv[1], int(sys.argv[4]), sys.argv[2], sys.argv[3]
res = {"ok": False}
t0 = time.monotonic()
try:
    s = socket.create_connection((url_host, 80), timeout=10)
    idle = 0.0
    s.sendall(b"GET /blob?size=%d HTTP/1.0\r\nHost: x\r\n\r\n" % size)
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            raise OSError("closed in headers")
        buf += b
    head, body = buf.split(b"\r\n\r\n", 1)
    s.settimeout(0.2)
    h = hashlib.sha256(body)
    got = len(body)
    marked = False
    while True:
        if os.path.exists(go + ".abort"):
            # close with RST at once: no FIN retransmitted for minutes
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()
            raise OSError("aborted")
        try:
            b = s.recv(65536)
        except socket.timeout:
            idle += 0.2
            if idle > 20:
                raise
            continue
        idle = 0.0
        if not b:
            break
        h.update(b)
        got += len(b)
        if got >= 1 << 20 and not marked:
            open(started, "w").close()
            marked = True
        if not os.path.exists(go):
            time.sleep(0.016)
    res = {"ok": got == size, "bytes": got, "sha_ok": h.hexdigest() ==
           payload.sha256(size)}
except OSError as e:
    res["error"] = str(e)
res["seconds"] = time.monotonic() - t0
print(json.dumps(res), flush=True)
"""

TIMED_GETS = r"""
import json, socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lat, fails = [], []
for i in range(n):
    t0 = time.monotonic()
    try:
        s = socket.create_connection((host, port), timeout=3)
        s.settimeout(3)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        out = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            out += b
        s.close()
        lat.append(time.monotonic() - t0)
        if not out.startswith(b"HTTP/1."):
            fails.append(out[:40].decode("latin-1"))
    except OSError as e:
        fails.append(str(e))
print(json.dumps({"lat": lat, "fails": fails}))
"""


def wait_until(fn, timeout, step=0.05):
    """Seconds until fn() was true, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if fn():
                return time.monotonic() - t0
        except (OSError, RuntimeError, ValueError):
            pass
        time.sleep(step)
    return None


def served(t, url=LOCAL_URL):
    [r] = t.client("cl", "get", url, "--connect-timeout", "0.5",
                   "--timeout", "2")
    return r["ok"] and r.get("status") == 200


def tel(t, cmd):
    return t.dataplane.telemetry(cmd)


def drops(t):
    """Drops that could touch the test's flows (not_for_us: ARP for
    other hosts, the segment's noise)."""
    return {k: v for k, v in tel(t, "/edgefwd/stats")["drops"].items()
            if v and k != "not_for_us"}


def delta(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items()
            if v != before.get(k, 0)}


def nombuf(t):
    total = 0
    for port in tel(t, "/ethdev/list") or []:
        st = tel(t, "/ethdev/stats,%d" % port) or {}
        total += int(st.get("rx_nombuf", 0))
    return total


# UDP to the node's own address as fast as one socket sends: every
# datagram takes the exception path (worker -> ring -> control lcore ->
# kernel TAP), the slowest path, where mbufs pile up first.
FLOOD = r"""
import json, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
sent = 0
end = time.monotonic() + float(sys.argv[2])
msg = b"x" * 1200
while time.monotonic() < end:
    for _ in range(256):
        try:
            s.sendto(msg, (sys.argv[1], 9))
            sent += 1
        except BlockingIOError:
            pass
print(json.dumps({"sent": sent}))
"""


def start(t, conf):
    t.start_edgefwd(conf, 1)
    assert wait_until(lambda: served(t), 15) is not None, \
        t.dataplane.output()[-3000:]


@pytest.fixture(scope="module")
def lb(request, run_prefix):
    t = topo.Topology("%sf" % run_prefix)
    request.addfinalizer(t.down)
    t.up()
    t.conf = t.workdir / "edgefwd.conf"
    t.conf.write_text(topo.DEMO_CONF.read_text())
    start(t, t.conf)
    yield t
    assert t.stop_dataplane() == 0, t.dataplane.output()[-3000:]


class SlowBlob:
    """SLOW_BLOB in the client namespace; started() waits for its first
    MiB, release() lets it finish, result() its JSON."""

    def __init__(self, t, host, size):
        self.dir = t.workdir
        self.started_f = self.dir / "blob.started"
        self.go_f = self.dir / "blob.go"
        for f in (self.started_f, self.go_f,
                  self.dir / (self.go_f.name + ".abort")):
            f.unlink(missing_ok=True)
        script = self.dir / "slow_blob.py"
        script.write_text(SLOW_BLOB)
        self.proc = t.spawn("slow-blob-%d" % time.monotonic_ns(), "cl", [
            topo.PYTHON, script, host, self.started_f, self.go_f, size,
            topo.PEERS])

    def started(self, timeout=20):
        assert wait_until(self.started_f.exists, timeout) is not None, \
            self.proc.output()

    def release(self):
        self.go_f.touch()

    def abort(self, timeout=10):
        """Close the connection with a RST and wait for the client."""
        (self.dir / (self.go_f.name + ".abort")).touch()
        assert wait_until(lambda: self.proc.popen.poll() is not None,
                          timeout) is not None, "download still running"
        return json.loads(self.proc.output().strip().splitlines()[-1])

    def result(self, timeout=60):
        self.release()
        assert wait_until(lambda: self.proc.popen.poll() is not None,
                          timeout) is not None, "download still running"
        return json.loads(self.proc.output().strip().splitlines()[-1])


def test_config_garbage_or_deleted_between_sighup_and_read(lb):
    """SIGHUP with the file replaced by garbage, then with no file at all:
    both reloads rejected with an error, the generation stays and traffic
    still flows on it."""
    good = lb.conf.read_text()
    gen = tel(lb, "/edgefwd/info")["generation"]
    try:
        for fault in ("garbage", "deleted", "empty"):
            failed = tel(lb, "/edgefwd/info")["reloads_failed"]
            if fault == "garbage":
                lb.conf.write_bytes(os.urandom(4096) + b"\n}}{{;;\x00")
            elif fault == "deleted":
                lb.conf.unlink()
            else:
                lb.conf.write_text("")
            lb.dataplane.proc.popen.send_signal(signal.SIGHUP)
            assert wait_until(lambda: tel(lb, "/edgefwd/info")
                              ["reloads_failed"] == failed + 1, 10), fault
            info = tel(lb, "/edgefwd/info")
            assert info["generation"] == gen, (fault, info)
            assert info["last_reload_error"], info
            print("\n%s: rejected: %s" % (fault, info["last_reload_error"]))
            # the same through telemetry: an error answer, same generation
            r = tel(lb, "/edgefwd/reload")
            assert r["ok"] == 0 and r["generation"] == gen, r
            assert served(lb) and served(lb, CLUSTER_URL)
        assert "reload of %s rejected" % lb.conf in lb.dataplane.output()
    finally:
        lb.conf.write_text(good)
    r = tel(lb, "/edgefwd/reload")
    assert r["ok"] == 1 and r["generation"] == gen + 1, r


def garbage_client(path, i, out):
    """One hostile telemetry client: garbage, oversized or half requests.
    Records 'answered', 'closed' or what went wrong."""
    kinds = ["garbage", "oversized", "huge_param", "nul", "burst", "silent"]
    kind = kinds[i % len(kinds)]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    try:
        # the server listens with a backlog of 1: a connect that finds it
        # full fails with EAGAIN at once; a client tries again
        deadline = time.monotonic() + 10
        while True:
            try:
                s.connect(path)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    out[i] = (kind, "TIMEOUT connecting")
                    return
                time.sleep(0.01)
        greeting = s.recv(4096)
        if not greeting:
            out[i] = (kind, "closed")
            return
        if kind == "garbage":
            msgs = [os.urandom(200)]
        elif kind == "oversized":
            msgs = [b"/edgefwd/stats" + b"x" * 70000]
        elif kind == "huge_param":
            msgs = [b"/edgefwd/service," + b"A" * 1000]
        elif kind == "nul":
            msgs = [b"/edgefwd/flows,\x00\x00\xff"]
        elif kind == "burst":
            msgs = [b"/edgefwd/flows,%d" % k for k in range(20)] + \
                [b"/edgefwd/service,demo/web-local"] * 10
        else:
            msgs = []
        answers = 0
        for m in msgs:
            try:
                s.send(m)
            except OSError:
                out[i] = (kind, "closed")
                return
            r = s.recv(1 << 17)
            if not r:
                out[i] = (kind, "closed")
                return
            # an unknown command is echoed back as the reply's key, raw:
            # garbage in, (non-UTF-8) garbage JSON out: an answer still
            if kind != "garbage":
                json.loads(r)
            answers += 1
        out[i] = (kind, "answered %d" % answers if msgs else "idle")
    except (ConnectionResetError, BrokenPipeError):
        out[i] = (kind, "closed")
    except socket.timeout:
        out[i] = (kind, "TIMEOUT")
    except (OSError, ValueError) as e:
        out[i] = (kind, "ERROR %s" % e)
    finally:
        s.close()


def test_64_hostile_telemetry_clients(lb):
    """64 concurrent telemetry clients with garbage, oversized and burst
    requests while a transfer runs: each is answered or closed (DPDK's
    telemetry server takes 10 connections at a time and closes the rest
    at once), the transfer completes intact, no drop."""
    path = telemetry.socket_path(lb.dataplane.file_prefix)
    d0 = drops(lb)
    blob = SlowBlob(lb, topo.LB_CLUSTER, 64 << 20)
    blob.started()
    out = [None] * 64
    threads = [threading.Thread(target=garbage_client, args=(path, i, out))
               for i in range(64)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    took = time.monotonic() - t0
    r = blob.result()
    summary = {}
    for kind, what in out:
        key = "%s: %s" % (kind, what.split()[0])
        summary[key] = summary.get(key, 0) + 1
    print("\n64 telemetry clients in %.2f s: %s" % (took, summary))
    assert all(o is not None for o in out), out
    bad = [o for o in out if o[1].startswith(("TIMEOUT", "ERROR"))]
    assert not bad, out
    assert r["ok"] and r["sha_ok"], r
    # telemetry still works after, for everyone
    assert tel(lb, "/edgefwd/info")["generation"] >= 1
    assert delta(drops(lb), d0) == {}
    assert served(lb)


def timed_gets(t, host, port, n):
    script = t.workdir / "timed_gets.py"
    script.write_text(TIMED_GETS)
    cp = t.exec("cl", [topo.PYTHON, script, host, port, n], timeout=120)
    return json.loads(cp.stdout)


def a1_health(t):
    """healthy of every probed endpoint of pod-a1 (one per service)."""
    eps = tel(t, "/edgefwd/health")["endpoints"].values()
    return [e["healthy"] for e in eps
            if e["address"] == "10.244.0.5" and e["probed"]]


def test_health_target_blackholes_probes(lb):
    """nftables in pod-a1's namespace drops the node's probes (no answer,
    no RST): the probe times out, pod-a1 goes unhealthy, and meanwhile the
    control lcore answers telemetry and the healthCheckNodePort on time."""
    ns = lb.ns["pa1"]
    rules = ("table inet efblack {\n chain probes {\n"
             "  type filter hook input priority 0;\n"
             "  ip saddr %s tcp dport 8080 drop\n }\n}\n"
             % topo.NODE_POD_ADDR)
    topo.run(["nft", "-f", "-"], ns=ns, input=rules)
    try:
        assert wait_until(lambda: not any(a1_health(lb)), 10)
        tlat = []
        for i in range(50):
            t0 = time.monotonic()
            tel(lb, "/edgefwd/info" if i % 2 else "/edgefwd/health")
            tlat.append(time.monotonic() - t0)
        h = timed_gets(lb, topo.NODE_EXT_ADDR, HC_PORT, 30)
        # the blackhole lasted through both measurements
        assert not any(a1_health(lb))
    finally:
        topo.run(["nft", "delete", "table", "inet", "efblack"], ns=ns,
                 check=False)

    def fig(v):
        v = sorted(v)
        return "median %.1f ms, max %.1f ms" % (v[len(v) // 2] * 1e3,
                                                v[-1] * 1e3)
    print("\nduring the blackhole: telemetry (50 calls) %s; "
          "healthCheckNodePort (30 GETs) %s" % (fig(tlat), fig(h["lat"])))
    assert not h["fails"], h
    # generous: a probe timeout is 500 ms; the control lcore must not
    # wait for it
    assert max(tlat) < 0.5 and max(h["lat"]) < 0.5
    assert wait_until(lambda: all(a1_health(lb)), 10)


def test_link_flap_during_transfer(lb):
    """The kernel side of the pod network's TAP (dtap1, a bridge port)
    goes down for 0.5 s and up again while a download from a Local pod
    runs.

    What a TAP flap does: edgefwd does not see it. net_tap reads the link
    flags by interface name in edgefwd's own namespace, where the kernel
    side no longer is once moved to its peer, so /ethdev/link_status says
    DOWN throughout (edgefwd acts on no link state). While the kernel side
    is down, the kernel refuses what edgefwd writes to the TAP (write()
    fails, net_tap sends less than the burst) and edgefwd counts those
    packets as tx_full, its only drops; the bridge sends it nothing. TCP
    retransmits, so the transfer completes intact; edgefwd keeps serving
    after."""
    d0 = drops(lb)
    k0 = lb.link_stats("pods", "dtap1")
    blob = SlowBlob(lb, topo.LB_LOCAL, 32 << 20)
    blob.started()
    status = []
    lb.ip("pods", "link", "set", "dtap1", "down")
    t0 = time.monotonic()
    try:
        status.append(tel(lb, "/ethdev/link_status,1")["status"])
        # the link stays down for a while: the transfer's segments meet it
        while time.monotonic() - t0 < 0.5:
            time.sleep(0.05)
    finally:
        lb.ip("pods", "link", "set", "dtap1", "up")
    down_s = time.monotonic() - t0
    status.append(tel(lb, "/ethdev/link_status,1")["status"])
    r = blob.result()
    k1 = lb.link_stats("pods", "dtap1")
    kd = {d: k1[d]["dropped"] - k0[d]["dropped"] for d in ("rx", "tx")}
    print("\nflap: down %.2f s, edgefwd's link status %s; dtap1 dropped %s;"
          " edgefwd drops %s; transfer %s" % (
              down_s, status, kd, delta(drops(lb), d0), r))
    assert r["ok"] and r["sha_ok"] and r["bytes"] == 32 << 20, r
    assert wait_until(lambda: served(lb), 10) is not None
    assert served(lb, CLUSTER_URL)
    d = delta(drops(lb), d0)
    assert set(d) <= {"tx_full"}, d


def test_tiny_mbuf_pool_under_load(lb, tmp_path):
    """dataplane.mbufs at the smallest size edgefwd accepts (it refuses
    fewer: lib/ctl/ctl.c mbufs_needed(), every RX/TX descriptor plus the
    rings' share and 1024), then two UDP floods to the node's own address
    (the exception path, where mbufs wait longest) with a 64 MiB transfer.

    What it shows: the smallest pool does not run dry under this load;
    the bounded exception ring fills first and its overflow is counted as
    exception_full, while RX keeps its mbufs (rx_nombuf stays 0 on these
    runs). Whatever is dropped must be counted under exception_full,
    no_mbuf or rx_nombuf at the port; the transfer completes, traffic
    works after and mbufs_in_use returns to its baseline."""
    conf = lb.workdir / "tiny.conf"
    # lib/ctl/ctl.c mbufs_needed(): 3 interfaces x (512 + 512) descriptors
    # + 1 worker x 3 x EF_FWD_RING_SIZE / 4 + 1024
    tiny = 3 * (512 + 512) + 3 * 1024 // 4 + 1024
    conf.write_text(topo.DEMO_CONF.read_text().replace(
        "mbufs = 16383;", "mbufs = %d;" % tiny))
    lb.stop_dataplane()
    start(lb, conf)
    try:
        base = tel(lb, "/edgefwd/stats")["mbufs_in_use"]
        n0 = nombuf(lb)
        d0 = drops(lb)
        script = lb.workdir / "flood.py"
        script.write_text(FLOOD)
        # the transfer is under way before the floods start (a flood may
        # take a SYN's place in the TAP's queue, before edgefwd sees it)
        blob = SlowBlob(lb, topo.LB_CLUSTER, 64 << 20)
        blob.started()
        floods = [lb.spawn("flood%d" % i, "cl", [topo.PYTHON, script,
                                                 topo.NODE_EXT_ADDR, 3])
                  for i in range(2)]
        res = blob.result()
        for f in floods:
            assert wait_until(lambda: f.popen.poll() is not None, 30)
        sent = sum(json.loads(f.output())["sent"] for f in floods)
        n1 = nombuf(lb)
        d1 = delta(drops(lb), d0)
        print("\ntiny pool (%d mbufs, %d in use at rest): flood of %d "
              "datagrams to the node + a 64 MiB transfer %s; rx_nombuf %d, "
              "drops %s, exception path %s" % (
                  tiny, base, sent, res["ok"], n1 - n0, d1,
                  tel(lb, "/edgefwd/stats")["exception_packets"]))
        assert res["ok"] and res["sha_ok"], res
        assert set(d1) <= {"exception_full", "no_mbuf"}, d1
        assert served(lb)
        # back to the baseline, give or take one burst in flight (a leak
        # of the flood would be thousands)
        assert wait_until(lambda: tel(lb, "/edgefwd/stats")
                          ["mbufs_in_use"] <= base + 32, 10) is not None, \
            tel(lb, "/edgefwd/stats")["mbufs_in_use"]
    finally:
        lb.stop_dataplane()
        start(lb, lb.conf)


def test_kill9_during_traffic_and_restart(lb):
    """kill -9 during a transfer, then start again at once with the same
    file prefix: the stale runtime dir, telemetry socket and dead TAPs do
    not prevent it and the restart serves within 2 s.

    Last of the module: the pod of the cut transfer goes on retransmitting
    into flows the new process never had (counted no_flow) for minutes;
    the cases that count drops run before."""
    blob = SlowBlob(lb, topo.LB_CLUSTER, 256 << 20)
    blob.started()
    old = lb.dataplane
    os.killpg(old.proc.popen.pid, signal.SIGKILL)
    old.proc.popen.wait(10)
    assert old.proc.popen.returncode == -signal.SIGKILL
    left = sorted(p.name for p in
                  (topo.DPDK_RUN_DIR / old.file_prefix).glob("*"))
    t0 = time.monotonic()
    lb.start_edgefwd(lb.conf, 1)
    ready = time.monotonic() - t0
    dt = wait_until(lambda: served(lb), 10, step=0.02)
    assert dt is not None, lb.dataplane.output()[-3000:]
    total = time.monotonic() - t0
    print("\nkill -9 left %s in the runtime dir; restart: ready after "
          "%.2f s, first request served %.2f s after the restart"
          % (left, ready, total))
    # the transfer died with the old process's flows: its client closes
    # with a RST (the new process counts it no_flow), not a FIN that the
    # client's kernel would retransmit into the next cases
    print("the transfer cut by the kill: %s" % blob.abort())
    assert total < 2.0
    assert served(lb, CLUSTER_URL)
    assert tel(lb, "/edgefwd/info")["generation"] == 1
