#include "aspf/engine.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <tuple>

#include "common/bytes.h"
#include "common/log.h"
#include "packet/checksum.h"
#include "session/seq_adjust.h"

namespace fw::aspf {

using session::Dir;

namespace {
constexpr size_t kMaxRewritesPerDir = 64;  // a segment may carry several SIP messages
// Farther ahead than any TCP window (2^30 with scaling): not stream data.
constexpr uint32_t kMaxAdvance = 1u << 30;
// Scoped refusals (Context::log_scope) remembered as logged, per control session: the latest
// ones; an older one forgotten is logged again if it recurs (a trunk's dialogs come and go).
constexpr size_t kMaxScopedLogged = 256;
constexpr size_t kMaxScopeLabel = 64;

size_t di(Dir d) { return static_cast<size_t>(d); }

// Serial-number comparison: a < b.
bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

// Live trace: a message as text when it is text (a line), else its bytes in hex.
bool is_text(std::span<const uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t c) {
    return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\r' || c == '\n';
  });
}

std::string hex(std::span<const uint8_t> b) {
  static const char kHex[] = "0123456789abcdef";
  std::string h;
  for (uint8_t c : b.first(std::min<size_t>(b.size(), 64))) {
    if (!h.empty()) h += ' ';
    h += kHex[c >> 4];
    h += kHex[c & 15];
  }
  return h + (b.size() > 64 ? " ..." : "");
}

std::string without_eol(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.pop_back();
  return s;
}

// Live trace: message `m` before and after edit `e` (binary: just the bytes replaced).
void trace_rewrite(TraceSink& t, const std::vector<uint8_t>& m, const Edit& e) {
  std::span<const uint8_t> all(m);
  std::span<const uint8_t> rep(reinterpret_cast<const uint8_t*>(e.replacement.data()),
                               e.replacement.size());
  if (is_text(all) && is_text(rep)) {
    std::string before(m.begin(), m.end()), after = before;
    after.replace(e.offset, e.old_len, e.replacement);
    t.rewrote(without_eol(before), without_eol(after));
    return;
  }
  const std::string at = "bytes " + std::to_string(e.offset) + ": ";
  t.rewrote(at + hex(all.subspan(e.offset, e.old_len)), at + hex(rep));
}
}  // namespace

DetectConfig::DetectConfig(const config::Config& c, const Registry& algs,
                           const std::function<uint8_t(const std::string&)>& zone_id) {
  for (const auto& n : c.detect_global) {
    if (uint8_t id = algs.id_of(n)) global_.insert(id);
  }
  for (const auto& iz : c.interzones) {
    const uint8_t z1 = zone_id(iz.zone1), z2 = zone_id(iz.zone2);
    for (const auto& n : iz.detect) {
      if (uint8_t id = algs.id_of(n)) zones_[{std::min(z1, z2), std::max(z1, z2)}].insert(id);
    }
  }
  for (uint8_t id = 1; id <= algs.size(); ++id) {
    const AlgSpec& s = algs.get(id)->spec();
    for (uint8_t proto : s.protos) {
      if (proto != 0) ports_[{proto, s.default_port}] = id;
    }
    names_[std::string(s.name)] = {id, s.protos};
  }
  for (const auto& pm : c.port_mappings) {
    uint8_t id = algs.id_of(pm.alg);
    if (id == 0) continue;
    for (uint8_t proto : algs.get(id)->spec().protos) {
      if (proto != 0) ports_[{proto, pm.port}] = id;
    }
  }
}

uint8_t DetectConfig::classify(uint8_t sz, uint8_t dz, uint8_t proto, uint16_t dport) const {
  auto it = ports_.find({proto, dport});
  if (it == ports_.end()) return 0;
  return enabled(it->second, sz, dz) ? it->second : 0;
}

uint8_t DetectConfig::classify_application(uint8_t sz, uint8_t dz, uint8_t proto,
                                           std::string_view app) const {
  auto it = names_.find(app);
  if (it == names_.end() || proto == 0) return 0;
  const auto& [id, protos] = it->second;
  if (protos[0] != proto && protos[1] != proto) return 0;
  return enabled(id, sz, dz) ? id : 0;
}

