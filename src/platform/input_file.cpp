#include "platform/input_file.hpp"

#include <fcntl.h>
#include <iconv.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <system_error>

namespace shopctl::platform {
namespace {

std::string size_text(std::size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// A named pipe (`mkfifo`, `<(...)`, /dev/stdin from a pipe): read until its writers are gone,
// but never waiting for ever. Opened for reading as it was, a FIFO that nobody writes to
// blocked in open(), and `serve`, whose stop signals are blocked while it starts, stayed deaf
// to Ctrl-C and SIGTERM (an outside probe: `serve --config fifo.yaml`; a Shop or a
// ScenarioRunner given one hung too). Opened without waiting, then polled: no byte and no
// writer for kPipeWait is an error naming it.
constexpr auto kPipeWait = std::chrono::seconds(10);

std::string read_pipe(const std::filesystem::path& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw InputFileError(std::string("cannot read it: ") + std::strerror(errno));
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } close_fd{fd};
  std::string text;
  auto quiet_until = std::chrono::steady_clock::now() + kPipeWait;
  char chunk[64 * 1024];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          quiet_until - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      throw InputFileError("a named pipe that nothing " +
                           std::string(text.empty() ? "wrote to" : "finished") + " within " +
                           std::to_string(kPipeWait.count()) +
                           " s: give a file, or start the writer first");
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno != EINTR) {
      throw InputFileError(std::string("cannot read it: ") + std::strerror(errno));
    }
    if (ready <= 0) continue;
    // Linux reports POLLHUP on a FIFO only once a writer came and went: then a read of 0 is
    // its end. Before any writer, a read of 0 is no end at all (poll waits for one).
    const auto got = ::read(fd, chunk, sizeof chunk);
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      throw InputFileError(std::string("cannot read it: ") + std::strerror(errno));
    }
    if (got == 0) return text;
    if (text.size() + static_cast<std::size_t>(got) > max_bytes)
      throw InputFileError("larger than " + size_text(max_bytes) + ": not an input file");
    text.append(chunk, static_cast<std::size_t>(got));
    quiet_until = std::chrono::steady_clock::now() + kPipeWait;
  }
}

std::string read_bytes(const std::filesystem::path& path, std::size_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    if (!ec || ec == std::errc::no_such_file_or_directory)
      throw InputFileError("no such file or directory");
    throw InputFileError("cannot read it: " + ec.message());
  }
  if (std::filesystem::is_directory(status)) throw InputFileError("is a directory, not a file");
  if (std::filesystem::is_fifo(status)) return read_pipe(path, max_bytes);
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputFileError(std::string("cannot read it") +
                         (errno != 0 ? std::string(": ") + std::strerror(errno) : std::string()));
  }
  std::string text;
  char chunk[64 * 1024];
  while (in) {
    in.read(chunk, sizeof chunk);
    const auto got = static_cast<std::size_t>(in.gcount());
    if (text.size() + got > max_bytes)
      throw InputFileError("larger than " + size_text(max_bytes) + ": not an input file");
    text.append(chunk, got);
  }
  if (in.bad()) throw InputFileError("cannot read it: a read error");
  return text;
}

}  // namespace

std::optional<std::string> utf8_of_wide(std::string_view text, std::string& problem) {
  const char* encoding = nullptr;
  std::size_t mark = 0;
  if (text.starts_with(std::string_view("\0\0\xFE\xFF", 4))) {
    encoding = "UTF-32BE", mark = 4;
  } else if (text.starts_with(std::string_view("\xFF\xFE\0\0", 4))) {
    encoding = "UTF-32LE", mark = 4;
  } else if (text.starts_with("\xFE\xFF")) {
    encoding = "UTF-16BE", mark = 2;
  } else if (text.starts_with("\xFF\xFE")) {
    encoding = "UTF-16LE", mark = 2;
  } else {
    return std::nullopt;
  }
  iconv_t cd = ::iconv_open("UTF-8", encoding);
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    problem = std::string("cannot read ") + encoding + " text here: save the file as UTF-8";
    return std::nullopt;
  }
  std::string out((text.size() - mark) * 2 + 16, '\0');
  char* in = const_cast<char*>(text.data() + mark);
  std::size_t in_left = text.size() - mark;
  char* to = out.data();
  std::size_t to_left = out.size();
  const std::size_t done = ::iconv(cd, &in, &in_left, &to, &to_left);
  ::iconv_close(cd);
  if (done == static_cast<std::size_t>(-1) || in_left != 0) {
    problem = std::string("not ") + encoding + " as its byte order mark says: byte " +
              std::to_string(text.size() - in_left + 1) +
              " starts no character (save the file as UTF-8)";
    return std::nullopt;
  }
  out.resize(out.size() - to_left);
  return out;
}

std::string read_input_file(const std::filesystem::path& path, std::size_t max_bytes) {
  std::string text = read_bytes(path, max_bytes);
  std::string problem;
  if (auto utf8 = utf8_of_wide(text, problem)) return std::move(*utf8);
  if (!problem.empty()) throw InputFileError(problem);
  return text;
}

}  // namespace shopctl::platform
