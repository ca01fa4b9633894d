#include "db/store_check.h"

#include <charconv>
#include <cstdio>
#include <map>
#include <vector>

#include "db/sqlite_util.h"

namespace fw::db {

const char* const kCreateSchemaSql =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE config_lines(seq INTEGER PRIMARY KEY, line TEXT NOT NULL);"
    "INSERT INTO meta(key, value) VALUES('schema', '1');";

namespace {

constexpr const char* kNotOurs = "is not a fwd configuration database: ";
constexpr const char* kDamaged = "holds a damaged saved configuration: ";

// What sqlite_schema holds in a database of ours, as SQLite stores it.
struct SchemaObject {
  const char* type;
  const char* name;
  const char* tbl_name;
  const char* sql;  // null for the automatic index of a PRIMARY KEY
};
constexpr SchemaObject kSchema[] = {
    {"table", "meta", "meta", "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"},
    {"index", "sqlite_autoindex_meta_1", "meta", nullptr},
    {"table", "config_lines", "config_lines",
     "CREATE TABLE config_lines(seq INTEGER PRIMARY KEY, line TEXT NOT NULL)"},
};

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
  return std::string(buf, r.ptr);
}

// A stored value as it may appear in a message: bounded, control bytes escaped.
std::string shown(const std::string& v) {
  std::string out = "'";
  for (size_t i = 0; i < v.size() && i < 40; ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  return out + (v.size() > 40 ? "'..." : "'");
}

const char* type_name(int t) {
  switch (t) {
    case SQLITE_INTEGER:
      return "an integer";
    case SQLITE_FLOAT:
      return "a real";
    case SQLITE_BLOB:
      return "a blob";
    case SQLITE_NULL:
      return "a NULL";
    default:
      return "a text";
  }
}

// A decimal number in [0, max]: digits only (no sign, blanks or exponent).
std::optional<uint64_t> parse_decimal(const std::string& key, const std::string& v, uint64_t max,
                                      Finding* bad) {
  const std::string what = "metadata '" + key + "' ";
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  bool digits_only = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
  if (!digits_only) {
    bool negative =
        v.size() > 1 && v[0] == '-' && v.find_first_not_of("0123456789", 1) == std::string::npos;
    *bad = unusable(what + (v.empty()  ? std::string("is empty")
                            : negative ? "is negative: " + shown(v)
                                       : "is not a decimal number: " + shown(v)));
    return std::nullopt;
  }
  if (ec != std::errc() || end != v.data() + v.size() || n > max) {
    *bad =
        unusable(what + "is out of range: " + shown(v) + " (at most " + std::to_string(max) + ")");
    return std::nullopt;
  }
  return n;
}

std::optional<uint64_t> parse_digest(const std::string& v, Finding* bad) {
  uint64_t d = 0;
  if (v.empty() || v.size() > 16 || v.find_first_not_of("0123456789abcdef") != std::string::npos) {
    *bad = unusable("metadata 'digest' is not 1 to 16 lowercase hex digits: " + shown(v));
    return std::nullopt;
  }
  std::from_chars(v.data(), v.data() + v.size(), d, 16);
  return d;
}

struct Meta {
  std::map<std::string, std::string> values;  // key -> TEXT value, known keys only
};

Finding sqlite_fault(sqlite3* db, const std::string& doing) {
  int rc = sqlite3_extended_errcode(db);
  std::string msg = sqlite3_errmsg(db);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return io_fault("is locked by another process (" + msg + ")");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
      return io_fault("cannot be read while " + doing + ": " + msg);
    case SQLITE_NOTADB:
      return unusable("is not a SQLite database (" + msg + ")");
    default:
      return unusable("is damaged (" + doing + ": " + msg + ")");
  }
}

Finding read_meta(sqlite3* db, Meta* m) {
  Stmt s;
  if (s.prepare(db, "SELECT key, value FROM meta") != SQLITE_OK)
    return sqlite_fault(db, "reading its metadata");
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    auto key = column_text(s.get(), 0);
    if (!key)
      return unusable(std::string("has a metadata key that is ") +
                      type_name(sqlite3_column_type(s.get(), 0)) + ", not text");
    if (*key != "schema" && *key != "lines" && *key != "digest" && *key != "saved_at")
      return unusable("has an unknown metadata key " + shown(*key));
    auto val = column_text(s.get(), 1);
    if (!val)
      return unusable("metadata '" + *key + "' is " + type_name(sqlite3_column_type(s.get(), 1)) +
                      " value, not text");
    m->values[*key] = *val;
  }
  if (rc != SQLITE_DONE) return sqlite_fault(db, "reading its metadata");
  return {};
}

