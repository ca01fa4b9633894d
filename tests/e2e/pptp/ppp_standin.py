#!/usr/bin/python3
"""A stand-in for pppd at both ends of a PPTP call (this kernel has no PPP).

Both pptp-linux's GRE gateway and pptpd's pptpctrl exchange asynchronous HDLC-framed PPP (RFC 1662:
0x7e flags, 0x7d escapes, FCS-16) with "pppd" over a byte stream, and carry each frame in GRE.
This program speaks that framing, sends recognisable frames and logs every frame it receives.

  ppp_standin.py server --logdir DIR [--interval S] [--lifetime S] [-- pppd args...]
      Run by pptpd (-e, through a wrapper that adds --logdir) for each call, with the pty slave on
      stdin/stdout. Logs to DIR/server-PID.log. Sends "hello-from-server-PID seq K" every interval
      and answers each received payload P with "echo:P". (It must speak first: pptpctrl reads
      GRE only once its pppd has written something.)
  ppp_standin.py client --name N --log FILE [--interval S] [--lifetime S] -- pptp ARGS...
      Starts "pptp ARGS... --nolaunchpppd" with one end of a socketpair as its stdin (pptp reads
      and writes PPP on fd 0), sends "hello-from-client-N seq K" every interval and logs what
      comes back. On SIGTERM it sends SIGTERM to pptp (pptp-linux 1.10 then sends
      Call-Clear-Request and closes the control connection's TCP, with no
      Stop-Control-Connection-Request), waits for it and exits.

Log lines: "START ...", "PPTP_PID n", "SENT <payload>" (first few only), "RECV <payload>",
"BADFCS n", "EXIT ...". Payloads are ASCII.
"""
import argparse
import os
import select
import signal
import socket
import subprocess
import sys
import termios
import time
import tty


def _fcs_table():
    tab = []
    for b in range(256):
        v = b
        for _ in range(8):
            v = (v >> 1) ^ 0x8408 if v & 1 else v >> 1
        tab.append(v)
    return tab


FCS_TAB = _fcs_table()
FCS_GOOD = 0xF0B8
PPP_PROTO = b"\x00\x21"   # the frames carry text, labelled IPv4; nothing on the path looks inside


def fcs16(data, fcs=0xFFFF):
    for b in data:
        fcs = (fcs >> 8) ^ FCS_TAB[(fcs ^ b) & 0xFF]
    return fcs


def hdlc_encode(payload):
    frame = b"\xff\x03" + PPP_PROTO + payload
    f = fcs16(frame) ^ 0xFFFF
    frame += bytes([f & 0xFF, f >> 8])
    out = bytearray(b"\x7e")
    for b in frame:
        if b < 0x20 or b in (0x7D, 0x7E):
            out += bytes([0x7D, b ^ 0x20])
        else:
            out.append(b)
    out.append(0x7E)
    return bytes(out)


class Deframer:
    def __init__(self):
        self.buf = bytearray()
        self.bad = 0

    def feed(self, data):
        """Returns the payloads (after address/control/protocol) of the complete frames."""
        self.buf += data
        out = []
        while True:
            i = self.buf.find(b"\x7e")
            if i < 0:
                break
            raw = bytes(self.buf[:i])
            del self.buf[: i + 1]
            if not raw:
                continue
            frame = bytearray()
            esc = False
            for b in raw:
                if esc:
                    frame.append(b ^ 0x20)
                    esc = False
                elif b == 0x7D:
                    esc = True
                else:
                    frame.append(b)
            if len(frame) < 4 or fcs16(frame) != FCS_GOOD:
                self.bad += 1
                continue
            frame = bytes(frame[:-2])
            if frame[:2] == b"\xff\x03":
                frame = frame[2:]
            # Protocol field: one byte when compressed (odd), else two.
            frame = frame[1:] if frame[:1] and frame[0] & 1 else frame[2:]
            out.append(frame)
        if len(self.buf) > 65536:   # no flag in 64 KiB: garbage, start over
            self.buf.clear()
        return out


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def __call__(self, *words):
        self.f.write("%.3f %s\n" % (time.time(), " ".join(str(w) for w in words)))


