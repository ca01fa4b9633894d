#!/usr/bin/env bash
# Checksums after translation (PAT pool 203.0.113.100-105). With TX/RX checksum offload off on
# every lab veth, captures on BOTH firewall interfaces (in0 and out0 in the firewall namespace)
# during curl, iperf3 TCP and UDP, UDP echo, ping and a UDP datagram with checksum 0 hold no bad
# IP/TCP/UDP/ICMP checksum; the out0 capture does contain the translated packets; the zero UDP
# checksum stays zero. With offload on (the kernel hands partial checksums and GSO
# super-packets over), the transfers still succeed with intact content.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-natcsum
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts"; t_done; }
t_check "address-group pool1 (PAT) and nat-policy configured" nat_cfg_ok $P \
  "nat address-group pool1; mode pat; section 0 203.0.113.100 203.0.113.105; quit;" \
  "nat-policy; rule name snat; source-zone trust; destination-zone untrust; action source-nat address-group pool1"
www=/tmp/$P-www; mkdir -p $www
head -c 3000000 /dev/urandom >$www/blob.bin
want=$(sha256sum <$www/blob.bin | cut -d' ' -f1)
nat_http_server $P out 203.0.113.2 80 $www || t_fail "http server in $P-out"
nat_echo_server $P out 203.0.113.2 7001 udp || t_fail "udp echo server in $P-out"
nat_iperf_server $P out 203.0.113.2 || t_fail "iperf3 server in $P-out"

# udp_nocheck HOST SPORT: one datagram with UDP checksum 0 (SO_NO_CHECK), 0 when echoed.
udp_nocheck() {
  ip netns exec $P-$1 timeout 10 "$LAB_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 11, 1)  # SO_NO_CHECK: send with checksum 0
s.bind(("0.0.0.0", int(sys.argv[1])))
s.connect(("203.0.113.2", 7001))
s.settimeout(2)
s.send(b"zero checksum")
sys.exit(0 if s.recv(100) == b"zero checksum" else 1)' "$2"
}

# traffic TAG: the same mix from both inside hosts; checks content and completion.
traffic() {
  local tag=$1 h
  for h in in in2; do
    t_check "$tag: HTTP $h -> outside, 3 MB content intact" test "$(nat_http_get $P $h http://203.0.113.2/blob.bin)" = "$want"
    t_check "$tag: UDP echo $h, 10/10" nat_udp_echo $P $h 203.0.113.2 7001 10 >/dev/null
    t_check "$tag: ping $h" lab_ping $P $h 203.0.113.2
  done
  t_check "$tag: iperf3 TCP in -> outside" nat_iperf $P in 203.0.113.2 tcp /tmp/$P-$tag-tcp.json -b 50M
  t_check "$tag: iperf3 UDP in2 -> outside" nat_iperf $P in2 203.0.113.2 udp /tmp/$P-$tag-udp.json -b 5M
  t_check "$tag: UDP datagram with checksum 0 echoed" udp_nocheck in 47000
}

echo "offload off: captures on in0 and out0 of the firewall"
lab_offload_off $P
ci=/tmp/$P-in0.pcap co=/tmp/$P-out0.pcap
nat_cap_start $P fw in0 $ci || t_fail "capture on in0"
pin=$NAT_CAP_PID
nat_cap_start $P fw out0 $co || t_fail "capture on out0"
pout=$NAT_CAP_PID
traffic off
nat_cap_stop $pin
nat_cap_stop $pout
bad_filter="tcp.checksum.status==0 || udp.checksum.status==0 || ip.checksum.status==0 || icmp.checksum.status==0"
check_opts=(-o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE -o icmp.check_checksum:TRUE)
for f in $ci $co; do
  n=$(timeout 120 tshark -n -r $f "${check_opts[@]}" -Y "$bad_filter" 2>/dev/null | tee $f.bad | wc -l)
  head -n 5 $f.bad | sed 's/^/    bad: /'
  tot=$(timeout 60 tshark -n -r $f 2>/dev/null | wc -l)
  t_check "$(basename $f): no bad IP/TCP/UDP/ICMP checksum in $tot packets ($n bad)" test "$n" -eq 0 -a "$tot" -gt 1000
done
pool='ip.src >= 203.0.113.100 && ip.src <= 203.0.113.105'
rpool='ip.dst >= 203.0.113.100 && ip.dst <= 203.0.113.105'
nt=$(nat_cap_count $co "$pool && tcp"); nu=$(nat_cap_count $co "$pool && udp"); ni=$(nat_cap_count $co "$pool && icmp")
t_check "out0 capture holds translated TCP ($nt), UDP ($nu) and ICMP ($ni) from the pool" test "$nt" -gt 1000 -a "$nu" -gt 100 -a "$ni" -ge 6
nr=$(nat_cap_count $ci "ip.src == 203.0.113.2 && (ip.dst == 198.18.1.2 || ip.dst == 198.18.1.3)")
t_check "in0 capture holds the replies translated back ($nr)" test "$nr" -gt 1000
t_check "out0: no 198.18. address ($(nat_cap_count $co 'ip.addr == 198.18.0.0/16'))" test "$(nat_cap_count $co 'ip.addr == 198.18.0.0/16')" -eq 0
t_check "in0: no pool address ($(nat_cap_count $ci "$pool || $rpool"))" test "$(nat_cap_count $ci "$pool || $rpool")" -eq 0
z_in=$(nat_cap_count $ci 'ip.src == 198.18.1.2 && udp.srcport == 47000 && udp.checksum == 0')
z_out=$(nat_cap_count $co "$pool && udp.dstport == 7001 && udp.checksum == 0 && udp.length == 21")
t_check "UDP checksum 0 stays 0 after translation (in0 $z_in, out0 $z_out)" test "$z_in" -ge 1 -a "$z_out" -ge 1

echo "offload on: partial checksums / GSO handed to fwd"
for dev in in0a in0b dmz0 out0; do ip netns exec $P-fw ethtool -K $dev tx on rx on >/dev/null 2>&1; done
ip netns exec $P-fw ethtool -K in0 tx on >/dev/null 2>&1
for h in in in2 dmz out; do ip netns exec $P-$h ethtool -K eth0 tx on rx on >/dev/null 2>&1; done
t_check "tx checksum offload is on again on the inside host" \
  grep -q "tx-checksumming: on" <<<"$(ip netns exec $P-in ethtool -k eth0)"
traffic on
t_check "fwd still running" lab_pid_alive "$FWD_PID"
mal=$(fw_stat $P "Dropped malformed")
t_check "no packet dropped as malformed ($mal)" test "${mal:-0}" -eq 0
fwd_stop $P; rc=$?
t_check "fwd exits 0 on SIGTERM ($rc)" test $rc -eq 0
t_done
