// A file descriptor closed on every path out of its scope (not copyable).
#pragma once

#include <unistd.h>

namespace fw::common {

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace fw::common
