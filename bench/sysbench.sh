#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# System benchmark (BENCH.md, level 2): one generator -> forwarder -> sink
# veth topology in network namespaces, the same generator (trafgen, from
# Debian's netsniff-ng) and the same service for
#   K  the Linux kernel forwarding with nftables rules shaped as
#      kube-proxy's nftables mode writes them (bench/kube-proxy.nft):
#      DNAT + masquerade + conntrack;
#   E  edgefwd attached to the same veths (net_af_xdp, or net_af_packet
#      with --pmd af_packet or when AF_XDP cannot start), one worker;
# plus G, the generator alone (the forwarder's ingress drops everything),
# to take the generator's own CPU out of the kernel's (veth runs the
# receiver's path in the sender's context, so K forwards on the
# generator's CPU).
#
# Trials alternate G K E, G K E, ...; each runs every traffic mix (64-byte
# UDP with random source ports, TCP SYNs with random source ports) for
# --seconds. Delivered = packets the sink's veth received. CPU: the
# processes' ticks (/proc/PID/stat) and softirq time. Prints one line per
# measurement, the medians, the ratios E/K and, last, one JSON line.
#
#   bench/sysbench.sh [--build DIR] [--trials N] [--seconds S]
#                     [--mix udp|syn|both] [--pmd af_xdp|af_packet] [--quick]
#                     [--cpu [--rate R]]
#
# Needs root, trafgen, nft, and DIR/app/edgefwd/edgefwd (default: build/).
# --quick: one trial of 2 s per mix (the smoke run of scripts/test.sh).
# --cpu: CPU cycles per forwarded packet instead of delivered pps, at a
# fixed offered rate R (trafgen -b; default 100kpps, below every
# forwarder's saturation; pps, kpps or Mpps), modes G P K E T: P the
# kernel routing the same frames with no rules and no conntrack (the
# kernel's pass-through), T dpdk-testpmd --forward-mode=macswap on the
# same vdevs (the DPDK I/O floor of this path; needs Debian's dpdk, or
# TESTPMD=path). Kernel side = CPU 0's non-idle jiffies beyond G's per
# packet, less the forwarder's own threads there; forwarder side = the
# worker's busy TSC cycles (edgefwd's telemetry, testpmd's
# --record-core-cycles). BENCH.md, section 2, has the method.
# Everything it creates (namespaces efsb-*, the edgefwd and testpmd
# processes, their runtime directories) is removed on exit, also on
# failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
TRIALS=3
SECONDS_PER=5
MIX=both
PMD=af_xdp
NS_GEN=efsb-gen
NS_FWD=efsb-fwd
NS_SINK=efsb-sink
PREFIX="efsb$$"
WORK="$(mktemp -d)"
CPU=0
RATE=100kpps
TESTPMD="${TESTPMD:-dpdk-testpmd}"
TP_PREFIX="efsbt$$"
TP_PID=""

die() { echo "sysbench: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD="$(cd "$2" && pwd)"; shift ;;
	--trials) TRIALS="$2"; shift ;;
	--seconds) SECONDS_PER="$2"; shift ;;
	--mix) MIX="$2"; shift ;;
	--pmd) PMD="$2"; shift ;;
	--quick) TRIALS=1; SECONDS_PER=2 ;;
	--cpu) CPU=1 ;;
	--rate) RATE="$2"; shift ;;
	-h|--help) sed -n '3,41p' "$0"; exit 0 ;;
	*) die "unknown option $1 (--help)" ;;
	esac
	shift
done
case "$MIX" in
udp) MIXES="udp" ;;
syn) MIXES="syn" ;;
both) MIXES="udp syn" ;;
*) die "--mix: udp, syn or both" ;;
esac
[ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, nftables)"
command -v trafgen >/dev/null || die "trafgen missing: apt-get install netsniff-ng"
command -v nft >/dev/null || die "nft missing: apt-get install nftables"
EDGEFWD="$BUILD/app/edgefwd/edgefwd"
[ -x "$EDGEFWD" ] || die "$EDGEFWD missing: meson setup build && ninja -C build"
if [ "$CPU" = 1 ]; then
	command -v "$TESTPMD" >/dev/null ||
		die "$TESTPMD missing: apt-get install dpdk (or TESTPMD=path)"
	[ -x /usr/bin/python3 ] || die "/usr/bin/python3 missing: apt-get install python3"
	# offered rate in packets per second
	RATE_PPS=$(echo "$RATE" | awk '{
		r = tolower($0); m = 1
		if (r ~ /mpps$/) m = 1000000; else if (r ~ /kpps$/) m = 1000
		sub(/[kmp]*pps$/, "", r)
		if (r !~ /^[0-9]+(\.[0-9]+)?$/) exit 1
		printf "%d\n", r * m }') || die "--rate: a number of pps, kpps or Mpps"
	[ "$RATE_PPS" -gt 0 ] || die "--rate must be > 0"
