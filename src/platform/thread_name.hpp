#pragma once
// Names the calling thread, so `top -H`, `ps -L`, `perf sched` and gdb tell the shop's threads
// apart ("io-0", "db-order", "ckpt-order", "load-0"). Linux keeps at most 15 bytes; a longer
// name is cut. Best effort: a failure changes nothing else.
#include <string>
#include <string_view>

#if defined(__linux__)
#include <pthread.h>
#endif

namespace shopctl::platform {

inline void name_this_thread(std::string_view name) noexcept {
#if defined(__linux__)
  char buffer[16] = {};
  name.copy(buffer, sizeof buffer - 1);
  pthread_setname_np(pthread_self(), buffer);
#else
  (void)name;
#endif
}

}  // namespace shopctl::platform
