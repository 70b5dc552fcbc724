# SPDX-License-Identifier: BSD-3-Clause
"""Unit suites of edgefwd-bgp (pytest, /usr/bin/python3; no root, no
BIRD, no edgefwd: a fake telemetry socket and a fake birdc)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
