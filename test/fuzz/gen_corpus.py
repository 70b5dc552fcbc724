#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the fuzz seed corpora under test/fuzz/corpus/ (run from anywhere).

corpus/pkt/  real frames built with scapy: TCP/UDP/ICMP/ARP/IPv6/VLAN,
             fragments, IP options, ICMP errors, the hostile shapes of
             docs/RELIABILITY.md. Also the seeds of corpus/fwd/ (same
             format: a raw Ethernet frame addressed to the fuzz config).
corpus/fwd/  the same frames as fuzz_fwd records, and multi-frame
             sequences (a handshake, then attacks on that flow).
corpus/cfg/  every file under conf/.
Files named crash_* / leak_* are fuzzer finds kept as regressions.

Deterministic: the files are committed; rerun after adding a shape.
Needs python3-scapy.
"""
import os
import shutil
import sys

from scapy.all import (ARP, ICMP, IP, IPOption_RR, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, ICMPv6DestUnreach,
                       ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr,
                       ICMPv6PacketTooBig, ICMPv6TimeExceeded, TCP, UDP, Dot1Q, Ether, Raw,
                       fragment)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Addresses of test/fuzz/fuzz_fwd.c's fixed config (and of conf/demo.conf).
CMAC = "02:00:00:00:00:02"
LBMAC = "02:00:00:00:00:01"
CLIENT = "198.51.100.2"
VIP_LOCAL = "198.51.100.10"
VIP_CLUSTER = "198.51.100.11"
NODE = "198.51.100.1"
POD = "10.244.0.5"
SNAT = "10.0.0.1"


def eth(src=CMAC, dst=LBMAC):
    return Ether(src=src, dst=dst)


def frames():
    f = {}
    tcp_syn = eth() / IP(src=CLIENT, dst=VIP_LOCAL) / TCP(
        sport=40000, dport=80, flags="S", seq=1000)
    f["tcp_syn"] = tcp_syn
    f["tcp_syn_cluster"] = eth() / IP(src=CLIENT, dst=VIP_CLUSTER) / TCP(
        sport=40001, dport=80, flags="S", seq=1000)
    f["tcp_ack_data"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL) / TCP(
        sport=40000, dport=80, flags="PA", seq=1001, ack=5) / Raw(
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    f["tcp_reply_from_pod"] = eth(src="02:00:00:00:00:05") / IP(
        src=POD, dst=CLIENT) / TCP(sport=8080, dport=40000, flags="SA")
    f["tcp_to_snat"] = eth(src="02:00:00:00:00:05") / IP(
        src=POD, dst=SNAT) / TCP(sport=8080, dport=1024, flags="SA")
    f["tcp_nodeport"] = eth() / IP(src=CLIENT, dst=NODE) / TCP(
        sport=40002, dport=30080, flags="S")
    f["tcp_options"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL) / TCP(
        sport=40003, dport=80, flags="S",
        options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)),
                 ("WScale", 7)])
    f["tcp_synfin"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL) / TCP(
        sport=40004, dport=80, flags="SF")
    f["tcp_noflags"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL) / TCP(
        sport=40005, dport=80, flags=0)
    f["tcp_rst"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL) / TCP(
        sport=40000, dport=80, flags="R", seq=123456)
    f["udp"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL) / UDP(
        sport=5000, dport=5353) / Raw(b"hello")
    f["udp_zero_csum"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL) / UDP(
        sport=5001, dport=5353, chksum=0) / Raw(b"x")
    f["icmp_echo"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL) / ICMP(
        type=8, id=7, seq=1) / Raw(b"ping")
    f["icmp_echo_node"] = eth() / IP(src=CLIENT, dst=NODE) / ICMP(
        type=8, id=7, seq=1)
    inner = IP(src=VIP_LOCAL, dst=CLIENT) / TCP(sport=80, dport=40000,
                                                flags="A")
    f["icmp_frag_needed"] = eth() / IP(src="203.0.113.1", dst=VIP_LOCAL) / \
        ICMP(type=3, code=4, nexthopmtu=1400) / bytes(inner)[:28]
    forged = IP(src=VIP_LOCAL, dst="203.0.113.99") / UDP(sport=53, dport=9)
    f["icmp_unreach_forged"] = eth() / IP(src="203.0.113.1",
                                          dst=VIP_LOCAL) / ICMP(
        type=3, code=3) / bytes(forged)
    f["icmp_err_to_snat"] = eth(src="02:00:00:00:00:05") / IP(
        src=POD, dst=SNAT) / ICMP(type=3, code=3) / bytes(
        IP(src=SNAT, dst=POD) / UDP(sport=1024, dport=5353))
    f["arp_request"] = Ether(src=CMAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=CMAC, psrc=CLIENT, pdst=NODE)
    f["arp_request_vip"] = Ether(src=CMAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=CMAC, psrc=CLIENT, pdst=VIP_LOCAL)
    f["arp_reply"] = eth() / ARP(op=2, hwsrc=CMAC, psrc=CLIENT,
                                 hwdst=LBMAC, pdst=NODE)
    f["vlan_tcp"] = eth() / Dot1Q(vlan=100) / IP(
        src=CLIENT, dst=VIP_LOCAL) / TCP(sport=40006, dport=80, flags="S")
    f["qinq"] = eth() / Dot1Q(vlan=100) / Dot1Q(vlan=200) / IP(
        src=CLIENT, dst=VIP_LOCAL) / TCP(sport=40007, dport=80)
    f["ip_options"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL,
                                 options=[IPOption_RR()]) / TCP(
        sport=40008, dport=80, flags="S")
    big = IP(src=CLIENT, dst=VIP_LOCAL, id=77) / UDP(
        sport=5002, dport=5353) / Raw(b"A" * 3000)
    frs = fragment(big, fragsize=1200)
    f["frag_first"] = eth() / frs[0]
    f["frag_middle"] = eth() / frs[1]
    f["frag_last"] = eth() / frs[2]
    f["frag_overlap"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL, id=77,
                                   frag=10, flags="MF", proto=17) / Raw(
        b"B" * 200)
    f["frag_to_node"] = eth() / IP(src=CLIENT, dst=NODE, id=78,
                                   flags="MF") / UDP(sport=1, dport=2) / \
        Raw(b"C" * 64)
    f["ttl0"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL, ttl=0) / TCP(
        sport=40009, dport=80, flags="S")
    f["ttl1"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL, ttl=1) / TCP(
        sport=40010, dport=80, flags="S")
    f["bad_ip_csum"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL,
                                  chksum=0x1234) / TCP(sport=40011,
                                                       dport=80, flags="S")
    f["bad_tcp_csum"] = eth() / IP(src=CLIENT, dst=VIP_LOCAL) / TCP(
        sport=40012, dport=80, flags="S", chksum=0x1234)
    f["land"] = eth() / IP(src=VIP_LOCAL, dst=VIP_LOCAL) / TCP(
        sport=80, dport=80, flags="S")
    f["bcast_src"] = eth(src="ff:ff:ff:ff:ff:ff") / IP(
        src="255.255.255.255", dst=VIP_LOCAL) / UDP(sport=1, dport=5353)
    f["mcast_src"] = eth() / IP(src="224.0.0.1", dst=VIP_LOCAL) / UDP(
        sport=1, dport=5353)
    f["ipv6_tcp"] = eth() / IPv6(src="2001:db8::2", dst="2001:db8::10") / \
        TCP(sport=40013, dport=80, flags="S")
    f["ipv6_hbh_udp"] = eth() / IPv6(src="2001:db8::2",
                                     dst="2001:db8::10") / \
        IPv6ExtHdrHopByHop() / UDP(sport=1, dport=53)
    f["ipv6_frag"] = eth() / IPv6(src="2001:db8::2", dst="2001:db8::10") / \
        IPv6ExtHdrFragment(m=1, id=5) / UDP(sport=1, dport=53) / Raw(b"D" * 64)
    f["ipv6_icmp_echo"] = eth() / IPv6(src="2001:db8::2",
                                       dst="2001:db8::10") / \
        ICMPv6EchoRequest(id=1)
    f["ipv6_ptb"] = eth() / IPv6(src="2001:db8::1", dst="2001:db8::2") / \
        ICMPv6PacketTooBig(mtu=1280) / bytes(
            IPv6(src="2001:db8::2", dst="2001:db8::10") / TCP(sport=1,
                                                              dport=80))
    # issue 12: extension chains, NDP, ICMPv6 errors quoting chains
    v6 = IPv6(src="2001:db8::2", dst="2001:db8::10")
    f["ipv6_chain_tcp"] = eth() / v6 / IPv6ExtHdrHopByHop() / \
        IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting() / \
        TCP(sport=40014, dport=80, flags="S")
    f["ipv6_chain_frag_udp"] = eth() / v6 / IPv6ExtHdrHopByHop() / \
        IPv6ExtHdrRouting() / IPv6ExtHdrFragment(m=1, id=6) / \
        IPv6ExtHdrDestOpt() / UDP(sport=2, dport=53) / Raw(b"E" * 40)
    f["ipv6_frag_last"] = eth() / v6 / IPv6ExtHdrFragment(nh=17, offset=9,
                                                          id=6) / \
        Raw(b"F" * 16)
    f["ipv6_chain8"] = eth() / v6 / IPv6ExtHdrDestOpt() / \
        IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / \
        IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / \
        IPv6ExtHdrDestOpt() / UDP(sport=3, dport=53)
    f["ipv6_ns"] = Ether(src=CMAC, dst="33:33:ff:00:00:10") / IPv6(
        src="2001:db8::2", dst="ff02::1:ff00:10", hlim=255) / \
        ICMPv6ND_NS(tgt="2001:db8::10") / ICMPv6NDOptSrcLLAddr(lladdr=CMAC)
    f["ipv6_na"] = eth() / IPv6(src="2001:db8::2", dst="2001:db8::10",
                                hlim=255) / \
        ICMPv6ND_NA(tgt="2001:db8::2", S=1, O=1) / \
        ICMPv6NDOptDstLLAddr(lladdr=CMAC)
    f["ipv6_time_exceeded_chain"] = eth() / IPv6(src="2001:db8::1",
                                                 dst="2001:db8::2") / \
        ICMPv6TimeExceeded() / bytes(
            v6 / IPv6ExtHdrDestOpt() / UDP(sport=4, dport=53))
    f["ipv6_port_unreach"] = eth() / IPv6(src="2001:db8::10",
                                          dst="2001:db8::2") / \
        ICMPv6DestUnreach(code=4) / bytes(v6 / UDP(sport=5, dport=53))
    f["other_ethertype"] = eth() / Raw(b"\x88\xcc" + b"\0" * 46)
    out = {k: bytes(v) for k, v in f.items()}
    # truncations and bad lengths, cut from the good frames above
    syn = out["tcp_syn"]
    for n in (0, 1, 13, 14, 20, 33, 34, 40, 53):
        out["trunc_tcp_%d" % n] = syn[:n]
    out["trunc_vlan"] = out["vlan_tcp"][:16]
    out["trunc_arp"] = out["arp_request"][:30]
    out["trunc_ipv6"] = out["ipv6_tcp"][:40]
    out["trunc_udp"] = out["udp"][:38]
    out["trunc_icmp_quote"] = out["icmp_frag_needed"][:50]
    b = bytearray(syn)
    b[14] = 0x44  # IHL 4
    out["bad_ihl"] = bytes(b)
    b = bytearray(syn)
    b[16:18] = (1500).to_bytes(2, "big")
    out["bad_totlen_long"] = bytes(b)
    b = bytearray(syn)
    b[16:18] = (10).to_bytes(2, "big")
    out["bad_totlen_short"] = bytes(b)
    b = bytearray(out["ipv6_tcp"])
    b[18:20] = (4000).to_bytes(2, "big")
    out["bad_ipv6_plen"] = bytes(b)
    chain = out["ipv6_chain_tcp"]
    for n in (58, 61, 70, 78, 90):
        out["trunc_ipv6_chain_%d" % n] = chain[:n]
    b = bytearray(out["ipv6_chain_tcp"])
    b[54 + 8] = 0  # destination options says: hop-by-hop next
    out["bad_ipv6_hbh_second"] = bytes(b)
    b = bytearray(syn)
    b[46] = 0x20  # TCP data offset 2
    out["bad_tcp_doff"] = bytes(b)
    return out


def record(iface, frame):
    """fuzz_fwd's input record: ctl (interface), length, frame."""
    return bytes([iface]) + len(frame).to_bytes(2, "big") + frame


