#include "fwd/nfqueue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/log.h"
#include "fwd/rx_release.h"

namespace fw::fwd {
namespace {

// The kernel never sends more than 0xffff payload bytes (copy_range is capped
// below that) and refuses verdict payloads above 0xffff.
constexpr uint32_t kMaxPacket = 0xffff;
// One receive slot holds one netlink datagram: the largest payload plus room
// for the attributes in front of it (hdr, ifindexes, hwaddr, ct, ...). A packet
// can grow in place up to the end of its slot.
constexpr size_t kSlotSize = 65536 + 8192;
// A single netlink sendmsg must stay below the socket's send buffer; flush
// verdicts before the pending bytes pass this.
constexpr size_t kMaxSendBytes = 256 * 1024;
constexpr int kSendBufForce = 1 << 20;
// How long one receive blocks, so run() sees `stop` promptly.
constexpr int kRecvTimeoutMs = 200;
constexpr uint32_t kMaxBatch = 1024;

std::string errno_text(int e) { return std::strerror(e); }

uint32_t attr_u32(const nlattr* a) { return ntohl(mnl_attr_get_u32(a)); }

// Stats are written by the queue thread and read by any thread.
struct AtomicStats {
  std::atomic<uint64_t> received{0}, accepted{0}, dropped{0}, enobufs{0}, verdict_errors{0},
      recv_errors{0}, truncated_modified{0}, handler_exceptions{0};
};

void bump(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

}  // namespace

struct NfQueue::Impl {
  QueueOptions opt;
  mnl_socket* nl = nullptr;
  int fd = -1;
  uint32_t portid = 0;
  uint32_t seq = 1;
  uint32_t batch = 64;
  AtomicStats st;

  std::unique_ptr<uint8_t[]> rx;          // batch * kSlotSize, pages touched only as used
  std::unique_ptr<RxRelease> rx_release;  // and given back when idle (issue 16 item 6)
  std::vector<mmsghdr> msgs;
  std::vector<iovec> rx_iov;

  // Verdict batch: headers are appended to `hdrs`; payloads of modified
  // packets are referenced in place (iov into the receive slot) so a large
  // rewritten packet is copied once, by the kernel.
  std::vector<uint8_t> hdrs;
  std::vector<iovec> tx_iov;
  struct IovRef {
    bool in_hdrs;
    size_t off;
    const void* ptr;
    size_t len;
  };
  std::vector<IovRef> tx_refs;
  size_t tx_bytes = 0;

  // Run of consecutive packets with the same unmodified verdict; sent as one
  // NFQNL_MSG_VERDICT_BATCH (covers every queued id <= last id).
  bool run_open = false;
  uint32_t run_last_id = 0;
  int run_verdict = NF_ACCEPT;

  std::chrono::steady_clock::time_point last_enobufs_log{};
  uint64_t enobufs_since_log = 0;

  ~Impl() {
    if (nl) {
      // Best effort: closing the socket unbinds too (NETLINK_URELEASE), but an
      // explicit unbind makes the kernel drop our instance right now.
      char buf[MNL_SOCKET_BUFFER_SIZE];
      nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, opt.queue_num);
      nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
      (void)mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
      mnl_socket_close(nl);
    }
  }

  void add_hdr_bytes(const void* p, size_t n) {
    size_t off = hdrs.size();
    hdrs.insert(hdrs.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    if (!tx_refs.empty() && tx_refs.back().in_hdrs &&
        tx_refs.back().off + tx_refs.back().len == off)
      tx_refs.back().len += n;
    else
      tx_refs.push_back({true, off, nullptr, n});
    tx_bytes += n;
  }
  void add_ext_bytes(const void* p, size_t n) {
    tx_refs.push_back({false, 0, p, n});
    tx_bytes += n;
  }

  void put_verdict_msg(int type, uint32_t id, int verdict) {
    alignas(nlmsghdr) char buf[128];
    nlmsghdr* nlh = nfq_nlmsg_put(buf, type, opt.queue_num);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), verdict);
    add_hdr_bytes(buf, nlh->nlmsg_len);
  }

