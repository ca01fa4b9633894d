#include "nat/translator.h"

#include "nat/rewrite.h"

namespace fw::nat {

using session::Dir;
using session::MapType;
using session::NatInfo;
using session::NatKind;
using session::ServerMapEntry;

uint8_t port_space(uint8_t proto) {
  switch (proto) {
    case packet::kProtoTcp:
    case packet::kProtoUdp:
    case packet::kProtoIcmp:
    case packet::kProtoIcmpv6:
      return proto;
    default:
      return 0;
  }
}

Translator::Translator(NatState& state, session::ServerMap& servermap, common::Interner& names,
                       common::CounterTable& counters)
    : state_(state),
      servermap_(servermap),
      names_(names),
      c_port_exhausted_(counters.get("nat.port.exhausted")),
      c_nopat_exhausted_(counters.get("nat.no-pat.exhausted")) {}

void Translator::configure(const config::Config& c) {
  std::vector<ServerMapEntry> v;
  for (const auto& ns : c.nat_servers) {
    ServerMapEntry f;
    f.type = MapType::kNatServer;
    f.proto = ns.proto;
    f.addr = ns.global;
    f.port = ns.global_port;
    f.xaddr = ns.inside;
    // The address-only form keeps every port (and GRE key) as it is.
    f.xport = ns.global_port ? ns.inside_port : -1;
    f.owner = names_.intern(ns.name);
    v.push_back(f);
    if (!ns.no_reverse) {
      ServerMapEntry r;
      r.type = MapType::kNatServerReverse;
      r.proto = ns.proto;
      r.addr = ns.inside;
      r.xaddr = ns.global;
      r.owner = f.owner;
      v.push_back(r);
    }
  }
  servermap_.set_static(std::move(v));
  no_pat_pools_.clear();
  for (const auto& g : c.address_groups) {
    if (g.mode == config::AddressGroup::Mode::kNoPat) no_pat_pools_[g.name] = g.addresses();
  }
}

void Translator::destination(const ServerMapEntry& e, const packet::Parsed& p, NatInfo* nat) const {
  if (e.xaddr.empty()) return;
  nat->dnat = true;
  nat->dnat_addr = e.xaddr;
  nat->dnat_port = e.xport >= 0 ? static_cast<uint16_t>(e.xport) : p.dport;
  if (e.type == MapType::kNatServer) nat->kind = NatKind::kNatServer;
}

bool Translator::inherit(const ServerMapEntry& e, const packet::Parsed& p, NatInfo* nat, bool dry) {
  nat->kind = NatKind::kAspf;
  nat->dst_port_held = e.reserved;
  if (e.sxaddr.empty() || p.ip_version != 4) return true;
  nat->snat = true;
  nat->snat_addr = e.sxaddr;
  nat->snat_port = p.sport;
  if (e.sxport >= 0) {  // the ALG holds this port for the flow (its announced media port)
    nat->snat_port = static_cast<uint16_t>(e.sxport);
    return true;
  }
  // A source port PAT never hands out (below its range, e.g. an active FTP
  // server's port 20) cannot collide with an allocation: it is kept.
  const uint8_t space = port_space(p.proto);
  if (!space || !state_.ports.in_range(p.sport)) return true;
  auto port = dry ? state_.ports.peek(e.sxaddr, space, p.sport)
                  : state_.ports.allocate(e.sxaddr, space, p.sport);
  if (!port) {
    if (!dry) c_port_exhausted_.inc();
    return false;
  }
  nat->snat_port = *port;
  nat->port_held = !dry;
  return true;
}

SourceDecision Translator::source(const FlowRequest& r, const CompiledNatPolicy& policy,
                                  NatInfo* nat, bool dry) {
  const packet::Parsed& p = *r.p;
  if (p.ip_version != 4) return {};  // NAT44 only
  // A NAT server's own outbound connections leave with its global address
  // (Nat Server Reverse beats the nat-policy).
  if (auto rev = servermap_.match_src(p.proto, p.src, p.sport);
      rev && rev->type == MapType::kNatServerReverse) {
    return {pat(r, {rev->xaddr}, NatKind::kServerReverse, nat, dry), nullptr};
  }
  if (policy.empty()) return {};
  SnatDecision d =
      policy.match(r.src_zone, r.dst_zone, p.src, r.dst, std::string(r.egress_if), !dry);
  using K = SnatDecision::Kind;
  switch (d.kind) {
    case K::kNone:
    case K::kNoNat:
      return {true, d.rule};
    case K::kEasyIp:
      if (!r.egress_addr.is_v4()) return {false, d.rule};
      return {pat(r, {r.egress_addr}, NatKind::kEasyIp, nat, dry), d.rule};
    case K::kPat:
      return {d.pool && pat(r, *d.pool, NatKind::kPat, nat, dry), d.rule};
    case K::kNoPat:
      return {no_pat(r, d, nat, dry), d.rule};
  }
  return {};
}

bool Translator::translates_source(const FlowRequest& r, const CompiledNatPolicy& policy,
                                   bool count) const {
  const packet::Parsed& p = *r.p;
  if (p.ip_version != 4) return false;
  if (auto rev = servermap_.match_src(p.proto, p.src, p.sport);
      rev && rev->type == MapType::kNatServerReverse) {
    return true;
  }
  if (policy.empty()) return false;
  const auto k =
      policy.match(r.src_zone, r.dst_zone, p.src, r.dst, std::string(r.egress_if), count).kind;
  return k != SnatDecision::Kind::kNone && k != SnatDecision::Kind::kNoNat;
}

bool Translator::pat(const FlowRequest& r, const std::vector<common::IpAddr>& pool, NatKind kind,
                     NatInfo* nat, bool dry) {
  const packet::Parsed& p = *r.p;
  if (pool.empty()) return false;
  const uint8_t space = port_space(p.proto);
  // Spread inside hosts over the pool by address, so one host keeps one address.
  const size_t start = p.src.hash() % pool.size();
  for (size_t i = 0; i < pool.size(); ++i) {
    const auto& a = pool[(start + i) % pool.size()];
    std::optional<uint16_t> port = p.sport;
    if (space) {
      port = dry ? state_.ports.peek(a, space, p.sport) : state_.ports.allocate(a, space, p.sport);
    }
    if (!port) continue;
    nat->kind = kind;
    nat->snat = true;
    nat->snat_addr = a;
    nat->snat_port = *port;
    nat->port_held = space != 0 && !dry;
    return true;
  }
  if (!dry) c_port_exhausted_.inc();
  return false;
}

bool Translator::no_pat(const FlowRequest& r, const SnatDecision& d, NatInfo* nat, bool dry) {
  const packet::Parsed& p = *r.p;
  if (!d.pool || d.pool->empty() || !d.group) return false;
  if (dry) {
    // A group used for the first time has no bindings yet: its first pool address is free.
    const NoPatBindings* fb = state_.find_bindings(*d.group);
    auto g = fb ? fb->peek(p.src) : std::optional<common::IpAddr>(d.pool->front());
    if (!g) return false;
    nat->kind = NatKind::kNoPat;
    nat->snat = true;
    nat->snat_addr = *g;
    nat->snat_port = p.sport;
    return true;
  }
  auto& b = state_.bindings(*d.group, *d.pool);
  const bool existed = b.lookup(p.src).has_value();
  auto g = b.acquire(p.src);
  if (!g) {
    c_nopat_exhausted_.inc();
    return false;
  }
  nat->kind = NatKind::kNoPat;
  nat->snat = true;
  nat->snat_addr = *g;
  nat->snat_port = p.sport;
  nat->group = static_cast<uint16_t>(names_.intern(*d.group));
  if (!existed) add_no_pat_entries(p.src, *g, nat->group, r.dst_zone);
  return true;
}

void Translator::add_no_pat_entries(const common::IpAddr& inside, const common::IpAddr& global,
                                    uint32_t group, uint8_t zone) {
  ServerMapEntry fwd;
  fwd.type = MapType::kNoPat;
  fwd.addr = inside;
  fwd.xaddr = global;
  fwd.owner = group;
  fwd.zone = zone;
  servermap_.add(fwd);
  ServerMapEntry rev = fwd;
  rev.type = MapType::kNoPatReverse;
  rev.addr = global;
  rev.xaddr = inside;
  servermap_.add(rev);
}

void Translator::release(const session::FlowKey& orig, const NatInfo& nat) {
  const uint8_t space = port_space(orig.proto);
  if (nat.dst_port_held) state_.ports.release(orig.dst, space, orig.dport);
  if (nat.port_held) state_.ports.release(nat.snat_addr, space, nat.snat_port);
  if (nat.kind != NatKind::kNoPat) return;
  auto* b = state_.find_bindings(names_.name(nat.group));
  if (!b) return;
  b->release(orig.src);
  if (b->lookup(orig.src)) return;  // other sessions still use the binding
  servermap_.remove_addr(MapType::kNoPat, orig.src);
  servermap_.remove_addr(MapType::kNoPatReverse, nat.snat_addr);
}

void Translator::entry_removed(const ServerMapEntry& e) {
  if (e.reserved) state_.ports.release(e.addr, port_space(e.proto), e.port);
}

std::optional<uint16_t> Translator::reserve_port(const common::IpAddr& addr, uint8_t proto,
                                                 uint16_t hint) {
  auto port = state_.ports.allocate(addr, port_space(proto), hint);
  if (!port) c_port_exhausted_.inc();
  return port;
}

std::optional<uint16_t> Translator::reserve_port_pair(const common::IpAddr& addr, uint8_t proto) {
  auto port = state_.ports.allocate_pair(addr, port_space(proto));
  if (!port) c_port_exhausted_.inc();
  return port;
}

void Translator::release_port(const common::IpAddr& addr, uint8_t proto, uint16_t port) {
  state_.ports.release(addr, port_space(proto), port);
}

Translator::Reclaim Translator::reclaim(const session::FlowKey& orig, NatInfo* nat,
                                        const std::string& group, uint8_t zone) {
  const uint8_t space = port_space(orig.proto);
  if (nat->dst_port_held && !reclaim_port(orig.dst, orig.proto, orig.dport)) {
    return Reclaim::kPortTaken;
  }
  if (nat->port_held && !reclaim_port(nat->snat_addr, orig.proto, nat->snat_port)) {
    if (nat->dst_port_held) state_.ports.release(orig.dst, space, orig.dport);
    return Reclaim::kPortTaken;
  }
  nat->group = 0;
  if (nat->kind != NatKind::kNoPat) return Reclaim::kOk;
  auto undo_ports = [&] {
    if (nat->dst_port_held) state_.ports.release(orig.dst, space, orig.dport);
    if (nat->port_held) state_.ports.release(nat->snat_addr, space, nat->snat_port);
  };
  auto pool = no_pat_pools_.find(group);
  if (pool == no_pat_pools_.end()) {
    undo_ports();
    return Reclaim::kNoGroup;
  }
  const auto claim = state_.bindings(group, pool->second).claim(orig.src, nat->snat_addr);
  if (claim == NoPatBindings::Claim::kTaken) {
    undo_ports();
    return Reclaim::kBindingTaken;
  }
  nat->group = static_cast<uint16_t>(names_.intern(group));
  if (claim == NoPatBindings::Claim::kNew) {
    add_no_pat_entries(orig.src, nat->snat_addr, nat->group, zone);
  }
  return Reclaim::kOk;
}

bool Translator::reclaim_port(const common::IpAddr& addr, uint8_t proto, uint16_t port) {
  const uint8_t space = port_space(proto);
  return !space || state_.ports.reserve(addr, space, port);
}

Translator::Applied Translator::apply(std::span<uint8_t> pkt, const packet::Parsed& p,
                                      const session::Session& s, Dir d, bool full_csum) const {
  const NatInfo& nat = s.nat;
  if (!nat.snat && !nat.dnat && nat.reply_dport < 0) return Applied::kUntouched;
  // A packet about to expire in our forwarding: the kernel answers it with a
  // time-exceeded to its sender, so it must keep the sender's own addresses.
  if (p.ttl <= 1) {
    return d == Dir::kOriginal && !nat.dnat ? Applied::kUntouched : Applied::kTtlExpired;
  }
  // A session tracked by address pair alone for a protocol whose packets
  // carry a key (GRE without its ALG) leaves the key as it is.
  const session::FlowKey& own = d == Dir::kOriginal ? s.orig : s.reply;
  const bool keep = own.dport == 0 && p.dport != 0;
  Endpoint src, dst;
  const Endpoint* ns = nullptr;
  const Endpoint* nd = nullptr;
  if (d == Dir::kOriginal) {
    if (nat.snat) src = {nat.snat_addr, keep ? p.sport : nat.snat_port}, ns = &src;
    if (nat.dnat) dst = {nat.dnat_addr, keep ? p.dport : nat.dnat_port}, nd = &dst;
  } else {
    // Replies: the server's address back to the global one, the client's back to its own.
    if (nat.dnat) src = {s.orig.dst, keep ? p.sport : s.orig.dport}, ns = &src;
    if (nat.snat || nat.reply_dport >= 0) {
      // A keyed protocol's initiator never shows its own key: without a mapping
      // the packet's is kept.
      const uint16_t port = nat.reply_dport >= 0 ? static_cast<uint16_t>(nat.reply_dport)
                            : packet::key_is_optional(p.proto) ? p.dport
                                                               : s.orig.sport;
      dst = {nat.snat ? s.orig.src : p.dst, keep ? p.dport : port};
      nd = &dst;
    }
  }
  return rewrite(pkt, p, ns, nd, full_csum) ? Applied::kRewritten : Applied::kMalformed;
}

Translator::Applied Translator::apply_icmp_error(std::span<uint8_t> pkt, const packet::Parsed& p,
                                                 const session::Session& s, Dir d) const {
  const NatInfo& nat = s.nat;
  const session::FlowKey& orig = s.orig;
  if (!nat.snat && !nat.dnat) return Applied::kUntouched;
  // d is the direction the error travels in; the quoted packet went the other
  // way, translated.
  Endpoint os, od, is, id;
  const Endpoint *pos = nullptr, *pod = nullptr, *pis = nullptr, *pid = nullptr;
  if (d == Dir::kReply) {
    // Quoted: initiator -> responder after translation (src snat, dst dnat'ed inside).
    if (nat.snat) od = {orig.src, 0}, pod = &od, is = {orig.src, orig.sport}, pis = &is;
    if (nat.dnat) {
      id = {orig.dst, orig.dport}, pid = &id;
      if (p.src == nat.dnat_addr) os = {orig.dst, 0}, pos = &os;
    }
  } else {
    // Quoted: a reply as the inside initiator received it; the error goes to the responder.
    if (nat.snat) {
      id = {nat.snat_addr, nat.snat_port}, pid = &id;
      if (p.src == orig.src) os = {nat.snat_addr, 0}, pos = &os;
    }
    if (nat.dnat) {
      od = {nat.dnat_addr, 0}, pod = &od;
      is = {nat.dnat_addr, nat.dnat_port}, pis = &is;
    }
  }
  return rewrite_icmp_error(pkt, p, pos, pod, pis, pid) ? Applied::kRewritten : Applied::kMalformed;
}

}  // namespace fw::nat
