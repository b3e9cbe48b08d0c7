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


# (args, the first line of stderr: what was refused and why; then, for some, the usage).
# `ps --bogus`, `inspect` and `logs` print the usage alone: it does not say what was wrong.
USAGE = [
    ([], "Usage: isc [GLOBAL OPTIONS] COMMAND [ARGS]"),
    (["nosuchverb"], 'isc: unknown command "nosuchverb"'),
    (["init", "--bogus"], "isc init: unknown or incomplete option --bogus"),
    (["init", "extra"], 'isc init: unexpected argument "extra"'),
    (["deinit", "extra"], 'isc deinit: unexpected argument "extra"'),
    (["exec"], "isc exec: a service NAME and a CMD are required"),
    (["exec", "-u", "abc", "web", "sh"], 'isc exec: -u "abc": a numeric UID[:GID] of the container'),
    (["exec", "-e", "novalue", "web", "sh"], 'isc exec: -e "novalue": K=V expected'),
    (["run", "--name", "web"],
     "isc: run: an IMAGE is required (isc run [OPTIONS] --name NAME IMAGE [CMD...])"),
    (["run", "--name", "web", "--memory", "lots", "busybox"],
     'isc: run: --memory: bad size "lots" (a number with an optional k, m, g or t)'),
    (["run", "--name", "web", "--bogus", "busybox"],
     "isc: run: unknown option --bogus (see isc run --help)"),
    # a clustered short flag is named by its letter, not by the word before it
    (["run", "--name", "web", "-dx", "busybox"], "isc: run: unknown option -x (see isc run --help)"),
    # no terminal through iscd yet: -i/-t say what to use instead
    (["run", "--name", "web", "-it", "busybox"],
     "isc: run: option -i is not supported yet (no terminal through iscd): run it with -d, then isc exec -it NAME CMD"),
    (["run", "--name", "web", "-w", "srv", "busybox"], 'isc: run: -w: directory "srv" must be an absolute path'),
    (["run", "--name", "web", "--hostname", "a_b", "busybox"],
     "isc: run: --hostname: \"a_b\": only letters, digits, '-' and '.' are allowed"),
    (["run", "--name", "web", "--entrypoint", "[1]", "busybox"],
     'isc: run: --entrypoint: "[1]" is not a JSON array of strings'),
    (["run", "--name", "web", "--rm", "--restart", "always", "busybox"],
     "isc: run: --rm: conflicts with --restart always (an --rm service is never restarted)"),
    (["run", "--name", "web", "--detach=1", "busybox"], "isc: run: option --detach takes no value"),
    (["run", "--name"], "isc: run: option --name needs a value"),
    (["ps", "--bogus"], "isc: ps: unknown option --bogus"),
    (["ps", "-z"], "isc: ps: unknown option -z"),
    (["ps", "-az"], "isc: ps: unknown option -z"),
    (["ps", "--all=1"], "isc: ps: --all takes no value"),
    (["ps", "--format"], "isc: ps: --format: a value is required"),
    (["ps", "web"], "isc: ps: unexpected argument web"),
    (["ps", "--format", "xml"], "isc: ps: --format: json expected, not xml"),
    (["inspect"], "isc: inspect: a NAME is required"),
    (["inspect", "--format", "{{.name", "web"], 'isc: inspect: --format: "{{" without "}}" in {{.name'),
    (["inspect", "web", "--format", "name"],
     "isc: inspect: --format: no field name (a path such as .status.state, or {{.PATH}})"),
    (["inspect", "-f", "{{name}}", "web"], "isc: inspect: --format: no field name"),
    (["port"], "isc: port: one NAME is required"),
    (["inspect", "web", "-f"], "isc: inspect: -f: a value is required"),
    (["port", "web", "db"], "isc: port: one NAME is required"),
    (["version", "--format", "xml"], "isc: version: --format: json expected, not xml"),
    (["info", "extra"], "isc: info: unexpected argument extra"),
    (["stop"], "isc: stop: a NAME is required"),
    (["rm"], "isc: rm: a NAME is required"),
    (["logs"], "isc: logs: one NAME is required"),
    (["logs", "web", "--tail", "x"], "isc: logs: --tail: a number of lines expected, not x"),
    (["logs", "web", "--tail"], "isc: logs: --tail: a value is required"),
    (["logs", "--since", "yesterday", "web"],
     "isc: logs: --since yesterday: RFC 3339 UTC time (2026-11-28T14:00:00Z) or an age (30s, 10m, 2h, 1d) expected"),
    (["logs", "web", "--format", "xml"], "isc: logs: --format: json expected, not xml"),
    (["logs", "web", "-x"], "isc: logs: unknown option -x"),
    (["logs", "web", "db"], "isc: logs: one NAME is required"),
    (["expose", "web"], "isc: expose: usage: isc expose NAME HOSTPORT:PORT[/tcp|udp]"),
    (["unexpose"], "isc: unexpose: usage: isc unexpose NAME HOSTPORT[/tcp|udp]"),
    (["allow", "web"], "isc: allow: usage: isc allow [--remove] SRC DST:PORT[/tcp|udp]"),
    (["policy", "toggle"], "isc: policy: usage: isc policy [ls [--format json] | enable RULE | disable RULE]"),
    (["packets", "--bogus"], "isc: packets: unknown or incomplete option --bogus"),
    (["audit", "--type", "nope"],
     "isc: audit: --type nope: one of exec, login, logout, admin, lost, gap, seal, loginuid expected"),
    (["audit", "--format", "xml"], "isc: audit: --format xml: json or text expected"),
    (["audit", "verify", "a", "b"], "isc: audit verify: unexpected argument a"),
    (["image"], "Usage: isc [GLOBAL OPTIONS] image COMMAND [ARGS]"),
    (["image", "nosuch"], 'isc image: unknown command "nosuch"'),
    (["image", "rm"], "isc image rm: 1 argument expected, 0 given"),
    (["image", "ls", "--format", "xml"], 'isc image ls: --format: unknown format "xml" (table or json)'),
    (["lab"], "Usage: isc [--lab NAME] lab COMMAND [ARGS]"),
    (["lab", "nosuch"], 'isc lab: unknown command "nosuch"'),
    (["lab", "create"], "isc lab create: no lab given: use isc --lab NAME lab create, or set ISC_LAB"),
    (["--lab", "x", "lab", "create", "extra"],
     "isc lab create: no arguments expected (the lab: --lab NAME or ISC_LAB)"),
    (["--lab", "x", "lab", "exec"], "isc lab exec: no command: isc --lab NAME lab exec -- CMD [ARG...]"),
    (["--lab", "x", "lab", "exec", "-x"], "isc lab exec: unknown option -x (put the command after --)"),
    (["--lab", "x", "lab", "ls", "--format", "xml"], 'isc lab ls: --format: unknown format "xml" (table or json)'),
]


@pytest.mark.parametrize("args,message", USAGE, ids=[" ".join(a) or "(none)" for a, _ in USAGE])
def test_usage_errors_exit_2(root, args, message):
    r = isc(root, *args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.splitlines()[0] == message, r.stderr
    assert r.stdout == ""
    # issue 16: a refused command line's message ends with what was wrong, not an errno text
    assert ": Invalid argument" not in r.stderr, r.stderr


def test_failures_exit_1_and_help_exits_0(root):
    # well-formed commands that fail: not an ISC host, no such image, no such lab
    for args, message in (
            (["ps"], "isc: iscd is not running for %s (isc init): No such file or directory" % root),
            (["image", "rm", "nosuch"], "isc: image store %s/images: No such file or directory" % root),
            (["logs", "web"], "isc: no service named web (%s/containers/web/logs)" % root),
            (["--lab", "nosuchlab0", "lab", "info"],
             "isc lab info: lab nosuchlab0 does not exist (isc --lab nosuchlab0 init creates it)")):
        r = isc(root, *args)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n"), args
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
