#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The edgefwd demo on a fresh Debian 12 machine, as root: set-up (packages,
# hugepages, build/), then edgefwd between a client, two local pods and a
# second node in network namespaces, with real HTTP and UDP requests through
# a Local and a Cluster service. Runs until Ctrl-C; --once exits after the
# requests. Everything it made is removed on exit. Other options are passed
# to dts/demo.py (--workers 2, --conf FILE, --requests N). --edge runs the
# edge director demo instead: two nodes with 1 and 3 pods behind an edge
# edgefwd, the pods' shares with weights "equal" and "endpoints" side by
# side, and whether every pod saw the real client address.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$EF_ROOT"

ef_setup

cleanup() {
	# dts/demo.py removes its topology itself; this covers a demo killed
	# before it could.
	/usr/bin/python3 -m dts.demo --cleanup || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ef_say "running the demo"
/usr/bin/python3 -m dts.demo "$@"
