# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack: the operator's terminal through podman (issue 11, item 2), with
podman 4.3 and conmon driving isc-runtime and podman's own default seccomp
profile (which allows every ioctl, TIOCSTI included).

podman itself never hands the operator's terminal to the runtime: conmon
copies through pipes, and `--log-driver passthrough` is refused on a
terminal.  What isc adds holds under any profile: the container's process
leads a session of its own.  On 51b9795 the init and a `podman exec`
process stayed in conmon's session (sid 0 seen from the container: the
leader is outside its pid namespace).

Proves, with `podman run`/`podman exec` as jobs of a pty the test owns:
TIOCSTI through fds 0, 1, 2 and /dev/tty lands nowhere (ENOTTY: /dev/null
and conmon's pipes; ENXIO: no controlling terminal), nothing reaches the
terminal's input, the process leads its own session without a controlling
terminal, and no fd of it is the pty.

Then isc's default profile through podman (issue 11, "Through podman"): the
operator gets it with `isc-runtime spec --seccomp-only` and passes it as
`podman run --security-opt seccomp=FILE`; podman converts it into the
config.json it hands to isc-runtime (runtime = isc-runtime in every run).
For each profile-dependent attack of this directory (nested namespaces
through clone, unshare, setns, keyctl, bpf, perf_event_open, module
loading, mount, sockets outside the allowlist, TIOCSTI, TIOCLINUX, TIOCSETD,
each with bit 32 set where the kernel ignores it) the probe runs twice:
under isc's profile it is refused with the exact errno (EPERM), and under
podman's own default profile -- the control -- it gets through (measured
with podman 4.3.1: that profile allows clone and unshare with any flags,
setns, keyctl, mount, every ioctl and socket family, and bpf,
perf_event_open and the module calls with the capability they need, which
these runs add).  io_uring_setup and userfaultfd are refused by podman's
profile too (ENOSYS, EPERM); their control runs unconfined
(`--security-opt seccomp=unconfined`).  A service still runs under isc's
profile through podman (threads, a shell pipeline, the families it uses).
Skipped when podman is not installed.
"""
import glob
import json
import os
import shutil
import subprocess
import uuid

import pytest

import clients
from operator_tty import OperatorTerminal, default_seccomp, probe_lines, tty_info

pytestmark = [pytest.mark.skipif(shutil.which("podman") is None
                                or shutil.which("conmon") is None,
                                reason="podman/conmon not installed "
                                       "(scripts/install-deps.sh)"), pytest.mark.pass_sanitizers]

ISC = ("isc", clients.isc_path())
MARK = "id -u >/tmp/pwned\n"
TARGETS = [("0", "errno ENOTTY"), ("1", "errno ENOTTY"), ("2", "errno ENOTTY"),
           ("/dev/tty", "errno ENXIO")]


@pytest.fixture(scope="module")
def podman_env():
    if os.geteuid() != 0:
        pytest.skip("podman tests need root")
    env = clients.PodmanEnv()
    try:
        env.import_image()
        yield env
    finally:
        problems = env.close()
    assert not problems, "podman's store, cgroups or processes: %s" % problems


@pytest.fixture
def term():
    t = OperatorTerminal()
    yield t
    t.close()


@pytest.fixture
def names(podman_env):
    made = []
    yield made
    left = {}
    for name in made:
        r = podman_env("inspect", "-f", "{{.Id}}", name)
        if r.returncode != 0:
            continue
        cid = r.stdout.strip()
        podman_env("rm", "-f", "-t", "0", name)
        lo = clients.wait_clean(lambda: podman_env.leftovers(cid, "isc"))
        if lo:
            left[cid] = lo
    assert not left, "left behind: %s" % left


def podman_run(env, rt, name, payload, *args):
    return env.base + ["run", "--name", name, "--runtime", rt[1]] + env.run_flags + \
        ["-v", payload + ":/payload:ro"] + list(args)


def check_process(out, want_pid, tty_path):
    info, fds = tty_info(probe_lines(out))
    assert info["sid"] == want_pid and info["pid"] == want_pid, info
    assert info["tty_nr"] == 0, info
    assert tty_path not in fds.values() and not any("pts" in t for t in fds.values()), fds
    return info, fds


def test_tiocsti_through_podman_run(podman_env, names, term, payload):
    rt = clients.require_runtime(ISC)
    for target, want in TARGETS:
        name = "isc-attack-%s" % uuid.uuid4().hex[:10]
        names.append(name)
        rc, out = term.run(podman_run(podman_env, rt, name, payload, podman_env.image,
                                      "/payload", "tiocsti", target, MARK), timeout=90)
        assert term.injected() == b"", (target, out)
        assert probe_lines(out) == [want], (target, out)
        assert rc == 1, (target, out)
    name = "isc-attack-%s" % uuid.uuid4().hex[:10]
    names.append(name)
    rc, out = term.run(podman_run(podman_env, rt, name, payload, podman_env.image, "/payload", "tty-info"),
                       timeout=90)
    assert rc == 0, out
    check_process(out, 1, term.path)


def test_tiocsti_through_podman_exec(podman_env, names, term, payload):
    rt = clients.require_runtime(ISC)
    name = "isc-attack-%s" % uuid.uuid4().hex[:10]
    names.append(name)
    r = clients.run(podman_run(podman_env, rt, name, payload, "-d", podman_env.image, "sleep", "1000"))
    assert r.returncode == 0, r.stderr
    for target, want in TARGETS:
        rc, out = term.run(podman_env.base + ["exec", name, "/payload", "tiocsti", target, MARK], timeout=90)
        assert term.injected() == b"", (target, out)
        assert probe_lines(out) == [want], (target, out)
        assert rc == 1, (target, out)
    rc, out = term.run(podman_env.base + ["exec", name, "/payload", "tty-info"], timeout=90)
    assert rc == 0, out
    info, _ = tty_info(probe_lines(out))
    assert info["pid"] != 1
    check_process(out, info["pid"], term.path)


# ---- isc's default profile passed in (--security-opt seccomp=FILE) -------------

AF_INET, AF_KEY, AF_ALG, AF_VSOCK = 2, 15, 38, 40
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET = 1, 2, 3, 5


@pytest.fixture(scope="module")
def isc_profile(podman_env):
    """`isc-runtime spec --seccomp-only` in a file, as an operator makes it;
    it is exactly linux.seccomp of `isc-runtime spec`."""
    rt = clients.require_runtime(ISC)
    r = subprocess.run([rt[1], "spec", "--seccomp-only"], capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert json.loads(r.stdout) == default_seccomp(rt[1])
    path = os.path.join(podman_env.dir, "isc-seccomp.json")
    with open(path, "w") as f:
        f.write(r.stdout)
    return path


def probes(podman_env, names, payload, profile, cases, caps=()):
    """Run the payload once per case, all in one container (a busybox shell
    runs them in turn), under `profile`: a file, "podman" (podman's own
    default) or "unconfined".  Returns {case: the payload's output}."""
    rt = clients.require_runtime(ISC)
    name = "isc-attack-%s" % uuid.uuid4().hex[:10]
    names.append(name)
    opts = [] if profile == "podman" else ["--security-opt", "seccomp=" + profile]
    for cap in caps:
        opts += ["--cap-add", cap]
    # each case's exit status is in its output ("errno NAME" exits 1)
    script = "".join("echo '== %s'; /payload %s 2>&1; " % (c, c) for c in cases) + "exit 0"
    r = clients.run(podman_run(podman_env, rt, name, payload, *opts) + [podman_env.image, "sh", "-c", script],
                    timeout=120)
    assert r.returncode == 0, (profile, r.stdout, r.stderr)
    got, case = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("== "):
            case = line[3:]
            got[case] = []
        else:
            assert case is not None, r.stdout
            got[case].append(line)
    assert sorted(got) == sorted(cases), (r.stdout, r.stderr)
    return {c: " ".join(v) for c, v in got.items()}


def check(podman_env, names, payload, isc_profile, control, refused, caps=()):
    """control: {case: what podman's own profile lets through}; refused:
    {case: isc's profile's answer}; both runs with the same capabilities."""
    assert probes(podman_env, names, payload, "podman", list(control), caps) == control
    assert probes(podman_env, names, payload, isc_profile, list(refused), caps) == refused


def seccomp_rules(profile):
    """A profile's rules one per syscall name, sorted: podman may group the
    names differently from the file it was given."""
    rules = []
    for r in profile["syscalls"]:
        args = tuple((a["index"], a["value"], a.get("valueTwo", 0), a["op"]) for a in r.get("args") or [])
        rules += [(n, r["action"], r.get("errnoRet"), args) for n in r["names"]]
    return sorted(rules, key=repr)


@pytest.mark.parametrize("how", ["security-opt", "containers.conf"])
def test_podman_hands_isc_profile_to_runtime(podman_env, names, payload, isc_profile, how):
    """podman 4.3 reads the file of `spec --seccomp-only` as it is, from
    --security-opt seccomp=FILE or as containers.conf's seccomp_profile (the
    default for every container), and the config.json it hands isc-runtime
    carries the same profile: every rule, default action and errno, and
    architectures.  The control: without it, podman hands its own."""
    with open(isc_profile) as f:
        want = json.load(f)

    def handed(opts, env=None):
        rt = clients.require_runtime(ISC)
        name = "isc-attack-%s" % uuid.uuid4().hex[:10]
        names.append(name)
        r = clients.run(podman_run(podman_env, rt, name, payload, *opts) +
                        ["-d", podman_env.image, "sleep", "1000"], env=env)
        assert r.returncode == 0, r.stderr
        cfg = glob.glob(os.path.join(podman_env.dir, "root", "*-containers", podman_env.cid(name),
                                     "userdata", "config.json"))
        assert len(cfg) == 1, cfg
        with open(cfg[0]) as f:
            return json.load(f)["linux"]["seccomp"]

    own = handed([])
    assert seccomp_rules(own) != seccomp_rules(want) and own.get("defaultErrnoRet") == 38, own.get("defaultErrnoRet")
    if how == "security-opt":
        got = handed(["--security-opt", "seccomp=" + isc_profile])
    else:
        conf = os.path.join(podman_env.dir, "isc-containers.conf")
        with open(conf, "w") as f:
            f.write('[containers]\nseccomp_profile = "%s"\n' % isc_profile)
        got = handed([], env=dict(os.environ, CONTAINERS_CONF=conf))
    assert (got["defaultAction"], got.get("defaultErrnoRet"), got["architectures"]) == \
        (want["defaultAction"], want["defaultErrnoRet"], want["architectures"])
    assert seccomp_rules(got) == seccomp_rules(want)


def test_nested_userns_through_podman(podman_env, names, payload, isc_profile):
    """clone(CLONE_NEWUSER|...) from the container's default capabilities:
    the child holds CAP_SYS_ADMIN in its new user namespace under podman's
    profile; isc's refuses the flags, also with bit 32 set."""
    cases = ["syscall clone " + f for f in ("user", "user,net", "user,net,high")]
    check(podman_env, names, payload, isc_profile,
          {c: "sys_admin=1 ok" for c in cases}, {c: "errno EPERM" for c in cases})


def test_namespace_calls_through_podman(podman_env, names, payload, isc_profile):
    """Every namespace flag of clone, unshare and setns, from a container
    that holds CAP_SYS_ADMIN (else the kernel itself refuses all but
    CLONE_NEWUSER)."""
    clone = ["syscall clone " + f for f in ("ns", "uts", "ipc", "user", "pid", "net", "cgroup")]
    other = ["syscall unshare user", "syscall unshare net", "syscall setns"]
    control = dict({c: "sys_admin=1 ok" for c in clone}, **{c: "ok" for c in other})
    check(podman_env, names, payload, isc_profile, control,
          {c: "errno EPERM" for c in clone + other}, caps=["CAP_SYS_ADMIN"])


def test_kernel_surface_through_podman(podman_env, names, payload, isc_profile):
    """keyctl, bpf, perf_event_open and mount reach the kernel under
    podman's profile (bpf and perf_event_open only with CAP_SYS_ADMIN, which
    mount needs too); isc's refuses them.  bpf's control is the kernel's
    EINVAL for an empty map attribute."""
    control = {"syscall keyctl": "ok", "syscall bpf": "errno EINVAL", "syscall perf_event_open": "ok",
               "mount tmpfs /mnt tmpfs": "ok"}
    check(podman_env, names, payload, isc_profile, control, {c: "errno EPERM" for c in control},
          caps=["CAP_SYS_ADMIN"])


def test_module_loading_through_podman(podman_env, names, payload, isc_profile):
    """init_module and finit_module with CAP_SYS_MODULE: podman's profile
    lets them reach the kernel, whose answer for a bogus image is ENOEXEC
    (ENOSYS where the kernel has no module support, as on the test
    machine); isc's refuses them with EPERM first."""
    cases = ["syscall init_module", "syscall finit_module"]
    got = probes(podman_env, names, payload, "podman", cases, caps=["CAP_SYS_MODULE"])
    for c in cases:
        assert got[c] in ("errno ENOEXEC", "errno ENOSYS"), got
    assert probes(podman_env, names, payload, isc_profile, cases, caps=["CAP_SYS_MODULE"]) == \
        {c: "errno EPERM" for c in cases}


def test_refused_by_both_profiles(podman_env, names, payload, isc_profile):
    """io_uring_setup and userfaultfd: refused by podman's profile as well
    (its default action ENOSYS; userfaultfd EPERM), so the control runs
    without a profile, where both get through (io_uring is enabled here;
    userfaultfd asks for user-mode faults only)."""
    cases = ["syscall io_uring_setup", "syscall userfaultfd"]
    assert probes(podman_env, names, payload, "podman", cases) == \
        {"syscall io_uring_setup": "errno ENOSYS", "syscall userfaultfd": "errno EPERM"}
    assert probes(podman_env, names, payload, "unconfined", cases) == {c: "ok" for c in cases}
    assert probes(podman_env, names, payload, isc_profile, cases) == {c: "errno EPERM" for c in cases}


def test_socket_families_through_podman(podman_env, names, payload, isc_profile):
    """AF_VSOCK (no network namespace holds it) and a family with bit 32 set
    get their socket under podman's profile; AF_ALG and AF_KEY reach the
    kernel (ok, or its own errno where the family is not built: never the
    filter's EPERM).  isc's profile refuses all four; the families a
    service uses still work under it."""
    fam = {"vsock": "syscall socket %d %d" % (AF_VSOCK, SOCK_STREAM),
           "high": "syscall socket %d %d" % (AF_INET | 1 << 32, SOCK_STREAM),
           "alg": "syscall socket %d %d" % (AF_ALG, SOCK_SEQPACKET),
           "key": "syscall socket %d %d" % (AF_KEY, SOCK_RAW)}
    got = probes(podman_env, names, payload, "podman", list(fam.values()), caps=["CAP_NET_ADMIN"])
    assert got[fam["vsock"]] == "ok" and got[fam["high"]] == "ok", got
    for c in (fam["alg"], fam["key"]):
        assert got[c] == "ok" or (got[c].startswith("errno ") and got[c] != "errno EPERM"), got
    service = ["syscall socket 1 1", "syscall socket 2 1", "syscall socket 2 2", "syscall socket 10 1",
               "syscall socket 16 3"]
    want = dict({c: "errno EPERM" for c in fam.values()}, **{c: "ok" for c in service})
    assert probes(podman_env, names, payload, isc_profile, list(want), caps=["CAP_NET_ADMIN"]) == want


@pytest.mark.parametrize("high", [False, True], ids=["cmd", "cmd-bit32"])
def test_terminal_ioctls_through_podman(podman_env, names, payload, isc_profile, high):
    """TIOCSTI into a pty the container opened (it lands under podman's
    profile), TIOCLINUX (the kernel answers ENOTTY on /dev/null) and
    TIOCSETD on the container's own pty (the discipline is set under
    podman's profile; TIOCGWINSZ before it works under both)."""
    x = " high" if high else ""
    sti, linux, setd = "own-pty-tiocsti" + x, "syscall tioclinux 0" + x, "own-pty-tiocsetd" + x
    check(podman_env, names, payload, isc_profile,
          {sti: "ok injected=Z", linux: "errno ENOTTY", setd: "ok ldisc=0"},
          {sti: "TIOCSTI errno EPERM", linux: "errno EPERM", setd: "TIOCSETD errno EPERM"})


def test_service_runs_under_isc_profile_through_podman(podman_env, names, payload, isc_profile):
    """The positive control: what a service does works under isc's profile
    through podman (threads, plain clone, a busybox shell pipeline with a
    subshell and a background job)."""
    assert probes(podman_env, names, payload, isc_profile, ["threads 8", "syscall clone 0", "echo served"]) == \
        {"threads 8": "ok 8", "syscall clone 0": "sys_admin=0 ok", "echo served": "served"}
    rt = clients.require_runtime(ISC)
    name = "isc-attack-%s" % uuid.uuid4().hex[:10]
    names.append(name)
    r = clients.run(podman_run(podman_env, rt, name, payload, "--security-opt", "seccomp=" + isc_profile) +
                    [podman_env.image, "sh", "-c", "echo one two | tr ' ' '\\n' | sort -r; (echo sub) & wait; "
                     "x=$(echo cmd); echo $x"], timeout=120)
    assert (r.returncode, r.stdout.split()) == (0, ["two", "one", "sub", "cmd"]), r.stderr
