# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack: kernel code through a terminal's line discipline (TIOCSETD).

TIOCSETD sets the line discipline of any terminal the process holds -- a
pty it opened itself will do -- and the kernel loads the discipline's
module on demand when dev.tty.ldisc_autoload is 1 (the default): n_hdlc
(CVE-2017-2636) and n_gsm (CVE-2023-6546) were reached that way, against
the promise that a container has no way to load kernel code.  The issue 11
review left it open; the default profile now refuses TIOCSETD like TIOCSTI
and TIOCLINUX, comparing the command's low 32 bits (the kernel ignores the
high half).

Proves, with isc's default profile (`isc-runtime spec`, which `isc run`
uses), on a pty the container opened: TIOCGWINSZ works (the control that
the pty and ioctl work under the profile) and TIOCSETD fails with EPERM,
also with bit 32 of the command set; the control: without the profile the
same TIOCSETD reaches the kernel, which sets the discipline (N_TTY, which
changes nothing; the test machine's kernel has no module support, so no
other discipline can be loaded here either way).  The same through podman
with isc's profile passed in: test_podman_attacks.py.
"""
import pytest

from operator_tty import default_seccomp

pytestmark = pytest.mark.isc_only  # isc's default profile


@pytest.mark.parametrize("high", [False, True], ids=["cmd", "cmd-bit32"])
def test_default_profile_refuses_tiocsetd(runtime, bundle, high):
    extra = ["high"] if high else []
    b = bundle("own-pty-tiocsetd", *extra)
    r = runtime.run(b)
    assert (r.returncode, r.stdout.strip()) == (0, "ok ldisc=0"), r.stdout + r.stderr
    b = bundle("own-pty-tiocsetd", *extra)
    b.linux["seccomp"] = default_seccomp(runtime.path)
    r = runtime.run(b)
    # the steps before it (ptmx, TIOCGPTPEER, TIOCGWINSZ) passed
    assert (r.returncode, r.stdout.strip()) == (1, "TIOCSETD errno EPERM"), r.stdout + r.stderr
