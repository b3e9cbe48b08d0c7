# SPDX-License-Identifier: GPL-2.0-or-later
"""The published runc escapes of the family "what the runtime does inside
the container before the container's program runs", as far as this kernel
reproduces them (docs/attacks.md maps each to its test):

  CVE-2024-21626  a host fd leaked into the container, reached through
                  process.cwd /proc/self/fd/N
  CVE-2021-30465  a mount destination that is (or is swapped for) a symlink
                  pointing out of the rootfs
  CVE-2025-31133  maskedPaths bound from a /dev/null swapped for a symlink
  CVE-2025-52565  the /dev/console bind target swapped for a symlink
  CVE-2025-52881  the runtime's procfs writes (sysctls) redirected

The races run a bounded number of times against a swapper (the probe's
swap-loop, run by the test on the host side of a shared directory: the
other container of the original attacks)."""
import array
import os
import signal
import socket
import stat
import subprocess
import threading

import pytest

import helpers
from conftest import install

pytestmark = pytest.mark.no_leak_check

# ---- shared ------------------------------------------------------------------------------


class Swapper:
    """renameat2(RENAME_EXCHANGE) of two names, in a loop, until stopped."""

    def __init__(self, probe, a, b):
        self.proc = subprocess.Popen([probe, "swap-loop", a, b, str(10 ** 9)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def stop(self):
        """Stops the loop; the number of exchanges it made is in the
        kernel's hands only through /proc: the names are checked instead."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def swapper(probe):
    made = []

    def make(a, b):
        s = Swapper(probe, a, b)
        made.append(s)
        return s
    yield make
    for s in made:
        s.stop()


def _no_userns(b):
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]


def _dev_from(b, d):
    """/dev of the container: a bind of host directory `d` (which another
    container could share) instead of the config's tmpfs."""
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    b.config["mounts"].insert(1, {"destination": "/dev", "type": "bind", "source": d,
                                  "options": ["rbind", "rw"]})


def _mountinfo(pid):
    with open("/proc/%d/mountinfo" % pid) as f:
        return [ln.split() for ln in f]


def _untouched(path, before):
    return sorted(os.listdir(path)) == before


# ---- CVE-2024-21626: leaked fds, process.cwd /proc/self/fd/N --------------------------------

def _fds(out):
    return sorted(int(ln.split()[1]) for ln in out.splitlines() if ln.startswith("FD "))


@pytest.mark.parametrize("how", ["run", "exec"])
def test_no_host_fd_at_execve(runtime, bundle, probe, how):
    """CVE-2024-21626: the container's program starts with stdio only."""
    b = bundle("sleep", "600")
    install(b.rootfs, probe, "probe")
    if how == "run":
        b.set_args("/bin/probe", "fds")
        out = runtime.run_ok(b)
    else:
        assert runtime.run(b, detach=True).returncode == 0
        r = runtime("exec", b.id, "/bin/probe", "fds")
        assert r.returncode == 0, r.stderr
        out = r.stdout
    assert _fds(out) == [0, 1, 2], out


def _judge_cwd(r, n, flag):
    """Refused (naming the cwd), or a cwd from which ".." never leaves the
    container's root."""
    if r.returncode != 0:
        assert ('%s "/proc/self/fd/%d"' % (flag, n)) in r.stderr or \
            ("/proc/self/fd/%d" % n) in r.stderr, r.stderr
        return "refused"
    kv = dict(ln.split(" ", 1) for ln in r.stdout.splitlines() if " " in ln)
    assert "ROOT-INO" in kv and "UP-INO" in kv, r.stdout
    assert kv["UP-INO"] == kv["ROOT-INO"], "cwd /proc/self/fd/%d is outside the container:\n%s" % (
        n, r.stdout)
    return "inside"


@pytest.mark.parametrize("userns", [False, True], ids=["host-userns", "userns"])
@pytest.mark.parametrize("n", range(3, 13))
def test_cwd_through_a_leaked_fd_run(runtime, bundle, probe, n, userns):
    """CVE-2024-21626 (run): process.cwd /proc/self/fd/N for every N a
    runtime could hold at the chdir.  In the host's user namespace (runc's
    case) a leaked directory fd of the runtime's state would be entered;
    in a user namespace its mode alone keeps the container out."""
    b = bundle("true")
    if not userns:
        _no_userns(b)
    b.process["cwd"] = "/proc/self/fd/%d" % n
    r = runtime.create(b)
    if r.returncode != 0:
        assert ('process.cwd "/proc/self/fd/%d"' % n) in r.stderr, r.stderr
        return
    # created: the init chdir'd and waits for start (its cwd stays through
    # the execve); ".." from there must end at the container's root
    pid = runtime.state(b.id)["pid"]
    up = os.stat("/proc/%d/cwd/%s" % (pid, "../" * 64))
    root = os.stat("/proc/%d/root/" % pid)
    assert (up.st_dev, up.st_ino) == (root.st_dev, root.st_ino), \
        "cwd /proc/self/fd/%d is outside the container: %s" % (n, os.readlink("/proc/%d/cwd" % pid))


@pytest.mark.parametrize("userns", [False, True], ids=["host-userns", "userns"])
@pytest.mark.parametrize("n", range(3, 13))
def test_cwd_through_a_leaked_fd_exec(runtime, bundle, probe, n, userns):
    """CVE-2024-21626 (exec --cwd)."""
    b = bundle("sleep", "600")
    install(b.rootfs, probe, "probe")
    if not userns:
        _no_userns(b)
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime("exec", "--cwd", "/proc/self/fd/%d" % n, b.id, "/bin/probe", "cwd")
    _judge_cwd(r, n, "process.cwd")


def test_cwd_control(runtime, bundle, probe):
    """Control for the two above: the probe tells a cwd inside from the
    root ("/" and "/.." walked up agree), and names the cwd."""
    b = bundle("true")
    install(b.rootfs, probe, "probe")
    b.set_args("/bin/probe", "cwd")
    b.process["cwd"] = "/bin"
    out = runtime.run_ok(b)
    assert "CWD /bin\n" in out
    kv = dict(ln.split(" ", 1) for ln in out.splitlines())
    assert kv["UP-INO"] == kv["ROOT-INO"]


# ---- CVE-2021-30465: mount destinations through symlinks ------------------------------------

MARK_OPTS = ["size=64k", "mode=711"]  # how the test's tmpfs mounts show in mountinfo
N_MOUNTS = 8
RACE_CREATES = 12


def _marker_mounts(pid):
    return [f[4] for f in _mountinfo(pid) if "tmpfs" in f and "size=64k" in f[-1] and "mode=711" in f[-1]]


def _volume(test_dir):
    vol = os.path.join(test_dir, "vol")
    outside = os.path.join(test_dir, "outside")  # a host directory outside the rootfs
    os.makedirs(outside)
    with open(os.path.join(outside, "host-file"), "w") as f:
        f.write("host\n")
    os.makedirs(os.path.join(vol, "a"))
    for i in range(N_MOUNTS):
        os.makedirs(os.path.join(vol, "a", "m%d" % i))
        os.makedirs(os.path.join(outside, "m%d" % i))
    os.symlink(outside, os.path.join(vol, "b"))  # absolute: on the host it leaves the rootfs
    os.chmod(vol, 0o755)
    return vol, outside


def _symlink_bundle(bundle, vol, outside):
    """No tmpfs on /tmp (the symlink's target, taken inside the rootfs,
    lies under /tmp): the same directories exist inside the rootfs."""
    b = bundle("sleep", "600")
    _no_userns(b)  # the runtime as the host's root, as in the original attack
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/tmp"]
    for i in range(N_MOUNTS):
        os.makedirs(b.rootfs + outside + "/m%d" % i)
    b.add_mount("/vol", vol)
    return b


def test_mount_destination_through_a_symlink(runtime, bundle, test_dir):
    """CVE-2021-30465, without a race: a destination whose path goes
    through a symlink to a host path is resolved inside the rootfs."""
    vol, outside = _volume(test_dir)
    before = sorted(os.listdir(outside))
    b = _symlink_bundle(bundle, vol, outside)
    b.add_mount("/vol/b/static", "tmpfs", "tmpfs", MARK_OPTS)
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    got = _marker_mounts(runtime.state(b.id)["pid"])
    # the symlink's target, taken inside the container's root
    assert got == [outside + "/static"], got
    assert _untouched(outside, before), "the runtime wrote into the host directory"


@pytest.mark.pass_normal  # a race: at the shipped build's speed, once
def test_mount_destination_symlink_exchange(runtime, bundle, test_dir, swapper):
    """CVE-2021-30465: while another container swaps a directory of a
    shared volume with a symlink to a host directory, every mount of the
    config lands in the container (none is lost outside the rootfs, which
    the pivot would detach) and nothing is made on the host side."""
    vol, outside = _volume(test_dir)
    before = sorted(os.listdir(outside))
    s = swapper(os.path.join(vol, "a"), os.path.join(vol, "b"))
    created = 0
    try:
        for k in range(RACE_CREATES):
            b = _symlink_bundle(bundle, vol, outside)
            for i in range(N_MOUNTS):
                b.add_mount("/vol/a/m%d" % i, "tmpfs", "tmpfs", MARK_OPTS)
            r = runtime.create(b)
            if r.returncode != 0:
                continue  # refused: a resolution met the exchange half-way
            created += 1
            got = _marker_mounts(runtime.state(b.id)["pid"])
            assert len(got) == N_MOUNTS, "a mount left the container: %s" % got
            for mp in got:
                # the swap may have renamed a mount point's directory since
                assert mp[:8] in ("/vol/a/m", "/vol/b/m") or mp.startswith(outside + "/m"), mp
            assert runtime.delete(b.id, force=True).returncode == 0
    finally:
        s.stop()
    assert created > 0, "no create succeeded"
    assert _untouched(outside, before)
    for i in range(N_MOUNTS):
        assert os.listdir(os.path.join(outside, "m%d" % i)) == []


# tmpcopyup (review 3, R4): the copy goes into the tmpfs just made, never to
# what the destination's name leads to after the mount

COPYUP_OPTS = ["tmpcopyup", "nosuid", "size=128k"]  # size=128k: the test's mark in mountinfo
COPYUP_CREATES = 40


def _copyup_mounts(pid):
    return [f[4] for f in _mountinfo(pid) if f[f.index("-") + 1] == "tmpfs" and "size=128k" in f[-1]]


def _copyup_volumes(test_dir):
    """victim: a tenant's private volume (0700, "keep"); share: a volume it
    shares with the attacker, who owns "cache" (0777, a setuid "pwned")
    and the symlink "link" -> /secret (where the victim's volume is)."""
    victim = os.path.join(test_dir, "victim")
    share = os.path.join(test_dir, "share")
    os.makedirs(victim)
    os.chmod(victim, 0o700)
    with open(os.path.join(victim, "keep"), "w") as f:
        f.write("victim\n")
    os.makedirs(os.path.join(share, "cache"))
    os.chmod(os.path.join(share, "cache"), 0o777)
    pwned = os.path.join(share, "cache", "pwned")
    with open(pwned, "w") as f:
        f.write("attacker\n")
    os.chmod(pwned, 0o4755)
    os.symlink("/secret", os.path.join(share, "link"))
    os.chmod(share, 0o755)
    return victim, share


def _copyup_bundle(bundle, victim, share):
    b = bundle("sleep", "600")
    _no_userns(b)  # the runtime as the host's root
    b.add_mount("/secret", victim)
    b.add_mount("/data", share)
    b.add_mount("/data/cache", "tmpfs", "tmpfs", COPYUP_OPTS)
    return b


def _tree(path):
    """Names, modes and contents below `path` (not following symlinks)."""
    out = {}
    for n in sorted(os.listdir(path)):
        p = os.path.join(path, n)
        st = os.lstat(p)
        data = os.readlink(p) if stat.S_ISLNK(st.st_mode) else (open(p).read() if stat.S_ISREG(st.st_mode) else "")
        out[n] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), data)
    return out


