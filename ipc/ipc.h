#pragma once
// The fwcli <-> fwd protocol over a Unix stream socket. Each message is a
// 4-byte big-endian length followed by that many bytes (at most 16 MiB).
// The view is an opaque string to this layer (cli::serialize_views).
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fw::ipc {

struct Request {
  std::string view;  // serialized view stack the line is typed in
  std::string line;  // command line (canonical or as typed); "" = just return the prompt
};

struct Response {
  bool ok = true;      // false: the command failed (fwcli -c exits non-zero)
  std::string output;  // screen text, may be multi-line, ends with '\n' if non-empty
  std::string view;    // the view stack after the command
  std::string prompt;  // prompt for that view ("<FW>", "[FW-zone-trust]")
};

std::string encode(const Request& r);
std::string encode(const Response& r);
std::optional<Request> decode_request(const std::string& bytes);
std::optional<Response> decode_response(const std::string& bytes);

struct PeerCred {
  int pid = 0;
  unsigned uid = 0, gid = 0;
};

// The Server's credential rule (below), on its own (unit-testable with a fake PeerCred).
bool peer_allowed(const PeerCred& cred, const std::string& group);
// Group ids from the "Groups:" line of a /proc/PID/status text (empty if none).
std::vector<unsigned> groups_from_status(const std::string& status_text);

// Framing: one message = 4-byte big-endian length + payload. Return false on
// I/O error, EOF or an oversized frame.
constexpr size_t kMaxFrame = 16u << 20;
bool write_frame(int fd, const std::string& payload);
bool read_frame(int fd, std::string* payload);

// Accepts connections on a Unix socket created with mode 0660 (owner root,
// group `group` if set), checks SO_PEERCRED: root, or a member of `group`
// (primary or supplementary, read from /proc/PID/status), is allowed; anyone
// else gets one Response{ok=false, output="Error: Permission denied: ..."} and
// is disconnected. One thread per connection, serving requests in order.
class Server {
 public:
  using Handler = std::function<Response(const Request&, const PeerCred&)>;
  static std::unique_ptr<Server> start(const std::string& path, const std::string& group,
                                       Handler handler, std::string* err);
  ~Server();  // stops, joins threads, unlinks the socket

 private:
  Server();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Client {
 public:
  static std::unique_ptr<Client> connect(const std::string& path, std::string* err);
  ~Client();
  std::optional<Response> call(const Request& r, std::string* err);

 private:
  Client();
  int fd_ = -1;
};

}  // namespace fw::ipc
