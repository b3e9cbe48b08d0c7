"""Smaller config features: personality, rootfs propagation, the seccomp
cache's effect on a real start, and that a container never changes the
host's device nodes."""
import os
import stat
import subprocess

import pytest

import helpers

pytestmark = pytest.mark.no_leak_check


def test_personality_linux32(runtime, busybox_bundle):
    b = busybox_bundle("/bin/uname", "-m")
    b.config["linux"]["personality"] = {"domain": "LINUX32"}
    assert runtime.run_ok(b).strip() in ("i686", "i386")


def test_personality_default_is_native(runtime, busybox_bundle):
    b = busybox_bundle("/bin/uname", "-m")
    assert runtime.run_ok(b).strip() == os.uname().machine


def _host_mounts_under(path):
    return sorted(m for m in helpers.mount_leftovers(path) if m != os.path.realpath(path))


def _mountinfo_line(text, mountpoint):
    lines = [l for l in text.splitlines() if l.split()[4] == mountpoint]
    assert lines, "no %s in\n%s" % (mountpoint, text)
    return lines[-1]


def _tags(line):
    """The optional fields of a mountinfo line: shared:N, master:N, ..."""
    fields = line.split()
    return {f.split(":")[0] for f in fields[6:fields.index("-")]}


@pytest.mark.parametrize("prop,receives,tags", [
    ("rprivate", False, set()),
    ("rslave", True, {"master"}),
    # isc: shared among the container's own mounts, still a slave of the
    # host: none of its mounts leaves (src/lib/kernel/rootfs.c prepare_propagation)
    pytest.param("rshared", True, {"shared", "master"}, marks=pytest.mark.isc_only),
])
def test_rootfs_propagation_does_not_leak_mounts(runtime, bundle, prop, receives, tags):
    """The container (no user namespace, so only the runtime's propagation
    settings keep its mounts in; CAP_SYS_ADMIN) mounts a tmpfs inside its
    root, whose host side is a shared mount: the host never sees it.  The
    propagation asked is what the container's root gets: a host mount made
    after the start reaches the container for rslave and rshared, not for
    rprivate.  Control: a mount namespace made outside isc without changing
    the propagation does leak a mount to the host here."""
    b = bundle("sleep", "60")
    b.config["linux"]["rootfsPropagation"] = prop
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]
    helpers.set_caps(b.config, helpers.MINIMAL_CAPS + ["CAP_SYS_ADMIN"])
    mnt = os.path.join(b.rootfs, "mnt")
    for d in ("sub", "hostmnt", "probe"):
        os.makedirs(os.path.join(mnt, d))
    subprocess.run(["mount", "--bind", b.rootfs, b.rootfs], check=True)
    try:
        subprocess.run(["mount", "--make-shared", b.rootfs], check=True)
        # control: a plain mount namespace leaks through this shared mount
        subprocess.run(["unshare", "--mount", "--propagation", "unchanged",
                        "mount", "-t", "tmpfs", "isc-probe", os.path.join(mnt, "probe")],
                       check=True)
        assert _host_mounts_under(b.rootfs) == [os.path.join(mnt, "probe")]
        subprocess.run(["umount", os.path.join(mnt, "probe")], check=True)

        assert runtime.create(b).returncode == 0, b.errors()
        assert runtime.start(b.id).returncode == 0
        r = runtime("exec", b.id, "/bin/payload", "mount", "isc-ctmp", "/mnt/sub", "tmpfs")
        assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
        assert _host_mounts_under(b.rootfs) == [], "a container mount reached the host"

        subprocess.run(["mount", "-t", "tmpfs", "isc-hosttmp", os.path.join(mnt, "hostmnt")],
                       check=True)
        open(os.path.join(mnt, "hostmnt", "marker"), "w").close()
        r = runtime("exec", b.id, "/bin/payload", "mountinfo")
        assert r.returncode == 0, r.stderr
        inside = r.stdout
        # the container's own mount is there (so the check above means something)
        assert _mountinfo_line(inside, "/mnt/sub").split(" - ")[1].split()[:2] == ["tmpfs", "isc-ctmp"]
        assert _tags(_mountinfo_line(inside, "/")) == tags, inside
        seen = [l for l in inside.splitlines() if l.split()[4] == "/mnt/hostmnt"]
        r = runtime("exec", b.id, "/bin/payload", "ls", "/mnt/hostmnt")
        if receives:
            assert seen and r.stdout == "marker\n", inside
        else:
            assert not seen and r.stdout == "", inside
        assert _host_mounts_under(b.rootfs) == [os.path.join(mnt, "hostmnt")]
    finally:
        for m in sorted(helpers.mount_leftovers(b.rootfs), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)


def test_host_device_nodes_untouched(runtime, bundle):
    # containers bind the host's /dev/null etc. in a user namespace: their
    # owner and mode on the host must never change
    nodes = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]
    before = {n: os.stat(n) for n in nodes}
    b = bundle("write", "/dev/null", "x")
    runtime.run_ok(b)
    for n in nodes:
        st = os.stat(n)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (before[n].st_uid, before[n].st_gid, stat.S_IMODE(before[n].st_mode)), n
        assert st.st_uid == 0, n


