// libFuzzer target for the RTSP ALG: aspf::rtsp::parse, aspf::MessageFramer
// and the RTSP inspector against a recording context. Besides ASan/UBSan it
// traps when a promise is broken:
// - every offset the parser reports (transport specs, client_port,
//   server_port, source, destination) lies inside the message, and a
//   client_port's text parses back to the reported ports;
// - the MessageFramer, fed the input as 1-4 segments (in order, from a random
//   start sequence number, possibly across 2^32, with an optional gap),
//   reports framed messages of at most the maximum size whose bytes are
//   exactly the input at their sequence number, and unframed ones empty;
// - the inspector, fed each framed message in a random direction under a
//   random NAT, only returns edits inside the message at or after its
//   editable offset, opens entries only from the server's address (or, under source NAT,
//   from the client to the server's address leaving from a public port it holds), to a port
//   >= 1024, and every public port it reserved is either held by an entry or
//   given back once the control session is closed.
// Random choices come from a splitmix64 stream seeded by a hash of the input.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "aspf/message_framer.h"
#include "aspf/rtsp/rtsp_inspector.h"
#include "aspf/rtsp/rtsp_parser.h"

namespace {

using fw::common::IpAddr;
namespace rtsp = fw::aspf::rtsp;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

class Rng {
 public:
  explicit Rng(std::span<const uint8_t> data) {
    uint64_t h = 1469598103934665603ull;
    for (uint8_t b : data) h = (h ^ b) * 1099511628211ull;
    state_ = h;
  }
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }

 private:
  uint64_t state_;
};

void check_parse(std::string_view m) {
  auto r = rtsp::parse(m);
  if (!r.ok) {
    check(!r.why.empty());
    return;
  }
  for (const auto& t : r.m.transports) {
    check(t.begin <= t.end && t.end <= m.size());
    for (const auto* p : {&t.client_port, &t.server_port}) {
      if (!p->present) continue;
      check(p->begin < p->end && p->end <= m.size() && p->lo != 0 && p->hi != 0);
      std::vector<rtsp::TransportSpec> again;
      std::string why;
      const std::string text =
          "RTP/AVP;client_port=" + std::string(m.substr(p->begin, p->end - p->begin));
      check(rtsp::parse_transport(text, 0, &again, &why));
      check(again.size() == 1 && again[0].client_port.lo == p->lo &&
            again[0].client_port.hi == p->hi);
    }
    for (const auto* a : {&t.source, &t.destination}) {
      if (a->present && !a->text.empty()) check(a->end <= m.size() && a->begin < a->end);
    }
  }
}

class FuzzContext : public fw::aspf::Context {
 public:
  explicit FuzzContext(fw::session::Session s) : s_(s) {}
  const fw::session::Session& control() const override { return s_; }
  uint64_t now_ms() const override { return 1000; }
  bool open(fw::session::ServerMapEntry e) override {
    // From the server to the client, or (source NAT) from the client to the server's announced
    // ports, leaving from a public port the stream holds.
    const bool from_server = e.peer == s_.reply.src && e.sxport < 0;
    const bool from_client = e.peer == s_.orig.src && e.addr == s_.orig.dst && e.sxport >= 0 &&
                             held.count(static_cast<uint16_t>(e.sxport)) == 1 && !e.reserved;
    check(from_server || from_client);
    check(e.port >= 1024 && e.proto == 17);
    if (e.reserved) check(held.count(e.port) == 1);
    if (entries.size() >= 4) {  // a cap: the engine gives the port back
      if (e.reserved) held.erase(e.port);
      return false;
    }
    if (e.reserved) owned.insert(e.port);
    entries.push_back(e);
    return true;
  }
  void close_entries(const std::function<bool(const fw::session::ServerMapEntry&)>& pred) override {
    std::erase_if(entries, [&](const fw::session::ServerMapEntry& e) {
      if (!pred(e)) return false;
      if (e.reserved) {
        held.erase(e.port);
        owned.erase(e.port);
      }
      return true;
    });
  }
  void age_children(uint8_t, uint16_t, uint16_t) override {}
  std::optional<uint16_t> reserve_port(const IpAddr&, uint8_t, uint16_t) override {
    return std::nullopt;
  }
  std::optional<uint16_t> reserve_port_pair(const IpAddr&, uint8_t) override {
    if (next_ > 65000) return std::nullopt;
    const auto p = static_cast<uint16_t>(next_);
    next_ += 2;
    held.insert(p);
    held.insert(static_cast<uint16_t>(p + 1));
    return p;
  }
  void release_port(const IpAddr&, uint8_t, uint16_t port) override {
    check(held.erase(port) == 1);
    check(owned.count(port) == 0);
  }
  void count(size_t) override {}
  void refuse(size_t, std::string_view) override {}

  fw::session::Session s_;
  std::set<uint16_t> held, owned;
  std::vector<fw::session::ServerMapEntry> entries;
  uint32_t next_ = 30000;
};

fw::session::Session control(Rng& rng) {
  fw::session::Session s;
  s.orig.src = *IpAddr::parse("198.18.1.2");
  s.orig.dst = *IpAddr::parse("203.0.113.2");
  s.orig.sport = 40000;
  s.orig.dport = 554;
  s.orig.proto = 6;
  s.reply = s.orig.reversed();
  if (rng.below(2)) {
    s.nat.snat = true;
    s.nat.snat_addr = *IpAddr::parse("203.0.113.1");
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  Rng rng(in);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_parse(text);

  const size_t max = 64 + rng.below(2048);
  fw::aspf::MessageFramer framer({.max_message = max, .interleaved = rng.below(2) == 1});
  const uint32_t isn = static_cast<uint32_t>(rng.next());
  framer.start(isn);
  auto ins = rtsp::make_inspector();
  auto st = ins->new_state();
  FuzzContext ctx(control(rng));
  const size_t segs = 1 + rng.below(4);
  size_t pos = 0;
  for (size_t i = 0; i < segs && pos < size; ++i) {
    size_t len = i + 1 == segs ? size - pos : rng.below(size - pos + 1);
    if (rng.below(8) == 0) pos += rng.below(size - pos + 1) / 2;  // a gap
    len = std::min(len, size - pos);
    for (auto& m : framer.feed(isn + static_cast<uint32_t>(pos), in.subspan(pos, len))) {
      const size_t off = m.seq - isn;
      if (!m.bytes.empty()) {
        check(m.bytes.size() <= max && off + m.bytes.size() <= size);
        check(std::equal(m.bytes.begin(), m.bytes.end(), data + off));
        check_parse({reinterpret_cast<const char*>(m.bytes.data()), m.bytes.size()});
      }
      m.editable_from = rng.below(4) == 0 ? rng.below(m.bytes.size() + 1) : 0;
      const auto d = rng.below(2) ? fw::session::Dir::kOriginal : fw::session::Dir::kReply;
      for (const auto& e : ins->on_message(ctx, st.get(), d, m)) {
        check(e.offset >= m.editable_from && e.offset + e.old_len <= m.bytes.size());
      }
    }
    pos += len;
  }
  ins->on_close(ctx, st.get());
  for (uint16_t p : ctx.held) check(ctx.owned.count(p) == 1);  // nothing leaked
  return 0;
}
