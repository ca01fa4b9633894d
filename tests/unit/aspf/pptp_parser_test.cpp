// RFC 2637 control messages built byte by byte, then parsed.
#include "aspf/pptp/pptp_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace fw::aspf::pptp {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

// A control message of `type` with `len` bytes (the RFC size by default),
// header filled in, body zero.
Bytes msg(uint16_t type, uint16_t len = 0) {
  static const uint16_t kLen[16] = {0,  156, 156, 16, 16, 16,  20, 168,
                                    32, 220, 24,  28, 16, 148, 40, 24};
  if (len == 0) len = type < 16 ? kLen[type] : 16;
  Bytes b(len < 12 ? 12 : len, 0);
  put16(b, 0, len);
  put16(b, 2, 1);  // PPTP Message Type: control
  b[4] = 0x1A;
  b[5] = 0x2B;
  b[6] = 0x3C;
  b[7] = 0x4D;
  put16(b, 8, type);
  return b;
}

Message ok(const Bytes& b) {
  ParseOutcome r = parse(b);
  EXPECT_FALSE(r.second.has_value()) << (r.second ? error_name(*r.second) : "");
  EXPECT_TRUE(r.first.has_value());
  return r.first.value_or(Message{});
}

Error err(const Bytes& b) {
  ParseOutcome r = parse(b);
  EXPECT_FALSE(r.first.has_value());
  EXPECT_TRUE(r.second.has_value());
  return r.second.value_or(Error::kTruncated);
}

TEST(PptpParser, FixedLengths) {
  const uint16_t want[16] = {0, 156, 156, 16, 16, 16, 20, 168, 32, 220, 24, 28, 16, 148, 40, 24};
  for (uint16_t t = 0; t < 16; ++t) EXPECT_EQ(fixed_length(t), want[t]) << t;
  EXPECT_EQ(fixed_length(16), 0);
  EXPECT_EQ(fixed_length(0xffff), 0);
}

TEST(PptpParser, StartControlConnection) {
  Bytes rq = msg(1);
  put16(rq, 12, 0x0100);  // protocol version
  Message m = ok(rq);
  EXPECT_EQ(m.type, MsgType::kStartCtrlConnRequest);
  EXPECT_EQ(m.length, 156);
  EXPECT_EQ(m.call_id_at, 0u);
  EXPECT_EQ(m.peer_call_id_at, 0u);

  Bytes rp = msg(2);
  rp[14] = 1;  // result code
  rp[15] = 0;  // error code
  m = ok(rp);
  EXPECT_EQ(m.type, MsgType::kStartCtrlConnReply);
  EXPECT_EQ(m.result_code, 1);
  EXPECT_EQ(m.call_id_at, 0u);
}

TEST(PptpParser, StopControlConnectionAndEcho) {
  Bytes stop_rq = msg(3);
  stop_rq[12] = 1;  // reason, not a result code
  Message m = ok(stop_rq);
  EXPECT_EQ(m.type, MsgType::kStopCtrlConnRequest);
  EXPECT_EQ(m.length, 16);
  EXPECT_EQ(m.result_code, 0);

  Bytes stop_rp = msg(4);
  stop_rp[12] = 2;
  m = ok(stop_rp);
  EXPECT_EQ(m.type, MsgType::kStopCtrlConnReply);
  EXPECT_EQ(m.result_code, 2);

  Bytes echo_rq = msg(5);
  put16(echo_rq, 12, 0xdead);
  m = ok(echo_rq);
  EXPECT_EQ(m.type, MsgType::kEchoRequest);
  EXPECT_EQ(m.length, 16);

  Bytes echo_rp = msg(6);
  echo_rp[16] = 1;
  m = ok(echo_rp);
  EXPECT_EQ(m.type, MsgType::kEchoReply);
  EXPECT_EQ(m.length, 20);
  EXPECT_EQ(m.result_code, 1);
  EXPECT_EQ(m.call_id_at, 0u);
}

TEST(PptpParser, OutgoingCallRequest) {
  Bytes b = msg(7);
  put16(b, 12, 0x1234);  // Call ID (PNS's own)
  put16(b, 14, 0x0007);  // Call Serial Number: not a call id
  Message m = ok(b);
  EXPECT_EQ(m.type, MsgType::kOutgoingCallRequest);
  EXPECT_EQ(m.length, 168);
  EXPECT_EQ(m.call_id, 0x1234);
  EXPECT_EQ(m.call_id_at, 12u);
  EXPECT_EQ(m.peer_call_id_at, 0u);
}

