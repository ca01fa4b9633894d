// "fixtures" area: the session statistics and the event log name a session's protocol with the
// same function (packet::ip_proto_name): an SCTP and an unnamed protocol (99) through the packet
// path show as "sctp" and "99" in `display firewall session table statistics` and in the
// Protocol= field of SESSION_CREATE.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/grammar.h"
#include "tests/unit/fwd/pipeline_fixture.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd {
namespace {

using namespace fw::packet::testing;

DataPlaneOptions no_syslog(common::ManualClock&) {
  DataPlaneOptions o;
  o.evlog.syslog_path = "";
  return o;
}

class ProtoName : public testing::PipelineFixture {
 protected:
  ProtoName()
      : PipelineFixture(std::string(testing::kLabZones) +
                            "security-policy\n rule name any\n  action permit\n  session logging\n",
                        nullptr, no_syslog) {}
  std::vector<std::string> created() {
    dp.evlog().drain();
    std::vector<std::string> v;
    for (const auto& e : dp.evlog().buffer())
      if (e.name == "SESSION_CREATE") v.push_back(e.text);
    return v;
  }
};

TEST_F(ProtoName, SessionStatisticsAndEventLogAgree) {
  const Bytes body(16, 0);
  ASSERT_EQ(process(ipv4(132, "198.18.1.2", "203.0.113.2", body), 2).verdict, Verdict::kAccept);
  ASSERT_EQ(process(ipv4(99, "198.18.1.2", "203.0.113.3", body), 2).verdict, Verdict::kAccept);
  ASSERT_EQ(dp.sessions().size(), 2u);
  const auto shown =
      ctl->execute(cli::user_view(), "display firewall session table statistics").output;
  const auto by = shown.find(" By protocol:\n");
  ASSERT_NE(by, std::string::npos) << shown;
  const std::string rows = shown.substr(by, shown.find(" By TCP state:") - by);
  EXPECT_NE(rows.find("  sctp "), std::string::npos) << rows;
  EXPECT_NE(rows.find("  99 "), std::string::npos) << rows;
  const auto logged = created();
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_NE(logged[0].find("IPVer=4,Protocol=sctp,"), std::string::npos) << logged[0];
  EXPECT_NE(logged[1].find("IPVer=4,Protocol=99,"), std::string::npos) << logged[1];
}

}  // namespace
}  // namespace fw::fwd