def printable(p):
    return p.decode("ascii", "backslashreplace")


def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


def pump(log, rfd, wfd, hello, interval, lifetime, echo, stop):
    """Sends hello(seq) every interval, logs received payloads (echoing them if asked) until
    EOF, stop() or lifetime. Returns why it ended."""
    de = Deframer()
    seq = 0
    next_send = time.monotonic()
    end = time.monotonic() + lifetime
    while not stop():
        now = time.monotonic()
        if now >= end:
            return "lifetime"
        if now >= next_send:
            msg = hello(seq)
            try:
                write_all(wfd, hdlc_encode(msg))
            except OSError as e:
                return "write: %s" % e
            if seq < 3:
                log("SENT", printable(msg))
            seq += 1
            next_send = now + interval
        try:
            r, _, _ = select.select([rfd], [], [], max(0.0, min(next_send, end) - now))
        except InterruptedError:
            continue
        if not r:
            continue
        try:
            data = os.read(rfd, 65536)
        except OSError as e:   # EIO: the pty's other side closed
            return "read: %s" % e
        if not data:
            return "eof"
        bad = de.bad
        for p in de.feed(data):
            log("RECV", printable(p))
            if echo and not p.startswith(b"echo:"):
                try:
                    write_all(wfd, hdlc_encode(b"echo:" + p))
                except OSError as e:
                    return "write: %s" % e
        if de.bad != bad:
            log("BADFCS", de.bad)
    return "signal"


def run_server(a):
    os.makedirs(a.logdir, exist_ok=True)
    log = Log(os.path.join(a.logdir, "server-%d.log" % os.getpid()))
    log("START server pid", os.getpid(), "args", " ".join(a.rest))
    # pppd would put its tty in raw mode: no echo, no line editing, 8 bit clean.
    for fd in (0, 1):
        try:
            tty.setraw(fd, termios.TCSANOW)
        except termios.error:
            pass
    stopped = []
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, lambda n, f: stopped.append(n))
    me = os.getpid()
    why = pump(log, 0, 1, lambda k: b"hello-from-server-%d seq %d" % (me, k), a.interval,
               a.lifetime, True, lambda: bool(stopped))
    log("EXIT", why)
    return 0


def run_client(a):
    log = Log(a.log)
    cmd = list(a.rest)
    if not cmd:
        log("EXIT no pptp command")
        return 2
    if "--nolaunchpppd" not in cmd:
        cmd.append("--nolaunchpppd")
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    log("START client", a.name, "cmd", " ".join(cmd))
    errf = open(a.log + ".stderr", "ab")
    proc = subprocess.Popen(cmd, stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=errf,
                            close_fds=True)
    theirs.close()
    log("PPTP_PID", proc.pid)
    stopped = []
    signal.signal(signal.SIGTERM, lambda n, f: stopped.append(n))
    signal.signal(signal.SIGINT, lambda n, f: stopped.append(n))
    name = a.name.encode()
    why = pump(log, mine.fileno(), mine.fileno(),
               lambda k: b"hello-from-client-%s seq %d" % (name, k), a.interval, a.lifetime,
               False, lambda: bool(stopped) or proc.poll() is not None)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3)
    mine.close()
    log("EXIT", why, "pptp rc", proc.returncode)
    return 0 if why in ("signal", "lifetime") and proc.returncode == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "client"])
    ap.add_argument("--logdir")
    ap.add_argument("--log")
    ap.add_argument("--name", default="1")
    ap.add_argument("--interval", type=float, default=0.3)
    ap.add_argument("--lifetime", type=float, default=120.0)
    # Everything after the first "--" is passed through untouched (pppd's arguments for the
    # server, the pptp command line for the client).
    argv = sys.argv[1:]
    rest = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    a = ap.parse_args(argv)
    a.rest = rest
    if a.role == "server":
        if not a.logdir:
            ap.error("server needs --logdir")
        return run_server(a)
    if not a.log:
        ap.error("client needs --log")
    return run_client(a)


if __name__ == "__main__":
    sys.exit(main())
