#include "fwd/iptables.h"

#include <net/if.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>
#include <string_view>
#include <utility>

#include "common/log.h"
#include "fwd/exec.h"
#include "fwd/nfqueue.h"

namespace fw::fwd {
namespace {

constexpr size_t kMaxChainPrefix = 24;  // + "-PRE", "-FRG" within iptables-legacy's 28
// One retry: another program may change the tables between our save and our
// restore, and a stale -D line then fails the whole transaction.
constexpr int kApplyAttempts = 2;

const char* const kTables[] = {"raw", "mangle"};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Splits a saved rule into its arguments: "..." quoting with \" and \\ escapes,
// as iptables-save writes a comment with spaces.
std::vector<std::string> split_args(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    std::string arg;
    bool quoted = false;
    for (; i < s.size() && (quoted || s[i] != ' '); ++i) {
      char c = s[i];
      if (quoted && c == '\\' && i + 1 < s.size())
        arg += s[++i];
      else if (c == '"')
        quoted = !quoted;
      else
        arg += c;
    }
    out.push_back(std::move(arg));
  }
  return out;
}

// "[packets:bytes] " at the start of *line: parsed and removed.
bool take_counters(std::string_view* line, uint64_t* packets, uint64_t* bytes) {
  size_t colon = line->find(':');
  size_t close = line->find(']');
  if (colon == std::string_view::npos || close == std::string_view::npos || colon > close)
    return false;
  const char* b = line->data();
  auto r1 = std::from_chars(b + 1, b + colon, *packets);
  auto r2 = std::from_chars(b + colon + 1, b + close, *bytes);
  if (r1.ec != std::errc() || r1.ptr != b + colon || r2.ec != std::errc() || r2.ptr != b + close)
    return false;
  line->remove_prefix(close + 1);
  while (!line->empty() && line->front() == ' ') line->remove_prefix(1);
  return true;
}

std::optional<SavedRule> parse_rule(std::string_view line) {
  SavedRule r;
  if (!line.empty() && line.front() == '[' && !take_counters(&line, &r.packets, &r.bytes))
    return std::nullopt;
  if (line.substr(0, 3) != "-A ") return std::nullopt;
  line.remove_prefix(3);
  size_t sp = line.find(' ');
  r.chain = std::string(line.substr(0, sp));
  if (r.chain.empty()) return std::nullopt;
  r.spec = sp == std::string_view::npos ? std::string() : std::string(line.substr(sp + 1));
  auto args = split_args(r.spec);
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-j" || a == "--jump" || a == "-g" || a == "--goto") r.target = args[i + 1];
    if (a == "--comment") r.comment = args[i + 1];
  }
  return r;
}

// A comment of the old layout: "fwd-q" and the queue number, or the configured tag.
bool is_legacy_comment(const RuleOptions& opt, const std::string& c) {
  if (c.empty()) return false;
  if (!opt.tag.empty() && c == opt.tag) return true;
  constexpr std::string_view kOld = "fwd-q";
  if (c.size() <= kOld.size() || c.size() > kOld.size() + 5 || c.compare(0, kOld.size(), kOld))
    return false;
  return std::all_of(c.begin() + kOld.size(), c.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; });
}

std::string jump_comment(const RuleOptions& opt, bool held) {
  return opt.chain_prefix + (held ? "-held" : "-active");
}

// Rules outside our chains that are ours to delete: jumps to our chains (from
// anywhere: a referenced chain cannot be deleted) and old-layout rules.
std::vector<const SavedRule*> stale_rules(const RuleOptions& opt, const SavedTable& t,
                                          const std::vector<std::string>& ours) {
  std::vector<const SavedRule*> out;
  for (const auto& r : t.rules) {
    if (contains(ours, r.chain)) continue;
    if (contains(ours, r.target) || is_legacy_comment(opt, r.comment)) out.push_back(&r);
  }
  return out;
}

std::string syn_queue_target(const RuleOptions& opt) {
  std::string t = "-j NFQUEUE --queue-num " + std::to_string(opt.queue_num + opt.queues);
  if (opt.fail_open) t += " --queue-bypass";
  return t;
}

