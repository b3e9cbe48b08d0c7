# SPDX-License-Identifier: GPL-2.0-or-later
"""isc only: the compiled-seccomp cache (ISC_SECCOMP_CACHE=DIR).

Proves: a run with a profile fills the cache; a second run with the same
profile still enforces it; a tampered cache entry is never trusted (the
profile is still enforced with its own errno); a different profile does
not reuse the first one's entry.
"""
import errno
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


def test_unsafe_cache_dir_not_used(runtime, bundle, cache_dir):
    os.chmod(cache_dir, 0o777)
    r = _run(runtime, bundle, cache_dir, errno.EXDEV)
    if r.returncode != 1:
        # refusing to run is acceptable, but not silently running unconfined
        assert "errno" not in r.stdout or r.stdout.strip() == "errno EXDEV"
        return
    assert r.stdout.strip() == "errno EXDEV"
    assert _files(cache_dir) == [], "wrote into a world-writable cache dir"
