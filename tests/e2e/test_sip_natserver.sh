#!/usr/bin/env bash
# SIP ALG behind a NAT server: a SIPp callee 198.18.2.2 in the dmz published as 203.0.113.100
# (`nat server ... protocol udp global 203.0.113.100 5060 inside 198.18.2.2 5060`), called by a
# SIPp caller outside (203.0.113.2, no route to the dmz). The only rule towards the dmz admits
# udp/5060; dmz -> untrust has no rule: media passes only through the ALG's entries.
#  - 10 calls complete; the caller receives RTP from 203.0.113.100 (the global address, from the
#    public port the callee's rewritten SDP announced); the callee receives the caller's RTP;
#    no 198.18.x in any packet or SIP message outside (Call-ID aside); Content-Length = body;
#    no bad checksum.
#  - the same over TCP (SIPp -t t1 both sides; `nat server ... protocol tcp ... 5060` and a rule
#    for tcp/5060 added to the running fwd): 10 calls complete, RTP both ways as above, every
#    SIP message reassembled from the captures has Content-Length = body and no private
#    (outside) / global (dmz) address, no bad checksum, no retransmission (seq/ack adjusted).
# About 10 s, the TCP part about 10 s more.
set -uo pipefail
source "$(dirname "$0")/lib_sip.sh"
P=fwt-sips
t_require_root
t_require_bins fwd fwcli
for b in sipp tshark dumpcap; do command -v $b >/dev/null || t_skip "no $b"; done
lab_up $P || { t_fail "lab up"; t_done; }
trap 'lab_down $P' EXIT
SIP_WORK=$(sip_workdir $P)
lab_offload_off $P

fwd_start $P || { t_fail "fwd start"; t_done; }
t_check "nat server udp 5060 -> dmz, u2d udp/5060 only, firewall detect sip" nat_cfg_ok $P \
  "firewall detect sip;" \
  "nat server sip-dmz protocol udp global 203.0.113.100 5060 inside 198.18.2.2 5060;" \
  "security-policy; rule name u2d-sip; source-zone untrust; destination-zone dmz;" \
  "destination-address 198.18.2.2 32; service protocol udp destination-port 5060; action permit"
t_check "outside host has no route to the dmz" bash -c "! ip -n $P-out route get 198.18.2.2 >/dev/null 2>&1"
sip_uas $P dmz 198.18.2.2 7000 || { t_fail "SIPp UAS on 198.18.2.2"; t_done; }

DMZ_CAP=/tmp/$P-dmz.pcap OUT_CAP=/tmp/$P-out.pcap
nat_cap_start $P dmz eth0 "$DMZ_CAP" 0 udp || t_fail "capture in the dmz"
DMZ_PID=$NAT_CAP_PID
nat_cap_start $P out eth0 "$OUT_CAP" 0 udp || t_fail "capture outside"
OUT_PID=$NAT_CAP_PID
t_check "10 calls to 203.0.113.100 complete (sipp exit 0)" \
  sip_uac $P out 203.0.113.2 6000 203.0.113.100:5060 10
grep -E "Successful call|Failed call" /tmp/$P-uac.log | tail -2 | sed 's/^/    | /'
nat_cap_stop "$DMZ_PID"
nat_cap_stop "$OUT_PID"
n=$(sip_count "$OUT_CAP" "ip.src == 203.0.113.100 && udp.dstport == 6000 && !(udp.port == 5060)")
t_check "the caller received the callee's RTP from 203.0.113.100 ($n packets)" test "$n" -gt 50
n=$(sip_count "$DMZ_CAP" "ip.src == 203.0.113.2 && udp.dstport == 7000")
t_check "the callee received the caller's RTP on its own port ($n packets)" test "$n" -gt 50
n=$(sip_count "$OUT_CAP" "ip.src == 198.18.0.0/16 || ip.dst == 198.18.0.0/16")
t_check "no 198.18.x address in any IP header outside ($n)" test "$n" -eq 0
t_check "outside: SIP messages with Content-Length = body and no 198.18.x" \
  sip_check_messages "$OUT_CAP" '198\.18\.'
t_check "dmz: SIP messages with Content-Length = body and no 203.0.113.100" \
  sip_check_messages "$DMZ_CAP" '203\.0\.113\.100'
