#pragma once
// SQLite persistence of the saved configuration (`save`). The configuration
// is stored as the VRP command text `display current-configuration` prints -
// the same form a device keeps - one row per line, written in one transaction
// so a crash mid-save leaves the previous configuration intact.
#include <memory>
#include <optional>
#include <string>

struct sqlite3;

namespace fw::db {

class ConfigStore {
 public:
  // Opens (creating if absent) the database. Fails with a clear message if the
  // file cannot be opened, is not a database, fails its integrity check, or
  // has an unknown schema version.
  static std::unique_ptr<ConfigStore> open(const std::string& path, std::string* err);
  ~ConfigStore();
  ConfigStore(const ConfigStore&) = delete;
  ConfigStore& operator=(const ConfigStore&) = delete;

  // The saved configuration text, nullopt if nothing was ever saved (then
  // *err is empty), or nullopt with *err set if the stored data is damaged.
  std::optional<std::string> load(std::string* err);
  // Replace the saved configuration atomically.
  bool save(const std::string& text, std::string* err);
  const std::string& path() const { return path_; }

 private:
  ConfigStore() = default;
  bool exec(const char* sql, std::string* err);
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace fw::db
