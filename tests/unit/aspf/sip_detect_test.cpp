// An ALG on two transports (SIP: UDP and TCP): `firewall detect sip` and `port-mapping sip port N`
// classify both transports' flows on the default and the mapped ports; identification by
// application name finds it on either; single-transport ALGs stay on theirs.
#include <gtest/gtest.h>

#include "aspf/engine.h"
#include "aspf/registry.h"
#include "common/counters.h"

namespace fw::aspf {
namespace {

TEST(SipDetect, UdpAndTcpOnTheDefaultAndMappedPorts) {
  common::CounterTable table;
  Registry algs(table);
  add_builtin_algs(algs);
  config::Config c;
  c.detect_global = {"sip", "rtsp"};
  c.port_mappings.push_back({"sip", 5080});
  DetectConfig dc(c, algs, [](const std::string&) { return uint8_t{1}; });
  const uint8_t sip = algs.id_of("sip"), rtsp = algs.id_of("rtsp");
  ASSERT_NE(sip, 0);
  EXPECT_EQ(dc.classify(1, 2, 17, 5060), sip);
  EXPECT_EQ(dc.classify(1, 2, 6, 5060), sip);
  EXPECT_EQ(dc.classify(1, 2, 17, 5080), sip);
  EXPECT_EQ(dc.classify(1, 2, 6, 5080), sip);
  EXPECT_EQ(dc.classify(1, 2, 6, 5061), 0);
  EXPECT_EQ(dc.classify(1, 2, 6, 554), rtsp);
  EXPECT_EQ(dc.classify(1, 2, 17, 554), 0) << "RTSP is TCP only";
  EXPECT_EQ(dc.classify(1, 2, 6, 21), 0) << "ftp not detected";
  EXPECT_EQ(dc.classify_application(1, 2, 17, "sip"), sip);
  EXPECT_EQ(dc.classify_application(1, 2, 6, "sip"), sip);
  EXPECT_EQ(dc.classify_application(1, 2, 17, "rtsp"), 0);
  EXPECT_EQ(dc.classify_application(1, 2, 0, "sip"), 0);
  EXPECT_TRUE(algs.get(sip)->spec().carries(6));
  EXPECT_FALSE(algs.get(sip)->spec().carries(47));
}

}  // namespace
}  // namespace fw::aspf
