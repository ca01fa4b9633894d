#!/usr/bin/env bash
# TFTP ALG with real programs: tftpd-hpa (in.tftpd) and the tftp-hpa client, plus curl's TFTP
# client for the RFC 2348 blksize option (tftp-hpa 5.2's client cannot send options).
#  - easy-ip: a 1 MiB file downloaded and uploaded byte for byte (sha256), also with blksize 1468;
#    the server-map entry is seen while the server's answer is held back, and gone once used;
#    the session table shows the request (+->) and its tftp-data child.
#  - PAT address-group: the same download, the outside host sees only pool addresses.
#  - NAT server: tftpd in the dmz published as 203.0.113.100:69, downloaded from outside; its
#    answer comes from its own ephemeral port and must leave with the global address (the outside
#    host has no route to the dmz).
#  - undo firewall detect tftp: the download fails, as on a Linux router without its TFTP helper.
set -uo pipefail
source "$(dirname "$0")/lib_nat.sh"
P=fwt-tftp
t_require_root
t_require_bins fwd fwcli
for b in in.tftpd tftp curl sha256sum; do command -v $b >/dev/null || t_skip "no $b"; done
lab_up $P || { t_fail "lab up"; t_done; }
trap 'lab_down $P' EXIT
D=/tmp/$P-tftp
rm -rf "$D"
mkdir -p "$D/out" "$D/dmz" "$D/client"
head -c 1048576 /dev/urandom >"$D/out/file.bin"
cp "$D/out/file.bin" "$D/dmz/file.bin"
head -c 1048581 /dev/urandom >"$D/client/up.bin"
SHA=$(sha256sum <"$D/out/file.bin" | cut -d' ' -f1)
UPSHA=$(sha256sum <"$D/client/up.bin" | cut -d' ' -f1)
chmod -R a+rwX "$D"

# tftpd_start HOST ADDR DIR: in.tftpd in the foreground (-L), creating files (-c), transfer ports
# 50000-50100, as root so it may write DIR.
tftpd_start() {
  lab_bg $P "$1" "/tmp/$P-tftpd-$1.log" in.tftpd -L -v -a "$2:69" -R 50000:50100 -c -u root -s "$3"
  lab_wait_listen $P "$1" 69 udp
}
# get HOST SERVER FILE OUT [curl-blksize]: download through the firewall, bounded in time.
get() {
  local h=$1 srv=$2 f=$3 out=$4 bs=${5:-}
  rm -f "$out"
  if [[ -n $bs ]]; then
    ip netns exec $P-$h timeout 20 curl -s --tftp-blksize "$bs" -o "$out" "tftp://$srv/$f"
  else
    (cd "$(dirname "$out")" && ip netns exec $P-$h timeout 20 tftp "$srv" -m binary \
      -c get "$f" "$(basename "$out")")
  fi
}
put() {
  local h=$1 srv=$2 src=$3 name=$4 bs=${5:-}
  if [[ -n $bs ]]; then
    ip netns exec $P-$h timeout 20 curl -s --tftp-blksize "$bs" -T "$src" "tftp://$srv/$name"
  else
    (cd "$(dirname "$src")" && ip netns exec $P-$h timeout 20 tftp "$srv" -m binary \
      -c put "$(basename "$src")" "$name")
  fi
}
sha() { [[ -f $1 ]] && sha256sum <"$1" | cut -d' ' -f1; }

fwd_start $P || { t_fail "fwd start"; t_done; }
t_check "easy-ip + firewall detect tftp configured" nat_cfg_ok $P "firewall detect tftp;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
tftpd_start out 203.0.113.2 "$D/out" || { t_fail "tftpd on 203.0.113.2"; t_done; }
t_check "outside host has no route to the inside network" \
  bash -c "! ip -n $P-out route get 198.18.1.2 >/dev/null 2>&1"