// Expected line count and digest when something was saved; nothing when never saved.
struct SavedMeta {
  uint64_t lines = 0;
  uint64_t digest = 0;
};

Finding validate_meta(const Meta& m, std::optional<SavedMeta>* out) {
  Finding bad;
  auto get = [&](const char* k) -> const std::string* {
    auto it = m.values.find(k);
    return it == m.values.end() ? nullptr : &it->second;
  };
  if (m.values.empty()) return {};  // created by an older fwd and never saved
  const std::string* schema = get("schema");
  if (!schema) return unusable("metadata 'schema' is missing");
  auto ver = parse_decimal("schema", *schema, UINT32_MAX, &bad);
  if (!ver) return bad;
  if (*ver != kSchemaVersion)
    return unusable("has schema version " + std::to_string(*ver) + ", this fwd understands only " +
                    std::to_string(kSchemaVersion));
  if (m.values.size() == 1) return {};  // created, never saved
  for (const char* k : {"lines", "digest", "saved_at"}) {
    if (!get(k)) return unusable(std::string("metadata '") + k + "' is missing");
  }
  SavedMeta sm;
  auto lines = parse_decimal("lines", *get("lines"), kMaxLines, &bad);
  if (!lines) return bad;
  auto digest = parse_digest(*get("digest"), &bad);
  if (!digest) return bad;
  if (!parse_decimal("saved_at", *get("saved_at"), kMaxSavedAt, &bad)) return bad;
  sm.lines = *lines;
  sm.digest = *digest;
  *out = sm;
  return {};
}

Finding read_lines(sqlite3* db, uint64_t limit, std::string* text, uint64_t* count) {
  Stmt s;
  if (s.prepare(db, "SELECT seq, line FROM config_lines ORDER BY seq") != SQLITE_OK)
    return sqlite_fault(db, "reading its lines");
  int rc;
  uint64_t n = 0;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    sqlite3_int64 seq = sqlite3_column_int64(s.get(), 0);
    if (seq < 0 || static_cast<uint64_t>(seq) != n)
      return unusable(kDamaged + std::string("line numbers are not consecutive (expected ") +
                      std::to_string(n) + ", found " + std::to_string(seq) + ")");
    auto line = column_text(s.get(), 1);
    if (!line)
      return unusable(kDamaged + ("line " + std::to_string(seq) + " is ") +
                      type_name(sqlite3_column_type(s.get(), 1)) + " value, not text");
    if (line->find_first_of(std::string("\n\0", 2)) != std::string::npos)
      return unusable(kDamaged + ("line " + std::to_string(seq)) + " holds a newline or NUL byte");
    if (++n > limit) break;  // the count check below reports it
    *text += *line;
    *text += '\n';
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sqlite_fault(db, "reading its lines");
  *count = n;
  return {};
}

Finding read_in_txn(sqlite3* db, std::optional<std::string>* text) {
  Meta m;
  std::optional<SavedMeta> sm;
  if (Finding f = read_meta(db, &m); !f.ok()) return f;
  if (Finding f = validate_meta(m, &sm); !f.ok()) return f;
  std::string body;
  uint64_t n = 0;
  if (Finding f = read_lines(db, sm ? sm->lines : 0, &body, &n); !f.ok()) return f;
  if (!sm) {
    if (n != 0) return unusable("holds configuration lines but no metadata describing them");
    return {};
  }
  if (n > sm->lines)
    return unusable(kDamaged + ("more lines are stored than the " + std::to_string(sm->lines)) +
                    " its metadata says");
  if (n < sm->lines)
    return unusable(kDamaged + std::to_string(n) + " lines are stored, its metadata says " +
                    std::to_string(sm->lines));
  if (uint64_t have = fnv1a(body); have != sm->digest)
    return unusable(kDamaged + ("the digest of its lines is " + hex(have)) +
                    ", its metadata says " + hex(sm->digest));
  *text = std::move(body);
  return {};
}

}  // namespace

std::string digest_hex(const std::string& text) { return hex(fnv1a(text)); }

Finding probe(sqlite3* db) {
  Stmt s;
  int rc = s.prepare(db, "SELECT count(*) FROM sqlite_schema");
  if (rc == SQLITE_OK) rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return {};
  if (sqlite3_extended_errcode(db) == SQLITE_READONLY_ROLLBACK)
    return {Fault::kHotJournal, "has an interrupted save to roll back"};
  return sqlite_fault(db, "opening it");
}

