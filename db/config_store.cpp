#include "db/config_store.h"

#include <sqlite3.h>

#include <sstream>
#include <vector>

namespace fw::db {
namespace {

constexpr int kSchemaVersion = 1;

// FNV-1a of the text, stored beside it so a damaged row is detected at load.
std::string digest(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::ostringstream os;
  os << std::hex << h;
  return os.str();
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

}  // namespace

ConfigStore::~ConfigStore() {
  if (db_) sqlite3_close(db_);
}

bool ConfigStore::exec(const char* sql, std::string* err) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    if (err) *err = "database " + path_ + ": " + (msg ? msg : sqlite3_errmsg(db_));
    sqlite3_free(msg);
    return false;
  }
  return true;
}

std::unique_ptr<ConfigStore> ConfigStore::open(const std::string& path, std::string* err) {
  std::unique_ptr<ConfigStore> st(new ConfigStore());
  st->path_ = path;
  int rc =
      sqlite3_open_v2(path.c_str(), &st->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    if (err)
      *err = "cannot open database " + path + ": " +
             (st->db_ ? sqlite3_errmsg(st->db_) : sqlite3_errstr(rc));
    return nullptr;
  }
  sqlite3_busy_timeout(st->db_, 2000);
  // quick_check reads every page: a truncated or garbage file fails here
  // ("file is not a database") instead of looking like an empty configuration.
  {
    Stmt q;
    if (sqlite3_prepare_v2(st->db_, "PRAGMA quick_check", -1, &q.s, nullptr) != SQLITE_OK) {
      if (err) *err = "database " + path + " is unreadable: " + sqlite3_errmsg(st->db_);
      return nullptr;
    }
    rc = sqlite3_step(q.s);
    if (rc != SQLITE_ROW) {
      if (err) *err = "database " + path + " is unreadable: " + sqlite3_errmsg(st->db_);
      return nullptr;
    }
    std::string res = reinterpret_cast<const char*>(sqlite3_column_text(q.s, 0));
    if (res != "ok") {
      if (err) *err = "database " + path + " is corrupt: " + res;
      return nullptr;
    }
  }
  if (!st->exec(
          "PRAGMA journal_mode=DELETE;"
          "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
          "CREATE TABLE IF NOT EXISTS config_lines(seq INTEGER PRIMARY KEY, line TEXT NOT NULL);",
          err)) {
    return nullptr;
  }
  Stmt v;
  sqlite3_prepare_v2(st->db_, "SELECT value FROM meta WHERE key='schema'", -1, &v.s, nullptr);
  if (sqlite3_step(v.s) == SQLITE_ROW) {
    int ver = sqlite3_column_int(v.s, 0);
    if (ver != kSchemaVersion) {
      if (err)
        *err = "database " + path + " has schema version " + std::to_string(ver) +
               ", this fwd understands " + std::to_string(kSchemaVersion);
      return nullptr;
    }
  }
  return st;
}

std::optional<std::string> ConfigStore::load(std::string* err) {
  if (err) err->clear();
  std::string want_digest;
  long want_lines = -1;
  {
    Stmt m;
    sqlite3_prepare_v2(db_, "SELECT key, value FROM meta", -1, &m.s, nullptr);
    while (sqlite3_step(m.s) == SQLITE_ROW) {
      std::string k = reinterpret_cast<const char*>(sqlite3_column_text(m.s, 0));
      std::string val = reinterpret_cast<const char*>(sqlite3_column_text(m.s, 1));
      if (k == "digest") want_digest = val;
      if (k == "lines") want_lines = std::stol(val);
    }
  }
  if (want_lines < 0) return std::nullopt;  // never saved
  std::string text;
  long n = 0;
  Stmt q;
  if (sqlite3_prepare_v2(db_, "SELECT line FROM config_lines ORDER BY seq", -1, &q.s, nullptr) !=
      SQLITE_OK) {
    if (err) *err = "database " + path_ + ": " + sqlite3_errmsg(db_);
    return std::nullopt;
  }
  int rc;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(q.s, 0);
    text += t ? reinterpret_cast<const char*>(t) : "";
    text += "\n";
    ++n;
  }
  if (rc != SQLITE_DONE) {
    if (err) *err = "database " + path_ + ": " + sqlite3_errmsg(db_);
    return std::nullopt;
  }
  if (n != want_lines || digest(text) != want_digest) {
    if (err)
      *err = "database " + path_ + ": the saved configuration is damaged (" + std::to_string(n) +
             " lines, expected " + std::to_string(want_lines) + ", or digest mismatch)";
    return std::nullopt;
  }
  return text;
}

bool ConfigStore::save(const std::string& text, std::string* err) {
  std::vector<std::string> lines;
  std::istringstream is(text);
  std::string l;
  std::string normalized;
  while (std::getline(is, l)) {
    lines.push_back(l);
    normalized += l + "\n";
  }
  if (!exec("BEGIN IMMEDIATE", err)) return false;
  auto fail = [&](const std::string& what) {
    if (err) *err = "database " + path_ + ": " + what + ": " + sqlite3_errmsg(db_);
    exec("ROLLBACK", nullptr);
    return false;
  };
  if (!exec("DELETE FROM config_lines", err)) return fail("delete");
  {
    Stmt ins;
    if (sqlite3_prepare_v2(db_, "INSERT INTO config_lines(seq, line) VALUES(?, ?)", -1, &ins.s,
                           nullptr) != SQLITE_OK)
      return fail("prepare");
    for (size_t i = 0; i < lines.size(); ++i) {
      sqlite3_bind_int64(ins.s, 1, static_cast<sqlite3_int64>(i));
      sqlite3_bind_text(ins.s, 2, lines[i].c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(ins.s) != SQLITE_DONE) return fail("insert");
      sqlite3_reset(ins.s);
    }
  }
  {
    Stmt m;
    if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1, &m.s,
                           nullptr) != SQLITE_OK)
      return fail("prepare");
    const std::pair<std::string, std::string> kv[] = {
        {"schema", std::to_string(kSchemaVersion)},
        {"lines", std::to_string(lines.size())},
        {"digest", digest(normalized)},
        {"saved_at", std::to_string(time(nullptr))},
    };
    for (const auto& [k, v] : kv) {
      sqlite3_bind_text(m.s, 1, k.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(m.s, 2, v.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(m.s) != SQLITE_DONE) return fail("meta");
      sqlite3_reset(m.s);
    }
  }
  if (!exec("COMMIT", err)) {
    exec("ROLLBACK", nullptr);
    return false;
  }
  return true;
}

}  // namespace fw::db
