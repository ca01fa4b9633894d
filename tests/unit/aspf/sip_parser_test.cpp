// SIP messages (RFC 3261), many of the kinds RFC 4475 catalogues (folded
// headers, compact names, odd whitespace, unknown schemes, IPv6 references,
// multipart bodies), parsed; every offset is checked against the text it names.
#include "aspf/sip/sip_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fw::aspf::sip {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::string at(std::string_view msg, size_t off, size_t len) {
  return std::string(msg.substr(off, len));
}

Message ok(std::string_view text) {
  ParseResult r = parse(bytes(text));
  EXPECT_TRUE(r.message.has_value()) << (r.error ? error_name(*r.error) : "?");
  EXPECT_FALSE(r.error.has_value());
  return r.message.value_or(Message{});
}

Error bad(std::string_view text) {
  ParseResult r = parse(bytes(text));
  EXPECT_FALSE(r.message.has_value());
  EXPECT_TRUE(r.error.has_value());
  return r.error.value_or(Error::kTooLong);
}

constexpr std::string_view kSdp =
    "v=0\r\no=alice 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 0\r\n";

std::string invite(std::string_view extra = "", std::string_view body = kSdp) {
  std::string s =
      "INVITE sip:bob@203.0.113.5 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK776asdhds\r\n"
      "Max-Forwards: 70\r\n"
      "To: Bob <sip:bob@203.0.113.5>\r\n"
      "From: Alice <sip:alice@10.0.0.2>;tag=1928301774\r\n"
      "Call-ID: a84b4c76e66710@10.0.0.2\r\n"
      "CSeq: 314159 INVITE\r\n"
      "Contact: <sip:alice@10.0.0.2:5060>\r\n";
  s += extra;
  s += "Content-Type: application/sdp\r\n";
  s += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  s += body;
  return s;
}

TEST(SipParser, PlainInvite) {
  std::string s = invite();
  Message m = ok(s);
  EXPECT_TRUE(m.is_request);
  EXPECT_EQ(m.method, "INVITE");
  EXPECT_EQ(m.request_uri.scheme, "sip");
  ASSERT_TRUE(m.request_uri.hostport);
  EXPECT_EQ(m.request_uri.hostport->host, "203.0.113.5");
  EXPECT_EQ(m.request_uri.hostport->port, 0);
  EXPECT_EQ(at(s, m.request_uri.hostport->off, m.request_uri.hostport->len), "203.0.113.5");
  EXPECT_EQ(m.transport, "UDP");
  ASSERT_TRUE(m.via_sent_by);
  EXPECT_EQ(at(s, m.via_sent_by->off, m.via_sent_by->len), "10.0.0.2:5060");
  EXPECT_EQ(m.via_sent_by->host, "10.0.0.2");
  EXPECT_EQ(m.via_sent_by->port, 5060);
  ASSERT_EQ(m.contacts.size(), 1u);
  EXPECT_EQ(at(s, m.contacts[0].hostport->off, m.contacts[0].hostport->len), "10.0.0.2:5060");
  EXPECT_EQ(m.from.tag, "1928301774");
  EXPECT_EQ(m.from.hostport->host, "10.0.0.2");
  EXPECT_EQ(m.to.tag, "");
  EXPECT_EQ(m.call_id, "a84b4c76e66710@10.0.0.2");
  EXPECT_EQ(m.cseq, 314159u);
  EXPECT_EQ(m.cseq_method, "INVITE");
  EXPECT_EQ(m.content_type, "application/sdp");
  ASSERT_TRUE(m.content_length);
  EXPECT_EQ(*m.content_length, kSdp.size());
  EXPECT_EQ(at(s, m.content_length_off, m.content_length_len), std::to_string(kSdp.size()));
  ASSERT_TRUE(m.sdp_off);
  EXPECT_EQ(at(s, *m.sdp_off, m.sdp_len), kSdp);
  EXPECT_EQ(m.body_len, kSdp.size());
}

