#!/usr/bin/env bash
# The lab scenarios of docs/training.md (issue 15 item 5), each run as a user would run it but
# non-interactively: `scripts/lab NAME --batch` under the prefix fwt-lab (LAB_PREFIX), so the
# namespaces are this test's and lab_down cleans up after a failure. For each scenario: exit code
# 0 (every step of its story checked "ok:", none "UNEXPECTED:"), the summary line, a few key lines
# of the real output (the FTP server-map line `Type: ASPF ... Appro: ftp-data`, two pptp-gre
# server-map entries per PPTP call, the NAT server entry, the TFTP/SIP/RTSP entries and the
# failures without the ALG), and the lab torn down afterwards (no fwt-lab-* namespace left).
# The checks can fail: with a lab-nat.cfg that lost its `nat server` line the NAT scenario exits 1
# and names the steps that went wrong. Also: an unknown scenario or option is refused (exit 2).
# About 65 s.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-lab
t_require_root
t_require_bins fwd fwcli
trap 'lab_down $P' EXIT
LAB=$LAB_REPO/scripts/lab

# run NAME: the scenario in batch mode, bounded; output in /tmp/$P-NAME.out; sets OUT and RC.
run() {
  local start=$SECONDS
  RC=0
  LAB_PREFIX=$P FW_BUILD_DIR=$FW_BUILD_DIR timeout -k 5 90 "$LAB" "$1" --batch >"/tmp/$P-$1.out" 2>&1 || RC=$?
  OUT=$(cat "/tmp/$P-$1.out")
  echo "scenario $1: exit $RC in $((SECONDS - start)) s"
  grep -E '^  (ok|UNEXPECTED):' <<<"$OUT" | sed 's/^/    | /'
  if ((RC != 0)); then
    echo "    --- tail of /tmp/$P-$1.out"
    tail -n 30 <<<"$OUT" | sed 's/^/    /'
  fi
}
# has "what" REGEX [N]: the scenario's output has a line matching REGEX (exactly N of them).
has() {
  local n
  n=$(grep -Ec -- "$2" <<<"$OUT") || true
  if [[ -n ${3:-} ]]; then
    t_check "$1 ($n lines)" test "$n" = "$3"
  else
    t_check "$1" test "$n" -gt 0
  fi
}
done_ok() {  # done_ok NAME: exit 0, the summary, no UNEXPECTED, the lab gone
  t_check "$1: exit code 0" test "$RC" = 0
  has "$1: 'scenario $1: all N checks as the story says'" "^scenario $1: all [1-9][0-9]* checks as the story says$"
  has "$1: no UNEXPECTED step" '^  UNEXPECTED:' 0
  t_check "$1: the lab is torn down (no $P-* namespace)" bash -c "! ip netns list | grep -q '^$P-'"
}

run ftp
done_ok ftp
has "ftp: ASPF off, the server got the untranslated PORT 198,18,1,2,..." '"PORT 198,18,1,2,[0-9]+,[0-9]+"'
has "ftp: ... and refused it" '"500 Illegal PORT command."'
has "ftp: the server-map line 'Type: ASPF,  203.0.113.2 -> 203.0.113.1:Y[198.18.1.2:X] ... Appro: ftp-data'" \
  '^ Type: ASPF,  203\.0\.113\.2 -> 203\.0\.113\.1:[0-9]+\[198\.18\.1\.2:[0-9]+\],  Zone:---,  protocol:tcp\(Appro: ftp-data\)'
has "ftp: ASPF on, the server got PORT 203,0,113,1,..." 'PORT 203,0,113,1,[0-9]+,[0-9]+"'
has "ftp: active ftp-data session from 203.0.113.2:20" '^ ftp-data  VPN: public --> public  203\.0\.113\.2:20 --> 203\.0\.113\.1:'

run pptp
done_ok pptp
has "pptp: two pptp-gre sessions with translated call IDs" \
  '^ pptp-gre  VPN: public --> public  198\.18\.1\.[23]:[0-9]+\[203\.0\.113\.1:[0-9]+\] --> 203\.0\.113\.2:[0-9]+$' 2
