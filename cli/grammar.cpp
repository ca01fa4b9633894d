// The VRP command engine: spec compiler, NFA matcher, help, completion and errors.
//
// Every spec is compiled to a small NFA (Thompson style). A view's commands are
// matched together, token by token, as one set of NFA states: this is what makes
// "abbreviated while unique among the keywords possible at that position" exact,
// and lets optional parts, alternatives and repeat-sets match without guessing.
// Repeat-sets ("each alternative at most once") carry a bit mask per repeat group
// in the state, so the automaton stays finite.
#include "cli/grammar.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

namespace fw::cli {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

struct Tok {
  std::string text;
  size_t col = 0;
};

std::vector<Tok> tokenize(std::string_view line) {
  std::vector<Tok> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    out.push_back(Tok{std::string(line.substr(start, i - start)), start});
  }
  return out;
}

enum class ParamType { kString, kInt, kIpv4, kIpv6, kIp, kMask, kIfname, kText, kKeyword };

// One value of a keyword set.
struct SetValue {
  std::string word;   // as the set spells it (the canonical form)
  std::string lword;  // lower case, for matching
  std::string help;
};

struct KeywordSet {
  std::string name;
  std::vector<SetValue> values;
};

// A terminal of the grammar: a keyword or a typed parameter.
struct Elem {
  bool keyword = false;
  std::string word;   // keyword as written in the spec
  std::string lword;  // lower-case keyword
  std::string name;   // parameter name
  ParamType type = ParamType::kString;
  long long lo = 0, hi = 0;
  const KeywordSet* set = nullptr;  // kKeyword: its values
};

// Keyword-set values are typed like keywords: the same characters are refused in both.
bool bad_word_char(char c) {
  return static_cast<unsigned char>(c) <= 0x20 || c == '*' || c == '>' || c == '?';
}

std::vector<KeywordSet> compile_sets(const KeywordSets& sets) {
  std::vector<KeywordSet> out;
  for (const auto& set : sets) {
    const std::string& name = set.first;
    KeywordSet ks{name, {}};
    std::set<std::string> seen;
    for (const auto& value : set.second) {
      const std::string& word = value.first;
      const std::string& help = value.second;
      // (named references, not structured bindings: clang 14 cannot capture those)
      auto bad = [&](const std::string& why) {
        return std::invalid_argument("keyword set '" + name + "': value '" + word + "' " + why);
      };
      if (word.empty() || std::any_of(word.begin(), word.end(), bad_word_char))
        throw bad("is not a word");
      if (!seen.insert(lower(word)).second) throw bad("is there twice");
      ks.values.push_back(SetValue{word, lower(word), help});
    }
    out.push_back(std::move(ks));
  }
  return out;
}

// The value of set parameter `e` spelled `lword` (lower case), or nullptr.
const SetValue* set_value(const Elem& e, std::string_view lword) {
  if (!e.set) return nullptr;
  for (const auto& v : e.set->values)
    if (v.lword == lword) return &v;
  return nullptr;
}

std::optional<common::IpAddr> parse_family(const std::string& s, int family) {
  auto a = common::IpAddr::parse(s);
  if (!a || (family && a->family != family)) return std::nullopt;
  return a;
}

bool valid_int(const Elem& e, const std::string& t, long long* v) {
  if (t.empty() || t.size() > 18) return false;
  for (char c : t)
    if (c < '0' || c > '9') return false;
  auto r = std::from_chars(t.data(), t.data() + t.size(), *v);
  if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return false;
  return *v >= e.lo && *v <= e.hi;
}

// A VRP interface name: letters, then numbers separated by '/' (at least one '/'), such as
// GigabitEthernet1/0/1; at most 31 characters. (config::is_vrp_ifname is the same rule.)
bool valid_vrp_ifname(const std::string& t) {
  size_t i = 0;
  while (i < t.size() && std::isalpha(static_cast<unsigned char>(t[i]))) ++i;
  if (i == 0 || t.size() > 31) return false;
  int numbers = 0;
  while (i < t.size()) {
    size_t start = i;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    if (i == start) return false;
    ++numbers;
    if (i < t.size() && t[i++] != '/') return false;
    if (i == t.size() && t.back() == '/') return false;
  }
  return numbers >= 2;
}

// A Linux name, or a VRP name (the interface map of fwd says which VRP names exist).
bool valid_ifname(const std::string& t) {
  if (t.find('/') != std::string::npos) return valid_vrp_ifname(t);
  if (t.empty() || t.size() > 15 || t == "." || t == "..") return false;
  for (char c : t)
    if (c == ':' || is_space(c) || static_cast<unsigned char>(c) < 0x20) return false;
  return true;
}

// Checks token `t` against parameter `e` and keeps the typed value in *out.
bool accept(const Elem& e, const std::string& t, MatchedToken* out) {
  switch (e.type) {
    case ParamType::kString:
    case ParamType::kText:
      return static_cast<long long>(t.size()) >= e.lo && static_cast<long long>(t.size()) <= e.hi;
    case ParamType::kInt: {
      long long v = 0;
      if (!valid_int(e, t, &v)) return false;
      out->number = v;
      return true;
    }
    case ParamType::kIpv4:
    case ParamType::kIpv6:
    case ParamType::kIp:
    case ParamType::kMask: {
      int family = e.type == ParamType::kIpv6 ? 6 : e.type == ParamType::kIp ? 0 : 4;
      auto a = parse_family(t, family);
      if (!a) return false;
      if (e.type == ParamType::kMask) {
        // Contiguous: the inverted mask plus one is a power of two (or zero).
        uint32_t inv = ~a->v4_host();
        if ((inv & (inv + 1)) != 0) return false;
      }
      out->addr = *a;
      return true;
    }
    case ParamType::kIfname:
      return valid_ifname(t);
    case ParamType::kKeyword:
      return false;  // values are matched like keywords, before the parameters
  }
  return false;
}

