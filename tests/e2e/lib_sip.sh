# shellcheck shell=bash
# Helpers for the SIP ALG end-to-end tests (test_sip_*.sh): SIPp (package sip-tester) running
# the scenarios of tests/e2e/sip/ in the lab's namespaces, and capture checks. Sources lib_nat.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib_nat.sh"
SIP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/sip" && pwd)

# sip_workdir PREFIX: a scratch directory where SIPp finds pcap/g711a.pcap; prints it.
sip_workdir() {
  local d=/tmp/$1-sip
  rm -rf "$d"
  mkdir -p "$d"
  ln -s /usr/share/sip-tester "$d/pcap"
  echo "$d"
}

# sip_uas PREFIX HOST ADDR MEDIA_PORT [sipp args]: the callee ($SIP_UAS_SF, default uas.xml) on ADDR:5060 in the
# background (SIP_UAS_PID); its RTP goes to the caller's SDP address and port.
sip_uas() {
  local p=$1 h=$2 addr=$3 mp=$4; shift 4
  (cd "$SIP_WORK" && lab_bg "$p" "$h" "/tmp/$p-uas.log" sipp -sf "$SIP_DIR/${SIP_UAS_SF:-uas.xml}" -i "$addr" \
    -p 5060 -mi "$addr" -mp "$mp" -nostdin "$@"; echo "$LAB_BG_PID" >"$SIP_WORK/uas.pid")
  SIP_UAS_PID=$(cat "$SIP_WORK/uas.pid")
  lab_pid_track "$p" "$SIP_UAS_PID"
  lab_wait_listen "$p" "$h" 5060 "${SIP_UAS_PROTO:-udp}"
}

# sip_uac PREFIX HOST ADDR MEDIA_PORT TARGET CALLS [sipp args]: CALLS calls ($SIP_UAC_SF, default uac.xml), one at a
# time, bounded to 60 s ($SIP_UAC_TIMEOUT); returns SIPp's exit code (0 = every call completed).
sip_uac() {
  local p=$1 h=$2 addr=$3 mp=$4 target=$5 n=$6; shift 6
  (cd "$SIP_WORK" && ip netns exec "$p-$h" timeout "${SIP_UAC_TIMEOUT:-60}" sipp "$target" -sf "$SIP_DIR/${SIP_UAC_SF:-uac.xml}" \
    -i "$addr" -p 5060 -mi "$addr" -mp "$mp" -m "$n" -l 1 -r 20 -nostdin "$@" \
    >"/tmp/$p-uac.log" 2>&1)
}

# sip_check_messages PCAP FORBIDDEN: every SIP datagram in PCAP has a right Content-Length and
# does not match FORBIDDEN (regex, "" = nothing forbidden).
sip_check_messages() {
  timeout 60 tshark -n -r "$1" -Y "udp.port == 5060 && udp.length > 8" -T fields \
    -e frame.number -e udp.payload 2>/dev/null | /usr/bin/python3 "$SIP_DIR/check_sip.py" "$2"
}

# sip_check_tcp_messages PCAP FORBIDDEN: the same for SIP over TCP port 5060: each direction of
# each connection reassembled and split into messages by Content-Length.
sip_check_tcp_messages() {
  timeout 60 tshark -n -r "$1" -Y "tcp.port == 5060 && tcp.len > 0" -T fields \
    -e frame.number -e tcp.stream -e tcp.srcport -e tcp.payload 2>/dev/null |
    awk '{print $1, $2 "-" $3, $4}' | /usr/bin/python3 "$SIP_DIR/check_sip.py" "$2" --stream
}

# sip_count PCAP FILTER: number of packets matching FILTER.
sip_count() { timeout 60 tshark -n -r "$1" -Y "$2" 2>/dev/null | wc -l; }

# sip_bad_checksums PCAP: packets with a bad IP or UDP checksum.
sip_bad_checksums() {
  timeout 60 tshark -n -r "$1" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
    -Y "ip.checksum.status == 0 || udp.checksum.status == 0" 2>/dev/null | wc -l
}
