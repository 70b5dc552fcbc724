#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""PROXY protocol peers for dts/tests/test_proxy.py (standard library only).

server --port P [--banner]
    Every connection must start with a PROXY header (v1 line or v2 binary,
    checked strictly); a connection that does not is closed. Then:
    --banner: the server speaks first ("220 <client>:<port>\\r\\n", the
    address from the header) and answers "QUIT" with "221 bye".
    Otherwise a command line: "UP <n>" reads n bytes and answers
    "<sha256> <client>"; "DOWN <n>" sends n bytes of payload.stream().
    Prints "proxypeer: ready" when listening.
banner HOST PORT           connect, print the banner as JSON, QUIT.
upload HOST PORT SIZE      send SIZE bytes of payload.stream(), print JSON.
download HOST PORT SIZE    receive SIZE bytes, print JSON with their sha256.
get HOST PORT COUNT        COUNT HTTP/1.0 GETs of /, one connection each;
                           print JSON: statuses and bodies.
"""

import argparse
import hashlib
import json
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import payload  # noqa: E402

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        d = conn.recv(n - len(buf))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += d
    return buf


def read_header(conn):
    """(version, client address, client port) of the PROXY header."""
    first = recv_exact(conn, 12)
    if first == V2_SIG:
        rest = recv_exact(conn, 4)
        if rest[0] != 0x21 or rest[1] != 0x11:
            raise ValueError("v2: not PROXY TCP4: %r" % rest)
        length = struct.unpack(">H", rest[2:4])[0]
        body = recv_exact(conn, length)
        src = socket.inet_ntoa(body[0:4])
        sport = struct.unpack(">H", body[8:10])[0]
        return "v2", src, sport
    if not first.startswith(b"PROXY "):
        raise ValueError("no PROXY header: %r" % first)
    line = first
    while not line.endswith(b"\r\n"):
        if len(line) > 107:
            raise ValueError("v1 line too long")
        line += recv_exact(conn, 1)
    parts = line[:-2].decode().split(" ")
    if len(parts) != 6 or parts[1] != "TCP4":
        raise ValueError("bad v1 line %r" % line)
    socket.inet_aton(parts[2])
    socket.inet_aton(parts[3])
    return "v1", parts[2], int(parts[4])


def read_line(conn):
    line = b""
    while not line.endswith(b"\n"):
        line += recv_exact(conn, 1)
    return line.decode().strip()


def serve_one(conn, banner):
    try:
        version, client, cport = read_header(conn)
        if banner:
            conn.sendall(("220 %s:%d %s\r\n" % (client, cport, version))
                         .encode())
            if read_line(conn) == "QUIT":
                conn.sendall(b"221 bye\r\n")
            return
        cmd, n = read_line(conn).split(" ")
        n = int(n)
        if cmd == "UP":
            h = hashlib.sha256()
            left = n
            while left > 0:
                d = conn.recv(min(left, 1 << 16))
                if not d:
                    raise EOFError("upload cut at %d" % (n - left))
                h.update(d)
                left -= len(d)
            conn.sendall(("%s %s\n" % (h.hexdigest(), client)).encode())
        elif cmd == "DOWN":
            for piece in payload.stream(n):
                conn.sendall(piece)
    except (OSError, ValueError, EOFError) as e:
        print("proxypeer: connection refused: %s" % e, flush=True)
    finally:
        conn.close()


def server(args):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", args.port))
    s.listen(128)
    print("proxypeer: ready", flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve_one, args=(conn, args.banner),
                         daemon=True).start()


def connect(args):
    return socket.create_connection((args.host, args.port), timeout=60)


def banner(args):
    c = connect(args)
    line = b""
    while not line.endswith(b"\n"):
        d = c.recv(1)
        if not d:
            break
        line += d
    c.sendall(b"QUIT\r\n")
    bye = c.recv(64)
    c.close()
    print(json.dumps({"banner": line.decode().strip(),
                      "bye": bye.decode().strip()}))


def upload(args):
    c = connect(args)
    c.sendall(("UP %d\n" % args.size).encode())
    for piece in payload.stream(args.size):
        c.sendall(piece)
    answer = b""
    while not answer.endswith(b"\n"):
        d = c.recv(256)
        if not d:
            break
        answer += d
    c.close()
    sha, _, client = answer.decode().strip().partition(" ")
    print(json.dumps({"sha256": sha, "client": client,
                      "expected": payload.sha256(args.size)}))


def download(args):
    c = connect(args)
    c.sendall(("DOWN %d\n" % args.size).encode())
    h = hashlib.sha256()
    n = 0
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        h.update(d)
        n += len(d)
    c.close()
    print(json.dumps({"sha256": h.hexdigest(), "length": n,
                      "expected": payload.sha256(args.size)}))


def get(args):
    import http.client
    out = []
    for _ in range(args.size):
        try:
            c = http.client.HTTPConnection(args.host, args.port, timeout=10)
            c.request("GET", "/")
            r = c.getresponse()
            out.append({"status": r.status, "body": r.read().decode()})
            c.close()
        except OSError as e:
            out.append({"status": 0, "body": str(e)})
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--banner", action="store_true")
    for name in ("banner", "upload", "download", "get"):
        p = sub.add_parser(name)
        p.add_argument("host")
        p.add_argument("port", type=int)
        if name != "banner":
            p.add_argument("size", type=int)
    args = ap.parse_args()
    {"server": server, "banner": banner, "upload": upload,
     "download": download, "get": get}[args.cmd](args)


if __name__ == "__main__":
    main()
