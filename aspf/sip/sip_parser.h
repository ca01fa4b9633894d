#pragma once
// SIP messages (RFC 3261 section 7, 20, 25). Pure: the bytes of one message in,
// a struct out, with the byte offsets of everything an ALG may rewrite. No
// state, no session or NAT knowledge, no I/O, never throws.
//
// What is parsed: the start line (request: method, Request-URI, version;
// response: version, status); header lines, folded ones (a line starting with
// SP/HT continues the previous), compact names (v f t m i l c ...), any
// whitespace around the colon; for the headers an ALG reads: the top Via's
// sent-by, every Contact / Route / Record-Route URI, From / To URIs and tags,
// Call-ID, CSeq (number, method), Content-Length, Content-Type, Expires and the
// expires= parameter of each Contact. The body is the bytes after the empty
// line, Content-Length of them; its SDP part (application/sdp, or the
// application/sdp part of a multipart body, RFC 2046) is located.
// aspf/sip/README.md gives the reasons behind each rule.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fw::aspf::sip {

// Larger messages are refused (issue 13; RFC 3261 18.1.1 has UDP messages near
// the MTU, and 8 KiB is well past any real one).
inline constexpr size_t kMaxMessage = 8192;
// More URIs of one kind (Contacts, Routes) than this are refused.
inline constexpr size_t kMaxUris = 16;

// Why a message is refused. error_name() gives the counter suffix
// ("aspf.sip.refused.<name>"); names are stable, append new errors at the end.
enum class Error : uint8_t {
  kTooLong,           // more than kMaxMessage bytes
  kBadStartLine,      // not "METHOD URI SIP/2.0" nor "SIP/2.0 NNN reason"
  kBadVersion,        // a version other than SIP/2.0
  kNoEndOfHeaders,    // no empty line after the headers
  kBadHeader,         // a header line without a colon, or with a bad name
  kBadUri,            // a sip/sips URI whose host or port cannot be read
  kBadVia,            // a Via value that is not "SIP/2.0/<transport> host[:port]"
  kBadContentLength,  // not digits, given twice, or more than the bytes there are
  kBadCseq,           // not "<number> <method>", or the method differs from the request's
  kMissingHeader,     // no Call-ID, CSeq, From, To or Via
  kTooManyUris,       // more than kMaxUris Contacts or Routes
  kBadBody,           // a multipart body whose boundary cannot be found
  kDuplicateHeader,   // From, To, Call-ID or CSeq twice
};
inline constexpr size_t kErrorCount = static_cast<size_t>(Error::kDuplicateHeader) + 1;
std::string_view error_name(Error e);

// A host[:port] inside the message: bytes [off, off+len) are the host and,
// when present, ':' and the port; replacing them moves the whole authority.
struct HostPort {
  size_t off = 0;
  size_t len = 0;
  std::string host;   // as written; an IPv6 reference keeps its brackets
  uint16_t port = 0;  // 0 = no port written
  bool operator==(const HostPort&) const = default;
};

// A URI of a name-addr or addr-spec. Only sip: and sips: URIs have a hostport
// (other schemes - tel:, urn:, http: - are kept as their scheme only).
struct Uri {
  std::string scheme;  // lower-case: "sip", "sips", "tel", ...
  std::optional<HostPort> hostport;
  std::optional<uint32_t> expires;  // Contact: the expires= header parameter
  std::string tag;                  // From/To: the tag= parameter
  bool operator==(const Uri&) const = default;
};

struct Message {
  bool is_request = false;
  std::string method;                   // requests: as written (methods are case-sensitive)
  Uri request_uri;                      // requests
  int status = 0;                       // responses: 100..699
  std::string transport;                // top Via's transport, upper-case ("UDP", "TCP")
  std::optional<HostPort> via_sent_by;  // top Via
  std::vector<Uri> contacts;            // every Contact, in order (not for "*")
  bool contact_star = false;            // "Contact: *"
  std::vector<Uri> routes;              // Route then Record-Route, in order
  Uri from, to;
  std::string call_id;
  uint32_t cseq = 0;
  std::string cseq_method;
  std::optional<uint32_t> expires;  // Expires header
  std::string content_type;         // lower-case type/subtype, no parameters
  // Content-Length: the digits of the header (to rewrite) and its value. Absent
  // = the body is the rest of the message (UDP, RFC 3261 18.3).
  std::optional<size_t> content_length;
  size_t content_length_off = 0, content_length_len = 0;
  size_t body_off = 0, body_len = 0;  // the body (Content-Length of it)
  // The SDP: the whole body, or one part of a multipart body.
  std::optional<size_t> sdp_off;
  size_t sdp_len = 0;
};

struct ParseResult {
  std::optional<Message> message;
  std::optional<Error> error;  // exactly one of the two is set
};

ParseResult parse(std::span<const uint8_t> bytes);

}  // namespace fw::aspf::sip