  void close_run() {
    if (!run_open) return;
    put_verdict_msg(NFQNL_MSG_VERDICT_BATCH, run_last_id, run_verdict);
    run_open = false;
  }

  void verdict_plain(uint32_t id, int verdict) {
    if (run_open && run_verdict != verdict) close_run();
    run_open = true;
    run_last_id = id;
    run_verdict = verdict;
  }

  // A verdict of its own (in id order, like verdict_with_payload) that also sets the mark.
  void verdict_marked(uint32_t id, int verdict, uint32_t mark) {
    close_run();
    alignas(nlmsghdr) char buf[128];
    nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, opt.queue_num);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), verdict);
    nfq_nlmsg_verdict_put_mark(nlh, mark);
    add_hdr_bytes(buf, nlh->nlmsg_len);
  }

  void verdict_with_payload(uint32_t id, int verdict, const uint8_t* data, uint32_t len) {
    // Keep verdict messages in id order so each batch verdict settles exactly
    // the run before it.
    close_run();
    if (tx_bytes + len + 64 > kMaxSendBytes) flush();
    alignas(nlmsghdr) char buf[128];
    nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, opt.queue_num);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), verdict);
    // NFQA_PAYLOAD attribute header here, the bytes themselves by reference.
    auto* attr = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(nlh) + nlh->nlmsg_len);
    attr->nla_type = NFQA_PAYLOAD;
    attr->nla_len = static_cast<uint16_t>(MNL_ATTR_HDRLEN + len);
    size_t hdr_len = nlh->nlmsg_len + MNL_ATTR_HDRLEN;
    size_t pad = MNL_ALIGN(len) - len;
    nlh->nlmsg_len = static_cast<uint32_t>(hdr_len + MNL_ALIGN(len));
    add_hdr_bytes(buf, hdr_len);
    if (len) add_ext_bytes(data, len);
    static const uint8_t kZero[4] = {0, 0, 0, 0};
    if (pad) add_hdr_bytes(kZero, pad);
  }

  void flush() {
    close_run();
    if (tx_refs.empty()) return;
    tx_iov.clear();
    for (const auto& r : tx_refs) {
      if (r.in_hdrs)
        tx_iov.push_back({hdrs.data() + r.off, r.len});
      else
        tx_iov.push_back({const_cast<void*>(r.ptr), r.len});
    }
    sockaddr_nl dst{};
    dst.nl_family = AF_NETLINK;
    msghdr mh{};
    mh.msg_name = &dst;
    mh.msg_namelen = sizeof(dst);
    mh.msg_iov = tx_iov.data();
    mh.msg_iovlen = tx_iov.size();
    ssize_t n;
    do {
      n = sendmsg(fd, &mh, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      bump(st.verdict_errors);
      FW_LOG(kWarn,
             "nfqueue " << opt.queue_num << ": sending verdicts failed: " << errno_text(errno));
    }
    hdrs.clear();
    tx_refs.clear();
    tx_bytes = 0;
  }

  void note_enobufs() {
    bump(st.enobufs);
    ++enobufs_since_log;
    auto now = std::chrono::steady_clock::now();
    if (now - last_enobufs_log >= std::chrono::seconds(1)) {
      FW_LOG(kWarn, "nfqueue " << opt.queue_num << ": receive buffer overrun (ENOBUFS x"
                               << enobufs_since_log << "), kernel dropped packets");
      last_enobufs_log = now;
      enobufs_since_log = 0;
    }
  }

  // One kernel message with a queued packet.
  void handle_packet(const nlmsghdr* nlh, uint8_t* slot_end, const Handler& handler) {
    QueuedPacket p;
    if (!read_packet(nlh, slot_end, p)) return;
    Decision d;
    try {
      d = handler(p);
    } catch (...) {
      bump(st.handler_exceptions);
      d = Decision{};  // drop
    }
    give_verdict(p, d);
  }

  // The packet and its metadata from the kernel's message (the payload stays in its slot);
  // false (counted as a receive error) when the message is unusable.
  bool read_packet(const nlmsghdr* nlh, uint8_t* slot_end, QueuedPacket& p) {
    nlattr* attr[NFQA_MAX + 1] = {};
    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
        mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(nfqnl_msg_packet_hdr)) {
      bump(st.recv_errors);
      return false;
    }
    bump(st.received);
    const auto* ph =
        static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
    p.packet_id = ntohl(ph->packet_id);
    p.queue = opt.queue_num;
    p.hw_protocol = ntohs(ph->hw_protocol);
    p.hook = ph->hook;
    if (attr[NFQA_IFINDEX_INDEV]) p.indev = attr_u32(attr[NFQA_IFINDEX_INDEV]);
    if (attr[NFQA_IFINDEX_OUTDEV]) p.outdev = attr_u32(attr[NFQA_IFINDEX_OUTDEV]);
    if (attr[NFQA_MARK]) p.mark = attr_u32(attr[NFQA_MARK]);
    if (attr[NFQA_SKB_INFO]) {
      uint32_t info = attr_u32(attr[NFQA_SKB_INFO]);
      p.csum_not_ready = info & NFQA_SKB_CSUMNOTREADY;
      p.gso = info & NFQA_SKB_GSO;
    }
    if (attr[NFQA_PAYLOAD]) {
      p.data = static_cast<uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD]));
      p.len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
      size_t room = static_cast<size_t>(slot_end - p.data);
      p.capacity = static_cast<uint32_t>(std::min<size_t>(room, kMaxPacket));
      if (p.capacity < p.len) p.capacity = p.len;
    }
    if (attr[NFQA_CAP_LEN] && attr_u32(attr[NFQA_CAP_LEN]) != p.len) p.truncated = true;
    return true;
  }

  // The handler's decision as the packet's verdict (counted), in id order.
  void give_verdict(const QueuedPacket& p, Decision d) {
    int verdict = d.verdict == Verdict::kAccept ? NF_ACCEPT : NF_DROP;
    if (d.modified && (p.truncated || d.len > p.capacity || !p.data)) {
      // Sending back a truncated copy would cut the packet; a rewrite we
      // cannot deliver must not leak the original either.
      bump(st.truncated_modified);
      verdict = NF_DROP;
      d.modified = false;
    }
    if (verdict == NF_ACCEPT)
      bump(st.accepted);
    else
      bump(st.dropped);
    if (d.modified)
      verdict_with_payload(p.packet_id, verdict, p.data, d.len);
    else if (d.mark)
      verdict_marked(p.packet_id, verdict, d.mark);
    else
      verdict_plain(p.packet_id, verdict);
  }

  void handle_datagram(uint8_t* buf, size_t len, const Handler& handler) {
    uint8_t* slot_end = buf + kSlotSize;
    int remaining = static_cast<int>(len);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, remaining);
         nlh = mnl_nlmsg_next(nlh, &remaining)) {
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        // Only failures are reported (verdicts are sent without NLM_F_ACK).
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(nlmsgerr)) && e->error != 0) {
          bump(st.verdict_errors);
          FW_LOG(kDebug, "nfqueue " << opt.queue_num << ": kernel error " << errno_text(-e->error));
        }
        continue;
      }
      if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
        handle_packet(nlh, slot_end, handler);
    }
  }

  // Blocks (up to SO_RCVTIMEO) for the first message, then takes what else is
  // already queued, up to `batch` (MSG_WAITFORONE): one syscall per wakeup
  // instead of poll + recvmmsg. Returns false when the socket is unusable.
  bool receive_round(const Handler& handler) {
    int n = recvmmsg(fd, msgs.data(), batch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) rx_release->idle();  // no packet for kRecvTimeoutMs
      if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) return true;
      if (e == ENOBUFS) {
        note_enobufs();
        return true;
      }
      bump(st.recv_errors);
      if (e == EBADF || e == ENOTSOCK || e == EFAULT || e == EINVAL) {
        FW_LOG(kError, "nfqueue " << opt.queue_num << ": receive failed: " << errno_text(e));
        return false;
      }
      return true;
    }
    for (int i = 0; i < n; ++i) {
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        bump(st.recv_errors);
        continue;
      }
      handle_datagram(static_cast<uint8_t*>(rx_iov[i].iov_base), msgs[i].msg_len, handler);
    }
    flush();
    // Reset per-message state recvmmsg modified.
    for (int i = 0; i < n; ++i) msgs[i].msg_hdr.msg_flags = 0;
    rx_release->used(static_cast<uint32_t>(n),
                     static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::steady_clock::now().time_since_epoch())
                                               .count()));
    return true;
  }

  // Sends a config message with NLM_F_ACK and waits for the ACK. Packets that
  // slip in before the ACK (the queue is live as soon as BIND is processed)
  // get NF_REPEAT: the hook runs again and queues them anew, so run() sees them.
  int config_and_ack(nlmsghdr* nlh) {
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++seq;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return errno;
    std::vector<uint8_t> buf(kSlotSize);
    for (int tries = 0; tries < 1000; ++tries) {
      pollfd pfd{fd, POLLIN, 0};
      int pr = poll(&pfd, 1, 2000);
      if (pr == 0) return ETIMEDOUT;
      if (pr < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      if (n < 0) {
        if (errno == EINTR || errno == ENOBUFS) continue;
        return errno;
      }
      int remaining = static_cast<int>(n);
      for (auto* m = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(m, remaining);
           m = mnl_nlmsg_next(m, &remaining)) {
        if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_seq == seq) {
          if (m->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) return EPROTO;
          const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
          return -e->error;
        }
        if (m->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
          nlattr* attr[NFQA_MAX + 1] = {};
          if (nfq_nlmsg_parse(m, attr) >= 0 && attr[NFQA_PACKET_HDR]) {
            const auto* ph = static_cast<const nfqnl_msg_packet_hdr*>(
                mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
            alignas(nlmsghdr) char vb[128];
            nlmsghdr* v = nfq_nlmsg_put(vb, NFQNL_MSG_VERDICT, opt.queue_num);
            nfq_nlmsg_verdict_put(v, static_cast<int>(ntohl(ph->packet_id)), NF_REPEAT);
            (void)mnl_socket_sendto(nl, v, v->nlmsg_len);
          }
        }
      }
    }
    return ETIMEDOUT;
  }

  // open(): the netlink socket, bound, with its buffers and receive timeout; "" or what failed.
  std::string open_socket() {
    nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!nl) {
      int e = errno;
      return "cannot open netlink socket: " + errno_text(e) +
             (e == EPERM || e == EACCES ? " (fwd must run as root)" : "");
    }
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
      return "cannot bind netlink socket: " + errno_text(errno);
    fd = mnl_socket_get_fd(nl);
    portid = mnl_socket_get_portid(nl);

    // Large receive buffer: bursts queue up here while a batch is processed.
    // ENOBUFS stays enabled (no NETLINK_NO_ENOBUFS) so overruns are counted.
    int rcv = static_cast<int>(std::min<uint32_t>(opt.rcvbuf_bytes, 0x7fffffff / 2));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
      (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    int snd = kSendBufForce;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
      (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
    // receive_round blocks in recvmmsg: bound it so run() sees `stop`.
    timeval tv{0, kRecvTimeoutMs * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
      return "cannot set the receive timeout: " + errno_text(errno);
    return "";
  }

  // open(): binds the queue, then sets its copy mode and flags; "" or what failed.
  std::string configure_queue() {
    std::string qname = "NFQUEUE queue " + std::to_string(opt.queue_num);
    // Bind first on its own so EBUSY is told apart from a bad parameter.
    alignas(nlmsghdr) char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, opt.queue_num);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
    int e = config_and_ack(nlh);
    if (e == EPERM) {
      // The kernel answers EPERM both without CAP_NET_ADMIN and when another
      // socket owns the queue; the proc table tells the two apart.
      KernelQueueStats k = kernel_queue_stats(opt.queue_num);
      if (k.found && k.peer_portid != portid) e = EBUSY;
    }
    if (e == EBUSY)
      return qname + " is already in use by another program (netlink port id " +
             std::to_string(kernel_queue_stats(opt.queue_num).peer_portid) + ")";
    if (e == EPERM || e == EACCES) return qname + ": " + errno_text(e) + " (fwd must run as root)";
    if (e != 0) return qname + ": bind failed: " + errno_text(e);

    nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, opt.queue_num);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET,
                             static_cast<int>(std::min(opt.copy_range, kMaxPacket)));
    nfq_nlmsg_cfg_put_qmaxlen(nlh, opt.max_len);
    uint32_t flags = (opt.gso ? NFQA_CFG_F_GSO : 0) | (opt.fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
    e = config_and_ack(nlh);
    if (e != 0) return qname + ": setting copy mode/flags failed: " + errno_text(e);
    return "";
  }

  // open(): the receive slots and the verdict batch's room, for `batch` packets.
  void allocate_buffers() {
    rx = std::make_unique_for_overwrite<uint8_t[]>(static_cast<size_t>(batch) * kSlotSize);
    rx_release = std::make_unique<RxRelease>(rx.get(), kSlotSize, batch);
    msgs.assign(batch, mmsghdr{});
    rx_iov.assign(batch, iovec{});
    for (uint32_t i = 0; i < batch; ++i) {
      rx_iov[i] = {rx.get() + static_cast<size_t>(i) * kSlotSize, kSlotSize};
      msgs[i].msg_hdr.msg_iov = &rx_iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    hdrs.reserve(batch * 64 + 1024);
    tx_refs.reserve(batch * 3 + 4);
    tx_iov.reserve(batch * 3 + 4);
  }
};

NfQueue::NfQueue() : impl_(std::make_unique<Impl>()) {}
NfQueue::~NfQueue() = default;

std::unique_ptr<NfQueue> NfQueue::open(const QueueOptions& opt, std::string* err) {
  std::unique_ptr<NfQueue> q(new NfQueue());
  Impl& im = *q->impl_;
  im.opt = opt;
  im.batch = std::clamp<uint32_t>(opt.batch, 1, kMaxBatch);
  std::string msg = im.open_socket();
  if (msg.empty()) msg = im.configure_queue();
  if (!msg.empty()) {
    if (err) *err = msg;
    return nullptr;
  }
  im.allocate_buffers();
  return q;
}

void NfQueue::run(const std::atomic<bool>& stop, const Handler& handler,
                  const std::function<void()>& each_round) {
  Impl& im = *impl_;
  try {
    // A pending ENOBUFS comes back as the receive's error; receive_round counts it.
    while (!stop.load(std::memory_order_relaxed)) {
      if (each_round) each_round();
      if (!im.receive_round(handler)) return;
    }
  } catch (...) {
    // Only allocation failures can get here; the caller must not see them.
    FW_LOG(kError, "nfqueue " << im.opt.queue_num << ": receive loop aborted by an exception");
  }
}

QueueStats NfQueue::stats() const {
  const auto& s = impl_->st;
  QueueStats r;
  r.received = s.received.load(std::memory_order_relaxed);
  r.accepted = s.accepted.load(std::memory_order_relaxed);
  r.dropped = s.dropped.load(std::memory_order_relaxed);
  r.enobufs = s.enobufs.load(std::memory_order_relaxed);
  r.verdict_errors = s.verdict_errors.load(std::memory_order_relaxed);
  r.recv_errors = s.recv_errors.load(std::memory_order_relaxed);
  r.truncated_modified = s.truncated_modified.load(std::memory_order_relaxed);
  r.handler_exceptions = s.handler_exceptions.load(std::memory_order_relaxed);
  return r;
}

uint16_t NfQueue::queue_num() const { return impl_->opt.queue_num; }

KernelQueueStats kernel_queue_stats(uint16_t queue_num) {
  KernelQueueStats r;
  std::ifstream in("/proc/net/netfilter/nfnetlink_queue");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    uint64_t qnum = 0, portid = 0, total = 0, mode = 0, range = 0, qdrop = 0, udrop = 0;
    if (!(ls >> qnum >> portid >> total >> mode >> range >> qdrop >> udrop)) continue;
    if (qnum != queue_num) continue;
    r.found = true;
    r.peer_portid = static_cast<uint32_t>(portid);
    r.queue_total = total;
    r.queue_dropped = qdrop;
    r.user_dropped = udrop;
    break;
  }
  return r;
}

}  // namespace fw::fwd
