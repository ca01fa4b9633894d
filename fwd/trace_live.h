#pragma once
// Live trace (issue 15 item 2): `packet-trace live ...` prints the trace of the next N real
// packets matching a filter as they pass. The pipeline holds a LiveTraces; while no watch is
// armed its only cost is one relaxed atomic load per packet (Pipeline::process). While one is,
// each packet is parsed once more and matched against the filter; a matching packet is first
// traced in dry mode (Pipeline::trace_run: the stages and the configuration that decided them),
// then processed for real with an ALG sink (aspf::TraceSink), and what really happened - the
// verdict, the session it hit or created, the NAT applied, the seq/ack shift, what the ALG
// parsed, rewrote and opened - goes to the watch as a LiveRecord. The worker only copies; the
// command's thread (ctl_trace.cpp) formats the records with render_live().
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aspf/inspector.h"
#include "fwd/trace.h"
#include "packet/parse.h"
#include "policy/classifier.h"
#include "session/server_map.h"
#include "session/session.h"

namespace fw::fwd {

// Which packets a live trace takes. Unset fields match anything.
struct LiveFilter {
  uint8_t proto = 0;
  std::optional<common::IpAddr> src, dst;
  uint16_t sport = 0, dport = 0;
  policy::ZoneId zone = policy::kNoZone;  // the packet's ingress zone
  bool both = false;                      // also packets going the other way (reply direction)
  bool matches(const packet::Parsed& p, policy::ZoneId in_zone) const;
};

// One ALG event of a traced packet.
struct LiveAlgEvent {
  enum class Kind : uint8_t { kParsed, kRewrote, kOpened, kRefused } kind;
  std::string text, after;          // parsed / refused: text; rewrote: text -> after
  session::ServerMapEntry entry{};  // opened
};

// Collects what the ALG reports about the packet being traced.
class LiveAlgSink final : public aspf::TraceSink {
 public:
  void parsed(std::string_view what) override;
  void rewrote(std::string_view before, std::string_view after) override;
  void opened(const session::ServerMapEntry& e) override;
  void refused(std::string_view why) override;
  std::vector<LiveAlgEvent> events;
};

// What one traced packet did.
struct LiveRecord {
  uint64_t time_ms = 0;  // the pipeline's clock when it came
  TraceRequest req;      // the packet as it came (for explain())
  Trace dry;             // the stages, traced just before it went through
  Verdict verdict = Verdict::kDrop;
  bool modified = false;
  std::string before, after;  // its addresses and ports as it came and as it left
  int64_t seq_shift = 0, ack_shift = 0;
  std::optional<session::Session> session;  // the session it belongs to afterwards (alg_data null)
  session::Dir dir = session::Dir::kOriginal;
  std::vector<LiveAlgEvent> alg;
  uint8_t alg_id = 0;  // the control session's ALG
};

// One armed `packet-trace live`: its filter, how many packets it still takes, and the records
// waiting for the command's thread (at most kQueue; beyond that they are counted as lost).
class LiveWatch {
 public:
  static constexpr size_t kQueue = 256;
  LiveWatch(LiveFilter f, uint32_t count) : filter(std::move(f)), left_(count) {}
  const LiveFilter filter;
  bool claim();  // packet path: takes one of the packets still wanted
  void deliver(LiveRecord r);
  // The command's thread: the records that came, waiting at most `wait` for the first one.
  std::vector<LiveRecord> take(std::chrono::milliseconds wait);
  bool exhausted() const { return left_.load(std::memory_order_relaxed) == 0; }
  uint64_t lost() const;

 private:
  std::atomic<uint32_t> left_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<LiveRecord> q_;
  uint64_t lost_ = 0;
};

// The armed watches of a pipeline (at most kMax at once).
class LiveTraces {
 public:
  static constexpr size_t kMax = 1;
  // `armed` is the pipeline's flag: true exactly while a watch is armed.
  explicit LiveTraces(std::atomic<bool>& armed) : armed_(armed) {}
  // Null when kMax watches are armed already.
  std::shared_ptr<LiveWatch> arm(LiveFilter f, uint32_t count);
  void disarm(const std::shared_ptr<LiveWatch>& w);
  // Packet path (armed only): the watches that take this packet. `in_zone` is asked only when a
  // watch filters on the ingress zone.
  std::vector<std::shared_ptr<LiveWatch>> claim(const packet::Parsed& p,
                                                const std::function<policy::ZoneId()>& in_zone);

 private:
  using Set = std::vector<std::shared_ptr<LiveWatch>>;
  std::atomic<bool>& armed_;
  std::mutex mu_;  // arm / disarm
  std::atomic<std::shared_ptr<const Set>> set_{std::make_shared<const Set>()};
};

// The text (or JSON object, one per line group) of one record: the numbered stages of the dry
// trace, then what happened. `n` counts the packets of the trace, `t0` its start (clock ms).
std::string render_live(const LiveRecord& r, DataPlane& dp, const config::Config& cfg, size_t n,
                        uint64_t t0, bool json);

}  // namespace fw::fwd
