# SPDX-License-Identifier: GPL-2.0-or-later
"""isc cp against a hostile container (issue 16; docker cp's CVE-2018-15664,
a symbolic link swapped in while the copy resolved the path, and
CVE-2019-14271, docker cp loading the container's libraries).

The container's files are the attacker's.  isc cp runs as root on the host,
so a path that resolved outside the container would read or write the host.
What must hold (src/lib/host/copy.c):
  - a link in the container to a host path (/etc/shadow, /root, a sentinel
    directory this test makes) resolves inside the container: the copy
    reads the container's file of that name (a decoy it made in its /tmp:
    the positive control), never the host's; a link named last is copied
    as a link;
  - ".." never climbs above the container's root;
  - a link swapped in and out in a loop while isc cp runs (bounded number
    of copies) never leads a read or a write to the host;
  - a fifo or a device is refused when named (no hang) and left out of a
    tree; the host's fifos and devices are never made in the container;
  - a copy into a path whose parent is a link to "/" lands in the
    container's read-only root (refused) or where it writes (the positive
    control), never in the host's /etc.
The sentinel is a directory this test makes under /tmp; /etc and /root of
the host are only checked to be untouched (a unique name that must not
appear).
"""
import os
import shutil
import stat
import tempfile
import uuid

import pytest

from labhost import initialised_lab

pytestmark = pytest.mark.isc_only

NAME = "cpx"


@pytest.fixture(scope="module")
def lab():
    with initialised_lab(prefix="cpx") as lab:
        lab.isc("run", "-d", "--name", NAME, "busybox", "sleep", "3600")
        yield lab
        lab.isc("rm", "-f", NAME, check=False)


@pytest.fixture
def sentinel():
    """/tmp/isc-cpx-XXXX/secret on the host; in the container's /tmp the
    same path holds a decoy, so a read that resolved inside the container
    gets the decoy and a read that escaped gets the secret."""
    d = tempfile.mkdtemp(prefix="isc-cpx-", dir="/tmp")
    secret = "SECRET-" + uuid.uuid4().hex
    with open(os.path.join(d, "secret"), "w") as f:
        f.write(secret)
    os.mkdir(os.path.join(d, "hostdir"))
    yield d, secret
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="isc-cpx-t-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _sh(lab, script, name=NAME):
    return lab.isc("exec", name, "sh", "-c", script).stdout


def _read(path):
    with open(path) as f:
        return f.read()


@pytest.mark.pass_sanitizers
def test_links_to_host_paths_resolve_inside(lab, sentinel, tmp):
    d, secret = sentinel
    _sh(lab, "mkdir -p %s && echo -n decoy > %s/secret && rm -rf /persist/*; "
             "ln -s %s /persist/sent; ln -s /etc/shadow /persist/shadow; ln -s /root /persist/rootlink; "
             "ln -s ../../../../../..%s /persist/rel" % (d, d, d, d))
    for via in ("/persist/sent/secret", "/persist/rel/secret"):
        out = os.path.join(tmp, "o" + str(len(via)))
        lab.isc("cp", NAME + ":" + via, out)
        assert _read(out) == "decoy", via  # the container's file of that name
    # named last, a link is copied as a link: its target is never opened
    lab.isc("cp", NAME + ":/persist/shadow", os.path.join(tmp, "shadow"))
    assert os.readlink(os.path.join(tmp, "shadow")) == "/etc/shadow"
    # the container's /root is on its read-only root: never the host's /root
    mark = "isc-cpx-" + uuid.uuid4().hex
    _write = os.path.join(tmp, mark)
    with open(_write, "w") as f:
        f.write("x")
    r = lab.isc("cp", _write, NAME + ":/persist/rootlink/", check=False)
    assert r.returncode == 1 and "cannot write there" in r.stderr, r.stderr
    assert not os.path.lexists("/root/" + mark)
    # and a write through the sentinel link lands in the container's /tmp
    lab.isc("cp", _write, NAME + ":/persist/sent/")
    assert _sh(lab, "cat %s/%s" % (d, mark)) == "x"
    assert not os.path.lexists(os.path.join(d, mark))
    assert secret not in "".join(_read(os.path.join(tmp, f)) for f in os.listdir(tmp)
                                 if os.path.isfile(os.path.join(tmp, f)) and not os.path.islink(os.path.join(tmp, f)))


@pytest.mark.pass_sanitizers
def test_dotdot_never_climbs_above_the_root(lab, sentinel, tmp):
    d, secret = sentinel
    _sh(lab, "mkdir -p %s && echo -n decoy > %s/secret" % (d, d))
    out = os.path.join(tmp, "o")
    lab.isc("cp", NAME + ":/../../../../../.." + d + "/secret", out)
    assert _read(out) == "decoy"
    lab.isc("cp", NAME + ":/persist/../../../.." + d + "/secret", out)
    assert _read(out) == "decoy"
    # the host's file exists, under the same path: the copy did not take it
    assert _read(os.path.join(d, "secret")) == secret


