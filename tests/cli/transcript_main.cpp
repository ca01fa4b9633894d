// Replays a CLI transcript: lines that start with the current prompt are
// input; the lines up to the next input are the expected screen. The prompt
// itself is checked, so view changes are part of the golden output.
//
//   cli_transcripts FILE            compare, print a diff, exit 1 on mismatch
//   cli_transcripts --record FILE   print what the transcript produces now
//
// A leading comment line "// interfaces: in0 out0 ..." makes only those interface names exist
// (the daemon's interface_exists hook); without it any name is accepted. A leading
// "// database" line gives the controller a new configuration database (`save`, `display
// saved-configuration`, `compare configuration`) in a temporary directory, removed at the end.
// The interface names are also the links `display interface` shows: up, no address, MTU 1500,
// made-up hardware addresses.
#include <linux/if.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "db/config_store.h"
#include "fwd/controller.h"
#include "fwd/dataplane.h"
#include "fwd/table_routes.h"

using namespace fw;

bool read_lines(const char* path, std::vector<std::string>* out) {
  std::ifstream f(path);
  if (!f) return false;
  for (std::string l; std::getline(f, l);) out->push_back(l);
  return true;
}

// Leading comment lines (starting with "//"): skipped (*i is the first line after them), and
// the hooks their directives ask for.
// A configuration database in a new temporary directory, removed with it.
struct TempDatabase {
  std::filesystem::path dir;
  std::unique_ptr<db::ConfigStore> store;
  TempDatabase() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cli_transcript.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return;
    dir = tmpl;
    std::string err;
    store = db::ConfigStore::open((dir / "fwd.db").string(), &err);
    if (!store) std::cerr << "cannot create the database: " << err << "\n";
  }
  ~TempDatabase() {
    store.reset();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

// "trace" area: `// routes: PREFIX=IF[,NEXTHOP] ...` and `// local: ADDRESS=IF ...` give the
// controller a data plane whose routes are that table (fwd/table_routes.h), for packet-trace.
struct TraceDataPlane {
  common::ManualClock clock{1'000'000};
  fwd::TableRoutes routes;
  std::unique_ptr<fwd::DataPlane> dp;
};

bool trace_directive(const std::string& line, std::unique_ptr<TraceDataPlane>* plane) {
  const bool is_route = line.rfind("// routes:", 0) == 0,
             is_local = line.rfind("// local:", 0) == 0;
  if (!is_route && !is_local) return false;
  if (!*plane) *plane = std::make_unique<TraceDataPlane>();
  std::istringstream is(line.substr(is_route ? 10 : 9));
  std::string err;
  for (std::string w; is >> w;) {
    if (!(is_route ? (*plane)->routes.add_route(w, &err) : (*plane)->routes.add_local(w, &err))) {
      std::cerr << "bad directive: " << err << "\n";
    }
  }
  return true;
}

fwd::ControllerHooks read_header(const std::vector<std::string>& lines, size_t* i,
                                 std::unique_ptr<TempDatabase>* database,
                                 std::unique_ptr<TraceDataPlane>* plane) {
  const std::string kInterfaces = "// interfaces:";
  fwd::ControllerHooks hooks;
  for (; *i < lines.size() && lines[*i].rfind("//", 0) == 0; ++*i) {
    if (trace_directive(lines[*i], plane)) continue;
    if (lines[*i] == "// database") {
      *database = std::make_unique<TempDatabase>();
      hooks.store = (*database)->store.get();
    }
    if (lines[*i].rfind(kInterfaces, 0) != 0) continue;
    std::istringstream is(lines[*i].substr(kInterfaces.size()));
    std::set<std::string> names{std::istream_iterator<std::string>(is), {}};
    hooks.interface_exists = [names](const std::string& n) { return names.count(n) > 0; };
    // "iface" area: the same names as links for `display interface`.
    std::vector<fwd::LinkDetail> links;
    for (const auto& n : names) {
      fwd::LinkDetail l;
      l.ifindex = static_cast<uint32_t>(links.size() + 2);
      l.name = n;
      l.flags = IFF_UP | IFF_LOWER_UP | IFF_RUNNING;
      l.mtu = 1500;
      l.mac = "02:00:00:00:00:0" + std::to_string(l.ifindex);
      links.push_back(l);
    }
    hooks.link_details = [links] { return links; };
  }
  if (*plane) {
    auto& p = **plane;
    fwd::DataPlaneOptions o;
    // "evlog" area: event times follow the data plane's clock from 2026-11-29 11:55:32 UTC.
    o.evlog.wall_ms = [&p] { return 1'795'953'332'000ull + p.clock.now_ms() - 1'000'000; };
    p.dp = std::make_unique<fwd::DataPlane>(p.clock, p.routes, o);
    hooks.dataplane = p.dp.get();
    hooks.ifname = [&p](uint32_t ifindex) { return p.routes.ifname(ifindex); };
  }
  return hooks;
}

int main(int argc, char** argv) {
  bool record = argc == 3 && std::string(argv[1]) == "--record";
  if (argc != 2 && !record) {
    std::cerr << "usage: cli_transcripts [--record] FILE\n";
    return 2;
  }
  std::vector<std::string> lines;
  if (!read_lines(argv[argc - 1], &lines)) {
    std::cerr << "cannot read " << argv[argc - 1] << "\n";
    return 2;
  }
  std::string got;
  size_t i = 0;
  int failures = 0;
  std::unique_ptr<TempDatabase> database;
  std::unique_ptr<TraceDataPlane> plane;
  fwd::Controller ctl(read_header(lines, &i, &database, &plane));
  // "trace" area: `// config: FILE` (relative to the transcript) is loaded first, as fwd
  // loads --config; with a data plane the configuration is published to it.
  for (size_t k = 0; k < i; ++k) {
    if (lines[k].rfind("// config: ", 0) != 0) continue;
    std::vector<std::string> cfg;
    auto path = std::filesystem::path(argv[argc - 1]).parent_path() / lines[k].substr(11);
    std::string text, err;
    if (!read_lines(path.c_str(), &cfg)) {
      std::cerr << "cannot read " << path << "\n";
      return 2;
    }
    for (const auto& l : cfg) text += l + "\n";
    if (!ctl.load_text(text, path.string(), &err)) {
      std::cerr << err << "\n";
      return 2;
    }
  }
  if (plane) ctl.apply_now();
  for (size_t k = 0; k < i; ++k) got += lines[k] + "\n";
  cli::ViewStack vs = cli::user_view();
  while (i < lines.size()) {
    std::string pr = ctl.prompt(vs);
    const std::string& l = lines[i];
    if (l.rfind(pr, 0) != 0) {
      std::cerr << argv[argc - 1] << ":" << i + 1 << ": expected an input line starting with " << pr
                << ", got: " << l << "\n";
      return 1;
    }
    std::string cmd = l.substr(pr.size());
    got += l + "\n";
    ++i;
    auto r = ctl.execute(vs, cmd, true);
    std::string out = r.output;
    // The daemon echoes the prompt and line before a caret; a transcript already shows them.
    if (out.rfind(pr + cmd + "\n", 0) == 0) out = out.substr(pr.size() + cmd.size() + 1);
    got += out;
    vs = r.views;
    std::string next_pr = ctl.prompt(vs);
    std::string exp;
    while (i < lines.size() && lines[i].rfind(next_pr, 0) != 0) {
      exp += lines[i] + "\n";
      ++i;
    }
    if (!record && exp != out) {
      ++failures;
      std::cerr << "--- mismatch after: " << pr << cmd << "\n--- expected:\n"
                << exp << "--- got:\n"
                << out;
    }
  }
  if (record) {
    std::cout << got;
    return 0;
  }
  if (failures) {
    std::cerr << failures << " command(s) differ in " << argv[argc - 1] << "\n";
    return 1;
  }
  std::cout << "transcript " << argv[argc - 1] << ": ok\n";
  return 0;
}
