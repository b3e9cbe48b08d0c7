#!/bin/sh
# include-tree.sh SRC OUT ENTRY...: the include tree of one library.
# OUT is emptied and gets one symlink per ENTRY into SRC (src/lib): a folder
# ("base": all of base/) or one header ("audit/audit-id.h": only that header
# of audit/).  A library compiles with -I OUT and nothing else of src/lib,
# so "kernel/ns.h" resolves only when kernel/ is in its row (meson.build).
set -eu
src=$1
out=$2
shift 2
rm -rf "$out"
mkdir -p "$out"
for e in "$@"; do
  [ -e "$src/$e" ] || { echo "include-tree: $src/$e: no such folder or header" >&2; exit 1; }
  case "$e" in
    */*) mkdir -p "$out/${e%/*}" ;;
  esac
  ln -s "$src/$e" "$out/$e"
done
