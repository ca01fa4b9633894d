#pragma once
// The VRP command grammar: command specs written in a small syntax, compiled
// into a Grammar object by fwd (which dispatches by command id) and by fwcli (which
// matches, helps and completes locally); each builds its own, with the keyword sets it knows.
//
// Spec syntax (tokens separated by spaces):
//   word               a keyword (matched case-insensitively, abbreviated while unique)
//   <name:type>        a parameter; types:
//                        string            1-63 chars, no spaces  (string(1-31) for other bounds)
//                        int(A-B)          decimal integer in [A,B]
//                        ipv4  ipv6  ip    an address (ip = either family)
//                        mask              an IPv4 dotted mask (contiguous)
//                        ifname            a Linux interface name (1-15 chars) or a VRP
//                                          interface name (GigabitEthernet1/0/1, 1-31 chars)
//                        text              the rest of the line, spaces included (text(1-N),
//                                          default 1-127); must be the last element
//                        keyword(SET)      one value of the keyword set SET given to the
//                                          Grammar (e.g. the ALGs): matched, abbreviated,
//                                          helped and completed like keywords
//   [ a b ]            optional sequence
//   { a b | c | d e }  exactly one of the alternatives (each a sequence)
//   [ a | b ]*         zero or more of the alternatives, any order (each used at most once)
//   { a | b }*         one or more of the alternatives, any order (each used at most once)
// Help texts: keyword and parameter help come from the `help` map given with the
// spec set (key = keyword or parameter name); missing help is an error at compile.
// A keyword set's values carry their own help.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ip_addr.h"

namespace fw::cli {

// Views. Each has a prompt form and a parent.
enum class ViewKind : uint8_t {
  kUser,            // <FW>
  kSystem,          // [FW]
  kZone,            // [FW-zone-trust]                  args: zone name
  kInterzone,       // [FW-interzone-trust-untrust]     args: zone1, zone2
  kSecurityPolicy,  // [FW-policy-security]
  kSecurityRule,    // [FW-policy-security-rule-R1]     args: rule name
  kServiceSet,      // [FW-object-service-set-web]      args: set name
  kNatPolicy,       // [FW-policy-nat]
  kNatRule,         // [FW-policy-nat-rule-R1]          args: rule name
  kAddressGroup,    // [FW-address-group-G1]            args: group name
  kAddressSet,      // [FW-object-address-set-S1]       args: set name
  kInterface,       // [FW-GigabitEthernet1/0/1]        args: interface name as shown
};
std::string_view view_name(ViewKind v);  // "user", "system", "zone", ... (used in specs and IPC)
std::optional<ViewKind> view_from_name(std::string_view s);

struct View {
  ViewKind kind = ViewKind::kUser;
  std::vector<std::string> args;
  bool operator==(const View& o) const { return kind == o.kind && args == o.args; }
};
// Bottom is always the user view; top is the current view.
using ViewStack = std::vector<View>;
ViewStack user_view();
// "<FW>" / "[FW]" / "[FW-zone-trust]" ...
std::string prompt(const ViewStack& vs, std::string_view sysname);

struct CommandSpec {
  std::string id;               // "display.session.table" - the handler key
  std::vector<ViewKind> views;  // where the command is valid
  std::string syntax;           // in the syntax above, including any leading "undo"
};

// One matched token of an input line.
struct MatchedToken {
  bool keyword = false;
  std::string name;   // keyword (full, canonical) or parameter name
  std::string value;  // keyword: same as name; parameter: the text as typed (IP/ints as typed),
                      // but a keyword-set value in full, as its set spells it
  size_t column = 0;  // byte offset of the token in the line (for a caret under it)
  // The typed value the grammar validated, so handlers never parse the text again:
  std::optional<long long> number;     // int(A-B) parameters
  std::optional<common::IpAddr> addr;  // ipv4, ipv6, ip and mask parameters
};

// An output pipe typed after a display command (`display ... | include REGEX`): the command
// engine parses it for every display command (a spec whose syntax starts with "display"), the
// daemon applies it to the command's output (cli/output.h).
struct OutputFilter {
  enum class Kind { kBegin, kCount, kExclude, kInclude };
  Kind kind = Kind::kInclude;
  std::string regex;  // as typed, checked to compile (ECMAScript); empty for count
};

// Whether a spec is a display command (the commands that take an output pipe).
bool is_display(const CommandSpec& spec);

struct Match {
  const CommandSpec* spec = nullptr;
  std::optional<OutputFilter> filter;  // `| include ...` after a display command
  std::vector<MatchedToken> tokens;    // in input order
  std::string canonical;               // line with every keyword expanded, single spaces
                                       // (and the pipe, `| include REGEX`, when there is one)

