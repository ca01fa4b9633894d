// Area route: static routes in the configuration (render, load back, undo) and the commands the
// management socket runs beside the others (runs_long).
#include <gtest/gtest.h>

#include <string>

#include "cli/grammar.h"
#include "config/config.h"
#include "fwd/controller.h"
#include "tests/unit/fwd/controller_test_util.h"

namespace fw::fwd {
namespace {

using testing::current;

const char* kRoutes = R"(
ip route-static 0.0.0.0 0.0.0.0 203.0.113.2
ip route-static 198.51.100.9 24 out0 203.0.113.2 preference 70
ip route-static 198.18.9.128 255.255.255.128 in0
)";

TEST(Routes, RenderLoadBackAndNormalise) {
  Controller c({});
  std::string err;
  ASSERT_TRUE(c.load_text(kRoutes, "routes", &err)) << err;
  const auto& r = c.running().static_routes;
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].prefix.addr.str(), "198.51.100.0");  // host bits cleared
  EXPECT_EQ(r[1].prefix.len, 24);
  EXPECT_EQ(r[1].ifname, "out0");
  EXPECT_EQ(r[1].preference, 70u);
  EXPECT_EQ(r[2].nexthop.empty(), true);
  const std::string cfg = current(c);
  EXPECT_NE(cfg.find("ip route-static 198.51.100.0 255.255.255.0 out0 203.0.113.2 preference 70\n"),
            std::string::npos)
      << cfg;
  Controller again({});
  ASSERT_TRUE(again.load_text(cfg, "current", &err)) << err;
  EXPECT_EQ(again.running().static_routes, r);
  // Loading the same routes twice changes nothing.
  ASSERT_TRUE(again.load_text(cfg, "current", &err)) << err;
  EXPECT_EQ(again.running().static_routes, r);
}

TEST(Routes, UndoByPrefixOrByNextHop) {
  Controller c({});
  std::string err;
  ASSERT_TRUE(c.load_text(kRoutes, "routes", &err)) << err;
  cli::ViewStack sys = {cli::View{cli::ViewKind::kUser, {}}, cli::View{cli::ViewKind::kSystem, {}}};
  EXPECT_FALSE(c.execute(sys, "undo ip route-static 198.51.100.0 24 203.0.113.3").ok);
  EXPECT_EQ(c.running().static_routes.size(), 3u);
  EXPECT_TRUE(c.execute(sys, "undo ip route-static 198.51.100.0 24 out0").ok);
  EXPECT_TRUE(c.execute(sys, "undo ip route-static 0.0.0.0 0").ok);
  ASSERT_EQ(c.running().static_routes.size(), 1u);
  EXPECT_EQ(c.running().static_routes[0].prefix.addr.str(), "198.18.9.128");
}

TEST(Routes, PingAndTracertRunApart) {
  Controller c({});
  EXPECT_TRUE(c.runs_long(cli::user_view(), "ping -c 2 203.0.113.2"));
  EXPECT_TRUE(c.runs_long(cli::user_view(), "tracert 203.0.113.2"));
  EXPECT_TRUE(c.runs_long(cli::user_view(), "tra 203.0.113.2"));
  EXPECT_FALSE(c.runs_long(cli::user_view(), "ping ?"));
  EXPECT_FALSE(c.runs_long(cli::user_view(), "ping 2001:db8::1"));
  EXPECT_FALSE(c.runs_long(cli::user_view(), "display ip routing-table"));
  // Without a data plane (no kernel) ping is refused, not run.
  auto r = c.execute(cli::user_view(), "ping 203.0.113.2");
  EXPECT_FALSE(r.ok);
}

}  // namespace
}  // namespace fw::fwd
