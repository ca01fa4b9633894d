// aspf/message_framer: header block + Content-Length framing by TCP sequence number.
#include "aspf/message_framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fw::aspf {
namespace {

constexpr uint32_t kIsn = 0xfffffff0;  // wraps inside the tests

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Got {
  uint32_t off;      // relative to kIsn
  std::string text;  // "" = unframed
};

std::vector<Got> feed(MessageFramer& f, uint32_t off, const std::string& s) {
  std::vector<Got> v;
  for (auto& m : f.feed(kIsn + off, bytes(s))) {
    v.push_back({m.seq - kIsn, std::string(m.bytes.begin(), m.bytes.end())});
  }
  return v;
}

void expect(const std::vector<Got>& got, const std::vector<Got>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].off, want[i].off) << i;
    EXPECT_EQ(got[i].text, want[i].text) << i;
  }
}

const std::string kOptions = "OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\n\r\n";
const std::string kReply = "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 10\r\n\r\nv=0\r\no=- 1";

TEST(MessageFramer, OneMessagePerSegment) {
  MessageFramer f;
  f.start(kIsn);
  expect(feed(f, 0, kOptions), {{0, kOptions}});
  expect(feed(f, kOptions.size(), kReply), {{uint32_t(kOptions.size()), kReply}});
  EXPECT_EQ(f.next_seq(), uint32_t(kIsn + kOptions.size() + kReply.size()));
  EXPECT_EQ(f.unframed(), 0u);
}

// Every way of splitting two messages (one with a body) into two segments
// gives the same two messages, each once.
TEST(MessageFramer, SplitAnywhere) {
  const std::string s = "\r\n" + kReply + kOptions;
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    SCOPED_TRACE(cut);
    MessageFramer f;
    f.start(kIsn);
    auto a = feed(f, 0, s.substr(0, cut));
    auto b = feed(f, cut, s.substr(cut));
    a.insert(a.end(), b.begin(), b.end());
    expect(a, {{2, kReply}, {uint32_t(2 + kReply.size()), kOptions}});
  }
}

TEST(MessageFramer, ByteByByteAndBareLf) {
  const std::string m = "SETUP rtsp://h/t RTSP/1.0\nCSeq: 3\nContent-Length: 3\n\nabc";
  MessageFramer f;
  f.start(kIsn);
  std::vector<Got> all;
  for (size_t i = 0; i < m.size(); ++i) {
    auto g = feed(f, i, m.substr(i, 1));
    all.insert(all.end(), g.begin(), g.end());
  }
  expect(all, {{0, m}});
}

TEST(MessageFramer, SeveralInOneSegmentWithKeepAlives) {
  MessageFramer f;
  f.start(kIsn);
  const std::string s = "\r\n\r\n" + kOptions + "\r\n" + kOptions + kOptions;
  const auto n = uint32_t(kOptions.size());
  expect(feed(f, 0, s), {{4, kOptions}, {6 + n, kOptions}, {6 + 2 * n, kOptions}});
}

TEST(MessageFramer, RetransmissionsAreNotSeenTwice) {
  MessageFramer f;
  f.start(kIsn);
  const std::string s = kOptions + kOptions;
  const auto n = uint32_t(kOptions.size());
  expect(feed(f, 0, s.substr(0, n + 5)), {{0, kOptions}});
  expect(feed(f, 0, s.substr(0, n + 5)), {});        // whole retransmission
  expect(feed(f, n, s.substr(n)), {{n, kOptions}});  // partial overlap: the new tail
  expect(feed(f, 0, s), {});
  EXPECT_EQ(f.desyncs(), 0u);
}

TEST(MessageFramer, BodyTooLargeIsSkippedInSync) {
  MessageFramer f({.max_message = 64});
  f.start(kIsn);
  const std::string big = "ANNOUNCE rtsp://h/ RTSP/1.0\r\nContent-Length: 100\r\n\r\n";
  const std::string body(100, 'x');
  // Its body, split, and a gap inside it: skipped, the next message is framed.
  auto a = feed(f, 0, big + body.substr(0, 10));
  expect(a, {{0, ""}});
  expect(feed(f, big.size() + 30, body.substr(30)), {});  // 20 skipped bytes lost
  const auto at = uint32_t(big.size() + body.size());
  expect(feed(f, at, kOptions), {{at, kOptions}});
  EXPECT_EQ(f.unframed(), 1u);
  EXPECT_EQ(f.desyncs(), 0u);
}

TEST(MessageFramer, HeaderTooLongResynchronisesAtAStartLine) {
  MessageFramer f({.max_message = 64});
  f.start(kIsn);
  const std::string longhead = "OPTIONS * RTSP/1.0\r\nX: " + std::string(80, 'y') + "\r\n\r\n";
  expect(feed(f, 0, longhead.substr(0, 50)), {});
  expect(feed(f, 50, longhead.substr(50)), {{0, ""}});
  const auto at = uint32_t(longhead.size());
  expect(feed(f, at, kOptions), {{at, kOptions}});
  EXPECT_EQ(f.desyncs(), 1u);
}

