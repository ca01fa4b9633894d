// fwcli: the VRP-like shell. Matches, helps and completes locally with the firewall's
// grammar, built from the keyword sets (the ALGs) fwd sends with its first answer; sends
// canonical lines plus the current view to fwd over the Unix socket. Until it has those sets
// (a daemon too old to send them), lines and '?' go to fwd as typed and fwd matches them.
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/grammar.h"
#include "cli/output.h"
#include "ipc/ipc.h"

namespace po = boost::program_options;

namespace {

struct Session {
  std::string socket_path;
  fw::ipc::ClientOptions options;
  std::unique_ptr<fw::ipc::Client> client;
  std::string view;  // serialized, as the daemon last sent it
  fw::cli::ViewStack stack = fw::cli::user_view();
  std::string prompt = "<FW>";
  // Built from the daemon's keyword sets; null until it sent them.
  std::unique_ptr<fw::cli::Grammar> grammar;
  // The command set with empty keyword sets: TAB and `quit` while `grammar` is null.
  std::unique_ptr<fw::cli::Grammar> fallback;
  // Spreads the retries of many shells refused at once (a full connection table).
  std::minstd_rand jitter{static_cast<unsigned>(getpid())};
  // `display history-command`: the session's last commands (VRP keeps 10), as typed.
  std::deque<std::string> history;
  // `screen-length N temporary` (0: no paging); unset: the terminal's height.
  std::optional<size_t> screen_length;
  // "evlog" area: `terminal monitor`: while on (interactive only), the shell asks fwd for the
  // events after `monitor_seq` (`display logbuffer since N`) every kMonitorPoll while it waits
  // for input, and prints them above the prompt.
  bool monitor = false;
  bool monitor_started = false;  // monitor_seq has been learnt
  uint64_t monitor_seq = 0;
  std::chrono::steady_clock::time_point monitor_next{};
};

constexpr size_t kHistorySize = 10;

Session* g_session = nullptr;
volatile sig_atomic_t g_interrupted = 0;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

fw::cli::ViewKind top_kind(const Session& s) {
  return s.stack.empty() ? fw::cli::ViewKind::kUser : s.stack.back().kind;
}

const fw::cli::Grammar& any_grammar(const Session& s) {
  return s.grammar ? *s.grammar : *s.fallback;
}

// The daemon's keyword sets, when it sent a set of them this shell can build its grammar
// with; otherwise lines keep going to the daemon as typed.
void learn_keywords(Session* s, const fw::ipc::KeywordSets& sets) {
  s->grammar.reset();
  try {
    s->grammar = fw::cli::firewall_grammar(sets);
  } catch (const std::exception& e) {
    std::cerr << "fwcli: the daemon's keywords do not fit this shell (" << e.what()
              << "); commands are matched by the daemon\n";
  }
}

void adopt(Session* s, const fw::ipc::Response& r) {
  // An empty view means "not told" (e.g. an error answer): keep the current one.
  if (!r.view.empty()) {
    if (auto vs = fw::cli::parse_views(r.view)) {
      s->stack = *vs;
      s->view = r.view;
    }
  }
  if (!r.prompt.empty()) s->prompt = r.prompt;
  if (r.keyword_sets) learn_keywords(s, *r.keyword_sets);
}

// Why send() returned no response.
enum class SendError { kNone, kTooLong, kLost, kNoServer, kInterrupted };

// Where the pieces of a streamed answer go as they arrive (false: stop, e.g. `q` at More).
using OnPiece = std::function<bool(const std::string&)>;

// A command the daemon would refuse for its size is refused here, before the grammar
// walks 20 MB of text or the socket carries it.
bool too_long(const Session& s, const std::string& line) {
  size_t n = fw::ipc::Client::wire_size(fw::ipc::Request{s.view, line});
  if (n <= s.options.max_frame) return false;
  std::cerr << "fwcli: command too long (" << n << " bytes with its view, limit "
            << s.options.max_frame << " bytes); not sent\n";
  return true;
}

// Waits before connecting again after "too many connections": 20 ms doubling to 640 ms,
// with jitter, never past `until`.
void back_off(Session* s, int attempt, std::chrono::steady_clock::time_point until) {
  auto base = std::chrono::milliseconds(20 << std::min(attempt, 5));
  auto wait = base / 2 + std::chrono::milliseconds(s->jitter() % (base.count() / 2 + 1));
  std::this_thread::sleep_until(std::min(until, std::chrono::steady_clock::now() + wait));
}

// Sends one line. A connection the daemon closed while we were idle (idle timeout,
// eviction) is replaced first, which is transparent because the view stack travels with
// every request. A request that was executed, or may have been, is never sent again: only a
// closing notice (the daemon closed the connection without executing it) is retried — at
// once after an eviction, after a back-off while the table is full — for at most kRetryFor
// (or the command's timeout if shorter); then the notice is the answer, as a refusal for
// good (credentials) is at once.
constexpr std::chrono::seconds kRetryFor{5};

std::optional<fw::ipc::Response> send(Session* s, const std::string& line, SendError* why,
                                      const OnPiece& on_piece = {}) {
  using fw::ipc::Closing;
  *why = SendError::kTooLong;
  if (too_long(*s, line)) return std::nullopt;
  const auto until = std::chrono::steady_clock::now() +
                     std::min<std::chrono::milliseconds>(s->options.timeout, kRetryFor);
  for (int attempt = 0;; ++attempt) {
    std::string err;
    if (!s->client || s->client->stale()) {
      s->client = fw::ipc::Client::connect(s->socket_path, s->options, &err);
      if (!s->client) {
        std::cerr << "fwcli: cannot connect to " << s->socket_path << ": " << err << "\n";
        *why = SendError::kNoServer;
        return std::nullopt;
      }
    }
    bool stopped = false;  // by on_piece (the reader), not by the connection
    auto r = s->client->call(fw::ipc::Request{s->view, line}, &err, [&](const std::string& p) {
      // Ctrl+C while the shell was printing (not waiting in poll) is seen here.
      stopped = g_interrupted != 0 || (on_piece && !on_piece(p));
      if (stopped) return false;
      if (!on_piece) std::fputs(p.c_str(), stdout);
      return !stopped;
    });
    if (!r && (stopped || err == "interrupted")) {  // Ctrl+C or q: the daemon stops rendering
      g_interrupted = 0;
      s->client.reset();
      *why = SendError::kInterrupted;
      return std::nullopt;
    }
    if (!r) {
      std::cerr << "fwcli: lost connection to " << s->socket_path << ": " << err << "\n";
      s->client.reset();
      *why = SendError::kLost;
      return std::nullopt;
    }
    if (r->closing != Closing::kNone) s->client.reset();
    const bool retry = (r->closing == Closing::kReconnect || r->closing == Closing::kRetryLater) &&
                       std::chrono::steady_clock::now() < until;
    if (!retry) {
      *why = SendError::kNone;
      return r;
    }
    if (r->closing == Closing::kRetryLater) back_off(s, attempt, until);
  }
}

struct HelpAnswer {
  bool ok = true;  // false: the line before the '?' has an error
  std::string text;
};

// '?' typed after `before`. `on_screen`: the prompt and the line are shown already
// (interactive), so the caret goes under them; otherwise the line is printed above the caret.
// Without the local grammar fwd answers "before?"; nullopt if it could not be asked (*why).
std::optional<HelpAnswer> help_for(Session* s, const std::string& before, bool on_screen,
                                   SendError* why) {
  *why = SendError::kNone;
  if (s->grammar) {
    fw::cli::ParseOutcome err;
    auto items = s->grammar->help(top_kind(*s), before, &err);
    if (items) return HelpAnswer{true, fw::cli::render_help(*items)};
    std::string shown = on_screen ? "" : before + "\n";
    return HelpAnswer{false, shown + fw::cli::render_error(err, on_screen ? s->prompt.size() : 0)};
  }
  const std::string echo = s->prompt + before + "?\n";
  auto r = send(s, before + "?", why);
  if (!r) return std::nullopt;
  HelpAnswer a{r->ok, r->output};
  // fwd's error answer echoes the prompt and the line above its caret.
  if (on_screen && a.text.rfind(echo, 0) == 0) a.text.erase(0, echo.size());
  return a;
}

bool is_quit_in_user_view(const Session& s, const std::string& line) {
  if (top_kind(s) != fw::cli::ViewKind::kUser) return false;
  auto po = any_grammar(s).parse(s.stack, line, false);
  return po.match && po.match->canonical == "quit";
}

// ---- the shell's own commands ---------------------------------------------------
// `display history-command` and `screen-length` are in the grammar (so `?` shows them and fwd
// answers other clients) but belong to this session: the shell answers them itself.

void remember(Session* s, const std::string& line) {
  s->history.push_back(trim(line));
  while (s->history.size() > kHistorySize) s->history.pop_front();
}

// The line's match in the current view (or a parent), if it matches.
std::optional<fw::cli::Match> local_match(const Session& s, const std::string& line) {
  auto po = any_grammar(s).parse(s.stack, line, true);
  return po.match;
}

std::string monitor_poll(Session* s);  // "evlog": terminal monitor (below)

// Answers a command of the shell's own; nullopt if the daemon answers it.
std::optional<std::string> local_answer(Session* s, const fw::cli::Match& m) {
  const std::string& id = m.spec->id;
  std::string out;
  if (id == "display.history") {
    for (const auto& h : s->history) out += "  " + h + "\n";
  } else if (id == "terminal.monitor" || id == "undo.terminal.monitor") {  // "evlog"
    s->monitor = id == "terminal.monitor";
    s->monitor_started = false;
    if (s->monitor) out = monitor_poll(s);  // learns where the log is now
    out += s->monitor ? "Info: Current terminal monitor is on.\n"
                      : "Info: Current terminal monitor is off.\n";
  } else if (id == "screen-length" || id == "undo.screen-length") {
    if (id == "screen-length")
      s->screen_length = static_cast<size_t>(m.integer("lines").value_or(0));
    else
      s->screen_length.reset();
    out = "Info: The configuration takes effect on the current user terminal interface only.\n";
  } else {
    return std::nullopt;
  }
  return m.filter ? fw::cli::apply_filter(*m.filter, out) : out;
}

// ---- non-interactive -----------------------------------------------------------

// `next` yields the commands one at a time, so piped input is answered as it comes.
int run_batch(Session* s, const std::function<bool(std::string*)>& next) {
  bool failed = false;
  std::string raw;
  while (next(&raw)) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line.back() == '?') {
      std::string before = raw.substr(0, raw.rfind('?'));
      size_t lead = before.find_first_not_of(" \t");
      before = lead == std::string::npos ? "" : before.substr(lead);
      SendError why;
      auto a = help_for(s, before, false, &why);
      if (!a && why != SendError::kTooLong) return 2;
      if (a) std::fputs(a->text.c_str(), stdout);
      std::fflush(stdout);
      failed |= !a || !a->ok;
      continue;
    }
    if (too_long(*s, line)) {
      failed = true;
      continue;
    }
    // Send the canonical form when the line matches here, as the interactive shell does:
    // an abbreviation that is ambiguous in this view but unique in a parent view
    // ("dis" = disable|display in a rule view) must not behave differently in scripts.
    std::string out = line;
    if (s->grammar) {
      auto local = s->grammar->parse(s->stack, line, true);
      if (local.match) out = local.match->canonical;
    }
    if (auto m = local_match(*s, line)) {
      remember(s, line);
      if (auto a = local_answer(s, *m)) {
        std::fputs(a->c_str(), stdout);
        std::fflush(stdout);
        continue;
      }
    }
    SendError why;
    auto r = send(s, out, &why);
    if (!r) {
      if (why != SendError::kTooLong) return 2;
      failed = true;
      continue;
    }
    std::fputs(r->output.c_str(), stdout);
    std::fflush(stdout);
    adopt(s, *r);
    if (!r->ok) failed = true;
  }
  return failed ? 1 : 0;
}

