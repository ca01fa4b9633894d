// TFTP datagrams built byte by byte (RFC 1350, 2347, 2348, 2349, 7440), then parsed.
#include "aspf/tftp/tftp_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace fw::aspf::tftp {
namespace {

using Bytes = std::vector<uint8_t>;

// The opcode in network order, then raw bytes (embedded zeros allowed).
Bytes raw(uint16_t opcode, std::string_view body) {
  std::string s{static_cast<char>(opcode >> 8), static_cast<char>(opcode & 0xff)};
  s.append(body);
  return Bytes(s.begin(), s.end());
}

// The opcode, then each field followed by its terminating zero.
Bytes fields(uint16_t opcode, std::initializer_list<std::string_view> fs) {
  std::string body;
  for (std::string_view f : fs) {
    body.append(f);
    body.push_back('\0');
  }
  return raw(opcode, body);
}

std::string describe(const ParseOutcome& r) {
  if (r.error) return "error " + std::string(error_name(*r.error));
  if (r.not_request) return "not a request: " + std::string(opcode_name(*r.not_request));
  if (r.request) return "request";
  return "nothing";
}

int set_members(const ParseOutcome& r) {
  return int{r.request.has_value()} + int{r.not_request.has_value()} + int{r.error.has_value()};
}

Request ok(const Bytes& b) {
  ParseOutcome r = parse(b);
  EXPECT_EQ(set_members(r), 1);
  EXPECT_TRUE(r.request.has_value()) << describe(r);
  return r.request.value_or(Request{});
}

// --- well-formed requests ------------------------------------------------------------------

struct GoodCase {
  const char* what;
  Bytes in;
  Request want;
};

Request req(Opcode op, std::string file, Mode mode) {
  Request r;
  r.opcode = op;
  r.filename = std::move(file);
  r.mode = mode;
  return r;
}

template <typename F>
Request with(Request r, F f) {
  f(r);
  return r;
}

std::vector<GoodCase> good_cases() {
  const Request rrq = req(Opcode::kRrq, "f", Mode::kOctet);
  return {
      {"plain RRQ", fields(1, {"boot/pxelinux.0", "octet"}),
       req(Opcode::kRrq, "boot/pxelinux.0", Mode::kOctet)},
      {"plain WRQ", fields(2, {"up.txt", "netascii"}),
       req(Opcode::kWrq, "up.txt", Mode::kNetascii)},
      {"mail mode", fields(2, {"root", "mail"}), req(Opcode::kWrq, "root", Mode::kMail)},
      {"mode case", fields(1, {"f", "OcTeT"}), rrq},
      {"mode NETASCII", fields(1, {"f", "NETASCII"}), req(Opcode::kRrq, "f", Mode::kNetascii)},
      {"filename kept as sent", fields(1, {"A b\x01\xff", "octet"}),
       req(Opcode::kRrq, "A b\x01\xff", Mode::kOctet)},
      {"blksize", fields(1, {"f", "octet", "blksize", "1428"}),
       with(rrq, [](Request& r) { r.blksize = 1428; })},
      {"blksize min", fields(1, {"f", "octet", "blksize", "8"}),
       with(rrq, [](Request& r) { r.blksize = 8; })},
      {"blksize max", fields(1, {"f", "octet", "blksize", "65464"}),
       with(rrq, [](Request& r) { r.blksize = 65464; })},
      {"blksize leading zeros", fields(1, {"f", "octet", "blksize", "000512"}),
       with(rrq, [](Request& r) { r.blksize = 512; })},
      {"tsize 0", fields(1, {"f", "octet", "tsize", "0"}),
       with(rrq, [](Request& r) { r.tsize = 0; })},
      {"tsize in WRQ", fields(2, {"f", "octet", "tsize", "123456789"}),
       with(req(Opcode::kWrq, "f", Mode::kOctet), [](Request& r) { r.tsize = 123456789; })},
      {"tsize max", fields(1, {"f", "octet", "tsize", "18446744073709551615"}),
       with(rrq, [](Request& r) { r.tsize = UINT64_MAX; })},
      {"timeout min", fields(1, {"f", "octet", "timeout", "1"}),
       with(rrq, [](Request& r) { r.timeout = 1; })},
      {"timeout max", fields(1, {"f", "octet", "timeout", "255"}),
       with(rrq, [](Request& r) { r.timeout = 255; })},
      {"windowsize min", fields(1, {"f", "octet", "windowsize", "1"}),
       with(rrq, [](Request& r) { r.windowsize = 1; })},
      {"windowsize max", fields(1, {"f", "octet", "windowsize", "65535"}),
       with(rrq, [](Request& r) { r.windowsize = 65535; })},
      {"option names case-insensitive",
       fields(1, {"f", "octet", "BlkSize", "512", "TSIZE", "0", "TimeOut", "5", "WINDOWSIZE", "4"}),
       with(rrq,
            [](Request& r) {
              r.blksize = 512;
              r.tsize = 0;
              r.timeout = 5;
              r.windowsize = 4;
            })},
      {"unknown options kept in order, as sent",
       fields(1, {"f", "octet", "Multicast", "", "blksize", "1024", "rollover", "0", "x", "ab c"}),
       with(rrq,
            [](Request& r) {
              r.blksize = 1024;
              r.other_options = {{"Multicast", ""}, {"rollover", "0"}, {"x", "ab c"}};
            })},
      {"unknown option with a non-number", fields(1, {"f", "octet", "utimeout", "-5"}),
       with(rrq,
            [](Request& r) {
              r.other_options = {{"utimeout", "-5"}};
            })},
      {"padding after mode", raw(1, std::string_view("f\0octet\0\0\0\0", 11)), rrq},
      {"padding after options",
       raw(1, std::string_view("f\0octet\0tsize\0"
                               "0\0\0",
                               17)),
       with(rrq, [](Request& r) { r.tsize = 0; })},
  };
}

TEST(TftpParser, WellFormedRequests) {
  for (const GoodCase& c : good_cases()) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(ok(c.in), c.want);
  }
}

