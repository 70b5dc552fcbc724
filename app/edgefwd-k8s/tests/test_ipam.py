# SPDX-License-Identifier: BSD-3-Clause
"""Load-balancer IP assignment decisions (Ipam.plan is pure)."""

import pytest

from dts.k8s import fixtures

from ek import mod

PORTS = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}]


def lb(name, ts, ips=(), want=None, cls=None, typ="LoadBalancer", uid=None):
    s = fixtures.service("ns", name, "10.96.0.%d" % (len(name) + 10), PORTS,
                         typ=typ, lb_ips=ips, ts=ts)
    s["metadata"]["uid"] = uid or "uid-" + name
    if want:
        s["spec"]["loadBalancerIP"] = want
    if cls:
        s["spec"]["loadBalancerClass"] = cls
    return s


def plan(ipam, *svcs):
    acts, errs = ipam.plan(list(svcs), now=0.0)
    return [(mod.obj_key(s), ips) for s, ips, _ in acts], errs


def test_lowest_free_address_oldest_first():
    ipam = mod.Ipam(["192.0.2.0/29"])
    a = lb("a", "2026-01-02T00:00:00Z")
    b = lb("b", "2026-01-01T00:00:00Z")
    acts, errs = plan(ipam, a, b)
    # .0 (network) and .7 (broadcast) are not handed out
    assert acts == [("ns/b", ["192.0.2.1"]), ("ns/a", ["192.0.2.2"])]
    assert not errs


def test_assignments_read_back_from_status():
    """A restarted edgefwd-k8s (a new Ipam) finds every address again and
    changes nothing."""
    ipam = mod.Ipam(["192.0.2.0/29"])
    a = lb("a", "2026-01-02T00:00:00Z", ips=["192.0.2.2"])
    b = lb("b", "2026-01-01T00:00:00Z", ips=["192.0.2.1"])
    c = lb("c", "2026-01-03T00:00:00Z")
    acts, errs = plan(ipam, a, b, c)
    assert acts == [("ns/c", ["192.0.2.3"])]


def test_requested_address_honoured_when_in_pool_and_free():
    ipam = mod.Ipam(["192.0.2.0/29"])
    acts, errs = plan(ipam, lb("a", "2026-01-01T00:00:00Z", want="192.0.2.5"))
    assert acts == [("ns/a", ["192.0.2.5"])]
    acts, errs = plan(ipam, lb("a", "2026-01-01T00:00:00Z", want="10.9.9.9"))
    assert acts == [] and "not in the pool" in errs[0]


def test_requested_address_contested_older_keeps_it():
    ipam = mod.Ipam(["192.0.2.0/29"])
    old = lb("old", "2026-01-01T00:00:00Z", want="192.0.2.5")
    new = lb("new", "2026-01-02T00:00:00Z", want="192.0.2.5")
    acts, errs = plan(ipam, new, old)
    assert acts == [("ns/old", ["192.0.2.5"])]
    assert len(errs) == 1 and "ns/new" in errs[0] and "ns/old" in errs[0]
    # even when the younger one asked first and holds it already... the
    # older one's request does not take it away: an address in status
    # belongs to its holder
    held = lb("new", "2026-01-02T00:00:00Z", want="192.0.2.5",
              ips=["192.0.2.5"])
    acts, errs = plan(ipam, held, old)
    assert acts == [] and "ns/old" in errs[0]


def test_same_address_in_two_statuses_younger_cleared():
    ipam = mod.Ipam(["192.0.2.0/29"])
    a = lb("a", "2026-01-01T00:00:00Z", ips=["192.0.2.3"])
    b = lb("b", "2026-01-02T00:00:00Z", ips=["192.0.2.3"])
    acts, errs = plan(ipam, b, a)
    assert acts == [("ns/b", [])]
    assert "already assigned to ns/a" in errs[0]


