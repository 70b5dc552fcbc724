-- SPDX-License-Identifier: BSD-3-Clause
-- Shared by cluster.lua and local.lua (conf/pktgen/README.md): port 0
-- sends 64-byte UDP to a service VIP from 1021 client addresses x 64
-- source ports (coprime ranges: 65344 distinct flows, each revisited every
-- 65344 packets); port 1 receives what edgefwd forwarded to the
-- endpoints. Prints the rates every second and a summary, then quits.
-- Settings: globals VIP and LABEL from the caller script; from the
-- environment (or globals of the same name without the prefix)
-- EF_PKTGEN_SECONDS (10), EF_PKTGEN_RATE (percent of line rate, 100),
-- EF_PKTGEN_PROTO ("udp" or "tcp": SYNs are not made by range mode, so
-- "tcp" sends ACK-less data segments that edgefwd drops as no_flow; use
-- udp for throughput), EF_EDGEFWD_MAC (edgefwd's port 0 MAC).

local function env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then return default end
	return v
end
local secs = SECONDS or tonumber(env("EF_PKTGEN_SECONDS", "10"))
local proto = PROTO or env("EF_PKTGEN_PROTO", "udp")
local rate = RATE or tonumber(env("EF_PKTGEN_RATE", "100"))
local dport = proto == "udp" and 5353 or 80

pktgen.screen("off")
pktgen.set_range("0", "on")
pktgen.range.dst_mac("0", "start", EDGEFWD_MAC or
		     env("EF_EDGEFWD_MAC", "02:ef:00:00:00:01"))
pktgen.range.src_mac("0", "start", "02:5b:00:00:00:01")
pktgen.range.dst_ip("0", "start", VIP)
pktgen.range.dst_ip("0", "inc", "0.0.0.0")
pktgen.range.dst_ip("0", "min", VIP)
pktgen.range.dst_ip("0", "max", VIP)
pktgen.range.src_ip("0", "start", "100.64.0.1")
pktgen.range.src_ip("0", "inc", "0.0.0.1")
pktgen.range.src_ip("0", "min", "100.64.0.1")
pktgen.range.src_ip("0", "max", "100.64.3.253")
pktgen.range.src_port("0", "start", 1024)
pktgen.range.src_port("0", "inc", 1)
pktgen.range.src_port("0", "min", 1024)
pktgen.range.src_port("0", "max", 1087)
pktgen.range.dst_port("0", "start", dport)
pktgen.range.dst_port("0", "inc", 0)
pktgen.range.dst_port("0", "min", dport)
pktgen.range.dst_port("0", "max", dport)
pktgen.range.ttl("0", "start", 64)
pktgen.range.ip_proto("0", proto)
pktgen.range.pkt_size("0", "start", 64)
pktgen.range.pkt_size("0", "inc", 0)
pktgen.range.pkt_size("0", "min", 64)
pktgen.range.pkt_size("0", "max", 64)
pktgen.set("0", "rate", rate)

local function counts()
	local s = pktgen.portStats("0,1", "port")
	return s[0].opackets, s[1].ipackets
end

local tx0, rx0 = counts()
pktgen.start("0")
local last_tx, last_rx = tx0, rx0
for i = 1, secs do
	pktgen.delay(1000)
	local tx, rx = counts()
	print(string.format("%s: %2d s  sent %10.0f pps  forwarded %10.0f pps",
	      LABEL, i, tx - last_tx, rx - last_rx))
	last_tx, last_rx = tx, rx
end
pktgen.stop("0")
-- stop traffic before either side quits: a memif peer that disappears
-- while the other still polls can crash it
pktgen.delay(1000)
local tx, rx = counts()
print(string.format("%s: total sent %d, forwarded %d (%.1f%%), mean %.0f pps forwarded",
      LABEL, tx - tx0, rx - rx0, 100 * (rx - rx0) / math.max(tx - tx0, 1),
      (rx - rx0) / secs))
pktgen.quit()
