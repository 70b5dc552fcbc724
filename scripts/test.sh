#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every suite of edgefwd on a fresh Debian 12 machine, as root:
# set-up (packages, hugepages, build/), unit tests, the same unit tests
# under ASan/UBSan (build-asan/), the end-to-end suites (dts/).
# Prints one line per suite and, last, "N passed, N failed";
# exits non-zero if anything failed.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$EF_ROOT"

RESULTS="$EF_ROOT/build/test-results"
STATE="$RESULTS/state.jsonl"
results() {
	/usr/bin/python3 "$EF_ROOT/scripts/results.py" "$@"
}

ef_require_root
ef_install_packages
ef_setup_hugepages
build_ok=1
ef_build build -Dwerror=true -Dbuildtype=debugoptimized || build_ok=0
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
: >"$STATE"
# DPDK runtime dirs of edgefwd's own programs that exist already (another
# run's, or a crash's): the leftovers step judges only what this run adds
ef_rundirs() {
	find /var/run/dpdk -mindepth 1 -maxdepth 1 -name 'ef*' 2>/dev/null |
		sort || true
}
RUNDIRS_BEFORE="$(ef_rundirs)"

# run_unit LABEL BUILD_DIR [VAR=VALUE...]: meson test with each gtest
# binary writing its XML report, then count.
run_unit() {
	local label="$1" dir="$2" rc=0
	shift 2
	mkdir -p "$RESULTS/$label"
	ef_say "running unit suites ($label, $dir)"
	env GTEST_OUTPUT="xml:$RESULTS/$label/" "$@" \
		meson test -C "$dir" --print-errorlogs --num-processes "$EF_JOBS" \
		2>&1 | tee "$RESULTS/$label.log" || rc=$?
	# meson printed its summary above; gtest's counts per binary follow.
	results meson "$label" "$dir" "$RESULTS/$label" "$STATE"
	return "$rc"
}

status=0
if [ "$build_ok" -eq 1 ]; then
	run_unit unit build || status=1
else
	results fail unit "build/ failed to build" "$STATE"
	status=1
fi

if ef_build build-asan -Db_sanitize=address,undefined -Db_lundef=false; then
	# halt_on_error: a UBSan report fails the suite instead of scrolling by.
	run_unit asan build-asan \
		ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" \
		UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" || status=1
else
	results fail asan "build-asan/ failed to build" "$STATE"
	status=1
fi

# --- reliability steps (docs/RELIABILITY.md): fuzz smoke, static analysis
# run_step LABEL CMD...: one script as one suite; each output line that
# ends in "no crash" or "FAILED ..." is a case (fuzz.sh prints one per
# target), else the whole script is one case.
run_step() {
	local label="$1" rc=0
	shift
	ef_say "running $label ($*)"
	"$@" 2>&1 | tee "$RESULTS/$label.log" || rc=$?
	/usr/bin/python3 - "$label" "$rc" "$RESULTS/$label.log" \
		"$RESULTS/$label.xml" <<'PY'
import re, sys
from xml.sax.saxutils import escape, quoteattr
label, rc, log, xml = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lines = open(log, errors="replace").read().splitlines()
cases = [(m.group(1), "FAILED" in line, line) for line in lines
         for m in [re.match(r"^(fuzz_\w+): ", line)] if m]
if not cases:
    cases = [(label, rc != 0, "\n".join(lines[-20:]))]
with open(xml, "w") as f:
    f.write("<testsuite name=%s>\n" % quoteattr(label))
    for name, failed, text in cases:
        f.write("<testcase name=%s>%s</testcase>\n" % (quoteattr(name),
                "<failure>%s</failure>" % escape(text) if failed else ""))
    f.write("</testsuite>\n")
PY
	results junit "$label" "$RESULTS/$label.xml" "$rc" "$STATE"
	return "$rc"
}
# libFuzzer targets, 20 s each (5 targets: ~2 min with the build)
run_step fuzz scripts/fuzz.sh --smoke 12 || status=1
run_step lint scripts/lint.sh || status=1
# --- end of reliability steps

# --- edgefwd-k8s unit suites (pytest; its end-to-end suite is
# dts/tests/test_k8s.py, run with the other dts below)
ef_say "running edgefwd-k8s unit suites (app/edgefwd-k8s/tests)"
rc=0
/usr/bin/python3 -m pytest app/edgefwd-k8s/tests -v -rA -p no:cacheprovider \
	--junitxml="$RESULTS/k8s-unit.xml" 2>&1 | tee "$RESULTS/k8s-unit.log" ||
	rc=$?
results junit k8s-unit "$RESULTS/k8s-unit.xml" "$rc" "$STATE"
[ "$rc" -eq 0 ] || status=1
# its benchmark, small (a few seconds; figures printed, never judged)
run_step k8s-bench-smoke /usr/bin/python3 bench/k8s_sync_bench.py \
	--services 200 --changes 10 || status=1
# --- end of edgefwd-k8s unit suites

# --- edgefwd-bgp unit suites (pytest; its end-to-end suite is
# dts/tests/test_bgp.py, run with the other dts below)
ef_say "running edgefwd-bgp unit suites (app/edgefwd-bgp/tests)"
rc=0
/usr/bin/python3 -m pytest app/edgefwd-bgp/tests -v -rA -p no:cacheprovider \
	--junitxml="$RESULTS/bgp-unit.xml" 2>&1 | tee "$RESULTS/bgp-unit.log" ||
	rc=$?
results junit bgp-unit "$RESULTS/bgp-unit.xml" "$rc" "$STATE"
[ "$rc" -eq 0 ] || status=1
# --- end of edgefwd-bgp unit suites

# --- benchmark smoke steps (BENCH.md): keep the benchmarks working, a few
# seconds each; their figures are printed, never judged here
run_step bench-smoke build/app/edgefwd-bench/edgefwd-bench --quick \
	--reps 1 --pkts 65536 || status=1
run_step sysbench-smoke bench/sysbench.sh --quick --build build || status=1
run_step bulk-smoke bench/bulk.sh --quick --build build || status=1
# --- end of benchmark smoke steps

ef_say "running end-to-end suites (dts)"
rc=0
/usr/bin/python3 -m pytest dts -v -rA -p no:cacheprovider \
	--junitxml="$RESULTS/dts.xml" || rc=$?
results junit dts "$RESULTS/dts.xml" "$rc" "$STATE"
[ "$rc" -eq 0 ] || status=1

# nothing left behind: every suite, fuzz target and benchmark removes its
# /var/run/dpdk/ef* runtime dir (test/shim/eal_main.cc, test/fuzz/fuzz_fwd.c,
# dts/topo.py)
leftovers() {
	local left
	left="$(comm -13 <(echo "$RUNDIRS_BEFORE") <(ef_rundirs))"
	if [ -n "$left" ]; then
		echo "left behind in /var/run/dpdk:"
		echo "$left"
		return 1
	fi
	echo "no /var/run/dpdk/ef* runtime dir left behind"
}
run_step leftovers leftovers || status=1

echo
ef_say "results (details in build/test-results/)"
results summary "$STATE" || status=1
exit "$status"