def test_never_given_twice_while_status_pending():
    ipam = mod.Ipam(["192.0.2.0/30"])      # .1 and .2
    a = lb("a", "2026-01-01T00:00:00Z")
    b = lb("b", "2026-01-02T00:00:00Z")
    acts, _ = plan(ipam, a)
    assert acts == [("ns/a", ["192.0.2.1"])]
    ipam.assigned(a, "192.0.2.1", now=0.0)
    # a's status has not come back yet; b must not get .1
    acts, _ = plan(ipam, a, b)
    assert acts == [("ns/b", ["192.0.2.2"])]
    ipam.assigned(b, "192.0.2.2", now=0.0)
    c = lb("c", "2026-01-03T00:00:00Z")
    acts, errs = plan(ipam, a, b, c)
    assert acts == [] and "pool exhausted" in errs[0]


def test_freed_when_deleted_or_type_changes():
    ipam = mod.Ipam(["192.0.2.0/30"])
    a = lb("a", "2026-01-01T00:00:00Z", ips=["192.0.2.1"])
    b = lb("b", "2026-01-02T00:00:00Z", ips=["192.0.2.2"])
    c = lb("c", "2026-01-03T00:00:00Z")
    acts, errs = plan(ipam, a, b, c)
    assert acts == [] and "exhausted" in errs[0]
    # a deleted: its address goes to c
    acts, _ = plan(ipam, b, c)
    assert acts == [("ns/c", ["192.0.2.1"])]
    # b becomes ClusterIP: its status is cleared (freed)
    b2 = lb("b", "2026-01-02T00:00:00Z", ips=["192.0.2.2"], typ="ClusterIP")
    acts, _ = plan(ipam, a, b2)
    assert acts == [("ns/b", [])]


def test_other_classes_left_alone_and_their_addresses_never_given():
    ipam = mod.Ipam(["192.0.2.0/30"], lb_class=None)
    other = lb("o", "2026-01-01T00:00:00Z", cls="example.com/other",
               ips=["192.0.2.1"])
    mine = lb("m", "2026-01-02T00:00:00Z")
    acts, _ = plan(ipam, other, mine)
    assert acts == [("ns/m", ["192.0.2.2"])]
    ipam = mod.Ipam(["192.0.2.0/30"], lb_class="example.com/lb")
    acts, _ = plan(ipam, mine, lb("k", "2026-01-03T00:00:00Z",
                                  cls="example.com/lb"))
    assert acts == [("ns/k", ["192.0.2.1"])]


def test_address_outside_pool_kept():
    ipam = mod.Ipam(["192.0.2.0/30"])
    a = lb("a", "2026-01-01T00:00:00Z", ips=["203.0.113.5"])
    acts, errs = plan(ipam, a)
    assert acts == [] and not errs


def test_small_pools():
    assert list(mod.Ipam(["192.0.2.8/31"]).hosts()) == ["192.0.2.8",
                                                        "192.0.2.9"]
    assert list(mod.Ipam(["192.0.2.8/32", "192.0.2.20/32"]).hosts()) == [
        "192.0.2.8", "192.0.2.20"]


V4 = "192.0.2.0/29"          # .1 - .6
V6 = "2001:db8:100::/125"    # ::1 - ::7 (:: is the subnet-router anycast)


def svc6(name, ts, families, ips=(), want=None):
    """lb() serving families (spec.ipFamilies, in that order)."""
    s = lb(name, ts, ips=ips, want=want)
    cips = {"IPv4": "10.96.0.%d" % (len(name) + 20),
            "IPv6": "fd00:96::%x" % (len(name) + 20)}
    s["spec"].update(ipFamilies=list(families),
                     clusterIPs=[cips[f] for f in families],
                     clusterIP=cips[families[0]],
                     ipFamilyPolicy="RequireDualStack"
                     if len(families) == 2 else "SingleStack")
    return s


