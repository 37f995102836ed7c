#pragma once
// A synchronous HTTP/1.1 client for tools that drive a shop from outside (the scenario
// runner, `shopctl fault`, tests): one thread, keep-alive connections per host, one deadline
// per request. Not for use inside services (they use the coroutine Client).
#include <chrono>
#include <memory>
#include <string>

#include "platform/http/client.hpp"
#include "platform/http/message.hpp"

namespace shopctl::http {

class BlockingClient {
 public:
  BlockingClient();
  // With its own resolver for host names (the default is HostResolver::shared()).
  explicit BlockingClient(detail::HostResolver& resolver);
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  // Sends `request` to `endpoint`; returns any HTTP answer. Throws TransportError when no
  // answer came back within `timeout`.
  Response send(const Endpoint& endpoint, Request request, std::chrono::nanoseconds timeout);
  // Sends to an absolute URL ("http://127.0.0.1:8080/api/cart"); request.target is replaced.
  Response send_url(std::string_view url, Request request, std::chrono::nanoseconds timeout);
  // Forgets every kept-alive connection.
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits an absolute http URL into its endpoint and target (path plus query).
std::pair<Endpoint, std::string> split_url(std::string_view url);

}  // namespace shopctl::http
