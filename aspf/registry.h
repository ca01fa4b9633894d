#pragma once
// The ALGs this build knows. Adding an ALG = a folder under aspf/ + one
// add_subdirectory + one line in registry.cpp.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aspf/inspector.h"

namespace fw::aspf {

// Index + 1 is the id stored in Session::alg (0 = no ALG).
const std::vector<std::unique_ptr<Inspector>>& inspectors();
const Inspector* inspector(uint8_t id);
uint8_t inspector_id(std::string_view name);  // 0 if unknown
std::vector<std::string> inspector_names();

}  // namespace fw::aspf
