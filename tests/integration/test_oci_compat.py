# SPDX-License-Identifier: GPL-2.0-or-later
"""What the clients write: settings isc-runtime cannot apply, and the
shapes Docker and `runc spec` give a config.

Proves: a non-empty process.apparmorProfile, process.selinuxLabel or
linux.mountLabel fails the create with a message naming the field and why
(the module is not enabled on this machine), leaving no state, cgroup or
mount behind, while an empty one is "not set" and runs;
linux.resources.network is a warning on the log, not an error; `features`
says AppArmor and SELinux are not supported; Docker 20.10's
linux.resources (every limit it was not given written as 0) runs, 0 being
"not set" as runc reads it, and the limits stay unset in the container's
cgroups, while a real out-of-range value is still refused; `runc spec`'s
own default config (ambient capabilities that are not inheritable) runs,
with a warning naming each ambient capability that is not raised, and the
container has none in its ambient set, as under runc.
"""
import json
import os
import shutil
import subprocess

import pytest

import helpers

pytestmark = pytest.mark.no_leak_check


def _assert_clean(runtime, b):
    assert helpers.state_leftovers(runtime.root, b.id) == []
    assert helpers.cgroup_leftovers(b.cgroup_name) == []
    assert helpers.mount_leftovers(b.path) == []
    assert helpers.mount_leftovers(b.rootfs) == []
    assert runtime.state(b.id, check=False).returncode != 0


def _apparmor_enabled():
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().startswith("Y")
    except OSError:
        return False


def _selinux_enabled():
    return os.path.exists("/sys/fs/selinux/enforce")


def _why(module, enabled):
    if enabled:
        return "isc-runtime does not support %s" % module
    return "%s is not enabled on this machine" % module


# field, where it goes, value, module, what runc says about it here
LSM_SETTINGS = [
    ("process.apparmorProfile", ("process", "apparmorProfile"), "isc-test-profile", "AppArmor",
     "apparmor failed to apply profile"),
    ("process.selinuxLabel", ("process", "selinuxLabel"), "system_u:system_r:container_t:s0",
     "SELinux", "selinux label is specified in config, but selinux is disabled or not supported"),
    # runc passes it as context= to the tmpfs mounts, which the kernel refuses
    ("linux.mountLabel", ("linux", "mountLabel"), "system_u:object_r:container_file_t:s0",
     "SELinux", 'context=\\"system_u:object_r:container_file_t:s0\\": invalid argument'),
]


@pytest.mark.parametrize("field,where,value,module,runc_says", LSM_SETTINGS,
                         ids=[s[0] for s in LSM_SETTINGS])
def test_lsm_setting_that_cannot_be_applied_is_refused(runtime, bundle, field, where, value,
                                                       module, runc_says):
    enabled = _apparmor_enabled() if module == "AppArmor" else _selinux_enabled()
    if runtime.is_runc and enabled:
        pytest.skip("%s is enabled here: runc applies %s" % (module, field))
    b = bundle("echo", "ran")
    b.config[where[0]][where[1]] = value
    r = runtime.create(b)
    assert r.returncode != 0
    if runtime.is_isc:
        assert r.stderr == "isc-runtime: %s: cannot apply \"%s\": %s\n" % (
            field, value, _why(module, enabled))
    else:
        assert runc_says in r.stderr, r.stderr
    assert "ran" not in b.output()
    _assert_clean(runtime, b)


def test_empty_lsm_settings_are_not_set(runtime, bundle):
    """An empty string is "not set": the container runs (the control for the
    refusals above)."""
    b = bundle("echo", "ran")
    b.process["apparmorProfile"] = ""
    b.process["selinuxLabel"] = ""
    b.linux["mountLabel"] = ""
    assert runtime.run_ok(b) == "ran\n"


@pytest.mark.runc_skip("runc refuses it: no net_cls hierarchy is mounted on this machine")
def test_network_resources_are_a_warning(runtime, bundle):
    b = bundle("echo", "ran")
    b.linux.setdefault("resources", {})["network"] = {
        "classID": 1048577, "priorities": [{"name": "lo", "priority": 2}]}
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert b.output() == "ran\n"
    assert r.stderr == ("isc-runtime: warning: linux.resources.network: not applied (isc-runtime "
                        "sets no net_cls classID or net_prio priorities)\n")


@pytest.mark.isc_only
def test_features_say_no_apparmor_no_selinux(runtime):
    r = runtime("features")
    assert r.returncode == 0, r.stderr
    linux = json.loads(r.stdout)["linux"]
    assert linux["apparmor"] == {"enabled": False}
    assert linux["selinux"] == {"enabled": False}


