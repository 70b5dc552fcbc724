# SPDX-License-Identifier: BSD-3-Clause
"""IPv6 end to end (issue 12): the demo topology dual-stack
(Topology(ipv6=True), conf/demo-dual.conf), the IPv6 twins of
test_datapath's cases, and Neighbor Discovery with no static entries:
the client and the pods resolve edgefwd's addresses, edgefwd resolves
theirs.

The whole module runs once per worker count (1 and 2): with two, flows
meet their owner through the handoff rings, as IPv4's do.
"""

import json
import time

import pytest

from dts import topo

ALL_PODS = topo.LOCAL_PODS | topo.REMOTE_PODS


def url(addr, port=None, path="/"):
    return "http://[%s]%s%s" % (addr, ":%d" % port if port else "", path)


@pytest.fixture(scope="module", params=[1, 2], ids=["1worker", "2workers"])
def lb(request, run_prefix):
    workers = request.param
    t = topo.Topology("%s6w%d" % (run_prefix, workers), ipv6=True)
    request.addfinalizer(t.down)
    t.up()
    t.start_edgefwd(topo.DEMO_DUAL_CONF, workers)
    # wait for the service (first health checks, first NDP) on an event:
    # a request that succeeds, bounded
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        [r] = t.client("cl", "get", url(topo.LB_CLUSTER6),
                       "--connect-timeout", "1")
        if r["ok"]:
            break
    yield t
    rc = t.stop_dataplane()
    assert rc == 0, "edgefwd exit %s on SIGTERM:\n%s" % (
        rc, t.dataplane.output()[-3000:])


def get(t, u, count=1, role="cl", connect_timeout=4):
    rs = t.client(role, "get", u, "--count", str(count),
                  "--connect-timeout", str(connect_timeout))
    failed = [r for r in rs if not r["ok"] or r["status"] != 200]
    assert not failed, "%d/%d requests to %s failed, first: %s" % (
        len(failed), count, u, failed[0])
    return [r["body"] for r in rs]


def neigh(t, role, addr):
    """The MAC (lowercase) the namespace's kernel resolved addr to, or None."""
    out = t.ip(role, "-6", "neigh", "show", addr).stdout.split()
    return out[out.index("lladdr") + 1].lower() if "lladdr" in out else None


def test_ndp_resolves_both_ways(lb):
    # the client resolved the VIP and edgefwd's address by NS/NA (no
    # static neighbours anywhere in this topology)
    assert lb.ping("cl", topo.LB_LOCAL6, count=2)
    assert lb.ping("cl", topo.NODE_EXT_ADDR6, count=2)
    mac_vip = neigh(lb, "cl", topo.LB_LOCAL6)
    mac_node = neigh(lb, "cl", topo.NODE_EXT_ADDR6)
    assert mac_vip is not None and mac_vip == mac_node, (mac_vip, mac_node)
    # the pods resolved edgefwd's address on their link: their default
    # route; and edgefwd resolved the pods (the Local requests below need
    # it): the worker's NAs are counted
    get(lb, url(topo.LB_LOCAL6), 4)
    assert neigh(lb, "pa1", topo.NODE_POD_ADDR6) is not None or \
        neigh(lb, "pa2", topo.NODE_POD_ADDR6) is not None
    stats = lb.dataplane.telemetry("/edgefwd/stats")
    assert stats["nd_advertisements"] > 0, stats
    assert stats["rx6_packets"] > 0, stats
    n6 = lb.dataplane.telemetry("/edgefwd/neighbors")
    learned = {e["address"] for e in n6["neighbors"].values()}
    assert topo.CLIENT_ADDR6 in learned, n6


def test_unsolicited_na_after_reload(lb):
    # edgefwd re-announces its IPv6 addresses after a reload (as it sends
    # gratuitous ARP): unsolicited NAs (S=0, O=1) to ff02::1 for the
    # interface address and the VIPs on the client's subnet
    # the start's announcements repeat for 3 s (ANNOUNCE_REPEATS, ctl.c):
    # wait them out on the uptime counter, so what arrives is the reload's
    deadline = time.monotonic() + 10
    while lb.dataplane.telemetry("/edgefwd/info")["uptime_s"] < 4:
        assert time.monotonic() < deadline, "uptime_s stuck"
        time.sleep(0.2)
    mon = lb.spawn("na-monitor", "cl", [topo.PYTHON, "-c", NA_MONITOR])
    try:
        mon.wait_for("na-monitor: ready", 10)
        assert lb.dataplane.telemetry("/edgefwd/reload")["ok"] == 1
        for addr in (topo.NODE_EXT_ADDR6, topo.LB_LOCAL6, topo.LB_CLUSTER6):
            mon.wait_for("NA %s ff02::1 S=0 O=1" % addr, 10)
    finally:
        mon.stop(timeout=3)


