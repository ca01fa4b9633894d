// SYN cookies (session/syn_cookie.h): a cookie is valid for its tuple and client ISN in its time
// window and the next one, never in a later one (replay), never for another tuple, ISN or
// instance secret; it carries the MSS (by table), SACK-permitted and the window scale.
#include "session/syn_cookie.h"

#include <gtest/gtest.h>

#include <array>

namespace fw::session {
namespace {

CookieTuple tuple(const char* src = "203.0.113.7", uint16_t sport = 40000) {
  return {*common::IpAddr::parse(src), *common::IpAddr::parse("198.18.1.5"), sport, 80};
}

const SynCookies kC{std::array<uint64_t, 2>{0x0123456789abcdefULL, 0xfedcba9876543210ULL}};
constexpr uint64_t kW = SynCookies::kWindowMs;

TEST(SipHash, ReferenceVector) {
  // The SipHash paper's test vector: key 00..0f, message 00..0e -> a129ca6149be45e5.
  std::array<uint8_t, 15> msg{};
  for (uint8_t i = 0; i < msg.size(); ++i) msg[i] = i;
  EXPECT_EQ(siphash24({0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL}, msg), 0xa129ca6149be45e5ULL);
}

TEST(SynCookie, ValidInItsWindowAndTheNextOnly) {
  const SynOptions o{1460, 7, true};
  for (uint64_t t0 : {uint64_t{5 * kW}, uint64_t{6 * kW + 123}, uint64_t{1000 * kW + kW - 1}}) {
    const uint32_t c = kC.make(tuple(), 1000, o, t0);
    EXPECT_EQ(kC.check(tuple(), 1000, c, t0), o);
    EXPECT_EQ(kC.check(tuple(), 1000, c, t0 - t0 % kW + kW - 1), o) << "end of its window";
    EXPECT_EQ(kC.check(tuple(), 1000, c, t0 - t0 % kW + kW), o) << "the next window";
    EXPECT_EQ(kC.check(tuple(), 1000, c, t0 - t0 % kW + 2 * kW - 1), o);
    EXPECT_FALSE(kC.check(tuple(), 1000, c, t0 - t0 % kW + 2 * kW)) << "replayed two windows on";
    EXPECT_FALSE(kC.check(tuple(), 1000, c, t0 - t0 % kW + 3 * kW)) << "replayed three on";
    EXPECT_FALSE(kC.check(tuple(), 1000, c, t0 - t0 % kW - 1)) << "before it was made";
  }
  EXPECT_FALSE(kC.check(tuple(), 1000, kC.make(tuple(), 1000, o, kW), 0)) << "no window -1";
}

TEST(SynCookie, WrongTupleIsnOrSecretIsRefused) {
  const SynOptions o{1460, 7, true};
  const uint64_t t = 77 * kW;
  const uint32_t c = kC.make(tuple(), 1000, o, t);
  EXPECT_FALSE(kC.check(tuple("203.0.113.8"), 1000, c, t));
  EXPECT_FALSE(kC.check(tuple("203.0.113.7", 40001), 1000, c, t));
  EXPECT_FALSE(kC.check(tuple("2001:db8::7"), 1000, c, t));
  CookieTuple other_dst = tuple();
  other_dst.dport = 81;
  EXPECT_FALSE(kC.check(other_dst, 1000, c, t));
  EXPECT_FALSE(kC.check(tuple(), 1001, c, t)) << "another client ISN";
  EXPECT_FALSE(kC.check(tuple(), 1000, c ^ 0x10, t)) << "flipped SACK bit";
  EXPECT_FALSE(kC.check(tuple(), 1000, c ^ 0x100, t)) << "flipped hash bit";
  EXPECT_FALSE(kC.check(tuple(), 1000, c + 1, t));
  const SynCookies other{std::array<uint64_t, 2>{1, 2}};
  EXPECT_FALSE(other.check(tuple(), 1000, c, t)) << "another instance's secret";
  const SynCookies random_a, random_b;  // two instances draw two secrets
  EXPECT_NE(random_a.make(tuple(), 1, o, t), random_b.make(tuple(), 1, o, t));
}

TEST(SynCookie, ForgedCookiesAlmostNeverPass) {
  int passed = 0;
  for (uint32_t guess = 0; guess < 200000; ++guess)
    passed += kC.check(tuple(), 1000, guess * 2654435761u, 9 * kW).has_value();
  EXPECT_LE(passed, 1) << "24 bits of hash: about 0.012 expected";
}

TEST(SynCookie, MssTableAndOptions) {
  struct Case {
    const char* src;
    uint16_t mss;
    uint16_t want;
  } cases[] = {
      {"203.0.113.7", 1460, 1460}, {"203.0.113.7", 9000, 1460}, {"203.0.113.7", 1459, 1440},
      {"203.0.113.7", 1300, 1300}, {"203.0.113.7", 1000, 536},  {"203.0.113.7", 100, 536},
      {"203.0.113.7", 0, 536},     {"2001:db8::7", 1440, 1440}, {"2001:db8::7", 1420, 1400},
      {"2001:db8::7", 1280, 1280}, {"2001:db8::7", 600, 1220},
  };
  for (const auto& c : cases) {
    const SynOptions o{c.mss, kNoWscale, false};
    const uint32_t k = kC.make(tuple(c.src), 5, o, kW);
    auto back = kC.check(tuple(c.src), 5, k, kW);
    ASSERT_TRUE(back) << c.src << " " << c.mss;
    EXPECT_EQ(back->mss, c.want) << c.src << " " << c.mss;
    EXPECT_EQ(back->wscale, kNoWscale);
    EXPECT_FALSE(back->sack);
  }
  for (uint8_t ws = 0; ws <= 14; ++ws) {
    for (bool sack : {false, true}) {
      const SynOptions o{1460, ws, sack};
      EXPECT_EQ(kC.check(tuple(), 9, kC.make(tuple(), 9, o, kW), kW), o);
    }
  }
}

TEST(SynCookie, ReadsSynOptions) {
  // MSS 1460, SACK-permitted, timestamp, NOP, window scale 7 (a Linux SYN).
  const std::array<uint8_t, 20> linux_syn{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
                                          0, 1, 0,    0,    0, 0, 1, 3,  3, 7};
  EXPECT_EQ(read_syn_options(linux_syn), (SynOptions{1460, 7, true}));
  const std::array<uint8_t, 4> big_ws{1, 3, 3, 20};
  EXPECT_EQ(read_syn_options(big_ws).wscale, 14) << "RFC 7323: above 14 is 14";
  const std::array<uint8_t, 3> cut{2, 4, 5};
  EXPECT_EQ(read_syn_options(cut), SynOptions{}) << "an MSS running past the end";
}

}  // namespace
}  // namespace fw::session
