#!/usr/bin/env bash
# The libFuzzer targets (tests/fuzz), built with clang, ASan+UBSan, in
# build-fuzz/.  Each target NAME (build-fuzz/tests/fuzz/fuzz-NAME) starts
# from what the tree keeps for it: tests/fuzz/seeds/NAME/ (written by hand,
# named for what they show) and tests/fuzz/corpus/NAME/ (grown by fuzzing,
# named by content), and uses its dictionary, tests/fuzz/NAME.dict.
#
#   scripts/fuzz.sh [SECONDS]         fuzz every target SECONDS (default 20);
#                                     what it finds that is new goes to
#                                     build-fuzz/finds/NAME/, never into the tree
#   scripts/fuzz.sh --merge           minimise corpus + finds into the tree's
#                                     corpus (libFuzzer -set_cover_merge=1: a
#                                     smallest set of inputs with the coverage
#                                     of all of them, beyond the seeds'), then
#                                     empty the finds; commit tests/fuzz/corpus
#   scripts/fuzz.sh --only NAME ...   the same for one target
#
# A crash, a leak, a timeout or a broken invariant (the targets abort) is
# reported with the tail of its log and the input kept in
# build-fuzz/crashes/NAME/; the other targets still run, and the script
# exits 1 at the end.  fuzz-image-import needs root (it imports as root, in
# a Landlock sandbox); without root it is skipped, saying so.  Its temp
# folder is TMPDIR, /dev/shm by default here (fast); TMPDIR=/tmp fuzzes on
# ext4, where the store's immutable flags are set and cleared too.
set -euo pipefail
cd "$(dirname "$0")/.."

merge=0
only=
while [ $# -gt 0 ]; do
  case $1 in
    --merge) merge=1; shift ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
secs=${1:-20}

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debug >/dev/null
fi
if ! out=$(ninja -C build-fuzz 2>&1); then
  printf '%s\n' "$out" | grep -E -A3 'error|FAILED' | head -n 30 >&2
  echo "fuzz: building the fuzz targets failed" >&2
  exit 1
fi

if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR=/dev/shm
fi

count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

failed=()
for target in build-fuzz/tests/fuzz/fuzz-*; do
  [ -f "$target" ] && [ -x "$target" ] || continue
  name=${target##*/fuzz-}
  [ -z "$only" ] || [ "$only" = "$name" ] || continue
  seeds=tests/fuzz/seeds/$name
  corpus=tests/fuzz/corpus/$name
  finds=build-fuzz/finds/$name
  crashes=build-fuzz/crashes/$name
  mkdir -p "$seeds" "$corpus" "$finds" "$crashes"
  dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  if [ "$name" = image-import ] && [ "$(id -u)" -ne 0 ]; then
    echo "fuzz: $name skipped: it needs root (an import keeps owners)"
    continue
  fi
  log=build-fuzz/fuzz-$name.log
  if [ "$merge" = 1 ]; then
    before=$(count "$corpus")
    # the seeds go first: what they cover needs no corpus input
    m=$(mktemp -d)
    cp "$seeds"/. "$m"/ -r
    if ! "$target" -set_cover_merge=1 -timeout=10 -max_len=65536 "${dict[@]}" "$m" "$corpus" "$finds" \
      >"$log" 2>&1; then
      tail -n 30 "$log" >&2; rm -rf "$m"; failed+=("$name"); continue
    fi
    for f in "$seeds"/*; do [ -e "$f" ] && rm -f "$m/${f##*/}"; done
    find "$corpus" -maxdepth 1 -type f -delete
    find "$m" -maxdepth 1 -type f -exec mv -t "$corpus"/ {} +
    rm -rf "$m"
    find "$finds" -maxdepth 1 -type f -delete
    echo "fuzz: $name: corpus $before -> $(count "$corpus") files, $(cat "$corpus"/* 2>/dev/null | wc -c) bytes"
    continue
  fi
  rc=0
  # the first folder gets what is new; the tree's corpus is only read
  "$target" -max_total_time="$secs" -max_len=65536 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "${dict[@]}" "$finds" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
  summary=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 |
    sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+cov: ([0-9]+).*exec\/s: ([0-9]+).*/\1 runs, \3\/s, coverage \2/') || true
  echo "fuzz: $name ${secs}s: ${summary:-no summary}; $(count "$seeds") seeds and $(count "$corpus") corpus" \
    "inputs in the tree, $(count "$finds") new in $finds"
  if [ "$rc" -ne 0 ]; then
    grep -vE '^ +#[0-9]+ 0x' "$log" | tail -n 40 >&2
    echo "fuzz: $name FAILED (exit $rc): the input is in $crashes/, the log in $log" >&2
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