def _held(path):
    """The directory `path` names now, held by fd: "/proc/self/fd/N" leads
    to it under whichever name the swap leaves it."""
    return "/proc/self/fd/%d" % os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def test_tmpcopyup_lands_in_the_tmpfs(runtime, bundle, test_dir):
    """Control of the race below: without a swap the covered directory's
    content (the setuid file with its mode) is in the container's tmpfs at
    /data/cache, the tmpfs root has the directory's mode, and neither host
    directory changed."""
    victim, share = _copyup_volumes(test_dir)
    v0, s0 = _tree(victim), _tree(os.path.join(share, "cache"))
    b = _copyup_bundle(bundle, victim, share)
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]
    assert _copyup_mounts(pid) == ["/data/cache"]
    inside = "/proc/%d/root/data/cache" % pid
    assert os.stat(inside).st_dev != os.stat(os.path.join(share, "cache")).st_dev
    assert _tree(inside) == s0
    assert stat.S_IMODE(os.stat(inside).st_mode) == 0o777
    assert _tree(victim) == v0 and stat.S_IMODE(os.stat(victim).st_mode) == 0o700
    assert _tree(os.path.join(share, "cache")) == s0


@pytest.mark.isc_only
def test_fsmount_keeps_options_and_messages(runtime, bundle, test_dir):
    """The filesystems made detached (fsopen/fsconfig/fsmount) get what
    mount(2) gave: mount flags, data, a read-only tmpcopyup (read-only
    after the copy); a bad option is refused with the mount named and the
    filesystem's own reason."""
    b = bundle("true")
    _no_userns(b)
    b.add_mount("/m", "tmpfs", "tmpfs", ["size=bogus"])
    r = runtime.run(b)
    assert r.returncode == 1, r
    assert "mount tmpfs to /m (tmpfs: Bad value for 'size'): Invalid argument" in r.stderr, r.stderr
    b = bundle("sleep", "600")
    _no_userns(b)
    os.makedirs(os.path.join(b.rootfs, "cu"))
    with open(os.path.join(b.rootfs, "cu", "f"), "w") as f:
        f.write("image\n")
    b.add_mount("/cu", "tmpfs", "tmpfs", ["tmpcopyup", "ro", "nosuid", "noexec", "mode=700", "size=128k"])
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]
    mi = [f for f in _mountinfo(pid) if f[4] == "/cu"]
    assert len(mi) == 1 and mi[0][5].split(",")[:3] == ["ro", "nosuid", "noexec"], mi
    assert "mode=700" in mi[0][-1] and "size=128k" in mi[0][-1], mi
    with open("/proc/%d/root/cu/f" % pid) as f:
        assert f.read() == "image\n"


