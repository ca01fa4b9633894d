// The fwcli <-> fwd message decoders on arbitrary bytes (every version, the version 4 piece
// included): never a crash, and what decodes re-encodes to exactly the same bytes (one encoding
// per message).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ipc/ipc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (auto r = fw::ipc::decode_response(bytes)) {
    if (fw::ipc::encode(*r) != bytes) std::abort();
  }
  if (auto q = fw::ipc::decode_request(bytes)) {
    if (fw::ipc::encode(*q) != bytes) std::abort();
  }
  return 0;
}
