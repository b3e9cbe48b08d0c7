#!/usr/bin/env bash
# Static analysis of our C code: the format (.clang-format), clang-tidy
# (checks in .clang-tidy) and cppcheck.  Any finding fails.  To format a
# file: clang-format -i FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/compile_commands.json ] || scripts/build.sh
files=$(ls src/lib/*/*.c src/runtime/*.c src/isc/*.c src/iscd/*.c src/auditd/*.c)
echo "clang-format: every source and header of src/"
if ! find src -name '*.[ch]' -print0 | xargs -0 clang-format --dry-run -Werror 2>/tmp/isc-format.$$; then
  grep -E 'error:' /tmp/isc-format.$$ | head -20
  rm -f /tmp/isc-format.$$
  echo "clang-format: files not formatted (clang-format -i FILE)" >&2
  exit 1
fi
rm -f /tmp/isc-format.$$
echo "clang-tidy: $(echo "$files" | wc -l) files"
# _FORTIFY_SOURCE's builtins confuse the analyzer's va_list modelling, so it
# analyzes the unfortified code.  One clang-tidy per file, two at a time.
out=$(mktemp)
rc=0
echo "$files" | xargs -P "$(nproc)" -n 1 clang-tidy -p build --quiet --extra-arg=-U_FORTIFY_SOURCE \
  >"$out" 2>&1 || rc=$?
grep -E 'error:|warning:' "$out" | sort -u || true
rm -f "$out"
if [ "$rc" -ne 0 ]; then
  echo "clang-tidy: findings (see above)" >&2
  exit 1
fi
echo "cppcheck"
cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
  --inline-suppr --suppress=missingIncludeSystem --std=c11 -D_GNU_SOURCE \
  --include=/usr/include/jansson.h \
  -I src/lib src/lib src/runtime src/isc src/iscd src/auditd
echo "static analysis: clean"
