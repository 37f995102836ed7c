#pragma once
// Which thread's io_context an in-process HTTP client connection runs on, by its local port.
// A server of the same process that accepts a connection from such a port serves it on that
// same io_context, so a proxied request (gateway -> catalog and back) stays on one thread.
// Only a hint: a stale or missing entry costs affinity, never correctness (the server checks
// the context is one of its own and otherwise spreads connections round robin).
#include <array>
#include <atomic>
#include <cstdint>

namespace shopctl::http::detail {

class PortAffinity {
 public:
  static PortAffinity& instance() {
    static PortAffinity registry;
    return registry;
  }
  void remember(std::uint16_t port, const void* context) noexcept {
    slots_[port].store(context, std::memory_order_release);
  }
  // Clears the entry only when it still names `context` (the port may have been reused).
  void forget(std::uint16_t port, const void* context) noexcept {
    slots_[port].compare_exchange_strong(context, nullptr, std::memory_order_acq_rel);
  }
  const void* context_of(std::uint16_t port) const noexcept {
    return slots_[port].load(std::memory_order_acquire);
  }

 private:
  PortAffinity() = default;
  std::array<std::atomic<const void*>, 65536> slots_{};
};

}  // namespace shopctl::http::detail
