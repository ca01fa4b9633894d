#include "session/session_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/counters.h"

namespace fw::session {

namespace {

// Per-slot state byte: a slot is LIVE while it holds a session; LOCKED is the
// per-session spinlock that gives a with_session() callback exclusive access.
constexpr uint8_t kLive = 1;
constexpr uint8_t kLocked = 2;

constexpr uint32_t kEmpty = 0;  // index entry values; a used entry is (tag << ref_bits) | (ref + 2)
constexpr uint32_t kTomb = 1;
constexpr uint32_t kNoRef = UINT32_MAX;

constexpr size_t kPartsPerShard = 16;  // index sub-tables per lock: small rehashes
constexpr uint32_t kMinIndexCap = 8;
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kPage = 4096;
constexpr size_t kHugeHead = 4 * kHugePage;  // a big slab's first 8 MiB stay in small pages
constexpr size_t kMaxSessionsLimit = (size_t{1} << 30) - 1;  // refs must fit in 31 bits

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// An address-space reservation: pages are faulted in (and counted) only when touched,
// so an empty table costs nothing while the slab stays one flat array (no chunk
// directory, no moving). Huge pages cut TLB misses on random access to a big slab.
class Region {
 public:
  Region(size_t bytes, bool huge) {
    len_ = (bytes + kHugePage - 1) / kHugePage * kHugePage + kHugePage;
    void* p = mmap(nullptr, len_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      throw std::bad_alloc();  // construction time only, never on the packet path
    map_ = p;
    const auto a = reinterpret_cast<uintptr_t>(p);
    base_ = reinterpret_cast<void*>((a + kHugePage - 1) & ~(kHugePage - 1));
    // Only for big slabs, and not their head: a small table, or a big one drained down to a few
    // sessions (which live at its start), should not keep 2 MiB resident per session - with
    // huge pages khugepaged even folds a lone live 4 KiB page back into a 2 MiB one. The head
    // is marked explicitly, for kernels whose THP mode is `always`. Advisory: failure only
    // costs speed (or memory).
    if (huge) {
      head_ = std::min(kHugeHead, len_ - kHugePage);
      madvise(base_, head_, MADV_NOHUGEPAGE);
      advise_tail(MADV_HUGEPAGE);
    }
  }
  // The part after the head: MADV_HUGEPAGE while the table is big, MADV_NOHUGEPAGE once it has
  // drained to a few sessions (else khugepaged folds each page a straggler lives in back into
  // 2 MiB). Only a big slab has a head; a small one has no tail to advise.
  void advise_tail(int advice) {
    if (head_ == 0) return;
    madvise(static_cast<char*>(base_) + head_, len_ - kHugePage - head_, advice);
  }
  size_t head() const { return head_; }
  // Bytes usable from base().
  size_t usable() const { return len_ - (static_cast<char*>(base_) - static_cast<char*>(map_)); }
  ~Region() { munmap(map_, len_); }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  void* base() const { return base_; }
  // Bytes of it resident now (mincore(2) over the whole reservation): a diagnostic.
  size_t resident() const {
    std::vector<unsigned char> vec(usable() / kPage);
    if (mincore(base_, usable(), vec.data()) != 0) return 0;
    return kPage * static_cast<size_t>(std::count_if(vec.begin(), vec.end(),
                                                     [](unsigned char c) { return c & 1; }));
  }

 private:
  void* map_ = nullptr;
  void* base_ = nullptr;
  size_t len_ = 0;
  size_t head_ = 0;  // bytes at the start kept in small pages (0: no huge pages at all)
};

inline size_t round_page(size_t n) { return (n + kPage - 1) / kPage * kPage; }

// The free slots below the bump pointer as a bitmap with summary levels (a bit per word of the
// level below: set while that word has a bit set), so the lowest free slot is found in a few
// steps (issue 16 item 6). One bit a slot instead of the 4-byte list it replaced: a table that
// drained to a few stragglers keeps 125 KB per million slots, not 4 MB. The lowest free slot is
// reused first, so the live sessions gather at the slab's start and its end pages stay free.
// The first level lies in an address-space reservation (touched as slots are freed; given back
// on clear()), the summary levels (1/64 of it and less) on the heap. Not thread-safe (alloc_mu).
class SlotBitmap {
 public:
  explicit SlotBitmap(uint32_t slots)
      : region_(words_for(slots) * 8, false), n0_(words_for(slots)) {
    words_ = static_cast<uint64_t*>(region_.base());
    for (size_t n = n0_; n > 1;) {
      n = (n + 63) / 64;
      upper_.emplace_back(n, 0);
    }
  }
  void set(uint32_t i) { mark(i, true); }
  void reset(uint32_t i) { mark(i, false); }
  // The lowest set bit; UINT32_MAX if none.
  uint32_t lowest() const {
    if (level(top()).empty() || level(top())[0] == 0) return UINT32_MAX;
    size_t i = 0;
    for (size_t l = top() + 1; l-- > 0;)
      i = i * 64 + static_cast<size_t>(std::countr_zero(level(l)[i]));
    return static_cast<uint32_t>(i);
  }
  size_t resident() const { return region_.resident(); }
  // Every bit below `end` cleared; the first level's pages go back to the kernel.
  void clear(uint32_t end) {
    const size_t n = words_for(end);
    madvise(words_, round_page(n * 8), MADV_DONTNEED);
    for (size_t l = 1, k = n; l <= upper_.size(); ++l) {
      k = (k + 63) / 64;
      std::fill_n(upper_[l - 1].begin(), std::min(k, upper_[l - 1].size()), 0);
    }
  }

