#!/usr/bin/env bash
# SIP ALG over UDP with SIPp (tests/e2e/sip/uac.xml, uas.xml): a caller 198.18.1.2 behind easy-ip
# calls a callee 203.0.113.2 outside; both send RTP to the address and port of the other's SDP.
#  - 20 calls, all complete (SIPp exit 0); the callee receives RTP only from 203.0.113.1; the
#    caller receives the callee's RTP; every SIP message outside has Content-Length = body
#    length and no 198.18.x address; no bad IP/UDP checksum on either side (offload off);
#    the calls' entries are gone after their BYE.
#  - the same 20 calls over TCP (SIPp -t t1): messages framed across the stream, rewritten with
#    seq/ack adjusted (no retransmission, no lost segment in the capture), no bad TCP checksum.
#  - undo firewall detect sip: calls still set up, but the callee's media never reaches the
#    caller (it goes to the private address/port the SDP names).
# About 30 s.
set -uo pipefail
source "$(dirname "$0")/lib_sip.sh"
P=fwt-sipe
t_require_root
t_require_bins fwd fwcli
for b in sipp tshark dumpcap; do command -v $b >/dev/null || t_skip "no $b"; done
lab_up $P || { t_fail "lab up"; t_done; }
trap 'lab_down $P' EXIT
SIP_WORK=$(sip_workdir $P)
lab_offload_off $P

fwd_start $P || { t_fail "fwd start"; t_done; }
t_check "easy-ip + firewall detect sip configured" nat_cfg_ok $P "firewall detect sip;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
sip_uas $P out 203.0.113.2 7000 || { t_fail "SIPp UAS on 203.0.113.2"; t_done; }

IN_CAP=/tmp/$P-in.pcap OUT_CAP=/tmp/$P-out.pcap
nat_cap_start $P in eth0 "$IN_CAP" 0 udp || t_fail "capture inside"
IN_PID=$NAT_CAP_PID
nat_cap_start $P out eth0 "$OUT_CAP" 0 udp || t_fail "capture outside"
OUT_PID=$NAT_CAP_PID
echo "easy-ip: 20 calls with RTP both ways"
t_check "20 calls complete (sipp exit 0)" sip_uac $P in 198.18.1.2 6000 203.0.113.2:5060 20
grep -E "Successful call|Failed call" /tmp/$P-uac.log | tail -2 | sed 's/^/    | /'
nat_cap_stop "$IN_PID"
nat_cap_stop "$OUT_PID"
n=$(sip_count "$OUT_CAP" "udp.dstport == 7000 && ip.src == 203.0.113.1")
t_check "the callee received RTP from 203.0.113.1 ($n packets)" test "$n" -gt 100
n=$(sip_count "$OUT_CAP" "ip.src == 198.18.0.0/16 || ip.dst == 198.18.0.0/16")
t_check "nothing outside carries a 198.18.x address in its IP header ($n)" test "$n" -eq 0
n=$(sip_count "$IN_CAP" "udp.srcport == 7000 && ip.src == 203.0.113.2 && udp.dstport == 6000")
t_check "the caller received the callee's RTP on its SDP port ($n packets)" test "$n" -gt 100
t_check "outside: every SIP message has Content-Length = body and no 198.18.x" \
  sip_check_messages "$OUT_CAP" '198\.18\.'
t_check "inside: every SIP message has Content-Length = body, no 203.0.113.1 (the caller's view)" \
  sip_check_messages "$IN_CAP" '203\.0\.113\.1[^0-9]'
t_check "no bad IP/UDP checksum outside" test "$(sip_bad_checksums "$OUT_CAP")" -eq 0
t_check "no bad IP/UDP checksum inside" test "$(sip_bad_checksums "$IN_CAP")" -eq 0
sess=$(fwcli_run $P "display firewall session table application sip")
echo "$sess" | sed 's/^/    | /' | head -n 6
t_check "application sip: the signalling session 198.18.1.2:5060[203.0.113.1:P] -> 203.0.113.2:5060" \
  grep -Eq '^ *sip +VPN: public --> public +198\.18\.1\.2:5060\[203\.0\.113\.1:[0-9]+\] (\+->|-->) 203\.0\.113\.2:5060$' <<<"$sess"
