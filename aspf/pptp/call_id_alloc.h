#pragma once
// Call-ID translation for PPTP behind source NAT (the FreeBSD libalias model):
// every inside client's call id is replaced by one allocated per (public address,
// server address) so it is unique there (always a different id, as a USG translates every call),
// and mapped back in the server's messages and in GRE packets from the server. Thread-safe (one
// mutex: a map() happens once per call set-up, not per packet; lookups on the GRE path are short).
// Translated ids are never 0.
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "common/ip_addr.h"

namespace fw::aspf::pptp {

class CallIdAllocator {
 public:
  // A translated id for (client addr, client call id) towards (public, server);
  // the same pair keeps its id while mapped. Never the original id, unless it is
  // the last free one. nullopt when all 65535 ids of (public, server) are in use.
  std::optional<uint16_t> map(const common::IpAddr& pub, const common::IpAddr& server,
                              const common::IpAddr& client, uint16_t client_call_id);
  // The inside (client addr, call id) for a translated id; nullopt if none.
  struct Inside {
    common::IpAddr client;
    uint16_t call_id;
  };
  std::optional<Inside> lookup(const common::IpAddr& pub, const common::IpAddr& server,
                               uint16_t translated) const;
  void release(const common::IpAddr& pub, const common::IpAddr& server, uint16_t translated);
  size_t size() const;

 private:
  struct ClientKey {
    common::IpAddr client;
    uint16_t call_id;
    bool operator==(const ClientKey& o) const { return client == o.client && call_id == o.call_id; }
  };
  struct ClientKeyHash {
    size_t operator()(const ClientKey& k) const;
  };
  // One (public, server) pair: its own 16-bit id space, indexed both ways.
  struct Space {
    std::unordered_map<uint16_t, Inside> by_translated;
    std::unordered_map<ClientKey, uint16_t, ClientKeyHash> by_client;
    uint16_t cursor = 1;  // where the next search for a free id starts (never 0)
  };
  using SpaceKey = std::pair<common::IpAddr, common::IpAddr>;  // (public, server)
  struct SpaceKeyHash {
    size_t operator()(const SpaceKey& k) const;
  };

  mutable std::mutex mu_;
  std::unordered_map<SpaceKey, Space, SpaceKeyHash> spaces_;
  size_t size_ = 0;  // mappings over all spaces
};

}  // namespace fw::aspf::pptp
