#pragma once
// The fwcli <-> fwd protocol over a Unix stream socket. Each message is a
// 4-byte big-endian length followed by that many bytes (at most 16 MiB).
// The view is an opaque string to this layer (cli::serialize_views).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fw::ipc {

struct Request {
  std::string view;  // serialized view stack the line is typed in
  std::string line;  // command line (canonical or as typed); "" = just return the prompt
};

// Named sets of (word, help) pairs the daemon's grammar takes values from (cli::KeywordSets,
// e.g. the ALGs): the shell builds the same grammar from them. Opaque to this layer.
using KeywordSets = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

// Set on the last frame of a connection the server closes on its own (refusal, eviction,
// timeout): nothing the client sent after its last answer was executed.
enum class Closing : uint8_t {
  kNone = 0,        // an answer to a request
  kRetryLater = 1,  // the table was full: connecting again later may succeed
  kReconnect = 2,   // an idle connection was closed (eviction, idle timeout): reconnect now
  kFinal = 3,       // refused for good (credentials, an oversize or unfinished frame)
};

struct Response {
  bool ok = true;      // false: the command failed (fwcli -c exits non-zero)
  std::string output;  // screen text, may be multi-line, ends with '\n' if non-empty
  std::string view;    // the view stack after the command
  std::string prompt;  // prompt for that view ("<FW>", "[FW-zone-trust]")
  // Sent by fwd with the answer to the prompt request (line ""), nullopt otherwise. A
  // response that carries them is encoded in version 2 (see README), which a shell built
  // before them refuses as malformed; every other response keeps the version 1 bytes.
  std::optional<KeywordSets> keyword_sets = std::nullopt;
  // Not kNone only on a closing notice, which is encoded in version 3 (see README).
  Closing closing = Closing::kNone;
  // Version 4: a piece of a streamed answer (only `output` is carried); more frames follow,
  // the last one an ordinary response. See README.
  bool piece = false;
};

std::string encode(const Request& r);
std::string encode(const Response& r);
std::optional<Request> decode_request(const std::string& bytes);
// Both versions; keyword_sets is set exactly when the response carried them.
std::optional<Response> decode_response(const std::string& bytes);

// Version 4: the largest piece of streamed output the server puts in one frame.
constexpr size_t kMaxPiece = 256u << 10;

struct PeerCred {
  int pid = 0;
  unsigned uid = 0, gid = 0;
};

// The Server's credential rule (below), on its own (unit-testable with a fake PeerCred).
bool peer_allowed(const PeerCred& cred, const std::string& group);
// Group ids from the "Groups:" line of a /proc/PID/status text (empty if none).
std::vector<unsigned> groups_from_status(const std::string& status_text);

// Framing: one message = 4-byte big-endian length + payload. Blocking helpers; return
// false on I/O error, EOF or a frame over `max_frame` (checked on the length, before
// anything is allocated; the buffer then grows only with the bytes that arrive).
constexpr size_t kMaxFrame = 16u << 20;
bool write_frame(int fd, const std::string& payload, size_t max_frame = kMaxFrame);
bool read_frame(int fd, std::string* payload, size_t max_frame = kMaxFrame);

