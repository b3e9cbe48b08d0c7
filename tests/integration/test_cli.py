# SPDX-License-Identifier: GPL-2.0-or-later
"""isc's exit codes (isc(1), EXIT STATUS): 2 when the command line is refused before anything
is done (with the reason and the usage on stderr), 1 for a failure, 0 for success. Runs
against an empty state root that is not an ISC host: nothing here may create anything in it."""
import os
import subprocess

import pytest

import helpers

ISC = os.path.abspath(os.environ.get("ISC_TEST_ISC", os.path.join(helpers.BUILD, "src", "isc", "isc")))

pytestmark = pytest.mark.isc_only


@pytest.fixture
def root(tmp_path):
    d = tmp_path / "root"
    d.mkdir()
    yield str(d)
    assert os.listdir(str(d)) == [], "a refused command left files in the state root"


def isc(root, *args):
    env = {k: v for k, v in os.environ.items() if k != "ISC_LAB"}
    return subprocess.run([ISC, "--root", root, *args], capture_output=True, text=True, timeout=30, env=env)


USAGE = [
    ([], "Usage"),
    (["nosuchverb"], "unknown command"),
    (["init", "--bogus"], "unknown or incomplete option"),
    (["init", "extra"], "unexpected argument"),
    (["deinit", "extra"], "unexpected argument"),
    (["exec"], "NAME and a CMD are required"),
    (["exec", "-u", "abc", "web", "sh"], "numeric UID"),
    (["exec", "-e", "novalue", "web", "sh"], "K=V"),
    (["run", "--name", "web"], "run"),
    (["run", "--name", "web", "--memory", "lots", "busybox"], "--memory"),
    (["run", "--name", "web", "--bogus", "busybox"], "--bogus"),
    (["ps", "--bogus"], "isc ps"),
    (["inspect"], "isc inspect"),
    (["stop"], "a NAME is required"),
    (["rm"], "a NAME is required"),
    (["logs"], "isc logs"),
    (["expose", "web"], "usage"),
    (["unexpose"], "usage"),
    (["allow", "web"], "usage"),
    (["policy", "toggle"], "usage"),
    (["packets", "--bogus"], "usage"),
    (["audit", "--type", "nope"], "--type"),
    (["audit", "--format", "xml"], "--format"),
    (["audit", "verify", "a", "b"], "unexpected argument"),
    (["image"], "image"),
    (["image", "nosuch"], "unknown command"),
    (["image", "rm"], "image"),
    (["image", "ls", "--format", "xml"], "unknown format"),
    (["lab"], "lab"),
    (["lab", "nosuch"], "unknown command"),
    (["lab", "create"], "no lab given"),
    (["--lab", "x", "lab", "create", "extra"], "create"),
    (["--lab", "x", "lab", "exec"], "no command"),
    (["--lab", "x", "lab", "exec", "-x"], "unknown option"),
    (["--lab", "x", "lab", "ls", "--format", "xml"], "unknown format"),
]


@pytest.mark.parametrize("args,message", USAGE, ids=[" ".join(a) or "(none)" for a, _ in USAGE])
def test_usage_errors_exit_2(root, args, message):
    r = isc(root, *args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert message in r.stderr, r.stderr
    assert r.stdout == ""


def test_failures_exit_1_and_help_exits_0(root):
    # well-formed commands that fail: not an ISC host, no such image, no such lab
    for args in (["ps"], ["image", "rm", "nosuch"], ["logs", "web"], ["--lab", "nosuchlab0", "lab", "info"]):
        r = isc(root, *args)
        assert r.returncode == 1, (args, r.returncode, r.stderr)
        assert r.stderr.startswith("isc"), r.stderr
    assert "Exit status: 0 success, 1 failure, 2 " in isc(root, "--help").stdout
    for args in (["--help"], ["run", "--help"], ["image", "--help"], ["lab", "--help"], ["audit", "--help"],
                 ["ps", "--help"], ["expose", "--help"]):
        r = isc(root, *args)
        assert r.returncode == 0 and r.stdout and r.stderr == "", (args, r.returncode, r.stderr)


def test_packets_text_names_a_malformed_header(tmp_path):
    """isc packets prints what the packet log says of a malformed IPv4 header (docs/network.md)."""
    root = tmp_path / "r"
    (root / "log").mkdir(parents=True)
    (root / "log" / "packets.jsonl").write_text(
        '{"time":"T","prefix":"isc-spoof-ip","verdict":"drop","container":"web","in":"isc0","physin":"vc1",'
        '"src":"10.213.0.99","dst":"192.0.2.1","proto":6,"malformed":"ipv4 header length"}\n'
        '{"time":"T","prefix":"isc-spoof-ip","verdict":"drop","container":"web","in":"isc0","physin":"vc1",'
        '"src":"10.213.0.99","dst":"192.0.2.1","proto":"tcp","sport":1,"dport":2}\n')
    r = isc(str(root), "packets")
    assert r.returncode == 0, r.stderr
    bad, good = r.stdout.splitlines()
    assert bad.endswith("malformed: ipv4 header length") and "10.213.0.99 -> 192.0.2.1" in bad
    assert "malformed" not in good and "10.213.0.99:1 -> 192.0.2.1:2" in good
