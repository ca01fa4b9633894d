#include "aspf/tftp/tftp_parser.h"

#include <limits>

namespace fw::aspf::tftp {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 2347: option names and modes are case-insensitive ASCII.
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A zero-terminated field starting at `at`.
struct Field {
  std::string_view text;
  bool terminated = false;
  size_t next = 0;  // just past the zero byte
};

Field read_field(std::string_view d, size_t at) {
  const size_t zero = d.find('\0', at);
  if (zero == std::string_view::npos) return {d.substr(at), false, d.size()};
  return {d.substr(at, zero - at), true, zero + 1};
}

std::optional<Mode> parse_mode(std::string_view s) {
  if (iequals(s, "netascii")) return Mode::kNetascii;
  if (iequals(s, "octet")) return Mode::kOctet;
  if (iequals(s, "mail")) return Mode::kMail;
  return std::nullopt;
}

// Decimal digits only: servers read values with strtoul-like calls that would also take
// leading blanks and a sign ("-1" becomes 2^64-1), so anything but digits is refused.
struct Number {
  bool is_number = false;
  bool overflow = false;  // more than 2^64-1
  uint64_t value = 0;
};

Number read_number(std::string_view s) {
  Number n;
  n.is_number = !s.empty();
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (char c : s) {
    if (c < '0' || c > '9') return Number{};
    const auto digit = static_cast<uint64_t>(c - '0');
    if (n.value > (kMax - digit) / 10) n.overflow = true;
    if (!n.overflow) n.value = n.value * 10 + digit;
  }
  return n;
}

bool in_range(const Number& n, uint64_t lo, uint64_t hi) {
  return !n.overflow && n.value >= lo && n.value <= hi;
}

// Stores a known option in `r`, or keeps an unknown one. The name is new (no duplicate).
std::optional<Error> apply_option(std::string_view name, std::string_view value, Request& r) {
  const bool blksize = iequals(name, "blksize");
  const bool tsize = iequals(name, "tsize");
  const bool timeout = iequals(name, "timeout");
  const bool windowsize = iequals(name, "windowsize");
  if (!blksize && !tsize && !timeout && !windowsize) {
    r.other_options.push_back(Option{std::string(name), std::string(value)});
    return std::nullopt;
  }
  const Number n = read_number(value);
  if (!n.is_number) return Error::kNotANumber;
  if (blksize) {
    if (!in_range(n, kMinBlksize, kMaxBlksize)) return Error::kBadBlksize;
    r.blksize = static_cast<uint16_t>(n.value);
  } else if (tsize) {
    if (n.overflow) return Error::kBadTsize;
    r.tsize = n.value;
  } else if (timeout) {
    if (!in_range(n, kMinTimeout, kMaxTimeout)) return Error::kBadTimeout;
    r.timeout = static_cast<uint8_t>(n.value);
  } else {
    if (!in_range(n, kMinWindowsize, std::numeric_limits<uint16_t>::max())) {
      return Error::kBadWindowsize;
    }
    r.windowsize = static_cast<uint16_t>(n.value);
  }
  return std::nullopt;
}

bool only_zeros_from(std::string_view d, size_t at) {
  return d.find_first_not_of('\0', at) == std::string_view::npos;
}

// Option/value pairs from `at` to the end of the datagram (RFC 2347).
std::optional<Error> parse_options(std::string_view d, size_t at, Request& r) {
  std::vector<std::string_view> seen;
  while (at < d.size()) {
    // Some clients pad requests with zero bytes. tftpd-hpa stops reading at the first empty
    // string; a server that skips it would see options we never checked, so an empty name is
    // only accepted when nothing but zeros follows.
    if (d[at] == '\0') {
      if (only_zeros_from(d, at)) return std::nullopt;
      return Error::kEmptyOptionName;
    }
    const Field name = read_field(d, at);
    if (!name.terminated) return Error::kOptionUnterminated;
    if (name.next == d.size()) return Error::kMissingValue;
    const Field value = read_field(d, name.next);
    if (!value.terminated) return Error::kValueUnterminated;
    for (std::string_view s : seen) {
      if (iequals(s, name.text)) return Error::kDuplicateOption;
    }
    seen.push_back(name.text);
    if (auto e = apply_option(name.text, value.text, r)) return e;
    at = value.next;
  }
  return std::nullopt;
}

ParseOutcome fail(Error e) { return ParseOutcome{std::nullopt, std::nullopt, e}; }

ParseOutcome parse_request(std::string_view d, Opcode op) {
  if (d.size() > kMaxRequestSize) return fail(Error::kTooLong);
  Request r;
  r.opcode = op;
  const Field filename = read_field(d, 2);
  if (!filename.terminated) return fail(Error::kFilenameUnterminated);
  if (filename.text.empty()) return fail(Error::kEmptyFilename);
  const Field mode = read_field(d, filename.next);
  if (!mode.terminated) return fail(Error::kModeUnterminated);
  const std::optional<Mode> m = parse_mode(mode.text);
  if (!m) return fail(Error::kBadMode);
  r.filename = std::string(filename.text);
  r.mode = *m;
  if (auto e = parse_options(d, mode.next, r)) return fail(*e);
  return ParseOutcome{std::move(r), std::nullopt, std::nullopt};
}

}  // namespace

