#pragma once
// IPv4/IPv6 addresses and prefixes shared by every layer.
// IPv4 is stored in the first four bytes; family tells which.
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace fw::common {

struct IpAddr {
  uint8_t family = 0;  // 4, 6, or 0 for "unset"
  std::array<uint8_t, 16> b{};

  static IpAddr v4(uint32_t host_order);
  static IpAddr v4_bytes(const uint8_t* p);                   // 4 bytes, network order
  static IpAddr v6_bytes(const uint8_t* p);                   // 16 bytes
  static std::optional<IpAddr> parse(std::string_view text);  // "a.b.c.d" or IPv6 text
  std::string str() const;
  bool is_v4() const { return family == 4; }
  bool is_v6() const { return family == 6; }
  bool empty() const { return family == 0; }
  uint32_t v4_host() const;  // only for v4
  size_t size() const { return family == 6 ? 16 : 4; }
  bool operator==(const IpAddr& o) const {
    return family == o.family && std::memcmp(b.data(), o.b.data(), size()) == 0;
  }
  bool operator!=(const IpAddr& o) const { return !(*this == o); }
  bool operator<(const IpAddr& o) const;
  size_t hash() const;
};

struct Prefix {
  IpAddr addr;
  uint8_t len = 0;

  // "a.b.c.d" + mask "255.255.255.0", or address + length.
  static std::optional<Prefix> from_mask(const IpAddr& a, const IpAddr& mask);
  static std::optional<Prefix> from_len(const IpAddr& a, int len);
  bool contains(const IpAddr& a) const;
  std::string mask_str() const;  // IPv4 dotted mask
  bool operator==(const Prefix& o) const { return addr == o.addr && len == o.len; }
};

}  // namespace fw::common

template <>
struct std::hash<fw::common::IpAddr> {
  size_t operator()(const fw::common::IpAddr& a) const noexcept { return a.hash(); }
};
