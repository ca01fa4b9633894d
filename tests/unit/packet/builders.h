#pragma once
// Tiny packet builders for the packet/ tests. They write headers byte by byte
// so the tests do not depend on the code under test for layout; checksums are
// filled by the caller (fix_checksums) where a test needs them.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "common/ip_addr.h"

namespace fw::packet::testing {

using Bytes = std::vector<uint8_t>;

inline void put8(Bytes& b, uint8_t v) { b.push_back(v); }
inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) append(out, p);
  return out;
}
inline Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }
inline uint16_t get16(const Bytes& b, size_t at) {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}
inline void set16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

inline common::IpAddr addr(const char* s) { return *common::IpAddr::parse(s); }

// TCP header with options (padded with EOL to a multiple of 4) and payload.
inline Bytes tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                 Bytes opts = {}, const Bytes& payload = {}, uint16_t window = 64240) {
  while (opts.size() % 4) opts.push_back(0);
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, seq);
  put32(b, ack);
  put8(b, static_cast<uint8_t>(((20 + opts.size()) / 4) << 4));
  put8(b, flags);
  put16(b, window);
  put16(b, 0);  // checksum
  put16(b, 0);  // urgent
  append(b, opts);
  append(b, payload);
  return b;
}

inline Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload = {}) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<uint16_t>(8 + payload.size()));
  put16(b, 0);
  append(b, payload);
  return b;
}

// ICMP / ICMPv6: type, code, checksum, 4 "rest of header" bytes, body.
inline Bytes icmp(uint8_t type, uint8_t code, uint32_t rest = 0, const Bytes& body = {}) {
  Bytes b;
  put8(b, type);
  put8(b, code);
  put16(b, 0);
  put32(b, rest);
  append(b, body);
  return b;
}
inline Bytes echo(uint8_t type, uint16_t id, uint16_t seq, const Bytes& body = text("ping")) {
  return icmp(type, 0, (static_cast<uint32_t>(id) << 16) | seq, body);
}

struct GreV0 {
  bool c = false, k = false, s = false;
  uint32_t key = 0, seq = 0;
  uint16_t proto = 0x0800;
};
inline Bytes gre_v0(const GreV0& g, const Bytes& payload = {}) {
  Bytes b;
  put16(b, static_cast<uint16_t>((g.c ? 0x8000 : 0) | (g.k ? 0x2000 : 0) | (g.s ? 0x1000 : 0)));
  put16(b, g.proto);
  if (g.c) put32(b, 0);  // checksum + reserved1
  if (g.k) put32(b, g.key);
  if (g.s) put32(b, g.seq);
  append(b, payload);
  return b;
}
// Enhanced GRE (PPTP, RFC 2637).
inline Bytes gre_v1(uint16_t call_id, const Bytes& payload, bool with_seq, bool with_ack,
                    uint32_t seq = 1, uint32_t ack = 0) {
  Bytes b;
  put16(b, static_cast<uint16_t>(0x2000 | (with_seq ? 0x1000 : 0) | (with_ack ? 0x0080 : 0) | 1));
  put16(b, 0x880b);
  put16(b, static_cast<uint16_t>(payload.size()));
  put16(b, call_id);
  if (with_seq) put32(b, seq);
  if (with_ack) put32(b, ack);
  append(b, payload);
  return b;
}

struct V4Opts {
  Bytes options;      // padded with EOL to a multiple of 4
  uint16_t frag = 0;  // flags + offset field as on the wire
  uint16_t id = 0x1234;
  uint8_t ttl = 64;
  int total_len = -1;  // override the computed total length
  int ihl = -1;        // override the computed IHL
};
inline Bytes ipv4(uint8_t proto, const char* src, const char* dst, const Bytes& l4, V4Opts o = {}) {
  while (o.options.size() % 4) o.options.push_back(0);
  size_t hl = 20 + o.options.size();
  Bytes b;
  put8(b, static_cast<uint8_t>(0x40 | (o.ihl >= 0 ? o.ihl : static_cast<int>(hl / 4))));
  put8(b, 0);
  put16(b,
        static_cast<uint16_t>(o.total_len >= 0 ? o.total_len : static_cast<int>(hl + l4.size())));
  put16(b, o.id);
  put16(b, o.frag);
  put8(b, o.ttl);
  put8(b, proto);
  put16(b, 0);
  common::IpAddr s = addr(src), d = addr(dst);
  b.insert(b.end(), s.b.begin(), s.b.begin() + 4);
  b.insert(b.end(), d.b.begin(), d.b.begin() + 4);
  append(b, o.options);
  append(b, l4);
  return b;
}

// `rest` is the extension header chain followed by the transport bytes.
inline Bytes ipv6(uint8_t next, const char* src, const char* dst, const Bytes& rest,
                  int payload_len = -1, uint8_t hop = 64) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, static_cast<uint16_t>(payload_len >= 0 ? payload_len : static_cast<int>(rest.size())));
  put8(b, next);
  put8(b, hop);
  common::IpAddr s = addr(src), d = addr(dst);
  b.insert(b.end(), s.b.begin(), s.b.end());
  b.insert(b.end(), d.b.begin(), d.b.end());
  append(b, rest);
  return b;
}

// Generic extension header (hop-by-hop, destination options, routing): the
// body is padded with Pad1 bytes to a multiple of 8 including the 2-byte head.
inline Bytes ext(uint8_t next, Bytes body = {}) {
  while ((body.size() + 2) % 8) body.push_back(0);
  Bytes b;
  put8(b, next);
  put8(b, static_cast<uint8_t>((body.size() + 2) / 8 - 1));
  append(b, body);
  return b;
}
inline Bytes routing(uint8_t next, uint8_t segments_left) {
  // Type 2-like routing header with one address, 24 bytes.
  Bytes body = {2, segments_left, 0, 0, 0, 0};
  body.resize(22, 0);
  return ext(next, body);
}
inline Bytes frag6(uint8_t next, uint16_t offset_bytes, bool more, uint32_t id) {
  Bytes b;
  put8(b, next);
  put8(b, 0);
  put16(b, static_cast<uint16_t>((offset_bytes & 0xfff8) | (more ? 1 : 0)));
  put32(b, id);
  return b;
}

}  // namespace fw::packet::testing