CAP=/tmp/$P-out.pcap
nat_cap_start $P out eth0 "$CAP" 96 udp || t_fail "capture on the outside host"
CAP_PID=$NAT_CAP_PID
echo "easy-ip: the entry before the data flow"
# Hold the server's answers back for a moment, silently (in front of fwd's own rules in the
# firewall namespace; a drop on the server itself would fail its sendto and end the transfer):
# the request has passed, the answer has not; the server retransmits once it is let through.
HOLD=(-t raw -I PREROUTING 1 -i out0 -p udp --sport 50000:50100 -j DROP)
ip netns exec $P-fw iptables "${HOLD[@]}"
get in 203.0.113.2 file.bin "$D/client/held.bin" &
GET_PID=$!
sleep 1
sm=$(fwcli_run $P "display firewall server-map aspf")
echo "$sm" | sed 's/^/    | /'
t_check "entry: Type: ASPF, 203.0.113.2 -> 203.0.113.1:X[198.18.1.2:Y], protocol:udp(Appro: tftp-data)" \
  grep -Eq 'Type: ASPF,  203\.0\.113\.2 -> 203\.0\.113\.1:[0-9]+\[198\.18\.1\.2:[0-9]+\],  Zone:---,  protocol:udp\(Appro: tftp-data\),  Left-Time:00:(01:00|00:5[0-9])' <<<"$sm"
ip netns exec $P-fw iptables -t raw -D PREROUTING -i out0 -p udp --sport 50000:50100 -j DROP
wait $GET_PID
t_check "download after the held answer: sha256 matches" test "$(sha "$D/client/held.bin")" = "$SHA"
sm=$(fwcli_run $P "display firewall server-map aspf")
echo "$sm" | sed 's/^/    | /'
t_check "entry used: no ASPF entry left" grep -q "Current Total Server-map : 0" <<<"$sm"

echo "easy-ip: downloads and uploads"
get in 203.0.113.2 file.bin "$D/client/a.bin"
t_check "download 1 MiB (tftp-hpa, 512-byte blocks): sha256 matches" test "$(sha "$D/client/a.bin")" = "$SHA"
put in 203.0.113.2 "$D/client/up.bin" up1.bin
t_check "upload 1 MiB (tftp-hpa): sha256 on the server matches" test "$(sha "$D/out/up1.bin")" = "$UPSHA"
get in 203.0.113.2 file.bin "$D/client/b.bin" 1468
t_check "download with blksize 1468 (curl): sha256 matches" test "$(sha "$D/client/b.bin")" = "$SHA"
put in 203.0.113.2 "$D/client/up.bin" up2.bin 1468
t_check "upload with blksize 1468 (curl): sha256 on the server matches" test "$(sha "$D/out/up2.bin")" = "$UPSHA"
get in2 203.0.113.2 file.bin "$D/client/c.bin"
t_check "second inside host downloads: sha256 matches" test "$(sha "$D/client/c.bin")" = "$SHA"

sess=$(fwcli_run $P "display firewall session table")
echo "$sess" | sed 's/^/    | /' | head -n 14
t_check "request session: udp/tftp 198.18.1.2:X[203.0.113.1:Y] +-> 203.0.113.2:69" grep -Eq \
  '^ *tftp +VPN: public --> public +198\.18\.1\.2:[0-9]+\[203\.0\.113\.1:[0-9]+\] \+-> 203\.0\.113\.2:69$' <<<"$sess"
t_check "data session: tftp-data 203.0.113.2:5xxxx --> 203.0.113.1:Y[198.18.1.2:X]" grep -Eq \
  '^ *tftp-data +VPN: public --> public +203\.0\.113\.2:50[01][0-9][0-9] --> 203\.0\.113\.1:[0-9]+\[198\.18\.1\.2:[0-9]+\]$' <<<"$sess"
nat_cap_stop "$CAP_PID"
srcs=$(nat_cap_read "$CAP" "udp && ip.dst == 203.0.113.2" ip.src | sort | uniq -c)
echo "$srcs" | sed 's/^/    sources seen by the server: /'
t_check "the server saw only 203.0.113.1 (capture on the outside host)" \
  test "$(awk '{print $2}' <<<"$srcs" | sort -u | tr -d '\n')" = "203.0.113.1"
det=$(fwcli_run $P "display firewall detect verbose")
echo "$det" | sed 's/^/    | /'
t_check "detect: tftp udp port 69, parsed >= 6, opened >= 6, refused 0" grep -Eq \
  'tftp +udp port 69 +parsed ([6-9]|[1-9][0-9]+), rewrites 0, opened ([6-9]|[1-9][0-9]+), malformed 0, refused 0' <<<"$det"

