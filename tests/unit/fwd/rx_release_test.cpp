// RxRelease (issue 16 item 6): a queue's receive slots go back to the kernel when the queue is
// idle, and those above the largest recent batch once a second; the slots in use keep their data.
#include "fwd/rx_release.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace fw::fwd {
namespace {

constexpr size_t kSlot = 65536 + 8192;  // as fwd/nfqueue.cpp
constexpr uint32_t kSlots = 16;

class RxReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    void* p =
        mmap(nullptr, kSlot * kSlots, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    buf = static_cast<uint8_t*>(p);
  }
  void TearDown() override { munmap(buf, kSlot * kSlots); }
  // Fills slots [0, n) as a burst of big (GSO) packets would.
  void fill(uint32_t n) { std::memset(buf, 0xab, kSlot * n); }
  size_t resident() const {
    std::vector<unsigned char> v(kSlot * kSlots / 4096);
    EXPECT_EQ(mincore(buf, kSlot * kSlots, v.data()), 0);
    size_t n = 0;
    for (unsigned char c : v) n += c & 1;
    return n * 4096;
  }
  uint8_t* buf = nullptr;
};

TEST_F(RxReleaseTest, IdleQueueGivesEverySlotBack) {
  RxRelease r(buf, kSlot, kSlots);
  fill(kSlots);
  r.used(kSlots, 1000);
  EXPECT_EQ(resident(), kSlot * kSlots);
  r.idle();
  EXPECT_EQ(resident(), 0u);
  EXPECT_EQ(r.dirty_slots(), 0u);
  EXPECT_EQ(buf[kSlot * 3 + 100], 0);  // reads as zeros, and is writable again
  fill(1);
  r.used(1, 1100);
  EXPECT_GE(resident(), kSlot - 4096);
  EXPECT_LE(resident(), kSlot + 4096);
}

TEST_F(RxReleaseTest, BusyQueueGivesBackSlotsAboveItsRecentBatches) {
  RxRelease r(buf, kSlot, kSlots);
  fill(kSlots);
  r.used(kSlots, 1000);  // the burst (a flood)
  for (uint64_t t = 1100; t < 2000; t += 100) {
    fill(2);
    r.used(2, t);  // then batches of two, within the second: nothing given back yet
  }
  EXPECT_EQ(resident(), kSlot * kSlots);
  fill(2);
  r.used(2, 2000);  // a second later: the slots above 2 go back, the two in use stay
  EXPECT_EQ(r.dirty_slots(), 2u);
  EXPECT_LE(resident(), 2 * kSlot + 4096);
  EXPECT_GE(resident(), 2 * kSlot - 4096);
  EXPECT_EQ(buf[2 * kSlot - 1], 0xab);
}

}  // namespace
}  // namespace fw::fwd