# linux.resources exactly as Docker 20.10 writes it for `docker run` without
# resource flags (cgroup v1, --network none)
DOCKER_RESOURCES = {
    "devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
        {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
        {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
        {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
    ],
    "memory": {"disableOOMKiller": False},
    "cpu": {"shares": 0},
    "blockIO": {"weight": 0},
}


def _own_group(hierarchy, name):
    """The container's group `name` in a cgroup v1 hierarchy (relative
    cgroupsPath: under this process's own group), or None."""
    for d in helpers.cgroup_leftovers(name):
        if d.startswith("/sys/fs/cgroup/%s/" % hierarchy):
            return d
    return None


def _read(path):
    with open(path) as f:
        return f.read().strip()


def test_docker_resources_with_zero_values_run(runtime, bundle):
    b = bundle("echo", "ran")
    b.linux["resources"] = helpers.deepcopy(DOCKER_RESOURCES)
    assert runtime.run_ok(b) == "ran\n"


def test_zero_limits_are_not_set(runtime, bundle):
    """Every limit runc reads 0 as "not set" for: the container starts and its
    groups keep the defaults (the parent's), not a limit of 0."""
    b = bundle("sleep", "30")
    b.linux["resources"] = {
        "memory": {"limit": 0, "reservation": 0, "swap": 0},
        "cpu": {"shares": 0, "quota": 0, "period": 0},
        "pids": {"limit": 0},
        "blockIO": {"weight": 0},
    }
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    checked = 0
    for hierarchy, name, unset in (("memory", "memory.limit_in_bytes", None),
                                   ("memory", "memory.soft_limit_in_bytes", None),
                                   ("cpu", "cpu.shares", "1024"),
                                   ("cpu", "cpu.cfs_quota_us", "-1"),
                                   ("pids", "pids.max", "max")):
        d = _own_group(hierarchy, b.cgroup_name)
        if d is None:
            continue  # the container did not need a group there
        got = _read(os.path.join(d, name))
        if unset is None:
            # unlimited: the largest page-aligned value, as the parent's
            assert int(got) >= 1 << 62, (name, got)
        else:
            assert got == unset, (name, got)
        checked += 1
    assert checked >= 1  # at least the pids group exists (isc and runc join it)
    assert runtime.delete(b.id, force=True).returncode == 0


@pytest.mark.isc_only
def test_blkio_weight_out_of_range_still_refused(runtime, bundle):
    """The control: 0 is "not set", 5 is an error naming the field."""
    b = bundle("true")
    b.linux["resources"] = {"blockIO": {"weight": 5}}
    r = runtime.create(b)
    assert r.returncode != 0
    assert r.stderr == "isc-runtime: %s: linux.resources.blockIO.weight: 5 is out of range " \
                       "[10, 1000]\n" % b.config_path
    _assert_clean(runtime, b)


def _runc_spec(directory):
    runc = shutil.which("runc") or "/usr/sbin/runc"
    if not os.access(runc, os.X_OK):
        pytest.skip("runc not installed (its `spec` writes the config under test)")
    os.makedirs(directory)
    r = subprocess.run([runc, "spec"], cwd=directory, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(directory, "config.json")) as f:
        return json.load(f)


def test_runc_spec_default_config_runs(runtime, bundle, test_dir):
    """`runc spec`'s config as written, with root.path at the test rootfs, no
    terminal (no console socket here), the payload as args and a cgroupsPath
    the teardown can check.  Its ambient set (CAP_AUDIT_WRITE, CAP_KILL,
    CAP_NET_BIND_SERVICE) has no inheritable capability: none is raised."""
    cfg = _runc_spec(os.path.join(test_dir, "runc-spec"))
    caps = cfg["process"]["capabilities"]
    assert caps["ambient"] and not caps.get("inheritable")  # the shape under test
    b = bundle("caps")
    cfg["root"]["path"] = b.rootfs
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/payload", "caps"]
    cfg["linux"]["cgroupsPath"] = b.cgroup_name
    b.config = cfg
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    got = helpers.parse_kv(b.output())
    want = helpers.cap_mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    assert got["CapEff"] == want and got["CapPrm"] == want and got["CapBnd"] == want
    assert got["CapAmb"] == "0" * 16
    assert got["CapInh"] == "0" * 16
    if runtime.is_isc:
        assert r.stderr == "".join(
            "isc-runtime: warning: process.capabilities.ambient: %s is not both permitted and "
            "inheritable: not raised\n" % c
            for c in ("CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"))


def test_ambient_capability_both_permitted_and_inheritable_is_raised(runtime, bundle):
    """The control for the test above: an ambient capability that is also
    inheritable and permitted is raised (for a non-root user too)."""
    b = bundle("caps")
    c = b.process["capabilities"]
    for s in ("bounding", "effective", "permitted", "inheritable", "ambient"):
        c[s] = ["CAP_KILL"]
    b.process["user"] = {"uid": 1000, "gid": 1000}
    got = helpers.parse_kv(runtime.run_ok(b))
    assert got["CapAmb"] == helpers.cap_mask(["CAP_KILL"])
    assert got["CapEff"] == helpers.cap_mask(["CAP_KILL"])