bool DetectConfig::enabled(uint8_t id, uint8_t sz, uint8_t dz) const {
  if (global_.count(id)) return true;
  auto z = zones_.find({std::min(sz, dz), std::max(sz, dz)});
  return z != zones_.end() && z->second.count(id);
}

// The ALG data of one control session (session::AlgData, owned by the session).
struct Engine::SessionAlg final : session::AlgData {
  struct Rewrite {
    uint32_t pos;  // original seq of the first replaced byte
    std::vector<uint8_t> old_bytes;
    std::vector<uint8_t> new_bytes;
  };
  struct Direction {
    std::unique_ptr<Framer> framer;
    session::SeqAdjust adjust;
    std::vector<Rewrite> rewrites;  // bounded, oldest dropped
    // Sender's seq just after the newest payload byte seen (restart: where
    // inspection resumes, so data inspected before it is not inspected twice).
    bool have_end = false;
    uint32_t stream_end = 0;
    bool resume = false;  // restored: the framer starts at the next new data, unsynchronised
  };
  std::array<Direction, 2> dirs;
  std::unique_ptr<State> st;
  uint64_t hold_until_ms = 0;                // Context::hold_control
  std::set<std::pair<bool, size_t>> logged;  // (engine counter?, index) refusals already logged
  // Context::log_scope: (scope, engine counter?, index) already logged, and their age order.
  using ScopedKey = std::tuple<uint64_t, bool, size_t>;
  std::set<ScopedKey> logged_scoped;
  std::deque<ScopedKey> logged_order;
  // Whether refusal (engine?, i) in scope `key` is logged now: its first time in the scope.
  bool first_refusal(uint64_t key, bool engine, size_t i) {
    if (key == 0) return logged.insert({engine, i}).second;
    ScopedKey k{key, engine, i};
    if (!logged_scoped.insert(k).second) return false;
    logged_order.push_back(k);
    if (logged_order.size() > kMaxScopedLogged) {
      logged_scoped.erase(logged_order.front());
      logged_order.pop_front();
    }
    return true;
  }
};

class Engine::Ctx final : public Context {
 public:
  Ctx(Engine& e, SessionAlg& sa, const session::Session& s, EngineResult& r,
      TraceSink* sink = nullptr)
      : e_(e), sa_(sa), s_(s), r_(r), ins_(*e.algs_.get(s.alg)), sink_(sink) {}
  TraceSink* trace() const override { return sink_; }
  const session::Session& control() const override { return s_; }
  uint64_t now_ms() const override { return e_.clock_.now_ms(); }
  bool open(session::ServerMapEntry entry) override {
    entry.type = session::MapType::kAspf;
    entry.parent = s_.id;
    entry.alg = s_.alg;
    entry.source = s_.orig.src;                  // "srclimit": capped per source address
    const session::ServerMapEntry held = entry;  // what a refused entry gives back
    std::string why;
    if (!e_.servermap_.add(std::move(entry), nullptr, &why, ins_.max_entries_per_session())) {
      e_.nat_.entry_removed(held);  // a port reserved for it goes back (no leak per refusal)
      engine_refuse(kRefusedCap, why);
      return false;
    }
    r_.opened = true;
    e_.algs_.engine_counters(s_.alg).inc(kOpened);
    if (sink_) sink_->opened(held);
    return true;
  }
  void close_entries(const std::function<bool(const session::ServerMapEntry&)>& pred) override {
    e_.servermap_.remove_parent(s_.id, pred);
  }
  void hold_control(uint64_t until_ms) override { sa_.hold_until_ms = until_ms; }
  void age_children(uint8_t proto, uint16_t a, uint16_t b) override {
    r_.age_children.push_back({proto, a, b});
  }
  std::optional<uint16_t> reserve_port(const common::IpAddr& addr, uint8_t proto,
                                       uint16_t hint) override {
    return e_.nat_.reserve_port(addr, proto, hint);
  }
  std::optional<uint16_t> reserve_port_pair(const common::IpAddr& addr, uint8_t proto) override {
    return e_.nat_.reserve_port_pair(addr, proto);
  }
  void release_port(const common::IpAddr& addr, uint8_t proto, uint16_t port) override {
    e_.nat_.release_port(addr, proto, port);
  }
  void count(size_t i) override { e_.algs_.counters(s_.alg).inc(i); }
  void log_scope(uint64_t key, std::string_view label) override {
    scope_ = key;
    scope_label_.clear();
    if (key == 0) return;
    for (char c : label.substr(0, kMaxScopeLabel)) {
      scope_label_ += c >= 0x20 && c < 0x7f ? c : '?';
    }
  }
  void refuse(size_t i, std::string_view detail) override {
    count(i);
    log_once(false, i, ins_.spec().counters.size() > i ? ins_.spec().counters[i] : "?", detail);
    if (sink_) sink_->refused(detail);
  }
  EngineResult& result() { return r_; }
  void engine_count(size_t i) { e_.algs_.engine_counters(s_.alg).inc(i); }
  void engine_refuse(size_t i, std::string_view detail) {
    engine_count(i);
    log_once(true, i, i == kRefusedCap ? "refused.cap" : "refused.no-room", detail);
    if (sink_) sink_->refused(detail);
  }

