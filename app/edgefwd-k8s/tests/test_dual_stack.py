# SPDX-License-Identifier: BSD-3-Clause
"""IPv6 and dual-stack Services: the families of spec.ipFamilies rendered
(CONFIG.md "IPv6"), IPv6 EndpointSlices as IPv6 endpoints, the families a
service does not serve left out and counted, edge services in both
families (IPv4 node addresses), and the rendered files through edgefwd
--check, which refuses an address of a family a service does not list
and an IPv6 node address."""

import pytest

from dts.k8s import fixtures

import ek
from ek import mod, mapped, clone

ROLL = fixtures.load("rolling-update")
DUAL = fixtures.load("dual-stack")
KINDS = fixtures.load("kinds")
NS = "v6"

SLICE_PORTS = [{"name": "http", "port": 8080, "protocol": "TCP"}]
NUMERIC = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]


def http(node_port):
    return [{"name": "http", "port": 80, "protocol": "TCP",
             "targetPort": "http", "nodePort": node_port}]


def svc(name, families, cips, typ="LoadBalancer", ports=None, **kw):
    """A Service of families (spec.ipFamilies) with cluster IPs cips."""
    return fixtures.service(NS, name, cips[0], ports or http(30180), typ=typ,
                            clusterIPs=list(cips), ipFamilies=list(families),
                            ipFamilyPolicy="RequireDualStack"
                            if len(families) == 2 else "SingleStack", **kw)


def eps_slice(svc_name, name, family, endpoints, ports=None):
    sl = fixtures.endpoint_slice(NS, svc_name, name, endpoints,
                                 clone(ports or SLICE_PORTS))
    sl["addressType"] = family
    return sl


def ep(addr, node="node-a", **kw):
    return fixtures.endpoint(addr, node, ns=NS, **kw)


def addrs(d):
    return [e["address"] for e in d["endpoints"]]


def check(tmp_path, text, name="edgefwd.conf"):
    """edgefwd --check on text: (ok, output); skips when not built."""
    out = tmp_path / name
    out.write_text(text)
    res = ek.check(out)
    if res is None:
        pytest.skip("edgefwd not built (ninja -C build)")
    return res


def web6():
    """A dual-stack LoadBalancer (IPv4 primary), one slice per family."""
    return [svc("web", ["IPv4", "IPv6"], ["10.96.60.10", "fd00:96::60"],
                etp="Local", hcnp=32060,
                lb_ips=["198.51.100.60", "2001:db8:100::60"]),
            eps_slice("web", "web-4abcd", "IPv4",
                      [ep("10.244.0.60"), ep("10.244.1.60", "node-b")]),
            eps_slice("web", "web-6abcd", "IPv6",
                      [ep("fd00:244::60"), ep("fd00:244:1::60", "node-b")])]


def only6():
    """An IPv6-only LoadBalancer; the status also carries an IPv4
    address and a stale IPv4 slice is still there (a family removed)."""
    return [svc("only6", ["IPv6"], ["fd00:96::61"], ports=http(30181),
                lb_ips=["2001:db8:100::61", "198.51.100.61"],
                externalIPs=["192.0.2.61", "2001:db8:61::1"]),
            eps_slice("only6", "only6-6abcd", "IPv6", [ep("fd00:244::61")]),
            eps_slice("only6", "only6-4abcd", "IPv4", [ep("10.244.0.61")])]


def roll_slice6():
    """An IPv6 slice for shop/web (an IPv4-only service)."""
    v6 = clone(ROLL[1])
    v6["addressType"] = "IPv6"
    v6["metadata"]["name"] = "web-v6abc"
    for i, e in enumerate(v6["endpoints"]):
        e["addresses"] = ["fd00:244::%x" % (0x21 + i)]
    return v6