def test_family_without_a_pool_gets_nothing():
    """IPv4 pools only: a dual-stack service (either primary) gets its
    IPv4 address, and its IPv6 family nothing (said); an IPv6-only one
    nothing at all. An IPv6 pool alone: the mirror image."""
    ipam = mod.Ipam([V4])
    dual = svc6("dual", "2026-01-01T00:00:00Z", ["IPv6", "IPv4"])
    only6 = svc6("only6", "2026-01-02T00:00:00Z", ["IPv6"])
    acts, errs = plan(ipam, dual, only6)
    assert acts == [("ns/dual", ["192.0.2.1"])]
    assert errs == ["ns/dual: serves IPv6 (spec.ipFamilies) and no pool is "
                    "IPv6; no IPv6 address",
                    "ns/only6: serves IPv6 (spec.ipFamilies) and no pool is "
                    "IPv6; no IPv6 address"]
    ipam = mod.Ipam([V6])
    only4 = lb("only4", "2026-01-03T00:00:00Z")
    acts, errs = plan(ipam, dual, only6, only4)
    assert acts == [("ns/dual", ["2001:db8:100::1"]),
                    ("ns/only6", ["2001:db8:100::2"])]
    assert errs == ["ns/dual: serves IPv4 (spec.ipFamilies) and no pool is "
                    "IPv4; no IPv4 address",
                    "ns/only4: serves IPv4 (spec.ipFamilies) and no pool is "
                    "IPv4; no IPv4 address"]


def test_one_address_per_family_in_ip_families_order():
    """As MetalLB does: one address of each family the service serves,
    each from a pool of its family, in spec.ipFamilies' order (the order
    of the --pool values does not matter)."""
    ipam = mod.Ipam([V6, V4])
    d6 = svc6("d6", "2026-01-01T00:00:00Z", ["IPv6", "IPv4"])
    d4 = svc6("d4", "2026-01-02T00:00:00Z", ["IPv4", "IPv6"])
    o6 = svc6("o6", "2026-01-03T00:00:00Z", ["IPv6"])
    o4 = lb("o4", "2026-01-04T00:00:00Z")
    acts, errs = plan(ipam, o4, o6, d4, d6)
    assert acts == [("ns/d6", ["2001:db8:100::1", "192.0.2.1"]),
                    ("ns/d4", ["192.0.2.2", "2001:db8:100::2"]),
                    ("ns/o6", ["2001:db8:100::3"]),
                    ("ns/o4", ["192.0.2.3"])]
    assert not errs


def test_ipv6_pools_skip_the_subnet_router_anycast_address():
    """An IPv6 CIDR's first address (::, the subnet-router anycast) is
    never handed out, as an IPv4 CIDR's network address is not; IPv6 has
    no broadcast, so its last address is. /127 and /128 (RFC 6164) use
    both ends, as IPv4 /31 and /32 do. Addresses in RFC 5952 form."""
    assert list(mod.Ipam(["2001:DB8:100:0::/126"]).hosts()) == [
        "2001:db8:100::1", "2001:db8:100::2", "2001:db8:100::3"]
    assert list(mod.Ipam(["2001:db8:100::8/127"]).hosts()) == [
        "2001:db8:100::8", "2001:db8:100::9"]
    assert list(mod.Ipam(["2001:db8:100::5/128"]).hosts()) == [
        "2001:db8:100::5"]
    assert next(mod.Ipam(["2001:db8::/64"]).hosts("IPv6")) == "2001:db8::1"
    # a pool given with host bits: its network, as for IPv4
    assert list(mod.Ipam(["2001:db8:100::3/126"]).hosts())[0] == \
        "2001:db8:100::1"
    assert list(mod.Ipam(["192.0.2.0/30"]).hosts()) == ["192.0.2.1",
                                                        "192.0.2.2"]
    # the first assignment from an IPv6 CIDR is ::1, not ::
    acts, _ = plan(mod.Ipam(["2001:db8:100::/120"]),
                   svc6("a", "2026-01-01T00:00:00Z", ["IPv6"]))
    assert acts == [("ns/a", ["2001:db8:100::1"])]
    # a huge pool is walked lazily
    ipam = mod.Ipam(["2001:db8::/32"])
    acts, _ = plan(ipam, svc6("a", "2026-01-01T00:00:00Z", ["IPv6"],
                              ips=["2001:db8::1"]),
                   svc6("b", "2026-01-02T00:00:00Z", ["IPv6"]))
    assert acts == [("ns/b", ["2001:db8::2"])]


