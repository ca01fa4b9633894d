#pragma once
// The application names shown in front of sessions ("tcp", "http", "ftp",
// "ftp-data") and the aging class each one ages by: protocol fallbacks, well
// known server ports, and the channels the ALGs of the registry declare (no ALG
// name is written here).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appid/identify.h"
#include "aspf/registry.h"
#include "session/session.h"

namespace fw::fwd {

class AppTable {
 public:
  explicit AppTable(const aspf::Registry& algs);
  // For a new flow not admitted by an ALG: by server port, else by protocol.
  session::AppId for_flow(uint8_t proto, uint16_t dport) const;
  // For a flow admitted by ALG `alg`'s entry of channel `channel`.
  session::AppId for_channel(uint8_t alg, uint8_t channel) const;
  std::string_view name(session::AppId id) const;
  // By name (restart: sessions are saved with names). A name may exist for
  // several protocols ("dns"): the row of `proto` is preferred.
  std::optional<session::AppId> find(std::string_view name, uint8_t proto) const;
  // The aging class of a session of this application and protocol.
  session::AgingClass aging(session::AppId id, uint8_t proto) const;
  // The ALG whose channel this application is (0 = none): its display hooks apply.
  uint8_t alg_of(session::AppId id) const;
  // "appid" area: the row of an identified application (its name; the protocol's row first).
  session::AppId for_identified(appid::App a, uint8_t proto) const {
    const auto i = static_cast<size_t>(a);
    return i < identified_.size() ? identified_[i][proto == 17 ? 1 : 0] : 0;
  }

 private:
  void add_identified();
  struct App {
    std::string name;
    uint8_t proto = 0;  // port rows: the protocol; protocol rows: the protocol, port 0
    uint16_t port = 0;
    session::AgingClass aging = 0;
    uint8_t alg = 0, channel = 0;  // ALG channels
    bool by_proto = false;         // ages like its protocol (a channel without its own class)
  };
  std::vector<App> apps_;
  size_t first_port_row_ = 0, first_channel_row_ = 0;
  std::array<std::array<session::AppId, 2>, static_cast<size_t>(appid::App::kCount)>
      identified_{};  // by App, [TCP, UDP]
};

}  // namespace fw::fwd
