#include "fwd/app.h"

#include <array>

namespace fw::fwd {
namespace {

struct AppDef {
  std::string_view name;
  uint8_t proto;  // 0 = by protocol only
  uint16_t port;
};

// Index = AppId. The first entries are the per-protocol fallbacks.
constexpr std::array<AppDef, 29> kApps = {{
    {"ip", 0, 0},
    {"tcp", 6, 0},
    {"udp", 17, 0},
    {"icmp", 1, 0},
    {"icmpv6", 58, 0},
    {"gre", 47, 0},
    {"esp", 50, 0},
    {"ah", 51, 0},
    {"ftp", 6, 21},
    {"ssh", 6, 22},
    {"telnet", 6, 23},
    {"smtp", 6, 25},
    {"dns", 6, 53},
    {"http", 6, 80},
    {"pop3", 6, 110},
    {"https", 6, 443},
    {"rtsp", 6, 554},
    {"pptp", 6, 1723},
    {"sip", 6, 5060},
    {"dns", 17, 53},
    {"tftp", 17, 69},
    {"ntp", 17, 123},
    {"snmp", 17, 161},
    {"ike", 17, 500},
    {"l2tp", 17, 1701},
    {"ipsec-nat-t", 17, 4500},
    {"sip", 17, 5060},
    // Names only ALGs give (protocol 255 never matches by port).
    {"ftp-data", 255, 0},
    {"pptp-gre", 255, 0},
}};

}  // namespace

session::AppId app_for(uint8_t proto, uint16_t dport) {
  for (size_t i = 8; i < kApps.size(); ++i) {
    if (kApps[i].proto == proto && kApps[i].port == dport) return static_cast<session::AppId>(i);
  }
  for (size_t i = 1; i < 8; ++i) {
    if (kApps[i].proto == proto) return static_cast<session::AppId>(i);
  }
  return 0;
}

std::string_view app_name(session::AppId id) {
  return id < kApps.size() ? kApps[id].name : std::string_view("ip");
}

session::AppId app_by_name(std::string_view name) {
  for (size_t i = 0; i < kApps.size(); ++i) {
    if (kApps[i].name == name) return static_cast<session::AppId>(i);
  }
  return 0xff;
}

}  // namespace fw::fwd
