#include "fwd/trace_live.h"

#include <linux/netfilter.h>

#include <cstdio>
#include <sstream>

#include "fwd/dataplane.h"
#include "fwd/pipeline.h"

namespace fw::fwd {

using session::Dir;

namespace {

bool ports_of(uint8_t proto) { return proto == 6 || proto == 17; }

bool side_matches(const std::optional<common::IpAddr>& want, uint16_t want_port,
                  const common::IpAddr& a, uint16_t port, bool ports) {
  if (want && !(*want == a)) return false;
  return want_port == 0 || (ports && want_port == port);
}

std::string endpoint(const common::IpAddr& a, uint16_t port) {
  return a.str() + (a.is_v6() ? "." : ":") + std::to_string(port);
}

// "tcp 198.18.1.2:40000 --> 203.0.113.2:21" of a parsed packet.
std::string tuple_of(const packet::Parsed& p) {
  if (ports_of(p.proto)) return endpoint(p.src, p.sport) + " --> " + endpoint(p.dst, p.dport);
  return p.src.str() + " --> " + p.dst.str();
}

session::FlowKey key_of(const packet::Parsed& p) {
  session::FlowKey k;
  k.src = p.src;
  k.dst = p.dst;
  k.proto = p.proto;
  k.sport = p.sport;
  k.dport = p.dport;
  if (session::keyed_by_spi(p.proto)) session::set_key_spi(k, p.spi);  // "spi" area
  return k;
}

// The packet as packet-trace describes it (TraceRequest), from what arrived.
TraceRequest request_of(const QueuedPacket& qp, const packet::Parsed& p, RouteSource& routes) {
  TraceRequest req;
  packet::BuildSpec& s = req.spec;
  s.src = p.src;
  s.dst = p.dst;
  s.proto = p.proto;
  s.sport = p.sport;
  s.dport = p.dport;
  s.tcp_flags = p.tcp_flags;
  s.ttl = p.ttl;
  s.spi = p.spi;  // "spi" area
  if (p.proto == 1 || p.proto == 58) {
    s.icmp_type = p.icmp_type;
    s.icmp_code = p.icmp_code;
  }
  const bool local = qp.hook == NF_INET_LOCAL_OUT || qp.indev == 0;
  if (!local) {
    req.ifindex = qp.indev;
    req.in_linux = routes.ifname(qp.indev);
    if (req.in_linux.empty()) req.in_linux = "ifindex " + std::to_string(qp.indev);
  }
  return req;
}

}  // namespace

// ---- filter, sink, watches --------------------------------------------------------------------

bool LiveFilter::matches(const packet::Parsed& p, policy::ZoneId in_zone) const {
  if (proto && p.proto != proto) return false;
  if (zone != policy::kNoZone && in_zone != zone) return false;
  const bool ports = ports_of(p.proto);
  if (side_matches(src, sport, p.src, p.sport, ports) &&
      side_matches(dst, dport, p.dst, p.dport, ports))
    return true;
  return both && side_matches(src, sport, p.dst, p.dport, ports) &&
         side_matches(dst, dport, p.src, p.sport, ports);
}

void LiveAlgSink::parsed(std::string_view what) {
  events.push_back({LiveAlgEvent::Kind::kParsed, std::string(what), "", {}});
}
void LiveAlgSink::rewrote(std::string_view before, std::string_view after) {
  events.push_back({LiveAlgEvent::Kind::kRewrote, std::string(before), std::string(after), {}});
}
void LiveAlgSink::opened(const session::ServerMapEntry& e) {
  events.push_back({LiveAlgEvent::Kind::kOpened, "", "", e});
}
void LiveAlgSink::refused(std::string_view why) {
  events.push_back({LiveAlgEvent::Kind::kRefused, std::string(why), "", {}});
}

bool LiveWatch::claim() {
  uint32_t n = left_.load(std::memory_order_relaxed);
  while (n > 0 && !left_.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) {
  }
  return n > 0;
}

void LiveWatch::deliver(LiveRecord r) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (q_.size() >= kQueue) {
      ++lost_;
      return;
    }
    q_.push_back(std::move(r));
  }
  cv_.notify_one();
}

