#pragma once
// RTSP/1.0 (RFC 2326) message parsing for the RTSP ALG: the start line, CSeq,
// Session (id;timeout=N) and Transport (RFC 2326 section 12.39: specs
// separated by commas, parameters by semicolons). Pure: bytes in, structs
// out; offsets are into the bytes given, so an inspector can rewrite a value.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fw::aspf::rtsp {

// A port or a port range "a[-b]" and where its text is.
struct PortRange {
  bool present = false;
  uint16_t lo = 0, hi = 0;  // hi == lo when one port was given
  bool pair = false;        // "a-b" (not just "a")
  size_t begin = 0, end = 0;
};

// Where an address value (source=, destination=) is, and its text.
struct AddrParam {
  bool present = false;
  std::string_view text;
  size_t begin = 0, end = 0;
};

struct TransportSpec {
  std::string_view protocol;  // "RTP/AVP", "RTP/AVP/UDP", "RTP/AVP/TCP", ...
  bool tcp = false;           // lower transport TCP
  bool multicast = false;     // "multicast" (unicast is the default)
  bool interleaved = false;   // "interleaved=" present
  PortRange client_port, server_port;
  AddrParam source, destination;
  size_t begin = 0, end = 0;  // the whole spec
};

struct Parsed {
  bool request = false;
  std::string_view method;  // requests
  std::string_view uri;
  int status = 0;            // responses
  std::string_view version;  // "RTSP/1.0"
  std::optional<uint32_t> cseq;
  std::string_view session;                 // the id
  std::optional<uint32_t> session_timeout;  // seconds
  bool has_transport = false;
  std::vector<TransportSpec> transports;
};

struct ParseResult {
  bool ok = false;
  std::string why;  // when not ok
  Parsed m;
};

// Parses the header block of one message (bytes up to the empty line; a body
// after it is ignored). Not ok: no RTSP start line, a header line without a
// colon, a bad CSeq or Session, a Transport that does not parse (a port out of
// range or 0, a parameter twice, an empty spec), more than kMaxSpecs specs.
ParseResult parse(std::string_view bytes);

constexpr size_t kMaxSpecs = 8;

// Parses one Transport header value (offsets relative to `base`, the offset
// of `value` in the message). Exposed for tests and the fuzz target.
bool parse_transport(std::string_view value, size_t base, std::vector<TransportSpec>* out,
                     std::string* why);

// "a" or "a-b".
std::string format_ports(uint16_t lo, std::optional<uint16_t> hi);

}  // namespace fw::aspf::rtsp
