#!/usr/bin/env bash
# "synproxy" area (issue 16 item 2): with `anti-ddos syn-flood tcp-proxy` (alert-rate 0: every
# SYN is answered by the firewall with a cookie) real clients reach real servers through the
# proxy: curl inside -> outside through easy-ip (a 100 MB download, sha256 both ends), an
# upload of 100 MB outside -> a NAT server in the dmz (sha256 both ends), and HTTP through the
# NAT server; both ends of a proxied connection have SACK and window scaling (TCP_INFO on the
# client and on the server); spoofed random-source SYNs (hping3) create no session; the proxy's
# counters in `display anti-ddos statistics`, the command in current-configuration.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-sp
t_require_root
t_require_bins fwd fwcli
command -v hping3 >/dev/null || { t_fail "hping3 not installed (scripts/deps)"; t_done; }
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P; rm -rf /tmp/$P-www /tmp/$P-up.bin /tmp/$P-sink.py' EXIT
www=/tmp/$P-www; mkdir -p $www; echo proxy-ok >$www/index.txt
head -c 100M /dev/urandom >$www/big.bin
lab_http_server $P out 203.0.113.2 80 $www || t_fail "http server outside"
lab_http_server $P dmz 198.18.2.2 80 $www || t_fail "http server in the dmz"

# A TCP sink (server) and source (client) that report what the connection negotiated
# (struct tcp_info: byte 5 = tcpi_options, byte 6 = snd_wscale | rcv_wscale << 4) and the
# sha256 of what went through.
cat >/tmp/$P-sink.py <<'PY'
import hashlib, socket, sys
def info(s):
    t = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return "sack=%d wscale=%d snd_wscale=%d rcv_wscale=%d ts=%d" % (
        bool(t[5] & 2), bool(t[5] & 4), t[6] & 15, t[6] >> 4, bool(t[5] & 1))
if sys.argv[1] == "server":
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((sys.argv[2], int(sys.argv[3]))); ls.listen(1); ls.settimeout(30)
    c, _ = ls.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
    i = info(c)
    while True:
        b = c.recv(1 << 16)
        if not b: break
        h.update(b); n += len(b)
    print("server %s bytes=%d sha=%s" % (i, n, h.hexdigest()), flush=True)
else:
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=30)
    i = info(s); data = open(sys.argv[4], "rb").read(); s.sendall(data)
    s.shutdown(socket.SHUT_WR); s.recv(1)
    print("client %s bytes=%d sha=%s" % (i, len(data), hashlib.sha256(data).hexdigest()))
PY

rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
cfg() { fwcli_run $P "system-view; $*; return" >/tmp/$P-cli.out 2>&1 || { cat /tmp/$P-cli.out; return 1; }; }
t_check "tcp-proxy on for every SYN, easy-ip trust -> untrust, NAT servers 80 and 9000 in the dmz" \
  cfg "anti-ddos syn-flood tcp-proxy; nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip; quit; quit; nat server web protocol tcp global 203.0.113.100 80 inside 198.18.2.2 80; nat server sink protocol tcp global 203.0.113.100 9000 inside 198.18.2.2 9000; security-policy; rule name in-dmz; source-zone untrust; destination-zone dmz; destination-address 198.18.2.2 32; action permit; quit; quit"
t_check "current-configuration: anti-ddos syn-flood tcp-proxy alert-rate 0" \
  grep -q '^ anti-ddos syn-flood tcp-proxy alert-rate 0$' <(fwcli_run $P "display current-configuration")

sum=$(sha256sum <$www/big.bin | cut -d' ' -f1)
t0=$(date +%s%N)
got=$(ip netns exec $P-in curl -s -m 30 http://203.0.113.2/big.bin | sha256sum | cut -d' ' -f1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
t_check "100 MB inside -> outside through easy-ip and the proxy: same sha256 (${ms} ms)" test "$got" = "$sum"
t_check "HTTP outside -> NAT server through the proxy" \
  test "$(ip netns exec $P-out curl -s -m 5 http://203.0.113.100/index.txt)" = proxy-ok

head -c 100M /dev/urandom >/tmp/$P-up.bin
lab_bg $P dmz /tmp/$P-sink.log "$LAB_PY" /tmp/$P-sink.py server 198.18.2.2 9000
sink=$LAB_BG_PID
lab_wait_listen $P dmz 9000 tcp
ip netns exec $P-out timeout 40 "$LAB_PY" /tmp/$P-sink.py client 203.0.113.100 9000 /tmp/$P-up.bin >/tmp/$P-src.log 2>&1
for _ in $(seq 50); do lab_pid_alive $sink || break; sleep 0.1; done
echo "    $(cat /tmp/$P-src.log)"; echo "    $(cat /tmp/$P-sink.log)"
csha=$(sed -nE 's/.* sha=([0-9a-f]+).*/\1/p' /tmp/$P-src.log)
ssha=$(sed -nE 's/.* sha=([0-9a-f]+).*/\1/p' /tmp/$P-sink.log)
t_check "100 MB outside -> NAT server upload: same sha256 both ends" test -n "$csha" -a "$csha" = "$ssha"
t_check "the server got all 104857600 bytes" grep -q 'bytes=104857600 ' /tmp/$P-sink.log
t_check "client: SACK and window scaling negotiated (with the proxy)" grep -q 'client sack=1 wscale=1' /tmp/$P-src.log
t_check "server: SACK and window scaling negotiated (the client's, carried in the cookie)" \
  grep -q 'server sack=1 wscale=1' /tmp/$P-sink.log
cws=$(sed -nE 's/.* rcv_wscale=([0-9]+) .*/\1/p' /tmp/$P-src.log)
sws=$(sed -nE 's/.* snd_wscale=([0-9]+) .*/\1/p' /tmp/$P-sink.log)
t_check "server: the client's own window scale reached it ($sws = $cws)" test -n "$cws" -a "$sws" = "$cws"
t_check "client: the proxy's window scale 7" grep -q 'client .*snd_wscale=7 ' /tmp/$P-src.log

count() { fwcli_run $P "display firewall session table | count" | sed -nE 's/Total lines: ([0-9]+)\./\1/p'; }
before=$(count)
answered0=$(fwcli_run $P "display anti-ddos statistics" | sed -nE 's/.*SYN-ACKs with a cookie sent *: ([0-9]+)/\1/p')
ip netns exec $P-out timeout 2 hping3 -q -S --rand-source -p 80 -i u200 203.0.113.100 >/tmp/$P-hping.log 2>&1
after=$(count)
st=$(fwcli_run $P "display anti-ddos statistics")
answered=$(sed -nE 's/.*SYN-ACKs with a cookie sent *: ([0-9]+)/\1/p' <<<"$st")
echo "$st" | sed 's/^/    /'
echo "    session table lines before the spoofed SYNs: $before, after: $after"
t_check "spoofed SYNs were answered by the proxy ($answered - $answered0 > 1000)" test $((answered - answered0)) -gt 1000
t_check "... and created no session (lines $before -> $after)" test "$after" -le "$((before + 2))"
t_check "HTTP outside -> NAT server still works" \
  test "$(ip netns exec $P-out curl -s -m 5 http://203.0.113.100/index.txt)" = proxy-ok
t_done
