#include "platform/input_file.hpp"

#include <cerrno>
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

}  // namespace

std::string read_input_file(const std::filesystem::path& path, std::size_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    if (!ec || ec == std::errc::no_such_file_or_directory)
      throw InputFileError("no such file or directory");
    throw InputFileError("cannot read it: " + ec.message());
  }
  if (std::filesystem::is_directory(status)) throw InputFileError("is a directory, not a file");
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

}  // namespace shopctl::platform
