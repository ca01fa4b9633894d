#!/usr/bin/env bash
# packet-trace in the running daemon (issue 15 item 1): with the lab's interfaces, the kernel's
# routes and easy-ip, the trace of an inside client's SYN names the zones (VRP interface names),
# the route, rule trust-to-untrust and the easy-ip address and port; an outside SYN is a
# policy-deny; tracing changes nothing (no session, no security or nat-policy rule hit); the
# real connection made afterwards gets exactly the session the trace announced, and a trace of
# its next packet hits that session.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-trace
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
t_check "easy-ip nat-policy configured" nat_cfg_ok $P \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
www=/tmp/$P-www; mkdir -p $www; echo ok >$www/index.txt
lab_http_server $P out 0.0.0.0 80 $www || t_fail "http server"

nat0=$(fwcli_run $P "display nat-policy rule all" | grep -w ez)
t_check "rule ez is listed with its hits" test -n "$nat0"
hits0=$(fw_rule_hits $P trust-to-untrust)
syn="packet-trace input GigabitEthernet1/0/1 protocol tcp source 198.18.1.2 40123 destination 203.0.113.2 80"
out=$(fwcli_run $P "$syn")
echo "$out" | sed 's/^/    /'
t_check "ingress zone trust (VRP name)" grep -q "Ingress zone      : trust (interface GigabitEthernet1/0/1)" <<<"$out"
t_check "the kernel's route: out0 (GigabitEthernet1/0/3), egress zone untrust" \
  grep -q "Route             : interface GigabitEthernet1/0/3, next hop directly connected.*egress zone untrust" <<<"$out"
t_check "rule trust-to-untrust, quoted" grep -q "rule trust-to-untrust (ID 1), action permit" <<<"$out"
t_check "easy-ip with the client's port" grep -q "rule ez: easy-ip, source becomes 203.0.113.1:40123" <<<"$out"
t_check "permit" grep -q "^ Action: permit" <<<"$out"
announced=$(sed -n 's/^ Session: //p' <<<"$out")
t_check "the announced session" test "$announced" = "198.18.1.2:40123[203.0.113.1:40123] --> 203.0.113.2:80"

deny=$(fwcli_run $P "packet-trace input out0 protocol tcp source 203.0.113.2 40000 destination 198.18.1.2 22 json")
t_check "outside -> inside: default deny (json)" grep -q '"reason": "policy-deny"' <<<"$deny"
err=$(fwcli_run $P "packet-trace input nosuch0 protocol udp source 198.18.1.2 1 destination 203.0.113.2 53" 2>&1)
t_check "an unknown interface is refused" grep -q "does not exist" <<<"$err"

t_check "no session after the traces" grep -q "Current Total Sessions : 0" \
  <<<"$(fwcli_run $P "display firewall session table")"
# (The lab's own background traffic - IPv6 neighbour discovery, multicast - moves the packet
# statistics meanwhile; the unit golden tests check that a trace moves no counter at all.)
t_check "no nat-policy hit counted" test "$nat0" = "$(fwcli_run $P "display nat-policy rule all" | grep -w ez)"
t_check "no rule hit counted" test "$hits0" = "$(fw_rule_hits $P trust-to-untrust)"

t_check "the real connection works" \
  test "$(ip netns exec $P-in curl -s -m 5 --local-port 40123 http://203.0.113.2/index.txt)" = ok
sessions=$(fwcli_run $P "display firewall session table")
echo "$sessions" | sed 's/^/    /'
t_check "it got the announced session" grep -qF "$announced" <<<"$sessions"
t_check "a trace of its next packet hits it" grep -q "Session lookup    : hit: session" \
  <<<"$(fwcli_run $P "$syn tcp-flags ack")"
t_done
