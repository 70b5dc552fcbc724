# SPDX-License-Identifier: BSD-3-Clause
"""Object -> configuration: every mapping rule of issue 11 item 3, on the
kubectl-shaped fixtures of dts/k8s/fixtures, and the rendered files
through edgefwd --check."""

import pytest

from dts import config as dts_config
from dts.k8s import fixtures

import ek
from ek import mod, mapped, clone

ROLL = fixtures.load("rolling-update")
DUAL = fixtures.load("dual-stack")
NAMED = fixtures.load("named-port")
KINDS = fixtures.load("kinds")


def eps(d):
    return {e["address"]: e for e in d["endpoints"]}


def test_load_balancer_local_with_named_target_port_and_rollout():
    d, notes = mapped(ROLL, "shop/web")
    assert d["name"] == "shop/web" and d["type"] == "LoadBalancer"
    assert d["cluster_ip"] == "10.96.40.17"
    assert d["load_balancer_ips"] == ["203.0.113.40"]     # status.loadBalancer
    assert d["external_traffic_policy"] == "Local"
    assert d["health_check_node_port"] == 31456
    # targetPort "http" resolved from the slices' ports
    assert d["ports"] == [{"name": "http", "protocol": "TCP", "port": 80,
                           "node_port": 30917, "target_port": 8080}]
    e = eps(d)
    # both slices merged; conditions as the EndpointSlice says
    assert set(e) == {"10.244.1.21", "10.244.0.22", "10.244.0.31",
                      "10.244.1.32", "10.244.2.33", "10.244.2.34"}
    assert e["10.244.1.21"] == {"address": "10.244.1.21", "node": "node-b",
                                "ready": False, "serving": True,
                                "terminating": True}
    assert e["10.244.0.22"]["serving"] is False
    assert e["10.244.0.31"]["ready"] and not e["10.244.0.31"]["terminating"]
    assert not e["10.244.2.34"]["ready"] and not e["10.244.2.34"]["serving"]
    assert not notes


def test_dual_stack_renders_both_families():
    d, notes = mapped(DUAL, "dns/resolver")
    assert d["ip_families"] == ["IPv4", "IPv6"]
    assert d["cluster_ips"] == ["10.96.0.53", "fd00:10:96::35"]
    assert "cluster_ip" not in d
    assert d["external_ips"] == ["192.0.2.53", "2001:db8:53::53"]
    assert [e["address"] for e in d["endpoints"]] == ["10.244.0.53",
                                                       "fd00:10:244::35"]
    assert [(p["protocol"], p["port"], p["target_port"]) for p in d["ports"]] \
        == [("UDP", 53, 5353), ("TCP", 53, 5353)]
    assert "node_port" not in d["ports"][0]
    assert d["external_traffic_policy"] == "Cluster"
    svcs, slices, _ = ek.by_kind(DUAL)
    v6 = [s for s in slices["dns/resolver"] if s["addressType"] == "IPv6"]
    assert v6 and mod.slice_usable(v6[0])
    assert not notes


def test_named_port_resolving_differently_per_slice():
    d, notes = mapped(NAMED, "mon/exporter")
    # 9100 has two ready endpoints, 9102 one: 9100 rendered, the other
    # slice's endpoint left out and counted until the rollout converges
    assert d["ports"][0]["target_port"] == 9100
    assert set(eps(d)) == {"10.244.0.91", "10.244.1.91"}
    assert notes["endpoints_port_conflict"] == 1
    # once the new pods outnumber the old ones, the new number wins
    objs = clone(NAMED)
    objs[1]["endpoints"] = objs[1]["endpoints"][:1]
    objs[2]["endpoints"].append(fixtures.endpoint("10.244.2.93", "node-c"))
    objs[2]["endpoints"].append(fixtures.endpoint("10.244.2.94", "node-c"))
    d, notes = mapped(objs, "mon/exporter")
    assert d["ports"][0]["target_port"] == 9102
    assert set(eps(d)) == {"10.244.2.92", "10.244.2.93", "10.244.2.94"}


