#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Test client run inside a namespace (ip netns exec NS /usr/bin/python3 ...).

One process makes a bounded batch of requests, each on a new socket (so each
gets a new source port), and prints one JSON document on stdout describing
every attempt, so that the suites assert on what the servers saw.

  get URL [--count N] [--sources A,B,...]
                                 GET, record the JSON answer (sources:
                                 local addresses bound in turn)
  blob URL --size N              download, SHA-256 it, time it
  upload URL --size N [--count N] [--until-pod NAME]
                                 POST the deterministic payload
  udp HOST PORT [--count N]      one datagram per socket, record the answer

Standard library only.
"""

import argparse
import errno
import hashlib
import http.client
import json
import os
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import payload  # noqa: E402


def describe(exc):
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if getattr(exc, "errno", None) == errno.EHOSTUNREACH:
        return "unreachable"
    return "%s: %s" % (type(exc).__name__, exc)


def connect(url, connect_timeout, timeout, source=None):
    """HTTP connection whose connect phase has its own (short) timeout."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    port = parts.port or 80
    sock = socket.create_connection((host, port), timeout=connect_timeout,
                                    source_address=(source, 0)
                                    if source else None)
    sock.settimeout(timeout)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.sock = sock
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return conn, path, sock.getsockname()[1]


def one_get(url, args, source=None):
    result = {"ok": False, "phase": "connect"}
    if source:
        result["source"] = source
    try:
        conn, path, lport = connect(url, args.connect_timeout, args.timeout,
                                    source)
        result["local_port"] = lport
        result["phase"] = "request"
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            result["status"] = resp.status
            result["headers"] = dict(resp.getheaders())
            try:
                result["body"] = json.loads(body)
            except ValueError:
                result["text"] = body.decode("utf-8", "replace")[:512]
            result["ok"] = True
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as exc:
        result["error"] = describe(exc)
    return result


def cmd_get(args):
    srcs = args.sources.split(",") if args.sources else [None]
    return [one_get(args.url, args, srcs[i % len(srcs)])
            for i in range(args.count)]


def cmd_blob(args):
    result = {"ok": False, "phase": "connect",
              "expected_sha256": payload.sha256(args.size)}
    start = time.monotonic()
    try:
        url = "%s?size=%d" % (args.url, args.size)
        conn, path, lport = connect(url, args.connect_timeout, args.timeout)
        result["local_port"] = lport
        result["phase"] = "transfer"
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            result["status"] = resp.status
            result["pod"] = resp.getheader("X-Pod")
            result["header_sha256"] = resp.getheader("X-SHA256")
            h = hashlib.sha256()
            got = 0
            while True:
                data = resp.read(256 * 1024)
                if not data:
                    break
                h.update(data)
                got += len(data)
            result["bytes"] = got
            result["sha256"] = h.hexdigest()
            result["ok"] = True
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as exc:
        result["error"] = describe(exc)
    result["seconds"] = time.monotonic() - start
    if result.get("bytes"):
        result["mb_per_s"] = result["bytes"] / 1e6 / result["seconds"]
    return result


def one_upload(args):
    result = {"ok": False, "phase": "connect",
              "expected_sha256": payload.sha256(args.size)}
    start = time.monotonic()
    try:
        conn, path, lport = connect(args.url, args.connect_timeout,
                                    args.timeout)
        result["local_port"] = lport
        result["phase"] = "transfer"
        try:
            conn.putrequest("POST", path)
            conn.putheader("Content-Length", str(args.size))
            conn.putheader("Content-Type", "application/octet-stream")
            conn.endheaders()
            for piece in payload.stream(args.size):
                conn.send(piece)
            resp = conn.getresponse()
            result["status"] = resp.status
            result["body"] = json.loads(resp.read())
            result["ok"] = True
        finally:
            conn.close()
    except (OSError, ValueError, http.client.HTTPException) as exc:
        result["error"] = describe(exc)
    result["seconds"] = time.monotonic() - start
    return result


def cmd_upload(args):
    results = []
    for _ in range(args.count):
        r = one_upload(args)
        results.append(r)
        if args.until_pod and r.get("body", {}).get("pod") == args.until_pod:
            break
        if args.until_pod and not r["ok"] and r["phase"] == "transfer":
            # A transfer that stalls is the failure the caller looks for.
            break
    return results


def cmd_udp(args):
    results = []
    for i in range(args.count):
        result = {"ok": False}
        v6 = ":" in args.host
        sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET,
                             socket.SOCK_DGRAM)
        sock.settimeout(args.timeout)
        try:
            sock.bind(("::" if v6 else "0.0.0.0", 0))
            result["local_port"] = sock.getsockname()[1]
            msg = "%s %d" % (args.message, i)
            sock.sendto(msg.encode(), (args.host, args.port))
            data, peer = sock.recvfrom(65535)
            result["from"] = ("[%s]:%d" if v6 else "%s:%d") % peer[:2]
            result["body"] = json.loads(data)
            result["ok"] = result["body"].get("echo") == msg
            if not result["ok"]:
                result["error"] = "echo mismatch"
        except (OSError, ValueError) as exc:
            result["error"] = describe(exc)
        finally:
            sock.close()
        results.append(result)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, timeout):
        p.add_argument("--connect-timeout", type=float, default=2.0)
        p.add_argument("--timeout", type=float, default=timeout)

    p = sub.add_parser("get")
    p.add_argument("url")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--sources", default="")
    common(p, 5.0)
    p = sub.add_parser("blob")
    p.add_argument("url")
    p.add_argument("--size", type=int, required=True)
    common(p, 20.0)
    p = sub.add_parser("upload")
    p.add_argument("url")
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--until-pod")
    common(p, 10.0)
    p = sub.add_parser("udp")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--message", default="hello")
    args = ap.parse_args()

    fn = {"get": cmd_get, "blob": cmd_blob, "upload": cmd_upload,
          "udp": cmd_udp}[args.cmd]
    json.dump(fn(args), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
