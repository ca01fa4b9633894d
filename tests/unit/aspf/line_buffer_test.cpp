// aspf/line_buffer: line reassembly by TCP sequence number.
#include "aspf/line_buffer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fw::aspf {
namespace {

struct Seg {
  uint32_t off;  // relative to the start sequence number
  std::string data;
};
struct Want {
  uint32_t off;
  std::string text;
  size_t wire_len;
};
struct Case {
  const char* name;
  uint32_t isn;  // first payload byte
  size_t max_line;
  std::vector<Seg> segs;
  std::vector<Want> lines;
  uint64_t desyncs = 0;
  uint64_t overlong = 0;
  uint32_t next_off = 0;  // expected next_seq() - isn at the end
};

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void run(const Case& c) {
  SCOPED_TRACE(c.name);
  LineBuffer lb(c.max_line);
  lb.start(c.isn);
  EXPECT_TRUE(lb.started());
  std::vector<Line> got;
  for (const Seg& s : c.segs) {
    for (Line& l : lb.feed(c.isn + s.off, bytes(s.data))) got.push_back(std::move(l));
  }
  ASSERT_EQ(got.size(), c.lines.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].text, c.lines[i].text) << i;
    EXPECT_EQ(got[i].seq, c.isn + c.lines[i].off) << i;
    EXPECT_EQ(got[i].wire_len, c.lines[i].wire_len) << i;
  }
  EXPECT_EQ(lb.desyncs(), c.desyncs);
  EXPECT_EQ(lb.overlong(), c.overlong);
  EXPECT_EQ(lb.next_seq(), c.isn + c.next_off);
}

const std::string kPort = "PORT 1,2,3,4,5,6\r\n";  // 18 bytes

