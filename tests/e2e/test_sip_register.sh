#!/usr/bin/env bash
# SIP registration through easy-ip: a SIPp phone 198.18.1.2 behind easy-ip registers with a
# SIPp registrar 203.0.113.2 (tests/e2e/sip/phone_register.xml, registrar.xml), which grants
# 3600 s, then sends nothing more. The udp aging time is set to 3 s (instead of waiting the
# default's 3 minutes): after 8 s, well past it, the registrar sends an INVITE to the address the
# phone registered from, and it reaches the phone (the ALG holds the signalling session and its
# mapping for the granted expiry + 30 s); the call completes (SIPp exit 0 on both sides).
#  - the signalling session's TTL shows the hold (> 3000 s);
#  - the same with the ALG off: the INVITE finds no mapping and is dropped (the phone times out).
# About 25 s (the run without the ALG waits for the phone's 12 s INVITE timeout).
set -uo pipefail
source "$(dirname "$0")/lib_sip.sh"
P=fwt-sipr
t_require_root
t_require_bins fwd fwcli
for b in sipp; do command -v $b >/dev/null || t_skip "no $b"; done
lab_up $P || { t_fail "lab up"; t_done; }
trap 'lab_down $P' EXIT
SIP_WORK=$(sip_workdir $P)

fwd_start $P || { t_fail "fwd start"; t_done; }
t_check "easy-ip, firewall detect sip, udp aging 3 s" nat_cfg_ok $P \
  "firewall detect sip; firewall session aging-time udp 3;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"

# register_and_call: the registrar in the background, the phone in the foreground; both SIPp
# the phone's SIPp exit code (0 = scenario completed) in PHONE_RC.
register_and_call() {
  SIP_UAS_SF=registrar.xml sip_uas $P out 203.0.113.2 7000 -m 1 || return 1
  ( sleep 5; fwcli_run $P "display firewall session table verbose application sip" \
      >"/tmp/$P-sess.txt" ) &
  local shot=$!
  SIP_UAC_SF=phone_register.xml sip_uac $P in 198.18.1.2 6000 203.0.113.2:5060 1
  PHONE_RC=$?
  wait "$shot"
  local i
  for ((i = 0; i < 50; i++)); do lab_pid_alive "$SIP_UAS_PID" || break; sleep 0.2; done
  lab_pid_alive "$SIP_UAS_PID" && kill "$SIP_UAS_PID"
  return 0
}

echo "REGISTER, 8 s of silence (udp aging 3 s), INVITE from the registrar side"
register_and_call
grep -E "Successful call|Failed call" /tmp/$P-uac.log | tail -2 | sed 's/^/    | /'
t_check "the phone received the INVITE and the call completed (sipp exit $PHONE_RC)" test "$PHONE_RC" -eq 0
sed 's/^/    | /' "/tmp/$P-sess.txt" | head -n 6
left=$(sed -nE 's/.* Left: ([0-9]+):([0-9]+):([0-9]+).*/\1 \2 \3/p' "/tmp/$P-sess.txt" | head -1)
read -r hh mm ss <<<"${left:-0 0 0}"
left=$((10#$hh * 3600 + 10#$mm * 60 + 10#$ss))
t_check "5 s after the REGISTER the signalling session is held (Left $left s > 3000 s)" \
  test "$left" -gt 3000
det=$(fwcli_run $P "display firewall detect verbose")
t_check "detect: refused 0" grep -Eq 'sip +udp/tcp port 5060 .* refused 0' <<<"$det"

echo "undo firewall detect sip"
t_check "detect off" nat_cfg_ok $P "undo firewall detect sip"
fwcli_run $P "reset firewall session table" >/dev/null
register_and_call
n=$(grep -c "VPN: public" "/tmp/$P-sess.txt")
t_check "without the ALG the signalling session aged out within 5 s ($n sessions)" test "$n" -eq 0
t_check "without the ALG the INVITE never reaches the phone (sipp exit $PHONE_RC)" test "$PHONE_RC" -ne 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
