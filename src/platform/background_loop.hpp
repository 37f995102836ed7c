#pragma once
// A periodic background task of a service (payment's callback outbox, the provider's webhook
// retries): runs a pass, sleeps `interval`, again, until stopped. stop() wakes a sleeping
// loop at once, so stopping a service (or a whole scenario shop) never waits out a sleep.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

namespace shopctl::platform {

class BackgroundLoop {
 public:
  // One pass. `stopping` turns true when stop() is called: a long pass should look at it
  // between items. An exception ends the pass (given to `on_error` unless stopping), not the loop.
  using Pass = std::function<boost::asio::awaitable<void>(const std::atomic<bool>& stopping)>;
  using OnError = std::function<void(const std::exception&)>;

  BackgroundLoop() = default;
  ~BackgroundLoop();
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  // Starts the loop on `io` (a running loop is stopped first).
  void start(boost::asio::io_context& io, std::chrono::milliseconds interval, Pass pass,
             OnError on_error);
  // Asks the loop to end and wakes it. Unless `wait` is false (the caller runs on an io thread
  // and must not block), waits up to `limit` for the pass under way to finish.
  void stop(std::chrono::nanoseconds limit, bool wait = true);
  bool running() const { return state_ != nullptr; }

  struct State;  // shared with the loop's coroutine

 private:
  std::shared_ptr<State> state_;
  boost::asio::any_io_executor executor_;
};

}  // namespace shopctl::platform
