// SDP descriptions (RFC 8866, RFC 3264 offer/answer, RFC 3605 a=rtcp, RFC
// 8839 candidates): every address and port with the offset of its text.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aspf/sip/sdp_parser.h"

namespace fw::aspf::sip {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

Sdp ok(std::string_view text) {
  SdpResult r = parse_sdp(bytes(text));
  EXPECT_TRUE(r.sdp.has_value()) << (r.error ? sdp_error_name(*r.error) : "?");
  EXPECT_FALSE(r.error.has_value());
  return r.sdp.value_or(Sdp{});
}

SdpError bad(std::string_view text) {
  SdpResult r = parse_sdp(bytes(text));
  EXPECT_FALSE(r.sdp.has_value());
  return r.error.value_or(SdpError::kNotSdp);
}

std::string at(std::string_view s, size_t off, size_t len) {
  return std::string(s.substr(off, len));
}

TEST(SdpParser, AudioAndVideo) {
  std::string s =
      "v=0\r\n"
      "o=alice 2890844526 2890844526 IN IP4 10.0.0.2\r\n"
      "s=-\r\n"
      "c=IN IP4 10.0.0.2\r\n"
      "t=0 0\r\n"
      "m=audio 49170 RTP/AVP 0 8\r\n"
      "a=rtcp:53020\r\n"
      "m=video 51372/2 RTP/AVP 31\r\n"
      "c=IN IP4 10.0.0.3/127\r\n"
      "a=rtcp:53022 IN IP4 10.0.0.4\r\n"
      "a=sendonly\r\n";
  Sdp d = ok(s);
  ASSERT_TRUE(d.origin);
  EXPECT_EQ(at(s, d.origin->off, d.origin->len), "10.0.0.2");
  EXPECT_TRUE(d.origin->in);
  ASSERT_TRUE(d.conn);
  EXPECT_EQ(at(s, d.conn->off, d.conn->len), "10.0.0.2");
  ASSERT_EQ(d.media.size(), 2u);
  const Media& a = d.media[0];
  EXPECT_EQ(a.type, "audio");
  EXPECT_EQ(a.port.value, 49170);
  EXPECT_EQ(at(s, a.port.off, a.port.len), "49170");
  EXPECT_EQ(a.rtcp->value, 53020);
  EXPECT_EQ(at(s, a.rtcp->off, a.rtcp->len), "53020");
  EXPECT_FALSE(a.conn);
  EXPECT_EQ(d.address(a), &*d.conn);
  EXPECT_EQ(d.direction(a), Direction::kSendRecv);
  const Media& v = d.media[1];
  EXPECT_EQ(v.port.value, 51372);
  EXPECT_EQ(v.count, 2);
  EXPECT_EQ(at(s, v.port.off, v.port.len), "51372");
  ASSERT_TRUE(v.conn);
  EXPECT_EQ(at(s, v.conn->off, v.conn->len), "10.0.0.3");  // no /ttl
  EXPECT_EQ(d.address(v)->text, "10.0.0.3");
  ASSERT_TRUE(v.rtcp_addr);
  EXPECT_EQ(at(s, v.rtcp_addr->off, v.rtcp_addr->len), "10.0.0.4");
  EXPECT_EQ(d.direction(v), Direction::kSendOnly);
  EXPECT_FALSE(d.candidate);
}

TEST(SdpParser, HoldFormsAndCandidates) {
  std::string s =
      "v=0\no=- 1 2 IN IP4 0.0.0.0\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\na=inactive\n"
      "m=audio 0 RTP/AVP 0\nm=audio 7000 RTP/AVP 0\na=recvonly\n"
      "a=candidate:1 1 UDP 2130706431 10.0.0.2 7000 typ host";  // no final newline
  Sdp d = ok(s);
  ASSERT_EQ(d.media.size(), 2u);
  EXPECT_EQ(d.media[0].port.value, 0);
  EXPECT_EQ(d.direction(d.media[0]), Direction::kInactive);
  EXPECT_EQ(d.direction(d.media[1]), Direction::kRecvOnly);
  EXPECT_TRUE(d.candidate);
  EXPECT_TRUE(d.media[1].candidate);
  EXPECT_FALSE(d.media[0].candidate);
  EXPECT_EQ(d.conn->text, "0.0.0.0");
}

TEST(SdpParser, Ipv6AndOtherNettypes) {
  std::string s =
      "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\nc=IN IP6 2001:db8::2\r\nm=audio 5004 RTP/AVP 0\r\n"
      "m=audio 5006 RTP/AVP 0\r\nc=ATM NSAP 47.0005\r\n";
  Sdp d = ok(s);
  EXPECT_TRUE(d.origin->ipv6);
  EXPECT_EQ(d.conn->text, "2001:db8::2");
  EXPECT_FALSE(d.media[1].conn->in);
}

TEST(SdpParser, Refusals) {
  EXPECT_EQ(bad(""), SdpError::kNotSdp);
  EXPECT_EQ(bad("v=1\r\n"), SdpError::kNotSdp);
  EXPECT_EQ(bad("o=- 1 1 IN IP4 1.2.3.4\r\n"), SdpError::kNotSdp);
  EXPECT_EQ(bad("v=0\r\nnot a line\r\n"), SdpError::kBadLine);
  EXPECT_EQ(bad("v=0\r\nX=upper\r\n"), SdpError::kBadLine);
  EXPECT_EQ(bad("v=0\r\no=- 1 IN IP4 1.2.3.4\r\n"), SdpError::kBadOrigin);
  EXPECT_EQ(bad("v=0\r\nc=IN IP4\r\n"), SdpError::kBadConnection);
  EXPECT_EQ(bad("v=0\r\nc=IN IP4 /127\r\n"), SdpError::kBadConnection);
  EXPECT_EQ(bad("v=0\r\nm=audio 70000 RTP/AVP 0\r\n"), SdpError::kBadMedia);
  EXPECT_EQ(bad("v=0\r\nm=audio x RTP/AVP 0\r\n"), SdpError::kBadMedia);
  EXPECT_EQ(bad("v=0\r\nm=audio 5000/0 RTP/AVP 0\r\n"), SdpError::kBadMedia);
  EXPECT_EQ(bad("v=0\r\nm=audio 5000 RTP/AVP\r\n"), SdpError::kBadMedia);
  EXPECT_EQ(bad("v=0\r\nm=audio 5000 RTP/AVP 0\r\na=rtcp:\r\n"), SdpError::kBadRtcp);
  EXPECT_EQ(bad("v=0\r\nm=audio 5000 RTP/AVP 0\r\na=rtcp:99999\r\n"), SdpError::kBadRtcp);
  EXPECT_EQ(bad("v=0\r\nm=audio 5000 RTP/AVP 0\r\na=rtcp:5001 IN IP4\r\n"), SdpError::kBadRtcp);
  std::string many = "v=0\r\n";
  for (size_t i = 0; i <= kMaxMedia; ++i) many += "m=audio 5000 RTP/AVP 0\r\n";
  EXPECT_EQ(bad(many), SdpError::kTooManyMedia);
  // a=rtcp at session level is not an error (it has no stream to belong to).
  ok("v=0\r\na=rtcp:5000\r\n");
}

TEST(SdpParser, ErrorNamesAreDistinct) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kSdpErrorCount; ++i)
    names.emplace_back(sdp_error_name(static_cast<SdpError>(i)));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
  EXPECT_EQ(std::count(names.begin(), names.end(), "unknown"), 0);
}

}  // namespace
}  // namespace fw::aspf::sip
