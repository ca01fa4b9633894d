// Restart support in nat/: NoPatBindings::claim and Translator::reclaim take
// back exactly what a saved session held, all or nothing.
#include <gtest/gtest.h>

#include "common/counters.h"
#include "common/interner.h"
#include "nat/nat_policy.h"
#include "nat/port_alloc.h"
#include "nat/translator.h"
#include "session/server_map.h"

namespace fw::nat {
namespace {

using common::IpAddr;
using session::MapType;
using session::NatKind;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

TEST(NoPatClaim, ExactBindingOrNothing) {
  NoPatBindings b({ip("203.0.113.100"), ip("203.0.113.101")});
  struct Step {
    const char* inside;
    const char* global;
    NoPatBindings::Claim want;
  };
  const Step steps[] = {
      {"198.18.1.2", "203.0.113.101", NoPatBindings::Claim::kNew},     // not the first free one
      {"198.18.1.2", "203.0.113.101", NoPatBindings::Claim::kAdded},   // a second session
      {"198.18.1.2", "203.0.113.100", NoPatBindings::Claim::kTaken},   // bound elsewhere
      {"198.18.1.3", "203.0.113.101", NoPatBindings::Claim::kTaken},   // global in use
      {"198.18.1.3", "203.0.113.200", NoPatBindings::Claim::kTaken},   // not in the pool
      {"2001:db8::3", "203.0.113.100", NoPatBindings::Claim::kTaken},  // other family
      {"198.18.1.3", "203.0.113.100", NoPatBindings::Claim::kNew},
  };
  for (const auto& s : steps) {
    EXPECT_EQ(b.claim(ip(s.inside), ip(s.global)), s.want) << s.inside << " " << s.global;
  }
  EXPECT_EQ(b.lookup(ip("198.18.1.2")), ip("203.0.113.101"));
  EXPECT_EQ(b.reverse(ip("203.0.113.100")), ip("198.18.1.3"));
  EXPECT_FALSE(b.acquire(ip("198.18.1.4"))) << "both addresses claimed";
  // Two references: the binding survives one release.
  b.release(ip("198.18.1.2"));
  EXPECT_TRUE(b.lookup(ip("198.18.1.2")));
  b.release(ip("198.18.1.2"));
  EXPECT_FALSE(b.lookup(ip("198.18.1.2")));
  EXPECT_EQ(b.acquire(ip("198.18.1.4")), ip("203.0.113.101"));
}

class Reclaim : public ::testing::Test {
 protected:
  void SetUp() override {
    config::Config c;
    config::AddressGroup g;
    g.name = "np";
    g.mode = config::AddressGroup::Mode::kNoPat;
    g.sections.push_back({0, ip("203.0.113.100"), ip("203.0.113.101")});
    c.address_groups.push_back(g);
    tr.configure(c);
  }
  size_t entries(MapType t) {
    size_t n = 0;
    for (const auto& e : servermap.snapshot()) n += e.type == t;
    return n;
  }

  common::ManualClock clock;
  common::CounterTable counters;
  common::Interner names;
  NatState state;
  session::ServerMap servermap{clock, counters};
  Translator tr{state, servermap, names, counters};
};

TEST_F(Reclaim, PatPortAndReservedDestinationPortComeBackOrNothingIsHeld) {
  session::FlowKey orig{ip("198.18.1.2"), ip("203.0.113.1"), 40000, 2051, 6, 0};
  session::NatInfo nat;
  nat.kind = NatKind::kAspf;
  nat.snat = nat.port_held = nat.dst_port_held = true;
  nat.snat_addr = ip("203.0.113.1");
  nat.snat_port = 3000;
  ASSERT_EQ(tr.reclaim(orig, &nat, "", 0), Translator::Reclaim::kOk);
  EXPECT_TRUE(state.ports.in_use(ip("203.0.113.1"), 6, 3000));
  EXPECT_TRUE(state.ports.in_use(ip("203.0.113.1"), 6, 2051));
  // The same again: the source port is taken; the destination port it took first goes back.
  session::FlowKey other = orig;
  other.dport = 2052;
  EXPECT_EQ(tr.reclaim(other, &nat, "", 0), Translator::Reclaim::kPortTaken);
  EXPECT_FALSE(state.ports.in_use(ip("203.0.113.1"), 6, 2052));
  // And they are released like any session's.
  tr.release(orig, nat);
  EXPECT_EQ(state.ports.used_total(), 0u);
  // Protocols without ports hold nothing.
  session::FlowKey gre{ip("198.18.1.2"), ip("203.0.113.2"), 0, 5, 47, 0};
  nat.dst_port_held = false;
  EXPECT_EQ(tr.reclaim(gre, &nat, "", 0), Translator::Reclaim::kOk);
  EXPECT_EQ(state.ports.used_total(), 0u);
}

TEST_F(Reclaim, NoPatBindingComesBackWithItsEntriesOnce) {
  session::NatInfo nat;
  nat.kind = NatKind::kNoPat;
  nat.snat = true;
  nat.snat_addr = ip("203.0.113.101");
  session::FlowKey a{ip("198.18.1.2"), ip("203.0.113.2"), 40000, 80, 6, 0};
  session::FlowKey b = a;
  b.sport = 40001;
  session::NatInfo na = nat, nb = nat;
  ASSERT_EQ(tr.reclaim(a, &na, "np", 3), Translator::Reclaim::kOk);
  ASSERT_EQ(tr.reclaim(b, &nb, "np", 3), Translator::Reclaim::kOk);
  EXPECT_EQ(names.name(na.group), "np");
  EXPECT_EQ(entries(MapType::kNoPat), 1u);
  EXPECT_EQ(entries(MapType::kNoPatReverse), 1u);
  for (const auto& e : servermap.snapshot()) EXPECT_EQ(e.zone, 3);
  // Another inside host cannot have that address; an unknown group is no binding.
  session::FlowKey c = a;
  c.src = ip("198.18.1.3");
  session::NatInfo nc = nat;
  EXPECT_EQ(tr.reclaim(c, &nc, "np", 3), Translator::Reclaim::kBindingTaken);
  EXPECT_EQ(tr.reclaim(c, &nc, "gone", 3), Translator::Reclaim::kNoGroup);
  // The entries go with the binding's last session.
  tr.release(a, na);
  EXPECT_EQ(entries(MapType::kNoPat), 1u);
  tr.release(b, nb);
  EXPECT_EQ(entries(MapType::kNoPat), 0u);
  EXPECT_EQ(entries(MapType::kNoPatReverse), 0u);
}

}  // namespace
}  // namespace fw::nat
