#!/usr/bin/env bash
# The Debian package in a fresh Debian 12 root (debootstrap --variant=minbase bookworm, from the
# mirror this machine's apt uses, by tests/package/debian-root.sh; the debootstrap tarball is cached in
# build-pkg/cache/, shared with tests/e2e/test_service_nspawn.sh --make-tree):
#   1. scripts/package builds fwd (and lintian passes); --reuse --version V repackages the same
#      build as V (the upgrade); a third version, repacked with dpkg-deb, changes the default
#      /etc/fwd/fwd.cfg;
#   2. `apt-get install ./fwd_*.deb` in the root (dependencies from the archive); the files are
#      where they belong, fwd --check-config accepts /etc/fwd/fwd.cfg, fwcli --help, the group;
#      fwd runs for real in a network namespace of its own (only lo), fwcli talks to it over
#      /run/fwd/fwd.sock and `save`s, so /var/lib/fwd holds the database and the state file;
#   3. purge, then nothing of fwd is left: every path that is new since the fresh root is owned
#      by an installed package (the dependencies), except the group fwd (kept on purpose);
#   4. install again, edit /etc/fwd/fwd.cfg, upgrade to the repackaged version and to the one
#      with a changed default: the edit is kept both times (the second leaves fwd.cfg.dpkg-dist);
#   5. purge again: the root is exactly as after the first purge (paths, owners, modes, and the
#      contents of /etc);
#   6. systemd as PID 1: systemd is added to the root, which boots in systemd-nspawn (a network
#      namespace of its own: only lo); inside, `apt-get install ./fwd_*.deb` (dependencies put in
#      beforehand: the container has no network), `systemctl enable --now fwd`, `systemctl
#      status fwd` active, fwcli over the socket, `systemctl stop fwd` removes fwd's iptables
#      chains; the upgrade to V2 with fwd running and a TCP connection through it (the
#      container forwards between two namespaces, 198.18.1.2 -> 203.0.113.2, LAB.md's addresses):
#      the postinst restarts fwd holding its rules -- iptables-save polled every 50 ms in the
#      container finds fwd's chains and hooks in every sample, a new MainPID, the journal says
#      the old fwd stopped for a restart (a clean stop, no Restart=), the new one took the held
#      rules over and restored the sessions, the connection goes on (echoes every 0.1 s);
#      the upgrade to V3 of a running fwd whose unit is disabled restarts it too;
#      `apt-get purge fwd` with systemd running leaves no unit state behind.
# Mounts /proc and /dev/pts only while commands run in the root, unmounts (trap) on every exit.
#
#   tests/package/run.sh [--keep] [--reuse]   root
#     --keep    leave the root (path printed) for a look
#     --reuse   package the last scripts/package build again instead of compiling (quicker)
# Last line: "N passed, M failed".
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
KEEP=0
REUSE=()
while (($#)); do
  case $1 in
    --keep) KEEP=1 ;;
    --reuse) REUSE=(--reuse) ;;
    *) echo "usage: tests/package/run.sh [--keep] [--reuse]" >&2; exit 2 ;;
  esac
  shift
done
[[ $EUID -eq 0 ]] || { echo "tests/package/run.sh: needs root" >&2; exit 2; }

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "  ok    $1"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL  $1"; [[ -n ${2:-} ]] && sed 's/^/        /' <<<"$2" | head -n 40; }
check() {  # check NAME CMD...: passes when CMD exits 0 (its output shown on failure)
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}
T0=$SECONDS
phase() { printf -- '-- %s (%ds)\n' "$*" $((SECONDS - T0)); }

T=$(mktemp -d /var/tmp/fwd-pkgtest.XXXXXX)
ROOT=$T/root
NS=""
FWD_PID=""
NSPAWN_PID=""
NSI=""  # the boot phase's lab: a client namespace (trust) and a server namespace (untrust)
NSO=""
FLOW_PIDS=()
cleanup() {
  [[ -n $FWD_PID ]] && kill "$FWD_PID" 2>/dev/null && sleep 1
  for p in "${FLOW_PIDS[@]+"${FLOW_PIDS[@]}"}"; do kill "$p" 2>/dev/null; done
  if [[ -n $NSPAWN_PID ]]; then
    kill -TERM "$NSPAWN_PID" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$NSPAWN_PID" 2>/dev/null
  fi
  for n in "$NS" "$NSI" "$NSO"; do [[ -n $n ]] && ip netns del "$n" 2>/dev/null; done
  for m in "$ROOT/dev/pts" "$ROOT/proc"; do
    mountpoint -q "$m" && umount -l "$m"
  done
  if ((KEEP)); then echo "root kept: $ROOT"; else rm -rf "$T"; fi
}
trap cleanup EXIT

