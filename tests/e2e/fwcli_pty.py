#!/usr/bin/python3
"""Drives the interactive fwcli through a pseudo-terminal (stdlib pty, no pexpect): More
paging at the terminal's height (space, Enter, q), screen-length 0 / undo, Ctrl+Z back to the
user view (the shell is not suspended), display history-command, the save prompt (N does not
save, Y does), pipes and `?` after `|`, quit.

usage: fwcli_pty.py FWCLI SOCKET     prints PASS:/FAIL: lines, exit 0 when all pass
The fwd behind SOCKET must run with --db and may be changed (sysname PTYTEST is saved).
"""
import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time

ROWS = 10  # the page: ROWS - 1 lines, then the More line
MORE = "  ---- More ----"
PROMPT = r"[<\[][A-Za-z0-9_.-]+(-[^\]\n]*)?[>\]]$"


class Failure(Exception):
    pass


class Term:
    def __init__(self, argv):
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["TERM"] = "dumb"
            os.execv(argv[0], argv)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, 200, 0, 0))
        self.pid, self.fd, self.buf = pid, fd, ""

    def send(self, text):
        os.write(self.fd, text.encode())

    def expect(self, pattern, timeout=10):
        """Waits for pattern; returns the screen text up to its end (CRs removed), consumed."""
        rx = re.compile(pattern)
        end = time.time() + timeout
        while True:
            m = rx.search(self.buf.replace("\r", ""))
            if m:
                clean = self.buf.replace("\r", "")
                self.buf = clean[m.end():]
                return clean[: m.end()]
            left = end - time.time()
            if left <= 0:
                raise Failure("timeout waiting for %r; screen ends with %r" % (pattern, self.buf[-400:]))
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise Failure("fwcli ended while waiting for %r; screen: %r" % (pattern, self.buf[-400:]))
                self.buf += data.decode(errors="replace")

    def command(self, line, timeout=10):
        """Types a line and Enter; returns the output lines between the echo and the prompt."""
        self.send(line + "\r")
        text = self.expect(PROMPT, timeout)
        lines = text.split("\n")
        return lines[1:-1]  # drop the echoed line and the new prompt


RESULTS = []


def check(what, ok, detail=""):
    RESULTS.append(ok)
    print(("  PASS: " if ok else "  FAIL: ") + what + ("" if ok or not detail else " -- " + detail))


def paging(t):
    t.send("display current-configuration\r")
    first = t.expect(re.escape(MORE) + "$").split("\n")
    page = first[1:-1]  # between the echo and the More line
    check("More after %d lines (terminal of %d rows)" % (ROWS - 1, ROWS), len(page) == ROWS - 1,
          "got %d: %r" % (len(page), page))
    check("the page starts with the configuration", page and page[0] == "#", repr(page[:2]))
    t.send(" ")
    second = t.expect(re.escape(MORE) + "$")
    wiped = second.startswith(" " * len(MORE))  # the More line is overwritten
    lines = second.split("\n")[:-1]
    check("space: the next %d lines" % (ROWS - 1), len(lines) == ROWS - 1 and wiped, repr(second[:200]))
    t.send("\r")
    third = t.expect(re.escape(MORE) + "$").split("\n")[:-1]
    check("Enter: one more line", len(third) == 1, repr(third))
    t.send("q")
    rest = t.expect(PROMPT)
    check("q: stops, back at the prompt with no further line", "\n" not in rest, repr(rest))
    out = t.command("screen-length 0 temporary")
    check("screen-length 0 temporary: info", out == [
        "Info: The configuration takes effect on the current user terminal interface only."], repr(out))
    out = t.command("display current-configuration")
    check("screen-length 0: whole configuration, no More", len(out) > 2 * ROWS and out[-1] == "return"
          and MORE not in "\n".join(out), repr(out[-3:]))
    t.command("undo screen-length temporary")
    t.send("display current-configuration\r")
    t.expect(re.escape(MORE) + "$")
    t.send("q")
    t.expect(PROMPT)
    check("undo screen-length temporary: paging again", True)


def ctrl_z_and_history(t):
    out = t.command("screen-length 20 temporary")  # the history (10 lines) fits on one page
    check("screen-length 20 temporary", len(out) == 1 and out[0].startswith("Info:"), repr(out))
    t.command("display version")
    t.command("display version")
    t.command("system-view")
    t.send("firewall zone trust\r")
    t.expect(r"-zone-trust\]$")
    t.send("\x1a")  # Ctrl+Z
    t.expect(r"<[A-Za-z0-9_.-]+>$")
    check("Ctrl+Z: from the zone view back to the user view (the shell is not suspended)", True)
    out = t.command("display history-command")
    want = ["  system-view", "  firewall zone trust", "  return", "  display history-command"]
    check("display history-command: the session's last commands", out[-4:] == want, repr(out))
    check("display history-command keeps 10", len(out) == 10, repr(len(out)))
    out = t.command("display history-command | include zone")
    check("display history-command | include (answered by the shell, itself included)",
          out == ["  firewall zone trust", "  display history-command | include zone"], repr(out))


def save_prompt(t):
    t.command("system-view")
    t.command("sysname PTYTEST")
    t.command("return")
    t.send("save\r")
    t.expect(r"The current configuration will be written to the device\.\nAre you sure to continue\?\[Y/N\]$")
    out = t.command("n")
    check("save, answer N: nothing saved", out == [], repr(out))
    out = t.command("compare configuration")
    check("compare configuration after N: differs in sysname",
          out and out[0].startswith("Warning: The current configuration is not the same") and " sysname PTYTEST" in out,
          repr(out))
    t.send("save\r")
    t.expect(r"Are you sure to continue\?\[Y/N\]$")
    out = t.command("Y")
    check("save, answer Y: saved", out == ["Info: Save the configuration successfully."], repr(out))
    out = t.command("compare configuration")
    check("compare configuration after Y: the same",
          out == ["The current configuration is the same as the next startup configuration file."], repr(out))
    out = t.command("save y")
    check("save y: no question", out == ["Info: Save the configuration successfully."], repr(out))


def pipes(t):
    out = t.command("display current-configuration | include sysname")
    check("| include", out == [" sysname PTYTEST"], repr(out))
    out = t.command("dis cur | count")
    check("| count", len(out) == 1 and re.fullmatch(r"Total lines: [0-9]+\.", out[0]) is not None, repr(out))
    out = t.command("display version | include (x")
    check("bad regular expression: caret and Wrong parameter",
          len(out) == 2 and out[0].endswith("^") and out[1] == "Error: Wrong parameter found at '^' position.",
          repr(out))
    t.send("display version | ?")
    help_text = t.expect(r"\n  include +Match[^\n]*\n[<\[][^\n]*display version \| $")
    check("? after |: the four pipes", all(w in help_text for w in ("begin", "count", "exclude", "include")),
          repr(help_text))
    out = t.command("count")
    check("the line typed on after ? runs: | count", out == ["Total lines: 1."], repr(out))


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    t = Term([sys.argv[1], "-s", sys.argv[2]])
    try:
        t.expect(PROMPT)
        paging(t)
        ctrl_z_and_history(t)
        save_prompt(t)
        pipes(t)
        t.send("quit\r")
        _, status = os.waitpid(t.pid, 0)
        check("quit: fwcli exits 0", os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, str(status))
    except Failure as e:
        check("fwcli session", False, str(e))
        os.kill(t.pid, 9)
        os.waitpid(t.pid, 0)
    return 0 if RESULTS and all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
