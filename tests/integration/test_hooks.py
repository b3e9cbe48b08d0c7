# SPDX-License-Identifier: GPL-2.0-or-later
"""OCI hooks: order, the state on stdin, environment, failures.

Proves: createRuntime, createContainer, startContainer, poststart and
poststop hooks run once each, in that order, each reading a state JSON
with the container's id (and pid/status while it exists); each kind gets
the status runtime-spec 1.2 gives it (prestart and startContainer
`created`, createRuntime and createContainer `creating`, poststart
`running`, poststop `stopped`); hook args and env are passed; a hook that
exits without reading stdin is fine; a failing (or timed-out)
createRuntime/prestart hook makes create fail, runs no later hook and
leaves nothing behind; a failing poststart or poststop hook is a warning
naming the hook, and the remaining hooks and the lifecycle go on.
"""
import json
import os

import pytest

import helpers

HOOK = r"""#!/bin/sh
# hook.sh NAME LOG: append "NAME <env> <state JSON from stdin>" to LOG,
# one line per call (the JSON may come pretty-printed)
state=$(cat | tr -d '\n')
printf '%s\t%s\t%s\n' "$1" "${ISC_HOOK_ENV:-}" "$state" >> "$2"
"""

NO_STDIN = "#!/bin/sh\nexit 0\n"
FAIL = "#!/bin/sh\necho hook failing on purpose >&2\nexit 3\n"
SLOW = "#!/bin/sh\nexec sleep 20\n"
# a startContainer hook that takes its time before it logs
LATE = "#!/bin/sh\nsleep 0.5\nexec /mnt/hook.sh \"$@\"\n"


@pytest.fixture
def hooks_dir(test_dir):
    d = os.path.join(test_dir, "hooks")
    os.makedirs(d)
    os.chmod(d, 0o777)  # container root (host uid 100000) appends to the log
    for name, text in (("hook.sh", HOOK), ("nostdin.sh", NO_STDIN), ("fail.sh", FAIL),
                       ("slow.sh", SLOW), ("late.sh", LATE)):
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o755)
    log = os.path.join(d, "hooks.log")
    open(log, "w").close()
    os.chmod(log, 0o666)
    return d


def _hook(path, *args, env=None, timeout=None):
    h = {"path": path, "args": [os.path.basename(path)] + list(args)}
    if env:
        h["env"] = list(env)
    if timeout:
        h["timeout"] = timeout
    return h


def _read_log(path):
    entries = []
    with open(path) as f:
        for line in f:
            name, env, state = line.rstrip("\n").split("\t", 2)
            entries.append((name, env, json.loads(state) if state else None))
    return entries


def test_hook_order_and_state(runtime, busybox_bundle, hooks_dir):
    host_log = os.path.join(hooks_dir, "hooks.log")
    host_hook = os.path.join(hooks_dir, "hook.sh")
    b = busybox_bundle("/bin/payload", "echo", "started")
    b.add_mount("/mnt", hooks_dir)
    env = ["ISC_HOOK_ENV=yes", "PATH=/bin:/usr/bin"]
    b.config["hooks"] = {
        "createRuntime": [_hook(host_hook, "createRuntime", host_log, env=env)],
        "createContainer": [_hook(host_hook, "createContainer", host_log, env=env)],
        # startContainer runs in the container: paths resolve in its rootfs
        "startContainer": [_hook("/mnt/hook.sh", "startContainer", "/mnt/hooks.log", env=env)],
        "poststart": [_hook(host_hook, "poststart", host_log, env=env)],
        "poststop": [_hook(host_hook, "poststop", host_log, env=env)],
    }
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]
    names = [e[0] for e in _read_log(host_log)]
    # runc 1.1 runs poststart hooks during create already (a known
    # deviation from the spec); isc must run them after start.
    runc_poststart = runtime.is_runc and "poststart" in names
    if runc_poststart:
        names.remove("poststart")
    assert names == ["createRuntime", "createContainer"]

    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    assert "started" in b.output()
    want = ["createRuntime", "createContainer", "startContainer", "poststart"]
    if runc_poststart:
        want = ["createRuntime", "createContainer", "poststart", "startContainer"]
    assert [e[0] for e in _read_log(host_log)] == want

    assert runtime.delete(b.id).returncode == 0
    entries = _read_log(host_log)
    assert [e[0] for e in entries] == want + ["poststop"]
    valid = {"creating", "created", "running", "stopped"}
    for name, henv, state in entries:
        assert henv == "yes", name
        assert state["id"] == b.id, name
        assert state["status"] in valid, (name, state)
        assert "ociVersion" in state, name
        assert os.path.realpath(state["bundle"]) == os.path.realpath(b.path), name
        if name in ("createContainer", "startContainer"):
            # run in the container namespace: the pid as the container sees it
            assert state["pid"] == 1, (name, state)
        elif name != "poststop":
            assert state["pid"] == pid, (name, state)
    assert entries[-1][2]["status"] == "stopped"


