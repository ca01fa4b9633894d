#include "aspf/registry.h"

#include "aspf/ftp/ftp_inspector.h"
#include "aspf/pptp/pptp_inspector.h"

namespace fw::aspf {

const std::vector<std::unique_ptr<Inspector>>& inspectors() {
  static const std::vector<std::unique_ptr<Inspector>> v = [] {
    std::vector<std::unique_ptr<Inspector>> l;
    l.push_back(ftp::make_inspector());
    l.push_back(pptp::make_inspector());
    return l;
  }();
  return v;
}

const Inspector* inspector(uint8_t id) {
  const auto& v = inspectors();
  return id >= 1 && id <= v.size() ? v[id - 1].get() : nullptr;
}

uint8_t inspector_id(std::string_view name) {
  const auto& v = inspectors();
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i]->name() == name) return static_cast<uint8_t>(i + 1);
  }
  return 0;
}

std::vector<std::string> inspector_names() {
  std::vector<std::string> n;
  for (const auto& i : inspectors()) n.emplace_back(i->name());
  return n;
}

}  // namespace fw::aspf
