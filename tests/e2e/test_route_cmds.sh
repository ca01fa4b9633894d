#!/usr/bin/env bash
# Area route: `ip route-static` changes the kernel (a /32 behind the outside host becomes
# reachable), comes back after a restart from --db, and `undo` removes exactly it (a foreign
# route stays); SIGTERM removes fwd's routes. `display ip routing-table` lists Direct and Static
# routes, `display arp` the outside host after traffic. `ping` and `tracert` from the firewall
# (local -> untrust permitted) reach the outside host, a ping without an answer prints
# `Request time out` and ends in bounded time, and another fwcli is answered while a ping runs.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-route
T0=$SECONDS
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
# 203.0.113.105 lives on the outside host's loopback; with arp_ignore=1 it does not answer ARP
# for it on out0, so the firewall reaches it only through a route via 203.0.113.2.
ip -n $P-out addr add 203.0.113.105/32 dev lo
ip netns exec $P-out sysctl -qw net.ipv4.conf.all.arp_ignore=1
# The outside host answers tracert's three quick probes with port unreachables; its kernel
# rate-limits ICMP errors (per peer and, since 6.x, a global budget consumed at random), which
# once cost one answer in a CI run. The test is about fwd's tracert, not the host's limiter.
# icmp_ratelimit=0 alone turns off only the per-peer limit (a parallel run at load 8 still lost
# one answer): icmp_ratemask=0 exempts every ICMP type from both limits.
ip netns exec $P-out sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_ratemask=0
fwd_start $P || { t_fail "fwd starts with etc/lab.cfg"; t_done; }
t_check "configure: local -> untrust permit (the firewall's own probes)" \
  fwcli_run $P "system-view; security-policy; rule name local-out; source-zone local; destination-zone untrust; action permit; return"

t_check_not "before the route: inside host cannot reach 203.0.113.105" lab_ping $P in 203.0.113.105 2
t_check "ip route-static 203.0.113.105 32 203.0.113.2" \
  fwcli_run $P "system-view; ip route-static 203.0.113.105 32 203.0.113.2"
kroutes() { ip -n $P-fw -4 route show "$@"; }
echo "    kernel: $(kroutes 203.0.113.105)"
t_check "kernel: 203.0.113.105 via 203.0.113.2 dev out0 proto 200 metric 60" \
  grep -q "^203.0.113.105 via 203.0.113.2 dev out0 proto 200 metric 60" <<<"$(kroutes 203.0.113.105)"
t_check "with the route: inside host reaches 203.0.113.105" lab_ping $P in 203.0.113.105 2
t_check "ip route-static with an interface and preference 70 (198.18.2.128/25 GigabitEthernet1/0/2, the VRP name of dmz0)" \
  fwcli_run $P "system-view; ip route-static 198.18.2.128 255.255.255.128 GigabitEthernet1/0/2 preference 70"
t_check "kernel: 198.18.2.128/25 dev dmz0 proto 200 scope link metric 70" \
  grep -q "^198.18.2.128/25 dev dmz0 proto 200 scope link metric 70" <<<"$(kroutes 198.18.2.128/25)"
out=$(fwcli_run $P "system-view; ip route-static 198.18.9.0 24 198.18.7.7" 2>&1)
echo "$out" | sed 's/^/    /'
t_check "a next hop on no connected subnet: configured, reported inactive" \
  grep -q "Warning: The static route (ip route-static 198.18.9.0 255.255.255.0 198.18.7.7) is inactive" <<<"$out"
t_check "... and not in the kernel" test -z "$(kroutes 198.18.9.0/24)"

rt=$(fwcli_run $P "display ip routing-table")
echo "$rt" | sed 's/^/    /'
t_check "routing-table: legend and Routing Tables: Public" \
  bash -c 'grep -q "^Route Flags: R - relay, D - download to fib" <<<"$1" && grep -q "^Routing Tables: Public" <<<"$1"' _ "$rt"
t_check "routing-table: Direct 203.0.113.0/24 via 203.0.113.1 GigabitEthernet1/0/3" \
  grep -Eq "^ +203\.0\.113\.0/24 +Direct +0 +0 +D +203\.0\.113\.1 +GigabitEthernet1/0/3$" <<<"$rt"
