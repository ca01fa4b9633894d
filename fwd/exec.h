#pragma once
// Run a system program (iptables, ip) with fork+exec, no shell; its output is
// captured for the error message.
#include <string>
#include <vector>

namespace fw::fwd {

// True on exit code 0; otherwise false with "ARGV failed (exit code N): OUTPUT" in *err.
bool run_program(const std::vector<std::string>& argv, std::string* err);

// Like run_program, with `input` as the program's standard input and its
// standard output in *out (when out is not null). Standard error goes into the
// error text only. Input and output pass through memory files, not pipes, so a
// program that fails early can neither block on a full pipe nor raise SIGPIPE.
bool run_program_io(const std::vector<std::string>& argv, const std::string& input,
                    std::string* out, std::string* err);

std::string join(const std::vector<std::string>& v);

}  // namespace fw::fwd