// The server's limits. Every limit answers the peer with Response{ok=false,
// output="Error: ...\n"} before closing, except a frame that does not decode.
struct ServerOptions {
  size_t max_clients = 32;  // open allowed connections; root evicts past it (see Server)
  // Root evicts only a connection idle at least this long (a script between two commands is
  // idle for microseconds; evicting it would only make it reconnect and evict another).
  std::chrono::milliseconds evict_idle{2'000};
  size_t max_frame = kMaxFrame;  // largest request accepted / reply sent, payload bytes
  std::chrono::milliseconds frame_timeout{10'000};  // a half-received request (or a reply
                                                    // the peer does not read) is dropped
  std::chrono::milliseconds idle_timeout{600'000};  // VRP idle-timeout 10 minutes
  // Test seam: maps a new connection's SO_PEERCRED to the credentials the server uses for
  // peer_allowed, the root rule and the handler. Empty: SO_PEERCRED as it is.
  std::function<PeerCred(const PeerCred&)> peer_cred;
  // Requests that take seconds (fwd: ping, tracert): run on two threads of their own beside
  // the executor, so the other connections' commands go on meanwhile; the handler is then
  // called concurrently and must be thread-safe. Empty: everything runs on the executor.
  std::function<bool(const Request&)> runs_apart;
  // Version 4 back-pressure: pieces of a streamed answer not yet written to the peer, per
  // connection; the handler's emit waits while this much is queued (the peer reads slowly).
  size_t stream_buffer = 1u << 20;
};

// Counters of a running Server (read from any thread).
struct ServerStats {
  size_t clients = 0;         // connections counted against max_clients now
  size_t in_flight = 0;       // of those, with a request being executed or answered
  size_t buffered_bytes = 0;  // receive + send buffer capacity held for all connections now
  uint64_t accepted = 0;      // connections admitted to the table
  uint64_t denied = 0;        // refused by the credential rule
  uint64_t refused_full = 0;  // refused because the table was full
  uint64_t evicted = 0;       // idle connections closed to make room for root
  uint64_t oversize = 0;      // requests announced larger than max_frame
  uint64_t reply_too_large = 0;
  uint64_t malformed = 0;  // frames that did not decode as a Request
  uint64_t frame_timeouts = 0;
  uint64_t idle_timeouts = 0;
  uint64_t write_timeouts = 0;
  uint64_t requests = 0;  // handler calls finished
  size_t streaming = 0;   // connections with a piece of a streamed answer being written now
  uint64_t pieces = 0;    // batches of pieces handed to connections
};

// Accepts connections on a Unix socket created with mode 0660 (owner root,
// group `group` if set), checks SO_PEERCRED: root, or a member of `group`
// (primary or supplementary, read from /proc/PID/status), is allowed; anyone
// else gets one Response{ok=false, output="Error: Permission denied: ..."} and
// is disconnected.
//
// One event-loop thread (epoll) reads, writes and times out every connection; one
// executor thread runs the handler, one request at a time in arrival order, at most
// one request in flight per connection. So the handler is never called concurrently,
// and a slow command does not stop the loop from accepting, refusing or timing out.
// Past max_clients a new connection is refused with an error, except root (uid 0),
// which evicts the longest-idle connection without a request in flight (that one is
// told why); when every connection has a request in flight root is admitted anyway,
// up to 2 x max_clients.
class Server {
 public:
  using Handler = std::function<Response(const Request&, const PeerCred&)>;
  // Version 4: sends a piece of the answer's output now (split into frames of at most
  // kMaxPiece); waits while ServerOptions::stream_buffer bytes are unsent. False when the
  // connection is gone (closed, timed out, server stopping): stop producing output.
  using Emit = std::function<bool(const std::string&)>;
  using StreamingHandler = std::function<Response(const Request&, const PeerCred&, const Emit&)>;
  static std::unique_ptr<Server> start(const std::string& path, const std::string& group,
                                       Handler handler, std::string* err);
  static std::unique_ptr<Server> start(const std::string& path, const std::string& group,
                                       StreamingHandler handler, const ServerOptions& options,
                                       std::string* err);
  static std::unique_ptr<Server> start(const std::string& path, const std::string& group,
                                       Handler handler, const ServerOptions& options,
                                       std::string* err);
  ~Server();  // stops the loop, waits for a running handler, closes all, unlinks the socket
  ServerStats stats() const;

 private:
  Server();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ClientOptions {
  size_t max_frame = kMaxFrame;  // larger requests are refused locally, larger replies fail
  std::chrono::milliseconds timeout{60'000};  // for one call: sending plus the whole reply
                                              // (a streamed reply: until each next frame)
  // Checked when a wait is interrupted by a signal: true ends the call ("interrupted") and
  // closes the connection, which tells the server to stop rendering (fwcli's Ctrl+C).
  std::function<bool()> interrupted;
};

// A blocking client whose every wait is bounded by ClientOptions::timeout. After a
// failed call (other than a request refused locally for its size) the connection is
// closed: a reply can no longer be matched to its request.
class Client {
 public:
  static std::unique_ptr<Client> connect(const std::string& path, std::string* err);
  static std::unique_ptr<Client> connect(const std::string& path, const ClientOptions& options,
                                         std::string* err);
  ~Client();
  std::optional<Response> call(const Request& r, std::string* err);
  // Version 4: the pieces of a streamed answer go to on_piece as they arrive (false from it
  // ends the call as interrupted); the final response carries the rest of the output.
  std::optional<Response> call(const Request& r, std::string* err,
                               const std::function<bool(const std::string&)>& on_piece);
  // True when the connection is closed, or the server has closed it or spoken unasked
  // (an idle-timeout or eviction notice) since the last reply: a request sent now would
  // not be executed. Check before sending, then reconnect, so nothing is sent twice.
  bool stale() const;
  // Payload size of r on the wire (compare with max_frame before sending).
  static size_t wire_size(const Request& r);

 private:
  Client();
  void disconnect();
  int fd_ = -1;
  ClientOptions options_;
};

}  // namespace fw::ipc