def test_internal_policy_and_session_affinity():
    d, _ = mapped(NAMED, "mon/exporter")
    assert d["internal_traffic_policy"] == "Local"
    assert d["session_affinity"] == "ClientIP"
    assert d["session_affinity_timeout"] == 600
    objs = clone(NAMED)
    del objs[0]["spec"]["sessionAffinityConfig"]
    d, _ = mapped(objs, "mon/exporter")
    assert d["session_affinity_timeout"] == 10800       # the API's default
    d, _ = mapped(ROLL, "shop/web")
    assert d["session_affinity"] == "None"
    assert "session_affinity_timeout" not in d


@pytest.mark.parametrize("key,why", [
    ("shop/db", "headless"), ("shop/upstream", "ExternalName"),
    ("shop/mesh", "service-proxy-name label")])
def test_skipped_services(key, why):
    d, notes = mapped(KINDS, key)
    assert d is None and notes["skip"] == why


def test_node_port_local_sctp_missing_node_and_nil_conditions():
    d, notes = mapped(KINDS, "edge/ingress")
    assert d["type"] == "NodePort"
    assert d["health_check_node_port"] == 31999
    assert d["ports"] == [{"name": "http", "protocol": "TCP", "port": 80,
                           "node_port": 30088, "target_port": 8080}]
    assert notes["sctp_ports_skipped"] == 1
    e = eps(d)
    # conditions {}: unknown readiness is ready (the API's rule)
    assert e["10.244.9.8"]["ready"] and e["10.244.9.8"]["serving"]
    assert e["10.244.9.8"]["node"] == mod.UNKNOWN_NODE
    # a slice without kubernetes.io/service-name is nobody's
    assert "10.244.0.99" not in e


def test_health_check_node_port_only_with_local():
    objs = clone(ROLL)
    objs[0]["spec"]["externalTrafficPolicy"] = "Cluster"
    d, _ = mapped(objs, "shop/web")
    assert "health_check_node_port" not in d
    assert d["external_traffic_policy"] == "Cluster"


def test_cluster_ip_type_ignores_external_policy_and_lb_status():
    objs = clone(ROLL)
    s = objs[0]
    s["spec"]["type"] = "ClusterIP"
    d, _ = mapped(objs, "shop/web")
    assert d["external_traffic_policy"] == "Cluster"
    assert d["load_balancer_ips"] == []
    assert "node_port" not in d["ports"][0]
    assert "health_check_node_port" not in d


def test_ingress_hostname_and_ipv6_ignored():
    objs = clone(ROLL)
    objs[0]["status"]["loadBalancer"]["ingress"] = [
        {"hostname": "lb.example.com"}, {"ip": "2001:db8::1"},
        {"ip": "203.0.113.41"}, {"ip": "203.0.113.41"}]
    d, _ = mapped(objs, "shop/web")
    assert d["load_balancer_ips"] == ["203.0.113.41"]


def test_terminating_never_ready_and_duplicates_merged():
    objs = clone(ROLL)
    # a non-conforming object: ready and terminating
    objs[1]["endpoints"][0]["conditions"] = {"ready": True,
                                             "terminating": True}
    # the same address in both slices: the ready copy wins
    dup = clone(objs[2]["endpoints"][0])
    dup["conditions"] = {"ready": False, "serving": False,
                         "terminating": True}
    objs[1]["endpoints"].append(dup)
    d, _ = mapped(objs, "shop/web")
    e = eps(d)
    assert e["10.244.1.21"]["ready"] is False
    assert e["10.244.1.21"]["terminating"] is True
    assert e["10.244.0.31"]["ready"] is True
    assert len(d["endpoints"]) == 6


def test_multi_slice_service_of_1500_endpoints():
    objs = fixtures.big_service(1500)
    assert len(objs) == 16                               # 15 slices of 100
    d, notes = mapped(objs, "batch/workers")
    assert len(d["endpoints"]) == 1500
    assert d["ports"][0]["target_port"] == 9000
    assert not notes


