# SPDX-License-Identifier: BSD-3-Clause
"""edgefwd-k8s as a module, and helpers of the unit suites."""

import copy
import importlib.machinery
import importlib.util
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PROGRAM = REPO / "app" / "edgefwd-k8s" / "edgefwd-k8s"
EDGEFWD = Path(os.environ.get("EF_EDGEFWD",
                              REPO / "build" / "app" / "edgefwd" / "edgefwd"))

_loader = importlib.machinery.SourceFileLoader("edgefwd_k8s", str(PROGRAM))
_spec = importlib.util.spec_from_loader("edgefwd_k8s", _loader)
mod = importlib.util.module_from_spec(_spec)
_loader.exec_module(mod)


def base_text():
    """conf/demo.conf without its services: the operator's static part."""
    return (REPO / "conf" / "demo.conf").read_text().split("services = (")[0]


def check(path):
    """edgefwd --check FILE: (ok, output); None when edgefwd is not built."""
    if not os.access(EDGEFWD, os.X_OK):
        return None
    cp = subprocess.run([str(EDGEFWD), "--", "-c", str(path), "--check"],
                        capture_output=True, text=True, timeout=120)
    return cp.returncode == 0, cp.stdout + cp.stderr


def by_kind(objs):
    svcs = {mod.obj_key(o): o for o in objs if o["kind"] == "Service"}
    slices = {}
    for o in objs:
        if o["kind"] == "EndpointSlice":
            name = (o["metadata"].get("labels") or {}).get(
                mod.SERVICE_NAME_LABEL)
            if name:
                slices.setdefault("%s/%s" % (o["metadata"]["namespace"],
                                             name), []).append(o)
    nodes = [o for o in objs if o["kind"] == "Node"]
    return svcs, slices, nodes


def mapped(objs, key, **kw):
    svcs, slices, _ = by_kind(objs)
    notes = {}
    usable = [s for s in slices.get(key, []) if mod.slice_usable(s)]
    return mod.map_service(svcs[key], usable, notes=notes, **kw), notes


def clone(o):
    return copy.deepcopy(o)
