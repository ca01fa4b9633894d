#!/usr/bin/env bash
# The event log (issue 15 item 4), about 25 s:
# - a syslog listener on a Unix datagram socket (/usr/bin/python3; `info-center loghost
#   unix-socket PATH`) receives, for an active FTP download through easy-ip with `session logging`
#   on the rule: SESSION_CREATE of the control session (PolicyName=trust-to-untrust), the ASPF
#   SERVERMAP_ADD (Appro=ftp-data, ParentSession = the control session's id) and its
#   SERVERMAP_DELETE (Reason=used), and after the FIN and fin-rst aging (2 s) the control
#   session's SESSION_TEARDOWN with the NAT address, packet counters both ways and
#   CloseReason=fin; every datagram is RFC 3164 with facility local7;
# - `terminal monitor` in an interactive fwcli (evlog_monitor_pty.py) shows the teardown of a
#   ping's session closed by `reset firewall session table` typed in another fwcli, and nothing
#   after `undo terminal monitor`;
# - `display logbuffer` has the same events; no event was lost.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
source "$(dirname "$0")/lib_nat.sh"
P=fwt-evlog
FTP_FILE_MIB=1
ftp_test_start $P
SYSLOG=/tmp/$P-syslog.sock
SYSLOG_OUT=/tmp/$P-syslog.txt
rm -f "$SYSLOG" "$SYSLOG_OUT"
lab_bg $P fw /tmp/$P-syslog.log timeout 120 "$LAB_PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(65536).decode(errors="replace").replace("\n", " ") + "\n")
        f.flush()
' "$SYSLOG" "$SYSLOG_OUT"
for ((i = 0; i < 50; i++)); do [[ -S $SYSLOG ]] && break; sleep 0.1; done
t_check "syslog listener on $SYSLOG" test -S "$SYSLOG"

t_check "loghost $SYSLOG, easy-ip, fin-rst aging 2 s, session logging on trust-to-untrust" nat_cfg_ok $P \
  "info-center loghost unix-socket $SYSLOG;" \
  "firewall session aging-time fin-rst 2;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip; quit; quit;" \
  "security-policy; rule name trust-to-untrust; session logging"
t_check "display current-configuration shows both settings" \
  grep -q "info-center loghost unix-socket $SYSLOG" <<<"$(fwcli_run $P "display current-configuration")"
ftp_server_start $P out 203.0.113.2 || { t_fail "vsftpd on 203.0.113.2"; t_done; }

echo "active FTP download (PORT) through easy-ip"
out=/tmp/$P-ftp/client/got.bin
t_check "active download works (sha256)" ftp_get $P in port "ftp://203.0.113.2/data.bin" "$out" 20
t_check "content intact" test "$(ftp_sha "$out")" = "$FTP_DATA_SHA"

# wait_syslog REGEX SECS: a datagram matching REGEX arrived.
wait_syslog() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do grep -Eq "$1" "$SYSLOG_OUT" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
ctl='Protocol=tcp,SourceIP=198\.18\.1\.2,DestinationIP=203\.0\.113\.2,SourcePort=[0-9]+,DestinationPort=21,SourceNatIP=203\.0\.113\.1,SourceNatPort=[0-9]+'
t_check "syslog: SESSION_CREATE of the FTP control session (NAT, zones, PolicyName, Application=ftp)" \
  wait_syslog "^<190>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} fwd\[[0-9]+\]: %%01SECLOG/6/SESSION_CREATE\(l\):IPVer=4,$ctl,BeginTime=[0-9]+,SourceZone=trust,DestinationZone=untrust,PolicyName=trust-to-untrust,Application=ftp,SessionID=[0-9]+$" 3
