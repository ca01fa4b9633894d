#pragma once
// Port (and ICMP id / call id) allocation for PAT: per public address and
// protocol, a port is handed to at most one live session and comes back only
// when that session is released (aged out or removed).
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/ip_addr.h"

namespace fw::nat {

class PortAllocator {
 public:
  // Ports handed out are in [lo, hi] (Huawei PAT uses 2048-65535 by default).
  explicit PortAllocator(uint16_t lo = 2048, uint16_t hi = 65535);

  // A free port for (addr, proto), preferring `hint` if it is free and in range
  // (keeps the client's port when possible), otherwise the next free one after a
  // rotating cursor. nullopt when every port of that address/proto is in use.
  std::optional<uint16_t> allocate(const common::IpAddr& addr, uint8_t proto, uint16_t hint);
  // An even port p with p and p+1 both free (RTP and RTCP), both taken;
  // each is given back with release(). nullopt when no such pair is left.
  std::optional<uint16_t> allocate_pair(const common::IpAddr& addr, uint8_t proto);
  // Claim a specific port (e.g. a NAT server's static port); false if taken.
  bool reserve(const common::IpAddr& addr, uint8_t proto, uint16_t port);
  void release(const common::IpAddr& addr, uint8_t proto, uint16_t port);
  bool in_use(const common::IpAddr& addr, uint8_t proto, uint16_t port) const;
  size_t used(const common::IpAddr& addr) const;  // all protocols
  size_t used_total() const;
  // allocate() calls that found every port of the address/proto in use.
  uint64_t exhausted() const;
  // Whether allocate() may hand out `port` (PAT never gives out ports below lo).
  bool in_range(uint16_t port) const { return port >= lo_ && port <= hi_; }

 private:
  struct Key {
    common::IpAddr addr;
    uint8_t proto;
    bool operator==(const Key& o) const { return addr == o.addr && proto == o.proto; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return k.addr.hash() * 31 + k.proto; }
  };
  struct Bitmap {
    std::vector<uint64_t> bits = std::vector<uint64_t>(1024, 0);
    uint32_t cursor = 0;
    size_t count = 0;
    size_t in_range = 0;  // of `count`, ports inside [lo, hi] (reserve() may claim others)
  };
  uint16_t lo_, hi_;
  mutable std::mutex mu_;
  std::unordered_map<Key, Bitmap, KeyHash> maps_;
  uint64_t exhausted_ = 0;
};

// No-PAT: one inside address <-> one pool address while it has sessions.
class NoPatBindings {
 public:
  explicit NoPatBindings(std::vector<common::IpAddr> pool);
  // The pool address bound to `inside` (binding it to a free one if new) and
  // one more reference; nullopt when the pool is exhausted.
  std::optional<common::IpAddr> acquire(const common::IpAddr& inside);
  // Drop one reference; the binding ends with its last session.
  void release(const common::IpAddr& inside);
  // Restart: one more reference on exactly inside <-> global. kNew: the
  // binding was made now; kAdded: it existed already; kTaken (nothing done):
  // inside is bound to another address, or global is not a free address of
  // this pool.
  enum class Claim : uint8_t { kNew, kAdded, kTaken };
  Claim claim(const common::IpAddr& inside, const common::IpAddr& global);
  std::optional<common::IpAddr> lookup(const common::IpAddr& inside) const;
  // inside for a pool address (reply direction / server-map)
  std::optional<common::IpAddr> reverse(const common::IpAddr& global) const;
  size_t bound() const;
  struct Binding {
    common::IpAddr inside, global;
    uint32_t refs;
  };
  std::vector<Binding> bindings() const;
  // acquire() calls refused because no pool address of the family was free.
  uint64_t exhausted() const;

 private:
  mutable std::mutex mu_;
  std::vector<common::IpAddr> pool_;
  std::unordered_map<common::IpAddr, std::pair<common::IpAddr, uint32_t>> by_inside_;
  std::unordered_map<common::IpAddr, common::IpAddr> by_global_;
  // Free pool addresses per family ([0] IPv4, [1] IPv6), least recently freed first.
  std::deque<common::IpAddr> free_[2];
  uint64_t exhausted_ = 0;
};

}  // namespace fw::nat
