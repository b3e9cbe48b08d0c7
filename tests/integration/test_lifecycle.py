# SPDX-License-Identifier: GPL-2.0-or-later
"""Lifecycle: create/start/state/kill/delete/run/list behave like runc.

Proves: `state` reports created -> running -> stopped with the right pid
and bundle; `run` returns the container's exit status; `kill` accepts TERM,
SIGTERM and 15; `delete --force` stops a running container; after `delete`
no process, mount, cgroup directory or state directory is left; `spec
--bundle DIR` writes DIR/config.json (never over an existing one, which it
names) and that config runs as written.
"""
import json
import os

import pytest

import helpers


def test_run_returns_exit_status(runtime, bundle):
    r = runtime.run(bundle("exit", "7"))
    assert r.returncode == 7, r.stderr


def test_run_output_and_zero_status(runtime, bundle):
    out = runtime.run_ok(bundle("echo", "hello", "isc"))
    assert out.strip() == "hello isc"


def test_run_false_is_one(runtime, bundle):
    assert runtime.run(bundle("false")).returncode == 1


def test_run_stdin_reaches_container(runtime, bundle):
    r = runtime.run(bundle("read-stdin"), stdin="from the host\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from the host\n"


def test_state_created_running_stopped(runtime, bundle):
    b = bundle("trap", "30")
    pid_file = os.path.join(b.path, "pidfile")
    r = runtime.create(b, pid_file=pid_file)
    assert r.returncode == 0, r.stderr

    st = runtime.state(b.id)
    assert st["status"] == "created"
    assert st["id"] == b.id
    assert "ociVersion" in st
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)
    pid = st["pid"]
    assert pid > 0 and helpers.pid_alive(pid)
    with open(pid_file) as f:
        assert int(f.read().strip()) == pid

    # created: the user process has not run yet
    assert "ready" not in b.output()

    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    helpers.wait_for(lambda: "ready" in b.output(), what="payload to start")
    st = runtime.state(b.id)
    assert st["status"] == "running"
    assert st["pid"] == pid

    # the trap payload exits on the signal
    r = runtime.kill(b.id, "KILL")
    assert r.returncode == 0, r.stderr
    runtime.wait_status(b.id, "stopped")
    helpers.wait_for(lambda: not helpers.pid_alive(pid), what="pid %d to exit" % pid)

    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr
    assert runtime.state(b.id, check=False).returncode != 0


def test_stopped_after_process_exits(runtime, bundle):
    b = bundle("exit", "3")
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    st = runtime.state(b.id)
    assert st["id"] == b.id
    assert runtime.delete(b.id).returncode == 0


def test_annotations_in_state(runtime, bundle):
    b = bundle("true")
    b.config["annotations"] = {"org.isc.test": "yes", "com.example/k": "v"}
    assert runtime.create(b).returncode == 0
    st = runtime.state(b.id)
    assert st.get("annotations", {}).get("org.isc.test") == "yes"
    assert runtime.delete(b.id, force=True).returncode == 0


@pytest.mark.parametrize("sig", ["TERM", "SIGTERM", "15"])
def test_kill_signal_forms(runtime, bundle, sig):
    b = bundle("trap", "30")
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    helpers.wait_for(lambda: "ready" in b.output(), what="payload to start")
    r = runtime.kill(b.id, sig)
    assert r.returncode == 0, r.stderr
    runtime.wait_status(b.id, "stopped")
    assert "signal 15" in b.output()