def test_dual_stack_load_balancer_renders_both_families():
    d, notes = mapped(web6(), "v6/web")
    assert d["ip_families"] == ["IPv4", "IPv6"]
    assert d["cluster_ips"] == ["10.96.60.10", "fd00:96::60"]
    assert "cluster_ip" not in d
    assert d["load_balancer_ips"] == ["198.51.100.60", "2001:db8:100::60"]
    assert d["health_check_node_port"] == 32060
    # one port list for both families, resolved from the slices
    assert d["ports"] == [{"name": "http", "protocol": "TCP", "port": 80,
                           "node_port": 30180, "target_port": 8080}]
    assert addrs(d) == ["10.244.0.60", "10.244.1.60", "fd00:244::60",
                        "fd00:244:1::60"]
    assert not notes
    text = mod.render_service_text(d)
    assert '    ip_families = [ "IPv4", "IPv6" ];\n' \
        '    cluster_ips = [ "10.96.60.10", "fd00:96::60" ];\n' \
        '    load_balancer_ips = [ "198.51.100.60", "2001:db8:100::60" ];\n' \
        in text
    assert '      { address = "fd00:244:1::60"; node = "node-b"; }' in text


def test_ipv6_primary_keeps_the_service_order():
    objs = clone(DUAL)
    spec = objs[0]["spec"]
    spec["ipFamilies"].reverse()
    spec["clusterIPs"].reverse()
    spec["clusterIP"] = spec["clusterIPs"][0]
    d, _ = mapped(objs, "dns/resolver")
    assert d["ip_families"] == ["IPv6", "IPv4"]
    assert d["cluster_ips"] == ["fd00:10:96::35", "10.96.0.53"]
    # endpoints: IPv4 first whatever the primary
    assert addrs(d) == ["10.244.0.53", "fd00:10:244::35"]


def test_ipv6_only_service():
    d, notes = mapped(only6(), "v6/only6")
    assert d["ip_families"] == ["IPv6"]
    assert d["cluster_ips"] == ["fd00:96::61"]
    assert d["load_balancer_ips"] == ["2001:db8:100::61"]
    assert d["external_ips"] == ["2001:db8:61::1"]
    assert addrs(d) == ["fd00:244::61"]
    assert notes == {"ipv4_slices_skipped": 1}
    assert "10.96.0" not in mod.render_service_text(d)


def test_families_from_cluster_ips_when_ip_families_unset():
    objs = only6()
    del objs[0]["spec"]["ipFamilies"]
    d, _ = mapped(objs, "v6/only6")
    assert d["ip_families"] == ["IPv6"] and addrs(d) == ["fd00:244::61"]


def test_ipv6_slice_of_ipv4_only_service_left_out_and_counted():
    """The file of an IPv4-only service is the same with or without an
    IPv6 slice (and an IPv6 address in its status)."""
    objs = clone(ROLL)
    want, _ = mapped(objs, "shop/web")
    want_text = mod.render_service_text(want)
    objs.append(roll_slice6())
    objs[0]["status"]["loadBalancer"]["ingress"].append(
        {"ip": "2001:db8:40::1"})
    d, notes = mapped(objs, "shop/web")
    assert d == want and mod.render_service_text(d) == want_text
    assert notes == {"ipv6_slices_skipped": 1}
    svcs, slices, nodes = ek.by_kind(objs)
    r = mod.Renderer()
    text, _ = r.render("", svcs, slices, nodes)
    assert "fd00" not in text and "2001:" not in text
    assert r.notes["ipv6_slices_skipped"] == 1


