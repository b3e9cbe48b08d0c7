# SPDX-License-Identifier: GPL-2.0-or-later
"""exec: a process in a running container joins all of it (namespaces,
cgroups) and gets nothing more than the container was given (capabilities,
no_new_privs, seccomp); exit status, --detach/--pid-file, flags and the
process.json form; clean failures for stopped and unknown containers."""
import json
import os
import subprocess
import time

import pytest

import helpers

NS_NAMES = ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts", "time"]


def running(runtime, b):
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    return runtime.state(b.id)["pid"]


def exec_detached(runtime, b, *args):
    """exec --detach --pid-file of `sleep 60` (or args); returns its host pid."""
    pid_file = os.path.join(runtime.workdir, "exec-%d.pid" % time.monotonic_ns())
    r = runtime("exec", "--detach", "--pid-file", pid_file, *args, b.id,
                "/bin/payload", "sleep", "60", timeout=15)
    assert r.returncode == 0, r.stderr
    with open(pid_file) as f:
        return int(f.read().strip())


def status_fields(pid, names):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in names:
                out[k] = v.strip()
    return out


def test_exec_output_and_exit_status(runtime, bundle):
    b = bundle("sleep", "60")
    running(runtime, b)
    r = runtime("exec", b.id, "/bin/payload", "echo", "hi", "there")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hi there\n"
    assert runtime("exec", b.id, "/bin/payload", "exit", "7").returncode == 7


def test_exec_joins_every_namespace(runtime, bundle):
    b = bundle("sleep", "60")
    init = running(runtime, b)
    pid = exec_detached(runtime, b)
    for ns in NS_NAMES:
        mine = "/proc/%d/ns/%s" % (pid, ns)
        if not os.path.exists(mine):
            continue
        assert os.readlink(mine) == os.readlink("/proc/%d/ns/%s" % (init, ns)), ns
    # pid 1 in its pid namespace is the init; the exec'd process is another
    nspid = status_fields(pid, ["NSpid"])["NSpid"].split()
    assert len(nspid) == 2 and nspid[1] != "1"


def test_exec_in_container_cgroups(runtime, bundle):
    b = bundle("sleep", "60")
    init = running(runtime, b)
    pid = exec_detached(runtime, b)
    with open("/proc/%d/cgroup" % init) as f:
        want = f.read()
    with open("/proc/%d/cgroup" % pid) as f:
        assert f.read() == want


def test_exec_same_caps_nnp_seccomp(runtime, bundle):
    b = bundle("sleep", "60")
    b.linux["seccomp"] = helpers.seccomp_profile(rules=[helpers.errno_rule(["mkdir", "mkdirat"], 42)])
    init = running(runtime, b)
    fields = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"]
    want = status_fields(init, fields)
    pid = exec_detached(runtime, b)
    assert status_fields(pid, fields) == want
    assert want["NoNewPrivs"] == "1" and want["Seccomp"] == "2"
    # the filter is really there
    r = runtime("exec", b.id, "/bin/payload", "syscall", "mkdir")
    assert helpers.errno_name(42) in r.stdout


def test_exec_cap_within_bounding_set(runtime, bundle):
    b = bundle("sleep", "60")
    c = b.process["capabilities"]
    c["bounding"] = c["bounding"] + ["CAP_CHOWN"]
    running(runtime, b)
    r = runtime("exec", "--cap", "CAP_CHOWN", b.id, "/bin/payload", "status", "CapEff")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout, 16) & (1 << helpers.CAPS["CAP_CHOWN"])
    r = runtime("exec", b.id, "/bin/payload", "status", "CapEff")
    assert not int(r.stdout, 16) & (1 << helpers.CAPS["CAP_CHOWN"])


@pytest.mark.isc_only
def test_exec_cap_outside_bounding_set_fails(runtime, bundle):
    b = bundle("sleep", "60")
    running(runtime, b)
    r = runtime("exec", "--cap", "CAP_SYS_ADMIN", b.id, "/bin/payload", "true")
    # 255: exec's own failure (as runc), apart from any status of the command
    assert (r.returncode, r.stderr) == (255, "isc-runtime: capability CAP_SYS_ADMIN is not in the container's "
                                        "bounding set\n")


@pytest.mark.isc_only
def test_exec_process_file_caps_outside_bounding_set_fail(runtime, bundle):
    b = bundle("sleep", "60")
    running(runtime, b)
    caps = helpers.MINIMAL_CAPS + ["CAP_SYS_PTRACE"]
    proc = {"args": ["/bin/payload", "true"], "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")}}
    path = os.path.join(runtime.workdir, "process.json")
    with open(path, "w") as f:
        json.dump(proc, f)
    r = runtime("exec", "--process", path, b.id)
    assert (r.returncode, r.stderr) == (255, "isc-runtime: capability CAP_SYS_PTRACE is not in the container's "
                                        "bounding set\n")


def test_exec_user_env_cwd(runtime, bundle):
    b = bundle("sleep", "60")
    running(runtime, b)
    r = runtime("exec", "--user", "1000:1000", b.id, "/bin/payload", "id")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("uid=1000 gid=1000 euid=1000 egid=1000")
    r = runtime("exec", "--env", "FOO=bar", "--env", "HOME=/tmp", b.id, "/bin/payload", "env")
    env = r.stdout.splitlines()
    assert "FOO=bar" in env and "HOME=/tmp" in env and "HOME=/root" not in env
    assert "PATH=/bin:/usr/bin:/sbin:/usr/sbin" in env  # the container's env is the default
    r = runtime("exec", "--cwd", "/tmp", b.id, "/bin/payload", "cwd")
    assert r.stdout == "/tmp\n"