std::string placeholder(const Elem& e) {
  switch (e.type) {
    case ParamType::kString:
    case ParamType::kText:
      return "STRING<" + std::to_string(e.lo) + "-" + std::to_string(e.hi) + ">";
    case ParamType::kInt:
      return "INTEGER<" + std::to_string(e.lo) + "-" + std::to_string(e.hi) + ">";
    case ParamType::kIpv4:
    case ParamType::kIp:
    case ParamType::kMask:
      return "X.X.X.X";
    case ParamType::kIpv6:
      return "X:X::X:X";
    case ParamType::kIfname:
      return "STRING<1-15>";
    case ParamType::kKeyword:
      break;  // help and completion list the values instead
  }
  return "?";
}

// ---- spec syntax -> AST ----------------------------------------------------

struct Ast {
  enum Kind { kElem, kSeq, kOpt, kAlt, kRepeat } kind = kSeq;
  int elem = -1;          // kElem: index into Impl::elems
  std::vector<Ast> kids;  // kSeq: items; kOpt/kAlt/kRepeat: alternatives (each a kSeq)
  bool min1 = false;      // kRepeat: "{...}*" needs at least one
};

class SpecParser {
 public:
  SpecParser(const CommandSpec& spec, std::vector<Elem>* elems,
             const std::map<std::string, std::string>& help, const std::vector<KeywordSet>& sets)
      : spec_(spec), elems_(elems), help_(help), sets_(sets) {
    lex();
  }

  Ast parse() {
    Ast a = seq();
    if (pos_ != toks_.size()) fail("unexpected '" + toks_[pos_] + "'");
    if (a.kids.empty()) fail("empty syntax");
    if (can_be_empty(a)) fail("syntax can match an empty line");
    return a;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::invalid_argument("command spec '" + spec_.id + "': " + why + " in \"" +
                                spec_.syntax + "\"");
  }

  void lex() {
    const std::string& s = spec_.syntax;
    size_t i = 0;
    while (i < s.size()) {
      char c = s[i];
      if (is_space(c)) {
        ++i;
      } else if (c == '[' || c == '{' || c == '|') {
        toks_.emplace_back(1, c);
        ++i;
      } else if (c == ']' || c == '}') {
        if (i + 1 < s.size() && s[i + 1] == '*') {
          toks_.push_back(std::string(1, c) + "*");
          i += 2;
        } else {
          toks_.emplace_back(1, c);
          ++i;
        }
      } else if (c == '<') {
        size_t e = s.find('>', i);
        if (e == std::string::npos) fail("unterminated parameter");
        toks_.push_back(s.substr(i, e - i + 1));
        i = e + 1;
      } else {
        size_t st = i;
        while (i < s.size() && !is_space(s[i]) &&
               std::string_view("[]{}|<>").find(s[i]) == std::string_view::npos)
          ++i;
        toks_.push_back(s.substr(st, i - st));
      }
    }
  }

  static bool can_be_empty(const Ast& a) {
    switch (a.kind) {
      case Ast::kElem:
        return false;
      case Ast::kSeq:
        return std::all_of(a.kids.begin(), a.kids.end(), can_be_empty);
      case Ast::kOpt:
        return true;
      case Ast::kAlt:
        return std::any_of(a.kids.begin(), a.kids.end(), can_be_empty);
      case Ast::kRepeat:
        return !a.min1 || std::any_of(a.kids.begin(), a.kids.end(), can_be_empty);
    }
    return true;
  }

  Ast seq() {
    Ast a;
    a.kind = Ast::kSeq;
    while (pos_ < toks_.size()) {
      const std::string& t = toks_[pos_];
      if (t == "]" || t == "}" || t == "|" || t == "]*" || t == "}*") break;
      if (t == "[" || t == "{") {
        ++pos_;
        Ast g = group(t == "[");
        a.kids.push_back(std::move(g));
      } else if (t[0] == '<') {
        ++pos_;
        a.kids.push_back(param(t));
      } else {
        ++pos_;
        a.kids.push_back(keyword(t));
      }
    }
    return a;
  }

  Ast group(bool square) {
    Ast g;
    for (;;) {
      Ast alt = seq();
      if (alt.kids.empty()) fail("empty alternative");
      g.kids.push_back(std::move(alt));
      if (pos_ >= toks_.size()) fail(square ? "missing ']'" : "missing '}'");
      const std::string& t = toks_[pos_++];
      if (t == "|") continue;
      if ((square && (t == "]" || t == "]*")) || (!square && (t == "}" || t == "}*"))) {
        bool star = t.size() == 2;
        if (star) {
          g.kind = Ast::kRepeat;
          g.min1 = !square;
          if (g.kids.size() > 64) fail("too many alternatives in a repeat-set");
        } else {
          g.kind = square ? Ast::kOpt : Ast::kAlt;
        }
        return g;
      }
      fail("mismatched '" + t + "'");
    }
  }