has "pptp: two server-map entries per call (4 in all)" '^ Type: ASPF, .*protocol:gre\(Appro: pptp-gre\)' 4
# The call ID in brackets (what the server knows the client by) is not the client's own.
ids=$(sed -nE 's/^ pptp-gre .* 198\.18\.1\.[23]:([0-9]+)\[203\.0\.113\.1:([0-9]+)\] --> .*/\1 \2/p' <<<"$OUT")
t_check "pptp: both calls' IDs translated ($(tr '\n' ';' <<<"$ids"))" \
  test "$(awk '$1 != $2' <<<"$ids" | wc -l)" = 2
for a in 2 3; do
  has "pptp: 198.18.1.$a's call has 2 entries" "^ Type: ASPF, .*198\.18\.1\.$a.*protocol:gre\(Appro: pptp-gre\)" 2
done

has "pptp: without the ALG the second client gets no frame" '^  ok: client 4 \(198\.18\.1\.3\): no frame comes back \(0 frames'

run nat
done_ok nat
has "nat: a session through the pool 198.18.1.2:X[203.0.113.10N:Y]" '198\.18\.1\.2:[0-9]+\[203\.0\.113\.10[0-5]:[0-9]+\] --> 203\.0\.113\.2:80$'
has "nat: easy-ip icmp session from the dmz" '198\.18\.2\.2:[0-9]+\[203\.0\.113\.1:[0-9]+\] --> 203\.0\.113\.2:'
has "nat: the NAT server entry" '^ Type: Nat Server,  ANY -> 203\.0\.113\.110:8080\[198\.18\.2\.2:80\]'
has "nat: the dmz web page reached from outside" '^hello from the dmz web server 198\.18\.2\.2$'

run tftp
done_ok tftp
has "tftp: the tftp-data entry" '^ Type: ASPF,  203\.0\.113\.2 -> 203\.0\.113\.1:[0-9]+\[198\.18\.1\.2:[0-9]+\],.*protocol:udp\(Appro: tftp-data\)'
has "tftp: without the ALG the client still waits when stopped" 'exit code 124: still waiting'

run sip
done_ok sip
has "sip: the sip-rtp entry during a call" 'Type: ASPF,  203\.0\.113\.2 -> 203\.0\.113\.1:[0-9]+\[198\.18\.1\.2:6000\],.*Appro: sip-rtp'
has "sip: without the ALG, 0 RTP packets" 'RTP from the callee 203\.0\.113\.2:7000\) 0 packets$'

run rtsp
done_ok rtsp
has "rtsp: the rtsp-rtp media session" '^ rtsp-rtp  VPN: public --> public  203\.0\.113\.2:[0-9]+ --> 203\.0\.113\.1:[0-9]+\[198\.18\.1\.2:[0-9]+\]$'
has "rtsp: without the ALG no stream" '^streams 0$'

# The checks can fail: the NAT scenario with a configuration that lost its `nat server` line.
bad=/tmp/$P-nat-no-server.cfg
grep -v '^nat server ' "$LAB_REPO/etc/examples/lab-nat.cfg" >"$bad"
LAB_SCENARIO_CONFIG=$bad run nat
t_check "nat without its NAT server: exit code 1" test "$RC" = 1
has "nat without its NAT server: the Nat Server entry UNEXPECTED" '^  UNEXPECTED: server-map: the static Nat Server entry'
has "nat without its NAT server: the dmz web server unreachable UNEXPECTED" '^  UNEXPECTED: outside -> 203\.0\.113\.110:8080'
has "nat without its NAT server: the pool step still ok" '^  ok: session 198\.18\.1\.2:X\[203\.0\.113\.10N:Y\]'
has "nat without its NAT server: the summary counts the failures" '^scenario nat: [1-9][0-9]* of [0-9]+ checks UNEXPECTED'
t_check "nat without its NAT server: the lab is torn down" bash -c "! ip netns list | grep -q '^$P-'"

RC=0; "$LAB" nosuch >/dev/null 2>&1 || RC=$?
t_check "an unknown scenario is refused (exit 2)" test "$RC" = 2
RC=0; LAB_PREFIX=$P "$LAB" ftp --nosuch >/dev/null 2>&1 || RC=$?
t_check "an unknown option is refused (exit 2)" test "$RC" = 2
t_done