@pytest.mark.isc_only
def test_tmpcopyup_through_a_symlink_in_the_covered_dir(runtime, bundle, test_dir):
    """Deterministic form of the race below: the destination "/t/self" is
    a symlink inside the directory it resolves to (/t/self -> /t), so after
    the tmpfs covers /t that name leads nowhere (the new tmpfs is empty
    until the copy): a runtime that looks the destination up again after
    the mount fails here (ENOENT); one that copies into the mount it made
    copies /t, symlink included, into the tmpfs on /t."""
    b = bundle("sleep", "600")
    _no_userns(b)
    t = os.path.join(b.rootfs, "t")
    os.makedirs(t)
    os.chmod(t, 0o750)
    with open(os.path.join(t, "file"), "w") as f:
        f.write("image\n")
    os.symlink("/t", os.path.join(t, "self"))
    b.add_mount("/t/self", "tmpfs", "tmpfs", COPYUP_OPTS)
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]
    assert _copyup_mounts(pid) == ["/t"]
    inside = "/proc/%d/root/t" % pid
    assert os.stat(inside).st_dev != os.stat(t).st_dev
    assert _tree(inside) == _tree(t)
    assert stat.S_IMODE(os.stat(inside).st_mode) == 0o750


@pytest.mark.isc_only
@pytest.mark.pass_normal  # a race: at the shipped build's speed, once
def test_tmpcopyup_symlink_exchange(runtime, bundle, test_dir, swapper):
    """Review 3 R4: while another tenant swaps its directory "cache" of a
    shared volume with a symlink to where the victim's private volume is
    mounted, the victim's creates copy into their own tmpfs only: the
    victim's volume is never written or chmod'ed (the attacker's setuid
    file never lands in it) and its file is never copied into the shared
    volume.  Every create that succeeds has its one tmpfs, wherever the
    swap sent the mount (the control above checks the content)."""
    victim, share = _copyup_volumes(test_dir)
    v0, s0 = _tree(victim), _tree(os.path.join(share, "cache"))
    cache = _held(os.path.join(share, "cache"))
    s = swapper(os.path.join(share, "cache"), os.path.join(share, "link"))
    created = 0
    try:
        for k in range(COPYUP_CREATES):
            b = _copyup_bundle(bundle, victim, share)
            r = runtime.create(b)
            if r.returncode == 0:
                created += 1
                got = _copyup_mounts(runtime.state(b.id)["pid"])
                assert len(got) == 1 and got[0] in ("/data/cache", "/data/link", "/secret"), got
                assert runtime.delete(b.id, force=True).returncode == 0
            assert _tree(victim) == v0, "the victim's volume changed at create %d" % k
            assert stat.S_IMODE(os.stat(victim).st_mode) == 0o700, "victim chmod'ed at create %d" % k
            assert _tree(cache) == s0, "the shared volume changed at create %d" % k
            assert stat.S_IMODE(os.stat(cache).st_mode) == 0o777, "shared dir chmod'ed at create %d" % k
    finally:
        s.stop()
        os.close(int(cache.rsplit("/", 1)[1]))
    assert created > 0, "no create succeeded"

