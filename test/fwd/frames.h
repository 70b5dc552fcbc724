/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EF_TEST_FRAMES_H
#define EF_TEST_FRAMES_H

/*
 * Frame builders for pipeline fixtures. Checksums are computed here with a
 * plain RFC 1071 sum, independently of lib/pkt, so that a fixture's
 * expected bytes do not come from the code under test.
 */

#include <cstdint>
#include <string>
#include <vector>

using Bytes = std::vector<uint8_t>;

struct Mac {
	uint8_t b[6];
};

Mac mac_of(const char *text);
uint32_t ip_of(const char *text);	/* network order */

struct Tcp {
	Mac dmac, smac;
	uint32_t sip, dip;		/* network order */
	uint16_t sport, dport;		/* host order */
	uint8_t flags;
	uint32_t seq = 1000, ack = 0;
	uint8_t ttl = 64;
	uint16_t id = 0x1234;
	uint16_t win = 65535;
	bool df = true;
	size_t payload = 0;
};

struct Udp {
	Mac dmac, smac;
	uint32_t sip, dip;
	uint16_t sport, dport;
	uint8_t ttl = 64;
	uint16_t id = 0x4321;
	size_t payload = 16;
};

Bytes tcp_frame(const Tcp &t);
Bytes udp_frame(const Udp &u);
Bytes arp_request(const Mac &smac, uint32_t sip, uint32_t tip);
/* ICMP error (type/code, mtu for 3/4) from sip to dip quoting ip_packet
 * (its first 28 bytes: IP header + 8 bytes). */
Bytes icmp_error_frame(const Mac &dmac, const Mac &smac, uint32_t sip,
		       uint32_t dip, uint8_t type, uint8_t code, uint16_t mtu,
		       const Bytes &quoted_ip);

/* RFC 1071 over a buffer, complemented (the checksum field value). */
uint16_t csum(const uint8_t *p, size_t n, uint32_t init = 0);
/* true when every IPv4/TCP/UDP/ICMP checksum in an Ethernet frame holds. */
bool checksums_ok(const Bytes &f);
std::string hex(const Bytes &b);

#endif