def test_ipv6_endpoint_conditions_merge_and_order():
    """The same ready / serving / terminating rules as IPv4, the merge of
    an address seen twice (spelt two ways: RFC 5952 makes it one), and
    IPv6 sorted by value, not as text."""
    objs = [svc("cond", ["IPv6"], ["fd00:96::62"], typ="ClusterIP"),
            eps_slice("cond", "cond-1", "IPv6", [
                ep("fd00::10"),
                ep("fd00::a", ready=False),
                ep("fd00::9", ready=False, serving=True, terminating=True),
                ep("fd00::b", ready=False, serving=False, terminating=True),
                # a non-conforming object: ready and terminating
                ep("fd00::c", ready=True, terminating=True),
                ep("FD00:0:0::d", ready=False, serving=False),
                # not IPv6 addresses: an IPv4 one, an IPv4-mapped one
                ep("10.244.0.62"), ep("::ffff:10.244.0.63")]),
            eps_slice("cond", "cond-2", "IPv6", [ep("fd00::d", "node-b")])]
    objs[1]["endpoints"].append({"addresses": ["fd00::e"], "conditions": {}})
    d, notes = mapped(objs, "v6/cond")
    e = {x["address"]: x for x in d["endpoints"]}
    assert addrs(d) == ["fd00::9", "fd00::a", "fd00::b", "fd00::c",
                        "fd00::d", "fd00::e", "fd00::10"]
    assert e["fd00::10"] == {"address": "fd00::10", "node": "node-a",
                             "ready": True, "serving": True,
                             "terminating": False}
    assert not e["fd00::a"]["ready"] and not e["fd00::a"]["serving"]
    assert e["fd00::9"] == {"address": "fd00::9", "node": "node-a",
                            "ready": False, "serving": True,
                            "terminating": True}
    assert not e["fd00::b"]["serving"] and e["fd00::b"]["terminating"]
    assert not e["fd00::c"]["ready"] and e["fd00::c"]["terminating"]
    # the ready copy (the second slice's) wins over the first's
    assert e["fd00::d"]["ready"] and e["fd00::d"]["node"] == "node-b"
    # conditions {} and no nodeName: ready, on no node of ours
    assert e["fd00::e"]["ready"] and e["fd00::e"]["serving"]
    assert e["fd00::e"]["node"] == mod.UNKNOWN_NODE
    assert not notes
    text = mod.render_service_text(d)
    assert '{ address = "fd00::9"; node = "node-a"; ready = false; ' \
        'serving = true; terminating = true; }' in text


def test_port_groups_span_both_families():
    """A rollout renumbering a named port in a dual-stack service: one
    target_port for both families, so one group for both; an IPv6 slice
    that resolves differently from everything else is left out."""
    old = [{"name": "http", "port": 9100, "protocol": "TCP"}]
    new = [{"name": "http", "port": 9102, "protocol": "TCP"}]
    objs = [svc("roll", ["IPv4", "IPv6"], ["10.96.60.20", "fd00:96::20"],
                typ="ClusterIP"),
            eps_slice("roll", "roll-a4", "IPv4",
                      [ep("10.244.0.20"), ep("10.244.0.21")], old),
            eps_slice("roll", "roll-a6", "IPv6",
                      [ep("fd00:244::20"), ep("fd00:244::21")], old),
            eps_slice("roll", "roll-b4", "IPv4", [ep("10.244.0.22")], new),
            eps_slice("roll", "roll-b6", "IPv6", [ep("fd00:244::22")], new)]
    d, notes = mapped(objs, "v6/roll")
    assert d["ports"][0]["target_port"] == 9100
    assert addrs(d) == ["10.244.0.20", "10.244.0.21", "fd00:244::20",
                        "fd00:244::21"]
    assert notes["endpoints_port_conflict"] == 2
    # the new pods outnumber the old ones in both families: 9102 for both
    objs[3]["endpoints"] += [ep("10.244.0.23"), ep("10.244.0.24")]
    objs[4]["endpoints"] += [ep("fd00:244::23"), ep("fd00:244::24")]
    d, notes = mapped(objs, "v6/roll")
    assert d["ports"][0]["target_port"] == 9102
    assert addrs(d) == ["10.244.0.22", "10.244.0.23", "10.244.0.24",
                        "fd00:244::22", "fd00:244::23", "fd00:244::24"]


def test_ipv6_frontend_conflict_older_keeps_it(tmp_path):
    """Claims compare addresses, not spellings; the younger service loses
    the contested IPv6 frontend only, and still lists both families."""
    a = svc("a", ["IPv4", "IPv6"], ["10.96.60.30", "fd00:96::30"],
            typ="ClusterIP", ports=NUMERIC, externalIPs=["2001:db8:30::1"],
            ts="2026-01-01T00:00:00Z")
    b = svc("b", ["IPv4", "IPv6"], ["10.96.60.31", "FD00:96:0::30"],
            typ="ClusterIP", ports=NUMERIC,
            externalIPs=["2001:DB8:30:0::1", "192.0.2.31"],
            ts="2026-02-01T00:00:00Z")
    r = mod.Renderer()
    text, msgs = r.render(ek.base_text(), {"v6/b": b, "v6/a": a}, {}, [])
    assert len(msgs) == 2 and all("v6/b" in m and "v6/a" in m for m in msgs)
    assert r.notes["frontend_conflicts"] == 2
    blk = text.split('name = "v6/b";')[1]
    assert 'cluster_ips = [ "10.96.60.31" ];' in blk
    assert 'ip_families = [ "IPv4", "IPv6" ];' in blk
    assert 'external_ips = [ "192.0.2.31" ];' in blk
    ok, output = check(tmp_path, text)
    assert ok, output


