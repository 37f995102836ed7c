// Unit tests of src/platform/output_file and temp_folder: the checks made before shopctl writes
// a file a user named, on real files in a temporary folder.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "platform/output_file.hpp"
#include "platform/temp_folder.hpp"

namespace platform = shopctl::platform;
namespace fs = std::filesystem;

namespace {
struct Folder {
  Folder() : path(platform::make_temp_folder("shopctl-output-test")) {}
  ~Folder() { platform::remove_temp_folder(path); }
  fs::path path;
};
void touch(const fs::path& p) {
  std::ofstream(p) << "x\n";
}
}  // namespace

TEST_CASE("an output that is an input, through another spelling or a link, is refused") {
  Folder f;
  touch(f.path / "in.yaml");
  fs::create_symlink(f.path / "in.yaml", f.path / "link.yaml");
  auto same = platform::output_conflict({{"--config", f.path / "in.yaml"}},
                                        {{"--json", f.path / "sub" / ".." / "in.yaml"}});
  REQUIRE(same);
  CHECK(same->find("--json") == 0);
  CHECK(same->find("is --config") != std::string::npos);
  CHECK(platform::output_conflict({{"--config", f.path / "in.yaml"}},
                                  {{"--json", f.path / "link.yaml"}}));
  CHECK_FALSE(platform::output_conflict({{"--config", f.path / "in.yaml"}},
                                        {{"--json", f.path / "out.json"}, {"--html", ""}}));
}

TEST_CASE("two outputs on one path are refused, whether or not the file exists yet") {
  Folder f;
  auto both = platform::output_conflict(
      {}, {{"--junit", f.path / "r.xml"}, {"--json", f.path / "." / "r.xml"}});
  REQUIRE(both);
  CHECK(both->find("--json and --junit both name") == 0);
  CHECK_FALSE(platform::output_conflict({}, {{"--junit", f.path / "a"}, {"--json", f.path / "b"}}));
  // A link to a report not written yet, relative or absolute, two links deep: one file still.
  fs::create_symlink("r2.xml", f.path / "link.xml");
  fs::create_symlink(f.path / "link.xml", f.path / "link2.xml");
  CHECK(platform::output_conflict(
      {}, {{"--junit", f.path / "link.xml"}, {"--json", f.path / "r2.xml"}}));
  CHECK(platform::output_conflict(
      {}, {{"--junit", f.path / "r2.xml"}, {"--json", f.path / "link2.xml"}}));
  CHECK_FALSE(platform::output_conflict(
      {}, {{"--junit", f.path / "link.xml"}, {"--json", f.path / "r3.xml"}}));
  // A link loop names no file twice, and ends.
  fs::create_symlink("loop-b", f.path / "loop-a");
  fs::create_symlink("loop-a", f.path / "loop-b");
  CHECK_FALSE(platform::output_conflict(
      {}, {{"--junit", f.path / "loop-a"}, {"--json", f.path / "r4.xml"}}));
  // /dev/null overwrites nothing: every report may be thrown away (it was refused).
  CHECK_FALSE(platform::output_conflict(
      {{"--vars-file", "/dev/null"}},
      {{"--junit", "/dev/null"}, {"--json", "/dev/null"}, {"--html", "/dev/null"}}));
}

TEST_CASE(
    "a file replaced through a rename: devices, pipes and folders are refused; links followed") {
  Folder f;
  CHECK(platform::replace_target(f.path / "new.yaml").path == f.path / "new.yaml");
  CHECK_FALSE(platform::replace_target("/dev/null").error.empty());
  CHECK(platform::replace_target("/dev/null").path.empty());
  REQUIRE(mkfifo((f.path / "pipe").c_str(), 0600) == 0);
  CHECK(platform::replace_target(f.path / "pipe").error.find("is not a regular file") == 0);
  CHECK(platform::replace_target(f.path).error == "is a folder, not a file");
  touch(f.path / "real.yaml");
  fs::create_symlink("real.yaml", f.path / "link.yaml");
  const auto followed = platform::replace_target(f.path / "link.yaml");
  CHECK(followed.error.empty());
  CHECK(followed.path == fs::canonical(f.path / "real.yaml"));
}