 private:
  void log_once(bool engine, size_t i, std::string_view name, std::string_view detail) {
    if (!sa_.first_refusal(scope_, engine, i)) return;
    // "refused.bounce" is logged as "refused (bounce)".
    constexpr std::string_view kRefused = "refused.";
    std::string what(name);
    if (name.substr(0, kRefused.size()) == kRefused) {
      what = "refused (" + std::string(name.substr(kRefused.size())) + ")";
    }
    FW_LOG(kWarn, "aspf " << ins_.spec().name << ": session " << std::hex << s_.id << std::dec
                          << " " << s_.orig.src.str() << " -> " << s_.orig.dst.str() << ": "
                          << (scope_ ? scope_label_ + ": " : "") << what << ": " << detail);
  }
  Engine& e_;
  SessionAlg& sa_;
  const session::Session& s_;
  EngineResult& r_;
  const Inspector& ins_;
  TraceSink* sink_;
  uint64_t scope_ = 0;  // log_scope: 0 = the control session
  std::string scope_label_;
};

Engine::Engine(Registry& algs, const common::Clock& clock, session::ServerMap& servermap,
               nat::Translator& nat)
    : algs_(algs), clock_(clock), servermap_(servermap), nat_(nat) {}

Engine::SessionAlg& Engine::data_for(session::Session& s, const Inspector& ins) {
  if (!s.alg_data) {
    auto sa = std::make_unique<SessionAlg>();
    if (s.orig.proto == packet::kProtoTcp) {
      for (auto& d : sa->dirs) d.framer = ins.new_framer();
    }
    sa->st = ins.new_state();
    s.alg_data = sa.release();  // the session owns it from here (session_ended frees it)
  }
  return static_cast<SessionAlg&>(*s.alg_data);
}

void Engine::take_over(session::Session& s, const packet::Parsed& p, Dir d) {
  Inspector* ins = algs_.get(s.alg);
  if (!ins || p.proto != packet::kProtoTcp || !ins->spec().carries(packet::kProtoTcp)) return;
  SessionAlg& sa = data_for(s, *ins);
  if (!sa.dirs[0].framer || !sa.dirs[1].framer) return;
  sa.dirs[di(d)].framer->start(p.seq);
  if (p.tcp_flags & packet::kTcpAck) sa.dirs[di(session::other(d))].framer->start(p.ack);
}

