#!/usr/bin/env bash
# RTSP ALG with real programs: a GStreamer RTSP server (tests/e2e/rtsp/rtsp_server.py,
# gst-rtsp-server through python3-gi, live test sources: raw video, A-law audio) and GStreamer's
# rtspsrc as the client (tests/e2e/rtsp/rtsp_client.py, media over UDP only, counting the RTP
# buffers of each stream).
#
# The client runs with nat-method=none: rtspsrc's default ("dummy") first sends a few packets
# from its RTP/RTCP ports to the server's, which opens a NAT mapping on any NAT box and lets the
# media back in without an ALG. Without them, the server's media can only reach the client
# through what the firewall's RTSP ALG opened - which is what this test shows.
#  - easy-ip, server on 8554 outside (`port-mapping rtsp port 8554`): one session carrying video
#    and audio (two SETUPs) plays for 10 s; the control session and both media (+->, rtsp-rtp)
#    are shown; the server sees only 203.0.113.1 (its log of client ports is the public pair).
#  - the server's media held back in front of fwd: the four ASPF entries (rtsp-rtp, rtsp-rtcp)
#    are seen while the client waits; its TEARDOWN removes them at once.
#  - `undo firewall detect rtsp`: the same client receives nothing.
#  - PAT address-group: video for 3 s.
#  - NAT server: the server on 554 in the dmz published as 203.0.113.100, client outside: its
#    media leave with the global address (the outside host has no route to the dmz).
# Media time: 10 + 3 + 3 + 3 + 3 s; the whole test takes about 30 s.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-rtsp
PY=/usr/bin/python3
R=$(cd "$(dirname "$0")" && pwd)/rtsp
t_require_root
t_require_bins fwd fwcli
$PY -c "import gi; gi.require_version('GstRtspServer', '1.0')" 2>/dev/null ||
  t_skip "no gir1.2-gst-rtsp-server-1.0 / python3-gi"
$PY -c "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; Gst.init(None)
assert all(Gst.ElementFactory.find(e) for e in ('rtspsrc', 'videotestsrc', 'rtpvrawpay', 'alawenc'))" \
  2>/dev/null || t_skip "no rtspsrc/videotestsrc/rtpvrawpay/alawenc (gstreamer1.0-plugins-base/-good)"
lab_up $P || { t_fail "lab up"; t_done; }
trap 'lab_down $P' EXIT

# server HOST ADDR PORT: the RTSP server, waits until it listens.
server() {
  lab_bg $P "$1" "/tmp/$P-server-$1.log" $PY "$R/rtsp_server.py" "$2" "$3"
  lab_wait_listen $P "$1" "$3" tcp
}
# play HOST URL SECONDS: the client's output ("video N", "audio N", "streams K").
play() {
  ip netns exec $P-$1 timeout $(($3 + 15)) $PY "$R/rtsp_client.py" "$2" "$3" 2>&1 |
    tee -a "/tmp/$P-client.log"
}
# count OUTPUT KIND: the buffers of a stream (0 when absent).
count() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' <<<"$1"; }
smap() { fwcli_run $P "display firewall server-map aspf"; }

fwd_start $P || { t_fail "fwd start"; t_done; }
t_check "easy-ip, firewall detect rtsp, port-mapping rtsp port 8554" nat_cfg_ok $P \
  "firewall detect rtsp; port-mapping rtsp port 8554;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
server out 203.0.113.2 8554 || { t_fail "RTSP server on 203.0.113.2:8554"; t_done; }
t_check "outside host has no route to the inside network" \
  bash -c "! ip -n $P-out route get 198.18.1.2 >/dev/null 2>&1"

