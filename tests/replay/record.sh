#!/usr/bin/env bash
# Records the captures of the replay tests (tests/unit/fwd/replay_test.cpp) from a live run of
# the lab (root; through the e2e lock):
#   flock /tmp/fwd-e2e.lock tests/replay/record.sh ftp|pptp|natserver
# In the firewall namespace dumpcaps run on in0, dmz0 and out0 (see cap_start), giving
# arrived.pcapng (the packets as they ARRIVED at fwd, before translation, both directions, each
# with its interface name) and left.pcapng (what fwd let leave, after translation: what --write
# must reproduce). Right after the traffic the captures
# stop and the live `display firewall session table`, `display firewall server-map` and
# `display current-configuration` are saved next to them (live-sessions.txt, live-server-map.txt,
# fwd.cfg). args: the replay's routes (lab.cfg configures no interface addresses).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../e2e/lib_ftp.sh"
source "$here/../e2e/lib_pptp.sh"
scenario=${1:?usage: record.sh ftp|pptp|natserver}
P=fwt-rec
out=$here/$scenario
[[ $EUID -eq 0 ]] || { echo "record.sh: needs root" >&2; exit 1; }

# cap_start FILE inbound|outbound: a dumpcap on each of the firewall's three interfaces (one
# dumpcap on several interfaces lost the first packets of some of them here); cap_stop merges
# them into FILE by time (mergecap keeps each interface's name). Which packets arrived and which
# left is told by address, not by the BPF `inbound`/`outbound` (which missed packets on these
# veths and matched nothing on the bridge in0): arrived = from a lab host on that interface's
# side, left = to one.
CAP_PIDS=()
cap_start() {
  local f=$1 dir=$2 i hosts
  local l4="(tcp or udp or icmp or ip proto 47)" side=src
  [[ $dir == outbound ]] && side=dst
  for i in in0 dmz0 out0; do
    case $i in
      in0) hosts="$side host 198.18.1.2 or $side host 198.18.1.3" ;;
      dmz0) hosts="$side host 198.18.2.2" ;;
      out0) hosts="$side host 203.0.113.2" ;;
    esac
    nat_cap_start $P fw $i "$f.$i.pcapng" 0 "($hosts) and $l4" || return 1
    CAP_PIDS+=("$NAT_CAP_PID")
  done
}
cap_stop() {
  local pid
  sleep 0.5
  for pid in "${CAP_PIDS[@]}"; do nat_cap_stop "$pid"; done
  CAP_PIDS=()
  for f in "$@"; do mergecap -F pcapng -w "$f" "$f".*.pcapng || return 1; done
}

lab_up "$P" || exit 1
trap 'ftp_down $P' EXIT
rm -f "/tmp/$P.db" "/tmp/$P-fwd.log"
mkdir -p "$out"
fwd_start "$P" || exit 1
tmp=/tmp/$P-rec
rm -rf "$tmp"; mkdir -p "$tmp"

case $scenario in
  ftp)
    fwcli_run $P "system-view; firewall detect ftp; nat-policy; rule name ez; source-zone trust;
      destination-zone untrust; action source-nat easy-ip" >/dev/null
    FTP_FILE_MIB=0 ftp_server_start $P out 203.0.113.2 || exit 1
    head -c 3000 /dev/urandom >"$(ftp_dir $P)/root/small.bin"; chmod 644 "$(ftp_dir $P)/root/small.bin"
    cap_start $tmp/arrived.pcapng inbound || exit 1
    cap_start $tmp/left.pcapng outbound || exit 1
    for m in port pasv eprt epsv; do
      ftp_get $P in $m ftp://203.0.113.2/small.bin $tmp/got-$m.bin 20 || echo "curl $m failed" >&2
    done
    ;;
  natserver)
    fwcli_run $P "system-view; firewall detect ftp;
      nat server ftpsrv protocol tcp global 203.0.113.110 21 inside 198.18.2.2 21;
      security-policy; rule name ftp-in; source-zone untrust; destination-zone dmz;
      destination-address 198.18.2.2 32; service ftp; action permit" >/dev/null
    FTP_FILE_MIB=0 ftp_server_start $P dmz 198.18.2.2 || exit 1
    head -c 3000 /dev/urandom >"$(ftp_dir $P)/root/small.bin"; chmod 644 "$(ftp_dir $P)/root/small.bin"
    cap_start $tmp/arrived.pcapng inbound || exit 1
    cap_start $tmp/left.pcapng outbound || exit 1
    for m in pasv port; do
      ftp_get $P out $m ftp://203.0.113.110/small.bin $tmp/got-$m.bin 20 || echo "curl $m failed" >&2
    done
    ;;
  pptp)
    fwcli_run $P "system-view; firewall detect pptp; nat-policy; rule name ez; source-zone trust;
      destination-zone untrust; action source-nat easy-ip" >/dev/null
    rm -rf "$(pptp_dir $P)"; mkdir -p "$(pptp_dir $P)/srv"
    pptp_server_start $P || exit 1
    cap_start $tmp/arrived.pcapng inbound || exit 1
    cap_start $tmp/left.pcapng outbound || exit 1
    PD=$(pptp_dir $P)
    pptp_client_start $P in 198.18.1.2 1
    pptp_wait_count $PD/client-1.log "RECV echo:hello-from-client-1 " 3 15 || echo "client 1 failed" >&2
    pptp_client_start $P in2 198.18.1.3 2
    pptp_wait_count $PD/client-2.log "RECV echo:hello-from-client-2 " 3 15 || echo "client 2 failed" >&2
    ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
cap_stop $tmp/arrived.pcapng $tmp/left.pcapng
fwcli_run $P "display firewall session table" >"$out/live-sessions.txt"
fwcli_run $P "display firewall server-map" >"$out/live-server-map.txt"
fwcli_run $P "display current-configuration" >"$out/fwd.cfg"
cp $tmp/arrived.pcapng $tmp/left.pcapng "$out/"
printf '%s\n' --route=198.18.1.0/24=in0 --route=198.18.2.0/24=dmz0 --route=203.0.113.0/24=out0 \
  --local=198.18.1.1=in0 --local=198.18.2.1=dmz0 --local=203.0.113.1=out0 >"$out/args"
ls -l "$out"
cat "$out/live-sessions.txt" "$out/live-server-map.txt"