TEST(LineBuffer, Table) {
  const std::vector<Case> cases = {
      {"one command", 1000, 1024, {{0, kPort}}, {{0, "PORT 1,2,3,4,5,6", 18}}, 0, 0, 18},
      {"split in two",
       1000,
       1024,
       {{0, "PORT 1,2,"}, {9, "3,4,5,6\r\n"}},
       {{0, "PORT 1,2,3,4,5,6", 18}},
       0,
       0,
       18},
      {"split in three, CR and LF apart",
       1000,
       1024,
       {{0, "PO"}, {2, "RT 1,2,3,4,5,6\r"}, {17, "\n"}},
       {{0, "PORT 1,2,3,4,5,6", 18}},
       0,
       0,
       18},
      {"two commands in one segment",
       1000,
       1024,
       {{0, "USER a\r\nPASS b\r\n"}},
       {{0, "USER a", 8}, {8, "PASS b", 8}},
       0,
       0,
       16},
      {"command end and next start in one segment",
       1000,
       1024,
       {{0, "USER a\r\nPO"}, {10, "RT 1,2,3,4,5,6\r\n"}},
       {{0, "USER a", 8}, {8, "PORT 1,2,3,4,5,6", 18}},
       0,
       0,
       26},
      {"retransmission of a whole old segment",
       1000,
       1024,
       {{0, "USER a\r\n"}, {0, "USER a\r\n"}, {8, "PASS b\r\n"}, {0, "USER a\r\n"}},
       {{0, "USER a", 8}, {8, "PASS b", 8}},
       0,
       0,
       16},
      {"retransmission of a partial line",
       1000,
       1024,
       {{0, "PORT 1,"}, {0, "PORT 1,"}, {7, "2,3,4,5,6\r\n"}, {7, "2,3,4,5,6\r\n"}},
       {{0, "PORT 1,2,3,4,5,6", 18}},
       0,
       0,
       18},
      {"partial overlap uses the new tail",
       1000,
       1024,
       {{0, "USER a\r\nPA"}, {8, "PASS b\r\n"}},
       {{0, "USER a", 8}, {8, "PASS b", 8}},
       0,
       0,
       16},
      {"overlap with different bytes: first copy wins",
       1000,
       1024,
       {{0, "PORT 1,2,"}, {5, "9,9,9,9,9,9\r\n"}},
       {{0, "PORT 1,2,9,9,9,9", 18}},
       0,
       0,
       18},
      {"segment covering old and new lines",
       1000,
       1024,
       {{0, "USER a\r\n"}, {0, "USER a\r\nPASS b\r\n"}},
       {{0, "USER a", 8}, {8, "PASS b", 8}},
       0,
       0,
       16},
      {"gap desyncs until the next LF",
       1000,
       1024,
       {{0, "USER a\r\n"}, {20, "RT 1,2,3,4,5,6\r\nNOOP\r\n"}},
       {{0, "USER a", 8}, {36, "NOOP", 6}},
       1,
       0,
       42},
      {"gap in the middle of a line drops it",
       1000,
       1024,
       {{0, "PORT 1,2,"}, {12, "4,5,6\r\nNOOP\r\n"}},
       {{19, "NOOP", 6}},
       1,
       0,
       25},
      {"late segment that filled the gap is ignored",
       1000,
       1024,
       {{0, "A\r\n"}, {10, "x\r\nB\r\n"}, {3, "PORT 1\n"}},
       {{0, "A", 3}, {13, "B", 3}},
       1,
       0,
       16},
      {"gap right at a line boundary still desyncs",
       1000,
       1024,
       {{0, "A\r\n"}, {5, "B\r\nC\r\n"}},
       {{0, "A", 3}, {8, "C", 3}},
       1,
       0,
       11},
      {"over-long line dropped, resync at LF",
       1000,
       16,
       {{0, std::string(20, 'A') + "\r\nNOOP\r\n"}},
       {{22, "NOOP", 6}},
       0,
       1,
       28},
      {"over-long line across segments",
       1000,
       16,
       {{0, std::string(10, 'A')},
        {10, std::string(10, 'A')},
        {20, "PORT 1,2,3,4,5,6\r\nNOOP\r\n"}},
       {{38, "NOOP", 6}},
       0,
       1,
       44},
      {"exactly max bytes with CR LF is kept",
       1000,
       16,
       {{0, "PORT 1,2,3,4,5,6\r\n"}},
       {{0, "PORT 1,2,3,4,5,6", 18}},
       0,
       0,
       18},
      {"exactly max bytes with bare LF is kept",
       1000,
       16,
       {{0, "PORT 1,2,3,4,5,6"}, {16, "\n"}},
       {{0, "PORT 1,2,3,4,5,6", 17}},
       0,
       0,
       17},
      {"max + 1 is dropped", 1000, 16, {{0, "PORT 11,2,3,4,5,6\r\nA\n"}}, {{19, "A", 2}}, 0, 1, 21},
      {"max + 1 without CR, LF in the next segment",
       1000,
       16,
       {{0, "PORT 11,2,3,4,5,6"}, {17, "\nA\n"}},
       {{18, "A", 2}},
       0,
       1,
       20},
      {"bare LF terminates",
       1000,
       1024,
       {{0, "USER a\nPASS b\n"}},
       {{0, "USER a", 7}, {7, "PASS b", 7}},
       0,
       0,
       14},
      {"only one CR is stripped, inner CR kept",
       1000,
       1024,
       {{0, "A\rB\r\r\n"}},
       {{0, "A\rB\r", 6}},
       0,
       0,
       6},
      {"empty lines are reported", 1000, 1024, {{0, "\r\n\n"}}, {{0, "", 2}, {2, "", 1}}, 0, 0, 3},
      {"NUL and high bytes pass through",
       1000,
       1024,
       {{0, std::string("A\0\xff\r\n", 5)}},
       {{0, std::string("A\0\xff", 3), 5}},
       0,
       0,
       5},
      {"no LF: nothing yet", 1000, 1024, {{0, "PORT 1,2,3,4,5,6"}}, {}, 0, 0, 16},
      {"empty segment", 1000, 1024, {{0, ""}, {0, "A\n"}, {2, ""}}, {{0, "A", 2}}, 0, 0, 2},
      {"wrap-around inside a line",
       0xfffffff8u,
       1024,
       {{0, "PORT 1,2,3"}, {10, ",4,5,6\r\nNOOP\r\n"}},
       {{0, "PORT 1,2,3,4,5,6", 18}, {18, "NOOP", 6}},
       0,
       0,
       24},
      {"wrap-around retransmission and overlap",
       0xfffffff0u,
       1024,
       {{0, "USER anonymous\r\n"},
        {0, "USER anonymous\r\n"},
        {14, "\r\nPASS x\r\n"},
        {16, "PASS x\r\n"}},
       {{0, "USER anonymous", 16}, {16, "PASS x", 8}},
       0,
       0,
       24},
      {"line starting exactly at 0",
       0xfffffffau,
       1024,
       {{0, "NOOP\r\n"}, {6, "QUIT\r\n"}},
       {{0, "NOOP", 6}, {6, "QUIT", 6}},
       0,
       0,
       12},
      {"gap across the wrap",
       0xfffffffau,
       1024,
       {{0, "A\n"}, {10, "zz\nB\n"}},
       {{0, "A", 2}, {13, "B", 2}},
       1,
       0,
       15},
      {"garbage far ahead is ignored",
       1000,
       1024,
       {{0, "A\n"}, {0x50000000u, "\nPORT 1,2,3,4,5,6\r\n"}, {2, "B\n"}},
       {{0, "A", 2}, {2, "B", 2}},
       0,
       0,
       4},
      {"garbage far behind is ignored",
       1000,
       1024,
       {{0, "A\n"}, {0xc0000000u, "\nPORT 1,2,3,4,5,6\r\n"}, {2, "B\n"}},
       {{0, "A", 2}, {2, "B", 2}},
       0,
       0,
       4},
  };
  for (const Case& c : cases) run(c);
}

