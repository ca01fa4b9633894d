#pragma once
#include <memory>

#include "aspf/inspector.h"

namespace fw::aspf::pptp {

// The PPTP ALG: call-ID translation and GRE server-map entries.
std::unique_ptr<Inspector> make_inspector();

}  // namespace fw::aspf::pptp
