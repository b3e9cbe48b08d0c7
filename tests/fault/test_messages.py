# SPDX-License-Identifier: GPL-2.0-or-later
"""The messages of issue 14, item 5, one test each (docs/errors.md,
"Messages"): a message names the step, the path or flag, and the errno text
of the first failure; cleanup failures come after it; a long one is cut in
its middle at a character boundary with a visible marker.

Each failure is injected exactly (strace -e inject on one syscall, -P to
pick the call by its path), and after each `delete --force` leaves nothing
(faultlib.leftovers).  The `isc audit verify` items (an empty trail, an
unterminated last line) are tests/unit/test_trail.c; the sync socket's and
isc_error_text's cut are tests/unit/test_sync.c and test_error.c.
"""
import json
import os
import subprocess
import uuid

import faultlib


def _strace(env, config, extra, *args, bundle=None):
    cmd = [faultlib.STRACE, "-o", "/dev/null"] + extra + env.runtime_cmd(config, *args)
    return subprocess.run(cmd, cwd=bundle or env.bundles[config], capture_output=True, text=True,
                          timeout=faultlib.HANG_SECONDS, env=env.env(), stdin=subprocess.DEVNULL)


def _lines(r):
    return [line for line in r.stderr.splitlines() if line.strip()]


def _nothing_left(env, config, cid):
    d = subprocess.run(env.runtime_cmd(config, "delete", "--force", cid), capture_output=True, text=True,
                       timeout=faultlib.HANG_SECONDS, env=env.env())
    assert d.returncode == 0 or "does not exist" in d.stderr, d.stderr
    left = faultlib.leftovers(env.state_root(config), env.bundles[config], cid, [])
    if left:
        faultlib.clean(env.state_root(config), cid, left)
    assert not left, left


def _cid():
    return "msg-" + uuid.uuid4().hex[:10]


