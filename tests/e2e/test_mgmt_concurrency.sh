#!/usr/bin/env bash
# Already good and must stay so (issue 11): 200 concurrent root fwcli clients x 10 commands,
# half of them configuration changes, against fwd with its default --max-clients (32): every
# command succeeds (root is never locked out: an idle connection makes room and fwcli reconnects
# transparently, keeping its view) and the result is consistent (each client's rule is there,
# whole and in its own place); traffic keeps passing meanwhile.
source "$(dirname "$0")/lib.sh"
P=fwt-mconc
N=${MCONC_CLIENTS:-200}
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
OUT=/tmp/$P-out
trap 'lab_down $P; rm -rf $OUT' EXIT
mkdir -p $OUT
lab_out_route_inside $P
fwd_start $P || { t_fail "fwd starts"; t_done; }
SOCK=$(lab_sock $P)

# client I: 10 commands, 5 of them changes (the rule mc-I, its zones, its action, a description).
client() {
  local i=$1
  timeout 120 ip netns exec $P-fw "$FW_BIN/fwcli" -s "$SOCK" -c "display version; system-view; \
security-policy; rule name mc-$i; display firewall session table; source-zone trust; \
destination-zone untrust; display security-policy rule all; action deny; description client $i" \
    >"$OUT/$i.out" 2>&1
  echo $? >"$OUT/$i.rc"
}

echo "$N clients x 10 commands at once (default --max-clients)"
start=$SECONDS
pids=()
for ((i = 1; i <= N; i++)); do client $i & pids+=($!); done
any_alive() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
ping_ok=0
while any_alive; do
  lab_ping $P in 203.0.113.2 && ping_ok=$((ping_ok + 1))
  ((SECONDS - start > 150)) && break
done
wait "${pids[@]}" 2>/dev/null
took=$((SECONDS - start))
echo "    took $took s; pings through the firewall meanwhile: $ping_ok ok"
bad=0
for ((i = 1; i <= N; i++)); do
  rc=$(cat "$OUT/$i.rc" 2>/dev/null || echo none)
  if [[ $rc != 0 ]] || grep -q '^Error' "$OUT/$i.out"; then
    ((bad < 3)) && { echo "    client $i rc=$rc:"; sed 's/^/      /' "$OUT/$i.out" | tail -5; }
    bad=$((bad + 1))
  fi
done
t_check "every client's 10 commands succeeded ($bad of $N failed)" test "$bad" -eq 0

cfg=$(fwcli_run $P "display current-configuration")
whole=0
for ((i = 1; i <= N; i++)); do
  # the rule block: name, then its lines up to the next rule
  blk=$(awk -v r="mc-$i" '$1 == "rule" && $2 == "name" {on = ($3 == r)} on' <<<"$cfg")
  grep -qx '  description client '"$i" <<<"$blk" && grep -qx '  source-zone trust' <<<"$blk" &&
    grep -qx '  destination-zone untrust' <<<"$blk" && grep -qx '  action deny' <<<"$blk" &&
    whole=$((whole + 1))
done
t_check "all $N rules are in the configuration, each whole ($whole)" test "$whole" -eq "$N"
t_check "exactly $N mc- rules (no duplicate, no stray)" \
  test "$(grep -c '^ rule name mc-' <<<"$cfg")" -eq "$N"
t_check "the burst was served within 120 s ($took s)" test "$took" -lt 120
t_check "traffic passed meanwhile (pings answered: $ping_ok)" test "$ping_ok" -gt 0
t_check "fwd still answers" fwcli_run $P "display version"
t_done
