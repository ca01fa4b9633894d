#!/usr/bin/env bash
# debian/fwd.service under a real systemd: PID 1 of a systemd-nspawn container (a Debian 12 tree
# with systemd). The CI machine's PID 1 is not systemd, but nspawn can boot one here
# (--register=no --keep-unit: there is no systemd/D-Bus on the host to register with).
# The container joins the network namespace of a lab firewall (lib.sh), so the lab's hosts send
# traffic through the fwd that systemd runs.
#  - `systemctl start`: active only after READY=1, StatusText from fwd, rules in, the socket
#    /run/fwd/fwd.sock with group fwd; the sandbox really applied to the process (capability
#    bounding set, NoNewPrivs, seccomp, / read-only);
#  - ping through easy-ip; `systemctl reload` after editing /etc/fwd/fwd.cfg (rules for the dmz)
#    while a 30 MB download runs through easy-ip: same PID, the added rules in force, the download
#    completes byte for byte on its connection; a broken
#    file: refused, the error in `journalctl -p err` (journald got the priority), config unchanged;
#  - watchdog: a stalled queue worker (drop-in: WatchdogSec=4s, --debug-stall-worker; SIGUSR1)
#    -> "Watchdog timeout", SIGABRT, Restart=on-failure starts a new fwd that replaces the rules;
#    SIGSTOP of the whole process: the same;
#  - ProtectKernelTunables=yes (left out of the unit) would stop fwd from starting;
#  - the documented restart that holds the rules: `systemctl kill --kill-whom=main -s USR2`, wait
#    until inactive, `systemctl start`: a clean exit (no Restart=), hooks held meanwhile, a new
#    fwd that takes them over, traffic passes;
#  - `systemctl stop`: every rule of fwd gone, a foreign rule stays.
# The tree: FWD_NSPAWN_TREE (default /var/tmp/fwd-nspawn-tree). Without it the test is skipped;
#   tests/e2e/test_service_nspawn.sh --make-tree    builds it: the Debian 12 minbase root of
#     tests/package/debian-root.sh (its debootstrap tarball cached in build-pkg/cache/, shared
#     with the package test) plus systemd and fwd's libraries from the archive (~1 min warm).
#     scripts/test runs it before the e2e stage when the tree is missing.
# fwd, fwcli and the unit are copied into the tree from this checkout at each run.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
T_NAME=test_service_nspawn
TREE=${FWD_NSPAWN_TREE:-/var/tmp/fwd-nspawn-tree}
PKGS=systemd,systemd-sysv,dbus,iproute2,iptables,libnetfilter-queue1,libmnl0,libsqlite3-0
PKGS+=,libboost-program-options1.74.0,libreadline8,procps  # procps: /bin/kill of ExecReload
PKGS+=,libpcap0.8  # fwd --replay (capture/)

