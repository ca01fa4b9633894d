#include "db/file_check.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/bytes.h"
#include "common/fd.h"

namespace fw::db {
namespace {

constexpr size_t kHeaderSize = 100;
constexpr char kMagic[] = "SQLite format 3";  // 16 bytes with its NUL, as in the file

uint32_t be16(const unsigned char* p) { return common::rd16(p); }
uint32_t be32(const unsigned char* p) { return common::rd32(p); }

std::string errno_text(int e) { return std::strerror(e); }

using common::Fd;

std::string dir_of(const std::string& path) {
  std::string d = std::filesystem::path(path).parent_path().string();
  return d.empty() ? "." : d;
}

bool fsync_dir(const std::string& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return d.fd >= 0 && ::fsync(d.fd) == 0;
}

// rename(2) that never replaces: renameat2(RENAME_NOREPLACE), or link+unlink where the file
// system lacks it. Leaves errno set on failure (EEXIST when `to` exists).
bool rename_no_replace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno != EINVAL && errno != ENOSYS) return false;
  if (::link(from.c_str(), to.c_str()) != 0) return false;
  return ::unlink(from.c_str()) == 0;
}

std::string utc_stamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

const char* const kSideSuffixes[] = {"-journal", "-wal", "-shm"};

bool any_exists(const std::string& base) {
  if (file_exists(base)) return true;
  for (const char* s : kSideSuffixes) {
    if (file_exists(base + s)) return true;
  }
  return false;
}

Finding check_header(const unsigned char* h, size_t n, uint64_t size, FileFacts* facts) {
  if (std::memcmp(h, kMagic, std::min(n, sizeof kMagic)) != 0)
    return unusable("is not a SQLite database (it does not start with the SQLite header)");
  if (n < kHeaderSize)
    return unusable("is truncated: " + std::to_string(size) +
                    " bytes, shorter than the 100-byte SQLite header");
  uint32_t raw = be16(h + 16);
  uint32_t ps = raw == 1 ? 65536 : raw;
  if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0)
    return unusable("is damaged: its header has an invalid page size (" + std::to_string(raw) +
                    ")");
  if (h[18] == 2 || h[19] == 2)
    return unusable("is a SQLite database in WAL mode, which fwd's databases never use");
  if (h[18] != 1 || h[19] != 1)
    return unusable("has an unknown SQLite file format (write version " + std::to_string(h[18]) +
                    ", read version " + std::to_string(h[19]) + ")");
  facts->page_size = ps;
  // The page count is valid only if written by a SQLite that also set version-valid-for.
  facts->header_pages = be32(h + 24) == be32(h + 92) ? be32(h + 28) : 0;
  return {};
}

}  // namespace

std::string journal_path(const std::string& path) { return path + "-journal"; }

std::vector<std::string> side_paths(const std::string& path) {
  std::vector<std::string> out;
  for (const char* s : kSideSuffixes) out.push_back(path + s);
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Finding examine_file(const std::string& path, FileFacts* facts) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return io_fault("cannot be examined: " + errno_text(errno));
    // A new database must not be paired with a journal or log left by an older file.
    for (const auto& side : side_paths(path)) {
      if (file_exists(side))
        return unusable("does not exist, but " + side + " (left by an earlier database) does");
    }
    return {Fault::kMissing, "does not exist"};
  }
  if (S_ISDIR(st.st_mode)) return io_fault("is a directory, not a database file");
  if (!S_ISREG(st.st_mode)) return io_fault("is not a regular file");
  facts->dev = st.st_dev;
  facts->ino = st.st_ino;
  facts->size = static_cast<uint64_t>(st.st_size);
  for (const char* s : {"-wal", "-shm"}) {
    if (file_exists(path + s))
      return unusable("has a write-ahead log file " + path + s +
                      " beside it; fwd's databases never use WAL mode");
  }
  if (st.st_size == 0)
    return unusable(
        "is empty (0 bytes); a configuration database is never empty, so it was cut short or "
        "overwritten");
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.fd < 0) return io_fault("cannot be read: " + errno_text(errno));
  unsigned char h[kHeaderSize];
  ssize_t n = ::pread(fd.fd, h, sizeof h, 0);
  if (n < 0) return io_fault("cannot be read: " + errno_text(errno));
  return check_header(h, static_cast<size_t>(n), facts->size, facts);
}

