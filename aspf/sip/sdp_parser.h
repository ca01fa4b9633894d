#pragma once
// SDP session descriptions (RFC 8866, formerly 4566) as carried by SIP (RFC
// 3264 offer/answer). Pure: the bytes of one description in, a struct out, with
// the byte offsets (into those bytes) of every address and port an ALG may
// rewrite: o= address, c= at session and media level, m= ports, a=rtcp: port
// and address. Also what decides whether media needs pinholes: the direction
// attributes and ICE candidates (a=candidate, RFC 8839). Never throws.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fw::aspf::sip {

inline constexpr size_t kMaxMedia = 16;

enum class SdpError : uint8_t {
  kNotSdp,         // the first line is not v=0
  kBadLine,        // a line that is not "<letter>=<value>"
  kBadOrigin,      // o= without its six fields
  kBadConnection,  // c= not "<nettype> <addrtype> <address>[/ttl[/n]]"
  kBadMedia,       // m= not "<media> <port>[/<count>] <proto> <fmt> ..."
  kBadRtcp,        // a=rtcp: not "<port> [<nettype> <addrtype> <address>]"
  kTooManyMedia,   // more than kMaxMedia m= lines
};
inline constexpr size_t kSdpErrorCount = static_cast<size_t>(SdpError::kTooManyMedia) + 1;
std::string_view sdp_error_name(SdpError e);  // "not-sdp", "bad-line", ...

enum class Direction : uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };

// An address field: bytes [off, off+len) hold the address text alone (no /ttl).
struct SdpAddr {
  size_t off = 0, len = 0;
  std::string text;
  bool in = false;    // nettype IN
  bool ipv6 = false;  // addrtype IP6
  bool operator==(const SdpAddr&) const = default;
};

// A port field: bytes [off, off+len) are its digits.
struct SdpPort {
  size_t off = 0, len = 0;
  uint16_t value = 0;
  bool operator==(const SdpPort&) const = default;
};

struct Media {
  std::string type;  // audio, video, ...
  SdpPort port;      // 0 = rejected / disabled stream
  uint16_t count = 1;
  std::string proto;            // RTP/AVP, ...
  std::optional<SdpAddr> conn;  // media-level c=
  std::optional<SdpPort> rtcp;  // a=rtcp: port (RFC 3605)
  std::optional<SdpAddr> rtcp_addr;
  std::optional<Direction> dir;
  bool candidate = false;
};

struct Sdp {
  std::optional<SdpAddr> origin;  // o= unicast-address
  std::optional<SdpAddr> conn;    // session-level c=
  std::optional<Direction> dir;   // session-level attribute
  bool candidate = false;         // any a=candidate
  std::vector<Media> media;

  const SdpAddr* address(const Media& m) const;  // media c=, else session c=, else null
  Direction direction(const Media& m) const;     // media, else session, else sendrecv
};

struct SdpResult {
  std::optional<Sdp> sdp;
  std::optional<SdpError> error;  // exactly one of the two is set
};

SdpResult parse_sdp(std::span<const uint8_t> bytes);

}  // namespace fw::aspf::sip
