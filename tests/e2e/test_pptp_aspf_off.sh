#!/usr/bin/env bash
# PPTP with ASPF off (issue 5): through easy-ip, `undo firewall detect pptp` leaves GRE to
# address-only sessions, so of two inside clients behind 203.0.113.1 calling one server, the first
# works and the second's tunnel fails (its control channel and call set-up work; its GRE cannot be
# delivered: its stand-ins receive nothing). `detect pptp` under `firewall interzone trust untrust`
# brings the ALG back for two new clients. Then the Linux reference in fresh namespaces (iptables
# MASQUERADE, no fwd): without the kernel's pptp helper the second client fails too (so does the
# first there: see below), with `CT --helper pptp` both work.
set -uo pipefail
source "$(dirname "$0")/lib_pptp.sh"
P=fwt-pptpoff
pptp_test_start $P --log-level debug
PD=$(pptp_dir $P)  # not "d": t_check has a local d
t_check "easy-ip nat-policy, firewall detect pptp" nat_cfg_ok $P \
  "firewall detect pptp; firewall session aging-time gre 5;" \
  "nat-policy; rule name ez; source-zone trust; destination-zone untrust; action source-nat easy-ip"
t_check "undo firewall detect pptp" nat_cfg_ok $P "undo firewall detect pptp"
t_check "display firewall detect: global ftp (the factory's), no pptp" grep -Eq 'global:\|   ftp\|' <<<"$(fwcli_run $P "display firewall detect" | tr '\n' '|')"
has() { grep -Eq -- "$1" <<<"$2"; }
lacks() { ! grep -Eq -- "$1" <<<"$2"; }
# works N / silent N: client N's log has (has no) frame received at all.
echoes() { pptp_count "$PD/client-$1.log" "RECV echo:hello-from-client-$1 "; }
works() { pptp_wait_count "$PD/client-$1.log" "RECV echo:hello-from-client-$1 " 3 15; }
silent() { test "$(pptp_count "$PD/client-$1.log" RECV)" = 0; }
# two_clients N1 N2 [SETTLE] [FIRST]: client N1 from 198.18.1.2, once it works (bounded: FIRST
# seconds, default 15) client N2 from 198.18.1.3, then up to SETTLE seconds (default 5) for client
# N2's frames. Sets CA, CB (their PIDs).
two_clients() {
  pptp_client_start $P in 198.18.1.2 "$1"; CA=$PPTP_CLI_PID
  pptp_wait_count "$PD/client-$1.log" "RECV echo:hello-from-client-$1 " 3 "${4:-15}" || lab_log "client $1 does not work"
  pptp_client_start $P in2 198.18.1.3 "$2"; CB=$PPTP_CLI_PID
  pptp_wait_count "$PD/client-$2.log" "RECV echo:hello-from-client-$2 " 3 "${3:-5}" || true
}
stop_clients() { pptp_stop_client "$CA"; pptp_stop_client "$CB"; }

pptp_server_start $P || { t_fail "pptpd listens on $PPTP_SERVER:1723"; pptp_dump_logs $P; t_done; }
nat_cap_start $P out eth0 $PD/out.pcap 0 "tcp port 1723 or ip proto 47"; cap_out=$NAT_CAP_PID
nat_cap_start $P in2 eth0 $PD/in2.pcap 0 "tcp port 1723 or ip proto 47"; cap_in2=$NAT_CAP_PID

echo "ASPF off: client 1 (198.18.1.2), then client 2 (198.18.1.3)"
two_clients 1 2
t_check "client 1 works: its frames come back echoed ($(echoes 1))" works 1
n=$(echoes 1)
t_check "client 1 keeps working while client 2 tries" pptp_wait_count $PD/client-1.log "RECV echo:hello-from-client-1 " $((n + 3)) 5
t_check "client 2 fails: its stand-in received nothing ($(pptp_count $PD/client-2.log RECV) frames)" silent 2
t_check "pptpd accepted both calls (control channels work): $(pptp_server_logs $P) server stand-ins" \
  test "$(pptp_server_logs $P)" = 2
s1=$(pptp_server_log_of $P 1)
s2=
for f in "$PD"/srv/server-*.log; do [[ $f != "$s1" ]] && s2=$f; done
t_check "server side: client 1's frames arrive (${s1##*/})" test -n "$s1"
t_check "server side: the stand-in of client 2's call received nothing (${s2##*/}: $(pptp_count "$s2" RECV))" \
  test -n "$s2" -a "$(pptp_count "$s2" RECV)" = 0
sess=$(fwcli_run $P "display firewall session table")
echo "$sess" | sed 's/^/    | /'
t_check "control sessions not inspected (pptp ... -->, no +->)" bash -c \
  "grep -Eq '^ *pptp +VPN: .* --> 203\.0\.113\.2:1723$' <<<\"\$1\" && ! grep -q '+->' <<<\"\$1\"" _ "$sess"
t_check "no pptp-gre session" lacks '^ *pptp-gre ' "$sess"
t_check "client 1's GRE in an address-only session gre 198.18.1.2:0[203.0.113.1:0] --> 203.0.113.2:0" \
  has '^ *gre +VPN: public --> public +198\.18\.1\.2:0\[203\.0\.113\.1:0\] --> 203\.0\.113\.2:0$' "$sess"