EngineResult Engine::process(uint8_t* data, uint32_t* len, uint32_t capacity, packet::Parsed& p,
                             session::Session& s, Dir d, TraceSink* sink) {
  EngineResult res;
  Inspector* ins = algs_.get(s.alg);
  if (!ins || !p.has_l4 || p.is_fragment || !ins->spec().carries(p.proto)) return res;
  SessionAlg& sa = data_for(s, *ins);
  Ctx ctx(*this, sa, s, res, sink);
  if (p.proto == packet::kProtoTcp) {
    process_stream(ctx, sa, *ins, data, len, capacity, p, d);
  } else if (p.proto == packet::kProtoUdp) {
    process_datagram(ctx, sa, *ins, data, len, capacity, p, d);
  }
  if (res.opened) s.has_servermap = true;
  if (sa.hold_until_ms > clock_.now_ms()) res.hold_until_ms = sa.hold_until_ms;
  return res;
}

bool Engine::splice(uint8_t* data, uint32_t* len, uint32_t capacity, packet::Parsed& p, size_t at,
                    size_t old_len, std::span<const uint8_t> with) {
  const long delta = static_cast<long>(with.size()) - static_cast<long>(old_len);
  const long new_len = static_cast<long>(*len) + delta;
  if (new_len > static_cast<long>(capacity) || new_len > 65535) return false;
  const size_t tail = *len - (at + old_len);
  std::memmove(data + at + with.size(), data + at + old_len, tail);
  std::memcpy(data + at, with.data(), with.size());
  *len = static_cast<uint32_t>(new_len);
  p.payload_len = static_cast<uint16_t>(p.payload_len + delta);
  p.ip_total_len = static_cast<uint32_t>(static_cast<long>(p.ip_total_len) + delta);
  if (p.ip_version == 4) {
    common::wr16(data + 2, static_cast<uint16_t>(p.ip_total_len));
  } else {
    common::wr16(data + 4, static_cast<uint16_t>(p.ip_total_len - 40));
  }
  return true;
}

void Engine::feed_framer(Ctx& ctx, SessionAlg& sa, Inspector& ins, const uint8_t* data,
                         const packet::Parsed& p, Dir d) {
  auto& dir = sa.dirs[di(d)];
  if (p.tcp_flags & packet::kTcpSyn) dir.framer->start(p.seq + 1);
  if (p.payload_len == 0) return;
  std::span<const uint8_t> payload(data + p.payload_offset, p.payload_len);
  uint32_t seq = p.seq;
  if (dir.resume) {
    // Restored: what was inspected before the restart is not fed again (it
    // would be parsed twice); the fresh framer is fed unstarted, so it waits
    // for a message boundary or, if it cannot find one, stays idle.
    if (dir.have_end && seq_lt(seq, dir.stream_end)) {
      const uint32_t seen = dir.stream_end - seq;
      if (seen >= payload.size()) return;
      payload = payload.subspan(seen);
      seq = dir.stream_end;
    }
    dir.resume = false;
  } else if (!dir.framer->started()) {
    return;
  }
  const uint32_t end = seq + static_cast<uint32_t>(payload.size());
  // A segment implausibly far ahead is garbage the framer ignores too.
  if (!dir.have_end || (seq_lt(dir.stream_end, end) && end - dir.stream_end <= kMaxAdvance)) {
    dir.have_end = true;
    dir.stream_end = end;
  }
  for (auto& m : dir.framer->feed(seq, payload)) {
    m.editable_from = seq_lt(m.seq, p.seq) ? static_cast<size_t>(p.seq - m.seq) : 0;
    inspect_message(ctx, sa, ins, m, d);
  }
}