def test_kill_default_is_term(runtime, bundle):
    b = bundle("trap", "30")
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    helpers.wait_for(lambda: "ready" in b.output(), what="payload to start")
    assert runtime.kill(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    assert "signal 15" in b.output()


def test_delete_running_without_force_fails(runtime, bundle):
    b = bundle("trap", "30")
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    r = runtime.delete(b.id)
    assert r.returncode != 0
    assert runtime.state(b.id)["status"] == "running"


def test_delete_force_stops_running(runtime, bundle):
    b = bundle("sleep", "60")
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    pid = runtime.state(b.id)["pid"]
    assert helpers.pid_alive(pid)
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    helpers.wait_for(lambda: not helpers.pid_alive(pid), what="pid %d to die" % pid)
    assert runtime.state(b.id, check=False).returncode != 0


def test_delete_force_created(runtime, bundle):
    b = bundle("true")
    assert runtime.create(b).returncode == 0
    pid = runtime.state(b.id)["pid"]
    assert runtime.delete(b.id, force=True).returncode == 0
    helpers.wait_for(lambda: not helpers.pid_alive(pid), what="pid %d to die" % pid)


def test_delete_leaves_nothing(runtime, bundle):
    b = bundle("sleep", "60")
    b.linux["resources"]["pids"] = {"limit": 100}
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    # while it runs, the cgroup exists (proves the leftover check can see it)
    assert helpers.cgroup_leftovers(b.cgroup_name), "no cgroup dir found for the container"
    assert helpers.state_leftovers(runtime.root, b.id)
    assert runtime.delete(b.id, force=True).returncode == 0
    assert helpers.cgroup_leftovers(b.cgroup_name) == []
    assert helpers.state_leftovers(runtime.root, b.id) == []
    assert helpers.mount_leftovers(b.path) == []


def test_run_detach(runtime, bundle):
    b = bundle("trap", "30")
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    st = runtime.state(b.id)
    assert st["status"] == "running"
    assert runtime.delete(b.id, force=True).returncode == 0


def test_list_json(runtime, bundle):
    b1, b2 = bundle("true"), bundle("true")
    assert runtime.create(b1).returncode == 0
    assert runtime.create(b2).returncode == 0
    r = runtime("list", "--format", "json")
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)
    by_id = {e["id"]: e for e in entries}
    assert set(by_id) >= {b1.id, b2.id}
    assert by_id[b1.id]["status"] == "created"
    r = runtime("list")
    assert r.returncode == 0 and b1.id in r.stdout


def test_version(runtime):
    r = runtime("--version")
    assert r.returncode == 0
    assert r.stdout.strip()


def test_spec_writes_valid_config(runtime):
    r = runtime("spec")
    assert r.returncode == 0, r.stderr
    with open(os.path.join(runtime.workdir, "config.json")) as f:
        spec = json.load(f)
    assert spec["ociVersion"].startswith("1.")
    assert spec["process"]["args"]
    assert spec["root"]["path"]


