#pragma once
// The ASPF inspector interface: everything an ALG needs, so that an ALG is its
// folder plus one add_subdirectory and one registry line.
//
// An inspector reads the messages of one control session - a TCP stream split
// by its Framer, or UDP datagrams (each datagram is one message) - may rewrite
// the bytes of a message under NAT, and opens server-map entries through the
// narrow Context. It declares what the flows its entries admit become
// (channels: application name, aging class), how such a child flow's keys and
// NAT are completed (child_flow), how its entries and sessions are shown, and
// its counters (a table of names, bumped by index).
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "session/server_map.h"
#include "session/session.h"

namespace fw::aspf {

// One complete message of a direction of the control channel.
struct Message {
  uint32_t seq = 0;            // TCP: sequence number (sender's numbering) of its first byte
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

// Splits a direction of a TCP stream into messages.
class Framer {
 public:
  virtual ~Framer() = default;
  virtual void start(uint32_t seq) = 0;
  virtual bool started() const = 0;
  virtual std::vector<Message> feed(uint32_t seq, std::span<const uint8_t> payload) = 0;
};

// A kind of flow this ALG's entries admit (an FTP data connection, a PPTP
// call's GRE): the index is the entry's `channel`.
struct Channel {
  std::string_view app;    // application name the admitted session shows ("ftp-data")
  std::string_view aging;  // aging class name (`firewall session aging-time`), "" = by protocol
};

struct AlgSpec {
  std::string_view name;  // the `firewall detect` keyword
  std::string_view help;  // its help text (`firewall detect ?`)
  // Transports of the control channel (6 and/or 17; 0 = none): one ALG may run
  // on both (SIP over UDP and TCP), on the same default and mapped ports.
  std::array<uint8_t, 2> protos{};
  uint16_t default_port = 0;
  // Counter names below "aspf.<name>."; Context::count/refuse take the index.
  std::span<const std::string_view> counters;
  std::span<const Channel> channels;
  bool carries(uint8_t proto) const {
    return proto != 0 && (protos[0] == proto || protos[1] == proto);
  }
};

// The session a first packet matched through one of this ALG's entries is
// about to become: keys and NAT are pre-filled generically from the packet and
// the entry; child_flow() completes what only the protocol knows.
struct ChildFlow {
  session::FlowKey orig, reply;
  session::NatInfo nat;
};

// Live trace (fwd/trace_live.h, issue 15 item 2): told what the ALG did with the packet being
// traced. Null (Context::trace) when the packet is not traced: an ALG reports only through
// `if (auto* t = ctx.trace()) ...`, so an untraced packet pays one test. The engine reports the
// rewrites (the message before/after) and the entries opened; an ALG reports what it parsed.
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void parsed(std::string_view what) = 0;  // "PORT 198.18.1.2:40001"
  virtual void rewrote(std::string_view before, std::string_view after) = 0;
  virtual void opened(const session::ServerMapEntry& e) = 0;
  virtual void refused(std::string_view why) = 0;
};

// What an inspector may do besides editing bytes.
class Context {
 public:
  virtual ~Context() = default;
  virtual const session::Session& control() const = 0;
  virtual uint64_t now_ms() const = 0;
  // Open a server-map entry (type ASPF, parent = the control session, alg =
  // this inspector). False when a cap refused it (counted, logged).
  virtual bool open(session::ServerMapEntry e) = 0;
  // Remove this control session's entries that match (a call ended).
  virtual void close_entries(const std::function<bool(const session::ServerMapEntry&)>& pred) = 0;
  // Let this control session's child flows of `proto` whose key carries one of
  // the ports age out quickly (done once the control session is unlocked).
  virtual void age_children(uint8_t proto, uint16_t port_a, uint16_t port_b) = 0;
  // A public port on `addr` for a data channel (reserve the entry with
  // `reserved = true` so it is given back when the entry goes unused).
  virtual std::optional<uint16_t> reserve_port(const common::IpAddr& addr, uint8_t proto,
                                               uint16_t hint) = 0;
  // An even/odd pair of public ports on `addr` (RTP and RTCP), reserved
  // together: the even one is returned. Each is given back like
  // reserve_port's: by an entry naming it with `reserved = true`, or by
  // release_port() if it ends up unused (an error reply, the session ended
  // first). The defaults serve contexts that hand out no ports.
  virtual std::optional<uint16_t> reserve_port_pair(const common::IpAddr& addr, uint8_t proto) {
    (void)addr;
    (void)proto;
    return std::nullopt;
  }
  // Give back a port from reserve_port / reserve_port_pair that no entry holds.
  virtual void release_port(const common::IpAddr& addr, uint8_t proto, uint16_t port) {
    (void)addr;
    (void)proto;
    (void)port;
  }
  // Keep the control session (and its NAT mapping) alive until `until_ms` at
  // least, whatever its aging time (a SIP registration: the registrar's
  // requests reach the phone through it); 0 = no longer. The engine reports it
  // with every packet of the session. The default ignores it.
  virtual void hold_control(uint64_t until_ms) { (void)until_ms; }
  // Count counter `i` of the ALG's table.
  virtual void count(size_t i) = 0;
  // Count refusal counter `i` and log it once per control session - or, after log_scope(),
  // once per scope of it.
  virtual void refuse(size_t i, std::string_view detail) = 0;
  // The refusals (the ALG's and the engine's) that follow, until the end of the message at
  // hand, are logged once per (scope, reason) instead of once per control session: `key`
  // names a unit of the protocol that the control session carries several of (SIP: a dialog,
  // by its Call-ID), `label` says which in the log line ("dialog <Call-ID>"; the engine keeps
  // its printable characters only, at most 64). Key 0 is the control session itself: every
  // message starts in it. Counting is unchanged: every refusal is counted. The default (a
  // context that logs nothing) ignores it.
  virtual void log_scope(uint64_t key, std::string_view label) {
    (void)key;
    (void)label;
  }
  // Live trace: where to report what this packet's messages held (null: not traced).
  virtual TraceSink* trace() const { return nullptr; }
};

// Per-session protocol state of an inspector (opaque to the engine).
class State {
 public:
  virtual ~State() = default;
};

class Inspector {
 public:
  virtual ~Inspector() = default;
  virtual const AlgSpec& spec() const = 0;
  // TCP control channels: the framer of one direction (asked for TCP control
  // sessions only). UDP: not used.
  virtual std::unique_ptr<Framer> new_framer() const { return nullptr; }
  virtual std::unique_ptr<State> new_state() const { return nullptr; }
  // A complete message in direction d. Returns edits (offsets into msg.bytes).
  virtual std::vector<Edit> on_message(Context& ctx, State* st, session::Dir d,
                                       const Message& msg) = 0;
  // The control session ended: undo whatever outlives it (call ids, ...).
  virtual void on_close(Context& ctx, State* st) {
    (void)ctx;
    (void)st;
  }
  // A first packet matched entry `e` of this ALG: complete the child's keys
  // and NAT (GRE call ids, ...). The default keeps the generic ones.
  virtual void child_flow(const session::ServerMapEntry& e, ChildFlow& c) const {
    (void)e;
    (void)c;
  }
  // Display: the port position of an entry is shown even when it is 0.
  virtual bool entry_port_always_shown(const session::ServerMapEntry& e) const {
    (void)e;
    return false;
  }
  // Display (`display firewall <alg> session`): the protocol state of control
  // session `s` as text lines, each starting with two blanks; "" = nothing.
  virtual std::string describe(const session::Session& s, const State* st, uint64_t now_ms) const {
    (void)s;
    (void)st;
    (void)now_ms;
    return {};
  }
  // Display: the initiator's port and its translated port for a child session
  // of this ALG (default: orig.sport and nat.snat_port).
  virtual std::pair<uint16_t, uint16_t> shown_ports(const session::Session& s) const {
    return {s.orig.sport, s.nat.snat_port};
  }
  // The most server-map entries one control session of this ALG may hold (0: the server-map's
  // default, 16 - enough for FTP or RTSP; a SIP trunk carries many calls on one flow).
  virtual size_t max_entries_per_session() const { return 0; }
};

}  // namespace fw::aspf
