#!/usr/bin/env bash
# Source NAT with an address-group in PAT mode (203.0.113.100-105): curl, iperf3 TCP/UDP, UDP
# echo and ping from both inside hosts leave only with pool addresses (outside logs, `ss`,
# capture); 2 x 50 simultaneous connections from the SAME source ports on both hosts get 100
# distinct (address, port) pairs and all work; ports in use go back to 0 once the sessions age
# and are reusable; the pool addresses are on out0 (/32, ARP) while fwd runs and gone after
# SIGTERM, with accept_local restored.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-natpat
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
rm -f /tmp/$P.db
al0=$(ip netns exec $P-fw sysctl -n net.ipv4.conf.in0.accept_local)
rp0=$(ip netns exec $P-fw sysctl -n net.ipv4.conf.in0.rp_filter)
fwd_start $P || { t_fail "fwd starts"; t_done; }
t_check "short aging configured" nat_aging $P
t_check "address-group pool1 (PAT, .100-.105) and nat-policy configured" nat_cfg_ok $P \
  "nat address-group pool1; mode pat; section 0 203.0.113.100 203.0.113.105; quit;" \
  "nat-policy; rule name snat; source-zone trust; destination-zone untrust; action source-nat address-group pool1"
grp=$(fwcli_run $P "display nat address-group pool1")
echo "$grp" | sed 's/^/    /'
t_check "display nat address-group: mode pat, section, 0 ports in use" \
  bash -c 'grep -Eq "Mode +: pat" <<<"$1" && grep -q "203.0.113.100 - 203.0.113.105" <<<"$1" && grep -Eq "Ports in use +: 0$" <<<"$1"' _ "$grp"
addrs=$(ip -n $P-fw -4 -o addr show dev out0 | awk '{print $4}' | tr '\n' ' ')
t_check "pool addresses installed on out0 as /32 ($addrs)" \
  bash -c 'for i in 100 101 102 103 104 105; do [[ " $1" == *" 203.0.113.$i/32 "* ]] || exit 1; done' _ "$addrs"
t_check "accept_local=1 on in0 while fwd runs" test "$(ip netns exec $P-fw sysctl -n net.ipv4.conf.in0.accept_local)" = 1

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
  t_check "UDP echo $h -> outside, 10/10" nat_udp_echo $P $h 203.0.113.2 7001 10
  t_check "iperf3 TCP $h -> outside (3 s)" nat_iperf $P $h 203.0.113.2 tcp /tmp/$P-$h-tcp.json
  t_check "iperf3 UDP $h -> outside (3 s)" nat_iperf $P $h 203.0.113.2 udp /tmp/$P-$h-udp.json
done
nat_ping_id $P in 203.0.113.2 4242 5 & p1=$!
nat_ping_id $P in2 203.0.113.2 4242 5 & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
t_check "ping through PAT, same ICMP id from both hosts at once: all replies" test $r1 -eq 0 -a $r2 -eq 0
srcs=$(sed -nE 's/^([0-9.]+) - - \[.*"GET .*/\1/p' /tmp/$P-http-out-80.log | sort -u | tr '\n' ' ')
t_check "outside HTTP log: clients only from the pool ($srcs)" nat_addrs_in_pool "$srcs" 100 105
isrcs=$(sed -nE 's/.*Accepted connection from ([0-9.]+),.*/\1/p; s/.*local [0-9.]+ port [0-9]+ connected to ([0-9.]+) port.*/\1/p' \
  /tmp/$P-iperf3-out.log | sort -u | tr '\n' ' ')
t_check "outside iperf3 log: peers only from the pool ($isrcs)" nat_addrs_in_pool "$isrcs" 100 105