if [[ ${1:-} == --make-tree ]]; then
  [[ $EUID -eq 0 ]] || { echo "needs root"; exit 1; }
  [[ -e $TREE ]] && { echo "$TREE exists"; exit 1; }
  rm -rf "$TREE.part"
  "$LAB_REPO/tests/package/debian-root.sh" "$TREE.part" || exit 1
  mount -t proc proc "$TREE.part/proc" || exit 1
  DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$TREE.part" \
    sh -c "apt-get update -qq && apt-get install -y -q --no-install-recommends ${PKGS//,/ } >/dev/null &&
           apt-get clean"
  rc=$?
  umount "$TREE.part/proc"
  ((rc == 0)) || { echo "apt-get install in the tree failed"; exit 1; }
  mv "$TREE.part" "$TREE"
  echo "made $TREE"
  exit 0
fi
t_require_root
t_require_bins fwd fwcli
command -v systemd-nspawn >/dev/null || t_skip "no systemd-nspawn (systemd-container)"
[[ -x $TREE/lib/systemd/systemd ]] || t_skip "no container tree $TREE (--make-tree builds one)"

# The tree: this checkout's fwd, fwcli and unit; a configuration on a veth pair made before fwd.
install -m 755 "$FW_BIN/fwd" "$TREE/usr/sbin/fwd"
install -m 755 "$FW_BIN/fwcli" "$TREE/usr/bin/fwcli"
install -m 644 "$LAB_REPO/debian/fwd.service" "$TREE/etc/systemd/system/fwd.service"
# A tree made before fwd needed another library cannot run it: say so instead of 30 failures.
missing=$(chroot "$TREE" ldd /usr/sbin/fwd 2>&1 | grep 'not found')
[[ -z $missing ]] || { t_fail "the tree $TREE lacks libraries of fwd (remove it; --make-tree rebuilds it with PKGS): $missing"; t_done; }
rm -rf "$TREE/etc/systemd/system/fwd.service.d" "$TREE/var/lib/fwd"
chroot "$TREE" sh -c 'getent group fwd >/dev/null || groupadd --system fwd'
mkdir -p "$TREE/etc/fwd"
write_cfg() {  # the lab's configuration with easy-ip, plus extra lines
  { sed '/^return/d' "$LAB_REPO/etc/lab.cfg"
    printf 'nat-policy\n rule name ez\n  source-zone trust\n  destination-zone untrust\n'
    printf '  action source-nat easy-ip\n'
    for l in "$@"; do echo "$l"; done; } >"$TREE/etc/fwd/fwd.cfg"
}
write_cfg
rm -f "$TREE/etc/systemd/system/fwtest-links.service" \
  "$TREE/etc/systemd/system/multi-user.target.wants/fwtest-links.service"
chroot "$TREE" systemctl enable fwd.service >/dev/null 2>&1

# The container runs in the lab's firewall namespace: the lab's hosts send traffic through it.
P=fwt-nspawn
lab_up $P || { t_fail "lab_up"; t_done; }
WWW=/tmp/$P-www
LOG=/tmp/$T_NAME-boot.log
systemd-nspawn -D "$TREE" --boot --register=no --keep-unit --network-namespace-path=/run/netns/$P-fw \
  --capability=CAP_NET_ADMIN,CAP_NET_RAW \
  --console=pipe >"$LOG" 2>&1 &
NSPAWN=$!
trap 'kill $NSPAWN 2>/dev/null; lab_wait_exit $NSPAWN 10 || kill -9 $NSPAWN 2>/dev/null; lab_down $P;
      rm -rf $WWW /tmp/$P-dl.bin*' EXIT
INIT=
for ((i = 0; i < 100; i++)); do
  INIT=$(pgrep -P $NSPAWN -x systemd | head -n 1)
  [[ -n $INIT ]] && break
  sleep 0.1
done
[[ -n $INIT ]] || { t_fail "the container's systemd did not start"; cat "$LOG"; t_done; }
C() { nsenter -t "$INIT" -a "$@"; }
state=
for ((i = 0; i < 60; i++)); do
  state=$(C systemctl is-system-running 2>/dev/null)
  [[ $state == running || $state == degraded ]] && break
  sleep 0.5
done
t_check "systemd is PID 1 of the container and the system is up ($state)" \
  test "$state" = running
prop() { C systemctl show -p "$1" --value fwd; }

echo "start"
t_check "fwd.service active (Type=notify: after READY=1)" test "$(prop ActiveState)" = active
t_check "StatusText from fwd" grep -q "configuration: /etc/fwd/fwd.cfg" <<<"$(prop StatusText)"
t_check "its rules are in" test "$(C iptables-save | grep -c 'FWD-active')" -ge 3
t_check "socket /run/fwd/fwd.sock, group fwd, 0660" \
  test "$(C stat -c '%A %G' /run/fwd/fwd.sock)" = "srw-rw---- fwd"
t_check "fwcli answers" bash -c "nsenter -t $INIT -a fwcli -s /run/fwd/fwd.sock -c 'display version' >/dev/null"
PID=$(prop MainPID)
st=$(C cat /proc/"$PID"/status)
t_check "bounding set = CAP_NET_ADMIN CAP_NET_RAW CAP_CHOWN" grep -q "^CapBnd:.*0000000000003001" <<<"$st"
t_check "NoNewPrivs" grep -Eq "^NoNewPrivs:[[:space:]]+1" <<<"$st"
t_check "seccomp filter (SystemCallFilter)" grep -Eq "^Seccomp:[[:space:]]+2" <<<"$st"
t_check "ProtectSystem=strict: / is read-only for fwd" \
  bash -c "nsenter -t $INIT -a cat /proc/$PID/mountinfo | awk '\$5 == \"/\" {print \$6}' | grep -q '^ro'"
t_check "... /var/lib/fwd is writable (StateDirectory)" \
  bash -c "nsenter -t $INIT -a cat /proc/$PID/mountinfo | awk '\$5 == \"/var/lib/fwd\" {print \$6}' | grep -q '^rw'"

t_check "accept_local=1 on the zone interface in0 (fwd writes /proc/sys/net: no ProtectKernelTunables)" \
  test "$(C cat /proc/sys/net/ipv4/conf/in0/accept_local)" = 1

t_check "traffic passes: ping inside -> outside through easy-ip" lab_ping $P in 203.0.113.2
t_check "dmz -> outside denied" lab_ping_none $P dmz 203.0.113.2 2

echo "reload while a download runs"
mkdir -p $WWW
head -c 30M /dev/urandom >$WWW/big.bin
SHA=$(sha256sum <$WWW/big.bin | cut -d' ' -f1)
lab_http_server $P out 203.0.113.2 8080 $WWW || t_fail "http server"
lab_bg $P in /tmp/$P-dl.bin.log curl -s -S --limit-rate 4M --max-time 60 -o /tmp/$P-dl.bin \
  http://203.0.113.2:8080/big.bin
DL_PID=$LAB_BG_PID
sleep 1.5
write_cfg "security-policy" " rule name added-by-reload" "  source-zone dmz" \
  "  destination-zone untrust" "  action permit" "nat-policy" " rule name dmz-ez" \
  "  source-zone dmz" "  destination-zone untrust" "  action source-nat easy-ip"
C systemctl reload fwd
t_check "dmz -> outside permitted after the reload" lab_ping $P dmz 203.0.113.2
t_check "systemctl reload: still active, same PID" test "$(prop ActiveState) $(prop MainPID)" = "active $PID"
t_check "the added rule is in force" \
  bash -c "nsenter -t $INIT -a fwcli -s /run/fwd/fwd.sock -c 'display current-configuration' | grep -q 'rule name added-by-reload'"
t_check "nothing at error priority in the journal so far" test -z "$(C journalctl -b -u fwd -p err -o cat)"
echo "nosuchcommand" >>"$TREE/etc/fwd/fwd.cfg"
C systemctl reload fwd
t_check "a broken file: still active, same PID" test "$(prop ActiveState) $(prop MainPID)" = "active $PID"
err=$(C journalctl -b -u fwd -p err -o cat)
sed 's/^/    journal (err): /' <<<"$err"
t_check "its error is in the journal at error priority, all three lines" \
  bash -c 'test "$(grep -cE "reload refused.*Unrecognized command|^\[FW[^]]*\]nosuchcommand$|^ *\^$" <<<"$1")" -eq 3' _ "$err"
t_check "the running configuration stays" \
  bash -c "nsenter -t $INIT -a fwcli -s /run/fwd/fwd.sock -c 'display current-configuration' | grep -q 'rule name added-by-reload'"
sed -i '$d' "$TREE/etc/fwd/fwd.cfg"
rc=124
lab_wait_exit $DL_PID 60 && { wait $DL_PID; rc=$?; }
t_check "the download across both reloads completed (curl rc=$rc)" test $rc -eq 0
t_check "... byte for byte (sha256 of 30 MB), on its one connection" \
  test "$(sha256sum </tmp/$P-dl.bin | cut -d' ' -f1)" = "$SHA" -a ! -s /tmp/$P-dl.bin.log

echo "watchdog"
mkdir -p "$TREE/etc/systemd/system/fwd.service.d"
cat >"$TREE/etc/systemd/system/fwd.service.d/stall-test.conf" <<EOF
[Service]
WatchdogSec=4s
ExecStart=
ExecStart=$(sed -n 's/^ExecStart=\(.\)/\1/p' "$LAB_REPO/debian/fwd.service") --debug-stall-worker 60
EOF
C systemctl daemon-reload
C systemctl restart fwd
PID=$(prop MainPID)
sleep 6
t_check "healthy for 6 s with WatchdogSec=4s (same PID, no restart)" \
  test "$(prop MainPID) $(prop NRestarts)" = "$PID 0"
C systemctl kill -s USR1 --kill-whom=main fwd
for ((i = 0; i < 200; i++)); do [[ $(prop NRestarts) == 1 && $(prop ActiveState) == active ]] && break; sleep 0.1; done
j=$(C journalctl -b -u fwd -o cat -n 40)
has() { grep -q -- "$1" <<<"$j"; }
t_check "a stalled worker: logged at error, then systemd's watchdog timeout" \
  has "error: the worker of queue 0 has shown no progress"
t_check "... \"Watchdog timeout\", SIGABRT" bash -c "$(declare -f has); j=\$(cat); has 'Watchdog timeout' && has 'status=6/ABRT'" <<<"$j"
t_check "... restarted (NRestarts=1, a new PID, active)" \
  test "$(prop NRestarts) $(prop ActiveState)" = "1 active" -a "$(prop MainPID)" != "$PID"
t_check "... the new fwd replaced the rules the killed one left" \
  has "did not stop cleanly"
PID=$(prop MainPID)
C kill -STOP "$PID"
for ((i = 0; i < 200; i++)); do [[ $(prop NRestarts) == 2 && $(prop ActiveState) == active ]] && break; sleep 0.1; done
t_check "SIGSTOP of fwd: restarted by the watchdog too" \
  test "$(prop NRestarts) $(prop ActiveState)" = "2 active" -a "$(prop MainPID)" != "$PID"
rm -rf "$TREE/etc/systemd/system/fwd.service.d"
C systemctl daemon-reload

echo "ProtectKernelTunables=yes would break it"
mkdir -p "$TREE/etc/systemd/system/fwd.service.d"
printf '[Service]\nProtectKernelTunables=yes\n' >"$TREE/etc/systemd/system/fwd.service.d/pkt.conf"
C systemctl daemon-reload
C systemctl restart fwd
t_check "with ProtectKernelTunables=yes fwd refuses to start (cannot set accept_local)" bash -c \
  "nsenter -t $INIT -a journalctl -b -u fwd -o cat -n 20 | grep -q 'cannot set accept_local/rp_filter on'"
rm -rf "$TREE/etc/systemd/system/fwd.service.d"
C systemctl daemon-reload
C systemctl reset-failed fwd
C systemctl start fwd
t_check "without it: active again" test "$(prop ActiveState)" = active

echo "restart holding the rules (docs/operations.md, fwd(8): what the package's upgrade does)"
PID=$(prop MainPID)
since=$(C date +%s)
# exactly the documented commands (the wait bounded here)
C systemctl kill --kill-whom=main -s USR2 fwd
for ((i = 0; i < 100; i++)); do C systemctl is-active -q fwd || break; sleep 0.1; done
held=$(C iptables-save | grep -cE -- "-A .*FWD-(active|held)")
C systemctl start fwd
NEW=$(prop MainPID)
# from the old fwd's last line on (--since has whole seconds: the earlier restarts may share one)
j=$(C journalctl -b -u fwd -o cat --since "@$since" | sed -n '/stopped for a restart: the rules stay/,$p')
t_check "SIGUSR2: the old fwd stopped, its hooks still in ($held)" \
  bash -c "(($held >= 3)) && grep -q 'stopped for a restart: the rules stay' <<<\"\$1\"" _ "$j"
grep -E 'stopped for a restart|Main process|Deactivated|Scheduled restart|took over|restored' <<<"$j" |
  sed 's/^/    journal: /'
t_check "... a clean stop for systemd, no auto-restart (Restart=on-failure)" \
  bash -c "grep -q 'Deactivated successfully' <<<\"\$1\" && ! grep -q 'Scheduled restart' <<<\"\$1\"" _ "$j"
t_check "systemctl start: active, a new PID ($PID -> $NEW)" \
  test "$(prop ActiveState)" = active -a "$NEW" != "$PID"
t_check "the new fwd took the held rules over" \
  grep -q 'took over the rules the previous fwd held for a restart' <<<"$j"
t_check "traffic passes after it" lab_ping $P in 203.0.113.2

echo "stop"
C iptables -A INPUT -p tcp --dport 9 -m comment --comment foreign -j ACCEPT
t_check "after the restarts traffic passes again" lab_ping $P in 203.0.113.2
C systemctl stop fwd
t_check "systemctl stop: inactive (not failed)" test "$(prop ActiveState)" = inactive
t_check "no rule of fwd left (v4, v6)" \
  test "$({ C iptables-save; C ip6tables-save; } | grep -cE 'FWD|NFQUEUE')" -eq 0
t_check "the foreign rule stays" bash -c "nsenter -t $INIT -a iptables-save | grep -q foreign"
t_done
