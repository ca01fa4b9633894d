// Service sets: create, delete, items, display ip service-set.
#include "fwd/ctl_context.h"

namespace fw::fwd::ctl {
namespace {

using cli::ViewKind;

void serviceset_enter(Ctx& c) {
  std::string n = c.p("set-name");
  for (const auto& s : config::predefined_services()) {
    if (s.name == n) {
      c.err = "Error: The name " + n + " is used by a predefined service.";
      return;
    }
  }
  if (!c.w.service_set(n)) {
    config::ServiceSet s;
    s.name = n;
    c.cfg.service_sets.push_back(std::move(s));
    c.w.service_sets.added(c.cfg.service_sets);
    c.changed = true;
  }
  c.views.push_back({ViewKind::kServiceSet, {n}});
}

void undo_serviceset(Ctx& c) {
  std::string n = c.p("set-name");
  if (!c.w.service_set(n)) {
    c.err = "Error: The service set " + n + " does not exist.";
    return;
  }
  for (const auto& r : c.cfg.security.rules) {
    if (std::find(r.services.begin(), r.services.end(), n) != r.services.end()) {
      c.err =
          "Error: The service set " + n + " is referenced by security policy rule " + r.name + ".";
      return;
    }
  }
  std::erase_if(c.cfg.service_sets, [&](const config::ServiceSet& s) { return s.name == n; });
  c.w.service_sets.reset();
  c.changed = true;
}

uint8_t item_protocol(const cli::Match& m) {
  if (m.has("tcp")) return 6;
  if (m.has("udp")) return 17;
  if (m.has("icmp")) return 1;
  if (m.has("icmpv6")) return 58;
  return m.u8("protocol-number").value_or(0);
}

// `source-port LO [to HI]`: false (and the error set) if HI < LO.
bool port_range(Ctx& c, const char* lo, const char* hi, uint16_t& a, uint16_t& b) {
  auto l = c.m.u16(lo);
  if (!l) return true;
  a = *l;
  b = c.m.u16(hi).value_or(a);
  if (b < a) {
    c.err = "Error: The end port must not be smaller than the start port.";
    return false;
  }
  return true;
}

void serviceset_item(Ctx& c) {
  auto* s = c.w.service_set(c.arg());
  if (!s) return;
  config::ServiceItem it;
  if (auto id = c.m.u32("item-id")) {
    it.index = *id;
  } else {
    uint32_t next = 0;
    for (const auto& x : s->items) next = std::max(next, x.index + 1);
    it.index = next;
  }
  it.proto = item_protocol(c.m);
  if (!port_range(c, "sport", "sport-end", it.sport_lo, it.sport_hi)) return;
  if (!port_range(c, "dport", "dport-end", it.dport_lo, it.dport_hi)) return;
  std::erase_if(s->items, [&](const config::ServiceItem& x) { return x.index == it.index; });
  s->items.push_back(it);
  std::sort(s->items.begin(), s->items.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  c.changed = true;
}

void undo_serviceset_item(Ctx& c) {
  auto* s = c.w.service_set(c.arg());
  if (!s) return;
  uint32_t id = c.m.u32("item-id").value_or(0);
  if (!std::erase_if(s->items, [&](const config::ServiceItem& x) { return x.index == id; })) {
    c.err = "Error: The service item " + std::to_string(id) + " does not exist.";
    return;
  }
  c.changed = true;
}

void display_servicesets(Ctx& c) {
  auto want = c.m.param("set-name");
  for (const auto& s : config::predefined_services()) {
    if (want && s.name != *want) continue;
    c.out << "Service-set Name: " << s.name << "  Type: predefined\n";
  }
  for (const auto& s : c.cfg.service_sets) {
    if (want && s.name != *want) continue;
    c.out << "Service-set Name: " << s.name << "  Type: object\n";
    std::istringstream is(config::render_service_set(s));
    std::string l;
    std::getline(is, l);
    while (std::getline(is, l)) c.out << l << "\n";
  }
}

}  // namespace

void register_service(HandlerTable& t) {
  t.add({
      {"serviceset.enter", serviceset_enter},
      {"undo.serviceset", undo_serviceset},
      {"serviceset.item", serviceset_item},
      {"undo.serviceset.item", undo_serviceset_item},
      {"display.servicesets", display_servicesets},
  });
}

}  // namespace fw::fwd::ctl
