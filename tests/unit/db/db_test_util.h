#pragma once
// Helpers shared by the db tests: a private directory per test, whole-file snapshots, and raw
// SQLite access to build files the store itself would never write.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "db/config_store.h"

namespace fw::db::testing {

inline std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

inline std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Runs SQL on `path` with a plain connection (creating the file if needed); "" on success.
inline std::string raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string err;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    err = db ? sqlite3_errmsg(db) : "cannot open";
  } else {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK)
      err = msg ? msg : "error";
    sqlite3_free(msg);
  }
  sqlite3_close(db);
  return err;
}

// A configuration text of `n` lines, distinct per `tag`.
inline std::string sample_text(int n, const std::string& tag) {
  std::string t;
  for (int i = 0; i < n; ++i)
    t += (i % 7 == 0 ? "#" : " rule name " + tag + "-" + std::to_string(i) + " action permit") +
         std::string("\n");
  return t;
}

class DbTest : public ::testing::Test {
 protected:
  // tmpfs where there is one: the many fsyncs of a test run cost nothing there.
  virtual std::string base_dir() const { return exists("/dev/shm") ? "/dev/shm" : "/tmp"; }
  void SetUp() override {
    std::string tmpl = base_dir() + "/fw_db_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/fwd.db";
  }
  void TearDown() override {
    for (const auto& n : list_dir(dir_)) ::unlink((dir_ + "/" + n).c_str());
    ::rmdir(dir_.c_str());
  }
  // Our database at path_ holding `text` (nothing saved if empty).
  void make_ours(const std::string& text) {
    std::string err;
    auto st = ConfigStore::open(path_, &err);
    ASSERT_TRUE(st) << err;
    if (!text.empty()) {
      ASSERT_TRUE(st->save(text, &err)) << err;
    }
  }

  std::string dir_;
  std::string path_;
};

}  // namespace fw::db::testing
