// "kernel drops" (issue 16 item 1): the contents of FWD-DDOS, the chain where the kernel drops a
// flood fwd has decided on (RuleInstaller::set_flood_drops; fwd/iptables.h).
#include <cstdio>
#include <functional>

#include "fwd/exec.h"
#include "fwd/iptables.h"

namespace fw::fwd {
namespace {

constexpr std::string_view kCommentPrefix = "fwd-ddos-";  // + flood_kind_name()

std::string chain(const RuleOptions& opt) { return opt.chain_prefix + "-DDOS"; }

// What the rule matches: the kind's packets to the destination, in the family's syntax.
std::string match(const FloodDrop& d) {
  const bool v6 = !d.dst.is_v4();
  std::string m = "-d " + d.dst.str() + (v6 ? "/128" : "/32");
  switch (d.kind) {
    case session::FloodKind::kSyn:
      return m + " -p tcp -m tcp --tcp-flags SYN,ACK,FIN,RST SYN";
    case session::FloodKind::kUdp:
      return m + " -p udp";
    case session::FloodKind::kIcmp:
      return m +
             (v6 ? " -p ipv6-icmp -m icmp6 --icmpv6-type 128" : " -p icmp -m icmp --icmp-type 8");
    case session::FloodKind::kCount:
      break;
  }
  return m;
}

// A hashlimit table is shared by name (and keeps the settings it was made with while any rule
// uses it), so each destination and rate gets a name of its own: "fd" + kind + 8 hex digits.
std::string limit_name(const FloodDrop& d) {
  const size_t h = std::hash<std::string>{}(d.dst.str() + "/" + std::to_string(d.pass_rate));
  char b[16];
  std::snprintf(b, sizeof b, "fd%c%08x", "sui"[static_cast<int>(d.kind) % 3],
                static_cast<unsigned>(h & 0xffffffffu));
  return b;
}

}  // namespace

std::vector<std::string> RuleInstaller::flood_rules(const RuleOptions& opt,
                                                    const std::vector<FloodDrop>& drops, bool v6) {
  const std::string a = "-A " + chain(opt) + " ";
  std::vector<std::string> r;
  for (const auto& d : drops) {
    if (d.dst.is_v4() == v6 || d.kind == session::FloodKind::kCount || d.pass_rate == 0) continue;
    const std::string rate = std::to_string(d.pass_rate);
    r.push_back(a + match(d) + " -m hashlimit --hashlimit-upto " + rate +
                "/sec --hashlimit-burst " + rate + " --hashlimit-name " + limit_name(d) +
                " -j RETURN");
    r.push_back(a + match(d) + " -m comment --comment " + std::string(kCommentPrefix) +
                std::string(session::flood_kind_name(d.kind)) + " -j DROP");
  }
  return r;
}

void RuleInstaller::flood_drops_in(const RuleOptions& opt, const SavedRuleset& current,
                                   std::vector<uint64_t>* out) {
  const SavedTable* t = current.table("mangle");
  if (!t) return;
  out->resize(static_cast<size_t>(session::FloodKind::kCount));
  for (const auto& r : t->rules) {
    if (r.chain != chain(opt) || r.target != "DROP") continue;
    for (size_t k = 0; k < out->size(); ++k)
      if (r.comment == std::string(kCommentPrefix) + std::string(session::flood_kind_name(
                                                         static_cast<session::FloodKind>(k))))
        (*out)[k] += r.packets;
  }
}

bool RuleInstaller::set_flood_drops(const std::vector<FloodDrop>& drops, std::string* err) {
  std::lock_guard<std::mutex> lk(mu_);
  if (drops == flood_drops_ && flood_installed_) return true;
  flood_drops_ = drops;
  flood_installed_ = false;
  if (!in_sync_ || held_) return true;  // the next sync() installs them
  bool ok = true;
  for (bool v6 : {false, true}) ok = apply_flood_drops(v6, err) && ok;
  flood_installed_ = ok;  // a failed apply is retried by the next call, even with the same drops
  return ok;
}

// One family: count what the rules being replaced dropped, then replace FWD-DDOS's contents in
// one transaction (declaring the chain with --noflush empties it).
bool RuleInstaller::apply_flood_drops(bool v6, std::string* err) {
  const auto saved = saved_mangle(v6, err);
  if (!saved) return false;
  const SavedRuleset& cur = *saved;
  const SavedTable* t = cur.table("mangle");
  if (!t || !t->has_chain(chain(opt_))) return true;  // not installed (yet): sync() does it
  std::string in = "*mangle\n:" + chain(opt_) + " - [0:0]\n";
  for (const auto& l : flood_rules(opt_, flood_drops_, v6)) in += l + "\n";
  in += "COMMIT\n";
  if (!run_program_io({v6 ? "ip6tables-restore" : "iptables-restore", "--noflush", "-w"}, in,
                      nullptr, err))
    return false;
  flood_drops_in(opt_, cur, &flood_dropped_);
  return true;
}

std::vector<uint64_t> RuleInstaller::flood_dropped(std::string* err) const {
  if (auto d = kernel_drops(err)) return d->floods;
  std::lock_guard<std::mutex> lk(mu_);
  return flood_dropped_;
}

}  // namespace fw::fwd
