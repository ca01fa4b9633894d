#!/usr/bin/python3
"""A stand-in for systemd's notification socket (sd_notify(3)) for tests/e2e/test_service.sh.

  notify_listener.py --socket PATH --log FILE [--on-ready CMD --ready-out FILE]

Binds a Unix datagram socket at PATH and appends every message it receives to FILE as one line:
"<CLOCK_MONOTONIC seconds> <message, its newlines shown as ' | '>". On the first message with
READY=1 it runs CMD (through the shell) at once and writes its output to --ready-out, so the test
sees the kernel's state at the moment fwd declared itself ready. Runs until killed.
"""
import argparse
import os
import socket
import subprocess
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--on-ready")
    p.add_argument("--ready-out")
    a = p.parse_args()
    if os.path.exists(a.socket):
        os.unlink(a.socket)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(a.socket)
    ready_seen = False
    with open(a.log, "a", buffering=1) as log:
        while True:
            data = s.recv(65536).decode("utf-8", "replace")
            now = time.clock_gettime(time.CLOCK_MONOTONIC)
            log.write("%.3f %s\n" % (now, data.strip("\n").replace("\n", " | ")))
            if not ready_seen and "READY=1" in data.split("\n") and a.on_ready:
                ready_seen = True
                out = subprocess.run(a.on_ready, shell=True, capture_output=True, text=True)
                with open(a.ready_out, "w") as f:
                    f.write(out.stdout + out.stderr)


if __name__ == "__main__":
    main()
