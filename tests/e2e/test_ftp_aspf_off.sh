#!/usr/bin/env bash
# ASPF off: through easy-ip with the one-way trust->untrust policy, `undo firewall detect ftp` makes
# active FTP (EPRT and PORT) fail (curl exit 30, or a timeout) while passive (EPSV, PASV) keeps
# working; `detect ftp` under `firewall interzone trust untrust` brings active back, `undo detect
# ftp` takes it away again. Then the same namespaces without fwd, with the Linux reference
# (iptables MASQUERADE): without the kernel's ftp helper active fails and passive works, with
# `CT --helper ftp` active works - the same behaviour.
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-ftpoff
ftp_test_start $P
t_check "easy-ip nat-policy + firewall detect ftp configured" nat_cfg_ok $P "firewall detect ftp;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
ftp_server_start $P out 203.0.113.2 || { t_fail "vsftpd on 203.0.113.2"; t_done; }
d=$(ftp_dir $P)
want=$FTP_DATA_SHA

# get_ok LABEL MODE: download works with the right hash. get_fails LABEL MODE: curl fails (30, or
# 28/124 on a timeout) and no complete file arrived.
get_ok() {
  local rc=0
  ftp_get $P in "$2" ftp://203.0.113.2/data.bin $d/client/g.bin 30 || rc=$?
  if ((rc == 0)) && [[ $(ftp_sha $d/client/g.bin) == "$want" ]]; then t_ok "$1: $2 works"; else t_fail "$1: $2 works (curl rc=$rc)"; fi
}
get_fails() {
  local rc=0
  ftp_get $P in "$2" ftp://203.0.113.2/data.bin $d/client/g.bin 15 || rc=$?
  if ((rc == 30 || rc == 28 || rc == 124)) && [[ $(ftp_sha $d/client/g.bin) != "$want" ]]; then
    t_ok "$1: $2 fails (curl rc=$rc)"
  else
    t_fail "$1: $2 fails (curl rc=$rc, expected 30 or a timeout)"
  fi
}

echo "ASPF on (global)"
for m in eprt port; do get_ok "detect on" $m; done
echo "undo firewall detect ftp"
t_check "undo firewall detect ftp" nat_cfg_ok $P "undo firewall detect ftp"
t_check "display firewall detect: global ---" grep -Eq 'global:\|   ---\|' <<<"$(fwcli_run $P "display firewall detect" | tr '\n' '|')"
rw0=$(ftp_detect_counter $P rewrites); pa0=$(ftp_detect_counter $P parsed)
for m in eprt port; do get_fails "detect off" $m; done
for m in epsv pasv; do get_ok "detect off" $m; done
t_check "ASPF off: vsftpd got the un-translated PORT/EPRT and refused it" \
  bash -c "grep -Eq '\"PORT 198,18,1,2,' /tmp/$P-vsftpd.log && grep -Eq '\"500 Illegal (PORT|EPRT)' /tmp/$P-vsftpd.log"
t_check "ASPF off: nothing parsed or rewritten (parsed $pa0 -> $(ftp_detect_counter $P parsed), rewrites $rw0 -> $(ftp_detect_counter $P rewrites))" \
  test "$(ftp_detect_counter $P parsed)" = "$pa0" -a "$(ftp_detect_counter $P rewrites)" = "$rw0"

echo "interzone trust untrust: detect ftp"
t_check "firewall interzone trust untrust; detect ftp" nat_cfg_ok $P "firewall interzone trust untrust; detect ftp"
for m in eprt port epsv pasv; do get_ok "interzone detect" $m; done
echo "interzone: undo detect ftp"
t_check "undo detect ftp (interzone)" nat_cfg_ok $P "firewall interzone trust untrust; undo detect ftp"
t_check "display firewall detect: interzone trust untrust: ---" \
  grep -Eq 'interzone trust untrust:\|   ---\|' <<<"$(fwcli_run $P "display firewall detect" | tr '\n' '|')"
for m in eprt port; do get_fails "interzone undo" $m; done
for m in epsv pasv; do get_ok "interzone undo" $m; done

echo "Linux reference in the same namespaces (fwd stopped)"
rc=0; fwd_stop $P || rc=$?
t_check "fwd stops (rc=$rc) and leaves no rules" bash -c "((rc == 0)) && test -z \"\$(P=$P; $(declare -f fw_rules_left); fw_rules_left $P)\"" rc=$rc
ip netns exec $P-fw iptables -t nat -A POSTROUTING -o out0 -j MASQUERADE
ip netns exec $P-fw sysctl -qw net.netfilter.nf_conntrack_helper=0 2>/dev/null || true
for m in eprt port; do get_fails "linux, no helper" $m; done
for m in epsv pasv; do get_ok "linux, no helper" $m; done
ip netns exec $P-fw iptables -t raw -A PREROUTING -i in0 -p tcp --dport 21 -j CT --helper ftp
for m in eprt port; do get_ok "linux, CT --helper ftp" $m; done
t_done
