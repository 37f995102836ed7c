#pragma once
// One http::Server on an ephemeral port, run by a thread of its own, for the tests of the HTTP
// layer itself (no shop around it). Header-only; real sockets.
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "platform/http/server.hpp"

namespace shopctl::test_support {

struct RunningServer {
  explicit RunningServer(http::Handler handler, http::ServerOptions options = {})
      : work(boost::asio::make_work_guard(io)), server(io, std::move(options), std::move(handler)) {
    server.start();
    thread = std::thread([this] { io.run(); });
  }
  ~RunningServer() {
    server.stop();
    work.reset();
    io.stop();
    thread.join();
  }
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  http::Server server;
  std::thread thread;
};

}  // namespace shopctl::test_support
