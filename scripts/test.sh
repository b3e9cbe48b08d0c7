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
meson test -C build --suite unit --print-errorlogs --no-rebuild | tail -n 3
step "unit tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --suite unit --print-errorlogs --no-rebuild | tail -n 3

step "static analysis (clang-tidy, cppcheck)"
scripts/lint.sh

step "fuzzing smoke run"
scripts/fuzz.sh "${ISC_FUZZ_SECONDS:-20}"

step "integration tests"
# The suite itself drives the normal build; ISC_TEST_ASAN_RUNTIME lets the
# sanitizer tests drive the ASan build too.
export ISC_TEST_RUNTIME="$root/build/src/runtime/isc-runtime"
export ISC_TEST_ASAN_RUNTIME="$root/build-asan/src/runtime/isc-runtime"
export ISC_TEST_PAYLOAD="$root/build/tests/payload/isc-payload"
set +e
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
rc=$?
set -e
# pytest's "no tests ran" (5) is a failure of the suite, not a pass
exit $rc