def test_poststart_follows_the_exec_of_the_program(runtime, busybox_bundle, hooks_dir):
    """poststart runs after the user's program was executed (runtime-spec), so after a slow
    startContainer hook, and before start returns."""
    if runtime.is_runc:
        pytest.skip("runc runs poststart during create (a known deviation)")
    host_log = os.path.join(hooks_dir, "hooks.log")
    b = busybox_bundle("/bin/payload", "echo", "started")
    b.add_mount("/mnt", hooks_dir)
    env = ["PATH=/bin:/usr/bin"]
    b.config["hooks"] = {
        "startContainer": [_hook("/mnt/late.sh", "startContainer", "/mnt/hooks.log", env=env)],
        "poststart": [_hook(os.path.join(hooks_dir, "hook.sh"), "poststart", host_log, env=env)],
    }
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    # start has returned: both hooks ran, in the spec's order
    assert [e[0] for e in _read_log(host_log)] == ["startContainer", "poststart"]
    runtime.wait_status(b.id, "stopped")
    assert "started" in b.output()
    assert runtime.delete(b.id).returncode == 0


def test_prestart_hook_runs(runtime, bundle, hooks_dir):
    log = os.path.join(hooks_dir, "hooks.log")
    b = bundle("true")
    b.config["hooks"] = {"prestart": [_hook(os.path.join(hooks_dir, "hook.sh"), "prestart", log)]}
    assert runtime.create(b).returncode == 0
    entries = _read_log(log)
    assert [e[0] for e in entries] == ["prestart"]
    assert entries[0][2]["id"] == b.id
    assert runtime.delete(b.id, force=True).returncode == 0


def test_hook_not_reading_stdin(runtime, bundle, hooks_dir):
    b = bundle("true")
    b.annotations = None
    b.config["annotations"] = {"org.isc.padding": "x" * 200000}  # bigger than a pipe
    nostdin = os.path.join(hooks_dir, "nostdin.sh")
    b.config["hooks"] = {k: [_hook(nostdin)] for k in
                         ("createRuntime", "createContainer", "poststart", "poststop")}
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr


def _assert_gone(runtime, cid):
    r = runtime.state(cid, check=False)
    assert r.returncode == 1 and "does not exist" in r.stderr, (r.returncode, r.stderr)
    if runtime.is_isc:
        assert r.stderr == 'isc-runtime: container "%s" does not exist\n' % cid


@pytest.mark.parametrize("kind", ["createRuntime", "prestart", "createContainer"])
def test_failing_create_hook_fails_create(runtime, bundle, hooks_dir, kind):
    b = bundle("true")
    b.config["hooks"] = {kind: [_hook(os.path.join(hooks_dir, "fail.sh"))]}
    r = runtime.create(b)
    assert r.returncode == 1 and "hook failing on purpose" in r.stderr, (r.returncode, r.stderr)
    if runtime.is_isc:  # the hook's own stderr, then which hook failed and how
        assert r.stderr == ("hook failing on purpose\nisc-runtime: %s hook 0: hook %s: exited with status 3\n"
                            % (kind, os.path.join(hooks_dir, "fail.sh")))
    assert helpers.state_leftovers(runtime.root, b.id) == []
    assert helpers.cgroup_leftovers(b.cgroup_name) == []
    assert helpers.mount_leftovers(b.path) == []
    _assert_gone(runtime, b.id)