def test_pools_as_ranges_and_refusals():
    ipam = mod.Ipam(["2001:db8:100::fe - 2001:db8:100::101",
                     "192.0.2.0-192.0.2.1"])
    # a range hands out every address it names, the first one included
    assert list(ipam.hosts("IPv6")) == [
        "2001:db8:100::fe", "2001:db8:100::ff", "2001:db8:100::100",
        "2001:db8:100::101"]
    assert list(ipam.hosts("IPv4")) == ["192.0.2.0", "192.0.2.1"]
    assert ipam.in_pool("2001:DB8:100::100") and \
        not ipam.in_pool("2001:db8:100::102") and \
        not ipam.in_pool("192.0.2.2")
    for bad, why in [("2001:db8::/129", "CIDR"),
                     ("2001:db8::2-2001:db8::1", "after the last"),
                     ("192.0.2.1-2001:db8::1", "one family"),
                     ("::ffff:192.0.2.0/120", "IPv4-mapped"),
                     ("not-an-address", "CIDR")]:
        with pytest.raises(ValueError, match=why):
            mod.Ipam([bad])
    # and the command line says so (exit 2) before any API call
    assert mod.main(["--node", "n", "--base", "/dev/null", "--out",
                     "/dev/null", "--pool", "2001:db8::/129"]) == 2


def test_ipv6_assignments_read_back_from_status():
    """A restart (a new Ipam) finds both families' addresses in status,
    spelt any way the API holds them, and changes nothing; a new service
    gets neither."""
    ipam = mod.Ipam([V4, V6])
    a = svc6("a", "2026-01-01T00:00:00Z", ["IPv4", "IPv6"],
             ips=["192.0.2.1", "2001:DB8:100:0:0::1"])
    b = svc6("b", "2026-01-02T00:00:00Z", ["IPv6", "IPv4"],
             ips=["2001:db8:100::2", "192.0.2.2"])
    acts, errs = plan(ipam, a, b)
    assert acts == [] and not errs
    c = svc6("c", "2026-01-03T00:00:00Z", ["IPv6", "IPv4"])
    acts, errs = plan(mod.Ipam([V4, V6]), a, b, c)
    assert acts == [("ns/c", ["2001:db8:100::3", "192.0.2.3"])]
    # the same IPv6 address in two statuses: the younger's is cleared
    d = svc6("d", "2026-01-04T00:00:00Z", ["IPv6"], ips=["2001:db8:100::1"])
    acts, errs = plan(mod.Ipam([V4, V6]), d, a)
    assert acts == [("ns/d", [])]
    assert errs == ["ns/d: 2001:db8:100::1 already assigned to ns/a "
                    "(older); status cleared"]


def test_missing_family_completed_the_rest_kept():
    """A dual-stack service holding its IPv4 pool address (an IPv6 pool
    added since, or its IPv6 family added) gets its IPv6 one beside it,
    in spec.ipFamilies' order; its IPv4 address does not move."""
    ipam = mod.Ipam([V4, V6])
    a = svc6("a", "2026-01-01T00:00:00Z", ["IPv6", "IPv4"],
             ips=["192.0.2.5"])
    acts, errs = plan(ipam, a)
    assert acts == [("ns/a", ["2001:db8:100::1", "192.0.2.5"])] and not errs
    # an address of another controller (outside the pools): left alone
    b = svc6("b", "2026-01-02T00:00:00Z", ["IPv4", "IPv6"],
             ips=["203.0.113.5"])
    acts, errs = plan(ipam, b)
    assert acts == [] and not errs


