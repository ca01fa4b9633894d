#pragma once
// Call-ID translation for PPTP behind source NAT (the FreeBSD libalias model):
// an inside client's call id is replaced by one allocated per (public address,
// server address) so it is unique there, and mapped back in the server's
// messages and in GRE packets from the server.
#include <cstdint>
#include <mutex>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "common/ip_addr.h"

namespace fw::aspf::pptp {

class CallIdAllocator {
 public:
  // A translated id for (client addr, client call id) towards (public, server);
  // the same pair keeps its id while mapped. Prefers keeping the original id if
  // it is free there. nullopt when all 65535 ids of (public, server) are in use.
  std::optional<uint16_t> map(const common::IpAddr& pub, const common::IpAddr& server,
                              const common::IpAddr& client, uint16_t client_call_id);
  // The inside (client addr, call id) for a translated id; nullopt if none.
  struct Inside {
    common::IpAddr client;
    uint16_t call_id;
  };
  std::optional<Inside> lookup(const common::IpAddr& pub, const common::IpAddr& server, uint16_t translated) const;
  void release(const common::IpAddr& pub, const common::IpAddr& server, uint16_t translated);
  size_t size() const;

 private:
  // implementation's choice
  struct Impl;
  mutable std::mutex mu_;
  struct KeyHash {
    size_t operator()(const std::tuple<common::IpAddr, common::IpAddr, uint16_t>& k) const;
  };
  std::unordered_map<std::tuple<common::IpAddr, common::IpAddr, uint16_t>, Inside, KeyHash> by_translated_;
};

}  // namespace fw::aspf::pptp
