# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for the isc-runtime integration suite.

Everything here is independent of pytest fixtures: config builders,
capability masks, leftover checks (mounts, cgroups, state dirs) and
small parsers for the payload's output.
"""
import copy
import errno
import json
import os
import re
import subprocess
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the build whose isc, iscd and isc-auditd the suite drives (build-asan in
# the sanitizer pass of scripts/test.sh); the runtime: ISC_TEST_RUNTIME
BUILD = os.path.join(REPO, os.environ.get("ISC_TEST_BUILD", "build"))

# uid/gid the container's root maps to on the host (the hardened default).
HOST_ID = 100000
MAP_SIZE = 65536

# Linux capability numbers (include/uapi/linux/capability.h).
CAPS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}

# The hardened default capability set: small, and without anything that
# reaches the kernel (no SYS_ADMIN, SYS_MODULE, SYS_BOOT, DAC_READ_SEARCH, ...).
MINIMAL_CAPS = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID"]

NAMESPACES = ["pid", "network", "ipc", "uts", "mount", "user", "cgroup"]
# OCI namespace type -> /proc/self/ns name
NS_PROC_NAME = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts",
                "mount": "mnt", "user": "user", "cgroup": "cgroup"}

MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def cap_mask(names):
    """Hex mask as /proc/self/status prints it (16 hex digits)."""
    mask = 0
    for n in names:
        mask |= 1 << CAPS[n]
    return "%016x" % mask


def unique_id(prefix="isc-test"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def default_config(args, cgroups_path):
    """The hardened shape: every namespace (user with 0->100000:65536 maps),
    read-only root, the usual mounts, minimal capabilities, NoNewPrivileges."""
    caps = list(MINIMAL_CAPS)
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin", "TERM=xterm", "HOME=/root"],
            "cwd": "/",
            "capabilities": {
                "bounding": list(caps), "effective": list(caps),
                "permitted": list(caps), "inheritable": [], "ambient": [],
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "isc-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                         "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777", "size=16m"]},
        ],
        "linux": {
            "uidMappings": [{"containerID": 0, "hostID": HOST_ID, "size": MAP_SIZE}],
            "gidMappings": [{"containerID": 0, "hostID": HOST_ID, "size": MAP_SIZE}],
            "namespaces": [{"type": t} for t in NAMESPACES],
            "cgroupsPath": cgroups_path,
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }


def set_namespace(config, ns_type, path=None, present=True):
    """Add, replace (with a path to join) or remove one namespace entry."""
    nss = [n for n in config["linux"]["namespaces"] if n["type"] != ns_type]
    if present:
        entry = {"type": ns_type}
        if path:
            entry["path"] = path
        nss.append(entry)
    config["linux"]["namespaces"] = nss


def set_caps(config, caps, ambient=None, inheritable=None):
    c = config["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        c[k] = list(caps)
    c["inheritable"] = list(inheritable or [])
    c["ambient"] = list(ambient or [])


def seccomp_profile(default_action="SCMP_ACT_ALLOW", rules=(), default_errno=None):
    prof = {"defaultAction": default_action,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [dict(r) for r in rules]}
    if default_errno is not None:
        prof["defaultErrnoRet"] = default_errno
    return prof


def errno_rule(names, err):
    return {"names": list(names), "action": "SCMP_ACT_ERRNO", "errnoRet": err}


_SYSCALL_NAMES = None


def all_syscall_names(max_nr=448):
    """Names of the x86_64 syscalls (from the kernel headers) up to max_nr,
    for allow-lists; newer ones may be unknown to libseccomp 2.5."""
    global _SYSCALL_NAMES
    if _SYSCALL_NAMES is None:
        names = []
        rx = re.compile(r"#define __NR_(\w+)\s+(\d+)")
        with open("/usr/include/x86_64-linux-gnu/asm/unistd_64.h") as f:
            for line in f:
                m = rx.match(line)
                if m and int(m.group(2)) <= max_nr:
                    names.append(m.group(1))
        _SYSCALL_NAMES = names
    return list(_SYSCALL_NAMES)


def errno_name(num):
    return errno.errorcode.get(num, "E%d" % num)


# ---- leftovers ------------------------------------------------------------

def own_cgroup_paths():
    paths = set()
    with open("/proc/self/cgroup") as f:
        for line in f:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) == 3:
                paths.add(parts[2].lstrip("/"))
    return paths


def cgroup_leftovers(name):
    """Cgroup directories called `name`, directly under a hierarchy root or
    under this process's own group in any hierarchy."""
    found = []
    base = "/sys/fs/cgroup"
    try:
        hierarchies = [os.path.join(base, d) for d in os.listdir(base)]
    except OSError:
        return found
    hierarchies.append(base)  # pure v2 machines
    own = own_cgroup_paths()
    for h in hierarchies:
        if not os.path.isdir(h):
            continue
        for p in own | {""}:
            cand = os.path.join(h, p, name) if p else os.path.join(h, name)
            if os.path.isdir(cand) and cand not in found:
                found.append(cand)
    return found


