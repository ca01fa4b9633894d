# shellcheck shell=bash
# Helpers for the PPTP/ASPF end-to-end tests (test_pptp*.sh). Sources lib_nat.sh (and so lib.sh).
#
# The kernel has no PPP, so the real pptpd (poptop) and pptp (pptp-linux) run with a stand-in for
# pppd at both ends (tests/e2e/pptp/ppp_standin.py): the whole control channel (SCCRQ/SCCRP,
# OCRQ/OCRP, CCRQ) is theirs, and each side's stand-in exchanges HDLC-framed PPP frames that pptp
# and pptpctrl carry in GRE. Every stand-in logs the payloads it receives ("RECV ..."):
#   client:  "hello-from-server-PID seq K" and "echo:hello-from-client-N seq K"
#   server:  "hello-from-client-N seq K" (and echoes them back)
# so a log proves which direction of which call worked.
#
# Facts that shaped this (found with the plain kernel, see the report of issue 5):
# - pptp-linux 1.10 takes its call id from /dev/random; pptpd 1.4 numbers its calls 0, 128, 256...
#   (the first call of a fresh pptpd has the server call id 0).
# - pptpctrl reads GRE only after its pppd wrote something, so the server stand-in speaks first.
# - pptp --nolaunchpppd reads and writes PPP on fd 0: the client stand-in gives it a socketpair.
# - On SIGTERM pptp sends Call-Clear-Request and then closes the TCP connection (no
#   Stop-Control-Connection-Request); pptpd answers with a FIN, no Call-Disconnect-Notify.
# - pptp's call manager listens on /var/run/pptp/LOCAL:SERVER, a path shared by all network
#   namespaces: each client gets --localbind and its own tmpfs on /var/run/pptp (ip netns exec
#   already runs it in a private mount namespace), so parallel tests cannot share a call manager.
source "$(dirname "${BASH_SOURCE[0]}")/lib_nat.sh"

PPTP_STANDIN=$LAB_REPO/tests/e2e/pptp/ppp_standin.py
PPTP_SERVER=203.0.113.2

pptp_dir() { echo "/tmp/$1-pptp"; }

# pptp_test_start PREFIX [fwd args]: root, binaries, pptpd/pptp installed, lab up (torn down on
# exit), fresh db and logs, fwd started with etc/lab.cfg (rule trust-to-untrust permit).
pptp_test_start() {
  local p=$1; shift
  t_require_root
  t_require_bins fwd fwcli
  command -v pptpd >/dev/null || t_skip "pptpd not installed (Debian package pptpd)"
  command -v pptp >/dev/null || t_skip "pptp not installed (Debian package pptp-linux)"
  command -v dumpcap >/dev/null || t_skip "dumpcap not installed (tshark)"
  lab_up "$p" || { t_fail "lab_up"; t_done; }
  # shellcheck disable=SC2064
  trap "pptp_down $p" EXIT
  rm -rf "$(pptp_dir "$p")"
  mkdir -p "$(pptp_dir "$p")/srv"
  rm -f "/tmp/$p.db" "/tmp/$p-fwd.log"
  fwd_start "$p" "$@" || { t_fail "fwd starts"; t_done; }
}

# pptp_down PREFIX: lab_down (stops pptpd, pptpctrl, the pptp call managers and the stand-ins: all
# of them run in the lab's namespaces). The logs stay in /tmp/P-pptp for a post-mortem.
pptp_down() { lab_down "$1"; }

# pptp_server_start PREFIX: pptpd in P-out on 203.0.113.2:1723, in the foreground, with the
# stand-in as its pppd (`delegate`: pptpd hands out no tunnel addresses, so none outside the lab
# plan appear anywhere). Waits until it listens. Sets PPTP_SRV_PID.
pptp_server_start() {
  local p=$1 d
  d=$(pptp_dir "$p")
  printf 'delegate\nlisten %s\nconnections 10\n' "$PPTP_SERVER" >"$d/pptpd.conf"
  : >"$d/ppp-options"
  cat >"$d/pppd-standin" <<EOF
#!/bin/sh
# pppd as far as pptpctrl knows: a stand-in that logs to $d/srv.
exec $LAB_PY $PPTP_STANDIN server --logdir $d/srv -- "\$@"
EOF
  chmod 755 "$d/pppd-standin"
  lab_bg "$p" out "$d/pptpd.out" pptpd -f -c "$d/pptpd.conf" -o "$d/ppp-options" \
    -e "$d/pppd-standin" -p "$d/pptpd.pid" -l "$PPTP_SERVER"
  # shellcheck disable=SC2034  # for the tests
  PPTP_SRV_PID=$LAB_BG_PID
  lab_wait_listen "$p" out 1723 tcp
}

# pptp_client_start PREFIX HOST LOCALADDR NAME: the client stand-in in P-HOST driving
# `pptp 203.0.113.2 --nolaunchpppd --localbind LOCALADDR --nohostroute`, with its own
# /var/run/pptp. Logs to $(pptp_dir P)/client-NAME.log. Sets PPTP_CLI_PID (the stand-in; it
# passes SIGTERM on to pptp).
pptp_client_start() {
  local p=$1 h=$2 addr=$3 name=$4 d
  d=$(pptp_dir "$p")
  mkdir -p /var/run/pptp
  lab_bg "$p" "$h" "$d/client-$name.out" sh -c \
    'mount -t tmpfs -o size=1m,mode=0750 pptp-lab /var/run/pptp || exit 1; exec "$@"' sh \
    "$LAB_PY" "$PPTP_STANDIN" client --name "$name" --log "$d/client-$name.log" --lifetime 80 -- \
    pptp "$PPTP_SERVER" --nolaunchpppd --localbind "$addr" --nohostroute
  # shellcheck disable=SC2034  # for the tests
  PPTP_CLI_PID=$LAB_BG_PID
}

