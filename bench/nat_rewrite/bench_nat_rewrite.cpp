// ns per nat::rewrite() call: the fast-path cost of translating one packet.
// Each iteration flips the packet between two translations so every call
// really changes addresses, port and checksums.
#include <benchmark/benchmark.h>

#include <vector>

#include "nat/port_alloc.h"
#include "nat/rewrite.h"
#include "packet/build.h"
#include "packet/checksum.h"
#include "packet/parse.h"

namespace {

using fw::nat::Endpoint;
using fw::packet::Parsed;
using Bytes = std::vector<uint8_t>;

fw::common::IpAddr addr(const char* s) { return *fw::common::IpAddr::parse(s); }

Bytes make_packet(uint8_t version, uint8_t proto, size_t total_len) {
  const size_t l3 = version == 4 ? 20 : 40;
  const size_t l4_hdr = proto == fw::packet::kProtoTcp ? 20 : 8;
  Bytes payload(total_len - l3 - l4_hdr);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  fw::packet::BuildSpec s;
  s.src = addr(version == 4 ? "10.0.0.2" : "fd00::2");
  s.dst = addr(version == 4 ? "203.0.113.2" : "2001:db8:3::2");
  s.proto = proto;
  s.sport = 40000;
  s.dport = proto == fw::packet::kProtoTcp ? 443 : 53;
  s.tcp_flags = fw::packet::kTcpAck | fw::packet::kTcpPsh;
  s.seq = 1;
  s.ack = 2;
  s.payload = payload;
  return fw::packet::build(s);
}

// args: version, proto, total length, csum_not_ready
void BM_Rewrite(benchmark::State& state) {
  const uint8_t version = static_cast<uint8_t>(state.range(0));
  const uint8_t proto = static_cast<uint8_t>(state.range(1));
  const bool not_ready = state.range(3) != 0;
  Bytes pkt = make_packet(version, proto, static_cast<size_t>(state.range(2)));
  const Parsed p = std::get<Parsed>(fw::packet::parse(pkt));
  const Endpoint a{addr(version == 4 ? "198.51.100.1" : "2001:db8:ff::1"), 2048};
  const Endpoint b{addr(version == 4 ? "10.0.0.2" : "fd00::2"), 40000};
  bool flip = false;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fw::nat::rewrite(pkt, p, flip ? &b : &a, nullptr, not_ready));
    benchmark::ClobberMemory();
    flip = !flip;
  }
  if (!fw::packet::verify_checksums(pkt)) state.SkipWithError("packet does not verify");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(2));
}
BENCHMARK(BM_Rewrite)
    ->ArgNames({"ipv", "proto", "len", "csum_not_ready"})
    ->Args({4, 6, 1500, 0})
    ->Args({4, 6, 1500, 1})
    ->Args({4, 17, 64, 0})
    ->Args({4, 17, 64, 1})
    ->Args({6, 6, 1500, 0})
    ->Args({6, 6, 1500, 1})
    ->Args({4, 6, 65535, 1});  // GSO super-packet with a partial checksum

// What the pipeline pays per packet: parse + rewrite.
void BM_ParseAndRewrite(benchmark::State& state) {
  Bytes pkt = make_packet(4, fw::packet::kProtoTcp, 1500);
  const Endpoint a{addr("198.51.100.1"), 2048}, b{addr("10.0.0.2"), 40000};
  bool flip = false;
  for (auto _ : state) {
    fw::packet::ParseResult r = fw::packet::parse(pkt);
    benchmark::DoNotOptimize(
        fw::nat::rewrite(pkt, std::get<Parsed>(r), flip ? &b : &a, nullptr, false));
    flip = !flip;
  }
}
BENCHMARK(BM_ParseAndRewrite);

// PAT port churn on one public address at 50% occupancy.
void BM_PortAllocRelease(benchmark::State& state) {
  fw::nat::PortAllocator pa;
  const auto ip = addr("198.51.100.1");
  std::vector<uint16_t> held;
  for (int i = 0; i < 30000; ++i) held.push_back(*pa.allocate(ip, 6, 0));
  size_t i = 0;
  for (auto _ : state) {
    pa.release(ip, 6, held[i]);
    held[i] = *pa.allocate(ip, 6, 0);
    i = (i + 7919) % held.size();
  }
}
BENCHMARK(BM_PortAllocRelease);

}  // namespace
