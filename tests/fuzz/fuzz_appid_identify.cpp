// libFuzzer target for appid/identify: the input is a header byte (protocol, direction, port
// choice) and one payload. Besides ASan/UBSan it traps when a promise of identify.h is broken:
//  - an identified result names an application (name() not empty), any other names none;
//  - the verdict does not depend on anything but the input (same call twice, same result);
//  - a UDP datagram is never undecided unless empty (a datagram is whole);
//  - for TCP, a cut of an identified payload is undecided, unidentifiable or the same
//    application: a segment boundary never makes it claim another.
#include <cstddef>
#include <cstdint>
#include <span>

#include "appid/identify.h"

namespace {

using fw::appid::App;
using fw::appid::identify;
using fw::appid::Input;
using fw::appid::Outcome;
using fw::appid::Result;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr uint16_t kPorts[] = {21,  22,   53,   69,   80,   443,  500,
                               554, 1701, 1723, 4500, 5060, 8000, 40000};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t h = data[0];
  Input in;
  in.proto = (h & 1) ? 17 : (h & 2) ? 6 : static_cast<uint8_t>(h >> 2);
  in.from_initiator = (h & 4) != 0;
  in.sport = kPorts[(h >> 3) % std::size(kPorts)];
  in.dport = kPorts[(h >> 4) % std::size(kPorts)];
  in.payload = std::span<const uint8_t>(data + 1, size - 1);
  const Result r = identify(in);
  check(r.outcome < Outcome::kUnidentifiable || r.outcome == Outcome::kUnidentifiable);
  check((r.outcome == Outcome::kIdentified) == !fw::appid::name(r.app).empty());
  check(r.outcome == Outcome::kIdentified || r.app == App::kNone);
  check(identify(in) == r);
  if (in.proto == 17 && !in.payload.empty()) check(r.outcome != Outcome::kUndecided);
  if (in.proto == 6 && r.outcome == Outcome::kIdentified && in.payload.size() > 1) {
    Input cut = in;
    cut.payload = in.payload.first(in.payload.size() / 2 + 1);
    const Result c = identify(cut);
    check(c.outcome != Outcome::kIdentified || c.app == r.app);
  }
  return 0;
}
