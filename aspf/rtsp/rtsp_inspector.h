#pragma once
#include <memory>

#include "aspf/inspector.h"

namespace fw::aspf::rtsp {

// The RTSP ALG: SETUP / its reply open the media (RTP + RTCP over UDP) back to
// the client; TEARDOWN and the end of the control session close them.
std::unique_ptr<Inspector> make_inspector();

}  // namespace fw::aspf::rtsp
