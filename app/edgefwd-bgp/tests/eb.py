# SPDX-License-Identifier: BSD-3-Clause
"""edgefwd-bgp as a module (the program is one file without .py), and a
fake edgefwd telemetry socket."""

import importlib.machinery
import importlib.util
import json
import os
import socket
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PROGRAM = REPO / "app" / "edgefwd-bgp" / "edgefwd-bgp"

_loader = importlib.machinery.SourceFileLoader("edgefwd_bgp", str(PROGRAM))
_spec = importlib.util.spec_from_loader("edgefwd_bgp", _loader)
mod = importlib.util.module_from_spec(_spec)
_loader.exec_module(mod)


def vip(addr, announce=1, usable=None):
    return {"vip": addr, "services": 1, "usable_services": int(bool(
        announce if usable is None else usable)),
        "usable": int(bool(announce if usable is None else usable)),
        "announce": int(bool(announce))}


class FakeEdgefwd:
    """A DPDK telemetry v2 socket under run_dir/prefix answering
    /edgefwd/vips[,offset] from self.vips (pages of self.page)."""

    def __init__(self, run_dir, prefix, vips=(), page=64):
        self.dir = Path(run_dir) / prefix
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "dpdk_telemetry.v2"
        self.vips = list(vips)
        self.page = page
        self.generation = 1
        self.queries = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.bind(str(self.path))
        self.sock.listen(4)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def answer(self, cmd):
        name, _, param = cmd.partition(",")
        if name != "/edgefwd/vips":
            return {name: None}
        off = int(param or 0)
        page = self.vips[off:off + self.page]
        v = {"total": len(self.vips), "generation": self.generation,
             "draining": 0,
             "vips": {str(off + i): x for i, x in enumerate(page)}}
        if off + len(page) < len(self.vips):
            v["next_offset"] = off + len(page)
        return {name: v}

    def _serve(self, c):
        c.send(json.dumps({"version": "fake", "pid": os.getpid(),
                           "max_output_len": 16384}).encode())
        while True:
            try:
                data = c.recv(1024)
            except OSError:
                break
            if not data or self.stopped:
                break
            self.queries += 1
            c.send(json.dumps(self.answer(data.decode())).encode())
        c.close()

    def crash(self):
        """As kill -9: the listener goes, the socket file stays."""
        self.stopped = True
        self.sock.close()


class FakeBird:
    """configure() callable counting calls; ok decides the outcome; it
    remembers the include file's content at each successful call."""

    def __init__(self, include):
        self.include = Path(include)
        self.ok = True
        self.calls = 0
        self.loaded = None

    def __call__(self):
        self.calls += 1
        if not self.ok:
            return False, "bird.ctl: connection refused"
        self.loaded = self.include.read_text()
        return True, "Reading configuration from x\nReconfigured"
