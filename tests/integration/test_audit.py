# SPDX-License-Identifier: GPL-2.0-or-later
"""The audit trail (docs/audit.md): isc-auditd collects kernel audit records
of containers that carry org.isc.audit.id, routes them to the trail of the
host whose range holds the id, and `isc audit verify` names the first bad
record of a tampered trail.

Kernel audit is one per machine: every test here holds the machine-wide
lock (/run/isc-audit-test.lock) and checks at the end that the kernel's
audit state (enabled, failure, pid, backlog limit and wait, rules) is what
it found."""
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

import audit_kernel
import helpers
from helpers import REPO
from lines import Lines

pytestmark = pytest.mark.isc_only

AUDITD = os.path.join(helpers.BUILD, "src", "auditd", "isc-auditd")
ISC = os.path.join(helpers.BUILD, "src", "isc", "isc")
EPOCH = 2  # seconds: sealed epochs appear quickly


class Collector:
    def __init__(self, base):
        self.run_dir = os.path.join(base, "run")
        self.root = os.path.join(base, "root")
        os.makedirs(self.root)
        self.env = dict(os.environ, ISC_AUDIT_RUN_DIR=self.run_dir)
        self.key = None

    def start(self):
        r = subprocess.run([AUDITD, "--daemon", "--run-dir", self.run_dir, "--epoch-seconds", str(EPOCH)],
                           capture_output=True, text=True, env=self.env, timeout=30)
        assert r.returncode == 0, r.stderr

    @property
    def pid(self):
        with open(os.path.join(self.run_dir, "collector.pid")) as f:
            return int(f.read())

    def request(self, obj):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(30)
        s.connect(os.path.join(self.run_dir, "collector.sock"))
        s.send(json.dumps(obj).encode())
        r = json.loads(s.recv(65536))
        s.close()
        return r

    def register(self, root=None):
        r = self.request({"op": "register", "root": root or self.root})
        assert r["ok"], r
        if r["key"]:
            self.key = r["key"]
        return r

    def stop(self):
        return subprocess.run([AUDITD, "--stop", "--run-dir", self.run_dir], capture_output=True, text=True,
                              env=self.env, timeout=60)

    @property
    def trail_dir(self):
        return os.path.join(self.root, "audit")

    def records(self, root=None):
        out = []
        with open(os.path.join(root or self.root, "audit", "trail.jsonl")) as f:
            for line in f:
                out.append(json.loads(line))
        return out

    def wait_records(self, pred, timeout=10, what="records"):
        found = []

        def check():
            found[:] = [r for r in self.records() if pred(r)]
            return bool(found)
        try:
            helpers.wait_for(check, timeout=timeout, what=what)
        except AssertionError:
            recs = [{k: r.get(k) for k in ("seq", "type", "container", "auid", "argv")} for r in self.records()
                    if r["type"] not in ("seal",)]
            raise AssertionError("timed out waiting for %s; the trail holds %s" % (what, recs[-30:]))
        return found

    def verify(self, key=None, root=None):
        cmd = [ISC, "--root", root or self.root, "audit", "verify"]
        if key:
            cmd += ["--key", key]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def audit_state():
    """The lock, and the kernel audit state restored at the end."""
    with audit_kernel.Lock():
        before = audit_kernel.status()
        rules_before = audit_kernel.rules_with_key()
        yield before
        after = audit_kernel.status()
        assert {k: after[k] for k in audit_kernel.RESTORED} == {k: before[k] for k in audit_kernel.RESTORED}
        assert audit_kernel.rules_with_key() == rules_before


@pytest.fixture
def collector(audit_state, test_dir):
    c = Collector(test_dir)
    c.start()
    c.register()
    yield c
    try:
        pid = c.pid
    except OSError:
        pid = None
    r = c.stop()
    if r.returncode != 0 and pid and helpers.pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        helpers.wait_for(lambda: not helpers.pid_alive(pid), what="collector exit")
    helpers.wait_for(lambda: not pid or not helpers.pid_alive(pid), what="collector exit")


