#pragma once
// Reading a packet capture (pcap or pcapng, through libpcap) as IP packets: the link-layer
// header (Ethernet with VLAN tags, Linux cooked SLL/SLL2, raw IP) is taken off, each packet comes
// with its time in nanoseconds and, in a pcapng file, the name of the interface it was captured
// on (the IDB's if_name option; libpcap does not tell which interface a packet block names, so
// a small walk over the pcapng blocks collects it). Every failure is a message, never a crash:
// the file is untrusted input (fuzzed by tests/fuzz/fuzz_capture_reader.cpp).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fw::capture {

struct Packet {
  uint64_t number = 0;  // 1-based, as Wireshark counts frames
  uint64_t time_ns = 0;
  std::string ifname;  // pcapng if_name, "" when unknown
  // The IP packet (link header removed); empty when the frame is not IPv4/IPv6 (ARP, ...),
  // then `skipped` says what it was.
  std::span<const uint8_t> ip;
  std::string skipped;
  uint32_t captured_len = 0, wire_len = 0;  // of the frame; captured < wire: cut by snaplen
};

class Reader {
 public:
  // A capture file; nullptr with *err ("cannot open FILE: ...", "FILE: unknown file format",
  // "FILE: link type 147 (USER0) is not supported ...").
  static std::unique_ptr<Reader> open(const std::string& path, std::string* err);
  // The same from memory (the fuzz target); `data` must outlive the reader.
  static std::unique_ptr<Reader> open_memory(std::span<const uint8_t> data, std::string* err);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The next packet (valid until the next call), nullopt at the end or on an error: then
  // error() is non-empty ("FILE: truncated packet 7 ...").
  std::optional<Packet> next();
  const std::string& error() const { return err_; }
  int link_type() const { return dlt_; }
  bool pcapng() const { return pcapng_; }

 private:
  struct Pcapng;  // the block walk for interface names
  Reader() = default;
  static std::unique_ptr<Reader> start(FILE* pcap_file, FILE* walk_file, const std::string& name,
                                       std::string* err);
  bool strip_link(std::span<const uint8_t> frame, Packet* p);

  std::string name_;
  void* pcap_ = nullptr;  // pcap_t
  int dlt_ = 0;
  bool pcapng_ = false;
  std::unique_ptr<Pcapng> walk_;
  uint64_t count_ = 0;
  std::string err_;
};

// The link types next() understands, for messages: "Ethernet, raw IP, Linux cooked (SLL, SLL2)".
std::string supported_link_types();

}  // namespace fw::capture
