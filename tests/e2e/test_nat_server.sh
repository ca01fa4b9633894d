#!/usr/bin/env bash
# NAT server: HTTP (tcp 203.0.113.110:8080 -> 198.18.2.2:80) and UDP (203.0.113.110:5353 ->
# 198.18.2.2:53) reached from the outside host (which has no route to 198.18/16); the security
# policy matches the private address; sessions show `global[inside]`; static Nat Server / Nat
# Server Reverse server-map entries; the dmz server's own outbound connections leave with the
# global address (reverse beats nat-policy), with no-reverse they do not; a second server on
# the same global address/port is refused; `undo nat server name`; address-only form; removing
# an address-group in use is refused; global addresses gone after SIGTERM.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-natsrv
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
t_check "security rules (untrust->dmz to the PRIVATE 198.18.2.2, dmz->untrust) configured" nat_cfg_ok $P \
  "security-policy; rule name to-web; source-zone untrust; destination-zone dmz;" \
  "destination-address 198.18.2.2 32; action permit; quit;" \
  "rule name dmz-out; source-zone dmz; destination-zone untrust; action permit"
t_check "nat server web (tcp 8080->80) and dns (udp 5353->53) configured" nat_cfg_ok $P \
  "nat server web protocol tcp global 203.0.113.110 8080 inside 198.18.2.2 80;" \
  "nat server dns protocol udp global 203.0.113.110 5353 inside 198.18.2.2 53"
# A nat-policy that would send dmz traffic out with easy-ip: the reverse entry must win.
t_check "nat-policy easy-ip for dmz->untrust configured" nat_cfg_ok $P \
  "nat-policy; rule name dmz-ez; source-zone dmz; destination-zone untrust; action source-nat easy-ip"

www=/tmp/$P-www; mkdir -p $www
head -c 200000 /dev/urandom | base64 >$www/blob.txt
want=$(sha256sum <$www/blob.txt | cut -d' ' -f1)
nat_http_server $P dmz 198.18.2.2 80 $www || t_fail "http server in $P-dmz"
nat_echo_server $P dmz 198.18.2.2 53 udp || t_fail "udp echo server on 198.18.2.2:53"
nat_http_server $P out 203.0.113.2 80 $www || t_fail "http server in $P-out"
cap=/tmp/$P-out.pcap
nat_cap_start $P out eth0 $cap 128 || t_fail "capture on the outside host"
cap_pid=$NAT_CAP_PID

echo "inbound through the NAT server"
t_check "HTTP outside -> 203.0.113.110:8080 reaches the dmz server, content intact" \
  test "$(nat_http_get $P out http://203.0.113.110:8080/blob.txt)" = "$want"
t_check "UDP outside -> 203.0.113.110:5353: 10/10 answered from 203.0.113.110:5353 (connected socket)" \
  nat_udp_echo $P out 203.0.113.110 5353 10
dsrc=$(sed -nE 's/^([0-9.]+) - - \[.*"GET .*/\1/p' /tmp/$P-http-dmz-80.log | sort -u | tr '\n' ' ')
t_check "dmz server log: the client is 203.0.113.2 (no source NAT inbound) ($dsrc)" test "$dsrc" = "203.0.113.2 "
sess=$(nat_sessions $P destination inside 198.18.2.2)
echo "$sess" | sed 's/^/    /'
t_check "session: 203.0.113.2:P --> 203.0.113.110:8080[198.18.2.2:80]" \
  grep -Eq '^ (http|tcp)  VPN: public --> public  203\.0\.113\.2:[0-9]+ --> 203\.0\.113\.110:8080\[198\.18\.2\.2:80\]$' <<<"$sess"
t_check "session: 203.0.113.2:P --> 203.0.113.110:5353[198.18.2.2:53]" \
  grep -Eq '^ (dns|udp)  VPN: public --> public  203\.0\.113\.2:[0-9]+ --> 203\.0\.113\.110:5353\[198\.18\.2\.2:53\]$' <<<"$sess"
t_check "filter 'destination global 203.0.113.110' shows them" \
  grep -q '203.0.113.110:8080\[198.18.2.2:80\]' <<<"$(nat_sessions $P destination global 203.0.113.110)"
v=$(fwcli_run $P "display firewall session table verbose destination inside 198.18.2.2")
t_check "verbose: Zone: untrust --> dmz, PolicyName: to-web" \
  bash -c 'grep -q "Zone: untrust --> dmz" <<<"$1" && grep -q "PolicyName: to-web" <<<"$1"' _ "$v"
t_check "ping 203.0.113.110 (tcp/udp servers only) is not answered" lab_ping_none $P out 203.0.113.110 2