TEST(SipParser, Response) {
  std::string s =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n"
      "To: Bob <sip:bob@203.0.113.5>;tag=a6c85cf\r\n"
      "From: Alice <sip:alice@10.0.0.2>;tag=1928301774\r\n"
      "Call-ID: a84b4c76e66710@10.0.0.2\r\n"
      "CSeq: 314159 INVITE\r\n"
      "Contact: <sip:bob@203.0.113.5>\r\n"
      "Content-Length: 0\r\n\r\n";
  Message m = ok(s);
  EXPECT_FALSE(m.is_request);
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.to.tag, "a6c85cf");
  EXPECT_EQ(m.cseq_method, "INVITE");
  EXPECT_FALSE(m.sdp_off);
}

// RFC 4475 3.1.1.1 (wsinv): folded lines, odd whitespace, compact names, case.
TEST(SipParser, TortuousWhitespaceFoldingCompactNames) {
  std::string s =
      "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
      "TO :\r\n"
      " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
      "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n"
      "  ;\r\n"
      "  tag = 98asjd8\r\n"
      "MaX-fOrWaRdS: 0068\r\n"
      "Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
      "Content-Length   : 0\r\n"
      "cseq: 0009\r\n"
      "  INVITE\r\n"
      "Via  : SIP  /   2.0\r\n"
      " /UDP\r\n"
      "    192.0.2.2;branch=390skdjuw\r\n"
      "s :\r\n"
      "NewFangledHeader:   newfangled value\r\n"
      " continued newfangled value\r\n"
      "UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
      "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"
      "      newvalue ;\r\n"
      "  secondparam ; q = 0.33\r\n"
      "\r\n";
  Message m = ok(s);
  EXPECT_EQ(m.to.tag, "1918181833n");
  EXPECT_EQ(m.from.tag, "98asjd8");
  EXPECT_EQ(m.from.hostport->host, "example.com");
  EXPECT_EQ(m.cseq, 9u);
  EXPECT_EQ(m.cseq_method, "INVITE");
  EXPECT_EQ(m.transport, "UDP");
  ASSERT_TRUE(m.via_sent_by);
  EXPECT_EQ(at(s, m.via_sent_by->off, m.via_sent_by->len), "192.0.2.2");
  ASSERT_EQ(m.contacts.size(), 1u);
  EXPECT_EQ(at(s, m.contacts[0].hostport->off, m.contacts[0].hostport->len), "example.com");
  EXPECT_EQ(m.request_uri.hostport->host, "chair-dnrc.example.com");
  EXPECT_EQ(m.content_length, 0u);
}

TEST(SipParser, CompactNamesEverywhere) {
  std::string body(kSdp);
  std::string s =
      "INVITE sip:bob@203.0.113.5 SIP/2.0\r\n"
      "v: SIP/2.0/TCP 10.0.0.2:5070;branch=z9hG4bKx\r\n"
      "t: <sip:bob@203.0.113.5>\r\n"
      "f: <sip:alice@10.0.0.2>;tag=x\r\n"
      "i: abc\r\n"
      "CSeq: 1 INVITE\r\n"
      "m: <sip:alice@10.0.0.2:5070>;expires=60\r\n"
      "c: Application/SDP\r\n"
      "l: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  Message m = ok(s);
  EXPECT_EQ(m.transport, "TCP");
  EXPECT_EQ(m.call_id, "abc");
  EXPECT_EQ(m.content_type, "application/sdp");
  EXPECT_EQ(m.contacts.at(0).expires, 60u);
  EXPECT_EQ(m.contacts.at(0).hostport->port, 5070);
  ASSERT_TRUE(m.sdp_off);
  EXPECT_EQ(at(s, *m.sdp_off, m.sdp_len), body);
}

