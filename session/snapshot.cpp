#include "session/snapshot.h"

#include <algorithm>
#include <type_traits>
#include <unordered_map>

#include "session/syn_proxy.h"

namespace fw::session::snapshot {
namespace {

constexpr size_t kHeaderBytes = 8 + 4 + 8;  // magic, version, total length
constexpr size_t kCrcBytes = 4;

// Flag bits.
constexpr uint8_t kNatSnat = 1, kNatDnat = 2, kNatPortHeld = 4, kNatDstPortHeld = 8;
constexpr uint8_t kSessHasServermap = 1;
constexpr uint8_t kProxyFlags = kProxyOn | kProxyOpening;  // Session::proxy (version 2)
constexpr uint8_t kEntryOneShot = 1, kEntryReserved = 2, kEntryPortExact = 4;

constexpr std::array<uint32_t, 256> kCrcTable = [] {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}();

// ---- writing -------------------------------------------------------------------

class Writer {
 public:
  template <class T>
  void num(T v) {
    static_assert(std::is_integral_v<T>);
    auto u = static_cast<std::make_unsigned_t<T>>(v);
    for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(u >> (8 * i)));
  }
  void bytes(std::span<const uint8_t> b) {
    const size_t n = std::min<size_t>(b.size(), UINT16_MAX);
    num(static_cast<uint16_t>(n));
    out.insert(out.end(), b.begin(), b.begin() + static_cast<ptrdiff_t>(n));
  }
  void str(std::string_view s) {
    bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  void addr(const IpAddr& a) {
    const uint8_t fam = a.is_v4() || a.is_v6() ? a.family : 0;
    num(fam);
    if (fam) out.insert(out.end(), a.b.begin(), a.b.begin() + static_cast<ptrdiff_t>(a.size()));
  }
  void key(const FlowKey& k) {
    addr(k.src);
    addr(k.dst);
    num(k.sport);
    num(k.dport);
    num(k.proto);
    num(k.vpn);
  }
  std::vector<uint8_t> out;
};

// Names are written once; records refer to them by index (0 = no name).
class NameTable {
 public:
  uint32_t ref(const std::string& n) {
    if (n.empty()) return 0;
    auto [it, added] = ids_.emplace(n, static_cast<uint32_t>(names_.size() + 1));
    if (added) names_.push_back(n);
    return it->second;
  }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
};

void put_alg(Writer& w, const AlgState& a) {
  for (const AlgDirection& d : a.dirs) {
    w.num(d.adjust.base_delta);
    w.num(static_cast<uint8_t>(d.adjust.have_last));
    w.num(d.adjust.last_pos);
    w.num(d.adjust.last_end);
    const size_t ne = std::min<size_t>(d.adjust.entries.size(), UINT16_MAX);
    w.num(static_cast<uint16_t>(ne));
    // The newest entries matter (older ones only map long-gone data).
    for (size_t i = d.adjust.entries.size() - ne; i < d.adjust.entries.size(); ++i) {
      const auto& e = d.adjust.entries[i];
      w.num(e.pos);
      w.num(e.pos_after);
      w.num(e.delta);
    }
    const size_t nr = std::min<size_t>(d.rewrites.size(), UINT16_MAX);
    w.num(static_cast<uint16_t>(nr));
    for (size_t i = d.rewrites.size() - nr; i < d.rewrites.size(); ++i) {
      w.num(d.rewrites[i].pos);
      w.bytes(d.rewrites[i].old_bytes);
      w.bytes(d.rewrites[i].new_bytes);
    }
    w.num(static_cast<uint8_t>(d.have_end));
    w.num(d.stream_end);
  }
}

void put_session(Writer& w, NameTable& names, const SavedSession& ss) {
  const Session& s = ss.s;
  w.num(s.id);
  w.num(s.parent_id);
  w.key(s.orig);
  w.key(s.reply);
  const NatInfo& n = s.nat;
  w.num(static_cast<uint8_t>(n.kind));
  w.num(static_cast<uint8_t>((n.snat ? kNatSnat : 0) | (n.dnat ? kNatDnat : 0) |
                             (n.port_held ? kNatPortHeld : 0) |
                             (n.dst_port_held ? kNatDstPortHeld : 0)));
  w.num(names.ref(ss.nat_group));
  w.addr(n.snat_addr);
  w.num(n.snat_port);
  w.num(n.reply_dport);
  w.addr(n.dnat_addr);
  w.num(n.dnat_port);
  for (const std::string* name : {&ss.policy, &ss.app, &ss.src_zone, &ss.dst_zone, &ss.alg}) {
    w.num(names.ref(*name));
  }
  w.num(static_cast<uint8_t>(s.tcp_state));
  w.num(static_cast<uint8_t>(s.has_servermap ? kSessHasServermap : 0));
  w.addr(s.next_hop);
  w.num(s.in_ifindex);
  w.num(s.out_ifindex);
  w.num(s.timeout_s);
  w.num(s.created_ms);
  w.num(s.last_seen_ms);
  for (uint64_t v : {s.packets[0], s.packets[1], s.bytes[0], s.bytes[1]}) w.num(v);
  w.num(s.proxy);  // version 2: the SYN proxy's sequence translation
  w.num(s.proxy_wscale);
  w.num(s.proxy_seq);
  w.num(static_cast<uint8_t>(ss.alg_state.has_value()));
  if (ss.alg_state) put_alg(w, *ss.alg_state);
}

void put_entry(Writer& w, NameTable& names, const SavedEntry& se) {
  const ServerMapEntry& e = se.e;
  w.num(e.id);
  w.num(static_cast<uint8_t>(e.type));
  w.num(e.proto);
  w.num(names.ref(se.alg));
  w.num(e.channel);
  w.num(names.ref(se.zone));
  w.num(static_cast<uint8_t>((e.one_shot ? kEntryOneShot : 0) | (e.reserved ? kEntryReserved : 0) |
                             (e.port_exact ? kEntryPortExact : 0)));
  w.num(e.port);
  w.num(e.xport);
  w.num(e.owner);
  w.num(e.alg_data);
  w.addr(e.peer);
  w.addr(e.addr);
  w.addr(e.xaddr);
  w.addr(e.sxaddr);
  w.num(e.parent);
  w.num(e.expires_ms);
  w.num(e.hits);
}

// ---- reading ---------------------------------------------------------------------

// Every read is checked against the end; the first failure stops all further
// reads and keeps where and what it was.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b, uint32_t v) : version(v), b_(b) {}
  const uint32_t version;  // of the file: what a record holds
  template <class T>
  bool num(T* v) {
    static_assert(std::is_integral_v<T>);
    if (!need(sizeof(T), "a number")) return false;
    std::make_unsigned_t<T> u = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      u = static_cast<std::make_unsigned_t<T>>(u |
                                               (std::make_unsigned_t<T>{b_[at_ + i]} << (8 * i)));
    }
    at_ += sizeof(T);
    *v = static_cast<T>(u);
    return true;
  }
  bool bytes(std::vector<uint8_t>* v) {
    uint16_t n = 0;
    if (!num(&n) || !need(n, "a byte string")) return false;
    v->assign(b_.begin() + static_cast<ptrdiff_t>(at_),
              b_.begin() + static_cast<ptrdiff_t>(at_ + n));
    at_ += n;
    return true;
  }
  bool str(std::string* s) {
    uint16_t n = 0;
    if (!num(&n) || !need(n, "a string")) return false;
    s->assign(reinterpret_cast<const char*>(b_.data() + at_), n);
    at_ += n;
    return true;
  }
  bool addr(IpAddr* a) {
    uint8_t fam = 0;
    if (!num(&fam)) return false;
    *a = IpAddr{};
    if (fam == 0) return true;
    if (fam != 4 && fam != 6) return fail("address family " + std::to_string(fam));
    a->family = fam;
    if (!need(a->size(), "an address")) return false;
    std::copy_n(b_.begin() + static_cast<ptrdiff_t>(at_), a->size(), a->b.begin());
    at_ += a->size();
    return true;
  }
  bool key(FlowKey* k) {
    return addr(&k->src) && addr(&k->dst) && num(&k->sport) && num(&k->dport) && num(&k->proto) &&
           num(&k->vpn);
  }
  // A small enumeration or flag byte: at most `max`.
  bool small(uint8_t* v, uint8_t max, const char* what) {
    if (!num(v)) return false;
    return *v <= max || fail(std::string(what) + " " + std::to_string(*v));
  }
  bool port_or_none(int32_t* v, const char* what) {
    if (!num(v)) return false;
    return (*v >= -1 && *v <= UINT16_MAX) || fail(std::string(what) + " " + std::to_string(*v));
  }
  bool fail(const std::string& what) {
    if (err_.empty()) err_ = what + " at offset " + std::to_string(at_);
    at_ = b_.size();
    failed_ = true;
    return false;
  }
  bool failed() const { return failed_; }
  const std::string& error() const { return err_; }
  size_t left() const { return b_.size() - at_; }

