#!/usr/bin/env bash
# Foundation: trust->untrust traffic (ICMP v4/v6, TCP, UDP) passes the "trust-to-untrust" rule of
# etc/lab.cfg, the replies pass with no reverse rule, and everything else hits the default deny.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-basic
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P     # no NAT yet: the outside host answers inside addresses directly
lab_out_route_dmz $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts with etc/lab.cfg"; t_done; }
t_ok "fwd starts with etc/lab.cfg"

www=/tmp/$P-www; mkdir -p $www
head -c 200000 /dev/urandom | base64 >$www/blob.txt
lab_http_server $P out :: 80 $www || t_fail "http server in $P-out"
lab_http_server $P in :: 8080 $www || t_fail "http server in $P-in"
lab_echo_server $P out :: 7001 udp || t_fail "udp echo server in $P-out"
lab_echo_server $P in :: 7002 udp || t_fail "udp echo server in $P-in"
want=$(sha256sum <$www/blob.txt | cut -d' ' -f1)
get_hash() { ip netns exec "$P-$1" curl -sS -g -m 10 "$2" 2>/dev/null | sha256sum | cut -d' ' -f1; }
udp_all() { ip netns exec "$P-$1" "$LAB_PY" "$LAB_REPO/tests/e2e/peer.py" udp-client --to "$2" --port "$3" --count 10 --timeout 1 >/dev/null; }
udp_none() { local rc=0; ip netns exec "$P-$1" "$LAB_PY" "$LAB_REPO/tests/e2e/peer.py" udp-client --to "$2" --port "$3" --count 3 --timeout 1 >/dev/null || rc=$?; ((rc == 3)); }

echo "trust -> untrust (permitted, replies without a reverse rule)"
t_check "ping inside -> outside (IPv4)" lab_ping $P in 203.0.113.2
t_check "ping inside -> outside (IPv6)" lab_ping $P in 2001:db8:3::2
t_check "ping second inside client -> outside" lab_ping $P in2 203.0.113.2
t_check "ping inside -> dmz blocked (no rule)" lab_ping_none $P in 198.18.2.2
t_check "HTTP inside -> outside (IPv4), content intact" test "$(get_hash in http://203.0.113.2/blob.txt)" = "$want"
t_check "HTTP inside -> outside (IPv6), content intact" test "$(get_hash in 'http://[2001:db8:3::2]/blob.txt')" = "$want"
t_check "UDP echo inside -> outside (IPv4), 10/10" udp_all in 203.0.113.2 7001
t_check "UDP echo inside -> outside (IPv6), 10/10" udp_all in 2001:db8:3::2 7001

echo "untrust -> trust and trust -> dmz (default deny)"
deny0=$(fw_stat $P "Dropped policy-deny")
t_check "ping outside -> inside blocked (IPv4)" lab_ping_none $P out 198.18.1.2
t_check "ping outside -> inside blocked (IPv6)" lab_ping_none $P out 2001:db8:1::2
t_check "HTTP outside -> inside blocked" test "$(ip netns exec $P-out curl -s -m 3 -o /dev/null -w '%{http_code}' http://198.18.1.2:8080/blob.txt)" = "000"
t_check "UDP outside -> inside blocked" udp_none out 198.18.1.2 7002
t_check "ping dmz -> inside blocked" lab_ping_none $P dmz 198.18.1.2
deny1=$(fw_stat $P "Dropped policy-deny")
t_check "\"Dropped policy-deny\" grew ($deny0 -> $deny1)" test "${deny1:-0}" -gt "${deny0:-0}"

echo "statistics"
stats=$(fwcli_run $P "display firewall statistics")
echo "$stats" | sed 's/^/    /'
for l in "Packets received" "Packets accepted" "Packets dropped" "Dropped malformed" "Dropped tcp-not-syn" \
         "Dropped policy-deny" "Sessions created" "Sessions aged" "Sessions current"; do
  t_check "statistics show \"$l\"" grep -Eq "${l}[[:space:]]*:[[:space:]]*[0-9]+" <<<"$stats"
done
t_check "Packets received > 0" test "$(fw_stat $P "Packets received")" -gt 0
t_check "Sessions created > 0" test "$(fw_stat $P "Sessions created")" -gt 0
hits=$(fw_rule_hits $P trust-to-untrust)
t_check "rule trust-to-untrust has hits ($hits)" test "${hits:-0}" -gt 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