def test_headless_slice_label_ignored():
    objs = clone(ROLL)
    objs[2]["metadata"]["labels"][mod.HEADLESS_LABEL] = ""
    svcs, slices, _ = ek.by_kind(objs)
    assert [mod.slice_usable(s) for s in slices["shop/web"]] == [True, False]


def test_edge_mode():
    objs = clone(ROLL) + clone(KINDS) + clone(DUAL)
    d, _ = mapped(objs, "shop/web", edge=True)
    assert d["mode"] == "edge"
    assert "cluster_ip" not in d
    assert "node_port" not in d["ports"][0]
    assert d["load_balancer_ips"] == ["203.0.113.40"]
    assert d["health_check_node_port"] == 31456
    # per-node weights follow from the endpoints' nodeName
    assert {e["node"] for e in d["endpoints"] if e["ready"]} == \
        {"node-a", "node-b", "node-c"}
    # only LoadBalancer services of our class are edge services
    d, notes = mapped(objs, "dns/resolver", edge=True)
    assert d is None
    d, notes = mapped(objs, "shop/web", edge=True, lb_class="example.com/lb")
    assert d is None
    objs[0]["spec"]["loadBalancerClass"] = "example.com/lb"
    d, notes = mapped(objs, "shop/web", edge=True, lb_class="example.com/lb")
    assert d is not None
    _, _, nodes = ek.by_kind(objs)
    # Node InternalIP (IPv4); excluded nodes left out
    assert mod.map_nodes(nodes) == [
        {"name": "node-a", "address": "10.0.0.1"},
        {"name": "node-b", "address": "10.0.0.2"}]


def test_frontend_conflict_older_keeps_it():
    a = fixtures.service("x", "a", "10.96.1.1", [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}],
        externalIPs=["192.0.2.9"], ts="2026-01-01T00:00:00Z")
    b = fixtures.service("x", "b", "10.96.1.2", [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}],
        externalIPs=["192.0.2.9", "192.0.2.10"], ts="2026-02-01T00:00:00Z")
    r = mod.Renderer()
    text, msgs = r.render(ek.base_text(), {"x/b": b, "x/a": a}, {}, [])
    assert len(msgs) == 1 and "x/b" in msgs[0] and "x/a" in msgs[0]
    assert r.notes["frontend_conflicts"] == 1
    assert 'external_ips = [ "192.0.2.10" ]' in text
    assert 'external_ips = [ "192.0.2.9" ]' in text


def test_libconfig_values_as_dts_config():
    """The program's libconfig writer is dts/config.py's mapping."""
    v = {"a": 1, "b": [1, 2], "c": "x\"y", "d": [{"e": True}], "f": {}}
    for k, x in v.items():
        assert mod.lc_value(x) == dts_config._value(x, 0)


def all_objects():
    return (clone(ROLL) + clone(DUAL) + clone(NAMED) + clone(KINDS)
            + fixtures.big_service(1500))


def test_rendered_file_passes_edgefwd_check(tmp_path):
    svcs, slices, nodes = ek.by_kind(all_objects())
    r = mod.Renderer()
    text, msgs = r.render(ek.base_text(), svcs, slices, nodes)
    assert not msgs
    assert r.notes["services_rendered"] == 5
    assert r.notes["services_skipped"] == 3
    assert "ipv6_slices_skipped" not in r.notes     # dns/resolver's is used
    out = tmp_path / "edgefwd.conf"
    out.write_text(text)
    res = ek.check(out)
    if res is None:
        pytest.skip("edgefwd not built (ninja -C build)")
    ok, output = res
    assert ok, output
    assert "5 services" in output and "1512 endpoints" in output


def test_edge_rendering_shape():
    """The shape of CONFIG.md's second-wave keys in an edge file (the
    file through edgefwd --check: test_edge_file_passes_edgefwd_check and
    test_edge_endpoints_off_the_listed_nodes_left_out)."""
    svcs, slices, nodes = ek.by_kind(all_objects())
    r = mod.Renderer(edge=True)
    text, _ = r.render(ek.base_text(), svcs, slices, nodes)
    assert r.notes["services_rendered"] == 1
    assert 'nodes = (\n  { name = "node-a"; address = "10.0.0.1"; },\n' \
        '  { name = "node-b"; address = "10.0.0.2"; }\n);' in text
    assert 'mode = "edge";' in text
    assert "cluster_ip" not in text.split("rendered by")[1]


