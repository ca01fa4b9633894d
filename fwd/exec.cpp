#include "fwd/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace fw::fwd {
namespace {

std::string program_path(const std::string& name) {
  // Prefer the system binary: PATH of a daemon may be minimal or hostile.
  std::string sbin = "/usr/sbin/" + name;
  if (access(sbin.c_str(), X_OK) == 0) return sbin;
  std::string sbin2 = "/sbin/" + name;
  if (access(sbin2.c_str(), X_OK) == 0) return sbin2;
  return name;  // execvp searches PATH
}

std::string join_impl(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

std::string trim_impl(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::string join(const std::vector<std::string>& v) { return join_impl(v); }

bool run_program(const std::vector<std::string>& argv, std::string* err) {
  auto fail = [&](const std::string& msg) {
    if (err) *err = msg;
    return false;
  };
  // Everything the child needs is prepared before fork: after fork in a
  // threaded process only async-signal-safe calls are allowed.
  std::string path = program_path(argv[0]);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  bool search_path = path.find('/') == std::string::npos;

  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return fail("pipe: " + std::string(std::strerror(errno)));
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(pfd[0]);
    close(pfd[1]);
    return fail("fork: " + std::string(std::strerror(e)));
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(pfd[1], 1);
    dup2(pfd[1], 2);
    close_range(3, ~0U, 0);  // no netlink sockets etc. leak into iptables
    if (search_path)
      execvp(cargv[0], cargv.data());
    else
      execv(path.c_str(), cargv.data());
    static const char kMsg[] = "exec failed\n";
    (void)!write(2, kMsg, sizeof(kMsg) - 1);
    _exit(127);
  }
  close(pfd[1]);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(pfd[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < 16384) out.append(buf, static_cast<size_t>(n));
  }
  close(pfd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail(join(argv) + ": waitpid: " + std::strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  std::string why = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                      : "killed by signal " + std::to_string(WTERMSIG(status));
  out = trim_impl(out);
  return fail(join(argv) + " failed (" + why + ")" + (out.empty() ? "" : ": " + out));
}

}  // namespace fw::fwd
