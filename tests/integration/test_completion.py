# SPDX-License-Identifier: GPL-2.0-or-later
"""The verb and flag table of isc and isc-runtime (src/lib/base/cli.h) against what an operator
sees: every verb and flag of the table is in --help (of the program or of the verb), in the man
page and in the bash completion the program generates (`PROG completion bash`, installed by
meson); the completion script loads in bash and completes verb prefixes, flags, flag values and,
for isc, service and image names. The table itself comes from `PROG completion table` (hidden)."""
import os
import re
import shlex
import functools
import subprocess

import pytest

import helpers

ISC = os.path.abspath(os.environ.get("ISC_TEST_ISC", os.path.join(helpers.BUILD, "src", "isc", "isc")))
RUNTIME = os.path.abspath(os.environ.get("ISC_TEST_RUNTIME",
                                         os.path.join(helpers.BUILD, "src", "runtime", "isc-runtime")))
MAN = os.path.join(helpers.REPO, "man")
PROGS = {"isc": (ISC, "isc.1"), "isc-runtime": (RUNTIME, "isc-runtime.8")}

pytestmark = pytest.mark.isc_only


def run(*args, **kw):
    env = {k: v for k, v in os.environ.items() if k != "ISC_LAB"}
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, env=env, **kw)


def table(prog):
    """[(path, None)] for a verb, [(path, (long, short, arg))] for a flag; path "" is global."""
    r = run(PROGS[prog][0], "completion", "table")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    verbs, flags = [], []
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "verb":
            verbs.append(f[1])
        else:
            assert f[0] == "flag", line
            flags.append((f[1], f[2], f[3].strip(), f[4]))
    return verbs, flags


@functools.lru_cache(maxsize=None)
def help_text(prog, path):
    r = run(PROGS[prog][0], *path.split(), "--help")
    assert r.returncode == 0 and r.stderr == "", (path, r.stderr)
    return r.stdout


def man_text(prog):
    """The man page's words: roff escapes and font changes removed."""
    text = open(os.path.join(MAN, PROGS[prog][1])).read()
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace("\\(em", "--")
    return re.sub(r"^\.[A-Z]+ ?", "", text, flags=re.M).replace('"', "")


def completion(prog):
    r = run(PROGS[prog][0], "completion", "bash")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return r.stdout


@pytest.fixture(params=sorted(PROGS))
def prog(request, tmp_path):
    path = tmp_path / request.param
    path.write_text(completion(request.param))
    return request.param, str(path)


def query(prog, path, word):
    # the function is _PROG; the words: the program, the verb path, the word being completed
    return ["_" + prog.replace("-", "_"), PROGS[prog][0], *path.split(), word]


def complete_all(script, queries):
    lines = ["source %s" % shlex.quote(script)]
    for fn, *words in queries:
        lines.append("COMP_WORDS=(%s); COMP_CWORD=%d; COMPREPLY=(); %s; echo \"${COMPREPLY[*]}\"" % (
            " ".join(shlex.quote(w) for w in words), len(words) - 1, fn))
    r = run("bash", "--norc", "--noprofile", "-c", "\n".join(lines))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    out = r.stdout.split("\n")
    assert len(out) == len(queries) + 1, r.stdout
    return [o.split() for o in out[:-1]]


def test_table_is_in_help_man_and_completion(prog):
    name, script = prog
    verbs, flags = table(name)
    assert len(verbs) >= 14 and len(flags) >= 20  # the table is read, not empty
    man = man_text(name)
    top = help_text(name, "")
    # every verb: in its parent's --help (a line starting with its name), the man page, the completion
    queries, expected, gaps = [], [], []
    for path in verbs:
        *parent, verb = path.split()
        parent_help = help_text(name, " ".join(parent))
        assert re.search(r"^  %s +\S" % re.escape(verb), parent_help, re.M), (path, parent_help)
        # "isc image ls", "isc policy [ls", or (isc-runtime(8)'s list of commands) at a line's start
        if not re.search(r"\b%s\s+\[?%s\b" % (re.escape(parent[-1] if parent else name), re.escape(verb)), man) \
                and not (not parent and re.search(r"^%s\b" % re.escape(verb), man, re.M)):
            gaps.append(path)
        queries.append(query(name, " ".join(parent), verb[:2]))
        expected.append(verb)
    # every flag: its long form (and "-s, --long" when it has a short one) in the --help of its
    # verb (the program's for a global flag), the man page, the completion of "-" / "--"
    for path, long_, short, arg in flags:
        h = help_text(name, path) if path else top
        form = "%s, %s" % (short, long_) if short else long_
        assert re.search(r"^  %s%s(?!\S)" % (re.escape(form), re.escape(" " + arg) if arg else ""), h, re.M), \
            (path, form, h)
        if long_ != "--help":
            for f in [long_] + ([short] if short else []):
                if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(f), man):
                    gaps.append("%s %s" % (path, f))
        queries.append(query(name, path, "--"))
        expected.append(long_)
        if short:
            queries.append(query(name, path, "-"))
            expected.append(short)
    assert gaps == [], "not in the man page: %s" % gaps
    got = complete_all(script, queries)
    missing = [(q[2:], e) for q, e, g in zip(queries, expected, got) if e not in g]
    assert missing == []


