#!/usr/bin/env bash
# The test command.
#
#   scripts/test.sh [PYTEST ARGS...]       everything (below); run as root
#   scripts/test.sh --quick [--asan] [AREA]
#       the inner loop: build, the C unit tests, and one area's integration
#       tests, once (the normal build; --asan: the ASan+UBSan one).  AREA is
#       a test file stem (`ops` -> tests/integration/test_ops.py) or a
#       pytest -k expression; without AREA, no integration test runs.  No
#       dependency install, lint, fuzzing or second pass.
#   scripts/test.sh --self-test             check the summary arithmetic
#
# Everything, in order: install what is needed, build (normal and
# ASan+UBSan), the C unit tests in both builds, then the integration suite
# in two passes, with static analysis and a fuzzing smoke run beside pass 1
# (at a lower CPU priority; their output follows pass 1):
#
#   pass 1, under the sanitizers: the ASan+UBSan isc-runtime, isc, iscd and
#     isc-auditd, driven by every test that exercises our C code (all of
#     tests/integration but the tests marked pass_normal).  Every sanitizer
#     report, of any process (the daemons' too), goes to a file; any report
#     fails the pass.  LeakSanitizer is on, but for the modules marked
#     no_leak_check (many starts through paths the others leak-check).
#   pass 2, the normal build (what ships): every test not marked
#     pass_sanitizers.
#
# Then a sample of the fault-injection suite (tests/fault: failed syscalls
# and kills at points of a traced `isc-runtime run`, the normal build; three
# points of each syscall: ~630 runs, about a minute).  ISC_FAULT_FULL=1
# makes it the full sweep (every point: ~2060 runs, about 5 minutes;
# tests/fault/test_fault.py).
#
# The tiers are pytest markers (tests/integration/conftest.py), so a plain
# `pytest tests/integration` still runs everything:
#   pass_normal      pass 2 only: the suites of podman, containerd and Docker
#                    (the clients' integration; the runtime paths they use are
#                    driven under the sanitizers by test_podman_isc.py), and
#                    the races (they want the shipped build's speed)
#   pass_sanitizers  pass 1 only: the lab tests whose time is the lab's own
#                    (namespaces, daemons, network waits), not our code's speed
# The budget is 25 minutes for the whole command on a fresh machine; each
# pass prints its slowest tests and its per-area totals so that a change
# sees its cost.  ISC_TEST_SLOW_CALLS=FILE records every command a test ran
# that took over 2 s.
#
# Every step runs even when an earlier one failed (only a failed install
# or build stops the command: nothing could be tested); any failure makes
# the exit status non-zero.  Each pass ends with pytest's own summary, its
# 25 slowest tests and its per-area (per test file) total of seconds; the
# last line of the command adds both passes up, in the form
#   N passed, M failed[, K skipped]
# (pytest's errors count as failed; a pass that printed no summary line,
# e.g. a crashed pytest, counts as 1 failed).  Every test has a timeout
# (tests/integration/pytest.ini, python3-pytest-timeout).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

PY=/usr/bin/python3

# tally LOG...: the last pytest summary line of each LOG, added up, as
# "N passed, M failed[, K skipped]"; each pass's own line goes to stderr
# when TALLY_VERBOSE is set
tally() {
  "$PY" - "$@" <<'EOF'
import os, re, sys

LINE = re.compile(r"^=*\s*((?:\d+ [a-z]+(?:, )?)+) in [0-9.]+s\b.*?=*$|^=*\s*(no tests ran) in .*$")
total = {"passed": 0, "failed": 0, "skipped": 0}
for path in sys.argv[1:]:
    summary = None
    with open(path, errors="replace") as f:
        for raw in f:
            text = re.sub(r"\x1b\[[0-9;]*m", "", raw).strip()
            m = LINE.match(text)
            if m:
                summary = m.group(1) or m.group(2)
    if summary is None:
        print("test: %s: no pytest summary line (counted as 1 failed)" % path, file=sys.stderr)
        total["failed"] += 1
        continue
    if os.environ.get("TALLY_VERBOSE"):
        print("  %s -> %s" % (os.path.basename(path), summary), file=sys.stderr)
    for n, word in re.findall(r"(\d+) ([a-z]+)", summary):
        if word in ("failed", "error", "errors"):
            total["failed"] += int(n)
        elif word in ("passed", "skipped"):
            total[word] += int(n)
out = "%d passed, %d failed" % (total["passed"], total["failed"])
if total["skipped"]:
    out += ", %d skipped" % total["skipped"]
print(out)
EOF
}

