#!/usr/bin/env bash
# fwd refuses to start, with a clear message and a non-zero exit (not a crash, not a hang), on:
# a config file with an error (file:line + the VRP error text), a corrupt --db (left untouched),
# a queue already bound by another fwd, and not being root.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-start
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P; rm -f /tmp/$P-*.cfg /tmp/$P-*.db' EXIT

# run_fwd NAME args...: fwd in the foreground in P-fw, bounded; sets RC and OUT.
run_fwd() {
  local name=$1; shift
  RC=0
  OUT=$(timeout 20 ip netns exec $P-fw "$FW_BIN/fwd" "$@" 2>&1) || RC=$?
  echo "    [$name] exit $RC:"; echo "$OUT" | tail -n 5 | sed 's/^/      /'
}
refused() { ((RC != 0 && RC != 124 && RC < 128)); }   # non-zero, but not a timeout or a signal
# caret_under WORD: in $OUT, the line ending with the echoed command has a caret under WORD on the
# next line (not under the file path: the location is on a line of its own).
caret_under() {
  awk -v w="$1" 'index($0, w) && /^\[/ {c = index($0, w); getline; ok = index($0, "^") == c}
    END {exit !ok}' <<<"$OUT"
}

cat >/tmp/$P-bad.cfg <<'CFG'
#
sysname FW
#
firewall zone trust
 add interface in0
 frobnicate now
#
CFG
run_fwd bad-command --config /tmp/$P-bad.cfg --db /tmp/$P-a.db --socket /run/$P-a.sock
t_check "bad config: non-zero exit, no crash" refused
t_check "bad config: message names the file and line ($P-bad.cfg:6)" grep -q "$P-bad.cfg:6" <<<"$OUT"
t_check "bad config: VRP error text (Error: Unrecognized command ...)" grep -q "Error: Unrecognized command" <<<"$OUT"
t_check "bad config: the caret is under 'frobnicate'" caret_under frobnicate

cat >/tmp/$P-bad2.cfg <<'CFG'
sysname FW
security-policy
 rule name r1
  source-zone trust
  source-address 198.18.1.999 24
  action permit
CFG
run_fwd bad-parameter --config /tmp/$P-bad2.cfg --db /tmp/$P-b.db --socket /run/$P-b.sock
t_check "bad parameter: non-zero exit" refused
t_check "bad parameter: message names $P-bad2.cfg:5" grep -q "$P-bad2.cfg:5" <<<"$OUT"
t_check "bad parameter: VRP error text (Error: ...)" grep -q "Error:" <<<"$OUT"
t_check "bad parameter: the caret is under '198.18.1.999'" caret_under 198.18.1.999

db=/tmp/$P-corrupt.db
for ((i = 0; i < 400; i++)); do echo "this is not an SQLite database, just garbage $i"; done >$db
sum0=$(sha256sum <$db)
run_fwd corrupt-db --db $db --socket /run/$P-c.sock
t_check "corrupt db: non-zero exit, no crash" refused
t_check "corrupt db: clear message (names the file or says database)" grep -Eiq "$db|database" <<<"$OUT"
t_check "corrupt db: the file is left untouched" test "$(sha256sum <$db)" = "$sum0"

rm -f /tmp/$P.db
if fwd_start $P; then
  run_fwd queue-busy --config "$LAB_REPO/etc/lab.cfg" --db /tmp/$P-d.db --socket /run/$P-d.sock
  t_check "queue 0 already bound: second fwd refuses to start" refused
  t_check "queue busy: message says so (in use / busy)" grep -Eiq "in use|busy" <<<"$OUT"
  t_check "the first fwd keeps running" lab_pid_alive "$FWD_PID"
  fwd_stop $P TERM || t_fail "first fwd stops cleanly"
else
  t_fail "fwd starts (for the queue-busy check)"
fi

if command -v setpriv >/dev/null; then
  RC=0
  OUT=$(timeout 20 ip netns exec $P-fw setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$FW_BIN/fwd" --config "$LAB_REPO/etc/lab.cfg" --db /tmp/$P-nobody.db --socket /tmp/$P-nobody.sock 2>&1) || RC=$?
  echo "    [not-root] exit $RC:"; echo "$OUT" | tail -n 5 | sed 's/^/      /'
  t_check "not root: non-zero exit, no crash, no hang" refused
  t_check "not root: message mentions root / permission" grep -Eiq "root|permi" <<<"$OUT"
  rm -f /tmp/$P-nobody.db /tmp/$P-nobody.sock
else
  echo "    (setpriv not available: not-root check skipped)"
fi
t_done
