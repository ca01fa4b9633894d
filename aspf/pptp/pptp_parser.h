#pragma once
// PPTP control messages (RFC 2637) on TCP 1723. Pure: bytes in, struct out.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

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
  kTruncated,       // fewer bytes than the message needs; more stream bytes may fix it
  kBadLength,       // length field not the RFC size of that type (or < 12, or > 1024)
  kBadMessageType,  // PPTP message type != 1 (control)
  kBadMagic,        // magic cookie mismatch
  kUnknownType,     // control message type not 1..15
  kZeroCallId,      // unused: 0 is a valid call id in practice (see below)
};
std::string_view error_name(Error e);

// Which call id each message carries (RFC 2637 section 2; offsets from the
// message start, the 12-byte header is Length, PPTP Message Type, Magic Cookie,
// Control Message Type, Reserved0). PNS = the side that sends OCRQ (in practice
// the VPN client, e.g. pptp-linux); PAC = the side that answers it (pptpd).
//   type        len  sent by   call_id (sender's own)   peer_call_id (receiver's)  result_code
//   SCCRQ  1    156  either    -                        -                          -
//   SCCRP  2    156  either    -                        -                          @14
//   StopRQ 3     16  either    -                        -                          -
//   StopRP 4     16  either    -                        -                          @12
//   EchoRQ 5     16  either    -                        -                          -
//   EchoRP 6     20  either    -                        -                          @16
//   OCRQ   7    168  PNS       @12 PNS's                -                          -
//   OCRP   8     32  PAC       @12 PAC's                @14 PNS's (= OCRQ call id) @16
//   ICRQ   9    220  PAC       @12 PAC's                -                          -
//   ICRP  10     24  PNS       @12 PNS's                @14 PAC's (= ICRQ call id) @16
//   ICCN  11     28  PAC       -                        @12 PNS's (= ICRP call id) -
//   CCRQ  12     16  PNS       @12 PNS's                -                          -
//   CDN   13    148  PAC       @12 PAC's                -                          @14
//   WEN   14     40  PAC       -                        @12 PNS's                  -
//   SLI   15     24  PNS(*)    -                        @12 receiver's             -
// (*) The RFC has the PNS send Set-Link-Info with the PAC's call id, but PACs
// in the field send it too, to the PNS with the PNS's call id (pptp-linux
// handles a received SLI naming its own call id): the field is always the
// receiver's id, so the direction it travels decides whose id it is.
// CDN: the RFC says the PAC's own id, but PACs in the field (accel-ppp) put the
// PNS's id there and Linux nf_nat_pptp translates it as a PNS id; the parser
// reports the field as call_id either way, the inspector must accept both.
// The Call Serial Number (OCRQ/ICRQ @14) is not a call id and is not reported.
//
// Zero ids: RFC 2637 never forbids a zero call id, and real peers use it:
// pptpd 1.4 numbers its calls 0, 128, 256, ... per control connection, so the
// first call's PAC call id is 0. The parser therefore accepts 0 everywhere;
// kZeroCallId is kept in the enum (never returned) so error names stay stable.
struct Message {
  MsgType type;
  uint16_t length = 0;  // whole message length
  // Call ids as RFC 2637 assigns them (0 if the message has no such field):
  uint16_t call_id = 0;       // the sender's own call id (OCRQ, OCRP, ICRQ, ICRP, CCRQ, CDN)
  uint16_t peer_call_id = 0;  // the receiver's call id (OCRP, ICRP, ICCN, WEN, SLI)
  // Byte offsets (from the message start) of those fields, for rewriting; 0 = absent.
  size_t call_id_at = 0, peer_call_id_at = 0;
  uint8_t result_code = 0;  // SCCRP, StopCCRP, EchoRP, OCRP, ICRP, CDN (0 elsewhere)
};

// Parse one message at the start of `data` (a TCP byte stream may hold several:
// the caller advances by message.length). Exactly one of the pair is set.
// Checks, in order: 2 bytes for Length (else kTruncated); 12 <= Length <= 1024
// (else kBadLength, decided before more bytes arrive); 12 header bytes (else
// kTruncated); PPTP Message Type 1 (kBadMessageType); Magic Cookie
// (kBadMagic); Control Message Type 1..15 (kUnknownType); Length equal to the
// type's fixed size (kBadLength); the whole message present (kTruncated);
// zero ids (kZeroCallId, see above). So kTruncated always means "a prefix of
// something that may still become valid: wait for more bytes", and every other
// error is final. Reserved fields are not checked (peers put junk there).
using ParseOutcome = std::pair<std::optional<Message>, std::optional<Error>>;
ParseOutcome parse(std::span<const uint8_t> data);

// Fixed RFC 2637 length of a control message type; 0 for a type outside 1..15.
uint16_t fixed_length(uint16_t control_message_type);

// Write a 16-bit call id at `at` (big endian). Does nothing when the two bytes
// at `at` do not fit in `msg` (never asserts). The caller fixes TCP checksums.
void put_call_id(std::span<uint8_t> msg, size_t at, uint16_t id);

}  // namespace fw::aspf::pptp