fi

in_ns() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

# make_veths, start_edgefwd, stop_edgefwd
. "$ROOT/bench/edgefwd-veth.sh"

# a command to testpmd, written in a subshell: if testpmd is gone, the
# write's SIGPIPE ends the subshell, not this script (and its cleanup)
testpmd_cmd() { ( echo "$1" >&7 ) 2>/dev/null; }

stop_testpmd() {
	if [ -n "$TP_PID" ]; then
		testpmd_cmd quit || true
		exec 7>&-
		for _ in $(seq 50); do
			kill -0 "$TP_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -TERM "$TP_PID" 2>/dev/null || true
		sleep 0.2
		kill -KILL "$TP_PID" 2>/dev/null || true
		wait "$TP_PID" 2>/dev/null || true
		TP_PID=""
	fi
	rm -rf "/var/run/dpdk/$TP_PREFIX"
}

cleanup() {
	stop_edgefwd
	stop_testpmd
	for ns in $NS_GEN $NS_FWD $NS_SINK; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

topology_up() {
	make_veths $NS_GEN g0 $NS_SINK
	in_ns $NS_GEN ip addr add 198.51.100.2/24 dev g0
	in_ns $NS_GEN ip link set g0 up
	in_ns $NS_FWD ip link set f0 up
	in_ns $NS_FWD ip link set f1 up
	in_ns $NS_SINK ip addr add 10.0.0.2/24 dev s0
	in_ns $NS_SINK ip link set s0 up
	# the sink counts (veth rx statistics) and drops at ingress: no
	# ICMP port unreachable, no RST, no socket work
	in_ns $NS_SINK nft -f - <<-'EOF'
	table netdev sink {
		chain in {
			type filter hook ingress device "s0" priority 0; policy drop;
		}
	}
	EOF
}

# G: the forwarder's ingress drops everything
mode_gen_up() {
	in_ns $NS_FWD nft -f - <<-'EOF'
	table netdev gen_only {
		chain in {
			type filter hook ingress device "f0" priority 0; policy drop;
		}
	}
	EOF
}

mode_gen_down() {
	in_ns $NS_FWD nft delete table netdev gen_only
}

# K: kernel forwarding with kube-proxy's nftables rules
mode_kernel_up() {
	in_ns $NS_FWD ip addr add 198.51.100.1/24 dev f0
	in_ns $NS_FWD ip addr add 10.0.0.1/24 dev f1
	in_ns $NS_FWD ip route add 10.244.1.0/24 via 10.0.0.2
	in_ns $NS_FWD ip neigh replace 10.0.0.2 lladdr 02:5b:00:00:01:01 \
		dev f1 nud permanent
	in_ns $NS_FWD sysctl -qw net.ipv4.ip_forward=1
	in_ns $NS_FWD sysctl -qw net.ipv4.conf.all.rp_filter=0
	in_ns $NS_FWD sysctl -qw net.ipv4.conf.f0.rp_filter=0
	in_ns $NS_FWD nft -f "$ROOT/bench/kube-proxy.nft"
}

mode_kernel_down() {
	in_ns $NS_FWD nft flush ruleset
	in_ns $NS_FWD sysctl -qw net.ipv4.ip_forward=0
	in_ns $NS_FWD ip addr flush dev f0
	in_ns $NS_FWD ip addr flush dev f1
	# conntrack entries die with the rules' table? no: flush them by
	# re-creating nothing; they time out (30 s UDP) and no longer match
	# any NAT once the addresses are gone.
}

# E: edgefwd on the same veths (control lcore on CPU 0, worker on CPU 1)
mode_edgefwd_up() {
	local conf="$WORK/edgefwd.conf" pmd="$1"
	sed "s/net_af_xdp/net_$pmd/g" "$ROOT/bench/sysbench.conf" >"$conf"
	start_edgefwd "$pmd" "$conf" sysbench
}

# E's start: AF_XDP, else (it cannot start) AF_PACKET for the rest of the
# run; dies when neither starts
edgefwd_up_or_fallback() {
	mode_edgefwd_up "$PMD" && return 0
	[ "$PMD" = af_xdp ] || die "edgefwd did not start"
	echo "sysbench: falling back to net_af_packet" >&2
	PMD=af_packet
	mode_edgefwd_up "$PMD" || die "edgefwd did not start"
}

stat_rx() { in_ns $NS_SINK cat /sys/class/net/s0/statistics/rx_packets; }
stat_tx() { in_ns $NS_GEN cat /sys/class/net/g0/statistics/tx_packets; }
# softirq jiffies of all CPUs: where the kernel accounts forwarding it did
# outside the sender's context
softirq() { awk '/^cpu /{print $8}' /proc/stat; }
proc_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

HZ=$(getconf CLK_TCK)
RESULTS="$WORK/results"
: >"$RESULTS"

# measure MODE MIX: run trafgen on CPU 0 for SECONDS_PER, print a row
measure() {
	local mode="$1" mix="$2" rx0 rx1 tx0 tx1 si0 si1 tg_pid tg_ticks p
	local ef0=0 ef1=0
	rx0=$(stat_rx); tx0=$(stat_tx); si0=$(softirq)
	[ -n "$EF_PID" ] && ef0=$(proc_ticks "$EF_PID")
	# trafgen forks its sender: a session of its own, stopped as a group
	setsid ip netns exec $NS_GEN taskset -c 0 trafgen \
		-i "$ROOT/bench/trafgen-$mix.cfg" -o g0 -P 1 -q \
		>"$WORK/trafgen.log" 2>&1 &
	tg_pid=$!
	sleep "$SECONDS_PER"
	tg_ticks=0
	for p in $(pgrep -g "$tg_pid"); do
		tg_ticks=$((tg_ticks + $(proc_ticks "$p")))
	done
	kill -INT -- "-$tg_pid" 2>/dev/null || true
	wait "$tg_pid" 2>/dev/null || true
	sleep 0.2	# let the last frames land
	rx1=$(stat_rx); tx1=$(stat_tx); si1=$(softirq)
	[ -n "$EF_PID" ] && ef1=$(proc_ticks "$EF_PID")
	awk -v m="$mode" -v x="$mix" -v s="$SECONDS_PER" -v hz="$HZ" \
	    -v rx=$((rx1 - rx0)) -v tx=$((tx1 - tx0)) \
	    -v si=$((si1 - si0)) -v tg="$tg_ticks" -v ef=$((ef1 - ef0)) 'BEGIN {
		printf "%-8s %-4s sent %9.0f pps  delivered %9.0f pps  trafgen %3.0f%%  softirq %3.0f%%  edgefwd %3.0f%%\n",
		    m, x, tx / s, rx / s, 100 * tg / hz / s, 100 * si / hz / s,
		    100 * ef / hz / s
	}'
	echo "$mode $mix $((rx1 - rx0)) $((tx1 - tx0)) $tg_ticks $((si1 - si0)) $((ef1 - ef0))" >>"$RESULTS"
}

