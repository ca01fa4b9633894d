#pragma once
#include <memory>

#include "aspf/inspector.h"

namespace fw::aspf::ftp {

// The FTP ALG: PORT/EPRT from the client, 227/229 from the server.
std::unique_ptr<Inspector> make_inspector();

// Framer for CR LF lines (shared by line-based ALGs).
std::unique_ptr<Framer> make_line_framer(size_t max_line);

}  // namespace fw::aspf::ftp
