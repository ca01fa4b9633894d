# shellcheck shell=bash
# Helpers for the tests of fwd's kernel rules (test_rules_chains) and its management socket
# (test_mgmt_socket). Source after lib.sh.

# ---------------------------------------------------------------------------------------------
# Kernel rules: what iptables-save / ip6tables-save show of fwd in P-fw.

# ctl_saved PREFIX: iptables-save and ip6tables-save of P-fw, each line prefixed "v4 " / "v6 ".
ctl_saved() {
  local p=$1
  ip netns exec "$p-fw" iptables-save 2>/dev/null | sed 's/^/v4 /'
  ip netns exec "$p-fw" ip6tables-save 2>/dev/null | sed 's/^/v6 /'
}

# ctl_fwd_lines PREFIX: the lines that belong to fwd (its chains' declarations, their rules, the
# jumps to them, and any queueing or old-layout rule), each as "v4 TABLE LINE".
ctl_fwd_lines() {
  ctl_saved "$1" | awk '
    $2 ~ /^\*/ { t = substr($2, 2); next }
    /FWD-|NFQUEUE|fwd-q/ { f = $1; $1 = ""; sub(/^ /, ""); print f, t, $0 }'
}

# ctl_fwd_count PREFIX: number of fwd's lines (see ctl_fwd_lines).
ctl_fwd_count() { ctl_fwd_lines "$1" | grep -c . || true; }

# ctl_jumps PREFIX [COMMENT]: fwd's jumps from built-in chains ("-j FWD-..." in a rule of a
# built-in chain), optionally only those carrying --comment COMMENT (FWD-active, FWD-held).
ctl_jumps() {
  local p=$1 c=${2:-}
  ctl_fwd_lines "$p" | awk -v c="$c" '
    $3 == "-A" && $4 !~ /^FWD-/ && / -j FWD-/ {
      if (c == "" || index($0, "--comment " c " ") > 0) print }'
}

# ctl_one_set PREFIX: 0 when the tables hold exactly one set of fwd's rules: per family, one
# declaration of each chain (raw FWD-PRE/FWD-OUT/FWD-FRG, mangle FWD-PRE/FWD-FWD/FWD-OUT), exactly one
# jump from each hooked built-in chain (raw PREROUTING/OUTPUT, mangle PREROUTING/FORWARD/OUTPUT),
# no rule line twice in a table, and no queueing rule outside fwd's chains. Prints what is wrong.
ctl_one_set() {
  ctl_fwd_lines "$1" | awk '
    $3 ~ /^:FWD-/ { decl[$1 " " $2 " " $3]++; next }
    $3 == "-A" && $4 !~ /^FWD-/ && / -j FWD-/ { jump[$1 " " $2 " " $4]++ }
    $3 == "-A" && $4 !~ /^FWD-/ && !/ -j FWD-/ { print "stray rule: " $0; bad = 1 }
    $3 == "-A" { if (line[$0]++) { print "duplicate: " $0; bad = 1 } }
    END {
      split("raw :FWD-PRE;raw :FWD-OUT;raw :FWD-FRG;mangle :FWD-PRE;mangle :FWD-FWD;mangle :FWD-OUT;mangle :FWD-DDOS", d, ";")
      split("raw PREROUTING;raw OUTPUT;mangle PREROUTING;mangle FORWARD;mangle OUTPUT", j, ";")
      for (f = 4; f <= 6; f += 2) {
        fam = "v" f
        for (i in d) {
          split(d[i], x, " ")
          if (decl[fam " " x[1] " " x[2]] != 1) {
            print fam " " d[i] " declared " (decl[fam " " x[1] " " x[2]] + 0) " times"; bad = 1 }
        }
        for (i in j) {
          split(j[i], x, " ")
          if (jump[fam " " x[1] " " x[2]] != 1) {
            print fam " " j[i] ": " (jump[fam " " x[1] " " x[2]] + 0) " jumps"; bad = 1 }
        }
      }
      for (k in decl) {
        split(k, x, " ")
        if (x[3] !~ /^:FWD-(PRE|FWD|OUT|FRG|DDOS)$/ || (x[2] == "raw" && x[3] ~ /^:FWD-(FWD|DDOS)$/) ||
            (x[2] == "mangle" && x[3] == ":FWD-FRG")) {
          print "extra chain " k; bad = 1 }
      }
      exit bad
    }'
}

# ctl_foreign_add PREFIX: rules of the test's own (comment "e2e-foreign", no target: they only
# count) in built-in chains fwd hooks (raw OUTPUT, mangle PREROUTING, IPv6 mangle FORWARD).
ctl_foreign_add() {
  local p=$1
  ip netns exec "$p-fw" iptables -t mangle -A PREROUTING -i out0 -p udp --dport 9 \
    -m comment --comment e2e-foreign &&
    ip netns exec "$p-fw" iptables -t raw -A OUTPUT -o dmz0 -p udp --dport 9 \
      -m comment --comment e2e-foreign &&
    ip netns exec "$p-fw" ip6tables -t mangle -A FORWARD -o out0 -p udp --dport 9 \
      -m comment --comment e2e-foreign
}

