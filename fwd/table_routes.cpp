#include "fwd/table_routes.h"

#include <charconv>

namespace fw::fwd {

namespace {

constexpr uint32_t kFirstIndex = 2;  // 1 is lo in every namespace

// "A=B" -> {A, B}; false when there is no '=' or a side is empty.
bool split_eq(std::string_view s, std::string_view* a, std::string_view* b) {
  const size_t eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == s.size()) return false;
  *a = s.substr(0, eq);
  *b = s.substr(eq + 1);
  return true;
}

std::optional<common::Prefix> parse_prefix(std::string_view s) {
  const size_t slash = s.find('/');
  auto a = common::IpAddr::parse(s.substr(0, slash));
  if (!a) return std::nullopt;
  int len = a->is_v4() ? 32 : 128;
  if (slash != std::string_view::npos) {
    std::string_view l = s.substr(slash + 1);
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (ec != std::errc() || p != l.data() + l.size()) return std::nullopt;
  }
  return common::Prefix::from_len(*a, len);
}

}  // namespace

uint32_t TableRoutes::add_interface(const std::string& name) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<uint32_t>(i) + kFirstIndex;
  }
  names_.push_back(name);
  return static_cast<uint32_t>(names_.size() - 1) + kFirstIndex;
}

bool TableRoutes::add_route(std::string_view spec, std::string* err) {
  std::string_view pfx, rest;
  if (!split_eq(spec, &pfx, &rest)) {
    *err = "a route is PREFIX=INTERFACE[,NEXTHOP]: " + std::string(spec);
    return false;
  }
  auto p = parse_prefix(pfx);
  if (!p) {
    *err = "not a prefix: " + std::string(pfx);
    return false;
  }
  const size_t comma = rest.find(',');
  Route r{*p, 0, {}};
  if (comma != std::string_view::npos) {
    auto gw = common::IpAddr::parse(rest.substr(comma + 1));
    if (!gw || gw->family != p->addr.family) {
      *err = "not a next hop of the prefix's family: " + std::string(rest.substr(comma + 1));
      return false;
    }
    r.gateway = *gw;
    rest = rest.substr(0, comma);
  }
  if (rest.empty()) {
    *err = "a route needs an interface: " + std::string(spec);
    return false;
  }
  r.oif = add_interface(std::string(rest));
  routes_.push_back(r);
  return true;
}

bool TableRoutes::add_local(std::string_view spec, std::string* err) {
  std::string_view addr, ifn;
  auto a = split_eq(spec, &addr, &ifn) ? common::IpAddr::parse(addr) : std::nullopt;
  if (!a) {
    *err = "a local address is ADDRESS=INTERFACE: " + std::string(spec);
    return false;
  }
  locals_.push_back({*a, add_interface(std::string(ifn))});
  return true;
}

RouteInfo TableRoutes::route(const common::IpAddr& dst) {
  RouteInfo out;
  for (const auto& l : locals_) {
    if (l.addr == dst) {
      out.ok = out.local = true;
      out.oif = l.oif;
      return out;
    }
  }
  const Route* best = nullptr;
  for (const auto& r : routes_) {
    if (r.prefix.contains(dst) && (!best || r.prefix.len > best->prefix.len)) best = &r;
  }
  if (!best) return out;
  out.ok = true;
  out.oif = best->oif;
  out.gateway = best->gateway;
  for (const auto& l : locals_) {
    if (l.oif == best->oif && l.addr.family == dst.family) {
      out.prefsrc = l.addr;
      break;
    }
  }
  return out;
}

std::string TableRoutes::ifname(uint32_t ifindex) {
  if (ifindex < kFirstIndex || ifindex - kFirstIndex >= names_.size()) return "";
  return names_[ifindex - kFirstIndex];
}

uint32_t TableRoutes::ifindex(const std::string& name) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<uint32_t>(i) + kFirstIndex;
  }
  return 0;
}

}  // namespace fw::fwd
