# shellcheck shell=bash
# Lab topology and helpers shared by the end-to-end tests, scripts/lab and bench/throughput/run.
# Source it; needs root. Every name carries a caller prefix P so labs never collide:
#
#   P-in  (198.18.1.2, 2001:db8:1::2) eth0 --veth-- in0a \
#                                                        bridge in0 (198.18.1.1, 2001:db8:1::1)  trust
#   P-in2 (198.18.1.3, 2001:db8:1::3) eth0 --veth-- in0b /
#   P-dmz (198.18.2.2, 2001:db8:2::2) eth0 --veth-- dmz0 (198.18.2.1, 2001:db8:2::1)           dmz
#   P-out (203.0.113.2, 2001:db8:3::2) eth0 --veth-- out0 (203.0.113.1, 2001:db8:3::1)         untrust
#                                               (all of the right-hand side is in P-fw)
#
# Inside and dmz hosts route everything via the firewall. The outside host has NO default route
# (an un-translated inside address must fail loudly, see docs/LAB.md); tests that need the
# outside host to answer an inside host without NAT call lab_out_route_inside.
#
# Typical test:
#   source "$(dirname "$0")/lib.sh"; P=fwt-basic
#   lab_up $P; trap 'lab_down $P' EXIT
#   fwd_start $P; fwcli_run $P "display firewall session table"

