#!/usr/bin/env bash
# ICMP errors through source NAT (PAT pool 203.0.113.100-105). The outside host becomes a router
# (203.0.113.2/25 | 203.0.113.129/25) towards a far host 203.0.113.130; neither knows 198.18/16.
# A traceroute-style series from the inside host gets every error back on its own socket:
# TTL 1 -> time exceeded from the firewall (198.18.1.1), TTL 2 -> time exceeded from the outside
# router 203.0.113.2, TTL 3 -> port unreachable from the far host; `ping -t 2` prints "Time to
# live exceeded" from 203.0.113.2. The errors reach the router addressed to the pool (capture)
# and come back to the inside host with the outer and the quoted headers translated back.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-naticmp
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'nat_far_down $P; lab_down $P' EXIT
t_check "far-host topology (router 203.0.113.2 / .129, far host .130)" nat_far_up $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
t_check "address-group pool1 (PAT) and nat-policy configured" nat_cfg_ok $P \
  "nat address-group pool1; mode pat; section 0 203.0.113.100 203.0.113.105; quit;" \
  "nat-policy; rule name snat; source-zone trust; destination-zone untrust; action source-nat address-group pool1"
t_check "far host has no route to 198.18/16" bash -c '! ip -n $1-far route get 198.18.1.2 >/dev/null 2>&1' _ $P
t_check "outside router has no route to 198.18/16" bash -c '! ip -n $1-out route get 198.18.1.2 >/dev/null 2>&1' _ $P
t_check "ping inside -> far host 203.0.113.130 through PAT" lab_ping $P in 203.0.113.130

capo=/tmp/$P-out.pcap
capi=/tmp/$P-in.pcap
nat_cap_start $P out eth0 $capo 0 icmp || t_fail "capture on the outside router"
co=$NAT_CAP_PID
nat_cap_start $P in eth0 $capi 0 icmp || t_fail "capture on the inside host"
ci=$NAT_CAP_PID
rel0=$(fw_stat $P "Accepted icmp-error-related")

echo "ping -t 2 (TTL expires at the outside router)"
pout=$(ip netns exec $P-in ping -4 -n -c 2 -i 0.3 -W 1 -w 4 -t 2 203.0.113.130 2>&1)
echo "$pout" | sed 's/^/    /'
t_check "ping -t 2: 'From 203.0.113.2 icmp_seq=N Time to live exceeded'" \
  grep -Eq '^From 203\.0\.113\.2 icmp_seq=[0-9]+ Time to live exceeded' <<<"$pout"
pout1=$(ip netns exec $P-in ping -4 -n -c 1 -W 1 -w 3 -t 1 203.0.113.130 2>&1)
t_check "ping -t 1: time exceeded from the firewall itself (198.18.1.1)" grep -Eq '^From 198\.18\.1\.1 icmp_seq=1 Time to live exceeded' <<<"$pout1"

echo "UDP traceroute from the inside host (errors read from the socket with IP_RECVERR)"
r1=$(nat_udp_trace $P in 203.0.113.130 1 33434)
r2=$(nat_udp_trace $P in 203.0.113.130 2 33435)
r3=$(nat_udp_trace $P in 203.0.113.130 3 33436)
printf '    ttl 1: %s\n    ttl 2: %s\n    ttl 3: %s\n' "$r1" "$r2" "$r3"
t_check "hop 1: time exceeded (type 11) from 198.18.1.1" test "$r1" = "errno=113 type=11 code=0 from=198.18.1.1"
t_check "hop 2: time exceeded (type 11) from 203.0.113.2, matched to the inside socket" \
  test "$r2" = "errno=113 type=11 code=0 from=203.0.113.2"
t_check "hop 3: port unreachable (type 3 code 3, ECONNREFUSED) from 203.0.113.130" \
  test "$r3" = "errno=111 type=3 code=3 from=203.0.113.130"
# Same ports from the second inside host: its own session, its own errors.
r4=$(nat_udp_trace $P in2 203.0.113.130 3 33436)
t_check "in2, same destination port: its own port unreachable ($r4)" test "$r4" = "errno=111 type=3 code=3 from=203.0.113.130"
sleep 0.5
nat_cap_stop $co
nat_cap_stop $ci
rel1=$(fw_stat $P "Accepted icmp-error-related")
t_check "\"Accepted icmp-error-related\" grew ($rel0 -> $rel1)" test "${rel1:-0}" -gt "${rel0:-0}"

echo "what the router saw and what the inside host got"
errs_out=$(nat_cap_read $capo 'icmp.type == 11 || icmp.type == 3' ip.src ip.dst icmp.type udp.srcport icmp.ident | sort -u)
echo "$errs_out" | sed 's/^/    router: /'
t_check "router: the errors went to pool addresses, never 198.18." \
  bash -c '[[ -n $1 ]] && ! grep -q "198\.18\." <<<"$1" && grep -Eq "203\.0\.113\.10[0-5]" <<<"$1"' _ "$errs_out"
errs_in=$(nat_cap_read $capi '(icmp.type == 11 || icmp.type == 3) && !(ip.src == 198.18.1.1)' ip.src ip.dst icmp.type udp.srcport icmp.ident | sort -u)
echo "$errs_in" | sed 's/^/    inside: /'
# Fields: outer,inner ip.src; outer,inner ip.dst; type; quoted UDP port; quoted ICMP id.
t_check "inside host: time exceeded from 203.0.113.2 to 198.18.1.2 quoting 198.18.1.2 -> 203.0.113.130" \
  grep -Eq $'^203\\.0\\.113\\.2,198\\.18\\.1\\.2\t198\\.18\\.1\\.2,203\\.0\\.113\\.130\t11' <<<"$errs_in"
t_check "inside host: port unreachable from 203.0.113.130 to 198.18.1.2 quoting 198.18.1.2 -> 203.0.113.130" \
  grep -Eq $'^203\\.0\\.113\\.130,198\\.18\\.1\\.2\t198\\.18\\.1\\.2,203\\.0\\.113\\.130\t3' <<<"$errs_in"
t_check "inside host: no pool address left in any error (outer or quoted)" bash -c '! grep -Eq "203\.0\.113\.10[0-5]" <<<"$1"' _ "$errs_in"
bad=$(nat_cap_count $capi 'icmp.checksum.status == 0 || ip.checksum.status == 0' )
t_check "inside host: no bad ICMP/IP checksum in the translated errors ($bad)" test "$bad" -eq 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
fwd_stop $P; rc=$?
t_check "fwd exits 0 on SIGTERM ($rc)" test $rc -eq 0
t_done
