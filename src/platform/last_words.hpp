#pragma once
// What a process says when it cannot go on, said without allocating: out of memory
// (`ulimit -v`) on any of its threads ends it with a line on standard error and the exit code
// of a machine that ran short, not SIGABRT (exit 134) from std::terminate. For the shopctl
// executable only: a library must not take its host's terminate handler.
namespace shopctl::platform {

// What the exception being handled says (std::exception::what()), or "unknown" for one of
// another type or none. Never throws, allocates nothing; for a catch (...) that logs. The text
// lives as long as the exception.
const char* current_exception_what() noexcept;

// Writes "shopctl: out of memory <where>: ..." to standard error with one write(2) and ends the
// process with `exit_code` at once (std::_Exit: no destructors, no handler that might wait on a
// lock a half-done handler holds).
[[noreturn]] void end_out_of_memory(const char* where, int exit_code) noexcept;

// Makes std::terminate end the process with end_out_of_memory(..., exit_code) when the
// exception it was called for is std::bad_alloc, whichever thread let it through; any other
// cause goes to the handler that was there before (libstdc++'s, which names the exception and
// aborts).
void end_out_of_memory_on_terminate(int exit_code) noexcept;

}  // namespace shopctl::platform