std::vector<LiveRecord> LiveWatch::take(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, wait, [&] { return !q_.empty(); });
  std::vector<LiveRecord> out(std::make_move_iterator(q_.begin()),
                              std::make_move_iterator(q_.end()));
  q_.clear();
  return out;
}

uint64_t LiveWatch::lost() const {
  std::lock_guard<std::mutex> lk(mu_);
  return lost_;
}

std::shared_ptr<LiveWatch> LiveTraces::arm(LiveFilter f, uint32_t count) {
  std::lock_guard<std::mutex> lk(mu_);
  auto cur = set_.load();
  if (cur->size() >= kMax) return nullptr;
  auto w = std::make_shared<LiveWatch>(std::move(f), count);
  auto next = std::make_shared<Set>(*cur);
  next->push_back(w);
  set_.store(std::move(next));
  armed_.store(true, std::memory_order_relaxed);
  return w;
}

void LiveTraces::disarm(const std::shared_ptr<LiveWatch>& w) {
  std::lock_guard<std::mutex> lk(mu_);
  auto next = std::make_shared<Set>(*set_.load());
  std::erase(*next, w);
  armed_.store(!next->empty(), std::memory_order_relaxed);
  set_.store(std::move(next));
}

std::vector<std::shared_ptr<LiveWatch>> LiveTraces::claim(
    const packet::Parsed& p, const std::function<policy::ZoneId()>& in_zone) {
  std::vector<std::shared_ptr<LiveWatch>> out;
  for (const auto& w : *set_.load()) {
    const policy::ZoneId z = w->filter.zone == policy::kNoZone ? policy::kNoZone : in_zone();
    if (w->filter.matches(p, z) && w->claim()) out.push_back(w);
  }
  return out;
}

// ---- the packet path, while a watch is armed --------------------------------------------------

Decision Pipeline::run_live(QueuedPacket& qp, const Runtime& rt) {
  auto res = packet::parse(std::span<const uint8_t>(qp.data, qp.len));
  const packet::Parsed* p = std::get_if<packet::Parsed>(&res);
  if (!p) return run(qp, rt);  // (a malformed packet has no addresses to match)
  auto watches = live_->claim(*p, [&] {
    const bool local = qp.hook == NF_INET_LOCAL_OUT || qp.indev == 0;
    return local ? rt.zones.local() : rt.zone_of_ifindex(qp.indev, parts_.routes);
  });
  if (watches.empty()) return run(qp, rt);
  LiveRecord r;
  live_before(qp, *p, rt, r);
  LiveAlgSink sink;
  const Decision d = run(qp, rt, &sink);
  r.alg = std::move(sink.events);
  live_after(qp, *p, d, r);
  for (size_t i = 0; i + 1 < watches.size(); ++i) watches[i]->deliver(r);
  watches.back()->deliver(std::move(r));
  return d;
}

// The dry trace of the packet as it arrived (nothing changes), and its tuple.
void Pipeline::live_before(QueuedPacket& qp, const packet::Parsed& p, const Runtime& rt,
                           LiveRecord& r) {
  r.time_ms = parts_.clock.now_ms();
  r.req = request_of(qp, p, parts_.routes);
  trace_run(qp, rt, r.dry);
  r.before = tuple_of(p);
}

// What really happened: the verdict, the packet as it left, the session afterwards.
void Pipeline::live_after(const QueuedPacket& qp, const packet::Parsed& p, Decision d,
                          LiveRecord& r) {
  r.verdict = d.verdict;
  r.modified = d.modified;
  r.after = r.before;
  if (d.modified) {
    auto out = packet::parse(std::span<const uint8_t>(qp.data, d.len ? d.len : qp.len));
    if (const auto* q = std::get_if<packet::Parsed>(&out)) {
      r.after = tuple_of(*q);
      if (p.proto == 6 && q->proto == 6) {
        r.seq_shift = static_cast<int32_t>(q->seq - p.seq);
        r.ack_shift = static_cast<int32_t>(q->ack - p.ack);
      }
    }
  }
  auto copy = [&](session::Session& s, Dir dir) {
    r.session = s;
    r.session->alg_data = nullptr;
    r.dir = dir;
  };
  session::FlowKey key = key_of(p);
  if (!parts_.table.with_session(key, copy) && packet::key_is_optional(p.proto)) {
    key.dport = 0;
    parts_.table.with_session(key, copy);
  }
  if (r.session) r.alg_id = r.session->alg;
}

