# SPDX-License-Identifier: GPL-2.0-or-later
"""The construction kit: `isc --lab NAME init` / `deinit` (src/lib/host/host.c),
id ranges and idmapped mounts as a service sees them, and `isc exec`.

Every test works in a lab of its own (labhost.py), removed at teardown with
a check that nothing is left.  Never runs init without --lab.

exec is tested against two kinds of target: a container that isc-runtime
created directly in the lab's R/runtime (what iscd does underneath; needs
no iscd) and a real service started with `isc run -d` (needs iscd).
"""
import json
import os
import pty
import select
import stat
import subprocess
import time

import pytest

import helpers
from helpers import REPO
from labhost import (ISC, ISCD, SEALED_EXE, LabHost, pid_is_iscd, bare_lab, busybox_rootfs, lab_host, mounts_under,  # noqa: F401
                     pid_alive, unique_name)

pytestmark = pytest.mark.pass_sanitizers

RUNTIME = os.path.join(REPO, "build", "src", "runtime", "isc-runtime")
IDRANGE_TABLE = "/var/lib/isc/.idranges.json"
IDRANGE_FIRST = 1 << 30
IDRANGE_SIZE = 65536


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _says(stderr, message):
    """stderr is exactly this one line, or (a refused command line) this
    line then the verb's usage."""
    return stderr == message + "\n" or stderr.startswith(message + "\nUsage: isc ")


def idrange_roots():
    try:
        with open(IDRANGE_TABLE) as f:
            return [(r["root"], r["name"], r["base"]) for r in json.load(f)["ranges"]]
    except FileNotFoundError:
        return []


# ---- init ------------------------------------------------------------------------

def test_init_builds_the_host(bare_lab):
    lab = bare_lab
    r = lab.init()
    assert "ISC host" in r.stdout
    for p in lab.netns_paths():
        assert os.path.exists(p), p
    # the layout and its modes (host.h)
    expected = {"": 0o711, "containers": 0o711, "images": 0o700, "log": 0o700, "runtime": 0o700,
                "net": 0o700, "audit": 0o700}
    for rel, m in expected.items():
        p = lab.path(rel) if rel else lab.root
        assert os.path.isdir(p), p
        assert mode(p) == m, "%s: %o, not %o" % (p, mode(p), m)
        assert os.stat(p).st_uid == 0
    assert mode(lab.path("host.json")) == 0o600
    h = lab.host_json()
    assert h["uplink"] == "uplink0"
    assert h["subnet"] == "10.213.0.0/16"
    assert h["ssh_port"] == 22
    assert h["confirm"] is False
    assert h["confirm_timeout"] == 60
    assert h["version"] and h["created"].endswith("Z")
    # iscd runs, from the build tree, with a root-only socket
    pid = lab.iscd_pid()
    assert pid > 0 and pid_alive(pid)
    # the built iscd, or the sealed copy of it that iscd re-executes from
    # (a read-only view of the same file, or a memfd: exeseal.c)
    assert pid_is_iscd(pid)
    exe = os.readlink("/proc/%d/exe" % pid)
    assert exe.startswith(SEALED_EXE) or os.path.basename(exe) == "iscd", exe
    sock = os.lstat(lab.path("iscd.sock"))
    assert stat.S_ISSOCK(sock.st_mode)
    assert stat.S_IMODE(sock.st_mode) == 0o600
    # iscd lives in the lab's host network namespace, not in ours
    assert os.readlink("/proc/%d/ns/net" % pid) != os.readlink("/proc/self/ns/net")
    host_ns = os.stat(lab.netns_paths()[0])
    iscd_ns = os.stat("/proc/%d/ns/net" % pid)
    assert (host_ns.st_dev, host_ns.st_ino) == (iscd_ns.st_dev, iscd_ns.st_ino)


def test_second_init_is_a_noop(bare_lab):
    lab = bare_lab
    lab.init()
    before = read_bytes(lab.path("host.json"))
    pid = lab.iscd_pid()
    lab.init()
    assert read_bytes(lab.path("host.json")) == before
    assert lab.iscd_pid() == pid and pid_alive(pid)


def test_second_init_restarts_a_dead_iscd(bare_lab):
    lab = bare_lab
    lab.init()
    pid = lab.iscd_pid()
    os.kill(pid, 15)
    helpers.wait_for(lambda: not pid_alive(pid), timeout=10, what="iscd to exit")
    lab.init()
    new = lab.iscd_pid()
    assert new != pid and pid_alive(new)