def test_edge_endpoints_off_the_listed_nodes_left_out(tmp_path):
    """Edge mode: an endpoint on a node `nodes` does not list (labelled
    exclude-from-external-load-balancers, or no nodeName) gets no traffic
    and is left out, counted; edgefwd --check would refuse the file
    otherwise ("matches no entry of nodes"), holding the service back.
    When the node set changes, the services are mapped again."""
    nodes = [o for o in clone(KINDS) if o["kind"] == "Node"]
    svc = fixtures.service("edge", "web", "10.96.70.1", [
        {"name": "http", "port": 80, "protocol": "TCP",
         "targetPort": 8080}], typ="LoadBalancer",
        lb_ips=["198.51.100.70"])
    sl = fixtures.endpoint_slice("edge", "web", "web-abcde", [
        fixtures.endpoint("10.244.0.70", "node-a", ns="edge"),
        fixtures.endpoint("10.244.2.70", "node-c", ns="edge"),
        fixtures.endpoint("10.244.9.70", None, ns="edge")],
        [{"name": "http", "port": 8080, "protocol": "TCP"}])
    svcs, slices, _ = ek.by_kind([svc, sl])
    r = mod.Renderer(edge=True)
    text, msgs = r.render(ek.base_text(), svcs, slices, nodes)
    assert not msgs
    assert r.notes["endpoints_off_nodes"] == 2
    rendered = text.split("rendered by")[1]
    assert "10.244.0.70" in rendered
    assert "10.244.2.70" not in rendered and "10.244.9.70" not in rendered
    out = tmp_path / "edge.conf"
    out.write_text(text)
    res = ek.check(out)
    if res is None:
        pytest.skip("edgefwd not built (ninja -C build)")
    assert res[0], res[1]
    # node-c no longer excluded: listed, and its endpoint comes back
    for n in nodes:
        n["metadata"]["labels"].pop(
            "node.kubernetes.io/exclude-from-external-load-balancers", None)
    text, msgs = r.render(ek.base_text(), svcs, slices, nodes)
    assert not msgs
    assert r.notes["endpoints_off_nodes"] == 1
    assert "10.244.2.70" in text.split("rendered by")[1]
    out.write_text(text)
    ok, output = ek.check(out)
    assert ok, output


def test_cache_and_quarantine():
    svcs, slices, nodes = ek.by_kind(all_objects())
    r = mod.Renderer()
    t1, _ = r.render("", svcs, slices, nodes)
    t2, _ = r.render("", svcs, slices, nodes)
    assert t1 == t2
    # an error line inside shop/web's block holds shop/web back
    first, last, key, _, _ = [x for x in r.lines if x[2] == "shop/web"][0]
    err = "/x/out.conf:%d: services[3].ports[0].node_port: bad" % (first + 2)
    assert r.quarantine_lines(err, "/x/out.conf") == ["shop/web"]
    t3, _ = r.render("", svcs, slices, nodes)
    assert 'name = "shop/web"' not in t3
    assert r.notes["services_quarantined"] == 1
    # until it changes
    svcs["shop/web"] = clone(svcs["shop/web"])
    svcs["shop/web"]["metadata"]["resourceVersion"] = "999999"
    t4, _ = r.render("", svcs, slices, nodes)
    assert 'name = "shop/web"' in t4


def test_base_must_not_define_rendered_keys():
    with pytest.raises(ValueError):
        mod.check_base("node = { name = \"a\"; };\nservices = ( );\n", "b")
    mod.check_base(ek.base_text(), "b")


