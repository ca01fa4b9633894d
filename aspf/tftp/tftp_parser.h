#pragma once
// TFTP datagrams (RFC 1350) and the request options of RFC 2347/2348/2349/7440.
// Pure: one UDP payload in, a struct out. No state, no session or NAT knowledge.
//
//   RRQ/WRQ  | opcode 1/2 | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | ... |
//   DATA     | 3 | block | data |      ACK   | 4 | block |
//   ERROR    | 5 | code | message | 0 |  OACK  | 6 | opt1 | 0 | value1 | 0 | ... |
//
// Only requests are parsed in full: they are what an ALG acts on (the reply comes from a new
// server port). The other opcodes are recognised, not validated, so a caller can tell "not a
// request" from "malformed". aspf/tftp/README.md gives the reasons behind each rule.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fw::aspf::tftp {

// RFC 2347: "The maximum size of a request packet is 512 octets" (the whole UDP payload).
inline constexpr size_t kMaxRequestSize = 512;
// RFC 2348 blksize, RFC 2349 timeout, RFC 7440 windowsize.
inline constexpr uint16_t kMinBlksize = 8;
inline constexpr uint16_t kMaxBlksize = 65464;
inline constexpr uint8_t kMinTimeout = 1;
inline constexpr uint8_t kMaxTimeout = 255;
inline constexpr uint16_t kMinWindowsize = 1;

enum class Opcode : uint16_t {
  kRrq = 1,
  kWrq = 2,
  kData = 3,
  kAck = 4,
  kError = 5,
  kOack = 6,  // RFC 2347
};
std::string_view opcode_name(Opcode op);  // "RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK"

enum class Mode : uint8_t { kNetascii, kOctet, kMail };
std::string_view mode_name(Mode m);  // "netascii", "octet", "mail"

// Why a datagram is refused. error_name() gives the counter suffix
// ("aspf.tftp.refused.<name>"); names are stable, append new errors at the end.
enum class Error : uint8_t {
  kTooShort,              // fewer than 2 bytes: no opcode
  kBadOpcode,             // opcode not 1..6
  kTooLong,               // RRQ/WRQ longer than kMaxRequestSize
  kFilenameUnterminated,  // no zero byte after the filename (or no filename at all)
  kEmptyFilename,         // the filename is ""
  kModeUnterminated,      // the datagram ends inside the mode, or before it
  kBadMode,               // mode not netascii/octet/mail (any case), or ""
  kOptionUnterminated,    // an option name without its zero byte
  kMissingValue,          // an option name, then the end of the datagram
  kValueUnterminated,     // an option value without its zero byte
  kEmptyOptionName,       // an empty option name followed by more non-zero bytes
  kDuplicateOption,       // the same option name twice (names compare case-insensitively)
  kNotANumber,            // blksize/tsize/timeout/windowsize value not 1+ decimal digits
  kBadBlksize,            // blksize outside kMinBlksize..kMaxBlksize
  kBadTsize,              // tsize above 2^64-1
  kBadTimeout,            // timeout outside kMinTimeout..kMaxTimeout
  kBadWindowsize,         // windowsize outside 1..65535
};
inline constexpr size_t kErrorCount = static_cast<size_t>(Error::kBadWindowsize) + 1;
std::string_view error_name(Error e);  // "too-short", "bad-opcode", ..., "bad-windowsize"

// An option this parser does not know, kept as sent (RFC 2347: the server ignores options it
// does not support, so they never make a request malformed).
struct Option {
  std::string name;
  std::string value;
  bool operator==(const Option&) const = default;
};

struct Request {
  Opcode opcode = Opcode::kRrq;  // kRrq or kWrq
  std::string filename;          // as sent, never empty, no zero byte
  Mode mode = Mode::kOctet;
  std::optional<uint16_t> blksize;     // RFC 2348
  std::optional<uint64_t> tsize;       // RFC 2349 (an RRQ normally asks with 0)
  std::optional<uint8_t> timeout;      // RFC 2349, seconds
  std::optional<uint16_t> windowsize;  // RFC 7440
  std::vector<Option> other_options;   // unknown options, in the order sent
  bool operator==(const Request&) const = default;
};

// Exactly one member is set:
//   request      a well-formed RRQ/WRQ;
//   not_request  the opcode of a DATA/ACK/ERROR/OACK datagram (its body is not checked);
//   error        a malformed request, or a datagram without a known opcode.
struct ParseOutcome {
  std::optional<Request> request;
  std::optional<Opcode> not_request;
  std::optional<Error> error;
};

// The opcode of any TFTP datagram; nullopt when shorter than 2 bytes or not 1..6.
std::optional<Opcode> opcode_of(std::span<const uint8_t> datagram);

// Parse one UDP payload. Checks, in order: 2 bytes (kTooShort); opcode 1..6 (kBadOpcode);
// for opcodes 3..6 nothing more (not_request). For RRQ/WRQ: at most kMaxRequestSize bytes
// (kTooLong); filename, mode, then option/value pairs as zero-terminated strings, each field
// checked before the next is read, so the first problem in the datagram is the one reported.
// Zero bytes after the last complete field are padding and accepted.
ParseOutcome parse(std::span<const uint8_t> datagram);

}  // namespace fw::aspf::tftp
