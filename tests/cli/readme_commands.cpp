// Checks that README.md's command table and the command grammar (cli/commands.cpp) list the
// same commands:
//  - every spec's leading keywords (its syntax up to the first parameter or bracket, without a
//    leading `undo`, which the table covers with "`undo` of each" / "`undo ...`") appear, in
//    order and starting with the same word, in one `...` of the table;
//  - every `...` of the table starts (its leading lowercase keywords) like some spec's keywords.
//
//   readme_commands README.md     exit 0 if both hold, else 1 with one line per problem
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"

using Words = std::vector<std::string>;

namespace {

bool is_keyword(const std::string& w) {
  static const std::regex kw("[a-z][a-z0-9-]*");
  return std::regex_match(w, kw);
}

Words split(const std::string& s) {
  std::istringstream is(s);
  Words out;
  for (std::string w; is >> w;) out.push_back(w);
  return out;
}

// The leading keywords of a text: its words up to the first that is not a keyword.
Words leading(const Words& words) {
  Words out;
  for (const auto& w : words) {
    if (!is_keyword(w)) break;
    out.push_back(w);
  }
  return out;
}

// The code spans (`...`) of the rows of the table under the "| where | commands |" header.
std::vector<std::string> table_commands(std::istream& readme) {
  std::vector<std::string> out;
  bool in_table = false;
  for (std::string line; std::getline(readme, line);) {
    if (line.rfind("| where | commands |", 0) == 0) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (line.empty() || line[0] != '|') break;
    std::string cell = line.substr(line.find('|', 1));  // the commands column
    for (size_t a = cell.find('`'); a != std::string::npos; a = cell.find('`', a)) {
      size_t b = cell.find('`', a + 1);
      if (b == std::string::npos) break;
      out.push_back(cell.substr(a + 1, b - a - 1));
      a = b + 1;
    }
  }
  return out;
}

// Whether `want` appears in order in `words`, starting at its first word.
bool in_order(const Words& want, const Words& words) {
  if (want.empty() || words.empty() || want[0] != words[0]) return false;
  size_t i = 0;
  for (const auto& w : words)
    if (i < want.size() && w == want[i]) ++i;
  return i == want.size();
}

// Whether `prefix` is the start of a spec's keywords (every keyword of its syntax, in order).
bool starts_spec(const Words& prefix, const Words& spec_keywords) {
  if (prefix.size() > spec_keywords.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), spec_keywords.begin());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: readme_commands README.md\n";
    return 2;
  }
  std::ifstream f(argv[1]);
  if (!f) {
    std::cerr << "cannot read " << argv[1] << "\n";
    return 2;
  }
  auto table = table_commands(f);
  if (table.empty()) {
    std::cerr << argv[1] << ": no command table (a \"| where | commands |\" header)\n";
    return 1;
  }
  fw::cli::KeywordSets sets;
  for (const auto& n : fw::cli::firewall_keyword_sets()) sets[n] = {};
  auto grammar = fw::cli::firewall_grammar(sets);
  int problems = 0;
  std::vector<Words> spec_keywords;
  for (const auto& spec : grammar->specs()) {
    Words all = split(spec.syntax);
    Words kws;
    for (const auto& w : all)
      if (is_keyword(w)) kws.push_back(w);
    spec_keywords.push_back(kws);
    Words lead = leading(all);
    if (!lead.empty() && lead[0] == "undo") lead.erase(lead.begin());
    if (lead.empty()) continue;  // `undo` of each
    bool listed = false;
    for (const auto& t : table) {
      Words words = split(t);
      if (!words.empty() && words[0] == "undo") words.erase(words.begin());
      listed = listed || in_order(lead, words);
    }
    if (!listed) {
      ++problems;
      std::cout << "not in the README's command table: " << spec.syntax << "  (" << spec.id
                << ")\n";
    }
  }
  for (const auto& t : table) {
    Words lead = leading(split(t));
    bool known = false;
    for (const auto& k : spec_keywords) known = known || (!lead.empty() && starts_spec(lead, k));
    if (!known) {
      ++problems;
      std::cout << "in the README's command table but not a command: " << t << "\n";
    }
  }
  std::cout << table.size() << " table entries, " << grammar->specs().size() << " commands, "
            << problems << " problem(s)\n";
  return problems ? 1 : 0;
}
