#!/usr/bin/env bash
# Tests for scripts/check-deps and scripts/check-format, on scratch trees in a temporary
# directory (removed at exit): a clean tree must pass, each planted fault must fail with the
# offending file named. The last line is "N passed, M failed"; the exit code is 1 on a failure.
#
#   tests/scripts/run.sh
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CHECK_DEPS=$REPO/scripts/check-deps
CHECK_FORMAT=$REPO/scripts/check-format
SCRATCH=$(mktemp -d /tmp/check-scripts.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "  ok    $1"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL  $1"; [[ -n ${2:-} ]] && sed 's/^/        /' <<<"$2"; }

# expect NAME WANT_RC GREP_PATTERN CMD...: runs CMD, checks its exit code and, when the
# pattern is not empty, that its output (stdout + stderr) matches it.
expect() {
  local name=$1 want=$2 pattern=$3 out rc=0
  shift 3
  out=$("$@" 2>&1) || rc=$?
  if ((rc != want)); then
    fail "$name (exit $rc, want $want)" "$out"
  elif [[ -n $pattern ]] && ! grep -qE -- "$pattern" <<<"$out"; then
    fail "$name (output does not match /$pattern/)" "$out"
  else
    pass "$name"
  fi
}

# ---------------------------------------------------------------------------------------------
# check-deps: a small tree with one file per folder, every allowed kind of include.
put() {  # put ROOT PATH LINE...: writes a file with the given lines
  local root=$1 path=$2
  shift 2
  mkdir -p "$(dirname "$root/$path")"
  printf '%s\n' "$@" >"$root/$path"
}

clean_deps_tree() {
  local t=$1
  put "$t" common/log.h '#pragma once' '#include <string>'
  put "$t" packet/parse.h '#pragma once' '#include "common/log.h"'
  put "$t" packet/parse_detail.h '#pragma once'
  put "$t" packet/parse.cpp '#include "packet/parse.h"' '#include "parse_detail.h"' \
    '#include <sys/socket.h>'
  put "$t" config/config.h '#include "common/log.h"'
  put "$t" session/session.h '#include "packet/parse.h"' '#include "common/log.h"'
  put "$t" policy/policy.h '#include "config/config.h"' '#include "packet/parse.h"'
  put "$t" nat/nat.h '#include "policy/policy.h"' '#include "session/session.h"'
  put "$t" aspf/engine.h '#include "nat/nat.h"' '#include "session/session.h"' \
    '#include "config/config.h"'
  put "$t" aspf/ftp/ftp_parser.h '#pragma once'
  put "$t" aspf/ftp/ftp_parser.cpp '#include "aspf/ftp/ftp_parser.h"' '#include "ftp_parser.h"' \
    '#include "aspf/engine.h"'
  put "$t" db/store.h '#include "config/config.h"' '#include <sqlite3.h>'
  put "$t" cli/grammar.h '#include "common/log.h"'
  put "$t" cli/fwcli_main.cpp '#include "cli/grammar.h"' '#include "ipc/ipc.h"'
  put "$t" ipc/ipc.h '#include "common/log.h"'
  put "$t" fwd/app.cpp '#include "aspf/engine.h"' '#include "db/store.h"' '#include "cli/grammar.h"' \
    '#include "ipc/ipc.h"' '#include "policy/policy.h"' '// #include "nothing/here.h"'
  # Exempt folders may include anything.
  put "$t" tests/unit/x_test.cpp '#include "fwd/app.h"' '#include "helper.h"' '#include "../x.h"'
  put "$t" bench/b.cpp '#include "policy/policy.h"' '#include "cli/fwcli_main.cpp"'
}

# deps_case NAME FILE LINE PATTERN: a copy of the clean tree with LINE appended to FILE (as
# its line 3 or later) must fail and name FILE and the problem.
deps_case() {
  local name=$1 file=$2 line=$3 pattern=$4 t
  t=$SCRATCH/deps-$((PASSED + FAILED))
  cp -r "$SCRATCH/deps-clean" "$t"
  mkdir -p "$(dirname "$t/$file")"
  printf '%s\n' "$line" >>"$t/$file"
  local n
  n=$(wc -l <"$t/$file")
  expect "$name" 1 "^$file:$n: .*$pattern" "$CHECK_DEPS" "$t"
}

echo "check-deps"
clean_deps_tree "$SCRATCH/deps-clean"
expect "clean tree passes" 0 "every include follows the arrows" "$CHECK_DEPS" "$SCRATCH/deps-clean"
deps_case "aspf -> policy" aspf/engine.h '#include "policy/policy.h"' "aspf -> policy"
deps_case "nested folder counts as its top folder" aspf/ftp/ftp_parser.cpp \
  '#include "db/store.h"' "aspf -> db"
deps_case "common -> packet" common/log.h '#include "packet/parse.h"' "common -> packet"
deps_case "packet -> session" packet/parse.cpp '#include "session/session.h"' "packet -> session"
deps_case "config -> policy" config/config.h '#include "policy/policy.h"' "config -> policy"
deps_case "session -> nat" session/session.h '#include "nat/nat.h"' "session -> nat"
deps_case "policy -> session" policy/policy.h '#include "session/session.h"' "policy -> session"
deps_case "nat -> aspf" nat/nat.h '#include "aspf/engine.h"' "nat -> aspf"
deps_case "db -> session" db/store.h '#include "session/session.h"' "db -> session"
deps_case "cli (not the shell) -> ipc" cli/grammar.h '#include "ipc/ipc.h"' "cli -> ipc"
deps_case "the shell -> fwd" cli/fwcli_main.cpp '#include "fwd/app.h"' "cli -> fwd"
deps_case "ipc -> cli" ipc/ipc.h '#include "cli/grammar.h"' "ipc -> cli"
deps_case "fwd includes the shell" fwd/app.cpp '#include "cli/fwcli_main.cpp"' "the shell"
deps_case "spaces inside the directive" aspf/engine.h '  #  include  "policy/policy.h"' \
  "aspf -> policy"
deps_case "angle include of a repository header" aspf/engine.h '#include <policy/policy.h>' \
  "aspf -> policy"
deps_case "bare name of a file in another folder" packet/parse.cpp '#include "log.h"' \
  "without its folder"
deps_case "bare name of a missing file" fwd/app.cpp '#include "app.h"' "without its folder"
deps_case "relative path" aspf/engine.h '#include "../policy/policy.h"' "relative include"
deps_case "folder relative to the includer" aspf/engine.h '#include "ftp/ftp_parser.h"' \
  "ftp/ is not a source folder"
deps_case "unknown folder" common/log.h '#include "third_party/x.h"' "not a source folder"
deps_case "a new file is read too" aspf/new_alg/new_parser.cpp '#include "policy/policy.h"' \
  "aspf -> policy"

# Every problem is listed, not only the first one.
t=$SCRATCH/deps-many
cp -r "$SCRATCH/deps-clean" "$t"
printf '%s\n' '#include "policy/policy.h"' >>"$t/aspf/engine.h"
printf '%s\n' '#include "fwd/app.h"' >>"$t/common/log.h"
out=$("$CHECK_DEPS" "$t" 2>/dev/null)
if [[ $(grep -c ':[0-9]*: #include' <<<"$out") == 2 ]]; then
  pass "lists every broken include"
else
  fail "lists every broken include" "$out"
fi

expect "bad usage" 2 "" "$CHECK_DEPS" --help
expect "missing root" 2 "not a directory" "$CHECK_DEPS" "$SCRATCH/nowhere"

# The real tree: it must answer (0 or 1) well within 2 seconds.
start=$(date +%s%N)
rc=0
"$CHECK_DEPS" "$REPO" >/dev/null 2>&1 || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
if ((rc <= 1 && ms < 2000)); then
  pass "repository checked in ${ms} ms (exit $rc)"
else
  fail "repository check (exit $rc, ${ms} ms)"
fi

# ---------------------------------------------------------------------------------------------
echo "check-format"
if ! command -v "${CLANG_FORMAT:-clang-format}" >/dev/null; then
  fail "clang-format is not installed"
else
  f=$SCRATCH/format
  mkdir -p "$f/sub"
  cp "$REPO/.clang-format" "$f/"
  good='#include <string>

namespace x {

int add(int a, int b) { return a + b; }

}  // namespace x'
  printf '%s\n' "$good" >"$f/good.cpp"
  printf '%s\n' "$good" >"$f/sub/good.h"
  printf '%s\n' 'int  add( int a,int b ){return a+b;}' >"$f/loose.txt"
  git -C "$f" init -q
  git -C "$f" add .
  expect "clean tracked files pass" 0 "2 files formatted" "$CHECK_FORMAT" "$f"

  printf '%s\n' 'int  add( int a,int b ){return a+b;}' >"$f/untracked.cpp"
  expect "an untracked file is not read" 0 "" "$CHECK_FORMAT" "$f"

  cp "$f/untracked.cpp" "$f/sub/bad.h"
  git -C "$f" add sub/bad.h
  expect "a badly formatted tracked header fails" 1 "^sub/bad.h$" "$CHECK_FORMAT" "$f"
  out=$("$CHECK_FORMAT" "$f" 2>/dev/null)
  if [[ $out == "sub/bad.h" ]]; then
    pass "lists only the offending file"
  else
    fail "lists only the offending file" "$out"
  fi

  printf '%s\n' 'namespace x {' '  int y;' '}' >"$f/good.cpp"  # now modified, still tracked
  expect "working-tree content is checked" 1 "^good.cpp$" "$CHECK_FORMAT" "$f"

  git -C "$f" checkout -q -- good.cpp
  git -C "$f" rm -q --cached sub/bad.h
  rm -f "$f/sub/good.h"  # tracked, deleted in the working tree
  expect "a deleted tracked file is skipped" 0 "" "$CHECK_FORMAT" "$f"

  many=$SCRATCH/format-many  # more files than one batch, two of them bad
  mkdir -p "$many"
  cp "$REPO/.clang-format" "$many/"
  for i in $(seq 1 40); do printf '%s\n' "$good" >"$many/f$i.cpp"; done
  printf '%s\n' 'int  a ;' >"$many/f7.cpp"
  printf '%s\n' 'int  b ;' >"$many/f33.cpp"
  git -C "$many" init -q
  git -C "$many" add .
  out=$("$CHECK_FORMAT" "$many" 2>/dev/null)
  rc=$?
  if ((rc == 1)) && [[ $out == $'f33.cpp\nf7.cpp' ]]; then
    pass "finds each bad file among many"
  else
    fail "finds each bad file among many (exit $rc)" "$out"
  fi

  printf '%s\n' 'BasedOnStyle: NoSuchStyle' >"$f/.clang-format"
  expect "a broken .clang-format is an error, not a violation" 2 "clang-format failed" \
    "$CHECK_FORMAT" "$f"

  expect "not a git work tree" 2 "not a git work tree" "$CHECK_FORMAT" "$SCRATCH"
  expect "clang-format missing" 2 "not found" env CLANG_FORMAT=/nonexistent/clang-format \
    "$CHECK_FORMAT" "$f"
fi

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