def test_exec_process_file(runtime, bundle):
    b = bundle("sleep", "60")
    running(runtime, b)
    proc = {"terminal": False, "user": {"uid": 1000, "gid": 1000},
            "args": ["/bin/payload", "env"], "env": ["PATH=/bin", "ONLY=this"], "cwd": "/tmp",
            "capabilities": {k: ["CAP_KILL"] for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True}
    path = os.path.join(runtime.workdir, "process.json")
    with open(path, "w") as f:
        json.dump(proc, f)
    r = runtime("exec", "--process", path, b.id)
    assert r.returncode == 0, r.stderr
    # runc adds HOME when the process has none
    env = [e for e in r.stdout.splitlines() if not e.startswith("HOME=")]
    assert sorted(env) == ["ONLY=this", "PATH=/bin"]
    proc["args"] = ["/bin/payload", "exit", "3"]
    with open(path, "w") as f:
        json.dump(proc, f)
    assert runtime("exec", "--process", path, b.id).returncode == 3
    proc["args"] = ["/bin/payload", "cwd"]
    with open(path, "w") as f:
        json.dump(proc, f)
    assert runtime("exec", "--process", path, b.id).stdout == "/tmp\n"


def test_exec_detach_pid_file(runtime, bundle):
    b = bundle("sleep", "60")
    running(runtime, b)
    pid = exec_detached(runtime, b)
    # --detach returns once the process runs, without waiting for it: the
    # runtime has exited (the call returned; one that waited for the 60 s
    # sleep would have run into the call's timeout) and the process it
    # started, the payload itself (not a stage before the exec), sleeps on
    assert helpers.pid_alive(pid)
    with open("/proc/%d/cmdline" % pid) as f:
        assert f.read().split("\0")[:3] == ["/bin/payload", "sleep", "60"]
    def state():
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    # it reaches its sleep (on a busy machine it may still be on its way)
    helpers.wait_for(lambda: state() == "S", what="the exec'd payload asleep")
    # nothing of the runtime leaks in: stdio only
    assert sorted(os.listdir("/proc/%d/fd" % pid)) == ["0", "1", "2"]


def test_exec_preserve_fds(runtime, bundle):
    b = bundle("sleep", "60")
    running(runtime, b)
    path = os.path.join(runtime.workdir, "fd3-target")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    os.fchmod(fd, 0o666)
    try:
        cmd = [runtime.path, "--root", runtime.root, "exec", "--preserve-fds", "1", b.id,
               "/bin/payload", "write", "/proc/self/fd/3", "fd3"]
        r = subprocess.run(cmd, capture_output=True, text=True, pass_fds=[3], timeout=20,
                           preexec_fn=lambda: os.dup2(fd, 3))
        assert r.returncode == 0, r.stderr + r.stdout
    finally:
        os.close(fd)
    with open(path) as f:
        assert f.read() == "fd3"


@pytest.mark.runc_skip("runc 1.1 has no time namespace")
def test_exec_time_and_host_pid_namespace(runtime, bundle):
    # the staged create path (time namespace), no pid namespace: exec joins
    # what the container has and shares the rest with the host
    b = bundle("sleep", "60")
    helpers.set_namespace(b.config, "time")
    helpers.set_namespace(b.config, "pid", present=False)
    # proc of the host's pid namespace cannot be mounted from a user namespace
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]
    init = running(runtime, b)
    pid = exec_detached(runtime, b)
    for ns in ("time", "mnt", "net", "user", "pid"):
        assert os.readlink("/proc/%d/ns/%s" % (pid, ns)) == os.readlink("/proc/%d/ns/%s" % (init, ns)), ns


def test_exec_bad_executable_fails_cleanly(runtime, bundle):
    b = bundle("sleep", "60")
    running(runtime, b)
    r = runtime("exec", b.id, "/bin/nonexistent")
    assert r.returncode == 255 and "nonexistent" in r.stderr, (r.returncode, r.stderr)
    if runtime.is_isc:
        assert r.stderr == 'isc-runtime: exec: "/bin/nonexistent": No such file or directory\n'
    assert runtime.state(b.id)["status"] == "running"


def test_exec_stopped_container_fails(runtime, bundle):
    b = bundle("true")
    running(runtime, b)
    runtime.wait_status(b.id, "stopped")
    r = runtime("exec", b.id, "/bin/payload", "true")
    assert r.returncode == 255 and "stopped" in r.stderr, (r.returncode, r.stderr)
    if runtime.is_isc:
        assert r.stderr == "isc-runtime: container %s is not running: stopped\n" % b.id


def test_exec_unknown_container_fails(runtime):
    cid = helpers.unique_id()
    r = runtime("exec", cid, "/bin/payload", "true")
    assert r.returncode == 255 and "does not exist" in r.stderr, (r.returncode, r.stderr)
    if runtime.is_isc:
        assert r.stderr == 'isc-runtime: container "%s" does not exist\n' % cid


@pytest.mark.isc_only
def test_exec_rlimit_cannot_exceed_container(runtime, bundle):
    b = bundle("sleep", "60")
    running(runtime, b)
    proc = {"args": ["/bin/payload", "true"], "cwd": "/",
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096}]}
    path = os.path.join(runtime.workdir, "process.json")
    with open(path, "w") as f:
        json.dump(proc, f)
    r = runtime("exec", "--process", path, b.id)
    assert (r.returncode, r.stderr) == (255, "isc-runtime: process.rlimits[0]: hard limit above the container's\n")
