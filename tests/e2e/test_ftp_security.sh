#!/usr/bin/env bash
# ASPF FTP security with crafted control streams (easy-ip, `firewall detect ftp`, vsftpd on the
# outside host, a Python client on the inside host with TCP_NODELAY so each send is one segment):
# - PORT split into two segments ("PO" + "RT ...") is recognised and rewritten: vsftpd answers 200
#   (port_promiscuous=NO: it only accepts 203,0,113,1) and one ASPF entry opens;
# - PORT and EPRT in one segment: both rewritten (two 200 replies, two rewrites);
# - a PORT/EPRT naming a third-party address (FTP bounce), a data port below 1024, octets or ports
#   out of range, "PORT" not at the start of a line: no server-map entry, refusals counted and
#   logged; a valid PORT on the same session afterwards still works;
# - an HTTP POST to port 80 whose body holds "\r\nPORT 198,18,1,2,39,16\r\n": nothing parsed or opened;
# - a PORT whose address is split across segments: no entry for an un-rewritten address.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-ftpsec
FTP_FILE_MIB=1
ftp_test_start $P
t_check "easy-ip + firewall detect ftp (fin-rst aging 2 s) configured" nat_cfg_ok $P "firewall detect ftp;" \
  "firewall session aging-time fin-rst 2;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
ftp_server_start $P out 203.0.113.2 || { t_fail "vsftpd on 203.0.113.2"; t_done; }
www=/tmp/$P-www; mkdir -p $www; echo hello >$www/index.html
lab_http_server $P out 203.0.113.2 80 $www || t_fail "http server on 203.0.113.2:80"
st=/tmp/$P-raw
vlog=/tmp/$P-vsftpd.log

# run_case NAME STEP...: run a crafted session to its end ("ready"), leave it open; sets C_OUT
# (the notes), C_ASPF (ASPF entries while the session is open) and the counter deltas D_*.
run_case() {
  local name=$1; shift
  local o0 r0 w0 p0 m0
  o0=$(ftp_detect_counter $P opened); r0=$(ftp_detect_counter $P refused); w0=$(ftp_detect_counter $P rewrites)
  p0=$(ftp_detect_counter $P parsed); m0=$(ftp_detect_counter $P malformed)
  ftp_raw_start $P in "$@"
  local pid=$FTP_RAW_PID
  if ! ftp_stepper_wait $st ready 20 >/dev/null; then t_fail "$name: crafted session ran"; cat $st.log; fi
  C_OUT=$(cat $st 2>/dev/null)
  C_ASPF=$(ftp_aspf_entries $P)
  D_OPENED=$(($(ftp_detect_counter $P opened) - o0)); D_REFUSED=$(($(ftp_detect_counter $P refused) - r0))
  D_REWRITES=$(($(ftp_detect_counter $P rewrites) - w0)); D_PARSED=$(($(ftp_detect_counter $P parsed) - p0))
  D_MALFORMED=$(($(ftp_detect_counter $P malformed) - m0))
  echo "  [$name] aspf entries $C_ASPF, opened +$D_OPENED, refused +$D_REFUSED, rewrites +$D_REWRITES, parsed +$D_PARSED, malformed +$D_MALFORMED"
  cut -c1-150 <<<"$C_OUT" | grep -E '^(reply|unexpected|login|read)' | sed 's/^/      /'
  ftp_raw_finish $st $pid
  # Entries of a closed session go with it; start each case from an empty server-map.
  nat_wait_for 15 bash -c "[[ \$(P=$P; $(declare -f fwcli_run lab_sock ftp_servermap_total); FW_BIN=$FW_BIN ftp_servermap_total $P) == 0 ]]" || true
}
n_replies() { grep -c "^reply $1" <<<"$C_OUT"; }
F=(203.0.113.2 21 "$st" banner login)

echo "split PORT (\"PO\" + \"RT ...\")"
run_case split-cmd "${F[@]}" "send:PO" sleep:0.2 "send:RT 198,18,1,2,156,64\r\n" reply:200
t_check "split PORT: vsftpd answered 200" test "$(n_replies 200)" = 1
t_check "split PORT: rewritten (vsftpd got PORT 203,0,113,1,156,64) and 1 ASPF entry" \
  bash -c "grep -q '\"PORT 203,0,113,1,156,64\"' $vlog && [[ $C_ASPF == 1 && $D_REWRITES == 1 ]]"

echo "PORT + EPRT in one segment"
run_case two-in-one "${F[@]}" "send:PORT 198,18,1,2,156,65\r\nEPRT |1|198.18.1.2|40002|\r\n" reply:200 reply:200
t_check "two commands in one segment: two 200 replies" test "$(n_replies 200)" = 2
t_check "two commands in one segment: both rewritten (+$D_REWRITES), both opened (+$D_OPENED)" \
  test "$D_REWRITES" = 2 -a "$D_OPENED" = 2
t_check "vsftpd got PORT 203,0,113,1,156,65 and EPRT |1|203.0.113.1|40002|" \
  bash -c "grep -q '\"PORT 203,0,113,1,156,65\"' $vlog && grep -q '\"EPRT |1|203.0.113.1|40002|\"' $vlog"