sm=$(fwcli_run $P "display firewall server-map")
echo "$sm" | sed 's/^/    /'
# web and dns share one inside/global pair: one Nat Server Reverse line (as VRP), counter: 2.
t_check "server-map: Current Total Server-map : 3" grep -q '^ Current Total Server-map : 3$' <<<"$sm"
t_check "server-map: Type: Nat Server,  ANY -> 203.0.113.110:8080[198.18.2.2:80] ... protocol:tcp" \
  grep -Eq '^ Type: Nat Server,  ANY -> 203\.0\.113\.110:8080\[198\.18\.2\.2:80\],.*protocol:tcp' <<<"$sm"
t_check "server-map: Type: Nat Server,  ANY -> 203.0.113.110:5353[198.18.2.2:53] ... protocol:udp" \
  grep -Eq '^ Type: Nat Server,  ANY -> 203\.0\.113\.110:5353\[198\.18\.2\.2:53\],.*protocol:udp' <<<"$sm"
t_check "server-map: Type: Nat Server Reverse,  198.18.2.2[203.0.113.110] -> ANY ... protocol:--- / counter: 2" \
  grep -Fq 'Type: Nat Server Reverse,  198.18.2.2[203.0.113.110] -> ANY,  Zone:---,  protocol:---,  Left-Time:---| Vpn: public -> public,  counter: 2|' <<<"$(tr '\n' '|' <<<"$sm")"
st=$(fwcli_run $P "display firewall server-map statistic")
t_check "server-map statistic: total 3, Nat Server 2, Nat Server Reverse 1" \
  bash -c 'grep -Eq "^ Current Total Server-map : 3$" <<<"$1" && grep -Eq "^  Type: Nat Server +: 2$" <<<"$1" && grep -Eq "^  Type: Nat Server Reverse +: 1$" <<<"$1"' _ "$st"
t_check "server-map: static entries show Left-Time:---" grep -q 'Type: Nat Server,.*Left-Time:---' <<<"$sm"
t_check "server-map nat-server lists the same 3" grep -q '^ Current Total Server-map : 3$' <<<"$(fwcli_run $P "display firewall server-map nat-server")"
t_check "server-map dynamic lists none" grep -q '^ Current Total Server-map : 0$' <<<"$(fwcli_run $P "display firewall server-map dynamic")"
ns=$(fwcli_run $P "display nat server")
t_check "display nat server: web and dns with their addresses" \
  bash -c 'grep -Eq "Name +: web" <<<"$1" && grep -Eq "Name +: dns" <<<"$1" && grep -Eq "Global-addr +: 203.0.113.110" <<<"$1" && grep -Eq "Inside-addr +: 198.18.2.2" <<<"$1"' _ "$ns"

echo "the dmz server's own outbound connections (Nat Server Reverse)"
t_check "HTTP dmz -> outside works" test "$(nat_http_get $P dmz http://203.0.113.2/blob.txt)" = "$want"
osrc=$(sed -nE 's/^([0-9.]+) - - \[.*"GET .*/\1/p' /tmp/$P-http-out-80.log | sort -u | tr '\n' ' ')
t_check "outside log: the dmz server appears as 203.0.113.110 (not easy-ip .1) ($osrc)" test "$osrc" = "203.0.113.110 "
t_check "session: 198.18.2.2:P[203.0.113.110:P'] --> 203.0.113.2:80" \
  grep -Eq '198\.18\.2\.2:[0-9]+\[203\.0\.113\.110:[0-9]+\] --> 203\.0\.113\.2:80$' <<<"$(nat_sessions $P source inside 198.18.2.2)"