  const std::string* find_help(const std::string& key) const {
    auto it = help_.find(key);
    if (it == help_.end()) it = help_.find(lower(key));
    if (it == help_.end() || it->second.empty()) return nullptr;
    return &it->second;
  }

  Ast keyword(const std::string& w) {
    if (std::any_of(w.begin(), w.end(), bad_word_char)) fail("bad keyword '" + w + "'");
    if (!find_help(w)) fail("no help text for keyword '" + w + "'");
    Elem e;
    e.keyword = true;
    e.word = w;
    e.lword = lower(w);
    return add(std::move(e));
  }

  static bool parse_range(std::string_view s, long long* lo, long long* hi) {
    // "(A-B)"
    if (s.size() < 5 || s.front() != '(' || s.back() != ')') return false;
    s = s.substr(1, s.size() - 2);
    size_t dash = s.find('-');
    if (dash == std::string_view::npos || dash == 0) return false;
    auto a = s.substr(0, dash), b = s.substr(dash + 1);
    auto r1 = std::from_chars(a.data(), a.data() + a.size(), *lo);
    auto r2 = std::from_chars(b.data(), b.data() + b.size(), *hi);
    return r1.ec == std::errc() && r1.ptr == a.data() + a.size() && r2.ec == std::errc() &&
           r2.ptr == b.data() + b.size() && *lo >= 0 && *lo <= *hi && *hi <= 99999999999LL;
  }

  Ast param(const std::string& t) {
    // "<name:type>"
    std::string body = t.substr(1, t.size() - 2);
    size_t colon = body.find(':');
    if (colon == std::string::npos || colon == 0) fail("bad parameter '" + t + "'");
    Elem e;
    e.name = body.substr(0, colon);
    for (char c : e.name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
        fail("bad parameter name in '" + t + "'");
    std::string type = body.substr(colon + 1);
    std::string base = type.substr(0, type.find('('));
    std::string range = type.substr(base.size());
    if (base == "string") {
      e.type = ParamType::kString;
      e.lo = 1;
      e.hi = 63;
      if (!range.empty() && (!parse_range(range, &e.lo, &e.hi) || e.lo < 1))
        fail("bad string bounds in '" + t + "'");
    } else if (base == "text") {
      // The rest of the line, spaces included (VRP descriptions); must end the spec.
      e.type = ParamType::kText;
      e.lo = 1;
      e.hi = 127;
      if (!range.empty() && (!parse_range(range, &e.lo, &e.hi) || e.lo < 1))
        fail("bad text bounds in '" + t + "'");
    } else if (base == "int") {
      e.type = ParamType::kInt;
      if (!parse_range(range, &e.lo, &e.hi)) fail("int needs a range (int(A-B)) in '" + t + "'");
    } else if (base == "keyword") {
      e.type = ParamType::kKeyword;
      std::string set = range.size() > 2 ? range.substr(1, range.size() - 2) : "";
      for (const auto& ks : sets_)
        if (ks.name == set && range == "(" + set + ")") e.set = &ks;
      if (!e.set) fail("keyword set '" + set + "' not given in '" + t + "'");
    } else if (!range.empty()) {
      fail("unexpected range in '" + t + "'");
    } else if (base == "ipv4") {
      e.type = ParamType::kIpv4;
    } else if (base == "ipv6") {
      e.type = ParamType::kIpv6;
    } else if (base == "ip") {
      e.type = ParamType::kIp;
    } else if (base == "mask") {
      e.type = ParamType::kMask;
    } else if (base == "ifname") {
      e.type = ParamType::kIfname;
      e.lo = 1;
      e.hi = 15;
    } else {
      fail("unknown parameter type in '" + t + "'");
    }
    if (!find_help(e.name)) fail("no help text for parameter '" + e.name + "'");
    return add(std::move(e));
  }

  Ast add(Elem e) {
    Ast a;
    a.kind = Ast::kElem;
    a.elem = static_cast<int>(elems_->size());
    elems_->push_back(std::move(e));
    return a;
  }

  const CommandSpec& spec_;
  std::vector<Elem>* elems_;
  const std::map<std::string, std::string>& help_;
  const std::vector<KeywordSet>& sets_;
  std::vector<std::string> toks_;
  size_t pos_ = 0;
};

// ---- NFA -------------------------------------------------------------------

struct NfaNode {
  enum Kind { kTerm, kEps, kHub, kAccept } kind = kEps;
  int elem = -1;               // kTerm
  std::vector<int> next;       // kTerm: one; kEps: several
  int group = -1;              // kHub: local repeat group index
  bool min1 = false;           // kHub
  std::vector<int> alt_start;  // kHub
  int exit = -1;               // kHub
};

struct Nfa {
  std::vector<NfaNode> nodes;
  int start = -1;
  int groups = 0;
};

int build(const Ast& a, int next, Nfa* nfa) {
  auto add = [&](NfaNode n) {
    nfa->nodes.push_back(std::move(n));
    return static_cast<int>(nfa->nodes.size()) - 1;
  };
  switch (a.kind) {
    case Ast::kElem: {
      NfaNode n;
      n.kind = NfaNode::kTerm;
      n.elem = a.elem;
      n.next = {next};
      return add(std::move(n));
    }
    case Ast::kSeq: {
      int cur = next;
      for (auto it = a.kids.rbegin(); it != a.kids.rend(); ++it) cur = build(*it, cur, nfa);
      return cur;
    }
    case Ast::kOpt:
    case Ast::kAlt: {
      NfaNode n;
      n.kind = NfaNode::kEps;
      for (const auto& k : a.kids) n.next.push_back(build(k, next, nfa));
      if (a.kind == Ast::kOpt) n.next.push_back(next);
      return add(std::move(n));
    }
    case Ast::kRepeat: {
      NfaNode h;
      h.kind = NfaNode::kHub;
      h.group = nfa->groups++;
      h.min1 = a.min1;
      h.exit = next;
      int hid = add(std::move(h));
      std::vector<int> starts;
      for (const auto& k : a.kids) starts.push_back(build(k, hid, nfa));
      nfa->nodes[hid].alt_start = std::move(starts);
      return hid;
    }
  }
  return next;
}

// One live path through one spec's NFA.
struct State {
  int spec = -1;
  int node = -1;
  std::vector<uint64_t> masks;
  int last = -1;         // the path's last matched token in the Trail, -1 if none yet
  bool swallow = false;  // took a text parameter: the remaining tokens are part of it
};

// The tokens matched by all live paths of one parse, each linked to the one before it on its
// path, so a state carries an index instead of a copy of its tokens.
struct Trail {
  struct Node {
    MatchedToken tok;
    int prev;
  };
  std::vector<Node> nodes;

