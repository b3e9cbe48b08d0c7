# SPDX-License-Identifier: GPL-2.0-or-later
"""isc only: crash consistency and bounded waits of the runtime (issue 14,
items 1 and 4).

Proves: a `create` killed while it makes the container's cgroups (after
the first, at the mkdir of a later one) leaves a state that a new `create`
of the id refuses ("already exists") and that `delete --force` removes,
cgroups included; an empty cgroup left by an earlier container at the
container's path is made afresh (its stale limit gone) with a warning
naming it, never silently reused; a failed close_range in the container's
init is reported with its errno (it kept the container's lock: `run`
waited for ever on it); a command waiting for a container's lock, and
`create` waiting for an init stuck in a hook, give up after the wait bound
(ISC_RUNTIME_WAIT_SECONDS) with a message naming what they waited for,
and nothing is left.
"""
import fcntl
import os
import re
import shutil
import subprocess

import pytest

import helpers

pytestmark = pytest.mark.isc_only

STRACE = shutil.which("strace") or "/usr/bin/strace"


def _strace(runtime, b, verb, inject, trace, timeout=90):
    """`runtime --root R VERB --bundle B ID` under strace with one
    injection; returns (CompletedProcess, trace text).  `run` is traced
    with its children (-f); `create` alone: strace -f would wait for the
    created container's init."""
    b.write()
    log = os.path.join(runtime.workdir, "strace-%s.txt" % b.id)
    follow = ["-f"] if verb == "run" else []
    cmd = [STRACE] + follow + ["-qq", "-o", log, "-e", "trace=" + trace] + \
        (["-e", "inject=" + inject] if inject else []) + \
        [runtime.path, "--root", runtime.root, verb, "--bundle", b.path, b.id]
    if b.id not in runtime.ids:
        runtime.ids.append(b.id)
    # files, not pipes: a created container keeps the stdio of `create`
    out, err = log + ".out", log + ".err"
    with open(out, "w") as fo, open(err, "w") as fe:
        try:
            p = subprocess.run(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, timeout=timeout,
                               cwd=runtime.workdir, env=_traced_env())
        except subprocess.TimeoutExpired as e:
            raise AssertionError("hung for more than %d s: %s" % (timeout, " ".join(cmd))) from e
    with open(out) as fo, open(err) as fe, open(log) as fl:
        return subprocess.CompletedProcess(cmd, p.returncode, fo.read(), fe.read()), fl.read()


def _traced_env():
    """LeakSanitizer cannot run under ptrace (the sanitizer pass's build)."""
    asan = os.environ.get("ASAN_OPTIONS")
    return dict(os.environ, ASAN_OPTIONS=(asan + ":" if asan else "") + "detect_leaks=0")


def _cgroup_mkdirs(trace):
    return [m.group(1) for m in re.finditer(r'^(?:\d+ +)?mkdir\("(/sys/fs/cgroup/[^"]+)"', trace, re.M)]


def _all_mkdirs(trace):
    return re.findall(r'^(?:\d+ +)?mkdir\("([^"]+)"', trace, re.M)


def _assert_gone(runtime, b):
    r = runtime.state(b.id, check=False)
    assert (r.returncode, r.stderr) == (1, 'isc-runtime: container "%s" does not exist\n' % b.id)
    assert helpers.state_leftovers(runtime.root, b.id) == []
    assert helpers.cgroup_leftovers(b.cgroup_name) == []
    assert helpers.mount_leftovers(b.path) == []


def test_create_killed_while_making_cgroups(runtime, bundle):
    b = bundle("sleep", "60")
    # a clean create shows the order of the mkdir calls
    r, trace = _strace(runtime, b, "create", None, "mkdir")
    assert r.returncode == 0, r.stderr
    made = _cgroup_mkdirs(trace)
    assert len(made) >= 2 and all(p.endswith("/" + b.cgroup_name) for p in made), made
    assert runtime.delete(b.id, force=True).returncode == 0
    _assert_gone(runtime, b)

    # killed at the mkdir of the second group: the first exists
    nth = _all_mkdirs(trace).index(made[1]) + 1
    r, trace = _strace(runtime, b, "create", "mkdir:signal=SIGKILL:when=%d" % nth, "mkdir")
    assert r.returncode == -9, (r.returncode, r.stderr)
    assert os.path.isdir(made[0]), "the first cgroup was not made before the kill"
    assert not os.path.isdir(made[1])

    # a new create of the id does not take over what is left
    r = runtime.create(b)
    assert (r.returncode, r.stderr) == (1, 'isc-runtime: container with id "%s" already exists: File exists\n'
                                        % b.id)
    r = runtime.delete(b.id, force=True)
    assert (r.returncode, r.stderr) == (0, "")
    assert not os.path.isdir(made[0]), "delete --force left the cgroup of the killed create"
    _assert_gone(runtime, b)

    # positive control: the id and its cgroups are usable again
    r = runtime.create(b)
    assert (r.returncode, r.stderr) == (0, "")
    assert all(os.path.isdir(p) for p in made)
    assert runtime.delete(b.id, force=True).returncode == 0
    _assert_gone(runtime, b)