TEST(PptpParser, OutgoingCallReply) {
  Bytes b = msg(8);
  put16(b, 12, 0xabcd);  // Call ID (PAC's own)
  put16(b, 14, 0x1234);  // Peer's Call ID (the PNS's, from OCRQ)
  b[16] = 1;             // Connected
  Message m = ok(b);
  EXPECT_EQ(m.type, MsgType::kOutgoingCallReply);
  EXPECT_EQ(m.length, 32);
  EXPECT_EQ(m.call_id, 0xabcd);
  EXPECT_EQ(m.call_id_at, 12u);
  EXPECT_EQ(m.peer_call_id, 0x1234);
  EXPECT_EQ(m.peer_call_id_at, 14u);
  EXPECT_EQ(m.result_code, 1);
}

TEST(PptpParser, IncomingCallRequestReplyConnected) {
  Bytes icrq = msg(9);
  put16(icrq, 12, 0x0101);  // PAC's own
  put16(icrq, 14, 0x0202);  // serial
  Message m = ok(icrq);
  EXPECT_EQ(m.type, MsgType::kIncomingCallRequest);
  EXPECT_EQ(m.length, 220);
  EXPECT_EQ(m.call_id, 0x0101);
  EXPECT_EQ(m.call_id_at, 12u);
  EXPECT_EQ(m.peer_call_id_at, 0u);

  Bytes icrp = msg(10);
  put16(icrp, 12, 0x0303);  // PNS's own
  put16(icrp, 14, 0x0101);  // PAC's
  icrp[16] = 1;
  m = ok(icrp);
  EXPECT_EQ(m.type, MsgType::kIncomingCallReply);
  EXPECT_EQ(m.length, 24);
  EXPECT_EQ(m.call_id, 0x0303);
  EXPECT_EQ(m.call_id_at, 12u);
  EXPECT_EQ(m.peer_call_id, 0x0101);
  EXPECT_EQ(m.peer_call_id_at, 14u);
  EXPECT_EQ(m.result_code, 1);

  Bytes iccn = msg(11);
  put16(iccn, 12, 0x0303);  // Peer's Call ID = the PNS's (from ICRP)
  m = ok(iccn);
  EXPECT_EQ(m.type, MsgType::kIncomingCallConnected);
  EXPECT_EQ(m.length, 28);
  EXPECT_EQ(m.call_id_at, 0u);
  EXPECT_EQ(m.peer_call_id, 0x0303);
  EXPECT_EQ(m.peer_call_id_at, 12u);
}

TEST(PptpParser, ClearDisconnectWanErrorSetLink) {
  Bytes ccrq = msg(12);
  put16(ccrq, 12, 0x1234);  // PNS's own
  Message m = ok(ccrq);
  EXPECT_EQ(m.type, MsgType::kCallClearRequest);
  EXPECT_EQ(m.length, 16);
  EXPECT_EQ(m.call_id, 0x1234);
  EXPECT_EQ(m.call_id_at, 12u);
  EXPECT_EQ(m.peer_call_id_at, 0u);

  Bytes cdn = msg(13);
  put16(cdn, 12, 0xabcd);  // PAC's own
  cdn[14] = 3;             // result code
  m = ok(cdn);
  EXPECT_EQ(m.type, MsgType::kCallDisconnectNotify);
  EXPECT_EQ(m.length, 148);
  EXPECT_EQ(m.call_id, 0xabcd);
  EXPECT_EQ(m.call_id_at, 12u);
  EXPECT_EQ(m.result_code, 3);
  EXPECT_EQ(m.peer_call_id_at, 0u);

  Bytes wen = msg(14);
  put16(wen, 12, 0x1234);  // PNS's
  m = ok(wen);
  EXPECT_EQ(m.type, MsgType::kWanErrorNotify);
  EXPECT_EQ(m.length, 40);
  EXPECT_EQ(m.peer_call_id, 0x1234);
  EXPECT_EQ(m.peer_call_id_at, 12u);
  EXPECT_EQ(m.call_id_at, 0u);

  Bytes sli = msg(15);
  put16(sli, 12, 0xabcd);  // receiver's
  m = ok(sli);
  EXPECT_EQ(m.type, MsgType::kSetLinkInfo);
  EXPECT_EQ(m.length, 24);
  EXPECT_EQ(m.peer_call_id, 0xabcd);
  EXPECT_EQ(m.peer_call_id_at, 12u);
  EXPECT_EQ(m.call_id_at, 0u);
}

