# SPDX-License-Identifier: GPL-2.0-or-later
"""The service-control verbs through iscd: isc kill, pause/unpause, wait,
update, stats and top, on test_service.py's host (its fixture: a state
root with the busybox image and an iscd in a network namespace of its
own).  Each checks the kernel's side (the cgroup files, /proc) as well as
the output, and has its refusals with their exact messages."""
import json
import os
import signal
import subprocess

import pytest

from helpers import wait_for
from lines import Lines
from test_service import ISC, host  # noqa: F401  (fixture)

pytestmark = [pytest.mark.isc_only, pytest.mark.pass_sanitizers]

# v2 spellings of the v1 files the tests read
V2_FILE = {"memory.limit_in_bytes": "memory.max", "freezer.state": "cgroup.freeze",
           "cpu.cfs_quota_us": "cpu.max", "pids.max": "pids.max"}


def cg_read(pid, ctrl, name):
    """The cgroup file `name` of process pid: its v1 group of controller
    ctrl, else its v2 group (the v2 spelling of the file)."""
    v2 = None
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrls == "":
                v2 = path
            elif ctrl in ctrls.split(","):
                return open("/sys/fs/cgroup/%s%s/%s" % (ctrls, path, name)).read().strip()
    for base in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        p = "%s%s/%s" % (base, v2, V2_FILE[name])
        if v2 is not None and os.path.exists(p):
            return open(p).read().strip()
    raise AssertionError("no %s group for pid %d" % (ctrl, pid))


def frozen(pid):
    v = cg_read(pid, "freezer", "freezer.state")
    return v in ("FROZEN", "1")


def log_has(host, name, text):
    return text in host.isc("logs", name).stdout


def test_kill_signals_and_is_not_restarted(host):
    # sh as the init ignores HUP unless it traps it: the trap makes it visible
    st = host.run_d("k1", "busybox", "/bin/sh", "-c",
                    "trap 'echo got-hup' HUP; echo ready; while true; do sleep 0.05; done")
    wait_for(lambda: log_has(host, "k1", "ready"), what="the trap set")
    for i, form in enumerate(("HUP", "SIGHUP", "1", "sighup")):
        r = host.isc("kill", "-s", form, "k1")
        assert (r.returncode, r.stdout, r.stderr) == (0, "k1\n", ""), form
        # one at a time: pending signals of a kind coalesce
        wait_for(lambda: host.isc("logs", "k1").stdout.count("got-hup") == i + 1, what="HUP %d handled" % (i + 1))
    s = host.status("k1")
    assert s["state"] == "running" and s["pid"] == st["pid"]  # a signal it handles: it runs on
    # refused before anything is asked: the flag named
    r = host.isc("kill", "--signal", "BOGUS", "k1")
    assert (r.returncode, r.stderr) == (2, 'isc: kill: --signal: "BOGUS" is not a signal (a name like TERM or '
                                           'SIGTERM, or a number 1-%d)\n' % (signal.SIGRTMIN - 1))
    r = host.isc("kill", "-s", "0", "k1")
    assert r.returncode == 2 and '"0" is not a signal' in r.stderr
    # default KILL: the run ends with 137 and, as podman's, the policy (on-failure) does not restart it
    w = subprocess.Popen([ISC, "--root", host.root, "wait", "k1"], stdout=subprocess.PIPE, text=True)
    r = host.isc("kill", "k1")
    assert (r.returncode, r.stdout) == (0, "k1\n")
    assert w.communicate(timeout=30)[0] == "137\n" and w.returncode == 0
    s = host.status("k1")
    assert (s["state"], s["desired"], s["restarts"], s["last_exit"]["status"]) == ("stopped", "stopped", 0, 137)
    r = host.isc("kill", "k1")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "isc: service k1 is not running\n")
    r = host.isc("kill", "nope")
    assert (r.returncode, r.stderr) == (1, "isc: no service named nope\n")
    # a start runs it under its policy again: a plain SIGKILL from outside is restarted
    host.isc("start", "k1", check=True)
    pid = host.status("k1")["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: (lambda s: s["state"] == "running" and s["pid"] != pid)(host.status("k1")),
             what="k1 restarted by its policy")
    host.isc("rm", "-f", "--purge", "k1", check=True)


