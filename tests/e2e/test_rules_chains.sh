#!/usr/bin/env bash
# fwd's kernel rules (fwd/iptables.h: chains FWD-PRE/FWD-FWD/FWD-OUT in raw and mangle, FWD-FRG in raw, FWD-DDOS in mangle, one jump
# per hook): one set after a start; five kill -9 + restart cycles leave one set each (the log says
# it found a crashed fwd's rules) and traffic works again; SIGTERM removes exactly fwd's rules (a
# foreign rule stays); SIGUSR2 holds them (fail-closed) for the next start, which takes them over,
# also with another queue count (the default, one queue per CPU, then --queues 1);
# in0's accept_local/rp_filter come back after the crash cycles and a clean stop;
# interfaces in no zone are dropped by the kernel rules (while fwd runs and after kill -9), counted
# in "Dropped no-zone (kernel rules)"; an --unmanaged-interface is left alone.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ctl.sh"
P=fwt-rules
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P; rm -rf /tmp/$P-www /tmp/$P-nz.cfg /tmp/$P-nz.db*' EXIT
lab_out_route_inside $P
lab_out_route_dmz $P
www=/tmp/$P-www; mkdir -p $www; echo rules-ok >$www/index.txt
lab_http_server $P out 203.0.113.2 80 $www || t_fail "http server on the outside host"

