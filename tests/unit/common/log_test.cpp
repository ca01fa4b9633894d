// Log lines to the systemd journal carry their priority; elsewhere they are unchanged.
#include "common/log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace fw::common {
namespace {

TEST(LogFormat, JournalPrefixesEveryLineWithItsPriority) {
  EXPECT_EQ(format_for_stream(LogLevel::kError, "bad", true), "<3>bad\n");
  EXPECT_EQ(format_for_stream(LogLevel::kWarn, "hmm", true), "<4>hmm\n");
  EXPECT_EQ(format_for_stream(LogLevel::kInfo, "ok", true), "<6>ok\n");
  EXPECT_EQ(format_for_stream(LogLevel::kDebug, "x", true), "<7>x\n");
  // A multi-line message (a configuration error with its caret) keeps its priority throughout.
  EXPECT_EQ(format_for_stream(LogLevel::kError, "a:1: line\n  ^\nError", true),
            "<3>a:1: line\n<3>  ^\n<3>Error\n");
}

TEST(LogFormat, TerminalLinesAreUnchanged) {
  EXPECT_EQ(format_for_stream(LogLevel::kError, "bad", false), "bad\n");
  EXPECT_EQ(format_for_stream(LogLevel::kError, "a\n  ^\nb", false), "a\n  ^\nb\n");
  EXPECT_EQ(format_for_stream(LogLevel::kInfo, "ends\n", false), "ends\n");
}

class JournalStream : public ::testing::Test {
 protected:
  void SetUp() override {
    f_ = std::tmpfile();
    ASSERT_NE(f_, nullptr);
    struct stat st {};
    ASSERT_EQ(fstat(fileno(f_), &st), 0);
    dev_ = std::to_string(static_cast<uintmax_t>(st.st_dev));
    ino_ = std::to_string(static_cast<uintmax_t>(st.st_ino));
  }
  void TearDown() override {
    if (f_) std::fclose(f_);
  }
  FILE* f_ = nullptr;
  std::string dev_, ino_;
};

TEST_F(JournalStream, MatchesOnlyTheNamedDeviceAndInode) {
  const int fd = fileno(f_);
  EXPECT_TRUE(is_journal_stream((dev_ + ":" + ino_).c_str(), fd));
  EXPECT_FALSE(is_journal_stream(nullptr, fd));
  EXPECT_FALSE(is_journal_stream("", fd));
  EXPECT_FALSE(is_journal_stream((dev_ + ":" + std::to_string(std::stoull(ino_) + 1)).c_str(), fd));
  EXPECT_FALSE(is_journal_stream((std::to_string(std::stoull(dev_) + 1) + ":" + ino_).c_str(), fd));
  EXPECT_FALSE(is_journal_stream((dev_ + ":" + ino_ + "x").c_str(), fd));
  EXPECT_FALSE(is_journal_stream((dev_ + ino_).c_str(), fd));
  EXPECT_FALSE(is_journal_stream((dev_ + ":" + ino_).c_str(), -1));
}

}  // namespace
}  // namespace fw::common
