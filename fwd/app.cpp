#include "fwd/app.h"

#include <array>

#include "config/config.h"

namespace fw::fwd {
namespace {

struct Row {
  std::string_view name;
  uint8_t proto;
  uint16_t port;
  std::string_view aging;  // aging class name (config::aging_defaults)
};

// Fallbacks by protocol: index 0 is "ip" (any other protocol).
constexpr std::array<Row, 9> kProtocols = {{
    {"ip", 0, 0, "other"},
    {"tcp", 6, 0, "tcp"},
    {"udp", 17, 0, "udp"},
    {"icmp", 1, 0, "icmp"},
    {"icmpv6", 58, 0, "icmp"},
    {"gre", 47, 0, "gre"},
    {"esp", 50, 0, "esp"},
    {"ah", 51, 0, "ah"},
    {"sctp", 132, 0, "sctp"},
}};

// Well-known server ports (Huawei names); the aging class is the protocol's
// unless Huawei ages the application by its own (dns, ftp, http).
constexpr std::array<Row, 19> kPorts = {{
    {"ftp", 6, 21, "ftp"},    {"ssh", 6, 22, "tcp"},     {"telnet", 6, 23, "tcp"},
    {"smtp", 6, 25, "tcp"},   {"dns", 6, 53, "tcp"},     {"http", 6, 80, "http"},
    {"pop3", 6, 110, "tcp"},  {"https", 6, 443, "tcp"},  {"rtsp", 6, 554, "tcp"},
    {"pptp", 6, 1723, "tcp"}, {"sip", 6, 5060, "tcp"},   {"dns", 17, 53, "dns"},
    {"tftp", 17, 69, "udp"},  {"ntp", 17, 123, "udp"},   {"snmp", 17, 161, "udp"},
    {"ike", 17, 500, "udp"},  {"l2tp", 17, 1701, "udp"}, {"ipsec-nat-t", 17, 4500, "udp"},
    {"sip", 17, 5060, "udp"},
}};

session::AgingClass class_of(std::string_view name, std::string_view fallback) {
  if (auto c = config::aging_class(name)) return *c;
  return config::aging_class(fallback).value_or(0);
}

}  // namespace

AppTable::AppTable(const aspf::Registry& algs) {
  for (const auto& r : kProtocols) {
    apps_.push_back({std::string(r.name), r.proto, 0, class_of(r.aging, "other"), 0, 0});
  }
  first_port_row_ = apps_.size();
  for (const auto& r : kPorts) {
    apps_.push_back({std::string(r.name), r.proto, r.port, class_of(r.aging, "other"), 0, 0});
  }
  first_channel_row_ = apps_.size();
  for (uint8_t id = 1; id <= algs.size(); ++id) {
    const auto& chans = algs.get(id)->spec().channels;
    for (size_t c = 0; c < chans.size() && apps_.size() < 255; ++c) {
      App a{std::string(chans[c].app),
            0,
            0,
            class_of(chans[c].aging, "other"),
            id,
            static_cast<uint8_t>(c),
            chans[c].aging.empty()};
      apps_.push_back(std::move(a));
    }
  }
  add_identified();
}

// "appid" area: each identified application shows under its name; a name no row has yet
// ("tls") gets a row that ages like its protocol.
void AppTable::add_identified() {
  for (size_t i = 1; i < identified_.size(); ++i) {
    const std::string_view n = appid::name(static_cast<appid::App>(i));
    if (!find(n, 6) && apps_.size() < 255) {
      apps_.push_back({std::string(n), 0, 0, 0, 0, 0, true});
    }
    identified_[i] = {find(n, 6).value_or(0), find(n, 17).value_or(0)};
  }
}

session::AppId AppTable::for_flow(uint8_t proto, uint16_t dport) const {
  for (size_t i = first_port_row_; i < first_channel_row_; ++i) {
    if (apps_[i].proto == proto && apps_[i].port == dport) return static_cast<session::AppId>(i);
  }
  for (size_t i = 1; i < first_port_row_; ++i) {
    if (apps_[i].proto == proto) return static_cast<session::AppId>(i);
  }
  return 0;
}

session::AppId AppTable::for_channel(uint8_t alg, uint8_t channel) const {
  for (size_t i = first_channel_row_; i < apps_.size(); ++i) {
    if (apps_[i].alg == alg && apps_[i].channel == channel) return static_cast<session::AppId>(i);
  }
  return 0;
}

std::string_view AppTable::name(session::AppId id) const {
  return id < apps_.size() ? std::string_view(apps_[id].name) : std::string_view("ip");
}

std::optional<session::AppId> AppTable::find(std::string_view name, uint8_t proto) const {
  std::optional<session::AppId> any;
  for (size_t i = 0; i < apps_.size(); ++i) {
    if (apps_[i].name != name) continue;
    if (apps_[i].proto == proto) return static_cast<session::AppId>(i);
    if (!any) any = static_cast<session::AppId>(i);
  }
  return any;
}

session::AgingClass AppTable::aging(session::AppId id, uint8_t proto) const {
  if (id >= apps_.size() || apps_[id].by_proto) return apps_[for_flow(proto, 0)].aging;
  return apps_[id].aging;
}

uint8_t AppTable::alg_of(session::AppId id) const { return id < apps_.size() ? apps_[id].alg : 0; }

}  // namespace fw::fwd
