#pragma once
// The session table: sharded, fine-grained locking, shared by all worker
// threads (the reply of a flow may land on another queue than its original).
// Aging without a timer per entry: expire() sweeps a bounded slice per call.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/counters.h"
#include "session/session.h"

namespace fw::session {

struct TableOptions {
  size_t max_sessions = 1'000'000;  // hard cap; insert past it fails (counted)
  size_t shards = 64;               // power of two
};

enum class InsertResult { kOk, kExists, kFull };

class SessionTable {
 public:
  SessionTable(const common::Clock& clock, TableOptions opt, common::CounterTable& counters);
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // Insert a new session under both keys s.orig and s.reply. Assigns s.id
  // (unique, increasing) and created_ms/last_seen_ms if zero. kExists if either
  // key is already present (a racing first packet on another queue): the caller
  // looks up again. An unbound SPI key ("spi" area, session.h) is never "present": the sessions of
  // several SAs of one address pair all wait for their reply's SPI. kFull at the cap (counter
  // "session.drop.table-full").
  InsertResult insert(Session s, uint64_t* id_out = nullptr);

  // "spi" area: `key` (ESP/AH, SPI != 0) found no session: if a session of its address pair has
  // that direction unbound (SPI 0, session.h), it becomes `key` (in the session and in the index,
  // under both shards' locks and the session's): true. Several unbound sessions of one pair: the
  // first found is bound. false: none (a new flow), or `key` is not SPI-keyed.
  bool bind_spi(const FlowKey& key);

  // Find the session having `key` as its original or reply key and call
  // fn(session, direction) with the session locked exclusively (other threads
  // touching the same session wait). Returns false if there is no such session.
  // fn must not change id, orig or reply (they are the index) and must not call back
  // into the table (the session stays locked while fn runs).
  bool with_session(const FlowKey& key, const std::function<void(Session&, Dir)>& fn);
  // Same, by id.
  bool with_session_id(uint64_t id, const std::function<void(Session&)>& fn);

  // Copies of all sessions matching pred (for display), ordered by id.
  std::vector<Session> snapshot(const std::function<bool(const Session&)>& pred = {}) const;

  // "stream" area: a walk in bounded steps for displays of any size. Calls fn for each live
  // session in the next `max_slots` slots from *cursor (each under that session's lock only,
  // no shard lock; nothing is copied) and advances *cursor; false once the walk is complete.
  // Slot order, not id order; a session added or removed meanwhile may or may not be seen.
  // fn must not call the table.
  bool walk(size_t* cursor, size_t max_slots, const std::function<void(const Session&)>& fn) const;

  // Remove sessions matching pred; returns how many. on_remove is called for each.
  // pred runs under the session's lock and may run twice per session (re-checked
  // after the shard locks are taken): it must be pure and not call the table.
  // "evlog" area: `why` is handed to the set_on_close callback.
  size_t erase_if(const std::function<bool(const Session&)>& pred,
                  CloseReason why = CloseReason::kReset);
  bool erase(uint64_t id, CloseReason why = CloseReason::kReset);

  // Aging: examine up to `budget` sessions from where the last call stopped
  // and remove those idle longer than their timeout_s. Returns how many were
  // removed (counter "session.aged"). Callers loop it from a maintenance thread.
  size_t expire(size_t budget);

  size_t size() const;
  size_t capacity() const;  // the hard cap (TableOptions::max_sessions)
  // Live sessions by IP protocol (only protocols with sessions) and IPv6 sessions: counted on
  // insert and removal, read without a walk.
  std::vector<std::pair<uint8_t, size_t>> protocol_counts() const;
  size_t ipv6_size() const;
  // "stream" area: live sessions by TCP state (kNone left out) and by (source zone, destination
  // zone), counted on insert, removal and every state change in with_session*: read without a
  // walk (`display firewall session table statistics` is instant at any size). The callbacks of
  // with_session* must not change the zones.
  std::vector<std::pair<TcpState, size_t>> state_counts() const;
  std::vector<std::pair<std::pair<uint8_t, uint8_t>, size_t>> zone_counts() const;

  // Called (outside the session's lock) for every removed session: aged, erased, reset.
  void set_on_remove(std::function<void(const Session&)> cb);
  // "evlog" area: the same, with why it left (aged: closed_reason(); erase*: their `why`).
  // Replaces a set_on_remove callback (which is this with the reason ignored).
  void set_on_close(std::function<void(const Session&, CloseReason)> cb);

  // Approximate memory used by the table (bytes), for the benchmark.
  size_t memory_bytes() const;
  // The slab's pages resident right now (mincore(2) over its whole reservation): what a drained
  // table still holds. A diagnostic: it walks the reservation's page map.
  size_t resident_slab_bytes() const;
  // The same for the per-slot state bytes and for the free-slot bitmap (issue 16 item 6).
  size_t resident_state_bytes() const;
  size_t resident_free_bitmap_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// TCP state machine: the state after a packet with `flags` in direction `d`.
TcpState tcp_next(TcpState cur, Dir d, uint8_t flags);
// Aging time for a session in its current state (seconds): TCP outside the
// established state ages as syn / fin-rst, everything else by its class.
uint32_t timeout_for(const Timeouts& t, uint8_t proto, TcpState st, AgingClass established);

}  // namespace fw::session