echo "2 x 50 simultaneous connections from the same source ports 41000-41049 on both hosts"
nat_many_conn $P in 203.0.113.2 7000 50 41000 6 /tmp/$P-many-in; m1=$NAT_MANY_PID
nat_many_conn $P in2 203.0.113.2 7000 50 41000 6 /tmp/$P-many-in2; m2=$NAT_MANY_PID
nat_wait_file /tmp/$P-many-in 20; nat_wait_file /tmp/$P-many-in2 20
t_check "in: $(cat /tmp/$P-many-in 2>/dev/null) echoed" grep -q "ok 50 of 50" /tmp/$P-many-in
t_check "in2: $(cat /tmp/$P-many-in2 2>/dev/null) echoed" grep -q "ok 50 of 50" /tmp/$P-many-in2
peers=$(ip netns exec $P-out ss -Htn state established "sport = :7000" | awk '{print $4}')
npeers=$(sort -u <<<"$peers" | grep -c .)
paddrs=$(sed 's/:[0-9]*$//' <<<"$peers" | sort -u | tr '\n' ' ')
t_check "outside sees 100 distinct (address, port) peers ($npeers)" test "$npeers" -eq 100
t_check "... all from the pool ($paddrs)" nat_addrs_in_pool "$paddrs" 100 105
inuse=$(nat_ports_in_use $P pool1)
t_check "display nat address-group: ports in use >= 100 ($inuse)" test "${inuse:-0}" -ge 100
fwcli_run $P "display nat address-group pool1" | sed 's/^/    /'
t_check "session table: 100 tcp sessions to :7000 translated into the pool" \
  test "$(nat_sessions $P destination global 203.0.113.2 | grep -Ec '^ tcp .* 198\.18\.1\.[23]:410[0-4][0-9]\[203\.0\.113\.10[0-5]:[0-9]+\] --> 203\.0\.113\.2:7000$')" -eq 100
lab_wait_exit $m1 15; lab_wait_exit $m2 15

echo "aging gives the ports back"
aged0=$(fw_stat $P "Sessions aged")
ports_zero() { [[ $(nat_ports_in_use $P pool1) == 0 ]]; }
no_sessions() { [[ $(nat_session_count $P) == 0 ]]; }
t_check "ports in use back to 0 once the sessions aged (bounded 30 s)" nat_wait_for 30 ports_zero
t_check "sessions current back to 0" nat_wait_for 10 no_sessions
aged1=$(fw_stat $P "Sessions aged")
t_check "Sessions aged grew ($aged0 -> $aged1)" test "${aged1:-0}" -gt "${aged0:-0}"
nat_many_conn $P in 203.0.113.2 7000 50 41000 1 /tmp/$P-many-again; m3=$NAT_MANY_PID
nat_wait_file /tmp/$P-many-again 20
t_check "the same 50 source ports again after aging: $(cat /tmp/$P-many-again 2>/dev/null)" grep -q "ok 50 of 50" /tmp/$P-many-again
lab_wait_exit $m3 10

nat_cap_stop $cap_pid
leak=$(nat_cap_count $cap 'ip.addr == 198.18.0.0/16')
outs=$(nat_cap_read $cap 'ip.dst == 203.0.113.2' ip.src | sort -u | tr '\n' ' ')
t_check "outside capture: no 198.18. address at all ($leak packets)" test "$leak" -eq 0
t_check "outside capture: every source towards 203.0.113.2 is in the pool ($outs)" nat_addrs_in_pool "$outs" 100 105

t_check "fwd still running" lab_pid_alive "$FWD_PID"
fwd_stop $P; rc=$?
t_check "fwd exits 0 on SIGTERM ($rc)" test $rc -eq 0
t_check "after SIGTERM: no 203.0.113.100/32 (or any pool address) on out0" \
  bash -c '! ip -n $1-fw -4 addr show | grep -q "203\.0\.113\.10[0-5]/32"' _ $P
t_check "after SIGTERM: accept_local/rp_filter on in0 restored ($al0/$rp0)" \
  test "$(ip netns exec $P-fw sysctl -n net.ipv4.conf.in0.accept_local)/$(ip netns exec $P-fw sysctl -n net.ipv4.conf.in0.rp_filter)" = "$al0/$rp0"
t_check "no queueing rules left" test -z "$(fw_rules_left $P)"
t_done
