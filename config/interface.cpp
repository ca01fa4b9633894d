// The interface map (VRP names for Linux interfaces) and per-interface settings: lookups,
// validation and rendering (`map-interface ...` lines and `interface X` sections).
#include <cctype>
#include <set>
#include <sstream>

#include "config/config.h"

namespace fw::config {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// "GigabitEthernet1/0/1" -> ("gigabitethernet", "1/0/1").
std::pair<std::string, std::string> split_vrp(std::string_view name) {
  size_t i = 0;
  while (i < name.size() && std::isalpha(static_cast<unsigned char>(name[i]))) ++i;
  return {lower(name.substr(0, i)), std::string(name.substr(i))};
}

std::string mask_len_text(uint8_t len) {
  uint32_t m = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  std::ostringstream os;
  os << (m >> 24) << "." << ((m >> 16) & 255) << "." << ((m >> 8) & 255) << "." << (m & 255);
  return os.str();
}

}  // namespace

bool is_vrp_ifname(std::string_view name) {
  auto [letters, numbers] = split_vrp(name);
  if (letters.empty() || numbers.empty() || name.size() > 31) return false;
  bool slash = false, digit = false;
  for (size_t i = 0; i < numbers.size(); ++i) {
    char ch = numbers[i];
    if (ch == '/') {
      if (!digit) return false;  // no empty number
      slash = true;
      digit = false;
    } else if (std::isdigit(static_cast<unsigned char>(ch))) {
      digit = true;
    } else {
      return false;
    }
  }
  return slash && digit;
}

std::string Config::linux_ifname(const std::string& typed) const {
  if (!is_vrp_ifname(typed)) return typed;
  auto [letters, numbers] = split_vrp(typed);
  const InterfaceMapEntry* found = nullptr;
  for (const auto& e : interface_map) {
    if (lower(e.vrp) == lower(typed)) return e.linux_name;  // exact wins
    auto [el, en] = split_vrp(e.vrp);
    if (en != numbers || el.compare(0, letters.size(), letters) != 0) continue;
    if (found) return typed;  // ambiguous abbreviation: not a known name
    found = &e;
  }
  return found ? found->linux_name : typed;
}

const InterfaceMapEntry* Config::find_map_by_linux(const std::string& linux_name) const {
  for (const auto& e : interface_map)
    if (e.linux_name == linux_name) return &e;
  return nullptr;
}

std::string Config::shown_ifname(const std::string& linux_name) const {
  const auto* e = find_map_by_linux(linux_name);
  return e ? e->vrp : linux_name;
}

InterfaceSettings* Config::find_interface(const std::string& linux_name) {
  for (auto& s : interfaces)
    if (s.name == linux_name) return &s;
  return nullptr;
}

const InterfaceSettings* Config::find_interface(const std::string& linux_name) const {
  return const_cast<Config*>(this)->find_interface(linux_name);
}

std::optional<std::string> validate_interfaces(const Config& c) {
  std::set<std::string> vrp, lnx;
  for (const auto& e : c.interface_map) {
    if (!is_vrp_ifname(e.vrp)) return "Error: The interface name " + e.vrp + " is invalid.";
    if (is_vrp_ifname(e.linux_name) || e.linux_name.find('/') != std::string::npos)
      return "Error: The interface " + e.linux_name + " is not a Linux interface name.";
    if (!vrp.insert(lower(e.vrp)).second)
      return "Error: The interface name " + e.vrp + " is already mapped.";
    if (!lnx.insert(e.linux_name).second)
      return "Error: The interface " + e.linux_name + " already has a name.";
  }
  std::set<uint32_t> seen;  // every address of every interface
  for (const auto& s : c.interfaces) {
    if (s.name.empty() || s.name.find('/') != std::string::npos)
      return "Error: The interface " + s.name + " does not exist.";
    size_t primaries = 0;
    for (const auto& a : s.addresses) {
      if (!a.addr.is_v4() || a.len < 1 || a.len > 32)
        return "Error: The address " + a.addr.str() + " is invalid.";
      if (!seen.insert(a.addr.v4_host()).second)
        return "Error: The address " + a.addr.str() + " is configured on another interface.";
      primaries += a.sub ? 0 : 1;
    }
    if (!s.addresses.empty() && (primaries != 1 || s.addresses.front().sub))
      return "Error: Configure the primary address of " + s.name + " first.";
  }
  return std::nullopt;
}

std::string render_interface_map(const Config& c) {
  std::ostringstream os;
  for (const auto& e : c.interface_map)
    os << " map-interface " << e.vrp << " " << e.linux_name << "\n";
  return os.str();
}

std::string render_interface(const Config& c, const InterfaceSettings& s) {
  std::ostringstream os;
  os << "interface " << c.shown_ifname(s.name) << "\n";
  if (!s.description.empty()) os << " description " << s.description << "\n";
  if (s.shutdown) os << " shutdown\n";
  for (const auto& a : s.addresses)
    os << " ip address " << a.addr.str() << " " << mask_len_text(a.len) << (a.sub ? " sub" : "")
       << "\n";
  if (s.ping != InterfaceSettings::Manage::kDefault)
    os << " service-manage ping "
       << (s.ping == InterfaceSettings::Manage::kPermit ? "permit" : "deny") << "\n";
  return os.str();
}

}  // namespace fw::config
