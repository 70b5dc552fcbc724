#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Bulk benchmark (BENCH.md, level 3): real clients through a Cluster VIP,
# one client -> forwarder -> pod veth topology in network namespaces:
#
#   efbk-cl   c0 198.51.100.2/24 (02:5b:00:00:00:01)   iperf3 -c, wrk
#        |  veth
#   efbk-fwd  f0 198.51.100.1/24, f1 10.0.0.1/24        the forwarder
#        |  veth
#   efbk-pod  s0 10.0.0.2/24 + 10.244.1.5 (02:5b:00:00:01:01)
#             iperf3 -s on :5201, nginx on :8080 (a 64-byte answer)
#
# VIP 198.51.100.10: TCP 5201 -> 10.244.1.5:5201, TCP 80 -> :8080, both
# SNAT'd to 10.0.0.1 (Cluster). Forwarders, each at every --mtu given
# (the MTU of all four veth ends and of edgefwd's interfaces):
#   K  the kernel: ip_forward with an nftables DNAT + masquerade (the
#      kernel forwards 64 KB GSO packets between veths);
#   E  edgefwd on the same veths (net_af_xdp; net_af_packet with
#      --pmd af_packet), control lcore on CPU 0, worker on CPU 1.
# Each runs iperf3 (one TCP stream, --seconds) and wrk (-c100 -t2,
# --seconds); both CPUs are shared with the client and the pod, as they
# were when the issue measured them. Prints one line per run, then the
# ratios E/K and, last, one JSON line.
#
#   bench/bulk.sh [--build DIR] [--seconds S] [--mtu "1500 3442"]
#                 [--pmd af_xdp|af_packet] [--quick]
#
# Needs root, iperf3, wrk, nginx, nft, ethtool and
# DIR/app/edgefwd/edgefwd (default: build/; use a release build for
# figures). --quick: 2 s runs (the smoke run of scripts/test.sh). A run
# that carries no bulk data (iperf3 under 0.1 Gbit/s: frames of that MTU
# dropped) fails the script. When net_af_xdp cannot start, edgefwd runs
# on net_af_packet at MTU 1500 only (printed). net_af_xdp takes an MTU up
# to 3442 (one umem chunk, a 4 KiB page less the mbuf and XDP's
# headroom); net_tap and net_af_packet 1500. Everything it creates
# (namespaces efbk-*, its processes, edgefwd's runtime directory) is
# removed on exit, also on failure (BULK_KEEP=1 keeps it all, to look
# at).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
SECONDS_PER=5
MTUS="1500 3442"
PMD=af_xdp
NS_CL=efbk-cl
NS_FWD=efbk-fwd
NS_POD=efbk-pod
PREFIX="efbk$$"
WORK="$(mktemp -d)"
PIDS=""

die() { echo "bulk: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD="$(cd "$2" && pwd)"; shift ;;
	--seconds) SECONDS_PER="$2"; shift ;;
	--mtu) MTUS="$2"; shift ;;
	--pmd) PMD="$2"; shift ;;
	--quick) SECONDS_PER=2 ;;
	-h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2' "$0"; exit 0 ;;
	*) die "unknown option $1 (--help)" ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, nftables)"
for t in iperf3 wrk nginx nft ethtool; do
	command -v "$t" >/dev/null || die "$t missing (scripts/lib.sh installs it)"
done
EDGEFWD="$BUILD/app/edgefwd/edgefwd"
[ -x "$EDGEFWD" ] || die "$EDGEFWD missing: meson setup build && ninja -C build"
for m in $MTUS; do
	[[ "$m" =~ ^[0-9]+$ ]] && [ "$m" -ge 1280 ] && [ "$m" -le 9000 ] ||
		die "--mtu: values from 1280 to 9000"
done

in_ns() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

# make_veths, start_edgefwd, stop_edgefwd
. "$ROOT/bench/edgefwd-veth.sh"

