#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan+UBSan) and run each for a
# few seconds on its seed corpus.  Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debug >/dev/null
fi
ninja -C build-fuzz >/dev/null
for target in build-fuzz/tests/fuzz/fuzz-*; do
  [ -f "$target" ] && [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus=tests/fuzz/corpus/${name#fuzz-}
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${secs}s"
  rc=0
  "$target" -max_total_time="$secs" -max_len=65536 -timeout=10 -artifact_prefix="$work/" \
    "$work" >"$work.log" 2>&1 || rc=$?
  grep -E '^(Done [0-9]+ runs|==[0-9]+==ERROR|SUMMARY)' "$work.log" || true
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$work.log" >&2
    echo "fuzz: $name failed (exit $rc); inputs kept in $work" >&2
    exit 1
  fi
  rm -f "$work.log"
  rm -rf "$work"
done
