#!/usr/bin/python3
"""Reads `tshark -T fields -e frame.number -e udp.payload` lines (hex payloads of SIP datagrams)
on stdin and checks each message: Content-Length equals the body's length, and no address
matching FORBIDDEN (a regular expression, argv[1]; "" = none) appears anywhere in it but the
Call-ID (which an ALG must never rewrite: SIPp puts its own address there). With --stream
(argv[2]) the lines are TCP segments, `frame stream payload` (see tcp_messages). Prints
one line per problem and a summary "N messages, M bad"; exit 0 only when no message is bad
and at least one was read."""
import re
import sys

forbidden = re.compile(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else None
stream = len(sys.argv) > 2 and sys.argv[2] == "--stream"


def datagrams():
    for line in sys.stdin:
        parts = line.split()
        if len(parts) >= 2:
            yield parts[0], bytes.fromhex(parts[1].replace(":", ""))


def tcp_messages():
    """--stream: lines are `frame stream-id payload` of TCP segments in capture order; each
    direction of each connection is concatenated and split into messages by Content-Length
    (the framing of RFC 3261 18.3). A message without one, or cut short, counts as bad."""
    data, first = {}, {}
    for line in sys.stdin:
        parts = line.split()
        if len(parts) < 3:
            continue
        data[parts[1]] = data.get(parts[1], b"") + bytes.fromhex(parts[2].replace(":", ""))
        first.setdefault(parts[1], parts[0])
    for key, buf in data.items():
        while buf:
            buf = buf.lstrip(b"\r\n")
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if not buf:
                break
            m = re.search(rb"^(?:Content-Length|l)[ \t]*:[ \t]*(\d+)", head, re.M | re.I)
            n = int(m.group(1)) if m and sep else len(rest) + 1
            yield f"{first[key]}(stream {key})", head + sep + rest[:n]
            buf = rest[n:]


count = bad = 0
for frame, payload in (tcp_messages() if stream else datagrams()):
    if not payload.strip():
        continue  # keep-alive
    count += 1
    head, sep, body = payload.partition(b"\r\n\r\n")
    m = re.search(rb"^(?:Content-Length|l)[ \t]*:[ \t]*(\d+)", head, re.M | re.I)
    if not sep or not m or int(m.group(1)) != len(body):
        bad += 1
        print(f"frame {frame}: Content-Length {m.group(1).decode() if m else '-'} "
              f"but body of {len(body)} bytes")
        continue
    text = re.sub(r"(?im)^(Call-ID|i)[ \t]*:.*$", "", payload.decode("latin-1"))
    if forbidden and forbidden.search(text):
        bad += 1
        print(f"frame {frame}: names {forbidden.pattern}")
print(f"{count} messages, {bad} bad")
sys.exit(0 if count and not bad else 1)