  int add(MatchedToken t, int prev) {
    nodes.push_back(Node{std::move(t), prev});
    return static_cast<int>(nodes.size()) - 1;
  }
  std::vector<MatchedToken> path(int last) const {
    std::vector<MatchedToken> out;
    for (int i = last; i >= 0; i = nodes[i].prev) out.push_back(nodes[i].tok);
    std::reverse(out.begin(), out.end());
    return out;
  }
};

enum class Step { kOk, kAmbiguous, kUnrecognized, kWrongParameter, kTooMany };

// The (spec, node, repeat masks) a closure has reached. Few states are live after the first
// token (the first step starts from precomputed states), so a scan beats a tree of vectors.
class Seen {
 public:
  bool insert(const State& s) {
    for (const auto& k : keys_)
      if (k.spec == s.spec && k.node == s.node && k.masks == s.masks) return false;
    keys_.push_back(Key{s.spec, s.node, s.masks});
    return true;
  }

 private:
  struct Key {
    int spec, node;
    std::vector<uint64_t> masks;
  };
  std::vector<Key> keys_;
};

}  // namespace

struct Grammar::Impl {
  std::unique_ptr<Impl> pipe;  // the output pipes' own grammar (null inside it)
  std::vector<CommandSpec> specs;
  std::map<std::string, std::string> help;
  std::vector<KeywordSet> sets;  // never changed after construction: elems point into it
  std::vector<Elem> elems;
  std::vector<Nfa> nfas;  // one per spec
  std::map<ViewKind, std::vector<int>> by_view;
  std::map<ViewKind, std::vector<State>> start;  // initial(v) of every view, computed once

  // Expands epsilon moves; keeps terminal and accepting states, deduplicated.
  void closure(State s, std::vector<State>* out, Seen* seen) const {
    const Nfa& nfa = nfas[s.spec];
    if (!seen->insert(s)) return;
    const NfaNode& n = nfa.nodes[s.node];
    switch (n.kind) {
      case NfaNode::kTerm:
      case NfaNode::kAccept:
        out->push_back(std::move(s));
        return;
      case NfaNode::kEps:
        for (int nx : n.next) {
          State c = s;
          c.node = nx;
          closure(std::move(c), out, seen);
        }
        return;
      case NfaNode::kHub: {
        uint64_t m = s.masks[n.group];
        for (size_t i = 0; i < n.alt_start.size(); ++i) {
          if (m & (uint64_t{1} << i)) continue;
          State c = s;
          c.masks[n.group] |= uint64_t{1} << i;
          c.node = n.alt_start[i];
          closure(std::move(c), out, seen);
        }
        if (!n.min1 || m != 0) {
          State c = std::move(s);
          c.node = n.exit;
          closure(std::move(c), out, seen);
        }
        return;
      }
    }
  }

  std::vector<State> initial(ViewKind v) const {
    std::vector<State> out;
    Seen seen;
    auto it = by_view.find(v);
    if (it == by_view.end()) return out;
    for (int si : it->second) {
      State s;
      s.spec = si;
      s.node = nfas[si].start;
      s.masks.assign(nfas[si].groups, 0);
      closure(std::move(s), &out, &seen);
    }
    return out;
  }

  const Elem* term(const State& s) const {
    const NfaNode& n = nfas[s.spec].nodes[s.node];
    return n.kind == NfaNode::kTerm ? &elems[n.elem] : nullptr;
  }

  bool accepting(const State& s) const {
    return nfas[s.spec].nodes[s.node].kind == NfaNode::kAccept;
  }

  // Whether terminal `e` takes the token, setting mt->value (and the typed value). A keyword
  // (or keyword-set value) was chosen when `kw`, as `chosen`; otherwise the token is `text`,
  // `rest` the line from it on.
  static bool take(const Elem& e, bool kw, std::string_view chosen, const std::string& text,
                   std::string_view rest, MatchedToken* mt) {
    if (kw) {
      if (e.keyword && e.lword == chosen) {
        mt->value = e.word;
        return true;
      }
      const SetValue* v = e.keyword ? nullptr : set_value(e, chosen);
      if (v) mt->value = v->word;
      return v != nullptr;
    }
    if (e.keyword) return false;
    mt->value = e.type == ParamType::kText ? std::string(rest) : text;
    return accept(e, mt->value, mt);
  }

