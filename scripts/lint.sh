#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Static analysis with the agreed check set (docs/RELIABILITY.md):
#   cppcheck: warning, portability and performance checks (style is
#             STYLE.md's business and the compiler's -Wall -Wextra)
#   clang-tidy: bugprone-*, clang-analyzer-* minus the checks that only
#             flag DPDK idioms (.clang-tidy), when a compile database
#             exists (any meson build dir; EF_LINT_BUILD picks one)
# Exits non-zero on any finding. Covers lib/ and app/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
status=0

incs=()
for d in lib/*/; do
	incs+=(-I "$d")
done

echo "lint: cppcheck"
# --library=posix: libc semantics; DPDK headers are parsed only for
# macros (-I ... --suppress=missingIncludeSystem) to keep it fast.
if ! cppcheck --quiet --error-exitcode=1 --inline-suppr \
	--std=c11 --enable=warning,portability,performance \
	--library=posix -D__linux__ -D_GNU_SOURCE -DRTE_CACHE_LINE_SIZE=64 \
	--suppress=missingIncludeSystem --suppress=unknownMacro \
	"${incs[@]}" -j "${EF_JOBS:-2}" lib app; then
	status=1
fi

build="${EF_LINT_BUILD:-}"
if [ -z "$build" ]; then
	for d in build build-asan build-*; do
		if [ -f "$d/compile_commands.json" ]; then
			build="$d"
			break
		fi
	done
fi
if [ -n "$build" ] && command -v run-clang-tidy >/dev/null; then
	echo "lint: clang-tidy ($build/compile_commands.json)"
	if ! run-clang-tidy -quiet -p "$build" -j "${EF_JOBS:-2}" \
		"$ROOT/(lib|app)/.*\\.c$" >"$build/clang-tidy.log" 2>&1 ||
		grep -qE "(warning|error):" "$build/clang-tidy.log"; then
		# file:line: message [check], without colours, once each
		sed 's/\x1b\[[0-9;]*m//g; s|[^ ]*/\.\./||' "$build/clang-tidy.log" |
			grep -E "(warning|error):" | sort -u
		status=1
	fi
else
	echo "lint: clang-tidy skipped (no compile database or no run-clang-tidy)"
fi
[ "$status" -eq 0 ] && echo "lint: clean"
exit "$status"
