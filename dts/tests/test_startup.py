# SPDX-License-Identifier: BSD-3-Clause
"""The command line and start-up: --check, and every start-up error is one
clear line and a non-zero exit; SIGTERM is a clean exit 0 with counters.

No topology: edgefwd runs on net_ring ports (no traffic of their own), in a
namespace of its own so that its exception TAPs touch nothing.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from dts import telemetry, topo

REPO = topo.REPO
BIN = str(topo.EDGEFWD)
CONF = """
node = { name = "n"; };
interfaces = (
  { port = "%s"; address = "192.0.2.1/24"; }
);
dataplane = { rx_descriptors = 128; tx_descriptors = 128; mbufs = %d; };
conntrack = { max_flows = 4096; };
services = (
  { name = "t/s"; type = "LoadBalancer"; cluster_ip = "10.96.0.1";
    load_balancer_ips = [ "192.0.2.10" ];
    ports = ( { protocol = "TCP"; port = 80; } );
    endpoints = ( { address = "192.0.2.20"; node = "n"; } ); }
);
"""


@pytest.fixture
def ns(run_prefix):
    name = run_prefix + "st-ns"
    subprocess.run(["ip", "netns", "add", name], check=True)
    yield name
    subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture(autouse=True)
def no_runtime_dir_left(run_prefix):
    """Each edgefwd these tests start (and kill) uses the runtime dir
    <prefix>st: remove it after every test (scripts/test.sh fails a run
    that leaves an ef* runtime dir behind)."""
    yield
    shutil.rmtree(topo.DPDK_RUN_DIR / (run_prefix + "st"), ignore_errors=True)


def write(tmp_path, port="net_ring0", mbufs=4095):
    p = tmp_path / "t.conf"
    p.write_text(CONF % (port, mbufs))
    return str(p)


def eal(run_prefix, lcores="0,1"):
    return [BIN, "-l", lcores, "--no-huge", "-m", "256", "--no-pci",
            "--file-prefix=%sst" % run_prefix, "--vdev=net_ring0",
            "--log-level=lib.*:error"]


def start(ns, argv, timeout=30):
    return subprocess.run(["ip", "netns", "exec", ns] + argv, text=True,
                          capture_output=True, timeout=timeout)


def start_ready(ns, argv):
    """edgefwd (argv) in ns, once it printed its ready line (30 s at
    most; a process that exits or never gets there fails the test)."""
    p = subprocess.Popen(["ip", "netns", "exec", ns] + argv,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    deadline = time.time() + 30
    line = ""
    while time.time() < deadline:
        line = p.stdout.readline()
        if "edgefwd: ready" in line or not line:
            break
    if "edgefwd: ready" not in line:
        p.kill()
        _, err = p.communicate(timeout=30)
        raise AssertionError("edgefwd not ready: " + err)
    return p


def test_check_accepts_every_shipped_config():
    for conf in sorted((REPO / "conf").glob("*.conf")):
        r = subprocess.run([BIN, "--", "-c", str(conf), "--check"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert re.search(r"OK: \d+ services, \d+ frontends, \d+ endpoints",
                         r.stdout)


def test_check_reports_every_error_with_its_line():
    conf = REPO / "conf" / "bad" / "four-errors.conf"
    r = subprocess.run([BIN, "--", "-c", str(conf), "--check"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if ".conf:" in l and
             "error" not in l.split(":")[-1]]
    found = {int(l.split(":")[1]) for l in r.stderr.splitlines()
             if re.match(r".*four-errors\.conf:\d+:", l)}
    assert found == {12, 17, 27, 32}, r.stderr
    assert "4 errors" in r.stderr
    assert lines


def test_check_needs_no_eal_and_no_root():
    """--check as an unprivileged user: no hugepages, no /var/run/dpdk."""
    d = tempfile.mkdtemp(prefix="efcheck")
    try:
        os.chmod(d, 0o755)
        conf = os.path.join(d, "t.conf")
        with open(conf, "w") as f:
            f.write(CONF % ("net_ring0", 4095))
        os.chmod(conf, 0o644)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", BIN, "--", "-c", conf,
                            "--check"],
                           capture_output=True, text=True, timeout=30)
    finally:
        shutil.rmtree(d)
    assert r.returncode == 0, r.stderr
    assert "OK: 1 services" in r.stdout


def test_missing_port_is_one_clear_line(ns, tmp_path, run_prefix):
    r = start(ns, eal(run_prefix) + ["--", "-c", write(tmp_path, "net_ring7")])
    assert r.returncode == 1
    assert "interface 'net_ring7'" in r.stderr and "no DPDK port" in r.stderr


def test_mtu_beyond_the_port_is_one_clear_line(ns, tmp_path, run_prefix):
    """An interface mtu its port cannot receive (net_tap: 1522-byte
    frames) stops the start with the port's limit, before any queue."""
    p = tmp_path / "t.conf"
    p.write_text((CONF % ("net_tap0", 4095)).replace(
        'address = "192.0.2.1/24";', 'address = "192.0.2.1/24"; mtu = 9000;'))
    r = start(ns, eal(run_prefix) + ["--vdev=net_tap0,iface=efstj0",
                                     "--", "-c", str(p)])
    assert r.returncode == 1, r.stderr
    assert re.search(r"interface 'net_tap0' \(.*t\.conf:4\): mtu 9000 is "
                     r"more than this port can receive: at most 1504 "
                     r"\(driver net_tap", r.stderr), r.stderr
    # the pool was sized for it: mbufs of one 9000-byte frame each
    assert "jumbo frames: 4095 mbufs of 10240 bytes" in r.stderr, r.stderr