 private:
  bool need(size_t n, const char* what) {
    if (failed_) return false;
    return n <= left() || fail(std::string("end of data inside ") + what);
  }
  std::span<const uint8_t> b_;
  size_t at_ = 0;
  bool failed_ = false;
  std::string err_;
};

bool get_name(Reader& r, const std::vector<std::string>& names, std::string* out) {
  uint32_t ref = 0;
  if (!r.num(&ref)) return false;
  if (ref > names.size()) return r.fail("name reference " + std::to_string(ref));
  out->assign(ref ? names[ref - 1] : std::string());
  return true;
}

bool get_adjust(Reader& r, SeqAdjust::Saved* a) {
  uint8_t have_last = 0;
  uint16_t n = 0;
  if (!(r.num(&a->base_delta) && r.small(&have_last, 1, "flag") && r.num(&a->last_pos) &&
        r.num(&a->last_end) && r.num(&n))) {
    return false;
  }
  a->have_last = have_last;
  for (uint16_t i = 0; i < n; ++i) {
    SeqAdjust::Saved::Entry e;
    if (!(r.num(&e.pos) && r.num(&e.pos_after) && r.num(&e.delta))) return false;
    a->entries.push_back(e);
  }
  return true;
}

bool get_alg(Reader& r, AlgState* a) {
  for (AlgDirection& d : a->dirs) {
    uint16_t n = 0;
    if (!get_adjust(r, &d.adjust) || !r.num(&n)) return false;
    for (uint16_t i = 0; i < n; ++i) {
      AlgRewrite rw;
      if (!(r.num(&rw.pos) && r.bytes(&rw.old_bytes) && r.bytes(&rw.new_bytes))) return false;
      d.rewrites.push_back(std::move(rw));
    }
    uint8_t have_end = 0;
    if (!(r.small(&have_end, 1, "flag") && r.num(&d.stream_end))) return false;
    d.have_end = have_end;
  }
  return true;
}