def test_local_keeps_client_ip6(lb):
    bodies = get(lb, url(topo.LB_LOCAL6), 20)
    assert {b["pod"] for b in bodies} == topo.LOCAL_PODS
    assert {b["client"] for b in bodies} == {topo.CLIENT_ADDR6}


def test_cluster_spreads_with_snat6(lb):
    bodies = get(lb, url(topo.LB_CLUSTER6), 60)
    assert {b["pod"] for b in bodies} == ALL_PODS
    assert {b["client"] for b in bodies} == {topo.SNAT_ADDR6}


def test_remote_pod_through_node_b6(lb):
    before = lb.link_stats("nb", "pb1")["tx"]["packets"]
    bodies = get(lb, url(topo.LB_CLUSTER6), 30)
    after = lb.link_stats("nb", "pb1")["tx"]["packets"]
    remote = [b for b in bodies if b["pod"] == "pod-b1"]
    assert remote, "no connection reached pod-b1 in 30"
    assert all(b["client"] == topo.SNAT_ADDR6 for b in remote)
    # node-b routed at least SYN, ACK and request of each connection
    assert after - before >= 3 * len(remote)


def test_exception_path6(lb):
    # the lb namespace's kernel reaches a pod over IPv6 through edgefwd
    # (the exception TAP carries the interface's IPv6 address and routes)
    cp = lb.exec("lb", ["curl", "-sS", "-m", "5", "-g",
                        url(topo.PODS6["pod-a1"], 8080)])
    body = json.loads(cp.stdout)
    assert body["pod"] == "pod-a1"
    assert body["client"] == topo.NODE_POD_ADDR6
    # a kernel listener on the node's external IPv6 address is reachable
    srv = lb.spawn("lb-listener6", "lb", [
        topo.PYTHON, topo.PEERS / "podserver.py", "--name", "lb-kernel6",
        "--bind6", "::", "--tcp-port", "2223", "--udp-port", "0"])
    try:
        srv.wait_for("podserver: ready", 10)
        [b] = get(lb, url(topo.NODE_EXT_ADDR6, 2223))
        assert b["pod"] == "lb-kernel6"
        assert b["client"] == topo.CLIENT_ADDR6
    finally:
        srv.stop(timeout=3)


def test_ipv4_unchanged_beside_ipv6(lb):
    # the same services over IPv4 in the same run: IPv4 frontends reach
    # IPv4 endpoints (the pods saw IPv4 clients), no NAT46
    bodies = get(lb, "http://%s/" % topo.LB_LOCAL, 8)
    assert {b["client"] for b in bodies} == {topo.CLIENT_ADDR}
    bodies = get(lb, "http://%s/" % topo.LB_CLUSTER, 8)
    assert {b["client"] for b in bodies} == {topo.SNAT_ADDR}


def test_local_without_local_endpoint_drops6(lb):
    before = lb.dataplane.telemetry("/edgefwd/stats")["drops"]
    [r] = lb.client("cl", "get", url(topo.LB_REMOTE_ONLY6),
                    "--connect-timeout", "2")
    assert not r["ok"]
    assert (r["phase"], r["error"]) == ("connect", "timeout"), r
    after = lb.dataplane.telemetry("/edgefwd/stats")["drops"]
    assert after["no_local_endpoint"] > before["no_local_endpoint"]


def test_no_endpoint_rejects6(lb):
    # TCP: an RST (refused at once); UDP: ICMPv6 port unreachable
    [r] = lb.client("cl", "get", url(topo.LB_EMPTY6),
                    "--connect-timeout", "3")
    assert (r["ok"], r.get("error")) == (False, "refused"), r
    before = lb.dataplane.telemetry("/edgefwd/stats")
    cp = lb.exec("cl", [topo.PYTHON, "-c", ICMP6_FOR_UDP % (
        64, topo.LB_EMPTY6, 5353)], check=False, timeout=10)
    assert cp.stdout.strip() == "1/4", (cp.stdout, cp.stderr)
    after = lb.dataplane.telemetry("/edgefwd/stats")
    assert after["drops"]["no_endpoint"] > before["drops"]["no_endpoint"]