// RFC 4475 3.1.1.8 (esc01-like) and unknown schemes (3.1.1.9 / 3.3.? tel, http).
TEST(SipParser, UnknownSchemesHaveNoHostport) {
  std::string s =
      "OPTIONS tel:+1-972-555-2222 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKy\r\n"
      "To: <urn:service:sos>\r\n"
      "From: <http://example.com/alice>;tag=1\r\n"
      "Call-ID: c\r\n"
      "CSeq: 2 OPTIONS\r\n"
      "Contact: <mailto:alice@example.com>\r\n"
      "\r\n";
  Message m = ok(s);
  EXPECT_EQ(m.request_uri.scheme, "tel");
  EXPECT_FALSE(m.request_uri.hostport);
  EXPECT_EQ(m.to.scheme, "urn");
  EXPECT_EQ(m.from.scheme, "http");
  EXPECT_EQ(m.contacts.at(0).scheme, "mailto");
  EXPECT_FALSE(m.contacts.at(0).hostport);
  EXPECT_FALSE(m.content_length);
}

// RFC 4475 3.1.1.? (ipv6 references): brackets kept, port after them.
TEST(SipParser, Ipv6References) {
  std::string s =
      "REGISTER sip:[2001:db8::10] SIP/2.0\r\n"
      "Via: SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKas3\r\n"
      "To: <sip:user@[2001:db8::10]>\r\n"
      "From: <sip:user@[2001:db8::10]>;tag=81x2\r\n"
      "Call-ID: SSG9559905523997077@hlau_4100\r\n"
      "CSeq: 1 REGISTER\r\n"
      "Contact: \"Caller\" <sip:caller@[2001:db8::9:1]:5070;transport=udp>;expires=3600\r\n"
      "Expires: 1800\r\n"
      "Content-Length: 0\r\n\r\n";
  Message m = ok(s);
  EXPECT_EQ(m.request_uri.hostport->host, "[2001:db8::10]");
  EXPECT_EQ(m.via_sent_by->host, "[2001:db8::9:1]");
  EXPECT_EQ(m.via_sent_by->port, 5070);
  EXPECT_EQ(at(s, m.contacts[0].hostport->off, m.contacts[0].hostport->len),
            "[2001:db8::9:1]:5070");
  EXPECT_EQ(m.contacts[0].expires, 3600u);
  EXPECT_EQ(m.expires, 1800u);
}

TEST(SipParser, SeveralContactsRoutesAndStar) {
  std::string s =
      "REGISTER sip:example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa, SIP/2.0/UDP 10.9.9.9;branch=b\r\n"
      "Via: SIP/2.0/UDP 10.8.8.8;branch=c\r\n"
      "To: <sip:u@example.com>\r\n"
      "From: <sip:u@example.com>;tag=1\r\n"
      "Call-ID: r\r\n"
      "CSeq: 3 REGISTER\r\n"
      "Contact: <sip:u@10.0.0.2:5060>;expires=0, \"A, B\" <sip:u@10.0.0.3>, sip:u@10.0.0.4;q=1\r\n"
      "Route: <sip:p1.example.com;lr>,<sip:10.0.0.7:5080;lr>\r\n"
      "Record-Route: <sip:rr.example.com;lr>\r\n"
      "\r\n";
  Message m = ok(s);
  EXPECT_EQ(m.via_sent_by->host, "10.0.0.2");
  ASSERT_EQ(m.contacts.size(), 3u);
  EXPECT_EQ(m.contacts[0].expires, 0u);
  EXPECT_EQ(m.contacts[1].hostport->host, "10.0.0.3");
  EXPECT_EQ(m.contacts[2].hostport->host, "10.0.0.4");
  EXPECT_FALSE(m.contacts[2].expires);
  ASSERT_EQ(m.routes.size(), 3u);
  EXPECT_EQ(at(s, m.routes[1].hostport->off, m.routes[1].hostport->len), "10.0.0.7:5080");
  EXPECT_EQ(m.routes[2].hostport->host, "rr.example.com");

  std::string star = s;
  star.replace(star.find("Contact:"), star.find("Route:") - star.find("Contact:"),
               "Contact: *\r\nExpires: 0\r\n");
  Message m2 = ok(star);
  EXPECT_TRUE(m2.contact_star);
  EXPECT_TRUE(m2.contacts.empty());
  EXPECT_EQ(m2.expires, 0u);
}

