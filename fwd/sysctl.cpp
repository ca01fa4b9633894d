#include "fwd/sysctl.h"

#include <fstream>

#include "common/log.h"

namespace fw::fwd {
namespace {

std::string path(const std::string& ifname, const char* key) {
  return "/proc/sys/net/ipv4/conf/" + ifname + "/" + key;
}

bool read_value(const std::string& p, std::string* v) {
  std::ifstream f(p);
  if (!f) return false;
  std::getline(f, *v);
  return true;
}

bool write_value(const std::string& p, const std::string& v) {
  std::ofstream f(p);
  if (!f) return false;
  f << v << "\n";
  f.flush();
  return static_cast<bool>(f);
}

bool valid_ifname(const std::string& n) {
  return !n.empty() && n.size() < 16 && n != "." && n != ".." && n.find('/') == std::string::npos;
}

}  // namespace

InterfaceSysctls::~InterfaceSysctls() { restore_all(); }

std::string InterfaceSysctls::sync(const std::set<std::string>& interfaces) {
  std::string first_err;
  for (auto it = saved_.begin(); it != saved_.end();) {
    if (interfaces.count(it->first)) {
      ++it;
      continue;
    }
    write_value(path(it->first, "accept_local"), it->second.accept_local);
    write_value(path(it->first, "rp_filter"), it->second.rp_filter);
    it = saved_.erase(it);
  }
  for (const auto& i : interfaces) {
    if (saved_.count(i) || !valid_ifname(i)) continue;
    Saved s;
    if (!read_value(path(i, "accept_local"), &s.accept_local) ||
        !read_value(path(i, "rp_filter"), &s.rp_filter)) {
      continue;  // interface does not exist (yet)
    }
    if (!write_value(path(i, "accept_local"), "1") || !write_value(path(i, "rp_filter"), "0")) {
      if (first_err.empty()) first_err = "cannot set accept_local/rp_filter on " + i;
      continue;
    }
    saved_[i] = s;
  }
  return first_err;
}

void InterfaceSysctls::restore_all() {
  for (const auto& [i, s] : saved_) {
    if (!write_value(path(i, "accept_local"), s.accept_local) ||
        !write_value(path(i, "rp_filter"), s.rp_filter)) {
      FW_LOG(kWarn, "could not restore accept_local/rp_filter on " << i);
    }
  }
  saved_.clear();
}

}  // namespace fw::fwd
