#include "common/ip_addr.h"

#include <arpa/inet.h>

namespace fw::common {

IpAddr IpAddr::v4(uint32_t host_order) {
  IpAddr a;
  a.family = 4;
  uint32_t n = htonl(host_order);
  std::memcpy(a.b.data(), &n, 4);
  return a;
}

IpAddr IpAddr::v4_bytes(const uint8_t* p) {
  IpAddr a;
  a.family = 4;
  std::memcpy(a.b.data(), p, 4);
  return a;
}

IpAddr IpAddr::v6_bytes(const uint8_t* p) {
  IpAddr a;
  a.family = 6;
  std::memcpy(a.b.data(), p, 16);
  return a;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpAddr a;
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), a.b.data()) != 1) return std::nullopt;
    a.family = 4;
  } else {
    if (inet_pton(AF_INET6, s.c_str(), a.b.data()) != 1) return std::nullopt;
    a.family = 6;
  }
  return a;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 4) {
    inet_ntop(AF_INET, b.data(), buf, sizeof buf);
  } else if (family == 6) {
    inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
  } else {
    return "-";
  }
  return buf;
}

uint32_t IpAddr::v4_host() const {
  uint32_t n;
  std::memcpy(&n, b.data(), 4);
  return ntohl(n);
}

bool IpAddr::operator<(const IpAddr& o) const {
  if (family != o.family) return family < o.family;
  return std::memcmp(b.data(), o.b.data(), size()) < 0;
}

size_t IpAddr::hash() const {
  // FNV-1a over the used bytes; good enough for maps outside the packet path.
  uint64_t h = 1469598103934665603ull ^ family;
  for (size_t i = 0; i < size(); ++i) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

std::optional<Prefix> Prefix::from_len(const IpAddr& a, int len) {
  int max = a.is_v6() ? 128 : 32;
  if (a.empty() || len < 0 || len > max) return std::nullopt;
  Prefix p;
  p.addr = a;
  p.len = static_cast<uint8_t>(len);
  // Clear host bits so equal prefixes compare equal.
  for (int i = 0; i < max / 8; ++i) {
    int bits = len - i * 8;
    if (bits >= 8) continue;
    if (bits <= 0) {
      p.addr.b[i] = 0;
    } else {
      p.addr.b[i] &= static_cast<uint8_t>(0xff << (8 - bits));
    }
  }
  return p;
}

std::optional<Prefix> Prefix::from_mask(const IpAddr& a, const IpAddr& mask) {
  if (!a.is_v4() || !mask.is_v4()) return std::nullopt;
  uint32_t m = mask.v4_host();
  // A mask must be contiguous ones followed by zeros.
  if ((~m & (~m + 1)) != 0) return std::nullopt;
  int len = __builtin_popcount(m);
  return from_len(a, len);
}

bool Prefix::contains(const IpAddr& a) const {
  if (a.family != addr.family) return false;
  int full = len / 8;
  if (std::memcmp(a.b.data(), addr.b.data(), full) != 0) return false;
  int rest = len % 8;
  if (rest == 0) return true;
  uint8_t m = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.b[full] & m) == (addr.b[full] & m);
}

std::string Prefix::mask_str() const {
  uint32_t m = len == 0 ? 0 : (0xffffffffu << (32 - len));
  return IpAddr::v4(m).str();
}

}  // namespace fw::common
