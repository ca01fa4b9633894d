#pragma once
// The daemon's kernel rules, kept in chains of its own in the raw and mangle
// tables (IPv4 and IPv6), each hooked from its built-in chain by one jump:
//
//   raw    PREROUTING -> FWD-PRE: -i ZONE_IF -j CT --notrack
//   raw    OUTPUT     -> FWD-OUT: -o ZONE_IF -j CT --notrack
//   mangle PREROUTING -> FWD-PRE: lo, unmanaged: RETURN; -> FWD-DDOS; ZONE_IF: NFQUEUE;
//                                 rest: DROP
//   mangle FWD-DDOS   (jumped to from FWD-PRE): empty but while a flood attack lasts: per
//                     attacked destination, its flood's packets above a rate are dropped here
//                     (set_flood_drops(); see FloodDrop)
//   mangle FORWARD    -> FWD-FWD: to unmanaged: RETURN; from unmanaged: DROP;
//                                 to ZONE_IF: RETURN; rest: DROP
//   mangle OUTPUT     -> FWD-OUT: lo, unmanaged: RETURN; ZONE_IF: NFQUEUE; rest: DROP
//
// An interface in no zone forwards nothing (as on a USG), whether or not the
// queue saw the packet. Every update reads the tables (iptables-save), then
// rewrites the chains' whole contents, removes stale jumps and rules of the old
// layout and sets exactly one jump per hook, in one iptables-restore --noflush
// transaction per table (raw, then mangle), so leftovers of any number of
// crashed instances end up as exactly one set. The queueing and dropping all
// live in mangle, so no update opens a window where traffic passes unqueued.
// The programs run with fork+exec, no shell.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ip_addr.h"
#include "session/flood_limit.h"

namespace fw::fwd {

// "kernel drops" (issue 16 item 1): a destination fwd's flood defence is refusing (`anti-ddos
// ... max-rate`). While the attack lasts, the kernel passes the kind's packets to it (UDP: all;
// syn-flood: TCP SYNs; icmp-flood: echo requests) up to pass_rate a second to the queue and
// drops the rest before they cost a copy to user space. fwd keeps refusing above its limit among
// what passes (pass_rate is above the limit, so it still sees the attack and knows when it
// ends).
struct FloodDrop {
  session::FloodKind kind = session::FloodKind::kUdp;
  common::IpAddr dst;
  uint32_t pass_rate = 0;
  bool operator==(const FloodDrop&) const = default;
};

struct RuleOptions {
  uint16_t queue_num = 0;
  uint16_t queues = 1;     // --queue-balance queue_num:queue_num+queues-1 when > 1
  bool fail_open = false;  // adds --queue-bypass
  // TCP SYNs (SYN without ACK, FIN, RST) arriving on zone interfaces go to queue
  // queue_num + queues instead, ahead of the rule that queues everything else.
  bool syn_queue = false;
  // Comment of the old layout's rules (inserted straight into the built-in
  // chains). Rules carrying it, or any "fwd-q<N>", are removed as leftovers.
  std::string tag;
  std::string chain_prefix = "FWD";  // chains PREFIX-PRE, PREFIX-FWD, PREFIX-OUT
  // Interfaces fwd leaves alone (e.g. management): RETURN instead of DROP.
  std::set<std::string> unmanaged;
  // Chain PREFIX-FRG in raw holds one `-m socket` rule and is never jumped to: loading a socket
  // match is what makes the kernel reassemble fragments for the namespace (NOTRACK, unlike a
  // conntrack rule, does not), so fwd gets whole datagrams - the ALGs read a fragmented SIP
  // message, NAT translates every fragment's addresses - and the kernel fragments them again on
  // output. Off (empty chain) when the kernel has no socket match.
  bool defrag = true;
};

// One rule as iptables-save -c prints it.
struct SavedRule {
  std::string chain;
  std::string spec;  // everything after "-A CHAIN ", verbatim: usable after -D
  uint64_t packets = 0;
  uint64_t bytes = 0;
  std::string target;   // argument of -j or -g ("" if none)
  std::string comment;  // argument of --comment, unquoted ("" if none)
};

struct SavedTable {
  std::string name;
  std::vector<std::string> chains;  // declared chains, built-in and user
  std::vector<SavedRule> rules;
  bool has_chain(const std::string& chain) const;
};

struct SavedRuleset {
  std::vector<SavedTable> tables;
  size_t bad_lines = 0;  // lines that fit no known form (skipped)
  const SavedTable* table(const std::string& name) const;
};

// Parses iptables-save / ip6tables-save output (with or without -c).
SavedRuleset parse_iptables_save(const std::string& text);

// What an earlier instance left in the tables (both families summed).
struct Leftovers {
  size_t chains = 0;        // our chains
  size_t jumps = 0;         // rules jumping to them (one per hook is a full set)
  size_t held_jumps = 0;    // of those, marked by hold()
  size_t legacy_rules = 0;  // old layout: rules tagged "fwd-q<N>" (or RuleOptions::tag)
  bool found() const { return chains > 0 || jumps > 0 || legacy_rules > 0; }
  // Left on purpose by hold() for a planned restart (not a crash).
  bool held() const { return jumps > 0 && held_jumps == jumps && legacy_rules == 0; }
  Leftovers& operator+=(const Leftovers& o);
};

// Packets the DROP rules of our mangle chains have dropped ("no zone"): counted
// since the chains were created; they survive updates, hold() and adoption.
struct NoZoneDrops {
  uint64_t in = 0;       // arrived on an interface in no zone (PREROUTING)
  uint64_t forward = 0;  // routed out of an interface in no zone, or skipped the queue (FORWARD)
  uint64_t out = 0;      // the firewall's own traffic out of an interface in no zone (OUTPUT)
  uint64_t total() const { return in + forward + out; }
  NoZoneDrops& operator+=(const NoZoneDrops& o);
};

class RuleInstaller {
 public:
  explicit RuleInstaller(RuleOptions opt);
  // Removes everything fwd owns if this instance installed anything, unless
  // hold() was called.
  ~RuleInstaller();
  RuleInstaller(const RuleInstaller&) = delete;
  RuleInstaller& operator=(const RuleInstaller&) = delete;