@pytest.mark.isc_only
@pytest.mark.pass_normal  # a race: at the shipped build's speed, once
def test_tmpcopyup_file_swapped_for_a_fifo(runtime, bundle, test_dir, swapper):
    """Review 4 R4-1: while another tenant swaps a regular file of the shared
    covered directory with a fifo, no create hangs: the copy opens only what
    it stat'ed (without blocking, the same inode) and a swapped entry fails
    that create, named; an open of the fifo by name would wait for a writer
    forever (the create's bound turns that into a failure here)."""
    victim, share = _copyup_volumes(test_dir)
    cache = os.path.join(share, "cache")
    with open(os.path.join(cache, "f"), "w") as f:
        f.write("regular\n")
    os.mkfifo(os.path.join(cache, "p"))
    s = swapper(os.path.join(cache, "f"), os.path.join(cache, "p"))
    outcomes = set()
    try:
        for k in range(COPYUP_CREATES):
            b = _copyup_bundle(bundle, victim, share)
            try:
                r = runtime.create(b, timeout=120)
            except subprocess.TimeoutExpired:
                pytest.fail("create %d hung (the copy opened a fifo swapped in by name)" % k)
            if r.returncode == 0:
                outcomes.add("created")
                assert runtime.delete(b.id, force=True).returncode == 0
            else:
                err = open(b.err_path).read()
                assert "tmpcopyup: Stale file handle" in err, err
                outcomes.add("refused")
    finally:
        s.stop()
    assert "created" in outcomes, outcomes