sm=$(fwcli_run $P "display firewall server-map aspf")
t_check "the calls' entries are gone after BYE" grep -q "Current Total Server-map : 0" <<<"$sm"
det=$(fwcli_run $P "display firewall detect verbose")
echo "$det" | grep -E "^ *sip" | sed 's/^/    | /'
t_check "detect: sip parsed, rewrites and opened counted, refused 0" grep -Eq \
  'sip +udp/tcp port 5060 +parsed [1-9][0-9]+, rewrites [1-9][0-9]*, opened [1-9][0-9]*, malformed 0, refused 0' <<<"$det"
echo "$det" | grep -A2 "^ Flows:" | sed 's/^/    | /'
t_check "detect verbose: the signalling flow's mode is translate" grep -Eq \
  '^  sip udp 198\.18\.1\.2:5060\[203\.0\.113\.1:[0-9]+\] --> 203\.0\.113\.2:5060  translate$' <<<"$det"

echo "easy-ip: 20 calls over TCP (-t t1) with RTP both ways"
SIP_UAS_PROTO=tcp sip_uas $P out 203.0.113.2 7100 -t t1 || t_fail "SIPp UAS on tcp 203.0.113.2"
nat_cap_start $P in eth0 "$IN_CAP" 0 "tcp port 5060 or udp" || t_fail "capture inside"
IN_PID=$NAT_CAP_PID
nat_cap_start $P out eth0 "$OUT_CAP" 0 "tcp port 5060 or udp" || t_fail "capture outside"
OUT_PID=$NAT_CAP_PID
t_check "20 calls over TCP complete (sipp exit 0)" \
  sip_uac $P in 198.18.1.2 6100 203.0.113.2:5060 20 -t t1
grep -E "Successful call|Failed call" /tmp/$P-uac.log | tail -2 | sed 's/^/    | /'
nat_cap_stop "$IN_PID"
nat_cap_stop "$OUT_PID"
n=$(sip_count "$OUT_CAP" "tcp.dstport == 5060 && tcp.len > 0 && ip.src == 203.0.113.1")
t_check "the signalling went over TCP from 203.0.113.1 ($n segments)" test "$n" -ge 60
n=$(sip_count "$OUT_CAP" "udp.dstport == 7100 && ip.src == 203.0.113.1")
t_check "TCP: the callee received RTP from 203.0.113.1 ($n packets)" test "$n" -gt 100
n=$(sip_count "$IN_CAP" "udp.srcport == 7100 && ip.src == 203.0.113.2 && udp.dstport == 6100")
t_check "TCP: the caller received the callee's RTP on its SDP port ($n packets)" test "$n" -gt 100
t_check "TCP outside: every SIP message has Content-Length = body and no 198.18.x" \
  sip_check_tcp_messages "$OUT_CAP" '198\.18\.'
t_check "TCP inside: every SIP message has Content-Length = body, no 203.0.113.1" \
  sip_check_tcp_messages "$IN_CAP" '203\.0\.113\.1[^0-9]'
n=$(timeout 60 tshark -n -r "$OUT_CAP" -o tcp.check_checksum:TRUE -Y "tcp.checksum.status == 0" \
  2>/dev/null | wc -l)
t_check "TCP: no bad TCP checksum outside ($n)" test "$n" -eq 0
n=$(sip_count "$OUT_CAP" "tcp.analysis.retransmission || tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment")
t_check "TCP: no retransmission or lost segment outside (seq/ack adjusted) ($n)" test "$n" -eq 0
sm=$(fwcli_run $P "display firewall server-map aspf")
t_check "TCP: the calls' entries are gone after BYE" grep -q "Current Total Server-map : 0" <<<"$sm"

echo "undo firewall detect sip"
t_check "detect off" nat_cfg_ok $P "undo firewall detect sip"
fwcli_run $P "reset firewall session table" >/dev/null
nat_cap_start $P in eth0 "$IN_CAP" 0 udp || t_fail "capture inside"
IN_PID=$NAT_CAP_PID
sip_uac $P in 198.18.1.2 6000 203.0.113.2:5060 2
nat_cap_stop "$IN_PID"
n=$(sip_count "$IN_CAP" "udp.srcport == 7000 && ip.src == 203.0.113.2")
t_check "without the ALG the callee's media never reaches the caller ($n packets)" test "$n" -eq 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
