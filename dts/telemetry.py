# SPDX-License-Identifier: BSD-3-Clause
"""The suites' telemetry client: app/edgefwdctl/edgefwd_telemetry.py, the
one client edgefwdctl uses too (socket, greeting, timeout policy: see
there), imported from the source tree.

dpdk-telemetry.py is interactive; the suites need one call per command:

  /usr/bin/python3 -m dts.telemetry <file-prefix> /edgefwd/stats
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "app" /
                       "edgefwdctl"))
from edgefwd_telemetry import (  # noqa: E402
    RUN_DIR, Client, query, reply_timeout, socket_path, wait_socket)

__all__ = ["RUN_DIR", "Client", "query", "reply_timeout", "socket_path",
           "wait_socket", "main"]


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