// RFC 4475 3.1.1.11 (mpart01): the SDP is one part of a multipart/mixed body.
TEST(SipParser, MultipartBody) {
  std::string body =
      "--boundary1\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "hello\r\n"
      "--boundary1\r\n"
      "Content-Type: application/sdp\r\n"
      "\r\n" +
      std::string(kSdp) + "\r\n--boundary1--\r\n";
  std::string s = invite("", body);
  s.replace(s.find("Content-Type: application/sdp\r\nContent-Length"), 30,
            "Content-Type: multipart/mixed;boundary=\"boundary1\"\r\n");
  Message m = ok(s);
  EXPECT_EQ(m.content_type, "multipart/mixed");
  ASSERT_TRUE(m.sdp_off);
  EXPECT_EQ(at(s, *m.sdp_off, m.sdp_len), kSdp);

  std::string no_boundary = s;
  no_boundary.replace(no_boundary.find(";boundary=\"boundary1\""), 21, "");
  EXPECT_EQ(bad(no_boundary), Error::kBadBody);
  std::string no_end = invite("", "--boundary1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n");
  no_end.replace(no_end.find("Content-Type: application/sdp\r\nContent-Length"), 30,
                 "Content-Type: multipart/mixed;boundary=boundary1\r\n");
  EXPECT_EQ(bad(no_end), Error::kBadBody);
}

TEST(SipParser, ContentLengthRules) {
  // Shorter than the datagram: the rest is ignored (RFC 3261 18.3).
  std::string extra = invite() + "garbage";
  Message m = ok(extra);
  EXPECT_EQ(m.body_len, kSdp.size());
  EXPECT_EQ(at(extra, *m.sdp_off, m.sdp_len), kSdp);
  // Longer than the datagram: truncated (RFC 4475 3.1.2.? clerr).
  std::string s = invite();
  s.replace(s.find("Content-Length: ") + 16, 3, "999");
  EXPECT_EQ(bad(s), Error::kBadContentLength);
  // Not a number, negative (RFC 4475 ncl), two different values.
  std::string neg = invite();
  neg.replace(neg.find("Content-Length: ") + 16, 3, "-99");
  EXPECT_EQ(bad(neg), Error::kBadContentLength);
  std::string two = invite("Content-Length: 5\r\n");
  EXPECT_EQ(bad(two), Error::kBadContentLength);
  std::string same = invite("l: " + std::to_string(kSdp.size()) + "\r\n");
  EXPECT_EQ(bad(same), Error::kBadContentLength) << "even the same value twice";
  // Absent: the body is the rest of the datagram.
  std::string none = invite();
  size_t cl = none.find("Content-Length");
  none.erase(cl, none.find("\r\n", cl) + 2 - cl);
  Message n = ok(none);
  EXPECT_FALSE(n.content_length);
  EXPECT_EQ(n.body_len, kSdp.size());
}

