#pragma once
// The application name shown in front of a session ("http", "ftp", "tcp"),
// chosen from the protocol and the server port when the session is created.
#include <cstdint>
#include <string_view>

#include "session/session.h"

namespace fw::fwd {

session::AppId app_for(uint8_t proto, uint16_t dport);
std::string_view app_name(session::AppId id);
// nullopt-like: returns 0xff if the name is unknown.
session::AppId app_by_name(std::string_view name);

}  // namespace fw::fwd
