#include "fwd/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/fd.h"

namespace fw::fwd {
namespace {

// Error texts carry at most this much of a program's output; iptables-save's
// output (the only large one read) is bounded separately.
constexpr size_t kMaxErrorOutput = 16384;
constexpr size_t kMaxOutput = 64u << 20;

std::string program_path(const std::string& name) {
  // Prefer the system binary: PATH of a daemon may be minimal or hostile.
  std::string sbin = "/usr/sbin/" + name;
  if (access(sbin.c_str(), X_OK) == 0) return sbin;
  std::string sbin2 = "/sbin/" + name;
  if (access(sbin2.c_str(), X_OK) == 0) return sbin2;
  return name;  // execvp searches PATH
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

using common::Fd;

bool write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return lseek(fd, 0, SEEK_SET) == 0;
}

std::string read_all(int fd, size_t cap) {
  std::string out;
  char buf[8192];
  off_t off = 0;
  while (out.size() < cap) {
    ssize_t n = pread(fd, buf, sizeof(buf), off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  if (out.size() > cap) out.resize(cap);
  return out;
}

// fork+exec with the three descriptors as standard input, output and error;
// *status is the wait status. False with *why when the child could not be run.
bool spawn_wait(const std::vector<std::string>& argv, int in, int out, int errfd, int* status,
                std::string* why) {
  // Everything the child needs is prepared before fork: after fork in a
  // threaded process only async-signal-safe calls are allowed.
  std::string path = program_path(argv[0]);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  bool search_path = path.find('/') == std::string::npos;

  pid_t pid = fork();
  if (pid < 0) {
    *why = "fork: " + std::string(std::strerror(errno));
    return false;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Moved above 2 first: one of them may itself be 0, 1 or 2.
    int fds[3] = {fcntl(in, F_DUPFD, 3), fcntl(out, F_DUPFD, 3), fcntl(errfd, F_DUPFD, 3)};
    for (int k = 0; k < 3; ++k)
      if (fds[k] < 0 || dup2(fds[k], k) < 0) _exit(126);
    close_range(3, ~0U, 0);  // no netlink sockets etc. leak into iptables
    if (search_path)
      execvp(cargv[0], cargv.data());
    else
      execv(path.c_str(), cargv.data());
    static const char kMsg[] = "exec failed\n";
    (void)!write(2, kMsg, sizeof(kMsg) - 1);
    _exit(127);
  }
  while (waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) {
      *why = "waitpid: " + std::string(std::strerror(errno));
      return false;
    }
  }
  return true;
}

std::string status_text(int status) {
  return WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                           : "killed by signal " + std::to_string(WTERMSIG(status));
}

// merge: standard output and error go to one file (run_program's error text).
bool run(const std::vector<std::string>& argv, const std::string& input, bool merge,
         std::string* out, std::string* err) {
  auto fail = [&](const std::string& msg) {
    if (err) *err = msg;
    return false;
  };
  if (argv.empty()) return fail("empty command");
  Fd in(memfd_create("fwd-stdin", MFD_CLOEXEC));
  Fd so(memfd_create("fwd-stdout", MFD_CLOEXEC));
  Fd se(merge ? -1 : memfd_create("fwd-stderr", MFD_CLOEXEC));
  if (in.fd < 0 || so.fd < 0 || (!merge && se.fd < 0))
    return fail(join(argv) + ": memfd_create: " + std::strerror(errno));
  if (!write_all(in.fd, input)) return fail(join(argv) + ": writing input: " + strerror(errno));
  int status = 0;
  std::string why;
  if (!spawn_wait(argv, in.fd, so.fd, merge ? so.fd : se.fd, &status, &why))
    return fail(join(argv) + ": " + why);
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (ok) {
    if (out) *out = read_all(so.fd, kMaxOutput);
    return true;
  }
  std::string text = trim(read_all(merge ? so.fd : se.fd, kMaxErrorOutput));
  return fail(join(argv) + " failed (" + status_text(status) + ")" +
              (text.empty() ? "" : ": " + text));
}

}  // namespace

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

bool run_program(const std::vector<std::string>& argv, std::string* err) {
  return run(argv, {}, true, nullptr, err);
}

bool run_program_io(const std::vector<std::string>& argv, const std::string& input,
                    std::string* out, std::string* err) {
  return run(argv, input, false, out, err);
}

}  // namespace fw::fwd