bool get_nat(Reader& r, const std::vector<std::string>& names, SavedSession* ss) {
  NatInfo& n = ss->s.nat;
  uint8_t kind = 0, flags = 0;
  if (!(r.small(&kind, static_cast<uint8_t>(NatKind::kAspf), "NAT kind") &&
        r.small(&flags, 15, "NAT flags") && get_name(r, names, &ss->nat_group) &&
        r.addr(&n.snat_addr) && r.num(&n.snat_port) &&
        r.port_or_none(&n.reply_dport, "reply port") && r.addr(&n.dnat_addr) &&
        r.num(&n.dnat_port))) {
    return false;
  }
  n.kind = static_cast<NatKind>(kind);
  n.snat = flags & kNatSnat;
  n.dnat = flags & kNatDnat;
  n.port_held = flags & kNatPortHeld;
  n.dst_port_held = flags & kNatDstPortHeld;
  return true;
}

bool get_session(Reader& r, const std::vector<std::string>& names, SavedSession* ss) {
  Session& s = ss->s;
  uint8_t tcp = 0, flags = 0, has_alg = 0;
  if (!(r.num(&s.id) && r.num(&s.parent_id) && r.key(&s.orig) && r.key(&s.reply) &&
        get_nat(r, names, ss))) {
    return false;
  }
  for (std::string* name : {&ss->policy, &ss->app, &ss->src_zone, &ss->dst_zone, &ss->alg}) {
    if (!get_name(r, names, name)) return false;
  }
  if (!(r.small(&tcp, static_cast<uint8_t>(TcpState::kClosing), "TCP state") &&
        r.small(&flags, kSessHasServermap, "session flags") && r.addr(&s.next_hop) &&
        r.num(&s.in_ifindex) && r.num(&s.out_ifindex) && r.num(&s.timeout_s) &&
        r.num(&s.created_ms) && r.num(&s.last_seen_ms) && r.num(&s.packets[0]) &&
        r.num(&s.packets[1]) && r.num(&s.bytes[0]) && r.num(&s.bytes[1]) &&
        (r.version < 2 || (r.small(&s.proxy, kProxyFlags, "proxy flags") &&
                           r.num(&s.proxy_wscale) && r.num(&s.proxy_seq))) &&
        r.small(&has_alg, 1, "flag"))) {
    return false;
  }
  s.tcp_state = static_cast<TcpState>(tcp);
  s.has_servermap = flags & kSessHasServermap;
  if (!has_alg) return true;
  ss->alg_state.emplace();
  return get_alg(r, &*ss->alg_state);
}

bool get_entry(Reader& r, const std::vector<std::string>& names, SavedEntry* se) {
  ServerMapEntry& e = se->e;
  uint8_t type = 0, flags = 0;
  if (!(r.num(&e.id) &&
        r.small(&type, static_cast<uint8_t>(MapType::kNoPatReverse), "server-map type") &&
        r.num(&e.proto) && get_name(r, names, &se->alg) && r.num(&e.channel) &&
        get_name(r, names, &se->zone) && r.small(&flags, 7, "entry flags") && r.num(&e.port) &&
        r.port_or_none(&e.xport, "translated port") && r.num(&e.owner) && r.num(&e.alg_data) &&
        r.addr(&e.peer) && r.addr(&e.addr) && r.addr(&e.xaddr) && r.addr(&e.sxaddr) &&
        r.num(&e.parent) && r.num(&e.expires_ms) && r.num(&e.hits))) {
    return false;
  }
  e.type = static_cast<MapType>(type);
  e.one_shot = flags & kEntryOneShot;
  e.reserved = flags & kEntryReserved;
  e.port_exact = flags & kEntryPortExact;
  return true;
}

