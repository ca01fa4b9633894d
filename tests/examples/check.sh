#!/usr/bin/env bash
# Loads a sample configuration the way fwd loads it at start, on a machine that has exactly the
# interfaces the sample's header promises (ctest runs one test per file; see README.md).
#
#   tests/examples/check.sh FWD FILE            exit 0 if FILE is a good sample, 1 if not
#   tests/examples/check.sh FWD --self-test FILE   the check must refuse broken copies of FILE
#
# A good sample: a comment block before the first command that holds one line
# "# interfaces: IF..." and a "What to change" paragraph; every listed interface is used by a
# command; and `FWD --check-config --config FILE` exits 0 in a network namespace of its own that
# has exactly the listed interfaces (bridges: this kernel has no dummy devices) - no
# --allow-absent-interface, so a misspelt interface fails as it would on the real box.
# The namespace is anonymous (unshare): it vanishes with the process, even on failure.
set -uo pipefail

fail() { echo "$FILE: $*" >&2; exit 1; }

# header_interfaces FILE: prints the interface list of the header, or fails.
header_interfaces() {
  local f=$1 head n
  # The leading comment block: every line up to the first command.
  head=$(awk '/^[[:space:]]*($|[#!])/ { print; next } { exit }' "$f")
  n=$(grep -c '^# interfaces:' <<<"$head")
  ((n == 1)) || fail "the leading comment block needs exactly one '# interfaces: IF...' line (found $n)"
  grep -q 'What to change' <<<"$head" || fail "the leading comment block has no 'What to change' paragraph"
  sed -n 's/^# interfaces:[[:space:]]*//p' <<<"$head"
}

# in_own_netns CMD...: runs CMD in a new, anonymous network namespace (as root, or as the
# mapped root of a new user namespace when not root).
in_own_netns() {
  if ((EUID == 0)); then
    unshare --net "$@"
  else
    unshare --user --map-root-user --net "$@"
  fi
}

