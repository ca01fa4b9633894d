#!/usr/bin/env bash
# Address sets and rule options on real traffic: a rule whose source is an address set permits
# the inside host in the set (198.18.1.2) and not the one outside it (198.18.1.3); changing the
# set changes the verdict of new flows at once; `source-address range` and an inline `service
# protocol tcp destination-port 80` rule; a rule without an action matches nothing (the next
# rule decides); rule ids (after a deletion and a `rule move`) are the same after save + restart
# from the database, and the restored rules give the same verdicts.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-aset
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P; rm -f /tmp/$P.db /tmp/$P-cli.out /tmp/$P-ids.*; rm -rf /tmp/$P-www' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
www=/tmp/$P-www; mkdir -p $www; echo "aset-test-ok" >$www/index.txt
lab_http_server $P out :: 80 $www || t_fail "http server"
http_ok() { [[ $(ip netns exec "$P-$1" curl -s -m 3 "http://203.0.113.2/index.txt") == aset-test-ok ]]; }
cfg() { fwcli_run $P "system-view; $*; return" >/tmp/$P-cli.out 2>&1 || { cat /tmp/$P-cli.out; return 1; }; }
pass() { lab_ping $P "$1" 203.0.113.2 2; }
blocked() { lab_ping_none $P "$1" 203.0.113.2 2; }
# "ID NAME" of every rule, in table order.
rule_ids() {
  fwcli_run $P "display security-policy rule all" |
    awk '$1 ~ /^[0-9]+$/ && NF >= 5 && $2 != "default" {print $1, $2}'
}
refused() { { fwcli_run $P "system-view; undo ip address-set lan" 2>&1 || true; } | grep -q "$1"; }
t_not_sorted() { ! sort -n -c /tmp/$P-ids.before 2>/dev/null; }
both_pass() { pass in && pass in2; }
in2_ping_denied_http_ok() { blocked in2 && http_ok in2; }
in_http_denied() { ! http_ok in; }
no_action_shown() {
  fwcli_run $P "display security-policy rule all" | grep -Eq '^[0-9]+ +no-action +enable +- '
}

# Only the set may leave: set-permit (source = the set) first, then a trust->untrust deny, then
# the lab's trust-to-untrust permit (never reached for trust -> untrust).
t_check "address set lan with 198.18.1.2 only" \
  cfg "ip address-set lan type object; address 198.18.1.2 0"
t_check "rules set-permit (address-set lan, permit) and rest-deny above trust-to-untrust" \
  cfg "security-policy; rule name set-permit; source-zone trust; destination-zone untrust;" \
  "source-address address-set lan; action permit; quit;" \
  "rule name rest-deny; source-zone trust; destination-zone untrust; action deny; quit;" \
  "rule move set-permit top; rule move rest-deny after set-permit"
t_check "198.18.1.2 (in the set) reaches the outside" pass in
t_check "198.18.1.3 (not in the set) is denied" blocked in2
t_check "undo ip address-set lan refused while set-permit uses it" \
  refused "Error: The address set lan is referenced by security policy rule set-permit."

echo "changing the set changes the verdict of new flows"
t_check "set lan: 198.18.1.3 instead of 198.18.1.2" \
  cfg "ip address-set lan type object; undo address 0; address 198.18.1.3 mask 32"
t_check "198.18.1.3 now passes" pass in2
t_check "198.18.1.2 now denied" blocked in
t_check "set lan: range 198.18.1.2 198.18.1.3 (both)" \
  cfg "ip address-set lan type object; address range 198.18.1.2 198.18.1.3"
t_check "both hosts pass with the range item" both_pass

echo "source-address range and an inline service"
t_check "set lan back to 198.18.1.2 only" \
  cfg "ip address-set lan type object; undo address 0; undo address 1"
t_check "empty set: its rule matches nothing, 198.18.1.2 denied" blocked in
t_check "rule web-in2: source range 198.18.1.3-198.18.1.3, service protocol tcp destination-port 80" \
  cfg "security-policy; rule name web-in2; source-zone trust; destination-zone untrust;" \
  "source-address range 198.18.1.3 198.18.1.3; service protocol tcp destination-port 80;" \
  "action permit; quit; rule move web-in2 top"
t_check "198.18.1.3 HTTP passes (inline service)" http_ok in2
t_check "198.18.1.3 ping still denied (not the inline service)" blocked in2
t_check "198.18.1.2 HTTP denied (not in web-in2's range; the set is empty)" in_http_denied

echo "a rule without an action matches nothing"
t_check "rule no-action (source 198.18.1.3, no action) at the top" \
  cfg "security-policy; rule name no-action; source-address 198.18.1.3 32; quit; rule move no-action top"
t_check "display shows '-' as its action" no_action_shown
t_check "198.18.1.3 HTTP still passes: web-in2 decides" http_ok in2
h=$(fw_rule_hits $P no-action)
t_check "no-action has no hits ($h)" test "${h:-x}" = 0

echo "rule ids across save and restart"
t_check "address set lan: 198.18.1.2 again; delete rest-deny, re-create it at the bottom" \
  cfg "ip address-set lan type object; address 198.18.1.2 0; quit; security-policy; undo rule name rest-deny;" \
  "rule name rest-deny; source-zone trust; destination-zone untrust; action deny; quit;" \
  "rule move rest-deny before trust-to-untrust"
rule_ids >/tmp/$P-ids.before
sed 's/^/    /' /tmp/$P-ids.before
t_check "ids are not in table order (the test means something)" \
  t_not_sorted
t_check "save" fwcli_run $P "save"
fwd_stop $P TERM; rc=$?
t_check "fwd stops cleanly (rc $rc)" test "$rc" = 0
fwd_start $P --no-config || { t_fail "restart from the database only"; t_done; }
rule_ids >/tmp/$P-ids.after
t_check "every rule has the same id after the restart" cmp -s /tmp/$P-ids.before /tmp/$P-ids.after
t_check "restored: 198.18.1.2 (in the set) passes" pass in
t_check "restored: 198.18.1.3 ping denied, HTTP passes (inline service)" in2_ping_denied_http_ok
t_check "a rule created after the restart gets a new id" \
  cfg "security-policy; rule name after-restart; quit"
new=$(rule_ids | awk '$2 == "after-restart" {print $1}')
t_check "after-restart's id (${new:-none}) is none of the saved ones" \
  test -n "$new" -a -z "$(awk -v n="$new" '$1 == n' /tmp/$P-ids.before)"
t_done
