# shellcheck shell=bash
# Shell code shared by the lab benchmarks (bench/*/run). Source it after tests/e2e/lib.sh (it
# uses LAB_PY, lab_pid_track, lab_wait_listen, lab_kill).

# bench_machine: one line naming the machine (cores, CPU model, kernel).
bench_machine() {
  local model
  model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
  echo "$(nproc) cores, ${model:-unknown CPU} (lscpu), kernel $(uname -r)"
}

# bench_load: the load averages (1, 5, 15 min) now.
bench_load() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_median X...: the median of the numbers given (non-numbers are skipped; n/a if none).
bench_median() {
  "$LAB_PY" -c '
import statistics, sys
v = []
for a in sys.argv[1:]:
    try: v.append(float(a.rstrip("*")))
    except ValueError: pass
print(("%.6g" % statistics.median(v)) if v else "n/a")' "$@"
}

# bench_ratio X Y [DIGITS]: X/Y (n/a when either is not a number or Y is 0).
bench_ratio() {
  "$LAB_PY" -c '
import sys
try: print("%.*f" % (int(sys.argv[3]), float(sys.argv[1]) / float(sys.argv[2])))
except Exception: print("n/a")' "$1" "$2" "${3:-2}"
}

# bench_status_kb PID FIELD: a /proc/PID/status field in kB (VmRSS, VmHWM), empty if absent.
bench_status_kb() {
  awk -v f="$2:" '$1 == f {print $2; exit}' "/proc/$1/status" 2>/dev/null
}

# conn_rate TAG: new TCP connections per second, inside -> outside:9000, for CT seconds. The
# server accepts and closes at once; each of CW client processes loops connect / read EOF / close
# (the server closes first, so the client ports see no TIME_WAIT). Sets R_CPS[TAG].
# Uses the caller's P (lab prefix), OUT (directory for logs), CT, CW and the associative arrays
# R_CPS and NOTE2 (failed connects are noted in NOTE2[TAG]).
conn_rate() {
  local tag=$1 spid
  ip netns exec $P-in sysctl -qw net.ipv4.ip_local_port_range="10000 65000" >/dev/null
  ip netns exec $P-out "$LAB_PY" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.2", 9000)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()' >$OUT/$tag-cps-server.log 2>&1 &
  spid=$!; lab_pid_track $P $spid
  lab_wait_listen $P out 9000 tcp || { R_CPS[$tag]="n/a"; return; }
  timeout -k 5 $((CT + 30)) ip netns exec $P-in "$LAB_PY" -c '
import multiprocessing as mp, socket, sys, time
T, W = float(sys.argv[1]), int(sys.argv[2])
def worker(q):
    ok = fail = 0
    end = time.monotonic() + T
    while time.monotonic() < end:
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("203.0.113.2", 9000))
            while s.recv(64):
                pass
            ok += 1
        except OSError:
            fail += 1
        finally:
            s.close()
    q.put((ok, fail))
q = mp.Queue()
ps = [mp.Process(target=worker, args=(q,)) for _ in range(W)]
for p in ps: p.start()
r = [q.get() for _ in ps]
for p in ps: p.join()
ok = sum(a for a, _ in r); fail = sum(b for _, b in r)
print("%d %d %.0f" % (ok, fail, ok / T))' "$CT" "$CW" >$OUT/$tag-cps.txt 2>$OUT/$tag-cps.err
  local ok fail cps
  read -r ok fail cps <$OUT/$tag-cps.txt 2>/dev/null || { ok=0; fail=0; cps="n/a"; }
  R_CPS[$tag]=$cps
  ((fail > 0)) && NOTE2[$tag]+="connection-rate run: $fail failed connects. "
  printf '  %-22s %s new TCP connections/s (%s completed, %s failed, %s s, %s clients)\n' "$tag" "$cps" "$ok" "$fail" "$CT" "$CW"
  lab_kill $spid; wait $spid 2>/dev/null
}
