#pragma once
// Writing IP packets to a pcapng file (Ethernet frames with a made-up header: see writer.cpp), one
// interface description block per interface name, so Wireshark shows on which interface each
// packet left. libpcap writes only pcap (one interface, no names), hence this small writer.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace fw::capture {

class Writer {
 public:
  // nullptr with *err when the file cannot be created.
  static std::unique_ptr<Writer> create(const std::string& path, std::string* err);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // One packet leaving on interface `ifname` at time_ns; false after a write error (error()).
  bool write(const std::string& ifname, uint64_t time_ns, std::span<const uint8_t> ip);
  // Flushes and closes; false with error() if anything failed.
  bool close();
  const std::string& error() const { return err_; }

 private:
  Writer() = default;
  bool put(const std::vector<uint8_t>& block);
  uint32_t interface_id(const std::string& ifname);

  std::string path_;
  FILE* f_ = nullptr;
  std::vector<std::string> ifaces_;
  std::string err_;
};

}  // namespace fw::capture
