#!/usr/bin/env bash
# ASPF follows application identification ("appid" area, issue 14 part 2): vsftpd on tcp/2121 (a
# port no port-mapping names) on the outside host, curl in active mode (PORT and EPRT) from the
# inside host through easy-ip with the one-way policy of etc/lab.cfg. The control session is
# identified as ftp from the server's greeting, `firewall detect ftp` (the factory default) then
# inspects it: PORT/EPRT are rewritten to the translated address, the server-map entry admits
# vsftpd's data connection, the file arrives intact. With `undo firewall detect ftp` the same
# download fails (curl cannot get its data connection). About 10 s.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-appidftp
FTP_FILE_MIB=1
ftp_test_start $P
t_check "easy-ip nat-policy configured" nat_cfg_ok $P \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
ftp_server_start $P out 203.0.113.2 listen_port=2121 ftp_data_port=2020 || true
lab_wait_listen $P out 2121 tcp || { t_fail "vsftpd on 203.0.113.2:2121"; t_done; }
d=$(ftp_dir $P)
want=$(ftp_sha "$d/root/data.bin")

for mode in port eprt; do
  rc=0; ftp_get $P in $mode "ftp://203.0.113.2:2121/data.bin" "$d/client/got-$mode.bin" 20 || rc=$?
  t_check "active $mode download from tcp/2121 through easy-ip (curl rc=$rc, sha256 matches)" \
    test "$rc" = 0 -a "$(ftp_sha "$d/client/got-$mode.bin")" = "$want"
done
log=/tmp/$P-vsftpd.log
t_check "vsftpd received PORT 203,0,113,1,... (rewritten)" grep -Eq '"PORT 203,0,113,1,[0-9]+,[0-9]+"' $log
sess=$(fwcli_run $P "display firewall session table")
echo "$sess" | sed 's/^/    | /' | head -n 8
t_check "control session shown as ftp ... +-> 203.0.113.2:2121" \
  grep -Eq '^ *ftp +VPN: public --> public +198\.18\.1\.2:[0-9]+\[203\.0\.113\.1:[0-9]+\] \+-> 203\.0\.113\.2:2121$' <<<"$sess"
t_check "active data session shown as ftp-data from 203.0.113.2:2020" \
  grep -Eq '^ *ftp-data +VPN: public --> public +203\.0\.113\.2:2020 --> 203\.0\.113\.1:' <<<"$sess"

t_check "undo firewall detect ftp" nat_cfg_ok $P "undo firewall detect ftp"
rc=0; ftp_get $P in port "ftp://203.0.113.2:2121/data.bin" "$d/client/got-off.bin" 8 || rc=$?
t_check "without detection the active download fails (curl rc=$rc)" test "$rc" != 0
t_done
