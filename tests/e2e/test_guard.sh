#!/usr/bin/env bash
# guard (issue 16 items 7, 8). No route: a connection from the inside host to an address the
# firewall has no route to fails at once with "Network is unreachable" (the kernel's ICMP net
# unreachable, v4 and v6) instead of timing out; the kernel counts it. SYN+FIN (on a new flow
# and on an existing session), LAND and port 0 crafted from the inside host (a permitted
# direction) are dropped, counted, never reach the outside host (capture). uRPF on the trust
# zone: a source spoofed as the dmz host arriving on in0 is dropped by `urpf strict`, passes
# with `urpf loose` and with it off.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-guard
t_require_root
t_require_bins fwd fwcli
command -v hping3 >/dev/null || { t_fail "hping3 not installed (scripts/deps)"; t_done; }
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
cfg() { fwcli_run $P "system-view; $*; return" >/tmp/$P-cli.out 2>&1 || { cat /tmp/$P-cli.out; return 1; }; }
stat() { v=$(fw_stat $P "Dropped $1"); echo "${v:-0}"; }
hp() { ip netns exec $P-in timeout 10 hping3 -q -c "$1" -i u100000 "${@:2}" >>/tmp/$P-hping.log 2>&1; }

# ---- item 7: no route -> ICMP net unreachable, fast ---------------------------------------
ip -n $P-fw route del 198.18.2.0/24 dev dmz0
ip -6 -n $P-fw route del 2001:db8:2::/64 dev dmz0
u0=$(ip netns exec $P-fw nstat -az IcmpOutDestUnreachs | awk '/IcmpOutDestUnreachs/ {print $2}')
nr0=$(stat no-route); li0=$(fw_stat $P "Accepted local icmp-error")
ping_out=$(ip netns exec $P-in ping -c 1 -W 3 198.18.2.2 2>&1)
t0=$(date +%s%N)
out4=$(ip netns exec $P-in curl -sS -m 10 http://198.18.2.2/ 2>&1)
t1=$(date +%s%N)
out6=$(ip netns exec $P-in curl -sS -m 10 "http://[2001:db8:2::2]/" 2>&1)
t2=$(date +%s%N)
ms4=$(( (t1 - t0) / 1000000 )); ms6=$(( (t2 - t1) / 1000000 ))
echo "    v4 (${ms4} ms): $out4"
echo "    v6 (${ms6} ms): $out6"
# The errno a program sees (curl only says "Couldn't connect to server").
conn() {
  ip netns exec $P-in /usr/bin/python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.settimeout(10)
try:
    s.connect((sys.argv[1], 80)); print("connected")
except OSError as e:
    print(e.strerror)' "$1" 2>&1
}
err4=$(conn 198.18.2.2); err6=$(conn 2001:db8:2::2)
echo "    connect(): v4 $err4, v6 $err6"
echo "$ping_out" | sed -n 2p | sed 's/^/    /'
t_check "curl to an unrouted v4 address is refused" grep -q "Couldn't connect" <<<"$out4"
t_check "curl to an unrouted v6 address is refused" grep -q "Couldn't connect" <<<"$out6"
t_check "connect() v4: Network is unreachable" test "$err4" = "Network is unreachable"
t_check "connect() v6: Network is unreachable" test "$err6" = "Network is unreachable"
t_check "v4 failed fast (${ms4} ms < 2000)" test $ms4 -lt 2000
t_check "v6 failed fast (${ms6} ms < 2000)" test $ms6 -lt 2000
t_check "ping shows Destination Net Unreachable from 198.18.1.1" \
  grep -q "From 198.18.1.1.*Destination Net Unreachable" <<<"$ping_out"
u1=$(ip netns exec $P-fw nstat -az IcmpOutDestUnreachs | awk '/IcmpOutDestUnreachs/ {print $2}')
nr1=$(stat no-route)
echo "    kernel IcmpOutDestUnreachs: $u0 -> $u1, Dropped no-route: $nr0 -> $nr1"
t_check "the kernel counted its unreachables (>= 2)" test $(( ${u1:-0} - ${u0:-0} )) -ge 2
t_check "fwd counted no-route (>= 3)" test $(( nr1 - nr0 )) -ge 3
li1=$(fw_stat $P "Accepted local icmp-error")
t_check "fwd let the firewall's own ICMP errors out ($li0 -> $li1)" test $(( li1 - li0 )) -ge 3
# A burst of 300 unrouted datagrams within a fraction of a second: fwd hands about its burst
# (100) to the kernel and counts the rest suppressed; the kernel limits further on its own
# (ip_error: per source host, a burst of 5 then 1/s), so it sends even fewer.
nst() { ip netns exec $P-fw nstat -az "$1" | awk -v n="$1" '$1 == n {print $2}'; }
k0=$(nst IcmpOutDestUnreachs)
fs0=$(fw_stat $P "No-route unreachable sent"); fq0=$(fw_stat $P "No-route unreachable suppressed")
nb0=$(stat no-route)
ip netns exec $P-in timeout 10 hping3 -q -c 300 -i u200 -2 -p 5000 -s 43000 198.18.2.2 >>/tmp/$P-hping.log 2>&1
k1=$(nst IcmpOutDestUnreachs)
fs1=$(fw_stat $P "No-route unreachable sent"); fq1=$(fw_stat $P "No-route unreachable suppressed")
nb1=$(stat no-route)
echo "    burst of 300: no-route +$(( nb1 - nb0 )), fwd sent +$(( fs1 - fs0 )) suppressed +$(( fq1 - fq0 )), kernel sent +$(( k1 - k0 ))"
t_check "every datagram of the burst counted no-route" test $(( nb1 - nb0 )) -eq 300
t_check "fwd suppressed part of the burst (its rate limit)" test $(( fq1 - fq0 )) -gt 0
t_check "sent + suppressed = the burst" test $(( fs1 - fs0 + fq1 - fq0 )) -eq 300
t_check "the kernel sent no more than fwd let through" test $(( k1 - k0 )) -le $(( fs1 - fs0 ))
ip -n $P-fw route add 198.18.2.0/24 dev dmz0 src 198.18.2.1
ip -6 -n $P-fw route add 2001:db8:2::/64 dev dmz0

# ---- item 8: bogus packets from the inside (permitted direction) --------------------------
cap=/tmp/$P-out.pcapng; rm -f $cap
ip netns exec $P-out timeout 60 dumpcap -q -i eth0 -f "tcp or udp" -w $cap >/tmp/$P-dumpcap.log 2>&1 &
cap_pid=$!; lab_pid_track $P $cap_pid
for ((i = 0; i < 50; i++)); do [[ -s $cap ]] && break; sleep 0.1; done
sleep 0.5
f0=$(stat tcp-invalid-flags); l0=$(stat land); z0=$(stat port-zero)
hp 3 -S -F -p 80 -s 41001 -k 203.0.113.2          # SYN+FIN on a new flow
hp 3 -p 80 -s 41002 -k 203.0.113.2                # no flags at all
hp 3 -F -p 80 -s 41003 -k 203.0.113.2             # FIN without ACK
hp 1 -S -p 80 -s 41004 -k 203.0.113.2             # a SYN: a session ...
t_check "the SYN of 41004 opened a session" \
  grep -q "198.18.1.2:41004" <<<"$(fwcli_run $P "display firewall session table protocol tcp")"
hp 3 -S -F -p 80 -s 41004 -k 203.0.113.2          # ... and a SYN+FIN on it
hp 3 -S -p 80 -s 41005 -k -a 203.0.113.2 203.0.113.2  # LAND
hp 3 -S -p 0 -s 41006 -k 203.0.113.2              # TCP destination port 0
hp 3 -2 -p 0 -s 41007 -k 203.0.113.2              # UDP destination port 0
hp 3 -2 -p 5000 -s 0 -k 203.0.113.2               # UDP source port 0
f1=$(stat tcp-invalid-flags); l1=$(stat land); z1=$(stat port-zero)
echo "    tcp-invalid-flags $f0 -> $f1, land $l0 -> $l1, port-zero $z0 -> $z1"
t_check "tcp-invalid-flags counted 12" test $(( f1 - f0 )) -eq 12
t_check "land counted 3" test $(( l1 - l0 )) -eq 3
t_check "port-zero counted 9" test $(( z1 - z0 )) -eq 9
t_check "shown in display firewall statistic system discard" \
  grep -Eq "land discarded +: [1-9]" <<<"$(fwcli_run $P "display firewall statistic system discard")"

# ---- item 8: uRPF on the trust zone (a source spoofed as the dmz host, arriving on in0) -----
spoof() { hp 3 -2 -p 5000 -s "$1" -k -a 198.18.2.2 203.0.113.2; }
r0=$(stat urpf)
spoof 42001                                       # off
cfg "firewall zone trust; urpf strict" || t_fail "urpf strict"
spoof 42002
cfg "firewall zone trust; urpf loose" || t_fail "urpf loose"
spoof 42003
cfg "firewall zone trust; undo urpf" || t_fail "undo urpf"
r1=$(stat urpf)
t_check "urpf counted 3 (strict only)" test $(( r1 - r0 )) -eq 3

sleep 1
kill -INT $cap_pid 2>/dev/null; lab_wait_exit $cap_pid 5; wait $cap_pid 2>/dev/null
seen() { tshark -r $cap -Y "$1" 2>/dev/null | wc -l; }
t_check "capture works: SYN of 41004 seen" test "$(seen "tcp.srcport == 41004 && tcp.flags.fin == 0")" -ge 1
t_check "no SYN+FIN/null/FIN-only packet reached the outside host" \
  test "$(seen "tcp.srcport >= 41001 && tcp.srcport <= 41003 || (tcp.srcport == 41004 && tcp.flags.fin == 1)")" -eq 0
t_check "no LAND packet reached it" test "$(seen "ip.src == 203.0.113.2 && ip.dst == 203.0.113.2")" -eq 0
t_check "no port 0 packet reached it" test "$(seen "tcp.port == 0 || udp.port == 0")" -eq 0
t_check "spoofed source passed with urpf off" test "$(seen "udp.srcport == 42001")" -eq 3
t_check "spoofed source dropped by urpf strict" test "$(seen "udp.srcport == 42002")" -eq 0
t_check "spoofed source passed with urpf loose" test "$(seen "udp.srcport == 42003")" -eq 3
t_done
