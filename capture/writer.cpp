#include "capture/writer.h"

#include <cerrno>
#include <cstring>

namespace fw::capture {

namespace {

// Ethernet with a made-up header, not LINKTYPE_RAW: libpcap 1.10 refuses a pcapng whose second
// RAW interface "has a type different from the first" (it compares the first's DLT, 12, with
// the next one's LINKTYPE, 101), and every tool reads Ethernet.
constexpr uint16_t kLinkEthernet = 1;
constexpr uint8_t kEthHeader[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};  // dst, src (local MACs)
constexpr uint16_t kOptEnd = 0, kOptIfName = 2, kOptTsResol = 9;

void put32(std::vector<uint8_t>& b, uint32_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + 4);
}
void put16(std::vector<uint8_t>& b, uint16_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + 2);
}
void pad4(std::vector<uint8_t>& b) {
  while (b.size() % 4) b.push_back(0);
}
void option(std::vector<uint8_t>& b, uint16_t code, std::span<const uint8_t> v) {
  put16(b, code);
  put16(b, static_cast<uint16_t>(v.size()));
  b.insert(b.end(), v.begin(), v.end());
  pad4(b);
}
// type, total length, body, total length (host byte order, as the SHB's magic says).
std::vector<uint8_t> block(uint32_t type, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> b;
  const auto total = static_cast<uint32_t>(12 + body.size());
  put32(b, type);
  put32(b, total);
  b.insert(b.end(), body.begin(), body.end());
  put32(b, total);
  return b;
}

}  // namespace

std::unique_ptr<Writer> Writer::create(const std::string& path, std::string* err) {
  std::unique_ptr<Writer> w(new Writer());
  w->path_ = path;
  w->f_ = fopen(path.c_str(), "wb");
  if (!w->f_) {
    *err = "cannot create " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  std::vector<uint8_t> shb;
  put32(shb, 0x1A2B3C4D);
  put16(shb, 1);  // version 1.0
  put16(shb, 0);
  put32(shb, 0xFFFFFFFF);  // section length unknown
  put32(shb, 0xFFFFFFFF);
  if (!w->put(block(0x0A0D0D0A, shb))) {
    *err = w->err_;
    return nullptr;
  }
  return w;
}

Writer::~Writer() {
  if (f_) fclose(f_);
}

bool Writer::put(const std::vector<uint8_t>& b) {
  if (!err_.empty()) return false;
  if (fwrite(b.data(), 1, b.size(), f_) != b.size()) {
    err_ = "cannot write " + path_ + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

uint32_t Writer::interface_id(const std::string& ifname) {
  for (size_t i = 0; i < ifaces_.size(); ++i) {
    if (ifaces_[i] == ifname) return static_cast<uint32_t>(i);
  }
  std::vector<uint8_t> idb;
  put16(idb, kLinkEthernet);
  put16(idb, 0);
  put32(idb, 0);  // no snaplen
  const uint8_t nanoseconds = 9;
  option(idb, kOptTsResol, std::span<const uint8_t>(&nanoseconds, 1));
  if (!ifname.empty()) {
    option(
        idb, kOptIfName,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(ifname.data()), ifname.size()));
  }
  option(idb, kOptEnd, {});
  put(block(1, idb));
  ifaces_.push_back(ifname);
  return static_cast<uint32_t>(ifaces_.size() - 1);
}

bool Writer::write(const std::string& ifname, uint64_t time_ns, std::span<const uint8_t> ip) {
  const uint32_t id = interface_id(ifname);
  std::vector<uint8_t> epb;
  put32(epb, id);
  put32(epb, static_cast<uint32_t>(time_ns >> 32));
  put32(epb, static_cast<uint32_t>(time_ns));
  const auto len = static_cast<uint32_t>(ip.size() + 14);
  put32(epb, len);
  put32(epb, len);
  epb.insert(epb.end(), kEthHeader, kEthHeader + 12);
  const bool v6 = !ip.empty() && (ip[0] >> 4) == 6;
  epb.push_back(v6 ? 0x86 : 0x08);
  epb.push_back(v6 ? 0xDD : 0x00);
  epb.insert(epb.end(), ip.begin(), ip.end());
  pad4(epb);
  return put(block(6, epb));
}

bool Writer::close() {
  if (!f_) return err_.empty();
  if (fclose(f_) != 0 && err_.empty()) err_ = "cannot write " + path_ + ": " + std::strerror(errno);
  f_ = nullptr;
  return err_.empty();
}

}  // namespace fw::capture
