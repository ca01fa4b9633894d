// Address sets (`ip address-set NAME type object`): create, delete, items, description,
// display ip address-set. Rules name them in `source-address address-set NAME` (ctl_policy.cpp).
#include <sstream>

#include "fwd/ctl_context.h"

namespace fw::fwd::ctl {
namespace {

using cli::ViewKind;

void addrset_enter(Ctx& c) {
  std::string n = c.p("addr-set-name");
  if (!c.w.address_set(n)) {
    config::AddressSet s;
    s.name = n;
    c.cfg.address_sets.push_back(std::move(s));
    c.w.address_sets.added(c.cfg.address_sets);
    c.changed = true;
  }
  c.views.push_back({ViewKind::kAddressSet, {n}});
}

void undo_addrset(Ctx& c) {
  std::string n = c.p("addr-set-name");
  if (!c.w.address_set(n)) {
    c.err = "Error: The address set " + n + " does not exist.";
    return;
  }
  if (auto user = config::address_set_user(c.cfg, n)) {
    c.err = "Error: The address set " + n + " is referenced by " + *user + ".";
    return;
  }
  std::erase_if(c.cfg.address_sets, [&](const config::AddressSet& s) { return s.name == n; });
  c.w.address_sets.reset();
  c.changed = true;
}

// A wildcard (inverse mask: 0.0.0.255) as a prefix length, or -1 if its ones are not contiguous
// from the right.
int wildcard_len(const common::IpAddr& w) {
  const uint32_t inv = w.v4_host();
  if ((inv & (inv + 1)) != 0) return -1;  // not of the form 0...01...1
  return 32 - __builtin_popcount(inv);
}

// The prefix of `A mask M|LEN`, `A WILDCARD` or `A 0`; sets the error and returns nullopt if
// the mask does not fit.
std::optional<common::Prefix> item_prefix(Ctx& c) {
  const auto a = c.m.ip("ip-address");
  if (!a) return std::nullopt;
  std::optional<common::Prefix> p;
  if (c.m.token("host-wildcard")) {
    p = common::Prefix::from_len(*a, a->is_v4() ? 32 : 128);
  } else if (auto w = c.m.ip("wildcard")) {
    const int len = a->is_v4() ? wildcard_len(*w) : -1;
    if (len < 0) {
      c.param_error("wildcard", "Error: The wildcard must be contiguous ones from the right.");
      return std::nullopt;
    }
    p = common::Prefix::from_len(*a, len);
  } else if (auto pm = c.m.prefix("ip-address", "mask", "mask-len")) {
    p = pm;
  }
  if (!p) {
    c.err = c.m.token("mask-len") ? "Error: Wrong mask length " + c.p("mask-len") +
                                        (a->is_v4() ? " (0-32 for IPv4)." : " (0-128 for IPv6).")
                                  : "Error: Wrong mask: it must be an IPv4 mask for an IPv4 "
                                    "address.";
    return std::nullopt;
  }
  return p;
}

void addrset_item(Ctx& c) {
  auto* s = c.w.address_set(c.arg());
  if (!s) return;
  config::AddressSet::Item it;
  if (c.m.has("range")) {
    it.range = {*c.m.ip("start-ip"), *c.m.ip("end-ip")};
    if (it.range.lo.family != it.range.hi.family) {
      c.param_error("end-ip", "Error: The start and end addresses must be of one family.");
      return;
    }
    if (it.range.hi < it.range.lo) {
      c.param_error("end-ip", "Error: The end address must not be smaller than the start one.");
      return;
    }
  } else {
    it.prefix = item_prefix(c);
    if (!it.prefix) return;
  }
  for (const auto& x : s->items) {
    if (x.prefix == it.prefix && x.range == it.range && !c.m.u32("addr-id")) return;  // present
  }
  if (auto id = c.m.u32("addr-id")) {
    it.id = *id;
  } else {
    uint32_t next = 0;
    for (const auto& x : s->items) next = std::max(next, x.id + 1);
    if (next > 4095) {
      c.err = "Error: The address set " + s->name + " is full (4096 items).";
      return;
    }
    it.id = next;
  }
  std::erase_if(s->items, [&](const config::AddressSet::Item& x) { return x.id == it.id; });
  s->items.push_back(it);
  std::sort(s->items.begin(), s->items.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  c.changed = true;
}

void undo_addrset_item(Ctx& c) {
  auto* s = c.w.address_set(c.arg());
  if (!s) return;
  const uint32_t id = c.m.u32("addr-id").value_or(0);
  if (!std::erase_if(s->items, [&](const config::AddressSet::Item& x) { return x.id == id; })) {
    c.err = "Error: The address item " + std::to_string(id) + " does not exist.";
    return;
  }
  c.changed = true;
}

void addrset_description(Ctx& c, bool undo) {
  if (auto* s = c.w.address_set(c.arg())) {
    s->description = undo ? std::string() : c.p("text");
    c.changed = true;
  }
}

// How many security and NAT rules name the set.
template <typename Rule>
size_t users(const std::vector<Rule>& rules, const std::string& n) {
  return std::count_if(rules.begin(), rules.end(), [&](const Rule& r) {
    return std::find(r.src_sets.begin(), r.src_sets.end(), n) != r.src_sets.end() ||
           std::find(r.dst_sets.begin(), r.dst_sets.end(), n) != r.dst_sets.end();
  });
}

void display_addrsets(Ctx& c) {
  auto want = c.m.param("addr-set-name");
  if (want && !c.w.address_set(*want)) {
    c.err = "Error: The address set " + *want + " does not exist.";
    return;
  }
  for (const auto& s : c.cfg.address_sets) {
    if (want && s.name != *want) continue;
    c.out << "Address-set: " << s.name << "\n";
    c.out << " Type: object\n";
    c.out << " Item number(s): " << s.items.size() << "\n";
    c.out << " Reference number(s): "
          << users(c.cfg.security.rules, s.name) + users(c.cfg.nat_rules, s.name) << "\n";
    if (!s.description.empty()) c.out << " Description: " << s.description << "\n";
    c.out << " Item(s):\n";
    std::istringstream is(config::render_address_set(s));
    std::string l;
    while (std::getline(is, l)) {
      if (l.rfind(" address ", 0) == 0) c.out << l << "\n";
    }
    c.out << "\n";
  }
}

}  // namespace

void register_address_set(HandlerTable& t) {
  t.add({
      {"addrset.enter", addrset_enter},
      {"undo.addrset", undo_addrset},
      {"addrset.item", addrset_item},
      {"undo.addrset.item", undo_addrset_item},
      {"addrset.description", [](Ctx& c) { addrset_description(c, false); }},
      {"undo.addrset.description", [](Ctx& c) { addrset_description(c, true); }},
      {"display.addrset", display_addrsets},
  });
}

}  // namespace fw::fwd::ctl
