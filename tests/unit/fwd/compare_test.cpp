// save -> a new controller started from the database (as fwd does at a restart) ->
// compare configuration shows no difference; a change shows it. Pipes and sections are applied
// by the controller, for every client.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "db/config_store.h"
#include "fwd/controller.h"

namespace fw::fwd {
namespace {

const char* kConfig = R"(
sysname SAVE-FW
firewall zone trust
 add interface in0
security-policy
 rule name web
  source-zone trust
  destination-zone untrust
  service http
  action permit
)";

const std::string kSame =
    "The current configuration is the same as the next startup configuration file.\n";

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "fwd_compare.XXXXXX").string();
    if (mkdtemp(t.data())) path = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::string run(Controller& c, const std::string& line) {
  return c.execute(cli::user_view(), line).output;
}

TEST(Compare, SaveRestartCompare) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string db = (dir.path / "fwd.db").string();
  std::string err;
  {
    auto store = db::ConfigStore::open(db, &err);
    ASSERT_TRUE(store) << err;
    ControllerHooks h;
    h.store = store.get();
    Controller a(h);
    EXPECT_EQ(run(a, "display saved-configuration"),
              "Info: No configuration has been saved yet (save writes it).\n");
    auto r = a.execute(cli::user_view(), "compare configuration");
    EXPECT_FALSE(r.ok);
    ASSERT_TRUE(a.load_text(kConfig, "test", &err)) << err;
    EXPECT_EQ(run(a, "save y"), "Info: Save the configuration successfully.\n");
    EXPECT_EQ(run(a, "compare configuration"), kSame);
  }
  // The restart: a new store on the same file, a new controller loading what it holds.
  auto store = db::ConfigStore::open(db, &err);
  ASSERT_TRUE(store) << err;
  auto saved = store->load(&err);
  ASSERT_TRUE(saved) << err;
  ControllerHooks h;
  h.store = store.get();
  Controller b(h);
  ASSERT_TRUE(b.load_text(*saved, "saved", &err)) << err;
  EXPECT_EQ(run(b, "compare configuration"), kSame);
  EXPECT_EQ(run(b, "display saved-configuration"), run(b, "display current-configuration"));
  auto sys = cli::ViewStack{{cli::ViewKind::kUser, {}}, {cli::ViewKind::kSystem, {}}};
  ASSERT_TRUE(b.execute(sys, "sysname CHANGED").ok);
  std::string diff = run(b, "compare configuration");
  EXPECT_EQ(diff.rfind("Warning: The current configuration is not the same", 0), 0u) << diff;
  EXPECT_NE(diff.find("====== Current configuration line 2 ======\n sysname CHANGED\n"
                      "====== Configuration file line 2 ======\n sysname SAVE-FW\n"),
            std::string::npos)
      << diff;
}

TEST(Compare, PipesAndSectionsAppliedByTheController) {
  Controller c({});
  std::string err;
  ASSERT_TRUE(c.load_text(kConfig, "test", &err)) << err;
  EXPECT_EQ(run(c, "display current-configuration | include ^ sysname"), " sysname SAVE-FW\n");
  auto r = c.execute(cli::user_view(), "display current-configuration | include (");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.output.find("Error: Wrong parameter found at '^' position."), std::string::npos);
  std::string section = run(c, "display current-configuration configuration security-policy");
  EXPECT_EQ(section.rfind("#\nsecurity-policy\n rule name web\n", 0), 0u) << section;
  EXPECT_EQ(section.find("firewall zone"), std::string::npos) << section;
  EXPECT_EQ(run(c, "display current-configuration configuration security-policy | count"),
            "Total lines: 9.\n");
}

}  // namespace
}  // namespace fw::fwd
