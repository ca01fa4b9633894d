#!/usr/bin/env bash
# A TCP segment that is not a SYN and belongs to no session (a stray ACK) is dropped: it never
# reaches the outside host, "Dropped tcp-not-syn" grows, and no session is created for it.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-notsyn
t_require_root
t_require_bins fwd fwcli
command -v hping3 >/dev/null || { t_fail "hping3 not installed (scripts/deps)"; t_done; }
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
www=/tmp/$P-www; mkdir -p $www; echo ok >$www/index.txt
lab_http_server $P out :: 80 $www || t_fail "http server"

# Capture on the outside host: a stray ACK that got through would show up there (and be answered
# with a RST).
cap=/tmp/$P-out.pcapng; rm -f $cap
ip netns exec $P-out timeout 60 dumpcap -q -i eth0 -f "tcp port 80" -w $cap >/tmp/$P-dumpcap.log 2>&1 &
cap_pid=$!; lab_pid_track $P $cap_pid
for ((i = 0; i < 50; i++)); do [[ -s $cap ]] && break; sleep 0.1; done
sleep 0.5

n0=$(fw_stat $P "Dropped tcp-not-syn")
ip netns exec $P-in timeout 15 hping3 -A -c 3 -i u200000 -p 80 -s 40555 -k 203.0.113.2 >/tmp/$P-hping.log 2>&1
n1=$(fw_stat $P "Dropped tcp-not-syn")
echo "    Dropped tcp-not-syn: $n0 -> $n1"
t_check "\"Dropped tcp-not-syn\" grew by >= 3" test $(( ${n1:-0} - ${n0:-0} )) -ge 3
sessions=$(fwcli_run $P "display firewall session table")
echo "$sessions" | sed 's/^/    /'
t_check_not "no session for the stray ACK (198.18.1.2:40555)" grep -q "198.18.1.2:40555" <<<"$sessions"
t_check_not "no session for it with the protocol tcp filter" grep -q "40555" <<<"$(fwcli_run $P "display firewall session table protocol tcp")"

t_check "a real connection (SYN first) still works afterwards" \
  test "$(ip netns exec $P-in curl -s -m 5 --local-port 40600 http://203.0.113.2/index.txt)" = ok
t_check "and it created a session" grep -q "198.18.1.2:40600" <<<"$(fwcli_run $P "display firewall session table protocol tcp")"

sleep 1
kill -INT $cap_pid 2>/dev/null; lab_wait_exit $cap_pid 5; wait $cap_pid 2>/dev/null
got=$(tshark -r $cap -Y "tcp.srcport == 40555" 2>/dev/null | wc -l)
real=$(tshark -r $cap -Y "tcp.srcport == 40600" 2>/dev/null | wc -l)
t_check "the capture on the outside host works (saw $real packets of the real connection)" test "$real" -gt 0
t_check "the outside host saw none of the stray ACKs (captured $got)" test "$got" -eq 0
t_done
