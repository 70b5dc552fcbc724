#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Leak check of edgefwd (dts/tests/test_soak.py::test_leaks): an ASan +
# LeakSanitizer build (build-asan/) in the dts topology through start,
# traffic, 10 reloads (one rejected), traffic, SIGTERM. Fails on any
# sanitizer report or a non-zero exit; libconfig's known leak on a
# rejected file is suppressed (test/fuzz/lsan.supp) and must be the only
# one seen. About 30 s once build-asan/ is built. The test command runs
# the same test with the rest of dts.
#
#   scripts/leakcheck.sh
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$EF_ROOT"

ef_require_root
ef_build build-asan -Db_sanitize=address,undefined -Db_lundef=false
exec /usr/bin/python3 -m pytest dts/tests/test_soak.py::test_leaks -s -v \
	-p no:cacheprovider
