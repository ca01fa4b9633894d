#!/usr/bin/env bash
# "halfopen" area (issue 16 item 2): half-open TCP sessions limited per destination, the oldest
# dropped first. With `anti-ddos syn-flood half-open-limit 200` in the untrust zone, a
# random-source SYN flood from the outside host (hping3, ~2,000/s for 3 s: spoofed sources that
# never complete a handshake) against the permitted dmz web server: the half-open count never
# exceeds 200 and reaches it, the oldest are dropped (counted `Half-open sessions dropped`), the
# session table holds at most 200 (+ a real client's) sessions to the server; a real curl from
# the outside host connects during the flood; `display anti-ddos statistics` shows the half-open
# attack and fwd's log its start and, 5 s after the flood, its end. 9 s.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-ho
t_require_root
t_require_bins fwd fwcli
command -v hping3 >/dev/null || { t_fail "hping3 not installed (scripts/deps)"; t_done; }
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P; rm -rf /tmp/$P-www' EXIT
lab_out_route_dmz $P
www=/tmp/$P-www; mkdir -p $www; echo halfopen-ok >$www/index.txt
lab_http_server $P dmz 198.18.2.2 80 $www || t_fail "http server in the dmz"
rm -f /tmp/$P.db
log0=$(wc -l </tmp/$P-fwd.log 2>/dev/null || echo 0)
fwd_start $P || { t_fail "fwd starts"; t_done; }
flog() { tail -n +$((log0 + 1)) /tmp/$P-fwd.log; }  # this run's part of fwd's log
cfg() { fwcli_run $P "system-view; $*; return" >/tmp/$P-cli.out 2>&1 || { cat /tmp/$P-cli.out; return 1; }; }
t_check "permit untrust -> dmz web, anti-ddos syn-flood half-open-limit 200 in untrust" \
  cfg "security-policy; rule name web-in; source-zone untrust; destination-zone dmz; destination-address 198.18.2.2 32; service http; action permit; quit; quit; firewall zone untrust; anti-ddos syn-flood half-open-limit 200; quit"
t_check "current-configuration: the zone's half-open-limit" \
  grep -q '^ anti-ddos syn-flood half-open-limit 200$' <(fwcli_run $P "display current-configuration")
half_open() { fwcli_run $P "display anti-ddos statistics" | sed -nE 's/^ +Half-open sessions now +: ([0-9]+)$/\1/p'; }

lab_bg $P out /tmp/$P-hping.log timeout 3 hping3 -q -S --rand-source -p 80 -i u500 198.18.2.2
hp=$LAB_BG_PID
counts=()
for i in 1 2 3; do sleep 0.4; counts+=("$(half_open)"); done
t0=$(date +%s%N)
body=$(ip netns exec $P-out curl -s -m 5 http://198.18.2.2/index.txt)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
during=$(fwcli_run $P "display anti-ddos statistics")
counts+=("$(half_open)")
wait $hp 2>/dev/null
counts+=("$(half_open)")
n=$(fwcli_run $P "display firewall session table" | grep -c '198.18.2.2:80')
dropped=$(fw_stat $P "Half-open sessions dropped")
echo "$during" | sed 's/^/    /'
echo "    half-open counts during the flood: ${counts[*]}; sessions to 198.18.2.2:80 after: $n;" \
  "dropped: ${dropped:-0}; curl outside -> dmz during it: ${ms} ms"
max=0; over=0
for c in "${counts[@]}"; do
  [ -n "$c" ] || c=9999
  [ "$c" -gt "$max" ] && max=$c
  [ "$c" -gt 200 ] && over=1
done
t_check "the half-open count never exceeded the limit (${counts[*]})" test "$over" -eq 0
t_check "... and reached it (max $max = 200)" test "$max" -eq 200
t_check "the oldest were dropped by the thousands (${dropped:-0} > 2000)" test "${dropped:-0}" -gt 2000
t_check "the session table holds at most 201 sessions to the server ($n)" test "$n" -le 201
t_check "curl outside -> dmz during the flood works" test "$body" = halfopen-ok
t_check "... within 2 s (${ms} ms)" test "$ms" -lt 2000
t_check "display: half-open under attack, target 198.18.2.2" \
  grep -Eq '^ +half-open +attack +1 .* 198\.18\.2\.2$' <<<"$during"
t_check "log: the attack started" \
  grep -q "anti-ddos: half-open attack started: 198.18.2.2 has 200 half-open sessions" <(flog)
for _ in $(seq 1 40); do
  flog | grep -q "half-open attack ended" && break
  sleep 0.2
done
t_check "log: the attack ended 5 s after the flood, with its evictions" \
  grep -Eq "anti-ddos: half-open attack ended: [0-9]+ half-open sessions dropped in [0-9]+ s" <(flog)
# The event log is written by its own thread: the ATTACK_END record may follow fwd's log line.
for _ in $(seq 1 20); do
  lb=$(fwcli_run $P "display logbuffer")
  grep -q 'ATTACK_END.*AttackType=half-open' <<<"$lb" && break
  sleep 0.2
done
t_check "event log: ATTACK_START of half-open, HalfOpenLimit=200" \
  grep -q 'ATTACK_START.*AttackType=half-open,DestinationIP=198.18.2.2,HalfOpenLimit=200' <<<"$lb"
echo "$lb" | grep ATTACK | sed "s/^/    lb: /"
t_check "event log: ATTACK_END of half-open" grep -q 'ATTACK_END.*AttackType=half-open,EvictedSessions=' <<<"$lb"
t_done
