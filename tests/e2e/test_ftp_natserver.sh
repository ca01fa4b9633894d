#!/usr/bin/env bash
# FTP to a NAT server: vsftpd on the dmz host 198.18.2.2 published as 203.0.113.110:21
# (`nat server ftpsrv protocol tcp global 203.0.113.110 21 inside 198.18.2.2 21`), one security
# rule untrust->dmz to 198.18.2.2/32 service ftp (policy matches the private address), global
# `firewall detect ftp`. The client is the outside host (no route to 198.18/16). All four modes,
# download and upload with sha256 checked. Active: the data connection from 198.18.2.2:20 must leave
# as 203.0.113.110 (dmz->untrust has no rule: it passes on the server-map entry). Passive: the 227
# reply must carry 203.0.113.110 (curl is told to use the reply's address), and the data connection
# to a passive port (not permitted by the rule, which covers port 21 only) passes on the server-map.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-ftpnsrv
ftp_test_start $P
t_check "nat server ftpsrv, rule untrust->dmz service ftp, firewall detect ftp configured" nat_cfg_ok $P \
  "nat server ftpsrv protocol tcp global 203.0.113.110 21 inside 198.18.2.2 21;" \
  "security-policy; rule name ftp-in; source-zone untrust; destination-zone dmz;" \
  "destination-address 198.18.2.2 32; service ftp; action permit; quit; quit; firewall detect ftp"
ftp_show $P "display nat server"
ftp_server_start $P dmz 198.18.2.2 || { t_fail "vsftpd on 198.18.2.2"; t_done; }
t_check "outside host has no route to the dmz network" bash -c "! ip -n $P-out route get 198.18.2.2 >/dev/null 2>&1"

echo "four modes, outside host -> 203.0.113.110"
cap=/tmp/$P-out.pcap
nat_cap_start $P out eth0 $cap 96 "tcp[tcpflags] & tcp-syn != 0" || t_fail "capture on the outside host"
cpid=$NAT_CAP_PID
ftp_all_modes $P out 203.0.113.110 || ftp_dump_logs $P
nat_cap_stop $cpid
syns=$(nat_cap_read $cap 'ip.src == 203.0.113.110 && tcp.flags.syn == 1 && tcp.flags.ack == 0' ip.src tcp.srcport | sort | uniq -c | sed 's/^ */      /')
echo "    active data SYNs seen by the client (count, source):"; echo "$syns"
t_check "active data connections reach the client from 203.0.113.110 (4 SYNs)" \
  test "$(nat_cap_count $cap 'ip.src == 203.0.113.110 && tcp.flags.syn == 1 && tcp.flags.ack == 0')" -ge 4
t_check "active data connections come from 203.0.113.110 port 20 (as the Linux reference: DNAT + ftp helper)" \
  test "$(nat_cap_count $cap 'ip.src == 203.0.113.110 && tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.srcport != 20')" = 0
t_check "no packet from an un-translated dmz address reached the client" test "$(nat_cap_count $cap 'ip.addr == 198.18.0.0/16')" = 0

d=$(ftp_dir $P)
: >/tmp/$P-curl.log
rc=0; ftp_get $P out pasv ftp://203.0.113.110/data.bin $d/client/v.bin 60 -v || rc=$?
grep -E '^< 227' /tmp/$P-curl.log | sed 's/^/    /'
t_check "client received 227 with 203,0,113,110 (rewritten from 198,18,2,2), transfer ok" \
  bash -c "((rc == 0)) && grep -Eq '^< 227 .*\(203,0,113,110,[0-9]+,[0-9]+\)' /tmp/$P-curl.log" rc=$rc
log=/tmp/$P-vsftpd.log
t_check "vsftpd sent 227 with its own address 198,18,2,2" grep -Eq '"227 Entering Passive Mode \(198,18,2,2,' $log
t_check "vsftpd saw the client as 203.0.113.2 (no source NAT)" bash -c "grep -q 'Client \"203.0.113.2\"' $log && ! grep -q 'Client \"198' $log"
t_check "vsftpd refused nothing (no 425/500)" bash -c "! grep -Eq '\"(425|500) ' $log"
sess=$(fwcli_run $P "display firewall session table")
echo "$sess" | sed 's/^/    | /' | head -n 8
t_check "control session 203.0.113.2:X +-> 203.0.113.110:21[198.18.2.2:21]" grep -Eq \
  '^ *ftp +VPN: public --> public +203\.0\.113\.2:[0-9]+ \+-> 203\.0\.113\.110:21\[198\.18\.2\.2:21\]$' <<<"$sess"
t_check "active ftp-data 198.18.2.2:20[203.0.113.110:P] --> 203.0.113.2:X" grep -Eq \
  '^ *ftp-data +VPN: public --> public +198\.18\.2\.2:20\[203\.0\.113\.110:[0-9]+\] --> 203\.0\.113\.2:[0-9]+$' <<<"$sess"
# The Linux reference (DNAT + the ftp helper) translates only the address of the server's data
# connection and keeps source port 20 (RFC 959's L-1), which client-side filters may rely on.
t_check "active ftp-data keeps source port 20 after translation (198.18.2.2:20[203.0.113.110:20])" grep -Eq \
  '^ *ftp-data +VPN: public --> public +198\.18\.2\.2:20\[203\.0\.113\.110:20\] --> 203\.0\.113\.2:[0-9]+$' <<<"$sess"
t_check "passive ftp-data 203.0.113.2:X --> 203.0.113.110:P[198.18.2.2:P]" grep -Eq \
  '^ *ftp-data +VPN: public --> public +203\.0\.113\.2:[0-9]+ --> 203\.0\.113\.110:(40[01][0-9][0-9])\[198\.18\.2\.2:\1\]$' <<<"$sess"
ftp_show $P "display firewall detect verbose"
rw=$(ftp_detect_counter $P rewrites)
t_check "detect counters: rewrites >= 3 (the 227 replies: $rw), refused 0" \
  test "${rw:-0}" -ge 3 -a "$(ftp_detect_counter $P refused)" = 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
