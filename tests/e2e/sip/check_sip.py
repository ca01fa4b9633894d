#!/usr/bin/python3
"""Reads `tshark -T fields -e frame.number -e udp.payload` lines (hex payloads of SIP datagrams)
on stdin and checks each message: Content-Length equals the body's length, and no address
matching FORBIDDEN (a regular expression, argv[1]; "" = none) appears anywhere in it but the
Call-ID (which an ALG must never rewrite: SIPp puts its own address there). Prints
one line per problem and a summary "N messages, M bad"; exit 0 only when no message is bad
and at least one was read."""
import re
import sys

forbidden = re.compile(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else None
count = bad = 0
for line in sys.stdin:
    parts = line.split()
    if len(parts) < 2:
        continue
    frame, payload = parts[0], bytes.fromhex(parts[1].replace(":", ""))
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