CG_OPTS = ["nosuid", "nodev", "noexec"]


def _cgroup_mounts(pid, outside):
    """Mount points of the test's cgroup mounts (cgroup2, or the v1 tmpfs
    holding the hierarchies: the outermost, by parent mount id, as the
    paths shown may change under a swap) under the shared volume or the
    host directory's copy in the rootfs."""
    ours = [f for f in _mountinfo(pid)
            if f[f.index("-") + 1] in ("cgroup", "cgroup2", "tmpfs") and f[4].startswith(("/vol/", outside))]
    ids = {f[0] for f in ours}
    return [f[4] for f in ours if f[1] not in ids]


def test_cgroup_destination_through_a_symlink(runtime, bundle, test_dir):
    """CVE-2021-30465 for the cgroup mount (review2 N7), without a race: a
    destination through a symlink to a host path lands inside the rootfs."""
    vol, outside = _volume(test_dir)
    before = sorted(os.listdir(outside))
    b = _symlink_bundle(bundle, vol, outside)
    b.add_mount("/vol/b/static", "cgroup", "cgroup", CG_OPTS)
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    got = _cgroup_mounts(runtime.state(b.id)["pid"], outside)
    assert got == [outside + "/static"], got
    assert _untouched(outside, before), "the runtime wrote into the host directory"