 private:
  static size_t words_for(uint32_t bits) { return std::max<size_t>(1, (size_t{bits} + 63) / 64); }
  size_t top() const { return upper_.size(); }
  std::span<uint64_t> level(size_t l) const {
    if (l == 0) return {words_, n0_};
    return {const_cast<uint64_t*>(upper_[l - 1].data()), upper_[l - 1].size()};
  }
  // Sets or clears bit i, and the summary bits above it whose word became non-zero or zero.
  void mark(size_t i, bool on) {
    for (size_t l = 0; l <= top(); ++l) {
      uint64_t& w = level(l)[i / 64];
      const bool was_zero = w == 0;
      const uint64_t bit = uint64_t{1} << (i % 64);
      w = on ? (w | bit) : (w & ~bit);
      if (on ? !was_zero : w != 0) return;  // the level above is right already
      i /= 64;
    }
  }

  Region region_;
  size_t n0_;  // words of the first level
  uint64_t* words_ = nullptr;
  std::vector<std::vector<uint64_t>> upper_;  // summary levels, the last one a single word
};

inline bool expired(const Session& s, uint64_t now) {
  if (s.timeout_s == 0) return true;
  return now > s.last_seen_ms && now - s.last_seen_ms > uint64_t{s.timeout_s} * 1000u;
}

}  // namespace

// Slots are constructed in place and never destroyed (the mapping is simply unmapped).
static_assert(std::is_trivially_destructible_v<Session>);
static_assert(std::is_trivially_copyable_v<Session>);

struct SessionTable::Impl {
  // One open-addressing index (linear probing, tombstones) over 32-bit entries.
  // Keys are not stored: the entry names the slab slot and direction, and the
  // spare high bits hold a hash tag so a probe rarely touches a session that
  // does not match.
  struct Part {
    std::unique_ptr<uint32_t[]> e;
    uint32_t cap = 0, live = 0, tombs = 0;
  };
  struct alignas(64) Shard {
    std::mutex mu;
  };

  const common::Clock& clock;
  size_t max_sessions;
  uint32_t nshards, part_bits;
  uint32_t ref_bits, slot_bits;

  std::unique_ptr<Shard[]> shards;
  std::unique_ptr<Part[]> parts;

  // Slab: one array of max_sessions slots reserved up front but touched only as slots
  // are first used; memory is kept until the table dies, so a Session& stays valid
  // while its slot is locked. Sessions are trivially destructible.
  std::unique_ptr<Region> slab_region, state_region;
  Session* slab = nullptr;
  std::atomic<uint8_t>* states = nullptr;
  std::mutex alloc_mu;  // leaf lock: free slots, page counts and bump pointer only
  // Free slots below the bump pointer (the lowest is reused first). Kept outside the slab so that
  // a page of the slab whose slots are all free can be given back to the kernel ("stream" area,
  // issue 16 item 6: after a flood drains, the daemon's memory comes back).
  std::unique_ptr<SlotBitmap> free_bits;
  uint32_t nfree = 0;
  std::unique_ptr<uint16_t[]> page_live;  // per slab page: live slots touching it
  // Per page of the state bytes (4096 slots): live slots in it. A page without one goes back.
  std::unique_ptr<uint16_t[]> state_page_live;
  uint32_t bump = 0;
  std::atomic<uint32_t> high_water{0};  // slots [0, high_water) are constructed
  // Huge pages for the slab's tail: on while the table reaches into it, off (and the tail's
  // free pages given back) once fewer than half the head's slots are live. Under alloc_mu.
  uint32_t head_slots = 0;  // 0: the slab has no huge tail
  bool tail_huge = false;

