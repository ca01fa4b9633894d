// Views, prompts and the IPC form of a view stack.
#include <array>
#include <sstream>

#include "cli/commands.h"
#include "cli/grammar.h"

namespace fw::cli {

namespace {

struct ViewInfo {
  ViewKind kind;
  std::string_view name;
  size_t nargs;
  std::optional<ViewKind> parent;  // nullopt: only at the bottom (user view)
};

constexpr std::array<ViewInfo, 12> kViews = {{
    {ViewKind::kUser, "user", 0, std::nullopt},
    {ViewKind::kSystem, "system", 0, ViewKind::kUser},
    {ViewKind::kZone, "zone", 1, ViewKind::kSystem},
    {ViewKind::kInterzone, "interzone", 2, ViewKind::kSystem},
    {ViewKind::kSecurityPolicy, "security-policy", 0, ViewKind::kSystem},
    {ViewKind::kSecurityRule, "security-rule", 1, ViewKind::kSecurityPolicy},
    {ViewKind::kServiceSet, "service-set", 1, ViewKind::kSystem},
    {ViewKind::kNatPolicy, "nat-policy", 0, ViewKind::kSystem},
    {ViewKind::kNatRule, "nat-rule", 1, ViewKind::kNatPolicy},
    {ViewKind::kAddressGroup, "address-group", 1, ViewKind::kSystem},
    {ViewKind::kAddressSet, "address-set", 1, ViewKind::kSystem},
    {ViewKind::kInterface, "interface", 1, ViewKind::kSystem},
}};

const ViewInfo* info(ViewKind k) {
  for (const auto& v : kViews)
    if (v.kind == k) return &v;
  return nullptr;
}

// View arguments are user-chosen names; escape the separators so any name survives.
std::string escape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c == '%' || c == '|' || c == ':' || c < 0x20 || c == 0x7f) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
    if (h < 0 || l < 0) return std::nullopt;
    out += static_cast<char>(h * 16 + l);
    i += 2;
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

}  // namespace

std::string_view view_name(ViewKind v) {
  const ViewInfo* i = info(v);
  return i ? i->name : std::string_view("?");
}

std::optional<ViewKind> view_from_name(std::string_view s) {
  for (const auto& v : kViews)
    if (v.name == s) return v.kind;
  return std::nullopt;
}

ViewStack user_view() { return ViewStack{View{}}; }

std::string prompt(const ViewStack& vs, std::string_view sysname) {
  std::string name(sysname);
  if (vs.empty() || vs.back().kind == ViewKind::kUser) return "<" + name + ">";
  const View& v = vs.back();
  auto arg = [&](size_t i) { return i < v.args.size() ? "-" + v.args[i] : std::string(); };
  std::string s = "[" + name;
  switch (v.kind) {
    case ViewKind::kUser:
    case ViewKind::kSystem:
      break;
    case ViewKind::kZone:
      s += "-zone" + arg(0);
      break;
    case ViewKind::kInterzone:
      s += "-interzone" + arg(0) + arg(1);
      break;
    case ViewKind::kSecurityPolicy:
      s += "-policy-security";
      break;
    case ViewKind::kSecurityRule:
      s += "-policy-security-rule" + arg(0);
      break;
    case ViewKind::kServiceSet:
      s += "-object-service-set" + arg(0);
      break;
    case ViewKind::kNatPolicy:
      s += "-policy-nat";
      break;
    case ViewKind::kNatRule:
      s += "-policy-nat-rule" + arg(0);
      break;
    case ViewKind::kAddressGroup:
      s += "-address-group" + arg(0);
      break;
    case ViewKind::kAddressSet:
      s += "-object-address-set" + arg(0);
      break;
    case ViewKind::kInterface:
      s += arg(0);
      break;
  }
  return s + "]";
}

// "user|system|zone:trust": every view with its escaped arguments, bottom first.
std::string serialize_views(const ViewStack& vs) {
  std::ostringstream os;
  for (size_t i = 0; i < vs.size(); ++i) {
    if (i) os << '|';
    os << view_name(vs[i].kind);
    for (const auto& a : vs[i].args) os << ':' << escape(a);
  }
  return os.str();
}

// Strict: unknown views, wrong argument counts and impossible nesting are rejected,
// so a client cannot make the daemon run commands in a view it could never reach.
std::optional<ViewStack> parse_views(std::string_view s) {
  if (s.size() > 4096) return std::nullopt;
  ViewStack vs;
  if (s.empty()) return user_view();
  for (std::string_view part : split(s, '|')) {
    auto fields = split(part, ':');
    auto kind = view_from_name(fields[0]);
    if (!kind) return std::nullopt;
    const ViewInfo* vi = info(*kind);
    if (fields.size() - 1 != vi->nargs) return std::nullopt;
    View v;
    v.kind = *kind;
    for (size_t i = 1; i < fields.size(); ++i) {
      auto a = unescape(fields[i]);
      if (!a || a->empty()) return std::nullopt;
      v.args.push_back(std::move(*a));
    }
    if (vs.empty()) {
      // The user view is implied at the bottom when the sender leaves it out.
      if (v.kind != ViewKind::kUser) {
        vs.push_back(View{});
        if (vi->parent != ViewKind::kUser) return std::nullopt;
      }
    } else if (!vi->parent || *vi->parent != vs.back().kind) {
      return std::nullopt;
    }
    vs.push_back(std::move(v));
  }
  return vs;
}

}  // namespace fw::cli