// ---- interactive -----------------------------------------------------------------

std::vector<std::string> g_candidates;

char* candidate_generator(const char* /*text*/, int state) {
  static size_t idx;
  if (state == 0) idx = 0;
  if (idx < g_candidates.size()) return strdup(g_candidates[idx++].c_str());
  return nullptr;
}

char** attempt_completion(const char* text, int /*start*/, int end) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  if (!g_session) return nullptr;
  std::string before(rl_line_buffer, static_cast<size_t>(end));
  g_candidates = any_grammar(*g_session).complete(top_kind(*g_session), before);
  if (g_candidates.empty()) return nullptr;
  return rl_completion_matches(text, candidate_generator);
}

// VRP '?': help appears at once, then the prompt and the partial line come back.
int help_key(int /*count*/, int /*key*/) {
  if (!g_session) return 0;
  rl_point = rl_end;
  rl_redisplay();
  std::string line(rl_line_buffer, static_cast<size_t>(rl_end));
  std::fputs("?\n", rl_outstream);
  SendError why;
  if (auto a = help_for(g_session, line, true, &why)) std::fputs(a->text.c_str(), rl_outstream);
  std::fflush(rl_outstream);
  rl_on_new_line();
  rl_redisplay();
  return 0;
}

void on_sigint(int) { g_interrupted = 1; }

