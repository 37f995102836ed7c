#include "platform/background_loop.hpp"

#include <condition_variable>
#include <future>
#include <mutex>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
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
  // abandon() cancels the loop's coroutine with it; emitted on the loop's io, and only while
  // the coroutine runs (`finished` is set, under `mu`, by its completion handler).
  asio::cancellation_signal cancel;
};

namespace {

thread_local bool abandoning = false;

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

BackgroundLoop::~BackgroundLoop() {
  stop(std::chrono::seconds(0), false);
}

void BackgroundLoop::start(asio::io_context& io, std::chrono::milliseconds interval, Pass pass,
                           OnError on_error) {
  stop(std::chrono::seconds(5));
  auto state = std::make_shared<State>();
  state_ = state;
  executor_ = io.get_executor();
  io_ = &io;
  asio::co_spawn(io, loop(state, interval, std::move(pass), std::move(on_error)),
                 asio::bind_cancellation_slot(state->cancel.slot(), [state](std::exception_ptr) {
                   std::lock_guard lock(state->mu);
                   state->finished = true;
                   state->cv.notify_all();
                 }));
}

void BackgroundLoop::abandon() {
  if (!state_) return;
  auto state = std::move(state_);
  state->stopping = true;
  auto told = std::make_shared<std::promise<void>>();
  auto future = told->get_future();
  asio::post(executor_, [state, told] {
    bool finished = false;
    {
      std::lock_guard lock(state->mu);
      finished = state->finished;
    }
    if (!finished) {
      state->cancel.emit(asio::cancellation_type::terminal);
      if (state->timer) state->timer->cancel();
    }
    told->set_value();
  });
  // Once told, the pass takes no further step (its next co_await throws); waiting for that,
  // not for the pass, keeps a service restarted at once from meeting it. The loop's own io
  // thread must not block.
  if (io_ != nullptr && !io_->get_executor().running_in_this_thread()) {
    future.wait_for(std::chrono::seconds(5));
  }
}

BackgroundLoop::AbandonScope::AbandonScope() : previous_(abandoning) {
  abandoning = true;
}
BackgroundLoop::AbandonScope::~AbandonScope() {
  abandoning = previous_;
}

void BackgroundLoop::stop(std::chrono::nanoseconds limit, bool wait) {
  if (abandoning) {
    abandon();
    return;
  }
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