LAB_REPO=${LAB_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FW_BUILD_DIR=${FW_BUILD_DIR:-$LAB_REPO/build}
FW_BIN=${FW_BIN:-$FW_BUILD_DIR/bin}
LAB_STATE_DIR=${LAB_STATE_DIR:-/run/fwlab}
# Debian's interpreter (python3 on PATH may be a separate one without Debian's packages).
LAB_PY=${LAB_PY:-/usr/bin/python3}

lab_log() { echo "[lab] $*" >&2; }

_lab_pidfile() { echo "$LAB_STATE_DIR/$1.pids"; }

# lab_pid_track PREFIX PID...: remember PIDs so lab_down stops them.
lab_pid_track() {
  local p=$1; shift
  mkdir -p "$LAB_STATE_DIR"
  local pid
  for pid in "$@"; do echo "$pid" >>"$(_lab_pidfile "$p")"; done
}

# True while PID exists and is not a zombie.
lab_pid_alive() {
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# lab_wait_exit PID SECONDS: wait (bounded) until PID is gone; 0 if it went.
lab_wait_exit() {
  local pid=$1 secs=${2:-10} i
  for ((i = 0; i < secs * 10; i++)); do
    lab_pid_alive "$pid" || return 0
    sleep 0.1
  done
  return 1
}

# lab_kill PID: TERM, bounded wait, then KILL.
lab_kill() {
  local pid=$1
  lab_pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  lab_wait_exit "$pid" 5 && return 0
  kill -KILL "$pid" 2>/dev/null || true
  lab_wait_exit "$pid" 3 || true
}

lab_ns() { echo "$1-$2"; }              # lab_ns PREFIX fw|in|in2|dmz|out
lab_exec() { local p=$1 h=$2; shift 2; ip netns exec "$p-$h" "$@"; }

_lab_hosts=(fw in in2 dmz out)

# lab_up PREFIX: create the namespaces, links, addresses and routes. Removes a stale lab first.
lab_up() {
  local p=$1 h ns
  [[ $EUID -eq 0 ]] || { lab_log "lab_up needs root"; return 1; }
  [[ ${#p} -le 20 ]] || { lab_log "prefix too long: $p"; return 1; }
  lab_down "$p" 2>/dev/null || true
  # A lab starts from its own configuration: the saved one of an earlier run (which fwd would
  # load instead of etc/lab.cfg) and its saved sessions go, and so does fwd's log of an earlier
  # run (tests grep it: a stale "attack ended" once made test_halfopen read too early).
  rm -f "/tmp/$p.db" "/tmp/$p.db-journal" "/tmp/$p.db.state" "/tmp/$p-fwd.log"
  for h in "${_lab_hosts[@]}"; do
    ns=$p-$h
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    # Addresses must be usable at once: no duplicate address detection anywhere.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
      net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 >/dev/null
  done
  local fw=$p-fw
  ip netns exec "$fw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv6.conf.default.forwarding=1 >/dev/null
  # Frames bridged between the two inside hosts must not go through iptables (and the queue).
  if [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
    ip netns exec "$fw" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
      net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 >/dev/null 2>&1 || true
  fi

  # Trust: a bridge named in0 with one veth port per inside host.
  ip -n "$fw" link add in0 type bridge forward_delay 0 stp_state 0 || return 1
  _lab_veth "$p" in0a in "198.18.1.2/24" "2001:db8:1::2/64" in0 || return 1
  _lab_veth "$p" in0b in2 "198.18.1.3/24" "2001:db8:1::3/64" in0 || return 1
  _lab_addr "$fw" in0 198.18.1.1/24 2001:db8:1::1/64
  _lab_veth "$p" dmz0 dmz "198.18.2.2/24" "2001:db8:2::2/64" || return 1
  _lab_addr "$fw" dmz0 198.18.2.1/24 2001:db8:2::1/64
  _lab_veth "$p" out0 out "203.0.113.2/24" "2001:db8:3::2/64" || return 1
  _lab_addr "$fw" out0 203.0.113.1/24 2001:db8:3::1/64

  for h in in in2; do
    ip -n "$p-$h" route add default via 198.18.1.1
    ip -6 -n "$p-$h" route add default via 2001:db8:1::1
  done
  ip -n "$p-dmz" route add default via 198.18.2.1
  ip -6 -n "$p-dmz" route add default via 2001:db8:2::1
  # P-out: only 203.0.113.0/24 and 2001:db8:3::/64 (connected). See lab_out_route_inside.
  # The bridge reports carrier a moment after its ports come up.
  local i
  for ((i = 0; i < 50; i++)); do
    ip netns exec "$fw" grep -q 1 /sys/class/net/in0/carrier 2>/dev/null && break
    sleep 0.1
  done
  lab_log "lab $p up"
}

# _lab_veth PREFIX FWIF HOST V4 V6 [BRIDGE]: veth pair FWIF (in P-fw) <-> eth0 (in P-HOST).
_lab_veth() {
  local p=$1 fwif=$2 host=$3 v4=$4 v6=$5 br=${6:-}
  local tmp="lv$$${RANDOM}"
  tmp=${tmp:0:15}
  ip link add "$tmp" netns "$p-$host" type veth peer name "$fwif" netns "$p-fw" || return 1
  ip -n "$p-$host" link set "$tmp" name eth0 || return 1
  ip netns exec "$p-$host" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 >/dev/null 2>&1 || true
  ip -n "$p-$host" addr add "$v4" dev eth0
  ip -n "$p-$host" addr add "$v6" dev eth0 nodad
  ip -n "$p-$host" link set eth0 up
  if [[ -n $br ]]; then
    ip -n "$p-fw" link set "$fwif" master "$br" || return 1
  fi
  ip -n "$p-fw" link set "$fwif" up
}

_lab_addr() {
  local ns=$1 dev=$2 v4=$3 v6=$4
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.accept_dad=0" >/dev/null 2>&1 || true
  ip -n "$ns" addr add "$v4" dev "$dev"
  ip -n "$ns" addr add "$v6" dev "$dev" nodad
  ip -n "$ns" link set "$dev" up
}

# lab_out_route_inside PREFIX: let the outside host answer inside hosts while there is no NAT.
# (Goes away for tests that use NAT: then the outside host only ever sees 203.0.113.0/24.)
lab_out_route_inside() {
  local p=$1
  ip -n "$p-out" route replace 198.18.1.0/24 via 203.0.113.1
  ip -6 -n "$p-out" route replace 2001:db8:1::/64 via 2001:db8:3::1
}

# lab_out_route_dmz PREFIX: same for the dmz segment.
lab_out_route_dmz() {
  local p=$1
  ip -n "$p-out" route replace 198.18.2.0/24 via 203.0.113.1
  ip -6 -n "$p-out" route replace 2001:db8:2::/64 via 2001:db8:3::1
}

# lab_offload_off PREFIX: TX/RX checksum offload off on every lab veth (needed before checking
# TCP/UDP checksums in captures).
lab_offload_off() {
  local p=$1 dev
  for dev in in0a in0b dmz0 out0; do
    ip netns exec "$p-fw" ethtool -K "$dev" tx off rx off >/dev/null 2>&1 || true
  done
  ip netns exec "$p-fw" ethtool -K in0 tx off >/dev/null 2>&1 || true
  for h in in in2 dmz out; do
    ip netns exec "$p-$h" ethtool -K eth0 tx off rx off >/dev/null 2>&1 || true
  done
}

# lab_down PREFIX: stop every tracked PID, anything else still running in the lab's namespaces,
# delete the namespaces (which deletes the veths and any iptables rules left there). Idempotent.
lab_down() {
  local p=$1 pf pid h ns
  pf=$(_lab_pidfile "$p")
  if [[ -f $pf ]]; then
    while read -r pid; do
      [[ $pid =~ ^[0-9]+$ ]] && lab_kill "$pid"
    done <"$pf"
    rm -f "$pf"
  fi
  for h in "${_lab_hosts[@]}"; do
    ns=$p-$h
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" || continue
    # Processes we started inside our own namespace that were not tracked (e.g. children).
    for pid in $(ip netns pids "$ns" 2>/dev/null); do lab_kill "$pid"; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f "/run/$p.sock"
  return 0
}

# ---------------------------------------------------------------------------------------------
# fwd / fwcli

lab_sock() { echo "/run/$1.sock"; }

# fwd_start PREFIX [fwd args...]: start build/bin/fwd in P-fw, wait until it answers on its socket.
# Defaults: --socket /run/P.sock --db /tmp/P.db --config etc/lab.cfg. Pass --config/--db to
# override; pass --no-config (a lib option, not given to fwd) to start without a config file.
# Logs to /tmp/P-fwd.log. Sets FWD_PID. Returns non-zero (printing the log tail) when fwd exits
# or does not answer within FWD_START_TIMEOUT seconds (default 15).
fwd_start() {
  local p=$1; shift
  local args=() want_config=1 want_db=1 a
  for a in "$@"; do
    case $a in
      --no-config) want_config=0; continue ;;
      --config|--config=*) want_config=0 ;;
      --db|--db=*) want_db=0 ;;
    esac
    args+=("$a")
  done
  ((want_db)) && args=(--db "/tmp/$p.db" "${args[@]}")
  ((want_config)) && args=(--config "$LAB_REPO/etc/lab.cfg" "${args[@]}")
  local sock log
  sock=$(lab_sock "$p")
  log=/tmp/$p-fwd.log
  [[ -x $FW_BIN/fwd ]] || { lab_log "no $FW_BIN/fwd (build first)"; return 1; }
  rm -f "$sock"
  echo "== fwd ${args[*]} --socket $sock ($(date +%T))" >>"$log"
  ip netns exec "$p-fw" "$FW_BIN/fwd" --socket "$sock" "${args[@]}" >>"$log" 2>&1 &
  FWD_PID=$!
  lab_pid_track "$p" "$FWD_PID"
  local i timeout=${FWD_START_TIMEOUT:-15}
  for ((i = 0; i < timeout * 5; i++)); do
    if ! lab_pid_alive "$FWD_PID"; then
      wait "$FWD_PID" 2>/dev/null; local rc=$?
      lab_log "fwd exited during start (rc=$rc); log tail:"
      tail -n 20 "$log" >&2
      return 1
    fi
    if [[ -S $sock ]] && ip netns exec "$p-fw" "$FW_BIN/fwcli" -s "$sock" -c "display version" \
        >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  lab_log "fwd did not answer on $sock within ${timeout}s; log tail:"
  tail -n 20 "$log" >&2
  return 1
}

# fwd_stop PREFIX [SIGNAL]: signal FWD_PID (default TERM), wait (bounded) and return its exit code
# (128+n for a signal; 124 when it did not exit in time, then it is killed).
fwd_stop() {
  local p=$1 sig=${2:-TERM} pid=${FWD_PID:-}
  [[ -n $pid ]] || { lab_log "fwd_stop: no FWD_PID"; return 1; }
  kill "-$sig" "$pid" 2>/dev/null || true
  if ! lab_wait_exit "$pid" "${FWD_STOP_TIMEOUT:-10}"; then
    lab_log "fwd (pid $pid) did not exit within ${FWD_STOP_TIMEOUT:-10}s after SIG$sig; killing"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 124
  fi
  local rc=0
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

# fwcli_run PREFIX "cmd1; cmd2": run commands through fwcli; prints the output, returns its code.
fwcli_run() {
  local p=$1; shift
  ip netns exec "$p-fw" "$FW_BIN/fwcli" -s "$(lab_sock "$p")" -c "$*"
}

# fw_stat PREFIX "Label": one counter of `display firewall statistics` (empty if absent).
fw_stat() {
  local p=$1 label=$2
  fwcli_run "$p" "display firewall statistics" 2>/dev/null |
    sed -nE "s/^[[:space:]]*${label}[[:space:]]*:[[:space:]]*([0-9]+).*/\1/p" | head -n1
}

# fw_rule_hits PREFIX RULE: the HITS column of `display security-policy rule all` for RULE.
fw_rule_hits() {
  local p=$1 rule=$2
  fwcli_run "$p" "display security-policy rule all" 2>/dev/null |
    awk -v r="$rule" '$2 == r && $NF ~ /^[0-9]+$/ {print $NF; exit}'
}

# fw_rules_left PREFIX: the daemon's leftover queueing rules in P-fw (empty when none).
fw_rules_left() {
  local p=$1
  { ip netns exec "$p-fw" iptables-save; ip netns exec "$p-fw" ip6tables-save; } 2>/dev/null |
    grep -E -- '-j NFQUEUE|--comment "?fwd|FWD-' || true
}

# ---------------------------------------------------------------------------------------------
# Small checks with PASS/FAIL accounting. A test calls t_ok/t_fail (or t_check), then t_done.

T_PASS=0
T_FAIL=0
T_NAME=${T_NAME:-$(basename "$0" .sh)}
t_ok() { T_PASS=$((T_PASS + 1)); echo "  PASS: $*"; }
t_fail() { T_FAIL=$((T_FAIL + 1)); echo "  FAIL: $*"; }
# t_check "description" command...: PASS when the command succeeds.
t_check() {
  local d=$1; shift
  if "$@"; then t_ok "$d"; else t_fail "$d"; fi
}
# t_check_not "description" command...: PASS when the command fails.
t_check_not() {
  local d=$1; shift
  if "$@"; then t_fail "$d"; else t_ok "$d"; fi
}
# t_done: print the result line and exit with 0 only if every check passed.
t_done() {
  if ((T_FAIL == 0 && T_PASS > 0)); then
    echo "RESULT $T_NAME: PASS ($T_PASS checks)"
    exit 0
  fi
  echo "RESULT $T_NAME: FAIL ($T_FAIL of $((T_PASS + T_FAIL)) checks failed)"
  exit 1
}
# t_require_root / t_require_bins: skip (exit 77) when the test cannot run here.
t_skip() { echo "RESULT $T_NAME: SKIP ($*)"; exit 77; }
t_require_root() { [[ $EUID -eq 0 ]] || t_skip "needs root"; }
t_require_bins() {
  local b
  for b in "$@"; do
    [[ -x $FW_BIN/$b ]] || { echo "RESULT $T_NAME: FAIL (missing $FW_BIN/$b; build first)"; exit 1; }
  done
}

# ---------------------------------------------------------------------------------------------
# Traffic helpers (all bounded in time).

# lab_ping PREFIX HOST DST [COUNT]: 0 if at least one reply. -6 chosen by the address.
lab_ping() {
  local p=$1 h=$2 dst=$3 n=${4:-3} fam=-4
  [[ $dst == *:* ]] && fam=-6
  ip netns exec "$p-$h" ping "$fam" -n -q -c "$n" -i 0.2 -W 1 -w $((n + 2)) "$dst" >/dev/null 2>&1
}

# lab_ping_none PREFIX HOST DST [COUNT]: 0 if no reply at all.
lab_ping_none() { ! lab_ping "$@"; }

# lab_bg PREFIX HOST LOGFILE command...: run a command in P-HOST in the background, tracked.
# Sets LAB_BG_PID.
lab_bg() {
  local p=$1 h=$2 log=$3; shift 3
  ip netns exec "$p-$h" "$@" >"$log" 2>&1 &
  LAB_BG_PID=$!
  lab_pid_track "$p" "$LAB_BG_PID"
}

# lab_http_server PREFIX HOST ADDR PORT DIR: python http.server serving DIR; waits until it listens.
lab_http_server() {
  local p=$1 h=$2 addr=$3 port=$4 dir=$5
  lab_bg "$p" "$h" "/tmp/$p-http-$h-$port.log" "$LAB_PY" -m http.server --bind "$addr" \
    --directory "$dir" "$port"
  lab_wait_listen "$p" "$h" "$port" tcp
}

# lab_wait_listen PREFIX HOST PORT [tcp|udp]: bounded wait (5 s) for a listening socket.
lab_wait_listen() {
  local p=$1 h=$2 port=$3 proto=${4:-tcp} i opt=-ltn
  [[ $proto == udp ]] && opt=-lun
  for ((i = 0; i < 50; i++)); do
    ip netns exec "$p-$h" ss -H "$opt" "sport = :$port" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  lab_log "nothing listening on $proto/$port in $p-$h"
  return 1
}

# lab_echo_server PREFIX HOST ADDR PORT tcp|udp: the echo server of tests/e2e/peer.py.
lab_echo_server() {
  local p=$1 h=$2 addr=$3 port=$4 proto=$5
  lab_bg "$p" "$h" "/tmp/$p-echo-$h-$proto-$port.log" "$LAB_PY" "$LAB_REPO/tests/e2e/peer.py" \
    "${proto}-server" --bind "$addr" --port "$port"
  lab_wait_listen "$p" "$h" "$port" "$proto"
}