TEST(MessageFramer, BadContentLength) {
  for (const char* cl : {"Content-Length: -1", "Content-Length: 12a", "Content-Length:",
                         "content-length: 1234567890", "Content-Length: 1\r\nl: 2"}) {
    SCOPED_TRACE(cl);
    MessageFramer f;
    f.start(kIsn);
    const std::string m = std::string("PLAY rtsp://h/ RTSP/1.0\r\n") + cl + "\r\n\r\n";
    expect(feed(f, 0, m), {{0, ""}});
    // Not trusted to know where the next message starts: after a blank line.
    const std::string rest = "junk\r\n\r\n" + kOptions;
    expect(feed(f, m.size(), rest), {{uint32_t(m.size() + 8), kOptions}});
  }
}

// After a gap, text inside a message is not taken for a message: a body whose
// blank line is followed by something that is not a start line is skipped.
TEST(MessageFramer, GapResynchronisesSafely) {
  MessageFramer f;
  f.start(kIsn);
  expect(feed(f, 0, kOptions), {{0, kOptions}});
  const auto n = uint32_t(kOptions.size());
  // 10 bytes lost; what follows is the tail of a header block and a body
  // carrying an empty line and a fake request line.
  const std::string tail = "Content-Length: 40\r\n\r\nx\r\n\r\na=SETUP x RTSP/1.0\r\n";
  auto got = feed(f, n + 10, tail);
  expect(got, {{n, ""}});
  const auto at = uint32_t(n + 10 + tail.size());
  expect(feed(f, at, "\r\n" + kOptions), {{at + 2, kOptions}});
  EXPECT_EQ(f.unframed(), 1u);
}

TEST(MessageFramer, PickedUpMidStream) {
  MessageFramer f;
  EXPECT_FALSE(f.started());
  expect(feed(f, 0, "CSeq: 4\r\n\r\n" + kOptions), {{11, kOptions}});
  EXPECT_TRUE(f.started());
  EXPECT_EQ(f.unframed(), 0u);
}

TEST(MessageFramer, InterleavedBinaryFramesAreSkipped) {
  MessageFramer f({.interleaved = true});
  f.start(kIsn);
  std::string frame = "$";
  frame += '\x01';
  frame += '\x00';
  frame += '\x05';
  frame += "\r\n\r\nA";  // payload that would confuse a text framer
  const std::string s = frame + kOptions + frame;
  std::vector<Got> all;
  for (size_t i = 0; i < s.size(); i += 3) {
    auto g = feed(f, i, s.substr(i, 3));
    all.insert(all.end(), g.begin(), g.end());
  }
  expect(all, {{uint32_t(frame.size()), kOptions}});
  // Without the option the frames are text: their bytes become (malformed)
  // messages and the request is not seen as it was sent.
  MessageFramer plain;
  plain.start(kIsn);
  auto text = feed(plain, 0, s);
  EXPECT_EQ(text.size(), 3u);
  for (const auto& g : text) EXPECT_NE(g.text, kOptions);
}

TEST(MessageFramer, ContentLength) {
  EXPECT_EQ(content_length("X / R/1.0\r\n\r\n"), 0u);
  EXPECT_EQ(content_length("X / R/1.0\r\nContent-Length:  42 \r\n\r\n"), 42u);
  EXPECT_EQ(content_length("X / R/1.0\r\nCONTENT-LENGTH: 7\r\ncontent-length: 7\r\n\r\n"), 7u);
  EXPECT_EQ(content_length("INVITE x SIP/2.0\r\nl: 5\r\n\r\n"), 5u);
  EXPECT_EQ(content_length("X / R/1.0\r\nX-Content-Length: 5\r\n\r\n"), 0u);
  EXPECT_EQ(content_length("Content-Length: 5\r\n\r\n"), 0u);  // the start line is no header
  EXPECT_EQ(content_length("X / R/1.0\r\n Content-Length: 5\r\n\r\n"), 0u);  // continuation
  EXPECT_FALSE(content_length("X / R/1.0\r\nContent-Length: 5\r\nl: 6\r\n\r\n"));
  EXPECT_FALSE(content_length("X / R/1.0\r\nContent-Length: +5\r\n\r\n"));
}

TEST(MessageFramer, StartLines) {
  EXPECT_TRUE(looks_like_start_line("SETUP rtsp://h/t RTSP/1.0\r"));
  EXPECT_TRUE(looks_like_start_line("RTSP/1.0 200 OK"));
  EXPECT_TRUE(looks_like_start_line("SIP/2.0 180 Ringing"));
  EXPECT_TRUE(looks_like_start_line("GET_PARAMETER * RTSP/1.0"));
  EXPECT_FALSE(looks_like_start_line("a=SETUP x RTSP/1.0"));
  EXPECT_FALSE(looks_like_start_line("RTSP/1.0 2x0 OK"));
  EXPECT_FALSE(looks_like_start_line("SETUP rtsp://h/t"));
  EXPECT_FALSE(looks_like_start_line("SETUP rtsp://h/t RTSP/10"));
  EXPECT_FALSE(looks_like_start_line(""));
}

}  // namespace
}  // namespace fw::aspf
