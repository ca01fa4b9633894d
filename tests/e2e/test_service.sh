#!/usr/bin/env bash
# fwd as a systemd service, shown without systemd as PID 1 (these machines' PID 1 is not
# systemd): fwd is started as systemd would start it (NOTIFY_SOCKET, WATCHDOG_USEC,
# JOURNAL_STREAM) with tests/e2e/notify_listener.py on the notification socket.
#  - READY=1 only once the rules are in (iptables-save run the moment READY=1 arrives), STATUS=;
#  - WATCHDOG=1 every half interval; a stalled worker (hidden --debug-stall-worker + SIGUSR1)
#    stops them, logged once at error; they resume when it goes on;
#  - SIGHUP after editing the config file: RELOADING=1 then READY=1, the added rule in force and
#    saved, while a download through easy-ip started before completes byte for byte on its one
#    connection; a broken file is refused (logged) and the running configuration stays;
#  - STOPPING=1 at SIGTERM, and no rule of fwd left;
#  - log lines carry "<N>" priorities when stderr is the journal stream, not otherwise;
#  - debian/fwd.service: systemd-analyze verify (ExecStart pointed at the built fwd), its flags
#    known to fwd, the exposure score of systemd-analyze security; fwd with exactly the unit's
#    CapabilityBoundingSet starts, installs its rules and passes traffic, and fails without
#    CAP_NET_ADMIN, or without CAP_CHOWN when --group is given.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-svc
t_require_root
t_require_bins fwd fwcli
for b in systemd-analyze setpriv; do
  command -v $b >/dev/null || { t_fail "$b missing (scripts/deps)"; t_done; }
done
lab_up $P || { t_fail "lab_up"; t_done; }
WWW=/tmp/$P-www
NSOCK=/tmp/$P-notify.sock
NLOG=/tmp/$P-notify.log
CFG=/tmp/$P.cfg
CAPBIN=/tmp/$P-capbin
UNITDIR=/tmp/$P-unit
trap 'lab_down $P; rm -rf $WWW $NSOCK $NLOG $CFG $CAPBIN $UNITDIR /tmp/$P-dl.bin* /tmp/$P-ready.txt' EXIT
rm -f $NLOG /tmp/$P-fwd.log