echo "conflicts and removal"
out=$(nat_cfg $P "nat server web2 protocol tcp global 203.0.113.110 8080 inside 198.18.2.2 81" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
t_check "second server on 203.0.113.110:8080 refused: fwcli exits 1 with an Error line" \
  bash -c '[[ $1 == 1 ]] && grep -q "^Error" <<<"$2"' _ $rc "$out"
t_check "... and it is not in the configuration" bash -c '! grep -q "web2" <<<"$1"' _ "$(fwcli_run $P "display current-configuration")"
t_check "a server on another port of the same global address is accepted" nat_cfg_ok $P \
  "nat server web3 protocol tcp global 203.0.113.110 8081 inside 198.18.2.2 80"
t_check "HTTP via 203.0.113.110:8081 works" test "$(nat_http_get $P out http://203.0.113.110:8081/blob.txt)" = "$want"
t_check "undo nat server name web3" nat_cfg_ok $P "undo nat server name web3"
t_check "undo nat server name web" nat_cfg_ok $P "undo nat server name web"
t_check "server-map has no 203.0.113.110:8080 entry any more" \
  bash -c '! grep -q "203.0.113.110:8080" <<<"$1"' _ "$(fwcli_run $P "display firewall server-map")"
t_check "display nat server no longer lists web" bash -c '! grep -Eq "Name +: web$" <<<"$1"' _ "$(fwcli_run $P "display nat server")"
t_check "HTTP to 203.0.113.110:8080 fails now" test -z "$(nat_http_get $P out http://203.0.113.110:8080/blob.txt -m 3 | grep -v e3b0c442)"

echo "no-reverse"
t_check "nat server web again with no-reverse; dns removed" nat_cfg_ok $P \
  "undo nat server name dns; nat server web protocol tcp global 203.0.113.110 8080 inside 198.18.2.2 80 no-reverse;" \
  "nat-policy; undo rule name dmz-ez"
sm=$(fwcli_run $P "display firewall server-map")
t_check "server-map: Nat Server entry, no Reverse entry" \
  bash -c 'grep -q "Type: Nat Server,  ANY -> 203.0.113.110:8080" <<<"$1" && ! grep -q "Nat Server Reverse" <<<"$1"' _ "$sm"
t_check "inbound HTTP still works" test "$(nat_http_get $P out http://203.0.113.110:8080/blob.txt)" = "$want"
n0=$(grep -c 'GET' /tmp/$P-http-out-80.log)
t_check "dmz -> outside HTTP now fails (untranslated 198.18.2.2 has no way back)" \
  test -z "$(ip netns exec $P-dmz curl -s -m 3 -o /dev/null -w '%{http_code}' http://203.0.113.2/blob.txt | grep 200)"
t_check "... the outside server got no new request from 203.0.113.110" test "$(grep -c 'GET' /tmp/$P-http-out-80.log)" = "$n0"
t_check "a session 198.18.2.2:P --> 203.0.113.2:80 without translation exists" \
  grep -Eq '  198\.18\.2\.2:[0-9]+ --> 203\.0\.113\.2:80$' <<<"$(nat_sessions $P source inside 198.18.2.2)"

echo "address-only NAT server"
t_check "nat server host global 203.0.113.111 inside 198.18.2.2" nat_cfg_ok $P "nat server host global 203.0.113.111 inside 198.18.2.2"
t_check "ping 203.0.113.111 from outside is answered" lab_ping $P out 203.0.113.111
t_check "HTTP to 203.0.113.111:80 reaches the dmz server" test "$(nat_http_get $P out http://203.0.113.111/blob.txt)" = "$want"
t_check "server-map: Nat Server ANY -> 203.0.113.111[198.18.2.2], protocol:--- (address-only)" \
  grep -Eq 'Type: Nat Server,  ANY -> 203\.0\.113\.111\[198\.18\.2\.2\],  Zone:---,  protocol:---,' <<<"$(fwcli_run $P "display firewall server-map nat-server")"
out=$(nat_cfg $P "nat server host2 global 203.0.113.112 inside 198.18.2.2" 2>&1); rc=$?
t_check "a second global address for 198.18.2.2 without no-reverse is refused (rc $rc): $out" \
  bash -c '[[ $1 != 0 ]] && grep -qF "Error: The inside ip has been used, please modify it." <<<"$2"' _ $rc "$out"

echo "removing an address-group in use"
t_check "group g1 and a nat-policy rule using it configured" nat_cfg_ok $P \
  "nat address-group g1; mode pat; section 0 203.0.113.105 203.0.113.106; quit;" \
  "nat-policy; rule name use-g1; source-zone trust; destination-zone untrust; action source-nat address-group g1"
out=$(nat_cfg $P "undo nat address-group g1" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
t_check "undo nat address-group g1 refused (rc $rc) with an Error naming the group and the rule" \
  bash -c '[[ $1 != 0 ]] && grep -q "^Error.*g1" <<<"$2" && grep -q "use-g1" <<<"$2"' _ $rc "$out"
t_check "... g1 still configured" grep -q "nat address-group g1" <<<"$(fwcli_run $P "display current-configuration")"
t_check "after removing the rule, undo nat address-group g1 works" nat_cfg_ok $P \
  "nat-policy; undo rule name use-g1; quit; undo nat address-group g1"

nat_cap_stop $cap_pid
leak=$(nat_cap_count $cap 'ip.src == 198.18.2.2 && tcp.flags.syn == 0')
t_check "outside capture: 198.18.2.2 only in the no-reverse SYNs, never in established traffic ($leak)" test "$leak" -eq 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
fwd_stop $P; rc=$?
t_check "fwd exits 0 on SIGTERM ($rc)" test $rc -eq 0
t_check "after SIGTERM: no 203.0.113.110/32 or .111/32 on out0" \
  bash -c '! ip -n $1-fw -4 addr show | grep -Eq "203\.0\.113\.11[01]/32"' _ $P
t_done
