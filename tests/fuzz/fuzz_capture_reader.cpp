// libFuzzer target for capture/reader.* ("replay" area): the input is a capture file (pcap or
// pcapng, read from memory by libpcap and the pcapng block walk). Besides ASan/UBSan it traps
// when a promise of reader.h is broken:
//  - packets are numbered 1, 2, 3, ... and end either cleanly or with a non-empty error(), after
//    which next() stays at the end;
//  - a packet's IP bytes lie inside the captured frame and are not longer than it; a packet
//    without IP bytes says why (skipped);
//  - every byte handed out can be read (ASan checks the span).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "capture/reader.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string err;
  auto r = fw::capture::Reader::open_memory(std::span<const uint8_t>(data, size), &err);
  if (!r) {
    check(!err.empty());
    return 0;
  }
  uint64_t n = 0, sum = 0;
  for (int i = 0; i < 100000; ++i) {
    auto p = r->next();
    if (!p) break;
    check(p->number == ++n);
    check(p->ip.size() <= p->captured_len);
    check(!p->ip.empty() || !p->skipped.empty());
    for (uint8_t b : p->ip) sum += b;  // every byte readable
  }
  if (!r->error().empty()) check(!r->next());
  return static_cast<int>(sum & 0);
}
