#!/usr/bin/python3
"""`terminal monitor` in an interactive fwcli (pseudo-terminal, stdlib pty): after `terminal
monitor`, a `reset firewall session table` typed in ANOTHER fwcli (fwcli -c) shows up in this
session, unasked, as a SESSION_TEARDOWN line with CloseReason=reset for the session matching
PATTERN; after `undo terminal monitor` nothing more is printed.

usage: evlog_monitor_pty.py FWCLI SOCKET PATTERN     prints PASS:/FAIL:, exit 0 when all pass
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fwcli_pty import Failure, Term, check  # noqa: E402
import fwcli_pty  # noqa: E402


def main():
    fwcli, sock, pattern = sys.argv[1], sys.argv[2], sys.argv[3]
    t = Term([fwcli, "-s", sock])
    try:
        t.expect(r"<[A-Za-z0-9_.-]+>$")
        t.command("screen-length 0 temporary")
        out = t.command("terminal monitor")
        check("terminal monitor: Info: Current terminal monitor is on.",
              any("Current terminal monitor is on." in l for l in out), repr(out))
        start = time.time()
        r = subprocess.run([fwcli, "-s", sock, "-c", "reset firewall session table"],
                           capture_output=True, text=True, timeout=20)
        check("reset firewall session table from another fwcli (rc=%d)" % r.returncode, r.returncode == 0,
              r.stdout + r.stderr)
        rx = r"SESSION_TEARDOWN\(l\):[^\n]*" + pattern + r"[^\n]*CloseReason=reset"
        try:
            text = t.expect(rx, timeout=5)
            line = [l for l in text.split("\n") if "SESSION_TEARDOWN" in l][-1]
            check("the teardown appears in the monitoring shell within %.1f s: %s"
                  % (time.time() - start, line.strip()), True)
            # The prompt is drawn again under the event, and the shell still answers.
            t.expect(r"<[A-Za-z0-9_.-]+>$", timeout=3)
            out = t.command("display logbuffer summary")
            check("the shell still answers commands after the event",
                  any("Events written" in l for l in out), repr(out))
        except Failure as e:
            check("the teardown appears in the monitoring shell within 5 s", False, str(e))
        out = t.command("undo terminal monitor")
        check("undo terminal monitor: off", any("monitor is off" in l for l in out), repr(out))
        subprocess.run([fwcli, "-s", sock, "-c", "system-view; sysname EVLOGMON; sysname FW"],
                       capture_output=True, timeout=20)
        time.sleep(1.0)
        t.send("\r")
        text = t.expect(r"<[A-Za-z0-9_.-]+>$", timeout=5)
        check("nothing printed after undo terminal monitor", "CMDRECORD" not in text, repr(text))
        t.send("quit\r")
    except Failure as e:
        check("pty session", False, str(e))
    ok = all(fwcli_pty.RESULTS)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
