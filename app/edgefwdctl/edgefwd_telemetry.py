# SPDX-License-Identifier: BSD-3-Clause
"""The one client of edgefwd's DPDK telemetry socket (v2), shared by
edgefwdctl (installed next to it) and the end-to-end suites (dts/telemetry.py
imports it from the source tree). Standard library only.

The socket is a SOCK_SEQPACKET unix socket on the filesystem
(<run dir>/<file-prefix>/dpdk_telemetry.v2; run dir /var/run/dpdk, or
$EF_DPDK_RUN_DIR), so it is reachable from any network namespace. On connect
the server sends a greeting ({"version", "pid", "max_output_len"}); each
command ("/cmd" or "/cmd,param") gets one reply {"<cmd>": value}, at most
max_output_len bytes.

Timeout policy (the same for every client): connecting and the greeting
may take MARGIN seconds; a reply may take as long as edgefwd itself may
wait before answering that command, plus MARGIN. edgefwd's own waits are
in lib/tele/tele.c: a reload up to 30 s (RELOAD_TIMEOUT_MS); a flow sample
(/edgefwd/flows, /edgefwd/service) 0.5 s per worker (CMD_TIMEOUT_MS), at
most 32 workers (EF_FWD_MAX_WORKERS); every other command answers at once.
A caller that passes its own timeout gets that one for everything.
"""

import json
import os
import socket
import time

RUN_DIR = os.environ.get("EF_DPDK_RUN_DIR", "/var/run/dpdk")

MARGIN = 5.0
SERVER_WAIT = {
    "/edgefwd/reload": 30.0,
    "/edgefwd/flows": 32 * 0.5,
    "/edgefwd/service": 32 * 0.5,
}


def socket_path(file_prefix):
    return os.path.join(RUN_DIR, file_prefix, "dpdk_telemetry.v2")


def reply_timeout(command):
    """Seconds to wait for the reply to command (the policy above)."""
    return SERVER_WAIT.get(command.split(",", 1)[0], 0.0) + MARGIN


class Client:
    """One connection; query() may be called many times. timeout=None: the
    policy above; a number: that many seconds for everything."""

    def __init__(self, file_prefix, timeout=None):
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(MARGIN if timeout is None else timeout)
        try:
            self.sock.connect(socket_path(file_prefix))
            self.greeting = json.loads(self.sock.recv(16384))
        except (OSError, ValueError):
            self.sock.close()
            raise
        self.max_len = int(self.greeting.get("max_output_len", 16384))

    def query_raw(self, command):
        """The whole reply object for command."""
        self.sock.settimeout(reply_timeout(command) if self.timeout is None
                             else self.timeout)
        self.sock.send(command.encode())
        return json.loads(self.sock.recv(self.max_len))

    def query(self, command):
        """The value of the reply: reply[<command without parameter>], None
        when the process does not know the command."""
        reply = self.query_raw(command)
        return reply.get(command.split(",", 1)[0])

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def query(file_prefix, command, timeout=None):
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
