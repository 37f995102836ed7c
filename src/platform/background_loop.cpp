#include "platform/background_loop.hpp"

#include <condition_variable>
#include <mutex>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace shopctl::platform {

namespace asio = boost::asio;

struct BackgroundLoop::State {
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  // The loop's timer while it exists; touched only on the loop's own (single-threaded) io.
  asio::steady_timer* timer = nullptr;
};

namespace {

asio::awaitable<void> loop(std::shared_ptr<BackgroundLoop::State> state,
                           std::chrono::milliseconds interval, BackgroundLoop::Pass pass,
                           BackgroundLoop::OnError on_error) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  state->timer = &timer;
  while (!state->stopping) {
    try {
      co_await pass(state->stopping);
    } catch (const std::exception& e) {
      if (!state->stopping && on_error) on_error(e);
    }
    if (state->stopping) break;
    timer.expires_after(interval);
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  state->timer = nullptr;
}

}  // namespace

BackgroundLoop::~BackgroundLoop() { stop(std::chrono::seconds(0), false); }

void BackgroundLoop::start(asio::io_context& io, std::chrono::milliseconds interval, Pass pass,
                           OnError on_error) {
  stop(std::chrono::seconds(5));
  auto state = std::make_shared<State>();
  state_ = state;
  executor_ = io.get_executor();
  asio::co_spawn(io, loop(state, interval, std::move(pass), std::move(on_error)),
                 [state](std::exception_ptr) {
                   std::lock_guard lock(state->mu);
                   state->finished = true;
                   state->cv.notify_all();
                 });
}

void BackgroundLoop::stop(std::chrono::nanoseconds limit, bool wait) {
  if (!state_) return;
  auto state = std::move(state_);
  state->stopping = true;
  // Wake a sleeping loop now, on the loop's own thread (timers are not thread-safe).
  asio::post(executor_, [state] {
    if (state->timer) state->timer->cancel();
  });
  if (!wait) return;
  std::unique_lock lock(state->mu);
  state->cv.wait_for(lock, limit, [&] { return state->finished; });
}

}  // namespace shopctl::platform
