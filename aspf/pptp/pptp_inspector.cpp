// Placeholder replaced by the PPTP inspector (issue 5); registered so the
// registry and `firewall detect pptp` exist. It frames nothing yet.
#include "aspf/pptp/pptp_inspector.h"

namespace fw::aspf::pptp {
namespace {

class NoFramer final : public Framer {
 public:
  void start(uint32_t) override { started_ = true; }
  bool started() const override { return started_; }
  std::vector<Message> feed(uint32_t, std::span<const uint8_t>) override { return {}; }

 private:
  bool started_ = false;
};

class PptpInspector final : public Inspector {
 public:
  std::string_view name() const override { return "pptp"; }
  uint8_t proto() const override { return 6; }
  uint16_t default_port() const override { return 1723; }
  std::unique_ptr<Framer> new_framer() const override { return std::make_unique<NoFramer>(); }
  std::vector<Edit> on_message(Context&, State*, session::Dir, const Message&) const override { return {}; }
};

}  // namespace

std::unique_ptr<Inspector> make_inspector() { return std::make_unique<PptpInspector>(); }

}  // namespace fw::aspf::pptp
