#!/usr/bin/env bash
# Nothing is forwarded that no zone owns. A configuration naming an interface that does not
# exist (the out9 typo for out0) is refused at start with file:line and a VRP error, by fwd and by
# --check-config; explicitly allowed with --allow-absent-interface it starts, and out0, in no
# zone, lets nothing through (the kernel rules drop it, counted). An interface removed from its
# zone at run time stops carrying traffic at once (a capture on the inside host stays empty); one
# that appears later is picked up by name, and interface events are logged.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-zoneif
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P; rm -f /tmp/$P-typo.cfg' EXIT
lab_out_route_inside $P
sed 's/add interface out0/add interface out9/' "$LAB_REPO/etc/lab.cfg" >/tmp/$P-typo.cfg
line=$(grep -n "add interface out9" /tmp/$P-typo.cfg | cut -d: -f1)

RC=0
OUT=$(timeout 20 ip netns exec $P-fw "$FW_BIN/fwd" --config /tmp/$P-typo.cfg --db /tmp/$P-t.db \
  --socket /run/$P-t.sock 2>&1) || RC=$?
echo "$OUT" | tail -n 4 | sed 's/^/    /'
t_check "typo out9: fwd refuses to start (exit $RC)" test "$RC" -eq 1
t_check "  the message names the file and line ($P-typo.cfg:$line)" grep -q "$P-typo.cfg:$line" <<<"$OUT"
t_check "  with the VRP error and the reason" bash -c \
  "grep -q \"Error: Wrong parameter found at '\\^' position.\" <<<\"\$0\" && grep -q 'interface out9 does not exist' <<<\"\$0\"" "$OUT"
t_check "  no rules left behind" test -z "$(fw_rules_left $P)"
RC=0
OUT=$(ip netns exec $P-fw "$FW_BIN/fwd" --check-config --config /tmp/$P-typo.cfg 2>&1) || RC=$?
t_check "--check-config refuses it too (exit $RC)" bash -c "test $RC -eq 1 && grep -q 'out9' <<<\"\$0\"" "$OUT"
RC=0
OUT=$(ip netns exec $P-fw "$FW_BIN/fwd" --check-config --config "$LAB_REPO/etc/lab.cfg" 2>&1) || RC=$?
t_check "--check-config accepts etc/lab.cfg ($OUT)" test $RC -eq 0

echo "explicitly allowed absent: out0 is in no zone"
fwd_start $P --config /tmp/$P-typo.cfg --allow-absent-interface out9 ||
  { t_fail "fwd starts with --allow-absent-interface out9"; t_done; }
lab_echo_server $P in 198.18.1.2 7007 udp || t_fail "udp echo server inside"
nat_cap_start $P in eth0 /tmp/$P-in.pcap 0 "not arp and not icmp6" || t_fail "capture inside"
CAP=$NAT_CAP_PID
ip netns exec $P-out timeout 5 "$LAB_PY" "$LAB_REPO/tests/e2e/peer.py" udp-client --to 198.18.1.2 \
  --port 7007 --count 5 >/dev/null 2>&1
ip netns exec $P-out timeout 3 bash -c 'echo > /dev/tcp/198.18.1.2/22' 2>/dev/null
t_check "out0 in no zone: ping outside -> inside gets nothing" lab_ping_none $P out 198.18.1.2
t_check "out0 in no zone: ping inside -> outside gets nothing" lab_ping_none $P in 203.0.113.2
nat_cap_stop $CAP
n=$(nat_cap_count /tmp/$P-in.pcap "ip.src == 203.0.113.2")
t_check "nothing from the outside host reached the inside host (capture: $n packets)" test "$n" = 0
drops=$(fw_stat $P "Dropped no-zone \(kernel rules\)")
t_check "the kernel rules counted the no-zone drops ($drops)" test "${drops:-0}" -gt 0
fwd_stop $P TERM

echo "an interface removed from its zone at run time"
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts with etc/lab.cfg"; t_done; }
t_check "ping inside -> outside works" lab_ping $P in 203.0.113.2
lab_bg $P in /tmp/$P-ping.log ping -n -i 0.2 -w 30 203.0.113.2
PING=$LAB_BG_PID
sleep 1
t_check "undo add interface out0 (untrust)" \
  fwcli_run $P "system-view; firewall zone untrust; undo add interface out0"
nat_cap_start $P in eth0 /tmp/$P-in2.pcap 0 "icmp" || t_fail "capture inside"
CAP=$NAT_CAP_PID
sleep 3
nat_cap_stop $CAP
replies=$(nat_cap_count /tmp/$P-in2.pcap "icmp.type == 0")
requests=$(nat_cap_count /tmp/$P-in2.pcap "icmp.type == 8")
t_check "after the change: the inside host keeps asking ($requests requests) and gets no reply ($replies)" \
  test "$requests" -gt 5 -a "$replies" = 0
t_check "add interface out0 back" fwcli_run $P "system-view; firewall zone untrust; add interface out0"
t_check "ping works again" lab_ping $P in 203.0.113.2
kill "$PING" 2>/dev/null

echo "interfaces that go and come"
ip -n $P-fw link set out0 down
ip -n $P-fw link set out0 name out7
sleep 0.5
t_check "a renamed zone interface is logged" grep -q "interface out0 was renamed out7 (zone untrust)" /tmp/$P-fwd.log
t_check "out7 is in no zone: nothing passes" lab_ping_none $P in 203.0.113.2
ip -n $P-fw link set out7 name out0
ip -n $P-fw link set out0 up
ip -n $P-fw addr add 203.0.113.1/24 dev out0 2>/dev/null
ip -n $P-fw route replace 203.0.113.0/24 dev out0 2>/dev/null
sleep 1
t_check "renamed back: out0 is in untrust again, ping works" lab_ping $P in 203.0.113.2 5
t_check "adding a missing interface at run time is refused with the VRP error" \
  bash -c "fwcli_run() { ip netns exec $P-fw $FW_BIN/fwcli -s /run/$P.sock -c \"\$*\"; };
           fwcli_run 'system-view; firewall zone dmz; add interface nosuch0' | grep -q 'does not exist'"
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