# ctl_foreign_count PREFIX: how many of those rules are in the tables (3 when all).
ctl_foreign_count() { ctl_saved "$1" | grep -c -- '--comment e2e-foreign' || true; }

# ---------------------------------------------------------------------------------------------
# fwd's log and memory.

# ctl_log_mark PREFIX: the current line count of /tmp/P-fwd.log (for ctl_log_since).
ctl_log_mark() { wc -l <"/tmp/$1-fwd.log" 2>/dev/null || echo 0; }

# ctl_log_since PREFIX MARK: the log lines written after ctl_log_mark returned MARK.
ctl_log_since() { tail -n +"$(($2 + 1))" "/tmp/$1-fwd.log" 2>/dev/null; }

# ctl_rss_kb PID: VmRSS of PID in kB (empty if gone).
ctl_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# ctl_vsz_kb PID: VmSize (virtual memory: allocated, touched or not) of PID in kB.
ctl_vsz_kb() { awk '/^VmSize:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# ctl_hwm_kb PID: VmHWM (peak RSS) of PID in kB.
ctl_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# ctl_wait_file_line FILE REGEX SECONDS: bounded wait until FILE has a line matching REGEX.
ctl_wait_file_line() {
  local f=$1 re=$2 secs=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    grep -Eq -- "$re" "$f" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# A raw client of the management socket (4-byte big-endian length + payload, see ipc/README.md).
# Every wait in it is bounded.

# ctl_py_write FILE: writes the client script to FILE.
#   hold SOCK N OUT HOLD_S    open N connections, send nothing; after 1.5 s write one line per
#                             connection to OUT ("open" or "closed <message>"), then "READY";
#                             keep the open ones for at most HOLD_S seconds (or until killed)
#   partial SOCK LEN SEND OUT announce a LEN-byte request, send SEND bytes of it, wait (<= 30 s)
#                             for the server to answer and close; write to OUT "sent", then
#                             "closed SECONDS <message>" (or "open-after-30s")
#   announce SOCK LEN         announce LEN bytes, send nothing more; print the answer
ctl_py_write() {
  cat >"$1" <<'PYEOF'
import socket, struct, sys, time

def output_of(frame):
    # Response: 'R', ok byte, then output, view, prompt as 4-byte big-endian length + bytes;
    # a closing notice (version 3): 'C', its kind byte (1 retry later, 2 reconnect, 3 final),
    # then the same.
    if len(frame) >= 2 and frame[0:1] == b'C' and frame[1] in (1, 2, 3):
        frame = b'R' + frame[2:]
    if len(frame) < 6 or frame[0:1] != b'R':
        return '<not a response: %r>' % frame[:40]
    n = struct.unpack('>I', frame[2:6])[0]
    return frame[6:6 + n].decode('utf-8', 'replace').strip()

def drain(s, deadline):
    """Reads until EOF or deadline. Returns (eof, bytes)."""
    data = b''
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, data
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return False, data
        except OSError:
            return True, data
        if not chunk:
            return True, data
        data += chunk

def messages(data):
    out = []
    while len(data) >= 4:
        n = struct.unpack('>I', data[:4])[0]
        out.append(output_of(data[4:4 + n]))
        data = data[4 + n:]
    return ' | '.join(out)

def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s

def hold(path, n, out, hold_s):
    socks = []
    with open(out, 'w') as f:
        for i in range(n):
            try:
                socks.append(connect(path))
            except OSError as e:
                socks.append(None)
                f.write('connect-failed %d %s\n' % (i, e))
        time.sleep(1.5)
        kept = []
        for s in socks:
            if s is None:
                continue
            # Anything the server sent by now (a refusal or an eviction notice) and EOF.
            eof, data = drain(s, time.monotonic() + 0.2)
            if data or eof:
                f.write('closed %s\n' % (messages(data) or '<no message>'))
                s.close()
            else:
                f.write('open\n')
                kept.append(s)
        f.write('READY\n')
        f.flush()
    end = time.monotonic() + hold_s
    while time.monotonic() < end:
        time.sleep(0.5)

def partial(path, length, send, out):
    with open(out, 'w') as f:
        s = connect(path)
        t0 = time.monotonic()
        s.sendall(struct.pack('>I', length) + b'Q' * send)
        f.write('sent %d of %d\n' % (send, length))
        f.flush()
        eof, data = drain(s, t0 + 30)
        if eof:
            f.write('closed %.1f %s\n' % (time.monotonic() - t0, messages(data) or '<no message>'))
        else:
            f.write('open-after-30s %s\n' % messages(data))

def announce(path, length):
    s = connect(path)
    t0 = time.monotonic()
    s.sendall(struct.pack('>I', length))
    eof, data = drain(s, t0 + 15)
    print('%s %.1f %s' % ('closed' if eof else 'open', time.monotonic() - t0, messages(data)))

cmd = sys.argv[1]
if cmd == 'hold':
    hold(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))
elif cmd == 'partial':
    partial(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
elif cmd == 'announce':
    announce(sys.argv[2], int(sys.argv[3]))
else:
    sys.exit('unknown command ' + cmd)
PYEOF
}
