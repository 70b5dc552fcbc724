# SPDX-License-Identifier: BSD-3-Clause
"""edgefwd-k8s against the stand-in API server over loopback, with the
official client: list (paged) + watch, bookmarks, 410 Gone, broken
streams, the status subresource, and the stand-in's strictness."""

import http.client
import json
import threading
import time
from types import SimpleNamespace

import pytest

from dts.k8s import apiserver, fixtures

import ek
from ek import mod


def wait(fn, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError("condition not met within %.0f s" % timeout)


@pytest.fixture
def standin():
    s = apiserver.StandIn(bookmark_interval=0.2).start()
    yield s
    s.down()


def make_sync(standin, tmp_path, **kw):
    kc = tmp_path / "kubeconfig"
    kc.write_text(standin.kubeconfig())
    base = tmp_path / "base.conf"
    base.write_text(ek.base_text())
    args = SimpleNamespace(kubeconfig=str(kc), base=str(base),
                           out=str(tmp_path / "edgefwd.conf"),
                           file_prefix=None, lb_class=None, pool=[],
                           status=None, once=False, edge=False, node="node-a")
    for k, v in kw.items():
        setattr(args, k, v)
    s = mod.Sync(args)
    s.connect()
    return s


@pytest.fixture
def running(standin, tmp_path):
    """A Sync loop in a thread; yields (sync, standin)."""
    syncs = []

    def start(**kw):
        s = make_sync(standin, tmp_path, **kw)
        t = threading.Thread(target=s.run, daemon=True)
        t.start()
        syncs.append((s, t))
        return s
    yield start
    for s, t in syncs:
        s.stop.set()
        with s.store.cond:
            s.store.cond.notify_all()
        standin.kill_watches()
        t.join(10)


def no_rejections(standin):
    rej = standin.stats()["rejected"]
    assert not rej, rej


def test_list_watch_and_render(standin, running, tmp_path):
    for o in fixtures.load("rolling-update"):
        standin.state.apply(o)
    running()
    out = tmp_path / "edgefwd.conf"
    wait(lambda: out.is_file() and "shop/web" in out.read_text())
    # a new endpoint arrives through the watch
    sl = standin.state.objs["endpointslices"]["shop/web-mq7sd"]
    sl = ek.clone(sl)
    sl["endpoints"].append(fixtures.endpoint("10.244.0.77", "node-a"))
    standin.state.apply(sl)
    wait(lambda: "10.244.0.77" in out.read_text())
    # deleted
    standin.state.delete("services", "shop/web")
    wait(lambda: "shop/web" not in out.read_text())
    # the status file follows each sync
    wait(lambda: json.loads((tmp_path / "edgefwd.conf.status.json")
                            .read_text())["counters"].get("writes", 0) >= 3)
    no_rejections(standin)
    c = standin.stats()["counts"]
    assert c["list services"] == 1 and c["watch services"] >= 1


def test_paged_list_of_1200_services(standin, running, tmp_path):
    for o in fixtures.cluster(1200, 2, lb=False):
        standin.state.apply(o)
    s = running()
    out = tmp_path / "edgefwd.conf"
    wait(lambda: out.is_file() and s.stats.dump().get(
        "services_rendered") == 1200, 30)
    c = standin.stats()["counts"]
    assert c["list services"] == 3 and c["list endpointslices"] == 3
    no_rejections(standin)


def test_bookmarks_move_the_resource_version(standin, running):
    s = running()
    wait(lambda: s.stats.get("bookmarks") >= 3)
    for o in fixtures.load("named-port"):
        standin.state.apply(o)
    w = {x.kind: x for x in s.watchers}
    # the services watcher saw bookmarks of newer revisions
    wait(lambda: int(w["nodes"].rv) >= standin.state.rv - 0)
    no_rejections(standin)


def test_broken_stream_rewatches_expired_rv_relists(standin, running,
                                                    tmp_path):
    for o in fixtures.load("rolling-update"):
        standin.state.apply(o)
    s = running()
    out = tmp_path / "edgefwd.conf"
    wait(lambda: out.is_file() and "shop/web" in out.read_text())
    # a cut stream: re-watch from the last resourceVersion, no re-list
    lists = standin.stats()["counts"]["list services"]
    wait(lambda: sum(standin.stats()["watches"].values()) == 3)
    assert standin.kill_watches() == 3
    wait(lambda: standin.stats()["watches"].get("services"))
    for o in fixtures.load("named-port"):
        standin.state.apply(o)
    wait(lambda: "mon/exporter" in out.read_text())
    assert standin.stats()["counts"]["list services"] == lists
    # cut (and no new watch possible), change, compact: the re-watch gets
    # 410 and re-lists; the change made while nobody watched is not lost
    standin.down()
    standin.state.delete("services", "mon/exporter")
    standin.state.compact()
    standin.up()
    wait(lambda: "mon/exporter" not in out.read_text())
    assert s.stats.get("relists_410") >= 1
    assert standin.stats()["counts"]["list services"] > lists
    # a 410 ERROR event on a live watch: re-list too
    wait(lambda: sum(standin.stats()["watches"].values()) == 3)
    n = s.stats.get("relists_410")
    assert standin.expire_watches() == 3
    wait(lambda: s.stats.get("relists_410") >= n + 3)
    no_rejections(standin)


def test_api_down_then_back(standin, running, tmp_path):
    for o in fixtures.load("rolling-update"):
        standin.state.apply(o)
    s = running()
    out = tmp_path / "edgefwd.conf"
    wait(lambda: out.is_file() and "shop/web" in out.read_text())
    standin.down()
    wait(lambda: s.stats.get("watch_errors") >= 6)
    # the backoff grows while the API stays away (a failed attempt does
    # not reset the count; only a watch that reached the server does)
    wait(lambda: max(w.failures for w in s.watchers) >= 4, 20)
    standin.state.delete("services", "shop/web")
    standin.state.compact()
    standin.up()
    wait(lambda: "shop/web" not in out.read_text(), 15)


def test_ipam_through_status_subresource_and_restart(standin, running,
                                                     tmp_path):
    svc = fixtures.service("shop", "api", "10.96.5.5", [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
        typ="LoadBalancer", etp="Cluster",
        allocateLoadBalancerNodePorts=False)
    standin.state.apply(svc)
    s = running(pool=["192.0.2.16/29"])
    out = tmp_path / "edgefwd.conf"
    wait(lambda: out.is_file() and "192.0.2.17" in out.read_text())
    p = standin.stats()["patches"]
    assert len(p) == 1
    assert p[0]["content_type"] == "application/strategic-merge-patch+json"
    assert p[0]["status"] == {"loadBalancer": {"ingress": [
        {"ip": "192.0.2.17"}]}}
    # a restart finds the assignment in status and patches nothing
    s.stop.set()
    standin.kill_watches()
    s2 = running(pool=["192.0.2.16/29"])
    wait(lambda: s2.stats.dump().get("synced"))
    assert len(standin.stats()["patches"]) == 1
    # type change frees it
    cur = ek.clone(standin.state.objs["services"]["shop/api"])
    cur["spec"]["type"] = "ClusterIP"
    standin.state.apply(cur)
    wait(lambda: s2.stats.get("ipam_freed") == 1)
    assert standin.state.objs["services"]["shop/api"]["status"] == \
        {"loadBalancer": {}}
    no_rejections(standin)


def test_once(standin, tmp_path):
    for o in fixtures.load("rolling-update") + fixtures.load("kinds"):
        standin.state.apply(o)
    svc = fixtures.service("shop", "api", "10.96.5.5", [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
        typ="LoadBalancer", etp="Cluster",
        allocateLoadBalancerNodePorts=False)
    standin.state.apply(svc)
    s = make_sync(standin, tmp_path, pool=["192.0.2.16/29"], once=True)
    assert s.run_once() == 0
    text = (tmp_path / "edgefwd.conf").read_text()
    assert "192.0.2.17" in text and "shop/web" in text
    res = ek.check(tmp_path / "edgefwd.conf")
    if res is not None:
        assert res[0], res[1]
    no_rejections(standin)


def test_rejected_reload_keeps_previous_file(standin, running, tmp_path,
                                             monkeypatch):
    for o in fixtures.load("rolling-update"):
        standin.state.apply(o)
    calls = []

    def fake_reload(prefix, timeout=60.0):
        text = (tmp_path / "edgefwd.conf").read_text()
        calls.append(text)
        if "10.244.0.66" in text:
            # where edgefwd would report the line
            n = [i for i, l in enumerate(text.split("\n"), 1)
                 if "10.244.0.66" in l][0]
            return False, 7, "%s:%d: services[0].endpoints[6]: nope" % (
                tmp_path / "edgefwd.conf", n)
        return True, len(calls), ""
    monkeypatch.setattr(mod, "edgefwd_reload", fake_reload)
    s = running(file_prefix="fake")
    out = tmp_path / "edgefwd.conf"
    wait(lambda: s.stats.get("reloads_ok") == 1)
    good = out.read_text()
    sl = ek.clone(standin.state.objs["endpointslices"]["shop/web-mq7sd"])
    sl["endpoints"].append(fixtures.endpoint("10.244.0.66", "node-a"))
    standin.state.apply(sl)
    wait(lambda: s.stats.get("reloads_rejected") == 1)
    assert out.read_text() == good or "shop/web" not in out.read_text()
    assert "10.244.0.66" in (tmp_path / "edgefwd.conf.rejected").read_text()
    # shop/web held back, the rest goes on; a new state of it comes back
    wait(lambda: s.stats.get("reloads_ok") == 2)
    assert "shop/web" not in out.read_text()
    sl["endpoints"].pop()
    standin.state.apply(sl)
    wait(lambda: "shop/web" in out.read_text())
    st = s.stats.dump()
    assert "nope" in st["last_reload_error"]


# -- the stand-in is strict -------------------------------------------

def raw(standin, method, path, body=None, headers=None, token=True):
    c = http.client.HTTPConnection("127.0.0.1", standin.port, timeout=5)
    h = {"Accept": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + standin.token
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


@pytest.mark.parametrize("method,path,body,headers,code", [
    ("GET", "/api/v1/services", None, None, 200),
    ("GET", "/api/v1/services?limit=abc", None, None, 400),
    ("GET", "/api/v1/services?watch=1&resourceVersion=abc", None, None, 400),
    ("GET", "/api/v1/services?watch=yes", None, None, 400),
    ("GET", "/api/v1/services?watch=1&limit=5", None, None, 400),
    ("GET", "/api/v1/services?allow_watch_bookmarks=true", None, None, 400),
    ("GET", "/api/v1/services?resourceVersionMatch=Exact", None, None, 400),
    ("GET", "/api/v1/services?continue=bogus", None, None, 400),
    ("GET", "/api/v1/namespaces/shop/services/web", None, None, 403),
    ("GET", "/api/v1/pods", None, None, 403),
    ("GET", "/api/v1/nodes/x/y/z", None, None, 404),
    ("GET", "/apis/discovery.k8s.io/v1beta1/endpointslices", None, None, 404),
    ("GET", "/api/v1/endpointslices", None, None, 404),
    ("GET", "/api/v1/services", None, {"Accept": "application/yaml"}, 406),
    ("PATCH", "/api/v1/namespaces/shop/services/web", b"{}",
     {"Content-Type": "application/merge-patch+json"}, 403),
    ("PATCH", "/api/v1/namespaces/shop/services/web/status", b"{}",
     {"Content-Type": "application/json"}, 415),
    ("PATCH", "/api/v1/namespaces/shop/services/web/status", b"{x",
     {"Content-Type": "application/merge-patch+json"}, 400),
    ("PATCH", "/api/v1/namespaces/shop/services/web/status",
     b'{"metadata":{"resourceVersion":"1"}}',
     {"Content-Type": "application/merge-patch+json"}, 409),
    ("PATCH", "/api/v1/namespaces/shop/services/web/status",
     b'{"status":{"loadBalancer":{"ingress":[{"ip":"x"}]}}}',
     {"Content-Type": "application/merge-patch+json"}, 422),
    ("PATCH", "/api/v1/namespaces/shop/services/nope/status", b"{}",
     {"Content-Type": "application/merge-patch+json"}, 404),
    ("PATCH", "/api/v1/namespaces/shop/services/web/status",
     b'[{"op":"replace","path":"/status","value":{}}]',
     {"Content-Type": "application/json-patch+json"}, 200),
    ("POST", "/api/v1/namespaces/shop/events", b"{}",
     {"Content-Type": "application/json"}, 403),
    ("DELETE", "/api/v1/namespaces/shop/services/web", None, None, 403),
])
def test_standin_rejects_what_the_server_would(standin, method, path, body,
                                               headers, code):
    for o in fixtures.load("rolling-update"):
        standin.state.apply(o)
    st, data = raw(standin, method, path, body, headers)
    assert st == code, data
    if code >= 400:
        s = json.loads(data)
        assert s["kind"] == "Status" and s["code"] == code


def test_standin_auth_and_watch_410(standin):
    st, _ = raw(standin, "GET", "/api/v1/services", token=False)
    assert st == 401
    standin.state.apply(fixtures.load("kinds")[-1])
    standin.state.compact()
    st, data = raw(standin, "GET", "/api/v1/nodes?watch=true&"
                   "resourceVersion=5&allowWatchBookmarks=true")
    assert st == 200
    ev = json.loads(data.split(b"\n")[0])
    assert ev["type"] == "ERROR" and ev["object"]["code"] == 410


def test_store_ignores_an_older_version_than_it_holds():
    st = mod.Store()
    svc = fixtures.service("a", "b", "10.96.0.1", [])
    svc["metadata"]["resourceVersion"] = "20"
    st.replace("services", [svc])
    old = ek.clone(svc)
    old["metadata"]["resourceVersion"] = "19"
    v = st.version
    st.put("services", old)
    assert st.version == v and st.stale == 1
    new = ek.clone(svc)
    new["metadata"]["resourceVersion"] = "21"
    st.put("services", new)
    assert st.objs["services"]["a/b"]["metadata"]["resourceVersion"] == "21"


def test_kubeconfig_from_environment_and_edge_once(standin, tmp_path,
                                                   monkeypatch):
    """No --kubeconfig: $KUBECONFIG. Edge mode renders nodes and edge
    services (CONFIG.md second wave; edgefwd does not take them yet)."""
    for o in fixtures.load("rolling-update") + fixtures.load("kinds"):
        standin.state.apply(o)
    kc = tmp_path / "kc-env"
    kc.write_text(standin.kubeconfig())
    monkeypatch.setenv("KUBECONFIG", str(kc))
    s = make_sync(standin, tmp_path, kubeconfig=None, edge=True, node=None,
                  once=True)
    assert s.run_once() == 0
    text = (tmp_path / "edgefwd.conf").read_text()
    assert '{ name = "node-a"; address = "10.0.0.1"; }' in text
    assert 'mode = "edge";' in text and 'name = "shop/web";' in text
    assert 'name = "edge/ingress"' not in text      # a NodePort: not edge
    no_rejections(standin)


def test_cli_without_any_kubeconfig_fails_cleanly(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    base = tmp_path / "base.conf"
    base.write_text(ek.base_text())
    rc = mod.main(["--node", "node-a", "--base", str(base), "--out",
                   str(tmp_path / "o.conf"), "--once"])
    assert rc == 2          # not in a cluster: the in-cluster config fails
