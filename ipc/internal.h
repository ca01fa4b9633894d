#pragma once
// Helpers shared by the ipc/ sources; not part of the interface (ipc.h).
#include <sys/un.h>

#include <cstdint>
#include <optional>
#include <string>

#include "ipc/ipc.h"

namespace fw::ipc::internal {

constexpr size_t kHeaderSize = 4;

uint32_t get_u32(const unsigned char* p);
void put_u32(std::string* out, uint32_t v);
// The length header followed by the payload.
std::string framed(const std::string& payload);
// Response{ok=false, output=text}: how every limit answers.
// The last frame of a connection the server closes (see Closing).
std::string encoded_closing(const std::string& text, Closing why);

std::optional<unsigned> group_id(const std::string& name);
bool fill_sockaddr(const std::string& path, sockaddr_un* sa, std::string* err);
std::string errno_text(const std::string& what);

}  // namespace fw::ipc::internal
