# shellcheck shell=bash
# Helpers for the FTP/ASPF end-to-end tests (test_ftp_*.sh). Sources lib_nat.sh (and so lib.sh).
#
# The server is vsftpd with port_promiscuous=NO and pasv_promiscuous=NO: it refuses a PORT/EPRT
# whose address is not the control connection's peer and a data connection from another address,
# so a transfer through NAT that succeeds proves the ALG rewrote the command. curl runs in the four
# modes (ftp_modes). For PASV, curl is given --no-ftp-skip-pasv-ip: by default (7.74+) curl ignores
# the address in a 227 reply and reuses the control connection's, which would hide a missing rewrite.
source "$(dirname "${BASH_SOURCE[0]}")/lib_nat.sh"

FTP_MODES=(eprt port epsv pasv)
FTP_FILE_MIB=${FTP_FILE_MIB:-3}

# ftp_mode_args MODE: curl options for a mode (eprt|port|epsv|pasv).
ftp_mode_args() {
  case $1 in
    eprt) echo "-P -" ;;
    port) echo "-P - --disable-eprt" ;;
    epsv) echo "" ;;
    pasv) echo "--disable-epsv --no-ftp-skip-pasv-ip" ;;
    *) lab_log "unknown FTP mode $1"; return 1 ;;
  esac
}

# ftp_dir PREFIX: the test's FTP working directory (/tmp/P-ftp, /tmp/P${FTP_TAG}-ftp when a test
# runs a second server, e.g. FTP_TAG=6 for an IPv6 one): root/ (anon_root, read-only),
# root/upload/ (owned by ftp), client/ (files the client sends and receives).
ftp_dir() { echo "/tmp/$1${FTP_TAG:-}-ftp"; }

# ftp_server_start PREFIX HOST ADDR [extra vsftpd option lines...]: generate a config, create the
# directories and a FTP_FILE_MIB MiB file root/data.bin (and a different client/up.bin), start
# vsftpd in P-HOST listening on ADDR:21 (IPv4 or IPv6), wait until it listens. Sets FTP_SRV_PID,
# FTP_DATA_SHA, FTP_UP_SHA. The vsftpd log (with the protocol) is /tmp/P-vsftpd.log.
ftp_server_start() {
  local p=$1 h=$2 addr=$3; shift 3
  local d conf
  d=$(ftp_dir "$p")
  rm -rf "$d"
  mkdir -p "$d/root/upload" "$d/client" /var/run/vsftpd/empty || return 1
  chmod 755 "$d" "$d/root" "$d/client"
  chown ftp:ftp "$d/root/upload" || return 1
  chmod 755 "$d/root/upload"
  head -c $((FTP_FILE_MIB * 1048576)) /dev/urandom >"$d/root/data.bin"
  head -c $((FTP_FILE_MIB * 1048576 + 12345)) /dev/urandom >"$d/client/up.bin"
  chmod 644 "$d/root/data.bin" "$d/client/up.bin"
  FTP_DATA_SHA=$(sha256sum <"$d/root/data.bin" | cut -d' ' -f1)
  FTP_UP_SHA=$(sha256sum <"$d/client/up.bin" | cut -d' ' -f1)
  conf=$d/vsftpd.conf
  local listen="listen=YES
listen_ipv6=NO
listen_address=$addr"
  if [[ $addr == *:* ]]; then
    listen="listen=NO
listen_ipv6=YES
listen_address6=$addr"
  fi
  cat >"$conf" <<EOF
$listen
background=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
anon_root=$d/root
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=NO
anon_other_write_enable=NO
anon_umask=022
port_enable=YES
pasv_enable=YES
port_promiscuous=NO
pasv_promiscuous=NO
connect_from_port_20=YES
pasv_min_port=40000
pasv_max_port=40100
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=/tmp/$p${FTP_TAG:-}-vsftpd.log
dual_log_enable=NO
idle_session_timeout=120
data_connection_timeout=60
EOF
  local o
  for o in "$@"; do echo "$o" >>"$conf"; done
  rm -f "/tmp/$p${FTP_TAG:-}-vsftpd.log"
  lab_bg "$p" "$h" "/tmp/$p${FTP_TAG:-}-vsftpd.out" vsftpd "$conf"
  FTP_SRV_PID=$LAB_BG_PID
  ftp_wait_listen "$p" "$h" "$addr" || { lab_log "vsftpd: $(cat "/tmp/$p${FTP_TAG:-}-vsftpd.out")"; return 1; }
}

