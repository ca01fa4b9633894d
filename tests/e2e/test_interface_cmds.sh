#!/usr/bin/env bash
# The interface view acts on the Linux interfaces: `ip address`, `shutdown`, `description` change
# the kernel (ip -br addr, ip link) and come back after a restart from the db; `service-manage
# ping deny|permit` decides whether the firewall answers pings on that interface while forwarding
# through it goes on; `display interface brief` shows the lab interfaces with both names (the
# VRP names come from etc/lab.cfg's map-interface).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-iface
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
lab_out_route_inside $P
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts with etc/lab.cfg"; t_done; }
fw() { ip netns exec $P-fw "$@"; }
v4_of() { fw ip -br -4 addr show dev "$1" | awk '{print $3}'; }

brief=$(fwcli_run $P "display interface brief")
echo "$brief" | sed 's/^/    /'
for pair in "GigabitEthernet1/0/1(in0)" "GigabitEthernet1/0/2(dmz0)" "GigabitEthernet1/0/3(out0)"; do
  t_check "display interface brief: $pair up up" \
    grep -Eq "^${pair//[()]/.}[[:space:]]+up[[:space:]]+up" <<<"$brief"
done
t_check "display ip interface brief: GigabitEthernet1/0/3(out0) 203.0.113.1/24" \
  grep -Eq "^GigabitEthernet1/0/3\(out0\)[[:space:]]+203\.0\.113\.1/24[[:space:]]+up" \
  <<<"$(fwcli_run $P "display ip interface brief")"

# ip address / description / shutdown on dmz0, typed with its VRP name.
fw ip -4 addr flush dev dmz0
t_check "dmz0 starts without an IPv4 address (flushed)" test -z "$(v4_of dmz0)"
t_check "interface GigabitEthernet1/0/2: ip address, description, shutdown" \
  fwcli_run $P "system-view; interface GigabitEthernet1/0/2; ip address 198.18.2.1 255.255.255.0; description dmz servers; shutdown"
t_check "kernel: dmz0 has 198.18.2.1/24 (ip -br addr)" test "$(v4_of dmz0)" = 198.18.2.1/24
t_check "kernel: dmz0 is administratively down (ip link)" \
  bash -c "! ip netns exec $P-fw ip -o link show dev dmz0 | grep -q '<[^>]*[<,]UP[,>]'"
t_check "kernel: dmz0 alias 'dmz servers' (ip link)" \
  grep -q "alias dmz servers" <<<"$(fw ip -d link show dev dmz0)"
one=$(fwcli_run $P "display interface GigabitEthernet1/0/2")
echo "$one" | sed 's/^/    /'
t_check "display interface: Administratively DOWN" grep -q "current state : Administratively DOWN" <<<"$one"
t_check "display interface: Description" grep -q "^Description: dmz servers$" <<<"$one"
t_check "display interface: Internet Address" grep -q "^Internet Address is 198.18.2.1/24$" <<<"$one"
t_check "display interface: counters" grep -Eq "Input: +[0-9]+ packets, [0-9]+ bytes" <<<"$one"
t_check "save" fwcli_run $P "save"

# Restart from the db after the kernel forgot all of it.
fwd_stop $P TERM
fw ip -4 addr flush dev dmz0
fw ip link set dev dmz0 up
fw ip link set dev dmz0 alias x
fwd_start $P --no-config || { t_fail "restart with --db only"; t_done; }
t_check "after the restart: dmz0 has 198.18.2.1/24 again" test "$(v4_of dmz0)" = 198.18.2.1/24
t_check "after the restart: dmz0 is down again" \
  bash -c "! ip netns exec $P-fw ip -o link show dev dmz0 | grep -q '<[^>]*[<,]UP[,>]'"
t_check "after the restart: alias 'dmz servers' again" \
  grep -q "alias dmz servers" <<<"$(fw ip -d link show dev dmz0)"
t_check "undo shutdown, undo description" \
  fwcli_run $P "system-view; interface dmz0; undo shutdown; undo description"
t_check "kernel: dmz0 is up" bash -c "ip netns exec $P-fw ip -o link show dev dmz0 | grep -q '<[^>]*[<,]UP[,>]'"
t_check "kernel: dmz0 has no alias" bash -c "! ip netns exec $P-fw ip -d link show dev dmz0 | grep -q alias"

# service-manage ping on in0. Without it the policy decides: trust -> local is not permitted.
t_check "default: the firewall does not answer pings from the inside (no trust -> local rule)" \
  lab_ping_none $P in 198.18.1.1 2
t_check "service-manage ping permit on GigabitEthernet1/0/1" \
  fwcli_run $P "system-view; interface GigabitEthernet1/0/1; service-manage ping permit"
t_check "permit: the firewall answers pings on in0" lab_ping $P in 198.18.1.1 2
t_check "service-manage ping deny, and a trust -> local permit rule" \
  fwcli_run $P "system-view; security-policy; rule name to-fw; source-zone trust; destination-zone local; action permit; quit; quit; interface GigabitEthernet1/0/1; service-manage ping deny"
d0=$(fw_stat $P "Dropped service-manage-deny")
t_check "deny: no answer from the firewall on in0 despite the rule" lab_ping_none $P in 198.18.1.1 2
d1=$(fw_stat $P "Dropped service-manage-deny")
t_check "deny: counted (Dropped service-manage-deny $d0 -> $d1)" test "${d1:-0}" -gt "${d0:-0}"
t_check "deny: forwarding through in0 goes on (ping inside -> outside)" lab_ping $P in 203.0.113.2 2
t_check "undo service-manage ping: the policy decides again (rule to-fw permits)" \
  fwcli_run $P "system-view; interface in0; undo service-manage ping"
t_check "the firewall answers pings on in0 again" lab_ping $P in 198.18.1.1 2
t_check "current-configuration: interface sections by VRP name" \
  grep -q "^interface GigabitEthernet1/0/2$" <<<"$(fwcli_run $P "display current-configuration")"
t_done