@pytest.mark.pass_normal  # a race: at the shipped build's speed, once
def test_cgroup_destination_symlink_exchange(runtime, bundle, test_dir, swapper):
    """CVE-2021-30465 for the cgroup mount (review2 N7): the cgroup mounts
    target the fd resolved inside the rootfs, never its path walked again,
    so while another container swaps a directory of a shared volume with
    a symlink to a host directory, every cgroup mount lands in the
    container (a path walked again after the swap mounts on the host
    side, in the init's namespace: lost from the container at pivot_root)."""
    vol, outside = _volume(test_dir)
    before = sorted(os.listdir(outside))
    s = swapper(os.path.join(vol, "a"), os.path.join(vol, "b"))
    created = 0
    try:
        for k in range(RACE_CREATES):
            b = _symlink_bundle(bundle, vol, outside)
            for i in range(N_MOUNTS):
                b.add_mount("/vol/a/m%d" % i, "cgroup", "cgroup", CG_OPTS)
            r = runtime.create(b)
            if r.returncode != 0:
                continue  # refused: a resolution met the exchange half-way
            created += 1
            got = _cgroup_mounts(runtime.state(b.id)["pid"], outside)
            assert len(got) == N_MOUNTS, "a cgroup mount left the container: %s" % got
            assert runtime.delete(b.id, force=True).returncode == 0
    finally:
        s.stop()
    assert created > 0, "no create succeeded"
    assert _untouched(outside, before)
    for i in range(N_MOUNTS):
        assert os.listdir(os.path.join(outside, "m%d" % i)) == []


# ---- CVE-2025-31133: maskedPaths from a swapped /dev/null ----------------------------------

N_MASKS = 16
MASK_CREATES = 12  # creates with the masks in place (of at most 60)


def _masked_bundle(bundle, probe, devdir):
    b = bundle("sleep", "600")
    install(b.rootfs, probe, "probe")
    _no_userns(b)
    _dev_from(b, devdir)
    etc = os.path.join(b.rootfs, "etc")
    for i in range(N_MASKS):
        with open(os.path.join(etc, "secret%d" % i), "w") as f:
            f.write("SECRET\n")
    b.linux["maskedPaths"] = ["/etc/secret%d" % i for i in range(N_MASKS)]
    b.linux["readonlyPaths"] = []
    return b


