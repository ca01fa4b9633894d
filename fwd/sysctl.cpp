#include "fwd/sysctl.h"

#include <cstdio>
#include <fstream>
#include <sstream>

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

// A sysctl value as fwd may write it back: a small decimal number.
bool valid_value(const std::string& v) {
  return !v.empty() && v.size() <= 3 && v.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

InterfaceSysctls::InterfaceSysctls(std::string record) : record_(std::move(record)) {
  if (record_.empty()) return;
  std::ifstream f(record_);
  std::string line;
  while (std::getline(f, line)) {  // "IFNAME ACCEPT_LOCAL RP_FILTER"; anything else is skipped
    std::istringstream in(line);
    std::string name;
    Saved s;
    if (in >> name >> s.accept_local >> s.rp_filter && valid_ifname(name) &&
        valid_value(s.accept_local) && valid_value(s.rp_filter))
      inherited_[name] = s;
  }
  if (!inherited_.empty())
    FW_LOG(kInfo,
           "sysctls: " << inherited_.size()
                       << " interface(s) still carry a previous fwd's accept_local/rp_filter;"
                          " their recorded values are the ones restored at stop ("
                       << record_ << ")");
}

InterfaceSysctls::~InterfaceSysctls() { restore_all(); }

void InterfaceSysctls::put_back(const std::string& ifname, const Saved& s) {
  if (!write_value(path(ifname, "accept_local"), s.accept_local) ||
      !write_value(path(ifname, "rp_filter"), s.rp_filter))
    FW_LOG(kWarn, "could not restore accept_local/rp_filter on " << ifname);
}

// Written whole to a temporary file and renamed over the record: never half a record.
void InterfaceSysctls::write_record() const {
  if (record_.empty()) return;
  if (saved_.empty() && inherited_.empty()) {
    std::remove(record_.c_str());
    return;
  }
  const std::string tmp = record_ + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    for (const auto* m : {&saved_, &inherited_})
      for (const auto& [i, s] : *m) f << i << ' ' << s.accept_local << ' ' << s.rp_filter << '\n';
    f.flush();
    if (!f) {
      FW_LOG(kWarn, "sysctls: cannot write " << tmp);
      return;
    }
  }
  if (std::rename(tmp.c_str(), record_.c_str()) != 0)
    FW_LOG(kWarn, "sysctls: cannot replace " << record_);
}

std::string InterfaceSysctls::sync(const std::set<std::string>& interfaces) {
  std::string first_err;
  for (auto it = saved_.begin(); it != saved_.end();) {
    if (interfaces.count(it->first)) {
      ++it;
      continue;
    }
    put_back(it->first, it->second);
    it = saved_.erase(it);
  }
  for (const auto& i : interfaces) {
    if (saved_.count(i) || !valid_ifname(i)) continue;
    Saved s;
    if (!read_value(path(i, "accept_local"), &s.accept_local) ||
        !read_value(path(i, "rp_filter"), &s.rp_filter)) {
      continue;  // interface does not exist (yet)
    }
    if (auto in = inherited_.find(i); in != inherited_.end()) {
      s = in->second;  // what the administrator had before the crashed fwd
      inherited_.erase(in);
    }
    if (!write_value(path(i, "accept_local"), "1") || !write_value(path(i, "rp_filter"), "0")) {
      if (first_err.empty()) first_err = "cannot set accept_local/rp_filter on " + i;
      continue;
    }
    saved_[i] = s;
  }
  write_record();
  return first_err;
}

// Interfaces inherited from a crashed fwd that are in no zone now get their values back too
// (if they exist); an inherited interface that does not exist stays in the record.
void InterfaceSysctls::restore_all() {
  for (const auto& [i, s] : saved_) put_back(i, s);
  saved_.clear();
  for (auto it = inherited_.begin(); it != inherited_.end();) {
    std::string v;
    if (read_value(path(it->first, "accept_local"), &v)) {
      put_back(it->first, it->second);
      it = inherited_.erase(it);
    } else {
      ++it;
    }
  }
  write_record();
}

}  // namespace fw::fwd
