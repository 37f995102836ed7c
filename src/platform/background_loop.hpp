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
  // Ends the loop without letting its pass finish, as a process that dies would: the loop's
  // coroutine is cancelled, so the pass under way stops at its next co_await. Never waits for
  // the pass; waits only until the loop has been told (not at all on the loop's io thread).
  void abandon();
  bool running() const { return state_ != nullptr; }

  // While one lives on a thread, stop() called on that thread abandons instead. Service::crash()
  // uses it around the services' own stop_background(), so that every loop a service keeps
  // (today's and tomorrow's) is abandoned by a crash without each service knowing about it.
  class AbandonScope {
   public:
    AbandonScope();
    ~AbandonScope();
    AbandonScope(const AbandonScope&) = delete;
    AbandonScope& operator=(const AbandonScope&) = delete;

   private:
    bool previous_;
  };

  struct State;  // shared with the loop's coroutine

 private:
  std::shared_ptr<State> state_;
  boost::asio::any_io_executor executor_;
  boost::asio::io_context* io_ = nullptr;
};

}  // namespace shopctl::platform