TEST_CASE("a writable output is probed without leaving a file or changing one") {
  Folder f;
  CHECK(platform::writable_output(f.path / "new.json"));
  CHECK_FALSE(fs::exists(f.path / "new.json"));
  touch(f.path / "old.json");
  CHECK(platform::writable_output(f.path / "old.json"));
  CHECK(fs::file_size(f.path / "old.json") == 2);
  // A missing folder is made (`--junit reports/junit.xml` in a fresh clone), the file not.
  CHECK(platform::writable_output(f.path / "missing" / "x.json"));
  CHECK(fs::is_directory(f.path / "missing"));
  CHECK_FALSE(fs::exists(f.path / "missing" / "x.json"));
  CHECK(platform::output_problem(f.path / "old.json" / "x.json") == "Not a directory");
  CHECK_FALSE(platform::writable_output(f.path));
  CHECK(platform::output_problem(f.path) == "it is a folder");
  CHECK(platform::writable_output(""));
}

TEST_CASE("the folders the checks made are taken back, deepest first, when the work is refused") {
  Folder f;
  const std::string a = (f.path / "r" / "a" / "junit.xml").string();
  const std::string b = (f.path / "r" / "b" / "c" / "run.json").string();
  const std::string kept = (f.path / "r" / "k" / "x.html").string();
  std::vector<fs::path> made;
  CHECK_FALSE(platform::first_unwritable({&a, &b, &kept}, &made));
  CHECK(made.size() == 5);                 // r/a and r, r/b/c and r/b, r/k
  touch(f.path / "r" / "k" / "user.txt");  // something put there meanwhile stays
  platform::remove_made_folders(made);
  CHECK_FALSE(fs::exists(f.path / "r" / "a"));
  CHECK_FALSE(fs::exists(f.path / "r" / "b"));
  CHECK(fs::exists(f.path / "r" / "k" / "user.txt"));
  // Folders that were there before are not the checks' to take.
  made.clear();
  CHECK_FALSE(platform::first_unwritable({&a}, &made));
  CHECK(made == std::vector<fs::path>{f.path / "r" / "a"});
  platform::remove_made_folders(made);
  CHECK(fs::is_directory(f.path / "r"));
}

TEST_CASE("a temporary folder names TMPDIR when it cannot be made there; an empty TMPDIR is /tmp") {
  const char* saved = std::getenv("TMPDIR");
  const std::string before = saved ? saved : "";
  setenv("TMPDIR", "/nonexistent-shopctl-dir", 1);
  try {
    platform::make_temp_folder("shopctl-x");
    FAIL("no error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("TMPDIR=/nonexistent-shopctl-dir does not exist") !=
          std::string::npos);
  }
  setenv("TMPDIR", "", 1);
  const auto made = platform::make_temp_folder("shopctl-x");
  CHECK(made.parent_path() == "/tmp");
  platform::remove_temp_folder(made);
  CHECK_FALSE(fs::exists(made));
  if (saved)
    setenv("TMPDIR", before.c_str(), 1);
  else
    unsetenv("TMPDIR");
}

// A signal's cleanup removed a shop's temporary folder while the shop, still starting, made
// its folders again: the folder stayed after the process ended (an outside probe's SIGHUP
// during `run`'s start-up). A child process makes a folder, has a thread make folders inside
// it without pause, and ends through the cleanup: the folder must be gone after it, every time.
TEST_CASE("a signal's cleanup leaves no temporary folder, whatever a thread makes meanwhile") {
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    int channel[2];
    REQUIRE(::pipe(channel) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(channel[0]);
      const auto folder = platform::make_temp_folder("shopctl-cleanup-test");
      const std::string name = folder.string() + "\n";
      if (::write(channel[1], name.data(), name.size()) < 0) std::_Exit(2);
      std::thread maker([folder] {
        for (;;) {
          std::error_code ec;
          platform::make_folders(folder / "data" / "a", ec);
          std::ofstream(folder / "data" / "a" / "f") << "x";
        }
      });
      maker.detach();
      ::usleep(2000);
      platform::remove_temp_folders_and_exit(0);
    }
    ::close(channel[1]);
    std::string name;
    char c = 0;
    while (::read(channel[0], &c, 1) == 1 && c != '\n') name += c;
    ::close(channel[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(!name.empty());
    CHECK(WIFEXITED(status));
    std::error_code ec;
    CHECK_FALSE(fs::exists(name, ec));
    fs::remove_all(name, ec);
  }
}
