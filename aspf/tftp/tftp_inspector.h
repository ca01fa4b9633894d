#pragma once
#include <memory>

#include "aspf/inspector.h"

namespace fw::aspf::tftp {

// The TFTP ALG: a read or write request opens the way for the server's answer,
// which comes from a new port of the server to the client's port.
std::unique_ptr<Inspector> make_inspector();

}  // namespace fw::aspf::tftp
