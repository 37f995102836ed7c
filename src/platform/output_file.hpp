#pragma once
// Files a user names for shopctl to write (a report, a recording, a history, a graph): checks
// made before any work starts, so that a run never ends by overwriting one of its own inputs,
// one report with another, or a device with a regular file.
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shopctl::platform {

// A file on the command line, with the option that named it ("--junit", "the scenario file").
struct NamedPath {
  std::string option;
  std::filesystem::path path;
};

// Why these outputs cannot be written as asked, or nullopt. An output may not be the same file
// as an input (an existing file, compared by device and inode, so through links and `..`) nor
// the same path as another output. Empty paths are ignored.
std::optional<std::string> output_conflict(const std::vector<NamedPath>& inputs,
                                           const std::vector<NamedPath>& outputs);

// For a file that shopctl replaces whole through a rename (write FILE.tmp, rename over FILE):
// the path to write, or an error. Something that exists and is not a regular file (a device,
// a pipe, a socket, a folder) is refused: a rename would replace it. A symbolic link to a
// regular file gives the file it points to, so the link stays a link.
struct ReplaceTarget {
  std::filesystem::path path;
  std::string error;
};
ReplaceTarget replace_target(const std::filesystem::path& file);

// Whether `file` can be written, tried before the work whose report it will hold: its missing
// folders are made, an existing file is opened for appending (nothing in it changes), a new one
// is created and removed again. "" when it can, else why not ("it is a folder", "Permission
// denied", ...). An empty path is writable. The folders it made, deepest first, are added to
// `made` when given.
std::string output_problem(const std::filesystem::path& file,
                           std::vector<std::filesystem::path>* made = nullptr);
bool writable_output(const std::filesystem::path& file);

// The longest write_in_place() waits for a named pipe's reader: as long as a named pipe given
// as an input may stay silent (input_file.hpp).
inline constexpr std::chrono::milliseconds kPipeReaderWait{10'000};

// Writes `text` to `file` in place (no file beside it, no rename): a named pipe, a device, or a
// file that is made or truncated. A named pipe with no reader is waited for at most
// `reader_wait`, then refused: the run ended, printed its summary and hung for ever on a FIFO
// nothing read (an outside probe). "" when every byte went, else why not ("nothing read the
// named pipe within 10 s", "No space left on device").
std::string write_in_place(const std::filesystem::path& file, std::string_view text,
                           std::chrono::milliseconds reader_wait = kPipeReaderWait);

// `file` opened for writing in place, as write_in_place() opens it (made or truncated; a named
// pipe's reader waited for at most `reader_wait`): its descriptor, or -1 with `why` said.
int open_in_place(const std::filesystem::path& file, std::string& why,
                  std::chrono::milliseconds reader_wait = kPipeReaderWait);

// Writes all of `text` to `fd` (again after EINTR and short writes): "" or why not.
std::string write_all(int fd, std::string_view text);
// The first of `files` that cannot be written, with why: "reports/x.xml (Permission denied)".
std::optional<std::string> first_unwritable(std::initializer_list<const std::string*> files,
                                            std::vector<std::filesystem::path>* made = nullptr);
// Takes back the folders the checks above made, for work refused before it wrote anything
// (`run --target` on a shop another run holds): each is removed if still empty.
void remove_made_folders(const std::vector<std::filesystem::path>& made);

}  // namespace shopctl::platform
