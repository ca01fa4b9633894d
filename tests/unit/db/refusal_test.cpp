// Every kind of unusable file is refused with its own message and left byte-for-byte as it was,
// with no file created beside it; with replace_unusable it is moved aside intact instead.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>

#include "db/config_store.h"
#include "tests/unit/db/db_test_util.h"

namespace fw::db::testing {
namespace {

using ::testing::HasSubstr;

const std::string kText = "#\n sysname FW\nreturn\n";  // 3 lines

void ours(const std::string& path, const std::string& text = kText) {
  std::string err;
  auto st = ConfigStore::open(path, &err);
  ASSERT_TRUE(st) << err;
  if (!text.empty()) {
    ASSERT_TRUE(st->save(text, &err)) << err;
  }
}

// Ours, then changed behind the store's back with raw SQL.
std::function<void(const std::string&)> ours_then(const std::string& sql) {
  return [sql](const std::string& p) {
    ours(p);
    ASSERT_EQ(raw_sql(p, sql), "");
  };
}

std::function<void(const std::string&)> raw(const std::string& sql) {
  return [sql](const std::string& p) { ASSERT_EQ(raw_sql(p, sql), ""); };
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  if (!s.empty() && s[0] == 'S') s[0] = 'X';  // not by chance a SQLite header prefix
  return s;
}

std::function<void(const std::string&)> bytes(std::string b) {
  return [b](const std::string& p) { write_all(p, b); };
}

// Our database cut to `size` bytes (it has more than 4 pages of 4096).
std::function<void(const std::string&)> truncated(size_t size) {
  return [size](const std::string& p) {
    ours(p, sample_text(600, "t"));
    std::string all = read_all(p);
    ASSERT_GT(all.size(), 4 * 4096u);
    write_all(p, all.substr(0, std::min(size, all.size() - 1)));
  };
}

struct RefusalCase {
  std::string name;
  std::function<void(const std::string&)> make;
  std::string message;
};

void PrintTo(const RefusalCase& c, std::ostream* os) { *os << c.name; }

std::vector<RefusalCase> file_cases() {
  return {
      {"ZeroBytes", bytes(""), "is empty (0 bytes)"},
      {"TruncatedTo1", truncated(1), "is truncated: 1 bytes, shorter than the 100-byte"},
      {"TruncatedTo99", truncated(99), "is truncated: 99 bytes, shorter than the 100-byte"},
      {"TruncatedTo100", truncated(100), "is truncated or damaged: its size (100 bytes)"},
      {"TruncatedTo4095", truncated(4095), "is not a whole number of its 4096-byte pages"},
      {"TruncatedTo4096", truncated(4096), "is truncated: 4096 bytes, but its header says"},
      {"TruncatedTo12288", truncated(12288), "is truncated: 12288 bytes, but its header says"},
      {"TruncatedByOneByte", truncated(SIZE_MAX), "is not a whole number of its 4096-byte pages"},
      {"RandomBytes50", bytes(random_bytes(50, 1)), "is not a SQLite database"},
      {"RandomBytes4096", bytes(random_bytes(4096, 2)), "is not a SQLite database"},
      {"RandomBytes65536", bytes(random_bytes(65536, 3)), "is not a SQLite database"},
      {"TextFile", bytes("sysname FW\nreturn\n"), "is not a SQLite database"},
      {"HeaderThenGarbage",
       [](const std::string& p) {
         ours(p);
         std::string all = read_all(p);
         write_all(p, all.substr(0, 100) + random_bytes(all.size() - 100, 4));
       },
       "is damaged (opening it: database disk image is malformed)"},
      {"PageHeaderSmashed",
       [](const std::string& p) {
         ours(p, sample_text(600, "c"));
         std::string all = read_all(p);
         all.replace(all.size() - 4096, 8, std::string(8, '\xff'));
         write_all(p, all);
       },
       "is damaged"},
      {"WalMode", ours_then("PRAGMA journal_mode=WAL"), "is a SQLite database in WAL mode"},
      {"WalFileBeside",
       [](const std::string& p) {
         ours(p);
         write_all(p + "-wal", "x");
       },
       "has a write-ahead log file"},
      {"JournalWithoutDatabase", [](const std::string& p) { write_all(p + "-journal", "x"); },
       "does not exist, but "},
  };
}

std::vector<RefusalCase> foreign_cases() {
  return {
      {"ForeignTable", raw("CREATE TABLE users(id INTEGER, name TEXT)"),
       "is not a fwd configuration database: it has table 'users'"},
      {"EmptySqliteDatabase", raw("CREATE TABLE t(x); DROP TABLE t"),
       "is not a fwd configuration database: it has no table 'meta'"},
      {"OursPlusTable", ours_then("CREATE TABLE extra(x)"), "it has table 'extra', which fwd"},
      {"OursPlusIndex", ours_then("CREATE INDEX i ON config_lines(line)"), "it has index 'i'"},
      {"OursPlusView", ours_then("CREATE VIEW v AS SELECT 1"), "it has view 'v'"},
      {"OursPlusTrigger",
       ours_then("CREATE TRIGGER t AFTER INSERT ON meta BEGIN DELETE FROM config_lines; END"),
       "it has trigger 't'"},
      {"MetaDefinedDifferently",
       raw("CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
           "CREATE TABLE config_lines(seq INTEGER PRIMARY KEY, line TEXT NOT NULL)"),
       "its table 'meta' is not defined as fwd defines it"},
      {"NoConfigLinesTable", raw("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"),
       "it has no table 'config_lines'"},
      {"ForeignApplicationId", ours_then("PRAGMA application_id = 42"),
       "it belongs to another application (application_id 0x0000002a)"},
      {"UserVersionSet", ours_then("PRAGMA user_version = 3"), "its user_version is 3"},
      {"SchemaVersion2", ours_then("UPDATE meta SET value = '2' WHERE key = 'schema'"),
       "has schema version 2, this fwd understands only 1"},
      {"SchemaVersion2WithOtherTables",
       raw("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
           "INSERT INTO meta VALUES('schema', '2'); CREATE TABLE config2(x)"),
       "has schema version 2, this fwd understands only 1"},
  };
}

std::vector<RefusalCase> content_cases() {
  return {
      {"DigestMismatch", ours_then("UPDATE meta SET value = 'abc' WHERE key = 'digest'"),
       "holds a damaged saved configuration: the digest of its lines is "},
      {"LineChanged", ours_then("UPDATE config_lines SET line = 'x' WHERE seq = 1"),
       ", its metadata says "},
      {"LineCountTooHigh", ours_then("UPDATE meta SET value = '4' WHERE key = 'lines'"),
       "3 lines are stored, its metadata says 4"},
      {"LineCountTooLow", ours_then("UPDATE meta SET value = '2' WHERE key = 'lines'"),
       "more lines are stored than the 2 its metadata says"},
      {"RowDeleted", ours_then("DELETE FROM config_lines WHERE seq = 1"),
       "line numbers are not consecutive (expected 1, found 2)"},
      {"LineIsBlob", ours_then("UPDATE config_lines SET line = x'41' WHERE seq = 0"),
       "line 0 is a blob value, not text"},
      {"LineHoldsNewline",
       ours_then("UPDATE config_lines SET line = 'a' || char(10) || 'b' WHERE seq = 2"),
       "line 2 holds a newline or NUL byte"},
      {"UnknownMetaKey", ours_then("INSERT INTO meta VALUES('colour', 'red')"),
       "has an unknown metadata key 'colour'"},
      {"BlobMetaKey", ours_then("INSERT INTO meta VALUES(x'6c696e6573', '3')"),
       "has a metadata key that is a blob, not text"},
      {"LinesWithoutMetadata",
       [](const std::string& p) {
         ours(p, "");
         ASSERT_EQ(raw_sql(p, "INSERT INTO config_lines VALUES(0, 'x')"), "");
       },
       "holds configuration lines but no metadata describing them"},
  };
}

// Each metadata field with each kind of bad value.
std::vector<RefusalCase> meta_cases() {
  std::vector<RefusalCase> out;
  struct Bad {
    const char* tag;
    const char* sql_value;  // SQL expression
    const char* numeric_msg;
    const char* digest_msg;
  };
  const char* kHex = "is not 1 to 16 lowercase hex digits";
  const Bad bads[] = {
      {"NonNumeric", "'x1'", "is not a decimal number: 'x1'", kHex},
      {"Negative", "'-5'", "is negative: '-5'", kHex},
      {"Huge", "'99999999999999999999999'", "is out of range: '99999999999999999999999'", kHex},
      {"Fraction", "'3.5'", "is not a decimal number: '3.5'", kHex},
      {"LeadingBlank", "' 3'", "is not a decimal number: ' 3'", kHex},
      {"Empty", "''", "is empty", kHex},
      {"WrongTypeBlob", "x'33'", "is a blob value, not text", "is a blob value, not text"},
  };
  for (const char* key : {"schema", "lines", "digest", "saved_at"}) {
    std::string k = key;
    std::string camel = k == "saved_at" ? "SavedAt" : std::string(1, char(k[0] - 32)) + k.substr(1);
    for (const auto& b : bads) {
      std::string msg = "metadata '" + k + "' " + (k == "digest" ? b.digest_msg : b.numeric_msg);
      out.push_back({camel + b.tag,
                     ours_then("UPDATE meta SET value = " + std::string(b.sql_value) +
                               " WHERE key = '" + k + "'"),
                     msg});
    }
    out.push_back({camel + "Missing", ours_then("DELETE FROM meta WHERE key = '" + k + "'"),
                   "metadata '" + k + "' is missing"});
  }
  out.push_back({"LinesOverLimit",
                 ours_then("UPDATE meta SET value = '10000001' WHERE key='lines'"),
                 "metadata 'lines' is out of range: '10000001' (at most 10000000)"});
  out.push_back({"SavedAtBeyond9999",
                 ours_then("UPDATE meta SET value = '253402300800' WHERE key = 'saved_at'"),
                 "metadata 'saved_at' is out of range"});
  out.push_back({"DigestTooLong",
                 ours_then("UPDATE meta SET value = '1234567890abcdef0' WHERE key = 'digest'"),
                 "metadata 'digest' is not 1 to 16 lowercase hex digits"});
  out.push_back({"DigestUppercase", ours_then("UPDATE meta SET value = 'ABC' WHERE key = 'digest'"),
                 "metadata 'digest' is not 1 to 16 lowercase hex digits: 'ABC'"});
  return out;
}

std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& n : list_dir(dir)) out[n] = read_all(dir + "/" + n);
  return out;
}

