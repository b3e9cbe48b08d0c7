# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures for the isc-runtime integration suite.

The suite drives any runc-compatible runtime: ISC_TEST_RUNTIME=/path
(default: <repo>/build/src/runtime/isc-runtime).  Tests marked
`isc_only` check isc-specific behaviour and are skipped for other runtimes.

Fixtures:
  runtime         a Runtime bound to a per-test --root state dir
  bundle          factory: bundle("exit", "7") -> Bundle with the payload rootfs
  busybox_bundle  factory: busybox_bundle("/bin/sh", "-c", "...") -> Bundle
  payload         path of the static test payload on the host

Every container created through the fixtures is force-deleted at teardown;
then the teardown fails the test if a state dir, a cgroup dir or a mount
of the bundle is left behind.
"""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import uuid

import pytest

import helpers
from helpers import REPO

DEFAULT_RUNTIME = os.path.join(REPO, "build", "src", "runtime", "isc-runtime")
DEFAULT_PAYLOAD = os.path.join(REPO, "build", "tests", "payload", "isc-payload")
MKROOTFS = os.path.join(REPO, "scripts", "mkrootfs-busybox.sh")
ROOTFS_DIRS = ["bin", "proc", "sys", "dev", "tmp", "etc", "run", "root", "mnt"]


def _record_slow_calls(path, over=2.0):
    """ISC_TEST_SLOW_CALLS=FILE: every subprocess.run that took over 2 s is
    appended to FILE (seconds, the test, the argv): where the suite's time
    goes, for the test command's budget (scripts/test.sh)."""
    import time
    real_run = subprocess.run

    def run(*args, **kw):
        t0 = time.monotonic()
        try:
            return real_run(*args, **kw)
        finally:
            took = time.monotonic() - t0
            if took > over:
                argv = args[0] if args else kw.get("args")
                with open(path, "a") as f:
                    f.write("%6.1f %s %s\n" % (took, os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0],
                                               " ".join(map(str, argv)) if isinstance(argv, (list, tuple)) else argv))
    subprocess.run = run


def pytest_configure(config):
    if os.environ.get("ISC_TEST_SLOW_CALLS"):
        _record_slow_calls(os.environ["ISC_TEST_SLOW_CALLS"])
    # kept in helpers: tests/integration/attacks has a conftest of its own,
    # so `import conftest` may name either
    helpers.ROOT_NETNS_BASELINE = helpers.root_netns_snapshot()
    config.addinivalue_line(
        "markers", "isc_only: checks isc-specific behaviour; skipped for other runtimes")
    config.addinivalue_line(
        "markers", "runc_skip(reason): runc (the reference) does not do this")


# The test command's tiers (scripts/test.sh), markers registered in pytest.ini.
# With neither pass marker a test runs in both passes; a plain
# `pytest tests/integration` runs everything.
#   pass_normal      only in the normal pass: the client suites, and the races
#                    (they want the shipped build's speed)
#   pass_sanitizers  only in the sanitizer pass: lab tests whose cost is the
#                    lab's own (namespaces, daemons, waits), not our code's
#                    speed: once is enough, and that once under the sanitizers
#   no_leak_check(reason)  LeakSanitizer off for the module (it costs 38 ms at
#                    every exit of every process): modules that start hundreds
#                    of containers through one path already leak-checked by
#                    test_lifecycle.py, test_bad_input.py and the like


@pytest.fixture(scope="module", autouse=True)
def _leak_check(request):
    """A module marked no_leak_check runs with LeakSanitizer off (the rest
    of ASAN_OPTIONS kept); every other module keeps what the environment
    says (the sanitizer pass: on).  Module-scoped and autouse, so it is in
    place before the module's own fixtures start a daemon."""
    asan = os.environ.get("ASAN_OPTIONS")
    if asan is None or request.node.get_closest_marker("no_leak_check") is None:
        yield
        return
    opts = [o for o in asan.split(":") if o and not o.startswith("detect_leaks=")]
    os.environ["ASAN_OPTIONS"] = ":".join(opts + ["detect_leaks=0"])
    try:
        yield
    finally:
        os.environ["ASAN_OPTIONS"] = asan


# ---- runtime discovery -------------------------------------------------------

def _runtime_path():
    return os.path.abspath(os.environ.get("ISC_TEST_RUNTIME", DEFAULT_RUNTIME))


