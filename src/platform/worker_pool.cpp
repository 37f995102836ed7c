#include "platform/worker_pool.hpp"

#include <exception>

#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace shopctl::platform {

namespace asio = boost::asio;

struct BoundedWorkerPool::Impl {
  explicit Impl(unsigned threads) : pool(threads == 0 ? 1 : threads) {}
  asio::thread_pool pool;
};

BoundedWorkerPool::BoundedWorkerPool(unsigned threads, std::size_t queue_limit)
    : impl_(std::make_shared<Impl>(threads)),
      limit_(static_cast<std::size_t>(threads == 0 ? 1 : threads) + queue_limit) {}

BoundedWorkerPool::~BoundedWorkerPool() {
  impl_->pool.join();
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
        asio::post(impl->pool, [counter, &fn, &error, handler = std::move(handler)]() mutable {
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
