// libFuzzer target for the SIP inspector (aspf/sip/sip_inspector.cpp) against a
// fake Context. Input: byte 0 picks the control flow (no NAT, easy-ip, NAT
// server; bit 2: over TCP); the rest is a sequence of parts split at
// "\n--next--\n", each preceded by a direction byte (even = from the
// initiator). UDP: each part is a message. TCP: each part is a segment of its
// direction's stream, framed by the inspector's own Framer (several messages per
// segment, messages across segments). Besides ASan/UBSan it traps when:
//  - TCP: an edit falls before the part of the message in the segment at hand
//    (bytes already forwarded: a partial rewrite);
//  - an edit lies outside the message or two edits overlap;
//  - a message that parsed, once edited, does not parse, or its Content-Length
//    is not its body's length;
//  - an entry admits a port below 1024, or (translated flow) is delivered to an
//    address other than the translated party's own;
//  - a port is released that was not reserved, or ports are still held once the
//    control session is closed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aspf/sip/sip_inspector.h"
#include "aspf/sip/sip_parser.h"

namespace {

using fw::common::IpAddr;
using fw::session::Dir;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

class Ctx final : public fw::aspf::Context {
 public:
  explicit Ctx(fw::session::Session s) : s_(s) {}
  const fw::session::Session& control() const override { return s_; }
  uint64_t now_ms() const override { return now; }
  bool open(fw::session::ServerMapEntry e) override {
    check(e.port >= 1024);
    if (!e.xaddr.empty()) check(e.xaddr == private_addr);
    if (e.xport >= 0) check(e.xport >= 1024);
    entries.push_back(e);
    return entries.size() < 64;
  }
  void close_entries(const std::function<bool(const fw::session::ServerMapEntry&)>& pred) override {
    entries.erase(std::remove_if(entries.begin(), entries.end(), pred), entries.end());
  }
  void age_children(uint8_t, uint16_t, uint16_t) override {}
  std::optional<uint16_t> reserve_port(const IpAddr&, uint8_t, uint16_t hint) override {
    for (uint32_t p = std::max<uint32_t>(hint, 1024); p < 65536; ++p) {
      if (held.insert(static_cast<uint16_t>(p)).second) return static_cast<uint16_t>(p);
    }
    return std::nullopt;
  }
  std::optional<uint16_t> reserve_port_pair(const IpAddr&, uint8_t) override {
    for (uint32_t p = 1024; p + 1 < 65536; p += 2) {
      if (held.count(static_cast<uint16_t>(p)) || held.count(static_cast<uint16_t>(p + 1)))
        continue;
      held.insert(static_cast<uint16_t>(p));
      held.insert(static_cast<uint16_t>(p + 1));
      return static_cast<uint16_t>(p);
    }
    return std::nullopt;
  }
  void release_port(const IpAddr&, uint8_t, uint16_t port) override {
    check(held.erase(port) == 1);
  }
  void count(size_t) override {}
  void refuse(size_t, std::string_view) override {}

  fw::session::Session s_;
  IpAddr private_addr;
  uint64_t now = 1'000'000;
  std::vector<fw::session::ServerMapEntry> entries;
  std::set<uint16_t> held;
};

fw::session::Session flow(uint8_t kind, IpAddr* priv) {
  fw::session::Session s;
  s.orig.src = ip("10.0.0.2");
  s.orig.dst = ip("203.0.113.5");
  s.orig.sport = s.orig.dport = 5060;
  s.orig.proto = 17;
  s.reply = s.orig.reversed();
  if (kind % 3 == 1) {
    s.nat.snat = true;
    s.reply.dst = ip("198.51.100.1");
    s.reply.dport = 2001;
    *priv = s.orig.src;
  } else if (kind % 3 == 2) {
    s.nat.dnat = true;
    s.reply.src = ip("10.1.0.2");
    s.reply.sport = 5070;
    *priv = s.reply.src;
  }
  return s;
}

void one(fw::aspf::Inspector& ins, fw::aspf::State* st, Ctx& ctx, Dir d,
         const fw::aspf::Message& m) {
  const std::string_view text(reinterpret_cast<const char*>(m.bytes.data()), m.bytes.size());
  auto before = fw::aspf::sip::parse(m.bytes);
  const bool exact = before.message && before.message->content_length &&
                     before.message->body_off + *before.message->content_length == text.size();
  auto edits = ins.on_message(ctx, st, d, m);
  std::sort(edits.begin(), edits.end(), [](auto& a, auto& b) { return a.offset > b.offset; });
  std::string out(text);
  size_t limit = out.size();
  for (const auto& e : edits) {
    check(e.offset + e.old_len <= limit);
    check(e.offset >= m.editable_from);
    out.replace(e.offset, e.old_len, e.replacement);
    limit = e.offset;
  }
  if (edits.empty() || out.size() > fw::aspf::sip::kMaxMessage) return;
  auto r = fw::aspf::sip::parse(std::vector<uint8_t>(out.begin(), out.end()));
  check(r.message.has_value());
  // Content-Length recomputed: a body that filled the datagram still does.
  if (exact) check(r.message->body_off + r.message->body_len == out.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  IpAddr priv;
  Ctx ctx(flow(data[0], &priv));
  ctx.private_addr = priv;
  const bool tcp = data[0] & 4;
  if (tcp) ctx.s_.orig.proto = ctx.s_.reply.proto = 6;
  auto ins = fw::aspf::sip::make_inspector();
  auto st = ins->new_state();
  std::unique_ptr<fw::aspf::Framer> framers[2] = {ins->new_framer(), ins->new_framer()};
  uint32_t seq[2] = {1000, 90000};
  for (int i = 0; i < 2; ++i) framers[i]->start(seq[i]);
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr std::string_view kSep = "\n--next--\n";
  while (!rest.empty()) {
    size_t cut = rest.find(kSep);
    std::string_view part = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + kSep.size());
    if (part.empty()) continue;
    const Dir d = (static_cast<uint8_t>(part[0]) & 1) ? Dir::kReply : Dir::kOriginal;
    ctx.now += static_cast<uint8_t>(part[0]) * 1000ull;
    const std::string_view body = part.substr(1);
    if (!tcp) {
      fw::aspf::Message m;
      m.bytes.assign(body.begin(), body.end());
      one(*ins, st.get(), ctx, d, m);
      continue;
    }
    const auto k = static_cast<size_t>(d);
    const auto* b = reinterpret_cast<const uint8_t*>(body.data());
    for (auto& m : framers[k]->feed(seq[k], std::span<const uint8_t>(b, body.size()))) {
      // As the engine: bytes before this segment already left.
      m.editable_from = static_cast<int32_t>(m.seq - seq[k]) < 0 ? seq[k] - m.seq : 0;
      one(*ins, st.get(), ctx, d, m);
    }
    seq[k] += static_cast<uint32_t>(body.size());
  }
  ins->on_close(ctx, st.get());
  check(ctx.held.empty());
  return 0;
}
