#include "fwd/dataplane.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <variant>

namespace fw::fwd {

namespace snap = session::snapshot;

namespace {
session::TableOptions table_options(const DataPlaneOptions& o) {
  session::TableOptions t;
  t.max_sessions = o.max_sessions;
  return t;
}

constexpr const char* kBootIdPath = "/proc/sys/kernel/random/boot_id";

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// The whole file; false with *err. ENOENT is reported through *missing.
bool read_file(const std::string& path, std::vector<uint8_t>* out, bool* missing,
               std::string* err) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (missing) *missing = errno == ENOENT;
    *err = errno_text(path);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out->reserve(static_cast<size_t>(st.st_size));
  uint8_t buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = errno_text(path);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out->insert(out->end(), buf, buf + n);
  }
  ::close(fd);
  return true;
}

std::optional<std::string> boot_id(std::string* err) {
  std::vector<uint8_t> b;
  if (!read_file(kBootIdPath, &b, nullptr, err)) return std::nullopt;
  std::string id(b.begin(), b.end());
  while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
  if (id.empty()) {
    *err = std::string(kBootIdPath) + " is empty";
    return std::nullopt;
  }
  return id;
}

bool write_all(int fd, const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Temporary file in the same directory, fsync, rename over `path`, fsync the
// directory: after a crash `path` holds either the old or the new file, whole.
bool write_atomically(const std::string& path, const std::vector<uint8_t>& bytes,
                      std::string* err) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    *err = errno_text(tmp);
    return false;
  }
  bool ok = write_all(fd, bytes) && ::fsync(fd) == 0;
  std::string why = ok ? std::string() : errno_text(tmp);
  if (::close(fd) != 0 && ok) {
    ok = false;
    why = errno_text(tmp);
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    why = errno_text("rename " + tmp + " -> " + path);
  }
  if (!ok) {
    *err = why;
    ::unlink(tmp.c_str());
    return false;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // the rename itself durable; the file is complete either way
    ::close(dfd);
  }
  return true;
}

// As the session table ages: idle longer than its aging time (0: at once).
bool expired(const session::Session& s, uint64_t now) {
  if (s.timeout_s == 0) return true;
  return now > s.last_seen_ms && now - s.last_seen_ms > uint64_t{s.timeout_s} * 1000u;
}

}  // namespace

std::string_view RestoreReport::skip_name(size_t why) {
  constexpr std::array<std::string_view, kSkipCount> kNames = {
      "expired", "zone", "app", "alg", "alg-state", "nat-port", "nat-binding", "parent", "table"};
  return why < kNames.size() ? kNames[why] : "?";
}

std::string RestoreReport::summary() const {
  auto part = [](size_t n, std::string_view what, const std::array<size_t, kSkipCount>& skipped) {
    size_t total = 0;
    std::string detail;
    for (size_t i = 0; i < skipped.size(); ++i) {
      if (!skipped[i]) continue;
      total += skipped[i];
      detail += " " + std::string(skip_name(i)) + " " + std::to_string(skipped[i]);
    }
    std::string out = std::to_string(n) + " " + std::string(what) + " (skipped " +
                      std::to_string(total) + (detail.empty() ? "" : ":" + detail) + ")";
    return out;
  };
  if (!found) return "no saved state";
  return "restored " + part(sessions, "sessions", sessions_skipped) + ", " +
         part(entries, "server-map entries", entries_skipped);
}

DataPlane::DataPlane(const common::Clock& clock, RouteSource& routes, DataPlaneOptions opt)
    : clock_(clock),
      routes_(routes),
      zone_ids_(policy::kMaxZoneIds),
      table_(clock, table_options(opt), counters_),
      servermap_(clock, counters_, opt.servermap_max, opt.servermap_per_parent),
      translator_(nat_state_, servermap_, names_, counters_),
      algs_(counters_),
      engine_(algs_, clock, servermap_, translator_),
      sources_(clock),
      floods_(clock),
      synproxy_(clock),
      half_open_(clock),
      evlog_(opt.evlog) {
  if (opt.add_algs) opt.add_algs(algs_);
  apps_ = std::make_unique<AppTable>(algs_);
  pipeline_ = std::make_unique<Pipeline>(
      PipelineParts{clock_, counters_, names_, table_, servermap_, translator_, engine_, *apps_,
                    routes_, runtimes_, sources_, floods_, synproxy_, half_open_});
  // "evlog" area: the events of sessions and server-map entries.
  events_ = std::make_unique<Events>(evlog_, clock_, names_, zone_ids_, *apps_, algs_);
  pipeline_->set_events(events_.get());
  servermap_.set_on_event([this](const session::ServerMapEntry& e, session::MapEvent what) {
    events_->servermap(e, what);
  });
  table_.set_on_close(
      [this](const session::Session& s, session::CloseReason why) { on_session_removed(s, why); });
  // A port reserved for an ALG entry that was never used goes back.
  servermap_.set_on_remove(
      [this](const session::ServerMapEntry& e) { translator_.entry_removed(e); });
}

