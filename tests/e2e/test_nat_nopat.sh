#!/usr/bin/env bash
# Source NAT with an address-group in no-PAT mode: each inside host gets its own pool address
# (ports kept) for as long as it has sessions, shown as dynamic No-Pat server-map entries and
# address-group bindings; once the sessions age out the bindings and entries are gone. Pool
# exhaustion: a no-PAT group with ONE address and two inside hosts: the second host's new flows
# are dropped and counted ("Dropped nat-pool-exhausted") while the first keeps working, and the
# second gets the address once the first's sessions aged.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-natnopat
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
t_check "short aging configured" nat_aging $P
t_check "address-group np (no-pat, .100-.101) and nat-policy configured" nat_cfg_ok $P \
  "nat address-group np; mode no-pat global; section 0 203.0.113.100 203.0.113.101; quit;" \
  "nat-policy; rule name nopat; source-zone trust; destination-zone untrust; action source-nat address-group np"

www=/tmp/$P-www; mkdir -p $www
head -c 100000 /dev/urandom | base64 >$www/blob.txt
want=$(sha256sum <$www/blob.txt | cut -d' ' -f1)
cap=/tmp/$P-out.pcap
nat_cap_start $P out eth0 $cap 128 || t_fail "capture on the outside host"
cap_pid=$NAT_CAP_PID
nat_http_server $P out 203.0.113.2 80 $www || t_fail "http server in $P-out"
nat_echo_server $P out 203.0.113.2 7000 tcp || t_fail "tcp echo server in $P-out"
nat_echo_server $P out 203.0.113.2 7001 udp || t_fail "udp echo server in $P-out"

echo "one pool address per inside host, ports kept"
declare -A addr
for h in in in2; do
  sp=$([[ $h == in ]] && echo 45001 || echo 45002)
  lab_bg $P $h /tmp/$P-tcpc-$h.log "$LAB_PY" "$LAB_REPO/tests/e2e/peer.py" tcp-client --to 203.0.113.2 --port 7000 \
    --src-port $sp --interval 0.2 --duration 5 --status /tmp/$P-tcpc-$h.status
  eval "tcpc_$h=$LAB_BG_PID"
  nat_wait_for 5 grep -Eqs '^[1-9]' /tmp/$P-tcpc-$h.status || t_fail "long-lived TCP client in $h runs"
  peer=$(ip netns exec $P-out ss -Htn state established "sport = :7000" | awk '{print $4}' | grep ":$sp\$")
  addr[$h]=${peer%:*}
  t_check "$h: outside sees ${peer:-nothing} (a pool address, source port $sp kept)" \
    bash -c '[[ $1 =~ ^203\.0\.113\.10[01]:$2$ ]]' _ "$peer" "$sp"
  t_check "$h: HTTP content intact" test "$(nat_http_get $P $h http://203.0.113.2/blob.txt --local-port 46000-46100)" = "$want"
  t_check "$h: UDP echo 10/10" nat_udp_echo $P $h 203.0.113.2 7001 10
  t_check "$h: ping" lab_ping $P $h 203.0.113.2
done
t_check "the two hosts have different pool addresses (${addr[in]} / ${addr[in2]})" \
  test -n "${addr[in]}" -a -n "${addr[in2]}" -a "${addr[in]}" != "${addr[in2]}"
for h in in in2; do
  ip=$([[ $h == in ]] && echo 198.18.1.2 || echo 198.18.1.3)
  # Every GET of host h in the outside server's log comes from its one address.
  n=$(sed -nE 's/^([0-9.]+) - - \[.*"GET .*/\1/p' /tmp/$P-http-out-80.log | grep -c "^${addr[$h]:-none}\$")
  t_check "$h: its HTTP request came from its own pool address ${addr[$h]:-?} ($n)" test "$n" -ge 1
  t_check "$h: every session of $ip uses ${addr[$h]:-?}" \
    bash -c '[[ -n $1 ]] && ! grep -v "\[$2:" <<<"$1" | grep -q .' _ "$(nat_sessions $P source inside $ip)" "${addr[$h]:-none}"
done
sm=$(fwcli_run $P "display firewall server-map no-pat")
echo "$sm" | sed 's/^/    /'
t_check "server-map no-pat: Type: No-Pat,  198.18.1.2[${addr[in]:-?}] -> ANY" grep -Fq "Type: No-Pat,  198.18.1.2[${addr[in]:-?}] -> ANY" <<<"$sm"
t_check "server-map no-pat: Type: No-Pat,  198.18.1.3[${addr[in2]:-?}] -> ANY" grep -Fq "Type: No-Pat,  198.18.1.3[${addr[in2]:-?}] -> ANY" <<<"$sm"
t_check "server-map no-pat: Current Total Server-map >= 2" \
  bash -c '[[ $(sed -nE "s/^ Current Total Server-map : ([0-9]+)$/\1/p" <<<"$1") -ge 2 ]]' _ "$sm"
