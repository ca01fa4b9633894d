#include "aspf/registry.h"

#include <array>

#include "aspf/ftp/ftp_inspector.h"
#include "aspf/pptp/pptp_inspector.h"
#include "aspf/rtsp/rtsp_inspector.h"  // rtsp
#include "aspf/sip/sip_inspector.h"
#include "aspf/tftp/tftp_inspector.h"

namespace fw::aspf {

namespace {
constexpr std::array<std::string_view, 5> kEngineCounters = {"messages", "rewrites", "opened",
                                                             "refused.cap", "refused.no-room"};
}  // namespace

void add_builtin_algs(Registry& r) {
  r.add(ftp::make_inspector());
  r.add(pptp::make_inspector());
  r.add(tftp::make_inspector());
  r.add(rtsp::make_inspector());  // rtsp
  r.add(sip::make_inspector());
}

Registry::Registry(common::CounterTable& counters) : table_(counters) {}

uint8_t Registry::add(std::unique_ptr<Inspector> ins) {
  if (!ins || id_of(ins->spec().name) != 0 || algs_.size() >= 250) return 0;
  const std::string prefix = "aspf." + std::string(ins->spec().name) + ".";
  Alg a;
  a.counters = common::CounterBlock(table_, prefix, ins->spec().counters);
  a.engine = common::CounterBlock(table_, prefix, kEngineCounters);
  a.ins = std::move(ins);
  algs_.push_back(std::move(a));
  return static_cast<uint8_t>(algs_.size());
}

Inspector* Registry::get(uint8_t id) const {
  return id >= 1 && id <= algs_.size() ? algs_[id - 1].ins.get() : nullptr;
}

uint8_t Registry::id_of(std::string_view name) const {
  for (size_t i = 0; i < algs_.size(); ++i) {
    if (algs_[i].ins->spec().name == name) return static_cast<uint8_t>(i + 1);
  }
  return 0;
}

const common::CounterBlock& Registry::counters(uint8_t id) const {
  return id >= 1 && id <= algs_.size() ? algs_[id - 1].counters : none_;
}

const common::CounterBlock& Registry::engine_counters(uint8_t id) const {
  return id >= 1 && id <= algs_.size() ? algs_[id - 1].engine : none_;
}

std::vector<std::pair<std::string, std::string>> Registry::keywords() const {
  std::vector<std::pair<std::string, std::string>> v;
  for (const auto& a : algs_) v.emplace_back(a.ins->spec().name, a.ins->spec().help);
  return v;
}

}  // namespace fw::aspf
