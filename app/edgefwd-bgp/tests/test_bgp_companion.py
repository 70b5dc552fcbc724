# SPDX-License-Identifier: BSD-3-Clause
"""edgefwd-bgp: the announce set, the include file, BIRD's reconfigure
and its retries, withdrawal when edgefwd goes away."""

import os
import stat

import pytest

import eb
from eb import mod, vip


def loaded_routes(bird):
    return [line.split()[1] for line in (bird.loaded or "").splitlines()
            if line.startswith("route ")]


def test_announce_set_takes_announce_only_sorted():
    pages = [{"vips": {"0": vip("203.0.113.10"), "1": vip("10.0.0.9", 0),
                       "2": vip("203.0.113.9")}},
             {"vips": {"3": vip("198.51.100.200")}}]
    assert mod.announce_set(pages) == ["198.51.100.200", "203.0.113.9",
                                       "203.0.113.10"]


def test_usable_but_draining_is_not_announced():
    assert mod.announce_set([{"vips": {"0": vip("203.0.113.10", 0, 1)}}]) \
        == []


def test_an_error_answer_is_unreachable():
    with pytest.raises(mod.Unreachable):
        mod.announce_set([None])
    with pytest.raises(mod.Unreachable):
        mod.announce_set([{"error": "x"}])


def test_render_is_a_route_list_of_32s():
    text = mod.render(["203.0.113.10", "203.0.113.11"])
    routes = [line for line in text.splitlines() if not line.startswith("#")]
    assert routes == ["route 203.0.113.10/32 blackhole;",
                      "route 203.0.113.11/32 blackhole;"]
    assert [line for line in mod.render([]).splitlines()
            if not line.startswith("#")] == []


def test_write_atomic_leaves_no_temporary(tmp_path):
    p = tmp_path / "vips.conf"
    mod.write_atomic(p, "a\n")
    mod.write_atomic(p, "b\n")
    assert p.read_text() == "b\n"
    assert os.listdir(tmp_path) == ["vips.conf"]
    assert stat.S_IMODE(p.stat().st_mode) & 0o400


def test_configure_output():
    assert mod.configure_ok("Reading configuration from /x\nReconfigured")
    assert mod.configure_ok("Reconfiguration in progress")
    assert not mod.configure_ok("/x:3:1 syntax error")
    assert not mod.configure_ok("Unable to connect to server control "
                                "socket (/run/bird/bird.ctl)")


def test_speaker_configures_on_change_only(tmp_path):
    inc = tmp_path / "vips.conf"
    bird = eb.FakeBird(inc)
    sp = mod.Speaker(inc, bird)
    assert sp.want(["203.0.113.10"])
    assert bird.calls == 1 and loaded_routes(bird) == ["203.0.113.10/32"]
    assert sp.want(["203.0.113.10"])
    assert bird.calls == 1
    assert sp.want([])
    assert bird.calls == 2 and loaded_routes(bird) == []


def test_speaker_retries_a_failed_configure_with_backoff(tmp_path):
    inc = tmp_path / "vips.conf"
    bird = eb.FakeBird(inc)
    clock = [100.0]
    sp = mod.Speaker(inc, bird, now=lambda: clock[0])
    bird.ok = False
    assert not sp.want(["203.0.113.10"])
    # the file is already right: a BIRD started now reads it
    assert "203.0.113.10/32" in inc.read_text()
    assert not sp.want(["203.0.113.10"])
    assert bird.calls == 1          # not before the retry time
    clock[0] += 0.6
    bird.ok = True
    assert sp.want(["203.0.113.10"])
    assert bird.calls == 2 and loaded_routes(bird) == ["203.0.113.10/32"]


def test_a_change_during_backoff_is_tried_at_once(tmp_path):
    inc = tmp_path / "vips.conf"
    bird = eb.FakeBird(inc)
    clock = [0.0]
    sp = mod.Speaker(inc, bird, now=lambda: clock[0])
    bird.ok = False
    sp.want(["203.0.113.10"])
    bird.ok = True
    assert sp.want([])              # a withdrawal never waits
    assert bird.calls == 2 and loaded_routes(bird) == []


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    d = tmp_path / "dpdk"
    monkeypatch.setattr(mod.edgefwd_telemetry, "RUN_DIR", str(d))
    return d


def test_follows_edgefwd_pages_and_withdraws_when_it_dies(tmp_path, run_dir):
    fake = eb.FakeEdgefwd(run_dir, "ef1", [vip("203.0.113.%d" % i)
                                           for i in range(1, 6)], page=2)
    inc = tmp_path / "vips.conf"
    bird = eb.FakeBird(inc)
    sp = mod.Speaker(inc, bird)
    src = mod.Source("ef1", 1.0)
    state = {}
    mod.step(src, sp, state)
    assert loaded_routes(bird) == ["203.0.113.%d/32" % i for i in range(1, 6)]
    fake.vips[2] = vip("203.0.113.3", 0)
    mod.step(src, sp, state)
    assert "203.0.113.3/32" not in loaded_routes(bird)
    assert len(loaded_routes(bird)) == 4
    fake.crash()
    mod.step(src, sp, state)
    assert state["up"] is False and loaded_routes(bird) == []
    # edgefwd back (a restart: same prefix, a new socket)
    os.unlink(fake.path)
    eb.FakeEdgefwd(run_dir, "ef1", [vip("203.0.113.1")])
    mod.step(src, sp, state)
    assert state["up"] is True and loaded_routes(bird) == ["203.0.113.1/32"]


def test_no_socket_at_all_announces_nothing(tmp_path, run_dir):
    inc = tmp_path / "vips.conf"
    bird = eb.FakeBird(inc)
    sp = mod.Speaker(inc, bird)
    state = {}
    mod.step(mod.Source("nobody", 0.5), sp, state)
    assert state["up"] is False
    assert inc.exists() and loaded_routes(bird) == []


def test_main_once_with_a_fake_birdc(tmp_path, run_dir):
    eb.FakeEdgefwd(run_dir, "ef2", [vip("203.0.113.7")])
    birdc = tmp_path / "birdc"
    calls = tmp_path / "calls"
    birdc.write_text("#!/bin/sh\necho \"$@\" >> %s\necho Reconfigured\n"
                     % calls)
    birdc.chmod(0o755)
    inc = tmp_path / "vips.conf"
    rc = mod.main(["-f", "ef2", "--include", str(inc), "--birdc",
                   str(birdc), "--birdc-socket", "/x/bird.ctl", "--once"])
    assert rc == 0
    assert calls.read_text().split() == ["-s", "/x/bird.ctl", "configure"]
    assert "route 203.0.113.7/32 blackhole;" in inc.read_text()


def test_ipv6_vips_go_to_their_own_file_or_nowhere(tmp_path):
    inc, inc6 = tmp_path / "vips.conf", tmp_path / "vips6.conf"
    bird = eb.FakeBird(inc)
    sp = mod.Speaker(inc, bird, include6=inc6)
    assert sp.want(["203.0.113.10", "2001:db8::10"])
    assert loaded_routes(bird) == ["203.0.113.10/32"]
    assert "route 2001:db8::10/128 blackhole;" in inc6.read_text()
    # without --include6 they are left out (an ipv4 static cannot hold
    # them: BIRD would refuse the whole configuration)
    inc2 = tmp_path / "only4.conf"
    bird2 = eb.FakeBird(inc2)
    sp2 = mod.Speaker(inc2, bird2)
    assert sp2.want(["2001:db8::10", "203.0.113.10"])
    assert loaded_routes(bird2) == ["203.0.113.10/32"]
