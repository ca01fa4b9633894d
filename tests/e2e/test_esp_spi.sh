#!/usr/bin/env bash
# ESP sessions keyed by SPI ("spi" area, issue 16 item 8), with real ESP packets on the wire
# (raw sockets, tests/e2e/esp_peer.py: this kernel has no ESP of its own). The inside host's SA
# (SPI 0x1001) opens a session through trust-to-untrust; the outside peer answers with its own
# SPI (0x2002), which binds the session's reply and reaches the inside host; the verbose display
# shows both SPIs. Then the outside host sends ESP to the inside host with another SPI (0x3003):
# a new flow, which untrust -> trust denies (counted), and nothing of it arrives; SPI 0 is
# dropped and counted as spi-zero. A last packet of the bound SPI, sent after them, still
# arrives (so the spoofed ones had the time to arrive, had they passed). ~4 s.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-esp
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db /tmp/$P-in.log /tmp/$P-out.log
fwd_start $P || { t_fail "fwd starts"; t_done; }
PEER="$LAB_REPO/tests/e2e/esp_peer.py"

lab_bg $P out /tmp/$P-out.err "$LAB_PY" "$PEER" respond /tmp/$P-out.log 20 0x1001 0x2002
lab_bg $P in /tmp/$P-in.err "$LAB_PY" "$PEER" listen /tmp/$P-in.log 20
# count FILE PATTERN: lines matching
count() {
  local n
  n=$(grep -c -- "$2" "$1" 2>/dev/null)
  echo "${n:-0}"
}
# wait_count FILE PATTERN N: until N lines match (at most 3 s)
wait_count() {
  local i
  for ((i = 0; i < 30; i++)); do
    (($(count "$1" "$2") >= $3)) && return 0
    sleep 0.1
  done
  return 1
}
wait_count /tmp/$P-out.log ready 1 && wait_count /tmp/$P-in.log ready 1 ||
  t_fail "ESP peers ready"
send() { ip netns exec "$P-$1" "$LAB_PY" "$PEER" send "$2" "$3" "$4"; }

send in 203.0.113.2 0x1001 3
t_check "the outside peer receives the inside host's SA (SPI 0x1001)" \
  wait_count /tmp/$P-out.log "rx 198.18.1.2 0x00001001" 3
t_check "its answers (SPI 0x2002) reach the inside host" \
  wait_count /tmp/$P-in.log "rx 203.0.113.2 0x00002002" 3
v=$(fwcli_run $P "display firewall session table verbose protocol esp")
t_check "one ESP session, both SPIs shown" \
  grep -q "198.18.1.2:0 --> 203.0.113.2:0 PolicyName: trust-to-untrust  SPI: 0x00001001/0x00002002" <<<"$v"
t_check "exactly one session" grep -q "Current Total Sessions : 1" <<<"$v"

deny0=$(fw_stat $P "Dropped policy-deny")
send out 198.18.1.2 0x3003 5
send out 198.18.1.2 0 2
send out 198.18.1.2 0x2002 1
t_check "the bound SPI still passes" wait_count /tmp/$P-in.log "rx 203.0.113.2 0x00002002" 4
t_check "nothing of SPI 0x3003 reaches the inside host" \
  test "$(count /tmp/$P-in.log 'rx .* 0x00003003')" = 0
t_check "nothing of SPI 0 reaches the inside host" \
  test "$(count /tmp/$P-in.log 'rx .* 0x00000000')" = 0
deny1=$(fw_stat $P "Dropped policy-deny")
t_check "the 5 packets of SPI 0x3003 counted as policy-deny ($deny0 -> $deny1)" \
  test "$((deny1 - deny0))" -eq 5
t_check "the 2 packets of SPI 0 counted as spi-zero" test "$(fw_stat $P "Dropped spi-zero")" = 2
v=$(fwcli_run $P "display firewall session table protocol esp")
t_check "still one ESP session" grep -q "Current Total Sessions : 1" <<<"$v"
t_done