def test_quarantine_holds_the_change_not_what_ran():
    """A duplicate frontend names both claims: the service that changed
    since the accepted file is held back, the running one stays."""
    a = fixtures.service("x", "a", "10.96.1.1", [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}],
        ts="2026-01-01T00:00:00Z")
    a["metadata"]["resourceVersion"] = "1"
    b = fixtures.service("x", "b", "10.96.1.2", [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}],
        ts="2026-02-01T00:00:00Z")
    b["metadata"]["resourceVersion"] = "2"
    r = mod.Renderer()
    r.render("", {"x/a": a}, {}, [])
    r.accepted()
    r.render("", {"x/a": a, "x/b": b}, {}, [])
    la = [x for x in r.lines if x[2] == "x/a"][0][0]
    lb = [x for x in r.lines if x[2] == "x/b"][0][0]
    # edgefwd reports the second claim, naming the first
    err = ("/etc/e.conf:%d: services[1].ports[0]: duplicate frontend ..., "
           "already claimed at line %d (...)" % (la + 3, lb + 3))
    assert r.quarantine_lines(err, "/etc/e.conf") == ["x/b"]
    # with nothing accepted yet: the youngest
    r2 = mod.Renderer()
    r2.render("", {"x/a": a, "x/b": b}, {}, [])
    assert r2.quarantine_lines(err, "/etc/e.conf") == ["x/b"]


def test_incremental_render_equals_a_fresh_one():
    """A renderer that takes the last render's texts over (one service
    changed, claims the same) writes what a fresh renderer writes from
    the same objects, whatever the change: readiness, a claim taken from
    an older service or given back, an age, a service added or removed."""
    import random
    rnd = random.Random(11)
    objs = fixtures.cluster(40, 3)
    for i, o in enumerate(objs):
        o["metadata"]["resourceVersion"] = str(i + 1)
    svcs, slices, nodes = ek.by_kind(objs)
    rv = [1000]

    def bump(o):
        o = clone(o)
        rv[0] += 1
        o["metadata"]["resourceVersion"] = str(rv[0])
        return o

    r = mod.Renderer()
    fast = 0
    for step in range(300):
        keys = sorted(svcs)
        k = rnd.choice(keys)
        what = rnd.randrange(10)
        if what < 5 and slices.get(k):
            sl = bump(slices[k][0])
            c = sl["endpoints"][rnd.randrange(3)]["conditions"]
            c["ready"] = c["serving"] = not c["ready"]
            slices[k] = [sl]
        elif what == 5:
            # take (or give back) another service's load-balancer address
            other = svcs[rnd.choice(keys)]
            s = bump(svcs[k])
            s["spec"]["externalIPs"] = [] if s["spec"].get("externalIPs") \
                else [other["status"]["loadBalancer"]["ingress"][0]["ip"]]
            svcs[k] = s
        elif what == 6:
            s = bump(svcs[k])
            s["metadata"]["creationTimestamp"] = \
                "2026-%02d-01T00:00:00Z" % rnd.randrange(1, 13)
            svcs[k] = s
        elif what == 7 and len(svcs) > 30:
            del svcs[k]
            slices.pop(k, None)
        elif what == 8:
            n = "ns9/new-%d" % step
            s = bump(svcs[k])
            s["metadata"]["name"] = n.split("/")[1]
            s["metadata"]["namespace"] = "ns9"
            s["spec"]["clusterIP"] = "10.99.%d.%d" % (step // 200, step % 200)
            s["spec"]["clusterIPs"] = [s["spec"]["clusterIP"]]
            s["status"]["loadBalancer"]["ingress"] = [
                {"ip": "198.18.%d.%d" % (step // 200, step % 200)}]
            svcs[n] = s
        # else: nothing changed at all
        before = getattr(r, "_last", None)
        text, msgs = r.render("", dict(svcs), dict(slices), nodes)
        fast += before is not None and getattr(r, "_last", None) is not None \
            and r._last[0] is not before[0]
        r.accepted()
        want, want_msgs = mod.Renderer().render("", dict(svcs), dict(slices),
                                                nodes)
        assert text == want, "step %d (%d)" % (step, what)
        assert msgs == want_msgs
    # the shortcut was taken, and so was the full path
    assert 30 < fast < 250
