#pragma once
// The name of an IP protocol number as the session table shows it (Huawei's keywords: "tcp",
// "udp", "icmp", "icmpv6", "gre", "esp", "ah", "sctp"), or the number in decimal for any other.
// One function for every place that names a protocol: the session statistics, the event log's
// Protocol= field, packet-trace.
#include <cstdint>
#include <string_view>

namespace fw::packet {

std::string_view ip_proto_name(uint8_t proto);

}  // namespace fw::packet