def test_hook_timeout_fails_create(runtime, bundle, hooks_dir):
    b = bundle("true")
    b.config["hooks"] = {"createRuntime": [_hook(os.path.join(hooks_dir, "slow.sh"),
                                                 timeout=1)]}
    r = runtime.create(b, timeout=15)
    assert r.returncode == 1, r.stderr
    if runtime.is_isc:
        assert r.stderr == ("isc-runtime: createRuntime hook 0: hook %s timed out after 1 s: Connection timed out\n"
                            % os.path.join(hooks_dir, "slow.sh"))
    assert helpers.state_leftovers(runtime.root, b.id) == []
    assert helpers.cgroup_leftovers(b.cgroup_name) == []


def test_failing_poststop_does_not_block_delete(runtime, bundle, hooks_dir):
    b = bundle("true")
    b.config["hooks"] = {"poststop": [_hook(os.path.join(hooks_dir, "fail.sh"))]}
    assert runtime.create(b).returncode == 0
    runtime.delete(b.id, force=True)
    _assert_gone(runtime, b.id)
    assert helpers.state_leftovers(runtime.root, b.id) == []


def _status_of(entries):
    return {name: state["status"] for name, _, state in entries}


def test_hook_states_during_create_start_delete(runtime, busybox_bundle, hooks_dir):
    """createRuntime and createContainer run while the container is being
    created (`creating`); startContainer before the user's program is
    executed (`created`); poststop after it is gone (`stopped`)."""
    host_log = os.path.join(hooks_dir, "hooks.log")
    host_hook = os.path.join(hooks_dir, "hook.sh")
    b = busybox_bundle("/bin/payload", "echo", "started")
    b.add_mount("/mnt", hooks_dir)
    env = ["PATH=/bin:/usr/bin"]
    b.config["hooks"] = {
        "createRuntime": [_hook(host_hook, "createRuntime", host_log, env=env)],
        "createContainer": [_hook(host_hook, "createContainer", host_log, env=env)],
        "startContainer": [_hook("/mnt/hook.sh", "startContainer", "/mnt/hooks.log", env=env)],
        "poststop": [_hook(host_hook, "poststop", host_log, env=env)],
    }
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    assert runtime.delete(b.id).returncode == 0
    assert _status_of(_read_log(host_log)) == {
        "createRuntime": "creating", "createContainer": "creating",
        "startContainer": "created", "poststop": "stopped"}


@pytest.mark.runc_skip("runc 1.1 gives prestart hooks `creating` and runs poststart "
                       "hooks during create (status `created`)")
def test_prestart_hook_gets_created_and_poststart_running(runtime, bundle, hooks_dir):
    """runtime-spec: prestart is lifecycle step 3, after step 2 (`creating`), so
    the container is `created`; poststart follows the exec of the program:
    `running`.  createRuntime, run right after prestart, still gets `creating`."""
    log = os.path.join(hooks_dir, "hooks.log")
    hook = os.path.join(hooks_dir, "hook.sh")
    b = bundle("sleep", "30")
    b.config["hooks"] = {"prestart": [_hook(hook, "prestart", log)],
                         "createRuntime": [_hook(hook, "createRuntime", log)],
                         "poststart": [_hook(hook, "poststart", log)]}
    assert runtime.create(b).returncode == 0
    pid = runtime.state(b.id)["pid"]
    assert runtime.start(b.id).returncode == 0
    entries = _read_log(log)
    assert [e[0] for e in entries] == ["prestart", "createRuntime", "poststart"]
    assert _status_of(entries) == {"prestart": "created", "createRuntime": "creating",
                                   "poststart": "running"}
    assert [e[2]["pid"] for e in entries] == [pid, pid, pid]
    assert runtime.delete(b.id, force=True).returncode == 0


