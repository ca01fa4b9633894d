#!/usr/bin/env bash
# Runs the end-to-end tests: all tests/e2e/test_*.sh, or the ones named (with or without
# "test_" / ".sh"). Each test runs in its own network namespaces, with a time bound
# (E2E_TEST_TIMEOUT seconds, default 300). Needs root.
#   tests/e2e/run.sh [test_basic_forwarding ...]
# Uses binaries from $FW_BUILD_DIR/bin (default build/bin). Prints a summary whose last line is
# "N passed, M failed"; exits non-zero if a test failed or this is not root.
set -uo pipefail

cd "$(dirname "$0")" || exit 1
HERE=$(pwd)
export LAB_REPO=${LAB_REPO:-$(cd ../.. && pwd)}
export FW_BUILD_DIR=${FW_BUILD_DIR:-$LAB_REPO/build}

if [[ $EUID -ne 0 ]]; then
  echo "e2e: SKIPPED: the end-to-end tests need root (network namespaces, iptables, NFQUEUE)"
  echo "0 passed, 0 failed"
  exit 1
fi

tests=()
if (($#)); then
  for t in "$@"; do
    t=${t%.sh}; t=${t#test_}
    [[ -f $HERE/test_$t.sh ]] || { echo "e2e: no such test: test_$t.sh" >&2; exit 2; }
    tests+=("$HERE/test_$t.sh")
  done
else
  shopt -s nullglob
  tests=("$HERE"/test_*.sh)
  shopt -u nullglob
fi

timeout_s=${E2E_TEST_TIMEOUT:-300}
passed=0 failed=0 skipped=0
results=()
for t in "${tests[@]}"; do
  name=$(basename "$t" .sh)
  echo
  echo "---------- e2e: $name ----------"
  start=$SECONDS
  # --kill-after: a test stuck in its own cleanup still ends; its trap runs on TERM.
  timeout --kill-after=20 "$timeout_s" bash "$t"
  rc=$?
  dur=$((SECONDS - start))
  case $rc in
    0) passed=$((passed + 1)); results+=("PASS  $name (${dur}s)") ;;
    77) skipped=$((skipped + 1)); results+=("SKIP  $name") ;;
    124|137) failed=$((failed + 1)); results+=("FAIL  $name (timed out after ${timeout_s}s)") ;;
    *) failed=$((failed + 1)); results+=("FAIL  $name (exit $rc, ${dur}s)") ;;
  esac
done

echo
echo "---------- e2e summary ----------"
for r in "${results[@]+"${results[@]}"}"; do echo "  $r"; done
((skipped)) && echo "$skipped skipped"
echo "$passed passed, $failed failed"
((failed == 0))
