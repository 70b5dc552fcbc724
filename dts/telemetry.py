# SPDX-License-Identifier: BSD-3-Clause
"""Minimal client of the DPDK telemetry socket (v2).

dpdk-telemetry.py is interactive; the suites need one call per command.
The socket is a SOCK_SEQPACKET unix socket on the filesystem
(/var/run/dpdk/<file-prefix>/dpdk_telemetry.v2), so it is reachable from any
network namespace. On connect the server sends a greeting
({"version", "pid", "max_output_len"}); each command ("/cmd" or
"/cmd,param") gets one reply {"<cmd>": value}, at most max_output_len bytes.

  /usr/bin/python3 -m dts.telemetry <file-prefix> /edgefwd/stats
"""

import json
import socket
import sys
import time
from pathlib import Path

RUN_DIR = Path("/var/run/dpdk")


def socket_path(file_prefix):
    return RUN_DIR / file_prefix / "dpdk_telemetry.v2"


class Client:
    """One connection; query() may be called many times."""

    def __init__(self, file_prefix, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(socket_path(file_prefix)))
            self.greeting = json.loads(self.sock.recv(16384))
        except (OSError, ValueError):
            self.sock.close()
            raise
        self.max_len = int(self.greeting.get("max_output_len", 16384))

    def query_raw(self, command):
        """The whole reply object for command."""
        self.sock.send(command.encode())
        return json.loads(self.sock.recv(self.max_len))

    def query(self, command):
        """The value of the reply: reply[<command without parameter>]."""
        reply = self.query_raw(command)
        return reply.get(command.split(",", 1)[0])

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def query(file_prefix, command, timeout=5.0):
    """Connect, run one command, return its value (None when the command is
    unknown to the process)."""
    with Client(file_prefix, timeout) as c:
        return c.query(command)


def wait_socket(file_prefix, timeout=10.0):
    """Wait until the telemetry socket accepts connections; True if it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            Client(file_prefix, 1.0).close()
            return True
        except (OSError, ValueError):
            time.sleep(0.1)
    return False


def main(argv):
    if len(argv) < 2:
        print("usage: python3 -m dts.telemetry FILE_PREFIX COMMAND...",
              file=sys.stderr)
        return 2
    with Client(argv[0]) as c:
        for cmd in argv[1:]:
            print(json.dumps(c.query_raw(cmd), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