def _runtime_kind(path):
    kind = os.environ.get("ISC_TEST_RUNTIME_KIND")
    if kind:
        return kind
    try:
        r = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
        first = (r.stdout or r.stderr).strip().lower()
    except OSError:
        first = ""
    base = os.path.basename(path).lower()
    if "isc" in base or first.startswith("isc"):
        return "isc"
    if "runc" in base or first.startswith("runc"):
        return "runc"
    if "crun" in base or first.startswith("crun"):
        return "crun"
    return "other"


_KIND = None


def runtime_kind():
    global _KIND
    if _KIND is None:
        _KIND = _runtime_kind(_runtime_path())
    return _KIND


def pytest_runtest_setup(item):
    if os.geteuid() != 0:
        pytest.skip("integration tests need root")
    kind = runtime_kind()
    if item.get_closest_marker("isc_only") and kind != "isc":
        pytest.skip("isc-specific check (runtime is %s)" % kind)
    m = item.get_closest_marker("runc_skip")
    if m and kind == "runc":
        pytest.skip("runc: %s" % (m.args[0] if m.args else "not supported"))


# ---- session-wide resources --------------------------------------------------

@pytest.fixture(scope="session")
def runtime_path():
    path = _runtime_path()
    if not os.access(path, os.X_OK):
        pytest.exit("runtime not found or not executable: %s (build it, or set "
                    "ISC_TEST_RUNTIME=/usr/sbin/runc)" % path, returncode=3)
    return path


@pytest.fixture(scope="session")
def session_dir():
    d = tempfile.mkdtemp(prefix="isc-it-", dir="/tmp")
    # uid 100000 (container root) must be able to traverse into bundles
    os.chmod(d, 0o755)
    yield d
    if not helpers.mount_leftovers(d):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def payload():
    path = os.environ.get("ISC_TEST_PAYLOAD", DEFAULT_PAYLOAD)
    if not os.access(path, os.X_OK):
        build = os.path.join(REPO, "build")
        subprocess.run(["ninja", "-C", build, "tests/payload/isc-payload"],
                       capture_output=True, timeout=300)
    if not os.access(path, os.X_OK):
        pytest.exit("test payload not found: %s (ninja -C build)" % path, returncode=3)
    return path


@pytest.fixture(scope="session")
def payload_template(session_dir, payload):
    """A session copy of the payload that bundles hard-link to (cheap)."""
    d = os.path.join(session_dir, "payload-template")
    os.makedirs(d, mode=0o755)
    dst = os.path.join(d, "payload")
    shutil.copy(payload, dst)
    os.chmod(dst, 0o755)
    return dst