std::string queue_target(const RuleOptions& opt) {
  std::string t = "-j NFQUEUE";
  if (opt.queues > 1)
    t += " --queue-balance " + std::to_string(opt.queue_num) + ":" +
         std::to_string(static_cast<unsigned>(opt.queue_num) + opt.queues - 1);
  else
    t += " --queue-num " + std::to_string(opt.queue_num);
  if (opt.fail_open) t += " --queue-bypass";
  return t;
}

RuleOptions normalized(RuleOptions opt) {
  if (opt.queues == 0) opt.queues = 1;
  if (opt.chain_prefix.empty()) opt.chain_prefix = "FWD";
  return opt;
}

}  // namespace

bool SavedTable::has_chain(const std::string& chain) const { return contains(chains, chain); }

const SavedTable* SavedRuleset::table(const std::string& name) const {
  for (const auto& t : tables)
    if (t.name == name) return &t;
  return nullptr;
}

SavedRuleset parse_iptables_save(const std::string& text) {
  SavedRuleset rs;
  SavedTable* cur = nullptr;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '*') {
      rs.tables.push_back(SavedTable{std::string(line.substr(1)), {}, {}});
      cur = &rs.tables.back();
    } else if (line == "COMMIT") {
      cur = nullptr;
    } else if (cur && line.front() == ':') {
      size_t sp = line.find(' ');
      cur->chains.emplace_back(line.substr(1, sp == std::string_view::npos ? sp : sp - 1));
    } else if (auto r = cur ? parse_rule(line) : std::nullopt) {
      cur->rules.push_back(std::move(*r));
    } else {
      ++rs.bad_lines;
    }
  }
  return rs;
}

Leftovers& Leftovers::operator+=(const Leftovers& o) {
  chains += o.chains;
  jumps += o.jumps;
  held_jumps += o.held_jumps;
  legacy_rules += o.legacy_rules;
  return *this;
}

NoZoneDrops& NoZoneDrops::operator+=(const NoZoneDrops& o) {
  in += o.in;
  forward += o.forward;
  out += o.out;
  return *this;
}

RuleInstaller::RuleInstaller(RuleOptions opt) : opt_(normalized(std::move(opt))) {}

RuleInstaller::~RuleInstaller() {
  if (!touched_ || held_) return;
  std::string err;
  if (!remove_all(&err)) FW_LOG(kWarn, "removing the kernel rules failed: " << err);
}

std::string RuleInstaller::check_interface_name(const std::string& name) {
  if (name.empty()) return "empty interface name";
  if (name.size() >= IF_NAMESIZE) return "interface name too long: " + name;
  if (name[0] == '-' || name[0] == '!' || name == "." || name == "..")
    return "bad interface name: " + name;
  // The kernel refuses '/', ':' and white space; quotes, '\' and '#' would
  // change the meaning of an iptables-restore line.
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == ':' || c == '"' || c == '\'' || c == '\\' ||
        c == '#')
      return "bad interface name: " + name;
  }
  return {};
}

std::string RuleInstaller::check_options(const RuleOptions& opt) {
  const std::string& p = opt.chain_prefix;
  if (p.empty() || p.size() > kMaxChainPrefix) return "bad chain prefix: '" + p + "'";
  for (char c : p)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return "bad chain prefix: '" + p + "'";
  if (static_cast<unsigned>(opt.queue_num) + std::max<unsigned>(opt.queues, 1) - 1 +
          (opt.syn_queue ? 1 : 0) >
      0xffff)
    return "queue range beyond 65535";
  for (const auto& u : opt.unmanaged)
    if (auto bad = check_interface_name(u); !bad.empty()) return "unmanaged: " + bad;
  return {};
}

std::vector<std::string> RuleInstaller::chains_of(const RuleOptions& opt,
                                                  const std::string& table) {
  const std::string& p = opt.chain_prefix;
  if (table == "raw") return {p + "-PRE", p + "-OUT", p + "-FRG"};
  if (table == "mangle") return {p + "-PRE", p + "-FWD", p + "-OUT", p + "-DDOS"};
  return {};
}

namespace {
std::string hex_mark(uint32_t m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", m);
  return buf;
}
}  // namespace

