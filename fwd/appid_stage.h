#pragma once
// "appid" area: the pipeline's identification step. A new TCP/UDP flow's first payload is
// identified at once (a UDP datagram is decided by itself); a flow still undecided is marked in
// its session (session::kAppidPending) and the next payload packets are looked at, up to
// Runtime::appid_packets packets of the session. When it is decided, the session shows the
// application's name and, if a rule naming applications admitted it, the policy is asked again.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "appid/identify.h"
#include "packet/parse.h"
#include "policy/policy.h"
#include "session/session.h"

namespace fw::fwd {

// What a packet's payload says (an empty one, or one of another protocol: undecided/none).
appid::Result appid_look(const packet::Parsed& p, const uint8_t* data, bool from_initiator);

// For the first packet of a flow: policy::kAppUndecided, kAppNone, or the App value.
int appid_first(const packet::Parsed& p, const uint8_t* data);

// The `application` keywords of the grammar: appid's names and descriptions.
std::vector<std::pair<std::string, std::string>> appid_keywords();

// The flow a session's first packet was, as the policy saw it (after a NAT server's
// translation, before source NAT).
policy::FlowInfo appid_flow_of(const session::Session& s);

}  // namespace fw::fwd
