#!/usr/bin/python3
"""Small traffic peers for the end-to-end tests (standard library only).

  peer.py tcp-server --bind ADDR --port P          echo every line back (threads, one per client)
  peer.py udp-server --bind ADDR --port P          echo every datagram back
  peer.py tcp-client --to ADDR --port P [--src-port S] [--interval 0.3] [--timeout 2]
                     [--duration 60] [--status FILE]
        A long-lived flow that needs a round trip per step: sends "ping N", waits for the echo.
        Writes the number of completed round trips to FILE after each one. Exits 0 after
        --duration seconds, 3 ("STALL") when an echo does not come within --timeout,
        4 when the connection breaks, 2 when it cannot connect.
  peer.py udp-client --to ADDR --port P [--count 20] [--timeout 1] [--src-port S]
        Sends COUNT datagrams one by one; prints "received R of COUNT"; exit 0 if R == COUNT,
        1 if 0 < R < COUNT, 3 if none came back.
"""
import argparse
import os
import socket
import sys
import threading
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def tcp_server(a):
    s = socket.socket(family(a.bind), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(64)

    def serve(c):
        with c:
            f = c.makefile("rwb", buffering=0)
            for line in f:
                f.write(line)

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def udp_server(a):
    s = socket.socket(family(a.bind), socket.SOCK_DGRAM)
    s.bind((a.bind, a.port))
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)


def write_status(path, text):
    if path:
        with open(path + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(path + ".tmp", path)


def tcp_client(a):
    s = socket.socket(family(a.to), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.src_port:
        s.bind(("::" if ":" in a.to else "0.0.0.0", a.src_port))
    s.settimeout(5)
    try:
        s.connect((a.to, a.port))
    except OSError as e:
        print("CONNECT-FAILED", e, flush=True)
        write_status(a.status, "connect-failed")
        return 2
    s.settimeout(a.timeout)
    f = s.makefile("rwb", buffering=0)
    end = time.monotonic() + a.duration
    n = 0
    write_status(a.status, "0")
    while time.monotonic() < end:
        msg = b"ping %d\n" % n
        try:
            f.write(msg)
            got = f.readline()
        except socket.timeout:
            print("STALL after", n, flush=True)
            write_status(a.status, "stall %d" % n)
            return 3
        except OSError as e:
            print("BROKEN after", n, e, flush=True)
            write_status(a.status, "broken %d" % n)
            return 4
        if got != msg:
            print("BROKEN after", n, "(closed)", flush=True)
            write_status(a.status, "broken %d" % n)
            return 4
        n += 1
        write_status(a.status, str(n))
        time.sleep(a.interval)
    print("DONE", n, flush=True)
    write_status(a.status, "done %d" % n)
    return 0


def udp_client(a):
    s = socket.socket(family(a.to), socket.SOCK_DGRAM)
    if a.src_port:
        s.bind(("::" if ":" in a.to else "0.0.0.0", a.src_port))
    s.settimeout(a.timeout)
    got = 0
    for i in range(a.count):
        msg = b"udp %d" % i
        s.sendto(msg, (a.to, a.port))
        try:
            while True:
                data, _ = s.recvfrom(65535)
                if data == msg:
                    got += 1
                    break
        except socket.timeout:
            pass
    print("received %d of %d" % (got, a.count), flush=True)
    return 0 if got == a.count else (1 if got else 3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["tcp-server", "udp-server", "tcp-client", "udp-client"])
    p.add_argument("--bind")
    p.add_argument("--to")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--src-port", type=int, default=0)
    p.add_argument("--interval", type=float, default=0.3)
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--status")
    a = p.parse_args()
    fn = {"tcp-server": tcp_server, "udp-server": udp_server,
          "tcp-client": tcp_client, "udp-client": udp_client}[a.mode]
    sys.exit(fn(a) or 0)


if __name__ == "__main__":
    main()
