#pragma once
// File-level checks of a configuration database, done with plain reads before SQLite sees the
// file, and the file operations that replace or create one. Private to db/.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fw::db {

enum class Fault {
  kNone,
  kMissing,     // no file at the path
  kIo,          // could not be examined (permissions, a directory, an I/O error, locked)
  kUnusable,    // examined, and its contents are not a usable database of ours
  kHotJournal,  // a save was interrupted: SQLite must roll its journal back first
};

struct Finding {
  Fault fault = Fault::kNone;
  std::string what;  // a phrase that follows the file name: "is empty (0 bytes)"
  bool ok() const { return fault == Fault::kNone; }
};

inline Finding unusable(std::string what) { return {Fault::kUnusable, std::move(what)}; }
inline Finding io_fault(std::string what) { return {Fault::kIo, std::move(what)}; }

// What the header says about the file and what stat says, kept to detect truncation and a file
// replaced between inspection and use.
struct FileFacts {
  dev_t dev = 0;
  ino_t ino = 0;
  uint64_t size = 0;
  uint32_t page_size = 0;
  uint32_t header_pages = 0;  // 0: the header's page count is not valid (pre-3.7.0 writer)
};

// The SQLite side files of `path`.
std::string journal_path(const std::string& path);
std::vector<std::string> side_paths(const std::string& path);  // -journal, -wal, -shm

// stat, no WAL side files, and the 100-byte header (magic, rollback-journal format, page size).
// The size-versus-header check is separate: an interrupted save leaves the file's size
// inconsistent until its journal is rolled back.
Finding examine_file(const std::string& path, FileFacts* facts);
Finding check_size(const FileFacts& facts);
// The file at `path` is still the one `facts` describes (same inode and size).
bool same_file(const std::string& path, const FileFacts& facts);

// Renames `path` and its side files to "<path>.unusable-<UTC time>[-N]" (and that name's
// -journal...), never over an existing file. Sets *moved_to; *err on failure.
bool move_aside(const std::string& path, std::string* moved_to, std::string* err);

// Renames `from` to `to` unless `to` exists, then syncs the directory.
bool publish_no_replace(const std::string& from, const std::string& to, std::string* err);

// A private directory under $TMPDIR (or /tmp) removed with its files when destroyed.
class TempDir {
 public:
  TempDir() = default;
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool create(std::string* err);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Copies a regular file byte for byte (new file, mode 0600).
bool copy_file(const std::string& from, const std::string& to, std::string* err);
bool file_exists(const std::string& path);

}  // namespace fw::db
