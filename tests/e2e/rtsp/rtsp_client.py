#!/usr/bin/python3
"""An RTSP client for the e2e tests: GStreamer's rtspsrc, media over UDP only.

  rtsp_client.py URL SECONDS

Plays URL for SECONDS, counting the RTP buffers each stream delivers, then stops the
pipeline (rtspsrc sends TEARDOWN) and prints one line per stream, "video N" / "audio N",
then "streams K". nat-method=none: rtspsrc does not send its "dummy" packets to the
server's ports first, so it does not open a NAT mapping of its own: the media can only
come in through what the firewall's RTSP ALG opened.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: rtsp_client.py URL SECONDS")
    Gst.init(None)
    counts = {}
    pipe = Gst.Pipeline.new("client")
    src = Gst.ElementFactory.make("rtspsrc")
    src.set_property("location", sys.argv[1])
    src.set_property("protocols", "udp")
    src.set_property("nat-method", "none")
    src.set_property("latency", 0)
    pipe.add(src)

    def on_buffer(pad, info, kind):
        counts[kind] = counts.get(kind, 0) + 1
        return Gst.PadProbeReturn.OK

    def on_pad(_src, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        kind = caps.get_structure(0).get_string("media") or "unknown"
        counts.setdefault(kind, 0)
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        pipe.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        pad.add_probe(Gst.PadProbeType.BUFFER, on_buffer, kind)

    src.connect("pad-added", on_pad)
    loop = GLib.MainLoop()

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, _ = msg.parse_error()
            print("error:", err.message, flush=True)
        return True

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipe.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(float(sys.argv[2]) * 1000), loop.quit)
    loop.run()
    pipe.set_state(Gst.State.NULL)  # TEARDOWN
    for kind in sorted(counts):
        print(kind, counts[kind], flush=True)
    print("streams", len(counts), flush=True)


if __name__ == "__main__":
    main()
