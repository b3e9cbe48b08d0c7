# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack (issue 11, item 7): a service writes terminal control bytes into
what the operator reads.  Its command's arguments and working directory
reach `isc audit` through the kernel's hex encoding, decoded back to ESC,
CR and NL; its output reaches `isc logs`.  Printed as they are, ESC[2J
clears the operator's screen, CR rewinds the line, NL + a made-up record
forges a line of the trail.

The views must print every such byte escaped (src/lib/base/escape.c): no
control byte but the line ends reaches stdout, the escaped text is there
for the operator to read, and the JSON view still carries the real bytes
(the positive control: the attack did reach the trail).  On 51b9795 the
text views printed them raw.  The lab holds the audit test lock."""
import json
import os
import subprocess

from labhost import lab_host, ISC, _env  # noqa: F401  (fixture)
from helpers import wait_for

FORGED = "     1 2026-01-01T00:00:00.000Z exec    forged pid=1 uid=0 success: /bin/rm -rf /persist"
# the argument the service passes, as the kernel will hand it to the collector
EVIL_ARG = "x\x1b[2J\r\n" + FORGED
EVIL_DIR = "d\x1b]0;pwned\x07\r"


def _raw(lab, *args):
    """stdout and stderr as bytes: text mode would turn CR into NL."""
    r = subprocess.run([ISC, "--lab", lab.name] + list(args), capture_output=True, timeout=60,
                       env=_env(), stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return r.stdout, r.stderr


def _controls(data):
    """Bytes below 0x20 other than NL, and DEL, with their offsets."""
    return [(i, b) for i, b in enumerate(data) if (b < 0x20 and b != 0x0a) or b == 0x7f]


def test_audit_and_logs_show_control_bytes_escaped(lab_host):
    lab = lab_host
    # printf turns the octal escapes into the real bytes inside the container
    script = ("a=$(printf 'x\\033[2J\\r\\n%s'); d=$(printf 'd\\033]0;pwned\\007\\r'); "
              "mkdir -p /tmp/\"$d\" && cd /tmp/\"$d\" && /bin/echo \"$a\"; sleep 600") % FORGED
    lab.isc("run", "-d", "--name", "forge", "busybox", "/bin/sh", "-c", script)

    def evil_record():
        out, _ = _raw(lab, "audit", "--container", "forge", "--type", "exec", "--format", "json")
        for line in out.decode().splitlines():
            rec = json.loads(line)
            if rec.get("argv") == ["/bin/echo", EVIL_ARG]:
                return rec
        return None
    rec = wait_for(evil_record, timeout=20, what="the exec record of the forging /bin/echo")
    # positive control: the trail holds the real bytes, the cwd included
    assert rec["cwd"] == "/tmp/" + EVIL_DIR

    # the script's later commands may still be arriving: take the text view
    # between two JSON views that hold the same records
    def views():
        js1, _ = _raw(lab, "audit", "--container", "forge", "--type", "exec", "--format", "json")
        out, _ = _raw(lab, "audit", "--container", "forge", "--type", "exec")
        js2, _ = _raw(lab, "audit", "--container", "forge", "--type", "exec", "--format", "json")
        return (out, js2) if js1 == js2 else None
    out, js = wait_for(views, timeout=20, what="two equal JSON views of the trail around the text view")
    assert _controls(out) == [], out
    text = out.decode()
    # the argument, escaped and quoted (it has spaces), on the record's line
    line = [l for l in text.splitlines() if ' /bin/echo "x' in l]
    assert len(line) == 1, text
    assert ' /bin/echo "x\\x1b[2J\\r\\n     1 2026-01-01T00:00:00.000Z exec' in line[0], line[0]
    assert "(cwd /tmp/d\\x1b]0;pwned\\x07\\r)" in line[0], line[0]
    # no line of the view starts as the forged record
    assert not any(l.startswith(FORGED[:20]) for l in text.splitlines()), text
    # every line is a record: as many lines as JSON records
    assert len(text.splitlines()) == len(js.decode().splitlines()), (text, js)

    # isc logs: the service's output.  Its NL ends a line of the log (the
    # log is made of lines); ESC and CR are shown, not obeyed.
    def logged():
        out, err = _raw(lab, "logs", "forge")
        return (out, err) if b"[2J" in out else None
    out, err = wait_for(logged, timeout=15, what="the service's output in isc logs")
    assert _controls(out) == [] and _controls(err) == [], (out, err)
    assert out.decode().splitlines()[0] == "x\\x1b[2J\\r", out
    # the JSON form keeps the bytes (as JSON escapes)
    js, _ = _raw(lab, "logs", "--format", "json", "forge")
    assert _controls(js) == [], js
    assert json.loads(js.decode().splitlines()[0])["line"] == "x\x1b[2J\r"
    lab.isc("rm", "-f", "forge")
