#include "capture/reader.h"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstring>

namespace fw::capture {

namespace {

constexpr uint32_t kShb = 0x0A0D0D0A, kIdb = 1, kObsoletePacket = 2, kSpb = 3, kEpb = 6;
constexpr uint32_t kMagic = 0x1A2B3C4D;
constexpr uint32_t kMaxBlock = 16 * 1024 * 1024;  // libpcap's own limit on a pcapng block
constexpr uint16_t kOptEnd = 0, kOptIfName = 2;
constexpr uint16_t kEthIp = 0x0800, kEthIp6 = 0x86DD, kEthVlan = 0x8100, kEthQinq = 0x88A8;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

pcap_t* as_pcap(void* p) { return static_cast<pcap_t*>(p); }

bool fail(std::string* err, std::string m) {
  *err = std::move(m);
  return false;
}

}  // namespace

// The pcapng blocks walked beside libpcap: for each packet block libpcap returns, the same
// block here gives its interface id, and the section's IDBs give the names.
struct Reader::Pcapng {
  FILE* f = nullptr;
  bool swap = false;
  std::vector<std::string> names;  // interfaces of the current section
  std::vector<uint8_t> body;

  ~Pcapng() {
    if (f) fclose(f);
  }
  uint32_t u32(const uint8_t* p) const {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
  }
  uint16_t u16(const uint8_t* p) const {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return swap ? __builtin_bswap16(v) : v;
  }
  // One block into `body` (without type and lengths); false at the end or on a bad block.
  bool block(uint32_t* type, std::string* err) {
    uint8_t h[12];
    if (fread(h, 1, 8, f) != 8) return false;
    std::memcpy(type, h, 4);
    if (*type == kShb) {  // its byte order decides how every length is read
      if (fread(h + 8, 1, 4, f) != 4) return false;
      uint32_t m;
      std::memcpy(&m, h + 8, 4);
      if (m != kMagic && m != __builtin_bswap32(kMagic)) return fail(err, "bad pcapng byte order");
      swap = m != kMagic;
      names.clear();
    } else if (swap) {
      *type = __builtin_bswap32(*type);
    }
    const uint32_t total = u32(h + 4);
    const uint32_t head = *type == kShb ? 12 : 8;
    if (total < head + 4 || total % 4 || total > kMaxBlock)
      return fail(err, "bad pcapng block length " + std::to_string(total));
    body.resize(total - head - 4);
    uint8_t tail[4];
    if (fread(body.data(), 1, body.size(), f) != body.size() || fread(tail, 1, 4, f) != 4)
      return fail(err, "pcapng block cut short");
    return true;
  }
  void interface() {
    std::string name;
    for (size_t o = 8; o + 4 <= body.size();) {  // options after linktype, reserved, snaplen
      const uint16_t code = u16(&body[o]), len = u16(&body[o + 2]);
      if (code == kOptEnd || o + 4 + len > body.size()) break;
      if (code == kOptIfName) name.assign(reinterpret_cast<const char*>(&body[o + 4]), len);
      o += 4 + ((len + 3u) & ~3u);
    }
    if (const size_t z = name.find('\0'); z != std::string::npos) name.resize(z);
    names.push_back(name);
  }
  // The interface name of the next packet block.
  std::optional<std::string> next_packet(std::string* err) {
    uint32_t type = 0;
    while (block(&type, err)) {
      if (type == kIdb) {
        if (body.size() >= 8) interface();
        continue;
      }
      if (type != kEpb && type != kSpb && type != kObsoletePacket) continue;
      uint32_t id = 0;
      if (type == kEpb && body.size() >= 4) id = u32(body.data());
      if (type == kObsoletePacket && body.size() >= 2) id = u16(body.data());
      if (id >= names.size()) {
        *err = "packet of interface " + std::to_string(id) + " with no such interface";
        return std::nullopt;
      }
      return names[id];
    }
    if (err->empty()) *err = "pcapng blocks end before libpcap's packets";
    return std::nullopt;
  }
};

std::string supported_link_types() {
  return "Ethernet, raw IP (RAW, IPV4, IPV6), Linux cooked (LINUX_SLL, LINUX_SLL2)";
}

std::unique_ptr<Reader> Reader::open(const std::string& path, std::string* err) {
  FILE* a = fopen(path.c_str(), "rb");
  if (!a) {
    *err = "cannot open " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  FILE* b = fopen(path.c_str(), "rb");
  if (!b) {
    *err = "cannot open " + path + ": " + std::strerror(errno);
    fclose(a);
    return nullptr;
  }
  return start(a, b, path, err);
}

std::unique_ptr<Reader> Reader::open_memory(std::span<const uint8_t> data, std::string* err) {
  if (data.empty()) {
    *err = "capture: empty";
    return nullptr;
  }
  void* p = const_cast<uint8_t*>(data.data());
  FILE* a = fmemopen(p, data.size(), "rb");
  FILE* b = a ? fmemopen(p, data.size(), "rb") : nullptr;
  if (!b) {
    if (a) fclose(a);
    *err = "capture: fmemopen failed";
    return nullptr;
  }
  return start(a, b, "capture", err);
}

// Takes both files (closed on every path).
std::unique_ptr<Reader> Reader::start(FILE* pcap_file, FILE* walk_file, const std::string& name,
                                      std::string* err) {
  std::unique_ptr<Reader> r(new Reader());
  r->name_ = name;
  r->walk_ = std::make_unique<Pcapng>();
  r->walk_->f = walk_file;
  char ebuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(pcap_file, PCAP_TSTAMP_PRECISION_NANO, ebuf);
  if (!p) {  // libpcap closes nothing on failure
    fclose(pcap_file);
    *err = name + ": " + ebuf;
    return nullptr;
  }
  r->pcap_ = p;
  r->dlt_ = pcap_datalink(p);
  uint8_t magic[4] = {};
  r->pcapng_ = fread(magic, 1, 4, walk_file) == 4 && std::memcmp(magic, "\n\r\r\n", 4) == 0;
  rewind(walk_file);
  switch (r->dlt_) {
    case DLT_EN10MB:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
      break;
    default: {
      const char* n = pcap_datalink_val_to_name(r->dlt_);
      *err = name + ": link type " + std::to_string(r->dlt_) + " (" + (n ? n : "unknown") +
             ") is not supported; supported: " + supported_link_types();
      return nullptr;
    }
  }
  return r;
}

Reader::~Reader() {
  if (pcap_) pcap_close(as_pcap(pcap_));
}

// The IP packet in `frame` by the link type; a frame that is not IP gets `skipped`.
bool Reader::strip_link(std::span<const uint8_t> f, Packet* p) {
  size_t off = 0;
  uint16_t proto = 0;
  if (dlt_ == DLT_EN10MB) {
    off = 12;
    if (f.size() < off + 2) return false;
    proto = be16(&f[off]);
    while ((proto == kEthVlan || proto == kEthQinq) && f.size() >= off + 6) {
      off += 4;
      proto = be16(&f[off]);
    }
    off += 2;
  } else if (dlt_ == DLT_LINUX_SLL) {
    if (f.size() < 16) return false;
    proto = be16(&f[14]);
    off = 16;
  } else if (dlt_ == DLT_LINUX_SLL2) {
    if (f.size() < 20) return false;
    proto = be16(&f[0]);
    off = 20;
  } else {  // raw IP: the version says which
    if (f.empty()) return false;
    const uint8_t v = f[0] >> 4;
    proto = v == 4 ? kEthIp : v == 6 ? kEthIp6 : 0;
  }
  if (proto != kEthIp && proto != kEthIp6) {
    char b[48];
    std::snprintf(b, sizeof b, "not IP (protocol 0x%04x)", proto);
    p->skipped = b;
    return true;
  }
  if (off >= f.size()) return false;  // an IP frame with nothing after its link header
  p->ip = f.subspan(off);
  return true;
}

std::optional<Packet> Reader::next() {
  if (!err_.empty()) return std::nullopt;
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(as_pcap(pcap_), &h, &data);
  if (rc == PCAP_ERROR_BREAK) return std::nullopt;  // the end of the file
  Packet p;
  p.number = ++count_;
  if (rc != 1) {
    err_ = name_ + ": packet " + std::to_string(p.number) + ": " + pcap_geterr(as_pcap(pcap_));
    return std::nullopt;
  }
  p.time_ns = static_cast<uint64_t>(h->ts.tv_sec) * 1'000'000'000ull +
              static_cast<uint64_t>(h->ts.tv_usec);  // nanoseconds: opened with PRECISION_NANO
  p.captured_len = h->caplen;
  p.wire_len = h->len;
  if (pcapng_) {
    std::string e;
    auto n = walk_->next_packet(&e);
    if (!n) {
      err_ = name_ + ": packet " + std::to_string(p.number) + ": " + e;
      return std::nullopt;
    }
    p.ifname = std::move(*n);
  }
  if (!strip_link(std::span<const uint8_t>(data, h->caplen), &p)) {
    p.skipped = "frame cut short before the IP header";
  }
  return p;
}

}  // namespace fw::capture
