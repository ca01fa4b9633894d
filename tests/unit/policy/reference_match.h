#pragma once
// The plain linear service match the differential tests compare the classifier and the
// policies with. Any struct with proto, sport_lo/hi, dport_lo/hi and icmp_type will do
// (policy::ServiceCond, config::ServiceItem).
#include "policy/classifier.h"

namespace fw::policy::testing {

template <typename Service>
bool ref_service_match(const Service& s, const FlowInfo& f) {
  if (s.proto == 0) return true;
  if (s.proto != f.proto) return false;
  if (f.proto == 6 || f.proto == 17) {
    return f.sport >= s.sport_lo && f.sport <= s.sport_hi && f.dport >= s.dport_lo &&
           f.dport <= s.dport_hi;
  }
  if (f.proto == 1 || f.proto == 58) return s.icmp_type < 0 || s.icmp_type == f.icmp_type;
  return true;
}

}  // namespace fw::policy::testing
