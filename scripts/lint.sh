#!/usr/bin/env bash
# Static analysis of our C code: clang-tidy (checks in .clang-tidy) and
# cppcheck.  Any finding fails.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/compile_commands.json ] || scripts/build.sh
files=$(ls src/lib/*.c src/runtime/*.c)
echo "clang-tidy: $(echo "$files" | wc -l) files"
clang-tidy -p build --quiet --warnings-as-errors='*' $files 2>&1 | grep -v -E '^[0-9]+ warnings? generated|^Suppressed|^Use -header-filter|^$' || true
# clang-tidy's exit status is what counts
clang-tidy -p build --quiet --warnings-as-errors='*' $files >/dev/null 2>&1
echo "cppcheck"
cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
  --inline-suppr --suppress=missingIncludeSystem --std=c11 -D_GNU_SOURCE \
  -I src/lib src/lib src/runtime
echo "static analysis: clean"
