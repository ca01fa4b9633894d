#pragma once
// A state file as version 1 of session/snapshot (before the SYN proxy's fields) wrote it, for the
// tests that check an older fwd's file still loads.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "session/snapshot.h"

namespace fw::session::testing {

// From a current encoding of `sn` (sessions without ALG state, no server-map entries): each
// session's 6 proxy bytes removed, the version, the total length and the CRC rewritten. Only
// for one session (the proxy bytes are found from the end of the file).
inline std::vector<uint8_t> as_version_one(const snapshot::Snapshot& sn) {
  auto v2 = snapshot::encode(sn);
  std::vector<uint8_t> v1(v2.begin(), v2.end() - 4);  // without the CRC
  const size_t alg_flag = v1.size() - 1 - 4;          // then the (empty) entry count
  v1.erase(v1.begin() + static_cast<ptrdiff_t>(alg_flag - 6),
           v1.begin() + static_cast<ptrdiff_t>(alg_flag));
  v1[8] = 1;
  const uint64_t total = v1.size() + 4;
  for (size_t i = 0; i < 8; ++i) v1[12 + i] = static_cast<uint8_t>(total >> (8 * i));
  const uint32_t crc = snapshot::crc32(v1);
  for (size_t i = 0; i < 4; ++i) v1.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  return v1;
}

}  // namespace fw::session::testing