DataPlane::~DataPlane() {
  // Sessions still in the table own ALG data and hold NAT resources.
  table_.erase_if([](const session::Session&) { return true; }, session::CloseReason::kShutdown);
  evlog_.stop();
}

void DataPlane::on_session_removed(const session::Session& s, session::CloseReason why) {
  if (s.evlog & session::kEvlogOn) events_->session_closed(s, why);  // "evlog" area
  if (s.alg || s.alg_data || s.has_servermap) {
    aspf::EngineResult r = engine_.session_ended(s);
    for (const auto& a : r.age_children) pipeline_->age_children(s.id, a.proto, a.port_a, a.port_b);
  }
  translator_.release(s.orig, s.nat);
  if (s.nat.source_counted) sources_.release(s.orig.src);
  if (s.half_open) half_open_.remove(s.id, s.orig.dst);  // "halfopen" area
}

void DataPlane::apply(const config::Config& c) {
  translator_.configure(c);
  servermap_.set_max_per_source(c.source_servermap_limit);
  // "evlog" area: the sinks as configured.
  evlog_.set_buffer_size(c.info_center.logbuffer_size);
  evlog_.set_host(c.sysname);
  evlog_.set_syslog(
      c.info_center.loghost_socket.empty() ? "/dev/log" : c.info_center.loghost_socket,
      c.info_center.rfc5424 ? evlog::SyslogFormat::kRfc5424 : evlog::SyslogFormat::kRfc3164);
  runtimes_.publish(std::make_unique<Runtime>(c, zone_ids_, counters_, algs_));
  runtimes_.reclaim();
}

std::string DataPlane::zone_name(uint8_t id) const {
  std::string n = id == policy::kNoZone ? std::string() : zone_ids_.name(id);
  return n.empty() ? "---" : n;
}

}  // namespace fw::fwd

namespace fw::fwd {

// ---- planned restart: save ---------------------------------------------------------

snap::SavedSession DataPlane::save_session(const session::Session& s) const {
  snap::SavedSession ss;
  ss.policy = names_.name(s.policy);
  ss.app = std::string(apps_->name(s.app));
  ss.src_zone = zone_ids_.name(s.src_zone);
  ss.dst_zone = zone_ids_.name(s.dst_zone);
  if (const aspf::Inspector* ins = algs_.get(s.alg)) ss.alg = std::string(ins->spec().name);
  if (s.nat.kind == session::NatKind::kNoPat) ss.nat_group = names_.name(s.nat.group);
  if (s.alg) ss.alg_state = engine_.save_alg(s);
  ss.s = s;
  // Interned ids mean nothing to another process: the names above replace them.
  ss.s.policy = 0;
  ss.s.app = 0;
  ss.s.src_zone = ss.s.dst_zone = 0;
  ss.s.alg = 0;
  ss.s.aging = 0;
  ss.s.nat.group = 0;
  ss.s.alg_data = nullptr;
  return ss;
}

snap::SavedEntry DataPlane::save_entry(const session::ServerMapEntry& e) const {
  snap::SavedEntry se;
  if (const aspf::Inspector* ins = algs_.get(e.alg)) se.alg = std::string(ins->spec().name);
  if (e.zone) se.zone = zone_ids_.name(e.zone);
  se.e = e;
  se.e.alg = 0;
  se.e.zone = 0;
  return se;
}

bool DataPlane::save_state(const std::string& path, std::string* err) {
  std::string why;
  auto boot = boot_id(&why);
  if (!boot) {
    *err = "cannot save state: " + why;
    return false;
  }
  snap::Snapshot sn;
  sn.boot_id = *boot;
  sn.saved_ms = clock_.now_ms();
  for (const auto& s : table_.snapshot()) sn.sessions.push_back(save_session(s));
  // Static entries come back with the configuration, No-Pat ones with their
  // bindings' sessions: only the ALGs' entries are state of their own.
  for (const auto& e : servermap_.snapshot()) {
    if (e.type == session::MapType::kAspf) sn.entries.push_back(save_entry(e));
  }
  if (!write_atomically(path, snap::encode(sn), &why)) {
    *err = "cannot save state: " + why;
    return false;
  }
  return true;
}

// ---- planned restart: restore ------------------------------------------------------

std::optional<RestoreReport> DataPlane::restore_state(const std::string& path, std::string* err) {
  auto refuse = [&](const std::string& why) -> std::optional<RestoreReport> {
    *err = "state file " + path + " refused, nothing restored: " + why;
    return std::nullopt;
  };
  std::vector<uint8_t> bytes;
  std::string why;
  bool missing = false;
  if (!read_file(path, &bytes, &missing, &why)) {
    if (!missing) return refuse(why);
    RestoreReport none;
    none.found = false;
    return none;
  }
  auto decoded = snap::decode(bytes);
  if (const auto* e = std::get_if<snap::DecodeError>(&decoded)) {
    return refuse(std::string(snap::error_name(e->error)) + " (" + e->detail + ")");
  }
  const snap::Snapshot& sn = std::get<snap::Snapshot>(decoded);
  auto boot = boot_id(&why);
  if (!boot) return refuse(why);
  if (sn.boot_id != *boot) {
    // Times are monotonic-clock times and ports may have been reused.
    return refuse("written in another boot (boot id " + sn.boot_id + ", now " + *boot + ")");
  }
  const Runtime* rt = runtimes_.current();
  if (!rt) return refuse("no configuration applied yet");
  return restore(sn, *rt);
}

RestoreReport DataPlane::restore(const snap::Snapshot& sn, const Runtime& rt) {
  RestoreReport rep;
  const uint64_t now = clock_.now_ms();
  // Parents are older than their children: in saved-id order a parent's new
  // id is known when its children come.
  std::vector<const snap::SavedSession*> order;
  order.reserve(sn.sessions.size());
  for (const auto& ss : sn.sessions) order.push_back(&ss);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->s.id < b->s.id; });
  IdMap ids;
  for (const auto* ss : order) {
    if (auto skip = restore_session(*ss, rt, now, ids)) {
      ++rep.sessions_skipped[*skip];
    } else {
      ++rep.sessions;
    }
  }
  for (const auto& se : sn.entries) {
    if (auto skip = restore_entry(se, now, ids)) {
      ++rep.entries_skipped[*skip];
    } else {
      ++rep.entries;
    }
  }
  return rep;
}

