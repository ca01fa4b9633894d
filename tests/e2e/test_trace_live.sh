#!/usr/bin/env bash
# packet-trace live (issue 15 item 2): a live trace armed in fwcli while curl fetches a file in
# active mode (PORT) through easy-ip from vsftpd: the trace, streamed as the packets pass, shows
# the control session's packets hitting their session (id and session-table line, the NAT
# applied), what the FTP ALG parsed, the PORT line rewritten from the private to the public
# address, and the server-map entry it opened for exactly the port of the rewritten line. Then a
# second trace is refused while the first runs, and a fwcli that goes away (killed, as Ctrl+C
# closes its connection) ends the trace: a new one may be armed within a second.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-tlive
FTP_FILE_MIB=1
ftp_test_start $P
t_check "firewall detect ftp + easy-ip nat-policy configured" nat_cfg_ok $P "firewall detect ftp;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
ftp_server_start $P out 203.0.113.2 || { t_fail "vsftpd on 203.0.113.2"; t_done; }

out=/tmp/$P-trace.txt
# fwcli prints each piece of the streamed answer as it comes (unbuffered here, to watch it).
ip netns exec $P-fw stdbuf -o0 "$FW_BIN/fwcli" -s "$(lab_sock $P)" -c \
  "packet-trace live max-packets 200 max-time 20 protocol tcp destination 203.0.113.2 21 zone trust" \
  >"$out" 2>&1 &
cli=$!
lab_pid_track $P $cli
for _ in $(seq 50); do grep -q "Tracing the next" "$out" && break; sleep 0.1; done
t_check "the trace is armed and says so at once" grep -q "Tracing the next 200 matching packets for at most 20 s" "$out"
busy=$(fwcli_run $P "packet-trace live max-time 1" 2>&1)
t_check "a second live trace is refused meanwhile" grep -q "A live packet trace is running already" <<<"$busy"

d=$(ftp_dir $P)
t_check "active-mode (PORT) download through easy-ip" \
  ftp_get $P in port ftp://203.0.113.2/data.bin "$d/client/got.bin" 20
for _ in $(seq 30); do grep -q "ALG ftp opened" "$out" && break; sleep 0.1; done
sed 's/^/    | /' "$out" | grep -E "Live trace packet|Packet:|Session lookup|^    \|  Session |NAT applied|Seq adjust|ALG| to: |Action" | head -n 40

t_check "streamed while the trace still runs (fwcli has not returned)" kill -0 $cli
t_check "packets of the control session hit it (session id, direction, rule)" grep -Eq \
  "Session lookup    : hit: session [0-9a-f]+ \(ftp, original direction, policy trust-to-untrust\)" "$out"
t_check "the session-table line, translated by easy-ip" grep -Eq \
  "^ Session [0-9a-f]+ \(original direction\): ftp  VPN: public --> public  198\.18\.1\.2:[0-9]+\[203\.0\.113\.1:[0-9]+\] (-->|\+->) 203\.0\.113\.2:21$" "$out"
t_check "the NAT applied to the packet" grep -Eq \
  "^ NAT applied: 198\.18\.1\.2:[0-9]+ --> 203\.0\.113\.2:21 became 203\.0\.113\.1:[0-9]+ --> 203\.0\.113\.2:21$" "$out"
t_check "what the ALG parsed" grep -Eq "^ ALG ftp parsed: PORT: data connection to 198\.18\.1\.2:[0-9]+$" "$out"
before=$(sed -nE 's/^ ALG ftp rewrote: (PORT .*)$/\1/p' "$out" | head -n1)
after=$(sed -nE 's/^ +to: (PORT .*)$/\1/p' "$out" | head -n1)
t_check "PORT rewritten from the private address ($before)" grep -Eq '^PORT 198,18,1,2,[0-9]+,[0-9]+$' <<<"$before"
t_check "... to the public one ($after)" grep -Eq '^PORT 203,0,113,1,[0-9]+,[0-9]+$' <<<"$after"
IFS=, read -r _ _ _ _ h l <<<"${after#PORT }"
pub=$((h * 256 + l))
IFS=, read -r _ _ _ _ h l <<<"${before#PORT }"
priv=$((h * 256 + l))
t_check "the entry it opened: 203.0.113.2 -> 203.0.113.1:$pub[198.18.1.2:$priv], ftp-data" grep -Fq \
  " ALG ftp opened: Type: ASPF,  203.0.113.2 -> 203.0.113.1:$pub[198.18.1.2:$priv],  protocol:tcp(Appro: ftp-data)" "$out"
t_check "the PORT packet went out rewritten" grep -q "^ Action: permit (translated or rewritten)" "$out"
t_check_not "no packet of the filter was dropped" grep -q "^ Action: drop" "$out"

# (A background job of a script ignores SIGINT: TERM closes the connection as Ctrl+C does.)
kill -TERM $cli
t_check "fwcli gone" lab_wait_exit $cli 5
again=""
for _ in $(seq 20); do
  again=$(fwcli_run $P "packet-trace live max-time 1 protocol udp destination 203.0.113.2 9" 2>&1)
  grep -q "running already" <<<"$again" || break
  sleep 0.1
done
t_check "the interrupted trace was disarmed: a new one runs (${again//$'\n'/ })" \
  grep -q "Live trace ended: 0 packets (time limit reached)" <<<"$again"
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
