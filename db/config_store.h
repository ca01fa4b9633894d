#pragma once
// SQLite persistence of the saved configuration (`save`). The configuration
// is stored as the VRP command text `display current-configuration` prints -
// the same form a device keeps - one row per line, written in one transaction
// so a crash mid-save leaves the previous configuration intact.
//
// An existing file is never taken on trust: it is inspected read-only first and
// refused, unchanged, unless it is an intact database of ours (see README.md).
// No function here throws.
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace fw::db {

struct OpenOptions {
  // Create a new, empty database when no file exists at the path.
  bool create_if_missing = true;
  // When the file exists but is unusable (empty, truncated, not a database,
  // another application's database, damaged, unknown schema version): rename
  // it and its -journal/-wal/-shm files to "<path>.unusable-<UTC time>" beside
  // it - never deleted - and create a new empty database in its place. Off, such
  // a file is refused and left byte-for-byte as it was.
  bool replace_unusable = false;
};

// What open() found and did, for the daemon's log.
struct OpenInfo {
  bool created = false;        // a new, empty database was created
  bool recovered = false;      // an interrupted save was rolled back: the previous save is back
  std::string moved_aside_to;  // non-empty: the unusable file was renamed to this
  // On failure: the file's contents are the problem (replace_unusable would
  // move it aside); false for errors such as permissions, a directory or a lock.
  bool unusable = false;
  std::vector<std::string> notes;  // one sentence per thing done, naming the files
};

class ConfigStore {
 public:
  // Opens the database at `path`, creating it if absent, refusing an unusable
  // file. Same as the overload below with default options.
  static std::unique_ptr<ConfigStore> open(const std::string& path, std::string* err);
  // Opens the database at `path`: an existing file is checked read-only (file
  // header and size, SQLite integrity check, exactly our schema, every metadata
  // field, line count and digest) and opened read-write only if all of it holds.
  // A save interrupted by a crash (a hot journal) is rolled back - first in a
  // private copy, so a journal that would not give a usable database is refused
  // without touching the file. On failure returns null with *err naming the
  // file and what is wrong. `info` may be null.
  static std::unique_ptr<ConfigStore> open(const std::string& path, const OpenOptions& opts,
                                           OpenInfo* info, std::string* err);
  ~ConfigStore();
  ConfigStore(const ConfigStore&) = delete;
  ConfigStore& operator=(const ConfigStore&) = delete;

  // The saved configuration text, nullopt if nothing was ever saved (then
  // *err is empty), or nullopt with *err set if the stored data is damaged.
  std::optional<std::string> load(std::string* err);
  // Replace the saved configuration atomically. Text with a NUL byte or more
  // than 10,000,000 lines is refused (load() would refuse it).
  bool save(const std::string& text, std::string* err);
  const std::string& path() const { return path_; }

 private:
  ConfigStore() = default;
  bool save_lines(const std::string& text, std::string* err);
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace fw::db