echo "easy-ip: video + audio in one session for 10 s"
out=$(play in rtsp://203.0.113.2:8554/av 10)
echo "$out" | sed 's/^/    client: /'
t_check "video received ($(count "$out" video) RTP buffers >= 1000)" test "$(count "$out" video)" -ge 1000
t_check "audio received ($(count "$out" audio) RTP buffers >= 50)" test "$(count "$out" audio)" -ge 50
sess=$(fwcli_run $P "display firewall session table")
echo "$sess" | sed 's/^/    | /' | head -n 12
t_check "control session 198.18.1.2:X[203.0.113.1:Y] +-> 203.0.113.2:8554" grep -Eq \
  '198\.18\.1\.2:[0-9]+\[203\.0\.113\.1:[0-9]+\] \+-> 203\.0\.113\.2:8554$' <<<"$sess"
t_check "two rtsp-rtp media sessions 203.0.113.2:S --> 203.0.113.1:even[198.18.1.2:C]" test \
  "$(grep -Ec '^ *rtsp-rtp +VPN: public --> public +203\.0\.113\.2:[0-9]+ --> 203\.0\.113\.1:[0-9]*[02468]\[198\.18\.1\.2:[0-9]+\]$' <<<"$sess")" -ge 2
det=$(fwcli_run $P "display firewall detect verbose")
echo "$det" | grep rtsp | sed 's/^/    | /'
# Per stream 4 entries: the server's RTP/RTCP to the client's public pair, and the client's own
# RTP/RTCP to the server's ports leaving from that pair (whichever side sends first).
t_check "detect: rtsp tcp port 554,8554, rewrites >= 4, opened 8, malformed 0, refused 0" grep -Eq \
  'rtsp +tcp port 554,8554 +parsed [0-9]+, rewrites ([4-9]|[1-9][0-9]+), opened 8, malformed 0, refused 0' <<<"$det"

echo "easy-ip: media held back, entries seen, TEARDOWN removes them"
fwcli_run $P "reset firewall session table" >/dev/null
HOLD=(-t raw -I PREROUTING 1 -i out0 -p udp -s 203.0.113.2 -j DROP)
ip netns exec $P-fw iptables "${HOLD[@]}"
play in rtsp://203.0.113.2:8554/av 3 >/tmp/$P-held.out &
PLAY_PID=$!
sm=""
for _ in $(seq 30); do
  sleep 0.1
  sm=$(smap)
  (($(grep -Ec 'Type: ASPF,  203\.0\.113\.2 -> 203\.0\.113\.1:' <<<"$sm") >= 4)) && break
done
echo "$sm" | sed 's/^/    | /'
t_check "4 entries: 203.0.113.2 -> 203.0.113.1:P[198.18.1.2:C] udp(Appro: rtsp-rtp|rtsp-rtcp)" test \
  "$(grep -Ec 'Type: ASPF,  203\.0\.113\.2 -> 203\.0\.113\.1:[0-9]+\[198\.18\.1\.2:[0-9]+\],  Zone:---,  protocol:udp\(Appro: rtsp-rt(p|cp)\)' <<<"$sm")" = 4
wait $PLAY_PID
sm=$(smap)
t_check "TEARDOWN: no ASPF entry left at once" grep -q "Current Total Server-map : 0" <<<"$sm"
ip netns exec $P-fw iptables -t raw -D PREROUTING -i out0 -p udp -s 203.0.113.2 -j DROP
t_check "held: the client received nothing" test "$(count "$(cat /tmp/$P-held.out)" video)" = 0

echo "undo firewall detect rtsp: nothing comes back"
nat_cfg_ok $P "undo firewall detect rtsp" || t_fail "undo firewall detect rtsp"
out=$(play in rtsp://203.0.113.2:8554/video 3)
t_check "ALG off: the client received no video ($(count "$out" video))" test "$(count "$out" video)" = 0
nat_cfg_ok $P "firewall detect rtsp" || t_fail "firewall detect rtsp"

echo "PAT address-group"
t_check "address-group pool1 (203.0.113.100-110, pat) replaces easy-ip" nat_cfg_ok $P \
  "nat address-group pool1; mode pat; section 0 203.0.113.100 203.0.113.110; quit;" \
  "nat-policy; rule name ez; action source-nat address-group pool1"
out=$(play in2 rtsp://203.0.113.2:8554/video 3)
t_check "through the pool: video received ($(count "$out" video) >= 150)" test "$(count "$out" video)" -ge 150
sm=$(fwcli_run $P "display firewall session table application rtsp-rtp")
echo "$sm" | sed 's/^/    | /' | head -n 4
t_check "media session to a pool address: 203.0.113.2:S --> 203.0.113.10x:P[198.18.1.3:C]" grep -Eq \
  '203\.0\.113\.2:[0-9]+ --> 203\.0\.113\.1(0[0-9]|10):[0-9]+\[198\.18\.1\.3:[0-9]+\]$' <<<"$sm"

echo "NAT server: the server on 554 in the dmz as 203.0.113.100, client outside"
server dmz 198.18.2.2 554 || t_fail "RTSP server on 198.18.2.2:554"
fwcli_run $P "reset firewall session table" >/dev/null
t_check "nat server rtsp-dmz tcp 203.0.113.100 554 -> 198.18.2.2 554, untrust->dmz permitted" \
  nat_cfg_ok $P "nat-policy; undo rule name ez; quit; undo nat address-group pool1;" \
  "nat server rtsp-dmz protocol tcp global 203.0.113.100 554 inside 198.18.2.2 554;" \
  "security-policy; rule name u2d-rtsp; source-zone untrust; destination-zone dmz;" \
  "destination-address 198.18.2.2 32; service protocol tcp destination-port 554; action permit"
t_check "outside host has no route to the dmz" bash -c "! ip -n $P-out route get 198.18.2.2 >/dev/null 2>&1"
out=$(play out rtsp://203.0.113.100:554/video 3)
t_check "from the NAT server: video received ($(count "$out" video) >= 150)" test "$(count "$out" video)" -ge 150
sess=$(fwcli_run $P "display firewall session table application rtsp-rtp")
echo "$sess" | sed 's/^/    | /' | head -n 4
t_check "media leave with the global address: 198.18.2.2:S[203.0.113.100:S'] --> 203.0.113.2:C" \
  grep -Eq '198\.18\.2\.2:[0-9]+\[203\.0\.113\.100:[0-9]+\] --> 203\.0\.113\.2:[0-9]+$' <<<"$sess"
t_done
