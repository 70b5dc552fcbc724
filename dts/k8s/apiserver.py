# SPDX-License-Identifier: BSD-3-Clause
"""A stand-in Kubernetes API server for edgefwd-k8s's tests.

There is no API server on these machines. This one speaks the wire
protocol the official client uses for what edgefwd-k8s needs, and is
strict about it, so that the tests check the client's use of the API:

  GET   /api/v1/services                         list / watch (all namespaces)
  GET   /apis/discovery.k8s.io/v1/endpointslices list / watch
  GET   /api/v1/nodes                            list / watch
  GET   the namespaced lists of services and endpointslices
  PATCH /api/v1/namespaces/NS/services/NAME/status

Lists carry metadata.resourceVersion and page with limit/continue
(a consistent snapshot; a continue token older than the compacted
revision is 410 Expired). ?watch=1&resourceVersion=N&allowWatchBookmarks=
true streams newline-delimited WatchEvents (ADDED, MODIFIED, DELETED,
BOOKMARK) in chunked encoding; a resourceVersion older than the compacted
revision gets, as the real server does, a 200 stream holding one ERROR
event with a Status of code 410, then the end. timeoutSeconds ends a watch.

Rejected as the real server (with the RBAC of the README's ClusterRole)
would: no or a wrong bearer token (401), any other verb or resource (403
Forbidden), an unknown path (404), a bad or unknown query parameter or a
non-numeric resourceVersion (400), continue with watch (400), an Accept
without JSON (406), a PATCH content type other than merge / strategic /
json patch (415), a body that is not JSON (400), a patch whose
metadata.resourceVersion is not the current one (409 Conflict), an ingress
address that is not an IP (422). Stricter than the real server: unknown
query parameters and label/field selectors (unused) are refused too.

Objects come from YAML (kubectl get -o yaml shape, a List or documents);
the server assigns resourceVersion (one counter, like etcd), uid and
creationTimestamp when missing.

Control (tests, bench): an HTTP server on a unix socket (reachable from any
network namespace): POST /apply, /delete, /compact, /kill-watches,
/expire-watches, /down, /up; GET /object, /stats. Admin (below) is its
client.

  /usr/bin/python3 dts/k8s/apiserver.py --port 6443 --admin SOCK \
      --kubeconfig-out FILE [--bookmark-interval S] [FIXTURE.yaml ...]
"""

import argparse
import base64
import copy
import http.client
import http.server
import ipaddress
import json
import queue
import re
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
import uuid

import yaml

KINDS = {
    # kind -> (resource, group/version, namespaced, list kind)
    "Service": ("services", "v1", True, "ServiceList"),
    "EndpointSlice": ("endpointslices", "discovery.k8s.io/v1", True,
                      "EndpointSliceList"),
    "Node": ("nodes", "v1", False, "NodeList"),
}
RESOURCES = {v[0]: k for k, v in KINDS.items()}
KNOWN_RESOURCES = {"pods", "endpoints", "configmaps", "secrets", "events",
                   "namespaces", "serviceaccounts", "leases"}
LIST_PARAMS = {"watch", "resourceVersion", "resourceVersionMatch",
               "allowWatchBookmarks", "timeoutSeconds", "limit", "continue",
               "pretty", "sendInitialEvents", "labelSelector",
               "fieldSelector"}
PATCH_PARAMS = {"dryRun", "fieldManager", "fieldValidation", "force",
                "pretty"}
PATCH_TYPES = ("application/merge-patch+json",
               "application/strategic-merge-patch+json",
               "application/json-patch+json")
USER = "system:serviceaccount:edgefwd:edgefwd-k8s"


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_bool(text):
    # Go's strconv.ParseBool
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(text)


def status(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {},
         "status": "Failure", "message": message, "reason": reason,
         "code": code}
    if details:
        s["details"] = details
    return s


class ApiError(Exception):
    def __init__(self, code, reason, message):
        super().__init__(message)
        self.status = status(code, reason, message)


