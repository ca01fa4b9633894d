#!/usr/bin/env bash
# PPTP through source NAT easy-ip with `firewall detect pptp` (issue 5): the real pptpd on the
# outside host, two real pptp clients (198.18.1.2 and 198.18.1.3) leaving as 203.0.113.1, a pppd
# stand-in at every end (no PPP in this kernel, see lib_pptp.sh). Client 1 starts first, client 2
# once client 1's call works. Both calls must carry PPP frames over GRE both ways at the same time,
# each stand-in receiving only its own peer's frames. While both are up: two `pptp ... +->`
# control sessions, a `pptp-gre` session per call with distinct translated call ids, two
# `gre(Appro: pptp-gre)` server-map entries per call, and the call ids on the wire (inside and
# outside captures) agree with the tables. After SIGTERM to the clients (pptp sends
# Call-Clear-Request and closes the control connection), the entries go and the GRE sessions age
# out (`firewall session aging-time gre 8`).
set -uo pipefail
source "$(dirname "$0")/lib_pptp.sh"
P=fwt-pptp
# has REGEX TEXT / lacks REGEX TEXT: TEXT has (no) line matching the extended regex.
has() { grep -Eq -- "$1" <<<"$2"; }
lacks() { ! grep -Eq -- "$1" <<<"$2"; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
pptp_test_start $P --log-level debug
PD=$(pptp_dir $P)  # not "d": t_check has a local d
t_check "firewall detect pptp + easy-ip nat-policy + gre aging 8 s configured" nat_cfg_ok $P \
  "firewall detect pptp; firewall session aging-time gre 8;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
t_check "display firewall detect: global pptp" grep -Eq 'global:\|   [^|]*pptp' <<<"$(fwcli_run $P "display firewall detect" | tr '\n' '|')"
t_check "outside host has no route to the inside network" \
  bash -c "! ip -n $P-out route get 198.18.1.2 >/dev/null 2>&1"
pptp_server_start $P || { t_fail "pptpd listens on $PPTP_SERVER:1723"; pptp_dump_logs $P; t_done; }
t_ok "pptpd listens on $PPTP_SERVER:1723"
bpf="tcp port 1723 or ip proto 47"
nat_cap_start $P out eth0 $PD/out.pcap 0 "$bpf"; cap_out=$NAT_CAP_PID
nat_cap_start $P in eth0 $PD/in.pcap 0 "$bpf"; cap_in=$NAT_CAP_PID
nat_cap_start $P in2 eth0 $PD/in2.pcap 0 "$bpf"; cap_in2=$NAT_CAP_PID

echo "two tunnels through easy-ip 203.0.113.1"
c1log=$PD/client-1.log c2log=$PD/client-2.log
pptp_client_start $P in 198.18.1.2 1; c1=$PPTP_CLI_PID
t_check "client 1 (198.18.1.2): call up, its frames come back echoed" \
  pptp_wait_count $c1log "RECV echo:hello-from-client-1 " 3 15
pptp_client_start $P in2 198.18.1.3 2; c2=$PPTP_CLI_PID
t_check "client 2 (198.18.1.3): call up, its frames come back echoed" \
  pptp_wait_count $c2log "RECV echo:hello-from-client-2 " 3 15
# Both at once: each side's count keeps growing while the other call is up.
a1=$(pptp_count $c1log "RECV echo:hello-from-client-1 "); a2=$(pptp_count $c2log "RECV echo:hello-from-client-2 ")
both_grow() {
  pptp_wait_count $c1log "RECV echo:hello-from-client-1 " $((a1 + 3)) 5 &&
    pptp_wait_count $c2log "RECV echo:hello-from-client-2 " $((a2 + 3)) 5
}
t_check "both calls carry frames at the same time (client 1 past $a1, client 2 past $a2 echoes)" both_grow
for n in 1 2; do
  f=$PD/client-$n.log
  t_check "client $n received the server stand-in's own frames ($(pptp_count $f 'RECV hello-from-server-'))" \
    test "$(pptp_count $f 'RECV hello-from-server-')" -ge 3
  t_check "client $n received no frame meant for the other client" \
    test "$(pptp_count $f "hello-from-client-$((3 - n))")" = 0
  t_check "client $n: no bad frames" test "$(pptp_count $f BADFCS)" = 0
done
s1=$(pptp_server_log_of $P 1); s2=$(pptp_server_log_of $P 2)
t_check "pptpd started one stand-in per call ($(pptp_server_logs $P))" test "$(pptp_server_logs $P)" = 2
t_check "server side: client 1's frames reached one stand-in (${s1##*/}), client 2's another (${s2##*/})" \
  test -n "$s1" -a -n "$s2" -a "$s1" != "$s2"
t_check "server side: no stand-in got both clients' frames" \
  bash -c "! grep -q 'RECV hello-from-client-2 ' '$s1' 2>/dev/null && ! grep -q 'RECV hello-from-client-1 ' '$s2' 2>/dev/null"
# The "hello-from-server-PID" a client receives comes from the stand-in that receives its frames.
pid1=${s1##*/server-}; pid1=${pid1%.log}; pid2=${s2##*/server-}; pid2=${pid2%.log}
t_check "each client hears the stand-in of its own call (client 1: $pid1, client 2: $pid2)" \
  bash -c "grep -q 'RECV hello-from-server-${pid1:-x} ' $c1log && ! grep -q 'RECV hello-from-server-${pid2:-x} ' $c1log &&
    grep -q 'RECV hello-from-server-${pid2:-x} ' $c2log && ! grep -q 'RECV hello-from-server-${pid1:-x} ' $c2log"

echo "call ids on the wire (captures inside and outside while the calls came up)"
nat_cap_stop $cap_out; nat_cap_stop $cap_in; nat_cap_stop $cap_in2
calls_out=$(pptp_cap_calls $PD/out.pcap); calls_in1=$(pptp_cap_calls $PD/in.pcap); calls_in2=$(pptp_cap_calls $PD/in2.pcap)
{ echo "outside:"; echo "$calls_out"; echo "inside 1:"; echo "$calls_in1"; echo "inside 2:"; echo "$calls_in2"; } |
  sed 's/^/    | /'
t_check "outside: no inside address at all" test "$(nat_cap_count $PD/out.pcap 'ip.addr == 198.18.0.0/16')" = 0
# For call I: A (inside address), O (the client's own call id: its Outgoing-Call-Request inside),
# S (the server's call id: the Outgoing-Call-Reply inside), X (the id the server knows the client
# by: the peer id of the Outgoing-Call-Reply with call id S outside). "x" when not seen.
declare -A A O S X
A[1]=198.18.1.2 A[2]=198.18.1.3
for i in 1 2; do
  if ((i == 1)); then cin=$calls_in1; else cin=$calls_in2; fi
  O[$i]=$(awk -v a=${A[$i]} '$1 == a && $2 == 7 {print $3; exit}' <<<"$cin")
  S[$i]=$(awk '$1 == "203.0.113.2" && $2 == 8 {print $3; exit}' <<<"$cin")
  X[$i]=$(awk -v s="${S[$i]:-x}" '$1 == "203.0.113.2" && $2 == 8 && $3 == s {print $4; exit}' <<<"$calls_out")
  : "${O[$i]:=x}" "${S[$i]:=x}" "${X[$i]:=x}"
done
for i in 1 2; do
  a=${A[$i]} o=${O[$i]} s=${S[$i]} x=${X[$i]}
  if ((i == 1)); then cin=$calls_in1 cap=$PD/in.pcap; else cin=$calls_in2 cap=$PD/in2.pcap; fi
  echo "  call $i: client $a call id $o, known outside as 203.0.113.1 call id $x; server call id $s"
  t_check "inside $i: Outgoing-Call-Reply came back with peer id $o (translated back)" grep -qx "203.0.113.2 8 $s $o" <<<"$cin"
  t_check "outside: Outgoing-Call-Request from 203.0.113.1 with call id $x" grep -qx "203.0.113.1 7 $x -" <<<"$calls_out"
  t_check "call $i translated as a USG does for every call ($o -> $x)" test "$o" != x -a "$x" != x -a "$o" != "$x"
  gre_in=$(pptp_cap_gre "$cap"); echo "$gre_in" | sed "s/^/    | inside $i GRE (src dst key packets): /"
  t_check "inside $i: GRE with data to the server with key $s" has "^$a 203\.0\.113\.2 $s [0-9]+$" "$gre_in"
  t_check "inside $i: GRE with data from the server with key $o" has "^203\.0\.113\.2 $a $o [0-9]+$" "$gre_in"
  t_check "inside $i: no GRE from the server with another key" \
    test -z "$(awk -v a=$a -v k=$o '$1 == "203.0.113.2" && $2 == a && $3 != k' <<<"$gre_in")"
done
gre_out=$(pptp_cap_gre $PD/out.pcap); echo "$gre_out" | sed 's/^/    | outside GRE (src dst key packets): /'
for i in 1 2; do
  t_check "outside: GRE with data to the server with key ${S[$i]}" has "^203\.0\.113\.1 203\.0\.113\.2 ${S[$i]} " "$gre_out"
  t_check "outside: GRE with data from the server with key ${X[$i]}" has "^203\.0\.113\.2 203\.0\.113\.1 ${X[$i]} " "$gre_out"
done
t_check "the server knows the two calls by distinct ids (${X[1]} / ${X[2]}; its own: ${S[1]} / ${S[2]})" \
  test "${X[1]}" != x -a "${X[2]}" != x -a "${X[1]}" != "${X[2]}" -a "${S[1]}" != "${S[2]}"

echo "tables while both tunnels are up"
sess=$(fwcli_run $P "display firewall session table")
echo "$sess" | sed 's/^/    | /'
smap=$(fwcli_run $P "display firewall server-map")
echo "$smap" | sed 's/^/    | /'
for i in 1 2; do
  a=${A[$i]} o=${O[$i]} s=${S[$i]} x=${X[$i]} ra=${A[$i]//./\\.}
  t_check "control session pptp $a:X[203.0.113.1:Y] +-> 203.0.113.2:1723" \
    has "^ *pptp +VPN: public --> public +$ra:[0-9]+\[203\.0\.113\.1:[0-9]+\] \+-> 203\.0\.113\.2:1723$" "$sess"
  t_check "session pptp-gre $a:${o}[203.0.113.1:$x] --> 203.0.113.2:$s" \
    has "^ *pptp-gre +VPN: public --> public +$ra:$o\[203\.0\.113\.1:$x\] --> 203\.0\.113\.2:$s$" "$sess"
  t_check "server-map: $a -> 203.0.113.2:$s gre(Appro: pptp-gre)" \
    has "Type: ASPF, +$ra -> 203\.0\.113\.2:$s, .*protocol:gre\(Appro: pptp-gre\)" "$smap"
  t_check "server-map: 203.0.113.2 -> 203.0.113.1:${x}[$a:$o] gre(Appro: pptp-gre)" \
    has "Type: ASPF, +203\.0\.113\.2 -> 203\.0\.113\.1:$x\[$ra:$o\], .*protocol:gre\(Appro: pptp-gre\)" "$smap"
done
t_check "no address-only gre session (all GRE goes through the ALG)" lacks '^ *gre +VPN' "$sess"
t_check "server-map: 4 pptp-gre entries ($(grep -c 'pptp-gre' <<<"$smap"))" test "$(grep -c 'pptp-gre' <<<"$smap")" = 4
pptp_show $P "display firewall detect verbose"
pa=$(pptp_detect_counter $P parsed); op=$(pptp_detect_counter $P opened)
mal=$(pptp_detect_counter $P malformed); ref=$(pptp_detect_counter $P refused)
t_check "detect counters: parsed >= 8 ($pa), opened 4 ($op)" test "${pa:-0}" -ge 8 -a "${op:-0}" = 4
t_check "detect counters: malformed 0 ($mal), refused 0 ($ref)$(grep -m1 -o 'aspf pptp.*refused.*' /tmp/$P-fwd.log | sed 's/^/; fwd log: /')" \
  test "${mal:-x}" = 0 -a "${ref:-x}" = 0

echo "teardown: SIGTERM to both clients"
nat_cap_start $P out eth0 $PD/down.pcap 0 "tcp port 1723"; cap_down=$NAT_CAP_PID
t0=$(date +%s.%N)
pptp_stop_client $c1; pptp_stop_client $c2
for n in 1 2; do
  t_check "client $n: pptp exited 0 on SIGTERM ($(grep EXIT $PD/client-$n.log | cut -d' ' -f2-))" \
    grep -q 'EXIT signal pptp rc 0' $PD/client-$n.log
done
# Issue 5 (teardown): Call-Clear-Request, Call-Disconnect-Notify, Stop-Control-Connection or the end
# of the control session remove the call's entries. pptp sends Call-Clear-Request and a FIN; pptpd
# answers with a FIN only. So the entries must go at once, not when the closed control session
# ages out (fin-rst, 10 s).
if pptp_wait_gre_entries $P 0 15; then gone_after=$(since $t0); else gone_after=; fi
t_check "server-map: pptp-gre entries gone after the clients stopped (within 15 s: ${gone_after:-no, $(pptp_gre_entries $P) left})" \
  test -n "$gone_after"
t_check "server-map: ... and at once, within 3 s, on Call-Clear-Request / the control connection's FIN (${gone_after:-never} s)" \
  awk -v t="${gone_after:-99}" 'BEGIN { exit !(t <= 3) }'
both_ended() { pptp_wait_count "$s1" "^[0-9.]+ EXIT" 1 5 && pptp_wait_count "$s2" "^[0-9.]+ EXIT" 1 5; }
t_check "pptpd ended both calls (stand-ins saw their pty close)" both_ended
nat_cap_stop $cap_down
down=$(pptp_cap_calls $PD/down.pcap); echo "$down" | sed 's/^/    | /'
for i in 1 2; do
  t_check "outside: Call-Clear-Request for call id ${X[$i]}" grep -qx "203.0.113.1 12 ${X[$i]} -" <<<"$down"
done
gone=1
for ((i = 0; i < 75; i++)); do
  fwcli_run $P "display firewall session table" 2>/dev/null | grep -Eq '^ *(pptp-)?gre ' || { gone=0; break; }
  sleep 0.2
done
t_check "GRE sessions aged out within 15 s (aging-time gre 8; after $(since $t0) s)" test $gone = 0
pptp_show $P "display firewall session table"
t_check "fwd still running" lab_pid_alive "$FWD_PID"
((T_FAIL)) && pptp_dump_logs $P
t_done