t_check "routing-table: the firewall's own 203.0.113.1/32 Direct via 127.0.0.1" \
  grep -Eq "^ +203\.0\.113\.1/32 +Direct +0 +0 +D +127\.0\.0\.1 +GigabitEthernet1/0/3$" <<<"$rt"
t_check "routing-table: Static 203.0.113.105/32 Pre 60 RD via 203.0.113.2 GigabitEthernet1/0/3" \
  grep -Eq "^ +203\.0\.113\.105/32 +Static +60 +0 +RD +203\.0\.113\.2 +GigabitEthernet1/0/3$" <<<"$rt"
t_check "routing-table: Static 198.18.2.128/25 Pre 70 D GigabitEthernet1/0/2" \
  grep -Eq "^ +198\.18\.2\.128/25 +Static +70 +0 +D +[0-9.]+ +GigabitEthernet1/0/2$" <<<"$rt"
nroutes=$(grep -cE "^ +[0-9.]+/[0-9]+ " <<<"$rt")
t_check "routing-table: Routes : $nroutes (the rows listed)" grep -Eq "Routes : $nroutes$" <<<"$rt"

out=$(fwcli_run $P "ping -c 3 203.0.113.2")
echo "$out" | sed 's/^/    /'
t_check "ping: header as VRP" grep -qx "  PING 203.0.113.2: 56  data bytes, press CTRL_C to break" <<<"$out"
t_check "ping: 3 replies" test "$(grep -cE '^    Reply from 203\.0\.113\.2: bytes=56 Sequence=[123] ttl=64 time=[0-9]+ ms$' <<<"$out")" = 3
t_check "ping: statistics" bash -c 'grep -qx "    3 packet(s) received" <<<"$1" && grep -qx "    0.00% packet loss" <<<"$1" && grep -q "round-trip min/avg/max = " <<<"$1"' _ "$out"
t_check "ping through the static route: 203.0.113.105 answers" \
  grep -q "Reply from 203.0.113.105" <<<"$(fwcli_run $P "ping -c 1 203.0.113.105")"
out=$(fwcli_run $P "ping -c 2 -a 198.18.1.1 203.0.113.2")
t_check "ping -a 198.18.1.1: replies" test "$(grep -c 'Reply from 203.0.113.2' <<<"$out")" = 2
t_check "ping -a 203.0.113.77 (not the firewall's): refused" \
  grep -q "Error: The source address 203.0.113.77 is not a local address." <<<"$(fwcli_run $P "ping -a 203.0.113.77 203.0.113.2" 2>&1)"

arp=$(fwcli_run $P "display arp")
echo "$arp" | sed 's/^/    /'
mac=$(ip -n $P-out -br link show eth0 | awk '{print $3}' | sed -E 's/^(..):(..):(..):(..):(..):(..)$/\1\2-\3\4-\5\6/')
t_check "display arp: 203.0.113.2 with the outside host's MAC ($mac), dynamic, GigabitEthernet1/0/3" \
  grep -Eq "^203\.0\.113\.2 +$mac +D-0 +GigabitEthernet1/0/3$" <<<"$arp"
t_check "display arp: the firewall's 203.0.113.1 as an interface entry" \
  grep -Eq "^203\.0\.113\.1 +[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4} +I - +GigabitEthernet1/0/3$" <<<"$arp"
t_check_not "display arp: no loopback entry" grep -q "^127\." <<<"$arp"
t_check "display arp: Total/Dynamic/Static/Interface line" \
  grep -Eq "^Total:[0-9]+ +Dynamic:[1-9][0-9]* +Static:0 +Interface:[1-9]" <<<"$arp"

out=$(fwcli_run $P "tracert 203.0.113.105")
echo "$out" | sed 's/^/    /'
t_check "tracert: header as VRP" grep -qx " traceroute to 203.0.113.105(203.0.113.105), max hops: 30 ,packet length: 40,press CTRL_C to break" <<<"$out"
t_check "tracert: hop 1 is 203.0.113.105 (reached, three times)" \
  grep -Eq "^ 1 203\.0\.113\.105 [0-9]+ ms  [0-9]+ ms  [0-9]+ ms$" <<<"$out"