def load_objects(text):
    """Objects of a YAML text: documents, Lists expanded."""
    out = []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        if doc.get("kind") == "List" or doc.get("kind", "").endswith("List") \
                and "items" in doc:
            for it in doc.get("items") or []:
                out.append(it)
        else:
            out.append(doc)
    return out


def merge_patch(target, patch):
    """RFC 7386 (strategic merge of a Service's status is the same: its
    lists have no merge key and are replaced)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_patch(doc, ops):
    """RFC 6902 add / replace / remove / test."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json patch must be a list")
    for op in ops:
        path = op.get("path", "")
        parts = [p.replace("~1", "/").replace("~0", "~")
                 for p in path.split("/")[1:]]
        if not parts:
            raise ApiError(422, "Invalid", "json patch path %r" % path)
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else \
                parent.setdefault(p, {})
        last = parts[-1]
        kind = op.get("op")
        if kind == "test":
            cur = parent[int(last)] if isinstance(parent, list) else \
                parent.get(last)
            if cur != op.get("value"):
                raise ApiError(422, "Invalid", "json patch test %s failed"
                               % path)
        elif kind in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                else:
                    parent.insert(int(last), op["value"]) if kind == "add" \
                        else parent.__setitem__(int(last), op["value"])
            else:
                parent[last] = op["value"]
        elif kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            elif last in parent:
                del parent[last]
            else:
                raise ApiError(422, "Invalid", "remove of missing %s" % path)
        else:
            raise ApiError(422, "Invalid", "json patch op %r" % kind)
    return doc


