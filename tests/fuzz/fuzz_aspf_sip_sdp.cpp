// libFuzzer target for the SDP parser (aspf/sip/sdp_parser.*): the input is one
// description. Besides ASan/UBSan it traps when a promise breaks:
//  - exactly one of sdp / error; at most kMaxMedia streams;
//  - every address and port offset lies inside the input and names the text
//    (address) or the digits (port) the struct holds;
//  - writing 192.0.2.1 over every address and 40000 over every port (back to
//    front) parses again to the same streams with the new values.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aspf/sip/sdp_parser.h"

namespace {

using fw::aspf::sip::Sdp;
using fw::aspf::sip::SdpAddr;
using fw::aspf::sip::SdpPort;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Spot {
  size_t off, len;
  bool is_port;
};

std::vector<Spot> spots(const Sdp& d) {
  std::vector<Spot> v;
  auto addr = [&v](const std::optional<SdpAddr>& a) {
    if (a) v.push_back({a->off, a->len, false});
  };
  auto port = [&v](const std::optional<SdpPort>& p) {
    if (p) v.push_back({p->off, p->len, true});
  };
  addr(d.origin);
  addr(d.conn);
  for (const auto& m : d.media) {
    port(m.port);
    port(m.rtcp);
    addr(m.conn);
    addr(m.rtcp_addr);
  }
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = fw::aspf::sip::parse_sdp(std::span<const uint8_t>(data, size));
  check(r.sdp.has_value() != r.error.has_value());
  if (!r.sdp) return 0;
  const Sdp& d = *r.sdp;
  check(d.media.size() <= fw::aspf::sip::kMaxMedia);
  for (const auto& m : d.media) {
    check(m.port.off + m.port.len <= size);
    check(std::to_string(m.port.value).size() <= m.port.len);
    check(m.count >= 1);
    if (const SdpAddr* a = d.address(m)) check(a->off + a->len <= size);
  }
  auto check_addr = [&](const std::optional<SdpAddr>& a) {
    if (a) check(a->off + a->len <= size && in.substr(a->off, a->len) == a->text);
  };
  check_addr(d.origin);
  check_addr(d.conn);
  std::vector<Spot> v = spots(d);
  for (const auto& m : d.media) check_addr(m.conn);
  std::sort(v.begin(), v.end(), [](const Spot& a, const Spot& b) { return a.off > b.off; });
  std::string out(in);
  size_t limit = out.size();
  for (const Spot& s : v) {
    check(s.off + s.len <= limit);
    // An empty address (nothing to rewrite) is left as it is.
    if (s.len == 0) continue;
    out.replace(s.off, s.len, s.is_port ? "40000" : "192.0.2.1");
    limit = s.off;
  }
  auto again = fw::aspf::sip::parse_sdp(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out.data()), out.size()));
  check(again.sdp.has_value());
  check(again.sdp->media.size() == d.media.size());
  for (size_t i = 0; i < d.media.size(); ++i) {
    check(again.sdp->media[i].port.value == 40000);
    check(again.sdp->media[i].count == d.media[i].count);
    check(again.sdp->media[i].rtcp.has_value() == d.media[i].rtcp.has_value());
  }
  return 0;
}
