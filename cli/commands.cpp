// The firewall's command set. Each spec id has exactly one handler in fwd/
// (fwd checks this at start). Keep help texts short, VRP style. Values that depend on the
// build (the ALGs) are keyword sets given when the grammar is built: no ALG is named here.
#include "cli/commands.h"

namespace fw::cli {
namespace {

using V = ViewKind;

const std::vector<ViewKind> kAll = {V::kUser,         V::kSystem,         V::kZone,
                                    V::kInterzone,    V::kSecurityPolicy, V::kSecurityRule,
                                    V::kServiceSet,   V::kNatPolicy,      V::kNatRule,
                                    V::kAddressGroup, V::kAddressSet,     V::kInterface};
const std::vector<ViewKind> kNotUser = {V::kSystem,         V::kZone,         V::kInterzone,
                                        V::kSecurityPolicy, V::kSecurityRule, V::kServiceSet,
                                        V::kNatPolicy,      V::kNatRule,      V::kAddressGroup,
                                        V::kAddressSet,     V::kInterface};

// Session filters, any combination, each at most once (Huawei `{...}*`).
const char* kSessionFilters =
    "[ source { inside | global } <src-ip:ip> | destination { inside | global } <dst-ip:ip>"
    " | protocol { tcp | udp | icmp | icmpv6 | gre | esp | ah | <protocol-number:int(0-255)> }"
    " | application <app:string(1-31)>"
    " | source-zone <src-zone:string(1-31)> | destination-zone <dst-zone:string(1-31)>"
    " | source-port <sport:int(0-65535)> | destination-port <dport:int(0-65535)>"
    " | policy <policy-name:string(1-63)> ]*";

const char* kAgingNames =
    "{ tcp | udp | icmp | syn | fin-rst | first-fin | gre | esp | ah | dns | ftp | ftp-data | http "
    "|"
    " sctp | other | sip-media }";

std::vector<CommandSpec> specs() {
  std::string filt = kSessionFilters;
  std::string aging = kAgingNames;
  const std::string addr = "<address:ip> { mask <mask:mask> | <length:int(0-128)> }";
  const std::string zones5 =
      "<zone:string(1-31)> [ <zone:string(1-31)> [ <zone:string(1-31)> [ <zone:string(1-31)> ] ] ]";
  const std::string svcs6 =
      "<service:string(1-31)> [ <service:string(1-31)> [ <service:string(1-31)> [ "
      "<service:string(1-31)>"
      " [ <service:string(1-31)> [ <service:string(1-31)> ] ] ] ] ]";
  const std::string ports =
      "[ source-port <sport:int(0-65535)> [ to <sport-end:int(0-65535)> ] ]"
      " [ destination-port <dport:int(0-65535)> [ to <dport-end:int(0-65535)> ] ]";
  // Area route.
  const std::string route_dest = "<dest-address:ipv4> { <mask:mask> | <mask-length:int(0-32)> }";
  const std::string route_pref = " [ preference <preference-value:int(1-255)> ]";
  return {
      // Views.
      {"view.system", {V::kUser}, "system-view"},
      {"view.quit", kAll, "quit"},
      {"view.return", kNotUser, "return"},
      // Displays.
      {"display.version", kAll, "display version"},
      {"display.current", kAll, "display current-configuration"},
      {"display.this", kNotUser, "display this"},
      {"display.zone", kAll, "display zone [ <zone-name:string(1-31)> ]"},
      {"display.policy.all", kAll, "display security-policy rule all"},
      {"display.policy.name", kAll, "display security-policy rule name <rule-name:string(1-63)>"},
      {"display.session.table", kAll, "display firewall session table [ verbose ] " + filt},
      {"display.session.aging", kAll, "display firewall session aging-time"},
      {"display.statistics", kAll, "display firewall statistics [ system ]"},
      {"display.servicesets", kAll, "display ip service-set [ <set-name:string(1-31)> ]"},
      {"display.servermap", kAll,
       "display firewall server-map [ aspf | nat-server | no-pat | static | dynamic ]"},
      {"display.natpolicy", kAll, "display nat-policy rule all"},
      {"display.natserver", kAll, "display nat server"},
      {"display.addressgroup", kAll, "display nat address-group [ <group-name:string(1-31)> ]"},
      {"reset.session.table", {V::kUser, V::kSystem}, "reset firewall session table " + filt},
      {"reset.statistics", {V::kUser, V::kSystem}, "reset firewall statistics"},
      {"save", kAll, "save [ y ]"},
      // System view.
      {"sysname", {V::kSystem}, "sysname <host-name:string(1-63)>"},
      {"undo.sysname", {V::kSystem}, "undo sysname"},
      {"zone.enter", {V::kSystem}, "firewall zone <zone-name:string(1-31)>"},
      {"zone.create", {V::kSystem}, "firewall zone name <zone-name:string(1-31)>"},
      {"undo.zone", {V::kSystem}, "undo firewall zone name <zone-name:string(1-31)>"},
      {"aging.set",
       {V::kSystem},
       "firewall session aging-time " + aging + " <seconds:int(1-65535)>"},
      {"undo.aging", {V::kSystem}, "undo firewall session aging-time " + aging},
      {"policy.enter", {V::kSystem}, "security-policy"},
      {"serviceset.enter", {V::kSystem}, "ip service-set <set-name:string(1-31)> type object"},
      {"undo.serviceset", {V::kSystem}, "undo ip service-set <set-name:string(1-31)>"},
      // NAT (system view).
      {"group.enter", {V::kSystem}, "nat address-group <group-name:string(1-31)>"},
      {"undo.group", {V::kSystem}, "undo nat address-group <group-name:string(1-31)>"},
      {"natpolicy.enter", {V::kSystem}, "nat-policy"},
      {"natserver.add",
       {V::kSystem},
       "nat server [ <server-name:string(1-31)> ] protocol { tcp | udp } global <global-ip:ipv4> [ "
       "<global-port:int(1-65535)> ]"
       " inside <inside-ip:ipv4> [ <inside-port:int(1-65535)> ] [ no-reverse ]"},
      {"natserver.addr",
       {V::kSystem},
       "nat server [ <server-name:string(1-31)> ] global <global-ip:ipv4> inside <inside-ip:ipv4> "
       "[ no-reverse ]"},
      {"undo.natserver", {V::kSystem}, "undo nat server name <server-name:string(1-31)>"},
      // Address-group view.
      {"group.mode", {V::kAddressGroup}, "mode { pat | no-pat global }"},
      {"group.section",
       {V::kAddressGroup},
       "section [ <section-id:int(0-255)> ] <start-ip:ipv4> <end-ip:ipv4>"},
      {"undo.group.section", {V::kAddressGroup}, "undo section <section-id:int(0-255)>"},
      // NAT rule view.
      {"natrule.egress", {V::kNatRule}, "egress-interface <interface:ifname>"},
      {"undo.natrule.egress", {V::kNatRule}, "undo egress-interface [ <interface:ifname> ]"},
      {"natrule.action",
       {V::kNatRule},
       "action { source-nat { easy-ip | address-group <group-name:string(1-31)> } | no-nat }"},
      {"undo.natrule.action", {V::kNatRule}, "undo action"},
      // ASPF.
      {"detect.global", {V::kSystem}, "firewall detect <protocol:keyword(alg)>"},
      {"undo.detect.global", {V::kSystem}, "undo firewall detect <protocol:keyword(alg)>"},
      {"interzone.enter",
       {V::kSystem},
       "firewall interzone <zone1:string(1-31)> <zone2:string(1-31)>"},
      {"detect.interzone", {V::kInterzone}, "detect <protocol:keyword(alg)>"},
      {"undo.detect.interzone", {V::kInterzone}, "undo detect <protocol:keyword(alg)>"},
      {"portmap", {V::kSystem}, "port-mapping <protocol:keyword(alg)> port <port:int(1-65535)>"},
      {"undo.portmap",
       {V::kSystem},
       "undo port-mapping <protocol:keyword(alg)> port <port:int(1-65535)>"},
      {"display.detect", kAll, "display firewall detect [ verbose ]"},
      // Zone view.
      {"zone.priority", {V::kZone}, "set priority <priority:int(1-100)>"},
      {"zone.add", {V::kZone}, "add interface <interface:ifname>"},
      {"undo.zone.add", {V::kZone}, "undo add interface <interface:ifname>"},
      // Security policy view.
      {"rule.enter", {V::kSecurityPolicy, V::kNatPolicy}, "rule name <rule-name:string(1-63)>"},
      {"undo.rule", {V::kSecurityPolicy, V::kNatPolicy}, "undo rule name <rule-name:string(1-63)>"},
      {"rule.move",
       {V::kSecurityPolicy, V::kNatPolicy},
       "rule move <rule-name:string(1-63)> { { before | after } <ref-rule:string(1-63)> | up | "
       "down | top | bottom }"},
      {"policy.default", {V::kSecurityPolicy}, "default action { permit | deny }"},
      {"undo.policy.default", {V::kSecurityPolicy}, "undo default action"},
      // Rule view.
      {"rule.srczone", {V::kSecurityRule, V::kNatRule}, "source-zone " + zones5},
      {"undo.rule.srczone", {V::kSecurityRule, V::kNatRule}, "undo source-zone [ " + zones5 + " ]"},
      {"rule.dstzone", {V::kSecurityRule, V::kNatRule}, "destination-zone " + zones5},
      {"undo.rule.dstzone",
       {V::kSecurityRule, V::kNatRule},
       "undo destination-zone [ " + zones5 + " ]"},
      {"rule.srcaddr", {V::kSecurityRule, V::kNatRule}, "source-address " + addr},
      {"undo.rule.srcaddr",
       {V::kSecurityRule, V::kNatRule},
       "undo source-address [ " + addr + " ]"},
      {"rule.dstaddr", {V::kSecurityRule, V::kNatRule}, "destination-address " + addr},
      {"undo.rule.dstaddr",
       {V::kSecurityRule, V::kNatRule},
       "undo destination-address [ " + addr + " ]"},
      {"rule.service", {V::kSecurityRule}, "service " + svcs6},
      {"undo.rule.service", {V::kSecurityRule}, "undo service [ " + svcs6 + " ]"},
      {"rule.action", {V::kSecurityRule}, "action { permit | deny }"},
      {"undo.rule.action", {V::kSecurityRule}, "undo action"},
      {"rule.disable", {V::kSecurityRule, V::kNatRule}, "disable"},
      {"undo.rule.disable", {V::kSecurityRule, V::kNatRule}, "undo disable"},
      {"rule.description", {V::kSecurityRule}, "description <text:text(1-127)>"},
      {"undo.rule.description", {V::kSecurityRule}, "undo description"},
      // Service-set view.
      {"serviceset.item",
       {V::kServiceSet},
       "service [ <item-id:int(0-255)> ] protocol { { tcp | udp } " + ports +
           " | icmp | icmpv6 | <protocol-number:int(1-255)> }"},
      {"undo.serviceset.item", {V::kServiceSet}, "undo service <item-id:int(0-255)>"},
      // Objects ("objects"): address sets, address ranges and sets in rules, inline services,
      // rule ids.
      {"addrset.enter", {V::kSystem}, "ip address-set <addr-set-name:string(1-31)> type object"},
      {"undo.addrset", {V::kSystem}, "undo ip address-set <addr-set-name:string(1-31)>"},
      {"addrset.item",
       {V::kAddressSet},
       "address [ <addr-id:int(0-4095)> ] { <ip-address:ip> { mask { <mask:mask> | "
       "<mask-len:int(0-128)> } | <wildcard:ipv4> | <host-wildcard:int(0-0)> } | range "
       "<start-ip:ip> "
       "<end-ip:ip> }"},
      {"undo.addrset.item", {V::kAddressSet}, "undo address <addr-id:int(0-4095)>"},
      {"addrset.description", {V::kAddressSet}, "description <text:text(1-127)>"},
      {"undo.addrset.description", {V::kAddressSet}, "undo description"},
      {"display.addrset", kAll, "display ip address-set [ <addr-set-name:string(1-31)> ]"},
      {"rule.srcset",
       {V::kSecurityRule, V::kNatRule},
       "source-address address-set <addr-set-name:string(1-31)>"},
      {"undo.rule.srcset",
       {V::kSecurityRule, V::kNatRule},
       "undo source-address address-set <addr-set-name:string(1-31)>"},
      {"rule.dstset",
       {V::kSecurityRule, V::kNatRule},
       "destination-address address-set <addr-set-name:string(1-31)>"},
      {"undo.rule.dstset",
       {V::kSecurityRule, V::kNatRule},
       "undo destination-address address-set <addr-set-name:string(1-31)>"},
      {"rule.srcrange",
       {V::kSecurityRule, V::kNatRule},
       "source-address range <start-ip:ip> <end-ip:ip>"},
      {"undo.rule.srcrange",
       {V::kSecurityRule, V::kNatRule},
       "undo source-address range <start-ip:ip> <end-ip:ip>"},
      {"rule.dstrange",
       {V::kSecurityRule, V::kNatRule},
       "destination-address range <start-ip:ip> <end-ip:ip>"},
      {"undo.rule.dstrange",
       {V::kSecurityRule, V::kNatRule},
       "undo destination-address range <start-ip:ip> <end-ip:ip>"},
      {"rule.svcitem",
       {V::kSecurityRule},
       "service protocol { { tcp | udp } " + ports +
           " | icmp | icmpv6 | <protocol-number:int(1-255)> }"},
      {"undo.rule.svcitem",
       {V::kSecurityRule},
       "undo service protocol { { tcp | udp } " + ports +
           " | icmp | icmpv6 | <protocol-number:int(1-255)> }"},
      {"rule.enter.id",
       {V::kSecurityPolicy, V::kNatPolicy},
       "rule name <rule-name:string(1-63)> id <rule-id:int(1-2147483647)>"},
      // Area route: static routes, the routing table, ARP, ping and tracert from the firewall.
      // An address where an interface name may stand goes to the next-hop spec (declared first).
      {"route.static",
       {V::kSystem},
       "ip route-static " + route_dest + " <nexthop-address:ipv4>" + route_pref},
      {"route.static.if",
       {V::kSystem},
       "ip route-static " + route_dest + " <interface:ifname> [ <nexthop-address:ipv4> ]" +
           route_pref},
      {"undo.route.static",
       {V::kSystem},
       "undo ip route-static " + route_dest + " [ <nexthop-address:ipv4> ]"},
      {"undo.route.static.if",
       {V::kSystem},
       "undo ip route-static " + route_dest + " <interface:ifname> [ <nexthop-address:ipv4> ]"},
      {"display.routing", kAll, "display ip routing-table"},
      {"display.arp", kAll, "display arp"},
      {"probe.ping",
       {V::kUser, V::kSystem},
       "ping [ -c <count:int(1-100)> | -a <source-ip-address:ipv4> ]* <host:ipv4>"},
      {"probe.tracert",
       {V::kUser, V::kSystem},
       "tracert [ -m <max-ttl:int(1-30)> | -w <timeout:int(100-5000)> ]* <host:ipv4>"},
      // shell (issue 17): sections, saved configuration, clock, terminal. Output pipes
      // (`| include ...`) need no spec: the grammar takes them after every display command.
      {"display.current.section", kAll,
       "display current-configuration configuration <config-section:string(1-63)>"},
      {"display.saved", kAll, "display saved-configuration"},
      {"compare", kAll, "compare configuration"},
      {"display.clock", kAll, "display clock"},
      {"display.history", kAll, "display history-command"},                   // fwcli answers it
      {"screen-length", kAll, "screen-length <lines:int(0-512)> temporary"},  // fwcli acts
      {"undo.screen-length", kAll, "undo screen-length temporary"},
      // Interfaces ("iface" area: fwd/ctl_interface.cpp).
      {"ifmap.add", {V::kSystem}, "map-interface <vrp-name:ifname> <linux-name:ifname>"},
      {"undo.ifmap", {V::kSystem}, "undo map-interface <vrp-name:ifname>"},
      {"iface.enter", {V::kSystem}, "interface <interface:ifname>"},
      {"iface.address",
       {V::kInterface},
       "ip address <ip-address:ipv4> { <mask:mask> | <mask-length:int(1-32)> } [ sub ]"},
      {"undo.iface.address",
       {V::kInterface},
       "undo ip address [ <ip-address:ipv4> { <mask:mask> | <mask-length:int(1-32)> } [ sub ] ]"},
      {"iface.shutdown", {V::kInterface}, "shutdown"},
      {"undo.iface.shutdown", {V::kInterface}, "undo shutdown"},
      {"iface.description", {V::kInterface}, "description <text:text(1-242)>"},
      {"undo.iface.description", {V::kInterface}, "undo description"},
      {"iface.manage", {V::kInterface}, "service-manage ping { permit | deny }"},
      {"undo.iface.manage", {V::kInterface}, "undo service-manage ping"},
      {"display.interface", kAll, "display interface [ <interface:ifname> ] [ brief ]"},
      {"display.ip.interface", kAll, "display ip interface brief"},
      // disp (issue 17): Huawei displays.
      {"display.session.ipv6", kAll, "display firewall ipv6 session table [ verbose ] " + filt},
      {"display.session.statistics", kAll, "display firewall session table statistics"},
      {"display.discard", kAll, "display firewall statistic system discard"},
      {"display.servermap.statistic", kAll, "display firewall server-map statistic"},
      {"display.natpolicy.name", kAll, "display nat-policy rule name <rule-name:string(1-63)>"},
      // guard (issue 16 items 7, 8): source address check of packets arriving in a zone.
      {"zone.urpf", {V::kZone}, "urpf { strict | loose }"},
      {"undo.zone.urpf", {V::kZone}, "undo urpf"},
      // srclimit (issue 16): per-source limits (fwd/ctl_source_limit.cpp).
      {"srclimit.session",
       {V::kSystem},
       "firewall source-ip-limit max-session <session-number:int(1-1000000)>"},
      {"srclimit.rate",
       {V::kSystem},
       "firewall source-ip-limit session-rate <session-rate:int(1-1000000)>"},
      {"srclimit.servermap",
       {V::kSystem},
       "firewall source-ip-limit server-map <entry-number:int(1-65535)>"},
      {"undo.srclimit",
       {V::kSystem},
       "undo firewall source-ip-limit { max-session | session-rate | server-map }"},
      {"zone.srclimit.session",
       {V::kZone},
       "source-ip-limit max-session <session-number:int(1-1000000)>"},
      {"zone.srclimit.rate",
       {V::kZone},
       "source-ip-limit session-rate <session-rate:int(1-1000000)>"},
      {"undo.zone.srclimit", {V::kZone}, "undo source-ip-limit { max-session | session-rate }"},
      {"display.srclimit", kAll, "display firewall source-ip-limit"},
      // anti-ddos (issue 16): per-destination new-session rates of floods
      // (fwd/ctl_anti_ddos.cpp).
      {"antiddos.rate",
       {V::kSystem},
       "anti-ddos { syn-flood | udp-flood | icmp-flood } max-rate <rate:int(1-10000000)>"},
      {"undo.antiddos",
       {V::kSystem},
       "undo anti-ddos { syn-flood | udp-flood | icmp-flood } max-rate"},
      {"zone.antiddos.rate",
       {V::kZone},
       "anti-ddos { syn-flood | udp-flood | icmp-flood } max-rate <rate:int(1-10000000)>"},
      {"undo.zone.antiddos",
       {V::kZone},
       "undo anti-ddos { syn-flood | udp-flood | icmp-flood } max-rate"},
      {"display.antiddos", kAll, "display anti-ddos statistics"},
      // trace (issue 15 item 1): what the firewall would do with a packet (fwd/ctl_trace.cpp).
      {"trace.ports",
       {V::kUser, V::kSystem},
       "packet-trace { input <interface:ifname> | local } protocol { tcp | udp } source "
       "<source-address:ip> <source-port:int(0-65535)> destination <destination-address:ip> "
       "<destination-port:int(0-65535)> [ tcp-flags { syn | ack | fin | rst | psh | urg }* | "
       "ttl <ttl-value:int(1-255)> | json ]*"},
      {"trace.icmp",
       {V::kUser, V::kSystem},
       "packet-trace { input <interface:ifname> | local } protocol { icmp | icmpv6 } source "
       "<source-address:ip> destination <destination-address:ip> [ type <icmp-type:int(0-255)> | "
       "code <icmp-code:int(0-255)> | identifier <icmp-id:int(0-65535)> | "
       "ttl <ttl-value:int(1-255)> | json ]*"},
      {"trace.other",
       {V::kUser, V::kSystem},
       "packet-trace { input <interface:ifname> | local } protocol { gre | esp | ah | "
       "<protocol-number:int(1-255)> } source <source-address:ip> destination "
       "<destination-address:ip> [ spi <spi-value:int(1-4294967295)> | ttl <ttl-value:int(1-255)> "
       "| "
       "json ]*"},
      // "appid" area (issue 14 part 2): application conditions of security rules, and how many
      // packets of a session identification looks at.
      {"rule.application",
       {V::kSecurityRule},
       "application <app:keyword(app)> [ <app:keyword(app)> [ <app:keyword(app)> [ "
       "<app:keyword(app)> [ <app:keyword(app)> [ <app:keyword(app)> ] ] ] ] ]"},
      {"undo.rule.application",
       {V::kSecurityRule},
       "undo application [ <app:keyword(app)> [ <app:keyword(app)> [ <app:keyword(app)> [ "
       "<app:keyword(app)> [ <app:keyword(app)> [ <app:keyword(app)> ] ] ] ] ] ]"},
      {"appid.packets",
       {V::kSystem},
       "firewall application identify packets <packet-number:int(1-64)>"},
      {"undo.appid.packets", {V::kSystem}, "undo firewall application identify packets"},
      // live trace (issue 15 item 2): the trace of the next real packets matching a filter, as
      // they pass (fwd/ctl_trace.cpp, fwd/trace_live.*).
      {"trace.live",
       {V::kUser, V::kSystem},
       "packet-trace live [ max-packets <max-packets:int(1-1000)> | "
       "max-time <max-seconds:int(1-3600)> | protocol { tcp | udp | icmp | icmpv6 | gre | esp | "
       "ah | <protocol-number:int(1-255)> } | source <source-address:ip> "
       "[ <source-port:int(1-65535)> ] | destination <destination-address:ip> "
       "[ <destination-port:int(1-65535)> ] | zone <zone-name:string(1-31)> | both-directions | "
       "json ]*"},
      // "evlog" area (issue 15 item 4): the event log. `terminal monitor` is answered by fwcli
      // (it polls `display logbuffer since N` while the monitor is on).
      {"rule.session-logging", {V::kSecurityRule}, "session logging"},
      {"undo.rule.session-logging", {V::kSecurityRule}, "undo session logging"},
      {"infocenter.logbuffer",
       {V::kSystem},
       "info-center logbuffer size <buffersize:int(1-65536)>"},
      {"undo.infocenter.logbuffer", {V::kSystem}, "undo info-center logbuffer size"},
      {"infocenter.loghost",
       {V::kSystem},
       "info-center loghost unix-socket <socket-path:string(1-107)> [ rfc5424 ]"},
      {"undo.infocenter.loghost", {V::kSystem}, "undo info-center loghost unix-socket"},
      {"display.logbuffer", kAll, "display logbuffer"},
      {"display.logbuffer.summary", kAll, "display logbuffer summary"},
      {"display.logbuffer.since", kAll, "display logbuffer since <sequence:int(0-2147483647)>"},
      {"reset.logbuffer", {V::kUser}, "reset logbuffer"},
      {"terminal.monitor", {V::kUser}, "terminal monitor"},
      {"undo.terminal.monitor", {V::kUser}, "undo terminal monitor"},
      // siptcp (issue 13): the SIP ALG's dialogs and registrations (fwd/ctl_sip.cpp).
      {"display.sip.session", kAll, "display firewall sip session"},
      // "synproxy" area (issue 16 item 2): the TCP SYN proxy (fwd/ctl_anti_ddos.cpp).
      {"antiddos.proxy",
       {V::kSystem},
       "anti-ddos syn-flood tcp-proxy [ alert-rate <alert-value:int(0-10000000)> | max-rate "
       "<rate:int(1-10000000)> ]*"},
      {"undo.antiddos.proxy", {V::kSystem}, "undo anti-ddos syn-flood tcp-proxy"},
      {"zone.antiddos.proxy",
       {V::kZone},
       "anti-ddos syn-flood tcp-proxy [ alert-rate <alert-value:int(0-10000000)> | max-rate "
       "<rate:int(1-10000000)> ]*"},
      {"undo.zone.antiddos.proxy", {V::kZone}, "undo anti-ddos syn-flood tcp-proxy"},
      {"missack.rate",
       {V::kSystem},
       "firewall reverse-session miss-ack rate-limit <miss-ack-rate:int(1-10000000)>"},
      {"undo.missack.rate", {V::kSystem}, "undo firewall reverse-session miss-ack rate-limit"},
      // "halfopen" area (issue 16 item 2): half-open TCP sessions per destination address, the
      // oldest dropped first (fwd/ctl_anti_ddos.cpp).
      {"antiddos.halfopen",
       {V::kSystem},
       "anti-ddos syn-flood half-open-limit <half-open-value:int(0-1000000)>"},
      {"undo.antiddos.halfopen", {V::kSystem}, "undo anti-ddos syn-flood half-open-limit"},
      {"zone.antiddos.halfopen",
       {V::kZone},
       "anti-ddos syn-flood half-open-limit <half-open-value:int(0-1000000)>"},
      {"undo.zone.antiddos.halfopen", {V::kZone}, "undo anti-ddos syn-flood half-open-limit"},
  };
}

std::map<std::string, std::string> help() {
  return {
      {"system-view", "Enter the system view"},
      {"quit", "Exit from current mode and enter prior mode"},
      {"return", "Enter the privileged mode"},
      {"display", "Display information"},
      {"version", "Display version information"},
      {"current-configuration", "Current configuration"},
      {"this", "Current view configuration"},
      {"zone", "Security zone"},
      {"zone-name", "Security zone name"},
      {"security-policy", "Security policy"},
      {"rule", "Security policy rule"},
      {"all", "All rules"},
      {"name", "Specify a name"},
      {"rule-name", "Rule name"},
      {"firewall", "Firewall"},
      {"session", "Session"},
      {"table", "Session table"},
      {"verbose", "Detailed information"},
      {"source", "Source"},
      {"destination", "Destination"},
      {"inside", "Address before NAT"},
      {"global", "Address after NAT"},
      {"src-ip", "Source IP address"},
      {"dst-ip", "Destination IP address"},
      {"protocol", "Protocol"},
      {"tcp", "TCP"},
      {"udp", "UDP"},
      {"icmp", "ICMP"},
      {"icmpv6", "ICMPv6"},
      {"gre", "GRE"},
      {"esp", "ESP"},
      {"ah", "AH"},
      {"application", "Application"},
      {"app", "Application name"},
      {"source-zone", "Source security zone"},
      {"destination-zone", "Destination security zone"},
      {"src-zone", "Source zone name"},
      {"dst-zone", "Destination zone name"},
      {"aging-time", "Session aging time"},
      {"syn", "TCP half-open (SYN) state"},
      {"fin-rst", "TCP closing (FIN/RST) state"},
      {"dns", "DNS"},
      {"ftp", "FTP control"},
      {"ftp-data", "FTP data"},
      {"other", "Other IP protocols"},
      {"seconds", "Aging time in seconds"},
      {"statistics", "Statistics"},
      {"system", "System statistics"},
      {"ip", "IP"},
      {"service-set", "Service set"},
      {"set-name", "Service set name"},
      {"type", "Type"},
      {"object", "Object service set"},
      {"reset", "Reset operation"},
      {"save", "Save the current configuration"},
      {"sysname", "Set the host name"},
      {"host-name", "Host name"},
      {"undo", "Negate a command or set its default"},
      {"set", "Set"},
      {"priority", "Security zone priority"},
      {"add", "Add"},
      {"interface", "Interface"},
      {"move", "Move a rule"},
      {"before", "Before a rule"},
      {"after", "After a rule"},
      {"ref-rule", "Reference rule name"},
      {"up", "Up one position"},
      {"down", "Down one position"},
      {"top", "To the top"},
      {"bottom", "To the bottom"},
      {"default", "Default policy"},
      {"action", "Action"},
      {"permit", "Permit"},
      {"deny", "Deny"},
      {"source-address", "Source address"},
      {"destination-address", "Destination address"},
      {"address", "IPv4 or IPv6 address"},
      {"mask", "Mask"},
      {"length", "Mask length"},
      {"service", "Service"},
      {"disable", "Disable the rule"},
      {"description", "Description"},
      {"text", "Description text"},
      {"item-id", "Service item ID"},
      {"source-port", "Source port"},
      {"destination-port", "Destination port"},
      {"sport", "Source port"},
      {"sport-end", "End source port"},
      {"dport", "Destination port"},
      {"dport-end", "End destination port"},
      {"to", "Range end"},
      {"server-map", "Server map"},
      {"detect", "ASPF: inspect an application protocol"},
      {"interzone", "Interzone (a pair of security zones)"},
      {"zone1", "Security zone name"},
      {"zone2", "Security zone name"},
      {"port-mapping", "Map a non-standard server port to an ALG"},
      {"port", "Port number"},
      {"aspf", "ASPF entries"},
      {"nat-server", "NAT server entries"},
      {"no-pat", "No-PAT"},
      {"static", "Static entries"},
      {"dynamic", "Dynamic entries"},
      {"nat-policy", "NAT policy"},
      {"nat", "NAT"},
      {"server", "NAT server"},
      {"server-name", "NAT server name"},
      {"address-group", "NAT address group"},
      {"group-name", "Address group name"},
      {"global-ip", "Global (public) address"},
      {"global-port", "Global port"},
      {"inside-ip", "Inside (private) address"},
      {"inside-port", "Inside port"},
      {"no-reverse", "Do not translate the server's own outbound connections"},
      {"mode", "Address translation mode"},
      {"pat", "Port address translation"},
      {"section", "Address range"},
      {"section-id", "Section ID"},
      {"start-ip", "Start address"},
      {"end-ip", "End address"},
      {"egress-interface", "Egress interface"},
      {"source-nat", "Source NAT"},
      {"easy-ip", "Translate to the egress interface's address"},
      {"no-nat", "Do not translate"},
      {"protocol-number", "IP protocol number"},
      // Objects ("objects").
      {"address-set", "Address set"},
      {"addr-set-name", "Address set name"},
      {"addr-id", "Address item ID"},
      {"ip-address", "IP address"},
      {"mask-len", "Mask length"},
      {"wildcard", "Wildcard mask"},
      {"host-wildcard", "Wildcard 0: a single host"},
      {"range", "Address range"},
      {"id", "Rule ID"},
      {"rule-id", "Rule ID"},
      // Area route.
      {"route-static", "Establish a static route"},
      {"dest-address", "Destination IP address"},
      {"mask-length", "Mask length"},
      {"nexthop-address", "Next-hop IP address"},
      {"preference", "Route preference"},
      {"preference-value", "Preference value (default 60)"},
      {"routing-table", "IP routing table"},
      {"arp", "ARP entries"},
      {"ping", "Ping function (ICMP echo)"},
      {"tracert", "Trace the route to a host"},
      {"-c", "Number of echo requests to send (default 5)"},
      {"count", "Number of echo requests"},
      {"-a", "Source IP address of the echo requests"},
      {"source-ip-address", "Source IP address"},
      {"host", "IP address of the destination"},
      {"-m", "Maximum TTL (default 30)"},
      {"max-ttl", "Maximum TTL"},
      {"-w", "Time to wait for the replies of each hop, in milliseconds (default 1000)"},
      {"timeout", "Timeout in milliseconds"},
      // shell (issue 17)
      {"configuration", "Configuration"},
      {"config-section", "Section name (zone, security-policy, nat-policy, ...)"},
      {"saved-configuration", "The saved configuration (the next startup configuration)"},
      {"compare", "Compare"},
      {"clock", "Clock"},
      {"history-command", "Commands typed in this session"},
      {"screen-length", "Lines on one screen (interactive shell)"},
      {"lines", "Number of lines, 0: no paging"},
      {"temporary", "For this session only"},
      {"y", "Save without asking"},
      // Interfaces ("iface" area).
      {"map-interface", "Give a Linux interface a VRP name"},
      {"vrp-name", "VRP interface name, e.g. GigabitEthernet1/0/1"},
      {"linux-name", "Linux interface name"},
      {"ip-address", "IP address"},
      {"mask-length", "Mask length"},
      {"sub", "Secondary (sub) address"},
      {"shutdown", "Shut down the interface"},
      {"service-manage", "Access to the firewall itself through this interface"},
      {"brief", "Brief information"},
      // disp (issue 17).
      {"first-fin", "TCP half-closed (first FIN) state"},
      {"http", "HTTP"},
      {"sctp", "SCTP"},
      {"ipv6", "IPv6"},
      {"policy", "Security policy rule"},
      {"policy-name", "Security policy rule name"},
      {"statistic", "Statistic information"},
      {"discard", "Discarded packets"},
      // guard (issue 16 items 7, 8).
      {"urpf", "Unicast reverse path forwarding check of packets arriving in the zone"},
      {"strict", "The route back to the source must leave by the arrival interface"},
      {"loose", "A route back to the source must exist"},
      // srclimit (issue 16).
      {"source-ip-limit", "Limits per source IP address"},
      {"max-session", "Maximum number of sessions of one source IP address"},
      {"session-number", "Number of sessions"},
      {"session-rate", "Maximum number of new sessions per second of one source IP address"},
      {"entry-number", "Number of ASPF server-map entries of one source IP address"},
      // anti-ddos (issue 16).
      {"anti-ddos", "Flood defence"},
      {"syn-flood", "TCP SYN flood: new TCP sessions to one destination address"},
      {"udp-flood", "UDP flood: new UDP sessions to one destination address"},
      {"icmp-flood", "ICMP flood: new ICMP sessions to one destination address"},
      {"max-rate", "Maximum number of new sessions per second to one destination address"},
      {"rate", "New sessions per second"},
      // trace (issue 15 item 1).
      {"packet-trace", "Show what the firewall would do with a packet (nothing is sent)"},
      {"input", "The interface the packet arrives on"},
      {"local", "A packet of the firewall itself"},
      {"tcp-flags", "TCP flags of the packet (default: SYN)"},
      {"ack", "ACK flag"},
      {"fin", "FIN flag"},
      {"rst", "RST flag"},
      {"psh", "PSH flag"},
      {"urg", "URG flag"},
      {"ttl", "Time to live of the packet (default 64)"},
      {"ttl-value", "Time to live"},
      {"json", "Print the trace as JSON"},
      {"code", "ICMP code"},
      {"icmp-type", "ICMP type (default: echo request)"},
      {"icmp-code", "ICMP code"},
      {"identifier", "ICMP echo identifier"},
      {"icmp-id", "ICMP echo identifier"},
      // "appid" area (issue 14 part 2).
      {"identify", "Application identification"},
      {"packets", "Packets of a session (both directions) identification looks at"},
      {"packet-number", "Number of packets (default 10)"},
      // sip (issue 13).
      {"sip-media", "Media (RTP/RTCP) of SIP calls"},
      // live trace (issue 15 item 2).
      {"live", "Trace the next real packets matching a filter as they pass (Ctrl+C stops)"},
      {"max-packets", "Stop after this many packets (default 10)"},
      {"max-time", "Stop after this many seconds (default 60)"},
      {"max-seconds", "Seconds"},
      {"both-directions", "Also trace the packets going the other way"},
      // "evlog" area (issue 15 item 4).
      {"logging", "Log the sessions of this rule (creation and teardown)"},
      {"info-center", "Information center (event log)"},
      {"logbuffer", "Log buffer (the last events)"},
      {"size", "Number of events kept"},
      {"buffersize", "Events kept in the log buffer (default 1024)"},
      {"loghost", "Where syslog datagrams go"},
      {"unix-socket", "A Unix datagram socket instead of /dev/log"},
      {"socket-path", "Path of the socket"},
      {"rfc5424", "RFC 5424 datagrams (default RFC 3164)"},
      {"summary", "Counters of the event log"},
      {"since", "Events after a sequence number"},
      {"sequence", "Sequence number"},
      {"terminal", "Terminal settings of this session"},
      {"monitor", "Show events live in this session"},
      // siptcp (issue 13).
      {"sip", "SIP ALG state"},
      // "synproxy" area (issue 16 item 2).
      {"tcp-proxy", "TCP SYN proxy: the firewall answers SYNs with cookies"},
      {"alert-rate", "SYNs per second to one destination above which the proxy answers"},
      {"alert-value", "SYNs per second (0: always proxy)"},
      {"reverse-session", "Reply-direction packets that match no session"},
      {"miss-ack", "SYN-ACKs that match no session"},
      {"rate-limit", "Maximum number per second (the rest is dropped)"},
      {"miss-ack-rate", "SYN-ACKs per second"},
      // "halfopen" area (issue 16 item 2).
      {"half-open-limit", "Half-open TCP sessions one destination may have (the oldest go)"},
      {"half-open-value", "Sessions (default 1024; 0: no limit)"},
      // "spi" area (issue 16 item 8).
      {"spi", "Security parameter index of the ESP/AH packet (default 1)"},
      {"spi-value", "SPI (1-4294967295; 0 is reserved)"},
  };
}

}  // namespace

std::unique_ptr<Grammar> firewall_grammar(const KeywordSets& sets) {
  // "appid": a caller that knows no applications (an older daemon) gets rules without them.
  KeywordSets all = sets;
  all.try_emplace(std::string(kAppSet));
  return std::make_unique<Grammar>(specs(), help(), all);
}

std::vector<std::string> firewall_keyword_sets() {
  return {std::string(kAlgSet), std::string(kAppSet)};
}

}  // namespace fw::cli