grep -Eq "^ 1 203\.0\.113\.105 [0-9]+ ms  [0-9]+ ms  [0-9]+ ms$" <<<"$out" ||
  fwcli_run $P "display firewall statistics" | grep -iE "icmp|no-session" | sed 's/^/    (fwd) /'

s=$SECONDS
out=$(fwcli_run $P "tracert -m 2 -w 200 203.0.113.9")
e=$((SECONDS - s))
t_check "tracert without answers: ' 1 * * *' and ' 2 * * *', within 3 s" \
  bash -c 'grep -qx " 1 \* \* \*" <<<"$1" && grep -qx " 2 \* \* \*" <<<"$1" && test "$2" -le 3' _ "$out" $e

# No answer: Request time out, bounded; another client is answered meanwhile.
fwcli_run $P "ping -c 3 203.0.113.9" >/tmp/$P-ping.log 2>&1 &
ping_pid=$!; lab_pid_track $P $ping_pid
sleep 0.5
s=$(date +%s%N)
other=$(fwcli_run $P "display ip routing-table | count" 2>/dev/null || fwcli_run $P "display version")
e=$(( ($(date +%s%N) - s) / 1000000 ))
t_check "another fwcli answered in ${e} ms while a ping waits" test "$e" -lt 2000 -a -n "$other"
t_check "... and the ping was still running then" kill -0 $ping_pid
s=$SECONDS; wait $ping_pid; e=$((SECONDS - s))
cat /tmp/$P-ping.log | sed 's/^/    /'
t_check "unanswered ping: 3 x Request time out" test "$(grep -cx '    Request time out' /tmp/$P-ping.log)" = 3
t_check "unanswered ping: 100.00% packet loss, ends within 8 s" \
  bash -c 'grep -qx "    100.00% packet loss" "$1" && test "$2" -le 8' _ /tmp/$P-ping.log $e

# save, restart from the database: the routes come back; SIGTERM removes them, nothing else.
ip -n $P-fw route add 203.0.113.106/32 via 203.0.113.2
t_check "save" fwcli_run $P "save"
fwd_stop $P TERM
t_check "SIGTERM: fwd's routes removed" test -z "$(ip -n $P-fw -4 route show proto 200)"
t_check "SIGTERM: the foreign route 203.0.113.106 stays" test -n "$(kroutes 203.0.113.106)"
fwd_start $P --no-config || { t_fail "restart with --db only"; t_done; }
t_check "after restart: 203.0.113.105 via 203.0.113.2 proto 200 in the kernel again" \
  grep -q "^203.0.113.105 via 203.0.113.2 dev out0 proto 200 metric 60" <<<"$(kroutes 203.0.113.105)"
t_check "after restart: current-configuration lists the three routes" \
  test "$(fwcli_run $P "display current-configuration" | grep -c '^ip route-static ')" = 3
t_check "after restart: inside host reaches 203.0.113.105" lab_ping $P in 203.0.113.105 2
t_check "after restart: the inactive route is logged" \
  grep -q "The static route (ip route-static 198.18.9.0 255.255.255.0 198.18.7.7) is inactive" /tmp/$P-fwd.log
t_check "undo ip route-static 203.0.113.105 255.255.255.255 203.0.113.2" \
  fwcli_run $P "system-view; undo ip route-static 203.0.113.105 255.255.255.255 203.0.113.2"
t_check "undo: the route left the kernel" test -z "$(kroutes 203.0.113.105)"
t_check "undo: the other static route stays" test -n "$(kroutes 198.18.2.128/25)"
t_check "undo: the foreign route stays" test -n "$(kroutes 203.0.113.106)"
t_check_not "undo: inside host cannot reach 203.0.113.105 any more" lab_ping $P in 203.0.113.105 2
fwd_stop $P TERM
echo "    test time: $((SECONDS - T0)) s"
t_done
