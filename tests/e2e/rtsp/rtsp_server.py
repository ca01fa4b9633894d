#!/usr/bin/python3
"""A small RTSP server for the e2e tests (gst-rtsp-server through python3-gi).

  rtsp_server.py ADDRESS PORT

Mounts (live test sources, nothing to encode):
  /video  one stream: videotestsrc, raw 160x120 I420 at 10 fps -> RTP (pt 96, RFC 4175)
  /av     two streams in one session: the video above and audiotestsrc -> A-law -> RTP (pt 8)
Media go over UDP (or interleaved if a client asks). Prints "listening" once bound.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

VIDEO = ("videotestsrc is-live=true ! video/x-raw,format=I420,width=160,height=120,framerate=10/1 "
         "! rtpvrawpay name=pay0 pt=96")
AUDIO = ("audiotestsrc is-live=true ! audio/x-raw,rate=8000,channels=1 ! alawenc "
         "! rtppcmapay name=pay1 pt=8")


def factory(launch):
    f = GstRtspServer.RTSPMediaFactory()
    f.set_launch("( " + launch + " )")
    f.set_shared(False)
    return f


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: rtsp_server.py ADDRESS PORT")
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(sys.argv[1])
    server.set_service(sys.argv[2])
    mounts = server.get_mount_points()
    mounts.add_factory("/video", factory(VIDEO))
    mounts.add_factory("/av", factory(VIDEO + " " + AUDIO))
    if server.attach(None) == 0:
        sys.exit("cannot bind %s:%s" % (sys.argv[1], sys.argv[2]))
    print("listening", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
