#include "platform/temp_folder.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>
#include <stdexcept>
#include <system_error>

namespace shopctl::platform {
namespace fs = std::filesystem;
namespace {

std::mutex& folders_mu() {
  static std::mutex mu;
  return mu;
}
// Never destroyed: an interrupt may come while static destructors run.
std::set<fs::path>& folders() {
  static auto* set = new std::set<fs::path>;
  return *set;
}

}  // namespace

fs::path make_temp_folder(const std::string& prefix) {
  const char* env = std::getenv("TMPDIR");
  const bool from_env = env != nullptr && *env != '\0';
  const fs::path base = from_env ? fs::path(env) : fs::path("/tmp");
  const std::string named = from_env ? "TMPDIR=" + base.string() : base.string();
  std::error_code ec;
  if (!fs::is_directory(base, ec))
    throw std::runtime_error("cannot create a temporary folder: " + named +
                             (fs::exists(base, ec) ? " is not a folder" : " does not exist") +
                             (from_env ? " (set TMPDIR to a folder, or unset it for /tmp)" : ""));
  std::string pattern = (base / (prefix + "-XXXXXX")).string();
  // Made and listed under the lock: made before it, a folder that a signal's cleanup (which
  // holds the lock to the end) did not know yet was left behind (an outside probe's SIGHUP).
  std::lock_guard lock(folders_mu());
  if (!mkdtemp(pattern.data())) {
    const int error = errno;
    throw std::runtime_error("cannot create a temporary folder in " + named + ": " +
                             std::strerror(error));
  }
  folders().insert(pattern);
  return pattern;
}

void make_folders(const fs::path& path) {
  std::lock_guard lock(folders_mu());
  fs::create_directories(path);
}

void make_folders(const fs::path& path, std::error_code& ec) {
  std::lock_guard lock(folders_mu());
  fs::create_directories(path, ec);
}

void remove_temp_folder(const fs::path& folder) {
  std::error_code ignored;
  fs::remove_all(folder, ignored);
  std::lock_guard lock(folders_mu());
  folders().erase(folder);
}

namespace {
std::atomic<bool> ending{false};
thread_local bool ending_thread = false;

[[noreturn]] void wait_for_the_end_or_abort() {
  if (ending.load() && !ending_thread) {
    for (;;) ::pause();  // the ending thread's _Exit ends this one too
  }
  std::abort();
}
}  // namespace

void ending_on_signal() {
  ending_thread = true;
  ending.store(true);
  std::set_terminate(wait_for_the_end_or_abort);
}

std::size_t temp_folders_held() {
  std::lock_guard lock(folders_mu());
  return folders().size();
}

void remove_temp_folders_and_exit(int code) {
  ending_on_signal();
  std::fflush(stdout);
  // Held to the end: a thread making a folder now waits, and is ended with the process.
  folders_mu().lock();
  // The shops' threads still run, and may create a file in a folder while it is being removed
  // (remove_all then fails, ENOTEMPTY, and the folder stayed: an outside probe's SIGHUP during
  // start-up): tried again, for up to about half a second.
  for (const auto& folder : folders()) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::error_code ignored;
      fs::remove_all(folder, ignored);
      if (!fs::exists(folder, ignored)) break;
      ::usleep(5000);
    }
  }
  std::_Exit(code);
}

}  // namespace shopctl::platform
