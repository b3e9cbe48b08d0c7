# SPDX-License-Identifier: GPL-2.0-or-later
"""isc only: the compiled-seccomp cache (ISC_SECCOMP_CACHE=DIR).

Proves: a run with a profile fills the cache; a second run with the same
profile still enforces it; a tampered cache entry is never trusted (the
profile is still enforced with its own errno); a different profile does
not reuse the first one's entry; a cache directory others may write to is
neither read (a forged entry planted there is ignored, while the same entry
is used from a safe directory) nor written, and the container still runs
confined by its profile (the denied call fails with the profile's errno,
/proc/self/status says Seccomp: 2).
"""
import errno
import hashlib
import os

import pytest

import helpers
from helpers import errno_rule, seccomp_profile

pytestmark = pytest.mark.isc_only


@pytest.fixture
def cache_dir(test_dir):
    d = os.path.join(test_dir, "seccomp-cache")
    os.makedirs(d, mode=0o700)
    os.chmod(d, 0o700)
    return d


def _files(d):
    out = []
    for root, _dirs, files in os.walk(d):
        out += [os.path.join(root, f) for f in files]
    return sorted(out)


def _run(runtime, bundle, cache_dir, err):
    b = bundle("mkdir", "/tmp/d")
    b.linux["seccomp"] = seccomp_profile(rules=[errno_rule(["mkdir", "mkdirat"], err)])
    return runtime.run(b, env={"ISC_SECCOMP_CACHE": cache_dir})


def test_cache_filled_and_reused(runtime, bundle, cache_dir):
    r = _run(runtime, bundle, cache_dir, errno.EXDEV)
    assert r.stdout.strip() == "errno EXDEV", r.stderr
    files = _files(cache_dir)
    assert files, "nothing cached"
    r = _run(runtime, bundle, cache_dir, errno.EXDEV)
    assert r.stdout.strip() == "errno EXDEV", r.stderr
    assert _files(cache_dir) == files


def test_tampered_entry_not_trusted(runtime, bundle, cache_dir):
    assert _run(runtime, bundle, cache_dir, errno.EXDEV).stdout.strip() == "errno EXDEV"
    for f in _files(cache_dir):
        with open(f, "r+b") as fh:
            data = bytearray(fh.read())
            for i in range(0, len(data), 7):
                data[i] ^= 0xff
            fh.seek(0)
            fh.write(data)
    r = _run(runtime, bundle, cache_dir, errno.EXDEV)
    assert r.stdout.strip() == "errno EXDEV", r.stderr


def test_different_profile_different_entry(runtime, bundle, cache_dir):
    assert _run(runtime, bundle, cache_dir, errno.EXDEV).stdout.strip() == "errno EXDEV"
    r = _run(runtime, bundle, cache_dir, errno.EMLINK)
    assert r.stdout.strip() == "errno EMLINK", r.stderr


MAGIC_LEN, KEY_LEN, HEADER_LEN = 8, 32, 80  # struct cache_header in src/lib/kernel/seccomp.c


def _forge(entry_for_key, entry_with_program):
    """A cache entry that names the key of `entry_for_key` but carries the
    program of `entry_with_program`, with a correct checksum: what anyone
    who can write into the cache directory can make (the checksum is not a
    secret)."""
    key_entry = open(entry_for_key, "rb").read()
    prog_entry = open(entry_with_program, "rb").read()
    magic = key_entry[:MAGIC_LEN]
    key = key_entry[MAGIC_LEN:MAGIC_LEN + KEY_LEN]
    flags_count = prog_entry[MAGIC_LEN + KEY_LEN:MAGIC_LEN + KEY_LEN + 8]
    insns = prog_entry[HEADER_LEN:]
    assert len(flags_count) == 8 and insns
    total = hashlib.sha256(key + flags_count + insns).digest()
    return magic + key + flags_count + total + insns


def _run_status(runtime, busybox_bundle, cache_dir, err):
    """mkdir (denied by the profile) and the Seccomp line of /proc/self/status."""
    b = busybox_bundle("/bin/sh", "-c", "/bin/payload mkdir /tmp/d; /bin/payload status Seccomp")
    b.linux["seccomp"] = seccomp_profile(rules=[errno_rule(["mkdir", "mkdirat"], err)])
    r = runtime.run(b, env={"ISC_SECCOMP_CACHE": cache_dir})
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_unsafe_cache_dir_not_used(runtime, bundle, busybox_bundle, cache_dir, test_dir):
    """A cache directory others may write to is neither read nor written,
    and the container is still confined by its own profile.  Control: the
    same forged entry in a safe directory is used (so the check below could
    see a planted entry taking effect)."""
    assert _run(runtime, bundle, cache_dir, errno.EMLINK).stdout.strip() == "errno EMLINK"
    (emlink,) = _files(cache_dir)
    assert _run(runtime, bundle, cache_dir, errno.EXDEV).stdout.strip() == "errno EXDEV"
    (exdev,) = [f for f in _files(cache_dir) if f != emlink]
    forged = _forge(exdev, emlink)
    with open(exdev, "wb") as f:
        f.write(forged)
    # control: from a safe directory, the forged entry is trusted
    assert _run(runtime, bundle, cache_dir, errno.EXDEV).stdout.strip() == "errno EMLINK"

    unsafe = os.path.join(test_dir, "unsafe-cache")
    os.makedirs(unsafe)
    os.chmod(unsafe, 0o777)
    planted = os.path.join(unsafe, os.path.basename(exdev))
    fd = os.open(planted, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(forged)
    assert _run_status(runtime, busybox_bundle, unsafe, errno.EXDEV) == ["errno", "EXDEV", "2"]
    # nothing written, the planted entry untouched
    assert _files(unsafe) == [planted]
    with open(planted, "rb") as f:
        assert f.read() == forged
    # an empty unsafe directory: confined, nothing written either
    empty = os.path.join(test_dir, "unsafe-empty")
    os.makedirs(empty)
    os.chmod(empty, 0o777)
    assert _run_status(runtime, busybox_bundle, empty, errno.EXDEV) == ["errno", "EXDEV", "2"]
    assert _files(empty) == [], "wrote into a world-writable cache dir"


def test_no_profile_is_seccomp_mode_0(runtime, busybox_bundle):
    """Control for the Seccomp: 2 checks: without a profile the line says 0."""
    b = busybox_bundle("/bin/payload", "status", "Seccomp")
    assert runtime.run_ok(b).strip() == "0"