std::optional<RestoreReport::Skip> DataPlane::restore_session(const snap::SavedSession& ss,
                                                              const Runtime& rt, uint64_t now,
                                                              IdMap& ids) {
  using R = RestoreReport;
  session::Session s = ss.s;
  if (expired(s, now)) return R::kExpired;
  auto zone = [&](const std::string& n) -> std::optional<uint8_t> {
    if (n.empty()) return policy::kNoZone;
    const policy::ZoneId z = rt.zones.by_name(n);
    return z == policy::kNoZone ? std::nullopt : std::optional<uint8_t>(z);
  };
  const auto src_zone = zone(ss.src_zone), dst_zone = zone(ss.dst_zone);
  if (!src_zone || !dst_zone) return R::kZone;
  const auto app = apps_->find(ss.app, s.orig.proto);
  if (!app) return R::kApp;
  const uint8_t alg = ss.alg.empty() ? 0 : algs_.id_of(ss.alg);
  if (!ss.alg.empty() && !alg) return R::kAlg;
  s.id = 0;
  s.src_zone = *src_zone;
  s.dst_zone = *dst_zone;
  s.app = *app;
  s.aging = apps_->aging(*app, s.orig.proto);
  s.alg = alg;
  s.alg_data = nullptr;
  s.policy = static_cast<uint16_t>(names_.intern(ss.policy));
  auto parent = ids.find(s.parent_id);
  s.parent_id = parent == ids.end() ? 0 : parent->second;  // a child outlives its control
  switch (translator_.reclaim(s.orig, &s.nat, ss.nat_group, s.dst_zone)) {
    case nat::Translator::Reclaim::kOk:
      break;
    case nat::Translator::Reclaim::kPortTaken:
      return R::kNatPort;
    default:
      return R::kNatBinding;
  }
  // A control session saved before it had ALG data resumes like the others.
  if (alg && !engine_.load_alg(s, ss.alg_state.value_or(snap::AlgState{}))) {
    translator_.release(s.orig, s.nat);
    return R::kAlgState;
  }
  if (rt.source_limits_any && rt.source_limits_of(s.src_zone).any()) {  // "srclimit"
    sources_.hold(s.orig.src);
    s.nat.source_counted = true;
  }
  uint64_t id = 0;
  if (table_.insert(s, &id) != session::InsertResult::kOk) {
    on_session_removed(
        s, session::CloseReason::kShutdown);  // frees the ALG data, gives the NAT resources back
    return R::kTable;
  }
  ids[ss.s.id] = id;
  return std::nullopt;
}

std::optional<RestoreReport::Skip> DataPlane::restore_entry(const snap::SavedEntry& se,
                                                            uint64_t now, const IdMap& ids) {
  using R = RestoreReport;
  session::ServerMapEntry e = se.e;
  if (e.expires_ms != 0 && e.expires_ms <= now) return R::kExpired;
  e.alg = se.alg.empty() ? 0 : algs_.id_of(se.alg);
  const aspf::Inspector* ins = algs_.get(e.alg);
  // Only ALG entries are state of their own (see save_state).
  if (e.type != session::MapType::kAspf || !ins || e.channel >= ins->spec().channels.size()) {
    return R::kAlg;
  }
  auto parent = ids.find(e.parent);
  if (parent == ids.end()) return R::kParent;
  e.parent = parent->second;
  e.zone = se.zone.empty() ? 0 : static_cast<uint8_t>(zone_ids_.find(se.zone).value_or(0));
  if (e.reserved && !translator_.reclaim_port(e.addr, e.proto, e.port)) return R::kNatPort;
  if (!servermap_.add(e)) {
    if (e.reserved) translator_.release_port(e.addr, e.proto, e.port);
    return R::kTable;
  }
  return std::nullopt;
}

}  // namespace fw::fwd
