# SPDX-License-Identifier: GPL-2.0-or-later
"""The seccomp filter a process runs under, read from the host and evaluated.

`dump(pid)` reads the process's newest filter with PTRACE_SECCOMP_GET_FILTER
(the caller needs CAP_SYS_ADMIN: the tests run as root): attach, wait for the
stop, read, detach.  `verdict(prog, arch, nr, args)` runs the classic-BPF
program on a struct seccomp_data, as the kernel would, so the verdicts for
an architecture this machine cannot execute (i386 here: no IA-32 emulation)
can be checked on the very filter the runtime installed.

Only the instructions a seccomp program may use are interpreted (loads of
seccomp_data words, ALU, jumps, returns, scratch memory); anything else
raises, so a program this interpreter does not understand fails the test
instead of passing it.
"""
import ctypes
import errno as errno_mod
import os
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
X32_SYSCALL_BIT = 0x40000000

PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SECCOMP_GET_FILTER = 16, 17, 0x420C
WALL = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


def _ptrace(req, pid, addr=None, data=None):
    r = _libc.ptrace(req, pid, addr, data)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, "ptrace(%d, %d): %s" % (req, pid, os.strerror(e)))
    return r


def dump(pid):
    """(program, count): `pid`'s newest seccomp filter as a list of
    (code, jt, jf, k), and how many filters it runs under."""
    _ptrace(PTRACE_ATTACH, pid)
    try:
        os.waitpid(pid, WALL)
        n = _ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0)
        buf = ctypes.create_string_buffer(8 * n)
        got = _ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, ctypes.addressof(buf))
        assert got == n, (got, n)
        count = 1
        while True:
            try:
                _ptrace(PTRACE_SECCOMP_GET_FILTER, pid, count)
            except OSError as e:
                assert e.errno == errno_mod.ENOENT, e
                break
            count += 1
    finally:
        _ptrace(PTRACE_DETACH, pid)
    raw = buf.raw
    return [struct.unpack("<HBBI", raw[i:i + 8]) for i in range(0, len(raw), 8)], count


SECCOMP_RET_ACTION_FULL = 0xFFFF0000
ACTIONS = {0x80000000: "KILL_PROCESS", 0x00000000: "KILL_THREAD", 0x00030000: "TRAP",
           0x00050000: "ERRNO", 0x7FF00000: "TRACE", 0x7FFC0000: "LOG", 0x7FFF0000: "ALLOW"}


def verdict(prog, arch, nr, args=()):
    """"ALLOW", "ERRNO(n)", "KILL_PROCESS", ... for one syscall."""
    args = list(args) + [0] * (6 - len(args))
    data = struct.pack("<iIQ6Q", nr, arch, 0, *[a & 0xFFFFFFFFFFFFFFFF for a in args])
    a = x = 0
    mem = [0] * 16
    pc = 0
    for _ in range(len(prog) + 1):  # forward jumps only: at most len(prog) steps
        code, jt, jf, k = prog[pc]
        cls = code & 0x07
        if code == 0x20:    # ld [k]
            a = struct.unpack_from("<I", data, k)[0]
        elif code == 0x00:  # ld #k
            a = k
        elif code == 0x60:  # ld M[k]
            a = mem[k]
        elif code == 0x01:  # ldx #k
            x = k
        elif code == 0x61:  # ldx M[k]
            x = mem[k]
        elif code == 0x02:  # st M[k]
            mem[k] = a
        elif code == 0x03:  # stx M[k]
            mem[k] = x
        elif cls == 0x04:   # alu
            src = x if code & 0x08 else k
            op = code & 0xF0
            ops = {0x00: lambda: a + src, 0x10: lambda: a - src, 0x20: lambda: a * src,
                   0x40: lambda: a | src, 0x50: lambda: a & src, 0x60: lambda: a << src,
                   0x70: lambda: a >> src, 0xA0: lambda: a ^ src, 0x80: lambda: -a}
            if op not in ops:
                raise ValueError("unknown ALU op 0x%x at %d" % (code, pc))
            a = ops[op]() & 0xFFFFFFFF
        elif cls == 0x05:   # jmp
            op = code & 0xF0
            if op == 0x00:
                pc += k + 1
                continue
            src = x if code & 0x08 else k
            conds = {0x10: a == src, 0x20: a > src, 0x30: a >= src, 0x40: (a & src) != 0}
            if op not in conds:
                raise ValueError("unknown jump 0x%x at %d" % (code, pc))
            pc += (jt if conds[op] else jf) + 1
            continue
        elif code == 0x06:  # ret #k
            return _name(k)
        elif code == 0x16:  # ret a
            return _name(a)
        elif code == 0x07:  # tax
            x = a
        elif code == 0x87:  # txa
            a = x
        else:
            raise ValueError("unknown instruction 0x%x at %d" % (code, pc))
        pc += 1
    raise ValueError("the program did not return")


def _name(ret):
    action = ret & SECCOMP_RET_ACTION_FULL
    name = ACTIONS.get(action, hex(ret))
    if action == 0x00050000:
        return "ERRNO(%s)" % errno_mod.errorcode.get(ret & 0xFFFF, ret & 0xFFFF)
    return name
