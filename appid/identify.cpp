#include "appid/identify.h"

#include <array>
#include <cstddef>

namespace fw::appid {

namespace {

using Bytes = std::span<const uint8_t>;

constexpr uint8_t kTcp = 6, kUdp = 17, kEsp = 50, kAh = 51;

struct Known {
  std::string_view name, help;
};
// By App value; kNone first.
constexpr std::array<Known, static_cast<size_t>(App::kCount)> kApps{{
    {"", ""},
    {"ftp", "File Transfer Protocol (control channel)"},
    {"sip", "Session Initiation Protocol (UDP or TCP)"},
    {"rtsp", "Real Time Streaming Protocol"},
    {"pptp", "Point-to-Point Tunneling Protocol (control channel)"},
    {"l2tp", "Layer 2 Tunneling Protocol (control messages over UDP)"},
    {"ike", "IPsec key exchange (IKE, and IPsec NAT traversal on UDP 4500)"},
    {"tftp", "Trivial File Transfer Protocol (read and write requests)"},
    {"http", "Hypertext Transfer Protocol"},
    {"tls", "Transport Layer Security (ClientHello)"},
    {"ssh", "Secure Shell"},
    {"dns", "Domain Name System (UDP)"},
    {"esp", "IPsec Encapsulating Security Payload (IP protocol 50)"},
    {"ah", "IPsec Authentication Header (IP protocol 51)"},
}};

constexpr Result kUndecided{Outcome::kUndecided, App::kNone};
constexpr Result kUnknown{Outcome::kUnidentifiable, App::kNone};
constexpr Result found(App a) { return {Outcome::kIdentified, a}; }

uint16_t be16(Bytes b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
uint32_t be32(Bytes b, size_t at) {
  return static_cast<uint32_t>(be16(b, at)) << 16 | be16(b, at + 2);
}

bool starts(Bytes b, std::string_view s) {
  if (b.size() < s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (b[i] != static_cast<uint8_t>(s[i])) return false;
  }
  return true;
}

// How far `b` agrees with `s`: the whole of s (true), or b is a proper prefix of s (partial).
enum class Prefix { kNo, kPartial, kYes };
Prefix prefix_of(Bytes b, std::string_view s) {
  size_t n = b.size() < s.size() ? b.size() : s.size();
  for (size_t i = 0; i < n; ++i) {
    if (b[i] != static_cast<uint8_t>(s[i])) return Prefix::kNo;
  }
  return n == s.size() ? Prefix::kYes : Prefix::kPartial;
}

// A request method: upper-case letters, '-' and '_' (M-SEARCH).
bool is_method_char(uint8_t c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

// The longest request line looked at: past it without a line end, the flow is not text we know.
constexpr size_t kMaxLine = 2048;

// Text protocols: "METHOD SP URI SP PROTO/x.y CRLF" (request) or "PROTO/x.y SP" (response).
Result by_version(Bytes v) {
  if (starts(v, "HTTP/1.") || starts(v, "HTTP/2")) return found(App::kHttp);
  if (starts(v, "RTSP/1.") || starts(v, "RTSP/2.")) return found(App::kRtsp);
  if (starts(v, "SIP/2.0")) return found(App::kSip);
  return kUnknown;
}

Result request_line(Bytes b) {
  size_t i = 0;
  while (i < b.size() && i < 32 && is_method_char(b[i])) ++i;
  if (i == 0) return kUnknown;
  if (i == b.size()) return b.size() < 32 ? kUndecided : kUnknown;
  if (b[i] != ' ') return kUnknown;
  // The line end: the version is its last word.
  size_t end = i + 1;
  while (end < b.size() && end < kMaxLine && b[end] != '\r' && b[end] != '\n') {
    if (b[end] < 0x20 || b[end] == 0x7f) return kUnknown;
    ++end;
  }
  if (end == b.size()) return end < kMaxLine ? kUndecided : kUnknown;
  if (end == kMaxLine) return kUnknown;
  size_t sp = end;
  while (sp > i + 1 && b[sp - 1] != ' ') --sp;
  if (sp <= i + 1) return kUnknown;  // one word after the method: no version
  return by_version(b.subspan(sp, end - sp));
}

// A text response or request of HTTP, RTSP or SIP.
Result text_protocol(Bytes b) {
  for (std::string_view v : {"HTTP/", "RTSP/", "SIP/"}) {
    switch (prefix_of(b, v)) {
      case Prefix::kYes:
        if (b.size() < v.size() + 4) return kUndecided;
        return by_version(b);
      case Prefix::kPartial:
        return kUndecided;
      case Prefix::kNo:
        break;
    }
  }
  return request_line(b);
}

// PPTP control message: length, message type 1 (control), magic cookie 0x1A2B3C4D.
Result pptp(Bytes b) {
  if (b.size() < 8) return kUndecided;
  uint16_t len = be16(b, 0);
  if (be16(b, 2) == 1 && be32(b, 4) == 0x1A2B3C4D && len >= 12) return found(App::kPptp);
  return kUnknown;
}

// The FTP server's greeting "220 " / "220-" (not an SMTP server's, which also says 220).
Result ftp_greeting(Bytes b) {
  if (b.size() < 4) return prefix_of(b, "220") == Prefix::kNo ? kUnknown : kUndecided;
  if (!starts(b, "220") || (b[3] != ' ' && b[3] != '-')) return kUnknown;
  size_t n = b.size() < 256 ? b.size() : 256;
  for (size_t i = 4; i + 4 <= n; ++i) {
    if (b[i] == 'S' && b[i + 1] == 'M' && b[i + 2] == 'T' && b[i + 3] == 'P') return kUnknown;
  }
  return found(App::kFtp);
}

// TLS record: handshake (22), version 3.x, then a ClientHello (1) or ServerHello (2).
Result tls(Bytes b) {
  if (b.size() < 6) return kUndecided;
  if (b[1] != 3 || b[2] > 4 || be16(b, 3) < 4) return kUnknown;
  return (b[5] == 1 || b[5] == 2) ? found(App::kTls) : kUnknown;
}

Result tcp(const Input& in) {
  Bytes b = in.payload;
  switch (prefix_of(b, "SSH-")) {
    case Prefix::kYes:
      return found(App::kSsh);
    case Prefix::kPartial:
      return kUndecided;
    case Prefix::kNo:
      break;
  }
  if (b[0] == 0x16) return tls(b);
  if (b[0] == 0) return pptp(b);  // a control message is shorter than 256 bytes
  if (!in.from_initiator && b[0] == '2') return ftp_greeting(b);
  return text_protocol(b);
}

// IKE header (RFC 2408 / RFC 7296): initiator SPI, responder SPI, next payload, version 1.0 or
// 2.0, an exchange type of either, and a length that is the datagram's.
bool ike_header(Bytes b) {
  if (b.size() < 28 || be32(b, 24) != b.size()) return false;
  if (be32(b, 0) == 0 && be32(b, 4) == 0) return false;  // the initiator's SPI is never 0
  const uint8_t version = b[17], exchange = b[18];
  if (version == 0x10) return (exchange >= 1 && exchange <= 6) || exchange == 32 || exchange == 33;
  if (version == 0x20) return exchange >= 34 && exchange <= 37;
  return false;
}

// UDP 4500 (IPsec NAT traversal, RFC 3948): IKE after the 4-byte non-ESP marker, a NAT-keepalive
// (one 0xFF byte), or ESP (a non-zero SPI and a sequence number).
bool nat_t(Bytes b) {
  if (b.size() == 1) return b[0] == 0xff;
  if (b.size() >= 4 && be32(b, 0) == 0) return ike_header(b.subspan(4));
  return b.size() >= 16 && be32(b, 0) != 0;
}

// L2TP control message (RFC 2661 / 3931): T, L and S set, O clear, version 2 or 3, and a length
// that is the datagram's.
bool l2tp_control(Bytes b) {
  if (b.size() < 12 || (b[0] & 0xcb) != 0xc8) return false;
  const uint8_t version = b[1] & 0x0f;
  return (version == 2 || version == 3) && be16(b, 2) == b.size();
}

bool ascii_equal_ci(Bytes b, std::string_view s) {
  if (b.size() != s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    uint8_t c = b[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c - 'A' + 'a');
    if (c != static_cast<uint8_t>(s[i])) return false;
  }
  return true;
}

// TFTP read or write request: opcode 1 or 2, a filename, a transfer mode, each zero-terminated.
bool tftp_request(Bytes b) {
  if (b.size() < 4 || b[0] != 0 || (b[1] != 1 && b[1] != 2)) return false;
  size_t i = 2;
  while (i < b.size() && b[i] != 0) {
    if (b[i] < 0x20 || b[i] == 0x7f) return false;
    ++i;
  }
  if (i == 2 || i >= b.size()) return false;
  const size_t mode = ++i;
  while (i < b.size() && b[i] != 0) ++i;
  if (i >= b.size()) return false;
  Bytes m = b.subspan(mode, i - mode);
  return ascii_equal_ci(m, "octet") || ascii_equal_ci(m, "netascii") || ascii_equal_ci(m, "mail");
}

// DNS message with one question: a header whose opcode is a query, status or notify, and a
// well-formed question (labels of at most 63 bytes, a name of at most 255, a known class).
bool dns_message(Bytes b) {
  if (b.size() < 17 || be16(b, 4) != 1) return false;
  const uint8_t opcode = (b[2] >> 3) & 0x0f;
  if (opcode != 0 && opcode != 2 && opcode != 4) return false;
  if ((b[2] & 0x80) == 0 && (be16(b, 6) != 0 || be16(b, 8) != 0)) return false;  // query
  size_t i = 12, name = 0;
  while (i < b.size() && b[i] != 0) {
    if (b[i] > 63) return false;
    name += b[i] + 1u;
    i += b[i] + 1u;
    if (name > 255) return false;
  }
  if (i == 12 || i + 5 > b.size()) return false;
  const uint16_t cls = be16(b, i + 3);
  return cls == 1 || cls == 3 || cls == 4 || cls == 254 || cls == 255;
}

bool sip_text(Bytes b) { return text_protocol(b) == found(App::kSip); }

Result udp(const Input& in) {
  Bytes b = in.payload;
  if (in.sport == 4500 || in.dport == 4500) {
    if (nat_t(b)) return found(App::kIke);
  }
  if (ike_header(b)) return found(App::kIke);
  if (l2tp_control(b)) return found(App::kL2tp);
  if (tftp_request(b)) return found(App::kTftp);
  if (sip_text(b)) return found(App::kSip);
  if (dns_message(b)) return found(App::kDns);
  return kUnknown;  // a datagram is whole: nothing more will come to complete it
}

}  // namespace

std::string_view name(App a) {
  auto i = static_cast<size_t>(a);
  return i < kApps.size() ? kApps[i].name : std::string_view{};
}

std::string_view description(App a) {
  auto i = static_cast<size_t>(a);
  return i < kApps.size() ? kApps[i].help : std::string_view{};
}

std::optional<App> by_name(std::string_view n) {
  for (size_t i = 1; i < kApps.size(); ++i) {
    if (kApps[i].name == n) return static_cast<App>(i);
  }
  return std::nullopt;
}

Result identify(const Input& in) {
  // IPsec's own protocols are what they are, encrypted or not (ESP in UDP 4500 is ike: NAT-T).
  if (in.proto == kEsp) return found(App::kEsp);
  if (in.proto == kAh) return found(App::kAh);
  if (in.payload.empty()) return kUndecided;
  if (in.proto == kTcp) return tcp(in);
  if (in.proto == kUdp) return udp(in);
  return kUnknown;
}

}  // namespace fw::appid
