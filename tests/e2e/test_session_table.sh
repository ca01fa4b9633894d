#!/usr/bin/env bash
# The session table while long-lived flows run: the right tuples, every display filter includes /
# excludes them correctly (also source-port, destination-port, policy, protocol number), the IPv6
# table, the statistics counts, verbose output, aging-time; reset (filtered, then all) cuts
# exactly the matching live flows (their next segments are not SYNs and are dropped).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-sess
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
PEER="$LAB_REPO/tests/e2e/peer.py"
lab_echo_server $P out :: 7000 tcp || t_fail "tcp echo server :7000"
lab_echo_server $P out :: 80 tcp || t_fail "tcp echo server :80"
lab_echo_server $P out :: 7001 udp || t_fail "udp echo server :7001"

# client NAME DST DPORT SPORT: a long-lived request/response flow from the inside host.
declare -A CPID
client() {
  rm -f /tmp/$P-$1.st  # a status file left by an earlier run would read as progress at once
  lab_bg $P in /tmp/$P-client-$1.log "$LAB_PY" "$PEER" tcp-client --to $2 --port $3 --src-port $4 \
    --interval 0.2 --timeout 2 --duration 150 --status /tmp/$P-$1.st
  CPID[$1]=$LAB_BG_PID
}
progress() { local s; s=$(cat /tmp/$P-$1.st 2>/dev/null); [[ $s =~ ^[0-9]+$ ]] && echo "$s" || echo -1; }
# advancing NAME: the flow is connected and completes >= 3 more round trips within 5 s.
advancing() {
  local start i
  for ((i = 0; i < 50; i++)); do
    start=$(progress $1); ((start >= 0)) && break; sleep 0.1
  done
  ((start >= 0)) || return 1
  for ((i = 0; i < 50; i++)); do
    (($(progress $1) >= start + 3)) && return 0
    sleep 0.1
  done
  return 1
}
# stalled NAME: the client gives up (exit 3, "STALL") within 10 s.
stalled() {
  local pid=${CPID[$1]} rc=0
  lab_wait_exit $pid 10 || return 1
  wait $pid 2>/dev/null || rc=$?
  ((rc == 3))
}
# Tuples are matched with either arrow: whether "+->" (ALG opened server-map entries) is right
# is checked once, separately.
table_raw() { fwcli_run $P "display firewall session table $*"; }
table() { table_raw "$@" | sed 's/ +-> / --> /'; }
has() { local f=$1 t=$2; grep -qF -- "$t" <<<"$(table $f)"; }
A="198.18.1.2:40001 --> 203.0.113.2:7000"
B="198.18.1.2:40002 --> 203.0.113.2:80"
C="2001:db8:1::2.40003 --> 2001:db8:3::2.7000"
U="198.18.1.2:40004 --> 203.0.113.2:7001"

client A 203.0.113.2 7000 40001
client B 203.0.113.2 80 40002
client C 2001:db8:3::2 7000 40003
ip netns exec $P-in "$LAB_PY" "$PEER" udp-client --to 203.0.113.2 --port 7001 --src-port 40004 --count 3 >/dev/null \
  || t_fail "udp exchange"
t_check "flow A (tcp/7000) runs" advancing A
t_check "flow B (tcp/80) runs" advancing B
t_check "flow C (tcp/7000 over IPv6) runs" advancing C
ip netns exec $P-in ping -c 1 -W 1 203.0.113.2 >/dev/null 2>&1

raw=$(table_raw)
all=$(sed 's/ +-> / --> /' <<<"$raw")
t_check "no session shows +-> (no ALG involved)" test -z "$(grep -F -- ' +-> ' <<<"$raw")"
echo "$raw" | sed 's/^/    /'
total=$(sed -nE 's/^[[:space:]]*Current Total Sessions[[:space:]]*:[[:space:]]*([0-9]+).*/\1/p' <<<"$all" | head -n1)
t_check "first line: Current Total Sessions : N (N=$total >= 5)" test "${total:-0}" -ge 5
t_check "first line is the total" grep -Eq '^[[:space:]]*Current Total Sessions[[:space:]]*:' <<<"$(head -n1 <<<"$all")"
for t in "$A" "$B" "$C" "$U"; do t_check "session listed: $t" grep -qF -- "$t" <<<"$all"; done
t_check "flow A is shown as tcp" \
  grep -Eq "^[[:space:]]*tcp[[:space:]]+VPN: public --> public[[:space:]]+198\.18\.1\.2:40001 --> " <<<"$all"