class Refusal : public DbTest, public ::testing::WithParamInterface<RefusalCase> {};

TEST_P(Refusal, IsRefusedWithItsReasonAndLeftAsItWas) {
  GetParam().make(path_);
  auto before = snapshot(dir_);
  ASSERT_FALSE(before.empty());
  std::string err;
  OpenInfo info;
  auto st = ConfigStore::open(path_, OpenOptions{}, &info, &err);
  EXPECT_FALSE(st);
  EXPECT_THAT(err, HasSubstr("database " + path_ + " "));
  EXPECT_THAT(err, HasSubstr(GetParam().message));
  EXPECT_THAT(err, HasSubstr("the file was left untouched"));
  EXPECT_TRUE(info.unusable);
  EXPECT_FALSE(info.created);
  // Same files, same bytes: nothing modified, no journal or other side file left.
  EXPECT_EQ(snapshot(dir_), before);
}

TEST_P(Refusal, ReplaceUnusableMovesItAsideIntactAndStartsEmpty) {
  GetParam().make(path_);
  auto before = snapshot(dir_);
  std::string err;
  OpenInfo info;
  OpenOptions opts;
  opts.replace_unusable = true;
  auto st = ConfigStore::open(path_, opts, &info, &err);
  ASSERT_TRUE(st) << err;
  ASSERT_FALSE(info.moved_aside_to.empty());
  EXPECT_THAT(info.moved_aside_to, HasSubstr(path_ + ".unusable-"));
  EXPECT_TRUE(info.created);
  ASSERT_FALSE(info.notes.empty());
  EXPECT_THAT(info.notes[0], HasSubstr(GetParam().message));
  EXPECT_THAT(info.notes[0], HasSubstr("moved it"));
  EXPECT_THAT(info.notes[0], HasSubstr(info.moved_aside_to));
  // Every file that was there is now under the new name, byte for byte.
  const std::string base = "fwd.db";
  const std::string moved_base = info.moved_aside_to.substr(dir_.size() + 1);
  for (const auto& [name, content] : before) {
    std::string moved = dir_ + "/" + moved_base + name.substr(base.size());
    ASSERT_TRUE(exists(moved)) << moved;
    EXPECT_EQ(read_all(moved), content) << moved;
  }
  auto text = st->load(&err);
  EXPECT_FALSE(text.has_value());
  EXPECT_EQ(err, "");
  ASSERT_TRUE(st->save(kText, &err)) << err;
  EXPECT_EQ(st->load(&err).value_or(""), kText) << err;
}

auto case_name = [](const ::testing::TestParamInfo<RefusalCase>& i) { return i.param.name; };

INSTANTIATE_TEST_SUITE_P(File, Refusal, ::testing::ValuesIn(file_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Foreign, Refusal, ::testing::ValuesIn(foreign_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Content, Refusal, ::testing::ValuesIn(content_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Meta, Refusal, ::testing::ValuesIn(meta_cases()), case_name);

}  // namespace
}  // namespace fw::db::testing