// ---- rendering (the command's thread) ---------------------------------------------------------

namespace {

// The session-table line (`display firewall session table`) of a session.
std::string session_line(DataPlane& dp, const session::Session& s) {
  std::pair<uint16_t, uint16_t> ports{s.orig.sport, s.nat.snat_port};
  if (const auto* ins = dp.algs().get(dp.apps().alg_of(s.app))) ports = ins->shown_ports(s);
  std::string src = endpoint(s.orig.src, ports.first);
  if (s.nat.snat) src += "[" + endpoint(s.nat.snat_addr, ports.second) + "]";
  std::string dst = endpoint(s.orig.dst, s.orig.dport);
  if (s.nat.dnat) dst += "[" + endpoint(s.nat.dnat_addr, s.nat.dnat_port) + "]";
  return std::string(dp.apps().name(s.app)) + "  VPN: public --> public  " + src +
         (s.has_servermap ? " +-> " : " --> ") + dst;
}

// A server-map entry as `display firewall server-map` shows it (type, endpoints, protocol).
std::string entry_line(DataPlane& dp, const session::ServerMapEntry& e) {
  const aspf::Inspector* ins = dp.algs().get(e.alg);
  auto ep = [](const common::IpAddr& a, uint16_t port) {
    return port ? endpoint(a, port) : a.str();
  };
  std::string to = ep(e.addr, e.port);
  if (!e.xaddr.empty())
    to += "[" + ep(e.xaddr, e.xport >= 0 ? static_cast<uint16_t>(e.xport) : e.port) + "]";
  std::string proto = e.proto == 6 ? "tcp" : e.proto == 17 ? "udp" : e.proto == 47 ? "gre" : "---";
  if (ins && e.channel < ins->spec().channels.size())
    proto += "(Appro: " + std::string(ins->spec().channels[e.channel].app) + ")";
  return "Type: " + std::string(session::map_type_name(session::MapType::kAspf)) + ",  " +
         (e.peer.empty() ? std::string("ANY") : e.peer.str()) + " -> " + to +
         ",  protocol:" + proto;
}

// What a peer sent (a file name, a line), safe to print: control bytes become \xNN.
std::string printable(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      o += static_cast<char>(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    }
  }
  return o;
}

std::string alg_name(DataPlane& dp, uint8_t id) {
  const aspf::Inspector* ins = dp.algs().get(id);
  return ins ? std::string(ins->spec().name) : std::string("?");
}

std::string action_of(const LiveRecord& r) {
  if (r.verdict != Verdict::kAccept) return "drop";
  return r.modified ? "permit (translated or rewritten)" : "permit";
}

std::string reason_of(const LiveRecord& r) {
  if (r.verdict == Verdict::kAccept) return "";
  if (r.dry.drop) return drop_reason_names()[static_cast<size_t>(*r.dry.drop)];
  return "the ALG refused the packet or the tables changed meanwhile";
}

std::string seconds(uint64_t t, uint64_t t0) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", t > t0 ? static_cast<double>(t - t0) / 1000 : 0.0);
  return b;
}

