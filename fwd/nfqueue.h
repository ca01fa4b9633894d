#pragma once
// NFQUEUE packet source over libmnl + libnetfilter_queue's mnl API.
// One NfQueue = one queue number = one worker thread calling run().
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace fw::fwd {

struct QueueOptions {
  uint16_t queue_num = 0;
  uint32_t max_len = 8192;            // NFQA_CFG_QUEUE_MAXLEN
  uint32_t rcvbuf_bytes = 64u << 20;  // SO_RCVBUFFORCE (fallback SO_RCVBUF)
  uint32_t batch = 64;     // messages read per recvmmsg/recvmsg round before verdicts are flushed
  bool gso = true;         // NFQA_CFG_F_GSO: accept GSO super-packets unsegmented
  bool fail_open = false;  // NFQA_CFG_F_FAIL_OPEN (accept when the queue is full)
  uint32_t copy_range = 0xffff;  // bytes of payload copied to user space
};

// One packet as handed over by the kernel. `data` points into the receive
// buffer and may be modified in place (and shortened/lengthened up to
// `capacity`); it is valid only during the handler call.
struct QueuedPacket {
  uint32_t packet_id = 0;
  uint16_t queue = 0;
  uint16_t hw_protocol = 0;  // ETH_P_IP / ETH_P_IPV6 (host order)
  uint8_t hook = 0;          // NF_INET_PRE_ROUTING, LOCAL_OUT, ...
  uint32_t indev = 0;        // ifindex, 0 if none (locally generated)
  uint32_t outdev = 0;       // ifindex, 0 if not yet routed
  uint32_t mark = 0;
  bool csum_not_ready = false;  // NFQA_SKB_CSUMNOTREADY: partial checksum
  bool gso = false;             // NFQA_SKB_GSO
  uint8_t* data = nullptr;
  uint32_t len = 0;
  uint32_t capacity = 0;   // room available at data for a longer packet
  bool truncated = false;  // copy shorter than the packet (NFQA_CAP_LEN); a
                           // modified verdict for it is turned into a drop
};

enum class Verdict : uint8_t { kAccept, kDrop };

// The packet mark fwd gives a packet it accepts only so that the kernel answers it (ICMP
// unreachable for no route): fwd's FORWARD chain drops a packet carrying it, so if the kernel's
// routing found a route after all (one added in between), the packet is never forwarded past
// the policy. One bit; the administrator's other mark bits are left alone.
constexpr uint32_t kMarkNoForward = 0x40000000;

struct Decision {
  Verdict verdict = Verdict::kDrop;
  bool modified = false;  // send data[0..len) back with the verdict
  uint32_t len = 0;       // new length when modified
  uint32_t mark = 0;      // non-zero: set this packet mark with the verdict (not with `modified`)
};

struct QueueStats {
  uint64_t received = 0;
  uint64_t accepted = 0;
  uint64_t dropped = 0;
  uint64_t enobufs = 0;  // recv returned ENOBUFS (kernel dropped messages)
  uint64_t verdict_errors = 0;
  uint64_t recv_errors = 0;         // unparsable messages, failed receives
  uint64_t truncated_modified = 0;  // rewrites that could not be sent back (dropped)
  uint64_t handler_exceptions = 0;  // handler threw; packet dropped
};

class NfQueue {
 public:
  using Handler = std::function<Decision(QueuedPacket&)>;

  // Binds the queue. On failure returns nullptr and a clear message in *err,
  // e.g. "queue 0 is already in use by another program" (EBUSY), or
  // "cannot open netlink socket: Operation not permitted (run as root)".
  static std::unique_ptr<NfQueue> open(const QueueOptions& opt, std::string* err);
  ~NfQueue();

  // Receive/handle/verdict loop until `stop` becomes true (checked at least
  // every 200 ms). Never throws; ENOBUFS is counted and the loop goes on.
  // `each_round` (optional) runs once per round of the loop: after every batch, and at least
  // every 200 ms on an idle queue (the receive times out), so a caller can tell an idle worker
  // from a stuck one (the daemon's watchdog heartbeat).
  void run(const std::atomic<bool>& stop, const Handler& handler,
           const std::function<void()>& each_round = {});

  QueueStats stats() const;
  uint16_t queue_num() const;

 private:
  NfQueue();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Kernel-side counters of a queue from /proc/net/netfilter/nfnetlink_queue:
// queue_dropped (queue full) and user_dropped (netlink buffer overrun).
struct KernelQueueStats {
  bool found = false;
  uint32_t peer_portid = 0;  // netlink port id of the program bound to the queue
  uint64_t queue_total = 0, queue_dropped = 0, user_dropped = 0;
};
KernelQueueStats kernel_queue_stats(uint16_t queue_num);

}  // namespace fw::fwd
