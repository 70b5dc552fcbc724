#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Count test results for scripts/test.sh.

  results.py meson LABEL BUILD_DIR XML_DIR STATE   gtest XML + meson testlog
  results.py junit LABEL XML_FILE RC STATE         pytest's junit XML
  results.py fail LABEL NOTE STATE                 a suite that could not run
  results.py summary STATE                         one line per suite, totals

Each of the first three appends one JSON line to STATE; summary prints a line
per suite and the closing line "N passed, N failed", and exits 1 if any
suite failed. Standard library only.
"""

import json
import os
import sys
import xml.etree.ElementTree as ET

MESON_OK = {"OK", "EXPECTEDFAIL"}
MESON_SKIP = {"SKIP"}


def count_cases(root):
    """(passed, failed, skipped) over the <testcase> elements of a gtest or
    junit XML tree."""
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif (case.find("skipped") is not None
              or case.get("result") == "skipped"
              or case.get("status") == "notrun"):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def append(state, record):
    with open(state, "a") as f:
        f.write(json.dumps(record) + "\n")


def cmd_meson(label, build_dir, xml_dir, state):
    rec = {"suite": label, "passed": 0, "failed": 0, "skipped": 0, "note": ""}
    log = os.path.join(build_dir, "meson-logs", "testlog.json")
    try:
        with open(log) as f:
            tests = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as exc:
        rec["failed"] = 1
        rec["note"] = "no meson test log (%s)" % exc
        append(state, rec)
        return
    if not tests:
        rec["failed"] = 1
        rec["note"] = "no test ran"
    for t in tests:
        exe = os.path.basename((t.get("command") or ["?"])[0])
        xml = os.path.join(xml_dir, exe + ".xml")
        result = t.get("result", "?")
        try:
            p, f, s = count_cases(ET.parse(xml).getroot())
            # A crash, a sanitizer report at exit or a timeout after the
            # XML was written still fails the binary.
            if result not in MESON_OK | MESON_SKIP and f == 0:
                f = 1
        except (OSError, ET.ParseError):
            p, f, s = ((1, 0, 0) if result in MESON_OK else
                       (0, 0, 1) if result in MESON_SKIP else (0, 1, 0))
        print("    %-7s %-24s %-8s %4d passed, %d failed%s" % (
            label, t.get("name", exe), result, p, f,
            ", %d skipped" % s if s else ""))
        rec["passed"] += p
        rec["failed"] += f
        rec["skipped"] += s
    append(state, rec)


def cmd_junit(label, xml, rc, state):
    rec = {"suite": label, "passed": 0, "failed": 0, "skipped": 0, "note": ""}
    try:
        p, f, s = count_cases(ET.parse(xml).getroot())
        rec.update(passed=p, failed=f, skipped=s)
    except (OSError, ET.ParseError) as exc:
        rec["note"] = "no junit XML (%s)" % exc
    rc = int(rc)
    if rc == 5:
        rec["note"] = "no tests collected"
    if rc != 0 and rec["failed"] == 0:
        rec["failed"] = 1
        rec["note"] = rec["note"] or "exit code %d" % rc
    append(state, rec)


def cmd_fail(label, note, state):
    append(state, {"suite": label, "passed": 0, "failed": 1, "skipped": 0,
                   "note": note})


def cmd_summary(state):
    try:
        with open(state) as f:
            recs = [json.loads(line) for line in f if line.strip()]
    except OSError:
        recs = []
    passed = sum(r["passed"] for r in recs)
    failed = sum(r["failed"] for r in recs)
    for r in recs:
        print("%-6s %-5s %4d passed, %d failed%s%s" % (
            r["suite"] + ":", "FAIL" if r["failed"] else "ok",
            r["passed"], r["failed"],
            ", %d skipped" % r["skipped"] if r["skipped"] else "",
            " (%s)" % r["note"] if r["note"] else ""))
    if not recs:
        failed = max(failed, 1)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def main(argv):
    cmds = {"meson": (cmd_meson, 4), "junit": (cmd_junit, 4),
            "fail": (cmd_fail, 3), "summary": (cmd_summary, 1)}
    if not argv or argv[0] not in cmds or len(argv) - 1 != cmds[argv[0]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[0]][0](*argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
