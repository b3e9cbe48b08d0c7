#!/usr/bin/env bash
# Build isc: the normal build in build/ and, with --asan, the ASan+UBSan
# build in build-asan/.  Warnings are errors in both.
set -euo pipefail
cd "$(dirname "$0")/.."

setup() { # dir, extra meson options...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir" >/dev/null
}

setup build
if [ "${1:-}" = "--asan" ]; then
  setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
fi