# areas XML: seconds per test file (setup + call + teardown) from a junit xml
areas() {
  "$PY" - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET

per = {}
try:
    cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
except (OSError, ET.ParseError) as e:
    print("  (no junit report: %s)" % e)
    sys.exit(0)
for c in cases:
    mod = next((p for p in c.get("classname", "").split(".") if p.startswith("test_")), "?")
    t, n = per.get(mod, (0.0, 0))
    per[mod] = (t + float(c.get("time") or 0), n + 1)
print("per-area totals (seconds, tests):")
for mod, (t, n) in sorted(per.items(), key=lambda kv: -kv[1][0]):
    print("  %8.1f s %4d  %s.py" % (t, n, mod))
print("  %8.1f s %4d  all" % (sum(t for t, _ in per.values()), sum(n for _, n in per.values())))
EOF
}

self_test() {
  local d ok=0 got
  d=$(mktemp -d)
  printf '....F.s\n1 failed, 3 passed, 2 skipped in 3.1s\n' >"$d/a"
  printf 'x\n5 passed, 1 error in 2s\n' >"$d/b"
  printf '== 2 failed, 504 passed, 1 skipped, 3 warnings in 485.28s (0:08:05) ==\n' >"$d/c"
  printf 'collected 0 items\n\nno tests ran in 0.01s\n' >"$d/d"
  printf 'Traceback (most recent call last):\nKilled\n' >"$d/e"
  printf '5 passed in 1.00s\n' >"$d/f"
  printf '\033[32m7 passed\033[0m, \033[33m1 xfailed\033[0m in 9.5s\n' >"$d/g"
  check() { # expected, logs...
    local want=$1; shift
    got=$(cd "$d" && tally "$@" 2>/dev/null | tail -n 1)
    if [ "$got" = "$want" ]; then
      echo "self-test: ok: $* -> $got"
    else
      echo "self-test: FAIL: $* -> '$got', expected '$want'"
      ok=1
    fi
  }
  check "8 passed, 2 failed, 2 skipped" a b
  check "3 passed, 1 failed, 2 skipped" a
  check "5 passed, 1 failed" b
  check "509 passed, 2 failed, 1 skipped" c f
  check "0 passed, 0 failed" d
  check "5 passed, 1 failed" e f
  check "7 passed, 0 failed" g
  rm -rf "$d"
  return $ok
}

failed_steps=()
step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }
failed() { failed_steps+=("$1"); echo "test: FAILED: $1" >&2; }
report_failed() { printf 'test: FAILED steps:'; printf ' [%s]' "${failed_steps[@]}"; echo; }

unit_tests() { # build dir, label
  local out rc
  out=$(ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$1" --suite unit --print-errorlogs --no-rebuild 2>&1)
  rc=$?
  if [ "$rc" -eq 0 ]; then
    grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout):' <<<"$out"
  else
    printf '%s\n' "$out"
    failed "$2"
  fi
}

export ISC_TEST_PAYLOAD="$root/build/tests/payload/isc-payload"
work=""
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT

# integration LABEL BUILD-DIR PYTEST-ARGS...: one pass; its log and junit
# report go to $work/LABEL.{log,xml}
integration() {
  local label=$1 build=$2 rc
  shift 2
  PYTHONUNBUFFERED=1 ISC_TEST_RUNTIME="$root/$build/src/runtime/isc-runtime" ISC_TEST_BUILD=$build \
    "$PY" -m pytest -q -p no:cacheprovider --durations=25 --junitxml="$work/$label.xml" \
    "$@" 2>&1 | tee "$work/$label.log"
  rc=${PIPESTATUS[0]}
  echo
  areas "$work/$label.xml"
  case $rc in
    0) ;;
    5) failed "integration tests: $label (no test collected)" ;;
    *) failed "integration tests: $label (pytest exit $rc)" ;;
  esac
}

quick=false asan=false area=""
case "${1:-}" in
  --self-test)
    self_test
    exit
    ;;
  --quick)
    quick=true
    shift
    if [ "${1:-}" = "--asan" ]; then asan=true; shift; fi
    area=${1:-}
    [ "$#" -le 1 ] || { echo "usage: scripts/test.sh --quick [--asan] [AREA]" >&2; exit 2; }
    ;;
  -h|--help)
    sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  echo "test: the integration tests create namespaces, mounts and cgroups: run as root" >&2
  exit 1
fi
work=$(mktemp -d /tmp/isc-test.XXXXXX)
chmod 0711 "$work" # the sanitizer reports of processes of other uids

