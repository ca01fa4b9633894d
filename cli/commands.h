#pragma once
// The firewall's command set: every command spec and the help dictionary.
// fwd registers one handler per spec id; fwcli uses it to match, help and complete.
#include "cli/grammar.h"

namespace fw::cli {

// Built once on first use (thread-safe static); throws at first use if a spec is bad.
const Grammar& firewall_grammar();

// Serialize a view stack for IPC ("system|zone:trust|..."), and back. nullopt on bad input.
std::string serialize_views(const ViewStack& vs);
std::optional<ViewStack> parse_views(std::string_view s);

}  // namespace fw::cli
