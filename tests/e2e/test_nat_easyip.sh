#!/usr/bin/env bash
# Source NAT easy-ip: curl, iperf3 TCP and UDP and ping from BOTH inside hosts leave with the
# firewall's out0 address 203.0.113.1 only (outside HTTP log, iperf3 server log, `ss`, and a
# capture on the outside host: no 198.18. address ever); the same ICMP id from both hosts is
# translated apart; the session table shows the translation in brackets and filters on it;
# `display nat-policy rule all` counts hits. The outside host has no route back to 198.18/16.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-natez
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
t_check "easy-ip nat-policy configured" nat_cfg_ok $P \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
t_check "nat-policy rule shown with 0 hits" \
  grep -Eq '^[0-9]+ +ez +enable +src-nat\(easy-ip\) +0$' <<<"$(fwcli_run $P "display nat-policy rule all")"

www=/tmp/$P-www; mkdir -p $www
head -c 300000 /dev/urandom | base64 >$www/blob.txt
want=$(sha256sum <$www/blob.txt | cut -d' ' -f1)
cap=/tmp/$P-out.pcap
nat_cap_start $P out eth0 $cap 128 || t_fail "capture on the outside host"
cap_pid=$NAT_CAP_PID
nat_http_server $P out 203.0.113.2 80 $www || t_fail "http server in $P-out"
nat_echo_server $P out 203.0.113.2 7000 tcp || t_fail "tcp echo server in $P-out"
nat_echo_server $P out 203.0.113.2 7001 udp || t_fail "udp echo server in $P-out"
nat_iperf_server $P out 203.0.113.2 || t_fail "iperf3 server in $P-out"

echo "traffic from both inside hosts"
for h in in in2; do
  t_check "HTTP $h -> outside, content intact" test "$(nat_http_get $P $h http://203.0.113.2/blob.txt)" = "$want"
  t_check "UDP echo $h -> outside, 10/10 (connected socket)" nat_udp_echo $P $h 203.0.113.2 7001 10
  t_check "iperf3 TCP $h -> outside (3 s)" nat_iperf $P $h 203.0.113.2 tcp /tmp/$P-$h-tcp.json
  t_check "iperf3 UDP $h -> outside (3 s, 20 Mbit/s)" nat_iperf $P $h 203.0.113.2 udp /tmp/$P-$h-udp.json
done
# Same ICMP identifier from both hosts at once: both get their replies only if the ids are
# translated apart (one translated address for both).
nat_ping_id $P in 203.0.113.2 4242 5 & p1=$!
nat_ping_id $P in2 203.0.113.2 4242 5 & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
t_check "ping with the same ICMP id from both hosts at once: all replies" test $r1 -eq 0 -a $r2 -eq 0

echo "what the outside host saw"
srcs=$(sed -nE 's/^([0-9.]+) - - \[.*"GET .*/\1/p' /tmp/$P-http-out-80.log | sort -u | tr '\n' ' ')
t_check "outside HTTP log: clients only 203.0.113.1 ($srcs)" test "$srcs" = "203.0.113.1 "
isrcs=$(sed -nE 's/.*Accepted connection from ([0-9.]+),.*/\1/p; s/.*local [0-9.]+ port [0-9]+ connected to ([0-9.]+) port.*/\1/p' \
  /tmp/$P-iperf3-out.log | sort -u | tr '\n' ' ')
t_check "outside iperf3 log: peers only 203.0.113.1 ($isrcs)" test "$isrcs" = "203.0.113.1 "

# A live TCP flow for the session and `ss` checks.
lab_bg $P in /tmp/$P-tcpc.log "$LAB_PY" "$LAB_REPO/tests/e2e/peer.py" tcp-client --to 203.0.113.2 --port 7000 \
  --interval 0.2 --duration 6 --status /tmp/$P-tcpc.status
tcpc=$LAB_BG_PID
nat_wait_for 5 grep -Eqs '^[1-9]' /tmp/$P-tcpc.status || t_fail "long-lived TCP client runs"
peers=$(ip netns exec $P-out ss -Htn state established "sport = :7000" | awk '{print $4}' | sed 's/:[0-9]*$//' | sort -u | tr '\n' ' ')
t_check "outside ss: the TCP peer is 203.0.113.1 ($peers)" test "$peers" = "203.0.113.1 "
sess=$(nat_sessions $P)
echo "$sess" | sed 's/^/    /' | head -n 20
t_check "session table: tcp 198.18.1.2:P[203.0.113.1:P'] --> 203.0.113.2:7000" \
  grep -Eq '^ tcp  VPN: public --> public  198\.18\.1\.2:[0-9]+\[203\.0\.113\.1:[0-9]+\] --> 203\.0\.113\.2:7000$' <<<"$sess"
t_check "session table: icmp of both hosts translated to 203.0.113.1" \
  test "$(grep -Ec '^ icmp  VPN: public --> public  198\.18\.1\.[23]:[0-9]+\[203\.0\.113\.1:[0-9]+\] --> 203\.0\.113\.2:' <<<"$sess")" -ge 2
t_check "filter 'source global 203.0.113.1' shows the TCP flow" \
  grep -q '198.18.1.2:[0-9]*\[203.0.113.1:[0-9]*\] --> 203.0.113.2:7000' <<<"$(nat_sessions $P source global 203.0.113.1)"
t_check "filter 'source inside 198.18.1.3' shows only in2's flows" \
  bash -c '[[ -n $1 ]] && ! grep -q "198.18.1.2:" <<<"$1"' _ "$(nat_sessions $P source inside 198.18.1.3)"
t_check "filter 'source global 203.0.113.100' shows nothing" test -z "$(nat_sessions $P source global 203.0.113.100)"
verbose=$(fwcli_run $P "display firewall session table verbose source inside 198.18.1.2 protocol tcp")
t_check "verbose: tuple with brackets and PolicyName" \
  grep -Eq '198\.18\.1\.2:[0-9]+\[203\.0\.113\.1:[0-9]+\] --> 203\.0\.113\.2:7000 PolicyName: trust-to-untrust' <<<"$verbose"
hits=$(fwcli_run $P "display nat-policy rule all" | awk '$2 == "ez" {print $NF}')
t_check "nat-policy rule ez hits grew ($hits >= 10 flows)" test "${hits:-0}" -ge 10
lab_wait_exit $tcpc 20; wait $tcpc; rc=$?
t_check "long-lived TCP flow through easy-ip ran without a stall (rc $rc)" test $rc -eq 0

nat_cap_stop $cap_pid
leak=$(nat_cap_count $cap 'ip.addr == 198.18.0.0/16')
total=$(nat_cap_count $cap 'ip.src == 203.0.113.1')
t_check "outside capture: $total packets from 203.0.113.1" test "$total" -gt 100
t_check "outside capture: no 198.18. address at all ($leak packets)" test "$leak" -eq 0
ids=$(nat_cap_read $cap 'icmp.type == 8 && ip.src == 203.0.113.1' icmp.ident | sort -u | wc -l)
t_check "outside capture: the two pings used distinct ICMP ids ($ids)" test "$ids" -ge 2
t_check "fwd still running" lab_pid_alive "$FWD_PID"
fwd_stop $P; rc=$?
t_check "fwd exits 0 on SIGTERM ($rc)" test $rc -eq 0
t_check "no queueing rules left" test -z "$(fw_rules_left $P)"
t_done
