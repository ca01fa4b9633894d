// ASPF: firewall detect (global and per interzone), port mapping, display firewall detect
// [verbose].
#include <iomanip>

#include "aspf/registry.h"
#include "common/counters.h"
#include "fwd/ctl_context.h"
#include "fwd/dataplane.h"

namespace fw::fwd::ctl {
namespace {

using cli::ViewKind;

// The ALG named by the `protocol` parameter, or nullopt with the error set. The grammar takes
// the name from this registry's keywords (the VRP error for any other word comes from it), so
// a miss means the grammar and the registry disagree.
std::optional<std::string> alg_arg(Ctx& c) {
  std::string n = c.p("protocol");
  if (c.algs.id_of(n) == 0) {
    c.param_error("protocol", "Error: Unknown ASPF protocol " + n + ".");
    return std::nullopt;
  }
  return n;
}

void detect_global(Ctx& c) {
  if (auto n = alg_arg(c)) {
    add_unique(c.cfg.detect_global, *n);
    c.changed = true;
  }
}

void undo_detect_global(Ctx& c) {
  if (auto n = alg_arg(c)) {
    std::erase(c.cfg.detect_global, *n);
    c.changed = true;
  }
}

void interzone_enter(Ctx& c) {
  std::string a = c.p("zone1");
  std::string b = c.p("zone2");
  for (const auto& z : {a, b}) {
    if (!c.w.zone(z)) {
      c.err = "Error: The security zone " + z + " does not exist.";
      return;
    }
  }
  if (a == b) {
    c.err = "Error: An interzone needs two different zones.";
    return;
  }
  if (!c.cfg.find_interzone(a, b)) {
    c.cfg.interzones.push_back({a, b, {}});
    c.changed = true;
  }
  auto* iz = c.cfg.find_interzone(a, b);
  c.views.push_back({ViewKind::kInterzone, {iz->zone1, iz->zone2}});
}

void detect_interzone(Ctx& c) {
  auto n = alg_arg(c);
  auto* iz = c.cfg.find_interzone(c.arg(0), c.arg(1));
  if (!n || !iz) return;
  add_unique(iz->detect, *n);
  c.changed = true;
}

void undo_detect_interzone(Ctx& c) {
  auto n = alg_arg(c);
  auto* iz = c.cfg.find_interzone(c.arg(0), c.arg(1));
  if (!n || !iz) return;
  std::erase(iz->detect, *n);
  c.changed = true;
}

void portmap(Ctx& c) {
  auto n = alg_arg(c);
  if (!n) return;
  uint16_t port = c.m.u16("port").value_or(0);
  for (const auto& pm : c.cfg.port_mappings) {
    if (pm.port == port) {
      if (pm.alg != *n)
        c.err = "Error: Port " + std::to_string(port) + " is already mapped to " + pm.alg + ".";
      return;
    }
  }
  c.cfg.port_mappings.push_back({*n, port});
  c.changed = true;
}

void undo_portmap(Ctx& c) {
  auto n = alg_arg(c);
  if (!n) return;
  uint16_t port = c.m.u16("port").value_or(0);
  if (!std::erase_if(c.cfg.port_mappings,
                     [&](const auto& pm) { return pm.alg == *n && pm.port == port; })) {
    c.err = "Error: The port mapping does not exist.";
    return;
  }
  c.changed = true;
}

void inspector_line(Ctx& c, const aspf::AlgSpec& spec) {
  const std::string name(spec.name);
  std::string ports = std::to_string(spec.default_port);
  for (const auto& pm : c.cfg.port_mappings) {
    if (pm.alg == name) ports += "," + std::to_string(pm.port);
  }
  std::string transports;
  for (uint8_t proto : spec.protos) {
    if (proto != 0)
      transports += std::string(transports.empty() ? "" : "/") + (proto == 6 ? "tcp" : "udp");
  }
  c.out << "  " << std::left << std::setw(6) << name << " " << std::setw(3) << transports
        << " port " << std::setw(12) << ports;
  const std::string pre = "aspf." + name + ".";
  const auto& t = c.counters;
  c.out << " parsed " << t.value(pre + "parsed") << ", rewrites " << t.value(pre + "rewrites")
        << ", opened " << t.value(pre + "opened") << ", malformed " << t.value(pre + "malformed")
        << ", refused " << t.sum_prefix(pre + "refused.") << "\n";
}

std::string endpoint(const common::IpAddr& a, uint16_t port) {
  return (a.is_v4() ? a.str() : "[" + a.str() + "]") + ":" + std::to_string(port);
}

// The behaviour each inspector chose per control flow (the "Mode:" its describe() gives: SIP's
// translate / pinhole-only / leave-alone), at most kMaxFlows of them.
void flow_modes(Ctx& c) {
  constexpr size_t kMaxFlows = 32;
  if (!c.dp) return;
  size_t n = 0;
  for (const auto& snap :
       c.dp->sessions().snapshot([](const session::Session& s) { return s.alg != 0; })) {
    std::string text;
    c.dp->sessions().with_session_id(
        snap.id, [&](session::Session& s) { text = c.dp->engine().describe(s); });
    const size_t at = text.find("Mode: ");
    const aspf::Inspector* ins = c.algs.get(snap.alg);
    if (at == std::string::npos || !ins) continue;
    if (n++ == 0) c.out << " Flows:\n";
    if (n > kMaxFlows) continue;
    const std::string mode = text.substr(at + 6, text.find_first_of(" \n", at + 6) - at - 6);
    std::string flow = endpoint(snap.orig.src, snap.orig.sport);
    if (snap.nat.snat) flow += "[" + endpoint(snap.reply.dst, snap.reply.dport) + "]";
    flow += " --> " + endpoint(snap.orig.dst, snap.orig.dport);
    if (snap.nat.dnat) flow += "[" + endpoint(snap.reply.src, snap.reply.sport) + "]";
    c.out << "  " << ins->spec().name << " " << (snap.orig.proto == 6 ? "tcp" : "udp") << " "
          << flow << "  " << mode << "\n";
  }
  if (n > kMaxFlows) c.out << "  ... " << n - kMaxFlows << " more\n";
}

// VRP's layout: the global detect list, then each interzone's; `verbose` adds every
// inspector's ports and counters, and the behaviour chosen per control flow.
void display_detect(Ctx& c) {
  auto list = [&](const std::vector<std::string>& v) {
    std::string l;
    for (const auto& d : v) l += " " + d;
    c.out << "   " << (l.empty() ? " ---" : l).substr(1) << "\n";
  };
  c.out << " Firewall detect (ASPF):\n";
  c.out << "  global:\n";
  list(c.cfg.detect_global);
  for (const auto& iz : c.cfg.interzones) {
    c.out << "  interzone " << iz.zone1 << " " << iz.zone2 << ":\n";
    list(iz.detect);
  }
  if (!c.m.has("verbose")) return;
  c.out << " Inspectors:\n";
  for (uint8_t id = 1; id <= c.algs.size(); ++id) inspector_line(c, c.algs.get(id)->spec());
  flow_modes(c);
}

}  // namespace

void register_aspf(HandlerTable& t) {
  t.add({
      {"detect.global", detect_global},
      {"undo.detect.global", undo_detect_global},
      {"interzone.enter", interzone_enter},
      {"detect.interzone", detect_interzone},
      {"undo.detect.interzone", undo_detect_interzone},
      {"portmap", portmap},
      {"undo.portmap", undo_portmap},
      {"display.detect", display_detect},
  });
}

}  // namespace fw::fwd::ctl
