#!/bin/sh
# include-row.sh EXPECT HEADER CC [ARGS...]: compile a file holding only
# `#include "HEADER"` with the compiler command CC ARGS (a library's row:
# src/lib/meson.build).  EXPECT "leak": the compile must fail because HEADER
# is not found (a header above the row); "legal": it must compile.
set -u
expect=$1
header=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '#include "%s"\nint isc_layout_probe(void);\nint isc_layout_probe(void) { return 0; }\n' "$header" >"$dir/probe.c"
"$@" -fsyntax-only "$dir/probe.c" >"$dir/out" 2>&1
rc=$?
case "$expect" in
  legal)
    if [ "$rc" -ne 0 ]; then
      echo "FAIL: \"$header\" should compile in this row:"; cat "$dir/out"; exit 1
    fi
    echo "ok: \"$header\" compiles" ;;
  leak)
    if [ "$rc" -eq 0 ]; then
      echo "FAIL: \"$header\" compiled, but it is above this row"; exit 1
    fi
    # gcc: "HEADER: No such file or directory"; clang: "'HEADER' file not found"
    if ! grep -qE "$header(: No such file or directory|' file not found)" "$dir/out"; then
      echo "FAIL: the compile failed, but not for \"$header\" being out of reach:"; cat "$dir/out"; exit 1
    fi
    echo "ok: \"$header\" is out of reach: $(grep -m1 -E 'No such file|file not found' "$dir/out")" ;;
  *) echo "include-row: EXPECT is leak or legal" >&2; exit 2 ;;
esac
