#include "db/sqlite_util.h"

#include <new>

namespace fw::db {

Connection open_connection(const std::string& path, int flags, std::string* err) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) {
    *err = db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc);
    return nullptr;
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), 2000);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  return db;
}

std::optional<std::string> column_text(sqlite3_stmt* s, int col) {
  if (sqlite3_column_type(s, col) != SQLITE_TEXT) return std::nullopt;
  const unsigned char* p = sqlite3_column_text(s, col);
  int n = sqlite3_column_bytes(s, col);
  // A TEXT value comes back null only when SQLite ran out of memory converting it.
  if (!p) throw std::bad_alloc();
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

bool exec(sqlite3* db, const char* sql, std::string* err) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
  *err = msg ? msg : sqlite3_errmsg(db);
  sqlite3_free(msg);
  return false;
}

}  // namespace fw::db