cleanup() {
	stop_edgefwd
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	for ns in $NS_CL $NS_FWD $NS_POD; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
[ -n "${BULK_KEEP:-}" ] || trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for WHAT CMD...: up to 10 s for CMD to succeed
wait_for() {
	local what="$1"; shift
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "$what did not come up"
}

topology_up() {
	make_veths $NS_CL c0 $NS_POD
	in_ns $NS_CL ip addr add 198.51.100.2/24 dev c0
	in_ns $NS_CL ip link set c0 up
	in_ns $NS_CL ip route add default via 198.51.100.1
	# the VIP through the forwarder (edgefwd answers ARP for it, the
	# kernel forwarder would not)
	in_ns $NS_CL ip route add 198.51.100.10/32 via 198.51.100.1
	in_ns $NS_FWD ip link set f0 up
	in_ns $NS_FWD ip link set f1 up
	in_ns $NS_POD ip addr add 10.0.0.2/24 dev s0
	in_ns $NS_POD ip addr add 10.244.1.5/32 dev s0
	in_ns $NS_POD ip link set s0 up
	in_ns $NS_POD ip route add default via 10.0.0.1
	# the pod's servers, for the whole run
	mkdir -p "$WORK/nginx"
	cat >"$WORK/nginx/nginx.conf" <<-EOF
	worker_processes 1;
	pid $WORK/nginx/nginx.pid;
	error_log $WORK/nginx/error.log;
	events { worker_connections 1024; }
	http {
		access_log off;
		keepalive_requests 1000000;
		server {
			listen 10.244.1.5:8080 reuseport;
			location / { return 200 "0123456789012345678901234567890123456789012345678901234567890\n"; }
		}
	}
	EOF
	ip netns exec $NS_POD nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" \
		-g 'daemon off;' >"$WORK/nginx.log" 2>&1 &
	PIDS="$PIDS $!"
	ip netns exec $NS_POD iperf3 -s -B 10.244.1.5 -p 5201 >"$WORK/iperf3-s.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for nginx in_ns $NS_POD bash -c 'exec 3<>/dev/tcp/10.244.1.5/8080'
	wait_for "iperf3 -s" in_ns $NS_POD bash -c \
		"ss -Hltn 'sport = :5201' | grep -q ."
}

set_mtu() {
	in_ns $NS_CL ip link set c0 mtu "$1"
	in_ns $NS_FWD ip link set f0 mtu "$1"
	in_ns $NS_FWD ip link set f1 mtu "$1"
	in_ns $NS_POD ip link set s0 mtu "$1"
	# no learned path MTU from an earlier run
	in_ns $NS_CL ip route flush cache
	in_ns $NS_POD ip route flush cache
}

# offload CHECKSUM (on|off) of the client's and the pod's veths: off for
# edgefwd, as an XDP socket on veth receives the sender's frames with
# their checksums left to offload (CHECKSUM_PARTIAL, never filled in) and
# cannot take 64 KB GSO frames; the kernel forwarder keeps them on (it
# forwards GSO frames whole)
offload() {
	in_ns $NS_CL ethtool -K c0 tx "$1" >/dev/null
	in_ns $NS_POD ethtool -K s0 tx "$1" >/dev/null
}

kernel_up() {
	offload on
	in_ns $NS_FWD ip addr replace 198.51.100.1/24 dev f0
	in_ns $NS_FWD ip addr replace 10.0.0.1/24 dev f1
	in_ns $NS_FWD ip route replace 10.244.1.0/24 via 10.0.0.2 dev f1
	in_ns $NS_FWD sysctl -qw net.ipv4.ip_forward=1
	in_ns $NS_FWD nft -f - <<-'EOF'
	table ip bulk {
		chain pre {
			type nat hook prerouting priority dstnat; policy accept;
			ip daddr 198.51.100.10 tcp dport 5201 dnat to 10.244.1.5:5201
			ip daddr 198.51.100.10 tcp dport 80 dnat to 10.244.1.5:8080
		}
		chain post {
			type nat hook postrouting priority srcnat; policy accept;
			ct status dnat masquerade
		}
	}
	EOF
}

kernel_down() {
	in_ns $NS_FWD nft flush ruleset
	in_ns $NS_FWD sysctl -qw net.ipv4.ip_forward=0
	in_ns $NS_FWD ip addr flush dev f0
	in_ns $NS_FWD ip addr flush dev f1
	in_ns $NS_FWD conntrack -F >/dev/null 2>&1 || true
}

edgefwd_up() {
	local mtu="$1" conf="$WORK/edgefwd.conf"
	offload off
	cat >"$conf" <<-EOF
	node = { name = "node-a"; snat_addresses = [ "10.0.0.1" ]; };
	interfaces = (
	  { port = "net_${PMD}0"; address = "198.51.100.1/24"; mtu = $mtu; },
	  { port = "net_${PMD}1"; address = "10.0.0.1/24"; mtu = $mtu; }
	);
	routes = ( { prefix = "10.244.1.0/24"; via = "10.0.0.2"; } );
	neighbors = (
	  { address = "198.51.100.2"; mac = "02:5b:00:00:00:01"; },
	  { address = "10.0.0.2"; mac = "02:5b:00:00:01:01"; }
	);
	dataplane = { mbufs = 16383; };
	health = { type = "none"; };
	services = ( {
	  name = "bench/bulk"; type = "LoadBalancer";
	  cluster_ip = "10.96.0.10"; load_balancer_ips = [ "198.51.100.10" ];
	  external_traffic_policy = "Cluster";
	  ports = (
	    { name = "iperf"; protocol = "TCP"; port = 5201; target_port = 5201; },
	    { name = "http"; protocol = "TCP"; port = 80; target_port = 8080; }
	  );
	  endpoints = ( { address = "10.244.1.5"; node = "node-b"; } );
	} );
	EOF
	if [ "$PMD" = af_packet ]; then
		# AF_PACKET copies frames and leaves them to the kernel too,
		# which would answer the pod's replies to 10.0.0.1 (the
		# exception TAP's address) with RSTs: drop them at ingress,
		# after the packet sockets' taps
		in_ns $NS_FWD nft -f - <<-'EOF'
		table netdev afpacket {
			chain in0 {
				type filter hook ingress device "f0" priority 0; policy drop;
			}
			chain in1 {
				type filter hook ingress device "f1" priority 0; policy drop;
			}
		}
		EOF
	fi
	start_edgefwd "$PMD" "$conf" "bulk (mtu $mtu)"
}

edgefwd_down() {
	stop_edgefwd
	in_ns $NS_FWD nft delete table netdev afpacket 2>/dev/null || true
}

RESULTS="$WORK/results"
: >"$RESULTS"

# measure MODE MTU: iperf3 then wrk through the VIP, one result line each
measure() {
	local mode="$1" mtu="$2" gbps rps
	# bounded: a path that stalls mid-test must not hang the run
	in_ns $NS_CL timeout $((SECONDS_PER + 30)) iperf3 -c 198.51.100.10 \
		-p 5201 -t "$SECONDS_PER" -J --connect-timeout 5000 \
		>"$WORK/iperf3.json" 2>"$WORK/iperf3.err" ||
		die "iperf3 ($mode, mtu $mtu) failed: $(tail -c 300 "$WORK/iperf3.json" "$WORK/iperf3.err")"
	gbps=$(/usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
if "error" in j: sys.exit("iperf3: " + j["error"])
print("%.3f" % (j["end"]["sum_received"]["bits_per_second"] / 1e9))' \
		"$WORK/iperf3.json")
	awk -v g="$gbps" 'BEGIN { exit !(g >= 0.1) }' ||
		die "$mode at mtu $mtu carried no bulk data (iperf3 $gbps Gbit/s): frames of that size are dropped"
	in_ns $NS_CL timeout $((SECONDS_PER + 30)) wrk -c100 -t2 \
		-d"${SECONDS_PER}s" \
		http://198.51.100.10/ >"$WORK/wrk.log" 2>&1 ||
		die "wrk ($mode, mtu $mtu) failed: $(tail -3 "$WORK/wrk.log")"
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk.log")
	[ -n "$rps" ] || die "wrk printed no Requests/sec: $(tail -3 "$WORK/wrk.log")"
	if grep -q "Non-2xx\|Socket errors" "$WORK/wrk.log"; then
		echo "bulk: warning: $mode mtu $mtu: $(grep -E 'Non-2xx|Socket errors' "$WORK/wrk.log")" >&2
	fi
	printf "%-8s mtu %4d  iperf3 %7.3f Gbit/s  wrk -c100 %9.0f req/s\n" \
		"$mode" "$mtu" "$gbps" "$rps"
	echo "$mode $mtu $gbps $rps" >>"$RESULTS"
}

echo "bulk: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, ${SECONDS_PER}s per run, MTUs: $MTUS, edgefwd on net_$PMD"
topology_up
for mtu in $MTUS; do
	if [ "$PMD" = af_packet ] && [ "$mtu" -gt 1500 ]; then
		echo "bulk: mtu $mtu skipped: net_af_packet takes 1500" >&2
		continue
	fi
	set_mtu "$mtu"
	kernel_up
	measure kernel "$mtu"
	kernel_down
	if ! edgefwd_up "$mtu"; then
		[ "$PMD" = af_xdp ] && [ "$mtu" = 1500 ] ||
			die "edgefwd did not start at mtu $mtu"
		echo "bulk: falling back to net_af_packet, at mtu 1500 only" >&2
		PMD=af_packet
		edgefwd_up "$mtu" || die "edgefwd did not start at mtu $mtu"
	fi
	measure edgefwd "$mtu"
	edgefwd_down
	grep -E "edgefwd: (rx|drop)" "$WORK/edgefwd.log" | sed 's/^/  /' || true
done

echo
awk -v pmd="$PMD" '
{ g[$1, $2] = $3; r[$1, $2] = $4; if (!($2 in seen)) { seen[$2] = 1; mtus[++n] = $2 } }
END {
	json = "\"pmd\": \"" pmd "\""
	for (i = 1; i <= n; i++) {
		m = mtus[i]
		gr = g["kernel", m] > 0 ? g["edgefwd", m] / g["kernel", m] : 0
		rr = r["kernel", m] > 0 ? r["edgefwd", m] / r["kernel", m] : 0
		printf "mtu %4d: edgefwd/kernel iperf3 %.2fx, wrk %.2fx\n", m, gr, rr
		json = json sprintf(", \"kernel_%d_gbps\": %s, \"edgefwd_%d_gbps\": %s, \"kernel_%d_rps\": %s, \"edgefwd_%d_rps\": %s", m, g["kernel", m], m, g["edgefwd", m], m, r["kernel", m], m, r["edgefwd", m])
	}
	if (n > 1 && g["edgefwd", mtus[1]] > 0) {
		x = g["edgefwd", mtus[n]] / g["edgefwd", mtus[1]]
		printf "edgefwd iperf3 at mtu %d / mtu %d: %.2fx\n", mtus[n], mtus[1], x
	}
	print "{" json "}"
}' "$RESULTS"