def test_edge_mode_renders_both_families():
    """An edge service is proxy mode's mapping of the same objects, both
    families, minus what an edge outside the cluster does not answer on
    (cluster IPs, node ports): IPv6 VIPs and IPv6 endpoints included,
    nothing counted as left out."""
    d, notes = mapped(web6(), "v6/web", edge=True)
    assert d["mode"] == "edge"
    assert d["ip_families"] == ["IPv4", "IPv6"]
    assert "cluster_ips" not in d and "cluster_ip" not in d
    assert d["load_balancer_ips"] == ["198.51.100.60", "2001:db8:100::60"]
    assert d["health_check_node_port"] == 32060
    assert d["ports"] == [{"name": "http", "protocol": "TCP", "port": 80,
                           "target_port": 8080}]
    assert addrs(d) == ["10.244.0.60", "10.244.1.60", "fd00:244::60",
                        "fd00:244:1::60"]
    assert [e["node"] for e in d["endpoints"]] == ["node-a", "node-b",
                                                   "node-a", "node-b"]
    assert not notes
    proxy, _ = mapped(web6(), "v6/web")
    del proxy["cluster_ips"]
    for p in proxy["ports"]:
        del p["node_port"]
    assert {k: v for k, v in d.items() if k != "mode"} == proxy
    text = mod.render_service_text(d)
    assert '    ip_families = [ "IPv4", "IPv6" ];\n' \
        '    load_balancer_ips = [ "198.51.100.60", "2001:db8:100::60" ];\n' \
        in text
    assert '      { address = "fd00:244:1::60"; node = "node-b"; }' in text
    # an IPv6-only service is an IPv6 edge service now, not skipped
    d, notes = mapped(only6(), "v6/only6", edge=True)
    assert d["mode"] == "edge" and d["ip_families"] == ["IPv6"]
    assert "cluster_ips" not in d
    assert d["load_balancer_ips"] == ["2001:db8:100::61"]
    assert d["external_ips"] == ["2001:db8:61::1"]
    assert addrs(d) == ["fd00:244::61"]
    assert notes == {"ipv4_slices_skipped": 1}
    # an IPv4-only service's edge file is what it always was
    d, notes = mapped(ROLL, "shop/web", edge=True)
    assert "ip_families" not in d and "cluster_ip" not in d


def dual_base_text():
    """conf/demo-dual.conf without its services: IPv6 on every link."""
    return (ek.REPO / "conf" / "demo-dual.conf").read_text() \
        .split("services = (")[0]


def cluster6():
    """Dual-stack, IPv6-only, IPv6-primary and IPv4-only services with
    slices of both families (one IPv6 slice on an IPv4-only service)."""
    objs = clone(DUAL) + web6() + only6() + clone(ROLL) + [roll_slice6()]
    prim6 = svc("prim6", ["IPv6", "IPv4"], ["fd00:96::63", "10.96.60.63"],
                typ="NodePort", ports=[{"name": "dns", "port": 53,
                                        "protocol": "UDP", "targetPort": 53,
                                        "nodePort": 30153}])
    objs += [prim6,
             eps_slice("prim6", "prim6-4", "IPv4", [ep("10.244.0.63")],
                       [{"name": "dns", "port": 53, "protocol": "UDP"}]),
             eps_slice("prim6", "prim6-6", "IPv6", [ep("fd00:244::63")],
                       [{"name": "dns", "port": 53, "protocol": "UDP"}])]
    return objs


