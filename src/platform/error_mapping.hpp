#pragma once
// The one place where domain errors become HTTP: each ErrorKind's status, and the one
// renderer of the contract's error shape, {"error": {code, message, details}, "trace_id"}.
// The service pipeline, the gateway, the order service's checkout and the HTTP server's own
// limit answers all render errors here.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "platform/domain_error.hpp"
#include "platform/http/message.hpp"

namespace shopctl::platform {

// The HTTP status of a kind: invalid 400, unauthorized 401, ..., timeout 504.
int http_status(ErrorKind kind);
inline int http_status(const DomainError& error) {
  return http_status(error.kind());
}

// The kind whose status is `status`; internal for a status no kind has.
ErrorKind kind_for_status(int status);

// Builds the contract's error body: {"error": {code, message, details}, "trace_id": ...}.
nlohmann::json error_body(const std::string& code, const std::string& message,
                          const nlohmann::json& details, const std::string& trace_id);

// The error shape as a JSON response with `status`.
http::Response error_response(int status, const std::string& code, const std::string& message,
                              const nlohmann::json& details, const std::string& trace_id);

// `error` as a JSON response: its kind's status, the error shape, and Retry-After when the
// error says when to try again.
http::Response error_response(const DomainError& error, const std::string& trace_id);

// Seconds until a call refused for now may be worth trying again: `millis_left` rounded up to
// whole seconds, at least 1 (the Retry-After of an edge whose breaker is open).
int retry_after_seconds(std::int64_t millis_left);

}  // namespace shopctl::platform
