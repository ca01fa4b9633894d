// Saves interrupted by a crash (hot journals), creation and replacement of the file, files
// written by earlier fwd versions, and kill -9 in the middle of save().
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <iomanip>
#include <map>
#include <random>

#include "db/config_store.h"
#include "tests/unit/db/db_test_util.h"

namespace fw::db::testing {
namespace {

using ::testing::HasSubstr;

const std::string kText = "#\n sysname FW\n#\nfirewall zone trust\n add interface in0\nreturn\n";

std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& n : list_dir(dir)) out[n] = read_all(dir + "/" + n);
  return out;
}

// The fwd-db-* directories in the temporary directory (recovery works in one of them).
std::vector<std::string> recovery_dirs() {
  std::vector<std::string> out;
  for (const auto& n : list_dir(std::filesystem::temp_directory_path().string())) {
    if (n.rfind("fwd-db-", 0) == 0) out.push_back(n);
  }
  return out;
}

// A child process starts a write transaction, runs `sql`, writes its changed pages into the
// database file and dies without committing: the file is left half-changed with a hot journal.
void leave_hot_journal(const std::string& path, const std::string& sql) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) ::_exit(1);
    if (sqlite3_exec(db, ("BEGIN IMMEDIATE;" + sql).c_str(), nullptr, nullptr, nullptr) != 0)
      ::_exit(2);
    if (sqlite3_db_cacheflush(db) != SQLITE_OK) ::_exit(3);
    ::_exit(0);  // no COMMIT, no ROLLBACK, no close
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_TRUE(exists(path + "-journal"));
}

const char* const kHalfSave =
    "DELETE FROM config_lines;"
    "INSERT INTO config_lines VALUES(0, 'half');"
    "UPDATE meta SET value = '1' WHERE key = 'lines';";

TEST_F(DbTest, HotJournalOfAnInterruptedSaveIsRolledBack) {
  make_ours(kText + sample_text(600, "big"));
  leave_hot_journal(path_, kHalfSave);
  // Without its journal the file is not usable: the rollback is what brings the save back.
  {
    std::string lone = dir_ + "/lone.db";
    write_all(lone, read_all(path_));
    std::string err;
    EXPECT_FALSE(ConfigStore::open(lone, &err));
    EXPECT_THAT(err, HasSubstr("lone.db"));
    ::unlink(lone.c_str());
  }
  auto tmp_before = recovery_dirs();
  std::string err;
  OpenInfo info;
  auto st = ConfigStore::open(path_, OpenOptions{}, &info, &err);
  ASSERT_TRUE(st) << err;
  EXPECT_TRUE(info.recovered);
  EXPECT_FALSE(info.created);
  ASSERT_EQ(info.notes.size(), 1u);
  EXPECT_THAT(info.notes[0], HasSubstr("rolled back a save interrupted by a crash"));
  EXPECT_EQ(st->load(&err).value_or(""), kText + sample_text(600, "big")) << err;
  EXPECT_FALSE(exists(path_ + "-journal"));
  EXPECT_EQ(list_dir(dir_), std::vector<std::string>{"fwd.db"});
  EXPECT_EQ(recovery_dirs(), tmp_before);  // the private copy is gone
}

struct HotCase {
  std::string name;
  std::string setup_sql;  // run on our database (empty: a foreign database instead)
  std::string message;
};

class HotJournalRefusal : public DbTest, public ::testing::WithParamInterface<HotCase> {};