def test_pidfd_open_failure_in_start_names_it(fault_env):
    """Not "cannot start a container that has stopped": the call, the init's
    pid and the errno text."""
    cid = _cid()
    # a file, not a pipe: the created init holds the stdio until it exits
    errf = os.path.join(fault_env.work, cid + ".err")
    with open(errf, "w+") as fe:
        c = subprocess.run(fault_env.runtime_cmd("plain", "create", cid), cwd=fault_env.bundles["plain"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fe,
                           timeout=faultlib.HANG_SECONDS, env=fault_env.env())
        fe.seek(0)
        assert c.returncode == 0, fe.read()
    try:
        pid = json.loads(subprocess.run(fault_env.runtime_cmd("plain", "state", cid), capture_output=True,
                                        text=True, env=fault_env.env()).stdout)["pid"]
        r = _strace(fault_env, "plain", ["-e", "inject=pidfd_open:error=EMFILE"], "start", cid)
        assert r.returncode == 1
        assert _lines(r)[0] == ("isc-runtime: start container %s: look at its init %d (pidfd_open, /proc/%d/stat): "
                                "Too many open files" % (cid, pid, pid))
        # positive control: without the fault the same container starts
        s = subprocess.run(fault_env.runtime_cmd("plain", "start", cid), capture_output=True, text=True,
                           timeout=faultlib.HANG_SECONDS, env=fault_env.env())
        assert s.returncode == 0, s.stderr
    finally:
        _nothing_left(fault_env, "plain", cid)


def test_failed_stat_of_root_path_keeps_its_errno(fault_env):
    """Any failed stat of root.path carries its own errno, not ENOTDIR."""
    cid = _cid()
    rootfs = os.path.join(fault_env.bundles["plain"], "rootfs")
    r = _strace(fault_env, "plain", ["-P", rootfs, "-e", "trace=newfstatat", "-e", "inject=newfstatat:error=EACCES"],
                "run", cid)
    assert r.returncode == 1
    assert _lines(r) == ["isc-runtime: root.path: rootfs %s: Permission denied" % rootfs]
    _nothing_left(fault_env, "plain", cid)


def test_failed_sync_receive_is_a_receive(fault_env):
    """Not "sync socket: send: Broken pipe": the receive and its errno."""
    cid = _cid()
    r = _strace(fault_env, "plain", ["-e", "inject=recvfrom:error=EIO:when=1"], "run", cid)
    assert r.returncode == 1
    assert _lines(r)[0] == "isc-runtime: sync socket: receive: Input/output error"
    _nothing_left(fault_env, "plain", cid)


def test_first_failure_first_then_cleanup_and_state_kept(fault_env):
    """Setup and cleanup both fail: the first failure is the first line, the
    cleanup's after it; the state whose cleanup failed is kept, and
    delete --force removes what is left (the cgroups)."""
    cid = _cid()
    rootfs = os.path.join(fault_env.bundles["plain"], "rootfs")
    r = _strace(fault_env, "plain", ["-f", "-e", "inject=pivot_root:error=EINVAL", "-e", "inject=rmdir:error=EBUSY"],
                "run", cid)
    assert r.returncode == 1
    lines = _lines(r)
    assert lines[0] == "isc-runtime: pivot_root %s: Invalid argument" % rootfs
    assert len(lines) >= 3
    assert all(line.startswith("isc-runtime: cleanup: ") for line in lines[1:]), lines
    assert lines[1].startswith("isc-runtime: cleanup: rmdir /sys/fs/cgroup/") and \
        lines[1].endswith("/isc-%s: Device or resource busy" % cid)
    assert lines[-1] == ("isc-runtime: cleanup: the state %s/%s is kept: delete --force %s removes what is left"
                         % (fault_env.state_root("plain"), cid, cid))
    assert os.path.isdir(os.path.join(fault_env.state_root("plain"), cid))
    _nothing_left(fault_env, "plain", cid)


def test_run_failing_after_the_exit_says_the_state_is_left(fault_env):
    """The container ran and exited; the delete after it failed: the
    message says the state is left and for what."""
    cid = _cid()
    r = _strace(fault_env, "plain", ["-e", "inject=rmdir:error=EBUSY"], "run", cid)
    assert r.returncode == 1
    assert "fault-ok" in r.stdout
    first = _lines(r)[0]
    assert first.startswith("isc-runtime: container %s exited with status 0; its state is left for delete --force: "
                            "container %s: cgroup: rmdir /sys/fs/cgroup/" % (cid, cid)), first
    assert first.endswith("/isc-%s: Device or resource busy" % cid), first
    assert os.path.isdir(os.path.join(fault_env.state_root("plain"), cid))
    _nothing_left(fault_env, "plain", cid)


def test_long_message_is_cut_in_its_middle(fault_env):
    """A message over 4 KiB (a long UTF-8 mount source and destination):
    cut at a character boundary with the marker; the step at its start,
    the errno text at its end."""
    cid = _cid()
    bundle = os.path.join(fault_env.work, "bundle-long")
    os.makedirs(bundle, exist_ok=True)
    if not os.path.lexists(os.path.join(bundle, "rootfs")):
        os.symlink(os.path.join(fault_env.bundles["plain"], "rootfs"), os.path.join(bundle, "rootfs"))
    with open(os.path.join(fault_env.bundles["plain"], "config.json")) as f:
        c = json.load(f)
    source = "/nonexistent" + ("/" + "é€" * 40) * 19
    dest = "/mnt" + ("/" + "€é" * 40) * 6
    c["mounts"].append({"destination": dest, "type": "bind", "source": source, "options": ["bind"]})
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(c, f)
    r = subprocess.run(fault_env.runtime_cmd("plain", "run", "--bundle", bundle, cid), capture_output=True,
                       timeout=faultlib.HANG_SECONDS, env=fault_env.env(), stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    text = r.stderr.decode("utf-8")  # raises on a cut character
    first = text.splitlines()[0]
    assert len(first.encode()) <= 4096 + len("isc-runtime: ")
    assert first.startswith("isc-runtime: mount /nonexistent/é€é€")
    assert first.endswith("€é€é: No such file or directory"), first[-80:]
    assert " bytes cut ...] " in first
    # positive control: the same mount with a short source gives the whole message
    c["mounts"][-1]["source"] = "/nonexistent/short"
    c["mounts"][-1]["destination"] = "/mnt"
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(c, f)
    r = subprocess.run(fault_env.runtime_cmd("plain", "run", "--bundle", bundle, cid), capture_output=True, text=True,
                       timeout=faultlib.HANG_SECONDS, env=fault_env.env(), stdin=subprocess.DEVNULL)
    assert r.stderr.splitlines()[0] == "isc-runtime: mount /nonexistent/short to /mnt: No such file or directory"
    _nothing_left(fault_env, "plain", cid)
