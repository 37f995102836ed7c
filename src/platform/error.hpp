#pragma once
// One error style everywhere: an ApiError carries its HTTP status, a snake_case code and a
// message for a person; the service host renders it into the contract's error shape.
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace shopctl::platform {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, std::string message,
           nlohmann::json details = nlohmann::json::object())
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        details_(std::move(details)) {}

  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const nlohmann::json& details() const { return details_; }
  // Extra response headers (for example Retry-After on a 503).
  ApiError& with_retry_after(int seconds) {
    retry_after_ = seconds;
    return *this;
  }
  int retry_after() const { return retry_after_; }

 private:
  int status_;
  std::string code_;
  nlohmann::json details_;
  int retry_after_ = -1;
};

// Builds the contract's error body: {"error": {code, message, details}, "trace_id": ...}.
inline nlohmann::json error_body(const std::string& code, const std::string& message,
                                 const nlohmann::json& details, const std::string& trace_id) {
  return {{"error", {{"code", code}, {"message", message}, {"details", details}}},
          {"trace_id", trace_id}};
}

}  // namespace shopctl::platform