Finding check_size(const FileFacts& f) {
  std::string sz = std::to_string(f.size) + " bytes";
  if (f.size % f.page_size != 0)
    return unusable("is truncated or damaged: its size (" + sz + ") is not a whole number of its " +
                    std::to_string(f.page_size) + "-byte pages");
  uint64_t pages = f.size / f.page_size;
  if (f.header_pages == 0 || pages == f.header_pages) return {};
  std::string hdr = std::to_string(f.header_pages) + " pages of " + std::to_string(f.page_size) +
                    " bytes (" + std::to_string(uint64_t{f.header_pages} * f.page_size) + " bytes)";
  if (pages < f.header_pages)
    return unusable("is truncated: " + sz + ", but its header says " + hdr);
  return unusable("is damaged: " + sz + ", more than its header's " + hdr);
}

bool same_file(const std::string& path, const FileFacts& f) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && st.st_dev == f.dev && st.st_ino == f.ino &&
         static_cast<uint64_t>(st.st_size) == f.size;
}

bool move_aside(const std::string& path, std::string* moved_to, std::string* err) {
  const std::string base = path + ".unusable-" + utc_stamp();
  for (int i = 0; i < 100; ++i) {
    std::string cand = i == 0 ? base : base + "-" + std::to_string(i);
    if (any_exists(cand)) continue;
    if (file_exists(path) && !rename_no_replace(path, cand)) {
      if (errno == EEXIST) continue;
      *err = "cannot rename " + path + " to " + cand + ": " + errno_text(errno);
      return false;
    }
    // The journal must travel with its file: left behind, it would be rolled into the new one.
    for (const char* s : kSideSuffixes) {
      if (file_exists(path + s) && !rename_no_replace(path + s, cand + s)) {
        *err = "cannot rename " + path + s + " to " + cand + s + ": " + errno_text(errno);
        return false;
      }
    }
    fsync_dir(dir_of(path));
    *moved_to = cand;
    return true;
  }
  *err = "cannot find a free name beside " + path + " to move it to";
  return false;
}

bool publish_no_replace(const std::string& from, const std::string& to, std::string* err) {
  if (!rename_no_replace(from, to)) {
    *err = errno == EEXIST ? "another file appeared at " + to + " while it was being created"
                           : "cannot rename " + from + " to " + to + ": " + errno_text(errno);
    return false;
  }
  if (!fsync_dir(dir_of(to))) {
    *err = "cannot sync the directory of " + to + ": " + errno_text(errno);
    return false;
  }
  return true;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  if (DIR* d = ::opendir(path_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        ::unlinkat(dirfd(d), e->d_name, 0);
    }
    ::closedir(d);
  }
  ::rmdir(path_.c_str());
}

bool TempDir::create(std::string* err) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string tmpl = (base / "fwd-db-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    *err = "cannot create a temporary directory " + tmpl + ": " + errno_text(errno);
    return false;
  }
  path_ = tmpl;
  return true;
}

bool copy_file(const std::string& from, const std::string& to, std::string* err) {
  Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (in.fd < 0 || out.fd < 0) {
    *err = "cannot copy " + from + " to " + to + ": " + errno_text(errno);
    return false;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(in.fd, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || ::write(out.fd, buf, static_cast<size_t>(n)) != n) {
      *err = "cannot copy " + from + " to " + to + ": " + errno_text(errno);
      return false;
    }
  }
}

}  // namespace fw::db