def test_spec_bundle_writes_there_and_runs(runtime, busybox_bundle, busybox_rootfs):
    """spec --bundle DIR writes DIR/config.json (not ./config.json), and the
    config runs as written: its `sh` reads a command from stdin."""
    b = busybox_bundle()
    r = runtime("spec", "--bundle", b.path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert not os.path.exists(os.path.join(runtime.workdir, "config.json"))
    with open(b.config_path) as f:
        spec = json.load(f)
    assert spec["root"] == {"path": "rootfs", "readonly": True}
    assert spec["process"]["args"] == ["sh"]
    os.symlink(busybox_rootfs, os.path.join(b.path, "rootfs"))
    r = runtime("run", "--bundle", b.path, b.id, stdin="echo spec-ran; id -u\n",
                out=b.out_path, err=b.err_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "spec-ran\n0\n"
    # a foreground run deletes the container; no cgroupsPath in the default
    # config (isc names its groups isc-<id>): nothing left
    assert runtime.state(b.id, check=False).returncode != 0
    assert helpers.cgroup_leftovers("isc-" + b.id) == []
    assert helpers.cgroup_leftovers(b.id) == []


def test_spec_dev_is_noexec(runtime, busybox_bundle, busybox_rootfs):
    """The default config's /dev is noexec: a program the container copies
    there does not run (EACCES); the control: the same program from the
    image runs, and the copy is there."""
    b = busybox_bundle()
    r = runtime("spec", "--bundle", b.path)
    assert r.returncode == 0, r.stderr
    os.symlink(busybox_rootfs, os.path.join(b.path, "rootfs"))
    script = ("cp /bin/busybox /dev/bb && echo copied; /bin/busybox true && echo image-runs; "
              "/dev/bb true; echo dev-rc=$?; grep ' /dev ' /proc/self/mountinfo | grep -c noexec\n")
    r = runtime("run", "--bundle", b.path, b.id, stdin=script,
                out=b.out_path, err=b.err_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[:4] == ["copied", "image-runs", "dev-rc=126", "1"], (r.stdout, r.stderr)
    assert "Permission denied" in r.stderr, r.stderr


@pytest.mark.isc_only
def test_spec_bundle_refuses_to_overwrite(runtime, test_dir):
    d = os.path.join(test_dir, "spec-bundle")
    os.makedirs(d)
    cfg = os.path.join(d, "config.json")
    with open(cfg, "w") as f:
        f.write("mine\n")
    r = runtime("spec", "--bundle", d)
    assert r.returncode != 0
    assert "spec: %s already exists; not overwriting it" % cfg in r.stderr, r.stderr
    with open(cfg) as f:
        assert f.read() == "mine\n"


@pytest.mark.isc_only
def test_spec_bundle_missing_dir_named(runtime, test_dir):
    d = os.path.join(test_dir, "no-such-dir")
    r = runtime("spec", "--bundle", d)
    assert r.returncode != 0
    assert "spec: create %s/config.json" % d in r.stderr, r.stderr
    assert not os.path.exists(d)


def test_spec_rootless(runtime):
    r = runtime("spec", "--rootless")
    assert r.returncode == 0, r.stderr
    with open(os.path.join(runtime.workdir, "config.json")) as f:
        spec = json.load(f)
    types = {n["type"] for n in spec["linux"]["namespaces"]}
    assert "user" in types
    assert spec["linux"]["uidMappings"]


@pytest.mark.isc_only
def test_spec_seccomp_only(runtime, test_dir):
    """spec --seccomp-only prints linux.seccomp of the default config.json
    to stdout (the file podman and docker take as --security-opt
    seccomp=FILE) and writes no config.json; --bundle and --rootless are
    refused with it, named."""
    r = runtime("spec", "--seccomp-only")
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert not os.path.exists(os.path.join(runtime.workdir, "config.json"))
    profile = json.loads(r.stdout)
    d = os.path.join(test_dir, "spec-full")
    os.makedirs(d)
    assert runtime("spec", "--bundle", d).returncode == 0
    with open(os.path.join(d, "config.json")) as f:
        assert profile == json.load(f)["linux"]["seccomp"]
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and profile["defaultErrnoRet"] == 1
    for flag in (["--bundle", d], ["--rootless"]):
        r = runtime("spec", "--seccomp-only", *flag)
        assert (r.returncode, r.stdout) == (1, ""), r.stderr
        assert "isc-runtime spec: --seccomp-only prints the profile to stdout: %s has no meaning with it" \
            % flag[0] in r.stderr, r.stderr


def test_features_json(runtime):
    r = runtime("features")
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)
    assert f["ociVersionMin"].startswith("1.")
    assert "createRuntime" in f["hooks"]
    assert "user" in f["linux"]["namespaces"]


@pytest.mark.isc_only
def test_features_isc_content(runtime):
    f = json.loads(runtime("features").stdout)
    assert set(f["hooks"]) >= {"prestart", "createRuntime", "createContainer",
                               "startContainer", "poststart", "poststop"}
    assert set(f["linux"]["namespaces"]) >= set(helpers.NAMESPACES)
    caps = set(f["linux"]["capabilities"])
    assert {"CAP_SYS_ADMIN", "CAP_KILL", "CAP_BPF"} <= caps
    assert f["linux"]["seccomp"]["enabled"] is True
    assert "SCMP_ACT_ERRNO" in f["linux"]["seccomp"]["actions"]
    assert "rbind" in f["mountOptions"]
    # every org.isc.* annotation the runtime honours (docs/annotations.md)
    assert {"org.isc.scratch", "org.isc.image.root", "org.isc.image.store", "org.isc.landlock",
            "org.isc.audit.id"} <= set(f["annotations"])