def _v1_pids_parent():
    """Our own group in the v1 pids hierarchy, or None."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "pids" in ctrls.split(","):
                d = "/sys/fs/cgroup/pids" + path.rstrip("/")
                if os.path.isdir(d):
                    return d
    return None


def test_stale_cgroup_is_made_again_not_reused(runtime, bundle):
    parent = _v1_pids_parent()
    if parent is None:
        pytest.skip("no cgroup v1 pids hierarchy on this machine (feature: cgroup v1 pids)")
    b = bundle("cat", "/sys/fs/cgroup/pids/pids.max")
    b.add_mount("/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "ro"])
    stale = os.path.join(parent, b.cgroup_name)
    os.mkdir(stale)
    try:
        with open(os.path.join(stale, "pids.max"), "w") as f:
            f.write("7")
        r = runtime.run(b)
        assert r.returncode == 0, r.stderr
        # the container's own view of its group: the stale limit is gone
        assert r.stdout.strip() == "max", r.stdout
        warning = ("isc-runtime: warning: cgroup %s existed already (left by an earlier container?): "
                   "removed and made again" % stale)
        assert warning in r.stderr.splitlines(), r.stderr
    finally:
        if os.path.isdir(stale):
            os.rmdir(stale)
    # control: without a stale group, no warning
    b2 = bundle("true")
    r = runtime.run(b2)
    assert (r.returncode, r.stderr) == (0, "")


def test_close_range_failure_in_init_is_reported(runtime, bundle):
    b = bundle("true")
    r, trace = _strace(runtime, b, "run", "close_range:error=EINVAL", "close_range")
    assert "INJECTED" in trace
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert r.stderr.splitlines()[0] == \
        "isc-runtime: container init: close the runtime's fds: close_range: Invalid argument", r.stderr
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0 or "does not exist" in r.stderr, r.stderr
    _assert_gone(runtime, b)
    # control: the same run without the fault
    r, _ = _strace(runtime, bundle("true"), "run", None, "close_range")
    assert (r.returncode, r.stderr) == (0, "")


def test_lock_wait_is_bounded(runtime, bundle):
    b = bundle("sleep", "60")
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    fd = os.open(os.path.join(runtime.root, b.id), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = runtime("kill", b.id, "KILL", env={"ISC_RUNTIME_WAIT_SECONDS": "2"}, timeout=60)
        assert (r.returncode, r.stderr) == (
            1, "isc-runtime: lock container %s: %s/%s is still locked by another process after 2 s\n"
            % (b.id, runtime.root, b.id))
        assert runtime.state(b.id)["status"] == "created"
    finally:
        os.close(fd)
    # control: with the lock free, the same command works
    r = runtime("kill", b.id, "KILL", env={"ISC_RUNTIME_WAIT_SECONDS": "2"})
    assert (r.returncode, r.stderr) == (0, "")
    assert runtime.delete(b.id, force=True).returncode == 0
    _assert_gone(runtime, b)


def _procs_with_cmdline(argv):
    want = ("\0".join(argv) + "\0").encode()
    found = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open("/proc/%s/cmdline" % e, "rb") as f:
                    if f.read() == want:
                        found.append(int(e))
            except OSError:
                pass
    return found


def test_wait_for_a_stuck_init_is_bounded(runtime, bundle):
    # a createContainer hook (run by the init) that does not end, without a
    # timeout: the runtime's wait for the init counts the wait bound for it
    argv = ["sleep", "600.%d" % (os.getpid() % 1000)]
    b = bundle("true")
    b.config["hooks"] = {"createContainer": [{"path": "/bin/sleep", "args": argv}]}
    b.write()
    r = runtime("create", "--bundle", b.path, b.id, env={"ISC_RUNTIME_WAIT_SECONDS": "2"}, timeout=60)
    assert (r.returncode, r.stderr) == (
        1, "isc-runtime: sync socket: no message from the container init within 4 s "
           "(waited for the container init's setup)\n")
    helpers.wait_for(lambda: not _procs_with_cmdline(argv), timeout=10, what="the hook to be killed")
    _assert_gone(runtime, b)
    # control: a hook that ends
    b2 = bundle("true")
    b2.config["hooks"] = {"createContainer": [{"path": "/bin/true"}]}
    r = runtime.run(b2, env={"ISC_RUNTIME_WAIT_SECONDS": "2"})
    assert (r.returncode, r.stderr) == (0, "")