class State:
    """Objects, one revision counter, the event history since the
    compacted revision, the watchers."""

    def __init__(self, bookmark_interval=1.0):
        self.lock = threading.RLock()
        self.rv = 100
        self.compacted = 0
        self.objs = {r: {} for r in RESOURCES}
        self.history = []            # (rv, resource, type, obj)
        self.watchers = set()        # Watch
        self.snapshots = {}          # token id -> (rv, [objs])
        self.bookmark_interval = bookmark_interval
        self.counts = {}
        self.rejected = []
        self.patches = []

    @staticmethod
    def key(obj):
        m = obj.get("metadata") or {}
        return "%s/%s" % (m["namespace"], m["name"]) if m.get("namespace") \
            else m["name"]

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def _emit(self, res, typ, obj):
        self.history.append((self.rv, res, typ, obj))
        for w in list(self.watchers):
            if w.resource == res and (w.namespace is None or
                                      w.namespace == obj["metadata"].get(
                                          "namespace")):
                w.q.put((typ, obj))

    def apply(self, obj):
        """Create or replace obj (its status too: this is the test's hand,
        not a client's); returns the stored object."""
        kind = obj.get("kind")
        if kind not in KINDS:
            raise ValueError("stand-in does not serve kind %r" % kind)
        res, gv, namespaced, _ = KINDS[kind]
        obj = copy.deepcopy(obj)
        m = obj.setdefault("metadata", {})
        if namespaced:
            m.setdefault("namespace", "default")
        with self.lock:
            k = self.key(obj)
            old = self.objs[res].get(k)
            self.rv += 1
            m["resourceVersion"] = str(self.rv)
            if old is not None:
                m["uid"] = old["metadata"]["uid"]
                m["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            else:
                m.setdefault("uid", str(uuid.uuid4()))
                m.setdefault("creationTimestamp", now_rfc3339())
            obj["apiVersion"], obj["kind"] = gv, kind
            self.objs[res][k] = obj
            self._emit(res, "MODIFIED" if old is not None else "ADDED", obj)
            return obj

    def delete(self, res, key):
        with self.lock:
            old = self.objs[res].pop(key, None)
            if old is None:
                return None
            self.rv += 1
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self._emit(res, "DELETED", gone)
            return gone

    def compact(self):
        """Forget the history: every resourceVersion older than now is
        expired (as etcd compaction does)."""
        with self.lock:
            self.compacted = self.rv
            self.history = []
            self.snapshots = {k: v for k, v in self.snapshots.items()
                              if v[0] >= self.compacted}
            return self.rv


class Watch:
    def __init__(self, resource, namespace, sock):
        self.resource, self.namespace, self.sock = resource, namespace, sock
        self.q = queue.Queue()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "edgefwd-standin-apiserver"

    def log_message(self, fmt, *args):
        pass

    @property
    def st(self):
        return self.server.state

    # -- plumbing --------------------------------------------------------

    def send_json(self, code, body):
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def reject(self, code, reason, message):
        with self.st.lock:
            self.st.rejected.append({"code": code, "reason": reason,
                                     "message": message,
                                     "request": "%s %s" % (self.command,
                                                           self.path)})
        self.send_json(code, status(code, reason, message))

    def forbidden(self, verb, res, ns=None, name=None):
        what = '%s "%s"' % (res, name) if name else res
        where = ' in the namespace "%s"' % ns if ns else " at the cluster scope"
        group = 'API group "discovery.k8s.io"' if res == "endpointslices" \
            else 'API group ""'
        self.reject(403, "Forbidden", '%s is forbidden: User "%s" cannot %s '
                    'resource "%s" in %s%s' % (what, USER, verb, res, group,
                                               where))

    def auth_ok(self):
        want = "Bearer " + self.server.token
        if self.headers.get("Authorization") != want:
            self.reject(401, "Unauthorized", "Unauthorized")
            return False
        return True

    def route(self):
        """(resource, namespace, name, subresource) or None."""
        u = urllib.parse.urlsplit(self.path)
        p = u.path.rstrip("/") if u.path != "/" else u.path
        m = re.fullmatch(r"/api/v1(?:/namespaces/([^/]+))?/([a-z]+)"
                         r"(?:/([^/]+))?(?:/([a-z]+))?", p) or \
            re.fullmatch(r"/apis/discovery\.k8s\.io/v1(?:/namespaces/([^/]+))?"
                         r"/(endpointslices)(?:/([^/]+))?(?:/([a-z]+))?", p)
        if not m:
            return None
        ns, res, name, sub = m.groups()
        if p.startswith("/apis/") != (res == "endpointslices"):
            return None
        if res not in RESOURCES and res not in KNOWN_RESOURCES:
            return None
        if res == "nodes" and ns is not None:
            return None
        if sub is not None and (res, sub) not in (("services", "status"),
                                                  ("nodes", "status"),
                                                  ("pods", "status"),
                                                  ("pods", "log")):
            return None
        return res, ns, name, sub

    def query(self, allowed):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query,
                                  keep_blank_values=True)
        out = {}
        for k, v in q.items():
            if k not in allowed:
                raise ApiError(400, "BadRequest",
                               "unknown query parameter %r" % k)
            if len(v) != 1:
                raise ApiError(400, "BadRequest", "%s given %d times"
                               % (k, len(v)))
            out[k] = v[0]
        return out

    # -- verbs ---------------------------------------------------------

    def do_GET(self):
        self.st.count("requests")
        if not self.auth_ok():
            return
        r = self.route()
        if r is None:
            self.reject(404, "NotFound",
                        "the server could not find the requested resource")
            return
        res, ns, name, sub = r
        acc = self.headers.get("Accept", "*/*")
        if not re.search(r"application/json|\*/\*|application/\*", acc):
            self.reject(406, "NotAcceptable", "only application/json is "
                        "served, not %s" % acc)
            return
        if res not in RESOURCES or name is not None:
            self.forbidden("get" if name else "list", res, ns, name)
            return
        try:
            q = self.query(LIST_PARAMS)
            if "labelSelector" in q or "fieldSelector" in q:
                raise ApiError(400, "BadRequest",
                               "stand-in: selectors are not supported")
            watch = parse_bool(q["watch"]) if "watch" in q else False
            for b in ("allowWatchBookmarks",):
                if b in q:
                    parse_bool(q[b])
            rv = q.get("resourceVersion")
            if rv is not None and rv != "" and not rv.isdigit():
                raise ApiError(400, "BadRequest", "resourceVersion: Invalid "
                               "value: %r: strconv.ParseUint: parsing %r: "
                               "invalid syntax" % (rv, rv))
            if "resourceVersionMatch" in q:
                if watch:
                    raise ApiError(400, "BadRequest", "resourceVersionMatch "
                                   "is forbidden for watch")
                if not rv:
                    raise ApiError(400, "BadRequest", "resourceVersionMatch "
                                   "is forbidden unless resourceVersion is "
                                   "provided")
                if q["resourceVersionMatch"] not in ("Exact", "NotOlderThan"):
                    raise ApiError(400, "BadRequest",
                                   "resourceVersionMatch: Unsupported value")
            for n in ("timeoutSeconds", "limit"):
                if n in q and not q[n].isdigit():
                    raise ApiError(400, "BadRequest", "%s: Invalid value %r"
                                   % (n, q[n]))
            if watch and ("continue" in q or "limit" in q):
                raise ApiError(400, "BadRequest",
                               "continue and limit are not supported by watch")
        except ApiError as exc:
            self.reject(exc.status["code"], exc.status["reason"],
                        exc.status["message"])
            return
        except ValueError as exc:
            self.reject(400, "BadRequest", "invalid boolean %s" % exc)
            return
        if watch:
            self.st.count("watch " + res)
            self.serve_watch(res, ns, q)
        else:
            self.st.count("list " + res)
            self.serve_list(res, ns, q)

    def serve_list(self, res, ns, q):
        st = self.st
        kind = RESOURCES[res]
        with st.lock:
            rv = q.get("resourceVersion")
            if rv and int(rv) > st.rv:
                self.reject(504, "Timeout", "Too large resource version: "
                            "%s, current: %d" % (rv, st.rv))
                return
            if rv and q.get("resourceVersionMatch") == "Exact" and \
                    int(rv) != st.rv:
                self.reject(410, "Expired", "too old resource version: %s "
                            "(%d)" % (rv, st.compacted))
                return
            cont = q.get("continue")
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont))
                    snap_rv, sid, start = tok["rv"], tok["id"], tok["start"]
                except (ValueError, KeyError, TypeError):
                    self.reject(400, "BadRequest", "continue key is not valid")
                    return
                snap = st.snapshots.get(sid)
                if snap is None or snap_rv < st.compacted:
                    self.reject(410, "Expired", "The provided continue "
                                "parameter is too old to display a "
                                "consistent list result. You can start a new "
                                "list without the continue parameter.")
                    return
                list_rv, items = snap
            else:
                items = [o for k, o in sorted(st.objs[res].items())
                         if ns is None or o["metadata"].get("namespace") == ns]
                list_rv, start, sid = st.rv, 0, None
            limit = int(q.get("limit") or 0)
            md = {"resourceVersion": str(list_rv)}
            page = items[start:start + limit] if limit else items[start:]
            if limit and start + limit < len(items):
                if sid is None:
                    sid = uuid.uuid4().hex
                    st.snapshots[sid] = (list_rv, items)
                md["continue"] = base64.urlsafe_b64encode(json.dumps(
                    {"rv": list_rv, "id": sid, "start": start + limit})
                    .encode()).decode()
                md["remainingItemCount"] = len(items) - start - limit
            elif sid is not None:
                st.snapshots.pop(sid, None)
            gv = KINDS[kind][1]
            body = {"kind": KINDS[kind][3], "apiVersion": gv, "metadata": md,
                    "items": [{k: v for k, v in o.items()
                               if k not in ("kind", "apiVersion")}
                              for o in page]}
        self.send_json(200, body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def serve_watch(self, res, ns, q):
        st = self.st
        rv = q.get("resourceVersion") or "0"
        bookmarks = parse_bool(q.get("allowWatchBookmarks", "false"))
        timeout = int(q.get("timeoutSeconds") or 1800)
        w = Watch(res, ns, self.connection)
        initial, expired = [], False
        with st.lock:
            if rv == "0":
                initial = [("ADDED", o) for _, o in sorted(st.objs[res].items())
                           if ns is None or o["metadata"].get("namespace") == ns]
            elif int(rv) < st.compacted:
                expired = True
            elif int(rv) > st.rv:
                # the real server waits for it; nobody should ask
                expired = False
                initial = []
            else:
                initial = [(t, o) for r, rs, t, o in st.history
                           if rs == res and r > int(rv) and
                           (ns is None or o["metadata"].get("namespace") == ns)]
            if not expired:
                st.watchers.add(w)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        try:
            if expired:
                st.count("watch 410 " + res)
                self.chunk(json.dumps({"type": "ERROR", "object": status(
                    410, "Expired", "too old resource version: %s (%d)"
                    % (rv, st.compacted))}).encode() + b"\n")
                self.chunk(b"")
                return
            for typ, o in initial:
                self.chunk(json.dumps({"type": typ, "object": o}).encode()
                           + b"\n")
            end = time.monotonic() + timeout
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                try:
                    typ, o = w.q.get(timeout=min(left, st.bookmark_interval))
                except queue.Empty:
                    if bookmarks:
                        with st.lock:
                            cur = st.rv
                        kind = RESOURCES[res]
                        self.chunk(json.dumps({"type": "BOOKMARK", "object": {
                            "kind": kind, "apiVersion": KINDS[kind][1],
                            "metadata": {"resourceVersion": str(cur)}}})
                            .encode() + b"\n")
                    continue
                if typ == "CLOSE":
                    return
                if typ == "EXPIRE":
                    self.chunk(json.dumps({"type": "ERROR", "object": status(
                        410, "Expired", "too old resource version")}).encode()
                        + b"\n")
                    break
                self.chunk(json.dumps({"type": typ, "object": o}).encode()
                           + b"\n")
            self.chunk(b"")
        except OSError:
            self.close_connection = True
        finally:
            with st.lock:
                st.watchers.discard(w)

    def do_PATCH(self):
        self.st.count("requests")
        if not self.auth_ok():
            return
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        r = self.route()
        if r is None:
            self.reject(404, "NotFound",
                        "the server could not find the requested resource")
            return
        res, ns, name, sub = r
        if not (res == "services" and ns and name and sub == "status"):
            self.forbidden("patch", res + ("/" + sub if sub else ""), ns, name)
            return
        try:
            self.query(PATCH_PARAMS)
        except ApiError as exc:
            self.reject(400, "BadRequest", exc.status["message"])
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype not in PATCH_TYPES:
            self.reject(415, "UnsupportedMediaType", "the body of the request "
                        "was in an unknown format - accepted media types "
                        "include: %s" % ", ".join(PATCH_TYPES))
            return
        try:
            body = json.loads(raw)
        except ValueError as exc:
            self.reject(400, "BadRequest", "error decoding patch: %s" % exc)
            return
        st = self.st
        with st.lock:
            cur = st.objs["services"].get("%s/%s" % (ns, name))
            if cur is None:
                self.reject(404, "NotFound", 'services "%s" not found' % name)
                return
            try:
                if ctype == "application/json-patch+json":
                    new = json_patch(cur, body)
                else:
                    if not isinstance(body, dict):
                        raise ApiError(400, "BadRequest", "patch is not an "
                                       "object")
                    want = (body.get("metadata") or {}).get("resourceVersion")
                    if want is not None and want != \
                            cur["metadata"]["resourceVersion"]:
                        raise ApiError(409, "Conflict", 'Operation cannot be '
                                       'fulfilled on services "%s": the object '
                                       'has been modified; please apply your '
                                       'changes to the latest version and try '
                                       'again' % name)
                    new = merge_patch(cur, body)
                for ing in ((new.get("status") or {}).get("loadBalancer")
                            or {}).get("ingress") or []:
                    try:
                        ipaddress.ip_address(ing.get("ip", ""))
                    except ValueError:
                        if not ing.get("hostname"):
                            raise ApiError(422, "Invalid", "status.loadBalancer"
                                           ".ingress.ip: Invalid value: %r: "
                                           "must be a valid IP address"
                                           % ing.get("ip"))
            except ApiError as exc:
                self.reject(exc.status["code"], exc.status["reason"],
                            exc.status["message"])
                return
            # the status subresource changes the status only
            obj = copy.deepcopy(cur)
            obj["status"] = new.get("status") or {}
            stored = st.apply(obj)
            st.patches.append({"key": "%s/%s" % (ns, name),
                               "content_type": ctype, "body": body,
                               "status": stored["status"]})
            st.count("patch services/status")
        self.send_json(200, stored)

    def _forbid_verb(self):
        self.st.count("requests")
        if not self.auth_ok():
            return
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        r = self.route()
        if r is None:
            self.reject(404, "NotFound",
                        "the server could not find the requested resource")
            return
        res, ns, name, sub = r
        verb = {"POST": "create", "PUT": "update",
                "DELETE": "delete"}.get(self.command, self.command.lower())
        self.forbidden(verb, res + ("/" + sub if sub else ""), ns, name)

    do_POST = do_PUT = do_DELETE = _forbid_verb


class ApiHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, token):
        self.state, self.token = state, token
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, Handler)

    def process_request_thread(self, request, client_address):
        with self.conns_lock:
            self.conns.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.conns_lock:
                self.conns.discard(request)

    def drop_all(self):
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class StandIn:
    """The API server and its state; start(), down(), up(), stop()."""

    def __init__(self, host="127.0.0.1", port=0, token="edgefwd-test-token",
                 bookmark_interval=1.0):
        self.state = State(bookmark_interval)
        self.host, self.port, self.token = host, port, token
        self.httpd = None
        self.thread = None

    def start(self):
        self.httpd = ApiHTTPServer((self.host, self.port), self.state,
                                   self.token)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def down(self):
        """Stop listening and drop every connection (watches included)."""
        if self.httpd is None:
            return
        self.httpd.shutdown()
        self.httpd.server_close()
        self.kill_watches()
        self.httpd.drop_all()
        self.httpd = None

    def up(self):
        if self.httpd is None:
            self.start()

    stop = down

    def kill_watches(self, resource=None):
        """Cut the watch connections (the client sees a broken stream)."""
        with self.state.lock:
            ws = [w for w in self.state.watchers
                  if resource is None or w.resource == resource]
        for w in ws:
            try:
                w.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            w.q.put(("CLOSE", None))
        return len(ws)

    def expire_watches(self):
        """Send each watch a 410 ERROR event (the watch cache fell too far
        behind) and end it."""
        with self.state.lock:
            ws = list(self.state.watchers)
        for w in ws:
            w.q.put(("EXPIRE", None))
        return len(ws)

    def kubeconfig(self):
        return yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "standin", "cluster": {
                "server": "http://%s:%d" % (self.host, self.port)}}],
            "users": [{"name": "edgefwd-k8s", "user": {"token": self.token}}],
            "contexts": [{"name": "standin", "context": {
                "cluster": "standin", "user": "edgefwd-k8s"}}],
            "current-context": "standin"})

    def stats(self):
        st = self.state
        with st.lock:
            watches = {}
            for w in st.watchers:
                watches[w.resource] = watches.get(w.resource, 0) + 1
            return {"rv": st.rv, "compacted": st.compacted,
                    "counts": dict(st.counts), "rejected": list(st.rejected),
                    "watches": watches, "patches": list(st.patches),
                    "up": self.httpd is not None}