t_check "the UDP flow is shown as udp" \
  grep -Eq "^[[:space:]]*udp[[:space:]]+VPN: public --> public[[:space:]]+198\.18\.1\.2:40004 --> " <<<"$all"
t_check "flow B is shown as http with VPN: public --> public" \
  grep -Eq "^[[:space:]]*http[[:space:]]+VPN: public --> public[[:space:]]+198\.18\.1\.2:40002 --> 203\.0\.113\.2:80" <<<"$all"
t_check "ICMP echo session listed (icmp ... --> 203.0.113.2:)" \
  grep -Eq "^[[:space:]]*icmp[[:space:]]+VPN: public --> public[[:space:]]+198\.18\.1\.2:[0-9]+ --> 203\.0\.113\.2:[0-9]+" <<<"$all"

echo "filters"
t_check "source inside 198.18.1.2 includes A" has "source inside 198.18.1.2" "$A"
t_check "source inside 198.18.1.3 excludes A" test -z "$(table source inside 198.18.1.3 | grep -F -- "$A")"
t_check "source inside 2001:db8:1::2 includes C" has "source inside 2001:db8:1::2" "$C"
t_check "source inside 2001:db8:1::2 excludes A" test -z "$(table source inside 2001:db8:1::2 | grep -F -- "$A")"
t_check "destination inside 203.0.113.2 includes A" has "destination inside 203.0.113.2" "$A"
t_check "destination inside 203.0.113.9 excludes A" test -z "$(table destination inside 203.0.113.9 | grep -F -- "$A")"
t_check "protocol tcp includes A" has "protocol tcp" "$A"
t_check "protocol tcp excludes the UDP session" test -z "$(table protocol tcp | grep -F -- "$U")"
t_check "protocol udp includes the UDP session" has "protocol udp" "$U"
t_check "protocol udp excludes A" test -z "$(table protocol udp | grep -F -- "$A")"
t_check "protocol icmp excludes A" test -z "$(table protocol icmp | grep -F -- "$A")"
t_check "source-zone trust includes A" has "source-zone trust" "$A"
t_check "source-zone untrust excludes A" test -z "$(table source-zone untrust | grep -F -- "$A")"
t_check "destination-zone untrust includes A" has "destination-zone untrust" "$A"
t_check "destination-zone dmz excludes A" test -z "$(table destination-zone dmz | grep -F -- "$A")"
t_check "application http includes B" has "application http" "$B"
t_check "application http excludes A" test -z "$(table application http | grep -F -- "$A")"
t_check "combined (protocol tcp source inside 198.18.1.2 destination-zone untrust) includes A and B" \
  bash -c 'o=$1; grep -qF -- "$2" <<<"$o" && grep -qF -- "$3" <<<"$o"' _ \
  "$(table protocol tcp source inside 198.18.1.2 destination-zone untrust)" "$A" "$B"
t_check "combined (protocol tcp source-zone dmz) excludes A" test -z "$(table protocol tcp source-zone dmz | grep -F -- "$A")"
t_check "source-port 40001 includes A" has "source-port 40001" "$A"
t_check "source-port 40001 excludes B" test -z "$(table source-port 40001 | grep -F -- "$B")"
t_check "destination-port 80 includes B" has "destination-port 80" "$B"
t_check "destination-port 80 excludes A" test -z "$(table destination-port 80 | grep -F -- "$A")"
t_check "protocol 6 (number) includes A" has "protocol 6" "$A"
t_check "protocol 6 excludes the UDP session" test -z "$(table protocol 6 | grep -F -- "$U")"
t_check "protocol 17 includes the UDP session" has "protocol 17" "$U"
t_check "policy trust-to-untrust includes A" has "policy trust-to-untrust" "$A"
t_check "policy nosuch excludes A" test -z "$(table policy nosuch | grep -F -- "$A")"
v6=$(fwcli_run $P "display firewall ipv6 session table" | sed 's/ +-> / --> /')
t_check "ipv6 session table lists C" grep -qF -- "$C" <<<"$v6"
t_check "ipv6 session table has no IPv4 session (A, U)" test -z "$(grep -F -e "$A" -e "$U" <<<"$v6")"