void Engine::inspect_message(Ctx& ctx, SessionAlg& sa, Inspector& ins, const Message& m, Dir d) {
  auto& dir = sa.dirs[di(d)];
  ctx.engine_count(kMessages);
  ctx.log_scope(0, {});  // every message starts in the control session's scope
  // In stream order (SeqAdjust records rewrites by increasing position); an
  // edit overlapping the one before it is ignored.
  std::vector<Edit> edits = ins.on_message(ctx, sa.st.get(), d, m);
  std::stable_sort(edits.begin(), edits.end(),
                   [](const Edit& a, const Edit& b) { return a.offset < b.offset; });
  size_t done = 0;
  for (const auto& e : edits) {
    if (e.offset + e.old_len > m.bytes.size() || e.offset < m.editable_from) continue;
    if (e.offset < done) continue;
    done = e.offset + e.old_len;
    SessionAlg::Rewrite rw;
    rw.pos = m.seq + static_cast<uint32_t>(e.offset);
    rw.old_bytes.assign(m.bytes.begin() + static_cast<long>(e.offset),
                        m.bytes.begin() + static_cast<long>(e.offset + e.old_len));
    rw.new_bytes.assign(e.replacement.begin(), e.replacement.end());
    if (rw.old_bytes == rw.new_bytes) continue;
    dir.adjust.record(rw.pos, static_cast<uint32_t>(rw.old_bytes.size()),
                      static_cast<uint32_t>(rw.new_bytes.size()));
    if (ctx.trace()) trace_rewrite(*ctx.trace(), m.bytes, e);
    dir.rewrites.push_back(std::move(rw));
    if (dir.rewrites.size() > kMaxRewritesPerDir) dir.rewrites.erase(dir.rewrites.begin());
    ctx.engine_count(kRewrites);
  }
}

void Engine::process_stream(Ctx& ctx, SessionAlg& sa, Inspector& ins, uint8_t* data, uint32_t* len,
                            uint32_t capacity, packet::Parsed& p, Dir d) {
  auto& dir = sa.dirs[di(d)];
  if (!dir.framer) return;
  feed_framer(ctx, sa, ins, data, p, d);
  ctx.log_scope(0, {});  // the rewrites below may belong to any message of the stream

  // Apply every recorded rewrite that lies wholly inside this segment (first
  // transmission and retransmissions alike), back to front so offsets hold.
  bool changed = false;
  if (p.payload_len > 0 && !dir.rewrites.empty()) {
    const uint32_t seg_start = p.seq, seg_end = p.seq + p.payload_len;
    std::vector<const SessionAlg::Rewrite*> hits;
    for (const auto& rw : dir.rewrites) {
      const uint32_t end = rw.pos + static_cast<uint32_t>(rw.old_bytes.size());
      if (seq_lt(rw.pos, seg_start) || seq_lt(seg_end, end)) continue;
      const size_t off = p.payload_offset + (rw.pos - seg_start);
      if (std::memcmp(data + off, rw.old_bytes.data(), rw.old_bytes.size()) != 0) continue;
      hits.push_back(&rw);
    }
    std::sort(hits.begin(), hits.end(),
              [](const auto* a, const auto* b) { return seq_lt(b->pos, a->pos); });
    for (const auto* rw : hits) {
      const size_t off = p.payload_offset + (rw->pos - seg_start);
      if (!splice(data, len, capacity, p, off, rw->old_bytes.size(), rw->new_bytes)) {
        ctx.engine_refuse(kRefusedNoRoom, "a rewritten segment would not fit");
        continue;
      }
      changed = true;
    }
  }
  // Sequence numbers of this direction and acks for the other's rewrites.
  const auto& own = sa.dirs[di(d)].adjust;
  const auto& peer = sa.dirs[di(session::other(d))].adjust;
  if (!own.empty() || !peer.empty()) {
    if (session::adjust_tcp(std::span<uint8_t>(data, *len), p, own.empty() ? nullptr : &own,
                            peer.empty() ? nullptr : &peer)) {
      changed = true;
    }
  }
  if (changed && packet::fix_checksums(std::span<uint8_t>(data, *len), p, false)) {
    ctx.result().modified = true;
  }
}