def kill_cgroups(dirs):
    """Last-resort cleanup of leftover container cgroups: SIGKILL the
    processes in them (all started by this test), then remove the dirs,
    deepest first."""
    alldirs = []
    for d in dirs:
        for root, subdirs, _files in os.walk(d):
            alldirs.append(root)
    pids = set()
    for d in alldirs:
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                pids |= {int(x) for x in f.read().split()}
        except OSError:
            pass
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    deadline = time.monotonic() + 5
    for d in sorted(alldirs, key=len, reverse=True):
        while True:
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)


def mount_leftovers(path):
    """Mount points (in this mount namespace) at or below `path`."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 5:
                continue
            mp = fields[4].encode().decode("unicode_escape")
            if mp == path or mp.startswith(path + "/"):
                found.append(mp)
    return found


def state_leftovers(state_root, cid):
    if not os.path.isdir(state_root):
        return []
    return [os.path.join(state_root, e) for e in os.listdir(state_root) if cid in e]


def pid_alive(pid):
    """True while `pid` exists and is not a zombie."""
    if not pid or pid <= 0:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False  # gone (ESRCH: it went between the open and the read)
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def parse_kv(text):
    """'a=1 b=2' -> {'a': '1', 'b': '2'}"""
    out = {}
    for tok in text.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def parse_lines_kv(text):
    """'CapEff=00ab\\nCapBnd=...' -> dict"""
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def host_probe(payload, *args):
    """Run the payload on the host (for baselines such as ENOSYS kernels)."""
    r = subprocess.run([payload] + list(args), capture_output=True, text=True, timeout=10)
    return r.stdout.strip()


def deepcopy(x):
    return copy.deepcopy(x)


def dumps(obj):
    return json.dumps(obj, indent=2, sort_keys=True)


# ---- encrypted scratch (org.isc.scratch) on the host side ----------------------

# FS_IOC_GET_ENCRYPTION_KEY_STATUS: _IOWR('f', 26, struct fscrypt_get_key_status_arg)
# (128 bytes: key_spec{type, reserved, u[32]}, reserved[6], status, flags,
# user_count, out_reserved[13]); key_spec.type 2 = an identifier (v2 policy).
FS_IOC_GET_ENCRYPTION_KEY_STATUS = 0xC080661A
KEY_STATUS = {1: "absent", 2: "present", 3: "incompletely removed"}


def key_status(fd, key_hex):
    """The kernel's status of the fscrypt key `key_hex` of the filesystem of fd."""
    import fcntl
    import struct
    arg = bytearray(128)
    struct.pack_into("<II", arg, 0, 2, 0)
    arg[8:24] = bytes.fromhex(key_hex)
    fcntl.ioctl(fd, FS_IOC_GET_ENCRYPTION_KEY_STATUS, arg)
    return KEY_STATUS.get(struct.unpack_from("<I", arg, 64)[0], "unknown")


def loop_backing(loop):
    """The backing file of /dev/loopN, or None when it is not bound."""
    try:
        with open("/sys/block/%s/loop/backing_file" % os.path.basename(loop)) as f:
            return f.read().strip()
    except OSError:
        return None


def read_device(dev):
    """The whole device, read past the page cache."""
    r = subprocess.run(["dd", "if=" + dev, "iflag=direct", "bs=1M", "status=none"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def assert_scratch_ciphertext(rec, *secrets):
    """With a plaintext control file beside the encrypted directory (same
    filesystem): the raw backing store shows the control, none of the
    secrets (file contents, file names).  Returns the raw bytes."""
    control = "ISC-CONTROL-" + uuid.uuid4().hex
    ctl = os.path.join(rec["mount"], "control")
    with open(ctl, "w") as f:
        f.write(control)
    subprocess.run(["sync", "-f", rec["mount"]], check=True)
    raw = read_device(rec["loop"])
    os.unlink(ctl)
    assert control.encode() in raw, "the raw read does not see the filesystem's data"
    for s in secrets:
        assert s.encode() not in raw, "plaintext on the backing store: %s" % s
    return raw


def root_netns_snapshot():
    """What the suite must never change in the machine's own network
    namespace: its ruleset, its links (with addresses and routes), its
    forwarding and bridge-netfilter sysctls.  Read-only."""
    def run(*cmd):
        r = subprocess.run(cmd, capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else "(%s failed: %s)" % (cmd[0], r.stderr.strip())

    def sysctl(name):
        try:
            with open("/proc/sys/" + name) as f:
                return f.read().strip()
        except OSError as e:
            return "(%s)" % e.strerror
    return {
        "ruleset": run("nft", "list", "ruleset"),
        "links": sorted(l.split(":")[1].strip().split("@")[0]
                        for l in run("ip", "-o", "link").splitlines() if ":" in l),
        "addrs": run("ip", "-o", "addr"),
        "routes": run("ip", "route"),
        "ip_forward": sysctl("net/ipv4/ip_forward"),
        "bridge_nf": sysctl("net/bridge/bridge-nf-call-iptables"),
    }


# taken once when the suite starts (conftest.pytest_configure)
ROOT_NETNS_BASELINE = None
