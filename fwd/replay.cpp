#include "fwd/replay.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>

#include "capture/reader.h"
#include "capture/writer.h"
#include "cli/grammar.h"
#include "common/clock.h"
#include "config/config.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/options.h"
#include "fwd/table_routes.h"
#include "fwd/trace.h"  // json_string
#include "packet/parse.h"
#include "packet/proto_name.h"

namespace fw::fwd {

namespace {

constexpr uint32_t kHeadroom = 512;          // room for an ALG rewrite that lengthens a packet
constexpr uint64_t kMaintainEveryMs = 1000;  // the daemon's maintenance round, in capture time
constexpr uint8_t kHookLocalOut = 3;         // NF_INET_LOCAL_OUT

std::string endpoint(const common::IpAddr& a, uint16_t port, bool ports) {
  if (!ports) return a.str();
  return a.is_v6() ? "[" + a.str() + "]:" + std::to_string(port)
                   : a.str() + ":" + std::to_string(port);
}

// What one packet looked like and what became of it.
struct Line {
  uint64_t number = 0;
  uint64_t time_ns = 0;  // the capture's own time stamp
  double time_s = 0;     // since the first packet
  std::string ingress;   // interface name, "local" for the firewall's own
  std::string packet;    // "tcp 198.18.1.2:40000 -> 203.0.113.2:21", or why it was not fed
  std::string verdict;   // permit | drop | skip
  uint64_t session = 0;
  std::string nat;     // "198.18.1.2:40000[203.0.113.1:40000] -> 203.0.113.2:21", "" if none
  std::string reason;  // drop reason
  std::vector<std::string> events;  // counters the packet moved (ALG, NAT, server-map, session)
  int payload_delta = 0;            // an ALG rewrite's change of length
};

struct Tuple {
  bool ok = false;
  packet::Parsed p;
};

Tuple parse(const uint8_t* data, uint32_t len) {
  Tuple t;
  auto res = packet::parse(std::span<const uint8_t>(data, len));
  if (const auto* p = std::get_if<packet::Parsed>(&res)) {
    t.ok = true;
    t.p = *p;
  }
  return t;
}

// Ports as the session table shows them: TCP, UDP, GRE (call id), ICMP echo (identifier).
bool has_ports(const packet::Parsed& p) {
  if (!p.has_l4) return false;
  if (p.proto == packet::kProtoIcmp || p.proto == packet::kProtoIcmpv6) return p.icmp_echo;
  return p.proto == packet::kProtoTcp || p.proto == packet::kProtoUdp ||
         p.proto == packet::kProtoGre;
}

std::string describe(const packet::Parsed& p) {
  const bool ports = has_ports(p);
  return std::string(packet::ip_proto_name(p.proto)) + " " + endpoint(p.src, p.sport, ports) +
         " -> " + endpoint(p.dst, p.dport, ports);
}

// The session-table notation for a translated packet: a:p[x:q] -> b:r[y:s].
std::string nat_text(const packet::Parsed& a, const packet::Parsed& b) {
  const bool ports = has_ports(a);
  auto side = [&](const common::IpAddr& x, uint16_t xp, const common::IpAddr& y, uint16_t yp) {
    std::string s = endpoint(x, xp, ports);
    if (x != y || (ports && xp != yp)) s += "[" + endpoint(y, yp, ports) + "]";
    return s;
  };
  return side(a.src, a.sport, b.src, b.sport) + " -> " + side(a.dst, a.dport, b.dst, b.dport);
}

std::optional<std::string> read_text(const std::string& path, std::string* err) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *err = "cannot read --config " + path;
    return std::nullopt;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct IngressRule {
  common::Prefix prefix;
  std::string ifname;
};

class Replayer {
 public:
  bool setup(const ReplayInput& in, std::string* err);
  // Feeds every packet; false with *err when the capture breaks off.
  bool run(std::ostream& out, std::string* err);
  bool json() const { return json_; }
  void finish(std::ostream& out);
  bool close_write(std::string* err) { return !writer_ || writer_->close() || fail(err); }

