#include "platform/service_context.hpp"

#include <mutex>
#include <stdexcept>

#include <boost/asio/io_context.hpp>

namespace shopctl::platform {

std::string ServiceContext::local_host() const {
  if (bind_host.empty() || bind_host == "0.0.0.0") return "127.0.0.1";
  if (bind_host == "::") return "::1";
  return bind_host;
}

std::string ServiceContext::local_url(unsigned short port) const {
  const auto host = local_host();
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool ServiceContext::running_in_io_thread() const {
  if (io.get_executor().running_in_this_thread()) return true;
  for (auto* other : connection_ios) {
    if (other->get_executor().running_in_this_thread()) return true;
  }
  return false;
}

namespace {
std::mutex advancing;  // one advance at a time in the process

void advance_clock_locked(ServiceContext& ctx, std::chrono::nanoseconds by) {
  const auto offset = ctx.clock.offset();
  if (by.count() > SimulatedClock::kMaxOffset.count() - offset.count())
    throw std::out_of_range("the clock can be at most 100 years ahead in all; it is " +
                            std::to_string(offset.count() / 1'000'000) + " ms ahead now");
  if (by.count() <= 0) return;
  if (ctx.save_clock_offset) {
    try {
      ctx.save_clock_offset(offset + by);  // kept first: a restart never goes back
    } catch (const std::exception& e) {
      throw std::runtime_error(
          std::string("the clock did not move: its offset could not be kept for a restart (") +
          e.what() + ")");
    }
  }
  if (!ctx.clock.advance(by)) throw std::out_of_range("the clock can be at most 100 years ahead");
}
}  // namespace

void advance_clock(ServiceContext& ctx, std::chrono::nanoseconds by) {
  std::lock_guard lock(advancing);
  advance_clock_locked(ctx, by);
}

void advance_clock_to(ServiceContext& ctx, std::chrono::nanoseconds to) {
  std::lock_guard lock(advancing);
  advance_clock_locked(ctx, to - ctx.clock.offset());
}

}  // namespace shopctl::platform
