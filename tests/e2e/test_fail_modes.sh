#!/usr/bin/env bash
# Fail-closed by default: after SIGKILL the NFQUEUE rules stay and traffic stops. With
# --fail-open the rules carry --queue-bypass and traffic keeps flowing after SIGKILL.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-fail
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db

echo "fail-closed (default)"
fwd_start $P || { t_fail "fwd starts"; t_done; }
t_check "ping inside -> outside works" lab_ping $P in 203.0.113.2
t_check "rules have no --queue-bypass" test -z "$(fw_rules_left $P | grep -- --queue-bypass)"
fwd_stop $P KILL; rc=$?
t_check "SIGKILL kills fwd (rc=$rc)" test $rc -eq 137
t_check "NFQUEUE rules stay after SIGKILL" test -n "$(fw_rules_left $P)"
t_check "fail-closed: ping inside -> outside stops" lab_ping_none $P in 203.0.113.2
t_check "fail-closed: ping6 stops too" lab_ping_none $P in 2001:db8:3::2

# Leftover rules go with the namespace.
lab_down $P
lab_up $P || { t_fail "lab_up again"; t_done; }
lab_out_route_inside $P
rm -f /tmp/$P.db

echo "fail-open"
fwd_start $P --fail-open || { t_fail "fwd --fail-open starts"; t_done; }
t_check "ping inside -> outside works" lab_ping $P in 203.0.113.2
t_check "rules carry --queue-bypass" test -n "$(fw_rules_left $P | grep -- --queue-bypass)"
t_check "policy still enforced: outside -> inside blocked" lab_ping_none $P out 198.18.1.2
fwd_stop $P KILL; rc=$?
t_check "SIGKILL kills fwd (rc=$rc)" test $rc -eq 137
t_check "NFQUEUE rules stay after SIGKILL" test -n "$(fw_rules_left $P)"
t_check "fail-open: ping inside -> outside keeps working" lab_ping $P in 203.0.113.2
t_check "fail-open: ping6 keeps working" lab_ping $P in 2001:db8:3::2
t_done
