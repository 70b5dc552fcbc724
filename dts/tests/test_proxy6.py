# SPDX-License-Identifier: BSD-3-Clause
"""PROXY protocol over IPv6 (issues 12 and 14): the dual-stack demo
topology (Topology(ipv6=True), conf/demo-dual.conf) plus two dual-stack
Cluster (SNAT) services to pod-a1, where nginx ("listen ...
proxy_protocol", v1) and HAProxy ("accept-proxy", v2) listen on both
families. Over IPv6 the TCP peer they see is the IPv6 SNAT address, and
only the header ("PROXY TCP6 ...", or v2 with AF_INET6) can tell them the
client's; the IPv4 side of the same services keeps working beside it.
Everything waits on events with deadlines.
"""

import time

import pytest

from dts import topo

POD = "pod-a1"
POD_ROLE = topo.PODS[POD][0]
LB_NGINX, LB_NGINX6 = "198.51.100.30", "2001:db8:100::30"
LB_HAPROXY6 = "2001:db8:100::31"
NGINX_PP, HAPROXY_PORT = 9011, 9012

SERVICES = """
  { name = "proxy6/nginx"; type = "LoadBalancer";
    ip_families = [ "IPv4", "IPv6" ];
    load_balancer_ips = [ "%(lb4)s", "%(lb6)s" ];
    ports = ( { name = "pp"; protocol = "TCP"; port = 80;
                target_port = %(nginx)d; proxy_protocol = "v1"; } );
    endpoints = ( { address = "%(pod4)s"; node = "node-a"; },
                  { address = "%(pod6)s"; node = "node-a"; } ); },
  { name = "proxy6/haproxy"; type = "LoadBalancer";
    ip_families = [ "IPv6" ];
    load_balancer_ips = [ "%(hap6)s" ];
    ports = ( { name = "pp"; protocol = "TCP"; port = 80;
                target_port = %(haproxy)d; proxy_protocol = "v2"; } );
    endpoints = ( { address = "%(pod6)s"; node = "node-a"; } ); },
"""

NGINX_CONF = """
worker_processes 1;
user root;
pid {d}/nginx6.pid;
error_log {d}/nginx6-error.log;
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
    listen [::]:{pp} proxy_protocol;
    access_log {d}/nginx6-pp.log pp;
    location / {{ return 200 "nginx pp\\n"; }}
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
  bind :::{port} v4v6 accept-proxy
  log-format "src=%ci"
  http-request return status 200 content-type text/plain string "haproxy pp"
"""


def wait_until(what, fn, timeout=20, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("no %s within %.0f s" % (what, timeout))
        time.sleep(step)


def listening(t, role, port):
    cp = t.exec(role, ["ss", "-Hltn", "sport = :%d" % port], check=False)
    return cp.returncode == 0 and cp.stdout.strip() != ""


def log_lines(path):
    try:
        return [l for l in path.read_text().splitlines() if l.strip()]
    except OSError:
        return []


def get(t, u, count):
    rs = t.client("cl", "get", u, "--count", str(count),
                  "--connect-timeout", "4")
    failed = [r for r in rs if not r["ok"] or r["status"] != 200]
    assert not failed, "%d/%d requests to %s failed, first: %s" % (
        len(failed), count, u, failed[0])
    return rs


@pytest.fixture(scope="module")
def px6(request, run_prefix):
    t = topo.Topology("%sp6" % run_prefix, ipv6=True)
    request.addfinalizer(t.down)
    t.up()
    d = t.workdir
    (d / "nginx6.conf").write_text(NGINX_CONF.format(d=d, pp=NGINX_PP))
    (d / "haproxy6.cfg").write_text(HAPROXY_CONF.format(port=HAPROXY_PORT))
    t.spawn("nginx", POD_ROLE, ["nginx", "-c", d / "nginx6.conf", "-p", d,
                                "-g", "daemon off;"])
    t.haproxy = t.spawn("haproxy", POD_ROLE,
                        ["haproxy", "-db", "-f", d / "haproxy6.cfg"])
    for port in (NGINX_PP, HAPROXY_PORT):
        wait_until("listener on %d" % port,
                   lambda p=port: listening(t, POD_ROLE, p))
    text = topo.DEMO_DUAL_CONF.read_text()
    assert "services = (\n" in text
    conf = d / "proxy6.conf"
    conf.write_text(text.replace("services = (\n", "services = (\n" + (
        SERVICES % {"lb4": LB_NGINX, "lb6": LB_NGINX6,
                    "hap6": LB_HAPROXY6, "nginx": NGINX_PP,
                    "haproxy": HAPROXY_PORT, "pod4": topo.PODS[POD][1],
                    "pod6": topo.PODS6[POD]}), 1))
    t.start_edgefwd(conf, 1)
    # the first NDP and health checks: a request that succeeds, bounded
    wait_until("the IPv6 VIP answering", lambda: t.client(
        "cl", "get", "http://[%s]/" % LB_NGINX6,
        "--connect-timeout", "1")[0]["ok"], timeout=15, step=0.2)
    yield t
    rc = t.stop_dataplane()
    assert rc == 0, "edgefwd exit %s:\n%s" % (rc, t.dataplane.output()[-3000:])


def test_nginx_logs_the_ipv6_client_through_snat66(px6):
    log = px6.workdir / "nginx6-pp.log"
    n0 = len(log_lines(log))
    before = px6.dataplane.telemetry("/edgefwd/stats")["proxy_headers_sent"]
    rs = get(px6, "http://[%s]/" % LB_NGINX6, 10)
    assert {r["text"] for r in rs} == {"nginx pp\n"}, rs
    lines = wait_until("10 more nginx log lines",
                       lambda: len(log_lines(log)) >= n0 + 10 and
                       log_lines(log)[n0:])
    # the header's address; the TCP peer is the IPv6 SNAT address
    assert set(lines) == {"%s %s" % (topo.CLIENT_ADDR6, topo.SNAT_ADDR6)}
    after = px6.dataplane.telemetry("/edgefwd/stats")["proxy_headers_sent"]
    assert after - before >= 10


def test_same_service_over_ipv4_beside_it(px6):
    log = px6.workdir / "nginx6-pp.log"
    n0 = len(log_lines(log))
    get(px6, "http://%s/" % LB_NGINX, 5)
    lines = wait_until("5 more nginx log lines",
                       lambda: len(log_lines(log)) >= n0 + 5 and
                       log_lines(log)[n0:])
    assert set(lines) == {"%s %s" % (topo.CLIENT_ADDR, topo.SNAT_ADDR)}


def test_haproxy_v2_gets_the_ipv6_client(px6):
    get(px6, "http://[%s]/" % LB_HAPROXY6, 10)

    def srcs():
        s = [l for l in px6.haproxy.output().splitlines()
             if l.startswith("src=")]
        return len(s) >= 10 and s
    assert set(wait_until("10 haproxy log lines", srcs)) == {
        "src=" + topo.CLIENT_ADDR6}
