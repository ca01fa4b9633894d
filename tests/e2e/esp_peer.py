#!/usr/bin/python3
"""ESP packets over raw sockets (the kernel here has no ESP of its own: CONFIG_INET_ESP is off),
for test_esp_spi.sh ("spi" area). Bounded in time; never sends to anything but its argument.

  esp_peer.py listen LOG SECONDS          log "rx SRC 0xSPI" for every ESP packet received
  esp_peer.py respond LOG SECONDS IN OUT  answer each packet of SPI IN with one of SPI OUT
  esp_peer.py send DST SPI COUNT          send COUNT ESP packets of SPI to DST
"""
import socket
import struct
import sys
import time

ESP = 50


def esp(spi, seq):
    return struct.pack("!II", spi, seq) + b"\x00" * 16 + b"opaque-payload"


def receive(log, seconds, on_packet):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, ESP)
    s.settimeout(0.2)
    end = time.monotonic() + seconds
    with open(log, "a", buffering=1) as out:
        out.write("ready\n")
        while time.monotonic() < end:
            try:
                pkt, (src, _) = s.recvfrom(65535)
            except socket.timeout:
                continue
            ihl = (pkt[0] & 0x0F) * 4
            if len(pkt) < ihl + 8:
                continue
            spi, seq = struct.unpack("!II", pkt[ihl : ihl + 8])
            out.write("rx %s 0x%08x\n" % (src, spi))
            on_packet(s, src, spi, seq)


def main():
    mode = sys.argv[1]
    if mode == "listen":
        receive(sys.argv[2], float(sys.argv[3]), lambda *a: None)
    elif mode == "respond":
        want, answer = int(sys.argv[4], 0), int(sys.argv[5], 0)

        def on_packet(s, src, spi, seq):
            if spi == want:
                s.sendto(esp(answer, seq), (src, 0))

        receive(sys.argv[2], float(sys.argv[3]), on_packet)
    elif mode == "send":
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, ESP)
        for i in range(int(sys.argv[4])):
            s.sendto(esp(int(sys.argv[3], 0), i + 1), (sys.argv[2], 0))
            time.sleep(0.02)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
