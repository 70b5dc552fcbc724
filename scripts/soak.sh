#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Soak edgefwd in the dts topology (dts/tests/test_soak.py::test_soak):
# mixed traffic (short HTTP connections, long downloads, UDP), a reload
# every RELOAD seconds alternating two endpoint sets, a pod killed and
# restarted every fourth reload period; RSS and the DPDK heap sampled;
# asserts flat memory and zero unexplained drops, prints the figures.
#
#   scripts/soak.sh [--seconds N] [--reload S] [--sample S]
#       N: duration (default 120, what the test command runs; operators:
#          hours, e.g. --seconds 14400); S: seconds between reloads
#          (default 10) and between samples (default 2)
#
# Needs root and a built build/ (scripts/test.sh or ninja -C build);
# EF_EDGEFWD picks another binary.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$EF_ROOT"

seconds=120
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds="${2:?--seconds N}"; shift 2 ;;
	--reload) export EF_SOAK_RELOAD="${2:?--reload S}"; shift 2 ;;
	--sample) export EF_SOAK_SAMPLE="${2:?--sample S}"; shift 2 ;;
	*) sed -n '3,16p' "$0"; exit 2 ;;
	esac
done
ef_require_root
export EF_SOAK_SECONDS="$seconds"
exec /usr/bin/python3 -m pytest dts/tests/test_soak.py::test_soak -s -v \
	-p no:cacheprovider