TEST_P(HotJournalRefusal, RollbackThatGivesAnUnusableFileIsRefusedUntouched) {
  const auto& c = GetParam();
  if (c.setup_sql.empty()) {
    ASSERT_EQ(raw_sql(path_, "CREATE TABLE users(x); INSERT INTO users VALUES(1)"), "");
    leave_hot_journal(path_, "DELETE FROM users; INSERT INTO users VALUES(zeroblob(20000))");
  } else {
    make_ours(kText);
    ASSERT_EQ(raw_sql(path_, c.setup_sql), "");
    leave_hot_journal(path_, kHalfSave);
  }
  auto before = snapshot(dir_);
  std::string err;
  OpenInfo info;
  EXPECT_FALSE(ConfigStore::open(path_, OpenOptions{}, &info, &err));
  EXPECT_THAT(err, HasSubstr("database " + path_ + " has an interrupted save (" + path_ +
                             "-journal) which, rolled back, " + c.message));
  EXPECT_TRUE(info.unusable);
  EXPECT_EQ(snapshot(dir_), before);

  // Moved aside, the file keeps its journal: SQLite can still roll the pair back.
  OpenOptions opts;
  opts.replace_unusable = true;
  auto st = ConfigStore::open(path_, opts, &info, &err);
  ASSERT_TRUE(st) << err;
  EXPECT_EQ(read_all(info.moved_aside_to), before["fwd.db"]);
  EXPECT_EQ(read_all(info.moved_aside_to + "-journal"), before["fwd.db-journal"]);
  EXPECT_FALSE(exists(path_ + "-journal"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HotJournalRefusal,
    ::testing::Values(HotCase{"Foreign", "", "is not a fwd configuration database"},
                      HotCase{"DamagedBefore", "UPDATE meta SET value = 'abc' WHERE key='digest'",
                              "holds a damaged saved configuration"},
                      HotCase{"OtherSchemaBefore", "UPDATE meta SET value = '9' WHERE key='schema'",
                              "has schema version 9"}),
    [](const auto& i) { return i.param.name; });

TEST_F(DbTest, JournalThatIsNotHotIsLeftToSqlite) {
  make_ours(kText);
  write_all(path_ + "-journal", std::string(512, '\0'));  // zeroed header: nothing to roll back
  std::string err;
  OpenInfo info;
  auto st = ConfigStore::open(path_, OpenOptions{}, &info, &err);
  ASSERT_TRUE(st) << err;
  EXPECT_FALSE(info.recovered);
  EXPECT_EQ(st->load(&err).value_or(""), kText) << err;
  ASSERT_TRUE(st->save("return\n", &err)) << err;
  EXPECT_FALSE(exists(path_ + "-journal"));
}

TEST_F(DbTest, CreatesOnlyWhereNoFileExists) {
  std::string err;
  OpenInfo info;
  auto st = ConfigStore::open(path_, OpenOptions{}, &info, &err);
  ASSERT_TRUE(st) << err;
  EXPECT_TRUE(info.created);
  ASSERT_EQ(info.notes.size(), 1u);
  EXPECT_THAT(info.notes[0], HasSubstr(path_ + " did not exist: created a new, empty one"));
  EXPECT_EQ(list_dir(dir_), std::vector<std::string>{"fwd.db"});  // no staging file left
  EXPECT_FALSE(st->load(&err).has_value());
  EXPECT_EQ(err, "");
  st.reset();
  st = ConfigStore::open(path_, OpenOptions{}, &info, &err);
  ASSERT_TRUE(st) << err;
  EXPECT_FALSE(info.created);
  EXPECT_TRUE(info.notes.empty());
}

TEST_F(DbTest, MissingFileWithoutCreateIsRefused) {
  std::string err;
  OpenInfo info;
  OpenOptions opts;
  opts.create_if_missing = false;
  EXPECT_FALSE(ConfigStore::open(path_, opts, &info, &err));
  EXPECT_EQ(err, "database " + path_ + " does not exist");
  EXPECT_TRUE(list_dir(dir_).empty());
}

TEST_F(DbTest, MissingDirectoryIsAnErrorNotACrash) {
  std::string err;
  EXPECT_FALSE(ConfigStore::open(dir_ + "/no/such/dir/fwd.db", &err));
  EXPECT_THAT(err, HasSubstr("cannot be created: No such file or directory"));
}

TEST_F(DbTest, DirectoryIsNeverMovedAside) {
  ASSERT_EQ(::mkdir(path_.c_str(), 0700), 0);
  std::string err;
  OpenInfo info;
  OpenOptions opts;
  opts.replace_unusable = true;
  EXPECT_FALSE(ConfigStore::open(path_, opts, &info, &err));
  EXPECT_EQ(err, "database " + path_ + " is a directory, not a database file");
  EXPECT_FALSE(info.unusable);
  EXPECT_EQ(list_dir(dir_), std::vector<std::string>{"fwd.db"});
  ::rmdir(path_.c_str());
}

TEST_F(DbTest, EachReplacementGetsItsOwnName) {
  OpenOptions opts;
  opts.replace_unusable = true;
  std::vector<std::string> moved;
  for (int i = 0; i < 3; ++i) {
    write_all(path_, "garbage " + std::to_string(i));
    std::string err;
    OpenInfo info;
    ASSERT_TRUE(ConfigStore::open(path_, opts, &info, &err)) << err;
    moved.push_back(info.moved_aside_to);
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(read_all(moved[i]), "garbage " + std::to_string(i));
  EXPECT_NE(moved[0], moved[1]);
  EXPECT_NE(moved[1], moved[2]);
  EXPECT_EQ(list_dir(dir_).size(), 4u);
}

TEST_F(DbTest, OpeningAGoodFileDoesNotChangeIt) {
  make_ours(kText);
  auto before = snapshot(dir_);
  {
    std::string err;
    auto st = ConfigStore::open(path_, &err);
    ASSERT_TRUE(st) << err;
    EXPECT_EQ(st->load(&err).value_or(""), kText) << err;
  }
  EXPECT_EQ(snapshot(dir_), before);
}

TEST_F(DbTest, NewDatabaseCarriesOurApplicationId) {
  make_ours("");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(s, 0), 0x46574443);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

// The format as the first fwd wrote it: tables made by CREATE TABLE IF NOT EXISTS at every open,
// no application_id, no metadata until the first save, digest as unpadded std::hex.
std::string legacy_digest(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::ostringstream os;
  os << std::hex << h;
  return os.str();
}

TEST_F(DbTest, DatabaseOfTheFirstFwdIsAccepted) {
  ASSERT_EQ(raw_sql(path_,
                    "PRAGMA journal_mode=DELETE;"
                    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                    "CREATE TABLE IF NOT EXISTS config_lines(seq INTEGER PRIMARY KEY, line TEXT "
                    "NOT NULL);"),
            "");
  std::string err;
  {
    auto st = ConfigStore::open(path_, &err);
    ASSERT_TRUE(st) << err;
    EXPECT_FALSE(st->load(&err).has_value());
    EXPECT_EQ(err, "");
  }
  ASSERT_EQ(raw_sql(path_,
                    "INSERT INTO config_lines VALUES(0, 'sysname FW');"
                    "INSERT INTO config_lines VALUES(1, 'return');"
                    "INSERT INTO meta VALUES('schema', '1'), ('lines', '2'),"
                    "('digest', '" +
                        legacy_digest("sysname FW\nreturn\n") + "'), ('saved_at', '1764000000');"),
            "");
  auto st = ConfigStore::open(path_, &err);
  ASSERT_TRUE(st) << err;
  EXPECT_EQ(st->load(&err).value_or(""), "sysname FW\nreturn\n") << err;
}

TEST_F(DbTest, SaveKeepsBlankLinesAndEndsTheLastLine) {
  make_ours("");
  std::string err;
  auto st = ConfigStore::open(path_, &err);
  ASSERT_TRUE(st) << err;
  ASSERT_TRUE(st->save("a\n\n  b\n\nc", &err)) << err;
  EXPECT_EQ(st->load(&err).value_or("?"), "a\n\n  b\n\nc\n") << err;
  ASSERT_TRUE(st->save("", &err)) << err;
  EXPECT_EQ(st->load(&err).value_or("?"), "") << err;
}

TEST_F(DbTest, SaveRefusesANulByteAndKeepsThePreviousConfiguration) {
  make_ours(kText);
  std::string err;
  auto st = ConfigStore::open(path_, &err);
  ASSERT_TRUE(st) << err;
  EXPECT_FALSE(st->save(std::string("a\0b\n", 4), &err));
  EXPECT_THAT(err, HasSubstr("NUL byte"));
  EXPECT_EQ(st->load(&err).value_or(""), kText) << err;
}

TEST_F(DbTest, LoadDetectsAChangeMadeWhileOpen) {
  make_ours(kText);
  std::string err;
  auto st = ConfigStore::open(path_, &err);
  ASSERT_TRUE(st) << err;
  ASSERT_EQ(raw_sql(path_, "UPDATE meta SET value = 'zz' WHERE key = 'lines'"), "");
  EXPECT_FALSE(st->load(&err).has_value());
  EXPECT_EQ(err, "database " + path_ + " metadata 'lines' is not a decimal number: 'zz'");
}

// On a disk file system, where a save takes long enough (fsyncs) for kills to land inside it.
class DiskDbTest : public DbTest {
  std::string base_dir() const override { return "/tmp"; }
};

// Waits (at most 2 s) until the journal of `path` carries its magic: SQLite writes it once the
// journal is synced, just before it changes the database file, and deletes the journal to commit.
// A kill then lands in the window where only the journal can bring the previous save back.
void wait_for_hot_journal(const std::string& path) {
  const std::string magic("\xd9\xd5\x05\xf9\x20\xa1\x63\xd7", 8);
  for (int i = 0; i < 40000; ++i) {
    std::ifstream j(path + "-journal", std::ios::binary);
    char head[8] = {};
    if (j.read(head, sizeof head) && std::string(head, sizeof head) == magic) return;
    ::usleep(50);
  }
}

// kill -9 at a random moment (even rounds) or in the commit window (odd rounds) of a child saving
// in a loop: what the next start finds is the previous or the new configuration, complete, never a
// damaged file.
TEST_F(DiskDbTest, SaveKilledMidwayLeavesACompleteConfiguration) {
  const std::string a = sample_text(4000, "a");
  const std::string b = sample_text(3000, "b");
  make_ours(a);
  std::mt19937 rng(20261128);
  int recovered = 0, got_a = 0, got_b = 0;
  const int kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::string err;
      auto st = ConfigStore::open(path_, &err);
      if (!st || ::write(ready[1], "r", 1) != 1) ::_exit(2);
      for (;;) {
        if (!st->save(b, &err) || !st->save(a, &err)) ::_exit(3);
      }
    }
    ::close(ready[1]);
    char c = 0;
    ssize_t n = ::read(ready[0], &c, 1);  // the child is saving from now on
    ::close(ready[0]);
    if (n == 1 && round % 2 == 0) ::usleep(rng() % 30000);
    if (n == 1 && round % 2 == 1) wait_for_hot_journal(path_);
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(n == 1 && WIFSIGNALED(status)) << "round " << round << ": child exited " << status;
    std::string err;
    OpenInfo info;
    auto st = ConfigStore::open(path_, OpenOptions{}, &info, &err);
    ASSERT_TRUE(st) << "round " << round << ": " << err;
    auto text = st->load(&err);
    ASSERT_TRUE(text.has_value()) << "round " << round << ": " << err;
    ASSERT_TRUE(*text == a || *text == b) << "round " << round;
    recovered += info.recovered;
    got_a += *text == a;
    got_b += *text == b;
  }
  std::printf("[ stats    ] %d rounds: %d interrupted saves rolled back, %d x A, %d x B\n", kRounds,
              recovered, got_a, got_b);
  // Kills in the commit window (half the rounds) leave hot journals: the rollback path did run.
  EXPECT_GE(recovered, 5);
}

}  // namespace
}  // namespace fw::db::testing
