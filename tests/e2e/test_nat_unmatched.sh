#!/usr/bin/env bash
# A "reply" that matches no session is dropped and counted, never forwarded untranslated: with a
# PAT pool (203.0.113.100-105) and a live translated TCP flow, hping3 from the outside host sends
# ACKs to pool addresses (an unused port, and the live flow's translated port from a different
# remote port) and a UDP datagram to a pool address; a capture on the inside host sees none of it,
# the drop counters grow, and the live flow keeps working.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-natstray
t_require_root
t_require_bins fwd fwcli
command -v hping3 >/dev/null || t_skip "no hping3"
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
t_check "address-group pool1 (PAT) and nat-policy configured" nat_cfg_ok $P \
  "nat address-group pool1; mode pat; section 0 203.0.113.100 203.0.113.105; quit;" \
  "nat-policy; rule name snat; source-zone trust; destination-zone untrust; action source-nat address-group pool1"
nat_echo_server $P out 203.0.113.2 7000 tcp || t_fail "tcp echo server in $P-out"
lab_bg $P in /tmp/$P-tcpc.log "$LAB_PY" "$LAB_REPO/tests/e2e/peer.py" tcp-client --to 203.0.113.2 --port 7000 \
  --interval 0.2 --duration 8 --status /tmp/$P-tcpc.status
tcpc=$LAB_BG_PID
nat_wait_for 5 grep -Eqs '^[1-9]' /tmp/$P-tcpc.status || t_fail "live TCP flow runs"
line=$(nat_sessions $P source inside 198.18.1.2 protocol tcp | grep -E ':7000$' | head -n1)
gaddr=$(sed -nE 's/.*\[([0-9.]+):([0-9]+)\].*/\1/p' <<<"$line")
gport=$(sed -nE 's/.*\[([0-9.]+):([0-9]+)\].*/\2/p' <<<"$line")
t_check "live flow translated into the pool ($gaddr:$gport)" nat_ip_in_range "${gaddr:-x}" 100 105

cap=/tmp/$P-in.pcap
nat_cap_start $P in eth0 $cap 0 "not arp" || t_fail "capture on the inside host"
cpid=$NAT_CAP_PID
d0=$(fw_stat $P "Packets dropped")
ns0=$(fw_stat $P "Dropped tcp-not-syn")
hp() { timeout 10 ip netns exec $P-out hping3 -q "$@" >/dev/null 2>&1 || true; }
hp -c 3 -i u20000 -A -s 5555 -k -p 40000 203.0.113.100
hp -c 3 -i u20000 -A -s 7001 -k -p "${gport:-1}" "${gaddr:-203.0.113.100}"
hp -c 3 -i u20000 -A -s 5556 -k -p "${gport:-1}" "${gaddr:-203.0.113.100}"
hp -c 3 -i u20000 -2 -s 5557 -k -p 40001 203.0.113.101
sleep 0.5
nat_cap_stop $cpid
d1=$(fw_stat $P "Packets dropped")
ns1=$(fw_stat $P "Dropped tcp-not-syn")
fwcli_run $P "display firewall statistics" | grep -v ': 0$' | sed 's/^/    /'
strays=$(nat_cap_count $cap 'ip.src == 203.0.113.2 && (tcp.srcport == 5555 || tcp.srcport == 7001 || tcp.srcport == 5556 || udp.srcport == 5557)')
t_check "inside host received none of the stray packets ($strays)" test "$strays" -eq 0
t_check "\"Packets dropped\" grew by at least 12 ($d0 -> $d1)" test $((${d1:-0} - ${d0:-0})) -ge 12
t_check "\"Dropped tcp-not-syn\" grew by at least 9 ($ns0 -> $ns1)" test $((${ns1:-0} - ${ns0:-0})) -ge 9
t_check "no session was created for the strays" \
  bash -c '! grep -Eq "203\.0\.113\.2:(5555|5556|5557|7001) " <<<"$1"' _ "$(nat_sessions $P)"
lab_wait_exit $tcpc 15; wait $tcpc; rc=$?
t_check "the live flow ran on without a stall ($(cat /tmp/$P-tcpc.status 2>/dev/null), rc $rc)" test $rc -eq 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
fwd_stop $P; rc=$?
t_check "fwd exits 0 on SIGTERM ($rc)" test $rc -eq 0
t_done
