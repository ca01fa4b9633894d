#!/usr/bin/env bash
# Runs the end-to-end tests: all tests/e2e/test_*.sh, or the ones named (with or without
# "test_" / ".sh"). Each test runs in its own network namespaces, with a time bound
# (E2E_TEST_TIMEOUT seconds, default 300). Needs root.
#   tests/e2e/run.sh [--jobs N] [test_basic_forwarding ...]
# --jobs N (or E2E_JOBS=N; default 1): up to N tests at once. The tests of ALONE below run first,
# one by one with nothing beside them; then the others, longest first (EXPECTED below), N at a
# time; each one's output goes to a log file printed whole when it ends. With one job the output
# is live, as before.
# Uses binaries from $FW_BUILD_DIR/bin (default build/bin). Prints a summary whose last line is
# "N passed, M failed"; exits non-zero if a test failed or this is not root.
set -uo pipefail

cd "$(dirname "$0")" || exit 1
HERE=$(pwd)
export LAB_REPO=${LAB_REPO:-$(cd ../.. && pwd)}
export FW_BUILD_DIR=${FW_BUILD_DIR:-$LAB_REPO/build}

jobs=${E2E_JOBS:-1}
args=()
while (($#)); do
  case $1 in
    --jobs) jobs=${2:-}; shift ;;
    --jobs=*) jobs=${1#--jobs=} ;;
    *) args+=("$1") ;;
  esac
  shift
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "e2e: --jobs needs a positive number" >&2; exit 2; }

if [[ $EUID -ne 0 ]]; then
  echo "e2e: SKIPPED: the end-to-end tests need root (network namespaces, iptables, NFQUEUE)"
  echo "0 passed, 0 failed"
  exit 1
fi

# Tests that run with nothing beside them (in parallel mode), each with its reason. A new test
# belongs here when it measures something load-sensitive (a flood, a rate, a throughput, a
# latency bound that a busy CPU can break) or touches anything outside its own namespaces and
# /tmp/P-* / /run/P* files (systemd, /etc, host sysctls or iptables, fixed file names or ports in
# the host namespace).
declare -A ALONE=(
  # floods and rates: hping3 at thousands of packets/s against limits counted per second
  [test_anti_ddos]=1     # SYN/UDP flood vs max-rate; attack start/end judged by rate
  [test_halfopen]=1      # SYN flood vs the half-open limit; a curl must connect within 2 s
  [test_synproxy]=1      # SYN flood answered by the proxy; 100 MB transfers through it
  [test_source_limit]=1  # 101 concurrent connections; fin-rst aging 1 s then a reconnect
  [test_guard]=1         # 300-datagram burst vs fwd's ICMP error limit; connects fail "< 2000 ms"
  [test_display_scale]=1 # 100,000-session flood; a ping every 0.1 s may lose at most 5 % + 1
  # timing of TCP itself: one delay past the RTO on a busy CPU is a retransmission (seen in a
  # parallel run of test_ftp_capture at load 8: 1 retransmission on both sides)
  [test_ftp_capture]=1   # no retransmission / lost segment on the control connections
  [test_sip_easyip]=1    # no retransmission / lost segment in the SIP-over-TCP capture
  [test_sip_natserver]=1 # the same through a NAT server
  [test_ftp_live]=1      # live sessions compared with the hosts' sockets mid-transfer
  # timers
  [test_service]=1       # WATCHDOG_USEC=2 s: 3 to 6 WATCHDOG=1 in 4.2 s, none in a 2.9 s window
  # global state, and timing
  [test_service_nspawn]=1 # the shared tree /var/tmp/fwd-nspawn-tree (its /etc/fwd, unit
                          # drop-ins); boots systemd, watchdog restarts
)

# Expected durations in seconds (the summary of a tests/e2e/run.sh --jobs 2 run, load 5-8): the
# parallel tests start longest first so that the lanes end together. A test missing here counts
# as 30 s.
declare -A EXPECTED=(
  [test_rules_chains]=88 [test_ftp_expiry]=68 [test_lab_scenarios]=59 [test_ftp_deny]=44
  [test_policy_order]=43 [test_restart]=40 [test_tftp]=39 [test_nat_checksums]=38
  [test_nat_pool]=38 [test_nat_easyip]=37 [test_pptp_aspf_off]=32 [test_basic_forwarding]=31
  [test_mgmt_socket]=31 [test_zone_interfaces]=31 [test_address_sets]=27 [test_rtsp_alg]=26
  [test_nat_nopat]=25 [test_pptp]=22 [test_sip_register]=21 [test_fail_modes]=18
  [test_route_cmds]=18 [test_nat_server]=17 [test_ftp_security]=16 [test_session_table]=16
  [test_appid_block]=15 [test_config_source]=14 [test_interface_cmds]=11
  [test_mgmt_concurrency]=11 [test_nat_unmatched]=11 [test_sip_nonat]=10 [test_ftp_natserver]=8
  [test_persistence]=8 [test_appid_ftp]=7 [test_ftp_nonat]=7 [test_nat_icmp]=7 [test_ftp_pool]=6
  [test_sip_dialogs]=6 [test_tcp_not_syn]=6 [test_evlog]=5 [test_ftp_aspf_off]=5
  [test_ftp_easyip]=4 [test_trace_live]=4 [test_shell]=3 [test_trace]=3 [test_sip_fragmented]=2
  [test_startup_errors]=1
)