def test_jumbo_mtu_sizes_mbufs_and_the_kernel_side(ns, tmp_path,
                                                   run_prefix):
    """mtu 9000 on a port without an MTU of its own (net_ring): edgefwd
    starts with mbufs that hold a 9000-byte frame, its exception
    interface takes MTU 9000, and /edgefwd/info says both."""
    p = tmp_path / "t.conf"
    p.write_text((CONF % ("net_ring0", 4095)).replace(
        'address = "192.0.2.1/24";', 'address = "192.0.2.1/24"; mtu = 9000;'))
    proc = start_ready(ns, eal(run_prefix) + [
        "--", "-c", str(p), "--idle-sleep", "100"])
    try:
        r = subprocess.run(["ip", "-n", ns, "link", "show", "efx0"],
                           capture_output=True, text=True)
        assert " mtu 9000 " in r.stdout, r.stdout
        info = telemetry.query(run_prefix + "st", "/edgefwd/info")
        assert info["mtu"] == [9000], info
        # 9000 + Ethernet + a VLAN tag + 128 bytes of tailroom, in 1 KiB
        assert 9000 + 18 + 128 <= info["mbuf_frame_bytes"] <= 10240, info
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


def test_too_few_lcores(ns, tmp_path, run_prefix):
    r = start(ns, eal(run_prefix, "0") + ["--", "-c", write(tmp_path)])
    assert r.returncode == 1
    assert "worker lcores" in r.stderr


def test_too_few_mbufs(ns, tmp_path, run_prefix):
    r = start(ns, eal(run_prefix) + ["--", "-c", write(tmp_path, mbufs=1023)])
    assert r.returncode == 1
    assert "dataplane.mbufs = 1023 is too small" in r.stderr


def test_broken_config_fails_before_eal(ns, tmp_path, run_prefix):
    p = tmp_path / "bad.conf"
    p.write_text(CONF.replace("Local", "x") % ("net_ring0", 4095)
                 + "\nbogus_key = 1;\n")
    r = start(ns, eal(run_prefix) + ["--", "-c", str(p)])
    assert r.returncode == 1
    assert re.search(r"bad\.conf:\d+: unknown setting 'bogus_key'", r.stderr)
    assert "EAL" not in r.stdout


def test_bad_arguments(ns, tmp_path, run_prefix):
    r = start(ns, eal(run_prefix) + ["--", "-c", write(tmp_path),
                                     "--idle-sleep", "x"])
    assert r.returncode == 1 and "--idle-sleep" in r.stderr
    r = start(ns, eal(run_prefix) + ["--"])
    assert r.returncode == 1 and "-c FILE is required" in r.stderr


def test_sigterm_is_a_clean_exit_with_counters(ns, tmp_path, run_prefix):
    p = start_ready(ns, eal(run_prefix) + [
        "--", "-c", write(tmp_path), "--idle-sleep", "100"])
    try:
        # the exception path's kernel interface exists with the address
        r = subprocess.run(["ip", "-n", ns, "-br", "addr", "show", "efx0"],
                           capture_output=True, text=True)
        assert "192.0.2.1/24" in r.stdout
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert "edgefwd: stopping" in out
    assert re.search(r"edgefwd: rx \d+ pkts", out)
