#include "aspf/engine.h"

#include <algorithm>
#include <cstring>

#include "aspf/registry.h"
#include "common/log.h"
#include "packet/checksum.h"
#include "policy/policy.h"

namespace fw::aspf {

using session::Dir;

namespace {
constexpr size_t kMaxRewritesPerDir = 32;

size_t di(Dir d) { return static_cast<size_t>(d); }

// Serial-number comparison: a < b.
bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
}  // namespace

DetectConfig::DetectConfig(const config::Config& c) {
  for (const auto& n : c.detect_global) {
    if (uint8_t id = inspector_id(n)) global_.insert(id);
  }
  for (const auto& iz : c.interzones) {
    uint8_t z1 = policy::zone_id_of(iz.zone1), z2 = policy::zone_id_of(iz.zone2);
    for (const auto& n : iz.detect) {
      if (uint8_t id = inspector_id(n)) zones_[{std::min(z1, z2), std::max(z1, z2)}].insert(id);
    }
  }
  const auto& all = inspectors();
  for (size_t i = 0; i < all.size(); ++i) {
    ports_[{all[i]->proto(), all[i]->default_port()}] = static_cast<uint8_t>(i + 1);
  }
  for (const auto& pm : c.port_mappings) {
    if (uint8_t id = inspector_id(pm.alg)) ports_[{inspector(id)->proto(), pm.port}] = id;
  }
}

uint8_t DetectConfig::classify(uint8_t sz, uint8_t dz, uint8_t proto, uint16_t dport) const {
  auto it = ports_.find({proto, dport});
  if (it == ports_.end()) return 0;
  uint8_t id = it->second;
  if (global_.count(id)) return id;
  auto z = zones_.find({std::min(sz, dz), std::max(sz, dz)});
  if (z != zones_.end() && z->second.count(id)) return id;
  return 0;
}

class Engine::Ctx final : public Context {
 public:
  Ctx(Engine& e, SessState& st, const session::Session& s, const Inspector& ins)
      : e_(e), st_(st), s_(s), ins_(ins) {}
  const session::Session& control() const override { return s_; }
  uint64_t now_ms() const override { return e_.clock_.now_ms(); }
  bool open(session::ServerMapEntry entry) override {
    entry.type = session::MapType::kAspf;
    entry.parent = s_.id;
    std::string why;
    if (!e_.servermap_.add(std::move(entry), nullptr, &why)) {
      refuse("cap", why);
      return false;
    }
    opened = true;
    count("opened");
    return true;
  }
  nat::NatState& nat() override { return e_.nat_; }
  void age_children(uint8_t proto, uint16_t a, uint16_t b) override {
    if (e_.ager_) e_.ager_(s_.id, proto, a, b);
  }
  void close_entries(const std::function<bool(const session::ServerMapEntry&)>& pred) override {
    uint64_t id = s_.id;
    e_.servermap_.remove_if(
        [&](const session::ServerMapEntry& e) { return e.parent == id && pred(e); });
  }
  void refuse(std::string_view reason, std::string_view detail) override {
    std::string r(reason);
    common::counters().get("aspf." + std::string(ins_.name()) + ".refused." + r).inc();
    if (st_.logged.insert(r).second) {
      FW_LOG(kWarn, "aspf " << ins_.name() << ": session " << std::hex << s_.id << std::dec << " "
                            << s_.orig.src.str() << " -> " << s_.orig.dst.str() << ": refused ("
                            << r << "): " << detail);
    }
  }
  void count(std::string_view what) override {
    common::counters().get("aspf." + std::string(ins_.name()) + "." + std::string(what)).inc();
  }
  bool opened = false;

 private:
  Engine& e_;
  SessState& st_;
  const session::Session& s_;
  const Inspector& ins_;
};

Engine::Engine(const common::Clock& clock, session::ServerMap& servermap, nat::NatState& nat)
    : clock_(clock), servermap_(servermap), nat_(nat) {}

Engine::~Engine() = default;

size_t Engine::states() const {
  std::lock_guard<std::mutex> lk(mu_);
  return states_.size();
}

std::shared_ptr<Engine::SessState> Engine::state_for(const session::Session& s) {
  std::lock_guard<std::mutex> lk(mu_);
  auto& p = states_[s.id];
  if (!p) {
    p = std::make_shared<SessState>();
    p->alg = s.alg;
    const Inspector* ins = inspector(s.alg);
    for (auto& d : p->dirs) d.framer = ins->new_framer();
    p->st = ins->new_state();
  }
  return p;
}

void Engine::session_ended(const session::Session& s) {
  std::shared_ptr<SessState> st;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = states_.find(s.id);
    if (it == states_.end()) return;
    st = it->second;
    states_.erase(it);
  }
  const Inspector* ins = inspector(st->alg);
  std::lock_guard<std::mutex> lk(st->mu);
  if (ins) {
    Ctx ctx(*this, *st, s, *ins);
    ins->on_close(ctx, st->st.get());
  }
}