def name_container(c, auid, name):
    path = os.path.join(c.trail_dir, "ids.json")
    ids = {}
    if os.path.exists(path):
        with open(path) as f:
            ids = json.load(f)
    ids[str(auid)] = name
    with open(path + ".tmp", "w") as f:
        json.dump(ids, f)
    os.rename(path + ".tmp", path)


def audited(busybox_bundle, c, script, name="auditweb", offset=1):
    base = c.register()["base"]
    auid = base + offset
    name_container(c, auid, name)
    b = busybox_bundle("/bin/sh", "-c", script)
    b.config.setdefault("annotations", {})["org.isc.audit.id"] = str(auid)
    return b, auid


def execs(c, name):
    return [r for r in c.records() if r.get("type") == "exec" and r.get("container") == name]


def test_collector_takes_and_restores_the_audit_state(collector, audit_state):
    st = audit_kernel.status()
    if audit_state["pid"] == 0:
        assert st["pid"] == collector.pid
        assert st["backlog_limit"] == 8192
        assert st["backlog_wait_time"] < 15000
    assert st["enabled"] == 1
    assert st["failure"] != 2
    assert audit_kernel.rules_with_key() == 2  # x86_64 and i386
    r = subprocess.run([AUDITD, "--status", "--run-dir", collector.run_dir], capture_output=True, text=True)
    assert r.returncode == 0
    s = json.loads(r.stdout)
    # container audit ids: a range no login has (docs/audit.md)
    assert s["hosts"][0]["root"] == collector.root and 0xF0000000 <= s["hosts"][0]["base"] <= 0xF0FF0000
    # the trail is root-only
    assert os.stat(collector.trail_dir).st_mode & 0o777 == 0o700
    assert os.stat(os.path.join(collector.trail_dir, "trail.jsonl")).st_mode & 0o777 == 0o600
    assert os.stat(os.path.join(collector.run_dir, "collector.sock")).st_mode & 0o077 == 0