 private:
  bool fail(std::string* err) {
    *err = writer_->error();
    return false;
  }
  bool setup_routes(const config::Config& c, const ReplayInput& in, std::string* err);
  bool setup_ingress(const ReplayInput& in, std::string* err);
  std::string ingress_of(const capture::Packet& cp, const packet::Parsed& p) const;
  void advance_clock(uint64_t time_ns);
  Line one(const capture::Packet& cp);
  void feed(const capture::Packet& cp, const packet::Parsed& before, Line* l);
  void account(Line* l);
  void write_out(const capture::Packet& cp, const std::vector<uint8_t>& buf, uint32_t len);
  void print(std::ostream& out, const Line& l, bool first);
  std::string display(const std::string& command);

  bool json_ = false;
  std::string capture_;
  common::ManualClock clock_{0};
  TableRoutes routes_;
  std::unique_ptr<DataPlane> dp_;
  std::unique_ptr<Controller> ctl_;
  std::vector<std::string> zone_ifs_;
  std::vector<IngressRule> ingress_;
  std::unique_ptr<capture::Reader> reader_;
  std::unique_ptr<capture::Writer> writer_;
  uint64_t first_ns_ = 0, next_maintain_ms_ = 0;
  bool started_ = false;
  std::map<std::string, uint64_t> counts_;  // verdict -> packets
  // The counters after the last packet fed (sorted by name), so one snapshot per packet.
  std::vector<std::pair<std::string, uint64_t>> counters_;
  bool counters_fresh_ = false;
};

bool Replayer::setup(const ReplayInput& in, std::string* err) {
  json_ = in.json;
  capture_ = in.capture;
  auto text = read_text(in.config_file, err);
  if (!text) return false;
  dp_ = std::make_unique<DataPlane>(clock_, routes_);
  ControllerHooks h;
  h.dataplane = dp_.get();
  h.ifname = [this](uint32_t i) { return routes_.ifname(i); };
  ctl_ = std::make_unique<Controller>(h);
  std::string e;
  if (!ctl_->load_text(*text, in.config_file, &e)) {
    *err = "configuration error at " + e;
    return false;
  }
  if (!setup_routes(ctl_->running(), in, err) || !setup_ingress(in, err)) return false;
  reader_ = capture::Reader::open(in.capture, err);
  if (!reader_) return false;
  if (!in.write.empty()) {
    writer_ = capture::Writer::create(in.write, err);
    if (!writer_) return false;
  }
  return true;
}

// The configured interfaces' subnets and addresses, --local, --route, the static routes (an
// equal prefix: the first added wins).
bool Replayer::setup_routes(const config::Config& c, const ReplayInput& in, std::string* err) {
  for (const auto& z : c.zones) {
    for (const auto& i : z.interfaces) {
      routes_.add_interface(i);
      zone_ifs_.push_back(i);
    }
  }
  for (const auto& s : c.interfaces) {
    for (const auto& a : s.addresses) {
      auto p = common::Prefix::from_len(a.addr, a.len);
      if (p && !routes_.add_route(p->addr.str() + "/" + std::to_string(a.len) + "=" + s.name, err))
        return false;
      if (!routes_.add_local(a.addr.str() + "=" + s.name, err)) return false;
    }
  }
  for (const auto& l : in.locals) {
    if (!routes_.add_local(l, err)) {
      *err = "--local: " + *err;
      return false;
    }
  }
  for (const auto& r : in.routes) {  // before the static routes: their next hops may need them
    if (!routes_.add_route(r, err)) {
      *err = "--route: " + *err;
      return false;
    }
  }
  for (const auto& r : c.static_routes) {
    std::string ifn = r.ifname.empty() ? "" : c.linux_ifname(r.ifname);
    if (ifn.empty() && !r.nexthop.empty()) ifn = routes_.ifname(routes_.route(r.nexthop).oif);
    if (ifn.empty()) continue;  // inactive, as the kernel would refuse it
    std::string spec = r.prefix.addr.str() + "/" + std::to_string(r.prefix.len) + "=" + ifn;
    if (!r.nexthop.empty()) spec += "," + r.nexthop.str();
    if (!routes_.add_route(spec, err)) return false;
  }
  return true;
}

// "198.18.1.0/24=in0" (an address alone is a host prefix).
std::optional<IngressRule> parse_ingress(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq + 1 >= spec.size()) return std::nullopt;
  const std::string pfx = spec.substr(0, eq);
  const size_t slash = pfx.find('/');
  auto a = common::IpAddr::parse(pfx.substr(0, slash));
  if (!a) return std::nullopt;
  int len = static_cast<int>(a->size() * 8);
  if (slash != std::string::npos) {
    const std::string l = pfx.substr(slash + 1);
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (ec != std::errc() || p != l.data() + l.size() || l.empty()) return std::nullopt;
  }
  auto p = common::Prefix::from_len(*a, len);
  if (!p) return std::nullopt;
  return IngressRule{*p, spec.substr(eq + 1)};
}

bool Replayer::setup_ingress(const ReplayInput& in, std::string* err) {
  for (const auto& spec : in.ingress) {
    auto r = parse_ingress(spec);
    if (!r) {
      *err = "--ingress is PREFIX=INTERFACE: " + spec;
      return false;
    }
    routes_.add_interface(r->ifname);
    ingress_.push_back(*r);
  }
  std::stable_sort(ingress_.begin(), ingress_.end(),
                   [](const auto& x, const auto& y) { return x.prefix.len > y.prefix.len; });
  return true;
}

// "" when nothing names it: the packet is skipped.
std::string Replayer::ingress_of(const capture::Packet& cp, const packet::Parsed& p) const {
  if (!cp.ifname.empty() &&
      std::find(zone_ifs_.begin(), zone_ifs_.end(), cp.ifname) != zone_ifs_.end())
    return cp.ifname;
  for (const auto& r : ingress_) {
    if (r.prefix.contains(p.src)) return r.ifname;
  }
  return "";
}

// The capture's time is the clock (never backwards: captures merged from several interfaces
// may be a little out of order); the maintenance round (aging, server-map expiry) runs every
// second of capture time, as the daemon's does.
void Replayer::advance_clock(uint64_t time_ns) {
  const uint64_t ms = time_ns / 1'000'000;
  if (!started_) {
    started_ = true;
    first_ns_ = time_ns;
    clock_.set_ms(ms);
    next_maintain_ms_ = ms + kMaintainEveryMs;
    return;
  }
  if (ms > clock_.now_ms()) clock_.set_ms(ms);
  if (clock_.now_ms() >= next_maintain_ms_) {
    dp_->pipeline().maintain();
    counters_fresh_ = false;  // aging moved counters
    next_maintain_ms_ = clock_.now_ms() + kMaintainEveryMs;
  }
}

Line Replayer::one(const capture::Packet& cp) {
  Line l;
  l.number = cp.number;
  l.time_ns = cp.time_ns;
  advance_clock(cp.time_ns);
  l.time_s = static_cast<double>(cp.time_ns - std::min(cp.time_ns, first_ns_)) / 1e9;
  l.verdict = "skip";
  if (cp.ip.empty()) {
    l.packet = cp.skipped.empty() ? "empty frame" : cp.skipped;
    return l;
  }
  Tuple t = parse(cp.ip.data(), static_cast<uint32_t>(cp.ip.size()));
  if (!t.ok) {  // fed all the same (by its interface name): the pipeline counts it as malformed
    l.packet = "malformed";
  } else {
    l.packet = describe(t.p);
  }
  feed(cp, t.p, &l);
  return l;
}

void Replayer::feed(const capture::Packet& cp, const packet::Parsed& before, Line* l) {
  const bool own = !before.src.empty() && routes_.route(before.src).local;
  if (!own && l->ingress.empty()) l->ingress = ingress_of(cp, before);
  if (own) l->ingress = "local";
  if (l->ingress.empty()) {
    l->reason = "no ingress interface (a pcapng interface in a zone, or --ingress)";
    return;
  }
  if (!counters_fresh_) counters_ = dp_->counters().snapshot();
  std::vector<uint8_t> buf(cp.ip.begin(), cp.ip.end());
  const auto len = static_cast<uint32_t>(buf.size());
  buf.resize(buf.size() + kHeadroom);
  QueuedPacket qp;
  qp.data = buf.data();
  qp.len = len;
  qp.capacity = static_cast<uint32_t>(buf.size());
  qp.indev = own ? 0 : routes_.ifindex(l->ingress);
  qp.hook = own ? kHookLocalOut : 0;
  qp.truncated = cp.captured_len < cp.wire_len;
  const Decision d = dp_->pipeline().process(qp);
  // Accepted with kMarkNoForward (no route): the kernel answers it and never forwards it.
  const bool forwarded = d.verdict == Verdict::kAccept && !(d.mark & kMarkNoForward);
  l->verdict = forwarded ? "permit" : "drop";
  const uint32_t out_len = d.modified ? d.len : len;
  account(l);
  if (!before.src.empty()) {
    session::FlowKey k{before.src, before.dst, before.sport, before.dport, before.proto, 0};
    if (session::keyed_by_spi(k.proto)) session::set_key_spi(k, before.spi);  // "spi" area
    dp_->sessions().with_session(k, [&](session::Session& s, session::Dir) { l->session = s.id; });
  }
  if (!forwarded) return;
  if (d.modified && !before.src.empty()) {
    Tuple after = parse(buf.data(), out_len);
    if (after.ok) {
      if (after.p.src != before.src || after.p.dst != before.dst || after.p.sport != before.sport ||
          after.p.dport != before.dport)
        l->nat = nat_text(before, after.p);
      l->payload_delta = static_cast<int>(after.p.payload_len) - before.payload_len;
    }
  }
  write_out(cp, buf, out_len);
}

// The counters this packet moved: the drop reason and what NAT, the ALGs, the server-map and
// the session table counted (the totals received/accepted/dropped left out).
void Replayer::account(Line* l) {
  auto now = dp_->counters().snapshot();  // sorted by name, like counters_; names only added
  size_t i = 0;
  for (const auto& [n, v] : now) {
    while (i < counters_.size() && counters_[i].first < n) ++i;
    const bool same = i < counters_.size() && counters_[i].first == n && counters_[i].second == v;
    if (same || n == "packet.received" || n == "packet.accepted" || n == "packet.dropped") continue;
    if (n.rfind("packet.drop.", 0) == 0) {
      l->reason = n.substr(12);
    } else {
      l->events.push_back(n);
    }
  }
  counters_ = std::move(now);  // the next packet's "before", unless maintain() runs first
  counters_fresh_ = true;
}

void Replayer::write_out(const capture::Packet& cp, const std::vector<uint8_t>& buf, uint32_t len) {
  if (!writer_) return;
  Tuple t = parse(buf.data(), len);
  std::string ifn = "local";
  if (t.ok) {
    const RouteInfo r = routes_.route(t.p.dst);
    if (r.ok && !r.local) ifn = routes_.ifname(r.oif);
    if (!r.ok) ifn = "unrouted";
  }
  writer_->write(ifn, cp.time_ns, std::span<const uint8_t>(buf.data(), len));
}

void Replayer::print(std::ostream& out, const Line& l, bool first) {
  counts_[l.verdict]++;
  if (json_) {
    out << (first ? "\n" : ",\n") << "    {\"number\": " << l.number << ", \"time\": ";
    char t[32];
    std::snprintf(t, sizeof t, "%.6f", l.time_s);
    out << t << ", \"time_ns\": " << l.time_ns << ", \"ingress\": " << json_string(l.ingress)
        << ", \"packet\": " << json_string(l.packet) << ", \"verdict\": " << json_string(l.verdict)
        << ", \"session\": " << (l.session ? std::to_string(l.session) : "null")
        << ", \"nat\": " << (l.nat.empty() ? "null" : json_string(l.nat))
        << ", \"reason\": " << (l.reason.empty() ? "null" : json_string(l.reason))
        << ", \"payload_delta\": " << l.payload_delta << ", \"events\": [";
    for (size_t i = 0; i < l.events.size(); ++i) out << (i ? ", " : "") << json_string(l.events[i]);
    out << "]}";
    return;
  }
  char head[64];
  std::snprintf(head, sizeof head, "%6llu %11.6f  %-6s ", static_cast<unsigned long long>(l.number),
                l.time_s, l.ingress.empty() ? "-" : l.ingress.c_str());
  out << head << l.packet << "  " << l.verdict;
  if (l.session) out << "  session " << l.session;
  if (!l.nat.empty()) out << "  nat " << l.nat;
  if (l.payload_delta) out << "  payload " << (l.payload_delta > 0 ? "+" : "") << l.payload_delta;
  if (!l.reason.empty()) out << "  reason " << l.reason;
  if (!l.events.empty()) {
    out << "  [";
    for (size_t i = 0; i < l.events.size(); ++i) out << (i ? " " : "") << l.events[i];
    out << "]";
  }
  out << "\n";
}

// The packets in time order: a capture taken on several interfaces at once (dumpcap -i A -i B)
// holds them in blocks per interface, not interleaved by time, and a reply must not be fed
// before its request. So the whole capture is read (and held) first; a stable sort keeps the
// file's order among equal times. A capture that breaks off is replayed up to the break.
bool Replayer::run(std::ostream& out, std::string* err) {
  struct Held {
    capture::Packet p;
    std::vector<uint8_t> ip;
  };
  std::vector<Held> all;
  while (auto cp = reader_->next()) {
    all.push_back({*cp, std::vector<uint8_t>(cp->ip.begin(), cp->ip.end())});
    all.back().p.ip = {};
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Held& a, const Held& b) { return a.p.time_ns < b.p.time_ns; });
  if (json_) out << "{\n  \"capture\": " << json_string(capture_) << ",\n  \"packets\": [";
  bool first = true;
  for (auto& h : all) {
    h.p.ip = h.ip;
    print(out, one(h.p), first);
    first = false;
  }
  if (json_) out << "\n  ]";
  *err = reader_->error();
  return err->empty();
}

