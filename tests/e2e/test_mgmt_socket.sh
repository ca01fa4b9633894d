#!/usr/bin/env bash
# fwd's management socket under abuse (limits of ipc/README.md), with a real fwd:
# - --max-clients 8: 40 idle root connections are held; root gets places beyond the limit (up to
#   twice it) while nobody has been idle 2 s, evicts the longest-idle one after that; the rest
#   get a clear error; meanwhile new flows pass the firewall, one more root
#   fwcli changes the configuration, a non-root user outside --group is refused. The same with 40
#   connections of a group member: refused with "Too many CLI connections".
# - a connection announcing a 16 MiB request and sending part of it is closed after the frame
#   timeout (~10 s); fwd's RSS does not grow by anything near 16 MiB and comes back.
# - a request announcing more than 16 MiB is refused at once; fwcli with a 20 MB command on stdin
#   fails fast with a clear error; fwd keeps serving.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ctl.sh"
P=fwt-mgmt
GROUP=daemon   # an existing system group: its members may use the socket (--group)
t_require_root
t_require_bins fwd fwcli
command -v setpriv >/dev/null || t_skip "setpriv missing"
getent group $GROUP >/dev/null || t_skip "no group $GROUP"
lab_up $P || { t_fail "lab_up"; t_done; }
PY=/tmp/$P-ctl.py
trap 'lab_down $P; rm -rf /tmp/$P-www $PY /tmp/$P-hold-*.txt /tmp/$P-partial.txt /tmp/$P-big.*' EXIT
lab_out_route_inside $P
www=/tmp/$P-www; mkdir -p $www; echo mgmt-ok >$www/index.txt
lab_http_server $P out 203.0.113.2 80 $www || t_fail "http server on the outside host"
ctl_py_write $PY; chmod 0644 $PY
SOCK=$(lab_sock $P)

http_ok() { test "$(ip netns exec $P-in curl -s -m 4 http://203.0.113.2/index.txt)" = mgmt-ok; }
# as_user USER GROUP command...: run a command in P-fw as USER:GROUP with no other groups.
as_user() {
  local u=$1 g=$2; shift 2
  timeout 20 ip netns exec $P-fw setpriv --reuid "$u" --regid "$g" --clear-groups "$@"
}

fwd_start $P --max-clients 8 --group $GROUP || { t_fail "fwd starts with --max-clients 8"; t_done; }
t_check "fwd answers" fwcli_run $P "display version"

# hold_check NAME WHO EXPECT_RE MAX_OPEN: the result of a holder (file /tmp/P-hold-NAME.txt):
# 8 (the limit) to MAX_OPEN open, the rest of the 40 closed, each closed one with a message
# matching EXPECT_RE.
hold_check() {
  local name=$1 who=$2 re=$3 max_open=$4 f=/tmp/$P-hold-$1.txt
  local open closed good
  open=$(grep -c '^open$' "$f")
  closed=$(grep -c '^closed ' "$f")
  good=$(grep '^closed ' "$f" | grep -cE -- "$re")
  echo "    $who: $open open, $closed closed; messages:"
  grep -v '^open$\|^READY$' "$f" | sort | uniq -c | sed 's/^/      /'
  t_check "$who: 8 to $max_open connections stay open ($open)" test "$open" -ge 8 -a "$open" -le "$max_open"
  t_check "$who: the others are closed ($closed)" test $((open + closed)) -eq 40
  t_check "$who: each closed one got a clear error message ($good of $closed)" \
    test "$good" -eq "$closed" -a "$closed" -gt 0
}