# ftp_wait_listen PREFIX HOST ADDR: bounded wait (5 s) for a listener on ADDR:21.
ftp_wait_listen() {
  local p=$1 h=$2 a=$3 i
  [[ $a == *:* ]] && a="[$a]"
  for ((i = 0; i < 50; i++)); do
    ip netns exec "$p-$h" ss -H -ltn "src $a:21" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  return 1
}

# ftp_curl PREFIX HOST MODE TIMEOUT curl-args...: curl in P-HOST in MODE, bounded (-m TIMEOUT and a
# hard `timeout`); stderr to /tmp/P-curl.log (appended). Returns curl's exit code (124: killed).
ftp_curl() {
  local p=$1 h=$2 mode=$3 t=$4; shift 4
  local margs rc=0
  margs=$(ftp_mode_args "$mode") || return 2
  echo "== $(date +%T) [$h/$mode] curl $margs $*" >>"/tmp/$p-curl.log"
  # shellcheck disable=SC2086
  timeout -k 2 $((t + 5)) ip netns exec "$p-$h" curl -sS -g --connect-timeout 5 -m "$t" $margs "$@" \
    2>>"/tmp/$p-curl.log" || rc=$?
  echo "   rc=$rc" >>"/tmp/$p-curl.log"
  return "$rc"
}

# ftp_get PREFIX HOST MODE URL OUTFILE [TIMEOUT] [curl args]: download; returns curl's code.
ftp_get() {
  local p=$1 h=$2 mode=$3 url=$4 out=$5 t=${6:-60}; shift 6 2>/dev/null || shift $#
  rm -f "$out"
  ftp_curl "$p" "$h" "$mode" "$t" -o "$out" "$@" "$url"
}

# ftp_put PREFIX HOST MODE FILE URL [TIMEOUT] [curl args]: upload FILE to URL; returns curl's code.
ftp_put() {
  local p=$1 h=$2 mode=$3 f=$4 url=$5 t=${6:-60}; shift 6 2>/dev/null || shift $#
  ftp_curl "$p" "$h" "$mode" "$t" -T "$f" "$@" "$url"
}

# ftp_sha FILE: sha256 of FILE (empty when missing).
ftp_sha() { [[ -f $1 ]] && sha256sum <"$1" | cut -d' ' -f1; }

# ftp_roundtrip PREFIX HOST SERVER MODE: download root/data.bin from ftp://SERVER/ and upload
# client/up.bin to upload/up-MODE-N.bin from P-HOST in MODE; one PASS/FAIL line each, with the
# hash checked on the receiving end. Returns 0 when both worked.
FTP_RT_SEQ=0
ftp_roundtrip() {
  local p=$1 h=$2 srv=$3 mode=$4 label=${5:-}
  local d rc ok=0 host=$srv name want_down want_up
  d=$(ftp_dir "$p")
  want_down=$(ftp_sha "$d/root/data.bin")
  want_up=$(ftp_sha "$d/client/up.bin")
  [[ $srv == *:* ]] && host="[$srv]"
  FTP_RT_SEQ=$((FTP_RT_SEQ + 1))
  rc=0; ftp_get "$p" "$h" "$mode" "ftp://$host/data.bin" "$d/client/got-$mode-$FTP_RT_SEQ.bin" 60 || rc=$?
  if ((rc == 0)) && [[ $(ftp_sha "$d/client/got-$mode-$FTP_RT_SEQ.bin") == "$want_down" ]]; then
    t_ok "${label}download $mode ($FTP_FILE_MIB MiB, sha256 matches)"
  else
    t_fail "${label}download $mode (curl rc=$rc, sha256 $(ftp_sha "$d/client/got-$mode-$FTP_RT_SEQ.bin" | head -c 12))"
    ok=1
  fi
  name=up-$mode-$FTP_RT_SEQ.bin
  rc=0; ftp_put "$p" "$h" "$mode" "$d/client/up.bin" "ftp://$host/upload/$name" 60 || rc=$?
  # vsftpd writes the file before it sends 226; the hash is read from the server's directory.
  if ((rc == 0)) && [[ $(ftp_sha "$d/root/upload/$name") == "$want_up" ]]; then
    t_ok "${label}upload $mode (sha256 on the server matches)"
  else
    t_fail "${label}upload $mode (curl rc=$rc, server sha256 $(ftp_sha "$d/root/upload/$name" | head -c 12))"
    ok=1
  fi
  rm -f "$d/client/got-$mode-$FTP_RT_SEQ.bin"
  return $ok
}