def test_udp_local_and_cluster6(lb):
    for addr, clients, pods in (
            (topo.LB_LOCAL6, {topo.CLIENT_ADDR6}, topo.LOCAL_PODS),
            (topo.LB_CLUSTER6, {topo.SNAT_ADDR6}, ALL_PODS)):
        rs = lb.client("cl", "udp", addr, "5353", "--count", "12",
                       "--timeout", "2")
        failed = [r for r in rs if not r["ok"]]
        assert not failed, "UDP to %s: %s" % (addr, failed[0])
        assert {r["from"] for r in rs} == {"[%s]:5353" % addr}
        assert {r["body"]["client"] for r in rs} == clients
        assert {r["body"]["pod"] for r in rs} <= pods
        if addr == topo.LB_LOCAL6:
            assert all(r["body"]["client_port"] == r["local_port"]
                       for r in rs)


def test_node_port_on_ipv6_address(lb):
    bodies = get(lb, url(topo.NODE_EXT_ADDR6, 30080), 6)
    assert {b["pod"] for b in bodies} <= topo.LOCAL_PODS
    assert {b["client"] for b in bodies} == {topo.CLIENT_ADDR6}


def test_session_affinity_client_ip6(lb):
    bodies = get(lb, url(topo.LB_AFFINITY6), 12)
    assert len({b["pod"] for b in bodies}) == 1
    assert {b["client"] for b in bodies} == {topo.SNAT_ADDR6}


def test_health_check_node_port_on_ipv6(lb):
    [ok] = lb.client("cl", "get", url(topo.NODE_EXT_ADDR6, 32000))
    assert ok["ok"] and ok["status"] == 200, ok
    assert ok["body"]["localEndpoints"] == 2, ok
    [bad] = lb.client("cl", "get", url(topo.NODE_EXT_ADDR6, 32001))
    assert bad["ok"] and bad["status"] == 503, bad


def probed(t, addr):
    """healthy of every probed endpoint at addr (one per service)."""
    eps = t.dataplane.telemetry("/edgefwd/health")["endpoints"].values()
    return [e["healthy"] for e in eps if e["address"] == addr and
            e["probed"]]


def wait_for(pred, deadline_s):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_ipv6_endpoints_are_probed_over_ipv6(lb):
    """pod-a1 refuses edgefwd's probes over IPv6 only (nftables in its
    namespace resets TCP to 8080 from the node's IPv6 pod-side address):
    its IPv6 endpoint goes unhealthy (interval 1 s, fall 2) while its IPv4
    one stays healthy; VIP6's Local service then reaches pod-a2 only, VIP
    still both; with the rule gone it comes back (rise 2)."""
    a1_4, a1_6 = topo.PODS["pod-a1"][1], topo.PODS6["pod-a1"]
    assert wait_for(lambda: probed(lb, a1_6) and all(probed(lb, a1_6)), 5)
    ns = lb.ns["pa1"]
    rules = ("table ip6 efno6 {\n chain probes {\n"
             "  type filter hook input priority 0;\n"
             "  ip6 saddr %s tcp dport 8080 reject with tcp reset\n }\n}\n"
             % topo.NODE_POD_ADDR6)
    topo.run(["nft", "-f", "-"], ns=ns, input=rules)
    try:
        assert wait_for(lambda: not any(probed(lb, a1_6)), 6), \
            lb.dataplane.telemetry("/edgefwd/health")
        assert all(probed(lb, a1_4)), probed(lb, a1_4)
        eps = lb.dataplane.telemetry("/edgefwd/health")["endpoints"]
        e6 = [e for e in eps.values() if e["address"] == a1_6][0]
        assert e6["last_error"], e6
        v = lb.dataplane.telemetry("/edgefwd/service,demo/web-local")
        [s6] = [e for e in v["endpoints6"].values()
                if e["address"] == a1_6]
        assert s6["healthy"] is False or s6["healthy"] == 0, s6
        assert {b["pod"] for b in get(lb, url(topo.LB_LOCAL6), 12)} == \
            {"pod-a2"}
        # 32 requests: both pods answer unless the hash sent all 32 to
        # one (2^-31)
        assert {b["pod"] for b in get(lb, "http://%s/" % topo.LB_LOCAL,
                                      32)} == {"pod-a1", "pod-a2"}
    finally:
        topo.run(["nft", "delete", "table", "ip6", "efno6"], ns=ns,
                 check=False)
    assert wait_for(lambda: all(probed(lb, a1_6)), 6)


