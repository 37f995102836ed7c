#include "platform/temp_folder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

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
// Each folder's locked descriptor (flock, exclusive), held while the folder is this process's.
std::map<fs::path, int>& folder_locks() {
  static auto* map = new std::map<fs::path, int>;
  return *map;
}
// The temporary folders (bases) already swept in this process: one sweep each.
std::set<std::string>& swept() {
  static auto* set = new std::set<std::string>;
  return *set;
}

// mkdtemp's six characters.
bool is_temp_suffix(std::string_view s) {
  if (s.size() != 6) return false;
  for (const char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// Removes BASE/shopctl*-XXXXXX folders (every prefix: a killed `serve --processes
// --ephemeral`'s shopctl-processes-XXXXXX goes with the next `run`) that a shopctl killed with
// SIGKILL (or a power cut) left behind: those of this user whose kTempMarker file no process holds
// locked (its maker holds it for the folder's life). The marker gets its name only once it is
// locked, so a folder still being made is never one. A folder without the marker (an older
// shopctl's, or a user's own /tmp/shopctl-backup) is never touched. Errors are ignored: a sweep is
// housekeeping and never stops a start. (The lock is on the marker, not on the folder: a shop,
// chaos and the launcher take the folder's own flock for themselves.)
void sweep_abandoned(const fs::path& base) {
  DIR* dir = ::opendir(base.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> candidates;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name.size() >= 14 && name.starts_with("shopctl") && name[name.size() - 7] == '-' &&
        is_temp_suffix(name.substr(name.size() - 6))) {
      candidates.emplace_back(name);
    }
  }
  ::closedir(dir);
  for (const auto& name : candidates) {
    const fs::path folder = base / name;
    struct stat st {};
    if (::lstat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
      continue;
    const int fd = ::open((folder / kTempMarker).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    // The folder's own lock too: a shop that chaos --crash or the launcher started on it, left
    // running by a parent killed with SIGKILL, still holds it.
    const int folder_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat marker {};
    if (folder_fd >= 0 && ::fstat(fd, &marker) == 0 && S_ISREG(marker.st_mode) &&
        ::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::flock(folder_fd, LOCK_EX | LOCK_NB) == 0) {
      std::error_code ignored;
      fs::remove_all(folder, ignored);
    }
    if (folder_fd >= 0) ::close(folder_fd);
    ::close(fd);
  }
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
  if (swept().insert(base.string()).second) sweep_abandoned(base);
  if (!mkdtemp(pattern.data())) {
    const int error = errno;
    throw std::runtime_error("cannot create a temporary folder in " + named + ": " +
                             std::strerror(error));
  }
  folders().insert(pattern);
  // Marked as a temporary folder of shopctl's, the marker locked for as long as this process
  // keeps the folder: a later shopctl removes a marked folder whose marker is not locked (its
  // maker was killed before it could clean up). Locked under a passing name, then renamed: a
  // sweep never sees the marker unlocked. Without a marker (no descriptor left) the folder is
  // still used, and only not swept.
  const fs::path fresh = fs::path(pattern) / (std::string(kTempMarker) + ".new");
  const int fd = ::open(fresh.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        ::rename(fresh.c_str(), (fs::path(pattern) / kTempMarker).c_str()) == 0) {
      folder_locks()[pattern] = fd;
    } else {
      ::close(fd);
      ::unlink(fresh.c_str());
    }
  }
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

void keep_temp_folder(const fs::path& folder) {
  std::lock_guard lock(folders_mu());
  ::unlink((folder / kTempMarker).c_str());
  folders().erase(folder);
  if (const auto it = folder_locks().find(folder); it != folder_locks().end()) {
    ::close(it->second);
    folder_locks().erase(it);
  }
}

void remove_temp_folder(const fs::path& folder) {
  std::error_code ignored;
  fs::remove_all(folder, ignored);
  std::lock_guard lock(folders_mu());
  folders().erase(folder);
  if (const auto it = folder_locks().find(folder); it != folder_locks().end()) {
    ::close(it->second);
    folder_locks().erase(it);
  }
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