t_check "no pptp-gre server-map entry" test "$(pptp_gre_entries $P)" = 0
t_check "detect pptp parsed nothing ($(pptp_detect_counter $P parsed))" test "$(pptp_detect_counter $P parsed)" = 0
stop_clients
nat_cap_stop $cap_out; nat_cap_stop $cap_in2
calls=$(pptp_cap_calls $PD/in2.pcap)
s_2=$(awk '$1 == "203.0.113.2" && $2 == 8 {print $3; exit}' <<<"$calls")
o_2=$(awk '$1 == "198.18.1.3" && $2 == 7 {print $3; exit}' <<<"$calls")
gre_in2=$(pptp_cap_gre $PD/in2.pcap); gre_out=$(pptp_cap_gre $PD/out.pcap)
echo "$gre_in2" | sed 's/^/    | inside 2 GRE (src dst key packets): /'
echo "$gre_out" | sed 's/^/    | outside GRE (src dst key packets): /'
t_check "client 2 sent GRE (key ${s_2:-?}) and its call was set up (call id ${o_2:-?})" \
  has "^198\.18\.1\.3 203\.0\.113\.2 ${s_2:-x} " "$gre_in2"
t_check "none of client 2's GRE reached the server (no key ${s_2:-?} outside)" \
  lacks "^203\.0\.113\.1 203\.0\.113\.2 ${s_2:-x} " "$gre_out"
t_check "no GRE from the server reached client 2" lacks "^203\.0\.113\.2 198\.18\.1\.3 " "$gre_in2"

echo "interzone trust untrust: detect pptp (clients 3 and 4)"
t_check "firewall interzone trust untrust; detect pptp" nat_cfg_ok $P "firewall interzone trust untrust; detect pptp"
t_check "display firewall detect: interzone trust untrust: pptp" \
  grep -Eq 'interzone trust untrust:\|   [^|]*pptp' <<<"$(fwcli_run $P "display firewall detect" | tr '\n' '|')"
fwcli_run $P "reset firewall session table" >/dev/null
two_clients 3 4 10
t_check "client 3 works ($(echoes 3) echoes)" works 3
t_check "client 4 works ($(echoes 4) echoes)" works 4
sess=$(fwcli_run $P "display firewall session table")
echo "$sess" | sed 's/^/    | /'
t_check "two pptp-gre sessions ($(grep -c '^ *pptp-gre ' <<<"$sess"))" test "$(grep -c '^ *pptp-gre ' <<<"$sess")" = 2
t_check "four pptp-gre server-map entries ($(pptp_gre_entries $P))" test "$(pptp_gre_entries $P)" = 4
stop_clients
t_check "server-map entries gone after the clients stopped" pptp_wait_gre_entries $P 0 10
t_check "fwd still running" lab_pid_alive "$FWD_PID"
((T_FAIL)) && pptp_dump_logs $P
rc=0; fwd_stop $P || rc=$?
t_check "fwd stops (rc=$rc)" test $rc = 0

# Linux reference: fresh namespaces (no conntrack entries left over), kernel NAT, no fwd.
linux_run() {
  local label=$1 helper=$2
  pptp_down $P
  lab_up $P >/dev/null 2>&1 || { t_fail "$label: lab_up"; return 1; }
  mkdir -p "$PD/srv"; rm -f "$PD"/srv/server-*.log
  ip netns exec $P-fw iptables -t nat -A POSTROUTING -o out0 -j MASQUERADE
  ip netns exec $P-fw sysctl -qw net.netfilter.nf_conntrack_helper=0 2>/dev/null || true
  ((helper)) && ip netns exec $P-fw iptables -t raw -A PREROUTING -i in0 -p tcp --dport 1723 -j CT --helper pptp
  pptp_server_start $P || { t_fail "$label: pptpd"; return 1; }
  two_clients "$3" "$4" 5 "$5"
}
echo "Linux reference, MASQUERADE without the pptp helper (clients 5 and 6)"
linux_run "linux, no helper" 0 5 6 4
# Without the helper even the first call fails in the kernel: GRE conntrack is keyed by the GRE
# key, and without the helper's keymap the server's GRE (key = the client's call id) matches no
# entry, so 203.0.113.1 answers protocol-unreachable and pptpd drops the call. Shown, not checked.
echo "  (client 5, the first: $(echoes 5) echoes: the kernel without its helper fails every call)"
t_check "linux, no helper: client 6 fails ($(pptp_count $PD/client-6.log RECV) frames received)" silent 6
stop_clients
echo "Linux reference, MASQUERADE with CT --helper pptp (clients 7 and 8)"
linux_run "linux, helper" 1 7 8 15
t_check "linux, CT --helper pptp: client 7 works ($(echoes 7) echoes)" works 7
t_check "linux, CT --helper pptp: client 8 works ($(echoes 8) echoes)" works 8
stop_clients
((T_FAIL)) && pptp_dump_logs $P
t_done