# ftp_all_modes PREFIX HOST SERVER [LABEL]: ftp_roundtrip in all four modes.
ftp_all_modes() {
  local m rc=0
  for m in "${FTP_MODES[@]}"; do ftp_roundtrip "$1" "$2" "$3" "$m" "${4:-}" || rc=1; done
  return $rc
}

# ftp_detect_counter PREFIX NAME: one counter (parsed|rewrites|opened|malformed|refused) of the
# ftp line of `display firewall detect verbose`.
ftp_detect_counter() {
  fwcli_run "$1" "display firewall detect verbose" 2>/dev/null |
    sed -nE "s/^ *ftp .*[ ,]$2 ([0-9]+).*/\1/p" | head -n1
}

# ftp_aspf_entries PREFIX: number of "Type: ASPF" lines of `display firewall server-map`.
ftp_aspf_entries() {
  fwcli_run "$1" "display firewall server-map" 2>/dev/null | grep -c 'Type: ASPF' || true
}

# ftp_servermap_total PREFIX: the "Current Total Server-map" figure.
ftp_servermap_total() {
  fwcli_run "$1" "display firewall server-map" 2>/dev/null |
    sed -nE 's/^ *Current Total Server-map *: *([0-9]+).*/\1/p' | head -n1
}

# ftp_show PREFIX CMD: print a display command's output indented (for the test log).
ftp_show() { fwcli_run "$1" "$2" 2>&1 | sed 's/^/    | /'; }

# ftp_dump_logs PREFIX: tails of the logs that explain a failure.
ftp_dump_logs() {
  local p=$1 f
  for f in /tmp/$p-curl.log /tmp/$p-vsftpd.log /tmp/$p-fwd.log; do
    [[ -f $f ]] || continue
    echo "    --- tail $f"
    tail -n 15 "$f" | sed 's/^/    /'
  done
  # What fwd saw: the data connection's session (or none), entries left, non-zero drop counters.
  echo "    --- fwd: sessions, server-map, drops"
  fwcli_run "$p" "display firewall session table verbose; display firewall server-map" 2>&1 |
    tail -n 40 | sed 's/^/    /'
  fwcli_run "$p" "display firewall statistics" 2>&1 | grep -iE "drop|malformed|refused" |
    grep -vE ":[[:space:]]*0$" | sed 's/^/    /'
}

# ftp_down PREFIX: lab_down plus the FTP working directories (the logs stay in /tmp).
ftp_down() {
  lab_down "$1"
  rm -rf "/tmp/$1-ftp" "/tmp/$1"?*-ftp
}

# ftp_test_start PREFIX: the common start of a test: root, binaries, lab up (torn down on exit),
# old logs removed, fwd started with etc/lab.cfg (one rule: trust-to-untrust permit) and a fresh db.
ftp_test_start() {
  local p=$1
  t_require_root
  t_require_bins fwd fwcli
  command -v vsftpd >/dev/null || t_skip "vsftpd not installed"
  command -v curl >/dev/null || t_skip "curl not installed"
  lab_up "$p" || { t_fail "lab_up"; t_done; }
  # shellcheck disable=SC2064
  trap "ftp_down $p" EXIT
  rm -f "/tmp/$p.db" "/tmp/$p-fwd.log" "/tmp/$p-curl.log"
  fwd_start "$p" || { t_fail "fwd starts"; t_done; }
}