# ---- --cpu: CPU cycles per forwarded packet at a fixed offered rate ----
#
# Modes, alternated every trial G P K E T, each at the same paced rate:
#   G  the generator alone (f0's ingress drops): the generator's own cost
#   P  the kernel's pass-through: ip_forward, a /32 route for the VIP to
#      the sink, no nftables rules, so no conntrack, no NAT
#   K  the kernel with bench/kube-proxy.nft (as in the default mode)
#   E  edgefwd (as in the default mode)
#   T  dpdk-testpmd --forward-mode=macswap on the same vdevs and lcores
# veth runs the receiver's path in the sender's context and trafgen runs
# on CPU 0, so the kernel's forwarding (P, K) and the AF_XDP receive
# (E, T) land on CPU 0; a DPDK worker runs on CPU 1, and the transmit
# (AF_XDP copy mode: the kick's syscall copies, and veth delivers to the
# sink) in its own context, inside its busy cycles.
GEN_CPU=0
CPU_HELPER="$ROOT/bench/sysbench_cpu.py"
# CPU 0's non-idle jiffies: user nice system irq softirq steal
cpu0_busy() {
	awk -v c="cpu$GEN_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}
# the helpers run on CPU 0 outside the measured windows, so that they
# neither count there nor preempt the worker
helper() { taskset -c "$GEN_CPU" /usr/bin/python3 "$CPU_HELPER" "$@"; }
# conntrack entries in the forwarder's namespace
ct_count() {
	in_ns $NS_FWD cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0
}

# P: plain routing of the VIP's frames to the sink
mode_pass_up() {
	in_ns $NS_FWD ip addr add 198.51.100.1/24 dev f0
	in_ns $NS_FWD ip addr add 10.0.0.1/24 dev f1
	in_ns $NS_FWD ip route add 198.51.100.10/32 via 10.0.0.2 dev f1
	in_ns $NS_FWD ip neigh replace 10.0.0.2 lladdr 02:5b:00:00:01:01 \
		dev f1 nud permanent
	in_ns $NS_FWD sysctl -qw net.ipv4.ip_forward=1
	in_ns $NS_FWD sysctl -qw net.ipv4.conf.all.rp_filter=0
	in_ns $NS_FWD sysctl -qw net.ipv4.conf.f0.rp_filter=0
	# no ruleset, so netfilter registers no conntrack hooks here
	[ -z "$(in_ns $NS_FWD nft list ruleset)" ] ||
		die "P: the forwarder's namespace still has nftables rules"
}

mode_pass_down() {
	in_ns $NS_FWD sysctl -qw net.ipv4.ip_forward=0
	in_ns $NS_FWD ip route del 198.51.100.10/32 2>/dev/null || true
	in_ns $NS_FWD ip addr flush dev f0
	in_ns $NS_FWD ip addr flush dev f1
}

# T: dpdk-testpmd, interactive, its commands through a fifo on fd 7
testpmd_count() { grep -c "$1" "$WORK/testpmd.log" 2>/dev/null || true; }

testpmd_wait() {	# PATTERN COUNT: until the log has more than COUNT
	for _ in $(seq 150); do
		[ "$(testpmd_count "$1")" -gt "$2" ] && return 0
		kill -0 "$TP_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "sysbench: testpmd: no '$1' in its output:" >&2
	tail -5 "$WORK/testpmd.log" >&2
	return 1
}

mode_testpmd_up() {
	local pmd="$1"
	rm -f "$WORK/testpmd.in"
	mkfifo "$WORK/testpmd.in"
	# -l 0,1: main lcore (the command line) on CPU 0, the forwarding
	# lcore on CPU 1, as edgefwd's control lcore and worker; paired
	# ports: port 0 (f0) -> port 1 (f1)
	# stdbuf: its stdout is a file, and the statistics that `stop`
	# prints are read from it at once
	ip netns exec $NS_FWD stdbuf -oL "$TESTPMD" -l 0,1 --no-huge -m 1024 --no-pci \
		--file-prefix="$TP_PREFIX" --log-level='lib.*:error' \
		--vdev="net_${pmd}0,iface=f0" --vdev="net_${pmd}1,iface=f1" \
		-- -i --forward-mode=macswap --record-core-cycles \
		<"$WORK/testpmd.in" >"$WORK/testpmd.log" 2>&1 &
	TP_PID=$!
	exec 7>"$WORK/testpmd.in"
	testpmd_wait "testpmd> " 0 && testpmd_wait "^Port 1: " 0 && return 0
	stop_testpmd
	return 1
}

# the stats that `stop` prints: "busy_cycles rx_packets tsc_mhz"
testpmd_stop_stats() {
	local n d
	n=$(testpmd_count "Accumulated forward statistics")
	d=$(testpmd_count '^Done\.$')
	testpmd_cmd stop || return 1
	testpmd_wait '^Done\.$' "$d" || return 1
	awk -v n="$n" '
	/Accumulated forward statistics/ { k++ }
	k > n && /Accumulated forward statistics/ { getline; rx = $2 }
	k > n && /CPU cycles\/packet=/ {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^cycles=/) { c = $i; sub(/^cycles=/, "", c) }
			if ($i == "MHz") mhz = $(i - 1)
		}
	}
	END { printf "%.0f %.0f %.0f\n", c, rx, mhz }' "$WORK/testpmd.log"
}