Finding check_integrity(sqlite3* db) {
  Stmt s;
  if (s.prepare(db, "PRAGMA integrity_check") != SQLITE_OK)
    return sqlite_fault(db, "checking its integrity");
  std::vector<std::string> problems;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    auto r = column_text(s.get(), 0);
    if (r && *r == "ok") continue;
    problems.push_back(r ? *r : std::string("?"));
  }
  if (rc != SQLITE_DONE) return sqlite_fault(db, "checking its integrity");
  if (problems.empty()) return {};
  std::string more =
      problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : "";
  return unusable("is damaged: its integrity check reports: " + problems[0] + more);
}

std::optional<int64_t> pragma_int(sqlite3* db, const char* sql) {
  Stmt s;
  if (s.prepare(db, sql) != SQLITE_OK || sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
  return sqlite3_column_int64(s.get(), 0);
}

// Another fwd's schema version deserves its own message before the tables are compared.
Finding check_schema_version(sqlite3* db) {
  Stmt s;
  if (s.prepare(db, "SELECT value FROM meta WHERE key = 'schema'") != SQLITE_OK) return {};
  if (sqlite3_step(s.get()) != SQLITE_ROW) return {};
  auto v = column_text(s.get(), 0);
  Finding bad;
  auto ver = v ? parse_decimal("schema", *v, UINT32_MAX, &bad) : std::nullopt;
  if (ver && *ver != kSchemaVersion)
    return unusable("has schema version " + std::to_string(*ver) + ", this fwd understands only " +
                    std::to_string(kSchemaVersion));
  return {};
}

Finding check_tables(sqlite3* db) {
  Stmt s;
  if (s.prepare(db, "SELECT type, name, tbl_name, sql FROM sqlite_schema") != SQLITE_OK)
    return sqlite_fault(db, "reading its schema");
  bool seen[std::size(kSchema)] = {};
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    std::string col[4];
    for (int i = 0; i < 4; ++i) col[i] = column_text(s.get(), i).value_or("");
    size_t k = 0;
    while (k < std::size(kSchema) && (col[0] != kSchema[k].type || col[1] != kSchema[k].name)) ++k;
    if (k == std::size(kSchema))
      return unusable(kNotOurs + ("it has " + col[0] + " " + shown(col[1])) +
                      ", which fwd never creates");
    bool null_sql = sqlite3_column_type(s.get(), 3) == SQLITE_NULL;
    if (col[2] != kSchema[k].tbl_name || null_sql != (kSchema[k].sql == nullptr) ||
        (kSchema[k].sql && col[3] != kSchema[k].sql))
      return unusable(kNotOurs + ("its " + col[0] + " " + shown(col[1])) +
                      " is not defined as fwd defines it");
    seen[k] = true;
  }
  if (rc != SQLITE_DONE) return sqlite_fault(db, "reading its schema");
  for (size_t k = 0; k < std::size(kSchema); ++k) {
    if (!seen[k])
      return unusable(kNotOurs + std::string("it has no ") + kSchema[k].type + " '" +
                      kSchema[k].name + "'");
  }
  return {};
}

Finding check_structure(sqlite3* db) {
  if (Finding f = check_integrity(db); !f.ok()) return f;
  auto app = pragma_int(db, "PRAGMA application_id");
  auto user = pragma_int(db, "PRAGMA user_version");
  if (!app || !user) return sqlite_fault(db, "reading its header");
  if (*app != 0 && *app != static_cast<int32_t>(kApplicationId)) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%08x", static_cast<uint32_t>(*app));
    return unusable(kNotOurs + std::string("it belongs to another application (application_id ") +
                    b + ")");
  }
  if (*user != 0)
    return unusable(kNotOurs + ("its user_version is " + std::to_string(*user)) +
                    " (fwd leaves it 0)");
  if (Finding f = check_schema_version(db); !f.ok()) return f;
  return check_tables(db);
}

Finding read_saved(sqlite3* db, std::optional<std::string>* text) {
  text->reset();
  std::string err;
  if (!exec(db, "BEGIN", &err)) return sqlite_fault(db, "starting a read");
  Finding f = read_in_txn(db, text);
  exec(db, "COMMIT", &err);  // ends a read transaction: nothing to keep or lose
  if (!f.ok()) text->reset();
  return f;
}

}  // namespace fw::db