  // Consumes one token: VRP resolution (exact keyword, then unique keyword prefix,
  // then parameters by type) and puts in *next every state that takes it. `rest` is the
  // line from this token on, for text parameters.
  Step step(const std::vector<State>& cur, const std::string& text, std::string_view rest,
            size_t col, Trail* trail, std::vector<State>* next) const {
    std::string lt = lower(text);
    std::set<std::string_view> exact, prefix;
    bool any_param = false, any_kw = false;
    // Keyword-set values compete with the keywords possible here, as if they were keywords.
    auto consider = [&](const std::string& lword) {
      if (lt.empty() || lword.empty() || lword[0] != lt[0]) return;  // the usual case
      if (lword == lt)
        exact.insert(lword);
      else if (lword.compare(0, lt.size(), lt) == 0)
        prefix.insert(lword);
    };
    for (const auto& s : cur) {
      const Elem* e = s.swallow ? nullptr : term(s);
      if (!e) continue;
      if (e->keyword) {
        any_kw = true;
        consider(e->lword);
      } else {
        any_param = true;
        if (e->set)
          for (const auto& v : e->set->values) consider(v.lword);
      }
    }
    bool kw = !exact.empty() || prefix.size() == 1;
    std::string_view chosen = !exact.empty() ? std::string_view(lt) : kw ? *prefix.begin() : "";
    next->clear();
    Seen seen;
    if (prefix.size() <= 1 || !exact.empty()) {
      for (const auto& s : cur) {
        const Elem* e = s.swallow ? nullptr : term(s);
        if (!e) continue;
        MatchedToken mt;
        if (!take(*e, kw, chosen, text, rest, &mt)) continue;
        mt.keyword = e->keyword;
        mt.name = e->keyword ? e->word : e->name;
        mt.column = col;
        State c = s;
        c.last = trail->add(std::move(mt), s.last);
        c.node = nfas[s.spec].nodes[s.node].next[0];
        c.swallow = !kw && e->type == ParamType::kText;
        closure(std::move(c), next, &seen);
      }
    }
    // A text parameter already taken absorbs this token whatever the other paths say.
    for (const auto& s : cur)
      if (s.swallow) next->push_back(s);
    if (next->empty()) {
      if (prefix.size() > 1) return Step::kAmbiguous;
      if (any_param) return Step::kWrongParameter;
      if (any_kw) return Step::kUnrecognized;
      return Step::kTooMany;
    }
    return Step::kOk;
  }

  static ErrorKind to_error(Step st) {
    switch (st) {
      case Step::kOk:
        return ErrorKind::kNone;
      case Step::kAmbiguous:
        return ErrorKind::kAmbiguous;
      case Step::kUnrecognized:
        return ErrorKind::kUnrecognized;
      case Step::kWrongParameter:
        return ErrorKind::kWrongParameter;
      case Step::kTooMany:
        return ErrorKind::kTooMany;
    }
    return ErrorKind::kUnrecognized;
  }

  const std::vector<State>& start_states(ViewKind v) const {
    static const std::vector<State> kNone;
    auto it = start.find(v);
    return it == start.end() ? kNone : it->second;
  }

  // Runs the tokens through the view's automaton. On an error fills *po and returns false.
  bool run(ViewKind v, std::string_view line, const std::vector<Tok>& toks, size_t n,
           std::vector<State>* cur, ParseOutcome* po, Trail* trail) const {
    const std::vector<State>* in = &start_states(v);
    std::vector<State> next;
    size_t end = line.size();
    while (end > 0 && is_space(line[end - 1])) --end;
    for (size_t i = 0; i < n; ++i) {
      std::string_view rest = line.substr(toks[i].col, end - toks[i].col);
      Step st = in->empty() ? Step::kUnrecognized
                            : step(*in, toks[i].text, rest, toks[i].col, trail, &next);
      if (st != Step::kOk) {
        po->error = to_error(st);
        po->error_column = toks[i].col;
        return false;
      }
      cur->swap(next);
      in = cur;
    }
    if (n == 0) *cur = *in;
    return true;
  }

  ParseOutcome parse_in(ViewKind v, std::string_view line) const {
    ParseOutcome po;
    auto toks = tokenize(line);
    std::vector<State> cur;
    Trail trail;
    if (!run(v, line, toks, toks.size(), &cur, &po, &trail)) return po;
    const State* best = nullptr;
    for (const auto& s : cur)  // the first declared spec wins
      if (accepting(s) && (!best || s.spec < best->spec)) best = &s;
    if (best) {
      const State& s = *best;
      Match m;
      m.spec = &specs[s.spec];
      m.tokens = trail.path(s.last);
      for (size_t i = 0; i < m.tokens.size(); ++i) {
        if (i) m.canonical += ' ';
        m.canonical += m.tokens[i].value;
      }
      po.match = std::move(m);
      return po;
    }
    po.error = ErrorKind::kIncomplete;
    po.error_column = line.size();
    return po;
  }