// Everything after the header's length field, up to the checksum.
bool get_body(Reader& r, Snapshot* snap) {
  std::vector<std::string> names;
  uint32_t n = 0;
  if (!(r.str(&snap->boot_id) && r.num(&snap->saved_ms) && r.num(&n))) return false;
  // No reserve() from a count read from the file: each record must consume
  // bytes, so memory grows only with what is really there.
  for (uint32_t i = 0; i < n; ++i) {
    if (!r.str(&names.emplace_back())) return false;
  }
  if (!r.num(&n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    if (!get_session(r, names, &snap->sessions.emplace_back())) return false;
  }
  if (!r.num(&n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    if (!get_entry(r, names, &snap->entries.emplace_back())) return false;
  }
  return r.left() == 0 || r.fail(std::to_string(r.left()) + " bytes after the last record");
}

template <class T>
T le(const uint8_t* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v | T{p[i]} << (8 * i));
  return v;
}

}  // namespace

uint32_t crc32(std::span<const uint8_t> bytes) {
  uint32_t c = 0xffffffffu;
  for (uint8_t b : bytes) c = kCrcTable[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::string_view error_name(Error e) {
  switch (e) {
    case Error::kTruncated:
      return "truncated";
    case Error::kBadMagic:
      return "not a state file";
    case Error::kBadVersion:
      return "unsupported version";
    case Error::kBadChecksum:
      return "checksum mismatch";
    case Error::kMalformed:
      return "malformed";
  }
  return "?";
}

std::vector<uint8_t> encode(const Snapshot& snap) {
  // Records first (they fill the name table), then the file around them.
  NameTable names;
  Writer body;
  body.num(static_cast<uint32_t>(snap.sessions.size()));
  for (const auto& s : snap.sessions) put_session(body, names, s);
  body.num(static_cast<uint32_t>(snap.entries.size()));
  for (const auto& e : snap.entries) put_entry(body, names, e);

  Writer w;
  w.out.assign(kMagic.begin(), kMagic.end());
  w.num(kVersion);
  w.num(uint64_t{0});  // total length, patched below
  w.str(snap.boot_id);
  w.num(snap.saved_ms);
  w.num(static_cast<uint32_t>(names.names().size()));
  for (const auto& n : names.names()) w.str(n);
  w.out.insert(w.out.end(), body.out.begin(), body.out.end());
  const uint64_t total = w.out.size() + kCrcBytes;
  for (size_t i = 0; i < 8; ++i) w.out[12 + i] = static_cast<uint8_t>(total >> (8 * i));
  w.num(crc32(w.out));
  return std::move(w.out);
}

std::variant<Snapshot, DecodeError> decode(std::span<const uint8_t> bytes) {
  auto err = [](Error e, std::string detail) { return DecodeError{e, std::move(detail)}; };
  if (bytes.size() >= kMagic.size() && !std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    return err(Error::kBadMagic, "no state file magic");
  }
  if (bytes.size() < kHeaderBytes + kCrcBytes) {
    return err(Error::kTruncated, std::to_string(bytes.size()) + " bytes, shorter than a header");
  }
  const auto version = le<uint32_t>(bytes.data() + 8);
  if (version < kOldestVersion || version > kVersion) {
    return err(Error::kBadVersion,
               "version " + std::to_string(version) + ", this build reads version " +
                   std::to_string(kOldestVersion) + " to version " + std::to_string(kVersion));
  }
  const auto total = le<uint64_t>(bytes.data() + 12);
  if (total != bytes.size()) {
    return err(total > bytes.size() ? Error::kTruncated : Error::kMalformed,
               std::to_string(bytes.size()) + " bytes, the header says " + std::to_string(total));
  }
  const size_t body_end = bytes.size() - kCrcBytes;
  const auto want = le<uint32_t>(bytes.data() + body_end);
  if (crc32(bytes.first(body_end)) != want) {
    return err(Error::kBadChecksum, "the content does not match its checksum");
  }
  Snapshot snap;
  Reader r(bytes.subspan(kHeaderBytes, body_end - kHeaderBytes), version);
  if (!get_body(r, &snap)) return err(Error::kMalformed, r.error());
  return snap;
}

}  // namespace fw::session::snapshot