def test_large_transfer_cluster6(lb, record_property):
    size = 100 * 1024 * 1024
    r = lb.client("cl", "blob", url(topo.LB_CLUSTER6, path="/blob"),
                  "--size", str(size), "--timeout", "20", timeout=180)
    assert r["ok"], r
    assert r["bytes"] == size
    assert r["sha256"] == r["expected_sha256"] == r["header_sha256"]
    print("\n100 MiB through Cluster over IPv6, %d worker(s), from %s: "
          "%.1f MB/s (%.2f s)" % (lb.dataplane.workers, r["pod"],
                                  r["mb_per_s"], r["seconds"]))
    record_property("throughput_MBps", round(r["mb_per_s"], 1))


def test_echo_and_hop_limit6(lb):
    assert lb.ping("cl", topo.LB_CLUSTER6, count=2)
    # a UDP datagram to the VIP with hop limit 1 gets ICMPv6 time
    # exceeded from edgefwd (traceroute's first hop)
    before = lb.dataplane.telemetry("/edgefwd/stats")
    cp = lb.exec("cl", [topo.PYTHON, "-c", ICMP6_FOR_UDP % (
        1, topo.LB_CLUSTER6, 5353)], check=False, timeout=10)
    assert cp.stdout.strip() == "3/0", (cp.stdout, cp.stderr)
    after = lb.dataplane.telemetry("/edgefwd/stats")
    assert after["drops"]["ttl_exceeded"] > before["drops"]["ttl_exceeded"]
    assert after["icmp_errors_sent"] > before["icmp_errors_sent"]


def test_path_mtu_discovery6(lb):
    """node-b's link to pod-b1 is narrower (1300) than pod-b1's own MTU:
    the uploads to pod-b1 complete only if node-b's packet too big, sent
    to the SNAT66 address, is translated back to the client."""
    size = 2 * 1024 * 1024
    lb.ip("nb", "link", "set", "pb1", "mtu", "1300")
    try:
        rs = lb.client("cl", "upload", url(topo.LB_CLUSTER6, path="/upload"),
                       "--size", str(size), "--count", "30",
                       "--until-pod", "pod-b1", "--timeout", "10",
                       timeout=400)
        last = rs[-1]
        assert last["ok"], "upload stalled: %s" % last
        assert last["body"]["pod"] == "pod-b1", \
            "no upload reached pod-b1 in %d" % len(rs)
        assert last["body"]["sha256"] == last["expected_sha256"]
        assert last["body"]["length"] == size
        route = lb.ip("cl", "-6", "route", "get", topo.LB_CLUSTER6).stdout
        assert " mtu 1300" in route, route
        assert lb.dataplane.telemetry("/edgefwd/stats")[
            "icmp_errors_translated"] > 0
    finally:
        lb.ip("nb", "link", "set", "pb1", "mtu", "1500")
        lb.ip("cl", "-6", "route", "flush", "cache", check=False)


# One UDP datagram to (address, port) with a hop limit; prints the
# "type/code" of the first ICMPv6 error that comes back (read from a raw
# socket: an unconnected UDP socket reports none), or "nothing" in 3 s.
ICMP6_FOR_UDP = """
import socket
raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
raw.settimeout(3)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, %d)
u.sendto(b"probe", ("%s", %d))
try:
    while True:
        data, peer = raw.recvfrom(2048)
        if data[0] < 128:
            print("%%d/%%d" %% (data[0], data[1]))
            break
except socket.timeout:
    print("nothing")
"""


# Prints "NA <target> <destination> S=<s> O=<o>" for each Neighbor
# Advertisement the namespace receives (hop limit 255 only, RFC 4861 7.1.2).
NA_MONITOR = """
import ipaddress, socket
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
print("na-monitor: ready", flush=True)
while True:
    data, anc, _, _ = s.recvmsg(2048, 256)
    dst, hops = None, None
    for level, kind, val in anc:
        if kind == socket.IPV6_PKTINFO:
            dst = ipaddress.IPv6Address(val[:16])
        elif kind == socket.IPV6_HOPLIMIT:
            hops = int.from_bytes(val[:4], "little")
    if len(data) >= 24 and data[0] == 136 and hops == 255:
        print("NA %s %s S=%d O=%d" % (ipaddress.IPv6Address(data[8:24]), dst,
              data[4] >> 6 & 1, data[4] >> 5 & 1), flush=True)
"""
