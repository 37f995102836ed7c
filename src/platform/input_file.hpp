#pragma once
// Reading a file that a user named (a scenario, a config, a vars or faults file, a catalog, a
// deployment, a recorded call graph): at most a bounded number of bytes, so that a path to
// /dev/zero, an endless pipe or a huge file is a clear error instead of unbounded memory.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace shopctl::platform {

// The most a YAML input file may hold: far beyond any hand-written scenario or config.
inline constexpr std::size_t kMaxInputFileBytes = 16 * 1024 * 1024;

// Why a file could not be read; what() is a short reason without the path ("no such file or
// directory", "is a directory, not a file", "larger than 16 MiB", "cannot read it: ...").
class InputFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A text that a byte order mark says is UTF-16 or UTF-32, as UTF-8 (glibc's iconv). yaml-cpp
// decodes such a file itself, but every reader's diagnostics quoted its lines as raw bytes,
// with the caret under the wrong one (outside probes), and a lone CR was mended as a byte.
// Nothing when the text has no such mark; `problem` then says what is wrong when the text is
// not what its mark says.
std::optional<std::string> utf8_of_wide(std::string_view text, std::string& problem);

// The whole file, as UTF-8 when a byte order mark says UTF-16 or UTF-32 (utf8_of_wide; one
// that is not what its mark says is an InputFileError), else as bytes. Pipes and character devices
// are read too (`<(...)`, /dev/stdin), up to max_bytes; one byte more is an error. A named pipe is
// read until its writers are gone; no byte from it for 10 s is an error (nothing may wait on it for
// ever).
std::string read_input_file(const std::filesystem::path& path,
                            std::size_t max_bytes = kMaxInputFileBytes);

}  // namespace shopctl::platform
