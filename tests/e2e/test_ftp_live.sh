#!/usr/bin/env bash
# The server-map and the session table while FTP runs (easy-ip, `firewall detect ftp`, one-way
# policy). A step-by-step client (ftplib) stops between the announcement and the data connection:
# - active PORT: `display firewall server-map` shows exactly the ASPF entry
#   "Type: ASPF,  203.0.113.2 -> 203.0.113.1:Y[198.18.1.2:X],  Zone:---,  protocol:tcp(Appro: ftp-data)"
#   (X the client's listening port, Y the port vsftpd received in the rewritten PORT), Left-Time
#   about a minute; the transfer then works and the entry is gone (used once);
# - passive PASV: an ASPF entry towards 203.0.113.2:P (P from the 227 reply);
# - an announced entry goes away with its parent control session (QUIT, no transfer).
# Then two slow curl transfers at once (--limit-rate, active PORT from 198.18.1.2, passive EPSV
# from 198.18.1.3): the session table shows both `+->` control sessions and both ftp-data sessions
# with the tuples seen on the hosts (ss); after the transfers and aging, no ftp session and no
# server-map entry is left.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-ftplive
FTP_FILE_MIB=2
ftp_test_start $P
t_check "easy-ip, firewall detect ftp, fin-rst aging 2 s configured" nat_cfg_ok $P "firewall detect ftp;" \
  "firewall session aging-time fin-rst 2;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
ftp_server_start $P out 203.0.113.2 || { t_fail "vsftpd on 203.0.113.2"; t_done; }
log=/tmp/$P-vsftpd.log
st=/tmp/$P-step

