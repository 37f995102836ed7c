#include "platform/last_words.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

namespace shopctl::platform {

namespace {

std::atomic<int> out_of_memory_exit{3};
// The handler before ours (libstdc++'s verbose one: "terminate called after throwing an
// instance of ..."), for every other cause: replaced outright, an abort said nothing.
std::atomic<std::terminate_handler> previous_handler{nullptr};

[[noreturn]] void on_terminate() noexcept {
  if (const auto current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::bad_alloc&) {
      end_out_of_memory("on one of its threads", out_of_memory_exit.load());
    } catch (...) {
    }
  }
  if (const auto previous = previous_handler.load(); previous != nullptr) previous();
  std::abort();
}

}  // namespace

const char* current_exception_what() noexcept {
  const auto current = std::current_exception();
  if (!current) return "unknown";
  try {
    std::rethrow_exception(current);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "unknown";
}

void end_out_of_memory(const char* where, int exit_code) noexcept {
  // One write of a buffer on the stack: a line cut by another thread's output is worse than
  // a long where cut short.
  char line[256];
  const char* parts[] = {"shopctl: out of memory ", where,
                         " (ulimit -v?): the shop cannot go on; exit ", nullptr};
  std::size_t at = 0;
  for (const char* part : parts) {
    if (!part) break;
    const std::size_t n = std::min(std::strlen(part), sizeof line - 8 - at);
    std::memcpy(line + at, part, n);
    at += n;
  }
  // The exit code's digits (0-255).
  const int code = exit_code & 0xff;
  if (code >= 100) line[at++] = static_cast<char>('0' + code / 100);
  if (code >= 10) line[at++] = static_cast<char>('0' + code / 10 % 10);
  line[at++] = static_cast<char>('0' + code % 10);
  line[at++] = '\n';
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, line, at);
  std::_Exit(exit_code);
}

void end_out_of_memory_on_terminate(int exit_code) noexcept {
  out_of_memory_exit.store(exit_code);
  const auto previous = std::set_terminate(on_terminate);
  if (previous != on_terminate) previous_handler.store(previous);
}

}  // namespace shopctl::platform
