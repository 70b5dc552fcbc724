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
#
# Needs root, trafgen, nft, and DIR/app/edgefwd/edgefwd (default: build/).
# --quick: one trial of 2 s per mix (the smoke run of scripts/test.sh).
# Everything it creates (namespaces efsb-*, the edgefwd process, its
# runtime directory) is removed on exit, also on failure.
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
EF_PID=""

die() { echo "sysbench: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD="$(cd "$2" && pwd)"; shift ;;
	--trials) TRIALS="$2"; shift ;;
	--seconds) SECONDS_PER="$2"; shift ;;
	--mix) MIX="$2"; shift ;;
	--pmd) PMD="$2"; shift ;;
	--quick) TRIALS=1; SECONDS_PER=2 ;;
	-h|--help) sed -n '3,30p' "$0"; exit 0 ;;
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

in_ns() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

stop_edgefwd() {
	if [ -n "$EF_PID" ]; then
		kill -TERM "$EF_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$EF_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$EF_PID" 2>/dev/null || true
		wait "$EF_PID" 2>/dev/null || true
		EF_PID=""
	fi
	rm -rf "/var/run/dpdk/$PREFIX"
}

cleanup() {
	stop_edgefwd
	for ns in $NS_GEN $NS_FWD $NS_SINK; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

topology_up() {
	for ns in $NS_GEN $NS_FWD $NS_SINK; do
		ip netns del "$ns" 2>/dev/null || true
		ip netns add "$ns"
		in_ns "$ns" ip link set lo up
		# no IPv6 chatter (DAD, router solicitations) on the data path
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		in_ns "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	done
	ip link add g0 netns $NS_GEN address 02:5b:00:00:00:01 type veth \
		peer name f0 netns $NS_FWD address 02:5b:00:00:00:02
	ip link add f1 netns $NS_FWD address 02:5b:00:00:01:02 type veth \
		peer name s0 netns $NS_SINK address 02:5b:00:00:01:01
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
	local conf="$WORK/edgefwd.conf" pmd="$1" i
	sed "s/net_af_xdp/net_$pmd/g" "$ROOT/bench/sysbench.conf" >"$conf"
	if [ "$pmd" = af_xdp ] && ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
	fi
	# not through in_ns (a function would fork a subshell): EF_PID must
	# be edgefwd's own pid
	ip netns exec $NS_FWD "$EDGEFWD" -l 0,1 --no-huge -m 1024 --no-pci \
		--file-prefix="$PREFIX" --log-level='lib.*:error' \
		--vdev="net_${pmd}0,iface=f0" --vdev="net_${pmd}1,iface=f1" \
		-- -c "$conf" >"$WORK/edgefwd.log" 2>&1 &
	EF_PID=$!
	for i in $(seq 100); do
		grep -q "edgefwd: ready" "$WORK/edgefwd.log" && return 0
		kill -0 "$EF_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "sysbench: edgefwd ($pmd) did not start:" >&2
	tail -5 "$WORK/edgefwd.log" >&2
	stop_edgefwd
	return 1
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

topology_up
echo "sysbench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $TRIALS trial(s) x ${SECONDS_PER}s, mixes: $MIXES"
for t in $(seq "$TRIALS"); do
	mode_gen_up
	for mix in $MIXES; do measure gen "$mix"; done
	mode_gen_down
	mode_kernel_up
	for mix in $MIXES; do measure kernel "$mix"; done
	mode_kernel_down
	if ! mode_edgefwd_up "$PMD"; then
		[ "$PMD" = af_xdp ] || die "edgefwd did not start"
		echo "sysbench: falling back to net_af_packet" >&2
		PMD=af_packet
		mode_edgefwd_up "$PMD" || die "edgefwd did not start"
	fi
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
