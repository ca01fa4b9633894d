#!/usr/bin/env bash
# FTP with no NAT and the one-way trust->untrust policy of etc/lab.cfg (no untrust->trust rule,
# default deny), global `firewall detect ftp`: the outside host routes back to the inside network.
# IPv4 (PORT/EPRT |1|/PASV/EPSV) and IPv6 (EPRT |2|/EPSV) in every mode, download and upload with
# sha256 checked. Nothing is rewritten (the rewrite counter stays 0), but the active data connection
# from the outside host only passes because ASPF opened a server-map entry: a plain connection
# from the outside host to the inside host is denied.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-ftpnonat
ftp_test_start $P
lab_out_route_inside $P
t_check "firewall detect ftp configured" nat_cfg_ok $P "firewall detect ftp"
rules=$(ftp_rule_names $P)
t_check "one-way policy: only rule trust-to-untrust, default deny ($rules)" test "$rules" = "trust-to-untrust default:deny"
ftp_server_start $P out 203.0.113.2 || { t_fail "vsftpd on 203.0.113.2"; t_done; }
FTP_TAG=6 ftp_server_start $P out 2001:db8:3::2 || { t_fail "vsftpd on 2001:db8:3::2"; t_done; }
lab_echo_server $P in 198.18.1.2 45000 tcp || t_fail "tcp echo server on the inside host"
tcp_probe() { local h=$1; shift; ip netns exec $P-$h timeout 5 "$LAB_PY" -c '
import socket,sys
s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2); s.sendall(b"x\n"); sys.exit(0 if s.recv(10) else 1)' "$@" 2>/dev/null; }
lab_echo_server $P out 203.0.113.2 45001 tcp || t_fail "tcp echo server on the outside host"
t_check "a plain TCP connection inside -> outside (203.0.113.2:45001) works" tcp_probe in 203.0.113.2 45001
t_check_not "a plain TCP connection outside -> inside (198.18.1.2:45000) is denied" tcp_probe out 198.18.1.2 45000

echo "IPv4, four modes"
ftp_all_modes $P in 203.0.113.2 "v4: " || ftp_dump_logs $P
echo "IPv6, four modes (EPRT |2| and EPSV; PORT/PASV are IPv4-only, curl uses EPRT/EPSV)"
FTP_TAG=6
for m in eprt epsv; do ftp_roundtrip $P in 2001:db8:3::2 $m "v6: " || ftp_dump_logs ${P}6; done
FTP_TAG=

log=/tmp/$P-vsftpd.log
t_check "vsftpd (v4) saw the real client 198.18.1.2" grep -q 'Client "198.18.1.2"' $log
t_check "vsftpd (v4) received PORT 198,18,1,2,... and EPRT |1|198.18.1.2|" \
  bash -c "grep -Eq '\"PORT 198,18,1,2,' $log && grep -Eq '\"EPRT \|1\|198\.18\.1\.2\|' $log"
t_check "vsftpd (v6) received EPRT |2|2001:db8:1::2|" grep -Eq '"EPRT \|2\|2001:db8:1::2\|[0-9]+\|"' /tmp/${P}6-vsftpd.log
sess=$(fwcli_run $P "display firewall session table")
echo "$sess" | sed 's/^/    | /' | head -n 6
t_check "active ftp-data 203.0.113.2:20 --> 198.18.1.2:X (no NAT brackets)" grep -Eq \
  '^ *ftp-data +VPN: public --> public +203\.0\.113\.2:20 --> 198\.18\.1\.2:[0-9]+$' <<<"$sess"
t_check "control session 198.18.1.2:X +-> 203.0.113.2:21" grep -Eq \
  '^ *ftp +VPN: public --> public +198\.18\.1\.2:[0-9]+ \+-> 203\.0\.113\.2:21$' <<<"$sess"
t_check "IPv6 active ftp-data from [2001:db8:3::2]:20 shown" grep -Eq '^ *ftp-data .*2001:db8:3::2.*20 --> .*2001:db8:1::2' <<<"$sess"
ftp_show $P "display firewall detect verbose"
op=$(ftp_detect_counter $P opened); rw=$(ftp_detect_counter $P rewrites)
t_check "detect counters: opened >= 6 ($op), rewrites 0 ($rw), refused 0" \
  test "${op:-0}" -ge 6 -a "${rw:-x}" = 0 -a "$(ftp_detect_counter $P refused)" = 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