volatile sig_atomic_t g_ctrl_z = 0;

// Ctrl+Z: VRP's `return` - the line is dropped and the session goes back to the user view.
int ctrl_z_key(int count, int key) {
  g_ctrl_z = 1;
  rl_replace_line("", 0);
  return rl_newline(count, key);
}

// One key from the terminal, without echo or line editing (Ctrl-C arrives as '\x03'); 'q' at EOF.
char read_key() {
  termios old{};
  bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios raw = old;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  char c = 'q';
  ssize_t n;
  do {
    n = read(STDIN_FILENO, &c, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) c = 'q';
  if (tty) tcsetattr(STDIN_FILENO, TCSANOW, &old);
  return c;
}

// Lines on one page: `screen-length N temporary`, else the terminal's height less the More
// line (24 rows when it cannot be told); 0 (no paging) when the output is not a terminal.
size_t page_lines(const Session& s) {
  if (!isatty(STDOUT_FILENO)) return 0;
  if (s.screen_length) return *s.screen_length;
  winsize ws{};
  size_t rows = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 1 ? ws.ws_row : 24;
  return rows - 1;
}

// Prints a command's output a page at a time with VRP's `  ---- More ----`.
void print_paged(const Session& s, const std::string& text) {
  fw::cli::Pager pager(text, page_lines(s));
  std::fputs(pager.first().c_str(), stdout);
  while (!pager.done()) {
    std::fputs(fw::cli::Pager::kPrompt.data(), stdout);
    std::fflush(stdout);
    char key = read_key();
    // The More prompt is wiped and the next lines take its place.
    std::fputs(("\r" + std::string(fw::cli::Pager::kPrompt.size(), ' ') + "\r").c_str(), stdout);
    std::fputs(pager.next(key).c_str(), stdout);
  }
  std::fflush(stdout);
}

// A streamed answer paged as it arrives: lines are printed up to the More prompt, which waits
// for a key right there (the daemon waits meanwhile: back-pressure); q or Ctrl-C stops it.
class LivePager {
 public:
  explicit LivePager(const Session& s) : pager_(page_lines(s)) {}
  bool piece(const std::string& text) {
    std::fputs(pager_.push(text).c_str(), stdout);
    return prompt_while_due();
  }
  void finish(const std::string& rest) {
    if (pager_.stopped()) return;
    std::fputs(pager_.push(rest).c_str(), stdout);
    if (prompt_while_due()) std::fputs(pager_.finish().c_str(), stdout);
    std::fflush(stdout);
  }

 private:
  bool prompt_while_due() {
    while (pager_.at_prompt()) {
      std::fputs(fw::cli::Pager::kPrompt.data(), stdout);
      std::fflush(stdout);
      char key = read_key();
      std::fputs(("\r" + std::string(fw::cli::Pager::kPrompt.size(), ' ') + "\r").c_str(), stdout);
      std::fputs(pager_.key(key).c_str(), stdout);
    }
    std::fflush(stdout);
    return !pager_.stopped();
  }
  fw::cli::StreamPager pager_;
};

// VRP asks before `save` (not `save y`): true when the answer starts with y or Y.
bool confirm_save() {
  std::fputs(
      "The current configuration will be written to the device.\n"
      "Are you sure to continue?[Y/N]",
      stdout);
  std::fflush(stdout);
  std::string answer;
  char c;
  while (read(STDIN_FILENO, &c, 1) == 1 && c != '\n') answer += c;
  answer = trim(answer);
  return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
}

// The terminal's suspend character is switched off while the shell runs, so Ctrl+Z reaches
// readline (ctrl_z_key) instead of stopping the shell; restored at exit.
class NoSuspendKey {
 public:
  NoSuspendKey() {
    if (tcgetattr(STDIN_FILENO, &old_) != 0) return;
    termios t = old_;
    t.c_cc[VSUSP] = _POSIX_VDISABLE;
    ok_ = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
  }
  ~NoSuspendKey() {
    if (ok_) tcsetattr(STDIN_FILENO, TCSANOW, &old_);
  }
  NoSuspendKey(const NoSuspendKey&) = delete;
  NoSuspendKey& operator=(const NoSuspendKey&) = delete;

 private:
  termios old_{};
  bool ok_ = false;
};

// Ctrl-C discards the line being typed, like VRP, instead of killing the shell.
int signal_hook() {
  if (g_interrupted) {
    g_interrupted = 0;
    rl_replace_line("", 0);
    rl_crlf();
    rl_on_new_line();
    rl_redisplay();
  }
  return 0;
}

// ---- terminal monitor ("evlog" area) ---------------------------------------------

constexpr std::chrono::milliseconds kMonitorPoll{300};

// Asks for the events after monitor_seq; the text to print (events, a "missed" note), "" if
// none. The first answer only learns where the log is (older events are not shown).
std::string monitor_poll(Session* s) {
  SendError why;
  const std::string line = "display logbuffer since " + std::to_string(s->monitor_seq);
  auto r = s->client ? send(s, line, &why) : std::nullopt;
  if (!r) return "";
  if (!r->ok || r->output.rfind("Sequence : ", 0) != 0) {
    s->monitor = false;  // a daemon without the event log
    return "Info: This fwd has no event log; terminal monitor is off.\n";
  }
  std::istringstream is(r->output);
  std::string first, rest, l;
  std::getline(is, first);
  const uint64_t last = std::strtoull(first.c_str() + 11, nullptr, 10);
  const bool started = s->monitor_started;
  s->monitor_started = true;
  if (!started || last < s->monitor_seq) {  // the first poll, or the daemon restarted
    s->monitor_seq = last;
    return "";
  }
  s->monitor_seq = last;
  while (std::getline(is, l)) {
    if (l.rfind("Missed : ", 0) == 0) {
      rest += "Info: " + l.substr(9) + " events were not shown (the log buffer moved on).\n";
    } else {
      rest += l + "\n";
    }
  }
  return rest;
}

// rl_event_hook: readline calls it about ten times a second while it waits for a key.
int monitor_hook() {
  Session* s = g_session;
  if (!s || !s->monitor) return 0;
  const auto now = std::chrono::steady_clock::now();
  if (now < s->monitor_next) return 0;
  s->monitor_next = now + kMonitorPoll;
  const std::string text = monitor_poll(s);
  if (text.empty()) return 0;
  std::fputs("\r\033[K", rl_outstream);  // the prompt line is drawn again below the events
  std::fputs(text.c_str(), rl_outstream);
  std::fflush(rl_outstream);
  rl_on_new_line();
  rl_redisplay();
  return 0;
}

void setup_readline(Session* s) {
  g_session = s;
  rl_readline_name = "fwcli";
  rl_attempted_completion_function = attempt_completion;
  rl_completer_word_break_characters = const_cast<char*>(" \t");
  rl_variable_bind("completion-ignore-case", "on");
  rl_bind_key('?', help_key);
  rl_bind_key(26, ctrl_z_key);  // Ctrl+Z
  rl_signal_event_hook = signal_hook;
  rl_event_hook = monitor_hook;  // "evlog": terminal monitor
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  using_history();
}

// One line typed at the prompt: asks, answers locally or sends it. Returns the exit code when
// the shell must end (quit, or no server), nothing to go on reading lines.
std::optional<int> interactive_line(Session* s, const std::string& line) {
  std::string t = trim(line);
  if (t.empty()) return std::nullopt;
  add_history(line.c_str());
  SendError why;
  if (t.back() == '?') {  // pasted text: '?' did not go through the key binding
    if (auto a = help_for(s, line.substr(0, line.rfind('?')), true, &why))
      std::fputs(a->text.c_str(), stdout);
    if (why == SendError::kNoServer) return 2;
    return std::nullopt;
  }
  if (too_long(*s, line)) return std::nullopt;
  std::string out = line;  // without the local grammar fwd matches the line as typed
  if (s->grammar) {
    auto po = s->grammar->parse(s->stack, line, true);
    if (!po.match) {
      if (po.error != fw::cli::ErrorKind::kNone)
        std::fputs(fw::cli::render_error(po, s->prompt.size()).c_str(), stdout);
      return std::nullopt;
    }
    out = po.match->canonical;
  }
  if (is_quit_in_user_view(*s, line)) return 0;
  if (auto m = local_match(*s, line)) {
    remember(s, line);
    if (auto a = local_answer(s, *m)) {
      print_paged(*s, *a);
      return std::nullopt;
    }
    if (m->spec->id == "save" && !m->has("y") && !confirm_save()) return std::nullopt;
  }
  LivePager pager(*s);
  auto r = send(s, out, &why, [&](const std::string& p) { return pager.piece(p); });
  if (!r) {
    if (why == SendError::kNoServer) return 2;
    if (why == SendError::kInterrupted) std::fputs("\n", stdout);
    return std::nullopt;  // reported; the next command reconnects
  }
  pager.finish(r->output);
  adopt(s, *r);
  return std::nullopt;
}

int run_interactive(Session* s) {
  setup_readline(s);
  NoSuspendKey no_suspend;

  for (;;) {
    char* raw = readline(s->prompt.c_str());
    if (!raw) {
      std::fputs("\n", stdout);
      return 0;
    }
    std::string line = raw;
    std::free(raw);
    if (g_ctrl_z) {
      g_ctrl_z = 0;
      line = top_kind(*s) == fw::cli::ViewKind::kUser ? "" : "return";
    }
    if (auto code = interactive_line(s, line)) return *code;
  }
}

std::vector<std::string> split_commands(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(';', start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) return out;
    start = p + 1;
  }
}