// A request of exactly `size` bytes: opcode, a filename of 'a's, "octet".
Bytes request_of_size(size_t size) {
  const size_t name_len = size - 2 - 1 - 6;  // opcode, filename's zero, "octet\0"
  return fields(1, {std::string(name_len, 'a'), "octet"});
}

TEST(TftpParser, RequestSizeLimit) {
  Bytes at_limit = request_of_size(kMaxRequestSize);
  ASSERT_EQ(at_limit.size(), 512u);
  EXPECT_EQ(ok(at_limit).filename.size(), 512u - 9);

  Bytes over = request_of_size(kMaxRequestSize + 1);
  ParseOutcome r = parse(over);
  ASSERT_TRUE(r.error.has_value()) << describe(r);
  EXPECT_EQ(*r.error, Error::kTooLong);

  // Zero padding counts too: a 512-byte request plus one zero is too long.
  at_limit.push_back(0);
  r = parse(at_limit);
  ASSERT_TRUE(r.error.has_value()) << describe(r);
  EXPECT_EQ(*r.error, Error::kTooLong);
}

// --- malformed requests --------------------------------------------------------------------

struct BadCase {
  const char* what;
  Bytes in;
  Error want;
};

std::vector<BadCase> bad_cases() {
  using E = Error;
  return {
      {"empty datagram", Bytes{}, E::kTooShort},
      {"one byte", Bytes{0}, E::kTooShort},
      {"opcode 0", fields(0, {"f", "octet"}), E::kBadOpcode},
      {"opcode 7", fields(7, {"f", "octet"}), E::kBadOpcode},
      {"opcode 0x0101", fields(0x0101, {"f", "octet"}), E::kBadOpcode},
      {"opcode 0xffff", raw(0xffff, ""), E::kBadOpcode},
      {"too long", request_of_size(513), E::kTooLong},
      {"opcode only", raw(1, ""), E::kFilenameUnterminated},
      {"filename unterminated", raw(2, "file"), E::kFilenameUnterminated},
      {"empty filename", fields(1, {"", "octet"}), E::kEmptyFilename},
      {"empty filename only", raw(1, std::string_view("\0", 1)), E::kEmptyFilename},
      {"no mode", fields(1, {"f"}), E::kModeUnterminated},
      {"mode unterminated", raw(1, std::string_view("f\0octet", 7)), E::kModeUnterminated},
      {"empty mode", fields(1, {"f", ""}), E::kBadMode},
      {"unknown mode", fields(1, {"f", "binary"}), E::kBadMode},
      {"mode prefix", fields(1, {"f", "oct"}), E::kBadMode},
      {"mode with space", fields(1, {"f", "octet "}), E::kBadMode},
      {"option unterminated", raw(1, std::string_view("f\0octet\0blksize", 15)),
       E::kOptionUnterminated},
      {"option without value", fields(1, {"f", "octet", "blksize"}), E::kMissingValue},
      {"unknown option without value", fields(1, {"f", "octet", "x"}), E::kMissingValue},
      {"value unterminated",
       raw(1, std::string_view("f\0octet\0blksize\0"
                               "512",
                               19)),
       E::kValueUnterminated},
      {"empty option name before data", fields(1, {"f", "octet", "", "blksize", "512"}),
       E::kEmptyOptionName},
      {"padding then data", raw(1, std::string_view("f\0octet\0\0\0x", 11)), E::kEmptyOptionName},
      {"duplicate blksize", fields(1, {"f", "octet", "blksize", "512", "blksize", "512"}),
       E::kDuplicateOption},
      {"duplicate in another case", fields(1, {"f", "octet", "tsize", "0", "TSize", "0"}),
       E::kDuplicateOption},
      {"duplicate unknown option", fields(1, {"f", "octet", "foo", "1", "FOO", "2"}),
       E::kDuplicateOption},
      {"duplicate before a bad value", fields(1, {"f", "octet", "timeout", "5", "timeout", "x"}),
       E::kDuplicateOption},
      {"blksize empty", fields(1, {"f", "octet", "blksize", ""}), E::kNotANumber},
      {"blksize sign", fields(1, {"f", "octet", "blksize", "+512"}), E::kNotANumber},
      {"blksize negative", fields(1, {"f", "octet", "blksize", "-1"}), E::kNotANumber},
      {"blksize leading space", fields(1, {"f", "octet", "blksize", " 512"}), E::kNotANumber},
      {"blksize trailing space", fields(1, {"f", "octet", "blksize", "512 "}), E::kNotANumber},
      {"blksize hex", fields(1, {"f", "octet", "blksize", "0x200"}), E::kNotANumber},
      {"tsize word", fields(1, {"f", "octet", "tsize", "zero"}), E::kNotANumber},
      {"timeout fraction", fields(1, {"f", "octet", "timeout", "1.5"}), E::kNotANumber},
      {"windowsize exponent", fields(1, {"f", "octet", "windowsize", "1e3"}), E::kNotANumber},
      {"blksize 7", fields(1, {"f", "octet", "blksize", "7"}), E::kBadBlksize},
      {"blksize 0", fields(1, {"f", "octet", "blksize", "0"}), E::kBadBlksize},
      {"blksize 65465", fields(1, {"f", "octet", "blksize", "65465"}), E::kBadBlksize},
      {"blksize 2^64", fields(1, {"f", "octet", "blksize", "18446744073709551616"}),
       E::kBadBlksize},
      {"tsize 2^64", fields(1, {"f", "octet", "tsize", "18446744073709551616"}), E::kBadTsize},
      {"tsize 30 digits", fields(1, {"f", "octet", "tsize", std::string(30, '9')}), E::kBadTsize},
      {"timeout 0", fields(1, {"f", "octet", "timeout", "0"}), E::kBadTimeout},
      {"timeout 256", fields(1, {"f", "octet", "timeout", "256"}), E::kBadTimeout},
      {"windowsize 0", fields(1, {"f", "octet", "windowsize", "0"}), E::kBadWindowsize},
      {"windowsize 65536", fields(1, {"f", "octet", "windowsize", "65536"}), E::kBadWindowsize},
      {"first problem wins", fields(1, {"f", "octet", "timeout", "0", "blksize", "1"}),
       E::kBadTimeout},
  };
}