def sequences(f):
    """Multi-frame fwd seeds: a handshake, then attacks on that flow."""
    syn = f["tcp_syn"]
    synack = bytes(eth(src="02:00:00:00:00:05") / IP(src=POD, dst=CLIENT) /
                   TCP(sport=8080, dport=40000, flags="SA", seq=5000,
                       ack=1001))
    ack = bytes(eth() / IP(src=CLIENT, dst=VIP_LOCAL) /
                TCP(sport=40000, dport=80, flags="A", seq=1001, ack=5001))
    hs = record(0, syn) + record(1, synack) + record(0, ack)
    rst = bytes(eth() / IP(src=CLIENT, dst=VIP_LOCAL) /
                TCP(sport=40000, dport=80, flags="R", seq=0x80000000))
    icmp_err = bytes(eth() / IP(src="203.0.113.1", dst=VIP_LOCAL) /
                     ICMP(type=3, code=4, nexthopmtu=1400) /
                     bytes(IP(src=VIP_LOCAL, dst=CLIENT) /
                           TCP(sport=80, dport=40000, flags="A"))[:28])
    return {
        "seq_handshake": hs,
        "seq_rst_storm": hs + b"".join(record(0x80, rst) for _ in range(8)),
        "seq_icmp_error": hs + record(0, icmp_err),
        "seq_udp_reply": record(0, f["udp"]) + record(1, bytes(
            eth(src="02:00:00:00:00:05") / IP(src=POD, dst=CLIENT) /
            UDP(sport=5353, dport=5000) / Raw(b"hi"))),
    }


