-- SPDX-License-Identifier: BSD-3-Clause
-- pktgen -f conf/pktgen/local.lua: the Local service (DNAT only).
VIP = "198.51.100.11"
LABEL = "local"
dofile((os.getenv("EF_PKTGEN_DIR") or "conf/pktgen") .. "/common.lua")