http_ok() { test "$(ip netns exec $P-in curl -s -m 4 http://203.0.113.2/index.txt)" = rules-ok; }
http_fails() { ! ip netns exec $P-in curl -s -m 2 -o /dev/null http://203.0.113.2/index.txt; }
fw_ping() { ip netns exec $P-fw ping -n -q -c 2 -i 0.2 -W 1 -w 3 "$1" >/dev/null 2>&1; }
kernel_nozone() { fw_stat $P 'Dropped no-zone \(kernel rules\)'; }

# The administrator's per-interface sysctls, which fwd changes (accept_local=1, rp_filter=0) and
# must give back at a clean stop, also after crashes: distinctive values on in0 first.
sysvals() { ip netns exec $P-fw sh -c 'cat /proc/sys/net/ipv4/conf/in0/accept_local /proc/sys/net/ipv4/conf/in0/rp_filter' | tr '\n' ' '; }
ip netns exec $P-fw sh -c 'echo 0 >/proc/sys/net/ipv4/conf/in0/accept_local; echo 2 >/proc/sys/net/ipv4/conf/in0/rp_filter'
orig_sys=$(sysvals)

echo "normal start"
t_check "foreign rules added to built-in chains before fwd starts" ctl_foreign_add $P
fwd_start $P || { t_fail "fwd starts"; t_done; }
base=$(ctl_fwd_count $P)
echo "    fwd's lines in iptables-save + ip6tables-save: $base"
ctl_fwd_lines $P | grep -E ' -j FWD-|^v4 mangle -A FWD-PRE' | sed 's/^/    /'
t_check "one set after a normal start (each chain once, one jump per hook, v4 and v6)" ctl_one_set $P
t_check "every jump is marked active (10 = 5 hooks x 2 families)" \
  test "$(ctl_jumps $P FWD-active | grep -c .)" -eq 10
t_check "the set has rules in every chain (> 40 lines over both families)" test "$base" -gt 40
t_check "ping inside -> outside works" lab_ping $P in 203.0.113.2
t_check "HTTP inside -> outside works" http_ok
# Issue 16 item 1: by default fwd takes one queue (and worker) per CPU it may run on, at most 8:
# queues 0..K-1 (iptables --queue-balance when K > 1). TCP SYNs of the zone interfaces have a queue
# (and worker) of their own, number K (--queue-num 0 + --queues K), so a SYN flood cannot push
# established packets out of queues 0..K-1.
# id_sequence (8th column of nfnetlink_queue) counts the packets each queue has taken.
nfq_seq() { ip netns exec $P-fw awk -v q="$1" '$1 == q { print $8 }' /proc/net/netfilter/nfnetlink_queue; }
nfq_seq_main() { local q n=0; for ((q = 0; q < K; q++)); do n=$((n + $(nfq_seq $q))); done; echo $n; }
last=$(grep -o 'ready: queues 0\.\.[0-9]*' /tmp/$P-fwd.log | tail -n 1)
K=$((${last##*..} + 1))
cpus=$(ip netns exec $P-fw nproc); ((cpus > 8)) && cpus=8
echo "    $last: $K queues by default; nproc (the CPUs fwd may run on) says $cpus"
t_check "the default is one queue per CPU fwd may run on, at most 8 ($K, want $cpus)" test "$K" -eq "$cpus"
if ((K > 1)); then main_target="--queue-balance 0:$((K - 1))"; else main_target="--queue-num 0"; fi
t_check "the zone interfaces' traffic goes to queues 0..$((K - 1)) ($main_target, v4 and v6)" \
  test "$(ctl_fwd_lines $P | grep -c -- "-i in0 .*-j NFQUEUE $main_target\$")" -ge 2
t_check "a SYN rule to queue $K per zone interface, ahead of the queue-0.. rules (v4 and v6)" \
  test "$(ctl_fwd_lines $P | grep -c -- "-i in0 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j NFQUEUE --queue-num $K\$")" -eq 2
s0=$(nfq_seq_main); s1=$(nfq_seq $K)
http_ok; e0=$(nfq_seq_main); e1=$(nfq_seq $K)
echo "    one HTTP request: queues 0..$((K - 1)) took $((e0 - s0)) packets, queue $K (SYNs) took $((e1 - s1))"
t_check "one HTTP request: its one SYN went to queue $K, the rest of the connection to queues 0..$((K - 1))" \
  test $((e1 - s1)) -eq 1 -a $((e0 - s0)) -ge 5

for cycle in 1 2 3 4 5; do
  echo "kill -9 + restart, cycle $cycle"
  fwd_stop $P KILL; rc=$?
  t_check "[$cycle] kill -9 kills fwd (rc=$rc)" test $rc -eq 137
  t_check "[$cycle] fwd dead: ping inside -> outside blocked (fail-closed)" \
    lab_ping_none $P in 203.0.113.2 1
  mark=$(ctl_log_mark $P)
  fwd_start $P || { t_fail "[$cycle] fwd restarts"; break; }
  n=$(ctl_fwd_count $P)
  t_check "[$cycle] same count of fwd's lines after the restart ($n, first start $base)" \
    test "$n" -eq "$base"
  t_check "[$cycle] one set (not a pile)" ctl_one_set $P
  since=$(ctl_log_since $P "$mark")
  t_check "[$cycle] log: found the rules of an fwd that did not stop cleanly" \
    grep -q "found the rules of an fwd that did not stop cleanly" <<<"$since"
  t_check "[$cycle] log: what it found was one set (10 hooks, 14 chains)" \
    grep -q "(10 hooks, 14 chains, 0 old-layout rules)" <<<"$since"
  t_check "[$cycle] ping inside -> outside works again" lab_ping $P in 203.0.113.2
  t_check "[$cycle] HTTP inside -> outside works again" http_ok
done
t_check "foreign rules still there after the crash cycles" test "$(ctl_foreign_count $P)" -eq 3

echo "clean stop (SIGTERM)"
fwd_stop $P TERM; rc=$?
t_check "SIGTERM: exit 0 (rc=$rc)" test $rc -eq 0
left=$(ctl_fwd_lines $P)
[[ -n $left ]] && echo "$left" | sed 's/^/    left: /'
t_check "SIGTERM: none of fwd's lines left (chains, jumps, queueing rules)" test -z "$left"
t_check "SIGTERM: the foreign rules are still there (3)" test "$(ctl_foreign_count $P)" -eq 3
now_sys=$(sysvals)
t_check "SIGTERM after 5 crashes: in0's accept_local/rp_filter are the administrator's again ($orig_sys-> $now_sys)" \
  test "$now_sys" = "$orig_sys"
t_check "without fwd: the kernel forwards (ping inside -> outside)" lab_ping $P in 203.0.113.2

echo "stop for a restart (SIGUSR2)"
fwd_start $P || { t_fail "fwd starts after the clean stop"; t_done; }
t_check "start after a clean stop: one set" ctl_one_set $P
fwd_stop $P USR2; rc=$?
t_check "SIGUSR2: fwd exits (rc=$rc)" test $rc -ne 124
t_check "SIGUSR2: log says it stopped for a restart holding the rules" \
  grep -q "stopped for a restart: the rules stay" /tmp/$P-fwd.log
t_check "SIGUSR2: the rules stay (same count $base)" test "$(ctl_fwd_count $P)" -eq "$base"
t_check "SIGUSR2: every jump is marked held (10), none active" \
  test "$(ctl_jumps $P FWD-held | grep -c .)" -eq 10 -a "$(ctl_jumps $P FWD-active | grep -c .)" -eq 0
t_check "SIGUSR2: ping inside -> outside blocked while no fwd runs (fail-closed)" \
  lab_ping_none $P in 203.0.113.2 2
t_check "SIGUSR2: HTTP inside -> outside blocked" http_fails
mark=$(ctl_log_mark $P)
fwd_start $P || { t_fail "fwd starts after SIGUSR2"; t_done; }
since=$(ctl_log_since $P "$mark")
t_check "next start: log says it took the held rules over" \
  grep -q "took over the rules the previous fwd held for a restart" <<<"$since"
t_check_not "next start: log does not call it a crash" \
  grep -q "did not stop cleanly" <<<"$since"
t_check "next start: one set, count $base" \
  test "$(ctl_fwd_count $P)" -eq "$base"
t_check "next start: one set (structure)" ctl_one_set $P
t_check "next start: jumps active again (10), none held" \
  test "$(ctl_jumps $P FWD-active | grep -c .)" -eq 10 -a "$(ctl_jumps $P FWD-held | grep -c .)" -eq 0
t_check "next start: ping inside -> outside works" lab_ping $P in 203.0.113.2
t_check "next start: HTTP inside -> outside works" http_ok
# The hand-over to an fwd with another queue count: the held rules name queues 0..K-1 and the SYN
# queue K; a next fwd with --queues 1 takes them over and rewrites them to queue 0 and SYN queue 1.
if ((K > 1)); then
  fwd_stop $P USR2 >/dev/null
  mark=$(ctl_log_mark $P)
  fwd_start $P --queues 1 || { t_fail "fwd --queues 1 starts after a hold by $K queues"; t_done; }
  since=$(ctl_log_since $P "$mark")
  t_check "--queues 1 after a hold by $K queues: log says it took the held rules over" \
    grep -q "took over the rules the previous fwd held for a restart" <<<"$since"
  t_check "--queues 1 after a hold by $K queues: one set, count $base" \
    test "$(ctl_fwd_count $P)" -eq "$base"
  t_check_not "--queues 1: no rule left of the $K-queue set (--queue-balance, --queue-num $K)" \
    grep -qE -- "--queue-balance|--queue-num $K\$" <<<"$(ctl_fwd_lines $P)"
  t_check "--queues 1: a SYN rule to queue 1 per zone interface (v4 and v6)" \
    test "$(ctl_fwd_lines $P | grep -c -- "-i in0 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j NFQUEUE --queue-num 1\$")" -eq 2
  t_check "--queues 1: HTTP inside -> outside works" http_ok
fi
fwd_stop $P TERM || t_fail "SIGTERM after the takeover"
t_check "SIGTERM after the takeover: nothing of fwd left" test -z "$(ctl_fwd_lines $P)"

# ---- interfaces in no zone ------------------------------------------------------------------
echo "dmz0 in no zone"
cat >/tmp/$P-nz.cfg <<'EOF'
#
sysname FW
#
firewall zone trust
 add interface in0
#
firewall zone untrust
 add interface out0
#
security-policy
 rule name permit-all
  action permit
#
return
EOF
rm -f /tmp/$P-nz.db /tmp/$P-nz.db-journal /tmp/$P-nz.db.state
nzargs=(--config "/tmp/$P-nz.cfg" --db "/tmp/$P-nz.db")
t_check "no fwd: dmz -> inside pings (the kernel would forward it)" lab_ping $P dmz 198.18.1.2
t_check "no fwd: dmz -> firewall dmz0 pings" lab_ping $P dmz 198.18.2.1
fwd_start $P "${nzargs[@]}" || { t_fail "fwd starts with dmz0 in no zone"; t_done; }
t_check "no-zone config: one set" ctl_one_set $P
t_check "no-zone config: dmz0 has no rule of its own (only the catch-all DROP covers it)" \
  test -z "$(ctl_fwd_lines $P | grep -w dmz0)"
k0=$(kernel_nozone)
echo "    Dropped no-zone (kernel rules) at start: ${k0:-<missing>}"
t_check "statistics show 'Dropped no-zone (kernel rules)'" test -n "$k0"
t_check "zone traffic is permitted: ping inside -> outside" lab_ping $P in 203.0.113.2
t_check "zone traffic is permitted: HTTP inside -> outside" http_ok
t_check "dmz -> inside dropped" lab_ping_none $P dmz 198.18.1.2 2
t_check "dmz -> outside dropped" lab_ping_none $P dmz 203.0.113.2 2
t_check "dmz -> inside dropped (IPv6)" lab_ping_none $P dmz 2001:db8:1::2 2
t_check "inside -> dmz dropped" lab_ping_none $P in 198.18.2.2 2
t_check "outside -> dmz dropped" lab_ping_none $P out 198.18.2.2 2
t_check "dmz -> firewall's own dmz0 address dropped" lab_ping_none $P dmz 198.18.2.1 2
t_check_not "firewall's own traffic -> dmz host dropped" fw_ping 198.18.2.2
k1=$(kernel_nozone)
echo "    Dropped no-zone (kernel rules) after the dmz pings: ${k1:-<missing>}"
t_check "kernel no-zone drops grew (${k0:-?} -> ${k1:-?}, >= 10 dmz pings dropped)" \
  test -n "$k0" -a -n "$k1" -a "${k1:-0}" -ge $((${k0:-0} + 10))

fwd_stop $P KILL; rc=$?
t_check "kill -9 (rc=$rc)" test $rc -eq 137
t_check "fwd dead: dmz -> inside still dropped" lab_ping_none $P dmz 198.18.1.2 2
t_check "fwd dead: dmz -> outside still dropped" lab_ping_none $P dmz 203.0.113.2 2
t_check "fwd dead: inside -> dmz still dropped" lab_ping_none $P in 198.18.2.2 2
t_check "fwd dead: zone traffic blocked too (ping inside -> outside)" \
  lab_ping_none $P in 203.0.113.2 2
t_check "fwd dead: zone traffic blocked too (HTTP inside -> outside)" http_fails
fwd_start $P "${nzargs[@]}" || { t_fail "fwd restarts after kill -9"; t_done; }
k2=$(kernel_nozone)
echo "    Dropped no-zone (kernel rules) after the restart: ${k2:-<missing>}"
t_check "restart: the kernel no-zone count kept the drops made while fwd was dead (${k1:-?} -> ${k2:-?})" \
  test -n "$k2" -a "${k2:-0}" -ge $((${k1:-0} + 6))
t_check "restart: one set" ctl_one_set $P
t_check "restart: zone traffic works again" lab_ping $P in 203.0.113.2
t_check "restart: dmz -> inside still dropped" lab_ping_none $P dmz 198.18.1.2 2
fwd_stop $P TERM || t_fail "SIGTERM (no-zone config)"

echo "dmz0 unmanaged"
fwd_start $P "${nzargs[@]}" --unmanaged-interface dmz0 ||
  { t_fail "fwd starts with --unmanaged-interface dmz0"; t_done; }
t_check "unmanaged: one set" ctl_one_set $P
t_check "unmanaged: dmz0 has RETURN rules in fwd's chains" \
  test -n "$(ctl_fwd_lines $P | grep -w dmz0 | grep -- '-j RETURN')"
t_check "unmanaged: dmz -> firewall's dmz0 address pings" lab_ping $P dmz 198.18.2.1
t_check "unmanaged: dmz -> firewall's dmz0 address pings (IPv6)" lab_ping $P dmz 2001:db8:2::1
t_check "unmanaged: firewall's own traffic -> dmz host pings" fw_ping 198.18.2.2
t_check "unmanaged: zone traffic still works (ping inside -> outside)" lab_ping $P in 203.0.113.2
t_check "unmanaged: forwarding from dmz0 into the zones is still dropped (dmz -> inside)" \
  lab_ping_none $P dmz 198.18.1.2 2
fwd_stop $P TERM; rc=$?
t_check "unmanaged: SIGTERM exit 0 (rc=$rc)" test $rc -eq 0
t_check "unmanaged: nothing of fwd left" test -z "$(ctl_fwd_lines $P)"
t_check "the foreign rules are still there at the end (3)" test "$(ctl_foreign_count $P)" -eq 3
t_done