def test_family_no_longer_served_is_freed():
    """ipFamilies from [IPv4, IPv6] to [IPv4]: the IPv6 pool address is
    written out of the status, and is free once that status is written
    (not in the same pass: the patch may fail)."""
    ipam = mod.Ipam([V4, V6])
    a = svc6("a", "2026-01-01T00:00:00Z", ["IPv4"],
             ips=["192.0.2.1", "2001:db8:100::1"])
    c = svc6("c", "2026-01-02T00:00:00Z", ["IPv6"])
    acts, errs = ipam.plan([a, c], now=0.0)
    assert [(mod.obj_key(s), ips) for s, ips, _ in acts] == [
        ("ns/a", ["192.0.2.1"]), ("ns/c", ["2001:db8:100::2"])]
    assert "IPv6 no longer served" in acts[0][2]
    assert not errs
    a["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    c = svc6("c2", "2026-01-02T00:00:00Z", ["IPv6"])
    acts, errs = plan(mod.Ipam([V4, V6]), a, c)
    assert acts == [("ns/c2", ["2001:db8:100::1"])] and not errs


def test_one_family_exhausted_the_other_served():
    ipam = mod.Ipam([V4, "2001:db8:100::/127"])     # two IPv6 addresses
    svcs = [svc6(n, "2026-01-0%dT00:00:00Z" % (i + 1), ["IPv4", "IPv6"])
            for i, n in enumerate("abc")]
    acts, errs = plan(ipam, *svcs)
    assert acts == [("ns/a", ["192.0.2.1", "2001:db8:100::"]),
                    ("ns/b", ["192.0.2.2", "2001:db8:100::1"]),
                    ("ns/c", ["192.0.2.3"])]
    assert errs == ["ns/c: IPv6 pool exhausted; no IPv6 address"]
    # with both statuses written, c's IPv6 family is retried: still none,
    # and its IPv4 address stays
    for s, (_, ips) in zip(svcs, acts):
        s["status"] = {"loadBalancer": {"ingress": [{"ip": ip}
                                                    for ip in ips]}}
    acts, errs = plan(mod.Ipam([V4, "2001:db8:100::/127"]), *svcs)
    assert acts == [] and errs == ["ns/c: IPv6 pool exhausted; no IPv6 "
                                   "address"]
    # a freed IPv6 address goes to c, beside its IPv4 one
    acts, errs = plan(mod.Ipam([V4, "2001:db8:100::/127"]), svcs[0],
                      svcs[2])
    assert acts == [("ns/c", ["192.0.2.3", "2001:db8:100::1"])]


def test_requested_ipv6_address():
    """spec.loadBalancerIP names its family's address; the other family
    gets the lowest free one. Compared by value, written RFC 5952."""
    ipam = mod.Ipam([V4, V6])
    a = svc6("a", "2026-01-01T00:00:00Z", ["IPv4", "IPv6"],
             want="2001:DB8:100:0::5")
    acts, errs = plan(ipam, a)
    assert acts == [("ns/a", ["192.0.2.1", "2001:db8:100::5"])] and not errs
    # taken by an older one: that family gets nothing, the other is served
    old = svc6("old", "2025-01-01T00:00:00Z", ["IPv6"],
               ips=["2001:db8:100::5"])
    acts, errs = plan(ipam, a, old)
    assert acts == [("ns/a", ["192.0.2.1"])]
    assert errs == ["ns/a: spec.loadBalancerIP 2001:DB8:100:0::5 is already "
                    "assigned to ns/old (older); no IPv6 address"]
    # outside the pools
    b = svc6("b", "2026-01-01T00:00:00Z", ["IPv6"], want="2001:db8:200::5")
    acts, errs = plan(ipam, b)
    assert acts == [] and "is not in the pool; no IPv6 address" in errs[0]
    # an IPv6 address asked for by an IPv4-only service: nothing
    c = lb("c", "2026-01-01T00:00:00Z", want="2001:db8:100::5")
    acts, errs = plan(ipam, c)
    assert acts == [] and "not in the pool of a family the service " \
        "serves (IPv4); no address" in errs[0]


def test_pending_covers_every_family():
    """Until its status comes back, none of the addresses just written
    for a service is handed to another."""
    ipam = mod.Ipam(["192.0.2.0/30", "2001:db8:100::/127"])
    a = svc6("a", "2026-01-01T00:00:00Z", ["IPv4", "IPv6"])
    b = svc6("b", "2026-01-02T00:00:00Z", ["IPv6", "IPv4"])
    acts, _ = plan(ipam, a)
    assert acts == [("ns/a", ["192.0.2.1", "2001:db8:100::"])]
    ipam.assigned(a, acts[0][1], now=0.0)
    acts, _ = plan(ipam, a, b)
    assert acts == [("ns/b", ["2001:db8:100::1", "192.0.2.2"])]
    ipam.assigned(b, acts[0][1], now=0.0)
    c = svc6("c", "2026-01-03T00:00:00Z", ["IPv4", "IPv6"])
    acts, errs = plan(ipam, a, b, c)
    assert acts == [] and errs == [
        "ns/c: IPv4 pool exhausted; no IPv4 address",
        "ns/c: IPv6 pool exhausted; no IPv6 address"]
    # a's status back with one of its two addresses: still pending
    a["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    acts, _ = ipam.plan([a, b], now=1.0)
    assert "ns/a" in ipam.pending and acts == []
    a["status"]["loadBalancer"]["ingress"].append({"ip": "2001:db8:100::"})
    ipam.plan([a, b], now=1.0)
    assert "ns/a" not in ipam.pending


def test_dual_stack_through_status_subresource_to_an_edge_file(tmp_path):
    """--once in edge mode against the stand-in API: one status patch
    with both families' addresses in spec.ipFamilies' order, the edge
    file serving both (IPv6 endpoints included) and passing edgefwd
    --check; a second run finds them in status and patches nothing."""
    from dts.k8s import apiserver
    import ek
    import test_watch
    standin = apiserver.StandIn(bookmark_interval=0.2).start()
    try:
        svc = svc6("web", "2026-01-01T00:00:00Z", ["IPv6", "IPv4"])
        svc["spec"]["externalTrafficPolicy"] = "Cluster"
        sl4 = fixtures.endpoint_slice("ns", "web", "web-4abcd", [
            fixtures.endpoint("10.244.0.9", "node-a", ns="ns")], [
            {"name": "http", "port": 80, "protocol": "TCP"}])
        sl6 = ek.clone(sl4)
        sl6["metadata"]["name"] = "web-6abcd"
        sl6["addressType"] = "IPv6"
        sl6["endpoints"][0]["addresses"] = ["fd00:244::9"]
        for o in [svc, sl4, sl6] + [n for n in fixtures.load("kinds")
                                    if n["kind"] == "Node"]:
            standin.state.apply(o)
        pools = [V4, "2001:db8:100::/120"]
        s = test_watch.make_sync(standin, tmp_path, pool=pools, once=True,
                                 edge=True, node=None)
        assert s.run_once() == 0
        p = standin.stats()["patches"]
        assert [x["status"] for x in p] == [{"loadBalancer": {"ingress": [
            {"ip": "2001:db8:100::1"}, {"ip": "192.0.2.1"}]}}]
        assert s.stats.get("ipam_assigned") == 1
        assert s.stats.get("ipam_errors") == 0
        text = (tmp_path / "edgefwd.conf").read_text()
        blk = text.split('name = "ns/web";')[1]
        assert 'mode = "edge";' in blk
        assert 'ip_families = [ "IPv6", "IPv4" ];' in blk
        assert 'load_balancer_ips = [ "2001:db8:100::1", "192.0.2.1" ];' \
            in blk
        assert '{ address = "fd00:244::9"; node = "node-a"; }' in blk
        res = ek.check(tmp_path / "edgefwd.conf")
        if res is None:
            pytest.skip("edgefwd not built (ninja -C build)")
        assert res[0], res[1]
        s2 = test_watch.make_sync(standin, tmp_path, pool=pools, once=True,
                                  edge=True, node=None)
        assert s2.run_once() == 0
        assert len(standin.stats()["patches"]) == 1
        assert not standin.stats()["rejected"]
    finally:
        standin.down()
