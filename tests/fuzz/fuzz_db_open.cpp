// libFuzzer target for db::ConfigStore::open() and load() on arbitrary files. The first input
// byte picks what is written into a private directory:
//   bits 0-1 = 0: the rest is the database file;
//            = 1: the rest is a database file and, after it, a -journal file (split at a point
//                 taken from the next two bytes), to exercise hot-journal recovery;
//            = 2 or 3: a database of ours is made with save() of a text taken from the input,
//                 then patched: (offset:2, byte:1) triples overwrite bytes of the file, so
//                 mutations reach deep into a file that passes the first checks;
//   bit 2: open with replace_unusable.
// Besides ASan/UBSan/LSan it traps when a promise is broken:
// - a refused file (without replace_unusable) and everything beside it keep their bytes, and no
//   file appears beside it;
// - a file moved aside keeps its bytes under the new name;
// - an unpatched database of ours opens and loads back the text saved into it;
// - what load() returns saves and loads back unchanged.
#include <dirent.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "db/config_store.h"

namespace {

using fw::db::ConfigStore;
using fw::db::OpenInfo;
using fw::db::OpenOptions;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out[n] = read_all(dir + "/" + n);
    }
    ::closedir(d);
  }
  return out;
}

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl =
        std::string(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + "/fwd-fuzz-XXXXXX";
    check(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~ScratchDir() {
    for (const auto& [n, bytes] : snapshot(path_)) ::unlink((path_ + "/" + n).c_str());
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Mode 2/3: our database holding a text from the input, then patched. Returns whether the
// patches left every byte as it was (then the file must open and load the text back).
bool make_patched(const std::string& db, const uint8_t* data, size_t size, std::string* saved) {
  size_t text_len = size == 0 ? 0 : data[0] % 64;
  text_len = std::min(text_len, size > 0 ? size - 1 : 0);
  std::string text(reinterpret_cast<const char*>(data) + (size > 0 ? 1 : 0), text_len);
  for (auto& c : text) c = c == '\0' ? ' ' : c;
  {
    std::string err;
    auto st = ConfigStore::open(db, &err);
    check(st != nullptr && st->save(text, &err));
    *saved = *st->load(&err);
  }
  std::string bytes = read_all(db);
  const std::string original = bytes;
  for (size_t i = (size > 0 ? 1 : 0) + text_len; i + 3 <= size; i += 3) {
    size_t off = (size_t{data[i]} << 8 | data[i + 1]) % bytes.size();
    bytes[off] = static_cast<char>(data[i + 2]);
  }
  write_all(db, bytes);
  return bytes == original;
}

void write_raw(const std::string& db, bool with_journal, const uint8_t* data, size_t size) {
  std::string rest(reinterpret_cast<const char*>(data), size);
  if (!with_journal) {
    write_all(db, rest);
    return;
  }
  size_t split = rest.size() < 2 ? 0 : (size_t{data[0]} << 8 | data[1]) % (rest.size() - 1);
  rest = rest.substr(rest.size() < 2 ? rest.size() : 2);
  write_all(db, rest.substr(0, split));
  write_all(db + "-journal", rest.substr(split));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  ScratchDir dir;
  const std::string db = dir.path() + "/fwd.db";
  bool intact_ours = false;
  std::string saved;
  if ((flags & 3) >= 2) {
    intact_ours = make_patched(db, data + 1, size - 1, &saved);
  } else {
    write_raw(db, (flags & 3) == 1, data + 1, size - 1);
  }
  const auto before = snapshot(dir.path());
  OpenOptions opts;
  opts.replace_unusable = (flags & 4) != 0;
  OpenInfo info;
  std::string err;
  auto st = ConfigStore::open(db, opts, &info, &err);
  if (!st) {
    check(!err.empty());
    if (!opts.replace_unusable) check(snapshot(dir.path()) == before);
    return 0;
  }
  check(err.empty());
  if (!info.moved_aside_to.empty()) check(read_all(info.moved_aside_to) == before.at("fwd.db"));
  auto text = st->load(&err);
  check(text.has_value() || !err.empty() || !intact_ours);
  if (intact_ours) check(text.has_value() && *text == saved);
  if (text) {
    check(st->save(*text, &err));
    auto again = st->load(&err);
    check(again.has_value() && *again == *text);
  }
  return 0;
}