t_check "no bad IP/UDP checksum outside" test "$(sip_bad_checksums "$OUT_CAP")" -eq 0
t_check "no bad IP/UDP checksum in the dmz" test "$(sip_bad_checksums "$DMZ_CAP")" -eq 0
sm=$(fwcli_run $P "display firewall server-map aspf")
t_check "no ASPF entry left after the calls" grep -q "Current Total Server-map : 0" <<<"$sm"

echo "nat server over TCP: 10 calls (-t t1 both sides) with RTP both ways"
lab_kill "$SIP_UAS_PID"
t_check "nat server tcp 5060 -> dmz, u2d tcp/5060" nat_cfg_ok $P \
  "nat server sip-dmz-tcp protocol tcp global 203.0.113.100 5060 inside 198.18.2.2 5060;" \
  "security-policy; rule name u2d-sip-tcp; source-zone untrust; destination-zone dmz;" \
  "destination-address 198.18.2.2 32; service protocol tcp destination-port 5060; action permit"
SIP_UAS_PROTO=tcp sip_uas $P dmz 198.18.2.2 7100 -t t1 || t_fail "SIPp UAS on tcp 198.18.2.2"
nat_cap_start $P dmz eth0 "$DMZ_CAP" 0 "tcp port 5060 or udp" || t_fail "capture in the dmz"
DMZ_PID=$NAT_CAP_PID
nat_cap_start $P out eth0 "$OUT_CAP" 0 "tcp port 5060 or udp" || t_fail "capture outside"
OUT_PID=$NAT_CAP_PID
t_check "10 calls over TCP to 203.0.113.100 complete (sipp exit 0)" \
  sip_uac $P out 203.0.113.2 6100 203.0.113.100:5060 10 -t t1
grep -E "Successful call|Failed call" /tmp/$P-uac.log | tail -2 | sed 's/^/    | /'
nat_cap_stop "$DMZ_PID"
nat_cap_stop "$OUT_PID"
n=$(sip_count "$DMZ_CAP" "tcp.dstport == 5060 && tcp.len > 0 && ip.dst == 198.18.2.2")
t_check "TCP: the signalling reached the callee over TCP ($n segments)" test "$n" -ge 20
n=$(sip_count "$OUT_CAP" "ip.src == 203.0.113.100 && udp.dstport == 6100")
t_check "TCP: the caller received the callee's RTP from 203.0.113.100 ($n packets)" test "$n" -gt 50
n=$(sip_count "$DMZ_CAP" "ip.src == 203.0.113.2 && udp.dstport == 7100")
t_check "TCP: the callee received the caller's RTP on its own port ($n packets)" test "$n" -gt 50
n=$(sip_count "$OUT_CAP" "ip.src == 198.18.0.0/16 || ip.dst == 198.18.0.0/16")
t_check "TCP: no 198.18.x address in any IP header outside ($n)" test "$n" -eq 0
t_check "TCP outside: every SIP message has Content-Length = body and no 198.18.x" \
  sip_check_tcp_messages "$OUT_CAP" '198\.18\.'
t_check "TCP dmz: every SIP message has Content-Length = body and no 203.0.113.100" \
  sip_check_tcp_messages "$DMZ_CAP" '203\.0\.113\.100'
# One pass per capture: a bad IP/UDP/TCP checksum, or a retransmission or lost segment (seq/ack
# not adjusted after a size change).
for cap in "$OUT_CAP" "$DMZ_CAP"; do
  n=$(timeout 60 tshark -n -r "$cap" -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
    -o ip.check_checksum:TRUE -Y "tcp.checksum.status == 0 || udp.checksum.status == 0 ||
      ip.checksum.status == 0 || tcp.analysis.retransmission || tcp.analysis.lost_segment ||
      tcp.analysis.ack_lost_segment" 2>/dev/null | wc -l)
  t_check "TCP: no bad checksum, retransmission or lost segment in $(basename "$cap") ($n)" \
    test "$n" -eq 0
done
sm=$(fwcli_run $P "display firewall server-map aspf")
t_check "TCP: no ASPF entry left after the calls" grep -q "Current Total Server-map : 0" <<<"$sm"
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
