#include "platform/output_file.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace shopctl::platform {
namespace fs = std::filesystem;
namespace {

// `file` with its own symbolic links followed, also one that points at a file not written
// yet (weakly_canonical leaves a dangling link as it is), at most 40 deep as the kernel does.
fs::path followed(fs::path file, std::error_code& ec) {
  file = fs::absolute(file, ec);
  for (int depth = 0; !ec && depth < 40; ++depth) {
    std::error_code link_ec;
    if (!fs::is_symlink(fs::symlink_status(file, link_ec)) || link_ec) break;
    const fs::path target = fs::read_symlink(file, link_ec);
    if (link_ec) break;
    file = target.is_absolute() ? target : file.parent_path() / target;
  }
  return fs::weakly_canonical(file, ec);
}

// The same file: an existing one by identity, otherwise by its normalised absolute path with
// links followed (`--junit link --json target`, the link pointing at the target, was allowed
// while neither existed, and one report overwrote the other).
bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::equivalent(a, b, ec) && !ec) return true;
  const auto ca = followed(a, ec);
  if (ec) return false;
  const auto cb = followed(b, ec);
  return !ec && ca == cb;
}

}  // namespace

std::optional<std::string> output_conflict(const std::vector<NamedPath>& inputs,
                                           const std::vector<NamedPath>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto& out = outputs[i];
    if (out.path.empty()) continue;
    // Written to /dev/null, a report overwrites nothing: `--json /dev/null --junit /dev/null`
    // throws both away, as docs/ci.md says it may (it was refused; an outside probe).
    if (same_file(out.path, "/dev/null")) continue;
    for (const auto& in : inputs) {
      if (in.path.empty() || !same_file(out.path, in.path)) continue;
      return out.option + " " + out.path.string() + " is " + in.option + " " + in.path.string() +
             ": an output may not overwrite an input";
    }
    for (std::size_t j = 0; j < i; ++j) {
      const auto& other = outputs[j];
      if (other.path.empty() || !same_file(out.path, other.path)) continue;
      return out.option + " and " + other.option + " both name " + out.path.string() +
             ": one report would overwrite the other";
    }
  }
  return std::nullopt;
}

ReplaceTarget replace_target(const fs::path& file) {
  std::error_code ec;
  const auto link = fs::symlink_status(file, ec);
  if (ec || !fs::exists(link)) return {file, ""};
  fs::path target = file;
  if (fs::is_symlink(link)) {
    // The file the link points to (a dangling link is replaced, as nothing is lost).
    target = fs::weakly_canonical(fs::absolute(file, ec), ec);
    if (ec) target = file;
  }
  const auto status = fs::status(target, ec);
  if (ec || !fs::exists(status) || fs::is_regular_file(status)) return {target, ""};
  if (fs::is_directory(status)) return {{}, "is a folder, not a file"};
  return {{}, "is not a regular file (a device, pipe or socket), and writing it would replace it"};
}

std::string output_problem(const fs::path& file, std::vector<fs::path>* made) {
  if (file.empty()) return "";
  std::error_code ec;
  if (fs::is_directory(file, ec)) return "it is a folder";
  // `--junit reports/junit.xml` in a fresh clone: the folders are made, as a user expects.
  if (file.has_parent_path() && !fs::exists(file.parent_path(), ec)) {
    std::vector<fs::path> missing;  // deepest first
    for (fs::path p = file.parent_path(); !p.empty() && !fs::exists(fs::symlink_status(p, ec));
         p = p.parent_path()) {
      missing.push_back(p);
      if (p == p.parent_path()) break;
    }
    fs::create_directories(file.parent_path(), ec);
    if (ec) return "cannot make its folder " + file.parent_path().string() + ": " + ec.message();
    if (made) made->insert(made->end(), missing.begin(), missing.end());
  }
  // A pipe or a device (`--json >(jq .)`, a FIFO, /dev/full) is opened once, for the report
  // itself. Opened here and closed, a FIFO gave its reader end-of-file, and the report's own
  // open then waited for a reader that was gone: the run passed and hung for ever (an outside
  // probe). Whether it may be written is asked without opening it.
  if (const auto kind = fs::status(file, ec);
      !ec && fs::exists(kind) && !fs::is_regular_file(kind)) {
    if (::access(file.c_str(), W_OK) == 0) return "";
    return std::strerror(errno);
  }
  const bool existed = fs::exists(fs::symlink_status(file, ec));
  errno = 0;
  const bool ok = std::ofstream(file, std::ios::app).good();
  const int error = errno;
  if (ok && !existed) fs::remove(file, ec);
  if (ok) return "";
  return error != 0 ? std::strerror(error) : "it cannot be opened for writing";
}

bool writable_output(const fs::path& file) {
  return output_problem(file).empty();
}

int open_in_place(const fs::path& file, std::string& why, std::chrono::milliseconds reader_wait) {
  std::error_code ec;
  int fd = -1;
  if (fs::is_fifo(fs::status(file, ec))) {
    // Opened without blocking: with no reader that fails at once (ENXIO), and is tried again
    // until one comes or the wait is over. A blocking open would wait for ever.
    const auto deadline = std::chrono::steady_clock::now() + reader_wait;
    for (;;) {
      fd = ::open(file.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0 || errno != ENXIO) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        why = "nothing read the named pipe within " + std::to_string(reader_wait.count() / 1000) +
              " s";
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  } else {
    fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  }
  if (fd < 0) why = std::strerror(errno);
  return fd;
}

std::string write_all(int fd, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::strerror(n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  return "";
}

std::string write_in_place(const fs::path& file, std::string_view text,
                           std::chrono::milliseconds reader_wait) {
  std::string why;
  const int fd = open_in_place(file, why, reader_wait);
  if (fd < 0) return why;
  why = write_all(fd, text);
  if (::close(fd) != 0 && errno != EINTR && why.empty()) why = std::strerror(errno);
  return why;
}

std::optional<std::string> first_unwritable(std::initializer_list<const std::string*> files,
                                            std::vector<fs::path>* made) {
  for (const auto* file : files) {
    if (auto why = output_problem(*file, made); !why.empty()) return *file + " (" + why + ")";
  }
  return std::nullopt;
}

void remove_made_folders(const std::vector<fs::path>& made) {
  // Deepest first across every file's chain; a folder something was put in meanwhile stays.
  auto folders = made;
  auto depth = [](const fs::path& p) { return std::distance(p.begin(), p.end()); };
  std::stable_sort(folders.begin(), folders.end(),
                   [&](const fs::path& a, const fs::path& b) { return depth(a) > depth(b); });
  for (const auto& folder : folders) {
    std::error_code ec;
    fs::remove(folder, ec);
  }
}

}  // namespace shopctl::platform
