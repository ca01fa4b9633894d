// libFuzzer target for aspf/pptp: the input is a TCP byte stream of PPTP
// control messages. It is parsed message by message (advancing by the parsed
// length) until a message does not parse. Besides ASan/UBSan it traps when a
// promise of pptp_parser.h is broken:
//  - exactly one of message / error; a message fits the bytes it came from,
//    has the type's fixed length, and its id offsets lie inside it;
//  - kTruncated only while fewer bytes than the message needs are there, and
//    every other error is final (more bytes never change it);
//  - a message parses the same from exactly its own bytes and its prefixes
//    are kTruncated (no reading past the length field);
//  - put_call_id() at the reported offsets changes only those ids.
// The CallIdAllocator gets the ids too, as a smoke test of map/lookup/release.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "aspf/pptp/call_id_alloc.h"
#include "aspf/pptp/pptp_parser.h"

namespace {

using fw::aspf::pptp::Error;
using fw::aspf::pptp::Message;
using fw::aspf::pptp::ParseOutcome;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

uint16_t be16(std::span<const uint8_t> d, size_t at) {
  return static_cast<uint16_t>((d[at] << 8) | d[at + 1]);
}

bool same(const Message& a, const Message& b) {
  return a.type == b.type && a.length == b.length && a.call_id == b.call_id &&
         a.peer_call_id == b.peer_call_id && a.call_id_at == b.call_id_at &&
         a.peer_call_id_at == b.peer_call_id_at && a.result_code == b.result_code;
}

// Checks one outcome on its own; returns the message if there is one.
const Message* check_outcome(const ParseOutcome& r, std::span<const uint8_t> in) {
  check(r.first.has_value() != r.second.has_value());
  if (r.second) {
    if (*r.second == Error::kTruncated) {
      // Only "not enough bytes yet": a readable, sane length is larger.
      if (in.size() >= 2) {
        const uint16_t len = be16(in, 0);
        check(len >= 12 && len <= 1024 && in.size() < len);
      }
    }
    return nullptr;
  }
  const Message& m = *r.first;
  const uint16_t t = static_cast<uint16_t>(m.type);
  check(t >= 1 && t <= 15);
  check(m.length >= 12 && m.length <= in.size() && m.length <= 1024);
  check(m.length == fw::aspf::pptp::fixed_length(t));
  check(m.length == be16(in, 0));
  if (m.call_id_at) {
    check(m.call_id_at + 2 <= m.length);
    check(m.call_id_at >= 12);
    check(be16(in, m.call_id_at) == m.call_id);
  } else {
    check(m.call_id == 0);
  }
  if (m.peer_call_id_at) {
    check(m.peer_call_id_at + 2 <= m.length);
    check(m.peer_call_id_at >= 12);
    check(be16(in, m.peer_call_id_at) == m.peer_call_id);
    check(m.peer_call_id_at != m.call_id_at);
  } else {
    check(m.peer_call_id == 0);
  }
  return &m;
}

void check_message(const Message& m, std::span<const uint8_t> in) {
  std::span<const uint8_t> own = in.first(m.length);
  // Its own bytes alone give the same message ...
  ParseOutcome exact = fw::aspf::pptp::parse(own);
  const Message* e = check_outcome(exact, own);
  check(e != nullptr && same(*e, m));
  // ... and every shorter prefix (a few of them) is only "wait for more".
  const size_t cuts[] = {
      0, 1, 2, 11, 12, static_cast<size_t>(m.length) / 2, static_cast<size_t>(m.length) - 1};
  for (size_t n : cuts) {
    if (n >= m.length) continue;
    ParseOutcome p = fw::aspf::pptp::parse(own.first(n));
    check(!p.first && p.second && *p.second == Error::kTruncated);
  }
  // Rewriting the ids changes exactly those ids. New ids are non-zero, so a
  // message that had to have a non-zero id still parses.
  std::vector<uint8_t> copy(own.begin(), own.end());
  const uint16_t nid = static_cast<uint16_t>(m.call_id * 31u + 7u) | 1u;
  const uint16_t npeer = static_cast<uint16_t>(m.peer_call_id * 17u + 3u) | 1u;
  if (m.call_id_at) fw::aspf::pptp::put_call_id(copy, m.call_id_at, nid);
  if (m.peer_call_id_at) fw::aspf::pptp::put_call_id(copy, m.peer_call_id_at, npeer);
  // Out-of-range writes are ignored.
  fw::aspf::pptp::put_call_id(copy, copy.size() - 1, 0xffff);
  fw::aspf::pptp::put_call_id(copy, copy.size(), 0xffff);
  check(copy.back() == own.back());
  ParseOutcome rw = fw::aspf::pptp::parse(copy);
  const Message* w = check_outcome(rw, copy);
  check(w != nullptr);
  check(w->type == m.type && w->length == m.length && w->result_code == m.result_code);
  check(w->call_id_at == m.call_id_at && w->peer_call_id_at == m.peer_call_id_at);
  if (m.call_id_at) check(w->call_id == nid);
  if (m.peer_call_id_at) check(w->peer_call_id == npeer);
  for (size_t i = 0; i < copy.size(); ++i) {
    const bool is_id =
        (m.call_id_at && (i == m.call_id_at || i == m.call_id_at + 1)) ||
        (m.peer_call_id_at && (i == m.peer_call_id_at || i == m.peer_call_id_at + 1));
    if (!is_id) check(copy[i] == own[i]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  fw::aspf::pptp::CallIdAllocator alloc;                 // per input: runs stay independent
  const auto pub = fw::common::IpAddr::v4(0xCB007164u);  // 203.0.113.100
  const auto server = fw::common::IpAddr::v4(0xCB007102u);
  const auto client = fw::common::IpAddr::v4(0xC6120102u);

  size_t off = 0;
  while (off < size) {
    std::span<const uint8_t> rest = in.subspan(off);
    ParseOutcome r = fw::aspf::pptp::parse(rest);
    const Message* m = check_outcome(r, rest);
    if (!m) {
      // A final error stays the same however many bytes follow; a prefix
      // that is already final must give the same error as the whole rest.
      const size_t cuts[] = {2, 12, rest.size() / 2};
      for (size_t n : cuts) {
        if (n > rest.size()) continue;
        ParseOutcome p = fw::aspf::pptp::parse(rest.first(n));
        check_outcome(p, rest.first(n));
        if (p.second && *p.second != Error::kTruncated) check(p.second == r.second);
      }
      break;
    }
    check_message(*m, rest);
    if (m->call_id_at) {
      auto id = alloc.map(pub, server, client, m->call_id);
      check(id.has_value() && *id != 0);
      auto back = alloc.lookup(pub, server, *id);
      check(back && back->client == client && back->call_id == m->call_id);
      if (m->result_code & 1) alloc.release(pub, server, *id);
    }
    off += m->length;
  }
  return 0;
}
