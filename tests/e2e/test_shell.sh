#!/usr/bin/env bash
# The shell against a real fwd: output pipes through `fwcli -c` and piped stdin (fwd applies
# them); the interactive fwcli in a pseudo-terminal (fwcli_pty.py: More paging, screen-length,
# Ctrl+Z, display history-command, the save prompt); `save` -> restart from the db ->
# `compare configuration` shows nothing, a change after it shows the difference; `fwcli -c save`
# and piped `save` do not ask.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
P=fwt-shell
t_require_root
t_require_bins fwd fwcli
lab_up $P || { t_fail "lab_up"; t_done; }
trap 'lab_down $P' EXIT
rm -f /tmp/$P.db
fwd_start $P || { t_fail "fwd starts with etc/lab.cfg"; t_done; }
sock=$(lab_sock $P)
piped() { ip netns exec "$P-fw" "$FW_BIN/fwcli" -s "$sock"; }

# Pipes, applied by fwd.
out=$(fwcli_run $P "display current-configuration | include ^ sysname")
t_check "fwcli -c: | include keeps only the sysname line" test "$out" = " sysname FW"
full=$(fwcli_run $P "display current-configuration")
out=$(fwcli_run $P "display current-configuration | count")
t_check "fwcli -c: | count = the lines of the display ($out)" \
  test "$out" = "Total lines: $(wc -l <<<"$full")."
out=$(echo "display current-configuration | begin ^security-policy" | piped)
t_check "piped stdin: | begin starts at security-policy" test "$(head -n1 <<<"$out")" = "security-policy"
t_check "piped stdin: | begin keeps the rest" test "$(tail -n1 <<<"$out")" = "return"
out=$(fwcli_run $P "display current-configuration | exclude ^#|^ ")
t_check_not "fwcli -c: | exclude drops the # and indented lines" grep -q '^#\|^ ' <<<"$out"
out=$(fwcli_run $P "display version | include (x"); rc=$?
t_check "bad regular expression: exit 1 (rc=$rc)" test $rc -eq 1
t_check "bad regular expression: Wrong parameter" grep -qF "Error: Wrong parameter found at '^' position." <<<"$out"
out=$(fwcli_run $P "system-view | count"); rc=$?
t_check "a pipe after a command that is not a display: exit 1 (rc=$rc)" test $rc -eq 1
t_check "a pipe after a command that is not a display: Too many parameters" grep -q 'Too many parameters' <<<"$out"
out=$(fwcli_run $P "display current-configuration configuration security-policy")
t_check "display current-configuration configuration security-policy: one section" \
  test "$(grep -c '^security-policy$' <<<"$out"):$(grep -c '^firewall zone' <<<"$out")" = "1:0"

# save: -c and piped stdin never ask.
t_check "display saved-configuration: the configuration --config seeded the database with" \
  test "$(fwcli_run $P "display saved-configuration")" = "$full"
out=$(fwcli_run $P "save")
t_check "fwcli -c save: saved without a question" test "$out" = "Info: Save the configuration successfully."
out=$(echo save | piped)
t_check "piped save: saved without a question" test "$out" = "Info: Save the configuration successfully."

# The interactive shell.
pty_out=$(ip netns exec "$P-fw" /usr/bin/python3 "$(dirname "$0")/fwcli_pty.py" "$FW_BIN/fwcli" "$sock")
rc=$?
echo "$pty_out" | sed 's/^/  /'
t_check "interactive fwcli in a pty: every check passes (rc=$rc)" test $rc -eq 0

# save -> restart -> compare.
t_check "fwcli -c: sysname set, save y" fwcli_run $P "system-view; sysname SAVED; return; save y"
fwd_stop $P TERM || true
fwd_start $P --no-config || { t_fail "restart with --db only"; t_done; }
out=$(fwcli_run $P "compare configuration")
t_check "after the restart compare configuration shows no difference" \
  test "$out" = "The current configuration is the same as the next startup configuration file."
t_check "display saved-configuration = display current-configuration after the restart" \
  test "$(fwcli_run $P "display saved-configuration")" = "$(fwcli_run $P "display current-configuration")"
fwcli_run $P "system-view; sysname CHANGED" >/dev/null
out=$(fwcli_run $P "compare configuration")
echo "$out" | sed 's/^/    /'
t_check "a change after the restart: compare warns" \
  grep -q '^Warning: The current configuration is not the same' <<<"$out"
t_check "a change after the restart: compare shows both lines" \
  test "$(grep -cx -e ' sysname CHANGED' -e ' sysname SAVED' <<<"$out")" = 2
t_done