TEST(PptpParser, EveryTypeAcceptedWithTrailingBytes) {
  for (uint16_t t = 1; t <= 15; ++t) {
    Bytes b = msg(t);
    put16(b, 12, 0x0102);
    if (b.size() > 16) b[16] = 1;
    b.push_back(0xee);  // start of the next segment's message: ignored
    Message m = ok(b);
    EXPECT_EQ(static_cast<uint16_t>(m.type), t);
    EXPECT_EQ(m.length, fixed_length(t));
    EXPECT_FALSE(msg_name(m.type).empty());
    if (m.call_id_at) {
      EXPECT_LE(m.call_id_at + 2, m.length);
    }
    if (m.peer_call_id_at) {
      EXPECT_LE(m.peer_call_id_at + 2, m.length);
    }
  }
}

TEST(PptpParser, Truncated) {
  Bytes full = msg(7);
  put16(full, 12, 5);
  // Every strict prefix of a valid message is "wait for more".
  for (size_t n = 0; n < full.size(); ++n) {
    Bytes prefix(full.begin(), full.begin() + static_cast<long>(n));
    EXPECT_EQ(err(prefix), Error::kTruncated) << n;
  }
  EXPECT_EQ(err({}), Error::kTruncated);
  EXPECT_EQ(err({0x00}), Error::kTruncated);
}

TEST(PptpParser, BadLengthField) {
  // Decided from the length field alone, before the rest arrives.
  EXPECT_EQ(err({0x00, 0x00}), Error::kBadLength);
  EXPECT_EQ(err({0x00, 0x0b}), Error::kBadLength);        // 11 < 12
  EXPECT_EQ(err({0x04, 0x01, 0x00}), Error::kBadLength);  // 1025 > 1024
  EXPECT_EQ(err({0xff, 0xff}), Error::kBadLength);
  // 12 <= length <= 1024 but only two bytes yet: wait.
  EXPECT_EQ(err({0x00, 0x0c}), Error::kTruncated);
  EXPECT_EQ(err({0x04, 0x00}), Error::kTruncated);

  // Length not the type's size: longer, shorter, and a header-only length.
  Bytes longer = msg(8, 33);
  EXPECT_EQ(err(longer), Error::kBadLength);
  Bytes shorter = msg(8, 31);
  EXPECT_EQ(err(shorter), Error::kBadLength);
  Bytes header_only = msg(5, 12);
  EXPECT_EQ(err(header_only), Error::kBadLength);
  // An SCCRQ length on an OCRQ, with all bytes present.
  Bytes swapped = msg(7);
  put16(swapped, 0, 156);
  EXPECT_EQ(err(swapped), Error::kBadLength);
  // A bad length is final even when fewer bytes than it claims are there.
  Bytes short_and_wrong = msg(9, 200);
  short_and_wrong.resize(20);
  EXPECT_EQ(err(short_and_wrong), Error::kBadLength);
}

TEST(PptpParser, BadMagic) {
  Bytes b = msg(1);
  b[7] = 0x4E;
  EXPECT_EQ(err(b), Error::kBadMagic);
  b = msg(12);
  b[4] = 0;
  EXPECT_EQ(err(b), Error::kBadMagic);
}

TEST(PptpParser, BadMessageType) {
  Bytes b = msg(1);
  put16(b, 2, 2);  // management message
  EXPECT_EQ(err(b), Error::kBadMessageType);
  put16(b, 2, 0);
  EXPECT_EQ(err(b), Error::kBadMessageType);
}

TEST(PptpParser, UnknownControlType) {
  EXPECT_EQ(err(msg(16, 16)), Error::kUnknownType);
  EXPECT_EQ(err(msg(0, 16)), Error::kUnknownType);
  EXPECT_EQ(err(msg(0xffff, 16)), Error::kUnknownType);
}

