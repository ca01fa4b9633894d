#include "db/config_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace fw::db {
namespace {

std::string tmp_path(const char* tag) {
  return "/tmp/fw_db_test_" + std::string(tag) + "_" + std::to_string(getpid()) + ".db";
}

TEST(ConfigStore, FreshDatabaseHasNothingSaved) {
  auto p = tmp_path("fresh");
  std::remove(p.c_str());
  std::string err;
  auto st = ConfigStore::open(p, &err);
  ASSERT_TRUE(st) << err;
  EXPECT_FALSE(st->load(&err).has_value());
  EXPECT_TRUE(err.empty());
  std::remove(p.c_str());
}

TEST(ConfigStore, SaveLoadRoundTripSurvivesReopen) {
  auto p = tmp_path("rt");
  std::remove(p.c_str());
  const std::string text =
      "#\n sysname FW\n#\nfirewall zone trust\n add interface in0\n#\nreturn\n";
  {
    std::string err;
    auto st = ConfigStore::open(p, &err);
    ASSERT_TRUE(st) << err;
    ASSERT_TRUE(st->save("old\n", &err)) << err;
    ASSERT_TRUE(st->save(text, &err)) << err;
  }
  std::string err;
  auto st = ConfigStore::open(p, &err);
  ASSERT_TRUE(st) << err;
  auto got = st->load(&err);
  ASSERT_TRUE(got.has_value()) << err;
  EXPECT_EQ(*got, text);
  std::remove(p.c_str());
}

TEST(ConfigStore, GarbageFileIsAClearError) {
  auto p = tmp_path("garbage");
  {
    std::ofstream f(p, std::ios::binary);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>(i * 7 + 3));
  }
  std::string err;
  auto st = ConfigStore::open(p, &err);
  EXPECT_FALSE(st);
  EXPECT_NE(err.find(p), std::string::npos) << err;
  std::remove(p.c_str());
}

TEST(ConfigStore, DirectoryInsteadOfFileIsAnError) {
  std::string err;
  auto st = ConfigStore::open("/tmp", &err);
  EXPECT_FALSE(st);
  EXPECT_FALSE(err.empty());
}

TEST(ConfigStore, TamperedRowsAreDetected) {
  auto p = tmp_path("tamper");
  std::remove(p.c_str());
  std::string err;
  {
    auto st = ConfigStore::open(p, &err);
    ASSERT_TRUE(st) << err;
    ASSERT_TRUE(st->save("a\nb\nc\n", &err)) << err;
  }
  // Delete one row behind the store's back.
  {
    auto st = ConfigStore::open(p, &err);
    ASSERT_TRUE(st);
  }
  std::string cmd = "sqlite3 " + p + " 'DELETE FROM config_lines WHERE seq=1' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "sqlite3 CLI not available";
  // Damage is found when the file is opened (it is refused there, untouched), not first at load.
  auto st = ConfigStore::open(p, &err);
  EXPECT_FALSE(st);
  EXPECT_NE(err.find("damaged"), std::string::npos) << err;
  std::remove(p.c_str());
}

}  // namespace
}  // namespace fw::db
