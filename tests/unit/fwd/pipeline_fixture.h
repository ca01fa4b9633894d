#pragma once
// The packet-path fixture shared by fwd's pipeline tests: a data plane with the controller that
// configures it (Plane), packets run through it as NFQUEUE hands them over (checksums filled,
// room to grow), and a GoogleTest fixture (PipelineFixture) with a clock, the lab's routes, a
// configuration loaded before each test, and the helpers the tests share.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "fwd/route_source.h"
#include "fwd/table_routes.h"
#include "packet/parse.h"
#include "tests/unit/fwd/lab_routes.h"
#include "tests/unit/packet/builders.h"

namespace fw::fwd::testing {

using packet::testing::Bytes;

// Configuration the tests share: the lab's zones (in0 in trust, out0 in untrust), ...
inline constexpr const char* kLabZones =
    "firewall zone trust\n add interface in0\nfirewall zone untrust\n add interface out0\n";
// ... trust to untrust permitted through easy-ip (the firewall's 203.0.113.1), ...
inline constexpr const char* kTrustToUntrustEasyIp =
    "security-policy\n rule name t2u\n  source-zone trust\n  destination-zone untrust\n"
    "  action permit\nnat-policy\n rule name easy\n  source-zone trust\n"
    "  destination-zone untrust\n  action source-nat easy-ip\n";
// ... or everything permitted.
inline constexpr const char* kPermitAll = "security-policy\n rule name any\n  action permit\n";

// What a packet became: the verdict, the bytes as they leave, and their parse (empty when they
// do not parse).
struct Out {
  Decision d;
  Bytes pkt;
  packet::Parsed p;
};

// The payload of a packet that left.
std::string payload(const Out& o);

// lab_routes() (tests/unit/fwd/lab_routes.h: ifindex 2 = in0 = 198.18.1.0/24, 3 = out0 = every
// other address) with the firewall's own addresses: 198.18.1.1 on in0, 203.0.113.1 on out0 (the
// easy-ip address).
std::unique_ptr<TableRoutes> lab_routes_with_locals();

// A RouteSource for tests that build a data plane but send no packet.
class NoRoutes final : public RouteSource {
 public:
  RouteInfo route(const common::IpAddr&) override { return {}; }
  std::string ifname(uint32_t) override { return ""; }
};

// A data plane and the controller that configures it, on the caller's clock and routes.
class Plane {
 public:
  Plane(common::ManualClock& clock, RouteSource& routes, DataPlaneOptions options = {});
  // The configuration text through the controller; false with *err when refused.
  bool load(const std::string& text, std::string* err, const std::string& source = "test");
  // One packet (checksums filled) handed over with no room to grow.
  Decision process(Bytes pkt, uint32_t indev);
  // One packet (checksums filled) handed over with `room` bytes to grow into; what leaves.
  Out run(Bytes pkt, uint32_t indev, uint32_t room = 64);
  uint64_t ctr(const std::string& name) { return dp.counters().value(name); }
  // The ASPF (data channel) entries of the server map.
  size_t aspf_entries();

  DataPlane dp;
  std::unique_ptr<Controller> ctl;
};

// The fixture: `config` is loaded before each test; `routes` default to
// lab_routes_with_locals(); `options` are made with the fixture's clock (1'000'000 ms at start).
class PipelineFixture : public ::testing::Test {
 protected:
  using MakeOptions = std::function<DataPlaneOptions(common::ManualClock&)>;
  explicit PipelineFixture(std::string config, std::unique_ptr<RouteSource> routes = nullptr,
                           const MakeOptions& options = {});

  void SetUp() override { config(config_); }
  // More configuration; the test fails if it is refused.
  void config(const std::string& text);
  Decision process(Bytes pkt, uint32_t indev) { return plane_.process(std::move(pkt), indev); }
  Out run(Bytes pkt, uint32_t indev, uint32_t room = 64) {
    return plane_.run(std::move(pkt), indev, room);
  }
  uint64_t ctr(const std::string& name) { return plane_.ctr(name); }
  size_t aspf_entries() { return plane_.aspf_entries(); }
  // Client `client`:sport <-> server 203.0.113.2:dport through easy-ip (client on in0, server
  // on out0), handshake done; the client's public port is left in `xport`.
  void handshake(const char* client, uint16_t sport, uint16_t dport);

  common::ManualClock clock;
  std::unique_ptr<RouteSource> routes_;
  std::string config_;
  Plane plane_;
  DataPlane& dp = plane_.dp;
  std::unique_ptr<Controller>& ctl = plane_.ctl;
  uint16_t xport = 0;
};

}  // namespace fw::fwd::testing