# fuzz_fwd runs test/shim/hx.c's hx_dual_conf: these are its IPv6 names.
CLIENT6 = "2001:db8:100::2"
VIP6_LOCAL = "2001:db8:100::10"
VIP6_CLUSTER = "2001:db8:100::11"
VIP6_EMPTY = "2001:db8:100::14"
POD6 = "fd00:244::5"
SNAT6 = "fd00:10::1"


def dual_sequences():
    """fwd seeds for the IPv6 path (lib/fwd/fwd6.c): handshakes through
    Local and Cluster, the reply of a SNAT66 flow, ND for a VIP, echo, a
    rejected flow, hop limit 1, and a packet too big quoting a flow."""
    syn = bytes(eth() / IPv6(src=CLIENT6, dst=VIP6_LOCAL) /
                TCP(sport=40000, dport=80, flags="S", seq=1000))
    synack = bytes(eth(src="02:00:00:00:00:05") /
                   IPv6(src=POD6, dst=CLIENT6) /
                   TCP(sport=8080, dport=40000, flags="SA", seq=5000,
                       ack=1001))
    ack = bytes(eth() / IPv6(src=CLIENT6, dst=VIP6_LOCAL) /
                TCP(sport=40000, dport=80, flags="A", seq=1001, ack=5001) /
                Raw(b"GET / HTTP/1.0\r\n\r\n"))
    csyn = bytes(eth() / IPv6(src=CLIENT6, dst=VIP6_CLUSTER) /
                 TCP(sport=40001, dport=80, flags="S", seq=7))
    # what node-b would answer to the SNAT'd SYN (first port of the slice)
    creply = bytes(eth(src="02:00:00:00:00:0b") /
                   IPv6(src="fd00:244:1::7", dst=SNAT6) /
                   TCP(sport=8080, dport=1024, flags="SA", seq=9, ack=8))
    ptb = bytes(eth(src="02:00:00:00:00:0b") /
                IPv6(src="fd00:10::2", dst=SNAT6) /
                ICMPv6PacketTooBig(mtu=1280) /
                IPv6(src=SNAT6, dst="fd00:244:1::7") /
                TCP(sport=1024, dport=8080, flags="A") / Raw(b"x" * 64))
    ns = bytes(Ether(src=CMAC, dst="33:33:ff:00:00:10") /
               IPv6(src=CLIENT6, dst="ff02::1:ff00:10", hlim=255) /
               ICMPv6ND_NS(tgt=VIP6_LOCAL) / ICMPv6NDOptSrcLLAddr(lladdr=CMAC))
    echo = bytes(eth() / IPv6(src=CLIENT6, dst=VIP6_CLUSTER) /
                 ICMPv6EchoRequest(id=3, seq=1))
    empty = bytes(eth() / IPv6(src=CLIENT6, dst=VIP6_EMPTY) /
                  UDP(sport=5, dport=80) / Raw(b"q"))
    hop1 = bytes(eth() / IPv6(src=CLIENT6, dst=VIP6_CLUSTER, hlim=1) /
                 UDP(sport=6, dport=5353) / Raw(b"t"))
    return {
        "v6_seq_local_handshake": record(0, syn) + record(1, synack) +
        record(0, ack),
        "v6_seq_cluster_reply_ptb": record(0, csyn) + record(2, creply) +
        record(2, ptb),
        "v6_nd_echo_reject_hop1": record(0, ns) + record(0, echo) +
        record(0, empty) + record(0, hop1),
    }


