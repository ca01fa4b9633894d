// The identifier's cost per new flow: one identify() call on the first payload of a flow, for
// each kind of first payload (the protocol found late in the order of checks costs most), and
// for a mix of them cycled so the branch predictor cannot learn one path.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "appid/identify.h"

namespace {

using fw::appid::identify;
using fw::appid::Input;
using B = std::vector<uint8_t>;

B text(const std::string& s) { return B(s.begin(), s.end()); }

struct Flow {
  const char* name;
  uint8_t proto;
  uint16_t sport, dport;
  bool from_initiator;
  B payload;
};

std::vector<Flow> flows() {
  B ike(28, 0);
  for (int i = 0; i < 8; ++i) ike[i] = static_cast<uint8_t>(i + 1);
  ike[17] = 0x20, ike[18] = 34, ike[27] = 28;
  B pptp(156, 0);
  pptp[1] = 156, pptp[3] = 1, pptp[4] = 0x1a, pptp[5] = 0x2b, pptp[6] = 0x3c, pptp[7] = 0x4d;
  B dns{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7};
  for (char c : std::string("example")) dns.push_back(static_cast<uint8_t>(c));
  for (uint8_t c : B{3, 'c', 'o', 'm', 0, 0, 1, 0, 1}) dns.push_back(c);
  std::string junk(1400, 'x');
  return {
      {"http", 6, 40000, 80, true, text("GET /index.html HTTP/1.1\r\nHost: www.example\r\n\r\n")},
      {"tls", 6, 40000, 443, true, B{0x16, 3, 1, 0, 0xc8, 1, 0, 0, 0xc4, 3, 3}},
      {"ftp", 6, 21, 40000, false, text("220 (vsFTPd 3.0.3)\r\n")},
      {"sip", 17, 5060, 5060, true, text("INVITE sip:bob@203.0.113.2 SIP/2.0\r\nVia: x\r\n\r\n")},
      {"pptp", 6, 40000, 1723, true, pptp},
      {"ike", 17, 500, 500, true, ike},
      {"dns", 17, 40000, 53, true, dns},
      {"unknown-tcp", 6, 40000, 9000, true, text(junk)},
      {"unknown-udp", 17, 40000, 9000, true, text(junk)},
  };
}

void BM_IdentifyOne(benchmark::State& st) {
  const Flow f = flows()[static_cast<size_t>(st.range(0))];
  st.SetLabel(f.name);
  Input in{f.proto, f.sport, f.dport, f.from_initiator, f.payload};
  for (auto _ : st) {
    benchmark::DoNotOptimize(identify(in));
  }
}
BENCHMARK(BM_IdentifyOne)->DenseRange(0, 8);

void BM_IdentifyMix(benchmark::State& st) {
  const std::vector<Flow> fs = flows();
  std::vector<Input> ins;
  for (const auto& f : fs) ins.push_back({f.proto, f.sport, f.dport, f.from_initiator, f.payload});
  size_t i = 0;
  for (auto _ : st) {
    benchmark::DoNotOptimize(identify(ins[i]));
    i = i + 1 == ins.size() ? 0 : i + 1;
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_IdentifyMix);

}  // namespace
