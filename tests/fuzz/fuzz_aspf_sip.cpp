// libFuzzer target for the SIP message parser (aspf/sip/sip_parser.*): the
// input is one message. Besides ASan/UBSan it traps when a promise breaks:
//  - exactly one of message / error; nothing over kMaxMessage parses;
//  - every offset (host/port, Content-Length digits, body, SDP) lies inside the
//    message and names the text the struct says (the host, the digits);
//  - the SDP lies inside the body;
//  - rewriting every host/port the parser found to 192.0.2.1:5 (what the ALG
//    does, back to front) gives a message that parses again to the same
//    Call-ID, CSeq, tags and number of URIs, with the new host everywhere.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aspf/sip/sip_parser.h"

namespace {

using fw::aspf::sip::HostPort;
using fw::aspf::sip::Message;
using fw::aspf::sip::Uri;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_hostport(std::string_view msg, const HostPort& hp) {
  check(hp.off + hp.len <= msg.size());
  check(msg.substr(hp.off, hp.host.size()) == hp.host);
  check(!hp.host.empty());
  if (hp.port == 0) check(hp.len == hp.host.size());
}

std::vector<const HostPort*> hostports(const Message& m) {
  std::vector<const HostPort*> v;
  auto add = [&v](const Uri& u) {
    if (u.hostport) v.push_back(&*u.hostport);
  };
  if (m.is_request) add(m.request_uri);
  if (m.via_sent_by) v.push_back(&*m.via_sent_by);
  for (const auto& u : m.contacts) add(u);
  for (const auto& u : m.routes) add(u);
  add(m.from);
  add(m.to);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  auto r = fw::aspf::sip::parse(in);
  check(r.message.has_value() != r.error.has_value());
  if (!r.message) return 0;
  check(size <= fw::aspf::sip::kMaxMessage);
  const Message& m = *r.message;
  std::vector<const HostPort*> hps = hostports(m);
  for (const HostPort* hp : hps) check_hostport(msg, *hp);
  check(m.body_off <= size && m.body_len <= size - m.body_off);
  if (m.content_length) {
    check(*m.content_length == m.body_len);
    check(m.content_length_off + m.content_length_len <= m.body_off);
  }
  if (m.sdp_off) {
    check(*m.sdp_off >= m.body_off && *m.sdp_off + m.sdp_len <= m.body_off + m.body_len);
  }
  check(!m.call_id.empty());

  // The rewrite an ALG makes, back to front; overlapping spans would be a bug.
  std::sort(hps.begin(), hps.end(), [](auto* a, auto* b) { return a->off > b->off; });
  std::string out(msg);
  size_t limit = out.size();
  for (const HostPort* hp : hps) {
    check(hp->off + hp->len <= limit);
    out.replace(hp->off, hp->len, "192.0.2.1:5");
    limit = hp->off;
  }
  if (out.size() > fw::aspf::sip::kMaxMessage) return 0;
  auto again = fw::aspf::sip::parse(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out.data()), out.size()));
  check(again.message.has_value());
  const Message& n = *again.message;
  check(n.call_id == m.call_id && n.cseq == m.cseq && n.cseq_method == m.cseq_method);
  check(n.from.tag == m.from.tag && n.to.tag == m.to.tag);
  check(n.contacts.size() == m.contacts.size() && n.routes.size() == m.routes.size());
  for (const HostPort* hp : hostports(n)) check(hp->host == "192.0.2.1" && hp->port == 5);
  return 0;
}
