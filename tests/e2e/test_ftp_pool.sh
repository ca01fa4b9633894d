#!/usr/bin/env bash
# FTP through source NAT with a PAT address-group (203.0.113.100-105), ASPF enabled per interzone
# (`undo firewall detect ftp` (on in the factory configuration), then `firewall interzone trust
# untrust` + `detect ftp`), one-way trust->untrust
# policy. Both inside hosts, all four modes, download and upload with sha256 checked. vsftpd
# (port_promiscuous=NO, pasv_promiscuous=NO) accepts a PORT/EPRT only with the control connection's
# translated address and a passive data connection only from it: the data connections must leave
# with the same pool address as their control connection.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-ftppool
ftp_test_start $P
t_check "pool1 (pat, .100-.105), nat-policy and interzone detect ftp configured" nat_cfg_ok $P \
  "nat address-group pool1; mode pat; section 0 203.0.113.100 203.0.113.105; quit;" \
  "nat-policy; rule name snat; source-zone trust; destination-zone untrust; action source-nat address-group pool1; quit; quit;" \
  "undo firewall detect ftp; firewall interzone trust untrust; detect ftp"
det=$(fwcli_run $P "display firewall detect")
echo "$det" | sed 's/^/    | /'
t_check "display firewall detect: global ---, interzone trust untrust: ftp" \
  grep -Eq 'global:\|   ---\|  interzone trust untrust:\|   ftp\|' <<<"$(tr '\n' '|' <<<"$det")"
ftp_server_start $P out 203.0.113.2 || { t_fail "vsftpd on 203.0.113.2"; t_done; }

echo "four modes from 198.18.1.2, then from 198.18.1.3"
ftp_all_modes $P in 203.0.113.2 "in: " || ftp_dump_logs $P
ftp_all_modes $P in2 203.0.113.2 "in2: " || ftp_dump_logs $P

log=/tmp/$P-vsftpd.log
clients=$(grep -oE 'Client "[0-9.]+"' $log | sort -u | grep -oE '[0-9.]{7,}' | tr '\n' ' ')
t_check "vsftpd saw only pool addresses ($clients)" nat_addrs_in_pool "$clients" 100 105
t_check "every PORT/EPRT vsftpd received carries its control connection's pool address" \
  "$LAB_PY" - "$log" <<'PY'
import re, sys
bad = n = 0
for line in open(sys.argv[1]):
    m = re.search(r'FTP command: Client "([0-9.]+)", "(PORT|EPRT) ([^"]*)"', line)
    if not m:
        continue
    n += 1
    cli, cmd, arg = m.groups()
    addr = ".".join(arg.split(",")[:4]) if cmd == "PORT" else arg.split("|")[2]
    if addr != cli:
        bad += 1
        print("    mismatch:", line.strip(), file=sys.stderr)
print("    %d PORT/EPRT commands, %d with a foreign address" % (n, bad), file=sys.stderr)
sys.exit(0 if n >= 8 and bad == 0 else 1)
PY
t_check "vsftpd refused nothing (no 425/500)" bash -c "! grep -Eq '\"(425|500) ' $log"
sess=$(fwcli_run $P "display firewall session table")
t_check "control sessions 198.18.1.x:X[203.0.113.10x:Y] +-> 203.0.113.2:21" grep -Eq \
  '^ *ftp +VPN: public --> public +198\.18\.1\.[23]:[0-9]+\[203\.0\.113\.10[0-5]:[0-9]+\] \+-> 203\.0\.113\.2:21$' <<<"$sess"
t_check "active ftp-data sessions 203.0.113.2:20 --> 203.0.113.10x:X[198.18.1.x:Y]" grep -Eq \
  '^ *ftp-data +VPN: public --> public +203\.0\.113\.2:20 --> 203\.0\.113\.10[0-5]:[0-9]+\[198\.18\.1\.[23]:[0-9]+\]$' <<<"$sess"
ftp_show $P "display firewall detect verbose"
rw=$(ftp_detect_counter $P rewrites); op=$(ftp_detect_counter $P opened)
t_check "detect counters: rewrites >= 8 ($rw), opened >= 8 ($op), refused 0" \
  test "${rw:-0}" -ge 8 -a "${op:-0}" -ge 8 -a "$(ftp_detect_counter $P refused)" = 0

echo "no-PAT address-group pool2 (.106-.109)"
t_check "pool2 (no-pat global, .106-.109) configured and rule snat switched to it" nat_cfg_ok $P \
  "nat address-group pool2; mode no-pat global; section 0 203.0.113.106 203.0.113.109; quit;" \
  "nat-policy; rule name snat; action source-nat address-group pool2"
n0=$(wc -l <$log)
ftp_all_modes $P in 203.0.113.2 "no-pat in: " || ftp_dump_logs $P
clients=$(tail -n +$((n0 + 1)) $log | grep -oE 'Client "[0-9.]+"' | sort -u | grep -oE '[0-9.]{7,}' | tr '\n' ' ')
t_check "vsftpd saw only pool2 addresses ($clients)" nat_addrs_in_pool "$clients" 106 109
sm=$(fwcli_run $P "display firewall server-map")
echo "$sm" | sed 's/^/    | /' | head -n 6
t_check "server-map shows the No-Pat entry of the inside host" grep -q 'No-Pat' <<<"$sm"
t_check "no ASPF entry left after the transfers" test "$(grep -c 'Type: ASPF' <<<"$sm")" = 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
