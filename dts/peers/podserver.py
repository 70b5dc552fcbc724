#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A pod's server for the end-to-end suites: tells who it is and whom it saw.

TCP (HTTP/1.0, one thread per connection):
  GET /               {"pod", "client", "client_port"}
  GET /healthz        200 {"pod", "ok": true} (for HTTP health checks)
  GET /blob?size=N    N bytes of dts/peers/payload.py's stream, header X-SHA256
  POST /upload        {"pod", "client", "client_port", "sha256", "length"}
UDP: each datagram is answered with
  {"pod", "client", "client_port", "echo": <payload as text>}

Every answer carries the header X-Pod. Standard library only, quiet, prints
"podserver: ready" once both sockets listen; SIGTERM/SIGINT end it.
"""

import argparse
import hashlib
import http.server
import json
import os
import signal
import socket
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import payload  # noqa: E402

MAX_BLOB = 1 << 31


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "podserver"
    sys_version = ""

    def log_message(self, fmt, *args):
        """Quiet: the suites read what the server saw from its answers."""

    def whoami(self):
        return {
            "pod": self.server.pod_name,
            "client": self.client_address[0],
            "client_port": self.client_address[1],
        }

    def send_json(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Pod", self.server.pod_name)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/":
            self.send_json(200, self.whoami())
        elif url.path == "/healthz":
            self.send_json(200, {"pod": self.server.pod_name, "ok": True})
        elif url.path == "/blob":
            self.blob(urllib.parse.parse_qs(url.query))
        else:
            self.send_json(404, {"pod": self.server.pod_name,
                                 "error": "not found"})

    do_HEAD = do_GET

    def blob(self, query):
        try:
            size = int(query.get("size", ["0"])[0])
        except ValueError:
            size = -1
        if size < 0 or size > MAX_BLOB:
            self.send_json(400, {"pod": self.server.pod_name,
                                 "error": "size must be 0..%d" % MAX_BLOB})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("X-SHA256", payload.sha256(size))
        self.send_header("X-Pod", self.server.pod_name)
        self.end_headers()
        if self.command == "HEAD":
            return
        for piece in payload.stream(size):
            self.wfile.write(piece)

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/upload":
            self.send_json(404, {"pod": self.server.pod_name,
                                 "error": "not found"})
            return
        try:
            left = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.send_json(411, {"pod": self.server.pod_name,
                                 "error": "Content-Length required"})
            return
        h = hashlib.sha256()
        length = 0
        while left > 0:
            data = self.rfile.read(min(left, 256 * 1024))
            if not data:
                break
            h.update(data)
            length += len(data)
            left -= len(data)
        answer = self.whoami()
        answer.update({"sha256": h.hexdigest(), "length": length})
        self.send_json(200, answer)


class TCPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        """A peer that resets mid-transfer is normal in these suites."""


class TCPServer6(TCPServer):
    """IPv6 only (IPV6_V6ONLY), beside the IPv4 one: IPv4 clients keep
    their dotted-quad text in the answers."""
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


def serve_udp(sock, name, stop):
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(65535)
        except socket.timeout:
            continue
        except OSError:
            return
        answer = {
            "pod": name,
            "client": peer[0],
            "client_port": peer[1],
            "echo": data.decode("utf-8", "replace"),
        }
        try:
            sock.sendto(json.dumps(answer).encode(), peer)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True, help="pod name to report")
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--bind6", default="",
                    help="also listen on this IPv6 address (same ports)")
    ap.add_argument("--tcp-port", type=int, default=8080)
    ap.add_argument("--udp-port", type=int, default=5353,
                    help="0 disables UDP")
    args = ap.parse_args()

    stop = threading.Event()
    tcp = TCPServer((args.bind, args.tcp_port), Handler)
    tcp.pod_name = args.name
    servers = [tcp]
    udps = []
    if args.bind6:
        tcp6 = TCPServer6((args.bind6, args.tcp_port), Handler)
        tcp6.pod_name = args.name
        servers.append(tcp6)
        threading.Thread(target=tcp6.serve_forever, args=(0.2,),
                         daemon=True).start()
    if args.udp_port:
        for fam, addr in ((socket.AF_INET, args.bind),
                          (socket.AF_INET6, args.bind6)):
            if not addr:
                continue
            udp = socket.socket(fam, socket.SOCK_DGRAM)
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            udp.bind((addr, args.udp_port))
            udp.settimeout(0.2)
            udps.append(udp)
            threading.Thread(target=serve_udp, args=(udp, args.name, stop),
                             daemon=True).start()

    def on_signal(signum, frame):
        stop.set()
        for srv in servers:
            threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("podserver: ready", flush=True)
    tcp.serve_forever(poll_interval=0.2)
    for srv in servers:
        srv.server_close()
    for udp in udps:
        udp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