def test_pause_unpause_and_stop_of_a_paused_service(host):
    st = host.run_d("p1", "busybox", "sleep", "1000")
    pid = st["pid"]
    assert not frozen(pid)
    r = host.isc("pause", "p1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "p1\n", "")
    assert frozen(pid)
    assert host.status("p1")["state"] == "paused" and host.ps()["p1"]["state"] == "paused"
    assert " paused " in host.isc("ps").stdout
    r = host.isc("pause", "p1")
    assert (r.returncode, r.stderr) == (1, "isc: service p1 is already paused\n")
    r = host.isc("kill", "p1")
    assert (r.returncode, r.stderr) == (1, "isc: service p1 is paused (isc unpause p1 first)\n")
    r = host.isc("unpause", "p1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "p1\n", "")
    assert not frozen(pid) and host.status("p1")["state"] == "running"
    r = host.isc("unpause", "p1")
    assert (r.returncode, r.stderr) == (1, "isc: service p1 is not paused\n")
    r = host.isc("pause", "--bogus", "p1")
    assert (r.returncode, r.stderr.splitlines()[0]) == (2, "isc: pause: unknown option --bogus")
    # a paused service is stopped all the same: signalled, then thawed (sleep as pid 1 ignores TERM)
    host.isc("pause", "p1", check=True)
    r = host.isc("stop", "-t", "1", "p1")
    assert (r.returncode, r.stdout) == (0, "p1\n")
    s = host.status("p1")
    assert (s["state"], s["last_exit"]["status"]) == ("stopped", 137)
    r = host.isc("pause", "p1")
    assert (r.returncode, r.stderr) == (1, "isc: service p1 is not running\n")
    # and a start after it is not paused
    host.isc("start", "p1", check=True)
    s = host.status("p1")
    assert s["state"] == "running" and not frozen(s["pid"])
    host.isc("pause", "p1", check=True)
    host.isc("rm", "-f", "--purge", "p1", check=True)  # rm -f of a paused service
    assert "p1" not in host.ps()


def test_wait_prints_the_exit_status_of_the_current_run(host):
    host.run_d("w1", "--restart", "no", "busybox", "/bin/sh", "-c",
               "while [ ! -e /persist/go ]; do sleep 0.05; done; exit 7")
    w = subprocess.Popen([ISC, "--root", host.root, "wait", "w1"], stdout=subprocess.PIPE, text=True)
    assert w.poll() is None
    with open(os.path.join(host.root, "containers", "w1", "persist", "go"), "w"):
        pass
    assert w.communicate(timeout=30)[0] == "7\n" and w.returncode == 0
    # no run under way: its last exit at once
    r = host.isc("wait", "w1", "w1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "7\n7\n", "")
    r = host.isc("wait", "nope")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "isc: no service named nope\n")
    r = host.isc("wait")
    assert (r.returncode, r.stderr) == (2, "isc: wait: a NAME is required\n")
    host.isc("rm", "--purge", "w1", check=True)


def test_update_is_live_recorded_and_named_when_refused(host):
    # 16 MiB in a tmpfs: memory the kernel cannot reclaim (no swap is needed for the refusal:
    # tmpfs pages only go to swap, and a limit under them is refused on v1, OOM on v2)
    st = host.run_d("u1", "--tmpfs", "/fill:size=32m", "busybox", "/bin/sh", "-c",
                    "dd if=/dev/zero of=/fill/x bs=1M count=16 2>/dev/null; echo filled; sleep 1000")
    wait_for(lambda: log_has(host, "u1", "filled"), what="the tmpfs filled")
    pid = st["pid"]
    r = host.isc("update", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "100", "u1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "u1\n", "")

    def limits(pid):
        cpu = cg_read(pid, "cpu", "cpu.cfs_quota_us").split()[0]
        return (cg_read(pid, "memory", "memory.limit_in_bytes"), cpu, cg_read(pid, "pids", "pids.max"))
    assert limits(pid) == (str(64 << 20), "50000", "100")
    plan = host.inspect("u1")["plan"]
    assert (plan["memory"], plan["cpu_quota"], plan["pids_limit"]) == (64 << 20, 50000, 100)
    # stats reads them back
    r = host.isc("stats", "--no-stream", "--format", "json", "u1")
    assert r.returncode == 0, r.stderr
    (s,) = json.loads(r.stdout)
    assert (s["name"], s["state"], s["memory_limit"], s["pids_limit"]) == ("u1", "running", 64 << 20, 100)
    assert s["memory_usage"] >= 16 << 20 and s["pids"] >= 1 and s["cpu_ns"] > 0
    assert 0 <= s["cpu_percent"] <= 200
    # a limit under the tmpfs's 16 MiB: the kernel refuses (v1: EBUSY); the flag is named and
    # the plan keeps the value before
    if cg_read(pid, "memory", "memory.limit_in_bytes") != "max":
        r = host.isc("update", "--memory", "8m", "u1")
        assert r.returncode == 1 and r.stderr.startswith("isc: --memory: update u1: "), r.stderr
        assert "Device or resource busy" in r.stderr
        assert host.inspect("u1")["plan"]["memory"] == 64 << 20
    # the next start keeps the limits
    r = host.isc("restart", "-t", "1", "u1")
    assert r.returncode == 0, r.stderr
    pid2 = host.status("u1")["pid"]
    assert pid2 != pid and limits(pid2) == (str(64 << 20), "50000", "100")
    # refused before anything is asked, the flag named
    for args, msg in [([], "isc: update: nothing to change: give --memory, --cpus or --pids-limit\n"),
                      (["--memory", "1m"], "isc: update: --memory: 1m is less than 4m\n"),
                      (["--pids-limit", "0"], 'isc: update: --pids-limit: "0" is not a positive number\n')]:
        r = host.isc("update", *args, "u1")
        assert (r.returncode, r.stdout, r.stderr) == (2, "", msg), args
    r = host.isc("update", "--cpus", "lots", "u1")
    assert r.returncode == 2 and r.stderr.startswith("isc: update: --cpus"), r.stderr
    # a stopped service: recorded only
    host.isc("stop", "-t", "1", "u1", check=True)
    r = host.isc("update", "--pids-limit", "200", "u1")
    assert (r.returncode, r.stdout) == (0, "u1\n")
    assert host.inspect("u1")["plan"]["pids_limit"] == 200
    host.isc("rm", "--purge", "u1", check=True)


def test_stats_and_top(host):
    st = host.run_d("t1", "busybox", "/bin/sh", "-c", "sleep 1000 & exec sleep 999")
    wait_for(lambda: len(host.isc("top", "t1").stdout.splitlines()) == 3, what="both sleeps")
    r = host.isc("top", "t1")
    assert r.returncode == 0 and r.stderr == ""
    head, *rows = r.stdout.splitlines()
    assert head.split() == ["PID", "CPID", "COMMAND"]
    procs = sorted((int(x.split()[1]), int(x.split()[0]), " ".join(x.split()[2:])) for x in rows)
    assert procs[0] == (1, st["pid"], "sleep 999")  # the init, in the container and on the host
    assert procs[1][2] == "sleep 1000" and procs[1][0] > 1
    r = host.isc("stats", "--no-stream")
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "STATE", "CPU", "%"]
    (row,) = [l for l in lines[1:] if l.split()[0] == "t1"]
    assert row.split()[1] == "running" and row.split()[-1] == "2048"  # pids / the default limit
    # streaming: a table at every refresh until interrupted
    p = subprocess.Popen([ISC, "--root", host.root, "stats", "t1"], stdout=subprocess.PIPE)
    out = Lines(p.stdout, "isc stats")
    for _ in range(2):
        out.until(lambda l: l.startswith("NAME"), timeout=15, what="a table")
        out.until(lambda l: l.startswith("t1 "), timeout=15, what="t1's row")
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=10) == 0
    r = host.isc("stats", "--format", "yaml", "t1")
    assert (r.returncode, r.stderr) == (2, 'isc: stats: --format: "yaml": only json\n')
    host.isc("stop", "-t", "1", "t1", check=True)
    for verb in ("top", "stats"):
        r = host.isc(verb, *(["--no-stream"] if verb == "stats" else []), "t1")
        assert (r.returncode, r.stderr) == (1, "isc: service t1 is not running\n"), verb
    host.isc("rm", "--purge", "t1", check=True)
