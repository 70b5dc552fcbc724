#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A Linux node's kube-proxy health endpoints, for the edge suites.

  --port P (healthCheckNodePort of one Local service): any GET answers as
      kube-proxy's service health server does (TELEMETRY.md,
      "healthCheckNodePort"): 200 when the node has a ready local endpoint
      and the proxy is healthy, else 503; Content-Type application/json;
      header X-Load-Balancing-Endpoint-Weight: <local endpoints>; body
      {"service":{"namespace":..,"name":..},"localEndpoints":n,
       "serviceProxyHealthy":bool}
  --proxy-port P (kube-proxy's healthz, 10256): GET /healthz and /livez
      answer 200 {"lastUpdated":..,"currentTime":..} while the proxy is
      healthy, else 503; any other path 404.

The state lives in a JSON file ({"endpoints": n, "proxy_healthy": bool}),
read on every request, so a test changes what the node says by rewriting
that file (atomically: write aside, rename) and the very next request sees
it: no signal, no timing. Standard library only, quiet; prints
"healthserver: ready" once every socket listens; SIGTERM/SIGINT end it.
"""

import argparse
import datetime
import http.server
import json
import signal
import sys
import threading


def load_state(path):
    try:
        with open(path) as f:
            state = json.load(f)
    except (OSError, ValueError):
        # unreadable state: a node whose proxy is broken
        return 0, False
    return int(state.get("endpoints", 0)), bool(state.get("proxy_healthy",
                                                          True))


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "kube-proxy-health"
    sys_version = ""

    def log_message(self, fmt, *args):
        """Quiet: the suites read the answers."""

    def reply(self, code, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        endpoints, proxy_ok = load_state(self.server.state_path)
        if self.server.kind == "service":
            ns, _, name = self.server.service.partition("/")
            ok = endpoints > 0 and proxy_ok
            self.reply(200 if ok else 503, {
                "service": {"namespace": ns, "name": name},
                "localEndpoints": endpoints,
                "serviceProxyHealthy": proxy_ok,
            }, [("X-Load-Balancing-Endpoint-Weight", str(endpoints))])
            return
        path = self.path.split("?", 1)[0]
        if path not in ("/healthz", "/livez"):
            self.reply(404, {"error": "not found"})
            return
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.reply(200 if proxy_ok else 503,
                   {"lastUpdated": now, "currentTime": now})

    do_HEAD = do_GET


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--service", required=True, help="namespace/name")
    ap.add_argument("--port", type=int, required=True,
                    help="the service's healthCheckNodePort")
    ap.add_argument("--proxy-port", type=int, default=10256,
                    help="kube-proxy healthz port, 0: none")
    ap.add_argument("--state", required=True, help="JSON state file")
    ap.add_argument("--bind", default="0.0.0.0")
    args = ap.parse_args()

    servers = []
    for kind, port in (("service", args.port), ("proxy", args.proxy_port)):
        if port == 0:
            continue
        s = Server((args.bind, port), Handler)
        s.kind = kind
        s.service = args.service
        s.state_path = args.state
        servers.append(s)

    def on_signal(signum, frame):
        for s in servers:
            threading.Thread(target=s.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=s.serve_forever,
                                kwargs={"poll_interval": 0.2})
               for s in servers]
    for t in threads:
        t.start()
    print("healthserver: ready", flush=True)
    for t in threads:
        t.join()
    for s in servers:
        s.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
