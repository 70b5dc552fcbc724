#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Writes pkt_fixtures.h: frames for test_pkt.cc built by scapy, which
computes every length and checksum independently of lib/pkt. Each array is
preceded by the scapy expression that produced it.

    /usr/bin/python3 test/pkt/gen_fixtures.py > test/pkt/pkt_fixtures.h
"""
from scapy.all import (ARP, Dot1AD, Dot1Q, Ether, ICMP, ICMPv6DestUnreach,
                       ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA,
                       ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                       ICMPv6NDOptSrcLLAddr, ICMPv6PacketTooBig,
                       ICMPv6TimeExceeded, IP, IPOption_RR,
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw, TCP, UDP,
                       fragment)

SUBST = {
    # client 10.0.0.1 -> VIP 10.96.0.10; after NAT 192.168.0.1 -> backend
    "E": 'Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")',
    "SYN": 'TCP(sport=40000, dport=80, flags="S", seq=1000, '
           'options=[("MSS", 1460)])',
    "SYN_NAT": 'TCP(sport=1025, dport=8080, flags="S", seq=1000, '
               'options=[("MSS", 1460)])',
    "V6": 'IPv6(src="2001:db8::1", dst="2001:db8::10")',
    # IPv6 after NAT: SNAT address 2001:db8:ff::1 -> pod fd00:10:244::5
    "V6NAT": 'IPv6(src="2001:db8:ff::1", dst="fd00:10:244::5")',
    "E6": 'Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")',
}

FIXTURES = [
    # TCP/UDP/ICMP before and after ef_pkt_nat4 to 192.168.0.1 -> 10.244.1.5
    ("tcp_syn", '{E}/IP(src="10.0.0.1", dst="10.96.0.10", id=1)/{SYN}'),
    ("tcp_syn_nat", '{E}/IP(src="192.168.0.1", dst="10.244.1.5", id=1)/'
                    '{SYN_NAT}'),
    ("tcp_syn_ttl63", '{E}/IP(src="10.0.0.1", dst="10.96.0.10", id=1, '
                      'ttl=63)/{SYN}'),
    ("udp", '{E}/IP(src="10.0.0.1", dst="10.96.0.10", id=2)/'
            'UDP(sport=40001, dport=53)/Raw(b"query-payload")'),
    ("udp_nat", '{E}/IP(src="192.168.0.1", dst="10.244.1.5", id=2)/'
                'UDP(sport=1026, dport=5353)/Raw(b"query-payload")'),
    ("udp0", '{E}/IP(src="10.0.0.1", dst="10.96.0.10", id=2)/'
             'UDP(sport=40001, dport=53, chksum=0)/Raw(b"query-payload")'),
    ("udp0_nat", '{E}/IP(src="192.168.0.1", dst="10.244.1.5", id=2)/'
                 'UDP(sport=1026, dport=5353, chksum=0)/Raw(b"query-payload")'),
    ("echo_req", '{E}/IP(src="10.0.0.1", dst="10.96.0.10", id=3, ttl=30)/'
                 'ICMP(type=8, id=0x1234, seq=7)/Raw(b"pingdata")'),
    ("echo_req_nat", '{E}/IP(src="192.168.0.1", dst="10.244.1.5", id=3, '
                     'ttl=30)/ICMP(type=8, id=1027, seq=7)/Raw(b"pingdata")'),
    ("echo_rep", '{E}/IP(src="10.244.1.5", dst="192.168.0.1", id=4)/'
                 'ICMP(type=0, id=1027, seq=7)/Raw(b"pingdata")'),
    ("echo_rep_nat", '{E}/IP(src="10.96.0.10", dst="10.0.0.1", id=4)/'
                     'ICMP(type=0, id=0x1234, seq=7)/Raw(b"pingdata")'),
    # ef_pkt_icmp4_echo_reply(echo_req): MACs untouched, TTL 64
    ("echo_req_answer", '{E}/IP(src="10.96.0.10", dst="10.0.0.1", id=3, '
                        'ttl=64)/ICMP(type=0, id=0x1234, seq=7)/'
                        'Raw(b"pingdata")'),
    # VLAN
    ("vlan_tcp", '{E}/Dot1Q(vlan=100, prio=3)/'
                 'IP(src="10.0.0.1", dst="10.96.0.10")/{SYN}'),
    ("qinq_udp", '{E}/Dot1AD(vlan=200)/IP(src="10.0.0.1", dst="10.96.0.10")/'
                 'UDP(sport=40001, dport=53)'),
    ("vlan_nested", '{E}/Dot1AD(vlan=200)/Dot1Q(vlan=100)/'
                    'IP(src="10.0.0.1", dst="10.96.0.10")/UDP()'),
    # IPv4 options (IHL 7)
    ("ip_opts_tcp", '{E}/IP(src="10.0.0.1", dst="10.96.0.10", id=6, '
                    'options=[IPOption_RR(routers=["1.2.3.4"])])/'
                    'TCP(sport=40000, dport=80, flags="A", seq=11, ack=22)/'
                    'Raw(b"xy")'),
    ("ip_opts_tcp_nat", '{E}/IP(src="192.168.0.1", dst="10.244.1.5", id=6, '
                        'options=[IPOption_RR(routers=["1.2.3.4"])])/'
                        'TCP(sport=1025, dport=8080, flags="A", seq=11, '
                        'ack=22)/Raw(b"xy")'),
    # fragments of one 108-byte UDP datagram
    ("frag_first", '{E}/fragment(IP(src="10.0.0.1", dst="10.96.0.10", '
                   'id=77)/UDP(sport=5000, dport=6000)/Raw(b"x" * 100), '
                   'fragsize=48)[0]'),
    ("frag_middle", '{E}/fragment(IP(src="10.0.0.1", dst="10.96.0.10", '
                    'id=77)/UDP(sport=5000, dport=6000)/Raw(b"x" * 100), '
                    'fragsize=48)[1]'),
    ("frag_last", '{E}/fragment(IP(src="10.0.0.1", dst="10.96.0.10", '
                  'id=77)/UDP(sport=5000, dport=6000)/Raw(b"x" * 100), '
                  'fragsize=48)[2]'),
    # IPv6
    ("ip6_tcp", '{E}/{V6}/TCP(sport=40000, dport=443, flags="S")'),
    ("ip6_ext_udp", '{E}/{V6}/IPv6ExtHdrHopByHop()/IPv6ExtHdrRouting()/'
                    'IPv6ExtHdrDestOpt()/UDP(sport=1000, dport=2000)/'
                    'Raw(b"abc")'),
    ("ip6_frag_first", '{E}/{V6}/IPv6ExtHdrFragment(m=1, offset=0, id=9)/'
                       'UDP(sport=1000, dport=2000)/Raw(b"y" * 32)'),
    ("ip6_frag_last", '{E}/{V6}/IPv6ExtHdrFragment(nh=17, m=0, offset=5, '
                      'id=9)/Raw(b"z" * 16)'),
    ("ip6_chain8", '{E}/{V6}' + '/IPv6ExtHdrDestOpt()' * 8 + '/UDP()'),
    ("ip6_chain9", '{E}/{V6}' + '/IPv6ExtHdrDestOpt()' * 9 + '/UDP()'),
    ("ip6_echo", '{E}/{V6}/ICMPv6EchoRequest(id=0x4321, seq=1)'),
    # issue 12: IPv6 NAT (ef_pkt_nat6) before/after, with extension chains
    ("ip6_ext_tcp", '{E}/{V6}/IPv6ExtHdrHopByHop()/IPv6ExtHdrDestOpt()/'
                    'IPv6ExtHdrRouting()/TCP(sport=40000, dport=443, '
                    'flags="PA", seq=5, ack=6)/Raw(b"hello6")'),
    ("ip6_ext_tcp_nat", '{E}/{V6NAT}/IPv6ExtHdrHopByHop()/'
                        'IPv6ExtHdrDestOpt()/IPv6ExtHdrRouting()/'
                        'TCP(sport=1025, dport=8443, flags="PA", seq=5, '
                        'ack=6)/Raw(b"hello6")'),
    # a routing header with one segment left: the destination is a
    # waypoint (EF_PKT_F_IP6_ROUTING)
    ("ip6_rh_active", '{E}/{V6}/IPv6ExtHdrRouting(addresses=["2001:db8::99"], '
                      'segleft=1)/TCP(sport=40000, dport=443, flags="S")'),
    ("ip6_udp", '{E}/{V6}/UDP(sport=40001, dport=53)/Raw(b"q6")'),
    ("ip6_udp_nat", '{E}/{V6NAT}/UDP(sport=1026, dport=5353)/Raw(b"q6")'),
    ("ip6_echo_nat", '{E}/{V6NAT}/ICMPv6EchoRequest(id=1027, seq=1)'),
    ("ip6_frag_first_nat", '{E}/{V6NAT}/IPv6ExtHdrFragment(m=1, offset=0, '
                           'id=9)/UDP(sport=1026, dport=5353)/'
                           'Raw(b"y" * 32)'),
    ("ip6_frag_last_nat", '{E}/{V6NAT}/IPv6ExtHdrFragment(nh=17, m=0, '
                          'offset=5, id=9)/Raw(b"z" * 16)'),
    # ef_pkt_icmp6_echo_reply(ip6_echo_data)
    ("ip6_echo_data", '{E}/{V6}/ICMPv6EchoRequest(id=0x4321, seq=2, '
                      'data=b"ping6data")'),
    ("ip6_echo_answer", '{E}/IPv6(src="2001:db8::10", dst="2001:db8::1", '
                        'hlim=64)/ICMPv6EchoReply(id=0x4321, seq=2, '
                        'data=b"ping6data")'),
    # Neighbor Discovery built by lib/pkt and received from peers
    ("nd_ns_built", 'Ether(src="02:00:00:00:00:02", dst="33:33:ff:00:00:01")/'
                    'IPv6(src="2001:db8::10", dst="ff02::1:ff00:1", '
                    'hlim=255)/ICMPv6ND_NS(tgt="2001:db8::1")/'
                    'ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:02")'),
    ("nd_na_built", 'Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")/'
                    'IPv6(src="2001:db8::10", dst="2001:db8::1", hlim=255)/'
                    'ICMPv6ND_NA(tgt="2001:db8::10", R=0, S=1, O=1)/'
                    'ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:02")'),
    ("nd_ns_peer", 'Ether(src="02:00:00:00:00:01", dst="33:33:ff:00:00:10")/'
                   'IPv6(src="2001:db8::1", dst="ff02::1:ff00:10", '
                   'hlim=255)/ICMPv6ND_NS(tgt="2001:db8::10")/'
                   'ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:01")'),
    ("nd_na_peer", 'Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")/'
                   'IPv6(src="2001:db8::1", dst="2001:db8::10", hlim=255)/'
                   'ICMPv6ND_NA(tgt="2001:db8::1", R=1, S=1, O=0)/'
                   'ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:01")'),
    ("nd_ns_dad", 'Ether(src="02:00:00:00:00:01", dst="33:33:ff:00:00:10")/'
                  'IPv6(src="::", dst="ff02::1:ff00:10", hlim=255)/'
                  'ICMPv6ND_NS(tgt="2001:db8::10")'),
    # ICMPv6 error builder: originals (IPv6 only) and expected errors
    ("big6_tcp_l3", 'IPv6(src="2001:db8::1", dst="fd00:10:244::5")/'
                    'TCP(sport=40000, dport=8080, flags="PA", seq=1, ack=1)/'
                    'Raw(b"d" * 1400)'),
    ("err6_ptb", 'IPv6(src="2001:db8::fe", dst="2001:db8::1", tc=0xc0, '
                 'hlim=64)/ICMPv6PacketTooBig(mtu=1280)/'
                 'Raw(bytes(IPv6(src="2001:db8::1", dst="fd00:10:244::5")/'
                 'TCP(sport=40000, dport=8080, flags="PA", seq=1, ack=1)/'
                 'Raw(b"d" * 1400))[:1232])'),
    ("small6_udp_l3", 'IPv6(src="2001:db8::1", dst="fd00:10:244::5", '
                      'hlim=1)/IPv6ExtHdrDestOpt()/'
                      'UDP(sport=33434, dport=33435)/Raw(b"trace")'),
    ("err6_ttl_small", 'IPv6(src="2001:db8::fe", dst="2001:db8::1", '
                       'tc=0xc0, hlim=64)/ICMPv6TimeExceeded(code=0)/'
                       'IPv6(src="2001:db8::1", dst="fd00:10:244::5", '
                       'hlim=1)/IPv6ExtHdrDestOpt()/'
                       'UDP(sport=33434, dport=33435)/Raw(b"trace")'),
    ("err6_port_unreach", 'IPv6(src="2001:db8::fe", dst="2001:db8::1", '
                          'tc=0xc0, hlim=64)/ICMPv6DestUnreach(code=4)/'
                          'IPv6(src="2001:db8::1", dst="fd00:10:244::5", '
                          'hlim=1)/IPv6ExtHdrDestOpt()/'
                          'UDP(sport=33434, dport=33435)/Raw(b"trace")'),
    # ICMP errors about NAT'd flows, and their translations
    ("icmp_unreach_udp", '{E}/IP(src="10.244.1.5", dst="192.168.0.1", id=5)/'
                         'ICMP(type=3, code=3)/IP(src="192.168.0.1", '
                         'dst="10.244.1.5", id=2, ttl=63)/'
                         'UDP(sport=1026, dport=5353)/Raw(b"query-payload")'),
    ("icmp_unreach_udp_nat", '{E}/IP(src="10.96.0.10", dst="10.0.0.1", '
                             'id=5)/ICMP(type=3, code=3)/IP(src="10.0.0.1", '
                             'dst="10.96.0.10", id=2, ttl=63)/'
                             'UDP(sport=40001, dport=53)/'
                             'Raw(b"query-payload")'),
    ("icmp_ttl_tcp8", '{E}/IP(src="10.1.1.1", dst="192.168.0.1")/'
                      'ICMP(type=11, code=0)/Raw(bytes(IP(src="192.168.0.1", '
                      'dst="10.244.1.5")/{SYN_NAT})[:28])'),
    ("icmp_ttl_tcp8_nat", '{E}/IP(src="10.96.0.10", dst="10.0.0.1")/'
                          'ICMP(type=11, code=0)/Raw(bytes(IP(src="10.0.0.1", '
                          'dst="10.96.0.10")/{SYN})[:28])'),
    ("icmp_ttl_tcpfull", '{E}/IP(src="10.1.1.1", dst="192.168.0.1")/'
                         'ICMP(type=11, code=0)/IP(src="192.168.0.1", '
                         'dst="10.244.1.5")/{SYN_NAT}'),
    ("icmp_ttl_tcpfull_nat", '{E}/IP(src="10.96.0.10", dst="10.0.0.1")/'
                             'ICMP(type=11, code=0)/IP(src="10.0.0.1", '
                             'dst="10.96.0.10")/{SYN}'),
    ("icmp_unreach_echo", '{E}/IP(src="10.244.1.5", dst="192.168.0.1")/'
                          'ICMP(type=3, code=1)/IP(src="192.168.0.1", '
                          'dst="10.244.1.5", ttl=30)/ICMP(type=8, id=1027, '
                          'seq=7)/Raw(b"pingdata")'),
    ("icmp_unreach_echo_nat", '{E}/IP(src="10.96.0.10", dst="10.0.0.1")/'
                              'ICMP(type=3, code=1)/IP(src="10.0.0.1", '
                              'dst="10.96.0.10", ttl=30)/ICMP(type=8, '
                              'id=0x1234, seq=7)/Raw(b"pingdata")'),
    ("icmp6_unreach_udp", '{E}/IPv6(src="2001:db8::99", dst="2001:db8::1")/'
                          'ICMPv6DestUnreach(code=4)/{V6}/'
                          'UDP(sport=1000, dport=2000)/Raw(b"abc")'),
    ("icmp6_ptb_tcp", '{E}/IPv6(src="2001:db8::99", dst="2001:db8::1")/'
                      'ICMPv6PacketTooBig(mtu=1280)/{V6}/'
                      'TCP(sport=40000, dport=443, flags="A")'),
    # ARP
    ("arp_req", 'Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01")/'
                'ARP(op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", '
                'hwdst="00:00:00:00:00:00", pdst="10.0.0.254")'),
    ("arp_rep", 'Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02")/'
                'ARP(op=2, hwsrc="02:00:00:00:00:02", psrc="10.0.0.254", '
                'hwdst="02:00:00:00:00:01", pdst="10.0.0.1")'),
    ("arp_built", 'Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:02")/'
                  'ARP(op=1, hwsrc="02:00:00:00:00:02", psrc="10.0.0.254", '
                  'hwdst="00:00:00:00:00:00", pdst="10.0.0.1")'),
    # RST replies
    ("rst_to_syn", '{E}/IP(src="10.96.0.10", dst="10.0.0.1", id=0, '
                   'flags="DF", ttl=64)/TCP(sport=80, dport=40000, '
                   'flags="RA", seq=0, ack=1001, window=0)'),
    ("tcp_ack_data", '{E}/IP(src="10.0.0.1", dst="10.96.0.10", id=9)/'
                     'TCP(sport=40000, dport=80, flags="PA", seq=5000, '
                     'ack=7000)/Raw(b"hello")'),
    ("rst_to_ack", '{E}/IP(src="10.96.0.10", dst="10.0.0.1", id=0, '
                   'flags="DF", ttl=64)/TCP(sport=80, dport=40000, '
                   'flags="R", seq=7000, ack=0, window=0)'),
    ("tcp_fin_noack", '{E}/IP(src="10.0.0.1", dst="10.96.0.10")/'
                      'TCP(sport=40000, dport=80, flags="F", seq=100)/'
                      'Raw(b"abc")'),
    ("rst_to_fin_noack", '{E}/IP(src="10.96.0.10", dst="10.0.0.1", id=0, '
                         'flags="DF", ttl=64)/TCP(sport=80, dport=40000, '
                         'flags="RA", seq=0, ack=104, window=0)'),
    ("rst_to_opts", '{E}/IP(src="10.96.0.10", dst="10.0.0.1", id=0, '
                    'flags="DF", ttl=64)/TCP(sport=80, dport=40000, '
                    'flags="R", seq=22, ack=0, window=0)'),
    # IPv6 RST replies (ef_pkt_tcp6_rst_reply): no extension chain kept
    ("ip6_syn", '{E6}/IPv6(src="2001:db8::1", dst="2001:db8::10", hlim=60)/'
                '{SYN}'),
    ("rst6_to_syn", '{E6}/IPv6(src="2001:db8::10", dst="2001:db8::1", '
                    'hlim=64)/TCP(sport=80, dport=40000, flags="RA", seq=0, '
                    'ack=1001, window=0)'),
    ("ip6_ext_ack_data", '{E6}/{V6}/IPv6ExtHdrHopByHop()/'
                         'IPv6ExtHdrDestOpt()/TCP(sport=40000, dport=80, '
                         'flags="PA", seq=5000, ack=7000)/Raw(b"hello")'),
    ("rst6_to_ack", '{E6}/IPv6(src="2001:db8::10", dst="2001:db8::1", '
                    'hlim=64)/TCP(sport=80, dport=40000, flags="R", '
                    'seq=7000, ack=0, window=0)'),
    # ef_pkt_nat6_icmp_error: a packet too big from node-b about a
    # SNAT66'd segment, and the same error as the client must see it
    ("ptb6_in", '{E6}/IPv6(src="fd00:10::2", dst="fd00:10::1", hlim=64)/'
                'ICMPv6PacketTooBig(mtu=1300)/IPv6(src="fd00:10::1", '
                'dst="fd00:244:1::7", hlim=63)/TCP(sport=1025, dport=8080, '
                'flags="PA", seq=1, ack=1)/Raw(b"d" * 100)'),
    ("ptb6_out", '{E6}/IPv6(src="2001:db8:100::11", dst="2001:db8:100::2", '
                 'hlim=64)/ICMPv6PacketTooBig(mtu=1300)/'
                 'IPv6(src="2001:db8:100::2", dst="2001:db8:100::11", '
                 'hlim=63)/TCP(sport=40000, dport=80, flags="PA", seq=1, '
                 'ack=1)/Raw(b"d" * 100)'),
    # ICMP error builder: originals (IP only) and expected errors
    ("big_tcp_l3", 'IP(src="10.0.0.1", dst="10.244.1.5", id=11, flags="DF")/'
                   'TCP(sport=40000, dport=8080, flags="PA", seq=1, ack=1)/'
                   'Raw(b"d" * 1400)'),
    ("err_frag_needed", 'IP(src="10.0.0.254", dst="10.0.0.1", tos=0xc0, id=0, '
                        'ttl=64)/ICMP(type=3, code=4, nexthopmtu=1400)/'
                        'Raw(bytes(IP(src="10.0.0.1", dst="10.244.1.5", id=11, '
                        'flags="DF")/TCP(sport=40000, dport=8080, flags="PA", '
                        'seq=1, ack=1)/Raw(b"d" * 1400))[:548])'),
    ("small_udp_l3", 'IP(src="10.0.0.1", dst="10.244.1.5", ttl=1)/'
                     'UDP(sport=33434, dport=33435)/Raw(b"trace")'),
    ("err_ttl_small", 'IP(src="10.0.0.254", dst="10.0.0.1", tos=0xc0, id=0, '
                      'ttl=64)/ICMP(type=11, code=0)/IP(src="10.0.0.1", '
                      'dst="10.244.1.5", ttl=1)/UDP(sport=33434, dport=33435)/'
                      'Raw(b"trace")'),
]


def main():
    print("/* SPDX-License-Identifier: BSD-3-Clause */")
    print("/* Generated by gen_fixtures.py (scapy); do not edit. */")
    print("#ifndef EF_TEST_PKT_FIXTURES_H")
    print("#define EF_TEST_PKT_FIXTURES_H")
    print()
    print("#include <stdint.h>")
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
    print("#endif /* EF_TEST_PKT_FIXTURES_H */")


if __name__ == "__main__":
    main()