  // Make the chains match these zone interfaces (IPv4 and IPv6), replacing
  // whatever an earlier instance left. False with *err on failure (bad names:
  // nothing is run; otherwise the tables keep their previous contents, per
  // table). "lo" is always left alone and is ignored here. After a successful sync,
  // the same set of interfaces again runs nothing.
  bool sync(const std::set<std::string>& zone_interfaces, std::string* err);
  // What the first successful sync() found and replaced: found() tells a start
  // after a crash or hold() from a clean one, held() which of the two.
  const Leftovers& leftovers() const { return leftovers_; }

  // Removes exactly what fwd owns (chains, jumps to them, old-layout rules),
  // whether or not this instance installed it. Foreign rules stay.
  bool remove_all(std::string* err = nullptr);
  // Leave the rules at exit, marked as held: traffic stays queued to a queue
  // nobody reads (dropped, fail-closed; passed with fail_open) until the next
  // start replaces them in one transaction. False if the mark could not be
  // set; the rules stay either way.
  bool hold(std::string* err = nullptr);

  // What fwd's DROP rules dropped, from one iptables-save -c -t mangle per family: the no-zone
  // rules' counters and, by flood kind (index: FloodKind), the flood drops' (those replaced
  // earlier included). Any thread; waits for a sync() or set_flood_drops() in progress (so a
  // replacement meanwhile neither counts twice nor loses its count).
  struct KernelDrops {
    NoZoneDrops no_zone;
    std::vector<uint64_t> floods;
  };
  std::optional<KernelDrops> kernel_drops(std::string* err) const;
  // kernel_drops().no_zone.
  std::optional<NoZoneDrops> no_zone_drops(std::string* err) const;

  const RuleOptions& options() const { return opt_; }

  // ---- Pure parts (tested without root) ----
  // "" if the name is acceptable as an interface argument.
  static std::string check_interface_name(const std::string& name);
  // "" if the options are usable (chain prefix, unmanaged names, queue range).
  static std::string check_options(const RuleOptions& opt);
  // Our chains in a table ("raw" or "mangle").
  static std::vector<std::string> chains_of(const RuleOptions& opt, const std::string& table);
  // The rules our chains must hold, "-A CHAIN SPEC" as iptables-save prints them.
  static std::vector<std::string> chain_rules(const RuleOptions& opt,
                                              const std::set<std::string>& zone_interfaces,
                                              const std::string& table);
  // The built-in chain -> our chain hooks of a table, with the jump's comment.
  static std::vector<std::string> jump_rules(const RuleOptions& opt, const std::string& table,
                                             bool held);
  // iptables-restore --noflush --counters input that turns `current` (one
  // family's iptables-save -c) into exactly one set for these interfaces.
  // Rule counters present in `current` are carried over.
  static std::string restore_text(const RuleOptions& opt,
                                  const std::set<std::string>& zone_interfaces,
                                  const SavedRuleset& current, bool held);
  // iptables-restore --noflush input removing everything of ours from `current`
  // ("" if there is nothing).
  static std::string removal_text(const RuleOptions& opt, const SavedRuleset& current);
  static Leftovers find_leftovers(const RuleOptions& opt, const SavedRuleset& current);
  static NoZoneDrops drops_in(const RuleOptions& opt, const SavedRuleset& current);

  // ---- "kernel drops" (issue 16 item 1) ----
  // Replace the flood drops (FWD-DDOS's contents, both families); kept and installed again by
  // sync(). Rule counters of the drops replaced are added to flood_dropped(). Takes the same
  // lock as sync(): any thread.
  bool set_flood_drops(const std::vector<FloodDrop>& drops, std::string* err);
  // kernel_drops().floods (when the tables cannot be read: what the replaced drops counted).
  std::vector<uint64_t> flood_dropped(std::string* err) const;
  // The rules of FWD-DDOS for these drops, one family's ("-A CHAIN SPEC").
  static std::vector<std::string> flood_rules(const RuleOptions& opt,
                                              const std::vector<FloodDrop>& drops, bool v6);
  // The packets dropped by FWD-DDOS's rules in `current`, by flood kind (added to `out`).
  static void flood_drops_in(const RuleOptions& opt, const SavedRuleset& current,
                             std::vector<uint64_t>* out);

 private:
  bool apply(bool held, std::string* err);
  bool apply_family(bool v6, bool held, Leftovers* found, std::string* err);
  bool apply_flood_drops(bool v6, std::string* err);
  // One family's mangle table as iptables-save -c prints it.
  static std::optional<SavedRuleset> saved_mangle(bool v6, std::string* err);

  mutable std::mutex mu_;  // sync(), hold(), remove_all(), set_flood_drops(): one at a time
  RuleOptions opt_;
  std::vector<FloodDrop> flood_drops_;
  bool flood_installed_ = false;  // FWD-DDOS holds flood_drops_ (false after a failed apply)
  std::vector<uint64_t> flood_dropped_ =
      std::vector<uint64_t>(static_cast<size_t>(session::FloodKind::kCount));
  std::set<std::string> zone_interfaces_;
  Leftovers leftovers_;
  bool synced_once_ = false;
  bool in_sync_ = false;  // the kernel holds the chains for zone_interfaces_
  bool touched_ = false;  // anything may have been installed by this instance
  bool held_ = false;
};

}  // namespace fw::fwd