void Engine::process_datagram(Ctx& ctx, SessionAlg& sa, Inspector& ins, uint8_t* data,
                              uint32_t* len, uint32_t capacity, packet::Parsed& p, Dir d) {
  if (p.payload_len == 0) return;
  Message m;
  m.bytes.assign(data + p.payload_offset, data + p.payload_offset + p.payload_len);
  ctx.engine_count(kMessages);
  ctx.log_scope(0, {});
  std::vector<Edit> edits = ins.on_message(ctx, sa.st.get(), d, m);
  // Back to front, so earlier offsets hold; overlapping or out-of-range edits are ignored.
  std::sort(edits.begin(), edits.end(),
            [](const Edit& a, const Edit& b) { return a.offset > b.offset; });
  bool changed = false;
  size_t limit = m.bytes.size();
  for (const auto& e : edits) {
    if (e.offset + e.old_len > limit) continue;
    const auto* r = reinterpret_cast<const uint8_t*>(e.replacement.data());
    if (!splice(data, len, capacity, p, p.payload_offset + e.offset, e.old_len,
                std::span<const uint8_t>(r, e.replacement.size()))) {
      ctx.engine_refuse(kRefusedNoRoom, "a rewritten datagram would not fit");
      continue;
    }
    limit = e.offset;
    changed = true;
    ctx.engine_count(kRewrites);
    if (ctx.trace()) trace_rewrite(*ctx.trace(), m.bytes, e);
  }
  if (!changed) return;
  common::wr16(data + p.l4_offset + 4, static_cast<uint16_t>(p.l4_len + p.payload_len));
  if (packet::fix_checksums(std::span<uint8_t>(data, *len), p, false)) {
    ctx.result().modified = true;
  }
}

EngineResult Engine::session_ended(const session::Session& s) {
  EngineResult res;
  std::unique_ptr<SessionAlg> sa(static_cast<SessionAlg*>(s.alg_data));
  if (sa) {
    if (algs_.get(s.alg)) {
      Ctx ctx(*this, *sa, s, res);
      algs_.get(s.alg)->on_close(ctx, sa->st.get());
    }
  }
  if (s.has_servermap) servermap_.remove_parent(s.id);
  return res;
}

std::optional<session::snapshot::AlgState> Engine::save_alg(const session::Session& s) const {
  const auto* sa = dynamic_cast<const SessionAlg*>(s.alg_data);
  if (!sa) return std::nullopt;
  session::snapshot::AlgState out;
  for (size_t k = 0; k < sa->dirs.size(); ++k) {
    const SessionAlg::Direction& from = sa->dirs[k];
    session::snapshot::AlgDirection& to = out.dirs[k];
    to.adjust = from.adjust.save();
    for (const auto& rw : from.rewrites)
      to.rewrites.push_back({rw.pos, rw.old_bytes, rw.new_bytes});
    to.have_end = from.have_end;
    to.stream_end = from.stream_end;
  }
  return out;
}

bool Engine::load_alg(session::Session& s, const session::snapshot::AlgState& st) {
  const Inspector* ins = algs_.get(s.alg);
  if (!ins || s.alg_data) return false;
  auto sa = std::make_unique<SessionAlg>();
  for (size_t k = 0; k < sa->dirs.size(); ++k) {
    const session::snapshot::AlgDirection& from = st.dirs[k];
    SessionAlg::Direction& to = sa->dirs[k];
    if (!to.adjust.load(from.adjust)) return false;
    // The newest rewrites, as many as a live session keeps.
    const size_t n = std::min(from.rewrites.size(), kMaxRewritesPerDir);
    for (size_t i = from.rewrites.size() - n; i < from.rewrites.size(); ++i) {
      const auto& rw = from.rewrites[i];
      to.rewrites.push_back({rw.pos, rw.old_bytes, rw.new_bytes});
    }
    if (s.orig.proto == packet::kProtoTcp) to.framer = ins->new_framer();
    to.have_end = from.have_end;
    to.stream_end = from.stream_end;
    to.resume = true;
  }
  sa->st = ins->new_state();
  s.alg_data = sa.release();  // the session owns it from here (session_ended frees it)
  return true;
}

std::string Engine::describe(const session::Session& s) const {
  const auto* sa = dynamic_cast<const SessionAlg*>(s.alg_data);
  const Inspector* ins = algs_.get(s.alg);
  if (!sa || !ins) return {};
  return ins->describe(s, sa->st.get(), clock_.now_ms());
}

void Engine::child_flow(const session::ServerMapEntry& e, ChildFlow& c) const {
  if (const Inspector* ins = algs_.get(e.alg)) ins->child_flow(e, c);
}

}  // namespace fw::aspf
