#pragma once
// A small synchronous client for the admin plane (/_admin/...) of a running shop, for the
// operator commands (`shopctl graph --target`, `shopctl fault`).
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace shopctl::http {
class BlockingClient;
}

namespace shopctl::observe_tools {

struct AdminAnswer {
  int status = 0;
  nlohmann::json body;  // discarded when the answer was not JSON
  std::string raw;

  bool ok() const { return status >= 200 && status < 300; }
  // The error shape's message ("error.message"), or the start of the raw body.
  std::string error_message() const;
};

class AdminClient {
 public:
  // `base_url` is any service's URL, usually the gateway's ("http://127.0.0.1:8080").
  // Throws std::invalid_argument when it is not an http:// URL.
  AdminClient(std::string base_url, std::string admin_token,
              std::chrono::nanoseconds timeout = std::chrono::seconds(10));
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // Sends one request with the admin token. Throws http::TransportError when no answer came.
  AdminAnswer send(const std::string& method, const std::string& path,
                   const std::optional<nlohmann::json>& body = std::nullopt);

  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_;
  std::string admin_token_;
  std::chrono::nanoseconds timeout_;
  std::unique_ptr<http::BlockingClient> client_;
};

}  // namespace shopctl::observe_tools
