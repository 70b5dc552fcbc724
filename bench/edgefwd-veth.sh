# SPDX-License-Identifier: BSD-3-Clause
#
# Sourced by bench/sysbench.sh and bench/bulk.sh: edgefwd on the veths f0
# and f1 of namespace $NS_FWD, control lcore on CPU 0, worker on CPU 1.
# The caller sets EDGEFWD (the binary), NS_FWD, PREFIX (EAL file prefix)
# and WORK (its log goes to $WORK/edgefwd.log); EF_PID is edgefwd's pid.

EF_PID=""

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

# start_edgefwd PMD CONF WHO: edgefwd on net_PMD0/1 with CONF, up to 10 s
# for its "ready" line; else WHO's message, the log's tail, and 1
start_edgefwd() {
	local pmd="$1" conf="$2" who="$3"
	if [ "$pmd" = af_xdp ] && ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
	fi
	# not through a shell function (it would fork a subshell): EF_PID
	# must be edgefwd's own pid
	ip netns exec "$NS_FWD" "$EDGEFWD" -l 0,1 --no-huge -m 1024 --no-pci \
		--file-prefix="$PREFIX" --log-level='lib.*:error' \
		--vdev="net_${pmd}0,iface=f0" --vdev="net_${pmd}1,iface=f1" \
		-- -c "$conf" >"$WORK/edgefwd.log" 2>&1 &
	EF_PID=$!
	for _ in $(seq 100); do
		grep -q "edgefwd: ready" "$WORK/edgefwd.log" && return 0
		kill -0 "$EF_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "$who: edgefwd ($pmd) did not start:" >&2
	tail -5 "$WORK/edgefwd.log" >&2
	stop_edgefwd
	return 1
}

# make_veths NS_A DEV_A NS_B: namespaces NS_A, $NS_FWD and NS_B, new, with
# lo up and no IPv6 (no DAD or router solicitations on the data path), and
# the veths DEV_A (02:5b:00:00:00:01) - f0 (02:5b:00:00:00:02) and
# f1 (02:5b:00:00:01:02) - s0 (02:5b:00:00:01:01), all down
make_veths() {
	local a="$1" dev="$2" b="$3" ns
	for ns in "$a" "$NS_FWD" "$b"; do
		ip netns del "$ns" 2>/dev/null || true
		ip netns add "$ns"
		ip netns exec "$ns" ip link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	done
	ip link add "$dev" netns "$a" address 02:5b:00:00:00:01 type veth \
		peer name f0 netns "$NS_FWD" address 02:5b:00:00:00:02
	ip link add f1 netns "$NS_FWD" address 02:5b:00:00:01:02 type veth \
		peer name s0 netns "$b" address 02:5b:00:00:01:01
}