std::vector<std::string> RuleInstaller::chain_rules(const RuleOptions& opt_in,
                                                    const std::set<std::string>& zones,
                                                    const std::string& table) {
  RuleOptions opt = normalized(opt_in);
  const std::string pre = "-A " + opt.chain_prefix + "-PRE ";
  const std::string fwd = "-A " + opt.chain_prefix + "-FWD ";
  const std::string out = "-A " + opt.chain_prefix + "-OUT ";
  std::vector<std::string> z;  // zone interfaces; lo is always left alone
  for (const auto& i : zones)
    if (i != "lo") z.push_back(i);
  std::vector<std::string> r;
  if (table == "raw") {
    // The daemon keeps its own state; the kernel's conntrack must not keep a
    // second one for packets the daemon rewrites.
    for (const auto& i : z) r.push_back(pre + "-i " + i + " -j CT --notrack");
    for (const auto& i : z) r.push_back(out + "-o " + i + " -j CT --notrack");
    if (opt.defrag) r.push_back("-A " + opt.chain_prefix + "-FRG -m socket -j RETURN");
    return r;
  }
  if (table != "mangle") return r;
  const std::string q = queue_target(opt);
  r.push_back(pre + "-i lo -j RETURN");
  for (const auto& u : opt.unmanaged) r.push_back(pre + "-i " + u + " -j RETURN");
  r.push_back(pre + "-j " + opt.chain_prefix + "-DDOS");  // floods under attack (set_flood_drops)
  if (opt.syn_queue)  // flow-opening SYNs wait in their own queue, never ahead of established ones
    for (const auto& i : z)
      r.push_back(pre + "-i " + i + " -p tcp --tcp-flags SYN,ACK,FIN,RST SYN " +
                  syn_queue_target(opt));
  for (const auto& i : z) r.push_back(pre + "-i " + i + " " + q);
  r.push_back(pre + "-j DROP");
  // A packet fwd accepted only for the kernel to answer (no route) is never forwarded.
  r.push_back(fwd + "-m mark --mark " + hex_mark(kMarkNoForward) + "/" + hex_mark(kMarkNoForward) +
              " -j DROP");
  // FORWARD also catches what skipped the queue: fail-open bypass, and
  // anything from an unmanaged interface headed into a zone.
  for (const auto& u : opt.unmanaged) r.push_back(fwd + "-o " + u + " -j RETURN");
  for (const auto& u : opt.unmanaged) r.push_back(fwd + "-i " + u + " -j DROP");
  for (const auto& i : z) r.push_back(fwd + "-o " + i + " -j RETURN");
  r.push_back(fwd + "-j DROP");
  r.push_back(out + "-o lo -j RETURN");
  for (const auto& u : opt.unmanaged) r.push_back(out + "-o " + u + " -j RETURN");
  for (const auto& i : z) r.push_back(out + "-o " + i + " " + q);
  r.push_back(out + "-j DROP");
  return r;
}

std::vector<std::string> RuleInstaller::jump_rules(const RuleOptions& opt_in,
                                                   const std::string& table, bool held) {
  RuleOptions opt = normalized(opt_in);
  const std::string c = " -m comment --comment " + jump_comment(opt, held) + " -j ";
  const std::string& p = opt.chain_prefix;
  if (table == "raw") return {"-A PREROUTING" + c + p + "-PRE", "-A OUTPUT" + c + p + "-OUT"};
  if (table == "mangle")
    return {"-A PREROUTING" + c + p + "-PRE", "-A FORWARD" + c + p + "-FWD",
            "-A OUTPUT" + c + p + "-OUT"};
  return {};
}

