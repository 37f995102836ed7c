#pragma once
// Temporary folders (an in-process shop's databases, a chaos run's, `serve --processes
// --ephemeral`'s), made in $TMPDIR (or /tmp when it is unset or empty, as mktemp(1) does) and
// remembered until they are removed, so that a command stopped by SIGINT or SIGTERM can remove
// the ones still there before it exits.
#include <cstddef>
#include <filesystem>
#include <string>

namespace shopctl::platform {

// The empty file that marks a folder as made by make_temp_folder (see below).
inline constexpr const char* kTempMarker = ".shopctl-temporary";

// A new folder PREFIX-XXXXXX in the temporary folder, remembered. Throws std::runtime_error
// naming $TMPDIR when it is not a folder that can be written.
// The folder holds kTempMarker, locked (flock) while this process keeps the folder. The first
// call in a process removes the shopctl*-XXXXXX folders of the same user whose marker no
// process holds locked: those a shopctl killed with SIGKILL left behind.
std::filesystem::path make_temp_folder(const std::string& prefix);

// std::filesystem::create_directories under the lock that a signal's cleanup
// (remove_temp_folders_and_exit) holds to the end: a shop starting in a temporary folder made
// it again after the cleanup removed it, and the folder stayed (an outside probe's SIGHUP
// during start-up). Throws as create_directories does.
void make_folders(const std::filesystem::path& path);
void make_folders(const std::filesystem::path& path, std::error_code& ec);

// How many folders made by make_temp_folder are still remembered (not yet removed).
std::size_t temp_folders_held();

// Keeps a folder made by make_temp_folder for good (`chaos --keep`): its marker goes, so that
// no later shopctl sweeps it, and it is forgotten, so that a signal's cleanup leaves it too.
// (Marked, the next `shopctl run` removed a kept folder within a second: its maker had ended,
// and nobody held the marker's lock; an outside probe.)
void keep_temp_folder(const std::filesystem::path& folder);

// Removes a folder made by make_temp_folder (and forgets it); errors are ignored.
void remove_temp_folder(const std::filesystem::path& folder);

// Removes every folder still remembered and ends the process with `code` (std::_Exit, after
// flushing standard output): for an interrupted command. No new folder is made meanwhile.
// Calls ending_on_signal() first.
[[noreturn]] void remove_temp_folders_and_exit(int code);

// Marks the process as ending on a signal, called by the thread that will end it: from then
// on, another thread that would end the process with std::terminate (an exception that the
// interruption caused, as its shop or folder went away, unwinding past a joinable std::thread)
// waits for that end instead, so that the process exits with 128 + the signal, not SIGABRT.
void ending_on_signal();

}  // namespace shopctl::platform
