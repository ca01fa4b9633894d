#!/usr/bin/env bash
# FTP through source NAT easy-ip with `firewall detect ftp` and the one-way trust->untrust policy of
# etc/lab.cfg: vsftpd (port_promiscuous=NO) on the outside host, curl on the inside host, all four
# modes (active EPRT/PORT, passive EPSV/PASV), download and upload with sha256 checked. The outside
# host has no route to 198.18/16, so an un-rewritten PORT/EPRT is refused by vsftpd (or fails).
# Afterwards: the control sessions were `ftp ... +->`, the active data sessions `ftp-data` from
# 203.0.113.2:20 to 203.0.113.1:X[198.18.1.2:X], and the detect counters count the rewrites.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-ftpez
ftp_test_start $P
t_check "firewall detect ftp + easy-ip nat-policy configured" nat_cfg_ok $P "firewall detect ftp;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
rules=$(ftp_rule_names $P)
t_check "one-way policy: only rule trust-to-untrust, default deny ($rules)" test "$rules" = "trust-to-untrust default:deny"
ftp_server_start $P out 203.0.113.2 || { t_fail "vsftpd on 203.0.113.2"; t_done; }
t_check "outside host has no route to the inside network" \
  bash -c "! ip -n $P-out route get 198.18.1.2 >/dev/null 2>&1"

echo "four modes, download and upload (easy-ip 203.0.113.1)"
ftp_all_modes $P in 203.0.113.2 || ftp_dump_logs $P
ftp_roundtrip $P in2 203.0.113.2 port "second inside host: " || ftp_dump_logs $P

log=/tmp/$P-vsftpd.log
t_check "vsftpd saw only the translated client address" \
  bash -c "grep -q 'Client \"203.0.113.1\"' $log && ! grep -q '198\.18\.' $log"
t_check "vsftpd received PORT 203,0,113,1,... (rewritten)" grep -Eq '"PORT 203,0,113,1,[0-9]+,[0-9]+"' $log
t_check "vsftpd received EPRT |1|203.0.113.1|...| (rewritten)" grep -Eq '"EPRT \|1\|203\.0\.113\.1\|[0-9]+\|"' $log
t_check "vsftpd refused no PORT/EPRT" bash -c "! grep -Eq 'Illegal (PORT|EPRT)|500 .*PORT' $log"

sess=$(fwcli_run $P "display firewall session table")
echo "$sess" | sed 's/^/    | /' | head -n 12
t_check "control session shown as ftp 198.18.1.2:X[203.0.113.1:Y] +-> 203.0.113.2:21" grep -Eq \
  '^ *ftp +VPN: public --> public +198\.18\.1\.2:[0-9]+\[203\.0\.113\.1:[0-9]+\] \+-> 203\.0\.113\.2:21$' <<<"$sess"
t_check "active data session shown as ftp-data 203.0.113.2:20 --> 203.0.113.1:X[198.18.1.2:Y]" grep -Eq \
  '^ *ftp-data +VPN: public --> public +203\.0\.113\.2:20 --> 203\.0\.113\.1:[0-9]+\[198\.18\.1\.2:[0-9]+\]$' <<<"$sess"
t_check "passive data session shown as ftp-data 198.18.1.2:X[203.0.113.1:Y] --> 203.0.113.2:40000-40100" grep -Eq \
  '^ *ftp-data +VPN: public --> public +198\.18\.1\.2:[0-9]+\[203\.0\.113\.1:[0-9]+\] --> 203\.0\.113\.2:40[01][0-9][0-9]$' <<<"$sess"
ftp_show $P "display firewall detect verbose"
rw=$(ftp_detect_counter $P rewrites); op=$(ftp_detect_counter $P opened); pa=$(ftp_detect_counter $P parsed)
# 10 transfers, 5 of them active (each PORT/EPRT is rewritten once).
t_check "detect counters: rewrites >= 5 ($rw), opened >= 5 ($op), parsed >= 10 ($pa)" \
  test "${rw:-0}" -ge 5 -a "${op:-0}" -ge 5 -a "${pa:-0}" -ge 10
t_check "refused 0 ($(ftp_detect_counter $P refused))" test "$(ftp_detect_counter $P refused)" = 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
