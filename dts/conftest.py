# SPDX-License-Identifier: BSD-3-Clause
"""Shared fixtures of the end-to-end suites.

The suites need root (network namespaces, TAP devices) and run under
/usr/bin/python3, whose Debian packages (pytest, scapy) they use.
"""

import os
import signal
import sys

import pytest

from dts import topo


def pytest_configure(config):
    # SIGTERM (CI timeout, kill) must still run finalizers and atexit
    # hooks, which remove namespaces and stop processes.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))


@pytest.fixture(scope="session", autouse=True)
def as_root():
    """Every suite builds namespaces: without root they cannot run at all."""
    if os.geteuid() != 0:
        pytest.fail("dts needs root (network namespaces, TAP devices)")
    topo.reap_stale()


@pytest.fixture(scope="session")
def run_prefix():
    """Per-run name prefix: ef<pid mod 1000>."""
    return "ef%d" % (os.getpid() % 1000)



def pytest_collection_modifyitems(session, config, items):
    # The harness suite first: when it fails, datapath failures say
    # nothing about edgefwd.
    items.sort(key=lambda item: "test_harness" not in item.nodeid)