def test_completion_loads_and_completes(prog, tmp_path):
    name, script = prog
    r = run("bash", "--norc", "--noprofile", "-c", "source %s && complete -p %s" % (shlex.quote(script), name))
    assert (r.returncode, r.stdout, r.stderr) == (0, "complete -F _%s %s\n" % (name.replace("-", "_"), name), "")
    fn = "_" + name.replace("-", "_")
    exe = PROGS[name][0]
    if name == "isc":
        cases = [
            ([exe, "in"], ["init", "inspect", "info"]),
            ([exe, "ps", "-"], ["-a", "--all", "-q", "--quiet", "--format", "-h", "--help"]),
            ([exe, "--root", str(tmp_path), "un"], ["unpause", "unexpose"]),
            ([exe, "kill", "--s"], ["--signal"]),
            ([exe, "stats", "--n"], ["--no-stream"]),
            ([exe, "logs", "--f"], ["--follow", "--format"]),
            ([exe, "run", "--restart", "o"], ["on-failure"]),
            ([exe, "image", "ls", "--format", ""], ["table", "json"]),
            ([exe, "image", "r"], ["rm"]),
            ([exe, "audit", "--type", "logi"], ["login", "loginuid"]),
            ([exe, "--root", str(tmp_path) + "/"], []),  # an empty directory: no sub-directory to offer
            ([exe, "logs", "web", "--fo"], ["--follow", "--format"]),  # flags after the NAME too
        ]
    else:
        cases = [
            ([exe, "st"], ["start", "state"]),
            ([exe, "--log-format", ""], ["text", "json"]),
            ([exe, "update", "--memory-"], ["--memory-reservation", "--memory-swap"]),
            ([exe, "list", "--format", "j"], ["json"]),
            ([exe, "--root", str(tmp_path), "kill", ""], []),  # no container in that root
        ]
    got = complete_all(script, [[fn, *w] for w, _ in cases])
    assert [(w[1:], g) for (w, _), g in zip(cases, got)] == [(w[1:], e) for w, e in cases]


def test_isc_completes_service_and_image_names(tmp_path):
    """Names come from the program as typed (here a stand-in answering `ps --format json` and
    `image ls --format json` as isc does), with the global flags typed so far."""
    script = tmp_path / "isc.bash"
    script.write_text(completion("isc"))
    log = tmp_path / "calls"
    fake = tmp_path / "isc"
    ps = '[\n  {\n    "name": "web",\n    "image": "alpine"\n  },\n  {\n    "image": "x",\n    "name": "db"\n  }\n]'
    images = '[\n  {\n    "name": "alpine",\n    "id": "ab"\n  },\n  {\n    "name": null,\n    "id": "cd"\n  }\n]'
    fake.write_text("#!/bin/sh\necho \"$*\" >> %s\ncase \"$*\" in\n*'ps -a --format json') printf '%%s\\n' '%s';;\n"
                    "*'image ls --format json') printf '%%s\\n' '%s';;\nesac\n" % (log, ps, images))
    fake.chmod(0o755)
    got = complete_all(str(script), [
        ["_isc", str(fake), "--lab", "l1", "logs", ""],
        ["_isc", str(fake), "stop", "-t", "5", "w"],
        ["_isc", str(fake), "run", "--name", "x", "-d", ""],
        ["_isc", str(fake), "image", "rm", "--force", "a"],
        ["_isc", str(fake), "packets", "--container", "d"],
    ])
    assert got == [["web", "db"], ["web"], ["alpine"], ["alpine"], ["db"]]
    calls = log.read_text().splitlines()
    assert calls[0] == "--lab l1 ps -a --format json", calls


def test_installed_completion_is_the_generated_one():
    for name in PROGS:
        built = os.path.join(helpers.BUILD, "completions", name)
        assert open(built).read() == completion(name), built


def test_run_flags_of_the_table_are_known_to_the_run_parser(tmp_path):
    """`isc run`'s flags are one list in libisc (isc_plan_run_flags, plan-args.c) that getopt, --help
    and completion all use: each has a meaning in the parser (a bad value is refused naming the flag,
    never as an unknown option); a positive control: an unknown flag is refused as one."""
    _, flags = table("isc")
    run_flags = [(l, s, a) for p, l, s, a in flags if p == "run" and l != "--help"]
    assert len(run_flags) >= 16
    root = tmp_path / "root"
    root.mkdir()
    for long_, short, arg in run_flags:
        for form in [long_] + ([short] if short else []):
            args = [form, "@bad@"] if arg else [form]
            r = run(ISC, "--root", str(root), "run", *args)
            assert r.returncode == 2, (form, r.stderr)
            assert "unknown option" not in r.stderr, (form, r.stderr)
    r = run(ISC, "--root", str(root), "run", "--no-such-flag", "x")
    assert r.returncode == 2 and "unknown option --no-such-flag" in r.stderr, r.stderr
    assert os.listdir(str(root)) == []
