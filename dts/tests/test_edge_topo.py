# SPDX-License-Identifier: BSD-3-Clause
"""The edge topology (dts/edge_topo.py) on its own, without an edge
edgefwd: the Linux nodes' kube-proxy-shaped DNAT, their health servers,
direct server return through the router, the clean-up. When these pass and
an edge suite fails, the fault is in the director, not in the topology."""

import json
import os

import pytest

from dts import config, edge_topo, topo
from dts.edge_topo import (CLIENT_ADDR, CLIENT_ADDR6, NODES, NODES6, PODS,
                           PODS6, ROUTER_FABRIC_ADDR, ROUTER_FABRIC_ADDR6,
                           TEST_ADDR, VIP, VIP6)
from dts.tests.test_ipv6 import url

VIP_URL = "http://%s/" % VIP


@pytest.fixture(scope="module")
def linux_topo(request, run_prefix):
    """Linux nodes; the kernel in the edge's place, weights 1 and 3."""
    t = edge_topo.EdgeTopology(run_prefix + "e")
    request.addfinalizer(t.down)
    t.up()
    t.start_kernel_edge(weights=(1, 3))
    return t


def node_pods(node):
    return set(NODES[node]["pods"])


def test_ruleset_has_kube_proxy_shape(linux_topo):
    text = edge_topo.kube_proxy_ruleset("node-2")
    assert "numgen random mod 3 vmap" in text
    assert ("add element ip kube-proxy service-ips { %s . tcp . 80 : goto "
            "external-" % VIP) in text
    cp = linux_topo.exec("n2", ["nft", "-j", "list", "table", "ip",
                                "kube-proxy"])
    chains = [o["chain"]["name"] for o in json.loads(cp.stdout)["nftables"]
              if "chain" in o]
    assert sum(c.startswith("endpoint-") for c in chains) == 3
    assert sum(c.startswith("external-") for c in chains) == 1
    assert {"services", "nat-prerouting", "mark-for-masquerade",
            "masquerading"} <= set(chains)


@pytest.mark.parametrize("node,count", [("node-1", 6), ("node-2", 40)])
def test_pods_answer_through_node_dnat(linux_topo, node, count):
    """A host on the fabric sends to the VIP with the node as next hop
    (what an l2 director does): the node's DNAT picks one of its pods."""
    linux_topo.ip("tst", "route", "add", VIP + "/32", "via",
                  NODES[node]["addr"])
    try:
        rs = linux_topo.client("tst", "get", VIP_URL, "--count", str(count))
    finally:
        linux_topo.ip("tst", "route", "del", VIP + "/32")
    assert all(r["ok"] and r["status"] == 200 for r in rs), rs
    seen = {r["body"]["pod"] for r in rs}
    # numgen random mod 3 over 40 connections: missing a pod has
    # probability 3 * (2/3)^40, below 1e-6
    assert seen == node_pods(node)
    assert {r["body"]["client"] for r in rs} == {TEST_ADDR}


def http_get(t, url):
    [r] = t.client("tst", "get", url)
    assert r["ok"], r
    return r


@pytest.mark.parametrize("node", list(NODES))
def test_health_check_node_port(linux_topo, node):
    n = NODES[node]
    url = "http://%s:%d/" % (n["addr"], edge_topo.HEALTH_CHECK_NODE_PORT)
    healthz = "http://%s:%d/healthz" % (n["addr"],
                                         edge_topo.PROXY_HEALTH_PORT)
    pods = len(n["pods"])
    try:
        r = http_get(linux_topo, url)
        assert r["status"] == 200
        assert r["headers"]["Content-Type"] == "application/json"
        assert r["headers"]["X-Load-Balancing-Endpoint-Weight"] == str(pods)
        assert r["body"] == {"service": {"namespace": "edge", "name": "web"},
                             "localEndpoints": pods,
                             "serviceProxyHealthy": True}
        r = http_get(linux_topo, healthz)
        assert r["status"] == 200
        assert set(r["body"]) == {"lastUpdated", "currentTime"}

        # endpoints gone: 503 with weight 0, kube-proxy itself still fine
        linux_topo.set_node_health(node, endpoints=0)
        r = http_get(linux_topo, url)
        assert r["status"] == 503
        assert r["headers"]["X-Load-Balancing-Endpoint-Weight"] == "0"
        assert r["body"]["localEndpoints"] == 0
        assert http_get(linux_topo, healthz)["status"] == 200

        # kube-proxy unhealthy: both say 503
        linux_topo.set_node_health(node, proxy_healthy=False)
        r = http_get(linux_topo, url)
        assert r["status"] == 503
        assert r["body"]["serviceProxyHealthy"] is False
        assert http_get(linux_topo, healthz)["status"] == 503
        assert http_get(linux_topo, healthz.replace("healthz", "nope")
                        )["status"] == 404
    finally:
        linux_topo.set_node_health(node)
    assert http_get(linux_topo, url)["status"] == 200


