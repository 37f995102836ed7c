#pragma once
// The client side of the admin plane every service serves (/_admin/..., header X-Admin-Token;
// platform/service.*): one request with the admin token, and its answer. The one client every
// tool that drives a shop from outside uses: the scenario runner, `shopctl load`, `chaos`,
// `fault` and `graph`, and the public shopctl::AdminClient (include/shopctl/admin_client.hpp).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shopctl::http {
class BlockingClient;
}

namespace shopctl::platform {

struct AdminAnswer {
  int status = 0;
  nlohmann::json body;  // discarded when the answer was not JSON
  std::string raw;

  bool ok() const { return status >= 200 && status < 300; }
  // The error shape's message ("code: message"), or the start of the raw body on one line.
  std::string error_message() const;
};

// Sends one admin request to `url` (a service's base URL plus the /_admin/ path) over `client`,
// with the admin token, and reads the answer, whatever its status. For callers that keep
// their own client (the scenario runner shares one per scenario with its other requests).
// Throws http::TransportError when no answer came within `timeout`. `process_scope`: the request
// is for that process alone (X-Admin-Scope: process); without it, a split shop's gateway
// process fans it out itself.
AdminAnswer send_admin_request(http::BlockingClient& client, std::string_view url,
                               std::string_view admin_token, const std::string& method,
                               const std::optional<nlohmann::json>& body,
                               std::chrono::nanoseconds timeout, bool process_scope = true,
                               std::string_view lease_holder = {});

// A synchronous client for one shop's admin plane, with kept-alive connections of its own.
// For a shop split over processes (found with GET /_admin/services at the first shop-wide
// request), the shop-wide requests fan out to every process (platform/admin_fanout.hpp).
// Not thread-safe: one per thread.
class AdminClient {
 public:
  // `base_url` is any service's URL, usually the gateway's ("http://127.0.0.1:8080").
  // Throws std::invalid_argument when it is not an http:// URL.
  AdminClient(std::string base_url, std::string admin_token,
              std::chrono::nanoseconds timeout = std::chrono::seconds(10));
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // Sends one request with the admin token to base_url() + path. Throws http::TransportError
  // when no answer came.
  AdminAnswer send(const std::string& method, const std::string& path,
                   const std::optional<nlohmann::json>& body = std::nullopt);
  // The same with a time limit of its own.
  AdminAnswer send(const std::string& method, const std::string& path,
                   const std::optional<nlohmann::json>& body, std::chrono::nanoseconds timeout);

  const std::string& base_url() const { return base_url_; }
  const std::string& admin_token() const { return admin_token_; }
  // Sent with every request from now on (kLeaseHolderHeader): the run lease this client's run
  // holds, so that the shop refuses it once another run holds the lease.
  void set_lease_holder(std::string holder) { lease_holder_ = std::move(holder); }
  std::chrono::nanoseconds timeout() const { return timeout_; }

 private:
  std::string base_url_;
  std::string admin_token_;
  std::string lease_holder_;
  std::chrono::nanoseconds timeout_;
  std::unique_ptr<http::BlockingClient> client_;
  struct Split;  // the processes, once known
  std::unique_ptr<Split> split_;
  bool split_known_ = false;
};

}  // namespace shopctl::platform
