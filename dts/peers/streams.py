#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Long-lived TCP connections for the failover suites, run inside a
namespace: COUNT uploads (POST /upload to dts/peers/podserver.py), each on
its own socket (its own source port), each sending one 4 KiB chunk of
dts/peers/payload.py's stream every INTERVAL seconds for SECONDS, then
reading the pod's answer, whose SHA-256 of what arrived must be the
stream's: a connection that lost, duplicated or reordered a byte, was
reset or stalled fails.

  streams.py URL --count N --seconds S [--interval 0.1] [--ready FILE]

Writes FILE (a JSON list of the local ports) once every connection is
open and has sent its first chunk;
prints one JSON list on stdout: per connection local_port, ok, pod,
error, sent. Standard library only.
"""

import argparse
import json
import os
import selectors
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import payload  # noqa: E402


def describe(exc):
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, BrokenPipeError):
        return "broken pipe"
    return "%s: %s" % (type(exc).__name__, exc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--ready")
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()
    u = urllib.parse.urlsplit(args.url)
    host, port = u.hostname, u.port or 80
    ticks = max(1, int(args.seconds / args.interval))
    size = ticks * payload.CHUNK
    conns = []
    for _ in range(args.count):
        r = {"ok": False, "sent": 0}
        try:
            s = socket.create_connection((host, port), timeout=3)
            s.settimeout(args.timeout)
            r["local_port"] = s.getsockname()[1]
            s.sendall(("POST /upload HTTP/1.0\r\nHost: %s\r\n"
                       "Content-Length: %d\r\n\r\n" % (host, size)).encode())
            s.sendall(payload.chunk(0))
            r["sent"] = 1
        except OSError as exc:
            r["error"] = "connect: " + describe(exc)
            s = None
        conns.append((s, r))
    if args.ready:
        tmp = args.ready + ".tmp"
        with open(tmp, "w") as f:
            json.dump([r["local_port"] for s, r in conns if s is not None],
                      f)
        os.replace(tmp, args.ready)
    # non-blocking from here: a stalled connection queues its chunks
    # (pending) and never holds up the others
    pending = {}
    for s, r in conns:
        if s is not None:
            s.setblocking(False)
            pending[s] = bytearray()

    def push(s, r):
        try:
            n = s.send(pending[s])
            del pending[s][:n]
        except BlockingIOError:
            pass
        except OSError as exc:
            r["error"] = "send: " + describe(exc)
    start = time.monotonic()
    for i in range(1, ticks):
        delay = start + i * args.interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        for s, r in conns:
            if s is None or "error" in r:
                continue
            pending[s] += payload.chunk(i)
            r["sent"] = i + 1
            push(s, r)
    want = payload.sha256(size)
    # the answers, all at once: a stalled connection must not hold up
    # the others (one deadline for every connection)
    sel = selectors.DefaultSelector()
    data = {}
    for s, r in conns:
        if s is None:
            continue
        if "error" in r:
            s.close()
            continue
        s.setblocking(False)
        data[s] = b""
        sel.register(s, selectors.EVENT_READ, r)
    deadline = time.monotonic() + args.timeout
    while data and time.monotonic() < deadline:
        for s in data:
            if pending.get(s):
                push(s, sel.get_key(s).data)
        events = sel.select(timeout=min(0.05, max(0.0, deadline -
                                                  time.monotonic())))
        for key, _ in events:
            s, r = key.fileobj, key.data
            try:
                piece = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError as exc:
                r["error"] = "answer: " + describe(exc)
                piece = None
            if piece:
                data[s] += piece
                continue
            if "error" not in r:
                head, _, body = data[s].partition(b"\r\n\r\n")
                try:
                    answer = json.loads(body)
                    r["pod"] = answer.get("pod")
                    r["ok"] = answer.get("sha256") == want and \
                        answer.get("length") == size
                    if not r["ok"]:
                        r["error"] = "payload mismatch (%s bytes " \
                            "arrived)" % answer.get("length")
                except ValueError:
                    r["error"] = "answer: not JSON (%d bytes)" % len(data[s])
            sel.unregister(s)
            s.close()
            del data[s]
    for s in list(data):
        sel.get_key(s).data["error"] = "answer: timeout"
        sel.unregister(s)
        s.close()
    json.dump([r for _, r in conns], sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
