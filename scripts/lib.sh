# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Set-up shared by scripts/demo.sh and scripts/test.sh (sourced, not run):
# packages, hugepages, build. Every step is idempotent and cheap when there
# is nothing to do, so that re-runs are fast.

EF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EF_JOBS="${EF_JOBS:-2}"

# Debian 12 packages: build, unit tests, end-to-end suites and their peers,
# the DPDK tools (dpdk: dpdk-testpmd, dpdk-hugepages.py; dpdk-dev:
# dpdk-telemetry.py), benchmarks and analysis.
EF_PACKAGES=(
	bird2
	build-essential
	clang
	cppcheck
	curl
	dpdk
	dpdk-dev
	ethtool
	frr
	g++
	gcc
	googletest
	haproxy
	iperf3
	iproute2
	iputils-ping
	libclang-rt-14-dev
	libconfig-dev
	libdpdk-dev
	libgtest-dev
	meson
	netsniff-ng
	nftables
	nginx-light
	ninja-build
	pkg-config
	procps
	prometheus
	python3
	python3-kubernetes
	python3-prometheus-client
	python3-pytest
	python3-scapy
	python3-yaml
	socat
	tcpdump
	tmux
	valgrind
	wrk
)

ef_say() {
	printf '==> %s\n' "$*"
}

ef_warn() {
	printf 'warning: %s\n' "$*" >&2
}

ef_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

ef_require_root() {
	[ "$(id -u)" -eq 0 ] || ef_die "run as root (namespaces, TAP devices, apt-get)"
}

# Install the packages that are missing; apt-get update once, only then.
ef_install_packages() {
	local missing=() p
	for p in "${EF_PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$'; then
			missing+=("$p")
		fi
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		ef_say "packages: all ${#EF_PACKAGES[@]} installed"
		return 0
	fi
	ef_say "installing packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# A modest pool of 2 MB hugepages and a hugetlbfs mount. The demo and the
# suites run with --no-huge, so a machine that cannot do this only warns.
ef_setup_hugepages() {
	local want="${EF_HUGEPAGES:-512}" have
	have="$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)"
	if [ "$have" -ge "$want" ] && mountpoint -q /dev/hugepages 2>/dev/null; then
		ef_say "hugepages: $have x 2 MB, /dev/hugepages mounted"
		return 0
	fi
	ef_say "setting up hugepages ($want x 2 MB)"
	if [ "$have" -lt "$want" ]; then
		if ! echo "$want" >/proc/sys/vm/nr_hugepages 2>/dev/null; then
			ef_warn "cannot reserve hugepages (edgefwd still runs with --no-huge)"
		fi
	fi
	if ! mountpoint -q /dev/hugepages 2>/dev/null; then
		mkdir -p /dev/hugepages 2>/dev/null || true
		if ! mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages 2>/dev/null; then
			ef_warn "cannot mount hugetlbfs at /dev/hugepages (edgefwd still runs with --no-huge)"
		fi
	fi
	have="$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)"
	[ "$have" -ge "$want" ] ||
		ef_warn "only $have hugepages reserved (asked $want)"
}

# ef_build DIR [meson options...]: configure (or reconfigure) and build.
ef_build() {
	local dir="$1"
	shift
	local log rc=0
	cd "$EF_ROOT" || return
	log="$(mktemp)"
	if [ -f "$dir/build.ninja" ]; then
		ef_say "building $dir (meson setup --reconfigure $*)"
		meson setup --reconfigure "$dir" "$@" >"$log" 2>&1 || rc=$?
	else
		ef_say "building $dir (meson setup $*)"
		meson setup "$dir" "$@" >"$log" 2>&1 || rc=$?
	fi
	# meson's own output is long; show it only when it failed.
	[ "$rc" -eq 0 ] || cat "$log" >&2
	rm -f "$log"
	[ "$rc" -eq 0 ] || return "$rc"
	ninja -C "$dir" -j "$EF_JOBS"
}

# What both commands need before they run anything.
ef_setup() {
	ef_require_root
	ef_install_packages
	ef_setup_hugepages
	ef_build build -Dwerror=true -Dbuildtype=debugoptimized
}