@pytest.mark.parametrize("base", ["ipv4", "dual"])
def test_dual_stack_file_passes_edgefwd_check(tmp_path, base):
    """edgefwd takes the rendered families, on a dual-stack node and on an
    IPv4-only one (which hands IPv6 to the node's kernel)."""
    svcs, slices, nodes = ek.by_kind(cluster6())
    r = mod.Renderer()
    text, msgs = r.render(ek.base_text() if base == "ipv4" else
                          dual_base_text(), svcs, slices, nodes)
    assert not msgs
    assert r.notes["services_rendered"] == 5
    assert r.notes["ipv6_slices_skipped"] == 1      # shop/web's
    assert r.notes["ipv4_slices_skipped"] == 1      # v6/only6's
    # 2 + 4 + 1 + 6 + 2
    assert r.notes["endpoints_rendered"] == 15
    ok, output = check(tmp_path, text)
    assert ok, output
    assert "5 services" in output and "15 endpoints" in output


def test_edgefwd_check_refuses_what_is_left_out(tmp_path):
    """What the families guard against: an IPv6 endpoint on a service that
    lists IPv4 only fails --check. Without ip_families (an IPv4-only
    service's file, as it always was) edgefwd takes the families of the
    addresses given, so leaving the slice out is what keeps it IPv4."""
    d, _ = mapped(ROLL, "shop/web")
    d["ip_families"] = ["IPv4"]
    d["endpoints"].append({"address": "fd00:244::21", "node": "node-a",
                           "ready": True, "serving": True,
                           "terminating": False})
    text = ek.base_text() + "services = (\n%s\n);\n" % \
        mod.render_service_text(d)
    ok, output = check(tmp_path, text)
    assert not ok and "does not serve IPv6" in output, output


def edge_cluster():
    """web6() and only6() as edge services, with the Nodes their
    endpoints are on (KINDS: node-a, node-b; node-c excluded)."""
    return web6() + only6() + [o for o in clone(KINDS) if o["kind"] == "Node"]


@pytest.mark.parametrize("base", ["ipv4", "dual"])
def test_edge_file_passes_edgefwd_check(tmp_path, base):
    """Edge mode renders the IPv6 VIPs and endpoints (edgefwd sends IPv6
    flows to the nodes in IPv4, docs/EDGE.md "IPv6"), and edgefwd takes
    the file, on an IPv4-only edge and on a dual-stack one."""
    svcs, slices, nodes = ek.by_kind(edge_cluster())
    r = mod.Renderer(edge=True)
    text, msgs = r.render(ek.base_text() if base == "ipv4" else
                          dual_base_text(), svcs, slices, nodes)
    assert not msgs
    assert r.notes["services_rendered"] == 2        # v6/web, v6/only6
    assert "services_skipped" not in r.notes
    assert "ipv6_skipped_edge" not in r.notes
    assert "ipv6_slices_skipped" not in r.notes
    assert r.notes["ipv4_slices_skipped"] == 1       # v6/only6's
    assert r.notes["endpoints_rendered"] == 5        # 4 + 1
    rendered = text.split("rendered by")[1]
    assert 'nodes = (\n  { name = "node-a"; address = "10.0.0.1"; },\n' \
        '  { name = "node-b"; address = "10.0.0.2"; }\n);' in rendered
    only6_blk = rendered.split('name = "v6/only6";')[1].split("}\n  },")[0]
    assert 'ip_families = [ "IPv6" ];' in only6_blk
    assert 'load_balancer_ips = [ "2001:db8:100::61" ];' in only6_blk
    assert 'external_ips = [ "2001:db8:61::1" ];' in only6_blk
    assert '{ address = "fd00:244::61"; node = "node-a"; }' in only6_blk
    assert "cluster_ip" not in rendered and "; node_port =" not in rendered
    assert "fd00:96::" not in rendered               # no cluster IPs
    ok, output = check(tmp_path, text)
    assert ok, output
    assert "2 services" in output and "5 endpoints" in output
    # v6/web's IPv4 and IPv6 VIPs, v6/only6's IPv6 VIP and external IP
    assert "4 frontends" in output, output


def ipv6_only_node(name="node-6", address="FD00:10:0::6"):
    """A Node of an IPv6-only cluster: its one InternalIP is IPv6."""
    n = clone([o for o in KINDS if o["kind"] == "Node"][0])
    n["metadata"]["name"] = name
    n["metadata"]["labels"] = {}
    n["status"]["addresses"] = [{"type": "InternalIP", "address": address},
                                {"type": "Hostname", "address": name}]
    return n