tests=()
if ((${#args[@]})); then
  for t in "${args[@]}"; do
    t=${t%.sh}; t=${t#test_}
    [[ -f $HERE/test_$t.sh ]] || { echo "e2e: no such test: test_$t.sh" >&2; exit 2; }
    tests+=("$HERE/test_$t.sh")
  done
else
  shopt -s nullglob
  tests=("$HERE"/test_*.sh)
  shopt -u nullglob
fi

timeout_s=${E2E_TEST_TIMEOUT:-300}
passed=0 failed=0 skipped=0
declare -A result=()

# record NAME RC SECONDS
record() {
  local name=$1 rc=$2 dur=$3
  case $rc in
    0) passed=$((passed + 1)); result[$name]="PASS  $name (${dur}s)" ;;
    77) skipped=$((skipped + 1)); result[$name]="SKIP  $name" ;;
    124|137) failed=$((failed + 1)); result[$name]="FAIL  $name (timed out after ${timeout_s}s)" ;;
    *) failed=$((failed + 1)); result[$name]="FAIL  $name (exit $rc, ${dur}s)" ;;
  esac
}

# run_live TEST: one test in the foreground, output live.
run_live() {
  local t=$1 name start rc
  name=$(basename "$t" .sh)
  echo
  echo "---------- e2e: $name ----------"
  start=$SECONDS
  # --kill-after: a test stuck in its own cleanup still ends; its trap runs on TERM.
  timeout --kill-after=20 "$timeout_s" bash "$t"
  rc=$?
  record "$name" "$rc" $((SECONDS - start))
}

if ((jobs == 1)); then
  for t in "${tests[@]}"; do run_live "$t"; done
else
  alone=() pool=()
  for t in "${tests[@]}"; do
    if [[ -n ${ALONE[$(basename "$t" .sh)]:-} ]]; then alone+=("$t"); else pool+=("$t"); fi
  done
  for t in "${alone[@]+"${alone[@]}"}"; do run_live "$t"; done
  # The pool, longest expected first.
  mapfile -t pool < <(for t in "${pool[@]+"${pool[@]}"}"; do
    n=$(basename "$t" .sh); echo "${EXPECTED[$n]:-30} $t"; done | sort -k1,1nr -k2 | cut -d' ' -f2-)
  logdir=$(mktemp -d /tmp/fwd-e2e-logs.XXXXXX)
  declare -A running=() started=()
  # Ctrl+C / TERM: stop the running tests (their traps clean up), then leave.
  trap 'for p in "${!running[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait; exit 130' INT TERM
  finish_one() {
    local pid rc name
    wait -n -p pid "${!running[@]}"
    rc=$?
    name=${running[$pid]}
    unset "running[$pid]"
    echo
    echo "---------- e2e: $name (ran in parallel; its whole output) ----------"
    cat "$logdir/$name.log"
    record "$name" "$rc" $((SECONDS - started[$name]))
  }
  echo
  echo "---------- e2e: ${#pool[@]} tests, $jobs at a time (logs in $logdir) ----------"
  for t in "${pool[@]+"${pool[@]}"}"; do
    while ((${#running[@]} >= jobs)); do finish_one; done
    name=$(basename "$t" .sh)
    started[$name]=$SECONDS
    timeout --kill-after=20 "$timeout_s" bash "$t" </dev/null >"$logdir/$name.log" 2>&1 &
    running[$!]=$name
    echo "e2e: started $name"
  done
  while ((${#running[@]})); do finish_one; done
  trap - INT TERM
  rm -rf "$logdir"
fi

echo
echo "---------- e2e summary ----------"
for t in "${tests[@]}"; do
  n=$(basename "$t" .sh)
  [[ -n ${result[$n]:-} ]] && echo "  ${result[$n]}"
done
((skipped)) && echo "$skipped skipped"
echo "$passed passed, $failed failed"
((failed == 0))