EngineResult Engine::process(uint8_t* data, uint32_t* len, uint32_t capacity,
                             const session::Session& s, Dir d) {
  EngineResult res;
  const Inspector* ins = inspector(s.alg);
  if (!ins) return res;
  auto pr = packet::parse(std::span<const uint8_t>(data, *len));
  const auto* p = std::get_if<packet::Parsed>(&pr);
  if (!p || p->proto != packet::kProtoTcp || !p->has_l4 || p->is_fragment) return res;

  auto st = state_for(s);
  std::lock_guard<std::mutex> lk(st->mu);
  Dir o = d == Dir::kOriginal ? Dir::kReply : Dir::kOriginal;
  auto& dir = st->dirs[di(d)];
  if (p->tcp_flags & packet::kTcpSyn) {
    dir.framer->start(p->seq + 1);
  }
  if (p->payload_len > 0 && dir.framer->started()) {
    Ctx ctx(*this, *st, s, *ins);
    auto msgs = dir.framer->feed(
        p->seq, std::span<const uint8_t>(data + p->payload_offset, p->payload_len));
    for (auto& m : msgs) {
      m.editable_from = seq_lt(m.seq, p->seq) ? static_cast<size_t>(p->seq - m.seq) : 0;
      ctx.count("messages");
      for (const auto& e : ins->on_message(ctx, st->st.get(), d, m)) {
        if (e.offset + e.old_len > m.bytes.size() || e.offset < m.editable_from) continue;
        Rewrite rw;
        rw.pos = m.seq + static_cast<uint32_t>(e.offset);
        rw.old_bytes.assign(m.bytes.begin() + static_cast<long>(e.offset),
                            m.bytes.begin() + static_cast<long>(e.offset + e.old_len));
        rw.new_bytes.assign(e.replacement.begin(), e.replacement.end());
        if (rw.old_bytes == rw.new_bytes) continue;
        dir.adjust.record(rw.pos, static_cast<uint32_t>(rw.old_bytes.size()),
                          static_cast<uint32_t>(rw.new_bytes.size()));
        dir.rewrites.push_back(std::move(rw));
        if (dir.rewrites.size() > kMaxRewritesPerDir) dir.rewrites.erase(dir.rewrites.begin());
        ctx.count("rewrites");
      }
    }
    res.opened = ctx.opened;
  }

  // Apply every recorded rewrite that lies wholly inside this segment (first
  // transmission and retransmissions alike), back to front so offsets hold.
  bool changed = false;
  if (p->payload_len > 0 && !dir.rewrites.empty()) {
    uint32_t seg_start = p->seq, seg_end = p->seq + p->payload_len;
    std::vector<const Rewrite*> hits;
    for (const auto& rw : dir.rewrites) {
      uint32_t end = rw.pos + static_cast<uint32_t>(rw.old_bytes.size());
      if (seq_lt(rw.pos, seg_start) || seq_lt(seg_end, end)) continue;
      size_t off = p->payload_offset + (rw.pos - seg_start);
      if (std::memcmp(data + off, rw.old_bytes.data(), rw.old_bytes.size()) != 0) continue;
      hits.push_back(&rw);
    }
    std::sort(hits.begin(), hits.end(),
              [](const Rewrite* a, const Rewrite* b) { return seq_lt(b->pos, a->pos); });
    for (const Rewrite* rw : hits) {
      size_t off = p->payload_offset + (rw->pos - seg_start);
      long delta =
          static_cast<long>(rw->new_bytes.size()) - static_cast<long>(rw->old_bytes.size());
      if (static_cast<long>(*len) + delta > static_cast<long>(capacity) ||
          static_cast<long>(*len) + delta > 65535) {
        common::counters().get("aspf." + std::string(ins->name()) + ".refused.no-room").inc();
        continue;
      }
      size_t tail = *len - (off + rw->old_bytes.size());
      std::memmove(data + off + rw->new_bytes.size(), data + off + rw->old_bytes.size(), tail);
      std::memcpy(data + off, rw->new_bytes.data(), rw->new_bytes.size());
      *len = static_cast<uint32_t>(static_cast<long>(*len) + delta);
      changed = true;
    }
    if (changed) {
      // New IP length fields.
      if (p->ip_version == 4) {
        data[2] = static_cast<uint8_t>(*len >> 8);
        data[3] = static_cast<uint8_t>(*len);
      } else {
        uint32_t pl = *len - 40;
        data[4] = static_cast<uint8_t>(pl >> 8);
        data[5] = static_cast<uint8_t>(pl);
      }
    }
  }
  // Sequence numbers of this direction and acks for the other's rewrites.
  const auto& own = st->dirs[di(d)].adjust;
  const auto& peer = st->dirs[di(o)].adjust;
  if (!own.empty() || !peer.empty()) {
    auto pr2 = packet::parse(std::span<const uint8_t>(data, *len));
    if (const auto* p2 = std::get_if<packet::Parsed>(&pr2)) {
      if (session::adjust_tcp(std::span<uint8_t>(data, *len), *p2, own.empty() ? nullptr : &own,
                              peer.empty() ? nullptr : &peer)) {
        changed = true;
      }
    }
  }
  if (changed) {
    packet::fix_checksums(std::span<uint8_t>(data, *len), false);
    res.modified = true;
  }
  return res;
}

}  // namespace fw::aspf