CPU_RESULTS="$WORK/cpu-results"
TP_MHZ=0

# measure_cpu TRIAL MODE MIX: trafgen paced at RATE_PPS, SECONDS_PER
# seconds' worth of packets (-n), on CPU 0; one row per run
measure_cpu() {
	local trial="$1" mode="$2" mix="$3" n rx0 rx1 tx0 tx1 c0 c1 tg pid=""
	local fj0=0 fj1=0 fn0=0 fn1=0 w0=0 w1=0 b0=0 b1=0 k0 k1 tp mhz s e0 e1
	local ct0 ct1
	local tele="/var/run/dpdk/$PREFIX/dpdk_telemetry.v2"
	n=$(awk -v r="$RATE_PPS" -v s="$SECONDS_PER" 'BEGIN { printf "%.0f", r * s }')
	case "$mode" in
	edgefwd) pid="$EF_PID" ;;
	testpmd) pid="$TP_PID" ;;
	esac
	rm -f "$WORK/kthreads"
	k0=$(helper kthreads "$GEN_CPU" "$WORK/kthreads")
	ct0=$(ct_count)
	if [ "$mode" = edgefwd ]; then
		read -r b0 _ _ <<<"$(helper lcores "$tele")"
		[ -n "$b0" ] || die "edgefwd's telemetry did not answer"
	fi
	if [ "$mode" = testpmd ]; then
		s=$(testpmd_count "packet forwarding - ports=")
		testpmd_cmd start || die "testpmd is gone"
		testpmd_wait "packet forwarding - ports=" "$s" ||
			die "testpmd did not start forwarding"
	fi
	rx0=$(stat_rx); tx0=$(stat_tx)
	if [ -n "$pid" ]; then
		read -r fj0 fn0 w0 <<<"$(helper threads "$pid" "$GEN_CPU")"
		[ -n "$w0" ] || die "no threads of $mode's process $pid"
	fi
	times >"$WORK/times0"
	c0=$(cpu0_busy)
	e0=$(date +%s%N)
	if ! ip netns exec $NS_GEN timeout "$(awk -v s="$SECONDS_PER" 'BEGIN { printf "%d", s * 3 + 10 }')" \
		taskset -c "$GEN_CPU" trafgen -i "$ROOT/bench/trafgen-$mix.cfg" \
		-o g0 -P 1 -q -b "${RATE_PPS}pps" -n "$n" \
		>"$WORK/trafgen.log" 2>&1; then
		tail -3 "$WORK/trafgen.log" >&2
		die "trafgen failed ($mode $mix)"
	fi
	e1=$(date +%s%N)
	sleep 0.2	# let the last frames land
	c1=$(cpu0_busy)
	times >"$WORK/times1"
	if [ -n "$pid" ]; then
		read -r fj1 fn1 w1 <<<"$(helper threads "$pid" "$GEN_CPU")"
		[ -n "$w1" ] || die "no threads of $mode's process $pid"
	fi
	rx1=$(stat_rx); tx1=$(stat_tx)
	if [ "$mode" = edgefwd ]; then
		read -r b1 _ _ <<<"$(helper lcores "$tele")"
		[ -n "$b1" ] || die "edgefwd's telemetry did not answer"
	fi
	if [ "$mode" = testpmd ]; then
		tp=$(testpmd_stop_stats) || die "testpmd: no forward statistics"
		read -r b1 _ mhz <<<"$tp"
		[ "$mhz" -gt 0 ] && TP_MHZ=$mhz
	fi
	ct1=$(ct_count)
	k1=$(helper kthreads "$GEN_CPU" "$WORK/kthreads")
	# P must route without conntrack: no new entries
	if [ "$mode" = pass ] && [ "$ct1" -gt "$ct0" ]; then
		echo "sysbench: warning: pass $mix: conntrack entries rose $ct0 -> $ct1 (conntrack hooks still active)" >&2
	fi
	# trafgen's run time (its rusage: this shell's children reaped
	# between times0 and times1, so no helper runs in a process
	# substitution, which bash may reap late), which holds the softirq
	# work done in its context, in ns
	tg=$(awk 'FNR == 2 { split($1 " " $2, t, /[ms ]/)
		c = t[1] * 60 + t[2] + t[4] * 60 + t[5]
		if (FILENAME ~ /times0$/) a = c; else b = c }
		END { printf "%.0f", (b - a) * 1e9 }' "$WORK/times0" "$WORK/times1")
	# sent and delivered pps over trafgen's own run: a generator that
	# cannot keep the rate (its CPU saturated) takes longer
	awk -v m="$mode" -v x="$mix" -v el=$((e1 - e0)) -v hz="$HZ" \
	    -v rate="$RATE_PPS" -v rx=$((rx1 - rx0)) -v tx=$((tx1 - tx0)) \
	    -v j=$((c1 - c0)) -v fj=$((fj1 - fj0)) -v tg="$tg" \
	    -v kt=$((k1 - k0)) -v b=$((b1 - b0)) -v w=$((w1 - w0)) 'BEGIN {
		tj = tg * hz / 1e9; kj = kt * hz / 1e9; s = el / 1e9
		printf "%-8s %-4s sent %7.0f pps  delivered %7.0f pps  cpu0 %4d jiffies (forwarder %2d; run times: trafgen %5.1f, kthreads %4.1f, rest %5.1f)",
		    m, x, tx / s, rx / s, j, fj, tj, kj, j - fj - tj - kj
		if (m == "edgefwd" || m == "testpmd")
			printf "  worker busy %.3g cycles, preempted %.0f ms", b, w / 1e6
		printf "\n"
		if (tx / s < 0.95 * rate)
			printf "sysbench: warning: %s %s: the generator sent %.0f pps of %d offered (CPU 0 saturated): lower --rate\n", m, x, tx / s, rate > "/dev/stderr"
		else if ((tg + kt) / el > 0.9)
			printf "sysbench: warning: %s %s: the generator and the kernel kept CPU 0 busy %.0f%% of the run (near saturation): lower --rate\n", m, x, 100 * (tg + kt) / el > "/dev/stderr"
		if (m != "gen" && rx < 0.95 * tx)
			printf "sysbench: warning: %s %s delivered %.1f%% of sent (saturated or dropping): lower --rate\n", m, x, (tx > 0 ? 100 * rx / tx : 0) > "/dev/stderr"
		if (w / 1e9 > 0.05 * s)
			printf "sysbench: warning: %s %s: other load preempted the worker %.0f%% of the time (its busy cycles may include some of it)\n", m, x, 100 * w / el > "/dev/stderr"
	}'
	echo "$trial $mode $mix $((tx1 - tx0)) $((rx1 - rx0)) $((c1 - c0)) $((fj1 - fj0)) $tg $((k1 - k0)) $((b1 - b0)) $((w1 - w0)) $((fn1 - fn0)) $((e1 - e0))" >>"$CPU_RESULTS"
}

