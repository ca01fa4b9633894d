#!/usr/bin/env bash
# save -> SIGTERM -> restart with the same --db and no --config gives the identical
# current-configuration (and the restored policy works). SIGTERM and SIGINT stop fwd cleanly and
# remove every iptables/ip6tables rule it installed.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-persist
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts with etc/lab.cfg"; t_done; }
www=/tmp/$P-www; mkdir -p $www; echo persist-ok >$www/index.txt
lab_http_server $P dmz :: 80 $www || t_fail "http server in dmz"

t_check "rules installed while running (iptables-save shows NFQUEUE)" test -n "$(fw_rules_left $P)"
t_check "IPv6 rules installed too" bash -c "ip netns exec $P-fw ip6tables-save | grep -q -- '-j NFQUEUE'"
t_check "configure: rule dmz-web (trust -> dmz, 198.18.2.2/32, http) + tcp aging 30" \
  fwcli_run $P "system-view; security-policy; rule name dmz-web; source-zone trust; destination-zone dmz; destination-address 198.18.2.2 32; service http; action permit; quit; quit; firewall session aging-time tcp 30; return"
t_check "save" fwcli_run $P "save"
cfg1=$(fwcli_run $P "display current-configuration")
echo "$cfg1" | sed 's/^/    /'
t_check "current-configuration shows the new rule" grep -q "rule name dmz-web" <<<"$cfg1"

fwd_stop $P TERM; rc=$?
t_check "SIGTERM: fwd exits 0 (rc=$rc)" test $rc -eq 0
left=$(fw_rules_left $P)
[[ -n $left ]] && echo "$left" | sed 's/^/    left: /'
t_check "SIGTERM: no NFQUEUE / fwd rules left (iptables-save, ip6tables-save)" test -z "$left"
t_check_not "SIGTERM: nothing answers on the socket any more" fwcli_run $P "display version"

fwd_start $P --no-config || { t_fail "restart with --db only"; t_done; }
t_ok "restart with the same --db and no --config"
cfg2=$(fwcli_run $P "display current-configuration")
if [[ "$cfg1" == "$cfg2" ]]; then t_ok "display current-configuration identical after restart"
else t_fail "display current-configuration differs after restart:"; diff <(echo "$cfg1") <(echo "$cfg2") | sed 's/^/    /'; fi
t_check "restored policy: ping inside -> outside works" lab_ping $P in 203.0.113.2
t_check "restored rule dmz-web: HTTP inside -> dmz works" \
  test "$(ip netns exec $P-in curl -s -m 5 http://198.18.2.2/index.txt)" = persist-ok
t_check "restored rule dmz-web is http only: ping inside -> dmz blocked" lab_ping_none $P in 198.18.2.2
t_check "restored aging-time tcp 30" \
  grep -Eq "^[[:space:]]*tcp[[:space:]]+1200[[:space:]]+30[[:space:]]*$" <<<"$(fwcli_run $P "display firewall session aging-time")"

fwd_stop $P INT; rc=$?
t_check "SIGINT: fwd exits 0 (rc=$rc)" test $rc -eq 0
t_check "SIGINT: no rules left" test -z "$(fw_rules_left $P)"
t_check "without fwd and its rules: kernel forwards again (ping works)" lab_ping $P in 203.0.113.2
t_done