  // What `?` can offer after states `cur`: keywords and keyword-set values (those starting with
  // `partial` when set, sorted), parameter placeholders, and whether the line is complete.
  struct HelpScan {
    std::vector<HelpItem> params, kws;
    bool cr = false;
    bool set_param = false;  // a keyword-set parameter is possible here
  };
  HelpScan scan_help(const std::vector<State>& cur,
                     const std::optional<std::string>& partial) const {
    HelpScan hs;
    std::set<std::pair<std::string, std::string>> seen;
    auto add = [&](std::vector<HelpItem>* to, HelpItem h) {
      if (seen.insert({h.word, h.help}).second) to->push_back(std::move(h));
    };
    auto offered = [&](const std::string& lword) {
      return !partial || lword.compare(0, partial->size(), *partial) == 0;
    };
    for (const auto& s : cur) {
      hs.cr |= accepting(s);
      const Elem* e = term(s);
      if (!e) continue;
      if (e->keyword) {
        if (offered(e->lword)) add(&hs.kws, HelpItem{e->word, help_of(e->word)});
      } else if (e->set) {
        hs.set_param = true;
        for (const auto& v : e->set->values)
          if (offered(v.lword)) add(&hs.kws, HelpItem{v.word, v.help});
      } else {
        add(&hs.params, HelpItem{placeholder(*e), help_of(e->name)});
      }
    }
    std::sort(hs.kws.begin(), hs.kws.end(),
              [](const HelpItem& a, const HelpItem& b) { return a.word < b.word; });
    return hs;
  }

  std::string help_of(const std::string& key) const {
    auto it = help.find(key);
    if (it == help.end()) it = help.find(lower(key));
    return it == help.end() ? std::string() : it->second;
  }
};

namespace {

bool is_comment_or_empty(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && is_space(line[i])) ++i;
  return i == line.size() || line[i] == '#';
}

bool ends_with_space(std::string_view line) { return line.empty() || is_space(line.back()); }

bool same_word(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

std::optional<std::vector<HelpItem>> help_in(const Grammar::Impl& impl, const ViewKind view,
                                             std::string_view line, ParseOutcome* err);
std::vector<std::string> complete_in(const Grammar::Impl& impl, const ViewKind view,
                                     std::string_view line);

// Compiles `specs` into `impl` (see the Grammar constructor).
void compile(Grammar::Impl* impl, std::vector<CommandSpec> specs,
             std::map<std::string, std::string> help, const KeywordSets& sets) {
  impl->specs = std::move(specs);
  impl->help = std::move(help);
  impl->sets = compile_sets(sets);
  // by_view lists specs in declaration order; closures keep that order, so the
  // first declared spec wins when two accept the same line.
  for (size_t i = 0; i < impl->specs.size(); ++i) {
    const CommandSpec& cs = impl->specs[i];
    if (cs.id.empty())
      throw std::invalid_argument("command spec #" + std::to_string(i) + " has no id");
    if (cs.views.empty()) throw std::invalid_argument("command spec '" + cs.id + "': no views");
    SpecParser p(cs, &impl->elems, impl->help, impl->sets);
    Ast ast = p.parse();
    Nfa nfa;
    NfaNode acc;
    acc.kind = NfaNode::kAccept;
    nfa.nodes.push_back(acc);
    nfa.start = build(ast, 0, &nfa);
    for (const auto& n : nfa.nodes) {
      if (n.kind == NfaNode::kTerm && impl->elems[n.elem].type == ParamType::kText &&
          !impl->elems[n.elem].keyword && n.next[0] != 0)
        throw std::invalid_argument("command spec '" + cs.id +
                                    "': a text parameter must end the command");
    }
    impl->nfas.push_back(std::move(nfa));
    for (ViewKind v : cs.views) {
      auto& lst = impl->by_view[v];
      if (lst.empty() || lst.back() != static_cast<int>(i)) lst.push_back(static_cast<int>(i));
    }
  }
  for (const auto& [v, _] : impl->by_view) impl->start[v] = impl->initial(v);
}

// The output pipes, typed after "|" (matched as commands of the user view of their own grammar).
std::vector<CommandSpec> pipe_specs() {
  const std::vector<ViewKind> v = {ViewKind::kUser};
  return {{"pipe.begin", v, "begin <regular-expression:text(1-255)>"},
          {"pipe.count", v, "count"},
          {"pipe.exclude", v, "exclude <regular-expression:text(1-255)>"},
          {"pipe.include", v, "include <regular-expression:text(1-255)>"}};
}

std::map<std::string, std::string> pipe_help() {
  return {{"begin", "Begin with the line that matches"},
          {"count", "Count the number of lines"},
          {"exclude", "Match the lines that do not match"},
          {"include", "Match the lines that match"},
          {"regular-expression", "Regular expression"}};
}

// Byte offset of the first token that is exactly "|", npos if none.
size_t pipe_column(std::string_view line) {
  for (const auto& t : tokenize(line))
    if (t.text == "|") return t.col;
  return std::string_view::npos;
}

// The command line ran up to a pipe at `bar` and matched `cmd`, a display command: matches the
// pipe after it and the regular expression (columns of errors counted in the whole line).
ParseOutcome with_pipe(const Grammar::Impl& pipe, ParseOutcome cmd, std::string_view line,
                       size_t bar) {
  const size_t off = bar + 1;
  ParseOutcome p = pipe.parse_in(ViewKind::kUser, line.substr(off));
  if (!p.match) {
    p.error_column += off;
    return p;
  }
  OutputFilter f;
  const std::string& id = p.match->spec->id;
  f.kind = id == "pipe.begin"     ? OutputFilter::Kind::kBegin
           : id == "pipe.count"   ? OutputFilter::Kind::kCount
           : id == "pipe.exclude" ? OutputFilter::Kind::kExclude
                                  : OutputFilter::Kind::kInclude;
  if (const MatchedToken* re = p.match->token("regular-expression")) {
    f.regex = re->value;
    try {
      std::regex check(f.regex);
    } catch (const std::regex_error&) {
      ParseOutcome bad;
      bad.error = ErrorKind::kWrongParameter;
      bad.error_column = off + re->column;
      return bad;
    }
  }
  cmd.match->filter = std::move(f);
  cmd.match->canonical += " | " + p.match->canonical;
  return cmd;
}

}  // namespace

