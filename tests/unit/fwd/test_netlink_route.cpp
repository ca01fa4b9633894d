#include <gtest/gtest.h>

#include "fwd/netlink_route.h"

namespace fw::fwd {
namespace {

TEST(RouteResolver, LoopbackIsLocalViaLo) {
  std::string err;
  auto r = RouteResolver::open(&err);
  ASSERT_TRUE(r) << err;
  auto res = r->lookup(*common::IpAddr::parse("127.0.0.1"));
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->type, RouteResult::Type::kLocal);
  EXPECT_EQ(ifname_of(res->oif), "lo");
  EXPECT_TRUE(res->gateway.empty());
}

TEST(RouteResolver, RepeatedLookupsKeepSequence) {
  std::string err;
  auto r = RouteResolver::open(&err);
  ASSERT_TRUE(r) << err;
  for (int i = 0; i < 100; ++i) {
    auto res = r->lookup(*common::IpAddr::parse("127.0.0.2"));
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->type, RouteResult::Type::kLocal);
  }
}

TEST(Links, DumpHasLoopbackWithAddress) {
  std::string err;
  auto links = dump_links(&err);
  ASSERT_FALSE(links.empty()) << err;
  bool found = false;
  for (const auto& l : links) {
    if (l.name != "lo") continue;
    found = true;
    EXPECT_EQ(l.ifindex, ifindex_of("lo"));
    ASSERT_EQ(l.addrs.size(), l.prefix_lens.size());
    bool has127 = false;
    for (size_t i = 0; i < l.addrs.size(); ++i)
      if (l.addrs[i] == *common::IpAddr::parse("127.0.0.1")) has127 = l.prefix_lens[i] == 8;
    EXPECT_TRUE(has127);
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(ifindex_of("no-such-if0"), 0u);
  EXPECT_EQ(ifname_of(0), "");
}

}  // namespace
}  // namespace fw::fwd