TEST(SipParser, Refusals) {
  EXPECT_EQ(bad(std::string(kMaxMessage + 1, 'a')), Error::kTooLong);
  EXPECT_EQ(bad(""), Error::kNoEndOfHeaders);
  EXPECT_EQ(bad("\r\n\r\n"), Error::kNoEndOfHeaders);
  EXPECT_EQ(bad("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"), Error::kNoEndOfHeaders);
  EXPECT_EQ(bad("hello\r\n\r\n"), Error::kBadStartLine);
  EXPECT_EQ(bad("INVITE sip:a@b\r\n\r\n"), Error::kBadStartLine);
  EXPECT_EQ(bad("INV;TE sip:a@b SIP/2.0\r\n\r\n"), Error::kBadStartLine);
  EXPECT_EQ(bad("SIP/2.0 99 Odd\r\n\r\n"), Error::kBadStartLine);
  EXPECT_EQ(bad("SIP/2.0 7000 Odd\r\n\r\n"), Error::kBadStartLine);
  // RFC 4475 3.1.2.? badvers: SIP/7.0.
  std::string v7 = invite();
  v7.replace(v7.find("SIP/2.0\r\n"), 7, "SIP/7.0");
  EXPECT_EQ(bad(v7), Error::kBadVersion);
  EXPECT_EQ(bad("SIP/3.0 200 OK\r\n\r\n"), Error::kBadVersion);
  EXPECT_EQ(bad(invite("NoColonHere\r\n")), Error::kBadHeader);
  EXPECT_EQ(bad(invite("Bad Name: x\r\n")), Error::kBadHeader);
  EXPECT_EQ(bad(" folded first\r\n" + invite()), Error::kBadStartLine);
  // Bad URIs: port out of range, empty host, junk after the host.
  std::string port = invite();
  port.replace(port.find("alice@10.0.0.2:5060"), 19, "alice@10.0.0.2:65536");
  EXPECT_EQ(bad(port), Error::kBadUri);
  std::string host = invite();
  host.replace(host.find("<sip:alice@10.0.0.2:5060>"), 25, "<sip:alice@>");
  EXPECT_EQ(bad(host), Error::kBadUri);
  std::string unclosed = invite();
  unclosed.replace(unclosed.find("<sip:alice@10.0.0.2:5060>"), 25, "<sip:alice@10.0.0.2");
  EXPECT_EQ(bad(unclosed), Error::kBadUri);
  std::string junk = invite();
  junk.replace(junk.find("10.0.0.2:5060>"), 14, "10.0.0.2:5060x>");
  EXPECT_EQ(bad(junk), Error::kBadUri);
  // Via
  std::string via = invite();
  via.replace(via.find("SIP/2.0/UDP"), 11, "SIP/1.0/UDP");
  EXPECT_EQ(bad(via), Error::kBadVia);
  std::string via2 = invite();
  via2.replace(via2.find("10.0.0.2:5060;branch"), 20, "10.0.0.2:x;branch");
  EXPECT_EQ(bad(via2), Error::kBadVia);
  // CSeq: RFC 4475 3.1.2.? (method mismatch, number too large).
  std::string cseq = invite();
  cseq.replace(cseq.find("314159 INVITE"), 13, "314159 ACK");
  EXPECT_EQ(bad(cseq), Error::kBadCseq);
  std::string big = invite();
  big.replace(big.find("314159 INVITE"), 13, "36893488147419103232 INVITE");
  EXPECT_EQ(bad(big), Error::kBadCseq);
  std::string nocallid = invite();
  nocallid.erase(nocallid.find("Call-ID"), nocallid.find("CSeq") - nocallid.find("Call-ID"));
  EXPECT_EQ(bad(nocallid), Error::kMissingHeader);
  std::string many = "Contact: ";
  for (int i = 0; i < 17; ++i) many += "<sip:a@10.0.0." + std::to_string(i + 1) + ">,";
  many.back() = '\r';
  EXPECT_EQ(bad(invite(many + "\n")), Error::kTooManyUris);
  EXPECT_EQ(bad(invite("i: second-call-id\r\n")), Error::kDuplicateHeader);
  EXPECT_EQ(bad(invite("f: <sip:mallory@10.0.0.9>;tag=2\r\n")), Error::kDuplicateHeader);
  EXPECT_EQ(bad(invite("CSeq: 1 INVITE\r\n")), Error::kDuplicateHeader);
}

TEST(SipParser, LeadingEmptyLinesAndBareLf) {
  std::string s = "\r\n\r\n" + invite();
  EXPECT_EQ(ok(s).call_id, "a84b4c76e66710@10.0.0.2");
  std::string lf = invite();
  for (size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
  // The body length changed with the CRs removed: drop Content-Length.
  size_t cl = lf.find("Content-Length");
  lf.erase(cl, lf.find('\n', cl) + 1 - cl);
  Message m = ok(lf);
  EXPECT_EQ(m.cseq_method, "INVITE");
  ASSERT_TRUE(m.sdp_off);
}

TEST(SipParser, ErrorNamesAreDistinct) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kErrorCount; ++i) {
    names.emplace_back(error_name(static_cast<Error>(i)));
    EXPECT_NE(names.back(), "unknown");
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
}

}  // namespace
}  // namespace fw::aspf::sip