# pptp_count FILE PATTERN: number of lines of FILE matching the extended regex (0 if none).
pptp_count() {
  local n
  n=$(grep -Ec -- "$2" "$1" 2>/dev/null) || true
  echo "${n:-0}"
}

# pptp_wait_count FILE PATTERN N SECONDS: bounded wait until FILE has N lines matching PATTERN.
pptp_wait_count() {
  local f=$1 pat=$2 n=$3 s=$4 i
  for ((i = 0; i < s * 10; i++)); do
    (($(pptp_count "$f" "$pat") >= n)) && return 0
    sleep 0.1
  done
  return 1
}

# pptp_server_log_of PREFIX NAME: the server stand-in log that received client NAME's frames.
pptp_server_log_of() {
  grep -l -- "RECV hello-from-client-$2 " "$(pptp_dir "$1")"/srv/server-*.log 2>/dev/null | head -n1
}

# pptp_server_logs PREFIX: number of server stand-ins started (one per call).
pptp_server_logs() {
  local n=0 f
  for f in "$(pptp_dir "$1")"/srv/server-*.log; do [[ -f $f ]] && n=$((n + 1)); done
  echo "$n"
}

# pptp_stop_client PID: SIGTERM to a client stand-in (which sends it on to pptp), bounded wait.
pptp_stop_client() {
  kill -TERM "$1" 2>/dev/null || true
  lab_wait_exit "$1" 10 || { kill -KILL "$1" 2>/dev/null || true; }
}

# pptp_gre_session PREFIX INSIDE_ADDR: "ORIG XLAT SERVER" call ids of the pptp-gre session of an
# inside host (`pptp-gre VPN: public --> public A:ORIG[203.0.113.1:XLAT] --> 203.0.113.2:SERVER`);
# empty when there is none.
pptp_gre_session() {
  local a=${2//./\\.}
  fwcli_run "$1" "display firewall session table" 2>/dev/null |
    sed -nE "s/^ *pptp-gre +VPN: public --> public +$a:([0-9]+)\[203\.0\.113\.1:([0-9]+)\] --> 203\.0\.113\.2:([0-9]+)$/\1 \2 \3/p" |
    head -n1
}

# pptp_detect_counter PREFIX NAME: one counter (parsed|rewrites|opened|malformed|refused) of the
# pptp line of `display firewall detect verbose`.
pptp_detect_counter() {
  fwcli_run "$1" "display firewall detect verbose" 2>/dev/null |
    sed -nE "s/^ *pptp .*[ ,]$2 ([0-9]+).*/\1/p" | head -n1
}

# pptp_gre_entries PREFIX: number of pptp-gre server-map entries.
pptp_gre_entries() {
  local n
  n=$(fwcli_run "$1" "display firewall server-map" 2>/dev/null | grep -c 'protocol:gre(Appro: pptp-gre)') || true
  echo "${n:-0}"
}

# pptp_wait_gre_entries PREFIX N SECONDS: bounded wait until there are exactly N pptp-gre entries.
pptp_wait_gre_entries() {
  local p=$1 n=$2 end=$((SECONDS + $3 + 1))
  while ((SECONDS < end)); do
    [[ $(pptp_gre_entries "$p") == "$n" ]] && return 0
    sleep 0.2
  done
  return 1
}

# pptp_cap_calls FILE: the control messages of a capture, one per line:
# "SRC TYPE CALL_ID PEER_CALL_ID" (7 = Outgoing-Call-Request, 8 = Outgoing-Call-Reply,
# 12 = Call-Clear-Request, 13 = Call-Disconnect-Notify, 3 = Stop-Control-Connection-Request).
pptp_cap_calls() {
  nat_cap_read "$1" pptp ip.src pptp.control_message_type pptp.call_id pptp.peer_call_id |
    awk -F'\t' '{ printf "%s %s %s %s\n", $1, $2, ($3 == "" ? "-" : $3), ($4 == "" ? "-" : $4) }'
}

# pptp_cap_gre FILE: GRE packets with a payload, counted per "SRC DST KEY".
pptp_cap_gre() {
  nat_cap_read "$1" "gre && gre.key.payload_length > 0" ip.src ip.dst gre.key.call_id |
    sort | uniq -c | awk '{ print $2, $3, $4, $1 }'
}

# pptp_show PREFIX CMD: a display command's output, indented, for the test log.
pptp_show() { fwcli_run "$1" "$2" 2>&1 | sed 's/^/    | /'; }

# pptp_dump_logs PREFIX: what explains a failure: stand-in logs (heads and tails), pptpd, fwd.
pptp_dump_logs() {
  local p=$1 d f
  d=$(pptp_dir "$p")
  for f in "$d"/client-*.log "$d"/client-*.log.stderr "$d"/srv/server-*.log "$d/pptpd.out" /tmp/$p-fwd.log; do
    [[ -s $f ]] || continue
    echo "    --- $f ($(wc -l <"$f") lines)"
    { head -n 4 "$f"; echo "    ..."; tail -n 4 "$f"; } | sed 's/^/    /'
  done
}
