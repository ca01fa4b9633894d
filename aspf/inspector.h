#pragma once
// The ASPF inspector interface. An inspector reads the messages of one
// control session (lines for FTP, length-framed messages for PPTP), may
// rewrite the bytes of a message under NAT, and opens server-map entries
// through the narrow ServerMapWriter - never anything else.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/counters.h"
#include "session/server_map.h"
#include "session/session.h"

namespace fw::nat {
class NatState;
}

namespace fw::aspf {

// One complete message of a direction of the control stream.
struct Message {
  uint32_t seq = 0;            // TCP sequence number (sender's numbering) of its first byte
  std::vector<uint8_t> bytes;  // the message (for lines: without CR LF)
  // Offset from which the message's bytes are in the packet at hand; bytes
  // before it left in earlier segments and can no longer be edited.
  size_t editable_from = 0;
};

// A replacement of bytes [offset, offset+old_len) of a message.
struct Edit {
  size_t offset = 0;
  size_t old_len = 0;
  std::string replacement;
};

// Splits a direction of the stream into messages.
class Framer {
 public:
  virtual ~Framer() = default;
  virtual void start(uint32_t seq) = 0;
  virtual bool started() const = 0;
  virtual std::vector<Message> feed(uint32_t seq, std::span<const uint8_t> payload) = 0;
};

// What an inspector may do besides editing bytes.
class Context {
 public:
  virtual ~Context() = default;
  virtual const session::Session& control() const = 0;  // the control session (a copy)
  virtual uint64_t now_ms() const = 0;
  // Open a server-map entry (type ASPF, parent = control session). False when a cap refused it.
  virtual bool open(session::ServerMapEntry e) = 0;
  virtual nat::NatState& nat() = 0;
  // Remove this control session's entries that match (a call ended).
  virtual void close_entries(const std::function<bool(const session::ServerMapEntry&)>& pred) = 0;
  // Let this control session's child flows of `proto` whose key carries one of
  // the ports age out quickly (a call ended; its GRE has nothing left to carry).
  virtual void age_children(uint8_t proto, uint16_t port_a, uint16_t port_b) = 0;
  // Count a refusal under "aspf.<alg>.refused.<reason>" and log it once per session.
  virtual void refuse(std::string_view reason, std::string_view detail) = 0;
  virtual void count(std::string_view what) = 0;  // "aspf.<alg>.<what>"
};

// Per-session inspector state (opaque to the engine).
class State {
 public:
  virtual ~State() = default;
};

class Inspector {
 public:
  virtual ~Inspector() = default;
  virtual std::string_view name() const = 0;  // the `firewall detect` keyword
  virtual uint8_t proto() const = 0;          // transport of the control channel
  virtual uint16_t default_port() const = 0;
  virtual std::unique_ptr<Framer> new_framer() const = 0;
  virtual std::unique_ptr<State> new_state() const { return nullptr; }
  // A complete message in direction d. Returns edits (offsets into msg.bytes) to apply.
  virtual std::vector<Edit> on_message(Context& ctx, State* st, session::Dir d,
                                       const Message& msg) const = 0;
  // The control session ended: undo whatever outlives it (call ids, ...).
  virtual void on_close(Context& ctx, State* st) const {
    (void)ctx;
    (void)st;
  }
};

}  // namespace fw::aspf