cpu_main() {
	local t mix tsc cpuinfo_mhz
	: >"$CPU_RESULTS"
	# TSC frequency, to turn CPU 0's jiffies into cycles comparable with
	# the workers' TSC counts: measured (rdtsc against the kernel's raw
	# monotonic clock), else /proc/cpuinfo's MHz
	cpuinfo_mhz=$(awk -F: '/^cpu MHz/ { print $2 + 0; exit }' /proc/cpuinfo)
	tsc=$(helper tsc-hz)
	if [ "${tsc:-0}" -le 0 ]; then
		tsc=$(awk -v m="$cpuinfo_mhz" 'BEGIN { printf "%.0f", m * 1e6 }')
		[ "$tsc" -gt 0 ] || die "no TSC frequency"
	fi
	echo "sysbench --cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $TRIALS trial(s) x ${SECONDS_PER}s at $RATE_PPS pps offered, mixes: $MIXES"
	awk -v t="$tsc" -v c="$cpuinfo_mhz" -v hz="$HZ" 'BEGIN {
		printf "sysbench --cpu: TSC %.2f MHz (rdtsc against CLOCK_MONOTONIC_RAW; /proc/cpuinfo cpu MHz %s), %d jiffies/s = %.0f cycles per jiffy\n", t / 1e6, c, hz, t / hz }'
	for t in $(seq "$TRIALS"); do
		# a new topology every trial: the kernel's conntrack starts
		# empty, as edgefwd's flow table does (it restarts every
		# trial), so K and E see the same share of new flows
		if [ "$t" -gt 1 ]; then
			topology_up
		fi
		mode_gen_up
		for mix in $MIXES; do measure_cpu "$t" gen "$mix"; done
		mode_gen_down
		mode_pass_up
		for mix in $MIXES; do measure_cpu "$t" pass "$mix"; done
		mode_pass_down
		mode_kernel_up
		for mix in $MIXES; do measure_cpu "$t" kernel "$mix"; done
		mode_kernel_down
		edgefwd_up_or_fallback
		for mix in $MIXES; do measure_cpu "$t" edgefwd "$mix"; done
		stop_edgefwd
		grep -E "edgefwd: (rx|drop)" "$WORK/edgefwd.log" | sed 's/^/  /' || true
		mode_testpmd_up "$PMD" || die "testpmd ($PMD) did not start"
		for mix in $MIXES; do measure_cpu "$t" testpmd "$mix"; done
		stop_testpmd
	done
	[ "$TP_MHZ" -gt 0 ] && echo "sysbench --cpu: (testpmd reports DPDK's rte_get_tsc_hz as $TP_MHZ MHz: DPDK rounds its estimate to 10 MHz)"
	echo
	cpu_summary "$tsc"
}