echo "FTP bounce: PORT/EPRT with a third-party address, then a valid PORT"
lines0=$(grep -c 'refused (bounce)' /tmp/$P-fwd.log)
run_case bounce "${F[@]}" "send:PORT 198,18,1,99,156,66\r\n" reply: "send:PORT 198,18,1,99,156,67\r\n" reply: \
  "send:EPRT |1|198.18.1.99|40004|\r\n" reply:
t_check "bounce: no ASPF entry ($C_ASPF), nothing opened (+$D_OPENED)" test "$C_ASPF" = 0 -a "$D_OPENED" = 0
t_check "bounce: refused count grew by 3 (+$D_REFUSED)" test "$D_REFUSED" = 3
lines=$(($(grep -c 'refused (bounce)' /tmp/$P-fwd.log) - lines0))
grep 'refused (bounce)' /tmp/$P-fwd.log | tail -n 1 | sed 's/^/      log: /'
t_check "bounce: logged once for the session ($lines line)" test "$lines" = 1
t_check "bounce: vsftpd never saw a rewritten 198.18.1.99 (no PORT 203,0,113,1,156,66/67)" \
  bash -c "! grep -Eq '\"PORT 203,0,113,1,156,6[67]\"' $vlog"
run_case bounce-then-valid "${F[@]}" "send:PORT 198,18,1,99,156,68\r\n" reply: "send:PORT 198,18,1,2,156,69\r\n" reply:200
t_check "after a refused PORT the same session's valid PORT is rewritten (200, 1 entry)" \
  bash -c "grep -q '^reply 200' <<<\"\$1\" && [[ $C_ASPF == 1 ]]" _ "$C_OUT"

echo "data port below 1024"
run_case low-port "${F[@]}" "send:PORT 198,18,1,2,0,21\r\n" reply: "send:EPRT |1|198.18.1.2|1023|\r\n" reply:
t_check "low port: no ASPF entry ($C_ASPF), refused +2 (+$D_REFUSED)" test "$C_ASPF" = 0 -a "$D_REFUSED" = 2

echo "numbers out of range"
run_case range "${F[@]}" "send:PORT 198,18,1,300,156,70\r\n" reply: "send:PORT 198,18,1,2,256,1\r\n" reply: \
  "send:EPRT |1|198.18.1.2|70000|\r\n" reply: "send:PORT 198,18,1,2,156\r\n" reply:
t_check "out of range: no ASPF entry ($C_ASPF), nothing opened, 4 counted as refused/malformed (+$D_REFUSED/+$D_MALFORMED)" \
  test "$C_ASPF" = 0 -a "$D_OPENED" = 0 -a $((D_REFUSED + D_MALFORMED)) -ge 4

echo "PORT not at the start of a line"
run_case not-bol "${F[@]}" "send:NOOP PORT 198,18,1,2,156,71\r\n" reply:200 "send:HELP\r\nXPORT 198,18,1,2,156,72\r\n" reply: reply:
t_check "mid-line PORT: no ASPF entry ($C_ASPF), nothing opened or rewritten" test "$C_ASPF" = 0 -a "$D_OPENED" = 0 -a "$D_REWRITES" = 0

echo "HTTP POST to port 80 carrying a PORT line in its body"
body='x\r\nPORT 198,18,1,2,39,16\r\n'
run_case http-post 203.0.113.2 80 $st "send:POST / HTTP/1.0\r\nContent-Length: 28\r\n\r\n$body" read
t_check "http.server answered (the POST went through)" grep -q '^read HTTP/1' <<<"$C_OUT"
t_check "HTTP POST: nothing parsed/opened/rewritten (+$D_PARSED/+$D_OPENED/+$D_REWRITES), no ASPF entry" \
  test "$D_PARSED" = 0 -a "$D_OPENED" = 0 -a "$D_REWRITES" = 0 -a "$C_ASPF" = 0
run_case http-split 203.0.113.2 80 $st "send:POST / HTTP/1.0\r\nContent-Length: 28\r\n\r\nx\r\n" sleep:0.2 \
  "send:PORT 198,18,1,2,39,16\r\n" read
t_check "HTTP POST with the PORT line in its own segment: nothing parsed/opened" \
  test "$D_PARSED" = 0 -a "$D_OPENED" = 0 -a "$C_ASPF" = 0

echo "PORT whose address is split across segments"
run_case split-addr "${F[@]}" "send:PORT 198,18," sleep:0.2 "send:1,2,156,73\r\n" reply:
t_check "split address: no entry for an un-rewritten address (entries $C_ASPF, refused +$D_REFUSED, rewrites +$D_REWRITES)" \
  bash -c "[[ $C_ASPF == 0 && $D_REFUSED -ge 1 ]] || { [[ $C_ASPF == 1 && $D_REWRITES == 1 ]] && grep -q '^reply 200' <<<\"\$1\"; }" _ "$C_OUT"

t_check "display firewall server-map empty at the end" test "$(ftp_servermap_total $P)" = 0
ftp_show $P "display firewall detect verbose"
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
