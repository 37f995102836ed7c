#include "platform/worker_pool.hpp"

#include <exception>
#include <thread>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace shopctl::platform {

namespace asio = boost::asio;

// An io_context run by `threads` threads of its own, not an asio::thread_pool: when the system
// refuses one of its threads (ulimit -u, ulimit -v), Boost 1.74's thread_pool constructor
// joins the threads it started without stopping them first, and waited for ever (an outside
// probe: `run` hung at 0 % CPU after every other scenario had ended). Here the refusal stops
// the ones started, joins them, and reaches the caller.
struct BoundedWorkerPool::Impl {
  explicit Impl(unsigned count) {
    try {
      for (unsigned i = 0; i < (count == 0 ? 1 : count); ++i)
        threads.emplace_back([this] { io.run(); });
    } catch (...) {
      work.reset();
      io.stop();
      for (auto& t : threads) t.join();
      throw;
    }
  }
  // Waits for the work posted so far, then for the threads (as thread_pool::join()).
  void join() {
    work.reset();
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
};

BoundedWorkerPool::BoundedWorkerPool(unsigned threads, std::size_t queue_limit)
    : impl_(std::make_shared<Impl>(threads)),
      limit_(static_cast<std::size_t>(threads == 0 ? 1 : threads) + queue_limit) {}

BoundedWorkerPool::~BoundedWorkerPool() {
  impl_->join();
}

asio::awaitable<void> BoundedWorkerPool::run(std::function<void()> fn) {
  if (in_flight_.fetch_add(1, std::memory_order_acq_rel) >= limit_) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    throw WorkerPoolFull();
  }
  auto keep_alive = impl_;
  Impl* impl = keep_alive.get();
  std::atomic<std::size_t>* counter = &in_flight_;
  std::exception_ptr error;
  // As DatabaseWorker::run: the initiation captures only a raw pointer and references (GCC 12
  // destroys by-value captures of a temporary lambda in a co_await twice; docs/architecture.md).
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [impl, counter, &fn, &error](auto handler) {
        asio::post(impl->io, [counter, &fn, &error, handler = std::move(handler)]() mutable {
          try {
            fn();
          } catch (...) {
            error = std::current_exception();
          }
          counter->fetch_sub(1, std::memory_order_acq_rel);
          auto ex = asio::get_associated_executor(handler);
          asio::dispatch(ex, std::move(handler));
        });
      },
      asio::use_awaitable);
  if (error) std::rethrow_exception(error);
}

}  // namespace shopctl::platform