Grammar::Grammar(std::vector<CommandSpec> specs, std::map<std::string, std::string> help,
                 KeywordSets sets)
    : impl_(std::make_unique<Impl>()) {
  compile(impl_.get(), std::move(specs), std::move(help), sets);
  impl_->pipe = std::make_unique<Impl>();
  compile(impl_->pipe.get(), pipe_specs(), pipe_help(), {});
}

Grammar::~Grammar() = default;

const std::vector<CommandSpec>& Grammar::specs() const { return impl_->specs; }

bool is_display(const CommandSpec& spec) { return spec.syntax.rfind("display ", 0) == 0; }

ParseOutcome Grammar::parse(const ViewStack& vs, std::string_view line, bool search_parents) const {
  if (is_comment_or_empty(line)) return ParseOutcome{};
  if (size_t bar = pipe_column(line); bar != std::string_view::npos) {
    ParseOutcome cmd = parse_plain(vs, line.substr(0, bar), search_parents);
    if (cmd.match && is_display(*cmd.match->spec))
      return with_pipe(*impl_->pipe, std::move(cmd), line, bar);
  }
  return parse_plain(vs, line, search_parents);
}

ParseOutcome Grammar::parse_plain(const ViewStack& vs, std::string_view line,
                                  bool search_parents) const {
  if (is_comment_or_empty(line)) return ParseOutcome{};
  ViewKind top = vs.empty() ? ViewKind::kUser : vs.back().kind;
  ParseOutcome first = impl_->parse_in(top, line);
  if (first.match || !search_parents) return first;
  for (size_t up = 1; up < vs.size(); ++up) {
    ParseOutcome po = impl_->parse_in(vs[vs.size() - 1 - up].kind, line);
    if (po.match) {
      po.views_up = up;
      return po;
    }
  }
  return first;
}

// Whether `line` is a complete display command in `view`.
bool Grammar::display_line(ViewKind view, std::string_view line) const {
  if (is_comment_or_empty(line)) return false;
  ParseOutcome po = impl_->parse_in(view, line);
  return po.match && is_display(*po.match->spec);
}

std::optional<std::vector<HelpItem>> Grammar::help(const ViewKind view, std::string_view line,
                                                   ParseOutcome* err) const {
  size_t bar = pipe_column(line);
  if (bar != std::string_view::npos && display_line(view, line.substr(0, bar))) {
    std::string_view rest = line.substr(bar + 1);
    if (rest.empty()) return std::vector<HelpItem>{{"|", "Matching output"}};  // "... |?"
    auto items = help_in(*impl_->pipe, ViewKind::kUser, rest, err);
    if (!items && err) err->error_column += bar + 1;
    return items;
  }
  auto items = help_in(*impl_, view, line, err);
  // A complete display command can be followed by a pipe: "|" before "<cr>".
  if (items && !items->empty() && items->back().word == "<cr>" && ends_with_space(line) &&
      display_line(view, line))
    items->insert(items->end() - 1, HelpItem{"|", "Matching output"});
  return items;
}

std::vector<std::string> Grammar::complete(const ViewKind view, std::string_view line) const {
  size_t bar = pipe_column(line);
  if (bar != std::string_view::npos && display_line(view, line.substr(0, bar)))
    return complete_in(*impl_->pipe, ViewKind::kUser, line.substr(bar + 1));
  return complete_in(*impl_, view, line);
}

