#pragma once
// FTP control-channel lines that announce data connections (RFC 959, RFC 2428):
//   client -> server: PORT h1,h2,h3,h4,p1,p2   EPRT |1|a.b.c.d|port|   EPRT |2|v6addr|port|
//   server -> client: 227 ... (h1,h2,h3,h4,p1,p2)   229 ... (|||port|)
// Pure: a complete line (without its CR LF) in, a struct out. No state.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ip_addr.h"

namespace fw::aspf::ftp {

enum class Kind : uint8_t { kPort, kEprt, kPasv227, kEpsv229 };

enum class ParseStatus : uint8_t {
  kOk,          // a data-channel announcement, fields below are valid
  kIrrelevant,  // some other command/reply: nothing to do
  kMalformed,  // looks like one of the four but its argument is bad (counted, never opens anything)
};

struct Announcement {
  Kind kind = Kind::kPort;
  common::IpAddr addr;  // empty for 229 (EPSV: same address as the control connection)
  uint16_t port = 0;
  // Byte range [arg_begin, arg_end) of the line that holds the address/port text
  // and is replaced on rewrite: "h1,h2,h3,h4,p1,p2" (PORT, 227), "|1|a.b.c.d|port|"
  // (EPRT), "|||port|" (229).
  size_t arg_begin = 0, arg_end = 0;
};

struct ParseResult {
  ParseStatus status = ParseStatus::kIrrelevant;
  Announcement a;
  std::string
      why;  // for kMalformed: short reason ("octet > 255", "port > 65535", "bad delimiter", ...)
};

// Keywords are case-insensitive ("port", "Eprt"); leading spaces are not allowed
// (a line must start at a line boundary with the command). Numbers: decimal
// only, no signs, each octet 0..255, p1/p2 0..255, EPRT/EPSV port 1..65535.
// Port 0 is kMalformed. Extra text after the argument is kMalformed for PORT/EPRT.
// For 227, the numbers may appear with or without parentheses after the text
// (RFC 1123 4.1.2.6: search for the first digit sequence "h1,h2,h3,h4,p1,p2").
ParseResult parse_client_line(std::string_view line);
ParseResult parse_server_line(std::string_view line);

// The line with [arg_begin, arg_end) replaced by the text for (addr, port) in
// the announcement's own format (PORT/227: comma form; EPRT: |1| or |2| by the
// address family of `addr`; 229: |||port|).
std::string rewrite_line(std::string_view line, const Announcement& a, const common::IpAddr& addr,
                         uint16_t port);

}  // namespace fw::aspf::ftp