def main():
    corpus = os.path.join(HERE, "corpus")
    pkt = os.path.join(corpus, "pkt")
    cfg = os.path.join(corpus, "cfg")
    fwd = os.path.join(corpus, "fwd")
    keep = {}
    for d in (pkt, cfg):
        # fuzzer finds (crash_*, leak_*) are fixtures: they stay
        if os.path.isdir(d):
            for fn in os.listdir(d):
                if fn.startswith(("crash_", "leak_")):
                    with open(os.path.join(d, fn), "rb") as fh:
                        keep[(d, fn)] = fh.read()
    for d in (pkt, cfg, fwd):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    n = 0
    fr = frames()
    for name, data in sorted(fr.items()):
        with open(os.path.join(pkt, name), "wb") as fh:
            fh.write(data)
        with open(os.path.join(fwd, name), "wb") as fh:
            fh.write(record(0, data))
        n += 1
    for name, data in sorted(list(sequences(fr).items()) +
                             list(dual_sequences().items())):
        with open(os.path.join(fwd, name), "wb") as fh:
            fh.write(data)
    for (d, fn), data in keep.items():
        with open(os.path.join(d, fn), "wb") as fh:
            fh.write(data)
    conf = os.path.join(ROOT, "conf")
    m = 0
    for dirpath, _, files in os.walk(conf):
        for fn in sorted(files):
            rel = os.path.relpath(os.path.join(dirpath, fn), conf)
            shutil.copyfile(os.path.join(dirpath, fn),
                            os.path.join(cfg, rel.replace(os.sep, "_")))
            m += 1
    print("corpus: %d frames, %d config files" % (n, m), file=sys.stderr)


if __name__ == "__main__":
    main()