@pytest.mark.pass_sanitizers
def test_fifos_and_devices(lab, tmp):
    # the service's seccomp filter refuses mknod: its /persist gets them
    # from the host's side (a volume another process writes would too)
    persist = lab.path("containers", NAME, "persist")
    _sh(lab, "rm -rf /persist/mixed /persist/fifo /persist/dev; mkdir /persist/mixed && "
             "echo -n data > /persist/mixed/file")
    os.mkfifo(os.path.join(persist, "fifo"))
    os.mkfifo(os.path.join(persist, "mixed", "fifo"))
    os.mknod(os.path.join(persist, "mixed", "dev"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(os.path.join(persist, "dev"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    r = lab.isc("cp", NAME + ":/persist/fifo", os.path.join(tmp, "f"), check=False, timeout=30)
    assert (r.returncode, r.stderr) == (
        1, "isc: %s:/persist/fifo: a fifo: isc cp copies files, directories and symbolic links\n" % NAME)
    for dev in ("/dev/null", "/persist/dev"):
        r = lab.isc("cp", NAME + ":" + dev, os.path.join(tmp, "n"), check=False, timeout=30)
        assert (r.returncode, r.stderr) == (
            1, "isc: %s:%s: a character device: isc cp copies files, directories and symbolic links\n" % (NAME, dev))
    assert os.listdir(tmp) == []
    # a tree: the file copied (positive control), the fifo and the device left out
    r = lab.isc("cp", NAME + ":/persist/mixed", tmp, timeout=30)
    assert r.stderr == "isc cp: 2 entries left out (fifos, sockets, devices, other mounts)\n"
    assert os.listdir(os.path.join(tmp, "mixed")) == ["file"]
    assert _read(os.path.join(tmp, "mixed", "file")) == "data"
    # the other way: the host's devices and fifos are never made in the container
    r = lab.isc("cp", "/dev/null", NAME + ":/persist/null", check=False)
    assert (r.returncode, r.stderr) == (
        1, "isc: /dev/null: a character device: isc cp copies files, directories and symbolic links\n")
    src = os.path.join(tmp, "in")
    os.mkdir(src)
    os.mkfifo(os.path.join(src, "fifo"))
    with open(os.path.join(src, "file"), "w") as f:
        f.write("in")
    r = lab.isc("cp", src, NAME + ":/persist/")
    assert r.stderr == "isc cp: 1 entries left out (fifos, sockets, devices, other mounts)\n"
    assert _sh(lab, "ls /persist/in; cat /persist/in/file") == "file\nin"
    assert "null" not in _sh(lab, "ls /persist")


@pytest.mark.pass_sanitizers
def test_parent_link_to_slash(lab, tmp):
    mark = "isc-cpx-" + uuid.uuid4().hex
    src = os.path.join(tmp, mark)
    with open(src, "w") as f:
        f.write("x")
    _sh(lab, "rm -f /persist/up; ln -s / /persist/up")
    r = lab.isc("cp", src, NAME + ":/persist/up/etc/" + mark, check=False)
    assert r.returncode == 1 and "cannot write there" in r.stderr, r.stderr
    r = lab.isc("cp", src, NAME + ":/persist/up/etc/", check=False)
    assert r.returncode == 1 and "cannot write there" in r.stderr, r.stderr
    assert not os.path.lexists("/etc/" + mark)
    # positive control: through the same link, where the container writes
    lab.isc("cp", src, NAME + ":/persist/up/persist/viaup")
    assert _sh(lab, "cat /persist/viaup") == "x"
    assert not os.path.lexists("/persist/viaup")


@pytest.mark.pass_normal
def test_symlink_swapped_in_a_loop(lab, sentinel, tmp):
    d, secret = sentinel
    hostdir = os.path.join(d, "hostdir")
    # /persist/d: a directory of the container's, then a link to the
    # host's sentinel directory, again and again
    lab.isc("run", "-d", "--name", "cpswap", "busybox", "sh", "-c",
            "mkdir -p /persist/d && echo -n inside > /persist/d/secret; "
            "while :; do mv /persist/d /persist/real; ln -s %s /persist/d; "
            "rm /persist/d; mv /persist/real /persist/d; done" % d)
    try:
        src = os.path.join(tmp, "payload")
        with open(src, "w") as f:
            f.write("payload")
        seen = {"dir": 0, "link": 0, "read": 0}
        for i in range(2000):  # bounded; stops once every state was seen
            out = os.path.join(tmp, "o%d" % i)
            r = lab.isc("cp", "cpswap:/persist/d/secret", out, check=False)
            if r.returncode == 0:
                assert _read(out) == "inside"
                seen["read"] += 1
            else:
                assert r.stderr.startswith("isc: cpswap:/persist/d/secret: "), r.stderr
            lab.isc("cp", src, "cpswap:/persist/d/", check=False)
            probe = os.path.join(tmp, "p%d" % i)
            if lab.isc("cp", "cpswap:/persist/d", probe, check=False).returncode == 0:
                seen["link" if os.path.islink(probe) else "dir"] += 1
            assert os.listdir(hostdir) == [] and sorted(os.listdir(d)) == ["hostdir", "secret"]
            if i >= 20 and min(seen.values()) >= 3:
                break
        print("cp rounds: %d, seen %s" % (i + 1, seen))
        assert min(seen.values()) >= 3, seen  # the loop ran: both states copied, reads done
    finally:
        lab.isc("rm", "-f", "cpswap", check=False)
