#pragma once
// PPTP control messages (RFC 2637) on TCP 1723. Pure: bytes in, struct out.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace fw::aspf::pptp {

inline constexpr uint32_t kMagicCookie = 0x1A2B3C4D;
inline constexpr uint16_t kControlMessage = 1;

enum class MsgType : uint16_t {
  kStartCtrlConnRequest = 1,
  kStartCtrlConnReply = 2,
  kStopCtrlConnRequest = 3,
  kStopCtrlConnReply = 4,
  kEchoRequest = 5,
  kEchoReply = 6,
  kOutgoingCallRequest = 7,
  kOutgoingCallReply = 8,
  kIncomingCallRequest = 9,
  kIncomingCallReply = 10,
  kIncomingCallConnected = 11,
  kCallClearRequest = 12,
  kCallDisconnectNotify = 13,
  kWanErrorNotify = 14,
  kSetLinkInfo = 15,
};
std::string_view msg_name(MsgType t);

enum class Error : uint8_t {
  kTruncated,       // fewer bytes than the length field / than the type's fixed size
  kBadLength,       // length field not the RFC size of that type (or < 12, or > 1024)
  kBadMessageType,  // PPTP message type != 1 (control)
  kBadMagic,        // magic cookie mismatch
  kUnknownType,     // control message type not 1..15
  kZeroCallId,      // a call id that must be non-zero is zero
};
std::string_view error_name(Error e);

struct Message {
  MsgType type;
  uint16_t length = 0;  // whole message length
  // Call ids as RFC 2637 assigns them (0 if the message has no such field):
  uint16_t call_id = 0;       // the sender's own call id (OCRQ, OCRP, ICRQ, ICRP, CDN)
  uint16_t peer_call_id = 0;  // the receiver's call id (OCRP, ICRP, ICCN, CCRQ?, WEN, SLI)
  // Byte offsets (from the message start) of those fields, for rewriting; 0 = absent.
  size_t call_id_at = 0, peer_call_id_at = 0;
  uint8_t result_code = 0;    // OCRP / ICRP / StopCCRP etc. where present
};

// Parse one message at the start of `data` (a TCP byte stream may hold several:
// the caller advances by message.length). Call-Clear-Request carries the PNS's
// call id (the sender's own, in call_id); Call-Disconnect-Notify carries the
// PAC's call id (call_id). Check RFC 2637 section 2 for each field's offset.
using ParseOutcome = std::pair<std::optional<Message>, std::optional<Error>>;
ParseOutcome parse(std::span<const uint8_t> data);

// Write a 16-bit call id at `at` (big endian). The caller fixes TCP checksums.
void put_call_id(std::span<uint8_t> msg, size_t at, uint16_t id);

}  // namespace fw::aspf::pptp