# --------------------------------------------------------------------------
# control over a unix socket

class AdminHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def address_string(self):
        return "admin"

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        s = self.server.standin
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/stats":
            self.reply(200, s.stats())
        elif u.path == "/object":
            with s.state.lock:
                o = s.state.objs.get(q.get("resource"), {}).get(q.get("key"))
            self.reply(200 if o else 404, o or {})
        else:
            self.reply(404, {"error": "unknown"})

    def do_POST(self):
        s = self.server.standin
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        p = urllib.parse.urlsplit(self.path).path
        try:
            if p == "/apply":
                objs = load_objects(raw.decode())
                t, mono = time.time(), time.monotonic()
                for o in objs:
                    s.state.apply(o)
                # mono: CLOCK_MONOTONIC, one clock for every process of
                # the machine, for intervals a wall-clock step cannot bend
                self.reply(200, {"rv": s.state.rv, "time": t, "mono": mono,
                                 "applied": len(objs)})
            elif p == "/delete":
                d = json.loads(raw)
                t, mono = time.time(), time.monotonic()
                gone = s.state.delete(d["resource"], d["key"])
                self.reply(200 if gone else 404, {"rv": s.state.rv, "time": t,
                                                  "mono": mono})
            elif p == "/compact":
                self.reply(200, {"rv": s.state.compact()})
            elif p == "/kill-watches":
                self.reply(200, {"killed": s.kill_watches()})
            elif p == "/expire-watches":
                self.reply(200, {"expired": s.expire_watches()})
            elif p == "/down":
                s.down()
                self.reply(200, {"up": False})
            elif p == "/up":
                s.up()
                self.reply(200, {"up": True, "port": s.port})
            else:
                self.reply(404, {"error": "unknown"})
        except Exception as exc:  # noqa: BLE001 - reported to the test
            self.reply(500, {"error": "%s: %s" % (type(exc).__name__, exc)})


class AdminServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _UnixConn(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Admin:
    """Client of the control socket."""

    def __init__(self, path):
        self.path = str(path)

    def _call(self, method, url, body=None):
        c = _UnixConn(self.path)
        try:
            data = body if isinstance(body, (bytes, type(None))) else \
                body.encode()
            c.request(method, url, body=data)
            r = c.getresponse()
            out = json.loads(r.read() or b"{}")
            if r.status >= 500:
                raise RuntimeError("stand-in: %s" % out.get("error"))
            return r.status, out
        finally:
            c.close()

    def apply(self, objs):
        """objs: YAML text, or a list of objects."""
        text = objs if isinstance(objs, str) else yaml.safe_dump_all(objs)
        return self._call("POST", "/apply", text)[1]

    def delete(self, resource, key):
        return self._call("POST", "/delete", json.dumps(
            {"resource": resource, "key": key}))[1]

    def get(self, resource, key):
        code, o = self._call("GET", "/object?" + urllib.parse.urlencode(
            {"resource": resource, "key": key}))
        return o if code == 200 else None

    def stats(self):
        return self._call("GET", "/stats")[1]

    def post(self, what):
        return self._call("POST", "/" + what)[1]


def serve(args):
    s = StandIn(args.host, args.port, args.token, args.bookmark_interval)
    for f in args.fixtures:
        with open(f) as fh:
            for o in load_objects(fh.read()):
                s.state.apply(o)
    s.start()
    if args.kubeconfig_out:
        with open(args.kubeconfig_out, "w") as fh:
            fh.write(s.kubeconfig())
    admin = None
    if args.admin:
        import os
        try:
            os.unlink(args.admin)
        except FileNotFoundError:
            pass
        admin = AdminServer(args.admin, AdminHandler)
        admin.standin = s
        threading.Thread(target=admin.serve_forever, daemon=True).start()
    print("apiserver: ready on %s:%d" % (args.host, s.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description="stand-in Kubernetes API server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default="edgefwd-test-token")
    ap.add_argument("--admin", help="control socket path")
    ap.add_argument("--kubeconfig-out", help="write a kubeconfig for it here")
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    ap.add_argument("fixtures", nargs="*")
    import signal
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    return serve(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