def test_linux_nodes_run_no_edgefwd(linux_topo):
    with pytest.raises(RuntimeError):
        linux_topo.start_node_edgefwd("node-1", "unused.conf")


def test_node_replies_route_via_router(linux_topo):
    for node, n in NODES.items():
        cp = linux_topo.ip(n["role"], "-j", "route", "get", CLIENT_ADDR)
        [route] = json.loads(cp.stdout)
        assert route["gateway"] == ROUTER_FABRIC_ADDR, (node, route)
        assert route["dev"] == "eth0"


def test_client_reaches_pods_with_direct_return(linux_topo):
    """client -> router -> (kernel) edge -> node DNAT -> pod, and every
    reply straight from the node to the router: the edge receives none
    and sends nothing toward the client."""
    rfab = linux_topo.link_stats("rt", "rfab")["rx"]["packets"]
    rs = linux_topo.client("cl", "get", VIP_URL, "--count", "60")
    assert all(r["ok"] and r["status"] == 200 for r in rs), rs
    # every pod saw the true client address
    assert {r["body"]["client"] for r in rs} == {CLIENT_ADDR}
    seen = {r["body"]["pod"] for r in rs}
    assert seen <= set(PODS)
    # the multipath route used both nodes (weights 1 and 3 over 60 flows:
    # node-1 is missed with probability 0.75^60, about 3e-8)
    assert seen & node_pods("node-1") and seen & node_pods("node-2")
    # each exchange is >= 3 reply packets (SYN-ACK, data, FIN)
    assert linux_topo.link_stats("rt", "rfab")["rx"]["packets"] - rfab \
        >= 3 * len(rs)
    # no reply reached the edge, nothing left it toward the client
    assert linux_topo.kernel_edge_replies() == 0
    assert linux_topo.kernel_edge_replies("toward_client") == 0


def test_edge_reply_counter_counts(linux_topo):
    """The check above can fail: a VIP-sourced packet sent to the edge is
    counted."""
    before = linux_topo.kernel_edge_replies()
    linux_topo.ip("tst", "addr", "add", VIP + "/32", "dev", "lo")
    try:
        linux_topo.exec("tst", ["ping", "-n", "-q", "-c", "2", "-i", "0.2",
                                "-W", "1", "-I", VIP, edge_topo.EDGE_INT_ADDR],
                        check=False)
    finally:
        linux_topo.ip("tst", "addr", "del", VIP + "/32", "dev", "lo")
    assert linux_topo.kernel_edge_replies() - before == 2
    # and so is what the edge sends toward the client (its answers to a
    # ping from the client)
    before = linux_topo.kernel_edge_replies("toward_client")
    linux_topo.exec("cl", ["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W",
                           "1", edge_topo.EDGE_EXT_ADDR], check=False)
    assert linux_topo.kernel_edge_replies("toward_client") - before == 2


def test_proxy_node_config_renders():
    cfg = edge_topo.node_proxy_config("node-2")
    text = config.render(cfg)
    assert 'name = "node-2";' in text
    assert 'sources = [ "%s" ];' % edge_topo.FABRIC_NET in text
    assert cfg["interfaces"][0]["gateway"] == ROUTER_FABRIC_ADDR
    assert {e["address"] for e in cfg["services"][0]["endpoints"]} == \
        {addr for _, addr, _ in PODS.values()}
    assert [n["name"] for n in cfg["nodes"]] == ["node-1", "node-2"]
    first_wave = edge_topo.node_proxy_config("node-1", decap_sources=(),
                                             with_nodes=False)
    assert "decap" not in first_wave and "nodes" not in first_wave


