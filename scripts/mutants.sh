#!/usr/bin/env bash
# Mutation testing: show that the tests catch what they claim.
#
#   scripts/mutants.sh [--list] [--check] [--no-control] [NAME...]
#
# A mutant is a small change to the code that removes one protection or
# breaks one behaviour: tests/mutants/NAME.patch (a diff against the tree,
# applied with `git apply`) and tests/mutants/NAME.tests, whose first line is
# "# what the mutation removes" and whose other lines name the tests that must
# catch it: a pytest node id (tests/integration/test_ops.py::test_x) or
# unit:NAME (a meson unit test).
#
# The working tree (as it is, uncommitted changes included) is copied into a
# scratch folder once and built there (normal build); then, for each mutant:
# its tests run on the unmutated copy and must pass (the control; skip it
# with --no-control), the patch is applied, the copy is rebuilt, and the
# tests run again: the mutant is CAUGHT when at least one of them fails. The
# patch is reverted before the next mutant.  The tree itself is never
# touched.  Exit status: 0 when every mutant was caught and every control
# passed, 1 otherwise, 2 for a usage error.  Needs root (the tests do).
#
# --check builds and runs nothing: every patch still applies to the tree
# and every test a .tests file names exists (the file, and the test
# function or the meson unit test).  The test command runs it, so a patch
# that rots with the code it mutates is caught at once.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mdir=$root/tests/mutants

control=1
check_only=0
names=()
for a in "$@"; do
  case "$a" in
    --no-control) control=0 ;;
    --check) check_only=1 ;;
    --list)
      for t in "$mdir"/*.tests; do
        printf '%-28s %s\n' "$(basename "$t" .tests)" "$(head -n1 "$t" | sed 's/^# *//')"
      done
      exit 0 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "mutants: unknown option $a (see --help)" >&2; exit 2 ;;
    *) names+=("$a") ;;
  esac
done
if [ "${#names[@]}" -eq 0 ]; then
  for p in "$mdir"/*.patch; do names+=("$(basename "$p" .patch)"); done
fi
for n in "${names[@]}"; do
  if [ ! -f "$mdir/$n.patch" ] || [ ! -f "$mdir/$n.tests" ]; then
    echo "mutants: $n: tests/mutants/$n.patch and $n.tests are both needed" >&2
    exit 2
  fi
done

# check NAME: the patch applies, the named tests exist; prints what is wrong
check() {
  local n=$1 line file fn bad=0
  if ! git apply --check "$mdir/$n.patch" 2>/dev/null; then
    echo "mutants: $n: tests/mutants/$n.patch no longer applies to the tree (regenerate it)"
    bad=1
  fi
  while IFS= read -r line; do
    case "$line" in
      ''|'#'*) ;;
      unit:*)
        grep -q "'${line#unit:}'" tests/unit/meson.build ||
          { echo "mutants: $n: no unit test ${line#unit:} in tests/unit/meson.build"; bad=1; } ;;
      *)
        file=${line%%::*} fn=${line#*::} fn=${fn%%[[]*}
        if [ ! -f "$file" ] || ! grep -q "^def ${fn##*::}(" "$file"; then
          echo "mutants: $n: no test $line"
          bad=1
        fi ;;
    esac
  done <"$mdir/$n.tests"
  return $bad
}

if [ "$check_only" = 1 ]; then
  rc=0
  for n in "${names[@]}"; do check "$n" || rc=1; done
  [ "$rc" = 0 ] && echo "mutants: ${#names[@]} mutants: every patch applies, every named test exists"
  exit $rc
fi

work=$(mktemp -d /var/tmp/isc-mutants.XXXXXX)
# containers with a user namespace must reach the payload and the binaries
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
tree=$work/tree
mkdir "$tree"
# the working tree as it is (tracked and untracked files, not the builds)
git ls-files -z --cached --others --exclude-standard | tar -C "$root" --null -T - -cf - | tar -C "$tree" -xf -
echo "mutants: building a copy of the tree in $tree"
if ! { meson setup "$tree/build" "$tree" >"$work/setup.log" 2>&1 && ninja -C "$tree/build" >"$work/build.log" 2>&1; }; then
  echo "mutants: the unmutated copy does not build:" >&2
  tail -n 30 "$work/setup.log" "$work/build.log" >&2
  exit 1
fi

# run_tests NAME LABEL: run the mutant's tests against the copy's build;
# prints the failing ones; returns 0 when all passed
run_tests() {
  local name=$1 label=$2 py=() units=() rc=0 line
  while IFS= read -r line; do
    case "$line" in ''|'#'*) ;; unit:*) units+=("${line#unit:}") ;; *) py+=("$line") ;; esac
  done <"$mdir/$name.tests"
  local log=$work/$name-$label.log
  : >"$log"
  if [ "${#units[@]}" -gt 0 ]; then
    meson test -C "$tree/build" --no-rebuild --print-errorlogs "${units[@]}" >>"$log" 2>&1 || rc=1
  fi
  if [ "${#py[@]}" -gt 0 ]; then
    (cd "$tree" && ISC_TEST_PAYLOAD="$tree/build/tests/payload/isc-payload" \
      ISC_TEST_RUNTIME="$tree/build/src/runtime/isc-runtime" ISC_TEST_BUILD=build \
      /usr/bin/python3 -m pytest -q -p no:cacheprovider -o addopts="" "${py[@]}") >>"$log" 2>&1 || rc=1
  fi
  grep -E '^(FAILED|ERROR) |^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$log" | head -n 5 | sed 's/^/    /'
  tail -n 1 "$log" | sed 's/^/    /'
  return $rc
}

caught=() missed=() broken=()
for n in "${names[@]}"; do
  printf '\n== %s: %s\n' "$n" "$(head -n1 "$mdir/$n.tests" | sed 's/^# *//')"
  if [ "$control" = 1 ]; then
    echo "  control (unmutated):"
    # the previous mutant was reverted: rebuild what it touched
    if ! ninja -C "$tree/build" >"$work/$n-control-build.log" 2>&1; then
      echo "  the unmutated copy does not build"; broken+=("$n"); continue
    fi
    if ! run_tests "$n" control; then
      echo "  CONTROL FAILED: the tests fail without the mutation ($work/$n-control.log)"
      broken+=("$n"); continue
    fi
  fi
  if ! (cd "$tree" && git apply "$mdir/$n.patch") 2>"$work/$n-apply.log"; then
    echo "  the patch no longer applies: $(head -n 3 "$work/$n-apply.log" | tr '\n' ' ')"
    broken+=("$n"); continue
  fi
  if ! ninja -C "$tree/build" >"$work/$n-build.log" 2>&1; then
    echo "  the mutant does not build (fix the patch): $(grep -m1 -E 'error' "$work/$n-build.log")"
    broken+=("$n")
  else
    echo "  mutant:"
    if run_tests "$n" mutant; then
      echo "  NOT CAUGHT: every test passed with the mutation"
      missed+=("$n")
    else
      echo "  caught"
      caught+=("$n")
    fi
  fi
  (cd "$tree" && git apply -R "$mdir/$n.patch")
done

printf '\nmutants: %d caught, %d not caught%s, %d broken%s\n' "${#caught[@]}" "${#missed[@]}" \
  "$([ "${#missed[@]}" -gt 0 ] && printf ' (%s)' "${missed[*]}")" "${#broken[@]}" \
  "$([ "${#broken[@]}" -gt 0 ] && printf ' (%s)' "${broken[*]}")"
[ "${#missed[@]}" -eq 0 ] && [ "${#broken[@]}" -eq 0 ]
