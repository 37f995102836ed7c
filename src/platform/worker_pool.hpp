#pragma once
// A few threads for CPU-heavy work (Argon2id password hashing) with a bounded queue: work that
// would wait behind `queue_limit` others is refused at once (WorkerPoolFull) instead of queuing
// without bound, so a flood of logins cannot hold every other user's login behind it and
// never occupies the threads that serve requests.
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>

#include <boost/asio/awaitable.hpp>

namespace shopctl::platform {

class WorkerPoolFull : public std::runtime_error {
 public:
  WorkerPoolFull() : std::runtime_error("the worker pool's queue is full") {}
};

class BoundedWorkerPool {
 public:
  // `threads` >= 1 run the work; at most `queue_limit` more wait for a thread.
  BoundedWorkerPool(unsigned threads, std::size_t queue_limit);
  ~BoundedWorkerPool();  // finishes queued work, then joins
  BoundedWorkerPool(const BoundedWorkerPool&) = delete;
  BoundedWorkerPool& operator=(const BoundedWorkerPool&) = delete;

  // Runs fn on a worker thread and resumes the caller on its own executor afterwards;
  // rethrows what fn throws. Throws WorkerPoolFull, before anything runs, when all threads are
  // busy and queue_limit pieces of work already wait. `fn` may capture the caller's locals by
  // reference: the caller is suspended until fn has returned.
  boost::asio::awaitable<void> run(std::function<void()> fn);
  // Work running or waiting now.
  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::size_t limit_;
  std::atomic<std::size_t> in_flight_{0};
};

}  // namespace shopctl::platform