# start_holder NAME [setpriv args]: 40 idle connections held (<= 240 s), waits until they are in.
start_holder() {
  local name=$1; shift
  local f=/tmp/$P-hold-$name.txt
  rm -f "$f"
  if (($#)); then
    lab_bg $P fw "/tmp/$P-holder-$name.log" setpriv "$@" --clear-groups "$LAB_PY" $PY hold "$SOCK" 40 "$f" 240
  else
    lab_bg $P fw "/tmp/$P-holder-$name.log" "$LAB_PY" $PY hold "$SOCK" 40 "$f" 240
  fi
  HOLDER_PID=$LAB_BG_PID
  ctl_wait_file_line "$f" '^READY$' 30 || { cat "/tmp/$P-holder-$name.log"; return 1; }
}

echo "40 idle root connections, --max-clients 8"
start_holder root || t_fail "root holder opened its connections"
# Root: nobody has been idle for 2 s yet, so root gets places beyond the limit (up to 16), then
# is told to retry; a connection idle for 2 s would be evicted instead.
hold_check root "root" \
  'Error: This idle connection was closed to make room for a root session \(limit 8|Error: Too many CLI connections \(1[0-9] open, limit 8\)' 16
t_check "holder still running (connections held)" lab_pid_alive "$HOLDER_PID"
t_check "held: ping inside -> outside works" lab_ping $P in 203.0.113.2
t_check "held: HTTP (curl) inside -> outside works" http_ok
t_check "held: root fwcli changes the configuration (sysname HELD1)" \
  timeout 20 ip netns exec $P-fw "$FW_BIN/fwcli" -s "$SOCK" -c "system-view; sysname HELD1"
t_check "held: display current-configuration shows sysname HELD1" \
  grep -q '^ *sysname HELD1$' <<<"$(timeout 20 ip netns exec $P-fw "$FW_BIN/fwcli" -s "$SOCK" -c "display current-configuration")"
out=$(as_user nobody nogroup "$FW_BIN/fwcli" -s "$SOCK" -c "display version" 2>&1); rc=$?
echo "    nobody (socket 0660 root:$GROUP): rc=$rc: $out"
t_check "held: nobody:nogroup is refused (rc=$rc)" test $rc -ne 0 -a $rc -ne 124
t_check "held: nobody's refusal says permission denied" grep -qi "permission denied" <<<"$out"
# The file mode keeps nobody away before fwd sees it; open the mode so fwd's own check answers.
chmod 0666 "$SOCK"
out=$(as_user nobody nogroup "$FW_BIN/fwcli" -s "$SOCK" -c "display version" 2>&1); rc=$?
echo "    nobody (socket 0666): rc=$rc: $out"
t_check "held, socket 0666: fwd itself refuses nobody (rc=$rc)" test $rc -ne 0 -a $rc -ne 124
t_check "held, socket 0666: fwd's message names the reason" \
  grep -q "Error: Permission denied: uid 65534 is not root and not in group $GROUP" <<<"$out"
chmod 0660 "$SOCK"
lab_kill "$HOLDER_PID"

echo "40 idle connections of a member of group $GROUP, --max-clients 8"
start_holder member --reuid nobody --regid $GROUP || t_fail "member holder opened its connections"
hold_check member "group member" 'Error: Too many CLI connections \(8 open, limit 8\); try again later\.' 8
out=$(as_user nobody $GROUP "$FW_BIN/fwcli" -s "$SOCK" -c "display version" 2>&1); rc=$?
echo "    one more member: rc=$rc: $out"
t_check "held: one more member's fwcli is refused (rc=$rc)" test $rc -ne 0 -a $rc -ne 124
t_check "held: ... with 'Too many CLI connections'" grep -q "Too many CLI connections" <<<"$out"
t_check "held: root fwcli still gets in (sysname HELD2)" \
  timeout 20 ip netns exec $P-fw "$FW_BIN/fwcli" -s "$SOCK" -c "system-view; sysname HELD2"
t_check "held: display current-configuration shows sysname HELD2" \
  grep -q '^ *sysname HELD2$' <<<"$(fwcli_run $P "display current-configuration")"
t_check "held: ping inside -> outside works" lab_ping $P in 203.0.113.2
t_check "held: HTTP (curl) inside -> outside works" http_ok
lab_kill "$HOLDER_PID"
t_check "after the holder: a member's fwcli gets in" \
  as_user nobody $GROUP "$FW_BIN/fwcli" -s "$SOCK" -c "display version"

echo "a 16 MiB request announced, 1 MiB of it sent"
for _ in 1 2 3 4 5; do fwcli_run $P "display current-configuration" >/dev/null; done
sleep 1
rss0=$(ctl_rss_kb "$FWD_PID"); hwm0=$(ctl_hwm_kb "$FWD_PID"); vsz0=$(ctl_vsz_kb "$FWD_PID")
echo "    fwd RSS before: ${rss0} kB (peak so far ${hwm0} kB), virtual ${vsz0} kB"
f=/tmp/$P-partial.txt; rm -f $f
lab_bg $P fw /tmp/$P-partial.log "$LAB_PY" $PY partial "$SOCK" $((16 << 20)) $((1 << 20)) $f
ctl_wait_file_line $f '^sent ' 10 || t_fail "partial request sent"
max=$rss0 vmax=$vsz0
for ((i = 0; i < 80; i++)); do   # <= 40 s
  r=$(ctl_rss_kb "$FWD_PID"); [[ -n $r ]] && ((r > max)) && max=$r
  r=$(ctl_vsz_kb "$FWD_PID"); [[ -n $r ]] && ((r > vmax)) && vmax=$r
  grep -q '^closed \|^open-after' $f && break
  sleep 0.5
done
res=$(grep '^closed \|^open-after' $f)
echo "    $res"
echo "    fwd RSS peak while held: $max kB (+$((max - rss0)) kB), virtual +$((vmax - vsz0)) kB"
secs=$(awk '/^closed / {print int($2)}' $f)
t_check "partial request: connection closed by fwd" grep -q '^closed ' <<<"$res"
t_check "partial request: closed after the frame timeout (~10 s; took ${secs:-?} s)" \
  test -n "$secs" -a "${secs:-0}" -ge 9 -a "${secs:-99}" -le 14
t_check "partial request: fwd says the request was not completed in time" \
  grep -q "Error: The request was not completed within" <<<"$res"
t_check "partial request: RSS grew by less than 4 MiB while held (+$((max - rss0)) kB)" \
  test $((max - rss0)) -lt 4096
# Not even reserved: a buffer sized from the announced length would show here untouched.
t_check "partial request: virtual size grew by less than 8 MiB (+$((vmax - vsz0)) kB)" \
  test $((vmax - vsz0)) -lt 8192
hwm1=$(ctl_hwm_kb "$FWD_PID")
t_check "partial request: peak RSS grew by less than 4 MiB (+$((hwm1 - hwm0)) kB)" \
  test $((hwm1 - hwm0)) -lt 4096
sleep 2
rss1=$(ctl_rss_kb "$FWD_PID")
echo "    fwd RSS after: ${rss1} kB ($((rss1 - rss0)) kB vs before)"
t_check "partial request: RSS back to its level afterwards (within 1 MiB: $((rss1 - rss0)) kB)" \
  test $((rss1 - rss0)) -lt 1024
t_check "fwd still answers after the partial request" fwcli_run $P "display version"

echo "a request announcing 20000000 bytes"
res=$(timeout 20 ip netns exec $P-fw "$LAB_PY" $PY announce "$SOCK" 20000000)
echo "    $res"
t_check "oversize announcement: refused and closed at once" grep -qE '^closed [0-2]\.' <<<"$res"
t_check "oversize announcement: 'Request too large (20000000 bytes, limit 16777216 bytes)'" \
  grep -q "Error: Request too large (20000000 bytes, limit 16777216 bytes)" <<<"$res"

echo "fwcli with a 20 MB command on stdin"
head -c 20000000 /dev/zero | tr '\0' x >/tmp/$P-big.in
t0=$(date +%s%N)
timeout 20 ip netns exec $P-fw "$FW_BIN/fwcli" -s "$SOCK" </tmp/$P-big.in >/tmp/$P-big.out 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "    rc=$rc after ${ms} ms: $(head -c 300 /tmp/$P-big.out)"
t_check "20 MB command: fwcli did not hang (rc=$rc)" test $rc -ne 124 -a $rc -ne 137
t_check "20 MB command: fwcli exits non-zero" test $rc -ne 0
t_check "20 MB command: within a few seconds (${ms} ms < 5000)" test $ms -lt 5000
t_check "20 MB command: clear error (command too long ... not sent)" \
  grep -q "command too long.*not sent" /tmp/$P-big.out
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_check "fwd keeps serving: display version" fwcli_run $P "display version"
t_check "fwd keeps serving: configuration change (sysname AFTER)" \
  fwcli_run $P "system-view; sysname AFTER"
t_check "fwd keeps serving: current-configuration shows sysname AFTER" \
  grep -q '^ *sysname AFTER$' <<<"$(fwcli_run $P "display current-configuration")"
t_check "traffic still passes: ping inside -> outside" lab_ping $P in 203.0.113.2

fwd_stop $P TERM; rc=$?
t_check "SIGTERM: fwd exits 0 (rc=$rc)" test $rc -eq 0
t_done
