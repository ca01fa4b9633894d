// The FTP inspector. Where the control session is translated, the address and
// port announced for a data connection are rewritten to what the peer can
// reach, and an ASPF server-map entry admits exactly that data connection
// (once, for about a minute) without a policy match.
#include "aspf/ftp/ftp_inspector.h"

#include <array>

#include "aspf/ftp/ftp_parser.h"
#include "aspf/line_buffer.h"

namespace fw::aspf::ftp {
namespace {

constexpr uint64_t kEntryLifetimeMs = 60'000;
constexpr uint16_t kLowestDataPort = 1024;
constexpr uint8_t kTcp = 6;

// Counters (below "aspf.ftp."), by index.
enum : size_t { kParsed, kMalformed, kRefMalformed, kRefBounce, kRefLowPort, kRefSplit, kRefNat };
constexpr std::array<std::string_view, 7> kCounters = {
    "parsed",           "malformed",     "refused.malformed",    "refused.bounce",
    "refused.low-port", "refused.split", "refused.nat-exhausted"};

constexpr uint8_t kDataChannel = 0;
constexpr std::array<Channel, 1> kChannels = {{{"ftp-data", "ftp-data"}}};

constexpr AlgSpec kSpec = {"ftp", "File Transfer Protocol", {kTcp}, 21, kCounters, kChannels};

// The edit that replaces just the announcement's argument (the rest of the
// line may have left in an earlier segment).
Edit arg_edit(std::string_view line, const Announcement& a, const common::IpAddr& addr,
              uint16_t port) {
  std::string nl = rewrite_line(line, a, addr, port);
  size_t tail = line.size() - a.arg_end;
  return {a.arg_begin, a.arg_end - a.arg_begin,
          nl.substr(a.arg_begin, nl.size() - tail - a.arg_begin)};
}

session::ServerMapEntry data_entry(const Context& ctx) {
  session::ServerMapEntry e;
  e.proto = kTcp;
  e.channel = kDataChannel;
  e.one_shot = true;
  e.expires_ms = ctx.now_ms() + kEntryLifetimeMs;
  return e;
}

// Live trace: what an announcement says ("PORT: data connection to 198.18.1.2:40001").
std::string traced(const Announcement& a) {
  static constexpr const char* kNames[] = {"PORT", "EPRT", "227 (PASV)", "229 (EPSV)"};
  const std::string to = a.addr.empty()
                             ? "the control connection's address, port " + std::to_string(a.port)
                             : a.addr.str() + ":" + std::to_string(a.port);
  return std::string(kNames[static_cast<size_t>(a.kind)]) + ": data connection to " + to;
}

class FtpInspector final : public Inspector {
 public:
  const AlgSpec& spec() const override { return kSpec; }
  std::unique_ptr<Framer> new_framer() const override { return make_line_framer(1024); }

  std::vector<Edit> on_message(Context& ctx, State*, session::Dir d, const Message& msg) override {
    std::string_view line(reinterpret_cast<const char*>(msg.bytes.data()), msg.bytes.size());
    ParseResult r =
        d == session::Dir::kOriginal ? parse_client_line(line) : parse_server_line(line);
    if (r.status == ParseStatus::kIrrelevant) return {};
    if (r.status == ParseStatus::kMalformed) {
      ctx.count(kMalformed);
      ctx.refuse(kRefMalformed, r.why);
      return {};
    }
    ctx.count(kParsed);
    if (auto* t = ctx.trace()) t->parsed(traced(r.a));
    return d == session::Dir::kOriginal ? active(ctx, line, r.a, msg.editable_from)
                                        : passive(ctx, line, r.a, msg.editable_from);
  }

 private:
  // PORT / EPRT: the server will connect back to the client.
  static std::vector<Edit> active(Context& ctx, std::string_view line, const Announcement& a,
                                  size_t editable) {
    const session::Session& s = ctx.control();
    const common::IpAddr client = s.orig.src;   // as the client sent it (pre-NAT)
    const common::IpAddr server = s.reply.src;  // the server's real address
    if (!(a.addr == client)) {
      ctx.refuse(kRefBounce,
                 "PORT/EPRT names " + a.addr.str() + ", not the client " + client.str());
      return {};
    }
    if (a.port < kLowestDataPort) {
      ctx.refuse(kRefLowPort, "data port " + std::to_string(a.port) + " below 1024");
      return {};
    }
    session::ServerMapEntry e = data_entry(ctx);
    e.peer = server;
    std::vector<Edit> edits;
    if (s.nat.snat) {
      if (a.arg_begin < editable) {
        ctx.refuse(kRefSplit,
                   "the address of a PORT/EPRT split across segments cannot be rewritten");
        return {};
      }
      // The server must connect to the translated address: reserve a port there.
      auto port = ctx.reserve_port(s.nat.snat_addr, kTcp, a.port);
      if (!port) {
        ctx.refuse(kRefNat, "no free port on " + s.nat.snat_addr.str());
        return {};
      }
      e.addr = s.nat.snat_addr;
      e.port = *port;
      e.xaddr = client;
      e.xport = a.port;
      e.reserved = true;
      edits.push_back(arg_edit(line, a, s.nat.snat_addr, *port));
    } else {
      e.addr = client;
      e.port = a.port;
      // Behind a NAT server the data connection leaves with the global address.
      if (s.nat.dnat) e.sxaddr = s.orig.dst;
    }
    if (!ctx.open(e)) return {};
    return edits;
  }

  // 227 / 229: the client will connect to the server.
  static std::vector<Edit> passive(Context& ctx, std::string_view line, const Announcement& a,
                                   size_t editable) {
    const session::Session& s = ctx.control();
    const common::IpAddr server = s.reply.src;  // real (inside, if NAT server) address
    const common::IpAddr addr = a.addr.empty() ? server : a.addr;
    if (!(addr == server)) {
      ctx.refuse(kRefBounce, "227 names " + addr.str() + ", not the server " + server.str());
      return {};
    }
    if (a.port < kLowestDataPort) {
      ctx.refuse(kRefLowPort, "data port " + std::to_string(a.port) + " below 1024");
      return {};
    }
    session::ServerMapEntry e = data_entry(ctx);
    e.peer = s.orig.src;  // the client, as it sends
    e.port = a.port;
    std::vector<Edit> edits;
    if (s.nat.dnat && !a.addr.empty() && a.arg_begin < editable) {
      ctx.refuse(kRefSplit, "the address of a 227 reply split across segments cannot be rewritten");
      return {};
    }
    if (s.nat.dnat) {
      // The client knows the server by its global address.
      e.addr = s.orig.dst;
      e.xaddr = server;
      e.xport = a.port;
      if (!a.addr.empty()) edits.push_back(arg_edit(line, a, s.orig.dst, a.port));
    } else {
      e.addr = server;
      if (s.nat.snat) e.sxaddr = s.nat.snat_addr;  // the data connection leaves like its control
    }
    if (!ctx.open(e)) return {};
    return edits;
  }
};

}  // namespace

std::unique_ptr<Inspector> make_inspector() { return std::make_unique<FtpInspector>(); }

}  // namespace fw::aspf::ftp
