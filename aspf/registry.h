#pragma once
// The ALGs of a data plane. Adding an ALG = a folder under aspf/ + one
// add_subdirectory + one line in add_builtin_algs() (registry.cpp). Each
// inspector is an object owned here (its allocators and per-process state live
// in it), with its counters resolved once. Ids are 1-based (0 = no ALG), in
// the order added.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aspf/inspector.h"
#include "common/counters.h"

namespace fw::aspf {

// Counters the engine keeps for every ALG, below "aspf.<name>.".
enum EngineCounter : size_t { kMessages, kRewrites, kOpened, kRefusedCap, kRefusedNoRoom };

class Registry {
 public:
  explicit Registry(common::CounterTable& counters);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Adds an ALG; returns its id (0 if the name is taken or there is no room).
  uint8_t add(std::unique_ptr<Inspector> ins);
  Inspector* get(uint8_t id) const;
  uint8_t id_of(std::string_view name) const;  // 0 if unknown
  size_t size() const { return algs_.size(); }
  const common::CounterBlock& counters(uint8_t id) const;         // the inspector's table
  const common::CounterBlock& engine_counters(uint8_t id) const;  // EngineCounter
  // (keyword, help) of every ALG, for the command grammar.
  std::vector<std::pair<std::string, std::string>> keywords() const;

 private:
  struct Alg {
    std::unique_ptr<Inspector> ins;
    common::CounterBlock counters, engine;
  };
  common::CounterTable& table_;
  std::vector<Alg> algs_;
  common::CounterBlock none_;
};

// Adds every ALG this build has.
void add_builtin_algs(Registry& r);

}  // namespace fw::aspf
