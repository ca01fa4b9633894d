#pragma once
// Helpers shared by the controller's unit tests.
#include <string>

#include "cli/grammar.h"
#include "fwd/controller.h"

namespace fw::fwd::testing {

inline std::string current(Controller& c) {
  return c.execute(cli::user_view(), "display current-configuration").output;
}

// Hooks that count how many times a configuration was applied (one per batch).
struct CountingHooks {
  int applies = 0;
  ControllerHooks hooks() {
    ControllerHooks h;
    h.on_apply = [this](const config::Config&) {
      ++applies;
      return std::string();
    };
    return h;
  }
};

}  // namespace fw::fwd::testing