@pytest.mark.parametrize("flags,setting", [
    (["--subnet", "10.99.0.0/16"], "--subnet (recorded: 10.213.0.0/16, asked: 10.99.0.0/16)"),
    (["--ssh-port", "2222"], "--ssh-port (recorded: 22, asked: 2222)"),
    (["--confirm-timeout", "30"], "--confirm-timeout (recorded: 60, asked: 30)"),
    (["--audit-keep", "3"], "--audit-keep (recorded: 0, asked: 3)"),
    (["--audit-rotate", "2m"], "--audit-rotate (recorded: 67108864, asked: 2097152)"),
])
def test_init_with_other_settings_changes_nothing(bare_lab, flags, setting):
    lab = bare_lab
    lab.init()
    before = read_bytes(lab.path("host.json"))
    listing = sorted(os.listdir(lab.root))
    pid = lab.iscd_pid()
    r = lab.init(*flags, check=False)
    assert (r.returncode, r.stderr) == (1, "isc: isc init: %s is already an ISC host with other settings: %s; "
                                        "nothing changed (isc deinit first to change it): File exists\n"
                                        % (lab.root, setting)), r.stderr
    assert read_bytes(lab.path("host.json")) == before
    assert sorted(os.listdir(lab.root)) == listing
    assert lab.iscd_pid() == pid and pid_alive(pid)


def test_audit_rotation_and_retention_are_configurable(bare_lab):
    lab = bare_lab
    lab.init("--audit-rotate", "1m", "--audit-keep", "2", "--audit-epoch", "60")
    assert lab.host_json()["audit"] == {"epoch_seconds": 60, "rotate_bytes": 1 << 20, "keep_files": 2}
    with open(lab.path("audit", "trail.jsonl")) as f:
        start = json.loads(f.readline())
    assert start["type"] == "trail-start"
    assert (start["epoch_seconds"], start["rotate_bytes"], start["keep_files"]) == (60, 1 << 20, 2)


def test_init_settings_are_recorded(bare_lab):
    lab = bare_lab
    lab.init("--subnet", "10.77.0.0/16", "--ssh-port", "2200", "--confirm-timeout", "90")
    h = lab.host_json()
    assert (h["subnet"], h["ssh_port"], h["confirm_timeout"]) == ("10.77.0.0/16", 2200, 90)
    lab.init("--subnet", "10.77.0.0/16", "--ssh-port", "2200", "--confirm-timeout", "90")


@pytest.mark.parametrize("flags,status,message", [
    (["--subnet", "10.0.0.0/33"], 1, "isc: --subnet: subnet 10.0.0.0/33: the prefix length must be 8..29"),
    (["--subnet", "banana"], 1, "isc: --subnet: subnet banana: expected A.B.C.D/PREFIX"),
    (["--subnet", "10.1.2.3/16"], 1, "isc: --subnet: subnet 10.1.2.3/16: host bits set (the network address is "
                                     "needed)"),
    (["--ssh-port", "0"], 1, 'isc init: --ssh-port "0": must be a number 1..65535'),
    (["--ssh-port", "70000"], 1, 'isc init: --ssh-port "70000": must be a number 1..65535'),
    (["--confirm-timeout", "x"], 1, 'isc init: --confirm-timeout "x": must be a number 5..3600'),
    (["--audit-epoch", "5"], 1, 'isc init: --audit-epoch "5": must be a number 10..86400'),
    (["--audit-rotate", "1k"], 1, "isc: --audit-rotate 1024: must be 1m..64g"),
    (["--audit-keep", "-1"], 1, 'isc init: --audit-keep "-1": must be a number 0..100000'),
    (["--uplink", "eth9"], 1, "isc init: --uplink eth9: a lab's uplink is uplink0"),
    (["--bogus"], 2, "isc init: unknown or incomplete option --bogus"),
    (["extra"], 2, 'isc init: unexpected argument "extra"'),
])
def test_init_bad_input_creates_nothing(bare_lab, flags, status, message):
    lab = bare_lab
    r = lab.init(*flags, check=False)
    assert (r.returncode, r.stdout) == (status, ""), (r.returncode, r.stderr)
    assert _says(r.stderr, message), r.stderr
    assert lab.leftovers() == []