echo "statistics"
st=$(fwcli_run $P "display firewall session table statistics")
echo "$st" | sed 's/^/    /'
# stat LABEL: the number after "LABEL  :" in the statistics.
stat() { sed -nE "s/^ *$1 *: ([0-9]+)$/\1/p" <<<"$st" | head -n1; }
t_check "statistics: total $(stat 'Current total sessions') >= 5, IPv6 $(stat 'Current IPv6 sessions') >= 1" \
  test "$(stat 'Current total sessions')" -ge 5 -a "$(stat 'Current IPv6 sessions')" -ge 1
t_check "statistics: tcp $(stat tcp) >= 3, udp $(stat udp) >= 1, icmp $(stat icmp) >= 1" \
  test "$(stat tcp)" -ge 3 -a "$(stat udp)" -ge 1 -a "$(stat icmp)" -ge 1
t_check "statistics: established $(stat established) >= 3, trust --> untrust $(stat 'trust --> untrust') >= 5" \
  test "$(stat established)" -ge 3 -a "$(stat 'trust --> untrust')" -ge 5

echo "verbose"
v1=$(table verbose source inside 198.18.1.2 application http)
echo "$v1" | sed 's/^/    /'
t_check "verbose: Zone: trust --> untrust  TTL: .. Left: .." grep -Eq "Zone: trust --> untrust[[:space:]]+TTL: [0-9]{2}:[0-9]{2}:[0-9]{2}[[:space:]]+Left: [0-9]{2}:[0-9]{2}:[0-9]{2}" <<<"$v1"
t_check "verbose: packet/byte counters both ways" grep -Eq "<--packets: *[1-9][0-9]* bytes: *[1-9][0-9]* +--> *packets: *[1-9][0-9]* bytes: *[1-9][0-9]*" <<<"$v1"
t_check "verbose: tuple line with PolicyName: trust-to-untrust" grep -Eq -- "198\.18\.1\.2:40002 --> 203\.0\.113\.2:80.*PolicyName: trust-to-untrust" <<<"$v1"
pk() { sed -nE 's/.*<--packets: *([0-9]+).*--> *packets: *([0-9]+).*/\1 \2/p' <<<"$1" | head -n1; }
sleep 1.5
v2=$(table verbose source inside 198.18.1.2 application http)
read -r r1 o1 <<<"$(pk "$v1")"; read -r r2 o2 <<<"$(pk "$v2")"
t_check "verbose: counters grow while the flow runs (--> $o1 -> $o2, <-- $r1 -> $r2)" \
  test "${o2:-0}" -gt "${o1:-0}" -a "${r2:-0}" -gt "${r1:-0}"

echo "reset"
t_check "reset firewall session table destination-zone dmz (matches nothing)" fwcli_run $P "reset firewall session table destination-zone dmz"
t_check "flow A unaffected" advancing A
t_check "flow B unaffected" advancing B
ns0=$(fw_stat $P "Dropped tcp-not-syn")
t_check "reset firewall session table source-port 40999 (matches nothing)" fwcli_run $P "reset firewall session table source-port 40999"
t_check "flow A unaffected by it" advancing A
t_check "reset firewall session table application http destination-port 80" fwcli_run $P "reset firewall session table application http destination-port 80"
t_check "flow B (http) is cut: client stalls" stalled B
t_check "flow A (not http) keeps running" advancing A
t_check "flow C keeps running" advancing C
t_check "B is gone from the table" test -z "$(table | grep -F -- "$B")"
ns1=$(fw_stat $P "Dropped tcp-not-syn")
t_check "B's later segments were dropped as tcp-not-syn ($ns0 -> $ns1)" test "${ns1:-0}" -gt "${ns0:-0}"
t_check "reset firewall session table" fwcli_run $P "reset firewall session table"
t_check "flow A is cut" stalled A
t_check "flow C is cut" stalled C
t_check "A is gone from the table" test -z "$(table | grep -F -- "$A")"

echo "aging-time"
t_check "firewall session aging-time tcp 30" fwcli_run $P "system-view; firewall session aging-time tcp 30"
t_check "display firewall session aging-time shows tcp: default 1200, configured 30" \
  grep -Eq "^[[:space:]]*tcp[[:space:]]+1200[[:space:]]+30$" <<<"$(fwcli_run $P "display firewall session aging-time")"
client D 203.0.113.2 7000 40005
t_check "a new flow works after the resets" advancing D
t_check "the new TCP session gets TTL 00:00:30" \
  grep -q "TTL: 00:00:30" <<<"$(table verbose source inside 198.18.1.2 protocol tcp)"
t_done
