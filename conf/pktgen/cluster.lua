-- SPDX-License-Identifier: BSD-3-Clause
-- pktgen -f conf/pktgen/cluster.lua: the Cluster service (DNAT + SNAT).
VIP = "198.51.100.10"
LABEL = "cluster"
dofile((os.getenv("EF_PKTGEN_DIR") or "conf/pktgen") .. "/common.lua")
