// The TFTP inspector (RFC 1350). A read (RRQ) or write (WRQ) request goes to
// the server's port 69; the server answers from a port of its own (its
// transfer id) to the client's port, and the whole transfer runs between those
// two ports. Each well-formed request opens one one-shot server-map entry that
// admits exactly that answer - from the server's address to the client's port
// as the server sees it (the translated one under source NAT) - for 60 s. The
// transfer becomes a tftp-data session that inherits the request's NAT both
// ways; behind a NAT server it leaves with the server's global address.
// Nothing in a TFTP request names an address or port, so nothing is rewritten.
#include "aspf/tftp/tftp_inspector.h"

#include <array>
#include <string>
#include <vector>

#include "aspf/tftp/tftp_parser.h"

namespace fw::aspf::tftp {
namespace {

constexpr uint64_t kEntryLifetimeMs = 60'000;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kDataChannel = 0;
constexpr std::array<Channel, 1> kChannels = {{{"tftp-data", ""}}};  // ages as udp

// Counters: the parser's errors first (index = Error), then these.
constexpr size_t kParsed = kErrorCount;
constexpr size_t kNotRequest = kErrorCount + 1;

class TftpInspector final : public Inspector {
 public:
  TftpInspector() {
    for (size_t i = 0; i < kErrorCount; ++i) {
      names_.push_back("refused." + std::string(error_name(static_cast<Error>(i))));
    }
    names_.push_back("parsed");
    names_.push_back("not-request");
    for (const auto& n : names_) views_.push_back(n);
    spec_ = {"tftp", "Trivial File Transfer Protocol", {kUdp}, 69, views_, kChannels};
  }

  const AlgSpec& spec() const override { return spec_; }

  std::vector<Edit> on_message(Context& ctx, State*, session::Dir d, const Message& msg) override {
    // Only the client's requests matter; anything else on port 69 (an ERROR
    // from the server) opens nothing.
    if (d != session::Dir::kOriginal) return {};
    ParseOutcome r = parse(msg.bytes);
    if (r.error) {
      ctx.refuse(static_cast<size_t>(*r.error), "not a well-formed RRQ/WRQ");
      return {};
    }
    if (!r.request) {
      ctx.count(kNotRequest);
      return {};
    }
    ctx.count(kParsed);
    if (auto* t = ctx.trace()) {
      t->parsed(std::string(r.request->opcode == Opcode::kRrq ? "RRQ " : "WRQ ") +
                r.request->filename);
    }
    ctx.open(answer_entry(ctx));
    return {};
  }

 private:
  // The server's first answer: from its address (any port) to the client's
  // port as the server knows it.
  static session::ServerMapEntry answer_entry(const Context& ctx) {
    const session::Session& s = ctx.control();
    session::ServerMapEntry e;
    e.proto = kUdp;
    e.channel = kDataChannel;
    e.one_shot = true;
    e.port_exact = true;
    e.expires_ms = ctx.now_ms() + kEntryLifetimeMs;
    e.peer = s.reply.src;  // the server's own (inside, behind a NAT server) address
    e.addr = s.reply.dst;  // the client as the server sees it
    e.port = s.reply.dport;
    if (s.nat.snat) {
      e.xaddr = s.orig.src;
      e.xport = s.orig.sport;
    }
    // Behind a NAT server the answer leaves with the server's global address.
    if (s.nat.dnat) e.sxaddr = s.orig.dst;
    return e;
  }

  std::vector<std::string> names_;
  std::vector<std::string_view> views_;
  AlgSpec spec_;
};

}  // namespace

std::unique_ptr<Inspector> make_inspector() { return std::make_unique<TftpInspector>(); }

}  // namespace fw::aspf::tftp
