# SPDX-License-Identifier: BSD-3-Clause
"""Hostile packets at full speed while a real TCP transfer runs.

scapy builds one frame per hostile class (docs/RELIABILITY.md lists the
policy for each); a raw AF_PACKET socket in the client namespace sends a
few thousand of each, interleaved, as fast as the kernel takes them, while
the client downloads a blob through the Cluster service. The transfer
must complete with the right SHA-256. At full speed the TAP drops part of
the blast before edgefwd sees it, so there every reason must hold its
share of what arrived; a second, paced round (no loss) after the transfer
must be counted exactly, class by class.

The same file is the sender (it runs inside the client namespace):
  python3 -m dts.tests.test_hostile --iface dtap0 --dst-mac M --count N \\
      [--flow-port P] [--gap-us US]
prints {"sent": {class: n}, "flow_seq": ...} as JSON.
"""

import argparse
import json
import socket
import subprocess
import sys
import time

try:
    import pytest
except ImportError:  # the sender needs scapy only
    pytest = None

from dts import topo

C = topo.CLIENT_ADDR
LB = topo.LB_CLUSTER
PER_CLASS = 3000
PACED = 50
BLOB = 150 * 1024 * 1024

# class -> the drop reason it must be counted under (docs/RELIABILITY.md)
EXPECTED = {
    "trunc_ip": "parse_error",
    "trunc_tcp": "parse_error",
    "bad_ihl": "parse_error",
    "bad_totlen": "parse_error",
    "bad_ipv6_plen": "parse_error",
    "bad_ip_csum": "bad_checksum",
    "frag_first": "fragment",
    "frag_middle": "fragment",
    "frag_overlap": "fragment",
    "ttl0": "ttl_exceeded",
    "ttl1": "ttl_exceeded",
    "syn_fin": "ct_invalid",
    "syn_rst": "ct_invalid",
    "no_flags": "no_flow",
    "rst_no_flow": "no_flow",
    "snat_port": "no_flow",
    "icmp_forged": "icmp_untracked",
    "land": "bad_source",
    "bcast_src_mac": "bad_source",
    "mcast_src_ip": "bad_source",
    "rst_storm_flow": "ct_invalid",
}


