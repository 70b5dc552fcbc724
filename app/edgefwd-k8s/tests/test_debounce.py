# SPDX-License-Identifier: BSD-3-Clause
"""The debounce: a burst -> one sync, at most one per 200 ms, the latest
state synced within 1 s of the last event (on a simulated clock)."""

import random

from ek import mod


def simulate(events, until, sync_cost=0.0):
    """Event times -> sync start times, with a sync taking sync_cost; the
    loop of Sync.run() on a fake clock."""
    d = mod.Debouncer()
    runs, i, t = [], 0, 0.0
    events = sorted(events)
    step = 0.001
    while t < until:
        while i < len(events) and events[i] <= t:
            d.note(events[i])
            i += 1
        w = d.wait_time(t)
        if w is not None and w <= 1e-9:
            d.ran(t)
            runs.append(t)
            t += sync_cost
            continue
        t += step
    return runs


def test_burst_is_one_sync():
    burst = [1.0 + k * 0.0005 for k in range(100)]     # 100 events in 50 ms
    runs = simulate(burst, 3.0)
    assert len(runs) == 1
    assert runs[0] - burst[-1] <= 0.2


def test_at_most_one_sync_per_200ms_and_bounded_staleness():
    rnd = random.Random(11)
    ev = sorted(rnd.uniform(0, 5) for _ in range(2000))   # a storm
    runs = simulate(ev, 7.0, sync_cost=0.05)
    gaps = [b - a for a, b in zip(runs, runs[1:])]
    assert min(gaps) >= 0.2 - 1e-6
    # the last event is synced well within 1 s
    assert runs[-1] >= ev[-1] and runs[-1] - ev[-1] <= 0.25
    # and during the storm no event waits more than 1 s for a sync
    for e in ev:
        assert any(e <= r <= e + 1.0 for r in runs), e


def test_event_during_slow_sync_is_synced_next():
    runs = simulate([1.0, 1.05], 3.0, sync_cost=0.5)
    # 1.0 starts a sync at ~1.03 that lasts till ~1.53; 1.05 came in
    # during it and gets its own sync right after
    assert len(runs) == 2 and runs[1] - 1.05 < 1.0


def test_quiet_period_and_max_delay():
    d = mod.Debouncer(quiet=0.03, max_delay=0.15, min_interval=0.2)
    assert d.wait_time(0.0) is None
    d.note(0.0)
    assert abs(d.wait_time(0.0) - 0.03) < 1e-9
    for k in range(1, 100):
        d.note(k * 0.01)
    # events keep coming: the sync still starts by first + max_delay
    assert d.wait_time(0.15) == 0.0
    d.ran(0.15)
    d.note(0.16)
    assert abs(d.wait_time(0.16) - 0.19) < 1e-9       # 200 ms after 0.15
