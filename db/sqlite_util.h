#pragma once
// Small RAII wrappers over the SQLite C API, private to db/.
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>

namespace fw::db {

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  // SQLITE_OK or the error code of sqlite3_prepare_v2.
  int prepare(sqlite3* db, const char* sql) {
    sqlite3_finalize(s_);
    s_ = nullptr;
    return sqlite3_prepare_v2(db, sql, -1, &s_, nullptr);
  }
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// Opens `path` with `flags` (never SQLITE_OPEN_CREATE: creation goes through a staged file) and
// sets what every connection of ours uses: extended result codes (SQLITE_READONLY_ROLLBACK tells a
// hot journal apart), a busy timeout, defensive mode and no trusted schema (a foreign file's
// schema is never run). On failure returns null and sets *err to SQLite's reason.
Connection open_connection(const std::string& path, int flags, std::string* err);

// The text of column `col` of the current row, embedded NULs included; nullopt unless the value's
// storage class is TEXT.
std::optional<std::string> column_text(sqlite3_stmt* s, int col);

// Runs one statement that returns no rows we need; on failure sets *err to SQLite's message.
bool exec(sqlite3* db, const char* sql, std::string* err);

}  // namespace fw::db