std::string RuleInstaller::restore_text(const RuleOptions& opt_in,
                                        const std::set<std::string>& zones,
                                        const SavedRuleset& current, bool held) {
  RuleOptions opt = normalized(opt_in);
  std::string s;
  for (const std::string table : kTables) {
    const auto ours = chains_of(opt, table);
    const SavedTable* t = current.table(table);
    s += "*" + table + "\n";
    // Declaring an existing chain with --noflush empties it.
    for (const auto& c : ours) s += ":" + c + " - [0:0]\n";
    std::map<std::string, std::pair<uint64_t, uint64_t>> counters;
    if (t) {
      for (const SavedRule* r : stale_rules(opt, *t, ours))
        s += "-D " + r->chain + " " + r->spec + "\n";
      for (const auto& r : t->rules)
        if (contains(ours, r.chain))
          counters["-A " + r.chain + " " + r.spec] = {r.packets, r.bytes};
    }
    for (const auto& line : chain_rules(opt, zones, table)) {
      auto it = counters.find(line);
      if (it != counters.end() && (it->second.first || it->second.second))
        s +=
            "[" + std::to_string(it->second.first) + ":" + std::to_string(it->second.second) + "] ";
      s += line + "\n";
    }
    // First in the built-in chain: a foreign ACCEPT before the jump would let
    // traffic skip the queue.
    for (const auto& j : jump_rules(opt, table, held)) {
      size_t sp = j.find(' ', 3);
      s += "-I " + j.substr(3, sp - 3) + " 1" + j.substr(sp) + "\n";
    }
    s += "COMMIT\n";
  }
  return s;
}

std::string RuleInstaller::removal_text(const RuleOptions& opt_in, const SavedRuleset& current) {
  RuleOptions opt = normalized(opt_in);
  std::string s;
  for (const std::string table : kTables) {
    const SavedTable* t = current.table(table);
    if (!t) continue;
    const auto ours = chains_of(opt, table);
    std::string body;
    for (const SavedRule* r : stale_rules(opt, *t, ours))
      body += "-D " + r->chain + " " + r->spec + "\n";
    for (const auto& c : ours)
      if (t->has_chain(c)) body += "-F " + c + "\n-X " + c + "\n";
    if (!body.empty()) s += "*" + table + "\n" + body + "COMMIT\n";
  }
  return s;
}

Leftovers RuleInstaller::find_leftovers(const RuleOptions& opt_in, const SavedRuleset& current) {
  RuleOptions opt = normalized(opt_in);
  Leftovers l;
  const std::string held = jump_comment(opt, true);
  for (const std::string table : kTables) {
    const SavedTable* t = current.table(table);
    if (!t) continue;
    const auto ours = chains_of(opt, table);
    for (const auto& c : ours) l.chains += t->has_chain(c) ? 1 : 0;
    for (const SavedRule* r : stale_rules(opt, *t, ours)) {
      if (contains(ours, r->target)) {
        ++l.jumps;
        if (r->comment == held) ++l.held_jumps;
      } else {
        ++l.legacy_rules;
      }
    }
  }
  return l;
}

NoZoneDrops RuleInstaller::drops_in(const RuleOptions& opt_in, const SavedRuleset& current) {
  RuleOptions opt = normalized(opt_in);
  NoZoneDrops d;
  const SavedTable* t = current.table("mangle");
  if (!t) return d;
  for (const auto& r : t->rules) {
    if (r.target != "DROP") continue;
    if (r.chain == opt.chain_prefix + "-PRE") d.in += r.packets;
    if (r.chain == opt.chain_prefix + "-FWD") d.forward += r.packets;
    if (r.chain == opt.chain_prefix + "-OUT") d.out += r.packets;
  }
  return d;
}

bool RuleInstaller::sync(const std::set<std::string>& zone_interfaces, std::string* err) {
  std::lock_guard<std::mutex> lk(mu_);
  auto fail = [&](const std::string& m) {
    if (err) *err = m;
    return false;
  };
  if (auto bad = check_options(opt_); !bad.empty()) return fail(bad);
  for (const auto& i : zone_interfaces) {
    if (auto bad = check_interface_name(i); !bad.empty()) return fail(bad);
    if (opt_.unmanaged.count(i)) return fail("interface " + i + " is in a zone and also unmanaged");
  }
  if (zone_interfaces.count("lo")) FW_LOG(kWarn, "lo is in a zone: fwd leaves lo alone");
  // Most configuration changes leave the zone interfaces alone: nothing to run then (each
  // apply costs an iptables-save and an iptables-restore per family, ~100 ms).
  if (in_sync_ && !held_ && zone_interfaces == zone_interfaces_) return true;
  zone_interfaces_ = zone_interfaces;
  in_sync_ = apply(false, err);
  flood_installed_ = in_sync_;  // apply_family installed flood_drops_ with the chains
  return in_sync_;
}