# Per trial and mix, in TSC cycles per delivered packet:
#   kernel side, run time: trafgen's run time + CPU 0's kernel threads',
#     less G's per sent packet x the packets sent;
#   kernel side, jiffies: CPU 0's non-idle jiffies less the forwarder's
#     own threads' there, less G's per sent packet x the packets sent;
#   forwarder side: the worker's busy cycles.
# Medians over the trials (each trial's G for its modes), then ratios.
cpu_summary() {
	awk -v tsc="$1" -v hz="$HZ" -v s="$SECONDS_PER" -v rate="$RATE_PPS" \
	    -v pmd="$PMD" -v trials="$TRIALS" -v mixlist="$MIXES" '
function median(arr, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) {
			t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t
		}
	return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "null" }
function rtext(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "n/a" }
{
	T = $1; M = $2; X = $3
	sent[T, M, X] = $4; dlv[T, M, X] = $5; jif[T, M, X] = $6
	fj[T, M, X] = $7; rt[T, M, X] = $8 + $9; busy[T, M, X] = $10
	pre[T, M, X] = $13 > 0 ? $11 / $13 : 0; el[T, M, X] = $13 / 1e9
	seen[T, M, X] = 1; mixes[X] = 1
}
END {
	split("pass kernel edgefwd testpmd", modes, " ")
	name["pass"] = "P kernel pass-through"; key["pass"] = "P"
	name["kernel"] = "K kernel + kube-proxy.nft"; key["kernel"] = "K"
	name["edgefwd"] = "E edgefwd (" pmd ")"; key["edgefwd"] = "E"
	name["testpmd"] = "T testpmd macswap"; key["testpmd"] = "T"
	json = sprintf("\"cpu_rate_pps\": %d, \"tsc_hz\": %.0f, \"seconds\": %g, \"trials\": %d, \"pmd\": \"%s\"", rate, tsc, s, trials, pmd)
	cpj = tsc / hz; cpn = tsc / 1e9
	nmix = split(mixlist, mixorder, " ")
	for (xi = 1; xi <= nmix; xi++) {
		x = mixorder[xi]
		if (!(x in mixes)) { bad = 1; continue }
		n = 0
		for (T = 1; T <= trials; T++) {
			if (!seen[T, "gen", x] || sent[T, "gen", x] == 0)
				continue
			n++
			gj = jif[T, "gen", x] / sent[T, "gen", x]
			gr = rt[T, "gen", x] / sent[T, "gen", x]
			ga[n] = gr * cpn; gb[n] = gj * cpj
			for (mi = 1; mi <= 4; mi++) {
				m = modes[mi]
				if (!seen[T, m, x] || dlv[T, m, x] == 0) {
					bad = 1; continue
				}
				d = dlv[T, m, x]
				KR[m, n] = (rt[T, m, x] - gr * sent[T, m, x]) * cpn / d
				KJ[m, n] = (jif[T, m, x] - fj[T, m, x] - gj * sent[T, m, x]) * cpj / d
				FW[m, n] = busy[T, m, x] / d
				TR[m, n] = KR[m, n] + FW[m, n]
				TJ[m, n] = KJ[m, n] + FW[m, n]
				SP[m, n] = sent[T, m, x] / el[T, m, x]
				DP[m, n] = d / el[T, m, x]; PR[m, n] = 100 * pre[T, m, x]
			}
		}
		if (n == 0) { bad = 1; continue }
		printf "%s at %d pps offered: CPU cycles per delivered packet, medians of %d trial(s)\n", x, rate, n
		printf "  G, the generator alone, taken out: %.0f cycles per sent packet (run time), %.0f (CPU 0 jiffies)\n", median(ga, n), median(gb, n)
		printf "  %-27s %8s %8s %11s %10s %7s %11s %7s %9s\n", "", "sent", "dlvd", "kernel side", "forwarder", "total", "kernel side", "total", "worker"
		printf "  %-27s %8s %8s %11s %10s %7s %11s %7s %9s\n", "mode", "pps", "pps", "run time", "busy", "", "jiffies", "", "preempted"
		for (mi = 1; mi <= 4; mi++) {
			m = modes[mi]
			for (i = 1; i <= n; i++) {
				b1[i] = KR[m, i]; b2[i] = FW[m, i]; b3[i] = TR[m, i]
				b4[i] = SP[m, i]; b5[i] = DP[m, i]; b6[i] = KJ[m, i]
				b7[i] = TJ[m, i]; b8[i] = PR[m, i]
			}
			kr = median(b1, n); fs = median(b2, n); tr = median(b3, n)
			kj = median(b6, n); tj = median(b7, n)
			V[m] = tr; VJ[m] = tj; FSm[m] = fs
			pr = median(b8, n)
			printf "  %-27s %8.0f %8.0f %11.0f %10.0f %7.0f %11.0f %7.0f %9s\n", name[m], median(b4, n), median(b5, n), kr, fs, tr, kj, tj, (m == "edgefwd" || m == "testpmd") ? sprintf("%.0f%%", pr) : "-"
			json = json sprintf(", \"%s_%s_sent_pps\": %.0f, \"%s_%s_delivered_pps\": %.0f, \"%s_%s_kernel_cpp\": %.0f, \"%s_%s_fwd_cpp\": %.0f, \"%s_%s_cpp\": %.0f, \"%s_%s_kernel_jiffies_cpp\": %.0f, \"%s_%s_jiffies_cpp\": %.0f, \"%s_%s_preempted_pct\": %.1f", x, key[m], median(b4, n), x, key[m], median(b5, n), x, key[m], kr, x, key[m], fs, x, key[m], tr, x, key[m], kj, x, key[m], tj, x, key[m], pr)
		}
		svk = V["kernel"] - V["pass"]; sve = V["edgefwd"] - V["testpmd"]
		printf "  %s K/E total: %s in edgefwd'"'"'s favour (target >= 5x; %s with the jiffies)\n", x, rtext(V["kernel"], V["edgefwd"]), rtext(VJ["kernel"], VJ["edgefwd"])
		printf "  %s service work above its own pass-through: kernel K-P %.0f, edgefwd E-T %.0f cycles/pkt -> %s\n", x, svk, sve, rtext(svk, sve)
		printf "  %s edgefwd against testpmd: E/T total %s, forwarder side %s (E-T there %.0f cycles/pkt)\n", x, rtext(V["edgefwd"], V["testpmd"]), rtext(FSm["edgefwd"], FSm["testpmd"]), FSm["edgefwd"] - FSm["testpmd"]
		json = json sprintf(", \"%s_G_cpp\": %.0f, \"%s_G_jiffies_cpp\": %.0f, \"%s_ratio_K_E\": %s, \"%s_ratio_K_E_jiffies\": %s, \"%s_service_K_P_cpp\": %.0f, \"%s_service_E_T_cpp\": %.0f, \"%s_ratio_service\": %s, \"%s_ratio_E_T\": %s, \"%s_ratio_E_T_fwd\": %s, \"%s_fwd_E_T_cpp\": %.0f", x, median(ga, n), x, median(gb, n), x, ratio(V["kernel"], V["edgefwd"]), x, ratio(VJ["kernel"], VJ["edgefwd"]), x, svk, x, sve, x, ratio(svk, sve), x, ratio(V["edgefwd"], V["testpmd"]), x, ratio(FSm["edgefwd"], FSm["testpmd"]), x, FSm["edgefwd"] - FSm["testpmd"])
	}
	printf "{%s}\n", json
	# a forwarder that delivered nothing is broken, whatever the figures
	exit bad
}' "$CPU_RESULTS"
}

