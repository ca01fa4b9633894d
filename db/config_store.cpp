#include "db/config_store.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <new>
#include <string_view>

#include "db/file_check.h"
#include "db/sqlite_util.h"
#include "db/store_check.h"

namespace fw::db {
namespace {

// Everything an existing file must pass, read-only: nothing here can change it or leave a file.
Finding inspect(const std::string& path, FileFacts* facts) {
  if (Finding f = examine_file(path, facts); !f.ok()) return f;
  std::string err;
  Connection db = open_connection(path, SQLITE_OPEN_READONLY, &err);
  if (!db) return io_fault("cannot be opened: " + err);
  Finding p = probe(db.get());
  // Until the journal is rolled back, the file's size may not match its header.
  if (p.fault == Fault::kHotJournal) return p;
  if (Finding f = check_size(*facts); !f.ok()) return f;
  if (!p.ok()) return p;
  if (Finding f = check_structure(db.get()); !f.ok()) return f;
  std::optional<std::string> text;
  return read_saved(db.get(), &text);
}

// The first read of a read-write connection rolls a hot journal back (and deletes it).
Finding roll_back(const std::string& path) {
  std::string err;
  Connection db = open_connection(path, SQLITE_OPEN_READWRITE, &err);
  if (!db) return io_fault("cannot be opened to roll back an interrupted save: " + err);
  return probe(db.get());
}

// A save was interrupted. Roll its journal back in a private copy first: the real file is only
// rolled back when that gives a database of ours that checks out, so a stray journal beside a
// file never changes it.
Finding recover(const std::string& path, FileFacts* facts) {
  const std::string journal = journal_path(path);
  TempDir tmp;
  std::string err;
  if (!tmp.create(&err)) return io_fault("has an interrupted save to roll back, but " + err);
  const std::string copy = tmp.path() + "/copy.db";
  if (!copy_file(path, copy, &err) || !copy_file(journal, journal_path(copy), &err))
    return io_fault("has an interrupted save to roll back, but " + err);
  if (Finding f = roll_back(copy); !f.ok()) return f;
  FileFacts copy_facts;
  if (Finding f = inspect(copy, &copy_facts); !f.ok()) {
    if (f.fault == Fault::kHotJournal) f.what = "could not be rolled back";
    f.what = "has an interrupted save (" + journal + ") which, rolled back, " + f.what;
    return f;
  }
  if (Finding f = roll_back(path); !f.ok()) return f;
  Finding f = inspect(path, facts);
  if (f.fault == Fault::kHotJournal)
    return io_fault("still has its interrupted save (" + journal + ") after rolling it back");
  return f;
}

// Builds the new database under a temporary name beside `path` and renames it into place, so a
// crash while creating never leaves a half-made file where the database belongs.
Finding create_new(const std::string& path) {
  std::string staged = path + ".new-XXXXXX";
  int fd = ::mkstemp(staged.data());
  if (fd < 0) return io_fault(std::string("cannot be created: ") + std::strerror(errno));
  ::close(fd);
  struct Unstage {
    const std::string& p;
    ~Unstage() {
      ::unlink(p.c_str());
      ::unlink(journal_path(p).c_str());
    }
  } unstage{staged};
  std::string err;
  {
    Connection db = open_connection(staged, SQLITE_OPEN_READWRITE, &err);
    if (!db) return io_fault("cannot be created: " + err);
    const std::string sql = "PRAGMA application_id = " + std::to_string(kApplicationId) +
                            "; BEGIN IMMEDIATE; " + kCreateSchemaSql + " COMMIT;";
    if (!exec(db.get(), sql.c_str(), &err)) return io_fault("cannot be created: " + err);
  }
  if (!publish_no_replace(staged, path, &err)) return io_fault("cannot be created: " + err);
  return {};
}

Finding create_and_inspect(const std::string& path, FileFacts* facts) {
  if (Finding f = create_new(path); !f.ok()) return f;
  return inspect(path, facts);
}

// Turns a missing or unusable file into a new database where the options allow it.
Finding create_or_replace(const std::string& path, const OpenOptions& opts, Finding f,
                          FileFacts* facts, OpenInfo* info) {
  if (f.fault == Fault::kMissing && opts.create_if_missing) {
    f = create_and_inspect(path, facts);
    if (f.ok()) {
      info->created = true;
      info->notes.push_back("database " + path + " did not exist: created a new, empty one");
    }
  } else if (f.fault == Fault::kUnusable && opts.replace_unusable) {
    std::string moved, err;
    if (!move_aside(path, &moved, &err))
      return io_fault(f.what + "; moving it aside failed: " + err);
    info->moved_aside_to = moved;
    info->notes.push_back("database " + path + " " + f.what +
                          ": moved it (and any -journal, -wal, " + "-shm file) aside to " + moved +
                          "; nothing was deleted");
    f = create_and_inspect(path, facts);
    if (f.ok()) {
      info->created = true;
      info->notes.push_back("database " + path + ": created a new, empty one in its place");
    }
  }
  return f;
}

// Inspects, recovers, creates or replaces as needed, then opens read-write the file that checked
// out - the same file: a file swapped in meanwhile is refused.
Connection open_verified(const std::string& path, const OpenOptions& opts, OpenInfo* info,
                         std::string* err) {
  FileFacts facts;
  Finding f = inspect(path, &facts);
  if (f.fault == Fault::kHotJournal) {
    f = recover(path, &facts);
    if (f.ok()) {
      info->recovered = true;
      info->notes.push_back("database " + path + ": rolled back a save interrupted by a crash (" +
                            journal_path(path) + "); the configuration saved before it is back");
    }
  }
  f = create_or_replace(path, opts, std::move(f), &facts, info);
  if (!f.ok()) {
    info->unusable = f.fault == Fault::kUnusable;
    *err =
        "database " + path + " " + f.what + (info->unusable ? "; the file was left untouched" : "");
    return nullptr;
  }
  Connection db = open_connection(path, SQLITE_OPEN_READWRITE, err);
  if (!db) {
    *err = "database " + path + " cannot be opened for writing: " + *err;
    return nullptr;
  }
  // SQLite's usual default, stated: with it a commit survives power loss, not only kill -9.
  if (!exec(db.get(), "PRAGMA synchronous = FULL", err)) {
    *err = "database " + path + ": " + *err;
    return nullptr;
  }
  f = probe(db.get());
  if (f.ok() && !same_file(path, facts)) f = io_fault("was replaced while it was being checked");
  if (!f.ok()) {
    *err = "database " + path + " " + f.what;
    return nullptr;
  }
  return db;
}

// Lines as save() stores them: split at '\n', a final newline ends the last line.
std::vector<std::string_view> split_lines(const std::string& text) {
  std::vector<std::string_view> lines;
  std::string_view rest(text);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  return lines;
}

bool insert_lines(sqlite3* db, const std::vector<std::string_view>& lines) {
  Stmt ins;
  if (ins.prepare(db, "INSERT INTO config_lines(seq, line) VALUES(?, ?)") != SQLITE_OK)
    return false;
  for (size_t i = 0; i < lines.size(); ++i) {
    sqlite3_bind_int64(ins.get(), 1, static_cast<sqlite3_int64>(i));
    sqlite3_bind_text(ins.get(), 2, lines[i].data(), static_cast<int>(lines[i].size()),
                      SQLITE_STATIC);
    if (sqlite3_step(ins.get()) != SQLITE_DONE) return false;
    sqlite3_reset(ins.get());
  }
  return true;
}

bool write_meta(sqlite3* db, size_t lines, const std::string& digest) {
  Stmt m;
  if (m.prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)") != SQLITE_OK)
    return false;
  std::time_t now = std::time(nullptr);
  const std::pair<const char*, std::string> kv[] = {
      {"schema", std::to_string(kSchemaVersion)},
      {"lines", std::to_string(lines)},
      {"digest", digest},
      {"saved_at", std::to_string(now > 0 ? now : 0)},
  };
  for (const auto& [k, v] : kv) {
    sqlite3_bind_text(m.get(), 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_text(m.get(), 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    if (sqlite3_step(m.get()) != SQLITE_DONE) return false;
    sqlite3_reset(m.get());
  }
  return true;
}

void roll_back_open_transaction(sqlite3* db) {
  if (db && !sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
}

std::string out_of_memory(const std::string& path, const char* doing) {
  return "database " + path + ": out of memory while " + doing;
}

}  // namespace

ConfigStore::~ConfigStore() {
  if (db_) sqlite3_close(db_);
}

std::unique_ptr<ConfigStore> ConfigStore::open(const std::string& path, std::string* err) {
  return open(path, OpenOptions{}, nullptr, err);
}

std::unique_ptr<ConfigStore> ConfigStore::open(const std::string& path, const OpenOptions& opts,
                                               OpenInfo* info, std::string* err) {
  std::string err_sink;
  if (!err) err = &err_sink;
  OpenInfo info_sink;
  if (!info) info = &info_sink;
  try {
    err->clear();
    *info = OpenInfo{};
    Connection db = open_verified(path, opts, info, err);
    if (!db) return nullptr;
    std::unique_ptr<ConfigStore> st(new ConfigStore());
    st->path_ = path;
    st->db_ = db.release();
    return st;
  } catch (const std::bad_alloc&) {
    *err = out_of_memory(path, "opening it");
  } catch (const std::exception& e) {
    *err = "database " + path + ": internal error while opening it: " + e.what();
  } catch (...) {
    *err = "database " + path + ": internal error while opening it";
  }
  return nullptr;
}

std::optional<std::string> ConfigStore::load(std::string* err) {
  std::string err_sink;
  if (!err) err = &err_sink;
  try {
    err->clear();
    std::optional<std::string> text;
    Finding f = read_saved(db_, &text);
    if (!f.ok()) {
      *err = "database " + path_ + " " + f.what;
      return std::nullopt;
    }
    return text;
  } catch (const std::bad_alloc&) {
    *err = out_of_memory(path_, "loading the saved configuration");
  } catch (const std::exception& e) {
    *err = "database " + path_ + ": internal error while loading: " + e.what();
  } catch (...) {
    *err = "database " + path_ + ": internal error while loading";
  }
  roll_back_open_transaction(db_);
  return std::nullopt;
}

bool ConfigStore::save(const std::string& text, std::string* err) {
  std::string err_sink;
  if (!err) err = &err_sink;
  try {
    err->clear();
    return save_lines(text, err);
  } catch (const std::bad_alloc&) {
    *err = out_of_memory(path_, "saving");
  } catch (const std::exception& e) {
    *err = "database " + path_ + ": internal error while saving: " + e.what();
  } catch (...) {
    *err = "database " + path_ + ": internal error while saving";
  }
  roll_back_open_transaction(db_);
  return false;
}

bool ConfigStore::save_lines(const std::string& text, std::string* err) {
  if (text.find('\0') != std::string::npos) {
    *err = "database " + path_ + ": not saved: the configuration text holds a NUL byte";
    return false;
  }
  // SQLite's default value limit; also keeps every line length within bind_text's int.
  if (text.size() > 1'000'000'000) {
    *err = "database " + path_ + ": not saved: the configuration text is over 1 GB";
    return false;
  }
  std::vector<std::string_view> lines = split_lines(text);
  if (lines.size() > kMaxLines) {
    *err = "database " + path_ + ": not saved: more than " + std::to_string(kMaxLines) + " lines";
    return false;
  }
  std::string normalized;
  normalized.reserve(text.size() + 1);
  for (auto l : lines) (normalized += l) += '\n';
  auto fail = [&](const char* step) {
    *err = "database " + path_ + ": not saved (" + step + "): " + sqlite3_errmsg(db_);
    roll_back_open_transaction(db_);
    return false;
  };
  std::string e;
  if (!exec(db_, "BEGIN IMMEDIATE", &e)) return fail("begin");
  if (!exec(db_, "DELETE FROM config_lines", &e)) return fail("delete");
  if (!insert_lines(db_, lines)) return fail("insert");
  if (!write_meta(db_, lines.size(), digest_hex(normalized))) return fail("metadata");
  if (!exec(db_, "COMMIT", &e)) return fail("commit");
  return true;
}

}  // namespace fw::db