  bool has(std::string_view keyword) const;                       // keyword present anywhere
  std::optional<std::string> param(std::string_view name) const;  // first value of a parameter
  std::vector<std::string> params(std::string_view name) const;   // all values, in order
  // Value of parameter `name` that comes after keyword `after` (first occurrence).
  std::optional<std::string> param_after(std::string_view after, std::string_view name) const;
  // The first token of parameter `name`, or nullptr.
  const MatchedToken* token(std::string_view name) const;

  // Typed values of the first parameter `name` (nullopt: absent, or not of that type).
  // The range is the spec's (int(A-B)); u8/u16 also refuse values that do not fit.
  std::optional<long long> integer(std::string_view name) const;
  std::optional<uint32_t> u32(std::string_view name) const;
  std::optional<uint16_t> u16(std::string_view name) const;
  std::optional<uint8_t> u8(std::string_view name) const;
  std::optional<common::IpAddr> ip(std::string_view name) const;  // ipv4/ipv6/ip/mask params
  // Address parameter `addr` with either mask parameter `mask` (dotted, IPv4 only) or length
  // parameter `len`; nullopt if absent or if mask/length do not fit the address family.
  std::optional<common::Prefix> prefix(std::string_view addr, std::string_view mask,
                                       std::string_view len) const;
};

enum class ErrorKind { kNone, kUnrecognized, kIncomplete, kAmbiguous, kWrongParameter, kTooMany };

struct ParseOutcome {
  std::optional<Match> match;  // set on success
  ErrorKind error = ErrorKind::kNone;
  size_t error_column = 0;  // byte offset in the line of the offending token (for the caret)
  size_t views_up = 0;      // success: how many views were popped to find it (VRP rule)
};

// The VRP error message for an error kind: "Error: Unrecognized command found at '^' position."
// etc.
std::string error_message(ErrorKind e);
// Two lines: spaces + "^" under column (prompt_len + column), then the message.
std::string render_error(const ParseOutcome& po, size_t prompt_len);

// Named sets of values for keyword(SET) parameters: set name -> (value, help) in display
// order. They come from outside the CLI (the ALG registry), so the grammar is built with them.
using KeywordSets = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

struct HelpItem {
  std::string word;  // keyword, keyword-set value, or parameter placeholder like
                     // "STRING<1-63>", "X.X.X.X", "INTEGER<1-65535>", "<cr>"
  std::string help;
};

class Grammar {
 public:
  // Compiles all specs; throws std::invalid_argument on a bad spec, missing help, a
  // keyword(SET) whose set is not in `sets`, or a set value that is empty, holds a blank or
  // one of * > ?, or repeats another value of its set (case-insensitively). A set may be
  // empty (its parameters then accept nothing).
  Grammar(std::vector<CommandSpec> specs, std::map<std::string, std::string> help,
          KeywordSets sets = {});
  ~Grammar();
  Grammar(const Grammar&) = delete;
  Grammar& operator=(const Grammar&) = delete;

  const std::vector<CommandSpec>& specs() const;

  // Match a full line in the top view of `vs`. If search_parents is set and the
  // line does not match there, the views below are tried in turn (VRP rule: a
  // command not found in the current view is looked up in the views above it);
  // on success views_up tells how many were popped. On failure the error of the
  // current view is reported. Empty lines and lines starting with '#' are
  // reported as kNone with no match.
  ParseOutcome parse(const ViewStack& vs, std::string_view line, bool search_parents) const;

  // Output pipes: a token "|" after a complete display command starts a pipe, matched with
  // its own small grammar (`begin|exclude|include REGEX`, `count`); the REGEX is the rest of
  // the line and must compile (else Wrong parameter under it). After any other command "|"
  // is an ordinary token (a description text may hold one). `?` after a complete display
  // command offers "|" too, and after "| " the four pipes; TAB completes them.
  //
  // `?` help. `line` is everything typed before the '?'. If it ends in a space
  // (or is empty): the possible next tokens with their help, "<cr>" if the line
  // is complete. Otherwise: the keywords the last partial word can complete to.
  // An error in the earlier tokens returns nullopt and sets *err.
  std::optional<std::vector<HelpItem>> help(const ViewKind view, std::string_view line,
                                            ParseOutcome* err) const;
  // TAB: completions of the last partial keyword or keyword-set value (full words). Empty =
  // none.
  std::vector<std::string> complete(const ViewKind view, std::string_view line) const;

  struct Impl;  // defined in grammar.cpp (public so its helpers there can name it)

 private:
  ParseOutcome parse_plain(const ViewStack& vs, std::string_view line, bool search_parents) const;
  bool display_line(ViewKind view, std::string_view line) const;
  std::unique_ptr<Impl> impl_;
};

// Renders help items VRP style: "  word   help" with the words left-aligned in a column.
std::string render_help(const std::vector<HelpItem>& items);

}  // namespace fw::cli
