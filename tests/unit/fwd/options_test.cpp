// fwd's command line (fwd/options.h): the default of --queues (issue 16 item 1: multi-queue by
// default, one queue and worker per CPU fwd may run on, at most kMaxDefaultQueues).
#include "fwd/options.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace fw::fwd {
namespace {

std::optional<Options> parse(std::vector<std::string> args, int* rc) {
  args.insert(args.begin(), "fwd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), rc);
}

unsigned affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  return static_cast<unsigned>(CPU_COUNT(&set));
}

TEST(Options, QueuesDefaultToTheCpusOfTheAffinityCapped) {
  unsigned want = std::clamp(affinity_cpus(), 1u, kMaxDefaultQueues);
  EXPECT_EQ(default_queues(), want);
  int rc = -1;
  auto o = parse({"--config", "x.cfg"}, &rc);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->queues, want);
}

TEST(Options, QueuesFlagOverridesTheDefault) {
  int rc = -1;
  auto o = parse({"--queues", "3"}, &rc);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->queues, 3);
  o = parse({"-k", "1"}, &rc);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->queues, 1);
  EXPECT_FALSE(parse({"--queues", "0"}, &rc));
  EXPECT_EQ(rc, 2);
  EXPECT_FALSE(parse({"--queues", "65"}, &rc));
  EXPECT_EQ(rc, 2);
}

// Pinned to one CPU (taskset -c 0 fwd), the default is one queue. The affinity is the calling
// thread's: a thread of its own keeps the test process's untouched.
TEST(Options, QueuesDefaultFollowsANarrowedAffinity) {
  unsigned got = 0, got_parsed = 0;
  std::thread t([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    got = default_queues();
    int rc = -1;
    auto o = parse({}, &rc);
    ASSERT_TRUE(o);
    got_parsed = o->queues;
  });
  t.join();
  EXPECT_EQ(got, 1u);
  EXPECT_EQ(got_parsed, 1u);
}

}  // namespace
}  // namespace fw::fwd