@pytest.fixture(scope="session")
def busybox_rootfs(session_dir, payload):
    d = os.path.join(session_dir, "busybox-rootfs")
    r = subprocess.run(["sh", MKROOTFS, d], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        pytest.skip("mkrootfs-busybox.sh failed: %s" % r.stderr.strip())
    shutil.copy(payload, os.path.join(d, "bin", "payload"))
    os.chmod(os.path.join(d, "bin", "payload"), 0o755)
    return d


@pytest.fixture(scope="session")
def host_baseline(payload):
    """What the syscall probes give on the host as root (e.g. ENOSYS where
    the kernel lacks modules or kexec): the container's answer is judged
    against it."""
    cache = {}

    def probe(*args):
        if args not in cache:
            cache[args] = helpers.host_probe(payload, *args)
        return cache[args]
    return probe


# ---- per-test objects ---------------------------------------------------------

class Bundle:
    """A bundle directory: config (a dict, edit freely), rootfs, container id,
    cgroup name, and the files that collect the container's stdout/stderr."""

    def __init__(self, path, rootfs, config, cid, cgroup_name):
        self.path = path
        self.rootfs = rootfs
        self.config = config
        self.id = cid
        self.cgroup_name = cgroup_name
        self.out_path = os.path.join(path, "container.out")
        self.err_path = os.path.join(path, "container.err")

    @property
    def config_path(self):
        return os.path.join(self.path, "config.json")

    def write(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    def output(self):
        return _read(self.out_path)

    def errors(self):
        return _read(self.err_path)

    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config["linux"]

    def set_args(self, *args):
        self.config["process"]["args"] = list(args)

    def add_mount(self, destination, source, mtype="bind", options=None):
        self.config["mounts"].append({
            "destination": destination, "type": mtype, "source": source,
            "options": list(options if options is not None else ["rbind", "rw"])})


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Runtime:
    """Runs the runtime under test with `--root` set to a per-test state dir.
    Output goes through files, never pipes: a container inherits the stdio
    of `create`, and a pipe it keeps open would hang the test."""

    def __init__(self, path, kind, state_root, workdir):
        self.path = path
        self.kind = kind
        self.root = state_root
        self.workdir = workdir
        self.ids = []
        self._n = 0

    @property
    def is_runc(self):
        return self.kind == "runc"

    @property
    def is_isc(self):
        return self.kind == "isc"

    def __call__(self, *args, timeout=30, stdin=None, out=None, err=None, cwd=None,
                 global_args=(), env=None):
        """Run `runtime --root R [global_args] args...`; returns CompletedProcess
        with text stdout/stderr.  `out`/`err` name files to send them to
        (appended), else fresh files in the work dir are used."""
        args = [str(a) for a in args]
        if (args and args[0] in ("create", "run") and args[-1] not in self.ids
                and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", args[-1])):
            self.ids.append(args[-1])
        cmd = [self.path, "--root", self.root] + list(global_args) + args
        self._n += 1
        out = out or os.path.join(self.workdir, "rt-%03d.out" % self._n)
        err = err or os.path.join(self.workdir, "rt-%03d.err" % self._n)
        out_start = os.path.getsize(out) if os.path.exists(out) else 0
        err_start = os.path.getsize(err) if os.path.exists(err) else 0
        with open(out, "ab") as fo, open(err, "ab") as fe:
            # own process group, so a hung runtime and whatever it forked
            # can be killed together on timeout
            p = subprocess.Popen(cmd, stdout=fo, stderr=fe, cwd=cwd or self.workdir,
                                 env=dict(os.environ, **env) if env else None,
                                 stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                                 start_new_session=True)
            try:
                p.communicate(input=stdin.encode() if stdin is not None else None,
                              timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                p.wait()
                raise AssertionError("runtime timed out after %ss: %s\nstderr: %s" % (
                    timeout, " ".join(cmd), _read(err)[err_start:]))
            r = p
        return subprocess.CompletedProcess(cmd, r.returncode, _read(out)[out_start:],
                                           _read(err)[err_start:])

    # -- lifecycle shorthands -------------------------------------------------

    def create(self, b, pid_file=None, timeout=30):
        b.write()
        extra = ["--pid-file", pid_file] if pid_file else []
        return self("create", "--bundle", b.path, *extra, b.id,
                    out=b.out_path, err=b.err_path, timeout=timeout)

    def run(self, b, detach=False, timeout=30, stdin=None, pid_file=None, env=None):
        """Foreground `run`: the result's returncode is the container's exit
        status and its stdout the container's output."""
        b.write()
        extra = (["--detach"] if detach else []) + (["--pid-file", pid_file] if pid_file else [])
        return self("run", "--bundle", b.path, *extra, b.id,
                    out=b.out_path, err=b.err_path, timeout=timeout, stdin=stdin, env=env)

    def start(self, cid):
        return self("start", cid)

    def state(self, cid, check=True):
        r = self("state", cid)
        if check:
            assert r.returncode == 0, "state %s failed: %s" % (cid, r.stderr)
            return json.loads(r.stdout)
        return r

    def kill(self, cid, sig=None):
        return self("kill", cid, *([sig] if sig is not None else []))

    def delete(self, cid, force=False):
        return self("delete", *(["--force"] if force else []), cid)

    def wait_status(self, cid, status, timeout=10):
        def check():
            r = self("state", cid)
            if r.returncode == 0 and json.loads(r.stdout).get("status") == status:
                return True
            return False
        helpers.wait_for(check, timeout=timeout, what="%s to be %s" % (cid, status))

    def run_ok(self, b, **kw):
        """Run a payload command that must succeed; returns its stdout."""
        r = self.run(b, **kw)
        assert r.returncode == 0, "container %s exited %d\nstdout: %s\nstderr: %s" % (
            b.id, r.returncode, r.stdout, r.stderr)
        return r.stdout

    def cleanup(self):
        """Force-delete every container this test created; returns a list of
        problems (a hung or failing runtime must not stop the teardown)."""
        problems = []
        for cid in self.ids:
            try:
                if self("state", cid, timeout=10).returncode != 0:
                    continue
                r = self("delete", "--force", cid, timeout=10)
                if r.returncode != 0:
                    problems.append("delete --force %s failed: %s" % (cid, r.stderr.strip()))
            except AssertionError as e:
                problems.append(str(e).splitlines()[0])
        return problems


@pytest.fixture
def test_dir(session_dir):
    d = os.path.join(session_dir, uuid.uuid4().hex[:12])
    os.makedirs(d)
    os.chmod(d, 0o755)
    yield d
    if not helpers.mount_leftovers(d):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def runtime(runtime_path, test_dir):
    state_root = os.path.join(test_dir, "state")
    work = os.path.join(test_dir, "work")
    os.makedirs(work)
    rt = Runtime(runtime_path, runtime_kind(), state_root, work)
    yield rt
    problems = rt.cleanup()
    left = []
    for cid in rt.ids:
        left += helpers.state_leftovers(state_root, cid)
    if left:
        problems.append("state left behind: %s" % left)
    assert not problems, "; ".join(problems)


class _BundleFactory:
    def __init__(self, runtime, test_dir, make_rootfs):
        self.runtime = runtime
        self.test_dir = test_dir
        self.make_rootfs = make_rootfs
        self.bundles = []

    def __call__(self, *args, cid=None):
        cid = cid or helpers.unique_id()
        path = os.path.join(self.test_dir, "bundle-" + uuid.uuid4().hex[:12])
        os.makedirs(path)
        os.chmod(path, 0o755)
        rootfs, argv = self.make_rootfs(path, args)
        cgroup_name = "isc-test-" + uuid.uuid4().hex[:12]
        config = helpers.default_config(argv, cgroup_name)
        if os.path.dirname(rootfs) != path:
            config["root"]["path"] = rootfs
        b = Bundle(path, rootfs, config, cid, cgroup_name)
        for p in (b.out_path, b.err_path):
            open(p, "w").close()
            os.chmod(p, 0o666)
        self.bundles.append(b)
        return b

    def teardown(self):
        problems = self.runtime.cleanup()
        for b in self.bundles:
            cg = helpers.cgroup_leftovers(b.cgroup_name)
            if cg:
                problems.append("cgroup dirs left: %s" % cg)
                helpers.kill_cgroups(cg)
            for p in (b.path, b.rootfs):
                mnts = helpers.mount_leftovers(p)
                if mnts:
                    problems.append("mounts left under %s: %s" % (p, mnts))
                    for m in sorted(mnts, key=len, reverse=True):
                        subprocess.run(["umount", "-l", m], capture_output=True)
        assert not problems, "; ".join(problems)


def _payload_rootfs(template):
    def make(bundle_path, args):
        rootfs = os.path.join(bundle_path, "rootfs")
        os.makedirs(rootfs)
        os.chmod(rootfs, 0o755)
        for d in ROOTFS_DIRS:
            os.makedirs(os.path.join(rootfs, d), exist_ok=True)
            os.chmod(os.path.join(rootfs, d), 0o755)
        os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
        dst = os.path.join(rootfs, "bin", "payload")
        try:
            os.link(template, dst)
        except OSError:
            shutil.copy(template, dst)
        os.chmod(dst, 0o755)
        return rootfs, ["/bin/payload"] + list(args or ["true"])
    return make


@pytest.fixture
def bundle(runtime, test_dir, payload_template):
    """Factory: bundle(*payload_args) -> Bundle running /bin/payload ARGS."""
    f = _BundleFactory(runtime, test_dir, _payload_rootfs(payload_template))
    yield f
    f.teardown()


@pytest.fixture
def busybox_bundle(runtime, test_dir, busybox_rootfs):
    """Factory: busybox_bundle(*argv) -> Bundle on the shared busybox rootfs
    (read-only; /bin/payload is there too)."""
    def make(bundle_path, args):
        return busybox_rootfs, list(args or ["/bin/true"])
    f = _BundleFactory(runtime, test_dir, make)
    yield f
    f.teardown()


@pytest.fixture
def netns():
    """Factory for named network namespaces (ip netns add), removed after."""
    created = []

    def make():
        name = helpers.unique_id("isc-test-ns")
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        created.append(name)
        return name, "/var/run/netns/" + name
    yield make
    for name in created:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)
