// libFuzzer target for session/snapshot.*: decode() of arbitrary bytes. The
// first byte picks the form: odd - the rest is a whole state file (magic,
// version, length and checksum checks); even - the rest is the content after
// the header, sealed here with a right header and checksum so mutations reach
// the record parser instead of dying at the checksum. Besides ASan/UBSan it
// traps when a promise is broken: whatever decodes re-encodes to a file that
// decodes again and encodes identically, and any saved sequence state either
// loads into a SeqAdjust or is refused - never crashes one.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "session/seq_adjust.h"
#include "session/snapshot.h"

namespace {

namespace snap = fw::session::snapshot;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::vector<uint8_t> sealed(std::span<const uint8_t> content) {
  std::vector<uint8_t> b(snap::kMagic.begin(), snap::kMagic.end());
  auto put = [&b](uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put(snap::kVersion, 4);
  put(b.size() + 8 + content.size() + 4, 8);
  b.insert(b.end(), content.begin(), content.end());
  put(snap::crc32(b), 4);
  return b;
}

void exercise_adjust(const snap::Snapshot& sn) {
  for (const auto& ss : sn.sessions) {
    if (!ss.alg_state) continue;
    for (const auto& d : ss.alg_state->dirs) {
      fw::session::SeqAdjust a;
      if (!a.load(d.adjust)) continue;
      // A loaded state maps and goes on like any other.
      for (const auto& e : d.adjust.entries) {
        (void)a.map_seq(e.pos);
        (void)a.unmap(e.pos_after, fw::session::SeqAdjust::Round::kUp);
        (void)a.unmap(e.pos);
      }
      a.record(d.adjust.last_end + 10, 3, 7);
      (void)a.map_seq(d.adjust.last_end + 20);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> rest(data + 1, size - 1);
  const std::vector<uint8_t> file =
      (data[0] & 1) ? std::vector<uint8_t>(rest.begin(), rest.end()) : sealed(rest);
  auto r = snap::decode(file);
  if (auto* e = std::get_if<snap::DecodeError>(&r)) {
    check(!e->detail.empty());
    // A sealed file never fails the header checks.
    if (!(data[0] & 1)) check(e->error == snap::Error::kMalformed);
    return 0;
  }
  const auto& sn = std::get<snap::Snapshot>(r);
  exercise_adjust(sn);
  const std::vector<uint8_t> again = snap::encode(sn);
  auto r2 = snap::decode(again);
  check(std::holds_alternative<snap::Snapshot>(r2));
  check(snap::encode(std::get<snap::Snapshot>(r2)) == again);
  return 0;
}
