#pragma once
// Application identification: the first payload bytes of a flow (with its protocol, ports and
// the direction they travel) -> the application protocol they are, whatever the port. Pure code:
// bytes in, a verdict out; no state, no allocation, no I/O.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace fw::appid {

// The applications this identifier knows. kNone is "no application" (not identified).
// The order is the display order of `?` and the value carried by sessions: append only.
enum class App : uint8_t {
  kNone = 0,
  kFtp,
  kSip,
  kRtsp,
  kPptp,
  kL2tp,
  kIke,
  kTftp,
  kHttp,
  kTls,
  kSsh,
  kDns,
  kEsp,  // IPsec ESP and AH: identified by their IP protocol (50, 51) on the first packet
  kAh,
  kCount
};

// "ftp", "sip", ... ("" for kNone or out of range).
std::string_view name(App a);
// A line of help for `?` ("" for kNone or out of range).
std::string_view description(App a);
// The application of a name (exact, lower case), or nullopt.
std::optional<App> by_name(std::string_view n);

enum class Outcome : uint8_t {
  kUndecided,       // too few bytes to tell: look at the next payload packet
  kIdentified,      // `app` says what it is
  kUnidentifiable,  // enough bytes, and none of the known protocols
};

struct Result {
  Outcome outcome = Outcome::kUndecided;
  App app = App::kNone;
  bool operator==(const Result&) const = default;
};

struct Input {
  uint8_t proto = 0;  // IP protocol (6 TCP, 17 UDP, 50 ESP, 51 AH; anything else: unidentifiable)
  uint16_t sport = 0, dport = 0;  // of this packet
  bool from_initiator = true;     // sent by the side that opened the flow
  std::span<const uint8_t> payload;
};

// One payload packet of a flow. An empty payload is undecided.
Result identify(const Input& in);

}  // namespace fw::appid
