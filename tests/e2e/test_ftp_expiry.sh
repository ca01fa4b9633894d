#!/usr/bin/env bash
# An ASPF server-map entry that is never used expires after about a minute while its control
# session stays up (easy-ip, `firewall detect ftp`, one-way policy): a step-by-step client announces
# PORT and waits; the entry's Left-Time counts down, the entry is gone after 50-75 s, the control
# session is still there, and a data connection attempted afterwards (RETR) fails - the server's
# connection from port 20 is now an ordinary untrust->trust flow, denied by the policy.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-ftpexp
FTP_FILE_MIB=1
ftp_test_start $P
t_check "easy-ip + firewall detect ftp configured" nat_cfg_ok $P "firewall detect ftp;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
ftp_server_start $P out 203.0.113.2 connect_timeout=5 || { t_fail "vsftpd on 203.0.113.2"; t_done; }
st=/tmp/$P-step
left() { fwcli_run $P "display firewall server-map" | sed -nE 's/.*Type: ASPF,.*Left-Time:00:0([0-9]):([0-9]{2}).*/\1 \2/p' | awk '{print $1 * 60 + $2; exit}'; }
FTP_STEP_HOLD=100 ftp_stepper_start $P in 203.0.113.2 port $st
if line=$(ftp_stepper_wait $st announced 15); then
  t0=$SECONDS
  l1=$(left); sleep 3; l2=$(left)
  t_check "PORT announced, Left-Time counts down ($l1 s -> $l2 s)" test -n "$l1" -a -n "$l2" -a "${l2:-99}" -lt "${l1:-0}"
  gone=""
  for ((i = 0; i < 170; i++)); do
    [[ $(ftp_servermap_total $P) == 0 ]] && { gone=$((SECONDS - t0)); break; }
    sleep 0.5
  done
  t_check "unused entry expired after ${gone:-more than 85} s (50-75 s)" test -n "$gone" -a "${gone:-0}" -ge 50 -a "${gone:-99}" -le 75
  t_check "the control session is still there (+->)" grep -Eq '^ *ftp +VPN: .*\+-> 203\.0\.113\.2:21$' \
    <<<"$(fwcli_run $P "display firewall session table")"
  deny0=$(fw_stat $P "Dropped policy-deny")
  echo retr >$st.go
  res=$(ftp_stepper_wait $st "done\|failed" 30)
  echo "    client: $res"
  t_check "RETR after expiry: the data connection fails" grep -q '^failed' <<<"$res"
  deny1=$(fw_stat $P "Dropped policy-deny")
  t_check "the server's SYN from port 20 was dropped by policy ($deny0 -> $deny1)" test "${deny1:-0}" -gt "${deny0:-0}"
  t_check "vsftpd: 425 for the RETR" grep -q '"425 ' /tmp/$P-vsftpd.log
else
  t_fail "stepper announced PORT"; cat $st.log
fi
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
