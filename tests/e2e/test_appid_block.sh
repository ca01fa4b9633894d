#!/usr/bin/env bash
# Application identification ("appid" area, issue 14 part 2) with real programs: a SIPp call on
# udp/5080 and an RTSP exchange (curl) on tcp/8000 pass until a rule `application sip rtsp` with
# action deny sits above trust-to-untrust; then both are refused while HTTP on the neighbouring
# port tcp/8001 passes. The refused RTSP connection is reset at once (curl fails in well under a
# second instead of waiting). An L2TP control packet on udp/1701 and an IKE header on udp/500
# (crafted with scapy) reach the outside host before a rule `application l2tp ike` deny, not after;
# likewise an ESP and an AH packet (IP protocols 50, 51; scapy) and a rule `application esp ah`.
# The session table shows the identified names (rtsp on 8000, http on 8001) and the rules' HITS
# grow. About 15 s.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-appid
t_require_root
t_require_bins fwd fwcli
"$LAB_PY" -c "import scapy" 2>/dev/null ||
  { echo "RESULT $T_NAME: FAIL (no scapy for $LAB_PY: scripts/deps installs python3-scapy)"; exit 1; }
command -v sipp >/dev/null && command -v curl >/dev/null || t_skip "needs sipp (sip-tester) and curl"
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
cfg() { fwcli_run $P "system-view; security-policy; $*; return" >/tmp/$P-cli.out 2>&1 || { cat /tmp/$P-cli.out; return 1; }; }

# Servers on the outside host: HTTP on 8001, a minimal RTSP responder on 8000, SIPp's UAS on 5080,
# and a UDP sink on 1701 and 500 that writes one line per datagram.
www=/tmp/$P-www; mkdir -p $www; echo "appid-http-ok" >$www/index.txt
lab_http_server $P out :: 8001 $www || t_fail "http server :8001"
lab_bg $P out /tmp/$P-rtsp.log "$LAB_PY" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.2", 8000)); s.listen(8)
while True:
    c, _ = s.accept(); c.settimeout(3)
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            d = c.recv(4096)
            if not d: break
            data += d
        cseq = [l for l in data.split(b"\r\n") if l.lower().startswith(b"cseq:")]
        c.sendall(b"RTSP/1.0 200 OK\r\n" + (cseq[0] if cseq else b"CSeq: 1") +
                  b"\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n")
    except OSError:
        pass
    c.close()'
lab_wait_listen $P out 8000 tcp || t_fail "rtsp responder :8000"
lab_bg $P out /tmp/$P-uas.log sipp -sn uas -i 203.0.113.2 -p 5080 -nostdin
lab_wait_listen $P out 5080 udp || t_fail "sipp uas :5080"
lab_bg $P out /tmp/$P-sink.log "$LAB_PY" -u -c '
import select, socket
ss = []
for port in (1701, 500):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("203.0.113.2", port)); ss.append(s)
while True:
    for s in select.select(ss, [], [])[0]:
        d, a = s.recvfrom(2048); print(s.getsockname()[1], len(d), flush=True)'
lab_wait_listen $P out 500 udp || t_fail "udp sink"

rtsp() {  # curl's RTSP OPTIONS to tcp/8000; prints "rc seconds"
  local t0 rc=0
  t0=$(date +%s.%N)
  ip netns exec $P-in curl -s -m 5 -X OPTIONS "rtsp://203.0.113.2:8000/test" >/dev/null 2>&1 || rc=$?
  echo "$rc $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
}
http_ok() { [[ $(ip netns exec $P-in curl -s -m 4 "http://203.0.113.2:8001/index.txt") == appid-http-ok ]]; }
# sip_call SPORT: one SIPp call from the inside host; 0 when it completed. (A new source port
# after the rules change: a session that exists goes on, as on a USG.)
sip_call() {
  (cd /tmp && ip netns exec $P-in timeout 10 sipp -sn uac 203.0.113.2:5080 -i 198.18.1.2 -p $1 \
    -m 1 -nostdin -timeout 6s -recv_timeout 3000 >/tmp/$P-uac.log 2>&1)
}
# send_udp SPORT DPORT l2tp|ike: one crafted datagram from the inside host (scapy builds it).
send_udp() {
  ip netns exec $P-in "$LAB_PY" - "$1" "$2" "$3" <<'PY'
import socket, sys
from scapy.layers.isakmp import ISAKMP, ISAKMP_payload_SA
from scapy.layers.l2tp import L2TP
sport, port, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if kind == "ike":
    pkt = bytes(ISAKMP(init_cookie=b"\x11" * 8, exch_type=2, next_payload=1) / ISAKMP_payload_SA())
else:  # SCCRQ: T, L, S set, version 2; one AVP (message type 1)
    avp = bytes([0x80, 0x08, 0, 0, 0, 0, 0, 1])
    pkt = bytes(L2TP(hdr="control+length+sequence", len=12 + len(avp), tunnel_id=0, session_id=0,
                     ns=0, nr=0)) + avp
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.1.2", sport))
s.sendto(pkt, ("203.0.113.2", port))
PY
}
sunk() { sleep 0.5; grep -c "^$1 " /tmp/$P-sink.log 2>/dev/null || true; }
# IPsec's own protocols: a raw socket per protocol in the outside host logs each packet's protocol.
lab_bg $P out /tmp/$P-ipsec.log "$LAB_PY" -u -c '
import select, socket
socks = [socket.socket(socket.AF_INET, socket.SOCK_RAW, p) for p in (50, 51)]
while True:
    for s in select.select(socks, [], [])[0]:
        print(s.recv(2048)[9], flush=True)'
