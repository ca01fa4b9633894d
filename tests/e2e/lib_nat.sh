# shellcheck shell=bash
# Helpers for the NAT end-to-end tests (test_nat_*.sh). Sources lib.sh; adds captures, NAT
# configuration through fwcli, the "far host" topology for ICMP errors and small Python peers.
#
# NAT tests never call lab_out_route_inside / lab_out_route_dmz: the outside host has no route
# to 198.18.0.0/16, so an inside address that leaks un-translated fails loudly.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# nat_cfg PREFIX "cmd; cmd": fwcli in the system view; prints the output, returns fwcli's code.
nat_cfg() {
  local p=$1; shift
  fwcli_run "$p" "system-view; $*"
}

# nat_cfg_ok PREFIX "cmds": like nat_cfg, but logs the output and fails (1) on an Error line.
nat_cfg_ok() {
  local p=$1 out rc=0; shift
  out=$(nat_cfg "$p" "$@" 2>&1) || rc=$?
  if ((rc != 0)) || grep -q '^Error' <<<"$out"; then
    lab_log "configuration failed (rc=$rc): $*"
    sed 's/^/    /' <<<"$out" >&2
    return 1
  fi
  return 0
}

# nat_aging PREFIX: short session aging so tests can watch ports and bindings go back.
nat_aging() {
  nat_cfg_ok "$1" "firewall session aging-time tcp 8; firewall session aging-time udp 5;" \
    "firewall session aging-time icmp 5; firewall session aging-time fin-rst 2;" \
    "firewall session aging-time syn 5"
}

# ---------------------------------------------------------------------------------------------
# Captures (tshark/dumpcap in a namespace, tracked, bounded start).

# nat_cap_start PREFIX HOST DEV FILE [SNAPLEN] [BPF]: start a capture; waits until it runs.
# Sets NAT_CAP_PID. Returns 1 when the capture did not start within 10 s.
nat_cap_start() {
  local p=$1 h=$2 dev=$3 file=$4 snap=${5:-0} bpf=${6:-}
  local args=(-n -q -i "$dev" -w "$file")
  ((snap > 0)) && args+=(-s "$snap")
  [[ -n $bpf ]] && args+=(-f "$bpf")
  rm -f "$file" "$file.log"
  ip netns exec "$p-$h" dumpcap "${args[@]}" >"$file.log" 2>&1 &
  NAT_CAP_PID=$!
  lab_pid_track "$p" "$NAT_CAP_PID"
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q "Capturing on" "$file.log" 2>/dev/null && { sleep 0.3; return 0; }
    lab_pid_alive "$NAT_CAP_PID" || break
    sleep 0.1
  done
  lab_log "capture on $p-$h/$dev did not start: $(tr '\n' ' ' <"$file.log")"
  return 1
}

# nat_cap_stop PID: stop a capture so its file is complete (INT, bounded wait, then KILL).
nat_cap_stop() {
  local pid=$1
  sleep 0.3
  kill -INT "$pid" 2>/dev/null || true
  lab_wait_exit "$pid" 5 || { kill -KILL "$pid" 2>/dev/null || true; }
  wait "$pid" 2>/dev/null || true
}

# nat_cap_read FILE FILTER FIELD...: one line per matching packet, the fields tab-separated.
nat_cap_read() {
  local file=$1 filter=$2; shift 2
  local f e=()
  for f in "$@"; do e+=(-e "$f"); done
  timeout 60 tshark -n -r "$file" -Y "$filter" -T fields "${e[@]}" 2>/dev/null
}

# nat_cap_count FILE FILTER: number of packets matching a display filter.
nat_cap_count() { nat_cap_read "$1" "$2" frame.number | wc -l; }

# nat_ip_in_range IP LO HI: true when LO <= last octet of IP <= HI and IP is in 203.0.113.0/24.
nat_ip_in_range() {
  local ip=$1 lo=$2 hi=$3
  [[ $ip =~ ^203\.0\.113\.([0-9]+)$ ]] || return 1
  ((BASH_REMATCH[1] >= lo && BASH_REMATCH[1] <= hi))
}

