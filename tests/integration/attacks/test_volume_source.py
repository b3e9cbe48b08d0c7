# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 11, item 6: volume sources.

The attack (found on 51b9795): a volume's source was resolved again by path,
following symbolic links, at every start.  Whoever could write a parent of
the source could swap it for a symbolic link to a host directory between two
starts, and the service's next start -- which it can trigger itself by
exiting -- mounted that directory instead.

What must hold now:
  - `isc run` refuses a source inside a path a service can write (another
    service's writable volume, the state root), and a writable volume that
    holds another volume's source; the message names the source and the
    owner.  Positive control: a source outside every writable path runs.
  - A writer isc cannot see (here a container of isc-runtime itself with a
    writable bind of the parent) swaps the source of service B for a
    symbolic link to a sentinel directory, or for a directory of its own,
    and makes B exit.  B's restart is refused with a message that says what
    changed, and B never sees the sentinel.  The same with a mount over the
    source made on the host (same inode, another mount).
The sentinel is a directory this test makes; nothing of the host's is used.
"""
import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from helpers import wait_for
from labhost import lab_host  # noqa: F401  (fixture)

pytestmark = pytest.mark.isc_only

WAIT_LOOP = "ls /home; cat /home/* 2>/dev/null; while [ ! -e /home/restart-now ]; do sleep 0.1; done; exit 1"


@pytest.fixture
def area():
    """/tmp/isc-vol-XXXX (traversable by a container's root) with a
    sentinel directory that no service may ever see."""
    d = tempfile.mkdtemp(prefix="isc-vol-", dir="/tmp")
    os.chmod(d, 0o755)
    token = "SENTINEL-" + uuid.uuid4().hex
    sentinel = os.path.join(d, "sentinel")
    os.mkdir(sentinel)
    os.chmod(sentinel, 0o755)
    with open(os.path.join(sentinel, token), "w") as f:
        f.write(token + "\n")
    os.chmod(os.path.join(sentinel, token), 0o644)
    yield d, sentinel, token
    subprocess.run(["umount", "-R", "-l", d], capture_output=True)  # a test's mount, when it failed
    shutil.rmtree(d, ignore_errors=True)


def _mkdir(path, mode=0o755):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    return path


def _status(lab, name):
    return json.loads(lab.isc("inspect", name).stdout)[0]["status"]


def _run_refused(lab, *args):
    r = lab.isc("run", "-d", *args, check=False)
    assert r.returncode != 0, "isc run %s was accepted" % " ".join(args)
    return r.stderr


def test_source_inside_a_writable_path_is_refused_at_run(lab_host, area):
    lab = lab_host
    base, _, _ = area
    a = _mkdir(os.path.join(base, "a"), 0o777)
    _mkdir(os.path.join(a, "sub"))
    other = _mkdir(os.path.join(base, "other"))
    lab.isc("run", "-d", "--name", "vol-a", "-v", "%s:/mnt" % a, "busybox", "sleep", "600")
    # B's source inside A's writable volume: A could replace it
    err = _run_refused(lab, "--name", "vol-b", "-v", "%s/sub:/home:ro" % a, "busybox", "true")
    assert ("-v %s/sub: the source is inside %s, which service vol-a can write (its volume %s:/mnt)"
            % (a, a, a)) in err, err
    # the same place through a second path (a bind mount) is no way around it
    alias = _mkdir(os.path.join(base, "alias"))
    subprocess.run(["mount", "--bind", a, alias], check=True)
    try:
        err = _run_refused(lab, "--name", "vol-b", "-v", "%s/sub:/home:ro" % alias, "busybox", "true")
        assert "which service vol-a can write" in err, err
    finally:
        subprocess.run(["umount", alias], check=True)
    # a writable volume that holds another service's source
    lab.isc("run", "-d", "--name", "vol-c", "-v", "%s:/home:ro" % other, "busybox", "sleep", "600")
    err = _run_refused(lab, "--name", "vol-d", "-v", "%s:/www" % base, "busybox", "true")
    head = "-v %s:/www: service vol-d could write %s, a parent of " % (base, base)
    assert (head + "%s, the source of a volume of service vol-a" % a in err
            or head + "%s, the source of a volume of service vol-c" % other in err), err
    # the state root
    err = _run_refused(lab, "--name", "vol-e", "-v", "%s/containers/vol-a:/mnt:ro" % lab.root, "busybox", "true")
    assert "the source is inside the state root %s" % lab.root in err, err
    # a symbolic link on the way
    os.symlink(other, os.path.join(base, "link"))
    err = _run_refused(lab, "--name", "vol-f", "-v", "%s/link:/mnt:ro" % base, "busybox", "true")
    assert "%s/link is a symbolic link" % base in err, err
    for name in ("vol-b", "vol-d", "vol-e", "vol-f"):
        assert not os.path.exists(lab.path("containers", name)), name
    # positive control: read-only over a parent of nobody's source, and a
    # writable source nobody else uses, both run
    lab.isc("run", "-d", "--name", "vol-g", "-v", "%s:/www:ro" % base, "-v", "%s:/home" % _mkdir(
        os.path.join(base, "g"), 0o777), "busybox", "sleep", "600")
    wait_for(lambda: _status(lab, "vol-g")["state"] == "running", what="vol-g running")
    for name in ("vol-a", "vol-c", "vol-g"):
        lab.isc("rm", "-f", "--purge", name)
    assert not [m for m in open("/proc/self/mountinfo").read().split("\n") if lab.root + "/containers" in m]


def _swap_by_another_container(runtime, busybox_bundle, parent, script):
    """A container of isc-runtime (a writer isc's services do not know)
    with `parent` bound writable at /mnt runs `script`."""
    b = busybox_bundle("/bin/sh", "-c", script)
    b.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": parent,
                               "options": ["rbind", "rw"]})
    r = runtime.run(b)
    assert r.returncode == 0, open(b.err_path).read()


def _service_on(lab, name, src):
    lab.isc("run", "-d", "--name", name, "--restart", "on-failure", "-v", "%s:/home:ro" % src,
            "busybox", "/bin/sh", "-c", WAIT_LOOP)
    wait_for(lambda: "marker-" + name in lab.isc("logs", name).stdout, timeout=20, what="%s up" % name)


@pytest.mark.parametrize("variant", ["symlink", "replaced"])
def test_swapped_source_is_refused_at_restart(lab_host, area, runtime, busybox_bundle, variant):
    lab = lab_host
    base, sentinel, token = area
    parent = _mkdir(os.path.join(base, "p"), 0o777)
    src = _mkdir(os.path.join(parent, "sub"), 0o777)
    with open(os.path.join(src, "marker-vol-b"), "w") as f:
        f.write("marker-vol-b\n")
    _service_on(lab, "vol-b", src)
    first = _status(lab, "vol-b")
    if variant == "symlink":
        swap = "mv /mnt/sub /mnt/sub.old && ln -s %s /mnt/sub" % sentinel
        expect = ("volume %s -> /home: %s is now a symbolic link (to %s); it was none at `isc run`"
                  % (src, src, sentinel))
    else:
        swap = "mv /mnt/sub /mnt/sub.old && mkdir /mnt/sub && echo fake > /mnt/sub/fake"
        expect = "volume %s -> /home: the source is not the one recorded at `isc run`" % src
    # the swap, then B exits by itself (it sees restart-now in its old source)
    _swap_by_another_container(runtime, busybox_bundle, parent, swap + " && touch /mnt/sub.old/restart-now")

    def settled():
        st = _status(lab, "vol-b")
        logs = lab.isc("logs", "vol-b").stdout
        if token in logs:
            return "saw the sentinel"
        if st["pid"] != first["pid"] and st["state"] == "running":
            return "restarted"
        return "refused" if expect in (st.get("last_error") or "") else None
    outcome = wait_for(settled, timeout=30, what="vol-b restarted or refused")
    logs = lab.isc("logs", "vol-b").stdout
    assert token not in logs, "the service saw the sentinel:\n" + logs
    assert outcome == "refused", (outcome, _status(lab, "vol-b"))
    st = _status(lab, "vol-b")
    assert "refusing to start" in st["last_error"], st["last_error"]
    assert st["state"] != "running"
    # nothing of the source or the sentinel stays mounted for it
    assert not [l for l in open("/proc/self/mountinfo") if "/containers/vol-b/volumes" in l]
    lab.isc("rm", "-f", "--purge", "vol-b")
    assert os.path.exists(os.path.join(sentinel, token)), "the sentinel was touched"


def test_a_mount_over_the_source_is_refused_at_restart(lab_host, area):
    """Same inode through another mount: the host mounted something at the
    source (here the source over itself)."""
    lab = lab_host
    base, _, _ = area
    src = _mkdir(os.path.join(base, "m"), 0o777)
    with open(os.path.join(src, "marker-vol-m"), "w") as f:
        f.write("marker-vol-m\n")
    _service_on(lab, "vol-m", src)
    subprocess.run(["mount", "--bind", src, src], check=True)
    try:
        open(os.path.join(src, "restart-now"), "w").close()
        expect = "volume %s -> /home: the source is reached through another mount than at `isc run`" % src
        wait_for(lambda: expect in (_status(lab, "vol-m").get("last_error") or ""), timeout=30,
                 what="the refusal")
        st = _status(lab, "vol-m")
        assert st["state"] != "running" and "refusing to start" in st["last_error"], st
        os.unlink(os.path.join(src, "restart-now"))
    finally:
        subprocess.run(["umount", src], check=True)
    # positive control: with the mount gone, the same source starts again
    lab.isc("start", "vol-m", check=False)
    wait_for(lambda: _status(lab, "vol-m")["state"] == "running", timeout=60, what="vol-m running again")
    lab.isc("rm", "-f", "--purge", "vol-m")