TEST(PptpParser, ZeroCallIds) {
  // Zero is a real call id on both sides: pptpd's first call of a
  // connection is PAC call id 0 (seen with pptpd 1.4 in the end-to-end test).
  Bytes ocrp = msg(8);
  put16(ocrp, 14, 0x1234);
  ocrp[16] = 1;  // Connected
  EXPECT_EQ(ok(ocrp).call_id, 0);
  Bytes icrq = msg(9);
  EXPECT_EQ(ok(icrq).call_id, 0);

  // A refusing OCRP may carry Call ID 0: no call exists.
  ocrp[16] = 7;  // not accepted
  Message m = ok(ocrp);
  EXPECT_EQ(m.call_id, 0);
  EXPECT_EQ(m.result_code, 7);

  // pptp-linux numbers its calls from 0: PNS ids and peer ids may be 0.
  Bytes ocrq = msg(7);
  EXPECT_EQ(ok(ocrq).call_id, 0);
  Bytes ocrp_to_zero = msg(8);
  put16(ocrp_to_zero, 12, 0x4321);
  ocrp_to_zero[16] = 1;
  m = ok(ocrp_to_zero);
  EXPECT_EQ(m.peer_call_id, 0);
  EXPECT_EQ(m.peer_call_id_at, 14u);
  Bytes icrp = msg(10);
  put16(icrp, 14, 9);
  EXPECT_EQ(ok(icrp).call_id, 0);
  EXPECT_EQ(ok(msg(12)).call_id, 0);
  EXPECT_EQ(ok(msg(11)).peer_call_id, 0);
  EXPECT_EQ(ok(msg(14)).peer_call_id, 0);
  EXPECT_EQ(ok(msg(15)).peer_call_id, 0);
  EXPECT_EQ(ok(msg(13)).call_id, 0);
}

TEST(PptpParser, SeveralMessagesBackToBack) {
  Bytes stream;
  auto append = [&](const Bytes& b) { stream.insert(stream.end(), b.begin(), b.end()); };
  Bytes sccrq = msg(1);
  Bytes ocrq = msg(7);
  put16(ocrq, 12, 0x0042);
  Bytes sli = msg(15);
  put16(sli, 12, 0x0099);
  Bytes echo = msg(5);
  append(sccrq);
  append(ocrq);
  append(sli);
  append(echo);
  append({0x00, 0x10, 0x00});  // the start of a fifth message

  std::vector<MsgType> seen;
  std::vector<uint16_t> ids;
  size_t off = 0;
  for (;;) {
    ParseOutcome r = parse(std::span<const uint8_t>(stream).subspan(off));
    if (!r.first) {
      ASSERT_TRUE(r.second.has_value());
      EXPECT_EQ(*r.second, Error::kTruncated);
      break;
    }
    seen.push_back(r.first->type);
    ids.push_back(r.first->call_id_at ? r.first->call_id : r.first->peer_call_id);
    off += r.first->length;
  }
  EXPECT_EQ(off, stream.size() - 3);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], MsgType::kStartCtrlConnRequest);
  EXPECT_EQ(seen[1], MsgType::kOutgoingCallRequest);
  EXPECT_EQ(seen[2], MsgType::kSetLinkInfo);
  EXPECT_EQ(seen[3], MsgType::kEchoRequest);
  EXPECT_EQ(ids[1], 0x0042);
  EXPECT_EQ(ids[2], 0x0099);
}

TEST(PptpParser, PutCallIdRoundTrip) {
  Bytes ocrp = msg(8);
  put16(ocrp, 12, 0x1111);
  put16(ocrp, 14, 0x2222);
  ocrp[16] = 1;
  Message m = ok(ocrp);
  put_call_id(ocrp, m.call_id_at, 0xbeef);
  put_call_id(ocrp, m.peer_call_id_at, 0x00ff);
  EXPECT_EQ(ocrp[12], 0xbe);
  EXPECT_EQ(ocrp[13], 0xef);
  Message again = ok(ocrp);
  EXPECT_EQ(again.call_id, 0xbeef);
  EXPECT_EQ(again.peer_call_id, 0x00ff);
  EXPECT_EQ(again.result_code, 1);

  // Out of range: nothing written, nothing crashes.
  Bytes small = {1, 2, 3};
  put_call_id(small, 2, 0xffff);
  put_call_id(small, 3, 0xffff);
  put_call_id(small, static_cast<size_t>(-1), 0xffff);
  EXPECT_EQ(small, (Bytes{1, 2, 3}));
  put_call_id(small, 1, 0xa0b0);
  EXPECT_EQ(small, (Bytes{1, 0xa0, 0xb0}));
}

TEST(PptpParser, Names) {
  EXPECT_EQ(msg_name(MsgType::kOutgoingCallReply), "Outgoing-Call-Reply");
  EXPECT_EQ(msg_name(MsgType::kSetLinkInfo), "Set-Link-Info");
  EXPECT_EQ(msg_name(static_cast<MsgType>(99)), "unknown");
  EXPECT_EQ(error_name(Error::kTruncated), "truncated");
  EXPECT_EQ(error_name(Error::kZeroCallId), "zero-call-id");
}

}  // namespace
}  // namespace fw::aspf::pptp