def test_container_commands_with_arguments_and_name(collector, runtime, busybox_bundle):
    script = ("/bin/echo hello-audit 'two words'; "
              "printf '#!/bin/sh\\n/bin/ls -la /etc\\n' > /tmp/s.sh; chmod +x /tmp/s.sh; /tmp/s.sh >/dev/null; "
              "cat /proc/self/loginuid")
    b, auid = audited(busybox_bundle, collector, script)
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert "hello-audit two words" in b.output()
    found = collector.wait_records(
        lambda r: r.get("type") == "exec" and r.get("container") == "auditweb" and r.get("argv", [None])[0] == "/bin/ls",
        what="the exec of ls from the script")
    ex = execs(collector, "auditweb")
    argvs = [e["argv"] for e in ex]
    assert ["/bin/echo", "hello-audit", "two words"] in argvs
    assert ["/bin/sh", "/tmp/s.sh"] in argvs      # the script itself (the kernel ran its #! line)
    assert ["/bin/ls", "-la", "/etc"] in argvs    # a command from the script
    e = found[0]
    assert e["auid"] == auid and e["result"] == "success" and e["pid"] > 0
    assert e["time"].endswith("Z") and "T" in e["time"]
    assert e["exe"] and e["cwd"]
    # isc audit shows them, filtered by container and type
    out = subprocess.run([ISC, "--root", collector.root, "audit", "--container", "auditweb", "--type", "exec"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "hello-audit \"two words\"" in out.stdout and "/bin/ls -la /etc" in out.stdout
    js = subprocess.run([ISC, "--root", collector.root, "audit", "--type", "exec", "--format", "json",
                         "--since", "10m"], capture_output=True, text=True)
    lines = [json.loads(l) for l in js.stdout.splitlines()]
    assert lines and all(l["type"] == "exec" for l in lines)
    none = subprocess.run([ISC, "--root", collector.root, "audit", "--container", "nosuch"],
                          capture_output=True, text=True)
    assert none.returncode == 0 and none.stdout == ""
    bad = subprocess.run([ISC, "--root", collector.root, "audit", "--type", "bogus"], capture_output=True,
                         text=True)
    assert (bad.returncode, bad.stdout, bad.stderr) == (
        2, "", "isc: audit: --type bogus: one of exec, login, logout, admin, lost, gap, seal, loginuid expected\n")


def test_container_cannot_change_its_loginuid_nor_see_the_trail(collector, runtime, busybox_bundle):
    script = ("echo 0 > /proc/self/loginuid && echo CHANGED; echo 4294967295 > /proc/self/loginuid && echo UNSET; "
              "/bin/ls %s 2>&1; /bin/ls %s 2>&1; echo done") % (collector.trail_dir, collector.run_dir)
    b, auid = audited(busybox_bundle, collector, script, name="sneaky", offset=2)
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    out = b.output()
    assert "CHANGED" not in out and "UNSET" not in out and "done" in out
    assert "trail.jsonl" not in out and "collector.sock" not in out
    # and what it tried is on record, under its name: the refused changes too
    collector.wait_records(lambda r: r.get("container") == "sneaky" and r.get("argv", [None])[0] == "/bin/ls",
                           what="the container's ls")
    refused = collector.wait_records(lambda r: r.get("type") == "loginuid" and r.get("container") == "sneaky"
                                     and r.get("result") == "failed", what="the refused loginuid changes")
    # "0" is container root: the kernel maps it through the uid map
    assert len(refused) >= 2 and 4294967295 in {r["requested_auid"] for r in refused}


def test_sessions_and_admin_events_are_attributed(collector):
    """The collector stamps who asked from the socket's credentials; the
    request only says what (isc exec / isc-runtime exec / isc commands use
    src/lib/audit/audit-client.h)."""
    base = collector.register()["base"]
    name_container(collector, base + 3, "sess")
    r = collector.request({"op": "event", "audit_id": base + 3,
                           "record": {"type": "login", "session": "abc", "argv": ["/bin/sh"], "tty": None,
                                      "audit_id": base + 3}})
    assert r["ok"], r
    r = collector.request({"op": "event", "root": collector.root,
                           "record": {"type": "logout", "session": "abc", "status": 3, "duration_ms": 12,
                                      "container": "sess"}})
    assert r["ok"], r
    r = collector.request({"op": "event", "root": collector.root,
                           "record": {"type": "admin", "action": "run", "object": "web", "result": "success",
                                      "caller": {"uid": 4242}}})
    assert r["ok"], r
    recs = collector.records()
    login = [x for x in recs if x["type"] == "login"][0]
    assert login["container"] == "sess" and login["argv"] == ["/bin/sh"]
    assert login["caller"]["pid"] == os.getpid() and login["caller"]["uid"] == 0
    with open("/proc/self/loginuid") as f:
        assert login["caller"]["auid"] == int(f.read())
    logout = [x for x in recs if x["type"] == "logout"][0]
    assert logout["status"] == 3 and logout["session"] == "abc"
    admin = [x for x in recs if x["type"] == "admin"][0]
    assert admin["caller"]["uid"] == 0  # never what the request claims
    # refused: an unknown host, a type that is not a client's
    r = collector.request({"op": "event", "root": "/nonexistent", "record": {"type": "admin"}})
    assert not r["ok"] and "not registered" in r["error"]
    r = collector.request({"op": "event", "root": collector.root, "record": {"type": "exec"}})
    assert not r["ok"]
    out = subprocess.run([ISC, "--root", collector.root, "audit", "--type", "login"], capture_output=True,
                         text=True)
    assert "login" in out.stdout and "sess" in out.stdout and "/bin/sh" in out.stdout
    # --follow shows what arrives afterwards
    fol = subprocess.Popen([ISC, "--root", collector.root, "audit", "--follow", "--type", "admin", "--format",
                            "json"], stdout=subprocess.PIPE, text=True)
    try:
        out = Lines(fol.stdout, "isc audit --follow")
        # it prints the trail so far (flushed once it follows the end of
        # the file): the "run web" record above says it follows now
        rec = json.loads(out.until(lambda l: json.loads(l).get("object") == "web", what="the admin record so far"))
        assert rec["type"] == "admin" and rec["action"] == "run"
        r = collector.request({"op": "event", "root": collector.root,
                               "record": {"type": "admin", "action": "stop", "object": "followed",
                                          "result": "success"}})
        assert r["ok"], r
        rec = json.loads(out.until(lambda l: json.loads(l).get("object") == "followed", what="the followed record"))
        assert rec["type"] == "admin" and rec["object"] == "followed" and rec["action"] == "stop", rec
    finally:
        fol.kill()
        fol.wait()


def test_no_collector_is_said(test_dir):
    env = dict(os.environ, ISC_AUDIT_RUN_DIR=os.path.join(test_dir, "none"))
    r = subprocess.run([AUDITD, "--status"], capture_output=True, text=True, env=env)
    assert (r.returncode, r.stderr) == (1, "isc-auditd: isc-auditd is not running (connect %s): "
                                        "No such file or directory\n"
                                        % os.path.join(test_dir, "none", "collector.sock"))


def _tamper_copy(c, test_dir, name, edit):
    """A copy of the host's audit dir with `edit(lines)` applied; returns a root."""
    root = os.path.join(test_dir, "t-" + name)
    shutil.copytree(c.trail_dir, os.path.join(root, "audit"))
    path = os.path.join(root, "audit", "trail.jsonl")
    with open(path) as f:
        lines = f.read().splitlines()
    lines = edit(lines)
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    return root


def _seq_in_epoch(lines, sealed):
    recs = [json.loads(l) for l in lines]
    last_seal = max(r["seq"] for r in recs if r["type"] == "seal")
    for r in recs:
        if r["type"] not in ("seal", "trail-start") and (r["seq"] < last_seal) == sealed:
            return r["seq"]
    raise AssertionError("no record found")


def test_tampering_is_found_and_named(collector, runtime, busybox_bundle, test_dir):
    b, auid = audited(busybox_bundle, collector, "for i in 1 2 3 4 5; do /bin/echo tamper-$i; done")
    assert runtime.run(b).returncode == 0
    collector.wait_records(lambda r: r.get("argv") == ["/bin/echo", "tamper-5"], what="the last echo")
    # at least one epoch holding records is sealed
    collector.wait_records(lambda r: r["type"] == "seal" and r["seq"] > 5, timeout=10 * EPOCH + 30, what="a seal")
    assert collector.stop().returncode == 0
    key = collector.key
    good = collector.verify(key)
    assert good.returncode == 0, good.stderr
    assert "intact" in good.stdout and "every seal checked" in good.stdout
    assert collector.verify().returncode == 0

    with open(os.path.join(collector.trail_dir, "trail.jsonl")) as f:
        lines = f.read().splitlines()
    target = [json.loads(l)["seq"] for l in lines if "tamper-3" in l][0]

    def flip(ls):
        ls[target] = ls[target].replace("tamper-3", "tamper-9")
        return ls

    def delete(ls):
        del ls[target]
        return ls

    def swap(ls):
        ls[target], ls[target + 1] = ls[target + 1], ls[target]
        return ls

    def cut(ls):
        return ls[:-2]

    missing = "record %d is missing (found seq %d in its place)" % (target, target + 1)
    cases = {"byte": (flip, target, "record %d: content or chain does not match its hash" % target),
             "delete": (delete, target, missing), "swap": (swap, target, missing),
             "cut": (cut, len(lines) - 2, "the trail ends before record %d, but the sealing state counts %d "
                                          "records: the tail was cut" % (len(lines) - 2, len(lines)))}
    for name, (edit, bad, why) in cases.items():
        root = _tamper_copy(collector, test_dir, name, edit)
        for k in (key, None):
            r = collector.verify(k, root=root)
            assert (r.returncode, r.stdout) == (1, ""), (name, r.stdout)
            assert r.stderr == "isc: audit verify: first bad record: seq %d: %s\n" % (bad, why), (name, r.stderr)

    # the attacker, now root, rewrites a sealed epoch and recomputes the
    # chain and every MAC with the only key he can have: the current one
    root = _tamper_copy(collector, test_dir, "rewrite", lambda ls: ls)
    subprocess.run([os.path.join(REPO, "tests", "integration", "trail_forge.py"),
                    os.path.join(root, "audit"), "tamper-2", "tamper-X"], check=True)
    (forged,) = [json.loads(l) for l in lines if "tamper-2" in l]
    bad = forged["seq"]
    r = collector.verify(None, root=root)
    assert r.returncode == 0, r.stderr  # the chain alone cannot tell ...
    r = collector.verify(key, root=root)  # ... the seals can
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ("isc: audit verify: first bad record: seq %d: record %d: the seal (MAC) of epoch %d "
                        "does not match\n" % (bad, bad, forged["epoch"])), r.stderr


def test_killed_collector_leaves_a_gap_and_the_lost_count(collector, runtime, busybox_bundle):
    b, auid = audited(busybox_bundle, collector, "/bin/echo before-kill")
    assert runtime.run(b).returncode == 0
    collector.wait_records(lambda r: r.get("argv") == ["/bin/echo", "before-kill"], what="the first echo")
    pid = collector.pid
    os.kill(pid, signal.SIGKILL)
    helpers.wait_for(lambda: not helpers.pid_alive(pid), what="the collector's death")
    # execs while no collector runs are not collected (this kernel drops them)
    b2 = busybox_bundle("/bin/sh", "-c", "/bin/echo while-dead")
    b2.config.setdefault("annotations", {})["org.isc.audit.id"] = str(auid)
    assert runtime.run(b2).returncode == 0
    collector.start()
    gap = collector.wait_records(lambda r: r["type"] == "gap" and r["previous_stop"] == "unclean",
                                 what="the gap record")[0]
    assert "kernel_lost" in gap
    b3 = busybox_bundle("/bin/sh", "-c", "/bin/echo after-restart")
    b3.config.setdefault("annotations", {})["org.isc.audit.id"] = str(auid)
    assert runtime.run(b3).returncode == 0
    collector.wait_records(lambda r: r.get("argv") == ["/bin/echo", "after-restart"], what="the echo after")
    out = subprocess.run([ISC, "--root", collector.root, "audit", "--type", "gap"], capture_output=True,
                         text=True)
    assert "unclean" in out.stdout
    # the trail stays intact across the crash
    assert collector.verify(collector.key).returncode == 0


def test_syslog_delivery_and_its_absence(audit_state, test_dir):
    """This machine has no /dev/log: the collector says so once in its own
    log.  In a private mount namespace with busybox syslogd listening on
    /dev/log, every trail record also reaches syslog."""
    c = Collector(test_dir)
    if not os.path.exists("/dev/log"):
        c.start()
        try:
            with open(os.path.join(c.run_dir, "auditd.log")) as f:
                log = f.read()
            assert log.count("no syslog socket (/dev/log)") == 1
        finally:
            assert c.stop().returncode == 0
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("no busybox for a syslogd")
    messages = os.path.join(test_dir, "messages")
    null = os.path.join(test_dir, "null")
    open(null, "w").close()
    client = os.path.join(test_dir, "client.py")
    with open(client, "w") as f:
        f.write("import json, socket, sys\n"
                "def req(o):\n"
                "    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
                "    s.connect(sys.argv[1] + '/collector.sock')\n"
                "    s.send(json.dumps(o).encode()); r = json.loads(s.recv(65536)); s.close()\n"
                "    assert r['ok'], r\n"
                "req({'op': 'register', 'root': sys.argv[2]})\n"
                "req({'op': 'event', 'root': sys.argv[2], 'record': {'type': 'admin', 'action': 'syslog-probe',"
                " 'result': 'success'}})\n")
    # a private mount namespace: a tmpfs /dev with /dev/null and a syslogd
    script = """set -e
mount --make-rprivate /
mount --bind /dev/null {null}
mount -t tmpfs isc-test-dev /dev
touch /dev/null
mount --bind {null} /dev/null
{busybox} syslogd -n -O {messages} &
SL=$!
i=0; while [ ! -S /dev/log ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
ISC_AUDIT_RUN_DIR={run} {auditd} --daemon --run-dir {run}
/usr/bin/python3 {client} {run} {root} || {{ {auditd} --stop --run-dir {run}; kill $SL; exit 1; }}
{auditd} --stop --run-dir {run}
sleep 0.3
kill $SL
""".format(null=null, busybox=busybox, messages=messages, run=c.run_dir + "2", auditd=AUDITD, client=client,
           root=c.root)
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    with open(messages) as f:
        text = f.read()
    assert "isc-auditd" in text and "syslog-probe" in text and "root=%s" % c.root in text
    with open(os.path.join(c.run_dir + "2", "auditd.log")) as f:
        assert "no syslog socket" not in f.read()
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_full_disk_is_loud_and_recorded(audit_state, test_dir, runtime, busybox_bundle):
    """The trail's file system fills up: the collector says so in its log
    at once, keeps the records, and once space is back writes them with a
    disk-full record (stopped, then resumed) in the trail."""
    small = os.path.join(test_dir, "small")
    os.makedirs(small)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "isc-test-audit", small], check=True)
    try:
        c = Collector(small)
        c.run_dir = os.path.join(test_dir, "run")
        c.env["ISC_AUDIT_RUN_DIR"] = c.run_dir
        c.start()
        try:
            base = c.register()["base"]
            filler = os.path.join(small, "filler")
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while True:
                    os.write(fd, b"\1" * 4096)
            except OSError:
                pass
            finally:
                os.close(fd)
            b = busybox_bundle("/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do /bin/echo full-$i; done")
            b.config.setdefault("annotations", {})["org.isc.audit.id"] = str(base + 1)
            assert runtime.run(b).returncode == 0
            log = os.path.join(c.run_dir, "auditd.log")
            helpers.wait_for(lambda: "TRAIL WRITE FAILED" in open(log).read(), what="the loud log line")
            os.unlink(filler)
            c.wait_records(lambda r: r.get("type") == "disk-full" and r.get("state") == "writing resumed",
                           what="the resumed record")
            recs = c.records()
            kinds = [r.get("state") for r in recs if r["type"] == "disk-full"]
            assert kinds == ["writing stopped", "writing resumed"]
            # nothing was lost: every echo is there
            echoes = {tuple(r["argv"]) for r in recs if r["type"] == "exec" and r.get("auid") == base + 1}
            assert {("/bin/echo", "full-%d" % i) for i in range(1, 9)} <= echoes
            assert "written again" in open(log).read()
        finally:
            assert c.stop().returncode == 0
        assert c.verify(c.key).returncode == 0
    finally:
        subprocess.run(["umount", small], check=True)


