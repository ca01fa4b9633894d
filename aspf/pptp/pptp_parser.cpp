#include "aspf/pptp/pptp_parser.h"

#include <array>

#include "common/bytes.h"

namespace fw::aspf::pptp {

namespace {

// Header: Length, PPTP Message Type, Magic Cookie, Control Message Type, Reserved0.
constexpr size_t kHeaderLen = 12;
// RFC 2637 puts no upper bound on Length, but the largest message is 220 bytes
// (ICRQ); the bound keeps a junk length from making the caller buffer a lot.
constexpr uint16_t kMaxLength = 1024;

// Indexed by control message type; 0 = not a type.
constexpr std::array<uint16_t, 16> kFixedLength = {0,  156, 156, 16, 16, 16,  20, 168,
                                                   32, 220, 24,  28, 16, 148, 40, 24};

// Where each control message type carries its fields: offsets from the message
// start of the sender's own call id, the receiver's call id and the result
// code; 0 = the type has no such field (see the table in pptp_parser.h).
struct Fields {
  uint8_t own, peer, result;
};
// Indexed by control message type, as kFixedLength.
constexpr std::array<Fields, 16> kFields = {{
    {0, 0, 0},   // 0: not a type
    {0, 0, 0},   // Start-Control-Connection-Request
    {0, 0, 14},  // Start-Control-Connection-Reply
    {0, 0, 0},   // Stop-Control-Connection-Request
    {0, 0, 12},  // Stop-Control-Connection-Reply
    {0, 0, 0},   // Echo-Request
    {0, 0, 16},  // Echo-Reply
    {12, 0, 0},  // Outgoing-Call-Request
    // Call id 0 is a real id: pptpd numbers its calls 0, 128, 256, ... per
    // connection, so a connected call may well have PAC call id 0.
    {12, 14, 16},  // Outgoing-Call-Reply
    {12, 0, 0},    // Incoming-Call-Request
    {12, 14, 16},  // Incoming-Call-Reply
    {0, 12, 0},    // Incoming-Call-Connected
    {12, 0, 0},    // Call-Clear-Request
    {12, 0, 14},   // Call-Disconnect-Notify
    {0, 12, 0},    // WAN-Error-Notify
    {0, 12, 0},    // Set-Link-Info
}};

// The caller checked `at + 2` (`at + 4`) against the message length.
uint16_t be16(std::span<const uint8_t> d, size_t at) { return common::rd16(d.data() + at); }
uint32_t be32(std::span<const uint8_t> d, size_t at) { return common::rd32(d.data() + at); }

ParseOutcome fail(Error e) { return {std::nullopt, e}; }

}  // namespace

std::string_view msg_name(MsgType t) {
  switch (t) {
    case MsgType::kStartCtrlConnRequest:
      return "Start-Control-Connection-Request";
    case MsgType::kStartCtrlConnReply:
      return "Start-Control-Connection-Reply";
    case MsgType::kStopCtrlConnRequest:
      return "Stop-Control-Connection-Request";
    case MsgType::kStopCtrlConnReply:
      return "Stop-Control-Connection-Reply";
    case MsgType::kEchoRequest:
      return "Echo-Request";
    case MsgType::kEchoReply:
      return "Echo-Reply";
    case MsgType::kOutgoingCallRequest:
      return "Outgoing-Call-Request";
    case MsgType::kOutgoingCallReply:
      return "Outgoing-Call-Reply";
    case MsgType::kIncomingCallRequest:
      return "Incoming-Call-Request";
    case MsgType::kIncomingCallReply:
      return "Incoming-Call-Reply";
    case MsgType::kIncomingCallConnected:
      return "Incoming-Call-Connected";
    case MsgType::kCallClearRequest:
      return "Call-Clear-Request";
    case MsgType::kCallDisconnectNotify:
      return "Call-Disconnect-Notify";
    case MsgType::kWanErrorNotify:
      return "WAN-Error-Notify";
    case MsgType::kSetLinkInfo:
      return "Set-Link-Info";
  }
  return "unknown";
}

std::string_view error_name(Error e) {
  switch (e) {
    case Error::kTruncated:
      return "truncated";
    case Error::kBadLength:
      return "bad-length";
    case Error::kBadMessageType:
      return "bad-message-type";
    case Error::kBadMagic:
      return "bad-magic";
    case Error::kUnknownType:
      return "unknown-type";
    case Error::kZeroCallId:
      return "zero-call-id";
  }
  return "unknown";
}

uint16_t fixed_length(uint16_t control_message_type) {
  return control_message_type < kFixedLength.size() ? kFixedLength[control_message_type] : 0;
}

ParseOutcome parse(std::span<const uint8_t> data) {
  if (data.size() < 2) return fail(Error::kTruncated);
  const uint16_t length = be16(data, 0);
  if (length < kHeaderLen || length > kMaxLength) return fail(Error::kBadLength);
  if (data.size() < kHeaderLen) return fail(Error::kTruncated);
  if (be16(data, 2) != kControlMessage) return fail(Error::kBadMessageType);
  if (be32(data, 4) != kMagicCookie) return fail(Error::kBadMagic);
  const uint16_t ctrl_type = be16(data, 8);
  const uint16_t want = fixed_length(ctrl_type);
  if (want == 0) return fail(Error::kUnknownType);
  if (length != want) return fail(Error::kBadLength);
  if (data.size() < length) return fail(Error::kTruncated);

  Message m;
  m.type = static_cast<MsgType>(ctrl_type);
  m.length = length;
  const Fields& f = kFields[ctrl_type];
  if (f.own) {
    m.call_id = be16(data, f.own);
    m.call_id_at = f.own;
  }
  if (f.peer) {
    m.peer_call_id = be16(data, f.peer);
    m.peer_call_id_at = f.peer;
  }
  if (f.result) m.result_code = data[f.result];
  return {m, std::nullopt};
}

void put_call_id(std::span<uint8_t> msg, size_t at, uint16_t id) {
  if (at > msg.size() || msg.size() - at < 2) return;
  msg[at] = static_cast<uint8_t>(id >> 8);
  msg[at + 1] = static_cast<uint8_t>(id & 0xff);
}

}  // namespace fw::aspf::pptp