@pytest.mark.isc_only
@pytest.mark.parametrize("dest,text", [("/proc", "only a proc filesystem"),
                                       ("/proc/sys/kernel", "inside /proc")])
def test_bind_over_proc_refused(runtime, bundle, dest, text):
    b = bundle("true")
    b.config["mounts"].append({"destination": dest, "type": "bind", "source": "/tmp",
                               "options": ["rbind", "ro"]})
    r = runtime.run(b)
    assert r.returncode != 0
    assert text in r.stderr, r.stderr


def test_lxcfs_style_proc_file_bind_allowed(runtime, bundle):
    b = bundle("cat", "/proc/uptime")
    # in the bundle: the container's root (host uid 100000) can reach it
    src = os.path.join(b.path, "uptime")
    with open(src, "w") as f:
        f.write("12345.00 0.00\n")
    os.chmod(src, 0o644)
    b.config["mounts"].append({"destination": "/proc/uptime", "type": "bind", "source": str(src),
                               "options": ["bind", "ro"]})
    assert runtime.run_ok(b).startswith("12345.00")


@pytest.mark.isc_only
@pytest.mark.parametrize("flags", [["--systemd-cgroup"], ["--cgroup-manager", "systemd"]])
def test_systemd_cgroup_manager_refused_clearly(runtime, flags):
    r = runtime(*flags, "list")
    assert r.returncode != 0
    if not os.path.exists("/run/systemd/system"):
        assert "systemd is not running" in r.stderr, r.stderr


@pytest.mark.isc_only
def test_unknown_cgroup_manager_refused(runtime):
    r = runtime("--cgroup-manager", "bogus", "list")
    assert r.returncode != 0
    assert "--cgroup-manager" in r.stderr


@pytest.mark.isc_only
@pytest.mark.parametrize("manager", ["cgroupfs", "disabled"])
def test_cgroup_manager_disabled_runs_without_cgroups(runtime, bundle, manager):
    # podman --cgroups=disabled passes --cgroup-manager disabled
    b = bundle("sleep", "30")
    b.write()
    r = runtime("--cgroup-manager", manager, "create", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    rel = b.config["linux"]["cgroupsPath"].strip("/")
    own = [l.split(":", 2)[2] for l in open("/proc/self/cgroup").read().splitlines()
           if l.split(":")[1] == "pids"][0]
    group = os.path.join("/sys/fs/cgroup/pids", own.strip("/"), rel)
    assert os.path.isdir(group) == (manager == "cgroupfs"), group
    assert runtime("delete", "--force", b.id).returncode == 0


def _sig_masks(text):
    return dict(l.split(":")[0:2] for l in text.split("\n") if l.startswith(("SigIgn:", "SigBlk:")))


def _run_with_caller_signals(cmd, out=None):
    """Run cmd with SIGHUP and SIGPIPE ignored and SIGUSR1 blocked, as a
    daemon or a shell pipeline might hand them down.  `out`: a file for
    stdout (a detached container keeps its stdio)."""
    import signal

    def pre():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    if out is None:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, preexec_fn=pre,
                              stdin=subprocess.DEVNULL)
    with open(out, "ab") as f:
        return subprocess.run(cmd, stdout=f, stderr=f, timeout=60, preexec_fn=pre,
                              stdin=subprocess.DEVNULL)


def test_program_starts_with_default_signals(runtime, busybox_bundle):
    """An ignored disposition and the blocked mask survive execve: the
    runtime (which ignores SIGPIPE itself) must hand the container's program
    neither, in run and in exec (`yes | head` would print "Broken pipe")."""
    probe = ["/bin/grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status"]
    clean = {"SigIgn": "\t0000000000000000", "SigBlk": "\t0000000000000000"}
    # control: the caller's ignored signals do reach a plain child
    r = _run_with_caller_signals(["grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status"])
    assert _masks_nonzero(r.stdout), r.stdout
    cmd = [runtime.path, "--root", runtime.root]
    b = busybox_bundle(*probe)
    b.write()
    runtime.ids.append(b.id)
    r = _run_with_caller_signals(cmd + ["run", "--bundle", b.path, b.id], out=b.out_path)
    assert r.returncode == 0, b.output()
    assert _sig_masks(b.output()) == clean
    b = busybox_bundle("/bin/sleep", "60")
    b.write()
    runtime.ids.append(b.id)
    r = _run_with_caller_signals(cmd + ["run", "--detach", "--bundle", b.path, b.id], out=b.out_path)
    assert r.returncode == 0, b.output()
    r = _run_with_caller_signals(cmd + ["exec", b.id] + probe)
    assert r.returncode == 0, r.stderr
    assert _sig_masks(r.stdout) == clean
    assert runtime.delete(b.id, force=True).returncode == 0


def _masks_nonzero(text):
    m = _sig_masks(text)
    return m.get("SigIgn", "").strip("\t0") != ""