def _warning(kind, index, path):
    return ("isc-runtime: warning: %s hook %d failed, going on: hook %s: exited with "
            "status 3\n" % (kind, index, path))


@pytest.mark.runc_skip("runc 1.1 runs poststart during create and, when one fails, kills "
                       "the container and fails create (runtime-spec 1.3's rule, not 1.2's)")
def test_failing_poststart_hook_is_a_warning(runtime, bundle, hooks_dir):
    """runtime-spec 1.2 step 9: a failing poststart hook is logged as a warning
    naming the hook and why; the remaining hooks run and the container runs on."""
    log = os.path.join(hooks_dir, "hooks.log")
    hook = os.path.join(hooks_dir, "hook.sh")
    fail = os.path.join(hooks_dir, "fail.sh")
    b = bundle("sleep", "30")
    b.config["hooks"] = {"poststart": [_hook(hook, "first", log), _hook(fail),
                                       _hook(fail), _hook(hook, "last", log)]}
    assert runtime.create(b).returncode == 0
    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    # the hook's own stderr, then our warning, for each failing hook
    assert r.stderr == ("hook failing on purpose\n" + _warning("poststart", 1, fail) +
                        "hook failing on purpose\n" + _warning("poststart", 2, fail))
    assert [e[0] for e in _read_log(log)] == ["first", "last"]
    assert runtime.state(b.id)["status"] == "running"
    assert runtime.delete(b.id, force=True).returncode == 0


@pytest.mark.runc_skip("runc 1.1 stops at the first failing poststop hook: the ones "
                       "after it do not run (its delete still succeeds)")
def test_failing_poststop_hook_is_a_warning(runtime, bundle, hooks_dir):
    """runtime-spec 1.2 step 13: a failing poststop hook is a warning naming
    the hook; the remaining hooks run and delete succeeds."""
    log = os.path.join(hooks_dir, "hooks.log")
    hook = os.path.join(hooks_dir, "hook.sh")
    fail = os.path.join(hooks_dir, "fail.sh")
    b = bundle("true")
    b.config["hooks"] = {"poststop": [_hook(fail), _hook(hook, "after", log)]}
    assert runtime.create(b).returncode == 0
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "hook failing on purpose\n" + _warning("poststop", 0, fail)
    entries = _read_log(log)
    assert [e[0] for e in entries] == ["after"]
    assert entries[0][2]["status"] == "stopped"
    assert runtime.state(b.id, check=False).returncode != 0
    assert helpers.state_leftovers(runtime.root, b.id) == []
    assert helpers.cgroup_leftovers(b.cgroup_name) == []


def test_hooks_after_a_failing_create_hook_do_not_run(runtime, bundle, hooks_dir):
    """A failing createRuntime hook stops there: the hooks after it (of its
    kind and the later kinds) never run, and nothing is left behind."""
    log = os.path.join(hooks_dir, "hooks.log")
    hook = os.path.join(hooks_dir, "hook.sh")
    b = bundle("true")
    b.config["hooks"] = {"createRuntime": [_hook(hook, "first", log),
                                           _hook(os.path.join(hooks_dir, "fail.sh")),
                                           _hook(hook, "second", log)],
                         "createContainer": [_hook(hook, "createContainer", log)]}
    r = runtime.create(b)
    assert r.returncode != 0
    if runtime.is_isc:
        assert r.stderr.endswith("createRuntime hook 1: hook %s: exited with status 3\n"
                                 % os.path.join(hooks_dir, "fail.sh")), r.stderr
    else:
        assert "error running hook #1" in r.stderr, r.stderr
    assert [e[0] for e in _read_log(log)] == ["first"]
    assert runtime.state(b.id, check=False).returncode != 0
    assert helpers.state_leftovers(runtime.root, b.id) == []
    assert helpers.cgroup_leftovers(b.cgroup_name) == []
