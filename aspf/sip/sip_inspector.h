#pragma once
#include <memory>

#include "aspf/inspector.h"

namespace fw::aspf::sip {

// The SIP ALG (RFC 3261 signalling, RFC 3264 SDP offer/answer): rewrites the
// translated party's address in the signalling and SDP under NAT, opens RTP and
// RTCP entries per media stream, keeps dialogs by Call-ID. aspf/sip/README.md.
std::unique_ptr<Inspector> make_inspector();

}  // namespace fw::aspf::sip