# check FWD FILE
check() {
  local fwd=$1 ifs body i out rc=0 names=()
  FILE=$2
  [[ -r $FILE ]] || fail "cannot read it"
  ifs=$(header_interfaces "$FILE") || exit 1
  read -ra names <<<"$ifs"
  ((${#names[@]})) || fail "the '# interfaces:' line lists no interface"
  body=$(grep -Ev '^[[:space:]]*($|[#!])' "$FILE")
  for i in "${names[@]}"; do
    [[ $i =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || fail "'$i' is not an interface name"
    grep -qw -- "$i" <<<"$body" || fail "interface $i is listed in the header but no command uses it"
  done
  # shellcheck disable=SC2016
  out=$(in_own_netns bash -c '
    fwd=$1 file=$2; shift 2
    for i in "$@"; do
      ip link add "$i" type bridge || { echo "cannot create interface $i in the test namespace"; exit 3; }
    done
    exec "$fwd" --check-config --config "$file"' check "$fwd" "$FILE" "${names[@]}" 2>&1) || rc=$?
  if ((rc != 0)) || ! grep -q ': configuration OK' <<<"$out"; then
    echo "$out" >&2
    fail "does not load (fwd --check-config exit $rc) with the interfaces: ${names[*]}"
  fi
  echo "$out"
}

# ---------------------------------------------------------------------------------------------
# --self-test: broken copies of a good sample must fail, each for its own reason.
T_FAILED=0
expect_fail() {  # expect_fail NAME FILE PATTERN...: check.sh on FILE must exit 1, output
  local name=$1 f=$2 out rc=0 pat ok=1  # matching every PATTERN (extended regexes)
  shift 2
  out=$("$0" "$FWD" "$f" 2>&1) || rc=$?
  ((rc == 1)) || ok=0
  for pat in "$@"; do grep -qE -- "$pat" <<<"$out" || ok=0; done
  if ((ok)); then
    echo "  ok    $name"
  else
    echo "  FAIL  $name (exit $rc, want 1 and /$*/):"
    sed 's/^/        /' <<<"$out"
    T_FAILED=$((T_FAILED + 1))
  fi
}

self_test() {
  local good=$1 d out rc=0
  d=$(mktemp -d /tmp/examples-selftest.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$d'" EXIT
  if "$0" "$FWD" "$good" >/dev/null 2>&1; then
    echo "  ok    the good sample passes"
  else
    echo "  FAIL  the good sample $good does not pass"
    T_FAILED=$((T_FAILED + 1))
  fi

  # A misspelt command: fwd names the file and line.
  sed 's/^security-policy$/secruity-policy/' "$good" >"$d/typo.cfg"
  cmp -s "$good" "$d/typo.cfg" && { echo "  FAIL  $good has no 'security-policy' line"; T_FAILED=$((T_FAILED + 1)); }
  expect_fail "a misspelt command" "$d/typo.cfg" "typo.cfg:[0-9]+: Error: Unrecognized command" \
    "^\[[^]]*\]secruity-policy$"
  # An interface the header does not promise (so the namespace does not have it).
  { cat "$good"; printf '%s\n' 'firewall zone name spare' ' set priority 42' ' add interface nosuch9'; } >"$d/iface.cfg"
  expect_fail "an interface the box does not have" "$d/iface.cfg" "iface.cfg:[0-9]+: " \
    "The interface nosuch9 does not exist"
  # Commands that parse, in a configuration that does not validate.
  { cat "$good"; printf '%s\n' security-policy ' rule name broken' '  source-zone nosuchzone'; } >"$d/zone.cfg"
  expect_fail "a rule naming an unknown zone" "$d/zone.cfg" "zone.cfg:[0-9]+: " "Error"
  # Header problems.
  grep -v '^# interfaces:' "$good" >"$d/noifs.cfg"
  expect_fail "no '# interfaces:' line" "$d/noifs.cfg" "exactly one '# interfaces: IF...' line"
  sed 's/^# interfaces:.*/& spare0/' "$good" >"$d/unused.cfg"
  expect_fail "an interface listed but unused" "$d/unused.cfg" \
    "spare0 is listed in the header but no command"
  grep -v 'What to change' "$good" >"$d/nochange.cfg"
  expect_fail "no 'What to change' paragraph" "$d/nochange.cfg" "no 'What to change'"

  # fwd --check-config itself: non-zero on a broken file, with file:line and the VRP error.
  out=$("$FWD" --check-config --config "$d/typo.cfg" --allow-absent-interface '*' 2>&1) || rc=$?
  # The caret on the line after the echoed line, under the misspelt word (not in the file path).
  if ((rc != 0)) && grep -qE 'typo.cfg:[0-9]+: Error: Unrecognized command' <<<"$out" &&
    awk '/secruity-policy$/ {c = index($0, "]") + 1; getline; ok = index($0, "^") == c}
      END {exit !ok}' <<<"$out"; then
    echo "  ok    fwd --check-config exits $rc on a broken file: $(head -n1 <<<"$out")"
  else
    echo "  FAIL  fwd --check-config on a broken file: exit $rc: $out"
    T_FAILED=$((T_FAILED + 1))
  fi
  rc=0
  out=$("$FWD" --check-config --config "$d/does-not-exist.cfg" 2>&1) || rc=$?
  if ((rc != 0)); then
    echo "  ok    fwd --check-config exits $rc on a missing file"
  else
    echo "  FAIL  fwd --check-config on a missing file exits 0: $out"
    T_FAILED=$((T_FAILED + 1))
  fi
  ((T_FAILED == 0)) && echo "self-test passed" || echo "self-test: $T_FAILED failed"
  ((T_FAILED == 0))
}

FILE=""
if (($# == 3)) && [[ $2 == --self-test ]]; then
  FWD=$1
  self_test "$3"
elif (($# == 2)); then
  FWD=$1
  check "$1" "$2"
else
  echo "usage: $0 FWD FILE | FWD --self-test FILE" >&2
  exit 2
fi
