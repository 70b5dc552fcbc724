#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The pktgen recipe on one machine without NICs (conf/pktgen/README.md):
# edgefwd and pktgen-dpdk as two DPDK processes joined by two memif
# interfaces, then one pktgen Lua scenario (cluster.lua or local.lua).
#
#   PKTGEN=/path/to/pktgen conf/pktgen/run-memif.sh [cluster|local] [BUILD]
#
# pktgen-dpdk is not packaged: build it yourself outside this repository
# (README.md says how). BUILD is edgefwd's build directory (default
# build/). Environment: EF_PKTGEN_SECONDS, EF_PKTGEN_RATE, EF_PKTGEN_PROTO
# (see common.lua). Lcores on a 2-CPU machine: pktgen's main and worker
# lcores share CPU 0 with edgefwd's control lcore; edgefwd's worker has
# CPU 1 to itself.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SCENARIO="${1:-cluster}"
BUILD="${2:-$ROOT/build}"
EDGEFWD="$BUILD/app/edgefwd/edgefwd"
PKTGEN="${PKTGEN:?set PKTGEN to the pktgen binary}"
RUN="$(mktemp -d)"
EF_PREFIX="efpg-ef$$"
PG_PREFIX="efpg-pg$$"
EF_PID=""

[ -x "$EDGEFWD" ] || { echo "no $EDGEFWD (meson setup build && ninja -C build)" >&2; exit 1; }
[ -f "$HERE/$SCENARIO.lua" ] || { echo "no scenario $SCENARIO" >&2; exit 1; }

cleanup() {
	if [ -n "$EF_PID" ]; then
		kill -TERM "$EF_PID" 2>/dev/null || true
		wait "$EF_PID" 2>/dev/null || true
	fi
	rm -rf "$RUN" "/var/run/dpdk/$EF_PREFIX" "/var/run/dpdk/$PG_PREFIX"
}
trap cleanup EXIT

# edgefwd owns the memif sockets (server side)
"$EDGEFWD" --lcores=0@0,1@1 --no-huge -m 1024 --no-pci \
	--file-prefix="$EF_PREFIX" --log-level='lib.*:error' \
	--vdev="net_memif0,role=server,socket=$RUN/m0.sock,mac=02:ef:00:00:00:01" \
	--vdev="net_memif1,role=server,socket=$RUN/m1.sock,mac=02:ef:00:00:01:01" \
	-- -c "$HERE/edgefwd-memif.conf" >"$RUN/edgefwd.log" 2>&1 &
EF_PID=$!
for _ in $(seq 100); do
	grep -q "edgefwd: ready" "$RUN/edgefwd.log" && break
	kill -0 "$EF_PID" 2>/dev/null || { cat "$RUN/edgefwd.log" >&2; exit 1; }
	sleep 0.1
done
grep "edgefwd: ready" "$RUN/edgefwd.log"

# pktgen: the clients on port 0, the endpoints on port 1 (promiscuous);
# stdin from /dev/null so that it runs the script and quits
EF_PKTGEN_DIR="$HERE" "$PKTGEN" --lcores=0@0,1@0 --no-huge -m 4096 \
	--no-pci --file-prefix="$PG_PREFIX" --log-level='lib.*:error' \
	--vdev="net_memif0,role=client,socket=$RUN/m0.sock,mac=02:5b:00:00:00:01" \
	--vdev="net_memif1,role=client,socket=$RUN/m1.sock,mac=02:5b:00:00:01:01" \
	-- -P -m "1.0,1.1" -f "$HERE/$SCENARIO.lua" </dev/null 2>&1 |
	tee "$RUN/pktgen.log" | grep -a -E "^(cluster|local):|PANIC|rror" || true

# edgefwd's own view: SIGTERM makes it print its counters
kill -TERM "$EF_PID"
wait "$EF_PID" || true
EF_PID=""
grep -E "edgefwd: (rx|drop)" "$RUN/edgefwd.log" || true
