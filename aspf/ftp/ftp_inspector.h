#pragma once
#include <memory>

#include "aspf/inspector.h"

namespace fw::aspf::ftp {

// The FTP ALG: PORT/EPRT from the client, 227/229 from the server.
std::unique_ptr<Inspector> make_inspector();

}  // namespace fw::aspf::ftp