echo "PAT address-group"
t_check "address-group pool1 (203.0.113.100-110, pat) replaces easy-ip" nat_cfg_ok $P \
  "nat address-group pool1; mode pat; section 0 203.0.113.100 203.0.113.110; quit;" \
  "nat-policy; rule name ez; action source-nat address-group pool1"
nat_cap_start $P out eth0 "$CAP" 96 udp || t_fail "capture on the outside host"
CAP_PID=$NAT_CAP_PID
get in 203.0.113.2 file.bin "$D/client/d.bin"
t_check "download through the pool: sha256 matches" test "$(sha "$D/client/d.bin")" = "$SHA"
put in 203.0.113.2 "$D/client/up.bin" up3.bin
t_check "upload through the pool: sha256 on the server matches" test "$(sha "$D/out/up3.bin")" = "$UPSHA"
nat_cap_stop "$CAP_PID"
srcs=$(nat_cap_read "$CAP" "udp && ip.dst == 203.0.113.2" ip.src | sort -u | tr '\n' ' ')
t_check "the server saw only pool addresses ($srcs)" \
  bash -c "[[ -n '$srcs' ]] && ! grep -Eqv '^203\.0\.113\.1(0[0-9]|10)$' <<<'$(tr ' ' '\n' <<<"$srcs" | sed '/^$/d')'"

echo "NAT server: tftpd in the dmz as 203.0.113.100:69, client outside"
tftpd_start dmz 198.18.2.2 "$D/dmz" || t_fail "tftpd on 198.18.2.2"
t_check "nat server tftp-dmz udp 203.0.113.100 69 -> 198.18.2.2 69, untrust->dmz tftp permitted" \
  bash -c "$(declare -f nat_cfg nat_cfg_ok fwcli_run lab_sock lab_log); FW_BIN=$FW_BIN;
    fwcli_run $P 'reset firewall session table' >/dev/null; true" && \
  nat_cfg_ok $P "nat-policy; undo rule name ez; quit; undo nat address-group pool1;" \
  "nat server tftp-dmz protocol udp global 203.0.113.100 69 inside 198.18.2.2 69;" \
  "security-policy; rule name u2d-tftp; source-zone untrust; destination-zone dmz;" \
  "destination-address 198.18.2.2 32; service tftp; action permit"
t_check "outside host has no route to the dmz" bash -c "! ip -n $P-out route get 198.18.2.2 >/dev/null 2>&1"
get out 203.0.113.100 file.bin "$D/client/e.bin"
t_check "download from the NAT server: sha256 matches" test "$(sha "$D/client/e.bin")" = "$SHA"
put out 203.0.113.100 "$D/client/up.bin" up4.bin 1468
t_check "upload to the NAT server (blksize 1468): sha256 matches" test "$(sha "$D/dmz/up4.bin")" = "$UPSHA"
sess=$(fwcli_run $P "display firewall session table application tftp-data")
echo "$sess" | sed 's/^/    | /' | head -n 6
t_check "data session leaves with the global address: 198.18.2.2:5xxxx[203.0.113.100:P] --> 203.0.113.2:X" \
  grep -Eq '198\.18\.2\.2:50[01][0-9][0-9]\[203\.0\.113\.100:[0-9]+\] --> 203\.0\.113\.2:[0-9]+$' <<<"$sess"

echo "undo firewall detect tftp (as a Linux router without its TFTP helper)"
t_check "easy-ip back, detect off" nat_cfg_ok $P "undo firewall detect tftp;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
fwcli_run $P "reset firewall session table" >/dev/null
if get in 203.0.113.2 file.bin "$D/client/f.bin" 2>/dev/null && [[ $(sha "$D/client/f.bin") == "$SHA" ]]; then
  t_fail "download without the ALG must fail"
else
  t_ok "download without the ALG fails"
fi
sm=$(fwcli_run $P "display firewall server-map aspf")
t_check "no ASPF entry was opened" grep -q "Current Total Server-map : 0" <<<"$sm"
t_check "fwd still running" lab_pid_alive "$FWD_PID"
t_done