# ftp_rule_names PREFIX: the security rule names in order, space-separated, with the default
# rule's action last ("trust-to-untrust default:deny").
ftp_rule_names() {
  fwcli_run "$1" "display security-policy rule all" 2>/dev/null |
    awk '$1 ~ /^[0-9]+$/ { if ($2 == "default") d = "default:" $4; else n = n $2 " " } END { print n d }'
}

# ---------------------------------------------------------------------------------------------
# A step-by-step FTP client (Python ftplib + hand-made data channel) for watching the server-map
# between the announcement and the data connection.
#
# ftp_stepper_start PREFIX HOST SERVER MODE STATE: in the background, log in anonymously, announce
# a data channel in MODE (port|eprt|pasv|epsv) and append "announced LOCALPORT REPLY" to STATE
# (LOCALPORT: the client's own listening port for port/eprt), then wait (up to 40 s) for the file
# STATE.go (FTP_STEP_HOLD seconds, default 40): "retr" downloads data.bin over the announced
# channel and appends "done SHA256" (or "failed REASON"), "quit" ends the session without a
# transfer; "quit" is appended at the end. Sets FTP_STEP_PID.
ftp_stepper_start() {
  local p=$1 h=$2 srv=$3 mode=$4 state=$5
  rm -f "$state" "$state.go"
  lab_bg "$p" "$h" "$state.log" env FTP_STEP_HOLD="${FTP_STEP_HOLD:-40}" timeout $((${FTP_STEP_HOLD:-40} + 40)) \
    "$LAB_PY" -c '
import ftplib, hashlib, os, socket, sys, time
srv, mode, state = sys.argv[1], sys.argv[2], sys.argv[3]
def note(s):
    with open(state, "a") as f:
        f.write(s + "\n")
f = ftplib.FTP()
f.connect(srv, 21, timeout=20)
f.login()
f.voidcmd("TYPE I")
lsock = None
if mode in ("port", "eprt"):
    me = f.sock.getsockname()[0]
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind((me, 0))
    lsock.listen(1)
    lsock.settimeout(20)
    lp = lsock.getsockname()[1]
    if mode == "port":
        cmd = "PORT %s,%d,%d" % (me.replace(".", ","), lp >> 8, lp & 255)
    else:
        cmd = "EPRT |1|%s|%d|" % (me, lp)
    reply = f.sendcmd(cmd)
else:
    lp = 0
    reply = f.sendcmd("PASV" if mode == "pasv" else "EPSV")
note("announced %d %s" % (lp, reply))
for _ in range(int(os.environ.get("FTP_STEP_HOLD", "40")) * 10):
    if os.path.exists(state + ".go"):
        break
    time.sleep(0.1)
what = open(state + ".go").read().strip() if os.path.exists(state + ".go") else "quit"
if what == "retr":
    try:
        if lsock is None:
            host, port = ftplib.parse227(reply) if mode == "pasv" else (srv, ftplib.parse229(reply, (srv, 21))[1])
            d = socket.create_connection((host, port), timeout=10)
            f.sendcmd("RETR data.bin")
        else:
            lsock.settimeout(10)
            f.sendcmd("RETR data.bin")
            d, _ = lsock.accept()
        d.settimeout(20)
        h = hashlib.sha256()
        while True:
            b = d.recv(65536)
            if not b:
                break
            h.update(b)
        d.close()
        f.voidresp()
        note("done " + h.hexdigest())
    except Exception as e:
        note("failed %s: %s" % (type(e).__name__, e))
try:
    f.quit()
except Exception:
    pass
note("quit")
' "$srv" "$mode" "$state"
  FTP_STEP_PID=$LAB_BG_PID
}

# ftp_stepper_wait STATE WORD [SECONDS]: bounded wait until STATE has a line starting with WORD;
# prints that line.
ftp_stepper_wait() {
  local st=$1 w=$2 s=${3:-15} i
  for ((i = 0; i < s * 10; i++)); do
    if grep -q "^$w" "$st" 2>/dev/null; then grep "^$w" "$st" | head -n1; return 0; fi
    sleep 0.1
  done
  return 1
}

