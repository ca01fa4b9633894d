// libFuzzer target for aspf/tftp: the input is one UDP payload. Besides ASan/UBSan it traps
// when a promise of tftp_parser.h is broken:
//  - exactly one of request / not_request / error; the opcode agrees with opcode_of();
//  - a request is at most 512 bytes, has a non-empty filename without zero bytes, in-range
//    option values, and no option name twice (case-insensitive, known or not);
//  - a request encoded again (canonical form) is no longer than the input and parses to the
//    same request; cutting its last terminating zero makes it malformed;
//  - flipping the case of every ASCII letter after the opcode gives the same verdict (modes
//    and option names are case-insensitive, numbers have no letters);
//  - a DATA/ACK/ERROR/OACK datagram stays "not a request" whatever follows.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aspf/tftp/tftp_parser.h"

namespace {

using fw::aspf::tftp::Error;
using fw::aspf::tftp::Opcode;
using fw::aspf::tftp::ParseOutcome;
using fw::aspf::tftp::Request;
using Bytes = std::vector<uint8_t>;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

void add_field(Bytes& b, std::string_view s) {
  b.insert(b.end(), s.begin(), s.end());
  b.push_back(0);
}

// The shortest datagram for `r`: lower-case mode and known names, numbers without leading zeros.
Bytes encode(const Request& r) {
  Bytes b{0, static_cast<uint8_t>(r.opcode)};
  add_field(b, r.filename);
  add_field(b, fw::aspf::tftp::mode_name(r.mode));
  auto num = [&b](std::string_view name, uint64_t v) {
    add_field(b, name);
    add_field(b, std::to_string(v));
  };
  if (r.blksize) num("blksize", *r.blksize);
  if (r.tsize) num("tsize", *r.tsize);
  if (r.timeout) num("timeout", *r.timeout);
  if (r.windowsize) num("windowsize", *r.windowsize);
  for (const auto& o : r.other_options) {
    add_field(b, o.name);
    add_field(b, o.value);
  }
  return b;
}

void check_request(const Request& r, std::span<const uint8_t> in) {
  check(in.size() <= fw::aspf::tftp::kMaxRequestSize);
  check(r.opcode == Opcode::kRrq || r.opcode == Opcode::kWrq);
  check(!r.filename.empty() && r.filename.find('\0') == std::string::npos);
  if (r.blksize) check(*r.blksize >= 8 && *r.blksize <= 65464);
  if (r.timeout) check(*r.timeout >= 1);
  if (r.windowsize) check(*r.windowsize >= 1);
  std::vector<std::string> names;
  if (r.blksize) names.push_back("blksize");
  if (r.tsize) names.push_back("tsize");
  if (r.timeout) names.push_back("timeout");
  if (r.windowsize) names.push_back("windowsize");
  for (const auto& o : r.other_options) {
    check(!o.name.empty() && o.name.find('\0') == std::string::npos);
    check(o.value.find('\0') == std::string::npos);
    const std::string n = lowered(o.name);
    for (const auto& seen : names) check(seen != n);
    names.push_back(n);
  }
  // Canonical re-encoding: never longer, parses back to the same request.
  const Bytes again = encode(r);
  check(again.size() <= in.size());
  const ParseOutcome re = fw::aspf::tftp::parse(again);
  check(re.request.has_value() && *re.request == r);
  // Without the terminating zero of its last field the request is malformed (unless the
  // input ended in padding or an empty value, where the zero before is a terminator too).
  if (in.back() == 0 && in[in.size() - 2] != 0) {
    const ParseOutcome cut = fw::aspf::tftp::parse(in.first(in.size() - 1));
    check(cut.error.has_value());
    check(*cut.error == Error::kModeUnterminated || *cut.error == Error::kValueUnterminated);
  }
}

void check_case_flip(const ParseOutcome& r, std::span<const uint8_t> in) {
  Bytes flipped(in.begin(), in.end());
  for (size_t i = 2; i < flipped.size(); ++i) {
    const uint8_t c = flipped[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) flipped[i] = c ^ 0x20;
  }
  const ParseOutcome f = fw::aspf::tftp::parse(flipped);
  check(f.error == r.error && f.not_request == r.not_request);
  check(f.request.has_value() == r.request.has_value());
  if (r.request) {
    const Request& a = *r.request;
    const Request& b = *f.request;
    check(a.opcode == b.opcode && a.mode == b.mode && a.blksize == b.blksize);
    check(a.tsize == b.tsize && a.timeout == b.timeout && a.windowsize == b.windowsize);
    check(a.filename.size() == b.filename.size());
    check(a.other_options.size() == b.other_options.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  const ParseOutcome r = fw::aspf::tftp::parse(in);
  check(int{r.request.has_value()} + int{r.not_request.has_value()} + int{r.error.has_value()} ==
        1);
  const auto op = fw::aspf::tftp::opcode_of(in);
  if (size < 2) check(r.error == Error::kTooShort);
  if (size >= 2 && !op) check(r.error == Error::kBadOpcode);
  if (op) {
    const bool request_op = *op == Opcode::kRrq || *op == Opcode::kWrq;
    check(r.not_request.has_value() == !request_op);
    if (r.request) check(r.request->opcode == *op);
    if (r.not_request) check(*r.not_request == *op);
  }
  if (r.error) check(static_cast<size_t>(*r.error) < fw::aspf::tftp::kErrorCount);
  if (r.request) check_request(*r.request, in);
  check_case_flip(r, in);
  if (r.not_request) {
    // Whatever follows the opcode of a non-request does not matter.
    Bytes longer(in.begin(), in.end());
    longer.insert(longer.end(), {0, 1, 'x', 0});
    check(fw::aspf::tftp::parse(longer).not_request == r.not_request);
  }
  return 0;
}