topology_up
if [ "$CPU" = 1 ]; then
	cpu_main
	exit 0
fi
echo "sysbench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $TRIALS trial(s) x ${SECONDS_PER}s, mixes: $MIXES"
for t in $(seq "$TRIALS"); do
	mode_gen_up
	for mix in $MIXES; do measure gen "$mix"; done
	mode_gen_down
	mode_kernel_up
	for mix in $MIXES; do measure kernel "$mix"; done
	mode_kernel_down
	edgefwd_up_or_fallback
	for mix in $MIXES; do measure "edgefwd" "$mix"; done
	stop_edgefwd
	grep -E "edgefwd: (rx|drop)" "$WORK/edgefwd.log" | sed 's/^/  /' || true
done

# Medians per mode and mix; the kernel's forwarding CPU = its CPU 0 time
# minus the generator-only run's, per delivered packet.
echo
awk -v s="$SECONDS_PER" -v hz="$HZ" -v pmd="$PMD" '
function median(arr, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) {
			t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t
		}
	return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{
	k = $1 " " $2; n[k]++
	rx[k, n[k]] = $3 / s; tx[k, n[k]] = $4 / s
	# CPU seconds per sent packet: the generator process (veth runs the
	# forwarder in its context) plus softirq time
	cpp[k, n[k]] = $4 > 0 ? ($5 + $6) / hz / $4 : 0
	ef[k, n[k]] = $7 / hz / s
	mixes[$2] = 1
}
END {
	json = ""
	for (x in mixes) {
		for (mm = 1; mm <= 3; mm++) {
			m = mm == 1 ? "gen" : mm == 2 ? "kernel" : "edgefwd"
			k = m " " x
			for (i = 1; i <= n[k]; i++) {
				a[i] = rx[k, i]; b[i] = tx[k, i]
				d[i] = cpp[k, i]; e[i] = ef[k, i]
			}
			RX[m] = median(a, n[k]); TX[m] = median(b, n[k])
			CPP[m] = median(d, n[k]); EF[m] = median(e, n[k])
		}
		# kernel forwarding CPU: per packet, what the generator process
		# and softirq spent beyond the generator-only run
		kfwd = (CPP["kernel"] - CPP["gen"]) * TX["kernel"]
		if (kfwd < 0.01) kfwd = 0.01
		kpc = RX["kernel"] / kfwd
		# edgefwd: one worker core, busy-polling (an upper bound on
		# its CPU: the worker spins whether or not frames arrive)
		epc = RX["edgefwd"] / 1.0
		printf "%-4s kernel  delivered %9.0f pps (sent %9.0f), forwarding CPU %.2f cores -> %9.0f pps/core\n", x, RX["kernel"], TX["kernel"], kfwd, kpc
		printf "%-4s edgefwd delivered %9.0f pps (sent %9.0f), 1 worker core (%s; process %.2f cores) -> %9.0f pps/core\n", x, RX["edgefwd"], TX["edgefwd"], pmd, EF["edgefwd"], epc
		printf "%-4s ratio edgefwd/kernel: delivered %.2fx, per core %.2fx (generator alone: %9.0f pps)\n", x, RX["edgefwd"] / (RX["kernel"] > 0 ? RX["kernel"] : 1), epc / (kpc > 0 ? kpc : 1), TX["gen"]
		json = json sprintf("%s\"%s_kernel_pps\": %.0f, \"%s_edgefwd_pps\": %.0f, \"%s_ratio\": %.3f, \"%s_kernel_pps_per_core\": %.0f, \"%s_ratio_per_core\": %.3f, \"%s_gen_pps\": %.0f", json == "" ? "" : ", ", x, RX["kernel"], x, RX["edgefwd"], x, RX["edgefwd"] / (RX["kernel"] > 0 ? RX["kernel"] : 1), x, kpc, x, epc / (kpc > 0 ? kpc : 1), x, TX["gen"])
	}
	printf "{%s, \"pmd\": \"%s\", \"seconds\": %d}\n", json, pmd, s
	# a forwarder that delivered nothing is broken, whatever the figures
	for (x in mixes)
		if (!(("kernel " x) in n) || !(("edgefwd " x) in n))
			exit 1
	exit bad
}
$3 == 0 && $1 != "gen" { bad = 1 }' "$RESULTS"
