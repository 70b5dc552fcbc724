#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# libFuzzer targets of edgefwd (test/fuzz/), under ASan+UBSan.
#
#   scripts/fuzz.sh --smoke [SECONDS]   every target for SECONDS (default 30)
#                                       each: what the test command runs
#   scripts/fuzz.sh --long HOURS [TARGET...]
#                                       operators: hours per target, one
#                                       job per core, corpus kept in
#                                       build-fuzz/corpus/<target>/
#   scripts/fuzz.sh --replay            run every seed once (no fuzzing)
#
# Builds build-fuzz/ with clang. Seeds: test/fuzz/corpus/<target>/ (the
# repository's, never written by a run); what a run learns goes to
# build-fuzz/corpus/<target>/; a crash is written to
# build-fuzz/artifacts/<target>/ and the script fails, printing the
# reproducer: build-fuzz/test/fuzz/<target> <file>. Turn every crash into a
# unit-test fixture (test/fwd_hostile/ or the module's suite) and add the
# file to test/fuzz/corpus/<target>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-fuzz"
mode="${1:---smoke}"
shift || true

all_targets() {
	local t
	for t in pkt cfg fwd hc tele; do
		[ -x "$BUILD/test/fuzz/fuzz_$t" ] && echo "$t"
	done
	return 0
}

build() {
	if [ ! -f "$BUILD/build.ninja" ]; then
		CC=clang CXX=clang++ meson setup "$BUILD" -Dfuzz=true \
			-Dtests=false -Db_sanitize=address,undefined \
			-Db_lundef=false \
			-Dc_args=-fsanitize=fuzzer-no-link \
			-Dcpp_args=-fsanitize=fuzzer-no-link >/dev/null
	fi
	# one target at a time: a module that does not build fails its own
	# target (reported), not the others
	local t known
	BUILD_FAILED=()
	# listed once: 'ninja | grep -q' under pipefail fails when grep
	# stops reading early, which silently skipped targets
	known=$(ninja -C "$BUILD" -t targets all 2>/dev/null || true)
	for t in pkt cfg fwd hc tele; do
		if ! grep -q "^test/fuzz/fuzz_$t:" <<<"$known"; then
			echo "fuzz_$t: no such target in $BUILD"
			BUILD_FAILED+=("$t")
			continue
		fi
		if ! ninja -C "$BUILD" -j "${EF_JOBS:-2}" "test/fuzz/fuzz_$t" \
			>"$BUILD/build_$t.log" 2>&1; then
			echo "fuzz_$t: FAILED to build (log $BUILD/build_$t.log)"
			grep -m3 "error:" "$BUILD/build_$t.log" || true
			rm -f "$BUILD/test/fuzz/fuzz_$t"
			BUILD_FAILED+=("$t")
		fi
	done
}

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$ROOT/test/fuzz/lsan.supp"

# run TARGET SECONDS [JOBS]: fuzz; prints "fuzz_T: N execs, R exec/s"
run() {
	local t="$1" secs="$2" jobs="${3:-1}" log rc=0
	local corpus="$BUILD/corpus/$t" art="$BUILD/artifacts/$t/"
	mkdir -p "$corpus" "$art"
	log="$BUILD/fuzz_$t.log"
	local extra=()
	if [ "$jobs" -gt 1 ]; then
		extra=(-fork="$jobs" -ignore_crashes=1)
	fi
	"$BUILD/test/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art" "${extra[@]}" \
		"$corpus" "$ROOT/test/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
	local execs rate
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	if [ "$rc" -ne 0 ] || [ -n "$(find "$art" -mindepth 1 -print -quit)" ]; then
		echo "fuzz_$t: FAILED (log $log)"
		grep -E "ERROR|CHECK|SUMMARY" "$log" | head -5
		for f in "$art"*; do
			[ -e "$f" ] && echo "  reproduce: $BUILD/test/fuzz/fuzz_$t $f"
		done
		return 1
	fi
	echo "fuzz_$t: ${execs:-?} executions, ${rate:-?} exec/s, ${secs} s, no crash"
}

case "$mode" in
--smoke)
	secs="${1:-30}"
	build
	status=0
	for t in $(all_targets); do
		rm -rf "$BUILD/artifacts/$t"
		run "$t" "$secs" || status=1
	done
	[ "${#BUILD_FAILED[@]}" -eq 0 ] || status=1
	exit "$status"
	;;
--long)
	hours="${1:?--long HOURS [TARGET...]}"
	shift
	build
	secs=$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 }')
	targets=("$@")
	[ "${#targets[@]}" -gt 0 ] || mapfile -t targets < <(all_targets)
	status=0
	for t in "${targets[@]}"; do
		run "$t" "$secs" "$(nproc)" || status=1
	done
	exit "$status"
	;;
--replay)
	build
	status=0
	[ "${#BUILD_FAILED[@]}" -eq 0 ] || status=1
	for t in $(all_targets); do
		if "$BUILD/test/fuzz/fuzz_$t" -runs=0 \
			"$ROOT/test/fuzz/corpus/$t" >"$BUILD/fuzz_$t.log" 2>&1; then
			echo "fuzz_$t: seeds replayed, no crash"
		else
			echo "fuzz_$t: FAILED (log $BUILD/fuzz_$t.log)"
			status=1
		fi
	done
	exit "$status"
	;;
*)
	sed -n '3,20p' "$0"
	exit 2
	;;
esac
