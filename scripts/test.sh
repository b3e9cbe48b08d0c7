#!/usr/bin/env bash
# The test command: install what is needed, build (normal and ASan+UBSan),
# run the C unit tests in both builds, static analysis, a fuzzing smoke run,
# then every integration test.  The last line is pytest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "test: the integration tests create namespaces, mounts and cgroups: run as root" >&2
  exit 1
fi

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

step "build (warnings are errors) and ASan+UBSan build"
scripts/build.sh --asan

step "unit tests"
meson test -C build --suite unit --print-errorlogs --no-rebuild | grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout):'
step "unit tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --suite unit --print-errorlogs --no-rebuild | grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout):'

step "static analysis (clang-tidy, cppcheck)"
scripts/lint.sh

step "fuzzing smoke run"
scripts/fuzz.sh "${ISC_FUZZ_SECONDS:-10}"

export ISC_TEST_PAYLOAD="$root/build/tests/payload/isc-payload"

step "integration tests, driving the ASan+UBSan build (isc-runtime, isc, iscd, isc-auditd)"
# a sanitizer report makes the program exit non-zero, which fails the test
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
ISC_TEST_RUNTIME="$root/build-asan/src/runtime/isc-runtime" ISC_TEST_BUILD=build-asan \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration \
  --ignore=tests/integration/test_podman.py --ignore=tests/integration/test_containerd.py "$@"
# (podman's and containerd's own suites run once, in the pass below: they
# take a minute, and test_podman_isc.py drives the sanitized runtime
# through podman here)

step "integration tests"
export ISC_TEST_RUNTIME="$root/build/src/runtime/isc-runtime" ISC_TEST_BUILD=build
# pytest's own summary line is the last line of this command; its exit
# status (5 when no test ran) is ours
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
