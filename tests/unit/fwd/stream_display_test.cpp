// "stream" area: the session table and server-map displays rendered in batches and sent in
// pieces through the controller's sink, their pipes applied piece by piece.
#include <gtest/gtest.h>

#include <string>

#include "cli/output.h"
#include "common/clock.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "session/session_table.h"
#include "tests/unit/fwd/pipeline_fixture.h"

namespace fw::fwd {
namespace {

// A RouteSource for tests that build a data plane but send no packet.
using testing::NoRoutes;

size_t count_lines(const std::string& s) { return cli::split_lines(s).size(); }

class StreamDisplay : public ::testing::Test {
 protected:
  static constexpr size_t kSessions = 20'000;
  void SetUp() override {
    opt_.max_sessions = kSessions;
    dp_ = std::make_unique<DataPlane>(clock_, routes_, opt_);
    for (size_t i = 0; i < kSessions; ++i) {
      session::Session s;
      s.orig.src = *common::IpAddr::parse("198.18.1." + std::to_string(2 + i % 200));
      s.orig.dst = *common::IpAddr::parse("203.0.113.2");
      s.orig.sport = static_cast<uint16_t>(10000 + i);
      s.orig.dport = 53;
      s.orig.proto = 17;
      s.reply = s.orig.reversed();
      s.timeout_s = 120;
      ASSERT_EQ(dp_->sessions().insert(s), session::InsertResult::kOk);
    }
    ControllerHooks h;
    h.dataplane = dp_.get();
    ctl_ = std::make_unique<Controller>(h);
  }
  // The whole output with a sink: the pieces then the rest in the result.
  std::string streamed(const std::string& cmd, size_t* pieces) {
    std::string all;
    *pieces = 0;
    auto r = ctl_->execute(cli::user_view(), cmd, true, [&](const std::string& p) {
      ++*pieces;
      EXPECT_LE(p.size(), 1u << 20);  // a batch, never the whole display
      all += p;
      return true;
    });
    EXPECT_TRUE(r.ok) << r.output;
    return all + r.output;
  }
  common::ManualClock clock_;
  NoRoutes routes_;
  DataPlaneOptions opt_;
  std::unique_ptr<DataPlane> dp_;
  std::unique_ptr<Controller> ctl_;
};

TEST_F(StreamDisplay, PiecesAddUpToTheWholeDisplayInIdOrder) {
  size_t pieces = 0;
  const std::string all = streamed("display firewall session table", &pieces);
  EXPECT_GT(pieces, 10u);
  EXPECT_EQ(all, ctl_->execute(cli::user_view(), "display firewall session table").output);
  EXPECT_EQ(all.rfind(" Current Total Sessions : 20000\n", 0), 0u);
  EXPECT_EQ(count_lines(all), kSessions + 1);
  // id order = insertion order here: the ports go up.
  EXPECT_LT(all.find(":10000 --> "), all.find(":10001 --> "));
  EXPECT_LT(all.find(":10001 --> "), all.find(":29999 --> "));
  const std::string verbose = streamed("display firewall session table verbose", &pieces);
  EXPECT_EQ(count_lines(verbose), kSessions * 6 + 1);
}

TEST_F(StreamDisplay, PipesApplyAcrossPieces) {
  size_t pieces = 0;
  // Count without rendering: the same number the rendered lines give.
  EXPECT_EQ(streamed("display firewall session table | count", &pieces), "Total lines: 20001.\n");
  EXPECT_EQ(pieces, 0u);
  EXPECT_EQ(streamed("display firewall session table verbose | count", &pieces),
            "Total lines: 120001.\n");
  EXPECT_EQ(streamed("display firewall session table source-port 10007 | count", &pieces),
            "Total lines: 2.\n");
  const std::string inc = streamed("display firewall session table | include :1999[0-9] ", &pieces);
  EXPECT_EQ(count_lines(inc), 10u) << inc;
  const std::string begin = streamed("display firewall session table | begin :29998 ", &pieces);
  EXPECT_EQ(count_lines(begin), 2u) << begin;
  const std::string exc = streamed("display firewall session table | exclude VPN", &pieces);
  EXPECT_EQ(exc, " Current Total Sessions : 20000\n");
}

TEST_F(StreamDisplay, AReaderThatGoesStopsTheRendering) {
  size_t pieces = 0;
  auto r = ctl_->execute(cli::user_view(), "display firewall session table verbose", true,
                         [&](const std::string&) { return ++pieces < 3; });
  EXPECT_EQ(pieces, 3u);  // nothing more was rendered after the sink said no
  EXPECT_EQ(r.output, "");
  // The controller is free for the next command.
  EXPECT_TRUE(ctl_->execute(cli::user_view(), "display firewall session table | count").ok);
}

TEST_F(StreamDisplay, ServerMapStreamsAndCounts) {
  for (int i = 0; i < 3000; ++i) {
    session::ServerMapEntry e;
    e.type = session::MapType::kAspf;
    e.proto = 6;
    e.addr = *common::IpAddr::parse("203.0.113.1");
    e.port = static_cast<uint16_t>(2000 + i);
    e.parent = 1 + static_cast<uint64_t>(i / 16);
    e.expires_ms = clock_.now_ms() + 60'000;
    ASSERT_TRUE(dp_->servermap().add(e));
  }
  size_t pieces = 0;
  const std::string all = streamed("display firewall server-map", &pieces);
  EXPECT_GT(pieces, 1u);
  EXPECT_EQ(all.rfind(" Current Total Server-map : 3000\n", 0), 0u);
  EXPECT_EQ(count_lines(all), 3000u * 3 + 1);
  EXPECT_LT(all.find(":2000,"), all.find(":2001,"));
  EXPECT_EQ(streamed("display firewall server-map | count", &pieces), "Total lines: 9001.\n");
  EXPECT_EQ(streamed("display firewall server-map nat-server | count", &pieces),
            "Total lines: 1.\n");
}

}  // namespace
}  // namespace fw::fwd
