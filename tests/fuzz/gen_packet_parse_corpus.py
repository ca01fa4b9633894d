#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_packet_parse (run once; the files are committed).

Usage: python3 tests/fuzz/gen_packet_parse_corpus.py [OUT_DIR]
Checksums are left zero: the parser does not look at them.
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus", "packet_parse")

SRC4, DST4 = bytes([198, 18, 1, 2]), bytes([203, 0, 113, 2])
SRC6 = bytes.fromhex("20010db8000100000000000000000002")
DST6 = bytes.fromhex("20010db8000300000000000000000002")


def ipv4(proto, l4, options=b"", frag=0):
    options += b"\x00" * (-len(options) % 4)
    ihl = 5 + len(options) // 4
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(l4), 0x1234, frag, 64,
                       proto, 0, SRC4, DST4) + options + l4


def ipv6(nh, rest):
    return struct.pack("!IHBB16s16s", 0x60000000, len(rest), nh, 64, SRC6, DST6) + rest


def ext(nh, body=b""):
    body += b"\x00" * (-(len(body) + 2) % 8)
    return bytes([nh, (len(body) + 2) // 8 - 1]) + body


def tcp(sport, dport, flags, opts=b"", payload=b""):
    opts += b"\x00" * (-len(opts) % 4)
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, (5 + len(opts) // 4) << 4, flags,
                       64240, 0, 0) + opts + payload


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(t, c, rest=0, body=b""):
    return struct.pack("!BBHI", t, c, 0, rest) + body


SEEDS = {
    "v4_tcp_syn_opts": ipv4(6, tcp(40312, 21, 0x02, b"\x02\x04\x05\xb4\x01\x03\x03\x07\x04\x02")),
    "v4_tcp_ftp_data": ipv4(6, tcp(40312, 21, 0x18, b"", b"PORT 198,18,1,2,157,40\r\n")),
    "v4_udp_opts": ipv4(17, udp(5060, 5060, b"INVITE sip:x SIP/2.0\r\n"), b"\x94\x04\x00\x00"),
    "v4_icmp_echo": ipv4(1, icmp(8, 0, 0x42420001, b"ping")),
    "v4_icmp_unreach": ipv4(1, icmp(3, 3, 0, ipv4(17, udp(69, 4000, b"ab"))[:28])),
    "v4_gre_v1": ipv4(47, struct.pack("!HHHHI", 0x3081, 0x880b, 2, 0x1abc, 7) + b"\xff\x03"),
    "v4_gre_v0_key": ipv4(47, struct.pack("!HHI", 0x2000, 0x0800, 99) + b"\x45\x00"),
    "v4_esp": ipv4(50, struct.pack("!II", 0x1000, 1) + b"\xaa" * 8),
    "v4_frag_first": ipv4(17, udp(4000, 69, b"x" * 40)[:24], frag=0x2000),
    "v4_frag_last": ipv4(17, b"y" * 24, frag=3),
    "v6_tcp_ext": ipv6(0, ext(60, b"\x05\x02\x00\x00") + ext(6) + tcp(33000, 80, 0x10)),
    "v6_icmpv6_ptb": ipv6(58, icmp(2, 0, 1280, ipv6(17, udp(1000, 2000, b"z" * 20))[:56])),
    "v6_frag": ipv6(44, struct.pack("!BBHI", 17, 0, 1, 0xabcdef01) + udp(7000, 7001, b"q" * 16)),
    "v6_ah_udp": ipv6(51, bytes([17, 4, 0, 0]) + struct.pack("!II", 0x11223344, 1) + b"\x00" * 12
                      + udp(1, 2)),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"wrote {len(SEEDS)} seeds to {OUT}")
