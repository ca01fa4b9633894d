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
# By hand, the issue's literal case: SIPREG_SILENCE_S=180 SIPREG_UDP_AGING=120 (the default udp
# aging; the silence and the phone's wait for the INVITE grow with it; about 7 minutes).
set -uo pipefail
source "$(dirname "$0")/lib_sip.sh"
P=fwt-sipr
t_require_root
t_require_bins fwd fwcli
for b in sipp; do command -v $b >/dev/null || t_skip "no $b"; done
lab_up $P || { t_fail "lab up"; t_done; }
trap 'lab_down $P' EXIT
SIP_WORK=$(sip_workdir $P)
SILENCE=${SIPREG_SILENCE_S:-8} AGING=${SIPREG_UDP_AGING:-3}
if ((SILENCE != 8)); then  # scenarios with the longer silence, in a copy of the SIP folder
  cp -r "$SIP_DIR" "$SIP_WORK/sip" && SIP_DIR=$SIP_WORK/sip
  sed -i "s/<pause milliseconds=\"8000\"\/>/<pause milliseconds=\"$((SILENCE * 1000))\"\/>/" "$SIP_DIR/registrar.xml"
  sed -i "s/<recv request=\"INVITE\" timeout=\"12000\"\/>/<recv request=\"INVITE\" timeout=\"$(((SILENCE + 4) * 1000))\"\/>/" "$SIP_DIR/phone_register.xml"
  export SIP_UAC_TIMEOUT=$((SILENCE + 60))
fi

fwd_start $P || { t_fail "fwd start"; t_done; }
t_check "easy-ip, firewall detect sip, udp aging $AGING s" nat_cfg_ok $P \
  "firewall detect sip; firewall session aging-time udp $AGING;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"

# register_and_call SHOT_S: the registrar in the background, the phone in the foreground; both SIPp
# the phone's SIPp exit code (0 = scenario completed) in PHONE_RC; the sessions SHOT_S seconds
# after the start in /tmp/$P-sess.txt.
register_and_call() {
  SIP_UAS_SF=registrar.xml sip_uas $P out 203.0.113.2 7000 -m 1 || return 1
  ( sleep "$1"; fwcli_run $P "display firewall session table verbose application sip" \
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

echo "REGISTER, $SILENCE s of silence (udp aging $AGING s), INVITE from the registrar side"
register_and_call 5
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
register_and_call $((AGING + 2))
n=$(grep -c "VPN: public" "/tmp/$P-sess.txt")
t_check "without the ALG the signalling session aged out within $((AGING + 2)) s ($n sessions)" test "$n" -eq 0
t_check "without the ALG the INVITE never reaches the phone (sipp exit $PHONE_RC)" test "$PHONE_RC" -ne 0
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