std::string text_of(const LiveRecord& r, const TraceReport& rep, DataPlane& dp, size_t n,
                    uint64_t t0) {
  std::ostringstream os;
  os << " Live trace packet " << n << " (+" << seconds(r.time_ms, t0) << " s)\n";
  std::string steps = render_text(rep);
  os << steps.substr(0, steps.find("\n Action: ") + 1);  // (what happened comes below)
  if (r.session) {
    os << " Session " << session_id_text(r.session->id) << " ("
       << (r.dir == Dir::kOriginal ? "original" : "reply")
       << " direction): " << session_line(dp, *r.session) << "\n";
  }
  if (r.after != r.before) os << " NAT applied: " << r.before << " became " << r.after << "\n";
  if (r.seq_shift || r.ack_shift)
    os << " Seq adjust: seq " << std::showpos << r.seq_shift << ", ack " << r.ack_shift
       << std::noshowpos << "\n";
  const std::string alg = "ALG " + alg_name(dp, r.alg_id);
  for (const auto& e : r.alg) {
    switch (e.kind) {
      case LiveAlgEvent::Kind::kParsed:
        os << " " << alg << " parsed: " << printable(e.text) << "\n";
        break;
      case LiveAlgEvent::Kind::kRewrote:
        os << " " << alg << " rewrote: " << printable(e.text) << "\n "
           << std::string(alg.size() + 6, ' ') << "to: " << printable(e.after) << "\n";
        break;
      case LiveAlgEvent::Kind::kOpened:
        os << " " << alg << " opened: " << entry_line(dp, e.entry) << "\n";
        break;
      case LiveAlgEvent::Kind::kRefused:
        os << " " << alg << " refused: " << printable(e.text) << "\n";
        break;
    }
  }
  os << " Action: " << action_of(r) << "\n";
  if (r.verdict != Verdict::kAccept) os << " Drop reason: " << reason_of(r) << "\n";
  os << "\n";
  return os.str();
}

std::string json_of(const LiveRecord& r, const TraceReport& rep, DataPlane& dp, size_t n,
                    uint64_t t0) {
  std::string trace = render_json(rep);
  while (!trace.empty() && trace.back() == '\n') trace.pop_back();
  std::ostringstream os;
  os << "{\"packet_number\": " << n << ", \"time_s\": " << seconds(r.time_ms, t0)
     << ",\n \"trace\": " << trace << ",\n \"action\": " << json_string(action_of(r))
     << ", \"reason\": "
     << (r.verdict == Verdict::kAccept ? std::string("null") : json_string(reason_of(r)))
     << ", \"before\": " << json_string(r.before) << ", \"after\": " << json_string(r.after)
     << ", \"seq_shift\": " << r.seq_shift << ", \"ack_shift\": " << r.ack_shift
     << ",\n \"session\": ";
  if (r.session) {
    os << "{\"id\": " << json_string(session_id_text(r.session->id))
       << ", \"direction\": " << json_string(r.dir == Dir::kOriginal ? "original" : "reply")
       << ", \"line\": " << json_string(session_line(dp, *r.session)) << "}";
  } else {
    os << "null";
  }
  os << ",\n \"alg\": [";
  const std::string alg = json_string(alg_name(dp, r.alg_id));
  for (size_t i = 0; i < r.alg.size(); ++i) {
    const auto& e = r.alg[i];
    os << (i ? ", " : "") << "{\"alg\": " << alg << ", ";
    switch (e.kind) {
      case LiveAlgEvent::Kind::kParsed:
        os << "\"event\": \"parsed\", \"text\": " << json_string(e.text) << "}";
        break;
      case LiveAlgEvent::Kind::kRewrote:
        os << "\"event\": \"rewrote\", \"before\": " << json_string(e.text)
           << ", \"after\": " << json_string(e.after) << "}";
        break;
      case LiveAlgEvent::Kind::kOpened:
        os << "\"event\": \"opened\", \"entry\": " << json_string(entry_line(dp, e.entry)) << "}";
        break;
      case LiveAlgEvent::Kind::kRefused:
        os << "\"event\": \"refused\", \"text\": " << json_string(e.text) << "}";
        break;
    }
  }
  os << "]}\n";
  return os.str();
}

}  // namespace

std::string render_live(const LiveRecord& r, DataPlane& dp, const config::Config& cfg, size_t n,
                        uint64_t t0, bool json) {
  TraceRequest req = r.req;
  req.in_shown = req.ifindex ? cfg.shown_ifname(req.in_linux) : "";
  const TraceReport rep = explain(r.dry, dp, cfg, req);
  return json ? json_of(r, rep, dp, n, t0) : text_of(r, rep, dp, n, t0);
}

}  // namespace fw::fwd
