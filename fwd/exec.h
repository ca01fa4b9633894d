#pragma once
// Run a system program (iptables, ip) with fork+exec, no shell; its output is
// captured for the error message.
#include <string>
#include <vector>

namespace fw::fwd {

// True on exit code 0; otherwise false with "ARGV failed (exit code N): OUTPUT" in *err.
bool run_program(const std::vector<std::string>& argv, std::string* err);
std::string join(const std::vector<std::string>& v);

}  // namespace fw::fwd