bool RuleInstaller::hold(std::string* err) {
  std::lock_guard<std::mutex> lk(mu_);
  held_ = true;
  flood_installed_ = false;  // held rules keep FWD-DDOS empty
  if (!touched_) return true;
  return apply(true, err);
}

bool RuleInstaller::apply(bool held, std::string* err) {
  Leftovers found;
  for (bool v6 : {false, true}) {
    if (apply_family(v6, held, &found, err)) continue;
    if (!opt_.defrag) return false;
    // A kernel without the socket match: the rules without it (fragments then reach fwd as
    // they come, non-first ones by the first one's verdict).
    FW_LOG(kWarn, "kernel rules with the defragmenting chain failed ("
                      << (err ? *err : std::string()) << "); retrying without it");
    opt_.defrag = false;
    if (!apply_family(v6, held, &found, err)) return false;
  }
  if (!synced_once_) leftovers_ = found;
  synced_once_ = true;
  return true;
}

bool RuleInstaller::apply_family(bool v6, bool held, Leftovers* found, std::string* err) {
  const std::string save = v6 ? "ip6tables-save" : "iptables-save";
  const std::string restore = v6 ? "ip6tables-restore" : "iptables-restore";
  std::string e;
  for (int attempt = 1; attempt <= kApplyAttempts; ++attempt) {
    std::string text;
    if (!run_program_io({save, "-c"}, {}, &text, &e)) break;
    SavedRuleset cur = parse_iptables_save(text);
    std::string input = restore_text(opt_, zone_interfaces_, cur, held);
    touched_ = true;
    if (run_program_io({restore, "--noflush", "--counters", "-w"}, input, nullptr, &e)) {
      *found += find_leftovers(opt_, cur);
      // FWD-DDOS was emptied: its counters are kept, its drops installed again (not when held:
      // the next fwd decides on its own floods).
      if (synced_once_) flood_drops_in(opt_, cur, &flood_dropped_);
      return held || flood_drops_.empty() || apply_flood_drops(v6, err);
    }
  }
  if (err) *err = e;
  return false;
}

bool RuleInstaller::remove_all(std::string* err) {
  std::lock_guard<std::mutex> lk(mu_);
  in_sync_ = false;
  flood_installed_ = false;
  std::string first_err;
  for (bool v6 : {false, true}) {
    std::string text, e;
    if (!run_program_io({v6 ? "ip6tables-save" : "iptables-save"}, {}, &text, &e)) {
      if (first_err.empty()) first_err = e;
      continue;
    }
    std::string input = removal_text(opt_, parse_iptables_save(text));
    if (input.empty()) continue;
    if (!run_program_io({v6 ? "ip6tables-restore" : "iptables-restore", "--noflush", "-w"}, input,
                        nullptr, &e) &&
        first_err.empty())
      first_err = e;
  }
  touched_ = false;
  held_ = false;
  if (!first_err.empty() && err) *err = first_err;
  return first_err.empty();
}

std::optional<SavedRuleset> RuleInstaller::saved_mangle(bool v6, std::string* err) {
  std::string text;
  if (!run_program_io({v6 ? "ip6tables-save" : "iptables-save", "-c", "-t", "mangle"}, {}, &text,
                      err))
    return std::nullopt;
  return parse_iptables_save(text);
}

std::optional<RuleInstaller::KernelDrops> RuleInstaller::kernel_drops(std::string* err) const {
  std::lock_guard<std::mutex> lk(mu_);
  KernelDrops d;
  d.floods = flood_dropped_;
  for (bool v6 : {false, true}) {
    auto cur = saved_mangle(v6, err);
    if (!cur) return std::nullopt;
    d.no_zone += drops_in(opt_, *cur);
    flood_drops_in(opt_, *cur, &d.floods);
  }
  return d;
}

std::optional<NoZoneDrops> RuleInstaller::no_zone_drops(std::string* err) const {
  auto d = kernel_drops(err);
  if (!d) return std::nullopt;
  return d->no_zone;
}

}  // namespace fw::fwd
