#include "policy/service_entries.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/policy/test_registries.h"

namespace fw::policy {
namespace {

ServiceCond tcp(uint16_t dlo, uint16_t dhi, uint16_t slo = 0, uint16_t shi = 65535) {
  return {6, slo, shi, dlo, dhi, -1};
}
ServiceCond udp(uint16_t d) { return {17, 0, 65535, d, d, -1}; }
ServiceCond icmp(uint8_t proto, int type) { return {proto, 0, 65535, 0, 65535, type}; }
ServiceCond proto(uint8_t p) { return {p, 0, 65535, 0, 65535, -1}; }

using Ports = std::vector<std::pair<uint16_t, uint16_t>>;

struct Case {
  const char* what;
  std::vector<ServiceCond> items;
  size_t entries;
  std::vector<uint8_t> first_protos{};  // of the first entry
  Ports first_dports{};
};

const Case kCases[] = {
    {"no items: any", {}, 1},
    {"protocol 0 wins over the rest", {tcp(80, 80), proto(0)}, 1},
    {"ports of one protocol share", {tcp(80, 80), tcp(443, 443)}, 1, {6}, {{80, 80}, {443, 443}}},
    {"duplicates collapse", {tcp(80, 80), tcp(80, 80)}, 1, {6}, {{80, 80}}},
    {"tcp and udp with equal ports share", {udp(53), tcp(53, 53)}, 1, {17, 6}, {{53, 53}}},
    {"tcp and udp with other ports do not", {tcp(80, 80), udp(53)}, 2, {6}, {{80, 80}}},
    {"other source ports do not", {tcp(80, 80, 1000, 2000), tcp(443, 443)}, 2, {6}, {{80, 80}}},
    {"icmp types share", {icmp(1, 8), icmp(1, 0)}, 1, {1}},
    {"icmp and icmpv6 with other types do not", {icmp(1, 8), icmp(58, 128)}, 2, {1}},
    {"ports, icmp and others share (disjoint protocols)",
     {tcp(80, 80), icmp(1, 8), proto(47)},
     1,
     {6, 1, 47},
     {{80, 80}}},
    {"empty port range matches nothing", {tcp(81, 80)}, 0},
    {"empty source range matches nothing", {tcp(80, 80, 9, 1)}, 0},
    {"protocol 255 placeholder", {{255, 1, 0, 1, 0, -1}}, 1, {255}},
};

TEST(ServiceEntries, Table) {
  for (const Case& k : kCases) {
    const auto got = service_entries(k.items);
    ASSERT_EQ(got.size(), k.entries) << k.what;
    if (got.empty()) continue;
    EXPECT_EQ(got[0].protos, k.first_protos) << k.what;
    EXPECT_EQ(got[0].dports, k.first_dports) << k.what;
  }
}

TEST(ServiceEntries, IcmpAnyTypeCoversTheListedOnes) {
  const auto got = service_entries({icmp(1, 8), icmp(1, -1)});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].icmp_any);
  const auto typed = service_entries({icmp(1, 8), icmp(1, 3)});
  ASSERT_EQ(typed.size(), 1u);
  EXPECT_FALSE(typed[0].icmp_any);
  EXPECT_EQ(typed[0].icmp_types, (std::vector<int>{3, 8}));
}

}  // namespace
}  // namespace fw::policy
