# SPDX-License-Identifier: BSD-3-Clause
"""Unit suites of edgefwd-k8s (pytest, /usr/bin/python3; no root, no
network but loopback). The program is one file without .py: ek.py loads
it as a module."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
