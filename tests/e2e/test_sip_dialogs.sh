#!/usr/bin/env bash
# SIP dialogs through easy-ip with SIPp (tests/e2e/sip/*_reinvite.xml, *_busy.xml, *_cancel.xml):
#  - re-INVITE to hold (a=sendonly) and back on a new port (the caller's SDP moves its media to
#    6002): 3 calls complete, the callee's RTP after the move reaches the caller on 6002 (the
#    caller never sent from 6002, so only the entry opened for the new port lets it in), and no
#    entry is left after the BYE;
#  - a 486 Busy Here to the INVITE and a CANCEL (then 487) close the entries the offer opened at
#    once (an unanswered offer's entries would otherwise stay 60 s).
# About 15 s.
set -uo pipefail
source "$(dirname "$0")/lib_sip.sh"
P=fwt-sipd
t_require_root
t_require_bins fwd fwcli
for b in sipp tshark dumpcap; do command -v $b >/dev/null || t_skip "no $b"; done
lab_up $P || { t_fail "lab up"; t_done; }
trap 'lab_down $P' EXIT
SIP_WORK=$(sip_workdir $P)

fwd_start $P || { t_fail "fwd start"; t_done; }
t_check "easy-ip + firewall detect sip configured" nat_cfg_ok $P "firewall detect sip;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
opened() { fwcli_run $P "display firewall detect verbose" | sed -nE 's/.*sip +udp.tcp port 5060 .*opened ([0-9]+),.*/\1/p'; }
reinvite_calls() { SIP_UAC_SF=uac_reinvite.xml sip_uac "$@"; }
busy_call() { SIP_UAC_SF=uac_busy.xml sip_uac "$@"; }
cancel_call() { SIP_UAC_SF=uac_cancel.xml sip_uac "$@"; }
no_entries() { fwcli_run $P "display firewall server-map aspf" | grep -q "Current Total Server-map : 0"; }

echo "re-INVITE: hold, then media moved to a new port"
SIP_UAS_SF=uas_reinvite.xml sip_uas $P out 203.0.113.2 7000 || { t_fail "UAS"; t_done; }
UAS1=$SIP_UAS_PID
IN_CAP=/tmp/$P-in.pcap
nat_cap_start $P in eth0 "$IN_CAP" 0 udp || t_fail "capture inside"
IN_PID=$NAT_CAP_PID
t_check "3 calls with hold and a port move complete (sipp exit 0)" \
  reinvite_calls $P in 198.18.1.2 6000 203.0.113.2:5060 3
grep -E "Successful call|Failed call" /tmp/$P-uac.log | tail -2 | sed 's/^/    | /'
nat_cap_stop "$IN_PID"
n=$(sip_count "$IN_CAP" "ip.src == 203.0.113.2 && udp.srcport == 7000 && udp.dstport == 6002")
t_check "after the move the callee's RTP reaches the caller on 6002 ($n packets)" test "$n" -gt 10
t_check "no entry left after the BYEs" no_entries
kill "$UAS1" 2>/dev/null; lab_wait_exit "$UAS1" 5

echo "486 Busy Here"
SIP_UAS_SF=uas_busy.xml sip_uas $P out 203.0.113.2 7000 || { t_fail "UAS busy"; t_done; }
UAS2=$SIP_UAS_PID
before=$(opened)
t_check "the busy call ran as scripted (sipp exit 0)" busy_call $P in 198.18.1.2 6000 203.0.113.2:5060 1
after=$(opened)
t_check "the offer opened entries ($before -> $after)" test "$after" -gt "$before"
t_check "the 486 closed them at once" no_entries
kill "$UAS2" 2>/dev/null; lab_wait_exit "$UAS2" 5

echo "CANCEL"
SIP_UAS_SF=uas_cancel.xml sip_uas $P out 203.0.113.2 7000 || { t_fail "UAS cancel"; t_done; }
before=$(opened)
t_check "the cancelled call ran as scripted (sipp exit 0)" cancel_call $P in 198.18.1.2 6000 203.0.113.2:5060 1
after=$(opened)
t_check "the offer opened entries ($before -> $after)" test "$after" -gt "$before"
t_check "the CANCEL closed them at once" no_entries
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
