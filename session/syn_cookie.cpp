#include "session/syn_cookie.h"

#include <sys/random.h>

#include <cstring>
#include <random>

#include "packet/tcp_options.h"

namespace fw::session {
namespace {

uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

void sipround(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
  v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
  v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
  v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
}

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

// The reference algorithm (c = 2, d = 4), little-endian words. Written out (30 lines) rather
// than taken from OpenSSL's EVP_MAC, which allocates a context per call: it runs for every SYN
// and every first ACK of a flood.
uint64_t siphash24(const std::array<uint64_t, 2>& key, std::span<const uint8_t> data) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ key[0], v1 = 0x646f72616e646f6dULL ^ key[1];
  uint64_t v2 = 0x6c7967656e657261ULL ^ key[0], v3 = 0x7465646279746573ULL ^ key[1];
  const size_t n = data.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t m = load_le64(data.data() + i);
    v3 ^= m;
    sipround(v0, v1, v2, v3), sipround(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t b = uint64_t{n & 0xff} << 56;
  for (size_t j = 0; i + j < n; ++j) b |= uint64_t{data[i + j]} << (8 * j);
  v3 ^= b;
  sipround(v0, v1, v2, v3), sipround(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  for (int r = 0; r < 4; ++r) sipround(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

SynOptions read_syn_options(std::span<const uint8_t> opts) {
  SynOptions o;
  packet::for_each_option(opts, [&](uint8_t kind, size_t off, size_t len) {
    if (kind == packet::kTcpOptMss && len == 4) {
      o.mss = static_cast<uint16_t>(opts[off + 2] << 8 | opts[off + 3]);
    } else if (kind == packet::kTcpOptWscale && len == 3) {
      o.wscale = std::min<uint8_t>(opts[off + 2], 14);  // RFC 7323 2.3: above 14 means 14
    } else if (kind == packet::kTcpOptSackPermitted && len == 2) {
      o.sack = true;
    }
  });
  return o;
}

SynCookies::SynCookies() {
  if (getrandom(key_.data(), sizeof key_, 0) != static_cast<ssize_t>(sizeof key_)) {
    std::random_device rd;  // (getrandom cannot fail on this kernel; kept for safety)
    for (auto& k : key_) k = (uint64_t{rd()} << 32) ^ rd();
  }
}

uint8_t SynCookies::mss_index(bool v4, uint16_t mss) {
  const auto& tab = v4 ? kMss4 : kMss6;
  uint8_t i = 0;
  for (uint8_t j = 0; j < tab.size(); ++j)
    if (tab[j] <= mss) i = j;
  return i;
}

uint32_t SynCookies::hash24(const CookieTuple& t, uint32_t client_isn, uint64_t counter,
                            uint8_t low) const {
  uint8_t buf[2 * 17 + 4 + 4 + 8 + 1];
  uint8_t* p = buf;
  auto put_addr = [&](const common::IpAddr& a) {
    *p++ = a.family;
    std::memcpy(p, a.b.data(), 16);
    p += 16;
  };
  put_addr(t.src);
  put_addr(t.dst);
  std::memcpy(p, &t.sport, 2), p += 2;
  std::memcpy(p, &t.dport, 2), p += 2;
  std::memcpy(p, &client_isn, 4), p += 4;
  std::memcpy(p, &counter, 8), p += 8;
  *p++ = low;
  return static_cast<uint32_t>(siphash24(key_, std::span<const uint8_t>(buf, p)) >> 40);
}

uint32_t SynCookies::make(const CookieTuple& t, uint32_t client_isn, const SynOptions& o,
                          uint64_t now_ms) const {
  const uint64_t counter = now_ms / kWindowMs;
  const uint8_t low =
      static_cast<uint8_t>((counter & 1) << 7 | mss_index(t.src.is_v4(), o.mss ? o.mss : 536) << 5 |
                           (o.sack ? 1 : 0) << 4 | (o.wscale & 0x0f));
  return hash24(t, client_isn, counter, low) << 8 | low;
}

std::optional<SynOptions> SynCookies::check(const CookieTuple& t, uint32_t client_isn,
                                            uint32_t cookie, uint64_t now_ms) const {
  const uint64_t now = now_ms / kWindowMs;
  const uint8_t low = cookie & 0xff;
  const uint64_t parity = low >> 7;
  // The window whose parity the cookie names: this one or the one before.
  const uint64_t counter = (now & 1) == parity ? now : now - 1;
  if (counter > now || hash24(t, client_isn, counter, low) != cookie >> 8) return std::nullopt;
  SynOptions o;
  o.mss = (t.src.is_v4() ? kMss4 : kMss6)[(low >> 5) & 3];
  o.sack = (low >> 4) & 1;
  o.wscale = low & 0x0f;
  if (o.wscale != kNoWscale && o.wscale > 14) o.wscale = kNoWscale;
  return o;
}

}  // namespace fw::session