echo "active PORT, stopped before the data connection"
ftp_stepper_start $P in 203.0.113.2 port $st
if line=$(ftp_stepper_wait $st announced 15); then
  x=$(awk '{print $2}' <<<"$line")
  sm=$(fwcli_run $P "display firewall server-map")
  echo "$sm" | sed 's/^/    | /'
  y=$(ftp_port_of "$(grep -E '"PORT 203,0,113,1,' $log | tail -n1)")
  t_check "PORT announced ($line), vsftpd got PORT 203,0,113,1 with port ${y:-?}" test -n "$y"
  t_check "server-map: Current Total Server-map : 1" grep -Eq '^ *Current Total Server-map : 1$' <<<"$sm"
  t_check "server-map: Type: ASPF,  203.0.113.2 -> 203.0.113.1:${y}[198.18.1.2:${x}],  Zone:---,  protocol:tcp(Appro: ftp-data),  Left-Time:00:00:5x/60" \
    grep -Eq "^ *Type: ASPF,  203\.0\.113\.2 -> 203\.0\.113\.1:$y\[198\.18\.1\.2:$x\],  Zone:---,  protocol:tcp\(Appro: ftp-data\),  Left-Time:00:0(0:[45][0-9]|1:00)$" <<<"$sm"
  t_check "server-map aspf filter shows it too" grep -q "Type: ASPF" <<<"$(fwcli_run $P "display firewall server-map aspf")"
  t_check "session table: control session 198.18.1.2:C[203.0.113.1:C'] +-> 203.0.113.2:21" grep -Eq \
    '^ *ftp +VPN: public --> public +198\.18\.1\.2:[0-9]+\[203\.0\.113\.1:[0-9]+\] \+-> 203\.0\.113\.2:21$' \
    <<<"$(fwcli_run $P "display firewall session table")"
  echo retr >$st.go
  done_line=$(ftp_stepper_wait $st "done" 20)
  t_check "the transfer over the announced channel works (sha256)" test "${done_line#done }" = "$FTP_DATA_SHA"
  t_check "entry used once: server-map empty after the data connection" test "$(ftp_servermap_total $P)" = 0
else
  t_fail "stepper announced PORT"; cat $st.log
fi
lab_wait_exit "$FTP_STEP_PID" 10

echo "passive PASV, stopped before the data connection"
ftp_stepper_start $P in 203.0.113.2 pasv $st
if line=$(ftp_stepper_wait $st announced 15); then
  pp=$(ftp_port_of "$line")
  sm=$(fwcli_run $P "display firewall server-map")
  echo "$sm" | sed 's/^/    | /'
  t_check "server-map: an ASPF ftp-data entry towards 203.0.113.2:$pp ($line)" \
    grep -Eq "^ *Type: ASPF, .* -> 203\.0\.113\.2:$pp(\[|,).*protocol:tcp\(Appro: ftp-data\)" <<<"$sm"
  echo retr >$st.go
  done_line=$(ftp_stepper_wait $st "done" 20)
  t_check "the passive transfer works (sha256)" test "${done_line#done }" = "$FTP_DATA_SHA"
  t_check "server-map empty after the data connection" test "$(ftp_servermap_total $P)" = 0
else
  t_fail "stepper announced PASV"; cat $st.log
fi
lab_wait_exit "$FTP_STEP_PID" 10

echo "an announced entry goes with its parent session"
ftp_stepper_start $P in 203.0.113.2 eprt $st
if line=$(ftp_stepper_wait $st announced 15); then
  t_check "EPRT announced: 1 ASPF entry ($line)" test "$(ftp_aspf_entries $P)" = 1
  echo quit >$st.go
  ftp_stepper_wait $st quit 10 >/dev/null
  ok=1; for ((i = 0; i < 30; i++)); do [[ $(ftp_servermap_total $P) == 0 ]] && { ok=0; break; }; sleep 0.5; done
  t_check "after QUIT (no transfer, parent session closed) the entry is gone (after ~$((i / 2)) s, limit 15 s)" test $ok = 0
else
  t_fail "stepper announced EPRT"; cat $st.log
fi
lab_wait_exit "$FTP_STEP_PID" 10

echo "two slow transfers at once (active PORT from .2, passive EPSV from .3)"
d=$(ftp_dir $P)
# curl's --limit-rate paces its reads, not the sender: with the receive buffer free to grow
# (tcp_rmem max 6 MiB) the whole 2 MiB file once landed in it at once (vsftpd: 366 MB/s), the
# server closed and no data connection was left to look at. 128 KiB keeps the transfers open.
for h in in in2; do ip netns exec $P-$h sysctl -qw net.ipv4.tcp_rmem="4096 65536 131072"; done
ip netns exec $P-in timeout 40 curl -sS -m 35 -P - --disable-eprt --limit-rate 200K -o $d/client/slow-a.bin \
  ftp://203.0.113.2/data.bin >/tmp/$P-slow-a.log 2>&1 &
pa=$!; lab_pid_track $P $pa
ip netns exec $P-in2 timeout 40 curl -sS -m 35 --limit-rate 200K -o $d/client/slow-p.bin \
  ftp://203.0.113.2/data.bin >/tmp/$P-slow-p.log 2>&1 &
pp=$!; lab_pid_track $P $pp
# Wait (bounded) until both data connections are established on the hosts.
for ((i = 0; i < 50; i++)); do
  ssa=$(ip netns exec $P-in ss -Htn state established '( sport != :21 and dport != :21 )' 2>/dev/null | awk '{print $3, $4}')
  ssp=$(ip netns exec $P-in2 ss -Htn state established '( dport >= :40000 and dport <= :40100 )' 2>/dev/null | awk '{print $3, $4}')
  [[ -n $ssa && -n $ssp ]] && break
  sleep 0.1
done
echo "    inside .2 data: $ssa / inside .3 data: $ssp"
sess=$(fwcli_run $P "display firewall session table")
echo "$sess" | sed 's/^/    | /'
xa=$(awk '{print $1}' <<<"$ssa" | sed -E 's/.*:([0-9]+)$/\1/')
ya=$(ftp_port_of "$(grep -E '"PORT 203,0,113,1,' $log | tail -n1)")
xp=$(awk '{print $1}' <<<"$ssp" | sed -E 's/.*:([0-9]+)$/\1/')
dp=$(awk '{print $2}' <<<"$ssp" | sed -E 's/.*:([0-9]+)$/\1/')
t_check "two control sessions with +-> during the transfers" \
  test "$(grep -Ec '^ *ftp +VPN: public --> public +198\.18\.1\.[23]:[0-9]+\[203\.0\.113\.1:[0-9]+\] \+-> 203\.0\.113\.2:21$' <<<"$sess")" = 2
t_check "active ftp-data 203.0.113.2:20 --> 203.0.113.1:${ya:-?}[198.18.1.2:${xa:-?}]" \
  grep -Eq "^ *ftp-data +VPN: public --> public +203\.0\.113\.2:20 --> 203\.0\.113\.1:$ya\[198\.18\.1\.2:$xa\]$" <<<"$sess"
t_check "passive ftp-data 198.18.1.3:${xp:-?}[203.0.113.1:N] --> 203.0.113.2:${dp:-?}" \
  grep -Eq "^ *ftp-data +VPN: public --> public +198\.18\.1\.3:$xp\[203\.0\.113\.1:[0-9]+\] --> 203\.0\.113\.2:$dp$" <<<"$sess"
t_check "application filter: display firewall session table application ftp-data lists 2 sessions" \
  test "$(fwcli_run $P "display firewall session table application ftp-data" | grep -c '^ *ftp-data ')" = 2
ftp_show $P "display firewall session table verbose application ftp-data"
t_check "no server-map entry left during the transfers (both used)" test "$(ftp_servermap_total $P)" = 0
ra=0; rp=0
lab_wait_exit $pa 40; wait $pa 2>/dev/null || ra=$?
lab_wait_exit $pp 40; wait $pp 2>/dev/null || rp=$?
t_check "slow active transfer complete (rc=$ra, sha256)" test $ra = 0 -a "$(ftp_sha $d/client/slow-a.bin)" = "$FTP_DATA_SHA"
t_check "slow passive transfer complete (rc=$rp, sha256)" test $rp = 0 -a "$(ftp_sha $d/client/slow-p.bin)" = "$FTP_DATA_SHA"
no_ftp() { ! fwcli_run $P "display firewall session table" | grep -Eq '^ *ftp(-data)? '; }
t_check "after the transfers and aging: no ftp / ftp-data session within 20 s" nat_wait_for 20 no_ftp
t_check "server-map empty" test "$(ftp_servermap_total $P)" = 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