std::string_view opcode_name(Opcode op) {
  switch (op) {
    case Opcode::kRrq:
      return "RRQ";
    case Opcode::kWrq:
      return "WRQ";
    case Opcode::kData:
      return "DATA";
    case Opcode::kAck:
      return "ACK";
    case Opcode::kError:
      return "ERROR";
    case Opcode::kOack:
      return "OACK";
  }
  return "unknown";
}

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::kNetascii:
      return "netascii";
    case Mode::kOctet:
      return "octet";
    case Mode::kMail:
      return "mail";
  }
  return "unknown";
}

std::string_view error_name(Error e) {
  switch (e) {
    case Error::kTooShort:
      return "too-short";
    case Error::kBadOpcode:
      return "bad-opcode";
    case Error::kTooLong:
      return "too-long";
    case Error::kFilenameUnterminated:
      return "filename-unterminated";
    case Error::kEmptyFilename:
      return "empty-filename";
    case Error::kModeUnterminated:
      return "mode-unterminated";
    case Error::kBadMode:
      return "bad-mode";
    case Error::kOptionUnterminated:
      return "option-unterminated";
    case Error::kMissingValue:
      return "missing-value";
    case Error::kValueUnterminated:
      return "value-unterminated";
    case Error::kEmptyOptionName:
      return "empty-option-name";
    case Error::kDuplicateOption:
      return "duplicate-option";
    case Error::kNotANumber:
      return "not-a-number";
    case Error::kBadBlksize:
      return "bad-blksize";
    case Error::kBadTsize:
      return "bad-tsize";
    case Error::kBadTimeout:
      return "bad-timeout";
    case Error::kBadWindowsize:
      return "bad-windowsize";
  }
  return "unknown";
}

std::optional<Opcode> opcode_of(std::span<const uint8_t> datagram) {
  if (datagram.size() < 2) return std::nullopt;
  const auto op = static_cast<uint16_t>((datagram[0] << 8) | datagram[1]);
  if (op < static_cast<uint16_t>(Opcode::kRrq) || op > static_cast<uint16_t>(Opcode::kOack)) {
    return std::nullopt;
  }
  return static_cast<Opcode>(op);
}

ParseOutcome parse(std::span<const uint8_t> datagram) {
  if (datagram.size() < 2) return fail(Error::kTooShort);
  const std::optional<Opcode> op = opcode_of(datagram);
  if (!op) return fail(Error::kBadOpcode);
  if (*op != Opcode::kRrq && *op != Opcode::kWrq) {
    return ParseOutcome{std::nullopt, *op, std::nullopt};
  }
  const std::string_view d(reinterpret_cast<const char*>(datagram.data()), datagram.size());
  return parse_request(d, *op);
}

}  // namespace fw::aspf::tftp