  std::atomic<size_t> size{0};
  // Live sessions by IP protocol and IPv6 ones (display statistics without a walk).
  std::array<std::atomic<size_t>, 256> by_proto{};
  std::atomic<size_t> v6{0};
  std::array<std::atomic<size_t>, 8> by_state{};
  std::unique_ptr<std::atomic<size_t>[]> by_zones =
      std::make_unique<std::atomic<size_t>[]>(256 * 256);  // [src << 8 | dst], touched sparsely
  static size_t zones_of(const Session& s) { return size_t{s.src_zone} << 8 | s.dst_zone; }
  static size_t state_of(TcpState st) { return static_cast<size_t>(st) & 7; }
  // A with_session* callback may move the TCP state: keep the counts by state right.
  void restate(TcpState before, TcpState after) {
    if (before == after) return;
    by_state[state_of(before)].fetch_sub(1, std::memory_order_relaxed);
    by_state[state_of(after)].fetch_add(1, std::memory_order_relaxed);
  }
  void count(const Session& s, bool add) {
    const int d = add ? 1 : -1;
    by_state[state_of(s.tcp_state)].fetch_add(static_cast<size_t>(d), std::memory_order_relaxed);
    by_zones[zones_of(s)].fetch_add(static_cast<size_t>(d), std::memory_order_relaxed);
    if (add) {
      by_proto[s.orig.proto].fetch_add(1, std::memory_order_relaxed);
      if (s.orig.src.is_v6()) v6.fetch_add(1, std::memory_order_relaxed);
    } else {
      by_proto[s.orig.proto].fetch_sub(1, std::memory_order_relaxed);
      if (s.orig.src.is_v6()) v6.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  std::atomic<uint64_t> next_seq{1};
  std::atomic<size_t> index_bytes{0};

  std::mutex sweep_mu;
  uint32_t cursor = 0;

  mutable std::mutex cb_mu;
  std::shared_ptr<const std::function<void(const Session&, CloseReason)>> on_remove;

  common::Counter& c_full;
  common::Counter& c_created;
  common::Counter& c_aged;
  common::Counter& c_removed;

  Impl(const common::Clock& c, TableOptions opt, common::CounterTable& counters)
      : clock(c),
        c_full(counters.get("session.drop.table-full")),
        c_created(counters.get("session.created")),
        c_aged(counters.get("session.aged")),
        c_removed(counters.get("session.removed")) {
    max_sessions = std::min(opt.max_sessions, kMaxSessionsLimit);
    nshards = static_cast<uint32_t>(std::bit_ceil(std::clamp<size_t>(opt.shards, 1, 1u << 16)));
    const size_t nparts = size_t{nshards} * kPartsPerShard;
    part_bits = static_cast<uint32_t>(std::countr_zero(nparts));
    const uint32_t slab_cap = static_cast<uint32_t>(std::max<size_t>(max_sessions, 1));
    ref_bits = static_cast<uint32_t>(std::bit_width(uint64_t{2} * slab_cap + 1));
    slot_bits = std::max<uint32_t>(1, static_cast<uint32_t>(std::bit_width(slab_cap - 1u)));

    shards = std::make_unique<Shard[]>(nshards);
    parts = std::make_unique<Part[]>(nparts);
    const size_t slab_len = size_t{slab_cap} * sizeof(Session);
    slab_region = std::make_unique<Region>(slab_len, slab_len >= 16 * kHugePage);
    state_region = std::make_unique<Region>(slab_cap, false);
    slab = static_cast<Session*>(slab_region->base());
    page_live = std::make_unique<uint16_t[]>(slab_len / kPage + 2);
    state_page_live = std::make_unique<uint16_t[]>(slab_cap / kPage + 1);
    free_bits = std::make_unique<SlotBitmap>(slab_cap);
    head_slots = static_cast<uint32_t>(slab_region->head() / sizeof(Session));
    tail_huge = head_slots != 0;
    states = static_cast<std::atomic<uint8_t>*>(state_region->base());
  }

  // ---- addressing --------------------------------------------------------------
  uint32_t part_of(uint64_t h) const { return static_cast<uint32_t>(h >> (64 - part_bits)); }
  uint32_t shard_of_part(uint32_t p) const { return p & (nshards - 1); }
  uint32_t tag_of(uint64_t h) const {
    return static_cast<uint32_t>(h >> 32) & ((1u << (32 - ref_bits)) - 1);
  }
  static uint32_t bucket(uint64_t h, uint32_t cap) {
    return static_cast<uint32_t>((uint64_t{static_cast<uint32_t>(h)} * cap) >> 32);
  }
  uint32_t ref_of(uint32_t e) const { return (e & ((1u << ref_bits) - 1)) - 2; }
  uint32_t encode(uint64_t h, uint32_t ref) const { return (tag_of(h) << ref_bits) | (ref + 2); }

  Session& sess(uint32_t slot) const { return slab[slot]; }
  std::atomic<uint8_t>& state(uint32_t slot) const { return states[slot]; }
  const FlowKey& key_of_ref(uint32_t ref) const {
    const Session& s = sess(ref >> 1);
    return (ref & 1) ? s.reply : s.orig;
  }

  // ---- per-session lock --------------------------------------------------------
  // Returns false if the slot is not live. try_only: give up (false) if busy.
  static bool lock_live(std::atomic<uint8_t>& st, bool try_only = false) {
    for (int spins = 0;;) {
      uint8_t v = st.load(std::memory_order_relaxed);
      if (!(v & kLive)) return false;
      if (!(v & kLocked)) {
        if (st.compare_exchange_weak(v, v | kLocked, std::memory_order_acquire,
                                     std::memory_order_relaxed))
          return true;
        continue;
      }
      if (try_only) return false;
      if (++spins < 64) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }
  static void unlock(std::atomic<uint8_t>& st) {
    st.fetch_and(static_cast<uint8_t>(~kLocked), std::memory_order_release);
  }
  struct SessionGuard {
    std::atomic<uint8_t>& st;
    ~SessionGuard() { unlock(st); }
  };

  // Two shard locks, always taken in index order so two threads never wait on each other.
  struct ShardPair {
    std::unique_lock<std::mutex> a, b;
    ShardPair(Impl& t, uint32_t x, uint32_t y) {
      if (x > y) std::swap(x, y);
      a = std::unique_lock<std::mutex>(t.shards[x].mu);
      if (y != x) b = std::unique_lock<std::mutex>(t.shards[y].mu);
    }
  };

  // ---- index (caller holds the part's shard lock) -------------------------------
  uint32_t find(uint32_t p, uint64_t h, const FlowKey& key) const {
    const Part& t = parts[p];
    if (t.cap == 0) return kNoRef;
    const uint32_t tag = tag_of(h);
    for (uint32_t i = bucket(h, t.cap);;) {
      const uint32_t e = t.e[i];
      if (e == kEmpty) return kNoRef;
      if (e != kTomb && (e >> ref_bits) == tag) {
        const uint32_t ref = ref_of(e);
        __builtin_prefetch(&states[ref >> 1]);  // the caller locks it next: overlap the misses
        if (key_of_ref(ref) == key) return ref;
      }
      if (++i == t.cap) i = 0;
    }
  }

  void prefetch_bucket(uint32_t p, uint64_t h) const {
    const Part& t = parts[p];
    if (t.cap) __builtin_prefetch(&t.e[bucket(h, t.cap)]);
  }

  void rehash(Part& t, uint32_t new_cap) {
    auto ne = std::make_unique<uint32_t[]>(new_cap);
    // Tags are only part of the hash, so the bucket is recomputed from the key in the
    // slab: a random read per entry. Prefetch a batch of keys ahead so the misses overlap.
    constexpr uint32_t kBatch = 16;
    for (uint32_t base = 0; base < t.cap; base += kBatch) {
      const uint32_t end = std::min(t.cap, base + kBatch);
      for (uint32_t i = base; i < end; ++i) {
        if (t.e[i] <= kTomb) continue;
        const char* k = reinterpret_cast<const char*>(&key_of_ref(ref_of(t.e[i])));
        __builtin_prefetch(k);
        __builtin_prefetch(k + sizeof(FlowKey) - 1);
      }
      for (uint32_t i = base; i < end; ++i) {
        const uint32_t e = t.e[i];
        if (e <= kTomb) continue;
        const uint64_t h = key_of_ref(ref_of(e)).hash();
        uint32_t j = bucket(h, new_cap);
        while (ne[j] != kEmpty) {
          if (++j == new_cap) j = 0;
        }
        ne[j] = e;
      }
    }
    index_bytes.fetch_add(size_t{new_cap} * 4, std::memory_order_relaxed);
    index_bytes.fetch_sub(size_t{t.cap} * 4, std::memory_order_relaxed);
    t.e = std::move(ne);
    t.cap = new_cap;
    t.tombs = 0;
  }

  void index_insert(uint32_t p, uint64_t h, uint32_t ref) {
    Part& t = parts[p];
    if ((uint64_t{t.live} + t.tombs + 1) * 4 > uint64_t{t.cap} * 3) {
      rehash(t, std::max(kMinIndexCap, (t.live + 1) * 2));
    }
    uint32_t i = bucket(h, t.cap);
    while (t.e[i] > kTomb) {
      if (++i == t.cap) i = 0;
    }
    if (t.e[i] == kTomb) --t.tombs;
    t.e[i] = encode(h, ref);
    ++t.live;
  }

  void index_erase(uint32_t p, uint64_t h, uint32_t ref) {
    Part& t = parts[p];
    if (t.cap == 0) return;
    for (uint32_t i = bucket(h, t.cap);;) {
      const uint32_t e = t.e[i];
      if (e == kEmpty) return;
      if (e != kTomb && ref_of(e) == ref) {
        const uint32_t next = i + 1 == t.cap ? 0 : i + 1;
        if (t.e[next] == kEmpty) {
          // End of a cluster: no probe passes here, so drop trailing tombstones too.
          t.e[i] = kEmpty;
          for (uint32_t k = i == 0 ? t.cap - 1 : i - 1; t.e[k] == kTomb;
               k = k == 0 ? t.cap - 1 : k - 1) {
            t.e[k] = kEmpty;
            --t.tombs;
          }
        } else {
          t.e[i] = kTomb;
          ++t.tombs;
        }
        --t.live;
        if (t.live == 0) {
          // "rss" area (issue 16 item 6): an emptied part keeps no array. After a flood the
          // shrunk arrays of the 1,024 parts lay scattered over the arenas' pages, each keeping
          // its page resident; index_insert() makes a new one.
          index_bytes.fetch_sub(size_t{t.cap} * 4, std::memory_order_relaxed);
          t.e.reset();
          t.cap = 0;
          t.tombs = 0;
          return;
        }
        if (t.cap > kMinIndexCap * 4 && uint64_t{t.live} * 8 < t.cap) {
          rehash(t, std::max(kMinIndexCap, t.live * 2));
        }
        return;
      }
      if (++i == t.cap) i = 0;
    }
  }

  // ---- slab ----------------------------------------------------------------------
  // The slab pages slot occupies (a Session may straddle two).
  std::pair<size_t, size_t> pages_of(uint32_t slot) const {
    const size_t first = size_t{slot} * sizeof(Session);
    return {first / kPage, (first + sizeof(Session) - 1) / kPage};
  }

  uint32_t alloc_slot() {
    std::lock_guard<std::mutex> lk(alloc_mu);
    uint32_t slot;
    if (nfree != 0) {
      slot = free_bits->lowest();
      free_bits->reset(slot);
      --nfree;
    } else {
      // The cap reservation in insert() guarantees bump < max_sessions here.
      slot = bump++;
      // Below the high-water mark (the table drained and the bump pointer started again) the
      // slot was constructed before, is free, and readers may look at its state: leave it.
      if (bump > high_water.load(std::memory_order_relaxed)) {
        std::construct_at(&slab[slot]);
        std::construct_at(&states[slot], uint8_t{0});
        high_water.store(bump, std::memory_order_release);
      }
    }
    auto [a, b] = pages_of(slot);
    for (size_t p = a; p <= b; ++p) ++page_live[p];
    ++state_page_live[slot / kPage];
    if (!tail_huge && head_slots != 0 && slot >= head_slots) {
      slab_region->advise_tail(MADV_HUGEPAGE);
      tail_huge = true;
    }
    return slot;
  }

  // The table drained to a few sessions: no more huge pages in the tail, and every tail page
  // without a live slot given back (khugepaged may have filled some since they were freed).
  void shrink_tail() {
    slab_region->advise_tail(MADV_NOHUGEPAGE);
    tail_huge = false;
    auto* base = reinterpret_cast<char*>(slab);
    const size_t end = pages_of(std::max<uint32_t>(high_water.load(), 1) - 1).second + 1;
    for (size_t p = slab_region->head() / kPage; p < end;) {
      if (page_live[p] != 0) {
        ++p;
        continue;
      }
      size_t q = p;
      while (q < end && page_live[q] == 0) ++q;
      madvise(base + p * kPage, (q - p) * kPage, MADV_DONTNEED);
      p = q;
    }
    // The huge page holding the last constructed slot also covered the pages after it, which no
    // slot owns yet (so no free_slot() ever gives them back): up to 2 MiB after a flood that
    // stopped short of the cap; at the cap, the rounding after the slab's end. Nobody reads past
    // high_water, and a slot constructed there later is written whole.
    if (slab_region->usable() > end * kPage)
      madvise(base + end * kPage, slab_region->usable() - end * kPage, MADV_DONTNEED);
  }

  // A page left without a live slot goes back to the kernel (it reads as zeros when touched
  // again, and every slot is written whole before it is marked live). So does a page of state
  // bytes without a live slot: a free slot's byte is 0 (free, unlocked), nobody writes the byte
  // of a dead slot (lock_live gives up on it) and alloc_slot() counts a slot in before its byte
  // is written.
  void free_slot(uint32_t slot) {
    std::lock_guard<std::mutex> lk(alloc_mu);
    free_bits->set(slot);
    ++nfree;
    auto [a, b] = pages_of(slot);
    for (size_t p = a; p <= b; ++p) {
      if (--page_live[p] == 0)
        madvise(reinterpret_cast<char*>(slab) + p * kPage, kPage, MADV_DONTNEED);
    }
    if (--state_page_live[slot / kPage] == 0)
      madvise(reinterpret_cast<char*>(states) + slot / kPage * kPage, kPage, MADV_DONTNEED);
    if (tail_huge && bump - nfree < head_slots / 2) shrink_tail();
    // Every slot below the bump pointer free (the table drained): start again from slot 0, and
    // the free-slot bitmap's pages go back as well.
    if (nfree == bump) {
      free_bits->clear(bump);
      bump = 0;
      nfree = 0;
    }
  }

  // ---- removal -------------------------------------------------------------------
  // Removes the session in `slot` if recheck(session) holds; copies it to *out.
  // Lock order is always shard(s) -> session: the identity is read under the session
  // lock alone, then released, then shards and session are taken in order and the
  // id re-checked (the slot may have been freed and reused in between).
  template <class Recheck>
  bool remove_slot(uint32_t slot, Recheck&& recheck, bool try_only, Session* out) {
    std::atomic<uint8_t>& st = state(slot);
    Session& s = sess(slot);
    if (!lock_live(st, try_only)) return false;
    uint64_t id;
    FlowKey o, r;
    {
      SessionGuard g{st};
      if (!recheck(s)) return false;
      id = s.id;
      o = s.orig;
      r = s.reply;
    }
    const uint64_t ho = o.hash(), hr = r.hash();
    const bool same = o == r;
    const uint32_t po = part_of(ho), pr = part_of(hr);
    ShardPair lk(*this, shard_of_part(po), shard_of_part(pr));
    prefetch_bucket(po, ho);
    prefetch_bucket(pr, hr);
    if (!lock_live(st)) return false;
    if (s.id != id || !recheck(s)) {
      unlock(st);
      return false;
    }
    if (!(s.orig == o) || !(s.reply == r)) {
      // "spi" area: bind_spi re-keyed it meanwhile (at most once per direction): again.
      unlock(st);
      lk.a.unlock();
      if (lk.b.owns_lock()) lk.b.unlock();
      return remove_slot(slot, recheck, try_only, out);
    }
    index_erase(po, ho, slot * 2);
    if (!same) index_erase(pr, hr, slot * 2 + 1);
    *out = s;
    st.store(0, std::memory_order_release);  // frees and unlocks: nobody waits on a dead slot
    free_slot(slot);
    size.fetch_sub(1, std::memory_order_relaxed);
    count(*out, false);
    return true;
  }

  bool slot_exists(uint32_t slot) const {
    return slot < high_water.load(std::memory_order_acquire);
  }

  std::shared_ptr<const std::function<void(const Session&, CloseReason)>> callback() const {
    std::lock_guard<std::mutex> lk(cb_mu);
    return on_remove;
  }
};

SessionTable::SessionTable(const common::Clock& clock, TableOptions opt,
                           common::CounterTable& counters)
    : impl_(std::make_unique<Impl>(clock, opt, counters)) {}

SessionTable::~SessionTable() = default;

InsertResult SessionTable::insert(Session s, uint64_t* id_out) {
  Impl& t = *impl_;
  const uint64_t ho = s.orig.hash(), hr = s.reply.hash();
  const bool same = s.orig == s.reply;
  const uint32_t po = t.part_of(ho), pr = t.part_of(hr);
  Impl::ShardPair lk(t, t.shard_of_part(po), t.shard_of_part(pr));
  t.prefetch_bucket(pr, hr);  // two independent random reads: let them overlap
  // "spi" area: an unbound SPI key may be shared (several SAs of a pair wait for their replies).
  if ((!spi_unbound(s.orig) && t.find(po, ho, s.orig) != kNoRef) ||
      (!same && !spi_unbound(s.reply) && t.find(pr, hr, s.reply) != kNoRef)) {
    return InsertResult::kExists;
  }
  if (t.size.fetch_add(1, std::memory_order_relaxed) >= t.max_sessions) {
    t.size.fetch_sub(1, std::memory_order_relaxed);
    t.c_full.inc();
    return InsertResult::kFull;
  }
  const uint32_t slot = t.alloc_slot();
  const uint64_t seq = t.next_seq.fetch_add(1, std::memory_order_relaxed);
  s.id = (seq << t.slot_bits) | slot;  // the slot inside the id: with_session_id needs no index
  const uint64_t now = t.clock.now_ms();
  if (s.created_ms == 0) s.created_ms = now;
  if (s.last_seen_ms == 0) s.last_seen_ms = now;
  t.sess(slot) = s;
  t.state(slot).store(kLive, std::memory_order_release);
  t.index_insert(po, ho, slot * 2);
  if (!same) t.index_insert(pr, hr, slot * 2 + 1);
  t.count(s, true);
  t.c_created.inc();
  if (id_out) *id_out = s.id;
  return InsertResult::kOk;
}

bool SessionTable::with_session(const FlowKey& key, const std::function<void(Session&, Dir)>& fn) {
  Impl& t = *impl_;
  const uint64_t h = key.hash();
  const uint32_t p = t.part_of(h);
  uint32_t ref;
  {
    std::lock_guard<std::mutex> lk(t.shards[t.shard_of_part(p)].mu);
    ref = t.find(p, h, key);
    if (ref == kNoRef) return false;
    // Indexed => live; the session lock is taken before the shard lock is dropped so
    // the session cannot be removed in between. The callback runs without the shard lock.
    Impl::lock_live(t.state(ref >> 1));
  }
  Impl::SessionGuard g{t.state(ref >> 1)};
  Session& s = t.sess(ref >> 1);
  const TcpState before = s.tcp_state;
  fn(s, static_cast<Dir>(ref & 1));
  t.restate(before, s.tcp_state);
  return true;
}

bool SessionTable::bind_spi(const FlowKey& key) {
  if (!keyed_by_spi(key.proto) || spi_unbound(key)) return false;
  Impl& t = *impl_;
  FlowKey unbound = key;
  set_key_spi(unbound, 0);
  const uint64_t hk = key.hash(), hu = unbound.hash();
  const uint32_t pk = t.part_of(hk), pu = t.part_of(hu);
  Impl::ShardPair lk(t, t.shard_of_part(pk), t.shard_of_part(pu));
  if (t.find(pk, hk, key) != kNoRef) return true;  // a packet on another queue bound it first
  const uint32_t ref = t.find(pu, hu, unbound);
  if (ref == kNoRef) return false;
  // Lock order shard(s) -> session, as everywhere; no reader of either part can run meanwhile,
  // and the session's other key (another part, maybe another shard) is not touched.
  std::atomic<uint8_t>& st = t.state(ref >> 1);
  Impl::lock_live(st);
  Impl::SessionGuard g{st};
  t.index_erase(pu, hu, ref);
  Session& s = t.sess(ref >> 1);
  ((ref & 1) ? s.reply : s.orig) = key;
  t.index_insert(pk, hk, ref);
  return true;
}

bool SessionTable::with_session_id(uint64_t id, const std::function<void(Session&)>& fn) {
  Impl& t = *impl_;
  const uint64_t slot64 = id & ((uint64_t{1} << t.slot_bits) - 1);
  if (id == 0 || !t.slot_exists(static_cast<uint32_t>(slot64))) return false;
  const auto slot = static_cast<uint32_t>(slot64);
  std::atomic<uint8_t>& st = t.state(slot);
  if (!Impl::lock_live(st)) return false;
  Impl::SessionGuard g{st};
  Session& s = t.sess(slot);
  if (s.id != id) return false;
  const TcpState before = s.tcp_state;
  fn(s);
  t.restate(before, s.tcp_state);
  return true;
}

std::vector<Session> SessionTable::snapshot(const std::function<bool(const Session&)>& pred) const {
  const Impl& t = *impl_;
  std::vector<Session> out;
  const uint32_t hw = t.high_water.load(std::memory_order_acquire);
  for (uint32_t slot = 0; slot < hw; ++slot) {
    std::atomic<uint8_t>& st = t.state(slot);
    if (!Impl::lock_live(st)) continue;
    Impl::SessionGuard g{st};
    const Session& s = t.sess(slot);
    if (!pred || pred(s)) out.push_back(s);
  }
  std::sort(out.begin(), out.end(), [](const Session& a, const Session& b) { return a.id < b.id; });
  return out;
}

bool SessionTable::walk(size_t* cursor, size_t max_slots,
                        const std::function<void(const Session&)>& fn) const {
  const Impl& t = *impl_;
  const size_t hw = t.high_water.load(std::memory_order_acquire);
  const size_t end = std::min(hw, *cursor + max_slots);
  for (size_t slot = *cursor; slot < end; ++slot) {
    std::atomic<uint8_t>& st = t.state(static_cast<uint32_t>(slot));
    if (!Impl::lock_live(st)) continue;
    Impl::SessionGuard g{st};
    fn(t.sess(static_cast<uint32_t>(slot)));
  }
  *cursor = std::max(*cursor, end);
  return *cursor < hw;
}

size_t SessionTable::erase_if(const std::function<bool(const Session&)>& pred, CloseReason why) {
  Impl& t = *impl_;
  auto cb = t.callback();
  size_t n = 0;
  const uint32_t hw = t.high_water.load(std::memory_order_acquire);
  Session copy;
  for (uint32_t slot = 0; slot < hw; ++slot) {
    if (!(t.state(slot).load(std::memory_order_acquire) & kLive)) continue;
    auto check = [&pred](const Session& s) { return !pred || pred(s); };
    if (t.remove_slot(slot, check, false, &copy)) {
      ++n;
      t.c_removed.inc();
      if (cb && *cb) (*cb)(copy, why);
    }
  }
  return n;
}

bool SessionTable::erase(uint64_t id, CloseReason why) {
  Impl& t = *impl_;
  const uint64_t slot64 = id & ((uint64_t{1} << t.slot_bits) - 1);
  if (id == 0 || !t.slot_exists(static_cast<uint32_t>(slot64))) return false;
  Session copy;
  if (!t.remove_slot(
          static_cast<uint32_t>(slot64), [id](const Session& s) { return s.id == id; }, false,
          &copy)) {
    return false;
  }
  t.c_removed.inc();
  if (auto cb = t.callback(); cb && *cb) (*cb)(copy, why);
  return true;
}

size_t SessionTable::expire(size_t budget) {
  Impl& t = *impl_;
  std::lock_guard<std::mutex> sweep(t.sweep_mu);
  const uint32_t hw = t.high_water.load(std::memory_order_acquire);
  if (hw == 0) return 0;
  const uint64_t now = t.clock.now_ms();
  auto cb = t.callback();
  const size_t n = std::min<size_t>(budget, hw);  // each slot at most once per call
  size_t removed = 0;
  Session copy;
  for (size_t k = 0; k < n; ++k) {
    if (t.cursor >= hw) t.cursor = 0;
    const uint32_t slot = t.cursor++;
    if (!(t.state(slot).load(std::memory_order_acquire) & kLive)) continue;
    // try_only: a session locked by a worker is being used right now, so it is not idle.
    if (t.remove_slot(
            slot, [now](const Session& s) { return expired(s, now); }, true, &copy)) {
      ++removed;
      t.c_aged.inc();
      if (cb && *cb) (*cb)(copy, closed_reason(copy));
    }
  }
  return removed;
}

size_t SessionTable::size() const { return impl_->size.load(std::memory_order_relaxed); }

std::vector<std::pair<uint8_t, size_t>> SessionTable::protocol_counts() const {
  std::vector<std::pair<uint8_t, size_t>> v;
  for (size_t p = 0; p < impl_->by_proto.size(); ++p) {
    const size_t n = impl_->by_proto[p].load(std::memory_order_relaxed);
    if (n) v.emplace_back(static_cast<uint8_t>(p), n);
  }
  return v;
}

std::vector<std::pair<TcpState, size_t>> SessionTable::state_counts() const {
  std::vector<std::pair<TcpState, size_t>> v;
  for (size_t i = 1; i < impl_->by_state.size(); ++i) {
    const size_t n = impl_->by_state[i].load(std::memory_order_relaxed);
    if (n) v.emplace_back(static_cast<TcpState>(i), n);
  }
  return v;
}

std::vector<std::pair<std::pair<uint8_t, uint8_t>, size_t>> SessionTable::zone_counts() const {
  std::vector<std::pair<std::pair<uint8_t, uint8_t>, size_t>> v;
  for (size_t i = 0; i < 256 * 256; ++i) {
    const size_t n = impl_->by_zones[i].load(std::memory_order_relaxed);
    if (n) v.push_back({{static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i & 0xff)}, n});
  }
  return v;
}

size_t SessionTable::ipv6_size() const { return impl_->v6.load(std::memory_order_relaxed); }

size_t SessionTable::capacity() const { return impl_->max_sessions; }

void SessionTable::set_on_remove(std::function<void(const Session&)> cb) {
  set_on_close([cb = std::move(cb)](const Session& s, CloseReason) {
    if (cb) cb(s);
  });
}

void SessionTable::set_on_close(std::function<void(const Session&, CloseReason)> cb) {
  auto p = std::make_shared<const std::function<void(const Session&, CloseReason)>>(std::move(cb));
  std::lock_guard<std::mutex> lk(impl_->cb_mu);
  impl_->on_remove = std::move(p);
}

size_t SessionTable::memory_bytes() const {
  const Impl& t = *impl_;
  const size_t nparts = size_t{t.nshards} * kPartsPerShard;
  // The slab counts the pages its slots have touched, not the untouched reservation.
  const size_t used = t.high_water.load(std::memory_order_relaxed);
  return sizeof(Impl) + round_page(used * sizeof(Session)) + round_page(used) +
         t.index_bytes.load(std::memory_order_relaxed) + nparts * sizeof(Impl::Part) +
         size_t{t.nshards} * sizeof(Impl::Shard);
}

size_t SessionTable::resident_slab_bytes() const { return impl_->slab_region->resident(); }
size_t SessionTable::resident_state_bytes() const { return impl_->state_region->resident(); }
size_t SessionTable::resident_free_bitmap_bytes() const { return impl_->free_bits->resident(); }

}  // namespace fw::session
