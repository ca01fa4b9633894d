#include "tests/unit/fwd/pipeline_fixture.h"

#include <utility>

#include "packet/checksum.h"

namespace fw::fwd::testing {

using packet::testing::ipv4;
using packet::testing::tcp;

std::string payload(const Out& o) {
  return std::string(o.pkt.begin() + o.p.payload_offset,
                     o.pkt.begin() + o.p.payload_offset + o.p.payload_len);
}

std::unique_ptr<TableRoutes> lab_routes_with_locals() {
  auto r = std::make_unique<TableRoutes>(lab_routes());
  std::string err;
  for (const char* local : {"198.18.1.1=in0", "203.0.113.1=out0"})
    EXPECT_TRUE(r->add_local(local, &err)) << err;
  return r;
}

Plane::Plane(common::ManualClock& clock, RouteSource& routes, DataPlaneOptions options)
    : dp(clock, routes, std::move(options)) {
  ControllerHooks h;
  h.dataplane = &dp;
  ctl = std::make_unique<Controller>(h);
}

bool Plane::load(const std::string& text, std::string* err, const std::string& source) {
  return ctl->load_text(text, source, err);
}

Decision Plane::process(Bytes pkt, uint32_t indev) {
  packet::fix_checksums(pkt, false);
  return dp.pipeline().process_bytes(pkt.data(), static_cast<uint32_t>(pkt.size()), indev);
}

Out Plane::run(Bytes pkt, uint32_t indev, uint32_t room) {
  packet::fix_checksums(pkt, false);
  const auto len = static_cast<uint32_t>(pkt.size());
  pkt.resize(pkt.size() + room);
  QueuedPacket qp;
  qp.data = pkt.data();
  qp.len = len;
  qp.capacity = static_cast<uint32_t>(pkt.size());
  qp.indev = indev;
  Out o;
  o.d = dp.pipeline().process(qp);
  pkt.resize(o.d.modified ? o.d.len : len);
  o.pkt = std::move(pkt);
  auto r = packet::parse(o.pkt);
  if (auto* p = std::get_if<packet::Parsed>(&r)) o.p = *p;
  return o;
}

size_t Plane::aspf_entries() {
  size_t n = 0;
  for (const auto& e : dp.servermap().snapshot()) n += e.type == session::MapType::kAspf;
  return n;
}

PipelineFixture::PipelineFixture(std::string config, std::unique_ptr<RouteSource> routes,
                                 const MakeOptions& options)
    : routes_(routes ? std::move(routes) : lab_routes_with_locals()),
      config_(std::move(config)),
      plane_(clock, *routes_, options ? options(clock) : DataPlaneOptions{}) {}

void PipelineFixture::config(const std::string& text) {
  std::string err;
  ASSERT_TRUE(plane_.load(text, &err)) << err;
}

void PipelineFixture::handshake(const char* client, uint16_t sport, uint16_t dport) {
  auto syn = run(ipv4(6, client, "203.0.113.2", tcp(sport, dport, 1000, 0, packet::kTcpSyn)), 2);
  ASSERT_EQ(syn.d.verdict, Verdict::kAccept);
  ASSERT_TRUE(syn.d.modified);
  xport = syn.p.sport;
  auto sa = run(ipv4(6, "203.0.113.2", "203.0.113.1",
                     tcp(dport, xport, 5000, 1001, packet::kTcpSyn | packet::kTcpAck)),
                3);
  ASSERT_EQ(sa.d.verdict, Verdict::kAccept);
  auto ack = run(ipv4(6, client, "203.0.113.2", tcp(sport, dport, 1001, 5001, packet::kTcpAck)), 2);
  ASSERT_EQ(ack.d.verdict, Verdict::kAccept);
}

}  // namespace fw::fwd::testing
