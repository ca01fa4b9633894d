#!/usr/bin/env bash
# One source of truth at start: the saved configuration wins over --config, which only seeds a
# database that has none (or replaces it with --config-replace). Started the way the README
# starts fwd (--config etc/lab.cfg --db FILE): a permit rule removed and saved at run time stays
# removed after a restart. Inputs fwd cannot use are refused with a clear message and a non-zero
# exit: a directory as --config, a zero-byte or foreign database (left byte for byte as it was).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-cfgsrc
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P; rm -rf /tmp/$P-dir /tmp/$P-zero.db /tmp/$P-foreign.db' EXIT
lab_out_route_inside $P
DB=/tmp/$P.db
fwd_start $P || { t_fail "fwd starts with --config etc/lab.cfg --db $DB (new database)"; t_done; }
t_check "a new database is seeded from --config" grep -q "seeded from .*etc/lab.cfg" /tmp/$P-fwd.log
t_check "rule trust-to-untrust in force: ping inside -> outside" lab_ping $P in 203.0.113.2

t_check "remove the permit rule at run time and save" \
  fwcli_run $P "system-view; security-policy; undo rule name trust-to-untrust; return; save"
t_check "ping inside -> outside now denied" lab_ping_none $P in 203.0.113.2
saved=$(fwcli_run $P "display current-configuration")
fwd_stop $P TERM
fwd_start $P || { t_fail "restart the README way (same --config and --db)"; t_done; }
t_check "restart: the saved configuration is used, --config is ignored (logged)" \
  grep -q "using the saved configuration of $DB; --config .*lab.cfg ignored" /tmp/$P-fwd.log
now=$(fwcli_run $P "display current-configuration")
if [[ "$now" == "$saved" ]]; then t_ok "current-configuration after the restart equals what was saved"
else t_fail "current-configuration differs from the saved one"; diff <(echo "$saved") <(echo "$now") | sed 's/^/    /'; fi
t_check_not "the deleted rule did not come back" grep -q "rule name trust-to-untrust" <<<"$now"
t_check "ping inside -> outside still denied" lab_ping_none $P in 203.0.113.2

fwd_stop $P TERM
fwd_start $P --config-replace || { t_fail "restart with --config-replace"; t_done; }
t_check "--config-replace: the file replaces the saved configuration (logged)" \
  grep -q "replaced by .*lab.cfg" /tmp/$P-fwd.log
t_check "--config-replace: the rule is back, ping works" lab_ping $P in 203.0.113.2
fwd_stop $P TERM
fwd_start $P --no-config || { t_fail "restart from the database alone"; t_done; }
t_check "the replacement was saved: the rule is there without --config" \
  grep -q "rule name trust-to-untrust" <<<"$(fwcli_run $P "display current-configuration")"
fwd_stop $P TERM

# run_fwd args...: fwd in the foreground, bounded; sets RC and OUT.
run_fwd() {
  RC=0
  OUT=$(timeout 20 ip netns exec $P-fw "$FW_BIN/fwd" --socket /run/$P-x.sock "$@" 2>&1) || RC=$?
  echo "    exit $RC: $(tail -n 2 <<<"$OUT" | tr '\n' ' ')"
}
refused() { ((RC != 0 && RC != 124 && RC < 128)); }
mkdir -p /tmp/$P-dir
run_fwd --config /tmp/$P-dir
t_check "--config naming a directory: refused, non-zero exit" refused
t_check "  with a clear message (is not a regular file, a directory)" grep -q "is a directory" <<<"$OUT"
: >/tmp/$P-zero.db
run_fwd --db /tmp/$P-zero.db
t_check "zero-byte database: refused, non-zero exit" refused
t_check "  the message says it is empty" grep -qi "empty" <<<"$OUT"
t_check "  the file is still 0 bytes" test ! -s /tmp/$P-zero.db
sqlite3 /tmp/$P-foreign.db "create table songs(title text); insert into songs values('x');"
sum0=$(sha256sum </tmp/$P-foreign.db)
run_fwd --db /tmp/$P-foreign.db
t_check "foreign SQLite database: refused, non-zero exit" refused
t_check "  the file is unchanged (sha256)" test "$(sha256sum </tmp/$P-foreign.db)" = "$sum0"
t_check "  no rules were left behind by the refused starts" test -z "$(fw_rules_left $P)"
run_fwd --db /tmp/$P-foreign.db --db-replace-unusable --no-rules --check-config
t_check "--check-config on it still refuses (it only checks)" refused
t_done