TEST(TftpParser, MalformedRequests) {
  std::set<Error> covered;
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.what);
    ParseOutcome r = parse(c.in);
    EXPECT_EQ(set_members(r), 1);
    if (!r.error) {
      ADD_FAILURE() << "want " << error_name(c.want) << ", got " << describe(r);
      continue;
    }
    EXPECT_EQ(*r.error, c.want) << error_name(*r.error) << " != " << error_name(c.want);
    covered.insert(c.want);
  }
  // The table names every error at least once.
  EXPECT_EQ(covered.size(), kErrorCount);
}

TEST(TftpParser, WrqSharesTheRules) {
  // Same checks for WRQ as for RRQ.
  for (const BadCase& c : bad_cases()) {
    if (c.in.size() < 2 || c.in[0] != 0 || c.in[1] != 1) continue;
    SCOPED_TRACE(c.what);
    Bytes wrq = c.in;
    wrq[1] = 2;
    ParseOutcome r = parse(wrq);
    if (!r.error) {
      ADD_FAILURE() << "want " << error_name(c.want) << ", got " << describe(r);
      continue;
    }
    EXPECT_EQ(*r.error, c.want);
  }
}

// --- other opcodes -------------------------------------------------------------------------

TEST(TftpParser, OtherOpcodesAreNotRequests) {
  struct Case {
    const char* what;
    Bytes in;
    Opcode want;
  };
  const std::vector<Case> cases = {
      {"DATA", raw(3, std::string_view("\0\x01hello", 7)), Opcode::kData},
      {"DATA header only", raw(3, ""), Opcode::kData},
      {"DATA above 512 bytes", raw(3, std::string(1430, 'x')), Opcode::kData},
      {"ACK", raw(4, std::string_view("\0\x01", 2)), Opcode::kAck},
      {"ERROR", raw(5, std::string_view("\0\x01not found\0", 12)), Opcode::kError},
      {"ERROR unterminated", raw(5, std::string_view("\0\x01oops", 6)), Opcode::kError},
      {"OACK", fields(6, {"blksize", "1428"}), Opcode::kOack},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ParseOutcome r = parse(c.in);
    EXPECT_EQ(set_members(r), 1);
    ASSERT_TRUE(r.not_request.has_value()) << describe(r);
    EXPECT_EQ(*r.not_request, c.want);
  }
}