namespace {

std::optional<std::vector<HelpItem>> help_in(const Grammar::Impl& impl, const ViewKind view,
                                             std::string_view line, ParseOutcome* err) {
  auto toks = tokenize(line);
  bool partial = !ends_with_space(line) && !toks.empty();
  size_t n = partial ? toks.size() - 1 : toks.size();
  std::vector<State> cur;
  ParseOutcome po;
  Trail trail;
  if (!impl.run(view, line, toks, n, &cur, &po, &trail)) {
    if (err) *err = po;
    return std::nullopt;
  }
  std::optional<std::string> lp;
  if (partial) lp = lower(toks.back().text);
  Grammar::Impl::HelpScan hs = impl.scan_help(cur, lp);
  std::vector<HelpItem> out;
  if (partial) {
    // "dis?": the keywords the word can become; a parameter being typed shows its placeholder.
    if (!hs.kws.empty()) return hs.kws;
    if (!hs.params.empty()) return hs.params;
    if (std::any_of(cur.begin(), cur.end(), [](const State& s) { return s.swallow; }))
      return out;  // inside free text: nothing to offer, nothing wrong
    if (err) {
      *err = ParseOutcome{};
      bool done = hs.cr && std::none_of(cur.begin(), cur.end(),
                                        [&](const State& s) { return impl.term(s) != nullptr; });
      err->error = done           ? ErrorKind::kTooMany
                   : hs.set_param ? ErrorKind::kWrongParameter
                                  : ErrorKind::kUnrecognized;
      err->error_column = toks.back().col;
    }
    return std::nullopt;
  }
  out = std::move(hs.params);
  for (auto& k : hs.kws) out.push_back(std::move(k));
  if (hs.cr) out.push_back(HelpItem{"<cr>", ""});
  return out;
}

std::vector<std::string> complete_in(const Grammar::Impl& impl, const ViewKind view,
                                     std::string_view line) {
  auto toks = tokenize(line);
  bool partial = !ends_with_space(line) && !toks.empty();
  size_t n = partial ? toks.size() - 1 : toks.size();
  std::vector<State> cur;
  ParseOutcome po;
  Trail trail;
  if (!impl.run(view, line, toks, n, &cur, &po, &trail)) return {};
  std::string lp = partial ? lower(toks.back().text) : std::string();
  std::set<std::string> out;
  for (const auto& s : cur) {
    const Elem* e = impl.term(s);
    if (!e) continue;
    if (e->keyword && e->lword.compare(0, lp.size(), lp) == 0) out.insert(e->word);
    if (e->set)
      for (const auto& v : e->set->values)
        if (v.lword.compare(0, lp.size(), lp) == 0) out.insert(v.word);
  }
  return {out.begin(), out.end()};
}

}  // namespace

// ---- Match helpers -----------------------------------------------------------

bool Match::has(std::string_view keyword) const {
  for (const auto& t : tokens)
    if (t.keyword && same_word(t.name, keyword)) return true;
  return false;
}

std::optional<std::string> Match::param(std::string_view name) const {
  for (const auto& t : tokens)
    if (!t.keyword && t.name == name) return t.value;
  return std::nullopt;
}

std::vector<std::string> Match::params(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& t : tokens)
    if (!t.keyword && t.name == name) out.push_back(t.value);
  return out;
}

std::optional<std::string> Match::param_after(std::string_view after, std::string_view name) const {
  size_t i = 0;
  while (i < tokens.size() && !(tokens[i].keyword && same_word(tokens[i].name, after))) ++i;
  for (++i; i < tokens.size(); ++i)
    if (!tokens[i].keyword && tokens[i].name == name) return tokens[i].value;
  return std::nullopt;
}

const MatchedToken* Match::token(std::string_view name) const {
  for (const auto& t : tokens)
    if (!t.keyword && t.name == name) return &t;
  return nullptr;
}

std::optional<long long> Match::integer(std::string_view name) const {
  const MatchedToken* t = token(name);
  return t ? t->number : std::nullopt;
}

namespace {

template <typename T>
std::optional<T> narrow(std::optional<long long> v) {
  if (!v || *v < 0 || static_cast<unsigned long long>(*v) > std::numeric_limits<T>::max())
    return std::nullopt;
  return static_cast<T>(*v);
}

}  // namespace

std::optional<uint32_t> Match::u32(std::string_view name) const {
  return narrow<uint32_t>(integer(name));
}

std::optional<uint16_t> Match::u16(std::string_view name) const {
  return narrow<uint16_t>(integer(name));
}

std::optional<uint8_t> Match::u8(std::string_view name) const {
  return narrow<uint8_t>(integer(name));
}

std::optional<common::IpAddr> Match::ip(std::string_view name) const {
  const MatchedToken* t = token(name);
  return t ? t->addr : std::nullopt;
}

std::optional<common::Prefix> Match::prefix(std::string_view addr, std::string_view mask,
                                            std::string_view len) const {
  auto a = ip(addr);
  if (!a) return std::nullopt;
  if (token(mask)) {
    auto m = ip(mask);
    return m ? common::Prefix::from_mask(*a, *m) : std::nullopt;
  }
  auto l = integer(len);
  if (!l || *l > 128) return std::nullopt;
  return common::Prefix::from_len(*a, static_cast<int>(*l));
}

// ---- errors and help rendering ------------------------------------------------

std::string error_message(ErrorKind e) {
  switch (e) {
    case ErrorKind::kNone:
      return "";
    case ErrorKind::kUnrecognized:
      return "Error: Unrecognized command found at '^' position.";
    case ErrorKind::kIncomplete:
      return "Error: Incomplete command found at '^' position.";
    case ErrorKind::kAmbiguous:
      return "Error: Ambiguous command found at '^' position.";
    case ErrorKind::kWrongParameter:
      return "Error: Wrong parameter found at '^' position.";
    case ErrorKind::kTooMany:
      return "Error: Too many parameters found at '^' position.";
  }
  return "";
}

std::string render_error(const ParseOutcome& po, size_t prompt_len) {
  if (po.error == ErrorKind::kNone) return "";
  return std::string(prompt_len + po.error_column, ' ') + "^\n" + error_message(po.error) + "\n";
}

std::string render_help(const std::vector<HelpItem>& items) {
  size_t width = 25;  // VRP puts the help text in a fixed column
  for (const auto& i : items) width = std::max(width, i.word.size() + 2);
  std::string out;
  for (const auto& i : items) {
    out += "  " + i.word;
    if (!i.help.empty()) out += std::string(width - i.word.size(), ' ') + i.help;
    out += '\n';
  }
  return out;
}

}  // namespace fw::cli
