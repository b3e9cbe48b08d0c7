# SPDX-License-Identifier: GPL-2.0-or-later
"""Sub-groups a container makes in its own cgroup, whatever their depth.

A container that can write its cgroup (an rw cgroup mount, a delegated v2
group) makes sub-groups at will; a chain "a/a/a/..." 2100 levels deep has
a host path longer than PATH_MAX (review 3, R3: every `delete -f` failed
with a 4 KB path, the id was never freed, the groups leaked; `kill --all`
did not reach the processes in the deep groups).  Proves, for isc-runtime
(and runc, when ISC_TEST_RUNTIME names it):
- `delete -f` removes a 2100-deep chain in the tracking group and in a
  second hierarchy, with a shallow sub-group beside it (positive control:
  sub-groups are removed at all): rc 0, no message, the id gone from
  `list`, no group of the container left in any hierarchy;
- `kill --all ID KILL` kills a process placed in the deepest group of the
  tracking hierarchy (on v1 the runtime lists it through that group; a
  v2 group's cgroup.kill is recursive in the kernel anyway), and a process
  in a shallow sub-group (control).

The chains are made from the host side, by fd (mkdir and open relative to
the level above, as the container would with cd + mkdir), only inside the
test container's own groups; the test removes them itself when the
runtime did not (the fixtures' cleanup walks by path and cannot).
"""
import errno
import os
import subprocess

import pytest

import helpers

DEPTH = 2100
PATH_MAX = 4096


def _groups(b):
    """The container's groups: (tracking, second) host directories.  The
    tracking one is pids on v1/hybrid, the v2 group on pure v2 (no second
    then)."""
    dirs = helpers.cgroup_leftovers(b.cgroup_name)
    assert dirs, "the container %s has no cgroup %s" % (b.id, b.cgroup_name)
    pids = [d for d in dirs if d.startswith("/sys/fs/cgroup/pids/")]
    if pids:
        others = [d for d in dirs if d.startswith("/sys/fs/cgroup/devices/")]
        return pids[0], (others[0] if others else None)
    return dirs[0], None


def _make_chain(top, depth):
    """mkdir "a" `depth` times, each inside the one before, by fd.  Returns
    the fd of the deepest group (the caller closes it)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("a", dir_fd=fd)
        sub = os.open("a", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = sub
    return fd


def _chain_depth(top):
    """How deep the chain "a/a/..." below `top` goes now (0: none)."""
    try:
        fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return 0
    n = 0
    try:
        while True:
            try:
                sub = os.open("a", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                return n
            os.close(fd)
            fd = sub
            n += 1
    finally:
        os.close(fd)


def _remove_chain(top):
    """The test's own cleanup when the runtime left the chain: down by fd,
    back up through "..", rmdir each level; processes in it are killed
    first (all of them the test's)."""
    try:
        fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return
    n = 0
    while True:
        try:
            sub = os.open("a", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        except FileNotFoundError:
            break
        os.close(fd)
        fd = sub
        n += 1
        try:
            with open(os.open("cgroup.procs", os.O_RDONLY, dir_fd=fd)) as f:
                for p in f.read().split():
                    try:
                        os.kill(int(p), 9)
                    except OSError:
                        pass
        except OSError:
            pass
    for _ in range(n):
        up = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = up
        helpers.wait_for(lambda: _rmdir_at(fd, "a"), timeout=10, what="an emptied group to go")
    os.close(fd)


def _rmdir_at(fd, name):
    try:
        os.rmdir(name, dir_fd=fd)
    except FileNotFoundError:
        pass
    except OSError as e:
        if e.errno != errno.EBUSY:
            raise
        return False
    return True


def _listed(runtime, cid):
    r = runtime("list")
    assert r.returncode == 0, r.stderr
    return cid in [line.split()[0] for line in r.stdout.splitlines()[1:] if line.split()]


@pytest.fixture
def chains():
    """Tops the test made a chain under; removed after, if still there."""
    tops = []
    yield tops
    for t in tops:
        _remove_chain(t)


def test_delete_removes_deep_subgroups(runtime, bundle, chains):
    b = bundle("sleep", "60")
    assert runtime.create(b).returncode == 0, b.errors()
    assert runtime.start(b.id).returncode == 0
    track, second = _groups(b)
    for top in [track] + ([second] if second else []):
        chains.append(top)
        os.close(_make_chain(top, DEPTH))
        assert _chain_depth(top) == DEPTH
        assert len(top) + 2 * DEPTH > PATH_MAX  # the host path could not name it
        os.makedirs(os.path.join(top, "shallow", "x"))  # the control
    assert _listed(runtime, b.id)
    r = runtime.delete(b.id, force=True)
    assert (r.returncode, r.stderr) == (0, "")
    assert not _listed(runtime, b.id)
    assert runtime.state(b.id, check=False).returncode != 0
    assert helpers.cgroup_leftovers(b.cgroup_name) == []
    assert [t for t in chains if os.path.exists(t)] == []


def test_kill_all_reaches_the_deepest_group(runtime, bundle, chains):
    b = bundle("sleep", "60")
    assert runtime.create(b).returncode == 0, b.errors()
    assert runtime.start(b.id).returncode == 0
    track, _ = _groups(b)
    chains.append(track)
    deep = subprocess.Popen(["sleep", "300"])
    shallow = subprocess.Popen(["sleep", "300"])
    try:
        fd = _make_chain(track, DEPTH)
        try:
            with open(os.open("cgroup.procs", os.O_WRONLY, dir_fd=fd), "w") as f:
                f.write(str(deep.pid))
        finally:
            os.close(fd)
        os.mkdir(os.path.join(track, "shallow"))
        with open(os.path.join(track, "shallow", "cgroup.procs"), "w") as f:
            f.write(str(shallow.pid))
        assert deep.poll() is None and shallow.poll() is None
        r = runtime("kill", "--all", b.id, "KILL")
        assert (r.returncode, r.stderr) == (0, "")
        assert shallow.wait(timeout=10) == -9
        assert deep.wait(timeout=10) == -9
        runtime.wait_status(b.id, "stopped")
        r = runtime.delete(b.id)
        assert (r.returncode, r.stderr) == (0, "")
        assert helpers.cgroup_leftovers(b.cgroup_name) == []
    finally:
        for p in (deep, shallow):
            if p.poll() is None:
                p.kill()
                p.wait()