sid=$(grep -E "SESSION_CREATE.*DestinationPort=21," "$SYSLOG_OUT" | head -n1 | sed -E 's/.*SessionID=([0-9]+).*/\1/')
t_check "syslog: SERVERMAP_ADD Type=ASPF, Appro=ftp-data, ParentSession=$sid (the control session)" \
  wait_syslog "SERVERMAP_ADD\(l\):Type=ASPF,Protocol=tcp,Appro=ftp-data,PeerIP=203\.0\.113\.2,DestinationIP=203\.0\.113\.1,DestinationPort=[0-9]+,TranslatedIP=198\.18\.1\.2,TranslatedPort=[0-9]+,ParentSession=${sid:-x}," 3
t_check "syslog: SERVERMAP_DELETE of that entry, Reason=used" \
  wait_syslog "SERVERMAP_DELETE\(l\):Type=ASPF,.*Appro=ftp-data.*ParentSession=${sid:-x},EntryID=[0-9]+,Reason=used" 3
t_check "syslog: the ftp-data session is logged with its parent (ParentSession=$sid)" \
  wait_syslog "SESSION_CREATE\(l\):.*Application=ftp-data,SessionID=[0-9]+,ParentSession=${sid:-x}$" 3
t_check "syslog: SESSION_TEARDOWN of the control session, packets both ways, CloseReason=fin (fin-rst aging 2 s)" \
  wait_syslog "SESSION_TEARDOWN\(l\):IPVer=4,$ctl,BeginTime=[0-9]+,EndTime=[0-9]+,SendPkts=[1-9][0-9]*,SendBytes=[1-9][0-9]*,RcvPkts=[1-9][0-9]*,RcvBytes=[1-9][0-9]*,SourceZone=trust,DestinationZone=untrust,PolicyName=trust-to-untrust,Application=ftp,SessionID=${sid:-x},CloseReason=fin$" 8
grep -E "SESSION_|SERVERMAP_" "$SYSLOG_OUT" | head -n 8 | cut -c1-250 | sed 's/^/    | /'

echo "terminal monitor shows the teardown of a session closed by reset"
lab_bg $P in /tmp/$P-ping.log ping -n -c 200 -i 0.2 203.0.113.2
ping_pid=$LAB_BG_PID
for ((i = 0; i < 30; i++)); do
  fwcli_run $P "display firewall session table protocol icmp" | grep -q "icmp" && break; sleep 0.1
done
pty_out=$(ip netns exec "$P-fw" "$LAB_PY" "$(dirname "$0")/evlog_monitor_pty.py" "$FW_BIN/fwcli" "$(lab_sock $P)" \
  'Protocol=icmp,SourceIP=198\.18\.1\.2,DestinationIP=203\.0\.113\.2')
rc=$?
echo "$pty_out" | sed 's/^/  /'
t_check "terminal monitor in a pty: every check passes (rc=$rc)" test $rc -eq 0
kill "$ping_pid" 2>/dev/null

lb=$(fwcli_run $P "display logbuffer")
t_check "display logbuffer has the teardown with CloseReason=reset" grep -q "SESSION_TEARDOWN(l):.*Protocol=icmp.*CloseReason=reset" <<<"$lb"
sum=$(fwcli_run $P "display logbuffer summary")
echo "$sum" | sed 's/^/    | /'
t_check "no event lost" grep -Eq "^ Events lost \(queue full\) +: 0$" <<<"$sum"
sent=$(awk -F: '/Syslog datagrams sent/ {print $2+0}' <<<"$sum")
notsent=$(awk -F: '/Syslog datagrams not sent/ {print $2+0}' <<<"$sum")
sleep 0.3
got=$(wc -l <"$SYSLOG_OUT")
t_check "every datagram fwd counts as sent ($sent; not sent: $notsent) reached the listener ($got)" test "$got" -ge "${sent:-1}"
echo "    logbuffer vs syslog:"; fwcli_run $P "display logbuffer" | grep -o '%%01[A-Z]*/[0-9]/[A-Z_]*' | sort | uniq -c | sed 's/^/    lb /'
grep -o '%%01[A-Z]*/[0-9]/[A-Z_]*' "$SYSLOG_OUT" | sort | uniq -c | sed 's/^/    sl /'
t_done