# send_ipsec esp|ah: one packet from the inside host (scapy builds and sends it).
send_ipsec() {
  ip netns exec $P-in "$LAB_PY" - "$1" <<'PY'
import sys
from scapy.all import AH, ESP, IP, Raw, send
l4 = ESP(spi=0x1001, seq=1) / Raw(b"x" * 16) if sys.argv[1] == "esp" else \
    AH(spi=0x2001, seq=1, nh=59, payloadlen=4, icv=b"\0" * 12) / Raw(b"y" * 16)  # 12-byte ICV
send(IP(src="198.18.1.2", dst="203.0.113.2") / l4, verbose=False)
PY
}
ipsec_seen() { sleep 0.5; grep -c "^$1\$" /tmp/$P-ipsec.log 2>/dev/null || true; }

# Before the rules: everything passes.
r=$(rtsp); t_check "baseline: RTSP OPTIONS on tcp/8000 answered (curl rc/time: $r)" test "${r%% *}" = 0
t_check "baseline: HTTP on tcp/8001" http_ok
t_check "baseline: SIPp call on udp/5080 completes" sip_call 5090
send_udp 1701 1701 l2tp; send_udp 500 500 ike
t_check "baseline: the L2TP control packet reaches udp/1701" test "$(sunk 1701)" = 1
t_check "baseline: the IKE packet reaches udp/500" test "$(sunk 500)" = 1
send_ipsec esp; send_ipsec ah
t_check "baseline: the ESP packet reaches the outside host" test "$(ipsec_seen 50)" = 1
t_check "baseline: the AH packet reaches the outside host" test "$(ipsec_seen 51)" = 1

t_check "rules: no-sip-rtsp (application sip rtsp, deny), no-l2tp-ike, above trust-to-untrust" \
  cfg "rule name no-sip-rtsp; application sip rtsp; action deny; quit;" \
      "rule name no-l2tp-ike; application l2tp ike; action deny; quit;" \
      "rule move no-sip-rtsp before trust-to-untrust; rule move no-l2tp-ike before trust-to-untrust"
fwcli_run $P "display current-configuration | include application" | sed 's/^/    /'
h0=$(fw_rule_hits $P no-sip-rtsp)

r=$(rtsp)
t_check "RTSP on tcp/8000 refused (curl rc/time: $r)" test "${r%% *}" != 0
t_check "... reset at once, not left to time out (< 2 s)" awk -v t="${r#* }" 'BEGIN { exit !(t < 2) }'
t_check "HTTP on the neighbouring tcp/8001 still passes" http_ok
t_check_not "SIPp call on udp/5080 refused" sip_call 5091
send_udp 1702 1701 l2tp; send_udp 4501 500 ike
t_check "the L2TP control packet no longer reaches udp/1701" test "$(sunk 1701)" = 1
t_check "the IKE packet no longer reaches udp/500" test "$(sunk 500)" = 1
h1=$(fw_rule_hits $P no-sip-rtsp); h2=$(fw_rule_hits $P no-l2tp-ike)
t_check "no-sip-rtsp HITS grew ($h0 -> $h1)" test "${h1:-0}" -ge "$((${h0:-0} + 2))"
t_check "no-l2tp-ike HITS = 2 ($h2)" test "${h2:-0}" = 2
t_check "application-deny drops counted" \
  grep -Eq 'application-deny discarded +: [1-9]' <<<"$(fwcli_run $P 'display firewall statistic system discard')"

tab=$(fwcli_run $P "display firewall session table")
echo "$tab" | sed 's/^/    /'
t_check "the RTSP session on tcp/8000 shows as rtsp" \
  grep -Eq '^ *rtsp +VPN: public --> public +198\.18\.1\.2:[0-9]+ --> 203\.0\.113\.2:8000' <<<"$tab"
t_check "the HTTP session on tcp/8001 shows as http" \
  grep -Eq '^ *http +VPN: .*--> 203\.0\.113\.2:8001' <<<"$tab"
t_check "filter application rtsp lists the tcp/8000 session only" \
  bash -c '[[ $(grep -c "203.0.113.2:8" <<<"$1") -ge 1 && $(grep -c ":8001" <<<"$1") = 0 ]]' _ \
  "$(fwcli_run $P 'display firewall session table application rtsp')"
# ESP and AH: sessions by address pair, so the baseline's would go on: a new table first.
t_check "rule no-ipsec (application esp ah, deny) above trust-to-untrust" \
  cfg "rule name no-ipsec; application esp ah; action deny; quit;" \
      "rule move no-ipsec before trust-to-untrust"
fwcli_run $P "reset firewall session table" >/dev/null
send_ipsec esp; send_ipsec ah
t_check "the ESP packet no longer reaches the outside host" test "$(ipsec_seen 50)" = 1
t_check "the AH packet no longer reaches the outside host" test "$(ipsec_seen 51)" = 1
t_check "no-ipsec HITS = 2" test "$(fw_rule_hits $P no-ipsec)" = 2
t_done