t_check "server-map dynamic lists the No-Pat entries too" grep -q "Type: No-Pat" <<<"$(fwcli_run $P "display firewall server-map dynamic")"
t_check "server-map static does not" bash -c '! grep -q "No-Pat" <<<"$1"' _ "$(fwcli_run $P "display firewall server-map static")"
grp=$(fwcli_run $P "display nat address-group np")
echo "$grp" | sed 's/^/    /'
t_check "display nat address-group np: mode no-pat and both bindings" \
  bash -c 'grep -Eq "Mode +: no-pat" <<<"$1" && grep -q "198.18.1.2" <<<"$1" && grep -q "198.18.1.3" <<<"$1"' _ "$grp"
for h in in in2; do
  pid_var=tcpc_$h
  lab_wait_exit ${!pid_var} 15; wait ${!pid_var}; rc=$?
  t_check "$h: long-lived TCP flow without a stall (rc $rc)" test $rc -eq 0
done

echo "bindings and entries go when the sessions age"
nopat_gone() { ! fwcli_run $P "display firewall server-map no-pat" | grep -q "No-Pat"; }
t_check "No-Pat server-map entries gone after aging (bounded 30 s)" nat_wait_for 30 nopat_gone
t_check "Current Total Server-map : 0" grep -q "Current Total Server-map : 0" <<<"$(fwcli_run $P "display firewall server-map no-pat")"
grp=$(fwcli_run $P "display nat address-group np")
t_check "address-group np shows no binding any more" bash -c '! grep -q "198\.18\." <<<"$1"' _ "$grp"

echo "exhaustion: a no-pat group with one address, two hosts"
t_check "group np1 (one address .102) and rule switched to it" nat_cfg_ok $P \
  "nat address-group np1; mode no-pat global; section 0 203.0.113.102 203.0.113.102; quit;" \
  "nat-policy; rule name nopat; action source-nat address-group np1"
lab_bg $P in /tmp/$P-tcpc-ex.log "$LAB_PY" "$LAB_REPO/tests/e2e/peer.py" tcp-client --to 203.0.113.2 --port 7000 \
  --interval 0.2 --duration 6 --status /tmp/$P-tcpc-ex.status
tcpc=$LAB_BG_PID
nat_wait_for 5 grep -Eqs '^[1-9]' /tmp/$P-tcpc-ex.status || t_fail "first host's flow runs"
stats=$(fwcli_run $P "display firewall statistics")
t_check "statistics show a \"Dropped nat-pool-exhausted\" counter" grep -Eq "Dropped nat-pool-exhausted +: [0-9]+" <<<"$stats"
ex0=$(fw_stat $P "Dropped nat-pool-exhausted")
dr0=$(fw_stat $P "Packets dropped")
t_check "in2 (second host): HTTP fails, pool exhausted" test -z "$(ip netns exec $P-in2 curl -s -m 3 -o /dev/null -w '%{http_code}' http://203.0.113.2/blob.txt | grep 200)"
t_check_not "in2: UDP gets no answer" nat_udp_echo $P in2 203.0.113.2 7001 3
ex1=$(fw_stat $P "Dropped nat-pool-exhausted")
dr1=$(fw_stat $P "Packets dropped")
t_check "\"Dropped nat-pool-exhausted\" grew (${ex0:-absent} -> ${ex1:-absent})" test "${ex1:-0}" -gt "${ex0:-0}"
t_check "\"Packets dropped\" grew ($dr0 -> $dr1)" test "${dr1:-0}" -gt "${dr0:-0}"
t_check "in (first host) still works meanwhile: HTTP" test "$(nat_http_get $P in http://203.0.113.2/blob.txt)" = "$want"
lab_wait_exit $tcpc 15; wait $tcpc; rc=$?
t_check "in: its long-lived flow ran on without a stall ($(cat /tmp/$P-tcpc-ex.status 2>/dev/null), rc $rc)" test $rc -eq 0
in2_http() { [[ $(ip netns exec $P-in2 curl -sS -f -m 2 http://203.0.113.2/blob.txt 2>/dev/null | sha256sum | cut -d' ' -f1) == "$want" ]]; }
t_check "in2 gets the address once in's sessions aged (bounded 30 s)" nat_wait_for 30 in2_http
t_check "... and it is .102" grep -Fq "Type: No-Pat,  198.18.1.3[203.0.113.102] -> ANY" <<<"$(fwcli_run $P "display firewall server-map no-pat")"

nat_cap_stop $cap_pid
leak=$(nat_cap_count $cap 'ip.addr == 198.18.0.0/16')
outs=$(nat_cap_read $cap 'ip.dst == 203.0.113.2' ip.src | sort -u | tr '\n' ' ')
t_check "outside capture: no 198.18. address at all ($leak packets)" test "$leak" -eq 0
t_check "outside capture: every source towards 203.0.113.2 is in the pools ($outs)" nat_addrs_in_pool "$outs" 100 102
t_check "fwd still running" lab_pid_alive "$FWD_PID"
fwd_stop $P; rc=$?
t_check "fwd exits 0 on SIGTERM ($rc)" test $rc -eq 0
t_check "after SIGTERM: no pool address left on out0" bash -c '! ip -n $1-fw -4 addr show | grep -q "203\.0\.113\.10[0-2]/32"' _ $P
t_done