I386_EXEC = r"""
static const char path[] = "/bin/true";
static const char arg[] = "from-i386";
void _start(void)
{
    const char *argv[] = { path, arg, 0 };
    const char *envp[] = { 0 };
    /* execve through the i386 entry: syscall 11 via int $0x80 */
    __asm__ volatile("int $0x80" : : "a"(11), "b"(path), "c"(argv), "d"(envp) : "memory");
    __asm__ volatile("movl $1, %eax; movl $7, %ebx; int $0x80");
}
"""


def test_i386_execs_are_recorded(collector, test_dir):
    clang = shutil.which("clang")
    if clang is None:
        pytest.skip("no clang to build a 32-bit program")
    src, exe = os.path.join(test_dir, "i386.c"), os.path.join(test_dir, "i386")
    with open(src, "w") as f:
        f.write(I386_EXEC)
    r = subprocess.run([clang, "-m32", "-static", "-nostdlib", "-fno-stack-protector", "-O1", "-o", exe, src],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot build a 32-bit program: %s" % r.stderr.strip()[-200:])
    # the machine itself may not run 32-bit x86 code (a kernel without
    # IA32 emulation, or a hypervisor that refuses it): probed outside any
    # container, with no audit id; any other failure is the test's
    try:
        probe = subprocess.run([exe], capture_output=True, text=True, timeout=30)
    except OSError as e:
        if e.errno != errno.ENOEXEC:
            raise
        pytest.skip("this machine does not run 32-bit x86 programs: %s" % os.strerror(e.errno))
    # it execs /bin/true: the exit status is true's
    assert probe.returncode == 0, (probe.returncode, probe.stderr)
    base = collector.register()["base"]
    name_container(collector, base + 5, "i386box")
    # a process with a container audit id that runs a 32-bit program, which execs
    r = subprocess.run(["unshare", "-f", "sh", "-c", "echo %d > /proc/self/loginuid && exec %s" % (base + 5, exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # (the probe's own exec, if recorded at all, has another auid)
    ev = collector.wait_records(lambda r: r.get("argv") == ["/bin/true", "from-i386"] and r.get("auid") == base + 5,
                                what="the i386 exec")[0]
    assert ev["arch"] == "i386" and ev["syscall"] == "execve" and ev["container"] == "i386box"


def test_runtime_exec_is_a_session(collector, runtime, busybox_bundle):
    """isc-runtime exec (what podman exec and ctr task exec call) into a
    container with an audit identity: login and logout records, the exit
    status, the command's own exec records under the container's name; a
    --detach session gets its logout when the process is gone."""
    b, auid = audited(busybox_bundle, collector, "sleep 60", name="sessweb", offset=3)
    env = dict(os.environ, ISC_AUDIT_RUN_DIR=collector.run_dir)
    r = runtime.run(b, detach=True, env=env)
    assert r.returncode == 0, r.stderr
    r = runtime("exec", b.id, "/bin/sh", "-c", "/bin/echo in-session; exit 5", env=env)
    assert r.returncode == 5, r.stderr
    assert "in-session" in r.stdout
    logout = collector.wait_records(lambda x: x.get("type") == "logout" and x.get("container") == "sessweb",
                                    what="the logout record")[0]
    login = [x for x in collector.records() if x.get("type") == "login" and x.get("container") == "sessweb"][0]
    assert login["argv"] == ["/bin/sh", "-c", "/bin/echo in-session; exit 5"]
    assert login["session"] == logout["session"] and logout["status"] == 5
    assert login["caller"]["uid"] == 0
    assert login["runtime_id"] == b.id  # what the runtime's caller named it
    collector.wait_records(lambda x: x.get("type") == "exec" and x.get("container") == "sessweb"
                           and x.get("argv") == ["/bin/echo", "in-session"], what="the exec inside the session")
    # detached: login now, logout once the process has exited
    r = runtime("exec", "--detach", b.id, "/bin/sleep", "1", env=env)
    assert r.returncode == 0, r.stderr
    logins = collector.wait_records(lambda x: x.get("type") == "login" and x.get("container") == "sessweb"
                                    and x.get("argv") == ["/bin/sleep", "1"], what="the detached login")
    out = collector.wait_records(lambda x: x.get("type") == "logout" and x.get("session") == logins[0]["session"],
                                 timeout=15, what="the detached logout")
    assert out[0]["status"] == -1 and out[0]["duration_ms"] >= 900
    runtime.delete(b.id, force=True)


def test_runtime_exec_without_collector_warns_but_runs(runtime, busybox_bundle, test_dir):
    b = busybox_bundle("sleep", "60")
    b.config.setdefault("annotations", {})["org.isc.audit.id"] = str(0xF0000000 + 99)
    env = dict(os.environ, ISC_AUDIT_RUN_DIR=os.path.join(test_dir, "no-collector"))
    r = runtime.run(b, detach=True, env=env)
    assert r.returncode == 0, r.stderr
    r = runtime("exec", b.id, "/bin/true", env=env)
    assert r.returncode == 0
    assert "no login record" in r.stderr and "isc-auditd is not running" in r.stderr
    runtime.delete(b.id, force=True)
