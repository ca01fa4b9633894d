#!/usr/bin/env bash
# A 3000-byte SIP INVITE over UDP through easy-ip: the caller's kernel sends it as three IPv4
# fragments. fwd's kernel rules make the firewall's kernel reassemble it before the queue (the
# raw chain FWD-FRG: a socket match, never jumped to), so the SIP ALG reads one whole message,
# rewrites it, and the kernel fragments it again on the way out.
#  - the callee receives one datagram from 203.0.113.1:5060 (its fragments all carry the
#    translated source, or it could not be reassembled), with no 198.18.x in it and a
#    Content-Length equal to its body;
#  - fwd parsed one SIP message and opened the caller's RTP/RTCP entries;
#  - the kernel rules hold the FWD-FRG chain with its socket match.
# About 5 s.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-sipfrag
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab up"; t_done; }
trap 'lab_down $P' EXIT

fwd_start $P || { t_fail "fwd start"; t_done; }
t_check "easy-ip + firewall detect sip configured" nat_cfg_ok $P "firewall detect sip;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
t_check "raw FWD-FRG holds the socket match (the kernel reassembles before the queue)" \
  grep -q -- '-A FWD-FRG -m socket -j RETURN' <<<"$(ip netns exec $P-fw iptables-save -t raw)"

GOT=/tmp/$P-got.bin
rm -f "$GOT"
lab_bg $P out /tmp/$P-recv.log "$LAB_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.2", 5060)); s.settimeout(8)
d, a = s.recvfrom(65535)
open(sys.argv[1], "wb").write(d)
print("received %d bytes from %s:%d" % (len(d), a[0], a[1]))' "$GOT"
RECV_PID=$LAB_BG_PID
lab_wait_listen $P out 5060 udp || t_fail "receiver listening"
ip netns exec $P-in "$LAB_PY" - <<'EOF' >/tmp/$P-send.log 2>&1
import socket
pad = "".join("a=x-pad%d:%s\r\n" % (i, "p" * 60) for i in range(38))
sdp = ("v=0\r\no=- 1 1 IN IP4 198.18.1.2\r\ns=-\r\nc=IN IP4 198.18.1.2\r\nt=0 0\r\n"
       "m=audio 6000 RTP/AVP 0\r\n" + pad)
head = ("INVITE sip:bob@203.0.113.2 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 198.18.1.2:5060;branch=z9hG4bK-frag\r\n"
        "From: <sip:alice@198.18.1.2>;tag=a\r\nTo: <sip:bob@203.0.113.2>\r\n"
        "Call-ID: frag-1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@198.18.1.2:5060>\r\n"
        "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n" % len(sdp))
m = (head + sdp).encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.1.2", 5060))
s.sendto(m, ("203.0.113.2", 5060))
print("sent %d bytes" % len(m))
EOF
lab_wait_exit "$RECV_PID" 10
sed 's/^/    | /' /tmp/$P-send.log /tmp/$P-recv.log
t_check "the INVITE was sent as one datagram larger than the MTU" \
  grep -Eq 'sent (2[89]|3[0-9])[0-9][0-9] bytes' /tmp/$P-send.log
t_check "the callee received it whole, from 203.0.113.1:5060" \
  grep -q 'from 203.0.113.1:5060' /tmp/$P-recv.log
check_message() {
  "$LAB_PY" - "$GOT" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read().decode("latin-1")
head, _, body = d.partition("\r\n\r\n")
cl = [l for l in head.split("\r\n") if l.lower().startswith("content-length:")]
ok = "198.18." not in d and "c=IN IP4 203.0.113.1" in body and cl and int(cl[0].split(":")[1]) == len(body)
print("    | %d bytes, Content-Length %s, body %d, private address %s" %
      (len(d), cl[0].split(":")[1].strip() if cl else "-", len(body), "198.18." in d))
sys.exit(0 if ok else 1)
EOF
}
t_check "rewritten: no 198.18.x, c= the public address, Content-Length = body" check_message
det=$(fwcli_run $P "display firewall detect verbose")
t_check "fwd parsed one SIP message (not fragments)" grep -Eq '^ *sip .*parsed 1, ' <<<"$det"
sm=$(fwcli_run $P "display firewall server-map aspf")
t_check "the caller's RTP entry is open" grep -q 'Appro: sip-rtp' <<<"$sm"
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