TEST(TftpParser, OpcodeOf) {
  EXPECT_FALSE(opcode_of(Bytes{}).has_value());
  EXPECT_FALSE(opcode_of(Bytes{0}).has_value());
  EXPECT_FALSE(opcode_of(Bytes{0, 0}).has_value());
  EXPECT_FALSE(opcode_of(Bytes{0, 7}).has_value());
  EXPECT_FALSE(opcode_of(Bytes{1, 1}).has_value());
  for (uint16_t op = 1; op <= 6; ++op) {
    Bytes b = raw(op, "");
    ASSERT_TRUE(opcode_of(b).has_value()) << op;
    EXPECT_EQ(static_cast<uint16_t>(*opcode_of(b)), op);
  }
}

// --- names ---------------------------------------------------------------------------------

bool is_counter_name(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || c == '-')) return false;
  }
  return true;
}

TEST(TftpParser, ErrorNamesAreDistinctCounterNames) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kErrorCount; ++i) {
    std::string_view n = error_name(static_cast<Error>(i));
    EXPECT_TRUE(is_counter_name(n)) << i << ": " << n;
    EXPECT_NE(n, "unknown") << i;
    names.insert(n);
  }
  EXPECT_EQ(names.size(), kErrorCount);
  EXPECT_EQ(error_name(Error::kDuplicateOption), "duplicate-option");
  EXPECT_EQ(error_name(static_cast<Error>(kErrorCount)), "unknown");
}

TEST(TftpParser, OpcodeAndModeNames) {
  const std::vector<std::string_view> ops = {"RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK"};
  for (uint16_t op = 1; op <= 6; ++op) {
    EXPECT_EQ(opcode_name(static_cast<Opcode>(op)), ops[op - 1u]);
  }
  EXPECT_EQ(mode_name(Mode::kNetascii), "netascii");
  EXPECT_EQ(mode_name(Mode::kOctet), "octet");
  EXPECT_EQ(mode_name(Mode::kMail), "mail");
  // Each mode name parses back to its mode.
  for (Mode m : {Mode::kNetascii, Mode::kOctet, Mode::kMail}) {
    EXPECT_EQ(ok(fields(1, {"f", mode_name(m)})).mode, m);
  }
}

}  // namespace
}  // namespace fw::aspf::tftp