def test_dual_stack_configs_render():
    """ipv6=True: the node's interfaces and the service dual-stack, every
    pod an endpoint of each family; node addresses and decap sources
    IPv4; the edge's external interface dual-stack, its fabric leg not."""
    cfg = edge_topo.node_proxy_config("node-2", ipv6=True)
    fab, pods = cfg["interfaces"]
    assert fab["addresses"] == ["10.1.0.12/24", "fd00:10:1::12/64"]
    assert fab["gateways"] == [ROUTER_FABRIC_ADDR, ROUTER_FABRIC_ADDR6]
    assert pods["addresses"] == ["10.244.2.1/24", "fd00:244:2::1/64"]
    assert "address" not in fab and "gateway" not in fab
    svc = cfg["services"][0]
    assert svc["ip_families"] == ["IPv4", "IPv6"]
    assert svc["load_balancer_ips"] == [VIP, VIP6]
    assert {e["address"] for e in svc["endpoints"]} == \
        {a for _, a, _ in PODS.values()} | set(PODS6.values())
    assert [e["node"] for e in svc["endpoints"]].count("node-2") == 6
    assert cfg["decap"]["sources"] == [edge_topo.FABRIC_NET]
    assert [n["address"] for n in cfg["nodes"]] == ["10.1.0.11", "10.1.0.12"]
    edge = edge_topo.edge_config(forwarding="ipip", ipv6=True)
    ext, fabric = edge["interfaces"]
    assert ext["addresses"][1] == edge_topo.EDGE_EXT_ADDR6 + "/64"
    assert ext["gateways"][1] == edge_topo.ROUTER_EDGE_ADDR6
    # the fabric leg dual-stack too (a reload may move the nodes to IPv6)
    assert fabric["addresses"] == [edge_topo.EDGE_INT_ADDR + "/24",
                                   edge_topo.EDGE_INT_ADDR6 + "/64"]
    assert [n["address"] for n in edge["nodes"]] == ["10.1.0.11",
                                                     "10.1.0.12"]
    u6 = edge_topo.edge_config(forwarding="ipip", ipv6=True, underlay6=True)
    assert [n["address"] for n in u6["nodes"]] == [
        edge_topo.NODES6[n]["addr"] for n in ("node-1", "node-2")]
    svc = edge["services"][0]
    assert svc["mode"] == "edge" and svc["load_balancer_ips"] == [VIP, VIP6]
    assert len(svc["endpoints"]) == 2 * len(PODS)
    # without ipv6: what the IPv4 suites have always rendered
    assert "ip_families" not in edge_topo.node_proxy_config(
        "node-2")["services"][0]
    assert "addresses" not in edge_topo.edge_config()["interfaces"][0]


def test_edge_argv_uses_the_edge_taps():
    argv = [str(a) for a in edge_topo.edge_argv("x.conf", "p-w1")]
    vdevs = [a for a in argv if a.startswith("--vdev=")]
    assert vdevs == ["--vdev=net_tap0,iface=etap0",
                     "--vdev=net_tap1,iface=etap1"]
    assert argv[argv.index("--") + 1:][:2] == ["-c", "x.conf"]


def test_proxy_variant_builds_and_tears_down(run_prefix):
    """kind="edgefwd": the nodes' pods behind bridges that wait for the
    nodes' edgefwd TAPs; the pods answer on their bridge."""
    t = edge_topo.EdgeTopology(run_prefix + "v", kind="edgefwd")
    try:
        t.up()
        assert set(t.ns) >= {"n1p", "n2p"}
        rs = t.client(PODS["pod-2a"][0], "get", "http://%s:8080/" %
                      PODS["pod-2b"][1], "--count", "2")
        assert [r["body"]["pod"] for r in rs] == ["pod-2b"] * 2
        assert {r["body"]["client"] for r in rs} == {PODS["pod-2a"][1]}
    finally:
        t.down()
    assert t.leftovers() == []
    assert not os.path.exists(t.workdir)


EDGEFWD_BUILT = os.access(topo.EDGEFWD, os.X_OK)


@pytest.mark.skipif(not EDGEFWD_BUILT, reason="edgefwd not built")
@pytest.mark.parametrize("which", ["node-1", "node-2", "edge-ipip",
                                   "edge-gue"])
def test_dual_stack_configs_pass_check(tmp_path, which):
    """edgefwd --check accepts the dual-stack configurations the suites
    run: the nodes' (decap from the edge) and the edge's."""
    if which.startswith("node"):
        cfg = edge_topo.node_proxy_config(
            which, decap_sources=(edge_topo.EDGE_INT_ADDR + "/32",),
            ipv6=True)
    else:
        cfg = edge_topo.edge_config(forwarding=which[5:], ipv6=True)
    path = config.write(cfg, tmp_path / (which + ".conf"))
    cp = topo.run([topo.EDGEFWD, "--", "-c", path, "--check"], check=False)
    assert cp.returncode == 0, cp.stdout + cp.stderr


