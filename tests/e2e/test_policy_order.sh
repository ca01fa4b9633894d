#!/usr/bin/env bash
# Security policy: first match top-down. A deny rule added after the permit rule changes nothing;
# moved before it, the same trust->untrust traffic is blocked and the deny rule's HITS grow.
# Service and address matching, undo rule, and the default action.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-policy
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
www=/tmp/$P-www; mkdir -p $www; echo "policy-test-ok" >$www/index.txt
lab_http_server $P out :: 80 $www || t_fail "http server"
http_ok() { [[ $(ip netns exec "$P-$1" curl -s -m 4 "http://$2/index.txt") == policy-test-ok ]]; }
http_blocked() { ! http_ok "$@"; }
cfg() { fwcli_run $P "system-view; security-policy; $*; return" >/tmp/$P-cli.out 2>&1 || { cat /tmp/$P-cli.out; return 1; }; }
rule_pos() { fwcli_run $P "display security-policy rule all" | awk -v r="$1" '$2 == r {print NR; exit}'; }

t_check "baseline: ping inside -> outside" lab_ping $P in 203.0.113.2
t_check "baseline: HTTP inside -> outside" http_ok in 203.0.113.2

t_check "add deny rule block-out (appended after trust-to-untrust)" \
  cfg "rule name block-out; source-zone trust; destination-zone untrust; source-address 198.18.1.0 24; action deny; quit"
t_check "appended deny rule does not match first: ping still works" lab_ping $P in 203.0.113.2
h_deny0=$(fw_rule_hits $P block-out); h_perm0=$(fw_rule_hits $P trust-to-untrust)
t_check "rule move block-out before trust-to-untrust" cfg "rule move block-out before trust-to-untrust"
fwcli_run $P "display security-policy rule all" | sed 's/^/    /'
pb=$(rule_pos block-out); pp=$(rule_pos trust-to-untrust)
t_check "display lists block-out above trust-to-untrust ($pb < $pp)" test "${pb:-99}" -lt "${pp:-0}"
t_check "ping inside -> outside now blocked (IPv4)" lab_ping_none $P in 203.0.113.2
t_check "HTTP inside -> outside now blocked" http_blocked in 203.0.113.2
t_check "second inside client blocked too" lab_ping_none $P in2 203.0.113.2
h_deny1=$(fw_rule_hits $P block-out); h_perm1=$(fw_rule_hits $P trust-to-untrust)
t_check "block-out HITS grew ($h_deny0 -> $h_deny1)" test "${h_deny1:-0}" -gt "${h_deny0:-0}"
t_check "trust-to-untrust HITS unchanged ($h_perm0 -> $h_perm1)" test "${h_perm1:--1}" -eq "${h_perm0:--2}"
t_check "IPv6 not covered by the IPv4 source-address: ping6 still works" lab_ping $P in 2001:db8:3::2

t_check "undo rule name block-out" cfg "undo rule name block-out"
t_check "block-out gone from the display" test -z "$(rule_pos block-out)"
t_check "after undo: ping works again" lab_ping $P in 203.0.113.2

echo "service matching"
t_check "add rule no-icmp (service icmp, deny) before trust-to-untrust" \
  cfg "rule name no-icmp; source-zone trust; destination-zone untrust; service icmp; action deny; quit; rule move no-icmp before trust-to-untrust"
t_check "service icmp denied: ping blocked" lab_ping_none $P in 203.0.113.2
t_check "service icmp denied: HTTP still works" http_ok in 203.0.113.2
t_check "undo rule name no-icmp" cfg "undo rule name no-icmp"

echo "address matching (mask form)"
t_check "add rule no-in2 (source-address 198.18.1.3 mask 255.255.255.255, deny)" \
  cfg "rule name no-in2; source-zone trust; destination-zone untrust; source-address 198.18.1.3 mask 255.255.255.255; action deny; quit; rule move no-in2 before trust-to-untrust"
t_check "198.18.1.3 blocked" lab_ping_none $P in2 203.0.113.2
t_check "198.18.1.2 still permitted" lab_ping $P in 203.0.113.2
t_check "add rule no-web (destination-address 203.0.113.2 32, service http, deny)" \
  cfg "rule name no-web; source-zone trust; destination-zone untrust; destination-address 203.0.113.2 32; service http; action deny; quit; rule move no-web before trust-to-untrust"
t_check "destination+service deny: HTTP blocked" http_blocked in 203.0.113.2
t_check "destination+service deny: ping still works" lab_ping $P in 203.0.113.2
cfg "undo rule name no-in2; undo rule name no-web" || t_fail "undo rules"

echo "default action"
t_check "outside -> inside denied by default" lab_ping_none $P out 198.18.1.2
t_check "default action permit" cfg "default action permit"
t_check "outside -> inside permitted by default action permit" lab_ping $P out 198.18.1.2
t_check "default action deny" cfg "default action deny"
t_check "outside -> inside denied again" lab_ping_none $P out 198.18.1.2
t_check_not "a bad command is refused (fwcli exits non-zero)" fwcli_run $P "display frobnicate"
t_done
