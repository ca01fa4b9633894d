#!/usr/bin/env bash
# SIP ALG without NAT (routed path, pinhole-only): SIPp caller 198.18.1.2 calls 203.0.113.2;
# the only rule is trust -> untrust, so the callee's RTP to the caller (a new flow from outside)
# passes only through the entries the ALG opened from the SDP.
#  - 5 calls complete; every SIP message is byte for byte the same on both sides (captures
#    inside and outside: the same payloads in the same order); the caller receives the callee's
#    RTP; no bad checksum.
#  - undo firewall detect sip: no entry is opened, no byte changes. (The callee's RTP then still
#    gets in as the reply of the caller's own RTP flow - symmetric RTP needs no ALG without NAT;
#    test_sip_easyip shows the media failing without the ALG under NAT.)
# About 10 s.
set -uo pipefail
source "$(dirname "$0")/lib_sip.sh"
P=fwt-sipn
t_require_root
t_require_bins fwd fwcli
for b in sipp tshark dumpcap; do command -v $b >/dev/null || t_skip "no $b"; done
lab_up $P || { t_fail "lab up"; t_done; }
trap 'lab_down $P' EXIT
SIP_WORK=$(sip_workdir $P)
lab_offload_off $P
lab_out_route_inside $P

fwd_start $P || { t_fail "fwd start"; t_done; }
t_check "firewall detect sip, no NAT" nat_cfg_ok $P "firewall detect sip"
sip_uas $P out 203.0.113.2 7000 || { t_fail "SIPp UAS on 203.0.113.2"; t_done; }

IN_CAP=/tmp/$P-in.pcap OUT_CAP=/tmp/$P-out.pcap
nat_cap_start $P in eth0 "$IN_CAP" 0 udp || t_fail "capture inside"
IN_PID=$NAT_CAP_PID
nat_cap_start $P out eth0 "$OUT_CAP" 0 udp || t_fail "capture outside"
OUT_PID=$NAT_CAP_PID
t_check "5 calls complete (sipp exit 0)" sip_uac $P in 198.18.1.2 6000 203.0.113.2:5060 5
nat_cap_stop "$IN_PID"
nat_cap_stop "$OUT_PID"
sig() { timeout 60 tshark -n -r "$1" -Y "udp.port == 5060 && udp.length > 8" -T fields -e udp.payload 2>/dev/null; }
sig "$IN_CAP" >/tmp/$P-in.sig
sig "$OUT_CAP" >/tmp/$P-out.sig
n=$(wc -l </tmp/$P-in.sig)
t_check "SIP messages captured inside ($n)" test "$n" -ge 30
t_check "every SIP message identical byte for byte on both sides" cmp -s /tmp/$P-in.sig /tmp/$P-out.sig
t_check "every SIP message has Content-Length = body" sip_check_messages "$OUT_CAP" ""
n=$(sip_count "$IN_CAP" "udp.srcport == 7000 && ip.src == 203.0.113.2 && udp.dstport == 6000")
t_check "the caller received the callee's RTP through the entries ($n packets)" test "$n" -gt 30
t_check "no bad IP/UDP checksum outside" test "$(sip_bad_checksums "$OUT_CAP")" -eq 0
t_check "no bad IP/UDP checksum inside" test "$(sip_bad_checksums "$IN_CAP")" -eq 0
det=$(fwcli_run $P "display firewall detect verbose")
echo "$det" | grep -E "^ *sip" | sed 's/^/    | /'
t_check "detect: sip rewrites 0, opened > 0" grep -Eq \
  'sip +udp/tcp port 5060 +parsed [1-9][0-9]*, rewrites 0, opened [1-9][0-9]*, malformed 0, refused 0' <<<"$det"

echo "undo firewall detect sip"
t_check "detect off" nat_cfg_ok $P "undo firewall detect sip"
fwcli_run $P "reset firewall session table" >/dev/null
nat_cap_start $P in eth0 "$IN_CAP" 0 udp || t_fail "capture inside"
IN_PID=$NAT_CAP_PID
sip_uac $P in 198.18.1.2 6000 203.0.113.2:5060 2
nat_cap_stop "$IN_PID"
det=$(fwcli_run $P "display firewall detect verbose")
t_check "without the ALG: nothing parsed or opened" grep -Eq \
  'sip +udp/tcp port 5060 +parsed 30, rewrites 0, opened 30, malformed 0, refused 0' <<<"$det"
sm=$(fwcli_run $P "display firewall server-map aspf")
t_check "without the ALG: no ASPF entry" grep -q "Current Total Server-map : 0" <<<"$sm"
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
