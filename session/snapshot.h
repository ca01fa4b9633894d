#pragma once
// The data plane's state saved across a planned restart of the daemon, and
// its file format. Pure: structs in, bytes out and back; decoding checks every
// read against the input and never throws or asserts, so any byte string gives
// either a Snapshot or a DecodeError.
//
// Interned ids (policy rule, zones, application, ALG, no-PAT group) are only
// valid inside the process that interned them, so they travel as names. Times
// are the monotonic clock's: a file is only good for the boot that wrote it,
// which is why it carries the kernel's boot id.
//
// Layout (integers little-endian, strings as u16 length + bytes):
//   magic "FWSTATE\n" | u32 version | boot id | u64 saved_ms
//   | u32 n, n names (index 0 is implicitly the empty name; refs are u32)
//   | u32 n, n sessions | u32 n, n server-map entries | u32 CRC-32 of all before it
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "session/seq_adjust.h"
#include "session/server_map.h"
#include "session/session.h"

namespace fw::session::snapshot {

// Version 2 ("synproxy" area): a session also carries the SYN proxy's state (Session::proxy,
// proxy_wscale, proxy_seq). Version 1 files (without it) are still read.
inline constexpr uint32_t kVersion = 2;
inline constexpr uint32_t kOldestVersion = 1;
inline constexpr std::array<uint8_t, 8> kMagic = {'F', 'W', 'S', 'T', 'A', 'T', 'E', '\n'};

// An ALG control session's sequence state, per direction (session::Dir): the
// seq/ack adjustment and the rewrites still applied to retransmissions.
struct AlgRewrite {
  uint32_t pos = 0;  // original seq of the first replaced byte
  std::vector<uint8_t> old_bytes, new_bytes;
};
struct AlgDirection {
  SeqAdjust::Saved adjust;
  std::vector<AlgRewrite> rewrites;
  bool have_end = false;    // stream_end is known
  uint32_t stream_end = 0;  // sender's seq just after the newest byte inspected
};
struct AlgState {
  std::array<AlgDirection, 2> dirs;
};

struct SavedSession {
  // As in the table, except the interned fields (policy, app, src_zone,
  // dst_zone, alg, nat.group), aging and alg_data, which are zero here: the
  // names below stand for them.
  Session s;
  std::string policy, app, src_zone, dst_zone, alg, nat_group;
  std::optional<AlgState> alg_state;  // ALG control sessions that had inspected data
};

struct SavedEntry {
  ServerMapEntry e;  // zone and alg are zero here: the names stand for them
  std::string alg, zone;
};

struct Snapshot {
  std::string boot_id;
  uint64_t saved_ms = 0;  // the data plane's clock when saved
  std::vector<SavedSession> sessions;
  std::vector<SavedEntry> entries;
};

enum class Error : uint8_t { kTruncated, kBadMagic, kBadVersion, kBadChecksum, kMalformed };
std::string_view error_name(Error e);

struct DecodeError {
  Error error = Error::kMalformed;
  std::string detail;  // what and where, for the log
};

std::vector<uint8_t> encode(const Snapshot& snap);
std::variant<Snapshot, DecodeError> decode(std::span<const uint8_t> bytes);

// CRC-32 (IEEE 802.3, as zlib's crc32) of `bytes`.
uint32_t crc32(std::span<const uint8_t> bytes);

}  // namespace fw::session::snapshot
