#pragma once
// The firewall's command set: every command spec and the help dictionary.
// fwd registers one handler per spec id; fwcli uses it to match, help and complete.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/grammar.h"

namespace fw::cli {

// The keyword set of the ALGs (`firewall detect`, `detect`, `port-mapping` and their undo):
// fwd fills it from its ALG registry, fwcli from what fwd sends.
inline constexpr std::string_view kAlgSet = "alg";
// "appid" area: the applications of appid/ (fwd fills it; absent = none).
inline constexpr std::string_view kAppSet = "app";

// The firewall's command set compiled with the values of its keyword sets; each name of
// firewall_keyword_sets() must be in `sets`. Throws std::invalid_argument on a bad spec, a
// missing set or a bad value (see Grammar).
std::unique_ptr<Grammar> firewall_grammar(const KeywordSets& sets);
// The names of the keyword sets the firewall's commands take values from.
std::vector<std::string> firewall_keyword_sets();

// Serialize a view stack for IPC ("system|zone:trust|..."), and back. nullopt on bad input.
std::string serialize_views(const ViewStack& vs);
std::optional<ViewStack> parse_views(std::string_view s);

}  // namespace fw::cli