mono() { $LAB_PY -c 'import time; print("%.3f" % time.clock_gettime(time.CLOCK_MONOTONIC))'; }
# pings_between T1 T2: WATCHDOG=1 messages the listener got in [T1, T2] (CLOCK_MONOTONIC).
pings_between() { awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b && /WATCHDOG=1/' $NLOG | wc -l; }
# wait_log PATTERN [SECONDS]: bounded wait for a line of fwd's log.
wait_log() {
  local i
  for ((i = 0; i < ${2:-10} * 10; i++)); do
    grep -q -- "$1" /tmp/$P-fwd.log && return 0
    sleep 0.1
  done
  return 1
}
# The configuration the service runs: the lab's, with easy-ip (the outside host has no route
# back: a flow that works is translated, and a reload that lost its NAT binding would break it).
write_cfg() {
  sed '/^return/d' "$LAB_REPO/etc/lab.cfg" >$CFG
  cat >>$CFG <<'EOF'
nat-policy
 rule name ez
  source-zone trust
  destination-zone untrust
  action source-nat easy-ip
#
EOF
  for extra in "$@"; do echo "$extra" >>$CFG; done
}

echo "notify: READY=1 after the rules, STATUS="
lab_bg $P fw /tmp/$P-listener.log $LAB_PY "$LAB_REPO/tests/e2e/notify_listener.py" \
  --socket $NSOCK --log $NLOG --on-ready "iptables-save" --ready-out /tmp/$P-ready.txt
for ((i = 0; i < 50; i++)); do [[ -S $NSOCK ]] && break; sleep 0.1; done
write_cfg
NOTIFY_SOCKET=$NSOCK WATCHDOG_USEC=2000000 fwd_start $P --config $CFG --queues 2 \
  --debug-stall-worker 6 || { t_fail "fwd start under NOTIFY_SOCKET"; t_done; }
for ((i = 0; i < 50; i++)); do grep -q READY=1 $NLOG && break; sleep 0.1; done
t_check "READY=1 received" grep -q "READY=1" $NLOG
t_check "when READY=1 came, fwd's queueing rules were in (iptables-save at that moment)" \
  bash -c "grep -Eq -- '^-A FWD-[A-Z]+ .*-j NFQUEUE --queue-balance 0:1' /tmp/$P-ready.txt &&
           grep -Eq -- '^-A PREROUTING .*-j FWD-' /tmp/$P-ready.txt"
t_check "READY=1 came with a STATUS= saying sessions and the configuration source" \
  grep -Eq "READY=1 \| STATUS=[0-9]+ sessions, .*configuration: $CFG" $NLOG
t_check "exactly one READY=1 so far" test "$(grep -c 'READY=1' $NLOG)" -eq 1
t_check "fwd logged the watchdog interval" grep -q "watchdog: 2000 ms; pinging every 1000 ms" \
  /tmp/$P-fwd.log

echo "watchdog: pings while the workers make progress, none while one is stuck"
t0=$(mono)
sleep 4.2
n=$(pings_between "$t0" "$(mono)")
t_check "WATCHDOG=1 about every second while healthy ($n in 4.2 s)" test "$n" -ge 3 -a "$n" -le 6
t_check "traffic passes (ping through easy-ip)" lab_ping $P in 203.0.113.2
kill -USR1 "$FWD_PID"
t1=$(mono)
t_check "the worker of queue 0 stalls (log)" wait_log "the worker of queue 0 stops for 6 s" 3
sleep 5.5
n=$(pings_between "$($LAB_PY -c "print($t1 + 2.6)")" "$($LAB_PY -c "print($t1 + 5.5)")")
t_check "no WATCHDOG=1 from 2.6 s to 5.5 s into the stall ($n)" test "$n" -eq 0
t_check "the stuck worker is logged at error" \
  grep -q "fwd\[error\] the worker of queue 0 has shown no progress for .* ms (watchdog interval 2000 ms)" \
  /tmp/$P-fwd.log
t_check "... once" test "$(grep -c 'has shown no progress' /tmp/$P-fwd.log)" -eq 1
t_check "the other worker was never reported" bash -c "! grep -q 'queue 1 has shown' /tmp/$P-fwd.log"
wait_log "the worker of queue 0 makes progress again" 5
t_check "pings resume when the worker goes on (log)" grep -q "makes progress again: watchdog pings resume" \
  /tmp/$P-fwd.log
sleep 1.5
n=$(pings_between "$($LAB_PY -c "print($t1 + 6)")" "$(mono)")
t_check "WATCHDOG=1 again after the stall ($n)" test "$n" -ge 1

echo "SIGHUP reload while a download runs through easy-ip"
mkdir -p $WWW
head -c 30M /dev/urandom >$WWW/big.bin
SHA=$(sha256sum <$WWW/big.bin | cut -d' ' -f1)
lab_http_server $P out 203.0.113.2 8080 $WWW || { t_fail "http server"; t_done; }
rm -f /tmp/$P-dl.bin
lab_bg $P in /tmp/$P-dl.bin.log curl -s -S --limit-rate 4M --max-time 60 -o /tmp/$P-dl.bin \
  http://203.0.113.2:8080/big.bin
DL_PID=$LAB_BG_PID
sleep 1.5
t_check "the download runs (an http session through easy-ip)" bash -c \
  "ip netns exec $P-fw $FW_BIN/fwcli -s $(lab_sock $P) -c 'display firewall session table' | grep -q ':8080'"
t_check "dmz -> outside denied before the reload" lab_ping_none $P dmz 203.0.113.2 2
# The edit: a security rule and a NAT rule for the dmz.
write_cfg "security-policy" " rule name svc-added" "  source-zone dmz" "  destination-zone untrust" \
  "  action permit" "nat-policy" " rule name svc-nat" "  source-zone dmz" \
  "  destination-zone untrust" "  action source-nat easy-ip"
h0=$(mono)
kill -HUP "$FWD_PID"
t_check "SIGHUP: reloaded (log)" wait_log "reloaded the configuration from $CFG (saved to /tmp/$P.db)" 10
cur=$(fwcli_run $P "display current-configuration")
t_check "the rule added to the file is in the running configuration" grep -q "rule name svc-added" <<<"$cur"
t_check "dmz -> outside now permitted and translated (the added rules work)" \
  lab_ping $P dmz 203.0.113.2
awk -v a="$h0" '$1 >= a' $NLOG | grep -Ev 'WATCHDOG=1$' >/tmp/$P-hup.txt
t_check "RELOADING=1 then READY=1 around the reload" test "$(grep -oE 'RELOADING=1|READY=1' \
  /tmp/$P-hup.txt | head -n 2 | tr '\n' ' ')" = "RELOADING=1 READY=1 "
t_check "the download is still the same session" bash -c \
  "ip netns exec $P-fw $FW_BIN/fwcli -s $(lab_sock $P) -c 'display firewall session table' | grep -q ':8080'"
echo " rule name half" >>$CFG
echo "  destination-zone nosuchzone" >>$CFG
kill -HUP "$FWD_PID"
t_check "a broken file is refused with file:line (log, error level)" \
  wait_log "fwd\[error\] reload refused, the running configuration stays: configuration error at $CFG:" 10
t_check "the running configuration stays as it was" \
  test "$(fwcli_run $P "display current-configuration")" = "$cur"
t_check "READY=1 again after the refused reload" test "$(grep -c 'READY=1' $NLOG)" -eq 3
rc=124
lab_wait_exit $DL_PID 60 && { wait $DL_PID; rc=$?; }
t_check "the download completed (curl rc=$rc)" test $rc -eq 0
t_check "byte for byte (sha256 of 30 MB)" test "$(sha256sum </tmp/$P-dl.bin | cut -d' ' -f1)" = "$SHA"
t_check "on its one connection (no error from curl)" test ! -s /tmp/$P-dl.bin.log

echo "STOPPING=1 at SIGTERM, rules removed"
fwd_stop $P TERM; rc=$?
t_check "SIGTERM: exit 0 (rc=$rc)" test $rc -eq 0
t_check "STOPPING=1 received" grep -q "STOPPING=1 | STATUS=stopping: removing the rules" $NLOG
t_check "no rule of fwd left" test -z "$(fw_rules_left $P)"

echo "journald priorities"
t_check "on a file/terminal the lines are as before (no <N>)" \
  grep -Eq '^[0-9-]{10} [0-9:]{8} fwd\[info\] ready: ' /tmp/$P-fwd.log
t_check "... and never a <N> prefix" bash -c "! grep -q '^<[0-9]>' /tmp/$P-fwd.log"
JOURNAL_STREAM=$(stat -c '%d:%i' /tmp/$P-fwd.log) fwd_start $P --no-config ||
  { t_fail "fwd start with JOURNAL_STREAM"; t_done; }
t_check "the reloaded configuration was saved (start from the database alone has svc-added)" \
  grep -q "rule name svc-added" <<<"$(fwcli_run $P "display current-configuration")"
fwd_stop $P TERM
t_check "with JOURNAL_STREAM = stderr: '<6>info: ready: ...'" grep -q '^<6>info: ready: ' /tmp/$P-fwd.log
t_check "... '<6>' on the stop line too" grep -q '^<6>info: signal 15: stopping' /tmp/$P-fwd.log
echo "nosuchcommand here" >$CFG
JOURNAL_STREAM=$(stat -c '%d:%i' /tmp/$P-fwd.log) ip netns exec $P-fw "$FW_BIN/fwd" --config $CFG \
  --socket /run/$P-x.sock >>/tmp/$P-fwd.log 2>&1
t_check "a start-up error is '<3>fwd: ...', on each of its lines" \
  bash -c "grep -q '^<3>fwd: configuration error at $CFG:1: Error: Unrecognized command' /tmp/$P-fwd.log &&
           grep -q '^<3>\[FW\]nosuchcommand here$' /tmp/$P-fwd.log && grep -q '^<3> *\^$' /tmp/$P-fwd.log"
JOURNAL_STREAM=1:2 ip netns exec $P-fw "$FW_BIN/fwd" --config $CFG --socket /run/$P-x.sock \
  2>/tmp/$P-other.txt
t_check "JOURNAL_STREAM naming another stream: no prefix" grep -q '^fwd: configuration error' /tmp/$P-other.txt
rm -f /tmp/$P-other.txt

echo "debian/fwd.service"
UNIT=$LAB_REPO/debian/fwd.service
mkdir -p $UNITDIR
sed "s|/usr/sbin/fwd|$FW_BIN/fwd|" "$UNIT" >$UNITDIR/fwd.service
out=$(systemd-analyze verify --man=no $UNITDIR/fwd.service 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
t_check "systemd-analyze verify: clean (rc=$rc)" test $rc -eq 0 -a -z "$out"
sed 's/^ProtectSystem=strict/ProtectSystm=strict/' $UNITDIR/fwd.service >$UNITDIR/bad.service
t_check "... and it would notice a misspelt option" \
  bash -c "systemd-analyze verify --man=no $UNITDIR/bad.service 2>&1 | grep -q 'Unknown key'"
unit_args=$(sed -n 's|^ExecStart=/usr/sbin/fwd ||p' "$UNIT")
# shellcheck disable=SC2086
t_check "fwd knows every flag of ExecStart ($unit_args)" bash -c "$FW_BIN/fwd $unit_args --help >/dev/null"
sec=$(systemd-analyze security --offline=yes $UNITDIR/fwd.service 2>&1 | grep 'Overall exposure')
echo "    $sec"
score=$(grep -oE '[0-9]+\.[0-9]+' <<<"$sec" | head -n 1)
t_check "systemd-analyze security: exposure ${score:-?} below 5.0 (systemd's 'OK' or better)" \
  awk -v s="${score:-99}" 'BEGIN { exit !(s < 5.0) }'

echo "capabilities: only the unit's bounding set"
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
# cap_net_admin cap_net_raw ... -> -all,+net_admin,+net_raw,...
bset="-all$(for c in $caps; do c=${c#CAP_}; printf ',+%s' "${c,,}"; done)"
mkdir -p $CAPBIN
ln -sf "$FW_BIN/fwcli" $CAPBIN/fwcli
capbin() {  # capbin BOUNDING-SET: a fwd that runs with it
  printf '#!/bin/sh\nexec setpriv --bounding-set=%s --inh-caps=-all --no-new-privs %s "$@"\n' \
    "$1" "$FW_BIN/fwd" >$CAPBIN/fwd
  chmod +x $CAPBIN/fwd
}
capbin "$bset"
rm -f /tmp/$P.db /tmp/$P.db.state
write_cfg
FW_BIN=$CAPBIN fwd_start $P --config $CFG --group daemon || t_fail "fwd start with $bset"
eff=$(awk '/^CapEff/ {print $2}' /proc/$FWD_PID/status)
t_check "fwd's effective capabilities are the bounding set ($bset: CapEff $eff)" \
  test "$eff" = "$(printf '%016x' $(( (1 << 12) | (1 << 13) | (1 << 0) )))"
t_check "its rules are in" test -n "$(fw_rules_left $P)"
t_check "traffic passes (ping through easy-ip)" lab_ping $P in 203.0.113.2
t_check "the socket has the group (chown)" test "$(stat -c %G "$(lab_sock $P)")" = daemon
fwd_stop $P TERM; rc=$?
t_check "stops cleanly (rc=$rc), rules removed" test $rc -eq 0 -a -z "$(fw_rules_left $P)"
capbin "-all,+net_raw,+chown"
out=$(FW_BIN=$CAPBIN FWD_START_TIMEOUT=5 fwd_start $P --config $CFG 2>&1); rc=$?
t_check "without CAP_NET_ADMIN fwd refuses to start" test $rc -ne 0
capbin "-all,+net_admin,+net_raw"
out=$(FW_BIN=$CAPBIN FWD_START_TIMEOUT=5 fwd_start $P --config $CFG --group daemon 2>&1); rc=$?
t_check "without CAP_CHOWN, --group fails (chown of the socket)" \
  bash -c "test $rc -ne 0 && tail -n 3 /tmp/$P-fwd.log | grep -q chown"
t_check "and no rule of fwd left after the refused starts" test -z "$(fw_rules_left $P)"
t_done
