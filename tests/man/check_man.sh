#!/usr/bin/env bash
# The man pages against the programs: for each BINARY PAGE pair,
#   - the long options of `BINARY --help` (its option lines) are exactly the long options the
#     OPTIONS section of the rendered page lists;
#   - every --flag anywhere in the page (EXAMPLES, FILES...) is one that --help names;
#   - `MANWIDTH=80 man --warnings -l PAGE` renders it with no warning.
# First it checks itself: a page missing an option, a page with an extra option and a page whose
# example names an unknown flag must each be caught.
#
#   tests/man/check_man.sh BINARY PAGE [BINARY PAGE...]   (ctest: man_pages)
set -uo pipefail

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "  ok    $1"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL  $1"; [[ -n ${2:-} ]] && sed 's/^/        /' <<<"$2"; }

# Option lines of Boost.Program_options' --help: "  -c [ --config ] arg ..." or "  --name ...".
help_options() { sed -nE 's/^  (-[[:alnum:]] \[ )?--([[:alnum:]][[:alnum:]-]*).*/--\2/p' | sort -u; }
# Items of the rendered page's OPTIONS section (7 spaces in, then the option as in --help).
page_options() {
  sed -n '/^OPTIONS$/,/^[A-Z]/p' | sed -nE 's/^ {7}(-[[:alnum:]] \[ )?--([[:alnum:]][[:alnum:]-]*).*/--\2/p' |
    sort -u
}
all_flags() { grep -oE -- '(^|[^[:alnum:]-])--[[:alnum:]][[:alnum:]-]*' | grep -oE -- '--.*' | sort -u; }

# compare NAME HELP_TEXT PAGE_TEXT: prints what differs, returns 1 if anything does.
compare() {
  local name=$1 help=$2 page=$3 bad=0 d
  d=$(comm -3 <(help_options <<<"$help") <(page_options <<<"$page"))
  if [[ -n $d ]]; then
    echo "$name: options in --help only (left) / in the page's OPTIONS only (right):"
    echo "$d"
    bad=1
  fi
  d=$(comm -13 <(all_flags <<<"$help") <(all_flags <<<"$page"))
  if [[ -n $d ]]; then
    echo "$name: flags in the page that --help does not know:"
    echo "$d"
    bad=1
  fi
  [[ -n $(help_options <<<"$help") ]] || { echo "$name: no options found in --help"; bad=1; }
  return $bad
}

(($# >= 2 && $# % 2 == 0)) || { echo "usage: $0 BINARY PAGE [BINARY PAGE...]" >&2; exit 2; }
command -v man >/dev/null || { echo "man not found (scripts/deps installs man-db)" >&2; exit 2; }

first=1
while (($#)); do
  bin=$1 page=$2
  shift 2
  name=$(basename "$page")
  help=$("$bin" --help 2>&1) || { fail "$name: $bin --help failed" "$help"; continue; }
  warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  rc=$?
  text=$(MANWIDTH=80 man -l "$page" 2>/dev/null | col -b)
  if ((rc != 0)) || [[ -n $warn ]]; then
    fail "$name: man --warnings -l (exit $rc)" "$warn"
  else
    pass "$name renders without warnings"
  fi
  if out=$(compare "$name" "$help" "$text"); then
    pass "$name lists the $(help_options <<<"$help" | wc -l) options of $(basename "$bin") --help"
  else
    fail "$name differs from --help" "$out"
  fi

  if ((first)); then  # the check must be able to fail
    first=0
    opt=$(help_options <<<"$help" | tail -n1)
    missing=$(grep -vE -- "^ {7}(-[[:alnum:]] \[ )?$opt( |$)" <<<"$text")
    extra=$(sed -E "0,/^OPTIONS$/s//OPTIONS\n       --no-such-option\n              a stale flag/" <<<"$text")
    example=$(printf '%s\nEXAMPLES\n       %s --no-such-flag\n' "$text" "$(basename "$bin")")
    for c in "a missing option:$missing" "an extra option:$extra" \
             "an unknown flag in an example:$example"; do
      if compare "self-test" "$help" "${c#*:}" >/dev/null; then
        fail "self-test: a page with ${c%%:*} passes the comparison"
      else
        pass "self-test: a page with ${c%%:*} is caught"
      fi
    done
  fi
done
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