TEST(LineBuffer, NotStartedBeginsDesynchronised) {
  LineBuffer lb;
  EXPECT_FALSE(lb.started());
  std::string s = "RT 1,2,3,4,5,6\r\nNOOP\r\n";
  auto lines = lb.feed(500, bytes(s));
  EXPECT_TRUE(lb.started());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "NOOP");
  EXPECT_EQ(lines[0].seq, 516u);
  EXPECT_EQ(lb.desyncs(), 1u);
  EXPECT_EQ(lb.next_seq(), 522u);
}

TEST(LineBuffer, StartResets) {
  LineBuffer lb;
  lb.start(10);
  EXPECT_TRUE(lb.feed(10, bytes("PORT 1,2,")).empty());
  lb.start(100);  // a new stream: nothing pending survives
  auto lines = lb.feed(100, bytes("3,4\r\n"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "3,4");
}

TEST(LineBuffer, MemoryStaysBoundedWithoutLf) {
  // 1 MB without a LF, fed in 1000-byte segments: one overlong, nothing reported.
  LineBuffer lb(64);
  lb.start(0);
  std::string chunk(1000, 'x');
  for (uint32_t i = 0; i < 1000; ++i) EXPECT_TRUE(lb.feed(i * 1000, bytes(chunk)).empty());
  EXPECT_EQ(lb.overlong(), 1u);
  auto lines = lb.feed(1000000, bytes("\nNOOP\n"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "NOOP");
}

TEST(LineBuffer, EveryByteAloneGivesTheSameLines) {
  const std::string stream = "USER a\r\nPORT 10,0,0,1,4,1\r\n\nEPRT |1|1.2.3.4|5|\nQUIT\r\n";
  LineBuffer whole, bytewise;
  whole.start(0xfffffff0u);
  bytewise.start(0xfffffff0u);
  auto a = whole.feed(0xfffffff0u, bytes(stream));
  std::vector<Line> b;
  for (size_t i = 0; i < stream.size(); ++i) {
    std::string one(1, stream[i]);
    // Each byte twice: the copy is a retransmission.
    for (int k = 0; k < 2; ++k) {
      for (Line& l : bytewise.feed(0xfffffff0u + static_cast<uint32_t>(i), bytes(one))) {
        b.push_back(std::move(l));
      }
    }
  }
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_EQ(a[i].seq, b[i].seq);
    EXPECT_EQ(a[i].wire_len, b[i].wire_len);
  }
}

}  // namespace
}  // namespace fw::aspf
