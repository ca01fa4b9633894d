#!/usr/bin/env bash
# A deny rule for service ftp, moved above the trust-to-untrust permit, blocks FTP entirely (all four
# modes, easy-ip, `firewall detect ftp` on): the control connection never reaches vsftpd, the deny
# rule counts hits, other traffic (HTTP) still passes; removing the rule brings FTP back.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-ftpdeny
FTP_FILE_MIB=1
ftp_test_start $P
t_check "easy-ip + firewall detect ftp (fin-rst aging 2 s) configured" nat_cfg_ok $P "firewall detect ftp;" \
  "firewall session aging-time fin-rst 2;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
ftp_server_start $P out 203.0.113.2 || { t_fail "vsftpd on 203.0.113.2"; t_done; }
www=/tmp/$P-www; mkdir -p $www; echo hello >$www/index.html
lab_http_server $P out 203.0.113.2 80 $www || t_fail "http server on 203.0.113.2:80"
d=$(ftp_dir $P)
http_ok() { [[ $(ip netns exec $P-in curl -sS -m 5 http://203.0.113.2/index.html 2>/dev/null) == hello ]]; }

echo "before: FTP works"
for m in epsv port; do
  rc=0; ftp_get $P in $m ftp://203.0.113.2/data.bin $d/client/g.bin 30 || rc=$?
  t_check "before the deny rule: $m download works (rc=$rc)" test $rc = 0 -a "$(ftp_sha $d/client/g.bin)" = "$FTP_DATA_SHA"
done

echo "deny rule for service ftp above the permit"
t_check "rule deny-ftp (trust->untrust, service ftp, deny) added and moved before trust-to-untrust" nat_cfg_ok $P \
  "security-policy; rule name deny-ftp; source-zone trust; destination-zone untrust; service ftp; action deny; quit;" \
  "rule move deny-ftp before trust-to-untrust"
rules=$(ftp_rule_names $P)
t_check "rule order: deny-ftp trust-to-untrust ($rules)" test "$rules" = "deny-ftp trust-to-untrust default:deny"
conns0=$(grep -c 'CONNECT: Client' /tmp/$P-vsftpd.log)
for m in "${FTP_MODES[@]}"; do
  rc=0; ftp_get $P in $m ftp://203.0.113.2/data.bin $d/client/g.bin 10 || rc=$?
  t_check "deny: $m download fails (curl rc=$rc: 28 timeout / 7 refused)" \
    bash -c "[[ $rc == 28 || $rc == 7 || $rc == 124 ]] && [[ ! -s $d/client/g.bin ]]"
  rc=0; ftp_put $P in $m $d/client/up.bin ftp://203.0.113.2/upload/deny-$m.bin 10 || rc=$?
  t_check "deny: $m upload fails (curl rc=$rc), nothing stored" bash -c "[[ $rc != 0 && ! -e $d/root/upload/deny-$m.bin ]]"
done
conns1=$(grep -c 'CONNECT: Client' /tmp/$P-vsftpd.log)
t_check "vsftpd saw no new control connection ($conns0 -> $conns1)" test "$conns0" = "$conns1"
hits=$(fw_rule_hits $P deny-ftp)
t_check "deny-ftp counts hits ($hits)" test "${hits:-0}" -ge 8
t_check "HTTP inside -> outside still passes" http_ok
t_check "no ftp session, no server-map entry" \
  bash -c "! grep -Eq '^ *ftp' <<<\"\$1\" && [[ $(ftp_servermap_total $P) == 0 ]]" _ "$(fwcli_run $P "display firewall session table")"

echo "undo rule name deny-ftp"
t_check "undo rule name deny-ftp" nat_cfg_ok $P "security-policy; undo rule name deny-ftp"
for m in port pasv; do
  rc=0; ftp_get $P in $m ftp://203.0.113.2/data.bin $d/client/g.bin 30 || rc=$?
  t_check "after removing the rule: $m download works (rc=$rc)" test $rc = 0 -a "$(ftp_sha $d/client/g.bin)" = "$FTP_DATA_SHA"
done
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
