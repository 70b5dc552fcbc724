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


def test_ipv4_pools_serve_services_that_serve_ipv4():
    """The pools are IPv4 (an IPv6 pool is refused): a dual-stack service
    (either primary) gets an IPv4 address, an IPv6-only one nothing."""
    ipam = mod.Ipam(["192.0.2.0/29"])
    dual = lb("dual", "2026-01-01T00:00:00Z")
    dual["spec"].update(ipFamilies=["IPv6", "IPv4"],
                        clusterIPs=["fd00:96::d", "10.96.0.14"])
    only6 = lb("only6", "2026-01-02T00:00:00Z")
    only6["spec"].update(ipFamilies=["IPv6"], clusterIP="fd00:96::6",
                         clusterIPs=["fd00:96::6"])
    acts, errs = plan(ipam, dual, only6)
    assert acts == [("ns/dual", ["192.0.2.1"])]
    assert errs == ["ns/only6: does not serve IPv4 (spec.ipFamilies) and "
                    "the pools are IPv4; no address"]
    with pytest.raises(ValueError, match="only IPv4 pools"):
        mod.Ipam(["2001:db8:100::/120"])