if $quick; then
  bdir=build
  $asan && bdir=build-asan
  step "build ($bdir)"
  if $asan; then scripts/build.sh --asan; else scripts/build.sh; fi || { echo "test: build failed" >&2; exit 1; }
  step "unit tests ($bdir)"
  unit_tests "$bdir" "unit tests ($bdir)"
  logs=()
  if [ -n "$area" ]; then
    if [ -f "tests/integration/test_$area.py" ]; then
      sel=("tests/integration/test_$area.py")
    else
      sel=(tests/integration -k "$area")
    fi
    step "integration tests: ${sel[*]} ($bdir)"
    integration quick "$bdir" "${sel[@]}"
    logs=("$work/quick.log")
  fi
  echo
  if [ "${#failed_steps[@]}" -gt 0 ]; then
    report_failed
  fi
  if [ "${#logs[@]}" -gt 0 ]; then
    tally "${logs[@]}"
  fi
  [ "${#failed_steps[@]}" -eq 0 ]
  exit
fi

t0=$(date +%s)
self_test >/dev/null || failed "the summary arithmetic (scripts/test.sh --self-test)"

step "dependencies"
scripts/install-deps.sh || { echo "test: installing the dependencies failed" >&2; exit 1; }

step "build (warnings are errors) and ASan+UBSan build"
scripts/build.sh --asan || { echo "test: build failed" >&2; exit 1; }

step "unit tests"
unit_tests build "unit tests"
step "unit tests under ASan+UBSan"
unit_tests build-asan "unit tests under ASan+UBSan"

step "mutants: every patch applies, every test it names exists (scripts/mutants.sh runs them)"
scripts/mutants.sh --check || failed "mutants --check"

step "static analysis (clang-tidy, cppcheck) and a fuzzing smoke run: started beside pass 1"
(
  nice -n 10 scripts/lint.sh >"$work/lint.log" 2>&1
  echo $? >"$work/lint.rc"
  nice -n 10 scripts/fuzz.sh "${ISC_FUZZ_SECONDS:-10}" >"$work/fuzz.log" 2>&1
  echo $? >"$work/fuzz.rc"
) &
beside=$!

step "integration tests, pass 1: the ASan+UBSan build (isc-runtime, isc, iscd, isc-auditd); not: pass_normal"
# a sanitizer report makes the program exit non-zero, which fails the test;
# every report also goes to a file of its own (log_path + .PID), which
# catches a daemon's or a process whose exit status nobody reads
reports="$work/sanitizer-reports"
mkdir -p "$reports"
chmod 0777 "$reports"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:log_path=$reports/asan \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan \
  integration sanitizers build-asan tests/integration -m "not pass_normal" "$@"
if [ -n "$(ls -A "$reports")" ]; then
  for f in "$reports"/*; do
    printf '\n-- %s\n' "$f"
    head -c 20000 "$f"
  done
  failed "sanitizer reports in pass 1 (above)"
fi

wait "$beside"
step "static analysis (clang-tidy, cppcheck), run beside pass 1"
cat "$work/lint.log"
[ "$(cat "$work/lint.rc" 2>/dev/null)" = 0 ] || failed "static analysis"
step "fuzzing smoke run, beside pass 1"
cat "$work/fuzz.log"
[ "$(cat "$work/fuzz.rc" 2>/dev/null)" = 0 ] || failed "fuzzing"

step "integration tests, pass 2: the normal build; not: pass_sanitizers"
integration normal build tests/integration -m "not pass_sanitizers" "$@"

step "fault injection: $([ "${ISC_FAULT_FULL:-}" = 1 ] && echo "the full sweep" || echo "a sample") (tests/fault, the normal build)"
PYTHONUNBUFFERED=1 ISC_TEST_RUNTIME="$root/build/src/runtime/isc-runtime" \
  "$PY" -m pytest -q -p no:cacheprovider tests/fault 2>&1 | tee "$work/fault.log"
case ${PIPESTATUS[0]} in
  0) ;;
  *) failed "fault injection (tests/fault)" ;;
esac

echo
if [ "${#failed_steps[@]}" -gt 0 ]; then
  report_failed
fi
echo "test: the whole command took $(($(date +%s) - t0)) s (its budget: 25 minutes on a fresh machine)"
echo "both passes and the fault sample:"
TALLY_VERBOSE=1 tally "$work/sanitizers.log" "$work/normal.log" "$work/fault.log" 2>&1 | sed '$d'
tally "$work/sanitizers.log" "$work/normal.log" "$work/fault.log" 2>/dev/null
[ "${#failed_steps[@]}" -eq 0 ]
