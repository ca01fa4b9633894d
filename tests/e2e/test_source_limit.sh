#!/usr/bin/env bash
# Per-source limits ("srclimit" area, issue 16 item 3): with `firewall source-ip-limit
# max-session 100`, inside host 198.18.1.2 holds 100 real TCP connections to the outside host,
# its 101st is refused (the SYN dropped, counted as source-session-limit) while 198.18.1.3 still
# connects; `display firewall source-ip-limit` shows the host at 100; when the connections close
# and their sessions end, the host connects again; the limits survive save + restart.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-srcl
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
lab_echo_server $P out 203.0.113.2 7000 tcp || t_fail "tcp echo server :7000"
fwcli_run $P "system-view; firewall source-ip-limit max-session 100; firewall session aging-time fin-rst 1" >/dev/null

# hold HOST N LOG DONEFILE: open N TCP connections to 203.0.113.2:7000 one after the other (each
# may take 2 s), print "connected K refused R", keep them open until DONEFILE exists, close them.
hold() {
  lab_bg $P $1 $3 "$LAB_PY" -c '
import os, socket, sys, time
n, done = int(sys.argv[1]), sys.argv[2]
socks, refused = [], 0
for i in range(n):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("203.0.113.2", 7000))
        socks.append(s)
    except OSError:
        refused += 1
        s.close()
print("connected %d refused %d" % (len(socks), refused), flush=True)
for _ in range(600):
    if os.path.exists(done):
        break
    time.sleep(0.1)
for s in socks:
    s.close()
print("closed", flush=True)
' "$2" "$4"
}
# result LOG: "K R" once the holder has tried all its connections (waits up to 40 s).
result() {
  local i
  for ((i = 0; i < 400; i++)); do
    if grep -q '^connected' "$1" 2>/dev/null; then
      sed -nE 's/^connected ([0-9]+) refused ([0-9]+)/\1 \2/p' "$1"
      return 0
    fi
    sleep 0.1
  done
  echo "none"
}

rm -f /tmp/$P-done
hold in 101 /tmp/$P-hold-a.log /tmp/$P-done
HOLD_A=$LAB_BG_PID
ra=$(result /tmp/$P-hold-a.log)
t_check "198.18.1.2: 100 of 101 connections open, the 101st refused (got: $ra)" test "$ra" = "100 1"
drops=$(fw_stat $P "Dropped source-session-limit")
t_check "Dropped source-session-limit counted (${drops:-none})" test "${drops:-0}" -ge 1

hold in2 3 /tmp/$P-hold-b.log /tmp/$P-done
HOLD_B=$LAB_BG_PID
rb=$(result /tmp/$P-hold-b.log)
t_check "198.18.1.3 still connects while .2 is at its limit (got: $rb)" test "$rb" = "3 0"

disp=$(fwcli_run $P "display firewall source-ip-limit")
echo "$disp" | sed 's/^/    /'
t_check "the display shows 198.18.1.2 holding 100 sessions" \
  grep -Eq '^[[:space:]]+198\.18\.1\.2[[:space:]]+100[[:space:]]' <<<"$disp"
t_check "the display shows 198.18.1.3 holding 3 sessions" \
  grep -Eq '^[[:space:]]+198\.18\.1\.3[[:space:]]+3[[:space:]]' <<<"$disp"
t_check "the display counts the refusals" grep -Eq 'Refused: session-limit [1-9]' <<<"$disp"
t_check "current-configuration has the limit" \
  grep -q '^ firewall source-ip-limit max-session 100$' <<<"$(fwcli_run $P "display current-configuration")"

# Closed connections end their sessions (fin-rst aging 1 s): the host gets its places back.
touch /tmp/$P-done
lab_wait_exit $HOLD_A 10 || t_fail "holder of .2 exits"
lab_wait_exit $HOLD_B 10 || t_fail "holder of .3 exits"
released() {
  local i
  for ((i = 0; i < 150; i++)); do
    fwcli_run $P "display firewall source-ip-limit" |
      grep -Eq '^[[:space:]]+198\.18\.1\.2[[:space:]]+[1-9]' || return 0
    sleep 0.2
  done
  return 1
}
t_check "198.18.1.2's sessions are released when they end" released
rm -f /tmp/$P-done2
hold in 5 /tmp/$P-hold-c.log /tmp/$P-done2
rc=$(result /tmp/$P-hold-c.log)
touch /tmp/$P-done2
t_check "198.18.1.2 connects again (got: $rc)" test "$rc" = "5 0"
rm -f /tmp/$P-done /tmp/$P-done2

# The limits survive save + restart from the database (a zone's value too).
fwcli_run $P "system-view; firewall zone trust; source-ip-limit session-rate 50" >/dev/null
t_check "save" fwcli_run $P "save y"
fwd_stop $P TERM >/dev/null
fwd_start $P --no-config || { t_fail "restart with --db only"; t_done; }
cfg=$(fwcli_run $P "display current-configuration")
t_check "after restart: global limit kept" grep -q '^ firewall source-ip-limit max-session 100$' <<<"$cfg"
zone=$(sed -n '/^firewall zone trust$/,/^#/p' <<<"$cfg")
t_check "after restart: zone limit kept" grep -q '^ source-ip-limit session-rate 50$' <<<"$zone"
t_done
