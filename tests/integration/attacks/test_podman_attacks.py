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
terminal, and no fd of it is the pty.  Skipped when podman is not installed.
"""
import os
import shutil
import uuid

import pytest

import clients
from operator_tty import OperatorTerminal, probe_lines, tty_info

pytestmark = pytest.mark.skipif(shutil.which("podman") is None
                                or shutil.which("conmon") is None,
                                reason="podman/conmon not installed "
                                       "(scripts/install-deps.sh)")

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
