#!/usr/bin/env bash
# SIP ALG behind a NAT server: a SIPp callee 198.18.2.2 in the dmz published as 203.0.113.100
# (`nat server ... protocol udp global 203.0.113.100 5060 inside 198.18.2.2 5060`), called by a
# SIPp caller outside (203.0.113.2, no route to the dmz). The only rule towards the dmz admits
# udp/5060; dmz -> untrust has no rule: media passes only through the ALG's entries.
#  - 10 calls complete; the caller receives RTP from 203.0.113.100 (the global address, from the
#    public port the callee's rewritten SDP announced); the callee receives the caller's RTP;
#    no 198.18.x in any packet or SIP message outside (Call-ID aside); Content-Length = body;
#    no bad checksum.
# About 10 s.
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
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
