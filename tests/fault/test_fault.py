# SPDX-License-Identifier: GPL-2.0-or-later
"""Fault injection into a real hardened `isc-runtime run` (issue 14).

Proves: the list of fault points taken from an strace of a real run (with
and without org.isc.scratch) still holds every syscall of
expected-points.json (a step that disappears from the trace makes the
suite fail: update the file with ISC_FAULT_UPDATE=1 when that is meant);
for each point tried, a failed syscall gives a message naming the step
with the errno's text, and after a failure or a SIGKILL at the point
`delete --force` leaves nothing (faultlib.py says what is checked).

Without ISC_FAULT_FULL=1, a sample: ISC_FAULT_PER_SYSCALL (default 3)
points of each syscall, chosen by ISC_FAULT_SEED (default 0), each with
every action (EIO, the errno that matters there, SIGKILL).  With it, every
point.  ISC_FAULT_REPORT=FILE writes every result as JSON.
"""
import json
import os
import sys

import pytest

import faultlib


@pytest.fixture(scope="session")
def traced(fault_env):
    return {c: fault_env.trace(c)[0] for c in faultlib.CONFIGS}


@pytest.mark.parametrize("config", faultlib.CONFIGS)
def test_point_list_has_not_shrunk(traced, config):
    now = faultlib.summarize(traced[config])
    if os.environ.get("ISC_FAULT_UPDATE") == "1":
        try:
            exp = faultlib.load_expected()
        except OSError:
            exp = {}
        exp[config] = {"points": len(traced[config]), "syscalls": dict(sorted(now.items()))}
        with open(faultlib.EXPECTED, "w") as f:
            json.dump(exp, f, indent=1, sort_keys=True)
            f.write("\n")
    exp = faultlib.load_expected()[config]
    missing = sorted(set(exp["syscalls"]) - set(now))
    assert not missing, ("syscalls no longer in the traced run (%s): %s; if that is meant, "
                         "ISC_FAULT_UPDATE=1 rewrites %s" % (config, missing, faultlib.EXPECTED))
    # counts move with any change of the code; a large drop means steps are gone
    assert len(traced[config]) >= 0.8 * exp["points"], (
        "%s: %d points, %d expected" % (config, len(traced[config]), exp["points"]))


def _points(points):
    if os.environ.get("ISC_FAULT_FULL") == "1":
        return sorted(points)
    per = int(os.environ.get("ISC_FAULT_PER_SYSCALL", "3"))
    return faultlib.sample(points, per, int(os.environ.get("ISC_FAULT_SEED", "0")))


@pytest.mark.timeout(0)
@pytest.mark.parametrize("config", faultlib.CONFIGS)
def test_faults(fault_env, traced, config):
    results = []
    todo = [(name, k, a) for name, k in _points(traced[config]) for a in faultlib.actions_for(name)]
    for i, (name, k, action) in enumerate(todo):
        results.append(fault_env.fault(config, name, k, action))
        if results[-1]["problems"] or (i + 1) % 50 == 0:
            sys.stderr.write("fault %s %d/%d: %s#%d %s %s\n" % (
                config, i + 1, len(todo), name, k, action, "; ".join(results[-1]["problems"]) or "ok"))
    reached = [r for r in results if r["injected"] or r["hang"]]
    bad = [r for r in results if r["problems"]]
    counts = {
        "config": config,
        "points": len({(r["syscall"], r["n"]) for r in results}),
        "runs": len(results),
        "reached": len(reached),
        "not_reached": len(results) - len(reached),
        "leaks": sum(r["leak"] for r in results),
        "hangs": sum(r["hang"] for r in results),
        "messages": sum(r["message"] for r in results),
        "seconds": round(sum(r.get("seconds", 0) for r in results), 1),
    }
    report = os.environ.get("ISC_FAULT_REPORT")
    if report:
        with open("%s.%s.json" % (report, config), "w") as f:
            json.dump({"counts": counts, "results": results}, f, indent=1)
    sys.stderr.write("\nfault sweep %s\n" % json.dumps(counts))
    lines = ["%s %s#%d %s: %s" % (r["config"], r["syscall"], r["n"], r["action"], "; ".join(r["problems"]))
             for r in bad]
    assert not bad, "%s\n%s" % (json.dumps(counts), "\n".join(lines[:60]))