// The command line: fills the arguments, or returns the exit code (help, version, an error).
struct Args {
  std::string socket_path, commands;
  bool has_commands = false;
  double timeout_s = 60;
};

std::optional<int> parse_args(int argc, char** argv, Args* a) {
  po::options_description desc(
      "Usage: fwcli [-s SOCKET] [-t SECONDS] [-c \"cmd1; cmd2\"]\nOptions");
  desc.add_options()("help,h", "show this help")("version,V", "print the version and exit")(
      "socket,s", po::value<std::string>(&a->socket_path)->default_value("/run/fwd/fwd.sock"),
      "daemon socket")("command,c", po::value<std::string>(&a->commands),
                       "run these ';'-separated commands and exit")(
      "timeout,t", po::value<double>(&a->timeout_s)->default_value(60),
      "give up on a command the daemon has not answered in this many seconds");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "fwcli: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "fwcli " FW_VERSION "\n";
    return 0;
  }
  a->has_commands = vm.count("command") > 0;
  return std::nullopt;
}

// The session with its offline grammar, connected and given its prompt; false (reported) if not.
bool open_session(const Args& a, Session* s) {
  try {
    fw::cli::KeywordSets none;
    for (const auto& name : fw::cli::firewall_keyword_sets()) none[name] = {};
    s->fallback = fw::cli::firewall_grammar(none);
  } catch (const std::exception& e) {
    std::cerr << "fwcli: bad command grammar: " << e.what() << "\n";
    return false;
  }
  if (!(a.timeout_s > 0 && a.timeout_s <= 86400)) {
    std::cerr << "fwcli: --timeout must be a number of seconds in (0, 86400]\n";
    return false;
  }
  s->socket_path = a.socket_path;
  s->options.timeout =
      std::chrono::milliseconds(static_cast<int64_t>(std::ceil(a.timeout_s * 1000)));
  s->options.interrupted = [] { return g_interrupted != 0; };  // Ctrl+C during an answer
  s->view = fw::cli::serialize_views(fw::cli::user_view());
  SendError why;
  auto first = send(s, "", &why);  // connects, and asks for the prompt
  if (!first) return false;
  if (!first->ok) {  // e.g. permission denied
    std::cerr << first->output;
    return false;
  }
  adopt(s, *first);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (auto code = parse_args(argc, argv, &a)) return *code;
  Session s;
  if (!open_session(a, &s)) return 2;
  if (a.has_commands) {
    auto cmds = split_commands(a.commands);
    size_t i = 0;
    return run_batch(&s, [&](std::string* out) {
      if (i >= cmds.size()) return false;
      *out = cmds[i++];
      return true;
    });
  }
  if (!isatty(STDIN_FILENO))
    return run_batch(
        &s, [](std::string* out) { return static_cast<bool>(std::getline(std::cin, *out)); });
  return run_interactive(&s);
}
