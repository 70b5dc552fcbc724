#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Writes edge_fixtures.h: frames for test_edge.cc built by scapy, which
computes every length and checksum independently of lib/edge. Each array
is preceded by the scapy expression that produced it.

    /usr/bin/python3 test/edge/gen_fixtures.py > test/edge/edge_fixtures.h

The topology the frames assume: a client 198.51.100.2 talks to the VIP
203.0.113.10 through the edge, whose fabric address is 10.1.0.1; the
node is 10.1.0.11; decap.sources is 10.1.0.0/24. Over IPv6 the client
2001:db8:c::2 talks to the VIP 2001:db8:10::10, carried in IPv4 to the
same node (IPv6-in-IPv4, protocol 41, or GUE proto 41). Over an IPv6
underlay the peer fd00:1::1 sends to the node fd00:1::11 (decap.sources
fd00:1::/64): ip6ip6, IPv4-in-IPv6, GUE over IPv6.
"""
from scapy.all import (IP, TCP, UDP, Ether, ICMP, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, Padding, Raw, fragment)

# Flow hash the tests pass to ef_edge_encap for GUE; the outer UDP source
# port is 0xc000 | ((h ^ (h >> 16)) & 0x3fff), as ef_edge.h specifies.
GUE_HASH = 0x12345678
GUE_SPORT = 0xc000 | ((GUE_HASH ^ (GUE_HASH >> 16)) & 0x3fff)
# First outer ID the tests give ef_edge_encap's counter (non-DF packets).
IP_ID0 = 0x0100
# Outer IPv6 flow label for that hash (RFC 6438, as ef_edge.h says):
# (h ^ (h >> 20)) & 0xfffff, 1 when that is 0.
FL6 = ((GUE_HASH ^ (GUE_HASH >> 20)) & 0xfffff) or 1

SUBST = {
    "EIN": 'Ether(src="02:aa:00:00:00:02", dst="02:ed:00:00:00:01")',
    "EOUT": 'Ether(src="02:ed:00:00:00:02", dst="02:0d:00:00:00:0b")',
    "SYN_IP": 'IP(src="198.51.100.2", dst="203.0.113.10", id=7, tos=0xb8, '
              'flags="DF", ttl=61)',
    "SYN": 'TCP(sport=40000, dport=80, flags="S", seq=1000, '
           'options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)])',
    "UDP_IP": 'IP(src="198.51.100.2", dst="203.0.113.10", id=0x1234, ttl=61)',
    "UDP": 'UDP(sport=40001, dport=53)/Raw(b"query-payload")',
    "OUT_DF": 'IP(src="10.1.0.1", dst="10.1.0.11", id=0, tos=0xb8, '
              'flags="DF", ttl=64',
    "OUT_NODF": 'IP(src="10.1.0.1", dst="10.1.0.11", id=%d, ttl=64' % IP_ID0,
    "GUE": 'UDP(sport=%d, dport=6080, chksum=0)/Raw(b"\\x00\\x04\\x00\\x00")'
           % GUE_SPORT,
    "T": 'TCP(sport=40000, dport=80, seq=1000',
    "BIG_IP": 'IP(src="198.51.100.2", dst="203.0.113.10", id=0x2222, ttl=61)',
    "BIG": 'UDP(sport=40001, dport=53)/Raw(bytes(range(256)) * 5 + '
           'bytes(1472 - 1280))',
    "IP6": 'IPv6(src="2001:db8:c::2", dst="2001:db8:10::10", tc=0xb8, '
           'fl=0x12345, hlim=61)',
    "GUE6": 'UDP(sport=%d, dport=6080, chksum=0)/Raw(b"\\x00\\x29\\x00\\x00")'
            % GUE_SPORT,
    "OUT6": 'IPv6(src="fd00:1::1", dst="fd00:1::11", hlim=64',
    # the edge's outer IPv6 header toward a node reached at fd00:1::11
    "E6": 'IPv6(src="fd00:1::1", dst="fd00:1::11", hlim=64, fl=%d' % FL6,
    # GUE over IPv6: scapy computes the UDP checksum (no chksum given)
    "GUE_O6": 'UDP(sport=%d, dport=6080)/Raw(b"\\x00\\x04\\x00\\x00")'
              % GUE_SPORT,
    "GUE6_O6": 'UDP(sport=%d, dport=6080)/Raw(b"\\x00\\x29\\x00\\x00")'
               % GUE_SPORT,
    "OUT6_NODF": 'IP(src="10.1.0.1", dst="10.1.0.11", id=%d, tos=0xb8, '
                 'ttl=64' % IP_ID0,
}

FIXTURES = [
    # --- encapsulation: inner frames as the edge receives them ---------
    ("in_syn", '{EIN}/{SYN_IP}/{SYN}'),
    ("in_udp", '{EIN}/{UDP_IP}/{UDP}'),
    # a 60-byte frame: Ethernet padding after a 33-byte IP packet
    ("in_udp_padded", '{EIN}/IP(src="198.51.100.2", dst="203.0.113.10", '
                      'id=5, ttl=61)/UDP(sport=40001, dport=53)/Raw(b"abcde")'
                      '/Padding(b"\\x00" * 13)'),
    # ... and as the node must see them
    ("ipip_syn", '{EOUT}/{OUT_DF}, proto=4)/{SYN_IP}/{SYN}'),
    ("ipip_udp", '{EOUT}/{OUT_NODF}, proto=4)/{UDP_IP}/{UDP}'),
    ("ipip_udp_padded", '{EOUT}/{OUT_NODF}, proto=4)/'
                        'IP(src="198.51.100.2", dst="203.0.113.10", id=5, '
                        'ttl=61)/UDP(sport=40001, dport=53)/Raw(b"abcde")'),
    ("gue_syn", '{EOUT}/{OUT_DF}, proto=17)/{GUE}/{SYN_IP}/{SYN}'),
    ("gue_udp", '{EOUT}/{OUT_NODF}, proto=17)/{GUE}/{UDP_IP}/{UDP}'),
    ("l2_syn", '{EOUT}/{SYN_IP}/{SYN}'),
    # IPv6 inside, IPv4 outside: TOS = traffic class, DF set (no ID)
    ("in6_syn", '{EIN}/{IP6}/{SYN}'),
    ("in6_udp", '{EIN}/{IP6}/{UDP}'),
    ("ipip6_syn", '{EOUT}/{OUT_DF}, proto=41)/{IP6}/{SYN}'),
    ("gue6_syn", '{EOUT}/{OUT_DF}, proto=17)/{GUE6}/{IP6}/{SYN}'),
    ("l2_6_syn", '{EOUT}/{IP6}/{SYN}'),
    # frag_ok (inner MTU below 1280): DF clear, the next ID
    ("ipip6_udp_nodf", '{EOUT}/{OUT6_NODF}, proto=41)/{IP6}/{UDP}'),

    # an IPv6 underlay (the node's address is IPv6): IPv4-in-IPv6 and
    # ip6ip6 (RFC 2473), GUE over IPv6; traffic class = inner TOS
    ("o6_ipip_syn", '{EOUT}/{E6}, tc=0xb8, nh=4)/{SYN_IP}/{SYN}'),
    ("o6_ipip_udp", '{EOUT}/{E6}, tc=0, nh=4)/{UDP_IP}/{UDP}'),
    ("o6_ip6ip6_syn", '{EOUT}/{E6}, tc=0xb8, nh=41)/{IP6}/{SYN}'),
    ("o6_gue_syn", '{EOUT}/{E6}, tc=0xb8, nh=17)/{GUE_O6}/{SYN_IP}/{SYN}'),
    ("o6_gue6_syn", '{EOUT}/{E6}, tc=0xb8, nh=17)/{GUE6_O6}/{IP6}/{SYN}'),
    # a non-DF IPv4 packet beyond the inner MTU (1500 - 40): the inner
    # packet is fragmented (1440-byte pieces), each piece encapsulated
    ("o6_big_f0", '{EOUT}/{E6}, tc=0, nh=4)/fragment({BIG_IP}/{BIG}, '
                  'fragsize=1440)[0]'),
    ("o6_big_f1", '{EOUT}/{E6}, tc=0, nh=4)/fragment({BIG_IP}/{BIG}, '
                  'fragsize=1440)[1]'),

    # --- too big: non-DF, encapsulated and fragmented ------------------
    ("in_big", '{EIN}/{BIG_IP}/{BIG}'),
    ("ipip_big", '{EOUT}/{OUT_NODF}, proto=4)/{BIG_IP}/{BIG}'),
    ("ipip_big_f0", '{EOUT}/fragment({OUT_NODF}, proto=4)/{BIG_IP}/{BIG}, '
                    'fragsize=1480)[0]'),
    ("ipip_big_f1", '{EOUT}/fragment({OUT_NODF}, proto=4)/{BIG_IP}/{BIG}, '
                    'fragsize=1480)[1]'),
    # DF and too big: the ICMP error the edge sends (from its external
    # address 198.51.100.1), MTU 1500 - 20
    ("in_big_df", '{EIN}/IP(src="198.51.100.2", dst="203.0.113.10", id=9, '
                  'flags="DF", ttl=61)/{T}, flags="A", ack=1)/'
                  'Raw(b"d" * 1460)'),
    ("err_frag_needed", 'IP(src="198.51.100.1", dst="198.51.100.2", '
                        'tos=0xc0, id=0, ttl=64)/ICMP(type=3, code=4, '
                        'nexthopmtu=1480)/Raw(bytes(IP(src="198.51.100.2", '
                        'dst="203.0.113.10", id=9, flags="DF", ttl=61)/'
                        '{T}, flags="A", ack=1)/Raw(b"d" * 1460))[:548])'),

    # --- MSS clamp ----------------------------------------------------
    ("syn_1440", '{EIN}/{SYN_IP}/TCP(sport=40000, dport=80, flags="S", '
                 'seq=1000, options=[("MSS", 1440), ("SAckOK", b""), '
                 '("WScale", 7)])'),
    # MSS at an odd offset of the TCP header (one NOP before it)
    ("syn_odd", '{EIN}/{SYN_IP}/{T}, flags="S", options=[("NOP", None), '
                '("MSS", 9000), ("NOP", None), ("NOP", None), '
                '("WScale", 7)])'),
    ("syn_odd_1428", '{EIN}/{SYN_IP}/{T}, flags="S", options=[("NOP", None), '
                     '("MSS", 1428), ("NOP", None), ("NOP", None), '
                     '("WScale", 7)])'),
    ("synack", '{EIN}/{SYN_IP}/{T}, flags="SA", ack=5, '
               'options=[("MSS", 1460)])'),
    ("synack_1440", '{EIN}/{SYN_IP}/{T}, flags="SA", ack=5, '
                    'options=[("MSS", 1440)])'),
    ("syn_1200", '{EIN}/{SYN_IP}/{T}, flags="S", options=[("MSS", 1200)])'),
    ("syn_nomss", '{EIN}/{SYN_IP}/{T}, flags="S", '
                  'options=[("WScale", 7), ("SAckOK", b"")])'),
    # kind 8 (timestamps) with length 0: the walk cannot go on
    ("syn_badlen", '{EIN}/{SYN_IP}/{T}, flags="S", dataofs=8)/'
                   'Raw(b"\\x01\\x08\\x00" + bytes(9))'),
    # an MSS option whose 4 bytes run past the data offset
    ("syn_mss_past", '{EIN}/{SYN_IP}/{T}, flags="S", dataofs=8)/'
                     'Raw(b"\\x01" * 10 + b"\\x02\\x04")'),
    # an MSS option of length 3 is skipped; nothing else follows
    ("syn_mss_len3", '{EIN}/{SYN_IP}/{T}, flags="S", dataofs=6)/'
                     'Raw(b"\\x02\\x03\\x05\\x01")'),
    ("ack_data", '{EIN}/{SYN_IP}/{T}, flags="PA", ack=1, '
                 'options=[("MSS", 1460)])/Raw(b"x")'),
    # IPv6: the same option, clamped to 1500 - 20 - 60
    ("syn6_1420", '{EIN}/{IP6}/TCP(sport=40000, dport=80, flags="S", '
                  'seq=1000, options=[("MSS", 1420), ("SAckOK", b""), '
                  '("WScale", 7)])'),

    # --- decapsulation: what a proxy-mode node receives ----------------
    ("dec_ipip", '{EOUT}/{OUT_DF}, proto=4)/{SYN_IP}/{SYN}'),
    ("dec_gue", '{EOUT}/{OUT_DF}, proto=17)/{GUE}/{SYN_IP}/{SYN}'),
    ("dec_inner", '{EOUT}/{SYN_IP}/{SYN}'),
    # GUE from a sender that fills the UDP checksum: right, and wrong
    ("dec_gue_csum", '{EOUT}/{OUT_DF}, proto=17)/UDP(sport=50000, '
                     'dport=6080)/Raw(b"\\x00\\x04\\x00\\x00")/'
                     '{SYN_IP}/{SYN}'),
    ("dec_gue_badcsum", '{EOUT}/{OUT_DF}, proto=17)/UDP(sport=50000, '
                        'dport=6080, chksum=0x1234)/'
                        'Raw(b"\\x00\\x04\\x00\\x00")/{SYN_IP}/{SYN}'),
    ("dec_denied_ipip", '{EOUT}/IP(src="192.0.2.66", dst="10.1.0.11", '
                        'proto=4)/{SYN_IP}/{SYN}'),
    ("dec_denied_gue", '{EOUT}/IP(src="10.1.1.1", dst="10.1.0.11", '
                       'proto=17)/{GUE}/{SYN_IP}/{SYN}'),
    ("dec_gue_v1", '{EOUT}/{OUT_DF}, proto=17)/UDP(sport=50000, dport=6080, '
                   'chksum=0)/{SYN_IP}/{SYN}'),
    ("dec_gue_ctrl", '{EOUT}/{OUT_DF}, proto=17)/UDP(sport=50000, '
                     'dport=6080, chksum=0)/Raw(b"\\x20\\x00\\x00\\x00")/'
                     '{SYN_IP}/{SYN}'),
    ("dec_gue_hlen", '{EOUT}/{OUT_DF}, proto=17)/UDP(sport=50000, '
                     'dport=6080, chksum=0)/Raw(b"\\x01\\x04\\x00\\x00" + '
                     'bytes(4))/{SYN_IP}/{SYN}'),
    ("dec_gue_v6", '{EOUT}/{OUT_DF}, proto=17)/UDP(sport=50000, dport=6080, '
                   'chksum=0)/Raw(b"\\x00\\x29\\x00\\x00")/'
                   'IPv6(src="2001:db8::2", dst="2001:db8::10")/'
                   'TCP(sport=40000, dport=80, flags="S")'),
    ("dec_ipip_v6", '{EOUT}/{OUT_DF}, proto=4)/'
                    'IPv6(src="2001:db8::2", dst="2001:db8::10")/'
                    'TCP(sport=40000, dport=80, flags="S")'),
    # IPv6 in IPv4 (protocol 41) and GUE proto 41, and what they become
    ("dec6_ipip", '{EOUT}/{OUT_DF}, proto=41)/{IP6}/{SYN}'),
    ("dec6_gue", '{EOUT}/{OUT_DF}, proto=17)/{GUE6}/{IP6}/{SYN}'),
    ("dec6_inner", '{EOUT}/{IP6}/{SYN}'),
    ("dec_gue_v6_inner", '{EOUT}/IPv6(src="2001:db8::2", dst="2001:db8::10")/'
                         'TCP(sport=40000, dport=80, flags="S")'),
    ("dec6_denied", '{EOUT}/IP(src="192.0.2.66", dst="10.1.0.11", '
                    'proto=41)/{IP6}/{SYN}'),
    # protocol 41 promising IPv6 but carrying IPv4; a cut IPv6 header; an
    # IPv6 payload length that is not what the outer packet carries
    ("dec6_v4_inside", '{EOUT}/{OUT_DF}, proto=41)/{SYN_IP}/{SYN}'),
    ("dec6_trunc", '{EOUT}/{OUT_DF}, proto=41)/Raw(bytes([0x60]) + '
                   'bytes(30))'),
    ("dec6_len", '{EOUT}/{OUT_DF}, proto=41)/IPv6(src="2001:db8:c::2", '
                 'dst="2001:db8:10::10", plen=200)/{SYN}'),
    ("dec6_jumbo", '{EOUT}/{OUT_DF}, proto=41)/IPv6(src="2001:db8:c::2", '
                   'dst="2001:db8:10::10", plen=0)/{SYN}'),
    ("dec_ipip_trunc", '{EOUT}/{OUT_DF}, proto=4)/Raw(bytes(12))'),
    ("dec_gue_trunc", '{EOUT}/{OUT_DF}, proto=17)/UDP(sport=50000, '
                      'dport=6080, chksum=0)/Raw(b"\\x00\\x04")'),
    ("dec_inner_short", '{EOUT}/{OUT_DF}, proto=4)/'
                        'IP(src="198.51.100.2", dst="203.0.113.10", '
                        'len=200)/{SYN}'),
    ("dec_inner_long", '{EOUT}/{OUT_DF}, proto=4)/'
                       'Raw(bytes(IP(src="198.51.100.2", dst="203.0.113.10")/'
                       '{SYN}) + b"trailing")'),
    ("dec_frag", '{EOUT}/IP(src="10.1.0.1", dst="10.1.0.11", id=77, '
                 'flags="MF", proto=4)/{SYN_IP}/{SYN}'),
    # --- an IPv6 underlay: IPv6 outer headers -------------------------
    ("dec66_ipip", '{EOUT}/{OUT6}, nh=41)/{IP6}/{SYN}'),
    ("dec46_ipip", '{EOUT}/{OUT6}, nh=4)/{SYN_IP}/{SYN}'),
    # GUE over IPv6 carries a UDP checksum (scapy computes it)
    ("dec66_gue", '{EOUT}/{OUT6}, nh=17)/UDP(sport=50000, dport=6080)/'
                  'Raw(b"\\x00\\x29\\x00\\x00")/{IP6}/{SYN}'),
    ("dec46_gue", '{EOUT}/{OUT6}, nh=17)/UDP(sport=50000, dport=6080)/'
                  'Raw(b"\\x00\\x04\\x00\\x00")/{SYN_IP}/{SYN}'),
    # an extension header before the tunnel: stripped with the outer
    ("dec66_dstopt", '{EOUT}/{OUT6}, nh=60)/IPv6ExtHdrDestOpt(nh=41)/'
                     '{IP6}/{SYN}'),
    ("dec66_gue_nocsum", '{EOUT}/{OUT6}, nh=17)/UDP(sport=50000, '
                         'dport=6080, chksum=0)/'
                         'Raw(b"\\x00\\x29\\x00\\x00")/{IP6}/{SYN}'),
    ("dec66_gue_badcsum", '{EOUT}/{OUT6}, nh=17)/UDP(sport=50000, '
                          'dport=6080, chksum=0x1234)/'
                          'Raw(b"\\x00\\x29\\x00\\x00")/{IP6}/{SYN}'),
    ("dec66_denied", '{EOUT}/IPv6(src="2001:db8:66::1", dst="fd00:1::11", '
                     'nh=41)/{IP6}/{SYN}'),
    ("dec66_frag", '{EOUT}/{OUT6}, nh=44)/IPv6ExtHdrFragment(nh=41, id=9, '
                   'm=1)/{IP6}/{SYN}'),
    ("dec46_v6_inside", '{EOUT}/{OUT6}, nh=4)/{IP6}/{SYN}'),
    ("dec66_trunc", '{EOUT}/{OUT6}, nh=41)/Raw(bytes([0x60]) + bytes(20))'),
    ("dec66_len", '{EOUT}/{OUT6}, nh=41)/IPv6(src="2001:db8:c::2", '
                  'dst="2001:db8:10::10", plen=200)/{SYN}'),
    # UDP to another port, and plain TCP: not encapsulated at all
    ("dec_udp_other", '{EOUT}/{OUT_DF}, proto=17)/UDP(sport=50000, '
                      'dport=6081, chksum=0)/Raw(b"\\x00\\x04\\x00\\x00")/'
                      '{SYN_IP}/{SYN}'),
]


def main():
    print("/* SPDX-License-Identifier: BSD-3-Clause */")
    print("/* Generated by gen_fixtures.py (scapy); do not edit. */")
    print("#ifndef EF_TEST_EDGE_FIXTURES_H")
    print("#define EF_TEST_EDGE_FIXTURES_H")
    print()
    print("#include <stdint.h>")
    print()
    print("#define FIX_GUE_HASH 0x%08xu" % GUE_HASH)
    print("#define FIX_IP_ID0 0x%04xu" % IP_ID0)
    for name, expr in FIXTURES:
        text = expr.format(**SUBST)
        data = bytes(eval(text))
        print()
        print("/*")
        print(" * scapy: " + text.replace("*/", "* /"))
        print(" */")
        print("static const uint8_t %s[%d] = {" % (name, len(data)))
        for i in range(0, len(data), 12):
            row = ", ".join("0x%02x" % b for b in data[i:i + 12])
            print("\t" + row + ",")
        print("};")
    print()
    print("#endif /* EF_TEST_EDGE_FIXTURES_H */")


if __name__ == "__main__":
    main()