std::string Replayer::display(const std::string& command) {
  return ctl_->execute(cli::user_view(), command).output;
}

void Replayer::finish(std::ostream& out) {
  const std::string sessions = display("display firewall session table");
  const std::string map = display("display firewall server-map");
  if (json_) {
    auto lines = [&](const std::string& text) {
      std::string o = "[";
      std::istringstream is(text);
      std::string ln;
      for (bool f = true; std::getline(is, ln); f = false) o += (f ? "" : ", ") + json_string(ln);
      return o + "]";
    };
    out << ",\n  \"summary\": {\"permit\": " << counts_["permit"]
        << ", \"drop\": " << counts_["drop"] << ", \"skip\": " << counts_["skip"]
        << "},\n  \"session_table\": " << lines(sessions) << ",\n  \"server_map\": " << lines(map)
        << "\n}\n";
    return;
  }
  out << "\nReplayed " << counts_["permit"] + counts_["drop"] + counts_["skip"]
      << " packets: " << counts_["permit"] << " permitted, " << counts_["drop"] << " dropped, "
      << counts_["skip"] << " skipped\n";
  out << "\n<FW> display firewall session table\n" << sessions;
  out << "\n<FW> display firewall server-map\n" << map;
}

}  // namespace

int replay(const ReplayInput& in, std::ostream& out, std::ostream& err) {
  Replayer r;
  std::string e;
  if (!r.setup(in, &e)) {
    err << "fwd: " << e << "\n";
    return 1;
  }
  // A capture that breaks off: the packets before are reported, then the error (no tables: the
  // replay did not reach the end of the capture).
  if (!r.run(out, &e) || !r.close_write(&e)) {
    if (r.json()) out << ",\n  \"error\": " << json_string(e) << "\n}\n";
    err << "fwd: " << e << "\n";
    return 1;
  }
  r.finish(out);
  return 0;
}

}  // namespace fw::fwd

namespace fw::fwd {

int run_replay(const Options& o) {
  ReplayInput in;
  in.capture = o.replay_file;
  in.config_file = o.config_file;
  in.ingress = o.replay_ingress;
  in.routes = o.replay_routes;
  in.locals = o.replay_locals;
  in.write = o.replay_write;
  in.json = o.replay_json;
  return replay(in, std::cout, std::cerr);
}

}  // namespace fw::fwd