def _devdir(test_dir):
    d = os.path.join(test_dir, "dev")
    os.makedirs(d)
    os.mknod(os.path.join(d, "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    # what the other container swaps in: /dev/null -> a file of the container
    os.symlink("/bin/probe", os.path.join(d, "nullsym"))
    return d


def _mask_is_null(pid, path):
    st = os.stat("/proc/%d/root%s" % (pid, path))
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


def test_masked_path_source_is_a_symlink(runtime, bundle, probe, test_dir):
    """CVE-2025-31133 without a race: /dev/null is a symlink: refused."""
    d = _devdir(test_dir)
    os.rename(os.path.join(d, "nullsym"), os.path.join(d, "null"))
    b = _masked_bundle(bundle, probe, d)
    r = runtime.create(b)
    assert r.returncode == 1, r
    assert "masked paths: /dev/null is not the null device" in r.stderr, r.stderr


@pytest.mark.isc_only
@pytest.mark.pass_normal  # a race: at the shipped build's speed, once
def test_masked_path_source_swapped(runtime, bundle, probe, test_dir, swapper):
    """CVE-2025-31133: /dev/null swapped with a symlink while the masks are
    made: every mask is the null device, or the create is refused."""
    d = _devdir(test_dir)
    s = swapper(os.path.join(d, "null"), os.path.join(d, "nullsym"))
    created = refused = 0
    try:
        for k in range(60):
            if created >= MASK_CREATES:
                break
            b = _masked_bundle(bundle, probe, d)
            r = runtime.create(b)
            if r.returncode != 0:
                assert "/dev/null" in r.stderr, r.stderr
                refused += 1
                continue
            created += 1
            pid = runtime.state(b.id)["pid"]
            bad = [p for p in b.linux["maskedPaths"] if not _mask_is_null(pid, p)]
            assert bad == [], "masked by something else than the null device: %s" % bad
            assert runtime.delete(b.id, force=True).returncode == 0
    finally:
        s.stop()
    assert created > 0, "no create succeeded (%d refused)" % refused


# ---- CVE-2025-52565: /dev/console bind target ---------------------------------------------

class ConsoleSocket:
    """--console-socket: accepts one connection and keeps the fd it gets."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(20)
        self.fds = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            fds = array.array("i")
            _msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(4 * fds.itemsize))
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
            self.fds.extend(fds)

    def close(self):
        self.sock.close()
        for fd in self.fds:
            os.close(fd)
        os.unlink(self.path)


def _console_bundle(bundle, probe, devdir):
    b = bundle("sleep", "600")
    install(b.rootfs, probe, "probe")
    _no_userns(b)
    _dev_from(b, devdir)
    b.process["terminal"] = True
    with open(os.path.join(b.rootfs, "victim"), "w") as f:
        f.write("VICTIM\n")
    return b


def _create_with_console(runtime, b, n):
    cs = ConsoleSocket(os.path.join(runtime.workdir, "console-%d.sock" % n))
    try:
        b.write()
        return runtime("create", "--bundle", b.path, "--console-socket", cs.path, b.id,
                       out=b.out_path, err=b.err_path)
    finally:
        cs.close()


def _victim_intact(pid):
    st = os.stat("/proc/%d/root/victim" % pid)
    return stat.S_ISREG(st.st_mode) and st.st_size == len("VICTIM\n")


def test_console_target_is_a_symlink(runtime, bundle, probe, test_dir):
    """CVE-2025-52565 without a race: /dev/console is a symlink to a file
    of the container: refused, the file untouched."""
    d = os.path.join(test_dir, "dev")
    os.makedirs(d)
    os.symlink("/victim", os.path.join(d, "console"))
    b = _console_bundle(bundle, probe, d)
    r = _create_with_console(runtime, b, 0)
    assert r.returncode == 1, r
    assert "terminal: /dev/console is neither a file nor a device" in r.stderr, r.stderr
    with open(os.path.join(b.rootfs, "victim")) as f:
        assert f.read() == "VICTIM\n"


@pytest.mark.pass_normal  # a race: at the shipped build's speed, once
def test_console_target_swapped(runtime, bundle, probe, test_dir, swapper):
    """CVE-2025-52565: /dev/console swapped with a symlink while the pty is
    bound: the victim is never the pty, or the create is refused."""
    d = os.path.join(test_dir, "dev")
    os.makedirs(d)
    open(os.path.join(d, "console"), "w").close()
    os.symlink("/victim", os.path.join(d, "consym"))
    s = swapper(os.path.join(d, "console"), os.path.join(d, "consym"))
    created = 0
    try:
        for k in range(30):
            if created >= 6:
                break
            b = _console_bundle(bundle, probe, d)
            r = _create_with_console(runtime, b, k)
            if r.returncode != 0:
                assert "/dev/console" in r.stderr, r.stderr
                continue
            created += 1
            assert _victim_intact(runtime.state(b.id)["pid"]), "the pty was bound over /victim"
            assert runtime.delete(b.id, force=True).returncode == 0
    finally:
        s.stop()
    assert created > 0, "no create succeeded"


# ---- CVE-2025-52881: the runtime's procfs writes -------------------------------------------

@pytest.mark.isc_only
def test_sysctl_write_stays_in_procfs(runtime, bundle, test_dir):
    """A file bound over /proc/sys/... (one of the few destinations inside
    /proc a config may use) must not receive the runtime's sysctl write."""
    host_file = os.path.join(test_dir, "ns_last_pid")
    with open(host_file, "w") as f:
        f.write("untouched\n")
    b = bundle("true")
    _no_userns(b)  # in a user namespace the host file's mode alone refuses the write
    b.add_mount("/proc/sys/kernel/ns_last_pid", host_file, "bind", ["bind", "rw"])
    b.linux["sysctl"] = {"kernel.ns_last_pid": "4242"}
    r = runtime.create(b)
    assert r.returncode == 1, r
    # two layers: the sysctl is refused by name before anything is made (it
    # is not the container's own); behind that, the runtime writes a sysctl
    # only into a file of the container's own procfs
    assert r.stderr == ('isc-runtime: %s: linux.sysctl "kernel.ns_last_pid": not a namespaced sysctl: it '
                        "would change the host's kernel\n" % os.path.join(b.path, "config.json")), r.stderr
    with open(host_file) as f:
        assert f.read() == "untouched\n"