@pytest.mark.skipif(not EDGEFWD_BUILT, reason="edgefwd not built")
def test_proxy_variant_serves_dsr_with_edgefwd_nodes(run_prefix):
    """kind="edgefwd" end to end with what exists today: each node an
    edgefwd in proxy mode (Local service, no decap: the kernel edge
    forwards at L2, unencapsulated), the kernel in the edge's place. The
    pods see the client, the replies leave the nodes for the router."""
    t = edge_topo.EdgeTopology(run_prefix + "w", kind="edgefwd")
    try:
        t.up()
        for node in NODES:
            conf = t.write_config(node + ".conf", edge_topo.node_proxy_config(
                node, decap_sources=(), with_nodes=False))
            t.start_node_edgefwd(node, conf)
        t.start_kernel_edge(weights=(1, 3))
        rs = t.client("cl", "get", VIP_URL, "--count", "40")
        assert all(r["ok"] and r["status"] == 200 for r in rs), rs
        assert {r["body"]["client"] for r in rs} == {CLIENT_ADDR}
        seen = {r["body"]["pod"] for r in rs}
        assert seen & node_pods("node-1") and seen & node_pods("node-2")
        assert t.kernel_edge_replies() == 0
        assert t.kernel_edge_replies("toward_client") == 0
        for node, dp in t.node_dataplanes.items():
            assert dp.telemetry("/edgefwd/info")["node"] == node
        assert set(t.stop_dataplanes().values()) == {0}
    finally:
        t.down()
    assert t.leftovers() == []


@pytest.mark.skipif(not EDGEFWD_BUILT, reason="edgefwd not built")
def test_ipv6_variant_serves_clients_at_edgefwd_nodes(run_prefix):
    """kind="edgefwd", ipv6=True, no edge: the router sends VIP6 straight
    to one node's IPv6 fabric address (each node in turn), whose edgefwd
    serves it Local: its own pods answer, seeing the client's IPv6
    address, and the replies go back through the node's IPv6 gateway
    (the router's fabric leg). No static neighbour anywhere: the nodes
    resolve the router and their pods by Neighbor Discovery. IPv4 keeps
    working beside it."""
    t = edge_topo.EdgeTopology(run_prefix + "y", kind="edgefwd", ipv6=True)
    try:
        t.up()
        for node in NODES:
            conf = t.write_config(node + ".conf", edge_topo.node_proxy_config(
                node, decap_sources=(), with_nodes=False, ipv6=True))
            t.start_node_edgefwd(node, conf)
        for node, n6 in NODES6.items():
            assert t.ping("tst", n6["addr"]), node
            t.ip("rt", "-6", "route", "replace", VIP6 + "/128", "via",
                 n6["addr"])
            rfab = t.link_stats("rt", "rfab")["rx"]["packets"]
            rs = t.client("cl", "get", url(VIP6), "--count", "12")
            assert all(r["ok"] and r["status"] == 200 for r in rs), rs
            assert {r["body"]["pod"] for r in rs} <= node_pods(node), rs
            assert {r["body"]["client"] for r in rs} == {CLIENT_ADDR6}
            assert t.link_stats("rt", "rfab")["rx"]["packets"] - rfab \
                >= 3 * len(rs)
            dp = t.node_dataplanes[node]
            learned = {e["address"] for e in dp.telemetry(
                "/edgefwd/neighbors")["neighbors"].values()}
            assert ROUTER_FABRIC_ADDR6 in learned, (node, learned)
            assert learned & {PODS6[p] for p in node_pods(node)}, learned
        # IPv4 beside it, through node-2
        t.ip("rt", "route", "add", VIP + "/32", "via",
             NODES["node-2"]["addr"])
        rs = t.client("cl", "get", VIP_URL, "--count", "6")
        assert all(r["ok"] for r in rs), rs
        assert {r["body"]["client"] for r in rs} == {CLIENT_ADDR}
        assert set(t.stop_dataplanes().values()) == {0}
    finally:
        t.down()
    assert t.leftovers() == []


def test_teardown_leaves_nothing(run_prefix):
    t = edge_topo.EdgeTopology(run_prefix + "x")
    try:
        t.up()
        t.start_kernel_edge()
        # every namespace, every pod server and health server
        assert len(t.leftovers()) == len(t.roles) + len(PODS) + len(NODES)
    finally:
        t.down()
    assert t.leftovers() == []
    assert not os.path.exists(t.workdir)
    assert not (topo.STATE_DIR / (t.prefix + ".json")).exists()