# nat_addrs_in_pool "LIST" LO HI: every address of a whitespace-separated list is in the pool.
nat_addrs_in_pool() {
  local a
  [[ -n ${1// /} ]] || return 1
  for a in $1; do nat_ip_in_range "$a" "$2" "$3" || { lab_log "address outside the pool: $a"; return 1; }; done
}

# ---------------------------------------------------------------------------------------------
# Traffic (all bounded).

# nat_iperf_server PREFIX HOST ADDR: iperf3 server (serves many runs); logs to /tmp/P-iperf3-HOST.log.
nat_iperf_server() {
  local p=$1 h=$2 addr=$3
  lab_bg "$p" "$h" "/tmp/$p-iperf3-$h.log" iperf3 -s -B "$addr" --forceflush
  NAT_IPERF_PID=$LAB_BG_PID
  lab_wait_listen "$p" "$h" 5201 tcp
}

# nat_iperf PREFIX HOST DST tcp|udp JSONFILE [extra iperf3 args]: one 3 s run, bounded; 0 when the
# run completed and the receiver got data (UDP: at least 90 % of the datagrams).
nat_iperf() {
  local p=$1 h=$2 dst=$3 proto=$4 json=$5; shift 5
  local args=(-c "$dst" -t 3 -J)
  [[ $proto == udp ]] && args+=(-u -b 20M)
  timeout -k 3 25 ip netns exec "$p-$h" iperf3 "${args[@]}" "$@" >"$json" 2>&1 || {
    lab_log "iperf3 $proto from $h to $dst failed: $(head -c 300 "$json")"
    return 1
  }
  "$LAB_PY" - "$json" "$proto" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
e = d.get("end", {})
if sys.argv[2] == "tcp":
    r = e.get("sum_received", {}).get("bytes", 0)
    print("    iperf3 tcp: %.1f MB received" % (r / 1e6), file=sys.stderr)
    sys.exit(0 if r > 0 else 1)
s = e.get("sum", {})
pk, lost = s.get("packets", 0), s.get("lost_packets", 0)
print("    iperf3 udp: %d datagrams, %d lost" % (pk, lost), file=sys.stderr)
sys.exit(0 if pk > 0 and lost * 10 <= pk else 1)
EOF
}

# nat_http_get PREFIX HOST URL [curl args]: sha256 of the body (empty on failure), bounded.
nat_http_get() {
  local p=$1 h=$2 url=$3; shift 3
  ip netns exec "$p-$h" curl -sS -f -g -m 10 "$@" "$url" 2>/dev/null | sha256sum | cut -d' ' -f1
}

# nat_udp_echo PREFIX HOST DST PORT [COUNT] [SRCPORT]: a CONNECTED UDP socket (replies from any
# other address/port are not accepted) sends COUNT datagrams one by one; 0 when all came back.
nat_udp_echo() {
  local p=$1 h=$2 dst=$3 port=$4 n=${5:-10} sport=${6:-0}
  ip netns exec "$p-$h" timeout 30 "$LAB_PY" - "$dst" "$port" "$n" "$sport" <<'EOF'
import socket, sys
dst, port, n, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sport:
    s.bind(("0.0.0.0", sport))
s.connect((dst, port))
s.settimeout(1)
got = 0
for i in range(n):
    m = b"nat-udp %d" % i
    s.send(m)
    try:
        while True:
            if s.recv(65535) == m:
                got += 1
                break
    except (socket.timeout, ConnectionRefusedError):
        pass
print("received %d of %d" % (got, n))
sys.exit(0 if got == n else 1)
EOF
}

# nat_ping_id PREFIX HOST DST ID [COUNT]: ping with a fixed ICMP identifier (raw socket, root);
# 0 when every reply came back.
nat_ping_id() {
  local p=$1 h=$2 dst=$3 id=$4 n=${5:-3}
  ip netns exec "$p-$h" ping -4 -n -q -c "$n" -i 0.2 -W 1 -w $((n + 3)) -e "$id" "$dst" >/dev/null 2>&1
}

# nat_many_conn PREFIX HOST DST PORT N SPORT_BASE HOLD OUTFILE: in the background, open N TCP
# connections at once from source ports SPORT_BASE.. to an echo server, check an echo on each,
# write "ok K of N" to OUTFILE, keep them open HOLD seconds, close. Sets NAT_MANY_PID.
nat_many_conn() {
  local p=$1 h=$2 dst=$3 port=$4 n=$5 base=$6 hold=$7 out=$8
  rm -f "$out"
  lab_bg "$p" "$h" "$out.log" timeout $((hold + 30)) "$LAB_PY" -c '
import socket, sys, time
dst, port, n, base, hold, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
socks = []
ok = 0
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", base + i))
    s.settimeout(5)
    try:
        s.connect((dst, port))
        socks.append(s)
    except OSError as e:
        print("connect %d failed: %s" % (base + i, e), flush=True)
for s in socks:
    try:
        m = b"conn %d\n" % s.getsockname()[1]
        s.sendall(m)
        got = b""
        while not got.endswith(b"\n"):
            c = s.recv(100)
            if not c:
                break
            got += c
        if got == m:
            ok += 1
        else:
            print("bad echo on", s.getsockname(), got, flush=True)
    except OSError as e:
        print("echo failed on", s.getsockname(), e, flush=True)
with open(out + ".tmp", "w") as f:
    f.write("ok %d of %d\n" % (ok, n))
import os
os.replace(out + ".tmp", out)
time.sleep(hold)
for s in socks:
    s.close()
' "$dst" "$port" "$n" "$base" "$hold" "$out"
  NAT_MANY_PID=$LAB_BG_PID
}

# nat_wait_file FILE SECONDS: bounded wait until FILE exists.
nat_wait_file() {
  local f=$1 s=${2:-10} i
  for ((i = 0; i < s * 10; i++)); do [[ -s $f ]] && return 0; sleep 0.1; done
  return 1
}

# nat_wait_for SECONDS command...: bounded poll (0.5 s) until the command succeeds.
nat_wait_for() {
  local s=$1 i; shift
  for ((i = 0; i < s * 2; i++)); do "$@" && return 0; sleep 0.5; done
  return 1
}

# nat_ports_in_use PREFIX GROUP: the "Ports in use" figure of `display nat address-group GROUP`.
nat_ports_in_use() {
  fwcli_run "$1" "display nat address-group $2" 2>/dev/null |
    sed -nE 's/^[[:space:]]*Ports in use[[:space:]]*:[[:space:]]*([0-9]+).*/\1/p' | head -n1
}

# nat_sessions PREFIX [filters]: the session lines (without the total line).
nat_sessions() {
  local p=$1; shift
  fwcli_run "$p" "display firewall session table $*" 2>/dev/null | grep -v 'Current Total' || true
}

# nat_session_count PREFIX: "Sessions current" of the statistics.
nat_session_count() { fw_stat "$1" "Sessions current"; }

# ---------------------------------------------------------------------------------------------
# Far host: the outside host becomes a router towards a third namespace P-far.
#
#   P-in 198.18.1.2 -- fw in0 | fw out0 203.0.113.1/25 -- P-out eth0 203.0.113.2/25 (forwarding)
#                                                          P-out eth1 203.0.113.129/25 -- P-far eth0 203.0.113.130/25
# The firewall routes 203.0.113.128/25 via 203.0.113.2; P-out and P-far know nothing of
# 198.18.0.0/16 (replies only reach the translated addresses in 203.0.113.0/25).

# nat_far_up PREFIX
nat_far_up() {
  local p=$1 far=$1-far
  nat_far_down "$p"
  ip -n "$p-fw" addr del 203.0.113.1/24 dev out0 || return 1
  ip -n "$p-fw" addr add 203.0.113.1/25 dev out0 || return 1
  ip -n "$p-out" addr del 203.0.113.2/24 dev eth0 || return 1
  ip -n "$p-out" addr add 203.0.113.2/25 dev eth0 || return 1
  ip netns add "$far" || return 1
  ip -n "$far" link set lo up
  local tmp="lf$$${RANDOM}"
  tmp=${tmp:0:15}
  ip link add "$tmp" netns "$far" type veth peer name eth1 netns "$p-out" || return 1
  ip -n "$far" link set "$tmp" name eth0 || return 1
  ip -n "$far" addr add 203.0.113.130/25 dev eth0
  ip -n "$far" link set eth0 up
  ip -n "$p-out" addr add 203.0.113.129/25 dev eth1
  ip -n "$p-out" link set eth1 up
  ip netns exec "$p-out" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
  # Rate limits would hide the second and later errors of a quick probe series.
  ip netns exec "$p-out" sysctl -qw net.ipv4.icmp_ratelimit=0 >/dev/null
  ip netns exec "$far" sysctl -qw net.ipv4.icmp_ratelimit=0 >/dev/null
  ip -n "$far" route add 203.0.113.0/25 via 203.0.113.129
  ip -n "$p-fw" route add 203.0.113.128/25 via 203.0.113.2
}

# nat_far_down PREFIX: stop what runs in P-far and delete it (lab_down does not know it).
nat_far_down() {
  local far=$1-far pid
  ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$far" || return 0
  for pid in $(ip netns pids "$far" 2>/dev/null); do lab_kill "$pid"; done
  ip netns del "$far" 2>/dev/null || true
}

# nat_udp_trace PREFIX HOST DST TTL PORT: send one UDP datagram with TTL from a connected socket
# with IP_RECVERR and print the error the inside host's socket receives:
# "errno=N type=T code=C from=ADDR" (or "none" when nothing came within 2 s).
nat_udp_trace() {
  local p=$1 h=$2 dst=$3 ttl=$4 port=$5
  ip netns exec "$p-$h" timeout 10 "$LAB_PY" - "$dst" "$ttl" "$port" <<'EOF'
import select, socket, struct, sys
dst, ttl, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
IP_RECVERR = 11
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
s.setsockopt(socket.SOL_IP, socket.IP_TTL, ttl)
s.connect((dst, port))
s.send(b"trace probe ttl %d" % ttl)
# The error queue signals POLLERR (select's read set, not its exceptional set).
pl = select.poll()
pl.register(s, select.POLLERR)
if not pl.poll(2000):
    print("none")
    sys.exit(1)
data, anc, flags, addr = s.recvmsg(512, 512, socket.MSG_ERRQUEUE)
for lvl, typ, d in anc:
    if lvl == socket.SOL_IP and typ == IP_RECVERR:
        errno_, origin, etype, ecode, pad, info, edata = struct.unpack_from("=IBBBBII", d)
        # The offender (sockaddr_in) follows struct sock_extended_err (16 bytes).
        off = socket.inet_ntoa(d[16 + 4:16 + 8]) if len(d) >= 24 else "?"
        print("errno=%d type=%d code=%d from=%s" % (errno_, etype, ecode, off))
        sys.exit(0)
print("none")
sys.exit(1)
EOF
}

# nat_http_server / nat_echo_server: lab_http_server / lab_echo_server with a longer bounded wait
# (15 s: Python starts slowly on a loaded 2-core machine).
nat_http_server() {
  lab_http_server "$@" 2>/dev/null || lab_wait_listen "$1" "$2" "$4" tcp 2>/dev/null || lab_wait_listen "$1" "$2" "$4" tcp
}
nat_echo_server() {
  lab_echo_server "$@" 2>/dev/null || lab_wait_listen "$1" "$2" "$4" "$5" 2>/dev/null || lab_wait_listen "$1" "$2" "$4" "$5"
}
