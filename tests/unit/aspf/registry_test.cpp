// The ALG registry alone: an ALG is an object given to Registry::add, and keywords() is what
// the command grammar lists for `firewall detect` (the grammar and controller side, which
// needs fw_fwd, is tests/unit/fwd/alg_keywords_test.cpp).
#include "aspf/registry.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

#include "common/counters.h"

namespace fw::aspf {
namespace {

constexpr std::array<std::string_view, 2> kToyCounters = {"parsed", "refused.bad"};
constexpr std::array<Channel, 1> kToyChannels = {{{"toy-data", ""}}};

// The smallest ALG: says what it is, inspects nothing.
class ToyInspector final : public Inspector {
 public:
  explicit ToyInspector(std::string name, std::string help = "Toy protocol")
      : name_(std::move(name)), help_(std::move(help)) {
    spec_ = {name_, help_, {17}, 7777, kToyCounters, kToyChannels};
  }
  const AlgSpec& spec() const override { return spec_; }
  std::vector<Edit> on_message(Context&, State*, session::Dir, const Message&) override {
    return {};
  }

 private:
  std::string name_, help_;
  AlgSpec spec_;
};

using Keywords = std::vector<std::pair<std::string, std::string>>;

TEST(Registry, AnAddedAlgIsAKeywordWithItsHelp) {
  common::CounterTable table;
  Registry r(table);
  add_builtin_algs(r);
  const size_t builtin = r.size();
  ASSERT_GE(builtin, 1u);
  Keywords before = r.keywords();
  ASSERT_EQ(before.size(), builtin);

  uint8_t id = r.add(std::make_unique<ToyInspector>("toy"));
  EXPECT_EQ(id, builtin + 1);
  EXPECT_EQ(r.id_of("toy"), id);
  ASSERT_NE(r.get(id), nullptr);
  EXPECT_EQ(r.get(id)->spec().name, "toy");
  Keywords after = r.keywords();
  ASSERT_EQ(after.size(), builtin + 1);
  // In the order added: the built-ins keep their place, the new one comes last.
  EXPECT_TRUE(std::equal(before.begin(), before.end(), after.begin()));
  EXPECT_EQ(after.back(), (std::pair<std::string, std::string>{"toy", "Toy protocol"}));
  // Its counters live below aspf.<name>.
  r.counters(id).inc(0, 3);
  EXPECT_EQ(table.value("aspf.toy.parsed"), 3u);
}

TEST(Registry, RefusesATakenNameNullAndPastItsRoom) {
  common::CounterTable table;
  Registry r(table);
  ASSERT_EQ(r.add(std::make_unique<ToyInspector>("toy")), 1);
  EXPECT_EQ(r.add(std::make_unique<ToyInspector>("toy", "Another help")), 0);
  EXPECT_EQ(r.add(nullptr), 0);
  EXPECT_EQ(r.keywords(), (Keywords{{"toy", "Toy protocol"}}));
  EXPECT_EQ(r.id_of("nope"), 0);
  EXPECT_EQ(r.get(0), nullptr);
  EXPECT_EQ(r.get(2), nullptr);
  size_t added = 1;
  for (int i = 0; i < 300; ++i)
    added += r.add(std::make_unique<ToyInspector>("toy" + std::to_string(i))) != 0;
  EXPECT_EQ(added, 250u);  // ids stay below 255 (0 = no ALG)
  EXPECT_EQ(r.keywords().size(), 250u);
}

}  // namespace
}  // namespace fw::aspf
