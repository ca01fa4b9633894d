#!/usr/bin/env bash
# Captures on both sides of the firewall (in0 and out0 in the firewall namespace, checksum offload
# off on every lab veth) while FTP runs through easy-ip with `firewall detect ftp`:
# - no bad IPv4 or TCP checksum in either capture (control and data connections);
# - on in0 the client's own "PORT 198,18,1,2,..." / "EPRT |1|198.18.1.2|...|", on out0 the
#   rewritten "PORT 203,0,113,1,..." / "EPRT |1|203.0.113.1|...|" with the same port (easy-ip keeps it);
# - one curl fetching three files over one control connection (three PORT rewrites, each one byte
#   longer) with every file intact, and on out0 no "ACKed unseen segment" / "previous segment not
#   captured" for port 21 (the seq/ack adjustment holds for the whole control session).
set -uo pipefail
source "$(dirname "$0")/lib_ftp.sh"
P=fwt-ftpcap
FTP_FILE_MIB=1
command -v tshark >/dev/null || t_skip "tshark not installed"
ftp_test_start $P
lab_offload_off $P
t_check "easy-ip + firewall detect ftp configured" nat_cfg_ok $P "firewall detect ftp;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
ftp_server_start $P out 203.0.113.2 || { t_fail "vsftpd on 203.0.113.2"; t_done; }
ci=/tmp/$P-in0.pcap; co=/tmp/$P-out0.pcap
nat_cap_start $P fw in0 $ci 0 "tcp" || t_fail "capture on in0"; cpi=$NAT_CAP_PID
nat_cap_start $P fw out0 $co 0 "tcp" || t_fail "capture on out0"; cpo=$NAT_CAP_PID

d=$(ftp_dir $P)
for m in port eprt; do ftp_roundtrip $P in 203.0.113.2 $m || ftp_dump_logs $P; done
rc=0; ftp_curl $P in port 60 ftp://203.0.113.2/data.bin -o $d/client/m1.bin ftp://203.0.113.2/data.bin \
  -o $d/client/m2.bin ftp://203.0.113.2/data.bin -o $d/client/m3.bin || rc=$?
ok=0; for f in m1 m2 m3; do [[ $(ftp_sha $d/client/$f.bin) == "$FTP_DATA_SHA" ]] && ok=$((ok + 1)); done
t_check "three files over one control connection, active PORT (rc=$rc, $ok/3 intact)" test $rc = 0 -a $ok = 3
nports=$(grep -c '"PORT 203,0,113,1,' /tmp/$P-vsftpd.log)
t_check "vsftpd got the rewritten PORT on one control session 3 times (+ 2 earlier: $nports)" test "$nports" -ge 5
nat_cap_stop $cpi; nat_cap_stop $cpo

ck=(-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE)
rd() { timeout 60 tshark -n "${ck[@]}" -r "$@" 2>/dev/null; }
for side in in0 out0; do
  f=/tmp/$P-$side.pcap
  tot=$(rd $f -T fields -e frame.number | wc -l)
  # 0xffff where 0x0000 is computed is the same value in one's complement (RFC 1624; see LAB.md):
  # receivers accept it, tshark flags it. Counted and shown, not failed.
  bad=$(rd $f -Y 'ip.checksum.status == "Bad" || (tcp.checksum.status == "Bad" && !(tcp.checksum == 0xffff && tcp.checksum_calculated == 0x0000))' -T fields -e frame.number | wc -l)
  ffff=$(rd $f -Y 'tcp.checksum == 0xffff && tcp.checksum_calculated == 0x0000' -T fields -e frame.number | wc -l)
  t_check "$side: $tot TCP packets captured, $bad with a bad IP/TCP checksum ($ffff with 0xffff for 0x0000)" test "$tot" -gt 1000 -a "$bad" = 0
done
pin=$(rd $ci -Y 'ftp.request.command == "PORT"' -T fields -e ftp.request.arg | tr -d '\r' | sort -u)
pout=$(rd $co -Y 'ftp.request.command == "PORT"' -T fields -e ftp.request.arg | tr -d '\r' | sort -u)
ein=$(rd $ci -Y 'ftp.request.command == "EPRT"' -T fields -e ftp.request.arg | tr -d '\r')
eout=$(rd $co -Y 'ftp.request.command == "EPRT"' -T fields -e ftp.request.arg | tr -d '\r')
echo "    in0  PORT: $(echo $pin)  EPRT: $(echo $ein)"
echo "    out0 PORT: $(echo $pout)  EPRT: $(echo $eout)"
t_check "in0: 5 PORT commands, all 198,18,1,2,..." \
  bash -c '[[ $(wc -l <<<"$1") == 5 ]] && ! grep -vEq "^198,18,1,2,[0-9]+,[0-9]+$" <<<"$1"' _ "$pin"
t_check "out0: 5 PORT commands, all 203,0,113,1,..." \
  bash -c '[[ $(wc -l <<<"$1") == 5 ]] && ! grep -vEq "^203,0,113,1,[0-9]+,[0-9]+$" <<<"$1"' _ "$pout"
t_check "PORT ports identical on both sides (easy-ip keeps the port)" \
  test "$(sed -E 's/^([0-9]+,){4}//' <<<"$pin")" = "$(sed -E 's/^([0-9]+,){4}//' <<<"$pout")"
t_check "EPRT: in0 2 x |1|198.18.1.2|X| -> out0 2 x |1|203.0.113.1|X| (same X, same order)" \
  bash -c '[[ $(wc -l <<<"$1") == 2 && $(sed "s/198\.18\.1\.2/203.0.113.1/" <<<"$1") == "$2" ]] && ! grep -vEq "^\|1\|198\.18\.1\.2\|[0-9]+\|$" <<<"$1"' _ "$ein" "$eout"
t_check "out0: no un-translated inside address anywhere" test "$(rd $co -Y 'ip.addr == 198.18.0.0/16 || ftp.request.arg contains "198,18"' -T fields -e frame.number | wc -l)" = 0
for side in in0 out0; do
  f=/tmp/$P-$side.pcap
  an=$(rd $f -Y 'tcp.port == 21 && (tcp.analysis.ack_lost_segment || tcp.analysis.lost_segment || tcp.analysis.retransmission)' -T fields -e frame.number | wc -l)
  t_check "$side: control connections without ACKed-unseen / lost segment / retransmission ($an)" test "$an" = 0
done
# The server's replies to the rewritten commands arrive with acks the client understands: every
# control connection on in0 ends with the client's QUIT answered by 221.
q=$(rd $ci -Y 'ftp.request.command == "QUIT"' -T fields -e frame.number | wc -l)
r=$(rd $ci -Y 'ftp.response.code == 221' -T fields -e frame.number | wc -l)
t_check "in0: every QUIT answered by 221 ($q QUIT, $r 221)" test "$q" -ge 5 -a "$q" = "$r"
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
