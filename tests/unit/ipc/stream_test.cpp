// Version 4 of the protocol: streamed answers in pieces, back-pressure, cancellation.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "ipc/internal.h"
#include "ipc/ipc.h"
#include "tests/unit/ipc/test_util.h"

namespace fw::ipc {
namespace {

using testing::Clock;
using testing::milliseconds;

TEST(PieceEncoding, RoundTripsAndRejectsAnythingElse) {
  Response p;
  p.piece = true;
  p.output = "line one\nline two\n";
  std::string bytes = encode(p);
  ASSERT_EQ(bytes[0], 'P');
  auto back = decode_response(bytes);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->piece);
  EXPECT_EQ(back->output, p.output);
  EXPECT_FALSE(decode_response(bytes + "x"));                        // trailing byte
  EXPECT_FALSE(decode_response(bytes.substr(0, bytes.size() - 1)));  // truncated
  EXPECT_FALSE(decode_response(std::string("P\0\0\0", 4)));          // short length
  std::string huge = "P";
  internal::put_u32(&huge, 0xffffffffu);  // a length larger than the bytes: no allocation
  EXPECT_FALSE(decode_response(huge));
  EXPECT_FALSE(decode_request(bytes));  // never a request
  Response plain;
  plain.output = "x\n";
  auto r = decode_response(encode(plain));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->piece);  // version 1 bytes are unchanged
}

class StreamTest : public ::testing::Test {
 protected:
  void start(Server::StreamingHandler h, ServerOptions o = {}) {
    ASSERT_TRUE(dir_.ok());
    std::string err;
    server_ = Server::start(path(), "", std::move(h), o, &err);
    ASSERT_TRUE(server_) << err;
  }
  std::string path() const { return dir_.file("s.sock"); }
  testing::TempDir dir_;
  std::unique_ptr<Server> server_;
};

// An answer of 40 MiB (more than one frame may hold) arrives whole, in pieces, in order.
TEST_F(StreamTest, AnswerLargerThanAFrameArrivesInPieces) {
  const std::string line(99, 'x');
  constexpr size_t kLines = 400'000;  // 40 MB
  start([&](const Request&, const PeerCred&, const Server::Emit& emit) {
    std::string batch;
    for (size_t i = 0; i < kLines; ++i) {
      batch += std::to_string(i % 10) + line.substr(1) + "\n";
      if (batch.size() >= 64 * 1024) {
        if (!emit(batch)) break;
        batch.clear();
      }
    }
    Response r;
    r.output = batch + "end\n";
    r.view = "v";
    return r;
  });
  std::string err;
  auto c = Client::connect(path(), &err);
  ASSERT_TRUE(c) << err;
  size_t pieces = 0, bytes = 0, lines = 0;
  bool in_order = true;
  auto r = c->call(Request{"v", "display"}, &err, [&](const std::string& p) {
    ++pieces;
    bytes += p.size();
    for (size_t pos = 0; pos < p.size(); pos += 100) {
      in_order &= p[pos] == static_cast<char>('0' + lines % 10);
      ++lines;
    }
    return true;
  });
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->output.substr(r->output.size() - 4), "end\n");
  EXPECT_GT(pieces, 100u);
  EXPECT_TRUE(in_order);
  EXPECT_EQ(bytes + r->output.size() - 4, kLines * 100);
  // The connection goes on with the next request.
  auto again = c->call(Request{"v", "display"}, &err, [](const std::string&) { return true; });
  EXPECT_TRUE(again) << err;
}

// A peer that does not read holds the handler in emit (the server buffers a bounded amount);
// when it closes, emit returns false and the handler stops.
TEST_F(StreamTest, SlowReaderHoldsTheHandlerAndClosingStopsIt) {
  std::atomic<size_t> emitted{0};
  std::atomic<bool> stopped{false};
  ServerOptions o;
  o.stream_buffer = 256 * 1024;
  start(
      [&](const Request&, const PeerCred&, const Server::Emit& emit) {
        const std::string piece(64 * 1024, 'y');
        for (int i = 0; i < 100'000; ++i) {
          if (!emit(piece)) {
            stopped = true;
            break;
          }
          emitted += piece.size();
        }
        return Response{};
      },
      o);
  int fd = testing::raw_connect(path());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(testing::send_bytes(fd, internal::framed(encode(Request{"v", "display"}))));
  std::this_thread::sleep_for(milliseconds(500));
  const size_t held = emitted.load();
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(emitted.load(), held);  // waiting for the reader, not producing
  // stream buffer + one batch in the send buffer + the kernel's socket buffers
  EXPECT_LT(held, 8u << 20);
  EXPECT_LT(server_->stats().buffered_bytes, 2u << 20);
  // Reading a little lets it go on.
  auto first = testing::read_response(fd);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->piece);
  ::close(fd);
  EXPECT_TRUE(testing::wait_until([&] { return stopped.load(); }, milliseconds(3000)));
  EXPECT_TRUE(
      testing::wait_until([&] { return server_->stats().clients == 0; }, milliseconds(3000)));
}

// The client stops reading when on_piece says so (fwcli's Ctrl+C): the connection is closed
// and the server's handler stops.
TEST_F(StreamTest, InterruptedClientStopsTheHandler) {
  std::atomic<bool> stopped{false};
  start([&](const Request&, const PeerCred&, const Server::Emit& emit) {
    const std::string piece(32 * 1024, 'z');
    for (int i = 0; i < 1'000'000; ++i) {
      if (!emit(piece)) {
        stopped = true;
        break;
      }
    }
    return Response{};
  });
  std::string err;
  auto c = Client::connect(path(), &err);
  ASSERT_TRUE(c) << err;
  int n = 0;
  auto r = c->call(Request{"v", "display"}, &err, [&](const std::string&) { return ++n < 5; });
  EXPECT_FALSE(r);
  EXPECT_EQ(err, "interrupted");
  EXPECT_TRUE(c->stale());
  EXPECT_TRUE(testing::wait_until([&] { return stopped.load(); }, milliseconds(3000)));
}

// A peer that stops reading in the middle of a streamed answer is timed out like a reply.
TEST_F(StreamTest, UnreadPiecesTimeOut) {
  std::atomic<bool> stopped{false};
  ServerOptions o;
  o.frame_timeout = milliseconds(300);
  start(
      [&](const Request&, const PeerCred&, const Server::Emit& emit) {
        const std::string piece(64 * 1024, 'w');
        for (int i = 0; i < 100'000; ++i) {
          if (!emit(piece)) {
            stopped = true;
            break;
          }
        }
        return Response{};
      },
      o);
  int fd = testing::raw_connect(path());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(testing::send_bytes(fd, internal::framed(encode(Request{"v", "display"}))));
  EXPECT_TRUE(testing::wait_until([&] { return stopped.load(); }, milliseconds(3000)));
  // The handler learns of the timeout before the loop publishes its counters: wait for them.
  EXPECT_TRUE(testing::wait_until([&] { return server_->stats().write_timeouts >= 1u; },
                                  milliseconds(2000)))
      << server_->stats().write_timeouts;
  ::close(fd);
}

}  // namespace
}  // namespace fw::ipc