def build_frames(src_mac, dst_mac, flow_port, flow_seq, flow_ack):
    """{class: frame bytes}. flow_port/seq/ack: the real transfer's client
    port and the sequence numbers last seen on it (for the RST storm)."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    eth = Ether(src=src_mac, dst=dst_mac)
    syn = TCP(sport=40001, dport=80, flags="S", seq=1000)
    full_syn = bytes(eth / IP(src=C, dst=LB) / syn)
    f = {
        # cut inside the IPv4 header, then inside the TCP header
        "trunc_ip": full_syn[:14 + 12],
        "trunc_tcp": full_syn[:14 + 20 + 10],
        "bad_ihl": bytes(eth / IP(src=C, dst=LB, ihl=4) / syn),
        "bad_totlen": bytes(eth / IP(src=C, dst=LB, len=1400) / syn),
        "bad_ipv6_plen": bytes(eth / IPv6(src="2001:db8::2",
                                          dst="2001:db8::11", plen=1200) /
                               UDP(sport=4000, dport=53)),
        "bad_ip_csum": bytes(eth / IP(src=C, dst=LB, chksum=0x1234) / syn),
        "frag_first": bytes(eth / IP(src=C, dst=LB, flags="MF", frag=0,
                                     id=7) / syn / (b"x" * 64)),
        "frag_middle": bytes(eth / IP(src=C, dst=LB, flags="MF", frag=100,
                                      id=7, proto=6) / (b"x" * 64)),
        "frag_overlap": bytes(eth / IP(src=C, dst=LB, frag=1, id=7,
                                       proto=6) / (b"y" * 64)),
        "ttl0": bytes(eth / IP(src=C, dst=LB, ttl=0) / syn),
        "ttl1": bytes(eth / IP(src=C, dst=LB, ttl=1) / syn),
        "syn_fin": bytes(eth / IP(src=C, dst=LB) /
                         TCP(sport=40002, dport=80, flags="SF")),
        "syn_rst": bytes(eth / IP(src=C, dst=LB) /
                         TCP(sport=40003, dport=80, flags="SR")),
        "no_flags": bytes(eth / IP(src=C, dst=LB) /
                          TCP(sport=40004, dport=80, flags="")),
        "rst_no_flow": bytes(eth / IP(src=C, dst=LB) /
                             TCP(sport=40005, dport=80, flags="R",
                                 seq=12345)),
        # the SNAT address from outside, on a SNAT port (default range
        # 1024-29999) no flow holds
        "snat_port": bytes(eth / IP(src=C, dst=topo.SNAT_ADDR) /
                           TCP(sport=80, dport=20000, flags="A")),
        # an ICMP error about LB:80 -> client with the wrong client port
        "icmp_forged": bytes(eth / IP(src=C, dst=LB) /
                             ICMP(type=3, code=3) /
                             IP(src=LB, dst=C) /
                             TCP(sport=80, dport=(flow_port or 50000) ^ 1,
                                 flags="A")),
        "land": bytes(eth / IP(src=LB, dst=LB) /
                      TCP(sport=80, dport=80, flags="S")),
        "bcast_src_mac": bytes(Ether(src="ff:ff:ff:ff:ff:ff", dst=dst_mac) /
                               IP(src=C, dst=LB) / syn),
        "mcast_src_ip": bytes(eth / IP(src="224.0.0.5", dst=LB) / syn),
    }
    if flow_port:
        # RSTs on the real flow, half the sequence space away from what
        # the client sends: never acceptable, must not end the transfer
        f["rst_storm_flow"] = bytes(
            eth / IP(src=C, dst=LB) /
            TCP(sport=flow_port, dport=80, flags="R",
                seq=(flow_seq + (1 << 31)) & 0xffffffff, ack=flow_ack))
    return f


def sniff_flow(iface, port, timeout=3.0):
    """(port, seq, ack) of one segment the client sends on its flow to
    port 80 (from port; 0: any port, the first established segment).
    With port 0 the sniffer starts before the caller's transfer does:
    "sniffing" on stderr says it is listening, so the test starts the
    transfer only then and the blast always overlaps it."""
    from scapy.all import AsyncSniffer
    from scapy.layers.inet import TCP

    def ours(p):
        return (TCP in p and p[TCP].dport == 80 and
                (port == 0 or p[TCP].sport == port) and
                (p[TCP].flags & 0x12) == 0x10)

    sn = AsyncSniffer(iface=iface, count=1, lfilter=ours, store=True)
    sn.start()
    sys.stderr.write("sniffing\n")
    sys.stderr.flush()
    sn.join(timeout)
    if sn.running:
        sn.stop()
    pkts = sn.results or []
    if not pkts:
        return port, None, None
    return pkts[0][TCP].sport, pkts[0][TCP].seq, pkts[0][TCP].ack


def sender_main(argv):
    ap = argparse.ArgumentParser(description="hostile frame sender")
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--count", type=int, default=PER_CLASS)
    ap.add_argument("--flow-port", type=int, default=-1,
                    help="the transfer's client port (0: the first "
                    "established flow to port 80 seen; -1: no flow)")
    ap.add_argument("--gap-us", type=int, default=0,
                    help="pause between frames (0: full speed)")
    ap.add_argument("--only", help="send this class only")
    args = ap.parse_args(argv)
    with open("/sys/class/net/%s/address" % args.iface) as fh:
        src_mac = fh.read().strip()
    seq = ack = None
    if args.flow_port >= 0:
        args.flow_port, seq, ack = sniff_flow(
            args.iface, args.flow_port,
            timeout=30.0 if args.flow_port == 0 else 3.0)
    frames = build_frames(src_mac, args.dst_mac,
                          args.flow_port if seq is not None else 0,
                          seq or 0, ack or 0)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.iface, 0))
    if args.only:
        frames = {args.only: frames[args.only]}
    sent = {name: 0 for name in frames}
    order = list(frames.items())
    start = time.monotonic()
    # interleaved rounds: every class is in flight during the transfer
    for _ in range(args.count):
        for name, frame in order:
            try:
                s.send(frame)
                sent[name] += 1
                if args.gap_us:
                    time.sleep(args.gap_us / 1e6)
            except OSError:
                # the TAP's queue is full: wait for the data plane
                time.sleep(0.0005)
    json.dump({"sent": sent, "seconds": time.monotonic() - start,
               "flow_seq": seq}, sys.stdout)
    sys.stdout.write("\n")
    return 0


def lb_mac(t):
    """The data plane's MAC as the client's neighbour table has it."""
    cp = t.ip("cl", "-j", "neigh", "show", "dev", "dtap0")
    for n in json.loads(cp.stdout or "[]"):
        if n.get("lladdr") and n.get("dst") in (topo.NODE_EXT_ADDR, LB):
            return n["lladdr"]
    raise AssertionError("no neighbour entry for edgefwd: %s" % cp.stdout)


def flow_port(t, timeout=10.0):
    """Client port of the established connection to LB:80 (test_fulltable
    uses it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cp = t.exec("cl", ["ss", "-Htn", "state", "established",
                           "dst", LB + ":80"], check=False)
        for line in cp.stdout.splitlines():
            local = line.split()[-2]
            return int(local.rsplit(":", 1)[1])
        time.sleep(0.02)
    raise AssertionError("the transfer never connected")


def sender_argv(mac, count, port=-1, only=None, gap_us=0):
    argv = ["env", "PYTHONPATH=%s" % topo.REPO, topo.PYTHON, "-m",
            "dts.tests.test_hostile", "--iface", "dtap0", "--dst-mac", mac,
            "--count", str(count), "--flow-port", str(port),
            "--gap-us", str(gap_us)]
    return argv + (["--only", only] if only else [])


def check_shares(sent, before, after):
    """Full-speed round: the TAP loses the same fraction of every class
    (they are interleaved), so each reason holds at least half its share
    of what edgefwd counted, and nothing else was dropped."""
    want = {}
    for cls, n in sent.items():
        want[EXPECTED[cls]] = want.get(EXPECTED[cls], 0) + n
    delta = {k: after[k] - before.get(k, 0) for k in after}
    print("hostile: drops", {k: v for k, v in delta.items() if v})
    counted = sum(delta[r] for r in want)
    total = sum(sent.values())
    frac = counted / total
    print("hostile: %d of %d frames reached edgefwd and were counted"
          % (counted, total))
    assert counted >= 50 * len(sent), "too few frames arrived to judge"
    for reason, n in sorted(want.items()):
        assert delta[reason] >= 0.5 * frac * n, \
            "%s: %d counted, expected about %d of %d sent (%s)" % (
                reason, delta[reason], frac * n, n,
                [c for c in sent if EXPECTED[c] == reason])
    # ICMP answers to TTL 0/1 hit the rate limit: counted, and explained
    unexplained = {k: v for k, v in delta.items()
                   if v and k not in want and k != "icmp_ratelimit"}
    assert not unexplained, "unexplained drops %s" % unexplained


if pytest is not None:
    @pytest.fixture(scope="module")
    def lb(request, run_prefix):
        t = topo.Topology("%sho" % run_prefix)
        request.addfinalizer(t.down)
        t.up()
        t.start_edgefwd(topo.DEMO_CONF, 1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            [r] = t.client("cl", "get", "http://%s/" % LB,
                           "--connect-timeout", "1")
            if r["ok"]:
                break
        yield t
        rc = t.stop_dataplane()
        assert rc == 0, "edgefwd exit %s:\n%s" % (
            rc, t.dataplane.output()[-3000:])

    def test_hostile_classes_counted_transfer_intact(lb):
        t = lb
        mac = lb_mac(t)
        before = t.dataplane.telemetry("/edgefwd/stats")["drops"]
        # the sender sniffs first, then the transfer starts: the blast is
        # sent as soon as the transfer's first segment is seen, however
        # long scapy took to load on a busy machine
        sender = subprocess.Popen(
            ["ip", "netns", "exec", t.ns["cl"]] +
            sender_argv(mac, PER_CLASS, 0),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        xfer = None
        try:
            line = sender.stderr.readline()
            assert line.strip() == "sniffing", line + sender.stderr.read()
            xfer = subprocess.Popen(
                ["ip", "netns", "exec", t.ns["cl"], topo.PYTHON,
                 topo.PEERS / "client.py", "blob", "http://%s/blob" % LB,
                 "--size", str(BLOB), "--timeout", "20"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            sout, serr = sender.communicate(timeout=120)
            assert sender.returncode == 0, serr
            blast = json.loads(sout)
            blast_end = time.monotonic()
            out, err = xfer.communicate(timeout=120)
        finally:
            for p in (sender, xfer):
                if p is not None and p.poll() is None:
                    p.kill()
        done = time.monotonic()
        r = json.loads(out)
        print("hostile: %d frames in %.2f s while %d MB moved at %.1f MB/s"
              % (sum(blast["sent"].values()), blast["seconds"],
                 BLOB >> 20, r.get("mb_per_s", 0)))
        assert r["ok"], "transfer failed under attack: %s %s" % (r, err)
        assert r["bytes"] == BLOB
        assert r["sha256"] == r["expected_sha256"]
        # the blast ran while the transfer did (else this proves nothing)
        assert blast["flow_seq"] is not None, "did not see the flow"
        assert done > blast_end - blast["seconds"]
        time.sleep(0.5)
        after = t.dataplane.telemetry("/edgefwd/stats")["drops"]
        check_shares(blast["sent"], before, after)
        # paced round after the transfer (no loss): exact, per reason
        before = t.dataplane.telemetry("/edgefwd/stats")["drops"]
        cp = t.exec("cl", sender_argv(mac, PACED, gap_us=300), timeout=60)
        sent = json.loads(cp.stdout)["sent"]
        time.sleep(0.3)
        after = t.dataplane.telemetry("/edgefwd/stats")["drops"]
        delta = {k: after[k] - before[k] for k in after
                 if after[k] != before[k]}
        delta.pop("icmp_ratelimit", None)
        want = {}
        for cls, n in sent.items():
            assert n == PACED, sent
            want[EXPECTED[cls]] = want.get(EXPECTED[cls], 0) + n
        assert delta == want, "paced round: counted %s, sent %s" % (
            delta, sent)
        # the real service still answers
        [g] = t.client("cl", "get", "http://%s/" % LB)
        assert g["ok"], g


if __name__ == "__main__":
    sys.exit(sender_main(sys.argv[1:]))
