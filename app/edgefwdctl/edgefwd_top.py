# SPDX-License-Identifier: BSD-3-Clause
"""edgefwdctl top: a live view of a running edgefwd, refreshed every
second, from the telemetry socket (the shared client,
edgefwd_telemetry.py): per-lcore busy share and packet rates, the
services with the most packets per second, non-zero drop rates, flows and
reloads. Plain ANSI (clear screen, home) on a terminal; q quits. --once
prints one frame (two samples one second apart) and exits.

Rates are differences of the monotonic counters over the interval
(/edgefwd/traffic for workers and services, /edgefwd/stats for drops).
"""

import os
import select
import sys
import termios
import time
import tty

TOP_SERVICES = 15


def _sample(t):
    """One reading of every counter the view differentiates."""
    now = time.monotonic()
    first = t.query("/edgefwd/traffic")
    svcs = {}
    page = first
    while True:
        for i, n in enumerate(page.get("names", [])):
            svcs[n] = (page["packets"][i], page["bytes"][i], page["flows"][i])
        if "next_offset" not in page:
            break
        page = t.query("/edgefwd/traffic,%d" % page["next_offset"])
    stats = t.query("/edgefwd/stats")
    info = t.query("/edgefwd/info")
    lcores = list(zip(first.get("lcore", []), first.get("busy_cycles", []),
                      first.get("total_cycles", []),
                      first.get("rx_packets", []),
                      first.get("tx_packets", [])))
    return {"t": now, "lcores": lcores, "svcs": svcs, "stats": stats,
            "info": info}


def _rate(new, old, dt):
    return max(new - old, 0) / dt if dt > 0 else 0.0


def _si(v):
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= div:
            return "%.1f%s" % (v / div, unit)
    return "%.0f" % v


def frame(a, b, width=100):
    """The text of one frame from samples a (older) and b."""
    dt = b["t"] - a["t"]
    info, st = b["info"], b["stats"]
    out = []
    out.append("edgefwd %s  node %s  up %ss  generation %s  reloads ok %s "
               "failed %s" % (info.get("version"), info.get("node"),
                              info.get("uptime_s"), info.get("generation"),
                              info.get("reloads_ok"),
                              info.get("reloads_failed")))
    out.append("flows %d active, %s/s created   rx %s pps  tx %s pps" % (
        st.get("flows_active", 0),
        _si(_rate(st.get("flows_created", 0),
                  a["stats"].get("flows_created", 0), dt)),
        _si(_rate(st.get("rx_packets", 0), a["stats"].get("rx_packets", 0),
                  dt)),
        _si(_rate(st.get("tx_packets", 0), a["stats"].get("tx_packets", 0),
                  dt))))
    out.append("")
    out.append("%-6s %6s %10s %10s" % ("LCORE", "BUSY%", "RX PPS", "TX PPS"))
    old = {lc[0]: lc for lc in a["lcores"]}
    for lc in b["lcores"]:
        o = old.get(lc[0], lc)
        dtot = lc[2] - o[2]
        busy = 100.0 * (lc[1] - o[1]) / dtot if dtot > 0 else 0.0
        out.append("%-6d %6.1f %10s %10s" % (
            lc[0], busy, _si(_rate(lc[3], o[3], dt)),
            _si(_rate(lc[4], o[4], dt))))
    out.append("")
    rows = []
    for name, (p, by, fl) in b["svcs"].items():
        op, ob, _ = a["svcs"].get(name, (p, by, fl))
        rows.append((_rate(p, op, dt), _rate(by, ob, dt), fl, name))
    rows.sort(key=lambda r: (-r[0], r[3]))
    out.append("%-10s %10s %8s  %s" % ("PPS", "BYTES/S", "FLOWS",
                                       "SERVICE (top %d of %d)" % (
                                           min(TOP_SERVICES, len(rows)),
                                           len(rows))))
    for pps, bps, fl, name in rows[:TOP_SERVICES]:
        out.append("%-10s %10s %8d  %s" % (_si(pps), _si(bps), fl, name))
    out.append("")
    drops = st.get("drops", {})
    odrops = a["stats"].get("drops", {})
    nz = sorted(((_rate(v, odrops.get(k, v), dt), k)
                 for k, v in drops.items() if v != odrops.get(k, v)),
                reverse=True)
    out.append("DROPS/S" + ("" if nz else "  none"))
    for r, k in nz:
        out.append("  %-22s %10s" % (k, _si(r)))
    return "\n".join(line[:width] for line in out)


def run(t, once=False, interval=1.0):
    """Live view until q (or one frame with once). Returns the exit code."""
    a = _sample(t)
    if once:
        time.sleep(interval)
        print(frame(a, _sample(t)))
        return 0
    fd = sys.stdin.fileno()
    tty_in = os.isatty(fd)
    saved = termios.tcgetattr(fd) if tty_in else None
    try:
        if tty_in:
            tty.setcbreak(fd)
        sys.stdout.write("\x1b[?25l")
        while True:
            # wait a second for a key, then draw
            end = time.monotonic() + interval
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([fd], [], [], left)
                if r:
                    ch = os.read(fd, 1)
                    if ch in (b"q", b"Q") or ch == b"":
                        return 0
            b = _sample(t)
            cols = os.get_terminal_size().columns if tty_in else 100
            sys.stdout.write("\x1b[H\x1b[2J" + frame(a, b, cols).replace(
                "\n", "\r\n") + "\r\n\r\n(q quits)")
            sys.stdout.flush()
            a = b
    except KeyboardInterrupt:
        return 0
    finally:
        sys.stdout.write("\x1b[?25h\r\n")
        sys.stdout.flush()
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
