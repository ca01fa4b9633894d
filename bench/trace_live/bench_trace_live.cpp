// The live trace's cost on the packet path (fwd/trace_live.h): Pipeline::process of a packet of
// an established easy-ip TCP session (1400 bytes of payload, translated) with no live trace armed
// (the baseline: one relaxed atomic load), with one armed whose filter matches nothing (each
// packet parsed once more and matched), and with one that takes every packet (dry trace, record
// queued; drained by the benchmark outside the timing). Ratios against the first, same run.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <vector>

#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/pipeline.h"
#include "fwd/table_routes.h"
#include "fwd/trace_live.h"
#include "packet/build.h"

namespace {

using namespace fw;
using Bytes = std::vector<uint8_t>;

common::IpAddr addr(const char* s) { return *common::IpAddr::parse(s); }

const char* kConfig = R"(
firewall zone trust
 add interface in0
firewall zone untrust
 add interface out0
security-policy
 rule name t2u
  source-zone trust
  destination-zone untrust
  action permit
nat-policy
 rule name easy
  source-zone trust
  destination-zone untrust
  action source-nat easy-ip
)";

Bytes packet(uint8_t flags, size_t payload) {
  std::vector<uint8_t> data(payload, 'x');
  packet::BuildSpec s;
  s.src = addr("198.18.1.2");
  s.dst = addr("203.0.113.2");
  s.proto = 6;
  s.sport = 40000;
  s.dport = 443;
  s.tcp_flags = flags;
  s.seq = 1;
  s.ack = 1;
  s.payload = data;
  return packet::build(s);
}

struct Lab {
  Lab() {
    std::string err;
    routes.add_route("198.18.1.0/24=in0", &err);
    routes.add_route("0.0.0.0/0=out0", &err);
    routes.add_local("203.0.113.1=out0", &err);
    fwd::ControllerHooks h;
    h.dataplane = &dp;
    ctl = std::make_unique<fwd::Controller>(h);
    ctl->load_text(kConfig, "bench", &err);
    Bytes syn = packet(0x02, 0);
    run(syn);
  }
  fwd::Decision run(Bytes& pkt) {
    fwd::QueuedPacket qp;
    qp.data = pkt.data();
    qp.len = static_cast<uint32_t>(pkt.size());
    qp.capacity = qp.len;
    qp.indev = routes.ifindex("in0");
    return dp.pipeline().process(qp);
  }
  common::ManualClock clock;
  fwd::TableRoutes routes;
  fwd::DataPlane dp{clock, routes};
  std::unique_ptr<fwd::Controller> ctl;
};

// arg 0: none armed, 1: armed, matching nothing, 2: armed, taking every packet.
void BM_EstablishedPacket(benchmark::State& state) {
  Lab lab;
  const Bytes pristine = packet(0x10, 1400);
  Bytes pkt = pristine;
  const fwd::Decision first = lab.run(pkt);
  if (first.verdict != fwd::Verdict::kAccept || !first.modified) {
    state.SkipWithError("the packet is not one of an established, translated session");
    return;
  }
  std::shared_ptr<fwd::LiveWatch> w;
  fwd::LiveFilter f;
  if (state.range(0) == 1) f.dst = addr("192.0.2.99");
  if (state.range(0) > 0) w = lab.dp.pipeline().live().arm(f, 1000u * 1000 * 1000);
  size_t n = 0;
  for (auto _ : state) {
    std::copy(pristine.begin(), pristine.end(), pkt.begin());
    benchmark::DoNotOptimize(lab.run(pkt));
    if (w && ++n % 128 == 0) {
      state.PauseTiming();
      benchmark::DoNotOptimize(w->take(std::chrono::milliseconds(0)));
      state.ResumeTiming();
    }
  }
  if (w) lab.dp.pipeline().live().disarm(w);
}
BENCHMARK(BM_EstablishedPacket)->Arg(0)->Arg(1)->Arg(2);

}  // namespace
