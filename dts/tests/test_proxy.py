# SPDX-License-Identifier: BSD-3-Clause
"""PROXY protocol end to end (issue 14): real servers that parse the
header (nginx "listen ... proxy_protocol", HAProxy "accept-proxy", a
server-speaks-first banner server) in pod-a1, behind Cluster (SNAT)
services, so that only the header can tell them the client's address;
bulk transfers with loss and reordering on the pod link; a lost header
segment resent. Everything waits on events with deadlines.
"""

import json
import shutil
import subprocess
import time

import pytest

from dts import config, topo

POD = "pod-a1"
POD_ROLE, POD_ADDR, _ = topo.PODS[POD]
LB_NGINX = "198.51.100.20"
LB_HAPROXY = "198.51.100.21"
LB_BANNER = "198.51.100.22"
LB_BULK = "198.51.100.23"
NGINX_PP, NGINX_PLAIN, HAPROXY_PORT, BANNER_PORT, BULK_PORT = (
    9001, 9005, 9002, 9003, 9004)
BULK = 100 * 1024 * 1024
PEER = topo.PEERS / "proxypeer.py"


def wait_until(what, fn, timeout=20, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("no %s within %.0f s" % (what, timeout))
        time.sleep(step)


def proxy_conf(path):
    cfg = config.demo()

    def svc(name, lb_ip, ports):
        return config._service(name, lb_ip, "Cluster", ports, [POD])

    cfg["services"] += [
        svc("proxy/nginx", LB_NGINX, [
            {"name": "pp", "protocol": "TCP", "port": 80,
             "target_port": NGINX_PP, "proxy_protocol": "v1"},
            {"name": "plain", "protocol": "TCP", "port": 81,
             "target_port": NGINX_PLAIN}]),
        svc("proxy/haproxy", LB_HAPROXY, [
            {"name": "pp", "protocol": "TCP", "port": 80,
             "target_port": HAPROXY_PORT, "proxy_protocol": "v2"}]),
        svc("proxy/banner", LB_BANNER, [
            {"name": "smtp", "protocol": "TCP", "port": 25,
             "target_port": BANNER_PORT, "proxy_protocol": "v2"}]),
        svc("proxy/bulk", LB_BULK, [
            {"name": "bulk", "protocol": "TCP", "port": 80,
             "target_port": BULK_PORT, "proxy_protocol": "v1"}]),
    ]
    return config.write(cfg, path)


NGINX_CONF = """
worker_processes 1;
user root;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {d}/cb;
  proxy_temp_path {d}/pt;
  fastcgi_temp_path {d}/ft;
  uwsgi_temp_path {d}/ut;
  scgi_temp_path {d}/st;
  log_format pp '$proxy_protocol_addr $remote_addr';
  server {{
    listen {pp} proxy_protocol;
    access_log {d}/nginx-pp.log pp;
    location / {{ return 200 "nginx pp\\n"; }}
  }}
  server {{
    listen {plain};
    access_log {d}/nginx-plain.log pp;
    location / {{ return 200 "nginx plain\\n"; }}
  }}
}}
"""

HAPROXY_CONF = """
global
  log stdout format raw local0
defaults
  mode http
  log global
  timeout client 30s
  timeout server 30s
  timeout connect 5s
frontend fe
  bind :{port} accept-proxy
  log-format "src=%ci"
  http-request return status 200 content-type text/plain string "haproxy pp"
"""


def listening(t, role, port):
    cp = t.exec(role, ["ss", "-Hltn", "sport = :%d" % port], check=False)
    return cp.returncode == 0 and cp.stdout.strip() != ""


def peer(t, *args, timeout=300):
    cp = t.exec("cl", [topo.PYTHON, PEER] + [str(a) for a in args],
                timeout=timeout)
    return json.loads(cp.stdout)


def stats(t):
    return t.dataplane.telemetry("/edgefwd/stats")


@pytest.fixture(scope="module")
def px(request, run_prefix):
    t = topo.Topology("%spx" % run_prefix)
    request.addfinalizer(t.down)
    t.up()
    d = t.workdir
    (d / "nginx.conf").write_text(NGINX_CONF.format(
        d=d, pp=NGINX_PP, plain=NGINX_PLAIN))
    (d / "haproxy.cfg").write_text(HAPROXY_CONF.format(port=HAPROXY_PORT))
    t.spawn("nginx", POD_ROLE, ["nginx", "-c", d / "nginx.conf", "-p", d,
                                "-g", "daemon off;"])
    t.haproxy = t.spawn("haproxy", POD_ROLE,
                        ["haproxy", "-db", "-f", d / "haproxy.cfg"])
    banner = t.spawn("banner", POD_ROLE, [topo.PYTHON, PEER, "server",
                                          "--port", BANNER_PORT, "--banner"])
    bulk = t.spawn("bulk", POD_ROLE, [topo.PYTHON, PEER, "server",
                                      "--port", BULK_PORT])
    banner.wait_for("proxypeer: ready", 10)
    bulk.wait_for("proxypeer: ready", 10)
    for port in (NGINX_PP, NGINX_PLAIN, HAPROXY_PORT):
        wait_until("listener on %d" % port,
                   lambda p=port: listening(t, POD_ROLE, p))
    t.start_edgefwd(proxy_conf(d / "proxy.conf"), 1)
    yield t
    rc = t.stop_dataplane()
    assert rc == 0, "edgefwd exit %s:\n%s" % (rc, t.dataplane.output()[-3000:])


def log_lines(path):
    try:
        return [l for l in path.read_text().splitlines() if l.strip()]
    except OSError:
        return []


def test_telemetry_shows_the_setting(px):
    s = px.dataplane.telemetry("/edgefwd/service,proxy/nginx")
    assert s["proxy_protocol"] == {"80/TCP": "v1", "81/TCP": "none"}
    s = px.dataplane.telemetry("/edgefwd/service,demo/web-cluster")
    assert set(s["proxy_protocol"].values()) == {"none"}
    assert "proxy_headers_sent" in stats(px)
    assert "proxy_header_retransmits" in stats(px)


def test_nginx_logs_the_true_client_through_snat(px):
    before = stats(px)["proxy_headers_sent"]
    rs = peer(px, "get", LB_NGINX, 80, 20)
    assert [r["status"] for r in rs] == [200] * 20, rs
    assert {r["body"] for r in rs} == {"nginx pp\n"}
    log = px.workdir / "nginx-pp.log"
    lines = wait_until("20 nginx log lines",
                       lambda: len(log_lines(log)) >= 20 and log_lines(log))
    # the header's address, while the TCP peer is the SNAT address
    assert set(lines) == {"%s %s" % (topo.CLIENT_ADDR, topo.SNAT_ADDR)}
    assert stats(px)["proxy_headers_sent"] - before >= 20


def test_haproxy_logs_the_true_client_through_snat(px):
    rs = peer(px, "get", LB_HAPROXY, 80, 20)
    assert [r["status"] for r in rs] == [200] * 20, rs

    def srcs():
        s = [l for l in px.haproxy.output().splitlines()
             if l.startswith("src=")]
        return len(s) >= 20 and s
    assert set(wait_until("20 haproxy log lines", srcs)) == {
        "src=" + topo.CLIENT_ADDR}


def test_server_speaks_first(px):
    r = peer(px, "banner", LB_BANNER, 25)
    host, _, rest = r["banner"][4:].partition(":")
    assert r["banner"].startswith("220 ") and host == topo.CLIENT_ADDR
    assert rest.endswith(" v2")
    assert r["bye"] == "221 bye"


def test_port_without_the_setting_is_unchanged(px):
    rs = peer(px, "get", LB_NGINX, 81, 5)
    assert [r["body"] for r in rs] == ["nginx plain\n"] * 5
    log = px.workdir / "nginx-plain.log"
    lines = wait_until("5 plain log lines",
                       lambda: len(log_lines(log)) >= 5 and log_lines(log))
    assert set(lines) == {"- %s" % topo.SNAT_ADDR}
    [r] = px.client("cl", "get", "http://%s/" % topo.LB_CLUSTER,
                    "--connect-timeout", "4")
    assert r["ok"] and r["body"]["client"] == topo.SNAT_ADDR


NFT_DROP_FIRST_HEADER = """
table inet efpx {
  chain input {
    type filter hook input priority 0;
    tcp dport { %d, %d } @ih,0,32 0x0d0a0d0a ct mark 0 ct mark set 1 drop
    tcp dport { %d, %d } @ih,0,48 0x50524f585920 ct mark 0 ct mark set 1 drop
  }
}
""" % (BANNER_PORT, NGINX_PP, BANNER_PORT, NGINX_PP)


def test_lost_header_is_resent(px):
    """The pod drops the first header segment of each connection: the
    banner server waits (the timeout resends it), nginx's client sends
    its request behind it (the endpoint's dup ACK resends it)."""
    rules = px.workdir / "drop-first-header.nft"
    rules.write_text(NFT_DROP_FIRST_HEADER)
    before = stats(px)["proxy_header_retransmits"]
    px.exec(POD_ROLE, ["nft", "-f", rules])
    try:
        r = peer(px, "banner", LB_BANNER, 25)
        assert r["banner"].startswith("220 %s:" % topo.CLIENT_ADDR), r
        rs = peer(px, "get", LB_NGINX, 80, 3)
        assert [x["status"] for x in rs] == [200] * 3, rs
        dropped = px.exec(POD_ROLE, ["nft", "list", "table", "inet",
                                     "efpx"]).stdout
    finally:
        px.exec(POD_ROLE, ["nft", "delete", "table", "inet", "efpx"],
                check=False)
    assert stats(px)["proxy_header_retransmits"] - before >= 4, dropped


# This kernel has no sch_netem ("Specified qdisc kind is unknown"), so the
# pod link is made lossy with what it has: nftables drops 3% of the
# packets each way at random (numgen), and steers another 5% each way into
# a slow HTB class (2 Mbit/s, a short FIFO) so that they fall behind the
# packets after them: reordering, with a delay of a few ms.
POD_LOSS = """
table inet efloss {
  chain out {
    type filter hook output priority 0;
    numgen random mod 100 < 3 drop
    numgen random mod 100 < 5 meta priority set 1:2
  }
  chain in {
    type filter hook input priority 0;
    numgen random mod 100 < 3 drop
  }
}
"""
BRIDGE_REORDER = """
table bridge efloss {
  chain post {
    type filter hook postrouting priority 0;
    oifname "%s" numgen random mod 100 < 5 meta priority set 1:2
  }
}
""" % POD_ROLE


def slow_class(t, role, dev):
    t.exec(role, ["tc", "qdisc", "add", "dev", dev, "root", "handle", "1:",
                  "htb", "default", "1"])
    t.exec(role, ["tc", "class", "add", "dev", dev, "parent", "1:",
                  "classid", "1:1", "htb", "rate", "10gbit"])
    t.exec(role, ["tc", "class", "add", "dev", dev, "parent", "1:",
                  "classid", "1:2", "htb", "rate", "2mbit", "burst", "1500",
                  "cburst", "1500"])
    t.exec(role, ["tc", "qdisc", "add", "dev", dev, "parent", "1:2",
                  "pfifo", "limit", "32"])


@pytest.fixture
def lossy_pod_link(px):
    """3% loss and 5% reordering both ways on pod-a1's link."""
    (px.workdir / "pod-loss.nft").write_text(POD_LOSS)
    (px.workdir / "bridge-reorder.nft").write_text(BRIDGE_REORDER)
    try:
        px.exec(POD_ROLE, ["nft", "-f", px.workdir / "pod-loss.nft"])
        px.exec("pods", ["nft", "-f", px.workdir / "bridge-reorder.nft"])
        slow_class(px, POD_ROLE, "eth0")
        slow_class(px, "pods", POD_ROLE)
        yield
    finally:
        px.exec(POD_ROLE, ["nft", "delete", "table", "inet", "efloss"],
                check=False)
        px.exec("pods", ["nft", "delete", "table", "bridge", "efloss"],
                check=False)
        px.exec(POD_ROLE, ["tc", "qdisc", "del", "dev", "eth0", "root"],
                check=False)
        px.exec("pods", ["tc", "qdisc", "del", "dev", POD_ROLE, "root"],
                check=False)


def reordered(t, role):
    """Segments the pod's kernel queued out of order, and its
    retransmissions (nstat counters since the last call)."""
    cp = t.exec(role, ["nstat", "-az", "TcpExtTCPOFOQueue",
                       "TcpRetransSegs"], check=False)
    out = {}
    for line in cp.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def test_bulk_transfers_under_loss(px, lossy_pod_link, record_property):
    s0 = stats(px)
    reordered(px, POD_ROLE)
    t0 = time.monotonic()
    up = peer(px, "upload", LB_BULK, 80, BULK, timeout=600)
    t1 = time.monotonic()
    down = peer(px, "download", LB_BULK, 80, BULK, timeout=600)
    t2 = time.monotonic()
    # a batch of short connections: some header segments are lost too
    banners = [peer(px, "banner", LB_BANNER, 25) for _ in range(30)]
    s1 = stats(px)
    pod = reordered(px, POD_ROLE)
    record_property("pod_tcp", pod)
    print("pod kernel:", pod)
    record_property("upload_s", round(t1 - t0, 1))
    record_property("download_s", round(t2 - t1, 1))
    record_property("header_retransmits",
                    s1["proxy_header_retransmits"] -
                    s0["proxy_header_retransmits"])
    print("upload %.1f s, download %.1f s, header retransmits %d" % (
        t1 - t0, t2 - t1, s1["proxy_header_retransmits"] -
        s0["proxy_header_retransmits"]))
    assert up["sha256"] == up["expected"], up
    assert up["client"] == topo.CLIENT_ADDR
    assert down["length"] == BULK and down["sha256"] == down["expected"]
    assert all(b["banner"].startswith("220 %s:" % topo.CLIENT_ADDR)
               for b in banners), banners
    record_property("ct_invalid", s1["drops"]["ct_invalid"] -
                    s0["drops"]["ct_invalid"])
