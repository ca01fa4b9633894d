#!/usr/bin/env bash
# "stream" area (issue 16 items 5, 6): the session table at 100,000 sessions (a UDP flood with
# random sources, hping3) is displayed whole - concise and verbose (about 40 MB, more than the old
# 16 MiB reply cap) - streamed in pieces, while a ping through the firewall every 0.1 s keeps
# answering (lost pings counted); `| count` answers without rendering; a reader that goes away
# (fwcli killed mid-display) leaves the daemon answering at once; RSS is printed idle, full and
# after the table is reset. The 1,000,000-session run is bench/display_scale (by hand).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-dscale
N=${DSCALE_SESSIONS:-100000}
t_require_root
t_require_bins fwd fwcli
command -v hping3 >/dev/null || t_skip "needs hping3"
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db
fwd_start $P --max-sessions "$N" || { t_fail "fwd starts"; t_done; }
rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/$FWD_PID/status; }
sessions() {
  fwcli_run $P "display firewall session table statistics" |
    sed -nE 's/^ *Current total sessions *: *([0-9]+).*/\1/p'
}
RSS_IDLE=$(rss_kb)
[[ -n ${DSCALE_SMAPS:-} ]] && cat /proc/$FWD_PID/smaps >"$DSCALE_SMAPS.idle"

# The ping's session exists before the flood fills the table.
lab_ping $P in 203.0.113.2 1 || t_fail "ping through the firewall before the flood"
lab_bg $P in /tmp/$P-ping.log ping -n -i 0.1 -c 10000 -W 1 203.0.113.2
PING_PID=$LAB_BG_PID
lab_bg $P in /tmp/$P-hping.log hping3 --udp --rand-source --flood -p 5353 203.0.113.2
HPING_PID=$LAB_BG_PID
t0=$(date +%s.%N)
for ((i = 0; i < 5 * (30 + N / 5000); i++)); do  # hping3 opens about 14,000 a second here
  n=$(sessions); ((${n:-0} >= N)) && break
  sleep 0.2
done
lab_kill "$HPING_PID"
sleep 0.5
# Pings are counted from here on: while the table is displayed, not while the flood ran.
seq_from=$(sed -nE 's/.*icmp_seq=([0-9]+) .*/\1/p' /tmp/$P-ping.log | tail -n1)
n=$(sessions)
t_check "the flood filled the table ($n of $N sessions in $(printf %.1f "$(echo "$(date +%s.%N) - $t0" | bc)") s)" \
  test "${n:-0}" -ge "$N"
RSS_FULL=$(rss_kb)

# timed OUT CMD: runs the display into OUT; prints the seconds it took.
timed() {
  local out=$1 s e; shift
  s=$(date +%s.%N)
  fwcli_run $P "$*" >"$out"; local rc=$?
  e=$(date +%s.%N)
  printf '%.2f' "$(echo "$e - $s" | bc)"
  return $rc
}
sent_before=$(grep -c 'bytes from' /tmp/$P-ping.log)
T=$(timed /tmp/$P-table.txt "display firewall session table") || t_fail "display exits 0"
lines=$(wc -l </tmp/$P-table.txt)
head1=$(head -n1 /tmp/$P-table.txt)
t_check "concise display of $N sessions complete in $T s ($lines lines: $head1)" \
  test "$lines" -ge "$N"
t_check "every line a session or the header" \
  test "$(grep -c 'VPN: public --> public  \|^ Current Total Sessions : ' /tmp/$P-table.txt)" -eq "$lines"
TV=$(timed /tmp/$P-verbose.txt "display firewall session table verbose") || t_fail "verbose exits 0"
bytes=$(stat -c %s /tmp/$P-verbose.txt)
vlines=$(wc -l </tmp/$P-verbose.txt)
t_check "verbose display complete in $TV s ($vlines lines, $bytes bytes > the old 16 MiB reply cap)" \
  test "$vlines" -ge $((N * 6)) -a "$bytes" -gt $((16 << 20))
TC=$(timed /tmp/$P-count.txt "display firewall session table verbose | count")
count=$(cat /tmp/$P-count.txt)
t_check "| count in $TC s: $count" grep -qE '^Total lines: [0-9]{6,}\.$' /tmp/$P-count.txt
TI=$(timed /tmp/$P-inc.txt "display firewall session table | include :5353 ")
t_check "| include keeps the flood's lines ($(wc -l </tmp/$P-inc.txt) in $TI s)" \
  test "$(wc -l </tmp/$P-inc.txt)" -ge $((N - 10))

# A reader that goes away: fwcli dies of SIGPIPE after 64 KiB; the daemon stops rendering and
# answers the next command at once.
ip netns exec $P-fw "$FW_BIN/fwcli" -s "$(lab_sock $P)" -c "display firewall session table verbose" |
  head -c 65536 >/dev/null
s=$(date +%s.%N)
out=$(fwcli_run $P "display firewall session table | count")
e=$(date +%s.%N)
t_check "after a reader left mid-display the next command answers ($out) in $(printf %.2f "$(echo "$e - $s" | bc)") s" \
  test "$(echo "$e - $s < 2" | bc)" = 1

# The interactive shell: More paging while the answer streams, q and Ctrl+C stop it.
pty_out=$(ip netns exec "$P-fw" /usr/bin/python3 "$(dirname "$0")/display_scale_pty.py" \
  "$FW_BIN/fwcli" "$(lab_sock $P)" "$N" 2>&1)
pty_rc=$?
echo "$pty_out"
t_check "interactive: paging, q and Ctrl+C on a streamed display" test "$pty_rc" -eq 0

# The ping went on every 0.1 s meanwhile.
sent_after=$(grep -c 'bytes from' /tmp/$P-ping.log)
lab_kill "$PING_PID"
# Sent = the sequence numbers from the first answer to the last; lost = those never answered.
seqs=$(sed -nE 's/.*icmp_seq=([0-9]+) .*/\1/p' /tmp/$P-ping.log | awk -v f="${seq_from:-0}" '$1 > f')
rx=$(grep -c . <<<"$seqs")
last=$(tail -n1 <<<"$seqs")
tx=$(( ${last:-0} - ${seq_from:-0} ))
lost=$(( tx - rx ))
echo "  ping: $tx sent, $rx answered, $lost lost ($((sent_after - sent_before)) answers during the displays)"
t_check "pings answered while the table was displayed ($lost of $tx lost)" \
  test "${tx:-0}" -gt 0 -a "$lost" -le $(( tx / 20 + 1 ))

fwcli_run $P "reset firewall session table" >/dev/null
sleep 1
RSS_DRAINED=$(rss_kb)
# DSCALE_SMAPS=FILE (by hand): where the memory still in use after the reset is, by mapping.
[[ -n ${DSCALE_SMAPS:-} ]] && { sleep 4; cat /proc/$FWD_PID/smaps >"$DSCALE_SMAPS"; echo "  RSS 5 s after the reset: $(rss_kb) kB"; gdb -p "$FWD_PID" -batch -ex "call (void)malloc_stats()" >/dev/null 2>&1; }
t_check "RSS after the table drained (${RSS_DRAINED} kB) less than half way from idle (${RSS_IDLE} kB) to full (${RSS_FULL} kB)" \
  test "$RSS_DRAINED" -le $(( (RSS_IDLE + RSS_FULL) / 2 ))
echo "  fwd RSS: idle ${RSS_IDLE} kB, at $N sessions ${RSS_FULL} kB, after reset ${RSS_DRAINED} kB"
fwd_stop $P || t_fail "fwd stops cleanly"
t_done
