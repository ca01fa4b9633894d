#!/usr/bin/env bash
# A restart keeps connections.
#  - Planned (SIGUSR2: stop for a restart; the rules stay, traffic is held, sessions, server-map
#    and NAT bindings are saved) then start again the same way: a 300 MB download through
#    easy-ip started before the restart completes byte for byte (sha256), on the same connection.
#  - After kill -9 (nothing saved) a routed, permitted TCP transfer (no NAT) is picked up
#    mid-stream by the next fwd (it finds the crashed fwd's rules) and completes byte for byte
#    without reconnecting.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-restart
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
WWW=/tmp/$P-www
trap 'lab_down $P; rm -rf $WWW /tmp/$P-dl*.bin' EXIT
mkdir -p $WWW
head -c 300M /dev/urandom >$WWW/big.bin
SHA=$(sha256sum <$WWW/big.bin | cut -d' ' -f1)
lab_http_server $P out 203.0.113.2 8080 $WWW || { t_fail "http server outside"; t_done; }

# download OUT RATE: curl in the inside host, in the background (tracked); sets DL_PID.
download() {
  rm -f "$1"
  lab_bg $P in "$1.log" curl -s -S --limit-rate "$2" --max-time 120 -o "$1" \
    http://203.0.113.2:8080/big.bin
  DL_PID=$LAB_BG_PID
}
# wait_download PID: bounded wait; returns curl's exit code (124 on timeout).
wait_download() {
  local i
  for ((i = 0; i < 1300; i++)); do
    lab_pid_alive "$1" || { wait "$1"; return $?; }
    sleep 0.1
  done
  kill "$1" 2>/dev/null
  return 124
}
conns() { ip netns exec $P-out ss -Htn state established "sport = :8080" | wc -l; }

echo "planned restart through easy-ip"
fwd_start $P || { t_fail "fwd start"; t_done; }
t_check "easy-ip configured and saved" nat_cfg_ok $P \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip; return; save"
download /tmp/$P-dl1.bin 20M
sleep 4
t_check "the download is running through easy-ip (one connection from 203.0.113.1)" \
  bash -c "ip netns exec $P-out ss -Htn state established 'sport = :8080' | grep -q '203.0.113.1:'"
fwd_stop $P USR2; rc=$?
t_check "SIGUSR2: fwd stops for a restart (rc=$rc)" test $rc -eq 0
t_check "the rules stay while no fwd runs" test -n "$(fw_rules_left $P)"
t_check "the state was saved" test -s /tmp/$P.db.state
sleep 1
fwd_start $P || { t_fail "fwd start after the restart"; t_done; }
t_check "the next fwd took the held rules over (log)" grep -q "took over the rules" /tmp/$P-fwd.log
t_check "it restored the saved sessions (log)" grep -Eq "restored [1-9][0-9]* sessions" /tmp/$P-fwd.log
wait_download $DL_PID; rc=$?
t_check "the download completed (curl rc=$rc)" test $rc -eq 0
t_check "byte for byte (sha256 of 300 MB)" test "$(sha256sum </tmp/$P-dl1.bin | cut -d' ' -f1)" = "$SHA"
t_check "curl used one connection (no reconnect in its log)" test ! -s /tmp/$P-dl1.bin.log
fwd_stop $P TERM

echo "kill -9, routed (no NAT)"
rm -f /tmp/$P.db /tmp/$P.db.state
lab_out_route_inside $P
fwd_start $P || { t_fail "fwd start (no NAT)"; t_done; }
download /tmp/$P-dl2.bin 20M
sleep 4
fwd_stop $P KILL
# (curl first drains what its socket buffer already holds)
t_check "killed: the transfer stalls (fail-closed)" bash -c \
  "sleep 2; s1=\$(stat -c %s /tmp/$P-dl2.bin); sleep 1.5; s2=\$(stat -c %s /tmp/$P-dl2.bin); test \$s1 = \$s2"
fwd_start $P || { t_fail "fwd start after kill -9"; t_done; }
t_check "the next fwd found the crashed fwd's rules and picks flows up (log)" \
  grep -q "picking up permitted TCP flows mid-stream" /tmp/$P-fwd.log
wait_download $DL_PID; rc=$?
t_check "the transfer resumed and completed (curl rc=$rc)" test $rc -eq 0
t_check "byte for byte (sha256 of 300 MB)" test "$(sha256sum </tmp/$P-dl2.bin | cut -d' ' -f1)" = "$SHA"
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