# ftp_port_of TEXT: the port p1*256+p2 of the first "a,b,c,d,p1,p2" in TEXT (a PORT or 227 line).
ftp_port_of() {
  local t
  t=$(grep -oE '[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+' <<<"$1" | head -n1)
  [[ -n $t ]] || return 1
  local IFS=,
  # shellcheck disable=SC2086
  set -- $t
  echo $(($5 * 256 + $6))
}

# ---------------------------------------------------------------------------------------------
# Crafted control streams.
#
# ftp_raw_start PREFIX HOST SERVER PORT STATE STEP...: in the background, a TCP client (TCP_NODELAY,
# so every send is its own segment) connects to SERVER:PORT and runs the steps:
#   banner        read the 220 greeting          login   USER anonymous / PASS x (230)
#   send:TEXT     send TEXT (\r \n escapes work)  sleep:S sleep S seconds
#   reply:CODE    read one reply and note it; a mismatch is noted as "unexpected"
#   read          read what arrives within 2 s and note it
# Each reply is appended to STATE as "reply CODE TEXT"; then "ready" is appended and the client
# holds the connection open until STATE.go exists (at most 30 s), sends QUIT if logged in, closes
# and appends "closed". Sets FTP_RAW_PID.
ftp_raw_start() {
  local p=$1 h=$2 srv=$3 port=$4 state=$5; shift 5
  rm -f "$state" "$state.go"
  lab_bg "$p" "$h" "$state.log" timeout 60 "$LAB_PY" -c '
import os, socket, sys, time
srv, port, state, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def note(s):
    with open(state, "a") as f:
        f.write(s + "\n")
s = socket.create_connection((srv, port), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = b""
def reply(timeout=10):
    # One complete FTP reply (multi-line replies end with "CODE " at the start of a line).
    global buf
    s.settimeout(timeout)
    end = time.time() + timeout
    while time.time() < end:
        lines = buf.split(b"\r\n")
        for i, l in enumerate(lines[:-1]):
            if len(l) >= 4 and l[:3].isdigit() and l[3:4] == b" ":
                out = b"\r\n".join(lines[:i + 1])
                buf = b"\r\n".join(lines[i + 1:])
                return out.decode("latin-1")
        try:
            c = s.recv(4096)
        except socket.timeout:
            break
        if not c:
            break
        buf += c
    return ""
logged = False
for st in steps:
    k, _, v = st.partition(":")
    if k == "banner":
        note("reply " + reply())
    elif k == "login":
        s.sendall(b"USER anonymous\r\n"); r1 = reply()
        s.sendall(b"PASS x\r\n"); r2 = reply()
        logged = r2.startswith("230")
        note("login " + r2)
    elif k == "send":
        s.sendall(v.replace("\\r", "\r").replace("\\n", "\n").encode("latin-1"))
    elif k == "sleep":
        time.sleep(float(v))
    elif k == "reply":
        r = reply()
        note(("reply " if r.startswith(v) else "unexpected ") + r.replace("\r\n", " | "))
    elif k == "read":
        s.settimeout(2)
        got = buf
        buf = b""
        try:
            while True:
                c = s.recv(4096)
                if not c:
                    break
                got += c
        except socket.timeout:
            pass
        note("read " + got.decode("latin-1").replace("\r\n", " | "))
note("ready")
for _ in range(300):
    if os.path.exists(state + ".go"):
        break
    time.sleep(0.1)
if logged:
    try:
        s.sendall(b"QUIT\r\n"); reply(3)
    except OSError:
        pass
s.close()
note("closed")
' "$srv" "$port" "$state" "$@"
  FTP_RAW_PID=$LAB_BG_PID
}

# ftp_raw_finish STATE PID: let the client close, bounded wait for it.
ftp_raw_finish() {
  echo go >"$1.go"
  ftp_stepper_wait "$1" closed 10 >/dev/null || true
  lab_wait_exit "$2" 5 || true
}