def test_edge_node_address_ipv4_internal_ip_first():
    """A dual-stack node is reached at its IPv4 InternalIP whatever the
    order the kubelet lists them in; an IPv6-only node at its IPv6 one
    (RFC 5952), nothing left out."""
    dual = ipv6_only_node("node-d")
    dual["status"]["addresses"].insert(1, {"type": "InternalIP",
                                           "address": "10.0.0.7"})
    notes = {}
    assert mod.map_nodes([dual, ipv6_only_node()], notes) == [
        {"name": "node-6", "address": "fd00:10::6"},
        {"name": "node-d", "address": "10.0.0.7"}]
    assert notes == {}
    assert mod.node_address(ipv6_only_node()) == ("fd00:10::6", "IPv6")


def test_edge_ipv6_only_node_rendered_at_its_ipv6_address(tmp_path):
    """An IPv6 endpoint on a node whose only InternalIP is IPv6: the node
    is rendered at that address (edgefwd reaches it over an IPv6
    underlay), its endpoint kept, and edgefwd --check takes the file."""
    objs = web6() + [o for o in clone(KINDS) if o["kind"] == "Node"] + \
        [ipv6_only_node()]
    objs[2]["endpoints"].append(ep("fd00:244:6::60", "node-6"))
    svcs, slices, nodes = ek.by_kind(objs)
    r = mod.Renderer(edge=True)
    # an edge with an IPv6 interface address to send to node-6 from
    base = (ek.REPO / "conf" / "demo-dual.conf").read_text().split(
        "services = (")[0]
    text, msgs = r.render(base, svcs, slices, nodes)
    assert not msgs
    assert "nodes_skipped_ipv6_only" not in r.notes
    assert "endpoints_off_nodes" not in r.notes
    assert '{ name = "node-6"; address = "fd00:10::6"; }' in text
    assert '{ address = "fd00:244:6::60"; node = "node-6"; }' in text
    ok, output = check(tmp_path, text)
    assert ok, output


def test_edge_node_family_left_out_is_counted(tmp_path, monkeypatch):
    """The path an edgefwd without a family's node addresses would take
    (NODE_FAMILIES without it): the node is left out and counted, its
    endpoint off the nodes (counted), the rest served, the file valid."""
    monkeypatch.setattr(mod, "NODE_FAMILIES", ("IPv4",))
    objs = web6() + [o for o in clone(KINDS) if o["kind"] == "Node"] + \
        [ipv6_only_node()]
    objs[2]["endpoints"].append(ep("fd00:244:6::60", "node-6"))
    svcs, slices, nodes = ek.by_kind(objs)
    r = mod.Renderer(edge=True)
    text, msgs = r.render(ek.base_text(), svcs, slices, nodes)
    assert not msgs
    assert r.notes["nodes_skipped_ipv6_only"] == 1
    assert r.notes["endpoints_off_nodes"] == 1
    assert r.notes["endpoints_rendered"] == 4
    rendered = text.split("rendered by")[1]
    assert "node-6" not in rendered and "fd00:244:6::60" not in rendered
    ok, output = check(tmp_path, text)
    assert ok, output


def test_incremental_render_of_dual_stack_equals_a_fresh_one():
    """The shortcut that takes the last render's texts over (a readiness
    change claims nothing new) gives what a fresh render gives, for an
    IPv6 slice too."""
    objs = cluster6()
    for i, o in enumerate(objs):
        o["metadata"]["resourceVersion"] = str(i + 1)
    svcs, slices, nodes = ek.by_kind(objs)
    r = mod.Renderer()
    r.render("", svcs, slices, nodes)
    r.accepted()
    last = r._last
    sl = clone([s for s in slices["v6/web"] if s["addressType"] == "IPv6"][0])
    sl["metadata"]["resourceVersion"] = "1000"
    sl["endpoints"][0]["conditions"] = {"ready": False, "serving": True,
                                        "terminating": True}
    slices["v6/web"] = [s for s in slices["v6/web"]
                        if s["addressType"] == "IPv4"] + [sl]
    text, _ = r.render("", svcs, dict(slices), nodes)
    assert r._last is not None and r._last[0] is not last[0]
    want, _ = mod.Renderer().render("", svcs, dict(slices), nodes)
    assert text == want
    assert '{ address = "fd00:244::60"; node = "node-a"; ready = false; ' \
        'serving = true; terminating = true; }' in text
