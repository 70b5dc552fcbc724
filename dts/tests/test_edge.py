# SPDX-License-Identifier: BSD-3-Clause
"""The edge director end to end (issue 10): an edge edgefwd in front of two
Linux nodes as kube-proxy leaves them (node-1: 1 pod, node-2: 3 pods),
forwarding = "l2", clients behind a router, replies straight from the nodes
(direct server return). dts/edge_topo.py builds the topology; its own suite
(test_edge_topo.py) checks it without edgefwd."""

import time

import pytest

from dts import edge_topo
from dts.edge_topo import (EDGE_EXT_ADDR, EDGE_INT_ADDR, NODES, PODS,
                           ROUTER_EDGE_ADDR, SERVICE, VIP)

VIP_URL = "http://%s/" % VIP
N_CLIENTS = 64
N_CONNS = 2048
INTERVAL_MS = 200


def client_sources():
    return ["198.51.100.%d" % (10 + i) for i in range(N_CLIENTS)]


def edge_config(weights="endpoints", forwarding="l2"):
    return {
        "node": {"name": "edge-1"},
        "interfaces": [
            {"port": "net_tap0", "address": EDGE_EXT_ADDR + "/24",
             "gateway": ROUTER_EDGE_ADDR},
            {"port": "net_tap1", "address": EDGE_INT_ADDR + "/24"},
        ],
        "conntrack": {"max_flows": 65536},
        "nodes": [{"name": k, "address": v["addr"]}
                  for k, v in NODES.items()],
        "edge": {"forwarding": forwarding, "weights": weights,
                 "interval_ms": INTERVAL_MS, "timeout_ms": 100,
                 "rise": 1, "fall": 2, "flow_timeout": 60},
        "services": [{
            "name": SERVICE,
            "type": "LoadBalancer",
            "mode": "edge",
            "load_balancer_ips": [VIP],
            "external_traffic_policy": "Local",
            "health_check_node_port": edge_topo.HEALTH_CHECK_NODE_PORT,
            "ports": [{"name": "http", "protocol": "TCP", "port": 80,
                       "target_port": edge_topo.TARGET_PORT}],
            "endpoints": [{"address": addr, "node": node, "ready": True}
                          for pod, (role, addr, node) in
                          sorted(PODS.items())],
        }],
    }


def wait_for(pred, deadline_s, what):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture(scope="module")
def edge(request, run_prefix):
    t = edge_topo.EdgeTopology(run_prefix + "g")
    request.addfinalizer(t.down)
    t.up()
    for a in client_sources():
        t.ip("cl", "addr", "add", a + "/24", "dev", "eth0")
    t.conf = t.write_config("edge.conf", edge_config())
    t.start_edgefwd(t.conf)
    return t


def stats(t):
    return t.dataplane.telemetry("/edgefwd/stats")


def reload_with(t, **kw):
    t.write_config("edge.conf", edge_config(**kw))
    r = t.dataplane.telemetry("/edgefwd/reload")
    assert r["ok"], r


def shares(t):
    rs = t.client("cl", "get", VIP_URL, "--count", str(N_CONNS),
                  "--sources", ",".join(client_sources()), timeout=600)
    assert all(r["ok"] and r["status"] == 200 for r in rs), \
        [r for r in rs if not r["ok"]][:3]
    # every pod saw the true client address
    assert all(r["body"]["client"] == r["source"] for r in rs)
    assert len({r["source"] for r in rs}) >= N_CLIENTS
    count = {p: 0 for p in PODS}
    for r in rs:
        count[r["body"]["pod"]] += 1
    return {p: n / len(rs) for p, n in count.items()}


def print_table(title, share):
    print("\n%s" % title)
    print("%-8s %-7s %s" % ("pod", "node", "share"))
    for p in sorted(share):
        print("%-8s %-7s %5.1f%%" % (p, PODS[p][2], 100 * share[p]))


def test_endpoints_weights_give_every_pod_its_share(edge):
    before = stats(edge)
    share = shares(edge)
    print_table("weights = \"endpoints\"", share)
    for p, s in share.items():
        assert abs(s - 0.25) <= 0.025, (p, s)
    after = stats(edge)
    assert after["encap_packets"] - before["encap_packets"] >= N_CONNS * 3


def test_equal_weights_show_the_imbalance(edge):
    reload_with(edge, weights="equal")
    try:
        share = shares(edge)
        print_table("weights = \"equal\"", share)
        assert share["pod-1a"] >= 1.5 * 0.25, share
    finally:
        reload_with(edge, weights="endpoints")


def test_edge_sent_no_reply_toward_the_client(edge):
    """Direct server return: the router's leg toward the edge receives
    nothing from the edge while 50 exchanges run (ARP at most)."""
    rx = edge.link_stats("rt", "etap0")["rx"]["packets"]
    rs = edge.client("cl", "get", VIP_URL, "--count", "50",
                     "--sources", ",".join(client_sources()))
    assert all(r["ok"] for r in rs)
    assert edge.link_stats("rt", "etap0")["rx"]["packets"] - rx <= 2


def test_503_drains_within_two_intervals_download_completes(edge):
    node = "node-1"
    t0 = time.monotonic()
    edge.set_node_health(node, endpoints=0)
    try:
        def drained():
            v = edge.dataplane.telemetry("/edgefwd/service," + SERVICE)
            for n in v["nodes"].values():
                if n["name"] == node and n["draining"]:
                    return True
            return False
        wait_for(drained, 5, "node-1 draining")
        took = time.monotonic() - t0
        print("\ndrain: node-1 weight 0 after %.0f ms (interval %d ms)"
              % (took * 1000, INTERVAL_MS))
        assert took <= 2 * INTERVAL_MS / 1000 + 0.3
        rs = edge.client("cl", "get", VIP_URL, "--count", "200",
                         "--sources", ",".join(client_sources()))
        assert all(r["ok"] for r in rs)
        assert not {r["body"]["pod"] for r in rs} & set(NODES[node]["pods"])
    finally:
        edge.set_node_health(node)
    wait_for(lambda: all(not n["draining"] for n in edge.dataplane.telemetry(
        "/edgefwd/service," + SERVICE)["nodes"].values()), 5, "undrained")


def test_nodes_telemetry(edge):
    v = edge.dataplane.telemetry("/edgefwd/nodes")
    nodes = {n["name"]: n for n in v["nodes"].values()}
    assert set(nodes) == set(NODES)
    assert nodes["node-2"]["weights"][SERVICE] == 3
    assert nodes["node-1"]["weights"][SERVICE] == 1
    assert all(n["healthy"] == 1 for n in nodes.values())