in_root() {  # in_root CMD...: runs CMD in the root with /proc and /dev/pts mounted
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  mountpoint -q "$ROOT/dev/pts" || mount -t devpts -o newinstance devpts "$ROOT/dev/pts"
  DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    chroot "$ROOT" "$@"
}
unmount_root() {
  for m in "$ROOT/dev/pts" "$ROOT/proc"; do mountpoint -q "$m" && umount "$m"; done
  return 0
}

# A listing of the root: path, type, mode, owner of everything outside the package manager's
# own state and logs; plus the checksum of every file under /etc.
snapshot() {
  (cd "$ROOT" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run \
      -o -path ./tmp -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
      -o -path ./var/log -o -path ./var/tmp \) -prune -o -printf '%p %y %m %u:%g\n' | sort
   cd "$ROOT" && find ./etc -type f -print0 | sort -z | xargs -0 md5sum)
}

# Paths of snapshot $1 that $2 lacks, and paths (and /etc files whose contents differ) in
# snapshot $2 but not $1 that no installed
# package accounts for: not in a package's file list (merged /usr: a listed /bin/x is
# /usr/bin/x), not a link to a file a package owns (alternatives, update-rc.d), not /etc/ld.so.cache
# (ldconfig, for the dependencies' libraries), not named by an installed package's postinst
# (files a dependency's maintainer script creates), not the group files (the group fwd stays).
# Prints them; returns 1 if there are any.
residue() {
  local before=$1 after=$2 owned maint new changed p t out=""
  maint=$(cat "$ROOT"/var/lib/dpkg/info/*.postinst 2>/dev/null)
  owned=$(cat "$ROOT"/var/lib/dpkg/info/*.list | sed -E 's#^/(bin|sbin|lib|lib64)/#/usr/\1/#; s#^#.#' | sort -u)
  new=$(comm -13 <(awk 'NF==4{print $1}' <<<"$before" | sort -u) <(awk 'NF==4{print $1}' <<<"$after" | sort -u))
  changed=$(join -j 2 <(awk 'NF==2' <<<"$before" | sort -k2,2) <(awk 'NF==2' <<<"$after" | sort -k2,2) |
    awk '$2 != $3 {print $1}')
  while read -r p; do
    [[ -z $p ]] && continue
    grep -qxF -- "$p" <<<"$owned" && continue
    # made by a dependency's maintainer script (netbase: /etc/hosts; readline-common: /etc/inputrc)
    grep -qF -- "${p#.}" <<<"$maint" && continue
    case $p in ./etc/ld.so.cache|./etc/group|./etc/group-|./etc/gshadow|./etc/gshadow-) continue ;; esac
    if [[ -L $ROOT/${p#./} ]]; then
      t=$(readlink "$ROOT/${p#./}")
      [[ $t == /etc/alternatives/* ]] && continue
      # an alternatives link, or an rc?.d link (update-rc.d), to a file a package owns
      [[ $t == /* ]] || t=$(realpath -m -s "${p#.}/../$t")
      t=$(sed -E 's#^/(bin|sbin|lib|lib64)/#/usr/\1/#' <<<"$t")
      grep -qxF -- ".$t" <<<"$owned" && continue
    fi
    out+="$p"$'\n'
  done < <(printf '%s\n%s\n' "$new" "$changed" | sort -u)
  # A path of the fresh root that is gone was removed by something it should not have been.
  while read -r p; do
    [[ -n $p ]] && out+="removed: $p"$'\n'
  done < <(comm -23 <(awk 'NF==4{print $1}' <<<"$before" | sort -u) <(awk 'NF==4{print $1}' <<<"$after" | sort -u))
  [[ -z $out ]] || { printf '%s' "$out"; return 1; }
}

# ---------------------------------------------------------------------------------------------
phase "build: scripts/package (lintian included)"
mapfile -t debs < <("$REPO/scripts/package" "${REUSE[@]}" --out "$T/dist1" | grep '\.deb$')
DEB1=$(printf '%s\n' "${debs[@]}" | grep -v dbgsym | head -n1)
[[ -f $DEB1 ]] || { fail "scripts/package built fwd_*.deb"; echo "$PASSED passed, $FAILED failed"; exit 1; }
pass "scripts/package: $(basename "$DEB1") (lintian clean)"
V1=$(dpkg-deb -f "$DEB1" Version)
V2=$V1+pkgtest1
V3=$V1+pkgtest2
phase "build: scripts/package --reuse --version $V2"
DEB2=$("$REPO/scripts/package" --reuse --no-lintian --version "$V2" --out "$T/dist2" | grep -v dbgsym | grep '\.deb$')
check "repackaged as $V2" test "$(dpkg-deb -f "$DEB2" Version)" = "$V2"
# V3: V2's contents with a different default configuration (a maintainer's change of the
# conffile) and the new version, repacked with dpkg-deb.
mkdir -p "$T/v3"
dpkg-deb -R "$DEB2" "$T/v3/fwd"
printf '#\n# a line the maintainer added in %s\n' "$V3" >>"$T/v3/fwd/etc/fwd/fwd.cfg"
sed -i "s/^Version: .*/Version: $V3/" "$T/v3/fwd/DEBIAN/control"
(cd "$T/v3/fwd" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
   xargs -0 md5sum >DEBIAN/md5sums)
DEB3=$T/v3/fwd_${V3}_$(dpkg-deb -f "$DEB2" Architecture).deb
dpkg-deb --root-owner-group -b "$T/v3/fwd" "$DEB3" >/dev/null
check "repacked as $V3 with a changed default fwd.cfg" test "$(dpkg-deb -f "$DEB3" Version)" = "$V3"

# ---------------------------------------------------------------------------------------------
phase "a fresh Debian 12 root: tests/package/debian-root.sh (debootstrap tarball cached in build-pkg/cache/)"
if ! out=$("$REPO/tests/package/debian-root.sh" "$ROOT" 2>&1); then
  fail "debootstrap (tests/package/debian-root.sh)" "$out"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
pass "a fresh Debian $(cat "$ROOT/etc/debian_version") root (minbase)"
phase "apt-get update in the root"
out=$(in_root apt-get update -qq 2>&1) || fail "apt-get update in the root" "$out"
S0=$(snapshot)

# ---------------------------------------------------------------------------------------------
# Not /tmp: the booted container mounts a tmpfs there. /var/cache is outside the snapshots.
mkdir -p "$ROOT/var/cache/fwd-pkgtest"
cp "$DEB1" "$DEB2" "$DEB3" "$ROOT/var/cache/fwd-pkgtest/"
D1=/var/cache/fwd-pkgtest/$(basename "$DEB1")
D2=/var/cache/fwd-pkgtest/$(basename "$DEB2")
D3=/var/cache/fwd-pkgtest/$(basename "$DEB3")
phase "apt-get install ./$(basename "$DEB1") (dependencies from the archive)"
if out=$(in_root apt-get install -y -q --no-install-recommends "$D1" 2>&1); then
  pass "apt-get install $D1: $(grep -oE '[0-9]+ newly installed' <<<"$out")"
else
  fail "apt-get install $D1" "$(tail -n 20 <<<"$out")"
fi
for f in /usr/sbin/fwd /usr/bin/fwcli; do check "$f is an executable" test -x "$ROOT$f"; done
for f in /usr/share/man/man8/fwd.8.gz /usr/share/man/man1/fwcli.1.gz \
         /lib/systemd/system/fwd.service /usr/share/doc/fwd/copyright \
         /usr/share/doc/fwd/examples/lab.cfg; do
  check "$f is installed" test -f "$ROOT$f"
done
check "/etc/fwd/fwd.cfg is a conffile of fwd" grep -qx ' */etc/fwd/fwd.cfg [0-9a-f]*' \
  <(in_root dpkg-query -W -f='${Conffiles}\n' fwd)
check "/var/lib/fwd exists (package directory)" test -d "$ROOT/var/lib/fwd"
check "the system group fwd exists" in_root getent group fwd
check "the man pages name their programs" \
  bash -c "zcat '$ROOT/usr/share/man/man8/fwd.8.gz' | grep -q '^\.TH FWD \"8\"' &&
           zcat '$ROOT/usr/share/man/man1/fwcli.1.gz' | grep -q '^\.TH FWCLI \"1\"'"
check "fwd --check-config --config /etc/fwd/fwd.cfg" in_root fwd --check-config --config /etc/fwd/fwd.cfg
check "fwd --version" in_root fwd --version
for f in "$REPO"/etc/examples/*.cfg; do
  [[ -e $f ]] || continue
  e=/usr/share/doc/fwd/examples/$(basename "$f")
  check "$e is installed and loads" in_root fwd --check-config --config "$e" --allow-absent-interface '*'
done
check "fwcli --help" bash -c "chroot '$ROOT' /usr/bin/fwcli --help | grep -q -- --socket"
check "fwd.service is not enabled (the package does not start it)" \
  bash -c "! ls '$ROOT'/etc/systemd/system/*.wants/fwd.service 2>/dev/null | grep -q ."

# fwd for real, in a network namespace that has only lo: the rules go into that namespace.
NS=fwdpkg$$
ip netns add "$NS"
mkdir -p "$ROOT/run/fwd"  # what the unit's RuntimeDirectory=fwd does
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
ip netns exec "$NS" chroot "$ROOT" /usr/sbin/fwd --config /etc/fwd/fwd.cfg \
  --db /var/lib/fwd/fwd.db --group fwd >"$T/fwd.log" 2>&1 &
FWD_PID=$!
for _ in $(seq 50); do
  grep -q 'ready:' "$T/fwd.log" && break
  kill -0 "$FWD_PID" 2>/dev/null || break
  sleep 0.2
done
if grep -q 'ready:' "$T/fwd.log"; then
  pass "fwd runs from the package (socket /run/fwd/fwd.sock)"
  check "fwcli (default socket) saves the configuration" \
    ip netns exec "$NS" chroot "$ROOT" /usr/bin/fwcli -c "save"
  check "the socket belongs to the group fwd" \
    test "$(stat -c %g "$ROOT/run/fwd/fwd.sock")" = "$(chroot "$ROOT" getent group fwd | cut -d: -f3)"
  kill -TERM "$FWD_PID"
  wait "$FWD_PID"
  rc=$?
  FWD_PID=""
  check "fwd stops on SIGTERM with 0" test "$rc" = 0
  check "/var/lib/fwd holds fwd.db and fwd.db.state" \
    test -f "$ROOT/var/lib/fwd/fwd.db" -a -f "$ROOT/var/lib/fwd/fwd.db.state"
else
  fail "fwd runs from the package" "$(cat "$T/fwd.log")"
  kill "$FWD_PID" 2>/dev/null
  FWD_PID=""
fi
ip netns del "$NS"
NS=""
rmdir "$ROOT/run/fwd" 2>/dev/null  # systemd removes the RuntimeDirectory at stop

phase "apt-get purge fwd"
out=$(in_root apt-get purge -y -q fwd 2>&1) || fail "apt-get purge fwd" "$(tail -n 20 <<<"$out")"
S1=$(snapshot)
check "the group fwd is kept after purge (see debian/fwd.postrm)" in_root getent group fwd
# Every path new since the fresh root must belong to an installed package (the dependencies).
if left=$(residue "$S0" "$S1"); then
  pass "purge leaves nothing of fwd (every new path belongs to an installed dependency)"
else
  fail "purge left paths that no installed package accounts for" "$left"
fi

# ---------------------------------------------------------------------------------------------
phase "conffile: install $V1, edit fwd.cfg, upgrade to $V2 and $V3"
out=$(in_root apt-get install -y -q "$D1" 2>&1) || fail "apt-get install $D1 (again)" "$(tail -n 20 <<<"$out")"
printf '#\n# the administrator was here\n' >>"$ROOT/etc/fwd/fwd.cfg"
out=$(in_root apt-get install -y -q "$D2" 2>&1) || fail "apt-get install $D2 (upgrade)" "$(tail -n 20 <<<"$out")"
check "upgraded to $V2" test "$(in_root dpkg-query -W -f='${Version}' fwd)" = "$V2"
check "$V2 kept the edit of /etc/fwd/fwd.cfg" grep -q 'the administrator was here' "$ROOT/etc/fwd/fwd.cfg"
out=$(in_root apt-get install -y -q -o Dpkg::Options::=--force-confdef \
      -o Dpkg::Options::=--force-confold "$D3" 2>&1) ||
  fail "apt-get install $D3 (upgrade)" "$(tail -n 20 <<<"$out")"
check "upgraded to $V3" test "$(in_root dpkg-query -W -f='${Version}' fwd)" = "$V3"
check "$V3 (changed default) kept the edit" grep -q 'the administrator was here' "$ROOT/etc/fwd/fwd.cfg"
check "$V3's default is beside it as fwd.cfg.dpkg-dist" grep -q "maintainer added in $V3" \
  "$ROOT/etc/fwd/fwd.cfg.dpkg-dist"
check "the edited configuration still loads" in_root fwd --check-config --config /etc/fwd/fwd.cfg

phase "apt-get purge fwd (again)"
out=$(in_root apt-get purge -y -q fwd 2>&1) || fail "apt-get purge fwd" "$(tail -n 20 <<<"$out")"
unmount_root
S2=$(snapshot)
d=$(diff <(echo "$S1") <(echo "$S2"))
if [[ -z $d ]]; then
  pass "after the second purge the root is as after the first (no /etc/fwd, no /var/lib/fwd)"
else
  fail "the second purge left differences" "$d"
fi
check "no /etc/fwd and no /var/lib/fwd" test ! -e "$ROOT/etc/fwd" -a ! -e "$ROOT/var/lib/fwd"

# ---------------------------------------------------------------------------------------------
# The boot phase's lab (LAB.md addresses): a client namespace (198.18.1.2) and a server namespace
# (203.0.113.2), each joined by a veth pair to the container (in0 198.18.1.1 trust, out0
# 203.0.113.1 untrust), which forwards between them through the fwd that systemd runs.
lab_links() {
  NSI=fwdpkgi$$
  NSO=fwdpkgo$$
  ip netns add "$NSI" && ip netns add "$NSO" &&
    ip -n "$NSI" link add c0 type veth peer name in0 netns "$init" &&
    ip -n "$NSO" link add s0 type veth peer name out0 netns "$init" &&
    ip -n "$NSI" addr add 198.18.1.2/24 dev c0 && ip -n "$NSI" link set c0 up &&
    ip -n "$NSI" route add default via 198.18.1.1 &&
    ip -n "$NSO" addr add 203.0.113.2/24 dev s0 && ip -n "$NSO" link set s0 up &&
    ip -n "$NSO" route add default via 203.0.113.1 &&
    nsenter -t "$init" -n sh -c 'ip addr add 198.18.1.1/24 dev in0 && ip link set in0 up &&
      ip addr add 203.0.113.1/24 dev out0 && ip link set out0 up &&
      sysctl -qw net.ipv4.ip_forward=1'
}
lab_config() {
  printf '%s\n' "sysname FW" "firewall zone trust" " add interface in0" "firewall zone untrust" \
    " add interface out0" "security-policy" " rule name trust-to-untrust" "  source-zone trust" \
    "  destination-zone untrust" "  action permit" >"$ROOT/etc/fwd/fwd.cfg"
}

# An established TCP connection from the client to the server through fwd: the client sends a
# numbered line every 0.1 s and waits (up to 20 s) for its echo, until the file $1 exists.
# Prints the time of each echo, then "alive after N lines" (exit 0) or what went wrong (exit 1).
FLOW_CLIENT='exec 3<>/dev/tcp/203.0.113.2/7777 || exit 2
i=0
while [ ! -e "$1" ]; do
  i=$((i + 1))
  echo "line $i" >&3
  IFS= read -t 20 -r l <&3 || { echo "no echo of line $i within 20 s"; exit 1; }
  [ "$l" = "line $i" ] || { echo "line $i came back as: $l"; exit 1; }
  echo "t $EPOCHREALTIME"
  sleep 0.1
done
echo "alive after $i lines"'
FLOW_SERVER='import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.2", 7777))
s.listen(1)
c, _ = s.accept()
while True:
    d = c.recv(4096)
    if not d:
        break
    c.sendall(d)'
# In the container, every 50 ms until /var/cache/fwd-pkgtest/poll.stop exists: the time, fwd's
# chains (":FWD-" in iptables-save, every table), its hooks marked active, and those marked held.
POLLER='while [ ! -e /var/cache/fwd-pkgtest/poll.stop ]; do
  s=$(iptables-save)
  echo "$(date +%s.%N) $(grep -c "^:FWD-" <<<"$s") $(grep -c -- "^-A .*FWD-active" <<<"$s") $(grep -c -- "^-A .*FWD-held" <<<"$s")"
  sleep 0.05
done'

# fwd enabled and running, a TCP connection through it: `apt-get install` of the higher version
# restarts it holding its rules (debian/fwd.postinst): the rules never leave, a new fwd takes
# them over and restores the sessions, the connection goes on.
upgrade_phase() {
  phase "upgrade $V1 -> $V2 under systemd, fwd running, a TCP connection through it"
  local pid0 pid1 out rc=0 t0 took since client poller crc j old stop=$T/flow.stop
  rm -f "$ROOT/var/cache/fwd-pkgtest/poll.stop" "$stop"
  pid0=$(inside systemctl show -p MainPID --value fwd)
  ip netns exec "$NSO" /usr/bin/python3 -c "$FLOW_SERVER" &
  FLOW_PIDS+=($!)
  sleep 0.5
  ip netns exec "$NSI" bash -c "$FLOW_CLIENT" flow "$stop" >"$T/flow.log" 2>&1 &
  client=$!
  FLOW_PIDS+=("$client")
  nsenter -t "$init" -a bash -c "$POLLER" >"$T/poll.log" 2>&1 &
  poller=$!
  FLOW_PIDS+=("$poller")
  sleep 1.5
  check "the connection is up before the upgrade" bash -c "(($(grep -c '^t ' "$T/flow.log") >= 5))"
  since=$(inside date +%s)
  t0=$SECONDS
  out=$(inside apt-get install -y -q "$D2" 2>&1) || rc=$?
  took=$((SECONDS - t0))
  sleep 1.5  # the connection goes on after the upgrade
  touch "$ROOT/var/cache/fwd-pkgtest/poll.stop" "$stop"
  wait "$poller"
  crc=0
  wait "$client" || crc=$?
  if ((rc == 0)); then pass "apt-get install $D2 (upgrade) with fwd running: ${took}s"; else
    fail "apt-get install $D2 (upgrade) with fwd running" "$(tail -n 20 <<<"$out")"; fi
  check "upgraded to $V2" test "$(inside dpkg-query -W -f='${Version}' fwd)" = "$V2"
  check "the postinst restarted fwd holding its rules" \
    grep -q 'restarting the running fwd with the new binary, its rules held' <<<"$out"
  # The poll: every sample must show fwd's chains and its hooks (active or held).
  local n gaps held
  n=$(awk 'NF == 4' "$T/poll.log" | wc -l)
  gaps=$(awk 'NF == 4 && ($2 == 0 || $3 + $4 == 0)' "$T/poll.log" | wc -l)
  held=$(awk 'NF == 4 && $4 > 0' "$T/poll.log" | wc -l)
  echo "        iptables-save polled $n times in the container ($held samples with the hooks held)"
  echo "        longest interval between two samples: $(awk 'NF == 4 {if (p) {d = $1 - p; if (d > m) m = d}; p = $1}
    END {printf "%.2f s", m}' "$T/poll.log")"
  check "polled iptables-save at least 5 times a second during the upgrade" \
    test "$n" -ge $(((took + 3) * 5))
  if ((n > 0 && gaps == 0)); then pass "fwd's chains and hooks were in every sample (never absent)"; else
    fail "fwd's rules were absent in $gaps of $n samples" "$(awk '$2 == 0 || $3 + $4 == 0' "$T/poll.log" | head)"; fi
  pid1=$(inside systemctl show -p MainPID --value fwd)
  check "active again, a new MainPID ($pid0 -> $pid1)" \
    test "$(inside systemctl is-active fwd)" = active -a "$pid1" != "$pid0" -a "$pid1" != 0
  # from the old fwd's stop on (--since has whole seconds); the old fwd's own lines by its PID
  j=$(inside journalctl -u fwd -o cat --since "@$since" | sed -n '/stopped for a restart: the rules stay/,$p')
  old=$(inside journalctl _PID="$pid0" -o cat)
  check "the old fwd got SIGUSR2 and left its rules in place" \
    grep -q 'stopped for a restart: the rules stay' <<<"$j"
  check "systemd took its exit 0 as a clean stop (no Restart=on-failure)" \
    bash -c "grep -q 'Deactivated successfully' <<<\"\$1\" && ! grep -q 'Scheduled restart' <<<\"\$1\"" _ "$j"
  check "the old fwd got SIGUSR2, never SIGTERM (no prerm stop)" \
    bash -c "grep -q 'signal 12: stopping for a restart' <<<\"\$1\" && ! grep -q 'signal 15' <<<\"\$1\"" _ "$old"
  check "the new fwd took over the held rules" \
    grep -q 'took over the rules the previous fwd held for a restart' <<<"$j"
  check "... and restored the sessions (the connection's among them)" \
    grep -qE 'restored [1-9][0-9]* sessions .* from /var/lib/fwd/fwd.db.state' <<<"$j"
  grep -E 'stopped for a restart|Deactivated|took over|restored' <<<"$j" | sed 's/^/        journal: /'
  if ((crc == 0)); then
    pass "the TCP connection survived the upgrade: $(tail -n 1 "$T/flow.log"), longest wait for an echo $(
      awk '$1 == "t" {if (p) {d = $2 - p; if (d > m) m = d}; p = $2} END {printf "%.2f s", m}' "$T/flow.log")"
  else
    fail "the TCP connection survived the upgrade (client exit $crc)" "$(tail -n 5 "$T/flow.log")"
  fi
  FLOW_PIDS=()
  # A running fwd whose unit is disabled is restarted all the same (deb-systemd-invoke would
  # not start it again: it would stay stopped, its rules holding the traffic).
  phase "upgrade $V2 -> $V3 with fwd running but its unit disabled"
  check "systemctl disable fwd (it keeps running)" inside systemctl disable fwd
  pid0=$(inside systemctl show -p MainPID --value fwd)
  rc=0
  out=$(inside apt-get install -y -q -o Dpkg::Options::=--force-confold "$D3" 2>&1) || rc=$?
  if ((rc == 0)); then pass "apt-get install $D3 (upgrade)"; else
    fail "apt-get install $D3 (upgrade)" "$(tail -n 20 <<<"$out")"; fi
  pid1=$(inside systemctl show -p MainPID --value fwd)
  check "still disabled, active with a new MainPID ($pid0 -> $pid1)" \
    test "$(inside systemctl is-enabled fwd) $(inside systemctl is-active fwd)" = "disabled active" \
    -a "$pid1" != "$pid0" -a "$pid1" != 0
  check "the new fwd took over the held rules" \
    bash -c "nsenter -t $init -a journalctl _PID=$pid1 -o cat | grep -q 'took over the rules the previous fwd held'"
  check "traffic passes through it" ip netns exec "$NSI" ping -c 1 -W 2 203.0.113.2
}

# ---------------------------------------------------------------------------------------------
boot_phase() {
  phase "systemd: add systemd to the root, install fwd's dependencies"
  local out deps
  out=$(in_root apt-get install -y -q --no-install-recommends systemd systemd-sysv dbus 2>&1) ||
    { fail "apt-get install systemd in the root" "$(tail -n 20 <<<"$out")"; return; }
  deps=$(dpkg-deb -f "$DEB1" Depends)
  out=$(in_root apt-get satisfy -y -q --no-install-recommends "$deps" 2>&1) ||
    { fail "apt-get satisfy '$deps'" "$(tail -n 20 <<<"$out")"; return; }
  unmount_root
  phase "systemd-nspawn --boot"
  systemd-nspawn -D "$ROOT" --boot --register=no --keep-unit --private-network \
    -M "fwdpkg$$" >"$T/nspawn.log" 2>&1 &
  NSPAWN_PID=$!
  local init="" state=""
  for _ in $(seq 100); do
    init=$(pgrep -P "$NSPAWN_PID" -x systemd | head -n1)
    [[ -n $init ]] && state=$(nsenter -t "$init" -a systemctl is-system-running 2>/dev/null)
    [[ $state == running || $state == degraded ]] && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.3
  done
  if [[ $state != running && $state != degraded ]]; then
    fail "systemd boots as PID 1 in systemd-nspawn (state '$state')" "$(tail -n 30 "$T/nspawn.log")"
    return
  fi
  pass "systemd boots as PID 1 in systemd-nspawn (system $state)"
  inside() { nsenter -t "$init" -a env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
  lab_links || { fail "the lab's links into the container"; return; }
  local rc=0
  out=$(inside apt-get install -y -q --no-install-recommends "$D1" 2>&1) || rc=$?
  if ((rc == 0)); then pass "apt-get install $D1 under systemd"; else
    fail "apt-get install $D1 under systemd" "$(tail -n 20 <<<"$out")"; fi
  check "fwd.service is installed disabled" \
    bash -c "nsenter -t $init -a systemctl is-enabled fwd | grep -qx disabled"
  check "installing did not start fwd" \
    bash -c "nsenter -t $init -a systemctl is-active fwd | grep -qx inactive"
  lab_config
  check "systemctl enable --now fwd" inside systemctl enable --now fwd
  sleep 1
  out=$(inside systemctl status fwd --no-pager 2>&1)
  if grep -q 'Active: active (running)' <<<"$out"; then
    pass "systemctl status fwd: active (running)"
  else
    fail "systemctl status fwd: active (running)" "$out"
  fi
  sed 's/^/        /' <<<"$out" | head -n 12
  check "fwcli talks to the service over /run/fwd/fwd.sock" inside fwcli -c "display version"
  check "fwd's iptables chains are in place" \
    bash -c "nsenter -t $init -a iptables-save -t mangle | grep -q '^:FWD-PRE'"
  check "systemctl stop fwd" inside systemctl stop fwd
  check "stopping removed fwd's iptables chains" \
    bash -c "! nsenter -t $init -a iptables-save | grep -q 'FWD-'"
  check "systemctl start fwd (again)" inside systemctl start fwd
  check "traffic passes through it (client 198.18.1.2 -> server 203.0.113.2)" \
    ip netns exec "$NSI" ping -c 1 -W 2 203.0.113.2
  upgrade_phase
  rc=0
  out=$(inside apt-get purge -y -q fwd 2>&1) || rc=$?
  if ((rc == 0)); then pass "apt-get purge fwd under systemd (service running)"; else
    fail "apt-get purge fwd under systemd (service running)" "$(tail -n 20 <<<"$out")"; fi
  check "the service is gone after purge" \
    bash -c "! nsenter -t $init -a systemctl cat fwd >/dev/null 2>&1"
  check "no fwd process after purge" bash -c "! nsenter -t $init -a pgrep -x fwd"
  check "no /var/lib/fwd, /etc/fwd, /run/fwd after purge" \
    bash -c "! ls -d '$ROOT/var/lib/fwd' '$ROOT/etc/fwd' /proc/$init/root/run/fwd 2>/dev/null | grep -q ."
  check "no unit state left (deb-systemd-helper, /etc/systemd)" \
    bash -c "! find '$ROOT/etc/systemd' '$ROOT/var/lib/systemd/deb-systemd-helper-enabled' -name 'fwd*' | grep -q ."
  kill -TERM "$NSPAWN_PID"  # nspawn shuts the container down cleanly
  wait "$NSPAWN_PID" 2>/dev/null
  NSPAWN_PID=""
}
if command -v systemd-nspawn >/dev/null; then
  boot_phase
else
  fail "systemd-nspawn not found (scripts/deps installs systemd-container)"
fi
phase "done"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
