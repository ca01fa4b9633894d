// "siptcp" area (issue 13): `display firewall sip session` - the SIP ALG's state per signalling
// flow: the behaviour chosen (translate / pinhole-only / leave-alone), each dialog with its
// Call-ID, state and media streams, each registration with its expiry (Inspector::describe).
// Sessions are read one at a time under their own lock; nothing is changed.
#include <sstream>

#include "fwd/ctl_context.h"
#include "fwd/dataplane.h"

namespace fw::fwd::ctl {
namespace {

std::string endpoint(const common::IpAddr& a, uint16_t port) {
  return (a.is_v4() ? a.str() : "[" + a.str() + "]") + ":" + std::to_string(port);
}

void display_sip_session(Ctx& c) {
  const uint8_t sip = c.algs.id_of("sip");
  size_t shown = 0;
  std::ostringstream body;
  if (c.dp && sip) {
    for (const auto& snap :
         c.dp->sessions().snapshot([sip](const session::Session& s) { return s.alg == sip; })) {
      std::string text;
      c.dp->sessions().with_session_id(
          snap.id, [&](session::Session& s) { text = c.dp->engine().describe(s); });
      if (text.empty()) continue;
      std::string head = endpoint(snap.orig.src, snap.orig.sport);
      if (snap.nat.snat) head += "[" + endpoint(snap.reply.dst, snap.reply.dport) + "]";
      head += " --> " + endpoint(snap.orig.dst, snap.orig.dport);
      if (snap.nat.dnat) head += "[" + endpoint(snap.reply.src, snap.reply.sport) + "]";
      body << " sip  " << (snap.orig.proto == 6 ? "tcp" : "udp") << "  " << head << "\n" << text;
      ++shown;
    }
  }
  c.out << " SIP signalling flows: " << shown << "\n" << body.str();
}

}  // namespace

void register_sip(HandlerTable& t) {
  t.add({
      {"display.sip.session", display_sip_session},
  });
}

}  // namespace fw::fwd::ctl
