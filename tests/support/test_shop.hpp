#pragma once
// What the integration and architecture tests share: a whole shop on ephemeral ports with test
// settings, and one HTTP request to it with the answer parsed. Header-only; real sockets.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/http/blocking_client.hpp"
#include "platform/security/password.hpp"
#include "shop/shop.hpp"

namespace shopctl::test_support {

struct Answer {
  int status = 0;
  nlohmann::json body;  // discarded when the answer is not JSON
  std::string raw;
  http::Headers headers;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Starts a shop with `config` plus the test settings: fast password hashing, two threads, no
// log lines. Ports are ephemeral and the data folder temporary unless `config` says otherwise.
inline std::unique_ptr<shop::Shop> start_shop(shop::ShopConfig config = {}) {
  config.password_hashing = platform::security::PasswordHashing::fast_for_tests();
  shop::ShopOptions options;
  options.threads = 2;
  options.log_level = platform::LogLevel::off;
  auto s = std::make_unique<shop::Shop>(std::move(config), options);
  s->start();
  return s;
}

// One request to `url` (http://host:port/path...). A JSON `body` (or a `raw_body`) goes with
// Content-Type: application/json unless `headers` set another one.
inline Answer send(http::BlockingClient& client, const std::string& method, const std::string& url,
                   const std::optional<nlohmann::json>& body = {}, const HeaderList& headers = {},
                   const std::optional<std::string>& raw_body = {},
                   std::chrono::nanoseconds timeout = std::chrono::seconds(15)) {
  http::Request request;
  request.method = method;
  if (body || raw_body) {
    request.headers.set("Content-Type", "application/json");
    request.body = raw_body ? *raw_body : body->dump();
  }
  for (const auto& [name, value] : headers) request.headers.set(name, value);
  // The target goes as written (a URL parser would refuse `order->catalog` in a breaker's path).
  const auto path_start = url.find('/', std::string("http://").size());
  const http::Endpoint endpoint = http::parse_base_url(url.substr(0, path_start));
  request.target = path_start == std::string::npos ? "/" : url.substr(path_start);
  auto response = client.send(endpoint, std::move(request), timeout);
  Answer answer;
  answer.status = response.status;
  answer.body = nlohmann::json::parse(response.body, nullptr, false);
  answer.raw = std::move(response.body);
  answer.headers = std::move(response.headers);
  return answer;
}

// The same on a connection of its own.
inline Answer send(const std::string& method, const std::string& url,
                   const std::optional<nlohmann::json>& body = {}, const HeaderList& headers = {},
                   const std::optional<std::string>& raw_body = {}) {
  http::BlockingClient client;
  return send(client, method, url, body, headers, raw_body);
}

// The value of the answer's header `name`, or "" when it has none.
inline std::string header(const Answer& a, std::string_view name) {
  auto v = a.headers.get(name);
  return v ? std::string(*v) : std::string();
}

// Whether `check` holds within `within`, asked every 50 ms.
inline bool eventually(const std::function<bool()>& check,
                       std::chrono::milliseconds within = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return check();
}

// Signs the demo user in through the gateway and returns the access token.
inline std::string demo_token(http::BlockingClient& client, shop::Shop& shop) {
  auto login = send(client, "POST", shop.url("gateway") + "/api/auth/login",
                    nlohmann::json{{"email", shop.config().demo_email},
                                   {"password", shop.config().demo_password}});
  REQUIRE(login.status == 200);
  return login.body.at("access_token").get<std::string>();
}

// The port of a shop URL (http://127.0.0.1:PORT).
inline std::uint16_t port_of(const std::string& url) {
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// A raw TCP connection to 127.0.0.1:port, for bytes a client library would refuse to send and
// for watching when the server closes. Bounded: every wait has a deadline.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Reads until the server closes (returns true) or `timeout` passes (returns false);
  // everything read is appended to `received`.
  bool read_until_closed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[16384];
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;  // closed or reset
      received.append(buf, static_cast<std::size_t>(n));
    }
  }
  // Reads until `received` holds `marker` or `timeout` passes; returns whether it does.
  bool read_until(const std::string& marker, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[16384];
    while (received.find(marker) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      received.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  std::string received;

 private:
  int fd_;
  bool connected_ = false;
};

}  // namespace shopctl::test_support