def test_init_bad_lab_name():
    r = subprocess.run([ISC, "--lab", "../x", "init"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert (r.returncode, r.stderr) == (1, 'isc: --lab / ISC_LAB: "../x" is not a lab name (letters, digits, '
                                        ". _ -, at most 64, not starting with '.')\n")


# ---- deinit ----------------------------------------------------------------------

def test_deinit_removes_everything(bare_lab):
    lab = bare_lab
    lab.init()
    lab.import_busybox()
    pid = lab.iscd_pid()
    assert os.path.isdir(lab.path("images", "sha256"))
    lab.deinit()
    assert lab.leftovers() == []
    assert not pid_alive(pid)
    assert mounts_under(lab.root) == []
    assert all(r[0] != lab.root for r in idrange_roots())
    # twice: nothing to do, still success, nothing created
    lab.deinit()
    assert lab.leftovers() == []


def test_deinit_stops_every_service(bare_lab):
    lab = bare_lab
    lab.init()
    lab.import_busybox()
    start_service(lab, "a")
    start_service(lab, "b")
    pids = []
    for name in ("a", "b"):
        st = subprocess.run([RUNTIME, "--root", lab.path("runtime"), "state", name], capture_output=True,
                            text=True, check=True)
        pids.append(json.loads(st.stdout)["pid"])
    assert all(pid_alive(p) for p in pids)
    assert len(mounts_under(lab.root)) >= 2  # the idmapped rootfs of each
    iscd = lab.iscd_pid()
    lab.deinit()
    assert lab.leftovers() == []
    assert not any(pid_alive(p) for p in pids)
    assert not pid_alive(iscd)
    assert all(r[0] != lab.root for r in idrange_roots())


def test_deinit_of_a_lab_never_initialised(bare_lab):
    lab = bare_lab
    lab.deinit()
    assert lab.leftovers() == []


def test_deinit_without_iscd_cleans_the_runtime(bare_lab):
    lab = bare_lab
    lab.init()
    cid = start_runtime_container(lab)
    pid = lab.iscd_pid()
    os.kill(pid, 9)
    helpers.wait_for(lambda: not pid_alive(pid), timeout=10, what="iscd to die")
    state = json.loads(subprocess.run([RUNTIME, "--root", lab.path("runtime"), "state", cid],
                                      capture_output=True, text=True, check=True).stdout)
    lab.deinit()
    assert lab.leftovers() == []
    assert not pid_alive(state["pid"])


# ---- exec targets ----------------------------------------------------------------

def start_runtime_container(lab, cid="svc"):
    """A container created by isc-runtime in the lab's R/runtime, as iscd
    would create one (user namespace 0 -> 100000)."""
    bundle = lab.path("containers", cid + "-bundle")
    os.makedirs(bundle)
    cfg = helpers.default_config(["sleep", "1000"], "/isc-test-host-" + lab.name)
    cfg["root"]["path"] = busybox_rootfs()
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(cfg, f)
    with open(os.path.join(bundle, "out.log"), "w") as out:
        subprocess.run([RUNTIME, "--root", lab.path("runtime"), "run", "-d", "--bundle", bundle, cid],
                       stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=60, check=True)
    return cid


def start_service(lab, name="svc"):
    lab.isc("run", "-d", "--name", name, "busybox", "sleep", "1000", timeout=60)
    return name


@pytest.fixture(params=["runtime", "service"])
def exec_target(request, lab_host):
    if request.param == "runtime":
        return lab_host, start_runtime_container(lab_host)
    return lab_host, start_service(lab_host)


def test_exec_returns_the_exit_status(exec_target):
    lab, name = exec_target
    r = lab.isc("exec", name, "sh", "-c", "echo out; echo err >&2; exit 7", check=False)
    assert r.returncode == 7
    assert r.stdout == "out\n" and "err" in r.stderr


def test_exec_killed_by_a_signal(exec_target):
    lab, name = exec_target
    r = lab.isc("exec", name, "sh", "-c", "kill -9 $$", check=False)
    assert r.returncode == 128 + 9


def test_exec_stdin_only_with_i(exec_target):
    lab, name = exec_target
    r = lab.isc("exec", "-i", name, "sh", "-c", "cat; echo done", input="hello\n")
    assert r.stdout == "hello\ndone\n"
    # without -i the command reads /dev/null (EOF at once), even with input waiting
    r = lab.isc("exec", name, "sh", "-c", "cat; echo done", input="hello\n", timeout=20)
    assert r.stdout == "done\n"


def test_exec_user_env_workdir(exec_target):
    lab, name = exec_target
    r = lab.isc("exec", "-u", "1000:1001", "-e", "FOO=bar baz", "-w", "/tmp", name, "sh", "-c",
                'echo "$(id -u):$(id -g) $FOO $(pwd)"; test -t 0 || echo notty')
    assert r.stdout == "1000:1001 bar baz /tmp\nnotty\n"


def run_in_pty(argv, send=b"", timeout=20):
    """argv with a pty as its terminal; (output, exit code)."""
    pid, fd = pty.fork()
    if pid == 0:
        env = dict(os.environ)
        env.pop("ISC_LAB", None)
        env["ISC_ISCD"] = ISCD
        os.execve(argv[0], argv, env)
    out = b""
    deadline = time.time() + timeout
    sent = False
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not sent and out:
            os.write(fd, send)
            sent = True
        if fd in r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            out += d
    else:
        os.kill(pid, 9)
    _, st = os.waitpid(pid, 0)
    os.close(fd)
    return out.decode(errors="replace"), os.waitstatus_to_exitcode(st)


def test_exec_tty(exec_target):
    lab, name = exec_target
    out, code = run_in_pty([ISC, "--lab", lab.name, "exec", "-i", "-t", name, "sh", "-c",
                            "test -t 0 && test -t 1 && echo ISTTY; tty; echo READY; read x; echo got=$x; exit 5"],
                           send=b"hello\r")
    assert code == 5, out
    assert "ISTTY" in out and "/dev/pts/" in out, out
    assert "got=hello" in out, out


def test_exec_tty_without_i_gives_no_input(exec_target):
    lab, name = exec_target
    out, code = run_in_pty([ISC, "--lab", lab.name, "exec", "-t", name, "sh", "-c", "tty; exit 4"])
    assert code == 4 and "/dev/pts/" in out, out


def test_exec_bad_input(lab_host):
    for args, status, message in (
            (["nosuch", "true"], 1, 'isc exec: no running service "nosuch" (isc ps lists them)'),
            (["-u", "root", "nosuch", "true"], 2, 'isc exec: -u "root": a numeric UID[:GID] of the container'),
            (["-e", "NOEQUALS", "nosuch", "true"], 2, 'isc exec: -e "NOEQUALS": K=V expected'),
            (["onlyname"], 2, "isc exec: a service NAME and a CMD are required"),
            (["../runtime", "true"], 1, 'isc exec: no running service "../runtime" (isc ps lists them)')):
        r = lab_host.isc("exec", *args, check=False)
        assert (r.returncode, r.stdout) == (status, ""), (args, r.returncode, r.stderr)
        assert _says(r.stderr, message), (args, r.stderr)


def test_exec_on_a_host_never_initialised(bare_lab):
    r = bare_lab.isc("exec", "svc", "true", check=False)
    assert (r.returncode, r.stderr) == (1, "isc exec: %s is not an ISC host (isc --lab %s init)\n"
                                        % (bare_lab.root, bare_lab.name)), (r.returncode, r.stderr)
    assert bare_lab.leftovers() == []


# ---- id ranges and idmapped rootfs (need iscd: isc run) ---------------------------

def service_json(lab, name):
    with open(lab.path("containers", name, "service.json")) as f:
        return json.load(f)


def test_service_rootfs_is_idmapped(lab_host):
    lab = lab_host
    start_service(lab, "web")
    base = service_json(lab, "web")["uid_base"]
    assert base >= IDRANGE_FIRST and (base - IDRANGE_FIRST) % IDRANGE_SIZE == 0
    rootfs = lab.path("containers", "web", "rootfs")
    assert rootfs in mounts_under(lab.root)
    # on disk the image is 0:0; through the mount, from the host, uid_base
    st = os.stat(os.path.join(rootfs, "bin", "busybox"))
    assert (st.st_uid, st.st_gid) == (base, base)
    assert (lab.root, "web", base) in idrange_roots()


def test_id_ranges_are_unique_across_labs(lab_host):
    other = LabHost(unique_name())
    try:
        other.init()
        other.import_busybox()
        start_service(lab_host, "web")
        start_service(other, "web")
        a = service_json(lab_host, "web")["uid_base"]
        b = service_json(other, "web")["uid_base"]
        assert a != b
        table = idrange_roots()
        assert (lab_host.root, "web", a) in table and (other.root, "web", b) in table
    finally:
        failure = other.teardown()
    assert failure is None, failure
    assert all(r[0] != other.root for r in idrange_roots())
