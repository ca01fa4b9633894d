#!/usr/bin/python3
"""The interactive fwcli on a streamed display of a large session table (test_display_scale):
More paging while the answer streams (the first page, space, q stops and the daemon answers the
next command), and Ctrl+C in the middle of an unpaged verbose display brings the prompt back.

usage: display_scale_pty.py FWCLI SOCKET SESSIONS   prints PASS:/FAIL: lines, exit 0 when all pass
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fwcli_pty import MORE, PROMPT, ROWS, Failure, Term, check, RESULTS  # noqa: E402


def main():
    fwcli, sock, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t = Term([fwcli, "-s", sock])
    try:
        t.expect(PROMPT)
        t.send("display firewall session table\r")
        first = t.expect(re.escape(MORE) + "$").split("\n")
        page = first[1:-1]
        check("streamed display: More after %d lines" % (ROWS - 1), len(page) == ROWS - 1, repr(page[:3]))
        check("the page starts with the total", page and page[0] == " Current Total Sessions : %d" % n,
              repr(page[:1]))
        t.send(" ")
        second = t.expect(re.escape(MORE) + "$").split("\n")[:-1]
        check("space: the next page", len(second) == ROWS - 1, repr(second[:2]))
        t.send("q")
        t.expect(PROMPT, 5)
        start = time.time()
        out = t.command("display firewall session table | count", 10)
        check("q stopped it; the next command answers (%s, %.2f s)" % (out, time.time() - start),
              out == ["Total lines: %d." % (n + 1)], repr(out))
        t.command("screen-length 0 temporary")
        t.send("display firewall session table verbose\r")
        t.expect(r"Current Total Sessions : \d+\n(.*\n){20}")
        start = time.time()
        t.send("\x03")  # Ctrl+C in the middle of the answer
        # The user-view prompt on a line of its own (a line cut after "-->" looks like a prompt).
        t.expect(r"\n<[A-Za-z0-9_.-]+>$", 10)
        took = time.time() - start
        out = t.command("display firewall session table | count", 10)
        check("Ctrl+C stops a streamed display (prompt after %.2f s), the next command answers" % took,
              out == ["Total lines: %d." % (n + 1)], repr(out[:3]))
        t.send("quit\r")
    except Failure as e:
        check("interactive streamed display", False, str(e))
    return 0 if RESULTS and all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
